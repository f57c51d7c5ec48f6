"""The reverse-mode transformer: recorded IR in, gradient IR out.

``transform`` walks the autograd graph backwards from the roots, applies each
op's rule from ``derivatives.py``, sums the contributions of values used more
than once, and sums broadcast gradients back to each input's shape
(``sum_to``, the one place that does it). It only visits nodes on a path to a
tensor that wants a gradient. The gradients it returns are pending IR: the
caller realises them, together with any forward values not yet computed, as
one program.
"""

from __future__ import annotations

import operator
import sys
import warnings
import weakref
from collections.abc import Sequence
from itertools import chain
from typing import Any

from . import (
    compiler,
    derivatives,  # (also fills in OpDef.vjp)
    ir,
    tracing,
)
from . import tensor as T
from .grad_mode import _anomaly, check_anomaly_nan, warn_forward_trace
from .grad_mode import _state as _grad_state
from .ir import Node
from .ops import OPS

_SAVED_POSITIONS = {"x": (0,), "y": (1,), "xy": (1, 0), "c": (0,), "": (), "out": ()}  # (PyTorch saves other first)
# Products, by the positions of their two factors: as in PyTorch, a factor is saved (and so
# checked for in-place changes) only when the other one needs a gradient (`w.add_(1)` between
# forward and backward is fine for a first layer whose input does not require grad).
_FACTORS = {"mul": (0, 1), "matmul": (0, 1), "linear": (0, 1), "convolution": (0, 1), "addmm": (1, 2)}


def sum_to(g: T.Tensor, shape: tuple) -> T.Tensor:
    """Sum a broadcast gradient back to ``shape`` (the one place broadcasting is undone)."""
    gshape = g._node.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    dims = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and gshape[i + lead] != 1)
    if dims:
        g = g.sum(dims, keepdim=True)
    if lead or g._node.shape != shape:
        g = g.reshape(shape)
    return g


def _toposort(roots: list[Node], stop: set[int] | None, boundary: set[int] | None = None) -> tuple[list[Node], set[int]]:
    """Nodes of the autograd graph in reverse topological order, and those that
    lead to a node that wants a gradient (leaves, or ``stop`` when given). The walk
    does not go past ``boundary`` nodes."""
    post: list[Node] = []
    seen: set[int] = set()
    useful: set[int] = set()
    for r in roots:
        if id(r) in seen:
            continue
        stack: list[tuple[Node, bool]] = [(r, False)]
        while stack:
            n, done = stack.pop()
            if done:
                post.append(n)
                wanted = (n.leaf if stop is None else id(n) in stop)
                if wanted or any(id(i) in useful for i in n.inputs):
                    useful.add(id(n))
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            stack.append((n, True))
            if not n.leaf and (boundary is None or id(n) not in boundary):
                for i in n.inputs:
                    if i.requires_grad and id(i) not in seen:
                        stack.append((i, False))
    post.reverse()
    return post, useful


# How many srcgrad.func transforms (grad, vjp, jacrev, ...) are running the user's function now:
# a backward() there would write .grad of the transform's own inputs, so it is refused, as PyTorch's.
inside_func_transforms = 0

CREATE_GRAPH_CYCLE = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its gradient "
    "which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid this. If you "
    "have to use this function, make sure to reset the .grad fields of your parameters to None after use to break "
    "the cycle and avoid the leak.")

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward.")


def saved_positions(n: Node) -> tuple[int, ...]:
    """Which of ``n``'s values its derivative reads (saves): input positions, -1 for its output."""
    op = OPS[n.op]
    if op.saves == "out":
        return (-1,)
    if op.name in _FACTORS:  # a product keeps each factor only for the other factor's gradient
        a, b = _FACTORS[op.name]  # (in PyTorch's order: the factor the first gradient needs)
        return tuple(p for p, other in ((b, a), (a, b)) if n.inputs[other].requires_grad)
    if op.name == "div":  # x / y: y for both gradients, x only for y's (PyTorch's DivBackward0)
        return (1, 0) if n.inputs[1].requires_grad else (1,)
    return _SAVED_POSITIONS.get(op.saves, ())


# [first node id, end id or None while open] of each allow_mutation_on_saved_tensors context
MUTATION_CONTEXTS: list[list] = []


def _check_saved(n: Node) -> None:
    if getattr(n, "freed", False):
        raise RuntimeError(BACKWARD_TWICE)
    if MUTATION_CONTEXTS and _mutation_allowed(n):
        return  # (the saved values are the ones from before any change, as PyTorch's clones)
    op = OPS[n.op]
    for s in [n if p < 0 else n.inputs[p] for p in saved_positions(n)]:
        over = getattr(s, "overwritten", None)
        if over is not None and over[3] is not n:  # an in-place op may read the value it replaces
            raise RuntimeError(_modified_message(s, n, op))


def _mutation_allowed(n: Node) -> bool:
    """Whether ``n`` was recorded in the open ``allow_mutation_on_saved_tensors`` context;
    recorded in one that has closed, its backward raises PyTorch's error."""
    for first, end in MUTATION_CONTEXTS:
        if n.id >= first and (end is None or n.id < end):
            if end is not None and saved_positions(n):
                raise AssertionError("Trying to backward outside of the 'allow_mutation_on_saved_tensors' context"
                                     "in which the graph was originally recorded.")
            return end is None
    return False


def _modified_message(s: Node, n: Node, op: Any) -> str:
    """PyTorch's message, word for word up to "expected version N instead.", then where it happened."""
    from .autograd.graph import grad_fn_of, output_nr
    opname, loc, version, _ = s.overwritten
    expected = version - 1
    end = s
    while True:  # the tensor's node now, and its version, after every in-place change since
        o = getattr(end, "overwritten", None)
        if o is None or o[3] is end:
            break
        end, version = o[3], o[2]
    # A saved output is named after the function that made it; a saved input after the
    # tensor's grad_fn now; a leaf (or a tensor outside autograd) has no "which is" clause.
    who = n if s is n else end
    while who.op == "nograd_update":
        who = who.inputs[0]
    clause = ""
    if who.requires_grad and not who.leaf and who.inputs:
        name = grad_fn_of(who).name().rsplit("::", 1)[-1]
        name = name[:name.rindex("Backward")] if "Backward" in name else name
        clause = f", which is output {output_nr(who)} of {name},"
    where = f"{loc[0]}:{loc[1]}" if loc else "?"
    fwhere = f"{n.loc[0]}:{n.loc[1]}" if n.loc else "?"
    return (f"one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: [torch.{_tensor_type(s)} {list(s.shape)}]{clause} is at version {version}; "
            f"expected version {expected} instead. The in-place op was {opname} at {where}; the value "
            f"was saved by {op.grad_name} at {fwhere}. Hint: use an out-of-place op (x = x + 1) or "
            f".clone() first.")


