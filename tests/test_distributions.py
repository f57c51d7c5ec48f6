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
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Cauchy and q "
                                                  "type Poisson"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Poisson(1.0))
    # two exponential families fall back to the Bregman rule, which refuses different families (as PyTorch's)
    with pytest.raises(NotImplementedError, match="cross KL-divergence between different exponential families"):
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


# ---------------------------------------------------------------------------
# the families added later: HalfNormal ... GeneralizedPareto, MixtureSameFamily, the new transforms,
# biject_to / transform_to and their KL divergences


def _i0(x):
    return sum((x / 2) ** (2 * k) / math.factorial(k) ** 2 for k in range(60))


def _closed_kumaraswamy(a, b, x):
    return math.log(a * b) + (a - 1) * math.log(x) + (b - 1) * math.log1p(-x ** a)


# (distribution, value, expected log_prob), each computed with math
_NEW_LOG_PROB_TABLE = [
    (lambda: D.HalfNormal(2.0), 0.7, math.log(2) - 0.5 * math.log(2 * math.pi) - math.log(2.0) - 0.49 / 8),
    (lambda: D.HalfNormal(2.0, validate_args=False), -0.7, -math.inf),
    (lambda: D.HalfCauchy(1.5), 0.7, math.log(2 / (math.pi * 1.5 * (1 + (0.7 / 1.5) ** 2)))),
    (lambda: D.Pareto(1.5, 2.5), 2.0, math.log(2.5) + 2.5 * math.log(1.5) - 3.5 * math.log(2.0)),
    (lambda: D.Weibull(1.5, 2.5), 0.8,
     math.log(2.5 / 1.5) + 1.5 * math.log(0.8 / 1.5) - (0.8 / 1.5) ** 2.5),
    (lambda: D.InverseGamma(2.5, 1.5), 0.8,
     2.5 * math.log(1.5) - math.lgamma(2.5) - 3.5 * math.log(0.8) - 1.5 / 0.8),
    (lambda: D.Kumaraswamy(2.0, 3.0), 0.4, _closed_kumaraswamy(2.0, 3.0, 0.4)),
    (lambda: D.FisherSnedecor(3.0, 5.0), 1.2,
     -_lbeta(1.5, 2.5) + 1.5 * math.log(0.6) + 0.5 * math.log(1.2) - 4 * math.log1p(0.6 * 1.2)),
    (lambda: D.VonMises(0.5, 2.0), 1.5, 2.0 * math.cos(1.0) - math.log(2 * math.pi * _i0(2.0))),
    (lambda: D.NegativeBinomial(3.0, _t(0.4)), 2.0,
     math.lgamma(5) - math.lgamma(3) - math.lgamma(3) + 3 * math.log(0.6) + 2 * math.log(0.4)),
    (lambda: D.ContinuousBernoulli(_t(0.3)), 0.6,
     0.6 * math.log(0.3) + 0.4 * math.log(0.7) + math.log(2 * math.atanh(1 - 2 * 0.3) / (1 - 2 * 0.3))),
    (lambda: D.GeneralizedPareto(0.5, 2.0, 0.3), 1.5, -math.log(2.0) - (1 / 0.3 + 1) * math.log1p(0.3 * 0.5)),
    (lambda: D.GeneralizedPareto(0.5, 2.0, 0.0), 1.5, -math.log(2.0) - 0.5),
    (lambda: D.LogisticNormal(_t([0.3]), _t([0.5])), [0.2, 0.8],
     -0.5 * ((math.log(0.25) - 0.3) / 0.5) ** 2 - math.log(0.5 * math.sqrt(2 * math.pi)) - math.log(0.2 * 0.8)),
]


@pytest.mark.parametrize("i", range(len(_NEW_LOG_PROB_TABLE)))
def test_new_log_prob_closed_form(i):
    make, value, expected = _NEW_LOG_PROB_TABLE[i]
    got = float(make().log_prob(_t(value)))
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_multinomial_and_lowrank_closed_form():
    probs = A([0.2, 0.3, 0.5])
    x = A([1.0, 0.0, 3.0])
    expected = math.log(math.factorial(4) / math.factorial(3)) + np.sum(x * np.log(probs))
    assert float(D.Multinomial(4, _t(probs)).log_prob(_t(x))) == pytest.approx(expected, rel=1e-9)
    loc, W, diag = A([1.0, -1.0, 0.5]), A([[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]]), A([1.0, 0.5, 2.0])
    cov = W @ W.T + np.diag(diag)
    v = A([[0.3, 0.2, -1.0], [1.0, -2.0, 0.0]])
    diff = v - loc
    expected = (-0.5 * np.einsum("bi,ij,bj->b", diff, np.linalg.inv(cov), diff)
                - 0.5 * np.log(np.linalg.det(2 * np.pi * cov)))
    d = D.LowRankMultivariateNormal(_t(loc), _t(W), _t(diag))
    np.testing.assert_allclose(_np(d.log_prob(_t(v))), expected, rtol=1e-10)
    np.testing.assert_allclose(float(d.entropy()), 0.5 * np.log(np.linalg.det(2 * np.pi * np.e * cov)), rtol=1e-10)
    np.testing.assert_allclose(_np(d.covariance_matrix), cov, rtol=1e-12)
    np.testing.assert_allclose(_np(d.precision_matrix), np.linalg.inv(cov), rtol=1e-9)
    np.testing.assert_allclose(_np(d.scale_tril), np.linalg.cholesky(cov), rtol=1e-9)
    # a mixture's density is the weighted sum of its components'
    mix = D.MixtureSameFamily(D.Categorical(_t([0.3, 0.7])), D.Normal(_t([0.0, 2.0]), _t([1.0, 0.5])))
    dens = 0.3 * math.exp(-0.5 * 0.25) / math.sqrt(2 * math.pi) + 0.7 * math.exp(-0.5 * 9) / (0.5 * math.sqrt(2 * math.pi))
    assert float(mix.log_prob(_t(0.5))) == pytest.approx(math.log(dens), rel=1e-10)
    assert float(mix.mean) == pytest.approx(1.4)
    assert float(mix.variance) == pytest.approx(0.3 * 1 + 0.7 * 0.25 + 0.3 * 1.4 ** 2 + 0.7 * 0.6 ** 2)


def _src_or_torch(lib, obj):
    if isinstance(obj, np.ndarray):
        if lib == "s":
            return srcgrad.tensor(obj)
        import torch
        return torch.tensor(obj)
    if callable(obj):
        return obj(lib)
    return obj


def _mod(lib, name):
    """The module holding ``name`` in srcgrad (``s``) or PyTorch (``t``)."""
    import srcgrad.distributions.relaxed as R
    if lib == "s":
        return R if name in ("LogitRelaxedBernoulli", "ExpRelaxedCategorical") else D
    import torch.distributions as TD
    import torch.distributions.relaxed_bernoulli as TRB
    import torch.distributions.relaxed_categorical as TRC
    return {"LogitRelaxedBernoulli": TRB, "ExpRelaxedCategorical": TRC}.get(name, TD)


def _mixture(lib):
    mod, arr = (D, srcgrad.tensor) if lib == "s" else (__import__("torch").distributions, __import__("torch").tensor)
    return [mod.Categorical(arr(A([[0.3, 0.7], [0.5, 0.5], [0.1, 0.9]]))),
            mod.Normal(arr(A([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])), 1.5)]


