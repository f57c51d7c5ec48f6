"""``nn.utils.parametrizations``: ``weight_norm`` and ``spectral_norm`` (and ``orthogonal``) built on
``nn.utils.parametrize``, as PyTorch's: ``module.weight`` is computed from
``module.parametrizations.weight.original`` (``original0``/``original1``: magnitude and direction for
``weight_norm``) on every access, with PyTorch's state-dict keys, buffers and numerics."""

from __future__ import annotations

from enum import Enum, auto

import numpy as np

from ... import tracing
from ...grad_mode import no_grad
from ...tensor import Tensor, allclose, cat, eye, linalg_qr, linalg_solve, randn, tensor, zeros_like
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from . import parametrize
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _adjoint_last2(x: Tensor) -> Tensor:
    """PyTorch's ``x.mH``: the (conjugate) transpose of the last two dimensions (srcgrad's tensors are real)."""
    return x.mT


def _eps(dtype: object) -> float:
    name = getattr(dtype, "name", str(dtype))
    return 0.0078125 if name == "bfloat16" else float(np.finfo(np.dtype(name)).eps)


def _is_orthogonal(Q: Tensor) -> bool:  # noqa: N803 - PyTorch's names
    n, k = Q.size(-2), Q.size(-1)
    Id = eye(k, dtype=Q.dtype, device=Q.device)  # noqa: N806
    eps = 10.0 * n * _eps(Q.dtype)  # a reasonable eps, but not too large
    return bool(allclose(_adjoint_last2(Q) @ Q, Id, atol=eps))


def _make_orthogonal(A: Tensor) -> Tensor:  # noqa: N803
    """The Q of A = QR (A tall), with the signs that make diag(R) non-negative."""
    Q, R = linalg_qr(A)  # noqa: N806
    return Q * R.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:  # noqa: N803
    """PyTorch's ``linalg.householder_product`` (real): the first k columns of H_1 ... H_k with
    H_i = I - tau_i v_i v_i^T, v_i = (0, ..., 0, 1, A[i+1:, i]); differentiable in A and tau."""
    n, k = A.size(-2), A.size(-1)
    Q = eye(n, dtype=A.dtype, device=A.device).expand(*A.shape[:-2], n, n)  # noqa: N806
    rows = np.arange(n)
    for i in range(k):
        below = tensor((rows > i).astype(np.float64), dtype=A.dtype, device=A.device)
        unit = tensor((rows == i).astype(np.float64), dtype=A.dtype, device=A.device)
        v = A[..., :, i] * below + unit
        Q = Q - (tau[..., i, None, None] * (Q @ v.unsqueeze(-1))) @ v.unsqueeze(-2)  # noqa: N806
    return Q[..., :, :k]


def _geqrf(A: Tensor) -> tuple[Tensor, Tensor]:  # noqa: N803
    """LAPACK's ``geqrf`` (PyTorch's ``torch.geqrf``): R above the diagonal and the Householder
    reflectors below it, and their scales tau (computed by NumPy; no gradient)."""
    a = A.detach().cpu().numpy()
    flat = a.reshape(-1, *a.shape[-2:])
    hs, taus = [], []
    for m in flat:
        h, tau = np.linalg.qr(m, mode="raw")
        hs.append(h.T)
        taus.append(tau)
    h = np.stack(hs).reshape(a.shape)
    tau = np.stack(taus).reshape(*a.shape[:-2], -1)
    return tensor(h, dtype=A.dtype, device=A.device), tensor(tau, dtype=A.dtype, device=A.device)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    base: Tensor

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:  # noqa: N803
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT  # noqa: N806
            n, k = k, n
        # here X is tall (n >= k)
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            # n * k - k * (k - 1) / 2 parameters: a skew-symmetric A from the lower triangle
            X = X.tril()  # noqa: N806
            if n != k:
                X = cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)  # noqa: N806
            A = X - _adjoint_last2(X)  # noqa: N806
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = A.matrix_exp()  # noqa: N806
            else:  # the Cayley retraction (I + A/2)(I - A/2)^{-1}
                Id = eye(n, dtype=A.dtype, device=A.device)  # noqa: N806
                Q = linalg_solve(Id.add(A, alpha=-0.5), Id.add(A, alpha=0.5))  # noqa: N806
            if n != k:
                Q = Q[..., :k]  # noqa: N806
        else:
            A = X.tril(diagonal=-1)  # noqa: N806
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)  # noqa: N806
            # the diagonal of X holds the signs (1 or -1), not differentiated
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)  # noqa: N806
        if hasattr(self, "base"):
            Q = self.base @ Q  # noqa: N806
        if transposed:
            Q = Q.mT  # noqa: N806
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:  # noqa: N803
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {Q.shape}.")
            Q_init = Q  # noqa: N806
            n, k = Q.size(-2), Q.size(-1)
            transpose = n < k
            if transpose:
                Q = Q.mT  # noqa: N806
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError("It is not possible to assign to the matrix exponential or the Cayley "
                                              "parametrizations when use_trivialization=False.")
                # Householder: the reflectors of Q's QR decomposition, with the signs of diag(R) > 0
                A, tau = _geqrf(Q)  # noqa: N806
                a, t = A.numpy().copy(), tau.numpy()
                d = np.sign(np.diagonal(a, axis1=-2, axis2=-1)).copy()
                d[t == 0.0] *= -1  # (LAPACK leaves tau = 0 where it does not reflect)
                idx = np.arange(min(a.shape[-2:]))
                a[..., idx, idx] = d
                A = tensor(a, dtype=Q.dtype, device=Q.device)  # noqa: N806
                return A.mT if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)  # noqa: N806
            else:  # complete Q into an n x n orthogonal matrix
                N = randn(*(Q.size()[:-2] + (n, n - k)), dtype=Q.dtype, device=Q.device)  # noqa: N806
                Q = _make_orthogonal(cat([Q, N], dim=-1))  # noqa: N806
            self.base = Q
            # -Id, so that householder(zeros) == eye
            neg_Id = zeros_like(Q_init)  # noqa: N806
            neg_Id.diagonal(dim1=-2, dim2=-1).fill_(-1.0)
            return neg_Id