def _tensor_type(n: Node) -> str:
    return {"float32": "FloatTensor", "float64": "DoubleTensor"}.get(n.dtype.name, "Tensor")


@ir.gc_paused
def transform(roots: list[Node], root_grads: list[T.Tensor], *, create_graph: bool, retain_graph: bool,
              wanted: list[Node] | None = None, accumulate: bool = False,
              boundary: list[Node] | None = None) -> dict[int, tuple[Node, T.Tensor]]:
    """Gradient IR for each wanted node (every reachable leaf when ``wanted`` is None),
    as ``{id(node): (node, gradient)}``. Runs tensor hooks, grad_fn hooks (and, when
    ``accumulate``, as ``backward`` does, the prehooks of the leaves' AccumulateGrad) and
    fills retained non-leaf grads. ``boundary`` nodes are treated as independent inputs:
    nothing is propagated past them and their hooks do not run (vmap differentiates its
    per-example function this way, with respect to that function's arguments)."""
    global _multi_pending, _useful
    stop = None if wanted is None else {id(w) for w in wanted}
    fence = None if boundary is None else {id(b) for b in boundary}
    order, useful = _toposort(roots, stop, fence)
    outer_useful, _useful = _useful, useful
    grads: dict[int, T.Tensor] = {}
    for r, g in zip(roots, root_grads):
        grads[id(r)] = grads[id(r)] + g if id(r) in grads else g
    results: dict[int, tuple[Node, T.Tensor]] = {}
    # (Nodes consumed on their own line, the `y * y` of `z = y * y * 3`, are
    # temporaries: their gradients are not named after the line's variable.)
    prev = _grad_state.enabled
    _grad_state.enabled = create_graph
    outer_multi, _multi_pending = _multi_pending, []
    twins = None  # hooks-list id -> [(leaf node, gradient)]: one tensor's leaf nodes (see _leaf_twins)
    n = None
    try:
        for n in order:
            g = grads.pop(id(n), None)
            if g is None or id(n) not in useful:
                continue
            if n.leaf and n.special and getattr(n, "hooks", None):
                if twins is None:
                    twins = _leaf_twins(order)
                if id(n.hooks) in twins:  # (its hooks run once, on the sum, after the walk)
                    twins[id(n.hooks)].append((n, g))
                    continue
            # hooks on this node's grad_fn (register_prehook / register_hook), rare
            gf = getattr(n, "gradfn", None) if n.special else None
            if gf is not None and not (gf._pre or gf._post):
                gf = None
            if fence is not None and id(n) in fence:
                if stop is None or id(n) in stop:
                    results[id(n)] = (n, g)
                continue
            if n.op == "fn_call":
                if gf is not None:
                    ctx = n.attrs[1]
                    outs = tuple(ctx._out_grads.get(k) if spec is not None and spec[0] == "diff" else None
                                 for k, spec in enumerate(ctx._out_specs))
                    if gf._pre:
                        outs = _run_prehooks(gf, outs, None)
                        ctx._out_grads = {k: o for k, o in enumerate(outs) if o is not None}
                ir.set_block(n)
                try:
                    from .autograd.function import call_backward
                    in_grads = call_backward(n, create_graph, retain_graph)
                finally:
                    ir.set_block(None)
                if gf is not None and gf._post:
                    in_grads = list(_run_posthooks(gf, tuple(in_grads), outs))
                if _anomaly.enabled:
                    check_anomaly_nan(f"{n.attrs[0].__name__}Backward", in_grads)
                _accumulate(n, in_grads, grads, useful)
                continue
            g = _run_tensor_hooks(n, g)
            gn = g._node
            if getattr(gn, "block", None) is not None and getattr(gn, "grad_of", None) is None \
                    and not getattr(n, "inner", False):
                gn.grad_of = n  # names it g_<name of n> in generated code
            if getattr(n, "retains_grad", False):
                owner = ir.live_tensor(n)
                if owner is not None:
                    owner._grad = g if owner._grad is None else owner._grad + g
            if stop is None and n.leaf or stop is not None and id(n) in stop:
                if accumulate and n.leaf and n.special:
                    g = _run_acc_prehooks(n, g)
                results[id(n)] = (n, g)
                if n.leaf or not any(id(i) in useful for i in n.inputs):
                    continue  # (a wanted non-leaf: its own backward runs only if it leads to another)
            op = OPS[n.op]
            if n.op == "fn_out":
                n.attrs[1].stash(n.attrs[2], g)  # the user's backward runs at the fn_call node
                _accumulate(n, (None, T.ones(())), grads, useful)
                continue
            outs = (g,)
            if gf is not None and gf._pre:
                outs = _run_prehooks(gf, outs, g)
                g = outs[0]
            if op.vjp is None:
                raise RuntimeError(f"srcgrad has no derivative rule for op '{n.op}' (recorded at "
                                   f"{n.loc[0]}:{n.loc[1]}); add one to srcgrad/derivatives.py")
            _check_saved(n)
            ir.set_block(n)
            try:
                ins = [T.wrap(i) for i in n.inputs]
                out = T.wrap(n)
                if n.special and getattr(n, "packed", None):  # saved_tensors_hooks: the rule reads what unpack gives
                    out = _unpacked(n, ins, out)
                attrs = dict(zip(op.attr_names, n.attrs))
                in_grads = op.vjp(g, out, *ins, **attrs)
                if _anomaly.enabled:
                    # (only the gradients PyTorch computes: of inputs that require grad)
                    check_anomaly_nan(op.grad_name, [g if i.requires_grad else None
                                                     for g, i in zip(in_grads, n.inputs)])
                if gf is not None and gf._post:
                    ir.set_block(None)
                    in_grads = _posthooks_on_inputs(gf, n, in_grads, outs, useful)
                    ir.set_block(n)
                _accumulate(n, in_grads, grads, useful)
            finally:
                ir.set_block(None)
            if not retain_graph and op.saves:
                n.freed = True
                n.special = True
                n.packed = None
        for pairs in (twins or {}).values():  # one tensor's leaf nodes: one AccumulateGrad, as PyTorch's
            if not pairs:
                continue
            n, g = pairs[0]
            for _, more in pairs[1:]:
                g = g + more
            g = _run_tensor_hooks(n, g)
            if stop is None or any(id(m) in stop for m, _ in pairs):
                results[id(n)] = (n, _run_acc_prehooks(n, g) if accumulate else g)
        for group in _multi_pending:  # register_multi_grad_hook: all its gradients are in
            group.finish()
    except Exception:
        if _anomaly.enabled and n is not None and n.special:  # (PyTorch's warning, then the error)
            from .autograd.graph import grad_fn_of
            warn_forward_trace(n, grad_fn_of(n).name())
        raise
    finally:
        _grad_state.enabled = prev
        _multi_pending = outer_multi
        _useful = outer_useful
    return results


