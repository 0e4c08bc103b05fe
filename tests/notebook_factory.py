"""Build small notebooks in code for the builder and grader tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def solution_cell(source: str, task: str) -> nbformat.NotebookNode:
    meta = {"grade": False, "grade_id": f"{task}-code", "locked": False, "schema_version": 3, "solution": True, "task": False}
    return new_code_cell(source, metadata={"nbgrader": meta})


def check_cell(source: str, task: str, points: float = 1) -> nbformat.NotebookNode:
    meta = {"grade": True, "grade_id": task, "locked": True, "points": points, "schema_version": 3, "solution": False, "task": False}
    return new_code_cell(source, metadata={"nbgrader": meta})


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def setup_cell() -> nbformat.NotebookNode:
    return new_code_cell("from course import check")


def markdown(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text)
