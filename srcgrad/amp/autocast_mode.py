"""``torch.autocast``: automatic mixed precision, applied where ops are recorded.

Every op goes through ``srcgrad.tensor.record``; while autocast is on for some
device type, ``record`` hands the op's name and inputs to ``_cast_inputs``
first (one module-global check when it is off). The op's name picks a policy
from PyTorch's "Autocast Op Reference" tables (the CPU and the CUDA tables
differ): run in the lower precision dtype, run in float32, or promote to the
widest input type. The casts are ordinary recorded ``to_copy`` ops, so
gradients flow back through them with the cast's own derivative rule, and the
backward runs in the dtypes the forward chose (autocast is off inside the
transformer, as it is on PyTorch's autograd thread).

srcgrad records the ops PyTorch implements as composites (``baddbmm``,
``scaled_dot_product_attention``, ``group_norm``, ``l1_loss``...) as the
primitives they are made of, so those get autocast per primitive, much as
PyTorch's own composite-implicit ops do. ``docs/amp.md`` lists the
differences this makes.
"""

from __future__ import annotations

import functools
import sys
import warnings
from typing import Any

from .. import dtypes as D
from .. import ir
from ..grad_mode import _state as _grad_state

__all__ = ["autocast", "is_autocast_available", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype"]

# -- PyTorch's op tables, by srcgrad's op names --------------------------------------------------

_LINEAR = ("linear", "linear_mm", "linear_view", "linear_unsafe_view", "linear_squeeze")
_MATMUL = ("matmul", "matmul_nd", "bmm", "mv", "dot", "addmm", "einsum")

# CPU (PyTorch's AutocastCPU registrations): lower precision (bfloat16 unless told) ...
CPU_LOWER = frozenset(_LINEAR + _MATMUL + ("convolution",))
# ... float32 ...
CPU_FP32 = frozenset((
    "avg_pool3d", "binary_cross_entropy", "grid_sampler_2d", "grid_sampler_3d", "prod", "prod_all", "cdist",
    "trace", "cholesky", "cholesky_legacy", "linalg_inv", "lu_solve", "pinv", "max_pool3d", "adaptive_avg_pool3d",
    "adaptive_avg_pool3d_out", "adaptive_max_pool3d", "reflection_pad1d", "reflection_pad2d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d", "mse_loss", "mse_loss_mean", "mse_loss_sum",
    "nll_loss", "nll_loss2d", "smooth_l1_loss", "huber_loss", "binary_cross_entropy_with_logits",
    "linalg_solve", "linalg_qr", "svd", "eigh", "lstsq", "matrix_rank",
))
# ... and the widest input type.
CPU_PROMOTE = frozenset(("cat", "stack", "index_copy"))

# CUDA (PyTorch's AutocastCUDA registrations, ATen/autocast_mode.h): float16 unless told ...
CUDA_LOWER = frozenset(_LINEAR + _MATMUL + ("convolution",))
# ... float32 (the fp32 list, and the ops PyTorch gives dtype=float32: softmax, sum, cumsum, norm ...)
CUDA_FP32 = frozenset((
    "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log1p", "reciprocal", "rdiv", "rsqrt", "sinh",
    "tan", "pow", "pow_tensor", "pow_scalar_base", "square", "softplus", "layer_norm", "nll_loss", "nll_loss2d",
    "smooth_l1_loss", "huber_loss", "mse_loss", "mse_loss_mean", "mse_loss_sum",
    "binary_cross_entropy_with_logits", "dist", "cdist", "logsumexp", "prod", "prod_all", "softmax",
    "log_softmax", "cumprod", "cumsum", "norm", "vector_norm", "sum", "sum_all",
))
CUDA_PROMOTE = frozenset(("addcdiv", "addcmul", "atan2", "index_put", "scatter_add", "cat", "stack", "index_copy"))
# PyTorch refuses these under CUDA autocast.
CUDA_BANNED = frozenset(("binary_cross_entropy",))
_BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
    "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
    "safe to autocast.")

_LOWER, _FP32, _PROMOTE, _BANNED = 1, 2, 3, 4


def _table(lower: frozenset, fp32: frozenset, promote: frozenset, banned: frozenset = frozenset()) -> dict:
    table = dict.fromkeys(lower, _LOWER)
    table.update(dict.fromkeys(fp32, _FP32))
    table.update(dict.fromkeys(promote, _PROMOTE))
    table.update(dict.fromkeys(banned, _BANNED))
    return table


TABLES = {"cpu": _table(CPU_LOWER, CPU_FP32, CPU_PROMOTE),
          "cuda": _table(CUDA_LOWER, CUDA_FP32, CUDA_PROMOTE, CUDA_BANNED)}


