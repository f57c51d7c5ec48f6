"""Fused updates of ``Adamax``, ``NAdam``, ``RAdam``, ``Adadelta``, ``ASGD`` and ``Rprop``.

The conventions of ``_fused.py`` hold here: one op computes the whole new value of
one tensor that a step writes in place; hyperparameters are inputs (never
attributes), so a moving learning rate compiles nothing new; everything derived
from the ``step`` counter (bias corrections, NAdam's momentum schedule, RAdam's
rectification, ASGD's ``eta`` and ``mu``) is computed inside the program in
float64, as PyTorch computes it in Python doubles from ``step.item()``, so a
step never reads a value back; the direction is ``-grad`` under ``maximize``
plus ``weight_decay * param`` with coupled weight decay (attributes
``maximize`` and ``l2``, inputs ``param, weight_decay`` last).
"""

from __future__ import annotations

from ..ops import defop, lit
from ._fused import MOMENT_ATTRS, PARAM_ATTRS, _cast, direction, same_as_first


def _f64(x: str) -> str:
    return f"{x}.astype(jnp.float64)"


def _lr64(lr: str, a: dict) -> str:
    """``lr`` as a float64 scalar expression (a tensor ``lr`` is read in the program, not on the host)."""
    return _f64(lr) if a["lr_tensor"] else lr


def _decoupled(p: str, lr: str, wd: str, a: dict) -> str:
    """``param.mul_(1 - lr * weight_decay)``: the factor formed in float64, then the parameter's dtype."""
    return f"{p} * {_cast(f'(1 - {_lr64(lr, a)} * {wd})', a['dtype'])}"


# ---------------------------------------------------------------------------
# Adamax


def lower_adamax_inf(names: list, a: dict) -> str:
    """``torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps))``."""
    inf, _, b2, eps = names[:4]
    return f"jnp.maximum({inf} * {b2}, jnp.abs({direction(names, 1, a)}) + {eps})"


def lower_adamax_param(names: list, a: dict) -> str:
    """``param.addcdiv_(exp_avg, exp_inf, value=-lr / (1 - beta1 ** t))``."""
    p, m, inf, step, lr, b1 = names[:6]
    clr = _cast(f"({_lr64(lr, a)} / (1 - {b1} ** {_f64(step)}))", a["dtype"])
    return f"{p} - {clr} * {m} / {inf}"


# exp_inf, grad, beta2, eps[, param, weight_decay]
defop("_adamax_inf", same_as_first, lower_adamax_inf, "MaximumBackward0", MOMENT_ATTRS, saves="", cast="result")
# param, exp_avg, exp_inf, step, lr, beta1
defop("_adamax_param", same_as_first, lower_adamax_param, "AddcdivBackward0", PARAM_ATTRS, saves="", cast="result")


# ---------------------------------------------------------------------------
# NAdam


def _nadam_mu(b1: str, t: str, md: str) -> str:
    """PyTorch's momentum schedule ``beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``."""
    return f"({b1} * (1.0 - 0.5 * 0.96 ** ({t} * {md})))"


def lower_nadam_mu_product(names: list, a: dict) -> str:
    """``mu_product *= mu``: ``mu`` a double rounded to ``mu_product``'s dtype first, as PyTorch's
    CPU kernel multiplies a float tensor by a scalar in float."""
    mp, step, b1, md = names
    return f"{mp} * {_nadam_mu(b1, _f64(step), md)}.astype({lit(a['dtype'])})"


def lower_nadam_param(names: list, a: dict) -> str:
    """With ``denom = sqrt(v / (1 - beta2 ** t)) + eps``:
    ``param.addcdiv_(d, denom, value=-lr * (1 - mu) / (1 - mu_product))`` then
    ``param.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1 - mu_product * mu_next))``
    (``mu_product`` already updated; decoupled weight decay first)."""
    p, _, m, v, step, mp, lr, b1, b2, eps, md = names[:11]
    t = _f64(step)
    lr64, dt = _lr64(lr, a), a["dtype"]
    mu, mu_next = _nadam_mu(b1, t, md), _nadam_mu(b1, f"({t} + 1)", md)
    mp64 = _f64(mp)
    denom = f"(jnp.sqrt({v} / {_cast(f'(1 - {b2} ** {t})', dt)}) + {eps})"
    c_grad = _cast(f"(-{lr64} * (1.0 - {mu}) / (1.0 - {mp64}))", dt)
    c_avg = _cast(f"((-{lr64} * {mu_next}) / (1.0 - {mp64} * {mu_next}))", dt)
    if a["decoupled"]:
        p = _decoupled(p, lr, names[11], a)
    return f"{p} + {c_grad} * {direction(names, 1, a)} / {denom} + {c_avg} * {m} / {denom}"


