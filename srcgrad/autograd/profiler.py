"""``torch.autograd.profiler``: time what srcgrad does, op by op and stage by stage.

srcgrad records ops and computes them later, in compiled programs, so a profile shows two kinds
of rows (``docs/autograd.md``, "Profiling"):

- one row per recorded op, named as srcgrad's IR names it (``mul``, ``matmul``, ``tanh``): the
  time its recording took (Python: the checks, the shape rule, the node), with its input shapes
  under ``record_shapes=True``. No arithmetic happens there.
- the stages where the arithmetic happens: ``srcgrad::realize`` (computing pending values: the
  graph walk, the cache lookup and the run), ``srcgrad::codegen`` (writing a new program's
  source), ``srcgrad::run`` (one program call, timed until its results are ready: the profiler
  waits for them, so a profiled loop does not overlap its steps), inside a first run JAX's
  ``srcgrad::jax_trace``, ``srcgrad::lower`` and ``srcgrad::xla_compile``, and for autograd
  ``srcgrad::backward`` and ``srcgrad::transform`` (building the backward IR), with one
  ``MulBackward0``-style row per adjoint block the transformer writes; each call of a
  ``@srcgrad.compile`` function is a ``srcgrad.compile: <name>`` row around its replay.

``record_function(name)`` adds a row of the user's own. The collection hooks are installed while
a profile runs and removed after it, so recording costs nothing extra outside profiles.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from .profiler_util import EventList, FunctionEvent, FunctionEventAvg

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]

_now = time.perf_counter_ns


class _Raw:
    """One range as collected: absolute times in ns; turned into a FunctionEvent per session."""

    __slots__ = ("name", "start", "end", "thread", "shapes", "memory", "parent", "stack", "user")

    def __init__(self, name: str, start: int, parent: _Raw | None, user: bool = False) -> None:
        self.name = name
        self.start = start
        self.end = start
        self.thread = threading.get_ident()
        self.shapes: list = []
        self.memory = 0
        self.parent = parent
        self.stack: list = []
        self.user = user


class _Session:
    """One collection: the ranges that end while it runs."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool) -> None:
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.start = _now()
        self.raws: list[_Raw] = []

    def events(self) -> EventList:
        """The collected ranges as events, in start order, linked to their parents."""
        raws = sorted(self.raws, key=lambda r: (r.start, -r.end))
        made: dict[int, FunctionEvent] = {}
        out = []
        for k, r in enumerate(raws):
            e = FunctionEvent(k, r.name, r.thread, (r.start - self.start) / 1e3, (r.end - self.start) / 1e3,
                              input_shapes=r.shapes if self.record_shapes else [],
                              cpu_memory_usage=r.memory if self.profile_memory else 0,
                              stack=r.stack if self.with_stack else [], is_user_annotation=r.user)
            made[id(r)] = e
            out.append(e)
        for r in raws:
            p = r.parent
            while p is not None and id(p) not in made:  # (a parent that began before this session)
                p = p.parent
            if p is not None:
                child, parent = made[id(r)], made[id(p)]
                child.cpu_parent = parent
                parent.cpu_children.append(child)
        return EventList(out, profile_memory=self.profile_memory)


_sessions: list[_Session] = []
_lock = threading.Lock()
_local = threading.local()  # .ranges: this thread's open ranges; .ops: ops being recorded


def _ranges() -> list:
    r = getattr(_local, "ranges", None)
    if r is None:
        r = _local.ranges = []
    return r


def _user_stack() -> list[str]:
    """The user's frames, innermost first (``with_stack=True``), in PyTorch's "file(line): fn" form."""
    from .. import ir
    out = []
    for fs in reversed(traceback.extract_stack()):
        if fs.filename.startswith(ir._PKG_DIR) or fs.filename == __file__:
            continue
        out.append(f"{fs.filename}({fs.lineno}): {fs.name}")
    return out


def _finish(raw: _Raw) -> None:
    for s in _sessions:
        if raw.start >= s.start:
            s.raws.append(raw)


def _open(name: str, user: bool = False) -> _Raw:
    stack = _ranges()
    raw = _Raw(name, _now(), stack[-1] if stack else None, user)
    if any(s.with_stack for s in _sessions):
        raw.stack = _user_stack()
    stack.append(raw)
    return raw


