"""``RMSprop`` (with momentum, ``centered`` and ``maximize``), following PyTorch's update rule."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..dtypes import float32
from ..grad_mode import no_grad
from ..tensor import zeros, zeros_like
from .optimizer import Optimizer, scalar


class RMSprop(Optimizer):
    r"""``v = α v + (1-α) g²``; ``avg = sqrt(v - ḡ²) + eps`` (centered, ``ḡ`` the running mean of ``g``)
    or ``sqrt(v) + eps``; with momentum ``b = μ b + g / avg`` and ``p -= lr b``, else ``p -= lr g / avg``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        if isinstance(lr, (int, float)) and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by srcgrad optimizers")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``)."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr = scalar(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            wd = float(group["weight_decay"])
            momentum = float(group["momentum"])
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = zeros((), dtype=float32, device=p.device)  # a tensor, as in PyTorch
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if group["centered"]:
                        state["grad_avg"] = zeros_like(p)
                state["step"].add_(1)
                g = self._direction(p, g, group, wd)
                square_avg = state["square_avg"]
                square_avg.mul_(alpha)
                square_avg.add_(g * g * (1 - alpha))
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg.add_((g - grad_avg) * (1 - alpha))
                    avg = (square_avg - grad_avg * grad_avg).sqrt() + eps
                else:
                    avg = square_avg.sqrt() + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum)
                    buf.add_(g / avg)
                    p.sub_(lr * buf)
                else:
                    p.sub_(g / avg * lr)
        return loss
