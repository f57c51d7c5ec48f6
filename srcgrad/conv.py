"""Convolution: the ``convolution`` primitive (``lax.conv_general_dilated``) and its derivative.

One general primitive serves ``Conv1d``/``Conv2d``/``Conv3d`` and its own
derivatives: the gradient with respect to the input is a convolution of the
output gradient with the spatially reversed kernel (strides become
``lhs_dilation``), and the gradient with respect to the kernel is a
convolution of the input with the output gradient (feature groups become
batch groups). Both are recorded with this same primitive plus ``rev`` (the
kernel reversal), so differentiating a gradient again needs nothing more.
The rules follow JAX's transpose rules for ``conv_general_dilated``, written
here with srcgrad tensor ops.

Attributes (all static, part of the cache key):
``window_strides``, ``padding`` (one ``(lo, hi)`` pair per spatial dim),
``lhs_dilation``, ``rhs_dilation``, ``dimension_numbers`` (three index
tuples: batch/feature/spatial positions of input, out/in/spatial of kernel,
batch/feature/spatial of output), ``feature_group_count``,
``batch_group_count``, ``precision`` and ``bias`` (whether a third input is a
bias added along the output feature dim, as PyTorch's convolution does).
"""

from __future__ import annotations

from typing import Any

from .derivatives import defvjp
from .ops import defop, fmt_shape, lit
from .tensor import Tensor, get_float32_matmul_precision, record, zeros

ATTRS = ("window_strides", "padding", "lhs_dilation", "rhs_dilation", "dimension_numbers",
         "feature_group_count", "batch_group_count", "precision", "bias")


# ---------------------------------------------------------------------------
# shape rule


def _dilate(size: int, d: int) -> int:
    return 0 if size == 0 else 1 + d * (size - 1)


def conv_shape(lhs: Any, rhs: Any, *extra: Any, window_strides: tuple, padding: tuple, lhs_dilation: tuple,
               rhs_dilation: tuple, dimension_numbers: tuple, feature_group_count: int, batch_group_count: int,
               precision: str, bias: bool) -> tuple:
    """Output shape and dtype of a general dilated convolution (checks as ``lax`` does)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    ls, rs = lhs.shape, rhs.shape
    if len(ls) != len(rs) or len(ls) < 2:
        raise RuntimeError(f"convolution: input and weight must have the same number (>= 2) of dimensions, "
                           f"got input {fmt_shape(ls)} and weight {fmt_shape(rs)}")
    if lhs.dtype is not rhs.dtype:
        raise RuntimeError(f"Input type ({lhs.dtype.name}) and weight type ({rhs.dtype.name}) should be the same")
    if not lhs.dtype.is_floating_point:
        raise RuntimeError(f"convolution: expected a floating point input, got {lhs.dtype.name}")
    nsp = len(ls) - 2
    if not (len(window_strides) == len(padding) == len(lhs_dilation) == len(rhs_dilation) == nsp):
        raise RuntimeError(f"convolution: strides, padding and dilations need {nsp} entries each")
    g, b = feature_group_count, batch_group_count
    if g < 1 or b < 1 or (g > 1 and b > 1):
        raise RuntimeError(f"convolution: bad group counts (feature {g}, batch {b})")
    c_in, n, c_out = ls[lhs_spec[1]], ls[lhs_spec[0]], rs[rhs_spec[0]]
    if c_in % g or c_in // g != rs[rhs_spec[1]] or c_out % g:
        raise RuntimeError(f"convolution: input {fmt_shape(ls)} with {c_in} channels does not fit weight "
                           f"{fmt_shape(rs)} with groups={g}")
    if n % b or c_out % b:
        raise RuntimeError(f"convolution: batch_group_count {b} must divide the batch {n} and the output "
                           f"features {c_out}")
    spatial = []
    for k in range(nsp):
        size = _dilate(ls[lhs_spec[2 + k]], lhs_dilation[k]) + padding[k][0] + padding[k][1]
        window = _dilate(rs[rhs_spec[2 + k]], rhs_dilation[k])
        spatial.append(max(0, (size - window) // window_strides[k] + 1))
    if bias:
        (bshape,) = [e.shape for e in extra]
        if bshape != (c_out,):
            raise RuntimeError(f"convolution: bias of shape {fmt_shape(bshape)} does not match {c_out} output "
                               f"channels")
    canonical = (n // b, c_out, *spatial)
    out = [0] * len(ls)
    for pos, size in zip(out_spec, canonical):
        out[pos] = size
    return tuple(out), lhs.dtype


# ---------------------------------------------------------------------------
# lowering


def _spec_strings(dimension_numbers: tuple) -> tuple:
    """("NCHW", "OIHW", "NCHW")-style strings for index-tuple dimension numbers."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    spatial = "DHW"[-(len(lhs_spec) - 2):] if len(lhs_spec) <= 5 else [f"S{i}" for i in range(len(lhs_spec) - 2)]

    def build(spec: tuple, a: str, b: str) -> str:
        chars = [""] * len(spec)
        chars[spec[0]], chars[spec[1]] = a, b
        for k, pos in enumerate(spec[2:]):
            chars[pos] = spatial[k]
        return "".join(chars)

    return build(lhs_spec, "N", "C"), build(rhs_spec, "O", "I"), build(out_spec, "N", "C")


