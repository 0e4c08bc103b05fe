import pytest
import torch

from course import data


@pytest.mark.parametrize("fn", [data.moons, data.spirals, data.blobs])
def test_point_clouds_are_deterministic_and_typed(fn):
    X, y = fn(n=120, seed=3)
    X2, y2 = fn(n=120, seed=3)
    assert X.shape == (120, 2) and X.dtype == torch.float32
    assert y.shape == (120,) and y.dtype == torch.int64
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert not torch.equal(X, fn(n=120, seed=4)[0])


def test_spirals_and_blobs_have_requested_classes():
    assert set(data.spirals(n=90, classes=3)[1].tolist()) == {0, 1, 2}
    assert torch.bincount(data.blobs(n=100, centers=4)[1]).tolist() == [25, 25, 25, 25]


def test_shapes_images_are_balanced_and_in_range():
    images, labels = data.shapes(n=200, size=16, seed=1)
    assert images.shape == (200, 3, 16, 16) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert torch.bincount(labels).tolist() == [50, 50, 50, 50]
    assert torch.equal(images, data.shapes(n=200, size=16, seed=1)[0])


def test_shapes_are_learnable_by_a_small_cnn():
    from course.models import SmallCNN

    torch.manual_seed(0)
    x, y = data.shapes(n=800, size=16, seed=0)
    test_x, test_y = data.shapes(n=200, size=16, seed=1)
    model = SmallCNN(3, len(data.SHAPE_CLASSES))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(15):
        for i in range(0, len(x), 64):
            loss = torch.nn.functional.cross_entropy(model(x[i : i + 64]), y[i : i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
    assert accuracy > 0.9, f"a small CNN should learn the shapes, got accuracy {accuracy:.2f}"


def test_digits_splits_are_disjoint_and_complete():
    train_x, train_y = data.digits("train")
    test_x, test_y = data.digits("test")
    all_x, _ = data.digits("all")
    assert train_x.shape[1:] == (1, 8, 8) and 0 <= train_x.min() and train_x.max() <= 1
    assert len(train_y) + len(test_y) == len(all_x) == 1797
    assert len(test_y) == round(1797 * 0.2)
    rows = {tuple(r.flatten().tolist()) for r in test_x}
    assert sum(tuple(r.flatten().tolist()) in rows for r in train_x[:200]) < 5  # no overlap beyond duplicates


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: data.moons(n=0), "n must be a positive int"),
        (lambda: data.moons(noise=-1), "noise must be a non-negative"),
        (lambda: data.shapes(size=4), "at least 8 pixels"),
        (lambda: data.digits("validation"), "split must be"),
        (lambda: data.spirals(classes=1.5), "classes must be a positive int"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_torchvision_dataset_offline_names_the_alternative(tmp_path, monkeypatch):
    import torchvision
    from urllib.error import URLError

    class NoNetwork:
        def __init__(self, **kwargs):
            raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "MNIST", NoNetwork)
    with pytest.raises(data.DataUnavailable, match=r"MNIST.*network.*course\.data\.digits\(\)"):
        data.torchvision_dataset("MNIST", root=tmp_path)


def test_torchvision_dataset_unknown_name():
    with pytest.raises(ValueError, match="no data set called 'Mnist'"):
        data.torchvision_dataset("Mnist")
