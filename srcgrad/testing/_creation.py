"""``make_tensor``: PyTorch's ``torch/testing/_creation.py`` for srcgrad's dtypes (no complex
or 8-bit float dtypes exist here; asking for one is PyTorch's ``TypeError``). PyTorch is
BSD-3-Clause licensed; this follows its structure and messages."""

from __future__ import annotations

import collections.abc
import math
import warnings
from typing import Any

import ml_dtypes
import numpy as np

from ..dtypes import bfloat16, bool_, float16, float32, float64, int8, int16, int32, int64, uint8
from ..tensor import Tensor, empty, randint

_INTEGRAL_TYPES = [uint8, int8, int16, int32, int64]
_FLOATING_TYPES = [float16, bfloat16, float32, float64]
_BOOLEAN_OR_INTEGRAL_TYPES = [bool_, *_INTEGRAL_TYPES]


def _finfo(dtype: Any) -> Any:
    return ml_dtypes.finfo(dtype.np)  # (numpy's finfo does not know bfloat16)


def _uniform_random_(t: Tensor, low: float, high: float) -> Tensor:
    # high - low would overflow the dtype: draw half the range and double it
    if high - low >= float(_finfo(t.dtype).max):
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def make_tensor(*shape: int | Any, dtype: Any, device: Any, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format: Any = None) -> Tensor:
    """A tensor of the given shape filled with values drawn uniformly from ``[low, high)``: by default
    ``[-9, 9)`` for floating dtypes, ``[-9, 10)`` for integers (clamped to the dtype's range), ``{False,
    True}`` for bool. ``noncontiguous=True`` returns a strided view; ``exclude_zero=True`` replaces zeros by
    1 (integers) or the dtype's smallest normal number (floats)."""

    def modify_low_high(low: float | None, high: float | None, *, lowest_inclusive: float,
                        highest_exclusive: float, default_low: float, default_high: float) -> tuple[Any, Any]:
        low = low if low is not None else default_low
        high = high if high is not None else default_high
        if any(isinstance(value, float) and math.isnan(value) for value in [low, high]):
            raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
        elif low == high and dtype in _FLOATING_TYPES:
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types "
                          "is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                          FutureWarning, stacklevel=3)
        elif low >= high:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        elif high < lowest_inclusive or low >= highest_exclusive:
            raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                             f"but {dtype} only supports [{lowest_inclusive}, {highest_exclusive})")
        low = min(max(low, lowest_inclusive), highest_exclusive)
        high = min(max(high, lowest_inclusive), highest_exclusive)
        if dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
            return math.ceil(low), math.ceil(high)  # (randint's bounds are integers, high exclusive)
        return low, high

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got {noncontiguous=} and {memory_format=}")
    if requires_grad and dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got {dtype=}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])  # (every other element of the last dimension is the result)

    if dtype is bool_:
        low, high = modify_low_high(low, high, lowest_inclusive=0, highest_exclusive=2, default_low=0,
                                    default_high=2)
        result = randint(low, high, shape, device=device, dtype=int64) != 0
    elif dtype in _INTEGRAL_TYPES:
        info = np.iinfo(dtype.np)
        low, high = modify_low_high(low, high, lowest_inclusive=int(info.min),
                                    highest_exclusive=int(info.max) + (1 if dtype is not int64 else 0),
                                    default_low=-9, default_high=10)
        result = randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _FLOATING_TYPES:
        info = _finfo(dtype)
        low, high = modify_low_high(low, high, lowest_inclusive=float(info.min), highest_exclusive=float(info.max),
                                    default_low=-9, default_high=9)
        result = empty(shape, device=device, dtype=dtype)
        _uniform_random_(result, low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by torch.testing.make_tensor()."
                        " To request support, file an issue at: https://github.com/pytorch/pytorch/issues")

    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result.masked_fill_(result == 0, 1 if dtype in _BOOLEAN_OR_INTEGRAL_TYPES else float(_finfo(dtype).tiny))
    if dtype in _FLOATING_TYPES:
        result.requires_grad = requires_grad
    return result