def _close(raw: _Raw) -> None:
    raw.end = _now()
    stack = _ranges()
    while stack:  # (ranges left open inside it, by an exception, end with it)
        top = stack.pop()
        if top is raw:
            break
        top.end = raw.end
        _finish(top)
    _finish(raw)


# -- the hooks, installed while any session runs -------------------------------------------------

def _op_started(name: str, args: tuple) -> tuple:
    ops = getattr(_local, "ops", None)
    if ops is None or len(ops) > 8:  # (more is left over from ops whose recording raised)
        ops = _local.ops = []
    ops.append((name, _now()))
    return args


def _node_made(node: Any) -> None:
    ops = getattr(_local, "ops", None)
    if not ops:
        return  # (a node made by srcgrad itself, not an op's recording)
    for k in range(len(ops) - 1, max(len(ops) - 3, -1), -1):
        if ops[k][0] == node.op:
            start = ops[k][1]
            del ops[k:]
            break
    else:
        return
    stack = _ranges()
    raw = _Raw(node.op, start, stack[-1] if stack else None)
    raw.end = _now()
    raw.shapes = [list(i.shape) for i in node.inputs]
    if any(s.with_stack for s in _sessions):
        raw.stack = _user_stack()
    _finish(raw)


def _ranged(name: str | Callable[..., str], fn: Callable, after: Callable | None = None) -> Callable:
    """``fn`` timed as a range; ``name`` may be computed from the arguments, ``after(raw, result)``
    completes the range."""
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        raw = _open(name if isinstance(name, str) else name(*args, **kwargs))
        try:
            result = fn(*args, **kwargs)
            if after is not None:
                after(raw, result)
            return result
        finally:
            _close(raw)
    return timed


def _results_ready(raw: _Raw, out: Any) -> None:
    """Wait for a program's results, so the range covers its run; count their bytes."""
    import jax
    out = jax.block_until_ready(out)
    raw.memory = sum(getattr(a, "nbytes", 0) for a in jax.tree_util.tree_leaves(out))
    p = raw.parent
    while p is not None:  # (a range's memory includes what the ranges inside it allocate, as PyTorch's)
        p.memory += raw.memory
        p = p.parent


_JAX_STAGES = {"/jax/core/compile/jaxpr_trace_duration": "srcgrad::jax_trace",
               "/jax/core/compile/jaxpr_to_mlir_module_duration": "srcgrad::lower",
               "/jax/core/compile/backend_compile_duration": "srcgrad::xla_compile"}


def _jax_stage(event: str, duration_secs: float, **kwargs: Any) -> None:
    """A JAX compile stage, reported when it ends (in the thread that compiles)."""
    name = _JAX_STAGES.get(event)
    if name is None:
        return
    stack = _ranges()
    end = _now()
    raw = _Raw(name, end - int(duration_secs * 1e9), stack[-1] if stack else None)
    raw.end = end
    _finish(raw)


_block_local = threading.local()


def _set_block(original: Callable) -> Callable:
    """``ir.set_block`` timed: each adjoint block the transformer writes is a range named after
    the node's grad_fn (``MulBackward0``)."""
    from .graph import grad_fn_of

    @functools.wraps(original)
    def set_block(node: Any) -> None:
        open_block = getattr(_block_local, "raw", None)
        if open_block is not None:
            _block_local.raw = None
            if open_block in _ranges():
                _close(open_block)
        original(node)
        if node is not None:
            try:
                name = grad_fn_of(node).name()
            except Exception:  # (a node without a grad_fn of PyTorch's kind)
                name = node.op
            _block_local.raw = _open(name)
    return set_block


_saved: dict[tuple[Any, str], Any] = {}


