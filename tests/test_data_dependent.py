"""srcgrad.data_dependent: ops whose result's shape depends on values (nonzero, argwhere,
masked_select, unique, unique_consecutive, bincount) and isin: values against NumPy,
masked_select's gradient, errors, behaviour under compile, and PyTorch where installed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcgrad as sg

X = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, 3.0]], dtype=np.float32)


def test_nonzero_and_argwhere():
    x = sg.tensor(X)
    np.testing.assert_array_equal(sg.nonzero(x).numpy(), np.argwhere(X))
    np.testing.assert_array_equal(x.argwhere().numpy(), np.argwhere(X))
    rows, cols = x.nonzero(as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), np.nonzero(X)[0])
    np.testing.assert_array_equal(cols.numpy(), np.nonzero(X)[1])
    assert sg.nonzero(x).dtype == sg.int64
    assert sg.nonzero(sg.zeros(2, 3)).shape == (0, 2)
    assert sg.nonzero(sg.tensor(5.0)).shape == (1, 0) and sg.nonzero(sg.tensor(0.0)).shape == (0, 0)
    (only,) = sg.nonzero(sg.tensor(5.0), as_tuple=True)
    assert only.tolist() == [0]
    # a pending input is computed first
    np.testing.assert_array_equal(sg.nonzero(sg.tensor(X) * 2 - 3).numpy(), np.argwhere(X * 2 - 3))


def test_masked_select_values_broadcasting_and_gradient():
    x = sg.tensor(X, requires_grad=True)
    sel = sg.masked_select(x, x > 0)
    np.testing.assert_array_equal(sel.detach().numpy(), X[X > 0])
    (sel * sg.tensor([10.0, 20.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 10, 0], [0, 0, 20]])
    # the mask broadcasts against the input (and the input against the mask)
    mask = np.array([[True, False, True], [False, False, True]])
    out = sg.arange(3.0).masked_select(sg.tensor(mask))
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(np.arange(3.0), (2, 3))[mask])
    assert sg.masked_select(sg.tensor(2.0), sg.tensor(True)).tolist() == [2.0]


def test_masked_select_errors():
    with pytest.raises(RuntimeError, match="expected BoolTensor for mask, got Float"):
        sg.masked_select(sg.ones(3), sg.ones(3))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(2\)"):
        sg.masked_select(sg.ones(3), sg.ones(2) > 0)


def test_unique():
    a = np.array([3, 1, 2, 3, 1, 7])
    values, inverse, counts = sg.unique(sg.tensor(a), return_inverse=True, return_counts=True)
    ev, ei, ec = np.unique(a, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.numpy(), ev)
    np.testing.assert_array_equal(inverse.numpy(), ei)
    np.testing.assert_array_equal(counts.numpy(), ec)
    np.testing.assert_array_equal(values.numpy()[inverse.numpy()], a)  # inverse rebuilds the input
    # the inverse has the input's shape; floats keep their dtype
    m = sg.tensor([[1.5, 0.5], [0.5, 2.5]])
    v, i = m.unique(return_inverse=True)
    assert v.dtype == sg.float32 and v.tolist() == [0.5, 1.5, 2.5] and i.tolist() == [[1, 0], [0, 2]]
    # along a dim: distinct rows
    rows = sg.tensor([[1, 2], [1, 2], [0, 5]])
    v, i, c = sg.unique(rows, dim=0, return_inverse=True, return_counts=True)
    assert v.tolist() == [[0, 5], [1, 2]] and i.tolist() == [1, 1, 0] and c.tolist() == [1, 2]
    with pytest.raises(IndexError, match="Dimension out of range"):
        sg.unique(rows, dim=2)
    # no graph through unique
    assert not sg.unique(sg.ones(3, requires_grad=True)).requires_grad


def test_unique_consecutive():
    a = sg.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    v, i, c = sg.unique_consecutive(a, return_inverse=True, return_counts=True)
    assert v.tolist() == [1, 2, 3, 1, 2]
    assert i.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and c.tolist() == [2, 2, 1, 2, 1]
    rows = sg.tensor([[1, 2], [1, 2], [0, 5], [1, 2]])
    v, c = rows.unique_consecutive(return_counts=True, dim=0)
    assert v.tolist() == [[1, 2], [0, 5], [1, 2]] and c.tolist() == [2, 1, 1]


def test_bincount():
    idx = np.array([0, 1, 1, 3, 1])
    np.testing.assert_array_equal(sg.bincount(sg.tensor(idx)).numpy(), np.bincount(idx))
    w = np.array([0.5, 1.0, 1.0, 2.0, 0.25], dtype=np.float32)
    out = sg.tensor(idx).bincount(sg.tensor(w), minlength=6)
    assert out.dtype == sg.float32 and out.shape == (6,)
    np.testing.assert_allclose(out.numpy(), np.bincount(idx, w, minlength=6))
    assert sg.bincount(sg.tensor([], dtype=sg.int64)).shape == (0,)
    # the weighted count's dtype, as PyTorch: float32 stays, everything else counts in float64
    for wdt, want in ((sg.float32, sg.float32), (sg.float16, sg.float64), (sg.bfloat16, sg.float64),
                      (sg.float64, sg.float64), (sg.int32, sg.float64), (sg.bool, sg.float64)):
        assert sg.bincount(sg.tensor(idx), sg.ones(5, dtype=wdt)).dtype == want, wdt
    np.testing.assert_allclose(sg.bincount(sg.tensor(idx), sg.tensor(w).half()).numpy(), np.bincount(idx, w))
    for bad in (sg.tensor([-1, 1]), sg.tensor([[1]]), sg.tensor([1.0])):
        with pytest.raises(RuntimeError, match="bincount only supports 1-d non-negative integral inputs"):
            sg.bincount(bad)
    with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length as input"):
        sg.bincount(sg.tensor([0, 1]), sg.ones(3))


def test_isin():
    e = sg.tensor([[1, 2], [3, 4]])
    assert sg.isin(e, sg.tensor([2, 3])).tolist() == [[False, True], [True, False]]
    assert sg.isin(e, 4, invert=True).tolist() == [[True, True], [True, False]]
    assert sg.isin(3, sg.tensor([1, 3])).tolist() is True
    assert not sg.isin(e, sg.tensor([], dtype=sg.int64)).any()
    with pytest.raises(TypeError, match="at least one of elements and test_elements to be a Tensor"):
        sg.isin(1, 2)


def test_isin_compiles_and_data_dependent_ops_stay_correct_under_compile():
    @sg.compile
    def member(x, table):
        return sg.isin(x, table)

    table = sg.tensor([1, 5, 9])
    for v in ([1, 2, 5], [9, 9, 0]):
        assert member(sg.tensor(v), table).tolist() == [i in (1, 5, 9) for i in v]
    assert member.cache_info()["hits"] == 1

    @sg.compile
    def positives(x):
        return sg.masked_select(x, x > 0).sum()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the value-dependent step may be reported)
        results = [positives(sg.tensor(v)).item() for v in ([1.0, -2.0, 3.0], [-1.0, 5.0, 6.0], [2.0, 2.0, -9.0])]
    assert results == [4.0, 11.0, 4.0]


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    a = np.array([[3, 0, 2], [0, 3, 1]])
    for fn in (lambda m, t: m.nonzero(t), lambda m, t: m.argwhere(t),
               lambda m, t: m.unique(t, return_inverse=True, return_counts=True),
               lambda m, t: m.unique(t, dim=1, return_inverse=True, return_counts=True),
               lambda m, t: m.unique_consecutive(t.flatten(), return_inverse=True, return_counts=True),
               lambda m, t: m.bincount(t.flatten(), minlength=5),
               lambda m, t: m.isin(t, m.tensor([0, 3]))):
        got, want = fn(sg, sg.tensor(a)), fn(torch, torch.tensor(a))
        got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
    x = np.array([[0.5, -1.0], [2.0, 0.0]], dtype=np.float32)
    sx, tx = sg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sg.masked_select(sx, sx > 0).pow(2).sum().backward()
    torch.masked_select(tx, tx > 0).pow(2).sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy())
