"""Wrong and right answers for solutions/06_training.ipynb (format: tests/test_mutants.py)."""

_T1_HEAD = "def train_one_epoch(model, loader, loss_fn, optimizer, device, clip=None) -> float:\n"
_T1_RIGHT = _T1_HEAD + """    model.train()
    total, seen = torch.zeros((), device=device), 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.detach() * len(yb)
        seen += len(yb)
    return (total / seen).item()
"""

_T2_HEAD = "def evaluate_binary(model, loader, device) -> dict:\n"
_T2_RIGHT = _T2_HEAD + """    was_training = model.training
    model.eval()
    total, correct, seen = torch.zeros((), device=device), torch.zeros((), device=device), 0
    try:
        with torch.inference_mode():
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                logits = model(xb).reshape(-1)
                total += nn.functional.binary_cross_entropy_with_logits(logits, yb, reduction="sum")
                correct += ((logits > 0).float() == yb).sum()
                seen += len(yb)
    finally:
        model.train(was_training)
    return {"loss": (total / seen).item(), "acc": (correct / seen).item()}
"""

_T3_HEAD = "def param_groups_by_dim(model: nn.Module, weight_decay: float) -> list:\n"
_T4_HEAD = "def warmup_cosine(optimizer, warmup_steps: int, total_steps: int, min_factor: float = 0.0):\n"
_T5_HEAD = "def accumulated_step(model, micro_batches, loss_fn, optimizer) -> None:\n"

_T6 = """class EarlyStopping:
    def __init__(self, patience: int, mode: str = "min", min_delta: float = 0.0):
        self.patience, self.mode, self.min_delta = patience, mode, min_delta
        self.best, self.best_epoch = None, 0
        self.epoch, self.bad_epochs = 0, 0

    def step(self, value: float) -> bool:
        self.epoch += 1
        if self.best is None:
            improved = True
        elif self.mode == "min":
            improved = IMPROVED_MIN
        else:
            improved = IMPROVED_MAX
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, EPOCH, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience
"""


def _t6(min_rule="value < self.best - self.min_delta", max_rule="value > self.best + self.min_delta", epoch="self.epoch"):
    return _T6.replace("IMPROVED_MIN", min_rule).replace("IMPROVED_MAX", max_rule).replace("EPOCH", epoch)


