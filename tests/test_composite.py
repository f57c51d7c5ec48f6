"""The composite functions of srcgrad/composite.py (PyTorch functions written with existing ops):
values against NumPy, gradients against float64 finite differences (define-by-run and a few under
``@srcgrad.compile``), second derivatives, PyTorch's error messages, and, where torch is
installed, values and gradients against PyTorch itself."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import srcgrad as sg

RNG = np.random.default_rng(1234)


def _rand(*shape: int, lo: float = -2.0, hi: float = 2.0) -> np.ndarray:
    return RNG.uniform(lo, hi, size=shape)


@dataclass
class Case:
    name: str
    fn: Callable            # fn(m, *tensors) with m = srcgrad or torch (the same API)
    ref: Callable | None    # ref(*arrays) -> array or tuple of arrays (NumPy)
    inputs: tuple           # float64 arrays (the differentiable inputs)
    grad: bool = True
    rtol: float = 1e-10
    torch_grad: bool = True  # (False: PyTorch's own gradient is wrong there; said at the case)


def _np_unfold(a, axis, size, step):
    w = np.lib.stride_tricks.sliding_window_view(a, size, axis=axis)
    return np.take(w, np.arange(0, w.shape[axis], step), axis=axis)


def _np_trapz(y, x=None, dx=1.0, axis=-1):
    y = np.moveaxis(y, axis, -1)
    d = np.diff(x) if x is not None else dx
    return ((y[..., 1:] + y[..., :-1]) * d / 2).sum(-1)


def _np_cumtrapz(y, dx=1.0, axis=-1):
    y = np.moveaxis(y, axis, -1)
    return np.moveaxis(np.cumsum((y[..., 1:] + y[..., :-1]) * dx / 2, -1), -1, axis)


def _np_block_diag(*ms):
    ms = [np.atleast_2d(m) for m in ms]
    out = np.zeros((sum(m.shape[0] for m in ms), sum(m.shape[1] for m in ms)))
    r = c = 0
    for m in ms:
        out[r:r + m.shape[0], c:c + m.shape[1]] = m
        r, c = r + m.shape[0], c + m.shape[1]
    return out


def _np_renorm(a, p, dim, maxnorm):
    axes = tuple(i for i in range(a.ndim) if i != dim)
    norms = (np.abs(a) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
    return a * np.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)


def _np_sum_to(a, size):
    lead = a.ndim - len(size)
    out = a.sum(axis=tuple(range(lead)))
    for i, s in enumerate(size):
        if s == 1:
            out = out.sum(axis=i, keepdims=True)
    return out



def _np_nanmedian(x, axis):
    """NaN-ignoring lower median along ``axis`` and its index (stable among ties), as PyTorch."""
    cnt = (~np.isnan(x)).sum(axis, keepdims=True)
    k = np.maximum((cnt - 1) // 2, 0)
    idx = np.take_along_axis(np.argsort(x, axis, kind="stable"), k, axis)
    return np.take_along_axis(x, idx, axis).squeeze(axis), idx.squeeze(axis)


def _np_diag_embed(x, offset=0, dim1=-2, dim2=-1):
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
    i = np.arange(x.shape[-1])
    rows, cols = (i, i + offset) if offset >= 0 else (i - offset, i)
    out[..., rows, cols] = x
    return np.moveaxis(out, (-2, -1), (dim1, dim2))


def _np_gradient(y, *spacing, axis=None, edge_order=1):
    out = np.gradient(y, *spacing, axis=axis, edge_order=edge_order)
    return tuple(out) if isinstance(out, (list, tuple)) else (out,)


_erfc = np.vectorize(math.erfc)
_M = _rand(3, 4)
_V3, _V4 = _rand(3), _rand(4)
_Q3 = np.array([0.1, 0.5, 0.93])
_NAN_M = _rand(3, 5)
_NAN_M[0, 1] = _NAN_M[2, 3] = _NAN_M[2, 0] = np.nan
_COORDS5 = np.cumsum(_rand(5, lo=0.2, hi=1.0))
_COORDS3 = np.cumsum(_rand(3, lo=0.2, hi=1.0))

CASES = [
    # 1. predicates and reductions
    Case("count_nonzero", lambda m, x: m.count_nonzero((x > 0) * x, dim=1),
         lambda x: np.count_nonzero((x > 0) * x, axis=1), (_M,), grad=False),
    Case("aminmax", lambda m, x: tuple(m.aminmax(x, dim=0)), lambda x: (x.min(0), x.max(0)), (_M,)),
    Case("aminmax_all", lambda m, x: tuple(x.aminmax()), lambda x: (x.min(), x.max()), (_M,)),
    Case("aminmax_keepdim", lambda m, x: tuple(m.aminmax(x, keepdim=True)),
         lambda x: (x.min(keepdims=True), x.max(keepdims=True)), (_M,)),
    Case("positive", lambda m, x: m.positive(x) * 2, lambda x: x * 2, (_M,)),
    # 2. broadcasting, stacking and splitting
    Case("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)), (_M,)),
    Case("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y),
         lambda x, y: tuple(np.broadcast_arrays(x, y)), (_rand(3, 1), _rand(4))),
    Case("hstack", lambda m, x, y: m.hstack([x, y]), lambda x, y: np.hstack([x, y]), (_M, _rand(3, 2))),
    Case("hstack_1d", lambda m, x, y: m.hstack((x, y)), lambda x, y: np.hstack([x, y]), (_V3, _V4)),
    Case("vstack", lambda m, x, y: m.vstack([x, y]), lambda x, y: np.vstack([x, y]), (_M, _V4)),
    Case("row_stack", lambda m, x, y: m.row_stack([x, y]), lambda x, y: np.vstack([x, y]), (_V4, _V4)),
    Case("dstack", lambda m, x, y: m.dstack([x, y]), lambda x, y: np.dstack([x, y]), (_M, _M)),
    Case("column_stack", lambda m, x, y: m.column_stack([x, y]), lambda x, y: np.column_stack([x, y]),
         (_V3, _rand(3, 2))),
    Case("tensor_split_int", lambda m, x: m.tensor_split(x, 3, dim=1), lambda x: tuple(np.array_split(x, 3, 1)),
         (_M,)),
    Case("tensor_split_idx", lambda m, x: x.tensor_split([1, -1, 9]), lambda x: tuple(np.split(x, [1, 2, 9])),
         (_M,)),
    Case("hsplit", lambda m, x: m.hsplit(x, 2), lambda x: tuple(np.hsplit(x, 2)), (_M,)),
    Case("hsplit_1d", lambda m, x: m.hsplit(x, [1, 3]), lambda x: tuple(np.hsplit(x, [1, 3])), (_V4,)),
    Case("vsplit", lambda m, x: m.vsplit(x, [2]), lambda x: tuple(np.vsplit(x, [2])), (_M,)),
    Case("dsplit", lambda m, x: m.dsplit(x, 2), lambda x: tuple(np.dsplit(x, 2)), (_rand(2, 2, 4),)),
    Case("split_with_sizes", lambda m, x: x.split_with_sizes([1, 3], 1), lambda x: tuple(np.split(x, [1], 1)),
         (_M,)),
    Case("unsafe_split", lambda m, x: m.unsafe_split(x, 3, 1), lambda x: tuple(np.split(x, [3], 1)), (_M,)),
    Case("unsafe_chunk", lambda m, x: x.unsafe_chunk(2, 0), lambda x: tuple(np.array_split(x, 2, 0)), (_M,)),
    Case("swapdims", lambda m, x: m.swapdims(x, 0, 2), lambda x: np.swapaxes(x, 0, 2), (_rand(2, 3, 4),)),
    Case("sum_to_size", lambda m, x: x.sum_to_size(3, 1), lambda x: _np_sum_to(x, (3, 1)), (_rand(2, 3, 4),)),
    Case("narrow_copy", lambda m, x: m.narrow_copy(x, 1, 1, 2), lambda x: x[:, 1:3], (_M,)),
    Case("meshgrid_ij", lambda m, x, y: m.meshgrid(x, y, indexing="ij"),
         lambda x, y: tuple(np.meshgrid(x, y, indexing="ij")), (_V3, _V4)),
    Case("meshgrid_xy", lambda m, x, y, z: m.meshgrid([x, y, z], indexing="xy"),
         lambda x, y, z: tuple(np.meshgrid(x, y, z, indexing="xy")), (_V3, _V4, _rand(2))),
    Case("cartesian_prod", lambda m, x, y: m.cartesian_prod(x, y),
         lambda x, y: np.array(list(itertools.product(x, y))), (_V3, _rand(2))),
    Case("combinations", lambda m, x: m.combinations(x, 2), lambda x: np.array(list(itertools.combinations(x, 2))),
         (_V4,)),
    Case("combinations_repl", lambda m, x: m.combinations(x, 3, with_replacement=True),
         lambda x: np.array(list(itertools.combinations_with_replacement(x, 3))), (_V3,)),
    Case("rot90", lambda m, x: m.rot90(x, 1, [0, 1]), lambda x: np.rot90(x, 1, (0, 1)), (_M,)),
    Case("rot90_k3", lambda m, x: x.rot90(-5, [2, 0]), lambda x: np.rot90(x, -5, (2, 0)), (_rand(2, 3, 4),)),
    Case("rot90_k2", lambda m, x: x.rot90(2, [1, 0]), lambda x: np.rot90(x, 2, (1, 0)), (_M,)),
    Case("block_diag", lambda m, x, y, z: m.block_diag(x, y, z), _np_block_diag, (_rand(2, 3), _V3, np.array(1.5))),
    Case("diagflat", lambda m, x: m.diagflat(x, -1), lambda x: np.diagflat(x, -1), (_rand(2, 2),)),
    Case("take", lambda m, x: m.take(x, m.tensor([[0, 5], [-1, 11]])), lambda x: np.take(x, [[0, 5], [-1, 11]]),
         (_M,)),
    Case("unfold", lambda m, x: x.unfold(1, 2, 1), lambda x: _np_unfold(x, 1, 2, 1), (_M,)),
    Case("unfold_step", lambda m, x: x.unfold(0, 2, 2), lambda x: _np_unfold(x, 0, 2, 2), (_rand(5, 3),)),
    Case("repeat_interleave", lambda m, x: m.repeat_interleave(x, 2, dim=1), lambda x: np.repeat(x, 2, 1), (_M,)),
    Case("repeat_interleave_flat", lambda m, x: x.repeat_interleave(3), lambda x: np.repeat(x, 3), (_M,)),
    Case("repeat_interleave_tensor", lambda m, x: x.repeat_interleave(m.tensor([1, 0, 2]), dim=0),
         lambda x: np.repeat(x, [1, 0, 2], 0), (_M,)),
    # 3. math
    Case("erfc", lambda m, x: m.erfc(x), _erfc, (_M,), rtol=1e-7),
    Case("exp2", lambda m, x: x.exp2(), np.exp2, (_M,)),
    Case("float_power", lambda m, x: m.float_power(x.abs() + 0.5, 2.5), lambda x: np.float_power(abs(x) + 0.5, 2.5),
         (_M,)),
    Case("float_power_tensor", lambda m, x, y: m.float_power(x.abs() + 0.5, y),
         lambda x, y: np.float_power(abs(x) + 0.5, y), (_M, _V4)),
    Case("logaddexp2", lambda m, x, y: m.logaddexp2(x, y), np.logaddexp2, (_M, _V4)),
    Case("fix", lambda m, x: m.fix(x * 3), lambda x: np.fix(x * 3), (_M,)),
    # (PyTorch's ldexp gradient computes 2 ** other in integers: 0 for negative exponents)
    Case("ldexp", lambda m, x: m.ldexp(x, m.tensor([1, -2, 0, 3])), lambda x: np.ldexp(x, [1, -2, 0, 3]), (_M,),
         torch_grad=False),
    Case("cross", lambda m, x, y: m.cross(x, y, dim=0), lambda x, y: np.cross(x, y, axis=0),
         (_rand(3, 2), _rand(3, 2))),
    Case("linalg_cross", lambda m, x, y: m.linalg.cross(x, y), lambda x, y: np.cross(x, y),
         (_rand(2, 3), _rand(1, 3))),
    Case("kron", lambda m, x, y: m.kron(x, y), np.kron, (_rand(2, 3), _rand(2))),
    Case("kron_3d", lambda m, x, y: m.kron(x, y), np.kron, (_rand(2, 1, 2), _rand(3, 2))),
    Case("diff", lambda m, x: m.diff(x, 2, 1), lambda x: np.diff(x, 2, 1), (_M,)),
    Case("diff_pre_app", lambda m, x, p, a: m.diff(x, 1, 0, prepend=p, append=a),
         lambda x, p, a: np.diff(x, 1, 0, prepend=p, append=a), (_M, _rand(1, 4), _rand(2, 4))),
    Case("inner", lambda m, x, y: m.inner(x, y), np.inner, (_M, _rand(2, 4))),
    Case("inner_scalar", lambda m, x, y: m.inner(x, y), np.inner, (_M, np.array(1.5))),
    Case("vdot", lambda m, x, y: m.vdot(x, y), np.vdot, (_V4, _V4)),
    Case("addmv", lambda m, i, a, v: m.addmv(i, a, v, beta=0.5, alpha=2.0),
         lambda i, a, v: 0.5 * i + 2 * a @ v, (_V3, _M, _V4)),
    Case("addr", lambda m, i, a, b: i.addr(a, b, alpha=-1.5), lambda i, a, b: i - 1.5 * np.outer(a, b),
         (_rand(1, 4), _V3, _V4)),
    Case("baddbmm", lambda m, i, a, b: m.baddbmm(i, a, b, beta=2), lambda i, a, b: 2 * i + a @ b,
         (_rand(3, 1), _rand(2, 3, 4), _rand(2, 4, 2))),
    Case("addbmm", lambda m, i, a, b: m.addbmm(i, a, b, beta=0.25, alpha=3),
         lambda i, a, b: 0.25 * i + 3 * (a @ b).sum(0), (_rand(3, 2), _rand(2, 3, 4), _rand(2, 4, 2))),
    Case("multi_dot", lambda m, a, b, c, d: m.linalg.multi_dot([a, b, c, d]),
         lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]), (_V3, _M, _rand(4, 2), _rand(2, 5))),
    Case("multi_dot_vecs", lambda m, a, b, c: m.linalg.multi_dot([a, b, c]),
         lambda a, b, c: np.linalg.multi_dot([a, b, c]), (_V3, _M, _V4)),
    Case("vecdot", lambda m, x, y: m.linalg.vecdot(x, y, dim=0), lambda x, y: (x * y).sum(0), (_M, _rand(3, 1))),
    Case("linalg_diagonal", lambda m, x: m.linalg.diagonal(x, offset=1), lambda x: np.diagonal(x, 1, -2, -1),
         (_rand(2, 3, 4),)),
    Case("trapezoid", lambda m, y: m.trapezoid(y), lambda y: _np_trapz(y), (_M,)),
    Case("trapezoid_dx", lambda m, y: m.trapezoid(y, dx=0.5, dim=0), lambda y: _np_trapz(y, dx=0.5, axis=0), (_M,)),
    Case("trapezoid_x", lambda m, y, x: m.trapezoid(y, x), lambda y, x: _np_trapz(y, x), (_M, _V4)),
    Case("trapz", lambda m, y: m.trapz(y, dim=0), lambda y: _np_trapz(y, axis=0), (_M,)),
    Case("cumulative_trapezoid", lambda m, y: m.cumulative_trapezoid(y, dx=2.0, dim=0),
         lambda y: _np_cumtrapz(y, 2.0, 0), (_M,)),
    Case("cov", lambda m, x: m.cov(x), np.cov, (_M,)),
    Case("cov_corr0", lambda m, x: m.cov(x, correction=0), lambda x: np.cov(x, ddof=0), (_rand(5),)),
    Case("cov_weights", lambda m, x, aw: m.cov(x, fweights=m.tensor([1, 2, 1, 3]), aweights=aw.abs() + 0.1),
         lambda x, aw: np.cov(x, fweights=[1, 2, 1, 3], aweights=abs(aw) + 0.1), (_M, _V4)),
    Case("corrcoef", lambda m, x: m.corrcoef(x), np.corrcoef, (_M,)),
    Case("var_mean", lambda m, x: m.var_mean(x, 1, keepdim=True),
         lambda x: (x.var(1, ddof=1, keepdims=True), x.mean(1, keepdims=True)), (_M,)),
    Case("std_mean", lambda m, x: m.std_mean(x, dim=(0, 1), correction=0), lambda x: (x.std(), x.mean()), (_M,)),
    Case("std_mean_unbiased", lambda m, x: m.std_mean(x, False), lambda x: (x.std(), x.mean()), (_M,)),
    Case("logcumsumexp", lambda m, x: m.logcumsumexp(x, 1), lambda x: np.logaddexp.accumulate(x, 1), (_rand(2, 7),)),
    Case("logcumsumexp_dim0", lambda m, x: x.logcumsumexp(0), lambda x: np.logaddexp.accumulate(x, 0),
         (_rand(5, 2) * 30,)),
    Case("renorm", lambda m, x: m.renorm(x, 2, 0, 1.5), lambda x: _np_renorm(x, 2, 0, 1.5), (_M * 2,)),
    Case("renorm_p1", lambda m, x: x.renorm(1, 1, 2.0), lambda x: _np_renorm(x, 1, 1, 2.0), (_M,)),
    # 5. order statistics, numerical gradients, Vandermonde, adjoints
    Case("quantile", lambda m, x: m.quantile(x, 0.37, dim=1), lambda x: np.quantile(x, 0.37, axis=1), (_rand(3, 5),)),
    Case("quantile_all", lambda m, x: x.quantile(0.8), lambda x: np.quantile(x, 0.8), (_M,)),
    Case("quantile_all_keepdim", lambda m, x: m.quantile(x, 0.25, keepdim=True),
         lambda x: np.quantile(x, 0.25, keepdims=True), (_M,)),
    *[Case(f"quantile_{how}", lambda m, x, how=how: m.quantile(x, m.tensor(_Q3, dtype=m.float64), dim=0,
                                                                  keepdim=True, interpolation=how),
           lambda x, how=how: np.quantile(x, _Q3, axis=0, keepdims=True, method=how), (_rand(6, 4),))
      for how in ("linear", "lower", "higher", "midpoint", "nearest")],
    # (q differentiable too: through the interpolation weights)
    Case("quantile_q_grad", lambda m, x, q: m.quantile(x, q, dim=-1), lambda x, q: np.quantile(x, q, axis=-1),
         (_rand(2, 7), np.array([0.2, 0.71]))),
    Case("quantile_nan_slice", lambda m, x: m.quantile(x, 0.5, dim=1), lambda x: np.quantile(x, 0.5, axis=1),
         (_NAN_M,), grad=False),
    *[Case(f"nanquantile_{how}", lambda m, x, how=how: m.nanquantile(x, m.tensor(_Q3, dtype=m.float64), dim=1,
                                                                       interpolation=how),
           lambda x, how=how: np.nanquantile(x, _Q3, axis=1, method=how), (_NAN_M,))
      for how in ("linear", "lower", "higher", "midpoint", "nearest")],
    Case("nanquantile_all", lambda m, x: x.nanquantile(0.3), lambda x: np.nanquantile(x, 0.3), (_NAN_M,)),
    Case("nanmedian", lambda m, x: m.nanmedian(x), lambda x: _np_nanmedian(x.reshape(-1), 0)[0], (_NAN_M,)),
    Case("nanmedian_dim", lambda m, x: tuple(m.nanmedian(x, 1)), lambda x: _np_nanmedian(x, 1), (_NAN_M,)),
    Case("nanmedian_dim0_keepdim", lambda m, x: tuple(x.nanmedian(0, keepdim=True)),
         lambda x: tuple(np.expand_dims(a, 0) for a in _np_nanmedian(x, 0)), (_NAN_M,)),
    Case("nanmedian_ties", lambda m, x: m.nanmedian(x), lambda x: 2.0, (np.array([2.0, np.nan, 2.0, 1.0, 3.0]),)),
    Case("nanmedian_inf_ties", lambda m, x: m.nanmedian(x), lambda x: -np.inf,
         (np.array([-np.inf, 0.5, -np.inf, np.nan]),), grad=False),
    Case("diag_embed", lambda m, x: m.diag_embed(x), _np_diag_embed, (_M,)),
    Case("diag_embed_offset", lambda m, x: x.diag_embed(2, 0, 2), lambda x: _np_diag_embed(x, 2, 0, 2), (_M,)),
    Case("diag_embed_neg", lambda m, x: m.diag_embed(x, -1, -1, -3), lambda x: _np_diag_embed(x, -1, -1, -3),
         (_rand(2, 3, 2),)),
    Case("gradient", lambda m, y: m.gradient(y), _np_gradient, (_rand(4, 5),)),
    Case("gradient_spacing", lambda m, y: m.gradient(y, spacing=0.5, edge_order=2),
         lambda y: _np_gradient(y, 0.5, edge_order=2), (_rand(4, 5),)),
    Case("gradient_list", lambda m, y: m.gradient(y, spacing=[2.0, 3], dim=[1, 0]),
         lambda y: _np_gradient(y, 2.0, 3, axis=(1, 0)), (_rand(3, 4),)),
    Case("gradient_dim", lambda m, y: m.gradient(y, dim=-1), lambda y: _np_gradient(y, axis=-1), (_rand(2, 3, 2),)),
    Case("gradient_coords", lambda m, y, c: m.gradient(y, spacing=[c], dim=1),
         lambda y, c: _np_gradient(y, c, axis=1), (_rand(3, 5), _COORDS5)),
    Case("gradient_coords2", lambda m, y, c, d: m.gradient(y, spacing=(c, d), edge_order=2),
         lambda y, c, d: _np_gradient(y, c, d, edge_order=2), (_rand(3, 5), _COORDS3, _COORDS5)),
    # (PyTorch's own vander backward fails: "modified by an inplace operation")
    Case("vander", lambda m, x: m.vander(x), np.vander, (_V4,), torch_grad=False),
    Case("vander_n_increasing", lambda m, x: m.vander(x, N=5, increasing=True),
         lambda x: np.vander(x, 5, increasing=True), (np.array([1.5, 0.0, -0.7]),), torch_grad=False),
    Case("adjoint", lambda m, x: m.adjoint(x), lambda x: np.swapaxes(x, -1, -2), (_rand(2, 3, 4),)),
    Case("adjoint_method", lambda m, x: x.adjoint(), lambda x: x.T, (_M,)),
    Case("H", lambda m, x: x.H, lambda x: x.T, (_M,)),
    Case("mH", lambda m, x: x.mH * 2, lambda x: np.swapaxes(x, -1, -2) * 2, (_rand(2, 3, 4),)),
]


def _tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _sg_inputs(arrays, requires_grad=False):
    return [sg.tensor(a, dtype=sg.float64, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_values_against_numpy(case: Case) -> None:
    outs = _tuple(case.fn(sg, *_sg_inputs(case.inputs)))
    refs = _tuple(case.ref(*case.inputs))
    assert len(outs) == len(refs)
    for o, r in zip(outs, refs):
        assert tuple(o.shape) == np.shape(r), (o.shape, np.shape(r))
        np.testing.assert_allclose(o.numpy(), r, rtol=case.rtol, atol=1e-12)


def _loss(case: Case, m, xs, weights):
    outs = [o for o in _tuple(case.fn(m, *xs)) if o.dtype.is_floating_point]
    return sum((o * w).sum() for o, w in zip(outs, weights))


def _weights(case: Case):
    outs = [o for o in _tuple(case.fn(sg, *_sg_inputs(case.inputs))) if o.dtype.is_floating_point]
    return [np.random.default_rng(7).standard_normal(tuple(o.shape)) for o in outs]


def _directional_check(case: Case, grads, weights) -> None:
    """<grad, v> against the central difference of the loss along a random direction v."""
    rng = np.random.default_rng(11)
    vs = [rng.standard_normal(np.shape(a)) for a in case.inputs]
    eps = 1e-6

    def loss_at(sign):
        xs = [sg.tensor(a + sign * eps * v, dtype=sg.float64) for a, v in zip(case.inputs, vs)]
        return _loss(case, sg, xs, [sg.tensor(w) for w in weights]).item()

    numeric = (loss_at(1) - loss_at(-1)) / (2 * eps)
    analytic = sum(float((g * v).sum()) for g, v in zip(grads, vs) if g is not None)
    assert abs(numeric - analytic) <= 1e-6 + 1e-6 * abs(numeric), (numeric, analytic)


GRAD_CASES = [c for c in CASES if c.grad]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_gradients_against_finite_differences(case: Case) -> None:
    weights = _weights(case)
    xs = _sg_inputs(case.inputs, requires_grad=True)
    _loss(case, sg, xs, [sg.tensor(w) for w in weights]).backward()
    grads = [None if x.grad is None else x.grad.numpy() for x in xs]
    assert any(g is not None for g in grads)
    _directional_check(case, grads, weights)


def test_gradcheck_and_second_derivatives() -> None:
    """Full Jacobians (gradcheck) and second derivatives (gradgradcheck) of a few composites."""
    gc, ggc = sg.autograd.gradcheck, sg.autograd.gradgradcheck
    x = sg.tensor(_rand(2, 3), dtype=sg.float64, requires_grad=True)
    y = sg.tensor(_rand(2, 3), dtype=sg.float64, requires_grad=True)
    assert gc(lambda a, b: sg.linalg.cross(a, b), (x, y))
    assert gc(lambda a: sg.logcumsumexp(a, 1), (x,))
    assert gc(lambda a: sg.cov(a), (x,))
    assert ggc(lambda a: sg.logcumsumexp(a, 1), (x,))
    assert ggc(lambda a, b: sg.kron(a, b).sum(), (x, y))
    assert ggc(lambda a: sg.corrcoef(a), (x,))


# ---------------------------------------------------------------------------
# @srcgrad.compile: the same values and gradients as define-by-run, replayed


COMPILED = ["logcumsumexp", "unfold", "take", "cov_weights", "addmv", "multi_dot", "cross", "combinations",
            "trapezoid_x", "renorm", "quantile_linear", "nanquantile_nearest", "nanmedian", "nanmedian_dim",
            "gradient_coords2", "diag_embed_neg", "vander"]


@pytest.mark.parametrize("name", COMPILED)
def test_under_compile(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    weights = [sg.tensor(w) for w in _weights(case)]

    def step(*xs):
        loss = _loss(case, sg, xs, weights)
        loss.backward()
        return loss

    compiled = sg.compile(step)
    for scale in (1.0, 0.5):  # the second call replays the traced program with new values
        arrays = [a * scale for a in case.inputs]
        eager = _sg_inputs(arrays, requires_grad=True)
        want = step(*eager)
        xs = _sg_inputs(arrays, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (no fallback to define-by-run)
            got = compiled(*xs)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-10)
        for a, b in zip(xs, eager):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# comparisons, predicates, in-place forms, attributes


def test_comparisons_functions_methods_and_inplace() -> None:
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    x, y = sg.tensor(a), sg.tensor(b)
    table = {"eq": np.equal, "ne": np.not_equal, "gt": np.greater, "ge": np.greater_equal, "lt": np.less,
             "le": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal, "less": np.less,
             "less_equal": np.less_equal, "not_equal": np.not_equal}
    for name, ref in table.items():
        for out in (getattr(sg, name)(x, y), getattr(x, name)(y), getattr(sg, name)(x, 2.0)):
            assert out.dtype == sg.bool
            np.testing.assert_array_equal(out.numpy(), ref(a, b))
        z = sg.tensor(a)
        assert getattr(z, name + "_")(y) is z and z.dtype == sg.float64
        np.testing.assert_array_equal(z.numpy(), ref(a, b).astype(np.float64))
    with pytest.raises(TypeError, match=r"eq\(\) received an invalid combination of arguments"):
        sg.eq(1, x)
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        y.clone().lt_(x)


def test_inplace_math_forms() -> None:
    a = _rand(2, 3)
    for name, ref in (("exp2", np.exp2), ("erfc", _erfc), ("fix", np.fix)):
        t = sg.tensor(a)
        assert getattr(t, name + "_")() is t
        np.testing.assert_allclose(t.numpy(), ref(a), rtol=1e-7)
    t = sg.tensor(a)
    t.float_power_(2)
    np.testing.assert_allclose(t.numpy(), a ** 2)
    with pytest.raises(RuntimeError, match="the base given to float_power_ has dtype Float but the operation's "
                                           "result requires dtype Double"):
        sg.ones(3).float_power_(2)
    t = sg.tensor(a)
    t.renorm_(2, 0, 0.5)
    np.testing.assert_allclose(t.numpy(), _np_renorm(a, 2, 0, 0.5))
    # an in-place form on a non-leaf records the same ops: gradients flow through it
    x = sg.tensor(a[:, 0], requires_grad=True)
    h = x * 1
    h.addmv_(sg.tensor(_rand(2, 4)), sg.tensor(_rand(4)), beta=3.0)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        sg.ones(3, requires_grad=True).exp2_()


def test_predicates_and_attributes() -> None:
    x = sg.tensor([-math.inf, -1.0, 0.0, math.inf, math.nan])
    np.testing.assert_array_equal(sg.isneginf(x).numpy(), [True, False, False, False, False])
    np.testing.assert_array_equal(x.isposinf().numpy(), [False, False, False, True, False])
    np.testing.assert_array_equal(sg.isneginf(sg.tensor([1, -2])).numpy(), [False, False])
    assert sg.isreal(x).dtype == sg.bool and bool(sg.isreal(x).all())
    assert sg.is_nonzero(sg.tensor([2.0])) and not sg.tensor([[0]]).is_nonzero()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        sg.is_nonzero(sg.ones(2))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        sg.is_nonzero(sg.ones(0))
    assert sg.is_same_size(sg.ones(2, 3), sg.zeros(2, 3)) and not sg.ones(2).is_same_size(sg.ones(3))
    assert sg.is_signed(sg.ones(2)) and sg.ones(2, dtype=sg.int8).is_signed()
    assert not sg.is_signed(sg.ones(2, dtype=sg.uint8)) and not sg.ones(2, dtype=sg.bool).is_signed()
    assert not sg.is_complex(x) and not x.is_complex() and sg.is_floating_point(x)
    with pytest.raises(RuntimeError, match=r"The `\+` operator, on a bool tensor is not supported."):
        sg.positive(sg.ones(2, dtype=sg.bool))
    assert int(sg.count_nonzero(sg.tensor([[0, 1], [2, 0]]))) == 2
    assert sg.count_nonzero(sg.tensor([0, 1])).dtype == sg.int64
    r = sg.aminmax(sg.tensor([[3.0, 1.0], [2.0, 5.0]]), dim=1)
    assert r.min.tolist() == [1.0, 2.0] and r.max.tolist() == [3.0, 5.0]
    assert repr(r).startswith("torch.return_types.aminmax(\nmin=tensor(")
    t = sg.ones(2, 3, dtype=sg.float64)
    assert (t.nbytes, t.itemsize, sg.ones(4, dtype=sg.int16).nbytes) == (48, 8, 8)
    assert t.is_cpu and t.get_device() == -1
    assert (t.byte().dtype, t.char().dtype, t.short().dtype) == (sg.uint8, sg.int8, sg.int16)
    assert sg.tensor([300.0, -1.5]).short().tolist() == [300, -1]


def test_index_and_shape_outputs() -> None:
    for fn, keep in ((sg.tril_indices, lambda i, j, k: j - i <= k), (sg.triu_indices, lambda i, j, k: j - i >= k)):
        for r, c, k in ((4, 3, 0), (3, 5, 1), (3, 3, -1), (0, 2, 0)):
            want = [(i, j) for i in range(r) for j in range(c) if keep(i, j, k)]
            got = fn(r, c, k)
            assert got.dtype == sg.int64 and tuple(got.shape) == (2, len(want))
            assert list(zip(*got.tolist())) == want
    assert sg.tril_indices(3, 3, dtype=sg.int32).dtype == sg.int32
    assert sg.broadcast_shapes((2, 1), (3,), 1) == sg.Size([2, 3])
    assert sg.broadcast_shapes() == sg.Size([])
    assert sg.repeat_interleave(sg.tensor([2, 0, 1])).tolist() == [0, 0, 2]
    assert sg.combinations(sg.arange(3.0), 0).shape == (0,)
    assert sg.combinations(sg.arange(2.0), 3).shape == (0, 3)
    assert sg.cartesian_prod(sg.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    assert sg.block_diag().shape == (0, 0) or sg.block_diag().shape == (1, 0)
    bd = sg.block_diag(sg.tensor([[1, 2]]), sg.tensor([0.5]))
    assert bd.dtype == sg.float32 and bd.tolist() == [[1.0, 2.0, 0.0], [0.0, 0.0, 0.5]]
    assert sg.diff(sg.tensor([True, False, False])).tolist() == [True, False]
    assert sg.diff(sg.ones(3), n=5).shape == (0,)
    assert sg.heaviside(sg.tensor([-1.0, 0.0, 2.0, math.nan]), sg.tensor([0.5])).tolist()[:3] == [0.0, 0.5, 1.0]
    assert sg.trapezoid(sg.ones(3, 0)).tolist() == [0.0, 0.0, 0.0]
    assert sg.trapezoid(sg.tensor([1, 2, 3])).dtype == sg.float32
    assert sg.cumulative_trapezoid(sg.ones(3, 1)).shape == (3, 0)
    assert sg.ones(5).unfold(0, 0, 2).shape == (3, 0)
    assert sg.tensor(2.0).unfold(0, 1, 1).tolist() == [2.0]
    assert sg.logaddexp2(sg.tensor([1000.0]), sg.tensor([1000.0])).item() == 1001.0
    assert sg.logcumsumexp(sg.tensor([-1000.0, 0.0]), 0).tolist() == [-1000.0, 0.0]
    assert sg.float_power(sg.tensor([2]), 3).dtype == sg.float64
    assert sg.float_power(2, sg.tensor([3.0], dtype=sg.float32)).dtype == sg.float64
    assert sg.exp2(sg.tensor([3])).dtype == sg.float32 and sg.exp2(sg.tensor([3])).item() == 8.0
    assert sg.ldexp(sg.tensor([1]), sg.tensor([4])).item() == 16.0
    assert sg.corrcoef(sg.tensor([1.0, 2.0])).item() == 1.0
    assert sg.linalg.matmul(sg.ones(2, 3), sg.ones(3)).tolist() == [3.0, 3.0]


def test_beta_zero_ignores_nan_input() -> None:
    nan_in = sg.tensor([[math.nan, math.inf]], dtype=sg.float64, requires_grad=True)
    a, b = sg.tensor(_rand(2, 3)), sg.tensor(_rand(3, 2))
    for out in (sg.addmv(nan_in[0], a, sg.tensor(_rand(3)), beta=0), sg.addr(nan_in, a[0, :1], b[0], beta=0),
                sg.baddbmm(nan_in, a.unsqueeze(0), b.unsqueeze(0), beta=0),
                sg.addbmm(nan_in, a.unsqueeze(0), b.unsqueeze(0), beta=0, alpha=2)):
        assert bool(out.isfinite().all())
    out = sg.addbmm(nan_in, a.unsqueeze(0), b.unsqueeze(0), beta=0, alpha=2)
    np.testing.assert_allclose(out.detach().numpy(), 2 * (a.numpy() @ b.numpy()), rtol=1e-6)
    out.sum().backward()
    np.testing.assert_array_equal(nan_in.grad.numpy(), [[0.0, 0.0]])


def test_warnings() -> None:
    with pytest.warns(UserWarning, match="torch.meshgrid: in an upcoming release, it will be required to pass the "
                                         "indexing argument"):
        sg.meshgrid(sg.ones(2), sg.ones(3))
    with pytest.warns(UserWarning, match="torch.chain_matmul is deprecated"):
        out = sg.chain_matmul(sg.ones(2, 3), sg.ones(3, 4), sg.ones(4, 1))
    assert out.tolist() == [[12.0], [12.0]]
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        out = sg.cross(sg.tensor([[1.0, 0, 0]] * 3), sg.tensor([[0.0, 1, 0]] * 3))
    assert out.tolist()[0] == [0.0, 0.0, 0.0]  # (dim 0: the first dim of size 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sg.meshgrid(sg.ones(2), sg.ones(3), indexing="xy")
    with pytest.warns(UserWarning, match="cov\\(\\): degrees of freedom is <= 0"):
        sg.cov(sg.ones(2, 1))


# ---------------------------------------------------------------------------
# PyTorch's errors, with the op and the shapes at fault

ERRORS = [
    (lambda: sg.broadcast_shapes((2, 3), (4, 3)), RuntimeError,
     r"Attempting to broadcast a dimension of length 4 at -2! Mismatching argument at index 1 had \(4, 3\)"),
    (lambda: sg.broadcast_tensors(sg.ones(2, 3), sg.ones(4, 3)), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(4\) at non-singleton dimension 0"),
    (lambda: sg.hstack([]), RuntimeError, "hstack expects a non-empty TensorList"),
    (lambda: sg.column_stack([]), RuntimeError, "column_stack expects a non-empty TensorList"),
    (lambda: sg.hsplit(sg.tensor(1.0), 2), RuntimeError,
     "torch.hsplit requires a tensor with at least 1 dimension, but got a tensor with 0 dimensions!"),
    (lambda: sg.hsplit(sg.ones(3, 4), 3), RuntimeError,
     "torch.hsplit attempted to split along dimension 1, but the size of the dimension 4 is not divisible by "
     "the split_size 3!"),
    (lambda: sg.vsplit(sg.ones(3), 3), RuntimeError, "torch.vsplit requires a tensor with at least 2 dimension"),
    (lambda: sg.dsplit(sg.ones(4, 3), 3), RuntimeError, "torch.dsplit requires a tensor with at least 3 dimension"),
    (lambda: sg.tensor_split(sg.arange(7), 0), RuntimeError, "number of sections must be larger than 0, got 0"),
    (lambda: sg.tensor_split(sg.tensor(1.0), 2), RuntimeError,
     "tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims"),
    (lambda: sg.ones(2, 3).split_with_sizes([1, 2]), RuntimeError,
     r"split_with_sizes expects split_sizes to sum exactly to 2"),
    (lambda: sg.ones(2, 3).sum_to_size(4), RuntimeError, r"size \{\[4\]\} is not expandable to size \{\[2, 3\]\}."),
    (lambda: sg.ones(2, 3).sum_to_size(1, 2, 3), RuntimeError, r"size \{\[1, 2, 3\]\} is not expandable"),
    (lambda: sg.meshgrid(sg.ones(2, 2), sg.ones(3), indexing="ij"), RuntimeError,
     "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got"),
    (lambda: sg.meshgrid(sg.ones(2), sg.ones(3), indexing="foo"), RuntimeError,
     'torch.meshgrid: indexing must be one of "xy" or "ij", but received: foo'),
    (lambda: sg.meshgrid(sg.ones(2), sg.ones(3, dtype=sg.float64), indexing="ij"), RuntimeError,
     "meshgrid expects all tensors to have the same dtype"),
    (lambda: sg.cartesian_prod(sg.ones(2, 2), sg.ones(3)), RuntimeError, r"Expect a 1D vector, but got shape \[2, 2\]"),
    (lambda: sg.combinations(sg.ones(3), r=-1), RuntimeError, "Expect a non-negative number, but got -1"),
    (lambda: sg.rot90(sg.ones(2, 2, 2), 1, [0, 1, 2]), RuntimeError,
     "expected total rotation dims == 2, but got dims = 3"),
    (lambda: sg.rot90(sg.ones(2), 1, [0, 1]), RuntimeError, "expected total dims >= 2, but got total dims = 1"),
    (lambda: sg.rot90(sg.ones(2, 2), 1, [0, 0]), RuntimeError,
     "expected rotation dims to be different, but got dim0 = 0 and dim1 = 0"),
    (lambda: sg.rot90(sg.ones(2, 2), 1, [0, 5]), IndexError, "Dimension out of range"),
    (lambda: sg.tril_indices(-1, 3), RuntimeError, "row must be non-negative, got-1"),
    (lambda: sg.triu_indices(3, 3, dtype=sg.float32), NotImplementedError,
     "\"triu_indices\" not implemented for 'Float'"),
    (lambda: sg.block_diag(sg.ones(2, 2, 2)), RuntimeError,
     "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input 0 has 3 dimensions"),
    (lambda: sg.take(sg.ones(2, 3), sg.tensor([6])), IndexError,
     "out of range: tried to access index 6 on a tensor of 6 elements."),
    (lambda: sg.take(sg.ones(2, 3), sg.tensor([-7])), IndexError, "tried to access index -7"),
    (lambda: sg.take(sg.ones(2, 3), sg.tensor([1.0])), RuntimeError,
     "take\\(\\): Expected a long tensor for index, but got Float"),
    (lambda: sg.ones(5).unfold(0, 6, 1), RuntimeError, "maximum size for tensor at dimension 0 is 5 but size is 6"),
    (lambda: sg.ones(5).unfold(0, 2, 0), RuntimeError, "step is 0 but must be > 0"),
    (lambda: sg.ones(5).unfold(0, -1, 1), RuntimeError, "size is -1 but must be >= 0"),
    (lambda: sg.repeat_interleave(sg.ones(2, 2), sg.tensor([1, 2, 3]), dim=0), RuntimeError,
     r"repeats must have the same size as input along dim, but got repeats.size\(0\) = 3 and input.size\(0\) = 2"),
    (lambda: sg.repeat_interleave(sg.ones(2, 2), sg.tensor([1, -2]), dim=0), RuntimeError,
     "repeats can not be negative"),
    (lambda: sg.repeat_interleave(sg.ones(2, 2), -1), RuntimeError, "Repeats must be non-negative"),
    (lambda: sg.cross(sg.ones(2, 4), sg.ones(2, 4)), RuntimeError, "no dimension of size 3 in input"),
    (lambda: sg.linalg.cross(sg.ones(2, 4), sg.ones(2, 4)), RuntimeError,
     "linalg.cross: inputs dimension -1 must have length 3. Got 4 and 4"),
    (lambda: sg.linalg.cross(sg.ones(3, 2), sg.ones(3), dim=0), RuntimeError,
     "linalg.cross: inputs must have the same number of dimensions."),
    (lambda: sg.linalg.cross(sg.ones(2, 3), sg.ones(4, 3)), RuntimeError,
     r"The size of tensor a \(2\) must match the size of tensor b \(4\) at non-singleton dimension 0"),
    (lambda: sg.linalg.cross(sg.ones(3), sg.ones(3, dtype=sg.float64)), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: sg.diff(sg.tensor(1.0)), RuntimeError, "diff expects input to be at least one-dimensional"),
    (lambda: sg.diff(sg.ones(3), n=-1), RuntimeError, "order must be non-negative but got -1"),
    (lambda: sg.diff(sg.ones(3), prepend=sg.ones(2, 2)), RuntimeError,
     "diff expects prepend or append to be the same dimension as input"),
    (lambda: sg.diff(sg.ones(2, 3), prepend=sg.ones(3, 3)), RuntimeError,
     r"input.size\(0\) = 2, but got tensor.size\(0\) = 3"),
    (lambda: sg.inner(sg.ones(2, 3), sg.ones(4)), RuntimeError,
     r"inner\(\) the last dimension must match on both input tensors but got shapes \[2, 3\] and \[4\]"),
    (lambda: sg.vdot(sg.ones(2, 3), sg.ones(4)), RuntimeError, "1D tensors expected, but got 2D and 1D tensors"),
    (lambda: sg.vdot(sg.ones(3), sg.ones(4)), RuntimeError,
     r"inconsistent tensor size, expected tensor \[3\] and src \[4\]"),
    (lambda: sg.vdot(sg.ones(3), sg.ones(3, dtype=sg.float64)), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda: sg.addmv(sg.ones(3), sg.ones(3, 2, 2), sg.ones(2)), RuntimeError,
     "vector \\+ matrix @ vector expected, got 1, 3, 1"),
    (lambda: sg.addmv(sg.ones(4), sg.ones(3, 2), sg.ones(2)), RuntimeError,
     r"size mismatch, got input \(4\), mat \(3x2\), vec \(2\)"),
    (lambda: sg.addr(sg.ones(3, 2), sg.ones(3, 1), sg.ones(2)), RuntimeError,
     "addr: Expected 1-D argument vec1, but got 2-D"),
    (lambda: sg.addr(sg.ones(4, 2), sg.ones(3), sg.ones(2)), RuntimeError,
     r"The expanded size of the tensor \(3\) must match the existing size \(4\) at non-singleton dimension 0"),
    (lambda: sg.baddbmm(sg.ones(2, 3, 4), sg.ones(2, 3, 5), sg.ones(2, 6, 4)), RuntimeError,
     r"Expected size for first two dimensions of batch2 tensor to be: \[2, 5\] but got: \[2, 6\]."),
    (lambda: sg.baddbmm(sg.ones(2, 3, 4), sg.ones(3, 5), sg.ones(2, 5, 4)), RuntimeError,
     "batch1 must be a 3D tensor"),
    (lambda: sg.addbmm(sg.ones(3, 4), sg.ones(2, 3, 5), sg.ones(2, 6, 4)), RuntimeError,
     r"Incompatible matrix sizes for bmm \(3x5 and 6x4\)"),
    (lambda: sg.addbmm(sg.ones(3, 4), sg.ones(2, 3, 5), sg.ones(3, 5, 4)), RuntimeError,
     "batch1 and batch2 must have same number of batches, got 2 and 3"),
    (lambda: sg.chain_matmul(sg.ones(2, 3), sg.ones(3)), RuntimeError, "Tensor dimension is 1, expected 2 instead."),
    (lambda: sg.linalg.multi_dot([sg.ones(2, 3)]), RuntimeError, "multi_dot\\(\\): expected at least 2 tensors but got 1"),
    (lambda: sg.linalg.multi_dot([sg.ones(2, 3, 3), sg.ones(3, 3)]), RuntimeError,
     "multi_dot\\(\\): the first tensor must be 1D or 2D but got 3D"),
    (lambda: sg.linalg.multi_dot([sg.ones(2, 3), sg.ones(3), sg.ones(3)]), RuntimeError,
     "multi_dot\\(\\): tensor 1 must be 2D but got 1D"),
    (lambda: sg.linalg.multi_dot([sg.ones(2, 3), sg.ones(3, 5), sg.ones(4, 5)]), RuntimeError,
     r"multi_dot\(\): tensors 1 and 2 with shapes \[3, 5\] and \[4, 5\] cannot be multiplied"),
    (lambda: sg.linalg.multi_dot([sg.ones(2, 3), sg.ones(3, 3, dtype=sg.float64)]), RuntimeError,
     "multi_dot\\(\\): all tensors must have be the same dtype but tensor 0 is float and tensor 1 double"),
    (lambda: sg.linalg.vecdot(sg.ones(2, 3), sg.ones(3, dtype=sg.float64)), RuntimeError,
     "linalg.vecdot: Expected x and y to have the same dtype, but found x of type Float and y of type Double"),
    (lambda: sg.trapezoid(sg.tensor(1.0)), IndexError, "Dimension specified as -1 but tensor has no dimensions"),
    (lambda: sg.trapezoid(sg.ones(3), sg.ones(4)), RuntimeError,
     "trapezoid: There must be one `x` value for each sample point"),
    (lambda: sg.cumulative_trapezoid(sg.tensor(1.0)), IndexError, "slice\\(\\) cannot be applied to a 0-dim tensor."),
    (lambda: sg.cov(sg.ones(2, 2, 2)), RuntimeError,
     "cov\\(\\): expected input to have two or fewer dimensions but got an input with 3 dimensions"),
    (lambda: sg.cov(sg.ones(2, 3), fweights=sg.ones(3)), RuntimeError,
     "cov\\(\\): expected fweights to have integral dtype but got fweights with Float dtype"),
    (lambda: sg.cov(sg.ones(2, 3), fweights=sg.ones(4, dtype=sg.int64)), RuntimeError,
     "cov\\(\\): expected fweights to have the same numel as there are observations in the input but got 4 != 3"),
    (lambda: sg.cov(sg.ones(2, 3), fweights=sg.tensor([1, -1, 1])), RuntimeError, "fweights cannot be negative"),
    (lambda: sg.cov(sg.ones(2, 3), aweights=sg.ones(3, dtype=sg.int64)), RuntimeError,
     "cov\\(\\): expected aweights to have floating point dtype but got aweights with Long dtype"),
    (lambda: sg.cov(sg.ones(2, 3), aweights=sg.ones(2, 3)), RuntimeError,
     "cov\\(\\): expected aweights to have one or fewer dimensions but got aweights with 2 dimensions"),
    (lambda: sg.corrcoef(sg.ones(2, 2, 2)), RuntimeError, "corrcoef\\(\\): expected input to have two or fewer"),
    (lambda: sg.logcumsumexp(sg.ones(3, dtype=sg.int64), 0), NotImplementedError,
     "\"logcumsumexp_out_cpu\" not implemented for 'Long'"),
    (lambda: sg.renorm(sg.ones(3, 3), 0, 0, 1), RuntimeError, "renorm: non-positive-norm not supported"),
    (lambda: sg.renorm(sg.ones(3, 3), 2, 0, -1), RuntimeError, "renorm: expected maxnorm to be >= 0 but got -1"),
    (lambda: sg.renorm(sg.ones(3), 2, 0, 1), RuntimeError, "renorm: input needs at least 2 dimensions, got 1"),
    (lambda: sg.logaddexp2(sg.tensor([1, 2]), sg.tensor([3])), NotImplementedError, "\"logaddexp2_cpu\" not implemented for 'Long'"),
    (lambda: sg.linalg.vecdot(sg.tensor([1, 2]), sg.tensor([1, 2])), RuntimeError,
     "linalg.vecdot: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: sg.heaviside(sg.ones(3), sg.ones(3, dtype=sg.float64)), RuntimeError,
     "heaviside is not yet implemented for tensors with different dtypes."),
    (lambda: sg.aminmax(sg.ones(0)), RuntimeError,
     "aminmax\\(\\): cannot compute aminmax over an empty dimension as the operation has no identity."),
    (lambda: sg.aminmax(sg.ones(2, 0), dim=1), IndexError, "aminmax: Expected reduction dim 1 to have non-zero size."),
    (lambda: sg.narrow_copy(sg.ones(3), 0, 1, 3), RuntimeError, r"start \(1\) \+ length \(3\) exceeds dimension size"),
    (lambda: sg.broadcast_to(sg.ones(2, 3), (4, 3)), RuntimeError,
     r"The expanded size of the tensor \(4\) must match the existing size \(2\)"),
]


# (the functions of section 5: test_new_error_messages_match_torch checks PyTorch gives these very messages)
STATS_ERRORS = [
    (lambda: sg.quantile(sg.tensor([1, 2]), 0.5), RuntimeError,
     "quantile\\(\\) input tensor must be either float or double dtype"),
    (lambda: sg.quantile(sg.ones(2, 3), 1.5), RuntimeError, r"quantile\(\) q must be in the range \[0, 1\] but got 1.5"),
    (lambda: sg.nanquantile(sg.ones(2, 3), -0.1), RuntimeError,
     r"quantile\(\) q must be in the range \[0, 1\] but got -0.1"),
    (lambda: sg.quantile(sg.ones(2, 3), sg.tensor([0.5, 1.5])), RuntimeError,
     r"quantile\(\) q values must be in the range \[0, 1\]"),
    (lambda: sg.quantile(sg.ones(2, 3), sg.tensor([0.5], dtype=sg.float64)), RuntimeError,
     "quantile\\(\\) q tensor must be same dtype as the input tensor"),
    (lambda: sg.quantile(sg.ones(2, 3), sg.tensor([[0.5]])), RuntimeError,
     "quantile\\(\\) q must be a scalar or 1D tensor"),
    (lambda: sg.quantile(sg.ones(2, 3), 0.5, interpolation="foo"), RuntimeError,
     "quantile\\(\\) interpolation must be one of linear, lower, higher, midpoint or nearest, but got foo"),
    (lambda: sg.quantile(sg.ones(2), 0.5, interpolation=None), TypeError,
     "quantile\\(\\) received an invalid combination of arguments"),
    (lambda: sg.nanquantile(sg.ones(0), 0.5), RuntimeError, "quantile\\(\\) input tensor must be non-empty"),
    (lambda: sg.quantile(sg.ones(2, 3), 0.5, dim=3), IndexError,
     r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 3\)"),
    (lambda: sg.nanmedian(sg.ones(2, 0), 1), IndexError, "median\\(\\): Expected reduction dim 1 to have non-zero size."),
    (lambda: sg.nanmedian(sg.tensor([True, False])), NotImplementedError, "\"median_cpu\" not implemented for 'Bool'"),
    (lambda: sg.nanmedian(sg.tensor([True, False]), 0), NotImplementedError,
     "\"median_out\" not implemented for 'Bool'"),
    (lambda: sg.diag_embed(sg.ones(2, 3), 0, 1, -2), RuntimeError, "diagonal dimensions cannot be identical 1, -2"),
    (lambda: sg.diag_embed(sg.tensor(1.0)), IndexError,
     r"Dimension out of range \(expected to be in range of \[-1, 0\], but got -2\)"),
    (lambda: sg.logspace(0, 2, -1), RuntimeError, "number of steps must be non-negative"),
    (lambda: sg.unravel_index(sg.tensor([1.0]), (2, 3)), TypeError,
     "expected 'indices' to be integer dtype, but got torch.float32"),
    (lambda: sg.unravel_index(sg.tensor([True]), (2, 3)), TypeError,
     "expected 'indices' to be integer dtype, but got torch.bool"),
    (lambda: sg.unravel_index(sg.tensor([1]), (2, -3)), ValueError,
     r"'shape' cannot have negative values, but got \(2, -3\)"),
    (lambda: sg.unravel_index(sg.tensor([1]), (2, 3.0)), TypeError,
     "expected 'shape' sequence to only contain ints, but got <class 'float'>"),
    (lambda: sg.unravel_index(sg.tensor([1]), 2.0), TypeError,
     "expected 'shape' to be int or sequence of ints, but got <class 'float'>"),
    (lambda: sg.unravel_index([1], (2, 3)), AttributeError, "'list' object has no attribute 'is_complex'"),
    (lambda: sg.histogram(sg.tensor([1, 2]), 3), NotImplementedError, "\"histogramdd\" not implemented for 'Long'"),
    (lambda: sg.histogram(sg.ones(3), 0), RuntimeError, "torch.histogram\\(\\): bins must be > 0, but got 0 for dimension 0"),
    (lambda: sg.histogram(sg.ones(3), sg.tensor([0.0])), RuntimeError,
     "torch.histogram\\(\\): bins must be > 0, but got 0 for dimension 0"),
    (lambda: sg.histogram(sg.ones(3), sg.ones(0)), RuntimeError,
     "torch.histogramdd: bins tensor should have at least 1 element, but got 0 elements in the bins tensor for "
     "dimension 0"),
    (lambda: sg.histogram(sg.ones(3), sg.ones(1, 3)), RuntimeError,
     "torch.histogramdd: bins tensor should have one dimension, but got 2 dimensions in the bins tensor for "
     "dimension 0"),
    (lambda: sg.histogram(sg.ones(3), sg.tensor([0, 1])), RuntimeError,
     "torch.histogramdd: input tensor and bins tensors should have the same dtype, but got input with dtype float "
     "and bins for dimension 0 with dtype long int"),
    (lambda: sg.histogram(sg.ones(5), 3, weight=sg.ones(4)), RuntimeError,
     r"torch.histogramdd: if weight tensor is provided it should have the same shape as the input tensor excluding "
     r"its innermost dimension, but got input with shape \[5, 1\] and weight with shape \[4\]"),
    (lambda: sg.histogram(sg.ones(5), 3, weight=sg.ones(5, dtype=sg.float64)), RuntimeError,
     r"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should have the same dtype, "
     r"but got input\(float\), and weight\(double\)"),
    (lambda: sg.histogram(sg.ones(5), 3, range=(2.0, 1.0)), RuntimeError,
     "torch.histogramdd: min should not exceed max, but got min 2 max 1 for dimension 0"),
    (lambda: sg.histogram(sg.ones(5), 3, range=(2.0, math.inf)), RuntimeError,
     r"torch.histogramdd: dimension 0's range \[2, inf\] is not finite"),
    (lambda: sg.histogram(sg.tensor([1.0, math.nan]), 3), RuntimeError,
     r"torch.histogramdd: dimension 0's range \[nan, nan\] is not finite"),
    (lambda: sg.histogram(sg.ones(5), 3, range=(0.0, 1.0, 2.0)), RuntimeError,
     "torch.histogramdd: for a 1-dimensional histogram range should have 2 elements, but got 3"),
    (lambda: sg.histogram(sg.ones(5), 3.0), TypeError, "histogram\\(\\) received an invalid combination of arguments"),
    (lambda: sg.gradient(sg.tensor([1, 2, 4], dtype=sg.uint8)), RuntimeError,
     "torch.gradient does not support uint8 input."),
    (lambda: sg.gradient(sg.ones(2, 4), spacing=[2.0]), RuntimeError,
     "torch.gradient expected spacing to be unspecified, a scalar, or a list of length equal to 'self.dim\\(\\) = 2', "
     "since dim argument was not given, but got a list of length 1"),
    (lambda: sg.gradient(sg.ones(2, 4), spacing=[2.0, 3.0], dim=1), RuntimeError,
     "torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments to have the "
     "same length, but got a spacing argument of length 2 and a dim argument of length 1."),
    (lambda: sg.gradient(sg.ones(3, 4), edge_order=3), RuntimeError,
     "torch.gradient only supports edge_order=1 and edge_order=2."),
    (lambda: sg.gradient(sg.ones(2, 4), edge_order=2), RuntimeError,
     "torch.gradient expected each dimension size to be at least edge_order\\+1"),
    (lambda: sg.gradient(sg.ones(1)), RuntimeError, "torch.gradient expected each dimension size to be at least"),
    (lambda: sg.gradient(sg.ones(2, 4), dim=3), IndexError, "Dimension out of range"),
    (lambda: sg.gradient(sg.ones(2, 4), dim=[1, 1]), RuntimeError, "dim 1 appears multiple times in the list of dims"),
    (lambda: sg.gradient(sg.ones(3), spacing=[sg.ones(1, 3)]), RuntimeError,
     "torch.gradient expected each element of spacing to have one dimension, but got an element with 2 dimensions!"),
    (lambda: sg.gradient(sg.ones(3), spacing=[sg.tensor(2.0)]), RuntimeError,
     "but got an element with 0 dimensions!"),
    (lambda: sg.gradient(sg.ones(2, 4), spacing=[sg.ones(2), 3.0]), TypeError,
     "expected Tensor as element 1 in argument 1, but got float"),
    (lambda: sg.gradient(sg.tensor([True, False, True])), RuntimeError,
     "Subtraction, the `-` operator, with two bool tensors is not supported."),
    (lambda: sg.vander(sg.ones(2, 2)), RuntimeError, "x must be a one-dimensional tensor."),
    (lambda: sg.vander(sg.ones(2), N=-1), RuntimeError, "N must be non-negative."),
    (lambda: sg.vander(sg.ones(2), N=2.0), TypeError, "vander\\(\\): argument 'N' must be int, not float"),
    (lambda: sg.adjoint(sg.ones(3)), RuntimeError,
     "tensor.adjoint\\(\\) is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda: sg.ones(3).H, RuntimeError, r"tensor.H is only supported on matrices \(2-D tensors\). Got 1-D tensor."),
    (lambda: sg.ones(2, 3, 4).H, RuntimeError,
     r"tensor.H is only supported on matrices \(2-D tensors\). Got 3-D tensor. For batches of matrices, consider "
     r"using tensor.mH"),
    (lambda: sg.ones(3).mH, RuntimeError,
     "tensor.mH is only supported on matrices or batches of matrices. Got 1-D tensor."),
    (lambda: sg.scalar_tensor(sg.tensor([3.0])), TypeError,
     "scalar_tensor\\(\\): argument 's' \\(position 1\\) must be Number, not Tensor"),
    (lambda: sg.scalar_tensor("a"), TypeError, "scalar_tensor\\(\\): argument 's' \\(position 1\\) must be Number, not str"),
    (lambda: sg.scalar_tensor(3, dtype=sg.int64, requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
    (lambda: sg.range(1, 4, 0), RuntimeError, "step must be nonzero"),
    (lambda: sg.range(4, 1), RuntimeError, "upper bound and lower bound inconsistent with step sign"),
    (lambda: sg.range(1, math.inf), RuntimeError, "unsupported range: 1 -> inf"),
    (lambda: sg.range(0.5, math.nan), RuntimeError, "unsupported range: 0.5 -> nan"),
    (lambda: sg.range(0, 3, dtype=sg.bool), NotImplementedError, "\"range_cpu\" not implemented for 'Bool'"),
    (lambda: sg.range(0, 3, dtype=sg.int64, requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
    (lambda: sg.range(1), TypeError, "range\\(\\) missing 1 required positional argument"),
    (lambda: sg.empty_strided((2, 3), (1,)), RuntimeError,
     r"dimensionality of sizes \(2\) must match dimensionality of strides \(1\)"),
    (lambda: sg.empty_strided((2, -3), (1, 2)), RuntimeError,
     r"Trying to create tensor with negative dimension -3: \[2, -3\]"),
    (lambda: sg.empty_strided((2, 3), (1, -2)), RuntimeError,
     r"Storage size calculation overflowed with sizes=\[2, 3\] and strides=\[1, -2\]"),
    (lambda: sg.empty_strided(2, 1), TypeError,
     "empty_strided\\(\\): argument 'size' \\(position 1\\) must be tuple of ints, not int"),
    (lambda: sg.empty_strided((2, 3), (3, 1), dtype=sg.int64, requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
]
ERRORS += STATS_ERRORS


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors(k: int) -> None:
    fn, exc, match = ERRORS[k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            fn()


def test_nothing_shadowed() -> None:
    """The module binds only names that were missing: what srcgrad already had stays as it was."""
    import sys

    from srcgrad import composite
    tensor = sys.modules["srcgrad.tensor"]
    assert sg.Tensor.broadcast_to is sg.Tensor.expand
    assert sg.Tensor.transpose_ is sg.Tensor.swapdims_
    assert sg.xlogy.__wrapped__ is tensor.xlogy and sg.short is sg.int16  # (wrapped for out=)
    assert sg.linalg.norm.__wrapped__ is tensor.linalg_norm
    for name in composite.__all__:  # (each wrapped for out=)
        assert getattr(sg, name).__wrapped__ is getattr(composite, name)


def test_linalg_and_composite_functions_take_out():
    a = sg.tensor([[2.0, 1.0], [1.0, 3.0]])
    out = sg.empty(0)
    assert sg.linalg.inv(a, out=out) is out and out.flatten().tolist() == pytest.approx([0.6, -0.2, -0.2, 0.4])
    q, r = sg.empty(0), sg.empty(0)
    result = sg.linalg.qr(a, out=(q, r))
    assert result.Q is q and result.R is r and (q @ r).flatten().tolist() == pytest.approx([2.0, 1.0, 1.0, 3.0])
    k = sg.empty(4, 4)
    assert sg.kron(a, a, out=k) is k and k[3, 3].item() == 9.0
    c = sg.empty(3)
    assert sg.linalg.cross(sg.tensor([1.0, 0, 0]), sg.tensor([0, 1.0, 0]), out=c) is c and c.tolist() == [0, 0, 1]
    n = sg.empty(())
    assert sg.linalg.vector_norm(a, out=n) is n and n.item() == pytest.approx(15 ** 0.5)


# ---------------------------------------------------------------------------
# against PyTorch itself, where it is installed


def _to_torch(torch, arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_against_torch(case: Case) -> None:
    torch = pytest.importorskip("torch")
    weights = _weights(case)
    txs = _to_torch(torch, case.inputs)
    touts = _tuple(case.fn(torch, *txs))
    xs = _sg_inputs(case.inputs, requires_grad=case.grad)
    outs = _tuple(case.fn(sg, *xs))
    assert len(outs) == len(touts)
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape) and str(o.dtype) == str(t.dtype)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-9, atol=1e-12)
    if not (case.grad and case.torch_grad):
        return
    _loss(case, torch, txs, [torch.tensor(w) for w in weights]).backward()
    _loss(case, sg, xs, [sg.tensor(w) for w in weights]).backward()
    for x, t in zip(xs, txs):
        if t.grad is None:
            assert x.grad is None or not x.grad.numpy().any()
        else:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_errors_match_torch_types() -> None:
    """Each error case raises the same exception type in PyTorch (run with torch in place of sg)."""
    torch = pytest.importorskip("torch")
    glb = ERRORS[0][0].__globals__
    saved = glb["sg"]
    glb["sg"] = torch
    try:
        for fn, exc, _ in ERRORS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(exc):
                    fn()
    finally:
        glb["sg"] = saved



def test_new_error_messages_match_torch() -> None:
    """PyTorch raises the same messages as srcgrad for section 5's bad inputs (run with torch as sg)."""
    torch = pytest.importorskip("torch")
    glb = STATS_ERRORS[0][0].__globals__
    saved = glb["sg"]
    glb["sg"] = torch
    try:
        for fn, exc, match in STATS_ERRORS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(exc, match=match):
                    fn()
    finally:
        glb["sg"] = saved


