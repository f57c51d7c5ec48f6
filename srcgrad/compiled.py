"""``@srcgrad.compile``: trace a function once per input signature, replay one program after.

The first call with a new signature runs the function with tracing on. Because
srcgrad is lazy, the whole body — forward, any ``.backward()``, in-place
updates under ``no_grad`` (an optimiser step) — is just pending IR when it
returns. That IR becomes one program whose inputs are mapped back to where
they came from (an argument, a tensor the function reads from outside, a
Python float it reads, the random state) and whose outputs are mapped to
where they go (the return value, tensors updated in place, ``.grad``).
Later calls with the same signature check the guards and run that program:
no Python tracing at all.

If the body needs a value while tracing (``if x.sum() > 0``, ``.item()``,
``print``), a replay could silently take the wrong branch; instead the
function falls back to define-by-run for good, with a one-time warning that
names the line. Results are always what the undecorated function gives.
"""

from __future__ import annotations

import collections
import dis
import functools
import inspect
import os
import sys
import time
import types
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jax

from . import compiler, ir, tracing
from . import dtypes as D
from .amp.autocast_mode import _state as _amp_state
from .autodiff import LEAF_HOOKS_CHANGED
from .device import device as Device
from .device import from_jax
from .dtypes import _default_float as _default_dtype
from .dtypes import from_numpy_dtype
from .grad_mode import _state as _grad_state
from .random import default_generator
from .tensor import Tensor, wrap
from .tracing import WatchedFloat


class CompileWarning(UserWarning):
    pass


def _autocast_text(key: tuple) -> str:
    """An autocast state key (``amp.autocast_mode.state_key``) in words."""
    return ", ".join(f"{d} {dt}" for d, dt in key) if key else "off"


# ---------------------------------------------------------------------------
# where values come from: paths into the arguments and the function's globals


def _expr(path: tuple, keys: list) -> str:
    """Python source reading the value at ``path`` from ``a`` (args), ``k`` (kwargs) and ``f`` (the
    function); dict keys that are objects (an optimiser's state is keyed by tensors) go to ``keys``."""
    (kind, key), steps = path[0], path[1:]
    expr = {"arg": f"a[{key!r}]", "kwarg": f"k[{key!r}]", "cell": f"f.__closure__[{key!r}].cell_contents",
            "global": f"f.__globals__[{key!r}]", "self": "f.__self__"}[kind]
    return _steps_expr(expr, steps, keys)


def _steps_expr(expr: str, steps: tuple, keys: list) -> str:
    """``expr`` followed by the item and attribute steps of a path."""
    for how, k in steps:
        if how == "item" and isinstance(k, (str, int)):
            expr += f"[{k!r}]"
        elif how == "item":
            keys.append(k)
            expr += f"[_keys[{len(keys) - 1}]]"
        elif isinstance(k, str) and k.isidentifier():
            expr += f".{k}"
        else:
            expr = f"getattr({expr}, {k!r})"
    return expr


def _lambda(body: str, keys: list) -> Callable[[tuple, dict, Callable], Any]:
    # built from ints, the reprs of strings and identifiers only
    return eval(f"lambda a, k, f, _keys=_keys: {body}", {"_keys": keys})  # noqa: S307


def _getter(path: tuple) -> Callable[[tuple, dict, Callable], Any]:
    """A function reading the value at ``path`` from (args, kwargs, fn), compiled to one expression."""
    keys: list = []
    return _lambda(_expr(path, keys), keys)


class _Reader:
    """Generated code reading values at paths, each container read once: the prefix a path
    shares with another (``model._modules['0']`` of its weight and bias) becomes a local
    assigned on first use, so a guard over a model and its optimiser stays a few µs."""

    def __init__(self, env: dict | None = None) -> None:
        self.env = {} if env is None else env
        self.keys: list = self.env.setdefault("_keys", [])  # dict keys that are objects
        self.lines: list[str] = []
        self.local: dict = {}

    def read(self, path: tuple) -> str:
        """A local holding the value at ``path``."""
        name = self.local.get(path)
        if name is None:
            expr = (_expr(path, self.keys) if len(path) == 1 else
                    _steps_expr(self.read(path[:-1]), path[-1:], self.keys))
            name = self.local[path] = f"v{len(self.local)}"
            self.lines.append(f"    {name} = {expr}")
        return name

    def function(self, name: str, params: str, result: str) -> Callable:
        # built from ints, the reprs of strings, identifiers and names only
        exec("\n".join([f"def {name}({params}):", *self.lines, f"    return {result}"]), self.env)  # noqa: S102
        return self.env[name]


def _gatherer(sources: list, donate: tuple = ()) -> Callable:
    """One compiled function returning the program's arguments for a call, in order, and
    whether the buffers at positions ``donate`` may be donated this call: the node of each
    such tensor is held by the tensor alone (no pending op reads the old value, no alias)."""
    consts: list = []
    reader = _Reader({"_c": consts, "_rc": sys.getrefcount, "_SOLE": _SOLE_NODE})
    parts, sole = [], []
    for j, (kind, src) in enumerate(sources):
        if kind in ("tensor", "ref"):
            if kind == "tensor":
                t = reader.read(src)
            else:
                consts.append(src)
                t = f"t{j}"
                reader.lines.append(f"    {t} = _c[{len(consts) - 1}]()")
            parts.append(f"{t}._value()")
            if j in donate:
                sole.append(f"_rc({t}._node) == _SOLE and {t}._base is None")
        elif kind == "get":
            parts.append(reader.read(src))
        elif kind == "const":
            consts.append(src)
            parts.append(f"_c[{len(consts) - 1}]")
        else:
            parts.append(f"_r[{src}][{0 if kind == 'rng_seed' else 1}]")
    donatable = " and ".join(sole) if sole else "False"
    return reader.function("gather", "a, k, f, _r", f"[{', '.join(parts)}], {donatable}")


def _guard(scalars: list, aliases: list, tensors: list, lengths: list = (),
           grads: list = (), distinct: tuple | None = None, floats: list = ()) -> tuple[Callable, tuple]:
    """One compiled function reading everything an entry is guarded on, and the tuple it must equal.

    Scalars compare by type and value, aliased paths by identity, tensors by shape, dtype and
    requires_grad, containers by length (a parameter appended to a list the body loops over),
    ``.grad`` by whether it is None (accumulate or not), ``distinct`` (paths, count) by how
    many different tensors sit at those paths, and the ``floats`` the program reads as inputs
    by type only (any value replays; an int or None there is another trace): checking a call
    is one function call and one tuple comparison."""
    reader = _Reader()
    parts, expect, labels = [], [], []  # labels: (path, what) of each part, for the recompile warning
    for path, value in scalars:
        e = reader.read(path)
        parts += [e, f"type({e})"]
        expect += [value, type(value)]
        labels += [(path, ""), (path, "type")]
    for first, other in aliases:
        parts.append(f"{reader.read(first)} is {reader.read(other)}")
        expect.append(True)
        labels.append((other, ("is", first)))
    for path, meta in tensors:  # meta: (shape, dtype, requires_grad) when the trace began
        e = reader.read(path)
        parts += [f"{e}._node.shape", f"{e}._node.dtype", f"{e}._node.requires_grad"]
        expect += list(meta)
        labels += [(path, "shape"), (path, "dtype"), (path, "requires_grad")]
    for path, n in lengths:
        parts.append(f"len({reader.read(path)})")
        expect.append(n)
        labels.append((path, "len"))
    for path, was_none in grads:
        parts.append(f"{reader.read(path)}._grad is None")
        expect.append(was_none)
        labels.append((path, ".grad is None"))
    if grads:  # (and no tensor hook put on or taken off a leaf since: it changes the gradient)
        reader.env["_leaf_hooks"] = LEAF_HOOKS_CHANGED
        parts.append("_leaf_hooks[0]")
        expect.append(LEAF_HOOKS_CHANGED[0])
        labels.append((None, "a tensor hook was registered or removed"))
    for path in floats:
        parts.append(f"type({reader.read(path)})")
        expect.append(float)
        labels.append((path, "type"))
    if distinct is not None:
        paths, count = distinct
        parts.append("len({" + ", ".join(f"id({reader.read(p)})" for p in paths) + "})")  # (not Tensor.__hash__)
        expect.append(count)
        labels.append((None, "the tensors it reads and updates are no longer as distinct"))
    guard = reader.function("guard", "a, k, f", "(" + "".join(p + ", " for p in parts) + ")")
    guard.labels = labels
    return guard, tuple(expect)


