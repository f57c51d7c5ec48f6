"""Facts about dtypes, as PyTorch names them: ``finfo``/``iinfo`` (the limits of a float or integer
type), ``result_type``/``promote_types``/``can_cast`` (PyTorch's promotion, from ``dtypes``), and
``layout`` (``torch.strided``: srcgrad's tensors are all dense)."""

from __future__ import annotations

import math
from typing import Any

import ml_dtypes
import numpy as np

from . import dtypes as D

__all__ = ["finfo", "iinfo", "result_type", "promote_types", "can_cast", "layout", "strided"]


def _g(x: float) -> str:
    """PyTorch's ``%g``-style numbers in finfo/iinfo reprs (``-3.40282e+38``, ``65504``)."""
    return f"{x:g}"


class finfo:  # noqa: N801
    """``torch.finfo(dtype)``: the limits of a floating dtype (the default dtype without one)."""

    def __init__(self, type: Any = None) -> None:
        d = D.get_default_dtype() if type is None else D.as_dtype(type)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = ml_dtypes.finfo(d.np)
        self.bits = d.itemsize * 8
        self.eps = float(info.eps)
        self.max = float(info.max)
        self.min = float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = 10.0 ** -int(-math.log10(self.eps))  # (PyTorch's: 1e-06 for float32, 0.001 for float16)
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={_g(self.resolution)}, min={_g(self.min)}, max={_g(self.max)}, "
                f"eps={_g(self.eps)}, smallest_normal={_g(self.smallest_normal)}, tiny={_g(self.tiny)}, "
                f"dtype={self.dtype})")


class iinfo:  # noqa: N801
    """``torch.iinfo(dtype)``: the limits of an integer dtype."""

    def __init__(self, type: Any) -> None:
        d = D.as_dtype(type)
        if d.category != 1:
            what = "torch.bool" if d.category == 0 else repr(d)
            raise TypeError(f"{what} is not supported by torch.iinfo")
        info = np.iinfo(d.np)
        self.bits = d.itemsize * 8
        self.max = int(info.max)
        self.min = int(info.min)
        self.dtype = d.name

    def __repr__(self) -> str:
        return f"iinfo(min={_g(self.min)}, max={_g(self.max)}, dtype={self.dtype})"


def _operand(x: Any) -> tuple[int, D.dtype]:
    from .tensor import Tensor
    if isinstance(x, Tensor):
        return x.dim(), x.dtype
    if isinstance(x, bool):
        return 0, D.weak_bool
    if isinstance(x, int):
        return 0, D.weak_int
    if isinstance(x, float):
        return 0, D.weak_float
    raise TypeError(f"result_type() received an invalid combination of arguments - got "
                    f"({type(x).__name__}), but expected Tensors or Numbers")


def result_type(tensor1: Any, tensor2: Any) -> D.dtype:
    """The dtype an op on these two operands (tensors or Python numbers) gives."""
    return D._strong(D.result_type((_operand(tensor1), _operand(tensor2))))


def promote_types(type1: D.dtype, type2: D.dtype) -> D.dtype:
    return D.promote(D.as_dtype(type1), D.as_dtype(type2))


def can_cast(from_: D.dtype, to: D.dtype) -> bool:
    """Whether PyTorch's casting rules let a ``from_`` value go into a ``to`` tensor (not from a
    float to an integer or bool, nor from an integer to bool)."""
    return D.as_dtype(from_).category <= D.as_dtype(to).category


class layout:  # noqa: N801
    """``torch.layout``; srcgrad has one, ``torch.strided`` (dense tensors)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self.name


strided = layout("strided")


# -- the legacy tensor types: torch.FloatTensor(...) and isinstance(t, torch.FloatTensor) ----------

_LEGACY_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor", "int32": "IntTensor",
                 "bool": "BoolTensor", "float16": "HalfTensor", "bfloat16": "BFloat16Tensor", "int16": "ShortTensor",
                 "int8": "CharTensor", "uint8": "ByteTensor"}
_LEGACY_DTYPES = {name: D._BY_NAME[d] for d, name in _LEGACY_NAMES.items()}


def legacy_type_name(d: D.dtype) -> str:
    """``t.type()``: ``torch.FloatTensor`` for a float32 tensor."""
    return "torch." + _LEGACY_NAMES[d.name]


def legacy_type_dtype(spec: Any) -> D.dtype | None:
    """The dtype a legacy type names (``"torch.DoubleTensor"``, ``torch.IntTensor``), else None."""
    if isinstance(spec, tensortype):
        return spec.dtype
    if isinstance(spec, str):
        return _LEGACY_DTYPES.get(spec.removeprefix("torch."))
    return None


class tensortype(type):  # noqa: N801
    """The metaclass of ``torch.FloatTensor`` and friends: calling one makes a tensor of its dtype
    (``FloatTensor([1, 2])`` from data, ``FloatTensor(2, 3)`` of that shape), and
    ``isinstance(t, torch.FloatTensor)`` asks whether ``t`` is a float32 CPU tensor."""

    __module__ = "srcgrad"  # (prints as <class 'srcgrad.tensortype'>, as PyTorch's torch.tensortype)
    dtype: D.dtype

    def __call__(cls, *args: Any) -> Any:
        from .tensor import legacy_construct
        return legacy_construct(cls.dtype, args)

    def __instancecheck__(cls, other: Any) -> bool:
        from .tensor import Tensor
        return isinstance(other, Tensor) and other.dtype is cls.dtype and other.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


for _d, _name in _LEGACY_NAMES.items():
    globals()[_name] = tensortype(_name, (), {"dtype": D._BY_NAME[_d], "__module__": "srcgrad"})
__all__ += list(_LEGACY_NAMES.values())
