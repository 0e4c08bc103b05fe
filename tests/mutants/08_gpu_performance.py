"""Wrong and right answers for solutions/08_gpu_performance.ipynb (format: tests/test_mutants.py)."""

_T1_HEAD = "def measure_bandwidth(fn, nbytes, repeat=7, warmup=2, device=None):\n"
_T1_SYNC = "    gpu = device is not None and torch.device(device).type == 'cuda'\n"

_T2_COST = (
    "def matmul_cost(m, k, n, dtype):\n"
    "    size = torch.empty((), dtype=dtype).element_size()\n"
    "    return 2 * m * k * n, (m * k + k * n + m * n) * size\n"
)
_T2_TIME = (
    "def roofline_time(flops, nbytes, peak_flops, bandwidth):\n"
    "    c, m = flops / peak_flops, nbytes / bandwidth\n"
    "    return (m, 'memory') if m >= c else (c, 'compute')\n"
)

_T3_PROFILE = (
    "def profile_regions(fn, names, steps=6):\n"
    "    sched = torch.profiler.schedule(wait=1, warmup=1, active=steps - 2, repeat=1)\n"
    "    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], schedule=sched) as prof:\n"
    "        for _ in range(steps):\n"
    "            fn()\n"
    "            prof.step()\n"
    "    found = {e.key: (e.count, e.cpu_time_total) for e in prof.key_averages()}\n"
    "    return {n: found.get(n, (0, 0.0)) for n in names}\n"
)
_T3_DOMINANT = (
    "def dominant_region(fn, names):\n"
    "    r = profile_regions(fn, names)\n"
    "    return max(names, key=lambda n: r[n][1])\n"
)


def _t4(body: str) -> str:
    return "def fp16_step(model, optimizer, scaler, x, y, loss_fn):\n" + body


_T4_FORWARD = (
    "    with torch.autocast('cpu', dtype=torch.float16):\n"
    "        loss = loss_fn(model(x), y)\n"
)

_T5_PREDICT = (
    "def predict_bf16(model_bf16, x):\n"
    "    with torch.inference_mode():\n"
    "        return model_bf16(x.to(torch.bfloat16)).float()\n"
)
_T5_CAST = (
    "def to_bf16_inference(model):\n"
    "    return copy.deepcopy(model).to(torch.bfloat16).eval()\n"
)

