"""Realisation: pending IR -> generated source -> ``jax.jit`` -> values, cached per graph shape.

``realize(nodes)`` walks back from the requested nodes to nodes that already
hold values (the program's inputs), builds the graph's signature on the way
(ops, attributes, wiring, input shapes/dtypes/devices, never values), and
runs the cached program for that signature, compiling it on a miss. The
outputs are the requested nodes plus every pending node that Python still
holds a tensor for, so that value is not computed twice.
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import math
import os
import pathlib
import sys
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jaxlib
from jax import lax

from . import codegen, ir, lowering_helpers, persistent, tracing
from .device import META
from .dtypes import float32
from .ir import Node, gc_paused, live_tensor
from .tracing import WatchedFloat

_NAMESPACE = {"jnp": jnp, "lax": lax, "jax": jax, "sg": lowering_helpers}


class Program:
    """One compiled program: its source, jitted function and statistics."""

    __slots__ = ("key", "serial", "ref", "source", "fn", "jitted", "arg_names", "filename", "hits", "compile_s",
                 "reason", "n_ops", "input_desc", "structure", "calls", "device", "arg_specs", "runners", "donation",
                 "__weakref__")

    def __repr__(self) -> str:
        return (f"<Program {os.path.basename(self.filename)}: {self.n_ops} ops, hits={self.hits}, "
                f"compile={self.compile_s * 1e3:.1f} ms>")


class Cache:
    """All programs by signature, with hit/miss counts and why each was compiled.

    Bounded: beyond ``limit`` programs the least recently run one is dropped, with the
    backward plans that run it, so a process that compiles without end (new shapes every
    step) keeps a fixed number of XLA executables. (Each CPU executable holds memory
    mappings; the kernel's limit is about 65,000 a process, some 10,000 programs.) A
    program that a decorated function's cache entry still holds stays usable by it."""

    def __init__(self, limit: int) -> None:
        self.programs: dict[Any, Program] = {}
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.compile_s = 0.0
        self.compiled = 0  # programs compiled since the last clear; numbers them (Program.serial)
        self.history: list[Program] = []  # the programs held here, oldest compiled first
        self.plans: OrderedDict = OrderedDict()  # backward passes by forward signature (autodiff.py)
        self._recent: OrderedDict[Program, None] = OrderedDict()  # least recently run first

    def add(self, key: Any, prog: Program) -> None:
        """Hold a newly compiled program (the caller counts the miss)."""
        self.compiled += 1
        prog.serial = self.compiled
        self.programs[key] = prog
        self.history.append(prog)
        self._recent[prog] = None
        while len(self.programs) > self.limit:
            self._evict(next(iter(self._recent)))

    def touch(self, prog: Program) -> None:
        """``prog`` ran: it is now the most recently used. (Keyed by the program, which
        hashes by identity, not by its signature, a long tuple that is slow to hash.)"""
        try:
            self._recent.move_to_end(prog)
        except KeyError:
            pass  # evicted, and still run by a decorated function's entry

    def add_plan(self, key: Any, plan: Any) -> None:
        self.plans[key] = plan
        while len(self.plans) > self.limit:
            self.plans.popitem(last=False)  # oldest first: a hot plan dropped is recorded again

    def since(self, serial: int) -> list[Program]:
        """Programs compiled after the one numbered ``serial`` (``self.compiled`` taken
        earlier) that are still held, oldest first."""
        return [p for p in self.history if p.serial > serial]

    def set_limit(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"srcgrad: the program cache size must be a positive int, got {limit!r}")
        self.limit = limit
        while len(self.programs) > self.limit:
            self._evict(next(iter(self._recent)))

    def _evict(self, prog: Program) -> None:
        del self._recent[prog]
        if self.programs.get(prog.key) is prog:
            del self.programs[prog.key]
        self.history.remove(prog)
        # a plan runs its program directly: it would keep the executable alive
        for key in [k for k, plan in self.plans.items() if getattr(plan, "program", None) is prog]:
            del self.plans[key]
        self.evictions += 1

    def clear(self) -> None:
        self.programs.clear()
        self.history.clear()
        self.plans.clear()
        self._recent.clear()
        self.hits = self.misses = self.evictions = 0
        self.compiled = 0
        self.compile_s = 0.0


DEFAULT_CACHE_SIZE = 1024  # programs; SRCGRAD_CACHE_SIZE or srcgrad.set_cache_size() changes it


def _default_limit() -> int:
    raw = os.environ.get("SRCGRAD_CACHE_SIZE", "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_CACHE_SIZE
    except ValueError:
        return DEFAULT_CACHE_SIZE


CACHE = Cache(_default_limit())
ON_COMPILE: list = []  # callables (program, order, inputs, outputs) run after each compile


def _input_entry(n: Node) -> tuple:
    if n.op == "scalar":
        return ("scalar", type(n.value))
    return ("input", n.shape, n.dtype, n.device)


@gc_paused
def collect(targets: list[Node], keep_live: bool = True) -> tuple[list[Node], list[Node], list[Node], tuple]:
    """The pending nodes needed for ``targets`` in topological order, the program's
    inputs, its outputs (``targets``, plus live pending nodes when ``keep_live``)
    and its signature."""
    # Nodes hash by identity, so they key the dicts directly (this walk is on the hot path).
    pos: dict = {}
    entries: list[tuple] = []
    order: list[Node] = []
    inputs: list[Node] = []
    # One Python float used by several ops (the `lr` of every parameter update) is one
    # program input: float inputs are shared by the identity of their value. (Not ints:
    # small ints are interned, so a literal 5 and a random counter at 5 are one object.)
    scalar_pos: dict[int, int] = {}
    for t in targets:
        if t.value is not None or t in pos:
            continue
        stack = [t]
        while stack:
            n = stack[-1]
            if n in pos:
                stack.pop()
                continue
            ready = True
            for i in n.inputs:
                if i not in pos:
                    if i.value is None:
                        stack.append(i)
                        ready = False
                        continue
                    if i.op == "scalar":
                        kind = type(i.value)
                        if kind is float or kind is WatchedFloat:  # (a float argument being traced)
                            kind = float
                            shared = scalar_pos.get(id(i.value))
                            if shared is not None:
                                pos[i] = shared
                                continue
                            scalar_pos[id(i.value)] = len(entries)
                        entries.append(("scalar", kind))
                    else:
                        entries.append(("input", i.shape, i.dtype, i.device))
                    pos[i] = len(entries) - 1
                    inputs.append(i)
            if ready:
                stack.pop()
                pos[n] = len(entries)
                entries.append((n.sig, tuple([pos[i] for i in n.inputs])))
                order.append(n)
    want = set(targets)
    if keep_live:
        feeding = _feeding_pending(pos) if ir.recent else None
        if feeding:
            want.update(feeding)
        outputs = [n for n in order if n in want or live_tensor(n) is not None]
    else:
        outputs = [n for n in order if n in want]
    key = (tuple(entries), tuple([pos[o] for o in outputs]))
    return order, inputs, outputs, key


def _feeding_pending(pos: dict) -> set:
    """The nodes this program computes that tensors left pending outside it read (through
    pending nodes of their own, a few steps at most): kept as outputs, so that computing those
    tensors later starts from the values instead of computing this program's part again. (An
    RNN's hidden state carried to the next batch is such a tensor: dropping the values it
    reads made every program compute all the earlier batches again, each one larger.)"""
    feeding: set = set()
    for c in ir.recent:
        if c.value is not None or c in pos or live_tensor(c) is None:
            continue
        stack, seen = [c], 1
        while stack and seen < 64:
            n = stack.pop()
            for i in n.inputs:
                if i in pos:
                    if i.value is None:  # (computed by this program, not one of its inputs)
                        feeding.add(i)
                elif i.value is None:
                    stack.append(i)
                    seen += 1
    return feeding


def _why(key: Any, order: list[Node], inputs: list[Node]) -> tuple[str, Any]:
    """Say why a program is compiled: first sight, or what differs from a similar one."""
    entries = key[0]
    structure = (tuple(e[0] if e[0] in ("input", "scalar") else (e[0][0], e[1]) for e in entries), key[1])
    for prog in reversed(CACHE.history):
        if prog.structure == structure:
            old = prog.key[0]
            for k, (a, b) in enumerate(zip(old, entries)):
                if a != b:
                    if a[0] == "input":
                        return (f"input {_describe_pos(k, inputs, entries)} changed: shape "
                                f"{tuple(a[1])} -> {tuple(b[1])}, dtype {a[2].name} -> {b[2].name}"
                                if a[2] is not b[2] else
                                f"input {_describe_pos(k, inputs, entries)} changed shape: "
                                f"{tuple(a[1])} -> {tuple(b[1])}"), structure
                    if a[0] == "scalar":
                        return (f"a Python scalar changed type: {a[1].__name__} -> {b[1].__name__}",
                                structure)
                    return (f"op {b[0][0]} differs in attributes or shapes: {a[0][1:]} -> {b[0][1:]}",
                            structure)
    return f"first sight of this graph ({len(order)} ops, {len(inputs)} inputs)", structure


def _describe_pos(k: int, inputs: list[Node], entries: list) -> str:
    idx = sum(1 for e in entries[:k] if e[0] in ("input", "scalar"))
    n = inputs[idx]
    return f"#{idx} ({codegen._user_name(n.loc) or n.op}, {codegen._short(n.loc) if n.loc else '?'})"


@gc_paused
def compile_program(key: Any, order: list[Node], inputs: list[Node], outputs: list[Node],
                    fn_name: str | None = None, input_names: dict | None = None) -> Program:
    t0 = time.perf_counter()
    digest = hashlib.sha1(repr(key).encode()).hexdigest()[:10]
    has_backward = any(getattr(n, "block", None) is not None for n in order)
    fn_name = fn_name or ("forward_backward" if has_backward else "forward")
    source, arg_names = codegen.generate(order, inputs, outputs, fn_name, input_names)
    # Compile from a real file when the disk cache is on, else register the text
    # with linecache: either way tracebacks and pdb show the generated lines.
    filename = persistent.source_file(source) or f"<srcgrad-program-{digest}>"
    if filename.startswith("<"):
        lines = linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_NAMESPACE)
    exec(compile(source, filename, "exec"), namespace)
    prog = Program()
    if filename.startswith("<"):  # the text goes with the program (evicted from the cache, freed)
        weakref.finalize(prog, _forget_source, filename, lines)
    prog.key = key
    prog.serial = 0  # (numbered by Cache.add)
    # what a computed node keeps of its program: weakly, so an evicted program is freed even while
    # values it computed live on (one reference made here, not one per value)
    prog.ref = weakref.ref(prog)
    prog.source = source
    prog.fn = namespace[fn_name]
    prog.jitted = jax.jit(prog.fn)
    prog.runners = {}  # donate_argnums -> the executable that runs the program (see _runner)
    prog.donation = None  # the donate_argnums of its donating variant, once chosen (see call_program)
    prog.arg_names = arg_names
    prog.filename = filename
    prog.hits = 0
    prog.calls = 0
    prog.n_ops = len(order)
    prog.reason, prog.structure = _why(key, order, inputs)
    prog.input_desc = [(nm, n.shape, n.dtype.name) for nm, n in zip(arg_names, inputs)]
    # Abstract arguments, so the inspection tool can lower the program again (jaxpr, HLO).
    prog.arg_specs = [jax.ShapeDtypeStruct((), n.dtype.np, weak_type=True) if n.op == "scalar"
                      else jax.ShapeDtypeStruct(n.shape, n.dtype.np) for n in inputs]
    prog.device = next((n.device for n in inputs if n.device is not None), None)
    prog.compile_s = time.perf_counter() - t0  # the XLA compile is added on first call
    for hook in ON_COMPILE:  # e.g. srcgrad.inspect.watch()
        hook(prog, order, inputs, outputs)
    return prog


def _forget_source(filename: str, lines: tuple) -> None:
    # (only this program's text: a program compiled again for the same graph has the same name)
    if linecache.cache.get(filename) is lines:
        del linecache.cache[filename]


DEBUG_NO_JIT = os.environ.get("SRCGRAD_NO_JIT", "") not in ("", "0")


# -- buffer donation --------------------------------------------------------------
#
# A training step replaces each parameter by a new value computed from the old
# one. Donating the old buffer to the program (jax.jit's donate_argnums) lets XLA
# write the new value in place instead of allocating, as JAX users do by hand.
# srcgrad donates only what nobody can read afterwards, and checks it on every
# call by reference counts: an argument's array must be held by its node alone,
# and (define-by-run) that node by the nodes this very program computes alone.


def _refs(x: Any) -> int:
    return sys.getrefcount(x)


class _Holder:
    __slots__ = ("value",)


def _sole_array_refs() -> int:
    # sys.getrefcount(args[j]) as call_program takes it, for an array that one node's
    # value and the argument list hold
    h = _Holder()
    h.value = object()
    return eval("lambda args, j, _rc: _rc(args[j])")([h.value], 0, sys.getrefcount)  # noqa: S307


_SOLE_ARRAY = _sole_array_refs()
_touch = CACHE.touch
_getrefcount = sys.getrefcount


def call_program(prog: Program, args: list, donate: tuple = ()) -> Any:
    """Run ``prog`` on ``args``, donating the buffers at positions ``donate`` when
    nothing but their node holds them (else this call donates nothing)."""
    _touch(prog)
    if DEBUG_NO_JIT:
        return prog.fn(*args)
    if ON_COMPILE and prog.calls == 0:  # the inspection tool wraps prog.jitted's first run
        return prog.jitted(*args)
    if donate:
        for j in donate:
            if _getrefcount(args[j]) != _SOLE_ARRAY:
                donate = ()
                break
        else:
            # At most two executables per program: plain, and one donating variant
            # (the first set that could be donated whole; later calls donate it when they can).
            chosen = prog.donation
            if chosen is None:
                prog.donation = donate
            elif chosen != donate:
                donate = chosen if set(chosen) <= set(donate) else ()
    run = prog.runners.get(donate)
    if run is None:
        if not donate and prog.donation and prog.calls < _FIRST_CALLS:
            # A program's first calls often cannot donate (the traced or previous values are
            # still held); rather than compile a plain variant for them, the donating one runs
            # on copies of the buffers it consumes (a copy is microseconds, a compile 0.1-1 s).
            donate = prog.donation
            args = list(args)
            for j in donate:
                args[j] = jax.device_put(args[j], may_alias=False)
            run = prog.runners.get(donate)
        if run is None:
            run = prog.runners[donate] = _runner(prog, donate)
    return run(*args)


_FIRST_CALLS = 4  # (after these, a call that cannot donate compiles the plain variant)


def _runner(prog: Program, donate: tuple) -> Any:
    """The executable for ``prog`` with ``donate``: loaded from the disk cache when it has
    it (no tracing or lowering), else compiled now and stored; without a disk cache,
    ``jax.jit`` (compiled on its first call)."""
    jitted = prog.jitted if not donate else jax.jit(prog.fn, donate_argnums=donate)
    if persistent.cache_dir() is None:
        return jitted
    try:
        # (a program of Python numbers alone runs where realize's default_device points)
        device = prog.device.jax if prog.device is not None else (jax.config.jax_default_device
                                                                  or jax.devices()[0])
        specs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type,
                                      sharding=jax.sharding.SingleDeviceSharding(device)) for a in prog.arg_specs]
        digest = _executable_digest(prog, specs, donate, device)
        compiled = persistent.load_executable(digest, device)
        if compiled is not None:
            return _checked_first_run(prog, donate, compiled, jitted, digest)
        compiled = jitted.lower(*specs).compile()
        persistent.store_executable(digest, compiled)
        return compiled
    except Exception:  # noqa: BLE001 - anything unusual: let jax.jit handle it
        return jitted


