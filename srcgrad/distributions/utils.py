"""Helpers shared by the distributions: broadcasting parameters, probabilities and
logits, dtype limits, lazily computed parameters and value checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import update_wrapper
from typing import Any

from .. import tracing
from ..dtypes import get_default_dtype
from ..grad_mode import enable_grad
from ..tensor import Size, Tensor, tensor
from ..tensor import randn as _randn

__all__ = ["broadcast_all", "expand_params", "expand_probs_or_logits", "logits_to_probs", "clamp_probs",
           "probs_to_logits", "lazy_property", "euler_constant", "finfo", "tril_matrix_to_vec", "vec_to_tril_matrix"]

euler_constant = 0.5772156649015329  # Euler-Mascheroni constant

# (eps, tiny) per floating dtype: srcgrad has no ``torch.finfo``, and these are its two fields used here
_FINFO = {
    "float16": (0.0009765625, 6.103515625e-05, 65504.0),
    "bfloat16": (0.0078125, 1.1754943508222875e-38, 3.3895313892515355e+38),
    "float32": (1.1920928955078125e-07, 1.1754943508222875e-38, 3.4028234663852886e+38),
    "float64": (2.220446049250313e-16, 2.2250738585072014e-308, 1.7976931348623157e+308),
}


class finfo:  # noqa: N801  (PyTorch's lower-case name)
    """``torch.finfo(dtype)``'s ``eps``, ``tiny``, ``max`` and ``min`` for a floating dtype."""

    def __init__(self, dtype: Any) -> None:
        self.eps, self.tiny, self.max = _FINFO.get(getattr(dtype, "name", str(dtype)), _FINFO["float32"])
        self.min = -self.max


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float))


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Tensors and numbers broadcast together; numbers take the first tensor's dtype
    (or the default dtype when there is none), as PyTorch's ``broadcast_all``."""
    from ..composite import broadcast_tensors
    if not all(isinstance(v, Tensor) or _is_number(v) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or objects "
                         "implementing __torch_function__.")
    if not all(isinstance(v, Tensor) for v in values):
        like = next((v for v in values if isinstance(v, Tensor)), None)
        dtype = like.dtype if like is not None else get_default_dtype()
        values = tuple(v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype) for v in values)
    return tuple(broadcast_tensors(*values))


def as_size(shape: Any) -> Size:
    return shape if isinstance(shape, Size) else Size(tuple(shape))


def standard_normal(shape: Sequence[int], dtype: Any, device: Any) -> Tensor:
    """N(0, 1) draws from srcgrad's default generator."""
    return _randn(*shape, dtype=dtype, device=device)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum out the ``dim`` rightmost dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:-dim]) + (-1,)).sum(-1)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return ps_clamped.log() - (-ps_clamped).log1p()
    return ps_clamped.log()


def all_true(valid: Tensor) -> bool:
    """Whether every element of a check holds. While ``@srcgrad.compile`` or ``vmap`` traces,
    values are not on the host (reading one would make the step run define-by-run), so the
    check is skipped and counts as passed."""
    if tracing.ACTIVE is not None:
        return True
    return bool(valid.all())


class lazy_property:  # noqa: N801  (PyTorch's name)
    """A property computed on first access and then stored on the instance (``probs``
    from ``logits`` and the other way round), computed with grad enabled as PyTorch does."""

    def __init__(self, wrapped: Callable[[Any], Any]) -> None:
        self.wrapped = wrapped
        update_wrapper(self, wrapped)  # type: ignore[arg-type]

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        with enable_grad():
            value = self.wrapped(instance)
        setattr(instance, self.wrapped.__name__, value)
        return value


def expand_params(self: Any, cls: type, batch_shape: Any, names: Sequence[str], _instance: Any = None) -> Any:
    """``Distribution.expand`` for a distribution whose parameters ``names`` all have its batch shape:
    a new instance (of ``type(self)``) with each parameter expanded, not validated again."""
    new = self._get_checked_instance(cls, _instance)
    batch_shape = as_size(batch_shape)
    for name in names:
        setattr(new, name, getattr(self, name).expand(batch_shape))
    super(cls, new).__init__(batch_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


def expand_probs_or_logits(self: Any, new: Any, shape: Any) -> Tensor | None:
    """For ``expand``: set on ``new`` whichever of ``probs`` and ``logits`` ``self`` holds (the one
    given, and the other too once it has been computed), expanded to ``shape``. Returns the last
    one set, ``logits`` when both are: what PyTorch's ``expand`` keeps as ``_param``."""
    param = None
    for name in ("probs", "logits"):
        if name in self.__dict__:
            param = getattr(self, name).expand(shape)
            setattr(new, name, param)
    return param


def batch_shape_of(param: Tensor, *raw: Any) -> Size:
    """``Size()`` when every raw argument was a Python number, else the parameter's shape."""
    return Size() if all(_is_number(r) for r in raw) else as_size(param.shape)


def uniform_open(shape: Sequence[int], like: Tensor) -> Tensor:
    """U(0, 1) draws in ``like``'s dtype with 0 excluded (clamped to the dtype's ``tiny``), so
    their logarithm is finite."""
    from ..tensor import rand
    u = rand(*shape, dtype=like.dtype, device=like.device)
    return u.clamp(min=finfo(like.dtype).tiny)


def _tril_positions(n: int, diag: int) -> list[int]:
    """Flat (row-major) positions in an n x n matrix of the entries with ``col < row + diag + 1``."""
    return [i * n + j for i in range(n) for j in range(n) if j < i + diag + 1]


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The lower-triangular entries (below diagonal ``diag``) of a (batch of) D x D matrix, in row order."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    index = tensor(_tril_positions(n, diag), device=mat.device)
    return mat.reshape(tuple(mat.shape[:-2]) + (n * n,)).index_select(-1, index)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The inverse of ``tril_matrix_to_vec``: a (batch of) lower-triangular matrix, zeros elsewhere.
    Built with a gather from the vector padded by one zero, so it is differentiable."""
    from ..tensor import cat, zeros
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    eps = finfo(vec.dtype).eps
    if round(n) - n > eps:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    where_in_vec = [m] * (n * n)
    for k, pos in enumerate(_tril_positions(n, diag)):
        where_in_vec[pos] = k
    padded = cat([vec, zeros(tuple(vec.shape[:-1]) + (1,), dtype=vec.dtype, device=vec.device)], -1)
    index = tensor(where_in_vec, device=vec.device)
    return padded.index_select(-1, index).reshape(tuple(vec.shape[:-1]) + (n, n))
