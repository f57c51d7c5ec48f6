"""torch.linalg and the scatter family beyond the op table (tests/test_ops.py checks each op's values,
gradients and second derivatives against NumPy, finite differences and jax.grad): PyTorch's errors,
return types, batching, in-place forms and the version counter, and gradgradcheck of the
factorisations. No torch needed (tests/test_ops_extra.py compares with PyTorch where installed)."""

from __future__ import annotations

import math
import re

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


def test_gather_and_scatter_take_a_0_dim_index_of_a_1_dim_tensor_as_pytorch():
    # the Transforms tutorial's one-hot target: zeros(10).scatter_(0, tensor(y), value=1)
    assert sg.zeros(10).scatter_(0, sg.tensor(3), value=1).tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert sg.zeros(3).scatter(0, sg.tensor(1), sg.tensor(2.0)).tolist() == [0, 2, 0]
    assert sg.zeros(3).scatter_add(0, sg.tensor(1), sg.tensor(2.0)).tolist() == [0, 2, 0]
    assert sg.zeros(3).scatter_reduce(0, sg.tensor(1), sg.tensor(2.0), "sum").tolist() == [0, 2, 0]
    g = sg.tensor([5.0, 6.0, 7.0]).gather(0, sg.tensor(1))
    assert g.shape == () and g.item() == 6.0
    with pytest.raises(RuntimeError, match="Index tensor must have the same number of dimensions as self tensor"):
        sg.zeros(3, 2).scatter(0, sg.tensor(1), 5.0)


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
    if name != "svd_lowrank":  # (its second derivative is the SVD's, checked above; costly here)
        assert gradgradcheck(fn, (a,))


# -- LU, pinv's tolerances, qr's modes -----------------------------------------------------------

SQ = RNG.standard_normal((2, 4, 4))  # random: partial pivoting swaps rows
_U, _, _VT = np.linalg.svd(RNG.standard_normal((4, 3)), full_matrices=False)
RANK2 = _U @ np.diag([3.0, 1.0, 0.0]) @ _VT  # singular values 3, 1 and an exact 0


def _lu_np(a):
    """P, L, U of one matrix by partial pivoting (LAPACK's getrf, written out)."""
    m, n = a.shape
    u, perm, low = a.copy(), np.arange(m), np.eye(m, min(m, n))
    for j in range(min(m, n)):
        p = j + np.argmax(np.abs(u[j:, j]))
        u[[j, p]], perm[[j, p]], low[[j, p], :j] = u[[p, j]], perm[[p, j]], low[[p, j], :j]
        low[j + 1:, j] = u[j + 1:, j] / u[j, j]
        u[j + 1:] -= low[j + 1:, j:j + 1] * u[j]
    return np.eye(m)[:, perm], low, np.triu(u[:min(m, n)])


def test_lu_values_types_and_grad_fn_names():
    for a in (SQ[0], RNG.standard_normal((3, 5)), RNG.standard_normal((5, 3))):
        p, low, up = sg.linalg.lu(_t(a, True))
        for got, want in zip((p, low, up), _lu_np(a)):
            np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-12)
        assert p.grad_fn is None and not p.requires_grad and p.dtype is sg.float64
        assert low.grad_fn.name() == up.grad_fn.name() == "LinalgLuBackward0"
    r = sg.linalg.lu(_t(SQ))
    assert repr(r).startswith("torch.return_types.linalg_lu(\nP=")
    np.testing.assert_allclose((r.P @ r.L @ r.U).numpy(), SQ, atol=1e-12)
    lu, piv = sg.linalg.lu_factor(_t(SQ, True))
    assert type(sg.linalg.lu_factor(_t(SQ))).__name__ == "linalg_lu_factor"
    assert lu.grad_fn.name() == "LinalgLuFactorExBackward0" and piv.dtype is sg.int32 and not piv.requires_grad
    assert piv.shape == (2, 4) and piv.numpy().min() >= 1  # LAPACK's 1-based row swaps
    ex = sg.linalg.lu_factor_ex(_t(SQ))
    assert ex.info.dtype is sg.int32 and ex.info.shape == (2,) and not ex.info.numpy().any()
    np.testing.assert_array_equal(ex.pivots.numpy(), piv.numpy())
    assert sg.linalg.lu_factor_ex(_t(np.zeros((3, 3)))).info.item() == 1  # U[0, 0] is zero
    up = sg.lu_unpack(lu, piv)
    assert type(up).__name__ == "lu_unpack" and up.P.grad_fn is None and up.L.grad_fn.name() == "LuUnpackBackward0"
    for got, want in zip(up, r):
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), atol=1e-12)
    np.testing.assert_allclose(lu.detach().numpy(), np.tril(r.L.numpy(), -1) + r.U.numpy(), atol=1e-12)
    assert sg.lu_unpack(lu, piv, unpack_data=False).L.shape == (0,)
    assert sg.lu_unpack(lu, piv, unpack_pivots=False).P.shape == (0,)
    wide = sg.linalg.lu_factor(_t(RNG.standard_normal((3, 5))))
    assert wide.pivots.shape == (3,) and [t.shape for t in sg.lu_unpack(*wide)] == [(3, 3), (3, 3), (3, 5)]


def test_lu_solve_values_and_gradient_names():
    b = RNG.standard_normal((2, 4, 3))
    lu, piv = sg.linalg.lu_factor(_t(SQ))
    at = SQ.transpose(0, 2, 1)
    for left, adjoint, want in [(True, False, np.linalg.solve(SQ, b)), (True, True, np.linalg.solve(at, b)),
                                (False, False, b.transpose(0, 2, 1) @ np.linalg.inv(SQ)),
                                (False, True, b.transpose(0, 2, 1) @ np.linalg.inv(at))]:
        rhs = b if left else b.transpose(0, 2, 1)
        got = sg.linalg.lu_solve(lu, piv, _t(rhs), left=left, adjoint=adjoint)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    # batches broadcast: one factorisation, two right-hand sides
    one = sg.linalg.lu_factor(_t(SQ[0]))
    np.testing.assert_allclose(sg.linalg.lu_solve(*one, _t(b)).numpy(), np.linalg.solve(SQ[0], b), rtol=1e-10)
    x = sg.linalg.lu_solve(*sg.linalg.lu_factor(_t(SQ, True)), _t(b, True))
    assert x.grad_fn.name() == "LinalgLuSolveBackward0"


def test_lu_errors_as_pytorch():
    a = sg.ones(3, 3, dtype=sg.float64)
    piv = sg.ones(3, dtype=sg.int32)
    cases = [
        (RuntimeError, lambda: sg.linalg.lu(a, pivot=False), "linalg.lu_factor: LU without pivoting is not implemented "
                                                            "on the CPU"),
        (RuntimeError, lambda: sg.linalg.lu_factor_ex(a, pivot=False), "linalg.lu_factor: LU without pivoting"),
        (RuntimeError, lambda: sg.linalg.lu_factor(sg.ones(3)), r"torch.lu_factor: Expected tensor with 2 or more "
                                                               r"dimensions. Got size: \[3\] instead"),
        (NotImplementedError, lambda: sg.linalg.lu(sg.ones(3, 3, dtype=sg.int64)), "\"lu_cpu\" not implemented for "
                                                                                   "'Long'"),
        (RuntimeError, lambda: sg.linalg.lu_solve(a, piv.long(), sg.ones(3, 2, dtype=sg.float64)),
         "linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32"),
        (RuntimeError, lambda: sg.linalg.lu_solve(a, piv, sg.ones(4, 2, dtype=sg.float64)),
         r"linalg.lu_solve: Incompatible shapes of A and B for the equation AX = B \(3x3 and 4x2\)"),
        (RuntimeError, lambda: sg.linalg.lu_solve(a, piv[:2], sg.ones(3, 2, dtype=sg.float64)),
         "Number of pivots per batch should be same as the dimension of the matrix"),
        (RuntimeError, lambda: sg.linalg.lu_solve(a, piv, sg.ones(3, dtype=sg.float64)),
         "linalg.lu_solve: The input tensor B must have at least 2 dimensions."),
        (RuntimeError, lambda: sg.linalg.lu_solve(sg.ones(3, 4, dtype=sg.float64), piv, sg.ones(3, 2, dtype=sg.float64)),
         "torch.linalg.lu_solve: A must be batches of square matrices, but they are 3 by 4 matrices"),
        (RuntimeError, lambda: sg.linalg.lu_solve(a, piv, sg.ones(3, 2)),
         "Expected LU and B to have the same dtype, but found LU of type Double and B of type Float instead"),
        (RuntimeError, lambda: sg.lu_unpack(a, sg.ones(3)), "torch.lu_unpack: LU_pivots is expected to be a contiguous "
                                                            "tensor of torch.int32 dtype."),
    ]
    for exc, fn, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


