"""Wrong and right answers for solutions/07_checkpoints.ipynb (format: tests/test_mutants.py)."""

_SAVE = '''def save_checkpoint(path, model, optimizer, scheduler, epoch, metrics):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": int(epoch), "metrics": dict(metrics)}, path)

'''
_LOAD = '''def load_checkpoint(path, model, optimizer, scheduler):
    ckpt = torch.load(path, LOAD_ARGS)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt["epoch"], ckpt["metrics"]
'''


def _t1(load_args='map_location="cpu", weights_only=True', load=None, save=_SAVE):
    return save + (load or _LOAD.replace("LOAD_ARGS", load_args))


_T2_HEAD = 'def strip_prefixes(state_dict, prefixes=("module.", "_orig_mod.")):\n'

_T3 = '''def atomic_save(obj, path):
    path = Path(path)
    tmp = TMP
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            FLUSH
            FSYNC
        os.replace(tmp, path)
    except BaseException:
        CLEANUP
        raise
'''


def _t3(tmp='path.with_name(f".{path.name}.tmp")', flush="f.flush()", fsync="os.fsync(f.fileno())",
        cleanup="tmp.unlink(missing_ok=True)"):
    return _T3.replace("TMP", tmp).replace("FLUSH", flush).replace("FSYNC", fsync).replace("CLEANUP", cleanup)


_SHA = '''import hashlib


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


'''
_T5_SAVE = '''def save_run(path, model, optimizer, generator, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(), "torch_rng": torch.get_rng_state(), "epoch": int(epoch)}, path)

'''
_T5_LOAD = '''def load_run(path, model, optimizer, generator):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return state["epoch"]
'''

_T6_HEAD = "def first_nonfinite_layer(model, x):\n"
_T6_RIGHT = _T6_HEAD + '''    found = []

    def make_hook(name):
        def hook(module, inputs, output):
            if not found and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
                found.append(name)
        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return found[0] if found else None
'''

