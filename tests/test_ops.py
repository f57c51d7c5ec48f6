"""Table-driven op tests over the registry: values against NumPy, gradients against
float64 finite differences and against jax.grad (an oracle, used only here)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy_free_erf import erf_np

import srcgrad as sg
import srcgrad.nn.functional as F
import srcgrad.special as sgs
from srcgrad.ops import ALIASES, OPS


def _i(x):
    """An integer tensor from a float test input (times 10, truncated), for the bitwise ops."""
    return (x * 10).long()


def _ni(xp, x):
    return (x * 10).astype(xp.int64)


@dataclass
class Case:
    op: str                       # the registry entry this case exercises
    fn: Callable                  # srcgrad: fn(*tensors)
    ref: Callable                 # reference: ref(xp, *arrays) with xp = numpy or jax.numpy
    shapes: list = field(default_factory=lambda: [[(3, 4)]])
    domain: str = "any"           # any | pos | unit | away0
    grad: bool = True
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or self.op


def _gelu(xp, x, approximate=False):
    if approximate:
        return 0.5 * x * (1 + xp.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    erf = jax.scipy.special.erf if xp is jnp else erf_np
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def _softplus(xp, x):
    return xp.where(x > 20, x, xp.log1p(xp.exp(xp.minimum(x, 20))))


def _log_softmax(xp, x, axis):
    m = xp.max(x, axis=axis, keepdims=True)
    return x - m - xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True))


def _nll_grad(g):
    """nll_loss's gradient for its input, given the incoming gradient ``g`` (differentiable in ``g``)."""
    x = sg.zeros(3, 4, dtype=g.dtype, requires_grad=True)
    loss = F.nll_loss(x, sg.tensor([1, 0, 3]), reduction="none")
    return sg.autograd.grad(loss, x, grad_outputs=g, create_graph=True)[0]


def _layer_norm(xp, x, k, eps=1e-3):
    axes = tuple(range(-k, 0))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / xp.sqrt(var + eps)


def _sigmoid(xp, x):
    return 1 / (1 + xp.exp(-x))


def _bce(xp, x, t):
    """PyTorch's binary cross-entropy of probabilities sigmoid(x) and targets sigmoid(t)."""
    p, q = _sigmoid(xp, x), _sigmoid(xp, t)
    return -(q * xp.log(p) + (1 - q) * xp.log1p(-p))


def _bce_logits(xp, x, t, pos_weight=None):
    q = _sigmoid(xp, t)
    log_sig = -xp.logaddexp(0, -x)
    if pos_weight is not None:
        log_sig = log_sig * ((pos_weight - 1) * q + 1)
    return (1 - q) * x - log_sig


BCE_W = np.array([0.5, 1.0, 2.0, 0.25])
BCE_PW = np.array([3.0, 0.5, 1.0, 2.0])
CE_P = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]])

BIN_SHAPES = [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (3,)]]
TERN_SHAPES = [[(3, 4), (3, 4), (3, 4)], [(3, 4), (4,), (3, 1)], [(), (2, 1), (3,)]]

ZETA_S = np.array([1.5, 2.0, 3.5, 7.0])
GAMMA_A = np.array([0.5, 1.0, 2.5, 6.0])
BESSELS = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
           "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "spherical_bessel_j0")
POLYS = ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p")
POLY_N = np.array([0.0, 3.0, 7.0, 12.0])  # (a tensor of degrees broadcast along the last dim: both of PyTorch's paths)

