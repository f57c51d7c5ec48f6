"""srcgrad.special against torch.special (values, dtypes, grad_fn names, first and second derivatives, errors)
on grids with edge cases, and against jax.scipy.special (which runs without PyTorch)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad as sg
import srcgrad.special as S

GRID = np.array([0.0, -0.0, 1e-30, 1e-8, 1e-5, 0.1, 0.3, 0.5, 0.9, 1.0, 1.5, 2.0, 2.5, 4.99, 5.0, 5.5, 7.9, 8.1, 12.0,
                 20.0, 30.0, 50.0, 100.0, 104.0, 500.0, 1e4, np.inf, -np.inf, np.nan, -0.1, -0.5, -0.9, -1.0, -1.5,
                 -2.0, -2.5, -5.5, -8.1, -12.0, -20.0, -30.0, -50.0, -100.0, -1e4])
UNIT = np.array([0.0, 1e-300, 1e-20, 1e-5, 0.01, 0.1, 0.135, 0.5, 0.8, 0.865, 0.99, 1 - 1e-10, 1.0, -0.1, 1.1, -1.0,
                 -0.5, np.inf, -np.inf, np.nan])

UNARY = ["erf", "erfc", "erfinv", "expit", "exp2", "expm1", "log1p", "gammaln", "digamma", "psi", "sinc", "round",
         "logit", "entr", "ndtr", "log_ndtr", "ndtri", "i0", "i0e", "i1", "i1e", "erfcx", "bessel_j0", "bessel_j1",
         "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0",
         "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
         "airy_ai"]
BINARY = ["xlogy", "xlog1py", "zeta", "gammainc", "gammaincc"]
POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]
NO_DERIVATIVE = {n for n in UNARY if "bessel" in n or n == "airy_ai"} | set(POLYS)
# PyTorch's float32 erfc/erfcx/airy/polynomial kernels and XLA's differ in the last bits of float32 (a few ulp,
# more where a result is a small difference of large terms: airy_ai's oscillations, degrees above 100)
F32 = dict(rtol=2e-5, atol=1e-6)


def _np(t):
    return t.detach().numpy() if t.requires_grad else t.numpy()


def _grid(name):
    return UNIT if name in ("erfinv", "ndtri", "logit") else GRID


def _assert_close(got, ref, dtype):
    tol = dict(rtol=1e-10, atol=1e-300) if dtype == "float64" else F32
    np.testing.assert_allclose(got, ref, equal_nan=True, **tol)


# -- against PyTorch ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("name", UNARY)
def test_unary_values_and_dtypes_match_pytorch(torch, name, dtype):
    data = _grid(name)
    if dtype == "int64":
        if name == "round":
            with pytest.raises(NotImplementedError) as theirs:
                torch.special.round(torch.tensor([1, 2]))
            with pytest.raises(NotImplementedError) as ours:
                S.round(sg.tensor([1, 2]))
            assert str(ours.value) == str(theirs.value)
            return
        data = np.array([0, 1, 2, 3, 5, 7, -1, -2, 20])
    a = data.astype(dtype)
    ref = getattr(torch.special, name)(torch.tensor(a))
    got = getattr(S, name)(sg.tensor(a))
    assert str(got.dtype) == str(ref.dtype), (got.dtype, ref.dtype)
    _assert_close(_np(got), ref.numpy(), "float32" if dtype != "float64" else "float64")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", BINARY)
def test_binary_values_match_pytorch_on_a_grid_of_pairs(torch, name, dtype):
    xs = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 3.7, 10.0, 50.0, -1.0, -2.5, np.inf, -np.inf, np.nan])
    qs = np.array([0.0, -0.0, 1e-3, 0.5, 1.0, 1.5, 2.5, 10.0, 1e3, -1.0, -1.5, -0.5, -2.0, np.inf, -np.inf, np.nan])
    x, q = (v.ravel().astype(dtype) for v in np.meshgrid(xs, qs))
    ref = getattr(torch.special, name)(torch.tensor(x), torch.tensor(q))
    got = getattr(S, name)(sg.tensor(x), sg.tensor(q))
    assert str(got.dtype) == str(ref.dtype)
    _assert_close(got.numpy(), ref.numpy(), dtype)


@pytest.mark.parametrize("name", ["xlogy", "xlog1py", "zeta"])
def test_binary_functions_take_a_number_on_either_side(torch, name):
    x = np.array([0.0, 0.5, 1.5, 3.0, 10.0])
    for a, b in [(2.0, x), (x + 1.5, 2.0), (3, x.astype(np.int64)), (x.astype(np.int64), 2)]:
        ta, tb = (torch.tensor(v) if isinstance(v, np.ndarray) else v for v in (a, b))
        sa, sb = (sg.tensor(v) if isinstance(v, np.ndarray) else v for v in (a, b))
        ref, got = getattr(torch.special, name)(ta, tb), getattr(S, name)(sa, sb)
        assert str(got.dtype) == str(ref.dtype)
        _assert_close(got.numpy(), ref.numpy(), "float32")
    with pytest.raises(TypeError, match=f"special_{name}\\(\\) received an invalid combination of arguments"):
        getattr(S, name)(2.0, 3.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", POLYS)
def test_polynomials_match_pytorch(torch, name, dtype):
    xs = np.array([0.0, 1.0, -1.0, 0.5, -0.5, 0.3, 0.99, -0.7, 1.5, -2.0, 3.0, 0.25, 0.75, 10.0, np.inf, -np.inf])
    ns = np.array([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 25, 60, 2.7, -0.5, 129, np.nan, np.inf])
    x, n = (v.ravel().astype(dtype) for v in np.meshgrid(xs, ns))
    ref = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n))
    got = getattr(S, name)(sg.tensor(x), sg.tensor(n))
    assert str(got.dtype) == str(ref.dtype) and not got.requires_grad
    big = np.abs(ref.numpy()) > 1e6  # (a large value's last bits depend on the order of the products)
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == "float64" else dict(rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(got.numpy()[~big], ref.numpy()[~big], equal_nan=True, **tol)
    np.testing.assert_allclose(got.numpy()[big], ref.numpy()[big], rtol=1e-5 if dtype == "float64" else 1e-3)
    # a number of either side, integer inputs
    for a, b in [(0.5, torch.tensor([1, 2, 3])), (torch.tensor([0.25, 0.5]), 4), (torch.tensor([1, 2]), 3)]:
        ref = getattr(torch.special, name)(a, b)
        got = getattr(S, name)(*(sg.tensor(v.numpy()) if isinstance(v, torch.Tensor) else v for v in (a, b)))
        assert str(got.dtype) == str(ref.dtype)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6)
    # PyTorch reads an uninitialised value for a NaN x and degree >= 2 (inf for u/v/w/...): NaN here
    assert np.isnan(getattr(S, name)(sg.tensor([np.nan]), 3).numpy()).all()


@pytest.mark.parametrize("p", [1, 2, 3, 5])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_multigammaln_matches_pytorch(torch, p, dtype):
    a = np.array([0.5, 1.0, 1.2, 2.0, 2.5, 3.01, 10.0, 100.0, np.inf, np.nan])
    a = a[(a > (p - 1) / 2) | np.isnan(a)].astype(dtype)
    ref = torch.special.multigammaln(torch.tensor(a), p)
    got = S.multigammaln(sg.tensor(a), p)
    assert str(got.dtype) == str(ref.dtype)
    _assert_close(got.numpy(), ref.numpy(), dtype)
    np.testing.assert_allclose(S.mvlgamma(sg.tensor([3, 4]), p).numpy(), torch.mvlgamma(torch.tensor([3, 4]), p),
                               rtol=1e-6)
    # outside the domain (x <= (p - 1) / 2) PyTorch 2.13 sums log|Gamma| as elsewhere (it used to raise)
    np.testing.assert_allclose(S.multigammaln(sg.tensor([0.1, 0.4, 0.77]), 3).numpy(), [7.6424, 6.1902, 4.7577],
                               rtol=1e-4)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        S.multigammaln(sg.tensor([3.0]), 0)


def test_aliases_with_arguments_match_pytorch(torch):
    a = np.array([[0.3, -1.2, 2.5, 0.0], [1.0, 2.0, -3.0, 4.5]])
    for f, args, kw in [("softmax", (1,), {}), ("log_softmax", (0,), {}), ("logsumexp", (1,), {}),
                        ("logsumexp", ((0, 1),), {"keepdim": True}), ("softmax", (1,), {"dtype": "float64"}),
                        ("round", (), {"decimals": 1}), ("round", (), {"decimals": -1}), ("round", (), {}),
                        ("logit", (), {"eps": 0.1})]:
        tkw = {k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()}
        skw = {k: getattr(sg, v) if k == "dtype" else v for k, v in kw.items()}
        x = a * 0.3 + 0.5 if f == "logit" else a * 1.37
        ref = getattr(torch.special, f)(torch.tensor(x, dtype=torch.float32), *args, **tkw)
        got = getattr(S, f)(sg.tensor(x, dtype=sg.float32), *args, **skw)
        assert str(got.dtype) == str(ref.dtype)
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-6, atol=1e-6)
    for n in (0, 1, 3):  # (PyTorch's trigamma is good to ~5e-10)
        x = np.array([0.5, 1.5, 4.0, 10.0])
        np.testing.assert_allclose(S.polygamma(n, sg.tensor(x)).numpy(), torch.special.polygamma(n, torch.tensor(x)),
                                   rtol=1e-8)


def test_grad_fn_names_match_pytorch(torch):
    x = np.array([0.3, 1.5, 2.0])
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    for name in UNARY:
        if name in NO_DERIVATIVE or name == "exp2":  # (srcgrad's exp2 is the composite 2 ** x)
            continue
        arg_t, arg_s = (tx * 0.3, sx * 0.3) if name in ("erfinv", "ndtri", "logit") else (tx, sx)
        assert getattr(S, name)(arg_s).grad_fn.name() == getattr(torch.special, name)(arg_t).grad_fn.name(), name
    for name in BINARY:
        assert getattr(S, name)(sx, sx + 1).grad_fn.name() == getattr(torch.special, name)(tx, tx + 1).grad_fn.name()
    for name in ("xlogy", "xlog1py", "zeta"):
        assert getattr(S, name)(2.0, sx).grad_fn.name() == getattr(torch.special, name)(2.0, tx).grad_fn.name()
        assert getattr(S, name)(sx + 1, 2.0).grad_fn.name() == getattr(torch.special, name)(tx + 1, 2.0).grad_fn.name()
    assert S.multigammaln(sx + 2, 2).grad_fn.name() == torch.special.multigammaln(tx + 2, 2).grad_fn.name()
    assert S.igamma(sx, sx).grad_fn.name() == torch.igamma(tx, tx).grad_fn.name()
    assert S.igammac(sx, sx).grad_fn.name() == torch.igammac(tx, tx).grad_fn.name()
    assert S.i0(sx).grad_fn.name() == torch.i0(tx).grad_fn.name() == "I0Backward0"
    assert S.TOP_LEVEL["i0"](sx).grad_fn.name() == "I0Backward0"
    for name in NO_DERIVATIVE:
        out = getattr(S, name)(sx) if name in UNARY else getattr(S, name)(sx, 3)
        assert not out.requires_grad and out.grad_fn is None


_GRAD_POINTS = {
    "erfinv": [-0.9, -0.3, 0.0, 0.5, 0.99], "ndtri": [1e-10, 0.01, 0.3, 0.5, 0.97], "logit": [0.01, 0.3, 0.5, 0.97],
    "entr": [1e-8, 0.3, 1.0, 7.0], "gammaln": [0.2, 1.5, 7.0, -1.5], "digamma": [0.2, 1.5, 7.0, -1.5],
    "psi": [0.2, 1.5, 7.0, -1.5], "sinc": [-3.0, -0.7, -1e-3, 0.4, 1.0, 2.5],  # (PyTorch's sinc'' is NaN at 0)
}


@pytest.mark.parametrize("name", [n for n in UNARY if n not in NO_DERIVATIVE])
def test_first_and_second_derivatives_match_pytorch(torch, name):
    x = np.array(_GRAD_POINTS.get(name, [-30.0, -8.0, -2.5, -0.7, -1e-20, 0.0, 1e-20, 0.4, 1.0, 3.0, 9.0, 40.0]))
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    w = np.linspace(0.5, 1.5, x.size)
    (tg,) = torch.autograd.grad((getattr(torch.special, name)(tx) * torch.tensor(w)).sum(), tx, create_graph=True)
    (sgg,) = sg.autograd.grad((getattr(S, name)(sx) * sg.tensor(w)).sum(), sx, create_graph=True)
    np.testing.assert_allclose(_np(sgg), tg.detach().numpy(), rtol=1e-9 if name not in ("digamma", "psi") else 1e-8,
                               atol=1e-300, equal_nan=True)
    if name == "round":
        return
    (tgg,) = torch.autograd.grad(tg.sum(), tx)
    (sgg2,) = sg.autograd.grad(sgg.sum(), sx)
    # (PyTorch's trigamma is good to ~5e-10 only: the second derivatives of gammaln, and digamma's first)
    np.testing.assert_allclose(sgg2.numpy(), tgg.numpy(), rtol=1e-8 if name not in ("gammaln",) else 1e-9,
                               atol=1e-12, equal_nan=True)


def test_binary_derivatives_match_pytorch_and_refuse_as_pytorch(torch):
    a = np.array([0.5, 1.5, 3.0, 7.0])
    x = np.array([0.2, 1.0, 2.5, 9.0])
    for name in ("xlogy", "xlog1py", "gammainc", "gammaincc", "zeta"):
        first = a + 1.0 if name == "zeta" else a
        ta, tx = torch.tensor(first, requires_grad=name in ("xlogy", "xlog1py")), torch.tensor(x, requires_grad=True)
        sa, sx = sg.tensor(first, requires_grad=name in ("xlogy", "xlog1py")), sg.tensor(x, requires_grad=True)
        tins = [t for t in (ta, tx) if t.requires_grad]
        sins = [t for t in (sa, sx) if t.requires_grad]
        tg = torch.autograd.grad(getattr(torch.special, name)(ta, tx).sum(), tins, create_graph=True)
        sgs = sg.autograd.grad(getattr(S, name)(sa, sx).sum(), sins, create_graph=True)
        for s, t in zip(sgs, tg):
            np.testing.assert_allclose(_np(s), t.detach().numpy(), rtol=1e-10)
        tgg = torch.autograd.grad(sum(g.sum() for g in tg), tins, allow_unused=True)
        sgg = sg.autograd.grad(sum(g.sum() for g in sgs), sins, allow_unused=True)
        for s, t in zip(sgg, tgg):
            np.testing.assert_allclose(0 if s is None else s.numpy(), 0 if t is None else t.numpy(), rtol=1e-9,
                                       atol=1e-14)
    # the derivative in the first argument: PyTorch's NotImplementedError, at backward time
    for name, what in [("gammainc", "igamma: input"), ("gammaincc", "igammac: input"), ("zeta", "zeta")]:
        for lib, mod in ((torch, torch.special), (sg, S)):
            x1 = lib.tensor(a + 1.0, requires_grad=True)
            out = getattr(mod, name)(x1, lib.tensor(x))
            with pytest.raises(NotImplementedError, match=f"the derivative for '{what}' is not implemented."):
                out.sum().backward()
            # only when that derivative is asked for: the other argument's is computed
            x2 = lib.tensor(x, requires_grad=True)
            (g2,) = lib.autograd.grad(getattr(mod, name)(x1, x2).sum(), x2)
            assert g2.shape == x2.shape
    # xlog1py's gradient for x is log1p(y), at x == 0 too (PyTorch 2.13), for a tensor or a number y
    for lib, mod in ((torch, torch.special), (sg, S)):
        z = lib.tensor([0.0, 1.0], requires_grad=True)
        for y in (lib.tensor([2.0, 2.0]), 2.0):
            (g,) = lib.autograd.grad(mod.xlog1py(z, y).sum(), z)
            np.testing.assert_allclose(_np(g), [np.log1p(2.0)] * 2, rtol=1e-6)


def test_multigammaln_derivative_matches_pytorch(torch):
    x = np.array([1.6, 2.5, 7.0])
    for p in (1, 2, 4):
        tx, sx = torch.tensor(x + p / 2, requires_grad=True), sg.tensor(x + p / 2, requires_grad=True)
        (tg,) = torch.autograd.grad(torch.special.multigammaln(tx, p).sum(), tx, create_graph=True)
        (sgg,) = sg.autograd.grad(S.multigammaln(sx, p).sum(), sx, create_graph=True)
        np.testing.assert_allclose(_np(sgg), tg.detach().numpy(), rtol=1e-10)
        np.testing.assert_allclose(sg.autograd.grad(sgg.sum(), sx)[0].numpy(),  # (PyTorch's trigamma: ~5e-10)
                                   torch.autograd.grad(tg.sum(), tx)[0].numpy(), rtol=1e-8)


def test_errors_match_pytorch(torch):
    with pytest.raises(TypeError) as ours:
        S.TOP_LEVEL["i0"](1.0)
    with pytest.raises(TypeError) as theirs:
        torch.i0(1.0)
    assert str(ours.value) == str(theirs.value)
    for name in ("i0", "ndtr", "erfc", "bessel_j0", "expit"):
        with pytest.raises(TypeError) as ours:
            getattr(S, name)(1.0)
        with pytest.raises(TypeError) as theirs:
            getattr(torch.special, name)(1.0)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="must be Tensor, not float"):
        S.gammainc(sg.ones(2), 2.0)
    for name in ("ndtri", "log_ndtr", "erfcx", "zeta", "bessel_j0", "airy_ai", "chebyshev_polynomial_t"):
        for dt in ("float16", "bfloat16"):
            args = (2,) if name in ("zeta", "chebyshev_polynomial_t") else ()
            with pytest.raises(NotImplementedError) as theirs:
                getattr(torch.special, name)(torch.ones(2, dtype=getattr(torch, dt)), *args)
            with pytest.raises(NotImplementedError) as ours:
                getattr(S, name)(sg.ones(2, dtype=getattr(sg, dt)), *args)
            assert str(ours.value) == str(theirs.value)
    for a, b in [(np.array([1, 2]), np.array([1, 2])), (np.array([True]), np.array([True]))]:
        with pytest.raises(NotImplementedError) as theirs:
            torch.igamma(torch.tensor(a), torch.tensor(b))
        with pytest.raises(NotImplementedError) as ours:
            S.igamma(sg.tensor(a), sg.tensor(b))
        assert str(ours.value) == str(theirs.value)


def test_half_precision_where_pytorch_has_it(torch):
    x = np.array([0.0, 0.5, 1.5, 3.0, -2.0])
    for name in ("i0", "i0e", "i1", "i1e", "erfc", "entr", "ndtr"):
        for dt in ("float16", "bfloat16"):
            ref = getattr(torch.special, name)(torch.tensor(x, dtype=getattr(torch, dt)))
            got = getattr(S, name)(sg.tensor(x, dtype=getattr(sg, dt)))
            assert str(got.dtype) == str(ref.dtype)
            np.testing.assert_allclose(got.float().numpy(), ref.float().numpy(), rtol=1e-2, atol=1e-3)


def test_tensor_methods(torch):
    x = np.array([0.5, 1.5, 3.0])
    for m, args in [("i0", ()), ("igamma", (x + 1,)), ("igammac", (x,)), ("mvlgamma", (1,))]:
        t, s = torch.tensor(x), sg.tensor(x)
        targs = tuple(torch.tensor(v) if isinstance(v, np.ndarray) else v for v in args)
        sargs = tuple(sg.tensor(v) if isinstance(v, np.ndarray) else v for v in args)
        np.testing.assert_allclose(getattr(s, m)(*sargs).numpy(), getattr(t, m)(*targs).numpy(), rtol=1e-10)
        assert getattr(s, m + "_")(*sargs) is s
        getattr(t, m + "_")(*targs)
        np.testing.assert_allclose(s.numpy(), t.numpy(), rtol=1e-10)
    s = sg.tensor(x, requires_grad=True)
    assert s.i0().grad_fn.name() == "I0Backward0"
    np.testing.assert_allclose(_np((s + 1).mvlgamma(2)), torch.tensor(x + 1).mvlgamma(2),
                               rtol=1e-10)
    assert sg.i0 is not S.i0 and sg.igamma is S.igamma


def test_compiled_function_uses_the_same_ops(torch):
    @sg.compile
    def f(x):
        return S.i0e(x) + S.log_ndtr(x) + S.bessel_j0(x) + S.chebyshev_polynomial_t(x, 5) + S.zeta(3.0, x.abs() + 1)

    x = np.array([0.3, -1.2, 2.5, 7.0])
    t = torch.tensor(x)
    ref = (torch.special.i0e(t) + torch.special.log_ndtr(t) + torch.special.bessel_j0(t)
           + torch.special.chebyshev_polynomial_t(t, 5) + torch.special.zeta(3.0, t.abs() + 1))
    for _ in range(2):
        np.testing.assert_allclose(f(sg.tensor(x)).numpy(), ref.numpy(), rtol=1e-10)


# -- against jax.scipy.special (no PyTorch needed) -------------------------------------------------------

_JAX = {"erf": "erf", "erfc": "erfc", "erfinv": "erfinv", "expit": "expit", "gammaln": "gammaln", "digamma": "digamma",
        "psi": "digamma", "logit": "logit", "entr": "entr", "ndtr": "ndtr", "log_ndtr": "log_ndtr", "ndtri": "ndtri",
        "i0": "i0", "i0e": "i0e", "i1": "i1", "i1e": "i1e", "erfcx": "erfcx", "modified_bessel_i0": "i0",
        "modified_bessel_i1": "i1"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(_JAX))
def test_unary_values_match_jax_scipy(name, dtype):
    data = _grid(name)
    if name in ("gammaln", "digamma", "psi"):
        data = data[(data > 0) | np.isnan(data)]  # (the poles: PyTorch's conventions, tested above)
    if name == "ndtr":
        data = data[(data > -6) | np.isnan(data)]  # (PyTorch's ndtr loses the far lower tail, as srcgrad's)
    a = data.astype(dtype)
    got = getattr(S, name)(sg.tensor(a))
    ref = np.asarray(getattr(jax.scipy.special, _JAX[name])(jnp.asarray(a)))
    assert got.numpy().dtype == a.dtype
    tol = dict(rtol=1e-9, atol=1e-300) if dtype == "float64" else dict(rtol=5e-5, atol=1e-6)
    if name == "log_ndtr":  # (jax's log(ndtr(x)) above 5 is good to 1e-16 absolute (1e-7 in float32) only)
        tol["atol"] = 1e-16 if dtype == "float64" else 1e-7
    np.testing.assert_allclose(got.numpy(), ref, equal_nan=True, **tol)


@pytest.mark.parametrize("name,jname", [("xlogy", "xlogy"), ("xlog1py", "xlog1py"), ("zeta", "zeta"),
                                        ("gammainc", "gammainc"), ("gammaincc", "gammaincc")])
def test_binary_values_match_jax_scipy_inside_the_domain(name, jname):
    xs = np.array([0.5, 1.5, 2.0, 3.7, 10.0])
    qs = np.array([1e-3, 0.5, 1.0, 2.5, 10.0, 1e3])
    x, q = (v.ravel() for v in np.meshgrid(xs, qs))
    np.testing.assert_allclose(getattr(S, name)(sg.tensor(x), sg.tensor(q)).numpy(),
                               np.asarray(getattr(jax.scipy.special, jname)(x, q)), rtol=1e-10)


def test_multigammaln_matches_jax_scipy():
    x = np.array([2.6, 3.0, 7.5, 40.0])
    for p in (1, 2, 3, 5):
        np.testing.assert_allclose(S.multigammaln(sg.tensor(x), p).numpy(),
                                   np.asarray(jax.scipy.special.multigammaln(x, p)), rtol=1e-12)


def test_bessel_functions_against_their_defining_integrals():
    """J_n(x) = 1/2pi int cos(x sin t - n t) dt (the trapezoid rule is exact to rounding over a period);
    K_n(x) = int_0^inf exp(-x cosh t) cosh(n t) dt. PyTorch's Cephes-derived j0/j1 are good to ~1e-7 past 5."""
    x = np.array([0.1, 0.7, 1.9, 3.3, 4.9, 6.0, 8.5, 15.0, 31.0])
    tau = np.linspace(0, 2 * np.pi, 512, endpoint=False)[:, None]
    for n, f in ((0, S.bessel_j0), (1, S.bessel_j1)):
        ref = np.cos(x * np.sin(tau) - n * tau).mean(0)
        np.testing.assert_allclose(f(sg.tensor(x)).numpy(), ref, atol=1e-6)
        np.testing.assert_allclose(f(sg.tensor(x[:5])).numpy(), ref[:5], atol=2e-8)
    t = np.linspace(0, 12, 24001)[:, None]
    for n, f, g in ((0, S.modified_bessel_k0, S.scaled_modified_bessel_k0),
                    (1, S.modified_bessel_k1, S.scaled_modified_bessel_k1)):
        vals = np.exp(-x * np.cosh(t)) * np.cosh(n * t)
        ref = (vals.sum(0) - 0.5 * (vals[0] + vals[-1])) * (t[1, 0] - t[0, 0])
        np.testing.assert_allclose(f(sg.tensor(x)).numpy(), ref, rtol=1e-9)
        np.testing.assert_allclose(g(sg.tensor(x)).numpy(), ref * np.exp(x), rtol=1e-9)
    np.testing.assert_allclose(S.spherical_bessel_j0(sg.tensor(x)).numpy(), np.sin(x) / x, rtol=1e-14)


