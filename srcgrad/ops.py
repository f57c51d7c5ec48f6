"""The op registry: every primitive declared once, with its shape/dtype rule,
its lowering to JAX source text and its PyTorch ``grad_fn`` name.

Derivative rules live beside it in ``derivatives.py`` (one line an op) and are
attached to these same ``OpDef`` objects.

A lowering is a template over input names ``{0} {1} ...`` and attribute names
(``{axis}``), or a function ``(names, attrs) -> str`` for the few that need
more than a template. Shape rules raise PyTorch's exception types with both
shapes in the message, before anything is recorded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes as D
from .ir import host_value


class OpDef:
    __slots__ = ("name", "attr_names", "shape_rule", "lower", "grad_name", "cast", "saves", "vjp")

    def __init__(self, name: str, attr_names: tuple, shape_rule: Callable, lower: Any,
                 grad_name: str, cast: Any, saves: str) -> None:
        self.name = name
        self.attr_names = attr_names
        self.shape_rule = shape_rule
        self.lower = lower
        self.grad_name = grad_name
        self.cast = cast  # None, "out" (inputs to result dtype), a tuple of such input positions, or "common"
        self.saves = saves  # which values the derivative reads: "x", "y", "xy", "out", "" ...
        self.vjp = None  # filled in by derivatives.py


OPS: dict[str, OpDef] = {}


def defop(name: str, shape_rule: Callable, lower: Any, grad_name: str | None = None,
          attrs: tuple = (), cast: Any = None, saves: str = "x") -> OpDef:
    op = OpDef(name, attrs, shape_rule, lower,
               grad_name or name.title().replace("_", "") + "Backward0", cast, saves)
    OPS[name] = op
    return op


# ---------------------------------------------------------------------------
# shape and dtype rules


def fmt_shape(shape: tuple) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def broadcast_shapes(a: tuple, b: tuple, opname: str = "op") -> tuple:
    if a == b or not b:  # (a tensor and a Python number: b is ())
        return a
    if not a:
        return b
    la, lb = len(a), len(b)
    if lb < la and a[la - lb:] == b:  # (a bias added to a batch)
        return a
    n = max(la, lb)
    out = []
    for i in range(n - 1, -1, -1):  # (from the last dim, as PyTorch: it reports the rightmost mismatch)
        da = a[i - n + la] if i - n + la >= 0 else 1
        db = b[i - n + lb] if i - n + lb >= 0 else 1
        if da == db or db == 1:
            out.append(da)
        elif da == 1:
            out.append(db)
        else:
            raise RuntimeError(
                f"The size of tensor a ({da}) must match the size of tensor b ({db}) at "
                f"non-singleton dimension {i} ({opname}: shapes {fmt_shape(a)} and {fmt_shape(b)})")
    return tuple(reversed(out))


TORCH_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
TORCH_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                 "int64": "long int", "int32": "int", "bool": "bool"}


def _float_of(d: D.dtype) -> D.dtype:
    if d.weak:
        return D.weak_float
    return d if d.is_floating_point else D.get_default_dtype()


def same(x: Any, **_: Any) -> tuple:
    return x.shape, x.dtype


def to_float(x: Any, **_: Any) -> tuple:
    return x.shape, _float_of(x.dtype)


def no_bool(opname: str) -> Callable:
    def rule(x: Any, **_: Any) -> tuple:
        if x.dtype.category == 0:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                               "to invert a mask, use the `~` or `logical_not()` operator instead.")
        return x.shape, x.dtype
    return rule


def to_bool(x: Any, **_: Any) -> tuple:
    return x.shape, D.bool_


def _promoted(xs: tuple) -> D.dtype:
    if len(xs) == 2:  # the common cases, without building operand tuples
        a, b = xs[0].dtype, xs[1].dtype
        if a is b:
            return a
        if b.weak and not a.weak and b.category <= a.category:
            return a
        if a.weak and not b.weak and a.category <= b.category:
            return b
    return D.result_type(tuple((len(x.shape), x.dtype) for x in xs))


def binary(opname: str) -> Callable:
    def rule(x: Any, y: Any, **_: Any) -> tuple:
        d = _promoted((x, y))
        if opname == "sub" and d.category == 0:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        if opname == "sub" and (x.dtype.category == 0 or y.dtype.category == 0):
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                               "trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return broadcast_shapes(x.shape, y.shape, opname), d
    return rule


def binary_float(opname: str) -> Callable:
    def rule(x: Any, y: Any, **_: Any) -> tuple:
        return broadcast_shapes(x.shape, y.shape, opname), _float_of(_promoted((x, y)))
    return rule


def binary_nobool(opname: str) -> Callable:
    def rule(x: Any, y: Any, **_: Any) -> tuple:
        d = _promoted((x, y))
        if d.category == 0:
            raise RuntimeError(f"{opname}: both operands are bool; convert with .int() or .float() first")
        if d.category == 1 and opname in ("floor_divide", "remainder", "fmod"):
            check_integer_divisor(y)
        return broadcast_shapes(x.shape, y.shape, opname), d
    return rule


def check_integer_divisor(y: Any) -> None:
    """PyTorch's error for an integer division by zero (XLA returns garbage there): checked for a
    divisor whose values are known on the host (``ir.host_value``), not for a pending one."""
    v = host_value(y)
    if v is not None and (v == 0).any():
        raise RuntimeError("ZeroDivisionError")


def compare(opname: str) -> Callable:
    def rule(x: Any, y: Any, **_: Any) -> tuple:
        return broadcast_shapes(x.shape, y.shape, opname), D.bool_
    return rule


def logical(opname: str) -> Callable:
    return compare(opname)


def bitwise(opname: str) -> Callable:
    """Bitwise ops: integer and bool tensors only (bool with bool is the logical op)."""
    def rule(x: Any, y: Any = None, **_: Any) -> tuple:
        d = _promoted((x, y)) if y is not None else x.dtype
        if d.category == 2:  # (NotImplementedError, as PyTorch's dispatch errors)
            raise NotImplementedError(f"\"{opname}_cpu\" not implemented for '{TORCH_TYPE_NAMES[d.name]}'")
        return (broadcast_shapes(x.shape, y.shape, opname) if y is not None else x.shape), d
    return rule


def reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def reduction(kind: str) -> Callable:
    def rule(x: Any, dims: tuple, keepdim: bool, **_: Any) -> tuple:
        shape = reduced_shape(x.shape, dims, keepdim)
        d = x.dtype
        if kind in ("sum", "prod") and d.category < 2:
            d = D.int64  # integer and bool sums and products are int64, as in PyTorch
        elif kind == "float":
            if not d.is_floating_point:
                raise RuntimeError(
                    f"mean(): could not infer output dtype. Input dtype must be either a floating point or "
                    f"complex dtype. Got: {TORCH_TYPE_NAMES.get(d.name, d.name.title())}")
        elif kind == "index":
            d = D.int64
        if kind in ("keep", "index"):
            for i in dims:
                if x.shape[i] == 0:
                    raise IndexError("Expected reduction dim to have non-zero size "
                                     f"(input shape {fmt_shape(x.shape)}, dim {i})")
        return shape, d
    return rule


def matmul_shape(x: Any, y: Any, **_: Any) -> tuple:
    a, b = x.shape, y.shape
    if len(a) == 0 or len(b) == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{len(a)}D and {len(b)}D")
    if x.dtype is not y.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{TORCH_C_NAMES.get(x.dtype.name, x.dtype.name)} != "
                           f"{TORCH_C_NAMES.get(y.dtype.name, y.dtype.name)}")
    k1 = a[-1]
    k2 = b[-2] if len(b) >= 2 else b[0]
    if k1 != k2:
        if len(a) == 1 and len(b) == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] "
                               "to have the same number of elements, but got "
                               f"{a[0]} and {b[0]} elements respectively")
        ra = "x".join(map(str, (a if len(a) == 2 else (a if len(a) == 1 else (math.prod(a[:-1]), a[-1])))))
        rb = "x".join(map(str, b if len(b) <= 2 else (math.prod(b[:-1]), b[-1])))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({ra} and {rb})")
    batch = broadcast_shapes(a[:-2], b[:-2], "matmul") if len(a) > 2 or len(b) > 2 else ()
    shape = batch + (a[-2:-1] if len(a) >= 2 else ()) + (b[-1:] if len(b) >= 2 else ())
    return shape, x.dtype


def linear_shape(x: Any, w: Any, *b: Any, precision: str, bias: bool) -> tuple:
    """``F.linear``: x (..., in) times w (out, in) transposed, plus b (out,)."""
    if len(w.shape) != 2 or len(x.shape) == 0:
        raise RuntimeError(f"linear: expected a 2-D weight and an input with at least 1 dimension, got input "
                           f"{fmt_shape(x.shape)} and weight {fmt_shape(w.shape)}")
    if x.dtype is not w.dtype or (b and b[0].dtype is not x.dtype):
        other = w.dtype if x.dtype is not w.dtype else b[0].dtype
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{TORCH_TYPE_NAMES.get(x.dtype.name, x.dtype.name)} and "
                           f"{TORCH_TYPE_NAMES.get(other.name, other.name)}")
    out, k = w.shape
    if x.shape[-1] != k:
        rows = math.prod(x.shape[:-1])
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1]} and {k}x{out})")
    if b and tuple(b[0].shape) not in ((out,), (), (1,)):
        broadcast_shapes(x.shape[:-1] + (out,), b[0].shape, "linear")
    return x.shape[:-1] + (out,), x.dtype


def reshape_rule(x: Any, shape: tuple, **_: Any) -> tuple:
    if math.prod(shape) != math.prod(x.shape):
        raise RuntimeError(f"shape '{fmt_shape(shape)}' is invalid for input of size {math.prod(x.shape)}")
    return shape, x.dtype


def expand_rule(x: Any, shape: tuple, **_: Any) -> tuple:
    lx = len(x.shape)
    if len(shape) < lx:
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be greater or "
                           f"equal to the number of dimensions in the tensor ({lx})")
    for i, s in enumerate(x.shape):
        t = shape[len(shape) - lx + i]
        if s != t and s != 1:
            raise RuntimeError(f"The expanded size of the tensor ({t}) must match the existing size ({s}) "
                               f"at non-singleton dimension {len(shape) - lx + i}.  Target sizes: "
                               f"{fmt_shape(shape)}.  Tensor sizes: {fmt_shape(x.shape)}")
    return shape, x.dtype


def permute_rule(x: Any, perm: tuple, **_: Any) -> tuple:
    return tuple(x.shape[p] for p in perm), x.dtype


def cat_rule(*xs: Any, dim: int) -> tuple:
    first = xs[0].shape
    total = 0
    for k, x in enumerate(xs):
        s = x.shape
        if len(s) != len(first):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(first)} and {len(s)}")
        for i, (a, b) in enumerate(zip(first, s)):
            if i != dim and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {dim}. Expected size {a} "
                                   f"but got size {b} for tensor number {k} in the list.")
        total += s[dim]
    d = _promoted(xs)
    return first[:dim] + (total,) + first[dim + 1:], d


def stack_rule(*xs: Any, dim: int) -> tuple:
    first = xs[0].shape
    for k, x in enumerate(xs):
        if x.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {fmt_shape(first)} "
                               f"at entry 0 and {fmt_shape(x.shape)} at entry {k}")
    return first[:dim] + (len(xs),) + first[dim:], _promoted(xs)


def lerp_rule(x: Any, end: Any, weight: Any, **_: Any) -> tuple:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for '
                                  f"'{TORCH_TYPE_NAMES.get(x.dtype.name, x.dtype.name)}'")
    for what, t in (("end", end), ("weight", weight)):
        if not t.dtype.weak and t.dtype is not x.dtype:
            raise RuntimeError(f"expected dtype {TORCH_C_NAMES.get(x.dtype.name, x.dtype.name)} for `{what}` but got "
                               f"dtype {TORCH_C_NAMES.get(t.dtype.name, t.dtype.name)}")
    return broadcast_shapes(broadcast_shapes(x.shape, end.shape, "lerp"), weight.shape, "lerp"), x.dtype


def addc_rule(opname: str) -> Callable:
    """``addcmul``/``addcdiv(x, tensor1, tensor2, value)``: the three tensors broadcast and promote;
    ``value`` is a number (a program input) that promotes nothing, as PyTorch's ``Scalar``."""
    def rule(x: Any, t1: Any, t2: Any, value: Any, **_: Any) -> tuple:
        d = _promoted((x, t1, t2))
        if opname == "addcdiv" and t1.dtype.category < 2 and t2.dtype.category < 2:
            raise RuntimeError(
                "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
                "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be implemented "
                "as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer inputs and as "
                "(input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior is just the "
                "latter implementation: (input + value * tensor1 / tensor2), for all dtypes.")
        return broadcast_shapes(broadcast_shapes(x.shape, t1.shape, opname), t2.shape, opname), d
    return rule


