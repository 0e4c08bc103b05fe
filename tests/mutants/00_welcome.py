"""Wrong and right answers for solutions/00_welcome.ipynb (format: tests/test_mutants.py)."""

T1 = {"task": "t1-threads", "cell": "t1-code"}
T2 = {"task": "t2-digits", "cell": "t2-code"}
T3 = {"task": "t3-mean-image", "cell": "t3-code"}
T4 = {"task": "t4-sample", "cell": "t4-code"}
T5 = {"task": "t5-fallback", "cell": "t5-code"}

MUTANTS = [
    # Task 1: with_threads(n, fn)
    {**T1, "kind": "wrong", "name": "never restores the thread count",
     "code": "def with_threads(n, fn):\n    torch.set_num_threads(n)\n    return fn()\n",
     "message": "put the previous count back"},
    {**T1, "kind": "wrong", "name": "restores, but not when fn raises",
     "code": "def with_threads(n, fn):\n    previous = torch.get_num_threads()\n    torch.set_num_threads(n)\n"
             "    result = fn()\n    torch.set_num_threads(previous)\n    return result\n",
     "message": "finally"},
    {**T1, "kind": "wrong", "name": "swallows fn's exception",
     "code": "def with_threads(n, fn):\n    previous = torch.get_num_threads()\n    torch.set_num_threads(n)\n"
             "    try:\n        return fn()\n    except Exception:\n        return None\n"
             "    finally:\n        torch.set_num_threads(previous)\n",
     "message": "swallowed the exception"},
    {**T1, "kind": "wrong", "name": "always one thread, ignores n",
     "code": "def with_threads(n, fn):\n    previous = torch.get_num_threads()\n    torch.set_num_threads(1)\n"
             "    try:\n        return fn()\n    finally:\n        torch.set_num_threads(previous)\n",
     "message": "the thread count that fn() saw in with_threads(2"},
    {**T1, "kind": "wrong", "name": "restores to the machine default instead of the previous count",
     "code": "import os\ndef with_threads(n, fn):\n    torch.set_num_threads(n)\n    try:\n        return fn()\n"
             "    finally:\n        torch.set_num_threads(os.cpu_count())\n",
     "message": "put the previous count back"},
    {**T1, "kind": "wrong", "name": "forgets to return fn's result",
     "code": "def with_threads(n, fn):\n    previous = torch.get_num_threads()\n    torch.set_num_threads(n)\n"
             "    try:\n        fn()\n    finally:\n        torch.set_num_threads(previous)\n",
     "message": "the thread count that fn() saw"},
    {**T1, "kind": "right", "name": "a context manager",
     "code": "import contextlib\n\n@contextlib.contextmanager\ndef _threads(n):\n    old = torch.get_num_threads()\n"
             "    torch.set_num_threads(n)\n    try:\n        yield\n    finally:\n        torch.set_num_threads(old)\n\n"
             "def with_threads(n, fn):\n    with _threads(n):\n        return fn()\n"},
    {**T1, "kind": "right", "name": "except, restore, re-raise",
     "code": "def with_threads(n, fn):\n    old = torch.get_num_threads()\n    torch.set_num_threads(n)\n    try:\n"
             "        out = fn()\n    except BaseException:\n        torch.set_num_threads(old)\n        raise\n"
             "    torch.set_num_threads(old)\n    return out\n"},

    # Task 2: test_class_counts(seed)
    {**T2, "kind": "wrong", "name": "ignores the seed",
     "code": "def test_class_counts(seed):\n    return torch.bincount(data.digits('test')[1], minlength=10).tolist()\n",
     "message": "gives the counts of seed 0"},
    {**T2, "kind": "wrong", "name": "counts the train split",
     "code": "def test_class_counts(seed):\n    return torch.bincount(data.digits('train', seed=seed)[1], minlength=10).tolist()\n",
     "message": "count the 'test' split"},
    {**T2, "kind": "wrong", "name": "returns a tensor",
     "code": "def test_class_counts(seed):\n    return torch.bincount(data.digits('test', seed=seed)[1], minlength=10)\n",
     "message": "list of Python ints"},
    {**T2, "kind": "wrong", "name": "the stored counts of seed 0, hard-coded",
     "code": "def test_class_counts(seed):\n    labels = data.digits('test', seed=0)[1]\n    return [int((labels == d).sum()) for d in range(10)]\n",
     "message": "gives the counts of seed 0"},
    {**T2, "kind": "right", "name": "unique with return_counts",
     "code": "def test_class_counts(seed):\n    _, labels = data.digits('test', seed=seed)\n"
             "    values, counts = labels.unique(return_counts=True)\n    out = [0] * 10\n"
             "    for v, c in zip(values.tolist(), counts.tolist()):\n        out[v] = c\n    return out\n"},

    # Task 3: mean_image(images, labels, label)
    {**T3, "kind": "wrong", "name": "mean of all images, label ignored",
     "code": "def mean_image(images, labels, label):\n    return images.mean(dim=0)\n",
     "message": "not close"},
    {**T3, "kind": "wrong", "name": "sum instead of mean",
     "code": "def mean_image(images, labels, label):\n    return images[labels == label].sum(dim=0)\n",
     "message": "not close"},
    {**T3, "kind": "wrong", "name": "always the digits, arguments ignored",
     "code": "def mean_image(images, labels, label):\n    x, y = data.digits('train')\n    return x[y == label].mean(dim=0)\n",
     "message": "to have shape (3, 12, 12)"},
    {**T3, "kind": "wrong", "name": "keeps the batch dimension",
     "code": "def mean_image(images, labels, label):\n    return images[labels == label].mean(dim=0, keepdim=True)\n",
     "message": "shape"},
    {**T3, "kind": "right", "name": "masked sum divided by the count",
     "code": "def mean_image(images, labels, label):\n    mask = (labels == label).to(images.dtype)\n"
             "    return (images * mask[:, None, None, None]).sum(0) / mask.sum()\n"},

    # Task 4: balanced_sample(labels, k, generator)
    {**T4, "kind": "wrong", "name": "the global generator instead of the one passed in",
     "code": "def balanced_sample(labels, k, generator):\n    picked = []\n    for c in labels.unique():\n"
             "        positions = (labels == c).nonzero().flatten()\n        picked.append(positions[torch.randperm(len(positions))[:k]])\n"
             "    return torch.cat(picked)\n",
     "message": "same sample"},
    {**T4, "kind": "wrong", "name": "the first k of each class, no randomness",
     "code": "def balanced_sample(labels, k, generator):\n"
             "    return torch.cat([(labels == c).nonzero().flatten()[:k] for c in labels.unique()])\n",
     "message": "same sample"},
    {**T4, "kind": "wrong", "name": "with replacement (randint)",
     "code": "def balanced_sample(labels, k, generator):\n    picked = []\n    for c in labels.unique():\n"
             "        positions = (labels == c).nonzero().flatten()\n"
             "        picked.append(positions[torch.randint(len(positions), (k,), generator=generator)])\n"
             "    return torch.cat(picked)\n",
     "message": "without replacement"},
    {**T4, "kind": "wrong", "name": "k in total, not k per class",
     "code": "def balanced_sample(labels, k, generator):\n    return torch.randperm(len(labels), generator=generator)[:k]\n",
     "message": "k indices of each class"},
    {**T4, "kind": "right", "name": "sort by random keys within each class",
     "code": "def balanced_sample(labels, k, generator):\n    keys = torch.rand(len(labels), generator=generator)\n"
             "    out = []\n    for c in torch.unique(labels).tolist():\n        pos = torch.where(labels == c)[0]\n"
             "        out.append(pos[keys[pos].argsort()[:k]])\n    return torch.cat(out).long()\n"},

    # Task 5: load_first(names, root)
    {**T5, "kind": "wrong", "name": "catches every exception",
     "code": "def load_first(names, root):\n    for name in names:\n        try:\n"
             "            return name, data.torchvision_dataset(name, root=root, download=False)\n"
             "        except Exception:\n            continue\n    return 'digits', data.digits('all')\n",
     "message": "catch only data.DataUnavailable"},
    {**T5, "kind": "wrong", "name": "downloads (download left at its default)",
     "code": "def load_first(names, root):\n    for name in names:\n        try:\n"
             "            return name, data.torchvision_dataset(name, root=root)\n"
             "        except data.DataUnavailable:\n            continue\n    return 'digits', data.digits('all')\n",
     "message": "must not download"},
    {**T5, "kind": "wrong", "name": "only tries the first name",
     "code": "def load_first(names, root):\n    try:\n        return names[0], data.torchvision_dataset(names[0], root=root, download=False)\n"
             "    except data.DataUnavailable:\n        return 'digits', data.digits('all')\n",
     "message": "should try exactly those two"},
    {**T5, "kind": "wrong", "name": "no fallback: the error escapes",
     "code": "def load_first(names, root):\n    return names[0], data.torchvision_dataset(names[0], root=root, download=False)\n",
     "message": "let DataUnavailable escape"},
    {**T5, "kind": "wrong", "name": "tries every name, returns the last that loaded",
     "code": "def load_first(names, root):\n    found = None\n    for name in names:\n        try:\n"
             "            found = name, data.torchvision_dataset(name, root=root, download=False)\n"
             "        except data.DataUnavailable:\n            pass\n    return found or ('digits', data.digits('all'))\n",
     "message": "should try exactly those two"},
    {**T5, "kind": "right", "name": "errors collected, fallback after the loop",
     "code": "def load_first(names, root):\n    missing = []\n    for name in names:\n        try:\n"
             "            dataset = data.torchvision_dataset(name, root=root, download=False)\n"
             "        except data.DataUnavailable as err:\n            missing.append(err)\n        else:\n"
             "            return name, dataset\n    images, labels = data.digits('all')\n    return 'digits', (images, labels)\n"},
]
