"""``srcgrad.autograd``: PyTorch's autograd API over srcgrad's source transformer."""

from __future__ import annotations

import sys
import warnings
from typing import Any

from .. import grad_mode  # (torch.autograd.grad_mode)
from .. import tensor as T
from ..autodiff import grad
from ..grad_mode import (
    enable_grad,
    inference_mode,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_anomaly_enabled,
    set_grad_enabled,
    set_multithreading_enabled,
)
from . import forward_ad, functional
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck
from .graph import AccumulateGrad

# ``import torch.autograd.grad_mode`` works in PyTorch: make the module path resolve here too.
sys.modules.setdefault(__name__ + ".grad_mode", grad_mode)

__all__ = ["Variable", "Function", "FunctionCtx", "grad", "backward", "gradcheck", "gradgradcheck",
           "functional", "forward_ad", "AccumulateGrad", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "set_multithreading_enabled",
           "set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
           "set_anomaly_enabled"]


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """``torch.autograd.backward``: accumulate the gradients of ``tensors`` into the leaves' ``.grad``."""
    if isinstance(tensors, T.Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    if grad_tensors is None:
        grad_tensors = grad_variables
    if isinstance(grad_tensors, T.Tensor):
        grad_tensors = [grad_tensors]
    grad_tensors = list(grad_tensors) if grad_tensors is not None else [None] * len(tensors)
    T.run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


class VariableMeta(type):
    """``isinstance(t, Variable)`` is True for every tensor, as in PyTorch."""

    def __instancecheck__(cls, other: Any) -> bool:
        return isinstance(other, T.Tensor)

    def __call__(cls, data: Any = None, requires_grad: bool = False, volatile: bool = False) -> Any:
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          UserWarning, stacklevel=2)
        if data is None:
            data = T.tensor([])
        elif not isinstance(data, T.Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()  # a new leaf sharing data's storage, as PyTorch's Variable(data)
        if requires_grad:
            t.requires_grad_(True)
        return t


class Variable(metaclass=VariableMeta):
    """The old ``Variable`` wrapper: ``Variable(t)`` returns a tensor (as PyTorch has since 0.4),
    and ``isinstance(t, Variable)`` holds for every tensor."""


class detect_anomaly:  # noqa: N801
    """Context manager that turns on anomaly detection: a backward function
    producing NaN raises ``RuntimeError: Function 'XBackward0' returned nan values in its 0th output.``
    (with ``check_nan=True``)."""

    def __init__(self, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.check_nan = check_nan
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime and should only "
                      "be enabled for debugging.", UserWarning, stacklevel=2)

    def __enter__(self) -> None:
        set_anomaly_enabled(True, self.check_nan)

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


class set_detect_anomaly:  # noqa: N801
    """Turn anomaly detection on or off at once; as a ``with`` block, restore the previous
    setting on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = is_anomaly_enabled()
        self.prev_check_nan = is_anomaly_check_nan_enabled()
        set_anomaly_enabled(mode, check_nan)

    def __enter__(self) -> None:
        pass

    def __exit__(self, *args: object) -> None:
        set_anomaly_enabled(self.prev, self.prev_check_nan)


def __getattr__(name: str) -> Any:
    # torch.autograd.profiler and profiler_util, imported on first use (process start time)
    if name in ("profiler", "profiler_util"):
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'srcgrad.autograd' has no attribute '{name}'")
