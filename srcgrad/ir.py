"""The IR: one ``Node`` per recorded op, and the cheap bookkeeping around it.

A node is a small slotted object. It knows its op, inputs, static attributes,
shape, dtype and device, the user's ``file:line`` that recorded it, and, once
computed, its value (a ``jax.Array``, or a Python number for scalar inputs).
Nodes are never mutated after recording except to fill in ``value`` and to
cut ``inputs`` of computed nodes that autograd does not need any more.
"""

from __future__ import annotations

import functools
import gc
import itertools
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_next_id = itertools.count().__next__


class Node:
    """One recorded op (or an input value: ``op`` is ``"input"`` or ``"scalar"``)."""

    __slots__ = (
        "id", "op", "inputs", "attrs", "shape", "dtype", "device", "loc", "value",
        "requires_grad", "leaf", "owner", "sig",
        # True once any of the rare slots below is set (or for custom Function nodes),
        # so hot paths can skip nodes with nothing unusual in one attribute read;
        # compiler.DONATION_CANDIDATE when an in-place op replaced it (see donatable_inputs)
        "special",
        # set only on some nodes; read with getattr(node, name, None)
        "freed", "overwritten", "block", "grad_of", "gradfn", "hooks", "retains_grad", "rng", "inner", "program",
        "packed",  # saved values packed by saved_tensors_hooks: [(position, packed, unpack_hook)]
        "stack",  # the forward call's traceback, recorded in anomaly mode
        "__weakref__",
    )

    def __repr__(self) -> str:
        return f"Node({self.op}, {self.shape}, {self.dtype.name}, id={self.id})"


# ids of srcgrad's own code objects met while walking out to the user's frame. They
# live as long as their modules, so an id here never comes to mean another object.
_internal_code: set[int] = set()


def warn_at_user(message: str, category: type = UserWarning) -> None:
    """``warnings.warn`` pointed at the user's line: the first frame outside srcgrad (however many
    of srcgrad's own wrappers, such as the ``out=`` one, stand between)."""
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PKG_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def gc_paused(fn: Callable) -> Callable:
    """Run ``fn`` with Python's cyclic garbage collector paused (then restored).

    Bulk graph work (the transformer, the graph walk, code generation) allocates
    objects that live on as the graph; the collector would otherwise rescan the
    growing graph again and again, which made the backward of a 10,000-step
    recurrent cell 2.7x slower and its growth with the graph's size superlinear.
    Nothing here creates garbage cycles, and any found later are collected then."""
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return paused


def user_loc() -> tuple[str, int]:
    """The (file, line) of the innermost frame outside srcgrad: the user's line."""
    if _loc_override is not None:
        return _loc_override
    f = sys._getframe(2)
    while f is not None:
        code = f.f_code
        if id(code) not in _internal_code:
            if not code.co_filename.startswith(_PKG_DIR):
                return (code.co_filename, f.f_lineno)
            _internal_code.add(id(code))
        f = f.f_back
    return ("<srcgrad>", 0)


# While the transformer writes the adjoint of node N, every node it records
# carries N's location and points back at N (the "block"), so generated code
# can say which user line each piece of the backward came from.
_loc_override: tuple[str, int] | None = None
_block: Node | None = None

# A computed node forgets its inputs when autograd cannot need them (no grad, or a leaf);
# forward-mode AD keeps them while a dual level is open (it walks the forward graph).
keep_history = False


class at_user_line:  # noqa: N801 - used like a function: `with ir.at_user_line():`
    """Record every op inside at the user's current line, found once: an optimiser's
    ``step()`` records dozens of ops for one line of the user's. ``own=True`` undoes it
    inside (a closure that ``step`` calls records at its own lines)."""

    __slots__ = ("own", "prev")

    def __init__(self, own: bool = False) -> None:
        self.own = own

    def __enter__(self) -> None:
        global _loc_override
        self.prev = _loc_override
        if self.own:
            _loc_override = None
        elif _loc_override is None:
            _loc_override = user_loc()

    def __exit__(self, *exc: Any) -> None:
        global _loc_override
        _loc_override = self.prev


def set_block(node: Node | None) -> None:
    global _loc_override, _block
    _block = node
    _loc_override = None if node is None else node.loc


