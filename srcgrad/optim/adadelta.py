"""``Adadelta`` (with ``lr``, weight decay and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, record, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_hyperparameters, step_counter, update_step


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler): ``v = ρ v + (1-ρ) g²``, ``Δ = sqrt(u + eps) / sqrt(v + eps) · g``,
    ``u = ρ u + (1-ρ) Δ²``, ``p -= lr Δ``."""

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_hyperparameters(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_hyperparameters(eps=eps, weight_decay=weight_decay, differentiable=differentiable)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, capturable=capturable,
                        foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Five recorded ops a parameter: ``step``, ``square_avg``, the update ``Δ`` (read by the
        next two), ``acc_delta`` and the parameter."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            rho = hyper(group["rho"])
            eps = hyper(group["eps"])
            wd = weight_decay_input(group)
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    state["square_avg"] = zeros_like(p)
                    state["acc_delta"] = zeros_like(p)
                state["step"].add_(one)
                extra, attrs = decay_args(p, wd, maximize)
                square_avg = state["square_avg"]._inplace("_ema_sq", g, rho, *extra, attrs=attrs)
                # Δ is a tensor of its own: acc_delta and the parameter both read it (and the
                # parameter before its update, for the weight decay)
                delta = record("_adadelta_delta", (g, square_avg, state["acc_delta"], eps, *extra), attrs)
                state["acc_delta"]._inplace("_ema_sq", delta, rho, attrs=(False, False))
                p._inplace("_sgd_param", delta, lr, attrs=(p.dtype, lr_tensor, False, False, False))
        return loss
