"""A generated class of submissions to exercise 00 (and one of 01): honest, wrong, broken, looping, hostile.

``make_class(folder)`` writes one sub-folder per student, as a learning platform exports them, and
returns what each must grade to. Used by tests/test_grade_class.py and benchmarks/grade_class.py.
Every hostile one is the untouched exercise (or a wrong answer) plus the attack: none has earned a point.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
# The class is built from, and graded against, a frozen copy of exercise 00 (tests/grading_data/).
FROZEN = Path(__file__).resolve().parent / "grading_data"
LESSON = "00_welcome"
FULL = 5.0


@dataclass
class Expect:
    score: float
    status: str = "graded"
    tasks: dict[str, str] = field(default_factory=dict)  # task -> status
    words: tuple[str, ...] = ()  # text the report (notes, messages) must contain
    max_score: float = FULL


def _read(folder: str, lesson: str = LESSON):
    base = FROZEN if lesson == LESSON else ROOT
    return nbformat.read(base / folder / f"{lesson}.ipynb", as_version=4)


def reference_folder(dest: Path) -> Path:
    """The course's exercises with exercise 00 replaced by the frozen one: what the class is graded against."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "exercises").glob("*.ipynb"):
        shutil.copy(path, dest / path.name)
    shutil.copy(FROZEN / "exercises" / f"{LESSON}.ipynb", dest / f"{LESSON}.ipynb")
    return dest


def solved():
    nb = _read("solutions")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def unsolved():
    return _read("exercises")


def blank():
    """The exercise with every stub deleted (``pass``): nothing raises, only the checks stand in the way."""
    nb = unsolved()
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            cell.source = "pass"
    return nb


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _set(nb, grade_id, source):
    _cell(nb, grade_id).source = source
    return nb


def _prepend(nb, source):
    """Put ``source`` into the set-up cell (the first code cell), as a one-line attack would."""
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = first.source + "\n" + source
    return nb


