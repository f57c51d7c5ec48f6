"""``torch.backends.cudnn``: ``enabled``, ``benchmark``, ``deterministic``, ``allow_tf32``
with PyTorch's defaults, ``is_available()``, ``version()`` and the ``flags()`` context.

XLA picks its cuDNN algorithms itself (autotuning at compile time), so the flags are
recorded and reported but change nothing; ``is_available()`` says whether JAX sees a CUDA
GPU, where XLA's convolutions do use cuDNN.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..dtypes import float16, float32, float64
from ._flags import check_bool, cuda_versions, has_cuda_gpu

# PyTorch's defaults; the names of its C++ setters appear in its type errors.
_FLAGS: dict[str, bool] = {"enabled": True, "benchmark": False, "deterministic": False, "allow_tf32": True}
_SETTERS = {"enabled": "set_enabled_cudnn", "benchmark": "set_benchmark_cudnn",
            "deterministic": "set_deterministic_cudnn", "allow_tf32": "set_allow_tf32_cublas"}
_BENCHMARK_LIMIT = [10]
CUDNN_TENSOR_DTYPES = {float16, float32, float64}


def is_available() -> bool:
    """True where JAX sees a CUDA GPU (XLA runs convolutions through cuDNN there)."""
    return has_cuda_gpu()


def version() -> int | None:
    """cuDNN's version number (``90100`` for 9.1.0), or None where there is none, as PyTorch's
    CPU builds report."""
    if not is_available():
        return None
    versions = cuda_versions()
    get = getattr(versions, "cudnn_get_version", None)
    try:
        return int(get()) if get is not None else None
    except Exception:  # (a plugin without a loadable cuDNN)
        return None


def is_acceptable(tensor: Any) -> bool:
    """Whether cuDNN would take this tensor: enabled, on a CUDA device, half/float/double."""
    return (_FLAGS["enabled"] and tensor.device.type == "cuda" and tensor.dtype in CUDNN_TENSOR_DTYPES
            and is_available())


def set_flags(_enabled: bool | None = None, _benchmark: bool | None = None, _benchmark_limit: int | None = None,
              _deterministic: bool | None = None, _allow_tf32: bool | None = None, *_: Any, **__: Any) -> tuple:
    """Set the given flags; return the old ones, in ``set_flags``'s argument order."""
    old = (_FLAGS["enabled"], _FLAGS["benchmark"], _BENCHMARK_LIMIT[0] if is_available() else None,
           _FLAGS["deterministic"], _FLAGS["allow_tf32"])
    for name, value in (("enabled", _enabled), ("benchmark", _benchmark), ("deterministic", _deterministic),
                        ("allow_tf32", _allow_tf32)):
        if value is not None:
            _FLAGS[name] = check_bool(value, _SETTERS[name])
    if _benchmark_limit is not None and is_available():
        _BENCHMARK_LIMIT[0] = _benchmark_limit
    return old


@contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10, deterministic: bool = False,
          allow_tf32: bool = True, fp32_precision: str = "none", depthwise_kernel: str = "auto") -> Iterator[None]:
    """Set the flags inside the block (PyTorch's defaults for the arguments), restore them after."""
    old = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32)
    try:
        yield
    finally:
        set_flags(*old)


def _flag(name: str) -> property:
    def get(self: types.ModuleType) -> bool:
        return _FLAGS[name]

    def put(self: types.ModuleType, value: bool) -> None:
        _FLAGS[name] = check_bool(value, _SETTERS[name])

    return property(get, put)


class _CudnnModule(types.ModuleType):
    """This module, with its flags as properties (``cudnn.benchmark = True`` is checked)."""

    enabled = _flag("enabled")
    benchmark = _flag("benchmark")
    deterministic = _flag("deterministic")
    allow_tf32 = _flag("allow_tf32")

    @property
    def benchmark_limit(self) -> int | None:
        return _BENCHMARK_LIMIT[0] if is_available() else None  # (PyTorch: None without cuDNN)

    @benchmark_limit.setter
    def benchmark_limit(self, value: int) -> None:
        _BENCHMARK_LIMIT[0] = value


sys.modules[__name__].__class__ = _CudnnModule
