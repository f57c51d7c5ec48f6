"""Ops whose result's shape depends on the input's values: ``nonzero``/``argwhere``,
``masked_select``, ``unique``, ``unique_consecutive``, ``bincount``; and ``isin``,
which looks like one but needs no values.

srcgrad's programs have static shapes, so the data-dependent ops compute their
input (one realisation, as ``.item()`` does), find the shape on the host with
NumPy and return a new tensor. Under ``@srcgrad.compile`` that realisation is a
value-dependent step, handled as ``.item()`` is (see docs/compile.md).
``masked_select`` is differentiable: it is ``input[mask]`` after broadcasting,
and boolean indexing records an index op with the positions found.
``isin`` is written with tensor ops and compiles like any other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as D
from .ops import broadcast_shapes
from .tensor import Tensor, tensor, zeros

__all__ = ["nonzero", "argwhere", "masked_select", "unique", "unique_consecutive", "bincount", "isin"]


def _host(t: Tensor) -> np.ndarray:
    """``t``'s values on the host (computing them if pending)."""
    return np.asarray(t.detach()._value())


def _int64(a: np.ndarray, like: Tensor) -> Tensor:
    return tensor(np.asarray(a, dtype=np.int64), device=like.device)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the non-zero elements: an int64 ``(n, input.dim())`` tensor, or with ``as_tuple``
    one 1-D index tensor per dimension (a 0-d input counts as 1-D there, as in PyTorch)."""
    a = _host(input)
    if as_tuple:
        return tuple(_int64(i, input) for i in np.nonzero(np.atleast_1d(a)))
    return _int64(np.argwhere(a), input)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``."""
    return nonzero(input)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor (both broadcast first);
    gradients flow back to the selected elements."""
    if not isinstance(mask, Tensor) or mask.dtype is not D.bool_:
        got = mask.dtype.name.title() if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_select: expected BoolTensor for mask, got {got}")
    shape = broadcast_shapes(tuple(input.shape), tuple(mask.shape), "masked_select")
    x = input.expand(shape) if tuple(input.shape) != shape else input
    m = mask.expand(shape) if tuple(mask.shape) != shape else mask
    if not shape:  # 0-d: PyTorch returns a 1-element or empty 1-D tensor
        x, m = x.reshape(1), m.reshape(1)
    return x[m]


def _unique_results(values: np.ndarray, inverse: np.ndarray, counts: np.ndarray, like: Tensor,
                    return_inverse: bool, return_counts: bool) -> Any:
    out = tensor(values, dtype=like.dtype, device=like.device)
    extra = []
    if return_inverse:
        extra.append(_int64(inverse, like))
    if return_counts:
        extra.append(_int64(counts, like))
    return (out, *extra) if extra else out


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None) -> Any:
    """The distinct elements (or, with ``dim``, the distinct slices along ``dim``), sorted, with the
    inverse indices and counts on request. The result does not require grad (PyTorch's does, and
    its backward raises: unique has no derivative)."""
    a = _host(input)
    if dim is None:
        # (each NaN is distinct, as in PyTorch: NumPy would merge them)
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, equal_nan=False)
        inverse = inverse.reshape(a.shape)
    else:
        d = dim + a.ndim if dim < 0 else dim
        if not 0 <= d < max(a.ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-a.ndim}, {a.ndim - 1}], "
                             f"but got {dim})")
        values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=d, equal_nan=False)
        inverse = inverse.reshape(-1)
    return _unique_results(values, inverse, counts, input, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """Collapse each run of equal consecutive elements (or slices along ``dim``) into one."""
    a = _host(input)
    if dim is None:
        flat = a.reshape(-1)
        starts = np.ones(flat.shape[0], dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        shape = a.shape
    else:
        d = dim + a.ndim if dim < 0 else dim
        if not 0 <= d < a.ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-a.ndim}, {a.ndim - 1}], "
                             f"but got {dim})")
        moved = np.moveaxis(a, d, 0).reshape(a.shape[d], -1)
        starts = np.ones(moved.shape[0], dtype=bool)
        starts[1:] = (moved[1:] != moved[:-1]).any(axis=1)
        values = np.compress(starts, a, axis=d)
        shape = (a.shape[d],)
    inverse = (np.cumsum(starts) - 1).reshape(shape)
    counts = np.diff(np.append(np.flatnonzero(starts), starts.shape[0]))
    return _unique_results(values, inverse, counts, input, return_inverse, return_counts)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How many times each value 0, 1, ... occurs in a 1-D non-negative integer tensor (summing
    ``weights`` instead of ones): ``max(input.max() + 1, minlength)`` counts. Not differentiable."""
    a = _host(input)
    if input.dim() != 1 or input.dtype.is_floating_point or input.dtype is D.bool_ or (a.size and a.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if weights is None:
        return _int64(np.bincount(a, minlength=minlength), input)
    if tuple(weights.shape) != tuple(input.shape):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    w = _host(weights)
    out_dtype = D.float32 if weights.dtype is D.float32 else D.float64  # (PyTorch: float64 but for float32 weights)
    return tensor(np.bincount(a, weights=w.astype(np.float64), minlength=minlength), dtype=out_dtype,
                  device=input.device)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() expects at least one of elements and test_elements to be a Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    e = elements if isinstance(elements, Tensor) else tensor(elements, device=like.device)
    t = test_elements if isinstance(test_elements, Tensor) else tensor(test_elements, device=like.device)
    t = t.detach().reshape(-1)
    if t.numel() == 0:
        found = zeros(tuple(e.shape), dtype=D.bool_, device=e.device)
    else:
        found = (e.detach().unsqueeze(-1) == t).any(-1)
    return ~found if invert else found


def _nonzero_method(self: Tensor, *, as_tuple: bool = False) -> Any:
    return nonzero(self, as_tuple=as_tuple)


# Tensor methods of the same names (none of them existed before this module).
_METHODS = {
    "nonzero": _nonzero_method,
    "argwhere": argwhere,
    "masked_select": masked_select,
    "unique": unique,
    "unique_consecutive": unique_consecutive,
    "bincount": bincount,
}
for _name, _fn in _METHODS.items():
    if hasattr(Tensor, _name):
        raise RuntimeError(f"srcgrad.data_dependent: Tensor.{_name} is defined twice")
    setattr(Tensor, _name, _fn)
