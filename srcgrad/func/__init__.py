"""``srcgrad.func``: PyTorch's ``torch.func`` function transforms (``vmap``, ``grad``,
``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``) and
``functional_call``, built on srcgrad's recorder and its own derivative rules."""

from .batching import VmapValueError, vmap
from .stateless import functional_call, stack_module_state
from .transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functional_call",
           "stack_module_state",
           "VmapValueError"]
