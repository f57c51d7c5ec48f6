"""``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d`` over ``srcgrad.pooling.batch_norm``.

Training normalises by the batch's statistics and updates the ``running_mean``/``running_var``
buffers in place (an exponential average with ``momentum``, or the cumulative average when
``momentum`` is None, counted by ``num_batches_tracked``); eval normalises by the buffers. The
updates are ordinary in-place ops under ``no_grad``, computed by the program that computes the
layer's output (see ``srcgrad.pooling.batch_norm``), so ``@srcgrad.compile`` replays them as outputs of
the compiled step; the cumulative average's ``1 / num_batches_tracked`` is a tensor op, not a Python
number read from a tensor (which would stop a compiled step from replaying).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import dtypes as D
from ... import pooling as P
from ...grad_mode import no_grad
from ...tensor import Tensor, empty, tensor
from .. import init
from ..parameter import Parameter
from .module import Module


def _fill_num_batches_tracked(m: Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
    """PyTorch's ``_NormBase`` migration: checkpoints before version 2 have no ``num_batches_tracked``;
    loading one keeps the module's counter (a new 0 when it has none, or a meta one)."""
    version = local_metadata.get("version", None)
    if (version is None or version < 2) and m.track_running_stats:
        key = prefix + "num_batches_tracked"
        if key not in state_dict:
            current = m.num_batches_tracked
            state_dict[key] = current if current is not None and current.device.type != "meta" \
                else tensor(0, dtype=D.int64)


class _NormBase(Module):
    """What batch and instance normalisation share, as PyTorch's base class of both: code written for
    PyTorch tests ``isinstance(m, _NormBase)`` (to keep norm layers out of weight decay, say)."""


class _BatchNorm(_NormBase):
    _version = 2

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(empty(num_features, device=device, dtype=dtype))
            if bias:
                self.bias = Parameter(empty(num_features, device=device, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:  # (values, not pending ops: nothing to compute before the first step)
            float_type = D.as_dtype(dtype) if dtype is not None else D.get_default_dtype()
            self.register_buffer("running_mean", tensor(np.zeros(num_features), dtype=float_type, device=device))
            self.register_buffer("running_var", tensor(np.ones(num_features), dtype=float_type, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=D.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self._reset_affine()

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Reset the running statistics; weight 1, bias 0."""
        self.reset_running_stats()
        self._reset_affine()

    def _reset_affine(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        _fill_num_batches_tracked(self, state_dict, prefix, local_metadata)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor: float | Tensor = 0.0 if self.momentum is None else self.momentum
        counter = None
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            counter = self.num_batches_tracked
            P.settle(counter)
            counter.add_(1)
            if self.momentum is None:  # the cumulative average: weight 1/n for the n-th batch
                factor = 1.0 / self.num_batches_tracked.to(self.running_mean.dtype)
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return P._batch_norm(input, self.running_mean if keep else None, self.running_var if keep else None,
                             self.weight, self.bias, use_batch_stats, factor, self.eps, also_updated=(counter,))

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input, per channel C."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel C."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) input, per channel C."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over input of at least 2 dimensions, per channel (dimension 1), with the statistics
    of the whole batch. PyTorch synchronises them across the processes of a distributed run; srcgrad runs in
    one process, so this is what PyTorch's computes without an initialised process group."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group: Any = None, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every ``BatchNorm*d`` inside replaced by a ``SyncBatchNorm`` sharing its parameters
        and statistics (a new layer when ``module`` is itself one), as PyTorch's."""
        out = module
        if isinstance(module, _BatchNorm):
            out = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                module.track_running_stats, process_group, bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


def __getattr__(name: str) -> Any:
    # (PyTorch keeps the lazy norms' base here; srcgrad defines it beside the other lazy modules)
    if name == "_LazyNormBase":
        from .lazy import _LazyNormBase
        return _LazyNormBase
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
