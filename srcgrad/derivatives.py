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
from .grad_mode import is_grad_enabled
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


# how many times a rule has read the value of a user's number (a program input, not part of the
# graph's shape): the gradient graph made then holds that value, so autodiff keeps no template of it
numbers_read = [0]


def read_number(n: Any) -> Any:
    numbers_read[0] += 1
    return n.value


def pow_base_grad(g: Any, x: Any, y: Any) -> Any:
    n = y._node
    create_graph = is_grad_enabled()  # (grad mode is on in the transformer only for create_graph)
    if n.op == "const" or (n.op == "scalar" and create_graph):
        # a number exponent. With create_graph, PyTorch's formula as it is, its exponent decided
        # here as PyTorch decides it on the host: x ** 0 stays in the graph and each higher
        # derivative requires grad as long as PyTorch's does (x ** 3: three orders, then zeros)
        p = n.attrs[0] if n.op == "const" else read_number(n)
        if p == 0:
            return zeros_for(x)
        if create_graph:
            return g * (p * x ** (p - 1))
        return g if p == 1 else g * 2 * x if p == 2 else g * p * x ** (p - 1)  # (the familiar formula)
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


def sinc_grad(g: Any, x: Any) -> Any:
    # PyTorch's (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 at x == 0 (x made safe there, so
    # the branch not taken has no 0/0 for a second derivative to pick up)
    safe = T.where(x == 0, 1.0, x)
    px = math.pi * safe
    return T.where(x == 0, 0.0, g * (px * px.cos() - px.sin()) / (px * safe))


def fmax_grads(g: Any, x: Any, y: Any, sign: int) -> tuple:
    # PyTorch's: the whole gradient to x where it wins or ties (or y is NaN), else to y
    to_x = ((x >= y) if sign > 0 else (x <= y)) | y.isnan()
    return T.where(to_x, g, 0.0), T.where(to_x, 0.0, g)


def vector_norm_grad(g: Any, out: Any, x: Any, ord: float, dims: tuple, keepdim: bool) -> Any | None:
    """PyTorch's ``norm_backward`` for any order (subgradient 0 where the norm is 0)."""
    g = unreduce(g, x.shape, dims, keepdim)
    norm = unreduce(out, x.shape, dims, keepdim)
    if ord == 0:
        return None  # (PyTorch's: no gradient at all)
    if ord == 1:
        return g * x.sign()
    if ord in (math.inf, -math.inf):
        hit = mask(x.abs() == norm, x)  # ties share the gradient evenly
        return g * x.sign() * hit / unreduce(hit.sum(dims, keepdim=True), x.shape, dims, True)
    if ord == 2:
        return x * T.where(norm == 0, 0.0, g / T.where(norm == 0, 1.0, norm))
    if ord < 1:
        scaled = x.sign() * T.where(x == 0, 0.0, x.abs() ** (ord - 1))
        return scaled * g * norm ** (1 - ord)
    scaled = x.sign() * x.abs() ** (ord - 1) if ord < 2 else x * x.abs() ** (ord - 2)
    return scaled * T.where(norm == 0, 0.0, g / T.where(norm == 0, 1.0, norm) ** (ord - 1))


def dist_grads(g: Any, out: Any, x: Any, y: Any, p: float) -> tuple:
    d = x - y
    gd = vector_norm_grad(g, out, d, p, tuple(range(d.dim())), False)
    return gd, -gd


def cdist_grads(g: Any, out: Any, x1: Any, x2: Any) -> tuple:
    # d out[p, r] / d x1[p] = (x1[p] - x2[r]) / out[p, r]; 0 where the distance is 0 (PyTorch's)
    scale = T.where(out == 0, 0.0, g / T.where(out == 0, 1.0, out)).unsqueeze(-1)
    gd = scale * (x1.unsqueeze(-2) - x2.unsqueeze(-3))
    return gd.sum(-2), -gd.sum(-3)


def einsum_grads(g: Any, out: Any, *xs: Any, eq: str) -> tuple:
    """Each operand's gradient is itself an einsum: of ``g`` with the other operands, onto the
    operand's subscripts; subscripts found nowhere else are broadcast back."""
    ins, res = eq.split("->")
    subs = ins.split(",")
    grads = []
    for k, (x, sub) in enumerate(zip(xs, subs)):
        if not x.requires_grad:
            grads.append(None)
            continue
        if len(set(sub)) != len(sub):
            raise NotImplementedError(f"srcgrad: the gradient of einsum {eq!r} (a repeated subscript within one "
                                      "operand) is not implemented")
        others = [(s, o) for j, (s, o) in enumerate(zip(subs, xs)) if j != k]
        seen = set(res).union(*[set(s) for s, _ in others])
        kept = "".join(c for c in sub if c in seen)
        gk = T.einsum(f"{','.join([res] + [s for s, _ in others])}->{kept}", g, *[o for _, o in others])
        if kept != sub:  # subscripts summed over in this operand alone: broadcast back
            shape = tuple(x.shape[i] if c in seen else 1 for i, c in enumerate(sub))
            gk = gk.reshape(shape).expand(x.shape)
        grads.append(gk)
    return tuple(grads)


