"""``Adafactor`` (Shazeer & Stern), following PyTorch's single-tensor update rule.

The second moment of a matrix (or of a batch of matrices: the last two dimensions) is kept
factored, as a row and a column average of ``g²``; a vector's is kept whole. The step size is
relative to the parameter's RMS, and the update is clipped by its own RMS over ``d``.

PyTorch reads the step count and two norms back to the host (``step.item()``,
``param.norm().item()``) and does the scalar arithmetic in Python doubles; here that arithmetic
runs in the program, in float64, from the same values, so a step reads nothing back and a new
learning rate compiles nothing. Written with ordinary in-place tensor ops (about twenty a
parameter): Adafactor is chosen for its memory, not for the speed of its step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..tensor import Tensor, zeros, zeros_like
from ..type_info import finfo
from ._fused import hyper
from .optimizer import Optimizer, step_counter, update_step


class Adafactor(Optimizer):
    r"""Per parameter at step ``t``, with ``G`` the gradient (``-G`` under ``maximize``):

    ``β̂ = t^beta2_decay``, ``ρ = min(lr, 1/sqrt(t))``, ``α = max(eps2, RMS(p)) ρ``;
    ``p *= 1 - lr weight_decay``;
    a matrix: ``R = lerp(R, mean(G², -1), β̂)``, ``C = lerp(C, mean(G², -2), β̂)``,
    ``V = R C / max(mean(R, -2), eps1)``; a vector: ``V = lerp(V, G², β̂)``;
    ``U = G / sqrt(max(V, eps1²))``, ``p -= α U / max(1, RMS(U) / d)``.
    ``eps1`` defaults to the parameter dtype's machine epsilon.
    """

    _option_defaults = {"foreach": None, "maximize": False}

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        # (PyTorch's checks and messages, in its order)
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    @update_step
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (recorded lazily, see ``Optimizer``)."""
        loss = self._closure(closure)
        for group in self.param_groups:
            # the scalars, as float64 program inputs (PyTorch's Python doubles)
            lr = hyper(group["lr"], tensor=True).double()
            beta2_decay = hyper(group["beta2_decay"]).double()
            d = hyper(group["d"]).double()
            eps1, eps2 = group["eps"]
            wd = group["weight_decay"]
            one = hyper(1.0)
            for p, g, state in self._with_grads(group):
                if not state:
                    state["step"] = step_counter(p)
                    if g.dim() > 1:
                        state["row_var"] = zeros(g.shape[:-1] + (1,), dtype=g.dtype, device=g.device)
                        state["col_var"] = zeros(g.shape[:-2] + (1, g.shape[-1]), dtype=g.dtype, device=g.device)
                    else:
                        state["variance"] = zeros_like(g)
                grad = -g if group["maximize"] else g
                e1 = finfo(p.dtype).eps if eps1 is None else eps1
                t = state["step"].add_(one).double()
                beta2_t = (t ** beta2_decay).to(p.dtype)  # (a double weight, rounded as lerp_'s Scalar)
                rho = lr.minimum(1 / t ** 0.5)
                alpha = (p.norm(2).double() / p.numel() ** 0.5).clamp(min=hyper(eps2)) * rho
                if wd != 0:
                    p.mul_((1 - lr * hyper(wd)).to(p.dtype))
                if g.dim() > 1:
                    # (g * g).mean(-1) and .mean(-2), as PyTorch writes them: squared norms over the size
                    row_mean = grad.norm(dim=-1, keepdim=True).square_().div_(grad.size(-1))
                    row_var = state["row_var"].lerp_(row_mean, beta2_t)
                    col_mean = grad.norm(dim=-2, keepdim=True).square_().div_(grad.size(-2))
                    col_var = state["col_var"].lerp_(col_mean, beta2_t)
                    var_estimate = row_var @ col_var
                    var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=e1))
                else:
                    var_estimate = state["variance"].lerp_(grad * grad, beta2_t).clone()
                update = var_estimate.clamp_(min=e1 * e1).rsqrt_().mul_(grad)
                denom = (update.norm(2).double() / (update.numel() ** 0.5 * d)).clamp(min=1.0)
                p.add_(update * (-alpha / denom).to(p.dtype))
        return loss
