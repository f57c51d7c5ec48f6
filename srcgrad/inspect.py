"""See every stage of srcgrad's pipeline: recorded IR, generated source, jaxpr, optimised HLO, cache.

Everything here returns strings (``show`` and the accessors) and never changes
what srcgrad computes: nothing is inserted into the program cache, and a
tensor that is still pending stays pending.

``obj`` may be

- a ``Tensor``: its recorded graph. Its IR is the subgraph that produces it;
  its source, jaxpr and HLO are those of the program that would compute it now
  (generated, not run), or, once computed, of a program recomputing it from
  its recorded graph;
- a function made by ``srcgrad.compile`` (every program it traced), or any
  other function, such as one made by ``srcgrad.grad`` (the programs whose
  generated code points at lines of that function);
- a ``Program`` of ``compiler.CACHE``, or a list of them (see ``trace``);
- an ``int`` N: the last N programs compiled.

``python -m srcgrad inspect SCRIPT.py`` (``srcgrad/__main__.py``) does the same
for every program a script compiles. See ``docs/inspection.md``.
"""

from __future__ import annotations

import hashlib
import inspect as _pyinspect
import keyword
import os
import re
import shutil
import subprocess
import sys
import weakref
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from . import codegen, compiler
from .compiler import Program
from .ir import Node
from .ops import OPS
from .tensor import Tensor

VIEWS = ("ir", "source", "jaxpr", "hlo", "cache", "graph")

__all__ = [
    "VIEWS", "cache", "dump", "hlo", "ir", "jaxpr", "pprint", "programs", "show", "source", "to_dot", "to_svg",
    "trace", "unwatch", "watch",
]


# ---------------------------------------------------------------------------
# types and values as the IR prints them

_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "int64": "i64",
          "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8", "bool": "bool"}


def _dt(dtype: Any) -> str:
    if getattr(dtype, "weak", False):
        return dtype.name  # a Python scalar: int, float or bool
    name = getattr(dtype, "name", str(dtype))
    return _SHORT.get(name, name)


def _ty(shape: tuple, dtype: Any) -> str:
    if getattr(dtype, "weak", False) and not shape:
        return _dt(dtype)
    return f"{_dt(dtype)}[{','.join(str(s) for s in shape)}]"


def _attr(v: Any) -> str:
    if hasattr(v, "category") and hasattr(v, "np"):  # a srcgrad dtype
        return _dt(v)
    if isinstance(v, type):
        return v.__name__
    if isinstance(v, float) and v == int(v) and abs(v) < 1e16:
        return repr(v)
    text = repr(v)
    if text.startswith("<"):
        text = type(v).__name__
    return text if len(text) <= 48 else text[:45] + "..."


def _loc_text(loc: tuple | None) -> str:
    if not loc:
        return ""
    src = codegen.source_line(loc)
    where = f"{os.path.basename(loc[0])}:{loc[1]}"
    return f"{where}  {src}" if src else where


# ---------------------------------------------------------------------------
# the IR: one typed line per op


class _IR:
    """A rendered-once view of some nodes (no reference to the nodes themselves)."""

    __slots__ = ("lines", "n_ops", "n_inputs", "pending", "outputs")

    def __init__(self, lines: list[tuple[str, str]], n_ops: int, n_inputs: int, pending: list[str],
                 outputs: list[str]) -> None:
        self.lines = lines  # (statement, comment)
        self.n_ops = n_ops
        self.n_inputs = n_inputs
        self.pending = pending
        self.outputs = outputs

    def text(self, title: str) -> str:
        width = max((len(s) for s, _ in self.lines), default=0)
        width = min(max(width, 24), 56)
        body = [f"{s:<{width}}   # {c}" if c else s for s, c in self.lines]
        head = (f"# {title}: {self.n_ops} op{'s' * (self.n_ops != 1)}, "
                f"{self.n_inputs} input{'s' * (self.n_inputs != 1)}")
        if self.pending:
            shown = ", ".join(self.pending[:8]) + (" ..." if len(self.pending) > 8 else "")
            head += f"; pending (not computed yet): {shown}"
        return "\n".join([head] + body + [f"outputs: {', '.join(self.outputs)}"]) + "\n"


