"""``torch.func``'s derivative transforms: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``linearize``, ``jacrev``, ``jacfwd`` and ``hessian``.

Every one is srcgrad's own reverse mode (``autograd.grad`` over the recorded graph):

- ``vjp`` and ``grad`` differentiate the recorded function directly;
- ``jvp`` uses the double-vjp identity: ``u -> J^T u`` is linear in ``u``, so the gradient
  of ``(J^T u) . t`` with respect to ``u`` is ``J t``; ``linearize`` keeps the first of the
  two passes and runs only the second per tangent;
- ``jacrev`` is ``vmap`` of the vjp over the rows of an identity, ``jacfwd`` ``vmap`` of
  the jvp over its columns (one batched program each, not one backward per row);
- ``hessian`` is ``jacfwd(jacrev(f))``.

Forward mode built from reverse passes differs from PyTorch's in one place: PyTorch's
forward-mode AD ignores ``no_grad``, reverse passes do not. ``jvp``, ``jacfwd``, ``hessian``
and ``linearize`` therefore look at what the function recorded and raise, naming the
user's line, where a value computed under ``no_grad`` from the differentiated inputs
reaches the output (``_no_grad_break``), instead of returning a wrong tangent.

Arguments and results may be pytrees (tuples, lists, dicts) of tensors, as in torch.func.
Results are plain tensors unless an enclosing transform (or a caller's tensor that
requires grad) is watching, in which case they stay differentiable, so transforms nest:
``grad(grad(f))``, ``vmap(grad(f))``, ``jacrev(jacrev(f))``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from .. import autodiff, ir
from ..autodiff import grad as _autograd_grad
from ..dtypes import promote
from ..grad_mode import _state as _grad_state
from ..grad_mode import enable_grad
from ..ops import OPS
from ..random import fork_state
from ..tensor import Tensor, eye, zeros_like
from . import pytree
from .batching import Vmap, vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian", "functionalize",
           "debug_unwrap"]


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _flatten(tree: Any) -> tuple[list, Any]:
    return pytree.tree_flatten(tree, is_leaf=_is_tensor)


def _unflatten(treedef: Any, leaves: list) -> Any:
    return pytree.tree_unflatten(treedef, leaves)


def _argnums(argnums: Any, n_args: int) -> tuple[int, ...]:
    """``argnums`` checked and made non-negative, with PyTorch's messages."""
    if isinstance(argnums, int):
        nums: tuple = (argnums,)
    elif isinstance(argnums, tuple):
        if not argnums:
            raise RuntimeError("argnums must be non-empty")
        for i in argnums:
            if not isinstance(i, int):
                raise RuntimeError(f"argnum must be int, got: {type(i)}")
        if len(set(argnums)) != len(argnums):
            raise RuntimeError(f"argnums elements must be unique, got {argnums}")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for i in nums:
        if not -n_args <= i < n_args:
            raise RuntimeError(f"Got argnum={i}, but only {n_args} positional inputs")
    return tuple(i % n_args for i in nums)


def _differentiable(o: Tensor) -> bool:
    """Whether reverse mode can send a gradient back through ``o`` (an integer result, or
    one computed without the inputs, has a zero derivative)."""
    return o.dtype.is_floating_point and o.requires_grad


class _Level:
    """The differentiable inputs of one transform call: fresh leaves for the caller's
    tensors, or the tensors themselves when something outside is watching them."""

    def __init__(self, trees: list) -> None:
        self.start = ir._next_id()  # nodes recorded from here on belong to this call
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
                    raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
                if not x.dtype.is_floating_point:
                    raise RuntimeError("only Tensors of floating point dtype can require gradients")
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

    def regroup(self, flat: list) -> list:
        """One entry per leaf -> one tree per differentiated argument."""
        out, k = [], 0
        for treedef, n in zip(self.treedefs, self.counts):
            out.append(_unflatten(treedef, flat[k:k + n]))
            k += n
        return out

    def grads(self, outputs: list, seeds: list | None, retain: bool = False) -> list:
        """One gradient per leaf (zeros where unused, or where no output is differentiable),
        regrouped per tree."""
        seeds = seeds if seeds is not None else [None] * len(outputs)
        pairs = [(o, s) for o, s in zip(outputs, seeds) if _differentiable(o)]
        gs: Any = [None] * len(self.leaves)
        if pairs:
            given = None if seeds[0] is None else [s for _, s in pairs]
            gs = _autograd_grad([o for o, _ in pairs], self.leaves, given,
                                retain_graph=True if retain else None, create_graph=True, allow_unused=True)
        gs = [g if g is not None else zeros_like(x) for g, x in zip(gs, self.leaves)]
        if not self.watched:
            gs = [g.detach() for g in gs]
        return self.regroup(gs)

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
    _check_aux(out[1])
    return out


