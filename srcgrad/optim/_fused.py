"""Fused optimiser updates: one recorded op per state tensor a step writes.

Written with ordinary tensor ops, PyTorch's Adam records some twenty ops per
parameter and step (the bias corrections alone are a handful), and recording
is what a define-by-run step pays for in Python. Each op here computes the
whole new value of one tensor that the step updates in place (a moment, a
buffer, the parameter) as one JAX expression, so Adam records four ops a
parameter (step counter, ``exp_avg``, ``exp_avg_sq``, parameter; five with
``amsgrad``) and XLA fuses them as before.

Conventions shared by every op:

* Hyperparameters are inputs, never attributes: ``lr``, the betas, ``eps``,
  ``weight_decay`` ... are the optimiser's own Python floats (or tensors), so a
  scheduler that moves any of them compiles nothing new, and under
  ``@srcgrad.compile`` a replay reads their current values from
  ``param_groups``. Quantities derived from them (``1 - beta1``, the bias
  corrections, ``1 - lr * weight_decay``) are computed inside the program.
* The gradient enters as ``grad``; the direction the rule uses is
  ``-grad`` under ``maximize`` plus ``weight_decay * param`` with coupled (L2)
  weight decay, written into the op's expression (attributes ``maximize`` and
  ``l2``; with ``l2`` the op takes ``param`` and ``weight_decay`` as its last inputs).
* Arithmetic follows PyTorch's single-tensor implementation term by term
  (``lerp_``, ``mul_(b).addcmul_(g, g, value=1 - b)``, ``addcdiv_(m, denom,
  value=-step_size)``), and the bias corrections are computed in float64 from
  the ``step`` tensor, as PyTorch computes them in Python doubles from
  ``step.item()``, then rounded to the parameter's dtype.
* A state tensor may have another dtype than the gradient (a float32 momentum
  buffer after ``model.double()``): each op computes in its inputs' common dtype
  and its result is cast to the dtype of the tensor it updates, as PyTorch's
  in-place ops do (``cast="result"``).
* The PyTorch name of an op is the in-place call it stands for (``lerp_``,
  ``addcmul_``, ``addcdiv_``, ``add_``): that is what an error about a tensor
  modified in place names. These ops have no derivative rules: optimisers
  record them under ``no_grad``.

Optimisers call them through ``Tensor._inplace``, the machinery behind
``add_``/``mul_``, so version counters, views and ``@srcgrad.compile``'s
tracking of in-place updates see an ordinary in-place op.
"""

from __future__ import annotations

from typing import Any

from .. import dtypes as D
from ..ops import defop, lit
from ..tensor import Tensor, scalar_node, wrap


def same_as_first(x: Any, *rest: Any, **__: Any) -> tuple:
    """The parameter's shape and dtype, once every tensor operand (gradient, moments) is of its
    shape: a state_dict from another model must raise at ``step()``, not leave a parameter that
    fails at every later use (0-dim operands are the hyperparameters and the step count)."""
    shape = x.shape
    for i in rest:
        s = i.shape
        if s and s != shape:
            raise RuntimeError(f"The size of tensor a ({shape[-1] if shape else 1}) must match the size of tensor b "
                               f"({s[-1]}) at non-singleton dimension {len(shape) - 1 if shape else 0} (optimizer "
                               f"step: a gradient or state tensor of shape {list(s)} for a parameter of shape "
                               f"{list(shape)}; was the optimizer's state_dict loaded from another model?)")
    return shape, x.dtype


def hyper(v: Any, tensor: bool = False) -> Tensor:
    """A hyperparameter as one program input, to pass to the ops of every parameter of a group.

    A Python float stays the very object of ``param_groups`` (``@srcgrad.compile`` finds a
    replay's value by that identity), and one node shared by every op costs one program input
    and no conversion per op. A tensor is used as it is where ``tensor`` (a tensor ``lr``, made
    0-d as PyTorch does), else read as a float (a tensor beta, as srcgrad always has)."""
    if isinstance(v, Tensor):
        if tensor:
            return v.reshape(()) if v.dim() else v
        v = float(v)
    elif type(v) is not float:
        v = float(v)
    return wrap(scalar_node(v))


def lr_input(group: dict[str, Any]) -> tuple[Tensor, bool]:
    """The group's ``lr`` as a program input, and whether it is a tensor: the ops' ``lr_tensor``
    attribute, which tells them how to read that input."""
    return hyper(group["lr"], tensor=True), isinstance(group["lr"], Tensor)