def _render(order: list[Node], inputs: list[Node], outputs: list[Node],
            arg_names: list[str] | None = None) -> _IR:
    """IR lines for ``order`` (ops, any order) computed from ``inputs``.

    With ``arg_names`` (a program) inputs are named as the generated function's
    parameters and Python scalars are inputs; without (a tensor's graph) Python
    scalars are written as the numbers they are.
    """
    names: dict[int, str] = {}
    lines: list[tuple[str, str]] = []
    used: set[str] = set()
    n_in = 0
    for k, n in enumerate(inputs):
        if arg_names is None and n.op == "scalar":
            names[id(n)] = repr(n.value)
            continue
        if arg_names is not None:
            nm = arg_names[k]
        else:
            base = codegen._user_name(n.loc) if n.loc else None
            nm = base if base and not re.fullmatch(r"t\d+", base) else f"in{k}"
            while nm in used:
                nm += "'"
        used.add(nm)
        names[id(n)] = nm
        n_in += 1
        kind = "scalar" if n.op == "scalar" else "leaf" if n.leaf else "input"
        extra = " requires_grad" if n.requires_grad else ""
        where = _loc_text(n.loc) if n.op != "scalar" else f"the Python number {n.value!r} when compiled"
        lines.append((f"{nm}: {_ty(n.shape, n.dtype)} = {kind}{extra}", where))
    count = 0
    pending: list[str] = []
    for n in sorted(order, key=lambda n: n.id):
        if n.op == "const":
            names[id(n)] = _attr(n.attrs[0])
            continue
        nm = f"t{count}"
        count += 1
        names[id(n)] = nm
        op = OPS.get(n.op)
        attr_names = op.attr_names if op is not None else ()
        attrs = " ".join(f"{a}={_attr(v)}" for a, v in zip(attr_names, n.attrs))
        if n.attrs and not attr_names:
            attrs = " ".join(_attr(v) for v in n.attrs)
        args = " ".join(names.get(id(i), "?") for i in n.inputs)
        stmt = f"{nm}: {_ty(n.shape, n.dtype)} = {n.op}{f'[{attrs}]' if attrs else ''} {args}".rstrip()
        block = getattr(n, "block", None)
        if block is not None:
            comment = "backward of " + _loc_text(block.loc) if block.loc else f"backward of {block.op}"
        else:
            comment = _loc_text(n.loc)
        if n.value is None and arg_names is None:
            pending.append(nm)
        lines.append((stmt, comment))
    return _IR(lines, count, n_in, pending, [names.get(id(o), "?") for o in outputs])


def _tensor_graph(node: Node) -> tuple[list[Node], list[Node]]:
    """Every recorded node behind ``node``: (ops, inputs), both in creation order.

    Computed nodes whose history was dropped (no inputs) and leaves are inputs;
    a computed node that kept its history (it requires grad) is shown as the op it is.
    """
    seen: dict[int, Node] = {}
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen[id(n)] = n
        if not n.leaf:
            stack.extend(n.inputs)
    nodes = sorted(seen.values(), key=lambda n: n.id)
    inputs = [n for n in nodes if n.op in ("input", "scalar") or n.leaf or (n.value is not None and not n.inputs)]
    ins = {id(n) for n in inputs}
    return [n for n in nodes if id(n) not in ins], inputs


def _ir_of_tensor(t: Tensor) -> str:
    node = t._node
    order, inputs = _tensor_graph(node)
    name = codegen._user_name(node.loc) if node.loc else None
    title = f"IR of tensor {name}" if name else "IR of tensor"
    if node.value is not None and not order:
        block = getattr(node, "block", None)
        made = (f"a gradient, from the backward of {_loc_text(block.loc)}" if block is not None and block.loc
                else f"made at {_loc_text(node.loc)}" if node.loc else "")
        return (f"# IR of tensor: computed, no recorded history{f' ({made})' if made else ''}\n"
                f"{_ty(node.shape, node.dtype)} = input   # its graph is not kept once computed, because it does "
                "not require grad; srcgrad.inspect.show(1) shows the last program run\n")
    return _render(order, inputs, [node]).text(title)


# ---------------------------------------------------------------------------
# watching compilation: IR with user lines, and example inputs/outputs per program

_PROGRAM_IR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_EXAMPLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ORIGINAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Program -> (jitted, fn) before recording
_watch: dict[str, Any] = {"orig": None, "examples": False}


def watch(examples: bool = False) -> None:
    """Record, for every program compiled from now on, its IR with the user's lines
    (and with ``examples=True`` the arguments and results of its first run, for ``dump``).

    Uses ``compiler.ON_COMPILE`` (a list of ``hook(prog, order, inputs, outputs)``) where
    the core has it, else wraps ``compiler.compile_program``; ``unwatch()`` undoes it.
    The command line turns this on for the script it runs.
    """
    _watch["examples"] = examples
    if _watch["orig"] is not None or _watch.get("hook") is not None:
        return
    hooks = getattr(compiler, "ON_COMPILE", None)
    if isinstance(hooks, list):
        hooks.append(_on_compile)
        _watch["hook"] = _on_compile
        return
    orig = compiler.compile_program
    sig = _pyinspect.signature(orig)

    def compile_program(*args: Any, **kwargs: Any) -> Program:
        prog = orig(*args, **kwargs)
        try:
            a = sig.bind(*args, **kwargs).arguments
            _on_compile(prog, a["order"], a["inputs"], a["outputs"])
        except Exception:  # inspection must never break a run
            pass
        return prog

    compile_program.__wrapped__ = orig  # type: ignore[attr-defined]
    _watch["orig"] = orig
    compiler.compile_program = compile_program


