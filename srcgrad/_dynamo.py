"""``torch._dynamo``'s functions that tutorials call: ``reset()`` (before timing a fresh compile) and
``disable``. srcgrad's compiler has no Dynamo; these act on ``srcgrad.compile``'s program cache."""

from __future__ import annotations

from .compiler import disable, is_compiling, reset

__all__ = ["disable", "is_compiling", "reset"]
