"""Grad mode: whether new ops are recorded for autograd (thread-local, as in PyTorch)."""

from __future__ import annotations

import bisect
import functools
import inspect
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from . import ir

F = TypeVar("F", bound=Callable[..., Any])


class _State(threading.local):
    enabled = True


_state = _State()


def is_grad_enabled() -> bool:
    """True when ops on tensors that require grad are recorded for backward."""
    return _state.enabled


class _GradModeContext:
    """Base of the grad-mode switches: usable as ``with`` block and as decorator,
    with or without parentheses (``@no_grad()`` and ``@no_grad``, as PyTorch 2)."""

    _mode: bool

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if cls is not set_grad_enabled and len(args) == 1 and not kwargs and callable(args[0]) \
                and not isinstance(args[0], bool):
            return cls()(args[0])  # used as a bare decorator: `@no_grad`
        return super().__new__(cls)

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        fn = _check_decorated(fn)
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(self.clone, fn)  # type: ignore[return-value]
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            prev = _state.enabled
            _state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                _state.enabled = prev

        return wrapper  # type: ignore[return-value]

    def clone(self) -> Any:
        """A fresh context manager with the same setting (PyTorch copies decorators with it)."""
        return self.__class__()


def _check_decorated(fn: Any) -> Any:
    """PyTorch's FutureWarning when a grad-mode decorator is put on a class."""
    if inspect.isclass(fn):
        warnings.warn(
            "Decorating classes is deprecated and will be disabled in "
            "future versions. You should only decorate functions or methods. "
            "To preserve the current behavior of class decoration, you can "
            "directly decorate the `__init__` method and nothing else.",
            FutureWarning,
            stacklevel=3,
        )
        cls = fn
        return lambda *args, **kwargs: cls(*args, **kwargs)
    return fn


def _wrap_generator(ctx_factory: Callable[[], Any], func: Callable) -> Callable:
    """Wrap a generator function so that a fresh ``ctx_factory()`` context is active around each
    ``next``/``send``/``throw``/``close`` of the generator, and not in between
    (``torch.utils._contextlib._wrap_generator``)."""

    @functools.wraps(func)
    def generator_context(*args: Any, **kwargs: Any) -> Any:
        gen = func(*args, **kwargs)
        try:
            with ctx_factory():
                response = gen.send(None)
            while True:
                try:
                    request = yield response
                except GeneratorExit:
                    with ctx_factory():
                        gen.close()
                    raise
                except BaseException:
                    with ctx_factory():
                        response = gen.throw(*sys.exc_info())
                else:
                    with ctx_factory():
                        response = gen.send(request)
        except StopIteration as e:
            return e.value

    return generator_context


class no_grad(_GradModeContext):  # noqa: N801 - the PyTorch name
    """Disable gradient recording: ``with no_grad():`` or ``@no_grad()``."""

    _mode = False


class enable_grad(_GradModeContext):  # noqa: N801
    """Enable gradient recording inside a ``no_grad`` region."""

    _mode = True


class set_grad_enabled(_GradModeContext):  # noqa: N801
    """``set_grad_enabled(False)`` switches at once; also usable as a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __enter__(self) -> None:
        pass  # already switched in __init__, as torch.set_grad_enabled does

    def __exit__(self, *exc: object) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: F) -> F:
        # As a decorator it only applies inside the function: undo the switch made in __init__.
        _state.enabled = self._prev
        return super().__call__(fn)

    def clone(self) -> set_grad_enabled:
        return self.__class__(self._mode)


# Inference mode marks the stretches of node ids recorded while it is on
# (``Tensor.is_inference()``): alternating start and end ids, an odd length while the
# last stretch is still open. Nothing on the recording path changes: ids are counted anyway.
_inference_bounds: list[int] = []


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (and False inside ``inference_mode(False)``)."""
    return len(_inference_bounds) % 2 == 1


def _set_inference(flag: bool) -> None:
    if flag != is_inference_mode_enabled():
        if not _inference_bounds:  # the first inference tensors: from now on, ops check what they save
            sys.modules["srcgrad.tensor"].ON_RECORD.append(_refuse_saving_inference_tensors)
        at = ir._next_id()
        if flag and _inference_bounds and _inference_bounds[-1] >= at - 1:
            _inference_bounds.pop()  # nothing recorded since the last stretch ended: extend it (a loop of blocks)
        else:
            _inference_bounds.append(at)


def is_inference_node(node: Any) -> bool:
    """Whether ``node`` was recorded in inference mode."""
    return bisect.bisect_right(_inference_bounds, node.id) % 2 == 1


INFERENCE_SAVED = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
                   "mode in computation tracked by autograd. To work around this, you can make a clone to get a "
                   "normal tensor and use it in autograd, or use `torch.no_grad()` instead of "
                   "`torch.inference_mode()`.")
