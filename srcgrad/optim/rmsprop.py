"""``RMSprop`` (with momentum, ``centered`` and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import zeros_like
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_hyperparameters, step_counter, update_step


class RMSprop(Optimizer):
    r"""``v = α v + (1-α) g²``; ``avg = sqrt(v - ḡ²) + eps`` (centered, ``ḡ`` the running mean of ``g``)
    or ``sqrt(v) + eps``; with momentum ``b = μ b + g / avg`` and ``p -= lr b``, else ``p -= lr g / avg``."""

    _option_defaults = {"momentum": 0, "centered": False, "foreach": None, "maximize": False, "differentiable": False,
                        "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_hyperparameters(lr, differentiable, eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        One recorded op per tensor the step writes: ``step``, ``square_avg``, ``grad_avg``
        (centered), ``momentum_buffer`` (momentum) and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            alpha = hyper(group["alpha"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            use_momentum = group["momentum"] > 0
            momentum = hyper(group["momentum"]) if use_momentum else None
            maximize, centered = bool(group["maximize"]), bool(group["centered"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    state["square_avg"] = zeros_like(p)
                    if use_momentum:
                        state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        state["grad_avg"] = zeros_like(p)
                state["step"].add_(one)
                extra, attrs = decay_args(p, wd, maximize)
                pattrs = (p.dtype, lr_tensor)
                square_avg = state["square_avg"]._inplace("_ema_sq", g, alpha, *extra, attrs=attrs)
                avgs = (square_avg, state["grad_avg"]._inplace("_ema", g, alpha, *extra, attrs=attrs)) if centered \
                    else (square_avg,)
                if use_momentum:
                    buf = state["momentum_buffer"]._inplace("_rmsprop", g, *avgs, momentum, eps, *extra,
                                                            attrs=pattrs + attrs + (centered, True))
                    p._inplace("_sgd_param", buf, lr, attrs=pattrs + (False, False, False))
                else:
                    p._inplace("_rmsprop", g, *avgs, lr, eps, *extra, attrs=pattrs + attrs + (centered, False))
        return loss