# ---------------------------------------------------------------------------
# section 5's results that are not differentiable: creation functions, histogram, unravel_index


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _same(out, want, exact=True) -> None:
    """``out`` (srcgrad) against ``want`` (a torch tensor or a NumPy array): shape, dtype, values."""
    w = want.detach().numpy() if hasattr(want, "detach") else np.asarray(want)
    assert tuple(out.shape) == w.shape, (out.shape, w.shape)
    if hasattr(want, "detach"):
        assert str(out.dtype) == str(want.dtype), (out.dtype, want.dtype)
    if exact:
        np.testing.assert_array_equal(out.numpy(), w)
    else:
        np.testing.assert_allclose(out.numpy(), w, rtol=1e-6 if out.dtype == sg.float32 else 1e-13)


LOGSPACES = [((0, 2, 5), {}), ((0.1, 2.7, 7), {}), ((-3.3, 5.1, 13, 2.0), {}), ((1, 3, 1), {}), ((0, 2, 0), {}),
             ((2.5, -1.2, 33, 3.7), {"dtype": "float64"}), ((0.1, 2.7, 7), {"dtype": "float64"}),
             ((0, 2.5, 4), {"dtype": "int64"}), ((-2, 2.5, 4, 3), {"dtype": "int64"})]


@pytest.mark.parametrize("k", range(len(LOGSPACES)))
def test_logspace(k: int) -> None:
    args, kw = LOGSPACES[k]
    out = sg.logspace(*args, **{n: getattr(sg, v) for n, v in kw.items()})
    torch = _torch_or_none()
    if torch is not None:  # (bit for bit: PyTorch's formula, in double precision)
        _same(out, torch.logspace(*args, **{n: getattr(torch, v) for n, v in kw.items()}))
    if kw.get("dtype") != "int64":
        start, end, steps, base = (*args, 10.0)[:4]
        _same(out, base ** np.linspace(start, end, steps), exact=False)
    leaf = sg.logspace(0, 1, 3, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf and sg.logspace(0, 1, 3).dtype == sg.float32


RANGES = [((1, 4), {}), ((1, 4, 0.5), {}), ((1, 4), {"dtype": "int64"}), ((1, 4.5, 1), {}), ((4, 1, -1), {}),
          ((0, 1, 0.1), {}), ((0, 1, 0.1), {"dtype": "float64"}), ((-1, 1, 0.3), {}), ((1.5, 4), {"dtype": "int64"}),
          ((0, 10**10, 10**9), {"dtype": "int64"}), ((0.5, 3, 1), {}), ((1, 1), {})]


@pytest.mark.parametrize("k", range(len(RANGES)))
def test_range(k: int) -> None:
    args, kw = RANGES[k]
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        out = sg.range(*args, **{n: getattr(sg, v) for n, v in kw.items()})
    torch = _torch_or_none()
    if torch is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same(out, torch.range(*args, **{n: getattr(torch, v) for n, v in kw.items()}))
    start, end, step = (*args, 1)[:3]
    if kw.get("dtype") == "int64":
        start, end, step = int(start), int(end), int(step)
    n = int((end - start) / step + 1)
    _same(out, (start + np.arange(n) * step).astype(out.numpy().dtype))


def test_range_warning_text_and_builtin() -> None:
    from srcgrad import composite
    with pytest.warns(UserWarning) as rec:
        out = sg.range(0, 2, requires_grad=True)
    assert str(rec[0].message) == (
        "torch.range is deprecated and will be removed in a future release because its behavior is inconsistent "
        "with Python's range builtin. Instead, use torch.arange, which produces values in [start, end).")
    assert rec[0].filename == __file__  # (pointing at the caller)
    assert out.requires_grad and out.tolist() == [0.0, 1.0, 2.0]
    assert sg.range.__name__ == "range" and composite.range is sg.range.__wrapped__
    assert "range" not in vars(composite) and list(range(2)) == [0, 1]  # (the builtin stays the module's)


def test_scalar_tensor_and_empty_strided() -> None:
    for s, kw, want_dtype, value in ((3, {}, sg.float32, 3.0), (True, {}, sg.float32, 1.0),
                                     (3.7, {"dtype": sg.int64}, sg.int64, 3), (2.5, {"dtype": sg.float64}, sg.float64,
                                                                               2.5)):
        t = sg.scalar_tensor(s, **kw)
        assert t.shape == () and t.dtype == want_dtype and t.item() == value
    assert math.isnan(sg.scalar_tensor(math.nan).item())
    leaf = sg.scalar_tensor(1.5, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    e = sg.empty_strided((2, 3), (1, 2), dtype=sg.float64)
    assert e.shape == (2, 3) and e.dtype == sg.float64
    assert sg.empty_strided([], []).shape == () and sg.empty_strided((0, 4), (4, 1)).shape == (0, 4)
    assert sg.empty_strided((2, 3), (3, 1), requires_grad=True).requires_grad


def test_unravel_index() -> None:
    for idx, shape in (([[0, 5], [23, 11]], (2, 3, 4)), (5, 7), ([1, 4], [3, 2]), ([5], sg.Size([2, 3]))):
        out = sg.unravel_index(sg.tensor(idx), shape)
        want = np.unravel_index(idx, (shape,) if isinstance(shape, int) else tuple(shape))
        assert isinstance(out, tuple) and len(out) == len(want)
        for o, w in zip(out, want):
            assert o.dtype == sg.int64
            _same(o, np.asarray(w))
    # negative indices count from the end (PyTorch's floor-division arithmetic); int32 in, int64 out
    rows, cols = sg.unravel_index(sg.tensor([-1, 7], dtype=sg.int32), (2, 3))
    assert rows.dtype == sg.int64 and rows.tolist() == [1, 0] and cols.tolist() == [2, 1]
    assert sg.unravel_index(sg.tensor([1], dtype=sg.uint8), ()) == ()
    assert sg.unravel_index(sg.tensor(12), 7)[0].item() == 5  # (out of range wraps, as PyTorch)


HIST_DATA = _rand(50)
HISTOGRAMS = [
    ("bins", lambda m, x: m.histogram(x, 7), lambda x: np.histogram(x, 7)),
    ("range", lambda m, x: m.histogram(x, 4, range=(-1.0, 1.5)), lambda x: np.histogram(x, 4, range=(-1.0, 1.5))),
    ("weight_density", lambda m, x: m.histogram(x, 5, weight=x.abs(), density=True),
     lambda x: np.histogram(x, 5, weights=abs(x), density=True)),
    ("edges", lambda m, x: m.histogram(x, m.tensor([-2.0, -0.5, 0.0, 0.3, 2.0], dtype=x.dtype)),
     lambda x: np.histogram(x, [-2.0, -0.5, 0.0, 0.3, 2.0])),
    ("edges_density", lambda m, x: x.histogram(m.tensor([-1.0, 0.0, 0.3, 1.5], dtype=x.dtype), density=True),
     lambda x: np.histogram(x, [-1.0, 0.0, 0.3, 1.5], density=True)),
    ("float32", lambda m, x: m.histogram(x.float(), 9), lambda x: np.histogram(x.astype(np.float32), 9)),
    ("constant", lambda m, x: m.histogram(x[:3] * 0 + 1, 2), lambda x: np.histogram(np.ones(3), 2)),
    ("empty", lambda m, x: m.histogram(x[:0], 3), lambda x: np.histogram(x[:0], 3, range=(0, 1))),
    ("2d_input", lambda m, x: m.histogram(x.reshape(5, 10), 3, weight=x.reshape(10, 5) ** 2),
     lambda x: np.histogram(x, 3, weights=x ** 2)),
]


@pytest.mark.parametrize("k", range(len(HISTOGRAMS)))
def test_histogram(k: int) -> None:
    _, fn, ref = HISTOGRAMS[k]
    x = sg.tensor(HIST_DATA, requires_grad=True)
    out = fn(sg, x)
    assert type(out).__name__ == "histogram" and isinstance(out, sg.return_types.histogram)
    assert not out.hist.requires_grad and not out.bin_edges.requires_grad  # (not differentiable)
    hist, edges = ref(HIST_DATA)
    _same(out.hist, hist.astype(out.hist.numpy().dtype), exact=False)
    _same(out.bin_edges, edges.astype(out.bin_edges.numpy().dtype), exact=False)
    torch = _torch_or_none()
    if torch is not None:  # (edges to the last bit or so: PyTorch's vectorised linspace may fuse multiply-adds)
        t = fn(torch, torch.tensor(HIST_DATA))
        _same(out.hist, t.hist, exact=False)
        _same(out.bin_edges, t.bin_edges, exact=False)
    assert repr(out).startswith("torch.return_types.histogram(\nhist=tensor(")


def test_quantile_and_nanmedian_results() -> None:
    r = sg.nanmedian(sg.tensor([[1.0, math.nan, 3.0, 2.0], [5.0, 5.0, 1.0, math.nan]]), 1)
    assert isinstance(r, sg.return_types.nanmedian) and r.values.tolist() == [2.0, 5.0]
    assert r.indices.tolist() == [3, 0] and r.indices.dtype == sg.int64  # (the first of tied 5s)
    assert repr(r).startswith("torch.return_types.nanmedian(\nvalues=tensor(")
    allnan = sg.nanmedian(sg.full((2, 3), math.nan), 1)
    assert np.isnan(allnan.values.numpy()).all() and allnan.indices.shape == (2,)
    assert math.isnan(sg.nanmedian(sg.ones(0)).item()) and math.isnan(sg.nanmedian(sg.tensor([math.nan])).item())
    assert sg.nanmedian(sg.tensor([3, 1, 2])).item() == 2 and sg.nanmedian(sg.tensor([3, 1, 2])).dtype == sg.int64
    assert sg.nanmedian(sg.tensor(2.0), 0).values.item() == 2.0
    # gradients: shared among ties of the overall median (NaN ignored); all-NaN: shared by all
    for data, want in (([2.0, math.nan, 2.0, 1.0, 3.0], [0.5, 0, 0.5, 0, 0]), ([math.nan] * 4, [0.25] * 4),
                       ([-math.inf, -math.inf, 1.0], [0.5, 0.5, 0.0]), ([math.inf, 1.0, math.inf], [0.5, 0, 0.5])):
        x = sg.tensor(data, dtype=sg.float64, requires_grad=True)
        sg.nanmedian(x).backward()
        np.testing.assert_allclose(x.grad.numpy(), want)
    x = sg.tensor(_rand(4, 6), dtype=sg.float32)
    assert sg.quantile(x, 0.5, dim=1).shape == (4,) and sg.quantile(x, 0.5, 1, True).shape == (4, 1)
    assert sg.quantile(x, sg.tensor([0.2, 0.5]), dim=1, keepdim=True).shape == (2, 4, 1)
    assert sg.quantile(x, sg.tensor([0.2, 0.5]), keepdim=True).shape == (2, 1, 1)
    assert sg.quantile(x, sg.tensor([])).shape == (0,) and sg.quantile(x, sg.tensor(0.5)).shape == ()
    assert sg.quantile(sg.tensor(3.0), 0.5, dim=0, keepdim=True).shape == ()
    assert sg.quantile(x.float(), 0.5).dtype == sg.float32 and sg.quantile(x, True).item() == float(x.max())
    assert math.isnan(sg.nanquantile(sg.full((3,), math.nan), 0.5).item())
    assert sg.nanquantile(sg.tensor([1.0, math.nan, 3.0]), 0.5).item() == 2.0
    assert math.isnan(sg.quantile(sg.tensor([1.0, math.nan, 3.0]), 0.5).item())


def test_shapes_dtypes_and_warnings() -> None:
    assert sg.vander(sg.tensor([1, 2, 3])).tolist() == [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    assert sg.vander(sg.tensor([True, False])).dtype == sg.int64
    assert sg.vander(sg.tensor([1, 2], dtype=sg.int8)).dtype == sg.int64
    assert sg.vander(sg.ones(3), N=0).shape == (3, 0) and sg.vander(sg.ones(0)).shape == (0, 0)
    assert sg.vander(sg.tensor([2.0, 3.0]), N=1).tolist() == [[1.0], [1.0]]
    assert sg.diag_embed(sg.tensor([1, 2]), -1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert sg.diag_embed(sg.tensor([True, False]), 1).dtype == sg.bool
    assert sg.gradient(sg.tensor(1.0)) == ()
    assert sg.gradient(sg.tensor([1, 2, 4])).__class__ is tuple
    assert sg.gradient(sg.tensor([1, 2, 4]))[0].tolist() == [1.0, 1.5, 2.0]
    assert sg.gradient(sg.tensor([1.0, 2.0, 5.0]), spacing=sg.tensor(2.0))[0].tolist() == [0.5, 1.0, 1.5]
    assert sg.gradient(sg.ones(2, 3), dim=()) == ()
    g = sg.gradient(sg.tensor([1.0, 2.0, 4.5]), spacing=[sg.tensor([0.0, 1.5, 3.0], dtype=sg.float64)])[0]
    assert g.dtype == sg.float64  # (promoted with the coordinates, as PyTorch)
    m = sg.ones(2, 3)
    assert m.H.shape == (3, 2) and m.mH.shape == (3, 2) and sg.ones(4, 2, 3).mH.shape == (4, 3, 2)
    for fn, text in ((lambda t: t.H, "Tensor.H is deprecated on 0-D tensors. Consider using x.conj()."),
                     (lambda t: t.mH, "Tensor.mH is deprecated on 0-D tensors. Consider using x.conj()."),
                     (sg.adjoint, "adjoint\\(\\) is deprecated on 0-D tensors. Consider using x.conj().")):
        with pytest.warns(UserWarning, match=text):
            assert fn(sg.tensor(2.0)).item() == 2.0


def test_second_derivatives_of_section_5() -> None:
    gc, ggc = sg.autograd.gradcheck, sg.autograd.gradgradcheck
    x = sg.tensor(_rand(3, 5), dtype=sg.float64, requires_grad=True)
    c = sg.tensor(_COORDS5, dtype=sg.float64, requires_grad=True)
    q = sg.tensor([0.3, 0.6], dtype=sg.float64, requires_grad=True)
    assert gc(lambda a, b: sg.quantile(a, b, dim=1), (x, q))
    assert gc(lambda a, b: sg.gradient(a, spacing=[b], dim=1, edge_order=2)[0], (x, c))
    assert ggc(lambda a, b: sg.gradient(a, spacing=[b], dim=1)[0], (x, c))
    assert ggc(lambda a: sg.vander(a[0], 4), (x,))
    assert ggc(lambda a: sg.diag_embed(a, 1) ** 2, (x,))


def test_rsub_arctan2_msort_angle():
    x = sg.tensor([[1., -2.], [3., -4.]])
    assert sg.rsub(x, 1).tolist() == [[0., 3.], [-2., 5.]]
    assert sg.rsub(x, x, alpha=2).tolist() == [[-1., 2.], [-3., 4.]]
    np.testing.assert_allclose(sg.arctan2(x, x).numpy(), np.arctan2(x.numpy(), x.numpy()))
    assert sg.msort(x).tolist() == [[1., -4.], [3., -2.]]
    a = sg.angle(sg.tensor([-1., 0., 2., float("nan")]))
    assert a[:3].tolist() == pytest.approx([math.pi, 0., 0.]) and math.isnan(a[3].item())
    v = sg.tensor([-1., 2.], requires_grad=True)
    sg.angle(v).sum().backward()
    assert v.grad.tolist() == [0., 0.]


def test_frexp_decomposes_as_pytorch():
    m, e = sg.frexp(sg.tensor([8., 0.75, 0., -3., 1.0, 0.5, 1e-30]))
    assert m.tolist() == pytest.approx([0.5, 0.75, 0., -0.75, 0.5, 0.5, 0.6338253])
    assert e.dtype is sg.int32 and e.tolist() == [4, 0, 0, 2, 1, 0, -99]
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        sg.frexp(sg.tensor([1, 2]))


def test_put_and_put_():
    y = sg.zeros(2, 3)
    assert y.put_(sg.tensor([1, 4]), sg.tensor([9., 8.])) is y
    assert y.tolist() == [[0., 9., 0.], [0., 8., 0.]]
    acc = sg.zeros(2, 3).put(sg.tensor([0, 0, -1]), sg.tensor([1., 2., 5.]), accumulate=True)
    assert acc.tolist() == [[3., 0., 0.], [0., 0., 5.]]
    s = sg.tensor([1., 2.], requires_grad=True)
    sg.zeros(3).put(sg.tensor([0, 2]), s).sum().backward()
    assert s.grad.tolist() == [1., 1.]
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        sg.zeros(3, requires_grad=True).put_(sg.tensor([0]), sg.tensor([1.]))
    with pytest.raises(RuntimeError, match="Expected source and index to have the same number of elements"):
        sg.zeros(3).put(sg.tensor([0, 1]), sg.tensor([1.]))


def test_legacy_new_and_multinomial_method():
    x = sg.tensor([[1., -2.]], dtype=sg.float64)
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype is sg.float64
    assert x.new([1, 2]).dtype is sg.float64 and x.new().shape == (0,)
    sg.manual_seed(0)
    draws = sg.tensor([0.0, 1.0]).multinomial(3, replacement=True)
    assert draws.tolist() == [1, 1, 1]


def test_gcd_and_lcm():
    assert sg.gcd(sg.tensor([12, -18, 0]), sg.tensor([8, 12, 5])).tolist() == [4, 6, 5]
    assert sg.lcm(sg.tensor([4, 6]), sg.tensor([6, 0])).tolist() == [12, 0]
    with pytest.raises(NotImplementedError, match="\"gcd_cpu\" not implemented for 'Float'"):
        sg.gcd(sg.tensor([1.]), sg.tensor([2.]))
