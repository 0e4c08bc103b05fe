"""Checkpoints you can trust: atomic writes, keep-last-N plus the best, exact resuming.

Lesson 07 builds every piece of this in the open (``notebooks/07_checkpoints.ipynb``); later
lessons and :func:`course.train.fit` use the finished manager::

    manager = CheckpointManager(workdir("run") / "ckpt", keep_last=3, monitor="val_loss", mode="min")
    for epoch in range(start + 1, epochs + 1):
        ...train one epoch...
        manager.save(epoch, model, optimizer, scheduler, metrics={"val_loss": val_loss})

    # after a crash, in a fresh process:
    ckpt = manager.load(model=model, optimizer=optimizer, scheduler=scheduler)
    start = ckpt["epoch"]                       # the last epoch that finished

What it guarantees:

* **Atomic writes.** A checkpoint is written to a temporary file in the same folder, flushed
  and ``fsync``-ed, then renamed over its final name with :func:`os.replace` (atomic on POSIX and
  Windows). The index file that says which checkpoint is the latest is written the same way and
  only after the checkpoint is complete, so a crash mid-save never leaves a corrupt or missing
  latest checkpoint.
* **Retention.** The last ``keep_last`` checkpoints plus the best one by ``metrics[monitor]``.
* **Exact resuming.** The RNG states of Python, NumPy, PyTorch's CPU generator and every CUDA
  device are stored (as tensors and plain numbers, so the file loads with ``weights_only=True``)
  and restored, so dropout masks and DataLoader shuffling continue exactly as without the crash.
* **Safe, checked loading.** ``torch.load(..., weights_only=True)``. Every load of a checkpoint
  in the manager's folder compares the file's SHA-256 with the one recorded in ``checkpoints.json``
  when it was saved (and with ``sha256=`` when you pass one), so a flipped bit in the weights raises
  :class:`HashMismatchError` instead of loading silently. Clear errors for a missing folder or file,
  a truncated file, state-dict keys that do not fit the model (including the ``module.`` prefix left
  by DataParallel/DDP and the ``_orig_mod.`` prefix of ``torch.compile``), and an optimizer, scheduler
  or GradScaler that is not the kind the checkpoint was saved with (AdamW state loads into SGD
  without complaint and only fails, or silently misbehaves, later).
* **Compiled models.** ``save`` stores the plain module's ``state_dict`` of a ``torch.compile``-d
  model (no ``_orig_mod.`` prefix) and ``load`` restores into it, so compiled and eager runs share
  checkpoints.
* **The training loop's own state.** ``save(..., fit_state=...)`` stores a small dict of plain numbers
  (``course.train.fit`` puts its early-stopping state there) and :meth:`CheckpointManager.fit_state`
  gives it back, so a resumed run stops at exactly the epoch the uninterrupted run stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import random
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

__all__ = [
    "CheckpointManager",
    "CheckpointError",
    "CorruptCheckpointError",
    "HashMismatchError",
    "StateDictMismatchError",
    "UnsafeCheckpointError",
    "atomic_save",
    "get_rng_state",
    "set_rng_state",
    "sha256_file",
]

_FORMAT = 1
_INDEX = "checkpoints.json"
_NAME = re.compile(r"^epoch_(\d+)\.pt$")


class CheckpointError(RuntimeError):
    """A checkpoint could not be written or loaded; the message says why and what to do."""


class CorruptCheckpointError(CheckpointError):
    """The file is not a complete checkpoint (truncated by a crash, a full disk, a bad copy)."""


class HashMismatchError(CheckpointError):
    """The file's SHA-256 differs from the expected one: it was changed or damaged."""


class StateDictMismatchError(CheckpointError):
    """The checkpoint's state-dict keys or shapes do not fit the model."""


class UnsafeCheckpointError(CheckpointError):
    """``torch.load(weights_only=True)`` refused the file: it asks to run or import code."""