def _on_compile(prog: Program, order: list[Node], inputs: list[Node], outputs: list[Node]) -> None:
    _PROGRAM_IR[prog] = _render(order, inputs, outputs, prog.arg_names)
    if _watch["examples"]:
        _record_first_run(prog, [n.value for n in inputs])


def unwatch() -> None:
    """Stop what ``watch`` started."""
    hook = _watch.pop("hook", None)
    if hook is not None:
        hooks = getattr(compiler, "ON_COMPILE", [])
        if hook in hooks:
            hooks.remove(hook)
    if _watch["orig"] is not None:
        compiler.compile_program = _watch["orig"]
        _watch["orig"] = None


def _host(v: Any) -> Any:
    return v if isinstance(v, (bool, int, float)) else np.asarray(v)


def _record_first_run(prog: Program, args: list) -> None:
    """Keep the arguments and results of the program's first run (then step aside)."""
    saved_args = [_host(a) for a in args]
    jitted, fn = prog.jitted, prog.fn
    _ORIGINAL[prog] = (jitted, fn)
    ref = weakref.ref(prog)

    def recording(run: Callable) -> Callable:
        def first_run(*a: Any) -> Any:
            out = run(*a)
            p = ref()
            if p is not None:
                _EXAMPLES[p] = (saved_args, [_host(o) for o in out])
                p.jitted, p.fn = jitted, fn
            return out
        return first_run

    prog.jitted, prog.fn = recording(jitted), recording(fn)


def _jitted(prog: Program) -> Any:
    return _ORIGINAL[prog][0] if prog in _ORIGINAL else prog.jitted


def _fn(prog: Program) -> Callable:
    return _ORIGINAL[prog][1] if prog in _ORIGINAL else prog.fn


# ---------------------------------------------------------------------------
# which programs an object stands for


def _history_index(prog: Program) -> int:
    """The program's place in compile order (0 for the first since the cache was cleared),
    or -1 once the cache no longer holds it."""
    held = any(p is prog for p in compiler.CACHE.history)
    return prog.serial - 1 if held else -1


_REF = re.compile(r"([\w.\-<>]+\.py):(\d+)")


def _refs(prog: Program) -> set[tuple[str, int]]:
    return {(m.group(1), int(m.group(2))) for m in _REF.finditer(prog.source)}


def _lines_of(fn: Callable) -> tuple[str, int, int] | None:
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    try:
        src, start = _pyinspect.getsourcelines(fn)
        end = start + len(src) - 1
    except (OSError, TypeError):
        lines = [ln for _, _, ln in code.co_lines() if ln is not None]
        start, end = code.co_firstlineno, max(lines, default=code.co_firstlineno)
    return os.path.basename(code.co_filename), start, end


def programs(obj: Any = None) -> list[Program]:
    """The programs ``obj`` stands for (see the module doc), oldest first."""
    from .compiled import CompiledFunction
    history = compiler.CACHE.history
    if obj is None:
        return list(history)
    if isinstance(obj, Program):
        return [obj]
    if isinstance(obj, bool):
        raise TypeError("srcgrad.inspect: expected a tensor, function, Program or int, got bool")
    if isinstance(obj, int):
        return list(history[-obj:]) if obj > 0 else []
    if isinstance(obj, (list, tuple)) and all(isinstance(p, Program) for p in obj):
        return list(obj)
    if isinstance(obj, Tensor):
        prog, _ = _tensor_program(obj)
        return [prog] if prog is not None else []
    if isinstance(obj, CompiledFunction):
        progs = [e.program for es in obj.entries.values() for e in es if e.program is not None]
        if progs:
            progs = list({id(p): p for p in progs}.values())
            return sorted(progs, key=_history_index)
        fn = obj.fn
    elif callable(obj):
        fn = _pyinspect.unwrap(obj)
        while isinstance(fn, CompiledFunction):
            fn = fn.fn
    else:
        raise TypeError(f"srcgrad.inspect: cannot inspect a {type(obj).__name__}; pass a tensor, a function "
                        "made by srcgrad.compile / srcgrad.grad, a Program, or an int N (the last N programs)")
    span = _lines_of(fn)
    if span is None:
        return []
    base, start, end = span
    return [p for p in history if any(f == base and start <= ln <= end for f, ln in _refs(p))]


def trace(fn: Callable, *args: Any, **kwargs: Any) -> list[Program]:
    """Call ``fn(*args, **kwargs)`` and return the programs that ran during the call
    (compiled or fetched from the cache), in the order they were first used."""
    before = {id(p): p.calls for p in compiler.CACHE.programs.values()}
    mark = compiler.CACHE.compiled
    fn(*args, **kwargs)
    ran = [p for p in compiler.CACHE.programs.values() if p.calls != before.get(id(p), 0)]
    for p in compiler.CACHE.since(mark):
        if all(p is not q for q in ran):
            ran.append(p)
    return sorted(ran, key=_history_index)


