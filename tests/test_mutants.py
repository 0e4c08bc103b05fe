"""Every exercise check proves itself: plausible wrong answers fail, a different right answer passes.

For each solution notebook ``solutions/NN_topic.ipynb`` the file ``tests/mutants/NN_topic.py``
holds a list ``MUTANTS`` of dicts (data, not code to run here)::

    {"task": "t2-standardize",      # grade_id of the check cell
     "cell": "t2-code",             # grade_id of the solution cell the answer replaces
     "kind": "wrong",               # "wrong" must fail, "right" must pass
     "name": "std with Bessel's correction",
     "code": "def standardize(x, eps=1e-8): ...",   # the whole replacement cell
     "message": "not close"}        # wrong only: text the check's message must contain

The notebook runs once, top to bottom, in one kernel. Then for each mutant the replacement cell
runs, followed by every cell after it up to and including the task's check cell; the check's
verdict is read from the kernel's reply (status, exception name and message). The original cells
run again afterwards, so one mutant never leaks into the next; where they no longer pass (the answer
changed state an earlier cell made), the kernel is restarted and the notebook run again. A wrong answer must fail with
``CheckFailed`` (a check that names the mistake; ``ename`` overrides it where the learner's own
code must raise) whose message contains ``message`` (case-insensitive). Each task needs at least
three wrong answers and one right one (``test_every_task_has_mutants``).
"""

from __future__ import annotations

import importlib.util
import os
import queue
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from course.run import reference_env, retry_kernel_start

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
MUTANT_DIR = Path(__file__).resolve().parent / "mutants"
MIN_WRONG, MIN_RIGHT = 3, 1
CELL_TIMEOUT = 300


def load_mutants(stem: str) -> list[dict]:
    path = MUTANT_DIR / f"{stem}.py"
    if not path.is_file():
        return []
    spec = importlib.util.spec_from_file_location(f"mutants_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.MUTANTS)


def grade_ids(nb) -> dict[str, int]:
    return {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata}


def check_ids(nb) -> list[str]:
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _start_kernel(cwd: str, env: dict) -> tuple[KernelManager, object]:
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=cwd, env=env)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
    except RuntimeError:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        raise
    return km, kc


class Kernel:
    """One kernel that has run the whole solution notebook."""

    def __init__(self, nb_path: Path):
        self.nb = nbformat.read(nb_path, as_version=4)
        self.ids = grade_ids(self.nb)
        self.path = nb_path
        self.start()

    def start(self):
        """A fresh kernel that has run every code cell of the solution notebook.

        A kernel that dies at start (another worker's kernel took its port) is started again
        (``course.run.retry_kernel_start``); a notebook cell that fails is not retried.
        """
        env = {**reference_env(), "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.km, self.kc = retry_kernel_start(_start_kernel)(cwd=str(self.path.parent), env=env)
        for i, cell in enumerate(self.nb.cells):
            if cell.cell_type == "code":
                reply = self.run(cell.source)
                assert reply["status"] == "ok", f"{self.path.name} cell {i} failed: {reply.get('ename')}: {reply.get('evalue')}"

    def run(self, code: str) -> dict:
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = self.kc.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=hook, allow_stdin=False)
        content = dict(reply["content"])
        content["stdout"] = "".join(out)
        return content

    def try_answer(self, cell_id: str, task: str, code: str) -> dict:
        """Run ``code`` in place of cell ``cell_id``, then the cells up to the check ``task``; restore."""
        start, stop = self.ids[cell_id], self.ids[task]
        assert start < stop, f"solution cell {cell_id} must come before check cell {task}"
        sources = [c.source for c in self.nb.cells[start + 1 : stop + 1] if c.cell_type == "code"]
        result = self.run(code)
        if result["status"] == "ok":
            for src in sources:
                result = self.run(src)
                if result["status"] != "ok":
                    break
        restored = [self.run(src) for src in [self.nb.cells[start].source, *sources]]  # back to the solution's state
        if any(r["status"] != "ok" for r in restored):
            # The answer changed state that an earlier cell made (a set-up tensor modified in
            # place): only the whole notebook brings it back. The next mutant, whichever it is
            # (xdist decides the order), starts from the solution's state.
            self.close()
            self.start()
        return result

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


_kernels: dict[str, Kernel] = {}


@pytest.fixture(scope="session", autouse=True)
def _close_kernels():
    yield
    for k in _kernels.values():
        k.close()


def kernel_for(stem: str) -> Kernel:
    if stem not in _kernels:
        _kernels[stem] = Kernel(SOLUTIONS / f"{stem}.ipynb")
    return _kernels[stem]


def _cases():
    for nb_path in sorted(SOLUTIONS.glob("*.ipynb")):
        for m in load_mutants(nb_path.stem):
            yield pytest.param(nb_path.stem, m, id=f"{nb_path.stem}::{m['task']}::{m['kind']}::{m['name']}")


@pytest.mark.grading
@pytest.mark.parametrize("stem, mutant", list(_cases()))
def test_mutant(stem, mutant):
    k = kernel_for(stem)
    result = k.try_answer(mutant["cell"], mutant["task"], mutant["code"])
    if mutant["kind"] == "right":
        assert result["status"] == "ok", (
            f"a correct answer written differently ({mutant['name']}) fails the check: "
            f"{result.get('ename')}: {result.get('evalue')}"
        )
        assert "✅" in result["stdout"], f"the check printed no pass line for {mutant['name']}"
        return
    assert mutant["kind"] == "wrong", mutant
    assert result["status"] == "error", f"the wrong answer {mutant['name']!r} passed the check of {mutant['task']}"
    want_ename = mutant.get("ename", "CheckFailed")
    assert result["ename"] in {want_ename, "ForbiddenCall"} if want_ename == "CheckFailed" else result["ename"] == want_ename, (
        f"the wrong answer {mutant['name']!r} failed with {result['ename']}: {result['evalue']} "
        f"instead of a check message ({want_ename})"
    )
    assert mutant["message"].lower() in result["evalue"].lower(), (
        f"the wrong answer {mutant['name']!r} failed, but the message does not name the mistake "
        f"(expected it to contain {mutant['message']!r}): {result['evalue']}"
    )


@pytest.mark.parametrize("nb_path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_task_has_mutants(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    mutants = load_mutants(nb_path.stem)
    ids = grade_ids(nb)
    for m in mutants:
        assert m["task"] in ids and m["cell"] in ids, f"{nb_path.stem}: mutant {m['name']!r} names an unknown cell"
        assert m["kind"] in {"wrong", "right"}, m
        assert m["kind"] == "right" or m.get("message"), f"wrong answer {m['name']!r} needs the message it must produce"
    missing = []
    for task in check_ids(nb):
        wrong = sum(1 for m in mutants if m["task"] == task and m["kind"] == "wrong")
        right = sum(1 for m in mutants if m["task"] == task and m["kind"] == "right")
        if wrong < MIN_WRONG or right < MIN_RIGHT:
            missing.append(f"{task} ({wrong} wrong, {right} right)")
    assert not missing, f"{nb_path.stem}: tasks without enough mutants in tests/mutants/{nb_path.stem}.py: {', '.join(missing)}"
