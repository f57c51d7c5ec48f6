"""``torch.utils`` counterparts: ``srcgrad.utils.checkpoint``, ``srcgrad.utils.data`` and ``srcgrad.utils.hooks``."""

from __future__ import annotations

from . import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
