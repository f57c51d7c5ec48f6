"""autograd.forward_ad: dual tensors, tangents from srcgrad's reverse rules op by op.

Tangents are checked against jax.jvp (an oracle, in tests only) and, where PyTorch is
installed, against torch.autograd.forward_ad; messages are PyTorch's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad
import srcgrad.autograd.forward_ad as fwad

rs = np.random.RandomState(0)
X = np.linspace(-1, 1, 5).astype(np.float32)
W = rs.randn(3, 5).astype(np.float32)
V = rs.randn(5).astype(np.float32)


def t(a, requires_grad=False):
    return srcgrad.tensor(np.asarray(a, dtype=np.float32), requires_grad=requires_grad)


def _f(lib, x, w):
    return (w @ lib.sin(x)).tanh() * 2 + x[:3] ** 2 if lib is srcgrad else jnp.tanh(w @ jnp.sin(x)) * 2 + x[:3] ** 2


def test_tangents_match_jax_jvp():
    with fwad.dual_level():
        d = fwad.make_dual(t(X), t(V))
        y = _f(srcgrad, d, t(W))
        print(y)  # the primal may be computed before the tangent is asked for
        primal, tangent = fwad.unpack_dual(y)
        z = srcgrad.nn.functional.log_softmax(y, 0).sum() + y.max() + y.norm()
        tz = fwad.unpack_dual(z).tangent
    jy, jt = jax.jvp(lambda x: _f(jnp, x, W), (X,), (V,))
    np.testing.assert_allclose(primal.numpy(), jy, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tangent.numpy(), jt, rtol=1e-5, atol=1e-6)

    def jz(x):
        y = _f(jnp, x, W)
        return jax.nn.log_softmax(y, 0).sum() + y.max() + jnp.linalg.norm(y)

    np.testing.assert_allclose(tz.numpy(), jax.jvp(jz, (X,), (V,))[1], rtol=1e-5, atol=1e-5)


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfwad
    outs = []
    for lib, mod in ((srcgrad, fwad), (torch, tfwad)):
        x, w, v = lib.tensor(X), lib.tensor(W), lib.tensor(V)
        with mod.dual_level():
            d = mod.make_dual(x, v)
            h = lib.nn.functional.gelu(d.reshape(1, 5) @ w.t()).squeeze(0)
            y = lib.cumsum(h * h.exp(), 0).mean() / d.abs().clamp(min=0.2).sum()
            outs.append([mod.unpack_dual(h).tangent.numpy(), mod.unpack_dual(y).tangent.numpy()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_primal_view_and_plain_tensors_have_no_tangent():
    with fwad.dual_level():
        d = fwad.make_dual(t(X), t(V))
        p, tan = fwad.unpack_dual(d * 2)
        assert tan is not None and fwad.unpack_dual(p).tangent is None
        assert fwad.unpack_dual(p * 3).tangent is None
        assert fwad.unpack_dual(t([1.0])).tangent is None
        assert fwad.unpack_dual(d.argmax()).tangent is None  # an integer result
        assert not (d * 2).requires_grad
    assert fwad.unpack_dual(d * 2).tangent is None  # after the level: ordinary tensors


def test_in_place_ops_on_dual_tensors():
    with fwad.dual_level():
        d = fwad.make_dual(t(X), t(V))
        y = d.clone()
        y.mul_(3).sin_()
        tan = fwad.unpack_dual(y).tangent
    np.testing.assert_allclose(tan.numpy(), np.cos(3 * X) * 3 * V, rtol=1e-5, atol=1e-6)


def test_forward_over_reverse_hessian_vector_product():
    x = t(X, requires_grad=True)
    with fwad.dual_level():
        d = fwad.make_dual(x, t(V))
        (g,) = srcgrad.autograd.grad((d ** 3).sum() + (d.sin() * d).sum(), d, create_graph=True)
        hvp = fwad.unpack_dual(g).tangent
    np.testing.assert_allclose(hvp.detach().numpy(), (6 * X + 2 * np.cos(X) - X * np.sin(X)) * V, rtol=1e-5, atol=1e-5)


def test_tangent_is_differentiable_in_reverse_mode():
    x = t(X, requires_grad=True)
    with fwad.dual_level():
        tan = fwad.unpack_dual((fwad.make_dual(x, t(V)) ** 2).sum()).tangent
    assert tan.requires_grad
    tan.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * V, rtol=1e-6)


def test_custom_function_jvp():
    class Cube(srcgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

        @staticmethod
        def jvp(ctx, tx):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * tx

    class NoJvp(srcgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with fwad.dual_level():
        d = fwad.make_dual(t(X), t(V))
        tan = fwad.unpack_dual(Cube.apply(d) + 1).tangent
        np.testing.assert_allclose(tan.numpy(), 3 * X ** 2 * V, rtol=1e-5)
        with pytest.raises(NotImplementedError, match="You must implement the jvp function for custom "
                                                      "autograd.Function to use it with forward mode AD."):
            NoJvp.apply(d)  # (at apply, as PyTorch)
        y = NoJvp.apply(t(X))  # no dual input: fine, and no tangent
        assert fwad.unpack_dual(y).tangent is None and "tangent" not in repr(y)


def test_messages():
    with pytest.raises(RuntimeError, match="no level exists, make sure to enter_dual_level\\(\\) first"):
        fwad.make_dual(t(X), t(V))
    with fwad.dual_level():
        with pytest.raises(RuntimeError, match="Tensor is of size \\[5\\] while the given forward gradient is of "
                                               "size \\[3\\]"):
            fwad.make_dual(t(X), t(V[:3]))
        with pytest.raises(ValueError, match="Expected primal to be floating point or complex, but got: "
                                             "torch.int64"):
            fwad.make_dual(srcgrad.tensor([1, 2]), t([1.0, 2.0]))
        with pytest.raises(RuntimeError, match="Nested forward mode AD is not supported at the moment"):
            fwad.enter_dual_level()
    with pytest.raises(RuntimeError, match="Dual level must be a positive number"):
        fwad.exit_dual_level()
    assert fwad.unpack_dual(t(X)).tangent is None  # outside a level: a plain tensor


def test_a_compiled_function_inside_a_level_carries_tangents():
    f = srcgrad.compile(lambda x: (x * x).sin())
    f(t(X))
    f(t(X))  # (replayed from now on, outside a level)
    with fwad.dual_level():
        tan = fwad.unpack_dual(f(fwad.make_dual(t(X), t(V)))).tangent
    np.testing.assert_allclose(tan.numpy(), np.cos(X * X) * 2 * X * V, rtol=1e-5, atol=1e-6)


def test_vmap_inside_a_level_says_what_to_use():
    with fwad.dual_level():
        y = srcgrad.func.vmap(lambda r: r.sum())(fwad.make_dual(t(W), t(W)))
        with pytest.raises(NotImplementedError, match="use srcgrad.func.jvp or srcgrad.func.jacfwd"):
            fwad.unpack_dual(y)


def test_jvp_of_a_long_chain_does_not_recurse():
    with fwad.dual_level():
        y = fwad.make_dual(t([0.5]), t([1.0]))
        for _ in range(400):
            y = y * 1.0001
        tan = fwad.unpack_dual(y).tangent
    np.testing.assert_allclose(tan.numpy(), [1.0001 ** 400], rtol=1e-4)


def test_a_dual_tensor_prints_its_tangent_as_pytorch_does():
    with fwad.dual_level():
        d = fwad.make_dual(srcgrad.tensor([1.0, 2.0]), srcgrad.tensor([3.0, 4.0]))
        assert repr(d) == "tensor([1., 2.], tangent=tensor([3., 4.]))"
        assert repr(d.sum()) == "tensor(3., tangent=7.0)"
        assert repr(d.exp()) == "tensor([2.7183, 7.3891], tangent=tensor([ 8.1548, 29.5562]))"
        x = srcgrad.ones(2, requires_grad=True)
        assert repr(fwad.make_dual(x * 1, srcgrad.ones(2))) == \
            "tensor([1., 1.], grad_fn=<ViewBackward0>, tangent=tensor([1., 1.]))"
        assert repr(srcgrad.ones(2)) == "tensor([1., 1.])"
        assert repr(fwad.unpack_dual(d).primal) == "tensor([1., 2.])"
    assert repr(d) == "tensor([1., 2.])"


def test_a_tangent_used_again_inside_its_level_has_no_tangent_of_its_own():
    with fwad.dual_level():
        d = fwad.make_dual(srcgrad.tensor([1.0, 2.0]), srcgrad.ones(2))
        y = d ** 2
        t = fwad.unpack_dual(y).tangent
        assert repr(t) == "tensor([2., 4.])" and fwad.unpack_dual(t * 3).tangent is None
        assert fwad.unpack_dual(y + t).tangent.tolist() == [2.0, 4.0]  # (PyTorch's: t adds no tangent)


def test_a_wider_tangent_widens_the_tangents_it_reaches():
    # PyTorch's formulas mix primal and tangent (sin: t * cos(x)), so a float64 tangent of a
    # float32 primal gives float64 tangents, computed in float64
    x = t(X)
    with fwad.dual_level():
        d = fwad.make_dual(x, srcgrad.tensor(V.astype(np.float64)))
        y = fwad.unpack_dual(d.sin() * 2 + d).tangent
    assert y.dtype == srcgrad.float64
    np.testing.assert_allclose(y.numpy(), V.astype(np.float64) * (2 * np.cos(X.astype(np.float64)) + 1),
                               rtol=1e-6)
