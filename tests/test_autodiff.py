"""srcgrad's reverse-mode machinery itself: replayed backward passes and gradient templates."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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
    loss = (x @ w).tanh().sum()  # saves x, for w's gradient (not w: x does not require grad)
    with torch.no_grad():
        x.mul_(2)
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


# -- seed gradients and options checked as PyTorch checks them --------------------------


def test_fewer_seed_gradients_than_outputs_is_an_error_and_extra_ones_are_ignored():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="^got 2 tensors and 1 gradients$"):
        torch.autograd.grad([x.sum(), (x * x).sum()], x, grad_outputs=[torch.tensor(1.0)])
    with pytest.raises(RuntimeError, match="^got 2 tensors and 1 gradients$"):
        torch.autograd.backward([x.sum(), (x * x).sum()], [torch.tensor(1.0)])
    (g,) = torch.autograd.grad([x.sum()], x, grad_outputs=[torch.tensor(1.0), torch.tensor(5.0)])
    np.testing.assert_array_equal(g.numpy(), [1.0, 1.0])


def test_seed_gradients_must_be_tensors_or_none():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got float"):
        torch.autograd.grad((x * x).sum(), x, grad_outputs=[2.0])
    with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got float"):
        (x * x).sum().backward(2.0)
    assert x.grad is None


def test_grad_option_checks():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when materialize_grads"):
        torch.autograd.grad((x * x).sum(), x, materialize_grads=True, allow_unused=False)
    with pytest.raises(RuntimeError, match="^One of the differentiated Tensors does not require grad$"):
        torch.autograd.grad((x * x).sum(), [x, torch.ones(2)])
    with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
        torch.autograd.grad((x * x).sum(), x, only_inputs=False)


def test_is_grads_batched_gives_one_vector_jacobian_product_per_row():
    # values from PyTorch 2.13
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0], requires_grad=True)
    gx, gy = torch.autograd.grad([x ** 2, (y * x).sum()], [x, y], [torch.eye(2), torch.ones(2)],
                                 is_grads_batched=True)
    np.testing.assert_array_equal(gx.numpy(), [[5.0, 3.0], [3.0, 7.0]])
    np.testing.assert_array_equal(gy.numpy(), [[3.0], [3.0]])
    (j,) = torch.autograd.grad(x ** 3, x, torch.eye(2), is_grads_batched=True)  # the Jacobian, row by row
    np.testing.assert_array_equal(j.numpy(), [[3.0, 0.0], [0.0, 12.0]])


def test_hook_handle_is_a_context_manager():
    x = torch.ones(2, requires_grad=True)
    with x.register_hook(lambda g: g * 10):
        (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_grad_of_a_non_leaf_leaves_the_graph_below_it_usable():
    # autograd.grad w.r.t. h stops at h: exp's saved value is not freed (as PyTorch)
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    h = x.exp()
    (gh,) = torch.autograd.grad((h * 2).sum(), h)
    np.testing.assert_array_equal(gh.numpy(), [2.0, 2.0])
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.0]), rtol=1e-6)


def test_a_non_leaf_named_in_inputs_retains_its_grad_without_a_warning():
    # as PyTorch: backward(inputs=[y]) makes y retain its grad (values from PyTorch 2.13)
    x = torch.ones(2, requires_grad=True)
    y = x * 2
    z = y * 3
    z.sum().backward(inputs=[y], retain_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.retains_grad
        np.testing.assert_array_equal(y.grad.numpy(), [3.0, 3.0])
    z.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 6.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_a_custom_functions_modified_saved_input_is_named_as_pytorch_names_it():
    class F(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

    b = torch.ones(2, requires_grad=True) * 1
    y = F.apply(b)
    b.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of Add, is at version 1; "
                                           r"expected version 0 instead\."):
        y.sum().backward()


def test_a_product_saves_each_factor_only_for_the_other_factors_gradient():
    # PyTorch: a first layer's weight may change in place between forward and backward when
    # the layer's input does not require grad (nothing saved it); the second layer's may not.
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    x = torch.randn(5, 3)
    y = model(x)
    with torch.no_grad():
        model[0].weight.add_(1)
    y.sum().backward()
    assert model[0].weight.grad is not None
    y = model(x)
    with torch.no_grad():
        model[2].weight.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    # matmul, and addmm's second factor (its first input, the added term, is never saved)
    for make in (lambda a, b: a @ b, lambda a, b: torch.addmm(torch.zeros(2, 2), a, b)):
        a, b = torch.randn(2, 3, requires_grad=True), torch.randn(3, 2)
        out = make(a, b)
        with torch.no_grad():
            a.mul_(2)  # not needed: b does not require grad
        out.sum().backward()
        out = make(a, b)
        with torch.no_grad():
            b.mul_(2)  # needed for a's gradient
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()
