"""``ExponentialFamily``: the base of distributions with density exp(<t(x), theta> - F(theta) + k(x))."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """The base of exponential families: a subclass gives ``_natural_params`` (theta), ``_log_normalizer``
    (F) and ``_mean_carrier_measure`` (E[k(x)]), and gets ``entropy`` as a Bregman divergence of F
    (and ``kl_divergence`` between two of the same class).

    The gradient of F comes from ``srcgrad.autograd.grad`` (with ``create_graph=True``), computed with
    grad enabled even under ``no_grad`` (PyTorch's raises there)."""

    @property
    def _natural_params(self) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> Any:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        """-E[k(x)] + F(theta) - <theta, grad F(theta)>."""
        from ..autograd import grad
        from ..grad_mode import enable_grad
        result: Any = -self._mean_carrier_measure
        with enable_grad():
            nparams = [p.detach().requires_grad_() for p in self._natural_params]
            lg_normal = self._log_normalizer(*nparams)
            gradients = grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for np_, g in zip(nparams, gradients):
            result = result - (np_ * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
