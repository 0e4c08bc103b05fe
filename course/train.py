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
"""

from __future__ import annotations

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


@torch.inference_mode()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device | str | None = None,
    metrics: Mapping[str, Metric] | None = None,
) -> dict[str, float]:
    """Average loss (and metrics) of ``model`` over ``loader`` in eval mode, without gradients.

    The loss is averaged over samples (each batch's mean loss weighted by its size). Metrics
    ``name -> fn(logits, targets) -> float`` are computed once on all outputs together,
    so they are exact (not an average of per-batch values). ``device`` defaults to the
    device of the model's parameters. The model's train/eval mode is restored afterwards.
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
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device)
    count = 0
    outputs, targets = [], []
    try:
        for batch in loader:
            x, y = _unpack(batch)
            x, y = _to(x, device), _to(y, device)
            out = model(x)
            n = _batch_size(y)
            total += loss_fn(out, y).detach().float() * n
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
        for name, fn in metrics.items():
            value = fn(all_out, all_y)
            result[name] = float(value.item() if isinstance(value, torch.Tensor) else value)
    return result


def _tb_tag(key: str) -> str:
    prefix, _, rest = key.partition("_")
    if prefix in ("train", "val") and rest:
        return f"{rest}/{prefix}"
    return key


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
    progress: bool = True,
) -> History:
    """Train ``model`` for epochs ``start_epoch + 1 .. epochs`` and return the metric history.

    Each epoch: ``model.train()``; for every batch ``(inputs, targets)`` forward, loss,
    ``(loss / accumulation_steps).backward()``; every ``accumulation_steps`` batches (and at
    the end of the epoch) clip the gradient norm to ``clip_grad_norm`` (if given),
    ``optimizer.step()`` and ``optimizer.zero_grad()``. Then evaluate on ``val_loader``
    (if given) with :func:`evaluate`, step the ``scheduler`` once (``ReduceLROnPlateau``
    gets the ``monitor`` metric), log to TensorBoard, save a checkpoint and check early
    stopping.

    ``loss_fn(outputs, targets)`` must return the batch **mean** (PyTorch's default
    ``reduction="mean"``); ``train_loss`` is then averaged over samples.

    Args:
        device: where to train; the model and every batch are moved there
            (default ``course.device.pick_device()``).
        scheduler: any LR scheduler; stepped once per **epoch**, after evaluation.
        accumulation_steps: sum gradients over this many batches before one optimizer step,
            so ``batch_size=b, accumulation_steps=k`` behaves like batch size ``k*b``. When the
            loader has a length, a shorter last group at the end of an epoch is scaled by its
            own length; without one it is scaled by ``1/k`` like the others.
        clip_grad_norm: clip the total gradient norm to this value before each step.
        early_stopping: stop when ``monitor`` has not improved (``mode="min"`` or ``"max"``)
            for this many epochs. **The model keeps the weights of the last epoch**: nothing
            is restored. To use the best weights, pass ``checkpoint=`` (e.g.
            ``course.checkpoint.CheckpointManager``) and load ``checkpoint.best()``;
            ``history.best_epoch`` says which epoch it was.
        metrics: ``name -> fn(logits, targets) -> float`` computed on the validation set and
            stored as ``val_<name>`` (e.g. ``{"acc": accuracy}``).
        log_dir: write TensorBoard scalars there (per epoch, plus the training loss at each
            progress update as ``loss/train_step``).
        checkpoint: an object with ``save(epoch=, model=, optimizer=, scheduler=, metrics=)``,
            called after every epoch with that epoch's metrics.
        start_epoch: epochs already done (e.g. ``ckpt["epoch"]`` after loading a checkpoint).
        training_monitor: a :class:`course.monitor.TrainingMonitor` fed every step's loss
            (read in bulk at each progress update, not one GPU sync per step). When it asks
            to stop (a NaN/Inf loss), ``fit`` stops and says so in ``history.stop_reason``.
        progress: show a ``tqdm.auto`` progress bar.

    Returns:
        :class:`History` with ``train_loss``, ``val_loss``, ``val_<metric>`` and ``lr`` per epoch.
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
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if val_loader is None and monitor.startswith("val_") and (early_stopping or plateau):
        raise ValueError(
            f"monitor={monitor!r} needs a val_loader (early stopping and ReduceLROnPlateau watch it); "
            "pass val_loader, or monitor='train_loss'"
        )
    if checkpoint is not None and not callable(getattr(checkpoint, "save", None)):
        raise TypeError("checkpoint must have a save(epoch=, model=, optimizer=, scheduler=, metrics=) method")
    n_batches = _check_loader(train_loader, "train_loader")
    _check_loader(val_loader, "val_loader")
    metrics = dict(metrics or {})

    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    history = History()
    better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
    best, bad_epochs = None, 0

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
    read_every = max(1, (n_batches or 20) // 4)
    global_step = start_epoch * (n_batches or 0)

    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            model.train()
            total_loss = torch.zeros((), device=device)
            seen = 0
            pending: list[torch.Tensor] = []
            optimizer.zero_grad(set_to_none=True)
            group_start, group_len = 1, accumulation_steps
            i = 0
            for i, batch in enumerate(train_loader, 1):
                if i == group_start and n_batches is not None:
                    group_len = min(accumulation_steps, n_batches - group_start + 1)
                x, y = _unpack(batch)
                x, y = _to(x, device), _to(y, device)
                loss = loss_fn(model(x), y)
                (loss / group_len).backward()
                n = _batch_size(y)
                total_loss += loss.detach().float() * n
                seen += n
                pending.append(loss.detach())
                global_step += 1
                if i - group_start + 1 == group_len:
                    if clip_grad_norm is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                    group_start = i + 1
                if len(pending) >= read_every or i == n_batches:
                    _read_losses(pending, global_step, bar, writer, training_monitor, epoch)
                    pending = []
                    if training_monitor is not None and getattr(training_monitor, "should_stop", False):
                        break
            if i == 0:
                raise ValueError("train_loader gave no batches: cannot train on an empty dataset")
            if pending:
                _read_losses(pending, global_step, bar, writer, training_monitor, epoch)
            if training_monitor is not None and getattr(training_monitor, "should_stop", False):
                history.stop_reason = f"the training monitor stopped the run in epoch {epoch} (NaN/Inf loss)"
                print(f"Stopped: {history.stop_reason}. See the alert above.")
                break
            if i >= group_start:  # a partial group left (loader without len): step on what we have
                if clip_grad_norm is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            row = {"train_loss": (total_loss / seen).item()}
            if val_loader is not None:
                for key, value in evaluate(model, val_loader, loss_fn, device, metrics).items():
                    row[f"val_{key}"] = value
            row["lr"] = optimizer.param_groups[0]["lr"]
            history.append(epoch, row)

            watched = row.get(monitor)
            if (early_stopping or plateau) and watched is None:
                raise KeyError(f"monitor={monitor!r} is not among this epoch's metrics {sorted(row)}")
            if scheduler is not None:
                scheduler.step(watched) if plateau else scheduler.step()
            if writer is not None:
                for key, value in row.items():
                    writer.add_scalar(_tb_tag(key), value, epoch)
                writer.flush()
            if checkpoint is not None:
                checkpoint.save(epoch=epoch, model=model, optimizer=optimizer, scheduler=scheduler, metrics=row)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4g}" for k, v in row.items()}, refresh=True)

            if watched is not None:
                if math.isfinite(watched) and (best is None or better(watched, best)):
                    best, bad_epochs = watched, 0
                    history.best_epoch, history.best_value = epoch, watched
                else:  # no better, or NaN/Inf: a run that diverged is not improving
                    bad_epochs += 1
            if early_stopping is not None and bad_epochs >= early_stopping and epoch < epochs:
                history.stopped_early = True
                history.stop_reason = (
                    f"{monitor} did not improve for {early_stopping} epochs "
                    + (f"(best {best:.4f} at epoch {history.best_epoch})" if best is not None else "(no finite value yet)")
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


def _read_losses(pending, step, bar, writer, training_monitor, epoch) -> None:
    """One device->CPU transfer for several steps' losses; feed the bar, TensorBoard, monitor."""
    values = torch.stack(pending).float().tolist()
    first = step - len(values) + 1
    if training_monitor is not None:
        training_monitor.update_many(values, first_step=first)
    if writer is not None:
        for k, v in enumerate(values):
            writer.add_scalar("loss/train_step", v, first + k)
    if bar is not None:
        bar.update(len(values))
        bar.set_postfix({"epoch": epoch, "loss": f"{values[-1]:.4g}"}, refresh=False)