_useful: set | None = None  # while transform runs: ids of the nodes whose gradients lead somewhere


def gradient_needed(t: T.Tensor) -> bool:
    """Whether the backward being written needs the gradient of a rule's input ``t``: a
    rule with no derivative for one input raises only then, as PyTorch's
    ``should_compute_output`` (``autograd.grad(p, x)`` skips another input that requires grad)."""
    return t.requires_grad and (_useful is None or id(t._node) in _useful)


def _unpacked(n: Node, ins: list, out: T.Tensor) -> T.Tensor:
    """Replace, in ``ins`` and ``out``, each value that a saved-tensor pack hook packed by
    what its unpack hook returns (see autograd/saved_hooks.py)."""
    from .autograd.saved_hooks import unpack
    for p, packed, unpack_hook in n.packed:
        value = unpack(packed, unpack_hook)
        if p < 0:
            out = value
        else:
            ins[p] = value
    return out


class _AccHooks:
    """Stands in a leaf's tensor-hook list for the hooks of its ``AccumulateGrad``: it sends
    backward through the transformer, and stays with the tensor when an in-place update (an
    optimiser step) gives it a new node, as tensor hooks do. Skipped when tensor hooks run."""

    __slots__ = ("acc",)

    def __init__(self, acc: Any) -> None:
        self.acc = acc

    def __call__(self, grad: Any) -> None:  # (never called as a tensor hook)
        return None


def _leaf_twins(order: list[Node]) -> dict[int, list]:
    """The hook lists shared by two or more leaf nodes of the graph: one tensor's nodes from before
    and after a no_grad in-place change (``w.add_(1)`` gives ``w`` a new node, its hooks go along).
    PyTorch's leaf is one AccumulateGrad: its hooks see the sum of the uses' gradients, once."""
    seen: dict[int, int] = {}
    for n in order:
        hooks = getattr(n, "hooks", None) if n.leaf else None
        if hooks:
            seen[id(hooks)] = seen.get(id(hooks), 0) + 1
    return {k: [] for k, count in seen.items() if count > 1}


def _run_tensor_hooks(n: Node, g: T.Tensor) -> T.Tensor:
    """``n``'s tensor hooks (register_hook), each able to replace the gradient."""
    for hook in getattr(n, "hooks", None) or ():
        if type(hook) is _AccHooks:
            continue  # (stands for the leaf's AccumulateGrad hooks, run by backward)
        tracing.note_hook(hook)
        r = hook(g)
        if r is not None:
            g = _checked_hook_result(hook, g, r)
    return g


def _run_acc_prehooks(n: Node, g: T.Tensor) -> T.Tensor:
    acc = _acc_of(n)
    if acc is not None and acc._pre:
        (g,) = _run_prehooks(acc, (g,), g)
    return g


def _acc_of(n: Node) -> Any:
    """The AccumulateGrad of leaf ``n`` when it has hooks, else None."""
    for h in getattr(n, "hooks", None) or ():
        if type(h) is _AccHooks:
            return h.acc
    return None


def _run_prehooks(gf: Any, outs: tuple, like: T.Tensor | None) -> tuple:
    """A grad_fn's prehooks, each given (and able to replace) the gradients of its outputs."""
    for hook in list(gf._pre):
        tracing.note_hook(hook)
        r = hook(outs)
        if r is not None:
            r = _hook_values(hook, r, outs)
            if like is not None and r[0] is not None:
                _checked_hook_result(hook, like, r[0])
            outs = r
    return outs


def _run_posthooks(gf: Any, ins: tuple, outs: tuple) -> tuple:
    """A grad_fn's post hooks: ``hook(grad_inputs, grad_outputs)``, each able to replace grad_inputs."""
    for hook in list(gf._post):
        tracing.note_hook(hook)
        r = hook(ins, outs)
        if r is not None:
            ins = _hook_values(hook, r, ins)
    return ins


def _hook_values(hook: Any, r: Any, was: tuple) -> tuple:
    """A grad_fn hook's replacement gradients, checked as PyTorch checks them: a tuple of as
    many values as it was given, None where there was None."""
    if not isinstance(r, tuple):
        raise TypeError(f"expected tuple, but hook returned '{type(r).__name__}'")
    if len(r) != len(was):
        raise RuntimeError(f"hook '{getattr(hook, '__name__', 'hook')}' has returned an incorrect number "
                           f"of values (got {len(r)}, but expected {len(was)})")
    if any(old is None and new is not None for old, new in zip(was, r)):
        raise RuntimeError("can't replace a None gradient with a non-None value")
    return r


def _posthooks_on_inputs(gf: Any, n: Node, in_grads: Sequence[Any], outs: tuple, useful: set) -> list:
    """Post hooks of an op's grad_fn, shown the input gradients PyTorch would show (one per
    edge, reduced to the input's shape, None where it needs none, or where this backward does
    not lead: ``autograd.grad(c, a)`` computes no gradient for ``c``'s other factor); back to
    the op's inputs."""
    from .autograd.graph import _edge_positions
    in_grads = [g if id(i) in useful else None for g, i in zip(in_grads, n.inputs)]
    shown = _run_posthooks(gf, shown_grads(n, in_grads), outs)
    full: list = [None] * len(n.inputs)
    for pos, gi in zip(_edge_positions(n), shown):
        full[pos] = gi
    return full


