"""Custom ``autograd.Function``: the user's forward runs (and is recorded) under
no_grad; the user's backward is called by the transformer, so it is recorded
into the generated backward and compiled with it.

Recorded shape: one ``fn_call`` node per ``apply`` (its inputs are the tensor
arguments) and one ``fn_out`` node per output (inputs: the forward's result
and the call). The transformer stashes each output's gradient on the context
when it reaches the ``fn_out`` nodes, and calls ``backward`` once, at the
``fn_call`` node, after all of them.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as D
from .. import ir
from .. import tensor as T
from ..grad_mode import _state as _grad_state


class FunctionCtx:
    """The ``ctx`` of a custom Function: save tensors and any attributes for backward."""

    def __init__(self) -> None:
        self.saved_tensors: tuple = ()
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: set[int] = set()
        self._out_grads: dict[int, Any] = {}
        self._outputs: dict[int, Any] = {}

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tuple(tensors)

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        pass  # in-place ops inside forward already make new nodes in srcgrad

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def stash(self, k: int, g: Any) -> None:
        prev = self._out_grads.get(k)
        self._out_grads[k] = g if prev is None else prev + g


class Function:
    """Base class for custom differentiable functions (``forward``/``backward`` static methods)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = FunctionCtx()
        tensor_args = [a for a in args if isinstance(a, T.Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, T.Tensor) and a.requires_grad for a in args)
        ctx._arg_is_tensor = [isinstance(a, T.Tensor) for a in args]
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs)
        finally:
            _grad_state.enabled = prev
        if not (prev and any(t.requires_grad for t in tensor_args)):
            return result
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        device = tensor_args[0]._node.device
        call = ir.new_node("fn_call", tuple(t._node for t in tensor_args), (cls, ctx), (), D.float32, device, True)
        call.sig = ("fn_call", (cls,), (), D.float32)  # the ctx is not part of the cache key
        call.special = True
        wrapped = []
        for k, o in enumerate(outs):
            if not isinstance(o, T.Tensor) or id(o) in ctx._non_differentiable or not o.dtype.is_floating_point:
                wrapped.append(o)
                continue
            n = ir.new_node("fn_out", (o._node, call), (cls, ctx, k), o._node.shape, o._node.dtype, device, True)
            n.sig = ("fn_out", (cls, k), n.shape, n.dtype)
            n.special = True
            t = T.wrap(n)
            ir.set_owner(n, t)
            ctx._outputs[k] = n
            wrapped.append(t)
        # Outputs saved for backward are the differentiable outputs, so that a backward
        # written with them can be differentiated again (create_graph=True).
        raw_to_wrapped = {id(o): w for o, w in zip(outs, wrapped) if w is not o}
        ctx.saved_tensors = tuple(raw_to_wrapped.get(id(t), t) for t in ctx.saved_tensors)
        return wrapped[0] if single else tuple(wrapped)


def call_backward(call: Any, create_graph: bool) -> list:
    """Run the user's backward for one ``apply``; return one gradient per tensor argument."""
    cls, ctx = call.attrs
    grads = []
    for k, node in sorted(ctx._outputs.items()):
        g = ctx._out_grads.get(k)
        if g is None and ctx.materialize_grads:
            g = T.zeros(node.shape, dtype=node.dtype, device=node.device)
        grads.append(g)
    ctx._out_grads = {}
    result = cls.backward(ctx, *grads)
    result = result if isinstance(result, tuple) else (result,)
    n_args = len(ctx._arg_is_tensor)
    if len(result) != n_args:
        raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                           f"(expected {n_args}, got {len(result)})")
    return [g for g, is_t in zip(result, ctx._arg_is_tensor) if is_t]
