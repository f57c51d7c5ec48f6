"""Case 7: one epoch of an MLP classifier with ``srcgrad.nn`` + ``srcgrad.optim.Adam``.

Three interleaved spirals (2-D points, 3 classes, 3,072 points), MLP
2 -> 128 -> 128 -> 3 with ReLU, cross-entropy, Adam (lr 1e-2), batch 64: 48
steps an epoch in a fixed order, ``loss.item()`` read every step (the usual
running-loss line). srcgrad: define-by-run with ``nn.Sequential`` and
``optim.Adam``, and the same step under ``@srcgrad.compile``; PyTorch eager
with ``torch.nn``/``torch.optim``; JAX: ``jax.jit`` of ``value_and_grad``
plus an Adam update written with ``jax.numpy``, in one jitted step.
Skipped with a note when ``srcgrad.optim`` is not there.
"""

from __future__ import annotations

import importlib
import math
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

NAME = "classifier"
TITLE = "MLP classifier epoch with nn + optim.Adam (spirals, 2-128-128-3, batch 64)"
SYSTEMS = [SG, SGC, JAX, TORCH]
HIDDEN = 128
LR = 1e-2
BETAS = (0.9, 0.999)
EPS = 1e-8


def spirals(n_per_class: int, classes: int = 3, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    g = rng(seed)
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(c * 4, (c + 1) * 4, n_per_class) + g.standard_normal(n_per_class) * 0.2
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = g.permutation(len(x))
    return f32(x[order]), y[order].astype(np.int64)


def _weights() -> dict:
    g = rng(8)
    sizes = [(HIDDEN, 2), (HIDDEN, HIDDEN), (3, HIDDEN)]
    out = {}
    for i, (o, n) in enumerate(sizes):
        bound = 1 / math.sqrt(n)
        out[f"{2 * i}.weight"] = f32(g.uniform(-bound, bound, (o, n)))
        out[f"{2 * i}.bias"] = f32(g.uniform(-bound, bound, o))
    return out


def _batches(x: np.ndarray, y: np.ndarray, bs: int) -> list:
    return [(x[i:i + bs], y[i:i + bs]) for i in range(0, len(x) - bs + 1, bs)]


def _sg(ctx: Ctx, batches: list, w: dict, decorated: bool) -> Callable[[], float]:
    import srcgrad as sg
    optim = importlib.import_module("srcgrad.optim")
    nn = sg.nn
    dev = ctx.sg_device
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 3))
    model.load_state_dict({k: sg.tensor(v) for k, v in w.items()})
    model.to(dev)
    opt = optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    crit = nn.CrossEntropyLoss()
    data = [(sg.tensor(a, device=dev), sg.tensor(b, device=dev)) for a, b in batches]

    def train_step(xb: Any, yb: Any) -> Any:
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step = sg.compile(train_step) if decorated else train_step

    def epoch() -> float:
        total = 0.0
        for xb, yb in data:
            total += step(xb, yb).item()
        return total / len(data)

    return epoch


def _torch(ctx: Ctx, batches: list, w: dict) -> Callable[[], float]:
    import torch
    from torch import nn
    dev = ctx.torch_device
    model = nn.Sequential(nn.Linear(2, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 3))
    model.load_state_dict({k: torch.tensor(v) for k, v in w.items()})
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR, betas=BETAS, eps=EPS)
    crit = nn.CrossEntropyLoss()
    data = [(torch.tensor(a, device=dev), torch.tensor(b, device=dev)) for a, b in batches]

    def epoch() -> float:
        total = 0.0
        for xb, yb in data:
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        return total / len(data)

    return epoch