def test_pinv_tolerances_as_pytorch():
    u, _, vt = np.linalg.svd(RNG.standard_normal((4, 3)), full_matrices=False)
    a = u @ np.diag([5.0, 1.0, 1e-3]) @ vt

    def kept(k):  # the pseudo-inverse from the k largest singular values
        s_inv = np.array([0.2, 1.0, 1e3])
        s_inv[k:] = 0
        return vt.T @ np.diag(s_inv) @ u.T

    for kwargs, k in [({}, 3), ({"atol": 0.5}, 2), ({"atol": 2.0}, 1), ({"rtol": 0.1}, 2), ({"atol": 0.5, "rtol": 0.5}, 1),
                      ({"atol": 0.0}, 3), ({"atol": sg.tensor(0.5)}, 2), ({"atol": sg.tensor(0.5), "rtol": sg.tensor(0.5)}, 1)]:
        np.testing.assert_allclose(sg.linalg.pinv(_t(a), **kwargs).numpy(), kept(k), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sg.linalg.pinv(_t(a), 0.1).numpy(), kept(2), rtol=1e-9)  # rcond: rtol's old name
    # a batch of tolerances widens the batch, as in PyTorch
    both = sg.linalg.pinv(_t(a), atol=sg.tensor([0.5, 2.0]))
    assert both.shape == (2, 3, 4)
    np.testing.assert_allclose(both.numpy(), [kept(2), kept(1)], rtol=1e-9, atol=1e-12)
    # hermitian: the eigenvalues' magnitudes against the tolerance
    v = np.linalg.qr(RNG.standard_normal((3, 3)))[0]
    h = v @ np.diag([4.0, -1.0, 1e-3]) @ v.T
    np.testing.assert_allclose(sg.linalg.pinv(_t(h), hermitian=True, atol=0.5).numpy(),
                               v @ np.diag([0.25, -1.0, 0.0]) @ v.T, rtol=1e-9, atol=1e-12)
    for bad, desc in [(sg.ones(3), r"Float\{\[3\]\}"), (sg.ones(2, 3, 3, dtype=sg.int32), r"Int\{\[2, 3, 3\]\}"),
                      (sg.ones(3, 3).half(), r"Half\{\[3, 3\]\}")]:
        with pytest.raises(RuntimeError, match=rf"^linalg.pinv\({desc}\): expected a tensor with 2 or more dimensions "
                                               "of float, double, cfloat or cdouble types$"):
            sg.linalg.pinv(bad)
    with pytest.raises(RuntimeError, match="linalg.eigh: A must be batches of square matrices, but they are 3 by 4"):
        sg.linalg.pinv(sg.ones(3, 4), hermitian=True)
    with pytest.raises(TypeError, match=r"linalg_pinv\(\) received an invalid combination of arguments - got "
                                        r"\(Tensor, rtol=float, atol=Tensor\)"):
        sg.linalg.pinv(_t(a), atol=sg.tensor(0.1), rtol=0.1)
    # gradients: where the values cut are exact zeros (the truncated pseudo-inverse of a nearly singular
    # matrix is another function, whose derivative PyTorch's formula does not give either)
    x = _t(RANK2, True)
    assert sg.linalg.pinv(x, atol=0.5).grad_fn.name() == "LinalgPinvBackward0"
    assert gradcheck(lambda m: sg.linalg.pinv(m, atol=0.5), (x,))
    assert gradcheck(lambda m: sg.linalg.pinv(m @ m.mT, hermitian=True, atol=0.5), (x,))
    assert gradcheck(lambda m: sg.linalg.pinv(m, atol=sg.tensor([0.5, 0.8], dtype=sg.float64)), (x,))


def test_qr_complete_and_r_modes():
    tall = RNG.standard_normal((2, 5, 3))
    x = _t(tall, True)
    q, r = sg.linalg.qr(x, mode="complete")
    assert q.shape == (2, 5, 5) and r.shape == (2, 5, 3) and q.grad_fn.name() == "LinalgQrBackward0"
    np.testing.assert_allclose((q @ r).detach().numpy(), tall, atol=1e-12)
    np.testing.assert_allclose((q.mT @ q).detach().numpy(), np.broadcast_to(np.eye(5), (2, 5, 5)), atol=1e-12)
    assert np.all(np.tril(r.detach().numpy(), -1) == 0)
    for out in (q, r):
        with pytest.raises(RuntimeError, match="^The QR decomposition is not differentiable when mode='complete' and "
                                               "nrows > ncols.$"):
            out.sum().backward()
    q, r = sg.linalg.qr(x, mode="r")
    assert q.shape == (0,) and q.requires_grad and r.shape == (2, 3, 3)
    np.testing.assert_allclose(np.abs(r.detach().numpy()), np.abs(np.linalg.qr(tall)[1]), atol=1e-12)
    for out in (q, r):
        with pytest.raises(RuntimeError, match=r"^The derivative of linalg.qr depends on Q, which is not computed when "
                                               r"mode='r'. Please use linalg.qr\(A, mode='reduced'\) if you are going "
                                               r"to differentiate through linalg.qr.$"):
            out.sum().backward()
    # wide (and square) matrices: complete is reduced, and differentiable
    w = _t(RNG.standard_normal((3, 4)), True)
    assert gradcheck(lambda m: sg.linalg.qr(m, mode="complete").Q * 2 + sg.linalg.qr(m, mode="complete").R.sum(), (w,))
    assert sg.qr(_t(tall[0]), some=False).Q.shape == (5, 5)


