"""``torch.set_default_device`` / ``torch.get_default_device``: the device factory functions
(``zeros``, ``ones``, ``randn``, ``arange``, ``tensor``, ``empty``, ``full``, ``eye`` ...) use when
they are given none. Tensors made from existing ones (``zeros_like``, ``x.new_zeros``) keep
following those, as in PyTorch."""

from __future__ import annotations

import sys
from typing import Any

from .device import CPU, device

__all__ = ["set_default_device", "get_default_device"]


def set_default_device(dev: Any) -> None:
    """Make ``dev`` ("cpu", "cuda", "cuda:1", a ``srcgrad.device``) the factories' default;
    ``None`` restores "cpu". The device is checked now: "cuda" where JAX sees no GPU raises."""
    if dev is None:
        d = CPU
    elif isinstance(dev, int) and not isinstance(dev, bool):
        d = device("cuda", dev)
    else:
        d = device(dev)
    if d.type == "cuda":
        d.jax  # noqa: B018 - (checked now, unlike PyTorch, which raises at the next factory call)
    sys.modules["srcgrad.tensor"]._default_device = d.placed


def get_default_device() -> device:
    """The device factory functions use when given none (``device(type='cpu')`` unless changed)."""
    return sys.modules["srcgrad.tensor"]._default_device
