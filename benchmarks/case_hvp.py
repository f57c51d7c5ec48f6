"""Case 6: higher order — a Hessian-vector product of a small MLP's loss.

MLP 16 -> 32 -> 32 -> 1 (tanh), batch 64, MSE; the product of the Hessian
w.r.t. all six parameters with a random direction ``v``. srcgrad and PyTorch:
``autograd.grad(loss, params, create_graph=True)``, the dot product with
``v``, and ``autograd.grad`` of that (the reverse-over-reverse identity);
srcgrad also with that whole function under ``@srcgrad.compile``. JAX:
``jax.jvp`` over ``jax.grad``, jitted (forward-over-reverse). HIPS autograd:
``hessian_vector_product`` on the flattened parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .common import (
    HIPS,
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

NAME = "hvp"
TITLE = "Hessian-vector product of a small MLP loss (16-32-32-1, batch 64)"
SYSTEMS = [SG, SGC, JAX, TORCH, HIPS]
SHAPES = [(16, 32), (32,), (32, 32), (32,), (32, 1), (1,)]


def _data() -> tuple:
    g = rng(6)
    ps = [f32(g.standard_normal(s) / np.sqrt(s[0] if len(s) > 1 else 4)) for s in SHAPES]
    vs = [f32(g.standard_normal(s)) for s in SHAPES]
    return ps, vs, f32(g.standard_normal((64, 16))), f32(g.standard_normal((64, 1)))


def _sg(ctx: Ctx, data: tuple, decorated: bool) -> Callable[[], list]:
    import srcgrad as sg
    ps0, vs0, x0, y0 = data
    dev = ctx.sg_device
    ps = [sg.tensor(p, requires_grad=True, device=dev) for p in ps0]
    vs = [sg.tensor(v, device=dev) for v in vs0]
    x, y = sg.tensor(x0, device=dev), sg.tensor(y0, device=dev)

    def hvp() -> tuple:
        h = x
        for i in range(3):
            h = h @ ps[2 * i] + ps[2 * i + 1]
            if i < 2:
                h = sg.tanh(h)
        loss = ((h - y) ** 2).mean()
        gs = sg.autograd.grad(loss, ps, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(gs, vs))
        return sg.autograd.grad(dot, ps)

    f = sg.compile(hvp) if decorated else hvp
    return lambda: [t.numpy() for t in f()]


def _jax(ctx: Ctx, data: tuple) -> Callable[[], list]:
    import jax
    import jax.numpy as jnp
    ps0, vs0, x0, y0 = data

    def loss(ps: list, x: Any, y: Any) -> Any:
        h = x
        for i in range(3):
            h = h @ ps[2 * i] + ps[2 * i + 1]
            if i < 2:
                h = jnp.tanh(h)
        return jnp.mean((h - y) ** 2)

    @jax.jit
    def hvp(ps: list, vs: list, x: Any, y: Any) -> Any:
        return jax.jvp(lambda p: jax.grad(loss)(p, x, y), (ps,), (vs,))[1]

    dev = ctx.jax_device
    ps, vs, x, y = jax.device_put((ps0, vs0, x0, y0), dev)
    return lambda: [np.asarray(a) for a in hvp(ps, vs, x, y)]


def _torch(ctx: Ctx, data: tuple) -> Callable[[], list]:
    import torch
    ps0, vs0, x0, y0 = data
    dev = ctx.torch_device
    ps = [torch.tensor(p, requires_grad=True, device=dev) for p in ps0]
    vs = [torch.tensor(v, device=dev) for v in vs0]
    x, y = torch.tensor(x0, device=dev), torch.tensor(y0, device=dev)

    def hvp() -> list:
        h = x
        for i in range(3):
            h = h @ ps[2 * i] + ps[2 * i + 1]
            if i < 2:
                h = torch.tanh(h)
        loss = ((h - y) ** 2).mean()
        gs = torch.autograd.grad(loss, ps, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(gs, vs))
        return [t.cpu().numpy() for t in torch.autograd.grad(dot, ps)]

    return hvp


def _hips(ctx: Ctx, data: tuple) -> Callable[[], list]:
    import autograd.numpy as anp
    from autograd import hessian_vector_product
    ps0, vs0, x, y = data
    sizes = [p.size for p in ps0]
    offs = np.cumsum([0] + sizes)
    theta = np.concatenate([p.ravel() for p in ps0])
    vec = np.concatenate([v.ravel() for v in vs0])

    def loss(th: Any) -> Any:
        ps = [th[offs[i]:offs[i + 1]].reshape(SHAPES[i]) for i in range(len(SHAPES))]
        h = x
        for i in range(3):
            h = anp.dot(h, ps[2 * i]) + ps[2 * i + 1]
            if i < 2:
                h = anp.tanh(h)
        return anp.mean((h - y) ** 2)

    hvp = hessian_vector_product(loss)

    def run() -> list:
        out = hvp(theta, vec)
        return [out[offs[i]:offs[i + 1]].reshape(SHAPES[i]) for i in range(len(SHAPES))]

    return run


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    data = _data()
    cfg = "MLP 16-32-32-1, batch 64"
    outs: dict = {}
    fns: dict = {}
    for s in systems:
        def build(s: str = s) -> None:
            if s in (SG, SGC):
                sg_clear()
                fn = _sg(ctx, data, decorated=s == SGC)
            else:
                fn = {JAX: _jax, TORCH: _torch, HIPS: _hips}[s](ctx, data)
            first, outs[s] = once(fn)
            res.add(cfg, s, "first call", first, "s")
            fns[s] = fn
            ctx.log(f"  {s:<16} first call {first * 1e3:8.1f} ms")

        guarded(res, s, build)
    failed: dict = {}
    timings = measure_interleaved(fns, **ctx.reps(1e-4), failed=failed)
    for s, why in failed.items():
        res.note(f"{s} failed while timed: {why}")
    for s, t in timings.items():
        res.add_timing(cfg, s, "hvp", t)
        ctx.log(f"  {s:<16} hvp {t.median * 1e6:9.1f} µs (n={len(t.times)})")
    if TORCH in timings:
        guarded(res, TORCH, lambda: torch_one_thread(ctx, res, cfg, fns[TORCH], "hvp, 1 thread", 1e-4))
    if JAX in outs:
        res.checks["hvp agrees with JAX"] = {
            s: all(close(a, b, rtol=1e-3, atol=1e-4) for a, b in zip(o, outs[JAX])) for s, o in outs.items()}
    for s in (SG, SGC):
        a, b = res.value(cfg, s, "hvp"), res.value(cfg, JAX, "hvp")
        if a and b:
            res.target(f"{s} Hessian-vector product", "<= 1.5x JAX", a / b, a / b <= 1.5)
