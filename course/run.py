"""Re-run a notebook top to bottom and store its outputs (how lessons get their stored outputs)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def refresh(path: Path, timeout: float = 600, kernel_name: str = "python3") -> tuple[bool, str]:
    """Execute ``path`` in a fresh kernel; on success overwrite it with the new outputs.

    On any error the file is left untouched, so nothing already saved is lost.
    """
    if not path.is_file() or path.suffix != ".ipynb":
        return False, f"error: {path}: not a notebook file"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        record_timing=False,
        resources={"metadata": {"path": str(path.resolve().parent)}},
    )
    try:
        client.execute(stderr=subprocess.DEVNULL)
    except CellExecutionError as err:
        first = str(err).strip().splitlines()
        return False, f"error: {path} failed and was not changed:\n{chr(10).join(first[-15:])}"
    tidy(nb)
    nbformat.write(nb, path)
    return True, f"refreshed {path}"


def tidy(nb: nbformat.NotebookNode) -> None:
    """Drop authoring-tool metadata (jupytext's) that would only add noise to diffs."""
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        cell.metadata.pop("execution", None)
