"""``nn.utils.skip_init``: build a module without running its initialisation."""

from __future__ import annotations

import inspect
from typing import Any

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """``module_cls(*args, **kwargs)`` built on the meta device (its initialisation computes nothing) and
    moved with ``to_empty`` to ``device`` (default ``'cpu'``), as PyTorch's. The parameters and buffers
    are zeros here where PyTorch leaves uninitialised memory; the class must take a ``device`` argument."""
    if not issubclass(module_cls, Module):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    kwargs["device"] = "meta"
    return module_cls(*args, **kwargs).to_empty(device=final_device)