def where_rule(c: Any, x: Any, y: Any, **_: Any) -> tuple:
    if c.dtype.category != 0:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {TORCH_TYPE_NAMES.get(c.dtype.name, c.dtype.name)}")
    shape = broadcast_shapes(broadcast_shapes(c.shape, x.shape, "where"), y.shape, "where")
    return shape, D._strong(_promoted((x, y)))  # (two Python numbers give a tensor: float32, int64)


def clamp_rule(x: Any, *bounds: Any, has_lo: bool, has_hi: bool) -> tuple:
    shape = x.shape
    for b in bounds:
        shape = broadcast_shapes(shape, b.shape, "clamp")
    return shape, _promoted((x,) + bounds)


def index_shape(x: Any, *idx: Any, spec: tuple) -> tuple:
    if not idx:  # basic indexing: ints, slices, None, ...
        return basic_index_shape(x.shape, spec), x.dtype

    from .indexing import spec_to_index
    dummy = np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape=x.shape,
                                            strides=(0,) * len(x.shape))
    res = dummy[spec_to_index(spec, [np.zeros(t.shape, np.intp) for t in idx])]
    return tuple(res.shape), x.dtype


def basic_index_shape(shape: tuple, spec: tuple) -> tuple:
    """The shape of ``x[spec]`` for a spec of ints, slices, None and "..." ("T", a 0-dim index
    tensor, selects as an int does)."""
    consumed = sum(1 for s in spec if s is not None and s != "...")
    out: list = []
    k = 0
    for s in spec:
        if s is None:
            out.append(1)
        elif s == "...":
            n = len(shape) - consumed
            out.extend(shape[k:k + n])
            k += n
        else:
            if type(s) is tuple:
                out.append(len(range(*slice(*s[1:]).indices(shape[k]))))
            k += 1
    out.extend(shape[k:])
    return tuple(out)


def dyn_rows_rule(x: Any, start: Any, size: int | None = None) -> tuple:
    """``x[start]`` (no ``size``) or ``x[start:start + size]``: rows of dim 0 from a program input."""
    return (x.shape[1:] if size is None else (size,) + x.shape[1:]), x.dtype


def dyn_pad_rule(g: Any, start: Any, rows: int, select: bool) -> tuple:
    """The gradient of a dynamic row selection: ``g`` placed at ``start`` in zeros of ``rows`` rows."""
    return ((rows,) + (g.shape if select else g.shape[1:])), g.dtype


def lower_dyn_pad(names: list, a: dict) -> str:
    g, start = names
    if a["select"]:
        return f"lax.dynamic_update_index_in_dim(jnp.zeros(({a['rows']},) + {g}.shape, {g}.dtype), {g}, {start}, 0)"
    return f"lax.dynamic_update_slice_in_dim(jnp.zeros(({a['rows']},) + {g}.shape[1:], {g}.dtype), {g}, {start}, 0)"


def index_put_rule(x: Any, v: Any, *idx: Any, spec: tuple, accumulate: bool) -> tuple:
    target, _ = index_shape(x, *idx, spec=spec)
    try:
        broadcast_shapes(target, v.shape, "index_put")
        if len(v.shape) > len(target):
            raise RuntimeError
    except RuntimeError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {fmt_shape(v.shape)} cannot be "
                           f"broadcast to indexing result of shape {fmt_shape(target)}") from None
    return x.shape, x.dtype


def gather_rule(x: Any, index: Any, dim: int) -> tuple:
    if index.dtype is not D.int64 and index.dtype is not D.int32:
        raise RuntimeError(f"gather(): Expected dtype int64 for index, got {index.dtype.name}")
    if len(index.shape) != len(x.shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor "
                           f"(input {fmt_shape(x.shape)}, index {fmt_shape(index.shape)})")
    for d, (i, s) in enumerate(zip(index.shape, x.shape)):
        if d != dim and i > s:
            raise RuntimeError(f"Size does not match at dimension {d} expected index {list(index.shape)} to be no "
                               f"larger than self {list(x.shape)} apart from dimension {dim}")
    return index.shape, x.dtype


def take_along_rule(x: Any, index: Any, dim: int, keepdim: bool) -> tuple:
    return reduced_shape(x.shape, (dim,), keepdim), x.dtype


def argsort_rule(x: Any, dim: int, descending: bool, stable: bool) -> tuple:
    return x.shape, D.int64


def scatter_add_rule(base: Any, index: Any, src: Any, dim: int) -> tuple:
    _check_scatter("scatter", base, index, src, dim)
    return base.shape, base.dtype


def cast_rule(x: Any, dtype: D.dtype) -> tuple:
    return x.shape, dtype


def creation_rule(*_: Any, shape: tuple, dtype: D.dtype, **__: Any) -> tuple:
    return shape, dtype


# ---------------------------------------------------------------------------
# lowerings that need more than a template


def lit(v: Any) -> str:
    """A static attribute as Python source."""
    if isinstance(v, D.dtype):
        return "jnp.bool_" if v.name == "bool" else f"jnp.{v.name}"
    if isinstance(v, slice):
        return f"slice({v.start!r}, {v.stop!r}, {v.step!r})"
    if isinstance(v, float) and not math.isfinite(v):  # (repr gives `inf`/`nan`, not Python source)
        return f"float({repr(v)!r})"
    return repr(v)


def _index_expr(names: list, spec: tuple) -> str:
    parts = []
    it = iter(names)
    for s in spec:
        if s == "T":
            parts.append(next(it))
        elif isinstance(s, tuple) and s and s[0] == "slice":
            a, b, c = s[1:]
            parts.append(f"{'' if a is None else a}:{'' if b is None else b}" + ("" if c in (None, 1) else f":{c}"))
        elif s is None:
            parts.append("None")
        elif s == "...":
            parts.append("...")
        else:
            parts.append(str(s))
    if not parts:  # (x[()]: the whole of a 0-dim tensor)
        return "()"
    if len(parts) == 1:
        return parts[0] + ("," if parts[0] in ("None", "...") else "")
    return ", ".join(parts)


def lower_index(names: list, a: dict) -> str:
    return f"{names[0]}[{_index_expr(names[1:], a['spec'])}]"


def lower_index_put(names: list, a: dict) -> str:
    how = "add" if a["accumulate"] else "set"
    return f"{names[0]}.at[{_index_expr(names[2:], a['spec'])}].{how}({names[1]})"


def lower_lerp(names: list, a: dict) -> str:
    # PyTorch's two formulas: from the start for small weights, from the end for large ones
    x, end, w = names
    return f"jnp.where(jnp.abs({w}) < 0.5, {x} + {w} * ({end} - {x}), {end} - ({end} - {x}) * (1 - {w}))"


def lower_clamp(names: list, a: dict) -> str:
    it = iter(names[1:])
    lo = next(it) if a["has_lo"] else "None"
    hi = next(it) if a["has_hi"] else "None"
    return f"jnp.clip({names[0]}, {lo}, {hi})"


def lower_matmul(names: list, a: dict) -> str:
    p = a["precision"]
    return f"jnp.matmul({names[0]}, {names[1]}" + (f", precision={p!r})" if p != "default" else ")")


def lower_linear(names: list, a: dict) -> str:
    p = a["precision"]
    prod = f"jnp.matmul({names[0]}, {names[1]}.T" + (f", precision={p!r})" if p != "default" else ")")
    return f"{prod} + {names[2]}" if a["bias"] else prod


def lower_argsort(names: list, a: dict) -> str:
    return (f"jnp.argsort({names[0]}, axis={a['dim']}, stable=True"
            + (", descending=True)" if a["descending"] else ")"))


def lower_cat(names: list, a: dict) -> str:
    return f"jnp.concatenate([{', '.join(names)}], axis={a['dim']})"


def lower_stack(names: list, a: dict) -> str:
    return f"jnp.stack([{', '.join(names)}], axis={a['dim']})"


def _rng_key(names: list) -> str:
    return f"jax.random.fold_in(jax.random.key({names[0]}), {names[1]})"


def lower_rand(names: list, a: dict) -> str:
    return f"jax.random.uniform({_rng_key(names)}, {a['shape']!r}, {lit(a['dtype'])})"


def lower_randn(names: list, a: dict) -> str:
    return f"jax.random.normal({_rng_key(names)}, {a['shape']!r}, {lit(a['dtype'])})"


def lower_randint(names: list, a: dict) -> str:
    return (f"jax.random.randint({_rng_key(names)}, {a['shape']!r}, {a['low']}, {a['high']}, "
            f"{lit(a['dtype'])})")


def lower_bernoulli_mask(names: list, a: dict) -> str:
    return f"jax.random.bernoulli({_rng_key(names[1:])}, {names[0]}, {a['shape']!r})"


def nll_rule(logp: Any, target: Any, *weight: Any, ignore_index: int, reduction: str) -> tuple:
    """``nll_loss`` over class dim 1 of ``logp`` (N, C, d1, ...) at ``target`` (N, d1, ...)."""
    return (target.shape if reduction == "none" else ()), logp.dtype


def nll_backward_rule(g: Any, target: Any, *weight: Any, ignore_index: int, reduction: str, classes: int) -> tuple:
    return target.shape[:1] + (classes,) + target.shape[1:], g.dtype


def lower_nll(names: list, a: dict) -> str:
    weight = names[2] if len(names) > 2 else "None"
    return f"sg.nll_loss({names[0]}, {names[1]}, {weight}, {a['ignore_index']!r}, {a['reduction']!r})"


def lower_nll_backward(names: list, a: dict) -> str:
    weight = names[2] if len(names) > 2 else "None"
    return (f"sg.nll_loss_backward({names[0]}, {names[1]}, {weight}, {a['ignore_index']!r}, "
            f"{a['reduction']!r}, {a['classes']!r})")

