"""Wrong and right answers for solutions/02_autograd.ipynb (format: tests/test_mutants.py)."""

SOFTPLUS = '''class SoftplusFn(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return {forward}

    @staticmethod
    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return {backward}
'''

CHUNKS = '''def grad_over_chunks(w, X, y, chunk_size):
{body}
'''

HVP = '''def hvp(f, x, v):
{body}
'''

HOOK = '''def clip_and_log(t, limit, log):
{body}
'''

FINETUNE = '''def prepare_finetune(model, trainable, lr):
{body}
'''

CLIP = '''def clip_by_global_norm_(params, max_norm):
{body}
'''

MUTANTS = [
    # Task 1
    {"task": "t1-backward", "cell": "t1-code", "kind": "wrong", "name": "float64 leaves",
     "code": "a = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)\nb = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)\nf = a**2 * b + torch.sin(b)\nf.backward()",
     "message": "dtype torch.float32"},
    {"task": "t1-backward", "cell": "t1-code", "kind": "wrong", "name": "gradients written by hand, f detached",
     "code": "a = torch.tensor(1.5, requires_grad=True)\nb = torch.tensor(-0.5, requires_grad=True)\nwith torch.no_grad():\n    f = a**2 * b + torch.sin(b)\na.grad = 2 * a.detach() * b.detach()\nb.grad = a.detach()**2 + torch.cos(b.detach())",
     "message": "computed from a and b"},
    {"task": "t1-backward", "cell": "t1-code", "kind": "wrong", "name": "leaves made by .to() are not leaves",
     "code": "a = torch.tensor(1.5, requires_grad=True) * 1\nb = torch.tensor(-0.5, requires_grad=True) * 1\nf = a**2 * b + torch.sin(b)\nf.backward()",
     "message": "leaf"},
    {"task": "t1-backward", "cell": "t1-code", "kind": "wrong", "name": "no backward call",
     "code": "a = torch.tensor(1.5, requires_grad=True)\nb = torch.tensor(-0.5, requires_grad=True)\nf = a**2 * b + torch.sin(b)",
     "message": "did you call loss.backward()"},
    {"task": "t1-backward", "cell": "t1-code", "kind": "right", "name": "torch.autograd.grad written into .grad",
     "code": "a = torch.tensor([1.5]).squeeze().requires_grad_()\nb = torch.tensor(-0.5).requires_grad_(True)\nf = b * a * a + b.sin()\nf.backward(torch.tensor(1.0))"},
    # Task 2
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "wrong", "name": "each chunk's mean divided by the number of chunks",
     "code": CHUNKS.format(body="    w.grad = None\n    parts = list(zip(X.split(chunk_size), y.split(chunk_size)))\n    for Xp, yp in parts:\n        (((Xp @ w - yp) ** 2).mean() / len(parts)).backward()\n    return w.grad"),
     "message": "the last chunk is smaller"},
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "wrong", "name": "stale gradient kept",
     "code": CHUNKS.format(body="    for Xp, yp in zip(X.split(chunk_size), y.split(chunk_size)):\n        (((Xp @ w - yp) ** 2).sum() / len(y)).backward()\n    return w.grad"),
     "message": "set w.grad = None first"},
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "wrong", "name": "gradient cleared inside the loop",
     "code": CHUNKS.format(body="    for Xp, yp in zip(X.split(chunk_size), y.split(chunk_size)):\n        w.grad = None\n        (((Xp @ w - yp) ** 2).sum() / len(y)).backward()\n    return w.grad"),
     "message": "only the last chunk"},
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "wrong", "name": "one backward on the whole batch",
     "code": CHUNKS.format(body="    w.grad = None\n    ((X @ w - y) ** 2).mean().backward()\n    return w.grad"),
     "message": "once per chunk"},
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "wrong", "name": "chunk means summed unweighted",
     "code": CHUNKS.format(body="    w.grad = None\n    for Xp, yp in zip(X.split(chunk_size), y.split(chunk_size)):\n        ((Xp @ w - yp) ** 2).mean().backward()\n    return w.grad"),
     "message": "too large"},
    {"task": "t2-accumulate", "cell": "t2-code", "kind": "right", "name": "sum of squares over N, grad zeroed in place",
     "code": CHUNKS.format(body="    if w.grad is not None:\n        w.grad.zero_()\n    n = X.shape[0]\n    for start in range(0, n, chunk_size):\n        Xp, yp = X[start:start + chunk_size], y[start:start + chunk_size]\n        ((Xp @ w - yp).pow(2).sum() / n).backward()\n    return w.grad"),
     },
    # Task 3
    {"task": "t3-function", "cell": "t3-code", "kind": "wrong", "name": "naive log(1 + exp(x)) overflows",
     "code": SOFTPLUS.format(forward="torch.log(1 + torch.exp(x))", backward="grad_output * torch.sigmoid(x)"),
     "message": "not finite"},
    {"task": "t3-function", "cell": "t3-code", "kind": "wrong", "name": "backward ignores grad_output",
     "code": SOFTPLUS.format(forward="torch.logaddexp(x, torch.zeros_like(x))", backward="torch.sigmoid(x)"),
     "message": "ignores grad_output"},
    {"task": "t3-function", "cell": "t3-code", "kind": "wrong", "name": "F.softplus in the forward",
     "code": SOFTPLUS.format(forward="F.softplus(x)", backward="grad_output * torch.sigmoid(x)"),
     "message": "does not allow torch.nn.functional.softplus"},
    {"task": "t3-function", "cell": "t3-code", "kind": "wrong", "name": "wrong derivative sigmoid(-x)",
     "code": SOFTPLUS.format(forward="torch.logaddexp(x, torch.zeros_like(x))", backward="grad_output * torch.sigmoid(-x)"),
     "message": "grad_output * sigmoid(x)"},
    {"task": "t3-function", "cell": "t3-code", "kind": "right", "name": "old style with ctx, stable formula by hand",
     "code": "class SoftplusFn(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n        ctx.save_for_backward(x)\n        return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))\n\n    @staticmethod\n    def backward(ctx, grad_output):\n        (x,) = ctx.saved_tensors\n        return grad_output / (1 + torch.exp(-x))\n"},
    # Task 4
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "returns the gradient",
     "code": HVP.format(body="    x = x.detach().requires_grad_()\n    (g,) = torch.autograd.grad(f(x), x)\n    return g"),
     "message": "the gradient of f"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "no create_graph",
     "code": HVP.format(body="    x = x.detach().requires_grad_()\n    (g,) = torch.autograd.grad(f(x), x)\n    (hv,) = torch.autograd.grad((g * v).sum(), x)\n    return hv"),
     "message": "create_graph=True"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "diagonal of H times v",
     "code": HVP.format(body="    x = x.detach().requires_grad_()\n    (g,) = torch.autograd.grad(f(x), x, create_graph=True)\n    (d2,) = torch.autograd.grad(g.sum(), x)\n    return d2 * v"),
     "message": "not g.sum()"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "torch.autograd.functional.hvp",
     "code": HVP.format(body="    return torch.autograd.functional.hvp(f, x, v)[1]"),
     "message": "does not allow torch.autograd.functional.hvp"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "x modified in place",
     "code": HVP.format(body="    x.requires_grad_()\n    (g,) = torch.autograd.grad(f(x), x, create_graph=True)\n    (hv,) = torch.autograd.grad((g * v).sum(), x)\n    return hv"),
     "message": "x should not require grad"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "wrong", "name": "result still attached to a graph",
     "code": HVP.format(body="    x = x.detach().requires_grad_()\n    (g,) = torch.autograd.grad(f(x), x, create_graph=True)\n    (hv,) = torch.autograd.grad((g * v).sum(), x, create_graph=True)\n    return hv"),
     "message": "should not require grad"},
    {"task": "t4-hvp", "cell": "t4-code", "kind": "right", "name": "vector-Jacobian product of the gradient",
     "code": HVP.format(body="    xg = x.clone().requires_grad_(True)\n    g = torch.autograd.grad(f(xg), [xg], create_graph=True)[0]\n    return torch.autograd.grad(g, xg, grad_outputs=v)[0].detach()"),
     },
    # Task 5
    {"task": "t5-hook", "cell": "t5-code", "kind": "wrong", "name": "logs the norm after clipping",
     "code": HOOK.format(body="    def hook(grad):\n        clipped = grad.clamp(-limit, limit)\n        log.append(clipped.norm().item())\n        return clipped\n    return t.register_hook(hook)"),
     "message": "after clipping"},
    {"task": "t5-hook", "cell": "t5-code", "kind": "wrong", "name": "clipped gradient not returned",
     "code": HOOK.format(body="    def hook(grad):\n        log.append(grad.norm().item())\n        clipped = grad.clamp(-limit, limit)\n    return t.register_hook(hook)"),
     "message": "x.grad is not clipped"},
    {"task": "t5-hook", "cell": "t5-code", "kind": "wrong", "name": "handle not returned",
     "code": HOOK.format(body="    def hook(grad):\n        log.append(grad.norm().item())\n        return grad.clamp(-limit, limit)\n    t.register_hook(hook)"),
     "message": "should return the handle"},
    {"task": "t5-hook", "cell": "t5-code", "kind": "wrong", "name": "logs a tensor",
     "code": HOOK.format(body="    def hook(grad):\n        log.append(grad.norm())\n        return grad.clamp(-limit, limit)\n    return t.register_hook(hook)"),
     "message": "Python floats"},
    {"task": "t5-hook", "cell": "t5-code", "kind": "wrong", "name": "clamps to [0, limit]",
     "code": HOOK.format(body="    def hook(grad):\n        log.append(grad.norm().item())\n        return grad.clamp(0, limit)\n    return t.register_hook(hook)"),
     "message": "x.grad upstream of the clipping hook"},
    {"task": "t5-hook", "cell": "t5-code", "kind": "right", "name": "torch.where and vector_norm",
     "code": HOOK.format(body="    def hook(grad):\n        log.append(float(torch.linalg.vector_norm(grad)))\n        return torch.where(grad.abs() > limit, grad.sign() * limit, grad)\n    handle = t.register_hook(hook)\n    return handle"),
     },
    # Task 6
    {"task": "t6-freeze", "cell": "t6-code", "kind": "wrong", "name": "optimizer over all parameters",
     "code": FINETUNE.format(body="    model.requires_grad_(False)\n    for name in trainable:\n        model.get_submodule(name).requires_grad_(True)\n    return torch.optim.SGD(model.parameters(), lr=lr)"),
     "message": "give SGD only the parameters that require grad"},
    {"task": "t6-freeze", "cell": "t6-code", "kind": "wrong", "name": "prefix without the dot",
     "code": FINETUNE.format(body="    for name, p in model.named_parameters():\n        p.requires_grad_(any(name.startswith(t) for t in trainable))\n    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)"),
     "message": "head_norm"},
    {"task": "t6-freeze", "cell": "t6-code", "kind": "wrong", "name": "only freezes, never unfreezes",
     "code": FINETUNE.format(body="    for name, p in model.named_parameters():\n        if name.split('.')[0] not in trainable:\n            p.requires_grad_(False)\n    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)"),
     "message": "head.bias should require grad"},
    {"task": "t6-freeze", "cell": "t6-code", "kind": "wrong", "name": "eval() instead of freezing",
     "code": FINETUNE.format(body="    for name, m in model.named_children():\n        if name not in trainable:\n            m.eval()\n    return torch.optim.SGD(model.parameters(), lr=lr)"),
     "message": "be frozen"},
    {"task": "t6-freeze", "cell": "t6-code", "kind": "wrong", "name": "default learning rate",
     "code": FINETUNE.format(body="    model.requires_grad_(False)\n    for name in trainable:\n        model.get_submodule(name).requires_grad_(True)\n    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)"),
     "message": "lr should be"},
    {"task": "t6-freeze", "cell": "t6-code", "kind": "right", "name": "named_children membership, explicit loop",
     "code": FINETUNE.format(body="    keep = []\n    for child_name, child in model.named_children():\n        for p in child.parameters():\n            p.requires_grad = child_name in trainable\n            if p.requires_grad:\n                keep.append(p)\n    return torch.optim.SGD(keep, lr)"),
     },
    # Task 7
    {"task": "t7-clip", "cell": "t7-code", "kind": "wrong", "name": "each gradient clipped by its own norm",
     "code": CLIP.format(body="    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in params))\n    for p in params:\n        n = p.grad.norm()\n        if n > max_norm:\n            p.grad.mul_(max_norm / (n + 1e-6))\n    return total"),
     "message": "after clipping"},
    {"task": "t7-clip", "cell": "t7-code", "kind": "wrong", "name": "returns the norm after clipping",
     "code": CLIP.format(body="    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in params))\n    if total > max_norm:\n        for p in params:\n            p.grad.mul_(max_norm / (total + 1e-6))\n    return torch.sqrt(sum(p.grad.pow(2).sum() for p in params))"),
     "message": "the norm before clipping"},
    {"task": "t7-clip", "cell": "t7-code", "kind": "wrong", "name": "gradients replaced, not scaled in place",
     "code": CLIP.format(body="    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in params))\n    if total > max_norm:\n        for p in params:\n            p.grad = p.grad * (max_norm / (total + 1e-6))\n    return total"),
     "message": "in place"},
    {"task": "t7-clip", "cell": "t7-code", "kind": "wrong", "name": "always rescales to max_norm",
     "code": CLIP.format(body="    total = torch.sqrt(sum(p.grad.pow(2).sum() for p in params))\n    for p in params:\n        p.grad.mul_(max_norm / (total + 1e-6))\n    return total"),
     "message": "after clipping (scale 0.01"},
    {"task": "t7-clip", "cell": "t7-code", "kind": "wrong", "name": "calls clip_grad_norm_",
     "code": CLIP.format(body="    return nn.utils.clip_grad_norm_(params, max_norm)"),
     "message": "does not allow torch.nn.utils.clip_grad_norm_"},
    {"task": "t7-clip", "cell": "t7-code", "kind": "right", "name": "vector_norm of the per-tensor norms, foreach multiply",
     "code": CLIP.format(body="    grads = [p.grad for p in params]\n    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))\n    if total > max_norm:\n        torch._foreach_mul_(grads, float(max_norm / (total + 1e-6)))\n    return total"),
     },
]
