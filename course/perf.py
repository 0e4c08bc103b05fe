"""The two roofs of a roofline (lesson 08), measured: memory bandwidth and matmul FLOP/s.

Lesson 08 writes these measurements in the open; later lessons (10: custom kernels) compare
their own kernels against them::

    from course.perf import bandwidth, copy_bandwidth, matmul_flops
    roof = copy_bandwidth(device="cuda")                       # bytes/s of dst.copy_(src)
    mine = bandwidth(lambda: my_op(x), nbytes=2 * x.nbytes, device="cuda")
    print(f"{mine / roof:.0%} of the copy bandwidth")
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from course.bench import timeit

_STATS = ("median", "best")


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def bandwidth(
    fn: Callable[[], Any],
    nbytes: int | float,
    device: torch.device | str | None = None,
    repeat: int = 10,
    warmup: int = 2,
    stat: str = "median",
) -> float:
    """Bytes per second that ``fn()`` moves, given the ``nbytes`` one call reads plus writes.

    ``warmup`` untimed calls, then ``repeat`` timed ones (``course.bench.timeit``, which
    synchronises a CUDA ``device`` before reading the clock). ``stat="median"`` describes a
    typical call; ``stat="best"`` estimates what the hardware can do (noise only adds time), which
    is what a roof should be.
    """
    if not callable(fn):
        raise TypeError(f"bandwidth needs a function to call, got {type(fn).__name__}; wrap code in a lambda")
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, float)) or nbytes <= 0:
        raise ValueError(f"nbytes must be the positive number of bytes one call moves, got {nbytes!r}")
    if stat not in _STATS:
        raise ValueError(f"stat must be one of {_STATS}, got {stat!r}")
    timing = timeit(fn, repeat=_positive_int(repeat, "repeat"), warmup=warmup, device=device)
    seconds = timing.median if stat == "median" else timing.best
    if seconds <= 0:
        raise RuntimeError("the timed calls took no measurable time: give fn more work (a larger tensor)")
    return float(nbytes / seconds)


def copy_bandwidth(numel: int = 16 * 2**20, device: torch.device | str = "cpu", repeat: int = 20) -> float:
    """The memory roof: bytes/s of ``dst.copy_(src)`` for float32 tensors of ``numel`` elements
    (each call reads and writes every byte: ``2 * src.nbytes``), best of ``repeat`` calls. The
    default (64 MiB) is larger than a CPU's caches."""
    numel = _positive_int(numel, "numel")
    device = torch.device(device)
    src = torch.randn(numel, device=device)
    dst = torch.empty_like(src)
    return bandwidth(lambda: dst.copy_(src), 2 * src.nbytes, device=device, repeat=repeat, stat="best")


def matmul_flops(
    n: int = 1024,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    repeat: int = 10,
) -> float:
    """The compute roof: FLOP/s of an ``n`` x ``n`` matmul in ``dtype`` (``2 * n**3`` FLOPs per
    call), best of ``repeat`` calls."""
    n = _positive_int(n, "n")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"dtype must be a floating-point torch.dtype such as torch.float32, got {dtype!r}")
    device = torch.device(device)
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    timing = timeit(lambda: a @ b, repeat=_positive_int(repeat, "repeat"), warmup=2, device=device)
    if timing.best <= 0:
        raise RuntimeError("the matmul took no measurable time: use a larger n")
    return float(2 * n**3 / timing.best)