def test_derivatives_match_jax_grad_of_jax_scipy():
    """srcgrad's rules against jax.grad of jax.scipy.special, the oracle used by tests/test_ops.py too."""
    x = np.array([-3.0, -0.7, 0.4, 1.0, 3.0, 9.0])
    for name, jf in [("i0", jax.scipy.special.i0), ("i0e", jax.scipy.special.i0e), ("i1", jax.scipy.special.i1),
                     ("i1e", jax.scipy.special.i1e), ("erfcx", jax.scipy.special.erfcx),
                     ("log_ndtr", jax.scipy.special.log_ndtr), ("erfc", jax.scipy.special.erfc)]:
        sx = sg.tensor(x, requires_grad=True)
        (g,) = sg.autograd.grad(getattr(S, name)(sx).sum(), sx)
        np.testing.assert_allclose(g.numpy(), np.asarray(jax.vmap(jax.grad(jf))(jnp.asarray(x))), rtol=1e-9,
                                   err_msg=name)
    sx = sg.tensor([0.0], requires_grad=True)  # i1'(0) = 1/2, i1e'(0) = 1/2 (PyTorch's special case)
    assert sg.autograd.grad(S.i1(sx).sum(), sx)[0].item() == 0.5
    assert sg.autograd.grad(S.i1e(sx).sum(), sx)[0].item() == 0.5


def test_lgamma_is_exactly_zero_at_one_and_two():
    # (XLA's float32 lgamma gives 4.8e-07 there, which would print in scientific notation)
    assert sg.lgamma(sg.tensor([1., 2.])).tolist() == [0.0, 0.0]
    assert sg.tensor([1.], dtype=sg.float16).lgamma().item() == 0.0


def test_polygamma_at_its_poles_is_signed_infinity():
    x = sg.tensor([0.0, -1.0, -3.0])
    for n in (2, 3, 4):
        assert S.polygamma(n, x).tolist() == [math.inf if n % 2 else -math.inf] * 3
