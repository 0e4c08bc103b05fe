"""Honest timing: warm up, synchronise the GPU, repeat, report the median; compare two
timings with a verdict only when the difference is larger than the run-to-run spread."""

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


@dataclass
class Comparison:
    """The outcome of :func:`compare`: two timings and a verdict that respects the noise.

    ``ratio`` is ``b / a`` per call (above 1: ``a`` is faster), taken as the median over
    interleaved rounds; ``low`` and ``high`` are the smallest and largest round ratios after
    dropping the most extreme round on each side (the run-to-run spread). ``faster`` names the
    faster one only when the whole spread lies on one side of ``1 ± threshold``; otherwise it is
    ``None`` and the verdict says there is no measurable difference.
    """

    a_name: str
    b_name: str
    a: Timing
    b: Timing
    ratio: float
    low: float
    high: float
    faster: str | None

    @property
    def speedup(self) -> float:
        """How many times faster the faster one is (1.0 when there is no measurable difference)."""
        if self.faster is None:
            return 1.0
        return self.ratio if self.faster == self.a_name else 1.0 / self.ratio

    @property
    def verdict(self) -> str:
        spread = f"round-to-round ratios {self.low:.2f}-{self.high:.2f}"
        if self.faster is None:
            return (
                f"no measurable difference between {self.a_name} and {self.b_name} on this machine "
                f"({self.b_name}/{self.a_name} time ratio {self.ratio:.2f}, {spread})"
            )
        slower = self.b_name if self.faster == self.a_name else self.a_name
        return f"{self.faster} is {self.speedup:.1f}x faster than {slower} on this machine ({spread})"

    def __str__(self) -> str:
        return (
            f"{self.a_name}: {self.a}\n{self.b_name}: {self.b}\n"
            f"Verdict: {self.verdict}"
        )


def _clock(clock: str) -> Callable[[], float]:
    if clock == "wall":
        return time.perf_counter
    if clock == "process":
        return time.process_time
    raise ValueError(f"clock must be 'wall' or 'process', got {clock!r}")


def compare(
    a: Callable[[], Any],
    b: Callable[[], Any],
    names: tuple[str, str] = ("A", "B"),
    rounds: int = 7,
    repeat: int = 5,
    warmup: int = 2,
    device: torch.device | str | None = None,
    threshold: float = 0.05,
    clock: str = "wall",
) -> Comparison:
    """Time ``a()`` and ``b()`` in interleaved rounds and say which is faster, if either is.

    Each round times ``repeat`` calls of ``a`` then ``repeat`` calls of ``b`` (the order swaps
    every round) and keeps the median of each, so a machine that slows down for a while slows
    both. The verdict names a winner only when every round ratio (after dropping the most extreme
    one at each end) is beyond ``1 ± threshold``: a difference smaller than the run-to-run
    spread is reported as no measurable difference. ``clock="process"`` counts this process's CPU
    time (robust to other programs on a shared CPU; wrong for GPU work or several threads).
    """
    if not callable(a) or not callable(b):
        raise TypeError("compare needs two functions to call; wrap code in a lambda: compare(lambda: f(x), lambda: g(x))")
    if len(names) != 2 or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be two non-empty strings, got {names!r}")
    if names[0] == names[1]:
        raise ValueError(f"names must differ, got {names!r} twice")
    if not isinstance(rounds, int) or rounds < 3:
        raise ValueError(f"rounds must be an int >= 3 (the spread needs several rounds), got {rounds!r}")
    if not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be a positive int, got {repeat!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup!r}")
    if not 0 <= threshold < 1:
        raise ValueError(f"threshold must be in [0, 1), got {threshold!r}")
    now = _clock(clock)
    for _ in range(warmup):
        a()
        b()
    _sync(device)

    def one(fn: Callable[[], Any]) -> list[float]:
        out = []
        for _ in range(repeat):
            t0 = now()
            fn()
            _sync(device)
            out.append(now() - t0)
        return out

    times_a: list[float] = []
    times_b: list[float] = []
    ratios: list[float] = []
    for r in range(rounds):
        if r % 2 == 0:
            ra, rb = one(a), one(b)
        else:
            rb, ra = one(b), one(a)
        times_a += ra
        times_b += rb
        ma, mb = statistics.median(ra), statistics.median(rb)
        ratios.append(mb / ma if ma > 0 else float("inf"))
    ratios.sort()
    trimmed = ratios[1:-1] if len(ratios) >= 5 else ratios
    low, high = trimmed[0], trimmed[-1]
    ratio = statistics.median(ratios)
    faster: str | None = None
    if low > 1 + threshold:
        faster = names[0]
    elif high < 1 / (1 + threshold):
        faster = names[1]
    ta = Timing(median=statistics.median(times_a), best=min(times_a), runs=len(times_a))
    tb = Timing(median=statistics.median(times_b), best=min(times_b), runs=len(times_b))
    return Comparison(names[0], names[1], ta, tb, ratio, low, high, faster)
