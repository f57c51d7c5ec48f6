"""The random-number state: ``manual_seed(s)`` gives the same numbers every run.

Random ops are recorded like any other op; the program draws from
``fold_in(key(seed), counter)``, where seed and counter are program inputs,
so sampling again compiles nothing.
"""

from __future__ import annotations

import os


class _State:
    seed = int.from_bytes(os.urandom(4), "little")
    counter = 0


_state = _State()


def manual_seed(seed: int) -> object:
    """Seed srcgrad's generator; returns an object like torch's Generator (for chaining)."""
    _state.seed = int(seed) & 0xFFFFFFFF
    _state.counter = 0
    return _state


def seed() -> int:
    manual_seed(int.from_bytes(os.urandom(4), "little"))
    return _state.seed


def initial_seed() -> int:
    return _state.seed


def next_key() -> tuple[int, int]:
    """The (seed, counter) pair for the next random op."""
    c = _state.counter
    _state.counter = c + 1
    return _state.seed, c


def get_rng_state() -> tuple[int, int]:
    return (_state.seed, _state.counter)


def set_rng_state(state: tuple[int, int]) -> None:
    _state.seed, _state.counter = int(state[0]), int(state[1])