CASES = [
    Case("neg",        lambda x: -x,                 lambda xp, x: -x),
    Case("exp",        lambda x: x.exp(),            lambda xp, x: xp.exp(x)),
    Case("log",        lambda x: x.log(),            lambda xp, x: xp.log(x), domain="pos"),
    Case("log1p",      lambda x: x.log1p(),          lambda xp, x: xp.log1p(x), domain="pos"),
    Case("log2",       lambda x: x.log2(),           lambda xp, x: xp.log2(x), domain="pos"),
    Case("log10",      lambda x: x.log10(),          lambda xp, x: xp.log10(x), domain="pos"),
    Case("expm1",      lambda x: x.expm1(),          lambda xp, x: xp.expm1(x)),
    Case("sqrt",       lambda x: x.sqrt(),           lambda xp, x: xp.sqrt(x), domain="pos"),
    Case("rsqrt",      lambda x: x.rsqrt(),          lambda xp, x: 1 / xp.sqrt(x), domain="pos"),
    Case("abs",        lambda x: x.abs(),            lambda xp, x: xp.abs(x), domain="away0"),
    Case("sign",       lambda x: x.sign(),           lambda xp, x: xp.sign(x), domain="away0"),
    Case("sin",        lambda x: x.sin(),            lambda xp, x: xp.sin(x)),
    Case("cos",        lambda x: x.cos(),            lambda xp, x: xp.cos(x)),
    Case("tan",        lambda x: x.tan(),            lambda xp, x: xp.tan(x), domain="unit"),
    Case("tanh",       lambda x: x.tanh(),           lambda xp, x: xp.tanh(x)),
    Case("sigmoid",    lambda x: x.sigmoid(),        lambda xp, x: 1 / (1 + xp.exp(-x))),
    Case("relu",       lambda x: x.relu(),           lambda xp, x: xp.maximum(x, 0), domain="away0"),
    Case("erf",        lambda x: x.erf(),            lambda xp, x: (jax.scipy.special.erf if xp is jnp else erf_np)(x)),
    Case("floor",      lambda x: x.floor(),          lambda xp, x: xp.floor(x), domain="away0"),
    Case("ceil",       lambda x: x.ceil(),           lambda xp, x: xp.ceil(x), domain="away0"),
    Case("round",      lambda x: x.round(),          lambda xp, x: xp.round(x), domain="away0"),
    Case("trunc",      lambda x: x.trunc(),          lambda xp, x: xp.trunc(x), domain="away0"),
    Case("reciprocal", lambda x: x.reciprocal(),     lambda xp, x: 1 / x, domain="pos"),
    Case("softplus",   lambda x: sg.nn.functional.softplus(x), _softplus),
    Case("gelu",       lambda x: sg.nn.functional.gelu(x), lambda xp, x: _gelu(xp, x)),
    Case("gelu",       lambda x: sg.nn.functional.gelu(x, approximate="tanh"),
         lambda xp, x: _gelu(xp, x, True), name="gelu_tanh"),
    Case("add",        lambda x, y: x + y,           lambda xp, x, y: x + y, BIN_SHAPES),
    Case("sub",        lambda x, y: x - y,           lambda xp, x, y: x - y, BIN_SHAPES),
    Case("rsub",       lambda x: 2.5 - x,            lambda xp, x: 2.5 - x),
    Case("rdiv",       lambda x: 2.5 / x,            lambda xp, x: 2.5 / x, domain="pos"),
    Case("mul",        lambda x, y: x * y,           lambda xp, x, y: x * y, BIN_SHAPES),
    Case("div",        lambda x, y: x / y,           lambda xp, x, y: x / y, BIN_SHAPES, domain="pos"),
    Case("pow",        lambda x: x ** 3,             lambda xp, x: x ** 3),
    Case("pow_tensor", lambda x, y: x ** y,          lambda xp, x, y: x ** y, BIN_SHAPES[:2], domain="pos"),
    Case("pow_scalar_base", lambda x: 2 ** x,        lambda xp, x: 2.0 ** x),
    Case("floordiv",   lambda x, y: x // y,          lambda xp, x, y: xp.floor_divide(x, y), BIN_SHAPES[:2],
         domain="pos", grad=False),
    Case("remainder",  lambda x, y: x % y,           lambda xp, x, y: xp.mod(x, y), BIN_SHAPES[:2], domain="pos",
         grad=False),
    Case("maximum",    lambda x, y: x.maximum(y),    lambda xp, x, y: xp.maximum(x, y), BIN_SHAPES),
    Case("minimum",    lambda x, y: x.minimum(y),    lambda xp, x, y: xp.minimum(x, y), BIN_SHAPES),
    Case("atan2",      lambda x, y: x.atan2(y),      lambda xp, x, y: xp.arctan2(x, y), BIN_SHAPES[:2], domain="pos"),
    Case("where",      lambda x, y: sg.where(x > 0, x, y), lambda xp, x, y: xp.where(x > 0, x, y), BIN_SHAPES[:3],
         domain="away0"),
    Case("clamp",      lambda x: x.clamp(-0.5, 0.7), lambda xp, x: xp.clip(x, -0.5, 0.7), domain="away0"),
    Case("clamp",      lambda x, lo: x.clamp(min=lo), lambda xp, x, lo: xp.maximum(x, lo), BIN_SHAPES[:2],
         domain="away0", name="clamp_tensor"),
    Case("lerp",       lambda x, y: x.lerp(y, 0.3),  lambda xp, x, y: x + 0.3 * (y - x), BIN_SHAPES),
    Case("lerp",       lambda x, y: x.lerp(y, 0.8),  lambda xp, x, y: y - (y - x) * 0.2, BIN_SHAPES[:2],
         name="lerp_large_weight"),
    Case("lerp_tensor", lambda x, y, w: x.lerp(y, w), lambda xp, x, y, w: x + w * (y - x), TERN_SHAPES),
    Case("addcmul",    lambda x, a, b: x.addcmul(a, b, value=0.5), lambda xp, x, a, b: x + 0.5 * a * b, TERN_SHAPES),
    Case("addcdiv",    lambda x, a, b: sg.addcdiv(x, a, b, value=-2), lambda xp, x, a, b: x - 2 * a / b, TERN_SHAPES,
         domain="pos"),
    Case("sum",        lambda x: x.sum(1),           lambda xp, x: x.sum(1)),
    Case("sum",        lambda x: x.sum((0, 2), keepdim=True), lambda xp, x: x.sum((0, 2), keepdims=True),
         [[(2, 3, 4)]], name="sum_keepdim"),
    Case("sum_all",    lambda x: x.sum(),            lambda xp, x: x.sum()),
    Case("mean",       lambda x: x.mean(-1),         lambda xp, x: x.mean(-1)),
    Case("mean_all",   lambda x: x.mean(),           lambda xp, x: x.mean()),
    Case("prod",       lambda x: x.prod(1),          lambda xp, x: x.prod(1)),
    Case("prod_all",   lambda x: x.prod(),           lambda xp, x: x.prod(), [[(2, 3)]]),
    Case("cumsum",     lambda x: x.cumsum(1),        lambda xp, x: xp.cumsum(x, axis=1)),
    Case("cumsum",     lambda x: x.cumsum(0),        lambda xp, x: xp.cumsum(x, axis=0), [[(3, 2, 2)]],
         name="cumsum_dim0"),
    Case("cumprod",    lambda x: x.cumprod(1),       lambda xp, x: xp.cumprod(x, axis=1)),
    Case("cumprod",    lambda x: x.cumprod(0),       lambda xp, x: xp.cumprod(x, axis=0), [[(3, 2)]],
         name="cumprod_dim0"),
    Case("amax",       lambda x: x.amax(1),          lambda xp, x: x.max(1)),
    Case("amin",       lambda x: x.amin(0, keepdim=True), lambda xp, x: x.min(0, keepdims=True)),
    Case("max_all",    lambda x: x.max(),            lambda xp, x: x.max()),
    Case("min_all",    lambda x: x.min(),            lambda xp, x: x.min()),
    Case("max_dim",    lambda x: x.max(1).values,    lambda xp, x: x.max(1)),
    Case("min_dim",    lambda x: x.min(0, keepdim=True)[0], lambda xp, x: x.min(0, keepdims=True)),
    Case("take_along", lambda x: x.max(1, keepdim=True).values, lambda xp, x: x.max(1, keepdims=True)),
    Case("logsumexp",  lambda x: x.logsumexp(1),     lambda xp, x: xp.log(xp.exp(x).sum(1))),
    Case("logsumexp",  lambda x: (x * 50).logsumexp((0, 1), keepdim=True),
         lambda xp, x: (x * 50).max() + xp.log(xp.exp(x * 50 - (x * 50).max()).sum((0, 1), keepdims=True)),
         name="logsumexp_large"),
    Case("norm",       lambda x: x.norm(),           lambda xp, x: xp.sqrt((x * x).sum())),
    Case("norm",       lambda x: x.norm(dim=1),      lambda xp, x: xp.sqrt((x * x).sum(1)), name="norm_dim"),
    Case("argmax",     lambda x: x.argmax(1),        lambda xp, x: x.argmax(1), grad=False),
    Case("argmin",     lambda x: x.argmin(),         lambda xp, x: x.argmin(), grad=False),
    Case("softmax",    lambda x: x.softmax(1),       lambda xp, x: xp.exp(_log_softmax(xp, x, 1))),
    Case("log_softmax", lambda x: x.log_softmax(0),  lambda xp, x: _log_softmax(xp, x, 0)),
    Case("matmul",     lambda x, y: x @ y,           lambda xp, x, y: x @ y, [[(3, 4), (4, 5)]]),
    Case("dot",        lambda x, y: x @ y,           lambda xp, x, y: x @ y, [[(4,), (4,)]]),
    Case("mv",         lambda x, y: x @ y,           lambda xp, x, y: x @ y, [[(3, 4), (4,)]]),
    Case("bmm",        lambda x, y: x @ y,           lambda xp, x, y: x @ y, [[(2, 3, 4), (2, 4, 5)]]),
    Case("matmul_nd",  lambda x, y: x @ y,           lambda xp, x, y: x @ y,
         [[(2, 3, 4), (4, 5)], [(2, 2, 3, 4), (4, 5)], [(4,), (2, 4, 5)], [(2, 1, 3, 4), (3, 4, 2)]]),
    Case("linear",     lambda x, w, b: F.linear(x, w, b), lambda xp, x, w, b: x @ w.T + b, [[(5, 3), (4, 3), (4,)]]),
    Case("linear_mm",  lambda x, w: F.linear(x, w),  lambda xp, x, w: x @ w.T, [[(5, 3), (4, 3)]]),
    Case("linear_view", lambda x, w, b: F.linear(x, w, b), lambda xp, x, w, b: x @ w.T + b,
         [[(2, 5, 3), (4, 3), (4,)], [(3,), (4, 3), (4,)]]),
    Case("linear_unsafe_view", lambda x, w: F.linear(x, w), lambda xp, x, w: x @ w.T, [[(2, 5, 3), (4, 3)]]),
    Case("linear_squeeze", lambda x, w: F.linear(x, w), lambda xp, x, w: x @ w.T, [[(3,), (4, 3)]]),
    Case("view",       lambda x: x.view(4, 3),       lambda xp, x: x.reshape(4, 3)),
    Case("reshape",    lambda x: x.reshape(2, -1),   lambda xp, x: x.reshape(2, -1), name="reshape_infer"),
    Case("unsqueeze",  lambda x: x.unsqueeze(1),     lambda xp, x: x[:, None]),
    Case("squeeze",    lambda x: x.squeeze(),        lambda xp, x: x.squeeze(), [[(3, 1, 4)]]),
    Case("squeeze_dim", lambda x: x.squeeze(1),      lambda xp, x: x.squeeze(1), [[(3, 1, 4)]]),
    Case("squeeze_dims", lambda x: x.squeeze((1, 3)), lambda xp, x: x.squeeze((1, 3)), [[(3, 1, 4, 1)]]),
    Case("unsafe_view", lambda x: x.t().reshape(12), lambda xp, x: x.T.reshape(12)),
    Case("reshape_alias", lambda x: x.t().reshape(2, 2, 3), lambda xp, x: x.T.reshape(2, 2, 3)),
    Case("expand",     lambda x: x.expand(2, 3, 4),  lambda xp, x: xp.broadcast_to(x, (2, 3, 4)), [[(3, 1)]]),
    Case("permute",    lambda x: x.permute(2, 0, 1), lambda xp, x: x.transpose(2, 0, 1), [[(2, 3, 4)]]),
    Case("transpose",  lambda x: x.transpose(0, 1),  lambda xp, x: x.T),
    Case("t",          lambda x: x.t(),              lambda xp, x: x.T),
    Case("cat",        lambda x, y: sg.cat([x, y], 1), lambda xp, x, y: xp.concatenate([x, y], 1),
         [[(3, 4), (3, 2)]]),
    Case("stack",      lambda x, y: sg.stack([x, y], 1), lambda xp, x, y: xp.stack([x, y], 1),
         [[(3, 4), (3, 4)]]),
    Case("select",     lambda x: (x * 1)[1],         lambda xp, x: x[1]),
    Case("slice",      lambda x: x[::2, 1:-1],       lambda xp, x: x[::2, 1:-1], [[(5, 4)]]),
    # rows of an input (a computed tensor is indexed statically, as above): the row is a program input
    Case("dyn_select", lambda x: x[-2],              lambda xp, x: x[-2]),
    Case("dyn_slice",  lambda x: x[1:3],             lambda xp, x: x[1:3], [[(4, 3)]]),
    Case("dyn_slice",  lambda x: x[2:, ...],         lambda xp, x: x[2:], [[(4, 2, 3)]], name="dyn_slice_3d"),
    Case("slice",      lambda x: x[..., None, -1],   lambda xp, x: x[..., None, -1], [[(2, 3, 4)]], name="slice_none"),
    Case("index",      lambda x: x[sg.tensor([0, 2, 0])], lambda xp, x: x[np.array([0, 2, 0])],
         name="index_repeated"),
    Case("index",      lambda x: x[[1, 0], :, [2, 2]], lambda xp, x: x[np.array([1, 0]), :, np.array([2, 2])],
         [[(2, 3, 4)]], name="index_mixed"),
    Case("index",      lambda x: x[x > 0],           lambda xp, x: x[np.asarray(x) > 0], domain="away0",
         name="index_mask"),
    Case("split",      lambda x: x.split(2, 1)[1],   lambda xp, x: x[:, 2:4]),
    Case("split_with_sizes", lambda x: x.split([1, 3], 1)[1], lambda xp, x: x[:, 1:4]),
    Case("index_select", lambda x: x.index_select(1, sg.tensor([2, 0, 2])), lambda xp, x: x[:, np.array([2, 0, 2])]),
    Case("gather",     lambda x: x.gather(1, sg.tensor([[0, 0], [1, 3], [2, 1]])),
         lambda xp, x: xp.take_along_axis(x, np.array([[0, 0], [1, 3], [2, 1]]), 1)),
    Case("scatter_add", lambda x, s: x.scatter_add(1, sg.tensor([[0, 0], [1, 3], [2, 1]]), s),
         lambda xp, x, s: _scatter_add(xp, x, s), [[(3, 4), (3, 2)]]),
    Case("cast",       lambda x: x.double() * 2,     lambda xp, x: x * 2, name="cast"),
    Case("to_copy",    lambda x: x.to(sg.float64),   lambda xp, x: x),
    Case("clone",      lambda x: x.clone(),          lambda xp, x: x),
    Case("identity",   lambda x: x.detach() if False else x.clone(), lambda xp, x: x, name="identity_clone"),
    Case("setitem",    lambda x, v: _setitem(x, v),  lambda xp, x, v: _setitem_ref(xp, x, v), [[(3, 4), (4,)]]),
    Case("fill_tensor", lambda x, v: _setitem(x, v, slice(None)) * x, lambda xp, x, v: v * x, [[(3, 4), ()]]),
    Case("copy_into",  lambda x, v: _setitem(x, v, Ellipsis) * x, lambda xp, x, v: v * x, [[(3, 4), (4,)]]),
    Case("copy_into",  lambda x, v: (x * 1).copy_(v) * x, lambda xp, x, v: v * x, [[(3, 4), (3, 4)]],
         name="copy_into_copy_"),
    Case("fill_scalar", lambda x: (x * 1).fill_(2.5) * x, lambda xp, x: 2.5 * x),
    Case("zero",       lambda x: (x * 1).zero_() + x * x, lambda xp, x: x * x),
    Case("index_put",  lambda x, v: _setitem(x, v, [2, 0]), lambda xp, x, v: _setitem_ref(xp, x, v, [2, 0]),
         [[(3, 4), (4,)]]),
    Case("index_add",  lambda x, s: x.index_add(1, sg.tensor([0, 2, 0]), s, alpha=2),
         lambda xp, x, s: _index_add_ref(xp, x, s), [[(3, 4), (3, 3)]]),
    Case("sort",       lambda x: x.sort(1).values,   lambda xp, x: xp.sort(x, axis=1)),
    Case("sort",       lambda x: sg.sort(x, 0, descending=True)[0], lambda xp, x: -xp.sort(-x, axis=0),
         [[(3, 4)], [(5,)]], name="sort_descending"),
    Case("argsort",    lambda x: x.sort(0, stable=True).indices, lambda xp, x: xp.argsort(x, axis=0, stable=True),
         grad=False),
    Case("argsort",    lambda x: x.argsort(descending=True), lambda xp, x: xp.argsort(-x, axis=-1, stable=True),
         grad=False, name="argsort_descending"),
    Case("hardtanh",   lambda x: F.hardtanh(x, -0.5, 0.7), lambda xp, x: xp.clip(x, -0.5, 0.7), domain="away0"),
    Case("masked_fill", lambda x: x.masked_fill(x > 0, 0.5), lambda xp, x: xp.where(x > 0, 0.5, x), domain="away0"),
    Case("square",     lambda x: x.square(),         lambda xp, x: x * x),
    Case("var",        lambda x: x.var(1),           lambda xp, x: xp.var(x, axis=1, ddof=1)),
    Case("var",        lambda x: x.var(correction=0), lambda xp, x: xp.var(x), name="var_all"),
    Case("std",        lambda x: x.std(0, keepdim=True), lambda xp, x: xp.std(x, axis=0, ddof=1, keepdims=True)),
    Case("unbind",     lambda x: x.unbind(1)[2],     lambda xp, x: x[:, 2]),
    Case("repeat",     lambda x: x.repeat(2, 1, 3),  lambda xp, x: xp.tile(x, (2, 1, 3))),
    Case("mse_loss",   lambda x, y: F.mse_loss(x, y, reduction="none"), lambda xp, x, y: (x - y) ** 2,
         [[(3, 4), (3, 4)]]),
    Case("mse_loss_mean", lambda x, y: F.mse_loss(x, y), lambda xp, x, y: ((x - y) ** 2).mean(), [[(3, 4), (3, 4)]]),
    Case("mse_loss_sum", lambda x, y: F.mse_loss(x, y, reduction="sum"), lambda xp, x, y: ((x - y) ** 2).sum(),
         [[(3, 4), (3, 4)]]),
    Case("nll_loss",   lambda x: F.nll_loss(x, sg.tensor([1, 0, 3]), reduction="none"),
         lambda xp, x: -x[np.arange(3), np.array([1, 0, 3])]),
    Case("nll_loss",   lambda x: F.nll_loss(x, sg.tensor([1, 0, 3])),
         lambda xp, x: -x[np.arange(3), np.array([1, 0, 3])].mean(), name="nll_loss_mean"),
    Case("nll_loss",   lambda x: F.cross_entropy(x, sg.tensor([1, 0, 3])),
         lambda xp, x: -_log_softmax(xp, x, 1)[np.arange(3), np.array([1, 0, 3])].mean(), name="cross_entropy"),
    Case("nll_loss",   lambda x: F.nll_loss(x, sg.tensor([1, 0, 3]), reduction="sum"),
         lambda xp, x: -x[np.arange(3), np.array([1, 0, 3])].sum(), name="nll_loss_sum"),
    Case("nll_loss",   lambda x: F.nll_loss(x, sg.tensor([1, 0, 3]), weight=sg.tensor([1.0, 2.0, 3.0, 0.5], dtype=x.dtype),
                                            ignore_index=0),
         lambda xp, x: -(x[np.arange(3), np.array([1, 0, 3])] * np.array([2.0, 0.0, 0.5])).sum() / 2.5,
         name="nll_loss_weight_ignore"),
    Case("nll_loss2d", lambda x: F.nll_loss(x, sg.tensor([[1, 0], [3, 2]]), reduction="sum"),
         lambda xp, x: -(x[0, 1, 0] + x[0, 0, 1] + x[1, 3, 0] + x[1, 2, 1]), [[(2, 4, 2)]]),
    # the gradient of nll_loss for its input, as a function of the incoming gradient
    Case("nll_loss_backward",
         _nll_grad, lambda xp, g: -(g[:, None] * (np.arange(4) == np.array([1, 0, 3])[:, None])), [[(3,)]]),
    Case("nll_loss_squeeze", lambda x: F.nll_loss(x, sg.tensor(2), reduction="none"), lambda xp, x: -x[2], [[(4,)]]),
    # activations and losses recorded as one op each (tests/test_nn_functional.py compares them with PyTorch)
    Case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda xp, x: xp.where(x > 0, x, 0.2 * x), domain="away0"),
    Case("leaky_relu_", lambda x: F.leaky_relu(x * 1, 0.2, inplace=True), lambda xp, x: xp.where(x > 0, x, 0.2 * x),
         domain="away0"),
    Case("elu",        lambda x: F.elu(x, 1.5),      lambda xp, x: xp.where(x > 0, x, 1.5 * xp.expm1(x)), domain="away0"),
    Case("elu_",       lambda x: F.elu(x * 1, 1.5, inplace=True), lambda xp, x: xp.where(x > 0, x, 1.5 * xp.expm1(x)),
         domain="away0"),
    Case("silu",       lambda x: F.silu(x),          lambda xp, x: x / (1 + xp.exp(-x))),
    Case("log_sigmoid", lambda x: F.logsigmoid(x * 4), lambda xp, x: -xp.logaddexp(0, -4 * x)),
    Case("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b, eps=1e-3), lambda xp, x, w, b: _layer_norm(xp, x, 1) * w + b,
         [[(3, 4), (4,), (4,)]]),
    Case("layer_norm", lambda x: F.layer_norm(x, [3, 4]), lambda xp, x: _layer_norm(xp, x, 2, 1e-5), [[(2, 3, 4)]],
         name="layer_norm_2d_no_affine"),
    Case("layer_norm", lambda x, w: F.layer_norm(x, (4,), w), lambda xp, x, w: _layer_norm(xp, x, 1, 1e-5) * w,
         [[(3, 4), (4,)]], name="layer_norm_weight_only"),
    Case("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid()),
         lambda xp, x, t: _bce(xp, x, t).mean(), [[(3, 4), (3, 4)]]),
    Case("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid(), sg.tensor(BCE_W),
                                                                     reduction="none"),
         lambda xp, x, t: _bce(xp, x, t) * BCE_W, [[(3, 4), (3, 4)]], name="bce_weight_none"),
    Case("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid(), reduction="sum"),
         lambda xp, x, t: _bce(xp, x, t).sum(), [[(3, 4), (3, 4)]], name="bce_sum"),
    Case("binary_cross_entropy_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid()),
         lambda xp, x, t: _bce_logits(xp, x, t).mean(), [[(3, 4), (3, 4)]]),
    Case("binary_cross_entropy_with_logits",
         lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid(), sg.tensor(BCE_W), reduction="none",
                                                         pos_weight=sg.tensor(BCE_PW)),
         lambda xp, x, t: _bce_logits(xp, x, t, BCE_PW) * BCE_W, [[(3, 4), (3, 4)]], name="bce_logits_weights"),
    Case("binary_cross_entropy_with_logits",
         lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid(), reduction="sum", pos_weight=sg.tensor(BCE_PW)),
         lambda xp, x, t: _bce_logits(xp, x, t, BCE_PW).sum(), [[(3, 4), (3, 4)]], name="bce_logits_sum"),
    Case("embedding",  lambda w: F.embedding(sg.tensor([[0, 2], [3, 2]]), w),
         lambda xp, w: w[np.array([[0, 2], [3, 2]])], [[(4, 3)]]),
    Case("embedding",  lambda w: F.embedding(sg.tensor(1, dtype=sg.int32), w), lambda xp, w: w[1], [[(4, 3)]],
         name="embedding_0d_int32"),
    Case("cross_entropy_div", lambda x: F.cross_entropy(x, sg.tensor(CE_P, dtype=x.dtype)),
         lambda xp, x: -(_log_softmax(xp, x, 1) * CE_P).sum() / 3),
    Case("lt",         lambda x, y: x < y,           lambda xp, x, y: x < y, BIN_SHAPES, grad=False),
    Case("le",         lambda x, y: x <= y,          lambda xp, x, y: x <= y, BIN_SHAPES, grad=False),
    Case("gt",         lambda x, y: x > y,           lambda xp, x, y: x > y, BIN_SHAPES, grad=False),
    Case("ge",         lambda x, y: x >= y,          lambda xp, x, y: x >= y, BIN_SHAPES, grad=False),
    Case("eq",         lambda x, y: x == y,          lambda xp, x, y: x == y, BIN_SHAPES, grad=False),
    Case("ne",         lambda x, y: x != y,          lambda xp, x, y: x != y, BIN_SHAPES, grad=False),
    Case("logical_and", lambda x, y: x.logical_and(y), lambda xp, x, y: (x != 0) & (y != 0), BIN_SHAPES, grad=False),
    Case("logical_or", lambda x, y: x.logical_or(y), lambda xp, x, y: (x != 0) | (y != 0), BIN_SHAPES, grad=False),
    Case("logical_xor", lambda x, y: x.logical_xor(y), lambda xp, x, y: (x != 0) ^ (y != 0), BIN_SHAPES, grad=False),
    Case("logical_not", lambda x: (x > 0).logical_not(), lambda xp, x: ~(x > 0), grad=False),
    # bitwise: on integers (x * 10 truncated), and on bools, where they are the logical ops
    Case("bitwise_and", lambda x, y: _i(x) & _i(y), lambda xp, x, y: _ni(xp, x) & _ni(xp, y), BIN_SHAPES, grad=False),
    Case("gcd",        lambda x, y: _i(x).gcd(_i(y)), lambda xp, x, y: xp.gcd(_ni(xp, x), _ni(xp, y)), BIN_SHAPES,
         grad=False),
    Case("lcm",        lambda x, y: _i(x).lcm(_i(y)), lambda xp, x, y: xp.lcm(_ni(xp, x), _ni(xp, y)), BIN_SHAPES,
         grad=False),
    Case("bitwise_or",  lambda x, y: _i(x) | _i(y), lambda xp, x, y: _ni(xp, x) | _ni(xp, y), BIN_SHAPES, grad=False),
    Case("bitwise_xor", lambda x, y: _i(x) ^ _i(y), lambda xp, x, y: _ni(xp, x) ^ _ni(xp, y), BIN_SHAPES, grad=False),
    Case("bitwise_xor", lambda x, y: (x > 0) ^ (y > 0), lambda xp, x, y: (x > 0) ^ (y > 0), BIN_SHAPES, grad=False,
         name="bitwise_xor_bool"),
    Case("bitwise_not", lambda x: ~_i(x),            lambda xp, x: ~_ni(xp, x), grad=False),
    Case("bitwise_left_shift", lambda x: _i(x).abs() << 2, lambda xp, x: xp.abs(_ni(xp, x)) << 2, grad=False),
    Case("bitwise_right_shift", lambda x: _i(x).abs() >> 1, lambda xp, x: xp.abs(_ni(xp, x)) >> 1, grad=False),
    Case("isnan",      lambda x: (x / x).isnan(),    lambda xp, x: xp.isnan(x / x), grad=False),
    Case("isinf",      lambda x: (1 / x).isinf(),    lambda xp, x: xp.isinf(1 / x), grad=False),
    Case("isfinite",   lambda x: x.isfinite(),       lambda xp, x: xp.isfinite(x), grad=False),
    # ops added for PyTorch parity (each value and gradient also checked against PyTorch in
    # tests/test_ops_extra.py where torch is installed)
    Case("asin",       lambda x: x.asin(),           lambda xp, x: xp.arcsin(x), domain="unit"),
    Case("acos",       lambda x: x.acos(),           lambda xp, x: xp.arccos(x), domain="unit"),
    Case("atan",       lambda x: x.atan(),           lambda xp, x: xp.arctan(x)),
    Case("sinh",       lambda x: x.sinh(),           lambda xp, x: xp.sinh(x)),
    Case("cosh",       lambda x: x.cosh(),           lambda xp, x: xp.cosh(x)),
    Case("asinh",      lambda x: x.asinh(),          lambda xp, x: xp.arcsinh(x)),
    Case("acosh",      lambda x: (x + 1).acosh(),    lambda xp, x: xp.arccosh(x + 1), domain="pos"),
    Case("atanh",      lambda x: x.atanh(),          lambda xp, x: xp.arctanh(x), domain="unit"),
    Case("frac",       lambda x: x.frac(),           lambda xp, x: x - xp.trunc(x)),
    Case("sinc",       lambda x: x.sinc(),           lambda xp, x: xp.sinc(x)),
    Case("logit",      lambda x: x.sigmoid().logit(), lambda xp, x: xp.log(_sigmoid(xp, x) / (1 - _sigmoid(xp, x)))),
    Case("logit",      lambda x: (x * 0.3 + 0.5).logit(eps=0.2), lambda xp, x: _logit_eps(xp, x * 0.3 + 0.5, 0.2),
         domain="away0", name="logit_eps"),
    Case("nan_to_num", lambda x: (1 / x).nan_to_num(posinf=3.0) * x, lambda xp, x: x / x, domain="away0"),
    Case("fmod",       lambda x, y: x.fmod(y),       lambda xp, x, y: xp.fmod(x, y), BIN_SHAPES[:2], domain="pos"),
    Case("fmod_scalar", lambda x: sg.fmod(x, 0.7),   lambda xp, x: xp.fmod(x, 0.7), domain="pos"),
    Case("fmax",       lambda x, y: x.fmax(y),       lambda xp, x, y: xp.fmax(x, y), BIN_SHAPES),
    Case("fmin",       lambda x, y: sg.fmin(x, y),   lambda xp, x, y: xp.fmin(x, y), BIN_SHAPES),
    Case("xlogy",      lambda x, y: sg.xlogy(x, y),  lambda xp, x, y: x * xp.log(y), BIN_SHAPES[:2], domain="pos"),
    Case("xlogy_scalar_self", lambda y: sg.xlogy(2.5, y), lambda xp, y: 2.5 * xp.log(y), domain="pos"),
    Case("xlogy_scalar_other", lambda x: x.xlogy(3.0), lambda xp, x: x * np.log(3.0)),
    Case("logaddexp",  lambda x, y: sg.logaddexp(x, y), lambda xp, x, y: xp.logaddexp(x, y), BIN_SHAPES),
    Case("nansum",     lambda x: x.nansum(1),        lambda xp, x: x.sum(1)),
    Case("nansum",     lambda x: sg.nansum(x),       lambda xp, x: x.sum(), name="nansum_all"),
    Case("div",        lambda x: sg.nanmean(x * x, 0), lambda xp, x: (x * x).mean(0), name="nanmean"),
    Case("vector_norm", lambda x: sg.linalg.vector_norm(x, 3), lambda xp, x: (xp.abs(x) ** 3).sum() ** (1 / 3)),
    Case("vector_norm", lambda x: sg.linalg.vector_norm(x, 1, dim=1), lambda xp, x: xp.abs(x).sum(1),
         domain="away0", name="vector_norm_1"),
    Case("vector_norm", lambda x: sg.linalg.vector_norm(x, 0.5, dim=0, keepdim=True),
         lambda xp, x: (xp.abs(x) ** 0.5).sum(0, keepdims=True) ** 2, domain="away0", name="vector_norm_half"),
    Case("vector_norm", lambda x: sg.linalg.vector_norm(x, float("inf"), dim=1), lambda xp, x: xp.abs(x).max(1),
         domain="away0", name="vector_norm_inf"),
    Case("norm",       lambda x: sg.linalg.matrix_norm(x), lambda xp, x: xp.sqrt((x * x).sum()), name="matrix_norm_fro"),
    Case("norm",       lambda x: sg.linalg.norm(x, dim=1), lambda xp, x: xp.sqrt((x * x).sum(1)), name="linalg_norm"),
    Case("median",     lambda x: x.median(),         lambda xp, x: xp.sort(x.reshape(-1))[5]),
    Case("median_dim", lambda x: x.median(1).values, lambda xp, x: xp.sort(x, axis=1)[:, 1]),
    Case("kthvalue",   lambda x: x.kthvalue(3, 0, keepdim=True).values, lambda xp, x: xp.sort(x, axis=0)[2:3]),
    Case("topk",       lambda x: x.topk(2).values,   lambda xp, x: -xp.sort(-x, axis=1)[:, :2]),
    Case("topk",       lambda x: sg.topk(x, 2, dim=0, largest=False)[0], lambda xp, x: xp.sort(x, axis=0)[:2],
         name="topk_smallest"),
    Case("cummax",     lambda x: x.cummax(1).values, lambda xp, x: _cum(xp, x, "max")),
    Case("cummin",     lambda x: sg.cummin(x, 0)[0], lambda xp, x: _cum(xp, x, "min", 0)),
    Case("trace",      lambda x: x.trace(),          lambda xp, x: xp.trace(x)),
    Case("dist",       lambda x, y: sg.dist(x, y),   lambda xp, x, y: xp.sqrt(((x - y) ** 2).sum()), BIN_SHAPES[:2]),
    Case("dist",       lambda x, y: x.dist(y, 3),    lambda xp, x, y: (xp.abs(x - y) ** 3).sum() ** (1 / 3),
         BIN_SHAPES[:1], name="dist_3"),
    Case("cdist",      lambda x, y: sg.cdist(x, y),
         lambda xp, x, y: xp.sqrt(((x[..., :, None, :] - y[..., None, :, :]) ** 2).sum(-1)),
         [[(3, 4), (5, 4)], [(2, 3, 4), (5, 4)]]),
    Case("einsum",     lambda x, y: sg.einsum("ij,jk->ik", x, y), lambda xp, x, y: x @ y, [[(3, 4), (4, 5)]]),
    Case("einsum",     lambda x, y: sg.einsum("b...j,kj", x, y), lambda xp, x, y: xp.einsum("b...j,kj", x, y),
         [[(2, 3, 4), (5, 4)]], name="einsum_ellipsis"),
    Case("einsum",     lambda x, y: sg.einsum("ij,kl->ik", x, y), lambda xp, x, y: xp.einsum("ij,kl->ik", x, y),
         [[(3, 4), (2, 5)]], name="einsum_summed_alone"),
    Case("einsum_sum", lambda x: sg.einsum("ij->j", x), lambda xp, x: x.sum(0)),
    Case("einsum_permute", lambda x: sg.einsum("ijk->kij", x), lambda xp, x: x.transpose(2, 0, 1), [[(2, 3, 4)]]),
    Case("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
         lambda xp, x, y: _huber(xp, x - y, 0.5).mean() / 0.5, [[(3, 4), (3, 4)]]),
    Case("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, reduction="none", beta=2.0),
         lambda xp, x, y: _huber(xp, x - y, 2.0) / 2.0, [[(3, 4), (3, 4)]], name="smooth_l1_none"),
    Case("huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.5, reduction="sum"),
         lambda xp, x, y: _huber(xp, x - y, 0.5).sum(), [[(3, 4), (3, 4)]]),
    Case("clamp_min",  lambda x: x.clamp_min(0.2),   lambda xp, x: xp.maximum(x, 0.2), domain="away0"),
    Case("clamp_max",  lambda x: sg.clamp_max(x, 0.2), lambda xp, x: xp.minimum(x, 0.2), domain="away0"),
    Case("clamp_min_tensor", lambda x, y: x.clamp_min(y), lambda xp, x, y: xp.maximum(x, y), BIN_SHAPES[:2]),
    Case("clamp_max_tensor", lambda x, y: x.clamp_max(y), lambda xp, x, y: xp.minimum(x, y), BIN_SHAPES[:2]),
    Case("index_copy", lambda x, s: x.index_copy(1, sg.tensor([2, 0]), s), lambda xp, x, s: _index_copy_ref(xp, x, s),
         [[(3, 4), (3, 2)]]),
    Case("index_fill", lambda x: x.index_fill(1, sg.tensor([0, 2]), -1.5),
         lambda xp, x: x * np.array([0.0, 1.0, 0.0, 1.0]) - 1.5 * np.array([1.0, 0.0, 1.0, 0.0])),
    Case("tril",       lambda x: x.tril(),           lambda xp, x: xp.tril(x)),
    Case("triu",       lambda x: sg.triu(x, 1),      lambda xp, x: xp.triu(x, 1), [[(2, 3, 4)]]),
    # flips, rolls, diagonals, addmm, special functions (also against PyTorch in tests/test_ops_extra.py)
    Case("flip",       lambda x: x.flip(0, 2),       lambda xp, x: xp.flip(x, (0, 2)), [[(2, 3, 4)]]),
    Case("roll",       lambda x: x.roll((1, -2), (0, 2)), lambda xp, x: xp.roll(x, (1, -2), (0, 2)), [[(2, 3, 4)]]),
    Case("roll",       lambda x: sg.roll(x, 5),      lambda xp, x: xp.roll(x, 5), name="roll_flat"),
    Case("diagonal",   lambda x: x.diagonal(1, 2, 0), lambda xp, x: xp.diagonal(x, 1, 2, 0), [[(2, 3, 4)]]),
    Case("diagonal",   lambda x: sg.diagonal(x, -1), lambda xp, x: xp.diagonal(x, -1), name="diagonal_below"),
    Case("diag_diagonal", lambda x: sg.diag(x, 1), lambda xp, x: xp.diag(x, 1)),
    Case("diag_embed", lambda x: x.diag(-1),         lambda xp, x: xp.diag(x, -1), [[(4,)]]),
    Case("addmm",      lambda c, a, b: sg.addmm(c, a, b, beta=0.5, alpha=2.0),
         lambda xp, c, a, b: 0.5 * c + 2.0 * (a @ b), [[(3, 5), (3, 4), (4, 5)], [(5,), (3, 4), (4, 5)]]),
    Case("hypot",      lambda x, y: sg.hypot(x, y),  lambda xp, x, y: xp.hypot(x, y), BIN_SHAPES[:3], domain="pos"),
    Case("nextafter",  lambda x, y: x.nextafter(y),  lambda xp, x, y: xp.nextafter(x, y), BIN_SHAPES[:2], grad=False),
    # (its derivative, PyTorch's identity in self, is no derivative of the step function: tests/test_ops_extra.py)
    Case("copysign",   lambda x, y: x.copysign(y),   lambda xp, x, y: xp.copysign(x, y), BIN_SHAPES[:2],
         domain="away0"),
    Case("copysign_scalar", lambda x: sg.copysign(x, -1.0), lambda xp, x: xp.copysign(x, -1.0), domain="away0"),
    Case("deg2rad",    lambda x: x.deg2rad(),        lambda xp, x: xp.deg2rad(x)),
    Case("rad2deg",    lambda x: sg.rad2deg(x),      lambda xp, x: xp.rad2deg(x)),
    Case("sgn",        lambda x: x.sgn(),            lambda xp, x: xp.sign(x), domain="away0"),
    Case("signbit",    lambda x: sg.signbit(x),      lambda xp, x: xp.signbit(x), grad=False),
    Case("lgamma",     lambda x: x.lgamma(),         lambda xp, x: _special(xp, "gammaln", x), domain="pos"),
    Case("digamma",    lambda x: sg.digamma(x),      lambda xp, x: _special(xp, "digamma", x), domain="pos"),
    Case("polygamma",  lambda x: sg.polygamma(1, x), lambda xp, x: _special(xp, "polygamma", x, 1), domain="pos"),
    Case("erfinv",     lambda x: x.erfinv(),         lambda xp, x: _special(xp, "erfinv", x), domain="unit"),
    # torch.special (also against PyTorch in tests/test_special.py)
    Case("erfc",       lambda x: sgs.erfc(x),        lambda xp, x: _special(xp, "erfc", x)),
    Case("i0",         lambda x: sgs.i0(x),          lambda xp, x: _special(xp, "i0", x)),
    Case("special_i0e", lambda x: sgs.i0e(x),        lambda xp, x: _special(xp, "i0e", x), domain="away0"),
    Case("special_i1", lambda x: sgs.i1(x),          lambda xp, x: _special(xp, "i1", x)),
    Case("special_i1e", lambda x: sgs.i1e(x),        lambda xp, x: _special(xp, "i1e", x), domain="away0"),
    Case("special_i1", lambda x: sgs.i1(x * 0),      lambda xp, x: _special(xp, "i1", x * 0), name="i1_at_0"),
    Case("special_i1e", lambda x: sgs.i1e(x * 0),    lambda xp, x: _special(xp, "i1e", x * 0), name="i1e_at_0"),
    Case("special_ndtri", lambda x: sgs.ndtri(x * 0.5 + 0.5), lambda xp, x: _special(xp, "ndtri", x * 0.5 + 0.5),
         domain="unit"),
    Case("special_log_ndtr", lambda x: sgs.log_ndtr(x), lambda xp, x: _special(xp, "log_ndtr", x)),
    Case("special_log_ndtr", lambda x: sgs.log_ndtr(x * 5), lambda xp, x: _special(xp, "log_ndtr", x * 5),
         name="log_ndtr_tails"),
    Case("round_decimals", lambda x: sgs.round(x * 3, decimals=2), lambda xp, x: xp.round(x * 3, 2)),
    Case("round_decimals", lambda x: sgs.round(x * 300, decimals=-1), lambda xp, x: xp.round(x * 300, -1),
         name="round_negative_decimals"),
    Case("round_decimals", lambda x: sgs.round(x * 3), lambda xp, x: xp.round(x * 3), name="special_round"),
    Case("ndtr_mul",   lambda x: sgs.ndtr(x),        lambda xp, x: _special(xp, "ndtr", x)),
    Case("special_erfcx", lambda x: sgs.erfcx(x),    lambda xp, x: _special(xp, "erfcx", x)),
    Case("special_entr", lambda x: sgs.entr(x),      lambda xp, x: -x * xp.log(x), domain="pos"),
    Case("special_xlog1py", lambda x, y: sgs.xlog1py(x, y), lambda xp, x, y: x * xp.log1p(y), BIN_SHAPES[:3],
         domain="pos"),
    Case("xlog1py_scalar_self", lambda y: sgs.xlog1py(2.5, y), lambda xp, y: 2.5 * xp.log1p(y), domain="pos"),
    Case("xlog1py_scalar_other", lambda x: sgs.xlog1py(x, 3.0), lambda xp, x: x * np.log1p(3.0)),
    Case("special_zeta", lambda q: sgs.zeta(sg.tensor(ZETA_S).to(q.dtype), q), lambda xp, q: _special2(xp, "zeta", ZETA_S, q),
         [[(3, 4)], [(2, 3, 4)]], domain="pos"),
    Case("zeta_scalar_self", lambda q: sgs.zeta(3.0, q), lambda xp, q: _special2(xp, "zeta", 3.0, q), domain="pos"),
    Case("zeta_scalar_other", lambda x: sgs.zeta(x + 2, 1.5), lambda xp, x: _special2(xp, "zeta", x + 2, 1.5),
         domain="pos", grad=False),
    Case("igamma",     lambda x: sgs.gammainc(sg.tensor(GAMMA_A).to(x.dtype), x), lambda xp, x: _special2(xp, "gammainc", GAMMA_A, x),
         [[(3, 4)], [(2, 1, 4)]], domain="pos"),
    Case("igammac",    lambda x: sgs.igammac(sg.tensor(GAMMA_A).to(x.dtype), x),
         lambda xp, x: _special2(xp, "gammaincc", GAMMA_A, x), domain="pos"),
    Case("mvlgamma",   lambda x: sgs.multigammaln(x + 1.5, 3), lambda xp, x: _multigammaln(xp, x + 1.5, 3),
         domain="pos"),
    Case("mvlgamma",   lambda x: sgs.mvlgamma(x, 1), lambda xp, x: _special(xp, "gammaln", x), domain="pos",
         name="mvlgamma_1"),
    *[Case("special_" + _b, (lambda b: lambda x: getattr(sgs, b)(x))(_b), (lambda b: lambda xp, x: _bessel_ref(b, x))(_b),
           domain="pos", grad=False) for _b in BESSELS],
    # (beyond 5, where PyTorch's j0/j1/y0/y1 kernels are good to ~1e-7 only: against PyTorch in test_special.py)
    Case("special_bessel_j1", lambda x: sgs.bessel_j1(-x), lambda xp, x: -_bessel_ref("bessel_j1", x),
         domain="pos", grad=False, name="bessel_j1_negative"),
    Case("special_airy_ai", lambda x: sgs.airy_ai(x), lambda xp, x: _airy_ref(x), domain="unit", grad=False),
    *[Case("special_" + _p, (lambda p: lambda x: getattr(sgs, p)(_shift(p, x), sg.tensor(POLY_N.astype(np.int64))))(_p),
           (lambda p: lambda xp, x: _poly_ref(p, _shift(p, x), POLY_N))(_p), domain="unit", grad=False) for _p in POLYS],
    Case("special_chebyshev_polynomial_t", lambda x: sgs.chebyshev_polynomial_t(x, 4),
         lambda xp, x: _poly_ref("chebyshev_polynomial_t", x, 4), domain="unit", name="chebyshev_t_number_degree",
         grad=False),
    Case("einsum",     lambda x, y: sg.tensordot(x, y, ([0, 2], [1, 0])),
         lambda xp, x, y: xp.tensordot(x, y, ([0, 2], [1, 0])), [[(2, 3, 4), (4, 2, 5)]], name="tensordot"),
    Case("mul",        lambda x, y: sg.outer(x, y),  lambda xp, x, y: xp.outer(x, y), [[(3,), (4,)]], name="outer"),
    Case("permute",    lambda x: x.movedim(0, 2),    lambda xp, x: xp.moveaxis(x, 0, 2), [[(2, 3, 4)]], name="movedim"),
    Case("repeat",     lambda x: x.tile(2),          lambda xp, x: xp.tile(x, 2), name="tile"),
    Case("cumsum",     lambda x: (x * 1).cumsum_(1), lambda xp, x: xp.cumsum(x, 1), name="cumsum_"),
    Case("le", lambda x, y: sg.isclose(x, y), lambda xp, x, y: xp.isclose(x, y),
         BIN_SHAPES[:2], grad=False, name="isclose"),
    # scatters (also against PyTorch in tests/test_ops_extra.py)
    Case("scatter",    lambda x, s: x.scatter(1, sg.tensor(SC_IDX), s), lambda xp, x, s: _scatter_ref(xp, x, s, "set"),
         [[(3, 4), (3, 2)], [(3, 4), (4, 3)]]),
    Case("scatter_value", lambda x: x.scatter(1, sg.tensor(SC_IDX), 0.5), lambda xp, x: _scatter_ref(xp, x, None, "set")),
    Case("scatter",    lambda x, s: (x * 1).scatter_(1, sg.tensor(SC_IDX), s), lambda xp, x, s: _scatter_ref(xp, x, s, "set"),
         [[(3, 4), (3, 2)]], name="scatter_"),
    Case("scatter_legacy_reduce", lambda x, s: x.scatter(1, sg.tensor(SC_DUP), s, reduce="add"),
         lambda xp, x, s: _scatter_ref(xp, x, s, "sum", idx=SC_DUP), [[(3, 4), (3, 2)]], grad=False),
    *[Case("scatter_reduce", (lambda r, inc: lambda x, s: x.scatter_reduce(1, sg.tensor(SC_DUP), s, r,
                                                                           include_self=inc))(r, inc),
           (lambda r, inc: lambda xp, x, s: _scatter_ref(xp, x, s, r, inc, SC_DUP))(r, inc), [[(3, 4), (3, 2)]],
           name=f"scatter_reduce_{r}_{inc}")
      for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    Case("scatter_reduce", lambda x, s: (x * 1).scatter_reduce_(0, sg.tensor([[1, 0, 1, 1]]), s, "mean"),
         lambda xp, x, s: _scatter_ref(xp, x.T, s.T, "mean", True, np.array([[1], [0], [1], [1]])).T,
         [[(3, 4), (1, 4)]], name="scatter_reduce_"),
    # index_reduce: scatter_reduce with its index vector spread over the source
    *[Case("index_reduce", (lambda r, inc: lambda x, s: x.index_reduce(1, sg.tensor(IR_IDX), s, r,
                                                                       include_self=inc))(r, inc),
           (lambda r, inc: lambda xp, x, s: _scatter_ref(xp, x, s, r, inc, np.tile(IR_IDX, (3, 1))))(r, inc),
           [[(3, 4), (3, 3)]], name=f"index_reduce_{r}_{inc}")
      for r in ("prod", "mean", "amax", "amin") for inc in (True, False)],
    Case("index_put",  lambda x, v: sg.index_put(x, (sg.tensor([2, 0]),), v, accumulate=True),
         lambda xp, x, v: _index_put_acc_ref(xp, x, v), [[(3, 4), (4,)]], name="index_put_fn"),
    Case("masked_scatter", lambda x, s: x.masked_scatter(sg.tensor(MS_MASK), s), lambda xp, x, s: _masked_scatter_ref(xp, x, s),
         [[(3, 4), (8,)], [(3, 4), (2, 5)]]),
    Case("masked_scatter", lambda x, s: x.masked_scatter(sg.tensor(MS_MASK[1]), s),
         lambda xp, x, s: _masked_scatter_ref(xp, x, s, MS_MASK[1]), [[(3, 4), (9,)]], name="masked_scatter_broadcast"),
    Case("diagonal_scatter", lambda x, s: sg.diagonal_scatter(x, s, 1), lambda xp, x, s: _diag_scatter_ref(xp, x, s),
         [[(3, 4), (3,)]]),
    Case("diagonal_scatter", lambda x, s: x.diagonal_scatter(s, -1, 2, 0), lambda xp, x, s: xp.moveaxis(_diag_scatter_ref(
         xp, xp.moveaxis(x, (2, 0), (-2, -1)), s, -1), (-2, -1), (2, 0)), [[(3, 2, 4), (2, 3)]],
         name="diagonal_scatter_dims"),
    Case("select_scatter", lambda x, s: sg.select_scatter(x, s, 1, -2), lambda xp, x, s: _put_ref(xp, x, s, (slice(None), 2)),
         [[(3, 4), (3,)]]),
    Case("slice_scatter", lambda x, s: x.slice_scatter(s, 1, 1, None, 2), lambda xp, x, s: _put_ref(xp, x, s, (slice(None), slice(1, None, 2))),
         [[(3, 4), (3, 2)]]),
    Case("fill_diagonal", lambda x: (x * 1).fill_diagonal_(0.5) * x, lambda xp, x: _fill_diag_ref(xp, x, False) * x),
    Case("fill_diagonal", lambda x: (x * 1).fill_diagonal_(0.5, wrap=True), lambda xp, x: _fill_diag_ref(xp, x, True),
         [[(7, 3)]], name="fill_diagonal_wrap"),
    # linear algebra (tests/test_linalg.py: batches, errors, second derivatives, PyTorch)
    Case("linalg_inv", lambda x: sg.linalg.inv(_wc(x)), lambda xp, x: xp.linalg.inv(_wc(x, xp)), [[(3, 3)], [(2, 3, 3)]]),
    Case("linalg_det", lambda x: sg.det(_wc(x)), lambda xp, x: xp.linalg.det(_wc(x, xp)), [[(3, 3)], [(2, 3, 3)]]),
    Case("slogdet_logabs", lambda x: sg.linalg.slogdet(x).logabsdet, lambda xp, x: xp.linalg.slogdet(x)[1],
         [[(3, 3)], [(2, 4, 4)]]),
    Case("slogdet_sign", lambda x: sg.linalg.slogdet(x)[0], lambda xp, x: xp.linalg.slogdet(x)[0], [[(2, 4, 4)]],
         grad=False),
    Case("linalg_solve", lambda a, b: sg.linalg.solve(_wc(a), b), lambda xp, a, b: xp.linalg.solve(_wc(a, xp), b),
         [[(3, 3), (3, 2)], [(2, 3, 3), (3, 2)], [(3, 3), (2, 3, 4)]]),
    Case("linalg_solve", lambda a, b: sg.linalg.solve(_wc(a), b),
         lambda xp, a, b: xp.linalg.solve(_wc(a, xp), b[..., None])[..., 0], [[(3, 3), (3,)], [(2, 3, 3), (2, 3)]],
         name="linalg_solve_vector"),
    Case("linalg_solve", lambda a, b: sg.linalg.solve(_wc(a), b, left=False),
         lambda xp, a, b: xp.linalg.solve(xp.swapaxes(_wc(a, xp), -1, -2), xp.swapaxes(b, -1, -2)).swapaxes(-1, -2),
         [[(3, 3), (2, 3)]], name="linalg_solve_right"),
    Case("solve_triangular", lambda a, b: sg.linalg.solve_triangular(_wc(a), b, upper=True),
         lambda xp, a, b: xp.linalg.solve(xp.triu(_wc(a, xp)), b), [[(3, 3), (3, 2)], [(2, 3, 3), (3, 4)]]),
    Case("solve_triangular", lambda a, b: sg.linalg.solve_triangular(_wc(a), b, upper=False, left=False,
                                                                      unitriangular=True),
         lambda xp, a, b: b @ xp.linalg.inv(xp.tril(a, -1) + np.eye(3)), [[(3, 3), (2, 3)]],
         name="solve_triangular_right_unit"),
    Case("cholesky", lambda x: sg.linalg.cholesky(_spd(x)), lambda xp, x: xp.linalg.cholesky(_spd(x, xp)),
         [[(3, 3)], [(2, 4, 4)]]),
    Case("cholesky", lambda x: sg.linalg.cholesky(_spd(x), upper=True),
         lambda xp, x: xp.swapaxes(xp.linalg.cholesky(_spd(x, xp)), -1, -2), name="cholesky_upper"),
    Case("cholesky_legacy", lambda x: sg.cholesky(_spd(x)), lambda xp, x: xp.linalg.cholesky(_spd(x, xp))),
    Case("linalg_qr",  lambda x: sg.linalg.qr(x).Q, lambda xp, x: xp.linalg.qr(x)[0], [[(4, 3)], [(3, 3)], [(2, 4, 3)]]),
    Case("linalg_qr",  lambda x: sg.linalg.qr(x).R, lambda xp, x: xp.linalg.qr(x)[1], [[(4, 3)], [(2, 3, 3)]],
         name="linalg_qr_r"),
    Case("linalg_qr",  lambda x: sg.linalg.qr(x)[0] * 2 + sg.linalg.qr(x)[1].sum(), lambda xp, x: xp.linalg.qr(x)[0] * 2
         + xp.linalg.qr(x)[1].sum(), [[(3, 5)]], name="linalg_qr_wide"),
    Case("linalg_qr",  lambda x: sg.linalg.qr(x, mode="complete").Q, lambda xp, x: xp.linalg.qr(x, mode="complete")[0],
         [[(4, 3)], [(2, 5, 3)]], grad=False, name="linalg_qr_complete_q"),  # (no derivative: PyTorch's error)
    Case("linalg_qr",  lambda x: sg.linalg.qr(x, mode="complete").R, lambda xp, x: xp.linalg.qr(x, mode="complete")[1],
         [[(4, 3)]], grad=False, name="linalg_qr_complete_r"),
    Case("linalg_qr",  lambda x: sg.linalg.qr(x, mode="r").R, lambda xp, x: xp.linalg.qr(x, mode="r"), [[(4, 3)]],
         grad=False, name="linalg_qr_mode_r"),
    Case("linalg_lu",  lambda x: sg.linalg.lu(x).L, lambda xp, x: _lu_ref(xp, x, 1), [[(4, 4)], [(2, 3, 3)], [(3, 5)],
                                                                                     [(5, 3)]]),
    Case("linalg_lu",  lambda x: sg.linalg.lu(x).U, lambda xp, x: _lu_ref(xp, x, 2), [[(4, 4)], [(2, 3, 3)], [(3, 5)],
                                                                                     [(5, 3)]], name="linalg_lu_u"),
    Case("linalg_lu",  lambda x: sg.linalg.lu(x).P, lambda xp, x: _lu_ref(xp, x, 0), [[(4, 4)], [(2, 5, 3)]],
         grad=False, name="linalg_lu_p"),
    Case("lu_factor",  lambda x: sg.linalg.lu_factor(x).LU, lambda xp, x: _lu_packed_ref(xp, x),
         [[(4, 4)], [(2, 3, 3)], [(3, 5)], [(5, 3)]]),
    Case("lu_unpack",  lambda x: sg.lu_unpack(*sg.linalg.lu_factor(x)).L * 2 + sg.lu_unpack(*sg.linalg.lu_factor(x)).U.sum(),
         lambda xp, x: _lu_ref(xp, x, 1) * 2 + _lu_ref(xp, x, 2).sum(), [[(4, 4)], [(2, 3, 5)]]),
    Case("lu_solve",   lambda a, b: sg.linalg.lu_solve(*sg.linalg.lu_factor(a), b), lambda xp, a, b: xp.linalg.solve(a, b),
         [[(3, 3), (3, 2)], [(2, 3, 3), (3, 4)]]),
    Case("lu_solve",   lambda a, b: sg.linalg.lu_solve(*sg.linalg.lu_factor(a), b, adjoint=True),
         lambda xp, a, b: xp.linalg.solve(xp.swapaxes(a, -1, -2), b), [[(3, 3), (3, 2)]], name="lu_solve_adjoint"),
    Case("lu_solve",   lambda a, b: sg.linalg.lu_solve(*sg.linalg.lu_factor(a), b, left=False),
         lambda xp, a, b: b @ xp.linalg.inv(a), [[(3, 3), (2, 3)]], name="lu_solve_right"),
    Case("lu_solve",   lambda a, b: sg.linalg.lu_solve(*sg.linalg.lu_factor(a), b, left=False, adjoint=True),
         lambda xp, a, b: b @ xp.linalg.inv(xp.swapaxes(a, -1, -2)), [[(2, 3, 3), (2, 3)]], name="lu_solve_right_adjoint"),
    Case("eigh",       lambda x: sg.linalg.eigvalsh(x + x.mT), lambda xp, x: xp.linalg.eigvalsh(x + xp.swapaxes(x, -1, -2)),
         [[(4, 4)], [(2, 3, 3)]]),
    Case("eigh",       lambda x: sg.linalg.eigh(x + x.mT, UPLO="U").eigenvectors ** 2,
         lambda xp, x: xp.linalg.eigh(x + xp.swapaxes(x, -1, -2))[1] ** 2, [[(4, 4)], [(2, 3, 3)]], name="eigh_vectors"),
    Case("svd",        lambda x: sg.linalg.svdvals(x), lambda xp, x: xp.linalg.svd(x, compute_uv=False),
         [[(4, 3)], [(3, 4)], [(2, 3, 3)]]),
    Case("svd",        lambda x: sg.linalg.svd(x, full_matrices=False).U ** 2,
         lambda xp, x: xp.linalg.svd(x, full_matrices=False)[0] ** 2, [[(4, 3)], [(3, 4)]], name="svd_u"),
    Case("svd",        lambda x: sg.linalg.svd(x, full_matrices=False).Vh ** 2,
         lambda xp, x: xp.linalg.svd(x, full_matrices=False)[2] ** 2, [[(4, 3)], [(3, 4)]], name="svd_vh"),
    Case("pinv",       lambda x: sg.linalg.pinv(x), lambda xp, x: xp.linalg.pinv(x), [[(4, 3)], [(3, 4)], [(2, 3, 3)]]),
    Case("pinv",       lambda x: sg.linalg.pinv(_spd(x), hermitian=True, atol=0.5),
         lambda xp, x: xp.linalg.pinv(_spd(x, xp)), [[(3, 3)], [(2, 3, 4)]], name="pinv_hermitian_atol"),
    Case("lstsq",      lambda a, b: sg.linalg.lstsq(a, b).solution, lambda xp, a, b: xp.linalg.pinv(a) @ b,
         [[(5, 3), (5, 2)], [(2, 4, 3), (2, 4, 2)]]),
    Case("lstsq",      lambda a, b: sg.linalg.lstsq(a, b)[0], lambda xp, a, b: xp.linalg.pinv(a) @ b,
         [[(5, 3), (5,)]], name="lstsq_vector"),
    Case("matrix_exp", lambda x: sg.linalg.matrix_exp(x * 0.4), lambda xp, x: _expm_ref(xp, x * 0.4), [[(3, 3)], [(2, 2, 2)]]),
    Case("matrix_rank", lambda x: sg.linalg.matrix_rank(sg.cat([x, x[:1] * 2, x[1:2] - x[:1]])),
         lambda xp, x: np.linalg.matrix_rank(np.concatenate([x, x[:1] * 2, x[1:2] - x[:1]])), [[(3, 5)]], grad=False),
    Case("searchsorted", lambda s, v: sg.searchsorted(s.sort().values, v), lambda xp, s, v: _searchsorted_ref(s, v, "left"),
         [[(3, 5), (3, 4)], [(6,), (2, 3)]], grad=False),
    Case("searchsorted", lambda s, v: sg.searchsorted(s.sort().values, v.round(), side="right"),
         lambda xp, s, v: _searchsorted_ref(s, np.round(v), "right"), [[(3, 5), (3, 4)]], grad=False,
         name="searchsorted_right"),
    Case("searchsorted", lambda s, v: sg.bucketize(v, s.sort().values, right=True, out_int32=True),
         lambda xp, s, v: np.searchsorted(np.sort(s), v, "right").astype(np.int32), [[(6,), (2, 3)]], grad=False,
         name="bucketize"),
    Case("histc",      lambda x: sg.histc(x, 5, -1, 1), lambda xp, x: np.histogram(x, 5, (-1, 1))[0].astype(x.dtype),
         [[(3, 7)]], grad=False),
    Case("histc",      lambda x: x.histc(4), lambda xp, x: np.histogram(x, 4)[0].astype(x.dtype), [[(20,)]], grad=False,
         name="histc_data_range"),
    # in-place views: the tensor takes the view's shape (t_, transpose_, unsqueeze_, squeeze_)
    Case("t_",         lambda x: (x * 1).t_(),       lambda xp, x: x.T),
    Case("transpose_", lambda x: (x * 1).transpose_(0, 2), lambda xp, x: x.transpose(2, 1, 0), [[(2, 3, 4)]]),
    Case("unsqueeze_", lambda x: (x * 1).unsqueeze_(1), lambda xp, x: x[:, None]),
    Case("squeeze_",   lambda x: (x * 1).squeeze_(), lambda xp, x: x.squeeze(), [[(3, 1, 4)]]),
    Case("squeeze_dim_", lambda x: (x * 1).squeeze_(1), lambda xp, x: x.squeeze(1), [[(3, 1, 4)]]),
    Case("squeeze_dims_", lambda x: (x * 1).squeeze_((1, 2)), lambda xp, x: x.squeeze(1), [[(3, 1, 4)]]),
]