def weight_decay_input(group: dict[str, Any]) -> Tensor | None:
    """The group's ``weight_decay`` as a program input, or None when it is 0: ``decay_args`` then
    leaves the decay term out of the ops altogether."""
    return hyper(group["weight_decay"]) if group["weight_decay"] != 0 else None


def direction(names: list, k: int, a: dict) -> str:
    """The update direction written from ``names[k]`` (the gradient) and, with ``l2``, the op's
    last two inputs (``param``, ``weight_decay``): ``-g`` under ``maximize``, ``+ wd * p`` (PyTorch's
    ``grad.add(param, alpha=weight_decay)``)."""
    d = f"-{names[k]}" if a["maximize"] else names[k]
    return f"({d} + {names[-1]} * {names[-2]})" if a["l2"] else d


def _cast(expr: str, dtype: D.dtype) -> str:
    """A float64 scalar expression in the parameter's dtype (nothing to write for float64)."""
    return expr if dtype is D.float64 else f"{expr}.astype({lit(dtype)})"


def _lr(lr: str, a: dict) -> str:
    """``lr`` as a factor of the parameter's update: a Python float as it is (JAX rounds it to the
    parameter's dtype, as PyTorch rounds a ``Scalar``), a tensor cast to the parameter's dtype."""
    return f"{lr}.astype({lit(a['dtype'])})" if a["lr_tensor"] else lr


def _step_size(lr: str, factor: str, a: dict) -> str:
    """``lr / factor`` as PyTorch forms it: in float64 for a Python ``lr``; in the tensor's own dtype
    for a tensor ``lr`` (``factor`` then rounded to it first); then in the parameter's dtype."""
    if a["lr_tensor"]:
        return f"({lr} / {factor}.astype({lr}.dtype)).astype({lit(a['dtype'])})"
    return _cast(f"({lr} / {factor})", a["dtype"])


# ---------------------------------------------------------------------------
# moments and accumulators


def lower_ema(names: list, a: dict) -> str:
    """``avg.lerp_(d, 1 - beta)``, with PyTorch's formulas for a weight below and above 0.5."""
    avg, beta = names[0], names[2]
    d = direction(names, 1, a)
    return f"jnp.where({beta} > 0.5, {avg} + (1 - {beta}) * ({d} - {avg}), {d} - ({d} - {avg}) * {beta})"


def lower_ema_sq(names: list, a: dict) -> str:
    """``avg_sq.mul_(beta).addcmul_(d, d, value=1 - beta)``."""
    avg, beta = names[0], names[2]
    d = direction(names, 1, a)
    return f"{avg} * {beta} + (1 - {beta}) * {d} * {d}"


def lower_add_sq(names: list, a: dict) -> str:
    """``acc.addcmul_(d, d, value=1)`` (Adagrad's sum of squares)."""
    d = direction(names, 1, a)
    return f"{names[0]} + {d} * {d}"


MOMENT_ATTRS = ("maximize", "l2")
# avg, grad, beta[, param, weight_decay]
defop("_ema", same_as_first, lower_ema, "LerpBackward0", MOMENT_ATTRS, saves="", cast="result")
defop("_ema_sq", same_as_first, lower_ema_sq, "AddcmulBackward0", MOMENT_ATTRS, saves="", cast="result")
# acc, grad[, param, weight_decay]
defop("_add_sq", same_as_first, lower_add_sq, "AddcmulBackward0", MOMENT_ATTRS, saves="", cast="result")


def lower_sgd_buf(names: list, a: dict) -> str:
    """``buf.mul_(momentum).add_(d, alpha=1 - dampening)`` (``alpha`` 1 without ``dampening``)."""
    d = direction(names, 1, a)
    return f"{names[0]} * {names[2]} + " + (f"(1 - {names[3]}) * {d}" if a["dampening"] else d)


# buf, grad, momentum[, dampening][, param, weight_decay]
defop("_sgd_buf", same_as_first, lower_sgd_buf, "AddBackward0", MOMENT_ATTRS + ("dampening",), saves="", cast="result")


# ---------------------------------------------------------------------------
# parameter updates


