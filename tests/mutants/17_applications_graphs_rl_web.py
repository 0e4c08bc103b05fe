"""Wrong and right answers for solutions/17_applications_graphs_rl_web.ipynb (format: tests/test_mutants.py)."""

_NORM = '''
def weighted_gcn_matrix(edge_index, edge_weight, num_nodes):
    a = torch.zeros(num_nodes, num_nodes)
    i, j = edge_index
    a[i, j] = WEIGHT
BACK
    LOOPS
    DEG
    d_inv_sqrt = deg.rsqrt()
    return SCALE
'''
_NORM_OK = {
    "WEIGHT": "edge_weight.float()",
    "BACK": "    a[j, i] = edge_weight.float()",
    "LOOPS": "a = a + torch.eye(num_nodes)",
    "DEG": "deg = a.sum(dim=1)",
    "SCALE": "d_inv_sqrt[:, None] * a * d_inv_sqrt[None, :]",
}


def _norm(**changes) -> str:
    code = _NORM
    for key, value in {**_NORM_OK, **changes}.items():
        code = code.replace(key, value)
    return code


_EPS = '''
def epsilon_greedy(q_values, epsilon, generator):
    b, a = q_values.shape
    BODY
'''


def _eps(body: str) -> str:
    return _EPS.replace("BODY", body)


_DDQN = '''
def double_dqn_target(reward, next_obs, terminated, online, target, gamma=0.99):
    with torch.no_grad():
        BODY
'''


def _ddqn(body: str) -> str:
    return _DDQN.replace("BODY", body)


