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

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from .. import dtypes as D
from .. import ir
from .. import tensor as T
from ..grad_mode import _anomaly, note_forward_trace
from ..grad_mode import _state as _grad_state


class FunctionCtx:
    """The ``ctx`` of a custom Function: save tensors and any attributes for backward."""

    def __init__(self) -> None:
        self._saved: tuple = ()
        self._saved_versions: list | None = None  # set when apply returns
        self._fn_name = "a custom Function"
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._non_differentiable: set[int] = set()
        self._dirty: set[int] = set()
        self._out_grads: dict[int, Any] = {}
        # per output of forward: ("diff", fn_out node), ("zeros", shape, dtype, device), or None
        self._out_specs: list = []
        self._freed = False  # set by free() once a backward without retain_graph has run
        self._packed: list | None = None  # per saved tensor (packed, unpack_hook) under saved_tensors_hooks
        self._saved_forward: tuple | None = None  # save_for_forward's tensors
        self._in_jvp = False  # while jvp runs, saved_tensors are save_for_forward's

    def save_for_backward(self, *tensors: Any) -> None:
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, T.Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {k} is of type "
                                f"{type(t).__name__}")
        self._saved = tuple(tensors)

    def save_for_forward(self, *tensors: Any) -> None:
        """Save tensors for ``jvp`` (forward-mode AD): inside ``jvp``, ``saved_tensors`` gives these."""
        for t in tensors:
            assert isinstance(t, T.Tensor) or t is None, (
                "save_for_forward expects all arguments to be tensors; you should save non-tensors as attributes "
                "on ctx.")
        self._saved_forward = tuple(tensors)

    def free(self) -> None:
        """Release the saved tensors, as PyTorch does after a backward without ``retain_graph``:
        reading ``saved_tensors`` afterwards raises the "backward through the graph a second
        time" error."""
        self._freed = True
        self._saved = ()
        self._saved_versions = None
        self._packed = None

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``; raises PyTorch's error when one of
        them has been modified in place since ``apply`` returned, or after the graph was freed."""
        if self._in_jvp and self._saved_forward is not None:
            return self._saved_forward
        if self._freed:
            raise RuntimeError(_BACKWARD_TWICE)
        versions = self._saved_versions
        if versions is not None:
            for k, (t, v) in enumerate(zip(self._saved, versions)):
                if v is not None and t._version != v:
                    n = t._node
                    kind = {"float32": "FloatTensor", "float64": "DoubleTensor"}.get(n.dtype.name, "Tensor")
                    # as PyTorch: named after the tensor's grad_fn now (no clause for a leaf)
                    clause = ""
                    if n.requires_grad and not n.leaf and n.inputs:
                        from .graph import grad_fn_of, output_nr
                        name = grad_fn_of(n).name().rsplit("::", 1)[-1]
                        name = name[:name.rindex("Backward")] if "Backward" in name else name
                        clause = f", which is output {output_nr(n)} of {name},"
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been modified by an "
                        f"inplace operation: [torch.{kind} {list(n.shape)}]{clause} is at version "
                        f"{t._version}; expected version {v} instead. The tensor was saved by "
                        f"{self._fn_name}.save_for_backward (saved tensor {k}). Hint: use an out-of-place op "
                        f"or .clone() the tensor before changing it.")
        if self._packed is not None:
            from .saved_hooks import unpack
            return tuple(None if p is None else unpack(*p) for p in self._packed)
        return self._saved

    @saved_tensors.setter
    def saved_tensors(self, value: tuple) -> None:
        self._saved = tuple(value)

    def mark_non_differentiable(self, *tensors: Any) -> None:
        self._non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors: Any) -> None:
        """Declare tensors that forward modified in place (they must be returned as outputs)."""
        self._dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def stash(self, k: int, g: Any) -> None:
        prev = self._out_grads.get(k)
        self._out_grads[k] = g if prev is None else prev + g


_BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


class BackwardCFunction(FunctionCtx):
    """The class of a custom Function's ``ctx`` (in PyTorch also its ``grad_fn``):
    ``ctx.apply(*grads)`` calls the Function's backward."""

    _forward_cls: type

    def apply(self, *args: Any) -> Any:
        return user_backward(self._forward_cls)(self, *args)


def user_backward(cls: type) -> Callable:
    """The Function's backward: ``backward``, or ``vjp``, its other name in PyTorch."""
    backward, vjp = cls.backward, cls.vjp
    if backward is not Function.backward and vjp is not Function.vjp:
        raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is not allowed. You should "
                           "only implement one of them.")
    return vjp if vjp is not Function.vjp else backward