def shown_grads(n: Node, in_grads: Sequence[Any]) -> tuple:
    """The gradients of ``n``'s inputs as PyTorch's grad_fn returns them: one per edge of
    ``next_functions``, reduced to the input's shape and dtype, None where none is needed."""
    from .autograd.graph import _edge_positions
    in_grads = list(in_grads) + [None] * (len(n.inputs) - len(in_grads))
    out = []
    for pos in _edge_positions(n):
        i, gi = n.inputs[pos], in_grads[pos]
        out.append(None if gi is None or not i.requires_grad else _fitted(gi, i))
    return tuple(out)


# register_multi_grad_hook groups that collected a gradient in the running transform
_multi_pending: list = []


class MultiGradHook:
    """One ``register_multi_grad_hook``: a tensor hook per tensor collects its gradient; the
    user's ``fn`` runs once per backward (mode "all": at its end, with None for tensors the
    backward did not reach; mode "any": with the first gradient)."""

    def __init__(self, fn: Any, count: int, mode: str) -> None:
        self.fn, self.mode = fn, mode
        self.grads: list = [None] * count
        self.active = False

    def part(self, k: int) -> Any:
        def hook(g: T.Tensor) -> None:
            self.collect(k, g)
        return hook

    def collect(self, k: int, g: T.Tensor) -> None:
        if not self.active:
            self.active = True
            _multi_pending.append(self)
            if self.mode == "any":
                tracing.note_hook(self.fn)
                self.fn(g)
        self.grads[k] = g

    def finish(self) -> None:
        grads, self.grads = self.grads, [None] * len(self.grads)
        self.active = False
        if self.mode == "all":
            tracing.note_hook(self.fn)
            self.fn(grads)


def _checked_hook_result(hook: Any, g: T.Tensor, r: Any) -> T.Tensor:
    """A hook's replacement gradient, with PyTorch's errors when it changed its size or type."""
    if not isinstance(r, T.Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    name = getattr(hook, "__name__", type(hook).__name__)
    if r._node.shape != g._node.shape:
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if r._node.dtype is not g._node.dtype:
        from .ops import TORCH_TYPE_NAMES as NAMES

        def kind(t: T.Tensor) -> str:
            return f"torch.{NAMES.get(t.dtype.name, t.dtype.name)}Tensor"

        raise RuntimeError(f"hook '{name}' has changed the type of value (was {kind(g)} got {kind(r)})")
    return r


def _fitted(gi: Any, i: Node) -> T.Tensor:
    """A rule's gradient for input ``i`` as a tensor of ``i``'s shape (broadcasting summed
    away, in one place) and dtype."""
    if not isinstance(gi, T.Tensor):
        gi = T.tensor(gi)
    gi = sum_to(gi, i.shape)
    return gi if gi._node.dtype is i.dtype else gi.to(i.dtype)


def _accumulate(n: Node, in_grads: Sequence[Any], grads: dict, useful: set) -> None:
    for i, gi in zip(n.inputs, in_grads):
        if gi is None or not i.requires_grad or id(i) not in useful:
            continue
        gi = _fitted(gi, i)
        prev = grads.get(id(i))
        grads[id(i)] = gi if prev is None else prev + gi


def _root_grads(tensors: Sequence[T.Tensor], grad_tensors: Sequence[Any], what: str) -> list[T.Tensor]:
    out = []
    for k, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t.requires_grad:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            ir.set_block(t._node)
            try:
                g = T.ones(t.shape, dtype=t.dtype, device=t.device)
            finally:
                ir.set_block(None)
        else:
            if not isinstance(g, T.Tensor):
                g = T.tensor(g, dtype=t.dtype)
            if g.shape != t.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{k}] has a shape of {g.shape!r} and "
                                   f"output[{k}] has a shape of {t.shape!r}.")
            if g.dtype is not t.dtype:
                g = g.to(t.dtype)
        out.append(g)
    return out


def _given_grads(tensors: Sequence[T.Tensor], grads: Sequence[Any]) -> list:
    """The seed gradients a caller gave, checked as PyTorch checks them: each a tensor or
    None, at least one per output (extra ones are ignored, as PyTorch's zip ignores them)."""
    grads = list(grads)
    for g in grads:
        if g is not None and not isinstance(g, T.Tensor):
            raise TypeError(f"gradients can be either Tensors or None, but got {type(g).__name__}")
    if len(grads) < len(tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grads)} gradients")
    return grads[:len(tensors)]


