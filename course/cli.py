"""The course command line: ``python -m course <command>``.

  doctor                    check this machine's set-up (exit 1 when a required part is missing)
  build-exercises [--check] generate exercises/ from solutions/ (or only report stale files)
  grade NOTEBOOK [--json F] grade an exercise notebook against the course's exercise; print its table
  grade FOLDER --csv F --json F   grade a class (one folder or file per student), several at once
  release OUT               write what students get (no solutions/)
  refresh NOTEBOOK...       re-run notebooks top to bottom and store their outputs (for authors)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _repo_root() -> Path:
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir() and (folder / "pyproject.toml").exists():
            return folder
    return Path(__file__).resolve().parent.parent


def cmd_doctor(args: argparse.Namespace) -> int:
    from course.doctor import main

    return main()


def cmd_build(args: argparse.Namespace) -> int:
    from course.exercises import MarkerError, build_all

    root = Path(args.root) if args.root else _repo_root()
    if not (root / "solutions").is_dir():
        print(f"error: {root} has no solutions/ folder; run this in the course folder or pass --root", file=sys.stderr)
        return 2
    try:
        stale = build_all(root, check=args.check)
    except MarkerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        if stale:
            print("exercises/ is out of date with solutions/; run `python -m course build-exercises`:")
            for path in stale:
                print(f"  {path.relative_to(root)}")
            return 1
        print("exercises/ matches solutions/")
        return 0
    for path in stale:
        print(f"wrote {path.relative_to(root)}" if path.exists() else f"stale (no solution): {path.relative_to(root)}")
    if not stale:
        print("exercises/ already up to date")
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive, finite number, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_grade(args: argparse.Namespace) -> int:
    # Imports stay light until the input is known to be gradable (torch is never imported here).
    from course.grading.report import GradingInputError

    try:
        return _grade(args)
    except GradingInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _grade(args: argparse.Namespace) -> int:
    import os

    from course.grading.batch import check_writable, csv_text, json_text, write_feedback, write_text
    from course.grading.reference import load_notebook
    from course.grading.report import GradingInputError

    target = Path(args.path)
    batch = target.is_dir()
    if not target.exists():
        load_notebook(target)  # the usual one-line error
    if not batch:
        load_notebook(target)
    outputs = [(Path(p), what) for p, what in ((args.json, "--json"), (args.csv, "--csv")) if p]
    for path, what in outputs:
        check_writable(path, what)
    from course.grading import Grader, Limits, check_kernel
    from course.grading.batch import find_submissions, grade_many

    check_kernel(args.kernel)
    workers = args.workers or os.cpu_count() or 1
    limits = Limits(timeout=args.timeout, budget=args.budget, memory_mb=args.memory, output_mb=args.max_output,
                    threads=max(1, (os.cpu_count() or 1) // workers) if batch else max(1, os.cpu_count() or 1))
    protect = [p.resolve() for p, _ in outputs]  # the report files themselves (never their folder: it may hold .venv)
    feedback_dir = Path(args.feedback) if args.feedback else None
    if batch:
        protect.append(target.resolve())
        if feedback_dir is None:
            feedback_dir = Path("feedback")
        protect.append(feedback_dir.resolve())
    grader = Grader(reference=Path(args.reference) if args.reference else None,
                    hidden=Path(args.hidden) if args.hidden else None, kernel=args.kernel, limits=limits)
    if batch:
        items = find_submissions(target, grader.refs.lessons)
        if not items:
            raise GradingInputError(f"{target}: holds no submissions (one folder or <student>_<lesson>.ipynb file per student)")
        reports = grade_many(items, grader, workers=workers, progress=not args.quiet, lesson=args.lesson, protect=protect)
        width = max(len(r.student) for r in reports)
        for r in reports:
            lesson = r.lesson or "?"
            print(f"{r.student:<{width}}  {lesson:<16} {r.score:g}/{r.max_score:g}  {r.status}"
                  + (f"  ({r.notes[0]})" if r.notes and r.status != "graded" else ""))
        graded = [r for r in reports if r.status == "graded"]
        print(f"{len(reports)} submissions, {len(graded)} graded, {len(reports) - len(graded)} not graded or withheld")
    else:
        reports = [grader.grade(target, lesson=args.lesson, protect=protect)]
        print(reports[0].table())
    for alarm in grader.alarms:
        print(f"warning: {alarm}", file=sys.stderr)
    # Written only now: every kernel and everything it started has been ended.
    if args.json:
        text = json_text(reports) if batch else json.dumps(reports[0].to_dict(), indent=2, allow_nan=False) + "\n"
        write_text(Path(args.json), text, "--json")
        print(f"report written to {args.json}")
    if args.csv:
        from course.grading.batch import csv_text

        write_text(Path(args.csv), csv_text(reports), "--csv")
        print(f"grades written to {args.csv}")
    if feedback_dir is not None:
        try:
            written = write_feedback(reports, feedback_dir)
        except OSError as err:
            raise GradingInputError(f"--feedback {feedback_dir}: cannot be written ({err.strerror or err})") from None
        print(f"feedback for each student written to {feedback_dir}/ ({len(written)} files)")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from course.release import ReleaseError, release

    root = Path(args.root) if args.root else _repo_root()
    try:
        written = release(root, Path(args.out), force=args.force)
    except ReleaseError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote the students' copy of the course to {args.out} ({len(written)} files, no solutions/)")
    return 0


def cmd_refresh(args: argparse.Namespace) -> int:
    from course.run import refresh

    status = 0
    for name in args.notebooks:
        ok, message = refresh(Path(name), timeout=args.timeout)
        print(message)
        status = status or (0 if ok else 1)
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description="Torch Course tools")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="check this machine's set-up")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("build-exercises", help="generate exercises/ from solutions/")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if exercises/ is stale")
    p.add_argument("--root", help="the course folder (default: found from the current folder)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("grade", help="grade a notebook, or a folder of submissions (a class)")
    p.add_argument("path", help="a notebook, or a folder with one sub-folder or <student>_<lesson>.ipynb per student")
    p.add_argument("--json", metavar="FILE", help="also write a machine-readable report to FILE")
    p.add_argument("--csv", metavar="FILE", help="write one row per student and task to FILE")
    p.add_argument("--feedback", metavar="DIR", help="write a feedback file per student to DIR (a class: default ./feedback)")
    p.add_argument("--workers", type=_count, default=None, help="notebooks graded at once (default: one per CPU core)")
    p.add_argument("--timeout", type=_positive, default=120, help="seconds each cell may run (default 120)")
    p.add_argument("--budget", type=_positive, default=900, help="seconds a whole notebook may run (default 900)")
    p.add_argument("--memory", type=_count, default=3072, help="MB of memory a notebook's kernel may use (default 3072)")
    p.add_argument("--max-output", type=_positive, default=5, help="MB of output one cell may print (default 5)")
    p.add_argument("--lesson", help="the lesson to grade against, e.g. 01_tensors (default: from each file name)")
    p.add_argument("--reference", metavar="DIR", help="the course's exercises to grade against (default: this course's exercises/)")
    p.add_argument("--hidden", metavar="PATH", help="hidden checks: a folder of <lesson>.py files (or one file) with '# %%%% <grade_id>' cells")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel to run it with (default python3)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("release", help="write what students get: lessons, exercises and the course package, no solutions")
    p.add_argument("out", help="a new folder to write the students' copy to")
    p.add_argument("--root", help="the course folder (default: found from the current folder)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists (it must be an earlier release)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("refresh", help="re-run notebooks and store their outputs (course authors)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=float, default=600, help="seconds each cell may run")
    p.set_defaults(func=cmd_refresh)

    args = parser.parse_args(argv)
    return args.func(args)
