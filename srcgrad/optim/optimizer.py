"""``Optimizer``: parameter groups, per-parameter state and PyTorch-format state dicts.

Subclasses write ``step()`` as in-place tensor updates under ``no_grad``: one
fused op of ``_fused.py`` per tensor the step writes (a moment, a buffer, the
parameter), so that recording a step costs a few ops a parameter. srcgrad
records those updates lazily, so the update of every parameter runs inside the
next realised program (usually the next step's forward/backward), as one cached
program. Hyperparameters enter as Python floats, which srcgrad passes as program
inputs: a learning rate that changes every step compiles nothing new. ``step()``
must never read a value back (``.item()``, ``float()``, ``print``): that would
force a realisation per call.
"""

from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Any

from .. import tracing
from ..dtypes import float32, float64, get_default_dtype
from ..grad_mode import no_grad
from ..ir import at_user_line
from ..nn.modules.module import _RemovableHandle
from ..tensor import Tensor, tensor, zeros


def update_step(step: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates an optimiser's ``step()``: it runs under ``no_grad``, and every op it records
    carries the user's line of the call, found once rather than per op (a step records a few
    ops a parameter; the closure, if any, records at its own lines)."""
    @functools.wraps(step)
    def run(self: Any, closure: Callable[[], Any] | None = None) -> Any:
        with no_grad(), at_user_line():
            return step(self, closure)
    return run


# Step hooks of every optimiser (torch.optim.optimizer.register_optimizer_step_pre_hook / _post_hook).
_global_step_pre_hooks: dict[int, Callable] = {}
_global_step_post_hooks: dict[int, Callable] = {}


def register_optimizer_step_pre_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(optimizer, args, kwargs)`` before every optimiser's ``step`` (``args`` starts with the
    optimiser); it may return ``(args, kwargs)``."""
    handle = _RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(optimizer, args, kwargs)`` after every optimiser's ``step``."""
    handle = _RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` calling the global and the optimiser's own step hooks around it (as PyTorch
    patches every optimiser class's ``step``). As in PyTorch, the hooks' ``args`` are all of
    ``step``'s positional arguments, the optimiser first: ``(opt,)`` or ``(opt, closure)``, and a
    pre-hook's ``(new_args, new_kwargs)`` are passed on as they are (the optimiser included)."""
    @functools.wraps(step)
    def run(*args: Any, **kwargs: Any) -> Any:
        self = args[0]
        pre, post = self._optimizer_step_pre_hooks, self._optimizer_step_post_hooks
        if not (pre or post or _global_step_pre_hooks or _global_step_post_hooks):
            return step(*args, **kwargs)
        for hook in chain(_global_step_pre_hooks.values(), pre.values()):
            tracing.note_hook(hook)
            result = hook(self, args, kwargs)
            if result is not None:
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got "
                                       f"{result}.")
                args, kwargs = result
        out = step(*args, **kwargs)
        for hook in chain(post.values(), _global_step_post_hooks.values()):
            tracing.note_hook(hook)
            hook(self, args, kwargs)
        return out
    run._step_hooks = True  # type: ignore[attr-defined]
    return run


def _add_hook(hooks: dict, hook: Callable[..., Any], prepend: bool) -> _RemovableHandle:
    handle = _RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        for k in [k for k in hooks if k != handle.id]:
            hooks[k] = hooks.pop(k)
    return handle


class _RequiredParameter:
    """Singleton marking a hyperparameter without a default (``lr`` of old SGD)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(v: Any) -> str:
    return v.type() if isinstance(v, Tensor) else type(v).__name__


_UNSET = object()


def check_hyperparameters(lr: Any = _UNSET, differentiable: bool = False, *, foreach: bool | None = None,
                          fused: bool | None = None, tensor_lr_foreach: bool = False, **nonnegative: float) -> None:
    """PyTorch's checks, in the order given: a learning rate (a 1-element tensor, or a number:
    ``None`` or a string fail the comparison with PyTorch's TypeError) and the named values must
    not be negative (``eps`` is called epsilon in the message); ``differentiable`` is not
    supported; ``fused`` and ``foreach`` exclude each other. ``tensor_lr_foreach``: Adam's refusal
    of a tensor ``lr`` with ``foreach=True``."""
    if lr is not _UNSET and lr is not required:
        if isinstance(lr, Tensor):
            if tensor_lr_foreach and foreach:
                raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
            if lr.numel() != 1:
                raise ValueError("Tensor lr must be 1-element")
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
    for name, v in nonnegative.items():
        if v < 0.0:
            raise ValueError(f"Invalid {'epsilon' if name == 'eps' else name} value: {v}")
    if differentiable:
        raise NotImplementedError("differentiable=True is not supported by srcgrad optimizers")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def check_betas(betas: tuple[float, float]) -> None:
    """PyTorch's checks of Adam-like ``betas``."""
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


def _get_scalar_dtype(is_fused: bool | None = None) -> Any:
    """PyTorch's dtype of scalar optimiser state (``step``, NAdam's ``mu_product``, ASGD's ``eta``
    and ``mu``): float64 when the default dtype is float64, float32 otherwise (and when fused)."""
    if is_fused:
        return float32
    return float64 if get_default_dtype() is float64 else float32


def step_counter(p: Tensor, fused: bool | None = None) -> Tensor:
    """A fresh ``step`` state for parameter ``p``: a 0-d tensor of ``_get_scalar_dtype()`` on its
    device, as in PyTorch, so that a step counts (and derives its bias corrections) in the program,
    never in Python."""
    return zeros((), dtype=_get_scalar_dtype(fused), device=p.device)


def _own_number(value: Any) -> Any:
    """A default hyperparameter as the group's own object: equal, but not the very float that
    ``defaults`` holds. ``srcgrad.compile`` finds a replay's learning rate by the float object it
    read; one object at two places (``defaults['lr']`` and ``param_groups[0]['lr']``) would leave
    it unsure which place a scheduler changes, and the first change would retrace."""
    if type(value) is float:
        return float.fromhex(value.hex())
    if type(value) is tuple and any(type(v) is float for v in value):
        return tuple(_own_number(v) for v in value)
    return value


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts) and ``state`` (a dict keyed by parameter)."""

    # Options that PyTorch's optimisers added over time, with the value a state dict saved
    # without them means (PyTorch's per-class __setstate__); subclasses list theirs.
    _option_defaults: dict[str, Any] = {"maximize": False, "foreach": None, "differentiable": False}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_step_hooks", False):
            cls.step = _with_step_hooks(step)  # type: ignore[method-assign]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: dict[int, Callable] = {}
        self._optimizer_step_post_hooks: dict[int, Callable] = {}
        self._optimizer_state_dict_pre_hooks: dict[int, Callable] = {}
        self._optimizer_state_dict_post_hooks: dict[int, Callable] = {}
        self._optimizer_load_state_dict_pre_hooks: dict[int, Callable] = {}
        self._optimizer_load_state_dict_post_hooks: dict[int, Callable] = {}
        self.state: defaultdict[Any, dict] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_typename(params)}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        if params and isinstance(params[0], tuple):  # named parameters: (name, tensor) pairs
            param_group["param_names"] = [n for n, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(p)}")
            if not p.is_leaf and not p.retains_grad:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            if name not in param_group:
                param_group[name] = _own_number(default)
        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in future, this will "
                          "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient (to ``None`` by default)."""
        from ..nn.modules.module import _zero_grad
        for group in self.param_groups:
            for p in group["params"]:
                _zero_grad(p, set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        raise NotImplementedError

    # -- hooks (PyTorch's signatures; each returns a handle whose remove() unregisters) ----

    def register_step_pre_hook(self, hook: Callable[..., Any]) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` before each ``step``; it may return new ``(args, kwargs)``."""
        return _add_hook(self._optimizer_step_pre_hooks, hook, False)

    def register_step_post_hook(self, hook: Callable[..., Any]) -> _RemovableHandle:
        """``hook(optimizer, args, kwargs)`` after each ``step``."""
        return _add_hook(self._optimizer_step_post_hooks, hook, False)

    def register_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _RemovableHandle:
        """``hook(optimizer)`` before ``state_dict()`` builds its result."""
        return _add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _RemovableHandle:
        """``hook(optimizer, state_dict)``, which may return a state dict to use instead."""
        return _add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _RemovableHandle:
        """``hook(optimizer, state_dict)`` before loading, which may return a state dict to load instead."""
        return _add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable[..., Any], prepend: bool = False) -> _RemovableHandle:
        """``hook(optimizer)`` after loading."""
        return _add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    @staticmethod
    def _direction(p: Tensor, g: Tensor, group: dict[str, Any], wd: float) -> Tensor:
        """The gradient as the update rules read it: negated under ``maximize``, plus the
        coupled (L2) weight decay ``wd * p``."""
        if group["maximize"]:
            g = -g
        return g + wd * p if wd != 0 else g

    def _closure(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        from ..grad_mode import enable_grad
        with enable_grad(), at_user_line(own=True):
            return closure()

    def _with_grads(self, group: dict) -> Iterator[tuple[Tensor, Tensor, dict]]:
        """``(param, grad, state)`` for each parameter of ``group`` that has a gradient; a step
        leaves the others alone, as PyTorch's does."""
        for p in group["params"]:
            g = p.grad
            if g is not None:
                yield p, g, self.state[p]

    # -- state dicts -------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}`` as PyTorch.

        Parameters are numbered in group order; ``step`` counters are 0-d tensors. The
        tensors are the live state (not copies), as in PyTorch.
        """
        for pre in self._optimizer_state_dict_pre_hooks.values():
            pre(self)
        index: dict[int, int] = {}
        groups = []
        start = 0
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            for i, p in enumerate(g["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in g["params"]]
            start += len(packed["params"])
            groups.append(packed)
        # (each parameter's own state dict, not a copy: editing it edits the optimiser, as in PyTorch)
        state = {(index[id(p)] if isinstance(p, Tensor) else p): s for p, s in self.state.items()}
        result = {"state": state, "param_groups": groups}
        for post in self._optimizer_state_dict_post_hooks.values():
            changed = post(self, result)
            if changed is not None:
                result = changed
        return result

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load state saved by ``state_dict()`` (tensors follow each parameter's dtype and device)."""
        for pre in self._optimizer_load_state_dict_pre_hooks.values():
            changed = pre(self, state_dict)
            if changed is not None:
                state_dict = changed
        groups = self.param_groups
        saved = [dict(g) for g in state_dict["param_groups"]]
        if len(groups) != len(saved):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved),
                          chain.from_iterable(g["params"] for g in groups)))
        # (as PyTorch, the saved groups' fused/capturable decide the dtype of a loaded step)
        fused_ids = {id(p) for s, g in zip(saved, groups) if s.get("fused") or s.get("capturable")
                     for p in g["params"]}

        def cast(param: Tensor, value: Any, key: Any = None) -> Any:
            if isinstance(value, Tensor):
                value = value.detach()
                if key == "step":  # kept as saved (pytorch/pytorch#74424); float32 when fused or capturable
                    return value.to(dtype=float32 if id(param) in fused_ids else value.dtype,
                                    device=param.device).reshape(())
                if param.is_floating_point() and value.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if key == "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                # a number (older checkpoints): the 0-d tensor that step() updates in place
                return tensor(float(value), dtype=_get_scalar_dtype(), device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: defaultdict[Any, dict] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v
        new_groups = []
        for g, s in zip(groups, saved):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for k, v in self._option_defaults.items():  # a state dict from before an option existed
                s.setdefault(k, v)
            new_groups.append(s)
        self.state = state
        self.param_groups = new_groups
        for post in self._optimizer_load_state_dict_post_hooks.values():
            post(self)

    def __repr__(self) -> str:
        text = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    text += f"    {key}: {group[key]}\n"
        return text + ")"

    def __getstate__(self) -> dict:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in ("step_pre", "step_post", "state_dict_pre", "state_dict_post", "load_state_dict_pre",
                     "load_state_dict_post"):
            self.__dict__.setdefault(f"_optimizer_{name}_hooks", {})
        for group in self.param_groups:
            for k, v in self._option_defaults.items():
                group.setdefault(k, v)
