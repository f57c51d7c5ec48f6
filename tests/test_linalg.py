"""torch.linalg and the scatter family beyond the op table (tests/test_ops.py checks each op's values,
gradients and second derivatives against NumPy, finite differences and jax.grad): PyTorch's errors,
return types, batching, in-place forms and the version counter, and gradgradcheck of the
factorisations. No torch needed (tests/test_ops_extra.py compares with PyTorch where installed)."""

from __future__ import annotations

import numpy as np
import pytest

import srcgrad as sg
from srcgrad.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(7)
M = RNG.standard_normal((2, 3, 3)) + 4 * np.eye(3)       # well conditioned, a batch of two
SPD = M @ M.transpose(0, 2, 1) + np.eye(3)


def _t(a, rg=False):
    return sg.tensor(a, dtype=sg.float64, requires_grad=rg)


def test_linalg_errors_as_pytorch():
    cases = [
        (lambda: sg.linalg.inv(sg.ones(3, 4)), "linalg.inv: A must be batches of square matrices, but they are 3 by 4"),
        (lambda: sg.linalg.inv(sg.ones(3)), "linalg.inv: The input tensor A must have at least 2 dimensions."),
        (lambda: sg.linalg.inv(sg.ones(3, 3, dtype=sg.int64)), "Expected a floating point or complex tensor as input. "
                                                               "Got Long"),
        (lambda: sg.linalg.det(sg.ones(2, 3)), "linalg.det: A must be batches of square matrices"),
        (lambda: sg.linalg.slogdet(sg.ones(2, 3)), "linalg.slogdet: A must be batches of square matrices"),
        (lambda: sg.linalg.solve(sg.ones(3, 3), sg.ones(4)),
         r"linalg.solve: Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x1\)"),
        (lambda: sg.linalg.solve(sg.ones(3, 3), sg.ones(4, 2)), r"\(3x3 and 4x2\)"),
        (lambda: sg.linalg.solve(sg.ones(3, 3), sg.ones(3, 2, dtype=sg.float64)),
         "Expected A and B to have the same dtype, but found A of type Float and B of type Double instead"),
        (lambda: sg.linalg.solve(sg.ones(2, 3, 3), sg.ones(4, 3, 1)), "The size of tensor a"),
        (lambda: sg.linalg.solve_triangular(sg.ones(3, 3), sg.ones(4, 3), upper=True),
         r"equation AX = B \(3x3 and 4x3\)"),
        (lambda: sg.linalg.solve_triangular(sg.ones(3, 3), sg.ones(3), upper=True),
         "The input tensor B must have at least 2 dimensions"),
        (lambda: sg.linalg.cholesky(sg.ones(3, 4)), "linalg.cholesky: A must be batches of square matrices"),
        (lambda: sg.linalg.qr(sg.ones(3)), "linalg.qr: The input tensor A must have at least 2 dimensions."),
        (lambda: sg.linalg.qr(sg.ones(3, 3), mode="x"), "qr received unrecognized mode 'x'"),
        (lambda: sg.linalg.eigh(sg.ones(3, 4)), "linalg.eigh: A must be batches of square matrices"),
        (lambda: sg.linalg.eigh(sg.ones(3, 3), UPLO="X"), "Expected UPLO argument to be 'L' or 'U'"),
        (lambda: sg.linalg.svd(sg.ones(3)), "linalg.svd: The input tensor A must have at least 2 dimensions."),
        (lambda: sg.linalg.matrix_power(sg.ones(3, 4), 2), "linalg.matrix_power: A must be batches of square"),
    ]
    for fn, msg in cases:
        with pytest.raises(RuntimeError, match=msg):
            fn()


