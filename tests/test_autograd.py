"""Autograd against PyTorch semantics: backward, .grad, retain_graph, grad_fn,
autograd.grad (higher order), hooks, custom Function, version counter,
gradcheck, autograd.functional and the tricky gradients (ties, repeated
indices, where, clamp, numerically stable log-sum-exp family).

Expected values/messages are literals from PyTorch 2.13. ``SRCGRAD_TEST_BACKEND=torch``
runs the file against PyTorch itself (srcgrad-only tests are skipped).
"""

from __future__ import annotations

import importlib
import math
import os
import warnings

import numpy as np
import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))
IS_SRCGRAD = torch.__name__ == "srcgrad"
srcgrad_only = pytest.mark.skipif(not IS_SRCGRAD, reason="srcgrad internals")
if IS_SRCGRAD:
    import srcgrad.nn.functional  # noqa: F401
F = torch.nn.functional


def bug(reason: str):
    return pytest.mark.xfail(IS_SRCGRAD, strict=True, reason=f"srcgrad bug: {reason}")


def arr(t) -> np.ndarray:
    return np.asarray(t.detach().numpy())


def close(t, expected, rtol=1e-6, atol=1e-6) -> None:
    np.testing.assert_allclose(arr(t), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


def leaf(v, dtype=None):
    return torch.tensor(v, dtype=dtype or torch.float32, requires_grad=True)


# ---------------------------------------------------------------------------
# backward and .grad


def test_tutorial_backward():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()
    close(x.grad, np.full((2, 2), 4.5))
    assert x.grad.dtype is torch.float32 and x.grad.shape == (2, 2)
    assert not x.grad.requires_grad


def test_backward_with_gradient_vjp():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 2
    y.backward(torch.tensor([0.1, 1.0, 0.0001]))
    close(x.grad, [0.2, 2.0, 0.0002])


def test_backward_implicit_gradient_error():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="^grad can be implicitly created only for scalar outputs$"):
        y.backward()


def test_backward_one_element_non_scalar_is_fine():
    x = leaf([[3.0]])
    (x * x).backward()
    close(x.grad, [[6.0]])


def test_backward_wrong_shape_gradient():
    y = leaf([[1.0, 2.0], [3.0, 4.0]]) * 2
    with pytest.raises(RuntimeError, match=r"Mismatch in shape: grad_output\[0\] has a shape of torch.Size\(\[3\]\) "
                                           r"and output\[0\] has a shape of torch.Size\(\[2, 2\]\)."):
        y.backward(torch.ones(3))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does not have a grad_fn"):
        torch.ones(2).sum().backward()


def test_grad_accumulates_and_resets():
    x = leaf([1.0, 2.0])
    for _ in range(3):
        (x * x).sum().backward()
    close(x.grad, [6.0, 12.0])
    x.grad = None
    (x * 3).sum().backward()
    close(x.grad, [3.0, 3.0])
    x.grad.zero_()
    close(x.grad, [0.0, 0.0])
    (x * 2).sum().backward()
    close(x.grad, [2.0, 2.0])


def test_backward_inputs_argument():
    a, b = leaf([1.0]), leaf([2.0])
    (a * b).sum().backward(inputs=[a])
    close(a.grad, [2.0])
    assert b.grad is None


def test_broadcast_gradients_reduce_to_input_shape():
    a = leaf(np.ones((2, 3)))
    b = leaf([1.0, 2.0, 3.0])
    c = leaf([[2.0], [3.0]])
    s = leaf(2.0)
    (a * b * c * s).sum().backward()
    close(a.grad, np.array([1, 2, 3]) * np.array([[2], [3]]) * 2)
    close(b.grad, np.array([5.0, 5, 5]) * 2)
    close(c.grad, [[12.0], [12.0]])
    close(s.grad, 30.0)
    assert s.grad.shape == ()


def test_non_leaf_grad_warning_and_retain_grad():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y.sum()
    assert not y.is_leaf and y.grad_fn is not None
    with pytest.warns(UserWarning, match="The .grad attribute of a Tensor that is not a leaf Tensor is being "
                                         "accessed. Its .grad attribute won't be populated during "
                                         "autograd.backward()."):
        assert y.grad is None
    y2 = x * 3
    y2.retain_grad()
    assert y2.retains_grad
    (y2 * y2).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        close(y2.grad, [6.0, 12.0])
    z.backward()


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_integer_tensors_cannot_require_grad(dtype):
    dt = getattr(torch, dtype)
    with pytest.raises(RuntimeError, match="can require gradients"):
        torch.tensor([1, 0], dtype=dt, requires_grad=True)
    t = torch.tensor([1, 0], dtype=dt)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        t.requires_grad_()


def test_integer_requires_grad_at_creation_message():
    with pytest.raises(RuntimeError, match="^Only Tensors of floating point and complex dtype can require "
                                           "gradients$"):
        torch.tensor([1, 0], requires_grad=True)


def test_integer_results_do_not_require_grad():
    x = leaf([1.5, 2.5])
    assert not (x > 2).requires_grad
    assert not x.argmax().requires_grad
    assert not x.long().requires_grad
    assert x.max(0).indices.requires_grad is False


def test_retain_graph_and_second_backward_error():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    close(x.grad, 2 * (np.exp([1.0, 2.0]) * (np.array([1.0, 2.0]) + 1)), rtol=1e-5)
    with pytest.raises(RuntimeError, match=r"^Trying to backward through the graph a second time \(or directly "
                                           r"access saved tensors after they have already been freed\). Saved "
                                           r"intermediate values of the graph are freed when you call .backward\(\) "
                                           r"or autograd.grad\(\). Specify retain_graph=True if you need to "
                                           r"backward through the graph a second time or if you need to access "
                                           r"saved tensors after calling backward."):
        y.backward()


def test_backward_twice_through_graph_without_saved_values_is_fine():
    # add/sum save nothing, so PyTorch allows a second backward
    x = leaf([1.0, 2.0])
    y = (x + 1).sum()
    y.backward()
    y.backward()
    close(x.grad, [2.0, 2.0])


# ---------------------------------------------------------------------------
# grad_fn


