"""``NAdam`` (Adam with Nesterov momentum, ``momentum_decay``, decoupled weight decay), as PyTorch's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, ones, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, _get_scalar_dtype, check_betas, check_hyperparameters, step_counter, update_step


class NAdam(Optimizer):
    r"""NAdam (Dozat): ``μ_t = β1 (1 - 0.5 · 0.96^(t ψ))`` (``ψ`` the ``momentum_decay``),
    ``m = β1 m + (1-β1) g``, ``v = β2 v + (1-β2) g²``, ``denom = sqrt(v / (1-β2^t)) + eps``,
    ``p -= lr (1-μ_t) / (1-Πμ) g / denom + lr μ_{t+1} / (1-Πμ·μ_{t+1}) m / denom``.

    ``mu_product`` (``Πμ``) is a 0-d tensor like ``step`` (float32, or float64 under a float64 default dtype), both updated in the program:
    a step never reads either back.
    """

    _option_defaults = {"maximize": False, "foreach": None, "capturable": False, "differentiable": False,
                        "decoupled_weight_decay": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_hyperparameters(lr, eps=eps)
        check_betas(betas)
        check_hyperparameters(weight_decay=weight_decay, momentum_decay=momentum_decay, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Five recorded ops a parameter: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``
        and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            beta1, beta2 = (hyper(b) for b in group["betas"])
            eps = hyper(group["eps"])
            momentum_decay = hyper(group["momentum_decay"])
            wd = weight_decay_input(group)
            decoupled = wd is not None and bool(group["decoupled_weight_decay"])
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    state["mu_product"] = ones((), dtype=_get_scalar_dtype(), device=p.device)  # a tensor like step
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                step_t = state["step"].add_(one)
                mu_product = state["mu_product"]
                mu_product._inplace("_nadam_mu_product", step_t, beta1, momentum_decay, attrs=(mu_product.dtype,))
                extra, attrs = decay_args(p, None if decoupled else wd, maximize)
                exp_avg = state["exp_avg"]._inplace("_ema", g, beta1, *extra, attrs=attrs)
                v = state["exp_avg_sq"]._inplace("_ema_sq", g, beta2, *extra, attrs=attrs)
                p._inplace("_nadam_param", g, exp_avg, v, step_t, mu_product, lr, beta1, beta2, eps, momentum_decay,
                           *((wd,) if decoupled else ()), *extra, attrs=(p.dtype, lr_tensor) + attrs + (decoupled,))
        return loss
