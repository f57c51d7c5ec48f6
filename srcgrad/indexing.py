"""Turning a Python index (``x[0, 1:3, None, idx, mask]``) into a static spec plus index tensors.

The spec is hashable and part of the graph signature: ints, ``("slice", a, b, c)``,
``None``, ``"..."`` and ``"T"`` for "the next index tensor input".
"""

from __future__ import annotations

from typing import Any

import numpy as np


def spec_to_index(spec: tuple, tensors: list) -> tuple:
    """The spec as a real index tuple, with ``tensors`` in the "T" slots."""
    out: list[Any] = []
    it = iter(tensors)
    for s in spec:
        if s == "T":
            out.append(next(it))
        elif isinstance(s, tuple):
            out.append(slice(*s[1:]))
        elif s == "...":
            out.append(Ellipsis)
        else:
            out.append(s)
    return tuple(out)


def split_selects(index: Any) -> tuple[tuple, tuple] | None:
    """``(selects, rest)`` when ``index`` mixes integers with advanced indices (index
    tensors, lists, masks), else None. PyTorch applies the integers (and 0-dim integer
    tensors) first, as selects, then indexes the view with the rest; NumPy's rule, which
    JAX follows, would instead broadcast them with the index tensors and, when a slice
    separates them, move the result's dims to the front (``x[0, :, idx]``)."""
    if type(index) is not tuple or len(index) < 2:
        return None  # (one index cannot mix the two: the common case, x[i] or x[idx])
    has_int = has_advanced = False
    for it in index:
        if _is_int(it):
            has_int = True
        elif _advanced_dims(it):
            has_advanced = True
    if not (has_int and has_advanced):
        return None
    selects: list[Any] = []
    rest: list[Any] = []
    for it in index:
        if _is_int(it):
            selects.append(it)
        elif it is None:
            rest.append(it)
        elif it is Ellipsis:
            selects.append(it)
            rest.append(it)
        else:
            selects.extend([slice(None)] * max(_advanced_dims(it), 1))
            rest.append(it)
    return tuple(selects), tuple(rest)


def _is_int(it: Any) -> bool:
    if isinstance(it, (int, np.integer)):
        return not isinstance(it, (bool, np.bool_))
    return hasattr(it, "_node") and not it._node.shape and it._node.dtype.category == 1


def _advanced_dims(it: Any) -> int:
    """How many dims an advanced index consumes (0: not an advanced index)."""
    if isinstance(it, (list, range, np.ndarray)):
        a = np.asarray(it)
        return a.ndim if a.dtype == np.bool_ else 1
    if hasattr(it, "_node") and it._node.shape:  # a tensor of one or more dims
        return len(it._node.shape) if it._node.dtype.category == 0 else 1
    return 0


