"""A class in one command: find each student's notebooks, grade several at once, write CSV, JSON and feedback."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from course.grading import reference as ref
from course.grading.report import CRASHED, GradingInputError, Report

_SKIP = (".ipynb_checkpoints", "__MACOSX")


def find_submissions(folder: Path, lessons: dict) -> list[tuple[str, Path | None]]:
    """(student, notebook) pairs: one sub-folder per student, or ``<student>_<lesson>.ipynb`` files.

    A student folder without a notebook gives (student, None): reported, not skipped.
    """
    items: list[tuple[str, Path | None]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in _SKIP:
            continue
        if entry.is_dir():
            found = sorted(p for p in entry.rglob("*.ipynb") if not any(part in _SKIP or part.startswith(".") for part in p.relative_to(entry).parts))
            items += [(entry.name, p) for p in found] or [(entry.name, None)]
        elif entry.suffix == ".ipynb":
            lesson = ref.by_name(entry, lessons)
            items.append((ref.student_of(entry, folder, lesson.name if lesson else ""), entry))
    return items


def grade_many(items: list[tuple[str, Path | None]], grader, workers: int = 1, progress: bool = True,
               lesson: str | None = None, protect: list[Path] | None = None) -> list[Report]:
    """Grade every (student, notebook), ``workers`` at a time; nothing one notebook does stops the others."""
    from tqdm.auto import tqdm

    def one(item):
        student, path = item
        if path is None:
            return grader.refuse(Path(student), student, "no notebook (.ipynb) was handed in")
        try:
            return grader.grade(path, lesson=lesson, student=student, protect=protect)
        except GradingInputError as err:
            named = ref.by_name(path, grader.refs.lessons)
            return grader.refuse(path, student, str(err), named.name if named else "")
        except Exception as err:  # a grader bug must not stop the class
            report = grader.refuse(path, student, f"the grader failed on it ({type(err).__name__}: {err})")
            report.status = CRASHED
            return report

    reports: list[Report | None] = [None] * len(items)
    bar = tqdm(total=len(items), desc="grading", unit="notebook", file=sys.stderr, disable=not progress)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(one, item): i for i, item in enumerate(items)}
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            reports[futures[future]] = future.result()
            bar.update(1)
    bar.close()
    return [r for r in reports if r is not None]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def csv_text(reports: list[Report]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["student", "lesson", "notebook", "status", "task", "task_status", "points", "max_points", "message"])
    for r in reports:
        rows = r.tasks or [None]
        for t in rows:
            if t is None:
                writer.writerow([r.student, r.lesson, r.notebook, r.status, "", "", 0, 0, "; ".join(r.notes)])
            else:
                writer.writerow([r.student, r.lesson, r.notebook, r.status, t.task, t.status, f"{t.points:g}", f"{t.max_points:g}", t.message])
    return buf.getvalue()


def json_text(reports: list[Report]) -> str:
    data = {"submissions": [r.to_dict() for r in reports]}
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "student"


def write_feedback(reports: list[Report], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for r in reports:
        name = safe_name(r.student or Path(r.notebook).stem) + (f"_{r.lesson}" if r.lesson else "") + ".txt"
        path = folder / name
        _atomic_write(path, r.feedback())
        written.append(path)
    return written


def check_writable(path: Path, what: str) -> None:
    """A one-line error now, not a traceback after an hour of grading."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise GradingInputError(f"{what} {path}: is a folder; give a file name")
    if not parent.is_dir():
        raise GradingInputError(f"{what} {path}: its folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise GradingInputError(f"{what} {path}: cannot be written (no permission)")


def write_text(path: Path, text: str, what: str) -> None:
    try:
        _atomic_write(path, text)
    except OSError as err:
        raise GradingInputError(f"{what} {path}: cannot be written ({err.strerror or err})") from None
