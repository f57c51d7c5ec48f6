"""srcgrad: PyTorch's autograd, compiled. ``import srcgrad as torch``.

Ops are recorded into a small IR, differentiated by srcgrad's own
reverse-mode source transformer, printed as readable Python and run through
``jax.jit``, cached per graph shape. See ``docs/`` and ``DESIGN``.
"""

from __future__ import annotations

import builtins as _builtins
import math as _math
import os as _os

# bfloat16 and float16 results are rounded after every op, as PyTorch's kernels round them:
# XLA computes them in float32 and by default may skip the rounding between fused ops, so
# `(x - 0.001).float()` of a bfloat16 `x` gave a value no bfloat16 can hold. (Read when JAX
# creates its backend: a process that ran JAX before importing srcgrad keeps its own setting.)
if "xla_allow_excess_precision" not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " --xla_allow_excess_precision=false").strip()

import jax as _jax  # noqa: E402

# float64 tensors must be float64 (gradient checks need it); srcgrad itself
# keeps float32 as the default dtype, so users see PyTorch's dtypes.
_jax.config.update("jax_enable_x64", True)

from collections.abc import Callable  # noqa: E402
from typing import Any

from . import accelerator, autograd, conv, nn, optim, utils  # noqa: E402
from .autodiff import backward as _backward  # noqa: E402, F401
from .compiler import CACHE as _CACHE  # noqa: E402
from .device import cpu, cuda, device  # noqa: E402
from .dtypes import (  # noqa: E402
    bfloat16,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from .dtypes import (  # noqa: E402
    bool_ as bool,  # noqa: A001
)
from .grad_mode import (  # noqa: E402
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_anomaly_enabled,
    set_grad_enabled,
)
from .printing import set_printoptions  # noqa: E402
from .random import (  # noqa: E402
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from .serialization import load, save  # noqa: E402
from .tensor import (  # noqa: E402
    Size,
    Tensor,
    addmm,
    allclose,
    arange,
    as_tensor,
    asarray,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    bucketize,
    cat,
    cdist,
    channels_last,
    channels_last_3d,
    concat,
    concatenate,
    contiguous_format,
    einsum,
    empty,
    empty_like,
    equal,
    eye,
    from_numpy,
    frombuffer,
    full,
    full_like,
    get_float32_matmul_precision,
    isclose,
    linspace,
    lu_unpack,
    matmul,
    memory_format,
    ones,
    ones_like,
    polygamma,
    preserve_format,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    return_types,
    searchsorted,
    set_float32_matmul_precision,
    stack,
    tensor,
    tensordot,
    where,
    xlogy,
    zeros,
    zeros_like,
)

float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16

__version__ = "0.1.0"


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


_PY_NUMBERS = (_builtins.int, _builtins.float, _builtins.bool)  # (this module's `int`, `float` are dtypes)
# The reflected operator a function with a Python number first computes (`srcgrad.add(0.1, t)` is `0.1 + t`)
_REFLECTED = {"add": "__radd__", "sub": "__rsub__", "subtract": "__rsub__", "mul": "__rmul__",
              "multiply": "__rmul__", "div": "__rtruediv__", "divide": "__rtruediv__", "true_divide": "__rtruediv__",
              "pow": "__rpow__", "remainder": "__rmod__", "floor_divide": "__rfloordiv__", "bitwise_and": "__rand__",
              "bitwise_or": "__ror__", "bitwise_xor": "__rxor__"}


def _method(name: str) -> Callable[..., Tensor]:
    method = getattr(Tensor, name)
    reflected = _REFLECTED.get(name)

    def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:  # srcgrad.mul(a, b, out=c)
            out = kwargs.pop("out")
            return _write_out(name, fn(input, *args, **kwargs), out) if out is not None else fn(input, *args, **kwargs)
        if type(input) is Tensor:  # (a subclass may override the method)
            return method(input, *args, **kwargs)
        if reflected is not None and type(input) in _PY_NUMBERS and len(args) == 1 \
                and isinstance(args[0], Tensor) and set(kwargs) <= {"alpha"}:
            # (a Python number first is a weak scalar, as in `0.1 + t`: srcgrad.pow(0.1, t) of a float64 t is
            # computed in float64, srcgrad.mul(200, t) of an int32 t stays int32)
            other = args[0] if kwargs.get("alpha", 1) == 1 else args[0] * kwargs["alpha"]
            return getattr(other, reflected)(input)
        if not isinstance(input, Tensor):
            input = tensor(input)
        return getattr(input, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = f"``srcgrad.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


for _name in (
    "exp log log1p expm1 log2 log10 sqrt rsqrt abs absolute neg negative sign sin cos tan tanh sigmoid relu erf "
    "floor ceil round trunc reciprocal square clamp clip clamp_min clamp_max pow maximum minimum atan2 "
    "sum mean prod amax amin argmax argmin norm var std logsumexp max min all any cumsum cumprod "
    "reshape ravel flatten unflatten transpose swapaxes permute t unsqueeze squeeze split chunk unbind select narrow "
    "gather take_along_dim scatter_add index_select masked_fill softmax log_softmax mm bmm dot mv "
    "add sub subtract mul multiply div divide true_divide floor_divide remainder isnan isinf isfinite logical_not "
    "detach clone lerp addcmul addcdiv repeat_interleave sort argsort relu_ index_add "
    "asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh frac sinc logit "
    "mode nan_to_num nansum nanmean fmod fmax fmin logaddexp dist topk kthvalue median trace cummax cummin "
    "bitwise_and bitwise_or bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift gcd lcm "
    "logical_and logical_or logical_xor signbit hypot nextafter copysign deg2rad rad2deg sgn lgamma digamma erfinv "
    "flip fliplr flipud roll movedim moveaxis tile diagonal diag outer ger "
    "index_copy index_fill tril triu exp_ sigmoid_ tanh_ sqrt_ abs_ neg_ sin_ cos_ clamp_ clamp_min_ clamp_max_ "
    "clip_ reciprocal_ rsqrt_ square_ floor_ ceil_ round_ trunc_ sign_ log_ log1p_ expm1_ erf_ nan_to_num_ "
    "scatter scatter_reduce index_reduce index_put masked_scatter diagonal_scatter select_scatter slice_scatter "
    "inverse det slogdet logdet cholesky qr svd pinverse matrix_exp matrix_power histc"
).split():
    if hasattr(Tensor, _name):
        globals()[_name] = _method(_name)


from .tensor import write_out as _write_out  # noqa: E402


def _with_out(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking PyTorch's ``out=`` keyword too."""
    def wrapped(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        result = fn(*args, **kwargs)
        return result if out is None else _write_out(name, result, out)

    wrapped.__name__ = wrapped.__qualname__ = name
    wrapped.__doc__ = fn.__doc__
    wrapped.__wrapped__ = fn
    return wrapped


for _name in ("matmul cat concat concatenate stack zeros ones full empty eye arange linspace rand randn randint "
              "where addmm einsum tensordot xlogy polygamma").split():
    globals()[_name] = _with_out(_name, globals()[_name])


def _linalg_module() -> Any:
    """``srcgrad.linalg``: the norms (a module object, so ``import srcgrad.linalg`` works too)."""
    import sys
    import types

    from .tensor import linalg_norm, matrix_norm, vector_norm
    mod = types.ModuleType(__name__ + ".linalg", "torch.linalg: norms, inverses, determinants, solvers, "
                                                 "factorisations (each with srcgrad's own derivative)")
    mod.vector_norm, mod.matrix_norm, mod.norm = (_with_out(f"linalg_{f.__name__}", f)
                                                  for f in (vector_norm, matrix_norm, linalg_norm))
    for name in ("inv det slogdet solve solve_triangular cholesky qr eigh eigvalsh svd svdvals pinv lstsq "
                 "matrix_exp matrix_power matrix_rank cond lu lu_factor lu_factor_ex lu_solve").split():
        setattr(mod, name, _with_out(f"linalg_{name}", getattr(sys.modules[__name__ + ".tensor"], "linalg_" + name)))
    sys.modules[mod.__name__] = mod
    return mod


linalg = _linalg_module()


from .nn.functional import _aten_alpha_dropout as alpha_dropout  # noqa: E402
from .nn.functional import _aten_dropout as dropout  # noqa: E402
from .nn.functional import _aten_feature_alpha_dropout as feature_alpha_dropout  # noqa: E402
from .nn.functional import _aten_feature_dropout as feature_dropout  # noqa: E402
from .type_info import (  # noqa: E402
    BFloat16Tensor,
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
    can_cast,
    finfo,
    iinfo,
    layout,
    promote_types,
    result_type,
    strided,
)


def cache_info() -> dict:
    """Compile-cache statistics: hits, misses, compile seconds and every program."""
    return {
        "hits": _CACHE.hits,
        "misses": _CACHE.misses,
        "compile_s": _CACHE.compile_s,
        "programs": len(_CACHE.programs),
        "limit": _CACHE.limit,
        "evictions": _CACHE.evictions,
        "entries": [
            {"name": p.filename, "ops": p.n_ops, "hits": p.hits, "compile_s": p.compile_s, "reason": p.reason,
             "inputs": p.input_desc}
            for p in _CACHE.programs.values()
        ],
    }


def set_cache_size(size: int) -> int:
    """Bound the program cache to ``size`` programs (default 1024, or the environment
    variable ``SRCGRAD_CACHE_SIZE``); beyond it the least recently run program is dropped.
    Returns the previous bound. (Each decorated function also bounds its own entries:
    ``srcgrad.compile(cache_size=...)``.)"""
    previous = _CACHE.limit
    _CACHE.set_limit(size)
    return previous


def clear_cache() -> None:
    """Forget every compiled program (the next realisation compiles again)."""
    _CACHE.clear()


from . import amp, backends, inspect, special  # noqa: E402
from . import top_level as _top_level  # noqa: E402
from .amp.autocast_mode import (  # noqa: E402
    autocast,
    autocast_decrement_nesting,
    autocast_increment_nesting,
    clear_autocast_cache,
    get_autocast_cpu_dtype,
    get_autocast_dtype,
    get_autocast_gpu_dtype,
    is_autocast_available,
    is_autocast_cache_enabled,
    is_autocast_cpu_enabled,
    is_autocast_enabled,
    set_autocast_cache_enabled,
    set_autocast_cpu_dtype,
    set_autocast_cpu_enabled,
    set_autocast_dtype,
    set_autocast_enabled,
    set_autocast_gpu_dtype,
)
from .compiled import CompiledFunction, compile, show  # noqa: E402, A001
from .composite import *  # noqa: E402, F401, F403
from .composite import __all__ as _composite_names  # noqa: E402
from .control_flow import cond, while_loop  # noqa: E402, F401
from .linalg_extras import register as _register_linalg_extras  # noqa: E402
from .storage import as_strided  # noqa: E402, F401
from .utils.dlpack import from_dlpack  # noqa: E402, F401

_register_linalg_extras()

for _name in _composite_names:  # (PyTorch's out= keyword, on each of them)
    globals()[_name] = _with_out(_name, globals()[_name])
for _name in ("cross", "multi_dot", "vecdot", "matmul", "diagonal"):
    if _name != "diagonal":  # (a view: PyTorch's linalg.diagonal takes no out=)
        setattr(linalg, _name, _with_out(f"linalg_{_name}", getattr(linalg, _name)))
from .data_dependent import (  # noqa: E402, F401
    argwhere,
    bincount,
    isin,
    masked_select,
    nonzero,
    unique,
    unique_consecutive,
)
from .default_device import get_default_device, set_default_device  # noqa: E402
from .determinism import (  # noqa: E402
    are_deterministic_algorithms_enabled,
    get_deterministic_debug_mode,
    is_deterministic_algorithms_warn_only_enabled,
    set_deterministic_debug_mode,
    use_deterministic_algorithms,
)
from .functional_transforms import grad, value_and_grad  # noqa: E402
from .sampling import bernoulli, multinomial, normal, poisson, randint_like  # noqa: E402, F401
from .special import igamma, igammac, mvlgamma  # noqa: E402

i0 = special.TOP_LEVEL["i0"]  # (torch.i0: its messages name "i0", special.i0's "special_i0")
from .threads import get_num_interop_threads, get_num_threads, set_num_interop_threads, set_num_threads  # noqa: E402

# Imported on first use, so that `import srcgrad` does not pay for them (process start
# time is one of the benchmarks): srcgrad.func (torch.func, and torch.vmap), distributions,
# jit, testing and profiler.
_LAZY = {"functional": "functional", "func": "func", "vmap": "func", "distributions": "distributions", "jit": "jit",
         "_dynamo": "_dynamo",
         "testing": "testing", "profiler": "profiler"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'srcgrad' has no attribute '{name}'")
    import importlib
    mod = importlib.import_module(f".{module}", __name__)
    value = getattr(mod, name) if name != module else mod
    globals()[name] = value
    return value


# PyTorch's constants (torch.pi, torch.inf, ...) and torch.newaxis
pi, e, inf, nan, newaxis = _math.pi, _math.e, _math.inf, _math.nan, None

for _name in _top_level.__all__:  # (torch.conv2d, torch.hann_window, torch.acos_ ...: where srcgrad has none)
    if _name not in globals() and _name not in _LAZY:
        globals()[_name] = getattr(_top_level, _name)

__all__ = [n for n in dir() if not n.startswith("_")] + sorted(n for n in _LAZY if not n.startswith("_"))

