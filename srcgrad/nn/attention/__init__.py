"""``torch.nn.attention``: choosing the kernel behind ``F.scaled_dot_product_attention``.

PyTorch picks among its math, flash, memory-efficient and cuDNN kernels; srcgrad writes attention
as one XLA program and XLA fuses it, so there is nothing to choose. ``sdpa_kernel`` checks its
argument as PyTorch does and changes nothing, so code that pins a backend runs unchanged.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from typing import Any

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """PyTorch's scaled-dot-product-attention backends."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __repr__(self) -> str:
        return f"<SDPBackend.{self.name}: {self.value}>"

    __str__ = enum.Enum.__str__


@contextlib.contextmanager
def sdpa_kernel(backends: Any, set_priority: bool = False) -> Iterator[None]:
    """A block run with the given backend(s): accepted and checked, nothing to switch here."""
    chosen = backends if isinstance(backends, list) else [backends]
    for b in chosen:
        if not isinstance(b, SDPBackend):
            raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, "
                                 f"got {type(backends if not isinstance(backends, list) else b).__name__}")
    yield
