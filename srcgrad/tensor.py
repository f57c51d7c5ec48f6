"""``Tensor``: a handle on an IR node, with PyTorch's names and behaviour.

Every op checks shapes and dtypes where the user calls it and records one IR
node; nothing is computed until a value is needed (printing, ``.item()``,
``.numpy()``, ``bool()``, ``backward()``), when ``compiler.realize`` runs the
pending graph as one cached XLA program.
"""

from __future__ import annotations

import copy
import functools
import math
import sys
import types
import warnings
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import ml_dtypes
import numpy as np

from . import compiler, ir, tracing
from . import dtypes as D
from .device import CPU, META, META_VALUE, NO_DATA, device, from_jax
from .grad_mode import (
    INFERENCE_INPLACE,
    INFERENCE_REQUIRES_GRAD,
    _inference_bounds,
    is_inference_mode_enabled,
    is_inference_node,
)
from .grad_mode import _state as _grad_state
from .indexing import normalize, split_selects
from .ir import Node
from .ops import OPS, TORCH_TYPE_NAMES, basic_index_shape, broadcast_shapes, expand_rule, fmt_shape

_Number = (int, float, bool)


def _return_type(name: str, fields: tuple = ("values", "indices")) -> type:
    """A named tuple (``(values, indices)`` unless told) called as PyTorch's ``torch.return_types.<name>``."""
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:  # noqa: N807
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"torch.return_types.{name}(\n{body})"

    return type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": "torch.return_types"})


# ``torch.return_types``: the result types of max(dim), min(dim) and sort
return_types = types.SimpleNamespace(**{n: _return_type(n) for n in ("max", "min", "sort", "topk", "kthvalue",
                                                                      "median", "cummax", "cummin", "mode")})
for _n, _fields in (("linalg_slogdet", "sign logabsdet"), ("slogdet", "sign logabsdet"),
                    ("linalg_eigh", "eigenvalues eigenvectors"), ("linalg_qr", "Q R"), ("qr", "Q R"),
                    ("linalg_svd", "U S Vh"), ("svd", "U S V"),
                    ("linalg_lstsq", "solution residuals rank singular_values"), ("linalg_lu", "P L U"),
                    ("lu_unpack", "P L U"), ("linalg_lu_factor", "LU pivots"),
                    ("linalg_lu_factor_ex", "LU pivots info")):
    setattr(return_types, _n, _return_type(_n, tuple(_fields.split())))
values_indices = return_types.max  # (the old name)
_matmul_precision = ["highest"]


def set_float32_matmul_precision(precision: str) -> None:
    """"highest" (full float32, the default, as PyTorch) or "high"/"medium" (TF32 on GPUs)."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"precision must be 'highest', 'high' or 'medium', got {precision!r}")
    _matmul_precision[0] = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision[0]


# ---------------------------------------------------------------------------
# recording


def scalar_node(v: Any, literal: bool = False) -> Node:
    """A Python number: a program input, so its value never enters the cache key.

    Numbers that srcgrad itself writes (the constants of derivative rules, the
    1 of ``ones``) are ``literal``: part of the graph's structure, printed
    into the generated code as they are.
    """
    n = Node()
    n.id = ir._next_id()
    n.inputs = ()
    n.shape = ()
    n.dtype = D.weak_bool if isinstance(v, bool) else D.weak_int if isinstance(v, int) else D.weak_float
    n.device = None
    n.loc = None
    n.requires_grad = False
    n.leaf = False
    n.owner = None
    n.special = False
    if literal or ir._block is not None:
        if not literal and type(v) is not bool and isinstance(v, float) and tracing.ACTIVE is not None:
            note = getattr(tracing.ACTIVE, "note_baked", None)  # (a user's number in a backward: see compiled.py)
            if note is not None:
                note(v)
        n.op = "const"
        n.attrs = (v,)
        n.value = None
        n.sig = ("const", n.attrs, (), n.dtype)
    else:
        n.op = "scalar"
        n.attrs = ()
        n.value = v
        n.sig = None
    return n


# Input nodes of recently used Python numbers, by the number object's identity: the
# `lr` of `p -= lr * p.grad` is the same float every step. A node keeps its number
# alive, so an id here can never be reused by another object; the table is bounded.
_number_nodes: dict[int, Node] = {}


def as_node(x: Any) -> Node:
    if isinstance(x, Tensor):
        return x._node
    if isinstance(x, _Number):
        if ir._block is not None:
            return scalar_node(x)
        n = _number_nodes.get(id(x))
        if n is None:
            if len(_number_nodes) >= 1024:
                _number_nodes.clear()
            n = _number_nodes[id(x)] = scalar_node(x)
        return n
    if isinstance(x, (np.integer, np.floating, np.bool_)):
        return scalar_node(x.item())
    if x is None:  # (t + None: Python's TypeError, as PyTorch's operators give)
        raise TypeError("unsupported operand type(s): a Tensor and 'NoneType'")
    return tensor(x)._node


# A shape rule's keyword arguments, by (op, attributes): the same few recur every step.
_rule_kwargs: dict[tuple, dict] = {}


# Called as ``args = f(name, args)`` before each op is recorded, or None (the common case): the
# hooks set with set_record_hook, run in _RECORD_HOOK_ORDER. Autocast casts the inputs
# (amp/autocast_mode.py); the profiler notes when the op's recording starts (autograd/profiler.py).
_before_record: Any = None
_record_hooks: dict[str, Callable] = {}
_RECORD_HOOK_ORDER = ("profiler", "autocast")  # (the profiler's clock starts before the casts)


def set_record_hook(owner: str, fn: Callable | None) -> None:
    """Install (or, with None, remove) ``owner``'s hook run before each op is recorded."""
    global _before_record
    if fn is None:
        _record_hooks.pop(owner, None)
    else:
        _record_hooks[owner] = fn
    hooks = [_record_hooks[k] for k in _RECORD_HOOK_ORDER if k in _record_hooks]
    if not hooks:
        _before_record = None
    elif len(hooks) == 1:
        _before_record = hooks[0]
    else:
        def chained(name: str, args: tuple) -> tuple:
            for h in hooks:
                args = h(name, args)
            return args
        _before_record = chained

# Called as f(tensor, args) for each op recorded under grad, while a feature needs it:
# saved_tensors_hooks (autograd/saved_hooks.py), anomaly mode's forward tracebacks (grad_mode.py).
ON_RECORD: list = []


def record(name: str, args: tuple, attrs: tuple = ()) -> Tensor:
    """Check and record one op; return the new tensor. Nothing is recorded on error."""
    if _before_record is not None:
        args = _before_record(name, args)
    op = OPS[name]
    if len(args) == 2:  # (spelled out for the common case: a comprehension is a call of its own)
        a, b = args
        nodes = (a._node if type(a) is Tensor else as_node(a), b._node if type(b) is Tensor else as_node(b))
    else:
        nodes = tuple([a._node if type(a) is Tensor else as_node(a) for a in args])
    if attrs:
        kwargs = _rule_kwargs.get((name, attrs))
        if kwargs is None:
            kwargs = dict(zip(op.attr_names, attrs))
            if len(_rule_kwargs) < 4096:
                _rule_kwargs[(name, attrs)] = kwargs
        shape, dt = op.shape_rule(*nodes, **kwargs)
    else:
        shape, dt = op.shape_rule(*nodes)
    dev = None
    rg = False
    mixed = False
    for n in nodes:
        if n.device is not None:
            if dev is None:
                dev = n.device
            elif n.device is not dev:
                mixed = True
        if n.requires_grad:
            rg = True
    if mixed:  # (rare: a CPU scalar joining an op on another device, else an error)
        dev, nodes = _mixed_devices(nodes, name)
    if rg:
        rg = _grad_state.enabled and dt.category == 2 and op.grad_name != "NotImplemented"
    if dev is None:
        dev = CPU
    node = ir.new_node(name, nodes, attrs, shape, dt, dev, rg)
    t = object.__new__(Tensor)
    t._node = node
    t._grad = None
    t._version = 0
    t._base = None
    t._view = None
    t._views = None
    t._st = None
    node.owner = ir.weakref.ref(t)
    if rg and ON_RECORD:
        for f in ON_RECORD:
            f(t, args)
    return t


def write_out(name: str, result: Any, out: Any) -> Any:
    """PyTorch's ``out=``: ``result`` written into ``out``, which is returned (a tuple of results
    into a tuple of tensors). An ``out`` of another shape is resized, with PyTorch's warning unless
    it was empty; a result that cannot be cast to its dtype, or any gradient, is refused."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors")
        for r, o in zip(result, out):
            write_out(name, r, o)
        return type(result)(*out) if hasattr(type(result), "_fields") else tuple(out)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _grad_state.enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad.")
    rd, od = result._node.dtype, out._node.dtype
    if rd is not od:
        if rd.category > od.category:  # (a float into an int, an int into a bool)
            raise RuntimeError(f"result type {TORCH_TYPE_NAMES[rd.name]} can't be cast to the desired output type "
                               f"{TORCH_TYPE_NAMES[od.name]}")
        result = result.to(od)
    if result._node.shape == out._node.shape:
        out.copy_(result)
        return out
    if out.numel():
        warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, which "
                      f"does not match the required output shape {list(result.shape)}. This behavior is deprecated, "
                      "and in a future PyTorch release outputs will not be resized unless they have zero elements. "
                      "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                      "t.resize_(0).", UserWarning, stacklevel=3)
    out.data = result  # (other storage, of the result's shape)
    out._version += 1
    return out


def legacy_construct(dt: D.dtype, args: tuple, **kwargs: Any) -> Tensor:
    """``torch.Tensor(...)`` and ``torch.FloatTensor(...)``: from data (a list, a tensor), of a
    shape (ints, or a ``torch.Size``), or empty with no arguments."""
    if not args:
        return _tensor([], dtype=dt)
    if len(args) == 1 and isinstance(args[0], Size):
        return zeros(*args[0], dtype=dt, **kwargs)
    if len(args) == 1 and not isinstance(args[0], int):
        return _tensor(args[0], dtype=dt)
    return zeros(*args, dtype=dt, **kwargs)


def _must_be_number(op: str, name: str, value: Any) -> Any:
    """A scalar argument that must be a Python number (``alpha``, ``value``), as PyTorch's parser
    requires: a tensor there raises a TypeError at the call."""
    if isinstance(value, (int, float, np.number)):
        return value
    raise TypeError(f"{op}(): argument '{name}' must be Number, not {type(value).__name__}")


def _scaled(t: Tensor, other: Any, alpha: Any) -> Any:
    """``alpha * other`` for ``t.add(other, alpha=...)``, computed in the result's dtype: PyTorch
    scales after promotion, so a uint8 ``other`` times 2 does not wrap around."""
    if isinstance(other, Tensor):
        dt = D._strong(D.result_type(((t.dim(), t._node.dtype), (other.dim(), other._node.dtype))))
        if other._node.dtype is not dt and dt.category != 0:
            other = other.to(dt)
    return other * alpha


def _same_dtype_source(op: str, t: Tensor, source: Tensor) -> None:
    """PyTorch's refusal to write a source of another dtype into ``t`` by index (no silent cast).
    Under autocast these ops promote their operands instead, as PyTorch's autocast does."""
    if "autocast" in _record_hooks:
        return
    a = TORCH_TYPE_NAMES.get(t._node.dtype.name, t._node.dtype.name)
    b = TORCH_TYPE_NAMES.get(source._node.dtype.name, source._node.dtype.name)
    raise RuntimeError({
        "index_put_": f"Index put requires the source and destination dtypes match, got {a} for the destination "
                      f"and {b} for the source.",
        "index_add_": f"index_add_(): self ({a}) and source ({b}) must have the same scalar type",
        "index_copy_": f"index_copy_(): self and source expected to have the same dtype, but got (self) {a} and "
                       f"(source) {b}",
        "put_": f"put_(): self and source expected to have the same dtype, but got self.dtype = {a} and "
                f"source.dtype = {b}",
    }[op])


def _has_mask(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, Tensor) and i._node.dtype.category == 0 for i in items)


def _fill_value(t: Tensor, value: Any, name: str) -> Any:
    """The value ``masked_fill``/``index_fill``/``tril`` write, in ``t``'s dtype: filling never
    changes a tensor's dtype (2.5 into an int64 tensor writes 2, as PyTorch)."""
    dt = t._node.dtype
    if isinstance(value, Tensor):
        if value.dim():
            raise RuntimeError(f"{name} only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.dim()} dimension(s).")
        return value if value._node.dtype is dt else value.to(dt)
    if dt.category == 0:
        return bool(value)
    if dt.category == 1:
        return int(value)
    return value  # (a Python number: weak, so it takes the tensor's float dtype)


def _as_asked(out: Tensor, dtype: Any) -> Tensor:
    """A reduction's result in the ``dtype=`` asked for: integer sums and products give int64
    unless one is asked for (PyTorch), and ``dtype=torch.int32`` is that request."""
    return out if dtype is None or out._node.dtype is D.as_dtype(dtype) else out.to(dtype)


def _scalar_index(t: Tensor, index: Any) -> bool:
    """A 0-dim index of a tensor of at most one dim: gather and scatter treat it as 1-dim (PyTorch)."""
    return isinstance(index, Tensor) and not index._node.shape and len(t._node.shape) <= 1


def _scalar_scatter_args(t: Tensor, index: Any, src: Any) -> tuple:
    if isinstance(index, Tensor) and max(len(index._node.shape), 1) != max(len(t._node.shape), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if _scalar_index(t, index):
        index = index.reshape(1)
        if isinstance(src, Tensor) and not src._node.shape:
            src = src.reshape(1)
    return index, src


def _mixed_devices(nodes: tuple, name: str) -> tuple:
    """The device of an op whose inputs are on several devices, and its inputs. As in PyTorch, a
    0-dim CPU tensor (a "CPU scalar", such as a derivative rule's ``y ** 2`` of a Python number)
    may join an op on another device; a computed one is copied there. Anything else is an error."""
    others = []
    for n in nodes:
        if n.device is not None and not (n.device is CPU and not n.shape) and n.device not in others:
            others.append(n.device)
    if len(others) != 1:
        devs = [n.device for n in nodes if n.device is not None]
        a, b = devs[0], next(d for d in devs if d is not devs[0])
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a} and {b}! (in {name})")
    dev = others[0]
    moved = []
    for n in nodes:
        if n.device is CPU and not n.shape and not n.requires_grad:
            if n.value is None and dev is not META:
                # pending: computed in the op's program if it reads Python numbers alone, else here first
                if any(i.op != "scalar" for i in compiler.collect([n], keep_live=False)[1]):
                    wrap(n)._value()
            if n.value is not None:
                value = META_VALUE if dev is META else jax.device_put(n.value, dev.jax)
                n = ir.value_node(value, (), n.dtype, dev)
        moved.append(n)
    return dev, tuple(moved)


def wrap(node: Node) -> Tensor:
    """A tensor for an existing node (not its owner: used by the transformer)."""
    t = object.__new__(Tensor)
    t._node = node
    t._grad = None
    t._version = 0
    t._base = None
    t._view = None
    t._views = None
    t._st = None
    return t


_FLOAT_WARNED = False


def _warn_float_of_grad_tensor() -> None:
    global _FLOAT_WARNED
    _FLOAT_WARNED = True
    warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
                  "Consider using tensor.detach() first.", UserWarning, stacklevel=3)


def _pickled_value(t: Tensor) -> tuple:
    """(bytes or None for a meta tensor, dtype, shape, device name, requires_grad) of ``t``'s values."""
    n = t._node
    data = None if n.device is META else np.ascontiguousarray(np.asarray(t._value())).tobytes()
    return data, n.dtype, tuple(n.shape), str(n.device), t.requires_grad


def _unpickle_tensor(data: bytes | None, dt: D.dtype, shape: tuple, dev: str, requires_grad: bool,
                     state: dict | None) -> Tensor:
    if data is None:
        t = _meta_leaf(shape, dt, requires_grad)
    else:
        array = np.frombuffer(data, dtype=dt.np).reshape(shape)
        t = from_value(jax.device_put(array, device(dev).jax), dt, requires_grad)
    if state:
        for k, v in state.items():
            setattr(t, k, v)
    return t


def from_value(value: Any, dt: D.dtype | None = None, requires_grad: bool = False) -> Tensor:
    """A leaf tensor holding a ``jax.Array``."""
    dt = dt or D.from_numpy_dtype(value.dtype)
    node = ir.value_node(value, tuple(value.shape), dt, from_jax(next(iter(value.devices()))))
    t = wrap(node)
    ir.set_owner(node, t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _dim(d: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return d % n


def _dims(dim: Any, ndim: int) -> tuple:
    """A reduction's dims: None or an empty list means all of them (as PyTorch's reductions)."""
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        found = [_dim(d, ndim) for d in dim]
        out = tuple(sorted(set(found)))
        if len(out) != len(found):
            raise RuntimeError(f"dim {next(d for d in found if found.count(d) > 1)} appears multiple times in the "
                               "list of dims")
        return out if ndim else ()
    return (_dim(dim, ndim),) if ndim else ()


def _shape_arg(shape: tuple) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = tuple(shape[0])
    for k, s in enumerate(shape):
        if s.__class__ is not int and (isinstance(s, (float, np.floating))
                                       or (isinstance(s, Tensor) and s._node.dtype.category != 1)):
            raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {k}")
    return tuple(int(s) for s in shape)


class Size(tuple):
    """``torch.Size``: a tuple that prints as ``torch.Size([2, 3])``."""

    __module__ = "srcgrad"  # (reached as srcgrad.Size)

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(map(str, self))}])"

    def numel(self) -> int:
        return math.prod(self)

    # Slices, sums and repeats of a Size are Sizes, as PyTorch's (a tuple's would be tuples)
    def __getitem__(self, k: Any) -> Any:
        r = tuple.__getitem__(self, k)
        return Size(r) if isinstance(k, slice) else r

    def __add__(self, other: Any) -> Any:
        r = tuple.__add__(self, other)
        return Size(r) if r is not NotImplemented else r

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(other + tuple(self))

    def __mul__(self, n: Any) -> Any:
        r = tuple.__mul__(self, n)
        return Size(r) if r is not NotImplemented else r

    __rmul__ = __mul__


_printing_tangent = False  # (a tangent is printed without a tangent of its own)
_PUBLIC_MODULE = "srcgrad"  # where users reach Tensor and Size: type(t) prints <class 'srcgrad.Tensor'>


def _format_tangent(t: Any) -> str:
    global _printing_tangent
    _printing_tangent = True
    try:
        return format(t, "")  # (PyTorch writes f"tangent={t}": a number for a 0-d tangent)
    finally:
        _printing_tangent = False


# The arrays ``.numpy()`` and ``np.asarray(t)`` handed out, by the id of the value each shows:
# (that value, a weak reference to the array). PyTorch's arrays share the tensor's memory; srcgrad's
# values are immutable JAX buffers, so an array keeps the values it was taken with. An in-place
# change of a tensor whose array is still alive warns, once per process, that the array does not
# show it (docs/autograd.md, "Known differences"). Emptied after that warning: nothing to track.
_numpy_taken: dict[int, tuple] = {}
_numpy_warned = [False]
NUMPY_STALE = ("an array taken from this tensor with .numpy() (or np.asarray) is still alive, and it does not "
               "show this in-place change: srcgrad's arrays hold the values the tensor had when they were "
               "taken, where PyTorch's share its memory. Call .numpy() again for the new values. "
               "(This warning is shown once.)")


def _note_numpy(t: Tensor, value: Any, arr: np.ndarray) -> np.ndarray:
    """Note ``arr``, taken from ``t``, under its value and the values of the tensors sharing
    ``t``'s storage (``w.detach().numpy()`` shows ``w``'s values)."""
    if _numpy_warned[0]:
        return arr
    values = [value]
    if t._base is not None:
        for ref, _ in t._base.members:
            other = ref()
            if other is not None and other._node.value is not None and other._node.value is not value:
                values.append(other._node.value)
    keys = [id(v) for v in values]

    def gone(ref: Any) -> None:
        for key in keys:
            entry = _numpy_taken.get(key)
            if entry is not None and entry[1] is ref:
                del _numpy_taken[key]

    ref = ir.weakref.ref(arr, gone)
    for v in values:
        _numpy_taken[id(v)] = (v, ref)
    return arr


