"""``srcgrad.nn.functional``: activations, losses (numerically stable), layers' functional forms and
convolutions."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .. import tensor as T
from ..dtypes import bool_ as _bool
from ..dtypes import int64 as _int64
from ..dtypes import result_type
from ..grad_mode import is_grad_enabled, no_grad
from ..ops import broadcast_shapes
from ..tensor import Tensor, record


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)``; ``inplace=True`` overwrites ``input`` (an in-place op autograd sees) and returns it."""
    return input._inplace("relu") if inplace else input.relu()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return input.softplus(beta, threshold)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` clamped to ``[min_val, max_val]``; the gradient is zero at and beyond the bounds."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if inplace:
        return input._inplace("hardtanh", attrs=(min_val, max_val))
    return record("hardtanh", (input,), (min_val, max_val))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")
    return record("gelu", (input,), (approximate == "tanh",))


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * sigmoid(input)`` as one op (``SiluBackward0``)."""
    return input._inplace("silu") if inplace else record("silu", (input,))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``input * negative_slope``, as one op (``LeakyReluBackward0``; the
    in-place form is ``LeakyReluBackward1``, as PyTorch names it)."""
    if inplace:
        return input._inplace("leaky_relu_", attrs=(float(negative_slope),))
    return record("leaky_relu", (input,), (float(negative_slope),))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``input`` where positive, else ``alpha * (exp(input) - 1)``, as one op (``EluBackward0``/``1``)."""
    if inplace:
        return input._inplace("elu_", attrs=(float(alpha),))
    return record("elu", (input,), (float(alpha),))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(input))``, computed stably, as one op (``LogSigmoidBackward0``)."""
    return record("log_sigmoid", (input,))


# More activations, written with the ops above (their gradients are those ops' rules).


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(input, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(input + 3) / 6``."""
    out = (input + 3).clamp(0, 6) / 6
    return input.copy_(out) if inplace else out


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * relu6(input + 3) / 6``."""
    out = input * (input + 3).clamp(0, 6) / 6
    return input.copy_(out) if inplace else out


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``input * tanh(softplus(input))``."""
    out = input * softplus(input).tanh()
    return input.copy_(out) if inplace else out


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(input, alpha)`` with the self-normalising constants."""
    out = elu(input, _SELU_ALPHA) * _SELU_SCALE
    return input.copy_(out) if inplace else out


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    out = input.clamp_min(0) + ((input / alpha).clamp_max(0).exp() - 1) * alpha
    return input.copy_(out) if inplace else out


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The first half of ``dim`` gated by the sigmoid of the second half."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim if dim >= 0 else input.dim() + dim} "
                           f"is size {size}")
    a, b = input.chunk(2, dim)
    return _as_function(record("glu", (a * b.sigmoid(),)), (input,))  # (PyTorch's GluBackward0)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``softmax(-input)``."""
    if dim is None:
        dim = _softmax_dim("softmin", input.dim(), _stacklevel)
    return softmax(-input, dim, dtype=dtype)


def softsign(input: Tensor) -> Tensor:
    """``input / (1 + |input|)``."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``input - tanh(input)``."""
    return input - input.tanh()


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input -+ lambd`` outside ``[-lambd, lambd]``, 0 inside."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return T.where(input > lambd, input - lambd, T.where(input < -lambd, input + lambd, input * 0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``input`` outside ``[-lambd, lambd]``, 0 inside."""
    return T.where((input > lambd) | (input < -lambd), input, input * 0)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``input`` where it is greater than ``threshold``, else ``value``."""
    out = T.where(input > threshold, input, value)
    return input.copy_(out) if inplace else out


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``max(0, x) + weight * min(0, x)``, ``weight`` one value or one per channel (dim 1)."""
    if weight.numel() != 1:
        if input.dim() < 2 and weight.numel() != (input.shape[0] if input.dim() else 1):
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {input.shape[0] if input.dim() else 1}.")
        channels = input.shape[1] if input.dim() >= 2 else input.shape[0]
        if weight.numel() != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{weight.numel()} and channel size = {channels}.")
    if input.dim() >= 2:  # (as PyTorch's prelu, whose grad_fn's edge is then this view)
        weight = weight.reshape((1, weight.numel()) + (1,) * (input.dim() - 2))
    return _as_function(record("prelu", (T.where(input > 0, input, weight * input),)), (input, weight))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU with a slope drawn from U(lower, upper) per element in training, else their mean."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    slope = T.rand(input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    out = T.where(input >= 0, input, input * slope)
    return input.copy_(out) if inplace else out


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's implicit softmax dim, with its deprecation warning."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as "
                  "an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmax", input.dim(), _stacklevel)
    T.softmax_input_check("softmax", input, dim, dtype)
    if input.dim() == 0:  # a 0-d tensor is one element along dim 0 or -1, as in PyTorch
        _check_scalar_dim(dim)
        return input.reshape(1).softmax(0, dtype).reshape(())
    return input.softmax(dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim(), _stacklevel)
    T.softmax_input_check("log_softmax", input, dim, dtype)
    if input.dim() == 0:
        _check_scalar_dim(dim)
        return input.reshape(1).log_softmax(0, dtype).reshape(())
    return input.log_softmax(dim, dtype)


def _check_scalar_dim(dim: int) -> None:
    if dim not in (0, -1):
        raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got {dim})")


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


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """The reduction a loss applies: the legacy ``size_average``/``reduce`` pair when either is given
    (with PyTorch's deprecation warning), else ``reduction`` (checked)."""
    if size_average is not None or reduce is not None:
        from .modules.loss import _legacy_reduction  # (the loss modules' helper; imported on this rare path)
        return _legacy_reduction(size_average, reduce, stacklevel=4)
    if reduction == "mean" or reduction == "sum" or reduction == "none":
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
                      UserWarning, stacklevel=3)
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _weighted_loss(loss: Tensor, input: Tensor, weight: Tensor, reduction: str) -> Tensor:
    """PyTorch's per-element ``weight`` of ``mse_loss``/``l1_loss``: the mean divides by the weights' sum."""
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _same_shape("mse_loss", input, target)
    if weight is not None:
        if size_average is not None or reduce is not None:
            reduction = _reduction(size_average, reduce, reduction)
        return _weighted_loss((input - target) ** 2, input, weight, reduction)
    reduction = _reduction(size_average, reduce, reduction)
    d = input - target
    if reduction == "none":
        return record("mse_loss", (d, d))
    return _named_reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _same_shape("l1_loss", input, target)
    if weight is not None:
        if size_average is not None or reduce is not None:
            reduction = _reduction(size_average, reduce, reduction)
        return _weighted_loss((input - target).abs(), input, weight, reduction)
    return _reduce((input - target).abs(), _reduction(size_average, reduce, reduction))


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d**2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta`` (``d = input - target``)."""
    _same_shape("smooth_l1_loss", input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:  # (PyTorch computes an l1_loss then)
        return l1_loss(input, target, reduction=reduction)
    return record("smooth_l1_loss", (input, target), (float(beta), reduction))


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)`` (``d = input - target``)."""
    _same_shape("huber_loss", input, target)
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        return _weighted_loss(record("huber_loss", (input, target), (float(delta), "none")), input, weight,
                              reduction)
    return record("huber_loss", (input, target), (float(delta), reduction))


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


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices ``target`` (int64 or uint8) given log-probabilities
    ``input`` of shape (C,), (N, C) or (N, C, d1, ...)."""
    reduction = _reduction(size_average, reduce, reduction)
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
        if input.dtype.is_floating_point and weight.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(weight.dtype)}")
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


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Log-softmax over the class dim (1, or 0 for unbatched input) followed by ``nll_loss``;
    ``target`` holds class indices, or class probabilities when it has the input's shape (as PyTorch
    decides). A ``label_smoothing`` of 0 or less smooths nothing (as PyTorch)."""
    reduction = _reduction(size_average, reduce, reduction)
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
        # PyTorch's: -(logp * target).sum() / (numel / classes) (DivBackward1: NaN for an empty
        # input), -(...).sum() or -(...).sum(class_dim) (NegBackward0)
        if reduction == "mean":
            return record("cross_entropy_div", (-prod.sum(), input.numel() // classes if classes else 0))
        return -prod.sum() if reduction == "sum" else -prod.sum(class_dim)
    _check_nll(input, target, weight, ignore_index)
    logp = log_softmax(input, class_dim)
    classes = input.shape[class_dim]
    if target.dtype.name == "uint8":
        target = target.long()
    if weight is not None and weight.dim() != 1:
        weight = weight.reshape(-1)
    nll = _nll(logp, target, weight, ignore_index, reduction)
    if label_smoothing <= 0.0:
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


def _not_differentiable(name: str, arg: str, t: Tensor | None) -> None:
    if t is not None and t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{name}' is not differentiable with respect to argument '{arg}'. "
                           "This input cannot have requires_grad True.")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy as one op (``BinaryCrossEntropyWithLogitsBackward0``), PyTorch's
    formula ``(1 - t) * x - log_sigmoid(x) * ((pos_weight - 1) * t + 1)``, times ``weight``; the result
    has the target's dtype, as PyTorch's."""
    reduction = _reduction(size_average, reduce, reduction)
    _bce_same_shape(input, target, logits=True)
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    args = (input, target) + ((weight,) if weight is not None else ()) + \
        ((pos_weight,) if pos_weight is not None else ())
    return record("binary_cross_entropy_with_logits", args, (reduction, weight is not None, pos_weight is not None))


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities as one op (``BinaryCrossEntropyBackward0``), with PyTorch's
    values (each log clamped at -100) and gradients (``grad * (x - t) / max(x * (1 - x), 1e-12)``, so
    finite at ``x`` = 0 or 1)."""
    reduction = _reduction(size_average, reduce, reduction)
    _bce_same_shape(input, target, logits=False)
    if target.dtype is not input.dtype:
        raise RuntimeError(f"Found dtype {_type_name(target.dtype)} but expected {_type_name(input.dtype)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"binary_cross_entropy\" not implemented for '{_type_name(input.dtype)}'")
    for t, what in ((input, "input"), (target, "target")):  # values already known: PyTorch's range checks
        a = _host_value(t)
        if a is not None and a.size and not (a.min() >= 0 and a.max() <= 1):
            raise RuntimeError(f"all elements of {what} should be between 0 and 1")
    if weight is None:
        return record("binary_cross_entropy", (input, target), (reduction,))
    _not_differentiable("binary_cross_entropy", "weight", weight)
    if weight.dtype is not input.dtype:  # (PyTorch multiplies the loss by it in place)
        weight = weight.to(input.dtype)
    return record("binary_cross_entropy", (input, target, weight), (reduction,))


def _linear_vector(input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``F.linear`` with a 1-D weight: PyTorch's matrix-vector (or dot) product."""
    if bias is not None:
        raise RuntimeError("mat2 must be a matrix, got 1-D tensor")
    if input.dim() == 1:
        if input.dtype is not weight.dtype:
            raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                               f"{_type_name(input.dtype)} and {_type_name(weight.dtype)}")
        return input.matmul(weight)
    rows = math.prod(input.shape[:-1])
    if input.shape[-1] != weight.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{input.shape[-1]}), "
                           f"vec ({weight.shape[0]})")
    if input.dtype is not weight.dtype:
        w, x = _type_name(weight.dtype), _type_name(input.dtype)
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {w}, {x}, and {w}")
    return input.matmul(weight)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` as one op (its grad_fn named as PyTorch names it)."""
    if not isinstance(input, Tensor):  # (a NumPy array or a list handed to a Linear layer)
        raise TypeError(f"linear(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    has_bias = bias is not None
    nd = input.dim()
    wd = weight.dim()
    if nd == 0 or wd != 2:
        if nd == 0 or wd == 0:
            raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {nd}D and {wd}D")
        if wd == 1:
            return _linear_vector(input, weight, bias)
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {wd}D")
    op = ("linear" if has_bias else "linear_mm") if nd == 2 else \
        ("linear_view" if has_bias else "linear_squeeze" if nd == 1 else "linear_unsafe_view")
    args = (input, weight, bias) if has_bias else (input, weight)
    precision = "highest" if T.get_float32_matmul_precision() == "highest" else "default"
    return record(op, args, (precision, has_bias))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``: ``input * mask``, as
    PyTorch computes it (``MulBackward0``); ``inplace=True`` multiplies ``input`` in place."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    d = input.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type {_type_name(d)}")
    if p == 1:
        mask: Any = 0
    else:
        mask = (T.rand(input.shape, dtype=d, device=input.device) >= p).to(d) / (1 - p)
    return input._inplace("mul", mask) if inplace else input * mask


def _feature_dropout_impl(input: Tensor, p: float, training: bool, inplace: bool, batched: bool = True) -> Tensor:
    """ATen's ``feature_dropout``: one Bernoulli draw per (dim 0, dim 1), broadcast over the other dims;
    ``batched=False`` treats ``input`` as if ``unsqueeze(0)``-ed (one draw per dim 0)."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0 or input.numel() == 0:
        return input
    mask: Any = 0
    if p != 1:  # (ATen multiplies by 0 for p == 1 before it looks at the dims)
        shape = tuple(input.shape) if batched else (1, *input.shape)
        if len(shape) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        d = input.dtype
        mask = (T.rand(shape[:2], dtype=d, device=input.device) >= p).to(d) / (1 - p)
        mask = mask.reshape((shape[:2] if batched else shape[1:2]) + (1,) * (len(shape) - 2))
    return input._inplace("mul", mask) if inplace else input * mask


