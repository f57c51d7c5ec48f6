"""Samplers: the order in which a ``DataLoader`` reads a map-style dataset.

As ``torch.utils.data.sampler``. Every random choice comes from srcgrad's generators:
a sampler given ``generator=`` draws from it, and ``RandomSampler`` without one seeds a
fresh ``srcgrad.Generator`` each epoch from a number drawn from the default generator (as
PyTorch draws from torch's), so ``srcgrad.manual_seed`` makes shuffling reproducible.
The numbers are srcgrad's, not PyTorch's.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Generic, TypeVar

import numpy as np

from ... import dtypes as D
from ... import random as _random
from ...tensor import Tensor, as_tensor, rand, randint, randperm

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

_T_co = TypeVar("_T_co", covariant=True)
_M64 = (1 << 64) - 1


def _mix64(z: int) -> int:
    """SplitMix64's finaliser: a bijective scramble of 64 bits."""
    z = (z + 0x9E3779B97F4A7C15) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def draw_seed(generator: _random.Generator | None = None) -> int:
    """A non-negative 63-bit seed drawn from ``generator`` (default: the default generator).

    PyTorch's ``torch.empty((), dtype=torch.int64).random_(generator=g).item()``: it takes
    one draw of the generator's stream (its next (seed, counter) key), and hashes the key
    on the host, so no program runs for it."""
    seed, counter = _random.generator_of(generator, "random_").next_key()
    return _mix64(_mix64(seed) ^ counter) >> 1


class Sampler(Generic[_T_co]):
    """Base class: ``__iter__`` yields indices (or lists of indices, for a batch sampler);
    ``__len__`` is optional (``len(DataLoader)`` needs it)."""

    def __iter__(self) -> Iterator[_T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``, always in that order."""

    data_source: Sized

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random order of the indices (a new one each epoch); with ``replacement=True``,
    ``num_samples`` independent uniform draws. Without replacement and with ``num_samples``
    larger than the dataset, whole permutations follow each other."""

    data_source: Sized
    replacement: bool

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: _random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # the dataset's size may change after the sampler is made
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.generator is None:
            generator = _random.Generator()
            generator.manual_seed(draw_seed())
        else:
            generator = _random.generator_of(self.generator, "RandomSampler")
        if self.replacement:
            # (PyTorch draws 32 at a time; one draw of all of them runs one program)
            yield from randint(0, n, (self.num_samples,), generator=generator).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from randperm(n, generator=generator).tolist()
            yield from randperm(n, generator=generator).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices in a random order (a new one each epoch), without replacement."""

    indices: Sequence[int]

    def __init__(self, indices: Sequence[int], generator: _random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities proportional
    to ``weights`` (``torch.multinomial``'s rules): with replacement by default, else each
    index at most once."""

    weights: Tensor
    num_samples: int
    replacement: bool

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: _random.Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights_tensor = as_tensor(weights, dtype=D.float64)
        if len(weights_tensor.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given "
                             f"weights have shape {tuple(weights_tensor.shape)}")
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        yield from _multinomial(self.weights, self.num_samples, self.replacement, self.generator)

    def __len__(self) -> int:
        return self.num_samples


def _multinomial(weights: Tensor, n: int, replacement: bool, generator: _random.Generator | None) -> list[int]:
    """``torch.multinomial(weights, n, replacement).tolist()`` for 1-D weights, with its errors.

    The uniform draws come from srcgrad's generator; the weights are read on the host, so
    the sampling costs O(k + n log k) instead of ``srcgrad.multinomial``'s n * k comparisons."""
    w = np.asarray(weights.detach().numpy(), dtype=np.float64)
    k = w.shape[0]
    if not replacement and n > k:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if replacement and np.all(np.isfinite(w)) and np.any(w < 0):
        raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = float(w.sum())
    if not total > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement:
        u = np.asarray(rand(n, dtype=D.float64, generator=generator).numpy())
        cdf = np.cumsum(w)
        # the first category whose cumulative weight exceeds u * total (never a zero weight)
        idx = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), k - 1)
        return idx.tolist()
    # Gumbel-top-k: the n largest log(w) + Gumbel noise are a draw without replacement
    u = np.asarray(rand(k, dtype=D.float64, generator=generator).numpy())
    with np.errstate(divide="ignore"):
        keys = np.log(w) - np.log(-np.log(np.clip(u, 1e-300, None)))
    return np.argsort(-keys, kind="stable")[:n].tolist()


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter,
    or dropped with ``drop_last=True``)."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            args = [sampler_iter] * self.batch_size
            for batch_droplast in zip(*args):
                yield [*batch_droplast]
        else:
            batch = [*itertools.islice(sampler_iter, self.batch_size)]
            while batch:
                yield batch
                batch = [*itertools.islice(sampler_iter, self.batch_size)]

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size  # type: ignore[arg-type]
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size  # type: ignore[arg-type]
