"""Tensor/autograd behaviours that match PyTorch 2.13 (from the autograd review): hooks kept across
in-place updates, backward's gradient lists, requires_grad_, the generic in-place methods, .grad
and .data validation, shared version counters and warnings. Each test states PyTorch's behaviour
without torch; the comparisons at the end run only where torch is installed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn

# -- 1. hooks on a leaf survive in-place updates under no_grad -------------------------------


def test_leaf_hooks_survive_an_in_place_update_under_no_grad():
    calls = []
    w = nn.Parameter(sg.ones(3))
    w.register_hook(lambda g: calls.append(g.numpy().copy()))
    for _ in range(3):
        (w * w).sum().backward()
        with sg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    assert len(calls) == 3  # PyTorch calls the hook at every backward
    np.testing.assert_allclose(calls[-1], 2 * 0.8 * 0.8 * np.ones(3), rtol=1e-6)
    assert w.is_leaf and w.requires_grad


def test_a_hook_that_changes_the_gradient_keeps_doing_so_after_updates():
    w = sg.tensor([1.0, 2.0], requires_grad=True)
    w.register_hook(lambda g: g * 0)
    for _ in range(2):
        (w * 3).sum().backward()
        with sg.no_grad():
            w.add_(1.0)
        np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
        w.grad = None


def test_post_accumulate_hooks_run_every_step_under_compile():
    seen = []
    w = sg.ones(3, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: seen.append(1))

    @sg.compile
    def step(w):
        (w * w).sum().backward()
        with sg.no_grad():
            w -= 0.1 * w.grad
        w.grad = None

    for _ in range(3):
        step(w)
    assert len(seen) == 3


# -- 2. backward(gradient) with a list or tuple -----------------------------------------------


def test_backward_takes_a_list_of_gradients_and_checks_its_entries():
    x = sg.ones(2, requires_grad=True)
    (x * 2).backward([sg.ones(2)])
    (x * 2).backward((sg.ones(2),))
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    with pytest.raises(TypeError, match="gradients can be either Tensors or None, but got float"):
        (x * 2).backward([1.0])


# -- 3. requires_grad_ ---------------------------------------------------------------------------


def test_requires_grad_true_on_a_non_leaf_that_requires_grad_is_a_no_op():
    x = sg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.requires_grad_() is y and y.requires_grad_(True) is y
    assert y.grad_fn.name() == "MulBackward0"
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)


def test_requires_grad_after_recording_does_not_change_the_recorded_graph():
    w = sg.tensor([1.0, 2.0])
    v = sg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * v).sum()
    w.requires_grad_(True)  # after the forward: the graph was recorded without w
    y.backward()
    assert w.grad is None
    np.testing.assert_array_equal(v.grad.numpy(), [1.0, 2.0])
    (w * v).sum().backward()  # a graph recorded now sees it
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])
    assert w.is_leaf and w.grad_fn is None


def test_requires_grad_after_recording_a_pending_value():
    v = sg.tensor([3.0, 4.0], requires_grad=True)
    w = sg.tensor([1.0, 2.0]) * 2  # (not computed yet)
    y = (w * v).sum()
    w.requires_grad_()
    y.backward()
    assert w.grad is None
    (w * v).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


def test_requires_grad_messages():
    t = sg.tensor([1, 0])
    with pytest.raises(RuntimeError, match="^only Tensors of floating point dtype can require gradients$"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="^only Tensors of floating point and complex dtype can require "
                                           "gradients$"):
        t.requires_grad = True


# -- 4. in-place methods -------------------------------------------------------------------------

UNARY_INPLACE = ["exp_", "log_", "sigmoid_", "tanh_", "sqrt_", "abs_", "neg_", "sin_", "cos_", "reciprocal_",
                 "rsqrt_", "square_", "floor_", "ceil_", "round_", "trunc_", "sign_", "log1p_", "expm1_", "erf_",
                 "asin_", "atan_", "sinh_", "frac_", "sinc_", "nan_to_num_"]


@pytest.mark.parametrize("name", UNARY_INPLACE)
def test_unary_in_place_methods_match_their_out_of_place_forms(name):
    a = np.array([[0.3, 0.7, 0.2], [0.9, 0.4, 0.6]])
    x = sg.tensor(a, requires_grad=True)
    expect = getattr(x, name[:-1])()
    y = x * 1
    assert getattr(y, name)() is y and y._version == 1
    np.testing.assert_allclose(y.detach().numpy(), expect.detach().numpy(), rtol=1e-6)
    assert y.grad_fn.name() == expect.grad_fn.name()
    y.sum().backward()
    g = x.grad.numpy().copy()
    x.grad = None
    expect.sum().backward()
    np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-6)


def test_in_place_grad_fn_names_are_pytorchs():
    x = sg.tensor([[0.5, -1.0, 2.0], [0.3, 0.7, -0.2]], requires_grad=True)
    cases = [
        (lambda z: z.clamp_min_(0.0), "ClampMinBackward0"), (lambda z: z.clamp_max_(1.0), "ClampMaxBackward0"),
        (lambda z: z.clip_(0, 1), "ClampBackward1"), (lambda z: z.clamp_(0, 1), "ClampBackward1"),
        (lambda z: z.masked_fill_(x > 0, 1.0), "MaskedFillBackward0"), (lambda z: z.pow_(2), "PowBackward0"),
        (lambda z: z.index_fill_(1, sg.tensor([0, 2]), 1.0), "IndexFillBackward0"),
        (lambda z: z.index_copy_(1, sg.tensor([0]), x[:, :1] * 3), "IndexCopyBackward0"),
        (lambda z: z.tril_(), "TrilBackward0"), (lambda z: z.triu_(1), "TriuBackward0"),
        (lambda z: z.t_(), "TBackward1"), (lambda z: z.transpose_(0, 1), "TransposeBackward1"),
        (lambda z: z.unsqueeze_(0), "UnsqueezeBackward1"), (lambda z: z.fmod_(0.7), "FmodBackward0"),
        (lambda z: z.lerp_(x, 0.5), "LerpBackward0"), (lambda z: z.sub_(x, alpha=2), "SubBackward0"),
    ]
    for fn, name in cases:
        z = x * 1
        assert fn(z) is z and z._version == 1
        assert z.grad_fn.name() == name, (name, z.grad_fn.name())


def test_shape_changing_in_place_methods():
    x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x * 1
    y.t_()
    assert tuple(y.shape) == (3, 2) and not y.is_contiguous() and y._version == 1
    y.unsqueeze_(0)
    assert tuple(y.shape) == (1, 3, 2) and y.grad_fn.name() == "UnsqueezeBackward1"
    y.squeeze_()
    assert tuple(y.shape) == (3, 2) and y.grad_fn.name() == "SqueezeBackward3"
    y = y * sg.tensor([[1.0, 2.0]] * 3)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])
    z = sg.zeros(2, 1, 3)
    assert z.squeeze_(1) is z and tuple(z.shape) == (2, 3)


def test_in_place_methods_raise_pytorchs_errors():
    y = sg.tensor([1.0, 2.0], requires_grad=True) * 1
    y.sigmoid_()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been "
                                           r"modified by an inplace operation: \[torch.FloatTensor \[2\]\], which is "
                                           "output 0 of Sigmoid(Backward0)?, is at version 2; expected version 1"):
        y.sum().backward()
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        sg.ones(2, requires_grad=True).exp_()
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        sg.tensor([1, 2]).exp_()


def test_in_place_methods_on_a_view_write_through_and_keep_a_leaf_a_leaf_under_no_grad():
    b = sg.ones(2, 3)
    b[0].exp_()
    np.testing.assert_allclose(b.numpy(), [[np.e] * 3, [1.0] * 3], rtol=1e-6)
    w = sg.ones(3, requires_grad=True)
    with sg.no_grad():
        w.sqrt_().mul_(4)
    assert w.is_leaf and w.requires_grad and w._version == 2


def test_index_fill_index_copy_tril_triu_values():
    x = sg.zeros(3, 4)
    np.testing.assert_array_equal(x.index_fill(1, sg.tensor([1, 3]), 2.0).numpy()[0], [0, 2, 0, 2])
    np.testing.assert_array_equal(x.index_copy(0, sg.tensor([2]), sg.ones(1, 4)).numpy()[:, 0], [0, 0, 1])
    np.testing.assert_array_equal(sg.ones(3, 4).tril(-1).numpy(), np.tril(np.ones((3, 4)), -1))
    np.testing.assert_array_equal(sg.ones(2, 3, 4).triu(1).numpy(), np.triu(np.ones((3, 4)), 1)[None].repeat(2, 0))
    x.index_fill_(0, sg.tensor([0]), sg.tensor(5.0))
    assert x.numpy()[0].tolist() == [5.0] * 4


# -- 6. atan2 at the origin ------------------------------------------------------------------------


def test_atan2_gradient_at_the_origin_is_zero():
    x = sg.tensor([0.0, 1.0], requires_grad=True)
    sg.atan2(x, x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])
    y = sg.tensor([0.0, 0.0], requires_grad=True)
    z = sg.tensor([0.0, 2.0], requires_grad=True)
    sg.atan2(y, z).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.5])
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 0.0])


# -- 7. .grad / .data / detach_ validation, versions, warnings -----------------------------------


def test_grad_setter_messages_and_deleter():
    x = sg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^attempting to assign a gradient of size '\[3\]' to a tensor of size "
                                           r"'\[2\]'. Please ensure that the gradient and the tensor are the same size$"):
        x.grad = sg.ones(3)
    with pytest.raises(RuntimeError, match="^attempting to assign a gradient with dtype 'double' to a tensor with "
                                           "grad_dtype 'Float'. The gradient must match"):
        x.grad = sg.ones(2, dtype=sg.float64)
    x.grad = sg.ones(2)
    del x.grad
    assert x.grad is None


def test_data_set_to_an_integer_tensor_on_a_tensor_that_requires_grad():
    y = sg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="^data set to a tensor that requires gradients must be floating point "
                                           "or complex dtype$"):
        y.data = sg.tensor([1, 2])
    z = sg.ones(2)
    z.data = sg.tensor([1, 2])
    assert z.dtype is sg.int64


def test_detach_in_place_of_a_view_raises():
    for v in (sg.ones(3, requires_grad=True)[1:], sg.ones(3)[1:], (sg.ones(2, 3, requires_grad=True) * 1).t()):
        with pytest.raises(RuntimeError, match="^Can't detach views in-place. Use detach\\(\\) instead."):
            v.detach_()
    y = sg.ones(3, requires_grad=True) * 2
    assert y.detach_() is y and not y.requires_grad


def test_detach_aliases_share_the_version_counter():
    x = sg.ones(2, requires_grad=True)
    with sg.no_grad():
        for _ in range(3):
            x.add_(1)
    y = x.detach()
    assert y._version == 3
    y.add_(1)
    assert x._version == y._version == 4
    assert x.data._version == 0  # (.data has a counter of its own)


def test_copy_construct_and_degrees_of_freedom_warnings():
    x = sg.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match=r"To copy construct from a tensor, it is recommended to use "
                                         r"sourceTensor.detach\(\).clone\(\)"):
        sg.tensor(x)
    with pytest.warns(UserWarning, match=r"std\(\): degrees of freedom is <= 0"):
        sg.ones(1).std()
    with pytest.warns(UserWarning, match=r"var\(\): degrees of freedom is <= 0"):
        sg.ones(3, 1).var(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sg.ones(3).std(0)
        sg.as_tensor(x, dtype=sg.float64)


# -- against PyTorch, where it is installed ---------------------------------------------------------


def _run_both(fn):
    torch = pytest.importorskip("torch")
    return fn(torch), fn(sg)


def _outcome(f):
    try:
        r = f()
        return "ok", r
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e).__name__, str(e).split(" The in-place op was")[0].split(" Hint:")[0]


@pytest.mark.parametrize("name", UNARY_INPLACE + ["clamp_min_", "clamp_max_", "t_", "squeeze_", "relu_"])
def test_in_place_against_pytorch(name):
    def run(t):
        x = t.tensor([[0.3, 0.7, 0.2], [0.9, 0.4, 0.6]], dtype=t.float64, requires_grad=True)
        y = x * 1
        args = {"clamp_min_": (0.5,), "clamp_max_": (0.5,)}.get(name, ())
        getattr(y, name)(*args)
        (y * t.arange(6.0, dtype=t.float64).reshape(y.shape)).sum().backward()
        return y.detach().numpy(), x.grad.numpy(), y.grad_fn.name(), y._version

    (tv, tg, tn, tver), (sv, sgr, sn, sver) = _run_both(run)
    np.testing.assert_allclose(sv, tv, rtol=1e-12)
    np.testing.assert_allclose(sgr, tg, rtol=1e-12)
    assert (sn, sver) == (tn, tver)


def test_requires_grad_and_hooks_against_pytorch():
    def run(t):
        out = []
        w = t.tensor([1.0, 2.0])
        v = t.tensor([1.0, 2.0], requires_grad=True)
        y = (w * v).sum()
        w.requires_grad_(True)
        y.backward()
        out.append(w.grad)
        calls = []
        p = t.nn.Parameter(t.ones(3))
        p.register_hook(lambda g: calls.append(1))
        for _ in range(3):
            (p * p).sum().backward()
            with t.no_grad():
                p -= 0.1 * p.grad
            p.grad = None
        out.append(len(calls))
        out.append(_outcome(lambda: (v * 2).backward([1.0])))
        return out

    assert _run_both(run)[0] == _run_both(run)[1]