def new_node(op: str, inputs: tuple, attrs: tuple, shape: tuple, dtype: Any, device: Any,
             requires_grad: bool) -> Node:
    """Record one pending op node."""
    n = Node()
    n.id = _next_id()
    n.op = op
    n.inputs = inputs
    n.attrs = attrs
    n.shape = shape
    n.dtype = dtype
    n.device = device
    n.loc = loc = user_loc()
    # An input consumed on its own line is a temporary of that line (the `y * y`
    # of `z = y * y * 3`): only the line's last node is named after its variable.
    if _block is None:
        for i in inputs:
            if i.loc == loc:
                i.inner = True
    n.value = None
    n.requires_grad = requires_grad
    n.leaf = False
    n.owner = None
    n.special = False
    n.sig = (op, attrs, shape, dtype)
    if _block is not None:
        n.block = _block
    else:
        recent.append(n)
        if len(recent) > _RECENT_LIMIT:  # (never realized for long: forget the oldest half)
            del recent[:_RECENT_LIMIT // 2]
    return n


# The nodes recorded since the last program ran (the transformer's own aside): compiler.collect
# reads them to find pending tensors outside the program that read its values (see there); each
# realisation clears the list.
recent: list = []
_RECENT_LIMIT = 8192


# -- watching node creation --------------------------------------------------------------
# Tools that observe recording (``utils.benchmark.Timer``, ``srcgrad.profiler``) register a
# watcher, called with each node ``new_node`` makes. While any is registered, ``new_node`` is a
# wrapper that calls them; with none, it is the plain function again (recording pays nothing).
# Callers reach it as ``ir.new_node``, so the swap reaches every one of them.
_plain_new_node = new_node
_watchers: list[Callable[[Node], Any]] = []
_watch_lock = threading.Lock()


def add_node_watcher(fn: Callable[[Node], Any]) -> None:
    with _watch_lock:
        _watchers.append(fn)
        _install_watchers()


def remove_node_watcher(fn: Callable[[Node], Any]) -> None:
    with _watch_lock:
        _watchers.remove(fn)
        _install_watchers()


def _install_watchers() -> None:
    global new_node
    if not _watchers:
        new_node = _plain_new_node
        return
    watchers = tuple(_watchers)

    def watched_new_node(*args: Any, **kwargs: Any) -> Node:
        n = _plain_new_node(*args, **kwargs)
        for w in watchers:
            w(n)
        return n

    new_node = watched_new_node


def host_value(node: Node) -> Any:
    """``node``'s values as a NumPy array when they are already known on the host: a Python number,
    or a computed CPU value. The checks PyTorch makes on values (an index in range, a divisor not
    zero, a probability in [0, 1]) read them through here; a pending or device value is not
    computed or fetched just to check it (None)."""
    import numpy as np
    if node.op == "const":
        return np.asarray(node.attrs[0])
    v = node.value
    if v is None or (node.device is not None and node.device.type != "cpu"):
        return None
    if isinstance(v, (bool, int, float)) or (hasattr(v, "__array__") and not isinstance(v, _unknown())):
        return np.asarray(v)
    return None  # (a meta tensor's, or a vmap trace's stand-in)


@functools.cache
def _unknown() -> type:
    """``tracing.Unknown``, the class of values a trace may not read (imported when first needed)."""
    from .tracing import Unknown
    return Unknown


def value_node(value: Any, shape: tuple, dtype: Any, device: Any, op: str = "input") -> Node:
    """A node that already holds its value: a program input."""
    n = Node()
    n.id = _next_id()
    n.op = op
    n.inputs = ()
    n.attrs = ()
    n.shape = shape
    n.dtype = dtype
    n.device = device
    n.loc = user_loc()
    n.value = value
    n.requires_grad = False
    n.leaf = False
    n.owner = None
    n.special = False
    n.sig = None
    return n


def output_node(value: Any, like: Node) -> Node:
    """A node holding a program output, with ``like``'s shape, dtype, device and line
    (no frame walk: replayed programs hand out many of these)."""
    n = Node()
    n.id = _next_id()
    n.op = "input"
    n.inputs = n.attrs = ()
    n.shape, n.dtype, n.device, n.loc = like.shape, like.dtype, like.device, like.loc
    n.value = value
    n.requires_grad = n.leaf = n.special = False
    n.owner = n.sig = None
    return n


def set_owner(node: Node, tensor: Any) -> None:
    node.owner = weakref.ref(tensor)


def live_tensor(node: Node) -> Any:
    """The tensor that Python still holds for this node, or None."""
    o = node.owner
    if o is None:
        return None
    t = o()
    if t is not None and t._node is node:
        return t
    return None