def _check_numpy_taken(old: Node) -> None:
    entry = _numpy_taken.get(id(old.value))
    if entry is None or entry[0] is not old.value or entry[1]() is None:
        return
    _numpy_warned[0] = True
    _numpy_taken.clear()
    frame, level = sys._getframe(), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(ir._PKG_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(NUMPY_STALE, UserWarning, stacklevel=level)


class Tensor:
    """A multi-dimensional array that records the ops applied to it."""

    __module__ = _PUBLIC_MODULE  # (as PyTorch's <class 'torch.Tensor'>)

    # _base: the storage this tensor shares with its detach()/.data aliases; _view: (weak
    # reference to its base, steps) of a view, which in-place ops write through to (see "views"
    # near _link); _st: the strides PyTorch would give this tensor, None for contiguous ones
    # (see _strides_of)
    # _ngv: (weak reference to the base, its version) of a view taken under no_grad of a tensor that
    # requires grad (set only on those; see _nograd_view); _views: the views taken of this tensor
    # (a _ViewList), which an in-place change of it updates, or None
    # (__dict__: attributes a user sets on a tensor, `p.no_decay = True`, as PyTorch allows)
    # _hold: a strong reference, set only where a weak link would lose a write: the detach()/.data alias a
    # view was taken from (`w.data[1].zero_()`), the view a detach() alias was taken of (`c[0].detach()`)
    __slots__ = ("_node", "_grad", "_version", "_base", "_view", "_views", "_st", "_ngv", "_hold", "__weakref__",
                 "__dict__")
    __array_priority__ = 1000  # numpy scalars defer to our reflected operators

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        # torch.Tensor([1, 2]) / torch.Tensor(2, 3) / torch.Tensor() construct float tensors
        return legacy_construct(D.get_default_dtype(), args, **kwargs)

    # -- value access -------------------------------------------------------

    def _value(self) -> Any:
        n = self._node
        if n.device is META:
            raise NotImplementedError(NO_DATA)
        if n.value is None:
            compiler.realize([n])
        elif tracing.ACTIVE is not None:
            # A value read while a decorated function is traced (`.item()`, `print`, `bool`
            # of an argument): the body depends on it, so no replay may bake it in.
            tracing.ACTIVE.note_realize()
        return n.value

    def numpy(self, force: bool = False) -> np.ndarray:
        if self._node.requires_grad and not force and _grad_state.enabled:  # (PyTorch allows it under no_grad)
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        _numpy_dtype_check(self._node.dtype)
        _numpy_device_check(self._node.device)
        value = self._value()
        return _note_numpy(self, value, np.asarray(value))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if self._node.requires_grad and _grad_state.enabled:  # (PyTorch's __array__ is numpy(): the same checks)
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        _numpy_dtype_check(self._node.dtype)
        _numpy_device_check(self._node.device)
        value = self._value()
        a = np.asarray(value)
        return a.astype(dtype) if dtype is not None else _note_numpy(self, value, a)

    def __array_wrap__(self, array: np.ndarray, context: Any = None, return_scalar: bool = False) -> Tensor:
        """A NumPy ufunc of a tensor (``np.exp(t)``) gives a tensor, as PyTorch's (bool results as uint8,
        as PyTorch's too)."""
        if array.dtype == np.bool_:
            array = array.astype(np.uint8)
        return from_numpy(np.asarray(array))

    def jax(self) -> jax.Array:
        """The value as a ``jax.Array`` (zero-copy)."""
        return self._value()

    def item(self) -> Any:
        n = self._node
        if math.prod(n.shape) != 1:
            raise RuntimeError(f"a Tensor with {math.prod(n.shape)} elements cannot be converted to Scalar")
        if n.device is META:
            raise RuntimeError("Tensor.item() cannot be called on meta tensors")
        return np.asarray(self._value()).reshape(()).item()

    def tolist(self) -> Any:
        return np.asarray(self._value()).tolist()

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether any element equals it (not Python's row by row iteration)."""
        if not isinstance(element, (Tensor, int, float, bool, np.number)):
            raise RuntimeError(f"Tensor.__contains__ only supports Tensor or scalar, but you passed in a "
                               f"{type(element)}.")
        return bool((self == element).any())

    def __bool__(self) -> bool:
        if math.prod(self._node.shape) != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {fmt_shape(self.shape)})")
        return bool(self.item())

    def __float__(self) -> float:
        if math.prod(self._node.shape) != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if self._node.requires_grad and not _FLOAT_WARNED:  # (once a process: PyTorch's TORCH_WARN_ONCE)
            _warn_float_of_grad_tensor()
        return float(self.item())

    def __int__(self) -> int:
        if math.prod(self._node.shape) != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.category == 2:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if not self._node.shape:
            raise TypeError("len() of a 0-d tensor")
        return self._node.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if not self._node.shape:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._node.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                               "because of a torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        if self._node.device is META:
            out = _meta_leaf(self._node.shape, self.dtype, self.requires_grad)
        else:
            out = from_value(self._value(), self.dtype, self.requires_grad)
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__(memo)
        memo[id(self)] = out
        if self.__dict__:  # (the attributes set on it, copied as PyTorch copies them)
            for k, v in copy.deepcopy(self.__dict__, memo).items():
                setattr(out, k, v)
        return out

    def __copy__(self) -> Tensor:
        """``copy.copy``: a new leaf on the same storage (in-place changes of either show in
        both), requiring grad as this one does; PyTorch's rebuilds the tensor on its storage.
        (matplotlib copies what it plots this way.)"""
        out = self.detach()
        if self.requires_grad:
            out.requires_grad_(True)
        return out

    def __reduce_ex__(self, protocol: int) -> Any:
        """``pickle`` (and ``multiprocessing``): values, dtype, device, ``requires_grad`` and the attributes
        set on the tensor, as PyTorch pickles one; ``.grad`` and the graph stay behind (a non-leaf loads as
        a leaf). Loading a pickle can run code: ``srcgrad.save``/``load`` write files that cannot."""
        return _unpickle_tensor, (*_pickled_value(self), self.__dict__ or None)

    def __repr__(self) -> str:
        from .printing import format_tensor
        n = self._node
        if n.device is META:
            return _meta_repr(self)
        arr = np.asarray(self._value())
        try:
            gf = self.grad_fn
            gf_name = type(gf).__name__ if gf is not None else None
        except RuntimeError:  # a no_grad view changed in place since: PyTorch prints grad_fn=<Invalid>
            gf, gf_name = None, "Invalid"
        tangent = None
        if ir.keep_history and not _printing_tangent:  # a dual level is open: a dual tensor shows its tangent
            from .autograd.forward_ad import tangent_of
            t = tangent_of(self)
            if t is not None:
                tangent = _format_tangent(t)
        return format_tensor(arr, dtype_name=n.dtype.name, default_dtype_name=D.get_default_dtype().name,
                             device=None if n.device.type == "cpu" else str(n.device),
                             requires_grad=n.requires_grad and gf_name is None,
                             grad_fn_name=gf_name, tangent=tangent)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # PyTorch: a 0-d tensor formats as its number; others only with an empty spec
        if not self._node.shape:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    # -- attributes ---------------------------------------------------------

    @property
    def shape(self) -> Size:
        return Size(self._node.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._node.shape)
        return self._node.shape[_dim(dim, len(self._node.shape))]

    def dim(self) -> int:
        return len(self._node.shape)

    ndimension = dim

    @property
    def ndim(self) -> int:
        return len(self._node.shape)

    def numel(self) -> int:
        return math.prod(self._node.shape)

    nelement = numel

    @property
    def dtype(self) -> D.dtype:
        return self._node.dtype

    @property
    def device(self) -> device:
        return self._node.device

    @property
    def is_cuda(self) -> bool:
        return self._node.device.type == "cuda"

    @property
    def is_meta(self) -> bool:
        return self._node.device is META

    # srcgrad's tensors are dense, unquantised, and never in pinned host memory or on Apple's MPS
    @property
    def layout(self) -> Any:
        from .type_info import strided
        return strided

    is_sparse = is_quantized = is_mps = is_mkldnn = is_nested = False

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def pin_memory(self, device: Any = None) -> Tensor:
        """Page-locked host memory is a CUDA concept: without a GPU, PyTorch's error; with one,
        the tensor itself (JAX copies host arrays to the GPU as it needs)."""
        from .device import cuda
        if not cuda.is_available():
            raise RuntimeError("Cannot access accelerator device when none is available.")
        return self

    def apply_(self, callable: Any) -> Tensor:
        """Replace each element by ``callable(element)`` (a Python function: slow, CPU only, no
        gradient; PyTorch's ``apply_``)."""
        return self._python_map("apply_", np.frompyfunc(callable, 1, 1), self)

    def map_(self, tensor: Tensor, callable: Any) -> Tensor:
        """Replace each element by ``callable(element, other_element)``, ``tensor`` broadcast to
        this tensor's shape (PyTorch's ``map_``)."""
        return self._python_map("map_", np.frompyfunc(callable, 2, 1), self, tensor.expand_as(self))

    def _python_map(self, name: str, fn: Any, *tensors: Tensor) -> Tensor:
        if self._node.device.type != "cpu":
            raise TypeError(f"{name} is only implemented on CPU tensors")
        if self.requires_grad and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation."
                               if self.is_leaf else f"{name}(): cannot be applied to a tensor that requires grad")
        values = fn(*[np.asarray(t._value()) for t in tensors]).astype(self._node.dtype.np)
        with _NoGrad():
            self.copy_(_tensor(values, dtype=self._node.dtype))
        return self

    def is_floating_point(self) -> bool:
        return self._node.dtype.is_floating_point

    def element_size(self) -> int:
        return self._node.dtype.itemsize

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype (itself when the dtype already matches)."""
        return self.to(other.dtype)

    def is_inference(self) -> bool:
        """True for a tensor made inside ``inference_mode()``."""
        from .grad_mode import is_inference_node
        return is_inference_node(self._node)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """As PyTorch would say for this tensor: False for transposed, expanded and strided views."""
        return _layout_of(self) is None or _contiguous(self._node.shape, _strides_of(self))

    def stride(self, dim: int | None = None) -> Any:
        st = _strides_of(self)
        return st if dim is None else st[_dim(dim, len(st))]

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """``t.type()``: the legacy type name (``torch.FloatTensor``); ``t.type(d)``: ``t`` as dtype
        ``d``, which may also be a legacy type or its name (``"torch.DoubleTensor"``)."""
        from .type_info import legacy_type_dtype, legacy_type_name
        if dtype is None:
            return legacy_type_name(self.dtype)
        legacy = legacy_type_dtype(dtype)
        if isinstance(dtype, str) and legacy is None and dtype.removeprefix("torch.") not in D._BY_NAME:
            raise ValueError(f"invalid type: '{dtype}'")
        return self.to(legacy if legacy is not None else dtype)

    # -- autograd attributes (the transformer lives in autodiff.py) ---------

    @property
    def requires_grad(self) -> bool:
        return self._node.requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._node.dtype.category != 2:  # (PyTorch's setter words it so)
            raise RuntimeError("only Tensors of floating point and complex dtype can require gradients")
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        n = self._node
        if n.op in _NGV_OPS and _ngv_root(n) is not None and self.is_leaf:
            # a view taken under no_grad: it requires grad through its base whatever its own flag
            # says; asking for grad makes it a leaf of its own that accumulates .grad (as PyTorch)
            if requires_grad:
                n.leaf = True
                ir.set_owner(n, self)
            return self
        if requires_grad and n.requires_grad:
            return self  # (already requiring grad, a non-leaf too: a no-op, as PyTorch)
        if requires_grad and _inference_bounds and not is_inference_mode_enabled() and is_inference_node(n):
            raise RuntimeError(INFERENCE_REQUIRES_GRAD)
        if not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to "
                               "use a computed variable in a subgraph that doesn't require differentiation "
                               "use var_no_grad = var.detach().")
        if requires_grad and n.dtype.category != 2:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        if requires_grad and sys.getrefcount(n) > _UNSHARED_REFS:
            # Ops already recorded on this tensor hold its node: they were recorded while it did
            # not require grad and must stay so (PyTorch), so the tensor moves to a fresh leaf node.
            n.special = True  # (no replay may reuse the old node for this tensor)
            n = _alias(n)
            self._node = n
        n.requires_grad = bool(requires_grad)
        n.leaf = bool(requires_grad)
        ir.set_owner(n, self)
        return self

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (0 for leaves)."""
        n = self._node
        if not n.requires_grad or n.leaf:
            return 0
        from .autograd.graph import output_nr
        return output_nr(n)

    def _is_view(self) -> bool:
        """Whether this tensor is a view of another (basic indexing, ``view``, ``t()`` ...)."""
        return self._view is not None

    @property
    def is_leaf(self) -> bool:
        n = self._node
        if not n.requires_grad or n.leaf:
            return True
        return n.op in _NGV_OPS and _check_nograd_view(self)

    @property
    def grad_fn(self) -> Any:
        n = self._node
        if not n.requires_grad or n.leaf:
            return None
        if n.op in _NGV_OPS and _check_nograd_view(self):
            return None  # a view taken under no_grad has no grad_fn, as in PyTorch
        from .autograd.graph import grad_fn_of
        return grad_fn_of(n)

    creator = grad_fn  # the name used by the oldest autograd tutorials

    @property
    def grad(self) -> Tensor | None:
        n = self._node
        if n.requires_grad and not n.leaf and not getattr(n, "retains_grad", False) \
                and not (n.op in _NGV_OPS and _ngv_root(n) is not None):
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                "instead. See github.com/pytorch/pytorch/pull/30531 for more information.",
                UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, g: Tensor | None) -> None:
        if g is not None:
            if not isinstance(g, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(g).__name__}")
            if g.shape != self.shape:
                raise RuntimeError(f"attempting to assign a gradient of size '{fmt_shape(g.shape)}' to a tensor of "
                                   f"size '{fmt_shape(self.shape)}'. Please ensure that the gradient and the tensor "
                                   "are the same size")
            if g.dtype is not self.dtype:
                from .ops import TORCH_C_NAMES
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{TORCH_C_NAMES.get(g.dtype.name, g.dtype.name)}' "
                    f"to a tensor with grad_dtype '{_TORCH_NAMES().get(self.dtype.name, self.dtype.name)}'. The "
                    "gradient must match the tensor's grad_dtype (defaults to the tensor's dtype). You can set the "
                    "tensor's grad_dtype attribute with a specific dtype, or None to allow any dtype. Set grad_dtype "
                    "with caution. Diverging the dtypes of a tensor and its gradient may break downstream systems "
                    "that assume they match.")
        self._grad = g
        if tracing.ACTIVE is not None:
            tracing.ACTIVE.note_grad(self)

    @grad.deleter
    def grad(self) -> None:
        self.grad = None  # (`del x.grad`, as PyTorch: the same as assigning None)

    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad."""
        # a list/tuple is the list of gradients itself, as torch.autograd.backward takes it
        grads = list(gradient) if isinstance(gradient, (list, tuple)) else [gradient]
        run_backward([self], grads, retain_graph, create_graph, inputs)

    def register_hook(self, hook: Any) -> Any:
        from .autodiff import register_hook
        return register_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call ``hook(tensor)`` after a backward has accumulated into this leaf's ``.grad``."""
        n = self._node
        if not n.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not n.leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        from .autodiff import RemovableHandle
        entry = _post_hooks.get(id(self))
        if entry is None or entry[0]() is not self:
            entry = _post_hooks[id(self)] = (ir.weakref.ref(self), [])
        entry[1].append(hook)
        return RemovableHandle(entry[1], hook)

    def retain_grad(self) -> None:
        n = self._node
        if not n.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if not n.leaf and not (n.op in _NGV_OPS and _ngv_root(n) is not None):  # (no_grad views are leaves)
            n.retains_grad = True
            n.special = True
            ir.set_owner(n, self)

    @property
    def retains_grad(self) -> bool:
        return bool(getattr(self._node, "retains_grad", False))

    @property
    def _version_counter(self) -> int:
        return self._version

    def detach(self) -> Tensor:
        """A tensor that shares this one's storage and version counter, outside autograd:
        in-place changes of either show in the other (PyTorch's ``detach``)."""
        t = self._detached()
        t._st = _layout_of(self)  # (the same storage, so the same strides)
        t._version = self._version  # (and the same version counter: later changes bump both)
        _share(t, self, own_version=False)
        if self._view is not None:  # (a change of t reaches the base through this view, kept alive for it)
            t._hold = self
        return t

    def _detached(self) -> Tensor:
        n = self._node
        if n.value is not None:
            node = ir.value_node(n.value, n.shape, n.dtype, n.device)
            t = wrap(node)
            ir.set_owner(node, t)
            return t
        with _NoGrad():
            return record("identity", (self,))

    def detach_(self) -> Tensor:
        if self._view is not None or self._node.op in _DETACH_VIEW_OPS:
            raise RuntimeError(
                "Can't detach views in-place. Use detach() instead. If you are using DistributedDataParallel (DDP) "
                "for training, and gradient_as_bucket_view is set as True, gradients are views of DDP buckets, and "
                "hence detach_() cannot be called on these gradients. To fix this error, please refer to the "
                "Optimizer.zero_grad() function in torch/optim/optimizer.py as the solution.")
        self._replace_node(self._detached()._node, bump=False, share=False, views=False)
        if self._node.requires_grad:  # (a leaf keeps its flag through _replace_node; detach_ clears it)
            self._node.requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        """Like ``detach()``, but with a version counter of its own: in-place changes made
        through ``.data`` are not seen by autograd's version checks (as in PyTorch)."""
        t = self._detached()
        t._st = _layout_of(self)
        _share(t, self, own_version=True)
        if self._view is not None:
            t._hold = self
        return t

    @data.setter
    def data(self, other: Tensor) -> None:
        if self._node.requires_grad and other.dtype.category != 2:
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype")
        _unshare(self)
        _unlink_views(self)
        self._replace_node(other._detached()._node, bump=False, keep_leaf=True, share=False)
        self._st = _layout_of(other)
        _share(self, other, own_version=True)

    # -- in-place machinery --------------------------------------------------

    def _replace_node(self, new: Node, bump: bool = True, keep_leaf: bool = True, opname: str = "",
                      hidden: bool = False, share: bool = True, through: bool = True, views: bool = True,
                      origin: Tensor | None = None) -> None:
        """Point this tensor at ``new``: the in-place update of its value.

        ``bump``: a real in-place change (version counter, saved-value checks).
        ``hidden``: autograd must not see it (a change made through a detached alias);
        changes under ``no_grad`` are hidden too. ``share``: show it to the tensors
        sharing this one's storage (``detach()``/``.data`` aliases). ``through``: a view
        writes the change into its base (False when the view is being re-read from it).
        ``views``: the views of this tensor see the new value (False when the tensor is
        pointed at other storage, ``x.data = y``); ``origin``: the view whose change this
        is (its version counts the change once)."""
        old = self._node
        if bump and _numpy_taken:
            _check_numpy_taken(old)
        if bump and _inference_bounds and not is_inference_mode_enabled() and is_inference_node(old):
            raise RuntimeError(INFERENCE_INPLACE)
        if bump and tracing.ACTIVE is not None:
            tracing.ACTIVE.before_inplace(self, opname)  # (vmap refuses some changes: before anything changes)
        if bump and old.op in _VIEW_OPS_NGV and not hidden and _grad_state.enabled and old.requires_grad \
                and not old.leaf:
            _check_view_inplace(old)  # (before anything changes)
        view = self._view if through and bump else None
        if view is not None:
            _check_view_write(self, view, hidden, opname)  # (before anything changes)
        if (bump or hidden) and old.requires_grad and not old.leaf and not new.requires_grad \
                and (hidden or not _grad_state.enabled):
            # PyTorch: the value changes, but autograd treats the change as not having happened;
            # the tensor keeps its grad_fn and the gradient flows to the old value. (Not bumped:
            # a change made through a `.data` alias, which has a version counter of its own.)
            new = ir.new_node("nograd_update", (old, new), (), old.shape, old.dtype, old.device, True)
        if bump:
            self._version += 1
            old.overwritten = (opname, new.loc, self._version, new)
            old.special = compiler.replaced_mark(old, new)
        if keep_leaf and old.requires_grad and old.leaf:
            if new.owner is not None and new.owner() is not None and new.owner() is not self:
                new = _alias(new)
            new.requires_grad = True
            new.leaf = True
            hooks = getattr(old, "hooks", None)
            if hooks:  # a leaf's tensor hooks stay with the tensor (as compiled._replace_value)
                new.hooks, new.special = hooks, True
        elif getattr(old, "retains_grad", False) and new.requires_grad and not new.leaf:
            old.retains_grad = False  # retain_grad() follows the tensor to its new value, as PyTorch's
            new.retains_grad = new.special = True
        self._node = new
        new.owner = ir.weakref.ref(self)
        if self._base is not None and share:
            _write_through(self, new, bump, opname)
        base = None if view is None else view[0]()
        if base is not None:
            # An in-place op on a view writes through to its base (PyTorch's CopySlices); the
            # base then reads its views again, this one included (PyTorch's AsStridedBackward0).
            written = _write_view(base, view[1], wrap(new))
            written._node.owner = None
            base._replace_node(written._node, opname=opname, hidden=hidden, origin=self)
        elif views and self._views is not None:
            _refresh_views(self, bump, opname, origin)
        if tracing.ACTIVE is not None and through:  # (a view read again from its base follows the base)
            tracing.ACTIVE.note_inplace(self)

    def _inplace(self, name: str, *args: Any, attrs: tuple = ()) -> Tensor:
        n = self._node
        if n.requires_grad and n.leaf and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        out = record(name, (self,) + args, attrs)
        return self._take(out, name, _inplace_name(name))

    def _inplace_of(self, method: str, *args: Any, **kwargs: Any) -> Tensor:
        """``<method>_(...)``: the out-of-place method's result becomes this tensor's value
        (the same recorded ops, so the same grad_fn names as PyTorch's in-place forms)."""
        n = self._node
        if n.requires_grad and n.leaf and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        out = getattr(self, method)(*args, **kwargs)
        if out is self or out._node is n:  # (an op that changed nothing: still a new version)
            out = record("identity", (self,))
        return self._take(out, method, method + "_")

    def _take(self, out: Tensor, name: str, opname: str) -> Tensor:
        """Make ``out``, just computed from this tensor, this tensor's new value (in place)."""
        n = self._node
        new = out._node
        if new.shape != n.shape:
            raise RuntimeError(f"output with shape {fmt_shape(n.shape)} doesn't match the broadcast shape "
                               f"{fmt_shape(new.shape)} ({name}_)")
        if new.dtype is not n.dtype:
            if new.dtype.category > n.dtype.category:
                from .ops import TORCH_TYPE_NAMES as NAMES
                raise RuntimeError(f"result type {NAMES[new.dtype.name]} can't be cast to the desired output "
                                   f"type {NAMES[n.dtype.name]}")
            out = out.to(n.dtype)
            new = out._node
        new.owner = None  # the temporary `out` hands its node over to self
        self._replace_node(new, opname=opname)
        return self

    def _reshape_(self, out: Tensor, opname: str) -> Tensor:
        """``t_``/``transpose_``/``unsqueeze_``/``squeeze_``: the tensor takes the view's shape
        and strides. Its aliases and its base keep theirs (only the metadata changes), so it
        leaves their storage group: later in-place changes of it no longer write through."""
        n = self._node
        if n.requires_grad and n.leaf and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if n.requires_grad and not n.leaf and not _grad_state.enabled and out._node.shape != n.shape:
            # (a change autograd must not see keeps the old shape for the gradient: nograd_update)
            raise NotImplementedError(f"srcgrad: {opname}() under no_grad of a tensor with autograd history")
        if out is self or out._node is n:
            out = record("identity", (self,))
        new = out._node
        if new.op == "nograd_view":  # (taken under no_grad: an ordinary in-place change under no_grad)
            new = new.inputs[0]
        new.owner = None
        _unshare(self)
        _unlink_views(self)
        self._replace_node(new, opname=opname)
        self._st = _layout_of(out)
        return self

    def t_(self) -> Tensor:
        return self._reshape_(self._retag(self.t(), "t_"), "t_")

    def transpose_(self, dim0: int, dim1: int) -> Tensor:
        return self._reshape_(self._retag(self.transpose(dim0, dim1), "transpose_"), "transpose_")

    def unsqueeze_(self, dim: int) -> Tensor:
        return self._reshape_(self._retag(self.unsqueeze(dim), "unsqueeze_"), "unsqueeze_")

    def squeeze_(self, dim: Any = None) -> Tensor:
        name = "squeeze_" if dim is None else "squeeze_dims_" if isinstance(dim, (tuple, list)) else "squeeze_dim_"
        return self._reshape_(self._retag(self.squeeze(dim), name), "squeeze_")

    @staticmethod
    def _retag(out: Tensor, alias: str) -> Tensor:
        """Name the view op just recorded for ``out`` after its in-place form (PyTorch's
        ``TBackward1`` of ``t_()``, not ``TBackward0``): the same primitive under another alias."""
        n = out._node
        while n.op == "nograd_view":
            n = n.inputs[0]
        if n.op in _RETAG and n.value is None:
            n.op = alias
            n.sig = (alias,) + n.sig[1:]
        return out

    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace("add", other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return self._inplace("sub", other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul", other)

    def div_(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is not None:
            return self._inplace_of("div", other, rounding_mode=rounding_mode)
        return self._inplace("div", other)

    def pow_(self, other: Any) -> Tensor:
        if isinstance(other, int) and not isinstance(other, bool) and other < 0 and self._node.dtype.category < 2:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        return self._inplace("pow", other)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return self._inplace("lerp", end, weight)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return record("addcmul", (self, tensor1, tensor2, _must_be_number("addcmul", "value", value)))

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace("addcmul", tensor1, tensor2, _must_be_number("addcmul_", "value", value))

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return record("addcdiv", (self, tensor1, tensor2, _must_be_number("addcdiv", "value", value)))

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return self._inplace("addcdiv", tensor1, tensor2, _must_be_number("addcdiv_", "value", value))

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return self._inplace_of("clamp", min, max)

    def zero_(self) -> Tensor:
        return self._fill(0, "zero")

    def fill_(self, value: Any) -> Tensor:
        # fill_(number) and fill_(0-dim tensor): PyTorch's FillBackward2 and FillBackward3
        if isinstance(value, Tensor) and self._view is not None and any(s[0] == "broadcast" for s in self._view[1]):
            _refuse_overlap()  # (PyTorch writes a number to an expanded tensor, not a tensor)
        return self._fill(value, "fill_tensor" if isinstance(value, Tensor) else "fill_scalar")

    def _fill(self, value: Any, name: str) -> Tensor:
        n = self._node
        if (n.requires_grad or isinstance(value, Tensor) and value._node.requires_grad) and _grad_state.enabled:
            # (a non-leaf: a leaf raises) the result still requires grad, with a zero gradient
            # to the old value, as PyTorch's Fill/ZeroBackward nodes
            if isinstance(value, Tensor) and value.dim():
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                                   f"{value.dim()} dimensions.")
            return self._inplace(name, value, attrs=(_WHOLE, False))
        with _NoGrad():
            filled = full(n.shape, value, dtype=n.dtype, device=n.device)
        return self._copy_from(filled, "zero_" if name == "zero" else "fill_")

    def copy_(self, src: Any) -> Tensor:
        return self._copy_from(src, "copy_")

    def _copy_from(self, src: Any, opname: str) -> Tensor:
        """``copy_``, and the in-place ops made of it (``zero_``, ``normal_`` ...), named ``opname``
        in the errors that point at the change."""
        n = self._node
        if n.requires_grad and n.leaf and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        src = src if isinstance(src, Tensor) else tensor(src, dtype=n.dtype)
        if src._node.device is not n.device:  # copy_ moves across devices (a meta tensor has nothing to give)
            if src._node.device is META:
                raise NotImplementedError(NO_DATA)
            src = src.to(n.device)
        if n.requires_grad and _grad_state.enabled:
            # PyTorch's CopyBackwards reads (self, src): the result requires grad even where src
            # does not, with a zero gradient to the old value
            if src._node.shape != n.shape:
                expand_rule(src._node, n.shape)  # (PyTorch's error where src does not broadcast)
            return self._inplace("copy_into", src, attrs=(_WHOLE, False))
        out = src.to(n.dtype).expand(n.shape) if src.shape != n.shape or src.dtype is not n.dtype else src
        out = record("copy", (out,))
        out._node.owner = None
        self._replace_node(out._node, opname=opname)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        with _NoGrad():
            return self._copy_from(randn(*self.shape, dtype=self.dtype, device=self.device, generator=generator)
                                   * std + mean, "normal_")

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
        if a > b:
            raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a} > to={b}")
        with _NoGrad():
            return self._copy_from(rand(*self.shape, dtype=self.dtype, device=self.device, generator=generator)
                                   * (b - a) + a, "uniform_")

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace("add", other)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace("sub", other)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace("mul", other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace("div", other)

    # (the other augmented assignments change the tensor in place too, as PyTorch's: `x //= 2` writes
    # through views and aliases, and refuses a result its dtype cannot hold)
    def __ifloordiv__(self, other: Any) -> Tensor:
        return self.floor_divide_(other)

    def __imod__(self, other: Any) -> Tensor:
        return self.remainder_(other)

    def __ipow__(self, other: Any) -> Tensor:
        return self.pow_(other)

    def __iand__(self, other: Any) -> Tensor:
        return self.bitwise_and_(other)

    def __ior__(self, other: Any) -> Tensor:
        return self.bitwise_or_(other)

    def __ixor__(self, other: Any) -> Tensor:
        return self.bitwise_xor_(other)

    def __ilshift__(self, other: Any) -> Tensor:
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other: Any) -> Tensor:
        return self.bitwise_right_shift_(other)

    # -- arithmetic ----------------------------------------------------------

    def __add__(self, o: Any) -> Tensor:
        return record("add", (self, o))

    def __radd__(self, o: Any) -> Tensor:
        return record("add", (o, self))

    def __sub__(self, o: Any) -> Tensor:
        return record("sub", (self, o))

    def __rsub__(self, o: Any) -> Tensor:
        return record("rsub", (o, self))

    def __mul__(self, o: Any) -> Tensor:
        return record("mul", (self, o))

    def __rmul__(self, o: Any) -> Tensor:
        return record("mul", (o, self))

    def __truediv__(self, o: Any) -> Tensor:
        return record("div", (self, o))

    def __rtruediv__(self, o: Any) -> Tensor:
        return record("rdiv", (o, self))

    def __floordiv__(self, o: Any) -> Tensor:
        return record("floordiv", (self, o))

    def __rfloordiv__(self, o: Any) -> Tensor:
        return record("floordiv", (o, self))

    def __mod__(self, o: Any) -> Tensor:
        return record("remainder", (self, o))

    def __rmod__(self, o: Any) -> Tensor:
        return record("remainder", (o, self))

    def __pow__(self, o: Any) -> Tensor:
        if isinstance(o, Tensor):
            return _integer_pow(record("pow_tensor", (self, o)), self, o)
        if isinstance(o, int) and not isinstance(o, bool):
            if o < 0 and self._node.dtype.category < 2:
                raise RuntimeError("Integers to negative integer powers are not allowed.")
            # an integer exponent is structure (x ** 2), written into the program as it is
            return record("pow", (self, wrap(scalar_node(o, literal=True))))
        return record("pow", (self, o))

    def __rpow__(self, o: Any) -> Tensor:
        return _integer_pow(record("pow_scalar_base", (o, self)), o, self)

    def __neg__(self) -> Tensor:
        return record("neg", (self,))

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return record("abs", (self,))

    # (bitwise on integers; on bools the same as the logical ops)
    def __invert__(self) -> Tensor:
        return record("bitwise_not", (self,))

    def __and__(self, o: Any) -> Tensor:
        return record("bitwise_and", (self, o))

    def __or__(self, o: Any) -> Tensor:
        return record("bitwise_or", (self, o))

    def __xor__(self, o: Any) -> Tensor:
        return record("bitwise_xor", (self, o))

    def __rand__(self, o: Any) -> Tensor:
        return record("bitwise_and", (o, self))

    def __ror__(self, o: Any) -> Tensor:
        return record("bitwise_or", (o, self))

    def __rxor__(self, o: Any) -> Tensor:
        return record("bitwise_xor", (o, self))

    def __lshift__(self, o: Any) -> Tensor:
        return record("bitwise_left_shift", (self, o))

    def __rshift__(self, o: Any) -> Tensor:
        return record("bitwise_right_shift", (self, o))

    def __rlshift__(self, o: Any) -> Tensor:
        return record("bitwise_left_shift", (o, self))

    def __rrshift__(self, o: Any) -> Tensor:
        return record("bitwise_right_shift", (o, self))

    def bitwise_and(self, other: Any) -> Tensor:
        return record("bitwise_and", (self, other))

    def gcd(self, other: Any) -> Tensor:
        """The greatest common divisor, elementwise (integer tensors; always >= 0)."""
        return record("gcd", (self, other))

    def lcm(self, other: Any) -> Tensor:
        """The least common multiple, elementwise (integer tensors; 0 where either is 0)."""
        return record("lcm", (self, other))

    def bitwise_or(self, other: Any) -> Tensor:
        return record("bitwise_or", (self, other))

    def bitwise_xor(self, other: Any) -> Tensor:
        return record("bitwise_xor", (self, other))

    def bitwise_not(self) -> Tensor:
        return record("bitwise_not", (self,))

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return record("bitwise_left_shift", (self, other))

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return record("bitwise_right_shift", (self, other))

    def __matmul__(self, o: Any) -> Tensor:
        return matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return matmul(o, self)

    def __lt__(self, o: Any) -> Tensor:
        return record("lt", (self, o))

    def __le__(self, o: Any) -> Tensor:
        return record("le", (self, o))

    def __gt__(self, o: Any) -> Tensor:
        return record("gt", (self, o))

    def __ge__(self, o: Any) -> Tensor:
        return record("ge", (self, o))

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        if o is None:  # (PyTorch: a tensor is never None)
            return False
        return record("eq", (self, o))

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        if o is None:
            return True
        return record("ne", (self, o))

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha.__class__ is int and alpha == 1:
            return record("add", (self, other))
        return record("add", (self, _scaled(self, other, _must_be_number("add", "alpha", alpha))))

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        if alpha.__class__ is int and alpha == 1:
            return record("sub", (self, other))
        return record("sub", (self, _scaled(self, other, _must_be_number("sub", "alpha", alpha))))

    subtract = sub

    def mul(self, other: Any) -> Tensor:
        return record("mul", (self, other))

    multiply = mul

    def div(self, other: Any, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return record("div", (self, other))
        if rounding_mode == "floor":
            return record("floordiv", (self, other))
        if rounding_mode == "trunc":
            from .ops import _promoted
            if _promoted((self._node, as_node(other))).category == 2:  # (in the promoted float dtype)
                return record("div", (self, other)).trunc()
            # integers, exactly: floor division (which refuses a zero divisor), then one step back toward
            # zero where the signs differ and the division is not exact
            q = record("floordiv", (self, other))
            inexact = record("remainder", (self, other)) != 0
            return q + (inexact & ((self < 0) != (other < 0)))
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")

    divide = true_divide = div

    def floor_divide(self, other: Any) -> Tensor:
        return record("floordiv", (self, other))

    def remainder(self, other: Any) -> Tensor:
        return record("remainder", (self, other))

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def square(self) -> Tensor:
        return record("square", (self, self))

    def maximum(self, other: Any) -> Tensor:
        return record("maximum", (self, other))

    def minimum(self, other: Any) -> Tensor:
        return record("minimum", (self, other))

    def atan2(self, other: Any) -> Tensor:
        return record("atan2", (self, other))

    def matmul(self, other: Any) -> Tensor:
        return matmul(self, other)

    def mm(self, other: Any) -> Tensor:
        if self.dim() != 2 or other.dim() != 2:
            raise RuntimeError(f"self must be a matrix (mm of shapes {fmt_shape(self.shape)} and "
                               f"{fmt_shape(other.shape)})")
        return matmul(self, other)

    def bmm(self, other: Any) -> Tensor:
        if self.dim() != 3 or other.dim() != 3:
            raise RuntimeError(f"batch1 must be a 3D tensor (bmm of shapes {fmt_shape(self.shape)} and "
                               f"{fmt_shape(other.shape)})")
        b, _, k = self.shape
        if tuple(other.shape[:2]) != (b, k):
            raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
                               f"{list(other.shape[:2])}.")
        if not isinstance(other, Tensor):
            return matmul(self, other)
        return record("bmm", (self, other), (_precision(),))

    def dot(self, other: Any) -> Tensor:
        if self.dim() != 1 or other.dim() != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.dim()}D and {other.dim()}D tensors")
        return matmul(self, other)

    def mv(self, other: Any) -> Tensor:
        """A matrix times a vector (PyTorch's addmv checks, with its messages)."""
        if self.dim() != 2 or not isinstance(other, Tensor) or other.dim() != 1:
            dims = (1, self.dim(), other.dim() if isinstance(other, Tensor) else 0)
            raise RuntimeError(f"vector + matrix @ vector expected, got {dims[0]}, {dims[1]}, {dims[2]}")
        if self.shape[1] != other.shape[0]:
            raise RuntimeError(f"size mismatch, got input ({self.shape[0]}), mat ({self.shape[0]}x{self.shape[1]}), "
                               f"vec ({other.shape[0]})")
        return matmul(self, other)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return record("lerp_tensor" if isinstance(weight, Tensor) else "lerp", (self, end, weight))

    def masked_fill(self, mask: Tensor, value: Any) -> Tensor:
        return record("masked_fill", (mask, _fill_value(self, value, "masked_fill_"), self))

    def where(self, condition: Tensor, other: Any) -> Tensor:
        return where(condition, self, other)

    # -- elementwise math ----------------------------------------------------

    def exp(self) -> Tensor:
        return record("exp", (self,))

    def log(self) -> Tensor:
        return record("log", (self,))

    def log1p(self) -> Tensor:
        return record("log1p", (self,))

    def expm1(self) -> Tensor:
        return record("expm1", (self,))

    def log2(self) -> Tensor:
        return record("log2", (self,))

    def log10(self) -> Tensor:
        return record("log10", (self,))

    def sqrt(self) -> Tensor:
        return record("sqrt", (self,))

    def rsqrt(self) -> Tensor:
        return record("rsqrt", (self,))

    def abs(self) -> Tensor:
        return record("abs", (self,))

    absolute = abs

    def neg(self) -> Tensor:
        return record("neg", (self,))

    negative = neg

    def sign(self) -> Tensor:
        return record("sign", (self,))

    def sin(self) -> Tensor:
        return record("sin", (self,))

    def cos(self) -> Tensor:
        return record("cos", (self,))

    def tan(self) -> Tensor:
        return record("tan", (self,))

    def tanh(self) -> Tensor:
        return record("tanh", (self,))

    def sigmoid(self) -> Tensor:
        return record("sigmoid", (self,))

    def relu(self) -> Tensor:
        return record("relu", (self,))

    def relu_(self) -> Tensor:
        return self._inplace("relu")

    def erf(self) -> Tensor:
        return record("erf", (self,))

    def floor(self) -> Tensor:
        return record("floor", (self,))

    def ceil(self) -> Tensor:
        return record("ceil", (self,))

    def round(self, decimals: int = 0) -> Tensor:
        if not decimals:
            return record("round", (self,))
        # PyTorch's round(decimals=d): half to even at the d-th decimal, by scaling
        scale = 10.0 ** abs(decimals)
        return (self * scale).round() / scale if decimals > 0 else (self / scale).round() * scale

    def trunc(self) -> Tensor:
        return record("trunc", (self,))

    def reciprocal(self) -> Tensor:
        return record("reciprocal", (self,))

    def asin(self) -> Tensor:
        return record("asin", (self,))

    def acos(self) -> Tensor:
        return record("acos", (self,))

    def atan(self) -> Tensor:
        return record("atan", (self,))

    def sinh(self) -> Tensor:
        return record("sinh", (self,))

    def cosh(self) -> Tensor:
        return record("cosh", (self,))

    def asinh(self) -> Tensor:
        return record("asinh", (self,))

    def acosh(self) -> Tensor:
        return record("acosh", (self,))

    def atanh(self) -> Tensor:
        return record("atanh", (self,))

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def frac(self) -> Tensor:
        return record("frac", (self,))

    def sinc(self) -> Tensor:
        return record("sinc", (self,))

    def logit(self, eps: float | None = None) -> Tensor:
        return record("logit", (self,), (None if eps is None else float(eps),))

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        return record("nan_to_num", (self,), (float(nan), posinf, neginf))

    def xlogy(self, other: Any) -> Tensor:
        return record("xlogy_scalar_other" if isinstance(other, _Number) else "xlogy", (self, other))

    def fmod(self, other: Any) -> Tensor:
        return record("fmod_scalar" if isinstance(other, _Number) else "fmod", (self, other))

    def fmax(self, other: Any) -> Tensor:
        return record("fmax", (self, other))

    def fmin(self, other: Any) -> Tensor:
        return record("fmin", (self, other))

    def logaddexp(self, other: Any) -> Tensor:
        return record("logaddexp", (self, other))

    def dist(self, other: Tensor, p: float = 2) -> Tensor:
        return record("dist", (self, other), (float(p),))

    # -- comparisons (no gradient) -------------------------------------------

    def logical_and(self, other: Any) -> Tensor:
        return record("logical_and", (self, other))

    def logical_or(self, other: Any) -> Tensor:
        return record("logical_or", (self, other))

    def logical_xor(self, other: Any) -> Tensor:
        return record("logical_xor", (self, other))

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """``|self - other| <= atol + rtol * |other|`` (or equal, infinities included), as PyTorch."""
        other = other if isinstance(other, Tensor) else tensor(other, dtype=self.dtype)
        if self.dtype is not other.dtype:
            raise RuntimeError(f"{self.dtype.name.title()} did not match {other.dtype.name.title()}")
        with _NoGrad():
            close = self == other
            if self.dtype.is_floating_point or rtol or atol:
                a, b = (self, other) if self.dtype.is_floating_point else (self.double(), other.double())
                diff = (a - b).abs()
                close = close | ((diff <= atol + rtol * b.abs()) & diff.isfinite())
            if equal_nan and self.dtype.is_floating_point:
                close = close | (self.isnan() & other.isnan())
        return close

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def equal(self, other: Tensor) -> bool:
        """True when both have the same shape and the same values (NaN is never equal)."""
        if tuple(self.shape) != tuple(other.shape):
            return False
        with _NoGrad():
            return bool((self == other).all())

    def signbit(self) -> Tensor:
        return record("signbit", (self,))

    # -- special functions ---------------------------------------------------

    def hypot(self, other: Any) -> Tensor:
        return record("hypot", (self, other))

    def nextafter(self, other: Tensor) -> Tensor:
        """The next floating-point value after ``self`` towards ``other``, elementwise."""
        if not isinstance(other, Tensor):
            raise TypeError(f"nextafter(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
        return record("nextafter", (self, other))

    def nextafter_(self, other: Tensor) -> Tensor:
        if not isinstance(other, Tensor):
            raise TypeError(f"nextafter_(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
        return self._inplace("nextafter", other)

    def copysign(self, other: Any) -> Tensor:
        return record("copysign_scalar" if isinstance(other, _Number) else "copysign", (self, other))

    def deg2rad(self) -> Tensor:
        return record("deg2rad", (self,))

    def rad2deg(self) -> Tensor:
        return record("rad2deg", (self,))

    def sgn(self) -> Tensor:
        return record("sgn", (self,))

    def lgamma(self) -> Tensor:
        return record("lgamma", (self,))

    def digamma(self) -> Tensor:
        return record("digamma", (self,))

    def polygamma(self, n: int) -> Tensor:
        if n < 0:
            raise RuntimeError("polygamma(n, x) does not support negative n.")
        if n == 0:
            return self.digamma()
        return record("polygamma", (self,), (int(n),))

    # torch.special's functions that are Tensor methods too (their checks: srcgrad/special.py)
    def i0(self) -> Tensor:
        from .special import TOP_LEVEL
        return TOP_LEVEL["i0"](self)

    def igamma(self, other: Any) -> Tensor:
        from .special import igamma
        return igamma(self, other)

    def igammac(self, other: Any) -> Tensor:
        from .special import igammac
        return igammac(self, other)

    def mvlgamma(self, p: int) -> Tensor:
        from .special import mvlgamma
        return mvlgamma(self, p)

    def i0_(self) -> Tensor:
        return self._inplace_of("i0")

    def igamma_(self, other: Any) -> Tensor:
        return self._inplace_of("igamma", other)

    def igammac_(self, other: Any) -> Tensor:
        return self._inplace_of("igammac", other)

    def mvlgamma_(self, p: int) -> Tensor:
        return self._inplace_of("mvlgamma", p)

    def erfinv(self) -> Tensor:
        return record("erfinv", (self,))

    # -- flips, rolls, diagonals, products ----------------------------------

    def flip(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims)
        d = tuple(_dim(x, self.dim()) for x in dims)
        if len(set(d)) != len(d):
            raise RuntimeError(f"dim {d[0]} appears multiple times in the list of dims")
        return record("flip", (self,), (d,))

    def fliplr(self) -> Tensor:
        return self.flip(1)

    def flipud(self) -> Tensor:
        return self.flip(0)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            return record("roll", (self,), (shifts, None))
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
        return record("roll", (self,), (shifts, tuple(_dim(d, self.dim()) for d in dims)))

    def movedim(self, source: Any, destination: Any) -> Tensor:
        src = (source,) if isinstance(source, int) else tuple(source)
        dst = (destination,) if isinstance(destination, int) else tuple(destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                               f"contain the same number of dims as destination ({list(dst)} dims)")
        n = self.dim()
        src = tuple(_dim(d, n) for d in src)
        dst = tuple(_dim(d, n) for d in dst)
        if len(set(src)) != len(src) or len(set(dst)) != len(dst):
            raise RuntimeError("movedim: repeated dim in `source` or `destination`")
        perm: list = [None] * n
        for s_, d_ in zip(src, dst):
            perm[d_] = s_
        rest = iter(d for d in range(n) if d not in src)
        return self.permute(tuple(p if p is not None else next(rest) for p in perm))

    moveaxis = movedim

    def tile(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims)
        return self.repeat((1,) * (self.dim() - len(dims)) + tuple(dims))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        d1, d2 = _dim(dim1, self.dim()), _dim(dim2, self.dim())
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        attrs = (int(offset), d1, d2)
        out = record("diagonal", (self,), attrs)
        out._st = _taken("diagonal", attrs, self)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("diagonal", "diagonal", attrs, ()))

    def diag(self, diagonal: int = 0) -> Tensor:
        if self.dim() == 1:
            n = self.shape[0] + abs(diagonal)
            return record("diag_embed", (self,), (int(diagonal), 0, 1, n, n))
        if self.dim() != 2:
            raise RuntimeError("diag(): Supports 1D or 2D tensors. Got " + str(self.dim()) + "D")
        return record("diag_diagonal", (self,), (int(diagonal), 0, 1))

    def outer(self, vec2: Tensor) -> Tensor:
        if self.dim() != 1 or vec2.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument self, but got {self.dim()}-D" if self.dim() != 1
                               else f"outer: Expected 1-D argument vec2, but got {vec2.dim()}-D")
        return self.reshape(-1, 1) * vec2  # (PyTorch's composite: a MulBackward0)

    ger = outer

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        prec = "highest" if _matmul_precision[0] == "highest" else "default"
        return record("addmm", (self, mat1, mat2), (beta, alpha, prec))

    def tensordot(self, other: Tensor, dims: Any = 2) -> Tensor:
        return tensordot(self, other, dims)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    def isnan(self) -> Tensor:
        return record("isnan", (self,))

    def isinf(self) -> Tensor:
        return record("isinf", (self,))

    def isfinite(self) -> Tensor:
        return record("isfinite", (self,))

    def logical_not(self) -> Tensor:
        return record("logical_not", (self,))

    def softplus(self, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
        return record("softplus", (self,), (float(beta), float(threshold)))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        bounds = tuple(b for b in (min, max) if b is not None)
        return record("clamp", (self,) + bounds, (min is not None, max is not None))

    clip = clamp

    def clamp_min(self, min: Any) -> Tensor:
        return record("clamp_min_tensor" if isinstance(min, Tensor) else "clamp_min", (self, min), (True, False))

    def clamp_max(self, max: Any) -> Tensor:
        return record("clamp_max_tensor" if isinstance(max, Tensor) else "clamp_max", (self, max), (False, True))

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        softmax_input_check("softmax", self, dim, dtype)
        x = self if dtype is None else self.to(dtype)
        x = x if x.dtype.is_floating_point else x.float()
        if x.dim() == 0:  # (along the one "dim" of a 0-dim tensor, as PyTorch)
            return x.reshape(1).softmax(_dim(dim, 0)).reshape(())
        return record("softmax", (x,), (_dim(dim, x.dim()),))

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        softmax_input_check("log_softmax", self, dim, dtype)
        x = self if dtype is None else self.to(dtype)
        x = x if x.dtype.is_floating_point else x.float()
        if x.dim() == 0:
            return x.reshape(1).log_softmax(_dim(dim, 0)).reshape(())
        return record("log_softmax", (x,), (_dim(dim, x.dim()),))

    # -- reductions ----------------------------------------------------------

    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if dim is None:
            return _as_asked(record("sum_all", (x,), (tuple(range(x.dim())), False)), dtype)
        return _as_asked(record("sum", (x,), (_dims(dim, x.dim()), bool(keepdim))), dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if dim is None:
            return record("mean_all", (x,), (tuple(range(x.dim())), False))
        return record("mean", (x,), (_dims(dim, x.dim()), bool(keepdim)))

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if dim is None:
            return _as_asked(record("prod_all", (x,), (tuple(range(x.dim())), False)), dtype)
        return _as_asked(record("prod", (x,), (_dims(dim, x.dim()), bool(keepdim))), dtype)

    def amax(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        return record("amax", (self,), (_dims(dim if dim != () else None, self.dim()), bool(keepdim)))

    def amin(self, dim: Any = (), keepdim: bool = False) -> Tensor:
        return record("amin", (self,), (_dims(dim if dim != () else None, self.dim()), bool(keepdim)))

    def _extreme(self, kind: str, dim: Any, keepdim: bool) -> Any:
        if isinstance(dim, Tensor):
            return record("maximum" if kind == "max" else "minimum", (self, dim))
        if dim is None:
            if self.numel() == 0:
                raise RuntimeError(f"{kind}(): Expected reduction dim to be specified for input.numel() == 0. "
                                   "Specify the reduction dim with the 'dim' argument.")
            return record(f"{kind}_all", (self,), (tuple(range(self.dim())), False))
        d = _dim(dim, self.dim())
        result = getattr(return_types, kind)
        if self.dim() == 0:  # (a 0-dim tensor reduces along its dim 0 to itself, at index 0)
            return result(self.clone(), zeros((), dtype=D.int64, device=self.device))
        idx = record("argmax" if kind == "max" else "argmin", (self,), ((d,), True))
        values = record(f"{kind}_dim", (self, idx), (d, bool(keepdim)))
        return result(values, idx if keepdim else idx.squeeze(d))

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme("max", dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return self._extreme("min", dim, keepdim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool | None = False) -> Any:
        """``(values, indices)`` sorted along ``dim``; ties keep their order (a stable sort).
        The gradient flows to the values."""
        if self.dim() == 0:
            return return_types.sort(self.clone(), zeros((), dtype=D.int64, device=self.device))
        d = _dim(dim, self.dim())
        idx = record("argsort", (self,), (d, bool(descending), True))
        return return_types.sort(record("sort", (self, idx), (d,)), idx)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        if self.dim() == 0:
            return zeros((), dtype=D.int64, device=self.device)
        return record("argsort", (self,), (_dim(dim, self.dim()), bool(descending), True))

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            out = record("argmax", (self.reshape(-1),), ((0,), False))
            return out.reshape((1,) * self.dim()) if keepdim else out
        d = _dim(dim, self.dim())
        if self.dim() == 0:
            return zeros((), dtype=D.int64, device=self.device)
        return record("argmax", (self,), ((d,), bool(keepdim)))

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        if dim is None:
            out = record("argmin", (self.reshape(-1),), ((0,), False))
            return out.reshape((1,) * self.dim()) if keepdim else out
        d = _dim(dim, self.dim())
        if self.dim() == 0:
            return zeros((), dtype=D.int64, device=self.device)
        return record("argmin", (self,), ((d,), bool(keepdim)))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The ``k`` largest (or smallest) values along ``dim`` and their indices, in order."""
        d = _dim(dim, self.dim())
        size = self.shape[d] if self.dim() else 1
        if not 0 <= k <= size:
            raise RuntimeError("selected index k out of range")
        if self.dim() == 0:
            return return_types.topk(self.clone(), zeros((), dtype=D.int64, device=self.device))
        idx = record("argsort", (self,), (d, bool(largest), True)).narrow(d, 0, k)
        return return_types.topk(record("topk", (self, idx), (d,)), idx)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The ``k``-th smallest value along ``dim`` (1-based) and its index."""
        d = _dim(dim, self.dim())
        size = self.shape[d] if self.dim() else 1
        if not 1 <= k <= size:
            raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
        return self._selected("kthvalue", k - 1, d, keepdim)

    def _selected(self, name: str, k: int, d: int, keepdim: bool) -> Any:
        """``(values, indices)`` of the ``k``-th smallest along ``d`` (the gradient goes to that index)."""
        result = getattr(return_types, "median" if name == "median_dim" else name)
        if self.dim() == 0:
            return result(self.clone(), zeros((), dtype=D.int64, device=self.device))
        idx = record("argsort", (self,), (d, False, True)).narrow(d, k, 1)
        values = record(name, (self, idx), (d, bool(keepdim)))
        return result(values, idx if keepdim else idx.squeeze(d))

    def median(self, dim: int | None = None, keepdim: bool = False) -> Any:
        """The lower median: of all elements (the gradient shared among ties), or along ``dim``
        with its index (the gradient to that index), as PyTorch."""
        if dim is None:
            if self.numel() == 0:
                return full((), math.nan, dtype=self.dtype, device=self.device)
            return record("median", (self,), ((self.numel() - 1) // 2,))
        d = _dim(dim, self.dim())
        size = self.shape[d] if self.dim() else 1
        if self.dtype.is_floating_point and self.dim() and size:
            # PyTorch's median of a slice holding a NaN is that slice's first NaN: in the stable sort,
            # which puts NaNs last, the first one comes right after the numbers
            with _NoGrad():
                numbers = (~self.isnan()).sum(d, keepdim=True)
                k = where(numbers < size, numbers, (size - 1) // 2)
                idx = record("argsort", (self,), (d, False, True)).gather(d, k)
            values = record("median_dim", (self, idx), (d, bool(keepdim)))
            return return_types.median(values, idx if keepdim else idx.squeeze(d))
        return self._selected("median_dim", (size - 1) // 2, d, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """``(values, indices)``: the most frequent value along ``dim`` (the smallest among equally
        frequent ones) and the index of its last occurrence, as PyTorch; the gradient goes to that
        index. Counts every pair of elements of a slice: memory quadratic in the slice's length.

        With NaNs, PyTorch's CPU kernel sorts each slice with ``<`` (which NaN breaks) and takes the
        first longest run of equal values; srcgrad follows the main effect: a NaN is a run of its
        own that splits the slice into parts sorted apart (``[3, nan, 3]``: two runs of one 3, the
        answer 3 at index 0), but not every move of the C++ sort (a value smaller than the first
        jumps past NaNs). For slices longer than 16, which of the mode's positions PyTorch's
        ``indices`` names depends on its unstable sort; srcgrad's is the last."""
        x = self if self.dim() else self.reshape(1)
        d = _dim(dim, x.dim())
        xs = x.movedim(d, -1)
        n = xs.shape[-1]
        with _NoGrad():
            positions = arange(n, device=xs.device)
            if xs.dtype.is_floating_point:
                nan = xs.isnan()
                segment = nan.long().cumsum(-1)  # (a NaN opens the segment after it)
                same = (xs.unsqueeze(-1) == xs.unsqueeze(-2)) & (segment.unsqueeze(-1) == segment.unsqueeze(-2))
                counts = where(nan, 1, same.sum(-1))
                frequent = counts == counts.amax(-1, keepdim=True)
                # the first run in sorted order: the lowest segment, its NaN (sorted before the
                # segment's values) if it is among them, else the segment's smallest value
                first = frequent & (segment == where(frequent, segment, n + 1).amin(-1, keepdim=True))
                nan_first = (first & nan).any(-1, keepdim=True)
                smallest = where(first & ~nan, xs, math.inf).amin(-1, keepdim=True)
                run = first & where(nan_first, nan, xs == smallest)
            else:
                counts = (xs.unsqueeze(-1) == xs.unsqueeze(-2)).sum(-1)
                frequent = counts == counts.amax(-1, keepdim=True)
                big = True if xs.dtype.category == 0 else int(np.iinfo(xs.dtype.np).max)
                run = xs == where(frequent, xs, big).amin(-1, keepdim=True)
            index = where(run, positions, -1).amax(-1, keepdim=True)
        values = xs.gather(-1, index)
        if keepdim and self.dim():
            values, index = values.movedim(-1, d), index.movedim(-1, d)
        else:
            values, index = values.squeeze(-1), index.squeeze(-1)
        if not self.dim():
            values, index = values.reshape(()), index.reshape(())
        if values.requires_grad:  # (PyTorch's ModeBackward0, a function of self)
            from .pooling import as_function
            values = as_function(record("mode_values", (values,)), (self,))
        return return_types.mode(values, index)

    def nansum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        return _as_asked(record("nansum", (x,), (_dims(dim, x.dim()), bool(keepdim))), dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        # PyTorch's own composite: nansum / the count of non-NaN elements (a DivBackward0)
        if not self.dtype.is_floating_point:
            raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got "
                               f"{_TORCH_NAMES().get(self.dtype.name, self.dtype.name)}")
        with _NoGrad():
            count = (~self.isnan()).sum(dim, keepdim=keepdim) if dim is not None else (~self.isnan()).sum()
        return self.nansum(dim, keepdim) / count

    def trace(self) -> Tensor:
        if self.dim() != 2:
            raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(self.dim()))
        if self._node.dtype is D.bool_:
            raise NotImplementedError('"trace" not implemented for \'Bool\'')
        return record("trace", (self,))

    def cummax(self, dim: int) -> Any:
        return self._cumextreme("cummax", dim)

    def cummin(self, dim: int) -> Any:
        return self._cumextreme("cummin", dim)

    def _cumextreme(self, kind: str, dim: int) -> Any:
        """``(values, indices)`` of the running max/min along ``dim``; at ties the later index
        wins (PyTorch's); the gradient goes to those indices (CummaxBackward0)."""
        d = _dim(dim, self.dim())
        if self.dim() == 0:
            return getattr(return_types, kind)(self.clone(), zeros((), dtype=D.int64, device=self.device))
        n = self.shape[d]
        with _NoGrad():
            pos = arange(n, device=self.device).reshape((n,) + (1,) * (self.dim() - d - 1))
            pos_i, pos_j = pos.unsqueeze(0), pos.unsqueeze(1)   # along dim d + 1 (i) and dim d (j)
            run = record("cumextreme", (self,), (d, kind)).unsqueeze(d + 1)  # the extreme of prefix j
            x_i = self.unsqueeze(d)
            hit = (pos_i <= pos_j) & ((x_i == run) | (x_i.isnan() & run.isnan()))
            idx = where(hit, pos_i, -1).amax(d + 1)               # the last i <= j attaining it
        return getattr(return_types, kind)(record(kind, (self, idx), (d,)), idx)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if not x.dtype.is_floating_point:
            raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                               f"Got {_TORCH_NAMES().get(x.dtype.name, x.dtype.name)}")
        if p == "nuc":  # (of the matrices over dim, the last two by default)
            return matrix_norm(x, "nuc", (-2, -1) if dim is None else dim, keepdim)
        dims = _dims(dim, x.dim())
        if p in ("fro", 2, 2.0):
            return record("norm", (x,), (dims, bool(keepdim)))
        return vector_norm(x, p, dim, keepdim)  # (PyTorch's torch.norm is linalg.vector_norm for a number p)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return self._var("var", dim, correction, keepdim)

    def _var(self, op: str, dim: Any, correction: Any, keepdim: bool) -> Tensor:
        # (op: "var", or "div" for the variance inside std)
        dims = _dims(dim, self.dim())
        n = math.prod(self.shape[d] for d in dims)
        if n - correction <= 0:
            warnings.warn(f"{'std' if op == 'div' else op}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                          "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
        centred = self - self.mean(dims, keepdim=True)
        return record(op, ((centred * centred).sum(dims, keepdim), max(n - correction, 0)))

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return record("std", (self._var("div", dim, correction, keepdim),))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        x = self if self.dtype.is_floating_point else self.float()
        return record("logsumexp", (x,), (_dims(dim, x.dim()), bool(keepdim)))

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        out = self.to(D.bool_).logical_not().sum(dim, keepdim=keepdim) == 0
        return out.to(D.uint8) if self._node.dtype is D.uint8 else out  # (uint8 in, uint8 out: PyTorch)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        out = self.to(D.bool_).sum(dim, keepdim=keepdim) > 0
        return out.to(D.uint8) if self._node.dtype is D.uint8 else out

    def cumsum(self, dim: int, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x.dim() == 0:
            return x.reshape(1).cumsum(_dim(dim, 0), dtype).reshape(())
        return _as_asked(record("cumsum", (x,), (_dim(dim, x.dim()),)), dtype)

    def cumprod(self, dim: int, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if x.dim() == 0:
            return x.reshape(1).cumprod(_dim(dim, 0), dtype).reshape(())
        return _as_asked(record("cumprod", (x,), (_dim(dim, x.dim()),)), dtype)

    # -- shapes --------------------------------------------------------------

    def _infer_shape(self, shape: tuple) -> tuple:
        shape = _shape_arg(shape)
        if shape.count(-1) > 1:
            raise RuntimeError("only one dimension can be inferred")
        if -1 in shape:
            known = math.prod(s for s in shape if s != -1)
            total = self.numel()
            if known == 0 or total % known:
                raise RuntimeError(f"shape '{fmt_shape(shape)}' is invalid for input of size {total}")
            shape = tuple(total // known if s == -1 else s for s in shape)
        return shape

    def _same_view(self, name: str, attrs: tuple) -> Tensor:
        """A view op that changes nothing (``expand`` to the same shape, ``t()`` of a vector):
        PyTorch still makes a new tensor, whose grad_fn is the op's. Without grad there is
        nothing to tell them apart, so the tensor itself is returned (the cheap path)."""
        if not self._node.requires_grad:
            return self
        out = record(name, (self,), attrs)
        out._st = _layout_of(self)
        if not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("same", name, attrs, ()))

    def _reshaped(self, shape: tuple) -> Tensor:
        try:
            st = self._st
        except AttributeError:
            st = _layout_of(self)
        name = "view"
        if st is not None and ir._block is None and math.prod(shape) == math.prod(self._node.shape):
            # (not in the transformer's own reshapes of gradients: their code stays one reshape)
            strides = _strides_of(self)
            if not _contiguous(self._node.shape, strides):
                if _view_strides(self._node.shape, strides, shape) is None:
                    # no view has this shape: PyTorch copies (CloneBackward0), then views the copy
                    # (UnsafeViewBackward0); the result is contiguous
                    return record("unsafe_view", (record("clone", (self,)),), (shape,))
                name = "reshape_alias"  # PyTorch's reshape of a non-contiguous tensor that is a view
        if shape == self._node.shape:
            return self._same_view(name, (shape,))
        out = record(name, (self,), (shape,))
        if st is not None:  # (views of contiguous tensors are contiguous: nothing to record)
            out._st = ("reshape", shape, self._node.shape, st)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("reshape", name, (shape,), ()))

    def reshape(self, *shape: Any) -> Tensor:
        return self._reshaped(self._infer_shape(shape))

    def ravel(self) -> Tensor:
        """A contiguous flattened tensor: a view where ``self`` is contiguous, else a copy
        (PyTorch's ``contiguous().view(-1)``)."""
        return self.contiguous().view(-1)

    def view(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], D.dtype):
            raise RuntimeError("view(dtype) is not supported by srcgrad; use .to(dtype)")
        shape = self._infer_shape(shape)
        n = self._node
        try:
            st = new = self._st
        except AttributeError:
            st = new = _layout_of(self)
        if st is not None and math.prod(shape) == math.prod(n.shape):  # (else record says the size is wrong)
            new = _view_strides(n.shape, _strides_of(self), shape)
            if new is None:
                raise RuntimeError("view size is not compatible with input tensor's size and stride (at least one "
                                   "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        out = record("view", (self,), (shape,))
        out._st = new
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("reshape", "view", (shape,), ()))

    def resize_(self, *sizes: Any, memory_format: Any = None) -> Tensor:
        """This tensor given the shape ``sizes``, in place: its first elements kept, zeros after them
        where it grows (PyTorch's new elements are uninitialised memory)."""
        shape = _shape_arg(sizes)
        if self._node.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
        n = math.prod(shape)
        with _NoGrad():
            flat = self.reshape(-1)
            if n > flat.numel():
                flat = cat([flat, zeros(n - flat.numel(), dtype=self.dtype, device=self.device)])
            new = flat[:n].reshape(shape).clone()
        if tuple(shape) == tuple(self.shape):
            return self
        self.data = new
        return self

    def resize_as_(self, other: Tensor, memory_format: Any = None) -> Tensor:
        return self.resize_(other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.dim() == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.dim()), _dim(end_dim, self.dim())
        if s > e:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if s == e:
            return self  # (as PyTorch: nothing to flatten)
        shape = self.shape[:s] + (math.prod(self.shape[s:e + 1]),) + self.shape[e + 1:]
        return self._reshaped(tuple(shape))

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        d = _dim(dim, self.dim())
        sizes = tuple(sizes)
        known = math.prod(s for s in sizes if s != -1)
        n = self.shape[d]
        if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
            raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                               f"({n}) in the input tensor")
        return self.reshape(tuple(self.shape[:d]) + tuple(sizes) + tuple(self.shape[d + 1:]))

    def permute(self, *dims: Any) -> Tensor:
        dims = _shape_arg(dims)
        if len(dims) != self.dim():
            raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                               f"match the length of the desired ordering of dimensions i.e. input.dim() = "
                               f"{self.dim()} is not equal to len(dims) = {len(dims)}")
        perm = tuple(_dim(d, self.dim()) for d in dims)
        if sorted(perm) != list(range(self.dim())):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return self._permuted("permute", perm)

    def _permuted(self, name: str, perm: tuple) -> Tensor:
        out = record(name, (self,), (perm,))
        try:
            out._st = ("perm", perm, self._node.shape, self._st)
        except AttributeError:
            out._st = _taken("perm", perm, self)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("permute", name, (perm,), ()))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        n = self.dim()
        a, b = _dim(dim0, n), _dim(dim1, n)
        if n == 0:
            return self._same_view("transpose", ((),))
        perm = list(range(n))
        perm[a], perm[b] = perm[b], perm[a]
        return self._permuted("transpose", tuple(perm))

    swapaxes = transpose

    def t(self) -> Tensor:
        n = self._node
        nd = len(n.shape)
        if nd == 2:
            out = record("t", (self,), ((1, 0),))
            try:
                out._st = ("perm", (1, 0), n.shape, self._st)
            except AttributeError:
                out._st = _taken("perm", (1, 0), self)
            if n.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
                _nograd_view(out, self)
            return _link(out, self, ("permute", "t", ((1, 0),), ()))
        if nd > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
        return self._same_view("t", (tuple(range(nd)),))

    @property
    def T(self) -> Tensor:  # noqa: N802 - the PyTorch name
        if self.dim() != 2:
            _warn_dot_t_deprecated(self.dim())
        if self.dim() < 2:
            return self._same_view("permute", (tuple(range(self.dim())),))
        return self._permuted("permute", tuple(reversed(range(self.dim()))))

    @property
    def mT(self) -> Tensor:  # noqa: N802
        if self.dim() < 2:
            if self.dim() == 0:
                return self  # (PyTorch: deprecated on 0-dim tensors, where it is the identity)
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got "
                               f"{self.dim()}-D tensor.")
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int) -> Tensor:
        d = _dim(dim, self.dim() + 1)
        shape = self.shape[:d] + (1,) + self.shape[d:]
        out = record("unsqueeze", (self,), (tuple(shape),))
        try:
            st = self._st
        except AttributeError:
            st = _layout_of(self)
        if st is not None:
            out._st = ("unsqueeze", d, self._node.shape, st)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("reshape", "unsqueeze", (tuple(shape),), ()))

    def squeeze(self, dim: Any = None) -> Tensor:
        if dim is None:
            dims = tuple(i for i, s in enumerate(self.shape) if s == 1)
        else:
            dims = tuple(d for d in _dims(dim, self.dim()) if self.shape[d] == 1) if dim != () else ()
        shape = tuple(s for i, s in enumerate(self.shape) if i not in dims)
        # squeeze() / squeeze(0) / squeeze((0, 2)): PyTorch's three overloads, three grad_fn names
        name = "squeeze" if dim is None else "squeeze_dims" if isinstance(dim, (tuple, list)) else "squeeze_dim"
        out = record(name, (self,), (shape,))
        if _layout_of(self) is not None:
            out._st = _taken("squeeze", dims, self)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("reshape", name, (shape,), ()))

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.dim()
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        if shape == self._node.shape:
            return self._same_view("expand", (shape,))
        out = record("expand", (self,), (shape,))
        out._st = _taken("expand", shape, self)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        how = "reshape" if math.prod(shape) == math.prod(self._node.shape) else "broadcast"
        return _link(out, self, (how, "expand", (shape,), ()))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    broadcast_to = expand

    def repeat(self, *sizes: Any) -> Tensor:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.dim():
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                               "dimensions of tensor")
        shape = (1,) * (len(sizes) - self.dim()) + tuple(self.shape)
        if any(r < 0 for r in sizes):
            target = [r * s for r, s in zip(sizes, shape)]
            neg = next(t for t in target if t < 0)
            raise RuntimeError(f"Trying to create tensor with negative dimension {neg}: {target}")
        interleaved = tuple(v for s in shape for v in (1, s))
        expanded = tuple(v for r, s in zip(sizes, shape) for v in (r, s))
        return record("repeat", (self.reshape(interleaved).expand(expanded),),
                      (tuple(r * s for r, s in zip(sizes, shape)),))

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        d = _dim(dim, self.dim())
        n = self.shape[d]
        if isinstance(split_size, int):
            sizes = [min(split_size, n - i) for i in range(0, n, split_size)] or [0]
        else:
            sizes = list(split_size)
            if sum(sizes) != n:
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                                   f"tensor's size at dimension {d}), but got split_sizes={sizes}")
        # split(int) and split([sizes]): PyTorch's split and split_with_sizes
        name = "split" if isinstance(split_size, int) else "split_with_sizes"
        nograd = self._node.requires_grad and not _grad_state.enabled
        out, start = [], 0
        for k, s in enumerate(sizes):
            spec = (("slice", None, None, None),) * d + (("slice", start, start + s, None),)
            t = record(name, (self,), (spec,))
            t._st = _taken("index", spec, self)
            if nograd:
                _nograd_view(t, self)
            out.append(_link(t, self, ("pieces", name, (spec,), (), k)))
            start += s
        return tuple(out)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        n = self.shape[_dim(dim, self.dim())]
        return self.split(max(1, -(-n // chunks)), dim)

    def unbind(self, dim: int = 0) -> tuple:
        d = _dim(dim, self.dim())
        out = []
        for i in range(self.shape[d]):
            spec = (("slice", None, None, None),) * d + (i,)
            t = record("unbind", (self,), (spec,))
            t._st = _taken("index", spec, self)
            if self._node.requires_grad and not t._node.requires_grad:  # (taken under no_grad)
                _nograd_view(t, self)
            out.append(_link(t, self, ("pieces", "unbind", (spec,), (), i)))
        return tuple(out)

    def select(self, dim: int, index: int) -> Tensor:
        d = _dim(dim, self.dim())
        return self[(slice(None),) * d + (index,)]

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        d = _dim(dim, self.dim())
        size = self.shape[d]
        start = start + size if start < 0 else start
        if length < 0 or start < 0 or start + length > size:
            raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
        # a slice (SliceBackward0) even where it covers the whole dim
        spec = (("slice", None, None, None),) * d + (("slice", start, start + length, None),)
        return self._basic_view("slice", spec)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        d = _dim(dim, self.dim())
        _check_known_indices(index, self.shape[d] if self.shape else 1, d)
        if _scalar_index(self, index):  # (PyTorch counts a 0-dim index as 1-dim here)
            return record("gather", (self, index.reshape(1)), (d,)).reshape(())
        return record("gather", (self, index), (d,))

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """``gather`` with the input and ``indices`` broadcast against each other outside ``dim``
        (``dim=None``: both read as 1-d)."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        if self.dim() != indices.dim():
            raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of "
                               f"dimensions, but got {self.dim()} dimensions for input, and {indices.dim()} "
                               f"dimensions for indices")
        d = _dim(dim, self.dim())
        outer = [1 if k == d else s for k, s in enumerate(self.shape)]
        idx_outer = [1 if k == d else s for k, s in enumerate(indices.shape)]
        common = broadcast_shapes(tuple(outer), tuple(idx_outer), "take_along_dim")
        x = self.expand(tuple(self.shape[k] if k == d else n for k, n in enumerate(common)))
        i = indices.expand(tuple(indices.shape[k] if k == d else n for k, n in enumerate(common)))
        return x.gather(d, i)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        d = _dim(dim, self.dim())
        _check_known_indices(index, self.shape[d] if self.shape else 1, d)
        index, src = _scalar_scatter_args(self, index, src)
        return record("scatter_add", (self, index, src), (d,))

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        d = _dim(dim, self.dim())
        index = index if isinstance(index, Tensor) else tensor(index)
        if index._node.dtype.category != 1:
            raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
        if index.dim() > 1:
            raise IndexError("index_select(): Index is supposed to be a vector")
        # (0-dim: the dim stays, as a 1-element index)
        idx = (slice(None),) * d + (index if index.dim() else index.reshape(1),)
        spec, tensors, _, _ = normalize(idx, self._node.shape, tensor)
        return record("index_select", (self,) + tuple(tensors), (spec,))

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """Itself, or a copy (``CloneBackward0``) where PyTorch's strides would not be contiguous."""
        if _layout_of(self) is not None and not _contiguous(self._node.shape, _strides_of(self)):
            return record("clone", (self,))
        return self

    def clone(self, memory_format: Any = None) -> Tensor:
        return record("clone", (self,))

    def __getitem__(self, index: Any) -> Tensor:
        split = split_selects(index)
        if split is not None:  # integers mixed with index tensors: selects first, as PyTorch
            return self[split[0]][split[1]]
        spec, tensors, kind, _ = normalize(index, self._node.shape, tensor)
        if kind == "index":  # advanced indexing: a copy
            return record("index", (self,) + tuple(tensors), (spec,))
        if kind == "alias":  # x[...], x[:, :]
            return self._same_view("identity", ())
        if kind == "slice" and len(spec) == 1 and spec[0][1:] == (None, None, None):  # x[:]
            return self._same_view("slice", (spec,))
        return self._basic_view(kind, spec, tuple(tensors))

    def _basic_view(self, kind: str, spec: tuple, tensors: tuple = ()) -> Tensor:
        """A view by basic indexing; ``kind`` is the last op PyTorch would apply (its grad_fn)."""
        out = self._index_view(kind, spec, tensors)
        try:
            out._st = ("index", spec, self._node.shape, self._st)
        except AttributeError:
            out._st = _taken("index", spec, self)
        if self._node.requires_grad and not out._node.requires_grad:  # (taken under no_grad)
            _nograd_view(out, self)
        return _link(out, self, ("index", kind, spec, tensors))

    def _index_view(self, kind: str, spec: tuple, tensors: tuple) -> Tensor:
        """The ops of ``self[spec]`` (basic indexing), recorded."""
        if kind == "unsqueeze":
            # slicing and selecting first, then the new dims (UnsqueezeBackward0)
            inner = all(s is None or s == "..." or (isinstance(s, tuple) and s[1:] == (None, None, None))
                        for s in spec)
            src = self if inner else record(
                "select" if any(s == "T" or isinstance(s, int) for s in spec) else "slice",
                (self,) + tensors, (tuple(s for s in spec if s is not None),))
            out = record("unsqueeze", (src,), (basic_index_shape(self._node.shape, spec),))
        else:
            out = _dynamic_rows(self, kind, spec, tensors)
            if out is None:
                out = record(kind, (self,) + tensors, (spec,))
        return out

    def __setitem__(self, index: Any, value: Any) -> None:
        split = split_selects(index)
        if split is not None:  # into the view the integers select, as PyTorch
            self[split[0]][split[1]] = value
            return
        spec, tensors, kind, view = normalize(index, self._node.shape, tensor)
        n = self._node
        if isinstance(value, Tensor) and value._node.shape[:1] == (1,):
            # (PyTorch drops a value's leading size-1 dims before copying it: `out[i] = f(x)` of shape (1,))
            vshape = value._node.shape
            k = next((i for i, d in enumerate(vshape) if d != 1), len(vshape))
            value = value.reshape(vshape[k:])
        if n.requires_grad and n.leaf and _grad_state.enabled:
            # PyTorch copies into a view of self where some index makes one (ints, 0-dim index
            # tensors, slices that do not cover their dim, None); else into self itself.
            if view:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                                   "operation.")
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if view and _grad_state.enabled and n.requires_grad and _ngv_root(n) is not None:
            # a copy into a view (x[0]) of a view taken under no_grad
            raise RuntimeError(f"Output 0 of {kind.title()} is a view of a view which was created in no_grad mode "
                               "and is being modified inplace with grad mode enabled." + _NGV_ADVICE)
        if kind == "index":
            name = "setitem" if view else "index_put"  # index_put_ on self, or a copy into a view of it
            if name == "index_put" and isinstance(value, Tensor) \
                    and value._node.dtype is not n.dtype and not _has_mask(index):
                _same_dtype_source("index_put_", self, value)
        elif view:
            name = "setitem"  # a copy into a view of self (CopySlices)
        else:
            # the index selects all of self (x[:], x[...], x[:, 0:9]): PyTorch copies into self
            # itself, copy_ for a value of self's shape, else fill_ for a number or 0-dim tensor
            vshape = value._node.shape if isinstance(value, Tensor) else ()
            name = "copy_into" if vshape == n.shape or vshape else "fill_tensor"
            if vshape and vshape != n.shape and len(vshape) <= len(n.shape) \
                    and all(a in (1, b) for a, b in zip(reversed(vshape), reversed(n.shape))):
                value = value.expand(n.shape)  # (PyTorch expands the value first: ExpandBackward0)
        if isinstance(value, Tensor) and value._node.dtype is not n.dtype:
            value = value.to(n.dtype)  # (written in self's dtype, as a copy_ casts)
        elif type(value) is float and n.dtype.category < 2:  # (2.9 into an integer tensor writes 2)
            value = bool(value) if n.dtype.category == 0 else int(value)
        self._inplace(name, value, *tensors, attrs=(spec, False))

    def index_put_(self, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
        if isinstance(values, Tensor) and values._node.dtype is not self._node.dtype:
            _same_dtype_source("index_put_", self, values)
        spec, tensors, _, _ = normalize(tuple(indices), self._node.shape, tensor)
        return self._inplace("index_put", values, *tensors, attrs=(spec, bool(accumulate)))

    def _index_add_args(self, dim: int, index: Any, source: Any, alpha: Any) -> tuple:
        d = _dim(dim, self.dim())
        index = index if isinstance(index, Tensor) else tensor(index)
        source = source if isinstance(source, Tensor) else tensor(source, dtype=self.dtype)
        if index.dim() > 1:
            raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.dim()} with "
                             f"type: {_TORCH_NAMES()[index.dtype.name]} and size: {fmt_shape(index.shape)}")
        if index.dtype.name not in ("int64", "int32"):
            raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                               f"{_TORCH_NAMES()[index.dtype.name]}")
        _check_known_indices(index, self.shape[d] if self.shape else 1, d)
        count = index.numel()
        if source.dim() and count != source.shape[d if d < source.dim() else -1]:
            raise RuntimeError(f"index_add_(): Number of indices ({count}) should be equal to source.size(dim): "
                               f"({source.shape[d if d < source.dim() else -1]}), for dim: {d}")
        spec = (("slice", None, None, None),) * d + ("T",)
        return (source if alpha == 1 else source * alpha, index.reshape(-1)), spec

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """``self`` with ``alpha * source`` added at ``index`` along ``dim`` (repeated indices add up)."""
        args, spec = self._index_add_args(dim, index, source, alpha)
        return record("index_add", (self,) + args, (spec, True))

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        if isinstance(source, Tensor) and source._node.dtype is not self._node.dtype:
            _same_dtype_source("index_add_", self, source)
        args, spec = self._index_add_args(dim, index, source, alpha)
        return self._inplace("index_add", *args, attrs=(spec, True))

    def masked_fill_(self, mask: Tensor, value: Any) -> Tensor:
        return self._inplace_of("masked_fill", mask, value)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """``self`` with ``source``'s slices written at ``index`` along ``dim``."""
        if isinstance(source, Tensor) and source._node.dtype is not self._node.dtype:
            _same_dtype_source("index_copy_", self, source)
        args, spec = self._index_add_args(dim, index, source, 1)
        return record("index_copy", (self,) + args, (spec, False))

    def index_fill(self, dim: int, index: Tensor, value: Any) -> Tensor:
        """``self`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or 0-dim tensor)."""
        d = _dim(dim, self.dim())
        value = _fill_value(self, value, "index_fill_")
        size = self.shape[d] if self.dim() else 1
        _check_known_indices(index, size, d)
        with _NoGrad():
            hit = (arange(size, device=self.device).unsqueeze(1) == index.reshape(1, -1) % max(size, 1)).any(1)
            hit = hit.reshape((size,) + (1,) * (self.dim() - d - 1)) if self.dim() else hit.reshape(())
        return record("index_fill", (hit, value, self))

    def tril(self, diagonal: int = 0) -> Tensor:
        return self._triangle("tril", diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return self._triangle("triu", diagonal)

    def _triangle(self, name: str, diagonal: int) -> Tensor:
        if self.dim() < 2:
            raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
        r, c = self.shape[-2:]
        with _NoGrad():
            rows, cols = arange(r, device=self.device).unsqueeze(1), arange(c, device=self.device).unsqueeze(0)
            keep = (cols - rows <= diagonal) if name == "tril" else (cols - rows >= diagonal)
        return record(name, (keep, self, _fill_value(self, 0, name)))

    # -- scatters ------------------------------------------------------------

    def _scatter_args(self, dim: int, index: Tensor, src: Any, value: Any, reduce: Any) -> tuple:
        """(op name, inputs after self, attributes) of ``scatter``/``scatter_`` (a tensor or a number)."""
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        source = src if src is not None else value
        if source is None:
            raise TypeError("scatter() missing 1 required positional argument: 'src' or 'value'")
        d = _dim(dim, self.dim())
        _check_known_indices(index, self.shape[d] if self.shape else 1, d)
        if isinstance(source, (np.integer, np.floating, np.bool_)):
            source = source.item()
        index, source = _scalar_scatter_args(self, index, source)
        name = "scatter_legacy_reduce" if reduce else "scatter" if isinstance(source, Tensor) else "scatter_value"
        return name, (index, source), (d, reduce)

    def scatter(self, dim: int, index: Tensor, src: Any = None, reduce: str | None = None, *,
                value: Any = None) -> Tensor:
        """``self`` with ``src`` (a tensor, read over ``index``'s shape, or a number) written at
        ``index`` along ``dim``; ``reduce="add"``/``"multiply"`` combines instead (no gradient, as PyTorch)."""
        name, args, attrs = self._scatter_args(dim, index, src, value, reduce)
        return record(name, (self,) + args, attrs)

    def scatter_(self, dim: int, index: Tensor, src: Any = None, reduce: str | None = None, *,
                 value: Any = None) -> Tensor:
        name, args, attrs = self._scatter_args(dim, index, src, value, reduce)
        return self._inplace(name, *args, attrs=attrs)

    def _scatter_reduce_args(self, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool) -> tuple:
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
        d = _dim(dim, self.dim())
        _check_known_indices(index, self.shape[d] if self.shape else 1, d)
        index, src = _scalar_scatter_args(self, index, src)
        return (index, src), (d, reduce, bool(include_self))

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """Each position ``index`` names reduced with the ``src`` elements sent to it (and itself
        where ``include_self``): ``"sum"``, ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``."""
        args, attrs = self._scatter_reduce_args(dim, index, src, reduce, include_self)
        return record("scatter_reduce", (self,) + args, attrs)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        args, attrs = self._scatter_reduce_args(dim, index, src, reduce, include_self)
        return self._inplace("scatter_reduce", *args, attrs=attrs)

    def _index_reduce_args(self, dim: int, index: Tensor, source: Tensor, reduce: str, include_self: bool,
                           name: str) -> tuple:
        """``index_reduce`` as the ``scatter_reduce`` it is: ``index`` (a vector) spread over ``source``."""
        if reduce not in ("prod", "mean", "amax", "amin"):
            raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
                               f"{reduce}.")
        _warn_beta_once("index_reduce() is in beta and the API may change at any time.")
        if index.dtype not in (D.int32, D.int64):
            raise RuntimeError(f"{name}(): Expected dtype int32/int64 for index but got: "
                               f"{TORCH_TYPE_NAMES.get(index.dtype.name, index.dtype.name)}")
        if index.dim() > 1:
            raise IndexError(f"{name}(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                             f"{TORCH_TYPE_NAMES.get(index.dtype.name, index.dtype.name)} and size: "
                             f"{list(index.shape)}")
        d = _dim(dim, self.dim())
        n = source.shape[d] if source.dim() else 1
        if index.numel() != n:
            raise RuntimeError(f"{name}(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                               f"({n}), for dim: {d}")
        if self.dim() != source.dim() or any(a != b for k, (a, b) in enumerate(zip(self.shape, source.shape))
                                             if k != d) or not self.dim():
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                               f"Got self.shape = {list(self.shape)} source.shape = {list(source.shape)}")
        if self.dtype is not source.dtype:
            raise RuntimeError(f"{name}(): self ({TORCH_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}) and source "
                               f"({TORCH_TYPE_NAMES.get(source.dtype.name, source.dtype.name)}) must have the same "
                               f"scalar type")
        a = ir.host_value(index._node)
        if a is not None and a.size and (a.min() < 0 or a.max() >= self.shape[d]):
            raise IndexError("index out of range in self")
        spread = index.long().reshape(tuple(-1 if k == d else 1 for k in range(source.dim()))).expand(source.shape)
        return (spread, source), (d, reduce, bool(include_self))

    def index_reduce(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                     include_self: bool = True) -> Tensor:
        """The rows of ``self`` that ``index`` names (along ``dim``) reduced with the ``source`` rows sent
        to them (and themselves where ``include_self``): ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"``."""
        args, attrs = self._index_reduce_args(dim, index, source, reduce, include_self, "index_reduce_")
        return record("index_reduce", (self,) + args, attrs)

    def index_reduce_(self, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                      include_self: bool = True) -> Tensor:
        args, attrs = self._index_reduce_args(dim, index, source, reduce, include_self, "index_reduce_")
        return self._inplace("index_reduce", *args, attrs=attrs)

    def index_put(self, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
        """The out-of-place ``index_put_``: ``self`` with ``values`` written (or added) at ``indices``."""
        spec, tensors, _, _ = normalize(tuple(indices), self._node.shape, tensor)
        return record("index_put", (self, values) + tuple(tensors), (spec, bool(accumulate)))

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        """``self`` with the elements where ``mask`` is True taken, in order, from ``source``."""
        if mask.dtype is not D.bool_:
            raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                               f"{_TORCH_NAMES()[mask.dtype.name]}")
        if source.dtype is not self.dtype:
            raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                               f"{_TORCH_NAMES()[self.dtype.name]} and {_TORCH_NAMES()[source.dtype.name]}")
        from .ops import broadcast_shapes
        shape = broadcast_shapes(self._node.shape, mask._node.shape, "masked_scatter")
        with _NoGrad():
            m = mask.expand(shape) if mask.shape != shape else mask
            # the k-th True reads source's k-th element (XLA clamps a source too short, unchecked)
            pos = (m.reshape(-1).long().cumsum(0) - 1).clamp(min=0).reshape(shape)
        flat = source.reshape(-1)
        if flat.shape[0] == 0:
            flat = zeros(1, dtype=source.dtype, device=source.device)  # (nothing is read: mask all False)
        return record("masked_scatter", (m, flat[pos], self))

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        if mask._node.shape != self._node.shape:
            expand_rule(mask._node, self._node.shape)  # (PyTorch's error where mask would grow self)
        return self._inplace_of("masked_scatter", mask, source)

    def diagonal_scatter(self, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """``self`` with its ``offset`` diagonal over ``dim1``, ``dim2`` replaced by ``src``."""
        d1, d2 = _dim(dim1, self.dim()), _dim(dim2, self.dim())
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        return record("diagonal_scatter", (self, src), (offset, d1, d2))

    def _scatter_into_view(self, name: str, src: Tensor, index: tuple) -> Tensor:
        """``self`` with ``self[index]`` replaced by ``src`` (exactly that view's shape, as PyTorch)."""
        spec, tensors, _, _ = normalize(index, self._node.shape, tensor)
        want, _ = OPS["index"].shape_rule(self._node, *[t._node for t in tensors], spec=spec)
        if tuple(src.shape) != tuple(want):
            raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                               f"{fmt_shape(src.shape)}, slice size = {fmt_shape(want)}")
        return record(name, (self, src) + tuple(tensors), (spec, False))

    def select_scatter(self, src: Tensor, dim: int, index: int) -> Tensor:
        d = _dim(dim, self.dim())
        size = self.shape[d]
        if not -size <= index < size:
            raise IndexError(f"select(): index {index} out of range for tensor of size {fmt_shape(self.shape)} at "
                             f"dimension {d}")
        return self._scatter_into_view("select_scatter", src, (slice(None),) * d + (index % size,))

    def slice_scatter(self, src: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
                      step: int = 1) -> Tensor:
        d = _dim(dim, self.dim())
        return self._scatter_into_view("slice_scatter", src, (slice(None),) * d + (slice(start, end, step),))

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> Tensor:
        """The main diagonal set to ``fill_value``, in place; a tall matrix's diagonal restarts after
        each ``cols + 1`` rows where ``wrap``, as PyTorch's."""
        shape = self._node.shape
        if len(shape) < 2:
            raise RuntimeError("dimensions must larger than 1")
        if len(shape) > 2 and len(set(shape)) != 1:
            raise RuntimeError("all dimensions of input must be of equal length")
        n = self._node
        if n.requires_grad and n.leaf and _grad_state.enabled:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        hit = np.zeros(shape, bool)
        if len(shape) == 2:
            rows, cols = shape
            stop = rows * cols if wrap and rows > cols + 1 else min(rows, cols) * cols
            hit.reshape(-1)[:stop:cols + 1] = True
        else:
            hit[(np.arange(shape[0]),) * len(shape)] = True
        mask = tensor(hit, device=self.device)
        return self._take(record("fill_diagonal", (mask, fill_value, self)), "fill_diagonal", "fill_diagonal_")

    # -- linear algebra (see also the torch.linalg functions below) -----------

    def inverse(self) -> Tensor:
        return linalg_inv(self)

    def det(self) -> Tensor:
        return linalg_det(self)

    def slogdet(self) -> Any:
        return return_types.slogdet(*linalg_slogdet(self))

    def logdet(self) -> Tensor:
        # PyTorch's composite: NaN where the determinant is negative (WhereBackward0)
        if self.dtype in (D.float16, D.bfloat16):
            raise RuntimeError(f"logdet: Low precision dtypes not supported. Got {_TORCH_NAMES()[self.dtype.name]}")
        sign, logabs = linalg_slogdet(self)
        return where(sign < 0, math.nan, logabs)

    def cholesky(self, upper: bool = False) -> Tensor:
        _linalg_float("cholesky", self)
        return record("cholesky_legacy", (self,), (bool(upper),))

    def qr(self, some: bool = True) -> Any:
        return return_types.qr(*linalg_qr(self, "reduced" if some else "complete"))

    def svd(self, some: bool = True, compute_uv: bool = True) -> Any:
        """``torch.svd``: (U, S, V) with V (not Vh); ``some=False`` gives full U and V."""
        if not compute_uv:  # (PyTorch's zero U and V are square, whatever `some` says)
            s = linalg_svdvals(self)
            m, n = self.shape[-2:]
            with _NoGrad():
                u = zeros(self.shape[:-2] + (m, m), dtype=self.dtype, device=self.device)
                v = zeros(self.shape[:-2] + (n, n), dtype=self.dtype, device=self.device)
            return return_types.svd(u, s, v)
        u, s, vh = linalg_svd(self, full_matrices=not some)
        return return_types.svd(u, s, vh.mT)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        return linalg_pinv(self, rtol=rcond)

    def matrix_exp(self) -> Tensor:
        return linalg_matrix_exp(self)

    def matrix_power(self, n: int) -> Tensor:
        return linalg_matrix_power(self, n)

    def histc(self, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
        """A histogram of ``bins`` equal bins over [min, max] (the data's range where both are 0)."""
        return record("histc", (self,), (int(bins), float(min), float(max)))

    # -- conversion ----------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        dt = kwargs.get("dtype")
        dev = kwargs.get("device")
        for a in args:
            if isinstance(a, D.dtype) or a is float or a is int or a is bool:  # (Python types: PyTorch's too)
                dt = a
            elif isinstance(a, (str, device)):
                dev = a
            elif isinstance(a, Tensor):
                dt, dev = a.dtype, a.device
        out = self
        if dt is not None and D.as_dtype(dt) is not self.dtype:
            out = record("to_copy", (out,), (D.as_dtype(dt),))
        if dev is not None and device(dev) != self.device:
            out = _move(out, device(dev).placed)
        return out

    def float(self) -> Tensor:
        return self.to(D.float32)

    def double(self) -> Tensor:
        return self.to(D.float64)

    def half(self) -> Tensor:
        return self.to(D.float16)

    def bfloat16(self) -> Tensor:
        return self.to(D.bfloat16)

    def long(self) -> Tensor:
        return self.to(D.int64)

    def int(self) -> Tensor:
        return self.to(D.int32)

    def bool(self) -> Tensor:
        return self.to(D.bool_)

    def cuda(self, device_: Any = None) -> Tensor:
        return self.to(device("cuda" if device_ is None else device_ if not isinstance(device_, int)
                              else f"cuda:{device_}"))

    def cpu(self) -> Tensor:
        return self.to(CPU)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
        if isinstance(data, Tensor):
            warnings.warn(_COPY_CONSTRUCT.format("tensor.new_tensor"), UserWarning, stacklevel=2)
        return _tensor(data, dtype=dtype or self.dtype, device=self.device, requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None) -> Tensor:
        return zeros(*size, dtype=dtype or self.dtype, device=self.device)

    def new_ones(self, *size: Any, dtype: Any = None) -> Tensor:
        return ones(*size, dtype=dtype or self.dtype, device=self.device)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None) -> Tensor:
        return full(size, fill_value, dtype=dtype or self.dtype, device=self.device)