MUTANTS = [
    # Task 1: bandwidth meter
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "mean instead of median",
     "code": _T1_HEAD + _T1_SYNC + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        if gpu:\n            torch.cuda.synchronize()\n        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / (sum(ts) / len(ts)) / 1e9\n",
     "message": "use the median"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "best time instead of median",
     "code": _T1_HEAD + _T1_SYNC + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        if gpu:\n            torch.cuda.synchronize()\n        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / min(ts) / 1e9\n",
     "message": "best time"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "no warm-up calls",
     "code": _T1_HEAD + _T1_SYNC + "    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        if gpu:\n            torch.cuda.synchronize()\n        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / statistics.median(ts) / 1e9\n",
     "message": "warm up first"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "GiB/s instead of GB/s",
     "code": _T1_HEAD + _T1_SYNC + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        if gpu:\n            torch.cuda.synchronize()\n        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / statistics.median(ts) / 2**30\n",
     "message": "GiB/s"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "never synchronises the GPU",
     "code": _T1_HEAD + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / statistics.median(ts) / 1e9\n",
     "message": "torch.cuda.synchronize()"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "synchronises after reading the clock",
     "code": _T1_HEAD + _T1_SYNC + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        t1 = time.perf_counter()\n        if gpu:\n            torch.cuda.synchronize()\n"
             "        ts.append(t1 - t0)\n"
             "    return nbytes / statistics.median(ts) / 1e9\n",
     "message": "before reading the clock"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "course.bench.timeit does the loop",
     "code": "import course.bench\n\n\n" + _T1_HEAD
             + "    return nbytes / course.bench.timeit(fn, repeat=repeat, warmup=warmup, device=device).median / 1e9\n",
     "message": "write the timing loop yourself"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "course.perf.bandwidth does it all",
     "code": "import course.perf\n\n\n" + _T1_HEAD
             + "    return course.perf.bandwidth(fn, nbytes, device=device, repeat=repeat, warmup=warmup) / 1e9\n",
     "message": "write the timing loop yourself"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "wrong", "name": "no synchronize after the warm-up",
     "code": _T1_HEAD + _T1_SYNC + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n        t0 = time.perf_counter()\n        fn()\n"
             "        if gpu:\n            torch.cuda.synchronize()\n        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / statistics.median(ts) / 1e9\n",
     "message": "after the warm-up calls"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "right", "name": "a while loop and sorted middle element",
     "code": _T1_HEAD + "    n = 0\n    while n < warmup:\n        fn()\n        n += 1\n"
             "    if device is not None and 'cuda' in str(device):\n        torch.cuda.synchronize()\n    ts = []\n"
             "    while len(ts) < repeat:\n        t0 = time.perf_counter()\n        fn()\n"
             "        if device is not None and 'cuda' in str(device):\n            torch.cuda.synchronize()\n"
             "        ts.append(time.perf_counter() - t0)\n"
             "    return nbytes / sorted(ts)[len(ts) // 2] / 1e9\n"},
    {"task": "t1-bandwidth", "cell": "t1-code", "kind": "right", "name": "torch.tensor median, sync on every call",
     "code": _T1_HEAD + "    for _ in range(warmup):\n        fn()\n    ts = []\n"
             "    for _ in range(repeat):\n"
             "        if str(device or 'cpu').startswith('cuda'):\n            torch.cuda.synchronize()\n"
             "        start = time.perf_counter()\n        fn()\n"
             "        if str(device or 'cpu').startswith('cuda'):\n            torch.cuda.synchronize()\n"
             "        ts.append(time.perf_counter() - start)\n"
             "    return float(nbytes / torch.tensor(ts, dtype=torch.float64).median().item() / 1e9)\n"},

    # Task 2: roofline
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "flops without the factor 2",
     "code": "def matmul_cost(m, k, n, dtype):\n    size = torch.empty((), dtype=dtype).element_size()\n"
             "    return m * k * n, (m * k + k * n + m * n) * size\n\n\n" + _T2_TIME,
     "message": "2*m*k*n"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "bytes forget the output",
     "code": "def matmul_cost(m, k, n, dtype):\n    size = torch.empty((), dtype=dtype).element_size()\n"
             "    return 2 * m * k * n, (m * k + k * n) * size\n\n\n" + _T2_TIME,
     "message": "output"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "always 4 bytes per element",
     "code": "def matmul_cost(m, k, n, dtype):\n    return 2 * m * k * n, (m * k + k * n + m * n) * 4\n\n\n" + _T2_TIME,
     "message": "bfloat16"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "shorter time instead of longer",
     "code": _T2_COST + "\n\ndef roofline_time(flops, nbytes, peak_flops, bandwidth):\n"
             "    c, m = flops / peak_flops, nbytes / bandwidth\n"
             "    return (m, 'memory') if m <= c else (c, 'compute')\n",
     "message": "batch-64"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "the right label with the compute time",
     "code": _T2_COST + "\n\ndef roofline_time(flops, nbytes, peak_flops, bandwidth):\n"
             "    c, m = flops / peak_flops, nbytes / bandwidth\n"
             "    return c, ('memory' if m >= c else 'compute')\n",
     "message": "longer of compute and memory"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "wrong", "name": "adds the two times",
     "code": _T2_COST + "\n\ndef roofline_time(flops, nbytes, peak_flops, bandwidth):\n"
             "    c, m = flops / peak_flops, nbytes / bandwidth\n"
             "    return c + m, ('memory' if m >= c else 'compute')\n",
     "message": "memory-bound case"},
    {"task": "t2-roofline", "cell": "t2-code", "kind": "right", "name": "finfo bits, max of times",
     "code": "def matmul_cost(m, k, n, dtype):\n    b = torch.finfo(dtype).bits // 8\n"
             "    flops = 2 * m * n * k\n    return flops, b * m * k + b * k * n + b * m * n\n\n\n"
             "def roofline_time(flops, nbytes, peak_flops, bandwidth):\n"
             "    t = max(flops / peak_flops, nbytes / bandwidth)\n"
             "    return t, 'compute' if flops / peak_flops > nbytes / bandwidth else 'memory'\n"},

    # Task 3: profiler regions
    {"task": "t3-profiler", "cell": "t3-code", "kind": "wrong", "name": "no schedule: every step recorded",
     "code": "def profile_regions(fn, names, steps=6):\n"
             "    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:\n"
             "        for _ in range(steps):\n            fn()\n"
             "    found = {e.key: (e.count, e.cpu_time_total) for e in prof.key_averages()}\n"
             "    return {n: found.get(n, (0, 0.0)) for n in names}\n\n\n" + _T3_DOMINANT,
     "message": "all 6 steps"},
    {"task": "t3-profiler", "cell": "t3-code", "kind": "wrong", "name": "forgets prof.step()",
     "code": "def profile_regions(fn, names, steps=6):\n"
             "    sched = torch.profiler.schedule(wait=1, warmup=1, active=steps - 2, repeat=1)\n"
             "    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], schedule=sched) as prof:\n"
             "        for _ in range(steps):\n            fn()\n"
             "    found = {e.key: (e.count, e.cpu_time_total) for e in prof.key_averages()}\n"
             "    return {n: found.get(n, (0, 0.0)) for n in names}\n\n\n" + _T3_DOMINANT,
     "message": "prof.step()"},
    {"task": "t3-profiler", "cell": "t3-code", "kind": "wrong", "name": "drops names that were not recorded",
     "code": "def profile_regions(fn, names, steps=6):\n"
             "    sched = torch.profiler.schedule(wait=1, warmup=1, active=steps - 2, repeat=1)\n"
             "    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], schedule=sched) as prof:\n"
             "        for _ in range(steps):\n            fn()\n            prof.step()\n"
             "    return {e.key: (e.count, e.cpu_time_total) for e in prof.key_averages() if e.key in names}\n\n\n"
             + _T3_DOMINANT,
     "message": "the keys of profile_regions"},
    {"task": "t3-profiler", "cell": "t3-code", "kind": "wrong", "name": "dominant region is the smallest",
     "code": _T3_PROFILE + "\n\ndef dominant_region(fn, names):\n    r = profile_regions(fn, names)\n"
             "    return min(names, key=lambda n: r[n][1])\n",
     "message": "dominant_region"},
    {"task": "t3-profiler", "cell": "t3-code", "kind": "wrong", "name": "dominant region hard-coded",
     "code": _T3_PROFILE + "\n\ndef dominant_region(fn, names):\n    return 'attention'\n",
     "message": "matmuls in 'mlp'"},
    {"task": "t3-profiler", "cell": "t3-code", "kind": "right", "name": "loop over events, sorted for the winner",
     "code": "def profile_regions(fn, names, steps=6):\n"
             "    out = {n: (0, 0.0) for n in names}\n"
             "    with torch.profiler.profile(activities=list(torch.profiler.supported_activities()),\n"
             "                                schedule=torch.profiler.schedule(wait=1, warmup=1, active=steps - 2, repeat=1)) as p:\n"
             "        for i in range(steps):\n            fn()\n            p.step()\n"
             "    for e in p.key_averages():\n"
             "        if e.key in out:\n            out[e.key] = (int(e.count), float(e.cpu_time_total))\n"
             "    return out\n\n\n"
             "def dominant_region(fn, names):\n    r = profile_regions(fn, names)\n"
             "    return sorted(names, key=lambda n: r[n][1])[-1]\n"},

    # Task 4: fp16 step with GradScaler
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "no autocast",
     "code": _t4("    loss = loss_fn(model(x), y)\n    optimizer.zero_grad()\n    scaler.scale(loss).backward()\n"
                 "    scaler.step(optimizer)\n    scaler.update()\n    return loss.item()\n"),
     "message": "autocast"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "no scaler at all",
     "code": _t4(_T4_FORWARD + "    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n    return loss.item()\n"),
     "message": "underflowed"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "unscale_ then optimizer.step() (no skip)",
     "code": _t4(_T4_FORWARD + "    optimizer.zero_grad()\n    scaler.scale(loss).backward()\n    scaler.unscale_(optimizer)\n"
                 "    optimizer.step()\n    scaler.update()\n    return loss.item()\n"),
     "message": "scaler.step(optimizer)"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "forgets scaler.update()",
     "code": _t4(_T4_FORWARD + "    optimizer.zero_grad()\n    scaler.scale(loss).backward()\n"
                 "    scaler.step(optimizer)\n    return loss.item()\n"),
     "message": "scaler.update()"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "forgets zero_grad",
     "code": _t4(_T4_FORWARD + "    scaler.scale(loss).backward()\n"
                 "    scaler.step(optimizer)\n    scaler.update()\n    return loss.item()\n"),
     "message": "zero_grad"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "wrong", "name": "returns the scaled loss",
     "code": _t4(_T4_FORWARD + "    optimizer.zero_grad()\n    scaled = scaler.scale(loss)\n    scaled.backward()\n"
                 "    scaler.step(optimizer)\n    scaler.update()\n    return scaled.item()\n"),
     "message": "scaled loss"},
    {"task": "t4-fp16-step", "cell": "t4-code", "kind": "right", "name": "zero_grad first, explicit unscale_",
     "code": _t4("    optimizer.zero_grad(set_to_none=False)\n" + _T4_FORWARD
                 + "    scaler.scale(loss).backward()\n    scaler.unscale_(optimizer)\n"
                 "    scaler.step(optimizer)\n    scaler.update()\n    return float(loss.detach())\n"),
     },

    # Task 5: bf16 CPU inference
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "model.to() casts the original in place",
     "code": "def to_bf16_inference(model):\n    return model.to(torch.bfloat16).eval()\n\n\n" + _T5_PREDICT,
     "message": "in place"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "float16 instead of bfloat16",
     "code": "def to_bf16_inference(model):\n    return copy.deepcopy(model).half().eval()\n\n\n"
             "def predict_bf16(model_bf16, x):\n    with torch.inference_mode():\n"
             "        return model_bf16(x.half()).float()\n",
     "message": "dtypes of the copy"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "autocast instead of casting",
     "code": "def to_bf16_inference(model):\n    return copy.deepcopy(model).to(torch.bfloat16).eval()\n\n\n"
             "def predict_bf16(model_bf16, x):\n"
             "    with torch.inference_mode(), torch.autocast('cpu', dtype=torch.bfloat16):\n"
             "        return model_bf16(x).float()\n",
     "message": "autocast"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "copy left in training mode",
     "code": "def to_bf16_inference(model):\n    return copy.deepcopy(model).to(torch.bfloat16)\n\n\n" + _T5_PREDICT,
     "message": ".eval()"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "returns bfloat16 outputs",
     "code": _T5_CAST + "\n\ndef predict_bf16(model_bf16, x):\n    with torch.inference_mode():\n"
             "        return model_bf16(x.to(torch.bfloat16))\n",
     "message": "dtype torch.float32"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "wrong", "name": "builds an autograd graph",
     "code": _T5_CAST + "\n\ndef predict_bf16(model_bf16, x):\n    return model_bf16(x.to(torch.bfloat16)).float()\n",
     "message": "autograd graph"},
    {"task": "t5-bf16-inference", "cell": "t5-code", "kind": "right", "name": "eval first, .bfloat16(), no_grad",
     "code": "def to_bf16_inference(model):\n    fast = copy.deepcopy(model)\n    fast.eval()\n"
             "    return fast.bfloat16()\n\n\n"
             "def predict_bf16(model_bf16, x):\n    with torch.no_grad():\n"
             "        return model_bf16(x.bfloat16()).to(torch.float32)\n"},

    # Task 6: graph break
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "wrong", "name": "keeps .item() and the Python if",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n    norm = x.norm().item()\n"
             "    if norm > max_norm:\n        x = x * (max_norm / norm)\n    return torch.tanh(x)\n",
     "message": "graph break"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "wrong", "name": "always rescales",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n    return torch.tanh(x * (max_norm / x.norm()))\n",
     "message": "not close"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "wrong", "name": "clamps the factor from below",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n"
             "    return torch.tanh(x * torch.clamp(max_norm / x.norm(), min=1.0))\n",
     "message": "not close"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "wrong", "name": "forgets tanh",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n"
             "    return x * torch.clamp(max_norm / x.norm(), max=1.0)\n",
     "message": "not close"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "wrong", "name": "hides the original from the compiler",
     "code": "@torch.compiler.disable\ndef clip_then_squash_fixed(x, max_norm=1.0):\n    return clip_then_squash(x, max_norm)\n",
     "message": "graph break"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "right", "name": "torch.where on the norm",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n    norm = x.norm()\n"
             "    return torch.tanh(torch.where(norm > max_norm, x * (max_norm / norm), x))\n"},
    {"task": "t6-graph-break", "cell": "t6-code", "kind": "right", "name": "divide by max(norm/max_norm, 1)",
     "code": "def clip_then_squash_fixed(x, max_norm=1.0):\n"
             "    return (x / torch.clamp(x.norm() / max_norm, min=1.0)).tanh()\n"},
]
