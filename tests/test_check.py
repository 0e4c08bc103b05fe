import pytest
import torch

from course import check
from course.check import CheckFailed


def test_shape_passes_and_explains_transposes():
    check.shape(torch.zeros(4, 3), (4, 3))
    with pytest.raises(CheckFailed, match=r"expected x to have shape \(4, 3\), got \(3, 4\).*transpose"):
        check.shape(torch.zeros(3, 4), (4, 3), name="x")


def test_shape_suggests_reshape_when_numel_matches():
    with pytest.raises(CheckFailed, match="reshape"):
        check.shape(torch.zeros(12), (4, 3))


def test_is_tensor_names_none_and_lists():
    with pytest.raises(CheckFailed, match="is None"):
        check.is_tensor(None, "y")
    with pytest.raises(CheckFailed, match="torch.as_tensor"):
        check.is_tensor([1, 2], "y")


def test_dtype_and_device():
    check.dtype(torch.zeros(2), torch.float32)
    with pytest.raises(CheckFailed, match="dtype torch.int64, got torch.float32"):
        check.dtype(torch.zeros(2), torch.int64)
    check.device(torch.zeros(1), "cpu")
    with pytest.raises(CheckFailed, match="expected t on cuda"):
        check.device(torch.zeros(1), "cuda", name="t")


def test_close_tensors_reports_largest_difference():
    check.close(torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-8])
    with pytest.raises(CheckFailed, match=r"largest difference 0\.5 at index \(1,\)"):
        check.close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]))
    with pytest.raises(CheckFailed, match="shape"):
        check.close(torch.zeros(3), torch.zeros(2))
    with pytest.raises(CheckFailed, match="NaN"):
        check.close(torch.tensor([float("nan")]), torch.tensor([0.0]))


def test_close_numbers():
    check.close(torch.tensor(3.0), 3.0)
    check.close(2.0000001, 2.0)
    with pytest.raises(CheckFailed, match="single number"):
        check.close(torch.zeros(2), 1.0)
    with pytest.raises(CheckFailed, match="≈ 2"):
        check.close(2.5, 2.0)


def test_equal():
    check.equal(torch.tensor([1, 2]), torch.tensor([1, 2]))
    with pytest.raises(CheckFailed, match="1 of 2 elements"):
        check.equal(torch.tensor([1, 3]), torch.tensor([1, 2]))
    with pytest.raises(CheckFailed, match="== 3"):
        check.equal(2, 3)


def test_gradient_checks_say_why():
    w = torch.ones(2)
    with pytest.raises(CheckFailed, match="requires_grad=True"):
        check.has_grad(w, "w")
    w.requires_grad_()
    with pytest.raises(CheckFailed, match=r"backward\(\)"):
        check.has_grad(w, "w")
    y = w * 2
    y.sum().backward()
    assert torch.equal(check.has_grad(w, "w"), torch.full((2,), 2.0))
    with pytest.raises(CheckFailed, match="not a leaf"):
        check.has_grad(y, "y")
    with pytest.raises(CheckFailed, match="detach"):
        check.no_grad_graph(y, "y")
    check.no_grad_graph(y.detach())
    check.requires_grad(w)
    with pytest.raises(CheckFailed, match="requires_grad"):
        check.requires_grad(torch.zeros(1))


def test_raises_and_true():
    err = check.raises(lambda: int("x"), ValueError)
    assert isinstance(err, ValueError)
    with pytest.raises(CheckFailed, match="returned normally"):
        check.raises(lambda: 1, ValueError)
    with pytest.raises(CheckFailed, match="raised KeyError"):
        check.raises(lambda: {}["k"], ValueError)
    check.true(1 + 1 == 2, "never shown")
    with pytest.raises(CheckFailed, match="custom message"):
        check.true(False, "custom message")


def test_check_failed_is_an_assertion_error(capsys):
    assert issubclass(CheckFailed, AssertionError)
    check.passed("Task 9")
    assert capsys.readouterr().out == "✅ Task 9 passed\n"


def test_forbid_blocks_every_named_spelling_and_restores_them():
    x = torch.randn(3, 4)
    names = ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax")
    with check.forbid(*names, rule="compute it from exp and sum") as f:
        for call in (lambda: torch.softmax(x, 1), lambda: x.softmax(1), lambda: torch.nn.functional.softmax(x, 1)):
            with pytest.raises(check.ForbiddenCall, match="does not allow .*softmax: compute it from exp and sum"):
                call()
        assert isinstance(f, check.forbid)
        torch.exp(x)  # everything else still works
    assert torch.allclose(x.softmax(1), torch.nn.functional.softmax(x, 1))
    assert "softmax" not in vars(torch.Tensor), "an inherited method must not leave a shadow behind"


def test_forbid_restores_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with check.forbid("torch.sum", rule="add with a loop"):
            1 / 0
    assert torch.sum(torch.ones(3)).item() == 3


def test_forbidden_call_is_a_check_failure():
    assert issubclass(check.ForbiddenCall, check.CheckFailed)


@pytest.mark.parametrize(
    "names, rule, message",
    [((), "x", "at least one name"), (("torch.softmax",), "", "rule="), (("torch.no_such_fn",), "x", "does not name"),
     (("softmax",), "x", "dotted names")],
)
def test_forbid_bad_arguments(names, rule, message):
    with pytest.raises(ValueError, match=message):
        check.forbid(*names, rule=rule)


def test_check_failed_renders_as_its_message_alone():
    lines = check.CheckFailed("expected x to have shape (2,), got (3,).")._render_traceback_()
    assert len(lines) == 1 and "expected x to have shape (2,), got (3,)." in lines[0]


def test_dtype_advice_keeps_a_leaf_a_leaf():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(check.CheckFailed) as err:
        check.dtype(w, torch.float64, name="w")
    assert "dtype=torch.float64" in str(err.value) and "w.to(" not in str(err.value)
    with pytest.raises(check.CheckFailed, match=r"Convert with x.to\(torch.float64\)"):
        check.dtype(torch.zeros(2), torch.float64, name="x")
