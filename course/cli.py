"""The course command line: ``python -m course <command>``.

  doctor                    check this machine's set-up (exit 1 when a required part is missing)
  build-exercises [--check] generate exercises/ from solutions/ (or only report stale files)
  grade NOTEBOOK [--json F] run an exercise notebook and print its score table
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


def cmd_grade(args: argparse.Namespace) -> int:
    from course.grade import GradingInputError, grade

    try:
        report = grade(args.notebook, timeout=args.timeout, kernel_name=args.kernel)
    except GradingInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"report written to {args.json}")
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

    p = sub.add_parser("grade", help="run an exercise notebook and score its tasks")
    p.add_argument("notebook", help="path of the notebook to grade")
    p.add_argument("--json", metavar="FILE", help="also write a machine-readable report to FILE")
    p.add_argument("--timeout", type=float, default=120, help="seconds each cell may run (default 120)")
    p.add_argument("--kernel", default="python3", help="Jupyter kernel to run it with (default python3)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("refresh", help="re-run notebooks and store their outputs (course authors)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=float, default=600, help="seconds each cell may run")
    p.set_defaults(func=cmd_refresh)

    args = parser.parse_args(argv)
    return args.func(args)
