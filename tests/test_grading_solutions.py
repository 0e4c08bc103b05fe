"""Every solution notebook grades to full points (runs each one whole in a fresh kernel)."""

from pathlib import Path

import pytest

from course.grade import grade

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.grading
@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_solution_gets_full_points(path):
    report = grade(path, timeout=300)
    assert report.score == report.max_score > 0, report.table()