@pytest.mark.parametrize("name,fn,make", [
    ("lu_L", lambda a: sg.linalg.lu(a).L, lambda: SQ),
    ("lu_U", lambda a: sg.linalg.lu(a).U, lambda: SQ[0]),
    ("lu_LU", lambda a: sg.linalg.lu(a).L @ sg.linalg.lu(a).U.exp(), lambda: SQ[1]),
    ("lu_wide", lambda a: sg.linalg.lu(a).L.sum() + sg.linalg.lu(a).U ** 2, lambda: RNG.standard_normal((3, 5))),
    ("lu_tall", lambda a: sg.linalg.lu(a).L ** 2 + sg.linalg.lu(a).U.sum(), lambda: RNG.standard_normal((5, 3))),
    ("lu_factor", lambda a: sg.linalg.lu_factor(a).LU, lambda: SQ),
    ("lu_factor_ex_wide", lambda a: sg.linalg.lu_factor_ex(a).LU, lambda: RNG.standard_normal((2, 3, 4))),
    ("lu_unpack", lambda a: sg.lu_unpack(a, sg.linalg.lu_factor(a.detach()).pivots).U * 3
     + sg.lu_unpack(a, sg.linalg.lu_factor(a.detach()).pivots).L, lambda: SQ[0]),
    ("pinv_atol", lambda a: sg.linalg.pinv(a, atol=0.3), lambda: RANK2),
    ("pinv_hermitian_rtol", lambda a: sg.linalg.pinv(a @ a.mT, hermitian=True, rtol=0.01), lambda: RANK2),
])
def test_lu_and_pinv_gradcheck_and_gradgradcheck(name, fn, make):
    a = _t(make(), True)
    assert gradcheck(fn, (a,))
    if name != "svd_lowrank":  # (its second derivative is the SVD's, checked above; costly here)
        assert gradgradcheck(fn, (a,))


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_lu_solve_gradcheck(left, adjoint):
    a = _t(SQ, True)
    b = _t(RNG.standard_normal((4, 2) if left else (2, 4)), True)  # (broadcast over A's batch)

    def fn(lu_, b_):
        return sg.linalg.lu_solve(lu_, sg.linalg.lu_factor(a.detach()).pivots, b_, left=left, adjoint=adjoint)

    lu = sg.linalg.lu_factor(a.detach()).LU.requires_grad_()
    assert gradcheck(fn, (lu, b))
    assert gradgradcheck(fn, (lu, b))
    # through the factorisation: A's gradient
    assert gradcheck(lambda m, b_: sg.linalg.lu_solve(*sg.linalg.lu_factor(m), b_, left=left, adjoint=adjoint), (a, b))


