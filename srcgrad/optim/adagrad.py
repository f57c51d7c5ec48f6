"""``Adagrad`` (with ``lr_decay``, weight decay and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import full_like
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_hyperparameters, step_counter, update_step


class Adagrad(Optimizer):
    r"""``s += g²``; ``p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(s) + eps)``."""

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "fused": None}

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_hyperparameters(lr, differentiable, lr_decay=lr_decay, weight_decay=weight_decay,
                              initial_accumulator_value=initial_accumulator_value, eps=eps, foreach=foreach,
                              fused=fused)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["step"] = step_counter(p, group.get("fused"))
                self.state[p]["sum"] = full_like(p, float(group["initial_accumulator_value"]))

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Three recorded ops a parameter: ``step``, ``sum`` and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            lr_decay = hyper(group["lr_decay"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                step_t = state["step"].add_(one)
                extra, attrs = decay_args(p, wd, maximize)
                acc = state["sum"]._inplace("_add_sq", g, *extra, attrs=attrs)
                p._inplace("_adagrad_param", g, acc, step_t, lr, lr_decay, eps, *extra,
                           attrs=(p.dtype, lr_tensor) + attrs)
        return loss
