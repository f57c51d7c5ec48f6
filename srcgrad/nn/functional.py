"""``srcgrad.nn.functional``: activations, losses (numerically stable), layers' functional forms and
convolutions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import tensor as T
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor, record


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return x.softplus(beta, threshold)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``; the gradient is zero at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return x._inplace("hardtanh", attrs=(min_val, max_val))
    return record("hardtanh", (x,), (min_val, max_val))


def hardtanh_(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(x, min_val, max_val, inplace=True)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")
    return record("gelu", (x,), (approximate == "tanh",))


def silu(x: Tensor) -> Tensor:
    return x * x.sigmoid()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return T.where(x > 0, x, x * negative_slope)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return T.where(x > 0, x, alpha * x.expm1())


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return x.softmax(_softmax_dim(x.dim()) if dim is None else dim, dtype)


def log_softmax(x: Tensor, dim: int | None = None, dtype: Any = None) -> Tensor:
    return x.log_softmax(_softmax_dim(x.dim()) if dim is None else dim, dtype)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        import warnings
        warnings.warn(f"Using a target size ({target.shape!r}) that is different to the input size "
                      f"({input.shape!r}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=3)


def _named_reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    """``_reduce`` whose last node carries PyTorch's grad_fn name for the whole loss (``name`` op aliases)."""
    if reduction == "mean":
        return record(name + "_mean", (loss,), (tuple(range(loss.dim())), False))
    if reduction == "sum":
        return record(name + "_sum", (loss,), (tuple(range(loss.dim())), False))
    return _reduce(loss, reduction)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape("mse_loss", input, target)
    _check_reduction(reduction)
    d = input - target
    if reduction == "none":
        return record("mse_loss", (d, d))
    return _named_reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _type_name(dt: Any) -> str:
    """PyTorch's ScalarType name of a dtype ("Long", "Int", "Float", ...)."""
    return _TYPE_NAMES.get(dt.name, dt.name.title())


def _host_value(t: Tensor) -> Any:
    """``t``'s value as a NumPy array when it is already computed and lives in host memory, else None.

    Never computes a pending tensor (that would force a program per loss call), and skips
    accelerator arrays (reading one back would synchronise)."""
    value = t._node.value
    if value is None or t.device.type != "cpu":
        return None
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001 - a traced or otherwise abstract value: no check
        return None


def _check_class_targets(target: Tensor, classes: int, ignore_index: int) -> None:
    """PyTorch's ``Target k is out of bounds.`` when the class indices are already known."""
    a = _host_value(target)
    if a is None or a.size == 0:
        return
    if a.min() >= 0 and a.max() < classes:
        return
    bad = a[((a < 0) | (a >= classes)) & (a != ignore_index)]
    if bad.size:
        raise IndexError(f"Target {int(bad.flat[0])} is out of bounds.")


