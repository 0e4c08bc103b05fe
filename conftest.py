"""pytest set-up shared by the unit tests and the nbval notebook suite (see tests/README.md)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # Each pytest worker gets its own scratch folder; notebook kernels inherit it (course.workdir).
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    os.environ["COURSE_WORKDIR"] = str(Path(tempfile.gettempdir()) / f"torch-course-test-{os.getpid()}-{worker}")
    # One math thread per kernel, as `course refresh` uses to store the outputs: the last bits of a
    # float reduction (and so of a training run) depend on the thread count. It also keeps two
    # xdist workers from oversubscribing a 2-core machine.
    from course.run import REFERENCE_THREADS

    os.environ["OMP_NUM_THREADS"] = REFERENCE_THREADS
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets a debugger warning in kernels
    # nbval starts one kernel per notebook; two xdist workers starting kernels at once can race for
    # a port, and a kernel that died at start would fail a whole notebook for nothing.
    import nbval.kernel

    from course.run import retry_kernel_start

    if not getattr(nbval.kernel.start_new_kernel, "_course_retry", False):
        nbval.kernel.start_new_kernel = retry_kernel_start(nbval.kernel.start_new_kernel)
        nbval.kernel.start_new_kernel._course_retry = True
    config.addinivalue_line("markers", "notebooks: an nbval cell of a lesson or solution notebook")
    config.addinivalue_line("markers", "grading: runs the grader on whole exercise/solution notebooks")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(getattr(item, "fspath", "")).endswith(".ipynb"):
            item.add_marker(pytest.mark.notebooks)
