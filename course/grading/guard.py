"""Limits for a kernel that runs a submission: OS resource limits, and a guard on the course's files.

Runs inside the kernel's process, before the kernel starts (``python -m course.grading.guard``
wraps the kernel's command line). It must not import torch or anything slow.

* ``resource.setrlimit``: address space, CPU seconds, size of a file written, processes, no core files.
* A Python audit hook (it cannot be removed once added) refuses to open, list, rename or delete
  anything under the protected folders: the answer key (``solutions/``), the course's own
  package and exercises, the hidden checks, the other submissions and the grader's reports.
  A ``sitecustomize`` in the kernel's path adds the same hook to every Python process the
  notebook starts. It stops Python code; a program in another language that the notebook starts
  (``cat``, ``sh``) is not stopped by it: the README says what a determined student can still do.
"""

from __future__ import annotations

import json
import os
import sys

ENV = "COURSE_GRADING_GUARD"
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {
    "os.listdir", "os.scandir", "os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.chown",
    "os.mkdir", "os.utime", "shutil.rmtree", "os.chdir", "glob.glob",
}
_TWO_PATH_EVENTS = {"os.rename", "os.replace", "os.link", "os.symlink", "shutil.copyfile", "shutil.move", "shutil.copytree"}


def set_limits(limits: dict) -> None:
    import resource

    def cap(which, value):
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 5))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_AS, limits.get("address_space"))
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_size"))
    cap(resource.RLIMIT_CORE, 0)
    if limits.get("processes"):
        # RLIMIT_NPROC counts every process and thread of this user, so it is set above the count now.
        try:
            import psutil

            mine = sum(p.num_threads() for p in psutil.process_iter() if _same_user(p))
        except Exception:
            mine = 0
        cap(resource.RLIMIT_NPROC, mine + int(limits["processes"]))


def _same_user(p) -> bool:
    try:
        return p.uids().real == os.getuid()
    except Exception:
        return False


def install_guard(protected: list[str]) -> None:
    """Refuse access to anything under the ``protected`` folders (an audit hook, for good)."""
    roots = tuple(os.path.join(os.path.realpath(p), "") for p in protected if p)
    exact = tuple(os.path.realpath(p) for p in protected if p)
    if not roots:
        return
    busy = [False]

    def blocked(path) -> bool:
        if isinstance(path, int) or path is None:
            return False
        try:
            path = os.fsdecode(path)
        except Exception:
            return False
        busy[0] = True
        try:
            real = os.path.realpath(path)
        finally:
            busy[0] = False
        return real in exact or real.startswith(roots)

    def hook(event, args):
        if busy[0]:
            return
        if event == "open" or event in _PATH_EVENTS:
            if args and blocked(args[0]):
                raise PermissionError(f"the grader keeps {args[0]!r} away from the notebook being graded")
        elif event in _TWO_PATH_EVENTS:
            if any(blocked(a) for a in args[:2]):
                raise PermissionError("the grader keeps the course's files away from the notebook being graded")

    sys.addaudithook(hook)


def from_env() -> None:
    """Used by the kernel's ``sitecustomize``: every Python the notebook starts gets the guard."""
    spec = os.environ.get(ENV)
    if spec:
        try:
            install_guard(json.loads(spec).get("protected", []))
        except Exception:
            pass


def main() -> None:
    # python -m course.grading.guard LIMITS_JSON -- KERNEL COMMAND...
    limits = json.loads(sys.argv[1])
    argv = sys.argv[sys.argv.index("--") + 1:]
    set_limits(limits)
    install_guard(limits.get("protected", []))
    if len(argv) >= 3 and argv[1:3] == ["-m", "ipykernel_launcher"]:
        import runpy

        sys.argv = [argv[0], *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
    else:  # another kernel: the limits still hold after exec, the audit hook does not
        os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
