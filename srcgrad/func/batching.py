"""``srcgrad.func.vmap``: run a per-example function over a batch, as ``torch.func.vmap``.

How it works (no batching rule per op):

1. Each batched argument is replaced by a *placeholder*: a tensor of one example's shape
   whose value cannot be read. The function runs once on the placeholders and is recorded
   like any other srcgrad code (define-by-run; ``srcgrad.func.grad`` inside it stays lazy).
2. The recorded per-example graph is written out by the code generator as a Python
   function over JAX arrays, ``def per_example_f(x, w): ...``.
3. One ``vmap`` node in the caller's graph calls ``jax.vmap(per_example_f, in_axes=...,
   out_axes=...)`` on the batched arguments; one ``vmap_out`` node per output picks its
   result. The per-example function is written at the top of whichever program computes
   the node, so the generated source shows it and XLA compiles it with the rest.

Gradients come from srcgrad's own transformer: the ``vmap`` call is a custom
``autograd.Function`` (``Vmap``) whose backward is again a ``vmap`` — of the per-example
vector-Jacobian product, which the transformer writes from the recorded per-example graph.
Unbatched tensors the function reads (module parameters, closures) get the sum over the
batch of their per-example contributions. Higher derivatives repeat the same step.

Random ops draw from ``fold_in(key(seed), counter)``; with ``randomness="different"`` each
op's seed is a batched argument, one seed per example (``_example_seeds``).

What vmap cannot do here: read a per-example value in Python (``.item()``, ``if x > 0``,
``nonzero``, ``print``: a clear error), ``.backward()`` inside the function (use
``func.grad``/``func.vjp``), or change an unbatched input or a captured tensor in place (a
BatchNorm updating its running statistics gets PyTorch's message for that). A batched
input changed in place is written back, as in PyTorch: its new value is one more output.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autodiff, codegen, ir, tracing
from .. import dtypes as D
from ..autograd.function import Function
from ..grad_mode import _state as _grad_state
from ..ops import defop
from ..tensor import Tensor, record, tensor, wrap, zeros
from . import pytree

__all__ = ["vmap", "Vmap", "VmapSpec"]


# -- the per-example placeholders ------------------------------------------------


class VmapValueError(RuntimeError):
    """A vmapped function read the value of a per-example tensor."""


def _value_read_error() -> VmapValueError:
    file, line = ir.user_loc()
    return VmapValueError(
        f"vmap: the function reads the value of a per-example tensor at {file}:{line} (.item(), bool(), "
        "print, .numpy(), Python control flow on a tensor, or an op whose result shape depends on values, "
        "such as nonzero or masked_select). vmap traces the function once for the whole batch, so it cannot "
        "branch on one example's values: write it with tensor ops (srcgrad.where instead of `if`), or run "
        "the function in a Python loop over the examples.")


class _Placeholder(tracing.Unknown):
    """The value of a placeholder tensor: any attempt to read it raises ``VmapValueError``."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple, dtype: Any) -> None:
        self.shape = shape
        self.dtype = dtype

    def _read(self, *args: Any, **kwargs: Any) -> Any:
        raise _value_read_error()

    __array__ = __jax_array__ = __float__ = __int__ = __bool__ = __index__ = __len__ = __iter__ = _read
    item = tolist = _read

    def __repr__(self) -> str:
        return f"<one example of a vmapped batch, shape {self.shape}>"


def _placeholder(shape: tuple, dtype: D.dtype, device: Any, requires_grad: bool, leaf: bool = True) -> Tensor:
    node = ir.value_node(_Placeholder(shape, dtype), shape, dtype, device)
    t = wrap(node)
    ir.set_owner(node, t)
    if requires_grad:
        t.requires_grad_(True)
        # (one example of a computed tensor is no leaf either: it may change in place, as in PyTorch)
        t._node.leaf = leaf
    return t