def test_lu_pinv_qr_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    cases = [
        ("lu_L", lambda m, a: m.linalg.lu(a).L, (2, 4, 4)), ("lu_U", lambda m, a: m.linalg.lu(a).U, (3, 5)),
        ("lu_tall", lambda m, a: m.linalg.lu(a).L * m.linalg.lu(a).U.sum(), (5, 3)),
        ("lu_factor", lambda m, a: m.linalg.lu_factor(a).LU, (2, 4, 4)),
        ("lu_factor_ex", lambda m, a: m.linalg.lu_factor_ex(a).LU, (4, 3)),
        ("lu_unpack", lambda m, a: m.lu_unpack(*m.linalg.lu_factor(a)).U, (4, 4)),
        ("lu_solve", lambda m, a: m.linalg.lu_solve(*m.linalg.lu_factor(a), a[..., :2] * a[..., 1:3]), (2, 3, 3)),
        ("lu_solve_adjoint_right", lambda m, a: m.linalg.lu_solve(*m.linalg.lu_factor(a), a[..., :2, :].exp(),
                                                                  left=False, adjoint=True), (3, 3)),
        ("pinv_atol", lambda m, a: m.linalg.pinv(a, atol=0.8), (4, 3)),
        ("pinv_atol_tensor", lambda m, a: m.linalg.pinv(a, atol=m.tensor([0.5, 1.5], dtype=m.float64),
                                                        rtol=m.tensor(0.1, dtype=m.float64)), (3, 4)),
        ("pinv_hermitian_atol", lambda m, a: m.linalg.pinv(a + a.mT, hermitian=True, atol=1.0), (4, 4)),
        ("qr_complete_wide", lambda m, a: m.linalg.qr(a, mode="complete").Q, (3, 5)),
    ]
    for name, fn, shape in cases:
        a = rng.standard_normal(shape)
        x, t = _t(a, True), torch.tensor(a, requires_grad=True)
        out, want = fn(sg, x), fn(torch, t)
        assert out.shape == tuple(want.shape) and out.grad_fn.name() == want.grad_fn.name(), name
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        w = rng.standard_normal(tuple(want.shape))
        (out * _t(w)).sum().backward()
        (want * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
    p, piv = sg.linalg.lu_factor(_t(SQ)), torch.linalg.lu_factor(torch.tensor(SQ))
    np.testing.assert_array_equal(p.pivots.numpy(), piv.pivots.numpy())
    q = rng.standard_normal((5, 3))
    for mode in ("complete", "r"):
        for k in range(2):
            got, want = sg.linalg.qr(_t(q), mode=mode)[k], torch.linalg.qr(torch.tensor(q), mode=mode)[k]
            assert got.shape == tuple(want.shape)
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


# -- found by a differential audit against PyTorch 2.13 --


def test_norm_with_an_ord_and_no_dim_needs_a_vector_or_a_matrix():
    x = sg.arange(24.0).reshape(2, 3, 4)
    for ord in (2, "fro"):
        with pytest.raises(RuntimeError, match="If dim is not specified but ord is, the input must be 1D or 2D. "
                                               "Got 3D."):
            sg.linalg.norm(x, ord)
    assert sg.linalg.norm(x).item() == pytest.approx(65.7571, rel=1e-5)
    assert sg.linalg.norm(x, dim=(1, 2)).tolist() == pytest.approx([22.4944, 61.7900], rel=1e-5)


def test_svd_without_uv_gives_square_zero_factors():
    for shape in [(4, 2), (2, 4), (5, 4, 2)]:
        x = sg.randn(*shape, requires_grad=True)
        for some in (True, False):
            u, s, v = sg.svd(x, some=some, compute_uv=False)
            m, n = shape[-2:]
            assert u.shape == shape[:-2] + (m, m) and v.shape == shape[:-2] + (n, n) and not u.any() and not v.any()
        s.sum().backward()
        assert x.grad.shape == shape


def test_einsum_sublist_form_and_output_subscript_errors():
    a, b = sg.randn(2, 3), sg.randn(4, 3)
    np.testing.assert_allclose(sg.einsum(a, [0, 1], b, [2, 1], [0, 2]).numpy(), (a @ b.T).numpy(), rtol=1e-6)
    assert sg.einsum(a, [Ellipsis, 1], [Ellipsis]).shape == (2,) and sg.einsum(a, [0, 1]).shape == (2, 3)
    with pytest.raises(ValueError, match=r"subscript in subscript list is not within the valid range \[0, 52\)"):
        sg.einsum(a, [0, 60])
    with pytest.raises(RuntimeError, match="output subscript k does not appear in the equation for any input"):
        sg.einsum("ij->k", a)
    with pytest.raises(RuntimeError, match="output subscript i appears more than once in the output"):
        sg.einsum("ij->ii", a)


def test_matrix_rank_takes_per_matrix_tolerances_and_the_older_tol():
    a = sg.tensor(np.random.default_rng(0).standard_normal((3, 4, 4)).astype(np.float32))
    a[0, :, :2] = 0
    # (PyTorch 2.13's results on this input; hermitian reads the lower triangle only)
    assert sg.linalg.matrix_rank(a, atol=sg.tensor([0.5, 1.0, 100.0])).tolist() == [1, 2, 0]
    assert sg.linalg.matrix_rank(a, tol=0.5).tolist() == [1, 3, 3]
    assert sg.linalg.matrix_rank(a, 0.5, True).tolist() == [2, 4, 4]
    assert sg.linalg.matrix_rank(a, atol=sg.tensor([0.5, 1.0, 100.0]), hermitian=True).tolist() == [2, 3, 0]


def test_matrix_norms_of_every_order_and_norm_routes_numbers_to_vector_norm():
    a = sg.tensor([[0.0, 2.0, -2.0, 1.0], [3.0, -3.0, 0.5, 0.0]], dtype=sg.float64)
    s = np.linalg.svd(a.numpy(), compute_uv=False)
    expected = {"fro": np.linalg.norm(a.numpy()), "nuc": s.sum(), 2: s.max(), -2: s.min(), 1: 5.0, -1: 1.0,
                math.inf: 6.5, -math.inf: 5.0}
    for ord, want in expected.items():
        assert sg.linalg.matrix_norm(a, ord).item() == pytest.approx(want), ord
        assert sg.linalg.norm(a, ord).item() == pytest.approx(want), ord
    x = sg.randn(2, 3, 4)
    assert sg.linalg.matrix_norm(x, "nuc", dim=(0, 2), keepdim=True).shape == (1, 3, 1)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported."):
        sg.linalg.matrix_norm(x, 3)
    assert sg.norm(sg.ones(3, 3), p="nuc").item() == pytest.approx(3.0)
    w = sg.tensor([0.0, 2.0, -3.0], requires_grad=True)
    for p, grad in [(0, [0.0, 0.0, 0.0]), (1, [0.0, 1.0, -1.0]), (math.inf, [0.0, 0.0, -1.0])]:
        y = w.norm(p)
        assert type(y.grad_fn).__name__ == "LinalgVectorNormBackward0"  # (as PyTorch's torch.norm)
        (g,) = sg.autograd.grad(y, w, materialize_grads=True)  # (p=0 sends none back, as PyTorch's)
        assert g.tolist() == grad, p


def test_linalg_refusals_raised_at_the_call():
    with pytest.raises(RuntimeError, match="cannot compute the inf norm on an empty tensor"):
        sg.linalg.vector_norm(sg.zeros(0, 3), math.inf)
    with pytest.raises(RuntimeError, match="cannot compute the -inf norm on the dimension 0because"):
        sg.linalg.vector_norm(sg.zeros(0, 3), -math.inf, dim=0)
    assert sg.linalg.vector_norm(sg.zeros(0, 3), math.inf, dim=1).shape == (0,)
    with pytest.raises(NotImplementedError, match="\"trace\" not implemented for 'Bool'"):
        sg.trace(sg.ones(2, 2, dtype=sg.bool))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        sg.einsum("i,i->", sg.ones(2), sg.ones(2, dtype=sg.float64))
    with pytest.raises(RuntimeError, match=r"size mismatch, got input \(2\), mat \(2x3\), vec \(2\)"):
        sg.mv(sg.ones(2, 3), sg.ones(2))
    half = sg.eye(3, dtype=sg.float16) * 2
    for call, error, message in [
            (lambda: sg.linalg.inv(half), RuntimeError, "linalg.inv: Low precision dtypes not supported. Got Half"),
            (lambda: sg.linalg.cholesky(half), NotImplementedError, "\"cholesky_cpu\" not implemented for 'Half'"),
            (lambda: sg.linalg.svdvals(half), NotImplementedError, "\"linalg_svd_cpu\" not implemented for 'Half'"),
            (lambda: sg.linalg.solve(half, half), NotImplementedError, "\"lu_cpu\" not implemented for 'Half'"),
            (lambda: half.logdet(), RuntimeError, "logdet: Low precision dtypes not supported. Got Half"),
            (lambda: sg.linalg.eigh(half.bfloat16()), NotImplementedError,
             "\"linalg_eigh_cpu\" not implemented for 'BFloat16'")]:
        with pytest.raises(error, match=re.escape(message)):
            call()
    np.testing.assert_allclose(sg.linalg.matrix_exp(half).float().numpy(), np.eye(3) * math.exp(2), rtol=1e-2)


# -- srcgrad/linalg_extras.py: the *_ex forms, vander, tensorinv/tensorsolve, householder_product,
# cholesky_solve/cholesky_inverse, triangular_solve, torch.lu/lu_solve, svd_lowrank/pca_lowrank --

XRNG = np.random.default_rng(23)


def _spd_batch(n, fail_at, rng=XRNG):
    """SPD matrices of order n, each but the first spoilt so that its leading minor of order
    ``fail_at[i]`` (1-based) is the first that is not positive definite."""
    mats = []
    for k in (0, *fail_at):
        g = rng.standard_normal((n, n))
        a = g @ g.T / n + np.eye(n)
        if k:
            lo = np.linalg.cholesky(a[:k - 1, :k - 1]) if k > 1 else np.zeros((0, 0))
            w = np.linalg.solve(lo, a[:k - 1, k - 1]) if k > 1 else np.zeros(0)
            a[k - 1, k - 1] = w @ w - 0.5  # (the pivot at k becomes -0.5)
        mats.append(a)
    return np.stack(mats)


def _potrf_info(a):
    """NumPy oracle: the order of the first leading minor that is not positive definite (0: none)."""
    sym = np.tril(a) + np.tril(a, -1).T
    for k in range(1, a.shape[-1] + 1):
        try:
            np.linalg.cholesky(sym[:k, :k])
        except np.linalg.LinAlgError:
            return k
    return 0


def test_cholesky_ex_info_is_lapacks_first_failing_leading_minor():
    a = _spd_batch(70, [1, 5, 32, 33, 40, 64, 65, 70])  # (across the 32-wide blocks the info is counted in)
    want = [_potrf_info(m) for m in a]
    assert want == [0, 1, 5, 32, 33, 40, 64, 65, 70]
    for dt in (sg.float64, sg.float32):
        for upper in (False, True):
            x = sg.tensor(a.transpose(0, 2, 1) if upper else a, dtype=dt)
            # garbage in the triangle not read must not matter
            x = x + (sg.ones(70, 70, dtype=dt).tril(-1) * 1e3 if upper else sg.ones(70, 70, dtype=dt).triu(1) * 1e3)
            r = sg.linalg.cholesky_ex(x, upper=upper)
            assert type(r).__name__ == "linalg_cholesky_ex" and r._fields == ("L", "info")
            assert r.info.dtype is sg.int32 and r.info.shape == (9,)
            assert r.info.tolist() == want
            ok = r.L[0].numpy()
            np.testing.assert_allclose(ok.T if upper else ok, np.linalg.cholesky(a[0]),
                                       rtol=1e-4 if dt is sg.float32 else 1e-10, atol=1e-5)
    assert sg.linalg.cholesky_ex(sg.ones(0, 3, 3)).info.shape == (0,)
    assert sg.linalg.cholesky_ex(sg.ones(2, 0, 0)).info.tolist() == [0, 0]
    assert sg.linalg.cholesky_ex(_t(SPD[0])).info.shape == ()
    assert issubclass(sg.linalg.LinAlgError, RuntimeError)
    with pytest.raises(sg.linalg.LinAlgError, match=re.escape(
            "linalg.cholesky_ex: (Batch element 2): The factorization could not be completed because the input is not "
            "positive-definite (the leading minor of order 5 is not positive-definite).")):
        sg.linalg.cholesky_ex(_t(a[[0, 0, 2]]), check_errors=True)
    with pytest.raises(RuntimeError, match=r"^linalg.cholesky_ex: The factorization could not be completed .* order 1 "):
        sg.linalg.cholesky_ex(_t(-np.eye(2)), check_errors=True)
    assert sg.linalg.cholesky_ex(_t(SPD), check_errors=True).info.tolist() == [0, 0]


def test_inv_ex_and_solve_ex_info_is_getrfs():
    sing = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # U's diagonal: a zero at 3
    a = np.stack([M[0], sing, np.zeros((3, 3))])
    r = sg.linalg.inv_ex(_t(a))
    assert type(r).__name__ == "linalg_inv_ex" and r._fields == ("inverse", "info")
    assert r.info.dtype is sg.int32 and r.info.tolist() == [0, 3, 1]
    np.testing.assert_allclose(r.inverse[0].numpy(), np.linalg.inv(M[0]), rtol=1e-10)
    b = XRNG.standard_normal((2, 1, 3, 2))
    s = sg.linalg.solve_ex(_t(a), _t(b))
    assert type(s).__name__ == "linalg_solve_ex" and s._fields == ("result", "info")
    assert s.result.shape == (2, 3, 3, 2) and s.info.shape == (3,) and s.info.tolist() == [0, 3, 1]
    np.testing.assert_allclose(s.result[:, 0].numpy(), np.linalg.solve(M[0], b[:, 0]), rtol=1e-10)
    v = sg.linalg.solve_ex(_t(M), _t(M[0, 0]))  # a vector right-hand side
    np.testing.assert_allclose(v.result.numpy(), np.linalg.solve(M, M[0, 0][None, :, None])[..., 0], rtol=1e-10)
    assert v.info.shape == (2,)
    right = sg.linalg.solve_ex(_t(M[0]), _t(b[0, 0].T), left=False).result
    np.testing.assert_allclose(right.numpy(), b[0, 0].T @ np.linalg.inv(M[0]), rtol=1e-10)
    with pytest.raises(sg.linalg.LinAlgError, match=re.escape(
            "linalg.inv_ex: (Batch element 1): The diagonal element 3 is zero, the inversion could not be completed "
            "because the input matrix is singular.")):
        sg.linalg.inv_ex(_t(a), check_errors=True)
    with pytest.raises(sg.linalg.LinAlgError, match=re.escape(
            "torch.linalg.solve_ex: The solver failed because the input matrix is singular.")):
        sg.linalg.solve_ex(_t(sing), _t(b[0, 0]), check_errors=True)
    with pytest.raises(RuntimeError, match="linalg.inv: A must be batches of square matrices"):
        sg.linalg.inv_ex(sg.ones(3, 4))
    out = (sg.empty(0, dtype=sg.float64), sg.empty(0, dtype=sg.int32))
    got = sg.linalg.inv_ex(_t(a), out=out)
    assert got.inverse is out[0] and out[1].tolist() == [0, 3, 1]


def test_vander_tensorinv_tensorsolve_values_and_errors():
    x = XRNG.standard_normal((2, 4))
    v = sg.linalg.vander(_t(x), N=5)
    assert v.shape == (2, 4, 5)
    np.testing.assert_allclose(v.numpy(), np.stack([np.vander(r, 5, increasing=True) for r in x]), rtol=1e-12)
    i = sg.linalg.vander(sg.tensor([1, 2, 3], dtype=sg.int32))
    assert i.dtype is sg.int64 and i.tolist() == np.vander([1, 2, 3], increasing=True).tolist()
    assert sg.linalg.vander(sg.tensor([1, 2], dtype=sg.uint8)).dtype is sg.int64
    assert sg.linalg.vander(sg.ones(3)).dtype is sg.float32
    for bad, msg in [(lambda: sg.linalg.vander(sg.ones(3, dtype=sg.bool)), "but got Bool"),
                     (lambda: sg.linalg.vander(sg.ones(3, dtype=sg.float16)), "but got Half"),
                     (lambda: sg.linalg.vander(sg.ones(3), N=1), "N must be greater than 1."),
                     (lambda: sg.linalg.vander(sg.tensor(2.0)), "N must be greater than 1.")]:
        with pytest.raises(RuntimeError, match=msg):
            bad()
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        sg.linalg.vander(sg.ones(3), 3)

    a = XRNG.standard_normal((4, 6, 8, 3))
    np.testing.assert_allclose(sg.linalg.tensorinv(_t(a), ind=2).numpy(), np.linalg.tensorinv(a, ind=2), rtol=1e-9)
    a1 = XRNG.standard_normal((24, 2, 3, 4))
    np.testing.assert_allclose(sg.linalg.tensorinv(_t(a1), 1).numpy(), np.linalg.tensorinv(a1, 1), rtol=1e-9)
    for bad, err, msg in [
            (lambda: sg.linalg.tensorinv(sg.ones(4, 4), ind=0), RuntimeError,
             "Expected a strictly positive integer for 'ind', but got 0"),
            (lambda: sg.linalg.tensorinv(sg.ones(4, 4), ind=3), RuntimeError, "ArrayRef: invalid slice, N = 3; size = 2"),
            (lambda: sg.linalg.tensorinv(sg.ones(4, 2, 8), ind=1), RuntimeError,
             r"prod\(self.shape\[ind:\]\) == prod\(self.shape\[:ind\]\), but got 16 != 4"),
            (lambda: sg.linalg.tensorinv(sg.ones(4, 2, 2), 1.5), TypeError,
             "linalg_tensorinv\\(\\): argument 'ind' \\(position 2\\) must be int, not float")]:
        with pytest.raises(err, match=msg):
            bad()
    a = XRNG.standard_normal((2, 3, 6))
    b = XRNG.standard_normal((2, 3))
    np.testing.assert_allclose(sg.linalg.tensorsolve(_t(a), _t(b)).numpy(), np.linalg.tensorsolve(a, b), rtol=1e-9)
    a = XRNG.standard_normal((6, 4, 2, 3))  # dims moved to the end: (4, 3, 6, 2)
    b = XRNG.standard_normal((4, 3))
    np.testing.assert_allclose(sg.linalg.tensorsolve(_t(a), _t(b), dims=(0, 2)).numpy(),
                               np.linalg.tensorsolve(np.moveaxis(a, (0, 2), (2, 3)), b), rtol=1e-9)
    with pytest.raises(RuntimeError, match=r"prod\(self.shape\[other.ndim:\]\) == prod\(self.shape\[:other.ndim\]\), "
                                           r"but got 18 != 6"):
        sg.linalg.tensorsolve(sg.ones(2, 3, 6), sg.ones(6))
    with pytest.raises(RuntimeError, match="linalg.solve: Expected A and B to have the same dtype"):
        sg.linalg.tensorsolve(sg.ones(2, 3, 6), sg.ones(2, 3, dtype=sg.float64))


def test_householder_product_rebuilds_qrs_q():
    a = XRNG.standard_normal((3, 6, 4))
    for k in (4, 2, 0):
        hs, taus, qs = [], [], []
        for m in a:
            h, tau = np.linalg.qr(m, mode="raw")  # LAPACK geqrf's reflectors (h transposed)
            hs.append(h.T)
            taus.append(tau[:k])
            if k == 4:
                qs.append(np.linalg.qr(m)[0])
        got = sg.linalg.householder_product(_t(np.stack(hs)), _t(np.stack(taus)))
        assert got.shape == (3, 6, 4)
        if k == 4:
            np.testing.assert_allclose(got.numpy(), np.stack(qs), atol=1e-12)
        if k == 0:
            np.testing.assert_array_equal(got.numpy(), np.broadcast_to(np.eye(6, 4), (3, 6, 4)))
    np.testing.assert_allclose(sg.orgqr(_t(hs[0]), _t(taus[0])).numpy(), np.eye(6, 4))
    name = "torch.linalg.householder_product: "
    for bad, err, msg in [
            ((sg.ones(3), sg.ones(1)), RuntimeError, "input must have at least 2 dimensions."),
            ((sg.ones(2, 3), sg.ones(1)), RuntimeError, r"input.shape\[-2\] must be greater than or equal to "
                                                        r"input.shape\[-1\]"),
            ((sg.ones(4, 3), sg.ones(4)), RuntimeError, r"input.shape\[-1\] must be greater than or equal to "
                                                        r"tau.shape\[-1\]"),
            ((sg.ones(4, 3), sg.ones(2, 2)), RuntimeError, "Expected tau to have one dimension less than input, but got "
                                                           "tau.ndim equal to 2 and input.ndim is equal to 2"),
            ((sg.ones(2, 4, 3), sg.ones(3, 2)), RuntimeError, r"Expected batch dimensions of tau to be equal to "
                                                              r"input.shape\[:-2\], but got \[3\]"),
            ((sg.ones(4, 3), sg.ones(2, dtype=sg.float64)), RuntimeError, "tau dtype Double does not match input "
                                                                          "dtype Float"),
            ((sg.ones(4, 3, dtype=sg.int64), sg.ones(2, dtype=sg.int64)), NotImplementedError,
             "\"orgqr_cpu\" not implemented for 'Long'")]:
        with pytest.raises(err, match=(re.escape(name) if err is RuntimeError else "") + msg):
            sg.linalg.householder_product(*bad)


def test_cholesky_solve_inverse_and_triangular_solve_values_and_errors():
    low = np.linalg.cholesky(SPD)  # (2, 3, 3)
    b = XRNG.standard_normal((4, 1, 3, 2))  # broadcast against the factors' batch
    want = np.linalg.solve(SPD, b)
    for upper in (False, True):
        f = low.transpose(0, 2, 1) if upper else low
        junk = np.triu(np.ones((3, 3)), 1) if not upper else np.tril(np.ones((3, 3)), -1)  # (never read)
        x = sg.cholesky_solve(_t(b), _t(f + 7 * junk), upper)
        assert x.shape == (4, 2, 3, 2)
        np.testing.assert_allclose(x.numpy(), want, rtol=1e-10)
        np.testing.assert_allclose(_t(b).cholesky_solve(_t(f), upper=upper).numpy(), want, rtol=1e-10)
        inv = sg.cholesky_inverse(_t(f + 7 * junk), upper=upper)
        np.testing.assert_allclose(inv.numpy(), np.linalg.inv(SPD), rtol=1e-10)
        assert np.array_equal(inv.numpy(), inv.numpy().transpose(0, 2, 1))  # exactly symmetric, as potri's
        np.testing.assert_allclose(_t(f).cholesky_inverse(upper).numpy(), np.linalg.inv(SPD), rtol=1e-10)
    with pytest.warns(UserWarning, match="torch.triangular_solve is deprecated"):
        sg.linalg_extras._WARNED.discard("triangular_solve")
        r = sg.triangular_solve(_t(b), _t(low), upper=False)
    assert type(r).__name__ == "triangular_solve" and r._fields == ("solution", "cloned_coefficient")
    np.testing.assert_allclose(r.solution.numpy(), np.linalg.solve(low, b), rtol=1e-10)
    assert r.cloned_coefficient.shape == (4, 2, 3, 3)
    np.testing.assert_array_equal(r.cloned_coefficient.numpy(), np.broadcast_to(low, (4, 2, 3, 3)))
    for upper, transpose, unit in [(True, False, False), (False, True, False), (True, True, True)]:
        a = SPD + 5 * np.ones((3, 3))
        tri = np.triu(a) if upper else np.tril(a)
        if unit:
            tri = tri * (1 - np.eye(3)) + np.eye(3)
        coef = tri.transpose(0, 2, 1) if transpose else tri
        got = _t(b).triangular_solve(_t(a), upper, transpose, unit).solution
        np.testing.assert_allclose(got.numpy(), np.linalg.solve(coef, b), rtol=1e-10)
    for bad, err, msg in [
            (lambda: sg.cholesky_solve(sg.ones(3), sg.eye(3)), RuntimeError,
             "b should have at least 2 dimensions, but has 1 dimensions instead"),
            (lambda: sg.cholesky_solve(sg.ones(3, 2), sg.ones(3)), RuntimeError,
             "u should have at least 2 dimensions, but has 1 dimensions instead"),
            (lambda: sg.cholesky_solve(sg.ones(4, 2), sg.eye(3)), RuntimeError,
             "Incompatible matrix sizes for cholesky_solve: each A matrix is 3 by 3 but each b matrix is 4 by 2"),
            (lambda: sg.cholesky_solve(sg.ones(3, 2, dtype=sg.float64), sg.eye(3)), RuntimeError,
             "Expected b and A to have the same dtype, but found b of type Double and A of type Float instead."),
            (lambda: sg.cholesky_solve(sg.ones(3, 2), sg.ones(3, 4)), RuntimeError,
             "A must be batches of square matrices, but they are 3 by 4 matrices"),
            (lambda: sg.cholesky_solve(sg.ones(2, 3, 2), sg.ones(4, 3, 3)), RuntimeError,
             r"The size of tensor a \(2\) must match the size of tensor b \(4\) at non-singleton dimension 0"),
            (lambda: sg.cholesky_solve(sg.ones(3, 2, dtype=sg.int64), sg.ones(3, 3, dtype=sg.int64)),
             NotImplementedError, "\"cholesky_solve_cpu\" not implemented for 'Long'"),
            (lambda: sg.cholesky_inverse(sg.ones(3)), RuntimeError,
             "cholesky_inverse: The input tensor A must have at least 2 dimensions."),
            (lambda: sg.cholesky_inverse(sg.ones(3, 4)), RuntimeError,
             "cholesky_inverse: A must be batches of square matrices, but they are 3 by 4 matrices"),
            (lambda: sg.cholesky_inverse(sg.ones(3, 3, dtype=sg.float16)), NotImplementedError,
             "\"cholesky_inverse_out_cpu\" not implemented for 'Half'"),
            (lambda: sg.triangular_solve(sg.ones(3), sg.eye(3)), RuntimeError,
             "torch.triangular_solve: Expected b to have at least 2 dimensions, but it has 1 dimensions instead"),
            (lambda: sg.triangular_solve(sg.ones(3, 2), sg.ones(3)), RuntimeError,
             "torch.triangular_solve: Expected A to have at least 2 dimensions, but it has 1 dimensions instead"),
            (lambda: sg.triangular_solve(sg.ones(4, 2), sg.eye(3)), RuntimeError,
             "Incompatible matrix sizes for triangular_solve: each A matrix is 3 by 3 but each b matrix is 4 by 2"),
            (lambda: sg.triangular_solve(sg.ones(3, 2, dtype=sg.int64), sg.ones(3, 3, dtype=sg.int64)),
             NotImplementedError, "\"triangular_solve_cpu\" not implemented for 'Long'")]:
        with pytest.raises(err, match="^" + msg):
            bad()


def test_deprecated_lu_and_lu_solve():
    sg.linalg_extras._WARNED.discard("lu")
    with pytest.warns(UserWarning, match=re.escape("torch.lu is deprecated in favor of torch.linalg.lu_factor")):
        r = sg.lu(_t(SQ), get_infos=True)
    assert type(r).__name__ == "_lu_with_info" and r._fields == ("LU", "pivots", "info")
    want = sg.linalg.lu_factor_ex(_t(SQ))
    for got, w in zip(r, want):
        np.testing.assert_array_equal(got.numpy(), w.numpy())
    two = sg.lu(_t(SQ))
    assert type(two) is tuple and len(two) == 2
    m = _t(SQ).lu(get_infos=True)
    assert type(m) is tuple and len(m) == 3 and type(_t(SQ).lu()) is tuple
    assert sg.lu(_t(np.zeros((3, 3))), get_infos=True).info.item() == 1  # (not an error, as PyTorch)
    with pytest.raises(RuntimeError, match="linalg.lu_factor: LU without pivoting is not implemented on the CPU"):
        sg.lu(_t(SQ), pivot=False)
    b = XRNG.standard_normal((2, 4, 3))
    sg.linalg_extras._WARNED.discard("lu_solve")
    with pytest.warns(UserWarning, match=re.escape("torch.lu_solve is deprecated in favor of torch.linalg.lu_solve")):
        x = sg.lu_solve(_t(b), r.LU, r.pivots)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(SQ, b), rtol=1e-10)
    np.testing.assert_allclose(_t(b).lu_solve(r.LU, r.pivots).numpy(), np.linalg.solve(SQ, b), rtol=1e-10)
    with pytest.raises(RuntimeError, match="linalg.lu_solve: The input tensor B must have at least 2 dimensions."):
        sg.lu_solve(sg.ones(4, dtype=sg.float64), r.LU, r.pivots)