def test_scatter_errors_as_pytorch():
    x = sg.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"Expected index \[1, 5\] to be no larger than self \[3, 4\] apart from "
                                           r"dimension 1 and to be no larger size than src \[3, 4\]"):
        x.scatter(1, sg.tensor([[0, 1, 2, 3, 0]]), sg.ones(3, 4))
    with pytest.raises(RuntimeError, match=r"Expected index \[4, 2\] to be no larger than self \[3, 4\] apart from "
                                           r"dimension 1$"):
        x.scatter(1, sg.zeros(4, 2, dtype=sg.int64), 1.0)
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as self tensor"):
        x.scatter(1, sg.tensor([0, 1]), sg.ones(3, 1))
    with pytest.raises(RuntimeError, match="scatter\\(\\): Expected dtype int32/int64 for index"):
        x.scatter(1, sg.tensor([[0.0, 1.0]]), sg.ones(3, 1))
    with pytest.raises(RuntimeError, match="scatter\\(\\): Expected self.dtype to be equal to src.dtype"):
        x.scatter(1, sg.tensor([[0, 1]]), sg.ones(3, 2, dtype=sg.float64))
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply."):
        x.scatter(1, sg.tensor([[0, 1]]), sg.ones(3, 2), reduce="max")
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got foo"):
        x.scatter_reduce(1, sg.tensor([[0, 1]]), sg.ones(3, 2), "foo")
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1 with size 4"):
        x.scatter(1, sg.tensor([[0, 7]]), 1.0)
    with pytest.raises(RuntimeError, match="masked_scatter_ only supports boolean masks, but got mask with dtype Float"):
        x.masked_scatter(sg.ones(3, 4), sg.ones(12))
    with pytest.raises(RuntimeError, match="expected self and source to have same dtypes but gotFloat and Double"):
        x.masked_scatter(sg.ones(3, 4).bool(), sg.ones(12, dtype=sg.float64))
    with pytest.raises(RuntimeError, match="the number of sizes provided"):
        x.masked_scatter_(sg.ones(2, 3, 4).bool(), sg.ones(30))
    for fn, sizes in [(lambda: sg.diagonal_scatter(x, sg.ones(4)), r"\[4\], slice size = \[3\]"),
                      (lambda: sg.select_scatter(x, sg.ones(3), 0, 1), r"\[3\], slice size = \[4\]"),
                      (lambda: sg.slice_scatter(x, sg.ones(3, 3), 1, 1, 3), r"\[3, 3\], slice size = \[3, 2\]")]:
        with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice of self. src size = "
                                               + sizes):
            fn()
    with pytest.raises(IndexError, match=r"select\(\): index 5 out of range for tensor of size \[3, 4\] at dimension 0"):
        sg.select_scatter(x, sg.ones(4), 0, 5)
    with pytest.raises(RuntimeError, match="all dimensions of input must be of equal length"):
        sg.ones(2, 3, 4).fill_diagonal_(1.0)
    leaf = sg.zeros(3, 4, requires_grad=True)
    for fn in (lambda: leaf.scatter_(1, sg.tensor([[0]]), 1.0), lambda: leaf.fill_diagonal_(1.0),
               lambda: leaf.masked_scatter_(leaf > 0, sg.ones(12))):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            fn()


