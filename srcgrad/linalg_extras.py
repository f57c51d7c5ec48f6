"""The rest of PyTorch's linear algebra, written as composites of srcgrad's existing ops.

``torch.linalg``'s ``LinAlgError``, ``cholesky_ex``, ``inv_ex``, ``solve_ex``, ``vander``,
``tensorinv``, ``tensorsolve`` and ``householder_product``; the torch-level (and ``Tensor``
method) ``cholesky_solve``, ``cholesky_inverse``, ``triangular_solve``, ``lu``, ``lu_solve``
and ``orgqr``; and ``svd_lowrank``/``pca_lowrank``. Each function only records ops srcgrad
already has (``cholesky``, ``solve``, ``inv``, ``solve_triangular``, ``lu_factor_ex``,
``qr``, ``svd``, matmuls, ``cumprod``...), so its gradient, its second derivative and its
``@srcgrad.compile`` replay come from those ops' rules.

The ``info`` tensors of the ``*_ex`` functions are computed from values on the device, as
tensors (never read on the host), except where ``check_errors=True`` asks for PyTorch's
``LinAlgError``: that reads ``info`` on the host, as PyTorch does (under ``@srcgrad.compile``
such a function then runs define-by-run).

``register()`` (called once by ``srcgrad/__init__.py``) puts the functions on
``srcgrad.linalg``, ``srcgrad`` and ``srcgrad.Tensor``; nothing that exists is replaced.
See docs/ops.md, "Linear algebra".
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from . import dtypes as D
from .ir import warn_at_user
from .ops import TORCH_TYPE_NAMES
from .tensor import (
    Tensor,
    _NoGrad,
    _return_type,
    arange,
    cat,
    eye,
    linalg_cholesky,
    linalg_inv,
    linalg_lu_factor_ex,
    linalg_lu_solve,
    linalg_qr,
    linalg_solve,
    linalg_solve_triangular,
    linalg_svd,
    randn,
    return_types,
    where,
    zeros,
)

_PKG = __name__.rpartition(".")[0]


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError`` (PyTorch's ``torch._C._LinAlgError``): raised where a
    factorisation or solve fails on the values, here only by the ``check_errors=True`` forms."""


LinAlgError.__module__ = "srcgrad.linalg"  # (where users reach it, as other srcgrad types)

for _n, _fields in (("linalg_cholesky_ex", "L info"), ("linalg_inv_ex", "inverse info"),
                    ("linalg_solve_ex", "result info"), ("triangular_solve", "solution cloned_coefficient"),
                    ("_lu_with_info", "LU pivots info")):
    if not hasattr(return_types, _n):
        setattr(return_types, _n, _return_type(_n, tuple(_fields.split())))


def _tname(dt: D.dtype) -> str:
    return TORCH_TYPE_NAMES.get(dt.name, dt.name.title())


_WARNED: set = set()


def _warn_once(key: str, message: str) -> None:
    """PyTorch's ``TORCH_WARN_ONCE``: the warning once a process."""
    if key not in _WARNED:
        _WARNED.add(key)
        warn_at_user(message)


def _batch_broadcast(a: tuple, b: tuple) -> tuple:
    """Two batch shapes broadcast, with PyTorch's error."""
    n = max(len(a), len(b))
    out = []
    for i in range(n - 1, -1, -1):
        da = a[i - n + len(a)] if i - n + len(a) >= 0 else 1
        db = b[i - n + len(b)] if i - n + len(b) >= 0 else 1
        if da != db and 1 not in (da, db):
            raise RuntimeError(f"The size of tensor a ({da}) must match the size of tensor b ({db}) at "
                               f"non-singleton dimension {i}")
        out.append(db if da == 1 else da)
    return tuple(reversed(out))


def _lapack_dtype(kernel: str, *tensors: Tensor) -> None:
    """PyTorch's CPU kernels take float and double only (no complex dtypes here)."""
    for t in tensors:
        if t.dtype not in (D.float32, D.float64):
            raise NotImplementedError(f"\"{kernel}\" not implemented for '{_tname(t.dtype)}'")


