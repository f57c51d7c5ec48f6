"""The hook through which ``@srcgrad.compile`` watches a trace (see ``compile.py``).

``ACTIVE`` is None outside a trace; while a decorated function is traced it is
the tracer, told about in-place updates, new ``.grad`` values and random ops.
"""

from __future__ import annotations

from typing import Any

ACTIVE: Any = None
