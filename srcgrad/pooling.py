"""Pooling, padding and batch normalisation: the layers a CNN needs besides the convolution.

Primitives, each declared below with its shape rule, its lowering and its derivative rule side by side
(the JAX functions the lowerings call are at the end of ``srcgrad/lowering_helpers.py``):

================================  =====================================================================
``max_pool(x)``                   the largest element of each window (``lax.reduce_window``)
``max_pool_backward(g, x)``       its gradient: each window's ``g`` sent to the window's first maximum
``max_pool_select(h, x)``         ``h`` read at each window's first maximum (the adjoint of the above)
``max_pool_indices(x)``           PyTorch's ``return_indices``: flat per-plane index of each maximum
``avg_pool(x)``                   each window's sum divided by PyTorch's divisor
``avg_pool_backward(g)``          its adjoint: ``g / divisor`` spread back over each window
``constant_pad(x)``               ``lax.pad`` with a constant (negative widths crop)
``batch_norm(y, *buffers)``       ``y``: batch norm's output, carrying the running-statistics updates
================================  =====================================================================

``max_pool_backward`` and ``max_pool_select`` are linear in their first input and adjoint to each
other, so each one's derivative rule records the other: gradients of gradients need nothing more
(the position of a maximum is piecewise constant in ``x``, which gets no gradient from them). The
same holds for ``avg_pool`` and ``avg_pool_backward``, and ``constant_pad`` is its own adjoint with
the widths negated.

Pooled dims are the trailing ``len(kernel)`` dims; every leading dim (batch, channels) is carried.
``padding`` is one ``(lo, hi)`` pair per pooled dim, ``hi`` already widened for ``ceil_mode``, so a
shape rule is one formula. 1-d pooling runs as 2-d pooling of a height-1 image, as PyTorch does
(its grad_fn is then ``SqueezeBackward1``, as PyTorch's).

3-d max and average pooling are the same primitives over three trailing dims, recorded under aliases
carrying PyTorch's 3-d grad_fn names, with PyTorch's 3-d argument checks.

Composites (ordinary tensor ops, so their derivatives come for free): reflect / replicate /
circular padding (slices, flips and a ``cat``), adaptive average pooling (``avg_pool`` when the bins
are equal, else a product with bin-averaging matrices), adaptive max pooling (each bin's maximum
found as PyTorch's CPU kernel scans, then a ``gather`` of the input there: the gradient is a
``scatter_add`` to that element, overlapping bins adding up) and batch normalisation (batch statistics,
``(x - mean) * rsqrt(var + eps) * weight + bias``). Their last node is recorded under an alias
carrying PyTorch's grad_fn name (as ``ops.ALIASES`` does), or, for batch normalisation, as the
``batch_norm`` primitive above; ``as_function`` then gives it PyTorch's ``next_functions``, the
function's arguments rather than the composite's intermediates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import tracing
from .autograd.graph import AccumulateGrad, Node_, grad_fn_of
from .conv import rev
from .derivatives import defvjp
from .dtypes import int64
from .grad_mode import no_grad
from .ops import OPS, TORCH_TYPE_NAMES, OpDef, defop, fmt_shape, lit
from .tensor import Tensor, cat, record, tensor, where

WINDOW = ("kernel", "stride", "padding", "dilation")
AVG = ("kernel", "stride", "padding", "count_pad", "divisor_override")


def _alias(name: str, base: str, grad_name: str) -> None:
    """Register ``name`` as the primitive ``base`` under PyTorch's grad_fn name ``grad_name``."""
    b = OPS[base]
    op = OpDef(b.name, b.attr_names, b.shape_rule, b.lower, grad_name, b.cast, b.saves)
    op.vjp = b.vjp
    OPS[name] = op


def _kwargs(a: dict, names: tuple) -> str:
    return ", ".join(f"{k}={lit(a[k])}" for k in names)


# ---------------------------------------------------------------------------
# composites seen by autograd as the one function PyTorch runs
#
# A composite's last node carries PyTorch's grad_fn name, but its inputs are the composite's own
# intermediates (the flipped slices a reflection pad concatenates; for batch norm ``(x - mean) *
# scale + bias`` and the running-statistics updates computed with it), so ``next_functions`` built
# from them would show those. ``as_function`` gives that node, when it requires grad, its grad_fn at
# once (the node's ``gradfn``, which ``grad_fn_of`` fills on first use otherwise): an object of the
# same name whose ``next_functions`` are the function's arguments in PyTorch's order (None for an
# argument left out), as PyTorch shows them. Only the view changes: the recorded graph, gradients
# and programs are the composite's, and nothing more is recorded or computed.


class _FunctionGradFn(Node_):
    """A grad_fn whose edges are the arguments of the function the composite stands for."""

    __slots__ = ("_args",)

    @property
    def next_functions(self) -> tuple:
        return tuple((None, 0) if a is None or not a.requires_grad else
                     (AccumulateGrad(a), 0) if a.leaf else (grad_fn_of(a), 0) for a in self._args)


_function_classes: dict[str, type] = {}


def as_function(out: Tensor, args: tuple) -> Tensor:
    """Show ``out`` (a composite's last node) to autograd as one function of ``args`` (tensors or None)."""
    n = out._node
    if n.requires_grad:
        name = OPS[n.op].grad_name
        cls = _function_classes.get(name)
        if cls is None:
            cls = _function_classes[name] = type(name, (_FunctionGradFn,),
                                                 {"__slots__": (), "__module__": Node_.__module__})
        gf = n.gradfn = cls(n)
        gf._args = tuple([None if a is None else a._node for a in args])
    return out


# ---------------------------------------------------------------------------
# max_pool, max_pool_backward, max_pool_select, max_pool_indices


