"""Unit tests of course.checkpoint: exact resuming, retention, atomic saves, safe and checked loading."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course import checkpoint as ck
from course.checkpoint import (
    CheckpointManager,
    CorruptCheckpointError,
    HashMismatchError,
    StateDictMismatchError,
    UnsafeCheckpointError,
    sha256_file,
)


def _setup(seed: int = 0):
    """A model with dropout, a shuffling loader, SGD with momentum and a step scheduler."""
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    x = torch.randn(64, 4, generator=torch.Generator().manual_seed(42))  # the same data every time
    y = (x.sum(1) > 0).long()
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.7)
    return model, loader, opt, sched


def _epoch(model, loader, opt, sched) -> float:
    model.train()
    total = 0.0
    for xb, yb in loader:
        # NumPy and Python RNG take part too, so their restoration is tested as well
        noise = float(np.random.rand()) * 1e-3 + random.random() * 1e-3
        loss = nn.functional.cross_entropy(model(xb + noise), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    sched.step()
    return total


def test_resume_is_bit_identical(tmp_path):
    model, loader, opt, sched = _setup()
    for _ in range(4):
        _epoch(model, loader, opt, sched)
    straight = {k: v.clone() for k, v in model.state_dict().items()}

    model, loader, opt, sched = _setup()
    manager = CheckpointManager(tmp_path / "ckpt", keep_last=2)
    for epoch in (1, 2):
        _epoch(model, loader, opt, sched)
        manager.save(epoch, model, opt, sched, metrics={"val_loss": 1.0 / epoch})
    # "crash": burn some randomness and throw the objects away
    torch.rand(100), np.random.rand(7), random.random()
    model, loader, opt, sched = _setup(seed=123)
    ckpt = manager.load(model=model, optimizer=opt, scheduler=sched)
    assert ckpt["epoch"] == 2 and ckpt["metrics"] == {"val_loss": 0.5}
    for _ in range(ckpt["epoch"], 4):
        _epoch(model, loader, opt, sched)
    for k, v in model.state_dict().items():
        assert torch.equal(v, straight[k]), k


def test_without_rng_restore_runs_differ(tmp_path):
    model, loader, opt, sched = _setup()
    for _ in range(3):
        _epoch(model, loader, opt, sched)
    straight = model.state_dict()["3.weight"].clone()
    model, loader, opt, sched = _setup()
    manager = CheckpointManager(tmp_path)
    _epoch(model, loader, opt, sched)
    manager.save(1, model, opt, sched)
    torch.rand(100)
    model, loader, opt, sched = _setup(seed=5)
    manager.load(model=model, optimizer=opt, scheduler=sched, restore_rng=False)
    for _ in range(2):
        _epoch(model, loader, opt, sched)
    assert not torch.equal(model.state_dict()["3.weight"], straight)


def test_keep_last_and_best(tmp_path):
    model = nn.Linear(2, 1)
    manager = CheckpointManager(tmp_path / "c", keep_last=2, monitor="val_loss", mode="min")
    assert manager.latest() is None and manager.best() is None
    losses = [0.9, 0.3, 0.5, 0.6, 0.7]
    for epoch, loss in enumerate(losses, start=1):
        manager.save(epoch, model, metrics={"val_loss": loss})
    files = sorted(p.name for p in (tmp_path / "c").glob("*.pt"))
    assert files == ["epoch_0002.pt", "epoch_0004.pt", "epoch_0005.pt"]
    assert manager.latest().name == "epoch_0005.pt"
    assert manager.best().name == "epoch_0002.pt"
    assert [e["best"] for e in manager.entries()] == [True, False, False]
    # a better one replaces the best, and the old best goes once it leaves the last N
    manager.save(6, model, metrics={"val_loss": 0.1})
    assert sorted(p.name for p in (tmp_path / "c").glob("*.pt")) == ["epoch_0005.pt", "epoch_0006.pt"]
    assert manager.best().name == "epoch_0006.pt"
    # a new manager on the same folder sees the same state (resuming in a new process)
    again = CheckpointManager(tmp_path / "c", keep_last=2)
    assert again.latest().name == "epoch_0006.pt" and again.best().name == "epoch_0006.pt"


def test_mode_max(tmp_path):
    model = nn.Linear(2, 1)
    manager = CheckpointManager(tmp_path, keep_last=1, monitor="val_acc", mode="max")
    for epoch, acc in enumerate([0.5, 0.8, 0.7], start=1):
        manager.save(epoch, model, metrics={"val_acc": torch.tensor(acc)})
    assert manager.best().name == "epoch_0002.pt"
    assert manager.latest().name == "epoch_0003.pt"


def test_resuming_from_an_older_checkpoint_replaces_the_later_ones(tmp_path):
    # A run saved epochs 1-4 (best at 4), then we went back to epoch 2 and trained again: the
    # old epochs 3-4 must not count as "latest" or "best", nor push the new ones out.
    model = nn.Linear(2, 1)
    manager = CheckpointManager(tmp_path, keep_last=3, monitor="val_loss")
    for epoch, loss in enumerate([0.9, 0.8, 0.7, 0.1], start=1):
        manager.save(epoch, model, metrics={"val_loss": loss})
    manager.load(tmp_path / "epoch_0002.pt", model=model)
    manager.save(3, model, metrics={"val_loss": 0.75})
    assert manager.latest().name == "epoch_0003.pt"
    assert manager.best().name == "epoch_0003.pt"
    assert [e["epoch"] for e in manager.entries()] == [2, 3]
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["epoch_0002.pt", "epoch_0003.pt"]
    assert manager.load(model=model)["metrics"] == {"val_loss": 0.75}


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_checkpoint_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = CheckpointManager(tmp_path).save(1, nn.Linear(2, 1))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600


@pytest.mark.parametrize("target", ["save", "replace"])
def test_crash_during_save_keeps_previous_latest(tmp_path, monkeypatch, target):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path, keep_last=3)
    manager.save(1, model, metrics={"val_loss": 1.0})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)

    def half_written_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full (simulated)")

    def failing_replace(src, dst):
        raise OSError("power cut (simulated)")

    if target == "save":
        monkeypatch.setattr(ck.torch, "save", half_written_save)
    else:
        monkeypatch.setattr(ck.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        manager.save(2, model, metrics={"val_loss": 0.5})
    monkeypatch.undo()

    assert manager.latest().name == "epoch_0001.pt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoints.json", "epoch_0001.pt"]  # no temp files left
    fresh = nn.Linear(3, 2)
    manager.load(model=fresh)
    for k, v in fresh.state_dict().items():
        assert torch.equal(v, before[k])


def test_truncated_file_gives_clear_error(tmp_path):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path)
    manager.save(1, model)
    path = manager.save(2, model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError, match=r"epoch_0002\.pt is corrupt or truncated: .*the previous one is .*epoch_0001\.pt"):
        manager.load(model=model)
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CorruptCheckpointError, match="corrupt or truncated"):
        manager.load(path, model=model)
    manager.load(tmp_path / "epoch_0001.pt", model=model)  # the previous one still loads


def test_missing_directory_and_file(tmp_path):
    manager = CheckpointManager(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        manager.load()
    (tmp_path / "nope").mkdir()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        manager.load()
    with pytest.raises(FileNotFoundError, match="epoch_0009.pt does not exist"):
        manager.load(tmp_path / "nope" / "epoch_0009.pt")


def test_hash_verification(tmp_path):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path)
    path = manager.save(1, model)
    digest = sha256_file(path)
    assert len(digest) == 64 and digest == manager.entries()[-1]["sha256"]
    manager.load(path, model=model, sha256=digest)
    with open(path, "r+b") as f:  # flip one byte
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(HashMismatchError, match="SHA-256"):
        manager.load(path, model=model, sha256=digest)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should never run",))


def test_weights_only_refuses_malicious_pickle(tmp_path, capfd):
    path = tmp_path / "epoch_0001.pt"
    torch.save({"epoch": 1, "model": {}, "payload": _Evil()}, path)
    manager = CheckpointManager(tmp_path)
    with pytest.raises(UnsafeCheckpointError, match="weights_only"):
        manager.load(path)
    assert "should never run" not in capfd.readouterr().out


def test_module_prefix_is_explained(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    wrapped = nn.DataParallel(model)  # works on a CPU: it just calls the module
    manager = CheckpointManager(tmp_path)
    manager.save(1, wrapped)
    with pytest.raises(StateDictMismatchError, match="'module.' prefix") as info:
        manager.load(model=nn.Sequential(nn.Linear(3, 2)))
    assert "missing keys" in str(info.value) and "consume_prefix_in_state_dict_if_present" in str(info.value)
    with pytest.raises(StateDictMismatchError, match=r"missing keys.*1\.weight"):
        manager.load(model=nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)).__class__(
            *[nn.Linear(3, 2), nn.Linear(2, 2)]))


def test_torch_compile_prefix_is_explained(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2))
    state = {f"_orig_mod.{k}": v for k, v in model.state_dict().items()}  # what a compiled model saves
    torch.save({"model": state, "epoch": 1}, tmp_path / "epoch_0001.pt")
    with pytest.raises(StateDictMismatchError, match="_orig_mod.*torch.compile"):
        CheckpointManager(tmp_path).load(tmp_path / "epoch_0001.pt", model=model)


def test_rng_state_roundtrip_is_weights_only_safe(tmp_path):
    state = ck.get_rng_state()
    torch.save(state, tmp_path / "rng.pt")
    loaded = torch.load(tmp_path / "rng.pt", weights_only=True)
    a = (random.random(), float(np.random.rand()), torch.rand(1).item())
    ck.set_rng_state(loaded)
    b = (random.random(), float(np.random.rand()), torch.rand(1).item())
    assert a == b


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        CheckpointManager(tmp_path, keep_last=0)
    with pytest.raises(ValueError, match="mode"):
        CheckpointManager(tmp_path, mode="lowest")
    with pytest.raises(TypeError, match="nn.Module"):
        CheckpointManager(tmp_path).save(1, {"w": torch.zeros(1)})
    with pytest.raises(FileNotFoundError):
        sha256_file(tmp_path / "missing.bin")


# --------------------------------------------------------------------------- the recorded hash


def _tensor_data_offset(path, member_suffix="data/0"):
    """Byte offset in a torch.save zip file of the first byte of a stored tensor's data."""
    import struct
    import zipfile

    with zipfile.ZipFile(path) as z:
        info = next(i for i in z.infolist() if i.filename.endswith(member_suffix))
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def test_load_verifies_the_hash_recorded_at_save(tmp_path):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path)
    manager.save(1, model)
    path = manager.save(2, model)
    offset = _tensor_data_offset(path)
    with open(path, "r+b") as f:  # flip one byte of the weights' data
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x01]))
    # torch.load alone does not notice: the file loads, with a different weight
    raw = torch.load(path, weights_only=True)["model"]
    assert not torch.equal(raw["weight"], model.weight.detach())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(HashMismatchError, match=r"epoch_0002\.pt .*checkpoints\.json recorded.*load an older"
                                                r" checkpoint instead: .*epoch_0001\.pt") as info:
        manager.load(model=model)
    assert isinstance(info.value, ck.CheckpointError)
    with pytest.raises(HashMismatchError):  # by path too, and from a new manager object
        CheckpointManager(tmp_path).load(path.name)
    with pytest.raises(HashMismatchError):
        manager.fit_state(2)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # nothing restored
    manager.load(tmp_path / "epoch_0001.pt", model=model)  # the older one is fine


