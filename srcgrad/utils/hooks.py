"""``torch.utils.hooks``: ``RemovableHandle``, the type of every hook handle srcgrad returns.

srcgrad keeps two handle classes, one for hooks kept in lists (tensor, ``grad_fn`` and
``AccumulateGrad`` hooks, ``srcgrad/autodiff.py``) and one for hooks kept in ordered dicts
(module and optimiser hooks, ``srcgrad/nn/modules/module.py``); both are registered here as
virtual subclasses, so ``isinstance(h, torch.utils.hooks.RemovableHandle)`` and annotations
written for PyTorch hold for either.
"""

from __future__ import annotations

import abc

from ..autodiff import RemovableHandle as _ListHandle
from ..nn.modules.module import _RemovableHandle as _DictHandle


class RemovableHandle(abc.ABC):  # noqa: B024 - an interface: both implementations are registered below
    """A handle with ``remove()``, usable as a context manager that removes the hook on exit."""

    def remove(self) -> None:  # pragma: no cover - the registered classes define it
        raise NotImplementedError


RemovableHandle.register(_ListHandle)
RemovableHandle.register(_DictHandle)

__all__ = ["RemovableHandle"]