def _deprecated_dims_warning(name: str, n: int, dims: int) -> None:
    warnings.warn(f"{name}: Received a {n}-D input to {name}, which is deprecated and will result in an error in a "
                  f"future release. To retain the behavior and silence this warning, please use dropout instead. "
                  f"Note that {name} exists to provide channel-wise dropout on inputs with {dims} spatial dimensions, "
                  f"a channel dimension, and an optional batch dimension (i.e. {dims + 1}D or {dims + 2}D inputs).",
                  stacklevel=3)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L) input."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout_impl(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, H, W) input. As in PyTorch, a 3-D input is taken as (N, C, L) (whole
    rows dropped, with PyTorch's warning), and other dims are deprecated (a warning) but work the same
    way: one draw per (dim 0, dim 1)."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    n = input.dim()
    if n not in (3, 4):
        _deprecated_dims_warning("dropout2d", n, 2)
    if n == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
    return _feature_dropout_impl(input, p, training, inplace)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, D, H, W) or (C, D, H, W) input (other dims: PyTorch's deprecation
    warning, and treated as unbatched)."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    n = input.dim()
    if n not in (4, 5):
        _deprecated_dims_warning("dropout3d", n, 3)
    return _feature_dropout_impl(input, p, training, inplace, batched=n == 5)


# torch.dropout, torch.feature_dropout, torch.alpha_dropout, torch.feature_alpha_dropout: the
# functions above under ATen's names and argument order (input, p, train), as srcgrad.<name>.
def _aten_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return dropout(input, p, train)


def _aten_feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels (dim 1) of an input with a batch dim: one draw per (batch, channel)."""
    return _feature_dropout_impl(input, p, train, False)


def _aten_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return alpha_dropout(input, p, train)


def _aten_feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return feature_alpha_dropout(input, p, train)


def one_hot(input: Tensor, num_classes: int = -1) -> Tensor:
    """``input``'s int64 class indices as one-hot int64 vectors (``num_classes=-1``: max + 1)."""
    if input.dtype.name != "int64":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if input.numel() == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        n = int(input.max().item()) + 1
    else:
        n = num_classes
    a = _host_value(input)  # classes already known: refuse those out of range, as PyTorch does
    if a is not None and a.size:
        if a.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if a.max() >= n:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif n < 0 and input.numel():
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (input.unsqueeze(-1) == T.arange(n, device=input.device)).long()


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``); written into ``out`` when given."""
    result = input / input.norm(p, dim, keepdim=True).clamp(min=eps)
    if out is None:
        return result
    return out.copy_(result)


def _check_layer_norm(input: Tensor, shape: tuple, weight: Tensor | None, bias: Tensor | None) -> None:
    """PyTorch's argument checks of ``layer_norm`` (CPU), in its order."""
    dt = input.dtype
    params = [t for t in (weight, bias) if t is not None]
    if params and params[0].dtype is not dt:
        # "mixed" dtypes: only a float16 input with float32 parameters
        if any(t.dtype.name != "float32" for t in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if dt.name not in ("float16", "bfloat16"):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one "
                           "element, but got normalized_shape = []")
    for t, what in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {what} to be of same shape as normalized_shape, but got {what} of shape "
                               f"{list(t.shape)} and normalized_shape = {list(shape)}")
    k = len(shape)
    if input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"LayerNormKernelImpl\" not implemented for '{_type_name(dt)}'")
    if params and params[0].dtype is dt:
        for t in params:
            if t.dtype is not dt:
                raise RuntimeError(f"expected scalar type {_type_name(dt)} but found {_type_name(t.dtype)}")


def layer_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift: one op
    (``NativeLayerNormBackward0``); float16 and bfloat16 input is computed in float32, as PyTorch does on
    the CPU."""
    if not isinstance(normalized_shape, tuple):
        if not isinstance(normalized_shape, (list, T.Size)):
            raise TypeError("layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not "
                            f"{type(normalized_shape).__name__}")
        normalized_shape = tuple(normalized_shape)
    _check_layer_norm(input, normalized_shape, weight, bias)
    args = (input,) + ((weight,) if weight is not None else ()) + ((bias,) if bias is not None else ())
    upcast = input.dtype if input.dtype.name in ("float16", "bfloat16") else None
    return record("layer_norm", args, (len(normalized_shape), float(eps), weight is not None, bias is not None,
                                       upcast))


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise each group of ``C / num_groups`` channels over its channels and spatial positions,
    then scale and shift per channel."""
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    n, c = input.shape[0], input.shape[1]
    size = [n * c // num_groups, num_groups, *input.shape[2:]]  # (PyTorch's _verify_batch_size)
    if math.prod(size[:1] + size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            # (PyTorch's message about the bias shows the weight's shape, [0] without a weight)
            shown = list(t.shape) if name == "weight" else [0] if weight is None else list(weight.shape)
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {shown} and input of shape {list(input.shape)}")
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    out = ((x - mean) / (var + eps).sqrt()).reshape(input.shape)
    affine = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(affine)
    if bias is not None:
        out = out + bias.reshape(affine)
    return _as_function(record("group_norm", (out,)), (input, weight, bias))


def rms_norm(input: Tensor, normalized_shape: Any, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``input / sqrt(mean(input**2) + eps) * weight`` over the trailing ``normalized_shape`` dims
    (``eps`` None: the dtype's machine epsilon, as PyTorch)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.dim() - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape [*, "
                           f"{', '.join(str(s) for s in shape)}], but got input of size{input.shape}")
    if eps is None:
        eps = float(np.finfo(input.dtype.name).eps)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its spatial positions. With running statistics,
    ``use_input_stats`` updates them in place (unseen by autograd) by the batch's average of the
    instances' mean and unbiased variance, as PyTorch's batch norm over (1, N * C, ...) does; without it
    they normalise."""
    if input.dim() < 3:
        raise ValueError(f"expected at least 3D input (got {input.dim()}D input)")
    dims = tuple(range(2, input.dim()))
    affine = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        out = (input - running_mean.reshape(affine)) / (running_var.reshape(affine) + eps).sqrt()
    else:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, unbiased=False, keepdim=True)
        out = (input - mean) / (var + eps).sqrt()
        if running_mean is not None or running_var is not None:
            count = math.prod(input.shape[2:])
            with no_grad():
                if running_mean is not None:
                    running_mean.copy_(running_mean * (1 - momentum) + mean.detach().mean(0).reshape(-1) * momentum)
                if running_var is not None:
                    unbiased = var.detach() * (count / max(count - 1, 1))
                    running_var.copy_(running_var * (1 - momentum) + unbiased.mean(0).reshape(-1) * momentum)
    if weight is not None:
        out = out * weight.reshape(affine)
    if bias is not None:
        out = out + bias.reshape(affine)
    return out


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """``target * (log(target) - input)`` (``input`` log-probabilities; ``log_target``: so is ``target``),
    0 where ``target`` is 0. ``reduction='batchmean'`` divides the sum by the batch size."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = T.xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _reduce(loss, reduction)


_LEGACY_TYPES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16", "int8": "Char",
                 "uint8": "Byte", "int16": "Short", "int32": "Int", "int64": "Long"}


def _legacy_type(t: Tensor) -> str:
    """PyTorch's legacy type name of a tensor (``torch.FloatTensor``), as its argument checks print it."""
    cuda = t.device.type == "cuda"
    if t.dtype.name == "bool":
        return "CUDABoolType" if cuda else "CPUBoolType"
    return f"torch.{'cuda.' if cuda else ''}{_LEGACY_TYPES.get(t.dtype.name, t.dtype.name)}Tensor"


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``, as one op (``EmbeddingBackward0``); the
    ``padding_idx`` row gets no gradient."""
    rows = weight.shape[0] if weight.dim() else 0
    if padding_idx is not None:
        if padding_idx >= rows if padding_idx > 0 else padding_idx < -rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        if padding_idx < 0:
            padding_idx += rows
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if input.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {_legacy_type(input)} instead (while checking arguments for "
                           "embedding)")
    a = _host_value(input)  # indices already known: refuse negative / too large ones as PyTorch does
    if a is not None and a.size and (a.min() < 0 or a.max() >= rows):
        raise IndexError("index out of range in self")
    if max_norm is not None:
        _embedding_renorm_(weight, input, float(max_norm), float(norm_type))
    out = record("embedding", (weight, input), (padding_idx,))
    if scale_grad_by_freq and out.requires_grad:
        # the same value, with each row's gradient divided by how often its index occurs in the batch
        flat = input.reshape(-1)
        counts = T.zeros(rows, dtype=weight.dtype, device=weight.device).scatter_add(
            0, flat, T.ones(flat.shape, dtype=weight.dtype, device=weight.device))
        freq = counts[flat].reshape(tuple(input.shape) + (1,))
        scaled = out / freq
        out = scaled + (out - scaled).detach()
    return out  # (sparse=True: the gradient is the same, as a dense tensor)


def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows that ``input`` looks up and whose ``norm_type``-norm exceeds
    ``max_norm`` are scaled in place (outside autograd) to norm ``max_norm``."""
    from ..grad_mode import no_grad
    with no_grad():
        idx = input.reshape(-1)
        picked = weight[idx]
        norms = picked.norm(norm_type, dim=1, keepdim=True)
        scale = T.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[idx] = picked * scale


_BAD_OFFSETS = ("Expected i < index_size to be true, but got false.  (Could this error message be improved?  If so, "
                "please report an enhancement request to PyTorch.)")


def _check_embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None, per_sample_weights: Tensor | None,
                         include_last_offset: bool, padding_idx: int | None) -> tuple:
    """The checks of PyTorch's ``torch.embedding_bag`` in its order; returns (padding_idx wrapped, offsets
    as a host array or None)."""
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{rows} through {rows - 1}, "
                               f"but got {padding_idx}")
        padding_idx %= rows
    for t in (input,) if offsets is None else (input, offsets):
        if t.dtype.name not in ("int64", "int32"):
            raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                               f"Long, Int; but got {_legacy_type(t)} instead (while checking arguments for "
                               "embedding_bag)")
    if not weight.dtype.is_floating_point:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have one of the following scalar types: Half, "
                           f"BFloat16, Float, Double; but got {_legacy_type(weight)} instead (while checking arguments "
                           "for embedding_bag)")
    off = None
    if offsets is not None:  # read on the host: the bags' layout is the program's shape
        off = np.asarray(offsets.detach()._value()).astype(np.int64)
        if off.size and off[0] != 0:
            both32 = input.dtype.name == offsets.dtype.name == "int32"
            raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start "
                               f"from position 0. However, got {off[0]}\n[ torch.{'Int' if both32 else 'Long'}"
                               "Tensor{} ]")
        if off.size and off[-1] > input.shape[0]:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {input.shape[0]} but got "
                               f"offsets[-1] of {off[-1]}")
    if per_sample_weights is not None and per_sample_weights.dtype is not weight.dtype:
        raise RuntimeError("Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 "
                           f"'per_sample_weights'; but type {_legacy_type(weight)} does not equal "
                           f"{_legacy_type(per_sample_weights)} (while checking arguments for embedding_bag)")
    if off is not None:
        if include_last_offset and off.size == 0:
            raise RuntimeError("include_last_offset: number of offset should be at least 1")
        if (off < 0).any():
            raise IndexError("index out of range in self")
        if (np.diff(off) < 0).any():
            raise RuntimeError(_BAD_OFFSETS)
    a = _host_value(input)  # indices already known: refuse out-of-range ones as PyTorch does
    if a is not None and a.size and (a.min() < 0 or a.max() >= rows):
        bad = a.reshape(-1)[(a.reshape(-1) < 0) | (a.reshape(-1) >= rows)][0]
        raise RuntimeError(f"embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be {bad}")
    return padding_idx, off


