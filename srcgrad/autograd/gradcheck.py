"""Finite-difference checks of srcgrad's gradients (float64, as ``torch.autograd.gradcheck``)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import dtypes as D
from .. import tensor as T
from ..autodiff import grad


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _numerical_jacobian(fn: Callable, inputs: Sequence[T.Tensor], eps: float) -> list[np.ndarray]:
    """d(outputs flattened)/d(each input flattened) by central differences."""
    base = [np.array(t.detach().numpy(), dtype=np.float64) for t in inputs]
    jacs = []
    for k, t in enumerate(inputs):
        if not (isinstance(t, T.Tensor) and t.requires_grad):
            jacs.append(None)
            continue
        cols = []
        for j in range(base[k].size):
            vals = []
            for sign in (1, -1):
                pert = [b.copy() for b in base]
                pert[k].reshape(-1)[j] += sign * eps
                args = [T.tensor(p, dtype=inp.dtype, requires_grad=inp.requires_grad) if isinstance(inp, T.Tensor)
                        else inp for p, inp in zip(pert, inputs)]
                outs = _as_tuple(fn(*args))
                vals.append(np.concatenate([np.asarray(o.detach().numpy(), np.float64).reshape(-1) for o in outs]))
            cols.append((vals[0] - vals[1]) / (2 * eps))
        jacs.append(np.stack(cols, axis=1) if cols else np.zeros((0, 0)))
    return jacs


def _analytical_jacobian(fn: Callable, inputs: Sequence[T.Tensor]) -> list[np.ndarray]:
    outs = _as_tuple(fn(*inputs))
    sizes = [o.numel() for o in outs]
    total = sum(sizes)
    diff = [t for t in inputs if isinstance(t, T.Tensor) and t.requires_grad]
    rows: list[list[np.ndarray]] = [[] for _ in diff]
    for r in range(total):
        gos = []
        off = 0
        for o, s in zip(outs, sizes):
            e = np.zeros(s)
            if off <= r < off + s:
                e[r - off] = 1.0
            gos.append(T.tensor(e.reshape(o.shape), dtype=o.dtype))
            off += s
        pairs = [(o, g) for o, g in zip(outs, gos) if o.requires_grad]
        gs = grad([p[0] for p in pairs], diff, [p[1] for p in pairs], retain_graph=True, allow_unused=True) \
            if pairs else [None] * len(diff)
        for i, g in enumerate(gs):
            rows[i].append(np.zeros(diff[i].numel()) if g is None else
                           np.asarray(g.detach().numpy(), np.float64).reshape(-1))
    return [np.stack(r, axis=0) if r else np.zeros((0, 0)) for r in rows]


def _forward_jacobian(fn: Callable, inputs: Sequence[Any]) -> list[np.ndarray]:
    """d(outputs flattened)/d(each input flattened) by forward mode: one dual-tensor call per
    input element, with that element's unit tangent."""
    from . import forward_ad as fwad
    jacs = []
    for k, t in enumerate(inputs):
        if not (isinstance(t, T.Tensor) and t.requires_grad):
            continue
        cols = []
        for j in range(t.numel()):
            unit = np.zeros(t.numel())
            unit[j] = 1.0
            with fwad.dual_level():
                args = list(inputs)
                args[k] = fwad.make_dual(t.detach(), T.tensor(unit.reshape(t.shape), dtype=t.dtype))
                outs = _as_tuple(fn(*args))
                tangents = [fwad.unpack_dual(o).tangent for o in outs]
                cols.append(np.concatenate([np.zeros(o.numel()) if tg is None else
                                            np.asarray(tg.detach().numpy(), np.float64).reshape(-1)
                                            for o, tg in zip(outs, tangents)]))
        jacs.append(np.stack(cols, axis=1) if cols else np.zeros((0, 0)))
    return jacs


def _as_printed_tensor(a: np.ndarray) -> T.Tensor:
    return T.tensor(np.asarray(a, np.float64), dtype=D.float64)


def _check_backward_mul_by_grad_output(func: Callable, inputs: Sequence[Any]) -> None:
    """PyTorch's check that the backward is multiplied by grad_output: zero output gradients must
    give zero input gradients of the input's dtype and size."""
    diff = [t for t in inputs if isinstance(t, T.Tensor) and t.requires_grad]
    outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, T.Tensor) and o.requires_grad]
    if not outs:
        return
    gis = grad(outs, diff, [T.zeros_like(o) for o in outs], allow_unused=True)
    for gi, di in zip(gis, diff):
        if gi is None:
            continue
        if not bool((gi == 0).all()):
            raise GradcheckError("backward not multiplied by grad_output")
        if gi.dtype != di.dtype:
            raise GradcheckError("grad is incorrect type")
        if gi.size() != di.size():
            raise GradcheckError("grad is incorrect size")


