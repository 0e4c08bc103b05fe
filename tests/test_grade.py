"""The grader on right, wrong and broken notebooks (small ones built here, each its own reference).

A notebook built here is not a course exercise, so these tests pass it (or its twin) as the
reference: the tasks, points and checks come from ``reference=``, never from the graded file.
"""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.cli import main
from course.grade import GradingInputError, grade, load_notebook
from notebook_factory import check_cell, markdown, notebook, setup_cell, solution_cell, write

ROOT = Path(__file__).resolve().parent.parent
grading = pytest.mark.grading


def _pair(tmp_path, reference_cells, submission_cells=None, name="ex.ipynb"):
    """Write a reference and a submission (the same cells unless given) and return both paths."""
    ref = write(notebook(*reference_cells), tmp_path / "reference" / name)
    sub = write(notebook(*(submission_cells or reference_cells)), tmp_path / "submission" / name)
    return ref, sub


@grading
def test_scores_each_task_and_one_failure_does_not_hide_others(tmp_path):
    cells = [
        setup_cell(),
        solution_cell("x = 2", "t1"),
        check_cell("check.equal(x, 2)\ncheck.passed('Task 1')", "t1-pass", points=2),
        solution_cell("y = 3", "t2"),
        check_cell("check.equal(y, 4, name='y')", "t2-fail", points=3),
        solution_cell("z = 1 / 0", "t3"),
        check_cell("check.equal(z, 1)", "t3-error", points=1),
        solution_cell("raise NotImplementedError()", "t4"),
        check_cell("check.equal(w, 1)", "t4-todo", points=1),
        check_cell("undefined_name", "t5-check-bug", points=1),
        solution_cell("v = 5", "t6"),
        check_cell("check.equal(v, 5)", "t6-pass-after-errors", points=4),
    ]
    ref, path = _pair(tmp_path, cells)
    report = grade(path, timeout=60, reference=ref)
    got = {t.task: (t.status, t.points) for t in report.tasks}
    assert got == {
        "t1-pass": ("passed", 2),
        "t2-fail": ("failed", 0),
        "t3-error": ("error", 0),
        "t4-todo": ("error", 0),
        "t5-check-bug": ("error", 0),
        "t6-pass-after-errors": ("passed", 4),
    }
    messages = {t.task: t.message for t in report.tasks}
    assert "expected y == 4, got 3" in messages["t2-fail"]
    assert "ZeroDivisionError" in messages["t3-error"] and "line 1: z = 1 / 0" in messages["t3-error"]
    assert "not attempted" in messages["t4-todo"]
    assert "the check raised NameError" in messages["t5-check-bug"]
    assert (report.score, report.max_score) == (6, 12)
    table = report.table()
    assert "Total: 6 / 12 points" in table and "t2-fail" in table


@grading
def test_error_in_the_learners_function_called_by_the_check_is_theirs(tmp_path):
    # Issue 8: the check calls the learner's function; the exception is raised in their code.
    cells = [
        setup_cell(),
        solution_cell("def double(x):\n    raise NotImplementedError()", "t1"),
        check_cell("check.equal(double(2), 4)", "t1-double", points=2),
        solution_cell("def half(x):\n    y = x * 2\n    return y / 0", "t2"),
        check_cell("check.equal(half(4), 2)", "t2-half", points=1),
        solution_cell("def third(x):\n    assert x > 10, 'my own assertion'\n    return x / 3", "t3"),
        check_cell("check.equal(third(3), 1)", "t3-third", points=1),
    ]
    ref, path = _pair(tmp_path, cells)
    first, second, third = grade(path, timeout=60, reference=ref).tasks
    assert (first.status, first.points) == ("error", 0) and "not attempted" in first.message
    assert second.status == "error"
    assert second.message.startswith("your code raised ZeroDivisionError"), second.message
    assert "your cell 4, line 3: return y / 0" in second.message and "called by the check" in second.message
    assert third.status == "error" and "your code raised AssertionError: my own assertion" in third.message
    assert "your cell 6, line 2" in third.message


@grading
def test_endless_loop_is_stopped_and_later_tasks_still_graded(tmp_path):
    cells = [
        setup_cell(),
        solution_cell("while True:\n    pass", "t1"),
        check_cell("check.true(True, '')", "t1-loop", points=1),
        solution_cell("a = 1", "t2"),
        check_cell("check.equal(a, 1)", "t2-after", points=1),
    ]
    ref, path = _pair(tmp_path, cells)
    report = grade(path, timeout=15, reference=ref)  # the set-up cell imports torch: give it time
    statuses = {t.task: t.status for t in report.tasks}
    assert statuses == {"t1-loop": "timed out", "t2-after": "passed"}
    assert "time limit" in report.tasks[0].message


