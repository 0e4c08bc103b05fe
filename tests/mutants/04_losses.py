"""Wrong and right answers for solutions/04_losses.ipynb (format: tests/test_mutants.py)."""

_FOCAL_INIT = '''
class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0, alpha=None, reduction="mean"):
        super().__init__()
        if gamma < 0:
            raise ValueError("gamma must be >= 0")
        if reduction not in REDUCTIONS:
            raise ValueError("bad reduction")
        self.gamma, self.reduction = float(gamma), reduction
        self.register_buffer("alpha", alpha)
'''

_FOCAL_FORWARD = '''
    def forward(self, logits, target):
        log_pt = F.log_softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        loss = -((-torch.expm1(log_pt)).clamp_min(1e-12) ** self.gamma) * log_pt
        if self.alpha is not None:
            loss = self.alpha.to(loss.dtype)[target] * loss
        return {"mean": loss.mean, "sum": loss.sum}.get(self.reduction, lambda: loss)()
'''

_DIOU = '''
def diou_loss(pred, target, reduction="mean", eps=1e-7):
    if reduction not in REDUCTIONS:
        raise ValueError("bad reduction")
    wh = (torch.minimum(pred[:, 2:], target[:, 2:]) - torch.maximum(pred[:, :2], target[:, :2])).clamp_min(0)
    inter = wh[:, 0] * wh[:, 1]
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    iou = inter / (area_p + area_t - inter + eps)
    c_wh = torch.maximum(pred[:, 2:], target[:, 2:]) - torch.minimum(pred[:, :2], target[:, :2])
    c2 = (c_wh ** 2).sum(dim=1) + eps
    rho2 = (((pred[:, :2] + pred[:, 2:]) - (target[:, :2] + target[:, 2:])) / 2).pow(2).sum(dim=1)
    loss = LOSS
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
'''

_IOU = '''
def box_iou_matrix(a, b, eps=1e-7):
    CHECKS
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left)CLAMP
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter + eps)
'''
_BOTH = '''for boxes in (a, b):
        if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
            raise ValueError("x2 < x1 or y2 < y1")'''
_ONLY_A = '''if (a[:, 2] < a[:, 0]).any() or (a[:, 3] < a[:, 1]).any():
        raise ValueError("x2 < x1 or y2 < y1")'''

_DISTILL = '''
def distillation_loss(student_logits, teacher_logits, labels, T=4.0, soft_weight=0.7):
    log_p_s = F.log_softmax(student_logits / T, dim=1)
    log_p_t = F.log_softmax(TEACHER / T, dim=1)
    soft = SOFT
    hard = F.cross_entropy(student_logits, labels)
    return soft_weight * soft + (1 - soft_weight) * hard
'''

_BINARY = '''
def check_binary_inputs(logits, targets):
    if not targets.is_floating_point():
        raise TypeError("targets must be float")
    if SHAPE_TEST:
        raise ValueError("logits and targets must have the same shape")
    if RANGE_TEST:
        raise ValueError("targets must lie in [0, 1]")
'''

_SIGMOID_FOCAL = '''
def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    bce = BCE
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = (1 - p_t) ** gamma * bce
    if alpha >= 0:
        loss = ALPHA * loss
    return loss
'''

