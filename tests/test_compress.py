"""course.compress: the shared base model of lessons 11-13, its cache, its measurements and the table."""

import io
import json

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from course import bench, compress, data


@pytest.fixture(autouse=True)
def quick_recipe(tmp_path, monkeypatch):
    """A scratch workdir and a one-epoch recipe, so the tests train in a fraction of a second."""
    monkeypatch.setenv("COURSE_WORKDIR", str(tmp_path))
    monkeypatch.setattr(compress, "RECIPE", {**compress.RECIPE, "epochs": 1})


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_make_digits_mlp_shapes_and_errors():
    model = compress.make_digits_mlp()
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert model(torch.zeros(3, 64)).shape == (3, 10)
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [256, 256, 10]
    with pytest.raises(ValueError, match="positive ints"):
        compress.make_digits_mlp([64])
    with pytest.raises(ValueError, match="positive ints"):
        compress.make_digits_mlp([64, 0, 10])


def test_recipe_hash_is_stable_and_follows_the_recipe():
    assert compress.recipe_hash() == compress.recipe_hash(dict(reversed(list(compress.RECIPE.items()))))
    assert compress.recipe_hash() != compress.recipe_hash({**compress.RECIPE, "epochs": 2})


def test_training_is_deterministic_and_learns():
    a = compress.digits_mlp(cache=False)
    b = compress.digits_mlp(cache=False)
    assert _same(a, b)
    assert not a.training
    assert compress.accuracy(a) > 0.5  # one epoch is already far above chance (0.1)


def test_cache_is_written_reused_and_keyed_by_the_recipe(tmp_path, monkeypatch):
    first = compress.digits_mlp()
    files = list((tmp_path / "compress").glob("digits_mlp-*.pt"))
    assert [f.name for f in files] == [f"digits_mlp-{compress.recipe_hash()}.pt"]
    # a cache hit loads the file: prove it by changing the file and seeing the change
    state = first.state_dict()
    state["1.bias"] = torch.full_like(state["1.bias"], 7.0)
    torch.save(state, files[0])
    again = compress.digits_mlp()
    assert torch.equal(again[1].bias, torch.full((256,), 7.0))
    assert again is not first and not again.training
    # another recipe is another file
    monkeypatch.setattr(compress, "RECIPE", {**compress.RECIPE, "lr": 2e-3})
    compress.digits_mlp()
    assert len(list((tmp_path / "compress").glob("digits_mlp-*.pt"))) == 2


def test_damaged_cache_is_retrained(tmp_path):
    reference = compress.digits_mlp(cache=False)
    path = tmp_path / "compress" / f"digits_mlp-{compress.recipe_hash()}.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    assert _same(compress.digits_mlp(), reference)
    assert torch.load(path, weights_only=True).keys() == reference.state_dict().keys()


def test_training_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    compress.digits_mlp()  # trains (cache miss)
    assert torch.equal(torch.rand(3), expected)
    torch.manual_seed(123)
    compress.digits_mlp()  # loads (cache hit)
    assert torch.equal(torch.rand(3), expected)


def test_model_size_bytes_is_the_saved_state_dict():
    model = compress.make_digits_mlp()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    assert compress.model_size_bytes(model) == len(buffer.getvalue())
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params * 4 < compress.model_size_bytes(model) < n_params * 4 + 20_000
    dense = compress.model_size_bytes(model)
    for m in model:
        if isinstance(m, nn.Linear):
            prune.l1_unstructured(m, "weight", amount=0.5)
    assert compress.model_size_bytes(model) > 1.9 * dense  # weight_orig + weight_mask
    with pytest.raises(TypeError, match="nn.Module"):
        compress.model_size_bytes(model.state_dict())


def test_accuracy_counts_correct_answers_and_restores_the_mode():
    _, y = data.digits("test", seed=0)

    class Always(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.k = k
            self.dummy = nn.Parameter(torch.zeros(()))

        def forward(self, x):
            out = torch.zeros(len(x), 10)
            out[:, self.k] = 1
            return out

    for k in (0, 3):
        model = Always(k).train()
        assert compress.accuracy(model) == pytest.approx((y == k).float().mean().item())
        assert model.training
    with pytest.raises(ValueError, match=r"\(N, 10\) logits"):
        compress.accuracy(nn.Sequential(nn.Flatten(), nn.Linear(64, 3)))


def test_latency_returns_a_timing_on_the_requested_batch():
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 10)

        def forward(self, x):
            seen.append((tuple(x.shape), self.training, torch.is_grad_enabled()))
            return self.lin(x.flatten(1))

    model = Spy().train()
    timing = compress.latency(model, 500, repeat=3, min_seconds=0)
    assert isinstance(timing, bench.Timing) and timing.median > 0
    assert set(seen) == {((500, 1, 8, 8), False, False)}
    assert model.training
    assert torch.equal(compress.example_batch(5), data.digits("test", seed=0)[0][:5])
    with pytest.raises(ValueError, match="positive int"):
        compress.latency(model, 0)


def test_table_add_measure_save_load_merge(tmp_path):
    table = compress.CompressionTable.load()
    assert len(table) == 0 and "no rows" in str(table)
    model = compress.make_digits_mlp()
    row = table.measure("dense", model, lesson="11")
    assert row["size_bytes"] == compress.model_size_bytes(model)
    assert row["batch"] == compress.BATCHES[1] and row["latency_b1_s"] > 0 and 0 <= row["accuracy"] <= 1
    assert row["hardware"]
    table.add({"name": "dense", "lesson": "11", "accuracy": 0.5})  # same name: replaced, not added
    assert len(table) == 1 and table.rows[0]["accuracy"] == 0.5
    table.add({"name": "pruned", "lesson": "11", "accuracy": 0.4})
    path = table.save()
    assert path == tmp_path / "compress" / "table.json"
    # another lesson saves its own rows: both lessons' rows survive, same names are replaced
    other = compress.CompressionTable()
    other.add({"name": "int8", "lesson": "12", "accuracy": 0.3})
    other.add({"name": "pruned", "lesson": "11", "accuracy": 0.45})
    other.save()
    stored = compress.CompressionTable.load()
    assert [r["name"] for r in stored.rows] == ["dense", "pruned", "int8"]
    assert stored.rows[1]["accuracy"] == 0.45
    assert json.loads(path.read_text())[2]["lesson"] == "12"
    text = str(stored)
    assert "int8" in text and "0.450" in text and "model" in text


def test_table_errors_say_what_is_wrong(tmp_path):
    table = compress.CompressionTable()
    with pytest.raises(ValueError, match="non-empty 'name'"):
        table.add({"lesson": "11"})
    with pytest.raises(ValueError, match="unknown columns"):
        table.add({"name": "x", "speed": 3})
    with pytest.raises(TypeError, match="nn.Module"):
        table.measure("x", {"weight": 1}, lesson="11")
    table.path.parent.mkdir(parents=True, exist_ok=True)
    table.path.write_text("{broken")
    with pytest.raises(ValueError, match="delete it"):
        compress.CompressionTable.load()


def test_accuracy_and_latency_take_an_exported_module():
    # ExportedProgram.module() refuses .eval(); the helpers use it in the mode it was exported in.
    model = compress.make_digits_mlp().eval()
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (compress.example_batch(2),), dynamic_shapes=({0: batch},)).module()
    with pytest.raises(NotImplementedError):
        exported.eval()
    assert compress.accuracy(exported) == pytest.approx(compress.accuracy(model))
    assert compress.latency(exported, 4, repeat=2, min_seconds=0).median > 0