def _inplace_form(method: str) -> Any:
    def fn(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._inplace_of(method, *args, **kwargs)
    fn.__name__ = fn.__qualname__ = method + "_"
    fn.__doc__ = f"In-place ``{method}``: ``t.{method}_(...)`` makes ``t.{method}(...)`` ``t``'s value."
    return fn


# In-place forms of out-of-place methods, made generically (the version counter, views writing
# through and saved-value checks all come from _replace_node); forms written out above are kept.
for _m in ("exp log log1p expm1 log2 log10 sqrt rsqrt abs absolute neg negative sign sin cos tan tanh sigmoid "
           "erf floor ceil round trunc reciprocal square clamp_min clamp_max clip atan2 floor_divide remainder "
           "subtract multiply divide true_divide index_fill index_copy tril triu asin acos atan sinh cosh asinh "
           "acosh atanh arcsin arccos arctan arcsinh arccosh arctanh frac sinc logit nan_to_num xlogy fmod "
           "scatter_add cumsum hypot copysign deg2rad rad2deg sgn lgamma digamma erfinv logical_and logical_or "
           "logical_xor logical_not bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift "
           "bitwise_right_shift cumprod gcd lcm arctan2 polygamma addmm").split():
    if not hasattr(Tensor, _m + "_"):
        setattr(Tensor, _m + "_", _inplace_form(_m))


def _numpy_names(fn: Any) -> Any:
    """``fn`` also taking NumPy's keyword names, as PyTorch's argument parser does: ``axis`` for
    ``dim``, ``keepdims`` for ``keepdim`` (``x.sum(axis=1)``, ``x.mean(axis=0, keepdims=True)``)."""
    @functools.wraps(fn)
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            if "axis" in kwargs:
                if "dim" in kwargs:
                    raise TypeError(f"{fn.__name__}() got both 'dim' and its alias 'axis'")
                kwargs["dim"] = kwargs.pop("axis")
            if "keepdims" in kwargs:
                kwargs["keepdim"] = kwargs.pop("keepdims")
        return fn(self, *args, **kwargs)
    return method


for _m in ("sum mean prod nansum nanmean amax amin max min argmax argmin all any std var norm logsumexp median "
           "nanmedian mode cumsum cumprod cummax cummin softmax log_softmax squeeze unsqueeze sort argsort topk "
           "kthvalue count_nonzero quantile nanquantile flip").split():
    if hasattr(Tensor, _m):
        setattr(Tensor, _m, _numpy_names(getattr(Tensor, _m)))


_INPLACE_NAMES = {"setitem": "copy_", "index_put": "index_put_", "index_add": "index_add_",
                  "scatter": "scatter_", "scatter_value": "scatter_", "scatter_legacy_reduce": "scatter_",
                  "scatter_reduce": "scatter_reduce_", "masked_scatter": "masked_scatter_",
                  "fill_diagonal": "fill_diagonal_",
                  "leaky_relu_": "leaky_relu_", "elu_": "elu_", "fill_tensor": "fill_", "fill_scalar": "fill_",
                  "zero": "zero_", "copy_into": "copy_"}


@functools.cache
def _inplace_name(op: str) -> str:
    """PyTorch's name of the in-place form of ``op`` (``sub`` -> ``sub_``), as its errors say."""
    return _INPLACE_NAMES.get(op) or OPS[op].grad_name.replace("Backward0", "").lower() + "_"


def softmax_input_check(name: str, x: Tensor, dim: int, dtype: Any) -> None:
    """PyTorch's kernels refuse integer and bool input unless a floating ``dtype`` is given."""
    d = x._node.dtype
    if dtype is None and d.category != 2:
        nd = x.dim()
        last = nd == 0 or dim in (nd - 1, -1)
        raise NotImplementedError(f'"{name}_{"lastdim_" if last else ""}kernel_impl" not implemented for '
                                  f"'{_TORCH_NAMES()[d.name]}'")


def _numpy_dtype_check(dt: D.dtype) -> None:
    """PyTorch's refusal to hand a bfloat16 tensor to NumPy, which has no such dtype (``.tolist()``,
    ``.item()`` and ``.float().numpy()`` work)."""
    if dt is D.bfloat16:
        raise TypeError("Got unsupported ScalarType BFloat16")


def _TORCH_NAMES() -> dict:  # noqa: N802
    from .ops import TORCH_TYPE_NAMES
    return TORCH_TYPE_NAMES


# -- strides, as PyTorch would have them (is_contiguous, contiguous, stride, view) -------------
#
# Only view ops give a tensor other strides than the contiguous ones of its shape. A view
# records, in the new tensor's `_st`, how it was taken: (how, argument, input shape, input's
# `_st`); `_strides_of` works the strides out when they are first asked for, and keeps them.
# A tensor whose `_st` is None is contiguous: the common case costs one attribute.


def _layout_of(t: Tensor) -> Any:
    try:
        return t._st
    except AttributeError:  # a tensor made outside record()/wrap() (nn.Parameter): contiguous
        t._st = None
        return None


def _taken(how: str, arg: Any, src: Tensor) -> tuple:
    """``_st`` of a view taken from ``src``."""
    return (how, arg, src._node.shape, _layout_of(src))


def _dense_strides(shape: tuple) -> tuple:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(out))