def _check_aux(aux: Any) -> None:
    """PyTorch's refusal of anything but tensors in ``aux`` (tuples, lists and dicts of them)."""
    if isinstance(aux, (tuple, list)):
        for a in aux:
            _check_aux(a)
    elif isinstance(aux, dict):
        for a in aux.values():
            _check_aux(a)
    elif not isinstance(aux, Tensor):
        raise RuntimeError(f"Expected tensors, got unsupported type {type(aux)}")


@contextlib.contextmanager
def _keeping_history() -> Iterator[None]:
    """Computed nodes keep their inputs, also once realized (a ``print`` inside the function),
    so that ``_no_grad_break`` can see the whole recorded function."""
    prev = ir.keep_history
    ir.keep_history = True
    try:
        yield
    finally:
        ir.keep_history = prev


def _call_at_level(func: Callable, args: tuple, kwargs: dict, nums: tuple, has_aux: bool, api: str,
                   forward: bool = False) -> tuple:
    """``(level, output, aux)``: ``func`` called with ``args[nums]`` made differentiable
    (``forward``: for forward mode, with the history that its no_grad check reads)."""
    level = _Level([args[i] for i in nums])
    call_args = list(args)
    for i, tree in zip(nums, level.trees):
        call_args[i] = tree
    with _keeping_history() if forward else contextlib.nullcontext(), _running_user_function():
        out, aux = _split_aux(func(*call_args, **kwargs), has_aux, api)
    return level, out, aux


@contextlib.contextmanager
def _running_user_function() -> Iterator[None]:
    """While a transform runs the user's function: a ``backward()`` there is refused."""
    autodiff.inside_func_transforms += 1
    try:
        yield
    finally:
        autodiff.inside_func_transforms -= 1


def _tensor_leaves(out: Any, api: str) -> tuple[list, Any]:
    outs, out_def = _flatten(out)
    if not outs:
        raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output")
    for o in outs:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: Expected f to be a function that has non-empty output and only returns "
                               f"Tensors (or tuples/lists/dicts of them), got {type(o)}")
    return outs, out_def


def _floating_outputs(outs: list) -> None:
    """Reverse mode's refusal of integer outputs (PyTorch's message names vjp for jacrev too)."""
    for o in outs:
        if not o.dtype.is_floating_point:
            raise RuntimeError(f"vjp(f, ...): All outputs of f must be floating-point or complex Tensors, got "
                               f"Tensor with dtype {o.dtype}")


# -- forward mode and no_grad ----------------------------------------------------------
#
# PyTorch's forward-mode AD carries tangents through no_grad regions; srcgrad's forward
# mode is two reverse passes, which stop there. Where that would change the answer, the
# transform raises instead. A node is "lost" when it depends on the differentiated inputs
# but its reverse-mode derivative misses (part of) its tangent: computed under no_grad, a
# view taken under it, or changed in place under it. The transform raises when a lost node
# is an output, or is read by a differentiable node recorded at another user line.
# (srcgrad's own composites use no_grad within one call, such as gaussian_nll_loss's
# in-place clamp: all of it records at the user's one line, so the line test leaves them
# alone, and their reverse-mode derivatives are PyTorch's.)

# ops whose derivative is zero: what comes out of them carries no tangent in either mode
_ZERO_DERIVATIVE = frozenset({"sign", "sgn", "floor", "ceil", "round", "round_decimals", "trunc", "floordiv"})


def _tangent_inputs(n: Any) -> tuple:
    # (a custom Function's output gets its tangent from the call, not from the forward's
    # internals, which ran under no_grad)
    return (n.inputs[1],) if n.op == "fn_out" else n.inputs


