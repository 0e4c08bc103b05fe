"""A class of 30-odd generated submissions graded in one command, two at a time.

Honest, wrong, broken, looping and hostile notebooks (tests/grading_class.py says what each does
and must score). Each hostile one reproduces an attack that got points from the old grader.
"""

import csv
import json
import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

from course.cli import main
from grading_class import LIMITS, ROOT, make_class, reference_folder
from notebook_factory import check_cell, notebook, setup_cell, solution_cell, write

pytestmark = pytest.mark.grading


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    ref = reference_folder(base / "reference")
    protected = ref / "00_welcome.ipynb"
    before = protected.read_bytes()
    expect = make_class(base / "submissions", protected_file=protected, canary=base / "canary")
    out = base / "out"
    out.mkdir()
    start = time.perf_counter()
    # Every process of this class's gradings inherits this mark, so the leftover check below does not
    # count the gradings that other test workers run at the same time.
    mark = os.environ["CLASS_TEST_MARK"] = f"class-{os.getpid()}-{time.time_ns()}"
    code = main([
        "grade", str(base / "submissions"), "--reference", str(ref), "--workers", "2", "--quiet",
        "--csv", str(out / "grades.csv"), "--json", str(out / "grades.json"), "--feedback", str(out / "feedback"),
        "--timeout", str(LIMITS["timeout"]), "--budget", str(LIMITS["budget"]), "--memory", str(LIMITS["memory_mb"]),
    ])
    seconds = time.perf_counter() - start
    canary = base / "canary"
    if canary.exists():  # written while its notebook was graded: fine, as long as it stops with it
        canary.unlink()
    time.sleep(2)  # the detached child rewrites its canary every 0.2 s for two minutes unless it was ended
    data = json.loads((out / "grades.json").read_text())
    os.environ.pop("CLASS_TEST_MARK", None)
    return {"mark": mark,
        "code": code, "expect": expect, "out": out, "seconds": seconds, "base": base,
        "reports": {s["student"]: s for s in data["submissions"]},
        "protected_same": protected.read_bytes() == before,
    }


def test_the_class_grades_in_one_command(graded):
    assert graded["code"] == 0
    assert len(graded["expect"]) >= 30
    assert set(graded["reports"]) == set(graded["expect"])


def pytest_generate_tests(metafunc):
    if "student" in metafunc.fixturenames:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            names = sorted(make_class(Path(tmp) / "s", canary=Path(tmp) / "c"))
        metafunc.parametrize("student", names)


def test_each_submission_gets_its_score_and_status(graded, student):
    report, exp = graded["reports"][student], graded["expect"][student]
    text = json.dumps(report)
    assert (report["score"], report["status"], report["max_score"]) == (exp.score, exp.status, exp.max_score), text
    tasks = {t["task"]: t["status"] for t in report["tasks"]}
    for task, status in exp.tasks.items():
        assert tasks[task] == status, text
    for word in exp.words:
        assert word in text, (word, text)


def test_a_hostile_notebook_leaves_the_trusted_files_and_no_process_behind(graded):
    assert graded["protected_same"]
    assert not (graded["base"] / "canary").exists(), "a detached child outlived its grading"
    left = []
    for p in psutil.process_iter():
        try:
            env = p.environ()
            if "COURSE_GRADING_TOKEN" in env and env.get("CLASS_TEST_MARK") == graded["mark"]:
                left.append(p.cmdline())
        except (psutil.Error, OSError):
            pass
    assert not left


def test_csv_has_one_row_per_student_and_task(graded):
    rows = list(csv.DictReader((graded["out"] / "grades.csv").open()))
    expected = sum(max(1, len(r["tasks"])) for r in graded["reports"].values())
    assert len(rows) == expected
    solved = [r for r in rows if r["student"] == "solved"]
    assert [(r["task"], r["task_status"], r["points"]) for r in solved] == [
        ("t1-device", "passed", "1"), ("t2-digits", "passed", "1"), ("t3-mean-image", "passed", "2"), ("t4-shapes", "passed", "1")]
    wrong = next(r for r in rows if r["student"] == "wrong_count" and r["task"] == "t2-digits")
    assert wrong["task_status"] == "failed" and "expected n_test == 359" in wrong["message"]


def test_each_student_gets_a_feedback_file(graded):
    folder = graded["out"] / "feedback"
    files = {p.name for p in folder.iterdir()}
    assert "wrong_count_00_welcome.txt" in files and "no_notebook.txt" in files
    assert len(files) == len(graded["reports"])
    text = (folder / "wrong_count_00_welcome.txt").read_text()
    assert "Task t2-digits: failed, 0 of 1 points" in text and "expected n_test == 359" in text
    assert "Total: 4 / 5 points" in text


def test_a_file_changed_by_a_program_the_notebook_starts_is_restored_and_the_grade_withheld(tmp_path):
    # A shell command is not stopped by the Python guard: the grader notices the change afterwards.
    ref = tmp_path / "reference" / "ex.ipynb"
    cells = [setup_cell(), solution_cell("x = 1", "t1"), check_cell("check.equal(x, 1)", "t1", points=1)]
    write(notebook(*cells), ref)
    before = ref.read_bytes()
    attack = solution_cell(f"import subprocess\nsubprocess.run(['sh', '-c', 'echo owned >> {ref}'])\nx = 1", "t1")
    path = write(notebook(cells[0], attack, cells[2]), tmp_path / "submission" / "ex.ipynb")
    from course.grade import grade

    report = grade(path, reference=ref, timeout=60)
    assert ref.read_bytes() == before
    assert report.status == "tampered" and report.score == 0
    assert "changed the course's own files" in report.tasks[0].message
