"""Unit tests of course.monitor.TrainingMonitor."""

import math

import pytest
import torch

from course.monitor import TrainingMonitor


def _normal_curve(n=200):
    g = torch.Generator().manual_seed(0)
    steps = torch.arange(n, dtype=torch.float32)
    return (2.0 * torch.exp(-steps / 50) + 0.1 + 0.05 * torch.rand(n, generator=g)).tolist()


def test_quiet_on_a_normal_curve(capsys):
    mon = TrainingMonitor()
    assert mon.update_many(_normal_curve(), first_step=1) == []
    assert not mon.should_stop and mon.alerts == []
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_flags_nan_and_inf(bad, capsys):
    mon = TrainingMonitor()
    values = _normal_curve(30)
    values[20] = bad
    alerts = mon.update_many(values, first_step=1)
    assert len(alerts) == 1 and alerts[0].kind == "nan" and alerts[0].step == 21
    assert mon.should_stop
    out = capsys.readouterr().out
    assert "Step 21" in out and "learning rate" in out and "clip" in out


def test_flags_spikes_with_step_and_advice(capsys):
    mon = TrainingMonitor(window=10, spike_factor=3.0, warmup=5)
    values = [1.0] * 20 + [10.0] + [1.0] * 5
    alerts = mon.update_many(values, first_step=1)
    assert [(a.step, a.kind) for a in alerts] == [(21, "spike")]
    assert not mon.should_stop
    assert "10.0x the median" in capsys.readouterr().out


def test_warmup_tolerates_early_noise_but_catches_a_blow_up(capsys):
    mon = TrainingMonitor(warmup=5)
    assert mon.update(torch.tensor(1.0)) is None  # a tensor is read for you
    assert mon.update(2.5) is None  # early losses wobble: below 3x the first loss is fine
    alert = mon.update(100.0)  # but 100x the first loss is a run blowing up
    assert alert is not None and alert.kind == "spike" and alert.step == 3
    assert "first loss" in capsys.readouterr().out
    assert math.isclose(mon._recent[-1], 100.0)


def test_stop_on_nan_can_be_disabled_and_messages_are_capped(capsys):
    mon = TrainingMonitor(stop_on_nan=False, max_messages=2)
    mon.update_many([float("nan")] * 5)
    assert not mon.should_stop and len(mon.alerts) == 5
    assert capsys.readouterr().out.count("Step") == 2
    assert "5 NaN/Inf" in mon.summary()


def test_bad_arguments():
    with pytest.raises(ValueError):
        TrainingMonitor(spike_factor=0.5)
    with pytest.raises(ValueError):
        TrainingMonitor(window=0)
    with pytest.raises(TypeError):
        TrainingMonitor().update("1.0")