def policy(device_type: str, op: str) -> str | None:
    """The autocast policy of srcgrad op ``op`` on ``device_type``: "lower", "fp32", "promote",
    "banned" or None (runs in its input types)."""
    return {None: None, _LOWER: "lower", _FP32: "fp32", _PROMOTE: "promote",
            _BANNED: "banned"}[TABLES[device_type].get(op)]


# -- state ---------------------------------------------------------------------------------------


class _State:
    __slots__ = ("enabled", "dtype", "cache_enabled", "nesting", "cache", "active", "key")

    def __init__(self) -> None:
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = {"cpu": D.bfloat16, "cuda": D.float16}
        self.cache_enabled = True
        self.nesting = 0
        self.cache: dict = {}
        self.active: dict = {}  # device type -> (lower dtype, op table), for the enabled ones
        self.key: tuple = ()  # ((device type, dtype name), ...) of the enabled ones: see state_key


_state = _State()
_SUPPORTED = ("cpu", "cuda")


def _tensor_module() -> Any:
    return sys.modules["srcgrad.tensor"]


def _install() -> None:
    """Point ``record``'s hook at ``_cast_inputs`` while any device type has autocast on."""
    _state.active = {d: (_state.dtype[d], TABLES[d]) for d in _SUPPORTED if _state.enabled[d]}
    _state.key = tuple((d, _state.dtype[d].name) for d in _SUPPORTED if _state.enabled[d])
    _tensor_module().set_record_hook("autocast", _cast_inputs if _state.active else None)


def _check_type(device_type: Any) -> str:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
    kind = device_type.partition(":")[0]
    if kind not in _SUPPORTED:
        if kind in ("mps", "xpu", "xla", "hpu", "ipu", "mtia", "maia", "meta", "privateuseone"):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {device_type}")
    if kind != device_type:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return kind