def test_svd_lowrank_and_pca_lowrank_are_exact_at_full_rank():
    rng = np.random.default_rng(5)
    for shape, rank, q in [((2, 30, 12), 3, 5), ((12, 30), 4, 6)]:  # (a wide matrix is transposed inside)
        a = rng.standard_normal(shape[:-1] + (rank,)) @ rng.standard_normal(shape[:-2] + (rank, shape[-1]))
        sg.manual_seed(0)
        u, s, v = sg.svd_lowrank(_t(a), q=q)
        k = min(q, *shape[-2:])
        assert (u.shape, s.shape, v.shape) == (shape[:-1] + (k,), shape[:-2] + (k,), shape[:-2] + (shape[-1], k))
        np.testing.assert_allclose((u * s.unsqueeze(-2) @ v.mT).numpy(), a, atol=1e-10)
        np.testing.assert_allclose(s.numpy()[..., :rank], np.linalg.svd(a, compute_uv=False)[..., :rank], rtol=1e-10)
        np.testing.assert_allclose((u.mT @ u).numpy(), np.broadcast_to(np.eye(k), u.shape[:-2] + (k, k)), atol=1e-12)
    # M: the SVD of A - M, M broadcast
    a = rng.standard_normal((20, 2)) @ rng.standard_normal((2, 7))
    mean = rng.standard_normal((1, 7))
    u, s, v = sg.svd_lowrank(_t(a + mean), q=4, M=_t(mean))
    np.testing.assert_allclose((u * s @ v.mT).numpy(), a, atol=1e-10)
    # pca_lowrank centres the columns
    data = rng.standard_normal((40, 3)) @ rng.standard_normal((3, 6)) + rng.standard_normal(6) * 5
    u, s, v = sg.pca_lowrank(_t(data), q=3)
    centred = data - data.mean(0)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(centred, compute_uv=False)[:3], rtol=1e-10)
    np.testing.assert_allclose((u * s @ v.mT).numpy(), centred, atol=1e-10)
    assert sg.pca_lowrank(_t(data))[1].shape == (6,)  # q = min(6, m, n)
    u, s, v = sg.pca_lowrank(_t(data), q=4, center=False)  # (uncentred: rank 4)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(data, compute_uv=False)[:4], rtol=1e-8)
    with pytest.raises(ValueError, match=re.escape("q(=7) must be non-negative integer and not greater than "
                                                   "min(m, n)=6")):
        sg.pca_lowrank(_t(data), q=7)
    with pytest.raises(ValueError, match=re.escape("niter(=-1) must be non-negative integer")):
        sg.pca_lowrank(_t(data), niter=-1)


