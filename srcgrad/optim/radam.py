"""``RAdam`` (rectified Adam, with decoupled weight decay), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_betas, check_hyperparameters, step_counter, update_step


class RAdam(Optimizer):
    r"""RAdam (Liu et al.): Adam's moments; with ``ρ∞ = 2/(1-β2) - 1`` and
    ``ρ_t = ρ∞ - 2 t β2^t / (1-β2^t)``, the step is ``lr m̂ r_t sqrt(1-β2^t) / (sqrt(v) + eps)``
    (``r_t`` the variance rectification) where ``ρ_t > 5``, else plain momentum ``lr m̂``.

    Which of the two applies is decided inside the program from the ``step`` tensor, so a step
    never syncs and the switch at ``ρ_t > 5`` compiles nothing new.
    """

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "decoupled_weight_decay": False,
                        "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_hyperparameters(lr, eps=eps)
        check_betas(betas)
        check_hyperparameters(weight_decay=weight_decay, differentiable=differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Four recorded ops a parameter: ``step``, ``exp_avg``, ``exp_avg_sq`` and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            beta1, beta2 = (hyper(b) for b in group["betas"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            decoupled = wd is not None and bool(group["decoupled_weight_decay"])
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                step_t = state["step"].add_(one)
                extra, attrs = decay_args(p, None if decoupled else wd, maximize)
                exp_avg = state["exp_avg"]._inplace("_ema", g, beta1, *extra, attrs=attrs)
                v = state["exp_avg_sq"]._inplace("_ema_sq", g, beta2, *extra, attrs=attrs)
                p._inplace("_radam_param", exp_avg, v, step_t, lr, beta1, beta2, eps, *((wd,) if decoupled else ()),
                           attrs=(p.dtype, lr_tensor, decoupled))
        return loss