class _VmapTracer:
    """``tracing.ACTIVE`` while vmap traces the per-example function: autograd stays lazy
    (as under ``srcgrad.compile``), reading a per-example value raises, and randomness
    follows ``randomness=``. Notes that concern the caller go on to an enclosing tracer."""

    def __init__(self, outer: Any, randomness: str, placeholders: list) -> None:
        self.outer = outer
        self.randomness = randomness
        self.placeholders = {id(p._node) for p in placeholders}
        self.start_id = ir._next_id()
        self.rng: dict[int, tuple] = {}  # randomness="different": id(seed node) -> (seed, counter, generator)

    def note_realize(self, inputs: list | None = None) -> None:
        if inputs is not None and any(type(n.value) is _Placeholder for n in inputs):
            raise _value_read_error()
        if self.outer is not None:
            self.outer.note_realize(inputs)

    def before_inplace(self, t: Any, opname: str) -> None:
        # Refused before anything changes: an in-place op also writes to the tensor's view
        # base and its detach()/.data aliases, so each of those is checked too. One example
        # of a batched input may change (vmap writes the new values back to the input).
        seen: set[int] = set()
        stack = [t]
        while stack:
            u = stack.pop()
            if id(u) in seen:
                continue
            seen.add(id(u))
            if u._node.id < self.start_id and id(u._node) not in self.placeholders:
                file, line = ir.user_loc()
                if _is_batch_norm_statistic(u):
                    raise RuntimeError(_BATCH_NORM_MESSAGE)
                raise RuntimeError(
                    f"vmap: in-place change of a tensor that the function did not create ({opname} at {file}:{line}): "
                    "an unbatched input, a tensor captured from outside, or a view or detach()/.data alias of one. "
                    "Each example would change the same tensor; use an out-of-place op (x = x + 1) and return "
                    "the result. (The batched inputs themselves may change in place: vmap writes them back.)")
            if u._view is not None and u._view[0]() is not None:
                stack.append(u._view[0]())
            if u._base is not None:
                stack.extend(m for m in (ref() for ref, _ in u._base.members) if m is not None)

    def note_inplace(self, t: Any) -> None:
        pass  # (refused, when it is, by before_inplace)

    def note_backward(self) -> None:
        self.note_grad(None)

    def note_grad(self, t: Any) -> None:
        file, line = ir.user_loc()
        raise RuntimeError(f"vmap: .backward() or a .grad assignment inside a vmapped function ({file}:{line}) "
                           "is not supported; compute gradients with srcgrad.func.grad or srcgrad.func.vjp "
                           "inside the function instead.")

    def note_rng(self, seed_node: Any, counter_node: Any, generator: Any = None) -> None:
        if self.randomness == "error":
            raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use "
                               "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                               "operation out of vmap")
        if self.randomness == "different":
            # the op's seed becomes a batched argument, one seed per example (see _example_seeds);
            # an enclosing vmap hears of that argument once it exists, anything else of the op now
            self.rng[id(seed_node)] = (seed_node, counter_node, generator)
            if self.outer is not None and not isinstance(self.outer, _VmapTracer):
                self.outer.note_rng(seed_node, counter_node, generator)
            return
        if self.outer is not None:
            self.outer.note_rng(seed_node, counter_node, generator)

    def note_hook(self, hook: Any) -> None:
        if self.outer is not None:
            self.outer.note_hook(hook)


# -- the per-example function, written out ----------------------------------------


class VmapSpec(codegen.Definition):
    """A per-example function and how its arguments and results are batched: the
    attribute of a ``vmap`` node. Equal specs (same source, axes, shapes and dtypes) share
    programs and backward specs. (The source alone does not say the shapes: ``jnp.sum(x)``
    is the same text for every shape of ``x``.)"""

    __slots__ = ("name", "source", "in_axes", "out_axes", "in_types", "out_shapes", "out_dtypes", "_key")

    def __init__(self, name: str, source: str, in_axes: tuple, out_axes: tuple, in_types: tuple,
                 out_shapes: tuple, out_dtypes: tuple) -> None:
        self.name = name
        self.source = source
        self.in_axes = in_axes
        self.out_axes = out_axes
        self.in_types = in_types  # per example: (shape, dtype) of each argument
        self.out_shapes = out_shapes  # batched
        self.out_dtypes = out_dtypes
        self._key = (source, in_axes, out_axes, in_types, out_shapes, out_dtypes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VmapSpec) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"vmap({self.name}, in_axes={self.in_axes}, out_axes={self.out_axes})"


# One name per distinct per-example function in this process (the text without its
# `def` line -> name), so a program's text is the same every time it is generated.
_NAMES: dict[str, str] = {}
_TAKEN: set[str] = set()
_SPECS: dict[tuple, VmapSpec] = {}  # bounded cache: (graph key, axes) -> spec
_MAX_SPECS = 512


def _function_name(base: str, body: str) -> str:
    name = _NAMES.get(body)
    if name is None:
        stem = re.sub(r"\W", "_", base).strip("_") or "fn"
        stem = stem if stem.startswith("per_example") else "per_example_" + stem
        name, k = stem, 1
        while name in _TAKEN:
            k += 1
            name = f"{stem}_{k}"
        _NAMES[body] = name
        _TAKEN.add(name)
    return name


