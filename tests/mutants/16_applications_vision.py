"""Wrong and right answers for solutions/16_applications_vision.ipynb (format: tests/test_mutants.py)."""

_TARGET = '''
def make_target(boxes, names, width, height, classes):
    boxes = torch.as_tensor(boxes, dtype=torch.float32)
    SHAPECHECK
    cx, cy, w, h = (boxes * SCALE).unbind(1)
    SIZECHECK
    xyxy = torch.stack([CORNERS], dim=1)
    INSIDECHECK
    if any(n not in classes for n in names):
        raise ValueError("unknown class")
    labels = torch.tensor([OFFSET + classes.index(n) for n in names], dtype=torch.int64)
    return {"boxes": xyxy, "labels": labels}
'''
_T_SHAPE = '''if boxes.ndim != 2 or boxes.shape[1] != 4 or boxes.shape[0] != len(names):
        raise ValueError("bad shape")'''
_T_SIZE = '''if (w <= 0).any() or (h <= 0).any():
        raise ValueError("empty box")'''
_T_INSIDE = '''if (xyxy[:, :2] < 0).any() or (xyxy[:, 2] > width).any() or (xyxy[:, 3] > height).any():
        raise ValueError("outside")'''


def _target(shape=_T_SHAPE, scale="torch.tensor([width, height, width, height])", size=_T_SIZE,
            corners="cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2", inside=_T_INSIDE, offset="1"):
    return (_TARGET.replace("SHAPECHECK", shape).replace("SCALE", scale).replace("SIZECHECK", size)
            .replace("CORNERS", corners).replace("INSIDECHECK", inside).replace("OFFSET", offset))


_DICE = '''
def dice_per_class(pred, target, num_classes, eps=1e-6):
BODY
'''

_ENCODE = '''
def encode(x, n_freqs):
    parts = [x]
    for k in range(n_freqs):
        parts += [torch.sin(FREQ * x), torch.cos(FREQ * x)]
    return torch.cat(parts, dim=-1)
'''

_WEIGHTS = '''
def render_weights(sigma, t, far):
    delta = torch.cat([t[:, 1:] - t[:, :-1], LAST], dim=1)
    alpha = ALPHA
    trans = TRANS
    return trans * alpha
'''
_EXCLUSIVE = "torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1 - alpha[:, :-1]], dim=1), dim=1)"


def _weights(last="far - t[:, -1:]", alpha="1 - torch.exp(-sigma * delta)", trans=_EXCLUSIVE):
    return _WEIGHTS.replace("LAST", last).replace("ALPHA", alpha).replace("TRANS", trans)


_THRESHOLD = '''
def threshold_at_fpr(good_scores, max_fpr):
BODY
'''

_MMD = '''
def mmd2_unbiased(x, y, bandwidth):
    def k(a, b):
        return torch.exp(-torch.cdist(a, b) ** 2 / (TWO * bandwidth**2))

    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    within_x = (kxx.sum() - DIAG * kxx.diagonal().sum()) / NX
    within_y = (kyy.sum() - DIAG * kyy.diagonal().sum()) / NY
    return within_x + within_y - 2 * k(x, y).mean()
'''


def _mmd(two="2", diag="1", nx="(n * (n - 1))", ny="(m * (m - 1))"):
    return _MMD.replace("TWO", two).replace("DIAG", diag).replace("NX", nx).replace("NY", ny)