def _checked_first_run(prog: Program, donate: tuple, loaded: Any, jitted: Any, digest: str) -> Any:
    """``loaded`` (from disk) for its first call; if that call fails in XLA, the file is
    dropped and ``jitted`` runs instead, now and later."""
    def first(*args: Any) -> Any:
        try:
            out = loaded(*args)
        except jax.errors.JaxRuntimeError:
            persistent.forget_executable(digest)
            prog.runners[donate] = jitted
            return jitted(*args)
        prog.runners[donate] = loaded
        return out
    return first


@functools.cache
def _srcgrad_digest() -> str:
    """A digest of srcgrad's own sources: the generated code calls its lowering helpers, so an
    executable stored by another version of them (a changed NaN rule) must not be loaded."""
    root = pathlib.Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\x00" + path.read_bytes())
    return h.hexdigest()


def _executable_digest(prog: Program, specs: list, donate: tuple, device: Any) -> str:
    parts = [prog.source, _srcgrad_digest(), repr([(a.shape, str(a.dtype), a.weak_type) for a in specs]), repr(donate),
             device.platform, getattr(device, "device_kind", ""), jax.__version__, jaxlib.__version__,
             repr(jax.config.jax_enable_x64), repr(jax.config.jax_default_matmul_precision),
             os.environ.get("XLA_FLAGS", "")]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


