"""Case 5: how each stage's cost grows with the size of the graph.

Two workloads, each differentiated with respect to its leaf and summed:

* ``chain``: N elementwise ops on an (8, 32) tensor (sin, * t, tanh, + t, ...);
* ``rnn``: an unrolled recurrent cell ``h = tanh(h @ W + x_t)`` over N steps
  (W 32x32, batch 8, one (8, 32) input per step), gradient w.r.t. W.

srcgrad, per N: ``record`` (recording the forward and the backward IR),
``codegen`` (graph walk and signature, source generation, ``exec``),
``lower`` (JAX tracing the generated function to HLO), ``XLA compile``, the
steady-state ``step`` (record + cached realisation, up to the gradient's
value) and the peak Python heap (tracemalloc) while recording and generating
code. JAX: ``jax.jit(jax.value_and_grad(f))`` of the same Python loop:
``trace+lower``, ``XLA compile``, ``step`` and the peak Python heap while
tracing. PyTorch eager: the step. The growth of each stage is the exponent of
a log-log fit over N. XLA compile (and so the step) is skipped where the fit
of the smaller sizes predicts it would exceed the run's compile budget.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
import types
from collections.abc import Callable
from typing import Any

from .common import (
    JAX,
    SG,
    TORCH,
    CaseResult,
    Ctx,
    f32,
    fit_slope,
    growth_word,
    guarded,
    measure,
    once,
    rng,
    skip_missing,
    torch_threads,
)
from .sgprobe import Probe

NAME = "scaling"
TITLE = "Scaling with graph size N: chain of N elementwise ops; recurrent cell unrolled N steps"
SYSTEMS = [SG, JAX, TORCH]
WORKLOADS = ("chain", "rnn")
FULL_NS = [10, 100, 1000, 10000]
QUICK_NS = [10, 100]


def _ns(ctx: Ctx) -> list[int]:
    return QUICK_NS if ctx.quick else FULL_NS


def _compile_cap(ctx: Ctx) -> float:
    return 10.0 if ctx.smoke else 30.0 if ctx.quick else 90.0


class Inputs:
    def __init__(self, n: int) -> None:
        g = rng(5)
        self.n = n
        self.x = f32(g.standard_normal((8, 32)))
        self.t = f32(g.standard_normal((8, 32)))
        self.w = f32(g.standard_normal((32, 32)) / 6)
        self.xs = [f32(a) for a in g.standard_normal((n, 8, 32)) * 0.3]


# ---------------------------------------------------------------------------
# the same Python loops, once per system


def _sg_build(sg: Any, kind: str, inp: Inputs, dev: str) -> Callable[[], tuple]:
    if kind == "chain":
        t = sg.tensor(inp.t, device=dev)

        def build() -> tuple:
            x = sg.tensor(inp.x, requires_grad=True, device=dev)
            y = x
            for i in range(inp.n):
                k = i % 4
                y = sg.sin(y) if k == 0 else y * t if k == 1 else sg.tanh(y) if k == 2 else y + t
            return x, y.sum()
    else:
        xs = [sg.tensor(a, device=dev) for a in inp.xs]

        def build() -> tuple:
            w = sg.tensor(inp.w, requires_grad=True, device=dev)
            h = sg.zeros(8, 32, device=dev)
            for xt in xs:
                h = sg.tanh(h @ w + xt)
            return w, h.sum()
    return build


def _jax_fn(kind: str, inp: Inputs) -> tuple[Callable, tuple]:
    import jax.numpy as jnp
    n = inp.n
    if kind == "chain":
        def f(x: Any, t: Any) -> Any:
            y = x
            for i in range(n):
                k = i % 4
                y = jnp.sin(y) if k == 0 else y * t if k == 1 else jnp.tanh(y) if k == 2 else y + t
            return jnp.sum(y)
        return f, (inp.x, inp.t)

    def f(w: Any, xs: list) -> Any:
        h = jnp.zeros((8, 32), jnp.float32)
        for xt in xs:
            h = jnp.tanh(h @ w + xt)
        return jnp.sum(h)
    return f, (inp.w, list(inp.xs))


def _torch_step(torch: Any, kind: str, inp: Inputs, dev: str) -> Callable[[], None]:
    if kind == "chain":
        t = torch.tensor(inp.t, device=dev)

        def step() -> None:
            x = torch.tensor(inp.x, requires_grad=True, device=dev)
            y = x
            for i in range(inp.n):
                k = i % 4
                y = torch.sin(y) if k == 0 else y * t if k == 1 else torch.tanh(y) if k == 2 else y + t
            y.sum().backward()
            x.grad.cpu().numpy()
        return step
    xs = [torch.tensor(a, device=dev) for a in inp.xs]

    def step() -> None:
        w = torch.tensor(inp.w, requires_grad=True, device=dev)
        h = torch.zeros(8, 32, device=dev)
        for xt in xs:
            h = torch.tanh(h @ w + xt)
        h.sum().backward()
        w.grad.cpu().numpy()
    return step


# ---------------------------------------------------------------------------


def _predict(ns_done: list, vals: list, n: int) -> float | None:
    pts = [(a, v) for a, v in zip(ns_done, vals) if v]
    if not pts:
        return None
    slope = fit_slope([a for a, _ in pts[-2:]], [v for _, v in pts[-2:]]) if len(pts) >= 2 else 1.0
    slope = max(slope or 1.0, 1.0) + 0.2  # XLA compile time bends upwards at large N: err on the safe side
    a, v = pts[-1]
    return v * (n / a) ** slope


def _fresh(fn: Callable) -> Callable:
    """A copy of a function with a new identity, so JAX traces it from scratch."""
    return types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)


def _srcgrad(ctx: Ctx, res: CaseResult, kind: str, ns: list) -> None:
    import jax

    import srcgrad as sg
    compiles: list = []
    done: list = []
    for n in ns:
        cfg = f"{kind} N={n}"
        inp = Inputs(n)
        build = _sg_build(sg, kind, inp, ctx.sg_device)
        # peak Python heap while recording + generating code (a separate pass: tracemalloc is slow)
        gc.collect()
        tracemalloc.start()
        with Probe(execute=False):
            leaf, loss = build()
            loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del leaf, loss
        gc.collect()
        # record and codegen, timed
        probe = Probe(execute=False)
        with probe:
            t0 = time.perf_counter()
            leaf, loss = build()
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
        rec = probe.records[-1]
        record_s = (t1 - t0) + (t2 - t1 - probe.total("realize_s"))
        codegen_s = probe.total("realize_s")
        prog, args = rec["program"], rec["args"]
        res.add(cfg, SG, "record", record_s, "s", fwd_s=t1 - t0, ops=rec["n_ops"])
        res.add(cfg, SG, "codegen", codegen_s, "s", generate_s=probe.total("generate_s"),
                collect_s=probe.total("collect_s"))
        res.add(cfg, SG, "record+codegen", record_s + codegen_s, "s")
        res.add(cfg, SG, "peak Python heap", peak, "bytes")
        del leaf, loss
        msg = (f"  srcgrad {cfg:<12} record {record_s * 1e3:8.1f} ms  codegen {codegen_s * 1e3:8.1f} ms  "
               f"({rec['n_ops']} ops)  heap {peak / 2**20:6.1f} MiB")
        # lower + compile the generated program (fresh copy: nothing cached)
        pred = _predict(done, compiles, n)
        if pred is not None and pred > _compile_cap(ctx):
            res.note(f"srcgrad {cfg}: XLA compile and step skipped (predicted {pred:.0f} s from the smaller sizes "
                     f"> {_compile_cap(ctx):.0f} s budget)")
            res.add(cfg, SG, "XLA compile (predicted, not run)", pred, "s")
            ctx.log(msg + f"  compile skipped (predicted {pred:.0f} s)")
            continue
        # Where the compile is cheap, lower and compile a fresh copy of the generated function
        # directly; where it is not, lower only and take the compile from srcgrad's own first
        # step (first step minus record, codegen, lower and one steady step), so the expensive
        # XLA compile runs once.
        direct = pred is None or pred < 5.0
        t0 = time.perf_counter()
        lowered = jax.jit(_fresh(prog.fn)).lower(*args)
        t1 = time.perf_counter()
        if direct:
            lowered.compile()
        t2 = time.perf_counter()
        del lowered, prog, args, rec, probe
        lower_s = t1 - t0

        def step() -> None:
            leaf, loss = build()
            loss.backward()
            leaf.grad._value().block_until_ready()

        first_s, _ = once(step)  # compiles through srcgrad's own cache
        tm = measure(step, **ctx.reps(1e-3 * n / 100))
        compile_s = t2 - t1 if direct else max(0.0, first_s - record_s - codegen_s - lower_s - tm.median)
        res.add(cfg, SG, "lower", lower_s, "s")
        res.add(cfg, SG, "XLA compile", compile_s, "s",
                method="direct (AOT compile of the generated function)" if direct else
                "srcgrad's first step minus record, codegen, lower and one steady step")
        res.add(cfg, SG, "to first result (all stages)", record_s + codegen_s + lower_s + compile_s, "s")
        res.add(cfg, SG, "first step", first_s, "s")
        done.append(n)
        compiles.append(compile_s)
        res.add_timing(cfg, SG, "step", tm)
        ctx.log(msg + f"  lower {lower_s * 1e3:8.1f} ms  compile {compile_s * 1e3:8.1f} ms  "
                f"step {tm.median * 1e3:8.2f} ms")
        sg.clear_cache()
        gc.collect()


def _jax(ctx: Ctx, res: CaseResult, kind: str, ns: list) -> None:
    import jax
    compiles: list = []
    done: list = []
    for n in ns:
        cfg = f"{kind} N={n}"
        inp = Inputs(n)
        f, host_args = _jax_fn(kind, inp)
        args = jax.device_put(host_args, ctx.jax_device)
        gc.collect()
        tracemalloc.start()
        jax.jit(jax.value_and_grad(_fresh(f))).lower(*args)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        gc.collect()
        vg = jax.jit(jax.value_and_grad(_fresh(f)))
        t0 = time.perf_counter()
        lowered = vg.lower(*args)
        t1 = time.perf_counter()
        res.add(cfg, JAX, "trace+lower", t1 - t0, "s")
        res.add(cfg, JAX, "peak Python heap", peak, "bytes")
        msg = f"  jax     {cfg:<12} trace+lower {(t1 - t0) * 1e3:8.1f} ms  heap {peak / 2**20:6.1f} MiB"
        pred = _predict(done, compiles, n)
        if pred is not None and pred > _compile_cap(ctx):
            res.note(f"jax {cfg}: XLA compile and step skipped (predicted {pred:.0f} s from the smaller sizes "
                     f"> {_compile_cap(ctx):.0f} s budget)")
            res.add(cfg, JAX, "XLA compile (predicted, not run)", pred, "s")
            ctx.log(msg + f"  compile skipped (predicted {pred:.0f} s)")
            continue
        compiled = lowered.compile()
        t2 = time.perf_counter()
        res.add(cfg, JAX, "XLA compile", t2 - t1, "s")
        res.add(cfg, JAX, "to first result (all stages)", t2 - t0, "s")
        done.append(n)
        compiles.append(t2 - t1)

        def step(compiled: Any = compiled) -> None:
            jax.block_until_ready(compiled(*args))

        tm = measure(step, **ctx.reps(1e-4 * n / 100))
        res.add_timing(cfg, JAX, "step", tm)
        ctx.log(msg + f"  compile {(t2 - t1) * 1e3:8.1f} ms  step {tm.median * 1e3:8.2f} ms")
        del compiled, lowered
        gc.collect()


def _torch(ctx: Ctx, res: CaseResult, kind: str, ns: list) -> None:
    import torch
    res.note("PyTorch runs this case with one intra-op thread: on (8, 32) tensors its default two-thread pool only "
             "adds wake-ups (5-10x slower per step on this 2-core machine)")
    for n in ns:
        cfg = f"{kind} N={n}"
        step = _torch_step(torch, kind, Inputs(n), ctx.torch_device)
        with torch_threads(torch, 1):
            tm = measure(step, **ctx.reps(2e-3 * n / 100))
        res.add_timing(cfg, TORCH, "step", tm)
        ctx.log(f"  torch   {cfg:<12} step {tm.median * 1e3:8.2f} ms")


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    ns = _ns(ctx)
    for kind in WORKLOADS:
        if SG in systems:
            guarded(res, SG, lambda kind=kind: _srcgrad(ctx, res, kind, ns))
        if JAX in systems:
            guarded(res, JAX, lambda kind=kind: _jax(ctx, res, kind, ns))
        if TORCH in systems:
            guarded(res, TORCH, lambda kind=kind: _torch(ctx, res, kind, ns))
    # growth per stage: the log-log slope over N
    growth: dict = {}
    for kind in WORKLOADS:
        for s in (SG, JAX, TORCH):
            metrics = sorted({r.metric for r in res.rows if r.system == s and r.config.startswith(kind + " ")
                              and "predicted" not in r.metric})
            for m in metrics:
                pts = [(n, res.value(f"{kind} N={n}", s, m)) for n in ns]
                pts = [(n, v) for n, v in pts if v is not None]
                slope = fit_slope([n for n, _ in pts], [v for _, v in pts])
                last = fit_slope([n for n, _ in pts[-2:]], [v for _, v in pts[-2:]]) if len(pts) >= 2 else None
                growth.setdefault(kind, {}).setdefault(s, {})[m] = {
                    "slope": slope, "slope_last_two": last, "growth": growth_word(last if last is not None else slope),
                    "ns": [n for n, _ in pts]}
    res.checks["growth"] = growth
    for kind in WORKLOADS:
        for m in ("record", "codegen"):
            gr = growth.get(kind, {}).get(SG, {}).get(m)
            if gr and gr["slope_last_two"] is not None:
                res.target(f"{kind}: srcgrad {m} grows linearly (log-log slope, last two N)", "slope <= 1.2",
                           gr["slope_last_two"], gr["slope_last_two"] <= 1.2)
    v = res.value("chain N=10000", SG, "record+codegen")
    if v is not None:
        res.target("10,000-op chain: record + codegen", "< 2 s", v, v < 2.0)
    v = res.value("rnn N=10000", SG, "record+codegen")
    if v is not None:
        res.target("10,000-step recurrent cell: record + codegen (about 30,000 forward ops)", "< 2 s "
                   "(stated for a 10,000-op graph)", v, v < 2.0)
    res.note("growth: 'linear' means a log-log slope <= 1.2 between the two largest N measured; at small N fixed "
             "overheads dominate and slopes are below 1")
