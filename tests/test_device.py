import random

import numpy as np
import pytest
import torch

from course.device import cpu_name, device_name, pick_device, seed_everything, workdir


def test_pick_device_prefers_cuda_then_cpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    assert pick_device().type == (expected or pick_device().type)
    if not torch.cuda.is_available():
        assert pick_device().type in ("cpu", "mps")


def test_pick_device_honours_override(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device("cpu") == torch.device("cpu")


def test_pick_device_rejects_unknown_and_unavailable(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        pick_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            pick_device("cuda")


def test_device_name_is_human_readable():
    assert device_name("cpu") == cpu_name()
    assert cpu_name().strip()


def test_seed_everything_makes_every_generator_repeat():
    seed_everything(7)
    first = (random.random(), np.random.rand(), torch.rand(2))
    seed_everything(7)
    second = (random.random(), np.random.rand(), torch.rand(2))
    assert first[0] == second[0] and first[1] == second[1] and torch.equal(first[2], second[2])
    g = seed_everything(7)
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator().manual_seed(7)))
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(-1)


def test_workdir_is_clean_and_outside_the_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    path = workdir("lesson_x")
    (path / "old.txt").write_text("x")
    assert workdir("lesson_x", clean=False).joinpath("old.txt").exists()
    assert not any(workdir("lesson_x").iterdir())
    assert path.parent == tmp_path
    with pytest.raises(ValueError, match="workdir name"):
        workdir("../escape")
