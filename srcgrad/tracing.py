"""The hook through which ``@srcgrad.compile`` watches a trace (see ``compile.py``).

``ACTIVE`` is None outside a trace; while a decorated function is traced it is
the tracer, told about in-place updates, new ``.grad`` values, random ops,
realisations (with the program's input nodes, when a program runs), backward
calls and the user hooks that run (``note_hook``). ``srcgrad.func.vmap`` installs
a tracer of its own while it traces the per-example function.
"""

from __future__ import annotations

from typing import Any

ACTIVE: Any = None


class Unknown:
    """The value of a node that a trace stands in for but may not read (one example of a
    ``vmap`` batch): checks that look at values they already know skip these."""

    __slots__ = ()


def note_hook(hook: Any) -> None:
    """Tell the tracer, if any, that a user hook runs: a replay will not run it again, so
    the tracer checks whether it changes Python state (see ``compiled._hook_leaves``)."""
    if ACTIVE is not None:
        ACTIVE.note_hook(hook)
