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


def _prep(inputs: Any) -> tuple:
    return tuple(t.detach().requires_grad_(True) for t in _tup(inputs))


def _unwrap(value: tuple, like: Any) -> Any:
    return value if isinstance(like, tuple) else value[0]


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs)
    out = func(*xs)
    outs = _tup(out)
    vs = _tup(v) if v is not None else tuple(None for _ in outs)
    gs = grad(outs, xs, vs, create_graph=create_graph, allow_unused=True)
    gs = tuple(g if g is not None else T.zeros_like(x) for g, x in zip(gs, xs))
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    return _unwrap(tuple(detach(o) for o in outs), out), _unwrap(tuple(detach(g) for g in gs), inputs)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs)
    out = func(*xs)
    outs = _tup(out)
    us = tuple(T.zeros_like(o).requires_grad_(True) for o in outs)
    gs = grad(outs, xs, us, create_graph=True, allow_unused=True)
    pairs = [(g, vv) for g, vv in zip(gs, _tup(v) if v is not None else tuple(T.ones_like(x) for x in xs))
             if g is not None]
    total = sum(((g * vv).sum() for g, vv in pairs), T.zeros(()))
    jv = grad([total], us, create_graph=create_graph, allow_unused=True)
    jv = tuple(j if j is not None else T.zeros_like(o) for j, o in zip(jv, outs))
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    return _unwrap(tuple(detach(o) for o in outs), out), _unwrap(tuple(detach(j) for j in jv), out)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    xs = _prep(inputs)
    out = func(*xs)
    outs = _tup(out)
    result = []
    for o in outs:
        per_input: list[list[T.Tensor]] = [[] for _ in xs]
        flat = o.reshape(-1)
        for i in range(flat.numel()):
            gs = grad([flat[i]], xs, retain_graph=True, create_graph=create_graph, allow_unused=True)
            for k, (g, x) in enumerate(zip(gs, xs)):
                per_input[k].append(g if g is not None else T.zeros_like(x))
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
        gs = grad([func(*xs)], xs, create_graph=True, allow_unused=True)
        gs = tuple(g if g is not None else T.zeros_like(x) for g, x in zip(gs, xs))
        return _unwrap(gs, inputs)

    return jacobian(gradient, inputs, create_graph=create_graph)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False) -> tuple:
    xs = _prep(inputs)
    out = func(*xs)
    gs = grad([out], xs, create_graph=True, allow_unused=True)
    total = sum(((g * vv).sum() for g, vv in zip(gs, _tup(v)) if g is not None), T.zeros(()))
    h = grad([total], xs, create_graph=create_graph, allow_unused=True)
    h = tuple(hh if hh is not None else T.zeros_like(x) for hh, x in zip(h, xs))
    detach = (lambda t: t) if create_graph else (lambda t: t.detach())
    return detach(out), _unwrap(tuple(detach(x) for x in h), inputs)


hvp = vhp  # the Hessian is symmetric
