"""``torch.jit`` on top of ``srcgrad.compile``: no TorchScript, the same calls.

``jit.script(fn)`` and ``jit.trace(fn, example_inputs)`` return a ``ScriptFunction``, a
``srcgrad.compile``d function: traced once per input signature and replayed as one XLA
program, with results identical to calling ``fn`` (``compile``'s guards and its fallback to
define-by-run keep them so). ``jit.script(module)`` and ``jit.trace(module, ...)`` return a copy
of the module sharing its parameters and buffers (as PyTorch's script modules do) whose
``forward`` is compiled the same way; the copy's ``training`` flags are its own.

``.code`` and ``.graph`` are the generated source of the last program (there is no TorchScript
IR); ``jit.save``/``jit.load`` raise ``NotImplementedError`` (use ``srcgrad.save`` on a
``state_dict``). See docs/compat.md for the differences in full.
"""

from __future__ import annotations

import copy
import typing
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .compiled import CompiledFunction
from .nn.modules.module import Module

Final = typing.Final  # (``x: torch.jit.Final[int]`` annotations)

_TRACE_DEPTH = [0]
_SAVE_HINT = ("srcgrad has no TorchScript format: save the weights with srcgrad.save(model.state_dict(), f) "
              "and load them into the model built from its Python class (model.load_state_dict(srcgrad.load(f)))")


class TracerWarning(Warning):
    """PyTorch's category for tracing warnings (scripts filter it); srcgrad never emits it."""


def is_scripting() -> bool:
    """False: srcgrad never compiles Python to TorchScript, so the eager branch is the one taken."""
    return False


def is_tracing() -> bool:
    """True while Python code runs inside a function made by ``jit.trace`` (its trace, or its
    define-by-run calls where ``srcgrad.compile`` fell back to them)."""
    return _TRACE_DEPTH[0] > 0


@contextmanager
def _tracing_scope() -> Iterator[None]:
    _TRACE_DEPTH[0] += 1
    try:
        yield
    finally:
        _TRACE_DEPTH[0] -= 1


def _deprecated(name: str, instead: str = "`torch.compile` or `torch.export`", verb: str = "switch to") -> None:
    # PyTorch 2.13's words, category and (library) location: hidden unless warnings are enabled
    warnings.warn(f"`torch.jit.{name}` is deprecated. Please {verb} {instead}.", DeprecationWarning,
                  stacklevel=2)


class ScriptFunction(CompiledFunction):
    """A scripted or traced function: a ``srcgrad.compile``d one, with TorchScript's attribute names."""

    @property
    def code(self) -> str:
        """The generated source of the last program (TorchScript's ``.code`` is its own Python)."""
        return self.source

    @property
    def graph(self) -> str:
        """As ``code``: srcgrad has no graph IR separate from the generated source."""
        return self.source

    @property
    def name(self) -> str:
        return self.__name__

    @property
    def qualified_name(self) -> str:
        return self.__qualname__

    def save(self, f: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"ScriptFunction.save: {_SAVE_HINT}")


class ScriptModule(Module):
    """The base of scripted and traced modules (and of old-style ``class M(jit.ScriptModule)``, whose
    ``@jit.script_method``s are plain methods here)."""

    @property
    def code(self) -> str:
        forward = self.__dict__.get("forward")
        return forward.source if isinstance(forward, CompiledFunction) else \
            f"# {type(self).__name__}.forward is not compiled: srcgrad runs it define-by-run"

    @property
    def graph(self) -> str:
        return self.code

    @property
    def original_name(self) -> str:
        return type(self).__mro__[1].__name__ if type(self) in _SCRIPT_CLASSES.values() else type(self).__name__

    def save(self, f: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"ScriptModule.save: {_SAVE_HINT}")

    def __deepcopy__(self, memo: dict) -> ScriptModule:
        if type(self) not in _SCRIPT_CLASSES.values():  # (a user's ScriptModule subclass: as any object)
            new = object.__new__(type(self))
            memo[id(self)] = new
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
            return new
        # The compiled forward holds this module: copy the module, then compile the copy's.
        base = type(self).__mro__[1]
        plain = object.__new__(base)
        plain.__dict__.update({k: v for k, v in self.__dict__.items() if k != "forward"})
        return _script_module(copy.deepcopy(plain, memo), tracing=isinstance(self, TracedModule))


class RecursiveScriptModule(ScriptModule):
    """What ``jit.script(module)`` returns (a subclass of the module's own class too)."""


class TracedModule(ScriptModule):
    """What ``jit.trace(module, ...)`` returns (a subclass of the module's own class too)."""


TopLevelTracedModule = TracedModule
_SCRIPT_CLASSES: dict[tuple[type, type], type] = {}


