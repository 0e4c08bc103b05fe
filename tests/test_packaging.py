"""The set-up files agree with each other and with what is installed."""

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_deps() -> dict[str, Requirement]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {canonicalize_name(r.name): r for r in map(Requirement, deps)}


def _conda_deps() -> dict[str, Requirement]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names: dict[str, Requirement] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for item in dep.get("pip", []):
                if not item.startswith("-e"):
                    req = Requirement(item)
                    names[canonicalize_name(req.name)] = req
        else:
            name = re.split(r"[=<>! ]", dep, maxsplit=1)[0]
            if name not in ("python", "pip"):
                names[canonicalize_name(name)] = Requirement(name)
    return names


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_environment_yml_and_pyproject_declare_the_same_packages():
    pip, conda = _pyproject_deps(), _conda_deps()
    assert sorted(pip) == sorted(conda), f"only in pyproject: {set(pip) - set(conda)}; only in environment.yml: {set(conda) - set(pip)}"
    for name in pip:
        assert pip[name].specifier == conda[name].specifier, f"{name}: {pip[name]} vs {conda[name]}"


def test_required_stack_is_declared():
    needed = {"torch", "torchvision", "jupyterlab", "nbval", "matplotlib", "ipywidgets", "tensorboard",
              "onnx", "onnxruntime", "onnxscript", "torchao", "tqdm", "ninja"}
    assert needed <= set(_pyproject_deps())


def test_ranges_admit_torch_2_11():
    assert _pyproject_deps()["torch"].specifier.contains("2.11.0")
    assert _pyproject_deps()["torchvision"].specifier.contains("0.26.0")


def test_constraints_pin_every_dependency_and_satisfy_the_ranges():
    pins = _constraints()
    for name, req in _pyproject_deps().items():
        assert name in pins, f"constraints.txt does not pin {name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {req}"


def test_installed_environment_matches_the_constraints():
    pins = _constraints()
    for name in ("torch", "torchvision"):
        installed = metadata.version(name).split("+")[0]
        assert installed == pins[name], f"{name} {installed} installed, constraints.txt pins {pins[name]}: run `make setup`"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test \|\| status=\$\?$", ci, re.MULTILINE)
    assert re.search(r"^make test-browser \|\| status=\$\?$", ci, re.MULTILINE)  # after make test
    assert re.search(r"^exit \$status$", ci, re.MULTILINE)
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make lab" in first_block and "make test" in first_block


def test_course_command_line_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "course", "--help"], capture_output=True, text=True, check=True)
    for command in ("doctor", "build-exercises", "grade", "refresh"):
        assert command in out.stdout


def test_readme_lists_every_lesson_with_its_exercise_tasks_and_points():
    import json

    readme = (ROOT / "README.md").read_text()
    rows = {m.group(1): (int(m.group(3)), int(m.group(4)), m.group(2))
            for m in re.finditer(r"^\| (\d\d) \| \[[^\]]+\]\((notebooks/[^)]+)\) \| (\d+) \| (\d+) \|", readme, re.M)}
    lessons = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert lessons
    for nb_path in lessons:
        num = nb_path.name[:2]
        assert num in rows, f"README's lesson table has no row for {nb_path.name}"
        cells = json.loads((ROOT / "solutions" / nb_path.name).read_text())["cells"]
        graded = [c["metadata"]["nbgrader"] for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
        tasks, points, link = rows[num]
        assert link == f"notebooks/{nb_path.name}", f"README row {num} links {link}"
        assert (tasks, points) == (len(graded), sum(g["points"] for g in graded)), (
            f"README row {num} says {tasks} tasks / {points} points; the solution has "
            f"{len(graded)} / {sum(g['points'] for g in graded)}"
        )
    assert len(rows) == len(lessons), "README lists lessons that do not exist"
