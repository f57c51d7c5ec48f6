"""Samplers built from srcgrad's uniform and normal draws: standard gamma (Marsaglia-Tsang, with
an implicit-reparameterisation gradient) and binomial (Knuth's beta splitting).

srcgrad has no gamma or binomial random op, and a program cannot loop until a proposal is
accepted, so rejection sampling is done with a fixed number of vectorised proposals per draw
and the first accepted one is kept (see ``_PROPOSALS``).
"""

from __future__ import annotations

import math

from ..grad_mode import is_grad_enabled
from ..tensor import Tensor, arange, rand, randn, where, zeros_like
from .utils import finfo

__all__ = ["standard_gamma", "standard_gamma_grad", "binomial_sample"]

# Marsaglia-Tsang accepts a proposal with probability >= 0.95 for concentration >= 1 (smaller
# concentrations are boosted to >= 1), so all 8 proposals are rejected with probability < 5e-11;
# that draw then falls back to d = a - 1/3 (close to the mode).
_PROPOSALS = 8


def _standard_gamma_sample(alpha: Tensor) -> Tensor:
    """Draws of Gamma(alpha, 1), one per element of ``alpha`` (no gradient)."""
    alpha = alpha.detach()
    fi = finfo(alpha.dtype)
    shape = tuple(alpha.shape)
    boost = alpha < 1
    a = where(boost, alpha + 1, alpha)  # Gamma(a) * U^(1/alpha) is Gamma(alpha) (Marsaglia-Tsang's boost)
    d = a - 1.0 / 3.0
    c = (9 * d).rsqrt()
    eps = randn(_PROPOSALS, *shape, dtype=alpha.dtype, device=alpha.device)
    u = rand(_PROPOSALS, *shape, dtype=alpha.dtype, device=alpha.device).clamp(min=fi.tiny)
    t = 1 + c * eps
    valid = t > 0
    v = where(valid, t, 1.0) ** 3
    accept = valid & (u.log() < 0.5 * eps * eps + d - d * v + d * v.log())
    # the first accepted proposal: fold from the last one back (no proposal accepted: d)
    dv = d * v
    x = d
    for k in reversed(range(_PROPOSALS)):
        x = where(accept[k], dv[k], x)
    u_boost = rand(*shape, dtype=alpha.dtype, device=alpha.device).clamp(min=fi.tiny)
    log_x = x.log() + where(boost, u_boost.log() / alpha, 0.0)
    return log_x.exp().clamp(min=fi.tiny)


def standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """d x / d alpha for x ~ Gamma(alpha, 1) held at the same quantile: ``-(dF/dalpha) / (dF/dx)``
    with F the gamma CDF (implicit reparameterisation). The approximations are PyTorch's
    ``standard_gamma_grad_one`` (a Taylor series for x < 0.8, Rice's saddle-point expansion for
    alpha > 8, a bivariate rational fit otherwise), evaluated for all elements and selected with
    ``where``. Both arguments are detached: this is a value, not a graph to differentiate."""
    alpha, x = alpha.detach(), x.detach()
    # x < 0.8: the series of the regularised incomplete gamma function and its alpha-derivative
    numer = zeros_like(x) + 1.0
    denom = alpha
    series1 = numer / denom
    series2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = x.pow(alpha)
    gamma_pdf = x.pow(alpha - 1) * (-x).exp()
    gamma_cdf = pow_x_alpha * series1
    gamma_cdf_alpha = (x.log() - alpha.digamma()) * gamma_cdf - pow_x_alpha * series2
    small_x = -gamma_cdf_alpha / gamma_pdf
    small_x = where(small_x.isnan(), 0.0, small_x)
    # alpha > 8: Rice's saddle-point expansion, with its own form near x = alpha
    near_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    near_2 = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    near = near_1 * near_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
    sq = (8 * alpha).sqrt()
    term2 = sq / (alpha - x)
    term3 = (x - alpha - alpha * (x / alpha).log()).pow(-1.5)
    term23 = where(x < alpha, term2 - term3, term2 + term3)
    term1 = (x / alpha).log() * term23 - (2 / alpha).sqrt() * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far = -stirling * x * term1 / sq
    large_alpha = where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near, far)
    # otherwise: a bivariate rational approximation in log(x / alpha) and log(alpha)
    u = (x / alpha).log()
    v = alpha.log()
    coef = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_COEF_UV)]
    p = coef[0] + v * (coef[1] + v * (coef[2] + v * coef[3]))
    q = coef[4] + v * (coef[5] + v * (coef[6] + v * coef[7]))
    rational = (p / q).exp()
    grad = where(x < 0.8, small_x, where(alpha > 8.0, large_alpha, rational))
    return where(grad.isfinite(), grad, 0.0)


_COEF_UV = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
    (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
     -1.5247877e-07),
)


def standard_gamma(alpha: Tensor) -> Tensor:
    """Draws of Gamma(alpha, 1) whose gradient to ``alpha`` is the implicit reparameterisation
    gradient: the value is the draw, and ``x + g * (alpha - alpha.detach())`` carries
    ``dx/dalpha = g`` to autograd without changing it."""
    x = _standard_gamma_sample(alpha)
    if alpha.requires_grad and is_grad_enabled():
        g = standard_gamma_grad(alpha, x)
        x = x + g * (alpha - alpha.detach())
    return x


# Below this many trials a binomial draw is a sum of Bernoulli draws; above, Knuth's splitting
# halves the count per level.
_SMALL_COUNT = 16


def binomial_sample(total_count: Tensor, probs: Tensor, max_count: int) -> Tensor:
    """Draws of Binomial(total_count, probs), in ``probs``' dtype (no gradient). ``max_count`` (a host
    integer, at least every ``total_count``) fixes how many splitting levels the program has.

    Knuth (TAOCP 3.4.1): the a-th smallest of n uniforms is X ~ Beta(a, n + 1 - a); if X >= p the
    successes are Binomial(a - 1, p / X), else a + Binomial(n - a, (p - X) / (1 - X))."""
    n, p = total_count.detach(), probs.detach()
    fi = finfo(p.dtype)
    acc = zeros_like(p)
    levels = max(0, math.ceil(math.log2(max(max_count, 1) / _SMALL_COUNT)))
    for _ in range(levels):
        big = n > _SMALL_COUNT
        a = where(big, (n / 2).floor() + 1, 1.0)
        b = where(big, n + 1 - a, 1.0)
        ga, gb = _standard_gamma_sample(a), _standard_gamma_sample(b)
        x = (ga / (ga + gb)).clamp(min=fi.tiny, max=1 - fi.eps)
        left = x >= p
        n = where(big, where(left, a - 1, b - 1), n)
        acc = acc + where(big & ~left, a, 0.0)
        p = where(big, where(left, p / x, (p - x) / (1 - x)), p).clamp(min=0.0, max=1.0)
    trials = min(max(max_count, 0), _SMALL_COUNT)
    if trials == 0:
        return acc
    u = rand(trials, *p.shape, dtype=p.dtype, device=p.device)
    index = arange(trials, dtype=p.dtype, device=p.device).reshape((trials,) + (1,) * p.dim())
    hits = (u < p) & (index < n)
    return acc + hits.to(p.dtype).sum(0)