# -- scatters and linear algebra: references for NumPy and jax.numpy alike (one-hot masks and
# plain formulas, so jax.grad differentiates them)

SC_IDX = np.array([[0, 3], [1, 2], [2, 0]])     # distinct per row: scatter's writes do not collide
SC_DUP = np.array([[0, 0], [2, 0], [1, 1]])     # repeated: reductions combine
IR_IDX = [1, 3, 1]                               # index_reduce's index vector (along dim 1)
MS_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])


def _scatter_ref(xp, x, s, reduce, include_self=True, idx=SC_IDX):
    hits = [np.arange(x.shape[1])[None, :] == idx[:, j:j + 1] for j in range(idx.shape[1])]
    srcs = [(0.5 if s is None else s[:idx.shape[0], j:j + 1]) for j in range(idx.shape[1])]
    hit = np.any(hits, axis=0)
    if reduce == "set":
        out = x
        for h, v in zip(hits, srcs):
            out = xp.where(h, v, out)
        return out
    if reduce in ("sum", "mean"):
        total = sum(xp.where(h, v, 0.0) for h, v in zip(hits, srcs))
        n = sum(h.astype(float) for h in hits)
        if include_self:
            total, n = total + x, n + 1
        out = total / xp.where(n == 0, 1.0, n) if reduce == "mean" else total
        return xp.where(hit, out, x)
    if reduce == "prod":
        out = x if include_self else xp.where(hit, 1.0, x)
        for h, v in zip(hits, srcs):
            out = out * xp.where(h, v, 1.0)
        return out
    pick = xp.maximum if reduce == "amax" else xp.minimum
    fill = -np.inf if reduce == "amax" else np.inf
    out = x if include_self else xp.where(hit, fill, x)
    for h, v in zip(hits, srcs):
        out = pick(out, xp.where(h, v, fill))
    return out