def pooled_shape(shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    """``shape`` with its trailing ``len(kernel)`` dims replaced by the number of windows along each."""
    n = len(kernel)
    if len(shape) < n:
        raise RuntimeError(f"pooling over {n} dims needs an input with at least {n} dims, got {fmt_shape(shape)}")
    out = [(size + lo + hi - d * (k - 1) - 1) // s + 1
           for size, k, s, (lo, hi), d in zip(shape[len(shape) - n:], kernel, stride, padding, dilation)]
    if any(o < 0 for o in out):
        raise RuntimeError(f"pooling: window larger than the padded input {fmt_shape(shape)}")
    return tuple(shape[:len(shape) - n]) + tuple(out)


def max_pool_shape(x: Any, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    return pooled_shape(x.shape, kernel, stride, padding, dilation), x.dtype


def max_pool_backward_shape(g: Any, x: Any, **a: Any) -> tuple:
    if g.shape != pooled_shape(x.shape, **a):
        raise RuntimeError(f"max_pool_backward: gradient of shape {fmt_shape(g.shape)} does not fit the pooling of "
                           f"{fmt_shape(x.shape)}")
    return x.shape, g.dtype


def max_pool_select_shape(h: Any, x: Any, **a: Any) -> tuple:
    if h.shape != x.shape:
        raise RuntimeError(f"max_pool_select: {fmt_shape(h.shape)} is not the shape {fmt_shape(x.shape)} of the "
                           f"pooled input")
    return pooled_shape(x.shape, **a), h.dtype


def max_pool_indices_shape(x: Any, **a: Any) -> tuple:
    return pooled_shape(x.shape, **a), int64


defop("max_pool", max_pool_shape, lambda n, a: f"sg.max_pool({n[0]}, {_kwargs(a, WINDOW)})",
      "MaxPool2DWithIndicesBackward0", attrs=WINDOW, saves="x")
defop("max_pool_backward", max_pool_backward_shape,
      lambda n, a: f"sg.max_pool_backward({n[0]}, {n[1]}, {_kwargs(a, WINDOW)})",
      "MaxPool2DWithIndicesBackwardBackward0", attrs=WINDOW, saves="y")
defop("max_pool_select", max_pool_select_shape,
      lambda n, a: f"sg.max_pool_select({n[0]}, {n[1]}, {_kwargs(a, WINDOW)})",
      "MaxPoolSelectBackward0", attrs=WINDOW, saves="y")
defop("max_pool_indices", max_pool_indices_shape,
      lambda n, a: f"sg.max_pool_indices({n[0]}, {_kwargs(a, WINDOW)})", "NotImplemented", attrs=WINDOW, saves="")


def _window(kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> tuple:
    return (tuple(kernel), tuple(stride), tuple(tuple(p) for p in padding), tuple(dilation))


def max_pool_backward(g: Tensor, x: Tensor, kernel: tuple, stride: tuple, padding: tuple,
                      dilation: tuple) -> Tensor:
    """Record ``max_pool_backward``: ``g`` (pooled shape) sent to each window's first maximum of ``x``."""
    return record("max_pool_backward", (g, x), _window(kernel, stride, padding, dilation))


def max_pool_select(h: Tensor, x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> Tensor:
    """Record ``max_pool_select``: ``h`` (``x``'s shape) read at each window's first maximum of ``x``."""
    return record("max_pool_select", (h, x), _window(kernel, stride, padding, dilation))


defvjp("max_pool",          lambda g, out, x, **a: (max_pool_backward(g, x, **a),))
defvjp("max_pool_backward", lambda g, out, gy, x, **a: (max_pool_select(g, x, **a), None))
defvjp("max_pool_select",   lambda g, out, h, x, **a: (max_pool_backward(g, x, **a), None))


# ---------------------------------------------------------------------------
# avg_pool, avg_pool_backward


def avg_pool_shape(x: Any, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
                   divisor_override: int | None) -> tuple:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"avg_pool: srcgrad averages floating point tensors only, got {x.dtype.name}")
    return pooled_shape(x.shape, kernel, stride, padding, (1,) * len(kernel)), x.dtype


def avg_pool_backward_shape(g: Any, size: tuple, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
                            divisor_override: int | None) -> tuple:
    shape = tuple(g.shape[:len(g.shape) - len(size)]) + tuple(size)
    if g.shape != pooled_shape(shape, kernel, stride, padding, (1,) * len(kernel)):
        raise RuntimeError(f"avg_pool_backward: gradient of shape {fmt_shape(g.shape)} does not fit the pooling of "
                           f"{fmt_shape(shape)}")
    return shape, g.dtype


defop("avg_pool", avg_pool_shape, lambda n, a: f"sg.avg_pool({n[0]}, {_kwargs(a, AVG)})",
      "AvgPool2DBackward0", attrs=AVG, saves="")
defop("avg_pool_backward", avg_pool_backward_shape,
      lambda n, a: f"sg.avg_pool_backward({n[0]}, size={lit(a['size'])}, {_kwargs(a, AVG)})",
      "AvgPool2DBackwardBackward0", attrs=("size",) + AVG, saves="")


def avg_pool(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
             divisor_override: int | None, name: str = "avg_pool") -> Tensor:
    """Record ``avg_pool`` (``name``: an alias for another grad_fn name)."""
    return record(name, (x,), (tuple(kernel), tuple(stride), tuple(tuple(p) for p in padding),
                               tuple(tuple(p) for p in count_pad), divisor_override))


def avg_pool_backward(g: Tensor, size: tuple, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
                      divisor_override: int | None) -> Tensor:
    """Record ``avg_pool_backward``: the adjoint of ``avg_pool`` for an input of pooled dims ``size``."""
    return record("avg_pool_backward", (g,), (tuple(size), kernel, stride, padding, count_pad, divisor_override))


defvjp("avg_pool",          lambda g, out, x, **a: (avg_pool_backward(g, x.shape[x.dim() - len(a["kernel"]):], **a),))
defvjp("avg_pool_backward", lambda g, out, gy, size, **a: (avg_pool(g, **a),))
_alias("adaptive_avg_pool", "avg_pool", "AdaptiveAvgPool2DBackward0")


# ---------------------------------------------------------------------------
# constant_pad


def constant_pad_shape(x: Any, pads: tuple, value: float) -> tuple:
    shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pads))
    if any(s < 0 for s in shape):
        raise RuntimeError("narrow(): length must be non-negative.")
    return shape, x.dtype


def _value_source(v: float) -> str:
    return repr(v) if math.isfinite(v) else f"float({str(v)!r})"


defop("constant_pad", constant_pad_shape,
      lambda n, a: f"sg.constant_pad({n[0]}, {lit(a['pads'])}, {_value_source(a['value'])})",
      "ConstantPadNdBackward0", attrs=("pads", "value"), saves="")


def constant_pad(x: Tensor, pads: tuple, value: float = 0.0) -> Tensor:
    """Record ``constant_pad``: ``pads`` is one ``(lo, hi)`` pair for every dim of ``x``."""
    return record("constant_pad", (x,), (tuple(pads), float(value)))


defvjp("constant_pad", lambda g, out, x, pads, value: (constant_pad(g, tuple((-lo, -hi) for lo, hi in pads)),))


# ---------------------------------------------------------------------------
# argument handling shared by the functional forms


def _ints(v: Any, n: int, what: str, fn: str, allow_none: bool = False) -> tuple:
    """An int or a sequence of 1 or ``n`` ints as an ``n``-tuple, with PyTorch's message otherwise."""
    if isinstance(v, (tuple, list)):
        if len(v) == 1:
            return (int(v[0]),) * n
        if len(v) == n:
            return tuple(int(e) for e in v)
        either = "" if fn == "avg_pool3d" else "either "  # (PyTorch's words differ a little between checks)
        how = f"must {either}be omitted, a single int" if allow_none else f"must {either}be a single int"
        if what == "dilation":
            how = "must be either a single int"
        word = {2: "two", 3: "three"}.get(n, str(n))
        raise RuntimeError(f"{fn}: {what} {how}, or a tuple of {word} ints")
    return (int(v),) * n


def _output_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (``pooling_output_shape``): the last window must start inside the
    input or the left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_padding(spatial: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                  ceil_mode: bool) -> tuple:
    """(lo, hi) per dim: ``hi`` is what the last window needs (more than ``padding`` in ceil mode)."""
    pads = []
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        out = _output_size(size, k, s, p, d, ceil_mode)
        pads.append((p, max(0, (out - 1) * s + d * (k - 1) + 1 - size - p)))
    return tuple(pads)


def _check_pool2d(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool) -> None:
    """PyTorch's ``pool2d_shape_check`` (a 1-d pool is checked as the 2-d pool it runs as)."""
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dilation[0]} "
                           f"dilationW: {dilation[1]}")
    if x.dim() not in (3, 4) or any(s == 0 for s in x.shape[-3:]):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    for k, p, d in zip(kernel, padding, dilation):
        if p * 2 > k:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
    c, h, w = x.shape[-3:]
    oh, ow = (_output_size(n, k, s, p, d, ceil_mode)
              for n, k, s, p, d in zip((h, w), kernel, stride, padding, dilation))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). "
                           "Output size is too small")