MUTANTS = [
    # Task 1: detection targets from normalised centre boxes
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "labels from 0",
     "code": _target(offset="0"), "message": "class 0 is the background"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "left normalised",
     "code": _target(scale="1.0", inside="pass"), "message": "still normalised"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "corners a whole width from the centre",
     "code": _target(corners="cx - w, cy - h, cx + w, cy + h", inside="pass"), "message": "x1 = cx − w/2"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "x scaled by the height",
     "code": _target(scale="torch.tensor([height, width, height, width])", inside="pass"), "message": "x and y are swapped"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "no check of degenerate boxes",
     "code": _target(size="pass"), "message": "width 0"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "no check of boxes outside the image",
     "code": _target(inside="pass"), "message": "past the left edge"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "no check that names and boxes match",
     "code": _target(shape="pass"), "message": "one box for two names"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "wrong", "name": "boxes returned as float64",
     "code": _target().replace("return {\"boxes\": xyxy,", "return {\"boxes\": xyxy.double(),"), "message": "float32"},
    {"task": "t1-make-target", "cell": "t1-code", "kind": "right", "name": "box_convert and a class dict",
     "code": "def make_target(boxes, names, width, height, classes):\n"
             "    from torchvision.ops import box_convert\n"
             "    boxes = torch.as_tensor(boxes).float()\n"
             "    if list(boxes.shape) != [len(names), 4]:\n"
             "        raise ValueError('need one (cx, cy, w, h) row per name')\n"
             "    index = {name: i + 1 for i, name in enumerate(classes)}\n"
             "    try:\n"
             "        labels = torch.tensor([index[n] for n in names], dtype=torch.long)\n"
             "    except KeyError as err:\n"
             "        raise ValueError(f'unknown class {err}') from None\n"
             "    size = torch.tensor([float(width), float(height)] * 2)\n"
             "    xyxy = box_convert(boxes * size, 'cxcywh', 'xyxy')\n"
             "    if not bool((xyxy[:, 2:] > xyxy[:, :2]).all()):\n"
             "        raise ValueError('degenerate box')\n"
             "    if bool((xyxy < 0).any()) or bool((xyxy > size).any()):\n"
             "        raise ValueError('box outside the image')\n"
             "    return {'labels': labels, 'boxes': xyxy.reshape(-1, 4)}"},

    # Task 2: multi-class Dice
    {"task": "t2-dice", "cell": "t2-code", "kind": "wrong", "name": "no eps at all (0/0 for an empty class)",
     "code": _DICE.replace("BODY", "    p = F.one_hot(pred, num_classes).flatten(0, -2).double()\n"
                                   "    t = F.one_hot(target, num_classes).flatten(0, -2).double()\n"
                                   "    return 2 * (p * t).sum(0) / (p.sum(0) + t.sum(0))"),
     "message": "divides 0 by 0"},
    {"task": "t2-dice", "cell": "t2-code", "kind": "wrong", "name": "eps in the denominator only",
     "code": _DICE.replace("BODY", "    p = F.one_hot(pred, num_classes).flatten(0, -2).double()\n"
                                   "    t = F.one_hot(target, num_classes).flatten(0, -2).double()\n"
                                   "    return 2 * (p * t).sum(0) / (p.sum(0) + t.sum(0) + eps)"),
     "message": "add eps to the numerator"},
    {"task": "t2-dice", "cell": "t2-code", "kind": "wrong", "name": "mean of per-image Dice",
     "code": _DICE.replace("BODY", "    p = F.one_hot(pred, num_classes).flatten(1, -2).double()\n"
                                   "    t = F.one_hot(target, num_classes).flatten(1, -2).double()\n"
                                   "    return ((2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps)).mean(0)"),
     "message": "mean of per-image Dice"},
    {"task": "t2-dice", "cell": "t2-code", "kind": "wrong", "name": "IoU instead of Dice",
     "code": _DICE.replace("BODY", "    p = F.one_hot(pred, num_classes).flatten(0, -2).double()\n"
                                   "    t = F.one_hot(target, num_classes).flatten(0, -2).double()\n"
                                   "    inter = (p * t).sum(0)\n"
                                   "    return (inter + eps) / (p.sum(0) + t.sum(0) - inter + eps)"),
     "message": "this is the IoU"},
    {"task": "t2-dice", "cell": "t2-code", "kind": "wrong", "name": "classes taken from the data, not num_classes",
     "code": _DICE.replace("BODY", "    p = F.one_hot(pred).flatten(0, -2).double()\n"
                                   "    t = F.one_hot(target, p.shape[-1]).flatten(0, -2).double()\n"
                                   "    return (2 * (p * t).sum(0) + eps) / (p.sum(0) + t.sum(0) + eps)"),
     "message": "num_classes="},
    {"task": "t2-dice", "cell": "t2-code", "kind": "right", "name": "a loop over classes with boolean masks",
     "code": _DICE.replace("BODY", "    out = []\n"
                                   "    for c in range(num_classes):\n"
                                   "        p, t = pred == c, target == c\n"
                                   "        out.append((2 * (p & t).sum() + eps) / (p.sum() + t.sum() + eps))\n"
                                   "    return torch.stack(out).float()")},

    # Task 3: interleaved positional encoding
    {"task": "t3-encode", "cell": "t3-code", "kind": "wrong", "name": "grouped layout (the lesson's)",
     "code": "def encode(x, n_freqs):\n"
             "    if n_freqs == 0:\n"
             "        return x\n"
             "    scaled = x[..., None] * (2.0 ** torch.arange(n_freqs) * math.pi)\n"
             "    return torch.cat([x, torch.sin(scaled).flatten(-2), torch.cos(scaled).flatten(-2)], dim=-1)",
     "message": "interleave sin and cos"},
    {"task": "t3-encode", "cell": "t3-code", "kind": "wrong", "name": "no π", "code": _ENCODE.replace("FREQ", "2.0**k"),
     "message": "missing the factor π"},
    {"task": "t3-encode", "cell": "t3-code", "kind": "wrong", "name": "frequencies from 2¹",
     "code": _ENCODE.replace("FREQ", "2.0 ** (k + 1) * math.pi"), "message": "start at 2¹π"},
    {"task": "t3-encode", "cell": "t3-code", "kind": "wrong", "name": "input left out",
     "code": _ENCODE.replace("FREQ", "2.0**k * math.pi").replace("parts = [x]", "parts = [] if n_freqs else [x]"),
     "message": "shape"},
    {"task": "t3-encode", "cell": "t3-code", "kind": "wrong", "name": "float32 frequencies tensor (dtype lost)",
     "code": "def encode(x, n_freqs):\n"
             "    f = (2.0 ** torch.arange(n_freqs, dtype=torch.float32)) * math.pi\n"
             "    parts = [x.float()]\n"
             "    for k in range(n_freqs):\n"
             "        parts += [torch.sin(f[k] * x.float()), torch.cos(f[k] * x.float())]\n"
             "    return torch.cat(parts, dim=-1)",
     "message": "float64"},
    {"task": "t3-encode", "cell": "t3-code", "kind": "right", "name": "stack and reshape",
     "code": "def encode(x, n_freqs):\n"
             "    f = math.pi * 2.0 ** torch.arange(n_freqs, dtype=x.dtype)\n"
             "    s = x.unsqueeze(-2) * f[:, None]\n"
             "    both = torch.stack([s.sin(), s.cos()], dim=-2)\n"
             "    return torch.cat([x, both.reshape(*x.shape[:-1], -1)], dim=-1)"},

    # Task 4: rendering weights
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "wrong", "name": "inclusive transmittance",
     "code": _weights(trans="torch.cumprod(1 - alpha, dim=1)"), "message": "before* i"},
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "wrong", "name": "alpha = sigma * delta",
     "code": _weights(alpha="sigma * delta", trans="torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), "
                                                  "torch.exp(-sigma * delta)[:, :-1]], dim=1), dim=1)"),
     "message": "small-δ approximation"},
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "wrong", "name": "last delta 0",
     "code": _weights(last="torch.zeros_like(t[:, -1:])"), "message": "δ = 0"},
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "wrong", "name": "last delta infinite (1e10)",
     "code": _weights(last="torch.full_like(t[:, -1:], 1e10)"), "message": "infinite segment"},
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "wrong", "name": "uniform spacing assumed",
     "code": "def render_weights(sigma, t, far):\n"
             "    delta = (t[:, 1:2] - t[:, :1]).expand_as(t)\n"
             "    alpha = 1 - torch.exp(-sigma * delta)\n"
             "    trans = " + _EXCLUSIVE + "\n"
             "    return trans * alpha",
     "message": "per sample and per ray"},
    {"task": "t4-render-weights", "cell": "t4-code", "kind": "right", "name": "exp of the exclusive cumulative sum",
     "code": "def render_weights(sigma, t, far):\n"
             "    delta = torch.diff(t, dim=1, append=torch.full_like(t[:, :1], far))\n"
             "    tau = sigma * delta\n"
             "    before = torch.cumsum(tau, dim=1) - tau\n"
             "    return torch.exp(-before) - torch.exp(-before - tau)"},

    # Task 5: threshold at a false-alarm budget
    {"task": "t5-threshold", "cell": "t5-code", "kind": "wrong", "name": "interpolated quantile",
     "code": _THRESHOLD.replace("BODY", "    return torch.quantile(good_scores, 1 - max_fpr).item()"),
     "message": "not one of the good scores"},
    {"task": "t5-threshold", "cell": "t5-code", "kind": "wrong", "name": "ceil: one flag too many",
     "code": _THRESHOLD.replace("BODY", "    s = good_scores.sort().values\n"
                                        "    return s[len(s) - 1 - math.ceil(max_fpr * len(s))].item()"),
     "message": "too low"},
    {"task": "t5-threshold", "cell": "t5-code", "kind": "wrong", "name": "the maximum, always",
     "code": _THRESHOLD.replace("BODY", "    return good_scores.max().item()"), "message": "higher than needed"},
    {"task": "t5-threshold", "cell": "t5-code", "kind": "wrong", "name": "flags score >= threshold (not strictly greater)",
     "code": _THRESHOLD.replace("BODY", "    for t in good_scores.unique(sorted=True).tolist():\n"
                                        "        if (good_scores >= t).double().mean().item() <= max_fpr:\n"
                                        "            return t\n"
                                        "    return good_scores.max().item()"),
     "message": "higher than needed"},
    {"task": "t5-threshold", "cell": "t5-code", "kind": "wrong", "name": "returns a tensor",
     "code": _THRESHOLD.replace("BODY", "    s = good_scores.sort().values\n"
                                        "    return s[len(s) - 1 - math.floor(max_fpr * len(s) + 1e-9)]"),
     "message": "Python float"},
    {"task": "t5-threshold", "cell": "t5-code", "kind": "right", "name": "search over the candidate scores",
     "code": _THRESHOLD.replace("BODY", "    for t in good_scores.unique(sorted=True):\n"
                                        "        if (good_scores > t).sum() <= max_fpr * len(good_scores) + 1e-9:\n"
                                        "            return float(t)")},

    # Task 6: unbiased MMD²
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "wrong", "name": "biased V-statistic",
     "code": _mmd(diag="0", nx="n**2", ny="m**2"), "message": "biased V-statistic"},
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "wrong", "name": "diagonal dropped, divided by n²",
     "code": _mmd(nx="n**2", ny="m**2"), "message": "divided by n² and m²"},
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "wrong", "name": "kernel without the 2",
     "code": _mmd(two="1"), "message": "factor 2 is missing"},
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "wrong", "name": "distance not squared",
     "code": _mmd().replace("torch.cdist(a, b) ** 2", "torch.cdist(a, b)"), "message": "expected mmd2_unbiased"},
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "wrong", "name": "n(n-1) for both blocks (n for y too)",
     "code": _mmd(ny="(n * (n - 1))"), "message": "expected mmd2_unbiased"},
    {"task": "t6-mmd-unbiased", "cell": "t6-code", "kind": "right", "name": "masked means with explicit distances",
     "code": "def mmd2_unbiased(x, y, bandwidth):\n"
             "    def gram(a, b):\n"
             "        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)\n"
             "        return (-d2 / 2 / bandwidth / bandwidth).exp()\n"
             "    def off_diag_mean(K):\n"
             "        mask = ~torch.eye(len(K), dtype=torch.bool)\n"
             "        return K[mask].mean()\n"
             "    return off_diag_mean(gram(x, x)) + off_diag_mean(gram(y, y)) - 2 * gram(x, y).mean()"},
]