def _index_put_acc_ref(xp, x, v):
    return x + xp.where((np.arange(3) == 2)[:, None] | (np.arange(3) == 0)[:, None], v, 0.0)


def _masked_scatter_ref(xp, x, s, mask=MS_MASK):
    mask = np.broadcast_to(mask, x.shape)
    rows, cols = np.nonzero(mask)
    vals = s.reshape(-1)[:len(rows)]
    if xp is jnp:
        return x.at[rows, cols].set(vals)
    out = np.array(x)
    out[rows, cols] = vals
    return out


def _diag_scatter_ref(xp, x, s, offset=1):
    i = np.arange(s.shape[-1])
    r, c = i + max(-offset, 0), i + max(offset, 0)
    if xp is jnp:
        return x.at[..., r, c].set(s)
    out = np.array(x)
    out[..., r, c] = s
    return out


def _put_ref(xp, x, s, index):
    if xp is jnp:
        return x.at[index].set(s)
    out = np.array(x)
    out[index] = s
    return out


def _fill_diag_ref(xp, x, wrap):
    rows, cols = x.shape
    hit = np.zeros(x.size, bool)
    stop = rows * cols if wrap else min(rows, cols) * cols
    hit[:stop:cols + 1] = True
    return xp.where(hit.reshape(x.shape), 0.5, x)


