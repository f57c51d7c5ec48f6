"""Small helpers that generated programs call as ``sg.<name>`` (kept few and obvious)."""

from __future__ import annotations

import jax.numpy as jnp


def scatter_add_along(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int) -> jnp.ndarray:
    """``torch.scatter_add(base, dim, index, src)``: add ``src`` into ``base`` at ``index`` along ``dim``."""
    idx = list(jnp.indices(index.shape, sparse=True))
    idx[dim] = index
    return base.at[tuple(idx)].add(src[tuple(slice(0, s) for s in index.shape)])