# ---------------------------------------------------------------------------
# the table


RED = ("dims", "keepdim")

# Ops whose float16/bfloat16 results are computed in float32 and rounded once, as PyTorch's kernels
# compute them ("opmath"): a Python number keeps its float32 value (`x * 1.1`), sigmoid(-12) does not
# underflow, a cumulative sum does not lose its small terms.
OPMATH = frozenset(
    "exp log log1p log2 log10 expm1 sqrt rsqrt sin cos tan tanh sigmoid erf reciprocal asin acos atan sinh cosh "
    "asinh acosh atanh sinc softplus gelu add sub mul div pow atan2 xlogy hypot remainder fmod floordiv "
    "cumsum cumprod softmax log_softmax logsumexp addcmul addcdiv lerp".split())

# elementwise, one input
for _name, _rule, _low, _grad in [
    ("neg",     no_bool("neg"), "-{0}",                 "NegBackward0"),
    ("exp",     to_float,  "jnp.exp({0})",               "ExpBackward0"),
    ("log",     to_float,  "jnp.log({0})",               "LogBackward0"),
    ("log1p",   to_float,  "jnp.log1p({0})",             "Log1PBackward0"),
    ("log2",    to_float,  "jnp.log2({0})",              "Log2Backward0"),
    ("log10",   to_float,  "jnp.log10({0})",             "Log10Backward0"),
    ("expm1",   to_float,  "jnp.expm1({0})",             "Expm1Backward0"),
    ("sqrt",    to_float,  "jnp.sqrt({0})",              "SqrtBackward0"),
    ("rsqrt",   to_float,  "lax.rsqrt({0})",             "RsqrtBackward0"),
    ("abs",     same,      "jnp.abs({0})",               "AbsBackward0"),
    ("sign",    same,      "sg.sign({0})",               "SignBackward0"),
    ("sin",     to_float,  "jnp.sin({0})",               "SinBackward0"),
    ("cos",     to_float,  "jnp.cos({0})",               "CosBackward0"),
    ("tan",     to_float,  "jnp.tan({0})",               "TanBackward0"),
    ("tanh",    to_float,  "jnp.tanh({0})",              "TanhBackward0"),
    ("sigmoid", to_float,  "jax.nn.sigmoid({0})",        "SigmoidBackward0"),
    ("relu",    same,      "jnp.where({0} < 0, 0, {0})", "ReluBackward0"),  # (keeps -0. and NaN, as PyTorch)
    ("erf",     to_float,  "lax.erf({0})",               "ErfBackward0"),
    ("floor",   same,      "jnp.floor({0})",             "FloorBackward0"),
    ("ceil",    same,      "jnp.ceil({0})",              "CeilBackward0"),
    ("round",   same,      "jnp.round({0})",             "RoundBackward0"),
    ("trunc",   same,      "jnp.trunc({0})",             "TruncBackward0"),
    ("reciprocal", to_float, "1 / {0}",                  "ReciprocalBackward0"),
    ("asin",    to_float,  "jnp.arcsin({0})",            "AsinBackward0"),
    ("acos",    to_float,  "jnp.arccos({0})",            "AcosBackward0"),
    ("atan",    to_float,  "jnp.arctan({0})",            "AtanBackward0"),
    ("sinh",    to_float,  "jnp.sinh({0})",              "SinhBackward0"),
    ("cosh",    to_float,  "jnp.cosh({0})",              "CoshBackward0"),
    ("asinh",   to_float,  "jnp.arcsinh({0})",           "AsinhBackward0"),
    ("acosh",   to_float,  "jnp.arccosh({0})",           "AcoshBackward0"),
    ("atanh",   to_float,  "jnp.arctanh({0})",           "AtanhBackward0"),
    ("frac",    same,      "{0} - jnp.trunc({0})",       "FracBackward0"),
    ("sinc",    to_float,  "jnp.sinc({0})",              "SincBackward0"),
    ("logical_not", to_bool, "jnp.logical_not({0})",     "NotImplemented"),
    ("isnan",   to_bool,   "jnp.isnan({0})",             "NotImplemented"),
    ("isinf",   to_bool,   "jnp.isinf({0})",             "NotImplemented"),
    ("isfinite", to_bool,  "jnp.isfinite({0})",          "NotImplemented"),
]:
    defop(_name, _rule, _low, _grad, cast=None if _name in ("isnan", "isinf", "isfinite") else "out",  # (tests on the input as it is)
          saves="out" if _name in ("exp", "tanh", "sigmoid", "sqrt", "rsqrt", "relu", "reciprocal")
          # (derivatives that read nothing: PyTorch saves nothing, so a second backward through them works)
          else "" if _name in ("neg", "sign", "floor", "ceil", "round", "trunc", "frac") else "x")

defop("softplus", to_float,
      "jnp.where({0} * {beta} > {threshold}, {0}, jnp.logaddexp({0} * {beta}, 0) / {beta})",
      "SoftplusBackward0", attrs=("beta", "threshold"), cast="out")
defop("hardtanh", same, "jnp.clip({0}, {min_val}, {max_val})", "HardtanhBackward0",
      attrs=("min_val", "max_val"), cast="out")
defop("gelu", to_float, "jax.nn.gelu({0}, approximate={approximate})", "GeluBackward0",
      attrs=("approximate",), cast="out")

# elementwise, two inputs
for _name, _rule, _low, _grad, _cast, _saves in [
    ("add",       binary("add"),        "{0} + {1}",             "AddBackward0",     "out", ""),
    ("sub",       binary("sub"),        "{0} - {1}",             "SubBackward0",     "out", ""),
    ("mul",       binary("mul"),        "{0} * {1}",             "MulBackward0",     "out", "xy"),
    ("div",       binary_float("div"),  "{0} / {1}",             "DivBackward0",     "out", "xy"),
    ("pow",       binary("pow"),        "{0} ** {1}",            "PowBackward0",     "out", "xy"),
    ("floordiv",  binary_nobool("floor_divide"), "{0} // {1}",   "FloorDivideBackward0", "out", ""),
    ("remainder", binary_nobool("remainder"), "{0} % {1}",       "RemainderBackward0", "out", "xy"),
    ("maximum",   binary("maximum"),    "jnp.maximum({0}, {1})", "MaximumBackward0", "out", "xy"),
    ("minimum",   binary("minimum"),    "jnp.minimum({0}, {1})", "MinimumBackward0", "out", "xy"),
    ("atan2",     binary_float("atan2"), "jnp.arctan2({0}, {1})", "Atan2Backward0",  "out", "xy"),
    ("fmod",      binary_nobool("fmod"), "jnp.fmod({0}, {1})",   "FmodBackward1",    "out", "xy"),
    ("fmax",      binary("fmax"),       "jnp.fmax({0}, {1})",    "FmaxBackward0",    "out", "xy"),
    ("fmin",      binary("fmin"),       "jnp.fmin({0}, {1})",    "FminBackward0",    "out", "xy"),
    ("xlogy",     binary_float("xlogy"), "sg.xlogy({0}, {1})",   "XlogyBackward0",   "out", "xy"),
    ("logaddexp", binary_float("logaddexp"), "jnp.logaddexp({0}, {1})", "LogaddexpBackward0", "out", "xy"),
    ("lt",        compare("lt"),        "{0} < {1}",             "NotImplemented",   "common", ""),
    ("le",        compare("le"),        "{0} <= {1}",            "NotImplemented",   "common", ""),
    ("gt",        compare("gt"),        "{0} > {1}",             "NotImplemented",   "common", ""),
    ("ge",        compare("ge"),        "{0} >= {1}",            "NotImplemented",   "common", ""),
    ("eq",        compare("eq"),        "{0} == {1}",            "NotImplemented",   "common", ""),
    ("ne",        compare("ne"),        "{0} != {1}",            "NotImplemented",   "common", ""),
    ("logical_and", logical("logical_and"), "jnp.logical_and({0}, {1})", "NotImplemented", None, ""),
    ("logical_or",  logical("logical_or"),  "jnp.logical_or({0}, {1})",  "NotImplemented", None, ""),
    ("logical_xor", logical("logical_xor"), "jnp.logical_xor({0}, {1})", "NotImplemented", None, ""),
    ("bitwise_and", bitwise("bitwise_and"), "{0} & {1}", "NotImplemented", "common", ""),
    ("bitwise_or",  bitwise("bitwise_or"),  "{0} | {1}", "NotImplemented", "common", ""),
    ("bitwise_xor", bitwise("bitwise_xor"), "{0} ^ {1}", "NotImplemented", "common", ""),
    ("bitwise_left_shift",  bitwise("lshift"), "jnp.left_shift({0}, {1})",  "NotImplemented", "common", ""),
    ("bitwise_right_shift", bitwise("rshift"), "jnp.right_shift({0}, {1})", "NotImplemented", "common", ""),
    ("gcd",       bitwise("gcd"),       "jnp.gcd({0}, {1})",     "NotImplemented",   "common", ""),
    ("lcm",       bitwise("lcm"),       "jnp.lcm({0}, {1})",     "NotImplemented",   "common", ""),
]:
    defop(_name, _rule, _low, _grad, cast=_cast, saves=_saves)

defop("bitwise_not", bitwise("bitwise_not"), "jnp.invert({0})", "NotImplemented", saves="")
defop("where", where_rule, "jnp.where({0}, {1}, {2})", "WhereBackward0", cast=(1, 2), saves="c")
defop("clamp", clamp_rule, lower_clamp, "ClampBackward1", attrs=("has_lo", "has_hi"), cast="out")
defop("lerp", lerp_rule, lower_lerp, "LerpBackward0", saves="")
defop("addcmul", addc_rule("addcmul"), lambda n, a: f"{n[0]} + {n[3]} * {n[1]} * {n[2]}", "AddcmulBackward0",
      cast=(0, 1, 2), saves="")
defop("addcdiv", addc_rule("addcdiv"), lambda n, a: f"{n[0]} + {n[3]} * {n[1]} / {n[2]}", "AddcdivBackward0",
      cast=(0, 1, 2), saves="")

# reductions
defop("sum",    reduction("sum"),   "jnp.sum({0}, axis={dims}, keepdims={keepdim})",  "SumBackward1", RED, saves="")
defop("mean",   reduction("float"), "jnp.mean({0}, axis={dims}, keepdims={keepdim})", "MeanBackward1", RED, saves="")
defop("prod",   reduction("prod"),  "jnp.prod({0}, axis={dims}, keepdims={keepdim})", "ProdBackward1", RED,
      cast="out", saves="x")
defop("amax",   reduction("keep"),  "jnp.max({0}, axis={dims}, keepdims={keepdim})",  "AmaxBackward0", RED, saves="x")
defop("amin",   reduction("keep"),  "jnp.min({0}, axis={dims}, keepdims={keepdim})",  "AminBackward0", RED, saves="x")
defop("norm",   reduction("float"), "jnp.sqrt(jnp.sum({0} * {0}, axis={dims}, keepdims={keepdim}))",
      "LinalgVectorNormBackward0", RED, saves="x")
defop("argmax", reduction("index"), lambda n, a: f"jnp.argmax({n[0]}, axis={a['dims'][0]}, keepdims={a['keepdim']})",
      "NotImplemented", RED)