def _wc(x, xp=None):
    """A well-conditioned matrix made from ``x``: ``x + 4 I``."""
    n = x.shape[-1]
    if xp is None:
        return x + 4 * sg.eye(n, dtype=x.dtype)
    return x + 4 * np.eye(n)


def _spd(x, xp=None):
    """A symmetric positive-definite matrix made from ``x``: ``x x^T + I``."""
    n = x.shape[-2]
    if xp is None:
        return x @ x.mT + sg.eye(n, dtype=x.dtype)
    return x @ xp.swapaxes(x, -1, -2) + np.eye(n)


def _lu_ref(xp, x, part):
    """P, L or U (``part``) of A = P L U by jax.scipy.linalg.lu (LAPACK's getrf, as PyTorch's)."""
    from jax.scipy.linalg import lu
    out = jnp.vectorize(lu, signature="(m,n)->(m,m),(m,k),(k,n)")(jnp.asarray(x))[part]  # (lu: one matrix)
    return np.asarray(out) if xp is np else out


def _lu_packed_ref(xp, x):
    """linalg.lu_factor's LU: L's strict lower part and U in one matrix."""
    low, up = _lu_ref(xp, x, 1), _lu_ref(xp, x, 2)
    m, n = x.shape[-2:]
    k = min(m, n)
    lower = xp.tril(low, -1)
    if k < n:
        lower = xp.concatenate([lower, xp.zeros(x.shape[:-2] + (m, n - k))], -1)
    if k < m:
        up = xp.concatenate([up, xp.zeros(x.shape[:-2] + (m - k, n))], -2)
    return lower + up


