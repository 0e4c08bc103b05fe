"""Start distributed workers from a notebook with a bounded wait, and the workers lesson 09 runs.

``mp.spawn`` and ``torchrun`` start fresh Python processes, which must *import* the worker by
name: a function defined in a notebook lives in ``__main__`` of the kernel and cannot be found
there. So the lesson's workers live in this module, and the lesson prints their source
(``inspect.getsource``) so that nothing is hidden.

Launching:

- :func:`free_port` asks the operating system for a free TCP port on 127.0.0.1;
- :func:`spawn` runs ``worker(rank, *args)`` in ``nprocs`` processes via ``mp.spawn`` and waits
  at most ``timeout`` seconds;
- :func:`launch` runs one or more commands (``torchrun ...``) side by side, each in its own
  process group, with ``OMP_NUM_THREADS=1``, and waits at most ``timeout`` seconds;
- both raise :class:`WorkerError` naming the worker, with the first traceback and the last
  lines of its log, when a worker crashes or does not finish (its processes are killed).

Running ``python -m course.distributed TASK --out DIR`` (what ``torchrun`` starts in each process)
runs one of :data:`TASKS`; results go to ``DIR`` as JSON and ``torch.save`` files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

# The training run every launcher repeats (and the lesson repeats in one process).
N_SAMPLES = 64  # data set size
BATCH = 4  # micro-batch per rank
ACCUM = 2  # micro-batches per optimizer step (gradient accumulation)
EPOCHS = 2
LR = 0.1
SEED = 0

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


class WorkerError(RuntimeError):
    """A distributed worker crashed or did not finish in time; the message holds its log.

    ``signalled`` is True when a process was killed by a signal (torchrun reports its worker's
    ``exitcode: -6`` for SIGABRT) rather than failing with an error of its own.
    """

    def __init__(self, message: str, signalled: bool = False):
        super().__init__(message)
        self.signalled = signalled


# --------------------------------------------------------------------------------------------
# Launching
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the operating system picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def first_traceback(text: str) -> str:
    """The first Python traceback in a log (up to and including its exception line), or ''."""
    rows = text.splitlines()
    for i, row in enumerate(rows):
        if row.lstrip().startswith("Traceback (most recent call last)"):
            indent = len(row) - len(row.lstrip())
            out = [row[indent:]]
            for nxt in rows[i + 1 :]:
                out.append(nxt[indent:] if nxt[:indent].strip() == "" else nxt)
                body = nxt[indent:]
                if body and not body.startswith(" ") and not body.startswith("Traceback"):
                    break  # the exception line ends the block
            return "\n".join(out)
    return ""


def root_cause(log: str) -> str:
    """The traceback that explains a failed launch: torchrun's "Root Cause" rank's, else the first one.

    torchrun prefixes each worker's lines with ``[rankN]:``; the other ranks' tracebacks are usually
    consequences (a broken connection to the rank that died), and torchrun's own ends in
    ``ChildFailedError``, so neither is what the learner needs to read.
    """
    per_rank: dict[str, list[str]] = {}
    for row in log.splitlines():
        m = re.match(r"^\[rank(\d+)\]:(?: (.*))?$", row)
        if m:
            per_rank.setdefault(m.group(1), []).append(m.group(2) or "")
    cause = re.search(r"Root Cause.*?\n\s*rank\s*:\s*(\d+)", log, re.S)
    order = ([cause.group(1)] if cause else []) + sorted(per_rank)
    found = [(rank, tb) for rank in order if (tb := first_traceback("\n".join(per_rank.get(rank, []))))]
    # torchrun's "root cause" is the first rank it saw fail, which may be one whose collective broke
    # because another rank died: prefer a traceback that is not such a consequence.
    own = [(rank, tb) for rank, tb in found if not _CONSEQUENCE.search(tb.splitlines()[-1])]
    for rank, tb in own or found:
        return f"(rank {rank})\n{tb}"
    return first_traceback(log)


_SIGNAL_EXIT = re.compile(r"exitcode\s*:\s*-\d+")


def _worker_traceback(log: str) -> bool:
    """Whether a worker (a ``[rankN]:`` line) printed a Python traceback of its own."""
    return any(re.match(r"^\[rank\d+\]: Traceback \(most recent call last\)", row) for row in log.splitlines())


_CONSEQUENCE = re.compile(r"Connection (reset|closed)|gloo/transport|DistBackendError|NCCL communicator|aborted|SIGTERM|timed out", re.I)


def spawn(worker: Callable[..., Any], args: Sequence[Any] = (), nprocs: int = 2, timeout: float = 60.0) -> None:
    """Run ``worker(rank, *args)`` for ``rank`` in ``0..nprocs-1`` with ``torch.multiprocessing.spawn``.

    Waits at most ``timeout`` seconds. A worker that raises, exits with an error or does not
    finish in time ends every process and raises :class:`WorkerError` that names the worker
    and shows the end of its traceback. The worker must be importable (defined in a module, not
    in a notebook): the new processes find it by its module and name.
    """
    import torch.multiprocessing as mp

    if not callable(worker):
        raise TypeError(f"worker must be a function, got {type(worker).__name__}")
    name = getattr(worker, "__qualname__", repr(worker))
    module = getattr(worker, "__module__", None)
    if module in (None, "__main__") or "<locals>" in name:
        raise WorkerError(
            f"worker {name!r} is defined in {module or 'no module'}, so the new processes cannot import it "
            "(mp.spawn pickles functions by module and name). Put it in a .py file on sys.path "
            "and import it from there."
        )
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"nprocs must be a positive int, got {nprocs!r}")
    timeout = _check_timeout(timeout)
    label = f"{module}.{name}"
    context = mp.spawn(worker, args=tuple(args), nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=max(0.05, min(0.5, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                alive = [i for i, p in enumerate(context.processes) if p.is_alive()]
                raise WorkerError(
                    f"worker {label} did not finish within {timeout:g} s (ranks still running: {alive}); "
                    "every process was killed. A rank waiting forever in a collective (all_reduce, barrier) "
                    "usually means another rank never reached it."
                )
    except mp.ProcessRaisedException as err:
        text = str(err)
        tb = first_traceback(text) or _tail(text)
        raise WorkerError(f"worker {label} raised on rank {err.error_index}:\n{_tail(tb, 15)}") from None
    except mp.ProcessExitedException as err:
        raise WorkerError(
            f"worker {label} died on rank {err.error_index} (exit code {err.exit_code}) without a Python traceback "
            "(killed, out of memory, or a crash in C++)"
        ) from None
    finally:
        for p in context.processes:
            if p.is_alive():
                p.kill()
            p.join(5)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for launched commands: this one, one math thread, ``course`` importable."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # also stops torchrun's 4-line banner about it
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([_PACKAGE_ROOT, *[p for p in paths if p != _PACKAGE_ROOT]])
    env.update(extra or {})
    return env


def torchrun_argv(*args: str) -> list[str]:
    """``torchrun ARGS`` as an argv list that uses this Python (``python -m torch.distributed.run``)."""
    return [sys.executable, "-m", "torch.distributed.run", *[str(a) for a in args]]


def launch(
    commands: Sequence[Sequence[str]],
    timeout: float = 120.0,
    names: Sequence[str] | None = None,
    env: dict[str, str] | None = None,
    retries: int = 0,
) -> list[str]:
    """Run ``commands`` side by side and return their logs (stdout and stderr together).

    ``retries``: how many more times to start the whole job when a process was killed by a signal
    (a worker that aborts with SIGABRT inside gloo on a heavily loaded machine), never when one
    failed with an error of its own (a traceback, an exit code). Each attempt gets ``timeout``;
    ``launch.attempts`` holds how many the last call needed, and the final error names them all.

    Each command runs in a process group of its own (so every child it starts can be killed)
    with the environment of :func:`child_env` plus ``env``. It waits at most ``timeout`` seconds
    for all of them. When one fails, the others are killed too (a second "node" would otherwise
    wait for the first until its rendezvous times out) and :class:`WorkerError` names the
    command with its first traceback and the last lines of its log; when time runs out, all are
    killed and the error names the ones still running.
    """
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a whole number >= 0, got {retries!r}")
    errors: list[str] = []
    for attempt in range(retries + 1):
        launch.attempts = attempt + 1
        try:
            return _launch_once(commands, timeout, names, env)
        except WorkerError as err:
            errors.append(str(err))
            if not err.signalled or attempt == retries:
                if len(errors) > 1:
                    earlier = "\n".join(f"attempt {n + 1}: {e.splitlines()[0]}" for n, e in enumerate(errors[:-1]))
                    raise WorkerError(f"{errors[-1]}\n(after {len(errors)} attempts; earlier:\n{earlier})", err.signalled) from err
                raise


launch.attempts = 0


def _launch_once(commands, timeout, names, env) -> list[str]:
    commands = [list(map(str, c)) for c in commands]
    if not commands or any(not c for c in commands):
        raise ValueError("commands must be a non-empty list of non-empty argv lists, e.g. [torchrun_argv('--standalone', ...)]")
    names = list(names) if names is not None else [f"command {i}" for i in range(len(commands))]
    if len(names) != len(commands):
        raise ValueError(f"got {len(names)} names for {len(commands)} commands")
    timeout = _check_timeout(timeout)
    full_env = child_env(env)
    logs_dir = Path(tempfile.mkdtemp(prefix="course-launch-"))
    procs, files = [], []
    try:
        for i, cmd in enumerate(commands):
            f = open(logs_dir / f"{i}.log", "w+b")
            files.append(f)
            procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=full_env, start_new_session=True))
        deadline = time.monotonic() + timeout
        failed: int | None = None
        while True:
            codes = [p.poll() for p in procs]
            failed = next((i for i, c in enumerate(codes) if c not in (None, 0)), None)
            if failed is not None or all(c == 0 for c in codes) or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        running = [names[i] for i, p in enumerate(procs) if p.poll() is None]
        for p in procs:
            _kill_group(p)
        logs = [(logs_dir / f"{i}.log").read_bytes().decode(errors="replace") for i in range(len(procs))]
        if failed is not None:
            log = logs[failed]
            tb = root_cause(log)
            detail = f"\nthe traceback that explains it:\n{_tail(tb, 15)}" if tb else ""
            aborts = [row for row in log.splitlines() if "terminate called" in row or "what():" in row]
            if aborts:  # a C++ exception nobody caught: its message is the only trace it leaves
                detail += "\nC++ errors in its log:\n" + "\n".join(aborts[:6])
            signalled = procs[failed].returncode < 0 or (bool(_SIGNAL_EXIT.search(log)) and not _worker_traceback(log))
            raise WorkerError(
                f"{names[failed]} exited with code {procs[failed].returncode}{detail}\n"
                f"last lines of its log:\n{_tail(log)}",
                signalled,
            )
        if running:
            tails = "\n".join(f"--- {names[i]}:\n{_tail(logs[i], 8)}" for i in range(len(procs)) if names[i] in running)
            raise WorkerError(
                f"{', '.join(running)} did not finish within {timeout:g} s and {'was' if len(running) == 1 else 'were'} "
                f"killed (with every process {'it' if len(running) == 1 else 'they'} started). Last lines:\n{tails}"
            )
        return logs
    finally:
        for p in procs:
            _kill_group(p)
        for f in files:
            f.close()
        for p in logs_dir.iterdir():
            p.unlink()
        logs_dir.rmdir()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill a launched command and every process it started (its whole process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def collect(out_dir: str | os.PathLike, world_size: int, prefix: str = "rank") -> list[dict]:
    """Read the per-rank JSON results ``{prefix}{r}.json`` that a run wrote, in rank order."""
    out = Path(out_dir)
    missing = [r for r in range(world_size) if not (out / f"{prefix}{r}.json").is_file()]
    if missing:
        raise WorkerError(f"no results from rank(s) {missing} in {out}: the run did not finish, or wrote elsewhere")
    return [json.loads((out / f"{prefix}{r}.json").read_text()) for r in range(world_size)]


# --------------------------------------------------------------------------------------------
# The lesson's data, model and training run
# --------------------------------------------------------------------------------------------


def make_data() -> TensorDataset:
    """A small regression data set: 64 points in 4-D, a nonlinear target plus noise."""
    g = torch.Generator().manual_seed(SEED)
    x = torch.randn(N_SAMPLES, 4, generator=g)
    y = torch.tanh(x @ torch.tensor([[1.0], [-2.0], [0.5], [1.5]])) + 0.1 * torch.randn(N_SAMPLES, 1, generator=g)
    return TensorDataset(x, y)


def make_model(seed: int = SEED) -> nn.Module:
    """The model every rank builds (the same seed, so the same start; DDP checks it anyway)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))


