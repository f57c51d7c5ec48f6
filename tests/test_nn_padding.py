"""F.pad (srcgrad/pooling.py) and the padding layers: values against np.pad, gradients against finite
differences and jax.grad of jnp.pad, second derivatives, PyTorch's errors and reprs, and PyTorch itself
where it is installed."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad import pooling as P
from srcgrad.autograd import gradcheck, gradgradcheck

NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def np_pad(x, pad, mode, value=0.0, lib=np):
    """PyTorch's F.pad with np.pad (or jnp.pad): pairs from the last dim backwards; negative widths
    crop first, and the padding is made from what is left."""
    for k in range(len(pad) // 2):
        dim = x.ndim - 1 - k
        lo, hi = pad[2 * k], pad[2 * k + 1]
        cut = [slice(None)] * x.ndim
        cut[dim] = slice(max(-lo, 0), x.shape[dim] - max(-hi, 0))
        x = x[tuple(cut)]
        widths = [(0, 0)] * x.ndim
        widths[dim] = (max(lo, 0), max(hi, 0))
        kw = {"constant_values": value} if mode == "constant" else {}
        x = lib.pad(x, widths, mode=NP_MODE[mode], **kw)
    return x


GRAD_NAME = {"constant": "ConstantPadNdBackward0", "reflect": "ReflectionPad{}DBackward0",
             "replicate": "ReplicationPad{}DBackward0", "circular": "CopySlices"}

CASES = [
    ((1, 2), (2, 3, 5)),
    ((1, 2), (3, 5)),
    ((2, 0, 1, 3), (2, 3, 4, 5)),
    ((2, 0, 1, 3), (3, 4, 5)),
    ((1, 1, 2, 1, 1, 0), (1, 2, 3, 4, 5)),
    ((-1, 2), (2, 3, 5)),
    ((2, -1, 0, -2), (2, 3, 4, 5)),
    ((3, -2), (1, 2, 6)),
    ((0, 0, 1, 1), (2, 3, 4)),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("case", CASES, ids=[f"pad-{i}" for i in range(len(CASES))])
def test_pad_values_and_gradients_match_numpy_and_jax(mode, case):
    pad, shape = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    value = 1.5 if mode == "constant" else None
    ref = np_pad(x, pad, mode, value or 0.0)
    tx = sg.tensor(x, requires_grad=True)
    y = P.pad(tx, pad, mode, value)
    assert y.grad_fn.name() == GRAD_NAME[mode].format(len(pad) // 2).replace("CopySlices",
                                                                              "torch::autograd::CopySlices")
    np.testing.assert_array_equal(y.detach().numpy(), ref)
    gy = rng.standard_normal(ref.shape)
    y.backward(sg.tensor(gy))
    oracle = jax.grad(lambda a: (np_pad(a, pad, mode, value or 0.0, lib=jnp) * gy).sum())(jnp.asarray(x))
    np.testing.assert_allclose(tx.grad.numpy(), np.asarray(oracle), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_finite_differences_and_second_derivatives(mode):
    x = sg.tensor(np.random.default_rng(1).standard_normal((2, 3, 4)), requires_grad=True)
    fn = lambda t: P.pad(t, (2, 1, 1, 2), mode)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(lambda t: fn(t) ** 2, (x,))


def test_reflect_and_replicate_add_gradients_back():
    x = sg.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)
    P.pad(x, (2, 2), "reflect").sum().backward()  # [3 2 | 1 2 3 4 | 3 2]
    assert x.grad.tolist() == [[1.0, 3.0, 3.0, 1.0]]
    x.grad = None
    P.pad(x, (2, 1), "replicate").sum().backward()  # [1 1 | 1 2 3 4 | 4]
    assert x.grad.tolist() == [[3.0, 1.0, 1.0, 2.0]]
    x.grad = None
    P.pad(x, (1, 2), "circular").sum().backward()  # [4 | 1 2 3 4 | 1 2]
    assert x.grad.tolist() == [[2.0, 2.0, 1.0, 2.0]]


def test_constant_pad_value_dtypes_and_infinities():
    x = sg.arange(6).reshape(2, 3)
    assert P.pad(x, (1, 0), value=2.5).tolist() == [[2, 0, 1, 2], [2, 3, 4, 5]]  # cast to the dtype, as PyTorch
    y = P.pad(sg.ones(1, 2), (1, 1), value=float("-inf"))
    assert y.tolist() == [[float("-inf"), 1.0, 1.0, float("-inf")]]
    assert P.pad(sg.ones(3, 8), (-5, -3)).shape == (3, 0)


def test_pad_errors_read_like_pytorch():
    x = sg.randn(2, 3, 8)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        P.pad(x, (1,))
    with pytest.raises(RuntimeError, match="Padding length should be less than or equal to two times the input "
                                           "dimension but got padding length 10 and input of dimension 3"):
        P.pad(x, (1,) * 10)
    with pytest.raises(RuntimeError, match=r"Argument #4: Padding size should be less than the corresponding input "
                                           r"dimension, but got: padding \(8, 3\) at dimension 2 of input \[2, 3, 8\]"):
        P.pad(x, (8, 3), mode="reflect")
    with pytest.raises(RuntimeError, match="Padding value causes wrapping around more than once."):
        P.pad(x, (9, 3), mode="circular")
    with pytest.raises(NotImplementedError, match="Padding size 6 is not supported for 3D input tensor"):
        P.pad(x, (1,) * 6, mode="reflect")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input tensor"):
        P.pad(sg.randn(8), (1, 1), mode="replicate")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        P.pad(x, (1, 1), mode="foo")
    with pytest.raises(RuntimeError, match='Padding mode "reflect" doesn\'t take in value argument'):
        P.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(RuntimeError, match=r"narrow\(\): length must be non-negative."):
        P.pad(sg.ones(3, 8), (-5, -4))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.CircularPad2d(1)(sg.ones(3, 8))


def test_padding_modules_and_reprs():
    x = sg.tensor(np.random.default_rng(2).standard_normal((2, 3, 4, 5)))
    x3 = x[0]
    cases = [
        (nn.ZeroPad2d(2), "ZeroPad2d((2, 2, 2, 2))", x, P.pad(x, (2, 2, 2, 2))),
        (nn.ZeroPad1d((1, 2)), "ZeroPad1d((1, 2))", x, P.pad(x, (1, 2))),
        (nn.ConstantPad1d((1, 2), 3.5), "ConstantPad1d(padding=(1, 2), value=3.5)", x, P.pad(x, (1, 2), value=3.5)),
        (nn.ConstantPad2d(1, 0.0), "ConstantPad2d(padding=(1, 1, 1, 1), value=0.0)", x, P.pad(x, (1, 1, 1, 1))),
        (nn.ReflectionPad1d(2), "ReflectionPad1d((2, 2))", x3, P.pad(x3, (2, 2), "reflect")),
        (nn.ReflectionPad2d((1, 0, 2, 1)), "ReflectionPad2d((1, 0, 2, 1))", x, P.pad(x, (1, 0, 2, 1), "reflect")),
        (nn.ReplicationPad1d((1, 2)), "ReplicationPad1d((1, 2))", x3, P.pad(x3, (1, 2), "replicate")),
        (nn.ReplicationPad2d(1), "ReplicationPad2d((1, 1, 1, 1))", x, P.pad(x, (1, 1, 1, 1), "replicate")),
        (nn.CircularPad1d(1), "CircularPad1d((1, 1))", x3, P.pad(x3, (1, 1), "circular")),
        (nn.CircularPad2d((1, 2, 0, 1)), "CircularPad2d((1, 2, 0, 1))", x, P.pad(x, (1, 2, 0, 1), "circular")),
        (nn.ReplicationPad3d(1), "ReplicationPad3d((1, 1, 1, 1, 1, 1))", x, P.pad(x, (1,) * 6, "replicate")),
    ]
    for module, text, inp, expect in cases:
        assert repr(module) == text
        np.testing.assert_array_equal(module(inp).numpy(), expect.numpy())


def test_pad_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for mode in ("constant", "reflect", "replicate", "circular"):
        for pad, shape in CASES:
            x = rng.standard_normal(shape)
            value = -2.0 if mode == "constant" else None
            tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
            ty = torch.nn.functional.pad(tx, pad, mode, value)
            sy = P.pad(sx, pad, mode, value)
            assert sy.grad_fn.name() == ty.grad_fn.name()
            np.testing.assert_array_equal(sy.detach().numpy(), ty.detach().numpy())
            gy = rng.standard_normal(tuple(ty.shape))
            ty.backward(torch.tensor(gy))
            sy.backward(sg.tensor(gy))
            np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    for theirs, mine in [(torch.nn.ZeroPad2d(2), nn.ZeroPad2d(2)), (torch.nn.ConstantPad1d((1, 2), 3.5),
                                                                     nn.ConstantPad1d((1, 2), 3.5)),
                         (torch.nn.ReflectionPad2d(1), nn.ReflectionPad2d(1)),
                         (torch.nn.ReplicationPad1d((1, 2)), nn.ReplicationPad1d((1, 2))),
                         (torch.nn.CircularPad3d(1), nn.CircularPad3d(1))]:
        assert repr(mine) == repr(theirs)


# ---------------------------------------------------------------------------
# grad_fn edges: reflect and replicate padding are composites (slices, flips, a cat), shown as PyTorch's one
# function of the input (P.as_function); constant padding is one primitive. Circular padding is PyTorch's
# copies into a new tensor (CopySlices), not one function of the input.

ACC = "torch::autograd::AccumulateGrad"


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
@pytest.mark.parametrize("case", CASES, ids=[f"pad-{i}" for i in range(len(CASES))])
def test_pad_grad_fn_has_one_edge_the_input(mode, case):
    pad, shape = case
    x = sg.randn(*shape, dtype=sg.float64, requires_grad=True)
    for inp, first in ((x, ACC), (x * 2, "MulBackward0")):
        y = P.pad(inp, pad, mode)
        assert y.grad_fn.name() == GRAD_NAME[mode].format(len(pad) // 2)
        (edge,) = y.grad_fn.next_functions
        assert edge[1] == 0 and edge[0].name() == first
        if first == ACC:
            assert edge[0].variable is x
    assert P.pad(x.detach(), pad, mode).grad_fn is None
    if mode != "constant":  # (gradients still flow through the composite: each output element's to its source)
        y = P.pad(x, pad, mode)
        y.backward(sg.ones_like(y))
        np.testing.assert_allclose(x.grad.numpy().sum(), y.numel())


def test_pad_grad_fn_edges_match_torch():
    torch = pytest.importorskip("torch")

    def tree(fn):
        return None if fn is None else (fn.name(), [tree(f) for f, _ in fn.next_functions])

    rng = np.random.default_rng(4)
    for mode in ("constant", "reflect", "replicate"):
        for pad, shape in CASES:
            x = rng.standard_normal(shape)
            tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
            assert tree(P.pad(sx, pad, mode).grad_fn) == tree(torch.nn.functional.pad(tx, pad, mode).grad_fn)
            assert tree(P.pad(sx * 2, pad, mode).grad_fn) == tree(torch.nn.functional.pad(tx * 2, pad, mode).grad_fn)