def _expm_ref(xp, x):
    """exp(x) by its Taylor series (x is small: 30 terms are exact in float64)."""
    term = xp.broadcast_to(np.eye(x.shape[-1]), x.shape)
    out = term
    for k in range(1, 30):
        term = term @ x / k
        out = out + term
    return out


def _searchsorted_ref(s, v, side):
    s = np.sort(s, -1)
    if s.ndim == 1:
        return np.searchsorted(s, v, side)
    return np.stack([np.searchsorted(a, b, side) for a, b in zip(s, v)])


def _special(xp, name, x, *n):
    """jax.scipy.special for jax.numpy (and as the value reference: NumPy has no lgamma/digamma/erfinv)."""
    f = getattr(jax.scipy.special, name)
    out = f(*n, jnp.asarray(x)) if n else f(jnp.asarray(x))
    return out if xp is jnp else np.asarray(out, dtype=np.asarray(x).dtype)


def _special2(xp, name, a, x):
    """A two-argument jax.scipy.special function, ``a`` a constant."""
    out = getattr(jax.scipy.special, name)(jnp.asarray(a, jnp.asarray(x).dtype), jnp.asarray(x))
    return out if xp is jnp else np.asarray(out, dtype=np.asarray(x).dtype)


_EULER = 0.5772156649015329


