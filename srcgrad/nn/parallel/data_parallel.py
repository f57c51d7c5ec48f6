"""``nn.DataParallel``: training scripts wrap their model in it (``model = nn.DataParallel(model)``) and
save ``model.module.state_dict()``; with srcgrad the wrapper runs the module on one device.

Without a GPU it is PyTorch's CPU behaviour exactly: the module is called as it is (``device_ids`` is
empty). With GPUs, the module is moved to ``device_ids[0]`` and tensor inputs follow it, as PyTorch
does with one GPU. srcgrad runs each program on a single device, so with several ``device_ids`` the
batch is not split across them: the result and its gradients are what one device computes (PyTorch's
replicas compute the same sums), and a warning says so once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import chain
from typing import Any

from ...device import cuda, device
from ...func.pytree import tree_map
from ...tensor import Tensor
from ..modules.module import Module

_warned = [False]


def _device_index(d: Any) -> int:
    if isinstance(d, int):
        return d
    d = device(d)
    return 0 if d.index is None else d.index


def _to(obj: Any, dev: device) -> Any:
    """Tensors inside ``obj`` (tuples, lists, dicts) moved to ``dev``: PyTorch's scatter onto one device."""
    return tree_map(lambda x: x.to(dev) if isinstance(x, Tensor) else x, obj)


class DataParallel(Module):
    """``module`` run on the first of ``device_ids`` (all GPUs by default); on a machine without a GPU,
    ``module`` itself. ``state_dict`` keys carry the ``module.`` prefix, as PyTorch's."""

    def __init__(self, module: Module, device_ids: Sequence[int | device] | None = None,
                 output_device: int | device | None = None, dim: int = 0) -> None:
        super().__init__()
        if not cuda.is_available():  # (PyTorch's CPU path sets nothing else)
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_device_index(d) for d in device_ids]
        self.output_device = _device_index(output_device)
        self.src_device_obj = device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in chain(self.module.parameters(), self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(f"module must have its parameters and buffers on device {self.src_device_obj} "
                                   f"(device_ids[0]) but found one of them on device: {t.device}")
        if len(self.device_ids) > 1 and not _warned[0]:
            _warned[0] = True
            warnings.warn(f"srcgrad runs a program on one device: DataParallel computes the whole batch on "
                          f"{self.src_device_obj} instead of splitting it over {len(self.device_ids)} devices "
                          "(same results).", UserWarning, stacklevel=2)
        return self.module(*_to(inputs, self.src_device_obj), **_to(kwargs, self.src_device_obj))
