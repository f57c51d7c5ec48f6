"""``srcgrad.compile(module)``: a Module whose calls are compiled (PyTorch's ``OptimizedModule``).

It holds the original module as its child ``_orig_mod`` (so ``parameters()``, ``train()``,
``to()`` and ``state_dict()`` act on it, the state dict's keys prefixed ``_orig_mod.`` as in
PyTorch) and reads any other attribute from it (``compiled.weight``, ``compiled.fc``); its
``forward`` is the compiled function that calls the original module, hooks included.
"""

from __future__ import annotations

from typing import Any

from .compiled import CompiledFunction
from .nn.modules.module import Module


class OptimizedModule(Module):
    """The module ``srcgrad.compile(module)`` returns."""

    def __init__(self, mod: Module, compiled: CompiledFunction) -> None:
        super().__init__()
        self._orig_mod = mod
        self.forward = compiled

    def __getattr__(self, name: str) -> Any:
        modules = self.__dict__.get("_modules")
        if modules is None or "_orig_mod" not in modules:
            return super().__getattr__(name)
        if name == "_orig_mod":
            return modules["_orig_mod"]
        return getattr(modules["_orig_mod"], name)

    # the compiled function's inspection (see srcgrad.compile)

    @property
    def source(self) -> str:
        """The generated source of the most recently used program."""
        return self.forward.source

    def cache_info(self) -> dict:
        return self.forward.cache_info()
