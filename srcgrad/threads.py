"""``torch.set_num_threads`` and friends: stored and reported with PyTorch's checks.

XLA sizes its CPU thread pool once, when JAX creates the CPU client (at ``import srcgrad``),
so these calls cannot resize it: they keep the number a script asked for, so that
``get_num_threads()`` and code that derives work sizes from it behave as under PyTorch. To
run XLA on fewer cores, restrict the process before it starts (``taskset -c 0-3 python ...``).
"""

from __future__ import annotations

import os
from typing import Any


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # (not on Linux)
        return os.cpu_count() or 1


_intra = [_cpu_count()]
_interop = [_cpu_count()]
_interop_set = [False]


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise RuntimeError(f"{name} expects an int, but got {type(value).__name__}")
    n = value.__index__()
    if n <= 0:
        raise RuntimeError(f"{name} expects a positive integer")
    return n


def set_num_threads(nthreads: int, /) -> None:
    """Record the number of intra-op threads (XLA's pool keeps the size it started with)."""
    _intra[0] = _positive_int(nthreads, "set_num_threads")


def get_num_threads() -> int:
    """The number last given to ``set_num_threads``; at first, the cores this process may use."""
    return _intra[0]


def set_num_interop_threads(nthreads: int, /) -> None:
    """Record the number of inter-op threads; like PyTorch, only once per process."""
    n = _positive_int(nthreads, "set_num_interop_threads")
    if _interop_set[0]:
        raise RuntimeError("Error: cannot set number of interop threads after parallel work has started or "
                           "set_num_interop_threads called")
    _interop[0] = n
    _interop_set[0] = True


def get_num_interop_threads() -> int:
    return _interop[0]