def _make_spec(base: str, order: list, inputs: list, outputs: list, in_axes: tuple, out_axes: tuple,
               batch: int, input_names: dict | None = None) -> VmapSpec:
    source, _ = codegen.generate(order, inputs, outputs, "__body__", input_names)
    body = source.split("\n", 1)[1]
    name = _function_name(base, body)
    source = source.replace("def __body__(", f"def {name}(", 1)
    shapes, dtypes = [], []
    for o, ax in zip(outputs, out_axes):
        shape = list(o.shape)
        shape.insert(ax, batch)
        shapes.append(tuple(shape))
        dtypes.append(o.dtype)
    in_types = tuple((n.shape, n.dtype) for n in inputs)
    return VmapSpec(name, source, in_axes, out_axes, in_types, tuple(shapes), tuple(dtypes))


def _lower_vmap(names: list, attrs: dict) -> str:
    spec = attrs["spec"]
    return f"jax.vmap({spec.name}, in_axes={spec.in_axes!r}, out_axes={spec.out_axes!r})({', '.join(names)})"


# The call returns the per-example function's tuple of results (never a program's output:
# nothing holds the node); each vmap_out node picks one.
defop("vmap", lambda *xs, spec: ((), D.float32), _lower_vmap, "VmapBackward0", ("spec",), saves="")
defop("vmap_out", lambda call, k: (call.attrs[0].out_shapes[k], call.attrs[0].out_dtypes[k]), "{0}[{k}]",
      "VmapBackward0", ("k",), saves="")


# -- the differentiable call --------------------------------------------------------


class _Trace:
    """The recorded per-example graph behind a spec: what its backward is written from."""

    __slots__ = ("inputs", "outputs", "names")

    def __init__(self, inputs: list, outputs: list, names: dict) -> None:
        self.inputs = inputs  # the per-example function's argument nodes, in order
        self.outputs = outputs  # its result nodes
        self.names = names  # id(node) -> argument name in the generated source


class Vmap(Function):
    """One vmapped call. ``apply(spec, trace, *args)``: ``args`` are the per-example
    function's arguments (batched tensors, captured tensors, Python numbers)."""

    @staticmethod
    def forward(ctx: Any, spec: VmapSpec, trace: _Trace, *args: Any) -> tuple:
        call = record("vmap", args, (spec,))
        outs = tuple(record("vmap_out", (call,), (k,)) for k in range(len(spec.out_shapes)))
        # an output that does not depend differentiably on anything that requires grad (a
        # vjp_fn's gradients, detached) does not require grad either (unless a forward-AD level is
        # open: then every output goes through Vmap.jvp, which says what to use instead)
        if not ir.keep_history:
            ctx.mark_non_differentiable(*[o for o, n in zip(outs, trace.outputs) if not n.requires_grad])
        ctx.spec, ctx.trace = spec, trace
        ctx.args = args
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        return outs

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        spec, trace, args = ctx.spec, ctx.trace, ctx.args
        ctx.saved_tensors  # noqa: B018 - raises PyTorch's error if an argument changed in place since
        wanted = tuple(bool(w) for w in ctx.needs_input_grad[2:])
        fed = tuple(g is not None and spec.out_dtypes[k].is_floating_point for k, g in enumerate(grads))
        spec2, trace2, extra = _vjp_spec(spec, trace, wanted, fed)
        result = [None] * len(args)
        if spec2 is not None:
            args2 = list(args) + [g for g, f in zip(grads, fed) if f] + extra
            outs = Vmap.apply(spec2, trace2, *args2)
            for k, i in enumerate(i for i, w in enumerate(wanted) if w):
                g = outs[k]
                result[i] = g if spec.in_axes[i] is not None else g.sum(0)
        return (None, None, *result)


    @staticmethod
    def jvp(ctx: Any, *tangents: Any) -> tuple:
        # (the per-example graph is recorded differentiable only where the caller's tensors
        # require grad, which dual tensors need not: there is no vjp to transpose)
        raise NotImplementedError("srcgrad: forward-mode AD (autograd.forward_ad) through srcgrad.func.vmap is not "
                                  "supported; use srcgrad.func.jvp or srcgrad.func.jacfwd around the vmapped function")


# -- the backward of a vmapped call: the vmap of the per-example vjp ------------------

_VJP_SPECS: dict[tuple, tuple] = {}