def median_grad(g: Any, out: Any, x: Any, k: int) -> tuple:
    # median() of all elements: the gradient is shared evenly among ties, as PyTorch's; a NaN median
    # (some element is NaN) shares it among the NaNs
    shared = extreme_grad(g, out, x, tuple(range(x.dim())), False)
    if not x.dtype.is_floating_point:
        return (shared,)
    nan = x.isnan().to(g.dtype)
    return (T.where(out.isnan(), g * nan / nan.sum(), shared),)


def trace_grad(g: Any, x: Any) -> Any:
    r, c = x.shape
    return g * T.eye(r, c, dtype=g.dtype, device=x.device)


def logit_grad(g: Any, x: Any, eps: Any) -> Any:
    grad = g / (x * (1 - x))
    if eps is None:
        # NaN outside [0, 1], as PyTorch (made as 0 * x / 0 of a detached x: codegen prints constants
        # with repr, and nothing may flow back through it to a second derivative)
        return T.where((x < 0) | (x > 1), x.detach() * 0 / 0, grad)
    return T.where((x < eps) | (x > 1 - eps), 0.0, grad)


def pointwise_loss_grads(g: Any, out: Any, x: Any, t: Any, delta: float, reduction: str, huber: bool) -> tuple:
    d = x - t
    s = g / math.prod(d.shape) if reduction == "mean" else g
    if huber:
        gd = s * T.where(d < -delta, -delta, T.where(d > delta, delta, d))
    elif delta == 0:
        gd = s * d.sign()  # (PyTorch's l1_loss backward at beta == 0)
    else:
        gd = s * T.where(d < -delta, -1.0, T.where(d > delta, 1.0, d / delta))
    return gd, -gd


def atan2_grads(g: Any, x: Any, y: Any) -> tuple:
    # PyTorch's atan2_backward: 0 (not 0/0) where x == y == 0
    r2 = x * x + y * y
    scale = T.where(r2 == 0, 0.0, g / T.where(r2 == 0, 1.0, r2))
    return scale * y, -scale * x


def addmm_grads(g: Any, out: Any, x: Any, m1: Any, m2: Any, beta: Any, alpha: Any, precision: str) -> tuple:
    # out = beta * x + alpha * (m1 @ m2); x's gradient is summed back to its shape centrally
    gx = (g if beta == 1 else g * beta) if x.requires_grad else None
    ga = g if alpha == 1 else g * alpha
    return (gx, ga @ m2.mT if m1.requires_grad else None, m1.mT @ ga if m2.requires_grad else None)


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
defvjp("log2",        lambda g, out, x: (g / (x * math.log(2)),))
defvjp("log10",       lambda g, out, x: (g / (x * math.log(10)),))
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
defvjp("asin",        lambda g, out, x: (g * (1 - x * x).rsqrt(),))
defvjp("acos",        lambda g, out, x: (-g * (1 - x * x).rsqrt(),))
defvjp("atan",        lambda g, out, x: (g / (1 + x * x),))
defvjp("sinh",        lambda g, out, x: (g * x.cosh(),))
defvjp("cosh",        lambda g, out, x: (g * x.sinh(),))
defvjp("asinh",       lambda g, out, x: (g * (x * x + 1).rsqrt(),))
defvjp("acosh",       lambda g, out, x: (g * (x * x - 1).rsqrt(),))
defvjp("atanh",       lambda g, out, x: (g / (1 - x * x),))
defvjp("frac",        lambda g, out, x: (g,))
defvjp("sinc",        lambda g, out, x: (sinc_grad(g, x),))
defvjp("logit",       lambda g, out, x, eps: (logit_grad(g, x, eps),))
defvjp("nan_to_num",  lambda g, out, x, nan, posinf, neginf: (T.where(x.isfinite(), g, 0.0),))
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
defvjp("atan2",       lambda g, out, x, y: atan2_grads(g, x, y))
defvjp("fmod",        lambda g, out, x, y: (g, -g * (x / y).trunc() if y.requires_grad else None))
defvjp("fmax",        lambda g, out, x, y: fmax_grads(g, x, y, +1))
defvjp("fmin",        lambda g, out, x, y: fmax_grads(g, x, y, -1))
defvjp("xlogy",       lambda g, out, x, y: (T.where((x == 0) & (y <= 0), 0.0, g.xlogy(y)),  # (PyTorch 2.13's mask)
                                            g * x / y if y.requires_grad else None))
