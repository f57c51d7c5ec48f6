"""Sampling from distributions: ``normal``, ``bernoulli``, ``multinomial``, ``poisson``,
``randint_like`` and the in-place fillers (``bernoulli_``, ``random_``, ``exponential_``,
``geometric_``, ``cauchy_``, ``log_normal_``).

Each is written with srcgrad's uniform and normal draws (``rand``/``randn``, one
recorded op and a program input pair ``(seed, counter)``), so sampling again
compiles nothing and ``@srcgrad.compile`` replays draw fresh numbers from the same
generator. ``poisson`` is the one primitive here: no transform of a uniform draw
gives it in closed form, so it lowers to ``jax.random.poisson``.

Every function takes ``generator=`` (a ``srcgrad.Generator``; default: the default
generator). The numbers follow the right distributions but are not PyTorch's
numbers (the bits come from JAX's generator).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import dtypes as D
from . import tracing
from .ir import host_value
from .ops import defop
from .random import generator_of
from .tensor import Tensor, record, scalar_node, wrap
from .tensor import rand as _rand
from .tensor import randint as _randint
from .tensor import randn as _randn

__all__ = ["normal", "bernoulli", "multinomial", "poisson", "randint_like"]


def _float_type_name(dt: D.dtype) -> str:
    return dt.name.title() if dt.name != "int64" else "Long"


def _need_float(t: Tensor, what: str) -> None:
    if not t.dtype.is_floating_point:
        raise RuntimeError(f"{what} is a continuous probability distribution. dtype must be a floating point "
                           f"but you specified {_float_type_name(t.dtype)}")


def _fill(t: Tensor, sample: Tensor) -> Tensor:
    """``t.copy_(sample)`` outside autograd, as PyTorch's in-place samplers write."""
    from .grad_mode import no_grad
    with no_grad():
        return t.copy_(sample)


# ---------------------------------------------------------------------------
# normal


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``torch.normal``: samples of N(mean, std^2), ``mean`` and ``std`` tensors (broadcast) or
    numbers (then ``size`` gives the shape). Differentiable in ``mean`` and ``std``: the sample is
    ``mean + std * eps`` (PyTorch's gradients: ``g`` and ``g * (out - mean) / std``)."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with a float mean and "
                            "std, give the size: normal(mean, std, size)")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        eps = _randn(*_size(size), dtype=dtype, device=device, generator=generator)
        out = eps * std + mean if (std, mean) != (1.0, 0.0) else eps
        return out.requires_grad_(True) if requires_grad else out
    if size is not None:
        raise TypeError("normal() received an invalid combination of arguments: size is only given with a "
                        "float mean and std")
    if not std_t and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    if std_t and _known_any(std, lambda v: v < 0):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    like = mean if mean_t else std
    from .ops import broadcast_shapes
    shape = broadcast_shapes(tuple(mean.shape) if mean_t else (), tuple(std.shape) if std_t else (), "normal")
    eps = _randn(*shape, dtype=like.dtype, device=like.device, generator=generator)
    return mean + std * eps


_P_RANGE = "Expected p_in >= 0 && p_in <= 1 to be true, but got false."


def _known_any(t: Tensor, test: Callable) -> bool:
    """Whether ``test`` holds anywhere in ``t``'s values, when they are known on the host
    (``ir.host_value``: a pending parameter is not computed for this check)."""
    v = host_value(t._node)
    return v is not None and bool(np.asarray(test(v)).any())


def _size(size: Any) -> tuple:
    return (size,) if isinstance(size, int) else tuple(size)


# ---------------------------------------------------------------------------
# Bernoulli, binary draws


def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    """``torch.bernoulli``: 1 with probability ``input`` (or ``p``), else 0, in ``input``'s dtype.
    (The result does not require grad; PyTorch's does, with a zero gradient.)"""
    prob = input if p is None else p
    if isinstance(prob, (int, float)) and not 0 <= prob <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={prob}")
    if isinstance(prob, Tensor) and _known_any(prob, lambda v: (v < 0) | (v > 1)):
        raise RuntimeError(_P_RANGE)
    u = _rand(*input.shape, dtype=input.dtype if input.dtype.is_floating_point else None, device=input.device,
              generator=generator)
    if isinstance(prob, Tensor):
        prob = prob.detach()
    return (u < prob).to(input.dtype)


