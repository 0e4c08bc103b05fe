"""How long grading a class takes: seconds per submission, one at a time and several at once.

    python benchmarks/grade_class.py            # 12 submissions of exercise 00, 1 worker then 2
    python benchmarks/grade_class.py --n 30 --workers 1 2 4

The submissions are the solved and the untouched exercise 00, alternating (the honest case: no
loops or time-outs, which would measure the limits instead of the grader). Prints the hardware,
the figures, and the speed-up of each worker count over one worker. A figure, not a test: the
numbers depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

import nbformat  # noqa: E402

from course.grading import Grader, Limits  # noqa: E402
from course.grading.batch import find_submissions, grade_many  # noqa: E402
from grading_class import reference_folder, solved, unsolved  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="submissions (default 12)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare (default 1 2)")
    args = parser.parse_args()
    import platform

    print(f"Hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        folder = Path(tmp) / "class"
        for i in range(args.n):
            path = folder / f"student{i:02d}" / "00_welcome.ipynb"
            path.parent.mkdir(parents=True)
            nbformat.write(solved() if i % 2 == 0 else unsolved(), path)
        times = {}
        for workers in args.workers:
            grader = Grader(limits=Limits(threads=max(1, (os.cpu_count() or 1) // workers)), reference=reference_folder(Path(tmp) / "reference"))
            items = find_submissions(folder, grader.refs.lessons)
            start = time.perf_counter()
            reports = grade_many(items, grader, workers=workers, progress=False)
            seconds = time.perf_counter() - start
            wrong = [r.student for i, r in enumerate(reports) if r.score != (5 if int(r.student[-2:]) % 2 == 0 else 0)]
            times[workers] = seconds
            print(f"{workers} worker(s): {args.n} submissions in {seconds:.1f} s = {seconds / args.n:.2f} s per submission"
                  + (f"  (WRONG SCORES: {wrong})" if wrong else ""))
        base = times[args.workers[0]]
        for workers in args.workers[1:]:
            print(f"{workers} workers vs {args.workers[0]}: {base / times[workers]:.2f}x the throughput")


if __name__ == "__main__":
    main()
