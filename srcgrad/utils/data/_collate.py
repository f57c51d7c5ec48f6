"""``default_collate`` and ``default_convert``: PyTorch's rules for turning samples into batches.

The rules are PyTorch's (``torch/utils/data/_utils/collate.py``): srcgrad tensors are
stacked, NumPy arrays and numbers become tensors (a Python ``float`` a float64 tensor, an
``int`` an int64 one), strings stay lists, and mappings, namedtuples, tuples and lists are
collated element by element.

Two shortcuts keep batches cheap in srcgrad, where every op is recorded and each new graph
shape compiles a program; both give exactly the values ``stack`` would:

- samples that are ``base[i]`` of one tensor (a ``TensorDataset``, or a dataset returning
  ``self.x[idx]``) become one gather ``base[tensor([i0, i1, ...])]``: the indices are a
  program input, so each batch reuses one compiled program instead of compiling a graph
  with the batch's indices written into it;
- NumPy arrays of one shape and dtype are stacked by NumPy and moved to the device once.
"""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import dtypes as D
from ...tensor import Tensor, as_tensor, stack, tensor

np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, "
    "dicts or lists; found {}"
)

CollateFnMap = dict[type | tuple[type, ...], Callable]


def _from_numpy_like(data: Any) -> Tensor:
    """``torch.as_tensor`` of a NumPy array or scalar, keeping its dtype."""
    return as_tensor(np.asarray(data))


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays (also inside mappings, namedtuples and sequences) to tensors.

    The collate function of a ``DataLoader`` without automatic batching (``batch_size=None``).
    Tensors, numbers and strings are returned unchanged; tuples become lists, as in PyTorch."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if elem_type.__name__ == "ndarray" and np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return _from_numpy_like(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # (PyTorch's backwards compatibility)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """Collate a batch, dispatching on the type of its first element through ``collate_fn_map``
    (exact type first, then ``isinstance`` in insertion order); containers recurse."""
    elem = batch[0]
    elem_type = type(elem)

    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)

    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
                return clone
            return elem_type({key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                              for key in elem})
        except TypeError:
            return {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = collate(samples, collate_fn_map=collate_fn_map)
                return clone
            return elem_type([collate(samples, collate_fn_map=collate_fn_map) for samples in transposed])
        except TypeError:
            return [collate(samples, collate_fn_map=collate_fn_map) for samples in transposed]

    raise TypeError(default_collate_err_msg_format.format(elem_type))


def _gather(batch: Any) -> Tensor | None:
    """``base[tensor(indices)]`` when every element is a fresh ``base[i]`` (an int index on
    dim 0) of one tensor that does not require grad; None otherwise."""
    view = getattr(batch[0], "_view", None)
    if view is None:
        return None
    base = view[0]()
    if not isinstance(base, Tensor) or base.requires_grad:
        return None
    bnode = base._node
    idx = []
    for t in batch:
        v = getattr(t, "_view", None) if isinstance(t, Tensor) else None
        if v is None or v[0]() is not base or len(v[1]) != 1:
            return None
        how, _, spec, tensors = v[1][0]
        if how != "index" or tensors or len(spec) != 1 or type(spec[0]) is not int:
            return None
        n = t._node
        if n.op not in ("select", "dyn_select") or not n.inputs or n.inputs[0] is not bnode:
            return None  # (base changed in place since, or the sample was computed)
        idx.append(spec[0])
    return base[tensor(np.asarray(idx, dtype=np.int64), device=base.device)]


def collate_tensor_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """``stack(batch, 0)`` (or the same values by one gather, see the module's docstring)."""
    gathered = _gather(batch)
    if gathered is not None:
        return gathered
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """NumPy arrays to one tensor (string and object arrays are refused, as PyTorch)."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    if all(isinstance(b, np.ndarray) and b.shape == elem.shape and b.dtype == elem.dtype for b in batch):
        return as_tensor(np.stack(batch))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """NumPy scalars to a 1-D tensor of their dtype."""
    return _from_numpy_like(batch)


def collate_float_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """Python floats to a float64 tensor."""
    return tensor(list(batch), dtype=D.float64)


def collate_int_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Tensor:
    """Python ints to an int64 tensor (bools to a bool one)."""
    return tensor(list(batch))


def collate_str_fn(batch: Any, *, collate_fn_map: CollateFnMap | None = None) -> Any:
    """Strings and bytes are kept as they are: the batch stays a list."""
    return batch


default_collate_fn_map: CollateFnMap = {Tensor: collate_tensor_fn}
default_collate_fn_map[np.ndarray] = collate_numpy_array_fn
default_collate_fn_map[(np.bool_, np.number, np.object_)] = collate_numpy_scalar_fn
default_collate_fn_map[float] = collate_float_fn
default_collate_fn_map[int] = collate_int_fn
default_collate_fn_map[str] = collate_str_fn
default_collate_fn_map[bytes] = collate_str_fn


def default_collate(batch: Any) -> Any:
    """Put a list of samples into one batch with a new leading dimension (PyTorch's rules).

    ``default_collate([0, 1])`` is ``tensor([0, 1])``; ``default_collate([(x0, y0), (x1, y1)])``
    is ``[stack([x0, x1]), stack([y0, y1])]``; dicts are collated per key."""
    return collate(batch, collate_fn_map=default_collate_fn_map)
