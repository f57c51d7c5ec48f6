"""``Timer`` (PyTorch's ``torch.utils.benchmark.utils.timer``): ``timeit`` made aware of srcgrad's
lazy, asynchronous execution.

A statement's srcgrad ops are only recorded when it runs; they are compiled and run when a
value is read, and JAX then runs the program asynchronously. So that a Timer measures the
work and not just its recording, each timed run of ``stmt`` is followed (inside the timed
region) by the computation of what it left pending:

* the value of ``stmt``'s last line when that line is an expression (``f(x)``), tensors
  inside tuples, lists and dicts included;
* every tensor the run recorded that Python still holds (``y = f(x)``, ``x.add_(1)``,
  ``opt.step()``, running statistics...), found by watching ``srcgrad.ir.new_node``
  while a measurement runs.

These are computed as one program, as reading their values would, and the Timer waits for
the arrays computed during a block of runs before it reads the clock (PyTorch's Timer
synchronises CUDA there); at most 256 arrays are left in flight between waits. Watching
node creation costs well under a microsecond per recorded op. A statement that records no
srcgrad op and returns no tensor or ``jax.Array`` (found on a first, untimed run) is timed
with ``timeit``'s plain loop.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import gc
import itertools
import textwrap
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from . import common

__all__ = ["Timer", "timer", "Language", "CallgrindNotSupportedError"]

# The default clock. (PyTorch's ``timer`` synchronises accelerators; here the Timer waits
# for srcgrad's work itself, whichever clock it is given.)
timer: Callable[[], float] = time.perf_counter


class Language(enum.Enum):
    PYTHON = 0
    CPP = 1


class CallgrindNotSupportedError(OSError, NotImplementedError):
    """``Timer.collect_callgrind``: srcgrad cannot count instructions with Callgrind. It is an
    ``OSError`` as PyTorch's error when Valgrind cannot be used, and a ``NotImplementedError``."""


_PLAIN = """
def inner(_it, _timer, _sg):
    _sg_setup
    _t0 = _timer()
    for _i in _it:
        _sg_stmt
    _t1 = _timer()
    return _t1 - _t0
"""

_SYNCED = """
def inner(_it, _timer, _sg):
    _sg_setup
    _sg.settle()
    _t0 = _timer()
    for _i in _it:
        _sg_stmt
    _sg.wait()
    _t1 = _timer()
    return _t1 - _t0
"""


def _step_call(value: ast.expr | None) -> ast.Expr:
    func = ast.Attribute(value=ast.Name(id="_sg", ctx=ast.Load()), attr="step", ctx=ast.Load())
    return ast.Expr(value=ast.Call(func=func, args=[] if value is None else [value], keywords=[]))


def _compile_inner(stmt: str, setup: str, synced: bool, globals_: dict[str, Any]) -> Callable[..., float]:
    """The timing function for ``stmt`` after ``setup``: ``inner(iterator, clock, completion)``."""
    setup_body: list[ast.stmt] = ast.parse(setup).body or [ast.Pass()]
    stmt_body: list[ast.stmt] = ast.parse(stmt).body
    if synced:
        if stmt_body and isinstance(stmt_body[-1], ast.Expr):
            stmt_body[-1] = ast.copy_location(_step_call(stmt_body[-1].value), stmt_body[-1])
        else:
            stmt_body.append(_step_call(None))
    stmt_body = stmt_body or [ast.Pass()]

    class _Splice(ast.NodeTransformer):
        def visit_Expr(self, node: ast.Expr) -> Any:  # noqa: N802 - ast's visitor naming
            if isinstance(node.value, ast.Name) and node.value.id == "_sg_setup":
                return setup_body
            if isinstance(node.value, ast.Name) and node.value.id == "_sg_stmt":
                return stmt_body
            return node

    tree = ast.fix_missing_locations(_Splice().visit(ast.parse(_SYNCED if synced else _PLAIN)))
    local_ns: dict[str, Any] = {}
    exec(compile(tree, "<timeit-src>", "exec"), globals_, local_ns)
    return local_ns["inner"]