defop("argsort", argsort_rule, lower_argsort, "NotImplemented", ("dim", "descending", "stable"))
defop("argmin", reduction("index"), lambda n, a: f"jnp.argmin({n[0]}, axis={a['dims'][0]}, keepdims={a['keepdim']})",
      "NotImplemented", RED)
defop("logsumexp", reduction("float"), "jax.nn.logsumexp({0}, axis={dims}, keepdims={keepdim})",
      "LogsumexpBackward0", RED, saves="out")
defop("nansum", reduction("sum"), "jnp.nansum({0}, axis={dims}, keepdims={keepdim})", "NansumBackward0", RED,
      saves="x")
defop("vector_norm", reduction("float"), lambda n, a: f"sg.vector_norm({n[0]}, {lit(a['ord'])}, {a['dims']}, "
      f"{a['keepdim']})", "LinalgVectorNormBackward0", ("ord",) + RED, saves="x")
defop("median", lambda x, k: ((), x.dtype), "sg.median_all({0}, {k})", "MedianBackward0", ("k",), saves="x")
defop("trace", lambda x: ((), x.dtype if x.dtype.category == 2 else D.int64), "jnp.trace({0})", "TraceBackward0",
      cast="out", saves="")
defop("cumextreme", lambda x, dim, kind: (x.shape, x.dtype), lambda n, a: f"lax.{a['kind']}({n[0]}, axis={a['dim']})",
      "NotImplemented", ("dim", "kind"))
defop("softmax",     same, "jax.nn.softmax({0}, axis={dim})",     "SoftmaxBackward0",    ("dim",), saves="out")
defop("log_softmax", same, "jax.nn.log_softmax({0}, axis={dim})", "LogSoftmaxBackward0", ("dim",), saves="out")

# scans along one dim (integer and bool inputs give int64, as in PyTorch)
def scan_rule(x: Any, dim: int) -> tuple:
    return x.shape, D.int64 if x.dtype.category < 2 else x.dtype


defop("cumsum",  scan_rule, "jnp.cumsum({0}, axis={dim})",  "CumsumBackward0",  ("dim",), cast="out", saves="")
defop("cumprod", scan_rule, "jnp.cumprod({0}, axis={dim})", "CumprodBackward0", ("dim",), cast="out", saves="x")

# linear algebra
defop("matmul", matmul_shape, lower_matmul, "MmBackward0", ("precision",), saves="xy")
defop("linear", linear_shape, lower_linear, "AddmmBackward0", ("precision", "bias"), saves="xy")

# shapes
defop("reshape",   reshape_rule, "{0}.reshape({shape})",           "ViewBackward0",      ("shape",), saves="")
defop("expand",    expand_rule,  "jnp.broadcast_to({0}, {shape})", "ExpandBackward0",    ("shape",), saves="")
defop("permute",   permute_rule, "jnp.transpose({0}, {perm})",     "PermuteBackward0",   ("perm",), saves="")
defop("cat",       cat_rule,     lower_cat,                        "CatBackward0",       ("dim",), cast="out", saves="")
defop("stack",     stack_rule,   lower_stack,                      "StackBackward0",     ("dim",), cast="out", saves="")
defop("index",     index_shape,  lower_index,                      "IndexBackward0",     ("spec",), saves="")
# X[i] and X[i:i + size] of a tensor that is a program input: the position is an input too
# (tensor.py's _dynamic_rows), so a loop over a dataset's batches reuses one program
defop("dyn_select", dyn_rows_rule, "lax.dynamic_index_in_dim({0}, {1}, 0, keepdims=False)", "SelectBackward0",
      saves="")
defop("dyn_slice",  dyn_rows_rule, "lax.dynamic_slice_in_dim({0}, {1}, {size}, 0)", "SliceBackward0", ("size",),
      saves="")
defop("dyn_pad",    dyn_pad_rule,  lower_dyn_pad, "SliceBackwardBackward0", ("rows", "select"), saves="")
defop("index_put", index_put_rule, lower_index_put,                "IndexPutBackward0",  ("spec", "accumulate"), cast=(0, 1), saves="")
defop("gather",    gather_rule,  "jnp.take_along_axis({0}, {1}, axis={dim})", "GatherBackward0", ("dim",), saves="")
defop("take_along", take_along_rule,
      lambda n, a: f"jnp.take_along_axis({n[0]}, {n[1]}, axis={a['dim']})" + ("" if a["keepdim"] else
                                                                               f".squeeze({a['dim']})"),
      "MaxBackward0", ("dim", "keepdim"), saves="")
defop("scatter_add", scatter_add_rule,
      "sg.scatter_add_along({0}, {1}, {2}, {dim})", "ScatterAddBackward0", ("dim",), cast=(0, 2), saves="")
# losses: nll_loss is one op (as PyTorch's NllLossBackward0 is one node), its gradient another
defop("nll_loss",  nll_rule,     lower_nll,                         "NllLossBackward0",   ("ignore_index", "reduction"),
      saves="")
defop("nll_loss_backward", nll_backward_rule, lower_nll_backward,  "NllLossBackwardBackward0",
      ("ignore_index", "reduction", "classes"), saves="")
defop("cast",      cast_rule,    "{0}.astype({dtype})",             "ToCopyBackward0",   ("dtype",), saves="")
defop("identity",  same,         "{0}",                             "AliasBackward0",    saves="")

# custom autograd.Function: one "fn_call" node per call, one "fn_out" per output (see autograd/function.py)
defop("fn_call",   lambda *xs, fn, ctx: ((), D.float32), "jnp.zeros((), jnp.float32)", "FunctionBackward",
      ("fn", "ctx"), saves="")
defop("fn_out",    lambda x, call, fn, ctx, k: (x.shape, x.dtype), "{0}", "FunctionBackward", ("fn", "ctx", "k"),
      saves="")
defop("to_device", same, "{0}", "ToCopyBackward0", ("device",), saves="")
# An in-place change autograd does not see (under no_grad, or made through a detached
# alias) of a tensor with history: the value is the new one, the gradient goes to the old.
defop("nograd_update", lambda old, new: (old.shape, old.dtype), "{1}", "CopyBackwards", saves="")
# A view taken under no_grad of a tensor that requires grad: PyTorch's such views require grad
# but have no grad_fn, and nothing flows back through them. Its input (the view, recorded under
# no_grad) does not require grad, so the transformer never walks past it.
defop("nograd_view", same, "{0}", "NoGradViewBackward", saves="")

defop("const",     lambda *, value: ((), None), "{value}", "NotImplemented", ("value",))

# creation (no tensor inputs, or scalar program inputs such as the fill value and RNG state)
defop("full",     creation_rule, "jnp.full({shape}, {0}, {dtype})", "NotImplemented", ("shape", "dtype"))
defop("arange",   creation_rule, "sg.arange({start}, {end}, {step}, {dtype})", "NotImplemented",
      ("start", "end", "step", "shape", "dtype"))
defop("linspace", creation_rule, "sg.linspace({start}, {end}, {steps}, {dtype})", "NotImplemented",
      ("start", "end", "steps", "shape", "dtype"))
defop("eye",      creation_rule, "jnp.eye({n}, {m}, dtype={dtype})", "NotImplemented", ("n", "m", "shape", "dtype"))
defop("rand",     creation_rule, lower_rand, "NotImplemented", ("shape", "dtype"))
defop("randn",    creation_rule, lower_randn, "NotImplemented", ("shape", "dtype"))
defop("randint",  creation_rule, lower_randint, "NotImplemented", ("low", "high", "shape", "dtype"))
defop("bernoulli", creation_rule, lower_bernoulli_mask, "NotImplemented", ("shape", "dtype"))

# ---------------------------------------------------------------------------
# activations and losses computed as one op each (one recorded node, PyTorch's grad_fn name)


def float_kernel(kernel: str) -> Callable:
    """An elementwise op PyTorch implements for floating types only (``"elu_cpu" not implemented for 'Long'``)."""
    def rule(x: Any, **_: Any) -> tuple:
        if not x.dtype.is_floating_point:
            raise NotImplementedError(f'"{kernel}" not implemented for '
                                      f"'{TORCH_TYPE_NAMES.get(x.dtype.name, x.dtype.name)}'")
        return x.shape, x.dtype
    return rule


def _into(out: tuple, other: tuple) -> None:
    """PyTorch's in-place broadcast check: ``other`` must broadcast into ``out`` without growing it."""
    got = broadcast_shapes(out, other, "mul_")
    if got != out:
        raise RuntimeError(f"output with shape {fmt_shape(out)} doesn't match the broadcast shape {fmt_shape(got)}")


def layer_norm_rule(x: Any, *params: Any, k: int, eps: float, has_weight: bool, has_bias: bool,
                    upcast: Any) -> tuple:
    """``F.layer_norm`` over the last ``k`` dims (its arguments are checked by ``F.layer_norm``);
    ``upcast``: the input's dtype when it is computed in float32 (float16 and bfloat16, as PyTorch on the
    CPU), else None."""
    return x.shape, x.dtype


def lower_layer_norm(names: list, a: dict) -> str:
    x = f"({names[0]}).astype(jnp.float32)" if a["upcast"] else names[0]
    axes = tuple(range(-a["k"], 0))
    out = (f"({x} - jnp.mean({x}, axis={axes}, keepdims=True)) * "
           f"lax.rsqrt(jnp.var({x}, axis={axes}, keepdims=True) + {a['eps']!r})")
    it = iter(names[1:])
    if a["has_weight"]:
        out = f"{out} * {next(it)}"
    if a["has_bias"]:
        out = f"{out} + {next(it)}"
    return f"({out}).astype({lit(a['upcast'])})" if a["upcast"] else out


def _loss_reduce(expr: str, reduction: str) -> str:
    return expr if reduction == "none" else f"jnp.mean({expr})" if reduction == "mean" else f"jnp.sum({expr})"


def bce_rule(x: Any, t: Any, *w: Any, reduction: str) -> tuple:
    """``binary_cross_entropy(x, t, weight)``: the weight multiplies the loss in place, as PyTorch's."""
    if w:
        _into(x.shape, w[0].shape)
    return (x.shape if reduction == "none" else ()), x.dtype


def lower_bce(names: list, a: dict) -> str:
    # PyTorch's kernel: (t - 1) * max(log1p(-x), -100) - t * max(log(x), -100)
    x, t = names[0], names[1]
    loss = f"({t} - 1) * jnp.maximum(jnp.log1p(-{x}), -100) - {t} * jnp.maximum(jnp.log({x}), -100)"
    if len(names) > 2:
        loss = f"({loss}) * {names[2]}"
    return _loss_reduce(loss, a["reduction"])


def bce_logits_rule(x: Any, t: Any, *wp: Any, reduction: str, has_weight: bool, has_pos_weight: bool) -> tuple:
    """``binary_cross_entropy_with_logits``: PyTorch computes ``(1 - t).mul_(x).sub_(...)`` in the target's
    dtype, and multiplies the weights in place."""
    name = TORCH_TYPE_NAMES.get
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"log_sigmoid_cpu\" not implemented for '{name(x.dtype.name, x.dtype.name)}'")
    if t.dtype.category == 0:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if not t.dtype.is_floating_point:
        d = _promoted((x, t))
        raise RuntimeError(f"result type {name(d.name, d.name)} can't be cast to the desired output type "
                           f"{name(t.dtype.name, t.dtype.name)}")
    it = iter(wp)
    if has_weight:
        _into(x.shape, next(it).shape)
    if has_pos_weight:
        _into(x.shape, broadcast_shapes(next(it).shape, t.shape, "mul"))
    return (x.shape if reduction == "none" else ()), t.dtype


