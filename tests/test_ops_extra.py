"""The ops added for PyTorch parity (einsum, linalg norms, xlogy, logaddexp, logit, nan_to_num,
nansum/nanmean, topk, median, kthvalue, cummax/cummin, trace, inverse trig/hyperbolic, fmod, frac,
fmax/fmin, sinc, dist, cdist, smooth_l1/huber losses): PyTorch's conventions at ties and kinks,
stated without torch, then values, gradients and grad_fn names against PyTorch where installed.
(tests/test_ops.py checks each op's values and gradients against NumPy, finite differences and jax.grad.)"""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcgrad as sg
import srcgrad.nn.functional as F

NAN, INF = math.nan, math.inf


def _grad(fn, *values):
    xs = [sg.tensor(v, dtype=sg.float64, requires_grad=True) for v in values]
    out = fn(*xs)
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def test_conventions_at_ties_and_kinks():
    # median() of all elements shares the gradient among ties; median(dim) gives it to one index
    np.testing.assert_array_equal(_grad(lambda x: x.median(), [1.0, 2.0, 2.0, 3.0])[0], [0, 0.5, 0.5, 0])
    g = _grad(lambda x: x.median(0), [2.0, 2.0, 1.0])[0]
    assert sorted(g.tolist()) == [0.0, 0.0, 1.0] and g[2] == 0
    # the inf-norm shares among ties, as amax
    np.testing.assert_array_equal(_grad(lambda x: sg.linalg.vector_norm(x, INF), [-3.0, 3.0, 1.0])[0],
                                  [-0.5, 0.5, 0])
    # fmax/fmin: a tie goes wholly to the first input; NaN is ignored
    gx, gy = _grad(sg.fmax, [1.0, 2.0, NAN, 3.0], [1.0, 3.0, 1.0, NAN])
    np.testing.assert_array_equal(gx, [1, 0, 0, 1])
    np.testing.assert_array_equal(gy, [0, 1, 1, 0])
    # norms and distances are 0 (not NaN) where they vanish
    np.testing.assert_array_equal(_grad(lambda x: sg.dist(x, x.detach()), [1.0, 2.0])[0], [0, 0])
    np.testing.assert_array_equal(_grad(lambda x: sg.cdist(x, x.detach()), [[1.0, 2.0]])[0], [[0, 0]])
    np.testing.assert_array_equal(_grad(lambda x: sg.linalg.vector_norm(x, 3), [0.0, 0.0])[0], [0, 0])
    # sinc at 0, logit with eps outside [eps, 1 - eps], nan_to_num and nansum at non-finite values
    np.testing.assert_array_equal(_grad(sg.sinc, [0.0])[0], [0])
    np.testing.assert_array_equal(_grad(lambda x: x.logit(0.25), [0.1, 0.9])[0], [0, 0])
    assert np.isnan(_grad(lambda x: x.logit(), [1.5])[0][0])
    np.testing.assert_array_equal(_grad(sg.nan_to_num, [1.0, NAN, INF])[0], [1, 0, 0])
    np.testing.assert_array_equal(_grad(sg.nansum, [1.0, NAN])[0], [1, 0])
    # xlogy (PyTorch 2.13): log(y) for x, also at x == 0, but 0 where x == 0 and y <= 0; xlog1py the same at y <= -1
    np.testing.assert_allclose(_grad(sg.xlogy, [0.0, 1.0, 0.0, 0.0], [2.0, 1.0, 0.0, -1.0])[0],
                               [math.log(2.0), 0, 0, 0])
    np.testing.assert_allclose(_grad(sg.special.xlog1py, [0.0, 0.0, 0.0], [1.0, -1.0, -3.0])[0], [math.log(2.0), 0, 0])
    # cummax: at a tie the later index wins, and the gradient follows the indices
    r = sg.tensor([1.0, 3.0, 3.0, 2.0]).cummax(0)
    assert r.indices.tolist() == [0, 1, 2, 2]
    np.testing.assert_array_equal(_grad(lambda x: x.cummax(0), [1.0, 3.0, 3.0, 2.0])[0], [1, 1, 2, 0])
    # smooth_l1 with beta=0 is l1_loss (sign, 0 at 0)
    np.testing.assert_array_equal(_grad(lambda x: F.smooth_l1_loss(x, x.detach() * 0, beta=0.0, reduction="sum"),
                                        [0.0, -2.0])[0], [0, -1])