# One node watcher (see ``ir.add_node_watcher``) is registered while any recording runs, in any
# thread, and removed when the last one ends; each thread's innermost recording collects the nodes
# that thread makes.
_watch_lock = threading.Lock()
_watch: dict[str, Any] = {"users": 0, "watcher": None}
_watch_local = threading.local()


def _start_watch(ir: Any, tracing: Any, created: list) -> None:
    lists = getattr(_watch_local, "lists", None)
    if lists is None:
        lists = _watch_local.lists = []
    lists.append(created)
    with _watch_lock:
        _watch["users"] += 1
        if _watch["users"] == 1:
            ref = weakref.ref

            def watcher(node: Any) -> None:
                mine = getattr(_watch_local, "lists", None)
                if mine and tracing.ACTIVE is None:  # (a trace's nodes, e.g. vmap's per-example graph, are its own)
                    mine[-1].append(ref(node))

            _watch["watcher"] = watcher
            ir.add_node_watcher(watcher)


def _stop_watch(ir: Any, created: list) -> None:
    lists = _watch_local.lists
    del lists[next(k for k in range(len(lists) - 1, -1, -1) if lists[k] is created)]
    with _watch_lock:
        _watch["users"] -= 1
        if _watch["users"] == 0:
            ir.remove_node_watcher(_watch["watcher"])
            _watch["watcher"] = None