def _raise_for_info(info: Tensor, message: Any) -> None:
    """PyTorch's ``_linalg_check_errors``: read ``info`` on the host and raise a ``LinAlgError`` for
    the first matrix (in batch order) whose ``info`` is positive, naming its batch element."""
    values = info.reshape(-1).tolist()
    for k, v in enumerate(values):
        if v > 0:
            where_ = f"(Batch element {k}): " if info.dim() > 0 else ""
            raise LinAlgError(message(where_, v))


# -- torch.linalg: the *_ex forms ----------------------------------------------------------------


def _cholesky_info(A: Tensor, upper: bool) -> Tensor:  # noqa: N803
    """LAPACK potrf's ``info`` as an int32 tensor of A's batch shape: the order of the first
    leading minor that is not positive definite (0 where A is). "The leading minors of orders
    1..k are positive definite" holds for every k up to some point and for none after it, so info
    is one more than the number of positive-definite leading minors (0 where all are). They are
    counted block by block, right-looking as LAPACK's blocked potrf: a block's leading minors are
    tested by factorising them each padded with an identity (a NaN factor: not positive definite),
    and the rest of the matrix is updated with the block's Schur complement. No gradient."""
    n = A.shape[-1]
    batch = tuple(A.shape[:-2])
    with _NoGrad():
        low = A.detach().mT if upper else A.detach()
        s = low.tril() + low.tril(-1).mT  # (the triangle that is read, made symmetric)
        count = zeros(batch, dtype=D.int64, device=A.device)
        block = 32
        for start in range(0, n, block):
            k = min(block, n - start)
            blk = s[..., :k, :k]
            r = zeros(k, k, dtype=D.int64, device=A.device) + arange(k, device=A.device).unsqueeze(1)
            c = r.mT
            order = arange(k, device=A.device).reshape(k, 1, 1)
            inside = (r <= order) & (c <= order)  # (k, k, k): the leading minors of orders 1..k
            padded = where(inside, blk.unsqueeze(-3), eye(k, dtype=A.dtype, device=A.device))
            factors = linalg_cholesky(padded)
            ok = factors.isfinite().all(-1).all(-1)
            count = count + ok.sum(-1)
            if start + k < n:
                lbb = factors[..., k - 1, :, :]
                panel = linalg_solve_triangular(lbb.mT, s[..., k:, :k], upper=True, left=False)  # L21 = A21 L11^-T
                s = s[..., k:, k:] - panel @ panel.mT
        return where(count == n, 0, count + 1).to(D.int32)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False) -> Any:  # noqa: N803
    """``torch.linalg.cholesky_ex``: ``(L, info)``. L is ``linalg.cholesky``'s factor (NaN where
    the factorisation fails; PyTorch leaves LAPACK's partial factor there). ``info`` (int32, A's
    batch shape) is LAPACK potrf's: the order of the first leading minor that is not positive
    definite, else 0, computed on the device. ``check_errors=True`` reads it on the host and raises
    PyTorch's ``LinAlgError``."""
    L = linalg_cholesky(A, upper=upper)  # noqa: N806 - (its checks and errors come first)
    info = _cholesky_info(A, bool(upper))
    if check_errors:
        _raise_for_info(info, lambda w, v: (
            f"linalg.cholesky_ex: {w}The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {v} is not positive-definite)."))
    return return_types.linalg_cholesky_ex(L, info)


def _lu_info(A: Tensor) -> Tensor:  # noqa: N803
    with _NoGrad():
        return linalg_lu_factor_ex(A.detach()).info


def inv_ex(A: Tensor, *, check_errors: bool = False) -> Any:  # noqa: N803
    """``torch.linalg.inv_ex``: ``(inverse, info)``; ``info`` (int32, A's batch shape) is LAPACK
    getrf's, as PyTorch's: the 1-based index of the first exact zero on the diagonal of the
    partially pivoted LU factor U, else 0. ``check_errors=True`` reads it on the host."""
    inverse = linalg_inv(A)
    info = _lu_info(A)
    if check_errors:
        _raise_for_info(info, lambda w, v: (f"linalg.inv_ex: {w}The diagonal element {v} is zero, the inversion "
                                            "could not be completed because the input matrix is singular."))
    return return_types.linalg_inv_ex(inverse, info)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False) -> Any:  # noqa: N803
    """``torch.linalg.solve_ex``: ``(result, info)``; ``info`` as ``inv_ex``'s (A's batch shape,
    not broadcast with B's, as PyTorch's)."""
    result = linalg_solve(A, B, left=left)
    info = _lu_info(A)
    if check_errors:
        _raise_for_info(info, lambda w, v: f"torch.linalg.solve_ex: {w}The solver failed because the input matrix "
                                           "is singular.")
    return return_types.linalg_solve_ex(result, info)


