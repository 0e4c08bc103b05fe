"""The trusted side of grading: the course's own exercises, and the plan of what runs for a submission.

Tasks, points and check code come from the course's exercise (the reference), matched by lesson
and ``grade_id``; the submission only contributes the learner's code. :func:`make_plan` lays out
the cells to run: the learner's cells in their order, each check cell replaced by the reference
check (a missing check is inserted after its task's code, a duplicate is dropped), and the
teacher's hidden checks after their task's check.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from course.grading.report import GradingInputError

_LESSON_NAME = re.compile(r"\d\d_[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")


def load_notebook(path: str | Path):
    """Read a notebook for grading (any nbformat version, upgraded to v4); bad input raises
    :class:`GradingInputError` with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise GradingInputError(f"{path}: no such file (give the path of an exercise notebook, e.g. exercises/01_tensors.ipynb)")
    if path.is_dir():
        raise GradingInputError(f"{path}: is a folder; give one notebook file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise GradingInputError(f"{path}: cannot be read as a text notebook ({err})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradingInputError(
            f"{path}: not a notebook, its JSON is broken at line {err.lineno} ({err.msg}); "
            "restore it from your last checkpoint (File > Revert) or regenerate the exercise"
        ) from None
    if not isinstance(raw, dict) or "nbformat" not in raw or not ("cells" in raw or "worksheets" in raw):
        raise GradingInputError(f"{path}: JSON, but not a Jupyter notebook (it has no 'cells' and 'nbformat')")
    import nbformat  # imported only now: it takes a second (jsonschema), a bad path answers at once

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate cell ids and the like are repaired, not shouted
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except Exception as err:  # nbformat raises several validation error types
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise GradingInputError(f"{path}: not a valid notebook ({first})") from None
    return nb


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


@dataclass(frozen=True)
class Task:
    id: str
    points: float
    source: str
    solution_ids: tuple[str, ...]


@dataclass
class Lesson:
    """One reference exercise: its tasks in order, and the ids of its learner (solution) cells."""

    name: str
    tasks: list[Task]
    solution_ids: set[str]
    generated_from: str = ""

    @property
    def ids(self) -> set[str]:
        return {t.id for t in self.tasks} | self.solution_ids


def lesson_from_notebook(name: str, nb, where: str = "") -> Lesson:
    tasks: list[Task] = []
    solutions: list[str] = []
    all_solutions: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = _nbgrader(cell)
        if cell.cell_type != "code" or not meta:
            continue
        if meta.get("grade"):
            points = meta.get("points", 0)
            if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) or points < 0:
                raise GradingInputError(f"{where or name} cell {index}: points must be a finite, non-negative number, got {points!r}")
            task_id = str(meta.get("grade_id") or f"cell-{index}")
            if any(t.id == task_id for t in tasks):
                raise GradingInputError(f"{where or name}: two check cells have grade_id {task_id!r}; each task needs its own")
            tasks.append(Task(task_id, float(points), cell.source, tuple(solutions)))
            solutions = []
        elif meta.get("solution") and meta.get("grade_id"):
            solutions.append(str(meta["grade_id"]))
            all_solutions.add(str(meta["grade_id"]))
    generated = nb.metadata.get("course", {}).get("generated_from", "") if isinstance(nb.metadata.get("course"), dict) else ""
    return Lesson(name, tasks, all_solutions, str(generated))