def _strides_of(t: Tensor) -> tuple:
    st = _layout_of(t)
    if st is None:
        return _dense_strides(t._node.shape)
    if type(st[0]) is not str:
        return st
    chain = []
    while st is not None and type(st[0]) is str:  # (a loop: chains of views can be long)
        chain.append(st)
        st = st[3]
    strides = _dense_strides(chain[-1][2]) if st is None else st
    for how, arg, shape, _ in reversed(chain):
        strides = _VIEW_STRIDES[how](shape, strides, arg)
    t._st = strides if strides else None
    return strides


def _index_strides(shape: tuple, st: tuple, spec: tuple) -> tuple:
    """Basic indexing (ints and 0-dim index tensors "T", slices, None, "...") applied left to right."""
    consumed = sum(1 for s in spec if s is not None and s != "...")
    out: list = []
    k = 0
    for s in spec:
        if s is None:  # unsqueeze before the next dim of the input
            out.append(shape[k] * st[k] if k < len(shape) else 1)
        elif s == "...":
            skip = len(shape) - consumed
            out.extend(st[k:k + skip])
            k += skip
        elif isinstance(s, tuple):
            out.append(st[k] * (s[3] or 1))
            k += 1
        else:
            k += 1
    out.extend(st[k:])
    return tuple(out)