def _vjp_spec(spec: VmapSpec, trace: _Trace, wanted: tuple, fed: tuple) -> tuple:
    """``(spec, trace, extra args)`` of the per-example vector-Jacobian product: its arguments
    are the forward's, then one cotangent per fed output, then constants the backward made."""
    key = (spec, wanted, fed, tuple(n.requires_grad for n in trace.inputs))
    hit = _VJP_SPECS.get(key)
    if hit is not None:
        return hit
    cots = []
    roots, seeds = [], []
    for k, (o, f) in enumerate(zip(trace.outputs, fed)):
        if not f:
            continue
        shape = list(spec.out_shapes[k])
        del shape[spec.out_axes[k]]
        c = _placeholder(tuple(shape), spec.out_dtypes[k], o.device, True)
        cots.append(c)
        if o.requires_grad:
            roots.append(o)
            seeds.append(c)
    names = {id(c._node): "g_out" if len(cots) == 1 else f"g_out{k}" for k, c in enumerate(cots)}
    want_nodes = [n for n, w in zip(trace.inputs, wanted) if w]
    saved_block = ir._block, ir._loc_override
    try:
        results = autodiff.transform(roots, seeds, create_graph=True, retain_graph=True,
                                     wanted=want_nodes, boundary=trace.inputs) if roots else {}
    finally:
        ir._block, ir._loc_override = saved_block
    grads = []
    for n in want_nodes:
        g = results.get(id(n), (None, None))[1]
        grads.append(g._node if g is not None else zeros(n.shape, dtype=n.dtype, device=n.device)._node)
    if not grads:
        hit = (None, None, [])
        _VJP_SPECS[key] = hit
        return hit
    inputs = list(trace.inputs) + [c._node for c in cots]
    known = {id(n) for n in inputs}
    order, found = _subgraph(grads, known, 0)
    extras = [n for n in found if id(n) not in known]  # constants the rules made (a zeros, a 0.5)
    in_axes = spec.in_axes + tuple(spec.out_axes[k] for k, f in enumerate(fed) if f) + (None,) * len(extras)
    out_axes = tuple(spec.in_axes[i] if spec.in_axes[i] is not None else 0 for i, w in enumerate(wanted) if w)
    batch = spec.out_shapes[0][spec.out_axes[0]]
    names.update(trace.names)
    spec2 = _make_spec(spec.name + "_vjp", order, inputs + extras, grads,
                       in_axes, out_axes, batch, names)
    trace2 = _Trace(inputs + extras, grads, names)
    extra_args = [_argument(n) for n in extras]
    hit = (spec2, trace2, extra_args)
    if len(_VJP_SPECS) >= _MAX_SPECS:
        _VJP_SPECS.clear()
    _VJP_SPECS[key] = hit
    return hit


# -- vmap itself ----------------------------------------------------------------------


def _is_tensor(x: Any) -> bool:
    return isinstance(x, Tensor)


def _flatten(tree: Any) -> tuple[list, Any]:
    return pytree.tree_flatten(tree, is_leaf=_is_tensor)


def _dims_for(dims: Any, tree: Any, what: str, fname: str) -> list:
    """One dim per leaf of ``tree``: ``dims`` is an int/None for a whole subtree, or a
    container of the tree's own structure (a prefix of it), as torch.func allows."""
    if dims is None or isinstance(dims, int):
        return [dims] * len(_flatten(tree)[0])
    if isinstance(dims, (tuple, list)) and isinstance(tree, (tuple, list)) and len(dims) == len(tree):
        return [d for sub_dims, sub in zip(dims, tree) for d in _dims_for(sub_dims, sub, what, fname)]
    if isinstance(dims, dict) and isinstance(tree, dict) and set(dims) == set(tree):
        # (in the order the tree flattens a dict: its own)
        return [d for k in tree for d in _dims_for(dims[k], tree[k], what, fname)]
    raise ValueError(f"vmap({fname}, {what}={dims!r}, ...): {what} is not compatible with the structure of the "
                     f"{'inputs' if what == 'in_dims' else 'outputs'}: {what} must be an int, None, or a "
                     f"tuple/list/dict of the same structure (got {type(dims).__name__} for "
                     f"{type(tree).__name__} of {len(tree) if hasattr(tree, '__len__') else 1})")


