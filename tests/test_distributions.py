"""srcgrad.distributions: values against closed forms (NumPy/math) and against PyTorch, sampling
shapes and moments, reparameterised gradients, validation errors, KL divergences, and a
small VAE step run define-by-run and under ``@srcgrad.compile``."""

import math
import warnings

import numpy as np
import pytest

import srcgrad
import srcgrad.distributions as D
from srcgrad.distributions import constraints, transforms
from srcgrad.distributions.samplers import standard_gamma_grad


def _t(x, dtype=srcgrad.float64):
    return srcgrad.tensor(np.asarray(x, dtype=np.float64), dtype=dtype)


def _np(x):
    return np.asarray(x.detach().numpy(), dtype=np.float64)


A = np.array


# ---------------------------------------------------------------------------
# closed forms, no PyTorch needed


def _lbeta(a, b):
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


# (distribution, value, expected log_prob), each computed with math
_LOG_PROB_TABLE = [
    (lambda: D.Normal(1.0, 2.0), 0.3, -((0.3 - 1) ** 2) / 8 - math.log(2) - 0.5 * math.log(2 * math.pi)),
    (lambda: D.Exponential(1.5), 0.7, math.log(1.5) - 1.5 * 0.7),
    (lambda: D.Laplace(0.5, 2.0), -1.0, -math.log(4.0) - 1.5 / 2),
    (lambda: D.Cauchy(0.5, 2.0), -1.0, -math.log(math.pi * 2 * (1 + 0.75 ** 2))),
    (lambda: D.Uniform(-1.0, 3.0), 0.5, -math.log(4.0)),
    (lambda: D.Gamma(2.5, 1.5), 1.2,
     2.5 * math.log(1.5) + 1.5 * math.log(1.2) - 1.5 * 1.2 - math.lgamma(2.5)),
    (lambda: D.Chi2(3.0), 1.2, 0.5 * math.log(1.2) - 0.6 - 1.5 * math.log(2) - math.lgamma(1.5)),
    (lambda: D.Beta(2.0, 3.0), 0.3, math.log(0.3) + 2 * math.log(0.7) - _lbeta(2, 3)),
    (lambda: D.Poisson(3.0), 2.0, 2 * math.log(3) - 3 - math.log(2)),
    (lambda: D.Binomial(10, _t(0.3)), 4.0, math.log(math.comb(10, 4)) + 4 * math.log(0.3) + 6 * math.log(0.7)),
    (lambda: D.Geometric(_t(0.25)), 3.0, 3 * math.log(0.75) + math.log(0.25)),
    (lambda: D.Bernoulli(_t(0.3)), 1.0, math.log(0.3)),
    (lambda: D.Bernoulli(logits=_t(0.4)), 0.0, math.log(1 - 1 / (1 + math.exp(-0.4)))),
    (lambda: D.StudentT(3.0, 1.0, 2.0), 0.0,
     math.lgamma(2) - math.lgamma(1.5) - 0.5 * math.log(3 * math.pi) - math.log(2) - 2 * math.log1p(0.25 / 3)),
    (lambda: D.Gumbel(1.0, 2.0), 0.0, -0.5 * (0 - 1) - math.exp(0.5) - math.log(2)),
    (lambda: D.LogNormal(0.5, 0.8), 2.0,
     -math.log(2.0 * 0.8 * math.sqrt(2 * math.pi)) - (math.log(2.0) - 0.5) ** 2 / (2 * 0.64)),
    (lambda: D.Categorical(_t([0.2, 0.3, 0.5])), 2.0, math.log(0.5)),
    (lambda: D.Categorical(logits=_t([1.0, 2.0, 0.0])), 1.0, 2.0 - math.log(math.e + math.e ** 2 + 1)),
]


@pytest.mark.parametrize("i", range(len(_LOG_PROB_TABLE)))
def test_log_prob_closed_form(i):
    make, value, expected = _LOG_PROB_TABLE[i]
    d = make()
    v = srcgrad.tensor(int(value)) if isinstance(d, D.Categorical) else srcgrad.tensor(value)
    got = float(d.log_prob(v))
    assert got == pytest.approx(expected, rel=2e-5, abs=2e-5)


def test_multivariate_normal_closed_form():
    loc = A([1.0, -1.0])
    cov = A([[2.0, 0.5], [0.5, 1.0]])
    x = A([[0.3, 0.2], [1.0, -2.0]])
    diff = x - loc
    expected = (-0.5 * np.einsum("bi,ij,bj->b", diff, np.linalg.inv(cov), diff)
                - 0.5 * np.log(np.linalg.det(2 * np.pi * cov)))
    d = D.MultivariateNormal(_t(loc), covariance_matrix=_t(cov))
    np.testing.assert_allclose(_np(d.log_prob(_t(x))), expected, rtol=1e-10)
    np.testing.assert_allclose(float(d.entropy()), 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov)), rtol=1e-10)
    # the three parameterisations are one distribution
    prec = D.MultivariateNormal(_t(loc), precision_matrix=_t(np.linalg.inv(cov)))
    tril = D.MultivariateNormal(_t(loc), scale_tril=_t(np.linalg.cholesky(cov)))
    for other in (prec, tril):
        np.testing.assert_allclose(_np(other.log_prob(_t(x))), expected, rtol=1e-9)
        np.testing.assert_allclose(_np(other.covariance_matrix), cov, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_np(d.precision_matrix), np.linalg.inv(cov), rtol=1e-9)
    np.testing.assert_allclose(_np(d.variance), np.diag(cov), rtol=1e-12)


