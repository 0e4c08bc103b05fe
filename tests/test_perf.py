"""course.perf: bandwidth and FLOP/s measurements (behaviour on a fake clock, not speed)."""

from __future__ import annotations

import pytest
import torch

import course.bench
from course import perf


class FakeClock:
    """time.perf_counter replacement that only the fake work advances."""

    def __init__(self, durations):
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def __call__(self):
        return self.now

    def work(self):
        self.now += self.durations[min(self.calls, len(self.durations) - 1)]
        self.calls += 1


@pytest.fixture
def fake_clock(monkeypatch):
    def make(durations):
        clock = FakeClock(durations)
        monkeypatch.setattr(course.bench.time, "perf_counter", clock)
        return clock
    return make


def test_bandwidth_is_bytes_over_the_median_after_warmup(fake_clock):
    clock = fake_clock([1.0, 1.0, 0.1, 0.2, 0.4, 0.2, 0.3])  # two slow warm-ups, median of the rest 0.2
    assert perf.bandwidth(clock.work, 1e9, repeat=5, warmup=2) == pytest.approx(5e9)
    assert clock.calls == 7


def test_bandwidth_best_uses_the_fastest_call(fake_clock):
    clock = fake_clock([1.0, 0.1, 0.2, 0.4])
    assert perf.bandwidth(clock.work, 1e9, repeat=3, warmup=1, stat="best") == pytest.approx(1e10)


def test_bandwidth_rejects_zero_time(fake_clock):
    clock = fake_clock([0.0])
    with pytest.raises(RuntimeError, match="no measurable time"):
        perf.bandwidth(clock.work, 100)


@pytest.mark.parametrize("kwargs, match", [
    ({"nbytes": 0}, "nbytes"),
    ({"nbytes": -5}, "nbytes"),
    ({"nbytes": "1e6"}, "nbytes"),
    ({"nbytes": 10, "stat": "mean"}, "stat"),
    ({"nbytes": 10, "repeat": 0}, "repeat"),
])
def test_bandwidth_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        perf.bandwidth(lambda: None, **kwargs)


def test_bandwidth_needs_a_callable():
    with pytest.raises(TypeError, match="lambda"):
        perf.bandwidth(torch.ones(3), 10)


def test_copy_bandwidth_counts_read_and_write(monkeypatch):
    seen = {}

    def fake_bandwidth(fn, nbytes, **kwargs):
        fn()
        seen.update(nbytes=nbytes, **kwargs)
        return 1.0

    monkeypatch.setattr(perf, "bandwidth", fake_bandwidth)
    perf.copy_bandwidth(numel=1000)
    assert seen["nbytes"] == 2 * 1000 * 4 and seen["stat"] == "best"


def test_real_measurements_are_positive():
    assert perf.copy_bandwidth(numel=2**16, repeat=3) > 0
    assert perf.matmul_flops(n=64, repeat=3) > 0
    assert perf.matmul_flops(n=64, dtype=torch.bfloat16, repeat=3) > 0


def test_matmul_flops_bad_input():
    with pytest.raises(ValueError, match="n must"):
        perf.matmul_flops(n=0)
    with pytest.raises(ValueError, match="floating-point"):
        perf.matmul_flops(n=8, dtype=torch.int32)
    with pytest.raises(ValueError, match="numel"):
        perf.copy_bandwidth(numel=True)
