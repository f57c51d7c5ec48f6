"""``grad_fn`` objects: PyTorch-named views of the recorded graph (``MulBackward0`` ...).

A ``Node`` (``grad_fn``) is a view of one IR node, made on first use and cached on it
(``ir.Node.gradfn``); hooks registered on it live on that object and the IR node is
marked ``special``, so the transformer (``autodiff.transform``) runs them and the
replay fast path steps aside. A custom Function's outputs share one ``grad_fn``, kept
on its ``fn_call`` node, which forwards attribute reads to the ctx (as PyTorch's
``BackwardCFunction`` *is* the ctx).
"""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import Iterator
from typing import Any

from .. import dtypes as D
from .. import ir
from .. import tensor as T
from ..autodiff import BACKWARD_TWICE, MultiGradHook, RemovableHandle, _check_saved, shown_grads
from ..autodiff import _AccHooks as AccHooks
from ..ir import Node as _IRNode
from ..ops import OPS
from .saved_hooks import SavedTensor, disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks  # noqa: F401


class Node_:  # noqa: N801 - torch.autograd.graph.Node (exported as ``Node`` below)
    """A function in the autograd graph: ``name()``, ``next_functions``, ``metadata``, hooks."""

    __slots__ = ("_node", "metadata", "_pre", "_post")

    def __init__(self, node: _IRNode) -> None:
        self._node = node
        self.metadata: dict = {}
        self._pre: list | None = None  # register_prehook: fn(grad_outputs)
        self._post: list | None = None  # register_hook: fn(grad_inputs, grad_outputs)

    def name(self) -> str:
        n = self._node
        if n.op in ("fn_out", "fn_call"):
            return _function_names(n.attrs[0])[1]
        name = OPS[n.op].grad_name
        return _QUALIFIED.get(name, name)

    @property
    def next_functions(self) -> tuple:
        n = self._node
        shown = _SHOWN_EDGES.get(n.op)
        if shown is not None:
            return shown(n)
        inputs = n.inputs
        return tuple(_edge(inputs[k], inputs) for k in _edge_positions(n))

    def register_hook(self, fn: Any) -> Any:
        """``fn(grad_inputs, grad_outputs)`` after this function's backward ran; it may
        return replacement ``grad_inputs``."""
        if self._post is None:
            self._post = []
        self._node.special = True  # (the replay fast path does not run hooks)
        self._post.append(fn)
        return RemovableHandle(self._post, fn)

    def register_prehook(self, fn: Any) -> Any:
        """``fn(grad_outputs)`` before this function's backward runs; it may return
        replacement ``grad_outputs``."""
        if self._pre is None:
            self._pre = []
        self._node.special = True
        self._pre.append(fn)
        return RemovableHandle(self._pre, fn)

    def _register_hook_dict(self, tensor: Any) -> None:  # (called by some PyTorch helpers; nothing to do)
        pass

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_saved_"):
            return _saved(self._node, name)
        if name.startswith("_raw_saved_"):
            return _raw_saved(self._node, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __repr__(self) -> str:
        cls = type(self)
        name = cls.__name__ if cls.__module__ != "srcgrad.autograd.function" else f"{cls.__module__}.{cls.__name__}"
        return f"<{name} object at {hex(id(self))}>"

    def __dir__(self) -> list:
        names = set(super().__dir__())
        n = self._node
        for name in _SAVED.get(OPS[n.op].grad_name, {}) if n.op in OPS else ():
            names.add(name)
            if name != "_saved_exponent" and not name.endswith(("_sym_sizes", "_sym_numel", "_dim", "_keepdim")):
                names.add("_raw" + name)
        return sorted(names)

    def __call__(self, *grads: Any) -> Any:
        """Apply this function's derivative rule to ``grads`` now: the gradients of its
        inputs (None where an input does not require grad), a tuple unless there is one."""
        n = self._node
        if len(grads) != 1:
            raise TypeError(f"{self.name()} takes 1 gradient, got {len(grads)}")
        g = grads[0]
        if not isinstance(g, T.Tensor):
            raise TypeError(f"expected a Tensor gradient, got {type(g).__name__}")
        _check_saved(n)
        op = OPS[n.op]
        in_grads = op.vjp(g, T.wrap(n), *[T.wrap(i) for i in n.inputs], **dict(zip(op.attr_names, n.attrs)))
        out = shown_grads(n, in_grads)
        return out[0] if len(out) == 1 else out


Node = Node_  # isinstance(y.grad_fn, torch.autograd.graph.Node)
Node_.__name__ = Node_.__qualname__ = "Node"  # (as PyTorch names it)


class AccumulateGrad(Node_):
    """The ``next_functions`` entry of a leaf: its ``.variable`` is the leaf tensor. One
    object per leaf (cached on its IR node, and kept with the tensor once it has hooks)."""

    __slots__ = ()

    def __new__(cls, node: _IRNode) -> AccumulateGrad:
        gf = getattr(node, "gradfn", None)
        if isinstance(gf, AccumulateGrad):
            return gf
        for h in getattr(node, "hooks", None) or ():  # a leaf changed in place since: the same tensor
            if type(h) is AccHooks:
                node.gradfn = h.acc
                return h.acc
        self = object.__new__(cls)
        Node_.__init__(self, node)
        node.gradfn = self
        return self

    def __init__(self, node: _IRNode) -> None:  # (all done in __new__)
        pass

    @property
    def variable(self) -> Any:
        return self._node.owner() if self._node.owner else None

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def register_hook(self, fn: Any) -> Any:
        """``fn((), (grad,))`` after the leaf's ``.grad`` was accumulated."""
        self._mark()
        return Node_.register_hook(self, fn)

    def register_prehook(self, fn: Any) -> Any:
        """``fn((grad,))`` before accumulation; it may return a replacement ``(grad,)``."""
        self._mark()
        return Node_.register_prehook(self, fn)

    def _mark(self) -> None:
        # A marker among the leaf's tensor hooks: it sends backward through the transformer
        # and stays with the tensor when an in-place update (an optimiser step) gives it a
        # new node, as tensor hooks do. The transformer skips it when calling tensor hooks.
        n = self._node
        hooks = getattr(n, "hooks", None)
        if hooks is None:
            hooks = n.hooks = []
        if not any(type(h) is AccHooks for h in hooks):
            hooks.append(AccHooks(self))
        n.special = True

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"

    def __call__(self, *grads: Any) -> Any:
        raise RuntimeError("calling AccumulateGrad directly is not supported by srcgrad")


def _no_grad_view(node: _IRNode) -> bool:
    while node.op == "nograd_update":
        node = node.inputs[0]
    return node.op == "nograd_view"


def _edge(i: _IRNode, siblings: tuple) -> tuple:
    if not i.requires_grad:
        return (None, 0)
    if i.leaf:
        return (AccumulateGrad(i), 0)
    if _no_grad_view(i):
        return (None, 0)  # a view taken under no_grad: no grad_fn, no AccumulateGrad
    return (grad_fn_of(i), output_nr(i, siblings))


# grad_fn kinds whose other inputs PyTorch gives no edge: a Scalar fill value, an index tensor
_FIRST_ONLY = frozenset(("FillBackward2", "ZeroBackward0", "IndexSelectBackward0"))
# ops whose other inputs are positions (X[i], X[i:j] with the position a program input)
_FIRST_ONLY_OPS = frozenset(("dyn_select", "dyn_slice", "dyn_pad"))
# grad_fns of PyTorch overloads that take a Scalar argument, which has no edge (`2 - x`:
# RsubBackward1 has one); other ops wrap a Python number into a tensor (an edge, None)
_SCALAR_ARGS = frozenset(("RsubBackward1", "PowBackward0", "PowBackward2", "RemainderBackward0", "ClampBackward1",
                          "LerpBackward0", "MaskedFillBackward0"))
# ops whose integer or bool tensor inputs are indices or masks: not differentiable arguments
_INDEX_OPS = frozenset(("where", "gather", "index", "index_put", "take_along", "scatter_add", "nll_loss",
                        "embedding"))
_NUMBER_OPS = frozenset(("scalar", "const"))


class TBackward0(Node_):
    """The node PyTorch puts between a ``Linear``'s weight and its matrix product (``weight.t()``).
    srcgrad's ``linear`` is one op that reads the weight as it is; this stands in for that node
    in ``next_functions``, so a graph walked from a loss shows PyTorch's nodes."""

    __slots__ = ()

    def name(self) -> str:
        return "TBackward0"

    @property
    def next_functions(self) -> tuple:
        return (_edge(self._node, ()),)  # (_node is the weight's node)

    def register_hook(self, fn: Any) -> Any:
        raise NotImplementedError("srcgrad: hooks on the TBackward0 of a Linear layer's weight are not supported; "
                                  "register a hook on the weight tensor instead")

    register_prehook = register_hook


def _linear_edges(n: _IRNode) -> tuple:
    # PyTorch's addmm(bias, input, weight.t()) and mm(input, weight.t()): the bias first
    x, w = n.inputs[0], n.inputs[1]
    t = (TBackward0(w), 0) if w.requires_grad else (None, 0)
    edges = (_edge(x, n.inputs), t)
    return ((_edge(n.inputs[2], n.inputs),) + edges) if len(n.inputs) > 2 else edges


def _mse_edges(n: _IRNode) -> tuple:
    # MseLossBackward0: (input, target), past the mean/sum and the square of the composite
    d = n
    for _ in range(3):
        if d.op == "sub":
            return tuple(_edge(i, d.inputs) for i in d.inputs)
        d = d.inputs[0]
    return tuple(_edge(n.inputs[k], n.inputs) for k in _edge_positions(n))


def _conv_edges(n: _IRNode) -> tuple:
    # ConvolutionBackward0: (input, weight, bias), the bias edge None without one
    edges = tuple(_edge(i, n.inputs) for i in n.inputs)
    return edges if len(edges) == 3 else edges + ((None, 0),)


_SHOWN_EDGES = {"convolution": _conv_edges, "linear": _linear_edges, "linear_mm": _linear_edges, "mse_loss": _mse_edges,
                "mse_loss_mean": _mse_edges, "mse_loss_sum": _mse_edges}


def _edge_positions(n: _IRNode) -> list[int]:
    """Positions of ``n``'s inputs that PyTorch shows as edges, in PyTorch's order."""
    if n.op in ("fn_out", "fn_call"):
        return list(range(len(n.inputs)))  # (a fn_call's inputs are the tensor arguments)
    op = OPS[n.op]
    name = op.grad_name
    if name in _FIRST_ONLY or op.name in _FIRST_ONLY_OPS:
        return [0]
    inputs = n.inputs
    index_op = op.name in _INDEX_OPS
    scalar_args = name in _SCALAR_ARGS
    pos = [k for k, i in enumerate(inputs)
           if not (i.op in _NUMBER_OPS and scalar_args)
           and not (index_op and not i.dtype.is_floating_point and i.op not in _NUMBER_OPS)]
    if len(pos) == 2 and op.name in ("add", "mul", "div") and inputs[pos[0]].op in _NUMBER_OPS:
        pos.reverse()  # `2 * x` is x.__rmul__(2): PyTorch's edges are (x, 2)
    return pos


def output_nr(node: _IRNode, siblings: tuple = ()) -> int:
    """Which output of its grad_fn ``node`` is (``Tensor.output_nr``). Each output of a
    split is its own IR node; a chunk's index is found from its slice (``siblings``,
    the other inputs of the node asking, tell a short last chunk's split size)."""
    while node.op == "nograd_update":
        node = node.inputs[0]
    op = node.op
    if op == "fn_out":
        return node.attrs[2]
    if op == "unbind":
        return node.attrs[0][-1]
    if op in ("split", "split_with_sizes"):
        spec = node.attrs[0]
        _, start, stop, _ = spec[-1]
        src = node.inputs[0]
        whole = src.shape[len(spec) - 1]
        if op == "split":
            size = stop - start
            if stop == whole:  # the last chunk may be shorter: a full sibling tells the split size
                for s in siblings:
                    if s.op == "split" and s.inputs[0] is src and s.attrs[0][-1][2] < whole:
                        size = s.attrs[0][-1][2] - s.attrs[0][-1][1]
                        break
            return start // size if size else 0
        starts = {s.attrs[0][-1][1] for s in siblings if s.op == op and s.inputs[0] is src}
        return sum(1 for s in starts if s < start)  # (best effort: sizes vary)
    return 0


_classes: dict[Any, type] = {}
# grad_fn kinds whose name() PyTorch qualifies with their C++ namespace
_QUALIFIED = {"CopySlices": "torch::autograd::CopySlices", "CopyBackwards": "torch::autograd::CopyBackwards"}
_SHORT = {v: k for k, v in _QUALIFIED.items()}


def grad_fn_of(node: _IRNode) -> Node_:
    while node.op == "nograd_update":  # a change autograd does not see keeps the old grad_fn
        node = node.inputs[0]
    if node.op == "fn_out":
        node = node.inputs[1]  # all outputs of one custom Function call share its grad_fn
    gf = getattr(node, "gradfn", None)
    if gf is None:
        if node.op == "fn_call":
            return _function_grad_fn(node)
        probe = Node_(node)
        name = probe.name()
        name = _SHORT.get(name, name)  # the class is CopySlices, its name() torch::autograd::CopySlices
        cls = _classes.get(name)
        if cls is None:
            cls = _classes[name] = type(name, (Node_,), {"__slots__": ()})
        gf = node.gradfn = cls(node)
    return gf


# -- custom Functions: the grad_fn shows the ctx ---------------------------------------


def _function_base() -> type:
    from .function import BackwardCFunction

    class FunctionBackward(Node_, BackwardCFunction):
        """The grad_fn of a custom Function's outputs: reads of the ctx's attributes
        (``saved_tensors``, ``needs_input_grad``, anything forward set) go to the ctx."""

        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            ctx = object.__getattribute__(self, "_node").attrs[1]
            return getattr(ctx, name)

        saved_tensors = property(lambda self: self._node.attrs[1].saved_tensors)  # type: ignore[assignment]
        needs_input_grad = property(lambda self: self._node.attrs[1].needs_input_grad)  # type: ignore
        materialize_grads = property(lambda self: self._node.attrs[1].materialize_grads)  # type: ignore

        def apply(self, *grads: Any) -> Any:
            return self._node.attrs[1].apply(*grads)

        def __call__(self, *grads: Any) -> Any:
            return self._node.attrs[1].apply(*grads)

    return FunctionBackward


def _function_names(cls: type) -> tuple[str, str]:
    """A custom Function's grad_fn class name and ``name()``: ``LinearFunctionBackward`` for
    ``LinearFunction``; srcgrad's own Functions may name theirs as PyTorch's C++ nodes."""
    names = getattr(cls, "_grad_fn_names", None)
    return names if names is not None else (f"{cls.__name__}Backward",) * 2


def _function_grad_fn(call: _IRNode) -> Node_:
    cls = call.attrs[0]
    sub = _classes.get(cls)
    if sub is None:
        base = _classes.get("<Function>")
        if base is None:
            base = _classes["<Function>"] = _function_base()
        # named as PyTorch names it, <torch.autograd.function.LinearFunctionBackward object at ...>
        sub = _classes[cls] = type(_function_names(cls)[0], (base,),
                                   {"__slots__": (), "__module__": "srcgrad.autograd.function"})
    gf = object.__new__(sub)
    Node_.__init__(gf, call)
    call.gradfn = gf
    return gf


# -- grad_fn._saved_<name> -------------------------------------------------------------


def _in(k: int, unless_other: int | None = None) -> Any:
    """Input ``k``; None when input ``unless_other`` does not require grad (then PyTorch does not save it)."""
    def get(n: _IRNode) -> Any:
        if unless_other is not None and not n.inputs[unless_other].requires_grad:
            return None
        t = _unpacked(n, k)
        return _tensor(n.inputs[k], n) if t is None else t
    get.position = k
    return get


def _result(n: _IRNode) -> Any:
    t = _unpacked(n, -1)
    return _tensor(n, n) if t is None else t


_result.position = -1


def _unpacked(n: _IRNode, position: int) -> Any:
    """What the unpack hook gives for a value that saved_tensors_hooks packed, else None."""
    for p, packed, unpack_hook in getattr(n, "packed", None) or ():
        if p == position:
            from .saved_hooks import unpack
            return unpack(packed, unpack_hook)
    return None


def _sizes(k: int) -> Any:
    return lambda n: tuple(n.inputs[k].shape)


def _tensor(i: _IRNode, n: _IRNode) -> Any:
    if i.op in _NUMBER_OPS:  # a Python number: PyTorch saved it as a 0-dim double tensor
        v = i.value if i.op == "scalar" else i.attrs[0]
        return T.tensor(v, dtype=D.float64 if isinstance(v, float) else None)
    if getattr(n, "freed", False):
        raise RuntimeError(BACKWARD_TWICE)
    if i is n:  # an op's own output: PyTorch gives a new tensor object (`y.grad_fn._saved_result is y` is False)
        out = T.wrap(i)
        t = ir.live_tensor(i)
        if t is not None:  # that shares the output's storage and version counter
            out._version = t._version
            T._share(out, t, own_version=False)
        return out
    t = ir.live_tensor(i)  # an input: the tensor itself
    return T.wrap(i) if t is None else t


def _exponent(n: _IRNode) -> Any:
    e = n.inputs[1]
    if e.op in _NUMBER_OPS:  # a Scalar argument: PyTorch gives the number itself
        return e.value if e.op == "scalar" else e.attrs[0]
    return _tensor(e, n)


def _numel(n: _IRNode) -> int:
    size = 1
    for s in n.inputs[0].shape:
        size *= s
    return size


_SAVED_RESULT = {"_saved_result": _result}
_SAVED_SELF = {"_saved_self": _in(0)}
_SAVED: dict[str, dict[str, Any]] = {
    "MulBackward0": {"_saved_self": _in(0, 1), "_saved_other": _in(1, 0)},
    "DivBackward0": {"_saved_self": _in(0, 1), "_saved_other": _in(1)},
    "PowBackward0": {"_saved_self": _in(0), "_saved_exponent": _exponent},
    "PowBackward1": {"_saved_self": _in(0), "_saved_exponent": _exponent, "_saved_result": _result},
    "MmBackward0": {"_saved_self": _in(0, 1), "_saved_mat2": _in(1, 0), "_saved_self_sym_sizes": _sizes(0),
                    "_saved_mat2_sym_sizes": _sizes(1)},
    "DotBackward0": {"_saved_self": _in(0, 1), "_saved_tensor": _in(1, 0)},
    "SumBackward0": {"_saved_self_sym_sizes": _sizes(0)},
    "SumBackward1": {"_saved_self_sym_sizes": _sizes(0), "_saved_dim": lambda n: tuple(n.attrs[0]),
                     "_saved_keepdim": lambda n: bool(n.attrs[1])},
    "MeanBackward0": {"_saved_self_sym_sizes": _sizes(0), "_saved_self_sym_numel": _numel},
    "ViewBackward0": {"_saved_self_sym_sizes": _sizes(0)},
    **{name: _SAVED_RESULT for name in ("ExpBackward0", "TanhBackward0", "SigmoidBackward0", "SqrtBackward0",
                                        "RsqrtBackward0", "ReluBackward0")},
    **{name: _SAVED_SELF for name in ("LogBackward0", "SinBackward0", "CosBackward0", "TanBackward0",
                                      "Log1PBackward0", "AbsBackward0", "ErfBackward0", "ReciprocalBackward0")},
}


def _raw_saved(n: _IRNode, name: str) -> SavedTensor:
    """``_raw_saved_<name>``: the saved value as a SavedTensor (for ``register_hooks``)."""
    getter = _SAVED.get(OPS[n.op].grad_name, {}).get("_saved_" + name[len("_raw_saved_"):]) if n.op in OPS else None
    position = getattr(getter, "position", None)
    if position is None:
        raise AttributeError(f"'{OPS[n.op].grad_name if n.op in OPS else n.op}' object has no attribute "
                             f"'{name}' (srcgrad exposes the saved tensors of common ops only)")
    return SavedTensor(n, position)  # (register_hooks on it refuses a freed graph, as PyTorch's)


def _saved(n: _IRNode, name: str) -> Any:
    getter = _SAVED.get(OPS[n.op].grad_name, {}).get(name) if n.op in OPS else None
    if getter is None:
        raise AttributeError(f"'{OPS[n.op].grad_name if n.op in OPS else n.op}' object has no attribute "
                             f"'{name}' (srcgrad exposes the saved values of common ops only)")
    return getter(n)


# -- torch.autograd.graph utilities -----------------------------------------------------


class _AllowMutationOnSavedContext:
    """What ``allow_mutation_on_saved_tensors`` yields (srcgrad keeps nothing in it: a
    recorded graph holds the values it saved, so a later in-place change cannot reach them)."""


@contextlib.contextmanager
def allow_mutation_on_saved_tensors() -> Iterator[_AllowMutationOnSavedContext]:
    """Within it, tensors saved for backward may be changed in place: the backward uses the
    values they had when saved (PyTorch clones them on mutation). A backward of a graph
    recorded inside runs inside it too; outside, it raises PyTorch's AssertionError."""
    from .. import autodiff
    if any(end is None for _, end in autodiff.MUTATION_CONTEXTS):
        raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
    span = [ir._next_id(), None]
    autodiff.MUTATION_CONTEXTS.append(span)
    try:
        yield _AllowMutationOnSavedContext()
    finally:
        span[1] = ir._next_id()


def increment_version(tensor: Any) -> None:
    """Bump ``tensor``'s version counter as an in-place change would: graphs that saved it
    then raise the "modified by an inplace operation" error at backward."""
    tensors = tensor if isinstance(tensor, (list, tuple)) else (tensor,)
    for t in tensors:
        # A hidden in-place write of the same value: autograd keeps the tensor's grad_fn.
        t._replace_node(t._detached()._node, opname="increment_version", hidden=True)


GradientEdge = namedtuple("GradientEdge", ("node", "output_nr"))


def get_gradient_edge(tensor: Any) -> GradientEdge:
    """The edge autograd would use for ``tensor``: (its grad_fn, or its AccumulateGrad, output_nr)."""
    n = tensor._node
    if not n.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does not require "
                           "gradients")
    if n.leaf:
        return GradientEdge(AccumulateGrad(n), 0)
    return GradientEdge(tensor.grad_fn, output_nr(n))


class _MultiHandle:
    __slots__ = ("handles",)

    def __init__(self, handles: list) -> None:
        self.handles = handles

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self) -> _MultiHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def register_multi_grad_hook(tensors: Any, fn: Any, *, mode: str = "all") -> _MultiHandle:
    """``fn(grads)`` once per backward that reaches any of ``tensors``, after their gradients
    are computed (None for those it did not reach); ``mode="any"``: ``fn(grad)`` with the first."""
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    group = MultiGradHook(fn, len(tensors), mode)
    return _MultiHandle([t.register_hook(group.part(k)) for k, t in enumerate(tensors)])
