"""``nn.Parameter``: a tensor that a ``Module`` registers as one of its parameters."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes as D
from .. import ir
from ..printing import format_tensor
from ..tensor import Tensor, _share, zeros


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
        return format_tensor(np.asarray(self.detach()._value()), dtype_name=n.dtype.name,
                             default_dtype_name=D.get_default_dtype().name,
                             device=None if n.device.type == "cpu" else str(n.device),
                             requires_grad=n.requires_grad, prefix="Parameter containing:\ntensor(")

    __str__ = __repr__

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.detach().clone(), self.requires_grad)
        if self._grad is not None:
            out._grad = self._grad.detach().clone()
        memo[id(self)] = out
        return out

    def __copy__(self) -> Parameter:
        return Parameter(self.detach(), self.requires_grad)

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("srcgrad tensors are not pickled; use srcgrad.save(obj, path) / srcgrad.load(path)")
