"""Wrong and right answers for solutions/05_data.ipynb (format: tests/test_mutants.py)."""

_WINDOW = '''
class WindowDataset(Dataset):
    def __init__(self, series, window):
        self.series, self.window = series, window

    def __len__(self):
        return LEN

    def __getitem__(self, i):
        return X, Y
'''

_PAD = '''
def pad_images_collate(batch):
    images, ys = zip(*batch)
    h_max = max(im.shape[1] for im in images)
    w_max = max(im.shape[2] for im in images)
    out = images[0].new_zeros(len(images), images[0].shape[0], h_max, w_max)
    mask = torch.zeros(len(images), h_max, w_max, dtype=torch.bool)
    for i, im in enumerate(images):
        PLACE
    return out, MASK, LABELS
'''
_TOP_LEFT = "out[i, :, : im.shape[1], : im.shape[2]] = im\n        mask[i, : im.shape[1], : im.shape[2]] = True"

_SHARES = '''
def sampler_with_shares(labels, shares, num_samples, generator):
    counts = torch.bincount(labels, minlength=len(shares))
    weights = WEIGHTS
    return WeightedRandomSampler(weights, num_samples=NUM, replacement=True, generator=GEN)
'''
_GOOD_WEIGHTS = "shares.double()[labels] / counts[labels].double()"

_CUTOUT = '''
class BatchCutout(nn.Module):
    def __init__(self, size=4):
        super().__init__()
        self.size = size

    def forward(self, x):
        if not self.training:
            return x
        s = self.size
        h, w = x.shape[-2:]
        rows = torch.randint(0, @HIGH_R@, (@N@,), device=x.device).expand(x.shape[0])
        cols = torch.randint(0, @HIGH_C@, (@N@,), device=x.device).expand(x.shape[0])
        out = @OUT@
        for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
            out[i, @CHANNELS@, r : r + s, c : c + s] = 0
        return out
'''
_CUT_OK = {"@HIGH_R@": "h - s + 1", "@HIGH_C@": "w - s + 1", "@N@": "x.shape[0]", "@OUT@": "x.clone()", "@CHANNELS@": ":"}


def _cutout(**changes):
    code = _CUTOUT
    for key, value in {**_CUT_OK, **{f"@{k}@": v for k, v in changes.items()}}.items():
        code = code.replace(key, value)
    return code


_LINES = '''
class LineFiles(IterableDataset):
    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        BODY
'''

_LOADER = '''
def make_loader(dataset, generator, workers=0):
    return DataLoader(
        dataset, batch_size=32, shuffle=True, drop_last=DROP, generator=GEN,
        num_workers=workers,
        persistent_workers=PERSIST,
        prefetch_factor=PREFETCH,
        multiprocessing_context=MP_CONTEXT if workers > 0 else None,
        pin_memory=torch.cuda.is_available(),
    )
'''
_LOADER_OK = {"DROP": "True", "GEN": "generator", "PERSIST": "workers > 0", "PREFETCH": "4 if workers > 0 else None"}


def _loader(**changes):
    code = _LOADER
    for key, value in {**_LOADER_OK, **changes}.items():
        code = code.replace(key, value)
    return code