def state_key() -> tuple:
    """The autocast state as a hashable key (part of ``@srcgrad.compile``'s signature): the
    device types autocast is on for, with their dtypes; ``()`` when it is off."""
    return _state.key


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast supports ``device_type`` ("cpu" and "cuda" in srcgrad)."""
    return device_type in _SUPPORTED


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """``torch.is_autocast_enabled(device_type)``; with no argument, CUDA's state (as PyTorch)."""
    return _state.enabled[_check_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type: Any, enabled: Any = None) -> None:
    """``torch.set_autocast_enabled(device_type, enabled)`` (``set_autocast_enabled(enabled)``: CUDA)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _state.enabled[_check_type(device_type)] = bool(enabled)
    _install()


def get_autocast_dtype(device_type: str) -> D.dtype:
    """The lower precision dtype autocast uses on ``device_type`` (cpu: bfloat16, cuda: float16)."""
    return _state.dtype[_check_type(device_type)]


def set_autocast_dtype(device_type: str, dtype: Any) -> None:
    _state.dtype[_check_type(device_type)] = D.as_dtype(dtype)
    _install()


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"torch.{old}() is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def get_autocast_gpu_dtype() -> D.dtype:
    _deprecated("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")
    return _state.dtype["cuda"]


def get_autocast_cpu_dtype() -> D.dtype:
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return _state.dtype["cpu"]


def set_autocast_gpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_gpu_dtype", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


def set_autocast_cpu_dtype(dtype: Any) -> None:
    _deprecated("set_autocast_cpu_dtype", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return _state.enabled["cpu"]


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def is_autocast_cache_enabled() -> bool:
    return _state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    _state.cache.clear()


def autocast_increment_nesting() -> int:
    _state.nesting += 1
    return _state.nesting


def autocast_decrement_nesting() -> int:
    _state.nesting -= 1
    return _state.nesting


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager and decorator: ops in the region run in the dtype PyTorch's autocast
    picks for them (``device_type`` "cpu": bfloat16 by default, "cuda": float16).

    ``enabled=False`` turns autocast off inside an enclosing region. ``cache_enabled``
    keeps one cast of each float32 leaf that requires grad (a parameter) per region.
    """

    def __init__(self, device_type: str, dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device = _check_type(device_type)
        self.fast_dtype = _state.dtype[self.device] if dtype is None else D.as_dtype(dtype)
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else bool(cache_enabled)
        if enabled:
            if self.device == "cuda":
                from ..device import cuda
                if not cuda.is_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", stacklevel=2)
                    enabled = False
            elif self.fast_dtype not in (D.bfloat16, D.float16):
                warnings.warn("In CPU autocast, but the target dtype is not supported. Disabling autocast.\n"
                              "CPU Autocast only supports dtypes of torch.bfloat16, torch.float16 currently.",
                              stacklevel=2)
                enabled = False
        self._enabled = bool(enabled)

    def __enter__(self) -> autocast:
        self.prev_cache_enabled = _state.cache_enabled
        self.prev = _state.enabled[self.device]
        self.prev_fastdtype = _state.dtype[self.device]
        _state.enabled[self.device] = self._enabled
        _state.dtype[self.device] = self.fast_dtype
        _state.nesting += 1
        _state.cache_enabled = self._cache_enabled
        _install()
        return self

    def __exit__(self, *exc: object) -> bool:
        _state.nesting -= 1
        if _state.nesting == 0:
            _state.cache.clear()
        _state.enabled[self.device] = self.prev
        _state.dtype[self.device] = self.prev_fastdtype
        _state.cache_enabled = self.prev_cache_enabled
        _install()
        return False

    def __call__(self, func: Any) -> Any:
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                f"Did you mean to use autocast as a context manager? For example:\n"
                f"    with torch.autocast(device_type=...):\n"
                f"        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return decorate_autocast


# -- the hook record() calls ---------------------------------------------------------------------

# Functions whose records are in-place ops (PyTorch: in-place variants are not autocast),
# filled in on first use; and srcgrad modules whose own matmuls implement an op that PyTorch
# does not autocast (adaptive_avg_pool2d's bin averages).
_inplace_codes: frozenset = frozenset()
_INTERNAL_MODULES = frozenset(("srcgrad.pooling",))


def _in_place(frame: Any) -> bool:
    global _inplace_codes
    if not _inplace_codes:
        tensor_type = _tensor_module().Tensor
        _inplace_codes = frozenset((tensor_type._inplace.__code__, tensor_type._inplace_of.__code__))
    for _ in range(3):
        if frame is None:
            return False
        if frame.f_code in _inplace_codes:
            return True
        frame = frame.f_back
    return False


def _cast_inputs(name: str, args: tuple) -> tuple:
    """``args`` with the floating tensors cast as autocast's policy for op ``name`` says."""
    if ir._block is not None:  # the transformer writing a backward: the forward's dtypes stand
        return args
    tm = _tensor_module()
    tensor_type = tm.Tensor
    dev = None
    for a in args:
        if isinstance(a, tensor_type) and a._node.device is not None:
            dev = a._node.device.type
            break
    entry = _state.active.get(dev)
    if entry is None:
        return args
    lower, table = entry
    pol = table.get(name)
    if pol is None:
        return args
    caller = sys._getframe(2)  # (0: here, 1: record, 2: the function that records the op)
    if _in_place(caller):
        return args
    if pol == _LOWER:
        if caller.f_globals.get("__name__") in _INTERNAL_MODULES:
            return args
        to = lower
    elif pol == _FP32:
        to = D.float32
    elif pol == _PROMOTE:
        to = lower
        for a in args:
            if _eligible(a, tensor_type, dev):
                nxt = a._node.dtype
                if to is D.float32 or nxt is D.float32:
                    to = D.float32
                elif not (to is lower and nxt is lower):
                    # (PyTorch raises "Unexpected floating ScalarType in at::autocast::prioritize" for a
                    # float16 tensor under bfloat16 autocast; srcgrad's own composites concatenate such
                    # tensors, so they keep the usual type promotion)
                    return args
    else:
        raise RuntimeError(_BANNED_MESSAGE)
    out = list(args)
    done: dict = {}
    for i, a in enumerate(args):
        if _eligible(a, tensor_type, dev) and a._node.dtype is not to:
            c = done.get(id(a))
            if c is None:
                c = done[id(a)] = _cast(tm, a, to, pol == _LOWER)
            out[i] = c
    return tuple(out)


def _eligible(a: Any, tensor_type: type, dev: str) -> bool:
    if not isinstance(a, tensor_type):
        return False
    n = a._node
    return n.dtype.category == 2 and n.dtype is not D.float64 and n.device is not None and n.device.type == dev


def _cast(tm: Any, t: Any, to: D.dtype, lower: bool) -> Any:
    """``t.to(to)``; a float32 parameter's lower precision copy is cached for the region."""
    n = t._node
    if lower and _state.cache_enabled and _state.nesting and n.leaf and n.requires_grad \
            and n.dtype is D.float32:
        key = (id(n), to, _grad_state.enabled)
        hit = _state.cache.get(key)
        if hit is not None and hit[0] is n:
            return hit[1]
        c = tm.record("to_copy", (t,), (to,))
        _state.cache[key] = (n, c)  # (the node is kept, so its id is not reused while cached)
        return c
    return tm.record("to_copy", (t,), (to,))
