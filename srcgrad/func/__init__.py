"""``srcgrad.func``: PyTorch's ``torch.func`` function transforms (``vmap``, ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``linearize``, ``jacrev``, ``jacfwd``, ``hessian``),
``functional_call`` and its helpers, built on srcgrad's recorder and its own derivative
rules."""

from .batching import VmapValueError, vmap
from .stateless import functional_call, replace_all_batch_norm_modules_, stack_module_state
from .transforms import (
    debug_unwrap,
    functionalize,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    linearize,
    vjp,
)

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "linearize", "jacrev", "jacfwd", "hessian",
           "functionalize", "functional_call", "stack_module_state", "replace_all_batch_norm_modules_",
           "debug_unwrap", "VmapValueError"]