def _collect_recorded(node: Node) -> tuple[list[Node], list[Node], list[Node], tuple]:
    """Like ``compiler.collect([node])`` but through computed nodes that kept their history:
    the program that recomputes ``node`` from its leaves and dropped-history inputs."""
    pos: dict[int, int] = {}
    entries: list[tuple] = []
    order: list[Node] = []
    inputs: list[Node] = []

    def is_input(n: Node) -> bool:
        return n.value is not None and (n.leaf or not n.inputs)

    if is_input(node):
        return [], [node], [node], ((compiler._input_entry(node),), (0,))
    stack = [node]
    while stack:
        n = stack[-1]
        if id(n) in pos:
            stack.pop()
            continue
        ready = True
        for i in n.inputs:
            if id(i) not in pos:
                if is_input(i):
                    pos[id(i)] = len(entries)
                    entries.append(compiler._input_entry(i))
                    inputs.append(i)
                else:
                    stack.append(i)
                    ready = False
        if ready:
            stack.pop()
            pos[id(n)] = len(entries)
            entries.append((n.sig, tuple(pos[id(i)] for i in n.inputs)))
            order.append(n)
    return order, inputs, [node], (tuple(entries), (pos[id(node)],))


def _compile_quietly(key: Any, order: list[Node], inputs: list[Node], outputs: list[Node],
                     fn_name: str | None = None) -> Program:
    """``compiler.compile_program`` (never inserted into the cache), with its IR kept."""
    orig = _watch["orig"] or compiler.compile_program
    prog = orig(key, order, inputs, outputs, fn_name=fn_name)
    _PROGRAM_IR[prog] = _render(order, inputs, outputs, prog.arg_names)
    return prog


def _tensor_program(t: Tensor) -> tuple[Program | None, str]:
    """The program for a tensor's value, and a sentence on where it comes from."""
    node = t._node
    made = getattr(node, "program", None)  # set by compiler.realize where that hook exists
    if isinstance(made, weakref.ref):
        made = made()
    if isinstance(made, Program):
        return made, "the program that computed this tensor"
    if node.value is None:
        order, inputs, outputs, key = compiler.collect([node])
        prog = compiler.CACHE.programs.get(key)
        if prog is not None:
            return prog, "pending: the cached program that will compute it (a cache hit)"
        prog = _compile_quietly(key, order, inputs, outputs)
        return prog, f"pending: the program that would be compiled now ({prog.reason}); not run, not cached"
    order, inputs, outputs, key = _collect_recorded(node)
    if not order or node.leaf:
        return None, "computed, with no recorded history (a leaf or a value whose graph was not kept)"
    prog = _compile_quietly(key, order, inputs, outputs, "recompute")
    prog.reason = "computed already: this program recomputes it from its recorded graph"
    return prog, prog.reason


# ---------------------------------------------------------------------------
# the views


def ir(obj: Any) -> str:
    """The recorded IR: for a tensor, the subgraph producing it; for programs, their ops."""
    if isinstance(obj, Tensor):
        return _ir_of_tensor(obj)
    return _each(obj, _ir_of_program, "IR")


def _ir_of_program(prog: Program) -> str:
    rendered = _PROGRAM_IR.get(prog)
    title = f"IR of {_fn_name(prog)}"
    if rendered is not None:
        return rendered.text(title)
    return _ir_from_key(prog, title)


def _ir_from_key(prog: Program, title: str) -> str:
    """The IR read back from the cache key (no user lines: run under ``watch()`` to get them)."""
    entries, outs = prog.key
    names: dict[int, str] = {}
    lines: list[tuple[str, str]] = []
    arg = iter(prog.arg_names)
    count = 0
    n_in = 0
    for k, e in enumerate(entries):
        if e[0] == "input":
            names[k] = next(arg, f"in{k}")
            lines.append((f"{names[k]}: {_ty(e[1], e[2])} = input", ""))
            n_in += 1
        elif e[0] == "scalar":
            names[k] = next(arg, f"in{k}")
            lines.append((f"{names[k]}: {e[1].__name__} = scalar", ""))
            n_in += 1
        else:
            (op, attrs, shape, dtype), ins = e
            if op == "const":
                names[k] = _attr(attrs[0])
                continue
            names[k] = f"t{count}"
            count += 1
            od = OPS.get(op)
            an = od.attr_names if od is not None else ()
            at = " ".join(f"{a}={_attr(v)}" for a, v in zip(an, attrs)) if an else " ".join(map(_attr, attrs))
            args = " ".join(names[i] for i in ins)
            lines.append((f"{names[k]}: {_ty(shape, dtype)} = {op}{f'[{at}]' if at else ''} {args}".rstrip(), ""))
    ir_ = _IR(lines, count, n_in, [], [names[i] for i in outs])
    return ir_.text(title + " (from the cache key; no user lines: srcgrad.inspect.watch() records them)")


