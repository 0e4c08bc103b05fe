"""Drive a real JupyterLab in headless Chromium (Playwright for Python), as a learner would.

Used by `tests/browser/browser_lessons.py` (`make test-browser`). Every check raises an
AssertionError whose message names the lesson, the cell and what a learner would see.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output" / "browser"  # screenshots for a person to look at (git-ignored)

# Debian's chromium by default; `CHROMIUM=/usr/bin/google-chrome` where Chrome is what the machine has.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Flags that work in a container as root, without a GPU or a network (NOTEBOOK-TESTING.md).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]

# JupyterLab user settings for the test: every cell in the DOM (windowing would detach the cells
# out of view), no news or update pop-ups (no network). Everything else is JupyterLab's default.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}

# What a widget output shows when the widget manager could not draw it: its text repr.
RAW_WIDGET = re.compile(r"^\s*(interactive|HBox|VBox|Box|Output|HTML|Label|FloatProgress|IntProgress|"
                        r"\w*Slider|Dropdown|SelectMultiple|Select|Checkbox|ToggleButtons?|Button|Text)\(children=|"
                        r"^\s*(\w*Slider|Dropdown|SelectMultiple|Checkbox|FloatProgress|IntProgress)\(value=",
                        re.MULTILINE)
WIDGET_PROBLEMS = ("Loading widget", "Error displaying widget", "model not found", "Failed to load model class")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_problem() -> str | None:
    """None when the browser and the emoji font are there, else what to install."""
    missing = []
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).is_file()):
        missing.append(f"a Chromium at {CHROMIUM} (Debian: apt-get install chromium; or set CHROMIUM=/path/to/chrome)")
    fonts = subprocess.run(["fc-list", ":family", "family"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    if "Noto Color Emoji" not in fonts:
        missing.append("the emoji font (Debian: apt-get install fonts-noto-color-emoji)")
    return None if not missing else "missing " + " and ".join(missing) + "; `make browser-deps` installs both"


@dataclass
class Lab:
    """A JupyterLab server on 127.0.0.1 serving a temporary copy of the course."""

    base: str
    root: Path
    proc: subprocess.Popen
    log: Path
    venv_bin: Path

    def api(self, path: str, method: str = "GET") -> object:
        request = urllib.request.Request(self.base + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


@contextmanager
def start_lab(folders=("notebooks", "exercises")):
    """Start JupyterLab on a copy of `folders`, with the venv's bin first on PATH (as `make lab`)."""
    work = Path(tempfile.mkdtemp(prefix="torch-course-browser-"))
    root = work / "course"
    for folder in folders:
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = work / "lab-settings"
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    venv_bin = Path(sys.executable).parent  # not resolved: the venv's bin, not the base interpreter's
    env = {**os.environ,
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
           "JUPYTER_CONFIG_DIR": str(work / "config"),  # no personal jupyter_server_config.py
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces")}
    if (venv_bin / "activate").exists():
        env["VIRTUAL_ENV"] = str(venv_bin.parent)
    # A learner's kernel uses the default thread count, not the test suite's one thread.
    env.pop("OMP_NUM_THREADS", None)
    # JupyterLab's terminal as `make lab` sets it up (Makefile: LAB_TERMINAL): bash reads the
    # user's ~/.bashrc, then puts the venv first on PATH. Without that, a ~/.bashrc that prepends
    # pyenv or conda (or the login shell JupyterLab starts when its output is not a terminal, whose
    # /etc/profile resets PATH) makes `python` in the terminal another Python than the course's.
    flag = os.environ.get("LAB_TERMINAL")
    if not flag:
        rc = work / "lab-shell-rc"
        rc.write_text(f'[ -f ~/.bashrc ] && . ~/.bashrc\nexport PATH="{venv_bin}:$PATH"\n')
        flag = f"--ServerApp.terminado_settings=shell_command=bash --rcfile {rc}"
    port = free_port()
    log = work / "lab.log"
    root_flag = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True", flag,
             *root_flag],
            cwd=root, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    lab = Lab(f"http://127.0.0.1:{port}", root, proc, log, venv_bin)
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited at start:\n{lab.log_tail()}")
            try:
                lab.api("/api/status")
                break
            except OSError:
                if time.time() > deadline:
                    raise AssertionError(f"JupyterLab did not answer within 120 s:\n{lab.log_tail()}") from None
                time.sleep(0.5)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


