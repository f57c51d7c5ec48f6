"""Functions PyTorch also exposes at the top level (``torch.conv2d``, ``torch.hann_window``,
``torch.sinh_`` ...) whose work srcgrad does elsewhere.

Most are ``torch.nn.functional``'s functions under ATen's names and signatures, which differ from
``F``'s in places: a loss's ``reduction`` is an int (0 none, 1 mean, 2 sum), ``torch.embedding``
takes the weight first, ``torch.batch_norm`` lists its arguments in another order. The rest are the
signal windows, the in-place forms of methods (``torch.acos_(t)`` is ``t.acos_()``), the ``*_copy``
forms of views, and the real-tensor answers of PyTorch's complex-number API (srcgrad has no complex
dtypes: ``conj`` of a real tensor is itself, ``is_conj`` is False). ``srcgrad/__init__.py`` binds the
names this module exports that srcgrad does not already have.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import dtypes as D
from . import ir
from .nn import functional as F
from .tensor import Tensor, arange, cat, ones, tensor

_REDUCTIONS = ("none", "mean", "sum")


def _reduction(reduction: int) -> str:
    """ATen's reduction enum as ``torch.nn.functional``'s string. (Called as ``torch.<loss>``, PyTorch's
    losses default to 0, "none", whatever their schemas say: so do these.)"""
    return _REDUCTIONS[reduction]


# -- neural-network functions under ATen's names --------------------------------------------

conv1d, conv2d, conv3d = F.conv1d, F.conv2d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d
cosine_similarity, pairwise_distance, pdist = F.cosine_similarity, F.pairwise_distance, F.pdist
pixel_shuffle, pixel_unshuffle, channel_shuffle, native_channel_shuffle = (F.pixel_shuffle, F.pixel_unshuffle,
                                                                          F.channel_shuffle, F.channel_shuffle)
prelu, hardshrink, bilinear, rms_norm = F.prelu, F.hardshrink, F.bilinear, F.rms_norm
max_pool1d, max_pool2d, max_pool3d, avg_pool1d = F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d
adaptive_avg_pool1d = F.adaptive_avg_pool1d
celu_, selu_, threshold_ = F.celu_, F.selu_, F.threshold_


def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Any = None) -> Tensor:
    return F.rrelu(input, lower, upper, training)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
           generator: Any = None) -> Tensor:
    return F.rrelu(input, lower, upper, training, inplace=True)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple:
    """ATen's form: always ``(output, indices)``."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False) -> tuple:
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode, return_indices=True)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5, cudnn_enable: bool = True) -> Tensor:
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5, cudnn_enabled: bool = True) -> Tensor:
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                  running_var: Tensor | None, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """ATen's argument order (the weight first); ``padding_idx=-1`` is "none"."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    return F.kl_div(input, target, reduction=_reduction(reduction), log_target=log_target)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 0) -> Tensor:
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: int = 0) -> Tensor:
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=_reduction(reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: int = 0) -> Tensor:
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction(reduction),
                      zero_infinity)


def constant_pad_nd(input: Tensor, pad: Any, value: float = 0) -> Tensor:
    return F.pad(input, pad, "constant", value)


# -- signal windows (PyTorch's formulas, computed in the window's dtype as its kernels do) --------


# (the C++ names PyTorch's message gives the integer dtypes)
_C_TYPE_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                 "uint8": "unsigned char"}


def _window(name: str, window_length: int, periodic: bool, dtype: Any, device: Any, requires_grad: bool,
            formula: Callable[[Tensor, int], Tensor]) -> Tensor:
    """A window of ``window_length``: ``formula(arange(n), n)`` with n one more where ``periodic`` (the
    last value then dropped); [] and [1] for lengths 0 and 1; a new leaf."""
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    dt = D.get_default_dtype() if dtype is None else dtype
    if dt.category != 2:
        c_name = _C_TYPE_NAMES.get(dt.name, dt.name)
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype={c_name}, device=cpu, "
                           "layout=Strided (default), requires_grad=false (default), pinned_memory=false, "
                           "memory_format=(nullopt))")
    if window_length <= 1:
        return ones(window_length, dtype=dt, device=device).requires_grad_(requires_grad)
    n = window_length + 1 if periodic else window_length
    w = formula(arange(n, dtype=dt, device=device), n)
    return (w[:-1] if periodic else w).detach().requires_grad_(requires_grad)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi i / (n - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, n: (i * (2 * math.pi / (n - 1))).cos() * -beta + alpha)


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi i / (n - 1))`` (PyTorch's hamming window with alpha = beta = 0.5)."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   lambda i, n: (i * (2 * math.pi / (n - 1))).cos() * -0.5 + 0.5)


def _blackman(i: Tensor, n: int) -> Tensor:
    w = i * (math.pi / (n - 1))
    return (w * 4).cos() * 0.08 - (w * 2).cos() * 0.5 + 0.42


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi i / (n - 1)) + 0.08 cos(4 pi i / (n - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad, _blackman)


def _bartlett(i: Tensor, n: int) -> Tensor:
    w = i * (2.0 / (n - 1))
    half = ((n - 1) >> 1) + 1
    return cat([w[:half], 2 - w[half:]])


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangle ``1 - |2 i / (n - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad, _bartlett)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - ((i - a) / a)^2)) / I0(beta)``, ``a = (n - 1) / 2``."""
    from .special import i0

    def formula(i: Tensor, n: int) -> Tensor:
        a = (n - 1) / 2.0
        ratio = (i - a) / a
        return i0((1 - ratio * ratio).clamp(min=0).sqrt() * beta) / i0(tensor(beta, dtype=i.dtype, device=i.device))

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad, formula)