def _checks(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def make_class(folder: Path, protected_file: Path | None = None, canary: Path | None = None) -> dict[str, Expect]:
    """Write the class into ``folder``; ``protected_file``: a trusted file the attacks try to overwrite;
    ``canary``: a path a detached child tries to write after the grading ended."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, Expect] = {}

    def put(student, nb, exp, name=f"{LESSON}.ipynb"):
        path = folder / student / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, (str, bytes)):
            path.write_bytes(nb if isinstance(nb, bytes) else nb.encode())
        else:
            nbformat.write(nb, path)
        expect[student] = exp

    # --- honest learners ------------------------------------------------------------------------
    put("solved", solved(), Expect(5))
    put("unsolved", unsolved(), Expect(0, tasks={"t1-device": "error"}, words=("not attempted",)))
    nb = solved()
    _set(nb, "t2-code", "n_test = 358\nn_classes = 10")
    put("wrong_count", nb, Expect(4, tasks={"t2-digits": "failed"}, words=("expected n_test == 359",)))
    nb = solved()
    _set(nb, "t3-code", 'train_images, train_labels = data.digits("train")\nmean_three = train_images[train_labels == 8].mean(dim=0)')
    put("wrong_mean", nb, Expect(3, tasks={"t3-mean-image": "failed"}))
    nb = solved()
    _set(nb, "t1-code", "def threads():\n    return 1 // 0\nDEVICE = pick_device()\nn_threads = threads()")
    put("error_in_own_code", nb, Expect(4, tasks={"t1-device": "error"}, words=("ZeroDivisionError", "line 2: return 1 // 0")))
    nb = solved()
    nb.cells.insert(4, nbformat.v4.new_markdown_cell("My notes: trying things out."))
    nb.cells.insert(5, nbformat.v4.new_code_cell("print('scratch', DEVICE)\nhelper = lambda images: len(images)"))
    _set(nb, "t2-code", 'test_images, test_labels = data.digits("test")\nn_test = helper(test_labels)\nn_classes = 10')
    put("extra_cells", nb, Expect(5))
    put("not_json", '{"cells": [', Expect(0, status="not graded", words=("JSON is broken",)))
    (folder / "no_notebook").mkdir()
    (folder / "no_notebook" / "answers.txt").write_text("I did it on paper\n")
    expect["no_notebook"] = Expect(0, status="not graded", words=("no notebook",), max_score=0)
    nb = solved()
    _set(nb, "t3-code", "while True:\n    pass")
    put("loops", nb, Expect(3, tasks={"t3-mean-image": "timed out", "t4-shapes": "passed"}, words=("time limit",)))
    nb = solved()
    _set(nb, "t4-code", "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.01)")
    put("ignores_interrupt", nb, Expect(4, tasks={"t4-shapes": "timed out"}, words=("ignored the interrupt",)))
    nb = solved()
    _set(nb, "t2-code", "import os\nos._exit(1)")
    put("crashes_kernel", nb, Expect(1, tasks={"t1-device": "passed", "t2-digits": "not run", "t4-shapes": "not run"}, words=("kernel died",)))
    nb3 = nbformat.v3.convert.downgrade(solved())
    put("nbformat_v3", nbformat.writes(nb3, version=3), Expect(5))
    other = _read("solutions", "01_tensors")
    put("other_lesson_renamed", other, Expect(0, status="not graded", words=("its tasks are lesson 01_tensors's",)))

    # --- hostile: tasks, points and checks from the submission ----------------------------------
    nb = blank()
    for c in _checks(nb):
        c.source = f"print('✅ {c.metadata.nbgrader.grade_id} passed')"
    put("checks_replaced_by_print", nb, Expect(0, words=("check cell was changed",)))
    nb = unsolved()
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    put("checks_deleted", nb, Expect(0, words=("check cell was missing",)))
    nb = unsolved()
    for c in _checks(nb):
        c.metadata.nbgrader.points = 100
    nb.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": {"grade": True, "grade_id": "t9-bonus", "points": 50, "locked": True, "solution": False, "schema_version": 3}}))
    put("points_raised_task_added", nb, Expect(0, words=("t9-bonus",)))
    nb = solved()
    for c in _checks(nb):
        c.metadata.nbgrader.points = float("inf")
    put("infinite_points", nbformat.writes(nb), Expect(5))
    nb = unsolved()
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    put("metadata_removed", nb, Expect(0))
    nb = unsolved()
    # two copies of a check cell: a passing stand-in first, so its id is "seen" with a harmless body
    dup = copy.deepcopy(_checks(nb)[0])
    dup.source = "pass"
    dup["id"] = "duplicated-check"
    nb.cells.insert(2, dup)
    put("check_duplicated", nb, Expect(0, words=("repeats this task's check",)))

    # --- hostile: hiding errors from the grader ---------------------------------------------------
    put("set_custom_exc", _prepend(blank(), "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"), Expect(0))
    put("showtraceback_replaced", _prepend(blank(), "get_ipython().showtraceback = lambda *a, **k: None"), Expect(0))
    put("run_cell_replaced", _prepend(blank(), (
        "import IPython.core.interactiveshell as _s\n"
        "_ip, _res = get_ipython(), _s.ExecutionResult(_s.ExecutionInfo('', False, False, True, None))\n"
        "async def _fake(*a, **k):\n    return _res\n"
        "_ip.run_cell_async, _ip.run_cell = _fake, lambda *a, **k: _res")), Expect(0, words=("did not report success",)))
    nb = solved()
    _cell(nb, "t1-code").source += "\nfor _ in range(800):\n    print('x' * 50_000)"
    put("floods_output", nb, Expect(4, tasks={"t1-device": "failed", "t2-digits": "passed"}, words=("output limit",)))

    # --- hostile: shared state ------------------------------------------------------------------
    target = str(protected_file or folder / "trusted-file-stand-in.txt")
    put("rewrites_trusted_file", _prepend(unsolved(), f"open({target!r}, 'a').write('\\n# owned\\n')"), Expect(0))
    put("answer_key_via_package", _prepend(blank(), (
        "import pathlib, json as _j, course as _c\n"
        "_key = pathlib.Path(_c.__file__).resolve().parents[1] / 'solutions' / '00_welcome.ipynb'\n"
        "for _cell in _j.loads(_key.read_text())['cells']:\n"
        "    if 'BEGIN SOLUTION' in ''.join(_cell['source']):\n"
        "        exec(''.join(_cell['source']))")), Expect(0))
    key = ROOT / "solutions" / "00_welcome.ipynb"
    put("answer_key_by_path", _prepend(blank(), (
        "import json as _j\n"
        f"for _cell in _j.loads(open({str(key)!r}).read())['cells']:\n"
        "    if 'BEGIN SOLUTION' in ''.join(_cell['source']):\n"
        "        exec(''.join(_cell['source']))")), Expect(0))
    shadow = folder / "course_next_to_it"
    put("course_next_to_it", _prepend(blank(), "DEVICE = n_threads = n_test = n_classes = mean_three = per_class = 0"), Expect(0))
    (shadow / "course").mkdir()
    (shadow / "course" / "__init__.py").write_text(  # the real package for everything but check
        "import os, sys\n"
        "__path__ += [os.path.join(p, 'course') for p in sys.path if p not in ('', os.getcwd()) and os.path.isdir(os.path.join(p, 'course'))][:1]\n"
    )
    (shadow / "course" / "check.py").write_text("def __getattr__(name):\n    return lambda *a, **k: print('✅ passed')\n")
    if canary is not None:
        child = (
            "import os, sys, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        for _ in range(600):\n"
            f"            time.sleep(0.2); open({str(canary)!r}, 'w').write('still alive')\n"
            "        os._exit(0)\n"
            "    os._exit(0)\n"
        )
        put("detached_child", _prepend(unsolved(), child), Expect(0))

    # --- limits ---------------------------------------------------------------------------------
    put("memory_hog", _prepend(unsolved(), "_hog = b'x' * (2600 * 2**20)"), Expect(0, words=("memory",)))
    put("many_processes", _prepend(unsolved(), "import subprocess\n_kids = [subprocess.Popen(['sleep', '60']) for _ in range(80)]"), Expect(0, words=("processes",)))
    return expect


# The limits the class is graded under (tests and benchmark): short, so looping ones end fast.
LIMITS = dict(timeout=12, budget=240, memory_mb=2048, processes=64)
