"""srcgrad.nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal) and the
legacy hook-based nn.utils.weight_norm / spectral_norm: values and gradients against NumPy formulas written
here, gradcheck in float64, PyTorch's errors, state dicts and reprs (and PyTorch itself where installed),
and a compiled training step."""

from __future__ import annotations

import copy
import re
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad.compiled import CompileWarning
from srcgrad.nn.utils import parametrizations as PZ
from srcgrad.nn.utils import parametrize as P

RNG = np.random.default_rng(7)


def t64(a, requires_grad=False):
    return sg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if isinstance(a, sg.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def num_grad(f, x, eps=1e-6):
    """Central differences of a NumPy function ``f`` (returning a scalar) at ``x`` (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def filled(m, rng=RNG, dtype=sg.float64):
    """``m`` with random parameters of ``dtype`` set from NumPy (its own random initialisation, pending,
    is then never computed: no random-number program to compile)."""
    for p in m.parameters():
        p.data = sg.tensor(rng.standard_normal(tuple(p.shape)), dtype=dtype)
    return m


def linear64(i, o, bias=True):
    return filled(nn.Linear(i, o, bias=bias))


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT


class Scale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, X):
        return X * self.c

    def right_inverse(self, A):
        return A / self.c


class Split(nn.Module):
    """Two originals: the weight is their sum plus a product (right_inverse: (A, 0))."""

    def forward(self, a, b):
        return a + a * b

    def right_inverse(self, A):
        return A.clone(), sg.zeros_like(A)


# ---------------------------------------------------------------------------
# register_parametrization


def test_register_swaps_the_class_and_computes_the_weight_on_access():
    m = linear64(3, 3)
    w = m.weight
    W = w.detach().numpy().copy()
    assert P.register_parametrization(m, "weight", Symmetric()) is m
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert P.type_before_parametrizations(m) is nn.Linear and P.type_before_parametrizations(nn.ReLU()) is nn.ReLU
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert not P.is_parametrized(nn.Linear(2, 2))
    assert isinstance(m.parametrizations, nn.ModuleDict)
    assert isinstance(m.parametrizations.weight, P.ParametrizationList)
    assert m.parametrizations.weight.original is w  # the same Parameter: an optimizer keeps working
    assert "weight" not in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    sym = np.triu(W) + np.triu(W, 1).T
    close(m.weight, sym)
    assert m.weight.grad_fn is not None and m.weight is not m.weight  # computed at every access
    assert repr(m) == ("ParametrizedLinear(\n  in_features=3, out_features=3, bias=True\n"
                       "  (parametrizations): ModuleDict(\n    (weight): ParametrizationList(\n"
                       "      (0): Symmetric()\n    )\n  )\n)")
    x = RNG.standard_normal((4, 3))
    C = RNG.standard_normal((4, 3))
    (m(t64(x)) * t64(C)).sum().backward()
    b = m.bias.detach().numpy()

    def loss(Wn):
        return ((x @ (np.triu(Wn) + np.triu(Wn, 1).T).T + b) * C).sum()
    close(m.parametrizations.weight.original.grad, num_grad(loss, W), tol=1e-6)


def test_right_inverse_runs_at_registration_and_on_assignment():
    m = linear64(3, 2)
    w = m.weight
    W = w.detach().numpy().copy()
    P.register_parametrization(m, "weight", Scale(4.0))
    close(m.parametrizations.weight.original, W / 4)
    close(m.weight, W)
    assert m.parametrizations.weight.original is w
    Z = RNG.standard_normal((2, 3))
    m.weight = t64(Z)
    close(m.parametrizations.weight.original, Z / 4)
    close(m.weight, Z)
    assert m.parametrizations.weight.original is w and "weight" not in m.__dict__
    assert not m.parametrizations.weight.original.grad_fn


def test_stacked_parametrizations_apply_in_order_and_invert_in_reverse():
    m = linear64(3, 3)
    W = m.weight.detach().numpy().copy()
    P.register_parametrization(m, "weight", Scale(2.0))
    P.register_parametrization(m, "weight", Symmetric())
    P.register_parametrization(m, "weight", Scale(3.0))
    plist = m.parametrizations.weight
    assert len(plist) == 3 and isinstance(plist[1], Symmetric)
    close(m.weight, 3 * (np.triu(W) + np.triu(W, 1).T))
    assert "(0): Scale()\n      (1): Symmetric()\n      (2): Scale()" in repr(m)
    with pytest.raises(RuntimeError, match="parametrization Symmetric does not implement right_inverse."):
        m.weight = t64(np.eye(3))
    P.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and not hasattr(m, "parametrizations")
    close(m.weight, 3 * (np.triu(W) + np.triu(W, 1).T))


def test_several_originals_from_right_inverse():
    m = linear64(3, 2)
    W = m.weight.detach().numpy().copy()
    P.register_parametrization(m, "weight", Split())
    plist = m.parametrizations.weight
    assert not plist.is_tensor and plist.ntensors == 2
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original0",
                                                    "parametrizations.weight.original1"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in (plist.original0, plist.original1))
    close(plist.original0, W)
    close(plist.original1, np.zeros((2, 3)))
    with sg.no_grad():
        plist.original1.fill_(0.5)
    close(m.weight, 1.5 * W)
    m.weight.sum().backward()
    close(plist.original0.grad, np.full((2, 3), 1.5))
    close(plist.original1.grad, W)
    m.weight = t64(np.ones((2, 3)))
    close(plist.original0, np.ones((2, 3)))
    close(plist.original1, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=re.escape("Cannot leave unparametrized (`leave_parametrized=False`) a "
                                                   "tensor that is parametrized in terms of a sequence of tensors.")):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    assert P.is_parametrized(m, "weight")
    P.remove_parametrizations(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad and m.weight.is_leaf
    close(m.weight, np.ones((2, 3)))


def test_buffers_and_several_tensors_of_one_module():
    m = linear64(2, 2)
    m.register_buffer("mask", t64([[1.0, 0.0], [1.0, 1.0]]))
    P.register_parametrization(m, "mask", Scale(2.0))
    P.register_parametrization(m, "weight", Symmetric())
    assert not isinstance(m.parametrizations.mask.original, nn.Parameter)
    close(m.parametrizations.mask.original, [[0.5, 0.0], [0.5, 0.5]])
    close(m.mask, [[1.0, 0.0], [1.0, 1.0]])
    assert sorted(m.state_dict()) == ["bias", "parametrizations.mask.original", "parametrizations.weight.original"]
    cls = type(m)
    P.remove_parametrizations(m, "weight")
    assert type(m) is cls and P.is_parametrized(m) and not P.is_parametrized(m, "weight")
    assert isinstance(m.weight, nn.Parameter)
    P.remove_parametrizations(m, "mask", leave_parametrized=False)
    assert type(m) is nn.Linear and "mask" in m._buffers
    close(m.mask, [[0.5, 0.0], [0.5, 0.5]])


def test_remove_leaves_the_parameter_object_in_place_for_the_optimizer():
    m = linear64(3, 2)
    w = m.weight
    P.register_parametrization(m, "weight", Scale(2.0))
    opt = sg.optim.SGD(m.parameters(), lr=0.1)
    x = t64(RNG.standard_normal((4, 3)))
    m(x).pow(2).sum().backward()
    opt.step()
    expect = 2 * m.parametrizations.weight.original.detach().numpy()
    P.remove_parametrizations(m, "weight")
    assert m.weight is w and isinstance(m.weight, nn.Parameter)
    close(m.weight, expect)
    m2 = linear64(3, 2)
    w2 = m2.weight.detach().numpy().copy()
    P.register_parametrization(m2, "weight", Scale(2.0))
    P.remove_parametrizations(m2, "weight", leave_parametrized=False)
    close(m2.weight, w2 / 2)


def test_unsafe_allows_a_new_shape_and_dtype():
    class Twice(nn.Module):
        def forward(self, X):
            return sg.cat([X, X]).float()

    m = linear64(3, 2)
    P.register_parametrization(m, "weight", Twice(), unsafe=True)
    assert m.weight.shape == (4, 3) and m.weight.dtype == sg.float32 and m.parametrizations.weight.unsafe
    P.register_parametrization(m, "weight", Scale(2.0), unsafe=False)
    assert m.parametrizations.weight.unsafe  # (stays unsafe once unsafe)
    assert m.weight.shape == (4, 3) and m.weight.dtype == sg.float32


def test_cached_computes_each_tensor_once_per_block():
    m = linear64(3, 3)
    calls = []

    class Counting(nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 2

    P.register_parametrization(m, "weight", Counting())
    calls.clear()
    with P.cached():
        a = m.weight
        with P.cached():
            b = m.weight
        assert m.weight is a is b
    assert len(calls) == 1 and P._cache == {}
    assert m.weight is not m.weight and len(calls) == 3


def test_deepcopy_gives_an_independent_module_and_pickling_is_refused():
    import pickle

    m = PZ.weight_norm(linear64(3, 2))
    c = copy.deepcopy(m)
    assert type(c).__name__ == "ParametrizedLinear" and type(c) is not type(m)
    close(c.weight, m.weight.detach().numpy())
    P.remove_parametrizations(c, "weight")
    assert type(c) is nn.Linear and P.is_parametrized(m, "weight") and m.weight.shape == (2, 3)
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules is only supported through "
                                           r"state_dict\(\)"):
        pickle.dumps(m)
    m.float()
    assert m.weight.dtype == sg.float32 and m.parametrizations.weight.original1.dtype == sg.float32


def test_transfer_parametrizations_and_params():
    src = linear64(3, 2)
    P.register_parametrization(src, "weight", Scale(2.0))
    dst = linear64(3, 2)
    P.transfer_parametrizations_and_params(src, dst)
    assert dst.parametrizations.weight.original is src.parametrizations.weight.original
    close(dst.weight, src.weight.detach().numpy())


# ---------------------------------------------------------------------------
# errors: PyTorch's messages, raised before anything changes


class _Double(nn.Module):
    def forward(self, X):
        return sg.cat([X, X])


class _To64(nn.Module):
    def forward(self, X):
        return X.double()


class _Id(nn.Module):
    def forward(self, X):
        return X


class _BadInverse(nn.Module):
    def forward(self, X):
        return X

    def right_inverse(self, X):
        return 3


class _BadSecond(nn.Module):
    def forward(self, a, b):
        return a + b

    def right_inverse(self, X):
        return X, 3


class _Inverse64(nn.Module):
    def forward(self, X):
        return X.float()

    def right_inverse(self, X):
        return X.double()


SHAPE = "unparametrized shape: torch.Size([2, 3])\nparametrized shape: torch.Size([4, 3])"
ERRORS = [
    (lambda m: P.register_parametrization(m, "foo", _Id()), ValueError,
     "Module 'Linear(in_features=3, out_features=2, bias=True)' does not have a parameter, a buffer, or a "
     "parametrized element with name 'foo'"),
    (lambda m: P.register_parametrization(m, "weight", _Double()), ValueError,
     "Registering a parametrization may not change the shape of the tensor, unless `unsafe` flag is enabled.\n"
     + SHAPE),
    (lambda m: P.register_parametrization(m, "weight", _To64()), ValueError,
     "Registering a parametrization may not change the dtype of the tensor, unless `unsafe` flag is enabled.\n"
     "unparametrized dtype: torch.float32\nparametrized dtype: torch.float64"),
    (lambda m: P.register_parametrization(m, "weight", _BadInverse()), ValueError,
     "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got int"),
    (lambda m: P.register_parametrization(m, "weight", _BadSecond()), ValueError,
     "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got element 1 of the "
     "sequence with type int."),
    (lambda m: P.register_parametrization(m, "weight", _Inverse64()), ValueError,
     "When `right_inverse` outputs one tensor, it may not change the dtype.\noriginal.dtype: torch.float32\n"
     "right_inverse(original).dtype: torch.float64"),
    (lambda m: P.remove_parametrizations(m, "weight"), ValueError,
     "Module Linear(in_features=3, out_features=2, bias=True) does not have a parametrization on weight"),
    (lambda m: PZ.spectral_norm(m, "foo"), ValueError,
     "Module 'Linear(in_features=3, out_features=2, bias=True)' has no parameter or buffer with name 'foo'"),
    (lambda m: PZ.spectral_norm(m, n_power_iterations=0), ValueError,
     "Expected n_power_iterations to be positive, but got n_power_iterations=0"),
    (lambda m: PZ.spectral_norm(m, dim=2), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1] but got 2)"),
    (lambda m: PZ.weight_norm(m, "foo"), ValueError,
     "Module 'Linear(in_features=3, out_features=2, bias=True)' does not have a parameter, a buffer, or a "
     "parametrized element with name 'foo'"),
    (lambda m: PZ.weight_norm(m, dim=3), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 3)"),
    (lambda m: PZ.orthogonal(m, orthogonal_map="qr"), ValueError,
     'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: qr'),
    (lambda m: PZ.orthogonal(m, "bias"), ValueError,
     "Expected a matrix or batch of matrices. Got a tensor of 1 dimensions."),
    (lambda m: nn.utils.remove_weight_norm(m), ValueError,
     "weight_norm of 'weight' not found in Linear(in_features=3, out_features=2, bias=True)"),
    (lambda m: nn.utils.remove_spectral_norm(m), ValueError,
     "spectral_norm of 'weight' not found in Linear(in_features=3, out_features=2, bias=True)"),
    (lambda m: nn.utils.spectral_norm(m, n_power_iterations=0), ValueError,
     "Expected n_power_iterations to be positive, but got n_power_iterations=0"),
    (lambda m: nn.utils.spectral_norm(m, "foo"), KeyError, "foo"),  # (str() of a KeyError quotes it)
    (lambda m: nn.utils.weight_norm(m, "foo"), AttributeError, "'Linear' object has no attribute 'foo'"),
    (lambda m: nn.utils.weight_norm(m, dim=3), IndexError,
     "Dimension out of range (expected to be in range of [-2, 1], but got 3)"),
]


def _snapshot(m):
    return (type(m), list(m._parameters.items()), list(m._buffers.items()), list(m._modules.items()),
            dict(m._forward_pre_hooks), {k: v.numpy().copy() for k, v in m.state_dict().items()})


def _same(a, b):
    assert a[0] is b[0]
    for x, y in zip(a[1:4], b[1:4]):
        assert [k for k, _ in x] == [k for k, _ in y] and all(p is q for (_, p), (_, q) in zip(x, y))
    assert a[4] == b[4] and a[5].keys() == b[5].keys()
    for k in a[5]:
        np.testing.assert_array_equal(a[5][k], b[5][k])


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_errors_as_pytorch_and_nothing_changes(call, error, message):
    m = nn.Linear(3, 2)
    before = _snapshot(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(error) as info:
            call(m)
    assert str(info.value) == (repr(message) if error is KeyError else message)
    _same(before, _snapshot(m))


STACKED_ERRORS = [
    (lambda m: P.register_parametrization(m, "weight", _Double()), ValueError,
     "Registering a parametrization may not change the shape of the tensor, unless the `unsafe` flag is enabled.\n"
     "module.weight.shape: torch.Size([2, 3])\nparametrization(module.weight).shape: torch.Size([4, 3])"),
    (lambda m: P.register_parametrization(m, "weight", _To64()), ValueError,
     "Registering a parametrization may not change the dtype of the tensor, unless the `unsafe` flag is enabled.\n"
     "module.weight.dtype: torch.float32\nparametrization(module.weight).dtype: torch.float64"),
    (lambda m: P.register_parametrization(m, "weight", _Inverse64()), ValueError,
     "The tensor returned by parametrization.right_inverse must have the same dtype as module.weight, unless the "
     "`unsafe` flag is enabled.\nmodule.weight.dtype: torch.float32\nreturned dtype: torch.float64"),
    (lambda m: P.remove_parametrizations(m, "bias"), ValueError, "does not have a parametrization on bias"),
    (lambda m: setattr(m, "weight", sg.ones(2, 3)), RuntimeError,
     "parametrization _Id does not implement right_inverse."),
    (lambda m: nn.utils.weight_norm(nn.utils.weight_norm(nn.Linear(2, 2))), RuntimeError,
     "Cannot register two weight_norm hooks on the same parameter weight"),
    (lambda m: nn.utils.spectral_norm(nn.utils.spectral_norm(nn.Linear(2, 2))), RuntimeError,
     "Cannot register two spectral_norm hooks on the same parameter weight"),
]


@pytest.mark.parametrize("call, error, message", STACKED_ERRORS)
def test_errors_on_a_parametrized_module_change_nothing(call, error, message):
    m = nn.Linear(3, 2)
    P.register_parametrization(m, "weight", _Id())
    before = _snapshot(m)
    plist = list(m.parametrizations.weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(error) as info:
            call(m)
    assert message in str(info.value)
    _same(before, _snapshot(m))
    assert list(m.parametrizations.weight) == plist


def test_right_inverse_errors_on_assignment():
    m = linear64(3, 2)
    P.register_parametrization(m, "weight", Split())
    o0 = m.parametrizations.weight.original0.detach().numpy().copy()
    with pytest.raises(ValueError, match=re.escape("Tensor 0 returned by `right_inverse` has dtype torch.float32 "
                                                   "while `original0` has dtype torch.float64")):
        m.weight = sg.ones(2, 3)
    close(m.parametrizations.weight.original0, o0)


# ---------------------------------------------------------------------------
# parametrizations.weight_norm / spectral_norm / orthogonal against NumPy


def _np_norm_except(v, dim):
    if dim is None:
        return np.sqrt((v ** 2).sum())
    axes = tuple(i for i in range(v.ndim) if i != dim % v.ndim)
    return np.sqrt((v ** 2).sum(axis=axes, keepdims=True))


@pytest.mark.parametrize("dim", [0, 1, -1, None])
def test_weight_norm_matches_numpy(dim):
    m = filled(nn.Conv1d(2, 3, 2))
    w = m.weight
    V = w.detach().numpy().copy()
    PZ.weight_norm(m, dim=dim)
    pl = m.parametrizations.weight
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original0",
                                                    "parametrizations.weight.original1"]
    g = _np_norm_except(V, None if dim in (None, -1) else dim)  # (-1 is PyTorch's "the whole norm" too)
    close(pl.original0, g)
    close(pl.original1, V)
    with sg.no_grad():
        pl.original0.mul_(2.0)
    close(m.weight, 2 * V)
    x = RNG.standard_normal((2, 2, 5))
    C = RNG.standard_normal((2, 3, 4))
    (m(t64(x)) * t64(C)).sum().backward()
    d = None if dim in (None, -1) else dim

    def out(gn, vn):  # conv1d: y[n, o, k] = sum_{c, j} x[n, c, k + j] W[o, c, j] (+ bias, a constant here)
        Wn = vn * (gn / _np_norm_except(vn, d))
        y = np.stack([np.einsum("ncj,ocj->no", x[:, :, k:k + 2], Wn) for k in range(4)], axis=-1)
        return (y * C).sum()
    G0, V0 = 2 * g, V
    close(pl.original0.grad, num_grad(lambda a: out(a, V0), G0), tol=1e-6)
    close(pl.original1.grad, num_grad(lambda a: out(G0, a), V0), tol=1e-6)


def test_weight_norm_gradcheck_and_legacy_state_dicts_load():
    wn = PZ._WeightNorm(0)
    g, v = t64(RNG.random((3, 1)) + 0.5, True), t64(RNG.standard_normal((3, 4)), True)
    assert sg.autograd.gradcheck(lambda a, b: wn(a, b), (g, v))
    assert sg.autograd.gradcheck(lambda a, b: PZ._WeightNorm(None)(a, b), (t64(1.5, True), v))
    with pytest.warns(FutureWarning, match=re.escape("`torch.nn.utils.weight_norm` is deprecated in favor of "
                                                     "`torch.nn.utils.parametrizations.weight_norm`.")):
        old = nn.utils.weight_norm(linear64(4, 3))
    new = PZ.weight_norm(linear64(4, 3))
    assert repr(new.load_state_dict(old.state_dict())) == "<All keys matched successfully>"
    close(new.weight, old.weight.detach().numpy())


def _np_unit(a, eps=1e-12):
    return a / max(np.linalg.norm(a), eps)


def _orthonormal(n, k, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((n, k)))[0]


def test_spectral_norm_power_iteration_in_training_mode_only():
    W = _orthonormal(3, 3, 1) @ np.diag([3.0, 1.0, 0.5]) @ _orthonormal(4, 3, 2).T  # sigma = 3
    m = linear64(4, 3)
    with sg.no_grad():
        m.weight.copy_(t64(W))
    PZ.spectral_norm(m)
    sn = m.parametrizations.weight[0]
    assert [n for n, _ in m.named_buffers()] == ["parametrizations.weight.0._u", "parametrizations.weight.0._v"]
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                                    "parametrizations.weight.0._v"]
    close(m.weight, W / 3, tol=1e-9)  # (16 steps of the power method so far)
    u0, v0 = _np_unit(RNG.standard_normal(3)), _np_unit(RNG.standard_normal(4))
    with sg.no_grad():
        sn._u.copy_(t64(u0))
        sn._v.copy_(t64(v0))
    u_buf = sn._u
    w = m.weight  # training: one step of the power method, u first
    u1 = _np_unit(W @ v0)
    v1 = _np_unit(W.T @ u1)
    sigma = u1 @ W @ v1
    close(w, W / sigma)
    close(sn._u, u1)
    close(sn._v, v1)
    assert sn._u is u_buf  # updated in place
    C = RNG.standard_normal((3, 4))
    (w * t64(C)).sum().backward()
    # u and v are constants of the graph
    close(m.parametrizations.weight.original.grad, C / sigma - (C * W).sum() / sigma ** 2 * np.outer(u1, v1))
    m.eval()
    close(m.weight, W / sigma)
    close(sn._u, u1)  # no step in eval mode
    assert sg.autograd.gradcheck(lambda a: sn(a), (t64(W, True),))
    v = nn.Module()
    v.register_parameter("w", nn.Parameter(t64([3.0, 4.0])))
    PZ.spectral_norm(v, "w")
    close(v.w, [0.6, 0.8])  # a vector: divided by its norm, no buffers
    assert list(v.state_dict()) == ["parametrizations.w.original"]


def test_spectral_norm_dims_and_transposed_convolutions():
    m = filled(nn.ConvTranspose1d(2, 3, 2))
    W = m.weight.detach().numpy().copy()  # (2, 3, 2): dim 1 by default
    PZ.spectral_norm(m, n_power_iterations=2)
    sn = m.parametrizations.weight[0]
    assert sn.dim == 1 and sn._u.shape == (3,) and sn._v.shape == (4,)
    u, v = _np_unit(RNG.standard_normal(3)), _np_unit(RNG.standard_normal(4))
    with sg.no_grad():
        sn._u.copy_(t64(u))
        sn._v.copy_(t64(v))
    mat = np.moveaxis(W, 1, 0).reshape(3, -1)
    for _ in range(2):
        u = _np_unit(mat @ v)
        v = _np_unit(mat.T @ u)
    close(m.weight, W / (u @ mat @ v))
    c = linear64(4, 3)
    PZ.spectral_norm(c, dim=-1)
    assert c.parametrizations.weight[0].dim == 1 and c.parametrizations.weight[0]._u.shape == (4,)


@pytest.mark.parametrize("shape, omap", [((4, 4), None), ((2, 4, 2), None), ((2, 3), "cayley")])
def test_orthogonal_gives_orthonormal_columns_or_rows(shape, omap):
    m = nn.Module()
    m.register_parameter("weight", nn.Parameter(t64(RNG.standard_normal(shape))))
    PZ.orthogonal(m, orthogonal_map=omap)
    assert m.parametrizations.weight[0].orthogonal_map.name == omap or (
        "matrix_exp" if shape == (4, 4) else "householder")
    Q = m.weight.detach().numpy()
    n, k = shape[-2:]
    G = np.swapaxes(Q, -1, -2) @ Q if n >= k else Q @ np.swapaxes(Q, -1, -2)
    close(G, np.broadcast_to(np.eye(min(n, k)), G.shape), tol=1e-10)
    (m.weight ** 3).sum().backward()
    assert m.parametrizations.weight.original.grad.shape == shape
    if n == k:  # assigning an orthogonal matrix stores it as it is
        R = _orthonormal(n, n, 3)
        m.weight = t64(R)
        close(m.weight, R)


def test_orthogonal_householder_without_trivialization_gradcheck():
    orth = PZ._Orthogonal(t64(np.zeros((3, 2))), PZ._OrthMaps.householder, use_trivialization=False)
    X = t64(RNG.standard_normal((3, 2)), True)
    assert sg.autograd.gradcheck(lambda a: orth(a), (X,))
    m = nn.Module()
    m.register_parameter("weight", nn.Parameter(t64(RNG.standard_normal((3, 2)))))
    PZ.orthogonal(m, use_trivialization=False)
    A = _orthonormal(3, 2, 4)
    m.weight = t64(A)
    close(m.weight, A)


# ---------------------------------------------------------------------------
# the legacy, hook-based weight_norm and spectral_norm


def test_legacy_weight_norm():
    m = linear64(4, 3)
    V = m.weight.detach().numpy().copy()
    with pytest.warns(FutureWarning, match="`torch.nn.utils.weight_norm` is deprecated"):
        assert nn.utils.weight_norm(m) is m
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_g", "weight_v"]
    assert not isinstance(m.weight, nn.Parameter) and "weight" in m.__dict__
    close(m.weight_g, _np_norm_except(V, 0))
    with sg.no_grad():
        m.weight_g.mul_(3.0)
    x = RNG.standard_normal((2, 4))
    y = m(t64(x))  # the hook recomputes the weight
    close(m.weight, 3 * V)
    close(y, x @ (3 * V).T + m.bias.detach().numpy())
    y.sum().backward()
    g = 3 * _np_norm_except(V, 0)

    def loss(gn, vn):
        return (x @ (vn * gn / _np_norm_except(vn, 0)).T).sum()
    close(m.weight_g.grad, num_grad(lambda a: loss(a, V), g), tol=1e-6)
    close(m.weight_v.grad, num_grad(lambda a: loss(g, a), V), tol=1e-6)
    nn.utils.remove_weight_norm(m)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"] and not m._forward_pre_hooks
    close(m.weight, 3 * V)
    with pytest.warns(FutureWarning):
        m2 = nn.utils.weight_norm(linear64(4, 3), dim=None)
    assert m2.weight_g.shape == ()


def test_legacy_spectral_norm():
    m = linear64(4, 3)
    W = m.weight.detach().numpy().copy()
    assert nn.utils.spectral_norm(m) is m
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert m.state_dict()._metadata[""] == {"version": 1, "spectral_norm": {"weight.version": 1}}
    u0, v0 = _np_unit(RNG.standard_normal(3)), _np_unit(RNG.standard_normal(4))
    with sg.no_grad():
        m.weight_u.copy_(t64(u0))
        m.weight_v.copy_(t64(v0))
    x = RNG.standard_normal((2, 4))
    y = m(t64(x))  # training: v first, then u
    v1 = _np_unit(W.T @ u0)
    u1 = _np_unit(W @ v1)
    sigma = u1 @ W @ v1
    close(m.weight, W / sigma)
    close(m.weight_u, u1)
    close(m.weight_v, v1)
    y.sum().backward()
    C = np.tile(x.sum(0), (3, 1))
    close(m.weight_orig.grad, C / sigma - (C * W).sum() / sigma ** 2 * np.outer(u1, v1))
    m.eval()
    m(t64(x))
    close(m.weight_u, u1)
    # a state dict from before version 1 (a stored `weight`, no `weight_v`) is migrated on load
    sd = m.state_dict()
    old = OrderedDict((k, v) for k, v in sd.items() if k != "weight_v")
    old["weight"] = t64(W / sigma)
    old._metadata = OrderedDict({"": {"version": 1}})
    m2 = nn.utils.spectral_norm(linear64(4, 3))
    m2.load_state_dict(old)
    close(m2.weight_u @ W @ m2.weight_v.numpy(), sigma, tol=1e-8)
    nn.utils.remove_spectral_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    assert not m.__dict__.get("_state_dict_hooks") and not m.__dict__.get("_load_state_dict_pre_hooks")
    close(m.weight, W / sigma)
    assert m.state_dict()._metadata[""] == {"version": 1}


# ---------------------------------------------------------------------------
# a compiled training step gives define-by-run's losses


def _step_losses(legacy, compiled, steps=4):
    sg.manual_seed(3)  # (spectral_norm's random start)
    rng = np.random.default_rng(3)
    model = filled(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)), rng, sg.float32)
    if legacy:
        with pytest.warns(FutureWarning):
            nn.utils.weight_norm(model[0])
        nn.utils.spectral_norm(model[2])
    else:
        PZ.weight_norm(model[0])
        PZ.spectral_norm(model[2])
    opt = sg.optim.SGD(model.parameters(), lr=0.2)
    x, y = (sg.tensor(rng.standard_normal(shape), dtype=sg.float32) for shape in ((8, 3), (8, 2)))

    def step(inp, target):
        loss = ((model(inp) - target) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    f = sg.compile(step) if compiled else step
    losses = [f(x, y).item() for _ in range(steps)]
    return losses, f, model


def test_compiled_step_with_parametrizations_matches_define_by_run():
    eager, _, m1 = _step_losses(False, False)
    comp, f, m2 = _step_losses(False, True)
    np.testing.assert_allclose(comp, eager, rtol=1e-5)
    assert eager[-1] < eager[0]
    assert f.dynamic_at is None and f.compiles == 1 and f.hits == 3  # traced once, then replayed
    for (n1, b1), (n2, b2) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert n1 == n2
        np.testing.assert_allclose(b2.numpy(), b1.numpy(), rtol=1e-4, atol=1e-6)  # _u and _v included


def test_compiled_step_with_legacy_hooks_matches_define_by_run():
    # the hooks assign a new tensor to module.weight on every call: Python state that a replay could
    # not update, so the step runs define-by-run, after srcgrad.compile's warning naming it
    eager, _, _ = _step_losses(True, False, steps=5)
    with pytest.warns(CompileWarning, match=re.escape("model._modules['0'].weight is a different object")):
        comp, f, _ = _step_losses(True, True, steps=5)
    np.testing.assert_allclose(comp, eager, rtol=1e-6)
    assert f.dynamic_at is not None


# ---------------------------------------------------------------------------
# against PyTorch (skipped where torch is not installed)


def _to_torch(torch, sd):
    return {k: torch.tensor(v.numpy()) for k, v in sd.items()}


def _to_sg(sd):
    return {k: sg.tensor(v.detach().numpy().copy()) for k, v in sd.items()}  # (a copy: srcgrad.tensor may alias)


def _copy_buffers(torch, ours, theirs):
    with torch.no_grad():
        for (n1, b1), (n2, b2) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert n1 == n2
            b2.copy_(torch.tensor(b1.numpy()))


@pytest.mark.parametrize("which, kw, conv", [("weight_norm", {"dim": -2}, True), ("weight_norm", {"dim": None}, False),
                                             ("spectral_norm", {}, False), ("orthogonal", {}, False)])
def test_parametrizations_match_torch(which, kw, conv):
    torch = pytest.importorskip("torch")

    def make(lib):
        return (lib.nn.Conv2d(3, 3, 2) if conv else lib.nn.Linear(3, 4))
    ours, theirs = filled(make(sg)), make(torch).double()
    theirs.load_state_dict(_to_torch(torch, ours.state_dict()))
    getattr(PZ, which)(ours, **kw)
    getattr(torch.nn.utils.parametrizations, which)(theirs, **kw)
    _copy_buffers(torch, ours, theirs)  # (random: the power method's start, orthogonal's completion)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for k, v in ours.state_dict().items():
        np.testing.assert_allclose(v.numpy(), theirs.state_dict()[k].numpy(), atol=1e-12, err_msg=k)
    x = RNG.standard_normal((2, 3))
    for _ in range(2):  # (a convolution's weight enters the loss directly: no convolution to compile)
        yo, yt = (ours.weight, theirs.weight) if conv else (ours(t64(x)), theirs(torch.tensor(x)))
        (yo ** 3).sum().backward()
        (yt ** 3).sum().backward()
        close(yo, yt.detach().numpy(), tol=1e-9)
        tp = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert (p.grad is None) == (tp[name].grad is None)
            if p.grad is not None:
                close(p.grad, tp[name].grad.numpy(), tol=1e-8)
        for (_, b), (_, bt) in zip(ours.named_buffers(), theirs.named_buffers()):
            close(b, bt.numpy(), tol=1e-9)
    # state dicts cross over both ways
    o2 = getattr(PZ, which)(filled(make(sg)), **kw)
    assert repr(o2.load_state_dict(_to_sg(theirs.state_dict()))) == "<All keys matched successfully>"
    close(o2.weight, theirs.weight.detach().numpy(), tol=1e-9)
    theirs.load_state_dict(_to_torch(torch, ours.state_dict()))
    P.remove_parametrizations(ours, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(theirs, "weight")
    assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    close(ours.weight, theirs.weight.detach().numpy(), tol=1e-9)


def test_custom_parametrizations_match_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        class Split(lib.nn.Module):
            def forward(self, a, b):
                return a + a * b

            def right_inverse(self, A):
                return A.clone(), lib.zeros_like(A)

        class Sym(lib.nn.Module):
            def forward(self, X):
                return X.triu() + X.triu(1).mT

        class Twice(lib.nn.Module):
            def forward(self, X):
                return X * 2

            def right_inverse(self, X):
                return X / 2

        m = lib.nn.Linear(3, 3)
        return (filled(m) if lib is sg else m.double()), Split, Sym, Twice

    ours, *mine = build(sg)
    theirs, *torchs = build(torch)
    theirs.load_state_dict(_to_torch(torch, ours.state_dict()))
    for m, (split, sym, twice), lib in ((ours, mine, sg), (theirs, torchs, torch)):
        lib.nn.utils.parametrize.register_parametrization(m, "weight", split())
        lib.nn.utils.parametrize.register_parametrization(m, "weight", sym())
        m.register_buffer("scale", lib.ones(3, dtype=lib.float64))
        lib.nn.utils.parametrize.register_parametrization(m, "scale", twice())
        lib.nn.utils.parametrize.register_parametrization(m, "bias", twice())
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    sd = {k: torch.tensor(RNG.standard_normal(v.shape)) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict(sd)
    ours.load_state_dict(_to_sg(sd))
    close(ours.scale, theirs.scale.numpy())
    close(ours.weight, theirs.weight.detach().numpy())
    x = RNG.standard_normal((3, 3))
    ours(t64(x)).pow(2).sum().backward()
    theirs(torch.tensor(x)).pow(2).sum().backward()
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, tp[name].grad.numpy(), tol=1e-9)


def test_legacy_hooks_match_torch():
    torch = pytest.importorskip("torch")
    for which, remove in (("weight_norm", "remove_weight_norm"), ("spectral_norm", "remove_spectral_norm")):
        ours, theirs = linear64(4, 3), torch.nn.Linear(4, 3).double()
        theirs.load_state_dict(_to_torch(torch, ours.state_dict()))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            getattr(nn.utils, which)(ours, dim=1)
            getattr(torch.nn.utils, which)(theirs, dim=1)
        _copy_buffers(torch, ours, theirs)
        sd_o, sd_t = ours.state_dict(), theirs.state_dict()
        assert list(sd_o) == list(sd_t) and sd_o._metadata == sd_t._metadata
        x = RNG.standard_normal((2, 4))
        for _ in range(2):
            yo, yt = ours(t64(x)), theirs(torch.tensor(x))
            (yo ** 2).sum().backward()
            (yt ** 2).sum().backward()
            close(yo, yt.detach().numpy(), tol=1e-9)
            tp = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                close(p.grad, tp[name].grad.numpy(), tol=1e-8)
            for (_, b), (_, bt) in zip(ours.named_buffers(), theirs.named_buffers()):
                close(b, bt.numpy(), tol=1e-9)
        if which == "weight_norm":  # the legacy state dict loads into the parametrization, in both libraries
            o2 = PZ.weight_norm(linear64(4, 3), dim=1)
            o2.load_state_dict(_to_sg(theirs.state_dict()))
            close(o2.weight, theirs.weight.detach().numpy(), tol=1e-12)
        getattr(nn.utils, remove)(ours)
        getattr(torch.nn.utils, remove)(theirs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        close(ours.weight, theirs.weight.detach().numpy(), tol=1e-9)


def test_errors_match_torch():
    torch = pytest.importorskip("torch")
    # the same calls on PyTorch raise the same errors (the messages above are PyTorch's)
    torch_calls = {
        0: lambda m: torch.nn.utils.parametrize.register_parametrization(m, "foo", torch.nn.Identity()),
        6: lambda m: torch.nn.utils.parametrize.remove_parametrizations(m, "weight"),
        7: lambda m: torch.nn.utils.parametrizations.spectral_norm(m, "foo"),
        9: lambda m: torch.nn.utils.parametrizations.spectral_norm(m, dim=2),
        11: lambda m: torch.nn.utils.parametrizations.weight_norm(m, dim=3),
        12: lambda m: torch.nn.utils.parametrizations.orthogonal(m, orthogonal_map="qr"),
        14: lambda m: torch.nn.utils.remove_weight_norm(m),
        17: lambda m: torch.nn.utils.spectral_norm(m, "foo"),
    }
    for i, call in torch_calls.items():
        _, error, message = ERRORS[i]
        with pytest.raises(error) as info:
            call(torch.nn.Linear(3, 2))
        assert str(info.value) == (repr(message) if error is KeyError else message)