def _guard_miss(labels: list, expect: tuple, now: tuple, fn: Callable) -> str:
    """The first guarded value that changed, in words: ``model.scale: 2.0 -> 3.0``."""
    for (path, what), was, is_ in zip(labels, expect, now):
        if was == is_ and type(was) is type(is_):
            continue
        if path is None:
            return what
        name = _describe(path, fn)
        if what in ("", "type"):
            return f"{name}: {was!r} -> {is_!r}" if what == "" else f"{name}: type {was.__name__} -> {is_.__name__}"
        if isinstance(what, tuple):  # ("is", the other path)
            return f"{name} is no longer the same object as {_describe(what[1], fn)}"
        return f"{name}: {what} {was!r} -> {is_!r}"
    return "a guarded value outside the arguments changed"


def _root_name(path: tuple, fn: Callable | None) -> str:
    kind, key = path[0]
    if kind == "hook":  # (a path into what a hook reaches: ("hook", k), ("root", name), ...)
        return path[1][1]
    if kind == "arg":
        names = _arg_names(fn)
        return names[key] if key < len(names) else f"args[{key}]"
    if kind == "self":
        return "self"
    if kind == "cell":
        return fn.__code__.co_freevars[key]
    return str(key)


def _describe(path: tuple, fn: Callable | None) -> str:
    text = _root_name(path, fn)
    for how, k in path[2 if path[0][0] == "hook" else 1:]:
        if how == "item":
            text += f"[{k!r}]" if isinstance(k, (str, int)) else f"[<{type(k).__name__}>]"
        else:
            text += f".{k}"
    return text


_SCALARS = (int, float, bool, str, type(None))
# Other values the body may act on, guarded by equality (identity for functions and classes):
# a dtype or device in a config dict, an activation function held by a module or a global
# (`self.act = F.gelu`, `ACT = torch.tanh`), a class. (Bound methods are walked instead: a
# new one is made at each attribute access, so their object and function are guarded.)
_GUARDED = (D.dtype, Device, types.FunctionType, types.BuiltinFunctionType, type)
# How deep the walk of the reachable state goes: each level of modules takes two steps (the
# `_modules` dict, then the child), so 16 reaches the BatchNorm of `model.layer1[0].bn1` and
# deeper nestings (a guard on its `training` flag); 6 stopped at three levels.
_DEPTH = 16
_LIBRARIES = ("srcgrad", "jax", "jaxlib", "numpy", "torch", "functools", "builtins", "typing")


def _walk(obj: Any, path: tuple, out: list, seen: set, depth: int, lengths: list | None = None) -> None:
    """Collect (path, leaf) for tensors and Python scalars reachable from obj (and, into
    ``lengths``, (path, len) of the lists, tuples and dicts on the way)."""
    if isinstance(obj, Tensor):
        out.append((path, obj))
        hooks = getattr(obj._node, "hooks", None)  # (a hook registered on a parameter: what it reads counts)
        if hooks and depth > 0:
            for i, h in enumerate(hooks):
                if isinstance(h, (types.FunctionType, types.MethodType, functools.partial)):
                    _walk(h, path + (("attr", "_node"), ("attr", "hooks"), ("item", i)), out, seen, depth - 1,
                          lengths)
        return
    if isinstance(obj, _SCALARS) or isinstance(obj, _GUARDED):
        out.append((path, obj))
        if isinstance(obj, types.FunctionType) and depth > 0 and id(obj) not in seen \
                and (obj.__module__ or "").split(".")[0] not in _LIBRARIES:
            seen.add(id(obj))  # a function of the user's reached as a value: what it reads counts too
            _walk_function(obj, path, out, seen, depth - 1, lengths)
        return
    if depth <= 0 or id(obj) in seen:
        return
    if isinstance(obj, types.MethodType):  # (`model.forward` passed along: its model's state counts)
        out.append((path + (("attr", "__func__"),), obj.__func__))
        _walk(obj.__self__, path + (("attr", "__self__"),), out, seen, depth - 1, lengths)
        return
    if isinstance(obj, CompiledFunction):  # (another decorated function the body calls: what it reads counts)
        seen.add(id(obj))
        _walk_function(obj.fn, path + (("attr", "fn"),), out, seen, depth - 1, lengths)
        return
    if isinstance(obj, functools.partial):
        seen.add(id(obj))
        for k in ("func", "args", "keywords"):
            _walk(getattr(obj, k), path + (("attr", k),), out, seen, depth - 1, lengths)
        return
    if isinstance(obj, (set, frozenset)):  # (membership tests: guarded by size)
        if lengths is not None:
            lengths.append((path, len(obj)))
        return
    if isinstance(obj, (list, tuple, collections.deque)):
        seen.add(id(obj))
        if lengths is not None:
            lengths.append((path, len(obj)))
        for i, v in enumerate(obj):
            _walk(v, path + (("item", i),), out, seen, depth - 1, lengths)
    elif isinstance(obj, dict):
        seen.add(id(obj))
        if lengths is not None:
            lengths.append((path, len(obj)))
        for k, v in obj.items():
            _walk(v, path + (("item", k),), out, seen, depth - 1, lengths)
    elif _is_state_object(obj):
        seen.add(id(obj))
        out.append((path + (("attr", "__class__"),), type(obj)))  # (a submodule swapped for another class)
        if lengths is not None:  # (an attribute added since: it may shadow a class attribute the body reads)
            lengths.append((path + (("attr", "__dict__"),), len(vars(obj))))
        for k, v in vars(obj).items():
            _walk(v, path + (("attr", k),), out, seen, depth - 1, lengths)
    elif _slots_of(obj):
        seen.add(id(obj))
        out.append((path + (("attr", "__class__"),), type(obj)))
        for k in _slots_of(obj):
            if hasattr(obj, k):
                _walk(getattr(obj, k), path + (("attr", k),), out, seen, depth - 1, lengths)


def _literal_floats(fn: Callable, leaves: list) -> set[int]:
    """Ids of the float constants in the code the body may run: the function's own (nested
    functions included), its helpers', and the methods of the user's classes it reaches."""
    codes: list = [fn.__code__]
    for path, _name in _captured_roots(fn):
        try:
            value = _getter(path)((), {}, fn)
        except (ValueError, KeyError, IndexError, AttributeError):
            continue
        if isinstance(value, types.FunctionType):
            codes.append(value.__code__)
    for path, v in leaves:
        if path[-1] == ("attr", "__class__") and isinstance(v, type) \
                and (v.__module__ or "").split(".")[0] not in _LIBRARIES:
            for cls in v.__mro__:
                if (cls.__module__ or "").split(".")[0] in _LIBRARIES:
                    continue
                codes += [f.__code__ for k, f in vars(cls).items()  # (not __init__: `Dropout(0.1)` there
                          if isinstance(f, types.FunctionType) and k != "__init__"]  # and `lr=0.1` are one object)
    found: set[int] = set()
    while codes:
        code = codes.pop()
        for c in code.co_consts:
            if type(c) is float:
                found.add(id(c))
            elif isinstance(c, types.CodeType):
                codes.append(c)
    return found


