"""``srcgrad.nn.functional``: activations and losses, numerically stable."""

from __future__ import annotations

import math
from typing import Any

from .. import tensor as T
from ..tensor import Tensor, record


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return x.softplus(beta, threshold)


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


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape("mse_loss", input, target)
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    if input.dim() < 1 or target.dtype.category != 1:
        raise RuntimeError(f"nll_loss expects class indices of an integer dtype as target (got "
                           f"{target.dtype}); input shape {list(input.shape)}")
    if input.dim() == 1:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    if target.shape[0] != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    classes = input.shape[1]
    valid = target != ignore_index
    safe = T.where(valid, target, 0)
    picked = input.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = valid.to(input.dtype)
    if weight is not None:
        w = w * weight[safe]
    loss = -picked * w
    del classes
    if reduction == "mean":
        return loss.sum() / w.sum()
    return _reduce(loss, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    logp = log_softmax(input, 1 if input.dim() > 1 else 0)
    if target.dtype.is_floating_point:  # class probabilities
        return _reduce(-(target * logp).sum(1 if input.dim() > 1 else 0), reduction)
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if label_smoothing == 0.0:
        return nll
    classes = input.shape[1] if input.dim() > 1 else input.shape[0]
    lp = logp if logp.dim() > 1 else logp.unsqueeze(0)
    tg = target if target.dim() > 0 else target.unsqueeze(0)
    valid = (tg != ignore_index).to(input.dtype)
    smooth = -lp.sum(1) * valid if weight is None else -(lp * weight).sum(1) * valid
    if reduction == "mean":
        denom = valid.sum() if weight is None else (weight[T.where(tg != ignore_index, tg, 0)] * valid).sum()
        smooth = smooth.sum() / denom
    else:
        smooth = _reduce(smooth, reduction)
    return (1 - label_smoothing) * nll + label_smoothing / classes * smooth


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
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


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    loss = -(target * input.log().clamp(min=-100) + (1 - target) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    out = x @ weight.t()
    return out + bias if bias is not None else out


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


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    return weight[input]


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
        causal = T.ones(n, m, dtype=T.D.bool_).tril() if False else (T.arange(n).unsqueeze(1) >= T.arange(m))
        scores = scores.masked_fill(~causal, -math.inf)
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, -math.inf) if attn_mask.dtype.name == "bool" else scores + attn_mask
    return dropout(scores.softmax(-1), dropout_p, dropout_p > 0) @ v
