"""The model that lessons 11-13 compress, and the table that compares the results.

Lessons 11 (pruning), 12 (quantization) and 13 (distillation) all shrink the same small
classifier, so that lesson 13 can end with one table: size, latency at batch 1 and at a larger
batch, and accuracy of the original model and of each compressed one::

    from course import compress
    model = compress.digits_mlp()                    # trained once, then loaded from the cache
    compress.accuracy(model)                         # test accuracy on course.data.digits
    compress.model_size_bytes(model)                 # bytes of torch.save(model.state_dict())
    compress.latency(model, batch=1)                 # a course.bench.Timing
    table = compress.CompressionTable.load()         # rows the earlier lessons measured
    table.measure("pruned", model, lesson="11")      # measure here, on this hardware
    table.save()
    print(table)

Every figure is measured on the machine that runs the lesson; nothing here is hard-coded.
The compression itself (pruning, quantization, distillation) is taught in the open in the lessons.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course import data
from course.bench import Timing, format_seconds, timeit
from course.device import device_name, workdir

#: How :func:`digits_mlp` trains the base model. The cache file name holds a hash of it, so a
#: changed recipe trains a new model instead of loading a stale one.
RECIPE: dict[str, Any] = {
    "version": 1,
    "sizes": [64, 256, 256, 10],
    "data": "course.data.digits(split='train', seed=0)",
    "optimizer": "Adam",
    "lr": 1e-3,
    "batch_size": 64,
    "epochs": 30,
    "seed": 0,
}

#: The batch sizes of the table's two latency columns.
BATCHES: tuple[int, int] = (1, 256)

_CACHE = "compress"


def make_digits_mlp(sizes: list[int] | tuple[int, ...] = (64, 256, 256, 10)) -> nn.Sequential:
    """An untrained ``nn.Sequential(Flatten, Linear, ReLU, Linear, ReLU, ..., Linear)``.

    It takes digit images (N, 1, 8, 8) (or flat (N, 64) rows) and returns (N, 10) logits.
    """
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, int) or isinstance(s, bool) or s <= 0 for s in sizes):
        raise ValueError(f"sizes must list at least two positive ints (inputs, ..., classes), got {sizes!r}")
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def recipe_hash(recipe: dict[str, Any] | None = None) -> str:
    """A short, stable hash of a training recipe (the key of the cached model)."""
    recipe = RECIPE if recipe is None else recipe
    text = json.dumps(recipe, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _train(recipe: dict[str, Any]) -> nn.Sequential:
    from course.train import fit

    with torch.random.fork_rng(devices=[]):  # leave the caller's random state untouched
        torch.manual_seed(recipe["seed"])
        model = make_digits_mlp(recipe["sizes"])
        X, y = data.digits("train", seed=0)
        loader = DataLoader(
            TensorDataset(X, y),
            batch_size=recipe["batch_size"],
            shuffle=True,
            generator=torch.Generator().manual_seed(recipe["seed"]),
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe["lr"])
        fit(model, loader, None, nn.CrossEntropyLoss(), optimizer, epochs=recipe["epochs"], device="cpu", progress=False)
    return model.eval()


def digits_mlp(cache: bool = True) -> nn.Sequential:
    """The trained base model of lessons 11-13 (an MLP 64-256-256-10 on ``course.data.digits``).

    Trained on the CPU from :data:`RECIPE` (30 epochs of Adam, a few seconds), deterministically
    for a given machine and thread count. With ``cache=True`` the weights are kept in
    ``course.workdir("compress")`` under a name that holds :func:`recipe_hash`, so the next lesson
    loads them instead of training again. Returns a fresh model in eval mode on the CPU; the
    random state of the caller is not changed.
    """
    if not isinstance(cache, bool):
        raise TypeError(f"cache must be True or False, got {cache!r}")
    if not cache:
        return _train(RECIPE)
    path = workdir(_CACHE, clean=False) / f"digits_mlp-{recipe_hash()}.pt"
    with torch.random.fork_rng(devices=[]):  # building the model draws initial weights
        model = make_digits_mlp(RECIPE["sizes"])
    if path.is_file():
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        except Exception:  # a damaged or foreign file: train again and overwrite it
            pass
    model = _train(RECIPE)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, path)  # atomic: two lessons training at once never leave half a file
    return model


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what the model costs on disk.

    A pruned model that still has its masks (``weight_orig`` + ``weight_mask``) counts both.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model_size_bytes needs an nn.Module, got {type(model).__name__}")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def _model_device(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    if tensor is None:
        tensor = next(model.buffers(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


@contextlib.contextmanager
def _eval_mode(model: nn.Module):
    """``model`` in eval mode for the block, its own mode restored after.

    A module from ``torch.export`` (``ExportedProgram.module()``) refuses ``.eval()``: its
    train/eval behaviour was fixed when it was exported, so it is used as it is.
    """
    was_training = model.training
    try:
        model.eval()
        switched = True
    except NotImplementedError:
        switched = False
    try:
        yield model
    finally:
        if switched:
            model.train(was_training)


def example_batch(batch: int, split: str = "test") -> torch.Tensor:
    """``batch`` digit images (N, 1, 8, 8) from ``split``, repeated when the split is smaller."""
    if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    X, _ = data.digits(split, seed=0)
    reps = -(-batch // len(X))
    return X.repeat(reps, 1, 1, 1)[:batch]


def latency(model: nn.Module, batch: int, repeat: int = 30, min_seconds: float = 0.2) -> Timing:
    """Time one forward pass of ``model`` on ``batch`` digit images (eval mode, no autograd).

    The input lives on the model's device; GPU work is synchronised (``course.bench.timeit``).
    Returns a :class:`course.bench.Timing` (``.median`` seconds per call).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"latency needs an nn.Module, got {type(model).__name__}")
    device = _model_device(model)
    x = example_batch(batch).to(device)
    with _eval_mode(model), torch.inference_mode():
        return timeit(lambda: model(x), repeat=repeat, warmup=3, device=device, min_seconds=min_seconds)


