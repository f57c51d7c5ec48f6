"""The models the cases train, written once per system on the same NumPy inputs.

Each ``*_mlp`` / ``*_block`` factory returns ``step()``: one training step
(forward, loss, backward, SGD update ``w -= lr * w.grad``) that waits for its
result and returns the loss as a Python float, so every system is timed up to
the same point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .common import Ctx, f32, rng

LR = 0.01


# ---------------------------------------------------------------------------
# MLP: depth tanh layers of width W, mean squared error


@dataclass
class MLPData:
    batch: int
    width: int
    depth: int
    params: list  # [W0, b0, W1, b1, ...], weights (in, out)
    x: np.ndarray
    y: np.ndarray
    lr: float = LR


def mlp_data(batch: int, width: int, depth: int, seed: int = 0) -> MLPData:
    g = rng(seed)
    params = []
    for _ in range(depth):
        params.append(f32(g.standard_normal((width, width)) / math.sqrt(width)))
        params.append(f32(g.standard_normal(width) * 0.1))
    return MLPData(batch, width, depth, params, f32(g.standard_normal((batch, width))),
                   f32(g.standard_normal((batch, width))))


def sg_mlp(ctx: Ctx, d: MLPData, decorated: bool) -> Callable[[], float]:
    import srcgrad as sg
    dev = ctx.sg_device
    ps = [sg.tensor(a, requires_grad=True, device=dev) for a in d.params]
    x = sg.tensor(d.x, device=dev)
    y = sg.tensor(d.y, device=dev)
    lr, depth = d.lr, d.depth

    def train_step() -> Any:
        h = x
        for i in range(depth):
            h = sg.tanh(h @ ps[2 * i] + ps[2 * i + 1])
        loss = ((h - y) ** 2).mean()
        loss.backward()
        with sg.no_grad():
            for p in ps:
                p -= lr * p.grad
                p.grad = None
        return loss

    fn = sg.compile(train_step) if decorated else train_step
    return lambda: fn().item()


def jax_mlp(ctx: Ctx, d: MLPData) -> Callable[[], float]:
    import jax
    import jax.numpy as jnp
    depth = d.depth

    def loss_fn(ps: list, x: Any, y: Any) -> Any:
        h = x
        for i in range(depth):
            h = jnp.tanh(h @ ps[2 * i] + ps[2 * i + 1])
        return jnp.mean((h - y) ** 2)

    def train_step(ps: list, x: Any, y: Any, lr: float) -> tuple:
        loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
        return loss, [p - lr * gp for p, gp in zip(ps, g)]

    step = jax.jit(train_step, donate_argnums=(0,))
    dev = ctx.jax_device
    state = {"ps": [jax.device_put(a, dev) for a in d.params]}
    x, y = jax.device_put(d.x, dev), jax.device_put(d.y, dev)
    lr = d.lr

    def run() -> float:
        loss, state["ps"] = step(state["ps"], x, y, lr)
        return float(loss)

    return run


def torch_mlp(ctx: Ctx, d: MLPData, compiled: bool) -> Callable[[], float]:
    import torch
    dev = ctx.torch_device
    ps = [torch.tensor(a, device=dev, requires_grad=True) for a in d.params]
    x = torch.tensor(d.x, device=dev)
    y = torch.tensor(d.y, device=dev)
    lr, depth = d.lr, d.depth

    def loss_fn(x: Any, y: Any, *ps: Any) -> Any:
        h = x
        for i in range(depth):
            h = torch.tanh(h @ ps[2 * i] + ps[2 * i + 1])
        return ((h - y) ** 2).mean()

    f = torch.compile(loss_fn) if compiled else loss_fn

    def run() -> float:
        loss = f(x, y, *ps)
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p -= lr * p.grad
                p.grad = None
        return loss.item()

    return run


def hips_mlp(ctx: Ctx, d: MLPData) -> Callable[[], float]:
    import autograd.numpy as anp
    from autograd import value_and_grad
    depth = d.depth

    def loss_fn(ps: list, x: Any, y: Any) -> Any:
        h = x
        for i in range(depth):
            h = anp.tanh(anp.dot(h, ps[2 * i]) + ps[2 * i + 1])
        return anp.mean((h - y) ** 2)

    vg = value_and_grad(loss_fn)
    state = {"ps": [a.copy() for a in d.params]}
    lr = np.float32(d.lr)

    def run() -> float:
        loss, g = vg(state["ps"], d.x, d.y)
        state["ps"] = [p - lr * gp for p, gp in zip(state["ps"], g)]
        return float(loss)

    return run


# ---------------------------------------------------------------------------
# Transformer block: pre-LN multi-head self-attention + GELU MLP, MSE to a target
# Weights in PyTorch's (out, in) layout: y = x @ W.T + b.


@dataclass
class BlockData:
    batch: int
    seq: int
    width: int
    heads: int
    hidden: int
    params: dict
    x: np.ndarray
    y: np.ndarray
    lr: float = LR


BLOCK_NAMES = ["ln1.weight", "ln1.bias", "q.weight", "q.bias", "k.weight", "k.bias", "v.weight", "v.bias",
               "o.weight", "o.bias", "ln2.weight", "ln2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def block_data(batch: int = 8, seq: int = 128, width: int = 256, heads: int = 4, seed: int = 0) -> BlockData:
    g = rng(seed)
    hidden = 4 * width

    def lin(n_out: int, n_in: int) -> tuple:
        return f32(g.standard_normal((n_out, n_in)) / math.sqrt(n_in)), f32(g.standard_normal(n_out) * 0.02)

    p: dict[str, np.ndarray] = {}
    p["ln1.weight"], p["ln1.bias"] = f32(np.ones(width)), f32(np.zeros(width))
    for name in "qkvo":
        p[f"{name}.weight"], p[f"{name}.bias"] = lin(width, width)
    p["ln2.weight"], p["ln2.bias"] = f32(np.ones(width)), f32(np.zeros(width))
    p["fc1.weight"], p["fc1.bias"] = lin(hidden, width)
    p["fc2.weight"], p["fc2.bias"] = lin(width, hidden)
    p = {k: p[k] for k in BLOCK_NAMES}
    return BlockData(batch, seq, width, heads, hidden, p, f32(g.standard_normal((batch, seq, width))),
                     f32(g.standard_normal((batch, seq, width))))


def _sg_block_fn(sg: Any, d: BlockData) -> Callable:
    fn = sg.nn.functional
    nb, ns, nd, nh = d.batch, d.seq, d.width, d.heads
    dh = nd // nh
    scale = 1.0 / math.sqrt(dh)

    def heads(t: Any) -> Any:
        return t.reshape(nb, ns, nh, dh).transpose(1, 2)

    def block(p: dict, x: Any) -> Any:
        h = fn.layer_norm(x, (nd,), p["ln1.weight"], p["ln1.bias"])
        q = heads(fn.linear(h, p["q.weight"], p["q.bias"]))
        k = heads(fn.linear(h, p["k.weight"], p["k.bias"]))
        v = heads(fn.linear(h, p["v.weight"], p["v.bias"]))
        att = fn.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(nb, ns, nd)
        x = x + fn.linear(o, p["o.weight"], p["o.bias"])
        h = fn.layer_norm(x, (nd,), p["ln2.weight"], p["ln2.bias"])
        h = fn.linear(fn.gelu(fn.linear(h, p["fc1.weight"], p["fc1.bias"])), p["fc2.weight"], p["fc2.bias"])
        return x + h

    return block


def _sg_block_module(sg: Any, d: BlockData) -> Any:
    """The block as ``srcgrad.nn`` modules (used when srcgrad.nn has Module, Linear and LayerNorm)."""
    nn, fn = sg.nn, sg.nn.functional
    nb, ns, nd, nh = d.batch, d.seq, d.width, d.heads
    dh = nd // nh
    scale = 1.0 / math.sqrt(dh)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(nd)
            self.q, self.k, self.v, self.o = (nn.Linear(nd, nd) for _ in range(4))
            self.ln2 = nn.LayerNorm(nd)
            self.fc1 = nn.Linear(nd, d.hidden)
            self.fc2 = nn.Linear(d.hidden, nd)

        def forward(self, x: Any) -> Any:
            h = self.ln1(x)
            q = self.q(h).reshape(nb, ns, nh, dh).transpose(1, 2)
            k = self.k(h).reshape(nb, ns, nh, dh).transpose(1, 2)
            v = self.v(h).reshape(nb, ns, nh, dh).transpose(1, 2)
            att = fn.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
            o = (att @ v).transpose(1, 2).reshape(nb, ns, nd)
            x = x + self.o(o)
            return x + self.fc2(fn.gelu(self.fc1(self.ln2(x))))

    return Block()


def sg_block(ctx: Ctx, d: BlockData, decorated: bool, notes: list | None = None) -> Callable[[], float]:
    import srcgrad as sg
    dev = ctx.sg_device
    x = sg.tensor(d.x, device=dev)
    y = sg.tensor(d.y, device=dev)
    lr = d.lr
    model = None
    if all(hasattr(sg.nn, n) for n in ("Module", "Linear", "LayerNorm")):
        try:
            model = _sg_block_module(sg, d).to(dev)
            model.load_state_dict({k: sg.tensor(v, device=dev) for k, v in d.params.items()})
            ps = list(model.parameters())
            if len(ps) != len(BLOCK_NAMES):
                raise RuntimeError(f"expected {len(BLOCK_NAMES)} parameters, got {len(ps)}")
            if notes is not None:
                notes.append("srcgrad block written with srcgrad.nn modules (Linear, LayerNorm)")
        except Exception as e:  # noqa: BLE001 - modules still being built: fall back to plain tensors
            model = None
            if notes is not None:
                notes.append(f"srcgrad.nn modules failed ({type(e).__name__}: {e}); block written with plain "
                             "tensors and srcgrad.nn.functional")
    if model is None:
        if notes is not None and not notes:
            notes.append("srcgrad block written with plain tensors and srcgrad.nn.functional "
                         "(srcgrad.nn has no Linear/LayerNorm modules yet)")
        p = {k: sg.tensor(v, requires_grad=True, device=dev) for k, v in d.params.items()}
        ps = list(p.values())
        fn = _sg_block_fn(sg, d)

        def forward(x: Any) -> Any:
            return fn(p, x)
    else:
        forward = model

    def train_step() -> Any:
        out = forward(x)
        loss = ((out - y) ** 2).mean()
        loss.backward()
        with sg.no_grad():
            for q in ps:
                q -= lr * q.grad
                q.grad = None
        return loss

    f = sg.compile(train_step) if decorated else train_step
    return lambda: f().item()


def jax_block(ctx: Ctx, d: BlockData) -> Callable[[], float]:
    import jax
    import jax.numpy as jnp
    nb, ns, nd, nh = d.batch, d.seq, d.width, d.heads
    dh = nd // nh
    scale = 1.0 / math.sqrt(dh)

    def ln(x: Any, w: Any, b: Any) -> Any:
        mean = jnp.mean(x, axis=-1, keepdims=True)
        c = x - mean
        var = jnp.mean(c * c, axis=-1, keepdims=True)
        return c * jax.lax.rsqrt(var + 1e-5) * w + b

    def lin(x: Any, p: dict, name: str) -> Any:
        return x @ p[name + ".weight"].T + p[name + ".bias"]

    def heads(t: Any) -> Any:
        return t.reshape(nb, ns, nh, dh).transpose(0, 2, 1, 3)

    def loss_fn(p: dict, x: Any, y: Any) -> Any:
        h = ln(x, p["ln1.weight"], p["ln1.bias"])
        q, k, v = heads(lin(h, p, "q")), heads(lin(h, p, "k")), heads(lin(h, p, "v"))
        att = jax.nn.softmax((q @ k.transpose(0, 1, 3, 2)) * scale, axis=-1)
        o = (att @ v).transpose(0, 2, 1, 3).reshape(nb, ns, nd)
        x = x + lin(o, p, "o")
        h = ln(x, p["ln2.weight"], p["ln2.bias"])
        x = x + lin(jax.nn.gelu(lin(h, p, "fc1"), approximate=False), p, "fc2")
        return jnp.mean((x - y) ** 2)

    def train_step(p: dict, x: Any, y: Any, lr: float) -> tuple:
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        return loss, {k: p[k] - lr * g[k] for k in p}

    step = jax.jit(train_step, donate_argnums=(0,))
    dev = ctx.jax_device
    state = {"p": {k: jax.device_put(v, dev) for k, v in d.params.items()}}
    x, y = jax.device_put(d.x, dev), jax.device_put(d.y, dev)
    lr = d.lr

    def run() -> float:
        loss, state["p"] = step(state["p"], x, y, lr)
        return float(loss)

    return run


def torch_block(ctx: Ctx, d: BlockData, compiled: bool) -> Callable[[], float]:
    import torch
    import torch.nn.functional as F
    nb, ns, nd, nh = d.batch, d.seq, d.width, d.heads
    dh = nd // nh
    scale = 1.0 / math.sqrt(dh)
    dev = ctx.torch_device
    p = {k: torch.tensor(v, device=dev, requires_grad=True) for k, v in d.params.items()}
    x = torch.tensor(d.x, device=dev)
    y = torch.tensor(d.y, device=dev)
    lr = d.lr

    def heads(t: Any) -> Any:
        return t.reshape(nb, ns, nh, dh).transpose(1, 2)

    def loss_fn(x: Any, y: Any, p: dict) -> Any:
        h = F.layer_norm(x, (nd,), p["ln1.weight"], p["ln1.bias"])
        q = heads(F.linear(h, p["q.weight"], p["q.bias"]))
        k = heads(F.linear(h, p["k.weight"], p["k.bias"]))
        v = heads(F.linear(h, p["v.weight"], p["v.bias"]))
        att = torch.softmax((q @ k.transpose(-2, -1)) * scale, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(nb, ns, nd)
        x = x + F.linear(o, p["o.weight"], p["o.bias"])
        h = F.layer_norm(x, (nd,), p["ln2.weight"], p["ln2.bias"])
        x = x + F.linear(F.gelu(F.linear(h, p["fc1.weight"], p["fc1.bias"])), p["fc2.weight"], p["fc2.bias"])
        return ((x - y) ** 2).mean()

    f = torch.compile(loss_fn) if compiled else loss_fn

    def run() -> float:
        loss = f(x, y, p)
        loss.backward()
        with torch.no_grad():
            for q in p.values():
                q -= lr * q.grad
                q.grad = None
        return loss.item()

    return run