def test_moments_and_entropy_closed_form():
    g = D.Gamma(_t([2.0, 0.5]), _t([1.5, 2.0]))
    np.testing.assert_allclose(_np(g.mean), [2 / 1.5, 0.25])
    np.testing.assert_allclose(_np(g.variance), [2 / 1.5 ** 2, 0.125])
    n = D.Normal(_t([0.0]), _t([2.0]))
    np.testing.assert_allclose(_np(n.entropy()), [0.5 * math.log(2 * math.pi * math.e * 4)])
    np.testing.assert_allclose(_np(n.perplexity()), np.exp(_np(n.entropy())))
    np.testing.assert_allclose(_np(n.cdf(_t([2.0]))), [0.5 * (1 + math.erf(1 / math.sqrt(2)))])
    np.testing.assert_allclose(_np(n.icdf(n.cdf(_t([0.7])))), [0.7], rtol=1e-9)
    e = D.Exponential(_t([2.0]))
    np.testing.assert_allclose(_np(e.cdf(_t([0.5]))), [1 - math.exp(-1)])
    np.testing.assert_allclose(_np(e.entropy()), [1 - math.log(2)])
    b = D.Beta(_t([2.0]), _t([3.0]))
    np.testing.assert_allclose(_np(b.mean), [0.4])
    np.testing.assert_allclose(_np(b.variance), [6 / (25 * 6)])
    u = D.Uniform(_t([1.0]), _t([3.0]))
    np.testing.assert_allclose(_np(u.cdf(_t([2.5]))), [0.75])
    np.testing.assert_allclose(_np(u.icdf(_t([0.25]))), [1.5])
    s = D.StudentT(_t([0.5, 1.5, 4.0]))
    out = _np(s.variance)
    assert math.isnan(out[0]) and math.isinf(out[1]) and out[2] == pytest.approx(2.0)
    assert math.isnan(_np(s.mean)[0])


# ---------------------------------------------------------------------------
# against PyTorch


def _pair(name, *args, **kwargs):
    torch = pytest.importorskip("torch")
    import torch.distributions as TD

    def conv(a, lib):
        if isinstance(a, np.ndarray):
            return srcgrad.tensor(a, dtype=srcgrad.float64) if lib == "s" else torch.tensor(a, dtype=torch.float64)
        return a

    s = getattr(D, name)(*[conv(a, "s") for a in args], **{k: conv(v, "s") for k, v in kwargs.items()})
    t = getattr(TD, name)(*[conv(a, "t") for a in args], **{k: conv(v, "t") for k, v in kwargs.items()})
    return s, t, torch


