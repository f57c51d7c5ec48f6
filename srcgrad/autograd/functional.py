"""``autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp — all by reverse mode.

Forward-mode products (jvp, hvp) use the double-vjp identity: for
``u -> J^T u`` (linear in ``u``), the gradient of ``(J^T u) . v`` w.r.t. ``u`` is ``J v``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import tensor as T
from ..autodiff import grad


def _tup(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _prep(inputs: Any, create_graph: bool) -> tuple:
    # With create_graph the results stay connected to the caller's inputs (through a view);
    # otherwise the function sees fresh leaves.
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                 for t in _tup(inputs))


def _unwrap(value: tuple, like: Any) -> Any:
    return value if isinstance(like, tuple) else value[0]


def _keep(create_graph: bool) -> Callable:
    return (lambda t: t) if create_graph else (lambda t: t.detach())


def _not_differentiable(k: int) -> RuntimeError:
    return RuntimeError(f"Output {k} of the user-provided function does not require gradients. The outputs must "
                        "be computed in a differentiable manner from the input when running in strict mode.")


def _grads(outs: tuple, xs: tuple, vs: tuple, create_graph: bool, strict: bool,
           retain_graph: bool | None = None) -> tuple:
    """Gradients of the outputs that require grad (weighted by ``vs``) w.r.t. ``xs``:
    zeros where an input is unused or nothing requires grad (strict: PyTorch's errors)."""
    pairs = []
    for k, (o, v) in enumerate(zip(outs, vs)):
        if o.requires_grad:
            pairs.append((o, v))
        elif strict:
            raise _not_differentiable(k)
    gs: tuple = (None,) * len(xs)
    if pairs:
        gs = grad([o for o, _ in pairs], xs, [v for _, v in pairs], retain_graph=retain_graph,
                  create_graph=create_graph, allow_unused=True)
    return gs


def _zeros_for_none(gs: tuple, xs: tuple, strict: bool, what: str) -> tuple:
    out = []
    for k, (g, x) in enumerate(zip(gs, xs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{what} is independent of input {k}. This is not allowed in strict mode.")
            g = T.zeros_like(x)
        out.append(g)
    return tuple(out)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    outs = _tup(out)
    vs = _tup(v) if v is not None else tuple(None for _ in outs)
    gs = _grads(outs, xs, vs, create_graph, strict)
    gs = _zeros_for_none(gs, xs, strict, "The output of the user-provided function")
    keep = _keep(create_graph)
    return _unwrap(tuple(keep(o) for o in outs), out), _unwrap(tuple(keep(g) for g in gs), inputs)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    outs = _tup(out)
    us = tuple(T.zeros_like(o).requires_grad_(True) for o in outs)
    gs = _grads(outs, xs, us, True, strict)
    pairs = [(g, vv) for g, vv in zip(gs, _tup(v) if v is not None else tuple(T.ones_like(x) for x in xs))
             if g is not None]
    total = sum(((g * vv).sum() for g, vv in pairs), T.zeros(()))
    jv: tuple = (None,) * len(us)
    if total.requires_grad:
        jv = grad([total], us, create_graph=create_graph, allow_unused=True)
    jv = tuple(j if j is not None else T.zeros_like(o) for j, o in zip(jv, outs))
    keep = _keep(create_graph)
    return _unwrap(tuple(keep(o) for o in outs), out), _unwrap(tuple(keep(j) for j in jv), out)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    outs = _tup(out)
    result = []
    for i, o in enumerate(outs):
        if not o.requires_grad and strict:
            raise _not_differentiable(i)
        per_input: list[list[T.Tensor]] = [[] for _ in xs]
        flat = o.reshape(-1)
        for e in range(flat.numel() if o.requires_grad else 0):
            gs = grad([flat[e]], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
            gs = _zeros_for_none(gs, xs, strict, f"Output {i} of the user-provided function")
            for k, g in enumerate(gs):
                per_input[k].append(g)
        row = []
        for k, x in enumerate(xs):
            j = T.stack(per_input[k]).reshape(tuple(o.shape) + tuple(x.shape)) if per_input[k] else \
                T.zeros(tuple(o.shape) + tuple(x.shape), dtype=x.dtype)
            row.append(j if create_graph else j.detach())
        result.append(_unwrap(tuple(row), inputs))
    return _unwrap(tuple(result), out)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    def gradient(*xs: Any) -> Any:
        gs = _grads((func(*xs),), xs, (None,), True, strict)
        gs = _zeros_for_none(gs, xs, strict, "Output 0 of the user-provided function")
        if strict:
            for k, g in enumerate(gs):
                if not g.requires_grad:
                    raise RuntimeError(
                        f"While computing the hessian, found that the jacobian of the user-provided function "
                        f"with respect to input {k} is independent of the input. This is not allowed in strict "
                        "mode. You should ensure that your function is twice differentiable and that the "
                        "jacobian depends on the inputs (this would be violated by a linear function for "
                        "example).")
        return _unwrap(gs, inputs)

    return jacobian(gradient, inputs, create_graph=create_graph)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs, create_graph)
    out = func(*xs)
    gs = _grads((out,), xs, (None,), True, strict)
    total = sum(((g * vv).sum() for g, vv in zip(gs, _tup(v)) if g is not None), T.zeros(()))
    h: tuple = (None,) * len(xs)
    if total.requires_grad:
        h = grad([total], xs, create_graph=create_graph, allow_unused=True)
    h = tuple(hh if hh is not None else T.zeros_like(x) for hh, x in zip(h, xs))
    keep = _keep(create_graph)
    return keep(out), _unwrap(tuple(keep(x) for x in h), inputs)


hvp = vhp  # the Hessian is symmetric
