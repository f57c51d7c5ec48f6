"""``Laplace(loc, scale)``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor, rand
from .families import _LocScale
from .utils import finfo

__all__ = ["Laplace"]


class Laplace(_LocScale):
    """The Laplace (double exponential) distribution; ``rsample`` inverts the CDF at a uniform draw."""

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return 2 ** 0.5 * self.scale

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        fi = finfo(self.loc.dtype)
        # U on (eps - 1, 1), as PyTorch's uniform_(eps - 1, 1): log1p(-|u|) stays finite
        u = rand(*shape, dtype=self.loc.dtype, device=self.loc.device) * (2 - fi.eps) + (fi.eps - 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value: Tensor) -> Tensor:
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()