def lower_conv(names: list, a: dict) -> str:
    nsp = len(a["window_strides"])
    parts = [names[0], names[1], f"window_strides={lit(a['window_strides'])}", f"padding={lit(a['padding'])}"]
    if any(d != 1 for d in a["lhs_dilation"]):
        parts.append(f"lhs_dilation={lit(a['lhs_dilation'])}")
    if any(d != 1 for d in a["rhs_dilation"]):
        parts.append(f"rhs_dilation={lit(a['rhs_dilation'])}")
    parts.append(f"dimension_numbers={lit(_spec_strings(a['dimension_numbers']))}")
    if a["feature_group_count"] != 1:
        parts.append(f"feature_group_count={a['feature_group_count']}")
    if a["batch_group_count"] != 1:
        parts.append(f"batch_group_count={a['batch_group_count']}")
    if a["precision"] != "default":
        parts.append(f"precision={a['precision']!r}")
    expr = f"lax.conv_general_dilated({', '.join(parts)})"
    if a["bias"]:
        shape = [1] * (nsp + 2)
        shape[a["dimension_numbers"][2][1]] = -1
        expr = f"{expr} + {names[2]}.reshape({tuple(shape)!r})"
    return expr


defop("convolution", conv_shape, lower_conv, "ConvolutionBackward0", attrs=ATTRS, saves="xy")
defop("rev", lambda x, dims: (x.shape, x.dtype), lambda n, a: f"lax.rev({n[0]}, {a['dims']!r})",
      "FlipBackward0", attrs=("dims",), saves="")


# ---------------------------------------------------------------------------
# recording helpers (tensor level)


def conv_general_dilated(lhs: Tensor, rhs: Tensor, window_strides: tuple, padding: tuple,
                         lhs_dilation: tuple | None = None, rhs_dilation: tuple | None = None,
                         dimension_numbers: tuple | None = None, feature_group_count: int = 1,
                         batch_group_count: int = 1, bias: Tensor | None = None,
                         precision: str | None = None) -> Tensor:
    """Record one ``convolution`` node (``lax.conv_general_dilated`` semantics, canonical NC... layout
    unless ``dimension_numbers`` says otherwise)."""
    nsp = lhs.dim() - 2
    canon = tuple(range(nsp + 2))
    if precision is None:
        precision = "highest" if get_float32_matmul_precision() == "highest" else "default"
    attrs = (tuple(int(s) for s in window_strides),
             tuple((int(lo), int(hi)) for lo, hi in padding),
             tuple(int(d) for d in (lhs_dilation or (1,) * nsp)),
             tuple(int(d) for d in (rhs_dilation or (1,) * nsp)),
             dimension_numbers or (canon, canon, canon),
             int(feature_group_count), int(batch_group_count), precision, bias is not None)
    args = (lhs, rhs) if bias is None else (lhs, rhs, bias)
    return record("convolution", args, attrs)


def rev(x: Tensor, dims: tuple) -> Tensor:
    """Reverse ``x`` along ``dims`` (``lax.rev``)."""
    return record("rev", (x,), (tuple(dims),))


# ---------------------------------------------------------------------------
# derivative rules


def _swap(spec: tuple) -> tuple:
    return (spec[1], spec[0]) + tuple(spec[2:])


def _reshape_axis_into(src: int, dst: int, x: Tensor) -> Tensor:
    """Merge axis ``src`` into ``dst`` (numbered after ``src`` is removed), ``src`` major."""
    perm = [i for i in range(x.dim()) if i != src]
    perm.insert(dst, src)
    shape = [s for i, s in enumerate(x.shape) if i != src]
    shape[dst] *= x.shape[src]
    return x.permute(*perm).reshape(tuple(shape))


