"""Files a learner owns: write a project's source files from a notebook without losing edits.

Lesson 15 (the capstone) keeps its project in a folder next to the notebook (``capstone/``),
written from notebook cells, so that ``pytest`` and other tools can run on real files::

    %load_ext course.workspace

    %%workspace capstone/model.py
    import torch
    ...

The cell magic ``%%workspace PATH`` writes the cell's text to ``PATH`` (it does not run it) with
:func:`write_file`: a file that already holds exactly this text is left alone, and a file that
holds anything else (an edit the learner made in an editor) is first renamed to ``PATH.bak``
(``PATH.bak2``, ... if that exists), so nothing a learner wrote is ever lost. A file that still
holds exactly what this process last wrote there (the previous version of the cell) is simply
replaced: re-running an edited cell does not pile up backups of the cell's own earlier text.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["write_file", "load_ipython_extension"]

# What this process last wrote to each file (resolved path -> SHA-256 of the bytes): such a file holds
# no edit of the learner's, so writing over it needs no backup. Only in memory: after a restart, a
# changed file is backed up once more, which errs on the safe side.
_LAST_WRITTEN: dict[Path, str] = {}


def _backup_name(path: Path) -> Path:
    candidate = path.with_name(path.name + ".bak")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{n}")
        n += 1
    return candidate


def write_file(path: str | os.PathLike, text: str) -> tuple[str, Path | None]:
    """Write ``text`` to ``path`` (creating its folder) and say what happened.

    Returns ``(status, backup)``: ``status`` is ``"created"``, ``"unchanged"`` (the file already held
    exactly ``text``), ``"updated"`` (it held what this process last wrote there: overwritten, no
    backup) or ``"replaced"`` (it held something else, now kept at ``backup``).
    The new content is written to a temporary file and renamed over ``path``, so a crash never
    leaves half a file.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ValueError(f"path must name a file, got {str(path)!r}")
    if path.exists() and not path.is_file():
        raise IsADirectoryError(f"{path} exists and is not a file: choose another name")
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode("utf-8")  # bytes: no newline translation or locale encoding (Windows)
    key = path.resolve()
    backup, status = None, "created"
    if path.is_file():
        old = path.read_bytes()
        if old == data:
            _LAST_WRITTEN[key] = hashlib.sha256(data).hexdigest()
            return "unchanged", None
        if _LAST_WRITTEN.get(key) == hashlib.sha256(old).hexdigest():
            status = "updated"  # our own earlier text, not an edit: nothing to keep
        else:
            backup = _backup_name(path)
            os.replace(path, backup)
            status = "replaced"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    _LAST_WRITTEN[key] = hashlib.sha256(data).hexdigest()
    return status, backup


def _workspace_magic(line: str, cell: str) -> None:
    """``%%workspace PATH``: write this cell's text to PATH (an edited file is kept as PATH.bak)."""
    target = line.strip()
    if not target:
        raise ValueError("usage: %%workspace path/to/file.py (then the file's text in the cell)")
    status, backup = write_file(target, cell)
    lines = cell.rstrip("\n").count("\n") + 1
    print(f"{target}: {lines} lines")  # the same line whether it was created or already up to date
    if backup is not None:
        print(f"  (the file held other text: it is kept as {backup.name})")


def load_ipython_extension(ipython) -> None:
    """``%load_ext course.workspace`` registers the ``%%workspace`` cell magic."""
    ipython.register_magic_function(_workspace_magic, magic_kind="cell", magic_name="workspace")
