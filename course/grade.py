"""Grade an exercise notebook: run it in a fresh kernel and score each task's check cell.

A task is a check cell whose metadata follows nbgrader's schema::

    {"nbgrader": {"grade": true, "grade_id": "t1-create", "points": 2, ...}}

The learner's code cells for that task are the solution cells (``"solution": true``)
between the previous check cell and this one. Cells run one by one with a per-cell
timeout (a cell that loops forever is interrupted and reported), errors never stop the
run, so one failing task does not hide the others.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

PASSED, FAILED, ERROR, TIMEOUT, NOT_RUN = "passed", "failed", "error", "timed out", "not run"
_CHECK_ERRORS = {"CheckFailed", "AssertionError"}


class GradingInputError(ValueError):
    """The file given to the grader is not a gradable notebook; the message says why."""


@dataclass
class TaskResult:
    task: str
    points: float
    max_points: float
    status: str
    message: str = ""


@dataclass
class Report:
    notebook: str
    tasks: list[TaskResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tasks)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tasks)

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "score": self.score,
            "max_score": self.max_score,
            "seconds": round(self.seconds, 1),
            "tasks": [asdict(t) for t in self.tasks],
        }

    def table(self) -> str:
        rows = [(t.task, t.status, f"{t.points:g}/{t.max_points:g}", t.message) for t in self.tasks]
        head = ("task", "result", "points", "details")
        widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
        lines = [f"Grading {self.notebook}"]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
        lines.append(fmt.format(*head))
        lines.append(fmt.format(*("-" * w for w in widths), "-------"))
        lines += [fmt.format(*r) for r in rows]
        lines.append(f"Total: {self.score:g} / {self.max_score:g} points ({self.seconds:.1f} s)")
        return "\n".join(lines)


def load_notebook(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook for grading, turning every kind of bad input into :class:`GradingInputError`."""
    path = Path(path)
    if not path.exists():
        raise GradingInputError(f"{path}: no such file (give the path of an exercise notebook, e.g. exercises/01_tensors.ipynb)")
    if path.is_dir():
        raise GradingInputError(f"{path}: is a folder; give one notebook file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GradingInputError(f"{path}: cannot be read as a text notebook ({err})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradingInputError(
            f"{path}: not a notebook, its JSON is broken at line {err.lineno} ({err.msg}); "
            "restore it from your last checkpoint (File > Revert) or regenerate the exercise"
        ) from None
    if not isinstance(raw, dict) or "cells" not in raw or "nbformat" not in raw:
        raise GradingInputError(f"{path}: JSON, but not a Jupyter notebook (it has no 'cells' and 'nbformat')")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises several validation error types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GradingInputError(f"{path}: not a valid notebook ({first})") from None
    return nb


def find_tasks(nb: nbformat.NotebookNode) -> list[tuple[int, str, float]]:
    """(cell index, task id, points) for each graded check cell, in notebook order."""
    tasks = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            points = meta.get("points", 0)
            if not isinstance(points, (int, float)) or points < 0:
                raise GradingInputError(f"cell {index}: points must be a non-negative number, got {points!r}")
            tasks.append((index, str(meta.get("grade_id", f"cell-{index}")), float(points)))
    return tasks


def _error_of(cell: nbformat.NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def grade(path: str | Path, timeout: float = 120, kernel_name: str = "python3") -> Report:
    """Run the notebook at ``path`` top to bottom in a fresh kernel and score its tasks."""
    path = Path(path)
    nb = load_notebook(path)
    tasks = find_tasks(nb)
    if not tasks:
        raise GradingInputError(
            f"{path}: has no graded check cells (cells whose metadata has nbgrader.grade = true); "
            "is this an exercise notebook?"
        )
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    timed_out: set[int] = set()
    ran: set[int] = set()
    kernel_died = ""
    start = time.perf_counter()
    # The kernel's own stderr (start-up warnings) is not the learner's output: keep it off the table.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            t0 = time.perf_counter()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError as err:
                kernel_died = f"the kernel died in cell {index} ({err}); later cells did not run"
                break
            ran.add(index)
            if time.perf_counter() - t0 >= timeout:
                timed_out.add(index)
    report = Report(notebook=str(path), seconds=time.perf_counter() - start)

    previous = -1
    for index, task_id, points in tasks:
        own = [
            i
            for i in range(previous + 1, index)
            if nb.cells[i].cell_type == "code" and nb.cells[i].get("metadata", {}).get("nbgrader", {}).get("solution")
        ]
        previous = index
        report.tasks.append(_score(nb, index, own, task_id, points, ran, timed_out, kernel_died))
    return report


def _score(nb, index, own, task_id, points, ran, timed_out, kernel_died) -> TaskResult:
    def result(status: str, message: str = "") -> TaskResult:
        return TaskResult(task_id, points if status == PASSED else 0.0, points, status, message)

    for i in [*own, index]:
        if i in timed_out:
            where = "the check" if i == index else "your code"
            return result(TIMEOUT, f"{where} ran past the time limit and was stopped (an endless loop?)")
    if index not in ran:
        return result(NOT_RUN, kernel_died or "the check cell did not run")
    for i in own:
        err = _error_of(nb.cells[i])
        if err:
            ename, evalue = err
            if ename == "NotImplementedError":
                return result(ERROR, "not attempted yet: replace the `raise NotImplementedError()` stub")
            return result(ERROR, f"your code raised {ename}: {evalue}".strip())
    err = _error_of(nb.cells[index])
    if err is None:
        return result(PASSED)
    ename, evalue = err
    if ename in _CHECK_ERRORS:
        return result(FAILED, evalue or "a check failed")
    if ename == "NotImplementedError":
        # The check called a function whose body is still the stub.
        return result(ERROR, "not attempted yet: replace the `raise NotImplementedError()` stub")
    return result(ERROR, f"the check raised {ename}: {evalue}".strip())
