"""Honest timing: warm up, synchronise the GPU, repeat, report the median."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch


@dataclass
class Timing:
    """Seconds per call over ``runs`` repeats (after warm-up)."""

    median: float
    best: float
    runs: int

    def __str__(self) -> str:
        return f"{format_seconds(self.median)} median ({format_seconds(self.best)} best of {self.runs})"


def format_seconds(seconds: float) -> str:
    """``0.000123`` -> ``'123.0 µs'``; picks s, ms or µs."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _sync(device: torch.device | str | None) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def timeit(
    fn: Callable[[], Any],
    repeat: int = 20,
    warmup: int = 3,
    device: torch.device | str | None = None,
    min_seconds: float = 0.0,
) -> Timing:
    """Time ``fn()``: ``warmup`` untimed calls, then ``repeat`` timed ones (more if
    ``min_seconds`` is not yet reached). Pass ``device`` when ``fn`` runs on a GPU, so the
    clock is read only after the GPU has finished (CUDA calls return before the work is done).
    """
    if not callable(fn):
        raise TypeError(f"timeit needs a function to call, got {type(fn).__name__}; wrap code in a lambda")
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive int, got {repeat!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup!r}")
    for _ in range(warmup):
        fn()
    _sync(device)
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - started < min_seconds:
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return Timing(median=statistics.median(times), best=min(times), runs=len(times))