_TORCH_CASES = [
    ("Normal", (A([0.0, 1.0]), A([1.0, 2.0])), {}, A([0.3, -1.0]), "log_prob cdf icdf entropy mean variance stddev mode"),
    ("Exponential", (A([0.5, 2.0]),), {}, A([0.3, 0.4]), "log_prob cdf icdf entropy mean variance stddev mode"),
    ("Laplace", (A([0.0, 1.0]), A([1.0, 2.0])), {}, A([0.3, -1.0]), "log_prob cdf icdf entropy mean variance stddev"),
    ("Cauchy", (A([0.0, 1.0]), A([1.0, 2.0])), {}, A([0.3, 0.8]), "log_prob cdf icdf entropy mean variance mode"),
    ("Uniform", (A([0.0, 1.0]), A([1.0, 2.0])), {}, A([0.3, 1.5]), "log_prob cdf icdf entropy mean variance stddev"),
    ("Gumbel", (A([0.0, 1.0]), A([1.0, 2.0])), {}, A([0.3, 0.6]), "log_prob cdf icdf entropy mean variance stddev"),
    ("LogNormal", (A([0.0, 1.0]), A([1.0, 0.5])), {}, A([0.3, 0.6]), "log_prob cdf icdf entropy mean variance mode"),
    ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), {}, A([0.3, 2.0]), "log_prob cdf entropy mean variance mode"),
    ("Chi2", (A([1.5, 4.0]),), {}, A([0.3, 2.0]), "log_prob cdf entropy mean variance mode"),
    ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), {}, A([0.3, 0.8]), "log_prob entropy mean variance mode"),
    ("Dirichlet", (A([[0.5, 3.0, 1.2], [2.0, 2.0, 2.0]]),), {}, A([0.3, 0.5, 0.2]), "log_prob entropy mean variance mode"),
    ("StudentT", (A([0.5, 3.0, 5.0]), A([1.0, 2.0, 0.0]), A([1.0, 0.5, 2.0])), {}, A([0.3, 2.0, -1.0]),
     "log_prob entropy mean variance mode"),
    ("Poisson", (A([0.5, 3.0]),), {}, A([0.0, 2.0]), "log_prob mean variance mode"),
    ("Binomial", (A([5.0, 10.0]), A([0.2, 0.7])), {}, A([0.0, 7.0]), "log_prob mean variance mode"),
    ("Binomial", (6,), {"logits": A([0.2, -1.7])}, A([2.0, 6.0]), "log_prob mean variance mode entropy"),
    ("Geometric", (A([0.2, 0.7]),), {}, A([0.0, 7.0]), "log_prob entropy mean variance mode"),
    ("Bernoulli", (A([0.2, 0.9]),), {}, A([0.0, 1.0]), "log_prob entropy mean variance mode"),
    ("Bernoulli", (), {"logits": A([-0.2, 2.9])}, A([0.0, 1.0]), "log_prob entropy mean variance"),
    ("Categorical", (A([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]),), {}, A([0.0, 2.0]), "log_prob entropy mode"),
    ("Categorical", (), {"logits": A([[0.2, 0.3, -0.5]])}, A([1.0, 2.0]), "log_prob entropy mode"),
    ("OneHotCategorical", (A([0.2, 0.3, 0.5]),), {}, A([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
     "log_prob entropy mean variance mode"),
    ("MultivariateNormal", (A([[0.0, 1.0], [1.0, 0.0]]),), {"scale_tril": A([[1.0, 0.0], [0.5, 2.0]])},
     A([0.3, 0.7]), "log_prob entropy mean variance"),
]


@pytest.mark.parametrize("case", _TORCH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(_TORCH_CASES)])
def test_against_torch(case):
    name, args, kwargs, value, methods = case
    s, t, torch = _pair(name, *args, **kwargs)
    assert tuple(s.batch_shape) == tuple(t.batch_shape) and tuple(s.event_shape) == tuple(t.event_shape)
    assert repr(s) == repr(t)
    assert s.has_rsample == t.has_rsample
    for m in methods.split():
        if m in ("log_prob", "cdf", "icdf"):
            v = value if m != "icdf" else np.clip(value, 0.05, 0.95)
            integer = name in ("Categorical",)
            a = getattr(s, m)(srcgrad.tensor(v.astype(np.int64)) if integer else _t(v))
            b = getattr(t, m)(torch.tensor(v.astype(np.int64)) if integer else torch.tensor(v))
        elif m == "entropy":
            a, b = s.entropy(), t.entropy()
        else:
            a, b = getattr(s, m), getattr(t, m)
        np.testing.assert_allclose(_np(a), b.detach().numpy().astype(np.float64), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{name}.{m}")


def test_repr_and_messages_against_torch():
    torch = pytest.importorskip("torch")
    import torch.distributions as TD
    for s, t in [(D.Normal(0.0, 1.0), TD.Normal(0.0, 1.0)),
                 (D.Bernoulli(logits=srcgrad.zeros(2)), TD.Bernoulli(logits=torch.zeros(2))),
                 (D.Independent(D.Normal(srcgrad.zeros(2, 3), 1.0), 1),
                  TD.Independent(TD.Normal(torch.zeros(2, 3), 1.0), 1)),
                 (D.Uniform(srcgrad.zeros(2), 1.0), TD.Uniform(torch.zeros(2), 1.0))]:
        assert repr(s) == repr(t)
    messages = []
    for lib, mod in ((srcgrad, D), (torch, TD)):
        with pytest.raises(ValueError) as e1:
            mod.Normal(lib.zeros(3), lib.tensor([1.0, -1.0, 2.0]))
        with pytest.raises(ValueError) as e2:
            mod.Gamma(lib.ones(3), 1.0).log_prob(lib.tensor([1.0, -1.0, 2.0]))
        with pytest.raises(ValueError) as e3:
            mod.Categorical(lib.tensor([0.5, 0.5])).log_prob(lib.tensor([3]))
        messages.append([str(e1.value), str(e2.value), str(e3.value)])
    assert messages[0] == messages[1]
    for s, t in [(D.constraints.positive, TD.constraints.positive), (D.constraints.real, TD.constraints.real),
                 (D.constraints.simplex, TD.constraints.simplex), (D.constraints.interval(0, 2), TD.constraints.interval(0, 2)),
                 (D.constraints.real_vector, TD.constraints.real_vector),
                 (D.constraints.integer_interval(0, 3), TD.constraints.integer_interval(0, 3))]:
        assert repr(s) == repr(t)


_KL_CASES = [
    ("Normal", (A([0.0, 1.0]), A([1.0, 2.0])), ("Normal", (A([0.5, -1.0]), A([2.0, 0.5])))),
    ("Bernoulli", (A([0.2, 0.9]),), ("Bernoulli", (A([0.5, 0.3]),))),
    ("Categorical", (A([[0.2, 0.3, 0.5]]),), ("Categorical", (A([[0.4, 0.4, 0.2]]),))),
    ("OneHotCategorical", (A([0.2, 0.3, 0.5]),), ("OneHotCategorical", (A([0.4, 0.4, 0.2]),))),
    ("Uniform", (A([0.0, 0.0]), A([1.0, 1.0])), ("Uniform", (A([-1.0, 0.5]), A([2.0, 2.0])))),
    ("Exponential", (A([0.5, 2.0]),), ("Exponential", (A([1.5, 0.2]),))),
    ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), ("Beta", (A([2.0, 1.0]), A([1.5, 0.5])))),
    ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), ("Gamma", (A([2.0, 1.0]), A([1.5, 0.5])))),
    ("Dirichlet", (A([0.5, 3.0, 1.0]),), ("Dirichlet", (A([2.0, 1.0, 1.0]),))),
    ("Laplace", (A([0.0, 1.0]), A([1.0, 2.0])), ("Laplace", (A([0.5, -1.0]), A([2.0, 0.5])))),
    ("Poisson", (A([0.5, 3.0]),), ("Poisson", (A([2.0, 1.0]),))),
    ("Geometric", (A([0.5, 0.3]),), ("Geometric", (A([0.2, 0.6]),))),
    ("Gumbel", (A([0.0, 1.0]), A([1.0, 2.0])), ("Gumbel", (A([0.5, -1.0]), A([2.0, 0.5])))),
    ("LogNormal", (A([0.0, 1.0]), A([1.0, 2.0])), ("LogNormal", (A([0.5, -1.0]), A([2.0, 0.5])))),
    ("MultivariateNormal", (A([0.0, 1.0]), A([[2.0, 0.3], [0.3, 1.0]])),
     ("MultivariateNormal", (A([1.0, -1.0]), A([[1.0, -0.2], [-0.2, 0.5]])))),
    ("Cauchy", (A([0.0, 1.0]), A([1.0, 2.0])), ("Cauchy", (A([0.5, -1.0]), A([2.0, 0.5])))),
]
# pairs of different families (the support mismatches give inf, as PyTorch's)
_NORMAL, _GUMBEL = ("Normal", (A([0.5, -1.0]), A([2.0, 0.5]))), ("Gumbel", (A([0.5, -1.0]), A([2.0, 0.5])))
_BETA, _GAMMA = ("Beta", (A([2.0, 1.0]), A([1.5, 0.5]))), ("Gamma", (A([2.0, 1.0]), A([1.5, 0.5])))
_EXPONENTIAL, _UNIFORM = ("Exponential", (A([1.5, 0.2]),)), ("Uniform", (A([0.1, 0.2]), A([0.6, 0.9])))
_CROSS_KL_CASES = [
    ("Bernoulli", (A([0.2, 0.9]),), ("Poisson", (A([2.0, 1.0]),))),
    ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), _EXPONENTIAL), ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), _GAMMA),
    ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), _NORMAL), ("Beta", (A([0.5, 3.0]), A([1.0, 2.0])), _UNIFORM),
    ("Exponential", (A([0.5, 2.0]),), _GAMMA), ("Exponential", (A([0.5, 2.0]),), _GUMBEL),
    ("Exponential", (A([0.5, 2.0]),), _NORMAL), ("Exponential", (A([0.5, 2.0]),), _BETA),
    ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), _EXPONENTIAL), ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), _GUMBEL),
    ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), _NORMAL), ("Gamma", (A([0.5, 3.0]), A([1.0, 2.0])), _UNIFORM),
    ("Gumbel", (A([0.0, 1.0]), A([1.0, 2.0])), _NORMAL), ("Gumbel", (A([0.0, 1.0]), A([1.0, 2.0])), _GAMMA),
    ("Laplace", (A([0.0, 1.0]), A([1.0, 2.0])), _NORMAL), ("Laplace", (A([0.0, 1.0]), A([1.0, 2.0])), _UNIFORM),
    ("Normal", (A([0.0, 1.0]), A([1.0, 2.0])), _GUMBEL),
    ("Normal", (A([0.0, 1.0]), A([1.0, 2.0])), ("Laplace", (A([0.5, -1.0]), A([2.0, 0.5])))),
    ("Normal", (A([0.0, 1.0]), A([1.0, 2.0])), _EXPONENTIAL),
    ("Poisson", (A([0.5, 3.0]),), ("Binomial", (5, A([0.5, 0.3])))),
    ("Uniform", (A([0.1, 0.3]), A([0.5, 0.9])), _BETA), ("Uniform", (A([0.1, 0.3]), A([0.5, 0.9])), _EXPONENTIAL),
    ("Uniform", (A([0.1, 0.3]), A([0.5, 0.9])), _GAMMA), ("Uniform", (A([-0.1, 0.3]), A([0.5, 0.9])), _GAMMA),
    ("Uniform", (A([0.1, 0.3]), A([0.5, 0.9])), _GUMBEL), ("Uniform", (A([0.1, 0.3]), A([0.5, 0.9])), _NORMAL),
]


