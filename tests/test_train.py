"""Unit tests of course.train: small CPU problems, no progress bars."""

import itertools

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course.monitor import TrainingMonitor
from course.train import History, accuracy, evaluate, fit


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    return X, y


def _loaders(batch_size=16, n=64):
    X, y = _data(n)
    ds = TensorDataset(X, y)
    return DataLoader(ds, batch_size=batch_size), DataLoader(ds, batch_size=32)


def _model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))


def _fit(model, train, val=None, **kw):
    kw.setdefault("optimizer", torch.optim.SGD(model.parameters(), lr=0.1))
    kw.setdefault("loss_fn", nn.CrossEntropyLoss())
    return fit(model, train, val, device="cpu", progress=False, **kw)


def test_fit_reduces_loss_and_history_shapes():
    train, val = _loaders()
    model = _model()
    hist = _fit(model, train, val, epochs=5, metrics={"acc": accuracy})
    assert isinstance(hist, History)
    assert set(hist) == {"train_loss", "val_loss", "val_acc", "lr"}
    assert all(len(v) == 5 for v in hist.values())
    assert all(isinstance(v, float) for vals in hist.values() for v in vals)
    assert hist.epochs == [1, 2, 3, 4, 5]
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert hist["val_loss"][-1] < hist["val_loss"][0]
    assert hist.best_epoch is not None


def test_evaluate_matches_full_batch_and_restores_mode():
    X, y = _data()
    model = _model()
    model.train()
    res = evaluate(model, DataLoader(TensorDataset(X, y), batch_size=10), nn.CrossEntropyLoss(),
                   metrics={"acc": accuracy})
    with torch.no_grad():
        out = model(X)
    assert res["loss"] == pytest.approx(nn.functional.cross_entropy(out, y).item(), rel=1e-5)
    assert res["acc"] == pytest.approx((out.argmax(1) == y).float().mean().item())
    assert model.training