def _expand_strides(shape: tuple, st: tuple, sizes: tuple) -> tuple:
    """ATen's inferExpandGeometry."""
    if not shape:
        return (0,) * len(sizes)
    out = [0] * len(sizes)
    lead = len(sizes) - len(shape)
    for i in range(len(sizes) - 1, -1, -1):
        d = i - lead
        size = shape[d] if d >= 0 else 1
        stride = st[d] if d >= 0 else sizes[i + 1] * out[i + 1]
        out[i] = 0 if size != sizes[i] else stride
    return tuple(out)


def _view_strides(shape: tuple, st: tuple, new: tuple) -> tuple | None:
    """ATen's computeStride: the strides of a view of ``new`` shape, or None where no view of
    these strides has that shape (a dim of it would span two contiguous subspaces)."""
    if not shape:
        return (1,) * len(new)
    numel = math.prod(shape)
    if numel == 0:
        return tuple(st) if tuple(shape) == tuple(new) else _dense_strides(new)
    out = [0] * len(new)
    view_d = len(new) - 1
    chunk_base = st[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and st[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new[view_d] == 1):
                out[view_d] = view_numel * chunk_base
                view_numel *= new[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = st[d - 1]
                tensor_numel = view_numel = 1
    return tuple(out) if view_d == -1 else None


def _reshape_strides(shape: tuple, st: tuple, new: tuple) -> tuple:
    # reshape is a view where one is possible, else a (contiguous) copy
    v = _view_strides(shape, st, new)
    return _dense_strides(new) if v is None else v


def _unsqueeze_strides(shape: tuple, st: tuple, d: int) -> tuple:
    return st[:d] + (shape[d] * st[d] if d < len(shape) else 1,) + st[d:]


_VIEW_STRIDES = {
    "perm": lambda shape, st, perm: tuple(st[p] for p in perm),
    "index": _index_strides,
    "expand": _expand_strides,
    "reshape": _reshape_strides,
    "unsqueeze": _unsqueeze_strides,
    "squeeze": lambda shape, st, dims: tuple(s for i, s in enumerate(st) if i not in dims),
    "diagonal": lambda shape, st, attrs: (tuple(s for i, s in enumerate(st) if i not in attrs[1:])
                                          + (st[attrs[1]] + st[attrs[2]],)),
}


# sys.getrefcount of a tensor's node inside requires_grad_ when nothing but the tensor holds it
# (the tensor's slot, the local name and the call's argument)
_UNSHARED_REFS = 3

# the view ops whose in-place forms (t_, transpose_, unsqueeze_, squeeze_) PyTorch names apart
_RETAG = frozenset(("t", "transpose", "unsqueeze", "squeeze", "squeeze_dim", "squeeze_dims"))

_WHOLE = ("...",)  # the index spec of a whole tensor (writing back a view that changes nothing)


# -- views taken under no_grad of a tensor that requires grad ------------------------------
#
# PyTorch marks such a view as requiring grad (through its base) with no grad_fn: it is a leaf,
# nothing flows back through it to the base, and an in-place change of it with grad mode on is
# refused. srcgrad records the view as usual (under no_grad it does not require grad) and wraps
# it in a "nograd_view" node that requires grad: ops on it in grad mode then require grad too,
# and the transformer stops there, as that node's input needs no gradient.

_NGV_OPS = frozenset(("nograd_view", "nograd_update"))
# ops whose result is a view of their first input (a view of a no_grad view is refused in place)
_VIEW_OPS = frozenset(("view", "reshape_alias", "unsqueeze", "squeeze", "squeeze_dim", "squeeze_dims", "transpose", "t",
                       "permute", "expand", "slice", "select", "dyn_slice", "dyn_select", "split",
                       "split_with_sizes", "unbind",
                       "identity", "nograd_update"))
_VIEW_OPS_NGV = _VIEW_OPS | {"nograd_view"}
# the ops whose result is a view detach_() refuses (not detach()'s own identity)
_DETACH_VIEW_OPS = _VIEW_OPS_NGV - {"identity", "nograd_update"}
_NGV_ADVICE = (" Given that this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
               "code by moving both the view and the inplace either both inside the no_grad block (if you "
               "don't want the inplace to be tracked) or both outside (if you want the inplace to be "
               "tracked).")
_NGV_DIRECT = "A view was created in no_grad mode and is being modified inplace with grad mode enabled."
_NGV_INDIRECT = ("A view was created in no_grad mode and its base or another view of its base has been "
                 "modified inplace with grad mode enabled.")


_FULL_SLICE = ("slice", None, None, None)


def _dynamic_rows(x: Tensor, kind: str, spec: tuple, tensors: tuple) -> Tensor | None:
    """``X[i]`` or ``X[i:j]`` (rows of dim 0; any further index a full ``:`` or ``...``) of a tensor
    that is a program input, such as a dataset or an embedding table, recorded with the row as a
    program input: a loop over batches then compiles one program, not one per position. Tensors a
    graph computes keep static positions (its own ``h[:, t]`` are the same on every call)."""
    n = x._node
    if tensors or n.value is None or not spec or any(s != _FULL_SLICE and s != "..." for s in spec[1:]):
        return None
    first = spec[0]
    if kind == "select" and type(first) is int:
        return record("dyn_select", (x, first))
    if kind == "slice" and type(first) is tuple and first[3] in (None, 1):
        start, stop, _ = slice(first[1], first[2]).indices(n.shape[0])
        if 0 < stop - start < n.shape[0]:
            return record("dyn_slice", (x, start), (stop - start,))
    return None


def _nograd_view(out: Tensor, src: Tensor) -> None:
    """Make ``out``, a view of ``src`` just recorded under no_grad, a PyTorch no_grad view."""
    if ir._block is not None:  # the transformer's own views (a backward without create_graph)
        return
    inner = out._node
    n = Node()  # (built here: no frame walk, the view's line is the user's line)
    n.id = ir._next_id()
    n.op = "nograd_view"
    n.inputs = (inner,)
    n.attrs = ()
    n.shape, n.dtype, n.device, n.loc = inner.shape, inner.dtype, inner.device, inner.loc
    n.value = None
    n.requires_grad = True
    n.leaf = n.special = False
    n.sig = ("nograd_view", (), n.shape, n.dtype)
    inner.inner = True  # (generated code names the wrapper after the user's variable)
    inner.owner = None
    n.owner = ir.weakref.ref(out)
    out._node = n
    out._ngv = (ir.weakref.ref(src), src._version)


def _ngv_root(n: Node) -> Node | None:
    """The nograd_view node behind ``n`` (through in-place changes made under no_grad), or None."""
    while n.op == "nograd_update":
        n = n.inputs[0]
    return n if n.op == "nograd_view" else None


def _check_nograd_view(t: Tensor) -> bool:
    """Whether ``t`` is a view taken under no_grad; PyTorch's error when it, its base or another
    view of the base has been changed in place since (its grad_fn is then invalid)."""
    n = t._node
    root = _ngv_root(n)
    if root is None:
        return False
    changed = n is not root
    ngv = getattr(t, "_ngv", None)
    if not changed and ngv is not None:
        base = ngv[0]()
        changed = base is not None and base._version != ngv[1]
    if changed:
        raise RuntimeError(_NGV_INDIRECT + _NGV_ADVICE)
    return True


def _check_view_inplace(old: Node) -> None:
    """PyTorch's refusal of an in-place change, with grad mode on, of a view taken under no_grad
    or of a view of one (``old``: the tensor's node, which requires grad and is not a leaf)."""
    if _ngv_root(old) is not None:
        raise RuntimeError(_NGV_DIRECT + _NGV_ADVICE)
    n, name = old, None
    while n.op in _VIEW_OPS:
        if name is None and n.op != "nograd_update":
            name = OPS[n.op].grad_name.replace("Backward0", "")
        n = n.inputs[0]
        if _ngv_root(n) is not None:
            raise RuntimeError(f"Output 0 of {name} is a view of a view which was created in no_grad mode and is "
                               "being modified inplace with grad mode enabled." + _NGV_ADVICE)


def _contiguous(shape: tuple, strides: tuple) -> bool:
    if 0 in shape:
        return True
    expected = 1
    for size, st in zip(reversed(shape), reversed(strides)):
        if size == 1:
            continue
        if size == 0:
            return True
        if st != expected:
            return False
        expected *= size
    return True


_T_WARNED: set[bool] = set()  # (each of PyTorch's two warnings is shown once a process)


def _warn_dot_t_deprecated(ndim: int) -> None:
    zero_d = ndim == 0
    if zero_d in _T_WARNED:
        return
    _T_WARNED.add(zero_d)
    warnings.warn("Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases." if zero_d
                  else "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated "
                  "and it will throw an error in a future release. Consider `x.mT` to transpose batches of "
                  "matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a "
                  "tensor.", UserWarning, stacklevel=3)


# -- backward, and the hooks that run after a leaf's .grad is accumulated -------------

_post_hooks: dict[int, tuple] = {}  # id(tensor) -> (weak reference, [hook, ...])


def run_backward(tensors: Sequence[Tensor], grad_tensors: Sequence[Any], retain_graph: bool | None,
                 create_graph: bool, inputs: Any) -> None:
    """``Tensor.backward`` and ``autograd.backward``: the transformer, then post-accumulate hooks."""
    from . import autodiff
    if inputs is not None and not isinstance(inputs, Tensor):
        inputs = list(inputs)
        if not inputs:
            raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    if not _post_hooks:
        autodiff.backward(tensors, grad_tensors, retain_graph=retain_graph, create_graph=create_graph,
                          inputs=inputs)
        return
    before = []
    for key, (ref, hooks) in list(_post_hooks.items()):
        t = ref()
        if t is None or not hooks:
            del _post_hooks[key]
            continue
        g = t._grad
        before.append((t, hooks, g, g._node if g is not None else None))
    autodiff.backward(tensors, grad_tensors, retain_graph=retain_graph, create_graph=create_graph,
                      inputs=inputs)
    prev = _grad_state.enabled
    _grad_state.enabled = bool(create_graph)  # (hooks run in the backward's grad mode, as PyTorch's)
    try:
        for t, hooks, g, gn in before:
            now = t._grad
            if now is None or (now is g and now._node is gn):
                continue  # backward did not reach this leaf
            for hook in list(hooks):
                tracing.note_hook(hook)  # a Python side effect: the tracer checks what it changes
                r = hook(t)
                if r is not None:
                    raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    finally:
        _grad_state.enabled = prev


# -- views: tensors that share their base's storage ---------------------------------------
#
# A view (x[0], x.view(...), x.t(), x.diagonal(), ...) keeps ``_view = (base, steps)``: a weak
# reference to the tensor it was taken from (the first one, for a view of a view, as PyTorch's
# ``._base``) and how it is read from that tensor's value. The base keeps its views in
# ``_views``. An in-place change of a view writes the new value into the base (_VIEW_WRITES,
# PyTorch's CopySlices); an in-place change of a base reads every live view again from the
# new value, so all of them show it, as the shared storage of PyTorch's views does.
#
# The base is held weakly so that a view of an intermediate result does not keep that result
# (and make every program compute it as an output); once nothing else holds the base, a view
# no longer writes into it, which only sibling views of the same lost base could observe.
#
# A step is (how, op, attrs, tensors): ``op`` with ``attrs`` (and index tensors) is what the
# view op recorded; ``how`` says how a new view value goes back into the tensor it came from.
# A "pieces" step (one output of split/unbind) has a fifth entry: which output it is.


class _ViewList:
    """The live views of one tensor (weak references). When the last one is gone the
    tensor's ``_views`` is None again (the fast paths of in-place ops and replays test
    that); dead references are dropped as the list grows."""

    __slots__ = ("base", "refs", "limit", "count")

    def __init__(self, base: Tensor) -> None:
        self.base = ir.weakref.ref(base)  # (the one reference every view of it shares)
        self.refs: list = []
        self.limit = 8
        self.count = 0  # live views

    def add(self, view: Tensor) -> None:
        refs = self.refs
        refs.append(ir.weakref.ref(view, self._gone))
        self.count += 1
        if len(refs) > self.limit:  # (amortised: a dataset indexed every step keeps a short list)
            self.refs = refs = [r for r in refs if r() is not None]
            self.limit = 2 * len(refs) + 8

    def _gone(self, ref: Any) -> None:
        self.count -= 1
        if self.count == 0:
            self.refs = []
            base = self.base()
            if base is not None and base._views is self:
                base._views = None

    def live(self) -> list:
        return [v for v in (r() for r in self.refs) if v is not None]


def _link(out: Tensor, src: Tensor, step: tuple) -> Tensor:
    """Make ``out``, just recorded from ``src`` by ``step``, a view of ``src``'s base."""
    if ir._block is not None:  # (the transformer's own reshapes of gradients)
        return out
    view = src._view
    base = src if view is None else view[0]()
    if base is None:  # (src is a view whose base is gone: src is the base now)
        base, view = src, None
    views = base._views
    if views is None:
        views = base._views = _ViewList(base)
    out._view = (views.base, (step,) if view is None else view[1] + (step,))
    if base._base is not None:  # (an alias shares its storage with others: the view must keep it to reach them)
        out._hold = base
    out._version = base._version  # (one version counter for a base and its views, as PyTorch's)
    views.add(out)
    return out


def _read_view(base: Tensor, steps: tuple) -> Tensor:
    """The view ``steps`` of ``base``'s current value (recorded as new ops)."""
    out = base
    for step in steps:
        how, op, attrs = step[:3]
        out = out._index_view(op, attrs, step[3]) if how == "index" else record(op, (out,), attrs)
    return out


def _write_view(base: Tensor, steps: tuple, new: Tensor) -> Tensor:
    """``base``'s new value after its view ``steps`` took the value ``new``."""
    step = steps[0]
    if len(steps) > 1:
        new = _write_view(_read_view(base, steps[:1]), steps[1:], new)
    return _VIEW_WRITES[step[0]](base, new, step)


def _refresh_views(t: Tensor, bump: bool, opname: str, origin: Tensor | None) -> None:
    """Read every live view of ``t`` again from its new value: PyTorch's views show an
    in-place change of their base. Autograd sees the new view as PyTorch's
    AsStridedBackward0 of the base; a view taken under no_grad stays one."""
    for v in t._views.live():
        link = v._view
        if link is None or link[0]() is not t:  # (since unlinked: v.data = ..., v.t_())
            continue
        old = v._node
        nograd = _ngv_root(old) is not None
        with _NoGrad() if nograd else _EnableGrad():
            out = _read_view(t, link[1])
        n = out._node
        alias = "as_strided_" + OPS[n.op].name
        if alias in OPS and n.value is None:
            n.op = alias
            n.sig = (alias,) + n.sig[1:]
        if nograd:
            ngv = v._ngv
            _nograd_view(out, t)
            v._ngv = ngv  # (PyTorch's error for a changed base still applies to it)
        out._node.owner = None
        v._replace_node(out._node, bump=bump and v is not origin, keep_leaf=False, opname=opname, hidden=True,
                        through=False)


def _unlink_views(t: Tensor) -> None:
    """``t`` now has other storage or another layout (``t.data = y``, ``t.t_()``): its old views
    no longer follow it, nor does it follow its base."""
    if t._views is not None:
        for v in t._views.live():
            if v._view is not None and v._view[0]() is t:
                v._view = None
        t._views = None
    t._view = None


_MULTI_VIEW_OPS = frozenset(("split", "split_with_sizes", "unbind"))


def _check_multi_output(t: Tensor, steps: tuple) -> None:
    """PyTorch's refusal to change in place, with grad mode on, an output of split/chunk/unbind or a
    view of one (the view's own steps say so; its nodes, where the base was gone when it was taken)."""
    last = steps[-1]
    if last[0] == "pieces":
        k, op = last[4], last[1]
    else:
        n = t._node
        while n.op in _VIEW_OPS and n.op not in _MULTI_VIEW_OPS:
            n = n.inputs[0]
        if n.op not in _MULTI_VIEW_OPS and all(step[0] != "pieces" for step in steps):
            return
        k, op = 0, t._node.op.removeprefix("as_strided_")
    name = OPS[op].grad_name.replace("Backward0", "")
    raise RuntimeError(f"Output {k} of {name} is a view and is being modified inplace. This view is the output of "
                       "a function that returns multiple views. Such functions do not allow the output views to be "
                       "modified inplace. You should replace the inplace operation by an out-of-place one.")


# In-place ops that write one value everywhere: PyTorch lets them write to an expanded tensor
# (whose elements share memory), and a base's new value is then any one of the copies.
_UNIFORM_WRITES = frozenset(("fill_", "zero_"))


def _check_view_write(t: Tensor, view: tuple, hidden: bool, opname: str) -> None:
    """PyTorch's refusals of an in-place change of a view, raised before anything changes."""
    if not hidden and _grad_state.enabled and t._node.requires_grad:
        _check_multi_output(t, view[1])
    base = view[0]()
    if base is not None and base._node.requires_grad and base._node.leaf and _grad_state.enabled and not hidden:
        raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                           "operation.")
    hows = [step[0] for step in view[1]]
    if "broadcast" in hows and not (opname in _UNIFORM_WRITES and all(
            how == "broadcast" for how in hows[hows.index("broadcast"):])):
        _refuse_overlap()  # (also once the base is gone: its layout stays)


def _refuse_overlap() -> None:
    raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                       "single memory location. Please clone() the tensor before performing the operation.")


