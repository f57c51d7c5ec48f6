"""``torch.func``'s derivative transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd`` and ``hessian``.

Every one is srcgrad's own reverse mode (``autograd.grad`` over the recorded graph):

- ``vjp`` and ``grad`` differentiate the recorded function directly;
- ``jvp`` uses the double-vjp identity: ``u -> J^T u`` is linear in ``u``, so the gradient
  of ``(J^T u) . t`` with respect to ``u`` is ``J t``;
- ``jacrev`` is ``vmap`` of the vjp over the rows of an identity, ``jacfwd`` ``vmap`` of
  the jvp over its columns (one batched program each, not one backward per row);
- ``hessian`` is ``jacfwd(jacrev(f))``.

Arguments and results may be pytrees (tuples, lists, dicts) of tensors, as in torch.func.
Results are plain tensors unless an enclosing transform (or a caller's tensor that
requires grad) is watching, in which case they stay differentiable, so transforms nest:
``grad(grad(f))``, ``vmap(grad(f))``, ``jacrev(jacrev(f))``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..autodiff import grad as _autograd_grad
from ..grad_mode import _state as _grad_state
from ..grad_mode import enable_grad
from ..tensor import Tensor, eye, zeros_like
from . import pytree
from .batching import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian"]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _flatten(tree: Any) -> tuple[list, Any]:
    return pytree.tree_flatten(tree, is_leaf=_is_tensor)


def _unflatten(treedef: Any, leaves: list) -> Any:
    return pytree.tree_unflatten(treedef, leaves)


def _argnums(argnums: Any, n_args: int, api: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not nums or not all(isinstance(i, int) for i in nums):
        raise RuntimeError(f"{api}: argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    out = []
    for i in nums:
        if not -n_args <= i < n_args:
            raise RuntimeError(f"{api}: Got argnums={i}, but only {n_args} positional inputs")
        out.append(i % n_args)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{api}: argnums must be unique, got {argnums}")
    return tuple(out)


class _Level:
    """The differentiable inputs of one transform call: fresh leaves for the caller's
    tensors, or the tensors themselves when something outside is watching them."""

    def __init__(self, trees: list, api: str) -> None:
        self.treedefs = []
        self.leaves: list[Tensor] = []
        self.counts = []
        self.watched = False
        new_trees = []
        for tree in trees:
            leaves, treedef = _flatten(tree)
            fresh = []
            for x in leaves:
                if not isinstance(x, Tensor):
                    raise RuntimeError(f"{api}: expected the differentiated arguments to be Tensors (or "
                                       f"tuples/lists/dicts of them), got {type(x).__name__}")
                if not x.dtype.is_floating_point:
                    raise RuntimeError(f"{api}: only Tensors of floating point dtype can require gradients "
                                       f"(got {x.dtype})")
                if x.requires_grad and _grad_state.enabled:
                    self.watched = True  # an enclosing transform or the caller differentiates through us
                    fresh.append(x.view_as(x))  # (a distinct input even when one tensor is passed twice)
                else:
                    fresh.append(x.detach().requires_grad_(True))
            self.treedefs.append(treedef)
            self.counts.append(len(fresh))
            self.leaves += fresh
            new_trees.append(_unflatten(treedef, fresh))
        self.trees = new_trees

    def grads(self, outputs: list, seeds: list | None, retain: bool = False) -> list:
        """One gradient per leaf (zeros where unused), regrouped per tree."""
        gs = _autograd_grad(outputs, self.leaves, seeds, retain_graph=True if retain else None,
                            create_graph=True, allow_unused=True)
        gs = [g if g is not None else zeros_like(x) for g, x in zip(gs, self.leaves)]
        if not self.watched:
            gs = [g.detach() for g in gs]
        out, k = [], 0
        for treedef, n in zip(self.treedefs, self.counts):
            out.append(_unflatten(treedef, gs[k:k + n]))
            k += n
        return out

    def result(self, tree: Any) -> Any:
        """An output handed back: detached unless someone outside is watching."""
        if self.watched:
            return tree
        return pytree.tree_map(lambda t: t.detach() if isinstance(t, Tensor) else t, tree, is_leaf=_is_tensor)


def _split_aux(out: Any, has_aux: bool, api: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) if has_aux is True")
    return out


def _call_at_level(func: Callable, args: tuple, kwargs: dict, nums: tuple, has_aux: bool, api: str) -> tuple:
    """``(level, output, aux)``: ``func`` called with ``args[nums]`` made differentiable."""
    level = _Level([args[i] for i in nums], api)
    call_args = list(args)
    for i, tree in zip(nums, level.trees):
        call_args[i] = tree
    out, aux = _split_aux(func(*call_args, **kwargs), has_aux, api)
    return level, out, aux


def _tensor_leaves(out: Any, api: str) -> tuple[list, Any]:
    outs, out_def = _flatten(out)
    if not outs:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output")
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output and only returns "
                               f"Tensors (or tuples/lists/dicts of them), got {type(o)}")
    return outs, out_def


def grad_and_value(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """``torch.func.grad_and_value``: ``(gradient, value)`` (``((gradient, (value, aux))`` with
    ``has_aux``) of scalar-valued ``func`` with respect to ``args[argnums]``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "grad_and_value(f)(*args)")
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                                   f"got tensor with {out.dim()} dims. Maybe you wanted to use the vjp or "
                                   "jacrev APIs instead?")
            grads = level.grads([out], None)
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = level.result(out)
        return (g, (value, level.result(aux))) if has_aux else (g, value)

    return wrapper


