"""Wrong and right answers for solutions/11_pruning.ipynb (format: tests/test_mutants.py)."""

_REPORT = '''
def sparsity_report(model):
    report, zeros, total = {}, 0, 0
    for name, module in model.named_modules():
        if isinstance(module, TYPES):
            w = WEIGHT
            z = int((w == 0).sum())
            report[name] = z / w.numel()
            zeros += z
            total += w.numel()
    report["global"] = GLOBAL
    return report
'''
_REPORT_OK = {
    "TYPES": "(nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)",
    "WEIGHT": "module.weight",
    "GLOBAL": "zeros / total",
}


def _report(**changes):
    code = _REPORT
    for key, value in {**_REPORT_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_BY_PARAMETERS = '''
def sparsity_report(model):
    report, zeros, total = {}, 0, 0
    for name, p in model.named_parameters():
        if name.endswith("weight") and p.dim() >= 2:
            z = int((p == 0).sum())
            report[name[: -len(".weight")]] = z / p.numel()
            zeros += z
            total += p.numel()
    report["global"] = zeros / total
    return report
'''

_BY_MASKS = '''
def sparsity_report(model):
    report, zeros, total = {}, 0, 0
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            mask = getattr(module, "weight_mask", torch.ones_like(module.weight))
            z = int((mask == 0).sum())
            report[name] = z / mask.numel()
            zeros += z
            total += mask.numel()
    report["global"] = zeros / total
    return report
'''

_REPORT_RIGHT = '''
def sparsity_report(model):
    layers = {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))}
    counts = {}
    for n, m in layers.items():
        w = m.weight_orig * m.weight_mask if prune.is_pruned(m) else m.weight
        counts[n] = (int(w.numel() - torch.count_nonzero(w)), w.numel())
    out = {n: z / t for n, (z, t) in counts.items()}
    out["global"] = sum(z for z, _ in counts.values()) / sum(t for _, t in counts.values())
    return out
'''

_SHRINK = '''
def shrink_folded(model):
    linears = [m for m in model if isinstance(m, nn.Linear)]
    weights = [m.weight.detach().clone() for m in linears]
    biases = [m.bias.detach().clone() for m in linears]
    for i in range(LOOP):
        removed = REMOVED
        constant = CONSTANT
        FOLD
        keep = ~removed
        weights[i], biases[i] = weights[i][keep], biases[i][keep]
        NEXT_COLS
    layers, k = [], 0
    for m in model:
        if isinstance(m, nn.Linear):
            lin = nn.Linear(weights[k].shape[1], weights[k].shape[0])
            with torch.no_grad():
                lin.weight.copy_(weights[k])
                lin.bias.copy_(biases[k])
            layers.append(lin)
            k += 1
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)
'''
_SHRINK_OK = {
    "LOOP": "len(linears) - 1",
    "REMOVED": "(weights[i] == 0).all(dim=1)",
    "CONSTANT": "torch.relu(biases[i]) * removed",
    "FOLD": "biases[i + 1] = biases[i + 1] + weights[i + 1] @ constant",
    "NEXT_COLS": "weights[i + 1] = weights[i + 1][:, keep]",
}


def _shrink(**changes):
    code = _SHRINK
    for key, value in {**_SHRINK_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_SHRINK_REMOVE = _shrink().replace(
    "def shrink_folded(model):\n",
    "def shrink_folded(model):\n    for m in model:\n        if isinstance(m, nn.Linear) and prune.is_pruned(m):\n            prune.remove(m, 'weight')\n",
)

_SHRINK_RIGHT = '''
def shrink_folded(model):
    mods = list(model)
    idx = [i for i, m in enumerate(mods) if isinstance(m, nn.Linear)]
    W = {i: (mods[i].weight_orig * mods[i].weight_mask if hasattr(mods[i], "weight_mask") else mods[i].weight).detach() for i in idx}
    B = {i: mods[i].bias.detach().clone() for i in idx}
    for a, b in zip(idx[:-1], idx[1:]):
        alive = W[a].abs().sum(dim=1) > 0
        # run the dropped neurons' constant outputs through the next layer once
        B[b] = B[b] + nn.functional.linear(torch.where(alive, 0.0, B[a].clamp(min=0)), W[b])
        W[a], B[a] = W[a][alive], B[a][alive]
        W[b] = W[b][:, alive]
    out = []
    for i, m in enumerate(mods):
        if i in W:
            lin = nn.Linear(W[i].shape[1], W[i].shape[0])
            lin.weight, lin.bias = nn.Parameter(W[i].clone()), nn.Parameter(B[i].clone())
            out.append(lin)
        else:
            out.append(nn.ReLU())
    return nn.Sequential(*out)
'''

_BUDGET = '''
def prune_to_budget(model, max_nonzero):
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    prunable = sum(m.weight.numel() for m in linears)
    nonzero = NONZERO
    need = nonzero - max_nonzero
    if need <= 0:
        return 0
    CHECK
    APPLY
    return need
'''
_BUDGET_OK = {
    "NONZERO": "sum(int((p != 0).sum()) for p in model.parameters())",
    "CHECK": 'if need > prunable:\n        raise ValueError("budget too small")',
    "APPLY": "prune.global_unstructured([(m, 'weight') for m in linears], pruning_method=prune.L1Unstructured, amount=need)",
}


def _budget(**changes):
    code = _BUDGET
    for key, value in {**_BUDGET_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_BUDGET_RIGHT = '''
def prune_to_budget(model, max_nonzero):
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    fixed = sum(int(torch.count_nonzero(p)) for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() == 2))
    weights = torch.cat([m.weight.detach().abs().flatten() for m in layers])
    keep = max_nonzero - fixed
    if keep < 0:
        raise ValueError(f"the unprunable parameters alone have {fixed} non-zeros")
    drop = max(0, weights.numel() - keep)
    if drop == 0:
        return 0
    threshold = weights.kthvalue(drop).values
    for m in layers:
        prune.custom_from_mask(m, "weight", mask=(m.weight.detach().abs() > threshold).float())
    return int(drop)
'''

_NM = '''
class NMPruning(prune.BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def __init__(self, n, m):
        self.n, self.m = INIT

    def compute_mask(self, t, default_mask):
        if t.shape[-1] % self.m:
            RAISE
        scores = SCORES.reshape(-1, self.m)
        keep = torch.zeros_like(scores).scatter_(1, scores.topk(self.n, dim=1, largest=LARGEST).indices, 1.0)
        return keep.reshape(t.shape) * DEFAULT


def nm_prune(module, name="weight", n=2, m=4):
    APPLY
    return module
'''
_NM_OK = {
    "INIT": "n, m",
    "RAISE": 'raise ValueError("last dimension is not a multiple of m")',
    "SCORES": 't.abs().masked_fill(default_mask == 0, -float("inf"))',
    "LARGEST": "True",
    "DEFAULT": "default_mask",
    "APPLY": "NMPruning.apply(module, name, n=n, m=m)",
}


def _nm(**changes):
    code = _NM
    for key, value in {**_NM_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_NM_RIGHT = '''
class NMPruning(prune.BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def __init__(self, n, m):
        self.n = n
        self.m = m

    def compute_mask(self, t, default_mask):
        if t.shape[-1] % self.m != 0:
            raise ValueError(f"{t.shape[-1]} is not divisible by {self.m}")
        mask = torch.zeros_like(t)
        groups_t = (t.abs() * default_mask).reshape(-1, self.m)
        groups_d = default_mask.reshape(-1, self.m)
        flat = mask.view(-1, self.m)
        order = groups_t.argsort(dim=1, descending=True)
        for g in range(groups_t.shape[0]):
            kept = 0
            for j in order[g].tolist():
                if kept == self.n:
                    break
                if groups_d[g, j] != 0:
                    flat[g, j] = 1
                    kept += 1
        return mask


def nm_prune(module, name="weight", n=2, m=4):
    NMPruning.apply(module, name, n, m)
    return module
'''

_PLAIN = '''
def plain_state_dict(model):
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("_mask"):
            continue
        if key.endswith("_orig"):
            base = key[: -len("_orig")]
            value = VALUE
            key = base
        out[key] = value.detach().clone()
    return out
'''

_PLAIN_RIGHT = '''
def plain_state_dict(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)  # saving the whole pruned module works (deepcopy does not)
    buffer.seek(0)
    twin = torch.load(buffer, weights_only=False)  # our own object, just written
    for module in twin.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)
    return {k: v.detach() for k, v in twin.state_dict().items()}
'''

MUTANTS = [
    # ---- Task 1: sparsity report ----
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "walks named_parameters (misses pruned weight_orig)",
     "code": _BY_PARAMETERS, "message": "misses"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "global = mean of the layer fractions",
     "code": _report(GLOBAL="sum(report.values()) / len(report)"), "message": "not the mean"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "every module with a weight (BatchNorm, Embedding)",
     "code": _report(TYPES="nn.Module) and isinstance(getattr(module, 'weight', None), torch.Tensor"), "message": "extra keys"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "counts the mask only (misses zeros of unpruned weights)",
     "code": _BY_MASKS, "message": "effective weight"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "Linear only",
     "code": _report(TYPES="nn.Linear"), "message": "misses"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "wrong", "name": "counts weight_orig (zeros hidden)",
     "code": _report(WEIGHT="getattr(module, 'weight_orig', module.weight)"), "message": "effective weight"},
    {"task": "t1-sparsity-report", "cell": "t1-code", "kind": "right", "name": "count_nonzero on orig*mask, _ConvNd", "code": _REPORT_RIGHT},
    # ---- Task 2: shrink with bias folding ----
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "drops neurons without folding relu(bias)",
     "code": _shrink(FOLD="pass"), "message": "fold relu(bias)"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "folds the bias without the ReLU",
     "code": _shrink(CONSTANT="biases[i] * removed"), "message": "fold relu(bias)"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "forgets the next layer's input columns",
     "code": _shrink(NEXT_COLS="pass"), "message": "raised"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "prune.remove on the given model",
     "code": _SHRINK_REMOVE, "message": "original model was changed"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "finds removed rows from weight_mask (fails after prune.remove)",
     "code": _shrink(REMOVED="(linears[i].weight_mask == 0).all(dim=1)"), "message": "raised AttributeError"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "wrong", "name": "shrinks only the first hidden layer",
     "code": _shrink(LOOP="1"), "message": "out_features"},
    {"task": "t2-shrink-folded", "cell": "t2-code", "kind": "right", "name": "orig*mask, one linear() for the fold", "code": _SHRINK_RIGHT},
    # ---- Task 3: prune to a budget ----
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "counts only the Linear weights",
     "code": _budget(NONZERO="sum(m.weight.numel() for m in linears)"), "message": "count every parameter"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "counts zero biases as non-zeros",
     "code": _budget(NONZERO="sum(p.numel() for p in model.parameters())"), "message": "prune no more than needed"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "the same fraction per layer (not global)",
     "code": _budget(APPLY="[prune.l1_unstructured(m, 'weight', amount=need / prunable) for m in linears]"), "message": "not the globally smallest"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "amount as a fraction (rounded by PyTorch)",
     "code": _budget(APPLY="prune.global_unstructured([(m, 'weight') for m in linears], pruning_method=prune.L1Unstructured, amount=round(need / prunable, 2))"),
     "message": "prune no more than needed"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "no ValueError for an impossible budget",
     "code": _budget(CHECK="need = min(need, prunable)"), "message": "should raise ValueError"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "wrong", "name": "prunes before it checks the budget",
     "code": _budget(CHECK="", APPLY="prune.global_unstructured([(m, 'weight') for m in linears], pruning_method=prune.L1Unstructured, amount=min(need, prunable))\n    if need > prunable:\n        raise ValueError('too small')"),
     "message": "before pruning anything"},
    {"task": "t3-prune-to-budget", "cell": "t3-code", "kind": "right", "name": "global threshold via kthvalue + custom_from_mask", "code": _BUDGET_RIGHT},
    # ---- Task 4: N:M pruning method ----
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "ignores default_mask",
     "code": _nm(SCORES="t.abs()", DEFAULT="1.0"), "message": "already pruned"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "multiplies by default_mask but ranks the pruned ones too",
     "code": _nm(SCORES="t.abs()"), "message": "the 2:4 mask"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "keeps the smallest",
     "code": _nm(LARGEST="False", SCORES='t.abs().masked_fill(default_mask == 0, float("inf"))'), "message": "the 2:4 mask"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "hard-codes 2:4",
     "code": _nm(INIT="2, 4"), "message": "the 1:4 mask"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "groups along the first dimension",
     "code": _nm(SCORES='t.abs().masked_fill(default_mask == 0, -float("inf")).transpose(0, -1).contiguous()').replace(
         "return keep.reshape(t.shape) * default_mask",
         "return keep.reshape(t.transpose(0, -1).shape).transpose(0, -1) * default_mask"), "message": "mask"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "no ValueError on a bad last dimension",
     "code": _nm(RAISE="pass"), "message": "should raise ValueError"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "wrong", "name": "nm_prune writes the weight directly",
     "code": _nm(APPLY="mask = NMPruning(n, m).compute_mask(getattr(module, name).detach(), torch.ones_like(getattr(module, name)))\n    with torch.no_grad():\n        getattr(module, name).mul_(mask)"),
     "message": "pruning machinery"},
    {"task": "t4-nm-pruning", "cell": "t4-code", "kind": "right", "name": "argsort and loops", "code": _NM_RIGHT},
    # ---- Task 5: plain state_dict ----
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "returns the pruned state_dict",
     "code": "def plain_state_dict(model):\n    return model.state_dict()\n", "message": "no weight_orig"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "prune.remove on the given model",
     "code": '''
def plain_state_dict(model):
    for module in model.modules():
        for name in ("weight", "bias"):
            if hasattr(module, name + "_mask"):
                prune.remove(module, name)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
''', "message": "no longer pruned"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "copy.deepcopy then remove",
     "code": '''
import copy

def plain_state_dict(model):
    twin = copy.deepcopy(model)
    for module in twin.modules():
        for name in ("weight", "bias"):
            if hasattr(module, name + "_mask"):
                prune.remove(module, name)
    return twin.state_dict()
''', "message": "deepcopy"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "reads the stale module.weight",
     "code": '''
def plain_state_dict(model):
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("_mask"):
            continue
        if key.endswith("_orig"):
            key = key[: -len("_orig")]
            module = model.get_submodule(key.rsplit(".", 1)[0])
            value = getattr(module, key.rsplit(".", 1)[1])
        out[key] = value.detach().clone()
    return out
''', "message": "stale"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "renames weight_orig without the mask",
     "code": _PLAIN.replace("VALUE", "value"), "message": "weight_orig * weight_mask"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "wrong", "name": "forgets to detach",
     "code": '''
def plain_state_dict(model):
    out = {}
    for key, value in model.state_dict(keep_vars=True).items():
        if key.endswith("_mask"):
            continue
        if key.endswith("_orig"):
            base = key[: -len("_orig")]
            value = value * model.state_dict()[base + "_mask"]
            key = base
        out[key] = value
    return out
''', "message": "detach"},
    {"task": "t5-plain-state-dict", "cell": "t5-code", "kind": "right", "name": "save the whole module, load a twin, remove there", "code": _PLAIN_RIGHT},
]