def _stride(stride: Any, kernel_size: Any) -> Any:
    return kernel_size if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else stride


# ---------------------------------------------------------------------------
# max pooling


def _max_pool2d(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool,
                return_indices: bool) -> Any:
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    _check_pool2d(x, kernel, stride, padding, dilation, ceil_mode)
    window = (kernel, stride, _pool_padding(x.shape[-2:], kernel, stride, padding, dilation, ceil_mode), dilation)
    out = record("max_pool", (x,), window)
    if return_indices:
        return out, record("max_pool_indices", (x,), window)
    return out


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-d max pooling over (N, C, H, W) or (C, H, W) input; padding counts as -inf. With
    ``return_indices``, also each maximum's flat index within its H x W plane (int64)."""
    fn = "max_pool2d"
    kernel = _ints(kernel_size, 2, "kernel_size", fn)
    stride = _ints(_stride(stride, kernel_size), 2, "stride", fn, allow_none=True)
    padding = _ints(padding, 2, "padding", fn)
    dilation = _ints(dilation, 2, "dilation", fn)
    return _max_pool2d(input, kernel, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """1-d max pooling over (N, C, L) or (C, L) input (as 2-d pooling of a height-1 image, as PyTorch)."""
    fn = "max_pool1d"
    (k,) = _ints(kernel_size, 1, "kernel_size", fn)
    (s,) = _ints(_stride(stride, kernel_size), 1, "stride", fn, allow_none=True)
    (p,) = _ints(padding, 1, "padding", fn)
    (d,) = _ints(dilation, 1, "dilation", fn)
    if input.dim() not in (2, 3):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{list(input.shape)}")
    for what, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if v <= 0:
            raise RuntimeError(f"max_pool1d() {what} must be greater than zero, but got {v}")
    if p < 0:
        raise RuntimeError(f"max_pool1d() padding must be non-negative, but got {p}")
    if p > k // 2:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got padding={p} and "
                           f"kernel_size={k}")
    if _output_size(input.shape[-1], k, s, p, d, ceil_mode) < 1:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: "
                           f"{_output_size(input.shape[-1], k, s, p, d, ceil_mode)}")
    res = _max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


# ---------------------------------------------------------------------------
# average pooling


