"""`python -m course release` (what students get) and `make lab`'s own copy of the exercises."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from course.cli import main
from course.release import MARK, audit

ROOT = Path(__file__).resolve().parent.parent


def test_release_has_lessons_exercises_and_package_but_no_answers(tmp_path, capsys):
    out = tmp_path / "workshop"
    assert main(["release", str(out), "--root", str(ROOT)]) == 0
    assert "no solutions/" in capsys.readouterr().out
    assert not (out / "solutions").exists() and not (out / "tests").exists()
    for folder in ("notebooks", "exercises"):
        assert sorted(p.name for p in (out / folder).glob("*.ipynb")) == sorted(p.name for p in (ROOT / folder).glob("*.ipynb"))
    assert (out / "course" / "check.py").exists() and (out / "course" / "grading" / "engine.py").exists()
    assert (out / "Makefile").exists() and (out / "pyproject.toml").exists() and (out / MARK).exists()
    assert not list(out.rglob("__pycache__"))
    for path in out.rglob("*.ipynb"):
        assert "### BEGIN SOLUTION" not in path.read_text()
    assert audit(out) == []


def test_release_refuses_to_overwrite_a_folder_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    assert main(["release", str(out), "--root", str(ROOT)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert main(["release", str(out), "--root", str(ROOT), "--force"]) == 2
    assert "is not an earlier release" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "my notes"
    assert main(["release", str(ROOT / "exercises"), "--root", str(ROOT)]) == 2


def test_release_refuses_stale_exercises(tmp_path, capsys):
    root = tmp_path / "course"
    for name in ("notebooks", "exercises", "solutions", "course"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    sol = root / "solutions" / "00_welcome.ipynb"
    nb = json.loads(sol.read_text())
    nb["cells"][0]["source"] = "# changed after the exercises were built\n"
    sol.write_text(json.dumps(nb))
    assert main(["release", str(tmp_path / "out"), "--root", str(root)]) == 2
    assert "exercises/ is out of date with solutions/ (00_welcome.ipynb)" in capsys.readouterr().err


def test_audit_finds_answers_in_a_release(tmp_path):
    (tmp_path / "exercises").mkdir()
    cell = {"cell_type": "code", "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", "outputs": [{"x": 1}], "metadata": {}}
    (tmp_path / "exercises" / "00_a.ipynb").write_text(json.dumps({"cells": [cell]}))
    problems = audit(tmp_path)
    assert any("solution region" in p for p in problems) and any("stores outputs" in p for p in problems)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_gives_the_learner_a_copy_and_never_overwrites_it(tmp_path):
    # The `my-exercises` target only (it does not touch .venv), run in a copy of the course.
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    run = lambda: subprocess.run(["make", "-s", "my-exercises"], cwd=tmp_path, capture_output=True, text=True, check=True)  # noqa: E731
    first = run()
    mine = tmp_path / "my-exercises"
    assert sorted(p.name for p in mine.glob("*.ipynb")) == sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb"))
    assert "copied exercises/00_welcome.ipynb" in first.stdout
    (mine / "00_welcome.ipynb").write_text("my work")
    new = tmp_path / "exercises" / "99_new.ipynb"
    new.write_text("{}")
    second = run()
    assert (mine / "00_welcome.ipynb").read_text() == "my work"  # never overwritten
    assert (mine / "99_new.ipynb").exists() and "00_welcome" not in second.stdout  # new lessons arrive
    ignored = subprocess.run(["git", "check-ignore", "-q", "my-exercises/00_welcome.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "my-exercises/ must be ignored by git"
