"""``torch.utils.checkpoint``: activation checkpointing built on ``autograd.Function``.

The checkpointed function runs under ``no_grad`` in the forward (no graph is kept for its
inside) and runs again under ``enable_grad`` in the backward, whose graph then gives the
gradients. The RNG state of the forward is restored for the recomputation
(``preserve_rng_state=True``), so dropout masks agree.

- ``use_reentrant=True`` (PyTorch's default when the argument is left out, with its warning)
  is PyTorch's ``CheckpointFunction``: the backward runs a nested ``autograd.backward`` on the
  recomputed graph, which accumulates the gradients of parameters used inside straight into
  their ``.grad``; like PyTorch, only tensor arguments become inputs of the Function, so when
  none of them requires grad nothing gets gradients, and ``autograd.grad`` cannot reach
  parameters used inside.
- ``use_reentrant=False`` makes every tensor that requires grad and that the function reads
  (its arguments, keyword arguments, parameters and other captured tensors, found in srcgrad's
  recorded graph) an input of the Function, so its gradients flow through the ordinary graph:
  ``backward``, ``autograd.grad``, ``create_graph`` and keyword arguments all work.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .. import autograd
from .. import random as _random
from ..autograd.function import Function
from ..grad_mode import enable_grad, is_grad_enabled, no_grad
from ..tensor import Tensor, wrap

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointFunction", "CheckpointError", "check_backward_validity",
           "detach_variable", "noop_context_fn"]


class CheckpointError(RuntimeError):
    """Raised when the recomputation in the backward does not match the forward."""


def noop_context_fn() -> tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]:
    """The default ``context_fn``: no context around the forward nor the recomputation."""
    return contextlib.nullcontext(), contextlib.nullcontext()


def detach_variable(inputs: tuple) -> tuple:
    """Detached copies of the tensors in ``inputs`` that keep their ``requires_grad``."""
    if not isinstance(inputs, tuple):
        raise RuntimeError(f"Only tuple of tensors is supported. Got Unsupported input type: {type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad_(inp.requires_grad)
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """PyTorch's warning when no tensor argument requires grad."""
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None", stacklevel=3)


@contextlib.contextmanager
def _forked_rng(state: Any) -> Any:
    """Run a block with the RNG set to ``state`` (None: leave it alone); restore it afterwards."""
    if state is None:
        yield
        return
    outer = _random.fork_state()
    _random.restore_state(state)
    try:
        yield
    finally:
        _random.restore_state(outer)


class CheckpointFunction(Function):
    """The ``use_reentrant=True`` checkpoint (PyTorch's class of the same name)."""

    @staticmethod
    def forward(ctx: Any, run_function: Callable, preserve_rng_state: bool, *args: Any) -> Any:
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.fwd_rng_state = _random.fork_state() if preserve_rng_state else None
        ctx.inputs = []
        ctx.tensor_indices = []
        tensor_inputs = []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensor_inputs.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensor_inputs)
        with no_grad():
            return run_function(*args)

    @staticmethod
    def backward(ctx: Any, *args: Any) -> tuple:
        inputs = list(ctx.inputs)
        for i, idx in enumerate(ctx.tensor_indices):
            inputs[idx] = ctx.saved_tensors[i]
        with _forked_rng(ctx.fwd_rng_state):
            detached_inputs = detach_variable(tuple(inputs))
            with enable_grad():
                outputs = ctx.run_function(*detached_inputs)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outputs_with_grad = []
        args_with_grad = []
        for out, g in zip(outputs, args):
            if isinstance(out, Tensor) and out.requires_grad:
                outputs_with_grad.append(out)
                args_with_grad.append(g)
        if not outputs_with_grad:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        autograd.backward(outputs_with_grad, args_with_grad)
        grads = tuple(inp.grad if isinstance(inp, Tensor) else None for inp in detached_inputs)
        return (None, None) + grads


class _Recorded:
    """What the non-reentrant backward needs: the function, its arguments, the forward's outputs."""

    __slots__ = ("function", "args", "kwargs", "outputs", "rng_state", "recompute_ctx", "arg_nodes")