def lower_adam_param(names: list, a: dict) -> str:
    """``param.mul_(1 - lr * wd)`` (decoupled weight decay), then
    ``param.addcdiv_(exp_avg, sqrt(v) / sqrt(1 - beta2 ** t) + eps, value=-lr / (1 - beta1 ** t))``."""
    p, m, v, step, lr, b1, b2, eps = names[:8]
    t = f"{step}.astype(jnp.float64)"
    step_size = _step_size(lr, f"(1 - {b1} ** {t})", a)
    denom = f"(jnp.sqrt({v}) / {_cast(f'jnp.sqrt(1 - {b2} ** {t})', a['dtype'])} + {eps})"
    if a["decoupled"]:
        decay = f"(1 - {lr} * {names[8]})"
        p = f"{p} * {decay}.astype({lit(a['dtype'])})" if a["lr_tensor"] else f"{p} * {decay}"
    return f"{p} - {step_size} * {m} / {denom}"


def lower_adagrad_param(names: list, a: dict) -> str:
    """``param.addcdiv_(d, sqrt(sum) + eps, value=-lr / (1 + (t - 1) * lr_decay))``."""
    p, _, acc, step, lr, lr_decay, eps = names[:7]
    clr = _step_size(lr, f"(1 + ({step}.astype(jnp.float64) - 1) * {lr_decay})", a)
    return f"{p} - {clr} * {direction(names, 1, a)} / (jnp.sqrt({acc}) + {eps})"


def lower_rmsprop(names: list, a: dict) -> str:
    """``param.addcdiv_(d, avg, value=-lr)``, or with ``buffer`` (input 0 the momentum buffer and
    ``momentum`` in ``lr``'s place) ``buf.mul_(momentum).addcdiv_(d, avg)``; ``avg`` is
    ``square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_().add_(eps)`` when centered, else
    ``square_avg.sqrt().add_(eps)``."""
    x, _, sq = names[:3]
    k = 3
    if a["centered"]:
        sq = f"{sq} - {names[3]} * {names[3]}"
        k = 4
    scale, eps = names[k], names[k + 1]
    d = direction(names, 1, a)
    avg = f"(jnp.sqrt({sq}) + {eps})"
    if a["buffer"]:
        return f"{x} * {scale} + {d} / {avg}"
    return f"{x} - {_lr(scale, a)} * {d} / {avg}"


def lower_sgd_param(names: list, a: dict) -> str:
    """``param.add_(u, alpha=-lr)``: ``u`` the direction, or with ``nesterov`` (inputs ``buf`` and
    ``momentum`` after ``lr``) ``d.add(buf, alpha=momentum)``."""
    p, _, lr = names[:3]
    d = direction(names, 1, a)
    if a["nesterov"]:
        d = f"({d} + {names[4]} * {names[3]})"
    return f"{p} - {_lr(lr, a)} * {d}"


PARAM_ATTRS = ("dtype", "lr_tensor")
# param, exp_avg, exp_avg_sq (or max_exp_avg_sq), step, lr, beta1, beta2, eps[, weight_decay]
defop("_adam_param", same_as_first, lower_adam_param, "AddcdivBackward0", PARAM_ATTRS + ("decoupled",), saves="", cast="result")
# param, grad, sum, step, lr, lr_decay, eps[, param, weight_decay]
defop("_adagrad_param", same_as_first, lower_adagrad_param, "AddcdivBackward0", PARAM_ATTRS + MOMENT_ATTRS,
      saves="", cast="result")
# param (or buf), grad, square_avg[, grad_avg], lr (or momentum), eps[, param, weight_decay]
defop("_rmsprop", same_as_first, lower_rmsprop, "AddcdivBackward0",
      PARAM_ATTRS + MOMENT_ATTRS + ("centered", "buffer"), saves="", cast="result")
# param, grad (or the momentum buffer), lr[, buf, momentum][, param, weight_decay]
defop("_sgd_param", same_as_first, lower_sgd_param, "AddBackward0", PARAM_ATTRS + MOMENT_ATTRS + ("nesterov",),
      saves="", cast="result")


def decay_args(p: Tensor, wd: Tensor | None, maximize: bool) -> tuple[tuple, tuple]:
    """The trailing inputs and the attributes that give an op the direction: ``(param,
    weight_decay)`` and ``l2`` with coupled weight decay (``wd`` not None)."""
    if wd is None:
        return (), (maximize, False)
    return (p, wd), (maximize, True)
