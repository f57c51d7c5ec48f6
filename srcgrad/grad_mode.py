"""Grad mode: whether new ops are recorded for autograd (thread-local, as in PyTorch)."""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import ir

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are recorded for backward."""
    return _state.enabled


class _GradModeContext:
    """Base of the grad-mode switches: usable as ``with`` block and as decorator,
    with or without parentheses (``@no_grad()`` and ``@no_grad``, as PyTorch 2)."""

    _mode: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is not set_grad_enabled and len(args) == 1 and not kwargs and callable(args[0]) \
                and not isinstance(args[0], bool):
            return cls()(args[0])  # used as a bare decorator: `@no_grad`
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper  # type: ignore[return-value]


class no_grad(_GradModeContext):  # noqa: N801 - the PyTorch name
    """Disable gradient recording: ``with no_grad():`` or ``@no_grad()``."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Enable gradient recording inside a ``no_grad`` region."""

    _mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """``set_grad_enabled(False)`` switches at once; also usable as a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __enter__(self) -> None:
        pass  # already switched in __init__, as torch.set_grad_enabled does

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        # As a decorator it only applies inside the function: undo the switch made in __init__.
        _state.enabled = self._prev
        return super().__call__(fn)


# Inference mode marks the stretches of node ids recorded while it is on
# (``Tensor.is_inference()``): alternating start and end ids, an odd length while the
# last stretch is still open. Nothing on the recording path changes: ids are counted anyway.
_inference_bounds: list[int] = []


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (and False inside ``inference_mode(False)``)."""
    return len(_inference_bounds) % 2 == 1


def _set_inference(flag: bool) -> None:
    if flag != is_inference_mode_enabled():
        at = ir._next_id()
        if flag and _inference_bounds and _inference_bounds[-1] >= at - 1:
            _inference_bounds.pop()  # nothing recorded since the last stretch ended: extend it (a loop of blocks)
        else:
            _inference_bounds.append(at)


def is_inference_node(node: Any) -> bool:
    """Whether ``node`` was recorded in inference mode."""
    return bisect.bisect_right(_inference_bounds, node.id) % 2 == 1


class inference_mode(no_grad):  # noqa: N801
    """``no_grad`` whose tensors report ``is_inference()``; ``inference_mode(False)`` turns it off
    inside an inference-mode region (process-wide, not per thread). ``with`` block or decorator."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = not mode
        self._inference = bool(mode)

    def __enter__(self) -> None:
        super().__enter__()
        self._prev_inference = is_inference_mode_enabled()
        _set_inference(self._inference)

    def __exit__(self, *exc: object) -> None:
        _set_inference(self._prev_inference)
        super().__exit__(*exc)

    def __call__(self, fn: F) -> F:
        inference = self._inference

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
