"""srcgrad.sampling: each sampler's distribution (moments and frequencies over many draws
from a fixed seed, with tolerances of about five standard errors), its shapes and dtypes,
PyTorch's errors for bad arguments, gradients of ``normal`` and replays under compile."""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcgrad as sg

N = 40_000  # draws per moment check: the standard error of a mean is std / 200


def _gen(seed: int = 0) -> sg.Generator:
    return sg.Generator().manual_seed(seed)


def _close(sample: np.ndarray, mean: float, std: float) -> None:
    assert abs(sample.mean() - mean) < 5 * std / math.sqrt(sample.size), (sample.mean(), mean)
    assert abs(sample.std() - std) < 5 * std * math.sqrt(2 / sample.size) + 1e-6, (sample.std(), std)


def test_normal_forms_and_moments():
    g = _gen()
    _close(sg.normal(2.0, 3.0, (N,), generator=g).numpy(), 2.0, 3.0)
    mean = sg.full((N,), -1.0)
    _close(sg.normal(mean, 0.5, generator=g).numpy(), -1.0, 0.5)
    _close(sg.normal(1.0, sg.full((N,), 2.0), generator=g).numpy(), 1.0, 2.0)
    out = sg.normal(sg.zeros(2, 1), sg.ones(3), generator=g)
    assert out.shape == (2, 3) and out.dtype == sg.float32
    assert sg.normal(0.0, 1.0, (2,), dtype=sg.float64).dtype == sg.float64


def test_normal_is_differentiable_in_mean_and_std():
    m = sg.zeros(5, requires_grad=True)
    s = sg.full((5,), 2.0, requires_grad=True)
    out = sg.normal(m, s, generator=_gen(1))
    (out * sg.arange(5.0)).sum().backward()
    eps = (out.detach() - m.detach()) / s.detach()
    np.testing.assert_allclose(m.grad.numpy(), np.arange(5.0))
    np.testing.assert_allclose(s.grad.numpy(), np.arange(5.0) * eps.numpy(), rtol=1e-6)


