"""PyTorch's storage API over srcgrad's tensors: ``data_ptr``, ``storage_offset``,
``untyped_storage``, ``storage``, ``is_set_to`` and ``as_strided``.

srcgrad's values are immutable XLA arrays, so nothing here is memory. What PyTorch calls one
storage is here a tensor that is not a view (the *root*) with every view taken of it and its
``detach()``/``.data`` aliases: the tensors an in-place change of one of them shows in (see
"views" in tensor.py). A root's address is made up once (the id of the tensor, or of the
first tensor of its alias group), so two tensors share a ``data_ptr`` exactly where PyTorch's
would: a tensor and its ``detach()``, a view at offset 0 and its base. Where an element sits
in its storage is found by replaying the view's steps (the view ops it was taken by) on an
array of positions with NumPy: nothing is recorded or compiled.

Differences from PyTorch: a view keeps its base only weakly, so a view whose base is gone is
its own root (offset 0); the offset of an empty view is 0; ``as_strided`` gathers the
elements it names (its gradient sums over repeated ones, as PyTorch's), but its result is a
copy: in-place changes of it do not reach the input.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import dtypes as D
from .indexing import spec_to_index
from .tensor import Tensor, _strides_of, record, tensor

__all__ = ["TypedStorage", "UntypedStorage", "as_strided"]


# -- where a tensor's elements sit -------------------------------------------------------


def _root_positions(root: Tensor) -> np.ndarray:
    """Each element's position in the root's storage, by its strides (row-major unless the
    root was made with other strides, e.g. ``contiguous(memory_format=channels_last)``)."""
    shape = tuple(root.shape)
    pos = np.zeros(shape, dtype=np.int64)
    for d, (size, stride) in enumerate(zip(shape, _strides_of(root))):
        pos += (np.arange(size, dtype=np.int64) * stride).reshape((-1,) + (1,) * (len(shape) - d - 1))
    return pos


def _index_value(t: Tensor) -> int:
    return int(t.item())


def _apply_step(pos: np.ndarray, step: tuple) -> np.ndarray:
    """The positions of a view's elements, from its parent's, for one recorded view step."""
    how, op, attrs = step[:3]
    if how == "index":
        return pos[spec_to_index(attrs, [_index_value(t) for t in step[3]])]
    if how == "pieces":
        return pos[spec_to_index(attrs[0], [])]
    if how == "reshape":
        shape = attrs[0]
        if op == "expand":
            return np.broadcast_to(pos, shape)
        return pos.reshape(shape)
    if how == "permute":
        return pos.transpose(attrs[0])
    if how == "diagonal":
        offset, d1, d2 = attrs
        return np.diagonal(pos, offset, d1, d2)
    if how == "broadcast":
        return np.broadcast_to(pos, attrs[0])
    return pos  # "same": a view that changes nothing


def _located(t: Tensor) -> tuple[Tensor, np.ndarray]:
    """``(root, positions)``: the tensor whose storage ``t`` shares, and where each element of
    ``t`` sits in it."""
    view = t._view
    base = view[0]() if view is not None else None
    if base is not None:
        root, pos = _located(base)
        for step in view[1]:
            pos = _apply_step(pos, step)
        return root, pos
    held = getattr(t, "_hold", None)
    if isinstance(held, Tensor) and held._base is not None and held._base is t._base and held._view is not None:
        return _located(held)  # (a detach()/.data alias of a view: the view's storage)
    return t, _root_positions(t)


def _address(root: Tensor) -> int:
    """The made-up address of ``root``'s storage: its alias group's when it has one."""
    group = root._base
    if group is None:
        return id(root)
    if group.address is None:
        first = group.members[0][0]() if group.members else None
        group.address = id(first if first is not None else root)
    return group.address


def storage_offset(t: Tensor) -> int:
    """``Tensor.storage_offset()``: the position of ``t``'s first element in its storage, in elements."""
    pos = _located(t)[1]
    return int(pos.flat[0]) if pos.size else 0