@pytest.mark.parametrize("case", _CROSS_KL_CASES, ids=[f"{c[0]}-{c[2][0]}" for c in _CROSS_KL_CASES])
def test_kl_of_different_families_against_torch(case):
    name, args, (qname, qargs) = case
    ps, pt, torch = _pair(name, *args)
    qs, qt, _ = _pair(qname, *qargs)
    np.testing.assert_allclose(_np(D.kl_divergence(ps, qs)), D_kl_torch(pt, qt), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("case", _KL_CASES, ids=[c[0] for c in _KL_CASES])
def test_kl_against_torch(case):
    name, args, (qname, qargs) = case
    ps, pt, torch = _pair(name, *args)
    qs, qt, _ = _pair(qname, *qargs)
    np.testing.assert_allclose(_np(D.kl_divergence(ps, qs)), D_kl_torch(pt, qt), rtol=1e-6, atol=1e-10)


def D_kl_torch(p, q):  # noqa: N802
    import torch.distributions as TD
    return TD.kl_divergence(p, q).numpy()


def test_kl_independent_and_infinite_against_torch():
    torch = pytest.importorskip("torch")
    import torch.distributions as TD
    p = D.Independent(D.Normal(_t([[0.0, 1.0]]), _t([[1.0, 2.0]])), 1)
    q = D.Independent(D.Normal(_t([[0.5, 0.0]]), _t([[2.0, 1.0]])), 1)
    pt = TD.Independent(TD.Normal(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])), 1)
    qt = TD.Independent(TD.Normal(torch.tensor([[0.5, 0.0]]), torch.tensor([[2.0, 1.0]])), 1)
    np.testing.assert_allclose(_np(D.kl_divergence(p, q)), TD.kl_divergence(pt, qt).numpy(), rtol=1e-6)
    # support mismatches give inf, as PyTorch's
    kl = D.kl_divergence(D.Uniform(_t([0.0]), _t([2.0])), D.Uniform(_t([0.5]), _t([3.0])))
    assert math.isinf(float(kl))
    kl = D.kl_divergence(D.Bernoulli(_t([0.0, 0.5])), D.Bernoulli(_t([0.5, 0.0])))
    np.testing.assert_allclose(_np(kl), TD.kl_divergence(TD.Bernoulli(torch.tensor([0.0, 0.5])),
                                                         TD.Bernoulli(torch.tensor([0.5, 0.0]))).numpy(), rtol=1e-6)


def test_kl_closed_form_and_registry():
    kl = D.kl_divergence(D.Normal(_t([1.0]), _t([2.0])), D.Normal(_t([0.0]), _t([1.0])))
    assert float(kl) == pytest.approx(math.log(1 / 2) + (4 + 1) / 2 - 0.5)
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Normal and q "
                                                  "type Poisson"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Poisson(1.0))

    class MyNormal(D.Normal):
        pass

    # a subclass finds its parent's rule, until it registers its own
    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0))) == 0.0

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return srcgrad.tensor(42.0)

    assert float(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0))) == 42.0
    with pytest.raises(TypeError):
        D.register_kl(int, D.Normal)