# -- real tensors under PyTorch's complex-number API ------------------------------------------


def is_conj(input: Tensor) -> bool:
    return False


def is_neg(input: Tensor) -> bool:
    return False


def conj(input: Tensor) -> Tensor:
    """The conjugate of a real tensor: the tensor itself (as PyTorch's)."""
    return input


def resolve_conj(input: Tensor) -> Tensor:
    return input


def resolve_neg(input: Tensor) -> Tensor:
    return input


def conj_physical(input: Tensor) -> Tensor:
    return input.clone() if input.requires_grad else input * 1


def real(input: Tensor) -> Tensor:
    return input


def imag(input: Tensor) -> Tensor:
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


# -- other small ones ------------------------------------------------------------------------


def fill(input: Tensor, value: Any) -> Tensor:
    """A new tensor like ``input`` holding ``value`` (``torch.fill``: out of place)."""
    return input.clone().fill_(value)


def get_device(input: Tensor) -> int:
    return input.get_device()


def is_inference(input: Tensor) -> bool:
    return input.is_inference()


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    ir.warn_at_user("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be removed "
                    "in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` instead")
    return input.norm("fro", dim, keepdim)


def nuclear_norm(input: Tensor, dim: Any = (-2, -1), keepdim: bool = False) -> Tensor:
    """The sum of the singular values of the matrices over ``dim``."""
    ir.warn_at_user("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed in "
                    "a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead")
    if isinstance(dim, bool):  # (torch.nuclear_norm(input, keepdim))
        dim, keepdim = (-2, -1), dim
    from .tensor import linalg_svdvals
    x = input.movedim(tuple(dim), (-2, -1))
    out = linalg_svdvals(x).sum(-1)
    if keepdim:
        for d in sorted(d % input.dim() for d in dim):
            out = out.unsqueeze(d)
    return out


