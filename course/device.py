"""Choosing a device, seeding every random generator, and a scratch folder for lessons."""

from __future__ import annotations

import os
import random
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

_DEVICES = ("cuda", "mps", "cpu")


def pick_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    ``prefer`` (or the environment variable ``COURSE_DEVICE``) forces a choice,
    e.g. ``pick_device("cpu")`` to compare against the GPU.
    """
    choice = prefer if prefer is not None else os.environ.get("COURSE_DEVICE")
    if choice:
        kind = choice.split(":")[0]
        if kind not in _DEVICES:
            raise ValueError(
                f"unknown device {choice!r}: use one of {', '.join(_DEVICES)} "
                "(for example pick_device('cpu') or COURSE_DEVICE=cuda:1)"
            )
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {choice!r} was asked for, but this PyTorch sees no CUDA GPU. "
                "Run `python -m course doctor` to see why, or use pick_device() to fall back."
            )
        if kind == "mps" and not _mps_available():
            raise RuntimeError(f"device {choice!r} was asked for, but MPS is not available here.")
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device_name(device: torch.device | str | None = None) -> str:
    """A human name for the hardware behind ``device``: the GPU model or the CPU model."""
    device = torch.device(device) if device is not None else pick_device()
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return cpu_name()


def cpu_name() -> str:
    """The CPU model as the operating system reports it (falls back to the platform string)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
        match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return match.group(1).strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def seed_everything(seed: int = 0, deterministic: bool = False) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) and return a seeded CPU generator.

    With ``deterministic=True`` PyTorch also refuses non-deterministic kernels
    (``torch.use_deterministic_algorithms``), which lesson 07 explains.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return torch.Generator().manual_seed(seed)


def workdir(name: str, clean: bool = True) -> Path:
    """A scratch folder for files a lesson writes (checkpoints, logs, image folders).

    It lives under ``$COURSE_WORKDIR`` (default: ``torch-course`` in the system's temp
    folder), so lessons never write into the repository. ``clean=True`` empties it first,
    so every run of a lesson starts from the same state.
    """
    if not name or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"workdir name must be letters, digits, '.', '_' or '-', got {name!r}")
    root = Path(os.environ.get("COURSE_WORKDIR") or Path(tempfile.gettempdir()) / "torch-course")
    path = root / name
    if clean and path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