def _check_undefined_grad(func: Callable, inputs: Sequence[Any]) -> None:
    """PyTorch's ``check_undefined_grad``: with every output gradient undefined (srcgrad: zero),
    the input gradients must be undefined or zero."""
    diff = [t for t in inputs if isinstance(t, T.Tensor) and t.requires_grad]
    outs = [o for o in _as_tuple(func(*inputs)) if isinstance(o, T.Tensor) and o.requires_grad]
    if not outs:
        return

    def warn_bc_breaking() -> None:
        warnings.warn("Backwards compatibility: New undefined gradient support checking "
                      "feature is enabled by default, but it may break existing callers "
                      "of this function. If this is true for you, you can call this "
                      'function with "check_undefined_grad=False" to disable the feature', stacklevel=4)

    try:
        gis = grad(outs, diff, [T.zeros_like(o) for o in outs], allow_unused=True)
    except RuntimeError as e:
        warn_bc_breaking()
        raise GradcheckError('Expected backward function to handle undefined output grads. Please look at '
                             '"Notes about undefined output gradients" in "tools/autograd/derivatives.yaml"') from e
    for gi in gis:
        if gi is not None and not bool((gi == 0).all()):
            warn_bc_breaking()
            raise GradcheckError("Expected all input grads to be undefined or zero when all output grads are "
                                 'undefined or zero. Please look at "Notes about undefined output gradients" in '
                                 '"tools/autograd/derivatives.yaml"')


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, check_undefined_grad: bool = True, check_backward_ad: bool = True,
              check_forward_ad: bool = False, **_: Any) -> bool:
    """Compare srcgrad's gradients of ``func`` with central finite differences: the reverse-mode
    Jacobian (``check_backward_ad``) and, with ``check_forward_ad``, the forward-mode one
    (``autograd.forward_ad``: a custom Function's ``jvp``)."""
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    inputs = _as_tuple(inputs)
    any_requires_grad = False
    for idx, t in enumerate(inputs):
        if isinstance(t, T.Tensor) and t.requires_grad:
            any_requires_grad = True
            if t.dtype.name not in ("float64", "complex128"):
                warnings.warn(f"Input #{idx} requires gradient and is not a double precision floating point or "
                              "complex. This check will likely fail if all the inputs are not of double precision "
                              "floating point or complex. ", UserWarning, stacklevel=2)
    if not any_requires_grad:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, "
                         "but none of them have requires_grad=True.")
    try:
        numeric = [j for j in _numerical_jacobian(func, inputs, eps) if j is not None]
        if check_backward_ad:
            analytic = _analytical_jacobian(func, inputs)
            for k, (a, n) in enumerate(zip(analytic, numeric)):
                if not np.allclose(a, n, rtol=rtol, atol=atol):
                    raise GradcheckError(f"Jacobian mismatch for output 0 with respect to input {k},\n"
                                         f"numerical:{_as_printed_tensor(n)}\nanalytical:{_as_printed_tensor(a)}\n")
            _check_backward_mul_by_grad_output(func, inputs)
            if check_undefined_grad:
                _check_undefined_grad(func, inputs)
        if check_forward_ad:
            for k, (a, n) in enumerate(zip(_forward_jacobian(func, inputs), numeric)):
                if not np.allclose(a, n, rtol=rtol, atol=atol):
                    raise GradcheckError(f"Jacobian computed with forward mode mismatch for output 0 with respect "
                                         f"to input {k},\nnumerical:{_as_printed_tensor(n)}\n"
                                         f"analytical:{_as_printed_tensor(a)}\n")
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func: Callable, inputs: Any, grad_outputs: Any = None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True, **_: Any) -> bool:
    """gradcheck of the first derivative: checks second derivatives (``create_graph=True``)."""
    inputs = _as_tuple(inputs)
    outs = _as_tuple(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(T.tensor(rng.standard_normal(o.shape), dtype=o.dtype) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, T.Tensor) and t.requires_grad]

    def first_derivative(*args: Any) -> tuple:
        outs = _as_tuple(func(*args))
        gs = grad(outs, [args[i] for i in diff_idx], grad_outputs, create_graph=True, allow_unused=True)
        return tuple(g if g is not None else T.zeros_like(args[i]) for g, i in zip(gs, diff_idx))

    return gradcheck(first_derivative, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
