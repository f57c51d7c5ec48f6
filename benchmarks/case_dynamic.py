"""Case 4: the seed tutorial's dynamic loop, run from fresh random inputs.

    x = randn(3, requires_grad=True); y = x * 2
    while y.data.norm() < 1000: y = y * 2
    y.backward(v)

The number of doublings depends on ``x``, so the graph's depth changes from
run to run. Each system first runs a warm-up set of inputs, then is timed on
a fresh set (1,000 runs; fewer with ``--quick``); programs for depths not seen
in the warm-up are compiled inside the timed set, as they would be for a user.

JAX is written as a JAX user would: jitted ``y * 2`` and norm pieces driven by
a Python loop to find the depth ``k``, then one jitted ``jax.vjp`` of the
``k``-fold doubling (static ``k``, cached per depth). HIPS autograd runs the
same Python loop under ``make_vjp``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from .common import HIPS, JAX, SG, TORCH, CaseResult, Ctx, f32, guarded, rng, skip_missing

NAME = "dynamic"
TITLE = "Seed tutorial's dynamic while-loop with backward, fresh random inputs"
SYSTEMS = [SG, JAX, TORCH, HIPS]
V = f32([0.1, 1.0, 0.0001])


def _runs(ctx: Ctx) -> int:
    return 20 if ctx.smoke else 200 if ctx.quick else 1000


def _sg(ctx: Ctx) -> Callable[[np.ndarray], np.ndarray]:
    import srcgrad as torch
    v = torch.tensor(V, device=ctx.sg_device)

    def one(xv: np.ndarray) -> np.ndarray:
        x = torch.tensor(xv, requires_grad=True, device=ctx.sg_device)
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        y.backward(v)
        return x.grad.numpy()

    return one


def _torch(ctx: Ctx) -> Callable[[np.ndarray], np.ndarray]:
    import torch
    v = torch.tensor(V, device=ctx.torch_device)

    def one(xv: np.ndarray) -> np.ndarray:
        x = torch.tensor(xv, requires_grad=True, device=ctx.torch_device)
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        y.backward(v)
        return x.grad.cpu().numpy()

    return one


def _jax(ctx: Ctx) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    import jax
    import jax.numpy as jnp

    double = jax.jit(lambda y: y * 2)
    norm = jax.jit(jnp.linalg.norm)

    @partial(jax.jit, static_argnums=1)
    def grad_k(x: Any, k: int, v: Any) -> Any:
        def f(x: Any) -> Any:
            y = x * 2
            for _ in range(k):
                y = y * 2
            return y

        _, pull = jax.vjp(f, x)
        return pull(v)[0]

    v = jax.device_put(V, ctx.jax_device)

    def one(xv: np.ndarray) -> np.ndarray:
        x = jax.device_put(xv, ctx.jax_device)
        y = double(x)
        k = 0
        while float(norm(y)) < 1000:
            y = double(y)
            k += 1
        return np.asarray(grad_k(x, k, v))

    return one, grad_k


def _hips(ctx: Ctx) -> Callable[[np.ndarray], np.ndarray]:
    import autograd.numpy as anp
    from autograd import make_vjp

    def f(x: Any) -> Any:
        y = x * 2
        while anp.linalg.norm(y) < 1000:
            y = y * 2
        return y

    def one(xv: np.ndarray) -> np.ndarray:
        pull, _ = make_vjp(f)(xv)
        return pull(V)

    return one


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    n = _runs(ctx)
    g = rng(4)
    warm = [f32(g.standard_normal(3)) for _ in range(n)]
    fresh = [f32(g.standard_normal(3)) for _ in range(n)]
    depths = [int(np.ceil(np.log2(1000 / max(np.linalg.norm(2 * x), 1e-30)))) for x in fresh]
    res.checks["depth range of the timed inputs"] = [min(depths), max(depths)]
    cfg = f"{n} runs"
    fns: dict = {}
    jax_fn = None
    for s in systems:
        def build(s: str = s) -> None:
            nonlocal jax_fn
            if s == SG:
                one = _sg(ctx)
            elif s == JAX:
                one, jax_fn = _jax(ctx)
            elif s == TORCH:
                one = _torch(ctx)
            else:
                one = _hips(ctx)
            for xv in warm:
                one(xv)
            fns[s] = one

        guarded(res, s, build)
    import srcgrad
    misses0 = srcgrad.cache_info()["misses"]
    cache0 = jax_fn._cache_size() if jax_fn is not None else 0
    times: dict = {s: [] for s in fns}
    outs: dict = {s: [] for s in fns}
    failed: dict = {}
    for xv in fresh:  # the systems take turns on each input: load drift falls on all alike
        for s, one in fns.items():
            if s in failed:
                continue
            try:
                t0 = time.perf_counter()
                out = one(xv)
                times[s].append(time.perf_counter() - t0)
                outs[s].append(out)
            except Exception as e:  # noqa: BLE001
                failed[s] = f"{type(e).__name__}: {e}"
    for s, why in failed.items():
        res.skip(s, f"failed: {why}")
        outs.pop(s)
    for s, ts in times.items():
        if s in failed:
            continue
        extra: dict = {}
        if s == SG:
            extra["programs compiled during timed runs"] = srcgrad.cache_info()["misses"] - misses0
        if s == JAX and jax_fn is not None:
            extra["programs compiled during timed runs"] = jax_fn._cache_size() - cache0
        res.add(cfg, s, "total", sum(ts), "s", **extra)
        res.add(cfg, s, "per run (median)", statistics.median(ts), "s", mean_s=statistics.fmean(ts),
                p90_s=sorted(ts)[int(0.9 * len(ts))])
        ctx.log(f"  {s:<10} {n} runs: {sum(ts):.3f} s total, median {statistics.median(ts) * 1e6:.0f} µs/run "
                f"{extra or ''}")
    if JAX in outs:
        ref = outs[JAX]
        res.checks["gradients agree with JAX"] = {
            s: bool(all(np.allclose(a, b, rtol=1e-5) for a, b in zip(o, ref))) for s, o in outs.items()}