def _slots_of(obj: Any) -> tuple:
    """The slot names of an instance of a user's class with ``__slots__`` and no ``__dict__``
    (a small config or counter object), else ()."""
    cls = type(obj)
    if hasattr(obj, "__dict__") or (cls.__module__ or "").split(".")[0] in _LIBRARIES:
        return ()
    names: list = []
    for c in cls.__mro__:
        slots = c.__dict__.get("__slots__", ())
        names += [slots] if isinstance(slots, str) else list(slots)
    return tuple(n for n in names if n not in ("__weakref__", "__dict__"))


def _function_reads(fn: types.FunctionType) -> list[tuple[tuple, str, Any]]:
    """(steps from the function, name, value) of the closure cells (empty ones left out) and the
    globals its code names: what a function reads from outside."""
    reads = []
    for i, name in enumerate(fn.__code__.co_freevars):
        try:
            value = fn.__closure__[i].cell_contents
        except ValueError:  # (an empty cell)
            continue
        reads.append(((("attr", "__closure__"), ("item", i), ("attr", "cell_contents")), name, value))
    for name in _global_names(fn.__code__):
        if name in fn.__globals__:
            reads.append(((("attr", "__globals__"), ("item", name)), name, fn.__globals__[name]))
    return reads


def _walk_function(fn: types.FunctionType, path: tuple, out: list, seen: set, depth: int,
                   lengths: list | None) -> None:
    """Walk what a function reached as a value reads."""
    for steps, _name, value in _function_reads(fn):
        if not isinstance(value, types.ModuleType):
            _walk(value, path + steps, out, seen, depth, lengths)


def _captured_roots(fn: Callable) -> list[tuple]:
    """(path, name) of the closure cells and globals the function's code names (its outside
    state), and of those of the user's helper functions reached that way (``compile(grad(loss_fn))``,
    a ``loss_fn`` the body calls), each path starting at ``fn``."""
    roots: list = []
    seen: set = set()

    def visit(f: Any, base: tuple, depth: int) -> None:
        code = f.__code__
        if code in seen:
            return
        seen.add(code)
        found = []
        for i, name in enumerate(code.co_freevars):
            found.append(((("cell", i),) if not base else
                          base + (("attr", "__closure__"), ("item", i), ("attr", "cell_contents")), name))
        for name in _global_names(code):
            if name in f.__globals__:
                found.append(((("global", name),) if not base or f.__globals__ is fn.__globals__ else
                              base + (("attr", "__globals__"), ("item", name)), name))
        for path, name in found:
            roots.append((path, name))
            if depth > 0:
                try:
                    value = _getter(path)((), {}, fn)
                except (ValueError, KeyError, IndexError, AttributeError):  # an empty cell
                    continue
                if (isinstance(value, types.FunctionType)
                        and (value.__module__ or "").split(".")[0] not in _LIBRARIES):
                    visit(value, path, depth - 1)

    if isinstance(fn, types.MethodType):  # (`compile(model.forward)`: the model's state is read too)
        roots.append(((("self", None),), "self"))
    visit(fn, (), 3)
    return roots


def _arg_names(fn: Callable) -> tuple:
    """The names of ``fn``'s positional parameters as a caller passes them (a bound method's
    ``self`` is not passed)."""
    code = fn.__code__
    return code.co_varnames[1 if isinstance(fn, types.MethodType) else 0:code.co_argcount]


def _global_names(code: types.CodeType) -> list[str]:
    """The globals a code object (and the comprehensions and lambdas inside it) loads;
    ``co_names`` also lists attribute names (the ``step`` of ``opt.step()``)."""
    names: dict = {}
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names[ins.argval] = None
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.update(dict.fromkeys(_global_names(const)))
    return list(names)


def _is_state_object(obj: Any) -> bool:
    """An instance holding state (a model, an optimiser), as opposed to a function, class or module."""
    return hasattr(obj, "__dict__") and not isinstance(
        obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type, types.ModuleType,
              functools.partial, CompiledFunction))


def _python_state_change(before: list, after: list, fn: Callable) -> str | None:
    """The first Python-level difference between two walks of the reachable state, in words."""
    diff = _first_difference(before, after)
    return None if diff is None else _describe(diff[0], fn) + diff[1]


def _first_difference(before: list, after: list) -> tuple[tuple, str] | None:
    """(path, what happened there) of the first difference between two walks, or None."""
    old = {p: v for p, v in before}
    new = {p: v for p, v in after}
    for p, v in new.items():
        if p not in old:
            return p, " appeared"
        w = old[p]
        if isinstance(v, Tensor) or isinstance(w, Tensor):
            if v is not w:
                return p, " is a different object"
        elif type(v) is not type(w) or v != w:
            return p, f" changed: {w!r} -> {v!r}"
    for p in old:
        if p not in new:
            return p, " disappeared"
    return None


def _hook_roots(hook: Any) -> list[tuple[str, Any]]:
    """(name, value) of the outside state a hook can change: its closure cells and the globals
    it names, the object of a bound method or a callable instance, a partial's arguments."""
    if isinstance(hook, functools.partial):
        return ([(f"args[{i}]", v) for i, v in enumerate(hook.args)]
                + [(k, v) for k, v in hook.keywords.items()] + _hook_roots(hook.func))
    if isinstance(hook, types.MethodType):
        return [("self", hook.__self__)] + _hook_roots(hook.__func__)
    if isinstance(hook, types.FunctionType):
        return [(name, value) for _steps, name, value in _function_reads(hook)]
    return [("self", hook)] if _is_state_object(hook) else []


def _hook_leaves(hooks: list) -> list:
    """(path, leaf) of what ``hooks`` can reach, as ``_walk`` finds them; a path starts with
    ``("hook", k)`` and the root's name."""
    out: list = []
    seen: set = set()
    for k, hook in enumerate(hooks):
        for name, value in _hook_roots(hook):
            _walk(value, (("hook", k), ("root", name)), out, seen, 4)
    return out


def _hook_name(hook: Any) -> str:
    name = (getattr(hook, "__qualname__", None) or type(hook).__qualname__).rpartition("<locals>.")[2]
    code = getattr(getattr(hook, "__func__", hook), "__code__", None)
    return f"hook {name}" + (f" ({os.path.basename(code.co_filename)}:{code.co_firstlineno})" if code else "")


def _hooks_state_change(hooks: list) -> str | None:
    """The first difference in what a hook of the trace can reach, between just before its
    first call and the end of the trace, in words naming the hook; None when nothing changed."""
    for hook, before in hooks:
        diff = _first_difference(before, _hook_leaves([hook]))
        if diff is not None:
            path, what = diff
            return f"{_describe(path, None)}{what}, through {_hook_name(hook)}"
    return None


def _hashable(obj: Any) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _view_key(view: tuple) -> tuple:
    """Which tensor a view argument is a view of, and how (index tensors by identity)."""
    base, steps = view
    return (id(base()), tuple([step[:3] + (tuple(map(id, step[3])),) + step[4:] for step in steps]))


def _arg_signature(obj: Any) -> Any:
    """The part of the cache key an argument contributes (tensors by shape, else by value)."""
    if isinstance(obj, Tensor):
        n = obj._node
        leaf = n.leaf if n.requires_grad else None  # (`x.is_leaf`, `x.grad_fn is None` in the body)
        if obj._view is not None:  # a view: the program writes into its base as traced
            return ("T", n.shape, n.dtype, n.device, n.requires_grad, leaf, _view_key(obj._view))
        return ("T", n.shape, n.dtype, n.device, n.requires_grad, leaf)
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, tuple(_arg_signature(v) for v in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, _arg_signature(v)) for k, v in obj.items()))
    if isinstance(obj, float):
        return ("float",)  # Python floats are program inputs: a new value does not recompile
    if isinstance(obj, _SCALARS):
        return ("v", obj)
    if hasattr(obj, "__dict__") and not callable(obj):
        return ("obj", type(obj))  # what it holds is guarded (tensors' shapes, numbers), not keyed
    try:
        hash(obj)
    except TypeError:
        raise TypeError(f"a {type(obj).__name__} is neither a tensor nor hashable (pass tensors, numbers, "
                        "strings and lists/tuples/dicts of them: a NumPy array as srcgrad.tensor(a), a set as "
                        "a tuple)") from None
    return ("v", obj)