# Donation pays for buffers of a megabyte or more (the 128/512/3 MLP step, 1 MiB
# weights: 18% faster); below, a fresh allocation costs less than the checks and the
# second executable that a program's donating variant usually needs in the first steps.
DONATE_MIN_BYTES = 1 << 20


def donatable_inputs(order: list[Node], inputs: list[Node]) -> tuple:
    """Positions of ``inputs`` that are old values of tensors updated in place and are
    read by no node outside ``order`` (the nodes the program computes) and by nothing else."""
    extra = _extra_refs(order, inputs)
    # all or nothing: a program's donating variant is compiled for one set (see call_program)
    if not extra or any(e != _NODE_HOLDERS for e in extra.values()):
        return ()
    return tuple(extra)


def _extra_refs(order: list[Node], inputs: list[Node]) -> dict:
    """For each candidate input position: references to its node beyond the one node of the
    program that reads it, the in-place op that replaced it. (The counts are taken with the
    same local bindings for every candidate, and calibrated by ``_node_holders``.)"""
    cands = [(j, i) for j, i in enumerate(inputs) if i.special == DONATION_CANDIDATE]
    if not cands:
        return {}
    in_program = set(order)
    extra = {}
    for j, i in cands:
        new = i.overwritten[3]
        if new in in_program and i in new.inputs:
            extra[j] = _refs(i) - new.inputs.count(i)
    return extra