def _script_class(cls: type, kind: type) -> type:
    """``cls`` with the script module's attributes (``code``, ``save``...), made once per class."""
    key = (cls, kind)
    if key not in _SCRIPT_CLASSES:
        _SCRIPT_CLASSES[key] = type(cls.__name__, (cls, kind), {"__module__": cls.__module__,
                                                                "__qualname__": cls.__qualname__})
    return _SCRIPT_CLASSES[key]


def _copy_tree(m: Module, memo: dict, top_class: type | None = None) -> Module:
    """A module sharing ``m``'s parameters, buffers and attributes, with its own tables (a hook
    registered on one is not on the other) and ``training`` flags; submodules are copied likewise,
    and one that appears twice stays one."""
    if id(m) in memo:
        return memo[id(m)]
    new = object.__new__(top_class or type(m))
    memo[id(m)] = new
    d = dict(m.__dict__)
    for key, value in d.items():  # the module's own tables (parameters, buffers, hooks): copied
        if key.startswith("_") and isinstance(value, (dict, set)):
            d[key] = copy.copy(value)
    if "_modules" in d:
        d["_modules"] = OrderedDict((k, None if c is None else _copy_tree(c, memo)) for k, c in d["_modules"].items())
    new.__dict__.update(d)
    return new


def _script_module(module: Module, tracing: bool) -> ScriptModule:
    kind = TracedModule if tracing else RecursiveScriptModule
    if isinstance(module, kind) and type(module) in _SCRIPT_CLASSES.values():
        return module
    base = type(module).__mro__[1] if type(module) in _SCRIPT_CLASSES.values() else type(module)
    self = _copy_tree(module, {}, _script_class(base, kind))
    inner = module.__dict__.get("forward")  # (a forward set on the instance: model.compile(), a patch)
    forward = inner if inner is not None else base.forward

    # ``self`` is a closure cell, so srcgrad.compile reaches (and guards) everything it holds
    # (and names the program's inputs after it: self__modules_0__parameters_weight).
    def call_forward(*args: Any, **kwargs: Any) -> Any:
        if inner is not None:
            return forward(*args, **kwargs)
        return forward(self, *args, **kwargs)

    if tracing:
        def body(*args: Any, **kwargs: Any) -> Any:
            with _tracing_scope():
                return call_forward(*args, **kwargs)
    else:
        body = call_forward
    body.__name__ = body.__qualname__ = f"{base.__name__}.forward"
    compiled = ScriptFunction(body)
    code = getattr(forward, "__code__", None)
    if code is not None:  # (the names compile's messages use)
        compiled.arg_names = list(code.co_varnames[1 if inner is None else 0:code.co_argcount])
    self.__dict__["forward"] = compiled
    return self


def script(obj: Any, optimize: Any = None, _frames_up: int = 0, _rcb: Any = None,
           example_inputs: Any = None) -> Any:
    """``torch.jit.script``: a function becomes a ``ScriptFunction`` (``srcgrad.compile``d), a module a
    ``RecursiveScriptModule`` sharing its parameters with a compiled ``forward``; classes, dicts and lists
    are returned as they are (they run as Python)."""
    _deprecated("script")
    if isinstance(obj, (ScriptFunction, ScriptModule)):
        return obj
    if isinstance(obj, Module):
        return _script_module(obj, tracing=False)
    if isinstance(obj, type):
        if issubclass(obj, Module):
            raise RuntimeError(f"Type '{obj}' cannot be compiled since it inherits from nn.Module, pass an "
                               "instance instead")
        return obj  # a TorchScript class: a Python class here
    if isinstance(obj, (dict, list)):
        return obj
    if callable(obj) and hasattr(obj, "__code__"):
        return ScriptFunction(obj)
    raise TypeError(f"srcgrad.jit.script expects a function, an nn.Module instance or a class, not "
                    f"{type(obj)}")


def script_method(fn: Callable) -> Callable:
    """``@torch.jit.script_method`` (old-style ``ScriptModule`` subclasses): the method as it is."""
    _deprecated("script_method")
    return fn