def _no_grad_break(outputs: list, carrying: set, stop: Callable[[Any], bool], lost_in: frozenset = frozenset()
                   ) -> tuple[Any, list]:
    """``(node, lost)``: the first node whose tangent two reverse passes would lose on its way
    to a consumer at another line (or None), and for each of ``outputs`` whether its tangent
    is lost. ``carrying``: ids of the nodes that hold the tangents (the inputs; ``lost_in``
    those of them already lost); ``stop``: nodes the walk does not go past."""
    order: list = []
    seen: set = set()
    for root in outputs:
        stack = [(root, False)]
        while stack:
            n, done = stack.pop()
            if done:
                order.append(n)
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((n, True))
            if id(n) not in carrying and not stop(n):
                stack.extend((i, False) for i in _tangent_inputs(n) if id(i) not in seen)
    carries: dict[int, bool] = {}
    lost: dict[int, bool] = {}
    vmap_lost: dict[int, list] = {}  # id(vmap call) -> whether each of its outputs' tangent is lost
    for n in order:  # (inputs before the nodes that read them)
        if id(n) in carrying:
            carries[id(n)] = True
            lost[id(n)] = id(n) in lost_in
            continue
        op = OPS.get(n.op)
        if (stop(n) or not n.dtype.is_floating_point or n.op in _ZERO_DERIVATIVE
                or (n.op == "identity" and not n.requires_grad)  # detach() and .data: no tangent, as in PyTorch
                or (op is not None and op.grad_name == "NotImplemented")):
            carries[id(n)] = False
            continue
        ins = _tangent_inputs(n)
        if not any(carries.get(id(i), False) for i in ins):
            carries[id(n)] = False
            continue
        carries[id(n)] = True
        if n.op == "fn_call" and n.attrs[0] is Vmap:
            # (transparent: the per-example function's own lines say where a lost tangent is read)
            found, vmap_lost[id(n)] = _vmap_break(n, carries, lost)
            if found is not None:
                return found, []
            lost[id(n)] = False
            continue
        if n.op == "fn_out" and id(n.inputs[1]) in vmap_lost:  # (one result of a vmap call)
            gone = vmap_lost[id(n.inputs[1])][n.attrs[2]]
        else:  # (nograd_update: an in-place change under no_grad, of the value `new` = inputs[1])
            gone = n.op == "nograd_update" and carries.get(id(n.inputs[1]), False)
        lost[id(n)] = gone or not n.requires_grad or n.op == "nograd_view"
        if not lost[id(n)]:
            for i in ins:
                if lost.get(id(i)) and i.loc != n.loc:
                    return i, []
    return None, [lost.get(id(o), False) for o in outputs]


def _vmap_break(call: Any, carries: dict, lost: dict) -> tuple[Any, list]:
    """``_no_grad_break`` inside the per-example function of a ``vmap`` call."""
    ctx = call.attrs[1]
    trace = ctx.trace
    tensor_inputs = iter(call.inputs)
    carrying, lost_in = set(), set()
    for arg, node in zip(ctx.args, trace.inputs):
        if isinstance(arg, Tensor):
            outer = next(tensor_inputs)
            if carries.get(id(outer), False):
                carrying.add(id(node))
                if lost.get(id(outer), False):
                    lost_in.add(id(node))
    bounds = {id(n) for n in trace.inputs}
    return _no_grad_break(list(trace.outputs), carrying, lambda n: id(n) in bounds, frozenset(lost_in))


def _check_forward_mode(level: _Level, outs: list, api: str) -> None:
    """Raise where the double-vjp tangent of ``outs`` would differ from PyTorch's forward mode."""
    start = level.start
    roots = [o._node for o in outs]
    n, lost = _no_grad_break(roots, {id(x._node) for x in level.leaves}, lambda n: n.id < start)
    if n is None:
        n = next((r for r, gone in zip(roots, lost) if gone), None)  # (returned as it is)
    if n is None:
        return
    file, line = n.loc if n.loc else ("<unknown>", 0)
    raise RuntimeError(
        f"{api}: the value computed at {file}:{line} depends on the inputs being differentiated but was computed "
        "without gradient tracking (under torch.no_grad(), or changed in place under it), and it reaches the output. "
        "PyTorch's forward-mode AD ignores no_grad and carries the tangent through; srcgrad builds forward mode from "
        "reverse-mode passes, which stop at no_grad, so the result would be wrong. Compute that value outside "
        "no_grad, or use .detach() where it is meant to be a constant (forward mode stops at detach(), as in "
        "PyTorch); jacrev and vjp are unaffected.")


