"""Plots the lessons share: training curves, image grids and decision boundaries.

Each function draws on ``ax`` when one is given (so you can combine plots) and otherwise
makes its own figure and shows it.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import torch


def _own_axes(ax, figsize):
    if ax is not None:
        return ax, False
    _, ax = plt.subplots(figsize=figsize)
    return ax, True


def curves(
    history: Mapping[str, Sequence[float]],
    title: str = "Training curves",
    xlabel: str = "epoch",
    ax=None,
) -> None:
    """Plot one line per metric, e.g. ``{"train_loss": [...], "val_loss": [...]}``.

    Metrics whose names contain ``acc`` go on a second y-axis so losses and accuracies
    share one picture without squashing each other.
    """
    if not isinstance(history, Mapping) or not history:
        raise ValueError("history must be a non-empty dict of metric name -> list of numbers")
    for key, values in history.items():
        if len(values) == 0:
            raise ValueError(f"metric {key!r} has no values to plot")
    ax, own = _own_axes(ax, (6, 3.5))
    acc_keys = [k for k in history if "acc" in k.lower()]
    twin = ax.twinx() if acc_keys and len(acc_keys) < len(history) else None
    for key, values in history.items():
        values = [float(v) for v in values]
        target = twin if (twin is not None and key in acc_keys) else ax
        style = "--" if target is twin else "-"
        target.plot(range(1, len(values) + 1), values, style, marker="o", markersize=3, label=key)
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_title(title)
    ax.grid(alpha=0.3)
    lines, labels = ax.get_legend_handles_labels()
    if twin is not None:
        twin.set_ylabel("accuracy")
        more = twin.get_legend_handles_labels()
        lines, labels = lines + more[0], labels + more[1]
    # Outside the axes, so it never hides a line (with two y-axes "best" sees only one of them).
    ax.legend(lines, labels, loc="upper left", bbox_to_anchor=(1.16 if twin is not None else 1.02, 1))
    if own:
        plt.tight_layout()
        plt.show()


def images(
    batch: torch.Tensor,
    labels: Sequence | torch.Tensor | None = None,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
) -> None:
    """Show a grid of images from a (N, C, H, W) or (N, H, W) tensor with optional labels."""
    if not isinstance(batch, torch.Tensor) or batch.dim() not in (3, 4):
        raise ValueError("batch must be a tensor of shape (N, C, H, W) or (N, H, W)")
    batch = batch.detach().cpu().float()
    if batch.dim() == 3:
        batch = batch.unsqueeze(1)
    if batch.shape[1] not in (1, 3):
        raise ValueError(f"images need 1 or 3 channels, got {batch.shape[1]} (is the batch (N, H, W, C)? permute it)")
    n = batch.shape[0]
    if labels is not None and len(labels) != n:
        raise ValueError(f"got {n} images but {len(labels)} labels")
    ncols = max(1, min(ncols, n))
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.3 * ncols, 1.4 * nrows), squeeze=False)
    lo, hi = batch.min(), batch.max()
    scaled = (batch - lo) / (hi - lo) if hi > lo else batch
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = scaled[i].permute(1, 2, 0).numpy()
        grey = img.shape[-1] == 1
        ax.imshow(img[..., 0] if grey else img, cmap="gray" if grey else None)
        if labels is not None:
            lab = int(labels[i])
            ax.set_title(class_names[lab] if class_names else str(lab), fontsize=8)
    if title:
        fig.suptitle(title)
    plt.tight_layout()
    plt.show()


@torch.no_grad()
def decision_boundary(
    model: torch.nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    resolution: int = 200,
    title: str = "Decision boundary",
    ax=None,
) -> None:
    """Colour the plane by ``model``'s predicted class and scatter the 2-D points ``X``."""
    if X.dim() != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary needs 2-D points of shape (N, 2), got {tuple(X.shape)}")
    X, y = X.detach().cpu(), y.detach().cpu()
    pad = 0.5
    (x0, y0), (x1, y1) = (X.min(0).values - pad).tolist(), (X.max(0).values + pad).tolist()
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, resolution), torch.linspace(y0, y1, resolution), indexing="xy")
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    logits = model(grid.to(device)).cpu()
    model.train(was_training)
    pred = (logits.squeeze(-1) > 0).long() if logits.dim() == 1 or logits.shape[-1] == 1 else logits.argmax(-1)
    ax, own = _own_axes(ax, (4.5, 4))
    ax.contourf(gx.numpy(), gy.numpy(), pred.reshape(resolution, resolution).numpy(), alpha=0.3, cmap="viridis")
    ax.scatter(X[:, 0].numpy(), X[:, 1].numpy(), c=y.numpy(), s=10, cmap="viridis", edgecolors="k", linewidths=0.2)
    ax.set_title(title)
    if own:
        plt.tight_layout()
        plt.show()