MUTANTS = [
    # Task 1: stable BCE from logits
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "log of sigmoid, literally",
     "code": "def stable_bce_with_logits(logits, targets):\n    p = torch.sigmoid(logits)\n"
             "    return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p))",
     "message": "not finite"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "eps inside the log",
     "code": "def stable_bce_with_logits(logits, targets):\n    p = torch.sigmoid(logits)\n"
             "    return -(targets * torch.log(p + 1e-7) + (1 - targets) * torch.log(1 - p + 1e-7))",
     "message": "not close"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "calls F.binary_cross_entropy_with_logits",
     "code": "def stable_bce_with_logits(logits, targets):\n"
             "    return F.binary_cross_entropy_with_logits(logits, targets, reduction='none')",
     "message": "does not allow torch.nn.functional.binary_cross_entropy_with_logits"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "nn.BCEWithLogitsLoss imported under another name",
     "code": "from torch.nn import BCEWithLogitsLoss as _B\n\n"
             "def stable_bce_with_logits(logits, targets):\n    return _B(reduction='none')(logits, targets)",
     "message": "does not allow"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "softplus",
     "code": "def stable_bce_with_logits(logits, targets):\n    return (1 - targets) * logits + F.softplus(-logits)",
     "message": "does not allow torch.nn.functional.softplus"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "wrong", "name": "max(z, 0) term forgotten",
     "code": "def stable_bce_with_logits(logits, targets):\n"
             "    return -logits * targets + torch.log1p(torch.exp(-logits.abs()))",
     "message": "not close"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "right", "name": "relu and log(1 + exp(-|z|))",
     "code": "def stable_bce_with_logits(logits, targets):\n"
             "    return torch.relu(logits) - logits * targets + torch.log(1 + torch.exp(-torch.abs(logits)))"},
    {"task": "t1-stable-bce", "cell": "t1-code", "kind": "right", "name": "(1 - y) z + max(-z, 0) + log1p",
     "code": "def stable_bce_with_logits(logits, targets):\n"
             "    return (1 - targets) * logits + (-logits).clamp_min(0) + torch.log1p(torch.exp(-logits.abs()))"},
    # Task 2: focal loss module
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "alpha averaged instead of indexed by target",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace("self.alpha.to(loss.dtype)[target]", "self.alpha.to(loss.dtype).mean()"),
     "message": "alpha=w, reduction='none'"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "mean divided by the sum of the target weights",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace(
         'return {"mean"',
         'if self.reduction == "mean" and self.alpha is not None:\n'
         '            return loss.sum() / self.alpha[target].sum()\n        return {"mean"'),
     "message": "reduction='mean'"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "1 - p_t not clamped",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace("(-torch.expm1(log_pt)).clamp_min(1e-12)", "(1 - log_pt.exp())"),
     "message": "clamp 1 - p_t"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "alpha kept as a plain attribute",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace('self.register_buffer("alpha", alpha)', "self.alpha = alpha"),
     "message": "buffer"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "negative gamma accepted",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace('raise ValueError("gamma must be >= 0")', "pass"),
     "message": "gamma=-1.0"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "wrong", "name": "weight detached (gradient of a different loss)",
     "code": (_FOCAL_INIT + _FOCAL_FORWARD).replace(".clamp_min(1e-12) ** self.gamma)", ".clamp_min(1e-12).detach() ** self.gamma)"),
     "message": "gradcheck failed"},
    {"task": "t2-focal", "cell": "t2-code", "kind": "right", "name": "p_t from exp(-cross_entropy)",
     "code": _FOCAL_INIT + '''
    def forward(self, logits, target):
        ce = F.cross_entropy(logits, target, reduction="none")
        loss = (1 - torch.exp(-ce)).clamp_min(1e-12) ** self.gamma * ce
        if self.alpha is not None:
            loss = loss * self.alpha[target]
        if self.reduction == "none":
            return loss
        return loss.sum() if self.reduction == "sum" else loss.mean()
'''},
    # Task 3: IoU matrix
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "box i with box i only",
     "code": '''
def box_iou_matrix(a, b, eps=1e-7):
    wh = (torch.minimum(a[:, 2:], b[:, 2:]) - torch.maximum(a[:, :2], b[:, :2])).clamp_min(0)
    inter = wh[:, 0] * wh[:, 1]
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a) + area(b) - inter + eps)
''', "message": "every pair"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "overlap not clamped at 0",
     "code": _IOU.replace("CHECKS", _BOTH).replace("CLAMP", ""), "message": "not close"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "union without subtracting the intersection",
     "code": _IOU.replace("CHECKS", _BOTH).replace("CLAMP", ".clamp_min(0)").replace(" - inter + eps", " + eps"),
     "message": "not close"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "b transposed with a (M, N)",
     "code": "def box_iou_matrix(a, b, eps=1e-7):\n    return _solution_iou(b, a, eps)\n\n\n"
             + _IOU.replace("def box_iou_matrix", "def _solution_iou").replace("CHECKS", _BOTH).replace("CLAMP", ".clamp_min(0)"),
     "message": "a[i] with b[j]"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "only a validated",
     "code": _IOU.replace("CHECKS", _ONLY_A).replace("CLAMP", ".clamp_min(0)"), "message": "in b"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "wrong", "name": "calls torchvision's box_iou",
     "code": "from torchvision.ops import box_iou as _tv\n\ndef box_iou_matrix(a, b, eps=1e-7):\n"
             "    for boxes in (a, b):\n        if (boxes[:, 2:] < boxes[:, :2]).any():\n            raise ValueError('bad box')\n"
             "    return _tv(a, b)",
     "message": "does not allow"},
    {"task": "t3-box-iou-matrix", "cell": "t3-code", "kind": "right", "name": "unsqueeze and explicit union",
     "code": '''
def box_iou_matrix(a, b, eps=1e-7):
    if bool((a[:, 2:] < a[:, :2]).any()) or bool((b[:, 2:] < b[:, :2]).any()):
        raise ValueError("boxes need x2 >= x1 and y2 >= y1")
    A, B = a.unsqueeze(1), b.unsqueeze(0)
    iw = (torch.min(A[..., 2], B[..., 2]) - torch.max(A[..., 0], B[..., 0])).clamp(min=0)
    ih = (torch.min(A[..., 3], B[..., 3]) - torch.max(A[..., 1], B[..., 1])).clamp(min=0)
    inter = iw * ih
    union = (A[..., 2] - A[..., 0]) * (A[..., 3] - A[..., 1]) + (B[..., 2] - B[..., 0]) * (B[..., 3] - B[..., 1]) - inter
    return inter / (union + eps)
'''},
    # Task 4: DIoU loss
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "plain 1 - IoU (no distance term)",
     "code": _DIOU.replace("LOSS", "1 - iou"), "message": "distance_box_iou_loss"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "distance over the diagonal, not squared",
     "code": _DIOU.replace("LOSS", "1 - iou + rho2.sqrt() / c2.sqrt()"), "message": "not close"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "GIoU loss instead",
     "code": _DIOU.replace("LOSS", "1 - iou + (c_wh[:, 0] * c_wh[:, 1] - (area_p + area_t - inter)) / (c_wh[:, 0] * c_wh[:, 1] + eps)"),
     "message": "not close"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "default reduction 'sum'",
     "code": _DIOU.replace("LOSS", "1 - iou + rho2 / c2").replace('reduction="mean", eps', 'reduction="sum", eps'),
     "message": "default reduction"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "unknown reduction returns the unreduced loss",
     "code": _DIOU.replace("LOSS", "1 - iou + rho2 / c2").replace('raise ValueError("bad reduction")', "pass"),
     "message": "should raise ValueError"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "wrong", "name": "calls torchvision's distance_box_iou_loss",
     "code": "import torchvision\n\ndef diou_loss(pred, target, reduction='mean', eps=1e-7):\n"
             "    return torchvision.ops.distance_box_iou_loss(pred, target, reduction=reduction, eps=eps)",
     "message": "does not allow torchvision.ops.distance_box_iou_loss"},
    {"task": "t4-diou", "cell": "t4-code", "kind": "right", "name": "unbind and centre coordinates",
     "code": '''
def diou_loss(pred, target, reduction="mean", eps=1e-7):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")
    x1, y1, x2, y2 = pred.unbind(-1)
    u1, v1, u2, v2 = target.unbind(-1)
    inter = (torch.min(x2, u2) - torch.max(x1, u1)).clamp(min=0) * (torch.min(y2, v2) - torch.max(y1, v1)).clamp(min=0)
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    diag2 = (torch.max(x2, u2) - torch.min(x1, u1)) ** 2 + (torch.max(y2, v2) - torch.min(y1, v1)) ** 2
    centre2 = ((x1 + x2 - u1 - u2) / 2) ** 2 + ((y1 + y2 - v1 - v2) / 2) ** 2
    loss = 1 - inter / (union + eps) + centre2 / (diag2 + eps)
    return loss if reduction == "none" else getattr(loss, reduction)()
'''},
    # Task 5: distillation
    {"task": "t5-distill", "cell": "t5-code", "kind": "wrong", "name": "no T² factor",
     "code": _DISTILL.replace("TEACHER", "teacher_logits.detach()").replace(
         "SOFT", 'F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)'),
     "message": "distillation_loss(T=4.0"},
    {"task": "t5-distill", "cell": "t5-code", "kind": "wrong", "name": "KL arguments swapped",
     "code": _DISTILL.replace("TEACHER", "teacher_logits.detach()").replace(
         "SOFT", 'F.kl_div(log_p_t, log_p_s, reduction="batchmean", log_target=True) * T**2'),
     "message": "distillation_loss(T=4.0"},
    {"task": "t5-distill", "cell": "t5-code", "kind": "wrong", "name": "reduction='mean' (also divides by C)",
     "code": _DISTILL.replace("TEACHER", "teacher_logits.detach()").replace(
         "SOFT", 'F.kl_div(log_p_s, log_p_t, reduction="mean", log_target=True) * T**2'),
     "message": "distillation_loss(T=4.0"},
    {"task": "t5-distill", "cell": "t5-code", "kind": "wrong", "name": "teacher not detached",
     "code": _DISTILL.replace("TEACHER", "teacher_logits").replace(
         "SOFT", 'F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * T**2'),
     "message": "teacher_logits.detach()"},
    {"task": "t5-distill", "cell": "t5-code", "kind": "right", "name": "KL written out with probabilities",
     "code": '''
def distillation_loss(student_logits, teacher_logits, labels, T=4.0, soft_weight=0.7):
    p_t = torch.softmax(teacher_logits.detach() / T, dim=1)
    kl = (p_t * (p_t.log() - torch.log_softmax(student_logits / T, dim=1))).sum(dim=1).mean()
    return soft_weight * T * T * kl + (1 - soft_weight) * F.nll_loss(F.log_softmax(student_logits, 1), labels)
'''},
    # Task 6: binary input validation
    {"task": "t6-validation", "cell": "t6-code", "kind": "wrong", "name": "compares only the number of dimensions",
     "code": _BINARY.replace("SHAPE_TEST", "logits.dim() != targets.dim()").replace(
         "RANGE_TEST", "(targets < 0).any() or (targets > 1).any()"),
     "message": "length 7"},
    {"task": "t6-validation", "cell": "t6-code", "kind": "wrong", "name": "soft targets rejected",
     "code": _BINARY.replace("SHAPE_TEST", "logits.shape != targets.shape").replace(
         "RANGE_TEST", "not ((targets == 0) | (targets == 1)).all()"),
     "message": "soft targets"},
    {"task": "t6-validation", "cell": "t6-code", "kind": "wrong", "name": "no range check",
     "code": _BINARY.replace("SHAPE_TEST", "logits.shape != targets.shape").replace("RANGE_TEST", "False"),
     "message": "targets above 1"},
    {"task": "t6-validation", "cell": "t6-code", "kind": "wrong", "name": "only the upper bound checked",
     "code": _BINARY.replace("SHAPE_TEST", "logits.shape != targets.shape").replace("RANGE_TEST", "(targets > 1).any()"),
     "message": "targets below 0"},
    {"task": "t6-validation", "cell": "t6-code", "kind": "wrong", "name": "shape mismatch raised as TypeError",
     "code": _BINARY.replace("SHAPE_TEST", "False").replace("RANGE_TEST", "(targets < 0).any() or (targets > 1).any()")
             + "\n_inner = check_binary_inputs\n\ndef check_binary_inputs(logits, targets):\n"
               "    if logits.shape != targets.shape and targets.is_floating_point():\n"
               "        raise TypeError('logits and targets must have the same shape')\n    _inner(logits, targets)\n",
     "message": "raise ValueError"},
    {"task": "t6-validation", "cell": "t6-code", "kind": "right", "name": "other wording, min/max tests",
     "code": '''
def check_binary_inputs(logits, targets):
    if targets.dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise TypeError(f"targets are {targets.dtype}: BCE needs float targets")
    if tuple(logits.shape) != tuple(targets.shape):
        raise ValueError(f"shape mismatch: {tuple(logits.shape)} vs {tuple(targets.shape)}")
    if bool(targets.lt(0).any() | targets.gt(1).any()):
        raise ValueError("every target must be in [0, 1]")
'''},
    # Task 7: sigmoid focal loss
    {"task": "t7-sigmoid-focal", "cell": "t7-code", "kind": "wrong", "name": "alpha on every element (a scalar factor)",
     "code": _SIGMOID_FOCAL.replace("BCE", 'F.binary_cross_entropy_with_logits(logits, targets, reduction="none")').replace("ALPHA", "alpha"),
     "message": "not close"},
    {"task": "t7-sigmoid-focal", "cell": "t7-code", "kind": "wrong", "name": "BCE from log(sigmoid)",
     "code": _SIGMOID_FOCAL.replace("BCE", "-(targets * torch.log(torch.sigmoid(logits)) + (1 - targets) * torch.log(1 - torch.sigmoid(logits)))")
             .replace("ALPHA", "(alpha * targets + (1 - alpha) * (1 - targets))"),
     "message": "logits ±60"},
    {"task": "t7-sigmoid-focal", "cell": "t7-code", "kind": "wrong", "name": "alpha on negatives, 1 - alpha on positives",
     "code": _SIGMOID_FOCAL.replace("BCE", 'F.binary_cross_entropy_with_logits(logits, targets, reduction="none")')
             .replace("ALPHA", "((1 - alpha) * targets + alpha * (1 - targets))"),
     "message": "not close"},
    {"task": "t7-sigmoid-focal", "cell": "t7-code", "kind": "wrong", "name": "calls torchvision's sigmoid_focal_loss",
     "code": "from torchvision.ops import sigmoid_focal_loss as _sfl\n\ndef sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):\n"
             "    return _sfl(logits, targets, alpha=alpha, gamma=gamma)",
     "message": "does not allow"},
    {"task": "t7-sigmoid-focal", "cell": "t7-code", "kind": "right", "name": "torch.where for p_t and alpha_t",
     "code": '''
def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    p = logits.sigmoid()
    pos = targets == 1
    p_t = torch.where(pos, p, 1 - p)
    loss = (1 - p_t).pow(gamma) * F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    if alpha < 0:
        return loss
    return torch.where(pos, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha)) * loss
'''},
]
