"""Devices with PyTorch's names: ``cpu``, ``cuda[:i]`` (a GPU that JAX sees) and ``meta``
(shapes and dtypes without data: ops on meta tensors are recorded, never computed)."""

from __future__ import annotations

from typing import Any

import jax


class NoCudaError(AssertionError, RuntimeError):
    """No GPU for a ``cuda`` device: PyTorch raises an ``AssertionError`` there ("Torch not
    compiled with CUDA enabled"), srcgrad raised a ``RuntimeError``; this is both."""


class device:  # noqa: N801 - the PyTorch name
    """A place tensors live on: ``device("cpu")``, ``device("cuda:0")``."""

    __slots__ = ("type", "index", "_jax")
    _interned: dict = {}

    def __new__(cls, spec: Any = "cpu", index: int | None = None) -> device:
        if isinstance(spec, device):
            return spec
        text = str(spec)
        if index is not None:
            text = f"{text}:{index}"
        key = text
        if key in cls._interned:
            return cls._interned[key]
        kind, _, idx = text.partition(":")
        if kind not in ("cpu", "cuda", "gpu", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, meta device type at start of device string: {text}")
        kind = "cuda" if kind == "gpu" else kind
        if idx and not idx.isdigit():
            raise RuntimeError(f"Invalid device string: '{text}'")
        i = int(idx) if idx else 0
        if kind == "cuda":
            # (as PyTorch, naming a GPU that is not there is allowed: placing a tensor on it raises)
            gpus = _gpus()
            if gpus and i >= len(gpus):
                raise RuntimeError(f"CUDA error: invalid device ordinal {i} (JAX sees {len(gpus)} GPUs)")
            jdev = gpus[i] if gpus else None
        else:  # (meta: never computed on; the CPU stands in where a JAX device is asked for)
            jdev = jax.devices("cpu")[0]
        self = object.__new__(cls)
        self.type = kind
        self.index = i if idx else None  # (`device("cpu", 0)` keeps its index, as PyTorch's)
        self._jax = jdev
        cls._interned[key] = self
        cls._interned[str(self)] = self
        return self

    @property
    def placed(self) -> device:
        """The device a tensor placed here reports: PyTorch's CPU tensors are on ``cpu``, whatever
        index was asked for (``device("cpu", 0)`` itself keeps its index)."""
        return device("cpu") if self.type == "cpu" else self

    @property
    def jax(self) -> Any:
        """The JAX device tensors placed here live on."""
        if self._jax is None:
            raise NoCudaError("Torch not compiled with CUDA enabled: JAX sees no GPU here "
                              "(srcgrad.cuda.is_available() is False); use device='cpu'")
        return self._jax

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if other is self:  # devices are interned: the usual case
            return True
        # (a string is never equal: PyTorch 2.x gives False for `t.device == "cpu"`; compare
        # `t.device.type == "cpu"` or `t.device == torch.device("cpu")`)
        return isinstance(other, device) and other.type == self.type and \
            (other.index or 0) == (self.index or 0)

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))

    def __reduce__(self) -> tuple:
        return (device, (str(self),))


def _gpus() -> list:
    try:
        return jax.devices("gpu")
    except RuntimeError:
        return []


CPU = device("cpu")
META = device("meta")


class MetaValue:
    """The value of a meta tensor: there is none (``tracing.Unknown``'s cousin; a type of its
    own so that reading it can say so)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no data: meta tensor>"


META_VALUE = MetaValue()
NO_DATA = "Cannot copy out of meta tensor; no data!"


def from_jax(d: Any) -> device:
    if d.platform == "cpu":
        return CPU
    return device("cuda", _gpus().index(d))


class _amp_namespace:  # noqa: N801
    """``srcgrad.cuda.amp`` / ``srcgrad.cpu.amp``: the deprecated ``autocast`` and ``GradScaler``
    spellings (``srcgrad/amp/legacy.py``), imported on first use."""

    def __init__(self, device_type: str) -> None:
        self.device_type = device_type

    def __get__(self, obj: Any, owner: Any) -> Any:
        from .amp import legacy
        return getattr(legacy, self.device_type)


class cuda:  # noqa: N801 - mirrors the torch.cuda namespace
    """``srcgrad.cuda.is_available()`` and friends."""

    amp = _amp_namespace("cuda")

    @staticmethod
    def is_available() -> bool:
        return bool(_gpus())

    @staticmethod
    def device_count() -> int:
        return len(_gpus())

    @staticmethod
    def synchronize() -> None:
        pass

    @staticmethod
    def manual_seed(seed: int) -> None:
        from .random import manual_seed
        manual_seed(seed)

    manual_seed_all = manual_seed

    # The memory statistics training scripts print: JAX keeps them per device (0 where there is no GPU,
    # as CPU-only PyTorch's are)
    @staticmethod
    def memory_allocated(device: Any = None) -> int:
        return _gpu_memory("bytes_in_use", device)

    @staticmethod
    def max_memory_allocated(device: Any = None) -> int:
        return _gpu_memory("peak_bytes_in_use", device)

    @staticmethod
    def memory_reserved(device: Any = None) -> int:
        return _gpu_memory("bytes_reserved", device)

    max_memory_reserved = memory_reserved

    @staticmethod
    def empty_cache() -> None:
        """Nothing to do: XLA's allocator keeps its pool (PyTorch's is a no-op without a GPU too)."""

    @staticmethod
    def reset_peak_memory_stats(device: Any = None) -> None:
        """JAX cannot reset its peak; kept so that scripts that call it run."""

    @staticmethod
    def current_device() -> int:
        _need_gpu()
        return 0

    @staticmethod
    def set_device(device: Any) -> None:
        _need_gpu()

    @staticmethod
    def get_device_name(device: Any = None) -> str:
        _need_gpu()
        return _gpus()[0 if device is None else int(getattr(device, "index", device) or 0)].device_kind

    @staticmethod
    def get_device_properties(device: Any = None) -> Any:
        _need_gpu()
        return _gpus()[0 if device is None else int(getattr(device, "index", device) or 0)]


def _need_gpu() -> None:
    if not _gpus():
        raise NoCudaError("Torch not compiled with CUDA enabled")


def _gpu_memory(key: str, device: Any) -> int:
    gpus = _gpus()
    if not gpus:
        return 0
    index = 0 if device is None else int(getattr(device, "index", device) or 0)
    stats = gpus[index].memory_stats() or {}
    return int(stats.get(key, 0))


class cpu:  # noqa: N801 - mirrors the torch.cpu namespace
    """``srcgrad.cpu.amp`` and friends."""

    amp = _amp_namespace("cpu")

    @staticmethod
    def is_available() -> bool:
        return True

    @staticmethod
    def device_count() -> int:
        return 1

    @staticmethod
    def synchronize() -> None:
        pass
