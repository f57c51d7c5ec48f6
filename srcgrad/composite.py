"""PyTorch functions written with srcgrad's existing ops (composites)."""

from __future__ import annotations

__all__: list[str] = []
