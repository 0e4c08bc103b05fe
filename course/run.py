"""Re-run a notebook top to bottom and store its outputs (how lessons get their stored outputs)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


# The stored outputs are made, and compared by the tests, with one math thread per kernel: the last
# bits of a float reduction (and so of a training run) depend on how many threads share it.
REFERENCE_THREADS = "1"


def reference_env() -> dict[str, str]:
    """The environment for kernels that make or check stored outputs (one math thread)."""
    return {**os.environ, "OMP_NUM_THREADS": REFERENCE_THREADS}


def refresh(path: Path, timeout: float = 600, kernel_name: str = "python3") -> tuple[bool, str]:
    """Execute ``path`` in a fresh kernel; on success overwrite it with the new outputs.

    On any error the file is left untouched, so nothing already saved is lost. The kernel runs
    with one math thread, as under the tests, so the outputs it stores are the ones they expect.
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
        client.execute(stderr=subprocess.DEVNULL, env=reference_env())
    except CellExecutionError as err:
        first = str(err).strip().splitlines()
        return False, f"error: {path} failed and was not changed:\n{chr(10).join(first[-15:])}"
    tidy(nb)
    nb.metadata["kernelspec"] = stored_kernelspec(kernel_name)
    nbformat.write(nb, path)
    return True, f"refreshed {path}"


def stored_kernelspec(kernel_name: str = "python3") -> dict[str, str]:
    """The kernelspec a notebook stores: exactly what the kernel reports. JupyterLab marks a notebook
    modified on opening (and autosave rewrites it) when its stored display name differs."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    return {"display_name": spec.display_name, "language": spec.language, "name": kernel_name}


def tidy(nb: nbformat.NotebookNode) -> None:
    """Drop authoring-tool metadata (jupytext's) that would only add noise to diffs."""
    nb.metadata.pop("jupytext", None)
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        cell.metadata.pop("execution", None)


def retry_kernel_start(start, attempts: int = 3):
    """``start`` (a function that starts a kernel and waits for it) retried on ``RuntimeError``.

    A kernel binds TCP ports its manager found free a moment before; when several kernels start at
    once (pytest-xdist workers, the class grader) another can take one first, and the kernel dies
    at start ("Kernel died before replying to kernel_info"). That race is the machine's, not the
    notebook's, so the start is tried ``attempts`` times; the last error is raised.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be a whole number >= 1, got {attempts!r}")

    def started(*args, **kwargs):
        for attempt in range(attempts):
            try:
                return start(*args, **kwargs)
            except RuntimeError:
                if attempt == attempts - 1:
                    raise

    return started