def once_differentiable(fn: Callable) -> Callable:
    """Decorate a custom Function's ``backward`` that cannot itself be differentiated: it
    runs without recording. Where a double backward could reach it (grad mode on and a
    gradient that requires grad, as with ``create_graph=True``), its results require grad
    behind a grad_fn that raises when differentiated, as PyTorch's ``DelayedError``."""
    @functools.wraps(fn)
    def wrapper(ctx: Any, *args: Any) -> Any:
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            outputs = fn(ctx, *args)
        finally:
            _grad_state.enabled = prev
        if not prev or not any(isinstance(a, T.Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        fakes = [o.detach().requires_grad_(True) if isinstance(o, T.Tensor) and o.dtype.is_floating_point else o
                 for o in ((outputs,) if single else outputs)]
        errors = _DelayedError.apply(*fakes)
        return errors if single else tuple(errors) if isinstance(errors, tuple) else (errors,)
    return wrapper


class Function:
    """Base class for custom differentiable functions (``forward``/``backward`` static methods).

    ``forward(ctx, *args)`` may instead be written ``forward(*args)`` together with
    ``setup_context(ctx, inputs, output)``, as in PyTorch 2."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            f"{self.__class__} should not be instantiated. Methods on autograd functions "
            "are all static, so you should invoke them on the class itself. "
            "Instantiating an autograd function will raise an "
            "error in a future version of PyTorch.",
            DeprecationWarning,
            stacklevel=2,
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. "
            "Please use new-style autograd function with static forward method. "
            "(Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    vjp = backward  # (PyTorch's other name for backward: a Function may define either)

    @staticmethod
    def jvp(ctx: Any, *grad_inputs: Any) -> Any:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use "
                                  "it with forward mode AD.")

    @staticmethod
    def vmap(info: Any, in_dims: Any, *args: Any) -> Any:
        raise NotImplementedError("To use autograd.Function with vmap, you must either override the vmap "
                                  "staticmethod or set generate_vmap_rule=True.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        ctx = BackwardCFunction()
        ctx._forward_cls = cls
        ctx._fn_name = cls.__name__
        setup_ctx = cls.setup_context is not Function.setup_context
        if setup_ctx:  # PyTorch binds forward's signature: defaults fill `inputs` and needs_input_grad
            bound = inspect.signature(cls.forward).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs
        tensor_args = [a for a in args if isinstance(a, T.Tensor)]
        if ir.keep_history and tensor_args and cls.jvp is Function.jvp:  # a dual level is open
            from .forward_ad import tangent_of
            if any(tangent_of(t) is not None for t in tensor_args):  # (PyTorch refuses at apply)
                Function.jvp(None)
        in_nodes = tuple(t._node for t in tensor_args)  # before forward changes any in place
        ctx.needs_input_grad = tuple(isinstance(a, T.Tensor) and a.requires_grad for a in args)
        ctx._arg_is_tensor = [isinstance(a, T.Tensor) for a in args]
        prev = _grad_state.enabled
        _grad_state.enabled = False
        first_id = ir._next_id()
        try:
            if setup_ctx:
                result = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args, **kwargs)
        finally:
            _grad_state.enabled = prev
        if ir.keep_history:  # a dual level is open: what forward computed carries no tangent
            from .forward_ad import note_function_forward
            note_function_forward(first_id, ir._next_id())
        single = not isinstance(result, tuple)
        outs = (result,) if single else result
        differentiable = prev and any(n.requires_grad for n in in_nodes)
        # (while a forward-AD dual level is open the call is recorded even without grad:
        # the outputs' tangents come from the Function's jvp)
        if not differentiable and not (ir.keep_history and tensor_args):
            _note_versions(ctx)
            return result
        input_ids = {id(t) for t in tensor_args}
        for o in outs:
            if isinstance(o, T.Tensor) and id(o) in ctx._dirty and o._node.leaf and o._node.requires_grad:
                raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        device = tensor_args[0]._node.device
        call = ir.new_node("fn_call", in_nodes, (cls, ctx), (), D.float32, device, differentiable)
        call.sig = ("fn_call", (cls,), (), D.float32)  # the ctx is not part of the cache key
        call.special = True
        if _anomaly.enabled:
            note_forward_trace(call)
        wrapped = []
        for k, o in enumerate(outs):
            if not isinstance(o, T.Tensor):
                ctx._out_specs.append(None)
                wrapped.append(o)
                continue
            on = o._node
            if id(o) in ctx._non_differentiable or not on.dtype.is_floating_point:
                ctx._out_specs.append(("zeros", on.shape, on.dtype, on.device))
                # an input returned as it is: PyTorch hands out a new alias that does not require grad
                wrapped.append(o.detach() if id(o) in input_ids and o.requires_grad else o)
                continue
            n = ir.new_node("fn_out", (on, call), (cls, ctx, k), on.shape, on.dtype, device, differentiable)
            n.sig = ("fn_out", (cls, k), n.shape, n.dtype)
            n.special = True
            ctx._out_specs.append(("diff", n))
            if id(o) in ctx._dirty:
                # modified in place by forward: the same tensor comes back, now with this history
                # (an in-place change like any other: version, the saved-value check's chain)
                o._replace_node(n, opname=f"{cls.__name__}.apply")
                ir.set_owner(n, o)
                wrapped.append(o)
                continue
            t = T.wrap(n)
            ir.set_owner(n, t)
            wrapped.append(t)
        # Outputs saved for backward are the differentiable outputs, so that a backward
        # written with them can be differentiated again (create_graph=True).
        raw_to_wrapped = {id(o): w for o, w in zip(outs, wrapped) if w is not o}
        ctx._saved = tuple(raw_to_wrapped.get(id(t), t) for t in ctx._saved)
        if ctx._saved_forward is not None:
            ctx._saved_forward = tuple(raw_to_wrapped.get(id(t), t) for t in ctx._saved_forward)
        _note_versions(ctx)
        if T.ON_RECORD and any(getattr(w, "requires_grad", False) for w in wrapped):
            from .saved_hooks import pack_ctx
            pack_ctx(ctx)
        return wrapped[0] if single else tuple(wrapped)


class _DelayedError(Function):
    """The grad_fn behind a ``once_differentiable`` backward's results: differentiating them
    raises (PyTorch's ``Error`` node)."""

    _grad_fn_names = ("Error", "torch::autograd::Error")  # (the class name and name() PyTorch shows)

    @staticmethod
    def forward(ctx: FunctionCtx, *xs: Any) -> Any:
        return xs if len(xs) != 1 else xs[0]

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any) -> Any:
        raise RuntimeError("trying to differentiate twice a function that was marked with @once_differentiable")


def _note_versions(ctx: FunctionCtx) -> None:
    ctx._saved_versions = [t._version if isinstance(t, T.Tensor) else None for t in ctx._saved]


def call_backward(call: Any, create_graph: bool, retain_graph: bool = True) -> list:
    """Run the user's backward for one ``apply``; return one gradient per tensor argument.
    Without ``retain_graph`` the ctx is freed afterwards (its saved tensors are released)."""
    cls, ctx = call.attrs
    grads = []
    for k, spec in enumerate(ctx._out_specs):
        if spec is None:  # not a tensor
            grads.append(None)
            continue
        g = ctx._out_grads.get(k) if spec[0] == "diff" else None
        if g is None and ctx.materialize_grads:
            if spec[0] == "diff":
                node = spec[1]
                g = T.zeros(node.shape, dtype=node.dtype, device=node.device)
            else:
                g = T.zeros(spec[1], dtype=spec[2], device=spec[3])
        grads.append(g)
    ctx._out_grads = {}
    result = user_backward(cls)(ctx, *grads)
    if not retain_graph:
        ctx.free()
    result = result if isinstance(result, tuple) else (result,)
    n_args = len(ctx._arg_is_tensor)
    if len(result) > n_args and all(r is None for r in result[n_args:]):
        result = result[:n_args]  # extra trailing Nones are accepted, as in PyTorch
    if len(result) != n_args:
        raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                           f"(expected {n_args}, got {len(result)})")
    out = []
    inputs = call.inputs
    for k, (g, is_t) in enumerate(zip(result, ctx._arg_is_tensor)):
        if not is_t:
            if g is not None:
                raise RuntimeError(f"function {cls.__name__}Backward returned a gradient different than None at "
                                   f"position {k + 1}, but the corresponding forward input was not a Variable")
            continue
        if g is not None:
            if not isinstance(g, T.Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
            i = len(out)
            x = inputs[i]
            if x.requires_grad and not _expandable(x.shape, g._node.shape):
                raise RuntimeError(f"Function {cls.__name__}Backward returned an invalid gradient at index {i} - "
                                   f"got {list(g._node.shape)} but expected shape compatible with "
                                   f"{list(x.shape)}")
        out.append(g)
    return out


def _expandable(shape: tuple, to: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``to`` (PyTorch then sums the gradient back to ``shape``)."""
    if len(shape) > len(to):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(to)))


class InplaceFunction(Function):
    """Kept for backward compatibility (``torch.autograd.function.InplaceFunction``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """Kept for backward compatibility (``torch.autograd.function.NestedIOFunction``): a legacy,
    non-static Function; as in PyTorch 2 calling an instance raises the legacy-Function error.
    Subclasses define ``forward_extended`` / ``backward_extended``."""

    def forward_extended(self, *input: Any) -> None:
        raise NotImplementedError

    def backward_extended(self, *grad_output: Any) -> None:
        raise NotImplementedError

    def save_for_backward(self, *args: Any) -> None:
        self.to_save = tuple(a for a in args if isinstance(a, T.Tensor))
        self._to_save_nested = args

    def mark_dirty(self, *args: Any, **kwargs: Any) -> None:
        self.dirty_tensors = tuple(a for a in (*args, *kwargs.values()) if isinstance(a, T.Tensor))

    def mark_non_differentiable(self, *args: Any, **kwargs: Any) -> None:
        self.non_differentiable = tuple(a for a in (*args, *kwargs.values()) if isinstance(a, T.Tensor))