def _jax(ctx: Ctx, batches: list, w: dict) -> Callable[[], float]:
    import jax
    import jax.numpy as jnp
    b1, b2 = BETAS

    def loss_fn(p: dict, x: Any, y: Any) -> Any:
        h = jax.nn.relu(x @ p["0.weight"].T + p["0.bias"])
        h = jax.nn.relu(h @ p["2.weight"].T + p["2.bias"])
        logits = h @ p["4.weight"].T + p["4.bias"]
        logp = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def train_step(p: dict, m: dict, v: dict, t: Any, x: Any, y: Any) -> tuple:
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        m = {k: b1 * m[k] + (1 - b1) * g[k] for k in p}
        v = {k: b2 * v[k] + (1 - b2) * g[k] * g[k] for k in p}
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        p = {k: p[k] - LR / c1 * m[k] / (jnp.sqrt(v[k]) / jnp.sqrt(c2) + EPS) for k in p}
        return loss, p, m, v

    step = jax.jit(train_step, donate_argnums=(0, 1, 2))
    dev = ctx.jax_device
    st = {"p": jax.device_put(w, dev)}
    st["m"] = jax.tree.map(jnp.zeros_like, st["p"])
    st["v"] = jax.tree.map(jnp.zeros_like, st["p"])
    st["t"] = 0
    data = [jax.device_put((a, b), dev) for a, b in batches]

    def epoch() -> float:
        total = 0.0
        for xb, yb in data:
            st["t"] += 1
            loss, st["p"], st["m"], st["v"] = step(st["p"], st["m"], st["v"], jnp.float32(st["t"]), xb, yb)
            total += float(loss)
        return total / len(data)

    return epoch


def run(ctx: Ctx, res: CaseResult) -> None:
    systems = skip_missing(ctx, res, SYSTEMS)
    try:
        importlib.import_module("srcgrad.optim")
        import srcgrad
        missing = [n for n in ("Sequential", "Linear", "ReLU", "CrossEntropyLoss") if not hasattr(srcgrad.nn, n)]
        if missing:
            raise ImportError(f"srcgrad.nn lacks {', '.join(missing)}")
    except ImportError as e:
        for s in SYSTEMS:
            res.skip(s, f"srcgrad.nn / srcgrad.optim not available yet ({e})")
        res.note(f"skipped: srcgrad.nn / srcgrad.optim not available yet ({e})")
        return
    n_per = 64 if ctx.smoke else 1024
    x, y = spirals(n_per)
    batches = _batches(x, y, 64)
    w = _weights()
    cfg = f"{len(x)} points, {len(batches)} steps/epoch"
    firsts: dict = {}
    epochs: dict = {}
    for s in systems:
        def build(s: str = s) -> None:
            if s in (SG, SGC):
                sg_clear()
                epoch = _sg(ctx, batches, w, decorated=s == SGC)
            else:
                epoch = {JAX: _jax, TORCH: _torch}[s](ctx, batches, w)
            first, firsts[s] = once(epoch)
            res.add(cfg, s, "first epoch", first, "s")
            epochs[s] = epoch
            ctx.log(f"  {s:<16} first epoch {first * 1e3:8.1f} ms")

        guarded(res, s, build)
    r = ctx.reps(0.05)
    failed: dict = {}
    timings = measure_interleaved(epochs, warmup=1 if ctx.quick else 2, reps=r["reps"], budget_s=r["budget_s"] * 2,
                                  min_reps=r["min_reps"] if not ctx.quick else 3, failed=failed)
    for s, why in failed.items():
        res.note(f"{s} failed while timed: {why}")
    for s, t in timings.items():
        res.add_timing(cfg, s, "epoch", t)
        ctx.log(f"  {s:<16} epoch {t.median * 1e3:8.2f} ms (n={len(t.times)})")
    if TORCH in timings:
        guarded(res, TORCH, lambda: torch_one_thread(ctx, res, cfg, epochs[TORCH], "epoch, 1 thread", 0.05))
    if JAX in firsts:
        res.checks["first-epoch mean loss agrees with JAX"] = {s: close(v, firsts[JAX], rtol=1e-2) for s, v in
                                                             firsts.items()}
    for s, goal in ((SG, 1.3), (SGC, 1.1)):
        a, b = res.value(cfg, s, "epoch"), res.value(cfg, JAX, "epoch")
        if a and b:
            res.target(f"{s} epoch", f"<= {goal}x JAX", a / b, a / b <= goal)
