"""The course's grader (see course/grading/engine.py for how a submission is graded).

    from course.grading import grade, Grader
    grade("my-exercises/01_tensors.ipynb").table()
"""

from course.grading.engine import Grader, Limits, check_kernel, course_root, default_reference
from course.grading.reference import load_notebook
from course.grading.report import (
    ERROR, FAILED, NOT_RUN, PASSED, TIMEOUT, GradingInputError, Report, TaskResult,
)

__all__ = [
    "Grader", "Limits", "GradingInputError", "Report", "TaskResult", "grade", "load_notebook",
    "check_kernel", "course_root", "default_reference", "PASSED", "FAILED", "ERROR", "TIMEOUT", "NOT_RUN",
]


def grade(path, timeout: float = 120, kernel_name: str = "python3", *, budget: float | None = None,
          lesson: str | None = None, reference=None, hidden=None, **limits) -> Report:
    """Grade one notebook against the course's exercise for its lesson (see :class:`Grader`)."""
    from pathlib import Path

    load_notebook(path)  # a bad path fails here, before anything slow
    lim = Limits(timeout=timeout, **({"budget": budget} if budget is not None else {}), **limits)
    grader = Grader(reference=Path(reference) if reference else None, hidden=Path(hidden) if hidden else None,
                    kernel=kernel_name, limits=lim)
    return grader.grade(path, lesson=lesson)