defvjp("logaddexp",   lambda g, out, x, y: (g / (1 + (y - x).exp()), g / (1 + (x - y).exp())))
defvjp("dist",        dist_grads)
defvjp("cdist",       cdist_grads)
defvjp("einsum",      einsum_grads)
defvjp("smooth_l1_loss", lambda g, out, x, t, delta, reduction: pointwise_loss_grads(g, out, x, t, delta, reduction,
                                                                                     False))
defvjp("huber_loss",  lambda g, out, x, t, delta, reduction: pointwise_loss_grads(g, out, x, t, delta, reduction, True))
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
defvjp("vector_norm", lambda g, out, x, ord, dims, keepdim: (vector_norm_grad(g, out, x, ord, dims, keepdim),))
defvjp("nansum",      lambda g, out, x, dims, keepdim: (T.where(x.isnan(), 0.0, unreduce(g, x.shape, dims, keepdim)),))
defvjp("median",      median_grad)
defvjp("trace",       lambda g, out, x: (trace_grad(g, x),))
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
defvjp("dyn_select",  lambda g, out, x, start: (T.record("dyn_pad", (g, start), (x.shape[0], True)), None))
defvjp("dyn_slice",   lambda g, out, x, start, size: (T.record("dyn_pad", (g, start), (x.shape[0], False)), None))
defvjp("dyn_pad",     lambda g, out, gx, start, rows, select: (
    T.record("dyn_select", (g, start)) if select else T.record("dyn_slice", (g, start), (gx.shape[0],)), None))
defvjp("index_put",   index_put_grads)
defvjp("nll_loss",    lambda g, out, logp, target, *w, ignore_index, reduction:
       (T.record("nll_loss_backward", (g, target, *w), (ignore_index, reduction, logp.shape[1])), None, None))
defvjp("nll_loss_backward", lambda g, out, gl, target, *w, ignore_index, reduction, classes:
       (T.record("nll_loss", (g, target, *w), (ignore_index, reduction)), None, None))
defvjp("gather",      lambda g, out, x, idx, dim: (zeros_for(x).scatter_add(dim, idx, g), None))
defvjp("scatter_add", lambda g, out, b, idx, src, dim: (g, None, _src_grad(g, idx, src, dim)))
defvjp("cast",        lambda g, out, x, dtype: (g.to(x.dtype),))
defvjp("identity",    lambda g, out, x: (g,))
defvjp("to_device",   lambda g, out, x, device: (g.to(device),))
defvjp("nograd_update", lambda g, out, old, new: (g, None))
defvjp("nograd_view", lambda g, out, x: (None,))  # (nothing flows back through it, as in PyTorch)

# flips, rolls, diagonals, addmm, special functions
defvjp("flip",        lambda g, out, x, dims: (g.flip(dims),))
defvjp("roll",        lambda g, out, x, shifts, dims: (T.record("roll", (g,), (tuple(-s for s in shifts), dims)),))
defvjp("diagonal",    lambda g, out, x, offset, dim1, dim2: (T.record("diag_embed", (g,), (
    offset, dim1, dim2, x.shape[dim1], x.shape[dim2])),))
defvjp("diag_embed",  lambda g, out, x, offset, dim1, dim2, size1, size2: (
    T.record("diagonal", (g,), (offset, dim1, dim2)),))
defvjp("addmm",       addmm_grads)
defvjp("deg2rad",     lambda g, out, x: (g * (math.pi / 180),))
defvjp("rad2deg",     lambda g, out, x: (g * (180 / math.pi),))
defvjp("lgamma",      lambda g, out, x: (g * x.digamma(),))
defvjp("digamma",     lambda g, out, x: (g * x.polygamma(1),))
defvjp("polygamma",   lambda g, out, x, n: (g * x.polygamma(n + 1),))
defvjp("erfinv",      lambda g, out, x: (g * (0.5 * math.sqrt(math.pi)) * (out * out).exp(),))
defvjp("nextafter",   lambda g, out, x, y: (g, zeros_for(y)))  # (PyTorch 2.13's: the identity in self)
defvjp("hypot",       lambda g, out, x, y: (g * x / out, g * y / out))  # (PyTorch's: NaN at the origin)
# PyTorch's copysign_tensor_self_backward: result / self, 0 where self == 0; nothing for the sign's source
defvjp("copysign",    lambda g, out, x, y: (g * T.where(x == 0, 0.0, out / T.where(x == 0, 1.0, x)),
                                            g * 0 if y.requires_grad else None))

# torch.special: PyTorch's derivatives.yaml closed forms
_EPS = {"float64": 2.220446049250313e-16, "float32": 1.1920928955078125e-07, "float16": 0.0009765625,
        "bfloat16": 0.0078125}


def _special(name: str, *xs: Any) -> Any:
    return T.record(name, xs)