def orthogonal(module: Module, name: str = "weight", orthogonal_map: str | None = None, *,
               use_trivialization: bool = True) -> Module:
    """Make ``module.<name>`` (a matrix or a batch of them) orthogonal: orthonormal columns if it is tall,
    rows if it is wide. ``orthogonal_map``: ``"matrix_exp"`` (default for square matrices),
    ``"cayley"`` or ``"householder"`` (default otherwise). With ``use_trivialization`` (default) the
    extra buffer ``module.parametrizations.<name>[0].base`` holds the current orthogonal point and the
    initial value is the tensor itself if orthogonal, else its QR's Q."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.size(-2) == weight.size(-1) or weight.is_complex()
                          else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        weight_g = norm_except_dim(weight, 2, self.dim)
        weight_v = weight
        return weight_g, weight_v


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Weight normalization (https://arxiv.org/abs/1602.07868): ``module.<name> = g * v / ||v||`` with the
    norm over every dimension but ``dim`` (over everything for ``dim=None``); ``g`` and ``v`` are
    ``module.parametrizations.<name>.original0`` and ``original1``. State dicts of the legacy
    ``nn.utils.weight_norm`` (``<name>_g``, ``<name>_v``) load into it."""
    _weight_norm_module = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _weight_norm_module, unsafe=True)

    def _weight_norm_compat_hook(state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                                 missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        g_key = f"{prefix}{name}_g"
        v_key = f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            # (a vector needs no estimate: see forward)
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            with no_grad():
                u = weight_mat.new_empty(h).normal_(0, 1)
                v = weight_mat.new_empty(w).normal_(0, 1)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # start from reasonable singular vectors: 15 steps of the power method (computed one by
            # one outside a trace: one small program run 15 times, not one 15 times as large)
            if tracing.ACTIVE is None:
                for _ in range(15):
                    self._power_method(weight_mat, 1)
                    self._v.jax()
            else:
                self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if weight.ndim <= 1:
            raise AssertionError(f"Expected weight to have more than 1 dimension, got {weight.ndim}")
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # u and v are updated in place (they are buffers: the update must reach the module), and
        # forward clones them, so that the graph of an earlier forward keeps the values it saw
        if weight_mat.ndim <= 1:
            raise AssertionError(f"Expected weight_mat to have more than 1 dimension, got {weight_mat.ndim}")
        with no_grad():
            for _ in range(n_power_iterations):
                self._u = F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps, out=self._u)
                self._v = F.normalize(_adjoint_last2(weight_mat).mv(self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = u.vdot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> Module:
    """Spectral normalization (https://arxiv.org/abs/1802.05957): ``module.<name>`` is the original divided
    by its largest singular value, estimated by the power method on the weight reshaped to a matrix
    with ``dim`` first (default 0; 1 for transposed convolutions). The singular vectors are the
    buffers ``module.parametrizations.<name>[0]._u`` and ``._v``, updated by ``n_power_iterations``
    steps at every access in training mode only; a vector is simply divided by its norm."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
