"""Every lesson in a real JupyterLab, driven by headless Chromium: what nbval cannot see.

Run with `make test-browser` (CI runs it after `make test`). The file name does not start with
`test_` on purpose: plain `pytest` (and so `make test`) does not collect it.

For each lesson in notebooks/: it opens without a kernel dialog and is not marked modified;
Run All gives no error output, no raw widget text and no "Loading widget..."; every slider,
dropdown, multiple selection and checkbox changes its plot when moved, and moved back it draws
exactly the plot Run All drew. Exercise 01: a wrong answer gets the check's named mistake, a
correct one its ✅, and the saved copy grades from JupyterLab's own terminal. The last tests
break notebooks on purpose and expect these checks to fail. Screenshots: test-output/browser/.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path

import pytest
from jupyterlab_driver import CHROMIUM, CHROMIUM_ARGS, OUTPUT, RAW_WIDGET, ROOT, WIDGET_PROBLEMS, Notebook, \
    chromium_problem, emoji_is_coloured, start_lab, terminal_text

# BROWSER_LESSONS="path/a.ipynb path/b.ipynb" runs other notebooks (a scratch copy broken on purpose).
LESSONS = [Path(p) for p in os.environ.get("BROWSER_LESSONS", "").split()] or sorted((ROOT / "notebooks").glob("*.ipynb"))
DIRTY_WAIT_S = 4  # JupyterLab marks a notebook with a foreign kernelspec modified about 2 s after opening


@pytest.fixture(scope="module")
def lab():
    problem = chromium_problem()
    if problem:
        pytest.fail(problem)  # never a skip: CI must not pass without having looked
    extra = {p.parent.resolve() for p in LESSONS} - {(ROOT / "notebooks").resolve()}
    with start_lab() as server:
        for folder in extra:  # scratch notebooks from BROWSER_LESSONS, served beside the course
            dest = server.root / "scratch"
            dest.mkdir(exist_ok=True)
            for p in LESSONS:
                if p.parent.resolve() == folder:
                    (dest / p.name).write_bytes(p.read_bytes())
        yield server


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(lab, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    pg = context.new_page()
    pg.goto(f"{lab.base}/lab?reset")
    pg.wait_for_function("window.jupyterapp !== undefined")
    pg.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
    yield pg
    try:  # free the kernel's memory before the next lesson
        pg.evaluate("async () => { await window.jupyterapp.serviceManager.sessions.shutdownAll(); }")
    finally:
        context.close()


def served_path(lab, lesson: Path) -> str:
    if lesson.parent.resolve() == (ROOT / "notebooks").resolve():
        return f"notebooks/{lesson.name}"
    return f"scratch/{lesson.name}"


def open_checked(page, path: str, name: str) -> Notebook:
    """Open a notebook as a learner does: no kernel dialog, the course's kernel, not modified."""
    nb = Notebook(page, path, name)
    nb.open()
    dialogs = nb.dialogs()
    assert not dialogs, f"{name}: a dialog opened with the notebook: {dialogs}"
    assert nb.kernel_name() == "python3", f"{name}: started kernel {nb.kernel_name()!r}, not the course's python3"
    time.sleep(DIRTY_WAIT_S)
    assert not nb.dirty(), (
        f"{name}: marked modified on opening (unsaved changes without any edit): its stored kernelspec "
        "differs from the kernel's; `python -m course refresh` stores it as the kernel reports it")
    return nb


def check_lesson(page, path: str, name: str) -> Notebook:
    nb = open_checked(page, path, name)
    nb.run_all()
    errors = nb.cells_with_errors()
    assert not errors, f"{name}: Run All shows errors: {errors}"
    never_ran = [c["index"] for c in nb.cells() if c["type"] == "code" and c["source"].strip() and c["count"] is None]
    assert not never_ran, f"{name}: cells {never_ran} did not run after Run All"
    for index, text in nb.output_texts():
        problem = next((p for p in WIDGET_PROBLEMS if p in text), None) or (RAW_WIDGET.search(text) and "raw widget text")
        assert not problem, f"{name}, cell {index}: a widget is not drawn ({problem}): {text[:200]!r}"
    controls = nb.controls()
    for control in controls:
        nb.check_control(control)
    # One picture per lesson, for a person: at the first widget, else the first plot.
    target = controls[0].locator if controls else page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea img").first
    if controls or target.count():
        target.scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / f"{Path(path).stem}.png"))
    return nb


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_in_jupyterlab(page, lab, lesson):
    check_lesson(page, served_path(lab, lesson), lesson.name)


def test_emoji_render_in_colour(page):
    assert emoji_is_coloured(page), "✅ is drawn as an empty box: install an emoji font (fonts-noto-color-emoji)"


def _cell_of(nb: Notebook, grade_id: str) -> int:
    return next(c["index"] for c in nb.cells() if (c["nbgrader"] or {}).get("grade_id") == grade_id)


def _cell_text(nb: Notebook, index: int) -> str:
    return nb.js("return nb.content.widgets[arg].node.querySelector('.jp-OutputArea').innerText;", index)