def i1_grads(g: Any, out: Any, x: Any, scaled: bool) -> tuple:
    # PyTorch's i1_backward / i1e_backward: 1/2 at (and around) 0, where the formula is 0/0
    eps = _EPS.get(x.dtype.name, _EPS["float32"])
    tiny = x.abs() <= eps
    safe = T.where(tiny, eps, x)
    if scaled:
        d = _special("special_i0e", safe) - out * (safe.sgn() + safe.reciprocal())
    else:
        d = _special("i0", safe) - out * safe.reciprocal()
    return (g * T.where(tiny, 0.5, d),)


def gradient_needed(t: Any) -> bool:
    """See ``autodiff.gradient_needed`` (imported when called: autodiff imports this module)."""
    from .autodiff import gradient_needed as needed
    return needed(t)


def _not_implemented(what: str) -> None:
    raise NotImplementedError(f"the derivative for '{what}' is not implemented.")


def xlog1py_grads(g: Any, out: Any, x: Any, y: Any) -> tuple:
    # PyTorch 2.13's: xlog1py(g, y) for x, 0 where x == 0 and y <= -1 (as xlogy's); x / (y + 1) for y
    gx = T.where((x == 0) & (y <= -1), 0.0, _special("special_xlog1py", g, y)) if x.requires_grad else None
    return gx, g * x / (y + 1) if y.requires_grad else None


def zeta_grads(g: Any, out: Any, x: Any, q: Any) -> tuple:
    if gradient_needed(x):
        _not_implemented("zeta")
    return None, -g * x * _special("special_zeta", x + 1.0, q) if q.requires_grad else None


def igamma_grads(g: Any, out: Any, a: Any, x: Any, upper: bool) -> tuple:
    if gradient_needed(a):
        _not_implemented("igammac: input" if upper else "igamma: input")
    if not x.requires_grad:
        return None, None
    d = ((a - 1) * x.log() - x - a.lgamma()).exp()  # x^(a-1) e^-x / Gamma(a)
    return None, -g * d if upper else g * d


def mvlgamma_grad(g: Any, x: Any, p: int) -> Any:
    total = None
    for j in range(p):  # (PyTorch's: digamma(x + arange(-(p - 1) / 2, 0.5, 0.5)).sum(-1))
        term = (x - 0.5 * (p - 1 - j)).digamma()
        total = term if total is None else total + term
    return g * total


defvjp("erfc",             lambda g, out, x: (-_2_OVER_SQRT_PI * g * (-x * x).exp(),))
defvjp("i0",               lambda g, out, x: (g * _special("special_i1", x),))
defvjp("special_i0e",      lambda g, out, x: (g * (_special("special_i1e", x) - x.sgn() * out),))
defvjp("special_i1",       lambda g, out, x: i1_grads(g, out, x, False))
defvjp("special_i1e",      lambda g, out, x: i1_grads(g, out, x, True))
defvjp("special_ndtri",    lambda g, out, x: (g * math.sqrt(2 * math.pi) * (out * out * 0.5).exp(),))
# exp(-x^2 / 2) / (sqrt(2 pi) ndtr(x)) as exp(-(log_ndtr(x) + x^2 / 2)) / sqrt(2 pi): no 0/0 in either tail
defvjp("special_log_ndtr", lambda g, out, x: (g * _1_OVER_SQRT_2PI * (-(out + x * x * 0.5)).exp(),))
defvjp("special_erfcx",    lambda g, out, x: (g * (2 * x * out - _2_OVER_SQRT_PI),))
defvjp("special_entr",     lambda g, out, x: (-g * (1 + x.log()),))
defvjp("special_xlog1py",  xlog1py_grads)
defvjp("special_zeta",     zeta_grads)
defvjp("igamma",           lambda g, out, a, x: igamma_grads(g, out, a, x, False))
defvjp("igammac",          lambda g, out, a, x: igamma_grads(g, out, a, x, True))
defvjp("mvlgamma",         lambda g, out, x, p: (mvlgamma_grad(g, x, p),))
defvjp("round_decimals",   lambda g, out, x, decimals: (g * 0,))

# -- scatters and linear algebra ------------------------------------------------
# (PyTorch's formulas from derivatives.yaml and FunctionsManual.cpp, written with tensor ops so
# each is differentiable again; the multi-output factorisations are one node per output, each
# with its share of the gradient: the formulas are linear in the outputs' gradients.)


def _src_grad(g: Any, idx: Any, src: Any, dim: int) -> Any:
    """src's gradient from a scatter: g read at ``idx``; where ``src`` is larger than ``idx``
    (only its leading part is read), zeros for the rest (PyTorch raises there instead)."""
    gs = g.gather(dim, idx)
    if tuple(gs.shape) == tuple(src.shape):
        return gs
    spec = tuple(("slice", 0, n, None) for n in idx.shape)
    return T.record("index_put", (zeros_for(src), gs), (spec, False))


