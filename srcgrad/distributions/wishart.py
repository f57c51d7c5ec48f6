"""``Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None)``."""

from __future__ import annotations

import math
import warnings
from typing import Any

from .. import linalg
from ..composite import broadcast_shapes
from ..linalg_extras import cholesky_solve
from ..special import mvlgamma
from ..tensor import Tensor, arange, eye, tensor, where
from . import constraints
from .exp_family import ExponentialFamily
from .gamma import Chi2
from .multivariate_normal import _precision_to_scale_tril
from .utils import all_true, as_size, finfo, lazy_property, standard_normal

__all__ = ["Wishart"]

_log_2 = math.log(2)

# Corrections of numerically singular draws when ``rsample`` is not told how many (PyTorch's default
# when traced; its eager loop makes up to 10): all draws are made at once, so each costs sampling time.
_MAX_TRY_CORRECTION = 3


def _any(cond: Tensor) -> bool:
    """Whether some element holds; ``False`` while ``@srcgrad.compile`` or ``vmap`` traces (values are
    not on the host then, see ``utils.all_true``)."""
    return not all_true(cond.logical_not())


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """The multivariate digamma function: ``sum_j digamma(x - j / 2)`` for ``j < p``."""
    if not all_true(x.gt((p - 1) / 2)):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    return (x.unsqueeze(-1) - arange(p, dtype=x.dtype, device=x.device) / 2).digamma().sum(-1)


def _bartlett_chi2(df: Tensor, p: int, batch_shape: Any, like: Tensor) -> Chi2:
    """The chi-squared laws of the Bartlett factor's squared diagonal: ``df - i`` degrees of freedom
    in row ``i``. ``df > p - 1`` has been checked, so the chi-squared parameters are not checked again."""
    offsets = arange(p, dtype=like.dtype, device=like.device).expand(tuple(batch_shape) + (-1,))
    return Chi2(df=df.unsqueeze(-1) - offsets, validate_args=False)


class Wishart(ExponentialFamily):
    """The Wishart distribution over positive definite p x p matrices with ``df`` degrees of freedom
    (``df > p - 1``) and scale ``covariance_matrix`` (or its inverse ``precision_matrix``, or its
    lower Cholesky factor ``scale_tril``); everything goes through the Cholesky factor ``L``.

    ``rsample`` is the Bartlett decomposition: ``X = (L A)(L A)^T`` with ``A`` lower triangular,
    ``A_ii = sqrt(Chi2(df - i))`` (clamped to at least the dtype's eps, as PyTorch) and standard
    normal entries below the diagonal. It is differentiable in the scale through ``L`` and in ``df``
    through the Chi2 (Gamma) draws' implicit reparameterisation.

    Numerically singular draws (only likely for ``p - 1 < df < p``: PyTorch's "Low df values" warning)
    are redrawn as in PyTorch, but without reading values on the host: ``rsample`` makes
    ``1 + max_try_correction`` Bartlett draws at once (one vectorised sampler call, default
    ``max_try_correction=3``: PyTorch's count when it is traced) and keeps, per matrix, the first one that
    passes the ``positive_definite`` check (the last one if none does), selected with ``where``. PyTorch's
    eager path redraws up to 10 times in a host loop and warns "Singular sample detected."; srcgrad
    never warns (the warning would need a host read). Keeping the first positive definite draw
    conditions the law on that check, as PyTorch's redraws mean to (its eager path redraws the draws
    that pass the check instead, so a singular draw is kept); for ``df >= p`` a singular draw is rare
    (the clamp keeps ``A``'s diagonal away from 0), and ``max_try_correction=0`` makes one draw."""

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self) -> dict[str, constraints.Constraint]:  # type: ignore[override]
        return {"covariance_matrix": constraints.positive_definite, "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky, "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df: Tensor | float, covariance_matrix: Tensor | None = None,
                 precision_matrix: Tensor | None = None, scale_tril: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param: Tensor = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, (int, float)):
            batch_shape = tuple(param.shape[:-2])
            self.df = tensor(float(df), dtype=param.dtype, device=param.device)
        else:
            batch_shape = tuple(broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        # PyTorch checks df whatever validate_args says (a host read: skipped while tracing)
        if _any(self.df.le(p - 1)):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(batch_shape + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(batch_shape + (-1, -1))
        else:
            self.precision_matrix = param.expand(batch_shape + (-1, -1))
        if _any(self.df.lt(p)):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                          stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = linalg.cholesky(covariance_matrix)
        else:
            assert precision_matrix is not None
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        self._dist_chi2 = _bartlett_chi2(self.df, p, batch_shape, self._unbroadcasted_scale_tril)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Wishart:
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = as_size(batch_shape)
        cov_shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, getattr(self, name).expand(cov_shape))
        new._dist_chi2 = _bartlett_chi2(new.df, self.event_shape[-1], batch_shape, new._unbroadcasted_scale_tril)
        super(Wishart, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    @lazy_property
    def scale_tril(self) -> Tensor:
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return (L @ L.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril  # noqa: N806
        identity = eye(self._event_shape[-1], dtype=L.dtype, device=L.device)
        return cholesky_solve(identity, L).expand(self._matrix_shape())

    def _df_matrix(self, df: Tensor) -> Tensor:
        """``df`` with two trailing unit dimensions. PyTorch's ``df.view(batch_shape + (1, 1))`` fails
        when a number ``df`` meets a batch of scales; a reshape of ``df``'s own shape broadcasts."""
        return df.reshape(tuple(df.shape) + (1, 1))

    @property
    def mean(self) -> Tensor:
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = where(factor <= 0, math.nan, factor)  # PyTorch writes NaN in place
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        V = self.covariance_matrix  # noqa: N806
        diag_v = V.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (V.pow(2) + diag_v.unsqueeze(-1) * diag_v.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape: Any = ()) -> Tensor:
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril  # noqa: N806
        shape = tuple(sample_shape) + tuple(self._batch_shape) + (p, p)
        diag = self._dist_chi2.rsample(sample_shape).sqrt()
        diag = diag.clamp(min=finfo(diag.dtype).eps).diag_embed(dim1=-2, dim2=-1)
        noise = diag + standard_normal(shape, dtype=diag.dtype, device=diag.device).tril(-1)
        chol = L @ noise
        return chol @ chol.mT

    def rsample(self, sample_shape: Any = (), max_try_correction: int | None = None) -> Tensor:
        """A Bartlett draw of shape ``sample_shape + batch_shape + event_shape``; each matrix is the first
        of ``1 + max_try_correction`` draws (default 3 corrections) that is positive definite (see the
        class docstring). No value is read on the host."""
        if max_try_correction is None:
            max_try_correction = _MAX_TRY_CORRECTION
        sample_shape = as_size(sample_shape)
        tries = max(int(max_try_correction), 0) + 1
        draws = self._bartlett_sampling((tries,) + tuple(sample_shape))
        sample = draws[-1]
        if tries == 1:
            return sample
        accept = self.support.check(draws.detach()).unsqueeze(-1).unsqueeze(-1)
        for k in reversed(range(tries - 1)):  # the first positive definite draw
            sample = where(accept[k], draws[k], sample)
        return sample

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return (-nu * (p * _log_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1))
                - mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * linalg.slogdet(value).logabsdet
                - cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(-1) / 2)

    def entropy(self) -> Tensor:
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return ((p + 1) * (p * _log_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1))
                + mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p)
                + nu * p / 2)

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        nu = self.df
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (nu - p - 1) / 2

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-linalg.slogdet(-2 * x).logabsdet + _log_2 * p)
                + mvlgamma(y + (p + 1) / 2, p))