def _lowrank_fixed(a):
    sg.manual_seed(1)  # (the same random basis each evaluation)
    u, s, v = sg.svd_lowrank(a, q=2)  # (a rank-2 approximation, a smooth function of a)
    return u * s.unsqueeze(-2) @ v.mT + s.sum()


def _tril_solve(fn, upper=False):
    """``fn`` of a triangular factor made triangular inside (PyTorch's gradcheck_wrapper_triangular_input)."""
    return lambda f, *rest: fn(f.triu() if upper else f.tril(), *rest)


EXTRA_GRAD_CASES = [
    ("cholesky_ex", lambda a: sg.linalg.cholesky_ex(a @ a.mT + sg.eye(3, dtype=a.dtype)).L, lambda: M),
    ("cholesky_ex_upper", lambda a: sg.linalg.cholesky_ex(a @ a.mT + sg.eye(3, dtype=a.dtype), upper=True).L,
     lambda: M[0]),
    ("inv_ex", lambda a: sg.linalg.inv_ex(a).inverse, lambda: M),
    ("solve_ex", lambda a: sg.linalg.solve_ex(a, a[..., :2].exp()).result, lambda: M),
    ("solve_ex_right", lambda a: sg.linalg.solve_ex(a, a[..., :2, :] * 2, left=False).result, lambda: M[0]),
    ("vander", lambda a: sg.linalg.vander(a, N=4), lambda: XRNG.standard_normal((2, 3))),
    ("tensorinv", lambda a: sg.linalg.tensorinv(a.reshape(2, 3, 6), ind=2), lambda: XRNG.standard_normal((6, 6))
     + 3 * np.eye(6)),
    ("tensorsolve", lambda a: sg.linalg.tensorsolve(a.reshape(2, 3, 3, 2), a[0, :6].reshape(2, 3) ** 2, dims=(1,)),
     lambda: XRNG.standard_normal((6, 6)) + 3 * np.eye(6)),
    ("householder_product", lambda a: sg.linalg.householder_product(a, a[..., 0, :2].sigmoid()),
     lambda: XRNG.standard_normal((2, 4, 3))),
    ("cholesky_solve", _tril_solve(lambda f: sg.cholesky_solve(f[..., :2] ** 2, f + 3 * sg.eye(3, dtype=f.dtype))),
     lambda: M),
    ("cholesky_solve_upper", _tril_solve(lambda f: sg.cholesky_solve(f.mT[..., :2], f + 3 * sg.eye(3, dtype=f.dtype),
                                                                     upper=True), upper=True), lambda: M[0]),
    ("cholesky_inverse", _tril_solve(lambda f: sg.cholesky_inverse(f + 3 * sg.eye(3, dtype=f.dtype))), lambda: M),
    ("triangular_solve", lambda a: sg.triangular_solve(a[..., :2] + 1, a, upper=False, transpose=True).solution
     + sg.triangular_solve(a[..., :1], a).cloned_coefficient.sum(), lambda: M),
    ("lu_solve", lambda a: sg.lu_solve(a[..., :2] * 3, *sg.lu(a)), lambda: SQ[0]),
    ("svd_lowrank", _lowrank_fixed, lambda: XRNG.standard_normal((5, 3))),
]