def _scatter_like(x: Any, idx: Any, src: Any, dim: int, reduce: str, include_self: bool) -> Any:
    return T.record("scatter_reduce", (x, idx, src), (dim, reduce, include_self))


def scatter_grads(g: Any, out: Any, x: Any, idx: Any, src: Any, dim: int, reduce: Any) -> tuple:
    # PyTorch's: self gets g with the written positions zeroed, src reads g there
    gx = T.record("scatter", (g, idx, 0.0), (dim, None))
    gs = _src_grad(g, idx, src, dim) if src.requires_grad and src.dim() else None
    return gx, None, gs


def scatter_reduce_grads(g: Any, out: Any, x: Any, idx: Any, src: Any, dim: int, reduce: str,
                         include_self: bool) -> tuple:
    """PyTorch's scatter_reduce_backward."""
    if reduce == "sum":
        gx, gs = g, g.gather(dim, idx)
    elif reduce == "prod":
        # exact where self or src hold zeros: products with the zero element taken out
        masked_self = T.where(x == 0, 1.0, x)
        gx = g * _scatter_like(masked_self, idx, src, dim, reduce, include_self) / masked_self
        src_zero = src == 0
        zeros_at = zeros_for(x).scatter_add(dim, idx, mask(src_zero, x)).gather(dim, idx)
        single = src_zero & (zeros_at == 1)
        masked_src_result = _scatter_like(x, idx, T.where(single, 1.0, src), dim, reduce, include_self)
        gs = T.where(single, (g * masked_src_result).gather(dim, idx),
                     (g * out).gather(dim, idx) / T.where(src_zero, 1.0, src))
    elif reduce == "mean":
        ones = T.ones(src.shape, dtype=g.dtype, device=g.device)
        base = T.ones(g.shape, dtype=g.dtype, device=g.device) if include_self else zeros_for(g)
        n = base.scatter_add(dim, idx, ones)
        n = T.where(n == 0, 1.0, n)
        gx, gs = g / n, g.gather(dim, idx) / n.gather(dim, idx)
    else:  # amax, amin: shared evenly among the elements equal to the result
        value = out.gather(dim, idx)
        self_hit = mask(x == out, x)
        src_hit = mask(src == value, x)
        share = g / self_hit.scatter_add(dim, idx, src_hit)
        gx, gs = self_hit * share, src_hit * share.gather(dim, idx)
    if not include_self:
        gx = T.record("scatter", (gx, idx, 0.0), (dim, None))
    if tuple(gs.shape) != tuple(src.shape):
        spec = tuple(("slice", 0, n, None) for n in idx.shape)
        gs = T.record("index_put", (zeros_for(src), gs), (spec, False))
    return gx, None, gs


def diagonal_scatter_grads(g: Any, out: Any, x: Any, src: Any, offset: int, dim1: int, dim2: int) -> tuple:
    gx = T.record("diagonal_scatter", (g, zeros_for(src)), (offset, dim1, dim2))
    return gx, T.record("diagonal", (g,), (offset, dim1, dim2))


def _inv(a: Any) -> Any:
    return T.record("linalg_inv", (a,))


def _solve_tri(a: Any, b: Any, upper: bool, left: bool, unit: bool = False) -> Any:
    return T.record("solve_triangular", (a, b), (upper, left, unit))


def _diag_embed(v: Any) -> Any:
    n = v.shape[-1]
    return T.record("diag_embed", (v,), (0, v.dim() - 1, v.dim(), n, n))


def _eye_like(n: int, like: Any) -> Any:
    return T.eye(n, dtype=D.bool_, device=like.device)


def _scalar_to_matrix(g: Any) -> Any:
    return g.unsqueeze(-1).unsqueeze(-1)


def solve_grads(g: Any, out: Any, a: Any, b: Any, vector: bool, left: bool) -> tuple:
    # X = A^-1 B: gB = A^-T g, gA = -gB X^T (both summed back over broadcast batch dims centrally);
    # X = B A^-1: gB = g A^-T, gA = -X^T gB
    gb = T.record("linalg_solve", (a.mT, g), (vector, left))
    if not a.requires_grad:
        return None, gb
    if not left:
        return -(out.mT @ gb), gb
    ga = -(gb.unsqueeze(-1) @ out.unsqueeze(-2)) if vector else -(gb @ out.mT)
    return ga, gb


def solve_triangular_grads(g: Any, out: Any, a: Any, b: Any, upper: bool, left: bool, unitriangular: bool) -> tuple:
    gb = _solve_tri(a.mT, g, not upper, left, unitriangular)
    if not a.requires_grad:
        return None, gb
    ga = -(gb @ out.mT) if left else -(out.mT @ gb)
    k = int(unitriangular)
    return (ga.triu(k) if upper else ga.tril(-k)), gb