def _bessel_ref(name, x):
    """Ascending series (A&S 9.1.10-11, 9.6.10-11) in float64, for 0 < x < ~5: no scipy needed."""
    z = np.asarray(x, np.float64)
    k = np.arange(40.0)[:, None]
    lf = np.array([math.lgamma(v + 1) for v in range(42)])[:, None]  # log k!
    h = np.concatenate([[0.0], np.cumsum(1 / np.arange(1.0, 42))])[:, None]  # harmonic numbers H_k
    q = z.reshape(1, -1) / 2

    def series(n, sign, weight=1.0):
        return (sign ** k * weight * np.exp(np.log(q) * (2 * k + n) - lf[:40] - lf[n:n + 40])).sum(0)
    if name == "spherical_bessel_j0":
        out = np.sin(z.ravel()) / z.ravel()
    elif name in ("bessel_j0", "bessel_j1"):  # Bessel's integral: the trapezoid rule is exact to rounding
        tau = np.linspace(0, 2 * np.pi, 256, endpoint=False)[:, None]
        out = np.cos(z.reshape(1, -1) * np.sin(tau) - int(name[-1]) * tau).mean(0)
    elif name in ("modified_bessel_i0", "modified_bessel_i1"):
        out = series(int(name[-1]), -1.0 if name.startswith("bessel") else 1.0)
    elif name == "bessel_y0":
        out = 2 / np.pi * np.log(q[0]) * series(0, -1.0) - 2 / np.pi * series(0, -1.0, h[:40] - _EULER)
    elif name == "bessel_y1":
        out = (-2 / (np.pi * z.ravel()) + 2 / np.pi * np.log(q[0]) * series(1, -1.0)
               - 1 / np.pi * series(1, -1.0, h[:40] + h[1:41] - 2 * _EULER))
    elif name.endswith("k0"):
        out = -np.log(q[0]) * series(0, 1.0) + series(0, 1.0, h[:40] - _EULER)
    else:  # k1
        out = 1 / z.ravel() + np.log(q[0]) * series(1, 1.0) - 0.5 * series(1, 1.0, h[:40] + h[1:41] - 2 * _EULER)
    if name.startswith("scaled"):
        out = out * np.exp(z.ravel())
    return out.reshape(z.shape).astype(np.asarray(x).dtype)


def _shift(name, x):
    """Inputs on (0, 1) for the shifted polynomials."""
    return (x + 1) * 0.5 if name.startswith("shifted_") else x


def _multigammaln(xp, x, p):
    out = jax.scipy.special.multigammaln(jnp.asarray(x), p)
    return out if xp is jnp else np.asarray(out, dtype=np.asarray(x).dtype)


def _airy_ref(x):
    """Ai's Maclaurin series (|x| < 1)."""
    z = np.asarray(x, np.float64)
    f, g, tf, tg = np.ones_like(z), z.copy(), np.ones_like(z), z.copy()
    for k in range(1, 30):
        tf = tf * z ** 3 / ((3 * k - 1) * (3 * k))
        tg = tg * z ** 3 / ((3 * k) * (3 * k + 1))
        f, g = f + tf, g + tg
    return (0.355028053887817239260 * f - 0.258819403792806798405 * g).astype(np.asarray(x).dtype)


def _poly_ref(name, x, n):
    """Closed forms on (-1, 1) (the shifted polynomials at (x + 1) / 2 are the plain ones at x) and NumPy's
    Hermite, Laguerre and Legendre series."""
    z = np.asarray(x, np.float64)
    n = np.broadcast_to(np.asarray(n, np.float64), z.shape)
    if name.startswith("shifted_"):
        z, name = 2 * z - 1, name[len("shifted_"):]
    th = np.arccos(z)
    if name == "chebyshev_polynomial_t":
        out = np.cos(n * th)
    elif name == "chebyshev_polynomial_u":
        out = np.sin((n + 1) * th) / np.sin(th)
    elif name == "chebyshev_polynomial_v":
        out = np.cos((n + 0.5) * th) / np.cos(th / 2)
    elif name == "chebyshev_polynomial_w":
        out = np.sin((n + 0.5) * th) / np.sin(th / 2)
    else:
        mod = {"hermite_polynomial_h": np.polynomial.hermite.hermval,
               "hermite_polynomial_he": np.polynomial.hermite_e.hermeval,
               "laguerre_polynomial_l": np.polynomial.laguerre.lagval,
               "legendre_polynomial_p": np.polynomial.legendre.legval}[name]
        out = np.array([mod(a, [0.0] * int(d) + [1.0]) for a, d in zip(z.ravel(), n.ravel())]).reshape(z.shape)
    return out.astype(np.asarray(x).dtype)


def _logit_eps(xp, x, eps):
    c = xp.clip(x, eps, 1 - eps)
    return xp.log(c / (1 - c))


def _cum(xp, x, kind, axis=1):
    if xp is jnp:
        return (jax.lax.cummax if kind == "max" else jax.lax.cummin)(x, axis=axis)
    return (np.maximum if kind == "max" else np.minimum).accumulate(x, axis=axis)


def _huber(xp, d, delta):
    a = xp.abs(d)
    return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def _index_copy_ref(xp, x, s):
    if xp is jnp:
        return x.at[:, np.array([2, 0])].set(s)
    out = np.array(x)
    out[:, [2, 0]] = s
    return out


def _scatter_add(xp, x, s):
    idx = np.array([[0, 0], [1, 3], [2, 1]])
    rows = np.arange(3)[:, None].repeat(2, 1)
    if xp is jnp:
        return x.at[rows, idx].add(s)
    out = np.array(x)
    np.add.at(out, (rows, idx), s)
    return out


def _setitem(x, v, index=1):
    y = x * 1
    y[index] = v
    return y


def _setitem_ref(xp, x, v, index=1):
    index = np.asarray(index)
    if xp is jnp:
        return x.at[index].set(v)
    y = np.array(x)
    y[index] = v
    return y


def _index_add_ref(xp, x, s):
    idx = np.array([0, 2, 0])
    if xp is jnp:
        return x.at[:, idx].add(2 * s)
    out = np.array(x)
    np.add.at(out, (slice(None), idx), 2 * s)
    return out


# Ops the table does not exercise through a Case, and why.
NOT_IN_TABLE = {
    "full": "creation, tests/test_tensor.py", "arange": "creation", "linspace": "creation", "eye": "creation",
    "rand": "creation", "randn": "creation", "randint": "creation", "bernoulli": "creation",
    "poisson": "a random draw, tests/test_sampling.py",
    "const": "srcgrad's own constants", "fn_call": "custom Function, tests/test_autograd.py",
    "fn_out": "custom Function", "to_device": "device moves, tests/test_tensor.py",
    "vmap": "srcgrad.func.vmap's call, tests/test_func.py", "vmap_out": "srcgrad.func.vmap's results",
    "copy": "in-place copy_, tests/test_tensor.py",
    "nograd_update": "in-place changes autograd does not see, tests/test_autograd.py",
    "nograd_view": "views taken under no_grad, tests/test_parity_views.py",
    **{f"as_strided_{base}": "a view read again after its base changed in place (AsStridedBackward0, an alias "
                             f"of {base}), tests/test_parity_views.py::test_gradients_through_shared_storage"
       for base in ("index", "reshape", "permute", "expand", "diagonal", "identity")},
    **{op: "grid_sample/affine_grid's node, named as PyTorch's (an alias of identity over a composite), "
           "tests/test_nn_grid_sample.py" for op in ("affine_grid_generator", "grid_sampler_2d", "grid_sampler_3d")},
    "diagonal_setitem": "an in-place change of a diagonal view (CopySlices, an alias of diagonal_scatter), "
                        "tests/test_parity_views.py::test_gradients_through_shared_storage",
    "add_scalar_mul": "alias kept for grad_fn names",
    **{op: "an identity over a composite's result under PyTorch's grad_fn name (ops.ALIASES), "
           "tests/test_autograd_graph.py::test_composites_show_pytorchs_grad_fn_and_edges"
       for op in ("addmv", "addr", "baddbmm", "addbmm", "prelu", "group_norm", "im2col", "col2im",
                  "pack_padded_sequence", "mode_values", "glu",
                  "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "upsample_nearest_exact1d",
                  "upsample_nearest_exact2d", "upsample_nearest_exact3d", "upsample_linear1d",
                  "upsample_bilinear2d", "upsample_trilinear3d", "upsample_bicubic2d", "upsample_bilinear2d_aa",
                  "upsample_bicubic2d_aa")},
    "cumextreme": "the running max/min behind cummax/cummin's indices (no gradient), the cummax cases",
    **{op: "an optimiser's fused update (srcgrad/optim/_fused.py), tests/test_optim.py against PyTorch"
       for op in ("_ema", "_ema_sq", "_add_sq", "_sgd_buf", "_sgd_param", "_adam_param", "_adagrad_param",
                  "_rmsprop")},
    "convolution": "tests/test_conv.py (NumPy values, finite differences, jax.grad oracle)",
    "rev": "tests/test_conv.py (the flip used by the convolution's derivative)",
    **{op: "tests/test_nn_pooling.py (NumPy values, finite differences, jax.grad oracle, gradgradcheck)"
       for op in ("max_pool", "max_pool_backward", "max_pool_select", "max_pool_indices", "avg_pool",
                  "avg_pool_backward", "adaptive_avg_pool", "adaptive_avg_pool_mm")},
    **{op: "tests/test_nn_padding.py (np.pad values, finite differences, jax.grad of jnp.pad)"
       for op in ("constant_pad", "circular_pad", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                  "replication_pad1d", "replication_pad2d", "replication_pad3d")},
    "batch_norm": "tests/test_nn_batchnorm.py (NumPy values, jax.grad oracle, running statistics)",
    **{op: "tests/test_nn_pooling_extra.py (3-d and adaptive max pooling, EmbeddingBag: NumPy references, finite "
           "differences, PyTorch)"
       for op in ("max_pool3d", "max_pool3d_backward", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_avg_pool3d_out",
                  "adaptive_max_pool2d", "adaptive_max_pool3d", "embedding_bag")},
    "dyn_pad": "the gradient of dyn_select/dyn_slice (their cases above; its own gradient in "
               "tests/test_compiler.py::test_rows_of_an_input_tensor_take_their_position_as_a_program_input)",
    **{op: "an optimiser's fused update (srcgrad/optim/_fused_algorithms.py), tests/test_optim_algorithms.py "
           "against NumPy transcriptions of PyTorch's rules and PyTorch itself"
       for op in ("_adadelta_delta", "_adamax_inf", "_adamax_param", "_asgd_ax", "_asgd_eta", "_asgd_mu",
                  "_asgd_param", "_nadam_mu_product", "_nadam_param", "_radam_param", "_rprop_param", "_rprop_prev",
                  "_rprop_step_size")},
}


