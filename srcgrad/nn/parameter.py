"""``nn.Parameter``: a tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as D
from .. import ir
from ..printing import format_tensor
from ..tensor import Tensor, _pickled_value, _share, _unpickle_tensor, empty, zeros


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and is registered when assigned to a ``Module``.

    ``Parameter(data)`` is a new leaf sharing ``data``'s storage and version counter (as in
    PyTorch, an in-place change of either shows in the other); in-place updates
    (``p.sub_(...)`` under ``no_grad``, ``p.data = ...``) keep the same object.
    """

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = zeros(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter expects a Tensor as data, got {type(data).__name__}")
        src = data.detach()
        p = object.__new__(cls)
        p._node = src._node
        p._grad = None
        p._version = 0
        p._base = None
        p._view = None
        p._views = None
        ir.set_owner(p._node, p)
        _share(p, data, own_version=False)
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __repr__(self) -> str:
        n = self._node
        if n.device.type == "meta":
            return "Parameter containing:\n" + Tensor.__repr__(self)
        return format_tensor(np.asarray(self.detach()._value()), dtype_name=n.dtype.name,
                             default_dtype_name=D.get_default_dtype().name,
                             device=None if n.device.type == "cpu" else str(n.device),
                             requires_grad=n.requires_grad, prefix="Parameter containing:\ntensor(")

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(self.detach().clone(), self.requires_grad)  # (no .grad: PyTorch's leaves it behind)
        memo[id(self)] = out
        return out

    def __copy__(self) -> Parameter:
        return Parameter(self.detach(), self.requires_grad)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """Pickled as a tensor that loads back as this class of parameter (PyTorch's ``_rebuild_parameter``)."""
        return _unpickle_parameter, (type(self), *_pickled_value(self), self.__dict__ or None)


_UNINITIALIZED_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
                        "in `load_state_dict` when trying to load an uninitialized parameter into an initialized "
                        "one. Call `forward` to initialize the parameters before accessing their attributes.")


class UninitializedTensorMixin:
    """A parameter or buffer whose shape a lazy module infers at its first forward: ``materialize(shape)``
    gives it storage of that shape and turns it into ``cls_to_become`` (``Parameter`` or ``Tensor``)."""

    __slots__ = ()  # (so that a materialised buffer can become a plain Tensor)
    cls_to_become: type = Tensor

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Storage of ``shape`` (uninitialised values; the lazy module initialises them)."""
        if device is None:
            device = self._node.device
        if dtype is None:
            dtype = self._node.dtype
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.data = empty(*shape, device=device, dtype=dtype)  # type: ignore[attr-defined]
        self.__class__ = self.cls_to_become

    @property
    def shape(self) -> Any:  # type: ignore[override]
        raise RuntimeError(_UNINITIALIZED_SHAPE)

    def size(self, dim: Any = None) -> Any:
        raise RuntimeError(_UNINITIALIZED_SHAPE)

    def share_memory_(self) -> Any:
        raise RuntimeError("Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
                           "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: Any) -> Any:
        return type(self), (self.requires_grad, self._node.device, self._node.dtype)


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A ``Parameter`` of unknown shape (``nn.LazyLinear``'s weight before its first forward)."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> UninitializedParameter:
        return Parameter.__new__(cls, empty(0, device=device, dtype=dtype), requires_grad)  # type: ignore[return-value]

    def __deepcopy__(self, memo: dict) -> UninitializedParameter:
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self._node.device, self._node.dtype)
        return memo[id(self)]


def _unpickle_parameter(cls: type, data: bytes | None, dt: Any, shape: tuple, dev: str, requires_grad: bool,
                        state: dict | None) -> Parameter:
    p = cls(_unpickle_tensor(data, dt, shape, dev, False, None), requires_grad)
    for k, v in (state or {}).items():
        setattr(p, k, v)
    return p


def _alias(cls: type, data: Tensor, requires_grad: bool) -> Any:
    """A new ``cls`` instance sharing ``data``'s storage (as ``Parameter.__new__`` builds one)."""
    src = data.detach()
    t = object.__new__(cls)
    t._node = src._node
    t._grad = None
    t._version = 0
    t._base = None
    t._view = None
    t._views = None
    ir.set_owner(t._node, t)
    _share(t, data, own_version=False)
    if requires_grad:
        t.requires_grad_(True)
    return t


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of unknown shape (``nn.LazyBatchNorm1d``'s running statistics before its first forward)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None) -> UninitializedBuffer:
        return _alias(cls, empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __deepcopy__(self, memo: dict) -> UninitializedBuffer:
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.requires_grad, self._node.device, self._node.dtype)
        return memo[id(self)]


class _BufferMeta(type):
    # ``isinstance(t, Buffer)``: a tensor marked by ``Buffer(...)``, as PyTorch's metaclass decides
    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """``nn.Buffer(data, persistent=True)``: a tensor that a ``Module`` registers as a buffer when assigned
    to one of its attributes (``persistent=False``: left out of ``state_dict``)."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            data = empty(0)
        t = _alias(Tensor, data, data.requires_grad)  # (a plain Tensor, marked: PyTorch's Buffer is one too)
        t.persistent = persistent
        t._is_buffer = True
        return t
