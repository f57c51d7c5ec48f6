"""Nested containers of tensors ("pytrees") as ``torch.func`` walks them.

Tuples, lists, namedtuples and dicts are containers; ``None`` is an empty one (as in
JAX); anything else is a leaf. A dict keeps its insertion order, as PyTorch's pytree
does: ``func.grad`` of a function of ``{"weight": w, "bias": b}`` returns its gradients
in that order. (``jax.tree_util`` sorts dict keys, which reorders the user's dicts.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_LEAF = "*"


class TreeSpec:
    """The structure of a flattened tree: a container's kind, what rebuilds it (its type,
    a dict's keys) and its children's specs, or a leaf."""

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind: str, meta: Any = None, children: tuple = ()) -> None:
        self.kind = kind
        self.meta = meta
        self.children = children
        self.num_leaves = 1 if kind == _LEAF else sum(c.num_leaves for c in children)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TreeSpec) and self.kind == other.kind and self.meta == other.meta
                and self.children == other.children)

    def __hash__(self) -> int:
        return hash((self.kind, self.meta, self.children))

    def __repr__(self) -> str:
        if self.kind == _LEAF:
            return "*"
        if self.kind == "none":
            return "None"
        meta = list(self.meta[1]) if self.kind == "dict" else self.meta.__name__ if self.meta is not None else None
        inner = ", ".join(map(repr, self.children))
        return f"TreeSpec({self.kind}, {meta}, [{inner}])"


_LEAF_SPEC = TreeSpec(_LEAF)


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``: the leaves in order (a dict's in insertion order)."""
    leaves: list = []

    def walk(x: Any) -> TreeSpec:
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return _LEAF_SPEC
        if x is None:
            return TreeSpec("none")
        if isinstance(x, dict):
            keys = tuple(x)
            return TreeSpec("dict", (type(x), keys), tuple(walk(x[k]) for k in keys))
        if _is_namedtuple(x):
            return TreeSpec("namedtuple", type(x), tuple(walk(v) for v in x))
        if isinstance(x, (tuple, list)):  # (a subclass, such as srcgrad.Size, is rebuilt as itself)
            kind = "tuple" if isinstance(x, tuple) else "list"
            return TreeSpec(kind, None if type(x) in (tuple, list) else type(x), tuple(walk(v) for v in x))
        leaves.append(x)
        return _LEAF_SPEC

    spec = walk(tree)
    return leaves, spec


def tree_unflatten(spec: TreeSpec, leaves: list) -> Any:
    """The tree of ``spec`` with ``leaves`` in its leaves' places."""
    if len(leaves) != spec.num_leaves:
        raise ValueError(f"tree_unflatten: {spec.num_leaves} leaves expected, got {len(leaves)}")
    it = iter(leaves)

    def build(s: TreeSpec) -> Any:
        if s.kind == _LEAF:
            return next(it)
        if s.kind == "none":
            return None
        values = [build(c) for c in s.children]
        if s.kind == "dict":
            cls, keys = s.meta
            d = dict(zip(keys, values))
            return d if cls is dict else _rebuild_dict(cls, d)
        if s.kind == "namedtuple":
            return s.meta(*values)
        if s.meta is not None:
            return s.meta(values)
        return tuple(values) if s.kind == "tuple" else values

    return build(spec)


def _rebuild_dict(cls: type, d: dict) -> Any:
    try:
        return cls(d)
    except TypeError:  # (a defaultdict and the like: keep the plain dict)
        return d


def tree_map(fn: Callable[[Any], Any], tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    leaves, spec = tree_flatten(tree, is_leaf)
    return tree_unflatten(spec, [fn(x) for x in leaves])


def tree_leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[tuple[tuple, Any]]:
    """``[(path, leaf)]``: each leaf with the keys and indices that reach it."""
    out: list = []

    def walk(x: Any, path: tuple) -> None:
        if is_leaf is not None and is_leaf(x):
            out.append((path, x))
        elif x is None:
            return
        elif isinstance(x, dict):
            for k in x:
                walk(x[k], path + (k,))
        elif _is_namedtuple(x):
            for name, v in zip(type(x)._fields, x):
                walk(v, path + (name,))
        elif isinstance(x, (tuple, list)):
            for k, v in enumerate(x):
                walk(v, path + (k,))
        else:
            out.append((path, x))

    walk(tree, ())
    return out
