"""What a grading produces: one :class:`TaskResult` per task of the course's exercise, in a :class:`Report`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, ERROR, TIMEOUT, NOT_RUN = "passed", "failed", "error", "timed out", "not run"
# A report's status: graded (scores count), or why it could not be graded / must not count.
GRADED, REFUSED, CRASHED, TAMPERED = "graded", "not graded", "grader failed", "tampered"


class GradingInputError(ValueError):
    """The input given to the grader cannot be graded; the message says why and what to do."""


@dataclass
class TaskResult:
    task: str
    points: float
    max_points: float
    status: str
    message: str = ""


@dataclass
class Report:
    notebook: str
    lesson: str = ""
    student: str = ""
    tasks: list[TaskResult] = field(default_factory=list)
    seconds: float = 0.0
    status: str = GRADED
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(t.points for t in self.tasks)

    @property
    def max_score(self) -> float:
        return sum(t.max_points for t in self.tasks)

    def to_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "lesson": self.lesson,
            "student": self.student,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "seconds": round(self.seconds, 1),
            "notes": list(self.notes),
            "tasks": [asdict(t) for t in self.tasks],
        }

    def table(self) -> str:
        rows = [(t.task, t.status, f"{t.points:g}/{t.max_points:g}", t.message) for t in self.tasks]
        head = ("task", "result", "points", "details")
        widths = [max(len(head[i]), *(len(r[i]) for r in rows)) if rows else len(head[i]) for i in range(3)]
        title = f"Grading {self.notebook}" + (f" (lesson {self.lesson})" if self.lesson else "")
        lines = [title]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
        lines.append(fmt.format(*head))
        lines.append(fmt.format(*("-" * w for w in widths), "-------"))
        lines += [fmt.format(*r) for r in rows]
        lines += [f"Note: {n}" for n in self.notes]
        if self.status != GRADED:
            lines.append(f"Status: {self.status}")
        lines.append(f"Total: {self.score:g} / {self.max_score:g} points ({self.seconds:.1f} s)")
        return "\n".join(lines)

    def feedback(self) -> str:
        """Plain-text feedback for the learner: readable without Jupyter."""
        who = f" for {self.student}" if self.student else ""
        lines = [f"Feedback{who}: {self.notebook}" + (f" (lesson {self.lesson})" if self.lesson else ""), ""]
        if self.status != GRADED:
            lines += [f"Status: {self.status}", ""]
        for n in self.notes:
            lines.append(f"Note: {n}")
        if self.notes:
            lines.append("")
        for t in self.tasks:
            lines.append(f"Task {t.task}: {t.status}, {t.points:g} of {t.max_points:g} points")
            if t.message:
                lines += [f"    {line}" for line in t.message.splitlines()]
        lines += ["", f"Total: {self.score:g} / {self.max_score:g} points"]
        return "\n".join(lines) + "\n"
