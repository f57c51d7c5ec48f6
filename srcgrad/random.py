"""Random-number state: ``Generator`` objects, as ``torch.Generator``.

Random ops are recorded like any other op; the program draws from
``fold_in(key(seed), counter)``, where seed and counter are program inputs,
so sampling again compiles nothing. A ``Generator`` is just that pair: its
seed and how many draws it has handed out. ``manual_seed(s)`` seeds the default
generator (``srcgrad.default_generator``), which every random op uses unless it
is given ``generator=``; the same seed gives the same numbers every run (not
PyTorch's numbers: the bits come from JAX's threefry generator).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from . import tracing

_STATE_BYTES = 16  # the seed and the counter, 8 little-endian bytes each


class Generator:
    """``torch.Generator``: an independent stream of random numbers.

    ``g = srcgrad.Generator().manual_seed(0)`` then ``srcgrad.randn(3, generator=g)``
    draws from ``g`` alone, leaving the default generator's sequence as it was."""

    __slots__ = ("device", "_seed", "_counter", "__weakref__")

    def __init__(self, device: Any = "cpu") -> None:
        from .device import device as _device
        self.device = _device(device)
        self._seed = _fresh_seed()
        self._counter = 0

    def manual_seed(self, seed: int) -> Generator:
        """Seed this generator and restart its sequence; returns the generator (for chaining)."""
        try:
            s = int(seed)
        except (TypeError, ValueError):
            raise TypeError(f"manual_seed expected an int seed, got {type(seed).__name__}") from None
        self._seed = s & 0xFFFFFFFF
        self._counter = 0
        reseed = getattr(tracing.ACTIVE, "note_reseed", None)  # (in a @srcgrad.compile trace)
        if reseed is not None:
            reseed()
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy; returns the new seed."""
        self.manual_seed(_fresh_seed())
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The state as a ``uint8`` tensor (PyTorch's type; 16 bytes here, not PyTorch's 5056)."""
        import numpy as np

        from .tensor import tensor
        raw = self._seed.to_bytes(8, "little") + self._counter.to_bytes(8, "little")
        return tensor(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state: Any) -> Generator:
        """Restore a state from ``get_state()``."""
        import numpy as np

        from .tensor import Tensor
        if not isinstance(new_state, Tensor) or new_state.dtype.name != "uint8":
            raise TypeError("RNG state must be a torch.ByteTensor")
        raw = np.asarray(new_state.numpy(), dtype=np.uint8).tobytes()
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected an RNG state of size {_STATE_BYTES} but found the input RNG state "
                               f"size to be {len(raw)} (a state from srcgrad's get_state(), not PyTorch's)")
        self._seed = int.from_bytes(raw[:8], "little")
        self._counter = int.from_bytes(raw[8:], "little")
        return self

    def next_key(self) -> tuple[int, int]:
        """The (seed, counter) pair for the next random op."""
        c = self._counter
        self._counter = c + 1
        return self._seed, c

    def __repr__(self) -> str:
        return f"<srcgrad.Generator object at {id(self):#x}>"


def _fresh_seed() -> int:
    return int.from_bytes(os.urandom(4), "little")


default_generator = Generator()


def generator_of(generator: Any, op: str = "random op") -> Generator:
    """``generator`` checked, or the default generator for None."""
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"{op}(): argument 'generator' must be a srcgrad.Generator, "
                        f"not {type(generator).__name__}")
    return generator


def manual_seed(seed: int) -> Generator:
    """Seed the default generator; returns it (as ``torch.manual_seed`` does)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def next_key(generator: Generator | None = None) -> tuple[int, int]:
    """The (seed, counter) pair for the next random op of ``generator`` (default: the default one)."""
    return (generator or default_generator).next_key()


def get_rng_state() -> Any:
    """The default generator's state, a ``uint8`` tensor for ``set_rng_state``."""
    return default_generator.get_state()


def set_rng_state(new_state: Any) -> None:
    default_generator.set_state(new_state)


def fork_state() -> tuple[int, int]:
    """The default generator's (seed, counter), for srcgrad's own save-and-restore (checkpointing)."""
    return default_generator._seed, default_generator._counter


def restore_state(state: tuple[int, int]) -> None:
    default_generator._seed, default_generator._counter = state


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, _caller: str = "fork_rng", _devices_kw: str = "devices",
             device_type: Any = None) -> Iterator[None]:
    """``torch.random.fork_rng``: random ops inside the block draw from the default generator as usual,
    and its state is restored when the block exits (the device arguments are accepted: one generator
    serves every device here)."""
    if not enabled:
        yield
        return
    state = fork_state()
    try:
        yield
    finally:
        restore_state(state)