def _install() -> None:
    import jax.monitoring

    from .. import autodiff, compiler, ir
    from ..compiled import CompiledFunction
    targets = [
        (CompiledFunction, "__call__", _ranged(lambda self, *a, **k: f"srcgrad.compile: {self.__name__}",
                                               CompiledFunction.__call__)),
        (compiler, "realize", _ranged("srcgrad::realize", compiler.realize)),
        (compiler, "compile_program", _ranged("srcgrad::codegen", compiler.compile_program)),
        (compiler, "call_program", _ranged("srcgrad::run", compiler.call_program, _results_ready)),
        (autodiff, "backward", _ranged("srcgrad::backward", autodiff.backward)),
        (autodiff, "transform", _ranged("srcgrad::transform", autodiff.transform)),
        (ir, "set_block", _set_block(ir.set_block)),
    ]
    for module, attr, wrapped in targets:
        _saved[(module, attr)] = getattr(module, attr)
        setattr(module, attr, wrapped)
    sys.modules["srcgrad.tensor"].set_record_hook("profiler", _op_started)
    ir.add_node_watcher(_node_made)
    jax.monitoring.register_event_duration_secs_listener(_jax_stage)


def _uninstall() -> None:
    import jax.monitoring

    from .. import ir
    for (module, attr), original in _saved.items():
        setattr(module, attr, original)
    _saved.clear()
    sys.modules["srcgrad.tensor"].set_record_hook("profiler", None)
    ir.remove_node_watcher(_node_made)
    jax.monitoring.unregister_event_duration_listener(_jax_stage)


def _start_session(record_shapes: bool = False, profile_memory: bool = False, with_stack: bool = False) -> _Session:
    with _lock:
        s = _Session(record_shapes, profile_memory, with_stack)
        if not _sessions:
            _install()
        _sessions.append(s)
        return s


def _stop_session(s: _Session) -> None:
    with _lock:
        if s in _sessions:
            _sessions.remove(s)
            if not _sessions:
                _uninstall()


# -- the user's API --------------------------------------------------------------------------

class record_function:  # noqa: N801
    """A range of the user's own in the profile (``with record_function("step"):``, or as a
    decorator). Costs nothing when no profile runs."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name = name
        self.args = args
        self._raw: _Raw | None = None

    def __enter__(self) -> record_function:
        if _sessions:
            self._raw = _open(self.name, user=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._raw is not None:
            _close(self._raw)
            self._raw = None

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapped


class profile:  # noqa: N801
    """``torch.autograd.profiler.profile``: times srcgrad's work inside the block.

    ``prof.key_averages().table(sort_by="self_cpu_time_total")`` prints the summary;
    ``prof.function_events`` holds every range; ``export_chrome_trace(path)`` writes them for
    ``chrome://tracing``. ``use_cuda``/``use_device``: srcgrad times no device kernels (its
    ``srcgrad::run`` rows wait for the device), so there are no device columns."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device: str | None = None,
                 record_shapes: bool = False, with_flops: bool = False, profile_memory: bool = False,
                 with_stack: bool = False, with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, **kwargs: Any) -> None:
        if use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use ``use_device = 'cuda'`` "
                          "instead.", FutureWarning, stacklevel=2)
            use_device = "cuda"
        if use_device is not None and use_device != "cpu":
            from ..device import cuda
            if not cuda.is_available():
                warnings.warn("CUDA is not available, disabling CUDA profiling", UserWarning, stacklevel=2)
        self.enabled = enabled
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self._session: _Session | None = None
        self._events: EventList | None = None
        self.entered = False

    def __enter__(self) -> profile:
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self.entered = True
        if self.enabled:
            self._session = _start_session(self.record_shapes, self.profile_memory, self.with_stack)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._session is not None:
            _stop_session(self._session)
            self._events = self._session.events()
            self._session = None

    @property
    def function_events(self) -> EventList:
        if self._events is None:
            if self._session is not None:  # (read inside the block: what is collected so far)
                return self._session.events()
            raise RuntimeError("Profiler didn't finish running")
        return self._events

    def events(self) -> EventList:
        return self.function_events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.function_events.key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        return self.function_events.total_average()

    def table(self, *args: Any, **kwargs: Any) -> str:
        return self.function_events.table(*args, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        self.function_events.export_chrome_trace(path)

    @property
    def self_cpu_time_total(self) -> float:
        return self.function_events.self_cpu_time_total

    def __str__(self) -> str:
        return str(self.function_events)

    __repr__ = __str__