def counting_allreduce_hook(state, bucket):  # no annotations: DDP checks them, and this module's are strings
    """A DDP communication hook: count the call, then do DDP's usual averaging all-reduce."""
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

    state["allreduces"] += 1
    return default_hooks.allreduce_hook(None, bucket)  # sum over ranks, divided by world size


def train(rank: int, world_size: int, out_dir: Path, wrap: str = "ddp", use_no_sync: bool = True) -> dict:
    """Train the lesson's model on this rank's share of the data; return what the lesson checks.

    ``wrap="ddp"``: DistributedDataParallel with a counting communication hook and, with
    ``use_no_sync``, ``no_sync()`` on all but the last micro-batch of each accumulation group.
    ``wrap="fsdp"``: FSDP2's ``fully_shard`` on each Linear and the whole model
    (``set_requires_gradient_sync`` plays the part of ``no_sync``).
    Rank 0 alone writes the log and the checkpoint; the others wait at a barrier.
    """
    from torch.nn.parallel import DistributedDataParallel as DDP

    dataset = make_data()
    model = make_model(seed=SEED + rank)  # different on purpose: DDP copies rank 0's weights to all
    counter = {"allreduces": 0}
    if wrap == "ddp":
        model = DDP(model)  # on a GPU: DDP(model.to(rank), device_ids=[rank])
        model.register_comm_hook(counter, counting_allreduce_hook)
    elif wrap == "fsdp":
        from torch.distributed.fsdp import fully_shard

        with torch.no_grad():  # fully_shard does not broadcast: start every rank from rank 0's weights
            for p in model.parameters():
                dist.broadcast(p, src=0)
        for layer in model:
            if isinstance(layer, nn.Linear):
                fully_shard(layer)
        fully_shard(model)
    else:
        raise ValueError(f"wrap must be 'ddp' or 'fsdp', got {wrap!r}")
    start = [p.detach().clone() for p in model.parameters()] if wrap == "ddp" else []
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=SEED)
    loader = DataLoader(dataset, batch_size=BATCH, sampler=sampler)
    log = open(out_dir / "train.log", "w") if rank == 0 else None  # rank-0 logging
    first_batches, steps = [], 0
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)  # a new shuffle each epoch (the same one on every rank)
        first_batches.append(list(sampler)[:BATCH])
        total = 0.0
        for i, (xb, yb) in enumerate(loader):
            last_of_group = (i + 1) % ACCUM == 0
            if wrap == "ddp":
                sync = model.no_sync() if (use_no_sync and not last_of_group) else contextlib.nullcontext()
            else:
                model.set_requires_gradient_sync(last_of_group or not use_no_sync)
                sync = contextlib.nullcontext()
            with sync:
                loss = nn.functional.mse_loss(model(xb), yb) / ACCUM  # mean over the accumulated batch
                loss.backward()
            total += loss.item()
            if last_of_group:
                optimizer.step()
                optimizer.zero_grad()
                steps += 1
        if log:
            log.write(f"epoch {epoch + 1}: mean micro-batch loss on rank 0 {total * ACCUM / len(loader):.4f}\n")
    if log:
        log.close()
    if wrap == "fsdp":
        state = {k: v.full_tensor() for k, v in model.state_dict().items()}  # gathers the shards (all ranks)
        shard_numels = [int(p.to_local().numel()) for p in model.parameters()]
    else:
        state = model.module.state_dict()  # no "module." prefix
        shard_numels = []
    if rank == 0:  # rank-0 checkpointing: one writer ...
        torch.save(state, out_dir / "checkpoint.pt")
    dist.barrier()  # ... and nobody goes on before the file is complete
    return {
        "rank": rank,
        "world_size": world_size,
        "backend": dist.get_backend(),
        "allreduces": counter["allreduces"],
        "optimizer_steps": steps,
        "samples_seen": len(list(sampler)) * EPOCHS,
        "first_batch_per_epoch": first_batches,
        "started_from_rank0": None if wrap == "fsdp" else all(torch.equal(a, b) for a, b in zip(start, [p.detach() for p in make_model(SEED).parameters()])),
        "shard_numels": shard_numels,
    }


