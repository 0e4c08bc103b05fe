"""course.web and lesson 17's page: an ONNX model run by onnxruntime-web in headless Chromium.

The browser tests load the page exactly as lesson 17 writes it (read from the notebook) and compare
its logits with ONNX Runtime in Python; planted mistakes (another model, a transposed input) must
fail that comparison. They need onnxruntime-web (`make web-tools`) and Chromium (`make
chromium`); `make test` installs both, so a missing one fails here instead of skipping.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from course import web

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "17_applications_graphs_rl_web.ipynb"
TOL = 1e-4  # the lesson's tolerance


def lesson_page() -> str:
    """The PAGE string of lesson 17, read from the notebook's cell that defines it."""
    nb = nbformat.read(LESSON, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.startswith('PAGE = """'):
            end = cell.source.index('"""', len('PAGE = """'))
            return cell.source[len('PAGE = """'):end]
    raise AssertionError(f"no cell starting with PAGE = \"\"\" in {LESSON.name}")


def tiny_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 4)).eval()


def export(model: nn.Module, path: Path) -> Path:
    batch = torch.export.Dim("batch", min=1, max=64)
    torch.onnx.export(model, (torch.rand(2, 3, 32, 32),), path, dynamo=True, dynamic_shapes=({0: batch},),
                      verbose=False, external_data=False)
    return path


def python_ort(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def browser_logits(site: Path, page_model: Path, page_input: np.ndarray) -> np.ndarray:
    """Lesson 17's page on `page_model` and `page_input` (sent as the lesson sends it), in Chromium."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text(lesson_page())
    (site / "cnn.onnx").write_bytes(page_model.read_bytes())
    (site / "input.json").write_text(json.dumps({"dims": list(page_input.shape), "data": page_input.ravel().tolist()}))
    with web.StaticServer(site) as server:
        result = web.run_page(server.url + "index.html", timeout_s=60)
    return np.asarray(result["data"], dtype=np.float32).reshape(result["dims"])


@pytest.fixture(scope="module")
def tools():
    problem = web.missing()
    if problem:
        pytest.fail(f"lesson 17's browser test cannot run: {problem}")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    return export(tiny_cnn(0), folder / "right.onnx"), export(tiny_cnn(1), folder / "other.onnx")


@pytest.fixture(scope="module")
def images():
    return torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(0)).numpy()


# --- errors that say what to install -------------------------------------------------------------

def test_missing_ort_web_names_make_web_tools(tmp_path):
    with pytest.raises(web.WebToolMissing, match="make web-tools"):
        web.ort_web_dist(tmp_path)
    assert "make web-tools" in web.missing(tmp_path)


def test_missing_chromium_names_make_chromium(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(web.WebToolMissing, match="make chromium"):
        web.chromium_executable()
    assert "make chromium" in web.missing()


def test_run_page_refuses_a_file_path():
    with pytest.raises(ValueError, match="StaticServer"):
        web.run_page("index.html")


def test_static_server_refuses_a_file(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match="serves a folder"):
        web.StaticServer(tmp_path / "f.txt", ort_dir=tmp_path)


# --- the server ----------------------------------------------------------------------------------

def test_static_server_types_and_ort_folder(tmp_path):
    site, ort_dir = tmp_path / "site", tmp_path / "ort"
    site.mkdir()
    ort_dir.mkdir()
    (site / "index.html").write_text("<p>hi</p>")
    (ort_dir / "x.wasm").write_bytes(b"\0asm")
    (tmp_path / "secret.txt").write_text("not served")
    with web.StaticServer(site, ort_dir=ort_dir) as server:
        with urllib.request.urlopen(server.url + "ort/x.wasm") as r:  # noqa: S310 - loopback
            assert r.headers["Content-Type"] == "application/wasm"
            assert r.read() == b"\0asm"
        with urllib.request.urlopen(server.url + "index.html") as r:  # noqa: S310
            assert r.headers["Content-Type"].startswith("text/html")
        for escape in ("ort/../secret.txt", "ort/%2e%2e/secret.txt", "../secret.txt"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(server.url + escape)  # noqa: S310
            assert err.value.code == 404, escape
    assert server.url.startswith("http://127.0.0.1:")


# --- the browser ---------------------------------------------------------------------------------

def test_run_page_reports_the_page_error(tools, tmp_path):
    (tmp_path / "index.html").write_text("<script>window.result = {error: 'planted failure'};</script>")
    with web.StaticServer(tmp_path) as server, pytest.raises(RuntimeError, match="planted failure"):
        web.run_page(server.url + "index.html", timeout_s=30)


def test_run_page_times_out_with_console_errors(tools, tmp_path):
    (tmp_path / "index.html").write_text("<script>console.error('nothing to report');</script>")
    with web.StaticServer(tmp_path) as server, pytest.raises(RuntimeError, match="nothing to report"):
        web.run_page(server.url + "index.html", timeout_s=2)


def test_lesson_page_matches_python_onnxruntime(tools, models, images, tmp_path):
    right, _ = models
    logits = browser_logits(tmp_path / "site", right, images)
    reference = python_ort(right, images)
    assert logits.shape == reference.shape == (5, 4)
    assert float(np.abs(logits - reference).max()) < TOL


def test_planted_wrong_model_or_layout_fails_the_comparison(tools, models, images, tmp_path):
    right, other = models
    reference = python_ort(right, images)
    wrong_model = browser_logits(tmp_path / "a", other, images)
    assert float(np.abs(wrong_model - reference).max()) > TOL, "another model's logits passed the comparison"
    nhwc = np.ascontiguousarray(images.transpose(0, 2, 3, 1)).reshape(images.shape)  # right shape, wrong layout
    wrong_layout = browser_logits(tmp_path / "b", right, nhwc)
    assert float(np.abs(wrong_layout - reference).max()) > TOL, "a transposed input passed the comparison"


@pytest.mark.parametrize("bad", [0, -1, "60", True, float("nan")])
def test_run_page_refuses_a_bad_timeout(bad):
    with pytest.raises(ValueError, match="timeout_s must be a positive number of seconds"):
        web.run_page("http://127.0.0.1:1/", timeout_s=bad)
