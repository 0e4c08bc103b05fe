"""``python -m course release OUT``: the course as students get it, without the answer key.

It copies the lessons (``notebooks/``), the exercises, the ``course`` package and what sets the
environment up (``Makefile``, ``pyproject.toml``, ``constraints.txt``, ``environment.yml``,
``README.md``). ``solutions/``, ``tests/`` (which hold the mutants and the solutions' checks) and
anything else are left out: the list below is what goes in, nothing else does. It refuses when
``exercises/`` is stale (generated from older solutions) or when a released file still holds a
``### BEGIN SOLUTION`` region or stored outputs of an exercise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FILES = ("README.md", "Makefile", "pyproject.toml", "constraints.txt", "environment.yml", ".gitignore")
FOLDERS = ("notebooks", "exercises", "course")
MARK = ".course-release"
_SKIP = {"__pycache__", ".ipynb_checkpoints"}


class ReleaseError(ValueError):
    """The release cannot be written; the message says why and what to do."""


def release(root: Path, out: Path, force: bool = False) -> list[Path]:
    from course.exercises import MarkerError, build_all

    root, out = root.resolve(), out.resolve()
    for folder in FOLDERS:
        if not (root / folder).is_dir():
            raise ReleaseError(f"{root} has no {folder}/ folder; run this in the course folder or pass --root")
    inside = [root / f for f in (*FOLDERS, "solutions", "tests")]
    if out == root or out in root.parents or any(out == f or f in out.parents for f in inside):
        raise ReleaseError(f"{out}: choose a new folder outside the course's own folders")
    if (root / "solutions").is_dir():
        try:
            stale = build_all(root, check=True)
        except MarkerError as err:
            raise ReleaseError(str(err)) from None
        if stale:
            names = ", ".join(p.name for p in stale)
            raise ReleaseError(f"exercises/ is out of date with solutions/ ({names}); run `python -m course build-exercises` first")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ReleaseError(f"{out} already exists and is not empty; pick a new folder (or --force to replace an earlier release)")
        if not (out / MARK).exists():
            raise ReleaseError(f"{out} is not an earlier release (it has no {MARK}); refusing to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, out / name)
            written.append(out / name)
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root)
            if any(part in _SKIP for part in rel.parts) or not path.is_file():
                continue
            dest = out / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            written.append(dest)
    problems = audit(out)
    if problems:
        shutil.rmtree(out)
        raise ReleaseError("the release would give away answers, nothing written: " + "; ".join(problems[:5]))
    (out / MARK).write_text("Written by `python -m course release`; solutions/ is deliberately not here.\n")
    return written


def audit(out: Path) -> list[str]:
    """What in a release would give answers away."""
    problems = []
    if (out / "solutions").exists():
        problems.append("it has a solutions/ folder")
    for path in sorted(out.rglob("*")):
        if not path.is_file() or path.suffix not in (".ipynb", ".py", ".md"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            cells = json.loads(text).get("cells", [])
            sources = ["".join(c.get("source", "")) if isinstance(c.get("source"), list) else c.get("source", "") for c in cells]
            if any("### BEGIN SOLUTION" in s for s in sources):
                problems.append(f"{path.relative_to(out)} holds a solution region")
            if path.parent.name == "exercises" and any(c.get("outputs") for c in cells):
                problems.append(f"{path.relative_to(out)} stores outputs (they may show answers)")
    return problems