MUTANTS = [
    # --- Task 1: the weighted normalised adjacency ---------------------------------------------
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "no self-loops",
     "code": _norm(LOOPS="pass"), "message": "add the self-loops"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "degree of A, not of A + I",
     "code": _norm(LOOPS="deg = a.sum(dim=1)\n    a = a + torch.eye(num_nodes)", DEG="pass"),
     "message": "count its self-loop"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "one direction per edge only",
     "code": _norm(BACK=""), "message": "both ways"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "row normalisation D^-1 (A + I)",
     "code": _norm(SCALE="a / deg[:, None]"), "message": "symmetric"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "weights ignored (the lesson's unweighted graph)",
     "code": _norm(WEIGHT="1.0", BACK="    a[j, i] = 1.0"), "message": "ignores the edge weights"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "weight squared (sqrt of degree applied to the weights)",
     "code": _norm(WEIGHT="edge_weight.float() ** 2", BACK="    a[j, i] = edge_weight.float() ** 2"), "message": "not close"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "wrong", "name": "float64 result",
     "code": _norm(SCALE="(d_inv_sqrt[:, None] * a * d_inv_sqrt[None, :]).double()"), "message": "dtype"},
    {"task": "t1-weighted-norm", "cell": "t1-code", "kind": "right", "name": "index_put_ with accumulate, diag_embed of degrees",
     "code": '''
def weighted_gcn_matrix(edge_index, edge_weight, num_nodes):
    rows = torch.cat([edge_index[0], edge_index[1], torch.arange(num_nodes)])
    cols = torch.cat([edge_index[1], edge_index[0], torch.arange(num_nodes)])
    vals = torch.cat([edge_weight, edge_weight, torch.ones(num_nodes)]).float()
    a = torch.zeros(num_nodes, num_nodes).index_put_((rows, cols), vals, accumulate=True)
    d = torch.diag(a.sum(1) ** -0.5)
    return d @ a @ d
'''},

    # --- Task 2: message passing ----------------------------------------------------------------
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "out[dst] += (repeated targets lost)",
     "code": '''
def aggregate(h, src, dst, weight):
    out = torch.zeros_like(h)
    out[dst] += weight[:, None] * h[src]
    return out
''', "message": "repeated targets"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "messages sent the wrong way",
     "code": '''
def aggregate(h, src, dst, weight):
    return torch.zeros_like(h).index_add_(0, src, weight[:, None] * h[dst])
''', "message": "wrong way"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "weights ignored",
     "code": '''
def aggregate(h, src, dst, weight):
    return torch.zeros_like(h).index_add_(0, dst, h[src])
''', "message": "edge weights are missing"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "a sparse matrix product (forbidden)",
     "code": '''
def aggregate(h, src, dst, weight):
    n = h.shape[0]
    adj = torch.sparse_coo_tensor(torch.stack([dst, src]), weight, (n, n))
    return torch.sparse.mm(adj, h)
''', "message": "does not allow torch.sparse_coo_tensor"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "a dense adjacency and @ (forbidden)",
     "code": '''
def aggregate(h, src, dst, weight):
    n = h.shape[0]
    adj = torch.zeros(n, n)
    adj.index_put_((dst, src), weight, accumulate=True)
    return adj @ h
''', "message": "does not allow torch.Tensor.__matmul__"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "a dense adjacency and F.linear (forbidden)",
     "code": '''
def aggregate(h, src, dst, weight):
    n = h.shape[0]
    adj = torch.zeros(n, n).index_put_((dst, src), weight, accumulate=True)
    return torch.nn.functional.linear(adj, h.T)  # adj @ h without @
''', "message": "does not allow torch.nn.functional.linear"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "wrong", "name": "one row per node that receives something",
     "code": '''
def aggregate(h, src, dst, weight):
    return torch.zeros(int(dst.max()) + 1, h.shape[1]).index_add_(0, dst, weight[:, None] * h[src])
''', "message": "one row per node"},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "right", "name": "scatter_add_ with an expanded index",
     "code": '''
def aggregate(h, src, dst, weight):
    msg = h[src] * weight.unsqueeze(1)
    return torch.zeros_like(h).scatter_add_(0, dst.unsqueeze(1).expand_as(msg), msg)
'''},
    {"task": "t2-aggregate", "cell": "t2-code", "kind": "right", "name": "index_put_ with accumulate=True",
     "code": '''
def aggregate(h, src, dst, weight):
    return torch.zeros_like(h).index_put_((dst,), weight[:, None] * h[src], accumulate=True)
'''},

    # --- Task 3: the Double DQN target ----------------------------------------------------------
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "plain DQN target",
     "code": _ddqn("return reward + gamma * (~terminated).float() * target(next_obs).max(dim=1).values"),
     "message": "plain DQN target"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "online network for choice and value",
     "code": _ddqn("return reward + gamma * (~terminated).float() * online(next_obs).max(dim=1).values"),
     "message": "both the choice and the value"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "no terminal masking",
     "code": _ddqn("best = online(next_obs).argmax(1, keepdim=True)\n        "
                   "return reward + gamma * target(next_obs).gather(1, best).squeeze(1)"),
     "message": "no future"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "roles swapped (target chooses, online evaluates)",
     "code": _ddqn("best = target(next_obs).argmax(1, keepdim=True)\n        "
                   "return reward + gamma * (~terminated).float() * online(next_obs).gather(1, best).squeeze(1)"),
     "message": "Double DQN targets"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "gradient attached to the target",
     "code": '''
def double_dqn_target(reward, next_obs, terminated, online, target, gamma=0.99):
    best = online(next_obs).argmax(1, keepdim=True)
    return reward + gamma * (~terminated).float() * target(next_obs).gather(1, best).squeeze(1)
''', "message": "still attached"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "wrong", "name": "gamma ignored (0.99 hard-coded)",
     "code": _ddqn("best = online(next_obs).argmax(1, keepdim=True)\n        "
                   "return reward + 0.99 * (~terminated).float() * target(next_obs).gather(1, best).squeeze(1)"),
     "message": "not close"},
    {"task": "t3-double-dqn", "cell": "t3-code", "kind": "right", "name": "torch.where and fancy indexing",
     "code": '''
@torch.no_grad()
def double_dqn_target(reward, next_obs, terminated, online, target, gamma=0.99):
    a = online(next_obs).argmax(dim=1)
    v = target(next_obs)[torch.arange(len(a)), a]
    return torch.where(terminated, reward, reward + gamma * v)
'''},

    # --- Task 4: epsilon-greedy -----------------------------------------------------------------
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "wrong", "name": "random action never the greedy one",
     "code": _eps("greedy = q_values.argmax(1)\n    explore = torch.rand(b, generator=generator) < epsilon\n    "
                  "other = (greedy + 1 + torch.randint(a - 1, (b,), generator=generator)) % a\n    "
                  "return torch.where(explore, other, greedy)"),
     "message": "greedy one included"},
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "wrong", "name": "epsilon taken as the greedy probability",
     "code": _eps("explore = torch.rand(b, generator=generator) < 1 - epsilon\n    "
                  "return torch.where(explore, torch.randint(a, (b,), generator=generator), q_values.argmax(1))"),
     "message": "epsilon=0"},
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "wrong", "name": "one coin for the whole batch",
     "code": _eps("if torch.rand((), generator=generator) < epsilon:\n        "
                  "return torch.randint(a, (b,), generator=generator)\n    return q_values.argmax(1)"),
     "message": "one coin per row"},
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "wrong", "name": "global random state instead of the generator",
     "code": _eps("explore = torch.rand(b) < epsilon\n    "
                  "return torch.where(explore, torch.randint(a, (b,)), q_values.argmax(1))"),
     "message": "draw every random number from `generator`"},
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "wrong", "name": "float actions",
     "code": _eps("explore = torch.rand(b, generator=generator) < epsilon\n    "
                  "return torch.where(explore, torch.randint(a, (b,), generator=generator), q_values.argmax(1)).float()"),
     "message": "dtype"},
    {"task": "t4-epsilon-greedy", "cell": "t4-code", "kind": "right", "name": "multinomial over a mixed distribution",
     "code": _eps("probs = torch.full((b, a), epsilon / a)\n    "
                  "probs[torch.arange(b), q_values.argmax(1)] += 1 - epsilon\n    "
                  "return torch.multinomial(probs, 1, generator=generator).squeeze(1)"),
     },

    # --- Task 5: canvas RGBA to NCHW ------------------------------------------------------------
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "wrong", "name": "reshape instead of transpose",
     "code": '''
def imagedata_to_nchw(rgba):
    h, w, _ = rgba.shape
    return (rgba[:, :, :3].astype(np.float32) / 255).reshape(1, 3, h, w)
''', "message": "transpose"},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "wrong", "name": "alpha kept",
     "code": '''
def imagedata_to_nchw(rgba):
    return (rgba.astype(np.float32) / 255).transpose(2, 0, 1)[None]
''', "message": "drop the alpha channel"},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "wrong", "name": "bytes not scaled",
     "code": '''
def imagedata_to_nchw(rgba):
    return rgba[:, :, :3].astype(np.float32).transpose(2, 0, 1)[None]
''', "message": "divide the bytes by 255"},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "wrong", "name": "float64 (NumPy's default)",
     "code": '''
def imagedata_to_nchw(rgba):
    return (rgba[:, :, :3] / 255).transpose(2, 0, 1)[None]
''', "message": "float32"},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "wrong", "name": "height and width swapped",
     "code": '''
def imagedata_to_nchw(rgba):
    return (rgba[:, :, :3].astype(np.float32) / 255).transpose(2, 1, 0)[None]
''', "message": "expected shape (1, 3, 5, 7)"},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "right", "name": "through torch.permute",
     "code": '''
def imagedata_to_nchw(rgba):
    t = torch.from_numpy(rgba[..., :3].copy()).permute(2, 0, 1).unsqueeze(0)
    return (t.float() / 255).contiguous().numpy()
'''},
    {"task": "t5-imagedata", "cell": "t5-code", "kind": "right", "name": "np.moveaxis, no copy",
     "code": '''
def imagedata_to_nchw(rgba):
    return np.moveaxis(rgba[..., :3], -1, 0)[np.newaxis].astype(np.float32) / np.float32(255)
'''},

    # --- Task 6: web parity ---------------------------------------------------------------------
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "wrong", "name": "reshaped to the reference's shape",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if "error" in result:
        raise ValueError(result["error"])
    got = np.asarray(result["data"], dtype=np.float64).reshape(reference.shape)
    d = float(np.abs(got - reference).max())
    return d < tol, d
