"""Grade submissions against the course's reference exercises, each in its own sandbox.

For each submission the grader

1. reads the notebook and picks its lesson (refusing another lesson's notebook renamed);
2. makes a plan from the reference (:mod:`course.grading.reference`): the course's check cells,
   the learner's code, the teacher's hidden checks;
3. copies the notebook alone into a fresh temporary folder, with a copy of the ``course`` package
   taken when the grader started (the kernel imports that, never a ``course/`` next to the
   submission, nor files a previous submission changed);
4. runs the plan in a worker process (:mod:`course.grading.worker`) that starts the kernel in its
   own session under OS limits, and ends it and everything it started;
5. reads the verdicts from the kernel's replies: a check passes only when its execute_reply
   says ``ok``, its success line (a random marker unknown to the notebook) was printed, and no
   output was cut.

Several submissions run at once (threads, each waiting on its own worker process).
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from course.grading import reference as ref
from course.grading.report import (
    CRASHED, ERROR, FAILED, NOT_RUN, PASSED, REFUSED, TAMPERED, TIMEOUT,
    GradingInputError, Report, TaskResult,
)
from course.grading.worker import RESULT

PACKAGE = Path(__file__).resolve().parent.parent  # the course package the grader runs from
_CHECK_ERRORS = {"CheckFailed", "ForbiddenCall", "AssertionError"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)")


def course_root() -> Path:
    return PACKAGE.parent


def default_reference() -> Path:
    return course_root() / "exercises"


@dataclass
class Limits:
    timeout: float = 120.0  # seconds per cell
    budget: float = 900.0  # seconds per notebook, all cells together
    memory_mb: int = 3072  # resident memory of the kernel and its children
    output_mb: float = 5.0  # output one cell may print or display
    processes: int = 64  # processes the kernel may have at once
    file_mb: int = 1024  # largest file the notebook may write
    threads: int = 1  # math threads per kernel

    def validate(self) -> None:
        for name in ("timeout", "budget", "memory_mb", "output_mb", "processes", "file_mb", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                flag = {"memory_mb": "--memory", "output_mb": "--max-output"}.get(name, f"--{name}")
                raise GradingInputError(f"{flag} must be a positive number, got {value!r}")


def _snapshot_package() -> dict[Path, bytes]:
    files = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json", ".txt", ".cfg"):
            files[path] = path.read_bytes()
    return files


def check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        names = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise GradingInputError(f"no Jupyter kernel named {name!r} (installed: {names}); pass --kernel with one of them") from None


@dataclass
class Grader:
    """Holds what grading trusts, read once: the reference exercises, the hidden checks, the course package."""

    reference: Path | None = None
    hidden: Path | None = None
    kernel: str = "python3"
    limits: Limits = field(default_factory=Limits)
    protect: list[Path] = field(default_factory=list)  # more folders the notebooks must not touch

    def __post_init__(self) -> None:
        self.limits.validate()
        self.refs = ref.References.load(self.reference or default_reference())
        self.hidden_checks, hidden_files = ref.load_hidden(self.hidden)
        ref.check_hidden(self.hidden_checks, self.refs)
        self.package = _snapshot_package()
        self.trusted = {**self.package, **self.refs.files, **hidden_files}
        self.digest = ref.digest(self.trusted)
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self.alarms: list[str] = []

    # --- one submission -------------------------------------------------------------------------

    def grade(self, path: str | Path, lesson: str | None = None, student: str = "", protect: list[Path] | None = None) -> Report:
        path = Path(path)
        nb = ref.load_notebook(path)
        chosen = self.refs.pick(path, nb, lesson)
        plan = ref.make_plan(nb, chosen, self.hidden_checks.get(chosen.name))
        report = Report(notebook=str(path), lesson=chosen.name, student=student, notes=list(plan.notes))
        key = f"{student}:{path}"
        with self._lock:
            self._running.add(key)
        try:
            facts = self._run(path, plan, protect or [])
        finally:
            with self._lock:
                suspects = set(self._running)
                self._running.discard(key)
                tampered = self._check_trusted(suspects)
        report.seconds = facts.get("seconds", 0.0)
        if "error" in facts:
            report.status = CRASHED
            report.notes.append(f"the grader could not run this notebook: {facts['error']}")
            report.tasks = [TaskResult(t.id, 0.0, t.points, ERROR, "not graded: " + facts["error"]) for t in chosen.tasks]
            return report
        report.tasks = verdicts(plan, facts["steps"], nb)
        if tampered:
            report.notes.append(tampered)
            if len(suspects) == 1:
                report.status = TAMPERED
                for t in report.tasks:
                    t.points, t.status = 0.0, ERROR
                    t.message = "withheld: the notebook changed the course's own files (they were restored)"
        return report

    def refuse(self, path: Path, student: str, why: str, lesson: str = "") -> Report:
        report = Report(notebook=str(path), lesson=lesson, student=student, status=REFUSED, notes=[why])
        if lesson in self.refs.lessons:
            report.tasks = [TaskResult(t.id, 0.0, t.points, ERROR, "not graded: " + why) for t in self.refs.lessons[lesson].tasks]
        return report

    def _check_trusted(self, suspects: set[str]) -> str:
        now = {}
        for p in self.trusted:
            try:
                now[p] = p.read_bytes()
            except OSError:
                now[p] = b""
        if ref.digest(now) == self.digest:
            return ""
        changed = [p for p in self.trusted if now[p] != self.trusted[p]]
        saved = Path(tempfile.mkdtemp(prefix="course-changed-during-grading-"))
        for p in changed:
            try:  # the changed version is kept (an edit of the teacher's own is not lost), then restored
                (saved / p.name).write_bytes(now[p])
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(self.trusted[p])
            except OSError:
                pass
        names = ", ".join(str(p) for p in changed[:3])
        msg = f"the course's files changed while this notebook was graded ({names}); they were restored (the changed versions are in {saved})"
        if len(suspects) > 1:
            msg += "; several notebooks were running: regrade them one at a time (--workers 1) to find which"
        self.alarms.append(msg)
        return msg

    def _run(self, path: Path, plan: ref.Plan, protect: list[Path]) -> dict:
        token = secrets.token_hex(16)
        tmp = Path(tempfile.mkdtemp(prefix="course-grade-"))
        try:
            lib = tmp / "lib"
            for src, data in self.package.items():
                dest = lib / "course" / src.relative_to(PACKAGE)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            (lib / "sitecustomize.py").write_text("from course.grading.guard import from_env\nfrom_env()\n")
            work = tmp / "work"
            (work / "scratch").mkdir(parents=True)
            shutil.copyfile(path, work / path.name)
            steps = []
            for step in plan.steps:
                marker = ""
                source = step.source
                if step.kind in ("check", "hidden"):
                    marker = "course-check-ok-" + secrets.token_hex(12)
                    source = f"{source}\n__import__('builtins').print({marker!r})"
                steps.append({"source": source, "marker": marker})
            lim = self.limits
            root = course_root()
            protected = [str(p) for p in (PACKAGE, root / "solutions", *self.refs.files, *protect, *self.protect)]
            if self.hidden:
                protected.append(str(self.hidden))
            threads = str(int(lim.threads))
            env = {k: v for k, v in os.environ.items() if not k.startswith(("JPY_", "PYTHON", "COURSE_", "PYTEST"))}
            env.update({
                "PYTHONPATH": str(lib), "PWD": str(work), "COURSE_WORKDIR": str(work / "scratch"),
                "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "COURSE_GRADING_TOKEN": token,
                "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONDONTWRITEBYTECODE": "1",
                "COURSE_GRADING_GUARD": json.dumps({"protected": protected}),
            })
            env.pop("OLDPWD", None)
            job = {
                "token": token, "kernel": self.kernel, "cwd": str(work), "env": env, "steps": steps,
                "timeout": float(lim.timeout), "budget": float(lim.budget), "startup_timeout": 120,
                "limits": {
                    "output_bytes": int(lim.output_mb * 2**20), "memory_bytes": int(lim.memory_mb * 2**20),
                    "max_processes": int(lim.processes),
                    "kernel": {
                        "address_space": int((lim.memory_mb + 8192) * 2**20),  # torch alone reserves ~3 GB of address space
                        "cpu_seconds": int(lim.budget * max(1, lim.threads) + 60),
                        "file_size": int(lim.file_mb * 2**20),
                        "processes": int(lim.processes) + 256,
                        "protected": protected,
                    },
                },
            }
            worker_env = {**env, "PYTHONPATH": str(lib)}
            worker_env.pop("COURSE_GRADING_GUARD")
            proc = subprocess.Popen(
                [sys.executable, "-m", "course.grading.worker"], cwd=tmp, env=worker_env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )
            try:
                out, err = proc.communicate(json.dumps(job).encode(), timeout=lim.budget + lim.timeout + 120)
            except subprocess.TimeoutExpired:
                _kill_tree(proc.pid)
                proc.communicate()
                return {"error": "the grading did not finish in time and was stopped"}
            _kill_tree(proc.pid)
            _kill_token(token)
            line = next((ln for ln in reversed(out.decode("utf-8", "replace").splitlines()) if ln.startswith(RESULT)), None)
            if line is None:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
                return {"error": f"the grader's worker gave no result ({tail[0][:300]})"}
            try:
                facts = json.loads(line[len(RESULT):])
            except json.JSONDecodeError:
                return {"error": "the grader's worker gave an unreadable result"}
            if facts.get("token") != token:
                return {"error": "the grader's worker result did not carry this grading's token"}
            if "error" not in facts and len(facts.get("steps", [])) != len(steps):
                return {"error": "the grader's worker reported the wrong number of cells"}
            return facts
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        procs = []
    try:
        os.killpg(pid, 9)
    except OSError:
        pass
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=3)


def _kill_token(token: str) -> None:
    import psutil

    for p in psutil.process_iter():
        try:
            if p.uids().real == os.getuid() and p.environ().get("COURSE_GRADING_TOKEN") == token:
                p.kill()
        except (psutil.Error, OSError):
            pass


# --- verdicts ----------------------------------------------------------------------------------------

def _frames(step: dict) -> list[tuple[int, int]]:
    text = _ANSI.sub("", "\n".join(step.get("traceback", [])))
    return [(int(a), int(b)) for a, b in _FRAME.findall(text)]


def _where(nb, plan_steps, facts, count_to_step, frame) -> str:
    count, line = frame
    pos = count_to_step.get(count)
    if pos is None:
        return ""
    step = plan_steps[pos]
    if step.kind != "learner" or step.cell is None:
        return ""
    lines = nb.cells[step.cell].source.splitlines()
    code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"in your cell {step.cell + 1}, line {line}" + (f": {code}" if code else "")


def _learner_frame(nb, plan_steps, facts, count_to_step, step_facts) -> str:
    """Where the learner's code raised (their cell and line), when the innermost notebook frame is theirs."""
    for frame in reversed(_frames(step_facts)):
        pos = count_to_step.get(frame[0])
        if pos is not None:
            return _where(nb, plan_steps, facts, count_to_step, frame)
    return ""