DONATION_CANDIDATE = 2  # a node's `special` flag: replaced in place by a node like it, large enough


def replaced_mark(old: Node, new: Node) -> Any:
    """The ``special`` flag of a node an in-place op has just replaced by ``new``."""
    if (old.op != "scalar" and new.shape == old.shape and new.dtype is old.dtype
            and math.prod(old.shape) * old.dtype.itemsize >= DONATE_MIN_BYTES):
        return DONATION_CANDIDATE
    return True


def _node_holders() -> int:
    # The count for a node that only the in-place op replacing it reads and only the
    # caller's input list holds besides: what _extra_refs sees when nothing else can read it.
    shape = (DONATE_MIN_BYTES,)
    old = Node()
    old.op, old.special, old.shape, old.dtype = "input", DONATION_CANDIDATE, shape, float32
    new = Node()
    new.shape, new.dtype, new.inputs = shape, float32, (old,)
    old.overwritten = ("", None, 1, new)
    inputs = [old]
    del old
    return _extra_refs([new], inputs)[0]


_NODE_HOLDERS = _node_holders()


def realize(targets: list[Node]) -> tuple | None:
    """Compute ``targets`` (and live pending nodes on the way) in one program.

    Returns ``(program, inputs, outputs)``, or None when nothing was pending."""
    order, inputs, outputs, key = collect(targets)
    if not order or order[-1].device is META:  # (meta tensors are never computed: they stay pending)
        return None
    if tracing.ACTIVE is not None:
        tracing.ACTIVE.note_realize(inputs)
    prog = CACHE.programs.get(key)
    first = prog is None
    if first:
        CACHE.misses += 1
        prog = compile_program(key, order, inputs, outputs)
        CACHE.add(key, prog)
    else:
        CACHE.hits += 1
        prog.hits += 1
    args = [n.value for n in inputs]
    donate = donatable_inputs(order, inputs) if tracing.ACTIVE is None else ()
    if first:
        t0 = time.perf_counter()
    if prog.device is None and outputs[0].device is not None and outputs[0].device.type != "cpu":
        with jax.default_device(outputs[0].device.jax):
            results = call_program(prog, args)
    elif prog.device is None:
        with jax.default_device(jax.devices("cpu")[0]):
            results = call_program(prog, args)
    else:
        results = call_program(prog, args, donate)
    if first:
        dt = time.perf_counter() - t0
        prog.compile_s += dt
        CACHE.compile_s += prog.compile_s
    prog.calls += 1
    for n, v in zip(outputs, results):
        n.value = v
        n.program = prog.ref  # which program computed it (the inspection tool shows it)
        if (not n.requires_grad or n.leaf) and not ir.keep_history:
            n.inputs = ()  # history that autograd will never need
    ir.recent.clear()
    return prog, inputs, outputs


# ---------------------------------------------------------------------------
# torch.compiler's public functions (this module is srcgrad's compiler; PyTorch's name for its API)


def reset() -> None:
    """``torch.compiler.reset()``: forget every compiled program (the next realisation compiles again)."""
    CACHE.clear()


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None) -> Callable:
    """``torch.compiler.disable``: PyTorch runs ``fn`` eagerly inside a compiled function; srcgrad
    records it into the trace like the rest of the body, which gives the same results, so ``fn`` is
    returned as it is (used as ``@disable`` or ``@disable(reason=...)`` too)."""
    if fn is None:
        return lambda f: f
    return fn


def is_compiling() -> bool:
    """Whether a ``@srcgrad.compile`` trace (or a vmap) is recording right now."""
    return tracing.ACTIVE is not None


is_dynamo_compiling = is_compiling
