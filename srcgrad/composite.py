"""PyTorch functions written with srcgrad's existing ops (composites).

Every function here only records ops that srcgrad already has (and reads static
Python facts about shapes and dtypes), so its gradient, its second derivative and
its ``@srcgrad.compile`` support come from those primitives. The few outputs that
are computed on the host are integer tensors derived from shapes alone
(``tril_indices``, ``combinations``' index table) or the values of creation functions
derived from their Python-number arguments alone (``logspace``, ``range``, the bin
edges of ``histogram``), computed with PyTorch's CPU formulas.

The ``srcgrad.<name>`` functions are listed in ``__all__`` (only those that do not
exist already); the Tensor methods are bound in the block at the bottom, and the
``linalg`` functions are put on ``srcgrad.linalg``. Nothing that exists is replaced.
See ``docs/composite_ops.md``.
"""

from __future__ import annotations

import itertools
import math
import sys
import warnings
from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import dtypes as D
from . import ir
from .ops import TORCH_TYPE_NAMES, expand_rule, fmt_shape
from .ops import broadcast_shapes as _broadcast_pair
from .tensor import (
    Size,
    Tensor,
    _dim,
    _NoGrad,
    _return_type,
    _shape_arg,
    arange,
    cat,
    full,
    matmul,
    record,
    return_types,
    searchsorted,
    stack,
    tensor,
    tensordot,
    vector_norm,
    where,
    zeros,
)

_Number = (int, float, bool)


def _tname(dt: D.dtype) -> str:
    """PyTorch's scalar-type name of a dtype (``Float``, ``Long``)."""
    return TORCH_TYPE_NAMES.get(dt.name, dt.name.title())


_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long", "int32": "int",
            "int16": "short", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


def _need_tensor(name: str, *args: Any) -> None:
    """PyTorch's TypeError for a non-tensor where a tensor is required."""
    for a in args:
        if not isinstance(a, Tensor):
            got = ", ".join(type(x).__name__ for x in args)
            raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), "
                            f"but expected a Tensor where {type(a).__name__} was given")


def _float(t: Tensor) -> Tensor:
    """``t`` itself when floating point, else cast to the default float dtype."""
    return t if t.dtype.is_floating_point else t.to(D.get_default_dtype())


def _tensors_arg(tensors: tuple) -> list:
    """``f(a, b)`` and ``f([a, b])`` alike."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def _slice_dim(t: Tensor, d: int, start: int, stop: int) -> Tensor:
    """``t[..., start:stop, ...]`` along ``d`` (a narrow, clamped as a Python slice)."""
    start, stop, _ = slice(start, stop).indices(t.shape[d])
    return t.narrow(d, start, max(stop - start, 0))


# ---------------------------------------------------------------------------
# 1. comparisons and predicates


def _comparison(name: str, op: str) -> Any:
    def fn(input: Tensor, other: Any) -> Tensor:
        _need_tensor(name, input)
        return record(op, (input, other))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}``: elementwise ``input {_SYMBOLS[op]} other`` (a bool tensor, broadcast)."
    return fn


_SYMBOLS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
eq = _comparison("eq", "eq")
ne = _comparison("ne", "ne")
gt = _comparison("gt", "gt")
ge = _comparison("ge", "ge")
lt = _comparison("lt", "lt")
le = _comparison("le", "le")
greater = _comparison("greater", "gt")
greater_equal = _comparison("greater_equal", "ge")
less = _comparison("less", "lt")
less_equal = _comparison("less_equal", "le")
not_equal = _comparison("not_equal", "ne")


def _inplace_method(method: str) -> Any:
    """``t.<method>_(...)``: the out-of-place result becomes ``t``'s value (cast to ``t``'s dtype)."""
    def fn(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._inplace_of(method, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = method + "_"
    fn.__doc__ = f"In-place ``{method}``: ``t.{method}_(...)`` makes ``t.{method}(...)`` ``t``'s value."
    return fn


def isneginf(input: Tensor) -> Tensor:
    """Where ``input`` is negative infinity (all False for integer tensors)."""
    _need_tensor("isneginf", input)
    return input == -math.inf


def isposinf(input: Tensor) -> Tensor:
    """Where ``input`` is positive infinity (all False for integer tensors)."""
    _need_tensor("isposinf", input)
    return input == math.inf


def isreal(input: Tensor) -> Tensor:
    """Where ``input`` has no imaginary part: everywhere, srcgrad has no complex dtypes."""
    _need_tensor("isreal", input)
    return full(input.shape, True, dtype=D.bool_, device=input.device)


def is_nonzero(input: Tensor) -> bool:
    """``bool`` of a one-element tensor (PyTorch's errors for any other size)."""
    _need_tensor("is_nonzero", input)
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item() != 0)


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether the two tensors have the same shape."""
    _need_tensor("is_same_size", input, other)
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """Whether the dtype is signed (not ``uint8`` or ``bool``)."""
    _need_tensor("is_signed", input)
    return input.dtype.name not in ("uint8", "bool")


def is_complex(input: Tensor) -> bool:
    """Always False: srcgrad has no complex dtypes."""
    _need_tensor("is_complex", input)
    return False


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating-point one."""
    _need_tensor("is_floating_point", input)
    return input.dtype.is_floating_point


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    """The number of non-zero elements (over ``dim``: an int or a tuple), as int64."""
    _need_tensor("count_nonzero", input)
    return (input != 0).sum(dim)


def _aminmax_type() -> type:
    base = namedtuple("aminmax", ["min", "max"])

    def __repr__(self: Any) -> str:  # noqa: N807
        return f"torch.return_types.aminmax(\nmin={self.min!r},\nmax={self.max!r})"

    return type("aminmax", (base,), {"__slots__": (), "__repr__": __repr__, "__module__": "torch.return_types"})


_AMINMAX = _aminmax_type()


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False) -> Any:
    """``(min, max)`` over all elements or along ``dim`` (``torch.return_types.aminmax``)."""
    _need_tensor("aminmax", input)
    if dim is None:
        if input.numel() == 0:
            raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation "
                               "has no identity.")
        if not keepdim:
            return _AMINMAX(input.amin(), input.amax())
        dims = tuple(range(input.dim()))
        return _AMINMAX(input.amin(dims, True), input.amax(dims, True))
    d = _dim(dim, input.dim())
    if input.dim() and input.shape[d] == 0:
        raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    return _AMINMAX(input.amin(d, keepdim), input.amax(d, keepdim))


def positive(input: Tensor) -> Tensor:
    """``+input``: the tensor itself (an error for bool tensors, as PyTorch)."""
    _need_tensor("positive", input)
    if input.dtype.category == 0:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# ---------------------------------------------------------------------------
# 2. broadcasting, stacking, splitting, index-based reshuffles


def broadcast_shapes(*shapes: Any) -> Size:
    """The shape all ``shapes`` broadcast to (ints count as 1-d shapes)."""
    result: list[int] = []
    for k, s in enumerate(shapes):
        s = (int(s),) if isinstance(s, int) else tuple(int(v) for v in s)
        for v in s:
            if v < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {v}: {list(s)}")
        if len(s) > len(result):
            result = [1] * (len(s) - len(result)) + result
        for i in range(1, len(s) + 1):
            a, b = result[-i], s[-i]
            if a == 1:
                result[-i] = b
            elif b != 1 and a != b:
                raise RuntimeError(f"Attempting to broadcast a dimension of length {b} at {-i}! Mismatching "
                                   f"argument at index {k} had {tuple(s)}; but expected shape should be "
                                   f"broadcastable to {result}")
    return Size(result)


def broadcast_to(input: Tensor, size: Any) -> Tensor:
    """``input`` expanded to ``size`` (a view; ``-1`` keeps a size)."""
    _need_tensor("broadcast_to", input)
    return input.broadcast_to(size)


def broadcast_tensors(*tensors: Any) -> tuple:
    """The tensors expanded to their common broadcast shape."""
    ts = _tensors_arg(tensors)
    _need_tensor("broadcast_tensors", *ts)
    shape: tuple = ()
    for k, t in enumerate(ts):
        shape = tuple(t.shape) if k == 0 else _broadcast_pair(shape, tuple(t.shape), "broadcast_tensors")
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in ts)


def _nonempty(name: str, tensors: Any) -> list:
    ts = list(tensors)
    if not ts:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    _need_tensor(name, *ts)
    return ts


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate column-wise (along dim 1; along dim 0 for 1-d tensors)."""
    from .tensor import atleast_1d
    ts = [atleast_1d(t) for t in _nonempty("hstack", tensors)]
    return cat(ts, 0 if ts[0].dim() == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate row-wise: 1-d tensors become rows, then along dim 0."""
    from .tensor import atleast_2d
    return cat([atleast_2d(t) for t in _nonempty("vstack", tensors)], 0)


