"""Wrong and right answers for solutions/01_tensors.ipynb (format: tests/test_mutants.py)."""

T1 = {"task": "t1-create", "cell": "t1-code"}
T2 = {"task": "t2-minmax", "cell": "t2-code"}
T3 = {"task": "t3-masks", "cell": "t3-code"}
T4 = {"task": "t4-patches", "cell": "t4-code"}
T5 = {"task": "t5-time-features", "cell": "t5-code"}
T6 = {"task": "t6-memory", "cell": "t6-code"}
T7 = {"task": "t7-pairwise", "cell": "t7-code"}
T8 = {"task": "t8-inplace", "cell": "t8-code"}

T1_RIGHT = ("grid = torch.zeros(3, 4, dtype=torch.float64)\nsteps = torch.arange(0, 50, 5)\n"
            "probs = torch.linspace(0, 1, steps=5)\nflags = torch.ones_like(grid, dtype=torch.bool)\n")

TIME_FEATURES = ("def time_features(x):\n    mean = x.mean(dim=1)\n    std = STD\n    change = x[:, -1] - x[:, 0]\n"
                 "    return JOIN\n")

MUTANTS = [
    # Task 1: factory functions and dtypes
    {**T1, "kind": "wrong", "name": "grid in the default float32",
     "code": T1_RIGHT.replace("torch.zeros(3, 4, dtype=torch.float64)", "torch.zeros(3, 4)"),
     "message": "dtype torch.float64"},
    {**T1, "kind": "wrong", "name": "steps from a float range",
     "code": T1_RIGHT.replace("torch.arange(0, 50, 5)", "torch.arange(0.0, 50.0, 5.0)"),
     "message": "steps to have dtype torch.int64"},
    {**T1, "kind": "wrong", "name": "probs with arange, end excluded",
     "code": T1_RIGHT.replace("torch.linspace(0, 1, steps=5)", "torch.arange(0, 1, 0.25)"),
     "message": "probs to have shape (5,)"},
    {**T1, "kind": "wrong", "name": "flags as float ones",
     "code": T1_RIGHT.replace("torch.ones_like(grid, dtype=torch.bool)", "torch.ones(3, 4)"),
     "message": "flags to have dtype torch.bool"},
    {**T1, "kind": "wrong", "name": "steps one too many (arange end included by hand)",
     "code": T1_RIGHT.replace("torch.arange(0, 50, 5)", "torch.arange(0, 55, 5)"),
     "message": "steps to have shape (10,)"},
    {**T1, "kind": "right", "name": "explicit lists and full",
     "code": "grid = torch.tensor([[0.0] * 4] * 3, dtype=torch.float64)\nsteps = torch.tensor(list(range(0, 50, 5)))\n"
             "probs = torch.arange(5, dtype=torch.float32) / 4\nflags = torch.full((3, 4), True)\n"},

    # Task 2: minmax_rows
    {**T2, "kind": "wrong", "name": "global min and max",
     "code": "def minmax_rows(x, eps=1e-8):\n    return (x - x.min()) / (x.max() - x.min() + eps)\n",
     "message": "not close"},
    {**T2, "kind": "wrong", "name": "per column (dim=0) like the lesson's standardisation",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.amin(dim=0, keepdim=True)\n    hi = x.amax(dim=0, keepdim=True)\n"
             "    return (x - lo) / (hi - lo + eps)\n",
     "message": "min and max of each row"},
    {**T2, "kind": "wrong", "name": "no keepdim: (N,) against (N, F)",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.amin(dim=1)\n    hi = x.amax(dim=1)\n    return (x - lo) / (hi - lo + eps)\n",
     "message": "keepdim=True"},
    {**T2, "kind": "wrong", "name": "modifies x in place",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.amin(dim=1, keepdim=True)\n    hi = x.amax(dim=1, keepdim=True)\n"
             "    x -= lo\n    x /= (hi - lo + eps)\n    return x\n",
     "message": "must not change its input"},
    {**T2, "kind": "wrong", "name": "max(dim=...) used as a tensor",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.min(dim=1, keepdim=True)\n    hi = x.max(dim=1, keepdim=True)\n"
             "    return (x - lo) / (hi - lo + eps)\n",
     "message": "raised TypeError"},
    {**T2, "kind": "wrong", "name": "eps forgotten: a constant row gives NaN",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.amin(dim=1, keepdim=True)\n    hi = x.amax(dim=1, keepdim=True)\n"
             "    return (x - lo) / (hi - lo)\n",
     "message": "NaN"},
    {**T2, "kind": "right", "name": "min/max values and None indexing",
     "code": "def minmax_rows(x, eps=1e-8):\n    lo = x.min(dim=1).values[:, None]\n    span = x.max(dim=1).values[:, None] - lo\n"
             "    return (x - lo) / (span + eps)\n"},

    # Task 3: NaN masks
    {**T3, "kind": "wrong", "name": "mean over all 8 columns, zeros included",
     "code": "missing = torch.isnan(readings)\nclean = torch.where(missing, 0.0, readings)\n"
             "missing_per_row = missing.sum(dim=1)\nrow_means = clean.mean(dim=1)\n",
     "message": "divide by the number of readings that are present"},
    {**T3, "kind": "wrong", "name": "counts as a float mean times 8",
     "code": "missing = torch.isnan(readings)\nclean = torch.where(missing, 0.0, readings)\n"
             "missing_per_row = missing.float().sum(dim=1)\nrow_means = clean.sum(dim=1) / (~missing).sum(dim=1)\n",
     "message": "dtype torch.int64"},
    {**T3, "kind": "wrong", "name": "counts the readings present, not missing",
     "code": "missing = torch.isnan(readings)\nclean = torch.where(missing, 0.0, readings)\n"
             "missing_per_row = (~missing).sum(dim=1)\nrow_means = clean.sum(dim=1) / (~missing).sum(dim=1)\n",
     "message": "missing_per_row differs"},
    {**T3, "kind": "right", "name": "nan_to_num and nanmean",
     "code": "clean = readings.nan_to_num(0.0)\nmissing_per_row = readings.isnan().sum(1)\nrow_means = readings.nanmean(dim=1)\n"},

    # It changes `readings`, which a set-up cell made: the harness then reruns the whole notebook.
    {**T3, "kind": "wrong", "name": "replaces NaN in readings itself",
     "code": "missing = torch.isnan(readings)\nreadings[missing] = 0.0\nclean = readings\n"
             "missing_per_row = missing.sum(dim=1)\nrow_means = clean.sum(dim=1) / (~missing).sum(dim=1)\n",
     "message": "readings was changed"},

    # Task 4: to_patches
    {**T4, "kind": "wrong", "name": "reshape alone",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    if H % p or W % p:\n        raise ValueError('H and W must be multiples of p')\n"
             "    return images.reshape(N, (H // p) * (W // p), C * p * p)\n",
     "message": "permute the patch-grid dimensions first"},
    {**T4, "kind": "wrong", "name": "patches flattened channels-last (p, p, C)",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    if H % p or W % p:\n        raise ValueError('H and W must be multiples of p')\n"
             "    g = images.reshape(N, C, H // p, p, W // p, p)\n    return g.permute(0, 2, 4, 3, 5, 1).reshape(N, (H // p) * (W // p), C * p * p)\n",
     "message": "flattened as (C, p, p)"},
    {**T4, "kind": "wrong", "name": "patch grid read column by column",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    if H % p or W % p:\n        raise ValueError('H and W must be multiples of p')\n"
             "    g = images.reshape(N, C, H // p, p, W // p, p)\n    return g.permute(0, 4, 2, 1, 3, 5).reshape(N, (H // p) * (W // p), C * p * p)\n",
     "message": "reading order"},
    {**T4, "kind": "wrong", "name": "no check of the size: reshape's RuntimeError instead of ValueError",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    g = images.reshape(N, C, H // p, p, W // p, p)\n"
             "    return g.permute(0, 2, 4, 1, 3, 5).reshape(N, (H // p) * (W // p), C * p * p)\n",
     "message": "should raise ValueError"},
    {**T4, "kind": "wrong", "name": "only checks H",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    if H % p:\n        raise ValueError('H must be a multiple of p')\n"
             "    g = images[..., : W // p * p].reshape(N, C, H // p, p, W // p, p)\n"
             "    return g.permute(0, 2, 4, 1, 3, 5).reshape(N, (H // p) * (W // p), C * p * p)\n",
     "message": "4x6 image with p=4 should raise ValueError"},
    {**T4, "kind": "right", "name": "F.unfold",
     "code": "import torch.nn.functional as F\n\ndef to_patches(images, p):\n    H, W = images.shape[-2:]\n"
             "    if H % p != 0 or W % p != 0:\n        raise ValueError(f'{H}x{W} is not a multiple of {p}')\n"
             "    return F.unfold(images.double(), kernel_size=p, stride=p).transpose(1, 2).to(images.dtype)\n"},
    {**T4, "kind": "right", "name": "Tensor.unfold twice",
     "code": "def to_patches(images, p):\n    N, C, H, W = images.shape\n    if H % p or W % p:\n        raise ValueError('not divisible')\n"
             "    t = images.unfold(2, p, p).unfold(3, p, p)  # N, C, H/p, W/p, p, p\n"
             "    return t.permute(0, 2, 3, 1, 4, 5).reshape(N, -1, C * p * p)\n"},

    # Task 5: time_features
    {**T5, "kind": "wrong", "name": "sample std (correction=1)",
     "code": TIME_FEATURES.replace("STD", "x.std(dim=1)").replace("JOIN", "torch.cat([mean, std, change], dim=1)"),
     "message": "the std over time, correction=0"},
    {**T5, "kind": "wrong", "name": "stack instead of cat",
     "code": TIME_FEATURES.replace("STD", "x.std(dim=1, correction=0)").replace("JOIN", "torch.stack([mean, std, change], dim=1)"),
     "message": "torch.stack adds a new dimension"},
    {**T5, "kind": "wrong", "name": "statistics over the customers (dim=0)",
     "code": "def time_features(x):\n    return torch.cat([x.mean(dim=0), x.std(dim=0, correction=0), x[-1] - x[0]], dim=1)\n",
     "message": "shape (4, 9)"},
    {**T5, "kind": "wrong", "name": "converts to float32",
     "code": TIME_FEATURES.replace("STD", "x.std(dim=1, correction=0)").replace("JOIN", "torch.cat([mean, std, change], dim=1).float()"),
     "message": "dtype torch.float64"},
    {**T5, "kind": "wrong", "name": "change as first minus last",
     "code": TIME_FEATURES.replace("STD", "x.std(dim=1, correction=0)").replace("x[:, -1] - x[:, 0]", "x[:, 0] - x[:, -1]")
             .replace("JOIN", "torch.cat([mean, std, change], dim=1)"),
     "message": "last day minus first day"},
    {**T5, "kind": "right", "name": "var_mean and sqrt",
     "code": "def time_features(x):\n    var, mean = torch.var_mean(x, dim=1, correction=0)\n"
             "    return torch.cat((mean, var.sqrt(), x[:, -1, :] - x[:, 0, :]), dim=-1)\n"},

    # Task 6: rows_that_fit
    {**T6, "kind": "wrong", "name": "rounds to the nearest",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    return round(budget_bytes / (copies * dim * dtype.itemsize))\n",
     "message": "round down"},
    {**T6, "kind": "wrong", "name": "forgets the copies",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    return budget_bytes // (dim * dtype.itemsize)\n",
     "message": "copies must fit"},
    {**T6, "kind": "wrong", "name": "float division",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    return budget_bytes / (copies * dim * dtype.itemsize)\n",
     "message": "should return a Python int"},
    {**T6, "kind": "wrong", "name": "int() of a float division",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    return int(budget_bytes / (copies * dim * dtype.itemsize))\n",
     "message": "use integer division //"},
    {**T6, "kind": "wrong", "name": "4 bytes per value whatever the dtype",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    return budget_bytes // (copies * dim * 4)\n",
     "message": "rows_that_fit("},
    {**T6, "kind": "right", "name": "element_size of an empty tensor",
     "code": "def rows_that_fit(budget_bytes, dim, dtype, copies):\n    per_value = torch.empty(0, dtype=dtype).element_size()\n"
             "    rows, _ = divmod(budget_bytes, copies * dim * per_value)\n    return rows\n"},

    # Task 7: pairwise_sq_dists without loops
    {**T7, "kind": "wrong", "name": "a Python loop over the rows of a",
     "code": "def pairwise_sq_dists(a, b):\n    return torch.stack([((row - b) ** 2).sum(dim=1) for row in a])\n",
     "message": "tensor operations for 30 x 40 points"},
    {**T7, "kind": "wrong", "name": "Python numbers via tolist",
     "code": "def pairwise_sq_dists(a, b):\n    A, B = a.tolist(), b.tolist()\n"
             "    return torch.tensor([[sum((x - y) ** 2 for x, y in zip(r, s)) for s in B] for r in A])\n",
     "message": "lost track of its inputs"},
    {**T7, "kind": "wrong", "name": "distances, not squared",
     "code": "def pairwise_sq_dists(a, b):\n    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=-1).sqrt()\n",
     "message": "not close"},
    {**T7, "kind": "wrong", "name": "elementwise pairs instead of all pairs",
     "code": "def pairwise_sq_dists(a, b):\n    n = min(len(a), len(b))\n    return ((a[:n] - b[:n]) ** 2).sum(dim=-1)\n",
     "message": "shape (30, 40)"},
    {**T7, "kind": "wrong", "name": "sum over the wrong dimension",
     "code": "def pairwise_sq_dists(a, b):\n    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(dim=0)\n",
     "message": "shape (30, 40)"},
    {**T7, "kind": "right", "name": "expanded square with a matrix product",
     "code": "def pairwise_sq_dists(a, b):\n    return (a * a).sum(1, keepdim=True) - 2 * a @ b.T + (b * b).sum(1)\n"},
    {**T7, "kind": "right", "name": "torch.cdist squared",
     "code": "def pairwise_sq_dists(a, b):\n    return torch.cdist(a, b) ** 2\n"},

    # Task 8: normalize_rows_ in place
    {**T8, "kind": "wrong", "name": "out of place: returns a new tensor",
     "code": "def normalize_rows_(x):\n    return x / torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min(1e-12)\n",
     "message": "return x itself"},
    {**T8, "kind": "wrong", "name": "rebinding through .data",
     "code": "def normalize_rows_(x):\n    x.data = x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)\n    return x\n",
     "message": "new storage"},
    {**T8, "kind": "wrong", "name": "one norm for the whole tensor",
     "code": "def normalize_rows_(x):\n    return x.div_(x.norm())\n",
     "message": "divided by its own length"},
    {**T8, "kind": "wrong", "name": "no keepdim",
     "code": "def normalize_rows_(x):\n    return x.div_(x.norm(dim=1).clamp_min(1e-12))\n",
     "message": "keepdim=True"},
    {**T8, "kind": "wrong", "name": "no clamp: a zero row becomes NaN",
     "code": "def normalize_rows_(x):\n    return x.div_(x.norm(dim=1, keepdim=True))\n",
     "message": "zero row stays 0"},
    {**T8, "kind": "wrong", "name": "works on a contiguous copy",
     "code": "def normalize_rows_(x):\n    y = x.contiguous()\n    y /= y.norm(dim=1, keepdim=True).clamp_min(1e-12)\n    return y\n",
     "message": "after normalize_rows_(view)"},
    {**T8, "kind": "right", "name": "copy_ of F.normalize",
     "code": "import torch.nn.functional as F\n\ndef normalize_rows_(x):\n    x.copy_(F.normalize(x, dim=1))\n    return x\n"},
    {**T8, "kind": "right", "name": "/= with a square root of the sum of squares",
     "code": "def normalize_rows_(x):\n    x /= (x * x).sum(dim=1, keepdim=True).sqrt().clamp(min=1e-12)\n    return x\n"},
]
