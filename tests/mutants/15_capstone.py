"""Wrong and right answers for solutions/15_capstone.ipynb (format: tests/test_mutants.py)."""

_T1 = {"task": "t1-stratified-split", "cell": "t1-code"}
_T2 = {"task": "t2-resume", "cell": "t2-code"}
_T3 = {"task": "t3-budget", "cell": "t3-code"}
_T4 = {"task": "t4-export", "cell": "t4-code"}
_T5 = {"task": "t5-client", "cell": "t5-code"}
_T6 = {"task": "t6-pytest", "cell": "t6-code"}

# ---------------------------------------------------------------- task 1: stratified split
_SPLIT = '''
def stratified_split(labels, val_fraction, seed):
    g = torch.Generator().manual_seed(seed)
    train, val = [], []
    for c in torch.unique(labels):
        idx = (labels == c).nonzero().squeeze(1)
        idx = idx[PERM]
        k = COUNT
        val.append(idx[:k])
        train.append(TRAIN)
    return torch.cat(train), torch.cat(val)
'''
_SPLIT_OK = {"PERM": "torch.randperm(len(idx), generator=g)", "COUNT": "round(val_fraction * len(idx))", "TRAIN": "idx[k:]"}


def _split(**changes) -> str:
    code = _SPLIT
    for key, value in {**_SPLIT_OK, **changes}.items():
        code = code.replace(key, value)
    return code


# ---------------------------------------------------------------- task 2: resume
_RESUME = '''
def resume(directory, total_epochs):
    model, optimizer, scheduler = new_run()
    manager = CheckpointManager(directory, keep_last=2)
    ckpt = manager.load(LOAD)
    history = fit_points(model, optimizer, scheduler, FIT)
    return model, history
'''
_RESUME_OK = {"LOAD": "model=model, optimizer=optimizer, scheduler=scheduler",
              "FIT": "epochs=total_epochs, checkpoint=manager, start_epoch=ckpt['epoch']"}


def _resume(**changes) -> str:
    code = _RESUME
    for key, value in {**_RESUME_OK, **changes}.items():
        code = code.replace(key, value)
    return code


# ---------------------------------------------------------------- task 4: export
_EXPORT = '''
def export_for_serving(model, path):
    was_training = model.training
    EVAL
    try:
        example = torch.randn(8, 2)
        torch.onnx.export(model, (example,), path, DYN, verbose=False EXTERNAL)
    finally:
        RESTORE
'''
_EXPORT_OK = {"EVAL": "model.eval()", "DYN": 'dynamic_shapes={"points": {0: Dim("batch", min=1, max=4096)}}',
              "EXTERNAL": ", external_data=False", "RESTORE": "model.train(was_training)"}


def _export(**changes) -> str:
    code = _EXPORT
    for key, value in {**_EXPORT_OK, **changes}.items():
        code = code.replace(key, value)
    return code


# ---------------------------------------------------------------- task 5: client
_CLIENT = '''
def predict_remote(url, points):
    limit = LIMIT
    labels = []
    with httpx.Client(timeout=30) as client:
        for start in range(0, len(points), limit):
            reply = client.post(url + "/predict", json={"inputs": points[start : start + limit].tolist()})
            ERRORS
            labels += reply.json()["labels"]
    return labels
'''
_CLIENT_OK = {
    "LIMIT": 'httpx.get(url + "/health", timeout=10).json()["spec"]["max_rows"]',
    "ERRORS": 'if 400 <= reply.status_code < 500:\n                raise ServiceError(reply.status_code, reply.json()["error"])',
}


def _client(**changes) -> str:
    code = _CLIENT
    for key, value in {**_CLIENT_OK, **changes}.items():
        code = code.replace(key, value)
    return code


# ---------------------------------------------------------------- task 6: pytest file
_FULL_COVER = '''
from chunking import chunks


def test_full_chunks():
    assert chunks([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]
'''


def _tests(body: str) -> str:
    return "TEST_CODE = '''\nimport pytest\n\nfrom chunking import chunks\n\n" + body + "\n'''\n"


_ALL_BUT_SIZE0 = '''
def test_order_and_sizes():
    assert chunks(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_empty():
    assert chunks([], 3) == []
'''

