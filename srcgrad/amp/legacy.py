"""The deprecated spellings ``torch.cuda.amp.autocast``, ``torch.cuda.amp.GradScaler``,
``torch.cpu.amp.autocast`` and ``torch.cpu.amp.GradScaler``: the same objects for a device
type, each with PyTorch's ``FutureWarning``."""

from __future__ import annotations

import types
import warnings
from typing import Any

from .. import dtypes as D
from . import autocast_mode, grad_scaler


def _namespace(device_type: str) -> types.SimpleNamespace:
    class autocast(autocast_mode.autocast):  # noqa: N801 - PyTorch's name
        __doc__ = f"``torch.{device_type}.amp.autocast(args...)``: ``torch.amp.autocast('{device_type}', args...)``."

        def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
            warnings.warn(f"`torch.{device_type}.amp.autocast(args...)` is deprecated. Please use "
                          f"`torch.amp.autocast('{device_type}', args...)` instead.", FutureWarning, stacklevel=2)
            if dtype is None:  # (PyTorch's defaults here, whatever set_autocast_dtype says)
                dtype = D.bfloat16 if device_type == "cpu" else D.float16
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(grad_scaler.GradScaler):
        __doc__ = f"``torch.{device_type}.amp.GradScaler(args...)``: ``torch.amp.GradScaler('{device_type}', args...)``."

        def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                     growth_interval: int = 2000, enabled: bool = True) -> None:
            warnings.warn(f"`torch.{device_type}.amp.GradScaler(args...)` is deprecated. Please use "
                          f"`torch.amp.GradScaler('{device_type}', args...)` instead.", FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale=init_scale, growth_factor=growth_factor,
                             backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)

    autocast.__module__ = GradScaler.__module__ = f"srcgrad.{device_type}.amp"
    return types.SimpleNamespace(autocast=autocast, GradScaler=GradScaler)


cuda = _namespace("cuda")
cpu = _namespace("cpu")