# ---------------------------------------------------------------------------
# the tracer


class Tracer:
    """Watches one trace: in-place updates, .grad changes, random ops, realisations."""

    def __init__(self) -> None:
        self.start_id = ir._next_id()
        self.inplace: dict[int, tuple[Any, Any]] = {}  # id(tensor) -> (tensor, node before the trace)
        self.grads: dict[int, Any] = {}  # id(tensor) -> tensor whose .grad changed
        self.rng: list[tuple[Any, Any, Any]] = []  # (seed node, counter node, generator) per random op
        self.broke_at: tuple | None = None
        self.broke_why: str | None = None
        self.backward = False  # whether the body ran a backward
        # each user hook that ran (tensor, module, optimiser hooks) with what it could reach
        # just before its first call: (hook, _hook_leaves([hook]))
        self.hooks: list[tuple[Any, list]] = []
        self.baked: set[int] = set()  # ids of the floats written into a backward as constants

    def before_inplace(self, t: Any, opname: str) -> None:
        pass  # (every in-place change is recorded; note_inplace takes it afterwards)

    def note_baked(self, v: float) -> None:
        """A float became a constant of a backward (a custom Function's ``g * ctx.k``): a
        replay cannot change it, so its value is part of the key (an argument) or guarded."""
        if isinstance(v, WatchedFloat):
            v.used.add(v.where)
        else:
            self.baked.add(id(v))

    def note_inplace(self, t: Any) -> None:
        if id(t) not in self.inplace:
            self.inplace[id(t)] = (t, None)

    def note_grad(self, t: Any) -> None:
        self.grads[id(t)] = t

    def note_backward(self) -> None:
        self.backward = True  # (recorded like the rest; noted for arguments with outside history)

    def note_grad_call(self) -> None:
        self.backward = True  # (autograd.grad: the same walk back through the graph)

    def note_rng(self, seed_node: Any, counter_node: Any, generator: Any = None) -> None:
        self.rng.append((seed_node, counter_node, generator or default_generator))

    def note_hook(self, hook: Any) -> None:
        if not any(h is hook for h, _ in self.hooks):
            self.hooks.append((hook, _hook_leaves([hook])))

    def note_realize(self, inputs: list | None = None) -> None:
        if self.broke_at is None:
            self.broke_at = ir.user_loc()

    def note_reseed(self) -> None:
        """``manual_seed`` in the body: a replay draws on from the generator's state and cannot
        seed it again, so the function runs define-by-run."""
        if self.broke_at is None:
            self.broke_at = ir.user_loc()
            self.broke_why = "it seeds a random generator (manual_seed), which a replay cannot redo"


class _TraceState:
    """Where the values a trace starts from sit: the reachable leaves, by path."""

    def __init__(self, leaves: list, lengths: list) -> None:
        self.leaves = leaves
        self.lengths = lengths  # (path, len) of the containers on the way
        self.tensor_paths: dict[int, tuple] = {}  # id(node) -> (path, tensor)
        self.value_paths: dict[int, tuple] = {}  # id(array) -> path
        self.path_of: dict[int, tuple] = {}  # id(tensor) -> its first path
        self.tensors_with_paths: list = []  # (first path, tensor)
        self.tensor_aliases: list = []  # (first path, other path) of one tensor reached twice
        self.grad_paths: dict[int, tuple] = {}  # id(.grad's node) -> path of that .grad
        self.grad_owner: dict[int, int] = {}  # id(.grad's node) -> id(its tensor)
        self.grad_was_none: dict[int, bool] = {}  # id(tensor) -> whether its .grad was None
        self.float_paths: dict[int, list] = {}  # one float object may sit at several paths (lr and initial_lr)
        self.wants_grad: set[int] = set()  # id(tensor) of the tensors that require grad
        self.at_path: dict[tuple, Tensor] = {}  # path -> the tensor (or .grad) there
        # id(tensor) -> (shape, dtype, requires_grad) when the trace began (what the program
        # was compiled for, even if the body gives the tensor another shape through .data)
        self.meta: dict[int, tuple] = {}
        for p, v in leaves:
            if isinstance(v, Tensor):
                self.meta[id(v)] = (v._node.shape, v._node.dtype, v._node.requires_grad)
                if id(v) in self.path_of:  # (a parameter seen by its module and its optimiser)
                    self.tensor_aliases.append((self.path_of[id(v)], p))
                    continue
                self.path_of[id(v)] = p
                self.at_path[p] = v
                self.tensors_with_paths.append((p, v))
                self.tensor_paths[id(v._node)] = (p, v)
                self.value_paths.setdefault(id(v._node.value), p)
                self.grad_was_none[id(v)] = v._grad is None
                if v._node.requires_grad:
                    self.wants_grad.add(id(v))
                if v._grad is not None:
                    gp = p + (("attr", "_grad"),)
                    self.grad_paths[id(v._grad._node)] = gp
                    self.grad_owner[id(v._grad._node)] = id(v)
                    self.at_path[gp] = v._grad
            elif isinstance(v, float):
                self.float_paths.setdefault(id(v), []).append(p)

    def where(self, t: Tensor) -> Any:
        """How a replay finds ``t`` again: its path, else a reference to it (made by the body)."""
        return self.path_of.get(id(t)) or weakref.ref(t)


def _bind_python_results(structure: Any, state: _TraceState) -> Any:
    """``structure`` with each returned Python float that the body read from somewhere read
    from there again on replay; None if one may have been computed from such a float (a
    replay cannot recompute Python arithmetic)."""
    if structure == "T":
        return structure
    kind, body = structure
    if kind == "py":
        if isinstance(body, float):
            if id(body) in state.float_paths:
                return ("pyget", _getter(state.float_paths[id(body)][0]))
            if state.float_paths:
                return None
        return structure
    if type(kind) is _Dict:
        items = [(k, _bind_python_results(v, state)) for k, v in body]
        return None if any(v is None for _, v in items) else (kind, tuple(items))
    items = [_bind_python_results(v, state) for v in body]
    return None if any(v is None for v in items) else (kind, tuple(items))


class Entry:
    """One traced program of a compiled function, with its guards and wiring."""

    __slots__ = ("program", "sources", "gather", "outputs", "result", "result_like", "result_first", "guard",
                 "guard_expect", "reason", "calls", "trace_s", "rng", "donate", "scatter")


