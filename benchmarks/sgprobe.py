"""Timing probes around srcgrad's realisation pipeline, for the benchmarks only.

While a ``Probe`` is active it wraps ``srcgrad.compiler.realize``, ``collect``,
``compile_program`` and ``srcgrad.codegen.generate`` (module attributes, put
back on exit; srcgrad's source is untouched) and records, for each
realisation: its total time up to ready values, the time spent walking the
graph and building the signature (``collect``), generating and ``exec``-ing
source (``compile_program``, ``generate``), the program used and its
argument values. This splits a step into record / codegen / compile / run.
"""

from __future__ import annotations

import time
from typing import Any


def _block(v: Any) -> None:
    b = getattr(v, "block_until_ready", None)
    if b is not None:
        b()


class Probe:
    def __init__(self, execute: bool = True) -> None:
        """``execute=False`` stops a realisation after code generation: nothing is
        compiled or run and no program enters the cache (for tracing-only passes);
        the wrapped ``realize`` then returns None, as it does when nothing is pending."""
        self.execute = execute
        self.records: list[dict] = []
        self._cur: dict | None = None

    # -- wrappers -----------------------------------------------------------

    def __enter__(self) -> Probe:
        from srcgrad import codegen, compiler
        self._compiler, self._codegen = compiler, codegen
        self._orig = (compiler.realize, compiler.collect, compiler.compile_program, codegen.generate)
        o_realize, o_collect, o_compile, o_generate = self._orig
        probe = self

        def collect(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            out = o_collect(*a, **k)
            if probe._cur is not None:
                probe._cur["collect_s"] += time.perf_counter() - t0
                probe._cur["key"] = out[3]
                probe._cur["n_ops"] = len(out[0])
                probe._cur["args"] = [n.value for n in out[1]]
            return out

        def compile_program(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            out = o_compile(*a, **k)
            if probe._cur is not None:
                probe._cur["compile_program_s"] += time.perf_counter() - t0
                probe._cur["program"] = out
            return out

        def generate(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            out = o_generate(*a, **k)
            if probe._cur is not None:
                probe._cur["generate_s"] += time.perf_counter() - t0
            return out

        def realize(targets: list) -> Any:
            rec = {"collect_s": 0.0, "compile_program_s": 0.0, "generate_s": 0.0, "program": None,
                   "key": None, "n_ops": 0, "args": None}
            outer = probe._cur
            probe._cur = rec
            t0 = time.perf_counter()
            out = None
            try:
                if probe.execute:
                    out = o_realize(targets)
                    for n in targets:
                        _block(n.value)
                else:
                    order, inputs, outputs, key = compiler.collect(targets)
                    if order:
                        compiler.compile_program(key, order, inputs, outputs)
            finally:
                rec["realize_s"] = time.perf_counter() - t0
                probe._cur = outer
            if rec["program"] is None and rec["key"] is not None:
                rec["program"] = compiler.CACHE.programs.get(rec["key"])
            rec["compiled"] = rec["compile_program_s"] > 0
            if rec["n_ops"]:
                probe.records.append(rec)
            return out

        compiler.realize, compiler.collect, compiler.compile_program, codegen.generate = (
            realize, collect, compile_program, generate)
        return self

    def __exit__(self, *exc: object) -> None:
        c, g = self._compiler, self._codegen
        c.realize, c.collect, c.compile_program, g.generate = self._orig

    # -- summaries ----------------------------------------------------------

    def total(self, field: str) -> float:
        return sum(r.get(field, 0.0) for r in self.records)

    def reset(self) -> None:
        self.records.clear()
