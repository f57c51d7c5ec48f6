"""``nn.Module``: the base class of layers, with PyTorch's registration, traversal and state dicts."""

from __future__ import annotations

import functools
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from ...autograd.function import Function
from ...grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from ...tracing import note_hook
from ..parameter import Buffer, Parameter

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


def _addindent(s: str, spaces: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join(" " * spaces + line for line in lines)


def _typename(v: Any) -> str:
    if isinstance(v, Tensor):
        return v.type()
    return type(v).__name__


class _IncompatibleKeys(NamedTuple):
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class _RemovableHandle:
    """Returned by ``register_forward_hook`` and friends; ``remove()`` unregisters."""

    _next = 0

    def __init__(self, hooks: dict, *extra: set) -> None:
        self.hooks = hooks
        self.extra = extra  # sets of ids that also forget this one (with_kwargs, always_call)
        self.id = _RemovableHandle._next
        _RemovableHandle._next += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        for ids in self.extra:
            ids.discard(self.id)

    def __enter__(self) -> _RemovableHandle:
        return self

    def __exit__(self, *a: object) -> None:
        self.remove()


# (named as PyTorch's torch.utils.hooks.RemovableHandle, which type(handle).__name__ shows)
_RemovableHandle.__name__ = _RemovableHandle.__qualname__ = "RemovableHandle"
_RemovableHandle.__module__ = "srcgrad.utils.hooks"


# Hooks applying to every module call (``register_module_forward_hook`` and friends), run before each
# module's own, as PyTorch's globals in ``torch.nn.modules.module``.
_global_forward_pre_hooks: OrderedDict = OrderedDict()
_global_forward_hooks: OrderedDict = OrderedDict()
_global_forward_hooks_with_kwargs: set = set()
_global_forward_hooks_always_called: set = set()
_global_backward_pre_hooks: OrderedDict = OrderedDict()
_global_backward_hooks: OrderedDict = OrderedDict()
_global_any: set = set()  # the ids of all four kinds: one check on the common path of every module call


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, args)`` before every module's ``forward`` (before the module's own pre-hooks); a
    non-None result replaces the positional arguments."""
    handle = _RemovableHandle(_global_forward_pre_hooks, _global_any)
    _global_forward_pre_hooks[handle.id] = hook
    _global_any.add(handle.id)
    return handle


def register_module_forward_hook(hook: Callable[..., Any], *, with_kwargs: bool = False,
                                 always_call: bool = False) -> _RemovableHandle:
    """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` ``with_kwargs``) after every
    module's ``forward``, before the module's own hooks; a non-None result replaces the output."""
    handle = _RemovableHandle(_global_forward_hooks, _global_forward_hooks_with_kwargs,
                              _global_forward_hooks_always_called, _global_any)
    _global_forward_hooks[handle.id] = hook
    _global_any.add(handle.id)
    if with_kwargs:
        _global_forward_hooks_with_kwargs.add(handle.id)
    if always_call:
        _global_forward_hooks_always_called.add(handle.id)
    return handle


def register_module_full_backward_pre_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, grad_output)`` for every module call, before the module's own backward pre-hooks."""
    handle = _RemovableHandle(_global_backward_pre_hooks, _global_any)
    _global_backward_pre_hooks[handle.id] = hook
    _global_any.add(handle.id)
    return handle


def register_module_full_backward_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, grad_input, grad_output)`` for every module call, before the module's own full
    backward hooks."""
    handle = _RemovableHandle(_global_backward_hooks, _global_any)
    _global_backward_hooks[handle.id] = hook
    _global_any.add(handle.id)
    return handle


# Registration hooks of every module (torch.nn.modules.module.register_module_*_registration_hook):
# hook(module, name, value) when a module registers a parameter, a buffer or a child; it may return
# what to register instead.
_global_parameter_registration_hooks: OrderedDict = OrderedDict()
_global_buffer_registration_hooks: OrderedDict = OrderedDict()
_global_module_registration_hooks: OrderedDict = OrderedDict()


def _add_hook(hooks: OrderedDict, hook: Callable[..., Any]) -> _RemovableHandle:
    handle = _RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_module_parameter_registration_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, name, param)`` whenever a module registers a parameter; it may return a new one."""
    return _add_hook(_global_parameter_registration_hooks, hook)


def register_module_buffer_registration_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, name, buffer)`` whenever a module registers a buffer; it may return a new one."""
    return _add_hook(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook: Callable[..., Any]) -> _RemovableHandle:
    """``hook(module, name, submodule)`` whenever a module registers a child; it may return a new one."""
    return _add_hook(_global_module_registration_hooks, hook)


def _registered(hooks: OrderedDict, module: Any, name: str, value: Any) -> Any:
    """``value`` after the registration hooks, each able to replace it."""
    for hook in tuple(hooks.values()):
        output = hook(module, name, value)
        if output is not None:
            value = output
    return value


class BackwardHookFunction(Function):
    """Identity on a module's tensor inputs (``side`` "inputs") or outputs ("outputs"), whose backward
    runs the module's backward hooks, as PyTorch's function of that name with its ``BackwardHook``: on
    the outputs' side it sees ``grad_output`` and runs the pre-hooks; on the inputs' side it sees
    ``grad_input`` and runs the full backward hooks (on the outputs' side when no input needs a
    gradient)."""

    @staticmethod
    def forward(ctx: Any, bw: _BackwardHook, side: str, *xs: Tensor) -> tuple:
        ctx.bw, ctx.side = bw, side
        ctx.mark_non_differentiable(*[x for x in xs if not x.requires_grad])
        if side == "outputs":  # the pre-hooks see None for an output no gradient reached, as PyTorch's
            ctx.set_materialize_grads(False)
        return xs

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> tuple:
        if ctx.side == "inputs":
            grads = ctx.bw.run_hooks(grads)
            # (the hooks see zeros for tensor inputs that need no gradient; autograd gets None)
            return (None, None, *(g if need else None for g, need in zip(grads, ctx.needs_input_grad[2:])))
        return (None, None, *ctx.bw.run_pre_hooks(grads))


class _BackwardHook:
    """One module call's full backward (pre-)hooks, as PyTorch's ``torch.utils.hooks.BackwardHook``: the
    hooks get one entry per positional argument (``grad_input``) and per element of the output tuple
    (``grad_output``), ``None`` where that is not a tensor (an LSTM's ``(h, c)``, an attention's
    ``None`` weights) or where no gradient reached it."""

    def __init__(self, module: Module, user_hooks: list, user_pre_hooks: list) -> None:
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_outputs = -1
        self.output_tensors_index: list | None = None
        self.n_inputs = -1
        self.input_tensors_index: list | None = None

    @staticmethod
    def _pack_with_none(indices: list, values: Any, size: int) -> tuple:
        res: list = [None] * size
        for k, v in zip(indices, values):
            res[k] = v
        return tuple(res)

    def _apply_on_tensors(self, side: str, args: tuple) -> tuple:
        index = [k for k, a in enumerate(args) if isinstance(a, Tensor)]
        if not (any(args[k].requires_grad for k in index) and is_grad_enabled()):
            return args, None
        wrapped = BackwardHookFunction.apply(self, side, *(args[k] for k in index))
        out = list(args)
        for k, w in zip(index, wrapped):
            out[k] = w
        return (tuple(out) if type(args) is tuple else type(args)(*out)), index

    def setup_input_hook(self, args: tuple) -> tuple:
        res, self.input_tensors_index = self._apply_on_tensors("inputs", args)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result: Any) -> Any:
        is_tuple = isinstance(result, tuple)
        res, self.output_tensors_index = self._apply_on_tensors("outputs", result if is_tuple else (result,))
        self.n_outputs = len(result) if is_tuple else 1
        return res if is_tuple else res[0]

    def run_pre_hooks(self, grads: tuple) -> tuple:
        assert self.output_tensors_index is not None
        self.grad_outputs = self._pack_with_none(self.output_tensors_index, grads, self.n_outputs)
        for hook in self.user_pre_hooks:
            note_hook(hook)
            r = hook(self.module, self.grad_outputs)
            if r is None:
                continue
            if len(r) != len(self.grad_outputs):
                raise RuntimeError(f"Backward pre hook returned an invalid number of grad_output, got {len(r)}, "
                                   f"but expected {len(self.grad_outputs)}")
            self.grad_outputs = r
        local = self.grad_outputs
        if self.input_tensors_index is None:  # no input needs a gradient: the full hooks fire here
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.",
                          stacklevel=2)
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                note_hook(hook)
                r = hook(self.module, grad_inputs, self.grad_outputs)
                if r is not None and not (isinstance(r, tuple) and all(g is None for g in r)):
                    raise RuntimeError("Backward hook for Modules where no input requires gradient should always "
                                       "return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(local[k] for k in self.output_tensors_index)

    def run_hooks(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:
            # the gradient reached the inputs without passing through the outputs (double backward)
            return grads
        assert self.input_tensors_index is not None
        res = self._pack_with_none(self.input_tensors_index, grads, self.n_inputs)
        for hook in self.user_hooks:
            note_hook(hook)
            r = hook(self.module, res, self.grad_outputs)
            if r is None:
                continue
            if len(r) != len(res):
                raise RuntimeError(f"Backward hook returned an invalid number of grad_input, got {len(r)}, but "
                                   f"expected {len(res)}")
            res = r
        self.grad_outputs = None
        return tuple(res[k] for k in self.input_tensors_index)


class Module:
    """Base class of all layers: assign ``Parameter``s, tensors registered with
    ``register_buffer`` and sub-``Module``s as attributes; define ``forward``."""

    training: bool
    _version: int = 1
    dump_patches: bool = False
    # True: __init__ passes its arguments on to the next class of a multiple inheritance (PyTorch's switch)
    call_super_init: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.call_super_init:
            super().__init__(*args, **kwargs)
        elif kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        elif args:
            raise TypeError(f"{type(self).__name__}.__init__() takes 1 positional argument but {len(args) + 1} "
                            "were given")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()  # ids of hooks that take the keyword arguments too

    # -- forward -------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        """``module(...)`` by the name PyTorch's code calls it (hooks included)."""
        return self.__call__(*args, **kwargs)

    _wrapped_call_impl = _call_impl

    def _slow_forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not (self._forward_pre_hooks or self._forward_hooks or _global_any):
            d = self.__dict__
            if not (d.get("_backward_hooks") or d.get("_backward_pre_hooks")):
                return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """PyTorch's ``_call_impl``: the global then the module's forward pre-hooks, the backward hooks'
        identity on the inputs, ``forward``, the forward hooks, then the identity on the outputs (so
        the backward hooks see the gradient of what the forward hooks returned)."""
        d = self.__dict__
        with_kwargs = d.get("_forward_hooks_with_kwargs", ())
        always = d.get("_forward_hooks_always_called", ())
        result = None
        called: set = set()
        try:
            pre_hooks = [*_global_backward_pre_hooks.values(), *d.get("_backward_pre_hooks", {}).values()]
            full_hooks = [*_global_backward_hooks.values(), *d.get("_backward_hooks", {}).values()]
            for k, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                note_hook(hook)
                if k in with_kwargs:
                    r = hook(self, args, kwargs)
                    if r is not None:
                        if not (isinstance(r, tuple) and len(r) == 2):
                            raise RuntimeError(f"forward pre-hook must return None or a tuple of (new_args, "
                                               f"new_kwargs), but got {r}.")
                        args, kwargs = r
                else:
                    r = hook(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
            bw = None
            if full_hooks or pre_hooks:
                bw = _BackwardHook(self, full_hooks, pre_hooks)
                args = bw.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for k, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if k in always or k in _global_forward_hooks_always_called:
                    called.add(k)
                note_hook(hook)
                r = hook(self, args, kwargs, result) if k in with_kwargs or k in _global_forward_hooks_with_kwargs \
                    else hook(self, args, result)
                if r is not None:
                    result = r
            if bw is not None:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a Tensor or a tuple of "
                                  f"Tensors but received {type(result)}", stacklevel=2)
                result = bw.setup_output_hook(result)
            return result
        except Exception:
            # forward hooks registered with always_call that have not run yet still run; their errors are warnings
            for k, hook in _global_forward_hooks.items():
                if k in _global_forward_hooks_always_called and k not in called:
                    try:
                        r = hook(self, args, result)
                        if r is not None:
                            result = r
                    except Exception as e:  # noqa: BLE001 - reported as PyTorch does
                        warnings.warn("global module forward hook with ``always_call=True`` raised an exception "
                                      f"that was silenced as another error was raised in forward: {e}", stacklevel=2)
            for k, hook in self._forward_hooks.items():
                if k in always and k not in called:
                    try:
                        r = hook(self, args, kwargs, result) if k in with_kwargs else hook(self, args, result)
                        if r is not None:
                            result = r
                    except Exception as e:  # noqa: BLE001 - reported as PyTorch does
                        warnings.warn("module forward hook with ``always_call=True`` raised an exception that was "
                                      f"silenced as another error was raised in forward: {e}", stacklevel=2)
            raise

    def _add_forward_hook(self, hooks: OrderedDict, hook: Callable, prepend: bool, with_kwargs: bool,
                          always_call: bool = False) -> _RemovableHandle:
        kw_ids = self.__dict__.setdefault("_forward_hooks_with_kwargs", set())
        always_ids = self.__dict__.setdefault("_forward_hooks_always_called", set())
        h = _RemovableHandle(hooks, kw_ids, always_ids)
        hooks[h.id] = hook
        if prepend:
            hooks.move_to_end(h.id, last=False)
        if with_kwargs:
            kw_ids.add(h.id)
        if always_call:
            always_ids.add(h.id)
        return h

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> _RemovableHandle:
        """``hook(module, args, output)`` (``hook(module, args, kwargs, output)`` ``with_kwargs``) runs
        after ``forward``; a non-None result replaces the output. ``prepend`` runs it first; with
        ``always_call`` it runs even when ``forward`` raises."""
        return self._add_forward_hook(self._forward_hooks, hook, prepend, with_kwargs, always_call)

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> _RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a non-None result replaces the arguments
        (``with_kwargs``: ``hook(module, args, kwargs)`` may return ``(args, kwargs)``)."""
        return self._add_forward_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        """``hook(module, grad_input, grad_output)`` once the gradients for the module's positional
        tensor inputs are computed (``None`` for inputs that need none); it may return new
        ``grad_input``. With no input needing a gradient it fires with the output gradients."""
        self._one_kind_of_backward_hook(True)
        hooks = self.__dict__.setdefault("_backward_hooks", OrderedDict())
        return self._add_forward_hook(hooks, hook, prepend, False)

    def _one_kind_of_backward_hook(self, full: bool) -> None:
        if self.__dict__.get("_is_full_backward_hook", full) is not full:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single Module. "
                               "Please use only one of them.")
        self.__dict__["_is_full_backward_hook"] = full

    def register_backward_hook(self, hook: Callable) -> _RemovableHandle:
        """The deprecated form: runs as ``register_full_backward_hook`` does (PyTorch's old hook saw the
        gradients of the module's last op only, a behaviour it warns about and srcgrad does not copy)."""
        warnings.warn("Using a non-full backward hook when the forward contains multiple autograd Nodes is "
                      "deprecated and will be removed in future versions. This hook will be missing some "
                      "grad_input. Please use register_full_backward_hook to get the documented behavior.",
                      FutureWarning, stacklevel=2)
        self._one_kind_of_backward_hook(False)
        hooks = self.__dict__.setdefault("_backward_hooks", OrderedDict())
        return self._add_forward_hook(hooks, hook, False, False)

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        """``hook(module, grad_output)`` when the gradients for the module's outputs are computed; it may
        return new ``grad_output``."""
        hooks = self.__dict__.setdefault("_backward_pre_hooks", OrderedDict())
        return self._add_forward_hook(hooks, hook, prepend, False)

    # -- registration ----------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, d["_buffers"], d["_modules"], d["_non_persistent_buffers_set"])
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, params, d["_buffers"], d["_non_persistent_buffers_set"])
            if _global_module_registration_hooks:
                value = _registered(_global_module_registration_hooks, self, name, value)
            modules[name] = value
        elif d.get("_modules") is not None and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            if _global_module_registration_hooks:
                value = _registered(_global_module_registration_hooks, self, name, value)
            d["_modules"][name] = value
        elif isinstance(value, Buffer) or (d.get("_buffers") is not None and name in d["_buffers"]):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(torch.nn.Buffer, torch.Tensor or None expected)")
            if isinstance(value, Buffer):  # nn.Buffer(...): registered, with its persistence
                if d.get("_buffers") is None:
                    raise AttributeError("cannot assign buffer before Module.__init__() call")
                self._remove_from(name, d, params, d["_modules"])
                self.register_buffer(name, value, value.persistent)
            else:
                if _global_buffer_registration_hooks:
                    value = _registered(_global_buffer_registration_hooks, self, name, value)
                d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name: str, *containers: Any) -> None:
        for c in containers:
            if name in c:
                if isinstance(c, set):
                    c.discard(name)
                else:
                    del c[name]

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            c = d.get(key)
            if c is not None and name in c:
                return c[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if name in d[key]:
                del d[key][name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_name(self, name: Any, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if "." in name:
            # (PyTorch names the module's in its message, not the parameter's or buffer's)
            raise KeyError(f'{kind} name can\'t contain "."' + (f", got: {name}" if kind == "module" else ""))
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a ``None`` placeholder) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and param.grad_fn is not None:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             "created explicitly. To express '{name}' as a function of another Tensor, compute "
                             "the value in the forward() method.")
        if param is not None and _global_parameter_registration_hooks:
            param = _registered(_global_parameter_registration_hooks, self, name, param)
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a tensor that is state but not a parameter (saved in ``state_dict`` if ``persistent``)."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        if _global_buffer_registration_hooks:
            tensor = _registered(_global_buffer_registration_hooks, self, name, tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        if _global_module_registration_hooks:
            module = _registered(_global_module_registration_hooks, self, name, module)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""``: this module)."""
        mod = self
        for item in target.split(".") if target else []:
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, replacing the submodule there or (unless
        ``strict``) adding one to an existing parent."""
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        atoms = target.split(".")
        if not isinstance(module, Module):
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent = self if len(atoms) == 1 else self.get_submodule(".".join(atoms[:-1]))
        if strict and not hasattr(parent, atoms[-1]):
            raise AttributeError(f"{parent._get_name()} has no attribute `{atoms[-1]}`")
        if hasattr(parent, atoms[-1]) and not isinstance(getattr(parent, atoms[-1]), Module):
            raise AttributeError(f"`{atoms[-1]}` is not an nn.Module")
        setattr(parent, atoms[-1], module)

    def get_parameter(self, target: str) -> Parameter:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        if name not in mod._parameters:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        path, _, name = target.rpartition(".")
        mod = self.get_submodule(path)
        if not hasattr(mod, name):
            raise AttributeError(f"{type(mod).__name__} has no attribute `{name}`")
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]

    # -- traversal -------------------------------------------------------------

    def _named_members(self, get: Callable, prefix: str, recurse: bool, remove_duplicate: bool) -> Iterator:
        memo: set[int] = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get(mod):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (mod_prefix + ("." if mod_prefix else "") + k, v)

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self) -> Iterator[tuple[str, Module]]:
        memo: set[int] = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first), then on ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default, as PyTorch 2)."""
        for p in self.parameters():
            _zero_grad(p, set_to_none)

    # -- conversion ------------------------------------------------------------

    def _apply(self, fn: Callable[[Tensor], Tensor]) -> Module:
        for m in self.children():
            m._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                p.data = fn(p)
                if p._grad is not None:
                    p._grad = fn(p._grad)
            for k, b in self._buffers.items():
                if b is not None:
                    self._buffers[k] = fn(b)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Move and/or cast parameters and buffers: ``to(device=None, dtype=None, non_blocking=False)``,
        ``to(dtype, non_blocking=False)`` or ``to(tensor, non_blocking=False)`` (that tensor's dtype and
        device); the dtype applies to floating-point tensors only, so integer buffers such as
        ``num_batches_tracked`` stay integers."""
        device, dtype = _parse_to(args, kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but got desired "
                            f"dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype if t.is_floating_point() else None)
        return self._apply(convert)

    def cpu(self) -> Module:
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> Module:
        return self._apply(lambda t: t.cuda(device))

    def float(self) -> Module:
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Module:
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Module:
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self) -> Module:
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def type(self, dst_type: Any) -> Module:
        return self._apply(lambda t: t.to(dst_type))

    def to_empty(self, *, device: Any, recurse: bool = True) -> Module:
        """Parameters and buffers moved to ``device`` without their values (zeros here: srcgrad has no
        uninitialised memory); initialise them again afterwards, e.g. with ``reset_parameters()``."""
        from ...tensor import zeros

        def empty_like(t: Tensor) -> Tensor:
            return zeros(t.shape, dtype=t.dtype, device=device)
        if recurse:
            return self._apply(empty_like)
        with no_grad():
            for p in self._parameters.values():
                if p is not None:
                    p.data = empty_like(p)
            for k, b in self._buffers.items():
                if b is not None:
                    self._buffers[k] = empty_like(b)
        return self

    def share_memory(self) -> Module:
        """A no-op returning the module: srcgrad's tensors are not shared between processes."""
        return self

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """``model.compile()``: calls of ``forward`` go through ``srcgrad.compile`` from now on (hooks
        still run around it); ``torch.compile``'s options are accepted and ignored. Inference (under
        ``no_grad``) replays one program; a forward whose result must carry a graph for a backward
        outside it runs define-by-run, with ``srcgrad.compile``'s warning saying so: decorate the
        whole training step instead (see docs/compile.md)."""
        from ...compiled import compile as compile_fn
        self.__dict__["forward"] = compile_fn(type(self).forward.__get__(self), *args, **kwargs)

    # -- state dicts -------------------------------------------------------------

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def get_extra_state(self) -> Any:
        """Extra (non-tensor) state for ``state_dict()``: override together with
        ``set_extra_state``; stored under ``<prefix>_extra_state``."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be called. "
                           "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
                           "bug-report.yml to report this bug.")

    def set_extra_state(self, state: Any) -> None:
        """Restore what ``get_extra_state`` returned (called by ``load_state_dict``)."""
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be called. "
                           "Please file an issue at https://github.com/pytorch/pytorch/issues/new?template="
                           "bug-report.yml to report this bug.")

    def state_dict(self, *args: Any, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict:
        """An ``OrderedDict`` of parameters and persistent buffers by dotted name, with each
        module's ``version`` in its ``_metadata`` (for ``_load_from_state_dict`` migrations)."""
        if args:  # the old positional form state_dict(destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            if destination is None:
                destination = args[0]
            if len(args) > 1 and prefix == "":
                prefix = args[1]
            if len(args) > 2 and keep_vars is False:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()  # type: ignore[attr-defined]
        local_metadata = {"version": self._version}
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in list(self.__dict__.get("_state_dict_pre_hooks", {}).values()):
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in list(self.__dict__.get("_state_dict_hooks", {}).values()):
            result = hook(self, destination, prefix, local_metadata)
            if getattr(hook, "_from_public_api", False):
                if result is not None:
                    raise RuntimeError("state_dict post-hook must return None")
            elif result is not None:
                destination = result
        return destination

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Copy this module's own parameters and buffers (not its children's) from ``state_dict``,
        PyTorch's signature: override it to migrate old checkpoints (``local_metadata["version"]``)."""
        for hook in list(self.__dict__.get("_load_state_dict_pre_hooks", {}).values()):
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        local = {**{k: v for k, v in self._parameters.items() if v is not None},
                 **{k: v for k, v in self._buffers.items()
                    if v is not None and k not in self._non_persistent_buffers_set}}
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if not isinstance(value, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                  f"Tensor-like object from checkpoint but received {type(value)}")
                continue
            if len(param.shape) == 0 and tuple(value.shape) == (1,):  # (checkpoints from PyTorch 0.3)
                value = value[0]
            if value.shape != param.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {value.shape!r} from "
                                  f"checkpoint, the shape in current model is {param.shape!r}.")
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            new = Parameter(value.detach(), requires_grad=param.requires_grad)
                            self._parameters[name] = new
                        else:
                            self._buffers[name] = value
                    else:
                        param.copy_(value.to(param.device))
            except Exception as e:  # noqa: BLE001 - reported the way PyTorch does
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the model are '
                                  f"{param.shape!r} and whose dimensions in the checkpoint are {value.shape!r}, "
                                  f"an exception occurred : {e.args}.")
        extra_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        elif strict and extra_key in state_dict:
            unexpected_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_key:
                    parts = key[len(prefix):].split(".", 1)
                    if (len(parts) > 1 and parts[0] not in self._modules) or \
                            (len(parts) == 1 and parts[0] not in local):
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping, strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict``; with ``strict``, keys must match exactly."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing: list = []
        unexpected: list = []
        errors: list = []
        # a copy, so that _load_from_state_dict overrides may change it (the metadata kept)
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata  # type: ignore[attr-defined]

        def load(module: Module, local_state_dict: dict, prefix: str) -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True, missing, unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    load(child, {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)},
                         child_prefix)
            incompatible = _IncompatibleKeys(missing, unexpected)
            for hook in list(module.__dict__.get("_load_state_dict_post_hooks", {}).values()):
                if hook(module, incompatible) is not None:
                    raise AssertionError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                         "expected to return new values, if incompatible_keys need to be "
                                         "modified, it should be done inplace.")

        load(self, state_dict, "")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # -- state-dict hooks ---------------------------------------------------------

    def _add_hook(self, attr: str, hook: Callable, prepend: bool = False) -> _RemovableHandle:
        hooks = self.__dict__.setdefault(attr, OrderedDict())
        h = _RemovableHandle(hooks)
        hooks[h.id] = hook
        if prepend:
            hooks.move_to_end(h.id, last=False)
        return h

    def register_state_dict_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(module, prefix, keep_vars)`` runs before ``state_dict()`` saves this module."""
        return self._add_hook("_state_dict_pre_hooks", hook)

    def register_state_dict_post_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata)`` runs after; it may change ``state_dict``
        in place and must return None."""
        hook._from_public_api = True  # type: ignore[attr-defined]
        return self._add_hook("_state_dict_hooks", hook)

    def _register_state_dict_hook(self, hook: Callable) -> _RemovableHandle:
        """The private form: a hook's non-None result replaces the state dict."""
        return self._add_hook("_state_dict_hooks", hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` runs before this module loads its part of a state dict."""
        return self._add_hook("_load_state_dict_pre_hooks", functools.partial(hook, self))

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> _RemovableHandle:
        return self._add_hook("_load_state_dict_pre_hooks", functools.partial(hook, self) if with_module else hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> _RemovableHandle:
        """``hook(module, incompatible_keys)`` runs after this module and its children loaded; it may
        change ``incompatible_keys.missing_keys``/``unexpected_keys`` in place."""
        return self._add_hook("_load_state_dict_post_hooks", hook)

    # -- printing ---------------------------------------------------------------

    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr`` (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _is_dtype(x: Any) -> bool:
    from ...dtypes import dtype
    return isinstance(x, dtype) or x is float or x is int or x is bool  # (Python types name dtypes too)


_TO_SIGNATURES = (
    " * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, bool copy = False, *, "
    "torch.memory_format memory_format = None)\n"
    " * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = "
    "None)\n"
    " * (Tensor tensor, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n")


def _parse_to(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """The ``(device, dtype)`` of ``Module.to``'s three forms, as PyTorch's ``torch._C._nn._parse_to``
    (``non_blocking`` and ``memory_format`` are accepted and have no effect here)."""
    from ...device import device as Device
    from ...dtypes import as_dtype

    def is_device(x: Any) -> bool:
        return isinstance(x, (str, Device, int)) and not isinstance(x, bool)

    def name(x: Any) -> str:
        return "Tensor" if isinstance(x, Tensor) else "torch.dtype" if _is_dtype(x) else \
            "torch.device" if isinstance(x, Device) else type(x).__name__

    def invalid() -> TypeError:
        # (PyTorch's argument parser: keywords sorted, and a trailing ", " when there are only keywords)
        pos = [name(a) for a in args]
        kw = [f"{k}={name(v)}" for k, v in sorted(kwargs.items())]
        got = ", ".join(pos + kw) + (", " if kw and not pos else "")
        return TypeError(f"to() received an invalid combination of arguments - got ({got}), but expected one "
                         f"of:\n{_TO_SIGNATURES}")

    if "copy" in kwargs:
        raise RuntimeError(".to() does not accept copy argument")
    unknown = set(kwargs) - {"device", "dtype", "tensor", "non_blocking", "memory_format"}
    if unknown:
        raise invalid()
    rest = list(args)
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    first = rest[0] if rest else kwargs.get("tensor")
    if isinstance(first, Tensor):  # to(tensor, non_blocking=False)
        if rest:
            rest.pop(0)
        device, dtype = first.device, first.dtype
        positional = ["non_blocking", "copy"]
    elif rest and _is_dtype(rest[0]):  # to(dtype, non_blocking=False)
        dtype = rest.pop(0)
        positional = ["non_blocking", "copy"]
    else:  # to(device=None, dtype=None, non_blocking=False)
        if rest and (rest[0] is None or is_device(rest[0])):
            device = rest.pop(0)
        if rest and (rest[0] is None or _is_dtype(rest[0])):
            dtype = rest.pop(0)
        positional = ["non_blocking", "copy"]
    if len(rest) > len(positional) or not all(isinstance(a, bool) for a in rest):
        raise invalid()
    if len(rest) > 1:
        raise RuntimeError(".to() does not accept copy argument")
    return (None if device is None else Device(device) if not isinstance(device, int) else Device("cuda", device),
            None if dtype is None else as_dtype(dtype))


def _zero_grad(p: Tensor, set_to_none: bool) -> None:
    """``p.grad = None``, or (``set_to_none=False``) zero the existing ``.grad`` tensor in place, as
    PyTorch does: the same object stays ``p.grad``, detached from any graph that produced it."""
    g = p._grad
    if g is None:
        return
    if set_to_none:
        p.grad = None
        return
    with no_grad():
        if g.grad_fn is not None:
            g.detach_()
        else:
            g.requires_grad_(False)
        g.zero_()
