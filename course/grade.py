"""Grade an exercise notebook (kept for ``from course.grade import grade``; the grader is course/grading/)."""

from course.grading import (  # noqa: F401
    ERROR, FAILED, NOT_RUN, PASSED, TIMEOUT, Grader, GradingInputError, Limits, Report, TaskResult, grade, load_notebook,
)