def lower_bce_logits(names: list, a: dict) -> str:
    # PyTorch's: (1 - t) * x - log_sigmoid(x) * ((pos_weight - 1) * t + 1), times weight
    x, t = names[0], names[1]
    it = iter(names[2:])
    w = next(it) if a["has_weight"] else None
    log_sig = f"jax.nn.log_sigmoid({x})"
    if a["has_pos_weight"]:
        log_sig = f"{log_sig} * (({next(it)} - 1) * {t} + 1)"
    loss = f"(1 - {t}) * {x} - {log_sig}"
    if w is not None:
        loss = f"({loss}) * {w}"
    return _loss_reduce(loss, a["reduction"])


def embedding_rule(w: Any, idx: Any, padding_idx: Any) -> tuple:
    return idx.shape + w.shape[1:], w.dtype


defop("leaky_relu", float_kernel("leaky_relu_cpu"), "jnp.where({0} > 0, {0}, {0} * {negative_slope})",
      "LeakyReluBackward0", attrs=("negative_slope",))
defop("elu", float_kernel("elu_cpu"), "jnp.where({0} > 0, {0}, {alpha} * jnp.expm1({0}))", "EluBackward0",
      attrs=("alpha",))
defop("silu", float_kernel("silu_cpu"), "jax.nn.silu({0})", "SiluBackward0")
defop("log_sigmoid", float_kernel("log_sigmoid_cpu"), "jax.nn.log_sigmoid({0})", "LogSigmoidBackward0")
defop("layer_norm", layer_norm_rule, lower_layer_norm, "NativeLayerNormBackward0",
      attrs=("k", "eps", "has_weight", "has_bias", "upcast"))
defop("binary_cross_entropy", bce_rule, lower_bce, "BinaryCrossEntropyBackward0", attrs=("reduction",))
defop("binary_cross_entropy_with_logits", bce_logits_rule, lower_bce_logits,
      "BinaryCrossEntropyWithLogitsBackward0", attrs=("reduction", "has_weight", "has_pos_weight"), cast="out")
# (reads the indices only, as PyTorch's EmbeddingBackward0 saves them and the weight's size)
defop("embedding", embedding_rule, "{0}[{1}]", "EmbeddingBackward0", attrs=("padding_idx",), saves="y")

def logit_rule(x: Any, eps: Any) -> tuple:
    return x.shape, _float_of(x.dtype)


def lower_logit(names: list, a: dict) -> str:
    x = names[0] if a["eps"] is None else f"jnp.clip({names[0]}, {a['eps']!r}, 1 - {a['eps']!r})"
    return f"jnp.log({x} / (1 - {x}))"


def nan_to_num_rule(x: Any, nan: float, posinf: Any, neginf: Any) -> tuple:
    return x.shape, x.dtype


def lower_nan_to_num(names: list, a: dict) -> str:
    return (f"jnp.nan_to_num({names[0]}, nan={lit(a['nan'])}, posinf={lit(a['posinf'])}, "
            f"neginf={lit(a['neginf'])})")


def dist_rule(x: Any, y: Any, p: float) -> tuple:
    broadcast_shapes(x.shape, y.shape, "dist")
    return (), _float_of(_promoted((x, y)))


def cdist_rule(x1: Any, x2: Any) -> tuple:
    a, b = x1.shape, x2.shape
    if len(a) < 2 or len(b) < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {len(a)}D")
    if a[-1] != b[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {a[-1]} X2: {b[-1]}")
    if not x1.dtype.is_floating_point:
        raise RuntimeError("cdist only supports floating-point dtypes, X1 got: "
                           f"{TORCH_TYPE_NAMES.get(x1.dtype.name, x1.dtype.name)}")
    return broadcast_shapes(a[:-2], b[:-2], "cdist") + (a[-2], b[-2]), _promoted((x1, x2))


def einsum_rule(*xs: Any, eq: str) -> tuple:
    """``eq``: an explicit equation without ellipses (``Tensor``-level ``einsum`` writes it so)."""
    ins, out = eq.split("->")
    sizes: dict = {}
    for x, sub in zip(xs, ins.split(",")):
        for c, n in zip(sub, x.shape):
            if sizes.setdefault(c, n) != n:
                if sizes[c] == 1 or n == 1:  # (broadcast, as PyTorch's einsum allows)
                    sizes[c] = max(sizes[c], n)
                else:
                    raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes (original "
                                       f"shapes): {' '.join(fmt_shape(x.shape) for x in xs)}")
    return tuple(sizes[c] for c in out), _promoted(xs) if len(xs) > 1 else xs[0].dtype


def lower_einsum(names: list, a: dict) -> str:
    return f"jnp.einsum({a['eq']!r}, {', '.join(names)})"


def pointwise_loss_rule(x: Any, t: Any, *, delta: float, reduction: str) -> tuple:
    shape = broadcast_shapes(x.shape, t.shape, "loss")  # (checked whatever the reduction: at the user's line)
    return (shape if reduction == "none" else ()), _promoted((x, t))


def lower_smooth_l1(names: list, a: dict) -> str:
    x, t, beta = names[0], names[1], a["delta"]
    d = f"jnp.abs({x} - {t})"
    loss = d if beta == 0 else f"jnp.where({d} < {beta!r}, 0.5 * ({x} - {t}) ** 2 / {beta!r}, {d} - {0.5 * beta!r})"
    return _loss_reduce(loss, a["reduction"])


def lower_huber(names: list, a: dict) -> str:
    x, t, delta = names[0], names[1], a["delta"]
    d = f"jnp.abs({x} - {t})"
    loss = f"jnp.where({d} < {delta!r}, 0.5 * ({x} - {t}) ** 2, {delta!r} * ({d} - {0.5 * delta!r}))"
    return _loss_reduce(loss, a["reduction"])


defop("logit", logit_rule, lower_logit, "LogitBackward0", attrs=("eps",), cast="out")
defop("nan_to_num", nan_to_num_rule, lower_nan_to_num, "NanToNumBackward0", attrs=("nan", "posinf", "neginf"))
defop("dist", dist_rule, "sg.dist({0}, {1}, {p})", "DistBackward0", attrs=("p",), cast="out", saves="xy")
defop("cdist", cdist_rule, "sg.cdist({0}, {1})", "CdistBackward0", cast="out", saves="xy")
defop("einsum", einsum_rule, lower_einsum, "ViewBackward0", attrs=("eq",), cast="out", saves="x")
defop("smooth_l1_loss", pointwise_loss_rule, lower_smooth_l1, "SmoothL1LossBackward0", attrs=("delta", "reduction"),
      cast="out", saves="xy")
defop("huber_loss", pointwise_loss_rule, lower_huber, "HuberLossBackward0", attrs=("delta", "reduction"),
      cast="out", saves="xy")



# flips, rolls, diagonals, addmm, special functions
def flip_rule(x: Any, dims: tuple) -> tuple:
    return x.shape, x.dtype


def roll_rule(x: Any, shifts: tuple, dims: Any) -> tuple:
    return x.shape, x.dtype


def lower_roll(names: list, a: dict) -> str:
    if a["dims"] is None:  # (over the flattened tensor, its shape kept)
        return f"jnp.roll({names[0]}, {a['shifts'][0]!r})"
    return f"jnp.roll({names[0]}, {a['shifts']!r}, axis={a['dims']!r})"


def diagonal_rule(x: Any, offset: int, dim1: int, dim2: int) -> tuple:
    n1, n2 = x.shape[dim1], x.shape[dim2]
    n = max(0, min(n1 - max(-offset, 0), n2 - max(offset, 0)))
    rest = tuple(s for i, s in enumerate(x.shape) if i not in (dim1, dim2))
    return rest + (n,), x.dtype


def diag_embed_rule(x: Any, offset: int, dim1: int, dim2: int, size1: int, size2: int) -> tuple:
    """The inverse of ``diagonal``: ``x``'s last dim written on the ``offset`` diagonal of the
    (``size1``, ``size2``) planes at ``dim1``, ``dim2`` of the result, zeros elsewhere."""
    batch = list(x.shape[:-1])
    out: list = [None] * (len(batch) + 2)
    out[dim1], out[dim2] = size1, size2
    it = iter(batch)
    return tuple(s if s is not None else next(it) for s in out), x.dtype


def addmm_rule(x: Any, m1: Any, m2: Any, beta: Any, alpha: Any, precision: str) -> tuple:
    if len(m1.shape) != 2 or len(m2.shape) != 2:
        raise RuntimeError(f"mat1 must be a matrix, got {len(m1.shape)}-D tensor" if len(m1.shape) != 2 else
                           f"mat2 must be a matrix, got {len(m2.shape)}-D tensor")
    shape, d = matmul_shape(m1, m2)
    if x.dtype is not d and not x.dtype.weak:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{TORCH_TYPE_NAMES.get(x.dtype.name, x.dtype.name)} and "
                           f"{TORCH_TYPE_NAMES.get(d.name, d.name)}")
    _into(shape, x.shape)
    return shape, d


def lower_addmm(names: list, a: dict) -> str:
    p = a["precision"]
    prod = f"jnp.matmul({names[1]}, {names[2]}" + (f", precision={p!r})" if p != "default" else ")")
    prod = prod if a["alpha"] == 1 else f"{a['alpha']!r} * {prod}"
    if a["beta"] == 0:  # (PyTorch ignores the input, NaNs included)
        return f"jnp.broadcast_to({prod}, jnp.broadcast_shapes(jnp.shape({names[0]}), jnp.shape({prod})))"
    return f"{names[0]} + {prod}" if a["beta"] == 1 else f"{a['beta']!r} * {names[0]} + {prod}"


for _name, _rule, _low, _grad in [
    ("deg2rad", to_float, "{0} * 0.017453292519943295", "Deg2RadBackward0"),
    ("rad2deg", to_float, "{0} * 57.29577951308232", "Rad2DegBackward0"),
    ("lgamma",  to_float, "sg.lgamma({0})",         "LgammaBackward0"),
    ("digamma", to_float, "sg.digamma({0})",        "DigammaBackward0"),
    ("erfinv",  to_float, "sg.erfinv({0})",         "ErfinvBackward0"),
    ("signbit", to_bool,  "jnp.signbit({0})",       "NotImplemented"),
]:
    defop(_name, _rule, _low, _grad, cast=None if _name == "signbit" else "out",
          saves="out" if _name == "erfinv" else "x")
defop("polygamma", lambda x, n: (x.shape, _float_of(x.dtype)), "sg.polygamma({n}, {0})", "PolygammaBackward0",
      ("n",), cast="out")
defop("hypot", binary_float("hypot"), "jnp.hypot({0}, {1})", "HypotBackward0", cast="out", saves="xy")


def nextafter_rule(x: Any, y: Any) -> tuple:
    d = _promoted((x, y))
    if d.category != 2:  # (PyTorch's kernel takes floating dtypes only)
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{TORCH_TYPE_NAMES.get(d.name, d.name)}'")
    return broadcast_shapes(x.shape, y.shape, "nextafter"), d