def digest(values) -> str:
    return hashlib.sha256(json.dumps(values).encode()).hexdigest()[:12]


@dataclass
class Control:
    kind: str  # slider | dropdown | multiselect | checkbox
    cell: int
    label: str
    locator: object = field(repr=False)


class Notebook:
    """One open notebook in the page, reached through window.jupyterapp (exposed by the server flag)."""

    def __init__(self, page, path: str, name: str):
        self.page, self.path, self.name = page, path, name

    def js(self, body: str, arg=None):
        """Run `body` with `app`, `nb` (the NotebookPanel) and `arg` in scope; await allowed."""
        return self.page.evaluate(
            "async ([body, arg]) => { const app = window.jupyterapp; const nb = window.__nb;"
            " return await (new Function('app', 'nb', 'arg', `return (async () => { ${body} })()`))(app, nb, arg); }",
            [body, arg])

    # --- opening -------------------------------------------------------------------------
    def open(self) -> None:
        self.page.evaluate(
            """async (path) => {
                const app = window.jupyterapp;
                const nb = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
                window.__nb = nb;
                await nb.context.ready;
                await nb.sessionContext.ready;
                app.shell.activateById(nb.id);
            }""", self.path)
        self.wait_kernel_idle(timeout=90)

    def dialogs(self) -> list[str]:
        return self.page.locator(".jp-Dialog").all_inner_texts()

    def dirty(self) -> bool:
        return bool(self.js("return nb.context.model.dirty || nb.title.className.includes('jp-mod-dirty');"))

    def kernel_name(self) -> str | None:
        return self.js("const k = nb.sessionContext.session && nb.sessionContext.session.kernel; return k ? k.name : null;")

    def wait_kernel_idle(self, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        quiet = 0
        while time.time() < deadline:
            status = self.js("return nb.sessionContext.kernelDisplayStatus;")
            quiet = quiet + 1 if status == "idle" else 0
            if quiet >= 2:
                return
            time.sleep(0.25)
        raise AssertionError(f"{self.name}: the kernel was still {status!r} after {timeout:.0f} s")

    # --- running ---------------------------------------------------------------------------
    def run_all(self, timeout: float = 300) -> None:
        self.page.evaluate(
            """async () => { const app = window.jupyterapp; app.shell.activateById(window.__nb.id);
                             await app.commands.execute('notebook:run-all-cells'); }""")
        deadline = time.time() + timeout
        while time.time() < deadline:
            pending = self.js("""return nb.content.widgets.filter(c => c.model.type === 'code'
                                   && c.model.sharedModel.getSource().trim()
                                   && (c.model.executionCount === null || c.node.querySelector('.jp-InputPrompt')?.textContent.includes('*'))).length;""")
            if pending == 0 or self.cells_with_errors():
                break
            time.sleep(0.5)
        self.wait_kernel_idle(timeout=max(10, deadline - time.time()))

    def run_cell(self, index: int) -> None:
        self.js("""nb.content.activeCellIndex = arg; app.shell.activateById(nb.id);
                   await app.commands.execute('notebook:run-cell');""", index)
        time.sleep(0.3)
        self.wait_kernel_idle()

    def cells(self) -> list[dict]:
        return self.js("""return nb.content.widgets.map((c, i) => ({
            index: i, type: c.model.type, source: c.model.sharedModel.getSource(),
            tags: c.model.getMetadata('tags') || [], nbgrader: c.model.getMetadata('nbgrader') || null,
            count: c.model.type === 'code' ? c.model.executionCount : null,
            outputs: c.model.type === 'code' ? c.model.outputs.toJSON().map(o => ({
                output_type: o.output_type, ename: o.ename || null, evalue: o.evalue || null,
                text: o.text ? [].concat(o.text).join('') : (o.data && o.data['text/plain'] ? [].concat(o.data['text/plain']).join('') : ''),
                mimes: o.data ? Object.keys(o.data) : []})) : [] }));""")

    def cells_with_errors(self) -> list[str]:
        found = []
        for cell in self.cells():
            if "raises-exception" in cell["tags"]:
                continue
            for out in cell["outputs"]:
                if out["output_type"] == "error":
                    found.append(f"cell {cell['index']}: {out['ename']}: {out['evalue']}")
        return found

    def output_texts(self) -> list[tuple[int, str]]:
        """What the page shows in each cell's output area (after the widget manager drew it)."""
        return self.js("""return nb.content.widgets.flatMap((c, i) => Array.from(
            c.node.querySelectorAll('.jp-OutputArea-output')).map(o => [i, o.innerText]));""")

    # --- widgets ---------------------------------------------------------------------------
    def controls(self) -> list[Control]:
        out = []
        cells = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
        for i in range(cells.count()):
            area = cells.nth(i).locator(".jp-OutputArea")
            for kind, selector in (("slider", ".widget-hslider"), ("dropdown", ".widget-dropdown"),
                                   ("multiselect", ".widget-select-multiple"), ("checkbox", ".widget-checkbox")):
                found = area.locator(selector)
                for j in range(found.count()):
                    loc = found.nth(j)
                    label = loc.locator(".widget-label").first.inner_text() if loc.locator(".widget-label").count() else kind
                    out.append(Control(kind, i, label.strip() or kind, loc))
        return out

    def cell_view(self, index: int) -> dict:
        """The images and widget-output text a cell shows now."""
        return self.js("""const c = nb.content.widgets[arg];
            const imgs = Array.from(c.node.querySelectorAll('.jp-OutputArea img')).map(i => i.src);
            const texts = Array.from(c.node.querySelectorAll('.widget-output')).map(o => o.innerText);
            return {imgs, texts};""", index)

    def settled_view(self, index: int, want=None, timeout: float = 60) -> dict:
        """The cell's view once the kernel is idle and the output has stopped changing.

        With `want`, wait (up to 20 s) for a settled view that satisfies it, so that a slow
        kernel is not mistaken for a plot that did not change; the last view is returned anyway.
        """
        deadline = time.time() + (20 if want else timeout)
        last, same = None, 0
        while time.time() < deadline:
            time.sleep(0.4)
            busy = self.js("return nb.sessionContext.kernelDisplayStatus;") != "idle"
            view = self.cell_view(index)
            same = same + 1 if (view == last and not busy) else 0
            last = view
            if same >= 3 and (want is None or want(view)):
                return view
        if want is not None:
            return last
        raise AssertionError(f"{self.name}: cell {index} kept changing for {timeout:.0f} s after moving a control")

    def moves(self, control: Control):
        """(start value, read the value, move away from the start, move back to it) for a control."""
        loc = control.locator
        if control.kind == "slider":
            handle = loc.locator(".noUi-handle").first
            readout = loc.locator(".widget-readout").first
            keys = ["ArrowRight", "ArrowLeft"]  # one step of the slider each

            def press(key):
                handle.focus()
                handle.press(key)
                time.sleep(0.2)

            def away():
                before = readout.inner_text()
                press(keys[0])
                if readout.inner_text() == before:  # at the end of its range: the other way
                    keys.reverse()
                    press(keys[0])
            return readout.inner_text(), readout.inner_text, away, lambda: press(keys[1])
        if control.kind == "checkbox":
            box = loc.locator("input[type=checkbox]").first
            return box.is_checked(), box.is_checked, box.click, box.click
        select = loc.locator("select").first
        values = select.locator("option").evaluate_all("os => os.map(o => o.value)")

        def chosen():
            return select.evaluate("s => Array.from(s.selectedOptions).map(o => o.value)")
        start = chosen()
        if control.kind == "dropdown":
            other = [next(v for v in values if v not in start)]
        elif len(start) > 1:
            other = start[:-1]
        else:
            other = start + [next(v for v in values if v not in start)]
        return start, chosen, lambda: select.select_option(other), lambda: select.select_option(start)

    def check_control(self, control: Control) -> None:
        """Move the control away and back, twice: the plot must change, and come back exactly."""
        where = f"{self.name}, cell {control.cell}, {control.kind} {control.label!r}"
        control.locator.scroll_into_view_if_needed()
        first = self.settled_view(control.cell)
        assert first["imgs"], f"{where}: the widget shows no plot"
        start, value, away, back = self.moves(control)
        for round_ in (1, 2):
            away()
            moved_value = value()
            assert moved_value != start, f"{where}: the control did not move (its value stays {start!r})"
            view = self.settled_view(control.cell, want=(lambda v: v != first) if round_ == 1 else (lambda v: v == moved))
            if round_ == 1:
                moved = view
                assert moved != first, f"{where}: moving it from {start!r} to {moved_value!r} did not change the plot"
                assert len(moved["imgs"]) == len(first["imgs"]), (
                    f"{where}: {len(first['imgs'])} figure(s) before moving it, {len(moved['imgs'])} after")
            else:
                assert view == moved, f"{where}: at {moved_value!r} a second time, the plot differs from the first time"
            back()
            assert value() == start, f"{where}: could not move it back to {start!r}"
            assert self.settled_view(control.cell, want=lambda v: v == first) == first, (
                f"{where}: moved back to {start!r} (round {round_}), it draws another plot than Run All drew "
                "there: each redraw adds to what earlier ones left (curves stacked on a shared figure, "
                "or a global that a later cell rebinds)")
        print(f"{where}: {start!r} -> {moved_value!r} changes the plot; back at {start!r} twice it is Run All's plot")

    # --- editing ---------------------------------------------------------------------------
    def set_source(self, index: int, code: str) -> None:
        """Replace a cell's code by typing into its editor, as a learner would."""
        editor = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index) \
            .locator(".cm-content").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(code)  # no auto-indent or auto-closed brackets
        got = self.js("return nb.content.widgets[arg].model.sharedModel.getSource();", index)
        assert got == code, f"{self.name}: typing into cell {index} gave {got!r}"
        self.page.keyboard.press("Escape")

    def save(self) -> None:
        self.js("app.shell.activateById(nb.id); await app.commands.execute('docmanager:save');")
        deadline = time.time() + 30
        while self.dirty():
            assert time.time() < deadline, f"{self.name}: still unsaved 30 s after saving"
            time.sleep(0.3)

    def shutdown(self) -> None:
        self.js("await nb.sessionContext.shutdown(); nb.context.model.dirty = false; nb.close();")


def emoji_is_coloured(page) -> bool:
    """Draw ✅ on a canvas: with an emoji font it is green; without one it is a monochrome box."""
    return page.evaluate("""() => {
        const c = document.createElement('canvas'); c.width = c.height = 40;
        const g = c.getContext('2d'); g.font = '32px sans-serif'; g.textBaseline = 'top';
        g.fillStyle = '#000'; g.fillText('\\u2705', 2, 2);
        const d = g.getImageData(0, 0, 40, 40).data;
        let coloured = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 1] > d[i] + 40) coloured++;
        return coloured > 20; }""")


def terminal_text(page) -> str:
    """The text of the current terminal (xterm's buffer, read through the terminal widget)."""
    return page.evaluate("""() => {
        const w = window.jupyterapp.shell.currentWidget;
        const term = w && w.content && (w.content._term || w.content.term);
        if (!term) return document.querySelector('.jp-Terminal .xterm-rows')?.innerText || '';
        const b = term.buffer.active; const lines = [];
        for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
        return lines.join('\\n'); }""")
