"""Case 2: MLP training step (tanh layers, MSE, hand-written SGD under no_grad).

Define-by-run srcgrad records the step every time and realises it from the
cache; ``@srcgrad.compile`` traces it once and replays one program. Both are
timed against ``jax.jit(value_and_grad)`` plus the same update (the floor),
PyTorch eager, ``torch.compile`` (forward+loss compiled, backward and update
eager) and HIPS autograd (two smallest sizes). First-call latency is the first
step on a fresh cache: trace (or record) + code generation + XLA compile + run.
"""

from __future__ import annotations

from . import models as M
from .common import (
    HIPS,
    JAX,
    SG,
    SGC,
    TORCH,
    TORCHC,
    CaseResult,
    Ctx,
    best_torch,
    close,
    guarded,
    measure_interleaved,
    once,
    sg_clear,
    skip_missing,
    torch_one_thread,
)

NAME = "mlp"
TITLE = "MLP training step (tanh, MSE, SGD under no_grad)"
SYSTEMS = [SG, SGC, JAX, TORCH, TORCHC, HIPS]
SIZES = [(32, 64, 3), (128, 512, 3), (256, 1024, 4), (1024, 4096, 4)]


def sizes(ctx: Ctx) -> list:
    if ctx.smoke:
        return SIZES[:1]
    if ctx.quick:
        return SIZES[:2]
    return SIZES


def _factory(ctx: Ctx, system: str, d: M.MLPData):  # noqa: ANN202
    if system == SG:
        return lambda: M.sg_mlp(ctx, d, decorated=False)
    if system == SGC:
        return lambda: M.sg_mlp(ctx, d, decorated=True)
    if system == JAX:
        return lambda: M.jax_mlp(ctx, d)
    if system == TORCH:
        return lambda: M.torch_mlp(ctx, d, compiled=False)
    if system == TORCHC:
        return lambda: M.torch_mlp(ctx, d, compiled=True)
    return lambda: M.hips_mlp(ctx, d)


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    all_sizes = sizes(ctx)
    for bwd in all_sizes:
        batch, width, depth = bwd
        cfg = f"{batch}/{width}/{depth}"
        d = M.mlp_data(batch, width, depth)
        hint = 2.0 * batch * width * width * depth * 3 / 50e9  # seconds, at ~50 GFLOP/s
        losses: dict = {}
        steps: dict = {}
        for s in systems:
            if s == HIPS and bwd not in SIZES[:2]:
                res.note("autograd (HIPS) runs the two smallest sizes only")
                continue

            def build(s: str = s) -> None:
                if s in (SG, SGC):
                    sg_clear()
                step = _factory(ctx, s, d)()
                first, losses[s] = once(step)
                res.add(cfg, s, "first call", first, "s")
                steps[s] = step
                ctx.log(f"  {cfg:>14} {s:<16} first call {first * 1e3:9.1f} ms")

            guarded(res, s, build)
        failed: dict = {}
        first_max = max((res.value(cfg, s, "first call") or 0) for s in steps) if steps else 0
        timings = measure_interleaved(steps, **ctx.reps(max(hint, first_max * 0.02)), failed=failed)
        for s, why in failed.items():
            res.note(f"{cfg}: {s} failed while timed: {why}")
        for s, t in timings.items():
            res.add_timing(cfg, s, "step", t)
            ctx.log(f"  {cfg:>14} {s:<16} step {t.median * 1e6:12.1f} µs (n={len(t.times)})")
        if TORCH in timings and bwd in SIZES[:2]:
            guarded(res, TORCH, lambda: torch_one_thread(ctx, res, cfg, steps[TORCH], "step, 1 thread", hint))
        steps.clear()
        if JAX in losses:
            agree = {s: close(v, losses[JAX]) for s, v in losses.items()}
            res.checks[f"first-step loss agrees with JAX ({cfg})"] = agree
            if not all(agree.values()):
                res.note(f"{cfg}: first-step losses differ: {losses}")

    # Targets (issues 3 and 4).
    def ratio(cfg: str, s: str, metric: str = "step") -> float | None:
        a, b = res.value(cfg, s, metric), res.value(cfg, JAX, metric)
        return a / b if a and b else None

    cfgs = ["/".join(map(str, size)) for size in all_sizes]
    if cfgs:
        r = ratio(cfgs[0], SG)
        res.target(f"define-by-run step at {cfgs[0]}", "<= 1.3x JAX", r, None if r is None else r <= 1.3)
    for c in cfgs[2:]:
        r = ratio(c, SG)
        res.target(f"define-by-run step at {c}", "<= 1.05x JAX", r, None if r is None else r <= 1.05)
    for c in cfgs[:2]:
        a, b = res.value(c, SG, "step"), best_torch(res, c, ["step", "step, 1 thread"])
        if a and b:
            res.target(f"define-by-run step at {c}", "faster than PyTorch eager (its better thread setting)",
                       a / b, a < b)
    for c in cfgs:
        r = ratio(c, SGC)
        res.target(f"decorated step at {c}", "<= 1.1x JAX", r, None if r is None else r <= 1.1)
    for c in cfgs:
        r = ratio(c, SGC, "first call")
        res.target(f"decorated first call (trace+compile) at {c}", "<= 1.5x JAX's first call", r,
                   None if r is None else r <= 1.5)