@pytest.mark.parametrize("name,fn,make", EXTRA_GRAD_CASES, ids=[c[0] for c in EXTRA_GRAD_CASES])
def test_linalg_extras_gradcheck_and_gradgradcheck(name, fn, make):
    a = _t(make(), True)
    assert gradcheck(fn, (a,))
    if name != "svd_lowrank":  # (its second derivative is the SVD's, checked above; costly here)
        assert gradgradcheck(fn, (a,))


def test_linalg_extras_replay_under_compile():
    def body(a, b):
        shift = sg.tensor([1.0, -100.0], dtype=a.dtype)[:, None, None]  # (the second not positive definite)
        ex = sg.linalg.cholesky_ex(a @ a.mT + sg.eye(3, dtype=a.dtype) * shift)
        return (sg.cholesky_solve(b, ex.L[:1]) + sg.linalg.householder_product(a, a[..., 0, :2])[..., :2]
                + sg.linalg.solve_ex(a, b).result + sg.linalg.vander(a[..., 0], N=2)), ex.info

    f = sg.compile(body)
    for _ in range(3):
        a, b = _t(XRNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)), _t(XRNG.standard_normal((2, 3, 2)))
        got, info = f(a, b)
        want, want_info = body(a, b)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)
        assert info.tolist() == want_info.tolist() == [0, _potrf_info(a.numpy()[1] @ a.numpy()[1].T - 100 * np.eye(3))]
    assert f.cache_info()["compiles"] == 1 and f.cache_info()["hits"] == 2


