"""Case 3: one training step of a small transformer block.

Pre-LN block: multi-head self-attention (4 heads), layer norm, GELU MLP
(4x width), MSE to a target, SGD update; batch 8, sequence 128, width 256.
srcgrad writes it with ``srcgrad.nn`` modules when they exist (else plain
tensors and ``srcgrad.nn.functional``); JAX with ``jax.numpy``/``jax.nn``;
PyTorch with ``torch.nn.functional``.
"""

from __future__ import annotations

from . import models as M
from .common import (
    JAX,
    SG,
    SGC,
    TORCH,
    TORCHC,
    CaseResult,
    Ctx,
    close,
    guarded,
    measure_interleaved,
    once,
    sg_clear,
    skip_missing,
)

NAME = "transformer"
TITLE = "Transformer block training step (batch 8, seq 128, width 256, 4 heads)"
SYSTEMS = [SG, SGC, JAX, TORCH, TORCHC]


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    if ctx.smoke:
        d = M.block_data(batch=2, seq=16, width=32, heads=4)
        cfg = "2x16x32 (smoke)"
    else:
        d = M.block_data()
        cfg = "8x128x256"
    losses: dict = {}
    notes: list[str] = []
    steps: dict = {}
    for s in systems:
        def build(s: str = s) -> None:
            if s in (SG, SGC):
                sg_clear()
            if s == JAX:
                step = M.jax_block(ctx, d)
            elif s in (SG, SGC):
                step = M.sg_block(ctx, d, decorated=s == SGC, notes=notes)
            else:
                step = M.torch_block(ctx, d, compiled=s == TORCHC)
            first, losses[s] = once(step)
            res.add(cfg, s, "first call", first, "s")
            steps[s] = step
            ctx.log(f"  {cfg:>14} {s:<16} first call {first * 1e3:9.1f} ms")

        guarded(res, s, build)
    failed: dict = {}
    timings = measure_interleaved(steps, **ctx.reps(0.05), failed=failed)
    for s, why in failed.items():
        res.note(f"{s} failed while timed: {why}")
    for s, t in timings.items():
        res.add_timing(cfg, s, "step", t)
        ctx.log(f"  {cfg:>14} {s:<16} step {t.median * 1e3:9.2f} ms (n={len(t.times)})")
    for n in notes:
        res.note(n)
    if JAX in losses:
        agree = {s: close(v, losses[JAX]) for s, v in losses.items()}
        res.checks["first-step loss agrees with JAX"] = agree
        if not all(agree.values()):
            res.note(f"first-step losses differ: {losses}")
    for s, goal in ((SGC, 1.1), (SG, None)):
        a, b = res.value(cfg, s, "step"), res.value(cfg, JAX, "step")
        if goal and a and b:
            res.target(f"decorated block step ({cfg})", f"<= {goal}x JAX", a / b, a / b <= goal)
    a, b = res.value(cfg, SGC, "first call"), res.value(cfg, JAX, "first call")
    if a and b:
        res.target(f"decorated block first call ({cfg})", "<= 1.5x JAX's first call", a / b, a / b <= 1.5)