# --------------------------------------------------------------------------- files and hashes


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The SHA-256 of a file as 64 hex digits, read in chunks (works for files of any size)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot hash {path}: no such file")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the folder (POSIX only; Windows has no folder handles)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write ``path`` through ``write(file_object)`` so readers only ever see a complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it the permissions a plain open() would
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj, path)`` that never leaves a half-written ``path``.

    Writes a temporary file in the same folder, flushes and fsyncs it, then ``os.replace``-s it
    over ``path``. If anything fails (or the process dies) before the rename, ``path`` still
    holds its previous complete content.
    """
    path = Path(path)
    _atomic_write(path, lambda f: torch.save(obj, f))
    return path


# --------------------------------------------------------------------------- RNG states


def get_rng_state() -> dict[str, Any]:
    """Every global RNG state (Python, NumPy, torch CPU, CUDA) as tensors and plain numbers.

    Plain types matter: a NumPy array inside a checkpoint would make ``weights_only=True``
    loading refuse the file.
    """
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": int(py_version), "state": torch.tensor(py_state, dtype=torch.int64), "gauss_next": py_gauss},
        "numpy": {
            "name": str(np_name),
            "keys": torch.from_numpy(np.asarray(np_keys, dtype=np.int64)),
            "pos": int(np_pos),
            "has_gauss": int(np_has_gauss),
            "cached_gaussian": float(np_gauss),
        },
        "torch": torch.get_rng_state(),
        # this process's own GPU only: under DDP each rank has its own generator, and asking for
        # every GPU's state would start CUDA on devices this process does not use
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() else None,
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned (the CUDA state only where CUDA is present)."""
    try:
        py, npy = state["python"], state["numpy"]
        random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
        np.random.set_state(
            (npy["name"], npy["keys"].numpy().astype(np.uint32), npy["pos"], npy["has_gauss"], npy["cached_gaussian"])
        )
        torch.set_rng_state(state["torch"].cpu())
    except (KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f"the saved RNG state is incomplete or not from get_rng_state(): {err!r}") from err
    cuda_state = state.get("cuda")
    if isinstance(cuda_state, torch.Tensor) and torch.cuda.is_available():
        torch.cuda.set_rng_state(cuda_state.cpu())


# --------------------------------------------------------------------------- helpers


def _plain_metrics(metrics: dict | None) -> dict[str, Any]:
    """Metrics as plain Python numbers/strings (JSON- and weights_only-friendly)."""
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise TypeError(f"metrics must be a dict of name -> number, got {type(metrics).__name__}")
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise ValueError(f"metric {key!r} is a tensor of shape {tuple(value.shape)}; pass a single number")
            value = value.item()
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
            out[str(key)] = value
        else:
            raise TypeError(f"metric {key!r} has type {type(value).__name__}; use a number or a string")
    return out


def _plain_state(state: dict | None) -> dict[str, Any] | None:
    """A ``fit_state`` dict of plain numbers/strings/None (weights_only-friendly), checked."""
    if state is None:
        return None
    if not isinstance(state, dict):
        raise TypeError(f"fit_state must be a dict of name -> number/string/None, got {type(state).__name__}")
    for key, value in state.items():
        if not (value is None or isinstance(value, (bool, int, float, str))):
            raise TypeError(f"fit_state[{key!r}] has type {type(value).__name__}; use a number, a string or None")
    return {str(k): v for k, v in state.items()}


def _plain_module(model: torch.nn.Module) -> torch.nn.Module:
    """The module a ``torch.compile``-d model wraps (its state_dict keys have no ``_orig_mod.``)."""
    orig = getattr(model, "_orig_mod", None)
    return orig if isinstance(orig, torch.nn.Module) else model


def _type_name(obj: Any) -> str | None:
    return None if obj is None else type(obj).__name__


