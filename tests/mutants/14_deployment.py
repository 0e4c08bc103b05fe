"""Wrong and right answers for solutions/14_deployment.ipynb (format: tests/test_mutants.py)."""

_EXPORT = '''
def export_seq(model, example):
    return torch.export.export(model, (example,)DYN)
'''


def _export(dyn: str) -> str:
    return _EXPORT.replace("DYN", dyn)


_ROWSCALE = '''
class RowScaleExportable(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
BODY
'''


def _rowscale(body: str) -> str:
    return _ROWSCALE.replace("BODY", body)


_VALIDATE = '''
def validate_rows(payload):
    if not isinstance(payload, dict) or not isinstance(payload.get("rows"), list) or not payload["rows"]:
        raise BadRequest('send {"rows": [[age, income, score], ...]} with at least one row')
    rows = payload["rows"]
    if len(rows) @TOO_MANY@:
        raise BadRequest(f"{len(rows)} rows: send at most 100 per request", @STATUS@)
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 3:
            raise BadRequest(f"row {i} must be a list of 3 values [age, income, score]")
        for v in row:
            if @NUMBER@:
                raise BadRequest(f"row {i} holds {v!r}: send numbers")
            if @FINITE@:
                raise BadRequest(f"row {i} holds {v!r}: send finite numbers")
        age, income, score = row
        if @AGE@:
            raise BadRequest(f"row {i}: age must be a whole number in [0, 120], got {age}")
        if income < 0:
            raise BadRequest(f"row {i}: income must be >= 0, got {income}")
        if not 0 <= score <= 1:
            raise BadRequest(f"row {i}: score must lie in [0, 1], got {score}")
    return np.asarray(rows, dtype=np.float32)
'''
_VALID_OK = {
    "@TOO_MANY@": "> 100",
    "@STATUS@": "413",
    "@NUMBER@": "isinstance(v, bool) or not isinstance(v, (int, float))",
    "@FINITE@": "not math.isfinite(v)",
    "@AGE@": "age != int(age) or not 0 <= age <= 120",
}


