"""The hook through which ``@srcgrad.compile`` watches a trace (see ``compile.py``).

``ACTIVE`` is None outside a trace; while a decorated function is traced it is
the tracer, told about in-place updates, new ``.grad`` values, random ops and
the user hooks that run (``note_hook``).
"""

from __future__ import annotations

from typing import Any

ACTIVE: Any = None


def note_hook(hook: Any) -> None:
    """Tell the tracer, if any, that a user hook runs: a replay will not run it again, so
    the tracer checks whether it changes Python state (see ``compiled._hook_leaves``)."""
    if ACTIVE is not None:
        ACTIVE.note_hook(hook)
