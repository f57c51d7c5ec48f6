"""What the backend flag modules share: PyTorch's type check for a boolean flag and the
question of whether JAX can see a CUDA GPU (XLA then uses cuBLAS and cuDNN)."""

from __future__ import annotations

from typing import Any


def check_bool(value: Any, setter: str) -> bool:
    """``value`` if it is a bool, else PyTorch's error (it names its C++ setter)."""
    if not isinstance(value, bool):
        raise RuntimeError(f"{setter} expects a bool, but got {type(value).__name__}")
    return value


def has_cuda_gpu() -> bool:
    from ..device import cuda
    return cuda.is_available()


def cuda_versions() -> Any:
    """The version module of the installed JAX CUDA plugin, or None when there is none
    (a CPU-only jaxlib: srcgrad was "built without CUDA", in PyTorch's words)."""
    try:
        from jax._src.lib import cuda_versions as versions  # (private, hence the guard)
    except ImportError:
        return None
    return versions
