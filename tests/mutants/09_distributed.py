"""Wrong and right answers for solutions/09_distributed.ipynb (format: tests/test_mutants.py)."""

_T1_BODY = '''def rank_indices(n, world_size, rank, epoch, seed=0, shuffle=True, drop_last=False):
{body}
'''


def _t1(body: str) -> str:
    return _T1_BODY.format(body=body)


_T2 = '''def local_stats(shard):
{local}


def from_reduced(total):
{finish}
'''

_T3 = '''def train_accumulated(model, micro_batches, k, optimizer):
{body}
'''

MUTANTS = [
    # ---------------- Task 1: rank_indices ----------------
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "wrong", "name": "seed ignores the epoch",
     "code": _t1("""    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist() if shuffle else list(range(n))
    per = n // world_size if drop_last else math.ceil(n / world_size)
    total = per * world_size
    while len(order) < total:
        order += order[: total - len(order)]
    return order[:total][rank:total:world_size]"""),
     "message": "seed + epoch"},
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "wrong", "name": "no padding (uneven ranks)",
     "code": _t1("""    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    if drop_last:
        order = order[: n // world_size * world_size]
    return order[rank::world_size]"""),
     "message": "pad to ceil"},
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "wrong", "name": "contiguous chunks instead of strides",
     "code": _t1("""    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    per = n // world_size if drop_last else math.ceil(n / world_size)
    total = per * world_size
    while len(order) < total:
        order += order[: total - len(order)]
    return order[rank * per:(rank + 1) * per]"""),
     "message": "expected"},
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "wrong", "name": "pads once only (fails with more ranks than samples)",
     "code": _t1("""    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    per = n // world_size if drop_last else math.ceil(n / world_size)
    total = per * world_size
    order = (order + order[: total - len(order)])[:total]
    return order[rank:total:world_size]"""),
     "message": "pad to ceil"},
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "wrong", "name": "calls DistributedSampler",
     "code": _t1("""    s = DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
    s.set_epoch(epoch)
    return list(s)"""),
     "message": "does not allow"},
    {"task": "t1-rank-indices", "cell": "t1-code", "kind": "right", "name": "global seed and itertools.cycle padding",
     "code": _t1("""    import itertools
    if shuffle:
        torch.manual_seed(seed + epoch)
        base = torch.randperm(n).tolist()
    else:
        base = list(range(n))
    per = n // world_size if drop_last else -(-n // world_size)
    full = list(itertools.islice(itertools.cycle(base), per * world_size))
    return [full[i] for i in range(rank, len(full), world_size)]"""),
     },
    # ---------------- Task 2: shard statistics ----------------
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "wrong", "name": "mean of the shards' means",
     "code": _T2.format(local="    x = shard.double()\n    return torch.stack([torch.tensor(1.0, dtype=torch.float64), x.mean(), x.std()])",
                        finish="    k, m, s = total.tolist()\n    return m / k, s / k"),
     "message": "mean of the shards' means"},
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "wrong", "name": "population std",
     "code": _T2.format(local="    x = shard.double()\n    return torch.stack([torch.tensor(float(x.numel()), dtype=torch.float64), x.sum(), (x * x).sum()])",
                        finish="    n, s, sq = total.tolist()\n    return s / n, math.sqrt(sq / n - (s / n) ** 2)"),
     "message": "population std"},
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "wrong", "name": "sums in float32",
     "code": _T2.format(local="    x = shard\n    return torch.stack([torch.tensor(float(x.numel())), x.sum(), (x * x).sum()]).double()",
                        finish="    n, s, sq = total.tolist()\n    m = s / n\n    return m, math.sqrt(max((sq - n * m * m) / (n - 1), 0.0))"),
     "message": "float64"},
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "wrong", "name": "sends the whole shard",
     "code": _T2.format(local="    return shard.double()", finish="    return total.mean().item(), total.std().item()"),
     "message": "at most 3 numbers"},
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "wrong", "name": "float32 result tensor",
     "code": _T2.format(local="    x = shard.double()\n    return torch.stack([torch.tensor(float(x.numel()), dtype=torch.float64), x.sum(), (x * x).sum()]).float()",
                        finish="    n, s, sq = total.double().tolist()\n    m = s / n\n    return m, math.sqrt((sq - n * m * m) / (n - 1))"),
     "message": "dtype"},
    {"task": "t2-shard-stats", "cell": "t2-code", "kind": "right", "name": "sum of squared deviations from a shared shift",
     "code": _T2.format(local="    x = shard.double() - 1000.0  # a fixed shift every rank uses: better conditioned\n    return torch.tensor([x.sum().item(), (x ** 2).sum().item(), float(len(x))], dtype=torch.float64)",
                        finish="    s, sq, n = total.tolist()\n    mean = s / n\n    return mean + 1000.0, ((sq - s * s / n) / (n - 1)) ** 0.5"),
     },
    # ---------------- Task 3: no_sync accumulation ----------------
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "no no_sync (all-reduce every micro-batch)",
     "code": _T3.format(body="""    steps = 0
    for start in range(0, len(micro_batches), k):
        group = micro_batches[start:start + k]
        for x, y in group:
            (nn.functional.mse_loss(model(x), y) / len(group)).backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    return steps"""),
     "message": "inside model.no_sync()"},
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "divides the short group's loss by k",
     "code": _T3.format(body="""    steps = 0
    for start in range(0, len(micro_batches), k):
        group = micro_batches[start:start + k]
        for j, (x, y) in enumerate(group):
            with (contextlib.nullcontext() if j == len(group) - 1 else model.no_sync()):
                (nn.functional.mse_loss(model(x), y) / k).backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    return steps"""),
     "message": "that group's own size"},
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "drops the short last group",
     "code": _T3.format(body="""    steps = 0
    for i, (x, y) in enumerate(micro_batches):
        last = (i + 1) % k == 0
        with (contextlib.nullcontext() if last else model.no_sync()):
            (nn.functional.mse_loss(model(x), y) / k).backward()
        if last:
            optimizer.step()
            optimizer.zero_grad()
            steps += 1
    return steps"""),
     "message": "short last group"},
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "backward outside no_sync (forward only inside)",
     "code": _T3.format(body="""    steps = 0
    for start in range(0, len(micro_batches), k):
        group = micro_batches[start:start + k]
        for j, (x, y) in enumerate(group):
            if j < len(group) - 1:
                with model.no_sync():
                    out = model(x)
            else:
                out = model(x)
            (nn.functional.mse_loss(out, y) / len(group)).backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    return steps"""),
     "message": None},  # filled below: FakeDDP decides at forward time, like DDP, so this one is right
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "no loss scaling (sum, not mean)",
     "code": _T3.format(body="""    steps = 0
    for start in range(0, len(micro_batches), k):
        group = micro_batches[start:start + k]
        for j, (x, y) in enumerate(group):
            with (contextlib.nullcontext() if j == len(group) - 1 else model.no_sync()):
                nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        optimizer.zero_grad()
        steps += 1
    return steps"""),
     "message": "that group's own size"},
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "wrong", "name": "forgets zero_grad",
     "code": _T3.format(body="""    steps = 0
    for start in range(0, len(micro_batches), k):
        group = micro_batches[start:start + k]
        for j, (x, y) in enumerate(group):
            with (contextlib.nullcontext() if j == len(group) - 1 else model.no_sync()):
                (nn.functional.mse_loss(model(x), y) / len(group)).backward()
        optimizer.step()
        steps += 1
    return steps"""),
     "message": "after training"},
    {"task": "t3-no-sync", "cell": "t3-code", "kind": "right", "name": "index arithmetic and ExitStack",
     "code": _T3.format(body="""    n = len(micro_batches)
    steps = 0
    for i, (x, y) in enumerate(micro_batches):
        group_start = i - i % k
        size = min(k, n - group_start)
        last = i == group_start + size - 1
        with contextlib.ExitStack() as stack:
            if not last:
                stack.enter_context(model.no_sync())
            loss = nn.functional.mse_loss(model(x), y, reduction="sum") / (size * y.numel())
            loss.backward()
        if last:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            steps += 1
    return steps"""),
     },
    # ---------------- Task 4: rank-0 checkpoint ----------------
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "wrong", "name": "every rank saves",
     "code": "def save_on_rank0(rank, model, path, barrier):\n    torch.save(model.module.state_dict(), path)\n    barrier()\n",
     "message": "only rank 0 writes"},
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "wrong", "name": "barrier before the save",
     "code": "def save_on_rank0(rank, model, path, barrier):\n    barrier()\n    if rank == 0:\n        torch.save(model.module.state_dict(), path)\n",
     "message": "save first, then barrier()"},
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "wrong", "name": "saves the wrapper's state_dict (module. prefix)",
     "code": "def save_on_rank0(rank, model, path, barrier):\n    if rank == 0:\n        torch.save(model.state_dict(), path)\n    barrier()\n",
     "message": "model.module.state_dict()"},
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "wrong", "name": "only the other ranks wait",
     "code": "def save_on_rank0(rank, model, path, barrier):\n    if rank == 0:\n        torch.save(model.module.state_dict(), path)\n    else:\n        barrier()\n",
     "message": "every rank, once"},
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "wrong", "name": "rank test inverted",
     "code": "def save_on_rank0(rank, model, path, barrier):\n    if rank:\n        torch.save(model.module.state_dict(), path)\n    barrier()\n",
     "message": "only rank 0 writes"},
    {"task": "t4-rank0-save", "cell": "t4-code", "kind": "right", "name": "stripped copy of the wrapper's state_dict, via a file object",
     "code": ("def save_on_rank0(rank, model, path, barrier):\n"
              "    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present\n"
              "    try:\n"
              "        if rank == 0:\n"
              "            state = dict(model.state_dict())\n"
              "            consume_prefix_in_state_dict_if_present(state, 'module.')\n"
              "            with open(path, 'wb') as f:\n"
              "                torch.save(state, f)\n"
              "    finally:\n"
              "        barrier()\n")},
    # ---------------- Task 5: torchrun commands ----------------
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "--standalone on a cluster",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', '--standalone', f'--nnodes={n_nodes}', f'--node-rank={i}', f'--nproc-per-node={gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}:{port}', f'--rdzv-id={job_id}', script, *script_args]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "--standalone"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "the same node rank everywhere",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', f'--nnodes={n_nodes}', '--node-rank=0', f'--nproc-per-node={gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}:{port}', f'--rdzv-id={job_id}', script, *script_args]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "--node-rank values"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "total processes per node",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', f'--nnodes={n_nodes}', f'--node-rank={i}', f'--nproc-per-node={n_nodes * gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}:{port}', f'--rdzv-id={job_id}', script, *script_args]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "not in total"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "script arguments before the script",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', f'--nnodes={n_nodes}', f'--node-rank={i}', f'--nproc-per-node={gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}:{port}', f'--rdzv-id={job_id}', *script_args, script]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "torchrun cannot parse"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "endpoint without the port",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', f'--nnodes={n_nodes}', f'--node-rank={i}', f'--nproc-per-node={gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}', f'--master-port={port}', f'--rdzv-id={job_id}', script, *script_args]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "HOST:PORT"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "wrong", "name": "a different job id per node",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    return [['torchrun', f'--nnodes={n_nodes}', f'--node-rank={i}', f'--nproc-per-node={gpus_per_node}',\n"
              "             '--rdzv-backend=c10d', f'--rdzv-endpoint={head}:{port}', f'--rdzv-id={job_id}-{i}', script, *script_args]\n"
              "            for i in range(n_nodes)]\n"),
     "message": "same job id"},
    {"task": "t5-torchrun", "cell": "t5-code", "kind": "right", "name": "underscore spellings and separate values",
     "code": ("def torchrun_commands(n_nodes, gpus_per_node, head, port, job_id, script, script_args):\n"
              "    out = []\n"
              "    for node in range(n_nodes):\n"
              "        out.append(['torchrun', '--nproc_per_node', str(gpus_per_node), '--nnodes', str(n_nodes), '--node_rank', str(node),\n"
              "                    '--rdzv_id', job_id, '--rdzv_backend', 'c10d', '--rdzv_endpoint', f'{head}:{port}', script] + list(script_args))\n"
              "    return out\n")},
    # ---------------- Task 6: global batch and LR ----------------
    {"task": "t6-batch-lr", "cell": "t6-code", "kind": "wrong", "name": "ignores accumulation",
     "code": "def global_batch_and_lr(per_device_batch, devices, accum, base_lr, base_batch):\n    g = per_device_batch * devices\n    return g, base_lr * g / base_batch\n",
     "message": "accumulation steps"},
    {"task": "t6-batch-lr", "cell": "t6-code", "kind": "wrong", "name": "ignores the devices",
     "code": "def global_batch_and_lr(per_device_batch, devices, accum, base_lr, base_batch):\n    g = per_device_batch * accum\n    return g, base_lr * g / base_batch\n",
     "message": "the global batch"},
    {"task": "t6-batch-lr", "cell": "t6-code", "kind": "wrong", "name": "square-root scaling",
     "code": "def global_batch_and_lr(per_device_batch, devices, accum, base_lr, base_batch):\n    g = per_device_batch * devices * accum\n    return g, base_lr * (g / base_batch) ** 0.5\n",
     "message": "base_lr × global_batch / base_batch"},
    {"task": "t6-batch-lr", "cell": "t6-code", "kind": "wrong", "name": "LR scaled by the device count only",
     "code": "def global_batch_and_lr(per_device_batch, devices, accum, base_lr, base_batch):\n    return per_device_batch * devices * accum, base_lr * devices\n",
     "message": "the learning rate"},
    {"task": "t6-batch-lr", "cell": "t6-code", "kind": "right", "name": "ratio first",
     "code": "def global_batch_and_lr(per_device_batch, devices, accum, base_lr, base_batch):\n    scale = (per_device_batch * devices * accum) / base_batch\n    return round(scale * base_batch), scale * base_lr\n"},
]

# FakeDDP decides at forward time, as DDP does, so a backward outside no_sync after a forward inside it
# does not sync: that answer is right, not wrong. Keep it as a second "right" answer.
for _m in MUTANTS:
    if _m["name"] == "backward outside no_sync (forward only inside)":
        _m["kind"] = "right"
        del _m["message"]