F32 = np.float32
_NEW_TORCH_CASES = [
    ("HalfNormal", (A([1.0, 2.0]),), {}, A([0.3, 1.0]), "log_prob cdf icdf entropy mean variance stddev mode"),
    ("HalfCauchy", (A([1.0, 2.0]),), {}, A([0.3, 1.0]), "log_prob cdf icdf entropy mean variance mode"),
    ("Pareto", (A([1.0, 2.0]), A([0.5, 3.0])), {}, A([1.3, 2.5]), "log_prob cdf icdf entropy mean variance mode"),
    ("Weibull", (A([1.0, 2.0]), A([0.5, 3.0])), {}, A([1.3, 2.5]), "log_prob cdf icdf entropy mean variance mode"),
    ("InverseGamma", (A([0.5, 3.0]), A([1.0, 2.0])), {}, A([1.3, 2.5]), "log_prob entropy mean variance mode"),
    ("Kumaraswamy", (A([0.5, 3.0]), A([2.0, 2.0])), {}, A([0.3, 0.7]), "log_prob cdf icdf entropy mean variance mode"),
    ("FisherSnedecor", (A([1.5, 5.0]), A([3.0, 6.0])), {}, A([0.3, 2.0]), "log_prob mean variance mode"),
    ("VonMises", (A([0.5, -1.0]), A([0.5, 5.0])), {}, A([0.3, 2.0]), "log_prob mean variance mode"),
    ("ContinuousBernoulli", (A([0.2, 0.4995, 0.8]),), {}, A([0.3, 0.6, 0.9]),
     "log_prob cdf icdf entropy mean variance stddev"),
    ("ContinuousBernoulli", (), {"logits": A([-1.2, 0.0, 2.0])}, A([0.3, 0.6, 0.9]), "log_prob cdf entropy mean variance"),
    ("NegativeBinomial", (A([3.0, 5.5]), A([0.2, 0.7])), {}, A([0.0, 7.0]), "log_prob mean variance mode"),
    ("NegativeBinomial", (A([3.0, 5.5]),), {"logits": A([0.2, -0.7])}, A([2.0, 7.0]), "log_prob mean variance mode"),
    ("Multinomial", (5, A([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])), {}, A([1.0, 1.0, 3.0]), "log_prob mean variance entropy"),
    ("Multinomial", (4,), {"logits": A([0.2, 0.3, -0.5])}, A([[1.0, 0.0, 3.0], [0.0, 4.0, 0.0]]),
     "log_prob mean variance entropy"),
    ("LowRankMultivariateNormal", (A([[0.0, 1.0, 0.5]]), A([[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]]), A([1.0, 0.5, 2.0])),
     {}, A([0.3, -0.2, 1.0]), "log_prob entropy mean variance mode covariance_matrix precision_matrix scale_tril"),
    ("RelaxedBernoulli", (A(0.7), A([0.2, 0.6])), {}, A([0.3, 0.9]), "log_prob"),
    ("RelaxedBernoulli", (A([0.5, 2.0]),), {"logits": A([0.2, -0.6])}, A([0.3, 0.9]), "log_prob"),
    ("LogitRelaxedBernoulli", (A(0.7), A([0.2, 0.6])), {}, A([0.3, -0.9]), "log_prob"),
    ("RelaxedOneHotCategorical", (A(0.7), A([0.2, 0.3, 0.5])), {}, A([0.3, 0.2, 0.5]), "log_prob"),
    ("ExpRelaxedCategorical", (A([0.7]),), {"logits": A([0.2, 0.3, 0.5])}, np.log(A([0.3, 0.2, 0.5])), "log_prob"),
    ("LogisticNormal", (A([0.3, -0.2]), A([1.0, 2.0])), {}, A([0.3, 0.2, 0.5]), "log_prob"),
    # float32: PyTorch's GeneralizedPareto.log_prob compares with a float32 zero and fails in float64
    ("GeneralizedPareto", (A([0.0, 1.0, 0.5], F32), A([1.0, 2.0, 0.5], F32), A([0.0, 0.3, -0.2], F32)), {},
     A([0.3, 2.0, 1.0], F32), "log_prob cdf icdf entropy mean variance mode"),
    ("MixtureSameFamily", (lambda lib: _mixture(lib)[0], lambda lib: _mixture(lib)[1]), {}, A([0.3, -0.2, 1.0]),
     "log_prob cdf mean variance"),
]


@pytest.mark.parametrize("case", _NEW_TORCH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(_NEW_TORCH_CASES)])
def test_new_distributions_against_torch(case):
    torch = pytest.importorskip("torch")
    name, args, kwargs, value, methods = case
    s = getattr(_mod("s", name), name)(*[_src_or_torch("s", a) for a in args],
                                       **{k: _src_or_torch("s", v) for k, v in kwargs.items()})
    t = getattr(_mod("t", name), name)(*[_src_or_torch("t", a) for a in args],
                                       **{k: _src_or_torch("t", v) for k, v in kwargs.items()})
    assert tuple(s.batch_shape) == tuple(t.batch_shape) and tuple(s.event_shape) == tuple(t.event_shape)
    assert repr(s) == repr(t)
    assert s.has_rsample == t.has_rsample
    assert repr(s.support) == repr(t.support)
    assert list(s.arg_constraints) == list(t.arg_constraints)
    tol = dict(rtol=1e-6, atol=1e-9) if value.dtype == np.float64 else dict(rtol=2e-6, atol=1e-6)
    for m in methods.split():
        if m in ("log_prob", "cdf", "icdf"):
            v = value if m != "icdf" else np.clip(value, 0.05, 0.95)
            a, b = getattr(s, m)(srcgrad.tensor(v)), getattr(t, m)(torch.tensor(v))
        elif m == "entropy":
            a, b = s.entropy(), t.entropy()
        else:
            a, b = getattr(s, m), getattr(t, m)
        np.testing.assert_allclose(_np(a), b.detach().numpy().astype(np.float64), **tol, err_msg=f"{name}.{m}")
    # expand, and the shapes and dtypes of draws
    e, et = s.expand((4,) + tuple(s.batch_shape)), t.expand((4,) + tuple(t.batch_shape))
    assert type(e) is type(s) and tuple(e.batch_shape) == tuple(et.batch_shape)
    assert tuple(e.event_shape) == tuple(et.event_shape) and e._validate_args == s._validate_args
    x, xt = s.sample((3,)), t.sample((3,))
    assert tuple(x.shape) == tuple(xt.shape) and str(x.dtype) == str(xt.dtype) and not x.requires_grad
    assert tuple(e.sample((2,)).shape) == tuple(et.sample((2,)).shape)
    if s.has_rsample:
        assert tuple(s.rsample((2,)).shape) == tuple(t.rsample((2,)).shape)
    assert tuple(s.log_prob(x).shape) == tuple(t.log_prob(xt).shape)


def test_new_repr_and_messages_against_torch():
    torch = pytest.importorskip("torch")
    import torch.distributions as TD

    def msg(fn):
        with pytest.raises((ValueError, NotImplementedError)) as e:
            fn()
        return f"{type(e.value).__name__}: {e.value}"

    for lib, mod in ((srcgrad, D), (torch, TD)):
        got = [
            msg(lambda: mod.HalfNormal(lib.tensor([1.0, -1.0]))),
            msg(lambda: mod.Pareto(lib.tensor([1.0]), lib.tensor([0.0]))),
            msg(lambda: mod.Weibull(lib.ones(2), 1.0).log_prob(lib.tensor([1.0, -1.0]))),
            msg(lambda: mod.Kumaraswamy(lib.ones(2), 1.0).log_prob(lib.tensor([0.5, 1.5]))),
            msg(lambda: mod.NegativeBinomial(lib.tensor([2.0]), lib.tensor([1.0]))),
            msg(lambda: mod.NegativeBinomial(lib.tensor([2.0]), lib.tensor([0.5])).log_prob(lib.tensor([0.5]))),
            msg(lambda: mod.Multinomial(lib.tensor(3), lib.tensor([0.5, 0.5]))),
            msg(lambda: mod.Multinomial(3, lib.tensor([0.5, 0.5])).log_prob(lib.tensor([1.0, 3.0]))),
            msg(lambda: mod.ContinuousBernoulli(lib.tensor([1.5]), validate_args=True)),
            msg(lambda: mod.LowRankMultivariateNormal(lib.zeros(3), lib.ones(2, 1), lib.ones(3))),
            msg(lambda: mod.LowRankMultivariateNormal(lib.zeros(3), lib.ones(3, 1), lib.ones(2))),
            msg(lambda: mod.MixtureSameFamily(mod.Normal(0.0, 1.0), mod.Normal(lib.zeros(2), 1.0))),
            msg(lambda: mod.MixtureSameFamily(mod.Categorical(lib.ones(3)), mod.Normal(lib.zeros(2), 1.0))),
            msg(lambda: mod.GeneralizedPareto(0.0, 1.0, -0.5).log_prob(lib.tensor([2.5]))),
            msg(lambda: mod.VonMises(lib.zeros(2), lib.tensor([1.0, -1.0]))),
            msg(lambda: mod.FisherSnedecor(lib.ones(2), 1.0).log_prob(lib.tensor([1.0, -1.0]))),
            msg(lambda: mod.LogisticNormal(lib.zeros(2), 1.0).log_prob(lib.tensor([0.5, 0.6, 0.2]))),
        ]
        if lib is srcgrad:
            ours = got
    assert ours == got
    mix = D.MixtureSameFamily(D.Categorical(srcgrad.ones(2)), D.Normal(srcgrad.zeros(2), 1.0))
    mixt = TD.MixtureSameFamily(TD.Categorical(torch.ones(2)), TD.Normal(torch.zeros(2), 1.0))
    assert repr(mix) == repr(mixt) and repr(mix.support) == repr(mixt.support)
    for s, t in [(D.Pareto(2.0, 1.0).support, TD.Pareto(2.0, 1.0).support),
                 (D.Multinomial(3, srcgrad.ones(2)).support, TD.Multinomial(3, torch.ones(2)).support)]:
        assert repr(s) == repr(t)