def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Alias of ``vstack``."""
    from .tensor import atleast_2d
    return cat([atleast_2d(t) for t in _nonempty("row_stack", tensors)], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate depth-wise (along dim 2, after ``atleast_3d``)."""
    from .tensor import atleast_3d
    return cat([atleast_3d(t) for t in _nonempty("dstack", tensors)], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1; 0-d and 1-d tensors become columns first."""
    ts = _nonempty("column_stack", tensors)
    return cat([t.reshape(t.numel(), 1) if t.dim() <= 1 else t for t in ts], 1)


def _split_args(input: Tensor, indices_or_sections: Any) -> Any:
    if isinstance(indices_or_sections, Tensor):
        s = indices_or_sections
        if s.dtype is not D.int64:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have dtype of long, but "
                               f"got {_tname(s.dtype)}")
        if s.dim() > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a zero-dimensional or "
                               f"one-dimensional tensor, but got a tensor with {s.dim()} dims")
        return s.item() if s.dim() == 0 else [int(v) for v in s.tolist()]
    return indices_or_sections


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer), or at the given indices."""
    _need_tensor("tensor_split", input)
    if input.dim() == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = _dim(dim, input.dim())
    size = input.shape[d]
    spec = _split_args(input, indices_or_sections)
    if isinstance(spec, int):
        if spec <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {spec}")
        q, r = divmod(size, spec)
        bounds, start = [], 0
        for k in range(spec):
            stop = start + q + (1 if k < r else 0)
            bounds.append((start, stop))
            start = stop
    else:
        idx = [int(i) for i in spec]
        starts = [0] + idx
        stops = idx + [size]
        bounds = list(zip(starts, stops))
    return tuple(_slice_dim(input, d, a, b) for a, b in bounds)


def _dir_split(name: str, input: Tensor, sections: Any, min_dims: int, dim: int) -> tuple:
    _need_tensor(name, input)
    if input.dim() < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, but got a tensor "
                           f"with {input.dim()} dimensions!")
    if isinstance(sections, int):
        size = input.shape[dim]
        if sections <= 0 or size % sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the size of the "
                               f"dimension {size} is not divisible by the split_size {sections}!")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 for 1-d tensors); an int must divide the size."""
    return _dir_split("hsplit", input, indices_or_sections, 1, 1 if input.dim() > 1 else 0)


def vsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 0 of a tensor of 2 or more dims; an int must divide the size."""
    return _dir_split("vsplit", input, indices_or_sections, 2, 0)


def dsplit(input: Tensor, indices_or_sections: Any) -> tuple:
    """``tensor_split`` along dim 2 of a tensor of 3 or more dims; an int must divide the size."""
    return _dir_split("dsplit", input, indices_or_sections, 3, 2)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """Split into parts of the given sizes (which must add up to the size of ``dim``)."""
    _need_tensor("split_with_sizes", input)
    return input.split([int(s) for s in split_sizes], dim)


