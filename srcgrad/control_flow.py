"""``torch.cond`` and ``torch.while_loop``: PyTorch's structured control flow, with its eager meaning.

PyTorch documents both as equivalent to the Python statement (``if pred: true_fn(*operands)``;
``while cond_fn(*carried): carried = body_fn(*carried)``) and makes them capturable by
``torch.compile``. srcgrad runs them as that statement: the predicate is read on the host and
one branch (or the body, once per iteration) is recorded as ordinary ops, so gradients flow
through the branch taken. Under ``@srcgrad.compile`` reading a tensor predicate is a value read
while tracing, so the function runs define-by-run, with the one-time warning naming the line
(docs/compile.md, "Value-dependent control flow"): results are always the undecorated
function's. The grad_fn is the branch's last op, not PyTorch's ``CondAutogradOpBackward``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tensor import Tensor

__all__ = ["cond", "while_loop"]

_BAD_PRED = "Expected pred to be bool or single-element tensor, but got {}."
_BAD_COND = "cond_fn must return a bool or a single-element tensor, but returned {}."


def _truth(pred: Any, message: str) -> bool:
    """``pred`` as a Python bool (a host read of a one-element tensor); ``message`` (formatted
    with ``pred``) otherwise."""
    if isinstance(pred, Tensor) and pred.numel() == 1:
        return bool(pred.item())
    if isinstance(pred, Tensor) or not isinstance(pred, (bool, int, float)):
        raise RuntimeError(message.format(pred))
    return bool(pred)


def cond(pred: bool | int | float | Tensor, true_fn: Callable, false_fn: Callable,
         operands: tuple | list = ()) -> Any:
    """``torch.cond(pred, true_fn, false_fn, operands)``: ``true_fn(*operands)`` if ``pred`` else
    ``false_fn(*operands)``; ``pred`` a Python number or a one-element tensor."""
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    return (true_fn if _truth(pred, _BAD_PRED) else false_fn)(*operands)


def while_loop(cond_fn: Callable, body_fn: Callable, carried_inputs: tuple | list) -> tuple:
    """``torch.while_loop(cond_fn, body_fn, carried_inputs)``: apply ``body_fn`` to the carried
    values while ``cond_fn`` of them holds; returns the final carried values as a tuple."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"Expect carried_inputs to be a tuple or a list, got {type(carried_inputs)}")
    carried = tuple(carried_inputs)
    while _truth(cond_fn(*carried), _BAD_COND):
        out = body_fn(*carried)
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(carried):
            raise RuntimeError(f"body_fn should return the same number of elements as carried_inputs: "
                               f"got {len(out)} for {len(carried)}")
        carried = out
    return carried
