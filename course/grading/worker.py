"""Runs one submission's plan in a fresh kernel and reports, per step, what the kernel replied.

``python -m course.grading.worker`` reads a job (JSON) on stdin and writes one result line on
stdout, after the kernel and every process it started are gone. It runs in the submission's
temporary folder, as a child subreaper (Linux), so a process the notebook detaches from its
parent is still found and ended. The verdicts are made by the grader from these facts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

RESULT = "COURSE-GRADING-RESULT "
_POLL = 0.05
_GRACE = 5.0  # seconds a cell gets to answer an interrupt before its kernel is killed


def _subreaper() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except Exception:
            pass


def _kernel_manager_class(limits: dict):
    from jupyter_client import KernelManager

    class LimitedKernelManager(KernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, "-m", "course.grading.guard", json.dumps(limits), "--", *cmd]

    return LimitedKernelManager


def kill_everything(token: str) -> int:
    """End every descendant of this process, and any process carrying this grading's token."""
    import psutil

    me = psutil.Process()
    killed = 0
    for _ in range(20):
        found = me.children(recursive=True)
        for p in psutil.process_iter():
            if p.pid == me.pid or p in found:
                continue
            try:
                if p.uids().real == os.getuid() and p.environ().get("COURSE_GRADING_TOKEN") == token:
                    found.append(p)
            except (psutil.Error, OSError):
                pass
        if not found:
            break
        for p in found:
            try:
                p.kill()
                killed += 1
            except psutil.Error:
                pass
        psutil.wait_procs(found, timeout=2)
        try:  # reap orphans handed to us as subreaper
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
    return killed


def _capped_context(max_bytes: int):
    """A zmq context whose IOPub socket refuses a message over ``max_bytes`` (the worker's memory
    stays bounded however much a cell prints at once; the dropped output fails the cell)."""
    import zmq

    class CappedContext(zmq.Context):
        def socket(self, socket_type, *args, **kwargs):
            sock = super().socket(socket_type, *args, **kwargs)
            if socket_type == zmq.SUB:
                sock.setsockopt(zmq.MAXMSGSIZE, max_bytes)
            return sock

    return CappedContext()


