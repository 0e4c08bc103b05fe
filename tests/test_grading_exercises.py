"""Every untouched exercise grades to 0 points without crashing the grader."""

from pathlib import Path

import pytest

from course.grade import grade

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.grading
@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_untouched_exercise_gets_zero(path):
    report = grade(path, timeout=300)
    assert report.max_score > 0
    assert report.score == 0, report.table()
    assert all(t.status in ("error", "failed") for t in report.tasks), report.table()