def _key_problem(expected: list[str], got: list[str]) -> str | None:
    """Describe how checkpoint keys ``got`` differ from the model's ``expected`` keys, or None."""
    exp, have = set(expected), set(got)
    if exp == have:
        return None
    missing = [k for k in expected if k not in have]
    unexpected = [k for k in got if k not in exp]

    def show(keys: list[str]) -> str:
        head = ", ".join(keys[:4])
        return head + (f", ... ({len(keys)} in all)" if len(keys) > 4 else "")

    msg = []
    if missing:
        msg.append(f"missing keys (in the model, not in the checkpoint): {show(missing)}")
    if unexpected:
        msg.append(f"unexpected keys (in the checkpoint, not in the model): {show(unexpected)}")
    text = "; ".join(msg)
    if have and all(k.startswith("module.") for k in have) and {k[len("module."):] for k in have} == exp:
        text += (
            ". The checkpoint's keys carry the 'module.' prefix that DataParallel/DistributedDataParallel"
            " adds: strip it with torch.nn.modules.utils.consume_prefix_in_state_dict_if_present(state,"
            " 'module.'), and save model.module.state_dict() next time."
        )
    elif exp and all(k.startswith("module.") for k in exp) and {k[len("module."):] for k in exp} == have:
        text += (
            ". The model is wrapped in DataParallel/DistributedDataParallel (its keys start with 'module.'):"
            " load into model.module instead."
        )
    compiled = "_orig_mod."
    if have and all(k.startswith(compiled) for k in have) and {k[len(compiled):] for k in have} == exp:
        text += (
            ". The checkpoint's keys carry the '_orig_mod.' prefix of a torch.compile-d model: strip it with"
            " consume_prefix_in_state_dict_if_present(state, '_orig_mod.'), and save the original module's"
            " state_dict next time (keep a reference to it before compiling)."
        )
    return text