INFERENCE_INPLACE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone "
                     "to get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 "
                     "for more details.")
INFERENCE_REQUIRES_GRAD = "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed."


def _refuse_saving_inference_tensors(out: Any, args: tuple) -> None:
    """PyTorch's rule: an op recorded for autograd may read an inference tensor, but not save it
    for its backward (an op's saved values: ``autodiff.saved_positions``)."""
    if len(_inference_bounds) % 2:  # (inside inference mode itself: srcgrad's enable_grad records there)
        return
    from .autodiff import saved_positions
    n = out._node
    for p in saved_positions(n):
        saved = n if p < 0 else n.inputs[p]
        if saved.op not in ("const", "scalar") and is_inference_node(saved):
            raise RuntimeError(INFERENCE_SAVED)


class inference_mode(no_grad):  # noqa: N801
    """``no_grad`` whose tensors report ``is_inference()``; ``inference_mode(False)`` turns it off
    inside an inference-mode region (process-wide, not per thread). ``with`` block or decorator."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = not mode
        self._inference = bool(mode)

    def __enter__(self) -> None:
        super().__enter__()
        self._prev_inference = is_inference_mode_enabled()
        _set_inference(self._inference)

    def __exit__(self, *exc: object) -> None:
        _set_inference(self._prev_inference)
        super().__exit__(*exc)

    def clone(self) -> inference_mode:
        return self.__class__(self._inference)

    def __call__(self, fn: F) -> F:
        fn = _check_decorated(fn)
        inference = self._inference
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(lambda: inference_mode(inference), fn)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(inference):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


_multithreading = [True]


def is_multithreading_enabled() -> bool:
    """Whether multithreaded backward is allowed (srcgrad's backward is one compiled program)."""
    return _multithreading[0]


class set_multithreading_enabled:  # noqa: N801
    """``torch.autograd.grad_mode.set_multithreading_enabled``: recorded, without effect on srcgrad,
    whose backward runs as one XLA program. Switches at once; also a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self.prev = _multithreading[0]
        self.mode = bool(mode)
        _multithreading[0] = self.mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        _multithreading[0] = self.prev

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)


# Anomaly detection (``torch.autograd.detect_anomaly``): process-wide flags, as in PyTorch.
class _AnomalyState:
    enabled = False
    check_nan = True


_anomaly = _AnomalyState()


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` / after ``set_detect_anomaly(True)``."""
    return _anomaly.enabled


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly mode raises when a backward function produces NaN (PyTorch's default: True)."""
    return _anomaly.check_nan


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """``torch.set_anomaly_enabled``: switch anomaly detection on or off. While it is on, each op
    recorded under grad keeps the traceback of its forward call, which a failing backward shows."""
    _anomaly.enabled = bool(enabled)
    _anomaly.check_nan = bool(check_nan)
    on_record = sys.modules["srcgrad.tensor"].ON_RECORD
    if _anomaly.enabled and _note_forward_trace not in on_record:
        on_record.append(_note_forward_trace)
    elif not _anomaly.enabled and _note_forward_trace in on_record:
        on_record.remove(_note_forward_trace)


_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _note_forward_trace(out: Any, args: tuple) -> None:
    note_forward_trace(out._node)


def note_forward_trace(node: Any) -> None:
    """Keep the user's frames of the call that records ``node`` (anomaly mode)."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_PKG_DIR)]
    node.stack = "".join(traceback.format_list(frames))
    node.special = True


def warn_forward_trace(node: Any, name: str) -> None:
    """Anomaly mode, as a backward function fails: PyTorch's warning with the traceback of the
    forward call that recorded it."""
    stack = getattr(node, "stack", None)
    if stack is not None:
        warnings.warn(f"Error detected in {name}. Traceback of forward call that caused the error:\n{stack}",
                      stacklevel=2)


def check_anomaly_nan(name: str, grads: Any) -> None:
    """The NaN check of anomaly mode, for the backward transformer to call after each backward
    function (``name`` is its grad_fn name, e.g. ``"SqrtBackward0"``; ``grads`` the gradients it
    returned, one per input, ``None`` allowed). Raises PyTorch's error for the first gradient
    holding a NaN. Realises the gradients, so it is a no-op unless anomaly mode is on (and while
    ``srcgrad.compile`` traces, where values are not known yet)."""
    if not (_anomaly.enabled and _anomaly.check_nan):
        return
    from . import tracing
    if getattr(tracing, "ACTIVE", None) is not None:
        return
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    for k, g in enumerate(grads):
        if g is None or not hasattr(g, "isnan") or not g.dtype.is_floating_point:
            continue
        prev = _state.enabled
        _state.enabled = False
        try:
            bad = bool(g.isnan().any().item())
        finally:
            _state.enabled = prev
        if bad:
            raise RuntimeError(f"Function '{name}' returned nan values in its {k}th output.")