class _Completion:
    """Computes, after each run of a statement, the srcgrad work the run left pending, and
    waits for the computed arrays at the end of a block of runs."""

    _MAX_IN_FLIGHT = 256

    def __init__(self) -> None:
        import jax

        from srcgrad import compiler, ir, tracing
        from srcgrad.tensor import Tensor
        self._jax, self._ir, self._compiler, self._tracing, self._tensor_type = jax, ir, compiler, tracing, Tensor
        self._created: list[weakref.ref] = []
        self._in_flight: list[Any] = []
        self._warned = False
        self.touched = False  # whether a run recorded srcgrad ops or returned arrays

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Note every node srcgrad records inside the block (in this thread)."""
        _start_watch(self._ir, self._tracing, self._created)
        try:
            yield
        finally:
            _stop_watch(self._ir, self._created)
            self._created.clear()
            self._in_flight.clear()

    def _gather(self, value: Any, tensors: list, arrays: list, depth: int = 0) -> None:
        if isinstance(value, self._tensor_type):
            tensors.append(value)
        elif isinstance(value, self._jax.Array):
            arrays.append(value)
        elif depth < 4 and isinstance(value, (tuple, list)):
            for v in value:
                self._gather(v, tensors, arrays, depth + 1)
        elif depth < 4 and isinstance(value, dict):
            for v in value.values():
                self._gather(v, tensors, arrays, depth + 1)

    def step(self, value: Any = None) -> None:
        """After one run: compute ``value`` and the live tensors the run recorded."""
        tensors: list[Any] = []
        arrays: list[Any] = []
        if value is not None:
            self._gather(value, tensors, arrays)
        asked = []  # the statement's value
        for t in tensors:
            n = t._node
            if n.value is None:
                asked.append(n)
            else:
                arrays.append(n.value)
        held = []  # what the run recorded that Python still holds
        if self._created:
            self.touched = True
            live_tensor = self._ir.live_tensor
            for r in self._created:
                n = r()
                if n is not None and n.value is None and live_tensor(n) is not None:
                    held.append(n)
            self._created.clear()
        if tensors or arrays:
            self.touched = True
        if asked or held:
            try:
                done = self._compiler.realize(asked + held)
            except Exception as e:
                if not held:
                    raise
                self._warn(e)
                done = self._compiler.realize(asked) if asked else None
            if done is not None:
                arrays.extend(n.value for n in done[2])
        if arrays:
            self._in_flight.extend(arrays)
            if len(self._in_flight) > self._MAX_IN_FLIGHT:
                self.wait()

    def _warn(self, error: Exception) -> None:
        if not self._warned:
            self._warned = True
            warnings.warn(f"Timer could not compute the tensors that the statement left pending ({error!r}); "
                          "only the statement's value is computed in each run.", RuntimeWarning, stacklevel=3)

    def settle(self) -> None:
        """After ``setup``: compute what it left pending, before the clock starts."""
        self.step()
        self.wait()

    def wait(self) -> None:
        """Block until the arrays computed so far are ready."""
        if self._in_flight:
            arrays = [a for a in self._in_flight if isinstance(a, self._jax.Array)]
            self._in_flight.clear()
            self._jax.block_until_ready(arrays)


def _compiled_count() -> int:
    """How many programs and executables srcgrad has compiled so far (for warmups)."""
    from srcgrad import compiler
    cache = compiler.CACHE
    return cache.misses + sum(len(getattr(p, "runners", ())) for p in list(cache.programs.values()))


class Timer:
    """Measures the time of a Python statement, like ``timeit.Timer``, with PyTorch's additions:
    warmups, replicates (``blocked_autorange``, ``adaptive_autorange``), metadata for
    ``Compare`` (``label``, ``sub_label``, ``description``, ``env``) and ``num_threads``.

    ``stmt`` and ``setup`` are strings of code (dedented; ``setup`` runs once per timed
    block); ``globals`` is the namespace they run in (copied; ``torch`` is bound to srcgrad
    unless given). ``global_setup`` and ``language="cpp"`` belong to C++ timing, which
    srcgrad does not have.

    Timing is honest about srcgrad's laziness: each timed run of ``stmt`` computes what it
    left pending (the value of a trailing expression such as ``model(x)``, and every tensor
    it recorded that Python still holds, e.g. ``y = f(x)`` or an optimiser's in-place
    updates), and the clock stops only once those arrays are computed, as PyTorch's Timer
    synchronises CUDA. Writing ``f(x)`` therefore times ``f``'s compiled program, not only
    the recording of its ops; ``.item()`` or ``.numpy()`` in ``stmt`` is never needed for
    that (and adds a host copy). Tensors that ``setup`` leaves pending are computed before
    the clock starts. A statement with no srcgrad work is timed as ``timeit`` times it.
    """

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = timer,
        globals: dict[str, Any] | None = None,
        label: str | None = None,
        sub_label: str | None = None,
        description: str | None = None,
        env: str | None = None,
        num_threads: int = 1,
        language: Language | str = Language.PYTHON,
    ) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        if not isinstance(setup, str):
            raise ValueError("Currently only a `str` setup is supported.")
        self._globals = dict(globals or {})
        if language in (Language.PYTHON, "py", "python"):
            import srcgrad
            self._globals.setdefault("torch", srcgrad)
            self._language = Language.PYTHON
            if global_setup:
                raise ValueError(
                    f"global_setup is C++ only, got `{global_setup}`. Most "
                    "likely this code can simply be moved to `setup`."
                )
        elif language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError("srcgrad's Timer times Python statements only: C++ timing "
                                      "(language='cpp') is not supported.")
        else:
            raise ValueError(f"Invalid language `{language}`.")

        stmt, setup = self._tidy(stmt), self._tidy(setup)
        ast.parse(stmt)  # (a SyntaxError now rather than at the first measurement)
        ast.parse(setup)
        self._stmt, self._setup, self._timer_fn = stmt, setup, timer
        self._synced: bool | None = None  # decided by the first run
        self._inner: Callable[..., float] | None = None
        self._completion: _Completion | None = None
        self._task_spec = common.TaskSpec(
            stmt=stmt, setup=setup, global_setup=global_setup, label=label, sub_label=sub_label,
            description=description, env=env, num_threads=num_threads)

    @staticmethod
    def _tidy(code: str) -> str:
        # Dedent, and drop the first newline of a block string and trailing whitespace.
        code = textwrap.dedent(code)
        return (code[1:] if code.startswith("\n") else code).rstrip()

    # -- running -------------------------------------------------------------

    def _run(self, number: int, synced: bool) -> float:
        assert self._inner is not None
        it = itertools.repeat(None, number)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # as timeit does
        try:
            if not synced:
                return self._inner(it, self._timer_fn, None)
            assert self._completion is not None
            with self._completion.recording():
                return self._inner(it, self._timer_fn, self._completion)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _decide(self) -> None:
        # One untimed run with completion on, to see whether the statement does srcgrad work;
        # if it does, untimed runs until one compiles nothing new (at most 10).
        self._completion = _Completion()
        self._inner = _compile_inner(self._stmt, self._setup, True, self._globals)
        self._run(1, synced=True)
        self._synced = self._completion.touched
        if not self._synced:
            self._inner = _compile_inner(self._stmt, self._setup, False, self._globals)
            return
        before = _compiled_count()
        for _ in range(10):
            self._run(1, synced=True)
            after = _compiled_count()
            if after == before:
                break
            before = after

    def _timeit(self, number: int) -> float:
        if self._synced is None:
            self._decide()
        # No real statement takes under 1 ns; this also avoids dividing by zero.
        return max(self._run(number, bool(self._synced)), 1e-9)

    def timeit(self, number: int = 1000000) -> common.Measurement:
        """Run ``stmt`` ``number`` times (after a warmup of ``number // 100``, at least 2) and
        return the total as one measurement, like ``timeit.Timer.timeit``."""
        with common.set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return common.Measurement(number_per_run=number, raw_times=[self._timeit(number=number)],
                                      task_spec=self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        """Not provided, as in PyTorch: use ``blocked_autorange``."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], Any] | None = None) -> None:
        """Not provided, as in PyTorch: use ``blocked_autorange``."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _measurement_loop(self, number: int, stop: Callable[[list[float]], bool], min_run_time: float,
                          max_run_time: float | None = None,
                          callback: Callable[[int, float], Any] | None = None) -> list[float]:
        total, can_stop = 0.0, False
        times: list[float] = []
        with common.set_torch_threads(self._task_spec.num_threads):
            while total < min_run_time or not can_stop:
                spent = self._timeit(number)
                times.append(spent)
                total += spent
                if callback:
                    callback(number, spent)
                can_stop = stop(times)
                if max_run_time and total > max_run_time:
                    break
        return times

    def _estimate_block_size(self, min_run_time: float) -> int:
        # Grow the block tenfold until the timer's overhead is negligible (this also warms up).
        with common.set_torch_threads(self._task_spec.num_threads):
            overhead = sorted(self._timeit(0) for _ in range(5))[2]
            number = 1
            while True:
                taken = self._timeit(number)
                if overhead / taken <= 1e-4 and taken >= min_run_time / 1000:
                    break
                if taken > min_run_time or number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def blocked_autorange(self, callback: Callable[[int, float], Any] | None = None,
                          min_run_time: float = 0.2) -> common.Measurement:
        """Time blocks of ``stmt`` runs until ``min_run_time`` seconds have been measured; the
        block size is grown first until the clock's overhead is under 0.01% of a block.

        ``callback(number, time)`` is called after each block."""
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(number, lambda times: True, min_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01, max_run_time: float = 10.0,
                           callback: Callable[[int, float], Any] | None = None) -> common.Measurement:
        """Like ``blocked_autorange``, but keeps timing blocks until there are more than 3,
        ``min_run_time`` has passed and IQR / median is under ``threshold``, or until
        ``max_run_time`` seconds have been measured."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop(times: list[float]) -> bool:
            if len(times) <= 3:
                return False
            m = common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)
            return m.meets_confidence(threshold=threshold)

        times = self._measurement_loop(number, stop, min_run_time, max_run_time, callback=callback)
        return common.Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def collect_callgrind(self, number: int = 100, *, repeats: int | None = None, collect_baseline: bool = True,
                          retain_out_file: bool = False) -> Any:
        """Not supported: srcgrad has no Callgrind bindings. Raises ``CallgrindNotSupportedError``
        (an ``OSError`` and a ``NotImplementedError``)."""
        if repeats is not None and repeats < 1:
            raise ValueError("If specified, `repeats` must be >= 1")
        raise CallgrindNotSupportedError(
            "Valgrind is not supported on this platform: srcgrad's Timer cannot collect Callgrind "
            "instruction counts. Use `blocked_autorange` or `adaptive_autorange` for wall times.")