def vmap(func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", *,
         chunk_size: int | None = None) -> Callable:
    """``torch.func.vmap``: ``func`` mapped over a dimension of its arguments.

    ``in_dims``: an int (the batch dim of every tensor argument), None (not batched) or a
    tuple with one entry per argument (nested like the argument: a dict of tensors takes
    one entry for the whole dict or a dict of entries). ``out_dims``: where the batch dim
    goes in each output (an int, None for an output that does not depend on the batch, or
    a tuple/list/dict of the outputs' structure). ``randomness``: ``"error"`` (random ops
    raise), ``"same"`` (every example sees the same draw) or ``"different"`` (each example
    its own). ``chunk_size`` is checked for compatibility; the whole batch runs as one XLA
    computation."""
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def vmapped(*args: Any, **kwargs: Any) -> Any:
        return _vmap_call(func, args, kwargs, in_dims, out_dims, randomness)

    return vmapped


def _name(func: Callable) -> str:
    return getattr(func, "__name__", type(func).__name__)


def _vmap_call(func: Callable, args: tuple, kwargs: dict, in_dims: Any, out_dims: Any, randomness: str) -> Any:
    fname = _name(func)
    if not isinstance(in_dims, (int, tuple)) and in_dims is not None:
        raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: {type(in_dims)}.")
    if isinstance(in_dims, tuple) and len(in_dims) != len(args):
        raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): in_dims is not compatible with the "
                         f"structure of `inputs`. in_dims has structure of {len(in_dims)} entries but inputs has "
                         f"{len(args)} arguments.")
    if not args:
        raise ValueError(f"vmap({fname})(<inputs>): got no inputs. Maybe you forgot to add inputs, or you are "
                         "trying to vmap over a function with no inputs. The latter is unsupported.")
    flat, tree = _flatten(args)
    dims = _dims_for(in_dims, args, "in_dims", fname) if isinstance(in_dims, tuple) else [in_dims] * len(flat)
    # which flat positions are batched, with their dim normalised
    batch_sizes = []
    per_example = list(flat)
    placeholders, sources, axes = [], [], []
    for k, (x, d) in enumerate(zip(flat, dims)):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): in_dim entries must be int or "
                             f"None, got {d!r}")
        if not isinstance(x, Tensor):
            raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={d} for an input but "
                             f"the input is of type {type(x)}. We cannot vmap over non-Tensor arguments, please "
                             "use None as the respective in_dim")
        nd = x.dim()
        if not -nd <= d < nd:
            raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): Got in_dim={d} for some input, "
                             f"but that input is a Tensor of dimensionality {nd} so expected in_dim to satisfy "
                             f"-{nd} <= in_dim < {nd}.")
        d %= nd
        batch_sizes.append(x.shape[d])
        shape = tuple(s for i, s in enumerate(x.shape) if i != d)
        p = _placeholder(shape, x.dtype, x._node.device, _grad_state.enabled and x.requires_grad, x.is_leaf)
        per_example[k] = p
        placeholders.append(p)
        sources.append(x)
        axes.append(d)
    if not placeholders:
        raise ValueError(f"vmap({fname}, in_dims={in_dims!r}, ...)(<inputs>): Got no Tensor inputs with a mapped "
                         "dimension (every in_dim is None or no input is a Tensor); at least one input must be "
                         "batched.")
    if len(set(batch_sizes)) != 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{batch_sizes} for the mapped dimension")  # (PyTorch's words, without the prefix)
    batch = batch_sizes[0]

    # 1. trace the per-example function on the placeholders
    ph_nodes = [p._node for p in placeholders]  # (an in-place change gives a placeholder a new node)
    outer = tracing.ACTIVE
    tracer = _VmapTracer(outer, randomness, placeholders)
    tracing.ACTIVE = tracer
    for n, x in zip(ph_nodes, sources):
        _SOURCES[id(n.value)] = x
    try:
        result = func(*pytree.tree_unflatten(tree, per_example), **kwargs)
    finally:
        tracing.ACTIVE = outer
        for n in ph_nodes:
            _SOURCES.pop(id(n.value), None)
    leaves, out_tree = pytree.tree_flatten(result, is_leaf=_is_tensor)
    odims = _out_dims_for(out_dims, result, leaves, fname)
    out_axes: list = []
    for o, d in zip(leaves, odims):
        if d is None:
            out_axes.append(None)  # (returned as it is, if it does not depend on the batch: checked below)
            continue
        if not isinstance(o, Tensor):
            raise ValueError(f"vmap({fname}, ...): `{fname}` must only return Tensors, got type {type(o)}. Did "
                             "you mean to set out_dims= to None for output?")
        nd = o.dim() + 1
        if not -nd <= d < nd:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}], but got {d})")
        out_axes.append(d % nd)
    if not leaves:
        raise ValueError(f"vmap({fname}, ...): `{fname}` must return at least one Tensor")

    # 2. the per-example graph: the placeholders first, then what else it reads; the new
    # values of batched inputs changed in place are outputs too, written back below
    mapped = [k for k, d in enumerate(out_axes) if d is not None]
    unmapped = [k for k, d in enumerate(out_axes) if d is None and isinstance(leaves[k], Tensor)]
    if unmapped:
        _check_unbatched(fname, [leaves[k]._node for k in unmapped], ph_nodes, tracer)
    changed = [k for k, (p, n) in enumerate(zip(placeholders, ph_nodes)) if p._node is not n]
    results = list(leaves)
    if mapped or changed:
        targets = [leaves[k]._node for k in mapped] + [placeholders[k]._node for k in changed]
        # (the call reads, and its backward needs, the values before the write-back: a tensor
        # of their node, whose version the write-back does not bump)
        before = [wrap(x._node) if k in changed else x for k, x in enumerate(sources)]
        outs = _vmapped_call(func, fname, args, dims, ph_nodes, before, axes, batch, tracer, targets,
                             tuple(out_axes[k] for k in mapped) + tuple(axes[k] for k in changed))
        for k, o in zip(mapped, outs):
            results[k] = o
        for k, new in zip(changed, outs[len(mapped):]):
            sources[k].copy_(new)
            for i in mapped:  # the changed input itself, returned: the caller's tensor, as PyTorch's
                if leaves[i] is placeholders[k] and out_axes[i] == axes[k]:
                    results[i] = sources[k]
    return pytree.tree_unflatten(out_tree, results)