def cholesky_grad(g: Any, out: Any, a: Any, upper: bool) -> Any:
    # Murray (2016), as PyTorch's cholesky_backward: gA = L^-T Phi(L^T gL) L^-1, symmetric
    low, gl = (out.mT, g.mT) if upper else (out, g)
    p = (low.mT @ gl).tril()
    p = 0.5 * (p + p.tril(-1).mT)
    p = _solve_tri(low.mT, p, True, True)
    return _solve_tri(low, p, False, False)


def _copyltu(m: Any) -> Any:
    return m.tril() + m.tril(-1).mT


def _qr_square_grad(gq: Any, gr: Any, q: Any, r: Any) -> Any:
    """gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q (for m >= n; either gradient may be None)."""
    m = None
    if gr is not None:
        m = r @ gr.mT
    if gq is not None:
        m = -(gq.mT @ q) if m is None else m - gq.mT @ q
    ga = q @ _copyltu(m)
    if gq is not None:
        ga = ga + gq
    return _solve_tri(r.mT, ga, False, False)  # X R^-T: X with Y R^T = X solved for Y


def qr_grad(g: Any, out: Any, a: Any, part: int, mode: str) -> Any:
    m, n = a.shape[-2:]
    if mode == "r":
        raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                           "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
    if mode == "complete" and m > n:
        raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
    # (complete equals reduced where m <= n)
    q = out if part == 0 else T.record("linalg_qr", (a,), (0, mode))
    r = out if part == 1 else T.record("linalg_qr", (a,), (1, mode))
    gq, gr = (g, None) if part == 0 else (None, g)
    if m >= n:
        return _qr_square_grad(gq, gr, q, r)
    # wide: A = [X | Y] with X square, R = [U | V]; X = QU and Y = QV (Walter and Lehmann's split)
    y = a[..., m:]
    if gr is None:
        return T.cat([_qr_square_grad(gq, None, q, r[..., :m]), zeros_for(y)], -1)
    gu, gv = gr[..., :m], gr[..., m:]
    return T.cat([_qr_square_grad(y @ gv.mT, gu, q, r[..., :m]), q @ gv], -1)


def eigh_grad(g: Any, out: Any, a: Any, upper: bool, part: int) -> Any:
    # A = V diag(L) V^T: gA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i
    if part == 0:
        v = T.record("eigh", (a,), (upper, 1))
        return v @ (g.unsqueeze(-1) * v.mT)
    v, lam = out, T.record("eigh", (a,), (upper, 0))
    vg = v.mT @ g
    vg = 0.5 * (vg - vg.mT)
    e = T.where(_eye_like(lam.shape[-1], lam), 1.0, lam.unsqueeze(-2) - lam.unsqueeze(-1))
    return v @ (vg / e) @ v.mT


def svd_grad(g: Any, out: Any, a: Any, part: int, full: bool) -> Any:
    """PyTorch's svd_backward (gauge-invariant), one output's share."""
    m, n = a.shape[-2:]
    if full and m != n and part != 1:
        raise RuntimeError("linalg_svd_backward: The derivative of linalg.svd depends on the full U or Vh, "
                           "which is not defined uniquely for non-square matrices: use full_matrices=False")
    u = out if part == 0 else T.record("svd", (a,), (0, False))
    vh = out if part == 2 else T.record("svd", (a,), (2, False))
    if part == 1:
        return u @ (g.unsqueeze(-1) * vh)
    s = T.record("svd", (a,), (1, False))
    s2 = s * s
    e = T.where(_eye_like(s.shape[-1], s), 1.0, s2.unsqueeze(-2) - s2.unsqueeze(-1))
    if part == 0:
        uhgu = u.mT @ g
        ga = (uhgu - uhgu.mT) * s.unsqueeze(-2) / e
        if m > n:  # U's columns span only part of the space: the rest of gU reaches A as well
            gus = g / s.unsqueeze(-2)
            return (u @ ga + gus - u @ (u.mT @ gus)) @ vh
        return u @ ga @ vh
    vhgv = vh @ g.mT
    ga = s.unsqueeze(-1) * (vhgv - vhgv.mT) / e
    if m < n:
        sg_ = g / s.unsqueeze(-1)
        return u @ (ga @ vh + sg_ - (sg_ @ vh.mT) @ vh)
    return u @ ga @ vh


def pinv_backward(g: Any, p: Any, a: Any) -> Any:
    """PyTorch's pinv_backward (``p`` the pseudo-inverse of ``a``)."""
    m, n = a.shape[-2:]
    ph, gh = p.mT, g.mT
    if m <= n:
        k = gh @ p
        kph = k @ ph
        return -(p @ k).mT + kph - (a @ p) @ kph + (ph @ p) @ (gh - k @ a)
    k = p @ gh
    phk = ph @ k
    return -(k @ p).mT + (gh - a @ k) @ p @ ph + phk - phk @ p @ a


