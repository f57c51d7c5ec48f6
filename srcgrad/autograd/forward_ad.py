"""``torch.autograd.forward_ad``: dual tensors (``make_dual``/``unpack_dual`` inside a
``dual_level``) for forward-mode Jacobian-vector products.

srcgrad has reverse-mode rules only, one per op; forward mode is derived from them. A
tangent is computed when ``unpack_dual`` asks for it, by walking the recorded forward
graph from the dual tensors to the unpacked one. At each op, its vjp rule ``u -> J^T u``
is linear in ``u``, so the gradient of ``sum_i <J_i^T u, t_i>`` with respect to ``u`` is
``J t`` — the op's tangent from its inputs' tangents (the double-vjp identity, applied
op by op). The tangents are lazy tensors like any other: the forward values and every
tangent asked for run as one program, and a tangent stays differentiable in reverse mode
where the primal or the tangent requires grad (forward-over-reverse).

While a level is open, computed nodes keep their inputs (``ir.keep_history``), so a
tangent can be asked for after the primal has been printed. As in PyTorch, one level
at a time; a custom ``autograd.Function`` needs its ``jvp`` staticmethod.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import ir
from ..grad_mode import enable_grad

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]


class UnpackedDualTensor(NamedTuple):
    """``(primal, tangent)``, as returned by PyTorch's ``unpack_dual``."""

    primal: Any
    tangent: Any


class _Level:
    """One open dual level: the tangents given to ``make_dual`` and those computed since."""

    def __init__(self) -> None:
        self.given: dict[int, tuple] = {}  # id(node) -> (node, tangent tensor)
        self.known: dict[int, tuple] = {}  # id(node) -> (node, tangent tensor or None), computed
        self.calls: dict[int, tuple] = {}  # id(fn_call node) -> (node, tangents of its outputs)
        # node id ranges recorded inside a custom Function's forward, which runs without
        # forward AD in PyTorch: what it computes (saved for jvp or kept on ctx) has no tangent
        self.opaque: list[tuple[int, int]] = []


_levels: list[_Level] = []


def enter_dual_level() -> int:
    """Open a dual level; returns its index (0: one level at a time, as in PyTorch)."""
    if _levels:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _levels.append(_Level())
    ir.keep_history = True
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the current dual level: its dual tensors become ordinary tensors."""
    if not _levels or (level is not None and level != 0):
        raise RuntimeError("Dual level must be a positive number." if not _levels else
                           "Trying to exit a forward AD level that was not the last one that was created. "
                           "This is not supported.")
    _levels.pop()
    ir.keep_history = False


class dual_level:  # noqa: N801 - the PyTorch name
    """``with forward_ad.dual_level():`` — make and unpack dual tensors inside."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


def _current(level: int | None, what: str) -> _Level | None:
    if not _levels:
        return None
    if level is not None and level != 0:
        raise RuntimeError(f"{what}: dual level {level} does not exist (the current level is 0)")
    return _levels[0]


def note_function_forward(first_id: int, end_id: int) -> None:
    """Nodes ``first_id <= id < end_id`` were recorded by a custom Function's forward: no tangents."""
    if _levels:
        _levels[0].opaque.append((first_id, end_id))


def tangent_of(tensor: Any) -> Any:
    """The tangent of ``tensor`` at the open dual level, or None (printing shows it)."""
    return _tangent(_levels[0], tensor._node) if _levels else None


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A view of ``tensor`` whose forward gradient is ``tangent``."""
    lvl = _current(level, "make_dual")
    if lvl is None:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make sure to "
                           "enter_dual_level() first.")
    if not tensor.dtype.is_floating_point:
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not tangent.dtype.is_floating_point:
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of the original "
                           f"Tensor, this is not supported. Tensor is of size {list(tensor.shape)} while the given "
                           f"forward gradient is of size {list(tangent.shape)}.")
    dual = tensor.view_as(tensor)
    lvl.given[id(dual._node)] = (dual._node, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: the primal as a view without a tangent, and the tangent
    (None where ``tensor`` does not depend on a dual tensor of the level)."""
    lvl = _current(level, "unpack_dual")
    if lvl is None:
        return UnpackedDualTensor(tensor, None)
    tangent = _tangent(lvl, tensor._node)
    primal = tensor.view_as(tensor)
    lvl.known[id(primal._node)] = (primal._node, None)  # (a view without a forward gradient)
    return UnpackedDualTensor(primal, tangent)


# -- tangents ------------------------------------------------------------------------


