"""Case 9: per-sample gradients, ``vmap(grad(loss))`` (torch.func / srcgrad.func).

MLP 16 -> 64 -> 64 -> 1 (tanh), MSE per example, batch 128: the gradient of each
example's loss with respect to all six parameters, as the torch.func tutorial
computes it. srcgrad: ``func.vmap(func.grad(loss), in_dims=(None, 0, 0))``
define-by-run, and the same call under ``@srcgrad.compile``. JAX:
``jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))``. PyTorch: the same
``torch.func`` call, eager. Every system ends with the gradients as NumPy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .common import (
    JAX,
    SG,
    SGC,
    TORCH,
    CaseResult,
    Ctx,
    close,
    f32,
    guarded,
    measure_interleaved,
    once,
    rng,
    sg_clear,
    skip_missing,
    torch_one_thread,
)

NAME = "per_sample"
TITLE = "Per-sample gradients, vmap(grad(loss)) of an MLP (16-64-64-1, batch 128)"
SYSTEMS = [SG, SGC, JAX, TORCH]
SHAPES = [(16, 64), (64,), (64, 64), (64,), (64, 1), (1,)]
BATCH = 128


def _data() -> tuple:
    g = rng(9)
    ps = [f32(g.standard_normal(s) / np.sqrt(s[0] if len(s) > 1 else 4)) for s in SHAPES]
    return ps, f32(g.standard_normal((BATCH, 16))), f32(g.standard_normal((BATCH, 1)))


def _mlp(lib: Any, tanh: Callable, ps: list, x: Any) -> Any:
    h = x
    for i in range(3):
        h = h @ ps[2 * i] + ps[2 * i + 1]
        if i < 2:
            h = tanh(h)
    return h


def _sg(ctx: Ctx, data: tuple, decorated: bool) -> Callable[[], list]:
    import srcgrad as sg
    ps0, x0, y0 = data
    dev = ctx.sg_device
    ps = [sg.tensor(p, device=dev) for p in ps0]
    x, y = sg.tensor(x0, device=dev), sg.tensor(y0, device=dev)

    def loss(ps: list, xi: Any, yi: Any) -> Any:
        return ((_mlp(sg, sg.tanh, ps, xi) - yi) ** 2).sum()

    per_sample = sg.func.vmap(sg.func.grad(loss), in_dims=(None, 0, 0))

    def step() -> list:
        return per_sample(ps, x, y)

    f = sg.compile(step) if decorated else step
    return lambda: [g.numpy() for g in f()]


def _jax(ctx: Ctx, data: tuple) -> Callable[[], list]:
    import jax
    import jax.numpy as jnp
    ps0, x0, y0 = data

    def loss(ps: list, xi: Any, yi: Any) -> Any:
        return jnp.sum((_mlp(jnp, jnp.tanh, ps, xi) - yi) ** 2)

    per_sample = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
    ps, x, y = jax.device_put((ps0, x0, y0), ctx.jax_device)
    return lambda: [np.asarray(g) for g in per_sample(ps, x, y)]


def _torch(ctx: Ctx, data: tuple) -> Callable[[], list]:
    import torch
    from torch import func
    ps0, x0, y0 = data
    dev = ctx.torch_device
    ps = [torch.tensor(p, device=dev) for p in ps0]
    x, y = torch.tensor(x0, device=dev), torch.tensor(y0, device=dev)

    def loss(ps: list, xi: Any, yi: Any) -> Any:
        return ((_mlp(torch, torch.tanh, ps, xi) - yi) ** 2).sum()

    per_sample = func.vmap(func.grad(loss), in_dims=(None, 0, 0))
    return lambda: [g.cpu().numpy() for g in per_sample(ps, x, y)]


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    data = _data()
    cfg = f"MLP 16-64-64-1, batch {BATCH}"
    outs: dict = {}
    fns: dict = {}
    for s in systems:
        def build(s: str = s) -> None:
            if s in (SG, SGC):
                sg_clear()
                fn = _sg(ctx, data, decorated=s == SGC)
            else:
                fn = {JAX: _jax, TORCH: _torch}[s](ctx, data)
            first, outs[s] = once(fn)
            res.add(cfg, s, "first call", first, "s")
            fns[s] = fn
            ctx.log(f"  {s:<16} first call {first * 1e3:8.1f} ms")

        guarded(res, s, build)
    failed: dict = {}
    timings = measure_interleaved(fns, **ctx.reps(2e-4), failed=failed)
    for s, why in failed.items():
        res.note(f"{s} failed while timed: {why}")
    for s, t in timings.items():
        res.add_timing(cfg, s, "step", t)
        ctx.log(f"  {s:<16} step {t.median * 1e6:9.1f} µs (n={len(t.times)})")
    if TORCH in timings:
        guarded(res, TORCH, lambda: torch_one_thread(ctx, res, cfg, fns[TORCH], "step, 1 thread", 2e-4))
    if JAX in outs:
        res.checks["per-sample gradients agree with JAX"] = {
            s: all(close(a, b, rtol=1e-3, atol=1e-5) for a, b in zip(o, outs[JAX])) for s, o in outs.items()}