def _avg_pool2d(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, ceil_mode: bool, count_include_pad: bool,
                divisor_override: int | None) -> Tensor:
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    _check_pool2d(x, kernel, stride, padding, (1, 1), ceil_mode)
    pads = _pool_padding(x.shape[-2:], kernel, stride, padding, (1, 1), ceil_mode)
    count_pad = tuple((p, p) if count_include_pad else (0, 0) for p in padding)
    return avg_pool(x, kernel, stride, pads, count_pad, divisor_override)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-d average pooling over (N, C, H, W) or (C, H, W) input; zero padding, counted in the divisor if
    ``count_include_pad`` (up to ``padding`` past the edge, as PyTorch); ``divisor_override`` replaces it."""
    fn = "avg_pool2d"
    kernel = _ints(kernel_size, 2, "kernel_size", fn)
    stride = _ints(_stride(stride, kernel_size), 2, "stride", fn, allow_none=True)
    padding = _ints(padding, 2, "padding", fn)
    return _avg_pool2d(input, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-d average pooling over (N, C, L) or (C, L) input (as 2-d pooling of a height-1 image)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           "'self' (while checking arguments for avg_pool1d)")
    fn = "avg_pool1d"
    (k,) = _ints(kernel_size, 1, "kernel_size", fn)
    (s,) = _ints(_stride(stride, kernel_size), 1, "stride", fn, allow_none=True)
    (p,) = _ints(padding, 1, "padding", fn)
    out = _avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), ceil_mode, count_include_pad, None)
    return out.squeeze(-2)


# ---------------------------------------------------------------------------
# 3-d max and average pooling: the same primitives over the last three dims, recorded under
# PyTorch's 3-d grad_fn names (aliases); PyTorch's checks are its own for 3-d pools (Pool.h)


_alias("max_pool3d", "max_pool", "MaxPool3DWithIndicesBackward0")
_alias("max_pool3d_backward", "max_pool_backward", "MaxPool3DWithIndicesBackwardBackward0")
_alias("avg_pool3d", "avg_pool", "AvgPool3DBackward0")
defvjp("max_pool3d", lambda g, out, x, **a: (record("max_pool3d_backward", (g, x), _window(**a)),))


def _half(a: int) -> int:
    """``a / 2`` rounded toward zero, as C++ divides."""
    return a // 2 if a >= 0 else -(-a // 2)


def _pool3d_output(spatial: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                   ceil_mode: bool) -> tuple:
    """PyTorch's ``pooling_output_shape`` for T, H and W in turn, with its checks in its order."""
    out = []
    for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation):
        if s == 0:
            raise RuntimeError("stride should not be zero")
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
        if p > _half((k - 1) * d + 1):
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation={d}")
        out.append(_output_size(size, k, s, p, d, ceil_mode))
    return tuple(out)


def _check_pool3d(x: Tensor, fn: str, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out: tuple,
                  check_input_size: bool) -> None:
    """PyTorch's ``pool3d_shape_check`` (``check_input_size``: average pooling's)."""
    (kt, kh, kw), (dt, dh, dw), (pt, ph, pw) = kernel, stride, padding
    if min(kernel) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {kt} kH: {kh} kW: {kw}")
    if min(stride) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dT: {dt} dH: {dh} dW: {dw}")
    if min(dilation) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: {dilation[0]} "
                           f"dilationH: {dilation[1]} dilationW: {dilation[2]}")
    for i, size in enumerate(x.shape):
        if size <= 0 and not (x.dim() == 5 and i == 0):  # (the batch may be empty)
            raise RuntimeError(f"{fn}: Expected input's non-batch dimensions to have positive length, but input "
                               f"has a shape of {list(x.shape)} and non-batch dimension {size} has length zero!")
    c, it, ih, iw = x.shape[-4:]
    if check_input_size and (it < kt or ih < kh or iw < kw):
        raise RuntimeError(f"input image (T: {it} H: {ih} W: {iw}) smaller than kernel size (kT: {kt} kH: {kh} "
                           f"kW: {kw})")
    if kt // 2 < pt or kw // 2 < pw or kh // 2 < ph:
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got kT: {kt} kW: {kw} "
                           f"kH: {kh} padT: {pt} padW: {pw} padH: {ph}")
    if min(out) < 1:
        raise RuntimeError(f"Given input size: ({c}x{it}x{ih}x{iw}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}x{out[2]}). Output size is too small")


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-d max pooling over (N, C, D, H, W) or (C, D, H, W) input; padding counts as -inf. With
    ``return_indices``, also each maximum's flat index within its D x H x W volume (int64)."""
    fn = "max_pool3d"
    kernel = _ints(kernel_size, 3, "kernel_size", fn)
    stride = _ints(_stride(stride, kernel_size), 3, "stride", fn, allow_none=True)
    padding = _ints(padding, 3, "padding", fn)
    dilation = _ints(dilation, 3, "dilation", fn)
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    out = _pool3d_output(tuple(input.shape[-3:]), kernel, stride, padding, dilation, ceil_mode)
    _check_pool3d(input, "max_pool3d_with_indices_out_cpu_template()", kernel, stride, padding, dilation, out, False)
    window = (kernel, stride, _pool_padding(input.shape[-3:], kernel, stride, padding, dilation, ceil_mode), dilation)
    y = record("max_pool3d", (input,), window)
    if return_indices:
        return y, record("max_pool_indices", (input,), window)
    return y


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-d average pooling over (N, C, D, H, W) or (C, D, H, W) input; zero padding, counted in the divisor
    if ``count_include_pad`` (as PyTorch); ``divisor_override`` replaces the divisor."""
    fn = "avg_pool3d"
    kernel = _ints(kernel_size, 3, "kernel_size", fn)
    stride = _ints(_stride(stride, kernel_size), 3, "stride", fn, allow_none=True)
    padding = _ints(padding, 3, "padding", fn)
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    ones = (1, 1, 1)
    out = _pool3d_output(tuple(input.shape[-3:]), kernel, stride, padding, ones, ceil_mode)
    _check_pool3d(input, "avg_pool3d()", kernel, stride, padding, ones, out, True)
    pads = _pool_padding(input.shape[-3:], kernel, stride, padding, ones, ceil_mode)
    count_pad = tuple((p, p) if count_include_pad else (0, 0) for p in padding)
    return avg_pool(input, kernel, stride, pads, count_pad, divisor_override, name="avg_pool3d")


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """``max_pool1d`` returning (values, indices) whatever ``return_indices`` says, as PyTorch's."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """``max_pool2d`` returning (values, indices) whatever ``return_indices`` says, as PyTorch's."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """``max_pool3d`` returning (values, indices) whatever ``return_indices`` says, as PyTorch's."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ---------------------------------------------------------------------------
# adaptive average pooling