def verdicts(plan: ref.Plan, facts: list[dict], nb) -> list[TaskResult]:
    steps = plan.steps
    count_to_step = {f["execution_count"]: i for i, f in enumerate(facts) if f.get("execution_count") is not None}
    results = []
    previous = -1
    for task in plan.lesson.tasks:
        pos = next(i for i, s in enumerate(steps) if s.kind == "check" and s.task == task.id)
        own = [i for i in range(previous + 1, pos) if steps[i].kind == "learner" and steps[i].solution]
        previous = pos
        hidden = [i for i in range(pos + 1, len(steps)) if steps[i].kind == "hidden" and steps[i].task == task.id]
        status, message = _task_verdict(nb, plan, facts, count_to_step, own, pos, hidden)
        notes = plan.task_notes.get(task.id, [])
        if notes:
            message = "; ".join([m for m in [message] if m] + [f"note: {n}" for n in notes])
        results.append(TaskResult(task.id, task.points if status == PASSED else 0.0, task.points, status, message))
    return results


def _error_message(ename: str, evalue: str) -> str:
    return f"{ename}: {evalue}".strip().rstrip(":")


def _task_verdict(nb, plan, facts, count_to_step, own, pos, hidden) -> tuple[str, str]:
    steps = plan.steps
    for i in own + [pos]:
        f = facts[i]
        if f["status"] in ("timeout", "budget"):
            where = "the check" if i == pos else "your code"
            extra = f"; {f['reason']}" if f.get("reason") else ""
            if f["status"] == "budget":
                return TIMEOUT, f"{where} was running when the notebook used up its total time budget, and was stopped{extra}"
            return TIMEOUT, f"{where} ran past the time limit and was stopped (an endless loop?){extra}"
    check = facts[pos]
    if check["status"] in ("not_run", "died"):
        return NOT_RUN, check.get("reason") or "the check cell did not run"
    for i in own:
        f = facts[i]
        if f.get("cut"):
            return FAILED, "your code printed more than the output limit (--max-output) allows; the output was cut, so the task fails: print less"
        if f["status"] == "error":
            if f.get("ename") == "NotImplementedError":
                return ERROR, "not attempted yet: replace the `raise NotImplementedError()` stub"
            where = _learner_frame(nb, steps, facts, count_to_step, f)
            return ERROR, f"your code raised {_error_message(f['ename'], f['evalue'])}" + (f" ({where})" if where else "")
        if f["status"] not in ("ok",):
            return ERROR, f"your code did not finish ({f['status']})"
    status, message = _check_verdict(nb, steps, facts, count_to_step, check, "the check")
    if status != PASSED:
        return status, message
    for i in hidden:
        f = facts[i]
        if f["status"] in ("timeout", "budget"):
            return TIMEOUT, "a hidden check ran past the time limit and was stopped"
        if f["status"] in ("not_run", "died"):
            return NOT_RUN, f.get("reason") or "a hidden check did not run"
        status, message = _check_verdict(nb, steps, facts, count_to_step, f, "a hidden check")
        if status != PASSED:
            return status, f"hidden check: {message}"
    return PASSED, ""


def _check_verdict(nb, steps, facts, count_to_step, f, what) -> tuple[str, str]:
    if f.get("cut"):
        return FAILED, f"{what}'s output went past the output limit and was cut, so its result is not known: print less"
    if f["status"] == "ok":
        if f.get("marker"):
            return PASSED, ""
        return FAILED, f"{what} did not report success (its output was dropped or changed)"
    if f["status"] != "error":
        return ERROR, f"{what} did not finish ({f['status']})"
    ename, evalue = f.get("ename", "Error"), f.get("evalue", "")
    where = _learner_frame(nb, steps, facts, count_to_step, f)
    if ename == "NotImplementedError":
        return ERROR, "not attempted yet: replace the `raise NotImplementedError()` stub" + (f" ({where})" if where else "")
    if where and ename not in ("CheckFailed", "ForbiddenCall"):
        return ERROR, f"your code raised {_error_message(ename, evalue)} ({where}, called by {what})"
    if ename in _CHECK_ERRORS:
        return FAILED, evalue or "a check failed"
    return ERROR, f"{what} raised {_error_message(ename, evalue)}"