def source(obj: Any) -> str:
    """The generated Python source (forward, backward, or both fused) of each program."""
    if isinstance(obj, Tensor):
        prog, why = _tensor_program(obj)
        if prog is None:
            return f"# {why}\n"
        return f"# {why}\n{prog.source}"
    return _each(obj, lambda p: p.source, "source")


def _jaxpr_text(prog: Program) -> str:
    import jax
    closed = jax.make_jaxpr(_fn(prog))(*prog.arg_specs)
    text = closed.pretty_print(source_info=True, name_stack=False)
    src = prog.source.splitlines()

    def where(m: re.Match) -> str:
        line = int(m.group(2))
        code = src[line - 1].split("#")[0].strip() if 0 < line <= len(src) else ""
        return f"# {m.group(4)}:{line}  {code}"

    text = re.sub(r"# (.+?):(\d+):(\d+) \((\w+)\)", where, text)
    # name the jaxpr's binders after the generated function's parameters
    head = text.split("\n", 1)[0]
    binders = re.findall(r"(\w+):\S+", head.split(";", 1)[1] if ";" in head else "")
    pairs = ", ".join(f"{b}={a}" for b, a in zip(binders, prog.arg_names))
    return (f"# jaxpr of {_fn_name(prog)} ({len(closed.jaxpr.eqns)} equations); inputs {pairs}\n"
            f"# each line ends with the line of the generated source it came from\n{text}\n")


def jaxpr(obj: Any) -> str:
    """The jaxpr JAX traces from each program's generated function."""
    return _each(obj, _jaxpr_text, "jaxpr")


_HLO_OP = re.compile(r"^\s*(?:ROOT\s+)?%?[\w.\-]+\s*=\s*.*?\s([a-z][\w\-]*)\(")
_BOOKKEEPING = {"parameter", "constant", "tuple", "get-tuple-element", "bitcast", "copy"}


def hlo_stats(text: str) -> dict:
    """Kernels in an optimised HLO module: fusions and other ops of the entry computation."""
    entry = re.search(r"^ENTRY .*?\{\n(.*?)^\}", text, re.M | re.S)
    ops: Counter = Counter()
    for line in (entry.group(1) if entry else "").splitlines():
        m = _HLO_OP.match(line)
        if m:
            ops[m.group(1)] += 1
    fusions = ops.pop("fusion", 0)
    other = {k: v for k, v in ops.items() if k not in _BOOKKEEPING}
    return {"fusions": fusions, "other": other, "kernels": fusions + sum(other.values()),
            "fused_computations": len(re.findall(r"^%?fused_computation[\w.]*\s*\(", text, re.M))}


def _clean_hlo(text: str) -> str:
    text = re.sub(r", metadata=\{[^{}]*\}", "", text)
    text = re.sub(r"\nFileNames\n.*?\n\n(?=%|ENTRY|HloModule)", "\n", text, flags=re.S)
    text = re.sub(r"\n\n\n+", "\n\n", text)
    return text


def _hlo_raw(prog: Program) -> str:
    import jax
    with jax.default_device(jax.devices("cpu")[0]) if prog.device is None else _nullcontext():
        return _jitted(prog).lower(*prog.arg_specs).compile().as_text()


class _nullcontext:  # noqa: N801
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _hlo_text(prog: Program, metadata: bool = False) -> str:
    raw = _hlo_raw(prog)
    st = hlo_stats(raw)
    other = ", ".join(f"{k} x{v}" for k, v in sorted(st["other"].items()))
    k, f = st["kernels"], st["fusions"]
    head = (f"# optimised HLO of {_fn_name(prog)} after XLA's fusion: {k} kernel{'s' * (k != 1)} "
            f"({f} fusion{'s' * (f != 1)}{', ' + other if other else ''})\n")
    return head + (raw if metadata else _clean_hlo(raw)).rstrip() + "\n"


def hlo(obj: Any, metadata: bool = False) -> str:
    """The optimised HLO XLA compiles each program to, with its fused kernels counted."""
    return _each(obj, lambda p: _hlo_text(p, metadata), "HLO")


def _fn_name(prog: Program) -> str:
    m = re.match(r"def (\w+)\(", prog.source)
    return m.group(1) if m else "program"


def _each(obj: Any, view: Callable[[Program], str], what: str) -> str:
    if isinstance(obj, Tensor):
        prog, why = _tensor_program(obj)
        if prog is None:
            return f"# {why}\n"
        return f"# {why}\n" + view(prog)
    progs = programs(obj)
    if not progs:
        return f"# no programs to show {what} for (not run yet?)\n"
    if len(progs) == 1:
        return view(progs[0])
    return "\n".join(f"# [{_history_index(p) + 1}] {_fn_name(p)}\n" + view(p) for p in progs)


