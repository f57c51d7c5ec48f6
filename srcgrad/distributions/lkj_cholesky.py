"""``LKJCholesky(dim, concentration=1.0)``: the LKJ law of the Cholesky factor of a correlation matrix
(PyTorch's, which follows NumPyro's)."""

from __future__ import annotations

import math
from typing import Any

from ..grad_mode import no_grad
from ..special import mvlgamma
from ..tensor import Size, Tensor, arange, cat, where
from . import constraints
from .beta import Beta
from .distribution import Distribution
from .utils import as_size, broadcast_all, finfo, standard_normal

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The LKJ distribution of lower Cholesky factors ``L`` of ``dim`` x ``dim`` correlation matrices:
    the correlation matrix ``M = L L^T`` has density proportional to ``det(M) ** (concentration - 1)``
    (uniform over correlation matrices at ``concentration == 1``).

    ``sample`` is the onion method (Lewandowski, Kurowicka and Joe, 2009, section 3.2), vectorised as
    PyTorch's: row ``i`` of ``L`` is ``sqrt(y_i) u_i`` below the diagonal, with ``y_i`` a Beta draw and
    ``u_i`` uniform on the unit sphere of the first ``i`` coordinates (a normalised normal draw), and
    ``sqrt(1 - y_i)`` on the diagonal. There is no ``rsample`` (as in PyTorch)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Tensor | float = 1.0, validate_args: bool | None = None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = Size((dim, dim))
        # The Beta laws of the squared norms of the rows' off-diagonal parts (section 3.2 of the paper):
        # row i >= 1 has Beta(i / 2, concentration + (dim - 2) / 2 - (i - 1) / 2) (row 0 is unused).
        # PyTorch (2.13) takes ``offset + 0.5`` = i - 1/2 as the first parameter, which is i / 2 only for
        # i = 1, so its draws for dim >= 3 do not follow the LKJ law (NumPyro, which it ports, halves the
        # offset for both parameters); srcgrad uses i / 2.
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = cat([offset.new_zeros((1,)), offset])
        beta_conc1 = 0.5 * offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)  # validated as PyTorch's (whatever validate_args says)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> LKJCholesky:
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = as_size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        super(LKJCholesky, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + (dim, dim)``, outside autograd."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = standard_normal(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            # the first row is all zeros (PyTorch divides by its zero norm and overwrites the NaNs with 0)
            first_row = (arange(self.dim, device=y.device) == 0).unsqueeze(-1)
            u_hypersphere = u_normal / where(first_row, 1.0, u_normal.norm(dim=-1, keepdim=True))
            w = y.sqrt() * u_hypersphere
            diag_elems = (1 - w.pow(2).sum(-1)).clamp(min=finfo(w.dtype).tiny).sqrt()
            return w + diag_elems.diag_embed()

    def log_prob(self, value: Tensor) -> Tensor:
        """``sum_i (2 (concentration - 1) + dim - i) log L_ii`` (i = 2..dim: the correlation density
        times the Jacobian of ``L -> L L^T``) minus the log normaliser (page 1999 of the paper)."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = (order * diag_elems.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = alpha.lgamma() * dm1
        numerator = mvlgamma(alpha - 0.5, dm1)
        # the paper's pi constant is D (D - 1) / 4 log(pi), mvlgamma's (D - 1) (D - 2) / 4 log(pi)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