class _Linearized:
    """``J t`` for any tangents ``t`` of ``level``'s leaves, by the double-vjp identity: the
    first pass (``J^T u`` for a dummy ``u``) is recorded once, each call runs the second."""

    def __init__(self, level: _Level, outs: list, tangent_dtype: Any = None) -> None:
        self.level, self.outs = level, outs
        self.diff = [k for k, o in enumerate(outs) if _differentiable(o)]
        # (tangents of a wider dtype than the primals widen the outputs' tangents, as PyTorch's
        # formulas, which mix the two, do: u of that dtype makes both passes compute in it)
        self.dummies = [zeros_like(outs[k], dtype=outs[k].dtype if tangent_dtype is None
                                   else promote(outs[k].dtype, tangent_dtype)).requires_grad_(True)
                        for k in self.diff]
        self.g: Any = [None] * len(level.leaves)
        if self.diff:
            self.g = _autograd_grad([outs[k] for k in self.diff], level.leaves, self.dummies, retain_graph=True,
                                    create_graph=True, allow_unused=True)

    def __call__(self, tangents: list) -> list:
        """One tangent per output (zeros, in its dtype, for an integer one)."""
        res = [zeros_like(o) for o in self.outs]
        pairs = [(g, t) for g, t in zip(self.g, tangents) if g is not None and g.requires_grad]
        if pairs:
            got = _autograd_grad([p[0] for p in pairs], self.dummies, [p[1] for p in pairs], retain_graph=True,
                                 create_graph=True, allow_unused=True)
            for k, r in zip(self.diff, got):
                if r is not None:
                    res[k] = r
        return res


# -- grad, vjp, jvp, linearize -----------------------------------------------------------


def grad_and_value(func: Callable, argnums: int | tuple = 0, has_aux: bool = False) -> Callable:
    """``torch.func.grad_and_value``: ``(gradient, value)`` (``((gradient, (value, aux))`` with
    ``has_aux``) of scalar-valued ``func`` with respect to ``args[argnums]``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "grad_and_value(f)(*args)")
            if not isinstance(out, Tensor):
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a Tensor, got "
                                   f"{type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, "
                                   f"got tensor with {out.dim()} dims. Maybe you wanted to use the vjp or "
                                   "jacrev APIs instead?")
            grads = level.grads([out], None)  # (zeros for an integer or constant output, as PyTorch)
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
    returns one gradient per primal, as a tuple. Outputs must be floating point."""
    with enable_grad():
        level = _Level(list(primals))
        with _running_user_function():
            out, aux = _split_aux(func(*level.trees), has_aux, "vjp(f, *primals)")
    outs, out_def = _tensor_leaves(out, "vjp(f, *primals)")
    _floating_outputs(outs)

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


def _check_primals_and_tangents(primals: Any, tangents: Any) -> list:
    """``jvp``'s checks, with PyTorch's messages; returns the flat tangents."""
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
    for what, flat in (("primals", p_flat), ("tangents", t_flat)):
        for x in flat:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"jvp(f, primals, tangents): Expected {what} to only contain Tensors, got "
                                   f"{type(x)}")
    for p, t in zip(p_flat, t_flat):
        if not p.dtype.is_floating_point:
            raise ValueError(f"Expected primal to be floating point or complex, but got: {p.dtype}")
        if not t.dtype.is_floating_point:
            raise ValueError(f"Expected tangent to be floating point or complex, but got: {t.dtype}")
        if tuple(t.shape) != tuple(p.shape):
            raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same shapes "
                               f"(got primal {tuple(p.shape)} and tangent {tuple(t.shape)})")
    return t_flat


