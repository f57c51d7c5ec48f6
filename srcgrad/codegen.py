"""IR -> Python source: one readable function per program.

Names come from the user's own code where possible: a node recorded on the
line ``z = y * y * 3`` that is the last op of that line is called ``z``; the
gradient of ``z`` is ``g_z``; other temporaries are ``t1, t2, ...``. Every
forward statement carries a comment with the user's file:line and source text;
each adjoint block of the backward starts with one such comment. The same
graph always gives the same text.
"""

from __future__ import annotations

import keyword
import linecache
import math
import os
import re
from typing import Any

from . import dtypes as D
from .device import CPU
from .ir import Node
from .ops import OPMATH, OPS, _promoted, lit

_TEMP = re.compile(r"^(t|c)\d+$")
_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:[-+*/@%]|//|\*\*)?=(?!=)")


def source_line(loc: tuple) -> str:
    if loc is None:
        return ""
    return linecache.getline(loc[0], loc[1]).strip()


def _short(loc: tuple) -> str:
    return f"{os.path.basename(loc[0])}:{loc[1]}"


def _user_name(loc: tuple | None) -> str | None:
    if loc is None:
        return None
    m = _ASSIGN.match(linecache.getline(loc[0], loc[1]))
    if m and not keyword.iskeyword(m.group(1)):
        return m.group(1)
    return None


class Definition:
    """An op attribute that carries a function of its own (a vmapped per-example body):
    ``generate`` writes its ``source`` (a ``def name(...)``) at the top of the program, so the
    program's text is complete (it keys the disk cache) and reads top to bottom."""

    name: str
    source: str


def _definitions(order: list[Node]) -> list[Definition]:
    seen: dict[str, Definition] = {}
    for n in order:
        for a in n.attrs:
            if isinstance(a, Definition) and a.name not in seen:
                seen[a.name] = a
    return list(seen.values())


class _Namer:
    def __init__(self) -> None:
        self.used: set[str] = {"jnp", "lax", "jax", "sg"}
        self.temp = 0
        self.scalars = 0
        self.next_suffix: dict[str, int] = {}  # where the search for `name_k` resumes (linear, not quadratic)

    def fresh(self, base: str | None) -> str:
        if base is None:
            self.temp += 1
            while f"t{self.temp}" in self.used:
                self.temp += 1
            base = f"t{self.temp}"
            self.used.add(base)
            return base
        name, k = base, self.next_suffix.get(base, 1)
        while name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.next_suffix[base] = k
        self.used.add(name)
        return name


_LOW_FLOATS = (D.float16, D.bfloat16)


def _power_of_two(n: Node) -> bool:
    """A literal divisor whose reciprocal is exact (the mean's `/ 4`): XLA's multiplication is exact then."""
    if n.op != "const" or not isinstance(n.attrs[0], (int, float)) or not n.attrs[0]:
        return False
    v = float(n.attrs[0])
    return math.isfinite(v) and abs(math.frexp(v)[0]) == 0.5


def _cast(name: str, have: D.dtype, want: D.dtype, forward: bool = True) -> str:
    if have.weak or have is want:
        return name
    if have.category == 2 and want.category == 1:  # (PyTorch's conversion, not XLA's saturation)
        return f"sg.float_to_int({name}, {lit(want)})"
    if forward and have is D.bool_ and want.category == 2:
        # (a user's mask as a float multiplies as PyTorch's does; a backward's masks keep XLA's select,
        # which leaves the zero gradient of PyTorch's masked_fill where they hide a NaN)
        return f"sg.from_bool({name}, {lit(want)})"
    return f"{name}.astype({lit(want)})"


_HEAD = re.compile(r"[A-Za-z_][\w.]*")


def _atomic(expr: str) -> bool:
    """True for a name, a call such as ``jnp.tanh(x)`` or a chain of calls and subscripts
    (``jax.vmap(f)(x)[0]``): it needs no parentheses inside another expression."""
    head = _HEAD.match(expr)
    if head is None:
        return False
    rest = expr[head.end():]
    if not rest:
        return True
    depth = 0
    for ch in rest:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0:  # something between the groups: an operator
            return False
    return depth == 0 and rest[0] in "(["


