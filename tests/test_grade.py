"""The grader on right, wrong and broken notebooks (small ones built here)."""

import json
import sys
from pathlib import Path

import pytest

from course.cli import main
from course.grade import GradingInputError, grade, load_notebook
from notebook_factory import check_cell, markdown, notebook, setup_cell, solution_cell, write


def test_scores_each_task_and_one_failure_does_not_hide_others(tmp_path):
    path = write(
        notebook(
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
        ),
        tmp_path / "ex.ipynb",
    )
    report = grade(path, timeout=60)
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
    assert "ZeroDivisionError" in messages["t3-error"]
    assert "not attempted" in messages["t4-todo"]
    assert "NameError" in messages["t5-check-bug"]
    assert (report.score, report.max_score) == (6, 12)
    table = report.table()
    assert "Total: 6 / 12 points" in table and "t2-fail" in table


def test_stub_inside_a_function_reads_as_not_attempted(tmp_path):
    # The builder keeps a function's signature and stubs its body, so NotImplementedError
    # surfaces only when the check cell calls the function.
    path = write(
        notebook(
            setup_cell(),
            solution_cell("def double(x):\n    raise NotImplementedError()", "t1"),
            check_cell("check.equal(double(2), 4)", "t1-double", points=2),
        ),
        tmp_path / "fn.ipynb",
    )
    (task,) = grade(path, timeout=60).tasks
    assert (task.status, task.points) == ("error", 0)
    assert "not attempted" in task.message


def test_endless_loop_is_stopped_and_later_tasks_still_graded(tmp_path):
    path = write(
        notebook(
            setup_cell(),
            solution_cell("while True:\n    pass", "t1"),
            check_cell("check.true(True, '')", "t1-loop", points=1),
            solution_cell("a = 1", "t2"),
            check_cell("check.equal(a, 1)", "t2-after", points=1),
        ),
        tmp_path / "loop.ipynb",
    )
    report = grade(path, timeout=3)
    statuses = {t.task: t.status for t in report.tasks}
    assert statuses == {"t1-loop": "timed out", "t2-after": "passed"}
    assert "time limit" in report.tasks[0].message


def test_kernel_death_reports_remaining_tasks_as_not_run(tmp_path):
    path = write(
        notebook(
            setup_cell(),
            solution_cell("a = 1", "t1"),
            check_cell("check.equal(a, 1)", "t1-ok", points=1),
            solution_cell("import os\nos._exit(1)", "t2"),
            check_cell("check.equal(a, 1)", "t2-dead", points=1),
        ),
        tmp_path / "dies.ipynb",
    )
    report = grade(path, timeout=30)
    assert [t.status for t in report.tasks] == ["passed", "not run"]
    assert "kernel died" in report.tasks[1].message


def test_cli_prints_table_and_writes_json(tmp_path, capsys):
    path = write(
        notebook(setup_cell(), solution_cell("x = 1", "t1"), check_cell("check.equal(x, 1)", "t1", points=2)),
        tmp_path / "ok.ipynb",
    )
    out_json = tmp_path / "report.json"
    assert main(["grade", str(path), "--json", str(out_json)]) == 0
    assert "Total: 2 / 2 points" in capsys.readouterr().out
    data = json.loads(out_json.read_text())
    assert data["score"] == 2 and data["tasks"][0] == {
        "task": "t1", "points": 2.0, "max_points": 2.0, "status": "passed", "message": ""
    }


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.ipynb", "no such file"),
        (lambda d: d, "is a folder"),
        (lambda d: _text(d / "corrupt.ipynb", '{"cells": [ {"cell_type": '), "JSON is broken at line 1"),
        (lambda d: _text(d / "list.ipynb", "[1, 2, 3]"), "not a Jupyter notebook"),
        (lambda d: _text(d / "script.py", "print('hello')\n"), "JSON is broken"),
        (lambda d: _bytes(d / "binary.ipynb", b"\x89PNG\r\n\x1a\n\xff\xfe"), "cannot be read"),
        (lambda d: write(notebook(markdown("hi")), d / "plain.ipynb"), "no graded check cells"),
    ],
)
def test_bad_input_gets_one_line_error_and_exit_code_2(tmp_path, capsys, make, message):
    path = make(tmp_path)
    with pytest.raises(GradingInputError, match=message):
        load_notebook(path) if "graded" not in message else grade(path)
    assert main(["grade", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_invalid_notebook_schema_is_reported(tmp_path):
    path = _text(tmp_path / "bad.ipynb", json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    with pytest.raises(GradingInputError, match="not a valid notebook"):
        load_notebook(path)


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
