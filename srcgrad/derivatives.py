"""Derivative rules: one vector-Jacobian product per op, written with tensor ops.

Each rule takes the incoming gradient ``g``, the op's output ``out`` and its
inputs (as tensors), plus the op's static attributes by name, and returns one
gradient per input (``None`` where there is none). Rules may return gradients
in the broadcast shape of the output: the transformer (``autodiff.py``) sums
them back to each input's shape in one place. Because rules are ordinary
tensor code, the backward is itself IR, and differentiating it again
(``create_graph=True``) needs nothing more.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import dtypes as D
from . import tensor as T
from .ops import ALIASES, OPS

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_2_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_1_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def defvjp(name: str, rule: Callable) -> None:
    OPS[name].vjp = rule


# -- helpers for rules that need more than one line ------------------------


def unreduce(g: Any, shape: tuple, dims: tuple, keepdim: bool) -> Any:
    """Broadcast a reduced gradient back over the reduced dims."""
    if not keepdim:
        g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return g.expand(shape)


def count(shape: tuple, dims: tuple) -> int:
    return math.prod(shape[d] for d in dims)


def zeros_for(x: Any) -> Any:
    return T.zeros(x.shape, dtype=x.dtype, device=x.device)


def mask(cond: Any, like: Any) -> Any:
    return cond.to(like.dtype)


def pow_base_grad(g: Any, x: Any, y: Any) -> Any:
    if y._node.op == "const":  # a literal exponent: write the familiar formula
        p = y._node.attrs[0]
        return g * 0 if p == 0 else g if p == 1 else g * 2 * x if p == 2 else g * p * x ** (p - 1)
    return T.where(y == 0, 0.0, g * y * x ** (y - 1))


def pow_exponent_grad(g: Any, out: Any, x: Any, y: Any) -> Any:
    return T.where((x == 0) & (y >= 0), 0.0, g * out * x.log())


def prod_grad(g: Any, out: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    # out / x, except where x has zeros: a single zero gets the product of the others.
    is_zero = x == 0
    zeros_in_slice = unreduce(is_zero.to(x.dtype).sum(dims, keepdim=True), x.shape, dims, True)
    nonzero_prod = unreduce(T.where(is_zero, 1.0, x).prod(dims, keepdim=True), x.shape, dims, True)
    gx = unreduce(g, x.shape, dims, keepdim)
    plain = gx * unreduce(out, x.shape, dims, keepdim) / T.where(is_zero, 1.0, x)
    single = T.where(is_zero, gx * nonzero_prod, 0.0)
    return T.where(zeros_in_slice == 0, plain, T.where(zeros_in_slice == 1, single, 0.0))


def cumsum_grad(g: Any, dim: int) -> Any:
    # each input reaches every later output: the reversed cumulative sum of g
    return g.sum(dim, keepdim=True) - g.cumsum(dim) + g


def cumprod_grad(g: Any, out: Any, x: Any, dim: int) -> Any:
    # d out_j / d x_i = prod_{k <= j, k != i} x_k for j >= i, computed without dividing by
    # x (exact where x has zeros): row i of an n x n table is the cumprod of x with x_i := 1.
    n = x.shape[dim]
    if n == 0:
        return g
    xl, gl = x.transpose(dim, -1), g.transpose(dim, -1)
    eye = T.eye(n, dtype=D.bool_, device=x.device)
    table = T.where(eye, 1.0, xl.unsqueeze(-2)).cumprod(-1)            # [..., i, j]
    later = (T.arange(n, device=x.device).unsqueeze(0) >= T.arange(n, device=x.device).unsqueeze(1))
    gx = T.where(later, table * gl.unsqueeze(-2), 0.0).sum(-1)
    return gx.transpose(dim, -1)


def extreme_grad(g: Any, out: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    # amax/amin/max()/min(): the gradient is shared evenly among ties, as in PyTorch
    hit = mask(x == unreduce(out, x.shape, dims, keepdim), x)
    return unreduce(g, x.shape, dims, keepdim) * hit / unreduce(hit.sum(dims, keepdim=True), x.shape, dims, True)


def norm_grad(g: Any, out: Any, x: Any, dims: tuple, keepdim: bool) -> Any:
    scale = T.where(out == 0, 0.0, g / out)  # the subgradient 0 at the origin, as PyTorch
    return unreduce(scale, x.shape, dims, keepdim) * x


def matmul_grads(g: Any, out: Any, a: Any, b: Any, precision: str) -> tuple:
    if a.dim() == 1 and b.dim() == 1:
        return g * b, g * a
    a2 = a.unsqueeze(0) if a.dim() == 1 else a
    b2 = b.unsqueeze(-1) if b.dim() == 1 else b
    g2 = g.unsqueeze(-2) if a.dim() == 1 else g
    g2 = g2.unsqueeze(-1) if b.dim() == 1 else g2
    ga = g2 @ b2.mT
    if a2.dim() > 2 and b2.dim() == 2:
        # a batched input times a weight matrix: one contraction over all batch rows,
        # not a batch of (in, out) products summed afterwards
        gb = a2.reshape(-1, a2.shape[-1]).mT @ g2.reshape(-1, g2.shape[-1])
    else:
        gb = a2.mT @ g2
    return (ga.squeeze(-2) if a.dim() == 1 else ga), (gb.squeeze(-1) if b.dim() == 1 else gb)


def linear_grads(g: Any, out: Any, x: Any, w: Any, *b: Any, precision: str, bias: bool) -> tuple:
    # out = x @ w.T + b: one contraction over every row for the weight, rows summed for the bias
    rows_g = g.reshape(-1, g.shape[-1]) if g.dim() != 2 else g
    rows_x = x.reshape(-1, x.shape[-1]) if x.dim() != 2 else x
    return (g @ w, rows_g.mT @ rows_x) + ((rows_g.sum(0),) if bias else ())


def gelu_grad(g: Any, x: Any, approximate: bool) -> Any:
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = inner.tanh()
        return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x))
    cdf = 0.5 * (1 + (x * (1 / math.sqrt(2.0))).erf())
    return g * (cdf + x * (-0.5 * x * x).exp() * _1_OVER_SQRT_2PI)


def cat_grads(g: Any, out: Any, *xs: Any, dim: int) -> tuple:
    return g.split([x.shape[dim] for x in xs], dim)


def stack_grads(g: Any, out: Any, *xs: Any, dim: int) -> tuple:
    return tuple(g.select(dim, i) for i in range(len(xs)))


def clamp_grads(g: Any, out: Any, x: Any, *bounds: Any, has_lo: bool, has_hi: bool) -> tuple:
    it = iter(bounds)
    lo = next(it) if has_lo else None
    hi = next(it) if has_hi else None
    inside = (x >= lo) if lo is not None else None
    if hi is not None:
        inside = (x <= hi) if inside is None else inside & (x <= hi)
    grads = [T.where(inside, g, 0.0)]
    if lo is not None:
        grads.append(T.where(x < lo, g, 0.0))
    if hi is not None:
        grads.append(T.where(x > hi, g, 0.0))
    return tuple(grads)


def index_grads(g: Any, out: Any, x: Any, *idx: Any, spec: tuple) -> tuple:
    base = zeros_for(x)
    return (T.record("index_put", (base, g) + idx, (spec, True)),) + (None,) * len(idx)


def index_put_grads(g: Any, out: Any, x: Any, v: Any, *idx: Any, spec: tuple, accumulate: bool) -> tuple:
    gx = g if accumulate else T.record("index_put", (g, 0.0) + idx, (spec, False))
    gv = T.record("index", (g,) + idx, (spec,))
    return (gx, gv) + (None,) * len(idx)


def maximum_grads(g: Any, x: Any, y: Any, sign: int) -> tuple:
    win_x = (x > y) if sign > 0 else (x < y)
    tie = mask(x == y, g) * 0.5
    return g * (mask(win_x, g) + tie), g * (mask(~win_x & (x != y), g) + tie)


def take_along_grad(g: Any, x: Any, idx: Any, dim: int, keepdim: bool) -> Any:
    # max(dim)/min(dim): the whole gradient goes to the selected index, as in PyTorch
    return zeros_for(x).scatter_add(dim, idx, g if keepdim else g.unsqueeze(dim))


def layer_norm_grads(g: Any, out: Any, x: Any, *params: Any, k: int, eps: float, has_weight: bool,
                     has_bias: bool, upcast: Any) -> tuple:
    # PyTorch's native_layer_norm_backward, written with tensor ops (so it differentiates again)
    dims = tuple(range(x.dim() - k, x.dim()))
    xf, gf = (x.float(), g.float()) if upcast is not None else (x, g)
    xc = xf - xf.mean(dims, keepdim=True)
    rstd = ((xc * xc).mean(dims, keepdim=True) + eps).rsqrt()
    xhat = xc * rstd
    gxhat = gf * params[0] if has_weight else gf
    gx = rstd * (gxhat - gxhat.mean(dims, keepdim=True) - xhat * (gxhat * xhat).mean(dims, keepdim=True))
    # (the weight's and bias's gradients are summed over the leading dims centrally)
    return (gx,) + ((gf * xhat,) if has_weight else ()) + ((gf,) if has_bias else ())


def _loss_scale(g: Any, x: Any, reduction: str) -> Any:
    """The incoming gradient of a loss for each element (PyTorch divides by numel for "mean")."""
    return g / x.numel() if reduction == "mean" else g


# PyTorch's `constexpr float EPSILON = 1e-12` (a float even for double tensors)
_BCE_EPS = 9.999999960041972e-13


def bce_grads(g: Any, out: Any, x: Any, t: Any, *w: Any, reduction: str) -> tuple:
    # PyTorch's: grad * (x - t) / max((1 - x) * x, 1e-12) * weight; the target's: -grad * logit(x) * weight
    s = _loss_scale(g, x, reduction)
    if w:
        s = s * w[0]
    gx = s * (x - t) / ((1 - x) * x).clamp(min=_BCE_EPS)
    gt = -s * (x / (1 - x)).log() if t.requires_grad else None
    return (gx, gt) + (None,) * len(w)


def bce_logits_grads(g: Any, out: Any, x: Any, t: Any, *wp: Any, reduction: str, has_weight: bool,
                     has_pos_weight: bool) -> tuple:
    # PyTorch's binary_cross_entropy_with_logits_backward and _target_backward
    it = iter(wp)
    w = next(it) if has_weight else None
    pw = next(it) if has_pos_weight else None
    s = _loss_scale(g, x, reduction)
    if w is not None:
        s = s * w
    if pw is None:
        gx = s * (x.sigmoid() - t)
        gt = -s * x if t.requires_grad else None
    else:
        tpw = pw * t
        gx = s * ((tpw + 1 - t) * x.sigmoid() - tpw)
        gt = s * (T.record("log_sigmoid", (-x,)) - T.record("log_sigmoid", (x,)) * pw) \
            if t.requires_grad else None
    return (gx, gt) + (None,) * len(wp)


def embedding_grads(g: Any, out: Any, w: Any, idx: Any, padding_idx: Any) -> tuple:
    # rows of the weight gather the gradients of their lookups; the padding row gets none
    if padding_idx is not None:
        g = T.where((idx != padding_idx).unsqueeze(-1), g, 0.0)
    return T.record("index_put", (zeros_for(w), g, idx), (("T",), True)), None


def silu_grad(g: Any, out: Any, x: Any) -> tuple:
    s = x.sigmoid()
    return (g * s * (1 + x * (1 - s)),)


def _negative_slope_inplace(what: str, slope: float) -> None:
    if slope < 0:
        name = "leakyReLu" if what == "leaky_relu" else "elu"
        raise RuntimeError(
            f"In-place {name} backward calculation is triggered with a negative slope which is not supported. "
            "This is caused by calling in-place forward function with a negative slope, please call out-of-place "
            "version instead." + (" File an issue at https://github.com/pytorch/pytorch if you do require "
                                  "supporting in-place leakRelu backward calculation with negative slope"
                                  if what == "leaky_relu" else ""))


def leaky_relu_inplace_grad(g: Any, out: Any, x: Any, negative_slope: float) -> tuple:
    _negative_slope_inplace("leaky_relu", negative_slope)
    return (T.where(out > 0, g, g * negative_slope),)


def elu_inplace_grad(g: Any, out: Any, x: Any, alpha: float) -> tuple:
    # PyTorch's elu_ saves its result: out + alpha is alpha * exp(x) where x <= 0
    _negative_slope_inplace("elu", alpha)
    return (T.where(out > 0, g, g * (out + alpha)),)


def invert_perm(perm: tuple) -> tuple:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return tuple(inv)


# -- the table ---------------------------------------------------------------

defvjp("neg",         lambda g, out, x: (-g,))
defvjp("exp",         lambda g, out, x: (g * out,))
defvjp("log",         lambda g, out, x: (g / x,))
defvjp("log1p",       lambda g, out, x: (g / (1 + x),))
defvjp("expm1",       lambda g, out, x: (g * (out + 1),))
defvjp("sqrt",        lambda g, out, x: (g / (2 * out),))
defvjp("rsqrt",       lambda g, out, x: (-0.5 * g * out / x,))
defvjp("abs",         lambda g, out, x: (g * x.sign(),))
defvjp("sign",        lambda g, out, x: (g * 0,))
defvjp("sin",         lambda g, out, x: (g * x.cos(),))
defvjp("cos",         lambda g, out, x: (-g * x.sin(),))
defvjp("tan",         lambda g, out, x: (g * (1 + out * out),))
defvjp("tanh",        lambda g, out, x: (g * (1 - out * out),))
defvjp("sigmoid",     lambda g, out, x: (g * out * (1 - out),))
defvjp("relu",        lambda g, out, x: (T.where(out <= 0, 0.0, g),))  # PyTorch's: 1 at NaN
defvjp("erf",         lambda g, out, x: (g * _2_OVER_SQRT_PI * (-x * x).exp(),))
defvjp("floor",       lambda g, out, x: (g * 0,))
defvjp("ceil",        lambda g, out, x: (g * 0,))
defvjp("round",       lambda g, out, x: (g * 0,))
defvjp("trunc",       lambda g, out, x: (g * 0,))
defvjp("reciprocal",  lambda g, out, x: (-g * out * out,))
defvjp("softplus",    lambda g, out, x, beta, threshold: (T.where(x * beta > threshold, g, g * (x * beta).sigmoid()),))
defvjp("hardtanh",    lambda g, out, x, min_val, max_val: (T.where((x > min_val) & (x < max_val), g, 0.0),))
defvjp("gelu",        lambda g, out, x, approximate: (gelu_grad(g, x, approximate),))
defvjp("leaky_relu",  lambda g, out, x, negative_slope: (T.where(x > 0, g, g * negative_slope),))
# (exp of min(x, 0): the branch not taken never overflows, so its second derivative is no 0 * inf)
defvjp("elu",         lambda g, out, x, alpha: (T.where(x > 0, g, g * alpha * x.clamp(max=0).exp()),))
defvjp("silu",        silu_grad)
defvjp("log_sigmoid", lambda g, out, x: (g * (-x).sigmoid(),))
defvjp("layer_norm",  layer_norm_grads)
defvjp("binary_cross_entropy", bce_grads)
defvjp("binary_cross_entropy_with_logits", bce_logits_grads)
defvjp("embedding",   embedding_grads)

defvjp("add",         lambda g, out, x, y: (g, g))
defvjp("sub",         lambda g, out, x, y: (g, -g))
defvjp("mul",         lambda g, out, x, y: (g * y, g * x))
defvjp("div",         lambda g, out, x, y: (g / y, -g * x / (y * y)))
defvjp("pow",         lambda g, out, x, y: (pow_base_grad(g, x, y), pow_exponent_grad(g, out, x, y)))
defvjp("floordiv",    lambda g, out, x, y: (g * 0, g * 0))
defvjp("remainder",   lambda g, out, x, y: (g, -g * (x / y).floor()))
defvjp("maximum",     lambda g, out, x, y: maximum_grads(g, x, y, +1))
defvjp("minimum",     lambda g, out, x, y: maximum_grads(g, x, y, -1))
defvjp("atan2",       lambda g, out, x, y: (g * y / (x * x + y * y), -g * x / (x * x + y * y)))
defvjp("where",       lambda g, out, c, x, y: (None, T.where(c, g, 0.0), T.where(c, 0.0, g)))
defvjp("clamp",       clamp_grads)
defvjp("lerp",        lambda g, out, x, end, w: (g * (1 - w), g * w, g * (end - x) if w.requires_grad else None))
defvjp("addcmul",     lambda g, out, x, a, b, v: (g, g * v * b, g * v * a, None))
defvjp("addcdiv",     lambda g, out, x, a, b, v: (g, g * v / b, -g * v * a / (b * b), None))

defvjp("sum",         lambda g, out, x, dims, keepdim: (unreduce(g, x.shape, dims, keepdim),))
defvjp("mean",        lambda g, out, x, dims, keepdim: (unreduce(g, x.shape, dims, keepdim) / count(x.shape, dims),))
defvjp("prod",        lambda g, out, x, dims, keepdim: (prod_grad(g, out, x, dims, keepdim),))
defvjp("cumsum",      lambda g, out, x, dim: (cumsum_grad(g, dim),))
defvjp("cumprod",     lambda g, out, x, dim: (cumprod_grad(g, out, x, dim),))
defvjp("amax",        lambda g, out, x, dims, keepdim: (extreme_grad(g, out, x, dims, keepdim),))
defvjp("amin",        lambda g, out, x, dims, keepdim: (extreme_grad(g, out, x, dims, keepdim),))
defvjp("norm",        lambda g, out, x, dims, keepdim: (norm_grad(g, out, x, dims, keepdim),))
defvjp("logsumexp",   lambda g, out, x, dims, keepdim: (unreduce(g, x.shape, dims, keepdim)
                                                        * (x - unreduce(out, x.shape, dims, keepdim)).exp(),))
defvjp("take_along",  lambda g, out, x, idx, dim, keepdim: (take_along_grad(g, x, idx, dim, keepdim), None))
defvjp("softmax",     lambda g, out, x, dim: (out * (g - (g * out).sum(dim, keepdim=True)),))
defvjp("log_softmax", lambda g, out, x, dim: (g - out.exp() * g.sum(dim, keepdim=True),))
defvjp("matmul",      matmul_grads)
defvjp("linear",      linear_grads)

defvjp("reshape",     lambda g, out, x, shape: (g.reshape(x.shape),))
defvjp("expand",      lambda g, out, x, shape: (g,))  # summed back to x's shape centrally
defvjp("permute",     lambda g, out, x, perm: (g.permute(invert_perm(perm)),))
defvjp("cat",         cat_grads)
defvjp("stack",       stack_grads)
defvjp("index",       index_grads)
defvjp("index_put",   index_put_grads)
defvjp("nll_loss",    lambda g, out, logp, target, *w, ignore_index, reduction:
       (T.record("nll_loss_backward", (g, target, *w), (ignore_index, reduction, logp.shape[1])), None, None))
defvjp("nll_loss_backward", lambda g, out, gl, target, *w, ignore_index, reduction, classes:
       (T.record("nll_loss", (g, target, *w), (ignore_index, reduction)), None, None))
defvjp("gather",      lambda g, out, x, idx, dim: (zeros_for(x).scatter_add(dim, idx, g), None))
defvjp("scatter_add", lambda g, out, b, idx, src, dim: (g, None, g.gather(dim, idx)))
defvjp("cast",        lambda g, out, x, dtype: (g.to(x.dtype),))
defvjp("identity",    lambda g, out, x: (g,))
defvjp("to_device",   lambda g, out, x, device: (g.to(device),))
defvjp("nograd_update", lambda g, out, old, new: (g, None))
defvjp("nograd_view", lambda g, out, x: (None,))  # (nothing flows back through it, as in PyTorch)

for _alias, (_base, _grad_name) in ALIASES.items():
    OPS[_alias].vjp = OPS[_base].vjp

# in-place forms whose PyTorch derivative reads the result (and refuses a negative slope)
defvjp("leaky_relu_", leaky_relu_inplace_grad)
defvjp("elu_", elu_inplace_grad)
