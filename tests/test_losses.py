"""Tests for course.losses: the distillation loss of lessons 04 and 13."""

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from course.losses import DistillationLoss


def _logits(seed=0, n=8, c=10, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, c, generator=g, dtype=torch.float64)


def _kl_by_hand(student, teacher, T):
    p_t, p_s = (teacher / T).softmax(1), (student / T).softmax(1)
    return (p_t * (p_t.log() - p_s.log())).sum(1).mean()


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0, 8.0])
@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_matches_the_formula(T, a):
    s, t = _logits(0), _logits(1, scale=3.0)
    y = t.argmax(1)
    expected = a * T**2 * _kl_by_hand(s, t, T) + (1 - a) * F.cross_entropy(s, y)
    assert torch.allclose(DistillationLoss(T, a)(s, t, y), expected, atol=1e-10)


def test_zero_soft_term_when_student_equals_teacher():
    t = _logits(2, scale=3.0)
    assert DistillationLoss(4.0, 1.0)(t.clone(), t, t.argmax(1)).abs().item() < 1e-10


def test_no_gradient_into_the_teacher_and_gradcheck():
    s = _logits(0).requires_grad_()
    t = _logits(1, scale=3.0).requires_grad_()
    DistillationLoss(3.0, 0.6)(s, t, t.argmax(1)).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None
    y = t.detach().argmax(1)
    assert gradcheck(lambda x: DistillationLoss(3.0, 0.6)(x, t.detach(), y), (_logits(0).requires_grad_(),))


def test_t_squared_keeps_the_soft_gradient_on_one_scale():
    s, t = _logits(0), _logits(1, scale=3.0)
    norms = {}
    for T in (4.0, 16.0):
        x = s.clone().requires_grad_()
        DistillationLoss(T, 1.0)(x, t, t.argmax(1)).backward()
        norms[T] = x.grad.norm().item()
    assert 0.5 < norms[16.0] / norms[4.0] < 2.0  # without T² the ratio would be about 1/16


@pytest.mark.parametrize("kwargs, error, text", [
    ({"temperature": 0.0}, ValueError, "temperature must be > 0"),
    ({"temperature": -1.0}, ValueError, "temperature must be > 0"),
    ({"soft_weight": 1.5}, ValueError, "soft_weight must be in [0, 1]"),
    ({"temperature": "4"}, TypeError, "temperature must be a number"),
    ({"soft_weight": None}, TypeError, "soft_weight must be a number"),
])
def test_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text.replace("[", r"\[").replace("]", r"\]")):
        DistillationLoss(**kwargs)


def test_bad_shapes():
    s, t = _logits(0), _logits(1)
    with pytest.raises(ValueError, match="same shape"):
        DistillationLoss()(s, t[:, :5], t.argmax(1))
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        DistillationLoss()(s[0], t[0], t.argmax(1)[:1])


def test_repr_names_the_settings():
    assert "temperature=2.0, soft_weight=0.5" in repr(DistillationLoss(2, 0.5))