@dataclass
class References:
    """The course's exercises, read once (the files may change later; what was read is what counts)."""

    lessons: dict[str, Lesson]
    files: dict[Path, bytes] = field(default_factory=dict)

    @classmethod
    def load(cls, where: str | Path) -> "References":
        where = Path(where)
        if where.is_dir():
            paths = sorted(where.glob("*.ipynb"))
        elif where.exists():
            paths = [where]
        else:
            raise GradingInputError(f"{where}: no such reference exercise or folder (pass --reference with the course's exercises/)")
        if not paths:
            raise GradingInputError(f"{where}: holds no reference exercises (*.ipynb)")
        lessons, files = {}, {}
        for path in paths:
            files[path.resolve()] = path.read_bytes()
            nb = load_notebook(path)
            lesson = lesson_from_notebook(path.stem, nb, str(path))
            if lesson.tasks:
                lessons[path.stem] = lesson
        if not lessons:
            raise GradingInputError(f"{where}: none of its notebooks has graded check cells")
        return cls(lessons, files)

    def pick(self, submission_path: Path, nb, lesson: str | None = None) -> Lesson:
        """The lesson a submission is for: ``lesson`` if given, else its file name, else its content;
        a notebook of another lesson renamed to this one is refused, naming both."""
        if lesson is not None:
            if lesson not in self.lessons:
                raise GradingInputError(f"unknown lesson {lesson!r}; the course has: {', '.join(sorted(self.lessons))}")
            named = self.lessons[lesson]
        else:
            named = by_name(submission_path, self.lessons)
        ids = {str(_nbgrader(c).get("grade_id")) for c in nb.cells if _nbgrader(c).get("grade_id")}
        check_ids = {str(_nbgrader(c).get("grade_id")) for c in nb.cells if _nbgrader(c).get("grade")}
        overlap = {name: len(ids & les.ids) + 2 * len(check_ids & {t.id for t in les.tasks}) for name, les in self.lessons.items()}
        best = max(overlap, key=lambda n: overlap[n])
        if named is None:
            if overlap[best] == 0:
                raise GradingInputError(
                    f"{submission_path}: cannot tell which lesson it is for (its name has none of "
                    f"{', '.join(sorted(self.lessons))}, and it has none of their tasks); rename it or pass --lesson"
                )
            return self.lessons[best]
        if check_ids and overlap[named.name] < overlap[best]:
            raise GradingInputError(
                f"{submission_path}: is named for lesson {named.name} but its tasks are lesson {best}'s; "
                f"hand in the {named.name} exercise (or grade it as {best} with --lesson {best})"
            )
        if check_ids and overlap[named.name] == 0 and len(self.lessons) == 1:
            raise GradingInputError(f"{submission_path}: none of its tasks belong to lesson {named.name}; is it the right notebook?")
        return named


def by_name(path: Path, lessons: dict) -> Lesson | None:
    """The lesson whose name (``01_tensors``) appears in the file name (``alice_01_tensors.ipynb``)."""
    stem = path.stem
    hits = [name for name in lessons if name in stem]
    if len(lessons) == 1 and not hits:
        return next(iter(lessons.values()))
    return lessons[max(hits, key=len)] if hits else None


def student_of(path: Path, submissions_dir: Path, lesson: str) -> str:
    """A student's name: the folder under the submissions folder, or the file name less the lesson."""
    rel = path.relative_to(submissions_dir)
    if len(rel.parts) > 1:
        return rel.parts[0]
    name = path.stem.replace(lesson, "")
    name = re.sub(r"^[\s_.-]+|[\s_.-]+$", "", name)
    return name or path.stem


# --- the plan: what runs, in which order ---------------------------------------------------------

@dataclass
class Step:
    kind: str  # "learner", "check" or "hidden"
    source: str
    task: str = ""
    cell: int | None = None  # index in the submission (None: inserted from the reference)
    solution: bool = False  # a learner cell that belongs to a task (its errors count for the task)


@dataclass
class Plan:
    lesson: Lesson
    steps: list[Step]
    task_notes: dict[str, list[str]]
    notes: list[str]


