"""Losses that a lesson wrote in the open and a later lesson reuses.

* :class:`DistillationLoss` - the distillation loss with temperature and the T² factor that
  lesson 04 (section 8) writes; lesson 13 trains students with it.

    from course.losses import DistillationLoss
    loss_fn = DistillationLoss(temperature=4.0, soft_weight=0.7)
    loss = loss_fn(student(x), teacher_logits, y)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DistillationLoss(nn.Module):
    """``a * T² * KL(teacher_T ‖ student_T) + (1 - a) * CE(student, labels)``, batch-mean.

    ``teacher_T = softmax(teacher_logits / T)`` and ``student_T = softmax(student_logits / T)``
    are the distributions softened by the temperature ``T``; the T² factor keeps the soft term's
    gradient on the same scale for every ``T`` (it shrinks like 1/T² without it). ``soft_weight``
    is ``a``: 1 trains on the teacher alone, 0 on the labels alone. No gradient flows into the
    teacher's logits. This is the loss of lesson 04, section 8, unchanged.
    """

    def __init__(self, temperature: float = 4.0, soft_weight: float = 0.7) -> None:
        super().__init__()
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise TypeError(f"temperature must be a number > 0, got {temperature!r}")
        if isinstance(soft_weight, bool) or not isinstance(soft_weight, (int, float)):
            raise TypeError(f"soft_weight must be a number in [0, 1], got {soft_weight!r}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if not 0.0 <= soft_weight <= 1.0:
            raise ValueError(f"soft_weight must be in [0, 1], got {soft_weight}")
        self.T, self.a = float(temperature), float(soft_weight)

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if student_logits.shape != teacher_logits.shape:
            raise ValueError(f"student {tuple(student_logits.shape)} and teacher {tuple(teacher_logits.shape)} "
                             "logits must have the same shape")
        if student_logits.dim() != 2:
            raise ValueError(f"logits must have shape (N, C), got {tuple(student_logits.shape)}")
        log_p_student = F.log_softmax(student_logits / self.T, dim=1)
        log_p_teacher = F.log_softmax(teacher_logits.detach() / self.T, dim=1)  # no gradient into the teacher
        soft = F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True) * self.T**2
        hard = F.cross_entropy(student_logits, labels)
        return self.a * soft + (1 - self.a) * hard

    def extra_repr(self) -> str:
        return f"temperature={self.T}, soft_weight={self.a}"
