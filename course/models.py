"""Small models that several lessons reuse once a lesson has built them in the open.

* :class:`MLP` - the multi-layer perceptron of lessons 02-03, for 2-D point clouds and tabular data.
* :class:`SmallCNN` - a two-block convolutional net sized for ``course.data.shapes``
  (3x32x32) and ``course.data.digits`` (1x8x8), for lessons that need a small image model
  and are not about building one (lesson 06 builds its own CNN in the open).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class MLP(nn.Sequential):
    """Linear layers with ReLU between them: ``MLP([2, 64, 64, 3])``."""

    def __init__(self, sizes: Sequence[int], dropout: float = 0.0) -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or any((not isinstance(s, int)) or s <= 0 for s in sizes):
            raise ValueError(f"sizes must list at least two positive ints (input, ..., output), got {sizes!r}")
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
                if dropout:
                    layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class SmallCNN(nn.Module):
    """Two conv blocks, global average pooling and a linear classifier.

    Works for any image size of at least 8x8 thanks to the adaptive pooling.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 4, width: int = 16) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("num_classes", num_classes), ("width", width)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"SmallCNN expects a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
        return self.classifier(self.features(x).flatten(1))