def test_grad_fn_names_and_return_types():
    x = sg.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, 2.0]], requires_grad=True)
    names = {
        "LinalgVectorNormBackward0": [sg.linalg.vector_norm(x, 3), sg.linalg.norm(x), sg.linalg.matrix_norm(x)],
        "ViewBackward0": [sg.einsum("ij,kj->ik", x, x)], "SumBackward1": [sg.einsum("ij->j", x)],
        "PermuteBackward0": [sg.einsum("ij->ji", x)], "MedianBackward0": [x.median()],
        "MedianBackward1": [x.median(1).values], "KthvalueBackward0": [x.kthvalue(2).values],
        "TopkBackward0": [x.topk(2).values], "CummaxBackward0": [x.cummax(1).values],
        "CumminBackward0": [x.cummin(0).values], "TraceBackward0": [x.trace()], "NansumBackward0": [x.nansum()],
        "DivBackward0": [x.nanmean()], "XlogyBackward0": [sg.xlogy(x, x)], "XlogyBackward1": [sg.xlogy(2.0, x)],
        "XlogyBackward2": [sg.xlogy(x, 2.0)], "FmodBackward0": [x.fmod(2)], "FmodBackward1": [x.fmod(x + 5)],
        "DistBackward0": [sg.dist(x, x * 2)], "CdistBackward0": [sg.cdist(x, x * 2)],
        "SmoothL1LossBackward0": [F.smooth_l1_loss(x, x * 2)], "HuberLossBackward0": [F.huber_loss(x, x * 2)],
        "LogitBackward0": [x.logit()], "NanToNumBackward0": [x.nan_to_num()], "SincBackward0": [x.sinc()],
        "FracBackward0": [x.frac()], "FmaxBackward0": [x.fmax(x)], "FminBackward0": [x.fmin(x)],
        "AsinBackward0": [x.asin()], "AcoshBackward0": [x.acosh()], "LogaddexpBackward0": [sg.logaddexp(x, x)],
    }
    for name, ts in names.items():
        for t in ts:
            assert t.grad_fn.name() == name
    assert repr(x.topk(1)).startswith("torch.return_types.topk(")
    assert repr(x.kthvalue(1)).startswith("torch.return_types.kthvalue(")
    assert repr(x.median(0)).startswith("torch.return_types.median(")
    assert sg.nn.SmoothL1Loss(beta=0.5)(x, x * 0).grad_fn.name() == "SmoothL1LossBackward0"
    assert sg.nn.HuberLoss(delta=2.0)(x, x * 0).grad_fn.name() == "HuberLossBackward0"


def test_einsum_forms():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(12.0).reshape(3, 4)
    ta, tb = sg.tensor(a), sg.tensor(b)
    np.testing.assert_allclose(sg.einsum("ij,jk", ta, tb).numpy(), a @ b)  # implicit output
    np.testing.assert_allclose(sg.einsum("ij,jk->", [ta, tb]).numpy(), (a @ b).sum())  # a list of operands
    np.testing.assert_allclose(sg.einsum("...j,jk->...k", ta, tb).numpy(), a @ b)
    np.testing.assert_allclose(sg.einsum("i j , j k -> i k", ta, tb).numpy(), a @ b)
    with pytest.raises(RuntimeError, match="einsum"):
        sg.einsum("ijk,jk->i", ta, tb)


# -- against PyTorch ---------------------------------------------------------------------------