def _parenthesised(expr: str) -> bool:
    """True for ``(...)`` whose first parenthesis closes at the end (not ``(a).astype(b)``)."""
    if not (expr.startswith("(") and expr.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(expr):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(expr) - 1
    return False


def _is_call_argument(template: str, k: int) -> bool:
    slot = "{" + str(k) + "}"
    return any(a + slot + b in template for a in ("(", ", ") for b in (")", ","))


def expression(node: Node, names: list[str]) -> str:
    """The JAX expression computing ``node`` from its inputs' names."""
    op = OPS[node.op]
    ins = node.inputs
    if op.cast == "result":
        # An op computing in its inputs' common dtype and storing into the node's (an
        # optimiser's float32 buffer updated with a float64 gradient, as PyTorch does it).
        expr = expression_of(op, node, names)
        if any(not i.dtype.weak and i.dtype is not node.dtype for i in ins):
            expr = f"({expr}).astype({lit(node.dtype)})"
        return expr
    forward = getattr(node, "block", None) is None
    if op.name == "cast" and (forward and ins[0].dtype is D.bool_ and node.dtype.category == 2
                              or ins[0].dtype.category == 2 and node.dtype.category == 1):
        return _cast(names[0], ins[0].dtype, node.dtype)
    if op.cast is not None:
        if op.cast == "common":
            want = _promoted(ins)
            names = [_cast(n, i.dtype, want, forward) for n, i in zip(names, ins)]
        else:
            positions = range(len(ins)) if op.cast == "out" else op.cast
            names = list(names)
            for p in positions:
                names[p] = _cast(names[p], ins[p].dtype, node.dtype, forward)
    if op.name == "div" and node.dtype is D.float32 and ins[1].shape != node.shape and node.device is CPU \
            and not _power_of_two(ins[1]):
        # XLA turns x / broadcast(c) into x * (1/c), one unit in the last place off PyTorch's quotient in half
        # the cases; the quotient of float32s computed in float64 and rounded once is the correctly rounded one
        x, y = (n if i.dtype.weak else f"{n}.astype(jnp.float64)" for n, i in zip(names, ins))
        return f"({x} / {y}).astype(jnp.float32)"
    if node.dtype in _LOW_FLOATS and op.name in ("linear", "addmm"):
        return _low_float_affine(op.name, node, names)
    if node.dtype in _LOW_FLOATS and op.name in OPMATH:  # (computed in float32, rounded once)
        names = [n if i.dtype.weak else f"{n}.astype(jnp.float32)" for n, i in zip(names, ins)]
        return f"({expression_of(op, node, names)}).astype({lit(node.dtype)})"
    return expression_of(op, node, names)


def _low_float_affine(name: str, node: Node, names: list[str]) -> str:
    """A float16/bfloat16 ``linear`` or ``addmm`` as PyTorch's CPU kernels compute it: the product
    accumulated in float32 (``preferred_element_type``: still the low-precision matmul units on a GPU),
    the bias added in float32, the sum rounded once."""
    attrs = dict(zip(OPS[name].attr_names, node.attrs))
    p = attrs["precision"]
    precision = f", precision={p!r}" if p != "default" else ""
    f32 = "jnp.float32"
    if name == "linear":
        prod = f"jnp.matmul({names[0]}, {names[1]}.T, preferred_element_type={f32}{precision})"
        out = f"{prod} + {names[2]}.astype({f32})" if attrs["bias"] else prod
    else:  # addmm(input, m1, m2)
        prod = f"jnp.matmul({names[1]}, {names[2]}, preferred_element_type={f32}{precision})"
        prod = prod if attrs["alpha"] == 1 else f"{attrs['alpha']!r} * {prod}"
        if attrs["beta"] == 0:  # (PyTorch ignores the input, NaNs included)
            out = f"jnp.broadcast_to({prod}, jnp.broadcast_shapes(jnp.shape({names[0]}), jnp.shape({prod})))"
        else:
            term = f"{names[0]}.astype({f32})" if attrs["beta"] == 1 else f"{attrs['beta']!r} * {names[0]}.astype({f32})"
            out = f"{term} + {prod}"
    return f"({out}).astype({lit(node.dtype)})"


def expression_of(op: Any, node: Node, names: list[str]) -> str:
    """``op``'s lowering filled in with ``names`` and ``node``'s attributes."""
    attrs = dict(zip(op.attr_names, node.attrs))
    if callable(op.lower):
        return op.lower(names, attrs)
    # An inlined expression passed as a call argument needs no parentheses of its own.
    names = [n[1:-1] if _parenthesised(n) and _is_call_argument(op.lower, k) else n for k, n in enumerate(names)]
    return op.lower.format(*names, **{k: lit(v) for k, v in attrs.items()})


_MAX_NESTING = 16  # inlined expressions within one another, at most

# How many times an op's lowering writes each input, by (op, attributes, number of inputs).
_COUNTS: dict[tuple, tuple] = {}


def _input_counts(node: Node) -> tuple:
    """How many times ``node``'s lowering writes each of its inputs. A lowering may write one
    more than once (lerp's two formulas): pasting an expression there would copy it, and a
    chain of such ops would grow exponentially, so such inputs are named, not inlined."""
    key = (node.op, node.attrs, len(node.inputs))
    try:
        counts = _COUNTS.get(key)
    except TypeError:  # unhashable attributes: probe every time
        key, counts = None, None
    if counts is None:
        marks = [f"\x00{k}\x00" for k in range(len(node.inputs))]
        probe = expression(node, marks)
        counts = tuple(probe.count(m) for m in marks)
        if key is not None and len(_COUNTS) < 4096:
            _COUNTS[key] = counts
    return counts


def generate(order: list[Node], inputs: list[Node], outputs: list[Node], fn_name: str,
             input_names: dict | None = None) -> tuple[str, list[str]]:
    """Source of ``def fn_name(*inputs): ... return outputs`` computing ``order``.

    ``input_names`` (``id(node) -> name``) names inputs whose origin the caller
    knows better, such as the arguments of a compiled function."""
    namer = _Namer()
    definitions = _definitions(order)
    namer.used.update(d.name for d in definitions)
    names: dict[int, str] = {}
    # The last node of a user line of the form `name = ...` takes that name.
    named_lines = {id(n) for n in list(inputs) + list(order) if not getattr(n, "inner", False)}

    def name_for(n: Node) -> str:
        gof = getattr(n, "grad_of", None)
        if gof is not None:
            base = names.get(id(gof))
            if base is None or not base.isidentifier():  # not named (a constant, an inlined temporary)
                base = _user_name(gof.loc)
            if base is not None and not _TEMP.match(base):
                return namer.fresh("g_" + base)
        if n.op == "scalar":
            namer.scalars += 1
            return namer.fresh(f"c{namer.scalars}")
        if id(n) in named_lines and getattr(n, "block", None) is None:
            return namer.fresh(_user_name(n.loc))
        return namer.fresh(None)

    arg_names = []
    scalar_names: dict[int, str] = {}  # shared Python numbers (see compiler.collect)
    for n in inputs:
        hint = (input_names or {}).get(id(n))
        nm = namer.fresh(hint) if hint else name_for(n)
        names[id(n)] = nm
        arg_names.append(nm)
        if n.op == "scalar":
            scalar_names[id(n.value)] = nm

    def name_of(i: Node) -> str:
        nm = names.get(id(i))
        return nm if nm is not None else scalar_names[id(i.value)]

    # A temporary used once, by the next op of the same line (or of the same adjoint
    # block), is written inside that op's expression: `h = jnp.tanh(jnp.matmul(x, w))`.
    uses: dict[int, int] = {}
    consumer: dict[int, Node] = {}
    for m in order:
        for i in m.inputs:
            uses[id(i)] = uses.get(id(i), 0) + 1
            consumer[id(i)] = m
    output_ids = {id(o) for o in outputs}
    # Nodes computing the same thing from the same inputs are written once (shared), not inlined.
    same: dict[tuple, int] = {}
    for m in order:
        k = (m.op, m.attrs, tuple(id(i) for i in m.inputs))
        same[k] = same.get(k, 0) + 1

    def inline(n: Node) -> bool:
        c = consumer.get(id(n))
        if c is None or uses[id(n)] != 1 or id(n) in output_ids or c.loc != n.loc:
            return False
        if same[(n.op, n.attrs, tuple(id(i) for i in n.inputs))] > 1:
            return False
        if getattr(n, "block", None) is not getattr(c, "block", None):
            return False
        if getattr(n, "block", None) is None:
            if not getattr(n, "inner", False):
                return False
        elif getattr(n, "grad_of", None) is not None:
            return False
        return written_once(c, n)

    def written_once(c: Node, n: Node) -> bool:
        counts = _input_counts(c)
        return all(counts[k] == 1 for k, i in enumerate(c.inputs) if i is n)

    order_ids = {id(n) for n in order}
    body: list[str] = []
    nesting: dict[int, int] = {}  # how deep an inlined expression nests others
    seen_exprs: dict[str, str] = {}
    block = None
    last_loc = None
    has_backward = False
    # Creation order is a topological order too, and reads like the user's program:
    # forward first, then the backward blocks in the order the transformer wrote them.
    for n in sorted(order, key=lambda n: n.id):
        if n.op == "fn_call" and id(n) not in output_ids:
            names[id(n)] = "None"  # (a custom Function's call node: a marker that no lowering reads)
            continue
        if n.op == "const":  # srcgrad's own constants are written in place
            names[id(n)] = lit(n.attrs[0])  # (`float('inf')`, not `inf`)
            continue
        if OPS[n.op].lower == "{0}" and n.inputs and id(n.inputs[0]) in order_ids \
                and name_of(n.inputs[0]).isidentifier():
            # an alias of a value computed here (detach, a custom Function's output): the
            # same name, not a line `b = a` (an argument's alias keeps its line: donation)
            names[id(n)] = name_of(n.inputs[0])
            continue
        expr = expression(n, [name_of(i) for i in n.inputs])
        if expr in seen_exprs:  # common subexpression: reuse the earlier value
            names[id(n)] = seen_exprs[expr]
            continue
        if inline(n):
            # (a loop on one line, `for _ in range(300): p -= lr * g`, would nest without end:
            # Python's parser stops at 200 parentheses, so a deep chain is named every few ops)
            depth = 1 + max([nesting.get(id(i), 0) for i in n.inputs], default=0)
            if depth <= _MAX_NESTING:
                nesting[id(n)] = depth
                names[id(n)] = expr if _atomic(expr) else f"({expr})"
                continue
        nb = getattr(n, "block", None)
        if nb is not None:
            has_backward = True
            if nb is not block and (block is None or nb.loc != block.loc):
                block = nb
                where = f"  ({_short(nb.loc)})" if nb.loc else ""
                src = source_line(nb.loc)
                body.append(f"# backward of: {src}{where}" if src else f"# backward of {nb.op}{where}")
            comment = ""
        else:
            block = None
            comment = ""
            if n.loc is not None and n.loc != last_loc:
                src = source_line(n.loc)
                comment = f"# {_short(n.loc)}  {src}" if src else f"# {_short(n.loc)}"
            last_loc = n.loc
        nm = name_for(n)
        names[id(n)] = nm
        seen_exprs[expr] = nm
        line = f"{nm} = {expr}"
        if comment:
            line = f"{line:<40}  {comment}"
        body.append(line)
    outs = ", ".join(names[id(o)] for o in outputs)
    if len(outputs) == 1:
        outs += ","
    header = f"def {fn_name}({', '.join(arg_names)}):"
    del has_backward
    nested = [line for d in definitions for line in d.source.rstrip().splitlines() + [""]]
    text = "\n".join([header] + ["    " + b if b else "" for b in nested + body] + [f"    return ({outs})", ""])
    return text, arg_names