def test_accuracy_multiclass_and_binary():
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])) == 0.5
    assert accuracy(torch.tensor([1.0, -1.0, 2.0]), torch.tensor([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        accuracy(torch.zeros(3, 2), torch.zeros(4))


def test_accumulation_equals_one_big_batch():
    X, y = _data(n=32)
    ds = TensorDataset(X, y)
    small, big = _model(), _model()
    _fit(small, DataLoader(ds, batch_size=8), epochs=1, accumulation_steps=4,
         optimizer=torch.optim.SGD(small.parameters(), lr=0.5))
    _fit(big, DataLoader(ds, batch_size=32), epochs=1,
         optimizer=torch.optim.SGD(big.parameters(), lr=0.5))
    for a, b in zip(small.parameters(), big.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_accumulation_steps_at_end_of_epoch():
    """5 batches with accumulation_steps=2: steps after batches 2, 4 and 5."""
    X, y = _data(n=40)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    calls = []
    original = opt.step
    opt.step = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    _fit(model, DataLoader(TensorDataset(X, y), batch_size=8), epochs=1, accumulation_steps=2, optimizer=opt)
    assert len(calls) == 3


def test_clipping_bound_respected():
    X, y = _data()
    model = _model()
    norms = []
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    original = opt.step

    def step(*a, **k):
        grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
        norms.append(torch.cat(grads).norm().item())
        return original(*a, **k)

    opt.step = step
    _fit(model, DataLoader(TensorDataset(X * 100, y), batch_size=16), epochs=2, clip_grad_norm=0.5, optimizer=opt)
    assert len(norms) == 8
    assert max(norms) <= 0.5 + 1e-4


def test_early_stopping_stops():
    train, val = _loaders()
    model = _model()
    # lr=0 -> val_loss never improves after epoch 1
    hist = _fit(model, train, val, epochs=20, early_stopping=2,
                optimizer=torch.optim.SGD(model.parameters(), lr=0.0))
    assert hist.stopped_early
    assert len(hist["val_loss"]) == 3
    assert hist.best_epoch == 1


def test_scheduler_is_stepped_per_epoch_and_plateau_gets_metric():
    train, val = _loaders()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = _fit(model, train, val, epochs=3, optimizer=opt, scheduler=sched)
    assert hist["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    opt.param_groups[0]["lr"] = 0.0
    seen = []
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    original = plateau.step
    plateau.step = lambda metric, *a, **k: (seen.append(metric), original(metric, *a, **k))[1]
    hist = _fit(model, train, val, epochs=2, optimizer=opt, scheduler=plateau)
    assert seen == pytest.approx(hist["val_loss"])


def test_tensorboard_files_written(tmp_path):
    train, val = _loaders()
    model = _model()
    _fit(model, train, val, epochs=2, log_dir=tmp_path / "run")
    files = list((tmp_path / "run").glob("events.out.tfevents.*"))
    assert files and files[0].stat().st_size > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "run")).Reload()
    tags = acc.Tags()["scalars"]
    assert {"loss/train", "loss/val", "lr", "loss/train_step"} <= set(tags)
    assert [e.step for e in acc.Scalars("loss/val")] == [1, 2]


class FakeCheckpoint:
    def __init__(self):
        self.calls = []

    def save(self, epoch, model, optimizer=None, scheduler=None, scaler=None, metrics=None, fit_state=None):
        self.calls.append((epoch, dict(metrics)))


def test_checkpoint_save_called_each_epoch_and_start_epoch_resumes():
    train, val = _loaders()
    model = _model()
    ckpt = FakeCheckpoint()
    _fit(model, train, val, epochs=2, checkpoint=ckpt)
    assert [c[0] for c in ckpt.calls] == [1, 2]
    assert {"train_loss", "val_loss", "lr"} <= set(ckpt.calls[0][1])

    ckpt2 = FakeCheckpoint()
    hist = _fit(model, train, val, epochs=5, checkpoint=ckpt2, start_epoch=2)
    assert [c[0] for c in ckpt2.calls] == [3, 4, 5]
    assert hist.epochs == [3, 4, 5]
    assert len(hist["train_loss"]) == 3


def test_monitor_stops_fit_on_nan(capsys):
    X, y = _data()
    X[10] = float("nan")
    model = _model()
    mon = TrainingMonitor()
    hist = _fit(model, DataLoader(TensorDataset(X, y), batch_size=16), epochs=3, training_monitor=mon)
    assert mon.should_stop and mon.alerts[0].kind == "nan" and mon.alerts[0].step == 1
    assert hist.stop_reason and "monitor" in hist.stop_reason
    assert hist.epochs == []
    assert "Step 1" in capsys.readouterr().out


def test_bad_input_raises_clear_errors():
    train, val = _loaders()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="optimizer"):
        fit(model, train, val, loss, None, epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, train, val, loss, opt, epochs=0, progress=False)
    with pytest.raises(TypeError, match="loss_fn"):
        fit(model, train, val, "mse", opt, epochs=1, progress=False)
    empty = DataLoader(TensorDataset(torch.zeros(0, 4), torch.zeros(0).long()), batch_size=4)
    with pytest.raises(ValueError, match="empty"):
        fit(model, empty, None, loss, opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, train, None, loss, opt, epochs=2, early_stopping=1, progress=False)
    with pytest.raises(ValueError, match="start_epoch"):
        fit(model, train, val, loss, opt, epochs=2, start_epoch=2, progress=False)
    with pytest.raises(ValueError, match="accumulation_steps"):
        fit(model, train, val, loss, opt, epochs=1, accumulation_steps=0, progress=False)


def test_resume_with_checkpoint_manager_matches_uninterrupted_run(tmp_path):
    """fit + course.checkpoint (lesson 07): 2 epochs, reload, 2 more == 4 epochs in one go."""
    ckpt_mod = pytest.importorskip("course.checkpoint")
    X, y = _data()

    def loader():
        return DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(0))

    ref = _model()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    torch.manual_seed(1)
    full = fit(ref, loader(), None, nn.CrossEntropyLoss(), ref_opt, epochs=4, device="cpu", progress=False)

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    manager = ckpt_mod.CheckpointManager(tmp_path, keep_last=2, monitor="train_loss")
    torch.manual_seed(1)
    train = loader()
    fit(model, train, None, nn.CrossEntropyLoss(), opt, epochs=2, device="cpu", checkpoint=manager, progress=False)

    model2 = _model(seed=5)
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.1, momentum=0.9)
    state = manager.load(model=model2, optimizer=opt2)
    assert state["epoch"] == 2
    rest = fit(model2, train, None, nn.CrossEntropyLoss(), opt2, epochs=4, device="cpu",
               start_epoch=state["epoch"], progress=False)
    assert rest.epochs == [3, 4]
    assert rest["train_loss"] == pytest.approx(full["train_loss"][2:], rel=1e-6)
    for a, b in zip(model2.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_early_stopping_counts_a_nan_metric_as_no_improvement(capsys):
    from course.train import fit

    torch.manual_seed(0)
    x, y = torch.randn(32, 3), torch.randint(0, 2, (32,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = nn.Linear(3, 2)

    def loss_fn(out, target):  # finite for training, NaN once evaluation runs (no grad)
        loss = nn.functional.cross_entropy(out, target)
        return loss if torch.is_grad_enabled() else loss * float("nan")

    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    hist = fit(model, loader, loader, loss_fn, opt, epochs=5, device="cpu", early_stopping=2, progress=False)
    assert hist.stopped_early and len(hist["val_loss"]) == 2
    assert "no finite value yet" in hist.stop_reason


# --------------------------------------------------------------------------- resume with early stopping


def _scripted_metric(values):
    """A validation 'metric' that returns the next scripted value at each epoch (one call per epoch)."""
    it = iter(values)
    return lambda logits, targets: next(it)


def test_resume_with_early_stopping_stops_at_the_same_epoch(tmp_path):
    """Straight run vs 2 epochs + resume: the same stop epoch and bit-identical weights.

    val_score (mode max) improves up to epoch 2, then not: with early_stopping=2 the straight run
    stops after epoch 4. A resumed run that forgot the best value would see 0.60 as a new best at
    epoch 3 and go on improving until epoch 8.
    """
    from course.checkpoint import CheckpointManager

    scores = [0.5, 0.7, 0.6, 0.65, 0.66, 0.67, 0.68, 0.69]
    X, y = _data()

    def run_setup(seed=0):
        model = _model(seed)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)
        return model, opt, sched

    def loader():  # shuffles with the global generator, which the manager saves and restores
        return DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)

    common = dict(device="cpu", progress=False, early_stopping=2, monitor="val_score", mode="max")
    val = DataLoader(TensorDataset(X, y), batch_size=64)

    torch.manual_seed(1)
    ref, ref_opt, ref_sched = run_setup()
    straight = fit(ref, loader(), val, nn.CrossEntropyLoss(), ref_opt, epochs=8, scheduler=ref_sched,
                   metrics={"score": _scripted_metric(scores)}, **common)
    assert straight.stopped_early and straight.epochs[-1] == 4 and straight.best_epoch == 2

    torch.manual_seed(1)
    metric = _scripted_metric(scores)  # the resumed "process" continues the same script
    model, opt, sched = run_setup()
    manager = CheckpointManager(tmp_path, keep_last=3, monitor="val_score", mode="max")
    first = fit(model, loader(), val, nn.CrossEntropyLoss(), opt, epochs=2, scheduler=sched,
                metrics={"score": metric}, checkpoint=manager, **common)
    assert not first.stopped_early and first.epochs == [1, 2]

    torch.rand(10)  # the crash: other randomness is drawn, the objects are lost
    model, opt, sched = run_setup(seed=7)
    ckpt = CheckpointManager(tmp_path, monitor="val_score", mode="max").load(model=model, optimizer=opt,
                                                                            scheduler=sched)
    assert ckpt["fit_state"]["best_epoch"] == 2 and ckpt["fit_state"]["bad_epochs"] == 0
    # a fresh manager object on the same folder: fit reads the state from the epoch-2 file
    resumed = fit(model, loader(), val, nn.CrossEntropyLoss(), opt, epochs=8, scheduler=sched,
                  metrics={"score": metric}, checkpoint=CheckpointManager(tmp_path, monitor="val_score", mode="max"),
                  start_epoch=ckpt["epoch"], **common)
    assert resumed.stopped_early
    assert resumed.epochs == [3, 4]
    assert resumed.best_epoch == 2 and resumed.best_value == pytest.approx(0.7)
    for a, b in zip(model.state_dict().values(), ref.state_dict().values()):
        assert torch.equal(a, b)
    # resuming from the epoch where the run stopped trains nothing more
    after = fit(model, loader(), val, nn.CrossEntropyLoss(), opt, epochs=8, scheduler=sched,
                metrics={"score": metric}, checkpoint=manager, start_epoch=4, **common)
    assert after.epochs == [] and after.stopped_early and "already stopped early after epoch 4" in after.stop_reason
    for a, b in zip(model.state_dict().values(), ref.state_dict().values()):
        assert torch.equal(a, b)


def test_resume_with_early_stopping_needs_the_saved_state():
    train, val = _loaders()
    model = _model()
    with pytest.raises(ValueError, match="start_epoch=2 with early_stopping=2 needs the early-stopping state"):
        _fit(model, train, val, epochs=5, start_epoch=2, early_stopping=2)
    with pytest.raises(ValueError, match="checkpoint=manager"):
        _fit(model, train, val, epochs=5, start_epoch=2, early_stopping=2, checkpoint=FakeCheckpoint())


def test_resume_restores_state_from_the_last_load(tmp_path):
    """After manager.load(copy outside the folder), fit(checkpoint=manager) uses that file's state."""
    from course.checkpoint import CheckpointManager

    train, val = _loaders()
    model = _model()
    manager = CheckpointManager(tmp_path / "run", monitor="val_loss")
    _fit(model, train, val, epochs=2, checkpoint=manager, early_stopping=3)
    copy = tmp_path / "spare.pt"
    copy.write_bytes(manager.latest().read_bytes())
    for p in (tmp_path / "run").glob("*.pt"):
        p.unlink()
    ckpt = manager.load(copy, model=model)
    assert manager.fit_state(2) == ckpt["fit_state"] and ckpt["fit_state"]["monitor"] == "val_loss"
    assert manager.fit_state(1) is None
    hist = _fit(model, train, val, epochs=3, checkpoint=manager, start_epoch=2, early_stopping=3)
    assert hist.epochs == [3]
    # the saved run watched val_loss; resuming its early stopping on another metric is refused
    with pytest.raises(ValueError, match="watched 'val_loss'"):
        _fit(model, train, val, epochs=5, checkpoint=manager, start_epoch=2, early_stopping=3,
             monitor="train_loss")


# --------------------------------------------------------------------------- per-step schedulers


def _record_lrs(opt):
    """Record the learning rate each optimizer step uses (a step pre-hook)."""
    lrs = []
    opt.register_step_pre_hook(lambda o, args, kwargs: lrs.append(o.param_groups[0]["lr"]))
    return lrs


def test_onecycle_per_step_reaches_its_peak_and_ends_low():
    train, _ = _loaders(batch_size=8)  # 8 batches per epoch
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    epochs, steps = 3, 3 * len(train)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=steps, pct_start=0.25)
    lrs = _record_lrs(opt)
    hist = _fit(model, train, epochs=epochs, optimizer=opt, scheduler=sched, scheduler_interval="step")
    assert len(lrs) == steps
    peak = max(range(steps), key=lambda i: lrs[i])
    assert lrs[peak] == pytest.approx(0.5, rel=1e-6)
    assert peak == round(0.25 * steps) - 1
    min_lr = 0.5 / 25 / 1e4  # max_lr / div_factor / final_div_factor
    assert lrs[-1] < 1e-3 and lrs[-1] == pytest.approx(min_lr, rel=0.05, abs=1e-4)
    assert hist["lr"] == pytest.approx([lrs[len(train) * e - 1] for e in range(1, epochs + 1)])


def test_lambdalr_warmup_counts_optimizer_steps_with_accumulation():
    X, y = _data(n=64)
    train = DataLoader(TensorDataset(X, y), batch_size=8)  # 8 batches, accumulation 2: 4 steps per epoch
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    warmup = 6
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup))
    lrs = _record_lrs(opt)
    _fit(model, train, epochs=2, optimizer=opt, scheduler=sched, scheduler_interval="step", accumulation_steps=2)
    expected = [0.2 * min(1.0, (s + 1) / warmup) for s in range(8)]
    assert lrs == pytest.approx(expected)
    assert sched.last_epoch == 8


def test_scheduler_interval_is_checked():
    train, val = _loaders()
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch'.*got 'batch'"):
        _fit(model, train, val, optimizer=opt, scheduler_interval="batch")
    one = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=10)
    with pytest.raises(ValueError, match='OneCycleLR.*scheduler_interval="step"'):
        _fit(model, train, val, optimizer=opt, scheduler=one)
    cyc = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=4)
    with pytest.raises(ValueError, match='CyclicLR.*scheduler_interval="step"'):
        _fit(model, train, val, optimizer=opt, scheduler=cyc)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="ReduceLROnPlateau needs the epoch's monitored metric"):
        _fit(model, train, val, optimizer=opt, scheduler=plateau, scheduler_interval="step")


# --------------------------------------------------------------------------- host syncs


_SYNCS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")


def test_fit_reads_losses_only_a_few_times_per_epoch(monkeypatch):
    """Every read of a GPU tensor on the host (.item(), .tolist(), float(t), bool(t), .cpu()) waits
    for the GPU. Count them on the CPU by patching those methods: fit must read a few times per
    epoch (progress updates, the epoch's loss), never once per step."""
    X, y = _data(n=256)
    train = DataLoader(TensorDataset(X, y), batch_size=8)  # 32 steps per epoch
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    counts = {}
    for name in _SYNCS:
        original = getattr(torch.Tensor, name)

        def counting(self, *a, _name=name, _original=original, **k):
            counts[_name] = counts.get(_name, 0) + 1
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counting)
    epochs = 3
    _fit(model, train, epochs=epochs, optimizer=opt, clip_grad_norm=1.0,
         training_monitor=TrainingMonitor(verbose=False))
    monkeypatch.undo()
    per_epoch = sum(counts.values()) / epochs
    print(counts)
    assert per_epoch <= 8, f"{counts} host reads in {epochs} epochs of {len(train)} steps"
    assert counts.get("tolist", 0) == 4 * epochs  # the progress updates: one transfer each


# --------------------------------------------------------------------------- mixed precision


class _DtypeRecorder(nn.Module):
    """Records the dtype of its input in training and in eval mode, passes it through."""

    def __init__(self):
        super().__init__()
        self.seen = {True: set(), False: set()}

    def forward(self, x):
        self.seen[self.training].add(x.dtype)
        return x


def test_bf16_autocast_runs_the_forward_in_bf16_and_keeps_float32_weights():
    train, val = _loaders()
    torch.manual_seed(0)
    rec = _DtypeRecorder()
    model = nn.Sequential(nn.Linear(4, 16), rec, nn.ReLU(), nn.Linear(16, 2))
    hist = _fit(model, train, val, epochs=4, amp_dtype=torch.bfloat16, metrics={"acc": accuracy},
                optimizer=torch.optim.SGD(model.parameters(), lr=0.2))
    assert rec.seen == {True: {torch.bfloat16}, False: {torch.bfloat16}}  # training and evaluation
    assert all(p.dtype == torch.float32 and p.grad is None for p in model.parameters())
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    plain = _model()  # without amp_dtype nothing is autocast
    rec2 = _DtypeRecorder()
    _fit(nn.Sequential(plain[0], rec2, plain[1], plain[2]), train, val, epochs=1)
    assert rec2.seen == {True: {torch.float32}, False: {torch.float32}}


def test_fp16_with_a_gradscaler_scales_unscales_before_clipping_and_is_checkpointed(tmp_path):
    """GradScaler("cpu") is the CPU analogue of the CUDA path (same code in fit)."""
    from course.checkpoint import CheckpointManager

    X, y = _data()
    train = DataLoader(TensorDataset(X * 100, y), batch_size=16)  # large gradients: clipping is active
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3)
    scaled = []
    original_scale = scaler.scale
    scaler.scale = lambda loss: (scaled.append(loss.detach().float()), original_scale(loss))[1]
    norms = []  # the gradient norm the optimizer sees: true units, after unscale and clipping

    def record(optimizer, args, kwargs):
        norms.append(torch.cat([p.grad.flatten() for p in model.parameters()]).norm().item())

    opt.register_step_pre_hook(record)
    manager = CheckpointManager(tmp_path, monitor="train_loss")
    _fit(model, train, epochs=2, optimizer=opt, amp_dtype=torch.float16, scaler=scaler, clip_grad_norm=0.5,
         checkpoint=manager)
    assert len(scaled) == 8 and len(norms) == 8  # every loss scaled, no step skipped
    assert max(norms) <= 0.5 + 1e-3 and min(norms) > 0.4  # clipped after unscaling, not 0.5 / scale
    assert scaler.get_scale() == 2.0**10 * 2**2  # update() ran: 8 good steps, growth every 3
    fresh = torch.amp.GradScaler("cpu")
    manager.load(model=_model(), optimizer=torch.optim.SGD(_model().parameters(), lr=0.01), scaler=fresh)
    assert fresh.get_scale() == scaler.get_scale() and fresh.state_dict() == scaler.state_dict()


def test_skipped_fp16_steps_do_not_advance_a_per_step_scheduler():
    import warnings

    train, _ = _loaders()  # 4 batches
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    taken = _record_lrs(opt)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**24)  # overflows float16: the first steps are skipped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fit(model, train, epochs=2, optimizer=opt, amp_dtype=torch.float16, scaler=scaler,
             scheduler=sched, scheduler_interval="step")
    assert 0 < len(taken) < 8 and scaler.get_scale() < 2.0**24
    assert sched.last_epoch == len(taken)
    assert not [w for w in caught if "lr_scheduler.step()" in str(w.message)]


def test_precision_arguments_are_checked():
    train, val = _loaders()
    model = _model()
    with pytest.raises(ValueError, match="float32 is what runs without autocast"):
        _fit(model, train, val, amp_dtype=torch.float32)
    with pytest.raises(ValueError, match="amp_dtype must be torch.bfloat16 or torch.float16"):
        _fit(model, train, val, amp_dtype="bf16")
    with pytest.raises(ValueError, match=r"float16 needs a GradScaler, but no scaler was given.*GradScaler\('cpu'\)"):
        _fit(model, train, val, amp_dtype=torch.float16)
    with pytest.raises(ValueError, match="disabled"):
        _fit(model, train, val, amp_dtype=torch.float16, scaler=torch.amp.GradScaler("cpu", enabled=False))
    with pytest.raises(ValueError, match="amp_dtype is None"):
        _fit(model, train, val, scaler=torch.amp.GradScaler("cpu"))
    with pytest.raises(TypeError, match="scaler must be a torch.amp.GradScaler"):
        _fit(model, train, val, amp_dtype=torch.float16, scaler="yes")
    cuda_scaler = torch.amp.GradScaler("cpu")
    cuda_scaler._device = "cuda"  # as GradScaler("cuda") on a GPU machine, without needing one
    with pytest.raises(ValueError, match="made for 'cuda' but fit trains on 'cpu'"):
        _fit(model, train, val, amp_dtype=torch.float16, scaler=cuda_scaler)
    # allowed: bf16 with a scaler (not needed), and the lesson pattern GradScaler(..., enabled=False) with bf16
    _fit(model, train, val, amp_dtype=torch.bfloat16, scaler=torch.amp.GradScaler("cpu"))
    _fit(model, train, val, amp_dtype=torch.bfloat16, scaler=torch.amp.GradScaler("cpu", enabled=False))


