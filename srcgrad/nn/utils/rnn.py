"""``nn.utils.rnn``: ``pad_sequence`` (packed sequences are not supported)."""

from __future__ import annotations

from ..modules.rnn import pad_sequence

__all__ = ["pad_sequence"]
