"""Generate exercise notebooks from solution notebooks (one source, two notebooks).

A solution notebook marks its answers with the nbgrader convention::

    ### BEGIN SOLUTION
    y = x @ w + b
    ### END SOLUTION

:func:`build_exercise` replaces each region with a stub that raises
``NotImplementedError`` (keeping the indentation, so function bodies stay valid),
clears every output and keeps all metadata, including each check cell's points.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = ("YOUR ANSWER HERE",)
_MARKER = re.compile(r"^(\s*)(### (?:BEGIN|END) SOLUTION)\s*$")


class MarkerError(ValueError):
    """A solution notebook's BEGIN/END SOLUTION markers do not pair up."""


def strip_solutions(source: str, stub: tuple[str, ...] = CODE_STUB, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION region in ``source`` by ``stub`` lines."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(), start=1):
        match = _MARKER.match(line)
        marker = match.group(2) if match else None
        if marker == BEGIN:
            if inside:
                raise MarkerError(f"{where}, line {number}: '{BEGIN}' inside another solution region")
            inside = True
            indent = match.group(1)
            out.extend(indent + s for s in stub)
        elif marker == END:
            if not inside:
                raise MarkerError(f"{where}, line {number}: '{END}' without a '{BEGIN}' before it")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def has_solution(source: str) -> bool:
    return any(_MARKER.match(line) for line in source.splitlines())


def build_exercise(solution: nbformat.NotebookNode, source_name: str = "") -> nbformat.NotebookNode:
    """Return the exercise twin of a solution notebook (the input is not modified)."""
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        where = f"{source_name or 'notebook'} cell {index}"
        if cell.cell_type == "code":
            if has_solution(cell.source):
                cell.source = strip_solutions(cell.source, CODE_STUB, where)
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown" and has_solution(cell.source):
            cell.source = strip_solutions(cell.source, MARKDOWN_STUB, where)
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.setdefault("course", {})
    nb.metadata["course"]["generated_from"] = source_name
    nb.metadata.pop("widgets", None)  # widget state belongs to executed outputs
    return nb


def exercise_text(solution_path: Path, root: Path) -> str:
    """The exact file text that ``exercises/`` must hold for ``solution_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    name = solution_path.resolve().relative_to(root.resolve()).as_posix()
    return nbformat.writes(build_exercise(solution, name)) + "\n"


def build_all(root: Path, check: bool = False) -> list[Path]:
    """Write ``exercises/X.ipynb`` for every ``solutions/X.ipynb`` under ``root``.

    With ``check=True`` nothing is written; the exercises that are missing or stale are returned.
    Exercise files without a solution are reported as stale too (delete them).
    """
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    out_dir = root / "exercises"
    stale: list[Path] = []
    for solution_path in solutions:
        target = out_dir / solution_path.name
        text = exercise_text(solution_path, root)
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if not check:
            out_dir.mkdir(exist_ok=True)
            target.write_text(text, encoding="utf-8")
    names = {p.name for p in solutions}
    stale.extend(p for p in sorted(out_dir.glob("*.ipynb")) if p.name not in names)
    return stale