# -- torch.linalg: vander, tensorinv, tensorsolve, householder_product ----------------------------


def linalg_vander(x: Tensor, /, *, N: int | None = None) -> Tensor:  # noqa: N803
    """``torch.linalg.vander``: ``x``'s powers ``x**0 .. x**(N-1)`` along a new last dim (N defaults
    to ``x.shape[-1]``), by ``cumprod`` as PyTorch's; integer inputs give int64."""
    t = x.dtype
    if not (t in (D.float32, D.float64) or (t.category == 1 and t is not D.bool_)):
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got {_tname(t)}")
    x_ = x.unsqueeze(-1) if x.dim() == 0 else x
    n = x_.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    if not t.is_floating_point:
        x_ = x_.to(D.int64)
    powers = x_.unsqueeze(-1).expand(*x_.shape, n - 1).cumprod(-1)
    ones = zeros(*x_.shape, 1, dtype=powers.dtype, device=x.device) + 1
    return cat([ones, powers], -1)


def _prod(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:  # noqa: N803
    """``torch.linalg.tensorinv``: the inverse of A read as a ``prod(shape[:ind])``-square matrix,
    of shape ``shape[ind:] + shape[:ind]``. A singular A gives inf/NaN (PyTorch raises)."""
    if not isinstance(ind, int) or isinstance(ind, bool):
        raise TypeError(f"linalg_tensorinv(): argument 'ind' (position 2) must be int, not {type(ind).__name__}")
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = tuple(A.shape)
    if ind > len(shape):
        raise RuntimeError(f"ArrayRef: invalid slice, N = {ind}; size = {len(shape)}")
    end, start = shape[ind:], shape[:ind]
    if _prod(end) != _prod(start):
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[ind:]) == prod(self.shape[:ind]), "
                           f"but got {_prod(end)} != {_prod(start)}")
    p = _prod(end)
    return linalg_inv(A.reshape(p, p)).reshape(*end, *start)


def tensorsolve(A: Tensor, B: Tensor, dims: Sequence[int] | None = None) -> Tensor:  # noqa: N803
    """``torch.linalg.tensorsolve``: X with ``tensordot(A, X, X.ndim) == B``, A's ``dims`` moved to
    its end first, solved as one square system (``linalg.solve``)."""
    ndim = A.dim()
    a = A
    if dims is not None:
        dims = list(dims)
        a = a.movedim(dims, list(range(ndim - len(dims), ndim)))
    if B.dim() > ndim:
        raise RuntimeError("cannot create std::vector larger than max_size()")
    result_shape = tuple(a.shape[B.dim():])
    rp, op = _prod(result_shape), _prod(B.shape)
    if rp != op:
        raise RuntimeError("Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {rp} != {op}")
    return linalg_solve(a.reshape(rp, rp), B.flatten()).reshape(result_shape)


