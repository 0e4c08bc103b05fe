"""course.bench.compare: a verdict only when the difference is larger than the run-to-run spread."""

import itertools
import time

import pytest

from course import bench


class FakeClock:
    """A clock the test controls: each call of a timed function advances it by a scripted amount."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _fn(clock, durations):
    it = itertools.cycle(durations)

    def call():
        clock.now += next(it)

    return call


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(bench.time, "perf_counter", c)
    return c


def test_clear_difference_names_the_faster_with_its_factor(clock):
    result = bench.compare(_fn(clock, [1e-3]), _fn(clock, [3e-3]), names=("fast", "slow"), warmup=0)
    assert result.faster == "fast"
    assert result.speedup == pytest.approx(3.0)
    assert result.verdict.startswith("fast is 3.0x faster than slow")
    assert "slow: " in str(result) and "Verdict:" in str(result)


def test_the_second_can_be_the_faster(clock):
    result = bench.compare(_fn(clock, [4e-3]), _fn(clock, [1e-3]), names=("a", "b"), warmup=0)
    assert result.faster == "b" and result.speedup == pytest.approx(4.0)


def test_a_difference_inside_the_spread_is_no_measurable_difference(clock):
    # b is 10 % slower in the median round, but the rounds scatter from 0.6x to 1.6x.
    a = _fn(clock, [1e-3])
    b_rounds = [0.6e-3, 1.6e-3, 1.1e-3, 0.7e-3, 1.5e-3, 1.1e-3, 1.2e-3]
    b = _fn(clock, [d for d in b_rounds for _ in range(5)])
    result = bench.compare(a, b, names=("a", "b"), warmup=0, rounds=7, repeat=5)
    assert result.faster is None and result.speedup == 1.0
    assert result.verdict.startswith("no measurable difference between a and b on this machine")


def test_a_tiny_consistent_difference_is_below_the_threshold(clock):
    result = bench.compare(_fn(clock, [1.00e-3]), _fn(clock, [1.02e-3]), names=("a", "b"), warmup=0)
    assert result.faster is None


def test_one_outlier_round_does_not_decide(clock):
    # One round of b is very fast (a hiccup of a's clock); the other rounds show b 2x slower.
    a = _fn(clock, [1e-3])
    b = _fn(clock, [0.2e-3] * 5 + [2e-3] * 30)
    result = bench.compare(a, b, names=("a", "b"), warmup=0)
    assert result.faster == "a"


def test_rounds_alternate_the_order(clock):
    calls = []
    bench.compare(lambda: calls.append("a"), lambda: calls.append("b"), warmup=0, rounds=3, repeat=1)
    assert calls == ["a", "b", "b", "a", "a", "b"]


def test_real_work_measured_on_this_machine():
    # Not a timed test: one matmul against three of the same, a 3x difference far above any noise.
    import torch

    x = torch.randn(128, 128)
    result = bench.compare(lambda: x @ x, lambda: (x @ x, x @ x, x @ x), names=("one", "three"), clock="process")
    assert result.faster == "one", result


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"a": 1}, "two functions"),
        ({"names": ("x", "x")}, "must differ"),
        ({"names": ("x",)}, "two non-empty"),
        ({"rounds": 2}, "rounds"),
        ({"repeat": 0}, "repeat"),
        ({"threshold": 1.5}, "threshold"),
        ({"clock": "cpu"}, "clock"),
    ],
)
def test_bad_arguments_say_what_to_fix(kwargs, message):
    args = {"a": lambda: None, "b": lambda: None, **kwargs}
    with pytest.raises((TypeError, ValueError), match=message):
        bench.compare(**args)


def test_process_clock_is_accepted():
    result = bench.compare(lambda: time.sleep(0), lambda: time.sleep(0), clock="process", rounds=3, repeat=1)
    assert result.a.runs == 3