def jvp(func: Callable, primals: Any, tangents: Any, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """``torch.func.jvp``: ``(func(*primals), J @ tangents)`` (and ``aux``). An integer output
    gets a zero tangent of its dtype. Raises where ``func`` computes, under ``no_grad``, a value
    from the primals that reaches the output (see ``_no_grad_break``)."""
    t_flat = _check_primals_and_tangents(primals, tangents)
    with enable_grad():
        level, out, aux = _call_at_level(func, primals, {}, tuple(range(len(primals))), has_aux,
                                         "jvp(f, primals, tangents)", forward=True)
        outs, out_def = _tensor_leaves(out, "jvp(f, primals, tangents)")
        _check_forward_mode(level, outs, "jvp")
        widest = None
        for p, t in zip(_flatten(primals)[0], t_flat):
            if t.dtype is not p.dtype:
                widest = t.dtype if widest is None else promote(widest, t.dtype)
        jv = _Linearized(level, outs, widest)(t_flat)
    jv = jv if level.watched else [t.detach() for t in jv]
    return ((level.result(out), _unflatten(out_def, jv), level.result(aux)) if has_aux
            else (level.result(out), _unflatten(out_def, jv)))


def linearize(func: Callable, *primals: Any) -> tuple[Any, Callable]:
    """``torch.func.linearize``: ``(func(*primals), jvp_fn)``, where ``jvp_fn(*tangents)`` is
    ``jvp(func, primals, tangents)[1]`` without running ``func`` again: the function and the
    first reverse pass of the double-vjp identity are recorded once, each call adds the second."""
    with enable_grad():
        level, out, _ = _call_at_level(func, primals, {}, tuple(range(len(primals))), False, "linearize",
                                       forward=True)
        outs, out_def = _tensor_leaves(out, "linearize(func, *primals)")
        _check_forward_mode(level, outs, "linearize")
        lin = _Linearized(level, outs)
    p_flat, p_def = _flatten(primals)

    def jvp_fn(*tangents: Any) -> Any:
        t_flat, t_def = _flatten(tangents)
        if t_def != p_def:
            raise RuntimeError(f"Expected the tangents {t_def} to have the same argspec as the primals {p_def}")
        for k, (p, t) in enumerate(zip(p_flat, t_flat)):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"tangent:{k} is a {type(t)}, not a Tensor")
            if tuple(t.shape) != tuple(p.shape):
                raise RuntimeError(f"tangent:{k} with shape {t.shape} in flattened pytree doesn't match the shape "
                                   f"{p.shape} of the corresponding primal.")
            if t.dtype is not p.dtype:
                raise RuntimeError(f"tangent:{k} with dtype {t.dtype} in flattened pytree doesn't match the dtype "
                                   f"{p.dtype} of the corresponding primal.")
        with enable_grad():
            jv = lin(t_flat)
        return _unflatten(out_def, jv if level.watched else [t.detach() for t in jv])

    return level.result(out), jvp_fn


# -- jacrev, jacfwd, hessian -------------------------------------------------------------


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
    Entry ``[out][arg]`` has shape ``out.shape + arg.shape``. ``chunk_size`` is checked as
    PyTorch does; the rows run as one batched computation whatever it is."""
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "jacrev(f, argnums)(*args)")
            outs, out_def = _tensor_leaves(out, "jacrev(f, argnums)(*args)")
            _floating_outputs(outs)
            leaves = level.leaves
            diff = [k for k, o in enumerate(outs) if _differentiable(o)]

            def row(v: Tensor) -> tuple:
                pieces = _pieces(v, outs)
                gs: Any = [None] * len(leaves)
                if diff:
                    gs = _autograd_grad([outs[k] for k in diff], leaves, [pieces[k] for k in diff],
                                        retain_graph=True, create_graph=True, allow_unused=True)
                return tuple(g if g is not None else zeros_like(x) for g, x in zip(gs, leaves))

            rows = vmap(row, chunk_size=chunk_size)(_basis(outs))  # per leaf: (total output elements, *leaf.shape)
            jac = [[part.reshape(tuple(o.shape) + tuple(x.shape)) for o, part in zip(outs, _chunks(r, 0, outs))]
                   for x, r in zip(leaves, rows)]
        return _assemble(jac, outs, out_def, level, argnums, aux, has_aux)

    return wrapper


def _assemble(jac: list, outs: list, out_def: Any, level: _Level, argnums: Any, aux: Any, has_aux: bool) -> Any:
    """``jac[leaf][output]`` -> torch.func's layout: the output's structure outside, the
    differentiated arguments' structure inside (a tuple over argnums when it is a tuple)."""
    per_out = []
    for j in range(len(outs)):
        col = [jac[i][j] if level.watched else jac[i][j].detach() for i in range(len(level.leaves))]
        trees = level.regroup(col)
        per_out.append(trees[0] if isinstance(argnums, int) else tuple(trees))
    result = _unflatten(out_def, per_out)
    return (result, level.result(aux)) if has_aux else result