def _vmapped_call(func: Callable, fname: str, args: tuple, dims: list, ph_nodes: list, sources: list,
                  axes: list, batch: int, tracer: _VmapTracer, targets: list, out_axes: tuple) -> tuple:
    """The per-example graph of ``targets`` written out as a spec, and one differentiable call."""
    inputs = list(ph_nodes)
    order, found = _subgraph(targets, {id(n) for n in inputs}, tracer.start_id)
    _check_unchanged(order, found, tracer)
    inputs += [n for n in found if id(n) not in {id(p) for p in inputs}]
    # A leaf made inside from a placeholder (the fresh leaf of an inner func.grad, a detach())
    # holds the same per-example value: it is fed the same batched argument, as a constant.
    of_placeholder = {id(n.value): k for k, n in enumerate(ph_nodes)}
    # (a placeholder of an enclosing vmap is an argument like any captured tensor)
    batched_as = [of_placeholder.get(id(n.value)) if type(n.value) is _Placeholder else None
                  for n in inputs[len(ph_nodes):]]
    # randomness="different": each random op's seed is fed one seed per example
    seeds = {id(n): _example_seeds(n, batch, sources[0].device) for n in inputs[len(ph_nodes):]
             if id(n) in tracer.rng}
    in_axes = tuple(axes) + tuple(0 if id(n) in seeds else None if k is None else axes[k]
                                  for n, k in zip(inputs[len(ph_nodes):], batched_as))
    names = _argument_names(func, args, [k for k, d in enumerate(dims) if d is not None], inputs)
    key = (fname, _structure(order, inputs, targets), tuple(names.get(id(n)) for n in inputs), in_axes,
           out_axes, batch)
    spec = _SPECS.get(key)
    if spec is None:  # (writing the source is the slow part of a call: a loop writes it once)
        spec = _make_spec(fname, order, inputs, targets, in_axes, out_axes, batch, names)
        if len(_SPECS) >= _MAX_SPECS:
            _SPECS.clear()
        _SPECS[key] = spec
    # (a tensor made inside the function, such as the fresh leaf of an inner func.grad, is a
    # constant to the caller: only tensors from outside carry gradients out)
    args_ = list(sources) + [seeds[id(n)] if id(n) in seeds else sources[k].detach() if k is not None else
                             _argument(n) if n.id < tracer.start_id or n.op == "scalar" else _argument(n).detach()
                             for n, k in zip(inputs[len(ph_nodes):], batched_as)]
    if isinstance(tracer.outer, _VmapTracer):  # (an enclosing vmap batches these seeds in turn)
        for n_id, s in seeds.items():
            _, counter, generator = tracer.rng[n_id]
            tracer.outer.note_rng(s._node, counter, generator)

    # 3. one differentiable call
    return Vmap.apply(spec, _Trace(inputs, targets, names), *args_)