def householder_product(A: Tensor, tau: Tensor) -> Tensor:  # noqa: N803
    """``torch.linalg.householder_product`` (LAPACK's orgqr): the first n columns of
    ``H_1 ... H_k``, ``H_i = I - tau_i v_i v_i^T`` with ``v_i`` the i-th column of A below the
    diagonal and a 1 on it; A's diagonal and upper triangle are not read. Computed in the compact
    WY form (one triangular solve and three matmuls, whatever k)."""
    name = "torch.linalg.householder_product"
    if A.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    m, n = A.shape[-2:]
    if m < n:
        raise RuntimeError(f"{name}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    k = tau.shape[-1] if tau.dim() else 1
    if n < k:
        raise RuntimeError(f"{name}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if A.dim() - tau.dim() != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.dim()} and input.ndim is equal to {A.dim()}")
    if A.dim() > 2 and tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{name}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{name}: tau dtype {_tname(tau.dtype)} does not match input dtype {_tname(A.dtype)}")
    _lapack_dtype("orgqr_cpu", A)
    e = eye(m, n, dtype=A.dtype, device=A.device)
    if k == 0:
        return e.expand(*A.shape).clone()
    v = (A.tril(-1) + e)[..., :, :k]
    # The compact WY form (Schreiber and Van Loan; Joffrain et al.): H_1 ... H_k = I - V T V^T with
    # T^-1 = diag(1/tau) + triu(V^T V, 1), so T = (I + diag(tau) triu(V^T V, 1))^-1 diag(tau): a unit
    # upper triangular solve, with no division by tau (a zero tau is a reflector that is I).
    d = tau.unsqueeze(-1)
    unit = eye(k, dtype=A.dtype, device=A.device) + d * (v.mT @ v).triu(1)
    y = linalg_solve_triangular(unit, d * v[..., :n, :].mT, upper=True, unitriangular=True)  # T V^T I[:, :n]
    return e - v @ y


# -- torch-level solvers -----------------------------------------------------------------------


def _solve_checks(b: Tensor, A: Tensor, name: str) -> tuple:  # noqa: N803
    """PyTorch's ``linearSolveCheckInputs`` then the broadcast batch shape."""
    if b.dtype is not A.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {_tname(b.dtype)} and A of "
                           f"type {_tname(A.dtype)} instead.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"A must be batches of square matrices, but they are {A.shape[-2]} by {A.shape[-1]} "
                           "matrices")
    if A.shape[-1] != b.shape[-2]:
        raise RuntimeError(f"Incompatible matrix sizes for {name}: each A matrix is {A.shape[-1]} by {A.shape[-1]} "
                           f"but each b matrix is {b.shape[-2]} by {b.shape[-1]}")
    return _batch_broadcast(tuple(b.shape[:-2]), tuple(A.shape[:-2]))


def _triangle_read(L: Tensor, upper: bool) -> Tensor:  # noqa: N803
    """L's triangle (the values LAPACK reads) with the gradient of all of L: PyTorch's
    ``cholesky_solve``/``cholesky_inverse`` backward formulas give a full-matrix gradient."""
    other = L.tril(-1) if upper else L.triu(1)
    return L - other.detach()


def _gram(L: Tensor, upper: bool) -> Tensor:  # noqa: N803
    """A = L L^T (A = U^T U where ``upper``) from the triangle read."""
    t = _triangle_read(L, upper)
    return t.mT @ t if upper else t @ t.mT


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    """``torch.cholesky_solve(B, L, upper=False)``: X with ``A X = B``, A = L L^T (U^T U); batches
    broadcast. Solved as ``linalg.solve(L L^T, B)``, so its gradient is PyTorch's (with respect to
    all of L, as PyTorch's formula gives it)."""
    b, L = input, input2  # noqa: N806
    if b.dim() < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {b.dim()} dimensions instead")
    if L.dim() < 2:
        raise RuntimeError(f"u should have at least 2 dimensions, but has {L.dim()} dimensions instead")
    batch = _solve_checks(b, L, "cholesky_solve")
    _lapack_dtype("cholesky_solve_cpu", b)
    a = _gram(L, bool(upper))
    return linalg_solve(a.expand(*batch, *a.shape[-2:]), b.expand(*batch, *b.shape[-2:]))


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:  # noqa: A002
    """``torch.cholesky_inverse(L, upper=False)``: the inverse of A = L L^T (U^T U), made exactly
    symmetric as LAPACK's potri's; the gradient is PyTorch's (with respect to all of L)."""
    L = input  # noqa: N806
    if L.dim() < 2:
        raise RuntimeError("cholesky_inverse: The input tensor A must have at least 2 dimensions.")
    if L.shape[-1] != L.shape[-2]:
        raise RuntimeError(f"cholesky_inverse: A must be batches of square matrices, but they are {L.shape[-2]} by "
                           f"{L.shape[-1]} matrices")
    _lapack_dtype("cholesky_inverse_out_cpu", L)
    inverse = linalg_inv(_gram(L, bool(upper)))
    return (inverse + inverse.mT) * 0.5