MUTANTS = [
    # ---- Task 1: full checkpoint, loaded safely
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "weights_only=False",
     "code": _t1('map_location="cpu", weights_only=False'), "message": "weights_only=True"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "torch.load(path) relying on the default",
     "code": _t1('map_location="cpu"'), "message": "weights_only=True spelled out"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "no map_location",
     "code": _t1("weights_only=True"), "message": "map_location='cpu'"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "in-memory deepcopy instead of the file",
     "code": '''import copy
_CACHE = {}


def save_checkpoint(path, model, optimizer, scheduler, epoch, metrics):
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": int(epoch), "metrics": dict(metrics)}
    torch.save(state, path)
    _CACHE["last"] = copy.deepcopy(state)


def load_checkpoint(path, model, optimizer, scheduler):
    ckpt = _CACHE["last"]
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt["epoch"], ckpt["metrics"]
''', "message": "torch.load"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "optimizer not restored",
     "code": _t1(load=_LOAD.replace("LOAD_ARGS", 'map_location="cpu", weights_only=True').replace(
         '    optimizer.load_state_dict(ckpt["optimizer"])\n', '')), "message": "momentum buffer"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "wrong", "name": "unsafe file swallowed (returns None on error)",
     "code": _SAVE + '''def load_checkpoint(path, model, optimizer, scheduler):
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    return ckpt["epoch"], ckpt["metrics"]
''', "message": "should raise UnpicklingError"},
    {"task": "t1-full-checkpoint", "cell": "t1-code", "kind": "right", "name": "file object, torch.device('cpu'), strict load",
     "code": '''def save_checkpoint(path, model, optimizer, scheduler, epoch, metrics):
    ckpt = dict(model=model.state_dict(), optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict(),
                epoch=epoch, metrics={k: float(v) for k, v in metrics.items()})
    with open(path, "wb") as f:
        torch.save(ckpt, f)


def load_checkpoint(path, model, optimizer, scheduler):
    ckpt = torch.load(Path(path), map_location=torch.device("cpu"), weights_only=True)
    model.load_state_dict(ckpt["model"], strict=True)
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    return (ckpt["epoch"], ckpt["metrics"])
'''},
    # ---- Task 2: strip prefixes
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "wrong", "name": "consume_prefix_in_state_dict_if_present",
     "code": _T2_HEAD + '''    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present
    out = dict(state_dict)
    for p in prefixes:
        consume_prefix_in_state_dict_if_present(out, p)
    return out
''', "message": "does not allow torch.nn.modules.utils.consume_prefix_in_state_dict_if_present"},
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "wrong", "name": "one pass, each prefix once",
     "code": _T2_HEAD + '''    out = {}
    for key, value in state_dict.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out
''', "message": "either order, repeated"},
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "wrong", "name": "str.replace everywhere",
     "code": _T2_HEAD + '''    out = {}
    for key, value in state_dict.items():
        for prefix in prefixes:
            key = key.replace(prefix, "")
        out[key] = value
    return out
''', "message": "one in the middle"},
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "wrong", "name": "collisions silently overwrite",
     "code": _T2_HEAD + '''    out = {}
    for key, value in state_dict.items():
        changed = True
        while changed:
            changed = False
            for prefix in prefixes:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out
''', "message": "should raise ValueError"},
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "wrong", "name": "changes the input in place",
     "code": _T2_HEAD + '''    for key in list(state_dict):
        new = key
        while any(new.startswith(p) for p in prefixes):
            new = new[len(next(p for p in prefixes if new.startswith(p))):]
        if new != key:
            if new in state_dict:
                raise ValueError(f"duplicate key {new}")
            state_dict[new] = state_dict.pop(key)
    return state_dict
''', "message": "must not change its input"},
    {"task": "t2-strip-prefixes", "cell": "t2-code", "kind": "right", "name": "regex-free recursion",
     "code": _T2_HEAD + '''    def strip(key):
        for p in prefixes:
            if key.startswith(p):
                return strip(key[len(p):])
        return key

    out = {}
    for key, value in state_dict.items():
        new = strip(key)
        if new in out:
            raise ValueError(f"duplicate key after stripping: {new}")
        out[new] = value
    return out
'''},
    # ---- Task 3: atomic save that reaches the disk
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "wrong", "name": "no fsync",
     "code": _t3(fsync="pass"), "message": "os.fsync was not called on the temporary file"},
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "wrong", "name": "fsync of the folder, not the file",
     "code": _t3(fsync="_fd = os.open(path.parent, os.O_RDONLY); os.fsync(_fd); os.close(_fd)"),
     "message": "os.fsync was not called on the temporary file"},
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "wrong", "name": "fsync before writing",
     "code": _T3.replace("            torch.save(obj, f)\n            FLUSH\n            FSYNC\n",
                         "            os.fsync(f.fileno())\n            torch.save(obj, f)\n            f.flush()\n").replace(
         "TMP", 'path.with_name(f".{path.name}.tmp")').replace("CLEANUP", "tmp.unlink(missing_ok=True)"),
     "message": "call f.flush() before os.fsync"},
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "wrong", "name": "temporary file in /tmp",
     "code": _t3(tmp='Path(tempfile.gettempdir()) / f"l0607-{path.name}.tmp"').replace(
         "def atomic_save", "import tempfile\n\n\ndef atomic_save"), "message": "same folder"},
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "wrong", "name": "no clean-up after a crash",
     "code": _t3(cleanup="pass"), "message": "delete the temporary file"},
    {"task": "t3-atomic-save", "cell": "t3-code", "kind": "right", "name": "mkstemp in the folder, fsync via os.fdopen",
     "code": '''import tempfile


def atomic_save(obj, path):
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(fd)
        os.replace(name, path)
    except BaseException:
        if os.path.exists(name):
            os.remove(name)
        raise
'''},
    # ---- Task 4: hash check and weights_only
    {"task": "t4-hash", "cell": "t4-code", "kind": "wrong", "name": "hash trusted, weights_only=False",
     "code": _SHA + '''def verified_load(path, expected_sha256):
    if sha256_of(path) != expected_sha256:
        raise ValueError("SHA-256 mismatch")
    return torch.load(path, map_location="cpu", weights_only=False)
''', "message": "weights_only=True"},
    {"task": "t4-hash", "cell": "t4-code", "kind": "wrong", "name": "load first, then compare",
     "code": _SHA + '''def verified_load(path, expected_sha256):
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if sha256_of(path) != expected_sha256:
        raise ValueError("SHA-256 mismatch")
    return obj
''', "message": "before calling torch.load"},
    {"task": "t4-hash", "cell": "t4-code", "kind": "wrong", "name": "hash of the loaded tensors, not the bytes",
     "code": '''import hashlib


def sha256_of(path):
    obj = torch.load(path, weights_only=True)
    return hashlib.sha256(repr(obj).encode()).hexdigest()


def verified_load(path, expected_sha256):
    if sha256_of(path) != expected_sha256:
        raise ValueError("SHA-256 mismatch")
    return torch.load(path, map_location="cpu", weights_only=True)
''', "message": "sha256_of(file)"},
    {"task": "t4-hash", "cell": "t4-code", "kind": "wrong", "name": "wrong message",
     "code": _SHA + '''def verified_load(path, expected_sha256):
    if sha256_of(path) != expected_sha256:
        raise ValueError("checksum differs")
    return torch.load(path, map_location="cpu", weights_only=True)
''', "message": "should contain 'SHA-256 mismatch'"},
    {"task": "t4-hash", "cell": "t4-code", "kind": "right", "name": "hashlib.file_digest, hmac.compare_digest",
     "code": '''import hashlib
import hmac


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verified_load(path, expected_sha256):
    got = sha256_of(path)
    if not hmac.compare_digest(got, expected_sha256.strip().lower()):
        raise ValueError(f"SHA-256 mismatch: {got} != {expected_sha256}")
    return torch.load(path, weights_only=True, map_location="cpu")
'''},
    # ---- Task 5: exact resume with the loader's generator
    {"task": "t5-exact-resume", "cell": "t5-code", "kind": "wrong", "name": "loader generator not saved",
     "code": _T5_SAVE + _T5_LOAD.replace('    generator.set_state(state["generator"])\n', ''),
     "message": "generator.set_state"},
    {"task": "t5-exact-resume", "cell": "t5-code", "kind": "wrong", "name": "global RNG not restored",
     "code": _T5_SAVE + _T5_LOAD.replace('    torch.set_rng_state(state["torch_rng"])\n', ''),
     "message": "torch.get_rng_state"},
    {"task": "t5-exact-resume", "cell": "t5-code", "kind": "wrong", "name": "optimizer not restored",
     "code": _T5_SAVE + _T5_LOAD.replace('    optimizer.load_state_dict(state["optimizer"])\n', ''),
     "message": "momentum"},
    {"task": "t5-exact-resume", "cell": "t5-code", "kind": "wrong", "name": "kept in memory with deepcopy",
     "code": '''import copy
_RUNS = {}


def save_run(path, model, optimizer, generator, epoch):
    state = {"model": copy.deepcopy(model.state_dict()), "optimizer": copy.deepcopy(optimizer.state_dict()),
             "generator": generator.get_state(), "torch_rng": torch.get_rng_state(), "epoch": epoch}
    torch.save(state, path)
    _RUNS["last"] = state


def load_run(path, model, optimizer, generator):
    state = _RUNS["last"]
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return state["epoch"]
''', "message": "torch.load"},
    {"task": "t5-exact-resume", "cell": "t5-code", "kind": "right", "name": "nested dict, map_location, file object",
     "code": '''def save_run(path, model, optimizer, generator, epoch):
    with open(path, "wb") as f:
        torch.save({"state": {"model": model.state_dict(), "opt": optimizer.state_dict()},
                    "rng": {"loader": generator.get_state(), "global": torch.get_rng_state()},
                    "epoch": epoch}, f)


def load_run(path, model, optimizer, generator):
    with open(path, "rb") as f:
        ckpt = torch.load(f, weights_only=True, map_location="cpu")
    model.load_state_dict(ckpt["state"]["model"])
    optimizer.load_state_dict(ckpt["state"]["opt"])
    generator.set_state(ckpt["rng"]["loader"])
    torch.set_rng_state(ckpt["rng"]["global"])
    return int(ckpt["epoch"])
'''},
    # ---- Task 6: first non-finite layer
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "wrong", "name": "last bad layer, not the first",
     "code": _T6_RIGHT.replace("if not found and isinstance", "if isinstance").replace("found[0] if found", "found[-1] if found"),
     "message": "first_nonfinite_layer(buggy model)"},
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "wrong", "name": "hooks left on the model",
     "code": _T6_RIGHT.replace("            h.remove()", "            pass"), "message": "remove every hook"},
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "wrong", "name": "order of named_modules instead of execution",
     "code": _T6_HEAD + '''    bad = set()

    def make_hook(name):
        def hook(module, inputs, output):
            if isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
                bad.add(name)
        return hook

    handles = [m.register_forward_hook(make_hook(n)) for n, m in model.named_modules() if n]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return next((n for n, _ in model.named_modules() if n in bad), None)
''', "message": "execution order"},
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "wrong", "name": "gradients on",
     "code": _T6_RIGHT.replace("        with torch.no_grad():\n            model(x)", "        model(x)"),
     "message": "torch.no_grad()"},
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "wrong", "name": "no try/finally",
     "code": _T6_RIGHT.replace('''    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()''', '''    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()'''), "message": "also when model(x) raises"},
    {"task": "t6-nan-layer", "cell": "t6-code", "kind": "right", "name": "global hook list, isnan|isinf",
     "code": _T6_HEAD + '''    order = []
    handles = []
    for name, module in model.named_modules():
        if name:
            handles.append(module.register_forward_hook(
                lambda mod, inp, out, name=name: order.append(name)
                if torch.is_tensor(out) and (out.isnan().any() or out.isinf().any()) else None))
    try:
        with torch.no_grad():
            model(x)
    finally:
        while handles:
            handles.pop().remove()
    return order[0] if order else None
'''},
]
