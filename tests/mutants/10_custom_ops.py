"""Wrong and right answers for solutions/10_custom_ops.ipynb (format: tests/test_mutants.py)."""

T1 = {"task": "t1-logsumexp-op", "cell": "t1-code"}
T2 = {"task": "t2-no-graph-breaks", "cell": "t2-code"}
T3 = {"task": "t3-input-checks", "cell": "t3-code"}
T4 = {"task": "t4-bandwidth", "cell": "t4-code"}
T5 = {"task": "t5-mutating-op", "cell": "t5-code"}

_LSE = '''
def make_logsumexp(name):
    @torch.library.custom_op(name, mutates_args=())
    def lse(x: torch.Tensor) -> torch.Tensor:
        out = scipy.special.logsumexp(x.detach().cpu().numpy(), axis=@AXIS@)
        return torch.from_numpy(np.asarray(out)).to(device=x.device, dtype=x.dtype)

    @FAKE@

    def setup_context(ctx, inputs, output):
        (x,) = inputs
        ctx.save_for_backward(x, output)

    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        return @GRAD@

    @AUTOGRAD@
    return lse
'''
_LSE_OK = {
    "@AXIS@": "-1",
    "@FAKE@": "@lse.register_fake\n    def _(x):\n        return x.new_empty(x.shape[:-1])",
    "@GRAD@": "grad.unsqueeze(-1) * torch.exp(x - out.unsqueeze(-1))",
    "@AUTOGRAD@": "lse.register_autograd(backward, setup_context=setup_context)",
}


