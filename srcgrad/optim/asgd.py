"""``ASGD`` (averaged SGD), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, ones, tensor, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, _get_scalar_dtype, check_hyperparameters, step_counter, update_step


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky): ``p = p (1 - λ η) - η g``; ``ax`` averages the iterates
    once ``t > t0`` (``ax += (p - ax) μ``, else ``ax = p``); then ``η = lr / (1 + λ lr t)^α`` and
    ``μ = 1 / max(1, t - t0)``.

    ``eta`` and ``mu`` are 0-d tensors of ``step``'s dtype, as in PyTorch, computed in the program from the
    ``step`` tensor: a step never reads them back.
    """

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_hyperparameters(lr, weight_decay=weight_decay, differentiable=differentiable)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Five recorded ops a parameter: ``step``, the parameter, ``ax``, ``eta`` and ``mu``."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            lambd, alpha, t0 = hyper(group["lambd"]), hyper(group["alpha"]), hyper(group["t0"])
            wd = weight_decay_input(group)
            maximize = bool(group["maximize"])
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    # eta and mu are tensors too, as in PyTorch; eta starts at the group's lr
                    scalar = _get_scalar_dtype()
                    state["eta"] = (group["lr"].detach().reshape(()).to(dtype=scalar, device=p.device).clone()
                                    if lr_tensor else tensor(float(group["lr"]), dtype=scalar, device=p.device))
                    state["mu"] = ones((), dtype=scalar, device=p.device)
                    state["ax"] = zeros_like(p)
                step_t = state["step"].add_(one)
                eta, mu = state["eta"], state["mu"]
                extra, attrs = decay_args(p, wd, maximize)
                p._inplace("_asgd_param", g, eta, lambd, *extra, attrs=(p.dtype,) + attrs)
                state["ax"]._inplace("_asgd_ax", p, mu)
                eta._inplace("_asgd_eta", step_t, lr, lambd, alpha, attrs=(lr_tensor,))
                mu._inplace("_asgd_mu", step_t, t0)
        return loss
