"""``Adam`` and ``AdamW`` (with ``amsgrad`` and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import zeros_like
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_betas, check_hyperparameters, step_counter, update_step


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with L2 weight decay, or decoupled weight decay when ``decoupled_weight_decay``.

    Per parameter at step ``t``: ``m = β1 m + (1-β1) g``, ``v = β2 v + (1-β2) g²``,
    ``p -= lr / (1-β1^t) * m / (sqrt(v) / sqrt(1-β2^t) + eps)`` (``v`` replaced by its running
    maximum with ``amsgrad``). The hyperparameters are program inputs and the bias corrections
    are computed in the program from the ``step`` tensor, so no step and no schedule recompiles.
    """

    _option_defaults = {"amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                        "differentiable": False, "decoupled_weight_decay": False, "fused": None}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_hyperparameters(lr, eps=eps, foreach=foreach, tensor_lr_foreach=not capturable)
        check_betas(betas)
        check_hyperparameters(weight_decay=weight_decay, differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable, differentiable=differentiable,
                        fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Four recorded ops a parameter (five with ``amsgrad``), one per tensor the step
        writes: ``step += 1``, ``exp_avg``, ``exp_avg_sq`` (``max_exp_avg_sq``) and the
        parameter, each computed whole by one op of ``_fused.py``."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            beta1, beta2 = (hyper(b) for b in group["betas"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            decoupled = wd is not None and group["decoupled_weight_decay"]
            decay = (wd,) if decoupled else ()
            maximize, amsgrad = bool(group["maximize"]), group["amsgrad"]
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p, group.get("fused"))
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                step_t = state["step"].add_(one)
                extra, attrs = decay_args(p, None if decoupled else wd, maximize)
                exp_avg = state["exp_avg"]._inplace("_ema", g, beta1, *extra, attrs=attrs)
                v = state["exp_avg_sq"]._inplace("_ema_sq", g, beta2, *extra, attrs=attrs)
                if amsgrad:
                    v = state["max_exp_avg_sq"]._inplace("maximum", v)
                p._inplace("_adam_param", exp_avg, v, step_t, lr, beta1, beta2, eps, *decay,
                           attrs=(p.dtype, lr_tensor, decoupled))
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (``p *= 1 - lr * weight_decay`` before the Adam step)."""

    _option_defaults = {**Adam._option_defaults, "decoupled_weight_decay": True}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
