"""``torch.accelerator``: the device-agnostic view of the current accelerator.

PyTorch's tutorials now pick their device with
``torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"``.
Here the accelerator is a CUDA GPU that JAX sees (``srcgrad.cuda``), or none.
"""

from __future__ import annotations

from typing import Any

from .device import _gpus, device

__all__ = ["current_accelerator", "current_device_idx", "current_device_index", "device_count", "device_index",
           "empty_cache", "is_available", "set_device_idx", "set_device_index", "synchronize"]

_current = [0]  # the index set_device_index chose


def is_available() -> bool:
    """Whether an accelerator (a GPU that JAX sees) is there."""
    return bool(_gpus())


def device_count() -> int:
    return len(_gpus())


def current_accelerator(check_available: bool = False) -> device | None:
    """The accelerator's device type as a ``device`` (``device(type='cuda')``), or None."""
    return device("cuda") if is_available() else None


def _check() -> None:
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index() -> int:
    _check()
    return _current[0]


current_device_idx = current_device_index


def set_device_index(dev: Any) -> None:
    _check()
    index = dev.index if isinstance(dev, device) else int(dev)
    if not 0 <= (index or 0) < device_count():
        raise RuntimeError(f"CUDA error: invalid device ordinal {index} (JAX sees {device_count()} GPUs)")
    _current[0] = index or 0


set_device_idx = set_device_index


class device_index:  # noqa: N801 - PyTorch's name
    """Within the block, ``current_device_index()`` is ``idx`` (None: unchanged)."""

    def __init__(self, idx: int | None) -> None:
        self.idx = idx

    def __enter__(self) -> None:
        self.prev = _current[0]
        if self.idx is not None:
            set_device_index(self.idx)

    def __exit__(self, *exc: object) -> None:
        _current[0] = self.prev


def synchronize(device: Any = None) -> None:
    """Wait for the accelerator's pending work (srcgrad computes when values are read, so a
    value read afterwards is what waits)."""


def empty_cache() -> None:
    """Release cached memory (XLA manages device memory itself)."""
