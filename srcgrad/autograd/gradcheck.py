"""Finite-difference checks of srcgrad's gradients (float64, as ``torch.autograd.gradcheck``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

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


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_: Any) -> bool:
    """Compare srcgrad's gradients of ``func`` with central finite differences."""
    inputs = _as_tuple(inputs)
    for t in inputs:
        if isinstance(t, T.Tensor) and t.requires_grad and t.dtype.name != "float64":
            import warnings
            warnings.warn("Input #0 requires gradient and is not a double precision floating point. "
                          "This check will likely fail if all the inputs are not of double precision "
                          "floating point.", UserWarning, stacklevel=2)
    numeric = [j for j in _numerical_jacobian(func, inputs, eps) if j is not None]
    analytic = _analytical_jacobian(func, inputs)
    for k, (a, n) in enumerate(zip(analytic, numeric)):
        if not np.allclose(a, n, rtol=rtol, atol=atol):
            msg = (f"Jacobian mismatch for output 0 with respect to input {k},\nnumerical:{n}\n"
                   f"analytical:{a}\n")
            if raise_exception:
                raise GradcheckError(msg)
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
