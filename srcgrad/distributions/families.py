"""Private bases of distribution families whose classes PyTorch writes out one by one: the
location-scale families symmetric about ``loc`` and the distributions of one success
probability given as ``probs`` or ``logits``. Each public class keeps PyTorch's name,
signature and behaviour; only the code they share lives here."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import batch_shape_of, broadcast_all, expand_params, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["_LocScale", "_BinaryProbs"]


class _LocScale(Distribution):
    """Base of ``Normal``, ``Laplace`` and ``Cauchy``: real ``loc`` and positive ``scale``, broadcast
    together, on the real line and symmetric about ``loc``, so ``loc`` is the mode and (where there
    is one; Cauchy overrides) the mean."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Tensor | float, scale: Tensor | float, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(batch_shape_of(self.loc, loc, scale), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> _LocScale:
        # Checked against the public class right below this base, so that a user's subclass with
        # its own __init__ gets PyTorch's error naming Normal (Laplace, ...), not this base.
        family = next(c for c in type(self).__mro__ if _LocScale in c.__bases__)
        new = self._get_checked_instance(family, _instance)
        return expand_params(self, _LocScale, batch_shape, ("loc", "scale"), new)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc


class _BinaryProbs(Distribution):
    """Base of ``Bernoulli``, ``Binomial`` and ``Geometric``: one success probability per batch
    entry, given as ``probs`` or as ``logits``; the other is computed from it on first use."""

    @lazy_property
    def logits(self) -> Tensor:
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self) -> Tensor:
        return logits_to_probs(self.logits, is_binary=True)