def _names():
    x = leaf([1.0, 2.0])
    m = leaf([[1.0, 2.0], [3.0, 4.0]])
    return x, m, [
        ("AddBackward0", lambda: x + 1), ("AddBackward0", lambda: x + x), ("MulBackward0", lambda: x * 2),
        ("DivBackward0", lambda: x / 2), ("PowBackward0", lambda: x ** 2), ("PowBackward1", lambda: x ** x),
        ("PowBackward2", lambda: 2 ** x), ("MeanBackward0", lambda: x.mean()), ("SumBackward0", lambda: x.sum()),
        ("SumBackward1", lambda: m.sum(0)), ("MeanBackward1", lambda: m.mean(1)), ("MmBackward0", lambda: m @ m),
        ("MmBackward0", lambda: m.mm(m)), ("DotBackward0", lambda: x @ x), ("MvBackward0", lambda: m @ x),
        ("TanhBackward0", lambda: x.tanh()), ("SubBackward0", lambda: x - 1), ("RsubBackward1", lambda: 1 - x),
        ("NegBackward0", lambda: -x), ("ExpBackward0", lambda: x.exp()), ("LogBackward0", lambda: x.log()),
        ("SigmoidBackward0", lambda: x.sigmoid()), ("ReluBackward0", lambda: x.relu()),
        ("SqrtBackward0", lambda: x.sqrt()), ("AbsBackward0", lambda: x.abs()), ("SinBackward0", lambda: x.sin()),
        ("CosBackward0", lambda: x.cos()), ("SelectBackward0", lambda: x[0]), ("ViewBackward0", lambda: x.view(2, 1)),
        ("MaxBackward1", lambda: x.max()), ("ClampBackward1", lambda: x.clamp(0, 1)),
        ("TBackward0", lambda: m.t()), ("TransposeBackward0", lambda: m.transpose(0, 1)),
        ("PermuteBackward0", lambda: m.permute(1, 0)), ("WhereBackward0", lambda: torch.where(x > 1, x, x)),
        ("CatBackward0", lambda: torch.cat([x, x])), ("StackBackward0", lambda: torch.stack([x, x])),
        ("ExpandBackward0", lambda: x.expand(3, 2)), ("UnsqueezeBackward0", lambda: x.unsqueeze(0)),
        ("CloneBackward0", lambda: x.clone()), ("ToCopyBackward0", lambda: x.double()),
        ("SoftmaxBackward0", lambda: x.softmax(0)), ("LogSoftmaxBackward0", lambda: x.log_softmax(0)),
        ("ProdBackward0", lambda: x.prod()), ("AmaxBackward0", lambda: x.amax()),
        ("LinalgVectorNormBackward0", lambda: x.norm()), ("SoftplusBackward0", lambda: F.softplus(x)),
    ]


@pytest.mark.parametrize("k", range(len(_names()[2])))
def test_grad_fn_names(k):
    name, fn = _names()[2][k]
    gf = fn().grad_fn
    assert gf.name() == name
    assert type(gf).__name__ == name
    assert repr(gf).startswith(f"<{name} object at 0x")


@pytest.mark.parametrize("name, fn", [
    ("MaxBackward0", lambda x: x.max(0)[0]),
    ("MaxBackward0", lambda x: x.max(0).values),
    ("MinBackward0", lambda x: x.min(1).values),
    ("LogsumexpBackward0", lambda x: x.logsumexp(0)),
    ("MulBackward0", lambda x: 2 / x),
])
def test_grad_fn_names_composite(name, fn):
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    assert fn(x).grad_fn.name() == name


def test_squeeze_dim_grad_fn_name():
    m = leaf([[1.0, 2.0]])
    assert m.squeeze(0).grad_fn.name() == "SqueezeBackward1"
    assert m.squeeze().grad_fn.name() == "SqueezeBackward0"


def test_squeeze_noop_still_records():
    x = leaf([1.0, 2.0])
    assert x.squeeze().grad_fn.name() == "SqueezeBackward0"


def test_leaf_grad_fn_none_and_next_functions():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    assert x.grad_fn is None
    y = x * w + 1
    gf = y.grad_fn
    assert gf.name() == "AddBackward0"
    nf = gf.next_functions
    assert len(nf) == 2 and nf[1] == (None, 0)
    mul, idx = nf[0]
    assert mul.name() == "MulBackward0" and idx == 0
    acc = mul.next_functions
    assert [type(f).__name__ for f, _ in acc] == ["AccumulateGrad", "AccumulateGrad"]
    assert acc[0][0].variable is x and acc[1][0].variable is w
    assert repr(acc[0][0]).startswith("<AccumulateGrad object at 0x")
    assert acc[0][0].next_functions == ()
    no_grad_input = x * torch.ones(2)
    assert no_grad_input.grad_fn.next_functions[1] == (None, 0)


def test_creator_alias():
    if not IS_SRCGRAD:
        pytest.skip(".creator is srcgrad's alias for the legacy name")
    x = leaf([1.0])
    y = x * 2
    assert y.creator is y.grad_fn or y.creator.name() == "MulBackward0"
    assert x.creator is None


def test_variable():
    from importlib import import_module
    autograd = import_module(torch.__name__ + ".autograd")
    v = autograd.Variable(torch.ones(2), requires_grad=True)
    assert isinstance(v, torch.Tensor) and v.requires_grad and v.is_leaf
    (v * 3).sum().backward()
    close(v.grad, [3.0, 3.0])
    assert not autograd.Variable(torch.ones(2)).requires_grad


# ---------------------------------------------------------------------------
# autograd.grad


def test_autograd_grad_does_not_touch_dot_grad():
    x = leaf([1.0, 2.0])
    (g,) = torch.autograd.grad((x ** 2).sum(), x)
    close(g, [2.0, 4.0])
    assert x.grad is None
    g2 = torch.autograd.grad((x ** 2).sum(), [x])
    assert isinstance(g2, tuple) and len(g2) == 1


def test_autograd_grad_allow_unused():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph. Set allow_unused=True if "
                                           "this is the desired behavior."):
        torch.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = torch.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    close(gx, [2.0])
    assert gy is None
    gx, gy = torch.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True)
    close(gy, [0.0])


def test_autograd_grad_allow_unused_message():
    x, y = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used in "
                                           "the graph. Set allow_unused=True if this is the desired behavior."):
        torch.autograd.grad((x * 2).sum(), [x, y])


def test_autograd_grad_grad_outputs_and_retain():
    x = leaf([1.0, 2.0])
    y = x ** 3
    (g,) = torch.autograd.grad(y, x, grad_outputs=torch.tensor([1.0, 0.5]), retain_graph=True)
    close(g, [3.0, 6.0])
    (g,) = torch.autograd.grad(y, x, grad_outputs=torch.ones(2))
    close(g, [3.0, 12.0])
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        torch.autograd.grad(y, x, grad_outputs=torch.ones(2))


def test_autograd_grad_of_input_not_requiring_grad():
    with pytest.raises(RuntimeError, match="One of the differentiated Tensors does not require grad"):
        torch.autograd.grad((leaf([1.0]) * 2).sum(), torch.ones(1))


def test_higher_order_x_cubed():
    x = leaf(2.0, torch.float64)
    (d1,) = torch.autograd.grad(x ** 3, x, create_graph=True)
    assert d1.requires_grad
    close(d1, 12.0)
    (d2,) = torch.autograd.grad(d1, x, create_graph=True)
    close(d2, 12.0)
    (d3,) = torch.autograd.grad(d2, x)
    close(d3, 6.0)



@pytest.mark.parametrize("exponent, orders", [(3, [12.0, 12.0, 6.0, 0.0]), (3.0, [12.0, 12.0, 6.0, 0.0]),
                                              (2, [4.0, 2.0, 0.0]), (1, [1.0, 0.0]), (1.0, [1.0, 0.0])])
def test_higher_derivatives_of_a_power_require_grad_as_long_as_pytorchs(exponent, orders):
    # PyTorch's pow backward keeps x ** 0 in the graph: the k-th derivative of x ** 3 requires
    # grad for k <= 3 and the 4th is a plain zero; a loop of derivatives stops there, not before
    x = leaf(2.0, torch.float64)
    y, got = x ** exponent, []
    while y.requires_grad:
        (y,) = torch.autograd.grad(y, x, create_graph=True)
        got.append((y.item(), y.requires_grad))
    assert got == [(v, k < len(orders) - 1) for k, v in enumerate(orders)]