def lstsq_grads(g: Any, out: Any, a: Any, b: Any, vector: bool) -> tuple:
    # PyTorch's linalg_lstsq_backward: through pinv(A) (X = pinv(A) B)
    p = T.record("pinv", (a, 0.0, T.default_rtol(a)), (False,))
    gx = g.unsqueeze(-1) if vector else g
    bm = b.unsqueeze(-1) if vector else b
    ga = pinv_backward(gx @ bm.mT, p, a) if a.requires_grad else None
    gb = p.mT @ gx if b.requires_grad else None
    if gb is not None and vector:
        gb = gb.squeeze(-1)
    return ga, gb


def _narrow(x: Any, dim: int, start: int, stop: int) -> Any:
    return x.narrow(dim, start, stop - start)


def lu_backward(gl: Any, gu: Any, p: Any, low: Any, up: Any) -> Any:
    """PyTorch's linalg_lu_backward (A = P L U, partial pivoting; either gradient may be None):
    square: gA = P L^-T (L^T gL o 1_L + gU U^T o 1_U) U^-T, with 1_L strictly lower, 1_U upper;
    wide (m < n), A = [A1 | A2], U = [U1 | U2]: gA1 = P L^-T (gU1 o 1_U + (L^T gL o 1_L - gU U^T o 1_U) U1^-T),
    gA2 = P L^-T gU2; tall (m > n), A = [A1; A2], L = [L1; L2]: gA1 = P (gL1 o 1_L + L1^-T (gU U^T o 1_U
    - L^T gL o 1_L)) U^-T, gA2 = P gL2 U^-T."""
    m, n = low.shape[-2], up.shape[-1]
    k = min(m, n)
    if m == n:
        ga = (low.mT @ gl).tril(-1) if gl is not None else None
        if gu is not None:
            gu_ut = (gu @ up.mT).triu()
            ga = gu_ut if ga is None else ga + gu_ut
        ga = _solve_tri(up.mT, ga, False, False)
        ga = _solve_tri(low.mT, ga, True, True, True)
    elif m < n:
        ga = low.mT @ gl if gl is not None else None
        if gu is not None:
            gu_ut = gu.triu() @ up.mT
            ga = -gu_ut if ga is None else ga - gu_ut
        ga = _solve_tri(_narrow(up, -1, 0, k).mT, ga.tril(-1), False, False)
        if gu is not None:
            ga = T.cat([ga + _narrow(gu, -1, 0, k).triu(), _narrow(gu, -1, k, n)], -1)
        ga = _solve_tri(low.mT, ga, True, True, True)
        if gu is None:
            ga = T.cat([ga, zeros_for(_narrow(up, -1, k, n))], -1)
    else:
        ga = gu @ up.mT if gu is not None else None
        if gl is not None:
            lt_gl = low.mT @ gl.tril(-1)
            ga = -lt_gl if ga is None else ga - lt_gl
        ga = _solve_tri(_narrow(low, -2, 0, k).mT, ga.triu(), True, True, True)
        if gl is not None:
            ga = T.cat([ga + _narrow(gl, -2, 0, k).tril(-1), _narrow(gl, -2, k, m)], -2)
        ga = _solve_tri(up.mT, ga, False, False)
        if gl is None:
            ga = T.cat([ga, zeros_for(_narrow(low, -2, k, m))], -2)
    return p @ ga


def _plu(a: Any) -> tuple:
    """P, L and U of ``a`` (recorded again: one node per factor)."""
    return tuple(T.record("linalg_lu", (a,), (part,)) for part in range(3))


def linalg_lu_grad(g: Any, out: Any, a: Any, part: int) -> Any:
    if part == 0:  # (P is piecewise constant: PyTorch gives it no gradient)
        return None
    p, low, up = _plu(a)
    return lu_backward(g if part == 1 else None, g if part == 2 else None, p, low, up)


def lu_factor_grad(g: Any, out: Any, a: Any, part: int) -> Any:
    """PyTorch's lu_factor_ex_backward: the packed gradient split into L's strict lower and U's upper part."""
    if part != 0:
        return None
    m, n = a.shape[-2:]
    k = min(m, n)
    p, low, up = _plu(a)
    return lu_backward(_narrow(g, -1, 0, k).tril(-1), _narrow(g, -2, 0, k).triu(), p, low, up)


def _pad_to(x: Any, shape: tuple) -> Any:
    """``x`` (m x k or k x n) with zero columns or rows appended up to the m x n ``shape``."""
    rows, cols = x.shape[-2:]
    if cols < shape[-1]:
        x = T.cat([x, T.zeros(x.shape[:-1] + (shape[-1] - cols,), dtype=x.dtype, device=x.device)], -1)
    if rows < shape[-2]:
        x = T.cat([x, T.zeros(x.shape[:-2] + (shape[-2] - rows, shape[-1]), dtype=x.dtype, device=x.device)], -2)
    return x


