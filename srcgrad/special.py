"""``torch.special`` (``import srcgrad.special``), for real dtypes.

Aliases of srcgrad's existing ops (``expit`` is ``sigmoid``, ``gammaln`` is ``lgamma``, ...), composites
written as PyTorch writes them (``ndtr``, ``round(decimals=)``), and the primitives of ``ops.py``'s
``torch.special`` section (``i0``, ``i0e``, ``i1``, ``i1e``, ``ndtri``, ``log_ndtr``, ``erfcx``, ``entr``,
``xlog1py``, ``zeta``, ``gammainc``/``gammaincc`` (``torch.igamma``/``igammac``), ``multigammaln``
(``torch.mvlgamma``), the Bessel functions and the orthogonal polynomials), each with PyTorch's
``grad_fn`` name and srcgrad's own derivative where PyTorch has one. As in PyTorch, the Bessel
functions and the polynomials have none: their results never require grad.

The top-level ``srcgrad.i0``, ``igamma``, ``igammac`` and ``mvlgamma`` are defined here too (the
Tensor methods of the same names in tensor.py call them).
"""

from __future__ import annotations

from typing import Any

from .ops import _tname
from .tensor import Tensor, record

_Number = (int, float, bool)

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
    "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf", "erfc",
    "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln", "hermite_polynomial_h",
    "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l", "legendre_polynomial_p", "log1p",
    "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0", "modified_bessel_i1",
    "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "shifted_chebyshev_polynomial_t",
    "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "sinc",
    "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]


def _need(name: str, input: Any, position: int = 1) -> None:
    """PyTorch's TypeError for a non-tensor ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position {position}) must be Tensor, not "
                        f"{type(input).__name__}")


def _need_one(name: str, a: Any, b: Any, names: tuple = ("input", "other"), first: str = "self") -> None:
    """PyTorch's TypeError for a binary function given no tensor (a number is fine for one side)."""
    for v in (a, b):
        if not isinstance(v, (Tensor, *_Number)):
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"({type(a).__name__}, {type(b).__name__})")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        x, y = names
        raise TypeError(
            f"{name}() received an invalid combination of arguments - got ({type(a).__name__}, "
            f"{type(b).__name__}), but expected one of:\n * (Tensor {x}, Tensor {y}, *, Tensor out = None)\n"
            f" * (Number {first}, Tensor {y}, *, Tensor out = None)\n * (Tensor {x}, Number {y}, *, Tensor out = None)\n")


def _unary(op: str, name: str, doc: str) -> Any:
    def fn(input: Tensor) -> Tensor:
        _need("special_" + name, input)
        return record(op, (input,))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


# -- aliases of what srcgrad has -----------------------------------------------------


def erf(input: Tensor) -> Tensor:
    _need("special_erf", input)
    return input.erf()


def erfinv(input: Tensor) -> Tensor:
    _need("special_erfinv", input)
    return input.erfinv()


def expit(input: Tensor) -> Tensor:
    """The logistic sigmoid (``SigmoidBackward0``)."""
    _need("special_expit", input)
    return input.sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    _need("special_logit", input)
    return input.logit(eps)


def exp2(input: Tensor) -> Tensor:
    _need("special_exp2", input)
    from .composite import exp2 as _exp2
    return _exp2(input)


def expm1(input: Tensor) -> Tensor:
    _need("special_expm1", input)
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    _need("special_log1p", input)
    return input.log1p()


def gammaln(input: Tensor) -> Tensor:
    """``lgamma`` (``LgammaBackward0``)."""
    _need("special_gammaln", input)
    return input.lgamma()


def digamma(input: Tensor) -> Tensor:
    _need("special_digamma", input)
    return input.digamma()


def psi(input: Tensor) -> Tensor:
    """``digamma``."""
    _need("special_psi", input)
    return input.digamma()


def polygamma(n: int, input: Tensor) -> Tensor:
    _need("special_polygamma", input, 2)
    return input.polygamma(n)


def sinc(input: Tensor) -> Tensor:
    _need("special_sinc", input)
    return input.sinc()


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """``round`` to ``decimals`` places, as PyTorch: ``round(x * 10^d) / 10^d`` (``round(x / 10^-d) * 10^-d``
    for negative ``d``), half to even (``RoundBackward1``: a zero gradient). PyTorch has no integer kernel."""
    _need("special_round", input)
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"round_vml_cpu" not implemented for \'{_tname(input.dtype)}\'')
    return record("round_decimals", (input,), (int(decimals),))


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    _need("special_softmax", input)
    return input.softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    _need("special_log_softmax", input)
    return input.log_softmax(dim, dtype=dtype)