def _tangent(lvl: _Level, root: Any) -> Any:
    """The tangent of ``root``, working forward from the dual tensors (iterative: a long
    chain of ops must not hit Python's recursion limit)."""
    stack = [(root, False)]
    while stack:
        n, ready = stack.pop()
        if id(n) in lvl.given or id(n) in lvl.known:
            continue
        if lvl.opaque and any(a <= n.id < b for a, b in lvl.opaque):
            lvl.known[id(n)] = (n, None)
            continue
        ins = _tangent_inputs(n)
        if not ready:
            stack.append((n, True))
            stack.extend((i, False) for i in ins if id(i) not in lvl.known and id(i) not in lvl.given)
            continue
        tangent = _node_tangent(lvl, n)
        lvl.known[id(n)] = (n, tangent)
        if tangent is not None:  # (a tangent is a plain tensor at its level: used again, it has none itself)
            lvl.known.setdefault(id(tangent._node), (tangent._node, None))
    hit = lvl.given.get(id(root)) or lvl.known.get(id(root))
    return hit[1]


def _tangent_inputs(n: Any) -> tuple:
    # (a custom Function's output gets its tangent from the Function's jvp, not from the
    # forward's internals, which ran under no_grad)
    if n.op == "fn_out":
        return (n.inputs[1],)
    return n.inputs


def _of(lvl: _Level, n: Any) -> Any:
    hit = lvl.given.get(id(n)) or lvl.known.get(id(n))
    return None if hit is None else hit[1]


def _node_tangent(lvl: _Level, n: Any) -> Any:
    from ..dtypes import promote
    from ..ops import OPS
    from ..tensor import ones, wrap, zeros
    if n.op == "fn_out":
        return _function_tangents(lvl, n.inputs[1])[n.attrs[2]]
    if n.op == "fn_call":
        return None  # (its outputs carry the tangents)
    tangents = [_of(lvl, i) for i in n.inputs]
    if all(t is None for t in tangents) or not n.dtype.is_floating_point:
        return None
    op = OPS[n.op]
    if op.vjp is None:
        raise NotImplementedError(f"srcgrad has no derivative rule for op '{n.op}' (recorded at "
                                  f"{n.loc[0]}:{n.loc[1]}), so no forward-mode derivative either")
    # a tangent of a wider dtype than its primal keeps it (a float64 tangent of a float32 primal
    # gives float64 tangents, as PyTorch's formulas, which mix the two, do)
    dtype = n.dtype
    for t in tangents:
        if t is not None and t.dtype is not dtype and t.dtype.is_floating_point:
            dtype = promote(dtype, t.dtype)
    with enable_grad():
        u = zeros(n.shape, dtype=dtype, device=n.device).requires_grad_(True)
        attrs = dict(zip(op.attr_names, n.attrs))
        in_grads = op.vjp(u, wrap(n), *[wrap(i) for i in n.inputs], **attrs)
        terms = [(g * t.to(g.dtype)).sum() for g, t in zip(in_grads, tangents)
                 if g is not None and t is not None]
        if not terms:
            return None
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        if not total.requires_grad:  # (the rule ignores u: the op's output does not move)
            return zeros(n.shape, dtype=dtype, device=n.device)
        # The transformer, fenced at this op: the rule's graph reads u, the op's output and
        # inputs and constants, so the walk stays local (linear in the graph, not quadratic).
        from ..autodiff import transform
        found = transform([total._node], [ones((), dtype=total.dtype, device=n.device)], create_graph=True,
                          retain_graph=True, wanted=[u._node], boundary=[n, *n.inputs])
    g = found.get(id(u._node), (None, None))[1]
    if g is None:
        return zeros(n.shape, dtype=dtype, device=n.device)
    tangent = wrap(g._node)
    ir.set_owner(g._node, tangent)
    return tangent


def _function_tangents(lvl: _Level, call: Any) -> tuple:
    """The tangents of a custom Function's outputs, from its ``jvp(ctx, *input_tangents)``."""
    from ..tensor import zeros
    hit = lvl.calls.get(id(call))
    if hit is not None:
        return hit[1]
    cls, ctx = call.attrs
    found = []
    for i in call.inputs:
        t = _of(lvl, i)
        found.append(t if t is not None else _tangent(lvl, i))
    if all(t is None for t in found):  # no input is dual: no output tangent, and no jvp is asked for
        hit = tuple(None for _ in ctx._out_specs)
        lvl.calls[id(call)] = (call, hit)
        return hit
    tensor_tangents = [t if t is not None else zeros(i.shape, dtype=i.dtype, device=i.device)
                       for t, i in zip(found, call.inputs)]
    # one tangent per argument of forward, as PyTorch passes them (None for a non-tensor)
    it = iter(tensor_tangents)
    ins = [next(it) if is_tensor else None for is_tensor in ctx._arg_is_tensor]
    ctx._in_jvp = True  # (saved_tensors are save_for_forward's)
    try:
        with enable_grad():
            outs = cls.jvp(ctx, *ins)
    finally:
        ctx._in_jvp = False
    outs = outs if isinstance(outs, tuple) else (outs,)
    lvl.calls[id(call)] = (call, outs)
    return outs
