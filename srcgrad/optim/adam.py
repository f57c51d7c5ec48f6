"""``Adam`` and ``AdamW`` (with ``amsgrad`` and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..dtypes import float32
from ..grad_mode import no_grad
from ..tensor import zeros, zeros_like
from .optimizer import Optimizer, scalar


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with L2 weight decay, or decoupled weight decay when ``decoupled_weight_decay``.

    Per parameter at step ``t``: ``m = β1 m + (1-β1) g``, ``v = β2 v + (1-β2) g²``,
    ``p -= lr / (1-β1^t) * m / (sqrt(v) / sqrt(1-β2^t) + eps)`` (``v`` replaced by its running
    maximum with ``amsgrad``). The bias corrections are Python floats, so no step recompiles.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, (int, float)) and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by srcgrad optimizers")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``)."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = scalar(group["lr"])
            beta1, beta2 = (float(b) for b in group["betas"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if not state:
                    # a tensor, as in PyTorch: a compiled step then counts on the device, not in Python
                    state["step"] = zeros((), dtype=float32, device=p.device)
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if group["amsgrad"]:
                        state["max_exp_avg_sq"] = zeros_like(p)
                state["step"].add_(1)
                t = state["step"].to(p.dtype)  # bias corrections in the parameter's precision
                if group["maximize"]:
                    g = -g
                if wd != 0:
                    if group["decoupled_weight_decay"]:
                        p.mul_(1 - lr * wd)
                    else:
                        g = g + wd * p
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                exp_avg.add_((g - exp_avg) * (1 - beta1))
                exp_avg_sq.mul_(beta2)
                exp_avg_sq.add_(g * g * (1 - beta2))
                step_size = lr / (1 - beta1 ** t)
                bc2_sqrt = (1 - beta2 ** t).sqrt()
                if group["amsgrad"]:
                    max_sq = state["max_exp_avg_sq"]
                    max_sq.copy_(max_sq.maximum(exp_avg_sq))
                    denom = max_sq.sqrt() / bc2_sqrt + eps
                else:
                    denom = exp_avg_sq.sqrt() / bc2_sqrt + eps
                p.sub_(exp_avg / denom * step_size)
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam step)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