def test_higher_derivatives_of_float_powers_follow_each_exponent():
    # with create_graph the exponent's value is read as PyTorch reads it, so no gradient graph
    # made for one exponent may be stamped out again for another
    for p, second in ((3.0, 12.0), (0.5, -0.25 * 2.0 ** -1.5), (3.0, 12.0), (1.0, 0.0)):
        x = leaf(2.0, torch.float64)
        (d1,) = torch.autograd.grad(x ** p, x, create_graph=True)
        (d2,) = torch.autograd.grad(d1, x, allow_unused=True, materialize_grads=True)
        close(d2, second)

def test_create_graph_backward_then_grad_of_grad():
    x = leaf([1.0, 2.0], torch.float64)
    y = (x.sin() * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    xs = np.array([1.0, 2.0])
    close(g, np.cos(xs) * xs + np.sin(xs))
    (h,) = torch.autograd.grad(g.sum(), x)
    close(h, -np.sin(xs) * xs + 2 * np.cos(xs))


def test_mixed_second_derivative():
    x, y = leaf(1.5, torch.float64), leaf(-0.5, torch.float64)
    f = x * x * y + y.exp() * x
    (gx,) = torch.autograd.grad(f, x, create_graph=True)
    (gxy,) = torch.autograd.grad(gx, y)
    close(gxy, 2 * 1.5 + math.exp(-0.5))


# ---------------------------------------------------------------------------
# hooks


def test_register_hook_replaces_gradient_and_remove():
    x = leaf([1.0, 2.0])
    seen = []

    def double(g):
        seen.append(arr(g).copy())
        return g * 2

    h = x.register_hook(double)
    (x * 3).sum().backward()
    close(x.grad, [6.0, 6.0])
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    close(x.grad, [3.0, 3.0])
    assert len(seen) == 1


def test_hook_on_intermediate_and_observer_hook():
    x = leaf([1.0, 2.0])
    y = x * 2
    got = []
    y.register_hook(lambda g: got.append(arr(g).copy()))  # returns None: gradient unchanged
    y.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    np.testing.assert_allclose(got[0], [4.0, 8.0])
    close(x.grad, [10.0, 18.0])


def test_register_hook_on_non_grad_tensor():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        torch.ones(2).register_hook(lambda g: g)


# ---------------------------------------------------------------------------
# custom autograd.Function


class Exp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        r = x.exp()
        ctx.save_for_backward(r)
        return r

    @staticmethod
    def backward(ctx, g):
        (r,) = ctx.saved_tensors
        return g * r


class ScaleShift(torch.autograd.Function):
    """Several inputs incl. non-tensors, arbitrary ctx attributes, None gradients."""

    @staticmethod
    def forward(ctx, x, w, scale, tag):
        ctx.scale = scale
        ctx.tag = tag
        ctx.save_for_backward(x, w)
        ctx.flags = ctx.needs_input_grad
        return x * w * scale

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        assert ctx.tag == "hello"
        gx = g * w * ctx.scale if ctx.needs_input_grad[0] else None
        gw = g * x * ctx.scale if ctx.needs_input_grad[1] else None
        return gx, gw, None, None


class SplitSigns(torch.autograd.Function):
    """Two outputs."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx, ga, gb):
        (x,) = ctx.saved_tensors
        return ga * 2 + gb * 2 * x


class WrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * 3.0


def test_custom_function_basic():
    x = leaf([0.0, 1.0])
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward"
    close(y, np.exp([0.0, 1.0]))
    y.sum().backward()
    close(x.grad, np.exp([0.0, 1.0]), rtol=1e-6)


def test_custom_function_ctx_and_none_grads():
    x, w = leaf([1.0, 2.0]), torch.tensor([3.0, 4.0])
    y = ScaleShift.apply(x, w, 0.5, "hello")
    (y * y).sum().backward()
    close(x.grad, 2 * (x.detach() * w * 0.5) * w * 0.5)
    assert w.grad is None


def test_custom_function_needs_input_grad():
    seen = {}

    class Probe(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, k):
            seen["fwd"] = ctx.needs_input_grad
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            seen["bwd"] = ctx.needs_input_grad
            return g, None, None

    Probe.apply(leaf([1.0]), torch.ones(1), 2.0).sum().backward()
    assert tuple(seen["fwd"]) == (True, False, False)
    assert tuple(seen["bwd"]) == (True, False, False)


def test_custom_function_two_outputs():
    x = leaf([1.0, 3.0])
    a, b = SplitSigns.apply(x)
    (a.sum() + (b * 2).sum()).backward()
    close(x.grad, [2 + 4 * 1.0, 2 + 4 * 3.0])
    x.grad = None
    a, b = SplitSigns.apply(x)
    b.sum().backward()  # only one output used: the other gradient arrives as zeros
    close(x.grad, [2.0, 6.0])


def test_custom_function_wrong_number_of_grads():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="function BadBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        Bad.apply(leaf([1.0]), leaf([1.0])).sum().backward()


@srcgrad_only
def test_custom_function_backward_is_compiled():
    x = leaf([0.5, 1.5])

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3.0 * x.cos()  # deliberately unusual op, to find it in the source

    Cube.apply(x).sum().backward()
    close(x.grad, 3 * np.cos([0.5, 1.5]))
    src = torch._CACHE.history[-1].source
    assert "jnp.cos" in src, src
    assert "forward_backward" in src


def test_custom_function_create_graph():
    x = leaf(0.7, torch.float64)
    (g,) = torch.autograd.grad(Exp.apply(x), x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    close(h, math.exp(0.7))


# ---------------------------------------------------------------------------
# in-place and the version counter


def test_inplace_modification_of_saved_tensor_raises():
    x = leaf([1.0, 2.0, 3.0])
    y = x.exp()
    y.add_(1)  # exp saved its output
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert msg.startswith("one of the variables needed for gradient computation has been modified by an inplace "
                          "operation: [torch.FloatTensor [3]], which is output 0 of ")
    assert "is at version 1; expected version 0 instead." in msg
    if IS_SRCGRAD:
        assert "add_" in msg
        line = test_inplace_modification_of_saved_tensor_raises.__code__.co_firstlineno + 2
        assert f"test_autograd.py:{line}" in msg, msg


@pytest.mark.parametrize("change", ["zero_", "fill_", "copy_", "normal_", "uniform_"])
def test_inplace_change_through_a_detached_alias_names_the_op(change):
    a = leaf([1.0, 2.0])
    b = a.sigmoid()
    c = b.detach()
    args = {"fill_": (3.0,), "copy_": (torch.ones(2),)}.get(change, ())
    getattr(c, change)(*args)
    with pytest.raises(RuntimeError, match="which is output 0 of Sigmoid, is at version 1") as info:
        b.sum().backward()
    if IS_SRCGRAD:
        assert f"The in-place op was {change} at" in str(info.value)


def test_inplace_on_input_saved_by_mul():
    a = leaf([1.0, 2.0])
    b = a * 1
    c = b * b
    b.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_inplace_not_saved_is_fine():
    x = leaf([1.0, 2.0])
    y = x + 1  # add saves nothing
    y.mul_(3)
    y.sum().backward()
    close(x.grad, [3.0, 3.0])


def test_inplace_on_leaf_requiring_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        x.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                           "operation."):
        x += 1


def test_sgd_idiom_under_no_grad():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((16, 3)).astype(np.float32)
    true_w = np.array([[1.0], [-2.0], [0.5]], np.float32)
    X, Y = torch.tensor(xs), torch.tensor(xs @ true_w)
    w = torch.zeros(3, 1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    lr = 0.1
    losses = []
    ref_w, ref_b = np.zeros((3, 1)), np.zeros(1)
    for _ in range(30):
        loss = ((X @ w + b - Y) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        # NumPy reference step
        err = xs @ ref_w + ref_b - xs @ true_w
        ref_w -= lr * (2 * xs.T @ err / len(xs))
        ref_b -= lr * (2 * err.mean(0))
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad = None
        assert w.is_leaf and w.requires_grad and w.grad_fn is None
    close(w, ref_w, rtol=1e-4, atol=1e-5)
    close(b, ref_b, rtol=1e-4, atol=1e-5)
    assert losses[-1] < losses[0] * 0.05


def test_data_update_idiom():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    w.data -= 0.5 * w.grad.data
    close(w, [0.0, 0.0])
    assert w.requires_grad and w.is_leaf


# ---------------------------------------------------------------------------
# gradcheck


def test_gradcheck_passes_and_fails():
    gradcheck = torch.autograd.gradcheck
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([1.1, 0.4, -0.7], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda a, b: (a * b.tanh()).exp() / (1 + a * a), (x, y))
    assert gradcheck(lambda a: a.max(), (x,))
    assert gradcheck(Exp.apply, (x,))
    assert gradcheck(WrongGrad.apply, (x,), raise_exception=False) is False
    with pytest.raises(RuntimeError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradcheck(WrongGrad.apply, (x,))


class _JvpOnlyExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, g):
        return g * ctx.result


class _WrongJvp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        return torch.exp(foo)

    @staticmethod
    def jvp(ctx, g):
        return g * 2


def test_gradcheck_checks_forward_mode_as_the_forward_ad_tutorial_does():
    gradcheck = torch.autograd.gradcheck
    x = torch.tensor([[0.3, -1.2], [2.0, 0.1]], dtype=torch.float64, requires_grad=True)
    only_fwd = {"check_forward_ad": True, "check_backward_ad": False, "check_undefined_grad": False,
                "check_batched_grad": False}
    assert gradcheck(_JvpOnlyExp.apply, (x,), **only_fwd)
    assert gradcheck(_WrongJvp.apply, (x,), raise_exception=False, **only_fwd) is False
    with pytest.raises(RuntimeError, match="Jacobian computed with forward mode mismatch for output 0 with "
                                           "respect to input 0"):
        gradcheck(_WrongJvp.apply, (x,), **only_fwd)
    assert gradcheck(lambda a: (a.sin() * a).sum(1), (x,), check_forward_ad=True)


def test_gradcheck_needs_a_mode_and_grad_needs_inputs():
    x = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="Expected at least one of check_forward_ad or check_backward_ad"):
        torch.autograd.gradcheck(lambda a: a * 2, (x,), check_backward_ad=False)
    with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty."):
        torch.autograd.grad((x * 2).sum(), [])


def test_gradgradcheck():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda a: (a.sin() * a * a).sum(), (x,))
    assert torch.autograd.gradgradcheck(lambda a: F.softplus(a) * a.sigmoid(), (x,))


# ---------------------------------------------------------------------------
# autograd.functional against NumPy


def _f(x):
    return (x ** 2).sum() * x[0] + x[1].sin()


def _f_np_grad(v):
    g = 2 * v * v[0]
    g[0] += (v ** 2).sum()
    g[1] += np.cos(v[1])
    return g


def _f_np_hess(v):
    n = len(v)
    h = 2 * v[0] * np.eye(n)
    h[0, :] += 2 * v
    h[:, 0] += 2 * v
    h[1, 1] -= np.sin(v[1])
    return h


V = np.array([0.5, -1.0, 2.0])


def test_functional_jacobian():
    af = torch.autograd.functional
    J = af.jacobian(lambda x: x.exp() * x[0], torch.tensor(V, dtype=torch.float64))
    expected = np.diag(np.exp(V) * V[0])
    expected[:, 0] += np.exp(V)
    close(J, expected)
    Ja, Jb = af.jacobian(lambda a, b: a * b, (torch.tensor(V), torch.tensor(V * 2)))
    close(Ja, np.diag(V * 2))
    close(Jb, np.diag(V))
    assert J.shape == (3, 3)
    Jm = af.jacobian(lambda m: m.sum(0), torch.ones(2, 3, dtype=torch.float64))
    assert Jm.shape == (3, 2, 3)


def test_functional_hessian():
    H = torch.autograd.functional.hessian(_f, torch.tensor(V))
    close(H, _f_np_hess(V), rtol=1e-10)


def test_functional_vjp_jvp_hvp_vhp():
    af = torch.autograd.functional
    x = torch.tensor(V)
    v = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
    out, g = af.vjp(_f, x)
    close(out, (V ** 2).sum() * V[0] + np.sin(V[1]))
    close(g, _f_np_grad(V))
    out, jv = af.jvp(lambda t: t.exp() * t[0], x, v)
    J = np.diag(np.exp(V) * V[0])
    J[:, 0] += np.exp(V)
    close(jv, J @ np.array([1.0, 2.0, -1.0]))
    out, hv = af.hvp(_f, x, v)
    close(hv, _f_np_hess(V) @ np.array([1.0, 2.0, -1.0]), rtol=1e-10)
    out, vh = af.vhp(_f, x, v)
    close(vh, np.array([1.0, 2.0, -1.0]) @ _f_np_hess(V), rtol=1e-10)
    out, u = af.vjp(lambda t: t * 2, x, v)
    close(u, [2.0, 4.0, -2.0])


# ---------------------------------------------------------------------------
# gradients of the tricky cases


def test_full_max_min_ties_split_evenly():
    x = leaf([1.0, 3.0, 3.0, 2.0])
    x.max().backward()
    close(x.grad, [0.0, 0.5, 0.5, 0.0])
    y = leaf([[1.0, 1.0], [1.0, 5.0]])
    y.min().backward()
    close(y.grad, [[1 / 3, 1 / 3], [1 / 3, 0.0]])
    z = leaf([2.0, 2.0])
    z.amax().backward()
    close(z.grad, [0.5, 0.5])


def test_max_dim_ties_all_to_argmax():
    x = leaf([[3.0, 1.0, 3.0], [0.0, 2.0, 2.0]])
    v, i = x.max(dim=1)
    v.sum().backward()
    assert i.tolist() == [0, 1]
    close(x.grad, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    y = leaf([[3.0, 1.0, 3.0], [0.0, 2.0, 2.0]])
    y.min(dim=0, keepdim=True).values.sum().backward()
    close(y.grad, [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])


def test_maximum_ties_split():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    torch.maximum(a, b).sum().backward()
    close(a.grad, [0.5, 0.0, 1.0])
    close(b.grad, [0.5, 1.0, 0.0])


def test_indexing_repeated_indices_add_up():
    x = leaf([1.0, 2.0, 3.0])
    y = x[[0, 0, 2, 0]]
    (y * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    close(x.grad, [7.0, 0.0, 3.0])
    m = leaf(np.ones((3, 2)))
    m[torch.tensor([[1, 1], [2, 1]])].sum().backward()
    close(m.grad, [[0, 0], [3, 3], [1, 1]])


def test_slicing_and_mask_gradients():
    x = leaf(np.arange(6.0).reshape(2, 3))
    (x[:, ::2] * 2).sum().backward()
    close(x.grad, [[2, 0, 2], [2, 0, 2]])
    x.grad = None
    x[x > 2].sum().backward()
    close(x.grad, [[0, 0, 0], [1, 1, 1]])


def test_setitem_gradient():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    y[1] = 0.0
    (y * 2).sum().backward()
    close(x.grad, [2.0, 0.0, 2.0])


def test_where_gradient():
    x = leaf([-1.0, 2.0, -3.0])
    y = leaf([10.0, 20.0, 30.0])
    torch.where(x > 0, x * x, y).sum().backward()
    close(x.grad, [0.0, 4.0, 0.0])
    close(y.grad, [1.0, 0.0, 1.0])


def test_clamp_boundary_gradient():
    x = leaf([-1.0, 0.0, 0.5, 1.0, 2.0])
    x.clamp(0.0, 1.0).sum().backward()
    close(x.grad, [0.0, 1.0, 1.0, 1.0, 0.0])  # the boundary itself passes the gradient
    z = leaf([0.0, 1.0])
    z.clamp(min=0.0).sum().backward()
    close(z.grad, [1.0, 1.0])
    r = leaf([-1.0, 0.0, 1.0])
    r.relu().sum().backward()
    close(r.grad, [0.0, 0.0, 1.0])
    a = leaf([-2.0, 0.0, 3.0])
    a.abs().sum().backward()
    close(a.grad, [-1.0, 0.0, 1.0])


def test_stable_log_softmax_softplus_logsumexp_gradients():
    x = leaf([[1000.0, 0.0, -1000.0], [1e4, 1e4, 0.0]])
    ls = F.log_softmax(x, dim=1)
    assert np.isfinite(arr(ls)[:, :2]).all()
    ls[:, 0].sum().backward()
    assert np.isfinite(arr(x.grad)).all()
    close(x.grad, [[0.0, 0.0, 0.0], [0.5, -0.5, 0.0]], atol=1e-6)

    s = leaf([-1000.0, 0.0, 1000.0])
    out = F.softplus(s)
    close(out, [0.0, math.log(2), 1000.0])
    out.sum().backward()
    close(s.grad, [0.0, 0.5, 1.0])

    t = leaf([1e4, 1e4, -1e4])
    lse = t.logsumexp(0)
    close(lse, 1e4 + math.log(2), rtol=1e-7)
    lse.backward()
    close(t.grad, [0.5, 0.5, 0.0], rtol=1e-3)

    c = leaf([[50.0, -50.0]])
    F.cross_entropy(c * 100, torch.tensor([1])).backward()
    assert np.isfinite(arr(c.grad)).all()
    close(c.grad, [[100.0, -100.0]], rtol=1e-5)


def test_reduction_gradients_with_dim_keepdim():
    x = leaf(np.arange(1.0, 7.0).reshape(2, 3), torch.float64)
    (x.sum(1, keepdim=True) * torch.tensor([[1.0], [2.0]], dtype=torch.float64)).sum().backward()
    close(x.grad, [[1, 1, 1], [2, 2, 2]])
    x.grad = None
    x.mean((0, 1)).backward()
    close(x.grad, np.full((2, 3), 1 / 6))
    x.grad = None
    x.prod(1).sum().backward()
    v = np.arange(1.0, 7.0).reshape(2, 3)
    close(x.grad, v.prod(1, keepdims=True) / v)
    x.grad = None
    x.var(1).sum().backward()
    close(x.grad, 2 * (v - v.mean(1, keepdims=True)) / 2)
    x.grad = None
    x.norm().backward()
    close(x.grad, v / np.linalg.norm(v))


def test_matmul_gradients():
    a_np = np.arange(6.0).reshape(2, 3)
    b_np = np.arange(12.0).reshape(3, 4) / 10
    a, b = leaf(a_np, torch.float64), leaf(b_np, torch.float64)
    (a @ b).sum().backward()
    close(a.grad, np.ones((2, 4)) @ b_np.T)
    close(b.grad, a_np.T @ np.ones((2, 4)))
    v = leaf([1.0, 2.0, 3.0], torch.float64)
    (a @ v).sum().backward()
    close(v.grad, a_np.sum(0))
    bat = leaf(np.ones((2, 2, 3)), torch.float64)
    (bat @ b).sum().backward()
    close(bat.grad, np.broadcast_to(np.ones(4) @ b_np.T, (2, 2, 3)))


def test_shape_op_gradients():
    x = leaf(np.arange(6.0).reshape(2, 3))
    w = torch.tensor(np.arange(6.0).reshape(3, 2), dtype=torch.float32)
    (x.t() * w).sum().backward()
    close(x.grad, np.arange(6.0).reshape(3, 2).T)
    x.grad = None
    torch.cat([x, x * 2], dim=1).sum().backward()
    close(x.grad, np.full((2, 3), 3.0))
    x.grad = None
    x.unsqueeze(0).expand(4, 2, 3).sum().backward()
    close(x.grad, np.full((2, 3), 4.0))
    x.grad = None
    a, b = x.split([1, 2], dim=1)
    (a * 3).sum().backward()
    close(x.grad, [[3, 0, 0], [3, 0, 0]])
    x.grad = None
    x.repeat(2, 1).sum().backward()
    close(x.grad, np.full((2, 3), 2.0))


def test_op_without_derivative_rule_fails_at_backward_naming_it():
    from srcgrad.ops import OPS, defop, same
    from srcgrad.tensor import record

    defop("my_cube", same, "{0} ** 3", "MyCubeBackward0")
    try:
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = record("my_cube", (x,))  # recording works: the rule is only needed for the gradient
        np.testing.assert_allclose(y.detach().numpy(), [1.0, 8.0])
        with pytest.raises(RuntimeError, match=r"no derivative rule for op 'my_cube' \(recorded at .*test_autograd"):
            y.sum().backward()
        assert x.grad is None
    finally:
        del OPS["my_cube"]


# -- regressions against PyTorch's behaviour (values from PyTorch 2.x) ------------------


def test_inplace_under_no_grad_on_non_leaf_keeps_history():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 3
    c = b * 1
    with torch.no_grad():
        c.mul_(2)
    assert c.requires_grad and c.grad_fn.name() == "MulBackward0" and c._version == 1
    assert c.tolist() == [6., 12.]
    (c * a).sum().backward()
    assert a.grad.tolist() == [9., 18.]  # the hidden update passes the gradient to the old c as is

    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 3
    with torch.no_grad():
        b[0] = 0.
    assert b.grad_fn.name() == "MulBackward0"
    (b * a).sum().backward()
    assert a.grad.tolist() == [3., 12.]

    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 3
    with torch.no_grad():
        b.clamp_(max=4)
    (b * a).sum().backward()
    assert b.tolist() == [3., 4.] and a.grad.tolist() == [6., 10.]

    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 3
    v = b[0:1]
    with torch.no_grad():
        v.mul_(2)
    (b * a).sum().backward()
    assert b.tolist() == [6., 6.] and a.grad.tolist() == [9., 12.]


def test_inplace_under_no_grad_of_a_saved_value_still_raises():
    a = torch.tensor([1., 2.], requires_grad=True)
    b = a.exp()
    with torch.no_grad():
        b.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_set_grad_enabled_as_decorator_applies_only_inside():
    @torch.set_grad_enabled(False)
    def f() -> bool:
        return torch.is_grad_enabled()

    assert torch.is_grad_enabled()
    assert f() is False and torch.is_grad_enabled()
    torch.set_grad_enabled(False)  # as a statement it switches at once
    try:
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)
    with torch.no_grad():
        @torch.set_grad_enabled(True)
        def h() -> bool:
            return torch.is_grad_enabled()
        assert h() is True and not torch.is_grad_enabled()


def test_grad_mode_decorators_without_parentheses():
    @torch.no_grad
    def g() -> bool:
        return torch.is_grad_enabled()

    @torch.enable_grad
    def e() -> bool:
        return torch.is_grad_enabled()

    @torch.inference_mode
    def i() -> bool:
        return torch.is_grad_enabled()

    assert g() is False and torch.is_grad_enabled() and g.__name__ == "g"
    assert i() is False
    with torch.no_grad():
        assert e() is True and not torch.is_grad_enabled()


def test_custom_function_saved_tensor_modified_in_place_raises():
    class Sq(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    a = torch.tensor([1., 2.], requires_grad=True)
    x = a * 1
    y = Sq.apply(x)
    with torch.no_grad():
        x.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

    a = torch.tensor([1., 2.], requires_grad=True)
    y = Exp.apply(a)  # (saves its output)
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    a = torch.tensor([0., 1.], requires_grad=True)
    Exp.apply(a).sum().backward()
    assert np.allclose(a.grad.tolist(), [1., math.e])


def test_hook_changing_size_or_type_raises():
    x = torch.ones(3, requires_grad=True)
    x.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
        x.sum().backward()

    def myhook(g):
        return g.double()

    x = torch.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(myhook)
    with pytest.raises(RuntimeError, match=r"hook 'myhook' has changed the type of value \(was torch.FloatTensor "
                                           r"got torch.DoubleTensor\)"):
        y.sum().backward()
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="has changed the size of value"):
        y.sum().backward()
    x = torch.ones(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert x.grad.tolist() == [20., 20., 20.]


def test_custom_function_backward_gets_a_slot_for_every_output():
    seen = {}

    class Many(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = (x > 1).long()
            m = x * 0 + 5
            ctx.mark_non_differentiable(m)
            return x * 2, m, idx, 3, None

        @staticmethod
        def backward(ctx, g, gm, gi, g3, gn):
            seen.update(g=g.tolist(), gm=gm.tolist(), gi=gi.tolist(), gi_float=gi.dtype.is_floating_point,
                        g3=g3, gn=gn)
            return g * 2

    a = torch.tensor([1., 2.], requires_grad=True)
    y, m, idx, three, none = Many.apply(a)
    assert y.requires_grad and not m.requires_grad and not idx.requires_grad and three == 3 and none is None
    y.sum().backward()
    assert a.grad.tolist() == [2., 2.]
    assert seen == dict(g=[1., 1.], gm=[0., 0.], gi=[0, 0], gi_float=False, g3=None, gn=None)


def test_custom_function_mark_dirty():
    class Inc(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    a = torch.tensor([1., 2.], requires_grad=True)
    c = a.clone()
    o = Inc.apply(c)
    assert o is c and o.requires_grad and o.tolist() == [2., 3.]
    assert type(o.grad_fn).__name__ == "IncBackward"
    (o * 1).sum().backward()
    assert a.grad.tolist() == [3., 3.]


def test_custom_function_setup_context_and_once_differentiable():
    class Mul(torch.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.k = k
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    a = torch.tensor([1., 2.], requires_grad=True)
    o = Mul.apply(a, 3.0)
    assert o.tolist() == [3., 6.]
    o.sum().backward()
    assert a.grad.tolist() == [3., 3.]

    modes = []

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            modes.append(torch.is_grad_enabled())
            return 3 * x * x * g

    a = torch.tensor([1., 2.], requires_grad=True)
    (g,) = torch.autograd.grad(Cube.apply(a).sum(), a, create_graph=True)
    assert g.tolist() == [3., 12.] and not g.requires_grad and modes == [False]


def test_functional_create_graph_connects_to_inputs():
    F = torch.autograd.functional
    xx = torch.tensor([1., 2.], requires_grad=True)
    J = F.jacobian(lambda x: x ** 3, xx, create_graph=True)
    assert J.requires_grad and J.tolist() == [[3., 0.], [0., 12.]]
    assert torch.autograd.grad(J.sum(), xx)[0].tolist() == [6., 12.]
    H = F.hessian(lambda x: (x ** 3).sum(), xx, create_graph=True)
    assert H.tolist() == [[6., 0.], [0., 12.]]
    assert torch.autograd.grad(H.sum(), xx)[0].tolist() == [6., 6.]
    o, v = F.vjp(lambda x: x ** 3, xx, torch.ones(2), create_graph=True)
    assert v.tolist() == [3., 12.] and torch.autograd.grad(v.sum(), xx)[0].tolist() == [6., 12.]


def test_functional_of_constant_functions_gives_zeros_and_strict_raises():
    F = torch.autograd.functional
    assert F.jacobian(lambda x: torch.ones(3), torch.tensor([1., 2.])).tolist() == [[0., 0.]] * 3
    j = F.jacobian(lambda x, y: x * 2, (torch.tensor([1., 2.]), torch.tensor([3.])))
    assert j[0].tolist() == [[2., 0.], [0., 2.]] and j[1].tolist() == [[0.], [0.]]
    assert F.hessian(lambda x: torch.tensor(1.), torch.tensor([1., 2.])).tolist() == [[0., 0.]] * 2
    assert F.hessian(lambda x: x.sum(), torch.tensor([1., 2.])).tolist() == [[0., 0.]] * 2
    assert F.vjp(lambda x: torch.ones(2), torch.tensor([1., 2.]), torch.ones(2))[1].tolist() == [0., 0.]
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
        F.jacobian(lambda x: torch.ones(3), torch.tensor([1., 2.]), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
        F.vjp(lambda x: torch.ones(2), torch.tensor([1., 2.]), torch.ones(2), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        F.jacobian(lambda x, y: x * 2, (torch.tensor([1., 2.]), torch.tensor([3.])), strict=True)
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0 is "
                                           "independent of the input"):
        F.hessian(lambda x: x.sum(), torch.tensor([1., 2.]), strict=True)


def test_detach_shares_storage_both_ways():
    x = torch.tensor([1., 2., 3.])
    d = x.detach()
    d[0] = 5.
    assert x.tolist() == [5., 2., 3.] and x._version == 1 and d._version == 1

    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = x * x
    x.detach()[0] = 5.
    assert x.tolist() == [5., 2., 3.] and x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = x.exp()
    y.detach().zero_()
    assert y.tolist() == [0., 0., 0.] and y.grad_fn.name() == "ExpBackward0"
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()

    x = torch.tensor([1., 2., 3.], requires_grad=True)
    y = x * 2
    y.detach().zero_()
    (y * x).sum().backward()
    assert x.grad.tolist() == [2., 4., 6.]

    p = torch.ones(3, requires_grad=True)
    sd = p.detach()
    with torch.no_grad():
        p.fill_(7.)
    assert sd.tolist() == [7., 7., 7.] and sd._version == 1

    x = torch.zeros(4)
    v = x[1:3]
    v.detach().fill_(2.)
    assert x.tolist() == [0., 2., 2., 0.] and v.tolist() == [2., 2.]


def test_data_shares_storage_without_version_checks():
    p = torch.ones(3, requires_grad=True)
    dd = p.data
    dd.mul_(3)
    assert p.tolist() == [3., 3., 3.] and p._version == 0 and dd._version == 1
    p = torch.ones(3, requires_grad=True)
    dd = p.data
    with torch.no_grad():
        p.add_(1)
    assert dd.tolist() == [2., 2., 2.] and p._version == 1 and dd._version == 0
    q = torch.zeros(3)
    p.data = q
    q.add_(1)
    assert p.tolist() == [1., 1., 1.] and p.requires_grad


def test_grad_accumulates_into_the_same_tensor():
    x = torch.tensor([1., 2.], requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad
    (x * x).sum().backward()
    assert g is x.grad and g.tolist() == [5., 7.]
    (x * 3).sum().backward()
    assert g is x.grad and g.tolist() == [8., 10.]


# -- grad_fn names of ops srcgrad builds from others, as PyTorch names them ---------------


def test_grad_fn_names_of_composite_ops_as_pytorch():
    F = torch.nn.functional
    x = torch.tensor([[1.0, -2.0, 3.0], [0.5, 2.0, -1.0]], requires_grad=True)
    target = torch.tensor([0, 2])
    cases = [
        ("MaskedFillBackward0", lambda: x.masked_fill(x > 0, 0.0)), ("VarBackward0", lambda: x.var()),
        ("VarBackward0", lambda: x.var(1)), ("StdBackward0", lambda: x.std()), ("StdBackward0", lambda: x.std(0)),
        ("CumsumBackward0", lambda: x.cumsum(0)), ("UnbindBackward0", lambda: x.unbind()[0]),
        ("UnbindBackward0", lambda: torch.unbind(x, 1)[2]), ("RepeatBackward0", lambda: x.repeat(2, 1)),
        ("PowBackward0", lambda: x.square()), ("CloneBackward0", lambda: x.t().contiguous()),
        ("MseLossBackward0", lambda: F.mse_loss(x, torch.zeros(2, 3))),
        ("MseLossBackward0", lambda: F.mse_loss(x, torch.zeros(2, 3), reduction="sum")),
        ("MseLossBackward0", lambda: F.mse_loss(x, torch.zeros(2, 3), reduction="none")),
        ("NllLossBackward0", lambda: F.nll_loss(x, target)),
        ("NllLossBackward0", lambda: F.nll_loss(x, target, reduction="sum")),
        ("NllLossBackward0", lambda: F.nll_loss(x, target, reduction="none")),
        ("NllLossBackward0", lambda: F.nll_loss(x[0], torch.tensor(1), reduction="none")),
        ("NllLossBackward0", lambda: F.cross_entropy(x, target)),
        ("MeanBackward0", lambda: F.l1_loss(x, torch.zeros(2, 3))),
        ("SumBackward0", lambda: F.l1_loss(x, torch.zeros(2, 3), reduction="sum")),
        ("AbsBackward0", lambda: F.l1_loss(x, torch.zeros(2, 3), reduction="none")),
        ("SortBackward0", lambda: x.sort().values), ("HardtanhBackward0", lambda: F.hardtanh(x)),
        ("IndexAddBackward0", lambda: x.index_add(0, torch.tensor([1]), torch.ones(1, 3))),
    ]
    for name, make in cases:
        assert make().grad_fn.name() == name, name
    y = x * 1
    y[0] = 5.0
    assert y.grad_fn.name() == "torch::autograd::CopySlices" and type(y.grad_fn).__name__ == "CopySlices"
    assert repr(y).endswith("grad_fn=<CopySlices>)") and repr(y.grad_fn).startswith("<CopySlices object at")
    y = x * 1
    y[0].fill_(1.0)
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    y = x * 1
    y[[0]] = 1.0
    assert y.grad_fn.name() == "IndexPutBackward0"
    y = x * 1
    y[0] = 5.0
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]


def test_in_place_write_to_a_view_of_a_leaf_is_refused_as_pytorch():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for index in (0, slice(0, 1)):
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation.$"):
            w[index] = 5.0
    for index in ([0], w > 1, Ellipsis, slice(None)):
        with pytest.raises(RuntimeError, match="^a leaf Variable that requires grad is being used in an in-place "
                                               "operation.$"):
            w[index] = 5.0
    with torch.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0]


def test_backward_with_empty_inputs_raises():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for call in (lambda: (w * 2).sum().backward(inputs=[]), lambda: w.backward(inputs=[]),
                 lambda: torch.autograd.backward((w * 2).sum(), inputs=[])):
        with pytest.raises(RuntimeError, match="^`inputs` argument to `backward\\(\\)` cannot be empty.$"):
            call()
    assert w.grad is None


def _fn_with_backward(ret):
    class X(torch.autograd.Function):
        @staticmethod
        def forward(ctx, a, *rest):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return ret(g)

    return X


def test_custom_function_backward_results_are_checked_as_pytorch():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    for ret, args, err in [
        (lambda g: 1.0, (w,), "expected Variable or None (got float)"),
        (lambda g: [g], (w,), "expected Variable or None (got list)"),
        (lambda g: (g, g), (w, 3), "function XBackward returned a gradient different than None at position 2, but "
                                   "the corresponding forward input was not a Variable"),
        (lambda g: torch.ones(3), (w,), "Function XBackward returned an invalid gradient at index 0 - got [3] but "
                                        "expected shape compatible with [2]"),
        (lambda g: (g, torch.ones(3)), (w, torch.ones(2, requires_grad=True)),
         "Function XBackward returned an invalid gradient at index 1 - got [3] but expected shape compatible with [2]"),
        (lambda g: torch.tensor(1.0), (w,), "Function XBackward returned an invalid gradient at index 0 - got [] but "
                                            "expected shape compatible with [2]"),
        (lambda g: (g, g), (w,), "function XBackward returned an incorrect number of gradients (expected 1, got 2)"),
    ]:
        fn = _fn_with_backward(ret)
        fn.__name__ = "X"
        with pytest.raises(RuntimeError) as info:
            fn.apply(*args).sum().backward()
        assert str(info.value) == err
    # a gradient that broadcasts to the input is summed back to its shape; inputs without grad are not checked
    for ret, args, expect in [(lambda g: torch.ones(3, 2), (w,), [3.0, 3.0]),
                              (lambda g: (g, torch.ones(3)), (w, torch.ones(2)), [1.0, 1.0])]:
        w.grad = None
        _fn_with_backward(ret).apply(*args).sum().backward()
        assert w.grad.tolist() == expect


def test_post_accumulate_grad_hook():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        torch.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
    (w * 3).sum().backward()
    (w * w).sum().backward()
    assert seen == [[3.0, 3.0], [5.0, 7.0]]
    other = torch.tensor([1.0, 2.0], requires_grad=True)
    (w * other).sum().backward(inputs=[other])  # w's .grad is not accumulated: no call
    torch.autograd.grad((w * 3).sum(), w)  # autograd.grad accumulates nothing
    assert len(seen) == 2
    torch.autograd.backward((w * 3).sum())
    assert len(seen) == 3
    handle.remove()
    (w * 3).sum().backward()
    assert len(seen) == 3
    handle = w.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(TypeError, match="expected Variable, but hook returned 'int'"):
        (w * 3).sum().backward()
    handle.remove()


# ---------------------------------------------------------------------------
# anomaly detection, Variable, gradcheck checks, forward_ad (review items 8, 27, 30, 18)

ANOMALY_WARNING = ("Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
                   "enabled for debugging.")


def _anomaly_flags():
    if IS_SRCGRAD:
        return torch.autograd.is_anomaly_enabled(), torch.autograd.is_anomaly_check_nan_enabled()
    return torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()


def test_set_detect_anomaly_as_function_and_context_manager():
    assert _anomaly_flags() == (False, True)
    r = torch.autograd.set_detect_anomaly(True, check_nan=False)
    assert _anomaly_flags() == (True, False)
    with torch.autograd.set_detect_anomaly(False):
        assert _anomaly_flags() == (False, True)
    assert _anomaly_flags() == (True, False)
    torch.autograd.set_detect_anomaly(False)
    assert _anomaly_flags() == (False, True)
    with r:  # exiting restores the setting from before r was made
        pass
    assert _anomaly_flags() == (False, True)


def test_detect_anomaly_warns_and_restores():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ctx = torch.autograd.detect_anomaly(check_nan=False)
    assert [str(x.message) for x in w if issubclass(x.category, UserWarning)] == [ANOMALY_WARNING]
    with ctx:
        assert _anomaly_flags() == (True, False)
    assert _anomaly_flags() == (False, True)
    with pytest.raises(TypeError), warnings.catch_warnings():  # not a decorator in PyTorch 2.13
        warnings.simplefilter("ignore")
        torch.autograd.detect_anomaly()(lambda: None)


@srcgrad_only
def test_anomaly_nan_check_hook():
    from srcgrad.grad_mode import check_anomaly_nan
    bad = (torch.tensor([1., float("nan")]),)
    check_anomaly_nan("SqrtBackward0", bad)  # off: nothing happens
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            check_anomaly_nan("SqrtBackward0", (None, torch.tensor([1., 2.])))
            with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values in its 1th output\."):
                check_anomaly_nan("SqrtBackward0", (None, bad[0]))
        with torch.autograd.detect_anomaly(check_nan=False):
            check_anomaly_nan("SqrtBackward0", bad)


def test_detect_anomaly_raises_on_nan_gradient():
    x = torch.tensor([-1.], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values in its 0th output\."):
                x.sqrt().sum().backward()


def test_detect_anomaly_warns_with_the_forward_traceback_of_the_failing_op():
    x = torch.tensor([-1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with torch.autograd.detect_anomaly():
            y = x.sqrt()  # the line the warning must show
            z = y.sum() * 2
            with pytest.raises(RuntimeError, match="SqrtBackward0"):
                z.backward()
    (msg,) = [str(w.message) for w in rec if "Error detected" in str(w.message)]
    assert msg.startswith("Error detected in SqrtBackward0. Traceback of forward call that caused the error:\n")
    assert "test_autograd.py" in msg and "y = x.sqrt()  # the line the warning must show" in msg
    assert os.sep + "srcgrad" + os.sep not in msg.split("\n", 1)[1]  # the user's frames only


def test_detect_anomaly_warns_for_a_failing_custom_function_backward():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with torch.autograd.detect_anomaly():
            y = Bad.apply(x)
            with pytest.raises(ValueError, match="boom"):
                y.sum().backward()
    msgs = [str(w.message) for w in rec if "Error detected" in str(w.message)]
    assert len(msgs) == 1 and msgs[0].startswith("Error detected in BadBackward. Traceback of forward call")
    assert "y = Bad.apply(x)" in msgs[0]


def test_variable_is_a_type_for_isinstance():
    V = torch.autograd.Variable
    assert isinstance(torch.ones(1), V)
    assert not isinstance([1.], V)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        V([1., 2.])
    w = torch.ones(2, requires_grad=True)
    v = V(w)
    assert v is not w and not v.requires_grad
    v = V(w * 2, requires_grad=True)
    assert v.requires_grad and v.is_leaf
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        V(torch.ones(2), volatile=True)
    assert any("volatile was removed and now has no effect. Use `with torch.no_grad():` instead." in str(x.message)
               for x in rec)
    assert V().numel() == 0


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require gradient, but none "
                                         "of them have requires_grad=True."):
        torch.autograd.gradcheck(lambda a: a * 2, (torch.ones(2, dtype=torch.float64),))


def test_gradcheck_backward_not_multiplied_by_grad_output():
    class Bad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2 + 1e-3

    x = torch.tensor([1., 2.], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(Bad.apply, (x,), raise_exception=False, atol=1e-2) is False
    with pytest.raises(RuntimeError, match="backward not multiplied by grad_output"):
        torch.autograd.gradcheck(Bad.apply, (x,), atol=1e-2)


def test_gradcheck_message_prints_tensors_and_float32_warning():
    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3 / 3 + x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = torch.tensor([1.4142135623730951, 1.7320508075688772], dtype=torch.float64, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        torch.autograd.gradcheck(Wrong.apply, (x,))
    msg = str(e.value)
    assert msg.startswith("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:tensor([[3.0000, 0.0000],")
    assert "analytical:tensor([[3., 0.],\n        [0., 3.]], dtype=torch.float64)" in msg
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        torch.autograd.gradcheck(lambda a: a * 2, (torch.ones(2, requires_grad=True),), raise_exception=False)
    assert any("Input #0 requires gradient and is not a double precision floating point or complex. This check will "
               "likely fail if all the inputs are not of double precision floating point or complex. "
               == str(x.message) for x in w)


@srcgrad_only
def test_forward_ad_dual_tensors():  # (in full: tests/test_autograd_forward_ad.py)
    import srcgrad.autograd.forward_ad as fwad
    with fwad.dual_level():
        d = fwad.make_dual(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.5]))
        assert fwad.unpack_dual(d * d).tangent.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="no level exists"):
        fwad.make_dual(torch.ones(2), torch.ones(2))


def test_std_of_a_constant_has_a_zero_gradient():
    x = torch.ones(4, requires_grad=True)
    x.std().backward()
    assert x.grad.tolist() == [0.0] * 4  # (PyTorch's std_backward: 0 where the spread is 0, not nan)
    z = torch.full((3,), 2.0, requires_grad=True)
    ((z - z.mean()) / (z.std() + 1e-5)).sum().backward()
    assert np.isfinite(z.grad.numpy()).all()


def test_a_second_backward_through_ops_that_save_nothing_works():
    x = torch.ones(2, requires_grad=True)
    y = (-x).sum()
    y.backward()
    y.backward()  # (NegBackward0 and SumBackward0 save nothing: PyTorch allows it)
    assert x.grad.tolist() == [-2.0, -2.0]
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        z.backward()


def test_post_accumulate_grad_hook_runs_in_the_backwards_grad_mode():
    # PyTorch's docstring example: an SGD step inside the hook (grad mode off without create_graph)
    p = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    modes = []

    def sgd(t):
        modes.append(torch.is_grad_enabled())
        t.add_(t.grad, alpha=-0.01)

    p.register_post_accumulate_grad_hook(sgd)
    (p * 1).sum().backward()
    assert modes == [False] and torch.is_grad_enabled()
    assert p.tolist() == pytest.approx([0.99, 1.99, 2.99])
    q = torch.tensor([1.0], requires_grad=True)
    q.register_post_accumulate_grad_hook(lambda t: modes.append(torch.is_grad_enabled()))
    (q * q).sum().backward(create_graph=True)
    assert modes[-1] is True


def test_retain_grad_follows_the_tensor_through_an_inplace_change():
    x = torch.ones(3, requires_grad=True)
    t = x * 2
    t.retain_grad()
    t.mul_(3)
    (t * 5).backward(torch.ones(3))
    assert t.retains_grad
    assert t.grad.tolist() == [5.0, 5.0, 5.0]  # the gradient of t's latest value, as PyTorch
    assert x.grad.tolist() == [30.0, 30.0, 30.0]