class Runner:
    def __init__(self, job: dict):
        self.job = job
        self.km = None
        self.kc = None
        self.dead = ""  # why the kernel is gone, once it is

    def start(self) -> None:
        import psutil  # noqa: F401  (fail early if missing)

        limits = self.job["limits"]
        km_class = _kernel_manager_class(limits["kernel"])
        self.km = km_class(kernel_name=self.job["kernel"])
        env = dict(self.job["env"])
        self.km.start_kernel(cwd=self.job["cwd"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        self.kc = self.km.client()
        self.kc.context = _capped_context(int(limits["output_bytes"]) + 2**20)
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.job["startup_timeout"])

    def tree(self):
        import psutil

        try:
            root = psutil.Process(self.km.provisioner.pid)
            return [root, *root.children(recursive=True)]
        except (psutil.Error, AttributeError, TypeError):
            return []

    def kill(self, why: str) -> None:
        if not self.dead:
            self.dead = why
        try:
            pgid = os.getpgid(self.km.provisioner.pid)
            os.killpg(pgid, signal.SIGKILL)
        except Exception:
            pass
        kill_everything(self.job["token"])

    def _reconnect_iopub(self) -> None:
        """After a refused (oversized) message zmq may not deliver again: new IOPub socket."""
        try:
            self.kc.iopub_channel.close()
            self.kc._iopub_channel = None
            _ = self.kc.iopub_channel  # created and connected anew
            self.kc.iopub_channel.start()
            time.sleep(0.3)  # a SUB socket misses what is published before it has subscribed
        except Exception:
            pass

    def over_limits(self) -> str:
        procs = self.tree()
        limit = self.job["limits"]
        if len(procs) > limit["max_processes"]:
            return f"the notebook started more than {limit['max_processes']} processes"
        rss = 0
        for p in procs:
            try:
                rss += p.memory_info().rss
            except Exception:
                pass
        if rss > limit["memory_bytes"]:
            return f"the notebook used {rss // 2**20} MB of memory, more than the limit of {limit['memory_bytes'] // 2**20} MB"
        return ""

    def run_step(self, source: str, marker: str, timeout: float, deadline: float) -> dict:
        out = {"status": "not_run"}
        if self.dead:
            out["reason"] = self.dead
            return out
        limit = self.job["limits"]["output_bytes"]
        msg_id = self.kc.execute(source, store_history=True, allow_stdin=False, stop_on_error=False)
        start = time.monotonic()
        cell_deadline = min(start + timeout, deadline)
        reply = None
        idle = False
        size = 0
        text: list[str] = []
        kept = 0
        tail = ""
        seen_marker = False
        cut = False
        interrupted_for = ""
        errors = []
        last_check = 0.0
        replied_at = None
        while not (reply is not None and idle):
            now = time.monotonic()
            if replied_at is not None and now - replied_at > 3.0:
                cut = True  # the reply came but its output never finished arriving: it was dropped
                self._reconnect_iopub()
                break
            if now >= cell_deadline:
                if not interrupted_for:
                    interrupted_for = "budget" if deadline <= start + timeout else "timeout"
                    try:
                        self.km.interrupt_kernel()
                    except Exception:
                        pass
                    cell_deadline = now + _GRACE
                else:
                    self.kill(f"the kernel was stopped: a cell ignored the interrupt after running past the {'time budget' if interrupted_for == 'budget' else 'time limit'}")
                    break
            if now - last_check > 0.5:
                last_check = now
                if not self.km.is_alive():
                    self.dead = "the kernel died (it crashed, ran out of memory or was killed)"
                    break
                over = self.over_limits()
                if over:
                    self.kill(f"the kernel was stopped: {over}")
                    break
            try:
                msg = self.kc.get_iopub_msg(timeout=_POLL)
            except Exception:
                msg = None
            if msg is not None and msg.get("parent_header", {}).get("msg_id") == msg_id:
                kind = msg["msg_type"]
                content = msg.get("content", {})
                if kind == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif kind == "stream":
                    chunk = content.get("text", "")
                    size += len(chunk)
                    window = tail + chunk
                    if marker and marker in window:
                        seen_marker = True
                    tail = window[-len(marker) * 2:] if marker else ""
                    if kept < 4000:
                        text.append(chunk[: 4000 - kept])
                        kept += len(text[-1])
                elif kind in ("execute_result", "display_data", "update_display_data"):
                    data = content.get("data", {})
                    size += sum(len(json.dumps(v)) if not isinstance(v, str) else len(v) for v in data.values())
                    plain = data.get("text/plain", "")
                    if kept < 4000 and isinstance(plain, str):
                        text.append(plain[: 4000 - kept] + "\n")
                        kept += len(text[-1])
                elif kind == "error":
                    errors.append(content)
                if size > limit and not cut:
                    cut = True
                    try:  # stop the flood; the step fails either way
                        self.km.interrupt_kernel()
                    except Exception:
                        pass
            if reply is None:
                try:
                    while self.kc.shell_channel.msg_ready():
                        m = self.kc.get_shell_msg(timeout=0)
                        if m.get("parent_header", {}).get("msg_id") == msg_id:
                            reply = m["content"]
                            replied_at = time.monotonic()
                except Exception:
                    pass
        out["seconds"] = round(time.monotonic() - start, 3)
        out["output"] = "".join(text).replace(marker + "\n", "").replace(marker, "") if marker else "".join(text)
        out["output_bytes"] = size
        out["cut"] = cut
        out["marker"] = seen_marker
        if interrupted_for:
            out["status"] = interrupted_for
            if self.dead:
                out["reason"] = self.dead
            return out
        if reply is None:
            out["status"] = "died"
            out["reason"] = self.dead
            return out
        out["status"] = reply.get("status", "error")
        out["execution_count"] = reply.get("execution_count")
        if out["status"] == "error":
            out["ename"] = str(reply.get("ename", "Error"))[:200]
            out["evalue"] = str(reply.get("evalue", ""))[:2000]
            out["traceback"] = [str(t)[:4000] for t in reply.get("traceback", [])[-40:]]
        return out

    def run(self) -> dict:
        job = self.job
        started = time.monotonic()
        results = []
        from course.run import retry_kernel_start

        def start_or_clean_up() -> None:
            try:
                self.start()
            except Exception:
                self.kill("")
                self.dead = ""
                raise

        # A kernel that dies at start (with several graders at once, another kernel took its
        # port) is the machine's race, not the learner's: course.run.retry_kernel_start tries again.
        try:
            retry_kernel_start(start_or_clean_up)()
        except Exception as err:
            return {"error": f"the kernel did not start ({type(err).__name__}: {str(err)[:300]})", "steps": []}
        deadline = time.monotonic() + job["budget"]  # the budget counts the notebook's cells, not the start-up
        for step in job["steps"]:
            results.append(self.run_step(step["source"], step.get("marker", ""), job["timeout"], deadline))
            if time.monotonic() >= deadline and not self.dead:
                self.dead = f"the notebook used up its time budget of {job['budget']:g} s"
        for extra in (self.kc.stop_channels,):
            try:
                extra()
            except Exception:
                pass
        self.kill(self.dead)
        return {"steps": results, "seconds": round(time.monotonic() - started, 3)}


def main() -> None:
    job = json.loads(sys.stdin.read())
    _subreaper()
    try:
        result = Runner(job).run()
    except Exception as err:  # the grader's own failure: reported, never a pass
        result = {"error": f"{type(err).__name__}: {str(err)[:300]}", "steps": []}
    kill_everything(job["token"])
    import resource

    result["worker_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    result["token"] = job["token"]
    sys.stdout.write("\n" + RESULT + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
