"""Small helpers that generated programs call as ``sg.<name>`` (kept few and obvious)."""

from __future__ import annotations

import jax.numpy as jnp


def scatter_add_along(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int) -> jnp.ndarray:
    """``torch.scatter_add(base, dim, index, src)``: add ``src`` into ``base`` at ``index`` along ``dim``."""
    idx = list(jnp.indices(index.shape, sparse=True))
    idx[dim] = index
    return base.at[tuple(idx)].add(src[tuple(slice(0, s) for s in index.shape)])


def _nll_weights(target: jnp.ndarray, weight: jnp.ndarray | None, ignore_index: int,
                 dtype: jnp.dtype) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The class index of each target (0 where ignored) and its weight (0 where ignored)."""
    valid = target != ignore_index
    safe = jnp.where(valid, target, 0)
    w = valid.astype(dtype) if weight is None else jnp.where(valid, weight[safe], 0).astype(dtype)
    return safe, w


def nll_loss(logp: jnp.ndarray, target: jnp.ndarray, weight: jnp.ndarray | None, ignore_index: int,
             reduction: str) -> jnp.ndarray:
    """``torch.nn.functional.nll_loss`` over class dim 1: ``-logp[n, target[n]] * weight[target[n]]``,
    summed, or divided by the total weight of the targets not ignored (``"mean"``)."""
    safe, w = _nll_weights(target, weight, ignore_index, logp.dtype)
    losses = -jnp.take_along_axis(logp, safe[:, None], axis=1)[:, 0] * w
    if reduction == "none":
        return losses
    return losses.sum() / w.sum() if reduction == "mean" else losses.sum()


def nll_loss_backward(g: jnp.ndarray, target: jnp.ndarray, weight: jnp.ndarray | None, ignore_index: int,
                      reduction: str, classes: int) -> jnp.ndarray:
    """The gradient of ``nll_loss`` for its input: ``-g * weight`` at each target's class, 0 elsewhere."""
    safe, w = _nll_weights(target, weight, ignore_index, g.dtype)
    # (targets that weigh nothing get 0, not 0/0, when every target is ignored: as PyTorch)
    scale = jnp.where(w == 0, 0, -g * w / w.sum()) if reduction == "mean" else -g * w
    classes_along_1 = jnp.arange(classes).reshape((1, classes) + (1,) * (target.ndim - 1))
    return jnp.where(safe[:, None] == classes_along_1, scale[:, None], 0).astype(g.dtype)
