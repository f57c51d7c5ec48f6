"""``torch.utils`` counterparts: ``srcgrad.utils.checkpoint``, ``srcgrad.utils.data``,
``srcgrad.utils.hooks``, ``srcgrad.utils.dlpack`` and ``srcgrad.utils.benchmark`` (loaded on first use)."""

from __future__ import annotations

import importlib
from typing import Any

from . import checkpoint, data, dlpack, hooks

__all__ = ["benchmark", "checkpoint", "data", "dlpack", "hooks"]


def __getattr__(name: str) -> Any:
    if name == "benchmark":  # (not imported with srcgrad: most programs never time anything)
        return importlib.import_module(".benchmark", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