defop("nextafter", nextafter_rule, "jnp.nextafter({0}, {1})", "NextafterBackward0", cast="out", saves="")
defop("copysign", binary_float("copysign"), "jnp.copysign({0}, {1})", "CopysignBackward0", cast="out", saves="x")
defop("flip", flip_rule, "jnp.flip({0}, axis={dims})", "FlipBackward0", ("dims",), saves="")
defop("roll", roll_rule, lower_roll, "RollBackward0", ("shifts", "dims"), saves="")
defop("diagonal", diagonal_rule, "jnp.diagonal({0}, {offset}, {dim1}, {dim2})", "DiagonalBackward0",
      ("offset", "dim1", "dim2"), saves="")
defop("diag_embed", diag_embed_rule, "sg.diag_embed({0}, {offset}, {dim1}, {dim2}, {size1}, {size2})",
      "DiagEmbedBackward0", ("offset", "dim1", "dim2", "size1", "size2"), saves="")
defop("addmm", addmm_rule, lower_addmm, "AddmmBackward0", ("beta", "alpha", "precision"), cast="out", saves="xy")

# ---------------------------------------------------------------------------
# scatters, linear algebra, searchsorted/bucketize, histc


def _tname(d: D.dtype) -> str:
    return TORCH_TYPE_NAMES.get(d.name, d.name.title())


def _check_scatter(opname: str, x: Any, index: Any, src: Any, dim: int) -> None:
    """PyTorch's scatter/scatter_add/scatter_reduce checks on index and src (src a number or a tensor)."""
    if index.dtype is not D.int64 and index.dtype is not D.int32:
        raise RuntimeError(f"{opname}(): Expected dtype int32/int64 for index")
    is_tensor = not src.dtype.weak
    if is_tensor and src.dtype is not x.dtype:
        raise RuntimeError(f"{opname}(): Expected self.dtype to be equal to src.dtype")
    if not index.shape:
        return
    if len(index.shape) != len(x.shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if is_tensor and len(index.shape) != len(src.shape):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    bad_self = any(i > s for d, (i, s) in enumerate(zip(index.shape, x.shape)) if d != dim)
    if is_tensor:
        if bad_self or any(i > s for i, s in zip(index.shape, src.shape)):
            raise RuntimeError(f"Expected index {fmt_shape(index.shape)} to be no larger than self "
                               f"{fmt_shape(x.shape)} apart from dimension {dim} and to be no larger size than "
                               f"src {fmt_shape(src.shape)}")
    elif bad_self:
        raise RuntimeError(f"Expected index {fmt_shape(index.shape)} to be no larger than self "
                           f"{fmt_shape(x.shape)} apart from dimension {dim}")


def scatter_rule(x: Any, index: Any, src: Any, dim: int, reduce: Any) -> tuple:
    _check_scatter("scatter", x, index, src, dim)
    return x.shape, x.dtype


def scatter_reduce_rule(x: Any, index: Any, src: Any, dim: int, reduce: str, include_self: bool) -> tuple:
    _check_scatter("scatter_reduce", x, index, src, dim)
    return x.shape, x.dtype


def diagonal_scatter_rule(x: Any, src: Any, offset: int, dim1: int, dim2: int) -> tuple:
    want, _ = diagonal_rule(x, offset, dim1, dim2)
    if tuple(src.shape) != want:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{fmt_shape(src.shape)}, slice size = {fmt_shape(want)}")
    return x.shape, x.dtype


# PyTorch's refusals of float16/bfloat16 matrices (LAPACK has no such kernels; neither has XLA's CPU
# linear algebra, which would fail only when the program is compiled): what each op raises
_LOW_PRECISION = {
    "linalg.inv": (RuntimeError, "linalg.inv: Low precision dtypes not supported. Got {}"),
    "linalg.slogdet": (RuntimeError, "linalg.slogdet: Low precision dtypes not supported. Got {}"),
    "linalg.det": (NotImplementedError, "\"lu_cpu\" not implemented for '{}'"),
    "linalg.solve": (NotImplementedError, "\"lu_cpu\" not implemented for '{}'"),
    "torch.lu_factor": (NotImplementedError, "\"lu_cpu\" not implemented for '{}'"),
    "torch.linalg.lu_solve": (NotImplementedError, "\"lu_cpu\" not implemented for '{}'"),
    "linalg.cholesky": (NotImplementedError, "\"cholesky_cpu\" not implemented for '{}'"),
    "linalg.eigh": (NotImplementedError, "\"linalg_eigh_cpu\" not implemented for '{}'"),
    "linalg.svd": (NotImplementedError, "\"linalg_svd_cpu\" not implemented for '{}'"),
    "linalg.qr": (NotImplementedError, "\"geqrf_cpu\" not implemented for '{}'"),
    "linalg.solve_triangular": (NotImplementedError, "\"triangular_solve_cpu\" not implemented for '{}'"),
    "linalg.lstsq": (RuntimeError, "This function doesn't handle types other than float and double"),
    "linalg.matrix_rank": (RuntimeError, "This function doesn't handle types other than float and double"),
}


def _low_precision(opname: str, x: Any) -> None:
    refusal = _LOW_PRECISION.get(opname)
    if refusal is not None and x.dtype in (D.float16, D.bfloat16):
        raise refusal[0](refusal[1].format(_tname(x.dtype)))


def _matrices(opname: str, x: Any, square: bool = True, what: str = "A") -> tuple:
    """PyTorch's linalg checks: at least 2 dims, floating point (not float16/bfloat16 where LAPACK has
    no kernel), square where ``square``."""
    if len(x.shape) < 2:
        raise RuntimeError(f"{opname}: The input tensor {what} must have at least 2 dimensions.")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: Expected a floating point or complex tensor as input. Got {_tname(x.dtype)}")
    _low_precision(opname, x)
    m, n = x.shape[-2:]
    if square and m != n:
        raise RuntimeError(f"{opname}: {what} must be batches of square matrices, but they are {m} by {n} matrices")
    return m, n


def square_rule(opname: str, kind: str) -> Callable:
    """Ops of one batch of square matrices: ``kind`` says the result's shape (the same, one number
    a matrix, or one vector a matrix)."""
    def rule(x: Any, **_: Any) -> tuple:
        _matrices(opname, x)
        shape = x.shape if kind == "same" else x.shape[:-2] if kind == "scalar" else x.shape[:-1]
        return shape, x.dtype
    return rule


def eigh_rule(x: Any, upper: bool, part: int) -> tuple:
    _matrices("linalg.eigh", x)
    return (x.shape[:-1] if part == 0 else x.shape), x.dtype


def qr_rule(x: Any, part: int, mode: str) -> tuple:
    """Q (``part`` 0: m x k, m x m where ``mode="complete"``, empty where ``"r"``) or R (k x n, m x n
    where complete)."""
    m, n = _matrices("linalg.qr", x, square=False)
    k = m if mode == "complete" else min(m, n)
    if part == 0:
        return ((0,) if mode == "r" else x.shape[:-2] + (m, k)), x.dtype
    return x.shape[:-2] + (k, n), x.dtype


def svd_rule(x: Any, part: int, full: bool) -> tuple:
    m, n = _matrices("linalg.svd", x, square=False)
    k = min(m, n)
    return x.shape[:-2] + ((m, m if full else k), (k,), (n if full else k, n))[part], x.dtype


def pinv_rule(x: Any, atol: Any, rtol: Any, hermitian: bool) -> tuple:
    """``linalg.pinv``: tolerance tensors broadcast with the batch (and may widen it), as PyTorch's
    (whose hermitian form is eigh's: its error for a matrix that is not square)."""
    m, n = _matrices("linalg.eigh" if hermitian else "linalg.pinv", x, square=hermitian)
    batch = broadcast_shapes(broadcast_shapes(x.shape[:-2], rtol.shape, "linalg.pinv"), atol.shape, "linalg.pinv")
    return batch + (n, m), x.dtype


def _lu_input(opname: str, x: Any) -> tuple:
    """PyTorch's checks of an input to factorise: at least 2 dims, floating point."""
    if len(x.shape) < 2:
        raise RuntimeError(f"{opname}: Expected tensor with 2 or more dimensions. Got size: "
                           f"{fmt_shape(x.shape)} instead")
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{_tname(x.dtype)}'")
    _low_precision(opname, x)
    return x.shape[-2:]


def linalg_lu_rule(x: Any, part: int) -> tuple:
    """``linalg.lu``: P (``part`` 0, m x m), L (1, m x k) or U (2, k x n)."""
    m, n = _lu_input("torch.lu_factor", x)
    k = min(m, n)
    return x.shape[:-2] + ((m, m), (m, k), (k, n))[part], x.dtype


def lu_factor_rule(x: Any, part: int) -> tuple:
    """``linalg.lu_factor_ex``: the packed LU (``part`` 0), the int32 pivots (1) or info (2)."""
    m, n = _lu_input("torch.lu_factor", x)
    if part == 0:
        return x.shape, x.dtype
    return (x.shape[:-2] + (min(m, n),), D.int32) if part == 1 else (x.shape[:-2], D.int32)


def lu_unpack_rule(lu: Any, pivots: Any, part: int) -> tuple:
    """``torch.lu_unpack``: P (``part`` 0), L (1) or U (2) from ``linalg.lu_factor``'s results."""
    if len(lu.shape) < 2:
        raise RuntimeError(f"torch.lu_unpack: Expected tensor with 2 or more dimensions. Got size: "
                           f"{fmt_shape(lu.shape)} instead")
    if pivots.dtype is not D.int32:
        raise RuntimeError("torch.lu_unpack: LU_pivots is expected to be a contiguous tensor of torch.int32 dtype.\n"
                           "Note: this function is intended to be used with the output produced by "
                           "torch.linalg.lu_factor")
    m, n = lu.shape[-2:]
    k = min(m, n)
    if tuple(pivots.shape) != tuple(lu.shape[:-2]) + (k,):
        raise RuntimeError(f"torch.lu_unpack: Expected LU_pivots.size(-1) == min(LU.size(-1), LU.size(-2)) and "
                           f"the batch shapes of LU_data and LU_pivots to agree, but got LU_data "
                           f"{fmt_shape(lu.shape)} and LU_pivots {fmt_shape(pivots.shape)}")
    return lu.shape[:-2] + ((m, m), (m, k), (k, n))[part], lu.dtype


def lu_solve_rule(lu: Any, pivots: Any, b: Any, left: bool, adjoint: bool) -> tuple:
    """``linalg.lu_solve``: PyTorch's checks, in its order; LU's and B's batches broadcast."""
    n, _ = _matrices("torch.linalg.lu_solve", lu)
    if len(b.shape) < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {b.shape[-2]}x{b.shape[-1]})")
    if pivots.dtype is not D.int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if not pivots.shape or pivots.shape[-1] != n:
        raise RuntimeError("linalg.lu_solve: Number of pivots per batch should be same as the dimension of the matrix")
    if tuple(pivots.shape[:-1]) != tuple(lu.shape[:-2]):
        raise RuntimeError(f"linalg.lu_solve: Expected LU.shape[:-2] == pivots.shape[:-1], but got LU "
                           f"{fmt_shape(lu.shape)} and pivots {fmt_shape(pivots.shape)}")
    if lu.dtype is not b.dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{_tname(lu.dtype)} and B of type {_tname(b.dtype)} instead")
    return broadcast_shapes(lu.shape[:-2], b.shape[:-2], "linalg.lu_solve") + b.shape[-2:], lu.dtype


