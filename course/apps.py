"""Synthetic data for lesson 16 (applications: detection, 3-D segmentation).

* :func:`shape_scenes`: RGB images holding several of lesson 05's shapes, with the
  detection targets torchvision's detection models take (``boxes`` in ``(x1, y1, x2, y2)``
  pixels, ``labels`` 1..4; 0 is the background class).
* :func:`blob_volumes`: noisy 3-D volumes with spherical blobs and their voxel masks.

Both are generated deterministically from a seed, on the CPU, in a fraction of a second.
"""

from __future__ import annotations

from typing import Any

import torch

from course.data import SHAPE_CLASSES


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value


def _shape_mask(kind: int, cx: float, cy: float, r: float, size: int) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dy, dx = coords.view(size, 1) - cy, coords.view(1, size) - cx
    if kind == 0:  # circle
        return dx**2 + dy**2 <= r**2
    if kind == 1:  # square
        return (dx.abs() <= 0.8 * r) & (dy.abs() <= 0.8 * r)
    if kind == 2:  # triangle, apex up
        top = dy + r
        return (top >= 0) & (top <= 1.7 * r) & (dx.abs() <= 0.6 * top)
    arm = 0.3 * r  # cross
    return ((dx.abs() <= arm) & (dy.abs() <= r)) | ((dy.abs() <= arm) & (dx.abs() <= r))


def shape_scenes(
    n: int = 64, size: int = 64, max_objects: int = 3, noise: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, list[dict[str, torch.Tensor]]]:
    """``n`` images (n, 3, size, size) in [0, 1], each with 1..``max_objects`` shapes, and their targets.

    ``targets[i]`` is the dict torchvision's detection models train on: ``"boxes"`` float32
    ``(k, 4)`` as ``(x1, y1, x2, y2)`` in pixels, the tight box around the pixels drawn, and
    ``"labels"`` int64 ``(k,)`` with values ``1 + index in SHAPE_CLASSES`` (0 = background).
    Shapes do not overlap (placement retries), so every box holds one visible object.
    """
    _positive_int(n, "n")
    _positive_int(size, "size")
    _positive_int(max_objects, "max_objects")
    if size < 24:
        raise ValueError(f"size must be at least 24 pixels to place several shapes, got {size}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    g = torch.Generator().manual_seed(seed)
    images = torch.empty(n, 3, size, size)
    targets = []
    for i in range(n):
        image = (0.3 * torch.rand(3, 1, 1, generator=g)).expand(3, size, size).clone()
        k = int(torch.randint(1, max_objects + 1, (1,), generator=g))
        taken = torch.zeros(size, size, dtype=torch.bool)
        boxes, labels = [], []
        for _ in range(20 * k):  # a few tries per object to find a free place
            if len(labels) == k:
                break
            kind = int(torch.randint(len(SHAPE_CLASSES), (1,), generator=g))
            r = size * (0.08 + 0.07 * float(torch.rand(1, generator=g)))
            cx, cy = (r + 1 + (size - 2 * r - 2) * torch.rand(2, generator=g)).tolist()
            mask = _shape_mask(kind, cx, cy, r, size)
            ys, xs = mask.nonzero(as_tuple=True)
            grown = torch.zeros_like(taken)
            grown[max(int(ys.min()) - 2, 0) : int(ys.max()) + 3, max(int(xs.min()) - 2, 0) : int(xs.max()) + 3] = True
            if (grown & taken).any():
                continue
            taken |= grown
            colour = 0.5 + 0.5 * torch.rand(3, 1, 1, generator=g)
            image = torch.where(mask, colour, image)
            boxes.append([float(xs.min()), float(ys.min()), float(xs.max()) + 1, float(ys.max()) + 1])
            labels.append(kind + 1)
        image = image + noise * torch.randn(3, size, size, generator=g)
        images[i] = image.clamp(0, 1)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32), "labels": torch.tensor(labels, dtype=torch.int64)})
    return images, targets


def blob_volumes(
    n: int = 16, size: int = 16, max_blobs: int = 3, noise: float = 0.6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy 3-D volumes (n, 1, size, size, size) with 1..``max_blobs`` balls, and their masks.

    Inside a ball the signal is 1, outside 0; Gaussian noise of standard deviation ``noise`` is
    added, so a per-voxel threshold mislabels many voxels while the shapes stay visible to a
    model that looks at neighbourhoods. ``masks`` are float32 0/1 of the same shape.
    """
    _positive_int(n, "n")
    _positive_int(size, "size")
    _positive_int(max_blobs, "max_blobs")
    if size < 8:
        raise ValueError(f"size must be at least 8 voxels, got {size}")
    if not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    g = torch.Generator().manual_seed(seed)
    c = torch.arange(size, dtype=torch.float32) + 0.5
    zz, yy, xx = c.view(-1, 1, 1), c.view(1, -1, 1), c.view(1, 1, -1)
    masks = torch.zeros(n, 1, size, size, size)
    for i in range(n):
        for _ in range(int(torch.randint(1, max_blobs + 1, (1,), generator=g))):
            r = size * (0.12 + 0.12 * float(torch.rand(1, generator=g)))
            z, y, x = (r + (size - 2 * r) * torch.rand(3, generator=g)).tolist()
            masks[i, 0] += ((zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= r**2).float()
    masks = masks.clamp_(max=1)
    volumes = masks + noise * torch.randn(masks.shape, generator=g)
    return volumes, masks