def _validate(**changes) -> str:
    code = _VALIDATE
    for key, value in {**_VALID_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


_PCT = '''
def latency_summary(latencies):
    values = SORT
    out = {}
    for q in (50, 95, 99):
        VALUE
    return out
'''
_PCT_OK = {
    "SORT": "sorted(float(v) for v in latencies)",
    "VALUE": "pos = q / 100 * (len(values) - 1)\n        lo, hi = math.floor(pos), math.ceil(pos)\n"
    "        out[f'p{q}'] = values[lo] + (values[hi] - values[lo]) * (pos - lo)",
}


def _pct(**changes) -> str:
    code = _PCT
    for key, value in {**_PCT_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_LOAD = '''
def load_verified(path, expected_sha256):
BODY
'''


def _load(body: str) -> str:
    return _LOAD.replace("BODY", body)


_PARITY = '''
def ort_parity(model, session, inputs, atol=1e-5):
    max_diff = 0.0
    with torch.inference_mode():
        for x in LOOP:
            want = model(x).numpy()
            got = session.run(None, {"input": x.numpy()})[0]
            max_diff = max(max_diff, float(DIFF))
    return max_diff <= ATOL, max_diff
'''
_PARITY_OK = {"LOOP": "inputs", "DIFF": "np.abs(got - want).max()", "ATOL": "atol"}


def _parity(**changes) -> str:
    code = _PARITY
    for key, value in {**_PARITY_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_T1 = {"task": "t1-dynamic-export", "cell": "t1-code"}
_T2 = {"task": "t2-exportable", "cell": "t2-code"}
_T3 = {"task": "t3-validator", "cell": "t3-code"}
_T4 = {"task": "t4-percentiles", "cell": "t4-code"}
_T5 = {"task": "t5-hash-check", "cell": "t5-code"}
_T6 = {"task": "t6-parity", "cell": "t6-code"}

MUTANTS = [
    # Task 1: dynamic batch and sequence length
    {**_T1, "kind": "wrong", "name": "static export", "code": _export(""), "message": "refused shape"},
    {**_T1, "kind": "wrong", "name": "only the batch is dynamic",
     "code": _export(', dynamic_shapes={"tokens": {0: Dim("batch", min=1, max=64)}}'), "message": "refused shape"},
    {**_T1, "kind": "wrong", "name": "Dims without min/max",
     "code": _export(', dynamic_shapes={"tokens": {0: Dim("batch"), 1: Dim("seq")}}'), "message": "accepted a batch of 65"},
    {**_T1, "kind": "wrong", "name": "batch max too large",
     "code": _export(', dynamic_shapes={"tokens": {0: Dim("batch", min=1, max=1024), 1: Dim("seq", min=1, max=128)}}'),
     "message": "accepted a batch of 65"},
    {**_T1, "kind": "wrong", "name": "ranges swapped between the dims",
     "code": _export(', dynamic_shapes={"tokens": {0: Dim("seq", min=1, max=128), 1: Dim("batch", min=1, max=64)}}'),
     "message": "refused shape"},
    {**_T1, "kind": "right", "name": "positional dynamic_shapes tuple",
     "code": _export(', dynamic_shapes=({0: Dim("b", min=1, max=64), 1: Dim("s", min=1, max=128)},)')},
    # Task 2: an exportable RowScale
    {**_T2, "kind": "wrong", "name": "the original Python loop and if",
     "code": _rowscale("        rows = []\n        for row in x:\n            peak = row.abs().max()\n            if peak > 1:\n"
                       "                row = row / peak\n            rows.append(row)\n        return torch.stack(rows)"),
     "message": "dynamic batch failed"},
    {**_T2, "kind": "wrong", "name": "one peak for the whole batch",
     "code": _rowscale("        peak = x.abs().max()\n        return torch.where(peak > 1, x / peak, x)"), "message": "not close"},
    {**_T2, "kind": "wrong", "name": "clamp instead of scaling",
     "code": _rowscale("        return x.clamp(-1, 1)"), "message": "not close"},
    {**_T2, "kind": "wrong", "name": "signed max instead of absolute",
     "code": _rowscale("        peak = x.amax(dim=1, keepdim=True)\n        return torch.where(peak > 1, x / peak, x)"),
     "message": "not close"},
    {**_T2, "kind": "right", "name": "divide by the peak clamped at 1",
     "code": _rowscale("        return x / x.abs().amax(dim=1, keepdim=True).clamp_min(1.0)")},
    # Task 3: the validator
    {**_T3, "kind": "wrong", "name": "booleans pass as ints",
     "code": _validate(NUMBER="not isinstance(v, (int, float))"), "message": "accepted a boolean"},
    {**_T3, "kind": "wrong", "name": "no finiteness check (NaN slips through comparisons)",
     "code": _validate(FINITE="False"), "message": "mention 'finite'"},
    {**_T3, "kind": "wrong", "name": "too many rows answered 422",
     "code": _validate(STATUS="422"), "message": "status must be 413"},
    {**_T3, "kind": "wrong", "name": "off by one: 100 rows refused",
     "code": _validate(TOO_MANY=">= 100"), "message": "exactly 100 rows are allowed"},
    {**_T3, "kind": "wrong", "name": "age not checked for whole numbers",
     "code": _validate(AGE="not 0 <= age <= 120"), "message": "accepted age 30.5"},
    {**_T3, "kind": "right", "name": "type checks with numbers.Real, range checks on the array",
     "code": '''
import numbers


def validate_rows(payload):
    rows = payload.get("rows") if isinstance(payload, dict) else None
    if not isinstance(rows, list) or len(rows) == 0:
        raise BadRequest("payload must be {'rows': [...]} with at least one row", 422)
    if len(rows) > 100:
        raise BadRequest("too many rows: at most 100", 413)
    if any(not isinstance(r, list) or len(r) != 3 for r in rows):
        raise BadRequest("each row must hold 3 values: age, income, score", 422)
    flat = [v for r in rows for v in r]
    if any(type(v) is bool or not isinstance(v, numbers.Real) for v in flat):
        raise BadRequest("all values must be numbers", 422)
    arr = np.array(rows, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise BadRequest("all values must be finite", 422)
    if (arr[:, 0] % 1 != 0).any() or (arr[:, 0] < 0).any() or (arr[:, 0] > 120).any():
        raise BadRequest("age must be a whole number from 0 to 120", 422)
    if (arr[:, 1] < 0).any():
        raise BadRequest("income must not be negative", 422)
    if ((arr[:, 2] < 0) | (arr[:, 2] > 1)).any():
        raise BadRequest("score must be between 0 and 1", 422)
    return arr.astype(np.float32)
'''},
    # Task 4: percentiles
    {**_T4, "kind": "wrong", "name": "np.percentile (forbidden)",
     "code": "def latency_summary(latencies):\n    return {f'p{q}': float(np.percentile(latencies, q)) for q in (50, 95, 99)}",
     "message": "compute the percentiles yourself"},
    {**_T4, "kind": "wrong", "name": "nearest rank, index off by one",
     "code": _pct(VALUE="out[f'p{q}'] = values[min(int(q / 100 * len(values)), len(values) - 1)]"), "message": "expected p"},
    {**_T4, "kind": "wrong", "name": "unsorted values",
     "code": _pct(SORT="[float(v) for v in latencies]"), "message": "expected p"},
    {**_T4, "kind": "wrong", "name": "the mean for every percentile",
     "code": _pct(VALUE="out[f'p{q}'] = sum(values) / len(values)"), "message": "expected p"},
    {**_T4, "kind": "right", "name": "np.interp on the sorted array",
     "code": "def latency_summary(latencies):\n    v = np.sort(np.asarray(latencies, dtype=float))\n"
             "    return {f'p{q}': float(np.interp(q / 100 * (len(v) - 1), np.arange(len(v)), v)) for q in (50, 95, 99)}"},
    # Task 5: hash before loading
    {**_T5, "kind": "wrong", "name": "no hash check",
     "code": _load('    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])'), "message": "was accepted"},
    {**_T5, "kind": "wrong", "name": "session created before the check",
     "code": _load('    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])\n'
                   '    if hashlib.sha256(Path(path).read_bytes()).hexdigest() != expected_sha256:\n'
                   '        raise TamperedModel("hash mismatch")\n    return session'),
     "message": "InferenceSession was created"},
    {**_T5, "kind": "wrong", "name": "hash of the path, not of the bytes",
     "code": _load('    if hashlib.sha256(str(path).encode()).hexdigest() != expected_sha256:\n'
                   '        raise TamperedModel("hash mismatch")\n'
                   '    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])'),
     "message": "untouched model file was refused"},
    {**_T5, "kind": "wrong", "name": "hash of the first chunk only",
     "code": _load('    with open(path, "rb") as f:\n        digest = hashlib.sha256(f.read(256)).hexdigest()\n'
                   '    if digest != expected_sha256:\n        raise TamperedModel("hash mismatch")\n'
                   '    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])'),
     "message": "untouched model file was refused"},
    {**_T5, "kind": "wrong", "name": "ValueError instead of TamperedModel",
     "code": _load('    if hashlib.sha256(Path(path).read_bytes()).hexdigest() != expected_sha256:\n'
                   '        raise ValueError("hash mismatch")\n'
                   '    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])'),
     "message": "must raise TamperedModel"},
    {**_T5, "kind": "right", "name": "chunked hashing and hmac.compare_digest",
     "code": _load('    import hmac\n    h = hashlib.sha256()\n    with open(path, "rb") as f:\n'
                   '        for block in iter(lambda: f.read(64), b""):\n            h.update(block)\n'
                   '    if not hmac.compare_digest(h.hexdigest(), expected_sha256.lower()):\n'
                   '        raise TamperedModel(f"{path} does not match its recorded SHA-256")\n'
                   '    so = ort.SessionOptions()\n'
                   '    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])')},
    # Task 6: parity
    {**_T6, "kind": "wrong", "name": "only the first input", "code": _parity(LOOP="inputs[:1]"), "message": "max_diff"},
    {**_T6, "kind": "wrong", "name": "mean instead of max", "code": _parity(DIFF="np.abs(got - want).mean()"),
     "message": "max_diff"},
    {**_T6, "kind": "wrong", "name": "compares predicted classes only",
     "code": _parity(DIFF="(got.argmax(1) != want.argmax(1)).sum()"), "message": "max_diff"},
    {**_T6, "kind": "wrong", "name": "ignores atol", "code": _parity(ATOL="1e-5"), "message": "compare with the atol argument"},
    {**_T6, "kind": "wrong", "name": "relative difference", "code": _parity(DIFF="(np.abs(got - want) / np.abs(want)).max()"),
     "message": "max_diff"},
    {**_T6, "kind": "right", "name": "torch tensors, one concatenated comparison",
     "code": '''
def ort_parity(model, session, inputs, atol=1e-5):
    with torch.no_grad():
        diffs = [(torch.from_numpy(session.run(None, {"input": x.numpy()})[0]) - model(x)).abs().flatten() for x in inputs]
    max_diff = torch.cat(diffs).max().item()
    return bool(max_diff <= atol), float(max_diff)
'''},
]
