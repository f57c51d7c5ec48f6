"""srcgrad's reverse-mode machinery itself: replayed backward passes and gradient templates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import srcgrad as torch
from srcgrad import autodiff


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    ws = [rng.standard_normal(s).astype(np.float32) * 0.5 for s in ((4, 8), (8,), (8, 1), (1,))]
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    v = [rng.standard_normal(w.shape).astype(np.float32) for w in ws]
    return ws, x, y, v


def _hvp_srcgrad(ps, x, y, vs):
    h = (x @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]
    loss = ((h - y) ** 2).mean()
    gs = torch.autograd.grad(loss, ps, create_graph=True)
    dot = sum((g * v).sum() for g, v in zip(gs, vs))
    return gs, torch.autograd.grad(dot, ps)


def _hvp_jax(ws, x, y, v):
    def loss(ps):
        h = jnp.tanh(x @ ps[0] + ps[1]) @ ps[2] + ps[3]
        return jnp.mean((h - y) ** 2)
    return jax.jvp(jax.grad(loss), (ws,), (v,))[1]


def test_create_graph_gradients_are_stamped_from_a_template_after_the_first_call(monkeypatch):
    ws, x, y, v = _mlp()
    ps = [torch.tensor(w, requires_grad=True) for w in ws]
    xs, ys, vs = torch.tensor(x), torch.tensor(y), [torch.tensor(a) for a in v]
    first_gs, first = _hvp_srcgrad(ps, xs, ys, vs)
    names = [g.grad_fn.name() for g in first_gs]
    calls = []
    real = autodiff.transform
    monkeypatch.setattr(autodiff, "transform", lambda *a, **k: calls.append(1) or real(*a, **k))
    expected = _hvp_jax(ws, x, y, v)
    for _ in range(3):
        gs, hv = _hvp_srcgrad(ps, xs, ys, vs)
        assert [g.grad_fn.name() for g in gs] == names  # the same graph, differentiable
        for a, b, c in zip(hv, expected, first):
            np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(a.numpy(), c.numpy(), rtol=1e-6, atol=1e-7)
    assert not calls  # neither the first-order graph nor the second grad ran the transformer


def test_a_template_is_not_used_when_the_graph_has_a_hook():
    ws, x, y, v = _mlp(1)
    ps = [torch.tensor(w, requires_grad=True) for w in ws]
    xs, ys, vs = torch.tensor(x), torch.tensor(y), [torch.tensor(a) for a in v]
    _hvp_srcgrad(ps, xs, ys, vs)
    seen = []
    h = (xs @ ps[0] + ps[1]).tanh()
    h.register_hook(lambda g: seen.append(g.shape) or g * 2)
    loss = (((h @ ps[2] + ps[3]) - ys) ** 2).mean()
    g0 = torch.autograd.grad(loss, ps[0], create_graph=True)[0]
    assert seen == [(16, 8)]
    h2 = (xs @ ps[0] + ps[1]).tanh()
    loss2 = (((h2 @ ps[2] + ps[3]) - ys) ** 2).mean()
    g1 = torch.autograd.grad(loss2, ps[0], create_graph=True)[0]
    np.testing.assert_allclose(g0.detach().numpy(), 2 * g1.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_replayed_backward_still_catches_a_saved_value_modified_in_place():
    import pytest

    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(5, 4)
    for _ in range(3):  # the same graph each time: the backward is replayed
        ((x @ w).tanh().sum()).backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad = None
    loss = (x @ w).tanh().sum()  # saves w
    with torch.no_grad():
        w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_the_replay_check_finds_an_in_place_change_to_a_value_a_gradient_reads():
    import pytest

    from srcgrad import compiler
    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(5, 4)
    for _ in range(3):
        a = x * 1
        loss = (a @ w).sum()  # the weight's gradient reads a
        a = a * 2
        loss.backward()
    plans = len(compiler.CACHE.plans)
    a = x * 1
    loss = (a @ w).sum()
    a.mul_(2)  # the graph is the one seen before, but a value it saved has changed
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
    assert len(compiler.CACHE.plans) == plans