def set_default_tensor_type(t: Any) -> None:
    """The deprecated ``torch.set_default_tensor_type(torch.DoubleTensor)`` (or its name): the default
    dtype, with PyTorch's warning."""
    from .type_info import legacy_type_dtype
    ir.warn_at_user("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                    "torch.set_default_dtype() and torch.set_default_device() as alternatives.")
    dt = legacy_type_dtype(t)
    if dt is None or dt.category != 2:
        raise TypeError("only floating-point types are supported as the default type")
    D.set_default_dtype(dt)


_WARN_ALWAYS = [False]


def set_warn_always(b: bool) -> None:
    """PyTorch's switch for warnings it gives once; srcgrad's once-a-process warnings do not read it."""
    _WARN_ALWAYS[0] = bool(b)


def is_warn_always_enabled() -> bool:
    return _WARN_ALWAYS[0]


def is_storage(obj: Any) -> bool:
    return False


def typename(obj: Any) -> str:
    """``torch.typename``: ``'torch.FloatTensor'`` for a float32 tensor, a qualified class name otherwise."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    if not hasattr(obj, "__qualname__"):
        module = type(obj).__module__
    return name if module in ("", "builtins") else f"{module}.{name}"


def _copy_of(view: str) -> Any:
    """``torch.<view>_copy``: the view's values in a new tensor."""
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        out = getattr(input, view)(*args, **kwargs)
        return tuple(o.clone() for o in out) if isinstance(out, tuple) else out.clone()

    fn.__name__ = fn.__qualname__ = view + "_copy"
    fn.__doc__ = f"``torch.{view}_copy``: ``input.{view}(...)`` as a new tensor (not a view)."
    return fn


_VIEWS = ("detach diagonal expand permute select split split_with_sizes squeeze t transpose unbind unfold unsqueeze "
          "view").split()
_COPIES = {f"{v}_copy": _copy_of(v) for v in _VIEWS}
globals().update(_COPIES)


def alias_copy(input: Tensor) -> Tensor:
    return input.clone()


def slice_copy(input: Tensor, dim: int = 0, start: int | None = None, end: int | None = None,
               step: int = 1) -> Tensor:
    index = [slice(None)] * input.dim()
    index[dim] = slice(start, end, step)
    return input[tuple(index)].clone()


# The in-place forms of methods: torch.acos_(t) is t.acos_()
_INPLACE = ("acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_ atan_ atanh_ "
            "cosh_ deg2rad_ detach_ erfc_ exp2_ fill_ fix_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log2_ "
            "logit_ negative_ rad2deg_ sinc_ sinh_ tan_ xlogy_ zero_").split()


def _inplace_function(name: str) -> Any:
    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


globals().update({name: _inplace_function(name) for name in _INPLACE})

__all__ = sorted(
    {"conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "cosine_similarity",
     "pairwise_distance", "pdist", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
     "prelu", "hardshrink", "bilinear", "rms_norm", "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d",
     "adaptive_avg_pool1d", "adaptive_max_pool1d", "max_pool1d_with_indices", "celu", "celu_", "selu", "selu_",
     "threshold", "threshold_", "rrelu", "rrelu_", "layer_norm", "group_norm", "batch_norm", "instance_norm",
     "embedding", "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
     "triplet_margin_loss", "poisson_nll_loss", "binary_cross_entropy_with_logits", "ctc_loss", "constant_pad_nd",
     "hamming_window", "hann_window", "blackman_window", "bartlett_window", "kaiser_window", "is_conj", "is_neg",
     "conj", "resolve_conj", "resolve_neg", "conj_physical", "real", "imag", "fill", "get_device", "is_inference",
     "frobenius_norm", "nuclear_norm", "set_default_tensor_type", "set_warn_always", "is_warn_always_enabled", "is_storage", "typename",
     "alias_copy", "slice_copy"} | set(_COPIES) | set(_INPLACE))


# -- Tensor methods of the same names (bound where Tensor has none) --------------------------

def _share_memory_(self: Tensor) -> Tensor:
    """PyTorch moves the storage to shared memory for worker processes; a JAX buffer is the process's own."""
    return self


def _bind_methods() -> None:
    from .composite import corrcoef, cov
    methods = {"conj": conj, "conj_physical": conj_physical, "resolve_conj": resolve_conj, "resolve_neg": resolve_neg,
               "is_conj": is_conj, "is_neg": is_neg, "hardshrink": hardshrink, "prelu": prelu, "cov": cov,
               "corrcoef": corrcoef, "share_memory_": _share_memory_, "is_shared": lambda self: False}
    for name, fn in methods.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, fn)
    if not hasattr(Tensor, "swapaxes_") and hasattr(Tensor, "transpose_"):
        Tensor.swapaxes_ = Tensor.transpose_
    for name, fn in (("real", real), ("imag", imag)):
        if not hasattr(Tensor, name):
            setattr(Tensor, name, property(fn))


_bind_methods()
