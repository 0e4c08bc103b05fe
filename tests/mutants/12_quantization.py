"""Wrong and right answers for solutions/12_quantization.ipynb (format: tests/test_mutants.py)."""

_T1 = '''
def quantize_per_channel(w, scale=None):
    if scale is None:
        scale = SCALE
    scale = scale.to(torch.float32)
    q = QUANT
    return q, scale


def dequantize(q, scale):
    return q.to(torch.float32) * scale[:, None]
'''
_T1_OK = {
    "SCALE": "w.abs().amax(dim=1) / 127",
    "QUANT": "torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)",
}


def _t1(**changes):
    code = _T1
    for key, value in {**_T1_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_T2 = '''
def int8_weight_bytes(model):
    quantized = {f"{name}.weight" for name, m in model.named_modules() if isinstance(m, TYPES)}
    total = 0
    for name, tensor in SOURCE:
        if name in quantized:
            total += WEIGHT
        else:
            total += tensor.numel() * tensor.element_size()
    return total
'''
_T2_OK = {
    "TYPES": "(nn.Linear, nn.Conv2d)",
    "SOURCE": "model.state_dict().items()",
    "WEIGHT": "tensor.numel() + tensor.shape[0] * 4",
}


def _t2(**changes):
    code = _T2
    for key, value in {**_T2_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_T3 = '''
def calibrate_inputs(model, batches):
    ranges, handles = {}, []

    def watch(name):
        def hook(module, args, *rest):
            x = (rest[0] if rest else args[0]) if OUTPUT else args[0]
            lo, hi = ranges.get(name, (START))
            ranges[name] = (MERGE)
        return hook

    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            handles.append(module.REGISTER(watch(name)))
    with torch.no_grad():
        for xb in batches:
            model(xb)
    REMOVE
    out = {}
    for name, (lo, hi) in ranges.items():
        scale = (hi - lo) / LEVELS
        out[name] = (scale, round(-lo / scale))
    return out
'''
_T3_OK = {
    "OUTPUT": "False",
    "START": "0.0, 0.0",
    "MERGE": "min(lo, x.min().item()), max(hi, x.max().item())",
    "REGISTER": "register_forward_pre_hook",
    "REMOVE": "for h in handles:\n        h.remove()",
    "LEVELS": "255",
}


def _t3(**changes):
    code = _T3
    for key, value in {**_T3_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_T4 = '''
def layer_errors(reference, candidate, x):
    def outputs(net):
        out, handles = {}, []
        for name, module in net.named_modules():
            if isinstance(module, TYPES):
                handles.append(module.HOOK(lambda m, i, *o, name=name: out.__setitem__(name, (o[0] if o else i[0]).detach())))
        with torch.no_grad():
            net(x)
        REMOVE
        return out

    ref, cand = outputs(reference), outputs(candidate)
    return {name: ((cand[name] - ref[name]).norm() DIVIDE).item() for name in ref}
'''
_T4_OK = {
    "TYPES": "(nn.Linear, nn.Conv2d)",
    "HOOK": "register_forward_hook",
    "REMOVE": "for h in handles:\n            h.remove()",
    "DIVIDE": "/ ref[name].norm()",
}


def _t4(**changes):
    code = _T4
    for key, value in {**_T4_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_T6_STE_NO_MASK = '''
def fake_quant_ste(x, scale):
    y = torch.clamp(torch.round(x / scale), -127, 127) * scale
    return x + (y - x).detach()
'''

MUTANTS = [
    # Task 1: per-channel int8 by hand
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "one scale for the whole tensor",
     "code": _t1(SCALE="(w.abs().max() / 127).expand(w.shape[0])"), "message": "per output row"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "divides by 128",
     "code": _t1(SCALE="w.abs().amax(dim=1) / 128"), "message": "not 128"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "floor instead of round",
     "code": _t1(QUANT="torch.clamp(torch.floor(w / scale[:, None]), -127, 127).to(torch.int8)"), "message": "round to nearest"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "truncation by the int cast",
     "code": _t1(QUANT="torch.clamp(w / scale[:, None], -127, 127).to(torch.int8)"), "message": "not floor, not truncation"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "no clamp (int8 wraps around)",
     "code": _t1(QUANT="torch.round(w / scale[:, None]).to(torch.int8)"), "message": "clamp to [-127, 127]"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "wrong", "name": "clamps to the full int8 range -128",
     "code": _t1(QUANT="torch.clamp(torch.round(w / scale[:, None]), -128, 127).to(torch.int8)"), "message": "clamp to [-127, 127]"},
    {"task": "t1-per-channel", "cell": "t1-code", "kind": "right", "name": "max over rows, Tensor methods",
     "code": '''
def quantize_per_channel(w, scale=None):
    s = (w.abs().max(dim=1).values / 127.0) if scale is None else scale
    s = s.float()
    return (w / s.unsqueeze(1)).round().clamp(min=-127, max=127).char(), s


def dequantize(q, scale):
    return q.float() * scale.unsqueeze(-1)
'''},
    # Task 2: bytes of an int8 state_dict
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "wrong", "name": "fp32 size (no quantization counted)",
     "code": _t2(WEIGHT="tensor.numel() * tensor.element_size()"), "message": "fp32 size"},
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "wrong", "name": "forgets the scales",
     "code": _t2(WEIGHT="tensor.numel()"), "message": "scales are missing"},
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "wrong", "name": "parameters only (no buffers)",
     "code": _t2(SOURCE="model.named_parameters()"), "message": "buffers are missing"},
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "wrong", "name": "quantizes every .weight, norms included",
     "code": _t2(TYPES="(nn.Linear, nn.Conv2d, nn.BatchNorm2d, nn.LayerNorm)"), "message": "keep float32"},
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "wrong", "name": "Linear only",
     "code": _t2(TYPES="nn.Linear"), "message": "Conv2d weight is quantized too"},
    {"task": "t2-model-bytes", "cell": "t2-code", "kind": "right", "name": "per module, recurse=False",
     "code": '''
def int8_weight_bytes(model):
    total = 0
    for module in model.modules():
        for name, t in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
            if t is None:
                continue
            if name == "weight" and isinstance(module, (nn.Linear, nn.Conv2d)):
                total += t.numel() + 4 * t.size(0)
            else:
                total += t.numel() * t.element_size()
    return int(total)
'''},
    # Task 3: calibration by hand
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "wrong", "name": "range of the last batch only",
     "code": _t3(MERGE="min(x.min().item(), 0.0), max(x.max().item(), 0.0)"), "message": "last batch only"},
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "wrong", "name": "range does not contain 0",
     "code": _t3(START="float('inf'), float('-inf')"), "message": "must contain 0"},
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "wrong", "name": "256 levels",
     "code": _t3(LEVELS="256"), "message": "255"},
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "wrong", "name": "observes the outputs",
     "code": _t3(OUTPUT="True", REGISTER="register_forward_hook"), "message": "its INPUT"},
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "wrong", "name": "hooks left on the model",
     "code": _t3(REMOVE="pass"), "message": "remove your hooks"},
    {"task": "t3-calibrate", "cell": "t3-code", "kind": "right", "name": "collect all inputs, then aminmax",
     "code": '''
def calibrate_inputs(model, batches):
    seen = {}
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    handles = [m.register_forward_pre_hook(lambda mod, args, n=n: seen.setdefault(n, []).append(args[0].flatten())) for n, m in linears.items()]
    try:
        with torch.no_grad():
            for b in batches:
                model(b)
    finally:
        for h in handles:
            h.remove()
    result = {}
    for n, xs in seen.items():
        lo, hi = torch.aminmax(torch.cat(xs))
        lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
        s = (hi - lo) / 255.0
        result[n] = (s, int(round(-lo / s)))
    return result
'''},
    # Task 4: per-layer error report
    {"task": "t4-layer-errors", "cell": "t4-code", "kind": "wrong", "name": "Linear only (the lesson's version)",
     "code": _t4(TYPES="nn.Linear"), "message": "every nn.Linear and nn.Conv2d"},
    {"task": "t4-layer-errors", "cell": "t4-code", "kind": "wrong", "name": "hooks not removed",
     "code": _t4(REMOVE="pass"), "message": "remove the hooks"},
    {"task": "t4-layer-errors", "cell": "t4-code", "kind": "wrong", "name": "absolute error",
     "code": _t4(DIVIDE=""), "message": "absolute error"},
    {"task": "t4-layer-errors", "cell": "t4-code", "kind": "wrong", "name": "compares the modules' inputs",
     "code": _t4(HOOK="register_forward_pre_hook"), "message": "OUTPUT"},
    {"task": "t4-layer-errors", "cell": "t4-code", "kind": "right", "name": "one hooked pass per model with a helper class",
     "code": '''
class _Recorder:
    def __init__(self, net):
        self.out = {}
        self.handles = [m.register_forward_hook(self._make(n)) for n, m in net.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]

    def _make(self, n):
        def hook(module, inputs, output):
            self.out[n] = output.detach().clone()
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def layer_errors(reference, candidate, x):
    results = []
    for net in (reference, candidate):
        rec = _Recorder(net)
        with torch.no_grad():
            net(x)
        rec.close()
        results.append(rec.out)
    ref, cand = results
    return {n: float(torch.linalg.vector_norm(cand[n] - ref[n]) / torch.linalg.vector_norm(ref[n])) for n in ref}
'''},
    # Task 5: a noise-aware decision
    {"task": "t5-choose", "cell": "t5-code", "kind": "wrong", "name": "smallest median, spread ignored",
     "code": '''
def choose_config(times, baseline="fp32", threshold=0.05):
    return min(times, key=lambda c: statistics.median(times[c]))
''', "message": "overlapping timings"},
    {"task": "t5-choose", "cell": "t5-code", "kind": "wrong", "name": "medians compared with the threshold",
     "code": '''
def choose_config(times, baseline="fp32", threshold=0.05):
    base = statistics.median(times[baseline])
    winners = [c for c in times if c != baseline and statistics.median(times[c]) * (1 + threshold) < base]
    return min(winners, key=lambda c: statistics.median(times[c])) if winners else baseline
''', "message": "overlapping timings"},
    {"task": "t5-choose", "cell": "t5-code", "kind": "wrong", "name": "threshold ignored",
     "code": '''
def choose_config(times, baseline="fp32", threshold=0.05):
    winners = [c for c in times if c != baseline and max(times[c]) < min(times[baseline])]
    return min(winners, key=lambda c: statistics.median(times[c])) if winners else baseline
''', "message": "slowest round overlaps"},
    {"task": "t5-choose", "cell": "t5-code", "kind": "wrong", "name": "best round instead of the clear-win rule",
     "code": '''
def choose_config(times, baseline="fp32", threshold=0.05):
    best = min(times, key=lambda c: min(times[c]))
    return best if min(times[best]) * (1 + threshold) < min(times[baseline]) else baseline
''', "message": "overlapping timings"},
    {"task": "t5-choose", "cell": "t5-code", "kind": "right", "name": "sorted by median, first clear winner",
     "code": '''
def choose_config(times, baseline="fp32", threshold=0.05):
    floor = min(times[baseline]) / (1 + threshold)
    for name in sorted((c for c in times if c != baseline), key=lambda c: statistics.median(times[c])):
        if max(times[name]) < floor:
            return name
    return baseline
'''},
    # Task 6: straight-through fake quantization
    {"task": "t6-ste", "cell": "t6-code", "kind": "wrong", "name": "plain round (no gradient)",
     "code": '''
def fake_quant_ste(x, scale):
    return torch.clamp(torch.round(x / scale), -127, 127) * scale
''', "message": "gradient is zero everywhere"},
    {"task": "t6-ste", "cell": "t6-code", "kind": "wrong", "name": "straight through everywhere (no clamp mask)",
     "code": _T6_STE_NO_MASK, "message": "where the value was clamped"},
    {"task": "t6-ste", "cell": "t6-code", "kind": "wrong", "name": "uses the forbidden built-in",
     "code": '''
def fake_quant_ste(x, scale):
    return torch.fake_quantize_per_tensor_affine(x, scale, 0, -127, 127)
''', "message": "does not allow torch.fake_quantize_per_tensor_affine"},
    {"task": "t6-ste", "cell": "t6-code", "kind": "wrong", "name": "no clamp in the forward pass",
     "code": '''
def fake_quant_ste(x, scale):
    y = torch.round(x / scale) * scale
    return x + (y - x).detach()
''', "message": "forward value"},
    {"task": "t6-ste", "cell": "t6-code", "kind": "right", "name": "autograd.Function with a saved mask",
     "code": '''
class _FQ(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        r = torch.round(x / scale)
        ctx.save_for_backward((r.abs() <= 127))
        return r.clamp(-127, 127) * scale

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        return grad * mask, None


def fake_quant_ste(x, scale):
    return _FQ.apply(x, scale)
'''},
]