def lu_unpack_grads(g: Any, out: Any, lu: Any, pivots: Any, part: int) -> tuple:
    # L reads LU's strict lower part, U its upper part (PyTorch's lu_unpack_backward)
    if part == 0:
        return None, None
    return _pad_to(g.tril(-1) if part == 1 else g.triu(), tuple(lu.shape)), None


def lu_solve_grads(g: Any, out: Any, lu: Any, pivots: Any, b: Any, left: bool, adjoint: bool) -> tuple:
    """PyTorch's: B's gradient solves with the adjoint; LU's is linalg_lu_solve_LU (packed: L's strict
    lower part and U's upper part)."""
    gb = T.record("lu_solve", (lu, pivots, g), (left, not adjoint)) if b.requires_grad else None
    if not lu.requires_grad:
        return None, None, gb
    p = T.record("lu_unpack", (lu.detach(), pivots), (0,))
    low = T.record("lu_unpack", (lu, pivots), (1,))
    up = T.record("lu_unpack", (lu, pivots), (2,))
    x = out
    if left != adjoint:
        # gR = U^-H op(-gX) op(X)^H; gL = (L^-H gR U^H) o 1_L, gU = gR o 1_U
        gr = _solve_tri(up.mT, -(g if left else g.mT) @ (x.mT if left else x), False, True)
        gl = _solve_tri(low.mT, gr @ up.mT, True, True, True).tril(-1)
        return gl + gr.triu(), None, gb
    # gR = -P^T op(X) op(gX) P L^-H; gU = (L^H gR U^-H) o 1_U, gL = gR o 1_L
    gr = -(p.mT @ (x if left else x.mT) @ (g.mT if left else g) @ p)
    gr = _solve_tri(low.mT, gr, True, False, True)
    gu = _solve_tri(up.mT, low.mT @ gr, False, False).triu()
    return gr.tril(-1) + gu, None, gb


def matrix_exp_grad(g: Any, a: Any) -> Any:
    # PyTorch's: the upper right block of exp([[A^T, g], [0, A^T]])
    n = a.shape[-1]
    at = a.mT
    big = T.cat([T.cat([at, g], -1), T.cat([zeros_for(a), at], -1)], -2)
    return T.record("matrix_exp", (big,))[..., :n, n:]


defvjp("scatter",          scatter_grads)
defvjp("scatter_reduce",   scatter_reduce_grads)
defvjp("diagonal_scatter", diagonal_scatter_grads)
defvjp("linalg_inv",       lambda g, out, a: (-(out.mT @ g @ out.mT),))
defvjp("linalg_det",       lambda g, out, a: (_scalar_to_matrix(g * out) * _inv(a).mT,))
defvjp("slogdet_sign",     lambda g, out, a: (None,))  # (a real sign is piecewise constant: none, as PyTorch)
defvjp("slogdet_logabs",   lambda g, out, a: (_scalar_to_matrix(g) * _inv(a).mT,))
defvjp("linalg_solve",     solve_grads)
defvjp("solve_triangular", solve_triangular_grads)
defvjp("cholesky",         lambda g, out, a, upper: (cholesky_grad(g, out, a, upper),))
defvjp("linalg_qr",        lambda g, out, a, part, mode: (qr_grad(g, out, a, part, mode),))
defvjp("eigh",             lambda g, out, a, upper, part: (eigh_grad(g, out, a, upper, part),))
defvjp("svd",              lambda g, out, a, part, full: (svd_grad(g, out, a, part, full),))
defvjp("pinv",             lambda g, out, a, atol, rtol, hermitian: (pinv_backward(g, out, a), None, None))
defvjp("linalg_lu",        lambda g, out, a, part: (linalg_lu_grad(g, out, a, part),))
defvjp("lu_factor",        lambda g, out, a, part: (lu_factor_grad(g, out, a, part),))
defvjp("lu_unpack",        lu_unpack_grads)
defvjp("lu_solve",         lu_solve_grads)
defvjp("lstsq",            lstsq_grads)
defvjp("matrix_exp",       lambda g, out, a: (matrix_exp_grad(g, a),))

for _alias, (_base, _grad_name) in ALIASES.items():
    OPS[_alias].vjp = OPS[_base].vjp

# std is sqrt of the variance, except where the spread is zero: PyTorch's std_backward gives 0 there
# (sqrt's rule gives inf * 0 = nan), so (z - z.mean()) / (z.std() + eps) of a constant z stays finite
defvjp("std",              lambda g, out, x: (T.where(out == 0, 0.0, g / (2 * out)),))

# in-place forms whose PyTorch derivative reads the result (and refuses a negative slope)
defvjp("leaky_relu_", leaky_relu_inplace_grad)
defvjp("elu_", elu_inplace_grad)