def test_exercise_01_checks_and_grades_from_the_terminal(page, lab):
    name = "exercises/01_tensors.ipynb"
    solution = json.loads((ROOT / "solutions" / "01_tensors.ipynb").read_text())
    answer = next("".join(c["source"]) for c in solution["cells"]
                  if c["metadata"].get("nbgrader", {}).get("grade_id") == "t1-code")
    answer = "\n".join(line for line in answer.splitlines() if "### " not in line)  # the SOLUTION markers
    wrong = answer.replace("torch.zeros(3, 4, dtype=torch.float64)", "torch.zeros(3, 4)")
    assert wrong != answer, "solutions/01_tensors.ipynb task 1 changed: update this test's wrong answer"

    nb = open_checked(page, name, name)
    code, check = _cell_of(nb, "t1-code"), _cell_of(nb, "t1-create")
    for index in range(code):  # the set-up cells above task 1
        if nb.cells()[index]["type"] == "code":
            nb.run_cell(index)
    nb.set_source(code, wrong)
    nb.run_cell(code)
    nb.run_cell(check)
    shown = _cell_text(nb, check)
    assert "expected grid to have dtype torch.float64, got torch.float32" in shown, f"wrong answer, check says: {shown!r}"
    assert "passed" not in shown
    nb.set_source(code, answer)
    nb.run_cell(code)
    nb.run_cell(check)
    shown = _cell_text(nb, check)
    assert "✅ Task 1 passed" in shown, f"correct answer, check says: {shown!r}"
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(check) \
        .locator(".jp-OutputArea").first.scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "exercise-01-check.png"))
    nb.save()

    page.evaluate("async () => { await window.jupyterapp.commands.execute('terminal:create-new'); }")
    terminal = page.locator(".jp-Terminal").last
    terminal.wait_for()
    page.wait_for_function("() => !!document.querySelector('.jp-Terminal .xterm-screen')")
    time.sleep(1)
    terminal.click()
    page.keyboard.type(f"python -m course grade {name}; echo GRADE-EXIT=$?\n")
    deadline = time.time() + 180
    while not re.search(r"GRADE-EXIT=\d", text := terminal_text(page)):
        assert time.time() < deadline, f"the grade command did not finish in the terminal:\n{text}"
        time.sleep(1)
    page.screenshot(path=str(OUTPUT / "exercise-01-terminal.png"))
    assert "GRADE-EXIT=0" in text, f"grading in JupyterLab's terminal failed:\n{text}"
    assert re.search(r"^t1-create\s+passed\s+2/2", text, re.MULTILINE), f"task 1 not passed in the grade table:\n{text}"
    second = [c["metadata"]["nbgrader"] for c in solution["cells"] if c["metadata"].get("nbgrader", {}).get("grade")][1]
    assert re.search(rf"^{re.escape(second['grade_id'])}\s+error\s+0/{second['points']:g}", text, re.MULTILINE), text
    assert re.search(r"Total: 2 / \d+ points", text), text


# --- the checks above fail when a notebook is broken on purpose ---------------------------------

def _notebook(cells: list[str]) -> dict:
    lesson = json.loads((ROOT / "notebooks" / "00_welcome.ipynb").read_text())
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": copy.deepcopy(lesson["metadata"]),
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                       "outputs": [], "source": src} for i, src in enumerate(cells)]}


PLOT_SETUP = "import matplotlib.pyplot as plt\nfrom ipywidgets import IntSlider, interact\n"
BROKEN = {
    # The plot ignores the slider.
    "widget-ignores-its-control": (
        [PLOT_SETUP + "def show(k=2):\n    plt.figure(figsize=(3, 2))\n    plt.plot([0, 1], [0, 1])\n    plt.show()\n\n"
         "interact(show, k=IntSlider(value=2, min=0, max=5));"],
        "did not change the plot"),
    # Every redraw adds a curve to one shared figure (the bug class of a widget that stacks curves).
    "widget-stacks-curves": (
        [PLOT_SETUP + "from IPython.display import display\nfig, ax = plt.subplots(figsize=(3, 2))\nplt.close(fig)\n\n"
         "def show(k=2):\n    ax.plot([0, 1], [0, k])\n    display(fig)\n\ninteract(show, k=IntSlider(value=2, min=0, max=5));"],
        "draws another plot than Run All drew"),
    "stored-kernelspec-differs": (["print('hello')"], "marked modified on opening"),
    "error-output": (["1 / 0"], "Run All shows errors"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_notebook_broken_on_purpose_fails(page, lab, case):
    cells, message = BROKEN[case]
    notebook = _notebook(cells)
    if case == "stored-kernelspec-differs":
        notebook["metadata"]["kernelspec"]["display_name"] = "Python 3"
    path = lab.root / "broken" / f"{case}.ipynb"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(notebook))
    with pytest.raises(AssertionError, match=re.escape(message)) as failure:
        check_lesson(page, f"broken/{case}.ipynb", case)
    print(f"{case}: failed as it should: {str(failure.value).splitlines()[0]}")
