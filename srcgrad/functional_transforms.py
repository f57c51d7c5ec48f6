"""``srcgrad.grad`` and ``srcgrad.value_and_grad``: JAX-style function transforms, built on
srcgrad's own transformer (``autograd.grad``), composable (``grad(grad(f))``) and usable
inside or outside ``srcgrad.compile``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .autodiff import grad as _autograd_grad
from .grad_mode import enable_grad
from .tensor import Tensor, tensor, zeros_like


def _prepare(args: tuple, argnums: tuple) -> tuple[list, list]:
    args = list(args)
    wrt = []
    for i in argnums:
        a = args[i]
        if not isinstance(a, Tensor):
            a = tensor(a)
        if not a.dtype.is_floating_point:
            raise TypeError(f"srcgrad.grad: argument {i} must be a floating-point tensor (got {a.dtype})")
        if not a.requires_grad:
            a = a.detach().requires_grad_(True)
        args[i] = a
        wrt.append(a)
    return args, wrt


def value_and_grad(fn: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning ``(fn(*args), d fn / d args[argnums])``; ``fn`` must return a scalar tensor
    (or ``(scalar, aux)`` with ``has_aux=True``)."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outer = [i for i in nums if isinstance(args[i], Tensor) and args[i].requires_grad]
        call_args, wrt = _prepare(args, nums)
        with enable_grad():
            out = fn(*call_args, **kwargs)
            value, aux = (out if has_aux else (out, None))
            if not isinstance(value, Tensor) or value.numel() != 1:
                raise TypeError("srcgrad.grad: the function must return a scalar tensor (one element), got "
                                f"{getattr(value, 'shape', type(value).__name__)}")
            # Keep the gradient differentiable when an enclosing grad is watching the inputs.
            grads = _autograd_grad([value], wrt, create_graph=bool(outer), allow_unused=True)
        grads = tuple(g if g is not None else zeros_like(w) for g, w in zip(grads, wrt))
        g = grads[0] if isinstance(argnums, int) else grads
        v = value if outer else value.detach()
        if has_aux and not outer:
            aux = _detached(aux)  # (as torch.func: the aux output is tracked only for a watching outer grad)
        return ((v, aux), g) if has_aux else (v, g)

    wrapper.srcgrad_source = lambda: _source_of(wrapper)  # type: ignore[attr-defined]
    return wrapper


def _detached(x: Any) -> Any:
    """``x`` with every tensor in it (through tuples, lists and dicts) detached."""
    if isinstance(x, Tensor):
        return x.detach()
    if isinstance(x, (tuple, list)):
        items = [_detached(v) for v in x]
        return type(x)(*items) if hasattr(type(x), "_fields") else type(x)(items)
    if isinstance(x, dict):
        return type(x)((k, _detached(v)) for k, v in x.items())
    return x


def _source_of(fn: Callable) -> str:
    from . import inspect
    return inspect.source(fn)


def grad(fn: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar-valued ``fn`` w.r.t. ``args[argnums]``."""
    vg = value_and_grad(fn, argnums, has_aux)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        (value, aux), g = vg(*args, **kwargs) if has_aux else ((None, None), vg(*args, **kwargs)[1])
        return (g, aux) if has_aux else g

    wrapper.srcgrad_source = lambda: _source_of(wrapper)  # type: ignore[attr-defined]
    return wrapper
