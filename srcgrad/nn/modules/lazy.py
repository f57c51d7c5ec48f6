"""Lazy modules: ``LazyLinear``, ``LazyConv*``, ``LazyConvTranspose*``, ``LazyBatchNorm*``, ``LazyInstanceNorm*``.

Their parameters (and running statistics) are ``UninitializedParameter``s (``UninitializedBuffer``s) until
the first forward, which infers the input features from the input's shape, materialises them, initialises
them as the regular layer does and turns the module into that layer (``cls_to_become``), as in PyTorch.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...dtypes import int64
from ...grad_mode import no_grad
from ...tensor import Tensor, tensor
from ..parameter import UninitializedBuffer, UninitializedParameter, UninitializedTensorMixin
from .batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d


def is_lazy(t: Any) -> bool:
    return isinstance(t, UninitializedTensorMixin)


class LazyModuleMixin:
    """Shape inference at the first forward (a forward pre-hook calls ``initialize_parameters``), and
    ``load_state_dict`` of a materialised checkpoint into an uninitialised module."""

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)  # type: ignore[attr-defined]
        self._initialize_hook = self.register_forward_pre_hook(  # type: ignore[attr-defined]
            self._infer_parameters, with_kwargs=True)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        # (an uninitialised parameter is saved as itself, not detached)
        for name, param in self._parameters.items():  # type: ignore[attr-defined]
            if param is not None:
                destination[prefix + name] = param if is_lazy(param) or keep_vars else param.detach()
        for name, buf in self._buffers.items():  # type: ignore[attr-defined]
            if buf is not None and name not in self._non_persistent_buffers_set:  # type: ignore[attr-defined]
                destination[prefix + name] = buf if is_lazy(buf) or keep_vars else buf.detach()

    def _lazy_load_hook(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                        missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):  # type: ignore
            key = prefix + name
            if key in state_dict and param is not None and is_lazy(param) and not is_lazy(state_dict[key]):
                with no_grad():
                    param.materialize(state_dict[key].shape)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),  # type: ignore[attr-defined]
                                                          self._buffers.values()))  # type: ignore[attr-defined]

    def _infer_parameters(self, module: Any, args: tuple, kwargs: dict | None = None) -> None:
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")  # type: ignore
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last dim of its first input."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


class _LazyConvXdMixin(LazyModuleMixin):
    _dims = 0

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:  # type: ignore[attr-defined]
            super().reset_parameters()  # type: ignore[misc]

    def _get_in_channels(self, input: Tensor) -> int:
        n = self._dims + 1
        if input.dim() not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to "
                               f"{self.__class__.__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.dim() == n + 1 else input.shape[0]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:  # type: ignore[attr-defined]
                raise ValueError("in_channels must be divisible by groups")
            k, g = tuple(self.kernel_size), self.groups  # type: ignore[attr-defined]
            out = self.out_channels  # type: ignore[attr-defined]
            with no_grad():
                if self.transposed:  # type: ignore[attr-defined]
                    self.weight.materialize((self.in_channels, out // g) + k)  # type: ignore[attr-defined]
                else:
                    self.weight.materialize((out, self.in_channels // g) + k)  # type: ignore[attr-defined]
                if self.bias is not None:  # type: ignore[attr-defined]
                    self.bias.materialize((out,))  # type: ignore[attr-defined]
                self.reset_parameters()


def _lazy_conv(name: str, base: type, dims: int) -> type:
    def _init(self: Any, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        base.__init__(self, 0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device,
                      dtype)
        _finish_lazy_conv(self, out_channels, bias, device, dtype)

    cls = type(name, (_LazyConvXdMixin, base), {"cls_to_become": base, "_dims": dims, "__init__": _init,
                                                "__doc__": f"``{base.__name__}`` whose ``in_channels`` is its "
                                                           "first input's channel count."})
    return cls


def _lazy_conv_transpose(name: str, base: type, dims: int) -> type:
    def _init(self: Any, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        base.__init__(self, 0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation,
                      padding_mode, device, dtype)
        _finish_lazy_conv(self, out_channels, bias, device, dtype)

    return type(name, (_LazyConvXdMixin, base), {"cls_to_become": base, "_dims": dims, "__init__": _init,
                                                 "__doc__": f"``{base.__name__}`` whose ``in_channels`` is its "
                                                            "first input's channel count."})


def _finish_lazy_conv(m: Any, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
    # (the mixin's hooks: LazyModuleMixin.__init__ is bypassed by calling the base's __init__ directly)
    m._load_hook = m._register_load_state_dict_pre_hook(m._lazy_load_hook)
    m._initialize_hook = m.register_forward_pre_hook(m._infer_parameters, with_kwargs=True)
    m.weight = UninitializedParameter(device=device, dtype=dtype)
    m.out_channels = out_channels
    if bias:
        m.bias = UninitializedParameter(device=device, dtype=dtype)


LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, 1)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, 2)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, 3)
LazyConvTranspose1d = _lazy_conv_transpose("LazyConvTranspose1d", ConvTranspose1d, 1)
LazyConvTranspose2d = _lazy_conv_transpose("LazyConvTranspose2d", ConvTranspose2d, 2)
LazyConvTranspose3d = _lazy_conv_transpose("LazyConvTranspose3d", ConvTranspose3d, 3)


class _LazyNormBase(LazyModuleMixin):
    _instance = False

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:  # type: ignore[attr-defined]
            super().reset_parameters()  # type: ignore[misc]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        if self.has_uninitialized_params():
            # (PyTorch reads dim 1; an unbatched instance-norm input has its channels at dim 0)
            dim = 0 if self._instance and input.dim() == self._dims + 1 else 1
            self.num_features = input.shape[dim]
            with no_grad():
                if self.affine:
                    self.weight.materialize((self.num_features,))  # type: ignore[attr-defined]
                    if self.bias is not None:  # type: ignore[attr-defined]
                        self.bias.materialize((self.num_features,))  # type: ignore[attr-defined]
                if self.track_running_stats:
                    self.running_mean.materialize((self.num_features,))  # type: ignore[attr-defined]
                    self.running_var.materialize((self.num_features,))  # type: ignore[attr-defined]
                self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is dim 1 of its first input."""

    cls_to_become = BatchNorm1d
    _dims = 1


class LazyBatchNorm2d(_LazyNormBase, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is dim 1 of its first input."""

    cls_to_become = BatchNorm2d
    _dims = 2


class LazyBatchNorm3d(_LazyNormBase, BatchNorm3d):
    """``BatchNorm3d`` whose ``num_features`` is dim 1 of its first input."""

    cls_to_become = BatchNorm3d
    _dims = 3


class LazyInstanceNorm1d(_LazyNormBase, InstanceNorm1d):
    """``InstanceNorm1d`` whose ``num_features`` is its first input's channel count."""

    cls_to_become = InstanceNorm1d
    _instance = True


class LazyInstanceNorm2d(_LazyNormBase, InstanceNorm2d):
    """``InstanceNorm2d`` whose ``num_features`` is its first input's channel count."""

    cls_to_become = InstanceNorm2d
    _instance = True


class LazyInstanceNorm3d(_LazyNormBase, InstanceNorm3d):
    """``InstanceNorm3d`` whose ``num_features`` is its first input's channel count."""

    cls_to_become = InstanceNorm3d
    _instance = True
