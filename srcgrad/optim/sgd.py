"""``SGD`` with momentum, dampening, Nesterov momentum, weight decay and ``maximize`` (PyTorch's rule)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..grad_mode import no_grad
from .optimizer import Optimizer, scalar


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    Per parameter: ``g = ±grad + weight_decay * p``; with momentum,
    ``b = momentum * b + (1 - dampening) * g`` (``b = g`` on the first step) and
    ``g = g + momentum * b`` (Nesterov) or ``g = b``; then ``p -= lr * g``.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        if isinstance(lr, (int, float)) and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by srcgrad optimizers")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``)."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = scalar(group["lr"])
            wd = float(group["weight_decay"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                g = self._direction(p, g, group, wd)
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.detach().clone()
                    else:
                        buf.mul_(momentum)
                        buf.add_(g if dampening == 0 else (1 - dampening) * g)
                    g = g + momentum * buf if group["nesterov"] else buf
                p.sub_(lr * g)
        return loss
