"""``torch.use_deterministic_algorithms`` and its queries: the flag is recorded and reported.

srcgrad's programs on the CPU are deterministic already (XLA's CPU reductions and scatters
run in a fixed order), so there is nothing to switch. On a GPU, XLA is deterministic only
when the process starts with ``XLA_FLAGS=--xla_gpu_deterministic_ops=true``; the flag
cannot be changed once JAX has created its backends, so this function does not try.
"""

from __future__ import annotations

from typing import Any

_mode = [False]
_warn_only = [False]


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument {what} must be bool, not "
                        f"{type(value).__name__}")
    return value


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record whether deterministic algorithms are required (and whether only as a warning)."""
    _mode[0] = _check_bool(mode, "'mode' (position 1)")
    _warn_only[0] = _check_bool(warn_only, "'warn_only'")


def are_deterministic_algorithms_enabled() -> bool:
    return _mode[0]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _warn_only[0]


def set_deterministic_debug_mode(debug_mode: str | int) -> None:
    """``"default"``/0: off, ``"warn"``/1: on, warn only, ``"error"``/2: on."""
    if not isinstance(debug_mode, (int, str)):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        names = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in names:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = names[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    _mode[0], _warn_only[0] = debug_mode != 0, debug_mode == 1


def get_deterministic_debug_mode() -> int:
    return (1 if _warn_only[0] else 2) if _mode[0] else 0