class CompiledFunction:
    """The callable returned by ``srcgrad.compile``."""

    def __init__(self, fn: Callable, cache_size: int = 32, recompile_warning: int = 8,
                 static_argnums: tuple = ()) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.cache_size = cache_size
        self.recompile_warning = recompile_warning
        self.static_argnums = set(static_argnums)
        self.entries: OrderedDict[Any, list[Entry]] = OrderedDict()
        self.dynamic_at: tuple | None = None  # set when the body depends on values: run eagerly
        self.compiles = 0
        self.hits = 0
        self.last_key: Any = None
        self.guard_miss: str | None = None  # what the last failed guard found changed, in words
        self.last_entry: Entry | None = None
        self.arg_names = list(_arg_names(fn))
        self.warned = False
        self.state_changes = 0  # traces in a row that changed Python state
        self.eager_keys: set = set()  # signatures whose result requires grad: run define-by-run
        # ("arg", i) / ("kwarg", name) of float arguments the body used in Python arithmetic, comparisons
        # or conversions (`1 - decay`, `math.exp(lr)`): their values are part of the key from then on
        self.value_floats: set = set()
        self.warned_eager = False
        if inspect.isgeneratorfunction(fn) or inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            # Its body runs when the caller iterates (or awaits), after the call: nothing to trace.
            code = fn.__code__
            self.dynamic_at = (code.co_filename, code.co_firstlineno)
            kind = "a coroutine" if inspect.iscoroutinefunction(fn) else "a generator"
            warnings.warn_explicit(f"srcgrad.compile: {self.__name__} is {kind} function: it runs define-by-run "
                                   "(compile a function that it calls instead)", CompileWarning,
                                   code.co_filename, code.co_firstlineno)

    # -- public inspection ----------------------------------------------------

    @property
    def source(self) -> str:
        """The generated source of the most recently used program."""
        if self.last_entry is None:
            return "# not traced yet: call the function once"
        return self.last_entry.program.source

    def cache_info(self) -> dict:
        return {
            "hits": self.hits, "compiles": self.compiles, "dynamic_at": self.dynamic_at,
            "entries": [{"key": k, "reason": e.reason, "calls": e.calls, "trace_s": e.trace_s,
                         "compile_s": e.program.compile_s if e.program else 0.0}
                        for k, es in self.entries.items() for e in es],
        }

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    # -- calling ----------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # (define-by-run: inside another trace or vmap, and while a forward-AD dual level
        # is open, whose tangents need the ops recorded)
        if self.dynamic_at is not None or tracing.ACTIVE is not None or ir.keep_history:
            return self.fn(*args, **kwargs)
        try:
            key = self._key(args, kwargs)
        except TypeError as e:
            raise TypeError(f"srcgrad.compile: argument '{self._bad_argument(args, kwargs)}' of "
                            f"{self.__name__}: {e}") from None
        try:
            entries = self.entries.get(key, ())
        except TypeError:
            bad = next(i for i in self.static_argnums if i < len(args) and not _hashable(args[i]))
            name = self.arg_names[bad] if bad < len(self.arg_names) else f"#{bad}"
            raise TypeError(f"srcgrad.compile: static argument '{name}' of {self.__name__} is not hashable "
                            f"({type(args[bad]).__name__}); static arguments are cache keys") from None
        for entry in entries:
            if self._guards_hold(entry, args, kwargs):
                self.entries.move_to_end(key)
                self.hits += 1
                return self._replay(entry, args, kwargs)
        if key in self.eager_keys:
            return self.fn(*args, **kwargs)
        return self._trace(key, args, kwargs)

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        """The cache key of a call: the arguments' signatures, the grad mode, autocast, the default
        dtype. A float argument the body used in Python arithmetic counts by value."""
        if self.static_argnums or self.value_floats:
            sig = tuple([("static", a) if i in self.static_argnums or ("arg", i) in self.value_floats
                         else _arg_signature(a) for i, a in enumerate(args)])
        else:
            sig = tuple([_arg_signature(a) for a in args]) if args else ()
        kw = tuple([(k, ("static", kwargs[k]) if ("kwarg", k) in self.value_floats else _arg_signature(kwargs[k]))
                    for k in sorted(kwargs)]) if kwargs else ()
        return (sig, kw, _grad_state.enabled, _amp_state.key, _default_dtype[0])

    def _bad_argument(self, args: tuple, kwargs: dict) -> str:
        """The name of the first argument that cannot be part of a cache key."""
        for i, a in enumerate(args):
            if i not in self.static_argnums:
                try:
                    _arg_signature(a)
                except TypeError:
                    return self.arg_names[i] if i < len(self.arg_names) else f"#{i}"
        for k, v in kwargs.items():
            try:
                _arg_signature(v)
            except TypeError:
                return k
        return "?"

    def _guards_hold(self, entry: Entry, args: tuple, kwargs: dict) -> bool:
        try:
            now = entry.guard(args, kwargs, self.fn)
        except (KeyError, IndexError, AttributeError, TypeError):
            self.guard_miss = "something the body reads from outside is gone"
            return False
        if now == entry.guard_expect:
            return True
        self.guard_miss = _guard_miss(entry.guard.labels, entry.guard_expect, now, self.fn)
        return False

    def _leaves(self, args: tuple, kwargs: dict, lengths: list | None = None) -> list:
        """(path, value) of every tensor and Python scalar the function can reach (and, into
        ``lengths``, the containers' lengths)."""
        leaves: list = []
        seen: set = set()
        for i, a in enumerate(args):
            _walk(a, (("arg", i),), leaves, seen, _DEPTH, lengths)
        for k, v in kwargs.items():
            _walk(v, (("kwarg", k),), leaves, seen, _DEPTH, lengths)
        for path, _name in _captured_roots(self.fn):
            try:
                obj = _getter(path)(args, kwargs, self.fn)
            except (ValueError, KeyError, IndexError, AttributeError):
                continue
            if isinstance(obj, (Tensor, list, tuple, dict, set, frozenset, collections.deque, types.MethodType,
                                functools.partial, CompiledFunction) + _SCALARS + _GUARDED) \
                    or _is_state_object(obj) or _slots_of(obj):
                _walk(obj, path, leaves, seen, _DEPTH, lengths)
        return leaves

    def _trace(self, key: Any, args: tuple, kwargs: dict) -> Any:
        try:
            return self._traced(key, args, kwargs)
        finally:
            ir.recent.clear()  # (the trace's nodes: its own program computed what it needed)

    def _traced(self, key: Any, args: tuple, kwargs: dict) -> Any:
        # Float arguments are watched while traced: Python arithmetic on one (`1 - decay`) would be
        # baked into the program, so such an argument is keyed by value from then on.
        used: set = set()
        if any(type(a) is float for a in args) or any(type(v) is float for v in kwargs.values()):
            args = tuple(WatchedFloat.of(a, ("arg", i), used) if type(a) is float else a for i, a in enumerate(args))
            kwargs = {k: WatchedFloat.of(v, ("kwarg", k), used) if type(v) is float else v for k, v in kwargs.items()}
        # Everything the body reads must be a value, so that it becomes a program input.
        lengths: list = []
        leaves = self._leaves(args, kwargs, lengths)
        pending = [t._node for _, t in leaves if isinstance(t, Tensor) and t._node.value is None]
        pending += [t._grad._node for _, t in leaves
                    if isinstance(t, Tensor) and t._grad is not None and t._grad._node.value is None]
        if pending:
            compiler.realize(pending)
        state = _TraceState(leaves, lengths)
        tracer = Tracer()
        tracing.ACTIVE = tracer
        t0 = time.perf_counter()
        try:
            result = self.fn(*args, **kwargs)
        finally:
            tracing.ACTIVE = None
            for a in (*args, *kwargs.values()):
                if type(a) is WatchedFloat:
                    a.used = None  # (watched during this trace only)
        if used - self.value_floats:
            self.value_floats |= used
            key = self._key(args, kwargs)  # (this call's entry is found by these values)
        if tracer.broke_at is not None:
            self._go_dynamic(tracer.broke_at, tracer.broke_why and
                             f"{tracer.broke_why} (at {tracer.broke_at[0]}:{tracer.broke_at[1]})")
            return result
        # A replay runs no hook: right for one that only computes (a gradient clamp is
        # compiled into the program), wrong for one that records or counts. (Asked first:
        # its words name the hook, where the walk of the state reaches it as a closure.)
        changed = _hooks_state_change(tracer.hooks) if tracer.hooks else None
        if changed is None:
            changed = _python_state_change(leaves, self._leaves(args, kwargs), self.fn)
        if changed is not None:
            # The body changed Python state (an optimiser creating its buffers on the first
            # step, a counter): a replay would not. Run it as traced, and trace again next
            # call; a function that does so every call runs define-by-run from then on.
            self.state_changes += 1
            if self.state_changes > 3:
                self._go_dynamic(None, f"it changes Python state on every call ({changed})")
            return result
        self.state_changes = 0  # (counted in a row: two models' optimisers each create state once)
        if tracer.backward and any(isinstance(t, Tensor) and t._node.requires_grad and not t._node.leaf
                                   for _, t in leaves):
            # A tensor with autograd history from outside the function (a non-leaf that requires
            # grad): the body's backward runs on through that history, which a replay cannot redo
            # with the next call's history. This signature runs define-by-run.
            self.eager_keys.add(key)
            self._warn_eager("an argument or captured tensor has autograd history from outside the function "
                             "(a non-leaf that requires grad) and the body's backward goes through it; pass "
                             "it detached, or compile the code that builds it too")
            return result
        entry, inputs, outputs = self._build_entry(tracer, result, state)
        if entry is None:
            if outputs:  # this signature's result requires grad: it runs define-by-run
                self.eager_keys.add(key)
                self._warn_eager(outputs[0])
            return result
        entry.trace_s = time.perf_counter() - t0
        entry.reason = self._why(key)
        self.compiles += 1
        self.entries.setdefault(key, []).append(entry)
        self.entries.move_to_end(key)
        while sum(len(v) for v in self.entries.values()) > self.cache_size:
            oldest = next(iter(self.entries))
            self.entries[oldest].pop(0)
            if not self.entries[oldest]:
                del self.entries[oldest]
        self.last_key = key
        self.last_entry = entry
        if self.compiles > self.recompile_warning and not self.warned:
            self.warned = True
            warnings.warn(f"srcgrad.compile: {self.__name__} has been compiled {self.compiles} times; last "
                          f"change: {entry.reason}", CompileWarning, stacklevel=3)
        return self._finish_first_call(entry, inputs, outputs, result)

    def _warn_eager(self, why: str) -> None:
        if not self.warned_eager:
            self.warned_eager = True
            warnings.warn(f"srcgrad.compile: {self.__name__} runs define-by-run for calls like this one: {why}",
                          CompileWarning, stacklevel=4)

    def _go_dynamic(self, loc: tuple | None, why: str | None = None) -> None:
        self.dynamic_at = loc or ("<python state>", 0)
        if why is None:
            from .codegen import source_line
            where = f"{loc[0]}:{loc[1]}" if loc else "?"
            why = f"it needs a tensor's value while tracing (at {where}: {source_line(loc)})"
        warnings.warn(f"srcgrad.compile: {self.__name__} runs define-by-run from now on: {why}; "
                      "so no branch or Python value is baked in", CompileWarning, stacklevel=4)

    def _why(self, key: Any) -> str:
        prev = self.last_key
        if prev is None:
            return "first call"
        if prev == key:
            return self.guard_miss or "a guarded value outside the arguments changed"
        pa, pk, pg, pc, pd = prev
        na, nk, ng, nc, nd = key
        if pd is not nd:
            return f"default dtype changed: {pd} -> {nd}"
        if pg != ng:
            return f"grad mode changed: {pg} -> {ng}"
        if pc != nc:
            return f"autocast changed: {_autocast_text(pc)} -> {_autocast_text(nc)}"
        if len(pa) != len(na):
            return f"number of arguments changed: {len(pa)} -> {len(na)}"
        for i, (a, b) in enumerate(zip(pa, na)):
            if a != b:
                name = self.arg_names[i] if i < len(self.arg_names) else f"#{i}"
                if a[0] == "T" and b[0] == "T":
                    parts = []
                    if a[1] != b[1]:
                        parts.append(f"shape {a[1]} -> {b[1]}")
                    if a[2] is not b[2]:
                        parts.append(f"dtype {a[2].name} -> {b[2].name}")
                    if a[4] != b[4]:
                        parts.append(f"requires_grad {a[4]} -> {b[4]}")
                    elif a[5] != b[5]:
                        parts.append("a leaf before, not a leaf now" if a[5] else "not a leaf before, a leaf now")
                    if a[6:] != b[6:]:
                        parts.append("a view of another tensor, or of another part of it" if a[6:] and b[6:] else
                                     "a view before, not a view now" if a[6:] else "not a view before, a view now")
                    return f"argument '{name}': " + ", ".join(parts)
                return f"argument '{name}': {a[-1]!r} -> {b[-1]!r}"
        return "keyword arguments changed"

    def _build_entry(self, tracer: Tracer, result: Any, state: _TraceState) -> tuple[Entry | None, list, list]:
        # Outputs: returned tensors, tensors updated in place, tensors whose .grad changed.
        flat_result: list = []
        structure = _flatten(result, flat_result)
        if any(not isinstance(r, Tensor) for r in flat_result):
            bad = next(r for r in flat_result if not isinstance(r, Tensor))
            raise TypeError(f"srcgrad.compile: {self.__name__} returned a {type(bad).__name__}; a compiled "
                            "function may return tensors, and Python numbers, strings, dtypes, devices, slices and types "
                            "computed without tensor values, in lists, tuples and dicts")
        if not tracer.grads and any(r._node.requires_grad and not r._node.leaf for r in flat_result):
            # A result to differentiate later (`grad(compile(f))`, a compiled model's output):
            # a replay returns values without a graph, so calls like this one record.
            return None, [], ["its result requires grad and no backward ran inside it (a replay returns no "
                              "graph: call .backward() inside the compiled function to compile the backward "
                              "too, or run it under no_grad for inference)"]
        structure = _bind_python_results(structure, state)
        if structure is None:
            self._go_dynamic(None, "it returns a Python float that may be computed from a float it reads")
            return None, [], []
        targets: list = [r._node for r in flat_result]
        updated = [t for t, _ in tracer.inplace.values()]
        targets += [t._node for t in updated]
        grads = list(tracer.grads.values())
        targets += [t._grad._node for t in grads if t._grad is not None]
        order, inputs, outputs, _ = compiler.collect(targets)
        early = [n for n in order if n.id < tracer.start_id]
        if early:  # work pending from before the call: compute it now, outside the program
            compiler.realize(early)
        order, inputs, outputs, key = compiler.collect(targets, keep_live=False)
        # Wire inputs back to their sources.
        rng_seed = {id(s): k for k, (s, c, g) in enumerate(tracer.rng)}
        rng_counter = {id(c): k for k, (s, c, g) in enumerate(tracer.rng)}
        sources = []
        aliases: list = list(state.tensor_aliases)
        for n in inputs:
            if n.op == "scalar":
                if id(n) in rng_seed:
                    sources.append(("rng_seed", rng_seed[id(n)]))
                elif id(n) in rng_counter:
                    sources.append(("rng_counter", rng_counter[id(n)]))
                elif id(n.value) in state.float_paths and isinstance(n.value, float):
                    paths = state.float_paths[id(n.value)]
                    sources.append(("get", paths[0]))
                    # which of its paths the body read is unknown: replay only while they still agree
                    aliases += [(paths[0], q) for q in paths[1:]]
                else:
                    sources.append(("const", n.value))
            elif id(n) in state.tensor_paths:
                sources.append(("tensor", state.tensor_paths[id(n)][0]))
            elif id(n) in state.grad_paths:  # a .grad the body reads (accumulates into, or steps with)
                sources.append(("tensor", state.grad_paths[id(n)]))
            elif id(n.value) in state.value_paths:  # e.g. x.detach() of an argument: the same array
                sources.append(("tensor", state.value_paths[id(n.value)]))
            elif n.id >= tracer.start_id:
                sources.append(("const", n.value))
            else:
                owner = n.owner() if n.owner is not None else None
                if owner is not None and (owner._node is n or id(owner) in tracer.inplace):
                    sources.append(("ref", weakref.ref(owner)))
                else:
                    sources.append(("const", n.value))
        # Python numbers and tensors read from outside are guarded, and so are the lengths of
        # the containers on the way and whether each .grad the body touches is None.
        # (a float the state holds may be the very object of a literal in the user's code, as
        # CPython shares equal constants of one file: `cfg = {"scale": 1.0}` and `clamp(max=1.0)`;
        # the program cannot tell them apart, so such a float is guarded by value)
        used_floats = {id(n.value) for n in inputs if n.op == "scalar"} - tracer.baked \
            - _literal_floats(self.fn, state.leaves)
        grad_read = {state.grad_owner[id(n)] for n in inputs if id(n) in state.grad_owner}
        # (every tensor that requires grad: the body may branch on `p.grad is None`, as an
        # optimiser's step does)
        grad_guards = [(p, state.grad_was_none[id(t)]) for p, t in state.tensors_with_paths
                       if id(t) in state.wants_grad or id(t) in tracer.grads or id(t) in grad_read]
        # The tensors the program reads and updates must be as distinct as when traced (the
        # same tensor passed as two arguments both updated in place is another program).
        touched = list(dict.fromkeys([src for kind, src in sources if kind == "tensor"]
                                     + [state.path_of[id(t)] for t in updated if id(t) in state.path_of]))
        distinct = (touched, len({id(state.at_path[p]) for p in touched})) if len(touched) > 1 else None
        entry = Entry()
        # (direct tensor arguments are covered by the cache key already)
        entry.guard, entry.guard_expect = _guard(
            [(p, v) for p, v in state.leaves
             if isinstance(v, _SCALARS + _GUARDED) and not (isinstance(v, float) and id(v) in used_floats)],
            aliases,
            [(p, state.meta[id(t)]) for p, t in state.leaves
             if isinstance(t, Tensor) and (len(p) > 1 or p[0][0] not in ("arg", "kwarg"))],
            state.lengths, grad_guards, distinct,
            [src for kind, src in sources if kind == "get"])
        entry.sources = sources
        # Arguments whose tensors the program updates in place (parameters, optimizer
        # state): their buffers may be donated to the program's outputs, as jax.jit's
        # donate_argnums does, when nothing else holds them (checked on every call).
        entry.donate = tuple(j for j, n in enumerate(inputs) if _updated_input(n, tracer.inplace))
        entry.gather = _gatherer(sources, entry.donate)
        pos = {id(n): k for k, n in enumerate(outputs)}
        # A returned tensor the program does not compute (an argument returned as it is) is
        # read again from where it came from; one made in the body is the traced one.
        entry.result = (structure, [pos[id(r._node)] if id(r._node) in pos else
                                    ("get", _getter(state.path_of[id(r)])) if id(r) in state.path_of else
                                    ("node", r._node) for r in flat_result])
        # (Shape templates, not the traced nodes: a traced node kept here would, through
        # the `overwritten` link to the node that replaced it, keep every later one alive.)
        entry.result_like = [_template(r._node, leaf=r._node.leaf and r._node.requires_grad) for r in flat_result]
        first = {}
        entry.result_first = [first.setdefault(id(r), i) for i, r in enumerate(flat_result)]
        # Tensors updated in place and .grad changed are found again by their path on each
        # call (the tensors passed this time), else by reference (made by the body: state it
        # keeps, such as an optimiser's moments). One the body made and returns is a result
        # like any other: a replay returns a new tensor, and the first call's stays as it was.
        returned = {id(r) for r in flat_result}
        kept = [t for t in updated if id(t) in state.path_of or id(t) not in returned]
        entry.outputs = ([(state.where(t), pos.get(id(t._node)), _template(t._node)) for t in kept],
                         [(state.where(t), None if t._grad is None else pos.get(id(t._grad._node)),
                           _template(t._grad._node) if t._grad is not None else None) for t in grads])
        entry.rng = tuple(g for s, c, g in tracer.rng)  # each replay draws from the same generators
        entry.calls = 0
        entry.scatter = _scatterer(*entry.outputs)
        fn_name = self.__name__ if self.__name__.isidentifier() else "compiled"
        hints = {}
        for n, (kind, src) in zip(inputs, sources):
            if kind in ("tensor", "get"):  # src is the path the value is read from
                hints[id(n)] = _path_name(src, self.fn)
        prog = compiler.CACHE.programs.get(key)
        if prog is None:
            prog = compiler.compile_program(key, order, inputs, outputs, fn_name=fn_name, input_names=hints)
            compiler.CACHE.add(key, prog)
            compiler.CACHE.misses += 1
        entry.program = prog
        return entry, inputs, outputs

    def _finish_first_call(self, entry: Entry, inputs: list, outputs: list, result: Any) -> Any:
        # The first call's values come from running the new program on the traced inputs
        # (their buffers are still held, so the donating variant that replays use runs on copies).
        if entry.donate and entry.program.donation is None:
            entry.program.donation = entry.donate
        values = self._run(entry, [n.value for n in inputs], donate=False)
        for n, v in zip(outputs, values):
            n.value = v
            n.program = entry.program.ref
            if not n.requires_grad or n.leaf:
                n.inputs = ()
        entry.calls += 1
        return result

    def _run(self, entry: Entry, args: list, donate: bool) -> Any:
        prog = entry.program
        t0 = time.perf_counter() if prog.calls == 0 else 0.0
        out = compiler.call_program(prog, args, entry.donate if donate else ())
        if t0:
            prog.compile_s += time.perf_counter() - t0
            compiler.CACHE.compile_s += prog.compile_s
        prog.calls += 1
        return out

    def _replay(self, entry: Entry, args: tuple, kwargs: dict) -> Any:
        rng = [g.next_key() for g in entry.rng] if entry.rng else ()
        try:
            values, donate = entry.gather(args, kwargs, self.fn, rng)
        except AttributeError:
            if any(kind == "ref" and src() is None for kind, src in entry.sources):
                raise RuntimeError(f"srcgrad.compile: a tensor {self.__name__} read when traced no longer "
                                   "exists; call srcgrad.compile again") from None
            raise
        out = self._run(entry, values, donate)
        entry.calls += 1
        entry.program.hits += 1
        compiler.CACHE.hits += 1
        entry.scatter(out, args, kwargs, self.fn)
        structure, picks = entry.result
        if structure == "T" and isinstance(picks[0], int):  # one tensor returned: the usual loss
            t = wrap(_result_node(out[picks[0]], entry.result_like[0]))
            ir.set_owner(t._node, t)
            return t
        tensors: list = []
        for i, (p, like) in enumerate(zip(picks, entry.result_like)):
            if entry.result_first[i] != i:  # (the body returned this tensor twice: one object, as traced)
                tensors.append(tensors[entry.result_first[i]])
            elif isinstance(p, int):
                t = wrap(_result_node(out[p], like))
                ir.set_owner(t._node, t)
                tensors.append(t)
            elif p[0] == "get":  # an argument (or a tensor read from outside) returned as it is
                tensors.append(p[1](args, kwargs, self.fn))
            else:
                tensors.append(wrap(p[1]))
        return _unflatten(structure, iter(tensors), lambda get: get(args, kwargs, self.fn))


