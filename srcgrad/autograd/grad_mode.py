"""``inference_mode`` and ``is_inference_mode_enabled``, with the tensors made inside it.

``inference_mode`` switches grad mode off (as ``no_grad``) and marks the stretch of
node ids recorded while it is on: ``Tensor.is_inference()`` is whether a tensor's node
falls inside one. Nothing on the recording path changes: node ids are already counted.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .. import grad_mode as _gm
from .. import ir

F = TypeVar("F", bound=Callable[..., Any])

# Alternating start and end ids of the stretches recorded in inference mode; an odd
# length means the last one is still open.
_bounds: list[int] = []


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (and False inside ``inference_mode(False)``)."""
    return len(_bounds) % 2 == 1


def _set_inference(flag: bool) -> None:
    if flag != is_inference_mode_enabled():
        at = ir._next_id()
        if flag and _bounds and _bounds[-1] >= at - 1:
            _bounds.pop()  # nothing recorded since the last stretch ended: extend it (a loop of blocks)
        else:
            _bounds.append(at)


def _is_inference_node(node: Any) -> bool:
    return bisect.bisect_right(_bounds, node.id) % 2 == 1


class inference_mode(_gm.inference_mode):  # noqa: N801 - the PyTorch name
    """``no_grad`` whose tensors report ``is_inference()``; ``inference_mode(False)`` turns it off
    inside an inference-mode region. Usable as ``with`` block and as decorator."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__(mode)
        self._inference = bool(mode)

    def __enter__(self) -> None:
        super().__enter__()
        self._prev_inference = is_inference_mode_enabled()
        _set_inference(self._inference)

    def __exit__(self, *exc: object) -> None:
        _set_inference(self._prev_inference)
        super().__exit__(*exc)

    def __call__(self, fn: F) -> F:
        mode = self._inference

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