def backward(tensors: Sequence[T.Tensor], grad_tensors: Sequence[Any] | None = None,
             retain_graph: bool | None = None, create_graph: bool = False, inputs: Any = None) -> None:
    """``torch.autograd.backward``: accumulate gradients into the leaves' ``.grad``."""
    if isinstance(tensors, T.Tensor):
        tensors = [tensors]
    if inside_func_transforms:
        raise RuntimeError("backward() called inside a functorch transform. This is not supported, please use "
                           "functorch.grad or functorch.vjp instead or call backward() outside of functorch "
                           "transforms.")
    if tracing.ACTIVE is not None:
        tracing.ACTIVE.note_backward()  # (vmap refuses it here, before any .grad changes)
    grad_tensors = _given_grads(tensors, grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    if isinstance(inputs, T.Tensor):
        inputs = [inputs]
    for i in inputs or ():
        if not i.requires_grad:  # (PyTorch's words: it retains the grad of each input it is given)
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:  # (from here, not the user's line: shown once a process, as PyTorch's)
        warnings.warn(CREATE_GRAPH_CYCLE, UserWarning, stacklevel=1)
    if not create_graph and not inputs and tracing.ACTIVE is None:
        plan_key = _replay_plan_key(tensors, grad_tensors)
        if plan_key is not None:
            _replay_or_record(plan_key, tensors, grad_tensors, retain_graph)
            return
    _backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


def _backward(tensors: Sequence[T.Tensor], grad_tensors: list, retain_graph: bool, create_graph: bool,
              inputs: Any) -> tuple | None:
    """The transformer's path: build the gradient IR, then realise the new gradients."""
    roots = [t._node for t in tensors]
    gs = _root_grads(tensors, grad_tensors, "backward")
    wanted = [t._node for t in inputs] if inputs else None
    owners = {id(t._node): t for t in inputs} if inputs else None
    if inputs:
        for node, t in _earlier_leaves(roots, inputs):
            wanted.append(node)
            owners[id(node)] = t
    results = transform(roots, gs, create_graph=create_graph, retain_graph=retain_graph, wanted=wanted,
                        accumulate=True)
    del gs  # the seed gradients are not outputs of the program
    fresh = []  # (tensor, leaf node, new gradient)
    for key, (node, g) in results.items():
        # A leaf's gradient goes to the tensor that owns the node, even if that
        # tensor has been updated in place since (the `w -= lr * w.grad` idiom).
        target = owners[key] if owners is not None else (node.owner() if node.owner else None)
        if target is not None:
            fresh.append((target, node, g))
    info = None
    if tracing.ACTIVE is None:
        # The roots are computed too: the loss is usually printed right after backward().
        info = compiler.realize([g._node for _, _, g in fresh] + [t._node for t in tensors])
    prev = _grad_state.enabled
    _grad_state.enabled = create_graph
    try:
        for target, _, g in fresh:
            _accumulate_grad(target, g)
        for _, leaf, g in fresh:  # AccumulateGrad post hooks: hook((), (grad,)) once .grad is updated
            if leaf.special:
                acc = _acc_of(leaf)
                if acc is not None and acc._post:
                    _run_posthooks(acc, (), (g,))
    finally:
        _grad_state.enabled = prev
    if inputs:
        for t in inputs:  # a non-leaf named in `inputs=` retains its grad from now on, as in PyTorch
            if t._node.requires_grad and not t._node.leaf:
                t.retain_grad()
    return info, fresh


def _accumulate_grad(target: T.Tensor, g: T.Tensor) -> None:
    old = target._grad
    if old is not None:
        if not _grad_state.enabled and not old._node.requires_grad:
            # As PyTorch: added in place into the existing .grad tensor (the same object);
            # lazy, it joins whatever program needs it next.
            total = old + g
            total._node.owner = None
            old._replace_node(total._node, opname="add_")
            if tracing.ACTIVE is not None:
                tracing.ACTIVE.note_grad(target)
            return
        g = old + g  # create_graph: a new, differentiable .grad, as PyTorch
    elif _grad_state.enabled and g._node.requires_grad:
        g = T.record("copy", (g,))  # create_graph: PyTorch's .grad is a copy (CopyBackwards)
    else:
        g = T.wrap(g._node)
    ir.set_owner(g._node, g)
    target._grad = g
    if tracing.ACTIVE is not None:
        tracing.ACTIVE.note_grad(target)


# -- replaying a recorded backward -------------------------------------------------
#
# A define-by-run training loop records the same forward graph every step, so the
# transformer would write the same backward every step. When the pending graph
# behind the roots has the same signature (and the same requires_grad/leaf
# pattern) as a graph seen before, the program that graph compiled is called
# directly: no transformer, no second walk. Anything unusual (hooks, retained
# grads, custom Functions, graphs partly computed already, in-place hazards)
# takes the transformer's path, which also gives the precise errors.


class _Plan:
    __slots__ = ("program", "input_pos", "grad_outs", "fwd_outs", "freeable")


_requires_grad = operator.attrgetter("requires_grad")
_leaf = operator.attrgetter("leaf")
_special = operator.attrgetter("special")


def _replay_plan_key(tensors: Sequence[T.Tensor], grad_tensors: list) -> tuple | None:
    roots = [t._node for t in tensors]
    for r in roots:
        if not r.requires_grad or r.value is not None:
            return None
    extra = [g._node for g in grad_tensors if isinstance(g, T.Tensor)]
    order, inputs, outputs, key = compiler.collect(roots + extra)
    bits = (tuple(map(_requires_grad, order)), tuple(map(_leaf, order)),
            tuple(map(_requires_grad, inputs)), tuple(map(_leaf, inputs)))
    if any([n.requires_grad and not n.leaf for n in inputs]):  # part of the graph was computed already
        return None
    # Most graphs have nothing unusual: one C-level pass over the `special` flags.
    specials = list(filter(_special, chain(order, inputs)))
    if specials and not _replayable(order, inputs, specials):
        return None
    grad_kinds = tuple([None if g is None else (tuple(g.shape), g.dtype) for g in grad_tensors])
    return (key, bits, grad_kinds), order, inputs


def _replayable(order: list, inputs: list, specials: list) -> bool:
    """False when hooks, retained grads, custom Functions, freed graphs or in-place
    hazards need the transformer's path (which also gives the precise errors)."""
    if not _plain(specials):
        return False
    overwritten = [n for n in specials if getattr(n, "overwritten", None) is not None]
    if overwritten and any([e != _ONLY_REPLACER_READS for e in _extra_readers(overwritten)]):
        # A value overwritten in place that something besides its replacement reads
        # (the reference counts say so): is it a gradient that reads it?
        differentiable = [n for n in order if n.requires_grad and not n.leaf]
        readers = set(chain.from_iterable([n.inputs for n in differentiable]))
        for i in overwritten:
            if i in readers and any(i in n.inputs and n is not i.overwritten[3] for n in differentiable):
                return False
    return True


def _plain(specials: list) -> bool:
    for n in specials:
        if getattr(n, "hooks", None) or getattr(n, "packed", None):  # (packed: unpack hooks must run)
            return False
        if n.value is None and n.requires_grad and not n.leaf and (n.op in ("fn_out", "fn_call")
                                                                    or getattr(n, "retains_grad", False)
                                                  or getattr(n, "freed", False)
                                                  or _grad_fn_hooked(n)):
            return False
    return True


def _grad_fn_hooked(n: Node) -> bool:
    gf = getattr(n, "gradfn", None)
    return gf is not None and bool(gf._pre or gf._post)


def _extra_readers(overwritten: list) -> list:
    # references to each node beyond its replacement's inputs (see _only_replacer_reads)
    return [sys.getrefcount(i) - i.overwritten[3].inputs.count(i) for i in overwritten]


def _only_replacer_reads() -> int:
    # The count _extra_readers gives for the usual case, a parameter that only the
    # pending update replacing it reads, held by the caller's lists (inputs, specials,
    # overwritten) as _replay_plan_key and _replayable hold it.
    old, new = Node(), Node()
    new.inputs = (old,)
    old.overwritten = ("", None, 1, new)
    inputs, specials, overwritten = [old], [old], [old]
    del old
    return _extra_readers(overwritten)[0] + 0 * len(inputs) * len(specials)


_ONLY_REPLACER_READS = _only_replacer_reads()


def _replay_or_record(plan_key: tuple, tensors: Sequence[T.Tensor], grad_tensors: list, retain_graph: bool) -> None:
    key, order, inputs = plan_key
    plan = compiler.CACHE.plans.get(key)
    if plan is None:
        _record_plan(key, order, inputs, tensors, grad_tensors, retain_graph)
        return
    out = _run_plan(plan, order, inputs)
    handed_out = tracing.ACTIVE is None
    accumulate = []
    for (where, pos), k in plan.grad_outs:
        leaf = order[pos] if where == "o" else inputs[pos]
        target = leaf.owner() if leaf.owner is not None else None
        if target is not None:
            g = T.wrap(ir.output_node(out[k], leaf))
            if target._grad is None and handed_out:
                g._node.owner = weakref.ref(g)
                target._grad = g
            else:
                accumulate.append((target, g))
    if accumulate:
        prev = _grad_state.enabled
        _grad_state.enabled = False
        try:
            for target, g in accumulate:
                _accumulate_grad(target, g)
        finally:
            _grad_state.enabled = prev
    if not retain_graph:
        for pos in plan.freeable:
            order[pos].freed = True
            order[pos].special = True
    ir.recent.clear()


def _run_plan(plan: _Plan, order: list, inputs: list) -> Any:
    """Call a recorded plan's program on this graph's inputs; hand out the forward values."""
    prog = plan.program
    out = compiler.call_program(prog, [inputs[i].value for i in plan.input_pos], _donate_args(plan, order, inputs))
    compiler.CACHE.hits += 1
    prog.hits += 1
    prog.calls += 1
    for pos, k in plan.fwd_outs:
        n = order[pos]
        n.value = out[k]
        if (not n.requires_grad or n.leaf) and not ir.keep_history:
            n.inputs = ()  # history that autograd will never need
    return out


def _donate_args(plan: _Plan, order: list, inputs: list) -> tuple:
    """Program argument positions whose buffers may be donated (see compiler.donatable_inputs)."""
    donate = compiler.donatable_inputs(order, inputs)
    if not donate:
        return donate
    return tuple(k for k, i in enumerate(plan.input_pos) if i in donate)


def _record_plan(key: tuple, order: list, inputs: list, tensors: Sequence[T.Tensor], grad_tensors: list,
                 retain_graph: bool) -> None:
    info, fresh = _backward(tensors, grad_tensors, retain_graph, False, None)
    if info is None:
        return
    prog, p_inputs, p_outputs = info
    in_pos = {id(n): i for i, n in enumerate(inputs)}
    in_pos.update({("scalar", id(n.value)): i for i, n in enumerate(inputs) if n.op == "scalar"})
    o_pos = {id(n): i for i, n in enumerate(order)}
    plan = _Plan()
    plan.program = prog
    try:
        plan.input_pos = [in_pos[id(n)] if id(n) in in_pos else in_pos[("scalar", id(n.value))] for n in p_inputs]
    except KeyError:
        return  # the program reads something the forward graph does not: not replayable
    plan.grad_outs, plan.fwd_outs = [], []
    grad_nodes = {id(g._node): [] for _, _, g in fresh}
    for _, leaf, g in fresh:
        where = ("o", o_pos[id(leaf)]) if id(leaf) in o_pos else ("i", in_pos.get(id(leaf)))
        if where[1] is None:
            return
        grad_nodes[id(g._node)].append(where)
    for k, n in enumerate(p_outputs):
        if id(n) in grad_nodes:
            plan.grad_outs += [(where, k) for where in grad_nodes[id(n)]]
        elif id(n) in o_pos:
            plan.fwd_outs.append((o_pos[id(n)], k))
        else:
            return
    if sum(len(v) for v in grad_nodes.values()) != len(plan.grad_outs):
        return  # a gradient was already computed (not an output): keep the transformer's path
    plan.freeable = [i for i, n in enumerate(order) if n.requires_grad and not n.leaf and OPS[n.op].saves]
    compiler.CACHE.add_plan(key, plan)


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None, materialize_grads: bool = False,
         only_inputs: bool = True, is_grads_batched: bool = False) -> tuple:
    """``torch.autograd.grad``: gradients of ``outputs`` w.r.t. ``inputs``, without touching ``.grad``.

    With ``is_grads_batched`` the first dim of each ``grad_outputs`` entry is a batch of seed
    gradients; the results carry that dim first (one backward per seed, each a cached replay)."""
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    outputs = [outputs] if isinstance(outputs, T.Tensor) else list(outputs)
    noted = getattr(tracing.ACTIVE, "note_grad_call", None)  # (a @srcgrad.compile trace: see compiled.py)
    if noted is not None:
        noted()
    single = isinstance(inputs, T.Tensor)
    inputs = [inputs] if single else _edge_inputs(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, T.Tensor):
        grad_outputs = [grad_outputs]
    else:
        grad_outputs = _given_grads(outputs, grad_outputs)
    if not only_inputs:
        warnings.warn("only_inputs argument is deprecated and is ignored now (defaults to True). To accumulate "
                      "gradient for other parts of the graph, please use torch.autograd.backward.",
                      FutureWarning, stacklevel=2)
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph and retain_graph and tracing.ACTIVE is None:
        return _grad_from_template(outputs, inputs, grad_outputs, allow_unused, materialize_grads)
    if not create_graph and tracing.ACTIVE is None:
        plan_key = _replay_plan_key(outputs, grad_outputs)
        if plan_key is not None:
            key, order, graph_inputs = plan_key
            where = _positions([t._node for t in inputs], order, graph_inputs)
            if None not in where:
                key = (key, "grad", tuple(where), _earlier_positions(inputs, graph_inputs))
                plan = compiler.CACHE.plans.get(key)
                if plan is not None:
                    return _replay_grad(plan, order, graph_inputs, inputs, allow_unused, materialize_grads,
                                        retain_graph)
                info, out = _grad(outputs, inputs, grad_outputs, retain_graph, False, allow_unused,
                                  materialize_grads)
                if info is not None:
                    _store_plan(key, info, order, graph_inputs,
                                [(i, g) for i, g in enumerate(out) if g is not None and g._node.value is not None])
                return tuple(out)
    return tuple(_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads)[1])