def matrix_rank_rule(x: Any, atol: Any, rtol: Any, hermitian: bool) -> tuple:
    _matrices("linalg.matrix_rank", x, square=hermitian)
    return x.shape[:-2], D.int64


def _same_dtype(opname: str, a: Any, b: Any) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{opname}: Expected A and B to have the same dtype, but found A of type "
                           f"{_tname(a.dtype)} and B of type {_tname(b.dtype)} instead")


def solve_rule(a: Any, b: Any, vector: bool, left: bool) -> tuple:
    """``linalg.solve(A, B)``: ``vector`` where B is a batch of vectors (PyTorch's rule: B is 1-D, or
    has one dim fewer than A and A's batch shape); X A = B where not ``left``."""
    n, _ = _matrices("linalg.solve", a)
    _same_dtype("linalg.solve", a, b)
    rows = b.shape[-1] if vector or not left else b.shape[-2] if len(b.shape) >= 2 else None
    if not left and (vector or len(b.shape) < 2):
        raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for "
                           "left=False. In this case linalg.solve is equivalent to B / A.squeeze(-1)")
    if rows != n:
        if not left:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation XA = B "
                               f"({b.shape[-2]}x{b.shape[-1]} and {n}x{n})")
        cols = 1 if vector else b.shape[-1]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {b.shape[-1] if vector or len(b.shape) < 2 else b.shape[-2]}x{cols})")
    if vector:
        return broadcast_shapes(a.shape[:-2], b.shape[:-1], "linalg.solve") + (n,), a.dtype
    return broadcast_shapes(a.shape[:-2], b.shape[:-2], "linalg.solve") + b.shape[-2:], a.dtype


def solve_triangular_rule(a: Any, b: Any, upper: bool, left: bool, unitriangular: bool) -> tuple:
    n, _ = _matrices("linalg.solve_triangular", a)
    if len(b.shape) < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    _same_dtype("linalg.solve_triangular", a, b)
    if (b.shape[-2] if left else b.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {b.shape[-2]}x{b.shape[-1]})")
    return broadcast_shapes(a.shape[:-2], b.shape[:-2], "linalg.solve_triangular") + b.shape[-2:], a.dtype


def lstsq_rule(a: Any, b: Any, vector: bool) -> tuple:
    m, n = _matrices("linalg.lstsq", a, square=False)
    _same_dtype("linalg.lstsq", a, b)
    rows = b.shape[-1] if vector else b.shape[-2]
    if rows != m:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-2) (got {m} and {rows})")
    if vector:
        return broadcast_shapes(a.shape[:-2], b.shape[:-1], "linalg.lstsq") + (n,), a.dtype
    return broadcast_shapes(a.shape[:-2], b.shape[:-2], "linalg.lstsq") + (n, b.shape[-1]), a.dtype


def searchsorted_rule(seq: Any, values: Any, right: bool, out_int32: bool) -> tuple:
    if len(seq.shape) > 1 and tuple(seq.shape[:-1]) != tuple(values.shape[:-1]):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {fmt_shape(seq.shape)} and input value tensor "
                           f"{fmt_shape(values.shape)}")
    return values.shape, D.int32 if out_int32 else D.int64