# ---------------------------------------------------------------------------
# the cache in words


def program_id(prog: Program) -> str:
    """The program's content hash: the name of its dumped file (``p_<hash>``)."""
    text = prog.source + "\n# " + describe_key(prog)  # the same code at another shape is another program
    return "p_" + hashlib.sha256(text.encode()).hexdigest()[:16]


def describe_key(prog: Program) -> str:
    """The cache key in words: ops, inputs (names, shapes, dtypes) and outputs."""
    entries, outs = prog.key
    ops: Counter = Counter()
    consts = 0
    for e in entries:
        if e[0] in ("input", "scalar"):
            continue
        if e[0][0] == "const":
            consts += 1
        else:
            ops[e[0][0]] += 1
    op_text = ", ".join(f"{k}" if v == 1 else f"{k} x{v}" for k, v in ops.items())
    if consts:
        op_text += f"; {consts} constant{'s' * (consts != 1)}"
    ins = ", ".join(f"{nm} {_ty(shape, _DtypeName(dt))}" for nm, shape, dt in prog.input_desc)
    out_types = []
    for i in outs:
        e = entries[i]
        out_types.append(_ty(e[1], e[2]) if e[0] == "input" else _ty(e[0][2], e[0][3]))
    n_ops = sum(ops.values())
    return (f"{n_ops} op{'s' * (n_ops != 1)} ({op_text}); inputs: {ins or 'none'}; "
            f"outputs: {', '.join(out_types)}")


class _DtypeName:
    """A dtype known only by name (``Program.input_desc`` keeps names)."""

    __slots__ = ("name", "weak")

    def __init__(self, name: str) -> None:
        self.name = name
        self.weak = name in ("int", "float")


def _span(prog: Program) -> str:
    refs = sorted(_refs(prog))
    if not refs:
        return ""
    files = sorted({f for f, _ in refs})
    parts = []
    for f in files:
        lines = [ln for g, ln in refs if g == f]
        parts.append(f"{f}:{min(lines)}" + (f"-{max(lines)}" if max(lines) != min(lines) else ""))
    return ", ".join(parts)