def _out_dims_for(out_dims: Any, result: Any, leaves: list, fname: str) -> list:
    """One out_dim (int or None) per leaf of ``result``: ``out_dims`` is an int or None for a
    whole subtree, or a tuple/list/dict of the outputs' own structure (a prefix of it), as
    torch.func's ``_broadcast_to_and_flatten`` reads it; PyTorch's errors otherwise."""
    dims_leaves = pytree.tree_flatten(out_dims, is_leaf=lambda d: d is None)[0]
    if not all(d is None or isinstance(d, int) for d in dims_leaves):
        raise ValueError(f"vmap({fname}, ..., out_dims={out_dims}): `out_dims` must be an int, None or a python "
                         "collection of ints representing where in the outputs the vmapped dimension should appear.")
    if isinstance(out_dims, tuple) and len(out_dims) == 1 and not isinstance(result, (tuple, list, dict)):
        out_dims = out_dims[0]  # (PyTorch accepts (d,) for a single output)

    def mismatch() -> ValueError:
        return ValueError(f"vmap({fname}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible with the "
                          f"structure of `outputs`. out_dims has structure "
                          f"{pytree.tree_flatten(out_dims, is_leaf=lambda d: d is None)[1]} but outputs has "
                          f"structure {pytree.tree_flatten(result, is_leaf=_is_tensor)[1]}.")

    def walk(d: Any, x: Any) -> list:
        if d is None or isinstance(d, int):
            return [d] * len(pytree.tree_flatten(x, is_leaf=_is_tensor)[0])
        if isinstance(d, dict) and isinstance(x, dict):
            if set(d) != set(x):
                raise mismatch()
            return [e for k in x for e in walk(d[k], x[k])]  # (in the order the outputs flatten)
        if type(d) in (tuple, list) and isinstance(x, type(d)) and not isinstance(x, dict) and len(d) == len(x):
            return [e for sub_d, sub_x in zip(d, x) for e in walk(sub_d, sub_x)]
        raise mismatch()

    odims = walk(out_dims, result)
    assert len(odims) == len(leaves)
    return odims


def _check_unbatched(fname: str, nodes: list, ph_nodes: list, tracer: _VmapTracer) -> None:
    """PyTorch's error for an output with out_dim None that depends on the batch (on a
    placeholder, or a random draw that differs per example)."""
    batched = {id(n) for n in ph_nodes} | set(tracer.rng)
    of_placeholder = {id(n.value) for n in ph_nodes}
    order, found = _subgraph(nodes, batched, tracer.start_id)
    for n in found:
        if type(n.value) is _Placeholder and id(n.value) in of_placeholder:
            batched.add(id(n))  # (a leaf made inside from a placeholder holds its value)
    for n in order:
        if any(id(i) in batched for i in n.inputs):
            batched.add(id(n))
    if any(id(n) in batched for n in nodes):
        raise ValueError(f"vmap({fname}, ...): `{fname}` can not return a BatchedTensor when out_dim is None")


# -- randomness="different": one seed per example ------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _example_seeds(seed_node: Any, batch: int, device: Any) -> Tensor:
    """The seeds of one random op for each example: ``splitmix64(seed, example)``, stacked
    on a new first dim. Random draws key on ``fold_in(key(seed), counter)``: the op's counter
    still tells it from the generator's other draws, the mixed seed tells the examples apart
    (64-bit, so they stay clear of the 32-bit seeds that manual_seed gives). A seed that is
    already a batch of seeds (an inner vmap's) is mixed elementwise."""
    base = np.asarray(seed_node.value).astype(np.int64).view(np.uint64)
    example = np.arange(1, batch + 1, dtype=np.uint64).reshape((batch,) + (1,) * base.ndim)
    with np.errstate(over="ignore"):
        z = base[None] + example * _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return tensor(z.view(np.int64), device=device)


# -- what the messages need ------------------------------------------------------------------

# id(placeholder value) -> the batched tensor it stands for, while vmap traces (debug_unwrap)
_SOURCES: dict[int, Tensor] = {}


def batched_source(t: Tensor) -> Tensor | None:
    """The batched tensor behind ``t`` if it is one example of an enclosing vmap, else None."""
    value = t._node.value
    return _SOURCES.get(id(value)) if type(value) is _Placeholder else None


_BATCH_NORM_MESSAGE = (
    "Batch norm got a batched tensor as input while the running_mean or running_var, which will be updated in "
    "place, were not batched.\nIf you are using a module and do not need eval mode, please set "
    "`track_running_stats` to be False.If you are using a prebuilt module and do not need eval mode, please see "
    "the functorch website for resources on how to patch your module to work with vmap (srcgrad.func."
    "replace_all_batch_norm_modules_(model) does that for every BatchNorm module of a model)")