def test_a_copy_outside_the_folder_has_no_recorded_hash(tmp_path):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path / "run")
    path = manager.save(1, model)
    copy = tmp_path / "copy.pt"
    copy.write_bytes(path.read_bytes())
    assert manager.load(copy, model=model)["epoch"] == 1  # no index entry: only sha256= can check it
    with pytest.raises(HashMismatchError, match="use a trusted copy"):
        manager.load(copy, model=model, sha256="0" * 64)


# --------------------------------------------------------------------------- fsync before rename


def test_the_temporary_file_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    """Without an fsync of the file itself, a power cut after the rename can leave the new name
    pointing at a file whose data never reached the disk. Record every fsync (by inode) and every
    os.replace, and check the order for both files a save writes."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        events.append(("fsync", st.st_ino, "dir" if os.path.stat.S_ISDIR(st.st_mode) else "file"))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.stat(src).st_ino, os.path.basename(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(ck.os, "fsync", fsync)
    monkeypatch.setattr(ck.os, "replace", replace)
    CheckpointManager(tmp_path).save(1, nn.Linear(3, 2), metrics={"val_loss": 1.0})
    monkeypatch.undo()
    renames = [(i, e) for i, e in enumerate(events) if e[0] == "replace"]
    assert {e[2] for _, e in renames} == {"epoch_0001.pt", "checkpoints.json"}
    for i, (_, inode, name) in renames:
        synced = [e for e in events[:i] if e[0] == "fsync" and e[1] == inode and e[2] == "file"]
        assert synced, f"{name}: its temporary file was renamed without an fsync of the file itself ({events})"
    if os.name == "posix":  # and the folder after the rename, so the rename itself is durable
        last = renames[-1][0]
        assert any(e[0] == "fsync" and e[2] == "dir" for e in events[last:])


# --------------------------------------------------------------------------- types


def test_load_refuses_another_optimizer_or_scheduler_type(tmp_path):
    model = nn.Linear(3, 2)
    adamw = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    adamw.step()
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(adamw, T_max=10)
    manager = CheckpointManager(tmp_path)
    manager.save(1, model, adamw, cosine)
    assert torch.load(manager.latest(), weights_only=True)["types"] == {
        "optimizer": "AdamW", "scheduler": "CosineAnnealingLR", "scaler": None}

    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ck.CheckpointError, match="holds AdamW optimizer state, but the optimizer given is SGD"):
        manager.load(model=model, optimizer=sgd, scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(sgd, 10))
    assert "momentum_buffer" not in str(sgd.state) and not sgd.state  # nothing was loaded
    adamw2 = torch.optim.AdamW(model.parameters(), lr=1e-3)
    with pytest.raises(ck.CheckpointError, match="CosineAnnealingLR scheduler state, but the scheduler given is StepLR"):
        manager.load(model=model, optimizer=adamw2, scheduler=torch.optim.lr_scheduler.StepLR(adamw2, 1))
    assert not adamw2.state
    with pytest.raises(ck.CheckpointError, match="holds CosineAnnealingLR scheduler state, but no scheduler= was given"):
        manager.load(model=model, optimizer=adamw2)
    manager.load(model=model)  # the model alone is fine
    manager.load(model=model, optimizer=adamw2, scheduler=torch.optim.lr_scheduler.CosineAnnealingLR(adamw2, 10))
    assert adamw2.state


def test_load_checks_the_scaler_presence(tmp_path):
    model = nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    manager = CheckpointManager(tmp_path / "with")
    manager.save(1, model, opt, scaler=scaler)
    with pytest.raises(ck.CheckpointError, match="holds GradScaler scaler state, but no scaler= was given"):
        manager.load(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    fresh = torch.amp.GradScaler("cpu")
    manager.load(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), scaler=fresh)
    assert fresh.get_scale() == 1024.0
    plain = CheckpointManager(tmp_path / "without")
    plain.save(1, model, opt)
    with pytest.raises(ck.CheckpointError, match="holds no scaler state"):
        plain.load(model=model, optimizer=opt, scaler=torch.amp.GradScaler("cpu"))


def test_fit_state_roundtrip_and_checks(tmp_path):
    model = nn.Linear(3, 2)
    manager = CheckpointManager(tmp_path)
    manager.save(1, model, fit_state={"best_value": 0.5, "best_epoch": 1, "bad_epochs": 0, "monitor": "val_loss"})
    manager.save(2, model)
    assert CheckpointManager(tmp_path).fit_state(1)["best_value"] == 0.5
    assert manager.fit_state(2) is None and manager.fit_state(9) is None
    with pytest.raises(TypeError, match="fit_state"):
        manager.save(3, model, fit_state={"best": torch.tensor(1.0)})