class _NonReentrantCheckpoint(Function):
    @staticmethod
    def forward(ctx: Any, rec: _Recorded, *tensors: Any) -> Any:
        ctx.rec = rec
        ctx.save_for_backward(*tensors)
        return rec.outputs  # computed (under no_grad) before apply, where its inputs were found

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> tuple:
        rec = ctx.rec
        tensors = ctx.saved_tensors
        create_graph = is_grad_enabled()  # the transformer records the backward when create_graph=True
        # Recompute from detached copies of the tensor arguments, so that the gradients stop at
        # them (leaves); tensors the function captured are used as they are.
        detached = {id(t._node): t.detach().requires_grad_(t.requires_grad) for t in tensors
                    if id(t._node) in rec.arg_nodes}

        def swap(a: Any) -> Any:
            return detached.get(id(a._node), a) if isinstance(a, Tensor) else a

        args = tuple(swap(a) for a in rec.args)
        kwargs = {k: swap(v) for k, v in rec.kwargs.items()}
        with _forked_rng(rec.rng_state), enable_grad(), rec.recompute_ctx:
            outputs = rec.function(*args, **kwargs)
        outs = outputs if isinstance(outputs, tuple) else (outputs,)
        pairs = [(o, g) for o, g in zip(outs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        wanted = [detached.get(id(t._node), t) for t in tensors if t.requires_grad]
        if not pairs or not wanted:
            return (None,) * (1 + len(tensors))
        gs = iter(autograd.grad([o for o, _ in pairs], wanted, [g for _, g in pairs], allow_unused=True,
                                retain_graph=True, create_graph=create_graph))
        return (None, *(next(gs) if t.requires_grad else None for t in tensors))


def _tensors_read(outputs: Any) -> list[Tensor]:
    """The tensors that require grad and that ``outputs`` (recorded under no_grad) were computed
    from: the function's arguments and whatever it captured (parameters, closures)."""
    stack = [o._node for o in (outputs if isinstance(outputs, (tuple, list)) else (outputs,))
             if isinstance(o, Tensor)]
    seen: set[int] = set()
    found = []
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if n.requires_grad:
            found.append(n)
            continue
        stack.extend(n.inputs)
    found.sort(key=lambda n: n.id)
    return [wrap(n) for n in found]


def _checkpoint_without_reentrant(function: Callable, preserve: bool, context_fn: Callable, args: tuple,
                                  kwargs: dict) -> Any:
    rng_state = _random.fork_state() if preserve else None
    forward_ctx, recompute_ctx = context_fn()
    with no_grad(), forward_ctx:
        outputs = function(*args, **kwargs)
    if not is_grad_enabled():
        return outputs
    tensors = _tensors_read(outputs)
    if not tensors:
        return outputs
    rec = _Recorded()
    rec.function, rec.args, rec.kwargs, rec.outputs = function, args, kwargs, outputs
    rec.rng_state, rec.recompute_ctx = rng_state, recompute_ctx
    rec.arg_nodes = {id(a._node) for a in (*args, *kwargs.values()) if isinstance(a, Tensor)}
    return _NonReentrantCheckpoint.apply(rec, *tensors)


def checkpoint(function: Callable, *args: Any, use_reentrant: bool | None = None,
               context_fn: Callable = noop_context_fn, determinism_check: str = "default", debug: bool = False,
               early_stop: bool = True, **kwargs: Any) -> Any:
    """Run ``function(*args, **kwargs)`` without keeping its intermediate graph; recompute it in
    the backward. ``preserve_rng_state`` (default True) may be passed as a keyword."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be "
            "passed explicitly. Starting in PyTorch 2.9, calling checkpoint "
            "without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default "
            "behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.",
            stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    return _checkpoint_without_reentrant(function, preserve, context_fn, args, kwargs)


def checkpoint_sequential(functions: Any, segments: int, input: Any, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Any:
    """Split ``functions`` (an ``nn.Sequential`` or a list of modules/functions) into ``segments``
    chunks and checkpoint all but the last."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
            "parameter should be passed explicitly. "
            "In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is "
            "recommended, but if you need to preserve the current default "
            "behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start: int, end: int, functions: Any) -> Callable:
        def forward(input: Any) -> Any:
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
