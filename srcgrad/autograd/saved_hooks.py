"""Hooks for saved tensors: ``torch.autograd.graph.saved_tensors_hooks`` and friends.

An op that needs some of its values for the backward (``x`` for ``sin``, the
output for ``exp``, each factor of a product whose other factor needs a gradient:
``autodiff.saved_positions``) *saves* them. Inside ``saved_tensors_hooks(pack,
unpack)``, ``pack(tensor)`` is called for each as the op is recorded, and what it
returns is kept on the op's IR node (``Node.packed``); the backward calls
``unpack(packed)`` and the op's derivative rule reads the tensor it returns
(``autodiff.transform``). ``ctx.save_for_backward`` of a custom Function is
packed and unpacked the same way. A graph with packed values always goes through
the transformer (a replayed backward would not call ``unpack``).

srcgrad computes lazily and fuses forward and backward into one program, so a
value is not freed by packing it away (``save_on_cpu`` saves no memory here); the
hooks are for what they let you observe and change, as in PyTorch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .. import tensor as T
from .. import tracing
from ..autodiff import saved_positions
from ..grad_mode import _state as _grad_state


class _ThreadHooks(threading.local):
    """This thread's hooks, as in PyTorch (each thread has its own)."""

    def __init__(self) -> None:
        self.stack: list[tuple[Callable, Callable]] = []  # innermost last
        self.disabled: list[str] = []  # the messages of disable_saved_tensors_hooks contexts, innermost last


_local = _ThreadHooks()
_threads_with_hooks = [0]  # while any thread has hooks on, record() calls _pack_saved (tensor.ON_RECORD)
_lock = threading.Lock()

_PACK_IN_PLACE = ("A saved tensor pack hook is modifying its input in place. Tensors provided as input to pack "
                  "hook cannot be modified by in-place operations as this can lead to unexpected side-effects. "
                  "Please open an issue if you need to perform in-place operations on the input to a pack hook.")


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within this context, ``pack_hook(tensor)`` is called for every tensor an op saves for
    the backward, and ``unpack_hook(packed)`` when the backward (or ``grad_fn._saved_*``)
    needs it again; ``unpack_hook`` must return a tensor. Nested contexts: the innermost wins."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        if _local.disabled:
            raise RuntimeError(_local.disabled[-1])
        _local.stack.append((self.pack_hook, self.unpack_hook))
        if len(_local.stack) == 1:
            with _lock:
                _threads_with_hooks[0] += 1
                if _threads_with_hooks[0] == 1:
                    T.ON_RECORD.append(_pack_saved)
        return self

    def __exit__(self, *exc: object) -> None:
        _local.stack.pop()
        if not _local.stack:
            with _lock:
                _threads_with_hooks[0] -= 1
                if _threads_with_hooks[0] == 0:
                    T.ON_RECORD.remove(_pack_saved)


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """Saved tensors are moved to the CPU when saved and back to their device when used."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor: Any) -> tuple:
            return tensor.device, tensor.cpu()

        def unpack_from_cpu(packed: tuple) -> Any:
            device, tensor = packed
            return tensor.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


class disable_saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """Within this context, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)``
    (for code whose saved values must not be redirected)."""

    def __init__(self, error_message: str) -> None:
        self.error_message = error_message

    def __enter__(self) -> None:
        if _local.stack:  # (PyTorch: hooks already on cannot be disabled)
            raise RuntimeError(self.error_message)
        _local.disabled.append(self.error_message)

    def __exit__(self, *exc: object) -> None:
        _local.disabled.pop()


def _pack(pack: Callable, tensor: Any) -> Any:
    version = tensor._version
    tracing.note_hook(pack)
    prev = _grad_state.enabled
    _grad_state.enabled = False  # (as PyTorch: a pack hook's own ops record no graph, and save nothing)
    try:
        packed = pack(tensor)
    finally:
        _grad_state.enabled = prev
    if tensor._version != version:
        raise RuntimeError(_PACK_IN_PLACE)
    return packed


def _pack_saved(out: Any, args: tuple) -> None:
    """``record`` calls this for each op recorded under grad while hooks are on: pack the
    tensors the op saves (its output ``out``, its tensor arguments ``args``)."""
    stack = _local.stack
    if not stack:  # (another thread's hooks are on)
        return
    pack, unpack = stack[-1]
    n = out._node
    entries = []
    for p in saved_positions(n):
        saved = out if p < 0 else args[p]
        # (a Python number, even one made a tensor on the way, is not saved as a tensor)
        if isinstance(saved, T.Tensor) and saved._node.op not in ("const", "scalar"):
            entries.append((p, _pack(pack, saved), unpack))
    if entries:
        n.packed = entries
        n.special = True


def unpack(packed: Any, unpack_hook: Callable) -> Any:
    """``unpack_hook(packed)``, which must be a tensor (PyTorch's TypeError otherwise)."""
    tracing.note_hook(unpack_hook)
    result = unpack_hook(packed)  # (in the backward's grad mode: create_graph's)
    if not isinstance(result, T.Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                        f"{type(result).__name__}")
    return result


def pack_ctx(ctx: Any) -> None:
    """A custom Function's ``save_for_backward`` tensors, packed when ``apply`` returns."""
    if _local.stack:
        pack, unpack_hook = _local.stack[-1]
        ctx._packed = [None if t is None else (_pack(pack, t), unpack_hook) for t in ctx._saved]


class SavedTensor:
    """``grad_fn._raw_saved_<name>``: one saved value, on which ``register_hooks(pack, unpack)``
    sets hooks for it alone (``pack`` runs now, ``unpack`` when the backward reads it)."""

    __slots__ = ("_node", "_pos")

    def __init__(self, node: Any, pos: int) -> None:
        self._node, self._pos = node, pos

    def register_hooks(self, pack_hook: Callable, unpack_hook: Callable) -> None:
        n = self._node
        if getattr(n, "freed", False):
            raise RuntimeError("Calling register_hooks on a saved tensor after it has been freed. Saved intermediate "
                               "values of the graph are freed when you call .backward() or autograd.grad(). Specify "
                               "retain_graph=True if you need to backward through the graph a second time or if you "
                               "need to access saved variables after calling backward.")
        entries = list(getattr(n, "packed", None) or ())
        if any(p == self._pos for p, _, _ in entries):
            raise RuntimeError("Calling register_hooks on a saved tensor whose hooks have already been set. "
                               "Hint: only one pair of hooks is allowed at a time.")
        value = (n if self._pos < 0 else n.inputs[self._pos])
        entries.append((self._pos, _pack(pack_hook, T.wrap(value).detach()), unpack_hook))
        n.packed = entries
        n.special = True
