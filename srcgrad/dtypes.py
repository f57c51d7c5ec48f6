"""Tensor dtypes with PyTorch's names and PyTorch's type-promotion rules.

A ``dtype`` wraps a NumPy dtype. Python scalars taking part in an op are
"weak": like in PyTorch they never widen a tensor of the same category
(``float32_tensor * 2.0`` stays float32), which matches JAX's weak types.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np


class dtype:  # noqa: N801 - the PyTorch name
    """A tensor element type, printed like ``torch.float32``."""

    __slots__ = ("name", "np", "category", "itemsize", "is_floating_point", "weak")

    def __init__(self, name: str, np_dtype: object, category: int, weak: bool = False) -> None:
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.itemsize = self.np.itemsize
        self.is_floating_point = category == 2
        self.weak = weak

    def __repr__(self) -> str:
        return f"torch.{self.name}" if not self.weak else f"<python {self.name}>"

    def __reduce__(self) -> str:
        return "bool_" if self.name == "bool" else self.name  # (the module-level name that pickle looks up)

    @property
    def is_signed(self) -> bool:
        return self.category == 2 or (self.category == 1 and self.name != "uint8")

    @property
    def is_complex(self) -> bool:
        return False  # (srcgrad has no complex dtypes)


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
# NumPy has no bfloat16; ml_dtypes' (a JAX dependency, the dtype of jnp.bfloat16) stands in for it.
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

# The dtypes of Python scalars (weak): bool, int and float.
weak_bool = dtype("bool", np.bool_, 0, weak=True)
weak_int = dtype("int", np.int64, 1, weak=True)
weak_float = dtype("float", np.float64, 2, weak=True)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NUMPY = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
                 "short": int16})

_default_float = [float32]


def get_default_dtype() -> dtype:
    """The dtype of tensors made from Python floats (``float32`` unless changed)."""
    return _default_float[0]


def set_default_dtype(d: dtype) -> None:
    """Change the default floating dtype (``float32`` or ``float64``)."""
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float[0] = d


def as_dtype(d: object) -> dtype:
    """Turn a srcgrad dtype, NumPy dtype, Python type or name into a srcgrad dtype."""
    if isinstance(d, dtype):
        return _strong(d)
    if d is float:
        return float64  # (PyTorch: Python's float is a double, whatever the default dtype)
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        key = d.removeprefix("torch.")
        if key in _BY_NAME:
            return _BY_NAME[key]
    try:
        npd = np.dtype(d)
    except TypeError:
        npd = None
    if npd is not None and npd in _BY_NUMPY:
        return _BY_NUMPY[npd]
    raise TypeError(f"srcgrad does not support dtype {d!r}; use one of "
                    + ", ".join(f"torch.{x.name}" for x in ALL))


def from_numpy_dtype(npd: np.dtype) -> dtype:
    try:
        return _BY_NUMPY[np.dtype(npd)]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type {npd}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def _strong(d: dtype) -> dtype:
    """The dtype a weak scalar takes when it stands alone as a tensor."""
    if not d.weak:
        return d
    return {0: bool_, 1: int64, 2: get_default_dtype()}[d.category]


def promote(a: dtype, b: dtype) -> dtype:
    """PyTorch's promotion of two dtypes of the same priority class."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == 2:
        if a.itemsize == b.itemsize:  # float16 with bfloat16: neither holds the other, PyTorch gives float32
            return float32
        return a if a.itemsize > b.itemsize else b
    if a.category == 1:
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a.itemsize >= b.itemsize else b
    return a


def result_type(dims_and_dtypes: tuple) -> dtype:
    """The result dtype of an op over ``(ndim, dtype)`` operands, as PyTorch computes it.

    Operands come in three priority classes: tensors with dimensions, zero-dim
    tensors and Python scalars (weak dtypes). A lower class only matters when
    its category (bool < int < float) is higher than every higher class.
    """
    dim_t = zero_t = scal = None
    for ndim, d in dims_and_dtypes:
        if d.weak:
            scal = d if scal is None or d.category > scal.category else scal
        elif ndim > 0:
            dim_t = d if dim_t is None else promote(dim_t, d)
        else:
            zero_t = d if zero_t is None else promote(zero_t, d)
    result = dim_t
    if zero_t is not None:
        if result is None or zero_t.category > result.category:
            result = zero_t
    if scal is not None:
        if result is None:
            return scal  # all operands are Python scalars: the result stays weak
        if scal.category > result.category:
            result = _strong(scal)
    return result
