"""``torch.utils.dlpack``: exchanging tensors with JAX, NumPy, CuPy and PyTorch through DLPack.

``from_dlpack(obj)`` takes anything with ``__dlpack__`` (a ``jax.Array``, a NumPy array, a
PyTorch tensor) or a DLPack capsule and returns a srcgrad tensor on the same device, without
a copy where JAX can alias the memory. srcgrad's values are immutable, so the two sides do
not see each other's later in-place changes (PyTorch's do: they share the memory).
``to_dlpack(t)`` / ``t.__dlpack__()`` export a tensor's current value, so
``jnp.from_dlpack(t)`` and ``np.from_dlpack(t)`` work; as in PyTorch, a tensor that requires
grad is refused (``t.detach()`` first).
"""

from __future__ import annotations

import ctypes
from typing import Any

import jax

from ..tensor import Tensor, from_value

__all__ = ["from_dlpack", "to_dlpack"]

_INVALID_CAPSULE = ("from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only "
                    "once, so you might have already constructed a tensor from it once.")


def _capsule_device(capsule: Any) -> tuple[int, int]:
    """The ``(device_type, device_id)`` of a "dltensor" capsule: DLManagedTensor starts with a
    DLTensor, whose data pointer is followed by its DLDevice (two int32s), by DLPack's ABI."""
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    valid = ctypes.pythonapi.PyCapsule_IsValid
    valid.restype, valid.argtypes = ctypes.c_int, [ctypes.py_object, ctypes.c_char_p]
    if not valid(capsule, b"dltensor"):
        raise RuntimeError(_INVALID_CAPSULE)
    address = get(capsule, b"dltensor")
    device = (ctypes.c_int32 * 2).from_address(address + ctypes.sizeof(ctypes.c_void_p))
    return int(device[0]), int(device[1])


class _FromCapsule:
    """A capsule as the ``__dlpack__`` object JAX's ``from_dlpack`` takes."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule
        self._device = _capsule_device(capsule)

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._device


def from_dlpack(ext_tensor: Any) -> Any:
    """``torch.from_dlpack``: a tensor from an object with ``__dlpack__`` or a DLPack capsule."""
    if isinstance(ext_tensor, Tensor):
        if ext_tensor.requires_grad:
            raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
        return ext_tensor.detach()  # (the same storage, as PyTorch's)
    if not hasattr(ext_tensor, "__dlpack__"):
        if type(ext_tensor).__name__ != "PyCapsule":
            raise RuntimeError(_INVALID_CAPSULE)
        ext_tensor = _FromCapsule(ext_tensor)
    return from_value(jax.dlpack.from_dlpack(ext_tensor))


def to_dlpack(tensor: Any) -> Any:
    """``torch.utils.dlpack.to_dlpack``: a "dltensor" capsule of the tensor's value."""
    return tensor.__dlpack__()


def _tensor_dlpack(self: Any, *, stream: Any = None, max_version: Any = None, dl_device: Any = None,
                  copy: bool | None = None) -> Any:
    """``Tensor.__dlpack__``: the tensor's current value as a DLPack capsule."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    kwargs = {k: v for k, v in (("stream", stream), ("max_version", max_version), ("dl_device", dl_device),
                                ("copy", copy)) if v is not None}
    return self._value().__dlpack__(**kwargs)


def _tensor_dlpack_device(self: Any) -> tuple:
    """``Tensor.__dlpack_device__``: ``(device type, index)`` by DLPack's numbering."""
    return self._value().__dlpack_device__()


Tensor.__dlpack__ = _tensor_dlpack
Tensor.__dlpack_device__ = _tensor_dlpack_device