MUTANTS = [
    # ---- Task 1: one training epoch
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": ".item() every step",
     "code": _T1_RIGHT.replace("total += loss.detach() * len(yb)", "total += loss.item() * len(yb)"),
     "message": "read into python"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": "mean of batch means",
     "code": _T1_RIGHT.replace("total += loss.detach() * len(yb)\n        seen += len(yb)", "total += loss.detach()\n        seen += 1"),
     "message": "weight each batch by its size"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": "no model.train()",
     "code": _T1_RIGHT.replace("    model.train()\n", ""), "message": "train mode"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": "zero_grad after step (stale gradients reach step 1)",
     "code": _T1_RIGHT.replace("        optimizer.zero_grad(set_to_none=True)\n", "").replace(
         "        optimizer.step()\n", "        optimizer.step()\n        optimizer.zero_grad(set_to_none=True)\n"),
     "message": "zero the gradients before each backward"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": "clip ignored",
     "code": _T1_RIGHT.replace("nn.utils.clip_grad_norm_(model.parameters(), clip)", "pass"),
     "message": "clip=0.05"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "wrong", "name": "clip_grad_value_ instead of the norm",
     "code": _T1_RIGHT.replace("clip_grad_norm_", "clip_grad_value_"), "message": "clip the total gradient norm"},
    {"task": "t1-train-epoch", "cell": "t1-code", "kind": "right", "name": "float() once, zero_grad() without set_to_none, sum reduction",
     "code": _T1_HEAD + """    model.train()
    running = None
    count = 0
    for xb, yb in loader:
        optimizer.zero_grad()
        out = model(xb.to(device))
        loss = loss_fn(out, yb.to(device))
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=clip)
        optimizer.step()
        part = loss.detach() * yb.shape[0]
        running = part if running is None else running + part
        count += yb.shape[0]
    return float(running / count)
"""},
    # ---- Task 2: evaluate a binary classifier
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "sigmoid then BCE",
     "code": _T2_RIGHT.replace("nn.functional.binary_cross_entropy_with_logits(logits, yb, reduction=\"sum\")",
                               "nn.functional.binary_cross_entropy(torch.sigmoid(logits), yb, reduction=\"sum\")"),
     "message": "logits of +-40"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "mean of batch means",
     "code": _T2_RIGHT.replace("nn.functional.binary_cross_entropy_with_logits(logits, yb, reduction=\"sum\")",
                               "nn.functional.binary_cross_entropy_with_logits(logits, yb) * 40"),
     "message": "averaged over samples"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "no model.eval()",
     "code": _T2_RIGHT.replace("    model.eval()\n", ""), "message": "model.eval()"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "no_grad instead of inference_mode",
     "code": _T2_RIGHT.replace("torch.inference_mode()", "torch.no_grad()"), "message": "inference_mode"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "leaves the model in eval mode",
     "code": _T2_RIGHT.replace("        model.train(was_training)\n", "        pass\n"), "message": "put it back"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "wrong", "name": "threshold 0.5 on the logit",
     "code": _T2_RIGHT.replace("(logits > 0)", "(logits > 0.5)"), "message": "the accuracy"},
    {"task": "t2-evaluate-binary", "cell": "t2-code", "kind": "right", "name": "sigmoid > 0.5, BCEWithLogitsLoss module, no try/finally",
     "code": _T2_HEAD + """    mode = model.training
    model.eval()
    bce = nn.BCEWithLogitsLoss(reduction="sum")
    loss_sum, hits, n = 0.0, 0, 0
    with torch.inference_mode():
        for xb, yb in loader:
            z = model(xb.to(device)).squeeze(1)
            t = yb.to(device)
            loss_sum += bce(z, t)
            hits += ((torch.sigmoid(z) > 0.5).float() == t).sum()
            n += t.numel()
    model.train(mode)
    return {"loss": float(loss_sum / n), "acc": float(hits / n)}
"""},
    # ---- Task 3: weight decay by tensor shape
    {"task": "t3-groups-by-dim", "cell": "t3-code", "kind": "wrong", "name": "the lesson's rule by name and type",
     "code": _T3_HEAD + """    norms = (nn.modules.batchnorm._BatchNorm, nn.LayerNorm, nn.GroupNorm)
    decay, no_decay, seen = [], [], set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            (no_decay if name == "bias" or isinstance(module, norms) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
""", "message": "exactly the trainable tensors with 2 or more dimensions"},
    {"task": "t3-groups-by-dim", "cell": "t3-code", "kind": "wrong", "name": "module by module: tied weight twice",
     "code": _T3_HEAD + """    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if p.requires_grad:
                (decay if p.dim() >= 2 else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
""", "message": "appears twice"},
    {"task": "t3-groups-by-dim", "cell": "t3-code", "kind": "wrong", "name": "frozen parameters included",
     "code": _T3_HEAD + """    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
""", "message": "frozen"},
    {"task": "t3-groups-by-dim", "cell": "t3-code", "kind": "wrong", "name": "only biases exempt",
     "code": _T3_HEAD + """    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if name.endswith("bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
""", "message": "2 or more dimensions"},
    {"task": "t3-groups-by-dim", "cell": "t3-code", "kind": "right", "name": "named_parameters and ndim, groups in the other order",
     "code": _T3_HEAD + """    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for _, p in named if p.ndim < 2], "weight_decay": 0.0},
        {"params": [p for _, p in named if p.ndim >= 2], "weight_decay": weight_decay},
    ]
"""},
    # ---- Task 4: warm-up + cosine with a floor
    {"task": "t4-warmup-cosine", "cell": "t4-code", "kind": "wrong", "name": "no clamp after total_steps (cosine rises again)",
     "code": _T4_HEAD + """    def factor(s):
        if s < warmup_steps:
            return (s + 1) / warmup_steps
        p = (s - warmup_steps) / (total_steps - warmup_steps)
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * p))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
""", "message": "after total_steps"},
    {"task": "t4-warmup-cosine", "cell": "t4-code", "kind": "wrong", "name": "min_factor ignored",
     "code": _T4_HEAD + """    def factor(s):
        if s < warmup_steps:
            return (s + 1) / warmup_steps
        p = min(1.0, (s - warmup_steps) / (total_steps - warmup_steps))
        return 0.5 * (1 + math.cos(math.pi * p))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
""", "message": "min_factor"},
    {"task": "t4-warmup-cosine", "cell": "t4-code", "kind": "wrong", "name": "warm-up starts at 0 (s / warmup)",
     "code": _T4_HEAD + """    def factor(s):
        if s < warmup_steps:
            return s / warmup_steps
        p = min(1.0, (s - warmup_steps) / (total_steps - warmup_steps))
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * p))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
""", "message": "warm-up learning rates"},
    {"task": "t4-warmup-cosine", "cell": "t4-code", "kind": "wrong", "name": "one lr for every group",
     "code": _T4_HEAD + """    base = optimizer.param_groups[0]["lr"]
    for g in optimizer.param_groups:
        g["lr"] = base
    def factor(s):
        if s < warmup_steps:
            return (s + 1) / warmup_steps
        p = min(1.0, (s - warmup_steps) / (total_steps - warmup_steps))
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * p))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
""", "message": "warm-up learning rates"},
    {"task": "t4-warmup-cosine", "cell": "t4-code", "kind": "right", "name": "SequentialLR-free closed form with max()",
     "code": _T4_HEAD + """    span = total_steps - warmup_steps
    def factor(step):
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        done = min(step - warmup_steps, span) / span
        return max(min_factor, min_factor + (1 - min_factor) * (1 + math.cos(math.pi * done)) / 2)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=factor)
"""},
    # ---- Task 5: accumulation over uneven micro-batches
    {"task": "t5-accumulation", "cell": "t5-code", "kind": "wrong", "name": "divide by the number of micro-batches",
     "code": _T5_HEAD + """    optimizer.zero_grad()
    for xb, yb in micro_batches:
        (loss_fn(model(xb), yb) / len(micro_batches)).backward()
    optimizer.step()
""", "message": "len(y) / total"},
    {"task": "t5-accumulation", "cell": "t5-code", "kind": "wrong", "name": "no zero_grad",
     "code": _T5_HEAD + """    total = sum(len(yb) for _, yb in micro_batches)
    for xb, yb in micro_batches:
        (loss_fn(model(xb), yb) * len(yb) / total).backward()
    optimizer.step()
""", "message": "after the accumulated step"},
    {"task": "t5-accumulation", "cell": "t5-code", "kind": "wrong", "name": "concatenate and one backward",
     "code": _T5_HEAD + """    xs = torch.cat([xb for xb, _ in micro_batches])
    ys = torch.cat([yb for _, yb in micro_batches])
    optimizer.zero_grad()
    loss_fn(model(xs), ys).backward()
    optimizer.step()
""", "message": "once per micro-batch"},
    {"task": "t5-accumulation", "cell": "t5-code", "kind": "wrong", "name": "a step per micro-batch",
     "code": _T5_HEAD + """    total = sum(len(yb) for _, yb in micro_batches)
    for xb, yb in micro_batches:
        optimizer.zero_grad()
        (loss_fn(model(xb), yb) * len(yb) / total).backward()
        optimizer.step()
""", "message": "after the accumulated step"},
    {"task": "t5-accumulation", "cell": "t5-code", "kind": "right", "name": "sum of per-sample losses divided by the total",
     "code": _T5_HEAD + """    n = sum(yb.shape[0] for _, yb in micro_batches)
    for p in model.parameters():
        p.grad = None
    for xb, yb in micro_batches:
        loss = loss_fn(model(xb), yb) * yb.shape[0]
        (loss / n).backward()
    optimizer.step()
"""},
    # ---- Task 6: early stopping with min_delta and mode
    {"task": "t6-early-stopping", "cell": "t6-code", "kind": "wrong", "name": "equal counts as an improvement",
     "code": _t6(min_rule="value <= self.best - self.min_delta"), "message": "an equal value is not an improvement"},
    {"task": "t6-early-stopping", "cell": "t6-code", "kind": "wrong", "name": "min_delta ignored",
     "code": _t6(min_rule="value < self.best", max_rule="value > self.best"), "message": "min_delta"},
    {"task": "t6-early-stopping", "cell": "t6-code", "kind": "wrong", "name": "max mode treated as min",
     "code": _t6(max_rule="value < self.best - self.min_delta"), "message": "mode='max'"},
    {"task": "t6-early-stopping", "cell": "t6-code", "kind": "wrong", "name": "0-based best_epoch",
     "code": _t6(epoch="self.epoch - 1"), "message": "(best, best_epoch)"},
    {"task": "t6-early-stopping", "cell": "t6-code", "kind": "right", "name": "sign trick, math.inf start",
     "code": """class EarlyStopping:
    def __init__(self, patience: int, mode: str = "min", min_delta: float = 0.0):
        self.patience, self.sign, self.min_delta = patience, (1 if mode == "min" else -1), min_delta
        self.best, self.best_epoch, self._score = None, 0, math.inf
        self._epochs, self._waited = 0, 0

    def step(self, value: float) -> bool:
        self._epochs += 1
        score = self.sign * value
        if self.best is None or score < self._score - self.min_delta:
            self._score, self.best, self.best_epoch, self._waited = score, value, self._epochs, 0
            return False
        self._waited += 1
        return self._waited >= self.patience
"""},
]
