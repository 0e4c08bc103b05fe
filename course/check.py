"""Learner-facing checks: assertions that say what is wrong and how to fix it.

Every check raises :class:`CheckFailed` (a subclass of ``AssertionError``) with a message
written for the learner, e.g. ``expected shape (4, 3), got (3, 4)``. On success a check
returns quietly; call :func:`passed` at the end of a check cell to print one line.

    from course import check
    check.shape(x, (4, 3), name="x")
    check.close(y, expected, name="y")
    check.passed("Task 1")
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch


class CheckFailed(AssertionError):
    """A learner's answer did not meet a check; the message says what to change.

    In IPython/Jupyter it is shown as its message alone (``_render_traceback_``), not as a long
    traceback through the course's internals: the message is the feedback.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[31m❌ {self}\x1b[0m"]


class ForbiddenCall(CheckFailed):
    """The learner's code called something the task forbids (see :func:`forbid`)."""


def _fail(message: str) -> None:
    raise CheckFailed(message)


def _fmt_shape(shape: Iterable[int]) -> str:
    dims = tuple(int(d) for d in shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def is_tensor(value: Any, name: str = "value") -> torch.Tensor:
    """Check that ``value`` is a ``torch.Tensor`` (not a list, NumPy array or ``None``)."""
    if value is None:
        _fail(f"{name} is None: did you forget to return or assign it?")
    if not isinstance(value, torch.Tensor):
        hint = " Convert it with torch.as_tensor(...)." if hasattr(value, "__len__") else ""
        _fail(f"{name} should be a torch.Tensor, got {type(value).__name__}.{hint}")
    return value


def shape(value: Any, expected: Sequence[int], name: str = "value") -> None:
    """Check a tensor's shape, e.g. ``check.shape(x, (4, 3))``."""
    is_tensor(value, name)
    got, want = tuple(value.shape), tuple(int(d) for d in expected)
    if got != want:
        hint = ""
        if sorted(got) == sorted(want) and len(got) == len(want):
            hint = " The same sizes in another order: a transpose or permute may be missing."
        elif value.numel() == _prod(want):
            hint = " It has the right number of elements: reshape or view it."
        _fail(f"expected {name} to have shape {_fmt_shape(want)}, got {_fmt_shape(got)}.{hint}")


def _prod(dims: Sequence[int]) -> int:
    out = 1
    for d in dims:
        out *= d
    return out


def dtype(value: Any, expected: torch.dtype, name: str = "value") -> None:
    """Check a tensor's dtype, e.g. ``check.dtype(x, torch.float32)``."""
    is_tensor(value, name)
    if value.dtype != expected:
        if value.is_leaf and value.requires_grad:
            # .to() of a leaf that requires grad returns a non-leaf: its .grad would stay None.
            advice = (
                f"Create it with dtype={expected} (e.g. torch.tensor(..., dtype={expected}, requires_grad=True)); "
                f"converting it with .to() would give a non-leaf tensor whose .grad stays None."
            )
        elif name.isidentifier():
            advice = f"Convert with {name}.to({expected})."
        else:
            advice = f"Convert it with .to({expected})."
        _fail(f"expected {name} to have dtype {expected}, got {value.dtype}. {advice}")


def device(value: Any, expected: torch.device | str, name: str = "value") -> None:
    """Check the device type a tensor lives on (``"cpu"``, ``"cuda"``, ...)."""
    is_tensor(value, name)
    want = torch.device(expected)
    if value.device.type != want.type or (want.index is not None and value.device != want):
        _fail(f"expected {name} on {want}, got {value.device}. Move it with {name}.to({str(want)!r}).")


def close(
    value: Any,
    expected: Any,
    name: str = "value",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Check that a tensor (or number) is numerically close to ``expected``.

    Shape and dtype kind are checked first, so the message names the first real problem.
    """
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                _fail(f"expected {name} to be a single number, got a tensor of shape {_fmt_shape(value.shape)}.")
            value = value.item()
        if not isinstance(value, (int, float)):
            _fail(f"expected {name} to be a number, got {type(value).__name__}.")
        if abs(value - expected) > atol + rtol * abs(expected):
            _fail(f"expected {name} ≈ {expected:.6g}, got {value:.6g}.")
        return
    expected = torch.as_tensor(expected)
    is_tensor(value, name)
    shape(value, expected.shape, name)
    got = value.detach().to("cpu", torch.float64)
    want = expected.detach().to("cpu", torch.float64)
    if not torch.isfinite(got).all() and torch.isfinite(want).all():
        _fail(f"{name} contains NaN or Inf values; expected finite numbers.")
    if not torch.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
        diff = (got - want).abs()
        idx = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)) if diff.dim() else ()
        where = f" at index {idx}" if idx else ""
        _fail(
            f"{name} is not close to the expected values: largest difference {diff.max().item():.3g}"
            f"{where} (got {got[idx].item():.6g}, expected {want[idx].item():.6g})."
        )


def equal(value: Any, expected: Any, name: str = "value") -> None:
    """Check exact equality (tensors elementwise, other values with ``==``)."""
    if isinstance(expected, torch.Tensor):
        is_tensor(value, name)
        shape(value, expected.shape, name)
        if not torch.equal(value.detach().cpu(), expected.detach().cpu()):
            mismatches = (value.detach().cpu() != expected.detach().cpu()).sum().item()
            _fail(f"{name} differs from the expected tensor in {mismatches} of {expected.numel()} elements.")
        return
    if value != expected:
        _fail(f"expected {name} == {expected!r}, got {value!r}.")


def requires_grad(value: Any, name: str = "value") -> None:
    """Check that a tensor takes part in autograd."""
    is_tensor(value, name)
    if not value.requires_grad:
        _fail(f"{name} does not require grad: create it with requires_grad=True or call {name}.requires_grad_().")


def has_grad(value: Any, name: str = "value") -> torch.Tensor:
    """Check that a leaf tensor received a gradient from ``backward()``; returns the gradient."""
    is_tensor(value, name)
    if not value.requires_grad:
        _fail(f"gradient of {name} is None: did you set requires_grad=True when you created it?")
    if not value.is_leaf and not value.retains_grad:
        _fail(
            f"gradient of {name} is None because {name} is not a leaf tensor: "
            f"call {name}.retain_grad() before backward(), or read the gradient of the leaf."
        )
    if value.grad is None:
        _fail(f"gradient of {name} is None: did you call loss.backward()?")
    return value.grad


def no_grad_graph(value: Any, name: str = "value") -> None:
    """Check that a tensor is detached from autograd (no ``grad_fn``, no ``requires_grad``)."""
    is_tensor(value, name)
    if value.requires_grad or value.grad_fn is not None:
        _fail(f"{name} is still attached to the autograd graph: use .detach() or torch.no_grad().")


def true(condition: Any, message: str) -> None:
    """Check a condition; ``message`` says what should have been true and how to fix it."""
    if not bool(condition):
        _fail(message)


def raises(fn: Callable[[], Any], exception: type[BaseException], name: str = "the call") -> BaseException:
    """Check that calling ``fn()`` raises ``exception``; returns the exception raised."""
    try:
        fn()
    except exception as err:
        return err
    except Exception as err:  # noqa: BLE001 - we report what was raised instead
        _fail(f"{name} should raise {exception.__name__}, but it raised {type(err).__name__}: {err}")
    _fail(f"{name} should raise {exception.__name__}, but it returned normally.")
    raise AssertionError("unreachable")


def _resolve(dotted: str) -> tuple[Any, str]:
    """``"torch.nn.functional.softmax"`` -> (the module ``torch.nn.functional``, ``"softmax"``)."""
    import importlib

    parts = dotted.split(".")
    if len(parts) < 2:
        raise ValueError(f"forbid needs dotted names such as 'torch.softmax', got {dotted!r}")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
        except AttributeError:
            break
        if hasattr(owner, parts[-1]):
            return owner, parts[-1]
        break
    raise ValueError(f"forbid: {dotted!r} does not name an existing function or method")


_INHERITED = object()


class forbid:  # noqa: N801 - used like a function: ``with check.forbid(...):``
    """Make the named built-ins raise while the block runs, so a check can enforce a task's rule.

        with check.forbid("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax",
                          rule="write softmax yourself from exp and sum"):
            out = my_softmax(x)

    Any call to a forbidden name inside the block raises :class:`ForbiddenCall` with a message
    that names the call and the rule. The originals are put back when the block ends, even after
    an error. Only the names given are patched: list every spelling the task forbids.
    """

    def __init__(self, *names: str, rule: str) -> None:
        if not names:
            raise ValueError("forbid needs at least one name, e.g. check.forbid('torch.softmax', rule=...)")
        if not isinstance(rule, str) or not rule.strip():
            raise ValueError("forbid needs rule=: a sentence that tells the learner what to do instead")
        self.rule = rule
        self._targets = [(n, *_resolve(n)) for n in names]
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> "forbid":
        for dotted, owner, attr in self._targets:
            own = vars(owner) if hasattr(owner, "__dict__") else {}
            # An inherited method (torch.Tensor.sum lives on a C base class) is shadowed, then removed.
            self._saved.append((owner, attr, own[attr] if attr in own else _INHERITED))
            setattr(owner, attr, self._blocker(dotted))
        return self

    def _blocker(self, dotted: str) -> Callable[..., Any]:
        rule = self.rule

        def blocked(*args: Any, **kwargs: Any) -> Any:
            raise ForbiddenCall(f"this task does not allow {dotted}: {rule}")

        return blocked

    def __exit__(self, *exc: Any) -> None:
        for owner, attr, original in reversed(self._saved):
            if original is _INHERITED:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        self._saved.clear()


def passed(task: str = "Check") -> None:
    """Print the one-line success message at the end of a check cell."""
    print(f"✅ {task} passed")
