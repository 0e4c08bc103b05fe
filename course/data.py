"""Offline-first data sets that the lessons share.

* Synthetic, generated deterministically from a seed: 2-D point clouds
  (:func:`moons`, :func:`spirals`, :func:`blobs`) and small RGB images of shapes
  (:func:`shapes`) that a small CNN learns in seconds on a CPU.
* Real, shipped inside a package: scikit-learn's 8x8 handwritten digits (:func:`digits`).
* Standard torchvision data sets for learners who are online (:func:`torchvision_dataset`);
  without a network they fail with a message that names the offline alternative.

Every function returns plain tensors (features ``float32``, labels ``int64``), so lessons
wrap them in a ``TensorDataset`` or their own ``Dataset`` in the open.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import torch

SHAPE_CLASSES: tuple[str, ...] = ("circle", "square", "triangle", "cross")


class DataUnavailable(RuntimeError):
    """A data set could not be loaded; the message says why and what to use instead."""


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _non_negative(value: Any, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def moons(n: int = 512, noise: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaving half circles: ``X`` of shape (n, 2), labels 0/1 of shape (n,)."""
    _positive_int(n, "n")
    noise = _non_negative(noise, "noise")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    t = torch.rand(n, generator=g) * math.pi
    x0 = torch.where(y == 0, torch.cos(t), 1 - torch.cos(t))
    x1 = torch.where(y == 0, torch.sin(t), 0.5 - torch.sin(t))
    X = torch.stack([x0, x1], dim=1) + noise * torch.randn(n, 2, generator=g)
    perm = torch.randperm(n, generator=g)
    return X[perm].float(), y[perm].long()


def spirals(
    n: int = 600, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``classes`` interleaved spiral arms: not separable by a straight line."""
    _positive_int(n, "n")
    _positive_int(classes, "classes")
    noise = _non_negative(noise, "noise")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g)
    theta = r * 4.0 + y * (2 * math.pi / classes) + noise * torch.randn(n, generator=g)
    X = torch.stack([r * torch.sin(theta), r * torch.cos(theta)], dim=1)
    perm = torch.randperm(n, generator=g)
    return X[perm].float(), y[perm].long()


def blobs(
    n: int = 300, centers: int = 3, spread: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian blobs around ``centers`` points on a circle of radius 2."""
    _positive_int(n, "n")
    _positive_int(centers, "centers")
    spread = _non_negative(spread, "spread")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % centers
    angles = 2 * math.pi * torch.arange(centers) / centers
    means = 2.0 * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)
    X = means[y] + spread * torch.randn(n, 2, generator=g)
    perm = torch.randperm(n, generator=g)
    return X[perm].float(), y[perm].long()


def shapes(n: int = 1000, size: int = 32, noise: float = 0.08, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Small RGB images of four shapes (see ``SHAPE_CLASSES``) at random places, sizes and colours.

    Returns ``images`` of shape (n, 3, size, size) with values in [0, 1] and ``labels`` (n,).
    Classes are balanced. A small CNN reaches well over 90 % accuracy in a few CPU seconds.
    """
    _positive_int(n, "n")
    _positive_int(size, "size")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels to draw a shape, got {size}")
    noise = _non_negative(noise, "noise")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % len(SHAPE_CLASSES)
    labels = labels[torch.randperm(n, generator=g)]

    r = size * (0.18 + 0.14 * torch.rand(n, 1, 1, generator=g))
    margin = r + 1
    cx = margin + (size - 2 * margin) * torch.rand(n, 1, 1, generator=g)
    cy = margin + (size - 2 * margin) * torch.rand(n, 1, 1, generator=g)
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = coords.view(1, size, 1), coords.view(1, 1, size)
    dx, dy = xx - cx, yy - cy

    circle = dx**2 + dy**2 <= r**2
    square = (dx.abs() <= 0.8 * r) & (dy.abs() <= 0.8 * r)
    top = dy + r  # 0 at the apex, grows downwards
    triangle = (top >= 0) & (top <= 1.7 * r) & (dx.abs() <= 0.6 * top)
    arm = 0.3 * r
    cross = ((dx.abs() <= arm) & (dy.abs() <= r)) | ((dy.abs() <= arm) & (dx.abs() <= r))
    masks = torch.stack([circle, square, triangle, cross], dim=1)  # (n, 4, size, size)
    mask = masks[torch.arange(n), labels].unsqueeze(1).float()  # (n, 1, size, size)

    background = 0.35 * torch.rand(n, 3, 1, 1, generator=g)
    colour = 0.5 + 0.5 * torch.rand(n, 3, 1, 1, generator=g)
    images = background * (1 - mask) + colour * mask
    images = images + noise * torch.randn(n, 3, size, size, generator=g)
    return images.clamp_(0, 1), labels.long()


def digits(split: str = "train", test_fraction: float = 0.2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's handwritten digits (1797 real 8x8 grey images, 10 classes), no download.

    Returns ``images`` (n, 1, 8, 8) scaled to [0, 1] and ``labels`` (n,), for ``split``
    ``"train"``, ``"test"`` or ``"all"``; the split is stratified-free but seeded and stable.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction!r}")
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(raw.target, dtype=torch.long)
    if split == "all":
        return images, labels
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(labels) * test_fraction))
    idx = perm[:n_test] if split == "test" else perm[n_test:]
    return images[idx], labels[idx]


_OFFLINE_ALTERNATIVES = {
    "MNIST": "course.data.digits() (real handwritten digits, shipped with scikit-learn)",
    "FashionMNIST": "course.data.shapes() (generated images, 4 classes)",
    "CIFAR10": "course.data.shapes() (generated RGB images, 4 classes)",
}


def torchvision_dataset(
    name: str,
    root: str | Path = "~/.cache/torch-course/data",
    train: bool = True,
    transform: Callable | None = None,
    download: bool = True,
) -> Any:
    """Load a standard torchvision data set (``"MNIST"``, ``"FashionMNIST"``, ``"CIFAR10"``, ...).

    This is the real loading code for learners who are online. Without a network (or with a
    damaged download) it raises :class:`DataUnavailable` naming an offline alternative.
    """
    import torchvision

    cls = getattr(torchvision.datasets, name, None)
    if cls is None or not isinstance(cls, type):
        known = ", ".join(sorted(_OFFLINE_ALTERNATIVES))
        raise ValueError(f"torchvision has no data set called {name!r}; try one of {known}")
    root = Path(root).expanduser()
    alternative = _OFFLINE_ALTERNATIVES.get(name, "course.data.shapes() or course.data.digits()")
    try:
        return cls(root=str(root), train=train, transform=transform, download=download)
    except Exception as err:  # URLError, RuntimeError("Dataset not found"), corrupt archives, ...
        raise DataUnavailable(
            f"could not load torchvision's {name} into {root} ({type(err).__name__}: {err}). "
            f"This needs a network connection the first time. Offline, use {alternative}."
        ) from err