def make_plan(nb, lesson: Lesson, hidden: dict[str, list[str]] | None = None) -> Plan:
    hidden = hidden or {}
    tasks = {t.id: t for t in lesson.tasks}
    by_source = {_norm(t.source): t.id for t in lesson.tasks}
    steps: list[Step] = []
    seen: set[str] = set()
    task_notes: dict[str, list[str]] = {t.id: [] for t in lesson.tasks}
    notes: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        meta = _nbgrader(cell)
        gid = str(meta.get("grade_id", "")) if meta.get("grade_id") is not None else ""
        task_id = None
        if gid in tasks:
            task_id = gid
        elif meta.get("grade"):
            notes.append(f"cell {index + 1} is a check cell ({gid or 'no id'}) that exercise {lesson.name} does not have: it was not run and scores nothing")
            continue
        elif not meta and _norm(cell.source) in by_source and by_source[_norm(cell.source)] not in seen:
            task_id = by_source[_norm(cell.source)]
        if task_id is None:
            solution = bool(meta.get("solution")) or gid in lesson.solution_ids
            steps.append(Step("learner", cell.source, cell=index, solution=solution))
            continue
        if task_id in seen:
            task_notes[task_id].append(f"cell {index + 1} repeats this task's check cell: only the first copy ran")
            continue
        seen.add(task_id)
        if _norm(cell.source) != _norm(tasks[task_id].source):
            task_notes[task_id].append("the check cell was changed: the course's check ran in its place")
        steps.append(Step("check", tasks[task_id].source, task=task_id, cell=index))
    # Missing checks go after their task's code, else after the previous task's check, else at the end.
    previous = None
    for task in lesson.tasks:
        if task.id not in seen:
            at = None
            for pos, step in enumerate(steps):
                if step.kind == "learner" and step.cell is not None and str(_nbgrader(nb.cells[step.cell]).get("grade_id", "")) in task.solution_ids:
                    at = pos + 1
            if at is None and previous is not None:
                at = next(pos + 1 for pos, s in enumerate(steps) if s.kind == "check" and s.task == previous)
            if at is None:
                at = len(steps)
            steps.insert(at, Step("check", task.source, task=task.id))
            task_notes[task.id].append("the check cell was missing from the notebook: the course's check ran in its place")
        previous = task.id
    out: list[Step] = []
    for step in steps:
        out.append(step)
        if step.kind == "check":
            out += [Step("hidden", src, task=step.task) for src in hidden.get(step.task, [])]
    return Plan(lesson, out, task_notes, notes)


# --- hidden checks ---------------------------------------------------------------------------------

_HIDDEN_HEADER = re.compile(r"^# %%\s*(\S+)\s*$")


def load_hidden(where: str | Path | None) -> tuple[dict[str, dict[str, list[str]]], dict[Path, bytes]]:
    """Hidden checks: ``DIR/<lesson>.py`` (or one such file), cells headed ``# %% <grade_id>``.

    Returns {lesson: {grade_id: [source, ...]}} and the files read (to notice later changes).
    """
    if where is None:
        return {}, {}
    where = Path(where)
    if where.is_dir():
        paths = sorted(where.glob("*.py"))
    elif where.is_file():
        paths = [where]
    else:
        raise GradingInputError(f"{where}: no such hidden-checks file or folder")
    if not paths:
        raise GradingInputError(f"{where}: holds no hidden checks (<lesson>.py files with '# %% <grade_id>' cells)")
    out: dict[str, dict[str, list[str]]] = {}
    files: dict[Path, bytes] = {}
    for path in paths:
        files[path.resolve()] = path.read_bytes()
        cells: dict[str, list[str]] = {}
        current, lines = None, []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = _HIDDEN_HEADER.match(line)
            if match:
                if current is not None and "".join(lines).strip():
                    cells.setdefault(current, []).append("\n".join(lines).strip("\n"))
                current, lines = match.group(1), []
            elif line.startswith("# %%"):
                raise GradingInputError(f"{path}, line {number}: a hidden cell's header is '# %% <grade_id>', got {line!r}")
            elif current is not None:
                lines.append(line)
            elif line.strip() and not line.lstrip().startswith("#"):
                raise GradingInputError(f"{path}, line {number}: code before the first '# %% <grade_id>' header")
        if current is not None and "".join(lines).strip():
            cells.setdefault(current, []).append("\n".join(lines).strip("\n"))
        out[path.stem] = cells
    return out, files


def check_hidden(hidden: dict[str, dict[str, list[str]]], refs: References) -> None:
    for lesson, cells in hidden.items():
        if lesson not in refs.lessons:
            raise GradingInputError(f"hidden checks for {lesson!r}: no such lesson (the course has {', '.join(sorted(refs.lessons))})")
        known = {t.id for t in refs.lessons[lesson].tasks}
        for task in cells:
            if task not in known:
                raise GradingInputError(f"hidden checks for {lesson}: no task {task!r} (its tasks: {', '.join(sorted(known))})")


def digest(files: dict[Path, bytes]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(str(path).encode())
        h.update(files[path])
    return h.hexdigest()
