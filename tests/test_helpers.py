"""plot, bench and models: the small helpers lessons call."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course import bench, plot  # noqa: E402
from course.models import MLP, SmallCNN  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_curves_puts_accuracy_on_a_second_axis():
    fig, ax = plt.subplots()
    plot.curves({"train_loss": [1.0, 0.5], "val_acc": [0.5, 0.9]}, ax=ax)
    assert [line.get_label() for line in ax.get_lines()] == ["train_loss"]
    twin = [a for a in fig.axes if a is not ax][0]
    assert [line.get_label() for line in twin.get_lines()] == ["val_acc"]
    with pytest.raises(ValueError, match="non-empty dict"):
        plot.curves({})
    with pytest.raises(ValueError, match="no values"):
        plot.curves({"loss": []})


def test_images_grid_and_bad_layout():
    plot.images(torch.rand(5, 3, 8, 8), labels=[0, 1, 2, 3, 0], class_names=["a", "b", "c", "d"], ncols=3)
    assert len(plt.gcf().axes) == 6
    with pytest.raises(ValueError, match="permute"):
        plot.images(torch.rand(2, 8, 8, 3))
    with pytest.raises(ValueError, match="2 labels"):
        plot.images(torch.rand(3, 1, 8, 8), labels=[0, 1])


def test_decision_boundary_restores_training_mode():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    model.train()
    fig, ax = plt.subplots()
    plot.decision_boundary(model, torch.randn(20, 2), torch.randint(0, 3, (20,)), resolution=20, ax=ax)
    assert model.training and ax.collections
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.decision_boundary(model, torch.randn(5, 3), torch.zeros(5))


def test_timeit_counts_runs_and_formats():
    calls = []
    timing = bench.timeit(lambda: calls.append(1), repeat=5, warmup=2)
    assert len(calls) == 7 and timing.runs == 5 and 0 <= timing.best <= timing.median
    assert bench.format_seconds(2.5) == "2.50 s"
    assert bench.format_seconds(0.0125) == "12.50 ms"
    assert bench.format_seconds(0.0000125) == "12.5 µs"
    with pytest.raises(TypeError, match="lambda"):
        bench.timeit(3)
    with pytest.raises(ValueError, match="repeat"):
        bench.timeit(lambda: None, repeat=0)


def test_models_shapes_and_errors():
    assert MLP([2, 8, 3])(torch.randn(4, 2)).shape == (4, 3)
    assert len(MLP([2, 8, 8, 3], dropout=0.1)) == 7
    with pytest.raises(ValueError, match="at least two"):
        MLP([2])
    assert SmallCNN(1, 10)(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert SmallCNN()(torch.randn(2, 3, 32, 32)).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        SmallCNN()(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="num_classes"):
        SmallCNN(num_classes=0)