def _replace_value(t: Tensor, value: jax.Array, like: Any) -> None:
    """A compiled in-place update seen by others: a new node, the old one marked overwritten
    (so a graph that saved it raises PyTorch's error), leaf status kept."""
    old, new = t._node, _value_node(value, like)
    if t._view is not None or t._base is not None or t._views is not None:
        # a view writes through to its base, a detach()/.data alias shares the change
        t._replace_node(new, opname="compiled update")
        return
    t._version += 1
    old.overwritten = ("compiled update", new.loc, t._version, new)
    old.special = True
    if old.requires_grad and old.leaf:
        new.requires_grad = new.leaf = True
        if getattr(old, "hooks", None):  # a leaf's tensor hooks stay with the tensor
            new.hooks, new.special = old.hooks, True
    t._node = new
    new.owner = weakref.ref(t)


def _set_grad(t: Tensor, value: jax.Array, like: Any) -> None:
    g = wrap(_value_node(value, like))
    ir.set_owner(g._node, g)
    t._grad = g


_SOLE_EXPR = "_rc(t._node) == _SOLE and t._base is None and t._view is None and t._views is None"


def _scatterer(updated: list, grads: list) -> Callable[[Any], None]:
    """One compiled function handing a replay's outputs to the tensors it updated and the
    ``.grad`` it changed. A tensor whose node nothing else holds (no graph, view or alias)
    takes the new value in its node; otherwise it gets a new node (``_replace_value``)."""
    env: dict = {"_rc": sys.getrefcount, "_SOLE": _SOLE_NODE, "_replace": _replace_value, "_set_grad": _set_grad}
    reader = _Reader(env)
    lines = reader.lines
    found: dict = {}  # a reference -> the local holding its tensor

    def find(where: Any) -> str:
        # a path is read from this call's arguments and the function; a reference is called
        if isinstance(where, tuple):
            return reader.read(where)
        if where not in found:
            name = found[where] = f"r{len(found)}"
            env[f"_{name}"] = where
            lines.append(f"    {name} = _{name}()")
        return found[where]

    for i, (where, k, like) in enumerate(updated):
        if k is None:
            continue
        env[f"_ul{i}"] = like
        lines += [f"    t = {find(where)}",
                  "    if t is not None:",
                  f"        if {_SOLE_EXPR}:",
                  f"            t._node.value = out[{k}]",
                  "            t._version += 1",
                  "        else:",
                  f"            _replace(t, out[{k}], _ul{i})"]
    for i, (where, k, like) in enumerate(grads):
        if like is not None and k is None:
            continue
        env[f"_gl{i}"] = like
        lines += [f"    t = {find(where)}", "    if t is not None:",
                  "        t._grad = None" if like is None else f"        _set_grad(t, out[{k}], _gl{i})"]
    return reader.function("scatter", "out, a, k, f", "None")