A = [[1.0, -2.0, 3.0], [0.5, 0.0, 2.0]]
B = [[1.0, 2.0, 3.0], [3.0, 3.0, 1.0]]
M3 = [[2.0, -1.0, 0.5], [1.0, 3.0, 0.0], [0.5, 1.0, 4.0]]
SR_X = [[1.0, 0.0, 3.0], [2.0, 5.0, -1.0]]                  # (a zero in self, for prod)
SR_S = [[1.0, 1.0, 0.0], [5.0, 0.0, 5.0]]                   # (ties with self and each other, zeros)
CASES = [
    ("vector_norm_3", lambda t, x: t.linalg.vector_norm(x, 3), [A]),
    ("vector_norm_1", lambda t, x: t.linalg.vector_norm(x, 1, dim=0), [A]),
    ("vector_norm_half", lambda t, x: t.linalg.vector_norm(x, 0.5), [B]),
    ("vector_norm_inf_ties", lambda t, x: t.linalg.vector_norm(x, INF, dim=1), [B]),
    ("vector_norm_-inf", lambda t, x: t.linalg.vector_norm(x, -INF), [B]),
    ("linalg_norm", lambda t, x: t.linalg.norm(x), [A]),
    ("linalg_norm_dim", lambda t, x: t.linalg.norm(x, dim=1, keepdim=True), [A]),
    ("matrix_norm", lambda t, x: t.linalg.matrix_norm(x), [A]),
    ("einsum_mm", lambda t, x, y: t.einsum("ij,kj->ik", x, y), [A, B]),
    ("einsum_ellipsis", lambda t, x, y: t.einsum("...j,kj", x, y), [A, B]),
    ("einsum_batch", lambda t, x, y: t.einsum("bij,bjk->bik", x[None], y.t()[None]), [A, B]),
    ("einsum_outer_sum", lambda t, x, y: t.einsum("ij,kl->", x, y), [A, B]),
    ("topk", lambda t, x: x.topk(2), [B]),
    ("topk_smallest", lambda t, x: x.topk(1, dim=0, largest=False), [A]),
    ("kthvalue", lambda t, x: x.kthvalue(2, 1), [A]),
    ("median_ties", lambda t, x: x.median(), [B]),
    ("median_dim", lambda t, x: x.median(1), [A]),
    ("median_keepdim", lambda t, x: x.median(0, keepdim=True), [A]),
    ("cummax_ties", lambda t, x: x.cummax(1), [[[1.0, 3.0, 3.0, 2.0, 5.0], [2.0, 2.0, 1.0, 0.0, 2.0]]]),
    ("cummin_ties", lambda t, x: x.cummin(1), [[[1.0, 3.0, 3.0, 2.0, 0.0], [2.0, 2.0, 1.0, 1.0, 2.0]]]),
    ("trace", lambda t, x: x.trace(), [A]),
    ("nansum", lambda t, x: x.nansum(1), [[[1.0, NAN, 2.0], [1.0, 2.0, 3.0]]]),
    ("nanmean", lambda t, x: x.nanmean(1), [[[1.0, NAN, 2.0], [1.0, 2.0, 3.0]]]),
    ("cdist", lambda t, x, y: t.cdist(x, y), [A, B]),
    ("cdist_zero", lambda t, x, y: t.cdist(x, y), [A, A]),
    ("dist", lambda t, x, y: t.dist(x, y), [A, B]),
    ("dist_3", lambda t, x, y: t.dist(x, y, 3), [A, B]),
    ("dist_1", lambda t, x, y: t.dist(x, y, 1), [A, B]),
    ("logit", lambda t, x: x.logit(), [[0.2, 0.5, 0.0, 1.0, 1.5]]),
    ("logit_eps", lambda t, x: x.logit(0.1), [[0.05, 0.5, 0.95, 0.1]]),
    ("nan_to_num", lambda t, x: x.nan_to_num(), [[1.0, NAN, INF, -INF]]),
    ("nan_to_num_values", lambda t, x: x.nan_to_num(1.0, 2.0, -3.0), [[1.0, NAN, INF, -INF]]),
    ("xlogy", lambda t, x, y: t.xlogy(x, y), [[0.0, 1.0, 2.0, 0.0], [0.0, 2.0, 3.0, NAN]]),
    ("xlogy_scalar_self", lambda t, y: t.xlogy(2.0, y), [[1.0, 2.0]]),
    ("logaddexp", lambda t, x, y: t.logaddexp(x, y), [[0.0, 1.0, -3.0], [0.0, 5.0, 2.0]]),
    ("fmod", lambda t, x, y: t.fmod(x, y), [[5.0, -5.0, 3.5], [3.0, 3.0, -2.0]]),
    ("fmod_scalar", lambda t, x: t.fmod(x, 1.5), [[5.0, -5.0, 3.5]]),
    ("fmax", lambda t, x, y: t.fmax(x, y), [[1.0, 2.0, NAN, 3.0], [1.0, 3.0, 1.0, NAN]]),
    ("fmin", lambda t, x, y: t.fmin(x, y), [[1.0, 2.0, NAN, 3.0], [1.0, 3.0, 1.0, NAN]]),
    ("sinc", lambda t, x: t.sinc(x), [[0.0, 0.5, 1.0, -2.3]]),
    ("frac", lambda t, x: t.frac(x), [[1.5, -2.25]]),
    ("asin", lambda t, x: t.asin(x), [[0.3, -0.5]]),
    ("acos", lambda t, x: t.acos(x), [[0.3, -0.5]]),
    ("atan", lambda t, x: t.atan(x), [[0.3, -1.5]]),
    ("sinh", lambda t, x: t.sinh(x), [[0.3, -1.5]]),
    ("cosh", lambda t, x: t.cosh(x), [[0.3, -1.5]]),
    ("asinh", lambda t, x: t.asinh(x), [[0.3, -1.5]]),
    ("acosh", lambda t, x: t.acosh(x), [[1.3, 2.5]]),
    ("atanh", lambda t, x: t.atanh(x), [[0.3, -0.5]]),
    ("atan2_origin", lambda t, x, y: t.atan2(x, y), [[0.0, 1.0], [0.0, 1.0]]),
    ("smooth_l1", lambda t, x, y: t.nn.functional.smooth_l1_loss(x, y), [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("smooth_l1_beta0", lambda t, x, y: t.nn.functional.smooth_l1_loss(x, y, beta=0.0),
     [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("smooth_l1_none", lambda t, x, y: t.nn.functional.smooth_l1_loss(x, y, reduction="none", beta=2.0),
     [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("huber", lambda t, x, y: t.nn.functional.huber_loss(x, y), [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("huber_sum", lambda t, x, y: t.nn.functional.huber_loss(x, y, reduction="sum", delta=0.5),
     [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("huber_module", lambda t, x, y: t.nn.HuberLoss(delta=2.0)(x, y), [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("smooth_l1_module", lambda t, x, y: t.nn.SmoothL1Loss(beta=0.5)(x, y),
     [[0.0, 1.0, 3.0, -2.0], [0.5, 1.0, 0.0, 0.0]]),
    ("flip", lambda t, x: x.flip(0, 1), [A]),
    ("flip_fn", lambda t, x: t.flip(x, [-1]), [A]),
    ("roll", lambda t, x: x.roll(1, 1), [A]),
    ("roll_flat", lambda t, x: t.roll(x, -4), [A]),
    ("roll_dims", lambda t, x: t.roll(x, (1, -2), (0, 1)), [A]),
    ("movedim", lambda t, x: x[None].movedim(0, 2), [A]),
    ("moveaxis", lambda t, x: t.moveaxis(x[None], (0, 1), (2, 0)), [A]),
    ("tile", lambda t, x: x.tile(2), [A]),
    ("tile_more", lambda t, x: t.tile(x, (2, 1, 3)), [A]),
    ("diag_vector", lambda t, x: t.diag(x[0]), [A]),
    ("diag_vector_offset", lambda t, x: x[1].diag(-2), [A]),
    ("diag_matrix", lambda t, x: t.diag(x), [A]),
    ("diag_matrix_offset", lambda t, x: x.diag(1), [A]),
    ("diagonal", lambda t, x: x.diagonal(), [A]),
    ("diagonal_offset", lambda t, x: t.diagonal(x, -1), [A]),
    ("diagonal_dims", lambda t, x: x[None].expand(3, 2, 3).diagonal(1, 2, 0), [A]),
    ("outer", lambda t, x, y: t.outer(x[0], y[1]), [A, B]),
    ("ger", lambda t, x, y: x[1].ger(y[0]), [A, B]),
    ("addmm", lambda t, x, y: t.addmm(x[:, :2], x, y.t()), [A, B]),
    ("addmm_scaled", lambda t, x, y: t.addmm(x[0, :2], x, y.t(), beta=0.5, alpha=-2.0), [A, B]),
    ("addmm_beta0", lambda t, x, y: x[:, :2].addmm(x, y.t(), beta=0), [A, B]),
    ("tensordot", lambda t, x, y: t.tensordot(x, y.t(), 1), [A, B]),
    ("tensordot_lists", lambda t, x, y: t.tensordot(x, y, ([1, 0], [1, 0])), [A, B]),
    ("tensordot_outer", lambda t, x, y: t.tensordot(x, y, 0), [A, B]),
    ("hypot", lambda t, x, y: t.hypot(x, y), [A, B]),
    ("deg2rad", lambda t, x: x.deg2rad(), [A]),
    ("rad2deg", lambda t, x: t.rad2deg(x), [A]),
    ("copysign", lambda t, x, y: t.copysign(x, y), [[0.0, -0.0, 1.5, -2.0], [-1.0, 1.0, -0.0, 0.0]]),
    ("copysign_scalar", lambda t, x: x.copysign(-2.0), [[0.0, -0.0, 1.5, -2.0]]),
    ("sgn", lambda t, x: x.sgn(), [A]),
    ("lgamma", lambda t, x: t.lgamma(x), [[0.5, 1.0, 2.5, -1.5, 7.0]]),
    ("digamma", lambda t, x: x.digamma(), [[0.5, 1.0, 2.5, -1.5, 7.0]]),
    ("polygamma", lambda t, x: t.polygamma(1, x), [[0.5, 1.0, 2.5, -1.5, 7.0]]),
    ("polygamma_2", lambda t, x: x.polygamma(2), [[0.5, 1.0, 2.5, 7.0]]),
    ("erfinv", lambda t, x: t.erfinv(x), [[0.0, 0.5, -0.9, 0.99]]),
    ("cumsum_", lambda t, x: (x * 1).cumsum_(1), [A]),
    # scatters: ties, zeros and repeated indices as PyTorch resolves them
    ("scatter", lambda t, x, y: x.scatter(1, t.tensor([[2, 0], [1, 2]]), y[:, :2]), [A, B]),
    ("scatter_value", lambda t, x: x.scatter(0, t.tensor([[1, 0, 1]]), -1.5), [A]),
    ("scatter_", lambda t, x, y: (x * 1).scatter_(1, t.tensor([[2], [0]]), y[:, :1]), [A, B]),
    *[(f"scatter_reduce_{r}_{inc}", (lambda r, inc: lambda t, x, y: x.scatter_reduce(
        1, t.tensor([[0, 0, 2], [1, 1, 1]]), y, r, include_self=inc))(r, inc), [SR_X, SR_S])
      for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    ("scatter_reduce_", lambda t, x, y: (x * 1).scatter_reduce_(0, t.tensor([[1, 1, 0]]), y[:1], "amax"), [SR_X, SR_S]),
    ("scatter_add_", lambda t, x, y: (x * 1).scatter_add_(1, t.tensor([[0, 0], [2, 2]]), y[:, :2]), [A, B]),
    ("index_put", lambda t, x, y: t.index_put(x, (t.tensor([1, 1]), t.tensor([0, 2])), y[0, :2], True), [A, B]),
    ("masked_scatter", lambda t, x, y: x.masked_scatter(x > 0.4, y), [A, B]),
    ("masked_scatter_", lambda t, x, y: (x * 1).masked_scatter_(t.tensor([True, False, True]), y), [A, B]),
    ("diagonal_scatter", lambda t, x, y: t.diagonal_scatter(x, y[0, :2], 1), [A, B]),
    ("select_scatter", lambda t, x, y: t.select_scatter(x, y[1], 0, -1), [A, B]),
    ("slice_scatter", lambda t, x, y: x.slice_scatter(y[:, :2], 1, 1), [A, B]),
    ("fill_diagonal_", lambda t, x: (x * 1).fill_diagonal_(2.5), [A]),
    ("fill_diagonal_wrap", lambda t, x: (x.t().repeat(3, 1) * 1).fill_diagonal_(2.5, wrap=True), [A]),
    # linear algebra
    ("linalg_inv", lambda t, x: t.linalg.inv(x), [M3]),
    ("inverse", lambda t, x: x.inverse(), [M3]),
    ("det", lambda t, x: t.det(x), [M3]),
    ("linalg_det_batch", lambda t, x: t.linalg.det(t.stack([x, x.t() * 2])), [M3]),
    ("slogdet", lambda t, x: t.linalg.slogdet(x - 3).logabsdet, [M3]),
    ("slogdet_sign", lambda t, x: t.slogdet(x - 3).sign, [M3]),
    ("logdet", lambda t, x: t.logdet(x @ x.t()), [M3]),
    ("linalg_solve", lambda t, x, y: t.linalg.solve(x, y.t()), [M3, B]),
    ("linalg_solve_vector", lambda t, x, y: t.linalg.solve(x, y[0]), [M3, B]),
    ("linalg_solve_right", lambda t, x, y: t.linalg.solve(x, y, left=False), [M3, B]),
    ("solve_triangular", lambda t, x, y: t.linalg.solve_triangular(x, y.t(), upper=True), [M3, B]),
    ("solve_triangular_right_unit", lambda t, x, y: t.linalg.solve_triangular(x, y, upper=False, left=False,
                                                                             unitriangular=True), [M3, B]),
    ("cholesky", lambda t, x: t.linalg.cholesky(x @ x.t()), [M3]),
    ("cholesky_upper", lambda t, x: t.linalg.cholesky(x @ x.t(), upper=True), [M3]),
    ("cholesky_legacy", lambda t, x: t.cholesky(x @ x.t()), [M3]),
    ("qr_q", lambda t, x: t.linalg.qr(x.t()).Q, [A]),
    ("qr_r", lambda t, x: t.linalg.qr(x.t()).R, [A]),
    ("qr_wide_r", lambda t, x: t.linalg.qr(x)[1], [A]),
    ("eigvalsh", lambda t, x: t.linalg.eigvalsh(x + x.t()), [M3]),
    ("eigh_vectors", lambda t, x: t.linalg.eigh(x + x.t())[1] ** 2, [M3]),
    ("eigh_upper", lambda t, x: t.linalg.eigh(x + x.t(), UPLO="U").eigenvalues, [M3]),
    ("svdvals", lambda t, x: t.linalg.svdvals(x), [A]),
    ("svd_s", lambda t, x: t.linalg.svd(x, full_matrices=False).S, [A]),
    ("svd_u", lambda t, x: t.linalg.svd(x.t(), full_matrices=False).U ** 2, [A]),
    ("svd_vh", lambda t, x: t.linalg.svd(x, full_matrices=False).Vh ** 2, [A]),
    ("pinv", lambda t, x: t.linalg.pinv(x), [A]),
    ("pinverse", lambda t, x: x.t().pinverse(), [A]),
    ("lstsq", lambda t, x, y: t.linalg.lstsq(x.t(), y.t()).solution, [A, B]),
    ("matrix_exp", lambda t, x: t.linalg.matrix_exp(x * 0.5), [M3]),
    ("matrix_power_3", lambda t, x: t.linalg.matrix_power(x, 3), [M3]),
    ("matrix_power_-2", lambda t, x: x.matrix_power(-2), [M3]),
    ("matrix_power_-1", lambda t, x: t.linalg.matrix_power(x, -1), [M3]),
]


def _run(t, fn, values):
    xs = [t.tensor(v, dtype=t.float64, requires_grad=True) for v in values]
    out = fn(t, *xs)
    extra = None
    if isinstance(out, tuple):
        out, extra = out[0], out[1].numpy()
    w = t.arange(1.0, out.numel() + 1, dtype=t.float64).reshape(out.shape)
    (out * w).sum().backward()
    return (out.detach().numpy(), out.grad_fn.name(), extra,
            [None if x.grad is None else x.grad.numpy(force=True) for x in xs])


@pytest.mark.parametrize("name,fn,values", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(name, fn, values):
    torch = pytest.importorskip("torch")
    tv, tn, ti, tg = _run(torch, fn, values)
    sv, sn, si, sgr = _run(sg, fn, values)
    # (PyTorch's trigamma is good to ~5e-10 relative; JAX's matches pi^2 / 6 at 1 to the last digit)
    rtol = 1e-8 if name in ("digamma", "polygamma") else 1e-10
    np.testing.assert_allclose(sv, tv, rtol=rtol, atol=1e-12)
    assert sn == tn
    if ti is not None:
        np.testing.assert_array_equal(si, ti)
    for a, b in zip(sgr, tg):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)


def test_comparisons_against_pytorch():
    torch = pytest.importorskip("torch")
    a = [1.0, NAN, INF, -INF, 2.0, 0.0, 1e-9]
    b = [1.0, NAN, INF, INF, 2.000001, 1e-12, 0.0]
    for t in (torch, sg):
        assert t.tensor(a).dtype is not None
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}, {"rtol": 1e-3, "atol": 1e-6}):
        want = torch.isclose(torch.tensor(a), torch.tensor(b), **kw).numpy()
        np.testing.assert_array_equal(sg.isclose(sg.tensor(a), sg.tensor(b), **kw).numpy(), want)
        np.testing.assert_array_equal(sg.tensor(a).isclose(sg.tensor(b), **kw).numpy(), want)
        for x, y in ((a, b), (a, a), (b[:1], b[:1])):
            assert sg.allclose(sg.tensor(x), sg.tensor(y), **kw) == torch.allclose(torch.tensor(x), torch.tensor(y),
                                                                                  **kw)
    ints = ([0, 1, 3, 3], [0, 1, 2, 5])
    np.testing.assert_array_equal(sg.isclose(*map(sg.tensor, ints)).numpy(),
                                  torch.isclose(*map(torch.tensor, ints)).numpy())
    for x, y in (([1.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [1.0, 2.5]), ([1.0, 2.0], [[1.0, 2.0]]), ([NAN], [NAN])):
        assert sg.equal(sg.tensor(x), sg.tensor(y)) is torch.equal(torch.tensor(x), torch.tensor(y))
        assert sg.tensor(x).equal(sg.tensor(y)) is torch.tensor(x).equal(torch.tensor(y))
    p, q = [1.0, 0.0, -2.0, 0.0], [0.0, 0.0, 3.0, NAN]
    for name in ("logical_and", "logical_or", "logical_xor"):
        want = getattr(torch, name)(torch.tensor(p), torch.tensor(q))
        for got in (getattr(sg, name)(sg.tensor(p), sg.tensor(q)), getattr(sg.tensor(p), name)(sg.tensor(q))):
            assert got.dtype is sg.bool
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    z = [0.0, -0.0, 1.5, -2.0, -INF, NAN]
    np.testing.assert_array_equal(sg.signbit(sg.tensor(z)).numpy(), torch.signbit(torch.tensor(z)).numpy())
    # no gradient flows through a comparison
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    assert not sg.isclose(x, x * 2).requires_grad and not x.signbit().requires_grad


def test_new_empty_and_in_place_cumsum():
    x = sg.ones(2, 3, dtype=sg.float64)
    e = x.new_empty(4, 2)
    assert e.shape == (4, 2) and e.dtype is sg.float64 and not e.requires_grad
    assert x.new_empty((3,), dtype=sg.int64).dtype is sg.int64
    y = sg.tensor([[1.0, 2.0, 3.0]])
    assert y.cumsum_(1) is y and y._version == 1
    np.testing.assert_array_equal(y.numpy(), [[1, 3, 6]])


def _index_reduce_program(lib):
    """index_reduce's values, gradients (ties between self and source share theirs), names, the in-place
    form and the errors, printed the same way for either library."""
    out = []
    x = lib.ones(5, 3, dtype=lib.float64)
    t = lib.tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], dtype=lib.float64, requires_grad=True)
    idx = lib.tensor([0, 4, 2, 0])
    for red in ("prod", "mean", "amax", "amin"):
        for inc in (True, False):
            y = x.index_reduce(0, idx, t, red, include_self=inc)
            (g,) = lib.autograd.grad((y * lib.arange(15.0, dtype=lib.float64).reshape(5, 3)).sum(), t)
            out.append((red, inc, y.tolist(), g.tolist(), y.grad_fn.name()))
    z = lib.ones(5, 3)
    z.index_reduce_(1, lib.tensor([2, 0]), lib.full((5, 2), 3.0), "amax")
    out.append(z.tolist())
    out.append(lib.index_reduce(z, 0, lib.tensor([1]), lib.full((1, 3), 0.5), "mean", include_self=False).tolist())
    s = lib.ones(4, 3)
    for bad in (lambda: z.index_reduce(0, idx, s, "sum"), lambda: z.index_reduce(0, idx.float(), s, "prod"),
                lambda: z.index_reduce(0, idx[None], s, "prod"), lambda: z.index_reduce(0, idx[:3], s, "prod"),
                lambda: z.index_reduce(0, lib.tensor([0, 5, 1, 1]), s, "prod"),
                lambda: z.index_reduce(0, lib.tensor([0, -1, 1, 1]), s, "prod"),
                lambda: z.index_reduce(0, idx, lib.ones(4, 2), "prod"),
                lambda: z.index_reduce(0, idx, s.double(), "prod")):
        try:
            bad()
        except (RuntimeError, IndexError) as e:
            out.append((type(e).__name__, str(e)))
    return out


def test_index_reduce_against_pytorch():
    torch = pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _index_reduce_program(sg) == _index_reduce_program(torch)


@pytest.mark.parametrize("values, mode, index", [
    ([1.0, NAN, NAN, 2.0], 1.0, 0), ([NAN], NAN, 0), ([3.0, NAN, 3.0, NAN], 3.0, 0),  # (3s in two runs)
    ([NAN, NAN, 5.0, 5.0], 5.0, 3), ([1.0, 1.0, NAN, 2.0, 2.0, 2.0], 2.0, 5), ([NAN, 2.0], NAN, 0),
    ([0.5, 0.5, 0.25], 0.5, 1)])
def test_mode_with_nans_as_pytorchs_sort_leaves_them(values, mode, index):
    # (each checked against PyTorch 2.13: a NaN is a run of its own and splits the slice)
    x = sg.tensor(values, requires_grad=True)
    m = x.mode()
    assert (math.isnan(m.values.item()) and math.isnan(mode)) or m.values.item() == mode
    assert m.indices.item() == index and m.values.grad_fn.name() == "ModeBackward0"
    m.values.backward()
    assert x.grad.tolist() == [1.0 if k == index else 0.0 for k in range(len(values))]


def test_nextafter_against_pytorch():
    torch = pytest.importorskip("torch")

    def program(lib):
        out = []
        a, b = lib.tensor([1.0, 0.0, -1.0]), lib.tensor([2.0, 1.0, -1.0])
        out.append(lib.nextafter(a, b).tolist())
        out.append((lib.nextafter(a, b.double()).dtype == lib.float64, a.nextafter(b).dtype == lib.float32))
        x = lib.tensor([1.0])
        x.nextafter_(lib.tensor([0.0]))
        out.append(x.item())
        w = lib.tensor([1.0, 3.0], requires_grad=True)
        o = lib.tensor([2.0, 1.0], requires_grad=True)
        y = w.nextafter(o)
        (y * lib.tensor([2.0, 5.0])).sum().backward()
        out.append((y.grad_fn.name(), w.grad.tolist(), o.grad.tolist()))
        for bad in (lambda: lib.nextafter(lib.tensor([1]), lib.tensor([2])), lambda: lib.nextafter(a, 2.0)):
            try:
                bad()
            except (RuntimeError, TypeError, NotImplementedError) as e:
                out.append((type(e).__name__, str(e)))
        return out

    assert program(sg) == program(torch)