def test_exponential_family():
    for d in (D.Normal(0.0, 1.0), D.Exponential(1.0), D.Gamma(1.0, 1.0), D.Chi2(1.0), D.Beta(1.0, 2.0),
              D.Dirichlet(srcgrad.ones(2)), D.Poisson(1.0), D.Bernoulli(srcgrad.tensor(0.3)),
              D.ContinuousBernoulli(srcgrad.tensor(0.3))):
        assert isinstance(d, D.ExponentialFamily)
    for d in (D.Laplace(0.0, 1.0), D.Cauchy(0.0, 1.0), D.Binomial(3, srcgrad.tensor(0.3))):
        assert not isinstance(d, D.ExponentialFamily)
    # the Bregman entropy (srcgrad's own autograd of the log normaliser) equals each closed form
    for d in (D.Normal(_t([0.3, -1.0]), _t([1.5, 0.2])), D.Exponential(_t([2.0, 0.1])),
              D.Gamma(_t([2.0, 0.4]), _t([3.0, 1.0])), D.Bernoulli(_t([0.3, 0.9])),
              D.ContinuousBernoulli(_t([0.3, 0.9]))):
        np.testing.assert_allclose(_np(D.ExponentialFamily.entropy(d)), _np(d.entropy()), rtol=1e-10)
    with srcgrad.no_grad():
        np.testing.assert_allclose(_np(D.ExponentialFamily.entropy(D.Exponential(_t([2.0])))), [1 - math.log(2)])


_NEW_KL_CASES = [
    (("ContinuousBernoulli", A([0.2, 0.7])), ("ContinuousBernoulli", A([0.4, 0.9]))),
    (("HalfNormal", A([1.0, 2.0])), ("HalfNormal", A([0.5, 3.0]))),
    (("Pareto", A([0.5, 1.0]), A([2.5, 3.5])), ("Pareto", A([1.0, 0.3]), A([0.5, 1.5]))),
    (("Pareto", A([1.0, 0.3]), A([0.5, 1.5])), ("Pareto", A([0.5, 1.0]), A([2.5, 3.5]))),
    (("Beta", A([2.0, 0.5]), A([1.5, 1.0])), ("ContinuousBernoulli", A([0.2, 0.7]))),
    (("Beta", A([2.0, 0.5]), A([1.5, 1.0])), ("Pareto", A([0.5, 1.0]), A([2.5, 3.5]))),
    (("ContinuousBernoulli", A([0.2, 0.7])), ("Exponential", A([1.5, 0.5]))),
    (("ContinuousBernoulli", A([0.2, 0.7])), ("Normal", A([0.3, -0.2]), A([1.0, 2.0]))),
    (("ContinuousBernoulli", A([0.2, 0.7])), ("Uniform", A([0.0, -1.0]), A([1.0, 2.0]))),
    (("ContinuousBernoulli", A([0.2, 0.7])), ("Pareto", A([0.5, 1.0]), A([2.5, 3.5]))),
    (("Exponential", A([1.5, 0.5])), ("Pareto", A([0.5, 1.0]), A([2.5, 3.5]))),
    (("Normal", A([0.3, -0.2]), A([1.0, 2.0])), ("ContinuousBernoulli", A([0.2, 0.7]))),
    (("Pareto", A([0.5, 1.0]), A([2.5, 3.5])), ("Exponential", A([1.5, 0.5]))),
    (("Pareto", A([1.0, 0.3]), A([0.5, 1.5])), ("Exponential", A([1.5, 0.5]))),
    (("Pareto", A([0.5, 1.0]), A([2.5, 3.5])), ("Gamma", A([2.0, 0.5]), A([1.5, 1.0]))),
    (("Pareto", A([0.5, 1.0]), A([2.5, 3.5])), ("Normal", A([0.3, -0.2]), A([1.0, 2.0]))),
    (("Pareto", A([1.0, 0.3]), A([0.5, 1.5])), ("Normal", A([0.3, -0.2]), A([1.0, 2.0]))),
    (("Pareto", A([0.5, 1.0]), A([2.5, 3.5])), ("Uniform", A([0.1, 1.2]), A([0.5, 2.0]))),
    (("Uniform", A([0.1, 0.2]), A([0.5, 0.9])), ("ContinuousBernoulli", A([0.2, 0.7]))),
    (("Uniform", A([0.1, 1.2]), A([0.5, 2.0])), ("Pareto", A([0.5, 1.0]), A([2.5, 3.5]))),
    (("LowRankMultivariateNormal", A([0.0, 1.0, 0.5]), A([[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]]), A([1.0, 0.5, 2.0])),
     ("LowRankMultivariateNormal", A([[1.0, 0.0, 0.5]]), A([[0.5], [1.0], [-0.3]]), A([2.0, 0.5, 1.0]))),
    (("MultivariateNormal", A([1.0, 0.0, -1.0]), A([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])),
     ("LowRankMultivariateNormal", A([[1.0, 0.0, 0.5]]), A([[0.5], [1.0], [-0.3]]), A([2.0, 0.5, 1.0]))),
    (("LowRankMultivariateNormal", A([0.0, 1.0, 0.5]), A([[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]]), A([1.0, 0.5, 2.0])),
     ("MultivariateNormal", A([1.0, 0.0, -1.0]), A([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]]))),
]


@pytest.mark.parametrize("case", _NEW_KL_CASES, ids=[f"{c[0][0]}-{c[1][0]}" for c in _NEW_KL_CASES])
def test_new_kl_against_torch(case):
    (pname, *pargs), (qname, *qargs) = case
    ps, pt, _ = _pair(pname, *pargs)
    qs, qt, _ = _pair(qname, *qargs)
    np.testing.assert_allclose(_np(D.kl_divergence(ps, qs)), D_kl_torch(pt, qt), rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name,args", [("Normal", ((0.3, -1.0), (1.5, 0.2))), ("Gamma", ((2.0, 0.4), (3.0, 1.0))),
                                       ("Poisson", ((1.5, 0.2),)), ("Beta", ((2.0, 0.4), (3.0, 1.0))),
                                       ("Exponential", ((2.0, 0.1),))])
def test_bregman_kl_equals_closed_form(name, args):
    from srcgrad.distributions.kl import _kl_expfamily_expfamily
    p = getattr(D, name)(*[_t(a) for a in args])
    q = getattr(D, name)(*[_t(np.array(a)[::-1].copy()) for a in args])
    np.testing.assert_allclose(_np(_kl_expfamily_expfamily(p, q)), _np(D.kl_divergence(p, q)), rtol=1e-9)


# ---------------------------------------------------------------------------
# transforms and the constraint registry