def _edge_inputs(inputs: Any) -> list:
    """``autograd.grad`` inputs as tensors: a ``GradientEdge`` (get_gradient_edge) stands for
    the output of its node (a namedtuple, so one edge alone is not a sequence of inputs)."""
    if hasattr(inputs, "output_nr") and hasattr(inputs, "node"):
        inputs = [inputs]
    out = []
    for i in inputs:
        if not isinstance(i, T.Tensor) and hasattr(i, "output_nr") and hasattr(i, "node"):
            n = i.node._node
            if n.op == "fn_call":
                raise NotImplementedError("srcgrad: autograd.grad with the GradientEdge of a custom Function's "
                                          "output is not supported; pass the output tensor")
            t = ir.live_tensor(n) if n.leaf else None
            i = T.wrap(n) if t is None else t
        out.append(i)
    return out


def _batched_grad(outputs: Any, inputs: Any, grad_outputs: Any, retain_graph: bool | None, create_graph: bool,
                  allow_unused: bool | None, materialize_grads: bool) -> tuple:
    outputs = [outputs] if isinstance(outputs, T.Tensor) else list(outputs)
    seeds = [grad_outputs] if isinstance(grad_outputs, T.Tensor) else list(grad_outputs or ())
    batch = {g.shape[0] for g in seeds if isinstance(g, T.Tensor) and g.dim() > 0}
    if len(batch) != 1:
        raise RuntimeError("is_grads_batched=True needs grad_outputs: tensors with the same batch size as their "
                           f"first dim (got shapes {[tuple(g.shape) for g in seeds if isinstance(g, T.Tensor)]})")
    (n,) = batch
    keep = create_graph if retain_graph is None else retain_graph
    rows = [grad(outputs, inputs, [None if g is None else g[b] for g in seeds], retain_graph=keep or b < n - 1,
                 create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads)
            for b in range(n)]
    return tuple(None if col[0] is None else T.stack(list(col)) for col in zip(*rows))