MUTANTS = [
    # Task 1: sliding windows
    {"task": "t1-window-dataset", "cell": "t1-code", "kind": "wrong", "name": "one sample too many",
     "code": _WINDOW.replace("LEN", "len(self.series) - self.window + 1").replace("X", "self.series[i : i + self.window]")
             .replace("Y", "self.series[min(i + self.window, len(self.series) - 1)]"),
     "message": "len(WindowDataset"},
    {"task": "t1-window-dataset", "cell": "t1-code", "kind": "wrong", "name": "target is the window's last value",
     "code": _WINDOW.replace("LEN", "len(self.series) - self.window").replace("X", "self.series[i : i + self.window]")
             .replace("Y", "self.series[i + self.window - 1]"),
     "message": "y of sample"},
    {"task": "t1-window-dataset", "cell": "t1-code", "kind": "wrong", "name": "window includes the target",
     "code": _WINDOW.replace("LEN", "len(self.series) - self.window").replace("X", "self.series[i : i + self.window + 1]")
             .replace("Y", "self.series[i + self.window]"),
     "message": "shape (4,)"},
    {"task": "t1-window-dataset", "cell": "t1-code", "kind": "wrong", "name": "windows that do not overlap",
     "code": _WINDOW.replace("LEN", "len(self.series) - self.window").replace("X", "self.series[i * self.window : (i + 1) * self.window]")
             .replace("Y", "self.series[i + self.window]"),
     "message": "x of sample"},
    {"task": "t1-window-dataset", "cell": "t1-code", "kind": "right", "name": "windows precomputed with unfold",
     "code": '''
class WindowDataset(Dataset):
    def __init__(self, series, window):
        self.x = series.unfold(0, window, 1)[:-1]
        self.y = series[window:]

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]
'''},
    # Task 2: padding images
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "wrong", "name": "images centred in their slot",
     "code": _PAD.replace("PLACE", "top, left = (h_max - im.shape[1]) // 2, (w_max - im.shape[2]) // 2\n"
                                   "        out[i, :, top : top + im.shape[1], left : left + im.shape[2]] = im\n"
                                   "        mask[i, top : top + im.shape[1], left : left + im.shape[2]] = True")
             .replace("MASK", "mask").replace("LABELS", "torch.tensor(ys)"),
     "message": "top-left corner"},
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "wrong", "name": "mask True on the padding",
     "code": _PAD.replace("PLACE", _TOP_LEFT).replace("MASK", "~mask").replace("LABELS", "torch.tensor(ys)"),
     "message": "mask (True on the image's own pixels"},
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "wrong", "name": "mask per channel",
     "code": _PAD.replace("PLACE", _TOP_LEFT).replace("MASK", "mask[:, None].expand(-1, out.shape[1], -1, -1)")
             .replace("LABELS", "torch.tensor(ys)"),
     "message": "one value per pixel"},
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "wrong", "name": "labels as floats",
     "code": _PAD.replace("PLACE", _TOP_LEFT).replace("MASK", "mask").replace("LABELS", "torch.tensor(ys, dtype=torch.float32)"),
     "message": "labels"},
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "wrong", "name": "padded with ones",
     "code": _PAD.replace("new_zeros", "new_ones").replace("PLACE", _TOP_LEFT).replace("MASK", "mask").replace("LABELS", "torch.tensor(ys)"),
     "message": "zeros to its right and below"},
    {"task": "t2-pad-images", "cell": "t2-code", "kind": "right", "name": "F.pad each image, then stack",
     "code": '''
import torch.nn.functional as F

def pad_images_collate(batch):
    h = max(img.shape[-2] for img, _ in batch)
    w = max(img.shape[-1] for img, _ in batch)
    images = torch.stack([F.pad(img, (0, w - img.shape[-1], 0, h - img.shape[-2])) for img, _ in batch])
    mask = torch.stack([F.pad(torch.ones(img.shape[-2:], dtype=torch.bool), (0, w - img.shape[-1], 0, h - img.shape[-2]))
                        for img, _ in batch])
    return images, mask, torch.as_tensor([y for _, y in batch], dtype=torch.int64)
'''},
    # Task 3: sampler with shares
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "wrong", "name": "balanced (shares ignored)",
     "code": _SHARES.replace("WEIGHTS", "1.0 / counts[labels].double()").replace("NUM", "num_samples").replace("GEN", "generator"),
     "message": "the sample weights"},
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "wrong", "name": "shares not divided by the class count",
     "code": _SHARES.replace("WEIGHTS", "shares.double()[labels]").replace("NUM", "num_samples").replace("GEN", "generator"),
     "message": "the sample weights"},
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "wrong", "name": "num_samples ignored",
     "code": _SHARES.replace("WEIGHTS", _GOOD_WEIGHTS).replace("NUM", "len(labels)").replace("GEN", "generator"),
     "message": "num_samples"},
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "wrong", "name": "generator ignored",
     "code": _SHARES.replace("WEIGHTS", _GOOD_WEIGHTS).replace("NUM", "num_samples").replace("GEN", "None"),
     "message": "generator you were given"},
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "wrong", "name": "a fixed seed instead of the generator",
     "code": _SHARES.replace("WEIGHTS", _GOOD_WEIGHTS).replace("NUM", "num_samples").replace("GEN", "torch.Generator().manual_seed(1)"),
     "message": "differently seeded generators"},
    {"task": "t3-shares-sampler", "cell": "t3-code", "kind": "right", "name": "weights from a Python loop, float32",
     "code": '''
def sampler_with_shares(labels, shares, num_samples, generator):
    n_of = {c: int((labels == c).sum()) for c in range(len(shares))}
    weights = torch.tensor([float(shares[int(y)]) / n_of[int(y)] for y in labels], dtype=torch.float32) * 1000
    return WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)
'''},
    # Task 4: cutout
    {"task": "t4-cutout", "cell": "t4-code", "kind": "wrong", "name": "one position for the whole batch",
     "code": _cutout(N="1"), "message": "not one for the whole batch"},
    {"task": "t4-cutout", "cell": "t4-code", "kind": "wrong", "name": "randint's exclusive upper bound missed",
     "code": _cutout(HIGH_R="h - s", HIGH_C="w - s"), "message": "bottom or right edge"},
    {"task": "t4-cutout", "cell": "t4-code", "kind": "wrong", "name": "modifies the input in place",
     "code": _cutout(OUT="x"), "message": "in place"},
    {"task": "t4-cutout", "cell": "t4-code", "kind": "wrong", "name": "only the first channel zeroed",
     "code": _cutout(CHANNELS="0"), "message": "all channels"},
    {"task": "t4-cutout", "cell": "t4-code", "kind": "wrong", "name": "also active in eval mode",
     "code": _cutout().replace("if not self.training:", "if False:"), "message": "eval mode"},
    {"task": "t4-cutout", "cell": "t4-code", "kind": "right", "name": "vectorised mask from aranges",
     "code": '''
class BatchCutout(nn.Module):
    def __init__(self, size=4):
        super().__init__()
        self.size = size

    def forward(self, x):
        if not self.training:
            return x
        b, _, h, w = x.shape
        top = torch.randint(h - self.size + 1, (b, 1, 1), device=x.device)
        left = torch.randint(w - self.size + 1, (b, 1, 1), device=x.device)
        r = torch.arange(h, device=x.device).view(1, h, 1)
        c = torch.arange(w, device=x.device).view(1, 1, w)
        inside = (r >= top) & (r < top + self.size) & (c >= left) & (c < left + self.size)
        return x.masked_fill(inside.unsqueeze(1), 0)
'''},
    # Task 5: one file per worker
    {"task": "t5-line-files", "cell": "t5-code", "kind": "wrong", "name": "every worker reads every file",
     "code": _LINES.replace("BODY", "for path in self.paths:\n            yield from (int(line) for line in path.read_text().split())"),
     "message": "more than once"},
    {"task": "t5-line-files", "cell": "t5-code", "kind": "wrong", "name": "strides over lines, not files",
     "code": _LINES.replace("BODY", "lines = [int(v) for p in self.paths for v in p.read_text().split()]\n"
                                    "        yield from lines[worker::workers]"),
     "message": "whole files"},
    {"task": "t5-line-files", "cell": "t5-code", "kind": "wrong", "name": "assumes two workers",
     "code": _LINES.replace("BODY", "for path in self.paths[worker::2 if info is not None else 1]:\n"
                                    "            yield from (int(line) for line in path.read_text().split())"),
     "message": "num_workers=3"},
    {"task": "t5-line-files", "cell": "t5-code", "kind": "wrong", "name": "worker 0 reads everything, the others nothing",
     "code": _LINES.replace("BODY", "if worker == 0:\n            for path in self.paths:\n"
                                    "                yield from (int(line) for line in path.read_text().split())"),
     "message": "read nothing"},
    {"task": "t5-line-files", "cell": "t5-code", "kind": "right", "name": "contiguous blocks of files",
     "code": _LINES.replace("BODY", "per = -(-len(self.paths) // workers)\n"
                                    "        for path in self.paths[worker * per : (worker + 1) * per]:\n"
                                    "            for line in path.read_text().splitlines():\n"
                                    "                yield int(line)")},
    # Task 6: the recommended loader
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "wrong", "name": "keeps the short last batch",
     "code": _loader(DROP="False"), "message": "drop_last"},
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "wrong", "name": "shuffles with the global generator",
     "code": _loader(GEN="None"), "message": "generator you passed"},
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "wrong", "name": "workers restarted every epoch",
     "code": _loader(PERSIST="False"), "message": "persistent_workers"},
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "wrong", "name": "default prefetch_factor",
     "code": _loader(PREFETCH="None"), "message": "prefetch_factor"},
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "wrong", "name": "no shuffling",
     "code": _loader().replace("shuffle=True", "shuffle=False"), "message": "shuffled"},
    {"task": "t6-make-loader", "cell": "t6-code", "kind": "right", "name": "explicit RandomSampler and keyword dict",
     "code": '''
from torch.utils.data import RandomSampler

def make_loader(dataset, generator, workers=0):
    extra = dict(persistent_workers=True, prefetch_factor=4, multiprocessing_context=MP_CONTEXT) if workers else {}
    return DataLoader(dataset, batch_size=32, sampler=RandomSampler(dataset, generator=generator), drop_last=True,
                      num_workers=workers, pin_memory=torch.cuda.is_available(), **extra)
'''},
]
