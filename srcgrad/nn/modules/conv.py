"""``Conv1d``/``2d``/``3d`` and ``ConvTranspose1d``/``2d``/``3d`` over the ``convolution`` primitive
(``srcgrad/conv.py``)."""

from __future__ import annotations

import math
from typing import Any

from ...tensor import Size, Tensor, empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


class _ConvNd(Module):
    _dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        n = self._dims
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_modes = {"zeros", "reflect", "replicate", "circular"}
        if padding_mode not in valid_padding_modes:
            raise ValueError(f"padding_mode must be one of {valid_padding_modes}, but got "
                             f"padding_mode='{padding_mode}'")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = F._tuple(kernel_size, n, "kernel_size")
        self.stride = F._tuple(stride, n, "stride")
        self.dilation = F._tuple(dilation, n, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of ('valid', 'same')")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = F._tuple(padding, n, "padding")
        self.output_padding = (0,) * n
        self.transposed = False
        self.groups = groups
        self.padding_mode = padding_mode
        # The padding as F.pad takes it (last dimension first, each side): a non-zero padding mode
        # pads with F.pad, then convolves with no padding, as PyTorch does.
        pairs = F.conv_padding(self.padding, self.kernel_size, self.stride, self.dilation)
        self._reversed_padding_repeated_twice = [p for pair in reversed(pairs) for p in pair]
        self.weight = Parameter(empty(out_channels, in_channels // groups, *self.kernel_size, device=device,
                                      dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weight (a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias, as PyTorch."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode != "zeros":
            return F._conv(f"conv{self._dims}d", self._dims,
                           F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                           self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return F._conv(f"conv{self._dims}d", self._dims, input, self.weight, self.bias, self.stride, self.padding,
                       self.dilation, self.groups)

    def extra_repr(self) -> str:
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) input: weight (C_out, C_in/groups, k)."""

    _dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) input: weight (C_out, C_in/groups, kH, kW)."""

    _dims = 2


class Conv3d(_ConvNd):
    """3-D convolution over (N, C_in, D, H, W) input."""

    _dims = 3


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution: weight (C_in, C_out/groups, k...), the input gradient of a
    convolution with that kernel; ``output_padding`` (or ``output_size`` in ``forward``) picks
    among the output sizes that the stride makes equally valid."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"padding={padding!r} is not supported for {type(self).__name__}")
        # (the parent builds a convolution's weight: build it, then replace it with the transposed layout)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.transposed = True
        self.output_padding = F._tuple(output_padding, self._dims, "output_padding")
        self.weight = Parameter(empty(in_channels, out_channels // groups, *self.kernel_size, device=device,
                                      dtype=dtype))
        self.reset_parameters()

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        if output_size is None:
            return self.output_padding
        n = self._dims
        size = list(output_size)[-n:]
        if len(size) != n:
            raise ValueError(f"ConvTranspose{n}D: for {input.dim()}D input, output_size must have {n} or "
                             f"{n + 2} elements (got {len(list(output_size))})")
        spatial = input.shape[input.dim() - n:]
        lo = [(spatial[i] - 1) * self.stride[i] - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1)
              + 1 for i in range(n)]
        hi = [lo[i] + self.stride[i] - 1 for i in range(n)]
        if any(not lo[i] <= size[i] <= hi[i] for i in range(n)):
            raise ValueError(f"requested an output size of {size}, but valid sizes range from {lo} to {hi} (for an "
                             f"input of {Size(input.shape[input.dim() - n:])!r})")
        return tuple(size[i] - lo[i] for i in range(n))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        return F._conv_transpose(f"conv_transpose{self._dims}d", self._dims, input, self.weight, self.bias,
                                 self.stride, self.padding, self._output_padding(input, output_size), self.groups,
                                 self.dilation)

    def extra_repr(self) -> str:
        n = self._dims
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) input."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) input."""

    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over (N, C_in, D, H, W) input."""

    _dims = 3