def test_normal_errors():
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        sg.normal(sg.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(4\)"):
        sg.normal(sg.zeros(2, 3), sg.ones(4))
    with pytest.raises(TypeError, match="give the size"):
        sg.normal(0.0, 1.0)


def test_bernoulli_frequencies_dtypes_and_in_place():
    g = _gen(2)
    p = sg.tensor([0.0, 0.25, 1.0]).expand(N, 3)
    draws = sg.bernoulli(p, generator=g).numpy()
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    freq = draws.mean(0)
    assert freq[0] == 0 and freq[2] == 1 and abs(freq[1] - 0.25) < 5 * math.sqrt(0.25 * 0.75 / N)
    x = sg.zeros(N, dtype=sg.float64)
    assert x.bernoulli_(0.7, generator=g) is x and abs(x.numpy().mean() - 0.7) < 0.012
    assert abs(sg.zeros(N).bernoulli(0.1, generator=g).numpy().mean() - 0.1) < 0.008
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got p=1.5"):
        sg.zeros(3).bernoulli_(1.5)


def test_multinomial_with_replacement_follows_the_weights():
    w = sg.tensor([1.0, 0.0, 3.0, 4.0])  # unnormalised, with an impossible category
    idx = sg.multinomial(w, N, replacement=True, generator=_gen(3)).numpy()
    assert idx.dtype == np.int64 and idx.shape == (N,)
    freq = np.bincount(idx, minlength=4) / N
    np.testing.assert_allclose(freq, [0.125, 0.0, 0.375, 0.5], atol=0.012)
    rows = sg.multinomial(sg.tensor([[1.0, 0.0], [0.0, 1.0]]), 6, True, generator=_gen(3)).numpy()
    np.testing.assert_array_equal(rows, [[0] * 6, [1] * 6])


def test_multinomial_without_replacement_draws_distinct_categories_in_proportion():
    g = _gen(4)
    w = sg.tensor([[5.0, 1.0, 1.0, 1.0, 0.0]]).expand(4000, 5)
    idx = sg.multinomial(w, 3, generator=g).numpy()
    assert idx.shape == (4000, 3)
    assert all(len(set(r)) == 3 for r in idx) and (idx != 4).all()  # distinct, never weight 0
    # the first draw is category 0 with probability 5/8
    assert abs((idx[:, 0] == 0).mean() - 5 / 8) < 5 * math.sqrt(5 / 8 * 3 / 8 / 4000)


def test_multinomial_errors():
    with pytest.raises(RuntimeError, match=r"cannot sample n_sample > prob_dist.size\(-1\) samples without "
                                           "replacement"):
        sg.multinomial(sg.ones(3), 4)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        sg.multinomial(sg.ones(2, 2, 2), 1)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        sg.multinomial(sg.ones(3, dtype=sg.int64), 1)


def test_poisson_moments():
    x = sg.poisson(sg.full((N,), 4.0), generator=_gen(5)).numpy()
    assert x.dtype == np.float32 and (x == np.round(x)).all() and (x >= 0).all()
    _close(x, 4.0, 2.0)
    with pytest.raises(RuntimeError, match="not implemented for 'Long'"):
        sg.poisson(sg.ones(2, dtype=sg.int64))


@pytest.mark.parametrize("method, args, mean, std", [
    ("exponential_", (2.0,), 0.5, 0.5),
    ("log_normal_", (0.0, 0.25), math.exp(0.25 ** 2 / 2), math.sqrt((math.exp(0.25 ** 2) - 1)
                                                                     * math.exp(0.25 ** 2))),
    ("geometric_", (0.25,), 4.0, math.sqrt(0.75) / 0.25),
])
def test_in_place_samplers_moments(method, args, mean, std):
    x = sg.zeros(N, dtype=sg.float64)
    assert getattr(x, method)(*args, generator=_gen(6)) is x
    _close(x.numpy(), mean, std)


def test_cauchy_quartiles_and_random_ranges():
    x = sg.zeros(N).cauchy_(1.0, 2.0, generator=_gen(7)).numpy()
    q1, med, q3 = np.percentile(x, [25, 50, 75])  # Cauchy quartiles: median -+ sigma
    assert abs(med - 1.0) < 0.1 and abs(q1 + 1.0) < 0.15 and abs(q3 - 3.0) < 0.15
    r = sg.zeros(N).random_(3, 7, generator=_gen(8)).numpy()
    assert set(np.unique(r)) == {3.0, 4.0, 5.0, 6.0}
    r = sg.zeros(N, dtype=sg.int64).random_(5, generator=_gen(8)).numpy()
    assert set(np.unique(r)) == {0, 1, 2, 3, 4}
    big = sg.zeros(1000).random_(generator=_gen(9)).numpy()  # float32: integers up to 2**24
    assert (big == np.round(big)).all() and big.max() <= 2 ** 24 and big.max() > 2 ** 20


def test_randint_takes_size_by_keyword():
    # the Datasets & DataLoaders tutorial's `torch.randint(len(training_data), size=(1,)).item()`
    assert sg.randint(10, size=(1,)).shape == (1,) and 0 <= sg.randint(10, size=(1,)).item() < 10
    r = sg.randint(3, 5, size=(2, 2))
    assert r.shape == (2, 2) and ((r >= 3) & (r < 5)).all()
    with pytest.raises(TypeError, match="randint\\(\\) received an invalid combination of arguments"):
        sg.randint(10)


def test_randint_like():
    x = sg.zeros(2, 3, dtype=sg.float64)
    r = sg.randint_like(x, 10, generator=_gen(10))
    assert r.shape == (2, 3) and r.dtype == sg.float64 and ((r >= 0) & (r < 10)).all()
    r = sg.randint_like(x, 3, 5, dtype=sg.int64)
    assert r.dtype == sg.int64 and ((r >= 3) & (r < 5)).all()


def test_in_place_sampler_errors():
    with pytest.raises(RuntimeError, match="dtype must be a floating point but you specified Long"):
        sg.zeros(3, dtype=sg.int64).exponential_()
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\), but got p=0"):
        sg.zeros(3).geometric_(0)
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        sg.zeros(3).random_(5, 5)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0.0"):
        sg.zeros(3).cauchy_(0.0, -1.0)


def test_samplers_replay_under_compile():
    g = _gen(11)

    @sg.compile
    def sample(w):
        return sg.multinomial(w, 2, generator=g), sg.poisson(w, generator=g), sg.normal(w, 1.0, generator=g)

    w = sg.tensor([1.0, 2.0, 3.0, 4.0])
    outs = [[t.numpy() for t in sample(w)] for _ in range(4)]
    assert sample.cache_info()["hits"] == 3
    assert any(not np.array_equal(outs[0][2], o[2]) for o in outs[1:])  # fresh normals each call
    g.manual_seed(11)
    expected = [[t.numpy() for t in (sg.multinomial(w, 2, generator=g), sg.poisson(w, generator=g),
                                     sg.normal(w, 1.0, generator=g))] for _ in range(4)]
    for got, want in zip(outs, expected):
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-6)