def test_in_place_scatters_bump_the_version_and_write_through_views():
    base = sg.zeros(3, 4)
    row = base[1]
    assert row.scatter_(0, sg.tensor([2, 0]), sg.tensor([5.0, 6.0])) is row and row._version == 1
    np.testing.assert_array_equal(base.numpy()[1], [6, 0, 5, 0])
    y = sg.zeros(2, 3)
    y.scatter_reduce_(1, sg.tensor([[0, 0], [2, 1]]), sg.tensor([[1.0, 2.0], [3.0, 4.0]]), "sum")
    y.scatter_add_(0, sg.tensor([[1, 1, 1]]), sg.ones(1, 3))
    y.fill_diagonal_(-1.0)
    y.masked_scatter_(sg.tensor([False, True, False]), sg.tensor([9.0, 8.0]))
    y.scatter_(1, sg.tensor([[2]]), 7.0)
    assert y._version == 5
    np.testing.assert_array_equal(y.numpy(), [[-1, 9, 7], [1, 8, 4]])  # (the mask broadcast over rows)
    # a value saved for the gradient, then changed in place: PyTorch's error
    x = sg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 1
    out = h.scatter_reduce(1, sg.tensor([[0], [1]]), sg.ones(2, 1), "prod")
    h.scatter_(1, sg.tensor([[0], [0]]), 0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_return_types_and_grad_fn_names():
    a = _t(M, True)
    r = sg.linalg.slogdet(a)
    assert repr(r).startswith("torch.return_types.linalg_slogdet(\nsign=")
    assert r.sign.grad_fn.name() == r.logabsdet.grad_fn.name() == "LinalgSlogdetBackward0"
    assert type(sg.slogdet(a)).__name__ == "slogdet"
    e = sg.linalg.eigh(_t(SPD, True))
    assert e.eigenvalues.shape == (2, 3) and e.eigenvectors.shape == (2, 3, 3)
    q, r_ = sg.linalg.qr(_t(RNG.standard_normal((5, 3))))
    assert q.shape == (5, 3) and r_.shape == (3, 3)
    assert sg.linalg.qr(_t(RNG.standard_normal((5, 3))), mode="r").Q.shape == (0,)
    u, s, vh = sg.linalg.svd(_t(RNG.standard_normal((5, 3))))  # full_matrices=True, PyTorch's default
    assert (u.shape, s.shape, vh.shape) == ((5, 5), (3,), (3, 3))
    u, s, v = sg.svd(_t(RNG.standard_normal((5, 3))))  # torch.svd: V, not Vh; some=True
    assert (u.shape, s.shape, v.shape) == ((5, 3), (3,), (3, 3))
    sol = sg.linalg.lstsq(_t(RNG.standard_normal((5, 3))), _t(RNG.standard_normal((5, 2))))
    assert sol.solution.shape == (3, 2) and sol.rank.item() == 3 and sol.residuals.shape == (0,)
    names = {"LinalgInvExBackward0": sg.inverse(a), "LinalgDetBackward0": a.det(),
             "WhereBackward0": sg.logdet(a), "LinalgSolveExBackward0": sg.linalg.solve(a, a),
             "LinalgCholeskyExBackward0": sg.linalg.cholesky(_t(SPD, True)),
             "CholeskyBackward0": _t(SPD, True).cholesky(), "LinalgEighBackward0": sg.linalg.eigvalsh(a),
             "LinalgSvdBackward0": sg.linalg.svdvals(a), "LinalgPinvBackward0": sg.pinverse(a),
             "LinalgMatrixExpBackward0": sg.matrix_exp(a), "MmBackward0": sg.linalg.matrix_power(a[0], 3),
             "ScatterBackward0": a.scatter(1, sg.tensor([[[0]]]), a),
             "ScatterBackward1": a.scatter(1, sg.tensor([[[0]]]), 1.0),
             "ScatterReduceBackward0": sg.scatter_reduce(a, 1, sg.tensor([[[0]]]), a, "amax"),
             "IndexPutBackward0": sg.index_put(a, (sg.tensor([0]),), a[0]),
             "MaskedScatterBackward0": a.masked_scatter(a > 4, a), "DiagonalScatterBackward0": a.diagonal_scatter(
                 a[:, 0], 0, 1, 2), "SelectScatterBackward0": a.select_scatter(a[0], 0, 1),
             "SliceScatterBackward0": a.slice_scatter(a[:1], 0, 0, 1)}
    for name, t in names.items():
        assert t.grad_fn.name() == name, (name, t.grad_fn.name())
    # scatter with reduce= has no derivative in PyTorch: the result does not require grad here
    assert not a.scatter(1, sg.tensor([[[0]]]), a, reduce="add").requires_grad
    assert not sg.linalg.matrix_rank(a).requires_grad and sg.linalg.matrix_rank(a).dtype is sg.int64


def test_batched_and_broadcast_gradients_are_summed_back():
    a = _t(M, True)            # (2, 3, 3)
    b = _t(RNG.standard_normal((3, 2)), True)
    x = sg.linalg.solve(a, b)  # b broadcast over the batch
    assert x.shape == (2, 3, 2)
    x.sum().backward()
    assert b.grad.shape == (3, 2)
    expect = sum(np.linalg.inv(m).T @ np.ones((3, 2)) for m in M)
    np.testing.assert_allclose(b.grad.numpy(), expect, rtol=1e-10)
    a1 = _t(M[0], True)
    sg.linalg.solve_triangular(a1, _t(RNG.standard_normal((4, 3, 2))), upper=False).sum().backward()
    assert a1.grad.shape == (3, 3)
    assert np.all(np.triu(a1.grad.numpy(), 1) == 0)  # only the triangle read gets a gradient


def test_values_of_derived_functions():
    a = _t(M)
    np.testing.assert_allclose(sg.linalg.matrix_power(a, 3).numpy(), M @ M @ M, rtol=1e-10)
    np.testing.assert_allclose(sg.linalg.matrix_power(a, -2).numpy(), np.linalg.inv(M @ M), rtol=1e-10)
    np.testing.assert_allclose(sg.linalg.matrix_power(a, 0).numpy(), np.broadcast_to(np.eye(3), M.shape))
    for p in (None, 2, -2, "fro", "nuc", np.inf, -np.inf, 1, -1):
        np.testing.assert_allclose(sg.linalg.cond(a, p).numpy(), np.linalg.cond(M, p), rtol=1e-9)
    low_rank = np.concatenate([M[0], M[0][:1] * 2])
    assert sg.linalg.matrix_rank(_t(low_rank)).item() == np.linalg.matrix_rank(low_rank) == 3
    assert sg.linalg.matrix_rank(_t(np.diag([1.0, 1e-3, 0.0])), atol=0.01).item() == 1
    np.testing.assert_allclose(sg.linalg.pinv(_t(np.diag([2.0, 1e-20]))).numpy(), np.diag([0.5, 0.0]))
    sign, logabs = sg.linalg.slogdet(_t(M - 4 * np.eye(3)))
    s, la = np.linalg.slogdet(M - 4 * np.eye(3))
    np.testing.assert_allclose(sign.numpy(), s)
    np.testing.assert_allclose(logabs.numpy(), la, rtol=1e-10)
    assert np.isnan(sg.logdet(_t(-np.eye(3))).item())  # a negative determinant


def test_searchsorted_bucketize_histc():
    seq = sg.tensor([1.0, 3.0, 5.0, 7.0])
    v = sg.tensor([[3.0, 6.0], [0.0, 9.0]])
    np.testing.assert_array_equal(sg.searchsorted(seq, v).numpy(), [[1, 3], [0, 4]])
    np.testing.assert_array_equal(sg.searchsorted(seq, v, right=True).numpy(), [[2, 3], [0, 4]])
    np.testing.assert_array_equal(sg.searchsorted(seq, v, side="right").numpy(), [[2, 3], [0, 4]])
    assert sg.searchsorted(seq, 5.0).shape == () and sg.searchsorted(seq, 5.0).item() == 2
    assert sg.searchsorted(seq, v, out_int32=True).dtype is sg.int32
    unsorted = sg.tensor([7.0, 1.0, 5.0, 3.0])
    np.testing.assert_array_equal(sg.searchsorted(unsorted, v, sorter=unsorted.argsort()).numpy(), [[1, 3], [0, 4]])
    np.testing.assert_array_equal(sg.bucketize(v, seq).numpy(), [[1, 3], [0, 4]])
    with pytest.raises(RuntimeError, match="boundaries tensor must be 1 dimension, but got dim\\(2\\)"):
        sg.bucketize(v, v)
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        sg.searchsorted(seq, v, right=True, side="left")
    with pytest.raises(RuntimeError, match="first N-1 dimensions of boundaries tensor and input value tensor must"):
        sg.searchsorted(sg.ones(1, 3), sg.ones(2, 1))
    h = sg.tensor([1.0, 2.0, 1.0, 4.0, 5.0, 9.0, -1.0, 3.0])
    np.testing.assert_array_equal(sg.histc(h, 4).numpy(), [3, 2, 2, 1])  # the data's range
    np.testing.assert_array_equal(sg.histc(h, 4, 1, 5).numpy(), [2, 1, 1, 2])  # outside ignored, 5 in the last
    np.testing.assert_array_equal(sg.histc(sg.tensor([3.0, 3.0]), 4, 3, 3).numpy(), [0, 0, 2, 0])  # widened by 1
    with pytest.raises(NotImplementedError, match="\"histogram_cpu\" not implemented for 'Long'"):
        sg.histc(sg.tensor([1, 2]), 4)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        sg.histc(h, 4, 3, 1)
    assert not sg.histc(sg.ones(3, requires_grad=True), 3).requires_grad


@pytest.mark.parametrize("name,fn,make", [
    ("inv", lambda a: sg.linalg.inv(a), lambda: M[0]),
    ("det", lambda a: sg.linalg.det(a), lambda: M),
    ("slogdet", lambda a: sg.linalg.slogdet(a).logabsdet, lambda: M),
    ("solve", lambda a: sg.linalg.solve(a, a.sum(-1)), lambda: M[0]),
    ("solve_triangular", lambda a: sg.linalg.solve_triangular(a, a * 2 + 1, upper=True), lambda: M[0]),
    ("cholesky", lambda a: sg.linalg.cholesky(a @ a.mT + sg.eye(3, dtype=a.dtype)), lambda: M[0]),
    ("qr", lambda a: sg.linalg.qr(a).Q.sum() + sg.linalg.qr(a).R.sum(), lambda: RNG.standard_normal((4, 3))),
    ("eigh", lambda a: (sg.linalg.eigh(a + a.mT).eigenvectors ** 2 * sg.arange(3.0, dtype=a.dtype)).sum()
     + sg.linalg.eigvalsh(a + a.mT).prod(), lambda: RNG.standard_normal((3, 3))),
    ("svd", lambda a: (sg.linalg.svd(a, full_matrices=False).U ** 2 * sg.arange(2.0, dtype=a.dtype)).sum()
     + sg.linalg.svdvals(a).prod(), lambda: RNG.standard_normal((3, 2))),
    ("pinv", lambda a: sg.linalg.pinv(a), lambda: RNG.standard_normal((2, 3))),
    ("lstsq", lambda a: sg.linalg.lstsq(a, a[:, :1] * a[:, 1:2]).solution, lambda: RNG.standard_normal((4, 2))),
    ("matrix_exp", lambda a: sg.linalg.matrix_exp(a * 0.3), lambda: RNG.standard_normal((3, 3))),
    ("scatter_reduce_prod", lambda a: a.scatter_reduce(1, sg.tensor([[0, 0], [2, 1]]), a[:, :2] + 1, "prod"),
     lambda: RNG.standard_normal((2, 3))),
    ("diagonal_scatter", lambda a: a.diagonal_scatter(a[0] * a[1]), lambda: RNG.standard_normal((3, 3))),
])
def test_gradcheck_and_gradgradcheck(name, fn, make):
    a = _t(make(), True)
    assert gradcheck(fn, (a,))
    assert gradgradcheck(fn, (a,))
