"""`make lab` starts JupyterLab on lesson 00 with the course's kernel: start the server and ask it."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "course-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    port = _free_port()
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    log = open(runtime / "lab.log", "w+")
    root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []  # as `make lab` does
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={ROOT}", "notebooks/00_welcome.ipynb", *root_flag],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"JupyterLab exited: {log.read()[-2000:]}")
        try:
            if _get(f"{base}/api/status?token={TOKEN}")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not answer within 90 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def test_lab_serves_lesson_00(lab):
    status, body = _get(f"{lab}/api/contents/notebooks/00_welcome.ipynb?token={TOKEN}")
    model = json.loads(body)
    assert status == 200 and model["type"] == "notebook"
    assert model["content"]["cells"][0]["source"].startswith("# Lesson 00")
    status, page = _get(f"{lab}/lab/tree/notebooks/00_welcome.ipynb?token={TOKEN}")
    assert status == 200 and b"JupyterLab" in page


def test_lab_runs_lessons_with_this_environment(lab):
    specs = json.loads(_get(f"{lab}/api/kernelspecs?token={TOKEN}")[1])["kernelspecs"]
    assert "python3" in specs
    assert "torch-course" not in specs, "a second kernel: every notebook uses python3 (make setup removes it)"
    spec = specs["python3"]["spec"]
    for folder in ("notebooks", "solutions", "exercises"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            stored = json.loads(path.read_text())["metadata"]["kernelspec"]
            # A stored kernelspec that differs from the kernel's marks the notebook modified on opening.
            assert stored == {"display_name": spec["display_name"], "language": spec["language"], "name": "python3"}, path