def data_ptr(t: Tensor) -> int:
    """``Tensor.data_ptr()``: the made-up address of ``t``'s first element (0 for an empty tensor)."""
    root, pos = _located(t)
    if not pos.size:
        return 0
    return _address(root) + int(pos.flat[0]) * t.element_size()


def is_set_to(t: Tensor, other: Tensor) -> bool:
    """``Tensor.is_set_to(other)``: the same storage, offset, sizes and strides."""
    if not isinstance(other, Tensor):
        raise TypeError(f"is_set_to(): argument 'tensor' (position 1) must be Tensor, not {type(other).__name__}")
    r1, r2 = _located(t)[0], _located(other)[0]
    return (_address(r1) == _address(r2) and t.dtype is other.dtype and tuple(t.shape) == tuple(other.shape)
            and storage_offset(t) == storage_offset(other) and tuple(t.stride()) == tuple(other.stride()))


# -- storages ------------------------------------------------------------------------


def _storage_values(root: Tensor) -> np.ndarray:
    """The root's values in storage order (positions no element covers hold zeros)."""
    pos = _root_positions(root)
    values = root.detach().numpy()
    out = np.zeros(int(pos.max()) + 1 if pos.size else 0, dtype=values.dtype)
    out[pos.ravel()] = values.ravel()
    return out


class UntypedStorage:
    """``Tensor.untyped_storage()``: the bytes of a tensor's storage, read when asked (so they
    show later in-place changes of the tensors sharing it)."""

    def __init__(self, root: Tensor) -> None:
        self._root = root

    @property
    def device(self) -> Any:
        return self._root.device

    def _bytes(self) -> np.ndarray:
        return _storage_values(self._root).view(np.uint8)

    def data_ptr(self) -> int:
        return _address(self._root) if self.nbytes() else 0

    def nbytes(self) -> int:
        pos = _root_positions(self._root)
        return (int(pos.max()) + 1) * self._root.element_size() if pos.size else 0

    size = nbytes

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def tolist(self) -> list:
        return self._bytes().tolist()

    def __getitem__(self, index: Any) -> Any:
        got = self._bytes()[index]
        return got.tolist() if isinstance(got, np.ndarray) else int(got)

    def __iter__(self) -> Any:
        return iter(self.tolist())

    def is_shared(self) -> bool:
        return False

    def untyped(self) -> UntypedStorage:
        return self

    def __repr__(self) -> str:
        info = f"[{type(self).__module__}.{type(self).__qualname__}(device={self.device}) of size {len(self)}]"
        return " " + "\n ".join(str(b) for b in self.tolist()) + "\n" + info


_TYPED_STORAGE_DEPRECATED = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only storage "
    "class. This should only matter to you if you are using storages directly.  To access UntypedStorage "
    "directly, use tensor.untyped_storage() instead of tensor.storage()")