def test_every_registered_op_has_a_case():
    covered = {c.op for c in CASES}
    missing = sorted(set(OPS) - covered - set(NOT_IN_TABLE))
    assert not missing, f"ops without a test case: {missing}"
    assert set(ALIASES) <= set(OPS)


def test_lerp_addcmul_addcdiv_in_place_and_errors_as_pytorch():
    rng = np.random.default_rng(4)
    x, a, b = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    b = np.abs(b) + 0.5
    for method, args, kwargs in [("lerp", (a, 0.3), {}), ("lerp", (a, 0.9), {}), ("lerp", (a, b * 0.5), {}),
                                 ("addcmul", (a, b), dict(value=-0.5)), ("addcdiv", (a, b), dict(value=3.0))]:
        t = sg.tensor(x)
        targs = tuple(sg.tensor(v) if isinstance(v, np.ndarray) else v for v in args)
        expect = getattr(t, method)(*targs, **kwargs).numpy()
        assert getattr(t, method + "_")(*targs, **kwargs) is t and t._version == 1
        np.testing.assert_array_equal(t.numpy(), expect)
    np.testing.assert_allclose(sg.tensor(x).lerp(sg.tensor(a), 0.25).numpy(), x + 0.25 * (a - x), rtol=1e-6)
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        sg.ones(3).lerp(sg.ones(3, dtype=sg.float64), 0.5)
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        sg.ones(3).addcdiv(sg.ones(3, dtype=sg.int64), sg.ones(3, dtype=sg.int64))
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast shape \[2, 3\]"):
        sg.ones(3).addcmul_(sg.ones(2, 3), sg.ones(3))
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    assert x.lerp(sg.zeros(2), 0.5).grad_fn.name() == "LerpBackward0"
    assert x.lerp(sg.zeros(2), sg.full((2,), 0.5)).grad_fn.name() == "LerpBackward1"
    assert x.addcmul(x, x).grad_fn.name() == "AddcmulBackward0"
    assert sg.addcdiv(x, x, x).grad_fn.name() == "AddcdivBackward0"


def _inputs(case: Case, shapes, dtype, rng):
    arrays = []
    for shape in shapes:
        a = rng.standard_normal(shape)
        if case.domain == "pos":
            a = np.abs(a) + 0.5
        elif case.domain == "unit":
            a = np.clip(a, -1, 1) * 0.9
        elif case.domain == "away0":
            a = np.where(np.abs(a) < 0.2, 0.3 * np.sign(a) + 0.07, a)
        arrays.append(np.array(a, dtype=dtype))
    return arrays


def _params():
    for case in CASES:
        for k, shapes in enumerate(case.shapes):
            yield pytest.param(case, shapes, id=f"{case.id}-{k}")


@pytest.mark.parametrize("case,shapes", list(_params()))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_match_numpy(case, shapes, dtype):
    rng = np.random.default_rng(1)
    arrays = _inputs(case, shapes, dtype, rng)
    out = case.fn(*[sg.tensor(a) for a in arrays])
    ref = np.asarray(case.ref(np, *arrays))
    got = out.numpy()
    assert got.shape == ref.shape
    if out.dtype.is_floating_point:
        expect_dt = "float64" if (dtype == "float64" or case.id in ("cast", "to_copy")) else "float32"
        assert out.dtype.name == expect_dt, (out.dtype, expect_dt)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got, ref, rtol=tol * 10, atol=tol)


def _weights(out_shape, rng):
    return rng.standard_normal(out_shape)


@pytest.mark.parametrize("case,shapes", [p for p in _params() if p.values[0].grad])
def test_gradients_match_finite_differences_and_jax(case, shapes):
    rng = np.random.default_rng(2)
    arrays = _inputs(case, shapes, "float64", rng)
    xs = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*xs)
    w = _weights(tuple(out.shape), rng)
    (out * sg.tensor(w)).sum().backward()
    grads = [x.grad.numpy() for x in xs]

    # jax.grad of the reference, as an oracle
    def scalar(*a):
        return jnp.sum(case.ref(jnp, *a) * w)
    if case.id != "index_mask":
        oracle = jax.grad(scalar, argnums=tuple(range(len(arrays))))(*[jnp.asarray(a) for a in arrays])
        for g, o in zip(grads, oracle):
            np.testing.assert_allclose(g, np.asarray(o), rtol=1e-9, atol=1e-9)

    # central finite differences of srcgrad's own float64 forward
    eps = 1e-6
    for k, a in enumerate(arrays):
        num = np.zeros(a.size)
        for j in range(a.size):
            vals = []
            for sgn in (1, -1):
                pert = [b.copy() for b in arrays]
                pert[k].reshape(-1)[j] += sgn * eps
                vals.append(float((case.fn(*[sg.tensor(p) for p in pert]).numpy() * w).sum()))
            num[j] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(grads[k].reshape(-1), num, rtol=1e-5, atol=1e-6)


SMOOTH = {"logsumexp", "exp", "log", "sin", "cos", "tanh", "sigmoid", "mul", "div", "pow", "pow_tensor", "softplus",
          "gelu", "matmul", "softmax", "log_softmax", "norm", "prod", "sqrt", "erf", "atan2", "rsqrt", "lerp_tensor",
          "addcmul", "addcdiv", "linear", "linear_view", "var", "std", "square", "mse_loss_mean", "silu",
          "log_sigmoid", "elu", "layer_norm", "binary_cross_entropy", "binary_cross_entropy_with_logits",
          "cross_entropy_div", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "sinc", "logit",
          "xlogy", "logaddexp", "dist", "cdist", "einsum", "vector_norm", "hypot", "lgamma", "digamma",
          "polygamma", "erfinv", "erfc", "i0", "special_i0e", "special_i1", "special_i1e", "special_ndtri",
          "special_log_ndtr", "ndtr_mul", "special_erfcx", "special_entr", "special_xlog1py", "xlog1py_scalar_self",
          "special_zeta", "zeta_scalar_self", "igamma", "igammac", "mvlgamma", "addmm", "linalg_inv", "linalg_det", "slogdet_logabs",
          "linalg_solve", "solve_triangular", "cholesky", "linalg_qr", "eigh", "svd", "pinv", "lstsq", "matrix_exp",
          "linalg_lu", "lu_factor", "lu_solve"}


# cases (by name) of ops that are linear elsewhere, where the gradient depends on the inputs
SMOOTH_CASES = {"scatter_reduce_prod_True", "scatter_reduce_prod_False", "index_reduce_prod_True",
                "index_reduce_prod_False"}


@pytest.mark.parametrize("case,shapes", [p for p in _params()
                                         if (p.values[0].op in SMOOTH or p.values[0].id in SMOOTH_CASES)
                                         and p.values[0].grad])
def test_second_derivatives(case, shapes):
    rng = np.random.default_rng(3)
    arrays = _inputs(case, shapes, "float64", rng)
    xs = [sg.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(*xs)
    w = sg.tensor(_weights(tuple(out.shape), rng))
    first = sg.autograd.grad((out * w).sum(), xs, create_graph=True)
    v = [rng.standard_normal(a.shape) for a in arrays]
    dot = sum((g * sg.tensor(vv)).sum() for g, vv in zip(first, v))
    second = sg.autograd.grad(dot, xs, allow_unused=True)

    def scalar(*a):
        return jnp.sum(case.ref(jnp, *a) * w.numpy())

    def directional(*a):
        gs = jax.grad(scalar, argnums=tuple(range(len(a))))(*a)
        return sum(jnp.sum(g * vv) for g, vv in zip(gs, v))

    oracle = jax.grad(directional, argnums=tuple(range(len(arrays))))(*[jnp.asarray(a) for a in arrays])
    for s, o in zip(second, oracle):
        got = np.zeros_like(np.asarray(o)) if s is None else s.numpy()
        np.testing.assert_allclose(got, np.asarray(o), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_nonfinite_tests_see_the_values(name):
    # (random inputs are all finite: these ops once cast their input to bool first)
    data = np.array([np.inf, np.nan, 1.0, -np.inf, 0.0], np.float32)
    got = getattr(sg.tensor(data), name)()
    assert got.dtype is sg.bool
    np.testing.assert_array_equal(got.numpy(), getattr(np, name)(data))
    np.testing.assert_array_equal(getattr(sg, name)(sg.tensor([1, 2])).numpy(), getattr(np, name)(np.array([1, 2])))


def test_rows_of_inputs_take_dynamic_positions_and_other_indexes_static_ones():
    x = sg.tensor(np.arange(12.0).reshape(4, 3))
    ops = {"x[1]": x[1], "x[-1]": x[-1], "x[1:3]": x[1:3], "x[2:, ...]": x[2:, ...], "x[1:3, :]": x[1:3, :],
           "(x * 1)[1]": (x * 1)[1], "x[::2]": x[::2], "x[:, 1]": x[:, 1], "x[1:3, 1:]": x[1:3, 1:], "x[0:9]": x[0:9],
           "x[None, 1]": x[None, 1]}
    assert {k: v._node.op for k, v in ops.items()} == {
        "x[1]": "dyn_select", "x[-1]": "dyn_select", "x[1:3]": "dyn_slice", "x[2:, ...]": "dyn_slice",
        "x[1:3, :]": "dyn_slice", "(x * 1)[1]": "select", "x[::2]": "slice", "x[:, 1]": "select",
        "x[1:3, 1:]": "slice", "x[0:9]": "slice", "x[None, 1]": "select"}
    np.testing.assert_array_equal(ops["x[-1]"].numpy(), [9.0, 10.0, 11.0])