def _new_transform_cases(T):  # noqa: N803
    return [
        ("SoftplusTransform", T.SoftplusTransform(), (2, 3)),
        ("IndependentTransform", T.IndependentTransform(T.ExpTransform(), 1), (2, 3)),
        ("ReshapeTransform", T.ReshapeTransform((3,), (3, 1)), (2, 3)),
        ("StickBreakingTransform", T.StickBreakingTransform(), (2, 3)),
        ("CorrCholeskyTransform", T.CorrCholeskyTransform(), (2, 6)),
        ("CatTransform", T.CatTransform([T.ExpTransform(), T.SoftplusTransform()], dim=1, lengths=[1, 2]), (2, 3)),
        ("StackTransform", T.StackTransform([T.ExpTransform(), T.SoftplusTransform()], dim=0), (2, 3)),
        ("LowerCholeskyTransform", T.LowerCholeskyTransform(), (2, 3, 3)),
        ("PositiveDefiniteTransform", T.PositiveDefiniteTransform(), (2, 3, 3)),
    ]


@pytest.mark.parametrize("i", range(9))
def test_new_transforms_against_torch(i):
    torch = pytest.importorskip("torch")
    import torch.distributions.transforms as TT
    name, s, shape = _new_transform_cases(transforms)[i]
    _, t, _ = _new_transform_cases(TT)[i]
    x = np.random.default_rng(i).normal(size=shape)
    ys, yt = s(_t(x)), t(torch.tensor(x))
    np.testing.assert_allclose(_np(ys), yt.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_np(s.inv(ys)), t.inv(yt).numpy(), rtol=1e-7, atol=1e-9)
    assert all_true_np(s.codomain.check(ys)) and repr(s) == repr(t)
    assert repr(s.domain) == repr(t.domain) and repr(s.codomain) == repr(t.codomain)
    assert s.bijective == t.bijective and s == s and s != transforms.ExpTransform()
    assert tuple(s.forward_shape(shape)) == tuple(t.forward_shape(shape))
    assert tuple(s.inverse_shape(tuple(ys.shape))) == tuple(t.inverse_shape(tuple(yt.shape)))
    if name not in ("LowerCholeskyTransform", "PositiveDefiniteTransform"):  # no log-Jacobian (as PyTorch's)
        np.testing.assert_allclose(_np(s.log_abs_det_jacobian(_t(x), ys)),
                                   t.log_abs_det_jacobian(torch.tensor(x), yt).numpy(), rtol=1e-9, atol=1e-12)
    cached = s.with_cache()
    xs = _t(x)
    assert cached.inv(cached(xs)) is xs


def all_true_np(check):
    return bool(np.all(_np(check)))


def test_stick_breaking_log_det_is_the_jacobians():
    # the Jacobian of the map onto the first K - 1 simplex coordinates, by finite differences
    t = transforms.StickBreakingTransform()
    x = A([0.3, -1.2, 0.8])
    h = 1e-6
    jac = np.stack([(_np(t(_t(x + h * e)))[:-1] - _np(t(_t(x - h * e)))[:-1]) / (2 * h) for e in np.eye(3)], 1)
    expected = np.log(abs(np.linalg.det(jac)))
    assert float(t.log_abs_det_jacobian(_t(x), t(_t(x)))) == pytest.approx(expected, rel=1e-6)
    y = _np(t(_t(x)))
    assert y.sum() == pytest.approx(1.0) and (y > 0).all()


def test_corr_cholesky_and_tril_helpers():
    from srcgrad.distributions.utils import tril_matrix_to_vec, vec_to_tril_matrix
    v = _t(np.arange(1.0, 7.0).reshape(1, 6))
    m = vec_to_tril_matrix(v, diag=-1)
    np.testing.assert_array_equal(_np(m)[0], [[0, 0, 0, 0], [1, 0, 0, 0], [2, 3, 0, 0], [4, 5, 6, 0]])
    np.testing.assert_array_equal(_np(tril_matrix_to_vec(m, diag=-1)), _np(v))
    np.testing.assert_array_equal(_np(vec_to_tril_matrix(_t([1.0, 2.0, 3.0]))), [[1, 0], [2, 3]])
    with pytest.raises(ValueError, match="cannot be expressed"):
        vec_to_tril_matrix(_t([1.0, 2.0]))
    y = _np(transforms.CorrCholeskyTransform()(_t(np.random.default_rng(0).normal(size=(5, 6)))))
    corr = y @ np.swapaxes(y, -1, -2)
    np.testing.assert_allclose(np.diagonal(corr, axis1=-2, axis2=-1), 1.0, rtol=1e-12)
    assert (np.linalg.eigvalsh(corr) > 0).all()


_REGISTRY_CONSTRAINTS = ["real", "real_vector", "positive", "nonnegative", "unit_interval", "simplex",
                         "lower_cholesky", "positive_definite", "corr_cholesky", "greater_than(1.5)",
                         "greater_than_eq(-1.0)", "less_than(2.0)", "interval(-1.0, 3.0)",
                         "half_open_interval(0.0, 2.0)", "independent(positive, 1)",
                         "cat([positive, real], 0, [2, 1])", "stack([positive, unit_interval], 0)"]


@pytest.mark.parametrize("expr", _REGISTRY_CONSTRAINTS)
def test_biject_to_and_transform_to_against_torch(expr):
    torch = pytest.importorskip("torch")
    import torch.distributions as TD

    def build(mod):
        return eval(expr, {k: getattr(mod.constraints, k) for k in dir(mod.constraints) if not k.startswith("_")})

    cs, ct = build(D), build(TD)
    shape = {"lower_cholesky": (2, 3, 3), "positive_definite": (2, 3, 3), "corr_cholesky": (2, 3)}.get(
        expr, (2, 3) if "stack" in expr else (3,))
    x = np.random.default_rng(1).normal(size=shape)
    for reg_s, reg_t in ((D.biject_to, TD.biject_to), (D.transform_to, TD.transform_to)):
        try:
            tt = reg_t(ct)
        except NotImplementedError as e:
            with pytest.raises(NotImplementedError, match=str(e)):
                reg_s(cs)
            continue
        ts = reg_s(cs)
        assert repr(ts) == repr(tt)
        y = ts(_t(x))
        np.testing.assert_allclose(_np(y), tt(torch.tensor(x)).numpy(), rtol=1e-9, atol=1e-12)
        assert all_true_np(cs.check(y))
        if reg_s is D.biject_to:
            np.testing.assert_allclose(_np(ts.inv(y)), x, rtol=1e-6, atol=1e-9)


def test_constraint_registry_register_and_errors():
    from srcgrad.distributions.constraint_registry import ConstraintRegistry
    reg = ConstraintRegistry()
    with pytest.raises(NotImplementedError, match="Cannot transform _GreaterThan constraints"):
        reg(constraints.positive)

    @reg.register(constraints.positive)
    def _factory(c):
        return transforms.SoftplusTransform()

    assert isinstance(reg(constraints.greater_than(3.0)), transforms.SoftplusTransform)
    with pytest.raises(TypeError):
        reg.register(int, _factory)
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        D.biject_to(constraints.boolean)
    with pytest.raises(NotImplementedError):
        D.biject_to(constraints.lower_cholesky)  # only transform_to has one, as in PyTorch


def test_mixture_same_family_constraint():
    c = constraints.MixtureSameFamilyConstraint(constraints.positive)
    assert repr(c) == "MixtureSameFamilyConstraint(GreaterThan(lower_bound=0.0))"
    assert _np(c.check(_t([1.0, -1.0]))).tolist() == [1, 0]
    cv = constraints.MixtureSameFamilyConstraint(constraints.simplex)
    assert cv.event_dim == 1 and not cv.is_discrete
    assert _np(cv.check(_t([[0.5, 0.5], [0.5, 0.6]]))).tolist() == [1, 0]
    with pytest.raises(AssertionError):
        constraints.MixtureSameFamilyConstraint(3)


def test_cumulative_distribution_transform():
    t = transforms.CumulativeDistributionTransform(D.Normal(0.0, 1.0))
    x = _t([-0.5, 0.2, 1.3])
    y = t(x)
    np.testing.assert_allclose(_np(y), [0.5 * (1 + math.erf(v / math.sqrt(2))) for v in (-0.5, 0.2, 1.3)])
    np.testing.assert_allclose(_np(t.inv(y)), _np(x), rtol=1e-9)
    np.testing.assert_allclose(_np(t.log_abs_det_jacobian(x, y)), _np(D.Normal(0.0, 1.0).log_prob(x)))
    # a Gaussian copula on the unit square: uniform marginals
    d = D.TransformedDistribution(D.Normal(_t([0.0, 0.0]), _t([1.0, 1.0])), [t])
    assert float(d.log_prob(_t([0.3, 0.8])).abs().max()) < 1e-9