class TypedStorage:
    """``Tensor.storage()`` (deprecated in PyTorch, with its warning): a tensor's storage as
    elements of its dtype, read when asked; ``s[i] = v`` writes the element into the tensor
    that holds it, as PyTorch's shared memory does (outside autograd)."""

    def __init__(self, root: Tensor) -> None:
        self._root = root

    @property
    def dtype(self) -> D.dtype:
        return self._root.dtype

    @property
    def device(self) -> Any:
        return self._root.device

    def _values(self) -> np.ndarray:
        return _storage_values(self._root)

    def size(self) -> int:
        pos = _root_positions(self._root)
        return int(pos.max()) + 1 if pos.size else 0

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self._root.element_size()

    def nbytes(self) -> int:
        return self.size() * self.element_size()

    def data_ptr(self) -> int:
        return _address(self._root) if self.size() else 0

    def tolist(self) -> list:
        return self._values().tolist()

    def __getitem__(self, index: Any) -> Any:
        got = self._values()[index]
        return got.tolist() if isinstance(got, np.ndarray) else got.item()

    def __setitem__(self, index: int, value: Any) -> None:
        from .grad_mode import no_grad
        pos = _root_positions(self._root).ravel()
        size = self.size()
        if not isinstance(index, int) or not -size <= index < size:
            raise IndexError(f"index {index} out of range for storage of size {size}")
        where = np.flatnonzero(pos == index % size)
        if where.size:
            with no_grad():
                self._root[np.unravel_index(int(where[0]), tuple(self._root.shape))] = value

    def __iter__(self) -> Any:
        return iter(self.tolist())

    def is_shared(self) -> bool:
        return False

    def untyped(self) -> UntypedStorage:
        return UntypedStorage(self._root)

    _untyped_storage = property(untyped)

    def __repr__(self) -> str:
        info = (f"[{type(self).__module__}.{type(self).__qualname__}(dtype={self.dtype}, device={self.device}) "
                f"of size {len(self)}]")
        return " " + "\n ".join(str(v) for v in self.tolist()) + "\n" + info


def untyped_storage(t: Tensor) -> UntypedStorage:
    """``Tensor.untyped_storage()``."""
    return UntypedStorage(_located(t)[0])


def storage(t: Tensor) -> TypedStorage:
    """``Tensor.storage()``, with PyTorch's deprecation warning."""
    warnings.warn(_TYPED_STORAGE_DEPRECATED, UserWarning, stacklevel=2)
    return TypedStorage(_located(t)[0])


# -- as_strided -------------------------------------------------------------------------


def as_strided(input: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    """``torch.as_strided``: the elements of ``input``'s storage at ``storage_offset + sum(i_k *
    stride_k)``. A gather from ``input`` (or, for positions outside it, from the tensor whose
    storage it shares), so the gradient sums over repeated elements, as PyTorch's; a copy, not
    a view."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    root, pos = _located(input)
    offset = (int(pos.flat[0]) if pos.size else 0) if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    wanted = np.full(size, offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        wanted += (np.arange(n, dtype=np.int64) * s).reshape((-1,) + (1,) * (len(size) - d - 1))
    root_pos = _root_positions(root).ravel()
    available = int(root_pos.max()) + 1 if root_pos.size else 0
    needed = int(wanted.max()) + 1 if wanted.size else 0
    if needed > available:
        item = input.element_size()
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and "
                           f"itemsize {item} requiring a storage size of {needed * item} are out of bounds for "
                           f"storage of size {available * item}")
    # gather from input itself when it holds every wanted position (its gradient then reaches
    # input), else from the root
    source, source_pos = input, pos.ravel()
    inverse = np.full(available, -1, dtype=np.int64)
    inverse[source_pos] = np.arange(source_pos.size)
    if wanted.size and (inverse[wanted] < 0).any():
        source = root
        inverse[:] = -1
        inverse[root_pos] = np.arange(root_pos.size)
        if (inverse[wanted] < 0).any():
            raise RuntimeError("as_strided: the positions asked for include storage no element of the tensor "
                               "covers (srcgrad keeps no memory outside its tensors' elements)")
    # an index op under PyTorch's name for it (AsStridedBackward0): its gradient sums repeats
    index = tensor(inverse[wanted], device=input.device)
    return record("as_strided_index", (source.reshape(-1), index), (("T",),))


def _as_strided_method(self: Tensor, size: Any, stride: Any, storage_offset: int | None = None) -> Tensor:
    return as_strided(self, size, stride, storage_offset)


_as_strided_method.__name__ = "as_strided"
_as_strided_method.__doc__ = as_strided.__doc__
for _name, _fn in (("data_ptr", data_ptr), ("storage_offset", storage_offset), ("is_set_to", is_set_to),
                   ("untyped_storage", untyped_storage), ("storage", storage), ("as_strided", _as_strided_method)):
    setattr(Tensor, _name, _fn)