def triangular_solve(input: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,  # noqa: A002, N803
                     unitriangular: bool = False) -> Any:
    """``torch.triangular_solve(b, A)`` (deprecated): ``(solution, cloned_coefficient)``, the solution
    of ``A X = b`` (``A^T X = b`` where ``transpose``) reading one triangle of A, and A broadcast to
    the batch shape and copied."""
    b = input
    _warn_once("triangular_solve", (
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangularand will be removed in a "
        "future PyTorch release.\ntorch.linalg.solve_triangular has its arguments reversed and does not return a "
        "copy of one of the inputs.\nX = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
        "X = torch.linalg.solve_triangular(A, B). (Triggered internally at "
        "/__w/pytorch/pytorch/aten/src/ATen/native/BatchLinearAlgebra.cpp:2273.)"))
    if b.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected b to have at least 2 dimensions, but it has {b.dim()} "
                           "dimensions instead")
    if A.dim() < 2:
        raise RuntimeError(f"torch.triangular_solve: Expected A to have at least 2 dimensions, but it has {A.dim()} "
                           "dimensions instead")
    batch = _solve_checks(b, A, "triangular_solve")
    _lapack_dtype("triangular_solve_cpu", b)
    a = A.expand(*batch, *A.shape[-2:])
    coefficient = a.mT if transpose else a
    solution = linalg_solve_triangular(coefficient, b.expand(*batch, *b.shape[-2:]),
                                       upper=bool(upper) != bool(transpose), unitriangular=bool(unitriangular))
    return return_types.triangular_solve(solution, a.clone())


_LU_DEPRECATION = (
    "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex and will be removed in a "
    "future PyTorch release.\nLU, pivots = torch.lu(A, compute_pivots)\nshould be replaced with\n"
    "LU, pivots = torch.linalg.lu_factor(A, compute_pivots)\nand\n"
    "LU, pivots, info = torch.lu(A, compute_pivots, get_infos=True)\nshould be replaced with\n"
    "LU, pivots, info = torch.linalg.lu_factor_ex(A, compute_pivots) (Triggered internally at "
    "/__w/pytorch/pytorch/aten/src/ATen/native/BatchLinearAlgebra.cpp:2073.)")


def _lu_with_info(A: Tensor, pivot: bool) -> Any:  # noqa: N803
    _warn_once("lu", _LU_DEPRECATION)
    return return_types._lu_with_info(*linalg_lu_factor_ex(A, pivot=pivot))


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False) -> Any:  # noqa: N803
    """``torch.lu`` (deprecated): ``(LU, pivots)``, or ``torch.return_types._lu_with_info(LU, pivots,
    info)`` with ``get_infos``, from ``linalg.lu_factor_ex``. As PyTorch's, a singular matrix is
    not an error (info says where U's diagonal is zero)."""
    result = _lu_with_info(A, pivot)
    return result if get_infos else (result[0], result[1])


def _tensor_lu(self: Tensor, pivot: bool = True, get_infos: bool = False) -> tuple:
    """``Tensor.lu``: as ``torch.lu``, returning plain tuples (as PyTorch's method does)."""
    result = _lu_with_info(self, pivot)
    return tuple(result) if get_infos else (result[0], result[1])