def test_linalg_extras_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(31)
    spd = lambda m, a: a @ a.mT + m.eye(a.shape[-1], dtype=a.dtype)  # noqa: E731
    cases = [
        ("cholesky_ex", lambda m, a: m.linalg.cholesky_ex(spd(m, a)).L, (2, 4, 4)),
        ("cholesky_ex_upper", lambda m, a: m.linalg.cholesky_ex(spd(m, a), upper=True).L, (4, 4)),
        ("inv_ex", lambda m, a: m.linalg.inv_ex(a).inverse, (2, 3, 3)),
        ("solve_ex", lambda m, a: m.linalg.solve_ex(a, a[0, :, :2].exp()).result, (2, 3, 3)),
        ("solve_ex_vec", lambda m, a: m.linalg.solve_ex(a, a[..., 0] ** 2).result, (2, 3, 3)),
        ("vander", lambda m, a: m.linalg.vander(a, N=4), (2, 3)),
        ("vander_default", lambda m, a: m.linalg.vander(a[0]), (2, 3)),
        ("tensorinv", lambda m, a: m.linalg.tensorinv(a.reshape(6, 2, 3), ind=1), (6, 6)),
        ("tensorsolve", lambda m, a: m.linalg.tensorsolve(a.reshape(2, 3, 6), a[0, :6].reshape(2, 3)), (6, 6)),
        ("householder_product", lambda m, a: m.linalg.householder_product(a, a[..., 1, :2].tanh()), (2, 5, 3)),
        ("orgqr", lambda m, a: m.orgqr(a, a[1, :3]), (4, 3)),
        ("householder_product_zero_tau", lambda m, a: m.linalg.householder_product(  # (tau[1] is 0, its gradient not)
            a, a[1, :3] - (a[1, :3] * m.tensor([0.0, 1.0, 0.0], dtype=a.dtype)).detach()), (6, 4)),
        ("cholesky_solve", lambda m, a: m.cholesky_solve(a[0, :, :2], m.linalg.cholesky(spd(m, a))), (2, 3, 3)),
        ("cholesky_solve_upper", lambda m, a: a[..., :1].cholesky_solve(m.linalg.cholesky(spd(m, a), upper=True),
                                                                        upper=True), (3, 3)),
        ("cholesky_solve_tri_leaf", lambda m, a: m.cholesky_solve(a[:, :2], a.tril() + 3 * m.eye(3, dtype=a.dtype)),
         (3, 3)),
        ("cholesky_inverse", lambda m, a: m.cholesky_inverse(m.linalg.cholesky(spd(m, a))), (2, 3, 3)),
        ("cholesky_inverse_upper", lambda m, a: m.linalg.cholesky(spd(m, a), upper=True).cholesky_inverse(True),
         (3, 3)),
        ("triangular_solve", lambda m, a: m.triangular_solve(a[0, :, :2], a + 3 * m.eye(3, dtype=a.dtype)).solution,
         (2, 3, 3)),
        ("triangular_solve_t", lambda m, a: a[..., :1].triangular_solve(a + 3 * m.eye(3, dtype=a.dtype), False, True,
                                                                        True)[0], (3, 3)),
        ("triangular_solve_coef", lambda m, a: m.triangular_solve(a[0, :, :2], a).cloned_coefficient, (2, 3, 3)),
        ("lu", lambda m, a: m.lu(a)[0], (2, 4, 4)),
        ("lu_solve", lambda m, a: m.lu_solve(a[..., :2].exp(), *m.lu(a)), (2, 4, 4)),
    ]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, fn, shape in cases:
            a = rng.standard_normal(shape)
            x, t = _t(a, True), torch.tensor(a, requires_grad=True)
            out, want = fn(sg, x), fn(torch, t)
            assert out.shape == tuple(want.shape) and out.dtype is getattr(sg, str(want.dtype)[6:]), name
            np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-9, atol=1e-12,
                                       err_msg=name)
            w = rng.standard_normal(tuple(want.shape))
            (out * _t(w)).sum().backward()
            (want * torch.tensor(w)).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=name)
    # info tensors and the check_errors messages
    bad = _spd_batch(40, [3, 34], rng)
    for upper in (False, True):
        got = sg.linalg.cholesky_ex(_t(bad), upper=upper)
        want = torch.linalg.cholesky_ex(torch.tensor(bad), upper=upper)
        np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
        assert got.info.dtype is sg.int32 and want.info.dtype == torch.int32
        np.testing.assert_allclose(got.L[0].numpy(), want.L[0].numpy(), rtol=1e-10)
    sing = np.stack([np.eye(3), [[1.0, 2, 3], [2, 4, 6], [1, 0, 1]], np.zeros((3, 3))])
    for fn in (lambda m, a: m.linalg.inv_ex(a), lambda m, a: m.linalg.solve_ex(a, m.ones(2, 1, 3, 1, dtype=a.dtype))):
        got, want = fn(sg, _t(sing)), fn(torch, torch.tensor(sing))
        np.testing.assert_array_equal(got.info.numpy(), want.info.numpy())
        assert type(got).__name__ == type(want).__name__ and all(hasattr(want, f) for f in got._fields)
    for call in [lambda m, a: m.linalg.cholesky_ex(a, check_errors=True),
                 lambda m, a: m.linalg.cholesky_ex(a[1], upper=True, check_errors=True),
                 lambda m, a: m.linalg.inv_ex(a[:, :3, :3] * 0, check_errors=True),
                 lambda m, a: m.linalg.solve_ex(a[:, :3, :3] * 0, a[:, :3, :1], check_errors=True)]:
        with pytest.raises(torch.linalg.LinAlgError) as want:
            call(torch, torch.tensor(bad))
        with pytest.raises(sg.linalg.LinAlgError) as got:
            call(sg, _t(bad))
        assert str(got.value) == str(want.value)
    assert issubclass(sg.linalg.LinAlgError, RuntimeError) and issubclass(torch.linalg.LinAlgError, RuntimeError)
    # errors
    for call in [lambda m: m.linalg.vander(m.ones(3, dtype=m.bool)), lambda m: m.linalg.tensorinv(m.ones(4, 2, 8), 1),
                 lambda m: m.linalg.tensorsolve(m.ones(2, 3, 6), m.ones(2, 3, 6, 1)),
                 lambda m: m.linalg.householder_product(m.ones(2, 4, 3), m.ones(1, 2)),
                 lambda m: m.cholesky_solve(m.ones(2, 3, 2), m.ones(4, 3, 3)),
                 lambda m: m.cholesky_solve(m.ones(3, 2), m.ones(3, 3, dtype=m.float16)),
                 lambda m: m.cholesky_inverse(m.ones(3, 3, dtype=m.int64)),
                 lambda m: m.triangular_solve(m.ones(3, 2), m.ones(3, 4)),
                 lambda m: m.lu_solve(m.ones(4, 2), *m.linalg.lu_factor(m.eye(3)))]:
        with pytest.raises(Exception) as want:
            call(torch)
        with pytest.raises(type(want.value)) as got:
            call(sg)
        assert str(got.value) == str(want.value)
    # shapes of svd_lowrank / pca_lowrank
    for shape, q in [((3, 9, 5), 4), ((5, 9), 8), ((6, 6), None)]:
        a = rng.standard_normal(shape)
        got = [t.shape for t in sg.svd_lowrank(_t(a), q=q)]
        want = [tuple(t.shape) for t in torch.svd_lowrank(torch.tensor(a), q=q)]
        assert got == want
        assert [t.shape for t in sg.pca_lowrank(_t(a))] == [tuple(t.shape) for t in torch.pca_lowrank(torch.tensor(a))]