def _check_nll(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> None:
    """PyTorch's argument checks of ``nll_loss`` in PyTorch's order, types and messages."""
    nd = input.dim()
    if nd < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {nd})")
    if nd != 1 and (target.shape[0] if target.dim() else 0) != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0] if target.dim() else 0}).")
    if nd == 1 and target.dim() == 1 and target.shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
    classes = input.shape[0 if nd == 1 else 1]

    def check_dtype() -> None:
        if target.dtype.name not in ("int64", "uint8"):
            raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_name(target.dtype)}")

    if nd <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        check_dtype()
        if weight is not None and (weight.dim() != 1 or weight.shape[0] != classes):
            raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but "
                               f"got weight tensor of shape: {list(weight.shape)}")
    else:
        if nd == 4:
            if target.dim() != 3:
                raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                                   f"dimension: {target.dim()}")
            check_dtype()
            if target.shape != (input.shape[0],) + input.shape[2:]:
                raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
        else:
            if target.shape[1:] != input.shape[2:]:
                raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got "
                                   f"{list(target.shape)}")
            check_dtype()
        if weight is not None and weight.numel() != classes:
            raise RuntimeError("weight tensor should be defined either for all or no classes")
    _check_class_targets(target, classes, ignore_index)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices ``target`` (int64 or uint8) given log-probabilities
    ``input`` of shape (C,), (N, C) or (N, C, d1, ...)."""
    _check_reduction(reduction)
    _check_nll(input, target, weight, ignore_index)
    return _nll(input, target, weight, ignore_index, reduction)


def _nll(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int, reduction: str) -> Tensor:
    """One ``nll_loss`` op over class dim 1 (an unbatched input as a batch of one)."""
    if target.dtype.name == "uint8":
        target = target.long()
    if weight is not None:
        if weight.requires_grad and is_grad_enabled():
            raise RuntimeError("The function 'nll_loss_forward' is not differentiable with respect to argument "
                               "'weight'. This input cannot have requires_grad True.")
        weight = weight.reshape(-1) if weight.dim() != 1 else weight
    unbatched = input.dim() == 1
    if unbatched:
        input, target = input.unsqueeze(0), target.reshape(1)
    nd = input.dim()
    # PyTorch computes inputs of 3 or more dims as 4-d images (NllLoss2dBackward0), through views
    loss = record("nll_loss" if nd < 3 else "nll_loss2d",
                  (input, target) if weight is None else (input, target, weight), (ignore_index, reduction))
    if reduction == "none" and unbatched:
        return record("nll_loss_squeeze", (loss,), ((),))
    if reduction == "none" and nd > 2 and nd != 4:
        return record("view", (loss,), (tuple(loss.shape),))
    return loss


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Log-softmax over the class dim (1, or 0 for unbatched input) followed by ``nll_loss``;
    ``target`` holds class indices, or class probabilities when it has the input's shape (as PyTorch
    decides)."""
    _check_reduction(reduction)
    if label_smoothing > 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 1 if input.dim() > 1 else 0
    probabilities = input.dim() >= 1 and target.shape == input.shape
    if probabilities:
        classes = input.shape[class_dim]
        if not target.dtype.is_floating_point:
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{_type_name(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        if weight is not None and (weight.dim() != 1 or weight.shape[0] != classes):
            raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all {classes} classes "
                               f"or no classes but got weight tensor of shape: {list(weight.shape)}")
        logp = log_softmax(input, class_dim)
        if label_smoothing > 0.0:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape((classes,) + (1,) * (input.dim() - class_dim - 1))
        if reduction == "mean":
            return -prod.sum() / max(input.numel() // classes, 1)
        return _reduce(-prod.sum(class_dim), reduction)
    _check_nll(input, target, weight, ignore_index)
    logp = log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    if target.dtype.name == "uint8":
        target = target.long()
    if weight is not None and weight.dim() != 1:
        weight = weight.reshape(-1)
    nll = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    lp = logp if logp.dim() > 1 else logp.unsqueeze(0)
    tg = target if target.dim() > 0 else target.unsqueeze(0)
    valid = (tg != ignore_index).to(input.dtype)
    if weight is None:
        smooth = -lp.sum(1) * valid
    else:
        smooth = -(lp * weight.reshape((classes,) + (1,) * (lp.dim() - 2))).sum(1) * valid
    if reduction == "mean":
        denom = valid.sum() if weight is None else (weight[T.where(tg != ignore_index, tg, 0)] * valid).sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth if input.dim() > 1 else smooth.squeeze(0), reduction)
    return (1 - label_smoothing) * nll + label_smoothing / classes * smooth


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _bce_same_shape(input: Tensor, target: Tensor, logits: bool) -> None:
    """PyTorch refuses (rather than broadcasts) a BCE target whose shape differs from the input's."""
    if target.shape == input.shape:
        return
    if logits:
        raise ValueError(f"Target size ({target.shape!r}) must be the same as input size ({input.shape!r})")
    raise ValueError(f"Using a target size ({target.shape!r}) that is different to the input size "
                     f"({input.shape!r}) is deprecated. Please ensure they have the same size.")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    _check_reduction(reduction)
    _bce_same_shape(input, target, logits=True)
    # log(1 + exp(-|x|)) form: stable for large |x|
    log_sig = -(-input).softplus()
    log_one_minus = -input.softplus()
    if pos_weight is not None:
        loss = -(pos_weight * target * log_sig + (1 - target) * log_one_minus)
    else:
        loss = -(target * log_sig + (1 - target) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# PyTorch's BCE backward: grad * (x - y) / max((1 - x) * x, _BCE_EPS)
_BCE_EPS = 1e-12


def _bce_value(x: Tensor, target: Tensor) -> Tensor:
    """PyTorch's forward: both log terms clamped at -100."""
    return -(target * x.log().clamp(min=-100) + (1 - target) * (-x).log1p().clamp(min=-100))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities, with PyTorch's values and gradients.

    Where ``x * (1 - x) >= 1e-12`` (everywhere but ``x`` within 1e-12 of 0, or exactly 1, in
    float32) the loss is the plain expression and its derivative ``(x - y) / (x * (1 - x))`` is
    PyTorch's. Elsewhere (``x`` exactly 0 or 1 included, where the plain expression's derivative is
    NaN) the value is PyTorch's clamped one and the derivative is PyTorch's
    ``(x - y) / 1e-12``, written as ``value(x.detach()) + (x - x.detach()) * c`` (exactly the value;
    gradient ``c``). A ``where`` selects between the two, and the plain branch reads ``x`` through
    ``where(safe, x, 0.5)`` so that its masked-out NaN derivatives never reach ``x``.
    """
    _check_reduction(reduction)
    _bce_same_shape(input, target, logits=False)
    a = _host_value(input)  # probabilities already known: refuse values outside [0, 1] (and NaN) as PyTorch
    if a is not None and a.size and not (a.min() >= 0 and a.max() <= 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if not (input.requires_grad and is_grad_enabled()):
        loss = _bce_value(input, target)
    else:
        xd = input.detach()
        safe = xd * (1 - xd) >= _BCE_EPS
        plain = _bce_value(T.where(safe, input, 0.5), target)
        edge = _bce_value(xd, target) + (input - xd) * ((xd - target.detach()) / _BCE_EPS)
        loss = T.where(safe, plain, edge)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` as one op (its grad_fn named as PyTorch names it)."""
    has_bias = bias is not None
    nd = x.dim()
    op = ("linear" if has_bias else "linear_mm") if nd == 2 else \
        ("linear_view" if has_bias else "linear_squeeze" if nd == 1 else "linear_unsafe_view")
    args = (x, weight, bias) if has_bias else (x, weight)
    precision = "highest" if T.get_float32_matmul_precision() == "highest" else "default"
    return record(op, args, (precision, has_bias))


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = (T.rand(x.shape, dtype=x.dtype, device=x.device) >= p).to(x.dtype)
    return x * keep / (1 - p)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    n = int(tensor.max().item()) + 1 if num_classes < 0 else num_classes
    a = _host_value(tensor)  # classes already known: refuse those out of range, as PyTorch does
    if a is not None and a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= n:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == T.arange(n, device=tensor.device)).long()


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    return x / x.norm(p, dim, keepdim=True).clamp(min=eps)