def test_transforms_against_torch():
    torch = pytest.importorskip("torch")
    import torch.distributions as TD
    import torch.distributions.transforms as TT
    x = A([-1.5, 0.2, 2.0])
    cases = [
        (transforms.ExpTransform(), TT.ExpTransform()),
        (transforms.SigmoidTransform(), TT.SigmoidTransform()),
        (transforms.TanhTransform(), TT.TanhTransform()),
        (transforms.AffineTransform(1.0, -2.0), TT.AffineTransform(1.0, -2.0)),
        (transforms.ComposeTransform([transforms.TanhTransform(), transforms.AffineTransform(0.5, 3.0)]),
         TT.ComposeTransform([TT.TanhTransform(), TT.AffineTransform(0.5, 3.0)])),
    ]
    for s, t in cases:
        ys, yt = s(_t(x)), t(torch.tensor(x))
        np.testing.assert_allclose(_np(ys), yt.numpy(), rtol=1e-6)
        np.testing.assert_allclose(_np(s.inv(ys)), x, rtol=1e-6)
        np.testing.assert_allclose(_np(s.log_abs_det_jacobian(_t(x), ys)),
                                   t.log_abs_det_jacobian(torch.tensor(x), yt).numpy(), rtol=1e-6)
        assert repr(s) == repr(t)
    sm = transforms.SoftmaxTransform()
    np.testing.assert_allclose(_np(sm(_t(x))), TT.SoftmaxTransform()(torch.tensor(x)).numpy(), rtol=1e-9)
    # a squashed Gaussian (SAC's policy) and a sigmoid-logistic flow
    base_s, base_t = D.Normal(_t([0.0, 1.0]), _t([1.0, 0.5])), TD.Normal(torch.tensor([0.0, 1.0]),
                                                                          torch.tensor([1.0, 0.5]))
    ts = D.TransformedDistribution(base_s, [transforms.TanhTransform(), transforms.AffineTransform(0.0, 2.0)])
    tt = TD.TransformedDistribution(base_t, [TT.TanhTransform(), TT.AffineTransform(0.0, 2.0)])
    v = A([0.5, -1.2])
    np.testing.assert_allclose(_np(ts.log_prob(_t(v))), tt.log_prob(torch.tensor(v)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(_np(ts.cdf(_t(v))), tt.cdf(torch.tensor(v)).numpy(), rtol=1e-6)
    neg = D.TransformedDistribution(base_s, transforms.AffineTransform(1.0, -3.0))
    negt = TD.TransformedDistribution(base_t, TT.AffineTransform(1.0, -3.0))
    np.testing.assert_allclose(_np(neg.cdf(_t(v))), negt.cdf(torch.tensor(v)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(_np(neg.icdf(_t([0.2, 0.7]))), negt.icdf(torch.tensor([0.2, 0.7])).numpy(),
                               rtol=1e-6)


def test_gamma_grad_formula_against_torch():
    torch = pytest.importorskip("torch")
    alpha = A([0.05, 0.3, 0.5, 1.0, 2.5, 5.0, 9.0, 10.0, 30.0, 30.0, 100.0])
    x = A([1e-3, 0.7, 1.2, 2.0, 4.0, 9.5, 3.0, 10.5, 35.0, 20.0, 90.0])
    expected = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(_np(standard_gamma_grad(_t(alpha), _t(x))), expected, rtol=1e-6)


# ---------------------------------------------------------------------------
# gamma's implicit reparameterisation, without PyTorch


def _gamma_cdf(a, x, terms=400):
    """Regularised lower incomplete gamma P(a, x) by its power series, in float64."""
    term = 1.0 / a
    total = term
    for n in range(1, terms):
        term *= x / (a + n)
        total += term
        if term < 1e-17 * total:
            break
    return math.exp(a * math.log(x) - x - math.lgamma(a)) * total


@pytest.mark.parametrize("a,x", [(0.5, 0.3), (1.5, 2.0), (4.0, 3.0), (20.0, 25.0), (3.0, 0.5)])
def test_gamma_grad_formula_closed_form(a, x):
    # dx/da at a fixed quantile = -(dF/da) / f(x)
    h = 1e-5
    dfda = (_gamma_cdf(a + h, x) - _gamma_cdf(a - h, x)) / (2 * h)
    pdf = math.exp((a - 1) * math.log(x) - x - math.lgamma(a))
    got = float(standard_gamma_grad(_t(a), _t(x)))
    assert got == pytest.approx(-dfda / pdf, rel=2e-3)


# ---------------------------------------------------------------------------
# sampling


_SAMPLERS = [
    (lambda: D.Normal(srcgrad.zeros(3), 1.0), (3,), srcgrad.float32),
    (lambda: D.Bernoulli(srcgrad.full((2, 1), 0.3)), (2, 1), srcgrad.float32),
    (lambda: D.Categorical(srcgrad.ones(2, 4)), (2,), srcgrad.int64),
    (lambda: D.OneHotCategorical(srcgrad.ones(4)), (4,), srcgrad.float32),
    (lambda: D.Uniform(0.0, srcgrad.ones(3)), (3,), srcgrad.float32),
    (lambda: D.Exponential(srcgrad.ones(2)), (2,), srcgrad.float32),
    (lambda: D.Laplace(0.0, 1.0), (), srcgrad.float32),
    (lambda: D.Cauchy(srcgrad.zeros(2), 1.0), (2,), srcgrad.float32),
    (lambda: D.Gamma(srcgrad.ones(2), 1.0), (2,), srcgrad.float32),
    (lambda: D.Beta(srcgrad.ones(2), 2.0), (2,), srcgrad.float32),
    (lambda: D.Dirichlet(srcgrad.ones(2, 3)), (2, 3), srcgrad.float32),
    (lambda: D.Poisson(srcgrad.ones(2)), (2,), srcgrad.float32),
    (lambda: D.Binomial(5, srcgrad.full((2,), 0.5)), (2,), srcgrad.float32),
    (lambda: D.Geometric(srcgrad.full((2,), 0.5)), (2,), srcgrad.float32),
    (lambda: D.LogNormal(srcgrad.zeros(2), 1.0), (2,), srcgrad.float32),
    (lambda: D.Gumbel(srcgrad.zeros(2), 1.0), (2,), srcgrad.float32),
    (lambda: D.StudentT(srcgrad.full((2,), 3.0)), (2,), srcgrad.float32),
    (lambda: D.MultivariateNormal(srcgrad.zeros(2, 3), srcgrad.eye(3)), (2, 3), srcgrad.float32),
    (lambda: D.Independent(D.Normal(srcgrad.zeros(2, 3), 1.0), 1), (2, 3), srcgrad.float32),
]


@pytest.mark.parametrize("i", range(len(_SAMPLERS)))
def test_sample_shapes_and_dtypes(i):
    # shapes and dtypes are known without running anything: nothing here draws numbers
    make, shape, dtype = _SAMPLERS[i]
    d = make()
    d._validate_args = False
    assert tuple(d.batch_shape) + tuple(d.event_shape) == shape
    x = d.sample((4, 5))
    assert tuple(x.shape) == (4, 5) + shape and x.dtype == dtype
    assert not x.requires_grad
    assert tuple(d.sample().shape) == shape
    if d.has_rsample:
        assert tuple(d.rsample((2,)).shape) == (2,) + shape
    assert tuple(d.log_prob(x).shape) == (4, 5) + tuple(d.batch_shape)
    e = d.expand((6,) + tuple(d.batch_shape))
    assert tuple(e.batch_shape) == (6,) + tuple(d.batch_shape)
    assert tuple(e.sample().shape) == (6,) + shape


_MOMENTS = [
    (lambda: D.Normal(1.0, 2.0), 1.0, 4.0),
    (lambda: D.Uniform(-1.0, 3.0), 1.0, 16 / 12),
    (lambda: D.Exponential(2.0), 0.5, 0.25),
    (lambda: D.Laplace(1.0, 0.5), 1.0, 0.5),
    (lambda: D.Gamma(0.4, 2.0), 0.2, 0.1),
    (lambda: D.Gamma(3.0, 0.5), 6.0, 12.0),
    (lambda: D.Beta(2.0, 0.5), 0.8, 1.0 / (6.25 * 3.5)),
    (lambda: D.Poisson(3.5), 3.5, 3.5),
    (lambda: D.Binomial(40, srcgrad.tensor(0.3)), 12.0, 8.4),
    (lambda: D.Binomial(7, srcgrad.tensor(0.6)), 4.2, 1.68),
    (lambda: D.Geometric(srcgrad.tensor(0.3)), 7 / 3, 0.7 / 0.09),
    (lambda: D.Bernoulli(srcgrad.tensor(0.3)), 0.3, 0.21),
    (lambda: D.LogNormal(0.0, 0.5), math.exp(0.125), (math.exp(0.25) - 1) * math.exp(0.25)),
    (lambda: D.Gumbel(1.0, 2.0), 1.0 + 2.0 * 0.5772156649, math.pi ** 2 / 6 * 4),
    (lambda: D.StudentT(srcgrad.tensor(6.0), 1.0, 2.0), 1.0, 4.0 * 6 / 4),
    (lambda: D.Chi2(srcgrad.tensor(3.0)), 3.0, 6.0),
]


@pytest.mark.parametrize("i", range(len(_MOMENTS)))
def test_sample_moments(i):
    make, mean, var = _MOMENTS[i]
    n = 20000
    d = make()
    sample = d.sample((n,))
    x = _np(sample)
    assert srcgrad.distributions.utils.all_true(d.support.check(sample))
    # 5 standard errors of the mean, and 10% of the variance
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    assert x.var() == pytest.approx(var, rel=0.1)


def test_sample_moments_multivariate():
    n = 20000
    probs = A([0.1, 0.2, 0.7])
    c = _np(D.Categorical(_t(probs)).sample((n,)))
    np.testing.assert_allclose(np.bincount(c.astype(int), minlength=3) / n, probs, atol=0.015)
    oh = _np(D.OneHotCategorical(_t(probs)).sample((n,)))
    np.testing.assert_allclose(oh.mean(0), probs, atol=0.015)
    alpha = A([0.5, 2.0, 3.5])
    dsample = _np(D.Dirichlet(_t(alpha)).sample((n,)))
    np.testing.assert_allclose(dsample.sum(-1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(dsample.mean(0), alpha / alpha.sum(), atol=0.01)
    cov = A([[2.0, 0.8], [0.8, 1.0]])
    m = _np(D.MultivariateNormal(_t([1.0, -1.0]), covariance_matrix=_t(cov)).sample((n,)))
    np.testing.assert_allclose(m.mean(0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(m.T), cov, atol=0.08)


def test_manual_seed_reproducible():
    d = D.Gamma(srcgrad.tensor([0.5, 2.0]), 1.0)
    srcgrad.manual_seed(3)
    a = _np(d.sample((5,)))
    srcgrad.manual_seed(3)
    b = _np(d.sample((5,)))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _np(d.sample((5,))))
    g = srcgrad.Generator().manual_seed(3)
    assert tuple(srcgrad.randn(2, generator=g).shape) == (2,)


# ---------------------------------------------------------------------------
# gradients


def test_rsample_gradients_normal_and_gamma():
    n = 20000
    loc = srcgrad.tensor(0.5, requires_grad=True)
    scale = srcgrad.tensor(1.5, requires_grad=True)
    x = D.Normal(loc, scale).rsample((n,))
    (x * x).mean().backward()  # E[x^2] = loc^2 + scale^2
    # (tolerances: 5 standard errors of each estimate)
    assert float(loc.grad) == pytest.approx(1.0, abs=0.11)
    assert float(scale.grad) == pytest.approx(3.0, abs=0.16)
    for a0, r0 in ((0.6, 2.0), (3.0, 0.5)):
        a = srcgrad.tensor(a0, requires_grad=True)
        r = srcgrad.tensor(r0, requires_grad=True)
        x = D.Gamma(a, r).rsample((n,))
        x.mean().backward()  # E[x] = a / r
        assert float(a.grad) == pytest.approx(1 / r0, rel=0.05)
        assert float(r.grad) == pytest.approx(-a0 / r0 ** 2, rel=0.05)


def test_rsample_gradients_beta_dirichlet_student():
    n = 20000
    c1 = srcgrad.tensor(2.0, requires_grad=True)
    c0 = srcgrad.tensor(3.0, requires_grad=True)
    D.Beta(c1, c0).rsample((n,)).mean().backward()  # E[x] = c1 / (c1 + c0)
    assert float(c1.grad) == pytest.approx(3.0 / 25.0, rel=0.1)
    assert float(c0.grad) == pytest.approx(-2.0 / 25.0, rel=0.1)
    alpha = srcgrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = D.Dirichlet(alpha).rsample((n,))
    x[:, 0].mean().backward()  # E[x_0] = a_0 / sum(a)
    np.testing.assert_allclose(_np(alpha.grad), [5 / 36, -1 / 36, -1 / 36], atol=0.01)
    scale = srcgrad.tensor(2.0, requires_grad=True)
    df = srcgrad.tensor(8.0)
    (D.StudentT(df, 0.0, scale).rsample((n,)) ** 2).mean().backward()  # E[x^2] = scale^2 df / (df - 2)
    assert float(scale.grad) == pytest.approx(2 * 2.0 * 8 / 6, rel=0.1)


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "StudentT", "Laplace", "MultivariateNormal",
                                  "Dirichlet", "LogNormal"])
def test_gradcheck_log_prob(name):
    from srcgrad.autograd import gradcheck

    def p(v):
        return srcgrad.tensor(v, dtype=srcgrad.float64, requires_grad=True)

    value = _t([0.3, 0.6])
    if name == "Normal":
        ps, f = (p([0.1, -0.2]), p([1.0, 2.0])), lambda a, b: D.Normal(a, b).log_prob(value)
    elif name == "Gamma":
        ps, f = (p([0.7, 2.0]), p([1.0, 2.0])), lambda a, b: D.Gamma(a, b).log_prob(value)
    elif name == "Beta":
        ps, f = (p([0.7, 2.0]), p([1.5, 2.0])), lambda a, b: D.Beta(a, b).log_prob(value)
    elif name == "StudentT":
        ps, f = (p([3.0, 5.0]), p([0.1, 0.0]), p([1.0, 2.0])), lambda a, b, c: D.StudentT(a, b, c).log_prob(value)
    elif name == "Laplace":
        ps, f = (p([0.0, 0.2]), p([1.0, 2.0])), lambda a, b: D.Laplace(a, b).log_prob(value)
    elif name == "LogNormal":
        ps, f = (p([0.0, 0.2]), p([1.0, 2.0])), lambda a, b: D.LogNormal(a, b).log_prob(value)
    elif name == "Dirichlet":
        ps, f = (p([0.7, 2.0, 1.5]),), lambda a: D.Dirichlet(a).log_prob(_t([0.2, 0.5, 0.3]))
    else:
        ps = (p([0.1, -0.2]), p([[1.0, 0.0], [0.4, 1.5]]))
        f = lambda a, L: D.MultivariateNormal(a, scale_tril=L, validate_args=False).log_prob(value)  # noqa: E731
    assert gradcheck(f, ps)


def test_entropy_gradients_and_lazy_params():
    logits = srcgrad.tensor([0.5, -1.0, 2.0], requires_grad=True)
    d = D.Categorical(logits=logits)
    d.entropy().backward()
    p = np.exp([0.5, -1.0, 2.0]) / np.exp([0.5, -1.0, 2.0]).sum()
    h = -(p * np.log(p)).sum()
    np.testing.assert_allclose(_np(logits.grad), -p * (np.log(p) + h), rtol=1e-5)
    b = D.Bernoulli(logits=srcgrad.tensor([0.0]))
    assert "probs" not in b.__dict__
    assert float(b.probs) == 0.5 and "probs" in b.__dict__


# ---------------------------------------------------------------------------
# validation and API


def test_validation_messages():
    with pytest.raises(ValueError, match=r"Expected parameter scale \(Tensor of shape \(3,\)\) of distribution "
                                         r"Normal\(loc: torch.Size\(\[3\]\), scale: torch.Size\(\[3\]\)\) to satisfy "
                                         r"the constraint GreaterThan\(lower_bound=0.0\), but found invalid values:\n"):
        D.Normal(srcgrad.zeros(3), srcgrad.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"constraint Real\(\)"):
        D.Normal(srcgrad.tensor([0.0, math.nan]), 1.0)
    with pytest.raises(ValueError, match=r"Expected value argument \(Tensor of shape \(3,\)\) to be within the "
                                         r"support \(GreaterThanEq\(lower_bound=0.0\)\) of the distribution "
                                         r"Exponential\(rate: torch.Size\(\[3\]\)\), but found invalid values:\n"):
        D.Exponential(srcgrad.ones(3)).log_prob(srcgrad.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        D.Normal(0.0, 1.0).log_prob(0.5)
    with pytest.raises(ValueError, match="Value is not broadcastable"):
        D.Normal(srcgrad.zeros(3), 1.0).log_prob(srcgrad.zeros(2))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        D.Bernoulli()
    with pytest.raises(ValueError, match="Simplex"):
        D.Categorical(srcgrad.tensor([0.5, -0.5]), validate_args=True)
    with pytest.raises(ValueError, match="to be positive"):
        D.Geometric(srcgrad.tensor([0.0, 0.5]))
    # validate_args=False turns the checks off
    D.Normal(srcgrad.zeros(3), -srcgrad.ones(3), validate_args=False)
    try:
        D.Distribution.set_default_validate_args(False)
        assert float(D.Exponential(1.0).log_prob(srcgrad.tensor(-1.0))) == pytest.approx(-1.0 * -1.0 + 0.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_constraints_check():
    x = srcgrad.tensor([-1.0, 0.0, 0.5, 1.0, 2.0])
    assert _np(constraints.positive.check(x)).tolist() == [0, 0, 1, 1, 1]
    assert _np(constraints.unit_interval.check(x)).tolist() == [0, 1, 1, 1, 0]
    assert _np(constraints.nonnegative_integer.check(x)).tolist() == [0, 1, 0, 1, 1]
    assert _np(constraints.integer_interval(0, 1).check(x)).tolist() == [0, 1, 0, 1, 0]
    assert _np(constraints.boolean.check(x)).tolist() == [0, 1, 0, 1, 0]
    assert _np(constraints.simplex.check(srcgrad.tensor([[0.2, 0.8], [0.5, 0.6]]))).tolist() == [1, 0]
    assert _np(constraints.independent(constraints.real, 1).check(srcgrad.tensor([[0.0, math.nan], [1.0, 2.0]])
                                                                    )).tolist() == [0, 1]
    m = srcgrad.tensor([[[2.0, 0.0], [0.5, 1.0]], [[1.0, 0.3], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]])
    assert _np(constraints.lower_cholesky.check(m)).tolist() == [1, 0, 0]
    spd = srcgrad.tensor([[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.3], [0.0, 1.0]]])
    assert _np(constraints.positive_definite.check(spd)).tolist() == [1, 0, 0]
    assert constraints.is_dependent(constraints.dependent)
    assert constraints.is_dependent(D.Uniform.support)
    assert repr(D.Uniform(0.0, 2.0).support) == "Interval(lower_bound=0.0, upper_bound=2.0)"


def test_api_odds_and_ends():
    d = D.Normal(srcgrad.zeros(2), srcgrad.ones(2))
    with pytest.warns(FutureWarning):
        assert tuple(d.sample_n(3).shape) == (3, 2)
    e = d.expand((4, 2))
    assert tuple(e.batch_shape) == (4, 2) and e._validate_args == d._validate_args
    assert D.Bernoulli(srcgrad.tensor([0.3, 0.6])).enumerate_support().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert tuple(D.Binomial(3, srcgrad.tensor([0.3, 0.6])).enumerate_support().shape) == (4, 2)
    ent = D.Binomial(3, srcgrad.tensor([0.3]))
    np.testing.assert_allclose(float(ent.entropy()), -sum(
        math.comb(3, k) * 0.3 ** k * 0.7 ** (3 - k) * math.log(math.comb(3, k) * 0.3 ** k * 0.7 ** (3 - k))
        for k in range(4)), rtol=1e-5)
    ind = D.Independent(D.Normal(srcgrad.zeros(2, 3), 1.0), 1)
    assert tuple(ind.batch_shape) == (2,) and tuple(ind.event_shape) == (3,)
    assert tuple(ind.log_prob(srcgrad.zeros(2, 3)).shape) == (2,)
    assert float(ind.entropy()[0]) == pytest.approx(3 * 0.5 * math.log(2 * math.pi * math.e), rel=1e-6)
    assert D.Normal(0.0, 1.0).batch_shape == srcgrad.Size([])
    with pytest.raises(NotImplementedError):
        D.Poisson(1.0).rsample()
    assert not D.Poisson(1.0).has_rsample and D.Gamma(1.0, 1.0).has_rsample
    st = D.OneHotCategoricalStraightThrough(logits=srcgrad.zeros(3, requires_grad=True))
    assert st.rsample().requires_grad
    ts = D.TransformedDistribution(D.Normal(0.0, 1.0), [transforms.ExpTransform()])
    assert isinstance(ts.support, type(constraints.positive)) and ts.has_rsample
    cached = transforms.ExpTransform().with_cache()
    x = srcgrad.tensor([0.5])
    assert cached.inv(cached(x)) is x


# ---------------------------------------------------------------------------
# training: define-by-run and @srcgrad.compile give the same losses


def _vae_setup():
    srcgrad.manual_seed(0)
    enc, dec = srcgrad.nn.Linear(4, 4), srcgrad.nn.Linear(2, 4)
    opt = srcgrad.optim.SGD(list(enc.parameters()) + list(dec.parameters()), lr=0.05)
    return enc, dec, opt


def _vae_step(enc, dec, opt, x):
    h = enc(x)
    q = D.Normal(h[:, :2], srcgrad.nn.functional.softplus(h[:, 2:]) + 1e-3)
    z = q.rsample()
    recon = D.Independent(D.Normal(dec(z), 1.0), 1).log_prob(x)
    kl = D.kl_divergence(q, D.Normal(srcgrad.zeros_like(z), srcgrad.ones_like(z))).sum(-1)
    loss = (kl - recon).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def _reinforce_step(policy, opt, obs):
    dist = D.Categorical(logits=policy(obs))
    action = dist.sample()
    reward = (action == 2).to(srcgrad.float32) - 0.1 * action.to(srcgrad.float32)
    loss = -(dist.log_prob(action) * reward).mean() - 0.01 * dist.entropy().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss


def test_training_define_by_run_and_compiled_agree():
    x = srcgrad.randn(16, 4, generator=srcgrad.Generator().manual_seed(1))
    runs = []
    for compiled in (False, True):
        enc, dec, opt = _vae_setup()
        step = srcgrad.compile(_vae_step) if compiled else _vae_step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback to define-by-run
            runs.append([float(step(enc, dec, opt, x).detach()) for _ in range(3)])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)
    assert runs[0][0] != runs[0][1]

    obs = srcgrad.randn(32, 3, generator=srcgrad.Generator().manual_seed(2))
    runs = []
    for compiled in (False, True):
        srcgrad.manual_seed(0)
        policy = srcgrad.nn.Linear(3, 4)
        opt = srcgrad.optim.SGD(policy.parameters(), lr=0.1)
        step = srcgrad.compile(_reinforce_step) if compiled else _reinforce_step
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            runs.append([float(step(policy, opt, obs).detach()) for _ in range(3)])
    np.testing.assert_allclose(runs[0], runs[1], rtol=1e-5)


def test_power_transforms_of_equal_exponents_are_equal():
    T = D.transforms
    assert T.PowerTransform(2.5) == T.PowerTransform(2.5) and T.PowerTransform(2.5) != T.PowerTransform(2.0)
    assert T.PowerTransform(srcgrad.tensor(2.5)) == T.PowerTransform(2.5) and T.PowerTransform(2.0) != T.ExpTransform()