def _lse(**changes):
    code = _LSE
    for key, value in {**_LSE_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


_BLOCK = "def block_fixed(x, w):\n    h = x @ w\n    return BODY\n"

_ROWSCALE = '''
def rowscale(x, scale):
    @DEVICE@
    if @DTYPE@:
        raise @EXC@(f"rowscale: expected float32 or float64 tensors of the same dtype, got {x.dtype} and {scale.dtype}")
    if @SHAPE@:
        raise @EXC@("rowscale: wrong shape")
    @CONTIG@
    return x * scale[:, None]
'''
_ROW_OK = {
    "@DEVICE@": "if x.device != scale.device:\n        raise RuntimeError('rowscale: x and scale are on different devices')",
    "@DTYPE@": "x.dtype not in (torch.float32, torch.float64) or scale.dtype != x.dtype",
    "@SHAPE@": "x.dim() != 2 or scale.dim() != 1 or scale.shape[0] != x.shape[0]",
    "@CONTIG@": "if not x.is_contiguous():\n        raise RuntimeError('rowscale: x must be contiguous')",
    "@EXC@": "RuntimeError",
}


def _rowscale(**changes):
    code = _ROWSCALE
    for key, value in {**_ROW_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


_BW = '''
def bandwidth_report(inputs, outputs, seconds, copy_gbs):
    moved = @BYTES@
    gbs = moved / seconds / @GB@
    return {"bytes": moved, "gbs": float(gbs), "pct_of_copy": float(@PCT@)}
'''
_BW_OK = {
    "@BYTES@": "sum(t.numel() * t.element_size() for t in list(inputs) + list(outputs))",
    "@GB@": "1e9",
    "@PCT@": "100.0 * gbs / copy_gbs",
}


def _bw(**changes):
    code = _BW
    for key, value in {**_BW_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


_CLAMP = '''
def make_clamp_(name):
    @torch.library.custom_op(name, mutates_args=@MUT@)
    def clamp_(x: torch.Tensor, lo: float, hi: float) -> @RET@:
        @BODY@

    @FAKE@

    return clamp_
'''
_CLAMP_OK = {
    "@MUT@": '{"x"}',
    "@RET@": "None",
    "@BODY@": "x.clamp_(lo, hi)",
    "@FAKE@": "@clamp_.register_fake\n    def _(x, lo, hi):\n        return None",
}


def _clamp(**changes):
    code = _CLAMP
    for key, value in {**_CLAMP_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


MUTANTS = [
    # Task 1: make_logsumexp(name), a shape-changing custom op with fake and autograd
    {**T1, "kind": "wrong", "name": "fake returns empty_like(x) (the shape of the input)",
     "code": _lse(FAKE="@lse.register_fake\n    def _(x):\n        return torch.empty_like(x)"),
     "message": "fake implementation is missing, or its output's shape"},
    {**T1, "kind": "wrong", "name": "no fake implementation",
     "code": _lse(FAKE="pass"),
     "message": "fake implementation is missing"},
    {**T1, "kind": "wrong", "name": "no gradient registered",
     "code": _lse(AUTOGRAD="pass"),
     "message": "is a gradient formula registered"},
    {**T1, "kind": "wrong", "name": "gradient with sigmoid instead of softmax",
     "code": _lse(GRAD="grad.unsqueeze(-1) * torch.sigmoid(x)"),
     "message": "gradcheck failed"},
    {**T1, "kind": "wrong", "name": "gradient without the incoming grad",
     "code": _lse(GRAD="torch.exp(x - out.unsqueeze(-1))"),
     "message": "gradcheck failed"},
    {**T1, "kind": "wrong", "name": "reduces over the first dimension",
     "code": _lse(AXIS="0", FAKE="@lse.register_fake\n    def _(x):\n        return x.new_empty(x.shape[1:])"),
     "message": "to have shape"},
    {**T1, "kind": "right", "name": "torch.logsumexp inside, softmax gradient, explicit empty",
     "code": "def make_logsumexp(name):\n"
             "    def impl(x: torch.Tensor) -> torch.Tensor:\n        return torch.logsumexp(x, dim=-1)\n"
             "    op = torch.library.custom_op(name, impl, mutates_args=())\n"
             "    torch.library.register_fake(name, lambda x: torch.empty(x.shape[:-1], dtype=x.dtype, device=x.device))\n"
             "    def setup_context(ctx, inputs, output):\n        ctx.save_for_backward(inputs[0])\n"
             "    def backward(ctx, grad):\n        (x,) = ctx.saved_tensors\n        return torch.softmax(x, dim=-1) * grad[..., None]\n"
             "    torch.library.register_autograd(name, backward, setup_context=setup_context)\n"
             "    return op\n"},

    # Task 2: block_fixed without graph breaks
    {**T2, "kind": "wrong", "name": "calls the SciPy block",
     "code": "def block_fixed(x, w):\n    return block_scipy(x, w)\n",
     "message": "still breaks the graph"},
    {**T2, "kind": "wrong", "name": "uses F.gelu",
     "code": _BLOCK.replace("BODY", "F.gelu(h) * 2.0 - 1.0"),
     "message": "write the GELU yourself"},
    {**T2, "kind": "wrong", "name": "the tanh approximation of GELU",
     "code": _BLOCK.replace("BODY", "0.5 * h * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (h + 0.044715 * h**3))) * 2.0 - 1.0"),
     "message": "not close"},
    {**T2, "kind": "wrong", "name": "erf(h / 2) instead of erf(h / sqrt(2))",
     "code": _BLOCK.replace("BODY", "0.5 * h * (1.0 + torch.erf(h / 2.0)) * 2.0 - 1.0"),
     "message": "not close"},
    {**T2, "kind": "wrong", "name": "detaches the matmul",
     "code": _BLOCK.replace("h = x @ w", "h = (x @ w).detach()").replace("BODY", "0.5 * h * (1.0 + torch.erf(h / 2.0**0.5)) * 2.0 - 1.0"),
     "message": "no gradient flows"},
    {**T2, "kind": "right", "name": "x times the normal CDF",
     "code": _BLOCK.replace("BODY", "h * torch.special.ndtr(h) * 2.0 - 1.0")},
    {**T2, "kind": "right", "name": "gelu_scipy wrapped in a custom op with fake and gradient",
     "code": "@torch.library.custom_op('course10_ex::gelu_mutant_right', mutates_args=())\n"
             "def gelu_op(h: torch.Tensor) -> torch.Tensor:\n    return gelu_scipy(h).to(h.dtype)\n\n"
             "gelu_op.register_fake(lambda h: torch.empty_like(h))\n\n"
             "def _setup(ctx, inputs, output):\n    ctx.save_for_backward(inputs[0])\n\n"
             "def _backward(ctx, grad):\n    (h,) = ctx.saved_tensors\n"
             "    return grad * (torch.special.ndtr(h) + h * torch.exp(-0.5 * h * h) / (2 * torch.pi) ** 0.5)\n\n"
             "gelu_op.register_autograd(_backward, setup_context=_setup)\n\n"
             "def block_fixed(x, w):\n    return gelu_op(x @ w) * 2.0 - 1.0\n"},

    # Task 3: rowscale input checks
    {**T3, "kind": "wrong", "name": "no contiguity check",
     "code": _rowscale(CONTIG="pass"),
     "message": "accepted a transposed"},
    {**T3, "kind": "wrong", "name": "scale compared with x.shape[1]",
     "code": _rowscale(SHAPE="x.dim() != 2 or scale.dim() != 1 or scale.shape[0] != x.shape[1]"),
     "message": "rejected valid input"},
    {**T3, "kind": "wrong", "name": "checks the dtype of x only",
     "code": _rowscale(DTYPE="x.dtype not in (torch.float32, torch.float64)"),
     "message": "accepted float32 x with float64 scale"},
    {**T3, "kind": "wrong", "name": "no device check (PyTorch's own error instead)",
     "code": _rowscale(DEVICE="pass"),
     "message": "should be yours"},
    {**T3, "kind": "wrong", "name": "raises ValueError",
     "code": _rowscale(EXC="ValueError"),
     "message": "raise RuntimeError"},
    {**T3, "kind": "wrong", "name": "accepts any floating dtype",
     "code": _rowscale(DTYPE="not x.is_floating_point() or scale.dtype != x.dtype"),
     "message": "accepted float16 tensors"},
    {**T3, "kind": "right", "name": "torch._check with lazy messages",
     "code": "def rowscale(x, scale):\n"
             "    torch._check(x.device == scale.device, lambda: f'rowscale: device mismatch ({x.device} vs {scale.device})')\n"
             "    torch._check(x.dtype in (torch.float32, torch.float64) and scale.dtype == x.dtype, lambda: 'rowscale: bad dtype')\n"
             "    torch._check(x.ndim == 2 and scale.shape == (x.shape[0],), lambda: 'rowscale: bad shape')\n"
             "    torch._check(x.is_contiguous(), lambda: 'rowscale: x is not contiguous')\n"
             "    return x * scale.view(-1, 1)\n"},

    # Task 4: bandwidth_report
    {**T4, "kind": "wrong", "name": "counts elements, not bytes",
     "code": _bw(BYTES="sum(t.numel() for t in list(inputs) + list(outputs))"),
     "message": "'bytes' in case 1"},
    {**T4, "kind": "wrong", "name": "counts only the inputs",
     "code": _bw(BYTES="sum(t.numel() * t.element_size() for t in inputs)"),
     "message": "'bytes' in case 1"},
    {**T4, "kind": "wrong", "name": "assumes 4 bytes per element",
     "code": _bw(BYTES="sum(4 * t.numel() for t in list(inputs) + list(outputs))"),
     "message": "'bytes' in case 2"},
    {**T4, "kind": "wrong", "name": "GiB (2**30) instead of GB",
     "code": _bw(GB="2**30"),
     "message": "'gbs' in case 1"},
    {**T4, "kind": "wrong", "name": "a fraction instead of a percentage",
     "code": _bw(PCT="gbs / copy_gbs"),
     "message": "'pct_of_copy' in case 1"},
    {**T4, "kind": "wrong", "name": "bytes as a float",
     "code": _bw(BYTES="float(sum(t.numel() * t.element_size() for t in list(inputs) + list(outputs)))"),
     "message": "should be an int"},
    {**T4, "kind": "right", "name": "Tensor.nbytes and percent via a ratio",
     "code": "def bandwidth_report(inputs, outputs, seconds, copy_gbs):\n"
             "    total = sum(t.nbytes for t in [*inputs, *outputs])\n"
             "    rate = total * 1e-9 / seconds\n"
             "    return dict(bytes=total, gbs=rate, pct_of_copy=rate / copy_gbs * 100)\n"},

    # Task 5: make_clamp_(name), a mutating op
    {**T5, "kind": "wrong", "name": "mutation not declared (mutates_args=())",
     "code": _clamp(MUT="()"),
     "message": "mutates_args"},
    {**T5, "kind": "wrong", "name": "clamps a copy (out of place)",
     "code": _clamp(BODY="x = x.clamp(lo, hi)"),
     "message": "x after clamping in place"},
    {**T5, "kind": "wrong", "name": "rebinds x.data to a clamped copy",
     "code": _clamp(BODY="x.data = x.clamp(lo, hi)"),
     "message": "was replaced"},
    {**T5, "kind": "wrong", "name": "clamps only from below",
     "code": _clamp(BODY="x.clamp_(min=lo)"),
     "message": "x after clamping in place"},
    {**T5, "kind": "wrong", "name": "returns the mutated input",
     "code": _clamp(RET="torch.Tensor", BODY="return x.clamp_(lo, hi)", FAKE="pass"),
     "message": "calling your operator failed"},
    {**T5, "kind": "wrong", "name": "returns a new clamped tensor",
     "code": _clamp(RET="torch.Tensor", BODY="return x.clamp(lo, hi)",
                    FAKE="@clamp_.register_fake\n    def _(x, lo, hi):\n        return torch.empty_like(x)"),
     "message": "should return None"},
    {**T5, "kind": "right", "name": "copy_ of the clamped values, fake via torch.library",
     "code": "def make_clamp_(name):\n"
             "    def impl(x: torch.Tensor, lo: float, hi: float) -> None:\n        x.copy_(torch.clamp(x, min=lo, max=hi))\n"
             "    op = torch.library.custom_op(name, impl, mutates_args=['x'])\n"
             "    torch.library.register_fake(name, lambda x, lo, hi: None)\n"
             "    return op\n"},
    {**T5, "kind": "right", "name": "no fake (PyTorch makes one for an op that returns nothing)",
     "code": _clamp(FAKE="pass")},
    {**T5, "kind": "right", "name": "NumPy clip into the tensor's memory",
     "code": _clamp(BODY="np.clip(x.numpy(), lo, hi, out=x.numpy())")},
]

T6 = {"task": "t6-straight-through", "cell": "t6-code"}

_STE = '''
def make_round_ste(name):
    @torch.library.custom_op(name, mutates_args=())
    def round_ste(x: torch.Tensor) -> torch.Tensor:
        return @FWD@

    @round_ste.register_fake
    def _(x):
        return @FAKE@

    def backward(ctx, grad):
        return @GRAD@

    @AUTOGRAD@
    return round_ste
'''
_STE_OK = {"@FWD@": "torch.round(x)", "@FAKE@": "torch.empty_like(x)", "@GRAD@": "grad",
           "@AUTOGRAD@": "round_ste.register_autograd(backward)"}


def _ste(**changes):
    code = _STE
    for key, value in {**_STE_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


MUTANTS += [
    {**T6, "kind": "wrong", "name": "no backward registered",
     "code": _ste(AUTOGRAD="pass"),
     "message": "register a backward"},
    {**T6, "kind": "wrong", "name": "the true derivative (zeros)",
     "code": _ste(GRAD="torch.zeros_like(grad)"),
     "message": "the gradient is zero"},
    {**T6, "kind": "wrong", "name": "a gradient of ones, ignoring grad",
     "code": _ste(GRAD="torch.ones_like(grad)"),
     "message": "it should be w"},
    {**T6, "kind": "wrong", "name": "floor instead of round",
     "code": _ste(FWD="torch.floor(x)"),
     "message": "the forward pass"},
    {**T6, "kind": "wrong", "name": "fake returns int64",
     "code": _ste(FAKE="torch.empty_like(x, dtype=torch.int64)"),
     "message": "fake implementation is missing, or its output's shape/dtype"},
    {**T6, "kind": "right", "name": "NumPy rint and a cloned gradient",
     "code": _ste(FWD="torch.from_numpy(np.rint(x.detach().numpy()))", GRAD="grad.clone()")},
    {**T6, "kind": "right", "name": "the x + (round(x) - x).detach() trick inside the op",
     "code": _ste(FWD="x.detach().round()", GRAD="grad * 1")},
]