# ---------------------------------------------------------------------------
# sampling and gradients of the new families


_NEW_MOMENTS = [
    (lambda: D.HalfNormal(2.0), 2.0 * math.sqrt(2 / math.pi), 4.0 * (1 - 2 / math.pi)),
    (lambda: D.Pareto(1.5, 5.0), 5 * 1.5 / 4, 1.5 ** 2 * 5 / (16 * 3)),
    (lambda: D.Weibull(2.0, 1.5), 2.0 * math.gamma(1 + 1 / 1.5),
     4.0 * (math.gamma(1 + 2 / 1.5) - math.gamma(1 + 1 / 1.5) ** 2)),
    (lambda: D.InverseGamma(5.0, 2.0), 0.5, 4.0 / (16 * 3)),
    (lambda: D.Kumaraswamy(2.0, 3.0), 3 * math.exp(math.lgamma(1.5) + math.lgamma(3) - math.lgamma(4.5)),
     3 * math.exp(math.lgamma(2) + math.lgamma(3) - math.lgamma(5))
     - (3 * math.exp(math.lgamma(1.5) + math.lgamma(3) - math.lgamma(4.5))) ** 2),
    (lambda: D.FisherSnedecor(6.0, 12.0), 12 / 10, 2 * 144 * 16 / (6 * 100 * 8)),
    (lambda: D.ContinuousBernoulli(_t(0.2)), None, None),
    (lambda: D.NegativeBinomial(4.0, _t(0.3)), 4 * 0.3 / 0.7, 4 * 0.3 / 0.49),
    (lambda: D.GeneralizedPareto(0.5, 1.0, 0.2), 0.5 + 1 / 0.8, 1 / (0.64 * 0.6)),
    (lambda: D.GeneralizedPareto(0.0, 2.0, -0.5), 2.0 / 1.5, 4.0 / (2.25 * 2)),
    (lambda: D.MixtureSameFamily(D.Categorical(_t([0.3, 0.7])), D.Normal(_t([0.0, 2.0]), _t([1.0, 0.5]))),
     1.4, 0.3 + 0.7 * 0.25 + 0.3 * 1.96 + 0.7 * 0.36),
]


@pytest.mark.parametrize("i", range(len(_NEW_MOMENTS)))
def test_new_sample_moments(i):
    make, mean, var = _NEW_MOMENTS[i]
    d = make()
    if mean is None:
        mean, var = float(d.mean), float(d.variance)
    n = 20000
    srcgrad.manual_seed(i)
    sample = d.sample((n,))
    assert srcgrad.distributions.utils.all_true(d.support.check(sample))
    x = _np(sample)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / n)
    assert x.var() == pytest.approx(var, rel=0.12)