def unsafe_split(input: Tensor, split_size: Any, dim: int = 0) -> tuple:
    """``split`` (srcgrad's parts are never aliased in a way that needs the unsafe form)."""
    _need_tensor("unsafe_split", input)
    return input.split(split_size, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """``split_with_sizes``."""
    return split_with_sizes(input, split_sizes, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk``."""
    _need_tensor("unsafe_chunk", input)
    return input.chunk(chunks, dim)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Alias of ``transpose``."""
    _need_tensor("swapdims", input)
    return input.transpose(dim0, dim1)


def sum_to_size(self: Tensor, *size: Any) -> Tensor:
    """Sum ``self`` down to ``size`` (the reverse of broadcasting it from ``size``)."""
    size = _shape_arg(size)
    shape = tuple(self.shape)
    lead = len(shape) - len(size)
    if lead < 0 or any(s != 1 and s != shape[lead + i] for i, s in enumerate(size)):
        raise RuntimeError(f"size {{{fmt_shape(size)}}} is not expandable to size {{{fmt_shape(shape)}}}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size) if s == 1 and shape[lead + i] != 1)
    if not dims:
        return self
    return self.sum(dims, keepdim=True).reshape(size)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A copy of ``input.narrow(dim, start, length)``."""
    _need_tensor("narrow_copy", input)
    return input.narrow(dim, start, length).clone()


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids of 0-d/1-d tensors: ``"ij"`` (matrix) or ``"xy"`` (Cartesian) indexing."""
    ts = _tensors_arg(tensors)
    if not ts:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    _need_tensor("meshgrid", *ts)
    if indexing is None:
        ir.warn_at_user("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.")
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if t.dim() > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                               + " ".join(f" {s}" for s in t.shape))
    for t in ts[1:]:
        if t.dtype is not ts[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != ts[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    sizes = [t.numel() for t in ts]
    pos = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
        pos[0], pos[1] = 1, 0
    out = []
    for t, p in zip(ts, pos):
        view = [1] * len(ts)
        view[p] = -1
        out.append(t.reshape(view).expand(sizes))
    return tuple(out)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """The Cartesian product of 1-d tensors, one row per combination (``itertools.product``'s order)."""
    ts = _tensors_arg(tensors)
    _need_tensor("cartesian_prod", *ts)
    for t in ts:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {fmt_shape(t.shape)}")
    if len(ts) == 1:
        return ts[0]
    grids = meshgrid(*ts, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of a 1-d tensor's elements, one per row (``itertools``' order)."""
    _need_tensor("combinations", input)
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {fmt_shape(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.narrow(0, 0, 0)
    n = input.shape[0]
    gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    table = np.array(list(gen(range(n), r)), dtype=np.int64).reshape(-1, r)  # (indices from the shape alone)
    idx = tensor(table, device=input.device).reshape(-1)
    return input.gather(0, idx).reshape(table.shape)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims`` (from the first towards the second)."""
    _need_tensor("rot90", input)
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    if dims[0] == dims[1] or abs(dims[0] - dims[1]) == input.dim():
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    d0, d1 = _dim(dims[0], input.dim()), _dim(dims[1], input.dim())
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip((d0, d1))
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


def _tri_indices(name: str, row: int, col: int, offset: int, dtype: Any, device: Any) -> Tensor:
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    dt = D.as_dtype(dtype) if dtype is not None else D.int64
    if dt.category != 1:
        raise NotImplementedError(f'"{name}" not implemented for \'{_tname(dt)}\'')
    fn = np.tril_indices if name == "tril_indices" else np.triu_indices
    rows, cols = fn(row, offset, col)  # (integer-valued and derived from the sizes alone)
    return tensor(np.stack([rows, cols]).astype(dt.np), dtype=dt, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The ``(2, N)`` coordinates of the lower triangle of a ``row x col`` matrix, row by row."""
    return _tri_indices("tril_indices", row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    """The ``(2, N)`` coordinates of the upper triangle of a ``row x col`` matrix, row by row."""
    return _tri_indices("triu_indices", row, col, offset, dtype, device)


def block_diag(*tensors: Tensor) -> Tensor:
    """A block-diagonal matrix of the tensors (0-d: 1x1, 1-d: one row), in their promoted dtype."""
    ts = list(tensors)
    _need_tensor("block_diag", *ts)
    for k, t in enumerate(ts):
        if t.dim() > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {k} has "
                               f"{t.dim()} dimensions")
    if not ts:
        return zeros(1, 0)
    mats = [t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t for t in ts]
    dt = D.result_type(tuple((2, m.dtype) for m in mats))
    dev = mats[0].device
    width = sum(m.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m.shape
        parts = []
        if left:
            parts.append(zeros(r, left, dtype=dt, device=dev))
        parts.append(m.to(dt))
        if width - left - c:
            parts.append(zeros(r, width - left - c, dtype=dt, device=dev))
        rows.append(cat(parts, 1) if len(parts) > 1 else parts[0])
        left += c
    return cat(rows, 0) if len(rows) > 1 else rows[0]


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-d tensor with the flattened ``input`` on its ``offset``-th diagonal."""
    _need_tensor("diagflat", input)
    return input.reshape(-1).diag(offset)


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-d at ``index`` (any shape; negative indices count from the end)."""
    _need_tensor("take", input, index)
    if index.dtype is not D.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_tname(index.dtype)}")
    n = input.numel()
    known = index._node.value
    if known is not None and index.numel():
        a = np.asarray(known)
        bad = a[(a < -n) | (a >= n)]
        if bad.size:
            raise IndexError(f"out of range: tried to access index {int(bad.flat[0])} on a tensor of {n} elements.")
    flat = index.reshape(-1)
    if known is None or (np.asarray(known) < 0).any():
        flat = where(flat < 0, flat + n, flat)
    return input.reshape(-1).gather(0, flat).reshape(index.shape)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every ``size``-long window along ``dimension``, ``step`` apart, as a new last dim."""
    d = _dim(dimension, self.dim())
    length = self.shape[d] if self.dim() else 1
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if self.dim() == 0:
        return self.reshape(1).narrow(0, 0, size)
    n = (length - size) // step + 1
    shape = tuple(self.shape)
    with _NoGrad():
        idx = ((arange(n, device=self.device) * step).unsqueeze(1) + arange(size, device=self.device)).reshape(-1)
        idx = idx.reshape((1,) * d + (n * size,) + (1,) * (len(shape) - d - 1))
        idx = idx.expand(shape[:d] + (n * size,) + shape[d + 1:])
    out = self.gather(d, idx).reshape(shape[:d] + (n, size) + shape[d + 1:])
    return out.movedim(d + 1, -1)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each element (or slice along ``dim``) ``repeats`` times; ``repeat_interleave(counts)``
    alone gives ``arange(len(counts))`` so repeated. Tensor ``repeats`` are read on the host
    (the output's shape depends on them, as in PyTorch)."""
    _need_tensor("repeat_interleave", input)
    if repeats is None:  # torch.repeat_interleave(repeats)
        counts = input
        if counts.dim() > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        reps = np.asarray(counts.tolist(), dtype=np.int64).reshape(-1)
        if (reps < 0).any():
            raise RuntimeError("repeats can not be negative")
        return tensor(np.repeat(np.arange(reps.size), reps), dtype=counts.dtype, device=counts.device)
    x = input
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = _dim(dim, input.dim())
    if x.dim() == 0:
        x = x.reshape(1)
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.dim() == 1 and repeats.numel() != 1:
            if repeats.numel() != n:
                raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                                   f"repeats.size(0) = {repeats.numel()} and input.size({d}) = {n}")
            reps = np.asarray(repeats.tolist(), dtype=np.int64)
            if (reps < 0).any():
                raise RuntimeError("repeats can not be negative")
            idx = tensor(np.repeat(np.arange(n), reps), device=x.device)
            return x.index_select(d, idx)
        repeats = int(repeats.item())
    repeats = int(repeats)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    shape = tuple(x.shape)
    big = shape[:d + 1] + (repeats,) + shape[d + 1:]
    return x.unsqueeze(d + 1).expand(big).reshape(shape[:d] + (n * repeats,) + shape[d + 1:])


# ---------------------------------------------------------------------------
# 3. math


_LN2 = math.log(2.0)


def erfc(input: Tensor) -> Tensor:
    """``1 - erf(input)``, the primitive (no cancellation where erfc is tiny; ``ErfcBackward0``)."""
    _need_tensor("erfc", input)
    return record("erfc", (input,))


def exp2(input: Tensor) -> Tensor:
    """``2 ** input`` (integer tensors give the default float dtype)."""
    _need_tensor("exp2", input)
    return 2.0 ** _float(input)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in float64."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power() received an invalid combination of arguments - expected at least one "
                        "Tensor")
    e = exponent.to(D.float64) if isinstance(exponent, Tensor) else float(exponent)
    if isinstance(input, Tensor):
        return input.to(D.float64) ** e
    return float(input) ** e


def _float_power_(self: Tensor, exponent: Any) -> Tensor:
    """In-place ``float_power`` (``self`` must be float64, as PyTorch)."""
    if self.dtype is not D.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_tname(self.dtype)} but the operation's "
                           "result requires dtype Double")
    return self._inplace_of("float_power", exponent)


def logaddexp2(input: Tensor, other: Any) -> Tensor:
    """``log2(2 ** input + 2 ** other)``, computed stably."""
    _need_tensor("logaddexp2", input)
    dt = D.result_type(tuple((t.dim(), t.dtype) if isinstance(t, Tensor) else (0, D.weak_float if isinstance(t, float)
                             else D.weak_int) for t in (input, other)))
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"logaddexp2_cpu\" not implemented for '{_tname(D._strong(dt))}'")
    return (_float(input) * _LN2).logaddexp(_float(other) * _LN2 if isinstance(other, Tensor) else other * _LN2) \
        / _LN2


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The step function: 0 where ``input < 0``, ``values`` where it is 0, 1 where it is > 0 (and 0 at NaN).

    Not differentiable (PyTorch raises when backpropagating through it; srcgrad's result
    simply does not require grad)."""
    _need_tensor("heaviside", input, values)
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    with _NoGrad():
        return where(input == 0, values, (input > 0).to(input.dtype))


def fix(input: Tensor) -> Tensor:
    """Alias of ``trunc``."""
    _need_tensor("fix", input)
    return input.trunc()


def ldexp(input: Tensor, other: Any) -> Tensor:
    """``input * 2 ** other`` (a float result)."""
    _need_tensor("ldexp", input)
    if isinstance(other, Tensor):
        return input * (2.0 ** _float(other))
    return _float(input) * (2.0 ** other)


def _cross(input: Tensor, other: Tensor, d: int, dim_text: Any) -> Tensor:
    shape = _broadcast_pair(tuple(input.shape), tuple(other.shape), "cross")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim_text} must have length 3. Got {input.shape[d]} "
                           f"and {other.shape[d]}")
    a = input if tuple(input.shape) == shape else input.expand(shape)
    b = other if tuple(other.shape) == shape else other.expand(shape)
    # c_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1} (indices mod 3)
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def _cross_args(input: Tensor, other: Tensor) -> None:
    _need_tensor("cross", input, other)
    if input.dim() != other.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"expected scalar type {_tname(input.dtype)} but found {_tname(other.dtype)}")


def linalg_cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.cross``: the cross product of 3-vectors along ``dim`` (broadcast)."""
    _cross_args(input, other)
    return _cross(input, other, _dim(dim, input.dim()), dim)


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """``torch.cross``: as ``linalg.cross``, but ``dim=None`` (deprecated) takes the first dim of size 3."""
    _cross_args(input, other)
    if dim is None:
        ir.warn_at_user("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the "
                      "dim explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to "
                      "agree with that of linalg.cross in a future release.")
        shape = _broadcast_pair(tuple(input.shape), tuple(other.shape), "cross")
        sizes = [i for i, s in enumerate(shape) if s == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        dim = sizes[0]
    return _cross(input, other, _dim(dim, input.dim()), dim)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product (shapes padded with leading 1s to the same length)."""
    _need_tensor("kron", input, other)
    nd = max(input.dim(), other.dim())
    sa = (1,) * (nd - input.dim()) + tuple(input.shape)
    sb = (1,) * (nd - other.dim()) + tuple(other.shape)
    a = input.reshape(tuple(v for s in sa for v in (s, 1)))
    b = other.reshape(tuple(v for s in sb for v in (1, s)))
    return (a * b).reshape(tuple(x * y for x, y in zip(sa, sb)))


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for bool tensors), after
    concatenating ``prepend`` and ``append``."""
    _need_tensor("diff", input)
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = _dim(dim, input.dim())
    parts = []
    for extra in (prepend, append):
        if extra is None:
            continue
        if not isinstance(extra, Tensor):
            extra = tensor(extra, dtype=input.dtype, device=input.device)
        if extra.dim() != input.dim():
            raise RuntimeError("diff expects prepend or append to be the same dimension as input")
        for i in range(input.dim()):
            if i != d and extra.shape[i] != input.shape[i]:
                raise RuntimeError(f"diff expects the shape of tensor to prepend or append to match that of input "
                                   f"except along the differencing dimension; input.size({i}) = {input.shape[i]}, "
                                   f"but got tensor.size({i}) = {extra.shape[i]}")
        parts.append(extra)
    x = input
    if prepend is not None or append is not None:
        pre = [parts[0]] if prepend is not None else []
        post = [parts[-1]] if append is not None else []
        x = cat(pre + [input] + post, d)
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = (hi != lo) if x.dtype.category == 0 else hi - lo
    return x


def inner(input: Tensor, other: Tensor) -> Tensor:
    """The sum of products over the last dims (the product where either is 0-d)."""
    _need_tensor("inner", input, other)
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{fmt_shape(input.shape)} and {fmt_shape(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-d tensors (real dtypes: no conjugation)."""
    _need_tensor("vdot", input, other)
    if input.dim() != 1 or other.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {other.dim()}D tensors")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_tname(input.dtype)} and "
                           f"{_tname(other.dtype)}")
    if input.numel() != other.numel():
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.numel()}] and src [{other.numel()}] to "
                           f"have the same number of elements, but got {input.numel()} and {other.numel()} "
                           "elements respectively")
    return input.dot(other)


def _named(op: str, out: Tensor, args: tuple) -> Tensor:
    """``out``, a composite's result, under PyTorch's grad_fn name for the whole op (an identity
    node, ``_NAMED``), with the op's arguments as its edges."""
    from .pooling import as_function
    return as_function(record(op, (out,)), args)


def _beta_alpha(input: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * input + alpha * prod``; ``input`` must expand to ``prod``'s shape. With
    ``beta == 0`` the input's values are ignored (NaN and inf included), as PyTorch."""
    expand_rule(input._node, tuple(prod.shape))  # (PyTorch's error where input does not expand)
    out = prod if _is_one(alpha) else prod * alpha
    if _is_zero(beta):
        if input.requires_grad:  # (a zero gradient for input, as PyTorch; its values stay unread)
            with _NoGrad():
                never = full(tuple(input.shape), False, dtype=D.bool_, device=input.device)
            out = out + where(never, input, 0)
        elif tuple(out.shape) != tuple(prod.shape):
            out = out.expand(prod.shape)
        return out
    return (input if _is_one(beta) else input * beta) + out


def _is_one(v: Any) -> bool:
    return isinstance(v, _Number) and v == 1


def _is_zero(v: Any) -> bool:
    return isinstance(v, _Number) and v == 0


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    _need_tensor("addmv", input, mat, vec)
    if mat.dim() != 2 or vec.dim() != 1 or input.dim() > 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.dim()}, {mat.dim()}, {vec.dim()}")
    if mat.shape[1] != vec.shape[0] or (input.dim() == 1 and input.shape[0] not in (1, mat.shape[0])):
        raise RuntimeError(f"size mismatch, got input ({'x'.join(map(str, input.shape))}), mat "
                           f"({mat.shape[0]}x{mat.shape[1]}), vec ({vec.shape[0]})")
    return _named("addmv", _beta_alpha(input, matmul(mat, vec), beta, alpha), (input, mat, vec))


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)``."""
    _need_tensor("addr", input, vec1, vec2)
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if v.dim() != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.dim()}-D")
    return _named("addr", _beta_alpha(input, vec1.reshape(-1, 1) * vec2, beta, alpha), (input, vec1, vec2))


def _check_batches(batch1: Tensor, batch2: Tensor) -> None:
    if batch1.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` (batched matrix products)."""
    _need_tensor("baddbmm", input, batch1, batch2)
    _check_batches(batch1, batch2)
    b, _, k = batch1.shape
    if tuple(batch2.shape[:2]) != (b, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
                           f"[{batch2.shape[0]}, {batch2.shape[1]}].")
    return _named("baddbmm", _beta_alpha(input, matmul(batch1, batch2), beta, alpha), (input, batch1, batch2))


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    _need_tensor("addbmm", input, batch1, batch2)
    _check_batches(batch1, batch2)
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got {batch1.shape[0]} and "
                           f"{batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({batch1.shape[1]}x{batch1.shape[2]} and "
                           f"{batch2.shape[1]}x{batch2.shape[2]})")
    return _named("addbmm", _beta_alpha(input, matmul(batch1, batch2).sum(0), beta, alpha), (input, batch1, batch2))


def _chain_order(dims: list) -> Any:
    """The cheapest parenthesisation of a chain of matrices with ``dims[i] x dims[i+1]`` shapes."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """``torch.linalg.multi_dot``: the product of a chain of matrices in the cheapest order
    (the first may be a row vector and the last a column vector, given as 1-d tensors)."""
    ts = list(tensors)
    if len(ts) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(ts)}")
    _need_tensor("multi_dot", *ts)
    n = len(ts)
    if ts[0].dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {ts[0].dim()}D")
    if ts[-1].dim() not in (1, 2):
        raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {ts[-1].dim()}D")
    for i in range(1, n - 1):
        if ts[i].dim() != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {ts[i].dim()}D")
    for i in range(1, n):
        if ts[i].dtype is not ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{_C_NAMES.get(ts[0].dtype.name)} and tensor {i} {_C_NAMES.get(ts[i].dtype.name)}")
    first_vec, last_vec = ts[0].dim() == 1, ts[-1].dim() == 1
    mats = list(ts)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(1)
    for i in range(n - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {fmt_shape(ts[i].shape)} and "
                               f"{fmt_shape(ts[i + 1].shape)} cannot be multiplied")
    split = _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return mats[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    out = product(0, n - 1)
    if first_vec and last_vec:
        return out.reshape(())
    if first_vec:
        return out.squeeze(0)
    if last_vec:
        return out.squeeze(1)
    return out


def chain_matmul(*matrices: Tensor) -> Tensor:
    """The product of 2-d matrices (deprecated in PyTorch for ``linalg.multi_dot``)."""
    ir.warn_at_user("torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use "
                  "torch.linalg.multi_dot instead, which accepts a list of two or more tensors rather than "
                  "multiple parameters.")
    ms = _tensors_arg(matrices)
    _need_tensor("chain_matmul", *ms)
    for m in ms:
        if m.dim() != 2:
            raise RuntimeError(f"Tensor dimension is {m.dim()}, expected 2 instead.")
    if len(ms) == 1:
        return ms[0].clone()
    return multi_dot(ms)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """``torch.linalg.vecdot``: ``(x * y).sum(dim)`` (broadcast; real dtypes need no conjugation)."""
    _need_tensor("vecdot", x, y)
    if x.dtype is not y.dtype:
        raise RuntimeError(f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
                           f"{_tname(x.dtype)} and y of type {_tname(y.dtype)} instead")
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vecdot: Expected a floating point or complex tensor as input. Got "
                           f"{_tname(x.dtype)}")
    prod = x * y
    return prod.sum(_dim(dim, prod.dim()))


def linalg_matmul(input: Tensor, other: Tensor) -> Tensor:
    """``torch.linalg.matmul``: ``torch.matmul``."""
    return matmul(input, other)


def linalg_diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """``torch.linalg.diagonal``: ``A.diagonal`` over the last two dims by default."""
    _need_tensor("diagonal", A)
    return A.diagonal(offset, dim1, dim2)


def _y_dim(name: str, y: Tensor, dim: int) -> int:
    if y.dim() == 0:
        if name == "cumulative_trapezoid":
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return _dim(dim, y.dim())


def _trapezoid_terms(name: str, y: Tensor, x: Any, dx: Any, dim: int) -> tuple:
    """The trapezoid areas along ``dim`` (unsummed), and that dim."""
    d = _y_dim(name, y, dim)
    y = _float(y)
    length = y.shape[d]
    if length == 0:
        return y, d
    mid = y.narrow(d, 1, length - 1) + y.narrow(d, 0, length - 1)
    if isinstance(x, Tensor):
        if x.dim() == 1:
            if x.shape[0] != length:
                raise RuntimeError(f"{name}: There must be one `x` value for each sample point")
            step = diff(x).reshape((length - 1,) + (1,) * (y.dim() - d - 1))
        else:
            step = diff(x, dim=dim)
        return mid * step / 2, d
    spacing = 1 if dx is None else dx
    return mid * (spacing / 2), d


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``: sample points ``x`` (a tensor) or spacing ``dx`` (default 1)."""
    _need_tensor("trapezoid", y)
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x  # trapezoid(y, dx)
    terms, d = _trapezoid_terms("trapezoid", y, x, dx, dim)
    return terms.sum(d)


def trapz(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """Alias of ``trapezoid``."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoid rule along ``dim`` (one element shorter than ``y`` there)."""
    _need_tensor("cumulative_trapezoid", y)
    if x is not None and not isinstance(x, Tensor):
        x, dx = None, x
    terms, d = _trapezoid_terms("cumulative_trapezoid", y, x, dx, dim)
    if y.shape[d] == 0:
        return terms
    return terms.cumsum(d)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in columns),
    with optional integer frequency weights and float observation weights (NumPy's formula).
    Negative weights are refused where their values are already known (not for pending ones)."""
    _need_tensor("cov", input)
    if input.dim() > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    x = _float(input)
    x = x.reshape(1, -1) if x.dim() < 2 else x
    num_obs = x.shape[1]
    w = None
    for name, wt, integral in (("fweights", fweights, True), ("aweights", aweights, False)):
        if wt is None:
            continue
        _need_tensor("cov", wt)
        if wt.dim() > 1:
            raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                               f"{wt.dim()} dimensions")
        if integral and wt.dtype.category != 1:
            raise RuntimeError(f"cov(): expected fweights to have integral dtype but got fweights with "
                               f"{_tname(wt.dtype)} dtype")
        if not integral and not wt.dtype.is_floating_point:
            raise RuntimeError(f"cov(): expected aweights to have floating point dtype but got aweights with "
                               f"{_tname(wt.dtype)} dtype")
        if wt.numel() != num_obs:
            raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                               f"input but got {wt.numel()} != {num_obs}")
        if wt._node.value is not None and wt.numel() and (np.asarray(wt._node.value) < 0).any():
            raise RuntimeError(f"cov(): {name} cannot be negative")
        w = wt if w is None else w * wt
    if w is None:
        avg = x.mean(1, keepdim=True)
        norm: Any = num_obs - correction
        if norm <= 0:
            ir.warn_at_user("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number "
                          "of observations.")
            norm = 0
        xm = x - avg
        c = matmul(xm, xm.t())
    else:
        w = w.to(D.result_type(((1, w.dtype), (2, x.dtype))))
        w_sum = w.sum()
        avg = (x * w).sum(1, keepdim=True) / w_sum
        if aweights is not None and correction != 0:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        else:
            norm = w_sum - correction
        norm = where(norm <= 0, 0, norm)
        xm = x - avg
        c = matmul(xm, (xm * w).t())
    return (c / norm).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in ``input``'s rows (clipped to [-1, 1])."""
    _need_tensor("corrcoef", input)
    if input.dim() > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.dim()} dimensions")
    c = cov(input)
    if c.dim() == 0:
        return c / c
    sd = c.diagonal().sqrt()
    c = c / sd.unsqueeze(1) / sd.unsqueeze(0)
    return c.clamp(-1, 1)


def _var_mean_args(input: Tensor, dim: Any, unbiased: Any, correction: Any) -> tuple:
    if isinstance(dim, bool):  # var_mean(input, unbiased)
        dim, unbiased = None, dim
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = tuple(range(input.dim())) if dim is None else dim
    return dims, correction


def var_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(var, mean)`` over ``dim`` (all dims by default), with Bessel's ``correction`` (default 1)."""
    _need_tensor("var_mean", input)
    dims, c = _var_mean_args(input, dim, unbiased, correction)
    return input.var(dims, keepdim=keepdim, correction=c), input.mean(dims, keepdim=keepdim)


def std_mean(input: Tensor, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    """``(std, mean)`` over ``dim`` (all dims by default), with Bessel's ``correction`` (default 1)."""
    _need_tensor("std_mean", input)
    dims, c = _var_mean_args(input, dim, unbiased, correction)
    return input.std(dims, keepdim=keepdim, correction=c), input.mean(dims, keepdim=keepdim)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(input), dim))``, computed stably: a log-domain prefix scan of
    ``logaddexp`` steps (``ceil(log2(n))`` of them)."""
    _need_tensor("logcumsumexp", input)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for '{_tname(input.dtype)}'")
    d = _dim(dim, input.dim())
    if input.dim() == 0:
        return input.clone()
    n = input.shape[d]
    y = input
    k = 1
    while k < n:  # y[i] <- logaddexp(y[i], y[i - k]) for i >= k (Hillis-Steele)
        y = cat([y.narrow(d, 0, k), y.narrow(d, k, n - k).logaddexp(y.narrow(d, 0, n - k))], d)
        k *= 2
    return y if y is not input else input.clone()


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm ``maxnorm``."""
    _need_tensor("renorm", input)
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions")
    d = _dim(dim, input.dim())
    others = tuple(i for i in range(input.dim()) if i != d)
    norms = vector_norm(input, p, others, keepdim=True)
    factor = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor.to(input.dtype)


# ---------------------------------------------------------------------------
# 4. dtype casts and attributes (Tensor methods and properties)


def _byte(self: Tensor) -> Tensor:
    """``self.to(torch.uint8)``."""
    return self.to(D.uint8)


def _char(self: Tensor) -> Tensor:
    """``self.to(torch.int8)``."""
    return self.to(D.int8)


def _short(self: Tensor) -> Tensor:
    """``self.to(torch.int16)``."""
    return self.to(D.int16)


def _nbytes(self: Tensor) -> int:
    """The bytes the elements take: ``numel() * itemsize``."""
    return self.numel() * self.dtype.itemsize


def _itemsize(self: Tensor) -> int:
    """The bytes one element takes."""
    return self.dtype.itemsize


def _get_device(self: Tensor) -> int:
    """The GPU index of a CUDA tensor; -1 for a CPU tensor."""
    dev = self.device
    return -1 if dev.type == "cpu" else int(dev.index or 0)


def _is_cpu(self: Tensor) -> bool:
    """Whether the tensor lives on the CPU."""
    return self.device.type == "cpu"


# ---------------------------------------------------------------------------
# 5. order statistics, histograms, numerical gradients, creation functions


def _fmt(v: float) -> str:
    """A double as C++'s ``ostream`` prints it in PyTorch's messages (``%g``: ``1``, ``0.5``, ``inf``)."""
    return f"{v:g}"


# caffe2's TypeMeta names, which histogram's messages print ("float", "long int")
_TYPEMETA_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                   "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                   "uint8": "unsigned char", "bool": "bool"}


def _typemeta(dt: D.dtype) -> str:
    return _TYPEMETA_NAMES.get(dt.name, dt.name)


_NANMEDIAN = _return_type("nanmedian")
_HISTOGRAM = _return_type("histogram", ("hist", "bin_edges"))
_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    """PyTorch's ``quantile_compute``: sort, turn ``q`` into ranks, gather the values below and
    above each rank and ``lerp`` between them (so the gradient flows through the sort)."""
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        if not isinstance(q, _Number):
            raise TypeError(f"quantile() received an invalid combination of arguments - got (Tensor, "
                            f"{type(q).__name__}), but expected a float or Tensor q")
        if not 0 <= q <= 1:
            raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {_fmt(float(q))}")
    if not isinstance(interpolation, str):
        raise TypeError(f"quantile() received an invalid combination of arguments - got (Tensor, ..., "
                        f"interpolation={type(interpolation).__name__}), but expected str interpolation")
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if not scalar_q and q.dim() > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.dtype.name not in ("float32", "float64"):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if scalar_q:
        q = full((), float(q), dtype=input.dtype, device=input.device)
    elif q.dtype is not input.dtype:
        raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
    known = q._node.value
    if known is not None and q.numel() and not ((np.asarray(known) >= 0) & (np.asarray(known) <= 1)).all():
        raise RuntimeError("quantile() q values must be in the range [0, 1]")  # (checked where q is known)
    # reduce over the last dim of x; out_shape is the result's shape without q's dim
    if dim is None:
        x = input.reshape(-1)
        out_shape: tuple = (1,) * input.dim() if keepdim else ()
    else:
        d = _dim(dim, input.dim())
        if input.dim() == 0:
            x, out_shape = input.reshape(1), ()
        else:
            x = input.movedim(d, -1)
            shape = list(input.shape)
            if keepdim:
                shape[d] = 1
            else:
                del shape[d]
            out_shape = tuple(shape)
    srt = x.sort(-1).values  # (NaN sorts last)
    qv = q.reshape(-1)
    with _NoGrad():
        nan = srt.isnan()
        count = (~nan).sum(-1, keepdim=True) if ignore_nan else None
        has_nan = None if ignore_nan else nan.sum(-1, keepdim=True) > 0
    last = srt.shape[-1] - 1
    if ignore_nan:  # ranks among the non-NaN values; an all-NaN slice gets rank 0 (its NaN)
        ranks = qv * (count - 1)
        ranks = where(ranks < 0, 0, ranks)
    else:  # a slice with a NaN gets the last rank (its NaN)
        ranks = where(has_nan, last, qv * last)
    if tuple(ranks.shape) != tuple(srt.shape[:-1]) + (qv.shape[0],):
        ranks = ranks.expand(tuple(srt.shape[:-1]) + (qv.shape[0],))
    if interpolation == "lower":
        ranks = ranks.floor()
    elif interpolation == "higher":
        ranks = ranks.ceil()
    elif interpolation == "nearest":
        ranks = ranks.round()  # (half to even, as PyTorch's round_)
    below = ranks.to(D.int64)
    values = srt.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        weights: Any = 0.5 if interpolation == "midpoint" else ranks - below
        values = values.lerp(srt.gather(-1, ranks.ceil().to(D.int64)), weights)
    if scalar_q or q.dim() == 0:
        return values.squeeze(-1).reshape(out_shape)
    return values.movedim(-1, 0).reshape((qv.shape[0],) + out_shape)


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (``q`` a float or a 0-d/1-d tensor; a 1-d ``q`` adds a leading dim)
    over all elements or along ``dim``; a slice holding a NaN gives NaN."""
    _need_tensor("quantile", input)
    return _quantile(input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaNs (an all-NaN slice gives NaN)."""
    _need_tensor("nanquantile", input)
    return _quantile(input, q, dim, keepdim, interpolation, True)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median of the non-NaN values: of all elements (the gradient shared among ties,
    as PyTorch's), or ``(values, indices)`` along ``dim`` (the gradient to that index)."""
    _need_tensor("nanmedian", input)
    if input.dtype.category == 0:
        where_ = "median_cpu" if dim is None else "median_out"
        raise NotImplementedError(f"\"{where_}\" not implemented for 'Bool'")
    if dim is None:
        if not input.dtype.is_floating_point:
            return input.median()  # (no NaN in an integer tensor)
        if input.numel() == 0:
            return full((), math.nan, dtype=input.dtype, device=input.device)
        x = input.reshape(-1)
        with _NoGrad():
            count = (~x.isnan()).sum()
            k = ((count - 1) // 2).clamp(min=0)
            v = x.sort().values.gather(0, k.reshape(1)).reshape(())
            tie = (x == v) & ~x.isnan()
            # amax of the ties (others at -inf) is v with the gradient shared among them; a -inf
            # median is taken negated, so that the ties stay apart from the filler
            sign = where(v == -math.inf, -1.0, 1.0).to(x.dtype)
        ties_max = where(tie, x * sign, -math.inf).amax() * sign
        # an all-NaN input: NaN, its gradient shared by all elements (x.mean() is both)
        return where(v.isnan(), x.mean(), ties_max)
    d = _dim(dim, input.dim())
    if input.dim() == 0:
        return _NANMEDIAN(input.clone(), zeros((), dtype=D.int64, device=input.device))
    if input.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    with _NoGrad():
        order = input.argsort(d, stable=True)  # NaN last, ties in index order (PyTorch's comparator)
        count = (~input.isnan()).sum(d, keepdim=True)
        idx = order.gather(d, ((count - 1) // 2).clamp(min=0))
    values = input.gather(d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return _NANMEDIAN(values, idx)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose ``(dim1, dim2)`` planes have ``input``'s last dim on their ``offset``-th diagonal."""
    _need_tensor("diag_embed", input)
    nd = input.dim() + 1
    d1, d2 = _dim(dim1, nd), _dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1]
    k = abs(offset)
    m = n + k
    with _NoGrad():
        on = (arange(m, device=input.device) - arange(m, device=input.device).unsqueeze(1)) == offset
        nothing = zeros((), dtype=input.dtype, device=input.device)
    vals = input
    if k:
        vals = cat([input, zeros(tuple(input.shape[:-1]) + (k,), dtype=input.dtype, device=input.device)], -1)
    # plane[i, j] = vals[i] above the main diagonal, vals[j] below it
    out = where(on, vals.unsqueeze(-1) if offset >= 0 else vals.unsqueeze(-2), nothing)
    return out.movedim((-2, -1), (d1, d2))


def _linspace_values(start: float, end: float, steps: int, dt: D.dtype) -> np.ndarray:
    """PyTorch's CPU linspace values from its kernel's scalar formula, in ``dt``: from the
    start for the first half, from the end for the second. (Its vectorised loop, used for
    longer outputs, can round the last bit differently.)"""
    ft = np.dtype(dt.np).type
    s, e = np.asarray(start, ft), np.asarray(end, ft)
    if steps == 1:
        return s.reshape(1)
    step = (e - s) / ft(steps - 1)
    i = np.arange(steps)
    half = steps // 2
    return np.concatenate([s + step * i[:half].astype(ft), e - step * (steps - i[half:] - 1).astype(ft)])


def _c_pow(base: float, exp: float) -> float:
    """C's ``pow`` (what PyTorch's kernel calls; NumPy's vectorised power can differ in the last
    bit): ``math.pow``, with NaN and inf where C gives them instead of raising."""
    try:
        return math.pow(base, exp)
    except ValueError:  # (a negative base to a fractional power)
        return math.nan
    except OverflowError:
        return -math.inf if base < 0 and exp % 2 == 1 else math.inf  # (an odd power keeps the sign)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """``steps`` values ``base ** e``, ``e`` evenly spaced from ``start`` to ``end`` (computed on
    the host as PyTorch's kernel does: exponents and powers in double precision, then cast;
    integer dtypes truncate ``start`` and ``end`` first)."""
    start, end = (float(v.item()) if isinstance(v, Tensor) else v for v in (start, end))
    if not isinstance(steps, int) or isinstance(steps, bool):
        raise TypeError(f"logspace() received an invalid combination of arguments - got (..., steps="
                        f"{type(steps).__name__}), but expected int steps")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    base = float(base)
    if dt.is_floating_point:
        s_t, e_t = np.asarray(start, dt.np), np.asarray(end, dt.np)
        s, e, span = float(s_t), float(e_t), float(e_t - s_t)  # (the span in the dtype, as PyTorch)
    else:
        s, e = float(int(start)), float(int(end))
        span = float(int(end) - int(start))
    if steps == 1:
        exps = np.array([s])
    else:
        step = span / (steps - 1)
        i = np.arange(steps, dtype=np.float64)
        half = steps // 2
        exps = np.concatenate([s + step * i[:half], e - step * (steps - 1 - i[half:])])
    vals = np.array([_c_pow(base, float(v)) for v in exps], dtype=np.float64)
    if not dt.is_floating_point:
        vals = np.trunc(vals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (NaN to an integer: unspecified, as in C++)
        arr = vals.astype(dt.np)
    return tensor(arr, dtype=dt, device=device, requires_grad=requires_grad)


def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """The coordinates, in a tensor of ``shape``, of flat ``indices``: a tuple of int64 tensors."""
    if not isinstance(indices, Tensor):
        raise AttributeError(f"'{type(indices).__name__}' object has no attribute 'is_complex'")
    if indices.dtype.category != 1:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    if isinstance(shape, int):
        shape = (shape,)
    elif isinstance(shape, Sequence):
        for s in shape:
            if not isinstance(s, int):
                raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(s)}")
        shape = tuple(shape)
    else:
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    if any(s < 0 for s in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(shape)}")
    coefs = [math.prod(shape[i + 1:]) for i, _ in enumerate(shape)]  # (row-major strides)
    dev = indices.device
    res = indices.unsqueeze(-1).floor_divide(tensor(coefs, dtype=D.int64, device=dev)) \
        % tensor(list(shape), dtype=D.int64, device=dev)
    return res.unbind(-1)


def histogram(input: Tensor, bins: Any = 100, *, range: Any = None, weight: Tensor | None = None,  # noqa: A002
              density: bool = False) -> Any:
    """``(hist, bin_edges)`` of the flattened ``input``: ``bins`` equal bins over ``range`` (the
    input's min and max by default, read on the host as in PyTorch) or the bins between the
    edges of a 1-d tensor; the last bin includes its right edge, values outside are dropped.
    Not differentiable (the results never require grad)."""
    _need_tensor("histogram", input)
    if not input.dtype.is_floating_point or input.dtype.name in ("float16", "bfloat16"):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_tname(input.dtype)}'")
    dt, dev = input.dtype, input.device
    with _NoGrad():
        if isinstance(bins, Tensor):
            if range is not None:
                raise TypeError("histogram() received an invalid combination of arguments - got (Tensor, Tensor, "
                                "range=tuple): a range goes with an int bins only")
            if bins.dtype is not dt:
                raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, "
                                   f"but got input with dtype {_typemeta(dt)} and bins for dimension 0 with dtype "
                                   f"{_typemeta(bins.dtype)}")
            if bins.dim() != 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {bins.dim()} "
                                   "dimensions in the bins tensor for dimension 0")
            if bins.numel() == 0:
                raise RuntimeError("torch.histogramdd: bins tensor should have at least 1 element, but got 0 "
                                   "elements in the bins tensor for dimension 0")
            nbins = bins.numel() - 1
            if nbins <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {nbins} for dimension 0")
            edges = bins.detach().clone()
        elif isinstance(bins, int) and not isinstance(bins, bool):
            nbins = bins
            if nbins <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {nbins} for dimension 0")
            if range is not None:
                bounds = list(range)
                if len(bounds) != 2:
                    raise RuntimeError(f"torch.histogramdd: for a 1-dimensional histogram range should have 2 "
                                       f"elements, but got {len(bounds)}")
                lo, hi = float(bounds[0]), float(bounds[1])
            elif input.numel():
                lo, hi = float(input.amin().item()), float(input.amax().item())
            else:
                lo, hi = 0.0, 1.0
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise RuntimeError(f"torch.histogramdd: dimension 0's range [{_fmt(lo)}, {_fmt(hi)}] is not finite")
            if lo > hi:
                raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_fmt(lo)} max "
                                   f"{_fmt(hi)} for dimension 0")
            if lo == hi:  # (an empty range widened, as NumPy)
                lo, hi = lo - 0.5, hi + 0.5
            edges = tensor(_linspace_values(lo, hi, nbins + 1, dt), dtype=dt, device=dev)
        else:
            raise TypeError(f"histogram() received an invalid combination of arguments - got (Tensor, "
                            f"{type(bins).__name__}), but expected an int or a Tensor bins")
        x = input.reshape(-1)
        if weight is not None:
            _need_tensor("histogram", weight)
            if weight.dtype is not dt:
                raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                                   f"should have the same dtype, but got input({_typemeta(dt)}), and "
                                   f"weight({_typemeta(weight.dtype)})")
            if weight.numel() != x.numel():
                raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape "
                                   f"as the input tensor excluding its innermost dimension, but got input with shape "
                                   f"[{x.numel()}, 1] and weight with shape [{max(weight.numel(), 1)}]")
            w = weight.detach().reshape(-1)
        else:
            w = full((x.numel(),), 1.0, dtype=dt, device=dev)
        pos = searchsorted(edges, x, right=True) - 1  # the last edge <= x
        pos = where(pos >= nbins, nbins - 1, pos)     # (the last bin includes its right edge)
        inside = (x >= edges[0]) & (x <= edges[-1])  # (NaN is outside)
        hist = zeros(nbins, dtype=dt, device=dev).scatter_add(0, where(inside, pos, 0), where(inside, w, 0))
        if density:
            hist = hist / hist.sum() / diff(edges)
    return _HISTOGRAM(hist, edges)


def _gradient_dims(input: Tensor, dim: Any) -> tuple:
    if dim is None:
        return list(range(input.dim())), False
    return ([dim] if isinstance(dim, int) else list(dim)), True


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple:
    """Central differences along each of ``dim`` (all dims by default), one-sided ones of first or
    second order (``edge_order``) at the ends; ``spacing`` is a number, a list of numbers (one a
    dim) or a list of 1-d coordinate tensors. A tuple with one tensor a dim."""
    _need_tensor("gradient", input)
    if input.dtype.name == "uint8":
        raise RuntimeError("torch.gradient does not support uint8 input.")
    dims, dim_given = _gradient_dims(input, dim)
    if spacing is None:
        spacing = 1
    if isinstance(spacing, Tensor) and spacing.dim() == 0:
        spacing = spacing.item()  # (a 0-d tensor is a Number to PyTorch)
    if isinstance(spacing, _Number):
        spacings: list = [spacing] * len(dims)
    elif isinstance(spacing, (list, tuple)):
        spacings = list(spacing)
        if any(isinstance(s, Tensor) for s in spacings):
            for k, s in enumerate(spacings):
                if not isinstance(s, Tensor):
                    raise TypeError(f"expected Tensor as element {k} in argument 1, but got {type(s).__name__}")
        if not dim_given and len(spacings) != input.dim():
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                               f"equal to 'self.dim() = {input.dim()}', since dim argument was not given, but got a "
                               f"list of length {len(spacings)}")
        if dim_given and len(spacings) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                               f"arguments to have the same length, but got a spacing argument of length "
                               f"{len(spacings)} and a dim argument of length {len(dims)}.")
    else:
        raise TypeError(f"gradient() received an invalid combination of arguments - got (Tensor, spacing="
                        f"{type(spacing).__name__}), but expected a number, a list of numbers or a list of tensors")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    wrapped = [_dim(d, input.dim()) for d in dims]
    for k, d in enumerate(wrapped):
        if d in wrapped[:k]:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    for d in wrapped:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    out = []
    for d, h in zip(wrapped, spacings):
        def sl(a: int, b: int | None, d: int = d) -> Tensor:
            return _slice_dim(input, d, a, input.shape[d] if b is None else b)
        if isinstance(h, Tensor):
            out.append(_gradient_coords(input, sl, d, h, edge_order))
            continue
        # (PyTorch's expressions, in its order, so the roundings agree)
        center = (sl(2, None) - sl(0, -2)) / h
        if edge_order == 1:
            pre = (sl(1, 2) - sl(0, 1)) / h
            app = (sl(-1, None) - sl(-2, -1)) / h
        else:
            pre = (-1.5 * sl(0, 1) + 2 * sl(1, 2) - 0.5 * sl(2, 3)) / h
            app = (0.5 * sl(-3, -2) - 2 * sl(-2, -1) + 1.5 * sl(-1, None)) / h
        out.append(cat([pre, center / 2, app], d))
    return tuple(out)


def _gradient_coords(input: Tensor, sl: Any, d: int, coords: Tensor, edge_order: int) -> Tensor:
    """``gradient`` along ``d`` at sample points ``coords`` (second-order accurate inside)."""
    if coords.dim() != 1:
        raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, but got an "
                           f"element with {coords.dim()} dimensions!")
    shape = [1] * input.dim()
    shape[d] = -1
    dx = diff(coords)
    dx1, dx2 = dx.narrow(0, 0, dx.shape[0] - 1), dx.narrow(0, 1, dx.shape[0] - 1)
    a = (-dx2 / (dx1 * (dx1 + dx2))).reshape(shape)
    b = ((dx2 - dx1) / (dx1 * dx2)).reshape(shape)
    c = (dx1 / (dx2 * (dx1 + dx2))).reshape(shape)
    center = a * sl(0, -2) + b * sl(1, -1) + c * sl(2, None)
    h0, h1, hm2, hm1 = dx[0], dx[1] if dx.shape[0] > 1 else None, dx[-2] if dx.shape[0] > 1 else None, dx[-1]
    if edge_order == 1:
        pre = (sl(1, 2) - sl(0, 1)) / h0
        app = (sl(-1, None) - sl(-2, -1)) / hm1
    else:
        a = -(2.0 * h0 + h1) / (h0 * (h0 + h1))
        b = (h0 + h1) / (h0 * h1)
        c = (-h0) / (h1 * (h0 + h1))
        pre = a * sl(0, 1) + b * sl(1, 2) + c * sl(2, 3)
        a = hm1 / (hm2 * (hm1 + hm2))
        b = -(hm1 + hm2) / (hm1 * hm2)
        c = (2 * hm1 + hm2) / (hm1 * (hm1 + hm2))
        app = a * sl(-3, -2) + b * sl(-2, -1) + c * sl(-1, None)
    return cat([pre, center, app], d)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:  # noqa: N803
    """The Vandermonde matrix of a 1-d tensor: columns ``x ** (N - 1), ..., x ** 0`` (reversed with
    ``increasing``), built with ``cumprod``; integer and bool tensors give int64."""
    _need_tensor("vander", x)
    if x.dim() != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is not None and (not isinstance(N, int) or isinstance(N, bool)):
        raise TypeError(f"vander(): argument 'N' must be int, not {type(N).__name__}")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x.dtype if x.dtype.is_floating_point else D.int64
    rows = x.shape[0]
    if n == 0:
        return zeros(rows, 0, dtype=dt, device=x.device)
    out = full((rows, 1), 1, dtype=dt, device=x.device)
    if n > 1:
        out = cat([out, x.to(dt).unsqueeze(1).expand(rows, n - 1).cumprod(1)], 1)
    return out if increasing else out.flip(1)


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: their transpose (srcgrad has no complex dtypes)."""
    _need_tensor("adjoint", input)
    return _last_two_transposed(input, "adjoint()", "tensor.adjoint()")


def _last_two_transposed(t: Tensor, name: str, error_name: str) -> Tensor:
    """``adjoint``/``mH``: the last two dims swapped, with PyTorch's warning (0-d) and error (1-d)."""
    if t.dim() == 0:
        warnings.warn(f"{name} is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=3)
        return t
    if t.dim() == 1:
        raise RuntimeError(f"{error_name} is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return t.transpose(-2, -1)


def _H(self: Tensor) -> Tensor:  # noqa: N802
    """``t.H``: the conjugate transpose of a matrix (its transpose: no complex dtypes)."""
    if self.dim() == 0:
        ir.warn_at_user("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().")
        return self
    if self.dim() != 2:
        more = " For batches of matrices, consider using tensor.mH" if self.dim() > 2 else ""
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self.dim()}-D tensor.{more}")
    return self.transpose(0, 1)


def _mH(self: Tensor) -> Tensor:  # noqa: N802
    """``t.mH``: the conjugate transpose of the last two dims (their transpose: no complex dtypes)."""
    return _last_two_transposed(self, "Tensor.mH", "tensor.mH")


def scalar_tensor(s: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
                  layout: Any = None, pin_memory: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s`` (the default float dtype unless told)."""
    if isinstance(s, Tensor) or not isinstance(s, _Number):
        raise TypeError(f"scalar_tensor(): argument 's' (position 1) must be Number, not {type(s).__name__}")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return tensor(s, dtype=dt, device=device, requires_grad=requires_grad)


_RANGE_WARNING = ("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).")


def _torch_range(start: Any, end: Any, step: Any = 1, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """``torch.range`` (deprecated, with PyTorch's warning): ``start, start + step, ...`` up to and
    including ``end``, in the default float dtype unless told (values ``start + i * step``
    computed in double precision, then cast, as PyTorch's kernel)."""
    ir.warn_at_user(_RANGE_WARNING)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if dt.category == 0:
        raise NotImplementedError("\"range_cpu\" not implemented for 'Bool'")
    start, end, step = (v.item() if isinstance(v, Tensor) else v for v in (start, end, step))
    conv = float if dt.is_floating_point else int  # (PyTorch's accumulate type: double or int64)
    xs, xe, xst = conv(start), conv(end), conv(step)
    if xst == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(xs) and math.isfinite(xe)):
        raise RuntimeError(f"unsupported range: {_fmt(xs)} -> {_fmt(xe)}")
    if not ((xst > 0 and xe >= xs) or (xst < 0 and xe <= xs)):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    size = int((xe - xs) / xst + 1) if dt.is_floating_point else (xe - xs) // xst + 1
    if dt.is_floating_point:
        vals = (xs + np.arange(size, dtype=np.float64) * xst).astype(dt.np)
    else:
        vals = (xs + np.arange(size, dtype=np.int64) * xst).astype(dt.np)
    return tensor(vals, dtype=dt, device=device, requires_grad=requires_grad)


# (not a global ``range``, which would replace the builtin in this module: served by __getattr__)
_torch_range.__name__ = _torch_range.__qualname__ = "range"


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A tensor of ``size`` (zero-filled; ``stride`` is checked but not kept: srcgrad's layouts are
    XLA's own, and ``stride()`` reports the contiguous strides)."""
    for name, pos, v in (("size", 1, size), ("stride", 2, stride)):
        if not isinstance(v, (list, tuple)):
            raise TypeError(f"empty_strided(): argument '{name}' (position {pos}) must be tuple of ints, not "
                            f"{type(v).__name__}")
    size, stride = [int(s) for s in size], [int(s) for s in stride]
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    for s in size:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {size}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={size} and strides={stride}")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if requires_grad and not dt.is_floating_point:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
    return zeros(tuple(size), dtype=dt, device=device, requires_grad=requires_grad)


def __getattr__(name: str) -> Any:
    """``srcgrad.composite.range``: ``torch.range`` (kept out of the module's globals)."""
    if name == "range":
        return _torch_range
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# 6. aliases and small helpers from a parity sweep: rsub, arctan2, msort, angle, frexp, put, new

def rsub(input: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``other - alpha * input`` (PyTorch's reversed subtraction)."""
    _need_tensor("rsub", input)
    return other - (input if alpha == 1 else input * alpha)


def arctan2(input: Tensor, other: Any) -> Tensor:
    """NumPy's name for ``atan2``."""
    _need_tensor("arctan2", input)
    return input.atan2(other)


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0 (the values of ``sort(input, dim=0)``)."""
    _need_tensor("msort", input)
    return input.sort(dim=0).values


def angle(input: Tensor) -> Tensor:
    """The argument of each element: pi for negatives, 0 otherwise, NaN kept (srcgrad is real-only).
    Its gradient is zero, as PyTorch's for real inputs."""
    _need_tensor("angle", input)
    x = input if input.dtype.is_floating_point else input.float()
    return where(x < 0, math.pi, 0.0) + x * 0  # (x * 0: NaN stays NaN, and the gradient is zero)


def frexp(input: Tensor) -> Any:
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent`` and ``0.5 <= |mantissa| < 1``
    (0 for 0), the exponent int32: the decomposition of normal floats."""
    _need_tensor("frexp", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    with _NoGrad():
        mag = input.abs()
        safe = where(mag > 0, mag, 1.0)
        exponent = (safe.log2().floor() + 1).to(D.int32)
        exponent = where(safe / (2.0 ** exponent.to(input.dtype)) >= 1, exponent + 1, exponent)  # (rounding in log2)
        exponent = where(mag > 0, exponent, 0).to(D.int32)
    mantissa = input / (2.0 ** exponent.to(input.dtype))
    return _FREXP(mantissa, exponent)


_FREXP = _return_type("frexp", ("mantissa", "exponent"))


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` read as 1-d with ``source`` written (or, with ``accumulate``, added) at ``index``."""
    _need_tensor("put", input, index, source)
    if index.dtype is not D.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {_tname(index.dtype)}")
    if source.dtype is not input.dtype:
        from .tensor import _same_dtype_source
        _same_dtype_source("put_", input, source)
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {index.numel()}")
    n = input.numel()
    flat = index.reshape(-1)
    flat = where(flat < 0, flat + n, flat)
    return input.reshape(-1).index_put((flat,), source.reshape(-1), accumulate=accumulate).reshape(input.shape)


def _new(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """The legacy ``t.new(...)``: a tensor of ``t``'s dtype and device, from data or of a shape."""
    from .tensor import legacy_construct
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0].dtype is not self.dtype:
            raise TypeError(f"expected {self.dtype} (got {args[0].dtype})")
        return args[0].detach()
    out = legacy_construct(self.dtype, args)
    return out if out.device == self.device else out.to(self.device)


def _multinomial(self: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
    from .sampling import multinomial
    return multinomial(self, num_samples, replacement, generator=generator)


# ---------------------------------------------------------------------------
# The srcgrad.<name> functions (only names srcgrad does not have already).

_FUNCTIONS = (
    "eq ne gt ge lt le greater greater_equal less less_equal not_equal isneginf isposinf isreal is_nonzero "
    "is_same_size is_signed is_complex is_floating_point count_nonzero aminmax positive "
    "broadcast_shapes broadcast_to broadcast_tensors hstack vstack row_stack dstack column_stack tensor_split "
    "hsplit vsplit dsplit split_with_sizes unsafe_split unsafe_split_with_sizes unsafe_chunk swapdims "
    "narrow_copy meshgrid cartesian_prod combinations rot90 tril_indices triu_indices block_diag diagflat take "
    "repeat_interleave erfc exp2 float_power logaddexp2 heaviside fix ldexp cross kron diff inner vdot addmv "
    "addr baddbmm addbmm chain_matmul trapezoid trapz cumulative_trapezoid cov corrcoef var_mean std_mean "
    "logcumsumexp renorm quantile nanquantile nanmedian diag_embed logspace unravel_index histogram gradient vander "
    "adjoint scalar_tensor range empty_strided rsub arctan2 msort angle frexp put"
).split()

_package = sys.modules.get(__name__.rpartition(".")[0])
__all__ = [n for n in _FUNCTIONS if _package is None or not hasattr(_package, n)]

# ---------------------------------------------------------------------------
# Tensor methods, properties and srcgrad.linalg functions of the same names, bound here
# (one block). A name Tensor or srcgrad.linalg already has is never replaced.

_g = globals()
METHODS = (
    "eq ne gt ge lt le greater greater_equal less less_equal not_equal isneginf isposinf isreal is_nonzero "
    "is_same_size is_signed is_complex count_nonzero aminmax positive "
    "broadcast_to tensor_split hsplit vsplit dsplit split_with_sizes unsafe_split unsafe_split_with_sizes "
    "unsafe_chunk swapdims sum_to_size narrow_copy rot90 diagflat take unfold repeat_interleave "
    "erfc exp2 float_power logaddexp2 heaviside fix ldexp cross kron diff inner vdot addmv addr baddbmm addbmm "
    "logcumsumexp renorm quantile nanquantile nanmedian diag_embed histogram adjoint arctan2 msort angle frexp put"
).split()
_EXTRA_METHODS: dict[str, Any] = {"byte": _byte, "char": _char, "short": _short, "float_power_": _float_power_,
                                 "new": _new, "multinomial": _multinomial}
INPLACE_METHODS = (
    "eq ne gt ge lt le greater greater_equal less less_equal not_equal erfc exp2 fix ldexp heaviside renorm "
    "addmv addr baddbmm addbmm swapdims put"
).split()
PROPERTIES: dict[str, Any] = {"nbytes": _nbytes, "itemsize": _itemsize, "is_cpu": _is_cpu, "H": _H, "mH": _mH}
LINALG: dict[str, Any] = {"cross": linalg_cross, "multi_dot": multi_dot, "vecdot": vecdot, "matmul": linalg_matmul,
                          "diagonal": linalg_diagonal}

for _name in METHODS:
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _g[_name])
for _name, _fn in _EXTRA_METHODS.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _fn)
if not hasattr(Tensor, "get_device"):
    Tensor.get_device = _get_device
for _name in INPLACE_METHODS:
    if not hasattr(Tensor, _name + "_"):
        if _name == "swapdims":
            if hasattr(Tensor, "transpose_"):
                Tensor.swapdims_ = Tensor.transpose_
            continue
        setattr(Tensor, _name + "_", _inplace_method(_name))
for _name, _fn in PROPERTIES.items():
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, property(_fn, doc=_fn.__doc__))
for _rt in (_NANMEDIAN, _HISTOGRAM):  # (torch.return_types.nanmedian and .histogram)
    if not hasattr(return_types, _rt.__name__):
        setattr(return_types, _rt.__name__, _rt)
_linalg = sys.modules.get(__name__.rpartition(".")[0] + ".linalg")
if _linalg is not None:
    for _name, _fn in LINALG.items():
        if not hasattr(_linalg, _name):
            setattr(_linalg, _name, _fn)
del _g, _name, _fn, _rt
