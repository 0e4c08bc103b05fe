"""The course's training loop, written in the open in lesson 06 and reused from lesson 07 on.

    from course.train import fit, evaluate, accuracy
    history = fit(model, train_loader, val_loader, nn.CrossEntropyLoss(), optimizer,
                  epochs=10, metrics={"acc": accuracy})
    course.plot.curves(history.select("train_loss", "val_loss", "val_acc"))

``fit`` does what lesson 06 teaches step by step: train mode, forward, loss, backward,
(accumulate), clip, step, zero the gradients; then evaluate in eval mode under
``torch.inference_mode()``, step the scheduler, log, checkpoint and maybe stop early.
Losses stay on the device as tensors and are read a few times per epoch, never with a
``.item()`` per step (each read waits for the GPU).

Lesson 08 adds mixed precision and compilation::

    scaler = torch.amp.GradScaler(device.type)          # float16 only; bfloat16 needs none
    fit(model, train_loader, val_loader, loss_fn, optimizer, epochs=10,
        amp_dtype=torch.float16, scaler=scaler, compile=True, checkpoint=manager)

The pieces, each readable on its own: :func:`fit` checks its arguments and runs the epochs;
``_train_one_epoch`` is the batch loop; ``_Stepper`` is one optimizer step (scale, unscale,
clip, step, update, zero, per-step scheduler); ``_LossReader`` reads the losses in bulk;
``_EarlyStopping`` keeps the state a checkpoint must carry for an exact resume.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from course.device import pick_device

Metric = Callable[[torch.Tensor, torch.Tensor], float]


class History(dict):
    """Metric name -> list of floats, one per epoch (``history["val_loss"][-1]``).

    A plain dict you can plot with ``course.plot.curves`` or turn into a table with
    ``pandas.DataFrame(history, index=history.epochs)``. Extra attributes:

    * ``epochs``: the epoch numbers of the rows (they start at ``start_epoch + 1``);
    * ``best_epoch``/``best_value``: the best epoch by the monitored metric (or ``None``);
    * ``stopped_early``: ``True`` when early stopping ended the run;
    * ``stop_reason``: why the run ended before ``epochs`` (or ``None``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epochs: list[int] = []
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.stopped_early = False
        self.stop_reason: str | None = None

    def append(self, epoch: int, row: Mapping[str, float]) -> None:
        """Add one epoch's metrics."""
        self.epochs.append(int(epoch))
        for key, value in row.items():
            self.setdefault(key, []).append(float(value))

    def select(self, *keys: str) -> dict[str, list[float]]:
        """A plain dict with only ``keys`` (e.g. to plot losses without the learning rate)."""
        missing = [k for k in keys if k not in self]
        if missing:
            raise KeyError(f"history has no {missing}; it has {sorted(self)}")
        return {k: self[k] for k in keys}

    def last(self) -> dict[str, float]:
        """The last epoch's metrics as a dict."""
        return {k: v[-1] for k, v in self.items() if v}


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of correct predictions.

    ``logits`` (N, C) with class-index ``targets`` (N,): the prediction is ``argmax`` over
    classes. ``logits`` (N,) or (N, 1) with 0/1 ``targets``: the prediction is ``logit > 0``.
    """
    if not isinstance(logits, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("accuracy(logits, targets) needs two tensors")
    if logits.dim() == 2 and logits.shape[1] > 1:
        pred = logits.argmax(dim=1)
    elif logits.dim() == 1 or (logits.dim() == 2 and logits.shape[1] == 1):
        pred = (logits.reshape(-1) > 0).long()
    else:
        raise ValueError(f"accuracy expects logits of shape (N, C) or (N,), got {tuple(logits.shape)}")
    targets = targets.reshape(-1)
    if pred.shape[0] != targets.shape[0]:
        raise ValueError(f"got {pred.shape[0]} predictions but {targets.shape[0]} targets")
    if pred.shape[0] == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    return (pred == targets.to(pred.dtype)).float().mean().item()


def _unpack(batch: Any) -> tuple[Any, torch.Tensor]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        "each batch must be a pair (inputs, targets), as a TensorDataset or a dataset returning "
        f"(x, y) gives; got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
    )


def _to(x: Any, device: torch.device) -> Any:
    if not isinstance(x, torch.Tensor):
        return x
    # non_blocking only for host -> GPU copies (they overlap with compute when the batch is in
    # pinned memory); a GPU -> host copy must block, or the CPU may read it before it arrives.
    return x.to(device, non_blocking=(device.type == "cuda" and x.device.type == "cpu"))


def _batch_size(y: torch.Tensor) -> int:
    return int(y.shape[0]) if y.dim() > 0 else 1


def _check_loader(loader: Any, name: str) -> int | None:
    if loader is None:
        return None
    if not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches, e.g. a DataLoader")
    try:
        n = len(loader)
    except TypeError:
        return None
    if n == 0:
        raise ValueError(
            f"{name} is empty (0 batches): check the dataset size, and drop_last=True with a "
            "batch_size larger than the dataset"
        )
    return n


_AMP_DTYPES = (torch.bfloat16, torch.float16)


def _check_amp_dtype(amp_dtype: Any, device: torch.device) -> None:
    if amp_dtype is None:
        return
    if amp_dtype not in _AMP_DTYPES:
        hint = (" float32 is what runs without autocast: leave amp_dtype out (None)"
                if amp_dtype == torch.float32 else "")
        raise ValueError(
            f"amp_dtype must be torch.bfloat16 or torch.float16 (mixed precision) or None (full precision),"
            f" got {amp_dtype!r}.{hint}"
        )
    if not torch.amp.is_autocast_available(device.type):
        raise ValueError(f"torch.autocast does not support device type {device.type!r}: leave amp_dtype out")


def _autocast(device: torch.device, amp_dtype: torch.dtype | None):
    """``torch.autocast`` for ``amp_dtype``, or a context that does nothing when it is None."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=amp_dtype)


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device | str | None = None,
    metrics: Mapping[str, Metric] | None = None,
    amp_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Average loss (and metrics) of ``model`` over ``loader`` in eval mode, without gradients.

    The loss is averaged over samples (each batch's mean loss weighted by its size). Metrics
    ``name -> fn(logits, targets) -> float`` are computed once on all outputs together,
    so they are exact (not an average of per-batch values). ``device`` defaults to the
    device of the model's parameters. ``amp_dtype`` (``torch.bfloat16``/``torch.float16``):
    run the forward and the loss under ``torch.autocast`` (the outputs reach the metrics as
    float32). The model's train/eval mode is restored afterwards.
    Returns ``{"loss": ..., name: ...}``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (e.g. nn.CrossEntropyLoss()), got {type(loss_fn).__name__}")
    _check_loader(loader, "loader")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be a function fn(logits, targets) -> float")
    if device is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
    device = torch.device(device)
    _check_amp_dtype(amp_dtype, device)
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device)
    count = 0
    outputs, targets = [], []
    try:
        for batch in loader:
            x, y = _unpack(batch)
            x, y = _to(x, device), _to(y, device)
            with _autocast(device, amp_dtype):
                out = model(x)
                loss = loss_fn(out, y)
            n = _batch_size(y)
            total += loss.detach().float() * n
            count += n
            if metrics:
                outputs.append(out)
                targets.append(y)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("loader gave no batches: cannot evaluate on an empty dataset")
    result = {"loss": (total / count).item()}
    if metrics:
        all_out, all_y = torch.cat(outputs), torch.cat(targets)
        if amp_dtype is not None and all_out.is_floating_point():
            all_out = all_out.float()
        for name, fn in metrics.items():
            value = fn(all_out, all_y)
            result[name] = float(value.item() if isinstance(value, torch.Tensor) else value)
    return result


def _tb_tag(key: str) -> str:
    prefix, _, rest = key.partition("_")
    if prefix in ("train", "val") and rest:
        return f"{rest}/{prefix}"
    return key


# Schedulers whose schedule is laid out in optimizer steps (total_steps, step_size_up, ...)
_PER_STEP_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)