def _bins(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive bins: bin i covers [floor(i * size / out), ceil((i + 1) * size / out))."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def _bin_average(size: int, out: int, like: Tensor, transposed: bool = False) -> Tensor:
    """The (out, size) matrix whose row i averages bin i (or its transpose), in ``like``'s dtype."""
    start, end = _bins(size, out)
    j = np.arange(size)
    a = ((j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])) / np.maximum(end - start, 1)[:, None]
    return tensor(a.T if transposed else a, dtype=like.dtype, device=like.device)


def _adaptive_avg_pool(x: Tensor, out: tuple) -> Tensor:
    """Adaptive average pooling of the last two dims of ``x`` to ``out`` (oh, ow)."""
    (h, w), (oh, ow) = x.shape[-2:], out
    if oh and ow and h % oh == 0 and w % ow == 0:  # equal bins: an average pool
        kernel = (h // oh, w // ow)
        y = avg_pool(x, kernel, kernel, ((0, 0),) * 2, ((0, 0),) * 2, None, name="adaptive_avg_pool")
        return as_function(y, (x,))  # (its edges are x's already: one grad_fn class for both paths)
    # Unequal bins: a product with each dim's bin-averaging matrix, (oh, h) @ x @ (w, ow); the last
    # product is recorded under PyTorch's grad_fn name, and shown as one function of x.
    y = x
    if ow != w:
        y = record("matmul" if oh != h else "adaptive_avg_pool_mm", (y, _bin_average(w, ow, y, transposed=True)),
                   ("highest",))
    if oh != h:
        y = record("adaptive_avg_pool_mm", (_bin_average(h, oh, y), y), ("highest",))
    return as_function(y, (x,))


_alias("adaptive_avg_pool_mm", "matmul", "AdaptiveAvgPool2DBackward0")


def _adaptive_sizes(output_size: Any, n: int, spatial: tuple, fn: str) -> tuple:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != n:
            if n == 1:
                raise RuntimeError(f"{fn}() argument 'output_size' should contain one int (got {len(output_size)})")
            raise RuntimeError(f"{fn}: output_size must be {n}")
        sizes = output_size
    elif output_size is None and n == 1:
        raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, not NoneType")
    else:
        sizes = (output_size,) * n
    return tuple(s if o is None else int(o) for s, o in zip(spatial, sizes))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins so that the last two dims become ``output_size`` (an int, or a
    pair whose None entries keep the input's size); (N, C, H, W) or (C, H, W) input."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    for i in range(input.dim() - 3 + 1, input.dim()):
        if input.shape[i] == 0:
            raise RuntimeError("adaptive_avg_pool2d(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(input.shape)} with dimension {i} being empty")
    out = _adaptive_sizes(output_size, 2, tuple(input.shape[-2:]), "adaptive_avg_pool2d")
    if out == (1, 1):
        return input.mean((-2, -1), keepdim=True)  # (MeanBackward1, as PyTorch)
    return _adaptive_avg_pool(input, out)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins so that the last dim becomes ``output_size``; (N, C, L) or
    (C, L) input."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           "'self' (while checking arguments for adaptive_avg_pool1d)")
    (out,) = _adaptive_sizes(output_size, 1, tuple(input.shape[-1:]), "adaptive_avg_pool1d")
    return _adaptive_avg_pool(input.unsqueeze(-2), (1, out)).squeeze(-2)


def _list_with_default(output_size: Any, shape: tuple) -> Any:
    """PyTorch's ``_list_with_default``: an int as it is; a sequence with None entries taken from the
    input's trailing sizes."""
    if isinstance(output_size, int):
        return output_size
    if len(shape) <= len(output_size):
        raise ValueError(f"Input dimension should be at least {len(output_size) + 1}")
    return [s if v is None else v for v, s in zip(output_size, shape[len(shape) - len(output_size):])]


def _sizes(output_size: Any, n: int, message: str) -> tuple:
    """An int or an ``n``-sequence of ints as an ``n``-tuple (``message`` otherwise)."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != n:
            raise RuntimeError(message)
        return tuple(int(o) for o in output_size)
    return (int(output_size),) * n


def _nonzero_non_batch(x: Tensor, fn: str) -> None:
    """PyTorch's check that every dim but the first has non-zero size."""
    for i in range(1, x.dim()):
        if x.shape[i] == 0:
            raise RuntimeError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(x.shape)} with dimension {i} being empty")


# ---------------------------------------------------------------------------
# 3-d adaptive average pooling: ``avg_pool`` when the bins are equal, else products with each dim's
# bin-averaging matrix, the last recorded as an identity under PyTorch's grad_fn name


_alias("adaptive_avg_pool3d", "avg_pool", "AdaptiveAvgPool3DBackward0")
_alias("adaptive_avg_pool3d_out", "identity", "AdaptiveAvgPool3DBackward0")


def _adaptive_avg_pool3d(x: Tensor, out: tuple) -> Tensor:
    spatial = tuple(x.shape[-3:])
    if all(out) and all(s % o == 0 for s, o in zip(spatial, out)):  # equal bins: an average pool
        kernel = tuple(s // o for s, o in zip(spatial, out))
        y = avg_pool(x, kernel, kernel, ((0, 0),) * 3, ((0, 0),) * 3, None, name="adaptive_avg_pool3d")
        return as_function(y, (x,))
    (d, h, w), (od, oh, ow) = spatial, out
    lead = tuple(x.shape[:-3])
    y = x
    if od != d:  # (od, d) @ (..., d, h * w)
        y = record("matmul", (_bin_average(d, od, y), y.reshape(lead + (d, h * w))), ("highest",))
        y = y.reshape(lead + (od, h, w))
    if oh != h:
        y = record("matmul", (_bin_average(h, oh, y), y), ("highest",))
    if ow != w:
        y = record("matmul", (y, _bin_average(w, ow, y, transposed=True)), ("highest",))
    return as_function(record("adaptive_avg_pool3d_out", (y,)), (x,))


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive bins so that the last three dims become ``output_size`` (an int, or
    a triple whose None entries keep the input's size); (N, C, D, H, W) or (C, D, H, W) input."""
    out = _sizes(_list_with_default(output_size, tuple(input.shape)), 3, "adaptive_avg_pool3d: output_size must be 3")
    if min(out) < 0:
        raise RuntimeError("adaptive_avg_pool3d: elements of output_size must be greater than or equal to 0 but "
                           f"received {{{out[0]}, {out[1]},{out[2]}}}")
    if out == (1, 1, 1):
        return input.mean((-3, -2, -1), keepdim=True)  # (MeanBackward1, as PyTorch)
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    _nonzero_non_batch(input, "adaptive_avg_pool3d")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"adaptive_avg_pool3d_cpu\" not implemented for '{_type_name(input.dtype)}'")
    return _adaptive_avg_pool3d(input, out)


# ---------------------------------------------------------------------------
# adaptive max pooling: a composite. Each output element is the maximum of its adaptive bin
# (PyTorch's bins, which may overlap and differ in size by one). The bins' elements are read with
# one gather into (..., windows, K) (a bin narrower than K repeats its last element, which is
# then never picked over the original), the maximum's position is found as PyTorch's CPU kernel
# scans (``val > maxval || isnan(val)`` from the bin's first element: the first maximum, else the
# last NaN, and the first element of a bin of -inf), and the value is a ``gather`` of the input at
# that flat index: its gradient goes to that element alone, overlapping bins adding up
# (``scatter_add``), and its second derivative is the ``gather`` again. The last node is an identity
# under PyTorch's grad_fn name, shown as one function of the input (``as_function``).


_alias("adaptive_max_pool2d", "identity", "AdaptiveMaxPool2DBackward0")
_alias("adaptive_max_pool3d", "identity", "AdaptiveMaxPool3DBackward0")


def _bin_table(size: int, out: int) -> np.ndarray:
    """(out, K): the input positions of each adaptive bin, a narrower bin padded with its last position."""
    start, end = _bins(size, out)
    k = int((end - start).max()) if out else 1
    return np.minimum(start[:, None] + np.arange(k)[None, :], (end - 1)[:, None])


def _adaptive_max_pool(x: Tensor, out: tuple, name: str) -> tuple:
    """Adaptive max pooling of the last ``len(out)`` dims of ``x``: (values, flat indices in each plane)."""
    n = len(out)
    spatial = tuple(x.shape[x.dim() - n:])
    lead = tuple(x.shape[:x.dim() - n])
    tables = [_bin_table(size, o) for size, o in zip(spatial, out)]
    widths = tuple(t.shape[1] for t in tables)
    plane = np.zeros(tuple(out) + widths, np.int64)  # flat index of bin element (window..., offset...)
    for i, t in enumerate(tables):
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = t.shape
        plane = plane + (t * int(np.prod(spatial[i + 1:], dtype=np.int64))).reshape(shape)
    windows, k = int(np.prod(out, dtype=np.int64)), int(np.prod(widths, dtype=np.int64))
    plane = plane.reshape(windows, k)
    flat = x.reshape(lead + (int(np.prod(spatial, dtype=np.int64)),))
    table = tensor(plane, dtype=int64, device=x.device)
    # (a gather of the expanded table: index_select would read its index on the host, under @compile too)
    v = flat.detach().gather(-1, table.reshape(windows * k).expand(lead + (windows * k,)))
    v = v.reshape(lead + (windows, k))
    pos = v.argmax(-1)  # the first maximum (a NaN aside)
    if v.dtype.is_floating_point:
        nan = v.isnan()
        rank = tensor(np.arange(1, k + 1), dtype=int64, device=x.device)
        pos = where(nan.any(-1), (nan.to(int64) * rank).argmax(-1), pos)  # the last NaN
    idx = table.expand(lead + (windows, k)).gather(-1, pos.unsqueeze(-1)).squeeze(-1)
    y = record(name, (flat.gather(-1, idx).reshape(lead + tuple(out)),))
    return as_function(y, (x,)), idx.reshape(lead + tuple(out))


def _type_name(dt: Any) -> str:
    """PyTorch's ScalarType name of a dtype ("Long", "Int", ...)."""
    return TORCH_TYPE_NAMES.get(dt.name, dt.name.title())


def _check_float(x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(x.dtype)}'")


def _negative(out: tuple, shape: tuple) -> None:
    if min(out) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(out)}: {list(shape)}")


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    """Adaptive 2-d max pooling: (values, indices), whatever ``return_indices`` says (as PyTorch's)."""
    return _adaptive_max_pool_checked(input, output_size, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    """Adaptive 3-d max pooling: (values, indices), whatever ``return_indices`` says (as PyTorch's)."""
    return _adaptive_max_pool_checked(input, output_size, 3, "adaptive_max_pool3d_cpu")


def _adaptive_max_pool_checked(input: Tensor, output_size: Any, nd: int, kernel: str) -> tuple:
    """PyTorch's checks of adaptive ``nd``-d max pooling, in its order and words, then the pooling
    (``kernel``: the name PyTorch's dtype error gives)."""
    name = f"adaptive_max_pool{nd}d"
    out = _list_with_default(output_size, tuple(input.shape))
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    _nonzero_non_batch(input, name)
    out = _sizes(out, nd, f"{name}(): internal error: output_size.size() must be {nd}")
    _negative(out, tuple(input.shape[:-nd]) + out)
    _check_float(input, kernel)
    return _adaptive_max_pool(input, out, name)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    """Adaptive 1-d max pooling: (values, indices), whatever ``return_indices`` says (as PyTorch's); the
    input runs as a height-1 image, as PyTorch's."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           "'self' (while checking arguments for adaptive_max_pool1d)")
    if output_size is None:
        raise TypeError("adaptive_max_pool1d(): argument 'output_size' (position 2) must be tuple of ints, not "
                        "NoneType")
    out = _sizes(output_size, 1, "adaptive_max_pool1d() argument 'output_size' should contain one int (got "
                 f"{len(output_size) if isinstance(output_size, (tuple, list)) else 1})")
    _nonzero_non_batch(input, "adaptive_max_pool1d")
    _negative(out, tuple(input.shape[:-1]) + (1,) + out)
    _check_float(input, "adaptive_max_pool2d")
    y, idx = _adaptive_max_pool(input.unsqueeze(-2), (1,) + out, "adaptive_max_pool2d")
    return y.squeeze(-2), idx.squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each of PyTorch's adaptive bins along the last dim, which becomes ``output_size``;
    (N, C, L) or (C, L) input. With ``return_indices``, also each maximum's index (int64)."""
    y, idx = adaptive_max_pool1d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each of PyTorch's adaptive bins so that the last two dims become ``output_size`` (an
    int, or a pair whose None entries keep the input's size); (N, C, H, W) or (C, H, W) input. With
    ``return_indices``, also each maximum's flat index within its H x W plane (int64)."""
    y, idx = adaptive_max_pool2d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """The maximum of each of PyTorch's adaptive bins so that the last three dims become ``output_size``;
    (N, C, D, H, W) or (C, D, H, W) input. With ``return_indices``, also each maximum's flat index within
    its D x H x W volume (int64)."""
    y, idx = adaptive_max_pool3d_with_indices(input, output_size)
    return (y, idx) if return_indices else y


# ---------------------------------------------------------------------------
# padding


_PAD_HELP = ("Supported combinations for non-constant padding:\n"
             "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
             "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
             "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")

for _n in (1, 2, 3):
    _alias(f"reflection_pad{_n}d", "cat", f"ReflectionPad{_n}DBackward0")
    _alias(f"replication_pad{_n}d", "cat", f"ReplicationPad{_n}DBackward0")
_alias("circular_pad", "cat", "CopySlices")


def _pad_pieces(x: Tensor, dim: int, lo: int, hi: int, mode: str) -> list:
    """The pieces to concatenate along ``dim`` to pad ``x`` (already cropped) by ``lo``/``hi``."""
    n = x.shape[dim]
    left: list = []
    right: list = []
    if mode == "reflect":
        left = [rev(x.narrow(dim, 1, lo), (dim,))] if lo else []
        right = [rev(x.narrow(dim, n - 1 - hi, hi), (dim,))] if hi else []
    elif mode == "replicate":
        def edge(i: int, k: int) -> Tensor:
            shape = list(x.shape)
            shape[dim] = k
            return x.narrow(dim, i, 1).expand(*shape)
        left = [edge(0, lo)] if lo else []
        right = [edge(n - 1, hi)] if hi else []
    else:  # circular
        left = [x.narrow(dim, n - lo, lo)] if lo else []
        right = [x.narrow(dim, 0, hi)] if hi else []
    return left + [x] + right


def _pad_other(x: Tensor, pad: tuple, mode: str) -> Tensor:
    m = len(pad) // 2
    if len(pad) % 2 or m not in (1, 2, 3) or x.dim() not in (m + 1, m + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {x.dim()}D input tensor.\n"
                                  + _PAD_HELP)
    name = {"reflect": f"reflection_pad{m}d", "replicate": f"replication_pad{m}d", "circular": "circular_pad"}[mode]
    shape = list(x.shape)
    source = x
    for k in range(m):  # pad[2k], pad[2k + 1] pad dim -1 - k
        dim = x.dim() - 1 - k
        lo, hi = pad[2 * k], pad[2 * k + 1]
        size = x.shape[dim]
        # negative widths crop first; the padding then comes from what is left (as PyTorch)
        cut_lo, cut_hi = max(-lo, 0), max(-hi, 0)
        if cut_lo or cut_hi:
            if size - cut_lo - cut_hi < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
            x = x.narrow(dim, cut_lo, size - cut_lo - cut_hi)
        lo, hi, n = max(lo, 0), max(hi, 0), x.shape[dim]
        if mode == "reflect" and (lo >= n or hi >= n) and (lo or hi):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({pad[2 * k]}, {pad[2 * k + 1]}) at dimension {dim} of input "
                               f"{shape}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise RuntimeError(f"padding of a dimension of size 0 (dimension {dim}) needs mode 'constant'")
        pieces = _pad_pieces(x, dim, lo, hi, mode)
        if k == m - 1:  # the last node carries PyTorch's grad_fn name
            x = record(name, tuple(pieces), (dim,))
            if mode != "circular":  # (PyTorch's circular padding is copies into a new tensor, CopySlices)
                x = as_function(x, (source,))
        elif len(pieces) > 1:
            x = cat(pieces, dim)
    return x


def pad(input: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad ``input``: ``pad`` lists (left, right) widths from the last dim backwards, as PyTorch.
    ``mode`` is 'constant' (with ``value``; negative widths crop), 'reflect', 'replicate' or 'circular'
    (these pad the last 1, 2 or 3 dims of a batched or unbatched input)."""
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        if len(pad) % 2:
            raise RuntimeError("Padding length must be divisible by 2")
        if len(pad) // 2 > input.dim():
            raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but "
                               f"got padding length {len(pad)} and input of dimension {input.dim()}")
        pads = [(0, 0)] * input.dim()
        for k in range(len(pad) // 2):
            pads[input.dim() - 1 - k] = (pad[2 * k], pad[2 * k + 1])
        return constant_pad(input, tuple(pads), 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    return _pad_other(input, pad, mode)


# ---------------------------------------------------------------------------
# batch normalisation: a composite, whose last node ``batch_norm`` is the normalised value itself
# (lowered as ``{0}``) with the updated running statistics as extra inputs. Whatever computes the
# output (the step's backward program, a ``.item()``) thus computes the buffers' updates in the
# same program: in training nothing else reads them, and they would otherwise stay pending, a chain
# growing by one update (and one forward graph) per step. Those inputs, and the composite's
# intermediates, are no edges of PyTorch's NativeBatchNormBackward0: ``as_function`` (above) shows
# the node with PyTorch's edges, (input, weight, bias).


def batch_norm_shape(y: Any, *updated: Any) -> tuple:
    return y.shape, y.dtype


defop("batch_norm", batch_norm_shape, "{0}", "NativeBatchNormBackward0", saves="")
defvjp("batch_norm", lambda g, out, y, *updated: (g,) + (None,) * len(updated))


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float | Tensor = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of ``input`` by batch statistics (``training``; the biased variance)
    or by ``running_mean``/``running_var``, then scale by ``weight`` and shift by ``bias``. In training,
    given running buffers are updated in place (not differentiated): ``running += momentum * (batch -
    running)``, with the unbiased variance; ``momentum`` may be a 0-dim tensor (a cumulative average)."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _check_batch_norm_dtypes(input: Tensor, params: tuple) -> None:
    """PyTorch's CPU kernel: parameters and buffers share one dtype, which is the input's, or float32
    for float16/bfloat16 input (mixed precision)."""
    ps = [t for t in params if t is not None]
    if not ps:
        return
    if any(t.dtype is not ps[0].dtype for t in ps):
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    low = input.dtype.name in ("float16", "bfloat16")
    if ps[0].dtype is not input.dtype and not (low and ps[0].dtype.name == "float32"):
        if input.dtype.name == "float32":
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None,
                bias: Tensor | None, training: bool, momentum: float | Tensor, eps: float,
                also_updated: tuple = ()) -> Tensor:
    """``batch_norm``; ``also_updated``: more buffers the caller updated in place (``num_batches_tracked``)
    to compute with the output."""
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected an input with at least 2 dims (N, C, ...), got {list(input.shape)}")
    c = input.shape[1]
    if training and input.numel() // max(c, 1) == 1 and c:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape!r}")
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{what} should contain {c} elements not {t.numel()}")
    if not training and (running_mean is None or running_var is None):
        raise RuntimeError("running_mean must be defined in evaluation mode")
    _check_batch_norm_dtypes(input, (weight, bias, running_mean, running_var))
    dims = (0,) + tuple(range(2, input.dim()))
    shape = (1, c) + (1,) * (input.dim() - 2)
    updated: tuple = ()
    if training:
        mean = input.mean(dims, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dims, keepdim=True)
        updated = _update_running_stats(running_mean, running_var, mean, var, input.numel() // c, momentum)
    else:
        centred = input - running_mean.reshape(shape)
        var = running_var.reshape(shape)
    scale = (var + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)
    out = centred * scale
    if bias is not None:
        out = out + bias.reshape(shape)
    out = record("batch_norm", (out,) + updated + tuple(t for t in also_updated if t is not None))
    return as_function(out, (input, weight, bias))  # NativeBatchNormBackward0's edges


def settle(buffer: Tensor) -> None:
    """Compute a buffer's pending update now if it reads other pending work (the update of a
    training-mode forward whose output nobody read), so that updates never pile up into a chain of
    forward graphs. Not while ``@srcgrad.compile`` traces: its program outputs the updates."""
    n = buffer._node
    if n.value is None and tracing.ACTIVE is None and any(i.value is None for i in n.inputs):
        buffer._value()


def _update_running_stats(running_mean: Tensor | None, running_var: Tensor | None, mean: Tensor, var: Tensor,
                          count: int, momentum: float | Tensor) -> tuple:
    """``running.lerp_(batch, momentum)`` for each given buffer, under no_grad; returns those buffers."""
    updated = []
    with no_grad():
        for running, batch in ((running_mean, mean), (running_var, var * (count / max(count - 1, 1)))):
            if running is None:
                continue
            settle(running)
            w = momentum.to(running.dtype) if isinstance(momentum, Tensor) else momentum
            running.lerp_(batch.reshape(running.shape).to(running.dtype), w)
            updated.append(running)
    return tuple(updated)


__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "adaptive_max_pool3d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices", "pad", "batch_norm"]