def _updated_input(n: Any, inplace: dict) -> bool:
    """Whether program input ``n`` is the old value of a tensor the program updates in place."""
    if n.op == "scalar" or n.owner is None:
        return False
    t = n.owner()
    if t is None or id(t) not in inplace or t._node is n:
        return False
    return t._node.shape == n.shape and t._node.dtype is n.dtype


class _Probe:
    __slots__ = ("_node",)


def _sole_count() -> int:
    # sys.getrefcount(t._node) as the generated scatter code takes it, for a node only t holds
    p = _Probe()
    p._node = ir.Node()
    return eval("lambda t, _rc: _rc(t._node)")(p, sys.getrefcount)  # noqa: S307 - a constant expression


_SOLE_NODE = _sole_count()


def _template(n: Any, leaf: bool = False) -> Any:
    """A valueless node with ``n``'s shape, dtype, device and line, for ``_value_node``; ``leaf``:
    a result that is a leaf requiring grad (``torch.zeros(3, requires_grad=True)`` made in the body)."""
    t = _value_node(None, n)
    t.leaf = leaf
    return t


def _result_node(value: jax.Array, like: Any) -> Any:
    """A replay's returned tensor's node: a leaf that requires grad where the traced one was."""
    n = ir.output_node(value, like)
    if like.leaf:
        n.requires_grad = n.leaf = True
    return n