def normalize(index: Any, shape: tuple, as_tensor: Any) -> tuple[tuple, list, str, bool]:
    """Check ``index`` against ``shape``; return (spec, index tensors, kind, view).

    ``as_tensor`` turns lists/arrays into srcgrad tensors. ``kind`` names the op
    as PyTorch does: "index" when an index tensor other than a 0-dim integer one
    takes part (advanced indexing, a copy); else the last view op PyTorch applies
    left to right ("select" for ints and 0-dim integer tensors, "slice" for a slice
    that does not cover its dim, "unsqueeze" for None), or, when there is none,
    "slice" for a lone slice (``x[:]``) and "alias" otherwise (``x[...]``,
    ``x[:, :]``). ``view``: some index makes a view (so an assignment through it
    copies into a view of the tensor, not into the tensor itself).
    """
    if type(index) is int and shape and -shape[0] <= index < shape[0]:  # x[i]: the common case
        return (index % shape[0],), [], "select", True
    from .tensor import Tensor

    items = index if isinstance(index, tuple) else (index,)
    # Expand bool masks and lists first, so dims can be counted.
    expanded: list[Any] = []
    for it in items:
        if isinstance(it, (list, range, np.ndarray)) or (isinstance(it, Tensor)):
            t = it if isinstance(it, Tensor) else as_tensor(it)
            if t.dtype.name == "uint8":  # (a byte tensor is a mask, as in old PyTorch, with its warning)
                import warnings
                warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool "
                              "instead.", UserWarning, stacklevel=3)
                t = t.bool()
            if t.dtype.category == 0 and not t._node.shape:
                raise IndexError("srcgrad does not support indexing with a 0-dim bool tensor (a new dim of size "
                                 "1 or 0); use None, or a 1-dim mask")
            if t.dtype.category == 0:
                # A bool mask selects data-dependent positions: realise it, one index tensor per dim.
                mask = t.detach().numpy()
                for k, idx in enumerate(np.nonzero(mask)):
                    expanded.append(("mask", as_tensor(idx.astype(np.int64)), mask.shape, k))
                continue
            if t.dtype.category != 1:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            expanded.append(("int0", t) if not t._node.shape else t)
        elif isinstance(it, (bool, np.bool_)):
            raise IndexError("srcgrad does not support indexing with a Python bool; use a bool tensor mask")
        else:
            expanded.append(it)
    used = sum(1 for e in expanded if e is not None and e is not Ellipsis)
    if used and not shape:
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                         "in C++ to convert a 0-dim tensor to a number")
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    spec: list[Any] = []
    tensors: list[Any] = []
    dim = 0
    last = None  # the last view op PyTorch applies
    advanced = False
    for e in expanded:
        if e is Ellipsis:
            skip = len(shape) - used
            spec.append("...")
            dim += skip
            continue
        if e is None:
            spec.append(None)
            last = "unsqueeze"
            continue
        if isinstance(e, tuple) and e and e[0] == "mask":
            if e[2][e[3]] != shape[dim]:
                raise IndexError(f"The shape of the mask {list(e[2])} at index {e[3]} does not match the "
                                 f"shape of the indexed tensor {list(shape)} at index {dim}")
            spec.append("T")
            tensors.append(e[1])
            advanced = True
            dim += 1
            continue
        if isinstance(e, tuple) and e and e[0] == "int0":
            # A 0-dim integer tensor selects, as an int does (PyTorch: a view); it stays a
            # program input, so each value does not compile a program of its own.
            _check_tensor_bounds(e[1], shape[dim], dim)
            spec.append("T")
            tensors.append(e[1])
            last = "select"
            dim += 1
            continue
        if isinstance(e, Tensor):
            _check_tensor_bounds(e, shape[dim], dim)
            spec.append("T")
            tensors.append(e)
            advanced = True
            dim += 1
            continue
        if isinstance(e, slice):
            if e.step is not None and e.step <= 0:
                raise ValueError("step must be greater than zero")
            a, b, c = _int_or_none(e.start), _int_or_none(e.stop), _int_or_none(e.step)
            spec.append(("slice", a, b, c))
            size = shape[dim]
            if not ((c is None or c == 1) and (a is None or a == 0) and (b is None or b >= size)):
                last = "slice"  # (PyTorch skips a slice from 0 to the end or past it: x[:], x[0:9])
            dim += 1
            continue
        try:
            i = int(e.__index__())
        except (AttributeError, TypeError):
            raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or bool "
                             f"tensors are valid indices (got {type(e).__name__})") from None
        size = shape[dim]
        if not -size <= i < size:
            raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {size}")
        spec.append(i % size)
        last = "select"
        dim += 1
    kind = "index" if advanced else last or ("slice" if isinstance(index, slice) else "alias")
    return tuple(spec), tensors, kind, last is not None


def _int_or_none(v: Any) -> Any:
    if v is None:
        return None
    return int(v.__index__())


def _check_tensor_bounds(t: Any, size: int, dim: int) -> None:
    # JAX clamps out-of-range indices silently; PyTorch raises. Check the values (this
    # realises a pending index tensor, as PyTorch synchronises too). While a compiled
    # function is traced, only an index whose values are already known is checked, and
    # without making the trace depend on them (an index argument keeps the function
    # compiled; its replays do what XLA does with an out-of-range index, as gather's do).
    from . import tracing
    if tracing.ACTIVE is not None:
        value = t._node.value
        if value is None or t.device.type != "cpu" or isinstance(value, tracing.Unknown):
            return
        vals = np.asarray(value)
    else:
        vals = np.asarray(t.detach().numpy())
    if vals.size and (vals.max() >= size or vals.min() < -size):
        bad = int(vals.max()) if vals.max() >= size else int(vals.min())
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
