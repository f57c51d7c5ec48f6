"""``srcgrad.autograd``: PyTorch's autograd API over srcgrad's source transformer."""

from __future__ import annotations

from typing import Any

from .. import tensor as T
from ..autodiff import backward, grad
from . import functional
from .function import Function, FunctionCtx
from .gradcheck import gradcheck, gradgradcheck
from .graph import AccumulateGrad

__all__ = ["Variable", "Function", "FunctionCtx", "grad", "backward", "gradcheck", "gradgradcheck",
           "functional", "AccumulateGrad", "set_detect_anomaly", "detect_anomaly"]


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
