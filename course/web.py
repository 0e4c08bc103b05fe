"""Run a model in a web page: a static server on 127.0.0.1 and headless Chromium (lesson 17).

Lesson 17 writes the page (HTML + JavaScript with onnxruntime-web) in the open; this module only
does the plumbing around it:

* :func:`ort_web_dist` - the folder of the onnxruntime-web package (``make web-tools`` installs it
  from the npm registry into ``.tools/``);
* :func:`chromium_executable` - the browser (``/usr/bin/chromium`` or ``$CHROMIUM``; ``make
  chromium`` installs it: Playwright cannot download its own browsers here);
* :func:`missing` - what is missing, with the command that installs it (``None`` when all is there);
* :class:`StaticServer` - serves a folder, plus the onnxruntime-web files under ``/ort/``, on a free
  port of 127.0.0.1 from a thread, with ``.wasm`` as ``application/wasm``;
* :func:`run_page` - opens a page in headless Chromium (Playwright), waits until the page sets
  ``window.result`` and returns it, with the page's console errors in the message if it fails.

Run by hand: ``python -m course.web`` prints what is missing, or "ready".
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ORT_WEB_VERSION = "1.30.0"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHROMIUM = "/usr/bin/chromium"
# Flags that work in a container as root, without a GPU or a network (as tests/browser uses).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
MIME = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
        ".onnx": "application/octet-stream", ".json": "application/json", ".html": "text/html"}


class WebToolMissing(RuntimeError):
    """onnxruntime-web or Chromium is not installed; the message says which command installs it."""


def ort_web_dist(root: str | os.PathLike | None = None) -> Path:
    """The ``dist/`` folder of onnxruntime-web under ``<root>/.tools/node_modules`` (root: the course)."""
    base = Path(root) if root is not None else ROOT
    dist = base / ".tools" / "node_modules" / "onnxruntime-web" / "dist"
    if not (dist / "ort.wasm.min.js").is_file():
        raise WebToolMissing(
            f"onnxruntime-web is not installed in {base / '.tools'}: run `make web-tools` in the course folder "
            f"(it runs `npm install --prefix .tools onnxruntime-web@{ORT_WEB_VERSION}`)")
    return dist


def chromium_executable() -> str:
    """The Chromium to drive: ``$CHROMIUM`` if set, else /usr/bin/chromium."""
    path = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(path) or (path if Path(path).is_file() else None)
    if not found:
        raise WebToolMissing(f"no Chromium at {path}: run `make chromium` (Debian: apt-get install chromium), "
                             "or set CHROMIUM=/path/to/chrome")
    return found


def missing(root: str | os.PathLike | None = None) -> str | None:
    """None when onnxruntime-web, Chromium and Playwright are all there, else what to run."""
    problems = []
    for find in (lambda: ort_web_dist(root), chromium_executable):
        try:
            find()
        except WebToolMissing as err:
            problems.append(str(err))
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the Python package playwright is missing: run `make setup`")
    return None if not problems else "; ".join(problems)


class _Handler(http.server.SimpleHTTPRequestHandler):
    ort_dir: Path = Path()

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean.startswith("/ort/"):
            name = Path(clean[len("/ort/"):]).name  # one flat folder: no way out of it
            return str(self.ort_dir / name)
        return super().translate_path(path)

    def guess_type(self, path: str | os.PathLike) -> str:
        return MIME.get(Path(path).suffix, None) or super().guess_type(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # keep notebook outputs clean


class StaticServer:
    """Serve ``folder`` (and onnxruntime-web's files under ``/ort/``) on 127.0.0.1, from a thread.

    Use as a context manager: ``with StaticServer(folder) as server: run_page(server.url + "page.html")``.
    Port 0 (the default) picks a free port.
    """

    def __init__(self, folder: str | os.PathLike, port: int = 0, ort_dir: str | os.PathLike | None = None):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise NotADirectoryError(f"StaticServer serves a folder; {self.folder} is not one")
        if not 0 <= int(port) < 65536:
            raise ValueError(f"port must be 0 (a free one) or 1-65535, got {port}")
        self.ort_dir = Path(ort_dir) if ort_dir is not None else ort_web_dist()
        handler = type("Handler", (_Handler,), {"ort_dir": self.ort_dir})
        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", int(port)), functools.partial(handler, directory=str(self.folder)))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The base URL, ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> "StaticServer":
        if self._thread is None:
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="course-web", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "StaticServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _browse(url: str, timeout_s: float, chromium: str) -> Any:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            try:
                page.wait_for_function("() => window.result !== undefined", timeout=timeout_s * 1000)
            except PlaywrightError as err:
                raise RuntimeError(f"the page {url} did not set window.result within {timeout_s:g} s; "
                                   f"its console errors: {errors or 'none'}") from err
            result = page.evaluate("() => JSON.stringify(window.result)")
        finally:
            browser.close()
    result = json.loads(result)
    if isinstance(result, dict) and "error" in result:
        raise RuntimeError(f"the page reported an error: {result['error']} (console errors: {errors or 'none'})")
    return result


def run_page(url: str, timeout_s: float = 60.0) -> Any:
    """Open ``url`` in headless Chromium, wait for ``window.result`` and return it (JSON round trip).

    The page signals failure by setting ``window.result = {error: "..."}``; that, a timeout, or an
    uncaught error raises ``RuntimeError`` with the page's console errors. Playwright's sync API runs
    in a worker thread, so this also works inside Jupyter (whose asyncio loop the sync API refuses).
    """
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"run_page needs an http:// URL (serve the page with StaticServer), got {url!r}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    chromium = chromium_executable()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_browse, url, float(timeout_s), chromium).result()


if __name__ == "__main__":
    print(missing() or "ready: onnxruntime-web, Chromium and Playwright are installed")