def grad(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """``torch.func.grad``: the gradient of scalar-valued ``func`` with respect to
    ``args[argnums]`` (a tensor or a pytree of tensors; a tuple for tuple ``argnums``)."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``torch.func.vjp``: ``(func(*primals), vjp_fn)`` (and ``aux``); ``vjp_fn(cotangents)``
    returns one gradient per primal, as a tuple."""
    with enable_grad():
        level = _Level(list(primals), "vjp(f, *primals)")
        out, aux = _split_aux(func(*level.trees), has_aux, "vjp(f, *primals)")
    outs, out_def = _tensor_leaves(out, "vjp(f, *primals)")

    def vjp_fn(cotangents: Any, *, retain_graph: bool = True, create_graph: bool | None = None) -> tuple:
        cts, ct_def = _flatten(cotangents)
        if ct_def != out_def:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree structure of "
                               f"outputs to the function. cotangents: {ct_def}, primal output: {out_def}")
        for c, o in zip(cts, outs):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[0] has a shape of {c.shape} and output[0] "
                                   f"has a shape of {o.shape}.")
        with enable_grad():
            return tuple(level.grads(outs, cts, retain=retain_graph))

    value = level.result(out)
    return (value, vjp_fn, level.result(aux)) if has_aux else (value, vjp_fn)


def _jvp_of(level: _Level, outs: list, tangents: list) -> list:
    """``J t`` for each output, by the double-vjp identity."""
    dummies = [zeros_like(o).requires_grad_(True) for o in outs]
    g = _autograd_grad(outs, level.leaves, dummies, retain_graph=True, create_graph=True, allow_unused=True)
    pairs = [(gi, t) for gi, t in zip(g, tangents) if gi is not None]
    if not pairs:
        return [zeros_like(o) for o in outs]
    res = _autograd_grad([p[0] for p in pairs], dummies, [p[1] for p in pairs], retain_graph=True,
                         create_graph=True, allow_unused=True)
    res = [r if r is not None else zeros_like(o) for r, o in zip(res, outs)]
    return res if level.watched else [r.detach() for r in res]


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (and ``aux``)."""
    if not isinstance(primals, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    if not isinstance(tangents, tuple):
        raise RuntimeError("jvp(f, primals, tangents): Expected tangents to be a tuple of the same structure as "
                           "primals.")
    p_flat, p_def = _flatten(primals)
    t_flat, t_def = _flatten(tangents)
    if p_def != t_def:
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same python "
                           f"structure. For example, if primals is a tuple of 3 tensors, tangents also must be. "
                           f"Got primals with structure {p_def} and tangents with structure {t_def}")
    for p, t in zip(p_flat, t_flat):
        if not isinstance(t, Tensor) or tuple(t.shape) != tuple(p.shape):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same shapes "
                               f"(got primal {tuple(p.shape)} and tangent "
                               f"{tuple(getattr(t, 'shape', ()))})")
    with enable_grad():
        level = _Level(list(primals), "jvp(f, primals, tangents)")
        out, aux = _split_aux(func(*level.trees), has_aux, "jvp(f, primals, tangents)")
        outs, out_def = _tensor_leaves(out, "jvp(f, primals, tangents)")
        jv = _jvp_of(level, outs, t_flat)
    return ((level.result(out), _unflatten(out_def, jv), level.result(aux)) if has_aux
            else (level.result(out), _unflatten(out_def, jv)))


def _basis(like: list) -> Tensor:
    """The identity over all elements of ``like`` (one row per element), in their dtype."""
    n = sum(x.numel() for x in like)
    return eye(n, dtype=like[0].dtype, device=like[0].device)


def _chunks(t: Tensor, dim: int, like: list) -> list:
    """``t`` cut along ``dim`` into one piece per tensor of ``like``, of its number of elements."""
    if len(like) == 1:
        return [t]
    out, k = [], 0
    for x in like:
        out.append(t.narrow(dim, k, x.numel()))
        k += x.numel()
    return out


def _pieces(v: Tensor, like: list) -> list:
    """A flat vector cut into tensors shaped like ``like``."""
    return [p.reshape(tuple(x.shape)) for x, p in zip(like, _chunks(v, 0, like))]


def jacrev(func: Callable, argnums: int | tuple = 0, *, has_aux: bool = False, chunk_size: int | None = None,
           _preallocate_and_copy: bool = False) -> Callable:
    """``torch.func.jacrev``: the Jacobian of ``func`` with respect to ``args[argnums]`` by
    reverse mode: ``vmap`` of the vector-Jacobian product over the rows of an identity.
    Entry ``[out][arg]`` has shape ``out.shape + arg.shape``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacrev(f, argnums)(*args)")
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "jacrev(f, argnums)(*args)")
            outs, out_def = _tensor_leaves(out, "jacrev(f, argnums)(*args)")
            leaves = level.leaves

            def row(v: Tensor) -> tuple:
                gs = _autograd_grad(outs, leaves, _pieces(v, outs), retain_graph=True, create_graph=True,
                                    allow_unused=True)
                return tuple(g if g is not None else zeros_like(x) for g, x in zip(gs, leaves))

            rows = vmap(row)(_basis(outs))  # per leaf: (total output elements, *leaf.shape)
            jac = [[part.reshape(tuple(o.shape) + tuple(x.shape)) for o, part in zip(outs, _chunks(r, 0, outs))]
                   for x, r in zip(leaves, rows)]
        return _assemble(jac, outs, out_def, level, nums, argnums, aux, has_aux)

    return wrapper