def _is_batch_norm_statistic(t: Tensor) -> bool:
    """Whether ``t``, about to change in place, is a batch norm's running statistic: a
    running_mean/running_var argument of a function on the stack (F.batch_norm), or a
    buffer of a BatchNorm module whose forward is on the stack."""
    from ..nn.modules.batchnorm import _BatchNorm
    f = sys._getframe(1)
    while f is not None:
        found = f.f_locals
        if any(found.get(name) is t for name in ("running_mean", "running_var")):
            return True
        me = found.get("self")
        if isinstance(me, _BatchNorm) and any(getattr(me, name, None) is t
                                              for name in ("running_mean", "running_var", "num_batches_tracked")):
            return True
        f = f.f_back
    return False


def _subgraph(targets: list, stop: set, start_id: int) -> tuple[list, list]:
    """The nodes recorded since ``start_id`` that ``targets`` need, in topological order, and
    what they read: nodes in ``stop``, nodes with values, and anything recorded before the
    trace (pending or not: it is an argument, computed by the caller's program)."""
    order: list = []
    inputs: list = []
    seen: set = set()
    for t in targets:
        stack = [(t, False)]
        while stack:
            n, expanded = stack.pop()
            if expanded:
                order.append(n)
                continue
            if id(n) in seen:
                continue
            seen.add(id(n))
            if id(n) in stop or n.value is not None or n.id < start_id:
                inputs.append(n)
                continue
            stack.append((n, True))
            stack.extend((i, False) for i in reversed(n.inputs) if id(i) not in seen)
    return order, inputs


def _argument_names(func: Callable, args: tuple, batched: list, inputs: list) -> dict:
    """Names for the per-example function's arguments in generated code: the parameter
    names of ``func`` (``params_fc1_weight`` for a dict entry), as far as they can be
    found. A placeholder is named after its position; an unbatched tensor argument after
    the argument whose value it holds (``func.grad`` inside makes a fresh leaf of it)."""
    try:
        params = [p.name for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        return {}
    if not params:
        return {}
    leaves = pytree.tree_leaves_with_path(args, is_leaf=_is_tensor)
    leaf_names = []
    for path, _ in leaves:
        base = params[min(path[0], len(params) - 1)]
        rest = "_".join(str(p) for p in path[1:])
        name = re.sub(r"\W", "_", f"{base}_{rest}" if rest else base).strip("_")
        leaf_names.append(name if name.isidentifier() else None)
    names = {id(node): leaf_names[k] for node, k in zip(inputs, batched) if leaf_names[k]}
    by_value = {id(leaf._node.value): leaf_names[k] for k, (_, leaf) in enumerate(leaves)
                if isinstance(leaf, Tensor) and leaf._node.value is not None and leaf_names[k]}
    for n in inputs[len(batched):]:
        if n.op != "scalar" and n.value is not None and id(n.value) in by_value:
            names.setdefault(id(n), by_value[id(n.value)])
    return names


def _structure(order: list, inputs: list, targets: list) -> tuple:
    """Everything the per-example function's source depends on: each node's op, attributes,
    shape and dtype, its inputs, and the user lines that name it and its comments."""
    pos = {}
    entries = []
    for n in inputs:
        pos[id(n)] = len(entries)
        entries.append(("scalar", type(n.value)) if n.op == "scalar" else ("input", n.shape, n.dtype))
    for n in order:
        pos[id(n)] = len(entries)
        block, grad_of = getattr(n, "block", None), getattr(n, "grad_of", None)
        entries.append((n.sig, n.loc, getattr(n, "inner", False), block.loc if block is not None else None,
                        grad_of.loc if grad_of is not None else None, tuple([pos[id(i)] for i in n.inputs])))
    return tuple(entries), tuple([pos[id(t)] for t in targets])


def _argument(n: Any) -> Any:
    """What the caller passes for an argument node of the per-example function."""
    if n.op == "scalar":
        return n.value
    t = ir.live_tensor(n)
    return t if t is not None else wrap(n)


def _check_unchanged(order: list, inputs: list, tracer: _VmapTracer) -> None:
    """Refuse a trace that changed a tensor from outside in place (its new value would be lost)."""
    for n in list(order) + list(inputs):
        over = getattr(n, "overwritten", None)
        if (over is not None and n.id < tracer.start_id and over[3].id >= tracer.start_id
                and id(n) not in tracer.placeholders):  # (a batched input's change is written back)
            raise RuntimeError(f"vmap: the function changed a tensor from outside in place ({over[0]}); srcgrad's "
                               "vmap does not write per-example results back: use an out-of-place op and return "
                               "the result.")