def test_new_sample_moments_multivariate():
    n = 20000
    srcgrad.manual_seed(0)
    # von Mises: circular mean and mean resultant length I1(k) / I0(k)
    k = 2.0
    x = _np(D.VonMises(_t(1.0), _t(k)).sample((n,)))
    assert (np.abs(x) <= math.pi).all()
    r = np.mean(np.exp(1j * x))
    i1 = sum((k / 2) ** (2 * m + 1) / (math.factorial(m) * math.factorial(m + 1)) for m in range(60))
    assert abs(np.angle(r) - 1.0) < 0.02 and abs(np.abs(r) - i1 / _i0(k)) < 0.01
    small = _np(D.VonMises(_t([0.0]), _t([1e-3])).sample((n,)))  # nearly uniform on the circle
    assert abs(small.var() - math.pi ** 2 / 3) < 0.1
    probs = A([0.2, 0.3, 0.5])
    m = _np(D.Multinomial(10, _t(probs)).sample((n,)))
    assert (m.sum(-1) == 10).all()
    np.testing.assert_allclose(m.mean(0), 10 * probs, atol=0.05)
    np.testing.assert_allclose(m.var(0), 10 * probs * (1 - probs), rtol=0.1)
    W, diag = A([[1.0, 0.2], [0.3, -0.5], [0.0, 1.0]]), A([1.0, 0.5, 2.0])
    s = _np(D.LowRankMultivariateNormal(_t([1.0, 0.0, -1.0]), _t(W), _t(diag)).sample((n,)))
    np.testing.assert_allclose(s.mean(0), [1.0, 0.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(s.T), W @ W.T + np.diag(diag), atol=0.1)
    rb = _np(D.RelaxedBernoulli(_t(0.05), _t([0.3])).sample((n,)))
    assert (rb > 0).all() and (rb < 1).all() and abs((rb > 0.5).mean() - 0.3) < 0.02
    oh = _np(D.RelaxedOneHotCategorical(_t(0.05), _t(probs)).sample((n,)))
    np.testing.assert_allclose(oh.sum(-1), 1.0, rtol=1e-9)
    np.testing.assert_allclose(np.bincount(oh.argmax(-1), minlength=3) / n, probs, atol=0.015)
    ln = _np(D.LogisticNormal(_t([0.5, -0.5]), _t([1.0, 0.3])).sample((n,)))
    np.testing.assert_allclose(ln.sum(-1), 1.0, rtol=1e-9)
    # the first coordinate is sigmoid(z1 - log 2): its logit is Normal(0.5 - log 2, 1)
    z = np.log(ln[:, 0] / (1 - ln[:, 0]))
    assert abs(z.mean() - (0.5 - math.log(2))) < 0.05 and z.std() == pytest.approx(1.0, rel=0.03)
    # a mixture with one mixing distribution for a batch of components
    mix = D.MixtureSameFamily(D.Categorical(_t([0.5, 0.5])), D.Normal(_t([[0.0, 10.0], [-10.0, 0.0]]), 0.1))
    xs = _np(mix.sample((n,)))
    assert xs.shape == (n, 2)
    assert abs((xs[:, 0] > 5).mean() - 0.5) < 0.02 and abs((xs[:, 1] < -5).mean() - 0.5) < 0.02


def test_new_manual_seed_reproducible():
    for d in (D.VonMises(_t([0.0, 1.0]), _t([2.0, 0.5])), D.NegativeBinomial(_t(3.0), _t(0.4)),
              D.Multinomial(5, _t([0.5, 0.5]))):
        srcgrad.manual_seed(7)
        a = _np(d.sample((4,)))
        srcgrad.manual_seed(7)
        np.testing.assert_array_equal(a, _np(d.sample((4,))))


def _p(v):
    return srcgrad.tensor(v, dtype=srcgrad.float64, requires_grad=True)


# reparameterised draws with the seed fixed inside the function are deterministic in the parameters:
# gradcheck compares srcgrad's derivative of the draw with finite differences of it
_RSAMPLE_GRADCHECK = [
    ("HalfNormal", lambda a: D.HalfNormal(a).rsample((3,)), ([1.0, 2.0],)),
    ("Weibull", lambda a, b: D.Weibull(a, b).rsample((3,)), ([1.0, 2.0], [0.7, 3.0])),
    ("Pareto", lambda a, b: D.Pareto(a, b).rsample((3,)), ([1.0, 2.0], [0.7, 3.0])),
    ("Kumaraswamy", lambda a, b: D.Kumaraswamy(a, b).rsample((3,)), ([1.5, 2.0], [0.7, 3.0])),
    ("ContinuousBernoulli", lambda p: D.ContinuousBernoulli(p).rsample((3,)), ([0.2, 0.8],)),
    ("GeneralizedPareto", lambda a, b, c: D.GeneralizedPareto(a, b, c).rsample((3,)),
     ([0.0, 1.0], [1.0, 2.0], [0.3, -0.2])),
    ("LowRankMultivariateNormal", lambda a, b, c: D.LowRankMultivariateNormal(a, b, c).rsample((2,)),
     ([0.0, 1.0], [[1.0], [0.5]], [1.0, 2.0])),
    ("RelaxedBernoulli", lambda t, p: D.RelaxedBernoulli(t, p).rsample((3,)), (0.5, [0.3, 0.6])),
    ("RelaxedOneHotCategorical", lambda t, p: D.RelaxedOneHotCategorical(t, logits=p).rsample((3,)),
     (0.5, [0.3, 0.6, -0.2])),
    ("LogisticNormal", lambda a, b: D.LogisticNormal(a, b).rsample((3,)), ([0.0, 1.0], [1.0, 0.5])),
    ("HalfCauchy", lambda a: D.HalfCauchy(a).rsample((3,)), ([1.0, 2.0],)),
]


@pytest.mark.parametrize("case", _RSAMPLE_GRADCHECK, ids=[c[0] for c in _RSAMPLE_GRADCHECK])
def test_new_rsample_gradcheck(case):
    from srcgrad.autograd import gradcheck
    _, fn, args = case

    def f(*params):
        srcgrad.manual_seed(11)
        return fn(*params)

    assert gradcheck(f, tuple(_p(a) for a in args))


_LOG_PROB_GRADCHECK = [
    ("HalfNormal", lambda a: D.HalfNormal(a).log_prob(_t([0.3, 1.2])), ([1.0, 2.0],)),
    ("Pareto", lambda a, b: D.Pareto(a, b, validate_args=False).log_prob(_t([1.3, 2.2])), ([1.0, 2.0], [0.7, 3.0])),
    ("Weibull", lambda a, b: D.Weibull(a, b).log_prob(_t([0.3, 1.2])), ([1.0, 2.0], [0.7, 3.0])),
    ("InverseGamma", lambda a, b: D.InverseGamma(a, b).log_prob(_t([0.3, 1.2])), ([1.0, 2.0], [0.7, 3.0])),
    ("Kumaraswamy", lambda a, b: D.Kumaraswamy(a, b).log_prob(_t([0.3, 0.8])), ([1.5, 2.0], [0.7, 3.0])),
    ("FisherSnedecor", lambda a, b: D.FisherSnedecor(a, b).log_prob(_t([0.3, 1.2])), ([1.5, 2.0], [0.7, 3.0])),
    ("VonMises", lambda a, b: D.VonMises(a, b).log_prob(_t([0.3, 1.2])), ([0.5, -1.0], [0.7, 5.0])),
    ("ContinuousBernoulli", lambda p: D.ContinuousBernoulli(p).log_prob(_t([0.3, 0.8])), ([0.2, 0.8],)),
    ("NegativeBinomial", lambda a, p: D.NegativeBinomial(a, p).log_prob(_t([2.0, 5.0])), ([2.5, 4.0], [0.3, 0.6])),
    ("Multinomial", lambda p: D.Multinomial(4, logits=p).log_prob(_t([1.0, 0.0, 3.0])), ([0.3, -0.2, 1.0],)),
    ("LowRankMultivariateNormal", lambda a, b, c: D.LowRankMultivariateNormal(a, b, c).log_prob(_t([0.3, -0.5])),
     ([0.0, 1.0], [[1.0], [0.5]], [1.0, 2.0])),
    ("MixtureSameFamily", lambda w, m: D.MixtureSameFamily(D.Categorical(logits=w), D.Normal(m, 1.0)).log_prob(
        _t([0.3, -0.5])), ([0.3, -0.2], [0.5, -1.0])),
    ("GeneralizedPareto", lambda a, b, c: D.GeneralizedPareto(a, b, c).log_prob(_t([1.3, 2.2])),
     ([0.0, 1.0], [1.0, 2.0], [0.3, -0.2])),
    ("RelaxedOneHotCategorical", lambda t, p: D.RelaxedOneHotCategorical(t, logits=p).log_prob(_t([0.2, 0.3, 0.5])),
     (0.5, [0.3, 0.6, -0.2])),
    ("LogisticNormal", lambda a, b: D.LogisticNormal(a, b).log_prob(_t([0.2, 0.3, 0.5])), ([0.0, 1.0], [1.0, 0.5])),
]


@pytest.mark.parametrize("case", _LOG_PROB_GRADCHECK, ids=[c[0] for c in _LOG_PROB_GRADCHECK])
def test_new_log_prob_gradcheck(case):
    from srcgrad.autograd import gradcheck
    _, fn, args = case
    assert gradcheck(fn, tuple(_p(a) for a in args))


def test_new_rsample_gradients_through_gamma():
    n = 20000
    srcgrad.manual_seed(0)
    a = srcgrad.tensor(4.0, requires_grad=True)
    r = srcgrad.tensor(2.0, requires_grad=True)
    D.InverseGamma(a, r).rsample((n,)).mean().backward()  # E[x] = r / (a - 1)
    assert float(a.grad) == pytest.approx(-2.0 / 9.0, rel=0.1)
    assert float(r.grad) == pytest.approx(1.0 / 3.0, rel=0.05)
    df2 = srcgrad.tensor(10.0, requires_grad=True)
    D.FisherSnedecor(srcgrad.tensor(5.0), df2).rsample((n,)).mean().backward()  # E[x] = df2 / (df2 - 2)
    assert float(df2.grad) == pytest.approx(-2.0 / 64.0, rel=0.25)


def test_new_distributions_compile_and_agree():
    def step(loc, w, logits, x):
        lr = D.LowRankMultivariateNormal(loc, w, srcgrad.ones(2, dtype=loc.dtype))
        z = D.RelaxedOneHotCategorical(srcgrad.tensor(0.5, dtype=loc.dtype), logits=logits).rsample((4,))
        mix = D.MixtureSameFamily(D.Categorical(logits=logits[:2]), D.Normal(loc, 1.0))
        loss = -lr.log_prob(x).mean() + (z * z).sum() - mix.log_prob(x[:, 0]).mean()
        loss = loss + D.kl_divergence(D.HalfNormal(w.abs().sum() + 1), D.HalfNormal(srcgrad.tensor(2.0, dtype=loc.dtype)))
        loss.backward()
        return loss.detach()

    x = _t([[0.3, -0.5], [1.0, 2.0]])
    results = []
    for compiled in (False, True):
        params = [_p([0.1, -0.2]), _p([[1.0], [0.5]]), _p([0.3, -0.2, 0.5])]
        fn = srcgrad.compile(step) if compiled else step
        srcgrad.manual_seed(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = fn(*params, x)
        results.append([float(loss)] + [_np(p.grad) for p in params])
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-9)
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-8)


# ---------------------------------------------------------------------------
# Wishart and LKJCholesky


def _lmvgamma(a, p):
    return p * (p - 1) / 4 * math.log(math.pi) + sum(math.lgamma(a - j / 2) for j in range(p))


def _wishart_log_prob_np(df, cov, x):
    p = cov.shape[-1]
    return (-df / 2 * (p * math.log(2) + np.linalg.slogdet(cov)[1]) - _lmvgamma(df / 2, p)
            + (df - p - 1) / 2 * np.linalg.slogdet(x)[1] - np.trace(np.linalg.solve(cov, x)) / 2)


_COV2 = A([[2.0, 0.5], [0.5, 1.0]])
_COV3 = A([[2.0, 0.5, 0.1], [0.5, 1.0, 0.2], [0.1, 0.2, 0.8]])
_X3 = A([[3.0, 0.4, 0.2], [0.4, 2.0, -0.3], [0.2, -0.3, 1.5]])
_CORR3 = A([[1.0, 0.3, -0.2], [0.3, 1.0, 0.4], [-0.2, 0.4, 1.0]])


