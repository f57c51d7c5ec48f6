"""The hook through which ``@srcgrad.compile`` watches a trace (see ``compile.py``).

``ACTIVE`` is None outside a trace; while a decorated function is traced it is
the tracer, told about in-place updates, new ``.grad`` values, random ops,
realisations (with the program's input nodes, when a program runs), backward
calls and the user hooks that run (``note_hook``). ``srcgrad.func.vmap`` installs
a tracer of its own while it traces the per-example function.
"""

from __future__ import annotations

from collections.abc import Callable
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


# -- float arguments watched while ``@srcgrad.compile`` traces a call (see compiled._trace) --

_plain_float = float.__float__  # (a watched float's value as a plain float, unwatched)


def _watched(op: str) -> Callable:
    plain = getattr(float, op)

    def method(self: WatchedFloat, *other: Any) -> Any:
        if other and not isinstance(other[0], (int, float)) and op != "__format__":  # (a format spec is text)
            return plain(self, *other)  # (a tensor operand: its reflected op records it)
        if self.used is not None:
            self.used.add(self.where)
        return plain(_plain_float(self), *other)
    method.__name__ = op
    return method


class WatchedFloat(float):
    """A float argument while a call is traced: using it in Python (arithmetic with numbers,
    comparisons, ``int``/``round``/``math.exp``) notes its position in ``used``; in tensor
    arithmetic it is a program input like any float."""

    __slots__ = ("where", "used")

    @staticmethod
    def of(value: float, where: tuple, used: set) -> WatchedFloat:
        w = WatchedFloat(value)
        w.where, w.used = where, used
        return w

    def __reduce__(self) -> tuple:
        return (float, (_plain_float(self),))

    __hash__ = float.__hash__


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
            "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__divmod__",
            "__rdivmod__", "__neg__", "__pos__", "__abs__", "__float__", "__int__", "__round__", "__trunc__",
            "__floor__", "__ceil__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__bool__",
            "__format__", "__str__", "__repr__", "hex", "as_integer_ratio", "is_integer"):
    setattr(WatchedFloat, _op, _watched(_op))
