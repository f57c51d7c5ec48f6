"""``Rprop`` (resilient backpropagation), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, full_like, zeros_like
from . import _fused_algorithms  # noqa: F401  (declares the ops recorded below)
from ._fused import hyper
from .optimizer import Optimizer, check_hyperparameters, step_counter, update_step


class Rprop(Optimizer):
    r"""Rprop: per entry, the step size grows by ``etaplus`` while the gradient keeps its sign and
    shrinks by ``etaminus`` when it flips (clamped to ``step_sizes``); ``p -= sign(g) · step_size``,
    with ``g`` taken as 0 (and remembered as 0) right after a sign flip.

    ``lr`` is only the initial step size of each entry, as in PyTorch.
    """

    _option_defaults = {"foreach": None, "maximize": False, "differentiable": False, "capturable": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_hyperparameters(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        check_hyperparameters(differentiable=differentiable)
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        Four recorded ops a parameter: ``step``, ``step_size``, the parameter and ``prev``."""
        loss = self._closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = (hyper(e) for e in group["etas"])
            lo, hi = (hyper(s) for s in group["step_sizes"])
            maximize = (bool(group["maximize"]),)
            # lr only sets the initial step sizes, but passing it keeps it a program input: a
            # compiled step would otherwise guard its value and trace again whenever it moves
            lr_input = hyper(group["lr"], tensor=True)
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    lr = group["lr"]
                    state["step"] = step_counter(p)
                    state["prev"] = zeros_like(p)
                    state["step_size"] = (lr.detach().reshape(()).to(dtype=g.dtype).expand(g.shape).clone()
                                          if isinstance(lr, Tensor) else full_like(g, float(lr)))
                state["step"].add_(one)
                prev = state["prev"]
                step_size = state["step_size"]._inplace("_rprop_step_size", g, prev, etaminus, etaplus, lo, hi,
                                                        lr_input, attrs=maximize)
                p._inplace("_rprop_param", g, prev, step_size, attrs=maximize)
                prev._inplace("_rprop_prev", g, attrs=maximize)
        return loss