# -- replaying a differentiable backward (create_graph=True) ---------------------------
#
# With create_graph the result is not a program but more graph: the gradient IR,
# itself differentiable. For a forward graph seen before, the transformer's output
# is recorded once as a template (each new node: op, attributes, shape, dtype, line,
# and where its inputs come from: the forward graph, an earlier new node, or a
# constant) and stamped out again: the same nodes, without running the rules.


class _Template:
    __slots__ = ("nodes", "results")


def _grad_from_template(outputs: list, inputs: list, grad_outputs: list, allow_unused: Any,
                        materialize_grads: bool) -> tuple:
    plan_key = _replay_plan_key(outputs, grad_outputs)
    if plan_key is not None:
        key, order, graph_inputs = plan_key
        where = _positions([t._node for t in inputs], order, graph_inputs)
        if None not in where:
            key = (key, "graph", tuple(where), _earlier_positions(inputs, graph_inputs), bool(allow_unused),
                   materialize_grads)
            tpl = compiler.CACHE.plans.get(key)
            if tpl is not None:
                return _stamp(tpl, order, graph_inputs)
            start, numbers_read = ir._next_id(), derivatives.numbers_read[0]
            out = _grad(outputs, inputs, grad_outputs, True, True, allow_unused, materialize_grads)[1]
            fixed = derivatives.numbers_read[0] == numbers_read  # (no rule wrote a number's value in)
            tpl = _make_template(out, start, order, graph_inputs) if fixed else None
            if tpl is not None:
                compiler.CACHE.add_plan(key, tpl)
            return tuple(out)
    return tuple(_grad(outputs, inputs, grad_outputs, True, True, allow_unused, materialize_grads)[1])


def _make_template(out: list, start: int, order: list, graph_inputs: list) -> _Template | None:
    """The new nodes behind ``out`` (ids from ``start``) as a template, or None when they
    read something outside the forward graph."""
    where: dict = {n: ("o", k) for k, n in enumerate(order)}
    where.update({n: ("i", k) for k, n in enumerate(graph_inputs)})
    new: list = []
    seen: set = set()
    stack = [g._node for g in out if g is not None]
    while stack:  # the new nodes, collected by walking back from the gradients
        n = stack.pop()
        if n in seen or n in where:
            continue
        seen.add(n)
        if n.id < start:
            return None  # made before this call, and not part of the forward graph
        if n.value is None:
            new.append(n)
            stack.extend(n.inputs)
    new.sort(key=_node_id)  # creation order: inputs before their users
    for k, n in enumerate(new):
        where[n] = ("n", k)

    def ref(n: Node) -> tuple:
        return where.get(n) or ("c", n)  # an input made on the way (a number, a constant array)

    tpl = _Template()
    tpl.nodes = [(n.op, tuple(ref(i) for i in n.inputs), n.attrs, n.shape, n.dtype, n.device, n.loc,
                  n.requires_grad, n.sig,
                  ref(n.block) if getattr(n, "block", None) is not None else None,
                  ref(n.grad_of) if getattr(n, "grad_of", None) is not None else None) for n in new]
    tpl.results = [None if g is None else ref(g._node) for g in out]
    return tpl


_node_id = operator.attrgetter("id")


def _stamp(tpl: _Template, order: list, graph_inputs: list) -> tuple:
    made: list = []
    sources = {"o": order, "i": graph_inputs, "n": made}

    def get(r: tuple) -> Node:
        return r[1] if r[0] == "c" else sources[r[0]][r[1]]

    for op, refs, attrs, shape, dtype, device, loc, requires_grad, sig, block, grad_of in tpl.nodes:
        n = Node()
        n.id = ir._next_id()
        n.op, n.inputs, n.attrs, n.shape, n.dtype, n.device, n.loc = \
            op, tuple([get(r) for r in refs]), attrs, shape, dtype, device, loc
        n.value = None
        n.requires_grad, n.leaf, n.owner, n.special, n.sig = requires_grad, False, None, False, sig
        if block is not None:
            n.block = get(block)
        if grad_of is not None:
            n.grad_of = get(grad_of)
        made.append(n)
    result = []
    for r in tpl.results:
        if r is None:
            result.append(None)
            continue
        g = T.wrap(get(r))
        ir.set_owner(g._node, g)
        result.append(g)
    return tuple(result)


def _earlier_positions(inputs: Sequence[T.Tensor], graph_inputs: list[Node]) -> tuple:
    """(input index, graph input position) of each earlier leaf of an input (see _earlier_leaves): part of a
    replay plan's key, since such a plan adds those gradients to the input's."""
    if not any(t._version and t._node.leaf for t in inputs):
        return ()
    index = {id(t): k for k, t in enumerate(inputs) if t._node.leaf}
    found = []
    for p, n in enumerate(graph_inputs):
        if n.leaf and n.owner is not None:
            t = n.owner()
            if t is not None and id(t) in index and t._node is not n:
                found.append((index[id(t)], p))
    return tuple(found)