@grading
def test_a_notebook_has_a_total_time_budget(tmp_path):
    sleep = "import time\ntime.sleep(3)"
    cells = [
        solution_cell(sleep, "t1"), check_cell("pass", "t1", points=1),
        solution_cell(sleep, "t2"), check_cell("pass", "t2", points=1),
        solution_cell(sleep, "t3"), check_cell("pass", "t3", points=1),
        solution_cell(sleep, "t4"), check_cell("pass", "t4", points=1),
    ]
    ref, path = _pair(tmp_path, cells)
    report = grade(path, timeout=5, budget=7.5, reference=ref)
    assert [t.status for t in report.tasks] == ["passed", "passed", "timed out", "not run"], report.table()
    assert "time budget" in report.tasks[2].message and "time budget of 7.5 s" in report.tasks[3].message


@grading
def test_kernel_death_reports_remaining_tasks_as_not_run(tmp_path):
    cells = [
        setup_cell(),
        solution_cell("a = 1", "t1"),
        check_cell("check.equal(a, 1)", "t1-ok", points=1),
        solution_cell("import os\nos._exit(1)", "t2"),
        check_cell("check.equal(a, 1)", "t2-dead", points=1),
    ]
    ref, path = _pair(tmp_path, cells)
    report = grade(path, timeout=30, reference=ref)
    assert [t.status for t in report.tasks] == ["passed", "not run"]
    assert "kernel died" in report.tasks[1].message


@grading
def test_hidden_checks_run_after_the_visible_check(tmp_path):
    cells = [
        setup_cell(),
        solution_cell("def square(x):\n    return 4 if x == 2 else 0", "t1"),  # games the visible check
        check_cell("check.equal(square(2), 4)", "t1-square", points=2),
        solution_cell("def cube(x):\n    return x ** 3", "t2"),
        check_cell("check.equal(cube(2), 8)", "t2-cube", points=1),
    ]
    ref, path = _pair(tmp_path, cells)
    hidden = tmp_path / "hidden" / "ex.py"
    hidden.parent.mkdir()
    hidden.write_text("# Hidden checks for ex (kept away from students)\n# %% t1-square\ncheck.equal(square(3), 9, name='square(3)')\n"
                      "# %% t2-cube\ncheck.equal(cube(3), 27)\n")
    plain = grade(path, timeout=60, reference=ref)
    assert [t.status for t in plain.tasks] == ["passed", "passed"]
    report = grade(path, timeout=60, reference=ref, hidden=hidden)
    assert [t.status for t in report.tasks] == ["failed", "passed"], report.table()
    assert report.tasks[0].message == "hidden check: expected square(3) == 9, got 0."
    bad = tmp_path / "hidden" / "nope.py"
    bad.write_text("# %% t1-square\npass\n")
    with pytest.raises(GradingInputError, match="no such lesson"):
        grade(path, reference=ref, hidden=bad)


@grading
def test_cli_grades_one_notebook_prints_table_and_writes_json(tmp_path, capsys):
    cells = [setup_cell(), solution_cell("x = 1", "t1"), check_cell("check.equal(x, 1)", "t1", points=2)]
    ref, path = _pair(tmp_path, cells)
    out_json = tmp_path / "report.json"
    assert main(["grade", str(path), "--reference", str(ref), "--json", str(out_json)]) == 0
    assert "Total: 2 / 2 points" in capsys.readouterr().out
    data = json.loads(out_json.read_text())
    assert data["score"] == 2 and data["status"] == "graded" and data["tasks"][0] == {
        "task": "t1", "points": 2.0, "max_points": 2.0, "status": "passed", "message": ""
    }