def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    _need("special_logsumexp", input)
    return input.logsumexp(dim, keepdim)


def xlogy(input: Any, other: Any) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0`` (``XlogyBackward0/1/2``)."""
    _need_one("special_xlogy", input, other)
    if not isinstance(input, Tensor):
        return record("xlogy_scalar_self", (input, other))
    return input.xlogy(other)


# -- composites ------------------------------------------------------------------------


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, written as PyTorch's ``(1 + erf(x / sqrt(2))) * 0.5`` (``MulBackward1``; it
    loses relative precision in the lower tail, x below about -6, as PyTorch's does)."""
    _need("special_ndtr", input)
    return record("ndtr_mul", (1 + (input * 0.7071067811865476).erf(), 0.5))


# -- primitives ------------------------------------------------------------------------


def erfc(input: Tensor) -> Tensor:
    """``1 - erf(x)``, computed without the cancellation (``ErfcBackward0``)."""
    _need("special_erfc", input)
    return record("erfc", (input,))


def i0(input: Tensor) -> Tensor:
    """``torch.special.i0``: the modified Bessel function of the first kind, order 0 (``I0Backward0``;
    derivative ``i1``)."""
    _need("special_i0", input)
    return record("i0", (input,))


i0e = _unary("special_i0e", "i0e", "exp(-|x|) i0(x) (``SpecialI0EBackward0``).")
i1 = _unary("special_i1", "i1", "The modified Bessel function of the first kind, order 1 (``SpecialI1Backward0``).")
i1e = _unary("special_i1e", "i1e", "exp(-|x|) i1(x) (``SpecialI1EBackward0``).")
ndtri = _unary("special_ndtri", "ndtri", "The inverse of the standard normal CDF (``SpecialNdtriBackward0``).")
log_ndtr = _unary("special_log_ndtr", "log_ndtr",
                  "The log of the standard normal CDF, accurate in both tails (``SpecialLogNdtrBackward0``).")
erfcx = _unary("special_erfcx", "erfcx",
               "The scaled complementary error function exp(x^2) erfc(x) (``SpecialErfcxBackward0``).")
entr = _unary("special_entr", "entr", "-x log x elementwise: 0 at 0, -inf below 0 (``SpecialEntrBackward0``).")


def xlog1py(input: Any, other: Any) -> Tensor:
    """``input * log1p(other)``, 0 where ``input == 0`` unless ``other`` is NaN
    (``SpecialXlog1PyBackward0/1/2``)."""
    _need_one("special_xlog1py", input, other)
    if not isinstance(input, Tensor):
        return record("xlog1py_scalar_self", (input, other))
    if not isinstance(other, Tensor):
        return record("xlog1py_scalar_other", (input, other))
    return record("special_xlog1py", (input, other))


def zeta(input: Any, other: Any) -> Tensor:
    """The Hurwitz zeta function ``sum_k (k + other)^-input`` (``SpecialZetaBackward0/1/2``). Differentiable
    in ``other`` only: the derivative in ``input`` raises PyTorch's NotImplementedError."""
    _need_one("special_zeta", input, other)
    if not isinstance(input, Tensor):
        return record("zeta_scalar_self", (input, other))
    if not isinstance(other, Tensor):
        return record("zeta_scalar_other", (input, other))
    return record("special_zeta", (input, other))


def _igamma(name: str, op: str) -> Any:
    def fn(input: Tensor, other: Tensor) -> Tensor:
        _need(name, input)
        if not isinstance(other, Tensor):
            raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
        return record(op, (input, other))
    return fn


igamma = _igamma("igamma", "igamma")
igammac = _igamma("igammac", "igammac")
gammainc = _igamma("special_gammainc", "igamma")
gammaincc = _igamma("special_gammaincc", "igammac")
igamma.__name__, igammac.__name__, gammainc.__name__, gammaincc.__name__ = (
    "igamma", "igammac", "gammainc", "gammaincc")
