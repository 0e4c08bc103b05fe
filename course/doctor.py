"""`python -m course doctor`: what this machine has, and what to do about what it lacks."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from dataclasses import dataclass
from typing import Callable

FIX = "run `make setup` in the course folder (or `pip install -c constraints.txt -e .`)"


@dataclass
class Item:
    name: str
    ok: bool
    detail: str
    required: bool
    fix: str = ""


def _version(module: str) -> str:
    mod = importlib.import_module(module)
    return getattr(mod, "__version__", "installed")


def _probe(name: str, fn: Callable[[], str], required: bool, fix: str = FIX) -> Item:
    try:
        return Item(name, True, fn(), required)
    except Exception as err:  # noqa: BLE001 - every failure becomes a line in the report
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return Item(name, False, f"{type(err).__name__}: {first}"[:160], required, fix)


def _torchvision() -> str:
    import torch
    import torchvision

    # The usual breakage: a torchvision wheel built for another torch ("operator torchvision::nms does not exist").
    torchvision.ops.nms(torch.zeros(1, 4), torch.zeros(1), 0.5)
    return f"{torchvision.__version__} (its compiled ops load)"


def _cuda() -> str:
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(f"no CUDA GPU visible (torch built with CUDA {torch.version.cuda or 'none'})")
    name = torch.cuda.get_device_name(0)
    return f"{name}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s)"


def _ninja() -> str:
    from torch.utils.cpp_extension import is_ninja_available

    if not is_ninja_available():
        raise RuntimeError("ninja not found on PATH")
    return "found (C++ extensions can build)"


def _onnxruntime() -> str:
    import onnxruntime as ort

    return f"{ort.__version__}, providers: {', '.join(ort.get_available_providers())}"


def _threads() -> str:
    import torch

    return f"{torch.get_num_threads()} intra-op threads, {os.cpu_count()} logical CPUs"


def collect() -> list[Item]:
    """Probe every part. Start-up log lines that torch prints while probing are silenced."""
    import logging

    torch_logger = logging.getLogger("torch")
    level = torch_logger.level
    torch_logger.setLevel(logging.ERROR)
    try:
        return _collect()
    finally:
        torch_logger.setLevel(level)


def _collect() -> list[Item]:
    from course.device import cpu_name

    return [
        Item("python", sys.version_info >= (3, 10), platform.python_version(), True, "use Python 3.10 or newer"),
        _probe("torch", lambda: _version("torch"), True),
        _probe("torchvision", _torchvision, True, FIX + "; torch and torchvision must be a matching pair"),
        _probe("numpy", lambda: _version("numpy"), True),
        _probe("matplotlib", lambda: _version("matplotlib"), True),
        _probe("nbformat", lambda: _version("nbformat"), True),
        _probe("nbclient", lambda: _version("nbclient"), True),
        _probe("ipywidgets", lambda: _version("ipywidgets"), True),
        _probe("scikit-learn", lambda: _version("sklearn"), True),
        _probe("tqdm", lambda: _version("tqdm"), True),
        _probe("cpu", lambda: f"{cpu_name()}", True),
        _probe("threads", _threads, True),
        _probe("cuda", _cuda, False, "optional: GPU cells skip themselves without it"),
        _probe("ninja", _ninja, False, "optional (lesson 10): pip install ninja"),
        _probe("onnxruntime", _onnxruntime, False, "optional (lesson 14): pip install onnxruntime"),
        _probe("onnx", lambda: _version("onnx"), False, "optional (lesson 14): pip install onnx onnxscript"),
        _probe("tensorboard", lambda: _version("tensorboard"), False, "optional (lesson 06): pip install tensorboard"),
        _probe("torchao", lambda: _version("torchao"), False, "optional (lesson 12): pip install torchao"),
    ]


def report(items: list[Item]) -> str:
    width = max(len(i.name) for i in items)
    lines = ["Torch Course environment check"]
    for item in items:
        mark = "ok  " if item.ok else ("FAIL" if item.required else "--  ")
        lines.append(f"  {mark} {item.name:<{width}}  {item.detail}")
        if not item.ok and item.fix:
            lines.append(f"       {'':<{width}}  fix: {item.fix}")
    missing = [i.name for i in items if i.required and not i.ok]
    if missing:
        lines.append(f"Missing required parts: {', '.join(missing)}.")
    else:
        lines.append("Everything the lessons require is here.")
    return "\n".join(lines)


def main() -> int:
    items = collect()
    print(report(items))
    return 1 if any(i.required and not i.ok for i in items) else 0