@grading
def test_points_tasks_and_checks_come_from_the_reference(tmp_path):
    reference = [
        setup_cell(),
        solution_cell("raise NotImplementedError()", "t1"),
        check_cell("check.equal(x, 1)", "t1", points=2),
        solution_cell("raise NotImplementedError()", "t2"),
        check_cell("check.equal(y, 2)", "t2", points=3),
    ]
    cheat = [
        setup_cell(),
        solution_cell("x = 0", "t1"),
        check_cell("print('✅ Task 1 passed')", "t1", points=200),  # check replaced, points raised
        solution_cell("y = 0", "t2"),  # t2's check deleted
        check_cell("pass", "t3-bonus", points=50),  # a task added
    ]
    ref, path = _pair(tmp_path, reference, cheat)
    report = grade(path, timeout=60, reference=ref)
    assert [(t.task, t.status, t.max_points) for t in report.tasks] == [("t1", "failed", 2), ("t2", "failed", 3)]
    assert report.score == 0 and report.max_score == 5
    assert "check cell was changed" in report.tasks[0].message
    assert "check cell was missing" in report.tasks[1].message
    assert any("t3-bonus" in n for n in report.notes)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.ipynb", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: _text(d / "corrupt.ipynb", '{"cells": [ {"cell_type": '), "JSON is broken at line 1"),
        (lambda d: _text(d / "list.ipynb", "[1, 2, 3]"), "not a Jupyter notebook"),
        (lambda d: _text(d / "script.py", "print('hello')\n"), "JSON is broken"),
        (lambda d: _bytes(d / "binary.ipynb", b"\x89PNG\r\n\x1a\n\xff\xfe"), "cannot be read"),
        (lambda d: write(notebook(markdown("hi")), d / "plain.ipynb"), "cannot tell which lesson"),
    ],
)
def test_bad_input_gets_one_line_error_and_exit_code_2(tmp_path, capsys, make, message):
    path = make(tmp_path)
    if "lesson" not in message:
        with pytest.raises(GradingInputError, match=message):
            load_notebook(path)
    assert main(["grade", str(path)]) == 2
    err = capsys.readouterr().err
    if path.is_dir():  # a folder is a class to grade: an empty one says so
        message = "holds no submissions"
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_nbformat_v3_notebook_is_read(tmp_path):
    nb = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
        nbformat.v3.new_code_cell("x = 1", metadata={"nbgrader": {"grade": True, "grade_id": "t1", "points": 1}}),
    ])])
    path = _text(tmp_path / "old.ipynb", nbformat.writes(nb, version=3))
    loaded = load_notebook(path)
    assert loaded.nbformat == 4 and loaded.cells[0].metadata.nbgrader.grade_id == "t1"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--timeout", "0"], "--timeout: must be a positive, finite number, got '0'"),
        (["--timeout", "nan"], "--timeout: must be a positive, finite number"),
        (["--budget", "-1"], "--budget: must be a positive"),
        (["--workers", "0"], "--workers: must be at least 1"),
    ],
)
def test_bad_limits_are_refused_by_the_command_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit:
        main(["grade", str(ROOT / "exercises" / "00_welcome.ipynb"), *args])
    assert exit.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kernel", "no-such-kernel"], "no Jupyter kernel named 'no-such-kernel' (installed: "),
        (["--json", "/no/such/folder/r.json"], "--json /no/such/folder/r.json: its folder /no/such/folder does not exist"),
        (["--csv", "."], "--csv .: is a folder"),
        (["--lesson", "99_nothing"], "unknown lesson '99_nothing'"),
        (["--reference", "/no/such/ref"], "no such reference exercise or folder"),
    ],
)
def test_bad_options_get_one_line_error_before_grading(tmp_path, capsys, args, message):
    assert main(["grade", str(ROOT / "exercises" / "00_welcome.ipynb"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_another_lessons_notebook_renamed_is_refused(tmp_path, capsys):
    path = tmp_path / "00_welcome.ipynb"
    path.write_bytes((ROOT / "exercises" / "01_tensors.ipynb").read_bytes())
    assert main(["grade", str(path)]) == 2
    assert "is named for lesson 00_welcome but its tasks are lesson 01_tensors's" in capsys.readouterr().err


def test_points_in_the_reference_must_be_finite(tmp_path):
    ref = tmp_path / "ex.ipynb"
    _text(ref, nbformat.writes(notebook(check_cell("pass", "t1", points=1))).replace('"points": 1', '"points": Infinity'))
    with pytest.raises(GradingInputError, match="points must be a finite, non-negative number, got inf"):
        grade(ref, reference=ref)


def test_a_bad_path_answers_without_importing_torch_or_nbformat(tmp_path):
    # The one-line error must come at once: torch (seconds) and nbformat (a second) stay unimported.
    code = (
        "import sys\nfrom course.cli import main\n"
        f"code = main(['grade', {str(tmp_path / 'missing.ipynb')!r}])\n"
        "print(code, 'torch' in sys.modules, 'nbformat' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert out.stdout.split() == ["2", "False", "False"], out.stderr


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
