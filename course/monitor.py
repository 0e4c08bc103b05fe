"""A training monitor that notices when a run goes wrong: NaN/Inf losses and loss spikes.

Lesson 06 builds it; :func:`course.train.fit` uses it when you pass ``training_monitor=``.

    monitor = TrainingMonitor(window=20, spike_factor=3.0)
    for step, loss in enumerate(losses, 1):
        monitor.update(loss, step)      # prints an alert and records it in monitor.alerts
    monitor.should_stop                 # True after a NaN/Inf when stop_on_nan=True

The monitor works on plain floats. Reading a GPU loss as a float (``loss.item()``) waits for
the GPU, so ``fit`` feeds it the values it already reads for the progress bar (a few times
per epoch, in one transfer) rather than every step.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Iterable

import torch

ADVICE_NAN = (
    "What to try: lower the learning rate, clip gradients (clip_grad_norm=1.0), "
    "and check the data and the loss inputs for NaN/Inf (e.g. log(0), division by zero)."
)
ADVICE_SPIKE = (
    "What to try: lower the learning rate or add warm-up, clip gradients (clip_grad_norm=1.0), "
    "and check that batch for bad samples or labels."
)


@dataclass(frozen=True)
class Alert:
    """One problem the monitor found: ``kind`` is ``"nan"`` (NaN or Inf) or ``"spike"``."""

    step: int
    kind: str
    value: float
    message: str


class TrainingMonitor:
    """Flag non-finite losses and sudden spikes in a stream of per-step losses.

    Args:
        window: how many recent finite losses form the running median.
        spike_factor: a loss above ``spike_factor`` x that median is a spike.
        warmup: for this many finite losses the running median is not yet trusted (early
            losses fall fast, which is not a spike); meanwhile a loss above ``spike_factor`` x
            the *first* loss is flagged, so a run that blows up at once is caught too.
        stop_on_nan: set :attr:`should_stop` after a NaN/Inf loss (``fit`` then stops).
        verbose: print each alert (at most ``max_messages``; all are kept in :attr:`alerts`).
        max_messages: how many alerts are printed before the monitor goes quiet.
    """

    def __init__(
        self,
        window: int = 20,
        spike_factor: float = 3.0,
        warmup: int = 10,
        stop_on_nan: bool = True,
        verbose: bool = True,
        max_messages: int = 5,
    ) -> None:
        if not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be a positive int, got {window!r}")
        if not isinstance(spike_factor, (int, float)) or spike_factor <= 1:
            raise ValueError(f"spike_factor must be a number above 1 (e.g. 3.0), got {spike_factor!r}")
        if not isinstance(warmup, int) or warmup < 1:
            raise ValueError(f"warmup must be a positive int, got {warmup!r}")
        if not isinstance(max_messages, int) or max_messages < 0:
            raise ValueError(f"max_messages must be a non-negative int, got {max_messages!r}")
        self.window = window
        self.spike_factor = float(spike_factor)
        self.warmup = warmup
        self.stop_on_nan = stop_on_nan
        self.verbose = verbose
        self.max_messages = max_messages
        self.reset()

    def reset(self) -> None:
        """Forget every loss and alert seen so far."""
        self._recent: deque[float] = deque(maxlen=self.window)
        self._seen = 0
        self._first: float | None = None
        self._step = 0
        self.alerts: list[Alert] = []
        self.should_stop = False

    def update(self, loss: float | torch.Tensor, step: int | None = None) -> Alert | None:
        """Look at one loss value; return an :class:`Alert` if it is NaN/Inf or a spike.

        ``step`` numbers the value in messages (default: one more than the last step).
        A tensor is read with ``.item()``, which waits for the GPU: prefer passing floats
        you have already read.
        """
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ValueError(f"update() takes one loss value, got a tensor of shape {tuple(loss.shape)}")
            loss = loss.item()
        if not isinstance(loss, (int, float)):
            raise TypeError(f"loss must be a float or a one-element tensor, got {type(loss).__name__}")
        self._step = int(step) if step is not None else self._step + 1
        value = float(loss)
        alert = None
        if not math.isfinite(value):
            alert = Alert(
                self._step,
                "nan",
                value,
                f"⚠️ Step {self._step}: the loss is {value}. Training has diverged or the data "
                f"contains NaN/Inf. {ADVICE_NAN}",
            )
            if self.stop_on_nan:
                self.should_stop = True
        else:
            if self._seen >= self.warmup and self._recent:
                median = statistics.median(self._recent)
                if median > 0 and value > self.spike_factor * median:
                    alert = Alert(
                        self._step,
                        "spike",
                        value,
                        f"⚠️ Step {self._step}: loss spike: {value:.4g} is {value / median:.1f}x the median "
                        f"{median:.4g} of the last {len(self._recent)} steps (threshold "
                        f"{self.spike_factor:g}x). {ADVICE_SPIKE}",
                    )
            elif self._first is not None and self._first > 0 and value > self.spike_factor * self._first:
                alert = Alert(
                    self._step,
                    "spike",
                    value,
                    f"⚠️ Step {self._step}: loss {value:.4g} is {value / self._first:.1f}x the first loss "
                    f"{self._first:.4g}: the run is blowing up from the start (threshold "
                    f"{self.spike_factor:g}x). {ADVICE_SPIKE}",
                )
            if self._first is None:
                self._first = value
            self._recent.append(value)
            self._seen += 1
        if alert is not None:
            self.alerts.append(alert)
            if self.verbose and len(self.alerts) <= self.max_messages:
                print(alert.message)
            elif self.verbose and len(self.alerts) == self.max_messages + 1:
                print(f"(more alerts from step {self._step} on are not printed; see monitor.alerts)")
        return alert

    def update_many(self, losses: Iterable[float], first_step: int | None = None) -> list[Alert]:
        """Feed several losses at once (e.g. ``tensor.tolist()`` of a stacked batch of losses)."""
        found = []
        for i, value in enumerate(losses):
            step = None if first_step is None else first_step + i
            alert = self.update(value, step)
            if alert is not None:
                found.append(alert)
        return found

    def summary(self) -> str:
        """One line: how many values were seen and what was flagged."""
        nans = sum(a.kind == "nan" for a in self.alerts)
        spikes = sum(a.kind == "spike" for a in self.alerts)
        return f"TrainingMonitor: {self._step} steps, {nans} NaN/Inf, {spikes} spikes"

    def __repr__(self) -> str:
        return (
            f"TrainingMonitor(window={self.window}, spike_factor={self.spike_factor:g}, "
            f"warmup={self.warmup}, stop_on_nan={self.stop_on_nan})"
        )