def lu_solve(input: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: A002, N803
    """``torch.lu_solve(b, LU_data, LU_pivots)`` (deprecated): ``linalg.lu_solve(LU, pivots, b)``."""
    _warn_once("lu_solve", (
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solveand will be removed in a future PyTorch "
        "release.\nNote that torch.linalg.lu_solve has its arguments reversed.\nX = torch.lu_solve(B, LU, pivots)\n"
        "should be replaced with\nX = torch.linalg.lu_solve(LU, pivots, B) (Triggered internally at "
        "/__w/pytorch/pytorch/aten/src/ATen/native/BatchLinearAlgebra.cpp:2230.)"))
    return linalg_lu_solve(LU_data, LU_pivots, input)


# -- randomised low-rank SVD and PCA (torch/_lowrank.py) ------------------------------------------


def _float_dtype(A: Tensor) -> D.dtype:  # noqa: N803
    return A.dtype if A.dtype.is_floating_point else D.float32


def _approximate_basis(A: Tensor, q: int, niter: int | None, M: Tensor | None) -> Tensor:  # noqa: N803
    """Halko et al.'s Algorithm 4.4: Q with q orthonormal columns, ``Q Q^T (A - M) ~ A - M``."""
    niter = 2 if niter is None else niter
    R = randn(A.shape[-1], q, dtype=_float_dtype(A), device=A.device)  # noqa: N806
    X = A @ R  # noqa: N806
    if M is not None:
        X = X - M @ R  # noqa: N806
    Q = linalg_qr(X).Q  # noqa: N806
    for _ in range(niter):
        X = A.mT @ Q  # noqa: N806
        if M is not None:
            X = X - M.mT @ Q  # noqa: N806
        Q = linalg_qr(X).Q  # noqa: N806
        X = A @ Q  # noqa: N806
        if M is not None:
            X = X - M @ Q  # noqa: N806
        Q = linalg_qr(X).Q  # noqa: N806
    return Q


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None) -> tuple:  # noqa: N803
    """``torch.svd_lowrank``: ``(U, S, V)`` with ``A - M ~ U diag(S) V^T`` (Halko et al.'s Algorithm
    5.1, PyTorch's code); the random matrix comes from srcgrad's generator, so the values differ
    from PyTorch's draw, not the quality of the approximation (exact where q reaches the rank)."""
    q = 6 if q is None else q
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)  # noqa: N806
    if m < n:
        A = A.mT  # noqa: N806
        if M is not None:
            M = M.mT  # noqa: N806
    Q = _approximate_basis(A, q, niter, M)  # noqa: N806
    B = Q.mT @ A  # noqa: N806
    if M is not None:
        B = B - Q.mT @ M  # noqa: N806
    U, S, Vh = linalg_svd(B, full_matrices=False)  # noqa: N806
    V = Vh.mT  # noqa: N806
    U = Q @ U  # noqa: N806
    if m < n:
        U, V = V, U  # noqa: N806
    return U, S, V


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:  # noqa: N803
    """``torch.pca_lowrank``: ``svd_lowrank`` of A with its column means subtracted (``center``);
    q defaults to ``min(6, m, n)``."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not (niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return svd_lowrank(A, q, niter=niter, M=None)
    return svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter=niter, M=None)


# -- registration ------------------------------------------------------------------------------

LINALG: dict[str, Any] = {"LinAlgError": LinAlgError, "cholesky_ex": cholesky_ex, "inv_ex": inv_ex,
                          "solve_ex": solve_ex, "vander": linalg_vander, "tensorinv": tensorinv,
                          "tensorsolve": tensorsolve, "householder_product": householder_product}
LINALG_OUT = ("cholesky_ex inv_ex solve_ex tensorinv tensorsolve householder_product").split()
TOP_LEVEL: dict[str, Any] = {"cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse,
                             "triangular_solve": triangular_solve, "lu": lu, "lu_solve": lu_solve,
                             "orgqr": householder_product, "svd_lowrank": svd_lowrank, "pca_lowrank": pca_lowrank}
TOP_LEVEL_OUT = ("cholesky_solve cholesky_inverse triangular_solve lu lu_solve orgqr").split()  # (lu: 2 or 3)


def _method(fn: Any) -> Any:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


METHODS: dict[str, Any] = {"cholesky_solve": _method(cholesky_solve), "cholesky_inverse": _method(cholesky_inverse),
                           "triangular_solve": _method(triangular_solve), "lu": _tensor_lu,
                           "lu_solve": _method(lu_solve), "orgqr": _method(householder_product)}


def register() -> None:
    """Put the functions on ``srcgrad.linalg``, ``srcgrad`` and ``srcgrad.Tensor`` (those with
    PyTorch's ``out=`` wrapped by ``srcgrad._with_out``); nothing that exists is replaced."""
    pkg = sys.modules[_PKG]
    linalg = sys.modules[_PKG + ".linalg"]
    with_out = pkg._with_out
    for name, fn in LINALG.items():
        if not hasattr(linalg, name):
            setattr(linalg, name, with_out(f"linalg_{name}", fn) if name in LINALG_OUT else fn)
    for name, fn in TOP_LEVEL.items():
        if not hasattr(pkg, name):
            setattr(pkg, name, with_out(name, fn) if name in TOP_LEVEL_OUT else fn)
    for name, fn in METHODS.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, fn)