def layer_norm(x: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    dims = tuple(range(x.dim() - len(shape), x.dim()))
    mean = x.mean(dims, keepdim=True)
    centred = x - mean
    var = (centred * centred).mean(dims, keepdim=True)
    out = centred * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the ``padding_idx`` row gets no gradient."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported by srcgrad")
    if input.dtype.category != 1:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.dtype} instead (while checking arguments for embedding)")
    a = _host_value(input)  # indices already known: refuse negative / too large ones as PyTorch does
    if a is not None and a.size and (a.min() < 0 or a.max() >= weight.shape[0]):
        raise IndexError("index out of range in self")
    out = weight[input]
    if padding_idx is not None and weight.requires_grad:
        if padding_idx < 0:
            padding_idx += weight.shape[0]
        keep = (input != padding_idx).unsqueeze(-1)
        out = T.where(keep, out, weight.detach()[input])
    return out


def logsigmoid(x: Tensor) -> Tensor:
    return -(-x).softplus()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    num = (x1 * x2).sum(dim)
    return num / (x1.norm(dim=dim) * x2.norm(dim=dim)).clamp(min=eps)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False,
                                 scale: float | None = None) -> Tensor:
    s = (1.0 / math.sqrt(q.shape[-1])) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * s
    if is_causal:
        n, m = q.shape[-2], k.shape[-2]
        causal = T.arange(n).unsqueeze(1) >= T.arange(m)
        scores = scores.masked_fill(~causal, -math.inf)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, -math.inf) if attn_mask.dtype.name == "bool" else scores + attn_mask
    return dropout(scores.softmax(-1), dropout_p, dropout_p > 0) @ v


# ---------------------------------------------------------------------------
# convolution (the primitive lives in srcgrad/conv.py)


def _tuple(v: Any, n: int, name: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                               f"the convolution dimensions, but got {name}={list(v)}")
        return tuple(int(e) for e in v)
    return (int(v),) * n


def conv_padding(padding: Any, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """PyTorch's ``padding`` argument (int, tuple, 'valid' or 'same') as (lo, hi) pairs."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"Invalid padding string {padding!r}, should be one of ('valid', 'same')")
    return tuple((p, p) for p in _tuple(padding, n, "padding"))


def _conv(name: str, nsp: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    from ..conv import conv_general_dilated
    if input.dim() not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.dim() != nsp + 2:
        raise RuntimeError(f"{name}: expected a {nsp + 2}-D weight, got weight of size {list(weight.shape)}")
    unbatched = input.dim() == nsp + 1
    x = input.unsqueeze(0) if unbatched else input
    stride = _tuple(stride, nsp, "stride")
    dilation = _tuple(dilation, nsp, "dilation")
    kernel = tuple(weight.shape[2:])
    pads = conv_padding(padding, kernel, stride, dilation)
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {weight.shape[1] * groups} channels, but got "
                           f"{x.shape[1]} channels instead")
    padded = tuple(x.shape[2 + i] + pads[i][0] + pads[i][1] for i in range(nsp))
    window = tuple(dilation[i] * (kernel[i] - 1) + 1 for i in range(nsp))
    if any(p < w for p, w in zip(padded, window)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, window))}). Kernel size can't be greater than actual "
                           "input size")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    out = conv_general_dilated(x, weight, stride, pads, None, dilation, None, groups, 1, bias)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch) over (N, C, L) or (C, L) input."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution over (N, C, H, W) or (C, H, W) input."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D convolution over (N, C, D, H, W) or (C, D, H, W) input."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)