def _reshape_axis_out_of(src: int, size1: int, x: Tensor) -> Tensor:
    shape = list(x.shape)
    shape[src:src + 1] = [size1, shape[src] // size1]
    return x.reshape(tuple(shape))


def _lhs_padding(in_shape: list, window: list, strides: tuple, out_shape: list, padding: tuple,
                 lhs_dilation: tuple, rhs_dilation: tuple) -> tuple:
    pads = []
    for k in range(len(in_shape)):
        lhs_d = _dilate(in_shape[k], lhs_dilation[k])
        rhs_d = _dilate(window[k], rhs_dilation[k])
        out_d = _dilate(out_shape[k], strides[k])
        before = rhs_d - padding[k][0] - 1
        after = lhs_d + rhs_d - 1 - out_d - before
        pads.append((before, after))
    return tuple(pads)


def _rhs_padding(in_shape: list, window: list, strides: tuple, out_shape: list, padding: tuple,
                 lhs_dilation: tuple, rhs_dilation: tuple) -> tuple:
    pads = []
    for k in range(len(in_shape)):
        lhs_d = _dilate(in_shape[k], lhs_dilation[k])
        rhs_d = _dilate(window[k], rhs_dilation[k])
        out_d = _dilate(out_shape[k], strides[k])
        lo = padding[k][0]
        pads.append((lo, (out_d - lhs_d) + (rhs_d - lo - 1)))
    return tuple(pads)


def _grad_input(g: Tensor, lhs: Tensor, rhs: Tensor, a: dict) -> Tensor:
    lhs_spec, rhs_spec, out_spec = a["dimension_numbers"]
    groups, batch_groups = a["feature_group_count"], a["batch_group_count"]
    w = rhs
    if groups > 1:
        w = _reshape_axis_into(rhs_spec[0], rhs_spec[1], _reshape_axis_out_of(rhs_spec[0], groups, w))
    elif batch_groups > 1:
        w = _reshape_axis_into(rhs_spec[0], rhs_spec[1], _reshape_axis_out_of(rhs_spec[0], batch_groups, w))
        groups = batch_groups
    pad = _lhs_padding([lhs.shape[i] for i in lhs_spec[2:]], [rhs.shape[i] for i in rhs_spec[2:]],
                       a["window_strides"], [g.shape[i] for i in out_spec[2:]], a["padding"],
                       a["lhs_dilation"], a["rhs_dilation"])
    out = conv_general_dilated(g, rev(w, rhs_spec[2:]), a["lhs_dilation"], pad, a["window_strides"],
                               a["rhs_dilation"], (out_spec, _swap(rhs_spec), lhs_spec), groups, 1,
                               precision=a["precision"])
    if batch_groups > 1:
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], _reshape_axis_out_of(lhs_spec[1], batch_groups, out))
    return out


def _grad_weight(g: Tensor, lhs: Tensor, rhs: Tensor, a: dict) -> Tensor:
    lhs_spec, rhs_spec, out_spec = a["dimension_numbers"]
    groups, batch_groups = a["feature_group_count"], a["batch_group_count"]
    if batch_groups > 1:
        groups, batch_groups = batch_groups, 1
    elif groups > 1:
        groups, batch_groups = 1, groups
    pad = _rhs_padding([lhs.shape[i] for i in lhs_spec[2:]], [rhs.shape[i] for i in rhs_spec[2:]],
                       a["window_strides"], [g.shape[i] for i in out_spec[2:]], a["padding"],
                       a["lhs_dilation"], a["rhs_dilation"])
    return conv_general_dilated(lhs, g, a["rhs_dilation"], pad, a["lhs_dilation"], a["window_strides"],
                                (_swap(lhs_spec), _swap(out_spec), _swap(rhs_spec)), groups, batch_groups,
                                precision=a["precision"])


def conv_vjp(g: Tensor, out: Tensor, lhs: Tensor, rhs: Tensor, *bias: Tensor, **a: Any) -> tuple:
    """Gradients of ``convolution`` for input, weight (and bias): convolutions again."""
    gx = _grad_input(g, lhs, rhs, a) if lhs.requires_grad else None
    gw = _grad_weight(g, lhs, rhs, a) if rhs.requires_grad and g.numel() else None
    if gw is None and rhs.requires_grad:
        gw = zeros(rhs.shape, dtype=rhs.dtype, device=rhs.device)
    if not bias:
        return gx, gw
    feature = a["dimension_numbers"][2][1]
    gb = g.sum(tuple(i for i in range(g.dim()) if i != feature)) if bias[0].requires_grad else None
    return gx, gw, gb


defvjp("convolution", conv_vjp)
defvjp("rev", lambda g, out, x, dims: (rev(g, dims),))