def _assemble(jac: list, outs: list, out_def: Any, level: _Level, nums: tuple, argnums: Any, aux: Any,
              has_aux: bool) -> Any:
    """``jac[leaf][output]`` -> torch.func's layout: the output's structure outside, the
    differentiated arguments' structure inside (a tuple over argnums when it is a tuple)."""
    per_out = []
    for j in range(len(outs)):
        col = [jac[i][j] if level.watched else jac[i][j].detach() for i in range(len(level.leaves))]
        trees, k = [], 0
        for treedef, n in zip(level.treedefs, level.counts):
            trees.append(_unflatten(treedef, col[k:k + n]))
            k += n
        per_out.append(trees[0] if isinstance(argnums, int) else tuple(trees))
    result = _unflatten(out_def, per_out)
    return (result, level.result(aux)) if has_aux else result


def jacfwd(func: Callable, argnums: int | tuple = 0, has_aux: bool = False, *, randomness: str = "error") -> Callable:
    """``torch.func.jacfwd``: the Jacobian of ``func`` with respect to ``args[argnums]`` from
    Jacobian-vector products (``vmap`` of the double-vjp jvp over the columns of an identity).
    Same values and layout as ``jacrev``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args), "jacfwd(f, argnums)(*args)")
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "jacfwd(f, argnums)(*args)")
            outs, out_def = _tensor_leaves(out, "jacfwd(f, argnums)(*args)")
            leaves = level.leaves
            dummies = [zeros_like(o).requires_grad_(True) for o in outs]
            g = _autograd_grad(outs, leaves, dummies, retain_graph=True, create_graph=True, allow_unused=True)

            def column(t: Tensor) -> tuple:
                pairs = [(gi, ti) for gi, ti in zip(g, _pieces(t, leaves)) if gi is not None]
                if not pairs:
                    return tuple(zeros_like(o) for o in outs)
                res = _autograd_grad([p[0] for p in pairs], dummies, [p[1] for p in pairs], retain_graph=True,
                                     create_graph=True, allow_unused=True)
                return tuple(r if r is not None else zeros_like(o) for r, o in zip(res, outs))

            cols = vmap(column, randomness=randomness)(_basis(leaves))  # per output: (total input elements, *out.shape)
            jac = [[None] * len(outs) for _ in leaves]
            for j, (o, c) in enumerate(zip(outs, cols)):
                for i, (x, part) in enumerate(zip(leaves, _chunks(c, 0, leaves))):
                    jac[i][j] = part.movedim(0, -1).reshape(tuple(o.shape) + tuple(x.shape))
        return _assemble(jac, outs, out_def, level, nums, argnums, aux, has_aux)

    return wrapper


def hessian(func: Callable, argnums: int | tuple = 0) -> Callable:
    """``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)