def trace(func: Any, example_inputs: Any = None, optimize: Any = None, check_trace: bool = True,
          check_inputs: Any = None, check_tolerance: float = 1e-05, strict: bool = True,
          _force_outplace: bool = False, _module_class: Any = None, _compilation_unit: Any = None,
          example_kwarg_inputs: dict | None = None, _store_inputs: bool = True) -> Any:
    """``torch.jit.trace``: compile ``func`` (a function, or a module's ``forward``) and run it once on
    the example inputs, as PyTorch does. Unlike a TorchScript trace, later calls with other shapes or
    values take their own path (srcgrad.compile traces again or runs define-by-run), so no branch of the
    example is baked in; ``check_*`` arguments are accepted and unused."""
    _deprecated("trace")
    if example_inputs is None and example_kwarg_inputs is None:
        raise TypeError("torch.jit.trace needs example_inputs (a tensor or a tuple of arguments) or "
                        "example_kwarg_inputs (a dict)")
    args = () if example_inputs is None else \
        example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    kwargs = dict(example_kwarg_inputs or {})
    if isinstance(func, (ScriptFunction, ScriptModule)):
        traced = func
    elif isinstance(func, Module):
        traced = _script_module(func, tracing=True)
    elif callable(func):
        def body(*a: Any, **k: Any) -> Any:
            with _tracing_scope():
                return func(*a, **k)

        body.__name__ = getattr(func, "__name__", type(func).__name__)
        body.__qualname__ = getattr(func, "__qualname__", body.__name__)
        traced = ScriptFunction(body)
        code = getattr(func, "__code__", None)
        if code is not None:
            traced.arg_names = list(code.co_varnames[:code.co_argcount])
    else:
        raise TypeError(f"srcgrad.jit.trace expects a function or an nn.Module instance, not {type(func)}")
    traced(*args, **kwargs)
    return traced


def trace_module(mod: Module, inputs: dict, **kwargs: Any) -> Any:
    """``torch.jit.trace_module`` for ``{"forward": example_inputs}`` (other methods stay Python)."""
    if "forward" not in inputs:
        raise NotImplementedError("srcgrad.jit.trace_module traces forward only; other methods run as Python")
    return trace(mod, inputs["forward"], **kwargs)


def freeze(mod: Any, preserved_attrs: list | None = None, optimize_numerics: bool = True) -> Any:
    """PyTorch's checks, then the module itself (its program already reads the weights as inputs)."""
    _deprecated("freeze", "`torch.compile` instead", verb="use")
    if not isinstance(mod, ScriptModule):
        raise RuntimeError("Freezing expects a ScriptModule as input. Please use torch.jit.script or "
                           "torch.jit.trace to script your 'nn.Module'.")
    if mod.training:
        raise RuntimeError("Freezing is currently only implemented for modules in eval mode. Please call .eval() "
                           "on your module before freezing.")
    return mod


def optimize_for_inference(mod: Any, other_methods: list | None = None) -> Any:
    _deprecated("optimize_for_inference", "`torch.compile` instead", verb="use")
    if not isinstance(mod, ScriptModule):
        raise RuntimeError("optimize_for_inference expects a ScriptModule as input. Please use torch.jit.script "
                           "or torch.jit.trace to script your 'nn.Module'.")
    return freeze(mod.eval())


def save(m: Any, f: Any, _extra_files: Any = None) -> None:
    """Not available: there is no TorchScript archive to write (see the message)."""
    _deprecated("save", "`torch.export`")
    raise NotImplementedError(f"srcgrad.jit.save: {_SAVE_HINT}")


def load(f: Any, map_location: Any = None, _extra_files: Any = None, _restore_shapes: bool = False) -> Any:
    """Not available: srcgrad cannot run a TorchScript archive (see the message)."""
    _deprecated("load", "`torch.export`")
    raise NotImplementedError(f"srcgrad.jit.load cannot read TorchScript archives: {_SAVE_HINT}")


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """``@jit.ignore`` and ``@jit.ignore(drop=True)``: the function itself (everything is Python here)."""
    if callable(drop):
        return drop
    return lambda fn: fn


def unused(fn: Callable) -> Callable:
    return fn


def export(fn: Callable) -> Callable:
    return fn


def script_if_tracing(fn: Callable) -> Callable:
    return fn


def interface(obj: Any) -> Any:
    _deprecated("interface", "`torch.compile` instead", verb="use")
    return obj


def annotate(the_type: Any, the_value: Any) -> Any:
    """``jit.annotate(List[int], [])``: the value (a type hint for TorchScript only)."""
    return the_value


class Future:
    """The completed future ``jit.fork`` returns (the call ran when forked)."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def wait(self) -> Any:
        return self._value

    def value(self) -> Any:
        return self._value

    def done(self) -> bool:
        return True


def fork(func: Callable, *args: Any, **kwargs: Any) -> Future:
    """Run ``func`` now and return its result as a completed ``Future`` (PyTorch's eager behaviour)."""
    _deprecated("fork", "`torch.compile` instead", verb="use")
    return Future(func(*args, **kwargs))


def wait(future: Future) -> Any:
    _deprecated("wait", "`torch.compile` instead", verb="use")
    return future.wait()
