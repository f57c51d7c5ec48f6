"""``grad_fn`` objects: PyTorch-named views of the recorded graph (``MulBackward0`` ...)."""

from __future__ import annotations

from typing import Any

from ..ir import Node
from ..ops import OPS


class Node_:  # noqa: N801 - base of the grad_fn classes, like torch.autograd.graph.Node
    """A function in the autograd graph: ``name()``, ``next_functions``, ``metadata``."""

    __slots__ = ("_node", "metadata")

    def __init__(self, node: Node) -> None:
        self._node = node
        self.metadata: dict = {}

    def name(self) -> str:
        n = self._node
        if n.op == "fn_out":
            return f"{n.attrs[0].__name__}Backward"
        name = OPS[n.op].grad_name
        return _QUALIFIED.get(name, name)

    @property
    def next_functions(self) -> tuple:
        n = self._node
        inputs = n.inputs
        if n.op == "fn_out":
            inputs = n.inputs[1].inputs
        elif OPS[n.op].grad_name in _FIRST_ONLY:
            inputs = inputs[:1]
        out = []
        for i in inputs:
            if not i.requires_grad:
                out.append((None, 0))
            elif i.leaf:
                out.append((AccumulateGrad(i), 0))
            elif _no_grad_view(i):
                out.append((None, 0))  # a view taken under no_grad: no grad_fn, no AccumulateGrad
            else:
                out.append((grad_fn_of(i), 0))
        return tuple(out)

    def register_hook(self, fn: Any) -> Any:
        raise NotImplementedError("grad_fn hooks are not supported by srcgrad; use Tensor.register_hook")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def __call__(self, *grads: Any) -> Any:
        raise RuntimeError("calling a grad_fn directly is not supported by srcgrad; use autograd.grad")


class AccumulateGrad:
    """The ``next_functions`` entry of a leaf: its ``.variable`` is the leaf tensor."""

    __slots__ = ("_node",)

    def __init__(self, node: Node) -> None:
        self._node = node

    @property
    def variable(self) -> Any:
        return self._node.owner() if self._node.owner else None

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _no_grad_view(node: Node) -> bool:
    while node.op == "nograd_update":
        node = node.inputs[0]
    return node.op == "nograd_view"


# grad_fn kinds whose other inputs PyTorch gives no edge: a Scalar fill value, an index tensor
_FIRST_ONLY = frozenset(("FillBackward2", "ZeroBackward0", "IndexSelectBackward0"))
_classes: dict[str, type] = {}
# grad_fn kinds whose name() PyTorch qualifies with their C++ namespace
_QUALIFIED = {"CopySlices": "torch::autograd::CopySlices"}
_SHORT = {v: k for k, v in _QUALIFIED.items()}


def grad_fn_of(node: Node) -> Node_:
    while node.op == "nograd_update":  # a change autograd does not see keeps the old grad_fn
        node = node.inputs[0]
    gf = getattr(node, "gradfn", None)
    if gf is None:
        probe = Node_(node)
        name = probe.name()
        name = _SHORT.get(name, name)  # the class is CopySlices, its name() torch::autograd::CopySlices
        cls = _classes.get(name)
        if cls is None:
            cls = _classes[name] = type(name, (Node_,), {"__slots__": ()})
        gf = node.gradfn = cls(node)
    return gf