def test_wishart_lkj_closed_form():
    # Wishart: the density, mean and variance written with NumPy and math, for each parameterisation
    x = A([[1.5, -0.3], [-0.3, 0.7]])
    for kw in ({"covariance_matrix": _t(_COV2)}, {"precision_matrix": _t(np.linalg.inv(_COV2))},
               {"scale_tril": _t(np.linalg.cholesky(_COV2))}):
        d = D.Wishart(_t(3.5), **kw)
        assert float(d.log_prob(_t(x))) == pytest.approx(_wishart_log_prob_np(3.5, _COV2, x), rel=1e-10)
        np.testing.assert_allclose(_np(d.mean), 3.5 * _COV2, rtol=1e-12)
        np.testing.assert_allclose(_np(d.variance), 3.5 * (_COV2 ** 2 + np.outer(np.diag(_COV2), np.diag(_COV2))),
                                   rtol=1e-12)
        np.testing.assert_allclose(_np(d.covariance_matrix), _COV2, rtol=1e-12)
        np.testing.assert_allclose(_np(d.precision_matrix), np.linalg.inv(_COV2), rtol=1e-12)
    # a batch of df (one mode undefined: NaN where df <= p + 1), broadcast against one scale
    d = D.Wishart(_t([6.0, 2.5]), covariance_matrix=_t(_COV2))
    np.testing.assert_allclose(_np(d.log_prob(_t(x))), [_wishart_log_prob_np(v, _COV2, x) for v in (6.0, 2.5)],
                               rtol=1e-10)
    mode = _np(d.mode)
    np.testing.assert_allclose(mode[0], 3.0 * _COV2, rtol=1e-12)
    assert np.isnan(mode[1]).all()
    # the closed-form entropy is the exponential family's Bregman entropy, and KL(p, p) = 0
    d = D.Wishart(_t([4.0, 3.5]), covariance_matrix=_t([_COV3, np.eye(3)]))
    np.testing.assert_allclose(_np(d.entropy()), _np(D.ExponentialFamily.entropy(d)), rtol=1e-10)
    np.testing.assert_allclose(_np(D.kl_divergence(d, d)), 0.0, atol=1e-10)
    # p = 1: Wishart(df, [[s2]]) is Gamma(df / 2, rate 1 / (2 s2))
    w1, g = D.Wishart(_t(3.0), covariance_matrix=_t([[2.0]])), D.Gamma(_t(1.5), _t(0.25))
    assert float(w1.log_prob(_t([[1.3]]))) == pytest.approx(
        1.5 * math.log(0.25) + 0.5 * math.log(1.3) - 0.25 * 1.3 - math.lgamma(1.5), rel=1e-10)
    assert float(w1.entropy()) == pytest.approx(float(g.entropy()), rel=1e-10)
    w2, g2 = D.Wishart(_t(5.0), covariance_matrix=_t([[0.7]])), D.Gamma(_t(2.5), _t(1 / 1.4))
    assert float(D.kl_divergence(w1, w2).detach()) == pytest.approx(float(D.kl_divergence(g, g2)), rel=1e-9)
    # LKJCholesky, dim 2: L = [[1, 0], [r, sqrt(1 - r^2)]] with (r + 1) / 2 ~ Beta(eta, eta)
    for eta, r in ((0.7, 0.4), (2.5, -0.8)):
        L = _t([[1.0, 0.0], [r, math.sqrt(1 - r * r)]])
        expected = (eta - 1) * math.log(1 - r * r) - (2 * eta - 1) * math.log(2) - _lbeta(eta, eta)
        assert float(D.LKJCholesky(2, _t(eta)).log_prob(L)) == pytest.approx(expected, rel=1e-10)
    # dim 3, eta = 1: uniform on correlation matrices (volume pi^2 / 2) times the Jacobian L_22 of L -> L L^T
    L = np.linalg.cholesky(_CORR3)
    expected = math.log(2 / math.pi ** 2) + math.log(L[1, 1])
    assert float(D.LKJCholesky(3, _t(1.0)).log_prob(_t(L))) == pytest.approx(expected, rel=1e-10)


def _chol_stack(*corrs):
    return np.stack([np.linalg.cholesky(c) for c in corrs])


_WISHART_LKJ_TORCH_CASES = [
    # name, args, kwargs, value, properties compared
    ("Wishart", (A([6.0, 3.5]),), {"covariance_matrix": _COV3}, _X3,
     "mean variance mode covariance_matrix precision_matrix scale_tril"),
    # PyTorch's mean, variance and mode fail for a number df and a batch of scales (srcgrad's broadcast)
    ("Wishart", (3.5,), {"precision_matrix": A([_COV2, np.linalg.inv(_COV2)])}, A([[1.5, -0.3], [-0.3, 0.7]]),
     "covariance_matrix precision_matrix scale_tril"),
    ("Wishart", (A(4.5),), {"scale_tril": np.linalg.cholesky(_COV3)}, A([_X3, np.eye(3)]),
     "mean variance covariance_matrix precision_matrix"),
    ("LKJCholesky", (3, A([0.5, 1.0, 2.5])), {}, _chol_stack(_CORR3, np.eye(3), _CORR3 * 0.5 + np.eye(3) * 0.5), ""),
    ("LKJCholesky", (4, 1.5), {}, np.linalg.cholesky(A([[1.0, 0.2, 0.1, 0.0], [0.2, 1.0, 0.3, -0.1],
                                                       [0.1, 0.3, 1.0, 0.2], [0.0, -0.1, 0.2, 1.0]])), ""),
    ("LKJCholesky", (2,), {}, A([[1.0, 0.0], [0.6, 0.8]]), ""),
]


