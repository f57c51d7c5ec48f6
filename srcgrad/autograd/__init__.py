"""``srcgrad.autograd``: PyTorch's autograd API over srcgrad's source transformer."""

from __future__ import annotations

from typing import Any

from .. import grad_mode  # (torch.autograd.grad_mode)
from .. import tensor as T
from ..autodiff import grad
from ..grad_mode import inference_mode, is_inference_mode_enabled
from . import functional
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck
from .graph import AccumulateGrad

__all__ = ["Variable", "Function", "FunctionCtx", "grad", "backward", "gradcheck", "gradgradcheck",
           "functional", "AccumulateGrad", "inference_mode", "is_inference_mode_enabled", "set_detect_anomaly",
           "detect_anomaly"]


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


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> T.Tensor:  # noqa: N802
    """The old ``Variable`` wrapper: returns a tensor (as PyTorch has since 0.4)."""
    t = data if isinstance(data, T.Tensor) else T.tensor(data)
    if requires_grad:
        t = t.detach() if not t.is_leaf else t
        t.requires_grad_(True)
    return t


class detect_anomaly:  # noqa: N801
    """Accepted for compatibility; srcgrad's errors already name the op and line."""

    def __init__(self, check_nan: bool = True) -> None:
        pass

    def __enter__(self) -> None:
        pass

    def __exit__(self, *a: object) -> None:
        pass


def set_detect_anomaly(mode: bool) -> None:
    pass
