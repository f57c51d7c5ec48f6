"""``torch.utils.data`` for srcgrad: datasets, samplers, ``DataLoader`` and collation.

``from srcgrad.utils.data import DataLoader, TensorDataset`` (or, with
``import srcgrad as torch``, ``from torch.utils.data import ...``) runs PyTorch's data
loading code; see ``docs/data.md`` for what differs.
"""

from __future__ import annotations

from ._collate import default_collate_fn_map
from .dataloader import DataLoader, WorkerInfo, _DatasetKind, default_collate, default_convert, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "_DatasetKind",
    "default_collate",
    "default_collate_fn_map",
    "default_convert",
    "get_worker_info",
    "random_split",
]