igamma.__doc__ = gammainc.__doc__ = (
    "The regularized lower incomplete gamma function P(input, other) (``IgammaBackward0``). Differentiable "
    "in ``other`` only: the derivative in ``input`` raises PyTorch's NotImplementedError.")
igammac.__doc__ = gammaincc.__doc__ = (
    "The regularized upper incomplete gamma function Q(input, other) = 1 - P (``IgammacBackward0``).")


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """``torch.mvlgamma``: the multivariate log-gamma function of dimension ``p`` (``MvlgammaBackward0``).
    PyTorch raises where an element is not greater than ``(p - 1) / 2``; srcgrad, which does not read
    values before the program runs, gives NaN there."""
    _need("mvlgamma", input)
    return record("mvlgamma", (input,), (int(p),))


def multigammaln(input: Tensor, p: int) -> Tensor:
    """``mvlgamma``."""
    _need("special_multigammaln", input)
    return mvlgamma(input, p)


# -- Bessel functions and orthogonal polynomials (no derivative, as in PyTorch) ---------------------


def _bessel(fn_name: str) -> Any:
    op = "special_" + fn_name

    def fn(input: Tensor) -> Tensor:
        _need(op, input)
        return record(op, (input,))
    fn.__name__ = fn.__qualname__ = fn_name
    fn.__doc__ = f"``torch.special.{fn_name}`` (PyTorch's Cephes-derived kernel; no derivative, as in PyTorch)."
    return fn


bessel_j0 = _bessel("bessel_j0")
bessel_j1 = _bessel("bessel_j1")
bessel_y0 = _bessel("bessel_y0")
bessel_y1 = _bessel("bessel_y1")
modified_bessel_i0 = _bessel("modified_bessel_i0")
modified_bessel_i1 = _bessel("modified_bessel_i1")
modified_bessel_k0 = _bessel("modified_bessel_k0")
modified_bessel_k1 = _bessel("modified_bessel_k1")
scaled_modified_bessel_k0 = _bessel("scaled_modified_bessel_k0")
scaled_modified_bessel_k1 = _bessel("scaled_modified_bessel_k1")
spherical_bessel_j0 = _bessel("spherical_bessel_j0")
airy_ai = _bessel("airy_ai")


def _polynomial(fn_name: str) -> Any:
    op = "special_" + fn_name

    def fn(input: Any, n: Any) -> Tensor:
        _need_one(op, input, n, ("x", "n"), "x")
        return record(op, (input, n))
    fn.__name__ = fn.__qualname__ = fn_name
    fn.__doc__ = (f"``torch.special.{fn_name}(input, n)``: the polynomial of degree ``n`` (truncated to an "
                  "integer; 0 where it is negative) at ``input``, by PyTorch's recurrence. No derivative, as in "
                  "PyTorch.")
    return fn


chebyshev_polynomial_t = _polynomial("chebyshev_polynomial_t")
chebyshev_polynomial_u = _polynomial("chebyshev_polynomial_u")
chebyshev_polynomial_v = _polynomial("chebyshev_polynomial_v")
chebyshev_polynomial_w = _polynomial("chebyshev_polynomial_w")
shifted_chebyshev_polynomial_t = _polynomial("shifted_chebyshev_polynomial_t")
shifted_chebyshev_polynomial_u = _polynomial("shifted_chebyshev_polynomial_u")
shifted_chebyshev_polynomial_v = _polynomial("shifted_chebyshev_polynomial_v")
shifted_chebyshev_polynomial_w = _polynomial("shifted_chebyshev_polynomial_w")
hermite_polynomial_h = _polynomial("hermite_polynomial_h")
hermite_polynomial_he = _polynomial("hermite_polynomial_he")
laguerre_polynomial_l = _polynomial("laguerre_polynomial_l")
legendre_polynomial_p = _polynomial("legendre_polynomial_p")


# -- top-level functions: srcgrad.i0, igamma, igammac, mvlgamma (igamma and friends are above) --------


def _top_i0(input: Tensor) -> Tensor:
    """``torch.i0`` (``I0Backward0``)."""
    _need("i0", input)
    return record("i0", (input,))


_top_i0.__name__ = _top_i0.__qualname__ = "i0"
TOP_LEVEL: dict[str, Any] = {"i0": _top_i0, "igamma": igamma, "igammac": igammac, "mvlgamma": mvlgamma}