# mu_product, step, beta1, momentum_decay
defop("_nadam_mu_product", same_as_first, lower_nadam_mu_product, "MulBackward0", ("dtype",), saves="",
      cast="result")
# param, grad, exp_avg, exp_avg_sq, step, mu_product, lr, beta1, beta2, eps, momentum_decay
#   [, weight_decay (decoupled)][, param, weight_decay (l2)]
defop("_nadam_param", same_as_first, lower_nadam_param, "AddcdivBackward0",
      PARAM_ATTRS + MOMENT_ATTRS + ("decoupled",), saves="", cast="result")


# ---------------------------------------------------------------------------
# RAdam


def lower_radam_param(names: list, a: dict) -> str:
    """``bias_corrected = exp_avg / (1 - beta1 ** t)``; with ``rho_t > 5``
    ``param -= bias_corrected * lr * sqrt(1 - beta2 ** t) / (sqrt(v) + eps) * rect``, else
    ``param -= bias_corrected * lr``: the branch is taken in the program (``jnp.where`` on the
    step), not on the host, so the step never syncs."""
    p, m, v, step, lr, b1, b2, eps = names[:8]
    t, dt = _f64(step), a["dtype"]
    lr_ = _cast(_lr64(lr, a), dt) if a["lr_tensor"] else lr
    bc2 = f"(1 - {b2} ** {t})"
    rho_inf = f"(2 / (1 - {b2}) - 1)"
    rho_t = f"({rho_inf} - 2 * {t} * ({b2} ** {t}) / {bc2})"
    rect = (f"(({rho_t} - 4) * ({rho_t} - 2) * {rho_inf} / (({rho_inf} - 4) * ({rho_inf} - 2) * {rho_t})) "
            "** 0.5")
    corrected = f"({m} / {_cast(f'(1 - {b1} ** {t})', dt)})"
    adaptive = f"({_cast(f'({bc2} ** 0.5)', dt)} / (jnp.sqrt({v}) + {eps}))"
    if a["decoupled"]:
        p = _decoupled(p, lr, names[8], a)
    return (f"{p} - jnp.where({rho_t} > 5.0, {corrected} * {lr_} * {adaptive} * {_cast(f'({rect})', dt)}, "
            f"{corrected} * {lr_})")


# param, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps[, weight_decay (decoupled)]
defop("_radam_param", same_as_first, lower_radam_param, "AddBackward0", PARAM_ATTRS + ("decoupled",), saves="",
      cast="result")


# ---------------------------------------------------------------------------
# Adadelta


def lower_adadelta_delta(names: list, a: dict) -> str:
    """``acc_delta.add(eps).sqrt_().div_(square_avg.add(eps).sqrt_()).mul_(d)`` (a new tensor: both
    ``acc_delta`` and the parameter are then updated from it)."""
    _, sq, acc, eps = names[:4]
    return f"jnp.sqrt({acc} + {eps}) / jnp.sqrt({sq} + {eps}) * {direction(names, 0, a)}"


# grad, square_avg, acc_delta, eps[, param, weight_decay]
defop("_adadelta_delta", same_as_first, lower_adadelta_delta, "MulBackward0", MOMENT_ATTRS, saves="",
      cast="result")


# ---------------------------------------------------------------------------
# ASGD


def lower_asgd_param(names: list, a: dict) -> str:
    """``param.mul_(1 - lambd * eta)`` then ``param.add_(d, alpha=-eta)``, ``eta`` read as a double
    (PyTorch's ``eta.item()``) in the program."""
    p, _, eta, lambd = names[:4]
    eta64 = _f64(eta)
    return f"{p} * {_cast(f'(1 - {lambd} * {eta64})', a['dtype'])} - {_cast(eta64, a['dtype'])} * " \
           f"{direction(names, 1, a)}"


