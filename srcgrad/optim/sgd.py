"""``SGD`` with momentum, dampening, Nesterov momentum, weight decay and ``maximize`` (PyTorch's rule)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._fused import decay_args, hyper, lr_input, weight_decay_input
from .optimizer import Optimizer, check_hyperparameters, update_step


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    Per parameter: ``g = ±grad + weight_decay * p``; with momentum,
    ``b = momentum * b + (1 - dampening) * g`` (``b = g`` on the first step) and
    ``g = g + momentum * b`` (Nesterov) or ``g = b``; then ``p -= lr * g``.
    """

    _option_defaults = {"nesterov": False, "maximize": False, "foreach": None, "differentiable": False,
                        "fused": False}

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        check_hyperparameters(lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        check_hyperparameters(differentiable=differentiable, foreach=foreach, fused=fused)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``).

        One recorded op a parameter, two with momentum (the buffer, then the parameter)."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, lr_tensor = lr_input(group)
            wd = weight_decay_input(group)
            maximize, nesterov = bool(group["maximize"]), bool(group["nesterov"])
            use_momentum = group["momentum"] != 0
            if use_momentum:
                momentum = hyper(group["momentum"])
                dampening = (hyper(group["dampening"]),) if group["dampening"] != 0 else ()
            # The buffers as the step starts, as PyTorch gathers them before updating: a
            # parameter listed twice (deprecated) makes two fresh buffers on its first step.
            bufs = [self.state[p].get("momentum_buffer") if use_momentum and p.grad is not None else None
                    for p in group["params"]]
            for p, buf in zip(group["params"], bufs):
                g = p.grad
                if g is None:
                    continue
                extra, attrs = decay_args(p, wd, maximize)
                pattrs = (p.dtype, lr_tensor)
                if not use_momentum:
                    p._inplace("_sgd_param", g, lr, *extra, attrs=pattrs + attrs + (False,))
                    continue
                state = self.state[p]
                if buf is None:  # the first step: the buffer is the direction itself
                    d = self._direction(p, g, group, float(group["weight_decay"]))
                    buf = state["momentum_buffer"] = d.clone()
                else:
                    buf._inplace("_sgd_buf", g, momentum, *dampening, *extra, attrs=attrs + (bool(dampening),))
                if nesterov:
                    p._inplace("_sgd_param", g, lr, buf, momentum, *extra, attrs=pattrs + attrs + (True,))
                else:
                    p._inplace("_sgd_param", buf, lr, attrs=pattrs + (False, False, False))
        return loss