def _bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fill with draws of Bernoulli(``p``), ``p`` a number or a tensor broadcast to ``self``."""
    if isinstance(p, Tensor):
        if _known_any(p, lambda v: (v < 0) | (v > 1)):
            raise RuntimeError(_P_RANGE)
        p = p.expand(self.shape) if tuple(p.shape) != tuple(self.shape) else p
    return _fill(self, bernoulli(self, p, generator=generator))


def _bernoulli_method(self: Tensor, p: Any = None, *, generator: Any = None) -> Tensor:
    return bernoulli(self, p, generator=generator)


# ---------------------------------------------------------------------------
# multinomial


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
    """``torch.multinomial``: ``num_samples`` category indices (int64) per row of non-negative
    weights ``input`` (1-D or 2-D, not necessarily summing to 1).

    With replacement: the inverse of the cumulative distribution at uniform draws. Without:
    the ``num_samples`` largest of ``log(w) + Gumbel noise`` (the Gumbel-top-k trick), which
    draws without replacement with PyTorch's probabilities. The weights' values are not
    checked (PyTorch refuses negative, infinite or NaN weights): that would need their values
    on the host before the program runs."""
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_float_type_name(input.dtype)}")
    n = int(num_samples)
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    k = input.shape[-1]
    if not replacement and n > k:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    w = input.detach()
    rows = w if w.dim() == 2 else w.unsqueeze(0)
    if replacement:
        cdf = rows.cumsum(-1)
        cdf = cdf / cdf[:, -1:]
        u = _rand(rows.shape[0], n, dtype=w.dtype, device=w.device, generator=generator)
        # the first category whose cumulative weight exceeds u (u < 1, so at most k - 1)
        idx = (u.unsqueeze(-1) >= cdf.unsqueeze(1)).sum(-1).clamp_max(k - 1)
    else:
        u = _rand(*rows.shape, dtype=w.dtype, device=w.device, generator=generator)
        gumbel = -(-(u.clamp_min(1e-30)).log()).log()
        idx = (rows.log() + gumbel).topk(n, -1).indices
    idx = idx.to(D.int64)
    return idx if w.dim() == 2 else idx.squeeze(0)


# ---------------------------------------------------------------------------
# Poisson: a primitive (the key is two program inputs, as for every random op)


def _poisson_rule(rate: Any, seed: Any, counter: Any) -> tuple:
    return rate.shape, rate.dtype


def _lower_poisson(names: list, a: dict) -> str:
    key = f"jax.random.fold_in(jax.random.key({names[1]}), {names[2]})"
    return f"jax.random.poisson({key}, {names[0]}, {names[0]}.shape).astype({names[0]}.dtype)"


defop("poisson", _poisson_rule, _lower_poisson, "NotImplemented", saves="")


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """``torch.poisson``: one draw of Poisson(rate) per element of ``input`` (non-negative rates),
    in ``input``'s dtype. (The result does not require grad; PyTorch's does, with a zero gradient.)"""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"poisson_cpu\" not implemented for '{_float_type_name(input.dtype)}'")
    gen = generator_of(generator, "poisson")
    seed, counter = gen.next_key()
    s, c = scalar_node(seed), scalar_node(counter)
    out = record("poisson", (input.detach(), wrap(s), wrap(c)))
    if tracing.ACTIVE is not None:
        tracing.ACTIVE.note_rng(s, c, gen)
    return out


# ---------------------------------------------------------------------------
# integers


def randint_like(input: Tensor, low: int = 0, high: Any = None, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False, generator: Any = None) -> Tensor:
    """``torch.randint_like(input, high)`` or ``(input, low, high)``: integers in [low, high) shaped
    like ``input``, in its dtype unless ``dtype`` is given."""
    if high is None:
        low, high = 0, low
    dt = D.as_dtype(dtype) if dtype is not None else input.dtype
    out = _randint(int(low), int(high), tuple(input.shape), dtype=D.int64, device=device or input.device,
                   generator=generator)
    out = out if dt is D.int64 else out.to(dt)
    return out.requires_grad_(True) if requires_grad else out


def _max_exact_int(dt: D.dtype) -> int:
    """The largest integer ``random_()`` draws for a dtype: where every integer is exact."""
    bits = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}.get(dt.name)
    if bits is not None:
        return 2 ** bits
    if dt.name == "bool":
        return 1
    return {"uint8": 255, "int8": 127, "int16": 2 ** 15 - 1, "int32": 2 ** 31 - 1}.get(dt.name, 2 ** 63 - 1)


def _random_(self: Tensor, from_: Any = None, to: Any = None, *, generator: Any = None, **kwargs: Any) -> Tensor:
    """``random_()``, ``random_(to)`` or ``random_(from, to)``: integers in [from, to - 1], by
    default every integer ``self``'s dtype holds exactly (``[0, 2**24]`` for float32)."""
    if "from" in kwargs:
        from_ = kwargs.pop("from")
    if kwargs:
        raise TypeError(f"random_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if from_ is None:
        lo, hi = 0, _max_exact_int(self.dtype) + 1
    elif to is None:
        lo, hi = 0, int(from_)
    else:
        lo, hi = int(from_), int(to)
    if hi <= lo:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    hi = min(hi, 2 ** 63 - 1)
    return _fill(self, _randint(lo, hi, tuple(self.shape), dtype=D.int64, device=self.device,
                                generator=generator).to(self.dtype))


# ---------------------------------------------------------------------------
# continuous in-place samplers: transforms of one uniform or normal draw


_TINY = {"float16": 6.1e-5, "bfloat16": 1e-38, "float32": 1e-38, "float64": 1e-300}


def _uniform_open(self: Tensor, generator: Any) -> Tensor:
    """U(0, 1) in ``self``'s dtype with 0 excluded (a log of it stays finite)."""
    u = _rand(*self.shape, dtype=self.dtype, device=self.device, generator=generator)
    return u.clamp_min(_TINY.get(self.dtype.name, 1e-38))


def _exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with draws of Exponential(``lambd``): ``-log(U) / lambd``."""
    _need_float(self, "Exponential distribution")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill(self, -_uniform_open(self, generator).log() / lambd)


def _geometric_(self: Tensor, p: float, *, generator: Any = None) -> Tensor:
    """Fill with draws of Geometric(``p``) on {1, 2, ...}: ``ceil(log(U) / log(1 - p))``."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = _rand(*self.shape, dtype=D.float64 if self.dtype is D.float64 else D.float32, device=self.device,
              generator=generator).clamp_min(1e-38)
    return _fill(self, (u.log() / math.log1p(-p)).ceil().clamp_min(1).to(self.dtype))


def _cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fill with draws of Cauchy(``median``, ``sigma``): ``median + sigma * tan(pi * (U - 1/2))``."""
    _need_float(self, "Cauchy distribution")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    u = _uniform_open(self, generator)
    return _fill(self, ((u - 0.5) * math.pi).tan() * sigma + median)


def _log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
    """Fill with draws of exp(N(``mean``, ``std``^2))."""
    _need_float(self, "log_normal")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    eps = _randn(*self.shape, dtype=self.dtype, device=self.device, generator=generator)
    return _fill(self, (eps * std + mean).exp())


# Tensor methods of the same names (none of them existed before this module).
_METHODS = {
    "bernoulli": _bernoulli_method,
    "bernoulli_": _bernoulli_,
    "random_": _random_,
    "exponential_": _exponential_,
    "geometric_": _geometric_,
    "cauchy_": _cauchy_,
    "log_normal_": _log_normal_,
}
for _name, _fn in _METHODS.items():
    if hasattr(Tensor, _name):
        raise RuntimeError(f"srcgrad.sampling: Tensor.{_name} is defined twice")
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(Tensor, _name, _fn)