def _earlier_leaves(roots: list[Node], inputs: Sequence[T.Tensor]) -> list[tuple[Node, T.Tensor]]:
    """(node, tensor): the leaf nodes in the graph of ``roots`` that an input leaf had before it was changed
    in place under no_grad (``w.add_(1)`` gives ``w`` a new node; uses recorded before still count as ``w``'s,
    as PyTorch's leaf is one AccumulateGrad)."""
    changed = {id(t): t for t in inputs if t._version and t._node.leaf}
    if not changed:
        return []
    order, _ = _toposort(roots, None)
    found = []
    for n in order:
        if n.leaf and n.owner is not None:
            t = n.owner()
            if t is not None and id(t) in changed and t._node is not n:
                found.append((n, t))
    return found


def _grad(outputs: list, inputs: list, grad_outputs: list, retain_graph: bool, create_graph: bool,
          allow_unused: Any, materialize_grads: bool) -> tuple:
    """The transformer's path of ``autograd.grad``: (program info or None, gradients)."""
    gs = _root_grads(outputs, grad_outputs, "grad")
    roots = [o._node for o in outputs]
    earlier = _earlier_leaves(roots, inputs)
    results = transform(roots, gs, create_graph=create_graph, retain_graph=retain_graph,
                        wanted=[t._node for t in inputs] + [n for n, _ in earlier])
    del gs  # the seed gradients are not outputs of the program
    out = []
    for k, t in enumerate(inputs):
        g = results.get(id(t._node), (None, None))[1]
        for node, owner in earlier:  # (its uses from before an in-place change add up, as PyTorch's one leaf)
            if owner is t and id(node) in results:
                e = results[id(node)][1]
                g = e if g is None else g + e
        if g is None:
            if not (allow_unused or materialize_grads):
                raise RuntimeError(f"The differentiated Tensor at index {k} appears to not have been used in "
                                   "the graph. Set allow_unused=True if this is the desired behavior.")
            if materialize_grads:
                g = T.zeros_like(t)
        if g is not None:
            g = T.wrap(g._node)
            ir.set_owner(g._node, g)
        out.append(g)
    info = None
    if tracing.ACTIVE is None and not create_graph:
        # (With create_graph the gradients stay pending like any other result: a
        # Hessian-vector product then runs as one program, at the second grad.)
        info = compiler.realize([g._node for g in out if g is not None])
    return info, out


def _positions(nodes: list, order: list, inputs: list) -> list:
    o_pos = {n: i for i, n in enumerate(order)}
    i_pos = {n: i for i, n in enumerate(inputs)}
    return [("o", o_pos[n]) if n in o_pos else ("i", i_pos[n]) if n in i_pos else None for n in nodes]


def _store_plan(key: tuple, info: tuple, order: list, inputs: list, grads: list) -> None:
    """Remember how the program of one autograd.grad call maps onto its forward graph."""
    prog, p_inputs, p_outputs = info
    in_pos = {id(n): i for i, n in enumerate(inputs)}
    in_pos.update({("scalar", id(n.value)): i for i, n in enumerate(inputs) if n.op == "scalar"})
    o_pos = {id(n): i for i, n in enumerate(order)}
    try:
        input_pos = [in_pos[id(n)] if id(n) in in_pos else in_pos[("scalar", id(n.value))] for n in p_inputs]
    except KeyError:
        return
    out_k = {id(n): k for k, n in enumerate(p_outputs)}
    plan = _Plan()
    plan.program, plan.input_pos = prog, input_pos
    plan.grad_outs = []
    for i, g in grads:
        if id(g._node) not in out_k:
            return  # a gradient computed earlier (not by this program): keep the transformer's path
        plan.grad_outs.append((i, out_k[id(g._node)]))
    taken = {k for _, k in plan.grad_outs}
    plan.fwd_outs = [(o_pos[id(n)], k) for k, n in enumerate(p_outputs) if k not in taken and id(n) in o_pos]
    if len(plan.fwd_outs) + len(taken) != len(p_outputs):
        return
    plan.freeable = [i for i, n in enumerate(order) if n.requires_grad and not n.leaf and OPS[n.op].saves]
    compiler.CACHE.add_plan(key, plan)


def _replay_grad(plan: _Plan, order: list, graph_inputs: list, inputs: list, allow_unused: Any,
                 materialize_grads: bool, retain_graph: bool) -> tuple:
    out = _run_plan(plan, order, graph_inputs)
    got = dict(plan.grad_outs)
    result = []
    for i, t in enumerate(inputs):
        if i in got:
            n = t._node
            g = T.wrap(ir.value_node(out[got[i]], n.shape, n.dtype, n.device))
            ir.set_owner(g._node, g)
        elif materialize_grads:
            g = T.zeros_like(t)
        elif allow_unused:
            g = None
        else:
            raise RuntimeError(f"The differentiated Tensor at index {i} appears to not have been used in "
                               "the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(g)
    if not retain_graph:
        for pos in plan.freeable:
            order[pos].freed = True
            order[pos].special = True
    return tuple(result)


class RemovableHandle:
    """Returned by ``register_hook``; ``.remove()`` takes the hook off again."""

    def __init__(self, hooks: list, fn: Any) -> None:
        self.hooks, self.fn = hooks, fn

    def remove(self) -> None:
        # by identity (two equal callables registered twice are two hooks), once
        for k, h in enumerate(self.hooks):
            if h is self.fn:
                del self.hooks[k]
                if tracing.ACTIVE is None:
                    LEAF_HOOKS_CHANGED[0] += 1
                break
        self.fn = None

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


# Counts the tensor hooks put on or taken off leaves outside a @srcgrad.compile trace: a compiled
# function's guard compares it (one number, however many parameters), so that a gradient hook
# added to a parameter between calls is not left out of the replays.
LEAF_HOOKS_CHANGED = [0]


def register_hook(t: T.Tensor, fn: Any) -> RemovableHandle:
    n = t._node
    if not n.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if n.leaf and tracing.ACTIVE is None:
        LEAF_HOOKS_CHANGED[0] += 1
    hooks = getattr(n, "hooks", None)
    if hooks is None:
        hooks = n.hooks = []
        n.special = True
    hooks.append(fn)
    return RemovableHandle(hooks, fn)