class _EarlyStopping:
    """The best value of the monitored metric so far, its epoch, and the epochs since it improved.

    Its ``state_dict()`` goes into every checkpoint ``fit`` saves, so that a resumed run counts on
    from where the saved one was and stops at the same epoch.
    """

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = monitor, mode
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def update(self, value: float, epoch: int) -> None:
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if math.isfinite(value) and better:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:  # no better, or NaN/Inf: a run that diverged is not improving
            self.bad_epochs += 1

    def state_dict(self) -> dict[str, Any]:
        return {"monitor": self.monitor, "mode": self.mode, "best_value": self.best,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best, self.best_epoch = state.get("best_value"), state.get("best_epoch")
        self.bad_epochs = int(state.get("bad_epochs") or 0)


class _Stepper:
    """One optimizer step, done every ``accumulation_steps`` batches.

    Without a scaler: clip the gradient norm, ``optimizer.step()``, zero the gradients, step a
    per-step scheduler. With a ``GradScaler`` (float16): the loss is multiplied by the scale before
    ``backward`` (so small gradients do not underflow to zero in float16); before clipping the
    gradients are unscaled (the clip threshold is in true units); ``scaler.step`` skips the step
    when a gradient is Inf/NaN, and ``scaler.update`` adjusts the scale. A skipped step is not an
    optimizer step, so a per-step scheduler does not advance for it.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, clip_grad_norm: float | None,
                 step_scheduler: Any = None, scaler: torch.amp.GradScaler | None = None) -> None:
        self.model, self.optimizer = model, optimizer
        self.clip_grad_norm = clip_grad_norm
        self.step_scheduler = step_scheduler
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.last_lr = optimizer.param_groups[0]["lr"]  # the lr the last step used (history["lr"])

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self) -> None:
        self.last_lr = self.optimizer.param_groups[0]["lr"]
        if self.scaler is None:
            if self.clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            self.optimizer.step()
            stepped = True
        else:
            if self.clip_grad_norm is not None:
                self.scaler.unscale_(self.optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad_norm)
            # scaler.step reads one found-Inf flag per step (a device sync): that is GradScaler's cost
            scale = self.scaler.get_scale() if self.step_scheduler is not None else None
            self.scaler.step(self.optimizer)  # skipped when a gradient is Inf/NaN
            self.scaler.update()  # lowers the scale after a skip, raises it after many good steps
            stepped = scale is None or self.scaler.get_scale() >= scale
        self.optimizer.zero_grad(set_to_none=True)
        if self.step_scheduler is not None and stepped:
            self.step_scheduler.step()


class _LossReader:
    """Keeps each step's loss on the device and reads several at once (one device->CPU transfer)
    a few times per epoch, for the progress bar, TensorBoard and the training monitor."""

    def __init__(self, read_every: int, step: int, bar: Any, writer: Any, training_monitor: Any) -> None:
        self.read_every, self.step = read_every, step
        self.bar, self.writer, self.training_monitor = bar, writer, training_monitor
        self.pending: list[torch.Tensor] = []

    @property
    def should_stop(self) -> bool:
        return self.training_monitor is not None and bool(getattr(self.training_monitor, "should_stop", False))

    def add(self, loss: torch.Tensor, epoch: int) -> None:
        self.pending.append(loss.detach())
        self.step += 1
        if len(self.pending) >= self.read_every:
            self.flush(epoch)

    def flush(self, epoch: int) -> None:
        if not self.pending:
            return
        values = torch.stack(self.pending).float().tolist()
        self.pending = []
        first = self.step - len(values) + 1
        if self.training_monitor is not None:
            self.training_monitor.update_many(values, first_step=first)
        if self.writer is not None:
            for k, v in enumerate(values):
                self.writer.add_scalar("loss/train_step", v, first + k)
        if self.bar is not None:
            self.bar.update(len(values))
            self.bar.set_postfix({"epoch": epoch, "loss": f"{values[-1]:.4g}"}, refresh=False)


def _train_one_epoch(model, loader, loss_fn, stepper: _Stepper, reader: _LossReader, epoch: int, *,
                     device: torch.device, accumulation_steps: int, n_batches: int | None,
                     amp_dtype: torch.dtype | None = None) -> torch.Tensor | None:
    """One pass over ``loader`` in train mode. Returns the sample-averaged training loss as a
    0-dim tensor on ``device`` (not read yet), or ``None`` when the training monitor stopped it.
    With ``amp_dtype`` the forward and the loss run under ``torch.autocast``; ``backward`` runs
    outside it, as PyTorch recommends (its ops follow the dtypes the forward chose)."""
    model.train()
    total = torch.zeros((), device=device)
    seen = 0
    stepper.optimizer.zero_grad(set_to_none=True)
    group_start, group_len = 1, accumulation_steps  # the batches of one optimizer step
    i = 0
    for i, batch in enumerate(loader, 1):
        if i == group_start and n_batches is not None:  # a shorter last group is scaled by its length
            group_len = min(accumulation_steps, n_batches - group_start + 1)
        x, y = _unpack(batch)
        x, y = _to(x, device), _to(y, device)
        with _autocast(device, amp_dtype):
            loss = loss_fn(model(x), y)
        stepper.backward(loss / group_len)
        n = _batch_size(y)
        total += loss.detach().float() * n
        seen += n
        if i - group_start + 1 == group_len:
            stepper.step()
            group_start = i + 1
        reader.add(loss, epoch)
        if reader.should_stop:
            break
    if i == 0:
        raise ValueError("train_loader gave no batches: cannot train on an empty dataset")
    reader.flush(epoch)
    if reader.should_stop:
        return None
    if i >= group_start:  # a partial group left (loader without len): step on what we have
        stepper.step()
    return total / seen


def _check_scheduler(scheduler: Any, scheduler_interval: str) -> None:
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(
            f"scheduler_interval must be 'epoch' (scheduler.step() after each epoch) or 'step' (after each"
            f" optimizer step), got {scheduler_interval!r}"
        )
    if scheduler is None:
        return
    if not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must be a torch.optim.lr_scheduler scheduler, got {type(scheduler).__name__}")
    name = type(scheduler).__name__
    if isinstance(scheduler, _PER_STEP_SCHEDULERS) and scheduler_interval == "epoch":
        raise ValueError(
            f"{name} lays out its schedule in optimizer steps (total_steps / step_size_up), but fit steps"
            f" the scheduler once per epoch by default, so the learning rate would stay near its start:"
            f" pass scheduler_interval=\"step\" (fit then calls scheduler.step() after every optimizer step;"
            f" with accumulation_steps=k that is every k batches)"
        )
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and scheduler_interval == "step":
        raise ValueError(
            "ReduceLROnPlateau needs the epoch's monitored metric (scheduler.step(val_loss)), which exists"
            " only after each epoch: use scheduler_interval=\"epoch\" (the default)"
        )


def fit(
    model: nn.Module,
    train_loader: Iterable,
    val_loader: Iterable | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    epochs: int = 1,
    *,
    device: torch.device | str | None = None,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    accumulation_steps: int = 1,
    clip_grad_norm: float | None = None,
    early_stopping: int | None = None,
    monitor: str = "val_loss",
    mode: str = "min",
    metrics: Mapping[str, Metric] | None = None,
    log_dir: Any = None,
    checkpoint: Any = None,
    start_epoch: int = 0,
    training_monitor: Any = None,
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    compile: bool | Mapping[str, Any] = False,
    progress: bool = True,
) -> History:
    """Train ``model`` for epochs ``start_epoch + 1 .. epochs`` and return the metric history.

    Each epoch: ``model.train()``; for every batch ``(inputs, targets)`` forward, loss,
    ``(loss / accumulation_steps).backward()``; every ``accumulation_steps`` batches (and at
    the end of the epoch) clip the gradient norm to ``clip_grad_norm`` (if given),
    ``optimizer.step()``, ``optimizer.zero_grad()`` (and ``scheduler.step()`` when
    ``scheduler_interval="step"``). Then evaluate on ``val_loader`` (if given) with
    :func:`evaluate`, step a per-epoch ``scheduler`` once (``ReduceLROnPlateau`` gets the
    ``monitor`` metric), update the early-stopping state, log to TensorBoard, save a checkpoint
    and maybe stop early.

    ``loss_fn(outputs, targets)`` must return the batch **mean** (PyTorch's default
    ``reduction="mean"``); ``train_loss`` is then averaged over samples.

    Args:
        model, train_loader, val_loader, loss_fn, optimizer: what to train, on which batches
            ``(inputs, targets)``, validated on which (``None``: no validation), with which loss and
            ``torch.optim`` optimizer.
        epochs: the **total** number of epochs, counting the ``start_epoch`` ones already done.
        device: where to train; the model and every batch are moved there
            (default ``course.device.pick_device()``).
        scheduler: any LR scheduler, stepped as ``scheduler_interval`` says.
        scheduler_interval: ``"epoch"`` (default): ``scheduler.step()`` once per epoch, after
            evaluation (StepLR, CosineAnnealingLR over epochs, ReduceLROnPlateau). ``"step"``: after
            every **optimizer** step (with ``accumulation_steps=k``, every k batches), for schedules
            counted in steps: OneCycleLR and CyclicLR (which refuse ``"epoch"``), or a warm-up
            ``LambdaLR`` over N steps. ReduceLROnPlateau refuses ``"step"``.
        accumulation_steps: sum gradients over this many batches before one optimizer step,
            so ``batch_size=b, accumulation_steps=k`` behaves like batch size ``k*b``. When the
            loader has a length, a shorter last group at the end of an epoch is scaled by its
            own length; without one it is scaled by ``1/k`` like the others.
        clip_grad_norm: clip the total gradient norm to this value before each step.
        early_stopping: stop when ``monitor`` has not improved (``mode="min"`` or ``"max"``)
            for this many epochs. **The model keeps the weights of the last epoch**: nothing
            is restored. To use the best weights, pass ``checkpoint=`` (e.g.
            ``course.checkpoint.CheckpointManager``) and load ``checkpoint.best()``;
            ``history.best_epoch`` says which epoch it was. The state (best value, its epoch,
            epochs without improvement) is saved in every checkpoint and restored on resume.
        monitor, mode: the metric early stopping and ReduceLROnPlateau watch (a key of the
            history: ``"val_loss"``, ``"val_acc"``, ``"train_loss"``) and whether smaller
            (``"min"``) or larger (``"max"``) is better.
        metrics: ``name -> fn(logits, targets) -> float`` computed on the validation set and
            stored as ``val_<name>`` (e.g. ``{"acc": accuracy}``).
        log_dir: write TensorBoard scalars there (per epoch, plus the training loss at each
            progress update as ``loss/train_step``).
        checkpoint: an object with ``save(epoch=, model=, optimizer=, scheduler=, scaler=,
            metrics=, fit_state=)`` (a ``course.checkpoint.CheckpointManager``), called after every
            epoch with that epoch's metrics and the early-stopping state.
        start_epoch: epochs already done (``ckpt["epoch"]`` after ``ckpt = manager.load(...)``).
            With ``checkpoint=manager`` the early-stopping state saved after that epoch is
            restored (``manager.fit_state(start_epoch)``), so the resumed run stops at the same
            epoch as an uninterrupted one. ``early_stopping`` with ``start_epoch > 0`` and no
            saved state is an error.
        training_monitor: a :class:`course.monitor.TrainingMonitor` fed every step's loss
            (read in bulk at each progress update, not one GPU sync per step). When it asks
            to stop (a NaN/Inf loss), ``fit`` stops and says so in ``history.stop_reason``.
        amp_dtype: mixed precision: ``torch.bfloat16`` or ``torch.float16`` runs the forward
            and the loss (training and evaluation) under ``torch.autocast(device.type,
            dtype=amp_dtype)``; the weights, gradients and optimizer state stay float32.
            ``None`` (default): full precision. bfloat16 has float32's range and needs no
            scaler (the CPU's format); float16 **requires** ``scaler`` (an error otherwise).
        scaler: a ``torch.amp.GradScaler(device.type)`` for ``amp_dtype=torch.float16``: fit
            scales the loss before ``backward``, unscales before clipping, steps through
            ``scaler.step``/``scaler.update`` (skipping steps with Inf/NaN gradients) and passes
            it to ``checkpoint.save`` (restore it with ``manager.load(..., scaler=scaler)``). It
            is allowed, though not needed, with bfloat16; without ``amp_dtype`` it is an error.
            A disabled one (``enabled=False``) does nothing.
        compile: ``True`` trains (and evaluates) ``torch.compile(model)``; a dict gives
            ``torch.compile``'s keyword arguments (e.g. ``{"backend": "eager"}``,
            ``{"mode": "max-autotune"}``). The first batches take the compile time. ``model``
            itself stays the plain module: checkpoints hold its ``state_dict`` (no
            ``_orig_mod.`` prefix).
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        :class:`History` with ``train_loss``, ``val_loss``, ``val_<metric>`` and ``lr`` (the
        learning rate of the epoch's last optimizer step) per epoch.
    """
    # ---- check the arguments, so mistakes fail here with a clear message ----
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if loss_fn is None or not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be callable, e.g. nn.CrossEntropyLoss(), got {type(loss_fn).__name__}"
        )
    if optimizer is None:
        raise ValueError("fit needs an optimizer, e.g. optimizer=torch.optim.AdamW(model.parameters(), lr=1e-3)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if not isinstance(start_epoch, int) or start_epoch < 0:
        raise ValueError(f"start_epoch must be an int >= 0 (epochs already done), got {start_epoch!r}")
    if start_epoch >= epochs:
        raise ValueError(
            f"start_epoch={start_epoch} means {start_epoch} epochs are already done, so epochs={epochs} "
            f"leaves nothing to train: pass a larger epochs (the total, not the number still to run)"
        )
    if not isinstance(accumulation_steps, int) or accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be an int >= 1, got {accumulation_steps!r}")
    if clip_grad_norm is not None and not (isinstance(clip_grad_norm, (int, float)) and clip_grad_norm > 0):
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
    if early_stopping is not None and (not isinstance(early_stopping, int) or early_stopping < 1):
        raise ValueError(f"early_stopping must be a number of epochs >= 1 or None, got {early_stopping!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (losses) or 'max' (accuracies), got {mode!r}")
    _check_scheduler(scheduler, scheduler_interval)
    device = pick_device() if device is None else torch.device(device)
    _check_precision(amp_dtype, scaler, device)
    compile_kwargs = _compile_kwargs(compile, model)
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if val_loader is None and monitor.startswith("val_") and (early_stopping or plateau):
        raise ValueError(
            f"monitor={monitor!r} needs a val_loader (early stopping and ReduceLROnPlateau watch it); "
            "pass val_loader, or monitor='train_loss'"
        )
    if checkpoint is not None and not callable(getattr(checkpoint, "save", None)):
        raise TypeError(
            "checkpoint must have a save(epoch=, model=, optimizer=, scheduler=, scaler=, metrics=, fit_state=) method,"
            " e.g. a course.checkpoint.CheckpointManager"
        )
    n_batches = _check_loader(train_loader, "train_loader")
    _check_loader(val_loader, "val_loader")
    metrics = dict(metrics or {})

    stopping = _EarlyStopping(monitor, mode)
    if start_epoch > 0:
        _resume_early_stopping(stopping, checkpoint, start_epoch, early_stopping)

    model.to(device)
    # the module that runs: compiled or not. `model` stays the plain one, for checkpoints
    runner = torch.compile(model, **compile_kwargs) if compile_kwargs is not None else model
    history = History()
    history.best_epoch, history.best_value = stopping.best_epoch, stopping.best
    stepper = _Stepper(runner, optimizer, clip_grad_norm, scheduler if scheduler_interval == "step" else None,
                       scaler)

    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(log_dir=str(log_dir))

    bar = None
    if progress:
        from tqdm.auto import tqdm

        total = (epochs - start_epoch) * n_batches if n_batches else None
        bar = tqdm(total=total, desc=f"epochs {start_epoch + 1}-{epochs}", unit="batch")
    # read the losses a few times per epoch (progress bar, monitor, TensorBoard), not every step
    reader = _LossReader(max(1, (n_batches or 20) // 4), start_epoch * (n_batches or 0), bar, writer,
                         training_monitor)

    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            if early_stopping is not None and stopping.bad_epochs >= early_stopping:  # resumed a finished run
                history.stopped_early = True
                history.stop_reason = (f"the saved run had already stopped early after epoch {start_epoch}"
                                       f" ({monitor} did not improve for {stopping.bad_epochs} epochs)")
                print(f"Nothing to train: {history.stop_reason}.")
                break
            train_loss = _train_one_epoch(runner, train_loader, loss_fn, stepper, reader, epoch, device=device,
                                          accumulation_steps=accumulation_steps, n_batches=n_batches,
                                          amp_dtype=amp_dtype)
            if train_loss is None:
                history.stop_reason = f"the training monitor stopped the run in epoch {epoch} (NaN/Inf loss)"
                print(f"Stopped: {history.stop_reason}. See the alert above.")
                break

            row = {"train_loss": train_loss.item()}
            if val_loader is not None:
                for key, value in evaluate(runner, val_loader, loss_fn, device, metrics, amp_dtype).items():
                    row[f"val_{key}"] = value
            row["lr"] = stepper.last_lr
            history.append(epoch, row)

            watched = row.get(monitor)
            if (early_stopping or plateau) and watched is None:
                raise KeyError(f"monitor={monitor!r} is not among this epoch's metrics {sorted(row)}")
            if scheduler is not None and scheduler_interval == "epoch":
                scheduler.step(watched) if plateau else scheduler.step()
            if watched is not None:
                stopping.update(watched, epoch)
                history.best_epoch, history.best_value = stopping.best_epoch, stopping.best
            if writer is not None:
                for key, value in row.items():
                    writer.add_scalar(_tb_tag(key), value, epoch)
                writer.flush()
            if checkpoint is not None:  # after the early-stopping update: a resumed run counts on from here
                checkpoint.save(epoch=epoch, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                                metrics=row, fit_state=stopping.state_dict())
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()}, refresh=True)

            if early_stopping is not None and stopping.bad_epochs >= early_stopping and epoch < epochs:
                history.stopped_early = True
                best = stopping.best
                history.stop_reason = (
                    f"{monitor} did not improve for {early_stopping} epochs "
                    + (f"(best {best:.4f} at epoch {stopping.best_epoch})" if best is not None else "(no finite value yet)")
                )
                print(f"Early stopping after epoch {epoch}: {history.stop_reason}. "
                      "The model keeps its last weights.")
                break
    finally:
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
    return history


def _check_precision(amp_dtype: Any, scaler: Any, device: torch.device) -> None:
    """Mixed-precision arguments that fit together (see ``fit``'s ``amp_dtype`` and ``scaler``)."""
    _check_amp_dtype(amp_dtype, device)
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(f"scaler must be a torch.amp.GradScaler(device.type), got {type(scaler).__name__}")
    enabled = scaler is not None and scaler.is_enabled()
    if enabled and amp_dtype is None:
        raise ValueError(
            "a GradScaler is for float16 mixed precision, but amp_dtype is None (full float32 precision):"
            " pass amp_dtype=torch.float16 with it, or leave scaler out"
        )
    if enabled and getattr(scaler, "_device", device.type) != device.type:
        raise ValueError(
            f"the GradScaler was made for {scaler._device!r} but fit trains on {device.type!r}: use"
            f" torch.amp.GradScaler({device.type!r}) (torch.amp.GradScaler(device.type))"
        )
    if amp_dtype == torch.float16 and not enabled:
        what = "the GradScaler given is disabled (enabled=False)" if scaler is not None else "no scaler was given"
        raise ValueError(
            f"amp_dtype=torch.float16 needs a GradScaler, but {what}: float16 cannot hold gradients"
            " below about 6e-8, so small ones underflow to zero and training silently stalls. Pass"
            f" scaler=torch.amp.GradScaler({device.type!r}), or use amp_dtype=torch.bfloat16 (float32's range,"
            " no scaler needed)"
        )


_COMPILE_KEYS = tuple(k for k in inspect.signature(torch.compile).parameters if k != "model")


def _compile_kwargs(compile: Any, model: nn.Module) -> dict[str, Any] | None:
    """``torch.compile``'s keyword arguments for fit's ``compile=`` (None: do not compile)."""
    if compile is False or compile is None:
        return None
    if compile is True:
        kwargs: dict[str, Any] = {}
    elif isinstance(compile, Mapping):
        kwargs = dict(compile)
        unknown = sorted(set(kwargs) - set(_COMPILE_KEYS))
        if unknown:
            raise ValueError(f"compile={compile!r}: torch.compile has no argument {unknown}; it takes {list(_COMPILE_KEYS)}")
    else:
        raise TypeError(
            f"compile must be True, False or a dict of torch.compile arguments (e.g. {{'backend': 'eager'}}),"
            f" got {type(compile).__name__}"
        )
    if isinstance(getattr(model, "_orig_mod", None), nn.Module):
        raise ValueError(
            "model is already torch.compile-d: pass the plain module with compile=..., or the compiled one"
            " with compile=False (checkpoints then still hold the plain module's state_dict)"
        )
    return kwargs


def _resume_early_stopping(stopping: _EarlyStopping, checkpoint: Any, start_epoch: int,
                           early_stopping: int | None) -> None:
    """Restore the early-stopping state saved after epoch ``start_epoch`` (see ``fit``'s ``start_epoch``)."""
    saved = None
    if checkpoint is not None and callable(getattr(checkpoint, "fit_state", None)):
        saved = checkpoint.fit_state(start_epoch)
    if saved is None:
        if early_stopping is not None:
            raise ValueError(
                f"start_epoch={start_epoch} with early_stopping={early_stopping} needs the early-stopping state"
                f" of the first {start_epoch} epochs (best {stopping.monitor} so far, epochs without"
                " improvement), or the resumed run would stop at another epoch than an uninterrupted one:"
                " pass checkpoint=manager, the CheckpointManager that saved the run, whose checkpoint of"
                f" epoch {start_epoch} you loaded"
            )
        return
    if (saved.get("monitor"), saved.get("mode")) != (stopping.monitor, stopping.mode):
        if early_stopping is not None:
            raise ValueError(
                f"the checkpoint of epoch {start_epoch} watched {saved.get('monitor')!r} (mode"
                f" {saved.get('mode')!r}), but this run has monitor={stopping.monitor!r}, mode={stopping.mode!r}:"
                " resume with the saved run's monitor and mode, or the early stopping would not continue it"
            )
        return  # a different metric without early stopping: start its best afresh
    stopping.load_state_dict(saved)