def all_reduce_demo(rank: int, world_size: int) -> dict:
    """Every rank holds a different tensor; after all_reduce every rank holds the same sum."""
    t = torch.arange(3.0) + 10 * rank  # rank 0: [0, 1, 2], rank 1: [10, 11, 12]
    before = t.tolist()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # in place, on every rank
    gathered = [torch.zeros(1) for _ in range(world_size)]
    dist.all_gather(gathered, torch.tensor([float(rank)]))
    return {"before": before, "after_sum": t.tolist(), "all_gather_of_ranks": [g.item() for g in gathered]}


def spawn_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """What ``spawn`` runs in each process: join the group, demo all_reduce, train with DDP twice."""
    out = Path(out_dir)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        for sub in ("no_sync", "sync_always"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        result = {"all_reduce": all_reduce_demo(rank, world_size)}
        result["no_sync"] = train(rank, world_size, out / "no_sync", use_no_sync=True)
        result["sync_every_micro_batch"] = train(rank, world_size, out / "sync_always", use_no_sync=False)
        (out / f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def torchrun_main(task: str, out_dir: str) -> None:
    """What each ``torchrun`` process runs: torchrun sets RANK, WORLD_SIZE, MASTER_ADDR, ... for it."""
    out = Path(out_dir)
    dist.init_process_group("gloo")  # init_method="env://": read from the variables torchrun set
    try:
        rank, world_size = dist.get_rank(), dist.get_world_size()
        env = {k: os.environ[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK")}
        result: dict[str, Any] = {"env": env, "all_reduce": all_reduce_demo(rank, world_size)}
        if task in ("ddp", "fsdp"):
            (out / task).mkdir(exist_ok=True)
            result["train"] = train(rank, world_size, out / task, wrap=task)
        elif task == "crash":  # for the tests: one rank fails, the others wait for it forever
            if rank == world_size - 1:
                raise ValueError(f"planted failure on rank {rank}")
            dist.barrier()
        elif task == "hang":  # for the tests: nobody finishes
            time.sleep(3600)
        (out / f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        with contextlib.suppress(Exception):
            dist.destroy_process_group()


TASKS = ("hello", "ddp", "fsdp", "crash", "hang")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m course.distributed", description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=TASKS)
    parser.add_argument("--out", required=True, help="folder for the results (must exist)")
    args = parser.parse_args(argv)
    if not Path(args.out).is_dir():
        parser.error(f"--out {args.out}: no such folder")
    if "RANK" not in os.environ:
        parser.error("RANK is not set: start this under torchrun, e.g. torchrun --standalone --nproc_per_node=2 -m course.distributed hello --out DIR")
    torchrun_main(args.task, args.out)


if __name__ == "__main__":
    _main()
