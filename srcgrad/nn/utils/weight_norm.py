"""The legacy, hook-based weight normalization (``nn.utils.weight_norm``, https://arxiv.org/abs/1602.07868).

``weight_norm(module)`` replaces the parameter ``weight`` by ``weight_g`` (magnitude) and ``weight_v``
(direction) and recomputes ``module.weight = weight_g * weight_v / ||weight_v||`` in a forward pre-hook
before every call, as PyTorch's does; it warns that it is deprecated in favour of
``nn.utils.parametrizations.weight_norm``. Inside ``srcgrad.compile`` a step with such a module runs
define-by-run (after a ``CompileWarning``): the hook assigns a new tensor to ``module.weight`` on
every call, Python state that a replay could not update; the parametrization keeps no such state and
compiles.
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "norm_except_dim"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """PyTorch's ``torch.norm_except_dim``: the ``pow``-norm of ``v`` over every dimension but ``dim``,
    kept with size 1 (a 0-d tensor, the norm of everything, for ``dim=-1``)."""
    if dim == -1:
        return v.norm(pow)
    n = v.dim()
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    d = dim % n
    others = tuple(i for i in range(n) if i != d)
    if not others:  # (a vector normalised along its only dimension: each entry's absolute value)
        return v.abs()
    return v.norm(pow, others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """PyTorch's ``torch._weight_norm``: ``v * (g / norm_except_dim(v, 2, dim))``."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook that ``weight_norm`` registers: it recomputes ``module.<name>``."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=3)
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        g = Parameter(norm_except_dim(weight, 2, dim).data)  # (checks dim before anything changes)
        del module._parameters[name]
        module.register_parameter(name + "_g", g)
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int | None = 0) -> T_module:
    """Replace the parameter ``name`` by ``name_g`` (its norm over every dimension but ``dim``; the whole
    norm for ``dim=None``) and ``name_v`` (the direction), recomputing ``module.<name> = g * v / ||v||``
    before every forward. Deprecated (as in PyTorch, with its ``FutureWarning``): use
    ``nn.utils.parametrizations.weight_norm``, which loads state dicts saved from this one."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo ``weight_norm``: ``name`` becomes a parameter again, holding the current normalised weight."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