''', "message": "dims [4, 16]"},
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "wrong", "name": "mean difference",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if "error" in result or list(result["dims"]) != list(reference.shape):
        raise ValueError("bad result")
    got = np.asarray(result["data"]).reshape(result["dims"])
    d = float(np.abs(got - reference).mean())
    return d < tol, d
''', "message": "LARGEST"},
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "wrong", "name": "signed difference",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if "error" in result or list(result["dims"]) != list(reference.shape):
        raise ValueError("bad result")
    got = np.asarray(result["data"]).reshape(result["dims"])
    d = float((got - reference).max())
    return d < tol, d
''', "message": "absolute difference"},
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "wrong", "name": "tol ignored",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if "error" in result or list(result["dims"]) != list(reference.shape):
        raise ValueError("bad result")
    d = float(np.abs(np.asarray(result["data"]).reshape(result["dims"]) - reference).max())
    return d < 1e-4, d
''', "message": "tol argument"},
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "wrong", "name": "the page's error not handled",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if list(result["dims"]) != list(reference.shape):
        raise ValueError("bad dims")
    d = float(np.abs(np.asarray(result["data"]).reshape(result["dims"]) - reference).max())
    return d < tol, d
''', "message": "raised KeyError"},
    {"task": "t6-web-parity", "cell": "t6-code", "kind": "right", "name": "np.allclose-free, via torch",
     "code": '''
def web_parity(result, reference, tol=1e-4):
    if result.get("error") is not None:
        raise ValueError(f"page error: {result['error']}")
    if tuple(result.get("dims", ())) != reference.shape:
        raise ValueError("shape mismatch")
    got = torch.tensor(result["data"], dtype=torch.float64).view(*result["dims"])
    d = (got - torch.from_numpy(reference).double()).abs().max().item()
    return bool(d < tol), d
'''},
]
