"""``torch.func.functional_call`` and ``stack_module_state``: call a module with
parameters and buffers given by the caller, the way ``grad``, ``vmap`` and model
ensembling need it (``functional_call(model, params, (x,))`` inside a transformed function)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ..tensor import Tensor, stack

__all__ = ["functional_call", "stack_module_state", "replace_all_batch_norm_modules_"]

_MISSING = object()


def _merged(parameter_and_buffer_dicts: Any) -> dict:
    if isinstance(parameter_and_buffer_dicts, dict):
        return dict(parameter_and_buffer_dicts)
    if isinstance(parameter_and_buffer_dicts, (tuple, list)):
        merged: dict = {}
        for d in parameter_and_buffer_dicts:
            if not isinstance(d, dict):
                raise ValueError(f"Expected all elements of parameter_and_buffer_dicts to be dictionaries, got "
                                 f"{type(d).__name__}")
            for k, v in d.items():
                if k in merged:
                    raise ValueError(f"{k} appeared in multiple dictionaries; behavior of functional call is "
                                     "ambiguous")
                merged[k] = v
        return merged
    raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                     f"{type(parameter_and_buffer_dicts)}")


def _with_tied(module: Any, given: dict) -> dict:
    """``given`` plus the same tensor for every other name of a tied parameter or buffer
    (``tie_weights=True``), with PyTorch's error when tied names get different values."""
    groups: dict[int, list[str]] = {}
    for name, t in list(module.named_parameters(remove_duplicate=False)) + \
            list(module.named_buffers(remove_duplicate=False)):
        groups.setdefault(id(t), []).append(name)
    out = dict(given)
    for names in groups.values():
        if len(names) < 2:
            continue
        named = [n for n in names if n in given]
        if not named:
            continue
        values = {id(given[n]) for n in named}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(named)}, which are tied. "
                             "Consider using tie_weights=False")
        for n in names:
            out.setdefault(n, given[named[0]])
    return out


@contextlib.contextmanager
def _reparametrized(module: Any, tensors: dict, write_back: dict | None = None) -> Iterator[None]:
    """Put ``tensors`` in place of the named parameters, buffers or attributes for the
    duration (written into the modules' tables directly: a plain tensor may stand in for
    a Parameter), and put the originals back afterwards, also on error. What the module
    holds under each name of ``write_back`` at the end goes into that dict, as PyTorch
    does, so that a module that reassigns a buffer (``self.foo = self.foo + 1``) hands the
    new value back to the caller's dict."""
    saved: list[tuple[str, dict, str, Any]] = []
    try:
        for name, t in tensors.items():
            prefix, _, attr = name.rpartition(".")
            mod = module.get_submodule(prefix)
            for table in (mod.__dict__["_parameters"], mod.__dict__["_buffers"]):
                if attr in table:
                    saved.append((name, table, attr, table[attr]))
                    table[attr] = t
                    break
            else:
                saved.append((name, mod.__dict__, attr, mod.__dict__.get(attr, _MISSING)))
                mod.__dict__[attr] = t
        yield
    finally:
        final = {}
        for name, table, attr, old in reversed(saved):
            final.setdefault(name, table.get(attr, _MISSING))
            if old is _MISSING:
                table.pop(attr, None)
            else:
                table[attr] = old
        if write_back is not None:
            write_back.update({k: v for k, v in final.items() if k in write_back and v is not _MISSING})


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: dict | None = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """``torch.func.functional_call``: ``module(*args, **kwargs)`` with its parameters and
    buffers replaced by the given tensors (a dict by dotted name, or a tuple of dicts).
    Names left out keep the module's own tensors (``strict=True``: every one must be given).
    As in PyTorch, a single dict gets back what the module holds under its names at the end
    (a buffer the module reassigned); the dicts of a tuple are merged into a new one first,
    so they keep their tensors."""
    given = _merged(parameter_and_buffer_dicts)
    tensors = _with_tied(module, given) if tie_weights else given
    if strict:
        names = {n for n, _ in module.named_parameters(remove_duplicate=False)} | \
                {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(names - set(tensors)), sorted(set(given) - names)
        if missing or unexpected:
            lines = []
            if unexpected:
                lines.append("Unexpected key(s): " + ", ".join(repr(k) for k in unexpected) + ".")
            if missing:
                lines.append("Missing key(s): " + ", ".join(repr(k) for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(lines))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    write_back = parameter_and_buffer_dicts if isinstance(parameter_and_buffer_dicts, dict) else None
    with _reparametrized(module, tensors, write_back):
        return module(*args, **(kwargs or {}))


def replace_all_batch_norm_modules_(root: Any) -> Any:
    """``torch.func.replace_all_batch_norm_modules_``: every BatchNorm module of ``root`` (itself
    included) that tracks running statistics stops doing so, in place: ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` become None and ``track_running_stats``
    False, so that it normalises by the batch's statistics and has nothing to update in
    place under ``vmap``. Returns ``root``."""
    from ..nn.modules.batchnorm import _BatchNorm
    for m in root.modules():  # (root first)
        if isinstance(m, _BatchNorm) and m.track_running_stats:
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def stack_module_state(models: Any) -> tuple[dict, dict]:
    """``torch.func.stack_module_state``: the parameters and buffers of same-class models,
    stacked along a new first dim (for ``vmap`` over an ensemble). Stacked parameters are
    new leaves that require grad when the models' parameters do."""
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors: tuple, name: str) -> Tensor:
        grads = {t.requires_grad for t in tensors}
        if len(grads) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        out = stack(list(tensors))
        return out.detach().requires_grad_() if grads == {True} else out

    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: stacked(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    buffers = {k: stacked(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers
