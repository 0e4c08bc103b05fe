"""Unit tests of course.train: small CPU problems, no progress bars."""


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

    def save(self, epoch, model, optimizer=None, scheduler=None, scaler=None, metrics=None):
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