def _bag_max(e: Tensor, mask: Tensor | None) -> Tensor:
    """Each bag's (dim 1 of ``e``) largest value per feature, as PyTorch's CPU kernel scans: from the bag's
    first element, a later one replaces the running maximum when strictly larger (so the first maximum is
    taken, a NaN is skipped unless it comes first); elements outside ``mask`` are skipped; a gather, so
    the gradient goes to that element only. Empty bags give 0."""
    b, n, d = e.shape
    ed = e.detach()
    ok = None if mask is None else mask.unsqueeze(-1)
    nan = ed.isnan()
    key = T.where(nan, -math.inf, ed)
    if ok is not None:
        key = T.where(ok, key, -math.inf)
    cand = ed == key.amax(1, keepdim=True)
    if ok is not None:
        cand = cand & ok
    pos = cand.to(_int64).argmax(1)  # the first maximum of each column
    first = (T.zeros(b, dtype=_int64, device=e.device) if mask is None else mask.to(_int64).argmax(1))
    first_val = ed.gather(1, first.reshape(b, 1, 1).expand(b, 1, d)).squeeze(1)
    pos = T.where(first_val.isnan(), first.unsqueeze(-1).expand(b, d), pos)  # a leading NaN stays
    out = e.gather(1, pos.unsqueeze(1)).squeeze(1)
    if mask is not None:
        out = T.where(mask.any(1).unsqueeze(-1), out, 0.0)
    return out


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """The sum, mean or max of each bag of rows of ``weight``: a 2-D ``input`` (B, N) is B bags of N
    indices; a 1-D ``input`` is cut into bags at ``offsets`` (read on the host; with
    ``include_last_offset`` the last offset ends the last bag). ``per_sample_weights`` scale the rows
    (mode "sum"), ``padding_idx`` entries are left out of their bag, empty bags give zeros. A composite
    of ``embedding``, masks and sums (or a gather of each bag's maximum) over the bags laid out as a
    (B, longest bag) grid, shown to autograd as PyTorch's ``EmbeddingBagBackward0`` of (weight,
    per_sample_weights)."""
    if weight.dtype.name == "int64" and input.dtype.is_floating_point:
        warnings.warn("Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, "
                      "input, ...)` is deprecated, and should now be `embedding_bag(input, weight, ...)`.",
                      stacklevel=2)
        weight, input = input, weight
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.dim()}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch of "
                             f"fixed length sequences. However, found offsets of type {type(offsets)}")
        if input.shape[1] == 0:
            raise RuntimeError("step must be nonzero")  # (PyTorch's arange of the offsets)
        include_last_offset = False
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.dim()}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if max_norm is not None:
        _embedding_renorm_(weight, input, float(max_norm), float(norm_type))
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError("embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
                                  "GitHub.")
    padding_idx, off = _check_embedding_bag(input, weight, offsets, per_sample_weights, include_last_offset,
                                            padding_idx)

    # the bags as a (B, n) grid of indices (n: the longest bag), with a host mask where bags are shorter
    mask = None
    psw = per_sample_weights
    if off is None:
        idx = input
        lengths = None
    else:
        length = input.shape[0]
        # (with include_last_offset, offsets[-1] should be the input's length; where it is short of it, the
        # last bag still runs to the end, as PyTorch's general CPU kernel has it)
        starts = off[:-1] if include_last_offset else off
        ends = np.append(starts[1:], length).astype(np.int64)
        lengths = ends - starts
        n = int(lengths.max()) if lengths.size else 0
        inside = np.arange(n)[None, :] < lengths[:, None]
        pos = T.tensor(np.where(inside, starts[:, None] + np.arange(n)[None, :], 0).reshape(-1), dtype=_int64,
                       device=input.device)
        idx = input.gather(0, pos).reshape(len(starts), n)  # (gathers: index_select reads its index)
        if psw is not None:
            psw = psw.gather(0, pos).reshape(len(starts), n)
        if not inside.all():
            mask = T.tensor(inside, device=input.device)
    if padding_idx is not None:
        keep = idx != padding_idx
        mask = keep if mask is None else mask & keep
    e = record("embedding", (weight, idx), (None,))  # (B, n, embedding_dim)
    if scale_grad_by_freq and e.requires_grad:
        # the same value; each row's gradient divided by how often its index occurs in the whole input
        flat = input.reshape(-1).to(_int64)
        counts = T.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device).scatter_add(
            0, flat, T.ones(flat.shape, dtype=weight.dtype, device=weight.device))
        freq = counts.gather(0, idx.reshape(-1).to(_int64)).reshape(tuple(idx.shape) + (1,))
        scaled = e / freq
        e = scaled + (e - scaled).detach()
    if psw is not None:
        e = e * psw.unsqueeze(-1)
    if mode == "max":
        out = _bag_max(e, mask) if e.shape[1] else e.sum(1)
    else:
        if mask is not None:
            e = T.where(mask.unsqueeze(-1), e, 0.0)
        out = e.sum(1)
        if mode == "mean":
            if mask is not None:
                count = mask.sum(1).clamp(min=1)
            elif lengths is None:
                count = max(idx.shape[1], 1)
            else:
                count = T.tensor(np.maximum(lengths, 1), device=input.device)
            out = out / (count.unsqueeze(-1).to(out.dtype) if isinstance(count, Tensor) else count)
    return _as_function(record("embedding_bag", (out,)), (weight, per_sample_weights))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """PyTorch's current formula: ``sum(x1 / max(|x1|, eps) * x2 / max(|x2|, eps), dim)``, each norm
    clamped separately after broadcasting, unseen by autograd as PyTorch's in-place clamp (the
    gradient goes to the norm as if unclamped; out of place, so it can be differentiated again)."""
    d1, d2 = x1.dtype, x2.dtype
    if not (d1.is_floating_point and d2.is_floating_point):
        common = result_type(((x1.dim(), d1), (x2.dim(), d2)))
        if not common.is_floating_point:
            raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                               f"{_type_name(common)}")
        x1, x2 = x1.to(common) if x1.dtype is not common else x1, x2.to(common) if x2.dtype is not common else x2
    if x1.shape != x2.shape:
        shape = broadcast_shapes(tuple(x1.shape), tuple(x2.shape), "cosine_similarity")
        x1, x2 = x1.expand(shape), x2.expand(shape)
    n1 = x1.norm(dim=dim, keepdim=True)
    n2 = x2.norm(dim=dim, keepdim=True)
    n1 = record("nograd_update", (n1, n1.detach().clamp(min=eps)))  # (value: the clamped norm)
    n2 = record("nograd_update", (n2, n2.detach().clamp(min=eps)))
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` (``enable_gqa``: key/value heads shared by
    groups of query heads)."""
    if enable_gqa and query.dim() >= 3:
        heads = query.shape[-3]
        for name in ("key", "value"):
            t = key if name == "key" else value
            if t.dim() >= 3 and t.shape[-3] != heads:
                if heads % t.shape[-3]:
                    raise RuntimeError("Number of heads in key and value must divide the number of heads in ")
                # (each key/value head repeated for its group of query heads: repeat_interleave on dim -3)
                r = heads // t.shape[-3]
                t = t.unsqueeze(-3).expand(*t.shape[:-2], r, *t.shape[-2:]).reshape(*t.shape[:-3], heads,
                                                                                   *t.shape[-2:])
                key, value = (t, value) if name == "key" else (key, t)
    s = (1.0 / math.sqrt(query.shape[-1])) if scale is None else scale
    scores = (query @ key.transpose(-2, -1)) * s
    if is_causal:
        n, m = query.shape[-2], key.shape[-2]
        causal = T.arange(n).unsqueeze(1) >= T.arange(m)
        scores = scores.masked_fill(~causal, -math.inf)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, -math.inf) if attn_mask.dtype.name == "bool" else scores + attn_mask
    if attn_mask is None and not is_causal:
        weights = scores.softmax(-1)
    else:
        # A query masked from every key attends to nothing and gets 0 (PyTorch's safe softmax), not
        # the NaN of a softmax over -inf: a padded position must not poison the rest of the batch.
        dead = scores.amax(-1, keepdim=True) == -math.inf
        weights = scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    return dropout(weights, dropout_p, dropout_p > 0) @ value


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


def _batched_conv_input(name: str, nsp: int, input: Tensor, weight: Tensor) -> tuple[Tensor, bool]:
    """A (transposed) convolution's input with a batch dim, and whether it had none; PyTorch's checks."""
    if input.dim() not in (nsp + 1, nsp + 2):
        raise RuntimeError(f"Expected {nsp + 1}D (unbatched) or {nsp + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.dim() != nsp + 2:
        raise RuntimeError(f"{name}: expected a {nsp + 2}-D weight, got weight of size {list(weight.shape)}")
    unbatched = input.dim() == nsp + 1
    return (input.unsqueeze(0) if unbatched else input), unbatched


_same_padding_warned = [False]


def _conv(name: str, nsp: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    from ..conv import conv_general_dilated
    x, unbatched = _batched_conv_input(name, nsp, input, weight)
    stride = _tuple(stride, nsp, "stride")
    dilation = _tuple(dilation, nsp, "dilation")
    kernel = tuple(weight.shape[2:])
    pads = conv_padding(padding, kernel, stride, dilation)
    if padding == "same" and any(lo != hi for lo, hi in pads) and not _same_padding_warned[0]:
        # PyTorch's TORCH_WARN_ONCE (once per process), with the text its CPU wheel shows
        _same_padding_warned[0] = True
        warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded "
                      "copy of the input be created (Triggered internally at /__w/pytorch/pytorch/aten/src/ATen/"
                      "native/Convolution.cpp:1101.)", UserWarning, stacklevel=3)
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise RuntimeError("negative padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    if any(d <= 0 for d in dilation):  # (PyTorch computes a 1-d convolution as a 2-d one)
        shown = [1, *dilation] if nsp == 1 else list(dilation)
        raise RuntimeError(f"dilation should be greater than zero, but got {shown}")
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


def _conv_transpose(name: str, nsp: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
                    padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    """The transpose (input gradient) of a convolution, as a convolution of the stride-dilated input
    with the flipped kernel, its in/out channels swapped per group (what JAX's transpose rule does)."""
    from ..conv import conv_general_dilated
    x, unbatched = _batched_conv_input(name, nsp, input, weight)
    stride = _tuple(stride, nsp, "stride")
    padding = _tuple(padding, nsp, "padding")
    output_padding = _tuple(output_padding, nsp, "output_padding")
    dilation = _tuple(dilation, nsp, "dilation")
    if any(s <= 0 for s in stride) or any(d <= 0 for d in dilation) or groups < 1:
        raise RuntimeError("non-positive stride, dilation or groups is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        axes = ("height", "width") if nsp == 2 else ("depth", "height", "width") if nsp == 3 else ("width",)
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(f"output_padding_{a}: {v}" for a, v in zip(axes, output_padding)) + " "
                           + " ".join(f"stride_{a}: {v}" for a, v in zip(axes, stride)) + " "
                           + " ".join(f"dilation_{a}: {v}" for a, v in zip(axes, dilation)))
    c_in, c_out_g = weight.shape[0], weight.shape[1]
    if c_in % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != c_in:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {c_in} channels, but got {x.shape[1]} channels instead")
    if bias is not None and bias.shape != (c_out_g * groups,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {c_out_g * groups} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    kernel = tuple(weight.shape[2:])
    # (C_in, C_out/g, k...) -> (C_out, C_in/g, k...) per group, spatially flipped
    w = weight.reshape(groups, c_in // groups, c_out_g, *kernel).transpose(1, 2)
    w = w.reshape(groups * c_out_g, c_in // groups, *kernel).flip(tuple(range(2, nsp + 2)))
    pads = tuple((d * (k - 1) - p, d * (k - 1) - p + op)
                 for k, p, op, d in zip(kernel, padding, output_padding, dilation))
    if any(lo < 0 for lo, _ in pads):  # (more padding than the kernel covers: crop after the convolution)
        crop = tuple(max(0, -lo) for lo, _ in pads)
        pads = tuple((max(0, lo), max(0, hi)) for lo, hi in pads)
        hi_crop = tuple(max(0, -(d * (k - 1) - p + op)) for k, p, op, d in
                        zip(kernel, padding, output_padding, dilation))
    else:
        crop = hi_crop = (0,) * nsp
    out = conv_general_dilated(x, w, (1,) * nsp, pads, stride, dilation, None, groups, 1, bias)
    if any(crop) or any(hi_crop):
        out = out[(slice(None), slice(None)) + tuple(slice(lo, out.shape[2 + i] - hi)
                                                     for i, (lo, hi) in enumerate(zip(crop, hi_crop)))]
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-D transposed convolution ("deconvolution") over (N, C_in, L) input; weight (C_in, C_out/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-D transposed convolution over (N, C_in, H, W) input; weight (C_in, C_out/groups, kH, kW)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """3-D transposed convolution over (N, C_in, D, H, W) input."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


# ---------------------------------------------------------------------------
# resampling: interpolate / Upsample, separable along each spatial dim with static indices

_INTERP_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _source_index(out_size: int, in_size: int, scale: float | None, align_corners: bool, mode: str) -> np.ndarray:
    """Where each output position samples the input (PyTorch's ``area_pixel_compute_source_index``)."""
    i = np.arange(out_size, dtype=np.float64)
    if align_corners:
        return i * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
    ratio = 1.0 / scale if scale is not None else in_size / out_size
    if mode == "nearest":
        return np.minimum(np.floor(i * ratio), in_size - 1)
    if mode == "nearest-exact":
        return np.minimum(np.floor((i + 0.5) * ratio), in_size - 1)
    if mode == "bicubic":  # (not clamped at 0: the taps are, one by one)
        return (i + 0.5) * ratio - 0.5
    return np.maximum((i + 0.5) * ratio - 0.5, 0.0)


def _antialias_weights(in_size: int, out_size: int, scale: float | None, align_corners: bool,
                       mode: str) -> np.ndarray:
    """The (out, in) matrix of PyTorch's antialiased resampling along one dim: each output averages
    the inputs under a filter (triangle for bilinear, Keys' cubic with a = -0.5 for bicubic) that is
    widened by the downscaling factor, normalised to sum to one."""
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    else:
        ratio = 1.0 / scale if scale is not None and scale > 0 else in_size / out_size
    if mode == "bilinear":
        size = 2

        def kernel(x: np.ndarray) -> np.ndarray:
            return np.maximum(0.0, 1.0 - np.abs(x))
    else:
        size, a = 4, -0.5

        def kernel(x: np.ndarray) -> np.ndarray:
            x = np.abs(x)
            near = ((a + 2) * x - (a + 3)) * x * x + 1
            far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
            return np.where(x < 1, near, np.where(x < 2, far, 0.0))
    support = size * 0.5 * ratio if ratio >= 1.0 else size * 0.5
    inv = 1.0 / ratio if ratio >= 1.0 else 1.0
    w = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = ratio * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), in_size)
        taps = kernel((np.arange(lo, hi) - center + 0.5) * inv)
        total = taps.sum()
        w[i, lo:hi] = taps / total if total != 0 else taps
    return w


def _cubic_weights(t: np.ndarray) -> list:
    """The four taps' weights of PyTorch's cubic convolution (A = -0.75) at offset ``t`` in [0, 1)."""
    a = -0.75
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1  # noqa: E731 - |x| <= 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a  # noqa: E731 - 1 < |x| < 2
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, ...) input to ``size`` or by ``scale_factor``: modes
    ``nearest``, ``nearest-exact``, ``linear``/``bilinear``/``trilinear`` (``align_corners``) and
    ``area`` (adaptive average pooling). Written with index selections and weighted sums, so its
    gradient is theirs."""
    nsp = input.dim() - 2
    if nsp < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the "
                         f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
                         f"(got {mode})")
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"):
        raise NotImplementedError(f"srcgrad's interpolate has no mode {mode!r} (nearest, nearest-exact, linear, "
                                  "bilinear, bicubic, trilinear, area)")
    if mode in _INTERP_DIMS and _INTERP_DIMS[mode] != nsp:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_INTERP_DIMS[mode] + 2}D input")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if antialias and (mode not in ("bilinear", "bicubic") or input.dim() != 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D tensor "
                         "as input")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        out = tuple(int(v) for v in (size if isinstance(size, (tuple, list)) else (size,) * nsp))
        if len(out) != nsp:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(spatial)} and output size of {list(out)}. Please provide "
                             f"input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                             f"format.")
        scales: tuple = (None,) * nsp
    else:
        sf = tuple(float(v) for v in (scale_factor if isinstance(scale_factor, (tuple, list))
                                      else (scale_factor,) * nsp))
        if len(sf) != nsp:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(spatial)} and scale_factor of shape {list(sf)}.")
        out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, sf))
        scales = (None,) * nsp if recompute_scale_factor else sf
    if any(o <= 0 for o in out) or any(n <= 0 for n in spatial):
        names = ("D", "H", "W")[3 - nsp:]
        dims = lambda v: ", ".join(f"{a}: {b}" for a, b in zip(names, v))  # noqa: E731
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({dims(spatial)})"
                           f"{' and' if nsp == 1 else ''} output ({dims(out)})")
    if mode == "area":
        from ..pooling import adaptive_avg_pool1d, adaptive_avg_pool2d
        if nsp == 1:
            return adaptive_avg_pool1d(input, out)
        if nsp == 2:
            return adaptive_avg_pool2d(input, out)
        raise NotImplementedError("srcgrad's interpolate(mode='area') supports 3D and 4D input")
    if antialias:
        x = input
        for k in range(nsp):
            if out[k] != spatial[k]:
                w = _antialias_weights(spatial[k], out[k], scales[k], bool(align_corners), mode)
                weights = T.tensor(w, dtype=x.dtype, device=x.device)
                x = (x.movedim(2 + k, -1) @ weights.T).movedim(-1, 2 + k)
        return _as_function(record(f"upsample_{mode}2d_aa", (x,)), (input,))
    x = input
    # PyTorch's CPU kernels copy a dimension whose size does not change, whatever scale_factor says
    # (scale_factor=1.2 of a size-3 dim: size 3, copied), in the linear modes and 2-d nearest
    copies = mode in ("linear", "bilinear", "trilinear") or (mode == "nearest" and nsp == 2)
    for k in range(nsp):
        dim = 2 + k
        if out[k] == spatial[k] and (copies or scales[k] in (None, 1.0)):
            continue
        src = _source_index(out[k], spatial[k], scales[k], bool(align_corners), mode)
        if mode.startswith("nearest"):
            x = x.index_select(dim, T.tensor(src.astype(np.int64), device=x.device))
            continue
        shape = [1] * x.dim()
        shape[dim] = out[k]
        if mode == "bicubic":  # four taps at floor(src) - 1 .. + 2, each clamped to the input
            base = np.floor(src).astype(np.int64)
            taps = [np.clip(base - 1 + j, 0, spatial[k] - 1) for j in range(4)]
            ws = _cubic_weights(src - base)
            x = sum(x.index_select(dim, T.tensor(i, device=x.device))
                    * T.tensor(w.reshape(shape), dtype=x.dtype, device=x.device) for i, w in zip(taps, ws))
            continue
        lo = np.minimum(np.floor(src).astype(np.int64), spatial[k] - 1)
        hi = np.minimum(lo + 1, spatial[k] - 1)
        frac = (src - lo).astype(np.float64)
        w = T.tensor(frac.reshape(shape), dtype=x.dtype, device=x.device)
        a = x.index_select(dim, T.tensor(lo, device=x.device))
        b = x.index_select(dim, T.tensor(hi, device=x.device))
        x = a + (b - a) * w
    # (a new tensor under PyTorch's name for its kernel, upsample_bilinear2d &c., even where no
    # size changed)
    kernel = {"nearest": "nearest", "nearest-exact": "nearest_exact"}.get(mode, mode)
    return _as_function(record(f"upsample_{kernel}{nsp}d", (x,)), (input,))


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """The deprecated name of ``interpolate``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------
# spatial transformers: affine_grid / grid_sample, written with floor, where, gather and arithmetic (their
# gradients are those ops' rules), following PyTorch's CPU kernels: the vectorised 2-d one
# (GridSamplerKernel.cpp) and the scalar 3-d one (GridSampler.cpp, GridSampler.h)

_GRID_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                       "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                       "grid_sample for details.")


def _bool_argument(fn: str, name: str, position: int, value: Any) -> bool:
    """PyTorch's argument parser for a ``bool`` argument of a builtin."""
    if isinstance(value, bool):
        return value
    t = type(value)
    shown = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__name__}"
    raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be bool, not {shown}")


def _linspace_from_neg_one(steps: int, align_corners: bool, npdt: np.dtype) -> np.ndarray:
    """PyTorch's ``linspace_from_neg_one`` (AffineGridGenerator.cpp), in the dtype it computes in: its linspace
    counts from -1 up to the middle and from 1 down after it."""
    if steps <= 1:
        return np.zeros(1, npdt)
    one = npdt.type(1)
    step = (one + one) / npdt.type(steps - 1)
    i = np.arange(steps)
    r = np.where(i < steps // 2, -one + step * i.astype(npdt), one - step * (steps - 1 - i).astype(npdt))
    r = r.astype(npdt)
    if not align_corners:
        r = (r * npdt.type(steps - 1)).astype(npdt) / npdt.type(steps)
    return r.astype(npdt)


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) or (N, D, H, W, 3) of a batch of affine matrices ``theta`` (N, 2, 3) or
    (N, 3, 4): the base grid of normalised output coordinates ``(x, y[, z], 1)`` times ``theta`` transposed, so
    its gradient with respect to ``theta`` is the matmul's."""
    if align_corners is None:
        warnings.warn(_GRID_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = tuple(size[-2:])
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = tuple(size[-3:])
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    align_corners = _bool_argument("affine_grid_generator", "align_corners", 3, align_corners)
    for pos, v in enumerate(size):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise TypeError(f"affine_grid_generator(): argument 'size' failed to unpack the object at pos {pos + 1} "
                            f"with error \"type must be tuple of ints,but got {type(v).__name__}\"")
    nsp = len(spatial)
    n = int(size[0])
    if theta.shape[0] != n:  # (PyTorch's bmm of its (N, H*W, 3) base grid with theta transposed)
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{n}, {nsp + 1}] but "
                           f"got: [{theta.shape[0]}, {nsp + 1}].")
    npdt = theta.dtype.np
    axes = [_linspace_from_neg_one(int(s), align_corners, npdt) for s in spatial]  # (D,) H, W
    coords = np.meshgrid(*axes, indexing="ij")
    base = np.stack([*coords[::-1], np.ones_like(coords[0])], -1).reshape(-1, nsp + 1)  # (x, y[, z], 1)
    base = T.tensor(base, dtype=theta.dtype, device=theta.device)
    grid = (base @ theta.transpose(1, 2)).reshape(n, *(int(s) for s in spatial), nsp)
    return _as_function(record("affine_grid_generator", (grid,)), (theta,))


def _check_grid_sample(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's checks (``check_grid_sampler_common``, ``check_grid_sampler_2d``/``3d``, the kernels' dtypes)."""
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    nd = input.dim()
    if nd == 0 or grid.dim() == 0:
        raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                           f"{sizes}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if grid.shape[-1] != nd - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd - 2} in last dimension, but got grid "
                           f"with sizes {list(grid.shape)}")
    for i in range(2, nd):
        if input.shape[i] <= 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial dimensions, but input has "
                               f"sizes {list(input.shape)} with dimension {i} being empty")
    if nd == 4:
        if grid.dim() != 4:
            raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of dimensions, but got "
                               f"{sizes}")
    else:
        if nd != 5 or grid.dim() != 5:
            raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number of dimensions, but got "
                               f"{sizes}")
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.dtype.is_floating_point:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if nd == 4 else "grid_sampler3d_cpu"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(input.dtype)}'")
    if grid.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input.dtype)} but found {_type_name(grid.dtype)}")


def _linked_zero(x: Tensor) -> Tensor:
    """Zeros shaped like ``x`` whose gradient with respect to ``x`` is zero (not missing), whatever ``x`` holds."""
    return T.where(T.zeros((), dtype=_bool, device=x.device), x, 0.0)


def _grid_unnormalize(coord: Tensor, size: int, align_corners: bool, nsp: int) -> Tensor:
    """Normalised [-1, 1] coordinates to pixel positions, in the arithmetic of PyTorch's 2-d / 3-d kernel."""
    if nsp == 2:
        return (coord + 1) * ((size - 1) / 2) if align_corners else (coord + 1) * (size / 2) - 0.5
    return ((coord + 1) / 2) * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2


def _grid_clip(x: Tensor, size: int, nsp: int) -> Tensor:
    """``x`` clipped to [0, size - 1], its gradient 1 strictly inside and 0 at and beyond the borders (PyTorch's
    ``clip_coordinates_set_grad``); NaN goes to 0 in 2-d, to size - 1 in 3-d, as PyTorch's kernels do."""
    hi = size - 1
    with no_grad():
        inside = (x > 0) & (x < hi)
        up = (x > 0) if nsp == 2 else ~(x <= 0)
        edge = up.to(x.dtype) * hi
    return T.where(inside, x, edge)


def _grid_reflect(x: Tensor, size: int, align_corners: bool) -> Tensor:
    """``x`` reflected by the borders (at pixel centres with ``align_corners``, else at the image edges) until it
    lies between them; its gradient is +1 or -1 (through ``abs`` and the reflection) as PyTorch's multiplier."""
    if align_corners:
        if size <= 1:
            return _linked_zero(x)
        low, twice_span = 0.0, 2.0 * (size - 1)
    else:
        low, twice_span = -0.5, 2.0 * size
    a = (x - low).abs() if low else x.abs()
    with no_grad():
        flips = (a / twice_span).trunc()
    extra = a - flips * twice_span
    with no_grad():
        flip = extra > twice_span - extra
    out = T.where(flip, twice_span - extra, extra)
    return out + low if low else out


def _grid_pad(x: Tensor, size: int, padding_mode: str, align_corners: bool, nsp: int) -> Tensor:
    if padding_mode == "border":
        return _grid_clip(x, size, nsp)
    if padding_mode == "reflection":
        return _grid_clip(_grid_reflect(x, size, align_corners), size, nsp)
    return x


def _grid_taps(pos: Tensor, size: int, padding_mode: str) -> tuple:
    """Integer indices of the sample positions ``pos`` (valid ones) and, for zeros padding, which are inside."""
    if padding_mode == "zeros":
        mask = (pos > -1) & (pos < size)
        return T.where(mask, pos, 0).to(_int64), mask
    return pos.to(_int64), None


def _cubic_coefficients(t: Tensor) -> Tensor:
    """The four cubic convolution weights (A = -0.75) of the taps at -1, 0, 1, 2 from the fraction ``t``."""
    a = -0.75
    x0, x1, x2, x3 = t + 1, t, 1 - t, 2 - t
    w0 = ((x0 * a - 5 * a) * x0 + 8 * a) * x0 - 4 * a
    w1 = (x1 * (a + 2) - (a + 3)) * x1 * x1 + 1
    w2 = (x2 * (a + 2) - (a + 3)) * x2 * x2 + 1
    w3 = ((x3 * a - 5 * a) * x3 + 8 * a) * x3 - 4 * a
    return T.stack([w0, w1, w2, w3], -1)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample (N, C, H, W) / (N, C, D, H, W) ``input`` at the normalised positions of ``grid`` (N, H', W', 2) /
    (N, D', H', W', 3), ``x`` first: ``bilinear`` (trilinear in 3-d), ``nearest`` or ``bicubic`` (4-d only), with
    ``zeros``, ``border`` or ``reflection`` padding. Each spatial axis gives its taps' indices (computed without
    gradient) and weights (with it), combined over the axes into one ``gather`` of the flattened input, so the
    gradients with respect to ``input`` and ``grid`` are those of gather, where, floor and arithmetic."""
    if mode != "bilinear" and mode != "nearest" and mode != "bicubic":
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode != "zeros" and padding_mode != "border" and padding_mode != "reflection":
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_GRID_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    align_corners = _bool_argument("grid_sampler", "align_corners", 5, align_corners)
    _check_grid_sample(input, grid, mode)
    nsp = input.dim() - 2
    n, c = input.shape[0], input.shape[1]
    spatial = tuple(input.shape[2:])
    out_spatial = tuple(grid.shape[1:-1])
    p = math.prod(out_spatial)
    g = grid.reshape(n, p, nsp)
    idxs, weights, masks = [], [], []
    for axis, size in enumerate(spatial):  # (D,) H, W: grid coordinates z, y, x
        coord = g[:, :, nsp - 1 - axis]
        if mode == "nearest":  # (no gradient to the grid: _linked_zero below gives it zeros)
            with no_grad():
                x = _grid_pad(_grid_unnormalize(coord, size, align_corners, nsp), size, padding_mode,
                              align_corners, nsp)
                idx, mask = _grid_taps(x.round().unsqueeze(-1), size, padding_mode)
            w = None
        elif mode == "bilinear":
            x = _grid_pad(_grid_unnormalize(coord, size, align_corners, nsp), size, padding_mode, align_corners, nsp)
            with no_grad():
                x0 = x.floor()
                idx, mask = _grid_taps(T.stack([x0, x0 + 1], -1), size, "zeros")  # (x0 + 1 may be past the end)
            t = x - x0
            w = T.stack([1 - t, t], -1)
        else:  # bicubic: the padding applies to each tap, not to the position
            x = _grid_unnormalize(coord, size, align_corners, nsp)
            with no_grad():
                x0 = x.floor()
                pos = T.stack([x0 - 1, x0, x0 + 1, x0 + 2], -1)
                idx, mask = _grid_taps(_grid_pad(pos, size, padding_mode, align_corners, nsp), size, padding_mode)
            w = _cubic_coefficients(x - x0)
        idxs.append(idx)
        weights.append(w)
        masks.append(mask)
    # every combination of the axes' taps: (N, P, K, ..., K) flattened to (N, 1, P * K^nsp)
    k = idxs[0].shape[-1]
    m = p * k ** nsp
    lin = weight = mask = None
    for axis in range(nsp):
        shape = (n, p) + tuple(k if b == axis else 1 for b in range(nsp))
        stride = math.prod(spatial[axis + 1:])
        i = idxs[axis].reshape(shape)
        i = i * stride if stride != 1 else i
        lin = i if lin is None else lin + i
        if weights[axis] is not None:
            w = weights[axis].reshape(shape)
            weight = w if weight is None else weight * w
        if masks[axis] is not None:
            mk = masks[axis].reshape(shape)
            mask = mk if mask is None else mask & mk
    full = (n, p) + (k,) * nsp
    lin = lin.expand(full).reshape(n, 1, m)
    vals = input.reshape(n, c, math.prod(spatial)).gather(2, lin.expand(n, c, m))
    if weight is not None:
        weight = weight.expand(full).reshape(n, 1, m)
    if mask is not None:
        mask = mask.expand(full).reshape(n, 1, m)
    if nsp == 2 or weight is None:  # (2-d: a masked tap reads 0, then is weighted: 0 * NaN is NaN)
        if mask is not None:
            vals = T.where(mask, vals, 0.0)
        if weight is not None:
            vals = vals * weight
    else:  # (3-d: a masked tap is skipped)
        vals = T.where(mask, vals * weight, 0.0) if mask is not None else vals * weight
    out = vals.reshape(n, c, p, k ** nsp).sum(-1) if k > 1 else vals
    out = out.reshape(n, c, *out_spatial)
    if mode == "nearest" and grid.requires_grad and is_grad_enabled():
        out = out + _linked_zero(grid)[..., 0].unsqueeze(1)
    return _as_function(record(f"grid_sampler_{nsp}d", (out,)), (input, grid))


# pooling, padding and batch norm live with their primitives (srcgrad/pooling.py)
from ..pooling import _alias as _alias_op  # noqa: E402
from ..pooling import (  # noqa: E402, F401
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool1d_with_indices,
    adaptive_max_pool2d,
    adaptive_max_pool2d_with_indices,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    batch_norm,
    max_pool1d,
    max_pool1d_with_indices,
    max_pool2d,
    max_pool2d_with_indices,
    max_pool3d,
    max_pool3d_with_indices,
    pad,
)
from ..pooling import as_function as _as_function  # noqa: E402

# F.embedding_bag's last node: an identity under PyTorch's grad_fn name, shown as a function of (weight,
# per_sample_weights)
_alias_op("embedding_bag", "identity", "EmbeddingBagBackward0")
# F.affine_grid and F.grid_sample's last nodes, likewise
_alias_op("affine_grid_generator", "identity", "AffineGridGeneratorBackward0")
_alias_op("grid_sampler_2d", "identity", "GridSampler2DBackward0")
_alias_op("grid_sampler_3d", "identity", "GridSampler3DBackward0")


# ---------------------------------------------------------------------------
# in-place activations (PyTorch's F.relu_ & co.: the functions above with inplace=True)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return celu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def selu_(input: Tensor) -> Tensor:
    return selu(input, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    # (the parameter's name, PyTorch's, hides the function `threshold`)
    return input.copy_(T.where(input > threshold, input, value))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)


# ---------------------------------------------------------------------------
# alpha dropout, bilinear, channel and pixel shuffles, distances


_ALPHA = 1.7580993408473766  # -SELU_scale * SELU_alpha: the value a dropped SELU output takes


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool) -> Tensor:
    """PyTorch's ``_dropout_impl`` for alpha dropout: keep with probability ``1 - p``, dropped units take
    the SELU saturation value, then an affine map restores zero mean and unit variance."""
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input.numel() == 0:
        return input
    d = input.dtype
    if not d.is_floating_point:
        raise RuntimeError(f"result type Float can't be cast to the desired output type {_type_name(d)}")
    if p == 1:
        return input._inplace("mul", 0) if inplace else input * 0
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2) if feature else tuple(input.shape)
    noise = (T.rand(shape, dtype=d, device=input.device) >= p).to(d)
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    b = (noise - 1) * (_ALPHA * a) + _ALPHA * a * p
    out = input * (noise * a) + b
    return input.copy_(out) if inplace else out


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps a SELU network's self-normalisation (zero mean, unit variance)."""
    return _alpha_dropout(input, p, training, inplace, feature=False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (one draw per (batch, channel))."""
    return _alpha_dropout(input, p, training, inplace, feature=True)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``, as two matmuls."""
    n1, n2 = input1.dim(), input2.dim()
    if n1 != n2:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {n1} and {n2}")
    for i in range(n1 - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got "
                               f"{input1.shape[i]} and {input2.shape[i]}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {weight.shape[2]}")
    if bias is not None and bias.shape[0] != weight.shape[0]:
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but "
                           f"expected {weight.shape[0]}")
    o, i, j = weight.shape
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, i), input2.reshape(-1, j)
    t = (x1 @ weight.permute(1, 0, 2).reshape(i, o * j)).reshape(-1, o, j)
    out = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        out = out + bias
    return out.reshape(lead + (o,))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Channels (dim 1) regrouped: ``(g, C/g)`` transposed to ``(C/g, g)``."""
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    shape = tuple(input.shape)
    return input.reshape((shape[0], groups, c // groups) + shape[2:]).transpose(1, 2).reshape(shape)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    return channel_shuffle(input, groups)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C r^2, H, W)`` to ``(*, C, H r, W r)``."""
    r = upscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """``(*, C, H r, W r)`` to ``(*, C r^2, H, W)``: the inverse of ``pixel_shuffle``."""
    r = downscale_factor
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *lead, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``‖x1 - x2 + eps‖_p`` over the last dim of the broadcast inputs (PyTorch's formula)."""
    d = x1 - x2 + eps
    if d.dim() == 0:  # (PyTorch's norm over dim -1 of a 0-d tensor)
        return d.reshape(1).norm(p, 0)
    return d.norm(p, -1, keepdim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm distances between the rows of a 2-D input, pairs ``i < j`` in row-major order."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.dtype.is_floating_point:
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    if n < 2:
        return input.reshape(-1)[:0]
    i, j = np.triu_indices(n, 1)
    diff = input.index_select(0, T.tensor(i, device=input.device)) - \
        input.index_select(0, T.tensor(j, device=input.device))
    return diff.norm(p, 1)


# ---------------------------------------------------------------------------
# margin, embedding and likelihood losses (PyTorch's composites, written with the same ops)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where ``target`` is 1, ``max(0, cos(x1, x2) - margin)`` where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    td = target.dim()
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and not (input1.dim() == 2 and input2.dim() == 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if td == 0 and not (input1.dim() == 1 and input2.dim() == 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod_sum = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + eps
    mag2 = (input2 * input2).sum(td) + eps
    cos = prod_sum / (mag1 * mag2).sqrt()
    pos = 1 - cos
    neg = (cos - margin).clamp_min(0)
    out = T.where(target == 1, pos, 0.0) + T.where(target == -1, neg, 0.0)
    return _reduce(out, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    margin_clamp = (margin - input).clamp_min(0)
    out = T.where(target != 1, margin_clamp, 0.0) + T.where(target != -1, input, 0.0)
    return _reduce(out, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape!r}, input2: {input2.shape!r}, target: {target.shape!r} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target * input))`` (computed as PyTorch does, so it overflows where PyTorch's does)."""
    reduction = _reduction(size_average, reduce, reduction)
    _not_differentiable("soft_margin_loss", "target", target)
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """Binary cross-entropy with logits per class, averaged over the classes (the last dim)."""
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction + " is not valid")


def _frames(name: str, input: Tensor) -> tuple[int, int]:
    """(samples, classes) of a multi-class margin loss's input: (C,), (N, C) or a 0-d single score."""
    nd = input.dim()
    if not ((nd == 2 and input.shape[1] != 0) or (nd == 1 and input.shape[0] != 0) or nd == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    if nd <= 1:
        return 1, (1 if nd == 0 else input.shape[0])
    return input.shape[0], input.shape[1]


def _check_long(t: Tensor) -> None:
    if t.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {_type_name(t.dtype)}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: bool | None = None, reduce: bool | None = None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: ``sum_{j != y} w[y] max(0, margin - x[y] + x[j])^p / C`` per sample."""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    nframe, dim = _frames("multi_margin_loss", input)
    if target.dim() > 1 or target.numel() != nframe:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{nframe}], but got {list(target.shape)}. "
                           f"Input has shape {list(input.shape)}.")
    if weight is not None and (weight.dim() > 1 or weight.numel() != dim):
        raise RuntimeError(f"inconsistent weight size, expected {dim} but got {list(weight.shape)}")
    _check_long(target)
    a = _host_value(target)
    if a is not None and a.size and (a.min() < 0 or a.max() >= dim):
        raise RuntimeError("target out of range")
    x = input.reshape(nframe, dim)
    t = target.reshape(nframe, 1)
    z = x - x.gather(1, t) + margin
    h = T.where(z > 0, z, 0.0)  # (PyTorch's kernel: only z > 0 counts, so no gradient at z == 0)
    if p == 2:
        h = h * h
    if weight is not None:
        h = h * weight.index_select(0, t.reshape(-1)).unsqueeze(1)
    h = T.where(T.arange(dim, device=input.device) == t, 0.0, h)
    loss = h.sum(1) / dim
    if reduction == "none":
        return loss.reshape(target.shape) if input.dim() <= 1 else loss
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``sum_{j in targets, k not in targets} max(0, 1 - (x[j] - x[k])) / C`` per sample; ``target`` holds
    class indices, ended by the first -1."""
    reduction = _reduction(size_average, reduce, reduction)
    nframe, dim = _frames("multilabel_margin_loss", input)
    ok = target.dim() <= 1 and target.numel() == dim if input.dim() <= 1 else \
        target.dim() == 2 and tuple(target.shape) == (nframe, dim)
    if not ok:
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    _check_long(target)
    a = _host_value(target)
    if a is not None and a.size and (a.min() < -1 or a.max() >= dim):
        raise RuntimeError("argument #2 'target' is out of range")
    x = input.reshape(nframe, dim)
    tg = target.reshape(nframe, dim)
    valid = (tg >= 0).long().cumprod(1) > 0  # the indices before the first negative one
    safe = T.where(valid, tg, 0)
    hits = (safe.unsqueeze(-1) == T.arange(dim, device=input.device)) & valid.unsqueeze(-1)
    is_target = hits.any(1)  # (N, C)
    z = 1 - x.gather(1, safe).unsqueeze(2) + x.unsqueeze(1)  # (N, J, C): target j against class k
    keep = valid.unsqueeze(2) & ~is_target.unsqueeze(1) & (z > 0)
    loss = T.where(keep, z, 0.0).sum((1, 2)) / dim
    if reduction == "none":
        return loss.reshape(()) if input.dim() <= 1 else loss
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target ~ Poisson(rate)``, ``rate = exp(input)`` with ``log_input``;
    ``full`` adds Stirling's approximation of ``log(target!)`` (for targets above 1)."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``0.5 * (log(var) + (input - target)^2 / var)`` (+ ``0.5 log(2 pi)`` with ``full``), ``var`` clamped
    to ``eps`` (unseen by autograd, as PyTorch); ``var`` one value, or per element, or one per row."""
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = T.full(tuple(input.shape), float(var), dtype=input.dtype, device=input.device)
    else:
        a = _host_value(var)  # (only a value already computed is checked: no program per call)
        if a is not None and a.size and (a < 0).any():
            raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.dim() == var.dim() and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _check_triplet(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == p and p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d`` the pairwise ``p``-distance (``swap``: the
    smaller of ``d(a, n)`` and ``d(p, n)``)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_triplet(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Any = None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function`` (default ``pairwise_distance``)."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


# ---------------------------------------------------------------------------
# local response norm, power-average pooling, max unpooling, fold/unfold


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """``input / (k + alpha * mean of squares over size neighbouring channels)^beta`` (PyTorch's composite:
    padding and an average pooling over the channel dim)."""
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input * input
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = tuple(input.shape)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    return input / (div * alpha + k) ** beta


def _ntuple(v: Any, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _lp_pool(input: Tensor, norm_type: float, kernel_size: Any, stride: Any, ceil_mode: bool, n: int) -> Tensor:
    """PyTorch's ``lp_pool``: ``(sum over the window of x^p)^(1/p)`` as an average pooling times the window."""
    kernel = _ntuple(kernel_size, n)
    pool = (avg_pool1d, avg_pool2d, avg_pool3d)[n - 1]
    x = input ** norm_type
    out = pool(x, kernel_size, stride, 0, ceil_mode) if stride is not None else \
        pool(x, kernel_size, padding=0, ceil_mode=ceil_mode)
    return ((out.sign() * relu(out.abs())) * math.prod(kernel)) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def _unpool_output_size(input: Tensor, kernel: tuple, stride: tuple, padding: tuple, output_size: Any) -> list:
    n = len(kernel)
    default = [(input.shape[input.dim() - n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n)]
    if output_size is None:
        return default
    size = list(output_size)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has a "
                         f"length of '{len(size)}'")
    for d in range(n):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < size[d] < hi:
            raise ValueError(f'invalid output_size "{output_size}" (dim {d} must be between {lo} and {hi})')
    return [int(s) for s in size]


def _max_unpool(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any, output_size: Any,
                n: int) -> Tensor:
    """Each value of ``input`` written at its flat per-plane position ``indices`` (a max pooling's) of
    zeros of the unpooled size: a scatter, so the gradient is the gather at ``indices``."""
    kernel = _ntuple(kernel_size, n)
    stride = _ntuple(stride, n) if stride is not None else kernel
    padding = _ntuple(padding, n)
    out = _unpool_output_size(input, kernel, stride, padding, output_size)
    nk = max(n, 2)  # (PyTorch computes the 1-d case as 2-d, with a trailing 1)
    if indices.dtype.name != "int64":
        raise RuntimeError(f"elements in indices should be type int64 but got: {_type_name(indices.dtype)}")
    if input.dim() not in (nk + 1, nk + 2) if n > 1 else input.dim() not in (2, 3):
        shown = input.dim() + (1 if n == 1 else 0)
        raise RuntimeError(f"Input to max_unpooling{nk}d should be a {nk + 1}d or {nk + 2}d Tensor, but got a "
                           f"tensor with {shown} dimensions.")
    if input.shape != indices.shape:
        extra = [1] if n == 1 else []
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape) + extra}) but got indices tensor with shape: "
                           f"{list(indices.shape) + extra}")
    shown_out = out + ([1] if n == 1 else [])
    volume = math.prod(out)
    a = _host_value(indices)
    if a is not None and a.size and (a.min() < 0 or a.max() >= volume):
        bad = a[(a < 0) | (a >= volume)].flat[0]
        raise RuntimeError(f"Found an invalid max index: {int(bad)} (output volumes are of size "
                           f"{'x'.join(map(str, shown_out))}")
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    idx = indices.unsqueeze(0) if unbatched else indices
    b, c = x.shape[0], x.shape[1]
    flat = T.zeros(b, c, volume, dtype=x.dtype, device=x.device).scatter(2, idx.reshape(b, c, -1),
                                                                         x.reshape(b, c, -1))
    result = flat.reshape(b, c, *out)
    return result.squeeze(0) if unbatched else result


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The partial inverse of ``max_pool1d``: maxima back at their positions, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The partial inverse of ``max_pool2d``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The partial inverse of ``max_pool3d``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


def _pair2(v: Any, name: str) -> tuple:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _im2col_args(kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> tuple:
    k, d, p, s = (_pair2(kernel_size, "kernel_size"), _pair2(dilation, "dilation"), _pair2(padding, "padding"),
                  _pair2(stride, "stride"))
    if k[0] <= 0 or k[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {k[0]} kernel_width: "
                           f"{k[1]}")
    if s[0] <= 0 or s[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {s[0]} stride_width: {s[1]}")
    if d[0] <= 0 or d[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {d[0]} "
                           f"dilation_width: {d[1]}")
    if p[0] < 0 or p[1] < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} pad_width: {p[1]}")
    return k, d, p, s


def _blocks(size: tuple, k: tuple, d: tuple, p: tuple, s: tuple) -> tuple:
    return tuple((size[i] + 2 * p[i] - (d[i] * (k[i] - 1) + 1)) // s[i] + 1 for i in range(2))


def _block_index(padded: tuple, k: tuple, d: tuple, s: tuple, blocks: tuple) -> np.ndarray:
    """Flat positions in the padded (H, W) plane of every (kernel tap, block), tap-major: (kh * kw * L,)."""
    ki, kj = np.meshgrid(np.arange(k[0]) * d[0], np.arange(k[1]) * d[1], indexing="ij")
    bi, bj = np.meshgrid(np.arange(blocks[0]) * s[0], np.arange(blocks[1]) * s[1], indexing="ij")
    rows = ki.reshape(-1, 1) + bi.reshape(1, -1)
    cols = kj.reshape(-1, 1) + bj.reshape(1, -1)
    return (rows * padded[1] + cols).reshape(-1).astype(np.int64)


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: the sliding blocks of (N, C, H, W) as columns, (N, C * kh * kw, L) (a gather, so the
    gradient is an index_add)."""
    k, d, p, s = _im2col_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (3, 4) or any(e == 0 for e in input.shape[1:]) or \
            (input.dim() == 3 and input.shape[0] == 0):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    blocks = _blocks((h, w), k, d, p, s)
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of "
                           f"sliding blocks as ({blocks[0]}, {blocks[1]}), but its components must be at least one.")
    if p != (0, 0):
        x = pad(x, (p[1], p[1], p[0], p[0]))
    padded = (h + 2 * p[0], w + 2 * p[1])
    idx = _block_index(padded, k, d, s, blocks)
    cols = x.reshape(n, c, -1).index_select(2, T.tensor(idx, device=x.device))
    out = cols.reshape(n, c * k[0] * k[1], blocks[0] * blocks[1])
    return _as_function(record("im2col", (out.squeeze(0) if unbatched else out,)), (input,))


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im: the columns of ``unfold`` summed back into (N, C, H, W) (an index_add; overlaps add up)."""
    size = _pair2(output_size, "output_size")
    k, d, p, s = _im2col_args(kernel_size, dilation, padding, stride)
    if input.dim() not in (2, 3) or any(e == 0 for e in input.shape[input.dim() - 2:]):
        raise RuntimeError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    n, ckk, length = x.shape
    if ckk % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={ckk} and kernel_size=({k[0]}, {k[1]}).")
    blocks = _blocks(size, k, d, p, s)
    args = (f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, {d[1]}), "
            f"padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), ")
    if length != blocks[0] * blocks[1]:
        raise RuntimeError(args + f"expected size of input's dimension 2 to match the calculated number of sliding "
                           f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)="
                           f"{length}.")
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(args + f"calculated shape of the array of sliding blocks as ({blocks[0]}, {blocks[1]}), "
                           "which is too small (non-positive)")
    c = ckk // (k[0] * k[1])
    padded = (size[0] + 2 * p[0], size[1] + 2 * p[1])
    idx = _block_index(padded, k, d, s, blocks)
    flat = T.zeros(n, c, padded[0] * padded[1], dtype=x.dtype, device=x.device)
    out = flat.index_add(2, T.tensor(idx, device=x.device), x.reshape(n, c, -1)).reshape(n, c, *padded)
    if p != (0, 0):
        out = out[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return _as_function(record("col2im", (out.squeeze(0) if unbatched else out,)), (input,))


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A softmax over ``(logits + Gumbel noise) / tau``, drawn with srcgrad's generator; ``hard``: the
    one-hot argmax in the forward with the soft sample's gradient (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    u = T.rand(tuple(logits.shape), dtype=logits.dtype, device=logits.device)
    gumbels = -(-(1 - u).log()).log()  # -log(Exponential(1)), with 1 - u in (0, 1]
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = T.zeros(tuple(logits.shape), dtype=logits.dtype, device=logits.device).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


# ---------------------------------------------------------------------------
# CTC loss: the forward (alpha) recursion in log space, one step of tensor ops per time step; its gradient is
# srcgrad's rules through the recursion (no hand-written beta recursion)


def _lengths(v: Any, name: str) -> list:
    if isinstance(v, Tensor):
        if v.dtype.is_floating_point or v.dtype.name == "bool":
            raise RuntimeError(f"{name} must be integral")
        return [int(e) for e in np.asarray(v.detach()._value()).reshape(-1)]
    return [int(e) for e in v]


def _logsumexp0(x: Tensor) -> Tensor:
    """``logsumexp`` over dim 0 that is -inf, with a zero (not NaN) gradient, where every term is -inf."""
    m = x.detach().amax(0)
    m = T.where(m == -math.inf, 0.0, m)
    s = (x - m).exp().sum(0)
    live = s > 0
    return T.where(live, T.where(live, s, 1.0).log() + m, -math.inf)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss of ``log_probs`` (T, N, C) (or (T, C)) and ``targets``
    (N, S) padded or 1-D concatenated. The lengths and targets are read on the host (as PyTorch's CPU kernel
    reads them); ``reduction='mean'`` divides each loss by its target length, then averages.

    The gradient is the true derivative of the loss with respect to ``log_probs``. PyTorch's kernel returns
    ``exp(log_probs) - posterior`` instead (the gradient with respect to the logits of a ``log_softmax``),
    so the two agree on the gradient of anything upstream of a ``log_softmax``, as CTC is used."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    tg = targets if batched else targets.unsqueeze(0)
    in_len = _lengths(input_lengths, "input_lengths")
    tg_len = _lengths(target_lengths, "target_lengths")
    t_max, n, c = lp.shape
    if not 0 <= blank < c:
        raise RuntimeError("blank must be in label range")
    if len(in_len) != n:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_len) != n:
        raise RuntimeError("target_lengths must be of size batch_size")
    where = " (while checking arguments for ctc_loss_allocate_outputs)"
    for v in tg_len:
        if v < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value {v}{where}")
    tv = np.asarray(tg.detach()._value()).astype(np.int64)
    s_max = max(tg_len) if tg_len else 0
    if tg.dim() == 1:
        total = sum(tg_len)
        if tv.shape[0] != total:
            raise RuntimeError(f"Expected tensor to have size {total} at dimension 0, but got size {tv.shape[0]} for "
                               f"argument #2 'targets'{where}")
        offsets = np.concatenate([[0], np.cumsum(tg_len)[:-1]]).astype(np.int64)
        rows = [tv[offsets[b]:offsets[b] + tg_len[b]] for b in range(n)]
    else:
        if tv.shape[0] != n:
            raise RuntimeError(f"Expected tensor to have size {n} at dimension 0, but got size {tv.shape[0]} for "
                               f"argument #2 'targets'{where}")
        if tv.shape[1] < s_max:
            raise RuntimeError(f"Expected tensor to have size at least {s_max} at dimension 1, but got size "
                               f"{tv.shape[1]} for argument #2 'targets'{where}")
        rows = [tv[b, :tg_len[b]] for b in range(n)]
    for v in in_len:
        if v < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value {v}{where}")
        if v > t_max:
            raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got value {v}{where}")
    width = 2 * s_max + 1
    ext = np.full((n, width), blank, np.int64)  # blank, l1, blank, l2, ..., blank
    skip = np.zeros((n, width), bool)  # a label state that may be entered from two states back
    for b, row in enumerate(rows):
        ext[b, 1:2 * len(row):2] = row
        for s in range(3, 2 * len(row), 2):
            skip[b, s] = ext[b, s] != ext[b, s - 2]
    dev = lp.device
    index = T.tensor(ext, device=dev).unsqueeze(0).expand(t_max, n, width) if t_max else None
    loss_zero = np.array([tg_len[b] == 0 for b in range(n)])
    if t_max == 0 or n == 0 or max(in_len, default=0) == 0:
        alpha = None
    else:
        lpe = lp.gather(2, index)  # (T, N, 2S+1): each state's log-probability at each time
        neg_inf = T.full((n, width), -math.inf, dtype=lp.dtype, device=dev)
        first = np.zeros((n, width), bool)
        first[:, 0] = True
        if width > 1:
            first[:, 1] = np.array(tg_len) > 0
        alpha = T.where(T.tensor(first, device=dev), lpe[0], neg_inf)
        skip_t = T.tensor(skip, device=dev)
        pad1 = T.full((n, 1), -math.inf, dtype=lp.dtype, device=dev)
        pad2 = T.full((n, min(2, width)), -math.inf, dtype=lp.dtype, device=dev)
        for t in range(1, max(in_len)):
            from1 = T.cat([pad1, alpha[:, :width - 1]], 1)
            from2 = T.cat([pad2, alpha[:, :width - 2]], 1) if width > 2 else pad2[:, :width]
            from2 = T.where(skip_t, from2, -math.inf)
            step = _logsumexp0(T.stack([alpha, from1, from2])) + lpe[t]
            active = np.array([t < v for v in in_len])
            alpha = step if active.all() else T.where(T.tensor(active, device=dev).unsqueeze(1), step, alpha)
    if alpha is None:
        ll = T.tensor(np.where(loss_zero, 0.0, -math.inf), dtype=lp.dtype, device=dev)
        ll = ll + lp.sum() * 0  # (connected to log_probs: a zero gradient)
    else:
        last = np.array([2 * v for v in tg_len], np.int64)
        end = alpha.gather(1, T.tensor(last, device=dev).unsqueeze(1)).squeeze(1)
        end1 = alpha.gather(1, T.tensor(np.maximum(last - 1, 0), device=dev).unsqueeze(1)).squeeze(1)
        end1 = T.where(T.tensor(last > 0, device=dev), end1, -math.inf)
        ll = _logsumexp0(T.stack([end, end1]))
        empty = np.array([v == 0 for v in in_len])
        if empty.any():  # no frames: probability 1 for an empty target, else 0
            ll = T.where(T.tensor(empty, device=dev), T.tensor(np.where(loss_zero, 0.0, -math.inf), dtype=lp.dtype,
                                                                     device=dev), ll)
    loss = -ll
    if zero_infinity:
        loss = T.where(loss == math.inf, 0.0, loss)
    if reduction == "mean":
        return (loss / T.tensor(np.maximum(tg_len, 1), dtype=lp.dtype, device=dev)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.squeeze(0)


# ---------------------------------------------------------------------------
# fractional max pooling: windows at pseudo-random intervals (one draw per plane and dim, srcgrad's generator)


def _intervals(sample: Any, size: int, out: int, pool: int, npdt: Any) -> np.ndarray:
    """PyTorch's ``generate_intervals``, in the input's float type."""
    seq = np.empty(out, np.int64)
    if out > 1:
        alpha = npdt(size - pool) / npdt(out - 1)
        u = npdt(sample)
        for i in range(out - 1):
            seq[i] = int((npdt(i) + u) * alpha) - int(u * alpha)
    seq[out - 1] = size - pool
    return seq


def _fractional_max_pool(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                         _random_samples: Tensor | None, n: int) -> tuple[Tensor, Tensor]:
    name = f"fractional_max_pool{n}d"
    if output_size is None and output_ratio is None:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    spatial_in = tuple(input.shape[input.dim() - n:]) if input.dim() >= n else ()
    if output_size is None:
        if isinstance(output_ratio, (tuple, list)) and len(output_ratio) > n:
            raise ValueError(f"{name} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = _ntuple(output_ratio, n)
        output_size = [int(input.shape[input.dim() - n + i] * ratio[i]) for i in range(n)]
    out = tuple(int(e) for e in _ntuple(output_size, n))
    kernel = tuple(int(e) for e in _ntuple(kernel_size, n))
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got: {list(input.shape)}")
    unbatched = input.dim() == n + 1
    x = input.unsqueeze(0) if unbatched else input
    b, c = x.shape[0], x.shape[1]
    names = ("height", "width") if n == 2 else ("time", "height", "width")
    for i in range(n):
        if out[i] + kernel[i] - 1 > spatial_in[i]:
            raise RuntimeError(f"{name}{'' if n == 2 else '_out'}(): pool {names[i]} {kernel[i]} too large relative "
                               f"to input {names[i]} {spatial_in[i]}")
    if _random_samples is None:
        _random_samples = T.rand(b, c, n, dtype=input.dtype, device=input.device)
    if _random_samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {_random_samples.dim()}")
    if _random_samples.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {n}; got {_random_samples.shape[2]}.")
    if _random_samples.shape[0] < b:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if _random_samples.shape[1] != c:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    npdt = np.dtype(input.dtype.name).type if input.dtype.name in ("float32", "float64", "float16") else np.float32
    samples = np.asarray(_random_samples.detach()._value()).astype(npdt)
    # PyTorch's sample order: (W, H) in 2-d, (T, H, W) in 3-d
    order = (1, 0) if n == 2 else (0, 1, 2)
    strides = [math.prod(spatial_in[i + 1:]) for i in range(n)]
    taps = np.stack(np.meshgrid(*[np.arange(k) for k in kernel], indexing="ij"), 0).reshape(n, -1)  # (n, K)
    tap_off = sum(taps[i] * strides[i] for i in range(n))  # (K,)
    index = np.empty((b, c, math.prod(out), tap_off.size), np.int64)
    for bi in range(b):
        for ci in range(c):
            starts = [_intervals(samples[bi, ci, order[i]], spatial_in[i], out[i], kernel[i], npdt) for i in range(n)]
            grid = np.stack(np.meshgrid(*starts, indexing="ij"), 0).reshape(n, -1)  # (n, P)
            base = sum(grid[i] * strides[i] for i in range(n))
            index[bi, ci] = base[:, None] + tap_off[None, :]
    flat = x.reshape(b, c, -1)
    idx = T.tensor(index, device=x.device)
    windows = flat.gather(2, idx.reshape(b, c, -1)).reshape(b, c, index.shape[2], index.shape[3])
    pick = windows.detach().argmax(-1, keepdim=True)  # the first maximum of each window
    positions = idx.gather(3, pick).squeeze(3)
    values = flat.gather(2, positions).reshape(b, c, *out)
    positions = positions.reshape(b, c, *out)
    if unbatched:
        return values.squeeze(0), positions.squeeze(0)
    return values, positions


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling over (N, C, H, W) or (C, H, W): values and flat per-plane indices."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Fractional max pooling over (N, C, D, H, W) or (C, D, H, W): values and flat per-plane indices."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def _return_indices(args: tuple, kwargs: dict) -> bool:
    return bool(kwargs["return_indices"] if "return_indices" in kwargs else args[4] if len(args) > 4 else False)


def fractional_max_pool2d(*args: Any, **kwargs: Any) -> Any:
    """``fractional_max_pool2d_with_indices``, returning the indices only with ``return_indices=True``
    (PyTorch's boolean dispatch, hence its ``(*args, **kwargs)`` signature)."""
    out = fractional_max_pool2d_with_indices(*args, **kwargs)
    return out if _return_indices(args, kwargs) else out[0]


def fractional_max_pool3d(*args: Any, **kwargs: Any) -> Any:
    """``fractional_max_pool3d_with_indices``, returning the indices only with ``return_indices=True``."""
    out = fractional_max_pool3d_with_indices(*args, **kwargs)
    return out if _return_indices(args, kwargs) else out[0]