def histc_rule(x: Any, bins: int, lo: float, hi: float) -> tuple:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{_tname(x.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc: bins must be > 0, but got {bins} for dimension 0")
    if hi < lo:
        raise RuntimeError("torch.histc: max must be larger than min")
    return (bins,), x.dtype


def lower_cholesky(names: list, a: dict) -> str:
    # only the lower (upper=False) or upper triangle is read, as LAPACK's potrf
    if a["upper"]:
        return (f"jnp.swapaxes(lax.linalg.cholesky(jnp.swapaxes({names[0]}, -1, -2), symmetrize_input=False), "
                "-1, -2)")
    return f"lax.linalg.cholesky({names[0]}, symmetrize_input=False)"


defop("scatter", scatter_rule, "sg.scatter_along({0}, {1}, {2}, {dim}, {reduce})", "ScatterBackward0",
      ("dim", "reduce"), cast=(0, 2), saves="")
defop("scatter_reduce", scatter_reduce_rule,
      "sg.scatter_reduce({0}, {1}, {2}, {dim}, {reduce}, {include_self})", "ScatterReduceBackward0",
      ("dim", "reduce", "include_self"), cast=(0, 2), saves="xy")
defop("diagonal_scatter", diagonal_scatter_rule, "sg.diagonal_scatter({0}, {1}, {offset}, {dim1}, {dim2})",
      "DiagonalScatterBackward0", ("offset", "dim1", "dim2"), cast=(0, 1), saves="")
defop("linalg_inv", square_rule("linalg.inv", "same"), "jnp.linalg.inv({0})", "LinalgInvExBackward0", saves="out")
defop("linalg_det", square_rule("linalg.det", "scalar"), "jnp.linalg.det({0})", "LinalgDetBackward0", saves="x")
defop("slogdet_sign", square_rule("linalg.slogdet", "scalar"), "sg.slogdet_sign({0})", "LinalgSlogdetBackward0",
      saves="")
defop("slogdet_logabs", square_rule("linalg.slogdet", "scalar"), "sg.slogdet_logabs({0})",
      "LinalgSlogdetBackward0", saves="x")
defop("linalg_solve", solve_rule, "sg.solve({0}, {1}, {vector}, {left})", "LinalgSolveExBackward0",
      ("vector", "left"), saves="x")
defop("solve_triangular", solve_triangular_rule,
      "sg.solve_triangular({0}, {1}, {upper}, {left}, {unitriangular})", "LinalgSolveTriangularBackward0",
      ("upper", "left", "unitriangular"), saves="x")
defop("cholesky", lambda x, upper: square_rule("linalg.cholesky", "same")(x), lower_cholesky,
      "LinalgCholeskyExBackward0", ("upper",), saves="out")
defop("linalg_qr", qr_rule, "sg.qr({0}, {part}, {mode})", "LinalgQrBackward0", ("part", "mode"), saves="x")
defop("eigh", eigh_rule, "sg.eigh({0}, {upper}, {part})", "LinalgEighBackward0", ("upper", "part"), saves="x")
defop("svd", svd_rule, "sg.svd({0}, {part}, {full})", "LinalgSvdBackward0", ("part", "full"), saves="x")
defop("pinv", pinv_rule, "sg.pinv({0}, {1}, {2}, {hermitian})", "LinalgPinvBackward0", ("hermitian",), saves="x")
# LU: one node per output (P, L, U; LU, pivots, info), as the other factorisations
defop("linalg_lu", linalg_lu_rule, "sg.linalg_lu({0}, {part})", "LinalgLuBackward0", ("part",), saves="out")
defop("lu_factor", lu_factor_rule, "sg.lu_factor({0}, {part})", "LinalgLuFactorExBackward0", ("part",),
      saves="out")
defop("lu_unpack", lu_unpack_rule, "sg.lu_unpack({0}, {1}, {part})", "LuUnpackBackward0", ("part",), saves="")
defop("lu_solve", lu_solve_rule, "sg.lu_solve({0}, {1}, {2}, {left}, {adjoint})", "LinalgLuSolveBackward0",
      ("left", "adjoint"), saves="xy")
defop("lstsq", lstsq_rule, "sg.lstsq({0}, {1}, {vector})", "LinalgLstsqBackward0", ("vector",), saves="xy")
defop("matrix_exp", square_rule("linalg.matrix_exp", "same"), "sg.matrix_exp({0})", "LinalgMatrixExpBackward0",
      saves="x")
defop("matrix_rank", matrix_rank_rule, "sg.matrix_rank({0}, {atol}, {rtol}, {hermitian})", "NotImplemented",
      ("atol", "rtol", "hermitian"))
defop("searchsorted", searchsorted_rule,
      lambda n, a: f"sg.searchsorted({n[0]}, {n[1]}, {a['right']}, {'jnp.int32' if a['out_int32'] else 'jnp.int64'})",
      "NotImplemented", ("right", "out_int32"))
defop("histc", histc_rule, lambda n, a: f"sg.histc({n[0]}, {a['bins']}, {lit(a['lo'])}, {lit(a['hi'])})",
      "NotImplemented", ("bins", "lo", "hi"))


# ---------------------------------------------------------------------------
# torch.special (srcgrad/special.py): Bessel, error and gamma functions


def _no_half(opname: str, rule: Callable) -> Callable:
    """``rule``, raising PyTorch's CPU error for half and bfloat16 inputs (kernels it has only in float32 and
    float64) and for integer results where PyTorch has no integer kernel (``igamma``)."""
    def check(*xs: Any, **kw: Any) -> tuple:
        shape, d = rule(*xs, **kw)
        if d.name in ("float16", "bfloat16"):
            raise NotImplementedError(f'"{opname}_cpu" not implemented for \'{_tname(d)}\'')
        return shape, d
    return check


def igamma_rule(opname: str) -> Callable:
    def rule(a: Any, x: Any, **_: Any) -> tuple:
        d = _promoted((a, x))
        if not d.is_floating_point:
            raise NotImplementedError(f'"{opname}_cpu" not implemented for \'{_tname(D._strong(d))}\'')
        return broadcast_shapes(a.shape, x.shape, opname), d
    return rule


def mvlgamma_rule(x: Any, p: int) -> tuple:
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return x.shape, _float_of(x.dtype)


for _name, _rule, _low, _grad in [
    ("erfc",                 to_float, "sg.erfc({0})",     "ErfcBackward0"),
    ("i0",                   to_float, "sg.i0({0})",       "I0Backward0"),
    ("special_i0e",          to_float, "sg.i0e({0})",      "SpecialI0EBackward0"),
    ("special_i1",           to_float, "sg.i1({0})",       "SpecialI1Backward0"),
    ("special_i1e",          to_float, "sg.i1e({0})",      "SpecialI1EBackward0"),
    ("special_ndtri",        _no_half("ndtri", to_float), "sg.ndtri({0})", "SpecialNdtriBackward0"),
    ("special_log_ndtr",     _no_half("log_ndtr", to_float), "sg.log_ndtr({0})", "SpecialLogNdtrBackward0"),
    ("special_erfcx",        _no_half("erfcx", to_float), "sg.erfcx({0})", "SpecialErfcxBackward0"),
    ("special_entr",         to_float, "sg.entr({0})",     "SpecialEntrBackward0"),
]:
    defop(_name, _rule, _low, _grad, cast="out", saves="x")
defop("special_xlog1py", binary_float("xlog1py"), "sg.xlog1py({0}, {1})", "SpecialXlog1PyBackward0", cast="out",
      saves="xy")
defop("special_zeta", _no_half("zeta", binary_float("zeta")), "sg.zeta({0}, {1})", "SpecialZetaBackward0",
      cast="out", saves="xy")
defop("igamma", igamma_rule("igamma"), "sg.igamma({0}, {1})", "IgammaBackward0", cast="out", saves="xy")
defop("igammac", igamma_rule("igammac"), "sg.igammac({0}, {1})", "IgammacBackward0", cast="out", saves="xy")
def lower_round_decimals(names: list, a: dict) -> str:
    """``torch.round(x, decimals=d)`` and ``torch.special.round``: PyTorch's ``nearbyint(x * 10^d) / 10^d``
    (``nearbyint(x / 10^-d) * 10^-d`` for negative ``d``), half to even as ``jnp.round``."""
    d = a["decimals"]
    if d == 0:
        return f"jnp.round({names[0]})"
    if d > 0:
        return f"jnp.round({names[0]} * {10.0 ** d!r}) / {10.0 ** d!r}"
    return f"jnp.round({names[0]} / {10.0 ** -d!r}) * {10.0 ** -d!r}"


defop("round_decimals", same, lower_round_decimals, "RoundBackward1", ("decimals",), cast="out", saves="")
defop("mvlgamma", mvlgamma_rule, "sg.mvlgamma({0}, {p})", "MvlgammaBackward0", ("p",), cast="out", saves="x")
# no derivative in PyTorch: their results never require grad
for _name in ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
              "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
              "spherical_bessel_j0", "airy_ai"):
    defop("special_" + _name, _no_half(_name, to_float), f"sg.{_name}({{0}})", "NotImplemented", cast="out",
          saves="")
for _name in ("chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
              "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
              "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
              "laguerre_polynomial_l", "legendre_polynomial_p"):
    defop("special_" + _name, _no_half(_name, binary_float(_name)), f"sg.{_name}({{0}}, {{1}})", "NotImplemented",
          cast="out", saves="")


# Aliases: the same primitive under PyTorch's name for what the user called.
ALIASES = {
    "view": ("reshape", "ViewBackward0"),
    "unsqueeze": ("reshape", "UnsqueezeBackward0"),
    "squeeze": ("reshape", "SqueezeBackward0"),
    "transpose": ("permute", "TransposeBackward0"),
    "t": ("permute", "TBackward0"),
    "sum_all": ("sum", "SumBackward0"),
    "mean_all": ("mean", "MeanBackward0"),
    "prod_all": ("prod", "ProdBackward0"),
    "max_all": ("amax", "MaxBackward1"),
    "min_all": ("amin", "MinBackward1"),
    "max_dim": ("take_along", "MaxBackward0"),
    "min_dim": ("take_along", "MinBackward0"),
    "squeeze_dim": ("reshape", "SqueezeBackward1"),
    "squeeze_dims": ("reshape", "SqueezeBackward2"),  # squeeze((0, 2)): a tuple of dims
    # reshape where no view has the asked shape: PyTorch copies (CloneBackward0) then views it
    "unsafe_view": ("reshape", "UnsafeViewBackward0"),
    "reshape_alias": ("reshape", "ReshapeAliasBackward0"),  # reshape of a non-contiguous tensor, as a view
    "rdiv": ("div", "MulBackward0"),
    "rsub": ("sub", "RsubBackward1"),
    "pow_scalar_base": ("pow", "PowBackward2"),
    "pow_tensor": ("pow", "PowBackward1"),
    "dot": ("matmul", "DotBackward0"),
    "mv": ("matmul", "MvBackward0"),
    "bmm": ("matmul", "BmmBackward0"),
    "matmul_nd": ("matmul", "UnsafeViewBackward0"),
    "slice": ("index", "SliceBackward0"),
    "select": ("index", "SelectBackward0"),
    "split": ("index", "SplitBackward0"),
    "split_with_sizes": ("index", "SplitWithSizesBackward0"),
    "index_select": ("index", "IndexSelectBackward0"),
    "copy": ("identity", "CopyBackwards"),
    "clone": ("identity", "CloneBackward0"),
    "to_copy": ("cast", "ToCopyBackward0"),
    "add_scalar_mul": ("mul", "MulBackward0"),
    "lerp_tensor": ("lerp", "LerpBackward1"),
    # F.linear is one op; PyTorch names its node after how it computed it
    "linear_mm": ("linear", "MmBackward0"),
    "linear_view": ("linear", "ViewBackward0"),
    "linear_unsafe_view": ("linear", "UnsafeViewBackward0"),
    "linear_squeeze": ("linear", "SqueezeBackward4"),
    # composites whose last node PyTorch names after the whole op
    "square": ("mul", "PowBackward0"),
    "masked_fill": ("where", "MaskedFillBackward0"),
    "var": ("div", "VarBackward0"),
    "std": ("sqrt", "StdBackward0"),
    "unbind": ("index", "UnbindBackward0"),
    "repeat": ("reshape", "RepeatBackward0"),
    "sort": ("gather", "SortBackward0"),
    "index_add": ("index_put", "IndexAddBackward0"),
    "setitem": ("index_put", "CopySlices"),  # an in-place write through basic indexing
    # an assignment whose index selects the whole tensor (x[:] = v, x[...] = v): PyTorch copies
    # into the tensor itself, fill_(0-dim tensor) for a number, else copy_ (as do copy_/fill_)
    "fill_tensor": ("index_put", "FillBackward3"),
    "fill_scalar": ("index_put", "FillBackward2"),
    "zero": ("index_put", "ZeroBackward0"),
    "copy_into": ("index_put", "CopyBackwards"),
    "mse_loss": ("mul", "MseLossBackward0"),
    "mse_loss_mean": ("mean", "MseLossBackward0"),
    "mse_loss_sum": ("sum", "MseLossBackward0"),
    "nll_loss_squeeze": ("reshape", "NllLossBackward0"),
    "nll_loss2d": ("nll_loss", "NllLoss2DBackward0"),
    # in-place activations PyTorch names after the form that saves its result
    "leaky_relu_": ("leaky_relu", "LeakyReluBackward1"),
    "elu_": ("elu", "EluBackward1"),
    # cross_entropy with class probabilities: -(logp * target).sum() / (numel / classes)
    "cross_entropy_div": ("div", "DivBackward1"),
    # views taken in place (t_, transpose_, unsqueeze_, squeeze_): PyTorch's in-place overloads
    "t_": ("permute", "TBackward1"),
    "transpose_": ("permute", "TransposeBackward1"),
    "unsqueeze_": ("reshape", "UnsqueezeBackward1"),
    "squeeze_": ("reshape", "SqueezeBackward3"),
    "squeeze_dim_": ("reshape", "SqueezeBackward4"),
    "squeeze_dims_": ("reshape", "SqueezeBackward5"),
    "clamp_min": ("clamp", "ClampMinBackward0"),
    "clamp_max": ("clamp", "ClampMaxBackward0"),
    "clamp_min_tensor": ("clamp", "ClampMinBackward1"),
    "clamp_max_tensor": ("clamp", "ClampMaxBackward1"),
    "fmod_scalar": ("fmod", "FmodBackward0"),
    "xlogy_scalar_self": ("xlogy", "XlogyBackward1"),
    "xlogy_scalar_other": ("xlogy", "XlogyBackward2"),
    "xlog1py_scalar_self": ("special_xlog1py", "SpecialXlog1PyBackward1"),
    "xlog1py_scalar_other": ("special_xlog1py", "SpecialXlog1PyBackward2"),
    "zeta_scalar_self": ("special_zeta", "SpecialZetaBackward1"),
    "zeta_scalar_other": ("special_zeta", "SpecialZetaBackward2"),
    "ndtr_mul": ("mul", "MulBackward1"),  # special.ndtr's last step, (1 + erf(x / sqrt 2)) * 0.5
    "einsum_sum": ("einsum", "SumBackward1"),  # einsum that only sums (PyTorch: a sum)
    "einsum_permute": ("einsum", "PermuteBackward0"),  # einsum that only transposes
    "median_dim": ("take_along", "MedianBackward1"),
    "kthvalue": ("take_along", "KthvalueBackward0"),
    "topk": ("gather", "TopkBackward0"),
    "cummax": ("gather", "CummaxBackward0"),
    "cummin": ("gather", "CumminBackward0"),
    "index_copy": ("index_put", "IndexCopyBackward0"),
    "index_fill": ("where", "IndexFillBackward0"),
    "tril": ("where", "TrilBackward0"),
    "triu": ("where", "TriuBackward0"),
    "sgn": ("sign", "SgnBackward0"),
    "copysign_scalar": ("copysign", "CopysignBackward1"),
    "diag_diagonal": ("diagonal", "DiagonalBackward0_copy"),  # torch.diag of a matrix (PyTorch's name)
    "scatter_value": ("scatter", "ScatterBackward1"),  # scatter(dim, index, value): a number
    "index_reduce": ("scatter_reduce", "IndexReduceBackward0"),  # (its index spread over the source)
    # scatter(..., reduce="add"/"multiply"): PyTorch has no derivative for it (NotImplemented)
    "scatter_legacy_reduce": ("scatter", "NotImplemented"),
    "select_scatter": ("index_put", "SelectScatterBackward0"),
    "slice_scatter": ("index_put", "SliceScatterBackward0"),
    "masked_scatter": ("where", "MaskedScatterBackward0"),
    "fill_diagonal": ("where", "CopySlices"),  # fill_diagonal_ writes through a diagonal view in PyTorch
    "diagonal_setitem": ("diagonal_scatter", "CopySlices"),  # an in-place change of x.diagonal()
    "cholesky_legacy": ("cholesky", "CholeskyBackward0"),  # torch.cholesky (deprecated)
    # identities over a composite's result, shown as PyTorch's one function of its arguments
    # (composite._named, pooling.as_function): nothing more is computed
    **{op: ("identity", name) for op, name in (
        ("addmv", "AddmvBackward0"), ("addr", "AddrBackward0"), ("baddbmm", "BaddbmmBackward0"),
        ("addbmm", "AddbmmBackward0"), ("prelu", "PreluKernelBackward0"), ("group_norm", "NativeGroupNormBackward0"),
        ("im2col", "Im2ColBackward0"), ("col2im", "Col2ImBackward0"),
        ("pack_padded_sequence", "PackPaddedSequenceBackward0"), ("mode_values", "ModeBackward0"),
        ("glu", "GluBackward0"),
        ("upsample_nearest1d", "UpsampleNearest1DBackward0"), ("upsample_nearest2d", "UpsampleNearest2DBackward0"),
        ("upsample_nearest3d", "UpsampleNearest3DBackward0"),
        ("upsample_nearest_exact1d", "UpsampleNearestExact1DBackward0"),
        ("upsample_nearest_exact2d", "UpsampleNearestExact2DBackward0"),
        ("upsample_nearest_exact3d", "UpsampleNearestExact3DBackward0"),
        ("upsample_linear1d", "UpsampleLinear1DBackward0"), ("upsample_bilinear2d", "UpsampleBilinear2DBackward0"),
        ("upsample_trilinear3d", "UpsampleTrilinear3DBackward0"), ("upsample_bicubic2d", "UpsampleBicubic2DBackward0"),
        ("upsample_bilinear2d_aa", "UpsampleBilinear2DAaBackward0"),
        ("upsample_bicubic2d_aa", "UpsampleBicubic2DAaBackward0"))},
}
# A view read again after its base changed in place: PyTorch regenerates it as AsStridedBackward0.
ALIASES.update({f"as_strided_{base}": (base, "AsStridedBackward0")
                for base in ("index", "reshape", "permute", "expand", "diagonal", "identity")})
for _alias, (_base, _grad) in ALIASES.items():
    b = OPS[_base]
    OPS[_alias] = OpDef(_base, b.attr_names, b.shape_rule, b.lower, _grad, b.cast, b.saves)