MUTANTS = [
    # Task 1: a stratified, seeded split
    {**_T1, "kind": "wrong", "name": "one random split of all indices (not per class)",
     "code": "def stratified_split(labels, val_fraction, seed):\n    g = torch.Generator().manual_seed(seed)\n"
             "    perm = torch.randperm(len(labels), generator=g)\n    k = round(val_fraction * len(labels))\n"
             "    return perm[k:], perm[:k]", "message": "split each class on its own"},
    {**_T1, "kind": "wrong", "name": "the first examples of each class (seed ignored)",
     "code": _split(PERM=":"), "message": "seeds 3 and 4 gave the same validation set"},
    {**_T1, "kind": "wrong", "name": "reseeds the global generator",
     "code": _split(PERM="torch.randperm(len(idx))").replace("g = torch.Generator().manual_seed(seed)", "torch.manual_seed(seed)"),
     "message": "changed the global random state"},
    {**_T1, "kind": "wrong", "name": "global RNG without a seed",
     "code": _split(PERM="torch.randperm(len(idx))"), "message": "global random state"},
    {**_T1, "kind": "wrong", "name": "train keeps every index (overlap)",
     "code": _split(TRAIN="idx"), "message": "overlap"},
    {**_T1, "kind": "wrong", "name": "int() truncates instead of round()",
     "code": _split(COUNT="int(val_fraction * len(idx))"), "message": "round("},
    {**_T1, "kind": "right", "name": "argsort of seeded uniform numbers, indices sorted",
     "code": "def stratified_split(labels, val_fraction, seed):\n    g = torch.Generator().manual_seed(seed)\n"
             "    in_val = torch.zeros(len(labels), dtype=torch.bool)\n"
             "    for c in labels.unique().tolist():\n        members = torch.where(labels == c)[0]\n"
             "        order = torch.rand(len(members), generator=g).argsort()\n"
             "        in_val[members[order[: round(val_fraction * len(members))]]] = True\n"
             "    return torch.where(~in_val)[0], torch.where(in_val)[0]"},
    # Task 2: resume exactly
    {**_T2, "kind": "wrong", "name": "loads only the model (fresh optimizer and scheduler)",
     "code": _resume(LOAD="model=model"), "message": "weights differ"},
    {**_T2, "kind": "wrong", "name": "does not restore the random state",
     "code": _resume(LOAD="model=model, optimizer=optimizer, scheduler=scheduler, restore_rng=False"), "message": "weights differ"},
    {**_T2, "kind": "wrong", "name": "counts the remaining epochs from 1",
     "code": _resume(FIT="epochs=total_epochs - ckpt['epoch'], checkpoint=manager"), "message": "history.epochs must be [4, 5, 6]"},
    {**_T2, "kind": "wrong", "name": "does not keep saving checkpoints",
     "code": _resume(FIT="epochs=total_epochs, start_epoch=ckpt['epoch']"), "message": "keeps saving"},
    {**_T2, "kind": "wrong", "name": "trains from scratch instead of resuming",
     "code": "def resume(directory, total_epochs):\n    model, optimizer, scheduler = new_run()\n"
             "    return model, fit_points(model, optimizer, scheduler, epochs=total_epochs)", "message": "weights differ"},
    {**_T2, "kind": "right", "name": "own objects, the latest path named explicitly",
     "code": "def resume(directory, total_epochs):\n    model = MLP([2, 64, 64, 3])\n"
             "    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)\n"
             "    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=TOTAL)\n"
             "    manager = CheckpointManager(directory)\n"
             "    done = manager.load(manager.latest(), model=model, optimizer=optimizer, scheduler=scheduler)['epoch']\n"
             "    history = fit(model, points_train, points_val, nn.CrossEntropyLoss(), optimizer, epochs=total_epochs, device='cpu',\n"
             "                  scheduler=scheduler, metrics={'acc': accuracy}, progress=False, checkpoint=manager, start_epoch=done)\n"
             "    return model, history"},
    # Task 3: compress to a budget
    {**_T3, "kind": "wrong", "name": "80% unstructured pruning (zeros stored densely)",
     "code": "def compress_for_budget(model, train_loader):\n    small = copy.deepcopy(model)\n"
             "    for m in small:\n        if isinstance(m, nn.Linear):\n"
             "            prune.l1_unstructured(m, 'weight', amount=0.8)\n            prune.remove(m, 'weight')\n"
             "    return small", "message": "zeros in dense tensors still count"},
    {**_T3, "kind": "wrong", "name": "float16 copy",
     "code": "def compress_for_budget(model, train_loader):\n    return copy.deepcopy(model).half()", "message": "budget 30 %"},
    {**_T3, "kind": "wrong", "name": "a small model that was never trained",
     "code": "def compress_for_budget(model, train_loader):\n    return MLP([2, 16, 16, 3])", "message": "more than 0.03 below"},
    {**_T3, "kind": "wrong", "name": "prunes the given model in place",
     "code": "def compress_for_budget(model, train_loader):\n    for m in list(model)[:-1]:\n"
             "        if isinstance(m, nn.Linear):\n            prune.ln_structured(m, 'weight', amount=0.75, n=2, dim=0)\n"
             "    return copy.deepcopy(MLP([2, 64, 64, 3]))", "message": "the model given was changed"},
    {**_T3, "kind": "right", "name": "int8 dynamic quantization (torchao)",
     "code": "def compress_for_budget(model, train_loader):\n"
             "    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_\n"
             "    small = copy.deepcopy(model)\n    quantize_(small, Int8DynamicActivationInt8WeightConfig())\n    return small"},
    {**_T3, "kind": "right", "name": "a small MLP distilled from the base's labels",
     "code": "def compress_for_budget(model, train_loader):\n    torch.manual_seed(0)\n    small = MLP([2, 48, 48, 3])\n"
             "    opt = torch.optim.AdamW(small.parameters(), lr=1e-2)\n"
             "    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=30)\n"
             "    fit(small, train_loader, None, nn.CrossEntropyLoss(), opt, epochs=30, device='cpu', scheduler=sched, progress=False)\n"
             "    return small.eval()"},
    # Task 4: export for serving
    {**_T4, "kind": "wrong", "name": "static batch", "code": _export(DYN="dynamo=True"), "message": "refused a batch of 1"},
    {**_T4, "kind": "wrong", "name": "a .pt2 (torch.export.save) instead of ONNX",
     "code": "def export_for_serving(model, path):\n    was_training = model.training\n    model.eval()\n"
             "    ep = torch.export.export(model, (torch.randn(8, 2),), dynamic_shapes={'points': {0: Dim('batch', min=1, max=4096)}})\n"
             "    torch.export.save(ep, path)\n    model.train(was_training)", "message": "cannot load"},
    {**_T4, "kind": "wrong", "name": "weights in a second file",
     "code": _export(EXTERNAL=""), "message": "external_data=False"},
    {**_T4, "kind": "wrong", "name": "leaves the model in eval mode",
     "code": _export(RESTORE="pass"), "message": "left in eval mode"},
    {**_T4, "kind": "wrong", "name": "always calls model.train() afterwards (an eval-mode model comes back training)",
     "code": _export(RESTORE="model.train()"), "message": "came back in training mode"},
    {**_T4, "kind": "right", "name": "exports an eval-mode copy with a positional dynamic_shapes tuple",
     "code": "def export_for_serving(model, path):\n    frozen = copy.deepcopy(model).eval()\n"
             "    torch.onnx.export(frozen, (torch.rand(4, 2),), str(path), dynamic_shapes=({0: Dim('n', min=1, max=5000)},),\n"
             "                      verbose=False, external_data=False)"},
    # Task 5: a client for the service
    {**_T5, "kind": "wrong", "name": "everything in one request",
     "code": _client(LIMIT="len(points)"), "message": "send at most the max_rows"},
    {**_T5, "kind": "wrong", "name": "a hard-coded chunk of 8",
     "code": _client(LIMIT="8"), "message": "send at most the max_rows"},
    {**_T5, "kind": "wrong", "name": "one request per point",
     "code": _client(LIMIT="1"), "message": "send chunks of max_rows"},
    {**_T5, "kind": "wrong", "name": "ignores the status code",
     "code": _client(ERRORS="pass"), "message": "raise ServiceError(status, message), not KeyError"},
    {**_T5, "kind": "wrong", "name": "the whole body as the message",
     "code": _client(ERRORS='if reply.status_code >= 400:\n                raise ServiceError(reply.status_code, reply.text)'),
     "message": "the service's own message"},
    {**_T5, "kind": "right", "name": "torch.split and raise_for_status",
     "code": "def predict_remote(url, points):\n    spec = httpx.get(url + '/health').json()['spec']\n    out = []\n"
             "    for part in torch.split(points, spec['max_rows']):\n"
             "        r = httpx.post(url + '/predict', json={'inputs': part.tolist()}, timeout=30)\n"
             "        try:\n            r.raise_for_status()\n        except httpx.HTTPStatusError:\n"
             "            raise ServiceError(r.status_code, r.json()['error']) from None\n"
             "        out.extend(int(v) for v in r.json()['labels'])\n    return out"},
    # Task 6: a pytest file that catches planted bugs
    {**_T6, "kind": "wrong", "name": "tests only full chunks", "code": "TEST_CODE = '''" + _FULL_COVER + "'''",
     "message": "drops a last, shorter chunk"},
    {**_T6, "kind": "wrong", "name": "no size-0 test", "code": _tests(_ALL_BUT_SIZE0), "message": "accepts size 0"},
    {**_T6, "kind": "wrong", "name": "too strict: expects tuples",
     "code": _tests("def test_tuples():\n    assert chunks([1, 2, 3], 2) == [(1, 2), (3,)]"), "message": "fail on the correct chunks"},
    {**_T6, "kind": "wrong", "name": "no test functions",
     "code": "TEST_CODE = 'from chunking import chunks\\n\\nassert chunks([1], 1) == [[1]]\\n'", "message": "found no tests"},
    {**_T6, "kind": "wrong", "name": "a syntax error",
     "code": _tests("def test_broken(:\n    pass"), "message": "could not run"},
    {**_T6, "kind": "right", "name": "plain loops and pytest.raises",
     "code": _tests("def test_against_a_reference():\n    for n in range(0, 12):\n        for size in range(1, 6):\n"
                    "            rows = [f'r{i}' for i in range(n)]\n"
                    "            want = [rows[i : i + size] for i in range(0, n, size)]\n"
                    "            assert chunks(rows, size) == want\n\n\n"
                    "def test_refuses_zero():\n    with pytest.raises(ValueError):\n        chunks([1], 0)")},
]
