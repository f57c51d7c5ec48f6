"""grad_fn names, strides and no_grad views, checked against PyTorch's.

Every check runs without PyTorch against the values PyTorch 2.13 gives (written out
here); where torch is importable the same snippets also run on it and must agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import srcgrad as sg


def _name(t: Any) -> str | None:
    return None if t.grad_fn is None else type(t.grad_fn).__name__


def _next(t: Any) -> list:
    return [None if f is None else type(f).__name__ for f, _ in t.grad_fn.next_functions]


# -- grad_fn names ------------------------------------------------------------------------------

def _set(index: Any, value: Callable) -> Callable:
    def fn(m: Any, x: Any) -> Any:
        a = x * 1
        a[index] = value(m)
        return a
    return fn


# (snippet, PyTorch's grad_fn name, PyTorch's next_functions names)
NAME_CASES: list[tuple[str, Callable, str, list]] = [
    ("a[:] = 2.0", _set(slice(None), lambda m: 2.0), "FillBackward3", ["MulBackward0", None]),
    ("a[...] = 2.0", _set(Ellipsis, lambda m: 2.0), "FillBackward3", ["MulBackward0", None]),
    ("a[:, :] = 2.0", _set((slice(None), slice(None)), lambda m: 2.0), "FillBackward3", ["MulBackward0", None]),
    ("a[0:3] = 2.0", _set(slice(0, 3), lambda m: 2.0), "FillBackward3", ["MulBackward0", None]),
    ("a[:] = tensor(2.0)", _set(slice(None), lambda m: m.tensor(2.0)), "FillBackward3", ["MulBackward0", None]),
    ("a[:] = ones(4)", _set(slice(None), lambda m: m.ones(4)), "CopyBackwards", ["MulBackward0", None]),
    ("a[:] = ones(3, 4)", _set(slice(None), lambda m: m.ones(3, 4)), "CopyBackwards", ["MulBackward0", None]),
    ("a[0] = 2.0", _set(0, lambda m: 2.0), "CopySlices", ["MulBackward0", None]),
    ("a[0:2] = 2.0", _set(slice(0, 2), lambda m: 2.0), "CopySlices", ["MulBackward0", None]),
    ("a[-3:] = 2.0", _set(slice(-3, None), lambda m: 2.0), "CopySlices", ["MulBackward0", None]),
    ("a[None] = 2.0", _set(None, lambda m: 2.0), "CopySlices", ["MulBackward0", None]),
    ("a.fill_(2.0)", lambda m, x: (x * 1).fill_(2.0), "FillBackward2", ["MulBackward0"]),
    ("a.fill_(tensor(2.0))", lambda m, x: (x * 1).fill_(m.tensor(2.0)), "FillBackward3", ["MulBackward0", None]),
    ("a.zero_()", lambda m, x: (x * 1).zero_(), "ZeroBackward0", ["MulBackward0"]),
    ("a.copy_(ones(3, 4))", lambda m, x: (x * 1).copy_(m.ones(3, 4)), "CopyBackwards", ["MulBackward0", None]),
    ("a.copy_(x * 3)", lambda m, x: (x * 1).copy_(x * 3), "CopyBackwards", ["MulBackward0", "MulBackward0"]),
    ("x.squeeze()", lambda m, x: x[None].squeeze(), "SqueezeBackward0", ["UnsqueezeBackward0"]),
    ("x.squeeze(0)", lambda m, x: x[None].squeeze(0), "SqueezeBackward1", ["UnsqueezeBackward0"]),
    ("x.squeeze((0,))", lambda m, x: x[None].squeeze((0,)), "SqueezeBackward2", ["UnsqueezeBackward0"]),
    ("x.squeeze([0, 1])", lambda m, x: x[None].squeeze([0, 1]), "SqueezeBackward2", ["UnsqueezeBackward0"]),
    ("x.index_select(0, idx)", lambda m, x: x.index_select(0, m.tensor([0, 2])), "IndexSelectBackward0",
     ["AccumulateGrad"]),
    ("x.index_select(1, idx)", lambda m, x: x.index_select(1, m.tensor([3, 3])), "IndexSelectBackward0",
     ["AccumulateGrad"]),
    ("x.split([1, 2])[0]", lambda m, x: x.split([1, 2])[0], "SplitWithSizesBackward0", ["AccumulateGrad"]),
    ("x.split((3, 1), 1)[1]", lambda m, x: x.split((3, 1), 1)[1], "SplitWithSizesBackward0", ["AccumulateGrad"]),
    ("torch.split(x, [1, 2])[1]", lambda m, x: m.split(x, [1, 2])[1], "SplitWithSizesBackward0",
     ["AccumulateGrad"]),
    ("x.split(1)[0]", lambda m, x: x.split(1)[0], "SplitBackward0", ["AccumulateGrad"]),
    ("x.chunk(2)[0]", lambda m, x: x.chunk(2)[0], "SplitBackward0", ["AccumulateGrad"]),
    ("x.t().reshape(12)", lambda m, x: x.t().reshape(12), "UnsafeViewBackward0", ["CloneBackward0"]),
    ("x.t().flatten()", lambda m, x: x.t().flatten(), "UnsafeViewBackward0", ["CloneBackward0"]),
    ("x.reshape(12)", lambda m, x: x.reshape(12), "ViewBackward0", ["AccumulateGrad"]),
    ("x.t().reshape(4, 3)", lambda m, x: x.t().reshape(4, 3), "ReshapeAliasBackward0", ["TBackward0"]),
    ("x.t().reshape(2, 2, 3)", lambda m, x: x.t().reshape(2, 2, 3), "ReshapeAliasBackward0", ["TBackward0"]),
    ("x[:, 1:].reshape(3, 1, 3)", lambda m, x: x[:, 1:].reshape(3, 1, 3), "ReshapeAliasBackward0",
     ["SliceBackward0"]),
    ("x[1:].reshape(8)", lambda m, x: x[1:].reshape(8), "ViewBackward0", ["SliceBackward0"]),
    ("x.t().view(4, 3)", lambda m, x: x.t().view(4, 3), "ViewBackward0", ["TBackward0"]),
    ("x.reshape(3, 4)", lambda m, x: x.reshape(3, 4), "ViewBackward0", ["AccumulateGrad"]),
    ("x.ravel()", lambda m, x: x.ravel(), "ViewBackward0", ["AccumulateGrad"]),
    ("x.t().ravel()", lambda m, x: x.t().ravel(), "ViewBackward0", ["CloneBackward0"]),
    ("torch.ravel(x[:, 1:])", lambda m, x: m.ravel(x[:, 1:]), "ViewBackward0", ["CloneBackward0"]),
    ("atleast_1d(x[0, 0])", lambda m, x: m.atleast_1d(x[0, 0]), "ViewBackward0", ["SelectBackward0"]),
    ("atleast_2d(x[0])", lambda m, x: m.atleast_2d(x[0]), "UnsqueezeBackward0", ["SelectBackward0"]),
    ("atleast_3d(x[0])", lambda m, x: m.atleast_3d(x[0]), "UnsqueezeBackward0", ["UnsqueezeBackward0"]),
    ("atleast_3d(x)", lambda m, x: m.atleast_3d(x), "UnsqueezeBackward0", ["AccumulateGrad"]),
    ("atleast_3d(x[0, 0])", lambda m, x: m.atleast_3d(x[0, 0]), "ViewBackward0", ["SelectBackward0"]),
]


@pytest.mark.parametrize("snippet,fn,name,nxt", NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_grad_fn_names(snippet: str, fn: Callable, name: str, nxt: list) -> None:
    x = sg.randn(3, 4, requires_grad=True)
    out = fn(sg, x)
    assert out.requires_grad
    assert _name(out) == name
    assert _next(out) == nxt


@pytest.mark.parametrize("snippet,fn,name,nxt", NAME_CASES, ids=[c[0] for c in NAME_CASES])
def test_grad_fn_names_match_torch(snippet: str, fn: Callable, name: str, nxt: list) -> None:
    torch = pytest.importorskip("torch")
    x = torch.randn(3, 4, requires_grad=True)
    out = fn(torch, x)
    assert (_name(out), _next(out)) == (name, nxt)


def test_unsafe_view_chain_and_gradients() -> None:
    x = sg.randn(3, 4, requires_grad=True)
    r = x.t().reshape(12)
    clone = r.grad_fn.next_functions[0][0]
    assert type(clone).__name__ == "CloneBackward0"
    assert [type(f).__name__ for f, _ in clone.next_functions] == ["TBackward0"]
    assert r.is_contiguous() and r.stride() == (1,)
    w = sg.arange(12.0)
    (r * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.arange(12.0).reshape(4, 3).T)


def test_whole_tensor_assignment_values_and_gradients() -> None:
    x = sg.randn(3, 4, requires_grad=True)
    v = sg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a = x * 1
    a[:] = v
    assert _name(a) == "CopyBackwards" and _next(a) == ["MulBackward0", "ExpandBackward0"]
    np.testing.assert_array_equal(a.detach().numpy(), np.broadcast_to(v.detach().numpy(), (3, 4)))
    (a * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
    np.testing.assert_array_equal(v.grad.numpy(), np.full(4, 6.0))
    b = x * 1
    b.fill_(2.5)
    assert b.requires_grad and b._version == 1
    np.testing.assert_array_equal(b.detach().numpy(), np.full((3, 4), 2.5, np.float32))
    c = x * 1
    with sg.no_grad():  # (a change autograd does not see keeps the grad_fn)
        c.fill_(1.0)
    assert _name(c) == "MulBackward0"


def test_strides_of_ravel_and_atleast() -> None:
    x = sg.randn(3, 4, requires_grad=True)
    y = sg.randn(3)
    s = sg.tensor(1.0)
    assert x.t().ravel().stride() == (1,) and x.t().ravel().is_contiguous()
    assert sg.atleast_3d(y).shape == (1, 3, 1) and sg.atleast_3d(y).stride() == (3, 1, 1)
    assert sg.atleast_3d(x.t()).stride() == (1, 4, 1) and not sg.atleast_3d(x.t()).is_contiguous()
    assert sg.atleast_2d(y).stride() == (3, 1) and sg.atleast_2d(s).shape == (1, 1)
    assert sg.atleast_1d(y) is y and sg.atleast_2d(x) is x and sg.atleast_1d(s).shape == (1,)
    pair = sg.atleast_2d(s, y)
    assert isinstance(pair, tuple) and [p.shape for p in pair] == [(1, 1), (1, 3)]
    assert [p.shape for p in sg.atleast_3d([s, x])] == [(1, 1, 1), (3, 4, 1)]
    one = sg.atleast_1d((y,))
    assert isinstance(one, tuple) and len(one) == 1 and one[0] is y


def test_strides_of_ravel_and_atleast_match_torch() -> None:
    torch = pytest.importorskip("torch")
    for m in (sg, torch):
        x = m.randn(3, 4)
        got = [(tuple(t.shape), t.stride(), t.is_contiguous())
               for t in (x.t().ravel(), x[:, ::2].ravel(), m.atleast_3d(x.t()), m.atleast_3d(x[0]),
                         m.atleast_2d(x[:, 0]), m.atleast_1d(x[0, 0]), m.atleast_3d(x[0, 0]))]
        if m is sg:
            mine = got
    assert mine == got


# -- views taken under no_grad ---------------------------------------------------------------

VIEWS: list[tuple[str, Callable]] = [
    ("view", lambda x: x.view(12)),
    ("reshape", lambda x: x.reshape(2, 6)),
    ("reshape same shape", lambda x: x.reshape(3, 4)),
    ("reshape_alias", lambda x: x.t().reshape(2, 2, 3)),
    ("view_as", lambda x: x.view_as(x)),
    ("flatten", lambda x: x.flatten()),
    ("ravel", lambda x: x.ravel()),
    ("unflatten", lambda x: x.unflatten(1, (2, 2))),
    ("slice", lambda x: x[1:]),
    ("[:]", lambda x: x[:]),
    ("[...]", lambda x: x[...]),
    ("select", lambda x: x[0]),
    ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("None index", lambda x: x[None]),
    ("t", lambda x: x.t()),
    ("T", lambda x: x.T),
    ("transpose", lambda x: x.transpose(0, 1)),
    ("permute", lambda x: x.permute(1, 0)),
    ("expand", lambda x: x[None].expand(2, 3, 4)),
    ("expand same", lambda x: x.expand(3, 4)),
    ("unsqueeze", lambda x: x.unsqueeze(0)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0)),
    ("split", lambda x: x.split(1)[0]),
    ("split sizes", lambda x: x.split([1, 2])[1]),
    ("chunk", lambda x: x.chunk(2)[0]),
    ("unbind", lambda x: x.unbind(1)[0]),
    ("atleast_3d", lambda x: (sg if isinstance(x, sg.Tensor) else __import__("torch")).atleast_3d(x)),
]
NOT_VIEWS: list[tuple[str, Callable]] = [
    ("detach", lambda x: x.detach()),
    ("data", lambda x: x.data),
    ("reshape that copies", lambda x: x.t().reshape(12)),
    ("ravel that copies", lambda x: x.t().ravel()),
    ("advanced index", lambda x: x[[0, 1]]),
    ("clone", lambda x: x.clone()),
    ("mul", lambda x: x * 1),
]
DIRECT = ("A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
          "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
          "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
          "tracked) or both outside (if you want the inplace to be tracked).")
INDIRECT = ("A view was created in no_grad mode and its base or another view of its base has been modified "
            "inplace with grad mode enabled. Given that")


def _observed(m: Any, fn: Callable, base_leaf: bool = True) -> tuple:
    x = m.randn(3, 4, requires_grad=True)
    base = x if base_leaf else x * 2
    with m.no_grad():
        v = fn(base)
    seen = (v.requires_grad, v.grad_fn is None, v.is_leaf)
    try:
        v.mul_(2)
        err = None
    except RuntimeError as e:
        err = str(e)
    return seen + (err,)


@pytest.mark.parametrize("label,fn", VIEWS, ids=[v[0] for v in VIEWS])
@pytest.mark.parametrize("base_leaf", [True, False], ids=["leaf", "nonleaf"])
def test_no_grad_view(label: str, fn: Callable, base_leaf: bool) -> None:
    assert _observed(sg, fn, base_leaf) == (True, True, True, DIRECT)


@pytest.mark.parametrize("label,fn", NOT_VIEWS, ids=[v[0] for v in NOT_VIEWS])
def test_no_grad_not_a_view(label: str, fn: Callable) -> None:
    assert _observed(sg, fn) == (False, True, True, None)


@pytest.mark.parametrize("label,fn", VIEWS + NOT_VIEWS, ids=[v[0] for v in VIEWS + NOT_VIEWS])
def test_no_grad_views_match_torch(label: str, fn: Callable) -> None:
    torch = pytest.importorskip("torch")
    for base_leaf in (True, False):
        assert _observed(sg, fn, base_leaf) == _observed(torch, fn, base_leaf)


def _scenarios(m: Any) -> dict:
    """What PyTorch users see around a view taken under no_grad."""
    out: dict = {}

    def attempt(key: str, f: Callable) -> None:
        try:
            out[key] = f()
        except RuntimeError as e:
            out[key] = "error: " + str(e)[:100]

    x = m.randn(3, 4, requires_grad=True)
    with m.no_grad():
        v = x.view(12)
    y = v * 2
    out["ops on it require grad"] = (y.requires_grad, type(y.grad_fn).__name__, _next(y))
    y.sum().backward()
    out["backward reaches nothing"] = (x.grad is None, v.grad is None)
    out["clone"] = _next(v.clone())
    out["repr"] = repr(v).endswith("requires_grad=True)")
    w = v[1:]
    out["view of it"] = (w.requires_grad, type(w.grad_fn).__name__, w.is_leaf, _next(w))
    attempt("in place on a view of it", lambda: w.mul_(2))
    with m.no_grad():
        u = v.view(3, 4)
    out["no_grad view of it"] = (u.requires_grad, u.grad_fn is None, u.is_leaf)
    attempt("in place on the no_grad view of it", lambda: u.add_(1))
    attempt("setitem in grad mode", lambda: v.__setitem__(0, 1.0))
    attempt("copy_ in grad mode", lambda: v.copy_(m.zeros(12)))
    out["detach of it"] = (v.detach().requires_grad, v.detach().is_leaf)
    out["detach in place ok"] = v.detach().zero_() is not None

    x = m.randn(3, 4, requires_grad=True)
    with m.no_grad():
        v = x[0]
        v.mul_(2)  # in place, under no_grad: allowed, and shows in the base
    out["in place under no_grad writes the base"] = bool((x[0] == v).all())
    attempt("grad_fn after in place", lambda: v.grad_fn)
    attempt("is_leaf after in place", lambda: v.is_leaf)
    out["requires_grad after in place"] = v.requires_grad
    out["repr after in place"] = repr(v).endswith("grad_fn=<Invalid>)")
    attempt("in place in grad mode after", lambda: v.mul_(2))

    x = m.randn(3, 4, requires_grad=True)
    with m.no_grad():
        v = x[1]
        x.mul_(2)  # the base changes
    attempt("grad_fn after the base changed", lambda: v.grad_fn)

    x = m.randn(3, 4, requires_grad=True)
    with m.no_grad():
        v = x.view(12)
    v.requires_grad_(False)
    out["requires_grad_(False)"] = (v.requires_grad, v.is_leaf)
    v.retain_grad()
    out["retain_grad"] = v.retains_grad
    v.requires_grad_(True)
    (v * 3).sum().backward()
    out["requires_grad_(True): a leaf of its own"] = (v.grad.tolist() == [3.0] * 12, x.grad is None)
    return out


def test_no_grad_view_scenarios() -> None:
    got = _scenarios(sg)
    direct = "error: " + DIRECT[:100]
    view_of_view = ("Output 0 of {} is a view of a view which was created in no_grad mode and is being modified "
                    "inplace with grad mode enabled.")
    assert got == {
        "ops on it require grad": (True, "MulBackward0", [None, None]),
        "backward reaches nothing": (True, True),
        "clone": [None],
        "repr": True,
        "view of it": (True, "SliceBackward0", False, [None]),
        "in place on a view of it": "error: " + view_of_view.format("Slice")[:100],
        "no_grad view of it": (True, True, True),
        "in place on the no_grad view of it": direct,
        "setitem in grad mode": "error: " + view_of_view.format("Select")[:100],
        "copy_ in grad mode": direct,
        "detach of it": (False, True),
        "detach in place ok": True,
        "in place under no_grad writes the base": True,
        "grad_fn after in place": "error: " + INDIRECT[:100],
        "is_leaf after in place": "error: " + INDIRECT[:100],
        "requires_grad after in place": True,
        "repr after in place": True,
        "in place in grad mode after": direct,
        "grad_fn after the base changed": "error: " + INDIRECT[:100],
        "requires_grad_(False)": (True, True),
        "retain_grad": False,
        "requires_grad_(True): a leaf of its own": (True, True),
    }


def test_no_grad_view_scenarios_match_torch() -> None:
    torch = pytest.importorskip("torch")
    assert _scenarios(sg) == _scenarios(torch)


def test_updates_under_no_grad_still_work() -> None:
    # the `w -= lr * w.grad` idiom, updates through views of parameters, and an optimiser
    w = sg.randn(3, 4, requires_grad=True)
    (w * w).sum().backward()
    before = w.detach().numpy().copy()
    with sg.no_grad():
        w -= 0.1 * w.grad
        for row in w:  # (views of w, changed in place under no_grad: they write through)
            row.mul_(0.5)
        w[0].zero_()
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    expect = before * 0.8 * 0.5
    expect[0] = 0
    np.testing.assert_allclose(w.detach().numpy(), expect, rtol=1e-6)
    w.grad = None
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 4), 3.0, np.float32))
    opt = sg.optim.SGD([w], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        loss = (w.view(12) ** 2).sum()
        loss.backward()
        opt.step()
    assert w.is_leaf and w.grad_fn is None and np.isfinite(w.detach().numpy()).all()


def test_no_grad_views_leave_gradients_alone() -> None:
    # views of parameters taken under no_grad (an evaluation pass) change nothing for training
    w = sg.randn(4, 3, requires_grad=True)
    x = sg.randn(2, 3)
    with sg.no_grad():
        ev = x @ w.t()
        assert not ev.requires_grad
    loss = (x @ w.t()).sum()
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(x.numpy().sum(0), (4, 3)), rtol=1e-6)


def test_messages_are_pytorch_text() -> None:
    x = sg.randn(3, requires_grad=True)
    with sg.no_grad():
        v = x[:2]
    with pytest.raises(RuntimeError, match=re.escape(DIRECT)):
        v += 1


# -- views share their base's storage ---------------------------------------------------------
#
# Each snippet returns tensors; the values are PyTorch 2.13's, and where torch is importable
# the same snippet runs on it too.

def _base_to_views(m: Any) -> list:
    x = m.zeros(2, 3)
    a, b, c, d = x[0], x.view(6), x.t(), x.unsqueeze(0)
    e, f = x.diagonal(), x[:, 1:]
    x.add_(1)
    x[1, 2] = 5
    return [a, b, c, d, e, f]


def _view_to_base(m: Any) -> list:
    x = m.zeros(2, 3)
    x.view(6)[4] = 2
    x.t()[0].fill_(3)  # (the transposed view is gone before fill_ runs; x still sees it)
    x.unsqueeze(0).mul_(2)
    x.diagonal().add_(1)
    x.T[2] += 7
    x.narrow(1, 1, 1).sub_(1)
    x.permute(1, 0)[1, 1] = -1
    return [x]


def _siblings(m: Any) -> list:
    x = m.arange(6.0)
    a, b = x[0:4], x[2:6]
    a.mul_(10)
    c, d = x.split(3)
    d.fill_(-1)
    return [x, a, b, c, d]


def _nested(m: Any) -> list:
    x = m.zeros(4, 4)
    r = x[1]
    s = r[1:3]
    t = s.view(2, 1)
    t.add_(1)
    x.mul_(3)
    u = x.unbind(1)[2]
    u.fill_(9)
    return [x, r, s, t, u]


def _chunks_and_reshape(m: Any) -> list:
    x = m.zeros(2, 6)
    parts = x.chunk(3, 1)
    parts[1].add_(4)
    y = x.reshape(3, 4)
    y[2].fill_(1)
    return [x, y, x.flatten(), *parts]


def _data_and_detach(m: Any) -> list:
    x = m.zeros(3)
    v = x[1:]
    x.data.add_(1)
    d = x.detach()
    d[0] = 7
    w = d[:2]
    x.mul_(2)
    return [x, v, d, w]


def _rebound(m: Any) -> list:
    x = m.zeros(3)
    v = x[:2]
    x.data = m.ones(3)  # x has other storage now: v keeps the old one
    x.add_(1)
    v.add_(5)
    return [x, v]


STORAGE_CASES: list[tuple[str, Callable, list]] = [
    ("base changed, views follow", _base_to_views,
     [[1, 1, 1], [1, 1, 1, 1, 1, 5], [[1, 1], [1, 1], [1, 5]], [[[1, 1, 1], [1, 1, 5]]], [1, 1], [[1, 1], [1, 5]]]),
    ("views changed, base follows", _view_to_base, [[[7, -1, 7], [6, -1, 7]]]),
    ("overlapping siblings", _siblings,
     [[0, 10, 20, -1, -1, -1], [0, 10, 20, -1], [20, -1, -1, -1], [0, 10, 20], [-1, -1, -1]]),
    ("views of views", _nested,
     [[[0, 0, 9, 0], [0, 3, 9, 0], [0, 0, 9, 0], [0, 0, 9, 0]], [0, 3, 9, 0], [3, 9], [[3], [9]], [9, 9, 9, 9]]),
    ("chunk, reshape, flatten", _chunks_and_reshape,
     [[[0, 0, 4, 4, 0, 0], [0, 0, 1, 1, 1, 1]], [[0, 0, 4, 4], [0, 0, 0, 0], [1, 1, 1, 1]],
      [0, 0, 4, 4, 0, 0, 0, 0, 1, 1, 1, 1], [[0, 0], [0, 0]], [[4, 4], [1, 1]], [[0, 0], [1, 1]]]),
    (".data and detach() aliases", _data_and_detach, [[14, 2, 2], [2, 2], [14, 2, 2], [14, 2]]),
    ("x.data = y cuts the views", _rebound, [[2, 2, 2], [5, 5]]),
]


@pytest.mark.parametrize("label,fn,expected", STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES])
def test_views_share_storage(label: str, fn: Callable, expected: list) -> None:
    got = [t.numpy().tolist() for t in fn(sg)]
    assert got == expected


@pytest.mark.parametrize("label,fn,expected", STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES])
def test_views_share_storage_match_torch(label: str, fn: Callable, expected: list) -> None:
    torch = pytest.importorskip("torch")
    assert [t.numpy().tolist() for t in fn(torch)] == expected


def _grads_through_views(m: Any) -> tuple:
    w = m.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x = w * 1
    v, r = x[:2], x.view(2, 2)
    x.mul_(w)
    v.add_(w[2:])
    ((r ** 2).sum() + (v * 3).sum() + x.sum()).backward()
    return [w.grad], [_name(v), _name(r), _name(x)]


def _param_view_after_step(m: Any) -> tuple:
    p = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    pt = p.t()
    with m.no_grad():
        p.sub_(1)
    (pt * m.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    return [pt.detach(), p.grad], [_name(pt), pt.requires_grad]


def _view_written_twice(m: Any) -> tuple:
    a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = m.tensor([5.0, 6.0], requires_grad=True)
    x = a * 1
    x[1:].mul_(b)
    y = x.unsqueeze(1)
    y[0, 0] = b[0] * 2
    (x * m.tensor([1.0, 10.0, 100.0])).sum().backward()
    return [a.grad, b.grad, x.detach()], [_name(x), _name(y)]


def _diagonal_view(m: Any) -> tuple:
    a = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    x = a * 2
    d = x.diagonal()
    d.mul_(a.diagonal())
    x.sum().backward()
    return [a.grad, x.detach()], [_name(x), _name(d)]


GRAD_STORAGE_CASES: list[tuple[str, Callable, list, list]] = [
    ("gradients through changed views", _grads_through_views, [[24, 80, 126, 284]],
     ["AsStridedBackward0", "AsStridedBackward0", "CopySlices"]),
    ("a parameter's view after an update", _param_view_after_step, [[[0, 2], [1, 3]], [[1, 3], [2, 4]]],
     ["AsStridedBackward0", True]),
    ("a view written twice", _view_written_twice, [[0, 50, 600], [22, 300], [10, 10, 18]],
     ["CopySlices", "AsStridedBackward0"]),
    ("diagonal", _diagonal_view, [[[4, 2], [2, 16]], [[2, 4], [6, 32]]], ["CopySlices", "AsStridedBackward0"]),
]


@pytest.mark.parametrize("label,fn,values,names", GRAD_STORAGE_CASES, ids=[c[0] for c in GRAD_STORAGE_CASES])
def test_gradients_through_shared_storage(label: str, fn: Callable, values: list, names: list) -> None:
    got, got_names = fn(sg)
    assert [t.numpy().tolist() for t in got] == values
    assert got_names == names


@pytest.mark.parametrize("label,fn,values,names", GRAD_STORAGE_CASES, ids=[c[0] for c in GRAD_STORAGE_CASES])
def test_gradients_through_shared_storage_match_torch(label: str, fn: Callable, values: list, names: list) -> None:
    torch = pytest.importorskip("torch")
    got, got_names = fn(torch)
    assert ([t.numpy().tolist() for t in got], got_names) == (values, names)


def test_a_view_saved_for_backward_then_its_base_changed_raises() -> None:
    x = sg.ones(3, requires_grad=True).clone()
    v = x[:2]
    y = v * v  # saves v
    x.add_(1)
    with pytest.raises(RuntimeError, match=re.escape(
            "one of the variables needed for gradient computation has been modified by an inplace operation: "
            "[torch.FloatTensor [2]], which is output 0 of AsStrided, is at version 1; expected version 0 "
            "instead.")):
        y.sum().backward()


def test_refused_writes_through_views_leave_everything_as_it_was() -> None:
    x = sg.zeros(3)
    e = x.expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                           "memory location. Please clone"):
        e.add_(1)
    assert e._version == 0 and x._version == 0 and (x.numpy() == 0).all()
    e1 = x.unsqueeze(0).expand(1, 3)  # expands nothing: a plain view
    e1.add_(1)
    np.testing.assert_array_equal(x.numpy(), [1, 1, 1])
    p = sg.zeros(3, requires_grad=True)
    v = p[:2]
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        v.mul_(2)
    assert v._version == 0 and p._version == 0 and v.grad_fn is not None and _name(v) == "SliceBackward0"


def test_a_base_indexed_many_times_keeps_a_short_list_of_views() -> None:
    data = sg.arange(1000.0).reshape(100, 10)
    total = 0.0
    for i in range(100):
        total += float(data[i].sum())
    assert total == float(np.arange(1000.0).sum())
    assert data._views is None  # (no view is left: in-place ops and replays take their fast path)
    keep = [data[i] for i in range(50)]
    for i in range(1000):  # temporaries among live views: the list stays short
        data[i % 100].sum()
    assert data._views.count == 50 and len(data._views.refs) <= 2 * 50 + 8 + 1
    data.mul_(2)
    assert [float(k[0]) for k in keep[:3]] == [0.0, 20.0, 40.0]


def test_a_compiled_update_reaches_views_taken_outside() -> None:
    p = sg.tensor([1.0, 2.0, 3.0])
    first = p[:1]

    @sg.compile
    def step(scale: float) -> None:
        p.mul_(scale)

    for _ in range(3):
        step(2.0)
        assert float(first) == float(p[0])
    assert float(first) == 8.0 and step.compiles == 1

    @sg.compile
    def bump(v: Any) -> None:
        v.add_(1)

    base = sg.tensor([[0.0, 0.0], [10.0, 10.0]])
    bump(base[0])
    bump(base[1])  # another part of base: another program (the first writes row 0)
    bump(base[1])
    np.testing.assert_array_equal(base.numpy(), [[1, 1], [12, 12]])
    assert bump.compiles == 2 and "a view of another tensor, or of another part of it" in bump.cache_info()[
        "entries"][1]["reason"]


def test_views_read_again_after_a_change_have_the_right_gradients() -> None:
    # every kind of view, read again from its changed base (AsStridedBackward0 over each
    # primitive), against float64 finite differences
    weights = [sg.tensor(np.random.default_rng(k).standard_normal(s), dtype=sg.float64)
               for k, s in enumerate([(2, 3), (1, 2, 3), (3, 2), (6,), (2,), (3,), (2, 2)])]

    def f(a: Any) -> Any:
        x = a * 1
        views = [x[...], x.expand(1, 2, 3), x.t(), x.view(6), x.diagonal(), x[1], x[:, 1:]]
        x.mul_(a)
        x[0, 0] = a[1, 2] * 3
        assert {_name(v) for v in views} == {"AsStridedBackward0"}
        return sum((v * w).sum() for v, w in zip(views, weights))

    a = sg.tensor(np.random.default_rng(9).standard_normal((2, 3)), dtype=sg.float64, requires_grad=True)
    assert sg.autograd.gradcheck(f, (a,))
    assert sg.autograd.gradgradcheck(f, (a,))


def test_is_view_as_pytorch_reports_it() -> None:
    x = sg.ones(2, 3)
    checks = [x, x[0], x.view(6), x.t(), x * 2, x.detach()]
    assert [t._is_view() for t in checks] == [False, True, True, True, False, False]
    try:
        import torch
    except ImportError:
        return
    tx = torch.ones(2, 3)
    assert [t._is_view() for t in [tx, tx[0], tx.view(6), tx.t(), tx * 2]] == [False, True, True, True, False]


def test_inplace_write_to_an_expanded_temporary_raises():
    # the base is gone at once (views hold it weakly), but the expanded layout stays
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor refers to a single "
                                           "memory location"):
        sg.ones(1, 3).expand(2, 3).add_(1)