def lower_asgd_ax(names: list, a: dict) -> str:
    """``ax.copy_(param)`` while ``mu`` is 1, else ``ax.add_(param.sub(ax).mul_(mu))``."""
    ax, p, mu = names
    return f"jnp.where({mu} == 1, {p}, {ax} + ({p} - {ax}) * {mu})"


def lower_asgd_eta(names: list, a: dict) -> str:
    """``eta = lr / (1 + lambd * lr * t) ** alpha`` (a double, rounded to ``eta``'s dtype: float64
    intermediates are not cast back by ``cast="result"``, which only sees the inputs' dtypes)."""
    eta, step, lr, lambd, alpha = names
    lr64 = _lr64(lr, a)
    return f"({lr64} / ((1 + {lambd} * {lr64} * {_f64(step)}) ** {alpha})).astype({eta}.dtype)"


def lower_asgd_mu(names: list, a: dict) -> str:
    """``mu = 1 / max(1, t - t0)``."""
    mu, step, t0 = names
    return f"(1 / jnp.maximum(1.0, {_f64(step)} - {t0})).astype({mu}.dtype)"


# param, grad, eta, lambd[, param, weight_decay]
defop("_asgd_param", same_as_first, lower_asgd_param, "AddBackward0", ("dtype",) + MOMENT_ATTRS, saves="",
      cast="result")
# ax, param, mu
defop("_asgd_ax", same_as_first, lower_asgd_ax, "AddBackward0", (), saves="", cast="result")
# eta, step, lr, lambd, alpha
defop("_asgd_eta", same_as_first, lower_asgd_eta, "CopyBackwards", ("lr_tensor",), saves="", cast="result")
# mu, step, t0
defop("_asgd_mu", same_as_first, lower_asgd_mu, "CopyBackwards", (), saves="", cast="result")


# ---------------------------------------------------------------------------
# Rprop


def _rprop_sign(d: str, prev: str) -> str:
    return f"jnp.sign({d} * {prev})"


def lower_rprop_step_size(names: list, a: dict) -> str:
    """``sign = (d * prev).sign()`` with its positive entries set to ``etaplus``, negative ones to
    ``etaminus`` and zeros to 1; ``step_size.mul_(sign).clamp_(step_size_min, step_size_max)``."""
    ss, g, prev, etaminus, etaplus, lo, hi = names[:7]
    d = f"-{g}" if a["maximize"] else g
    s = _rprop_sign(d, prev)
    factor = f"jnp.where({s} > 0, {etaplus}, jnp.where({s} < 0, {etaminus}, jnp.where({s} == 0, 1.0, {s})))"
    return f"jnp.minimum(jnp.maximum({ss} * {factor}.astype({ss}.dtype), {lo}), {hi})"


def _rprop_masked(names: list, a: dict) -> str:
    """The direction with its entries zeroed where the sign of ``d * prev`` is negative."""
    g, prev = names[1], names[2]
    d = f"-{g}" if a["maximize"] else g
    return f"jnp.where({_rprop_sign(d, prev)} < 0, 0, {d})"


def lower_rprop_param(names: list, a: dict) -> str:
    """``param.addcmul_(masked.sign(), step_size, value=-1)``."""
    return f"{names[0]} - jnp.sign({_rprop_masked(names, a)}) * {names[3]}"


def lower_rprop_prev(names: list, a: dict) -> str:
    """``prev.copy_(masked)``."""
    return _rprop_masked([None, names[1], names[0]], a)


# step_size, grad, prev, etaminus, etaplus, step_size_min, step_size_max, lr (unused: see Rprop.step)
defop("_rprop_step_size", same_as_first, lower_rprop_step_size, "ClampBackward1", ("maximize",), saves="",
      cast="result")
# param, grad, prev, step_size
defop("_rprop_param", same_as_first, lower_rprop_param, "AddcmulBackward0", ("maximize",), saves="", cast="result")
# prev, grad
defop("_rprop_prev", same_as_first, lower_rprop_prev, "CopyBackwards", ("maximize",), saves="", cast="result")
