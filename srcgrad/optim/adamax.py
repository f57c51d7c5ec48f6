"""``Adamax`` (Adam with the infinity norm), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_betas, check_hyperparameters, step_counter, update_step


class Adamax(Optimizer):
    r"""Adamax: ``m = β1 m + (1-β1) g``, ``u = max(β2 u, |g| + eps)``, ``p -= lr / (1-β1^t) * m / u``.

    ``g`` is the gradient (negated under ``maximize``) plus ``weight_decay * p``. The bias
    correction is computed in the program from the ``step`` tensor: no step recompiles or syncs.
    """

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_hyperparameters(lr, eps=eps)
        check_betas(betas)
        check_hyperparameters(weight_decay=weight_decay, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Four recorded ops a parameter: ``step``, ``exp_avg``, ``exp_inf`` and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            beta1, beta2 = (hyper(b) for b in group["betas"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    state["exp_avg"] = zeros_like(p)
                    state["exp_inf"] = zeros_like(p)
                step_t = state["step"].add_(one)
                extra, attrs = decay_args(p, wd, maximize)
                exp_avg = state["exp_avg"]._inplace("_ema", g, beta1, *extra, attrs=attrs)
                exp_inf = state["exp_inf"]._inplace("_adamax_inf", g, beta2, eps, *extra, attrs=attrs)
                p._inplace("_adamax_param", exp_avg, exp_inf, step_t, lr, beta1, attrs=(p.dtype, lr_tensor))
        return loss