def _unpickler_reason(err: BaseException) -> str:
    """The one informative line of torch's long weights_only error (e.g. 'Unsupported global: ...')."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "GLOBAL" in line:
            line = line.replace("WeightsUnpickler error:", "").strip()
            return line.split(" Please use")[0]
    return lines[0] if lines else type(err).__name__


# --------------------------------------------------------------------------- the manager


class CheckpointManager:
    """Save, keep and load training checkpoints in one folder.

    Args:
        directory: the folder for this run's checkpoints (created on the first save).
        keep_last: how many of the most recent checkpoints to keep (at least 1); the best one
            by ``monitor`` is kept as well, even when it is older.
        monitor: the key in ``metrics`` that decides the best checkpoint (e.g. ``"val_loss"``).
            Saves whose metrics lack it never become the best.
        mode: ``"min"`` when smaller is better (losses), ``"max"`` when larger is (accuracy).

    Files: ``epoch_0001.pt``, ``epoch_0002.pt``, ... and ``checkpoints.json``, the index that names
    the checkpoints on disk, their metrics and SHA-256, and the best one.
    """

    def __init__(self, directory: str | Path, keep_last: int = 3, monitor: str = "val_loss", mode: str = "min") -> None:
        if not isinstance(keep_last, int) or isinstance(keep_last, bool) or keep_last < 1:
            raise ValueError(f"keep_last must be an int >= 1, got {keep_last!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' (smaller {monitor} is better) or 'max', got {mode!r}")
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be the name of a metric such as 'val_loss', got {monitor!r}")
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise NotADirectoryError(f"checkpoint directory {self.directory} is a file; pass a folder")
        self.keep_last = keep_last
        self.monitor = monitor
        self.mode = mode
        self._loaded: tuple[int, dict | None] | None = None  # (epoch, fit_state) of the last load()

    def __repr__(self) -> str:
        return (
            f"CheckpointManager({self.directory.name!r}, keep_last={self.keep_last}, "
            f"monitor={self.monitor!r}, mode={self.mode!r})"
        )

    # ----------------------------------------------------------------- index

    def _read_index(self) -> dict[str, Any]:
        index_path = self.directory / _INDEX
        if index_path.is_file():
            try:
                index = json.loads(index_path.read_text())
                if isinstance(index, dict) and isinstance(index.get("entries"), list):
                    index["entries"] = [e for e in index["entries"] if (self.directory / e["file"]).is_file()]
                    if index.get("best") and not (self.directory / index["best"]).is_file():
                        index["best"] = None
                    return index
            except (ValueError, KeyError, TypeError):
                pass  # an unreadable index: rebuild it from the files below
        entries = []
        if self.directory.is_dir():
            for p in sorted(self.directory.iterdir()):
                m = _NAME.match(p.name)
                if m:
                    entries.append({"file": p.name, "epoch": int(m.group(1)), "metrics": {}, "sha256": None})
        entries.sort(key=lambda e: e["epoch"])
        return {"format": _FORMAT, "monitor": self.monitor, "mode": self.mode, "best": None, "entries": entries}

    def _write_index(self, index: dict[str, Any]) -> None:
        data = json.dumps(index, indent=1, allow_nan=True).encode()
        _atomic_write(self.directory / _INDEX, lambda f: f.write(data))

    def _is_better(self, value: float, best: float | None) -> bool:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return False
        if best is None:
            return True
        return value < best if self.mode == "min" else value > best

    def entries(self) -> list[dict[str, Any]]:
        """The checkpoints on disk, oldest first: ``file``, ``epoch``, ``metrics``, ``sha256``, ``best``."""
        index = self._read_index()
        return [dict(e, best=(e["file"] == index.get("best"))) for e in index["entries"]]

    def latest(self) -> Path | None:
        """The most recent complete checkpoint, or ``None`` when there is none yet."""
        entries = self._read_index()["entries"]
        return self.directory / entries[-1]["file"] if entries else None

    def best(self) -> Path | None:
        """The best checkpoint by ``metrics[monitor]``, or ``None`` when no save reported it."""
        best = self._read_index().get("best")
        return self.directory / best if best else None

    # ----------------------------------------------------------------- save

    def save(self, epoch: int, model, optimizer=None, scheduler=None, scaler=None, metrics: dict | None = None,
             fit_state: dict | None = None) -> Path:
        """Called after epoch ``epoch`` (1-based) finished. Writes atomically (temp file + fsync +
        os.replace), keeps the last N plus the best by ``metrics[monitor]``, stores the RNG states
        (Python, NumPy, torch CPU, this process's GPU if present) so that resuming is exact, and
        the class names of the optimizer and scheduler and whether a GradScaler was saved (``load``
        checks them). ``fit_state``: a small dict of plain numbers the training loop needs to go on
        exactly (e.g. early stopping's best value); read it back with :meth:`fit_state`. A
        ``torch.compile``-d model is saved as its plain module (no ``_orig_mod.`` prefix).
        Checkpoints of later epochs, left by a run that was resumed from an earlier one, are
        removed: the new timeline replaces them. Returns the path."""
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"epoch must be the number of finished epochs (an int >= 0), got {epoch!r}")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        plain = _plain_metrics(metrics)
        ckpt = {
            "format": _FORMAT,
            "epoch": epoch,
            "metrics": plain,
            "model": _plain_module(model).state_dict(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "scaler": scaler.state_dict() if scaler is not None else None,
            "rng": get_rng_state(),
            "torch_version": str(torch.__version__),
            # what load() checks before restoring anything: the kinds of objects this state fits
            "types": {"optimizer": _type_name(optimizer), "scheduler": _type_name(scheduler),
                      "scaler": _type_name(scaler)},
            "fit_state": _plain_state(fit_state),
        }
        path = self.directory / f"epoch_{epoch:04d}.pt"
        index = self._read_index()  # before writing: a crash below leaves the index untouched
        atomic_save(ckpt, path)

        # Checkpoints of later epochs than this one belong to a run we went back from (resumed
        # from an older checkpoint): they are no longer "latest" and go, as does a stale best.
        entries = [e for e in index["entries"] if e["epoch"] < epoch]
        abandoned = [e for e in index["entries"] if e["epoch"] > epoch]
        entries.append({"file": path.name, "epoch": epoch, "metrics": plain, "sha256": sha256_file(path)})
        entries.sort(key=lambda e: e["epoch"])
        best = index.get("best")
        if best not in {e["file"] for e in entries[:-1]}:  # re-saved or abandoned: recompute the best
            best = None
        best_value = next((e["metrics"].get(self.monitor) for e in entries if e["file"] == best), None)
        for e in entries:
            value = e["metrics"].get(self.monitor)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and self._is_better(float(value), best_value):
                best, best_value = e["file"], float(value)
        keep = {e["file"] for e in entries[-self.keep_last:]} | ({best} if best else set())
        index = {"format": _FORMAT, "monitor": self.monitor, "mode": self.mode, "best": best,
                 "entries": [e for e in entries if e["file"] in keep]}
        self._write_index(index)  # the new checkpoint is complete before the index names it
        for e in entries + abandoned:
            if e["file"] not in keep:
                (self.directory / e["file"]).unlink(missing_ok=True)
        return path

    # ----------------------------------------------------------------- load

    def _previous(self, path: Path) -> str:
        entries = self._read_index()["entries"] if path.parent == self.directory else []
        names = [e["file"] for e in entries]
        earlier = [n for n in names if n < path.name]
        return str(self.directory / earlier[-1]) if earlier else "none (no earlier checkpoint on disk)"

    def _resolve(self, path) -> Path:
        if path is None:
            if not self.directory.is_dir():
                raise FileNotFoundError(
                    f"checkpoint directory {self.directory} does not exist: check the path, or start"
                    " training from scratch (nothing has been saved there yet)"
                )
            path = self.latest()
            if path is None:
                raise FileNotFoundError(f"no checkpoint in {self.directory} yet: save one with manager.save(...) first")
        path = Path(path)
        if not path.is_absolute() and not path.exists() and (self.directory / path).exists():
            path = self.directory / path
        if not path.is_file():
            raise FileNotFoundError(
                f"checkpoint {path} does not exist; the checkpoints on disk are: "
                f"{[e['file'] for e in self.entries()] or 'none'}"
            )
        return path

    def _recorded_sha256(self, path: Path) -> str | None:
        """The SHA-256 that ``checkpoints.json`` recorded when ``path`` was saved (None: not one of ours)."""
        try:
            if path.parent.resolve() != self.directory.resolve():
                return None
        except OSError:
            return None
        for e in self._read_index()["entries"]:
            if e["file"] == path.name:
                return e.get("sha256")
        return None

    def _hash_problem(self, path: Path, sha256: str | None) -> str | None:
        """Why ``path`` fails its hash check (given ``sha256`` and the recorded one), or None."""
        actual = None
        if sha256 is not None:
            actual = sha256_file(path)
            if actual.lower() != sha256.strip().lower():
                return (
                    f"checkpoint {path.name} has SHA-256 {actual[:16]}..., expected {sha256.strip()[:16]}...: the"
                    " file was modified or damaged after the hash was recorded. Do not load it; use a"
                    " trusted copy."
                )
        recorded = self._recorded_sha256(path)
        if recorded is not None:
            actual = actual or sha256_file(path)
            if actual.lower() != recorded.lower():
                return (
                    f"checkpoint {path} has SHA-256 {actual[:16]}..., but {_INDEX} recorded {recorded[:16]}... when"
                    " it was saved: the file was damaged or changed on disk since (a bad copy, a failing disk,"
                    " an edit). Do not use it; load an older checkpoint instead: "
                    f"{self._previous(path)} (manager.load(path) with that file)."
                )
        return None

    def _read(self, path: Path, map_location, sha256: str | None) -> dict:
        """Verify and ``torch.load(weights_only=True)`` one checkpoint file, with clear errors."""
        problem = self._hash_problem(path, sha256)
        # A complete archive whose bytes changed is refused before it is unpickled. An incomplete
        # one (truncated by a crash or a bad copy) also fails the hash, but torch.load's own error
        # says better what happened, so it is reported as corrupt below.
        if problem is not None and zipfile.is_zipfile(path):
            raise HashMismatchError(problem)
        try:
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as err:
            reason = _unpickler_reason(err)
            if "GLOBAL" in reason:
                raise UnsafeCheckpointError(
                    f"{path.name} was refused by torch.load(weights_only=True): {reason} Such a file"
                    " asks to import or run code. Load it with weights_only=False only if you made it"
                    " yourself or fully trust its source; for your own classes prefer"
                    " torch.serialization.add_safe_globals([...])."
                ) from err
            raise CorruptCheckpointError(
                f"checkpoint {path} is corrupt or truncated: {reason}; the previous one is {self._previous(path)}"
            ) from err
        except (RuntimeError, EOFError, OSError, ValueError, KeyError, IndexError, pickle.PickleError) as err:
            reason = str(err).splitlines()[0].split(". ")[0] if str(err) else "(no message)"
            raise CorruptCheckpointError(
                f"checkpoint {path} is corrupt or truncated: {type(err).__name__}: {reason[:160]}; the previous"
                f" one is {self._previous(path)}"
            ) from err
        if problem is not None:  # not a zip archive, yet it loaded (an old-format file): still refuse
            raise HashMismatchError(problem)
        if not isinstance(ckpt, dict) or "model" not in ckpt or "epoch" not in ckpt:
            raise CheckpointError(
                f"{path.name} is not a checkpoint written by CheckpointManager.save (a dict with 'model' and"
                " 'epoch'); for a bare state_dict use model.load_state_dict(torch.load(path, weights_only=True))"
            )
        return ckpt

    def load(self, path=None, model=None, optimizer=None, scheduler=None, scaler=None, map_location="cpu",
             sha256: str | None = None, restore_rng: bool = True) -> dict:
        """Load ``path`` (default: the latest), restore the given objects' state in place and return
        the checkpoint dict (keys include ``"epoch"`` = the last finished epoch, ``"metrics"`` and
        ``"fit_state"``).

        Checks before anything is restored, each failure a :class:`CheckpointError` subclass:

        * the SHA-256 recorded in ``checkpoints.json`` at save time (files in this folder), and
          ``sha256`` when given: a mismatch raises :class:`HashMismatchError` naming the file and an
          older checkpoint to use instead;
        * ``torch.load(weights_only=True)``: refuses pickled code (:class:`UnsafeCheckpointError`),
          reports truncated files (:class:`CorruptCheckpointError`);
        * the model's state-dict keys (:class:`StateDictMismatchError`);
        * the optimizer's and scheduler's class and the GradScaler's presence must be those saved: an
          ``AdamW`` checkpoint does not load into ``SGD``, and resuming (``optimizer=`` given) a run
          saved with a scheduler or a GradScaler needs that object too.

        A ``torch.compile``-d ``model`` is restored through its plain module.
        """
        path = self._resolve(path)
        ckpt = self._read(path, map_location, sha256)

        # ---- check everything first, so a refused load leaves every object untouched
        target = _plain_module(model) if model is not None else None
        if target is not None:
            problem = _key_problem(list(target.state_dict().keys()), list(ckpt["model"].keys()))
            if problem:
                raise StateDictMismatchError(f"{path.name} does not fit the model: {problem}")
        saved_types = ckpt.get("types") or {}
        given = {"optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
        for name, obj in given.items():
            saved = saved_types.get(name)
            if obj is not None and ckpt.get(name) is None:
                raise CheckpointError(
                    f"{path.name} holds no {name} state (it was saved without one); leave {name}= out"
                )
            if obj is not None and saved is not None and type(obj).__name__ != saved:
                raise CheckpointError(
                    f"{path.name} holds {saved} {name} state, but the {name} given is {type(obj).__name__}:"
                    " a state fits only the kind of object that saved it (loading it into another kind"
                    f" seems to work and fails or misbehaves later). Build a {saved} as the saved run did,"
                    f" or load only the model (leave {name}= out) and start the {name} afresh."
                )
            if obj is None and name != "optimizer" and optimizer is not None and ckpt.get(name) is not None:
                kind = saved or name
                raise CheckpointError(
                    f"{path.name} holds {kind} {name} state, but no {name}= was given: resuming training"
                    f" without it would not continue the saved run. Pass {name}= (a {kind}), or load only"
                    " the model and start the optimizer afresh (leave optimizer= out)."
                )

        # ---- restore
        if target is not None:
            try:
                target.load_state_dict(ckpt["model"])
            except RuntimeError as err:
                raise StateDictMismatchError(f"{path.name} does not fit the model: {err}") from err
        for name, obj in given.items():
            if obj is None:
                continue
            try:
                obj.load_state_dict(ckpt[name])
            except (ValueError, KeyError, RuntimeError) as err:
                raise CheckpointError(f"the {name} state in {path.name} does not fit the {name} given: {err}") from err
        if restore_rng and ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])
        self._loaded = (int(ckpt["epoch"]), ckpt.get("fit_state"))
        return ckpt

    def fit_state(self, epoch: int) -> dict | None:
        """The ``fit_state`` saved with the checkpoint of epoch ``epoch``, or ``None``.

        ``course.train.fit(..., checkpoint=manager, start_epoch=epoch)`` calls this to go on with
        the saved run's early-stopping state. It is what the last :meth:`load` of this manager
        returned when that was epoch ``epoch`` (also for a file outside the folder), else what
        this folder's ``epoch_NNNN.pt`` holds (read and verified, nothing restored).
        """
        if self._loaded is not None and self._loaded[0] == epoch:
            return self._loaded[1]
        for e in self._read_index()["entries"]:
            if e["epoch"] == epoch:
                return self._read(self.directory / e["file"], "cpu", None).get("fit_state")
        return None