@pytest.mark.parametrize("case", _WISHART_LKJ_TORCH_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(_WISHART_LKJ_TORCH_CASES)])
def test_wishart_lkj_against_torch(case):
    torch = pytest.importorskip("torch")
    import torch.distributions as TD
    name, args, kwargs, value, props = case
    s = getattr(D, name)(*[_src_or_torch("s", a) for a in args], **{k: _src_or_torch("s", v) for k, v in kwargs.items()})
    t = getattr(TD, name)(*[_src_or_torch("t", a) for a in args], **{k: _src_or_torch("t", v) for k, v in kwargs.items()})
    assert repr(s) == repr(t) and repr(s.support) == repr(t.support) and s.has_rsample == t.has_rsample
    assert tuple(s.batch_shape) == tuple(t.batch_shape) and tuple(s.event_shape) == tuple(t.event_shape)
    assert {k: repr(c) for k, c in s.arg_constraints.items()} == {k: repr(c) for k, c in t.arg_constraints.items()}
    tol = dict(rtol=1e-9, atol=1e-12) if str(t.batch_shape) != "torch.Size([])" or name == "Wishart" else \
        dict(rtol=2e-6, atol=1e-6)  # a float concentration is float32 in both
    np.testing.assert_allclose(_np(s.log_prob(srcgrad.tensor(value))), t.log_prob(torch.tensor(value)).numpy(), **tol)
    if name == "Wishart":
        np.testing.assert_allclose(_np(s.entropy()), t.entropy().numpy(), **tol)
    for m in props.split():
        np.testing.assert_allclose(_np(getattr(s, m)), getattr(t, m).numpy(), **tol, err_msg=f"{name}.{m}")
    e, et = s.expand((2,) + tuple(s.batch_shape)), t.expand((2,) + tuple(t.batch_shape))
    assert type(e) is type(s) and tuple(e.batch_shape) == tuple(et.batch_shape) and repr(e) == repr(et)
    assert e._validate_args == s._validate_args
    np.testing.assert_allclose(_np(e.log_prob(srcgrad.tensor(value))), et.log_prob(torch.tensor(value)).numpy(), **tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's Wishart warns "Singular sample detected." on every draw
        xt = et.sample((3,))
    # srcgrad's draws are checked in test_wishart_lkj_sample_moments (each sampler costs seconds to compile)
    assert tuple(e._extended_shape((3,))) == tuple(xt.shape)
    assert tuple(e.log_prob(srcgrad.tensor(xt.numpy())).shape) == tuple(et.log_prob(xt).shape)


def test_wishart_lkj_messages_against_torch():
    torch = pytest.importorskip("torch")
    import torch.distributions as TD

    def msg(fn):
        with pytest.raises((ValueError, AssertionError, NotImplementedError)) as e:
            fn()
        return f"{type(e.value).__name__}: {e.value}"

    bad = [[1.0, 2.0], [2.0, 1.0]]
    for lib, mod in ((srcgrad, D), (torch, TD)):
        got = [
            msg(lambda: mod.Wishart(lib.tensor([4.0, 0.5]), covariance_matrix=lib.eye(2))),
            msg(lambda: mod.Wishart(1.0, covariance_matrix=lib.eye(2))),
            msg(lambda: mod.Wishart(3.0, covariance_matrix=lib.ones(2))),
            msg(lambda: mod.Wishart(3.0)),
            msg(lambda: mod.Wishart(3.0, covariance_matrix=lib.eye(2), scale_tril=lib.eye(2))),
            msg(lambda: mod.Wishart(3.0, covariance_matrix=lib.tensor(bad))),
            msg(lambda: mod.Wishart(3.0, precision_matrix=lib.tensor(bad))),
            msg(lambda: mod.Wishart(3.0, scale_tril=lib.tensor([[1.0, 2.0], [0.0, 1.0]]))),
            msg(lambda: mod.Wishart(3.0, covariance_matrix=lib.eye(2)).log_prob(lib.tensor(bad))),
            msg(lambda: mod.Wishart(3.0, covariance_matrix=lib.eye(2)).log_prob(lib.eye(3))),
            msg(lambda: mod.LKJCholesky(1, 1.0)),
            # (the message prints the Beta parameters, which differ: see LKJCholesky.__init__)
            msg(lambda: mod.LKJCholesky(3, lib.tensor([-1.0, 1.0]))).split(", but found")[0],
            msg(lambda: mod.LKJCholesky(2, 1.0).log_prob(lib.eye(2) * 2)),
            msg(lambda: mod.LKJCholesky(2, 1.0).log_prob(lib.eye(3))),
            msg(lambda: mod.LKJCholesky(2, 1.0).rsample()),
            msg(lambda: mod.LKJCholesky(2, 1.0).mean),
            msg(lambda: mod.kl_divergence(mod.LKJCholesky(2, 1.0), mod.LKJCholesky(2, 2.0))),
        ]
        with pytest.warns(UserWarning, match="Low df values detected") as rec:
            w = mod.Wishart(lib.tensor([1.5, 3.0]), scale_tril=lib.eye(2))
        got += [str(r.message) for r in rec] + [repr(w), repr(mod.Wishart(2.0, covariance_matrix=lib.eye(2)))]
        if lib is srcgrad:
            ours = got
    assert ours == got
    assert D.Wishart.has_rsample and not D.LKJCholesky.has_rsample


def test_wishart_lkj_sample_moments():
    n = 2000
    # Wishart (expanded, so expand's draws are checked too): E[X] = df V, Var[X_ij] = df (V_ij^2 + V_ii V_jj)
    # for each df of the batch, and d E[X] / d df = V (the Chi2 draws' implicit gradient)
    srcgrad.manual_seed(0)
    df = srcgrad.tensor([4.0, 7.0], dtype=srcgrad.float64, requires_grad=True)
    w = D.Wishart(df, covariance_matrix=_t(_COV2)).expand((1, 2))
    xs = w.rsample((n,))
    assert tuple(xs.shape) == (n, 1, 2, 2, 2) and all_true_np(w.support.check(xs))
    xs.sum((-1, -2)).mean(0).sum().backward()
    x = _np(xs)[:, 0]
    for k, nu in enumerate((4.0, 7.0)):
        var = nu * (_COV2 ** 2 + np.outer(np.diag(_COV2), np.diag(_COV2)))
        assert (np.abs(x[:, k].mean(0) - nu * _COV2) < 5 * np.sqrt(var / n)).all()
        np.testing.assert_allclose(x[:, k].var(0), var, rtol=0.2)
    np.testing.assert_allclose(_np(df.grad), _COV2.sum(), rtol=0.1)
    # LKJCholesky: L L^T is a correlation matrix whose off-diagonal entries r all have (r + 1) / 2 ~
    # Beta(b, b), b = eta - 1 + dim / 2: mean 0, variance 1 / (2 eta + dim - 1) (PyTorch's draws have
    # larger variances below the second row, see LKJCholesky.__init__)
    lk = D.LKJCholesky(3, _t([2.0, 0.5])).expand((1, 2))
    srcgrad.manual_seed(1)
    ls = lk.sample((n,))
    assert tuple(ls.shape) == (n, 1, 2, 3, 3) and all_true_np(lk.support.check(ls)) and not ls.requires_grad
    corr = _np(ls @ ls.mT)[:, 0]
    r = corr[..., [1, 2, 2], [0, 0, 1]]
    for k, eta in enumerate((2.0, 0.5)):
        var = 1 / (2 * eta + 2)
        assert (np.abs(r[:, k].mean(0)) < 5 * math.sqrt(var / n)).all()
        np.testing.assert_allclose(r[:, k].var(0), var, rtol=0.12)


_WISHART_LKJ_GRADCHECK = [
    ("Wishart-scale_tril", lambda df, a: D.Wishart(df, scale_tril=a.tril()).log_prob(_t(_X3)),
     (3.5, np.linalg.cholesky(_COV3))),
    ("Wishart-covariance", lambda df, a: D.Wishart(df, covariance_matrix=a @ a.mT + _t(np.eye(2))).log_prob(
        _t([[1.5, -0.3], [-0.3, 0.7]])), ([2.5, 4.0], [[1.0, 0.3], [-0.2, 0.5]])),
    ("Wishart-precision-value", lambda a, v: D.Wishart(_t(4.0), precision_matrix=a @ a.mT + _t(np.eye(2))).log_prob(
        v @ v.mT + _t(np.eye(2))), ([[1.0, 0.3], [-0.2, 0.5]], [[0.4, 0.1], [0.3, -0.6]])),
    ("Wishart-entropy", lambda df, a: D.Wishart(df, scale_tril=a.tril()).entropy(), ([3.5, 5.0], np.linalg.cholesky(_COV3))),
    ("Wishart-kl", lambda df, a: D.kl_divergence(D.Wishart(df, scale_tril=a.tril()), D.Wishart(
        _t(4.0), covariance_matrix=_t(_COV3))), ([3.5, 5.0], np.linalg.cholesky(_COV3))),
    ("LKJCholesky", lambda c: D.LKJCholesky(3, c).log_prob(_t(_chol_stack(_CORR3, np.eye(3)))), ([0.5, 2.0],)),
]


@pytest.mark.parametrize("case", _WISHART_LKJ_GRADCHECK, ids=[c[0] for c in _WISHART_LKJ_GRADCHECK])
def test_wishart_lkj_log_prob_gradcheck(case):
    from srcgrad.autograd import gradcheck
    _, fn, args = case
    assert gradcheck(fn, tuple(_p(a) for a in args))


def test_wishart_rsample_gradcheck():
    # the Bartlett draw with the seed fixed is L A A^T L^T: differentiable in L (df's gradient is the
    # implicit Gamma one, checked through the mean in test_wishart_lkj_sample_moments); one draw, no
    # corrections (they only select among draws), so the program compiles faster
    from srcgrad.autograd import gradcheck

    def f(a):
        srcgrad.manual_seed(5)
        return D.Wishart(_t([3.0, 6.0]), scale_tril=a.tril()).rsample((2,), max_try_correction=0)

    assert gradcheck(f, (_p(np.linalg.cholesky(_COV2)),))


def test_wishart_lkj_compile_and_agree():
    # the draws replay under @srcgrad.compile (and manual_seed reproduces them); without validation the
    # define-by-run step is one program too, which the compiled step then reuses
    def step(a, conc, value):
        w = D.Wishart(_t(4.0), scale_tril=a.tril(), validate_args=False)
        q = D.Wishart(_t(5.0), covariance_matrix=_t(_COV2), validate_args=False)
        loss = q.log_prob(w.rsample((3,))).mean() + w.entropy() + D.kl_divergence(w, q)
        lk = D.LKJCholesky(3, conc, validate_args=False)
        loss = loss + lk.log_prob(value).sum() + lk.log_prob(lk.sample((2,))).sum()
        loss.backward()
        return loss.detach()

    value = transforms.CorrCholeskyTransform()(_t([[0.3, -0.5, 1.0], [0.1, 0.2, -0.4]]))
    results = []
    for compiled in (False, True):
        params = [_p([[1.5, 0.0], [0.3, 0.8]]), _p(1.7)]
        fn = srcgrad.compile(step) if compiled else step
        srcgrad.manual_seed(3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no fallback to define-by-run
            loss = fn(*params, value)
        results.append([float(loss)] + [_np(p.grad) for p in params])
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-9)
    for a, b in zip(results[0][1:], results[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-8)