def jacfwd(func: Callable, argnums: int | tuple = 0, has_aux: bool = False, *, randomness: str = "error",
           _api: str = "jacfwd") -> Callable:
    """``torch.func.jacfwd``: the Jacobian of ``func`` with respect to ``args[argnums]`` from
    Jacobian-vector products (``vmap`` of the double-vjp jvp over the columns of an identity).
    Same values and layout as ``jacrev``; an integer output gets zeros of its dtype. Raises
    where ``func`` computes, under ``no_grad``, a value from the inputs that reaches the output."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnums, len(args))
        drawn = fork_state()
        with enable_grad():
            level, out, aux = _call_at_level(func, args, kwargs, nums, has_aux, "jacfwd(f, argnums)(*args)",
                                             forward=True)
        if randomness == "error" and fork_state() != drawn:  # (func runs once, outside the vmap of its columns)
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                               "'same' or 'different' randomness flags on vmap or perform the randomness operation "
                               "out of vmap")
        with enable_grad():
            outs, out_def = _tensor_leaves(out, "jacfwd(f, argnums)(*args)")
            _check_forward_mode(level, outs, _api)
            leaves = level.leaves
            lin = _Linearized(level, outs)

            def column(t: Tensor) -> tuple:
                return tuple(lin(_pieces(t, leaves)))

            cols = vmap(column, randomness=randomness)(_basis(leaves))  # per output: (input elements, *out.shape)
            jac: list = [[None] * len(outs) for _ in leaves]
            for j, (o, c) in enumerate(zip(outs, cols)):
                for i, (x, part) in enumerate(zip(leaves, _chunks(c, 0, leaves))):
                    jac[i][j] = part.movedim(0, -1).reshape(tuple(o.shape) + tuple(x.shape))
        return _assemble(jac, outs, out_def, level, argnums, aux, has_aux)

    return wrapper


def hessian(func: Callable, argnums: int | tuple = 0) -> Callable:
    """``torch.func.hessian``: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums, _api="hessian")


# -- functionalize, debug_unwrap --------------------------------------------------------

_REMOVE_OPTIONS = ("mutations", "mutations_and_views")


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``torch.func.functionalize``: ``func`` itself. PyTorch rewrites in-place and view ops
    into out-of-place ones so that its transforms and compilers see a program without
    aliasing; srcgrad records every op, in-place ones included, into a functional graph
    already (an in-place op gives the tensor a new node), so there is nothing to remove.
    The function computes the same results and makes the same changes to its inputs
    (PyTorch's functionalized function copies mutations back to its inputs too)."""
    if remove not in _REMOVE_OPTIONS:
        raise RuntimeError(
            f"functionalize(f, remove='mutations'): received invalid argument for remove={remove}. Valid options "
            "are:\n     remove='mutations': all inplace and out= operators will be removed from the program, and "
            "replaced with their out-of-place equivalents.\n     remove='mutations_and_views': In addition to the "
            "above, all aliasing operators {view} will be replaced with their non-aliasing counterparts, "
            "{view}_copy.\n")

    @functools.wraps(func)
    def functionalized(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return functionalized


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """``torch.func.debug_unwrap``: inside ``vmap``, the whole batched tensor behind one
    example's tensor (all levels of nested vmaps with ``recurse``, else one); any other
    tensor is returned as it is. For debugging: what it returns is read as a tensor from
    outside the function."""
    from .batching import batched_source
    while True:
        source = batched_source(tensor)
        if source is None:
            return tensor
        tensor = source
        if not recurse:
            return tensor