def _entry_reasons(fns: Iterable[Any]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for f in fns:
        for es in getattr(f, "entries", {}).values():
            for e in es:
                if e.program is not None:
                    out.setdefault(id(e.program), []).append(f"@srcgrad.compile {f.__name__}: {e.reason}")
    return out


def cache(obj: Any = None, compiled: Iterable[Any] = ()) -> str:
    """Every program (of ``obj``, or the whole cache) with its key in words, hits,
    compile time and why it was compiled. ``compiled``: ``srcgrad.compile``d
    functions whose own reasons (which argument changed) are added."""
    from .compiled import CompiledFunction
    fns = list(compiled)
    if isinstance(obj, CompiledFunction):
        fns.append(obj)
    why_fn = _entry_reasons(fns)
    c = compiler.CACHE
    if isinstance(obj, Tensor):
        prog, why = _tensor_program(obj)
        if prog is None:
            return f"# {why}\n"
        progs = [prog]
        head = f"# {why}"
    else:
        progs = programs(obj)
        n = len(c.programs)
        head = (f"# srcgrad cache: {n} program{'s' * (n != 1)}, {c.hits} hits, {c.misses} misses, "
                f"{c.compile_s:.3f} s compiling")
        if obj is not None:
            head += f"; showing {len(progs)}"
    lines = [head]
    for p in progs:
        k = _history_index(p)
        tag = f"[{k + 1}]" if k >= 0 else "[-]"
        span = _span(p)
        lines.append(f"{tag} {_fn_name(p)}  {program_id(p)}" + (f"  ({span})" if span else ""))
        lines.append(f"    key:      {describe_key(p)}")
        lines.append(f"    compiled: {p.reason}")
        for r in why_fn.get(id(p), []):
            lines.append(f"              {r}")
        in_cache = compiler.CACHE.programs.get(p.key) is p
        lines.append(f"    hits: {p.hits}   calls: {p.calls}   compile: {p.compile_s * 1e3:.1f} ms"
                     + ("" if in_cache else "   (not in the cache)"))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# the autograd graph as Graphviz DOT (as torchviz draws PyTorch's)


def _size(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, name: str | None = None) -> str:
    """The autograd graph behind ``tensor`` as Graphviz DOT: ``grad_fn`` nodes by their
    PyTorch names, ``AccumulateGrad`` for leaves, leaf tensors with their shapes."""
    from .autograd.graph import AccumulateGrad
    ids: dict[tuple, str] = {}

    def nid(key: tuple) -> str:
        if key not in ids:
            ids[key] = f"n{len(ids)}"
        return ids[key]

    node = tensor._node
    label = name or (codegen._user_name(node.loc) if node.loc else None) or ""
    out = ["digraph {", '\tgraph [size="12,12"]',
           "\tnode [align=left fontname=monospace fontsize=10 height=0.2 ranksep=0.1 shape=box style=filled]"]
    root = nid(("out",))
    out.append(f"\t{root} [label={_q(f'{label}{chr(10)} {_size(tuple(tensor.shape))}'.lstrip())} "
               "fillcolor=darkolivegreen1]")
    gf = tensor.grad_fn
    if gf is None:
        if node.requires_grad:  # a leaf
            out[-1] = f"\t{root} [label={_q(f'{label}{chr(10)} {_size(node.shape)}')} fillcolor=lightblue]"
        out.append("}")
        return "\n".join(out) + "\n"
    seen: set[tuple] = set()
    stack = [gf]
    out.append(f"\t{nid(('fn', id(gf._node)))} -> {root}")
    while stack:
        fn = stack.pop()
        key = ("fn", id(fn._node))
        if key in seen:
            continue
        seen.add(key)
        n = fn._node
        where = _loc_text(n.loc)
        if isinstance(fn, AccumulateGrad):
            out.append(f"\t{nid(key)} [label=AccumulateGrad]")
            var = nid(("var", id(n)))
            vname = codegen._user_name(n.loc) if n.loc else ""
            out.append(f"\t{var} [label={_q(f'{vname or chr(32)}{chr(10)} {_size(n.shape)}'.lstrip())} "
                       f"fillcolor=lightblue tooltip={_q(where)}]")
            out.append(f"\t{var} -> {nid(key)}")
            continue
        label = fn.name() if fn.name().isidentifier() else _q(fn.name())
        out.append(f"\t{nid(key)} [label={label} tooltip={_q(where)}]")
        for nxt, _ in fn.next_functions:
            if nxt is None:
                continue
            out.append(f"\t{nid(('fn', id(nxt._node)))} -> {nid(key)}")
            stack.append(nxt)
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(tensor: Tensor, name: str | None = None) -> str | None:
    """The graph of ``to_dot`` as SVG, when Graphviz's ``dot`` program is installed (else None)."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    res = subprocess.run([dot, "-Tsvg"], input=to_dot(tensor, name), capture_output=True, text=True, timeout=60)
    return res.stdout if res.returncode == 0 else None


# ---------------------------------------------------------------------------
# show, colour, dump


def show(obj: Any = None, what: str = "source", *, color: bool = False) -> str:
    """One view (``"ir" "source" "jaxpr" "hlo" "cache" "graph"``) or ``"all"`` of ``obj`` as text."""
    if what == "all":
        views = ["ir", "source", "jaxpr", "hlo", "cache"]
        parts = [f"=== {v} ===\n" + show(obj, v, color=color) for v in views]
        return "\n".join(parts)
    if what == "ir":
        text, kind = ir(obj), "ir"
    elif what == "source":
        text, kind = source(obj), "python"
    elif what == "jaxpr":
        text, kind = jaxpr(obj), "jaxpr"
    elif what == "hlo":
        text, kind = hlo(obj), "hlo"
    elif what == "cache":
        text, kind = cache(obj), "text"
    elif what == "graph":
        if not isinstance(obj, Tensor):
            raise TypeError("srcgrad.inspect: the graph view needs a tensor")
        text, kind = to_dot(obj), "dot"
    else:
        raise ValueError(f"srcgrad.inspect: unknown view {what!r}; choose one of {', '.join(VIEWS)} or 'all'")
    return colorize(text, kind) if color else text


def pprint(obj: Any = None, what: str = "source", file: Any = None) -> None:
    """Print ``show(obj, what)``, in colour when the output is a terminal."""
    file = file or sys.stdout
    print(show(obj, what, color=use_color(file)), file=file, end="")


def use_color(file: Any = None) -> bool:
    """Colour for terminals only, and never when ``NO_COLOR`` is set."""
    file = file or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):
        return False


_ANSI = {"comment": "\x1b[2;32m", "keyword": "\x1b[1;34m", "op": "\x1b[36m", "type": "\x1b[33m",
         "head": "\x1b[1m", "reset": "\x1b[0m"}


def colorize(text: str, kind: str = "python") -> str:
    """ANSI colour for a terminal: pygments for Python (and DOT) when it is installed,
    else a small built-in colouring of comments, keywords, ops and types."""
    if kind in ("python", "dot"):
        try:
            from pygments import highlight
            from pygments.formatters import TerminalFormatter
            from pygments.lexers import GraphvizLexer, PythonLexer
            lexer = PythonLexer() if kind == "python" else GraphvizLexer()
            return highlight(text, lexer, TerminalFormatter(bg="dark"))
        except ImportError:
            pass
    c, r = _ANSI, _ANSI["reset"]
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#") or line.startswith("==="):
            out.append(f"{c['head'] if line.startswith(('===', '# [')) else c['comment']}{line}{r}")
            continue
        code, sep, comment = line.partition("  # ") if kind != "hlo" else (line, "", "")
        if kind == "python":
            code = re.sub(r"\b(" + "|".join(keyword.kwlist) + r")\b", lambda m: f"{c['keyword']}{m.group(1)}{r}", code)
        elif kind in ("ir", "jaxpr"):
            code = re.sub(r"(?<=[:=] )([a-z_]+)(?=[\[ ]|$)", lambda m: f"{c['op']}{m.group(1)}{r}", code)
            code = re.sub(r"\b([a-z]+\d*\[[\d,]*\])", lambda m: f"{c['type']}{m.group(1)}{r}", code)
        elif kind == "hlo":
            code = re.sub(r"\b(fusion|ENTRY|ROOT)\b", lambda m: f"{c['keyword']}{m.group(1)}{r}", code)
        out.append(code + (f"{c['comment']}{sep}{comment}{r}" if sep else ""))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


_HEADER = '''\
# srcgrad program {name}: {why}
# key: {key}
# Generated by srcgrad; written by `python -m srcgrad inspect --dump`. Importable on its own:
#   from {module} import {name};  {name}(*example_args())
import jax, jax.numpy as jnp
from jax import lax
import srcgrad.lowering_helpers as sg

jax.config.update("jax_enable_x64", True)  # srcgrad's setting: float64 tensors stay float64

'''

_FOOTER = '''

FUNCTION = {name}
ARG_NAMES = {arg_names!r}
# (name, shape, dtype, weak): a weak argument is a Python number
ARG_SPECS = {specs!r}


def example_args():
    """The arguments this program got on its first run in the script (needs the .example.npz beside it)."""
    import os

    import numpy as np
    data = np.load(os.path.splitext(__file__)[0] + ".example.npz")
    return [data[f"arg{{k}}"].item() if spec[3] else jnp.asarray(data[f"arg{{k}}"])
            for k, spec in enumerate(ARG_SPECS)]


def example_outputs():
    """What srcgrad's compiled program returned on that run."""
    import os

    import numpy as np
    data = np.load(os.path.splitext(__file__)[0] + ".example.npz")
    return [data[f"out{{k}}"] for k in range({n_out})]


if __name__ == "__main__":
    import numpy as np
    got = {name}(*example_args())
    for k, (a, b) in enumerate(zip(got, example_outputs())):
        ok = np.allclose(np.asarray(a), b, rtol=1e-6, atol=1e-6, equal_nan=True)
        print(f"output {{k}}: {{'same as srcgrad' if ok else 'DIFFERENT'}}")
'''


def dump_source(prog: Program) -> str:
    """The program as an importable module's text."""
    name = _fn_name(prog)
    specs = [(nm, tuple(s.shape), str(s.dtype), bool(getattr(s, "weak_type", False)))
             for nm, s in zip(prog.arg_names, prog.arg_specs)]
    n_out = len(prog.key[1])
    pid = program_id(prog)
    return (_HEADER.format(name=name, why=prog.reason, key=describe_key(prog), module=pid)
            + prog.source
            + _FOOTER.format(name=name, arg_names=list(prog.arg_names), specs=specs, n_out=n_out))


def dump(obj: Any, directory: str) -> list[str]:
    """Write each program of ``obj`` as ``<dir>/p_<hash>.py`` (importable), beside its
    ``.ir.txt``, ``.jaxpr.txt``, ``.hlo.txt`` and, when recorded under ``watch(examples=True)``,
    ``.example.npz`` (the first run's arguments and results). Returns the ``.py`` paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for prog in programs(obj) if not isinstance(obj, Program) else [obj]:
        base = os.path.join(directory, program_id(prog))
        with open(base + ".py", "w", encoding="utf-8") as f:
            f.write(dump_source(prog))
        with open(base + ".ir.txt", "w", encoding="utf-8") as f:
            f.write(_ir_of_program(prog))
        with open(base + ".jaxpr.txt", "w", encoding="utf-8") as f:
            f.write(_jaxpr_text(prog))
        with open(base + ".hlo.txt", "w", encoding="utf-8") as f:
            f.write(_hlo_text(prog, metadata=True))
        ex = _EXAMPLES.get(prog)
        if ex is not None:
            args, outs = ex
            arrays = {f"arg{k}": np.asarray(a) for k, a in enumerate(args)}
            arrays.update({f"out{k}": np.asarray(o) for k, o in enumerate(outs)})
            np.savez(base + ".example.npz", **arrays)
        paths.append(base + ".py")
    return paths