def _value_node(value: jax.Array, like: Any) -> Any:
    """A node holding one program output (shaped like the traced node it replaces)."""
    if like is None:
        return ir.value_node(value, tuple(value.shape), from_numpy_dtype(value.dtype),
                             from_jax(next(iter(value.devices()))))
    return ir.output_node(value, like)


def _path_name(path: tuple, fn: Callable) -> str:
    """A readable variable name for a value's path: ``params[1]`` -> ``params_1``, ``model.w`` -> ``model_w``."""
    parts = [_root_name(path, fn)]
    parts += [str(k) if isinstance(k, (str, int)) else type(k).__name__.lower() for _, k in path[1:]]
    name = "_".join(parts)
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return name if name.isidentifier() else "a_" + name


class _Dict:
    """The kind of a returned dict in a result's structure: ``make`` rebuilds it from (key, value) pairs."""

    __slots__ = ("make",)

    def __init__(self, make: Callable) -> None:
        self.make = make


def _rebuilder(obj: Any) -> Callable[[list], Any]:
    """How a replay rebuilds a returned container of ``obj``'s type from a list of its items (of
    (key, value) pairs for a dict): a namedtuple from its fields, a defaultdict with its factory,
    ``torch.Size``, list subclasses and ``OrderedDict`` from the list."""
    kind = type(obj)
    if isinstance(obj, tuple) and hasattr(kind, "_fields"):
        return lambda items: kind(*items)
    if isinstance(obj, collections.defaultdict):
        factory = obj.default_factory
        return lambda items: collections.defaultdict(factory, items)
    return kind


def _flatten(obj: Any, out: list) -> Any:
    if isinstance(obj, Tensor):
        out.append(obj)
        return "T"
    if isinstance(obj, (list, tuple)):
        return (_rebuilder(obj), tuple(_flatten(v, out) for v in obj))
    if isinstance(obj, dict):
        return (_Dict(_rebuilder(obj)), tuple((k, _flatten(v, out)) for k, v in obj.items()))
    if obj is None or isinstance(obj, _PY_RESULTS):
        return ("py", obj)
    out.append(obj)
    return "T"


# Python values a compiled function may return as they are (a replay returns the traced one):
# none is computed from a tensor's values (that reads them, and the function runs define-by-run).
_PY_RESULTS = (int, float, bool, str, bytes, complex, slice, range, type, D.dtype, Device,
               type(Ellipsis))


def _unflatten(structure: Any, it: Any, read: Callable | None = None) -> Any:
    if structure == "T":
        return next(it)
    kind, body = structure
    if kind == "py":
        return body
    if kind == "pyget":
        return read(body) if read is not None else body
    if type(kind) is _Dict:
        return kind.make([(k, _unflatten(s, it, read)) for k, s in body])
    return kind([_unflatten(s, it, read) for s in body])


def compile(fn: Callable | None = None, *, cache_size: int = 32, recompile_warning: int = 8,  # noqa: A001
            static_argnums: tuple = (), **torch_compile_options: Any) -> Any:
    """Trace ``fn`` once per input signature and replay it as one compiled program.

    Usable as ``@srcgrad.compile``, ``@srcgrad.compile(cache_size=8)`` or
    ``srcgrad.compile(fn)``; ``torch.compile``'s options (``mode=``,
    ``fullgraph=`` ...) are accepted and ignored.
    """
    def wrap(f: Callable) -> Any:
        if not callable(f):
            raise TypeError(f"srcgrad.compile expects a function, a method or a module to compile, not a "
                            f"{type(f).__name__}")
        if not hasattr(f, "__code__"):  # torch.compile(model): compile its calls
            compiled = CompiledFunction(_calls_of(f), cache_size=cache_size, recompile_warning=recompile_warning,
                                        static_argnums=static_argnums)
            from .nn.modules.module import Module
            if isinstance(f, Module):  # (a Module still, as PyTorch's OptimizedModule)
                from .compiled_module import OptimizedModule
                return OptimizedModule(f, compiled)
            return compiled
        return CompiledFunction(f, cache_size=cache_size, recompile_warning=recompile_warning,
                                static_argnums=static_argnums)

    return wrap if fn is None else wrap(fn)


def _calls_of(obj: Any) -> Callable:
    """A function calling ``obj`` (a module, any callable object), to compile like any other."""
    def call(*args: Any, **kwargs: Any) -> Any:
        return obj(*args, **kwargs)

    call.__name__ = call.__qualname__ = type(obj).__name__
    return call


def show(fn: Any) -> str:
    """The generated source of a compiled or transformed function (Tangent's ``verbose=1``)."""
    if isinstance(fn, CompiledFunction) or type(fn).__name__ == "OptimizedModule":
        return fn.source
    inner = getattr(fn, "srcgrad_source", None)
    if inner is not None:
        return inner()
    raise TypeError("srcgrad.show expects a function made by srcgrad.compile, srcgrad.grad or value_and_grad")