def _one_copy(new: Tensor, shape: tuple) -> Tensor:
    """The value of ``shape`` that ``new``, uniformly written through an expansion of it, gives."""
    lead = new.dim() - len(shape)
    index = (0,) * lead + tuple(slice(None) if s == n else slice(0, 1) for s, n in zip(shape, new.shape[lead:]))
    return new[index]


def _write_whole(base: Tensor, new: Tensor) -> Tensor:
    return record("setitem", (base, new), (_WHOLE, False))


def _inverse(perm: tuple) -> tuple:
    return tuple(sorted(range(len(perm)), key=perm.__getitem__))


# How an in-place change of a view goes back into the tensor it was taken from: that
# tensor's new value. (An expansion that repeats elements is "broadcast": refused above
# except for a uniform write.)
_VIEW_WRITES = {
    "index":    lambda base, new, step: record("setitem", (base, new) + step[3], (step[2], False)),
    "pieces":   lambda base, new, step: record("setitem", (base, new), (step[2][0], False)),
    "same":     lambda base, new, step: _write_whole(base, new),
    "reshape":  lambda base, new, step: _write_whole(base, record("view", (new,), (base._node.shape,))),
    "permute":  lambda base, new, step: _write_whole(base, record("permute", (new,), (_inverse(step[2][0]),))),
    "diagonal": lambda base, new, step: record("diagonal_setitem", (base, new), step[2]),
    "broadcast": lambda base, new, step: _write_whole(base, _one_copy(new, base._node.shape)),
}