def accuracy(model: nn.Module, split: str = "test") -> float:
    """Fraction of ``course.data.digits(split)`` that ``model`` classifies correctly (eval mode)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"accuracy needs an nn.Module, got {type(model).__name__}")
    X, y = data.digits(split, seed=0)
    device = _model_device(model)
    with _eval_mode(model), torch.inference_mode():
        logits = model(X.to(device))
    if logits.shape != (len(y), 10):
        raise ValueError(f"the model should return (N, 10) logits for digit images, got shape {tuple(logits.shape)}")
    return (logits.argmax(1).cpu() == y).float().mean().item()


_COLUMNS = ("name", "lesson", "size_bytes", "latency_b1_s", "latency_bN_s", "batch", "accuracy", "hardware", "note")


class CompressionTable:
    """Rows of (name, lesson, size, latency at batch 1 and at a larger batch, accuracy, hardware).

    Kept as JSON in ``course.workdir("compress")/table.json`` so that later lessons see the rows of
    earlier ones. :meth:`measure` measures a model here and now; :meth:`save` merges the rows into
    the file (a row replaces the stored row of the same name; other stored rows are kept).
    """

    def __init__(self, rows: list[dict[str, Any]] | None = None, path: str | Path | None = None) -> None:
        self.rows: list[dict[str, Any]] = [dict(r) for r in (rows or [])]
        self.path = Path(path) if path is not None else workdir(_CACHE, clean=False) / "table.json"

    @classmethod
    def load(cls, path: str | Path | None = None) -> "CompressionTable":
        """The stored table (empty when no lesson has saved one yet)."""
        table = cls(path=path)
        table.rows = table._read()
        return table

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        try:
            rows = json.loads(self.path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"{self.path} is not a compression table ({err}); delete it and rerun the lessons") from err
        if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
            raise ValueError(f"{self.path} is not a compression table (expected a JSON list of rows); delete it")
        return rows

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """Add a row (a dict with at least ``name``), replacing the row of the same name."""
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"]:
            raise ValueError(f"a row must be a dict with a non-empty 'name', got {row!r}")
        unknown = set(row) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns {sorted(unknown)}; the table has {list(_COLUMNS)}")
        row = {key: row.get(key) for key in _COLUMNS}
        for i, old in enumerate(self.rows):
            if old["name"] == row["name"]:
                self.rows[i] = row
                return row
        self.rows.append(row)
        return row

    def measure(self, name: str, model: nn.Module, lesson: str, note: str = "") -> dict[str, Any]:
        """Measure ``model`` (size, latency at batch 1 and ``BATCHES[1]``, test accuracy) and add the row."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
        return self.add(
            {
                "name": name,
                "lesson": str(lesson),
                "size_bytes": model_size_bytes(model),
                "latency_b1_s": latency(model, BATCHES[0]).median,
                "latency_bN_s": latency(model, BATCHES[1]).median,
                "batch": BATCHES[1],
                "accuracy": accuracy(model),
                "hardware": device_name(_model_device(model)),
                "note": note,
            }
        )

    def save(self) -> Path:
        """Merge these rows into the stored file (atomically) and return its path."""
        merged = CompressionTable(self._read(), path=self.path)
        for row in self.rows:
            merged.add(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(merged.rows, indent=1))
        os.replace(tmp, self.path)
        self.rows = merged.rows
        return self.path

    def frame(self):
        """The rows as a pandas DataFrame with readable units (KiB, µs/ms, accuracy)."""
        import pandas as pd

        def fmt(seconds: Any) -> str:
            return format_seconds(seconds) if isinstance(seconds, (int, float)) else ""

        return pd.DataFrame(
            {
                "model": [r["name"] for r in self.rows],
                "lesson": [r.get("lesson") or "" for r in self.rows],
                "size": [f"{r['size_bytes'] / 1024:.0f} KiB" if r.get("size_bytes") is not None else "" for r in self.rows],
                "latency b1": [fmt(r.get("latency_b1_s")) for r in self.rows],
                "latency bN": [
                    f"{fmt(r.get('latency_bN_s'))} (b{r.get('batch')})" if r.get("latency_bN_s") is not None else ""
                    for r in self.rows
                ],
                "accuracy": [f"{r['accuracy']:.3f}" if r.get("accuracy") is not None else "" for r in self.rows],
                "hardware": [r.get("hardware") or "" for r in self.rows],
            }
        )

    def __str__(self) -> str:
        if not self.rows:
            return "(no rows yet: lessons 11-13 add them)"
        return self.frame().to_string(index=False)

    def __len__(self) -> int:
        return len(self.rows)
