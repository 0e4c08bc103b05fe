"""course.distributed: bounded waits, clear errors, nothing left running.

The workers below are module-level functions on purpose: mp.spawn's new processes import them
by module and name (this test module is on their sys.path, which spawn passes on).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from course import distributed as d


def crash_worker(rank: int) -> None:
    if rank == 1:
        raise ValueError("planted failure in the test worker")


def hang_worker(rank: int, pid_dir: str) -> None:
    (Path(pid_dir) / f"{rank}.pid").write_text(str(os.getpid()))
    time.sleep(3600)


def ok_worker(rank: int, out_dir: str) -> None:
    (Path(out_dir) / f"rank{rank}.json").write_text(f'{{"rank": {rank}}}')


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of ours may linger as a zombie until reaped: count that as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_free_port_can_be_bound():
    port = d.free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_first_traceback_extracts_the_block():
    log = "noise\nTraceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\nValueError: bad\nlater\n"
    assert d.first_traceback(log) == "Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\n    boom()\nValueError: bad"
    assert d.first_traceback("no traceback here") == ""


def test_spawn_refuses_a_worker_defined_in_main_or_locally():
    def local_worker(rank):  # pragma: no cover - never runs
        pass

    with pytest.raises(d.WorkerError, match="cannot import it"):
        d.spawn(local_worker)
    main_like = lambda rank: None  # noqa: E731
    main_like.__module__ = "__main__"
    with pytest.raises(d.WorkerError, match="__main__"):
        d.spawn(main_like)


@pytest.mark.parametrize("kwargs, text", [({"nprocs": 0}, "nprocs"), ({"timeout": 0}, "timeout"), ({"timeout": "5"}, "timeout")])
def test_spawn_bad_arguments(kwargs, text):
    with pytest.raises(ValueError, match=text):
        d.spawn(ok_worker, args=("/nonexistent",), **kwargs)


def test_spawn_runs_and_collect_reads_rank_order(tmp_path):
    d.spawn(ok_worker, args=(str(tmp_path),), nprocs=2, timeout=60)
    assert d.collect(tmp_path, 2) == [{"rank": 0}, {"rank": 1}]


def test_spawn_crash_names_rank_and_shows_the_traceback():
    with pytest.raises(d.WorkerError) as info:
        d.spawn(crash_worker, nprocs=2, timeout=60)
    msg = str(info.value)
    assert "test_distributed.crash_worker raised on rank 1" in msg
    assert "ValueError: planted failure in the test worker" in msg


def test_spawn_hang_is_bounded_and_kills_every_rank(tmp_path):
    with pytest.raises(d.WorkerError, match=r"did not finish within 8 s \(ranks still running: \[0, 1\]\)"):
        d.spawn(hang_worker, args=(str(tmp_path),), nprocs=2, timeout=8)
    # On a loaded machine the workers may still be importing torch when the time is up: then no pid
    # file exists, so also check that this process has no child left at all.
    pids = [int(p.read_text()) for p in sorted(tmp_path.glob("*.pid"))]
    pids += [c.pid for c in psutil.Process().children(recursive=True) if "spawn" in " ".join(c.cmdline())]
    assert all(_wait_gone(pid) for pid in pids)
    assert not [c for c in psutil.Process().children(recursive=True) if c.is_running() and c.status() != psutil.STATUS_ZOMBIE and "spawn" in " ".join(c.cmdline())]


def test_collect_names_missing_ranks(tmp_path):
    (tmp_path / "rank0.json").write_text("{}")
    with pytest.raises(d.WorkerError, match=r"rank\(s\) \[1, 2\]"):
        d.collect(tmp_path, 3)


def test_launch_returns_logs_with_one_thread_and_course_importable():
    code = "import os, course; print(os.environ['OMP_NUM_THREADS'], course.__name__, os.environ['EXTRA'])"
    logs = d.launch([[sys.executable, "-c", code], [sys.executable, "-c", "print('second')"]], timeout=60, env={"EXTRA": "x"})
    assert logs[0].split() == ["1", "course", "x"]
    assert logs[1].strip() == "second"


def test_launch_bad_arguments():
    with pytest.raises(ValueError, match="non-empty"):
        d.launch([])
    with pytest.raises(ValueError, match="names"):
        d.launch([["true"]], names=["a", "b"])
    with pytest.raises(ValueError, match="timeout"):
        d.launch([["true"]], timeout=-1)


def test_launch_crash_shows_traceback_and_kills_the_others(tmp_path):
    pid_file = tmp_path / "other.pid"
    waiter = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(3600)"
    crasher = "import time; time.sleep(0.5); print('setting up'); raise ValueError('planted failure in a command')"
    with pytest.raises(d.WorkerError) as info:
        d.launch([[sys.executable, "-c", waiter], [sys.executable, "-c", crasher]], timeout=120, names=["node 0", "node 1"])
    msg = str(info.value)
    assert msg.startswith("node 1 exited with code 1")
    assert "ValueError: planted failure in a command" in msg and "setting up" in msg
    assert _wait_gone(int(pid_file.read_text()))


def test_launch_hang_is_bounded_and_kills_the_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    cmd = ["bash", "-c", f"echo waiting; sleep 3600 & echo $! > {pid_file}; wait"]
    with pytest.raises(d.WorkerError, match=r"hanger did not finish within 2 s and was killed") as info:
        d.launch([cmd], timeout=2, names=["hanger"])
    assert "waiting" in str(info.value)
    assert _wait_gone(int(pid_file.read_text())), "the command's own child process survived"


def test_torchrun_crash_reaches_the_caller_with_the_workers_error(tmp_path):
    argv = d.torchrun_argv("--standalone", "--nproc_per_node=2", "-m", "course.distributed", "crash", "--out", str(tmp_path))
    with pytest.raises(d.WorkerError) as info:
        d.launch([argv], timeout=120, names=["torchrun crash"])
    msg = str(info.value)
    assert msg.startswith("torchrun crash exited with code 1")
    assert "ValueError: planted failure on rank 1" in msg


def test_module_refuses_to_run_outside_torchrun(tmp_path):
    with pytest.raises(d.WorkerError, match="RANK is not set"):
        d.launch([[sys.executable, "-m", "course.distributed", "hello", "--out", str(tmp_path)]], timeout=60)


def test_root_cause_prefers_torchruns_root_cause_rank():
    log = (
        "[rank0]: Traceback (most recent call last):\n[rank0]:   File \"a.py\", line 1, in <module>\n"
        "[rank0]: RuntimeError: Connection reset by peer\n"
        "[rank1]: Traceback (most recent call last):\n[rank1]:   File \"a.py\", line 2, in <module>\n"
        "[rank1]: ValueError: the real bug\n"
        "Traceback (most recent call last):\n  File \"run.py\", line 9\nChildFailedError:\n"
        "Root Cause (first observed failure):\n[0]:\n  time      : now\n  rank      : 1 (local_rank: 1)\n"
    )
    assert d.root_cause(log).splitlines()[0] == "(rank 1)"
    assert d.root_cause(log).endswith("ValueError: the real bug")
    assert d.root_cause(log.replace("Root Cause", "Something")).endswith("ValueError: the real bug")
    # torchrun may name the rank whose connection broke as the root cause: its own error still wins
    assert d.root_cause(log.replace("rank      : 1", "rank      : 0")).endswith("ValueError: the real bug")
    only_consequence = "\n".join(l for l in log.splitlines() if not l.startswith("[rank1]"))
    assert d.root_cause(only_consequence).endswith("Connection reset by peer")


def _abort_once(tmp_path):
    """A script that dies by SIGABRT the first time it runs and succeeds the next."""
    marker, script = tmp_path / "aborted-once", tmp_path / "abort_once.py"
    script.write_text(
        "import os, pathlib, sys\n"
        f"marker = pathlib.Path({str(marker)!r})\n"
        "if not marker.exists():\n"
        "    marker.write_text('x')\n"
        "    print('terminate called after throwing an instance of gloo::IoException', file=sys.stderr, flush=True)\n"
        "    os.abort()\n"
        "print('second run fine')\n"
    )
    return script


def test_launch_retries_a_job_killed_by_a_signal_and_says_how_many_attempts(tmp_path):
    logs = d.launch([[sys.executable, str(_abort_once(tmp_path))]], timeout=60, retries=1)
    assert "second run fine" in logs[0] and d.launch.attempts == 2


def test_launch_without_retries_reports_the_abort_and_its_cpp_error(tmp_path):
    with pytest.raises(d.WorkerError) as info:
        d.launch([[sys.executable, str(_abort_once(tmp_path))]], timeout=60, names=["aborter"])
    assert info.value.signalled and str(info.value).startswith("aborter exited with code -6")
    assert "C++ errors in its log:\nterminate called after throwing" in str(info.value)


def test_torchrun_worker_abort_is_retried_but_a_python_error_never_is(tmp_path):
    argv = d.torchrun_argv("--standalone", "--nproc_per_node=1", str(_abort_once(tmp_path)))
    logs = d.launch([argv], timeout=120, names=["torchrun abort once"], retries=1)
    assert d.launch.attempts == 2 and "second run fine" in logs[0]
    crash = d.torchrun_argv("--standalone", "--nproc_per_node=2", "-m", "course.distributed", "crash", "--out", str(tmp_path))
    with pytest.raises(d.WorkerError) as info:
        d.launch([crash], timeout=120, names=["torchrun crash"], retries=2)
    assert d.launch.attempts == 1 and not info.value.signalled
    with pytest.raises(ValueError, match="retries"):
        d.launch([["true"]], retries=-1)