class _Storage:
    """The tensors that share one storage: a tensor and its ``detach()``/``.data`` aliases.

    ``members`` holds ``(weak reference, own_version)`` pairs; ``own_version`` marks a
    ``.data`` alias, whose in-place changes PyTorch's version checks do not see. A
    tensor's ``_base`` is its storage, or None (the common case: nothing to update)."""

    __slots__ = ("members", "address")

    def __init__(self) -> None:
        self.members: list = []
        self.address: int | None = None  # (made up when a data_ptr is first asked for: see storage.py)


def _share(t: Tensor, src: Tensor, own_version: bool) -> None:
    """Make ``t`` an alias of ``src``'s storage."""
    if t is src:  # (`p.data = p.data` on a tensor that stays where it is)
        return
    group = src._base
    if group is None:
        group = src._base = _Storage()
        group.members.append((ir.weakref.ref(src), False))
    if t._base is group:
        return
    group.members.append((ir.weakref.ref(t), own_version))
    t._base = group


def _unshare(t: Tensor) -> None:
    group = t._base
    if group is not None:
        group.members = [m for m in group.members if m[0]() is not t and m[0]() is not None]
        t._base = None


def _write_through(src: Tensor, new: Node, bump: bool, opname: str) -> None:
    """Show an in-place change of ``src`` in every live tensor sharing its storage."""
    group = src._base
    members = group.members
    src_own = False
    live = []
    for m in members:
        t = m[0]()
        if t is None:
            continue
        live.append(m)
        if t is src:
            src_own = m[1]
    if len(live) != len(members):
        group.members = live
    if all(m[0]() is src for m in live):  # no alias left: in-place ops on src are plain again
        src._base = None
        return
    for ref, own in live:
        t = ref()
        if t is src or t is None or t._node is new:
            continue
        t._replace_node(_alias(new), bump=bump and not own and not src_own, keep_leaf=True, opname=opname,
                        hidden=True, share=False)


def _integer_pow(out: Tensor, base: Any, exponent: Tensor) -> Tensor:
    """PyTorch's integer power at negative exponents, which XLA leaves undefined: 1 for a base
    of 1, +-1 for -1 (by the exponent's parity), else 0 (the integer part of base ** e)."""
    if out._node.dtype.category != 1:
        return out
    with _NoGrad():
        base = base if isinstance(base, Tensor) else full((), base, dtype=out.dtype)
        at_negative = where(base == 1, 1, where(base == -1, 1 - 2 * (exponent % 2), 0)).to(out.dtype)
        return where(exponent < 0, at_negative, out)


_BETA_WARNED: set = set()


def _warn_beta_once(message: str) -> None:
    """A beta API's warning, once a process (PyTorch's TORCH_WARN_ONCE), at the user's line."""
    if message not in _BETA_WARNED:
        _BETA_WARNED.add(message)
        ir.warn_at_user(message)


def _check_known_indices(index: Any, size: int, dim: int) -> None:
    """PyTorch's out-of-bounds error for an index tensor whose values are already known on the
    host (a pending one is never computed for this: XLA clamps or drops such indices silently)."""
    a = ir.host_value(index._node) if isinstance(index, Tensor) else None
    if a is None or a.size == 0:
        return
    if a.min() < 0 or a.max() >= size:  # (negative indices too, as PyTorch's gather/scatter/index_add)
        bad = a[(a < 0) | (a >= size)].flat[0]
        raise RuntimeError(f"index {int(bad)} is out of bounds for dimension {dim} with size {size}")


def _meta_leaf(shape: tuple, dt: D.dtype, requires_grad: bool = False) -> Tensor:
    node = ir.value_node(META_VALUE, shape, dt, META)
    t = wrap(node)
    ir.set_owner(node, t)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _meta_repr(t: Tensor) -> str:
    """PyTorch's ``tensor(..., device='meta', size=(2, 3))``: no values to show."""
    n = t._node
    parts = ["...", "device='meta'", f"size={tuple(n.shape)}"]
    if n.dtype is not D.get_default_dtype():  # (no values to tell an int64 from a float: PyTorch shows it)
        parts.append(f"dtype=torch.{n.dtype.name}")
    gf = t.grad_fn
    if gf is not None:
        parts.append(f"grad_fn=<{type(gf).__name__}>")
    elif n.requires_grad:
        parts.append("requires_grad=True")
    return "tensor(" + ", ".join(parts) + ")"


def _numpy_device_check(dev: device) -> None:
    if dev is META:  # (PyTorch refuses CUDA tensors too; srcgrad copies those to the host)
        raise TypeError(f"can't convert {dev.type} device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                        "to host memory first.")


def _alias(node: Node) -> Node:
    """A fresh node with the same value as ``node`` (so two tensors never share a node)."""
    if node.value is not None:
        return ir.value_node(node.value, node.shape, node.dtype, node.device)
    with _NoGrad():
        return record("identity", (wrap(node),))._node


def _move(t: Tensor, dev: device) -> Tensor:
    # (to meta: the shape and dtype alone, nothing computed; from meta: _value says "no data")
    value = META_VALUE if dev is META else jax.device_put(t._value(), dev.jax)
    node = ir.value_node(value, t._node.shape, t._node.dtype, dev)
    if t.requires_grad and _grad_state.enabled:
        node.op = "to_device"
        node.inputs = (t._node,)
        node.attrs = (t.device,)
        node.requires_grad = True
    out = wrap(node)
    ir.set_owner(node, out)
    return out


class _NoGrad:
    def __enter__(self) -> None:
        self.prev = _grad_state.enabled
        _grad_state.enabled = False

    def __exit__(self, *a: object) -> None:
        _grad_state.enabled = self.prev


class _EnableGrad(_NoGrad):
    def __enter__(self) -> None:
        self.prev = _grad_state.enabled
        _grad_state.enabled = True


# ---------------------------------------------------------------------------
# functions that make or combine tensors


def _check_nested(data: Any, dim: int = 0) -> None:
    """PyTorch's errors for ragged or non-numeric nested data."""
    if isinstance(data, (list, tuple)):
        lengths = None
        for k, item in enumerate(data):
            if isinstance(item, str):
                if k == 0:
                    raise ValueError("too many dimensions 'str'")
                raise TypeError("new(): invalid data type 'str'")
            if item is None:
                raise RuntimeError("Could not infer dtype of NoneType")
            if isinstance(item, (list, tuple)):
                if lengths is None:
                    lengths = len(item)
                elif len(item) != lengths:
                    raise ValueError(f"expected sequence of length {lengths} at dim {dim + 1} (got {len(item)})")
                _check_nested(item, dim + 1)
            elif lengths is not None:
                raise TypeError(f"not a sequence (at dim {dim + 1})")
            elif not isinstance(item, (int, float, bool, np.generic, Tensor)):
                raise TypeError(f"new(): invalid data type '{type(item).__name__}'")


def _infer_dtype(data: Any) -> D.dtype:
    _check_nested(data)
    arr = np.asarray(data)
    if arr.dtype == object:
        raise ValueError("too many dimensions or ragged nested sequence: srcgrad.tensor needs a rectangular "
                         "list of numbers")
    if arr.dtype.kind == "f":
        return D.get_default_dtype() if not isinstance(data, (np.ndarray, np.generic)) else D.from_numpy_dtype(arr.dtype)
    if arr.dtype.kind in "iu":
        return D.int64 if not isinstance(data, (np.ndarray, np.generic)) else D.from_numpy_dtype(arr.dtype)
    if arr.dtype.kind == "b":
        return D.bool_
    if arr.dtype == D.bfloat16.np:  # (an ml_dtypes array: the values of a bfloat16 tensor, a jnp.bfloat16 array)
        return D.bfloat16
    raise TypeError(f"Could not infer dtype of {type(data).__name__} (numpy kind {arr.dtype.kind!r}); "
                    "srcgrad.tensor takes numbers, nested lists of numbers, NumPy arrays or tensors")


def _holds_tensor(data: Any) -> bool:
    """Whether a nested list or tuple has a tensor anywhere in it."""
    if not isinstance(data, (list, tuple)):
        return False
    for d in data:
        if isinstance(d, Tensor) or (isinstance(d, (list, tuple)) and _holds_tensor(d)):
            return True
    return False


def _holds_numpy(data: Any) -> bool:
    """Whether a nested list or tuple has a NumPy scalar or array, or a range, anywhere in it."""
    for d in data:
        if isinstance(d, (np.generic, np.ndarray, range)) or (isinstance(d, (list, tuple)) and _holds_numpy(d)):
            return True
    return False


def _as_lists(data: Any) -> Any:
    """Nested data with its ranges and arrays as lists (NumPy builds an array from those)."""
    if isinstance(data, (list, tuple, range)):
        return [_as_lists(d) for d in data]
    if isinstance(data, np.ndarray):
        return data.tolist() if data.dtype != object else data
    return data


def _nested_dtype(data: Any) -> D.dtype:
    """PyTorch's inference over a sequence: the promotion of every element's type, a tensor's being
    its dtype and a Python number's that of a tensor made from it (``[half_t, 1.0]`` is float32,
    ``[half_t, 1]`` float16, ``[int_t, 1.5]`` float32); a NumPy scalar's or array's is its own."""
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.generic, np.ndarray)):
        return D.from_numpy_dtype(data.dtype)
    if isinstance(data, (list, tuple, range)):
        out = None
        for d in data:
            dt = _nested_dtype(d)
            out = dt if out is None else D.promote(out, dt)
        return D.get_default_dtype() if out is None else out
    return _infer_dtype(data)


def _tensor_scalars(data: Any, depth: int, ndim: int, warned: list) -> Any:
    """``data`` with each tensor replaced by its values: a Python number where the sizes (read along
    the first elements, as PyTorch's) say a number goes, which needs a one-element tensor, else the
    nested list of its values. PyTorch's errors where an element does not fit those sizes; ``warned``
    gets an entry for each tensor that requires grad."""
    if isinstance(data, Tensor):
        if data._node.requires_grad:
            warned.append(True)
        values = np.asarray(data.detach()._value())
        if depth < ndim:
            if not values.ndim:
                raise TypeError("not a sequence")
            return values.tolist()
        if values.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return values.reshape(()).item()
    if isinstance(data, (list, tuple)):
        if depth >= ndim:
            raise TypeError(f"must be real number, not {type(data).__name__}")
        return [_tensor_scalars(d, depth + 1, ndim, warned) for d in data]
    if depth < ndim:
        raise TypeError("not a sequence")
    return data


def _nested_ndim(data: Any) -> int:
    """How many dims nested data has, read along the first elements (a tensor there ends it)."""
    ndim = 0
    while isinstance(data, (list, tuple)):
        ndim += 1
        if not data:
            break
        data = data[0]
    return ndim


_COPY_CONSTRUCT = ("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                   "sourceTensor.detach().clone().requires_grad_(True), rather than {}(sourceTensor).")


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A leaf tensor copied from ``data`` (numbers, nested lists, NumPy or JAX arrays, tensors)."""
    if isinstance(data, Tensor):
        warnings.warn(_COPY_CONSTRUCT.format("torch.tensor"), UserWarning, stacklevel=2)
    return _tensor(data, dtype, device, requires_grad)


def _tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``tensor`` without the copy-construct warning (srcgrad's own conversions)."""
    if isinstance(data, Tensor):
        data = np.asarray(data.detach()._value())
    elif isinstance(data, jax.Array):
        dt = D.as_dtype(dtype) if dtype is not None else D.from_numpy_dtype(data.dtype)
        return from_value(data.astype(dt.np), dt, requires_grad)
    if _holds_tensor(data):  # (values copied: the result is a new leaf, as PyTorch's)
        if dtype is None:
            dtype = _nested_dtype(data)
        warned: list = []
        data = _tensor_scalars(data, 0, _nested_ndim(data), warned)
        if warned:  # (once a call: PyTorch warns once)
            warnings.warn("Converting a tensor with requires_grad=True to a scalar may lead to unexpected "
                          "behavior.\nConsider using tensor.detach() first.", UserWarning, stacklevel=3)
    elif isinstance(data, (list, tuple)) and _holds_numpy(data):
        # (NumPy scalars and arrays in a list keep their dtypes, as in PyTorch: [np.float64(1.5), 2.0]
        # is float64; ranges are sequences)
        if any(isinstance(d, np.ndarray) for d in data):
            warnings.warn("Creating a tensor from a list of numpy.ndarrays is extremely slow. Please consider "
                          "converting the list to a single numpy.ndarray with numpy.array() before converting to "
                          "a tensor.", UserWarning, stacklevel=3)
        if dtype is None:
            dtype = _nested_dtype(data)
        data = _as_lists(data)
    if isinstance(data, str):
        raise TypeError("new(): invalid data type 'str'")
    if data is None:
        raise RuntimeError("Could not infer dtype of NoneType")
    try:
        dt = D.as_dtype(dtype) if dtype is not None else _infer_dtype(data)
        # (a copy: JAX's CPU buffers may alias an aligned NumPy array, and changing the array
        # afterwards must not change the tensor, as PyTorch's tensor()/from_numpy() copies do not)
        arr = np.array(data, dtype=dt.np)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"could not make a tensor from this data: {e}") from None
    dev = _device_arg(device)
    value = META_VALUE if dev is META else jax.device_put(arr, dev.jax)
    node = ir.value_node(value, arr.shape, dt, dev)
    t = wrap(node)
    ir.set_owner(node, t)
    if requires_grad:
        if not dt.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        t.requires_grad_(True)
    return t


# The device of factory functions given none (``srcgrad.set_default_device``).
_default_device: device = CPU


def _device_arg(dev: Any) -> device:
    if dev is None:
        return _default_device
    d = device(dev)
    if d.type == "cuda":
        d.jax  # noqa: B018 - (no GPU: PyTorch's error here, at the user's line, not when computed)
    return d.placed


def _creation(op: str, inputs: tuple, attrs: tuple, shape: tuple, dtype: D.dtype, dev: Any,
              requires_grad: bool, literal: bool = False, generator: Any = None) -> Tensor:
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(shape)}")
    d = _device_arg(dev)
    nodes = tuple(scalar_node(v, literal) for v in inputs)
    node = ir.new_node(op, nodes, attrs, shape, dtype, d, False)
    t = wrap(node)
    ir.set_owner(node, t)
    if requires_grad:
        t.requires_grad_(True)
    if tracing.ACTIVE is not None and op in ("rand", "randn", "randint", "bernoulli"):
        tracing.ACTIVE.note_rng(nodes[-2], nodes[-1], generator)
    return t


def _size_kwarg(name: str, size: tuple, kw: dict) -> tuple:
    """A factory's shape, given as ``*size`` or as ``size=`` (PyTorch takes both; ``layout``,
    ``pin_memory`` and ``memory_format`` are accepted and mean nothing for srcgrad's dense tensors)."""
    for key in ("layout", "pin_memory", "memory_format"):
        kw.pop(key, None)
    if "size" in kw:
        if size:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        size = (kw.pop("size"),)
    if kw:
        raise TypeError(f"{name}() got an unexpected keyword argument '{next(iter(kw))}'")
    return size


def _number_arg(x: Any) -> Any:
    """A factory's number argument as a Python number: a one-element tensor or a NumPy scalar
    stands for its value, as in PyTorch (``arange(torch.tensor(3))``, ``eye(np.int64(2))``)."""
    if isinstance(x, Tensor):
        if x.numel() != 1:
            raise RuntimeError(f"a Tensor with {x.numel()} elements cannot be converted to Scalar")
        return x.item()
    if isinstance(x, np.generic):
        return x.item()
    return x


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, _literal: bool = False) -> Tensor:
    shape = _shape_arg((size,) if isinstance(size, int) else tuple(size))
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(shape)}")
    fill_value = _number_arg(fill_value)
    if not isinstance(fill_value, (int, float, bool)):
        raise TypeError(f"full(): argument 'fill_value' (position 2) must be Number, not {type(fill_value).__name__}")
    if dtype is None:
        dtype = D.bool_ if isinstance(fill_value, bool) else D.int64 if isinstance(fill_value, int) \
            else D.get_default_dtype()
    dt = D.as_dtype(dtype)
    return _creation("full", (fill_value,), (shape, dt), shape, dt, device, requires_grad, _literal)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    size = _size_kwarg("zeros", size, kw)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return full(_shape_arg(size), False if dt is D.bool_ else 0, dtype=dt, device=device,
                requires_grad=requires_grad, _literal=True)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    size = _size_kwarg("ones", size, kw)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return full(_shape_arg(size), True if dt is D.bool_ else 1, dtype=dt, device=device,
                requires_grad=requires_grad, _literal=True)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False, **kw: Any) -> Tensor:
    size = _size_kwarg("empty", size, kw)
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


class memory_format:  # noqa: N801 - PyTorch's name
    """``torch.memory_format``: accepted where PyTorch takes one; srcgrad's layouts are XLA's own."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")


def zeros_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False, *,
               memory_format: Any = None, layout: Any = None) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False, *,
              memory_format: Any = None, layout: Any = None) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, *, memory_format: Any = None, layout: Any = None) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False, *,
               memory_format: Any = None, layout: Any = None) -> Tensor:
    return zeros_like(t, dtype, device, requires_grad)


def _random(op: str, size: tuple, dtype: Any, device: Any, requires_grad: bool, extra: tuple = (),
            generator: Any = None) -> Tensor:
    from .random import generator_of
    gen = generator_of(generator, op)
    shape = _shape_arg(size)
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if op in ("rand", "randn") and not dt.is_floating_point:
        raise RuntimeError(f"\"{op}\" not implemented for '{dt.name.title()}'")
    return _creation(op, gen.next_key(), extra + (shape, dt), shape, dt, device, requires_grad, generator=gen)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          generator: Any = None, **kw: Any) -> Tensor:
    size = _size_kwarg("randn", size, kw)
    return _random("randn", size, dtype, device, requires_grad, generator=generator)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         generator: Any = None, **kw: Any) -> Tensor:
    size = _size_kwarg("rand", size, kw)
    return _random("rand", size, dtype, device, requires_grad, generator=generator)


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = None, device: Any = None,
            generator: Any = None) -> Tensor:
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint() received an invalid combination of arguments - got (int), but expected one of: "
                        "(int high, tuple of ints size, ...) or (int low, int high, tuple of ints size, ...)")
    if not isinstance(size, (tuple, list)):  # (Size is a tuple)
        raise TypeError(f"randint(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    return _random("randint", tuple(size), dtype or D.int64, device, False, (int(low), int(high)), generator)


def randn_like(t: Tensor, dtype: Any = None, *, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None, layout: Any = None) -> Tensor:
    return randn(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, *, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None, layout: Any = None) -> Tensor:
    return rand(t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    # a permutation from srcgrad's own generator, so manual_seed reproduces it
    return tensor(np.argsort(np.asarray(rand(n, generator=generator)._value())), dtype=dtype or D.int64,
                  device=device, requires_grad=requires_grad)


def arange(start: Any = None, end: Any = None, step: Any = 1, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    elif start is None:
        start = 0
    if end is None:
        raise TypeError("arange() missing required argument 'end'")
    start, end, step = _number_arg(start), _number_arg(end), _number_arg(step)
    if not all(math.isfinite(v) for v in (start, end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        dtype = D.int64 if all(isinstance(v, int) for v in (start, end, step)) else D.get_default_dtype()
    dt = D.as_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    return _creation("arange", (), (start, end, step, (n,), dt), (n,), dt, device, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    start, end, steps = _number_arg(start), _number_arg(end), _number_arg(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _creation("linspace", (), (start, end, int(steps), (int(steps),), dt), (int(steps),), dt, device,
                     requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    n = _number_arg(n)
    m = n if m is None else _number_arg(m)
    if n < 0 or m < 0:
        raise RuntimeError(f"{'n' if n < 0 else 'm'} must be greater or equal to 0, got {n if n < 0 else m}")
    dt = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _creation("eye", (), (n, m, (n, m), dt), (n, m), dt, device, requires_grad)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor with the array's dtype and a copy of its values (PyTorch's shares the array's
    memory; JAX's buffers are immutable, so srcgrad cannot follow later changes of the array)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dt = D.from_numpy_dtype(arr.dtype)
    return tensor(arr, dtype=dt)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return _tensor(data, dtype=dtype, device=device)


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``torch.asarray``: ``obj`` as a tensor; a tensor itself when no dtype, device or copy
    asks for another (NumPy arrays are copied: srcgrad's tensors never share their memory)."""
    if isinstance(obj, Tensor):
        out = obj
        if dtype is not None or device is not None:
            out = out.to(dtype=dtype, device=device)
        if copy and out is obj:
            out = obj.clone()
    else:
        if copy is False and not isinstance(obj, np.ndarray):
            raise ValueError("can't alias a Python sequence as a tensor: copy=False needs a tensor or an array")
        out = _tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        out = out.detach().requires_grad_() if not out.is_leaf or out is obj else out.requires_grad_()
    return out


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0, requires_grad: bool = False) -> Tensor:
    """``torch.frombuffer``: a 1-D tensor of ``dtype`` read from a bytes-like object (copied)."""
    dt = D.as_dtype(dtype)
    size = len(memoryview(buffer).cast("B"))
    if offset < 0 or offset >= size and size:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({size} bytes) minus 1")
    if count == 0 or count < -1:
        raise ValueError(f"both buffer length ({size}) and count ({count}) must not be 0")
    if count == -1 and (size - offset) % dt.itemsize:
        raise ValueError(f"buffer length ({size - offset} bytes) after offset ({offset} bytes) must be a multiple "
                         f"of element size ({dt.itemsize})")
    values = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
    return _tensor(values.copy(), dtype=dt, requires_grad=requires_grad)


def matmul(a: Any, b: Any) -> Tensor:
    a = a if isinstance(a, Tensor) else tensor(a)
    b = b if isinstance(b, Tensor) else tensor(b)
    ra, rb = len(a._node.shape), len(b._node.shape)
    # (PyTorch's matmul folds batches into a bmm and views the result: UnsafeViewBackward0,
    # 3-d @ 3-d included; torch.bmm itself is BmmBackward0)
    name = "matmul" if ra == rb == 2 else "dot" if ra == rb == 1 else "mv" if (ra, rb) == (2, 1) else "matmul_nd"
    return record(name, (a, b), (_precision(),))


