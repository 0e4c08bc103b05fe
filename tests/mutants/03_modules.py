"""Wrong and right answers for solutions/03_modules.ipynb (format: tests/test_mutants.py)."""

STANDARDIZE = '''class Standardize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
{init}

    def forward(self, x):
        return {forward}
'''

COUNT = '''def count_parameters(model, trainable_only=False):
{body}
'''

INIT = '''def init_weights(model, nonlinearity="relu"):
{body}
'''

RMS = '''class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
{init}

    def forward(self, x):
        return {forward}
'''

TIED = '''class TiedLM(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
{init}

    def forward(self, ids):
        return {forward}
'''

BN = '''def bn_eval_by_hand(bn, x):
{body}
'''

LOAD = '''def load_checkpoint(make_model, data):
{body}
'''

BN_SHAPES = "    shape = (1, -1) + (1,) * (x.dim() - 2)\n"

MUTANTS = [
    # Task 1
    {"task": "t1-buffers", "cell": "t1-code", "kind": "wrong", "name": "frozen parameters instead of buffers",
     "code": STANDARDIZE.format(init="        self.mean = nn.Parameter(mean.clone(), requires_grad=False)\n        self.std = nn.Parameter(std.clone(), requires_grad=False)", forward="(x - self.mean) / self.std"),
     "message": "use register_buffer"},
    {"task": "t1-buffers", "cell": "t1-code", "kind": "wrong", "name": "plain tensor attributes",
     "code": STANDARDIZE.format(init="        self.mean = mean.clone()\n        self.std = std.clone()", forward="(x - self.mean) / self.std"),
     "message": "names of the buffers"},
    {"task": "t1-buffers", "cell": "t1-code", "kind": "wrong", "name": "non-persistent buffers",
     "code": STANDARDIZE.format(init="        self.register_buffer('mean', mean.clone(), persistent=False)\n        self.register_buffer('std', std.clone(), persistent=False)", forward="(x - self.mean) / self.std"),
     "message": "persistent"},
    {"task": "t1-buffers", "cell": "t1-code", "kind": "wrong", "name": "no copy of the caller's tensor",
     "code": STANDARDIZE.format(init="        self.register_buffer('mean', mean)\n        self.register_buffer('std', std)", forward="(x - self.mean) / self.std"),
     "message": "store a copy"},
    {"task": "t1-buffers", "cell": "t1-code", "kind": "wrong", "name": "operator precedence",
     "code": STANDARDIZE.format(init="        self.register_buffer('mean', mean.clone())\n        self.register_buffer('std', std.clone())", forward="x - self.mean / self.std"),
     "message": "Standardize(...)(x)"},
    {"task": "t1-buffers", "cell": "t1-code", "kind": "right", "name": "torch.tensor copies, multiply by the reciprocal",
     "code": STANDARDIZE.format(init="        self.register_buffer('mean', torch.tensor(mean.tolist()))\n        self.register_buffer('std', std.detach().clone().contiguous())", forward="(x - self.mean) * self.std.reciprocal()"),
     },
    # Task 2
    {"task": "t2-count", "cell": "t2-code", "kind": "wrong", "name": "counts tensors",
     "code": COUNT.format(body="    return sum(1 for p in model.parameters() if p.requires_grad or not trainable_only)"),
     "message": "you counted parameter tensors"},
    {"task": "t2-count", "cell": "t2-code", "kind": "wrong", "name": "duplicates counted",
     "code": COUNT.format(body="    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad or not trainable_only)"),
     "message": "counted twice"},
    {"task": "t2-count", "cell": "t2-code", "kind": "wrong", "name": "state_dict entries",
     "code": COUNT.format(body="    return sum(t.numel() for t in model.state_dict().values())"),
     "message": "state_dict()"},
    {"task": "t2-count", "cell": "t2-code", "kind": "wrong", "name": "trainable_only ignored",
     "code": COUNT.format(body="    return sum(p.numel() for p in model.parameters())"),
     "message": "trainable_only=True"},
    {"task": "t2-count", "cell": "t2-code", "kind": "wrong", "name": "hard-coded count of the first model",
     "code": COUNT.format(body="    if not list(model.parameters()):\n        return 0\n    return 75 if not trainable_only else 35"),
     "message": "vocab="},
    {"task": "t2-count", "cell": "t2-code", "kind": "right", "name": "dedupe by id over modules",
     "code": COUNT.format(body="    seen, total = set(), 0\n    for m in model.modules():\n        for p in m.parameters(recurse=False):\n            if id(p) in seen or (trainable_only and not p.requires_grad):\n                continue\n            seen.add(id(p))\n            total += p.numel()\n    return int(total)"),
     },
    # Task 3
    {"task": "t3-init", "cell": "t3-code", "kind": "wrong", "name": "Xavier instead of Kaiming",
     "code": INIT.format(body="    for m in model.modules():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain(nonlinearity))\n            if m.bias is not None:\n                nn.init.zeros_(m.bias)"),
     "message": "gain / sqrt(fan_in)"},
    {"task": "t3-init", "cell": "t3-code", "kind": "wrong", "name": "always the ReLU gain",
     "code": INIT.format(body="    for m in model.modules():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            nn.init.kaiming_normal_(m.weight, nonlinearity='relu')\n            if m.bias is not None:\n                nn.init.zeros_(m.bias)"),
     "message": "nonlinearity='tanh'"},
    {"task": "t3-init", "cell": "t3-code", "kind": "wrong", "name": "only the top-level children",
     "code": INIT.format(body="    for m in model.children():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            nn.init.kaiming_normal_(m.weight, nonlinearity=nonlinearity)\n            if m.bias is not None:\n                nn.init.zeros_(m.bias)"),
     "message": "the nested Linear"},
    {"task": "t3-init", "cell": "t3-code", "kind": "wrong", "name": "fan_out mode",
     "code": INIT.format(body="    for m in model.modules():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity=nonlinearity)\n            if m.bias is not None:\n                nn.init.zeros_(m.bias)"),
     "message": "should have std"},
    {"task": "t3-init", "cell": "t3-code", "kind": "wrong", "name": "zeroes every bias, BatchNorm's too",
     "code": INIT.format(body="    for m in model.modules():\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            nn.init.kaiming_normal_(m.weight, nonlinearity=nonlinearity)\n        if getattr(m, 'bias', None) is not None:\n            nn.init.zeros_(m.bias)"),
     "message": "BatchNorm2d layer should be left untouched"},
    {"task": "t3-init", "cell": "t3-code", "kind": "right", "name": "apply with normal_ and the computed std",
     "code": INIT.format(body="    gain = nn.init.calculate_gain(nonlinearity)\n\n    def fn(m):\n        if isinstance(m, (nn.Linear, nn.Conv2d)):\n            fan_in = m.weight[0].numel()\n            with torch.no_grad():\n                m.weight.normal_(0.0, gain / math.sqrt(fan_in))\n                if m.bias is not None:\n                    m.bias.zero_()\n\n    model.apply(fn)"),
     },
    # Task 4
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "eps outside the square root",
     "code": RMS.format(init="        self.eps = float(eps)\n        self.weight = nn.Parameter(torch.ones(dim))", forward="x / (x.pow(2).mean(-1, keepdim=True).sqrt() + self.eps) * self.weight"),
     "message": "inside the square root"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "mean over every dimension",
     "code": RMS.format(init="        self.eps = float(eps)\n        self.weight = nn.Parameter(torch.ones(dim))", forward="x * torch.rsqrt(x.pow(2).mean() + self.eps) * self.weight"),
     "message": "last dimension only"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "LayerNorm (subtracts the mean)",
     "code": RMS.format(init="        self.eps = float(eps)\n        self.weight = nn.Parameter(torch.ones(dim))", forward="(x - x.mean(-1, keepdim=True)) * torch.rsqrt(x.var(-1, keepdim=True, unbiased=False) + self.eps) * self.weight"),
     "message": "compared with nn.RMSNorm"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "wraps nn.RMSNorm",
     "code": RMS.format(init="        self.inner = nn.RMSNorm(dim, eps=eps)\n        self.weight = self.inner.weight", forward="self.inner(x)"),
     "message": "does not allow torch.nn.RMSNorm"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "weight as a buffer",
     "code": RMS.format(init="        self.eps = float(eps)\n        self.register_buffer('weight', torch.ones(dim))", forward="x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight"),
     "message": "parameter names"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "wrong", "name": "F.rms_norm",
     "code": RMS.format(init="        self.eps = float(eps)\n        self.weight = nn.Parameter(torch.ones(dim))", forward="F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)"),
     "message": "does not allow torch.nn.functional.rms_norm"},
    {"task": "t4-rmsnorm", "cell": "t4-code", "kind": "right", "name": "sqrt and division, ones_like weight",
     "code": RMS.format(init="        self.weight = nn.Parameter(torch.ones(dim, dtype=torch.float32))\n        self.eps = eps + 0.0", forward="self.weight * x / torch.sqrt(torch.mean(x * x, dim=x.dim() - 1, keepdim=True) + self.eps)"),
     },
    # Task 5
    {"task": "t5-tied", "cell": "t5-code", "kind": "wrong", "name": "a copy, not a tie",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab)\n        self.out.weight = nn.Parameter(self.embed.weight.detach().clone())", forward="self.out(self.embed(ids))"),
     "message": "same nn.Parameter object"},
    {"task": "t5-tied", "cell": "t5-code", "kind": "wrong", "name": "only .data shared",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab)\n        self.out.weight.data = self.embed.weight.data", forward="self.out(self.embed(ids))"),
     "message": "same nn.Parameter object"},
    {"task": "t5-tied", "cell": "t5-code", "kind": "wrong", "name": "output layer without bias",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab, bias=False)\n        self.out.weight = self.embed.weight", forward="self.out(self.embed(ids))"),
     "message": "plus the output bias"},
    {"task": "t5-tied", "cell": "t5-code", "kind": "wrong", "name": "embedding detached in forward",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab)\n        self.out.weight = self.embed.weight", forward="self.out(self.embed(ids).detach())"),
     "message": "gradients of both uses"},
    {"task": "t5-tied", "cell": "t5-code", "kind": "wrong", "name": "bias left out of the forward",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab)\n        self.out.weight = self.embed.weight", forward="self.embed(ids) @ self.embed.weight.T"),
     "message": "the logits"},
    {"task": "t5-tied", "cell": "t5-code", "kind": "right", "name": "tied the other way, F.linear in forward",
     "code": TIED.format(init="        self.out = nn.Linear(dim, vocab)\n        self.embed.weight = self.out.weight", forward="F.linear(F.embedding(ids, self.embed.weight), self.out.weight, self.out.bias)"),
     },
    # Task 6
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "batch statistics",
     "code": BN.format(body=BN_SHAPES + "    dims = [0] + list(range(2, x.dim()))\n    mean, var = x.mean(dims, keepdim=True), x.var(dims, unbiased=False, keepdim=True)\n    return (x - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape)"),
     "message": "running_mean and bn.running_var"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "calls bn in eval mode",
     "code": BN.format(body="    bn.eval()\n    out = bn(x)\n    bn.train()\n    return out"),
     "message": "does not allow torch.nn.BatchNorm1d.forward"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "F.batch_norm",
     "code": BN.format(body="    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=False, eps=bn.eps)"),
     "message": "does not allow torch.nn.functional.batch_norm"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "statistics broadcast on the last dimension",
     "code": BN.format(body="    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias"),
     "message": "the channel is dimension 1"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "eps outside the square root",
     "code": BN.format(body=BN_SHAPES + "    return (x - bn.running_mean.view(shape)) / (torch.sqrt(bn.running_var.view(shape)) + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape)"),
     "message": "for x of shape (6, 4)"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "weight and bias forgotten",
     "code": BN.format(body=BN_SHAPES + "    return (x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps)"),
     "message": "for x of shape (6, 4)"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "wrong", "name": "switches bn to eval and leaves it there",
     "code": BN.format(body=BN_SHAPES + "    bn.eval()\n    return (x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape)"),
     "message": "switched bn to eval mode"},
    {"task": "t6-batchnorm", "cell": "t6-code", "kind": "right", "name": "moveaxis and rsqrt",
     "code": BN.format(body="    xc = x.movedim(1, -1)\n    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)\n    return ((xc - bn.running_mean) * scale + bn.bias).movedim(-1, 1)"),
     },
    # Task 7
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "wrong", "name": "weights_only=False",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(data), weights_only=False)\n    model = make_model()\n    model.load_state_dict({k.removeprefix('_orig_mod.'): v for k, v in ck['model'].items()})\n    return model.eval(), ck['epoch']"),
     "message": "weights_only=True"},
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "wrong", "name": "prefix not stripped",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(data), weights_only=True)\n    model = make_model()\n    model.load_state_dict(ck['model'])\n    return model.eval(), ck['epoch']"),
     "message": "strip the '_orig_mod.' prefix"},
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "wrong", "name": "strict=False hides the mismatch",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(data), weights_only=True)\n    model = make_model()\n    model.load_state_dict(ck['model'], strict=False)\n    return model.eval(), ck['epoch']"),
     "message": "strict=False"},
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "wrong", "name": "left in training mode",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(data), weights_only=True)\n    model = make_model()\n    model.load_state_dict({k.removeprefix('_orig_mod.'): v for k, v in ck['model'].items()})\n    return model, ck['epoch']"),
     "message": "eval mode"},
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "wrong", "name": "epoch not read from the file",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(data), weights_only=True)\n    model = make_model()\n    model.load_state_dict({k.removeprefix('_orig_mod.'): v for k, v in ck['model'].items()})\n    return model.eval(), 3"),
     "message": "the returned epoch"},
    {"task": "t7-checkpoint", "cell": "t7-code", "kind": "right", "name": "replace on a copy, map_location, keyword strict",
     "code": LOAD.format(body="    ck = torch.load(io.BytesIO(bytes(data)), map_location='cpu', weights_only=True)\n    fresh = make_model()\n    fresh.load_state_dict({k[len('_orig_mod.'):] if k.startswith('_orig_mod.') else k: v for k, v in ck['model'].items()}, strict=True)\n    fresh.train(False)\n    return fresh, int(ck['epoch'])"),
     },
]