def test_evaluate_with_amp_gives_float32_outputs_to_metrics():
    X, y = _data()
    model = _model()
    seen = []

    def metric(out, target):
        seen.append(out.dtype)
        return accuracy(out, target)

    res = evaluate(model, DataLoader(TensorDataset(X, y), batch_size=16), nn.CrossEntropyLoss(),
                   metrics={"acc": metric}, amp_dtype=torch.bfloat16)
    assert seen == [torch.float32]
    full = evaluate(model, DataLoader(TensorDataset(X, y), batch_size=16), nn.CrossEntropyLoss())
    assert res["loss"] == pytest.approx(full["loss"], rel=0.05)


# --------------------------------------------------------------------------- torch.compile


def test_compile_trains_the_compiled_model_and_checkpoints_the_plain_one(tmp_path, monkeypatch):
    from course.checkpoint import CheckpointManager

    compiled_with = []
    real_compile = torch.compile

    def spy(model, **kwargs):
        compiled_with.append((model, kwargs))
        return real_compile(model, **kwargs)

    monkeypatch.setattr(torch, "compile", spy)
    train, val = _loaders()
    eager, compiled = _model(), _model()
    _fit(eager, train, val, epochs=2, optimizer=torch.optim.SGD(eager.parameters(), lr=0.1))
    manager = CheckpointManager(tmp_path)
    graphs = []

    def backend(gm, example_inputs):  # a torch.compile backend that runs the captured graph as is
        graphs.append(torch.is_grad_enabled())  # True: captured in training, False: in evaluation
        return gm.forward

    _fit(compiled, train, val, epochs=2, optimizer=torch.optim.SGD(compiled.parameters(), lr=0.1),
         compile={"backend": backend}, checkpoint=manager)
    assert compiled_with == [(compiled, {"backend": backend})]
    assert set(graphs) == {True, False}, "the compiled module must run the training steps and the evaluation"
    for a, b in zip(compiled.parameters(), eager.parameters()):
        torch.testing.assert_close(a, b)
    keys = list(torch.load(manager.latest(), weights_only=True)["model"])
    assert keys == list(compiled.state_dict()) and not any(k.startswith("_orig_mod.") for k in keys)
    fresh = _model(seed=3)
    manager.load(model=fresh)
    for a, b in zip(fresh.parameters(), compiled.parameters()):
        assert torch.equal(a, b)

    saved_models = []

    class Recorder(FakeCheckpoint):
        def save(self, epoch, model, **kw):
            saved_models.append(model)

    _fit(compiled, train, val, epochs=1, compile={"backend": "eager"}, checkpoint=Recorder())
    assert saved_models == [compiled]  # fit hands the checkpoint the plain module, not the wrapper


def test_checkpoint_manager_unwraps_a_compiled_model(tmp_path):
    from course.checkpoint import CheckpointManager

    model = _model()
    compiled = torch.compile(model, backend="eager")
    manager = CheckpointManager(tmp_path)
    manager.save(1, compiled)
    assert not any(k.startswith("_orig_mod.") for k in torch.load(manager.latest(), weights_only=True)["model"])
    other = torch.compile(_model(seed=2), backend="eager")
    manager.load(model=other)
    assert all(torch.equal(a, b) for a, b in zip(other.parameters(), model.parameters()))


def test_compile_arguments_are_checked():
    train, val = _loaders()
    model = _model()
    with pytest.raises(ValueError, match=r"torch.compile has no argument \['backnd'\]"):
        _fit(model, train, val, compile={"backnd": "eager"})
    with pytest.raises(TypeError, match="compile must be True, False or a dict"):
        _fit(model, train, val, compile="eager")
    with pytest.raises(ValueError, match="already torch.compile-d"):
        _fit(torch.compile(model, backend="eager"), train, val, compile=True)