def _precision() -> str:
    return "highest" if _matmul_precision[0] == "highest" else "default"


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_sublists(args: tuple) -> tuple[str, tuple]:
    """PyTorch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as an equation and its operands
    (subscripts 0-25 are a-z, 26-51 A-Z; ``...`` is Ellipsis)."""
    def letters(sub: Any) -> str:
        out = ""
        for s in sub:
            if s is Ellipsis:
                out += "..."
            elif isinstance(s, int) and 0 <= s < 52:
                out += _EINSUM_LETTERS[s]
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
        return out

    operands, subs = args[0:len(args) - len(args) % 2:2], args[1::2]
    equation = ",".join(letters(s) for s in subs[:len(operands)])
    if len(args) % 2:
        equation += "->" + letters(args[-1])
    return equation, operands


def einsum(equation: Any, *operands: Any) -> Tensor:
    """``torch.einsum``: ellipses and an implicit output are written out before recording
    (one op, whose gradient is an einsum per operand)."""
    if not isinstance(equation, str):  # (the sublist form)
        equation, operands = _einsum_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    eq = equation.replace(" ", "")
    ins, arrow, res = eq.partition("->")
    subs = ins.split(",")
    if len(subs) != len(operands):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if len(operands) > len(subs) else
                         "einsum(): fewer operands were provided than specified in the equation")
    used = set("".join(subs) + res) - {"."}
    for c in res.replace("...", ""):
        if c not in ins:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
        if res.count(c) > 1:
            raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    free = [c for c in _EINSUM_LETTERS if c not in used]
    ell = 0
    for sub, x in zip(subs, operands):
        if "..." in sub:
            ell = max(ell, x.dim() - (len(sub) - 3))
    ell_letters = "".join(free[:ell])
    full = []
    for sub, x in zip(subs, operands):
        if "..." in sub:
            k = x.dim() - (len(sub) - 3)
            sub = sub.replace("...", ell_letters[ell - k:])
        if len(sub) != x.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(sub)}) does not match "
                               f"the number of dimensions ({x.dim()}) for operand {len(full)}"
                               + ("" if "..." in eq else " and no ellipsis was given"))
        full.append(sub)
    if arrow:
        out = res.replace("...", ell_letters)
    else:
        letters = "".join(full)
        out = ell_letters + "".join(sorted(c for c in set(letters) - set(ell_letters) if letters.count(c) == 1))
    equation = ",".join(full) + "->" + out
    for x in operands[1:]:
        if x.dtype is not operands[0].dtype:  # (PyTorch's einsum does not promote)
            from .ops import TORCH_TYPE_NAMES as NAMES
            raise RuntimeError(f"expected scalar type {NAMES[operands[0].dtype.name]} but found "
                               f"{NAMES[x.dtype.name]}")
    name = "einsum"
    if len(operands) == 1 and len(set(full[0])) == len(full[0]):
        name = "einsum_permute" if sorted(out) == sorted(full[0]) else "einsum_sum"
    return record(name, tuple(operands), (equation,))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """``torch.cdist`` (``p=2`` only): the distance of every row of ``x1`` to every row of ``x2``."""
    if p != 2:
        raise NotImplementedError("srcgrad: cdist supports p=2 only")
    return record("cdist", (x1, x2))


def xlogy(input: Any, other: Any) -> Tensor:
    if isinstance(input, _Number):
        return record("xlogy_scalar_self", (input, other))
    return input.xlogy(other) if isinstance(input, Tensor) else tensor(input).xlogy(other)


def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``torch.linalg.vector_norm``: the ``ord``-norm over ``dim`` (all elements when None)."""
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_TORCH_NAMES().get(x.dtype.name, x.dtype.name)}")
    dims = _dims(dim, x.dim())
    if float(ord) == 2:
        return record("norm", (x,), (dims, bool(keepdim)))
    if math.isinf(ord) and x.numel() == 0:  # (max and min have no identity)
        name = "inf" if ord > 0 else "-inf"
        if dim is None:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {name} norm on an empty tensor because the "
                               "operation does not have an identity")
        for d in dims:
            if x.shape[d] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {name} norm on the dimension {d}because "
                                   "this dimension is empty and the operation does not have an identity")
    return record("vector_norm", (x,), (float(ord), dims, bool(keepdim)))


def matrix_norm(x: Tensor, ord: Any = "fro", dim: tuple = (-2, -1), keepdim: bool = False, *,
                dtype: Any = None) -> Tensor:
    """``torch.linalg.matrix_norm``: over the two ``dim``: ``"fro"``, ``"nuc"`` (the sum of the singular
    values), 2 and -2 (the largest and smallest), 1 and -1 (the largest and smallest column sum of
    absolute values), inf and -inf (of row sums)."""
    if x.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if ord not in ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if ord == "fro":
        return vector_norm(x, 2, dim, keepdim, dtype=dtype)
    if dtype is not None:
        x = x.to(dtype)
    d0, d1 = (d % x.dim() for d in dim)
    m = x.movedim((d0, d1), (-2, -1))
    if ord in ("nuc", 2, -2):
        s = linalg_svdvals(m)
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
    else:  # (1: column sums, inf: row sums)
        sums = m.abs().sum(-2 if ord in (1, -1) else -1)
        out = sums.amax(-1) if ord > 0 else sums.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def linalg_norm(x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """``torch.linalg.norm``: vector norms, and the Frobenius norm of matrices."""
    if ord is not None and dim is None and x.dim() not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {x.dim()}D.")
    if isinstance(ord, str) or (ord is not None and (dim is None and x.dim() == 2 or
                                                   isinstance(dim, (tuple, list)) and len(dim) == 2)):
        return matrix_norm(x, ord if ord is not None else "fro", dim if dim is not None else (-2, -1), keepdim,
                           dtype=dtype)
    return vector_norm(x, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


_WHERE_UINT8_WARNED = False


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    if input is None and other is None:
        return tuple(tensor(i) for i in np.nonzero(np.asarray(condition._value())))
    if isinstance(condition, Tensor) and condition._node.dtype is D.uint8:
        global _WHERE_UINT8_WARNED
        if not _WHERE_UINT8_WARNED:  # (PyTorch still accepts a uint8 mask, warning once a process)
            _WHERE_UINT8_WARNED = True
            warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed "
                          "in a future version of PyTorch. Use a boolean condition instead.", UserWarning,
                          stacklevel=3)  # (the user's line, above srcgrad.where's out= wrapper or Tensor.where)
        condition = condition != 0
    return record("where", (condition, input, other))


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    if axis is not None:  # (NumPy's name, which PyTorch accepts)
        dim = axis
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not Tensor")
    tensors = [t for t in tensors if not (t.dim() == 1 and t.shape[0] == 0)] or list(tensors)[:1]
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    for k, t in enumerate(tensors):
        if isinstance(t, Tensor) and t.dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {k}) cannot be concatenated")
    d = _dim(dim, tensors[0].dim())
    return record("cat", tuple(tensors), (d,))


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    d = _dim(dim, tensors[0].dim() + 1)
    return record("stack", tuple(tensors), (d,))


def _atleast(n: int, tensors: tuple) -> Any:
    """``atleast_{n}d``: one tensor in, one out; several (or one sequence) in, a tuple out."""
    many = len(tensors) != 1 or isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = []
    for t in items:
        t = t if isinstance(t, Tensor) else tensor(t)
        d = t.dim()
        if d >= n:
            out.append(t)  # (the tensor itself, as PyTorch)
        elif d == 0:
            out.append(t.reshape((1,) * n))  # ViewBackward0
        elif n == 3 and d == 1:
            out.append(t.unsqueeze(0).unsqueeze(-1))
        else:  # (1-d to 2-d: a new first dim; 2-d to 3-d: a new last one)
            out.append(t.unsqueeze(0) if n == 2 else t.unsqueeze(-1))
    return tuple(out) if many else out[0]


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dim (0-dim ones as shape ``(1,)``)."""
    return _atleast(1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dims (``(n,)`` becomes ``(1, n)``)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dims (``(n,)`` becomes ``(1, n, 1)``, ``(m, n)`` becomes ``(m, n, 1)``)."""
    return _atleast(3, tensors)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """``torch.tensordot``: contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b``,
    or the dims listed in the pair ``dims`` (written as one einsum)."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
        if isinstance(da, Tensor):
            da, db = da.tolist(), db.tolist()
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [_dim(d, a.dim()) for d in da]
    db = [_dim(d, b.dim()) for d in db]
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    sa = [next(letters) for _ in range(a.dim())]
    sb = [next(letters) for _ in range(b.dim())]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                               f"and second has size {b.shape[j]} in dim {j}")
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in da] + [c for k, c in enumerate(sb) if k not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    return input.addmm(mat1, mat2, beta=beta, alpha=alpha)


def polygamma(n: int, input: Tensor) -> Tensor:
    return input.polygamma(n)


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return input.allclose(other, rtol, atol, equal_nan)


def isclose(input: Tensor, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    return input.isclose(other, rtol, atol, equal_nan)


def equal(input: Tensor, other: Tensor) -> bool:
    return input.equal(other)


# -- torch.linalg (srcgrad/derivatives.py holds each derivative) ---------------------------------


def _linalg_float(opname: str, a: Any) -> None:
    if isinstance(a, Tensor) and a.dim() >= 2 and not a.dtype.is_floating_point:
        raise RuntimeError(f"{opname}: Expected a floating point or complex tensor as input. Got "
                           f"{_TORCH_NAMES().get(a.dtype.name, a.dtype.name)}")


def linalg_inv(A: Tensor) -> Tensor:  # noqa: N803 - (A, B, UPLO: PyTorch's argument names)
    """``torch.linalg.inv``: the inverse of each square matrix (a singular one gives inf/NaN: not checked)."""
    return record("linalg_inv", (A,))


def linalg_det(A: Tensor) -> Tensor:  # noqa: N803
    return record("linalg_det", (A,))


def linalg_slogdet(A: Tensor) -> Any:  # noqa: N803
    """``(sign, logabsdet)`` of the determinant of each square matrix."""
    return return_types.linalg_slogdet(record("slogdet_sign", (A,)), record("slogdet_logabs", (A,)))


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:  # noqa: N803
    """PyTorch's rule: B is a batch of vectors where it is 1-D, or has A's shape without the last dim."""
    return B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def linalg_solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:  # noqa: N803
    """X with A X = B (or X A = B where not ``left``)."""
    return record("linalg_solve", (A, B), (bool(left) and _is_vector_rhs(A, B), bool(left)))


def linalg_solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,  # noqa: N803
                            unitriangular: bool = False) -> Tensor:
    """X with A X = B (or X A = B), reading only A's upper or lower triangle (and its diagonal
    as ones where ``unitriangular``)."""
    return record("solve_triangular", (A, B), (bool(upper), bool(left), bool(unitriangular)))


def linalg_cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """The Cholesky factor L (A = L L^T), or U = L^T; only that triangle of A is read. A matrix that
    is not positive-definite gives NaNs (PyTorch raises: srcgrad does not look at values)."""
    return record("cholesky", (A,), (bool(upper),))


def linalg_qr(A: Tensor, mode: str = "reduced") -> Any:  # noqa: N803
    """``(Q, R)``: ``mode="complete"`` gives a square Q (m x m) and R m x n; ``mode="r"`` an empty Q.
    As in PyTorch, R from ``mode="r"`` and a tall matrix's complete factors have no derivative
    (the backward raises PyTorch's error)."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    if mode == "complete" and A.dim() >= 2 and A.shape[-2] <= A.shape[-1]:
        mode = "reduced"  # (the same factors: one program for both)
    return return_types.linalg_qr(record("linalg_qr", (A,), (0, mode)), record("linalg_qr", (A,), (1, mode)))


def _uplo(UPLO: str) -> bool:  # noqa: N803
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO == "U"


def linalg_eigh(A: Tensor, UPLO: str = "L") -> Any:  # noqa: N803
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, read from one triangle."""
    up = _uplo(UPLO)
    return return_types.linalg_eigh(record("eigh", (A,), (up, 0)), record("eigh", (A,), (up, 1)))


def linalg_eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    return record("eigh", (A,), (_uplo(UPLO), 0))


def linalg_svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None) -> Any:  # noqa: N803
    """``(U, S, Vh)``. Full U or Vh of a non-square matrix (``full_matrices=True``, PyTorch's
    default) have no derivative, as in PyTorch."""
    full = bool(full_matrices) and A.dim() >= 2 and A.shape[-2] != A.shape[-1]
    return return_types.linalg_svd(*(record("svd", (A,), (k, full)) for k in range(3)))


def linalg_svdvals(A: Tensor, *, driver: Any = None) -> Tensor:  # noqa: N803
    return record("svd", (A,), (1, False))


def default_rtol(A: Tensor) -> float:  # noqa: N803
    """PyTorch's default relative tolerance of pinv and matrix_rank: ``max(m, n)`` times the
    dtype's machine epsilon."""
    return max(A.shape[-2:]) * float(ml_dtypes.finfo(A.dtype.np).eps)


def _pinv_mixed_error(atol: Any, rtol: Any) -> TypeError:
    """PyTorch's overload error where one tolerance is a tensor and the other a number."""
    def kind(v: Any) -> str:
        return "Tensor" if isinstance(v, Tensor) else type(v).__name__
    return TypeError(f"linalg_pinv() received an invalid combination of arguments - got (Tensor, rtol={kind(rtol)}, "
                     f"atol={kind(atol)}), but expected one of:\n"
                     " * (Tensor input, *, Tensor atol = None, Tensor rtol = None, bool hermitian = False, "
                     "Tensor out = None)\n"
                     " * (Tensor input, *, float atol = None, float rtol = None, bool hermitian = False, "
                     "Tensor out = None)\n"
                     " * (Tensor input, Tensor rcond, bool hermitian = False, *, Tensor out = None)\n"
                     " * (Tensor input, float rcond, bool hermitian = False, *, Tensor out = None)\n")


def linalg_pinv(A: Tensor, rcond: Any = None, hermitian: bool = False, *, atol: Any = None,  # noqa: N803
                rtol: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse: singular values (eigenvalues' magnitudes where ``hermitian``)
    at most ``max(atol, rtol * largest)`` are dropped, as PyTorch's. ``rtol`` defaults to
    ``max(m, n) * eps``, or to 0 where ``atol`` is given and positive; ``rcond`` is the old name of
    ``rtol``. Tolerances are numbers or tensors (broadcast over the batch); only A gets a gradient."""
    if rcond is not None:
        rtol = rcond
    if atol is not None and rtol is not None and isinstance(atol, Tensor) != isinstance(rtol, Tensor):
        raise _pinv_mixed_error(atol, rtol)
    if A.dim() < 2 or A.dtype not in (D.float32, D.float64):
        name = _TORCH_NAMES().get(A.dtype.name, A.dtype.name)
        raise RuntimeError(f"linalg.pinv({name}{{{list(A.shape)}}}): expected a tensor with 2 or more dimensions "
                           "of float, double, cfloat or cdouble types")
    default = default_rtol(A)
    if rtol is None:
        if isinstance(atol, Tensor):  # (per element, as PyTorch's)
            with _NoGrad():
                rtol = where(atol.detach() > 0, 0.0, full((), default, dtype=D.float64, device=A.device))
        else:
            rtol = 0.0 if atol is not None and atol > 0 else default
    tols = [t.detach() if isinstance(t, Tensor) else float(t) for t in (0.0 if atol is None else atol, rtol)]
    return record("pinv", (A, *tols), (bool(hermitian),))


def linalg_lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> Any:  # noqa: N803
    """``(solution, residuals, rank, singular_values)`` as PyTorch's default driver (gelsy) gives
    them: the residuals and singular values empty. The solution is ``pinv(A) @ B``."""
    if A.dim() >= 2 and B.dim() < A.dim() - 1:
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    x = record("lstsq", (A, B), (B.dim() == A.dim() - 1,))
    with _NoGrad():
        rank = record("matrix_rank", (A.detach(),), (None, rcond, False))
        empty = zeros(0, dtype=A.dtype, device=A.device)
    return return_types.linalg_lstsq(x, empty, rank, empty.clone())


def _lu_pivot(opname: str, A: Tensor, pivot: bool) -> None:  # noqa: N803
    if not pivot:  # (PyTorch factorises without pivoting only on CUDA, with MAGMA or cuSOLVER)
        if A.device.type == "cpu":
            raise RuntimeError(f"{opname}: LU without pivoting is not implemented on the CPU")
        raise NotImplementedError(f"srcgrad: {opname}(pivot=False)")


def linalg_lu(A: Tensor, *, pivot: bool = True) -> Any:  # noqa: N803
    """``(P, L, U)`` with A = P L U (partial pivoting, as LAPACK's getrf): L unit lower triangular
    (m x k), U upper (k x n), k = min(m, n). L and U are differentiable (LinalgLuBackward0); P is not."""
    _lu_pivot("linalg.lu_factor", A, pivot)
    with _NoGrad():
        p = record("linalg_lu", (A.detach(),), (0,))
    return return_types.linalg_lu(p, record("linalg_lu", (A,), (1,)), record("linalg_lu", (A,), (2,)))


def linalg_lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False) -> Any:  # noqa: N803
    """``(LU, pivots, info)``: L's strict lower part and U packed in one matrix, LAPACK's 1-based row
    swaps (int32) and info (int32: the 1-based position of the first exact zero on U's diagonal, else 0).
    ``check_errors`` is accepted and not acted on (srcgrad does not look at values on its own)."""
    _lu_pivot("linalg.lu_factor", A, pivot)
    return return_types.linalg_lu_factor_ex(*(record("lu_factor", (A,), (part,)) for part in range(3)))


def linalg_lu_factor(A: Tensor, *, pivot: bool = True) -> Any:  # noqa: N803
    """``(LU, pivots)`` of ``lu_factor_ex``. PyTorch raises for a singular matrix; srcgrad does not
    look at values (``lu_factor_ex``'s info says where U's diagonal has a zero)."""
    _lu_pivot("linalg.lu_factor", A, pivot)
    return return_types.linalg_lu_factor(record("lu_factor", (A,), (0,)), record("lu_factor", (A,), (1,)))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,  # noqa: N803
              unpack_pivots: bool = True) -> Any:
    """``(P, L, U)`` from ``linalg.lu_factor``'s results (empty tensors for the parts not unpacked,
    as PyTorch); L and U are differentiable (LuUnpackBackward0)."""
    empty = zeros(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_pivots:
        with _NoGrad():
            p = record("lu_unpack", (LU_data.detach(), LU_pivots), (0,))
    else:
        p = empty
    if not unpack_data:
        return return_types.lu_unpack(p, empty, empty.clone())
    return return_types.lu_unpack(p, record("lu_unpack", (LU_data, LU_pivots), (1,)),
                                  record("lu_unpack", (LU_data, LU_pivots), (2,)))


def linalg_lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,  # noqa: N803
                    adjoint: bool = False) -> Tensor:
    """X with A X = B (A^H X = B where ``adjoint``; X A = B, X A^H = B where not ``left``), A given by
    ``linalg.lu_factor``'s ``(LU, pivots)``; batches broadcast. Differentiable in LU and B."""
    return record("lu_solve", (LU, pivots, B), (bool(left), bool(adjoint)))


def linalg_matrix_exp(A: Tensor) -> Tensor:  # noqa: N803
    return record("matrix_exp", (A,))


def linalg_matrix_power(A: Tensor, n: int) -> Tensor:  # noqa: N803
    """A to the integer power ``n`` by repeated squaring (the inverse's powers for ``n < 0``), as
    PyTorch's composite."""
    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        if A.dim() < 2:
            raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:  # (identities written over a copy, as PyTorch's: CopyBackwards, a zero gradient)
        return A.clone().copy_(eye(A.shape[-1], dtype=A.dtype, device=A.device).expand(A.shape))
    if n < 0:
        A, n = linalg_inv(A), -n  # noqa: N806
    if n == 1:
        return A.clone() if A._node.op != "linalg_inv" else A
    result = None
    z = A
    while n:  # (the binary digits of n, low first, as PyTorch's)
        if n & 1:
            result = z if result is None else result @ z
        n >>= 1
        if n:
            z = z @ z
    return result


def linalg_matrix_rank(A: Tensor, tol: Any = None, hermitian: bool = False, *, atol: Any = None,  # noqa: N803
                       rtol: Any = None) -> Tensor:
    """The number of singular values above ``max(atol, rtol * largest)`` (int64, no gradient); ``tol``
    (PyTorch's older form) is ``atol`` with ``rtol=0``. A tensor ``atol``/``rtol`` holds one per matrix."""
    if tol is not None:
        atol, rtol = tol, 0.0 if rtol is None else rtol
    if isinstance(atol, Tensor) and atol.numel() != 1 or isinstance(rtol, Tensor) and rtol.numel() != 1:
        with _NoGrad():
            s = linalg_eigvalsh(A).abs() if hermitian else linalg_svdvals(A)
            if rtol is None:
                from .type_info import finfo
                rtol = 0.0 if atol is not None else max(A.shape[-2:]) * finfo(s.dtype).eps
            largest = s.amax(-1, keepdim=True) if s.shape[-1] else zeros(s.shape[:-1] + (1,), dtype=s.dtype)
            bound = [(t if isinstance(t, Tensor) else tensor(float(t or 0.0), dtype=s.dtype)) for t in (atol, rtol)]
            bound = [t.unsqueeze(-1) if t.dim() else t for t in bound]
            return (s > bound[0].maximum(bound[1] * largest)).sum(-1)
    return record("matrix_rank", (A,), (None if atol is None else float(atol), None if rtol is None else float(rtol),
                                        bool(hermitian)))


def linalg_cond(A: Tensor, p: Any = None) -> Tensor:  # noqa: N803
    """The condition number in the 2-norm (``p=None``, 2, -2), or ``norm(A) * norm(inv(A))`` for
    ``"fro"``, ``"nuc"``, inf, -inf, 1, -1."""
    if p in (None, 2, -2):
        s = linalg_svdvals(A)
        big, small = s[..., 0], s[..., -1]
        return big / small if p != -2 else small / big

    def norm(m: Tensor) -> Tensor:
        if p == "fro":
            return vector_norm(m, 2, (-2, -1))
        if p == "nuc":
            return linalg_svdvals(m).sum(-1)
        if p in (math.inf, -math.inf):
            rows = m.abs().sum(-1)
            return rows.amax(-1) if p > 0 else rows.amin(-1)
        if p in (1, -1):
            cols = m.abs().sum(-2)
            return cols.amax(-1) if p > 0 else cols.amin(-1)
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    return norm(A) * norm(linalg_inv(A))


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """The index at which each value of ``input`` would be inserted into ``sorted_sequence``'s last
    dim keeping it sorted (after equal values where ``right`` or ``side="right"``)."""
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    values = input if isinstance(input, Tensor) else tensor(input, dtype=sorted_sequence.dtype)
    seq = sorted_sequence if sorter is None else sorted_sequence.gather(-1, sorter)
    return record("searchsorted", (seq, values), (bool(right), bool(out_int32)))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value of ``input`` among the sorted 1-D ``boundaries``."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    values = input if isinstance(input, Tensor) else tensor(input, dtype=boundaries.dtype)
    return record("searchsorted", (boundaries, values), (bool(right), bool(out_int32)))
