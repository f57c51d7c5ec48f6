"""Small helpers that generated programs call as ``sg.<name>`` (kept few and obvious)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np


def scatter_add_along(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int) -> jnp.ndarray:
    """``torch.scatter_add(base, dim, index, src)``: add ``src`` into ``base`` at ``index`` along ``dim``."""
    idx = list(jnp.indices(index.shape, sparse=True))
    idx[dim] = index
    return base.at[tuple(idx)].add(src[tuple(slice(0, s) for s in index.shape)])


def from_bool(mask: jnp.ndarray, dtype: jnp.dtype) -> jnp.ndarray:
    """A bool array as 0 and 1 of a float ``dtype``, opaque to XLA's rewrite of ``float(mask) * x`` into a
    select: PyTorch multiplies, so ``x * mask`` keeps the NaN and infinities of ``x`` where ``mask`` is False
    and ``mask * -1.0`` is ``-0.`` there."""
    return jnp.where(mask, jnp.ones((), dtype), jnp.zeros((), dtype))


def float_to_int(x: jnp.ndarray, dtype: jnp.dtype) -> jnp.ndarray:
    """Floats to integers as PyTorch converts them on the CPU (XLA saturates instead): to ``uint8`` through
    ``int64`` (c10's cast, so -3.0 gives 253), to ``int8``/``int16`` through ``int32`` with the bits wrapped,
    and NaN or an out-of-range value to ``int32``/``int64`` gives the type's minimum (x86's conversion)."""
    dtype = jnp.dtype(dtype)
    if dtype == jnp.uint8:
        return x.astype(jnp.int64).astype(jnp.uint8)
    if dtype.itemsize < 4:
        return float_to_int(x, jnp.int32).astype(dtype)
    lowest = jnp.iinfo(dtype).min
    inside = (x >= lowest) & (x < -float(lowest))
    return jnp.where(inside, x.astype(dtype), jnp.asarray(lowest, dtype))


def sign(x: jnp.ndarray) -> jnp.ndarray:
    """PyTorch's sign: (x > 0) - (x < 0), so 0 for NaN and +0 for -0 (jnp.sign keeps both); a bool
    is its own sign."""
    if x.dtype == jnp.bool_:
        return x
    return (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)


def xlogy(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """``torch.xlogy``: ``x * log(y)``, 0 where ``x == 0`` unless ``y`` is NaN."""
    return jnp.where((x == 0) & ~jnp.isnan(y), jnp.zeros((), jnp.result_type(x, y)), x * jnp.log(y))


def vector_norm(x: jnp.ndarray, ord: float, axis: tuple, keepdims: bool) -> jnp.ndarray:
    """``torch.linalg.vector_norm`` of any order over ``axis``."""
    a = jnp.abs(x)
    if ord == float("inf"):
        return jnp.max(a, axis=axis, keepdims=keepdims)
    if ord == float("-inf"):
        return jnp.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return jnp.sum(a != 0, axis=axis, keepdims=keepdims).astype(x.dtype)
    if ord == 1:
        return jnp.sum(a, axis=axis, keepdims=keepdims)
    return jnp.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1 / ord)


def dist(x: jnp.ndarray, y: jnp.ndarray, p: float) -> jnp.ndarray:
    """``torch.dist``: the ``p``-norm of ``x - y`` over all elements."""
    d = x - y
    return vector_norm(d, p, tuple(range(d.ndim)), False)


def cdist(x1: jnp.ndarray, x2: jnp.ndarray) -> jnp.ndarray:
    """``torch.cdist`` with ``p=2``: the Euclidean distance of each row of ``x1`` to each row of ``x2``."""
    d = x1[..., :, None, :] - x2[..., None, :, :]
    return jnp.sqrt(jnp.sum(d * d, axis=-1))


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
    picked = jnp.take_along_axis(logp, safe[:, None], axis=1)[:, 0] * w
    if reduction == "none":
        return -picked
    total = 0.0 - picked.sum()  # (a sum from +0, as PyTorch's: one zero loss is 0., not -0.)
    return total / w.sum() if reduction == "mean" else total


def nll_loss_backward(g: jnp.ndarray, target: jnp.ndarray, weight: jnp.ndarray | None, ignore_index: int,
                      reduction: str, classes: int) -> jnp.ndarray:
    """The gradient of ``nll_loss`` for its input: ``-g * weight`` at each target's class, 0 elsewhere."""
    safe, w = _nll_weights(target, weight, ignore_index, g.dtype)
    # (targets that weigh nothing get 0, not 0/0, when every target is ignored: as PyTorch)
    scale = jnp.where(w == 0, 0, -g * w / w.sum()) if reduction == "mean" else -g * w
    classes_along_1 = jnp.arange(classes).reshape((1, classes) + (1,) * (target.ndim - 1))
    return jnp.where(safe[:, None] == classes_along_1, scale[:, None], 0).astype(g.dtype)


# ---------------------------------------------------------------------------
# pooling: the JAX side of the primitives declared in srcgrad/pooling.py. The pooled dims are
# the trailing len(kernel) dims; padding is one (lo, hi) pair per pooled dim. Max pooling finds each
# window's first maximum one kernel offset at a time (the "slab" of an offset holds that element of
# every window, shape (..., *out)), then scatters to / gathers from it by its flat index.

import itertools  # noqa: E402

from jax import lax  # noqa: E402


def _lowest(dtype: jnp.dtype) -> jnp.ndarray:
    """-inf for floats, the smallest value for integers: what max-pool padding holds."""
    if jnp.issubdtype(dtype, jnp.floating):
        return jnp.array(-jnp.inf, dtype)
    return jnp.array(jnp.iinfo(dtype).min, dtype)


def _offsets(kernel: tuple) -> list:
    """The kernel offsets of a window in row-major order (the order PyTorch scans a window in)."""
    return list(itertools.product(*[range(k) for k in kernel]))


def _pooled(size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> list:
    return [(n + lo + hi - d * (k - 1) - 1) // s + 1
            for n, k, s, (lo, hi), d in zip(size, kernel, stride, padding, dilation)]


def _slabs(x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
           fill: jnp.ndarray) -> list:
    """For each kernel offset, that element of every window of ``x`` (padded with ``fill``): (..., *out)."""
    n = len(kernel)
    lead = x.ndim - n
    xp = lax.pad(x, fill, [(0, 0, 0)] * lead + [(lo, hi, 0) for lo, hi in padding])
    out = _pooled(x.shape[lead:], kernel, stride, padding, dilation)
    slabs = []
    for offset in _offsets(kernel):
        start = [o * d for o, d in zip(offset, dilation)]
        limit = [b + s * (m - 1) + 1 for b, s, m in zip(start, stride, out)]
        slabs.append(lax.slice(xp, (0,) * lead + tuple(start), xp.shape[:lead] + tuple(limit), (1,) * lead + stride))
    return slabs


def _inside(size: tuple, out: list, offset: tuple, stride: tuple, padding: tuple, dilation: tuple) -> np.ndarray | None:
    """Which windows have their element at ``offset`` inside the input (not in padding): a boolean
    array broadcastable to (*out); None where all do."""
    n = len(size)
    inside = np.ones((1,) * n, bool)
    for i in range(n):
        pos = np.arange(out[i]) * stride[i] - padding[i][0] + offset[i] * dilation[i]
        inside = inside & ((pos >= 0) & (pos < size[i])).reshape((1,) * i + (-1,) + (1,) * (n - 1 - i))
    return None if inside.all() else inside


def _first_max(x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> jnp.ndarray:
    """The offset number (0..K-1, row-major) of the first largest element of each window, as PyTorch
    picks it: a later element must be strictly larger (ties go to the first), a NaN beats everything
    (so the last NaN of a window wins: PyTorch's ``val > maxval || isnan(val)``), and padding is never picked (a window of -inf picks its first element inside the input)."""
    n = len(kernel)
    size = x.shape[x.ndim - n:]
    out = _pooled(size, kernel, stride, padding, dilation)
    best = first = best_inside = None
    for k, (offset, slab) in enumerate(zip(_offsets(kernel), _slabs(x, kernel, stride, padding, dilation,
                                                                    _lowest(x.dtype)))):
        inside = _inside(size, out, offset, stride, padding, dilation)
        if best is None:
            best, first = slab, jnp.zeros(slab.shape, jnp.int32)
            best_inside = True if inside is None else jnp.asarray(inside)
            continue
        better = slab > best
        if jnp.issubdtype(x.dtype, jnp.floating):
            better = better | jnp.isnan(slab)
        if best_inside is not True:  # a tie with padding picked so far goes to this element
            better = better | ((slab == best) & ~best_inside)
        if inside is not None:
            better = better & inside
        if best_inside is not True:
            best_inside = best_inside | better
        best = jnp.where(better, slab, best)
        first = jnp.where(better, jnp.int32(k), first)
    return first


def max_pool(x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> jnp.ndarray:
    """The largest element of each window (padding holds -inf)."""
    lead = x.ndim - len(kernel)
    return lax.reduce_window(x, _lowest(x.dtype), lax.max, (1,) * lead + kernel, (1,) * lead + stride,
                             ((0, 0),) * lead + padding, window_dilation=(1,) * lead + dilation)


def _plane_index(first: jnp.ndarray, size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                 dilation: tuple) -> jnp.ndarray:
    """The flat index, within its plane (the pooled dims, of sizes ``size``), of the element at offset
    number ``first`` of each window."""
    n = len(kernel)
    offsets = jnp.array(_offsets(kernel), jnp.int64).reshape(-1, n)
    flat = jnp.zeros(first.shape, jnp.int64)
    for i in range(n):
        window = jnp.arange(first.shape[first.ndim - n + i], dtype=jnp.int64).reshape((-1,) + (1,) * (n - 1 - i))
        flat = flat * size[i] + window * stride[i] - padding[i][0] + offsets[first, i] * dilation[i]
    return flat


def _rows(x_shape: tuple, flat: jnp.ndarray, n: int) -> jnp.ndarray:
    """``flat`` (plane indices) as indices into ``x`` flattened: each plane is one row of the flat array."""
    plane = int(np.prod(x_shape[len(x_shape) - n:]))
    rows = int(np.prod(x_shape[:len(x_shape) - n]))
    windows = int(np.prod(flat.shape[flat.ndim - n:]))
    return (flat.reshape(rows, windows) + jnp.arange(rows, dtype=jnp.int64)[:, None] * plane).reshape(-1)


def max_pool_backward(g: jnp.ndarray, x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                      dilation: tuple) -> jnp.ndarray:
    """The gradient of ``max_pool`` for ``x``: each window's ``g`` added to the window's first maximum of
    ``x`` (overlapping windows add up)."""
    n = len(kernel)
    flat = _plane_index(_first_max(x, kernel, stride, padding, dilation), x.shape[x.ndim - n:], kernel, stride,
                        padding, dilation)
    return jnp.zeros(x.size, g.dtype).at[_rows(x.shape, flat, n)].add(g.reshape(-1)).reshape(x.shape)


def max_pool_select(h: jnp.ndarray, x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                    dilation: tuple) -> jnp.ndarray:
    """``h`` (shaped like ``x``) read at each window's first maximum of ``x``: the adjoint of
    ``max_pool_backward`` for its gradient argument."""
    n = len(kernel)
    flat = _plane_index(_first_max(x, kernel, stride, padding, dilation), x.shape[x.ndim - n:], kernel, stride,
                        padding, dilation)
    return h.reshape(-1)[_rows(x.shape, flat, n)].reshape(flat.shape)


def max_pool_indices(x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> jnp.ndarray:
    """PyTorch's ``return_indices``: the flat index, within its plane (the pooled dims), of each window's
    first maximum (int64)."""
    n = len(kernel)
    return _plane_index(_first_max(x, kernel, stride, padding, dilation), x.shape[x.ndim - n:], kernel, stride,
                        padding, dilation)


def pool_divisor(size: tuple, out: tuple, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
                 divisor_override: int | None) -> np.ndarray | int:
    """What ``avg_pool`` divides each window's sum by, as PyTorch counts it: the window's elements inside
    the input widened by ``count_pad`` (the padding, when ``count_include_pad``), or ``divisor_override``."""
    if divisor_override:
        return divisor_override
    div = np.ones(out, np.int64)
    for i, (n, m, k, s, (lo, _), (clo, chi)) in enumerate(zip(size, out, kernel, stride, padding, count_pad)):
        start = np.arange(m) * s - lo
        count = np.minimum(start + k, n + chi) - np.maximum(start, -clo)
        div = div * np.maximum(count, 1).reshape((-1,) + (1,) * (len(out) - 1 - i))
    return div


def avg_pool(x: jnp.ndarray, kernel: tuple, stride: tuple, padding: tuple, count_pad: tuple,
             divisor_override: int | None) -> jnp.ndarray:
    """Each window's sum (zero padding) divided by ``pool_divisor``."""
    lead = x.ndim - len(kernel)
    sums = lax.reduce_window(x, jnp.zeros((), x.dtype), lax.add, (1,) * lead + kernel, (1,) * lead + stride,
                             ((0, 0),) * lead + padding)
    div = pool_divisor(x.shape[lead:], sums.shape[lead:], kernel, stride, padding, count_pad, divisor_override)
    return sums / jnp.asarray(div, x.dtype)


def avg_pool_backward(g: jnp.ndarray, size: tuple, kernel: tuple, stride: tuple, padding: tuple,
                      count_pad: tuple, divisor_override: int | None) -> jnp.ndarray:
    """The adjoint of ``avg_pool``: each window's ``g / divisor`` added to every input element of the
    window. The windows' values are spaced ``stride`` apart (interior padding) and summed over a
    ``kernel``-sized window again; edge padding aligns them with the input (negative widths crop)."""
    n = len(kernel)
    lead = g.ndim - n
    out = g.shape[lead:]
    h = g / jnp.asarray(pool_divisor(size, out, kernel, stride, padding, count_pad, divisor_override), g.dtype)
    config = [(0, 0, 0)] * lead
    for length, m, k, s, (lo, _) in zip(size, out, kernel, stride, padding):
        config.append((k - 1 - lo, length + lo - (m - 1) * s - 1, s - 1))
    spaced = lax.pad(h, jnp.zeros((), g.dtype), config)
    return lax.reduce_window(spaced, jnp.zeros((), g.dtype), lax.add, (1,) * lead + kernel, (1,) * (lead + n),
                             ((0, 0),) * (lead + n))


def constant_pad(x: jnp.ndarray, pads: tuple, value: float) -> jnp.ndarray:
    """``x`` padded with ``value`` by one (lo, hi) pair per dim; negative widths crop."""
    return lax.pad(x, jnp.array(value, x.dtype), [(lo, hi, 0) for lo, hi in pads])


# ---------------------------------------------------------------------------
# special functions and diagonals


def lgamma(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.lgamma``: the log of the absolute value of the gamma function."""
    import jax.scipy.special as jss
    if x.dtype != jnp.float64:  # (XLA's float32 lgamma is 4.8e-07 at 1 and 2; PyTorch's is 0 there)
        return jss.gammaln(x.astype(jnp.float64)).astype(x.dtype)
    return jss.gammaln(x)


def digamma(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.digamma``; ``-inf`` at 0 and ``inf`` at -0 as PyTorch (NaN at the negative integers)."""
    import jax.scipy.special as jss
    return jnp.where(x == 0, jnp.copysign(jnp.asarray(jnp.inf, x.dtype), -x), jss.digamma(x))


def polygamma(n: int, x: jnp.ndarray) -> jnp.ndarray:
    """``torch.polygamma(n, x)``: the ``n``-th derivative of digamma."""
    import jax.scipy.special as jss
    if n == 0:
        return digamma(x)
    # at the poles (0, -1, -2, ...) PyTorch's (-1)^(n+1) n! zeta(n + 1, x) is +-inf; JAX's is NaN for even n
    pole = (x <= 0) & (x == jnp.floor(x))
    return jnp.where(pole, jnp.asarray(jnp.inf if n % 2 else -jnp.inf, x.dtype), jss.polygamma(n, x).astype(x.dtype))


def erfinv(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.erfinv``: the inverse error function on (-1, 1)."""
    import jax.scipy.special as jss
    return jss.erfinv(x)


def diag_embed(x: jnp.ndarray, offset: int, dim1: int, dim2: int, size1: int, size2: int) -> jnp.ndarray:
    """``x``'s last dim on the ``offset`` diagonal of (``size1``, ``size2``) planes placed at
    ``dim1``, ``dim2`` of the result; zeros elsewhere (the inverse of ``jnp.diagonal``)."""
    n = x.shape[-1]
    i = jnp.arange(n)
    out = jnp.zeros(x.shape[:-1] + (size1, size2), x.dtype)
    out = out.at[..., i + max(-offset, 0), i + max(offset, 0)].set(x)
    return jnp.moveaxis(out, (-2, -1), (dim1, dim2))


# ---------------------------------------------------------------------------
# scatters, linear algebra, searchsorted and histc


def _along(index: jnp.ndarray, dim: int) -> tuple:
    """The full index tuple addressing, along ``dim``, the positions ``index`` names."""
    idx = list(jnp.indices(index.shape, sparse=True))
    idx[dim] = index
    return tuple(idx)


def scatter_along(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int, reduce: str | None) -> jnp.ndarray:
    """``torch.scatter(base, dim, index, src, reduce=...)``: ``src`` (a tensor, read over ``index``'s
    shape, or a number) written, added (``"add"``) or multiplied (``"multiply"``) at ``index``."""
    if jnp.ndim(src):
        src = src[tuple(slice(0, s) for s in index.shape)]
    at = base.at[_along(index, dim)]
    if reduce == "add":
        return at.add(src)
    if reduce == "multiply":
        return at.multiply(src)
    return at.set(src)


def scatter_reduce(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int, reduce: str,
                   include_self: bool) -> jnp.ndarray:
    """``torch.scatter_reduce``: each position of ``base`` that ``index`` names reduced (sum, prod,
    mean, amax, amin) with the ``src`` elements sent to it, and with itself if ``include_self``."""
    src = src[tuple(slice(0, s) for s in index.shape)]
    idx = _along(index, dim)
    hit = jnp.zeros(base.shape, bool).at[idx].set(True)
    if reduce in ("sum", "mean"):
        start = base if include_self else jnp.where(hit, jnp.zeros((), base.dtype), base)
        out = start.at[idx].add(src)
        if reduce == "mean":
            count = jnp.zeros(base.shape, base.dtype).at[idx].add(jnp.ones((), base.dtype))
            count = count + 1 if include_self else jnp.where(count == 0, jnp.ones((), base.dtype), count)
            # (integers divide with floor, as PyTorch's)
            out = out // count if jnp.issubdtype(base.dtype, jnp.integer) else out / count
        return jnp.where(hit | include_self, out, base)
    if reduce == "prod":
        start = base if include_self else jnp.where(hit, jnp.ones((), base.dtype), base)
        return start.at[idx].multiply(src)
    big = jnp.inf if jnp.issubdtype(base.dtype, jnp.floating) else jnp.iinfo(base.dtype).max
    if reduce == "amax":
        start = base if include_self else jnp.where(hit, jnp.asarray(-big, base.dtype), base)
        return start.at[idx].max(src)
    start = base if include_self else jnp.where(hit, jnp.asarray(big, base.dtype), base)
    return start.at[idx].min(src)


def diagonal_scatter(x: jnp.ndarray, src: jnp.ndarray, offset: int, dim1: int, dim2: int) -> jnp.ndarray:
    """``torch.diagonal_scatter``: ``x`` with its ``offset`` diagonal over ``dim1``, ``dim2`` set to ``src``."""
    moved = jnp.moveaxis(x, (dim1, dim2), (-2, -1))
    i = jnp.arange(src.shape[-1])
    moved = moved.at[..., i + max(-offset, 0), i + max(offset, 0)].set(src)
    return jnp.moveaxis(moved, (-2, -1), (dim1, dim2))


def _batch_broadcast(a: jnp.ndarray, b: jnp.ndarray) -> tuple:
    batch = jnp.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(b, batch + b.shape[-2:])


def solve(a: jnp.ndarray, b: jnp.ndarray, vector: bool, left: bool = True) -> jnp.ndarray:
    """``torch.linalg.solve``: ``b`` a batch of vectors where ``vector``, else of matrices;
    X A = B where not ``left`` (A^T X^T = B^T)."""
    if vector:
        return solve(a, b[..., None], False)[..., 0]
    if not left:
        return jnp.swapaxes(solve(jnp.swapaxes(a, -1, -2), jnp.swapaxes(b, -1, -2), False), -1, -2)
    a, b = _batch_broadcast(a, b)
    return jnp.linalg.solve(a, b)


def solve_triangular(a: jnp.ndarray, b: jnp.ndarray, upper: bool, left: bool, unitriangular: bool) -> jnp.ndarray:
    """``torch.linalg.solve_triangular``: X with A X = B (``left``) or X A = B, A triangular."""
    from jax import lax as _lax
    a, b = _batch_broadcast(a, b)
    return _lax.linalg.triangular_solve(a, b, left_side=left, lower=not upper, unit_diagonal=unitriangular)


def slogdet_sign(a: jnp.ndarray) -> jnp.ndarray:
    return jnp.linalg.slogdet(a)[0]


def slogdet_logabs(a: jnp.ndarray) -> jnp.ndarray:
    return jnp.linalg.slogdet(a)[1]


def eigh(a: jnp.ndarray, upper: bool, part: int) -> jnp.ndarray:
    """``torch.linalg.eigh``: only the ``upper`` or the lower triangle of ``a`` is read, as LAPACK's."""
    return jnp.linalg.eigh(a, UPLO="U" if upper else "L", symmetrize_input=False)[part]


def svd(a: jnp.ndarray, part: int, full: bool) -> jnp.ndarray:
    """``torch.linalg.svd(a, full_matrices=full)``: U, S or Vh (``part``)."""
    if part == 1:
        return jnp.linalg.svd(a, full_matrices=False, compute_uv=False)
    return jnp.linalg.svd(a, full_matrices=full)[part]


def pinv(a: jnp.ndarray, atol: jnp.ndarray, rtol: jnp.ndarray, hermitian: bool) -> jnp.ndarray:
    """``torch.linalg.pinv``: singular values (eigenvalues' magnitudes where ``hermitian``, the lower
    triangle read) at most ``max(atol, rtol * largest)`` are dropped; the tolerances broadcast over
    the batch (and may widen it), as PyTorch's composite."""
    atol = jnp.asarray(atol)[..., None]
    rtol = jnp.asarray(rtol)[..., None]
    if hermitian:
        s, u = jnp.linalg.eigh(a, UPLO="L", symmetrize_input=False)
        big = jnp.abs(s)
        v, uh = u, jnp.swapaxes(u, -1, -2)
    else:
        u, s, vh = jnp.linalg.svd(a, full_matrices=False)
        big = s
        v, uh = jnp.swapaxes(vh, -1, -2), jnp.swapaxes(u, -1, -2)
    smax = jnp.max(big, axis=-1, keepdims=True) if big.shape[-1] else jnp.zeros(big.shape[:-1] + (1,), big.dtype)
    tol = jnp.maximum(atol, rtol * smax)
    safe = jnp.where(big > tol, s, jnp.ones((), s.dtype))
    s_inv = jnp.where(big > tol, 1 / safe, jnp.zeros((), s.dtype)).astype(a.dtype)
    return jnp.matmul(v * s_inv[..., None, :], uh).astype(a.dtype)


def lstsq(a: jnp.ndarray, b: jnp.ndarray, vector: bool) -> jnp.ndarray:
    """``torch.linalg.lstsq(a, b).solution``: the least-squares solution, as ``pinv(a) @ b``."""
    if vector:
        return lstsq(a, b[..., None], False)[..., 0]
    m, n = a.shape[-2:]
    return jnp.matmul(pinv(a, 0.0, max(m, n) * float(jnp.finfo(a.dtype).eps), False), b)


def qr(a: jnp.ndarray, part: int, mode: str) -> jnp.ndarray:
    """``torch.linalg.qr(a, mode)``'s Q (``part`` 0) or R; Q is empty where ``mode="r"``."""
    if mode == "r" and part == 0:
        return jnp.zeros((0,), a.dtype)
    return jnp.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")[part]


def _lu(a: jnp.ndarray) -> tuple:
    """LAPACK's getrf (partial pivoting) of each matrix: the packed factors, the 0-based row swaps
    and the permutation they make (``a[..., perm, :] = L U``)."""
    from jax import lax as _lax
    return _lax.linalg.lu(a)


def _perm_matrix(perm: jnp.ndarray, dtype: jnp.dtype) -> jnp.ndarray:
    """P with A = P L U: ``P[perm[i], i] = 1``."""
    m = perm.shape[-1]
    return jnp.swapaxes(perm[..., :, None] == jnp.arange(m), -1, -2).astype(dtype)


def _unpack_lu(lu: jnp.ndarray, part: int) -> jnp.ndarray:
    """L (``part`` 1: unit lower, m x k) or U (2: upper, k x n) from the packed factors."""
    m, n = lu.shape[-2:]
    k = min(m, n)
    if part == 1:
        return jnp.tril(lu[..., :, :k], -1) + jnp.eye(m, k, dtype=lu.dtype)
    return jnp.triu(lu[..., :k, :])


def linalg_lu(a: jnp.ndarray, part: int) -> jnp.ndarray:
    """``torch.linalg.lu``: P (``part`` 0), L (1) or U (2), A = P L U."""
    lu, _, perm = _lu(a)
    return _perm_matrix(perm, a.dtype) if part == 0 else _unpack_lu(lu, part)


def lu_factor(a: jnp.ndarray, part: int) -> jnp.ndarray:
    """``torch.linalg.lu_factor_ex``: the packed LU (``part`` 0), the 1-based int32 pivots (1) or
    LAPACK's info (2): the 1-based position of the first exact zero on U's diagonal, else 0."""
    lu, piv, _ = _lu(a)
    if part == 0:
        return lu
    if part == 1:
        return (piv + 1).astype(jnp.int32)
    zero = jnp.diagonal(lu, axis1=-2, axis2=-1) == 0
    first = jnp.argmax(zero, axis=-1)
    return jnp.where(jnp.any(zero, axis=-1), first + 1, 0).astype(jnp.int32)


def _pivots_to_perm(pivots: jnp.ndarray, m: int) -> jnp.ndarray:
    """The permutation that LAPACK's 1-based row swaps ``pivots`` make, over ``m`` rows."""
    from jax import lax as _lax
    return _lax.linalg.lu_pivots_to_permutation(pivots.astype(jnp.int32) - 1, m)


def lu_unpack(lu: jnp.ndarray, pivots: jnp.ndarray, part: int) -> jnp.ndarray:
    """``torch.lu_unpack``: P (``part`` 0, from the pivots), L (1) or U (2)."""
    if part == 0:
        return _perm_matrix(_pivots_to_perm(pivots, lu.shape[-2]), lu.dtype)
    return _unpack_lu(lu, part)


def lu_solve(lu: jnp.ndarray, pivots: jnp.ndarray, b: jnp.ndarray, left: bool, adjoint: bool) -> jnp.ndarray:
    """``torch.linalg.lu_solve``: X with A X = B, A^H X = B (``adjoint``), or X A = B, X A^H = B
    (not ``left``), A = P L U given packed as ``lu`` and ``pivots``; batches broadcast."""
    from jax import lax as _lax
    if not left:  # X A = B is A^H X^H = B^H
        return jnp.swapaxes(lu_solve(lu, pivots, jnp.swapaxes(b, -1, -2), True, not adjoint), -1, -2)
    batch = jnp.broadcast_shapes(lu.shape[:-2], b.shape[:-2])
    lu = jnp.broadcast_to(lu, batch + lu.shape[-2:])
    b = jnp.broadcast_to(b, batch + b.shape[-2:])
    perm = jnp.broadcast_to(_pivots_to_perm(pivots, lu.shape[-1]), batch + lu.shape[-1:])
    tri = _lax.linalg.triangular_solve
    if not adjoint:  # X = U^-1 L^-1 P^T B, and P^T B is B's rows in the order perm
        y = jnp.take_along_axis(b, perm[..., :, None], axis=-2)
        y = tri(lu, y, left_side=True, lower=True, unit_diagonal=True)
        return tri(lu, y, left_side=True, lower=False)
    # A^H X = B: X = P L^-H U^-H B
    y = tri(lu, b, left_side=True, lower=False, transpose_a=True)
    y = tri(lu, y, left_side=True, lower=True, unit_diagonal=True, transpose_a=True)
    return jnp.take_along_axis(y, jnp.argsort(perm, axis=-1)[..., :, None], axis=-2)


def median_all(x: jnp.ndarray, k: int) -> jnp.ndarray:
    """``torch.median()`` of all elements: the ``k``-th smallest, NaN where any element is (as PyTorch's)."""
    v = jnp.sort(jnp.ravel(x))[k]
    return jnp.where(jnp.isnan(x).any(), jnp.nan, v).astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.floating) else v


def matrix_exp(a: jnp.ndarray) -> jnp.ndarray:
    """``torch.linalg.matrix_exp``; float16/bfloat16 computed in float32 (JAX's ``expm`` has no such kernel)."""
    import jax.scipy.linalg as jsl
    if a.dtype in (jnp.float16, jnp.bfloat16):
        return jsl.expm(a.astype(jnp.float32)).astype(a.dtype)
    return jsl.expm(a)


def matrix_rank(a: jnp.ndarray, atol: float | None, rtol: float | None, hermitian: bool) -> jnp.ndarray:
    """``torch.linalg.matrix_rank``: the number of singular values above ``max(atol, rtol * s_max)``;
    ``rtol`` is ``max(m, n) * eps`` where neither is given, as PyTorch's."""
    m, n = a.shape[-2:]
    s = jnp.abs(eigh(a, False, 0)) if hermitian else jnp.linalg.svd(a, compute_uv=False)  # (the lower triangle)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(m, n) * float(jnp.finfo(a.dtype).eps)
    smax = jnp.max(s, axis=-1, keepdims=True) if s.shape[-1] else jnp.zeros(s.shape[:-1] + (1,), s.dtype)
    tol = jnp.maximum(atol or 0.0, rtol * smax)
    return jnp.sum(s > tol, axis=-1).astype(jnp.int64)


def searchsorted(seq: jnp.ndarray, values: jnp.ndarray, right: bool, dtype: jnp.dtype) -> jnp.ndarray:
    """``torch.searchsorted``: ``seq`` 1-D, or with leading dims matching ``values``'s."""
    import jax
    side = "right" if right else "left"
    if seq.ndim <= 1:
        return jnp.searchsorted(seq, values, side=side).astype(dtype)
    lead = seq.shape[:-1]
    flat = jax.vmap(lambda s, v: jnp.searchsorted(s, v, side=side))(
        seq.reshape((-1, seq.shape[-1])), values.reshape((-1, values.shape[-1])))
    return flat.reshape(lead + values.shape[-1:]).astype(dtype)


def histc(x: jnp.ndarray, bins: int, lo: float, hi: float) -> jnp.ndarray:
    """``torch.histc``: ``bins`` equal bins over [lo, hi] (the data's range where ``lo == hi``,
    widened by 1 each way where it is empty); elements outside are ignored, ``hi`` is in the last bin."""
    x = x.reshape(-1)
    lo_, hi_ = jnp.asarray(lo, x.dtype), jnp.asarray(hi, x.dtype)
    if lo == hi and x.size:  # (PyTorch's: any empty range, not only 0 and 0)
        lo_, hi_ = jnp.min(x), jnp.max(x)
    same = lo_ == hi_
    lo_, hi_ = jnp.where(same, lo_ - 1, lo_), jnp.where(same, hi_ + 1, hi_)
    pos = ((x - lo_) * bins / (hi_ - lo_)).astype(jnp.int64)
    pos = jnp.minimum(pos, bins - 1)  # (hi itself is in the last bin)
    inside = (x >= lo_) & (x <= hi_)
    return jnp.zeros(bins, x.dtype).at[jnp.where(inside, pos, bins)].add(jnp.ones((), x.dtype), mode="drop")


# ---------------------------------------------------------------------------
# torch.special: values as PyTorch's ATen/native/Math.h computes them (jax.scipy.special
# where its values agree, PyTorch's boundary cases around it). Half and bfloat16 compute in
# float32, as PyTorch's kernels do.


def _common(*xs: jnp.ndarray) -> list:
    """The inputs as arrays of their common dtype (a Python number as a constant takes the tensor's)."""
    dt = jnp.result_type(*xs)
    return [jnp.asarray(x, dt) for x in xs]


def _f32(f):  # noqa: ANN001, ANN202
    def g(*xs: jnp.ndarray) -> jnp.ndarray:
        xs = _common(*xs)
        dt = xs[0].dtype
        if dt in (jnp.float16, jnp.bfloat16):
            return f(*(x.astype(jnp.float32) for x in xs)).astype(dt)
        return f(*xs)
    g.__name__, g.__doc__ = f.__name__, f.__doc__
    return g


def _const(v: float, like: jnp.ndarray) -> jnp.ndarray:
    return jnp.asarray(v, like.dtype)


@_f32
def i0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.i0``: the modified Bessel function of the first kind, order 0."""
    import jax.scipy.special as jss
    return jss.i0(x)


@_f32
def i0e(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.i0e``: ``exp(-|x|) * i0(x)``."""
    import jax.scipy.special as jss
    return jss.i0e(x)


@_f32
def i1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.i1``: the modified Bessel function of the first kind, order 1."""
    import jax.scipy.special as jss
    return jss.i1(x)


@_f32
def i1e(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.i1e``: ``exp(-|x|) * i1(x)``."""
    import jax.scipy.special as jss
    return jss.i1e(x)


@_f32
def ndtri(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.ndtri``: the inverse of the standard normal CDF (``-inf`` at 0, ``inf`` at 1)."""
    import jax.scipy.special as jss
    return jss.ndtri(x)


@_f32
def erfc(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.erfc``: ``1 - erf(x)`` without the cancellation."""
    return lax.erfc(x)


@_f32
def erfcx(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.erfcx``: ``exp(x^2) * erfc(x)``."""
    import jax.scipy.special as jss
    return jss.erfcx(x)


@_f32
def log_ndtr(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.log_ndtr``: PyTorch's ``calc_log_ndtr``, ``log(erfcx(-t) / 2) - t^2`` below -1
    (t = x / sqrt(2)), ``log1p(-erfc(t) / 2)`` elsewhere."""
    t = x * _const(0.7071067811865476, x)
    low = jnp.log(erfcx(-jnp.minimum(t, 0)) / 2) - t * t  # (clamped: the branch not taken never overflows)
    return jnp.where(x < -1, low, jnp.log1p(-lax.erfc(t) / 2))


@_f32
def entr(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.entr``: ``-x log x``, 0 at 0, ``-inf`` below 0, NaN at NaN."""
    safe = jnp.where(x > 0, x, jnp.ones((), x.dtype))
    return jnp.where(x > 0, -x * jnp.log(safe),
                     jnp.where(x == 0, jnp.zeros((), x.dtype), jnp.where(x < 0, _const(-jnp.inf, x), x)))


@_f32
def xlog1py(x: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.xlog1py``: ``x * log1p(y)``, 0 where ``x == 0`` unless ``y`` is NaN."""
    return jnp.where((x == 0) & ~jnp.isnan(y), jnp.zeros((), jnp.result_type(x, y)), x * jnp.log1p(y))


@_f32
def zeta(x: jnp.ndarray, q: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.zeta``: the Hurwitz zeta function, with PyTorch's boundary cases (``inf`` at
    ``x == 1`` and at the non-positive integers ``q``, NaN for ``x < 1``)."""
    import jax.scipy.special as jss
    x, q = jnp.broadcast_arrays(x, q)
    inf, nan = _const(jnp.inf, x), _const(jnp.nan, x)
    q_pole = (q <= 0) & (q == jnp.floor(q))
    out = jss.zeta(x, jnp.where(q_pole, jnp.ones((), q.dtype), q))
    out = jnp.where(jnp.isinf(x) & (x > 0), jnp.where(q == 1, jnp.ones((), x.dtype), jnp.where(q < 1, inf, nan)), out)
    out = jnp.where((q <= 0) & (x != jnp.floor(x)), nan, out)
    out = jnp.where(q_pole, inf, out)
    return jnp.where(x == 1, inf, jnp.where(x < 1, nan, out))


def _igamma_bounds(a: jnp.ndarray, x: jnp.ndarray, series: jnp.ndarray, lower: bool) -> jnp.ndarray:
    """PyTorch's ``calc_igamma``/``calc_igammac`` boundary cases around ``series``."""
    one, zero, nan = _const(1.0, series), _const(0.0, series), _const(jnp.nan, series)
    hi, lo = (one, zero) if lower else (zero, one)  # the values at x = inf and at x = 0
    out = jnp.where(jnp.isinf(x), hi, series)
    out = jnp.where(jnp.isinf(a), jnp.where(jnp.isinf(x), nan, lo), out)
    out = jnp.where(x == 0, lo, out)
    out = jnp.where(a == 0, jnp.where(x > 0, hi, nan), out)
    return jnp.where((x < 0) | (a < 0), nan, out)


@_f32
def igamma(a: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """``torch.igamma``: the regularized lower incomplete gamma function P(a, x)."""
    import jax.scipy.special as jss
    a, x = jnp.broadcast_arrays(a, x)
    return _igamma_bounds(a, x, jss.gammainc(a, x), True)


@_f32
def igammac(a: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    """``torch.igammac``: the regularized upper incomplete gamma function Q(a, x)."""
    import jax.scipy.special as jss
    a, x = jnp.broadcast_arrays(a, x)
    return _igamma_bounds(a, x, jss.gammaincc(a, x), False)


def mvlgamma(x: jnp.ndarray, p: int) -> jnp.ndarray:
    """``torch.mvlgamma(x, p)``: ``sum_j lgamma(x - j / 2) + p (p - 1) / 4 log(pi)`` as PyTorch sums it
    (also where ``x <= (p - 1) / 2``, outside the function's domain: ``lgamma`` is ``log |Gamma|``)."""
    dt = x.dtype
    xf = x.astype(jnp.float32) if dt in (jnp.float16, jnp.bfloat16) else x
    args = jnp.arange(-p / 2 + 0.5, 0.5, 0.5, dtype=xf.dtype)
    out = lgamma(xf[..., None] + args).sum(-1) + _const(p * (p - 1) * 0.28618247146235004, xf)
    return out.astype(dt)


# Bessel functions and the Airy function: PyTorch's kernels (ATen/native/Math.h, derived from the Cephes
# Math Library, 3-clause BSD licence, as PyTorch notes), branch for branch; the coefficient tables are
# PyTorch's. Every branch is computed on a safe argument and the right one picked by jnp.where.

_CEPHES = {
    "airy_ai": {
        "AN": (
            0.346538101525629, 12.007595273964581, 76.27960536152345, 168.08922493463058, 159.75639135016442,
            70.53609068404442, 14.026469116338967, 1.0,
        ),
        "AD": (
            0.5675945326387702, 14.75625625848472, 84.51389701414746, 177.31808814540045, 164.2346928715297,
            71.47784008255756, 14.095913560783403, 1.0,
        ),
        "AFN": (
            -0.1316963234183318, -0.6264565444319123, -0.6931580360369335, -0.2797799815451191, -0.04919001326095003,
            -0.004062659235948854, -0.0001592764962392621, -2.776491081552329e-06, -1.6778769848911465e-08,
        ),
        "AFD": (
            13.356042070655324, 32.682503279522464, 26.736704094149957, 9.187074029072596, 1.4752914677166642,
            0.11568717379518804, 0.004402916416152112, 7.547203482874142e-05, 4.5185009297058035e-07,
        ),
        "AGN": (
            0.01973399320916857, 0.39110302961568827, 1.0657989759959559, 0.9391692298166502, 0.35146565610554764,
            0.06338889196289255, 0.005858041130483885, 0.000282851600836737, 6.98793669997261e-06,
            8.117892395543892e-08, 3.415517847659236e-10,
        ),
        "AGD": (
            9.30892908077442, 19.835292871831214, 15.564662893286462, 5.476860694229755, 0.9542936116189619,
            0.08645808263523921, 0.004126565238242226, 0.00010125908511650914, 1.1716673321441352e-06,
            4.9183457006293e-09,
        ),
    },
    "bessel_j0": {
        "PP": (
            0.0007969367292973471, 0.08283523921074408, 1.239533716464143, 5.447250030587687, 8.74716500199817,
            5.303240382353949, 1.0,
        ),
        "PQ": (
            0.0009244088105588637, 0.08562884743544745, 1.2535274390105895, 5.470977403304171, 8.761908832370695,
            5.306052882353947, 1.0,
        ),
        "QP": (
            -0.011366383889846916, -1.2825271867050931, -19.553954425773597, -93.20601521237683, -177.68116798048806,
            -147.07750515495118, -51.41053267665993, -6.050143506007285,
        ),
        "QQ": (
            64.3178256118178, 856.4300259769806, 3882.4018360540163, 7240.467741956525, 5930.727011873169,
            2062.0933166032783, 242.0057402402914,
        ),
        "RP": (
            -4794432209.782018, 1956174919465.5657, -249248344360967.72, 9708622510473064.0,
        ),
        "RQ": (
            499.563147152651, 173785.4016763747, 48440965.83399621, 11185553704.535683, 2112775201154.892,
            310518229857422.56, 3.1812195594320496e+16, 1.7108629408104315e+18,
        ),
    },
    "bessel_j1": {
        "PP": (
            0.0007621256162081731, 0.07313970569409176, 1.1271960812968493, 5.112079511468076, 8.424045901417724,
            5.214515986823615, 1.0,
        ),
        "PQ": (
            0.0005713231280725487, 0.06884559087544954, 1.105142326340617, 5.073863861286015, 8.399855543276042,
            5.209828486823619, 1.0,
        ),
        "QP": (
            0.05108625947501766, 4.982138729512334, 75.82382841325453, 366.7796093601508, 710.8563049989261,
            597.4896124006136, 211.68875710057213, 25.207020585802372,
        ),
        "QQ": (
            74.23732770356752, 1056.4488603826283, 4986.410583376536, 9562.318924047562, 7997.041604473507,
            2826.1927851763908, 336.0936078106983,
        ),
        "RP": (
            -899971225.7055594, 452228297998.19403, -72749424522181.83, 3682957328638529.0,
        ),
        "RQ": (
            620.8364781180543, 256987.25675774884, 83514679.14319493, 22151159547.97925, 4749141220799.914,
            784369607876235.9, 8.952223361846274e+16, 5.322786203326801e+18,
        ),
    },
    "bessel_y0": {
        "PP": (
            0.0007969367292973471, 0.08283523921074408, 1.239533716464143, 5.447250030587687, 8.74716500199817,
            5.303240382353949, 1.0,
        ),
        "PQ": (
            0.0009244088105588637, 0.08562884743544745, 1.2535274390105895, 5.470977403304171, 8.761908832370695,
            5.306052882353947, 1.0,
        ),
        "QP": (
            -0.011366383889846916, -1.2825271867050931, -19.553954425773597, -93.20601521237683, -177.68116798048806,
            -147.07750515495118, -51.41053267665993, -6.050143506007285,
        ),
        "QQ": (
            64.3178256118178, 856.4300259769806, 3882.4018360540163, 7240.467741956525, 5930.727011873169,
            2062.0933166032783, 242.0057402402914,
        ),
        "YP": (
            15592.436785523574, -14663929.59039716, 5435264770.518765, -982136065717.9115, 87590639439536.7,
            -3466283033847297.0, 4.4273326857256984e+16, -1.8495080043698668e+16,
        ),
        "YQ": (
            1041.2835366425984, 626107.330137135, 268919633.39381415, 86400248710.3935, 20297961275010.555,
            3171577528429750.5, 2.5059625617265306e+17,
        ),
    },
    "bessel_y1": {
        "PP": (
            0.0007621256162081731, 0.07313970569409176, 1.1271960812968493, 5.112079511468076, 8.424045901417724,
            5.214515986823615, 1.0,
        ),
        "PQ": (
            0.0005713231280725487, 0.06884559087544954, 1.105142326340617, 5.073863861286015, 8.399855543276042,
            5.209828486823619, 1.0,
        ),
        "QP": (
            0.05108625947501766, 4.982138729512334, 75.82382841325453, 366.7796093601508, 710.8563049989261,
            597.4896124006136, 211.68875710057213, 25.207020585802372,
        ),
        "QQ": (
            74.23732770356752, 1056.4488603826283, 4986.410583376536, 9562.318924047562, 7997.041604473507,
            2826.1927851763908, 336.0936078106983,
        ),
        "YP": (
            1263204747.9017804, -647355876379.1603, 114509511541823.73, -8127702555013251.0, 2.024394757135949e+17,
            -7.788771962659501e+17,
        ),
        "YQ": (
            594.3015923461282, 235564.09294306856, 73481194.44597217, 18760131610.870617, 3882312774962.3857,
            620557727146953.8, 6.871410873553005e+16, 3.9727060811656064e+18,
        ),
    },
    "modified_bessel_k0": {
        "A": (
            1.374465435613523e-16, 4.25981614279661e-14, 1.0349695257633842e-11, 1.904516377220209e-09,
            2.5347910790261494e-07, 2.286212103119452e-05, 0.001264615411446926, 0.0359799365153615,
            0.3442898999246285, -0.5353273932339028,
        ),
        "B": (
            5.300433772686263e-18, -1.6475804301524212e-17, 5.2103915050390274e-17, -1.678231096805412e-16,
            5.512055978524319e-16, -1.848593377343779e-15, 6.3400764774050706e-15, -2.2275133269916698e-14,
            8.032890775363575e-14, -2.9800969231727303e-13, 1.140340588208475e-12, -4.514597883373944e-12,
            1.8559491149547177e-11, -7.957489244477107e-11, 3.577397281400301e-10, -1.69753450938906e-09,
            8.574034017414225e-09, -4.660489897687948e-08, 2.766813639445015e-07, -1.8317555227191195e-06,
            1.39498137188765e-05, -0.00012849549581627802, 0.0015698838857300533, -0.0314481013119645,
            2.4403030820659555,
        ),
    },
    "modified_bessel_k1": {
        "A": (
            -7.023863479386288e-18, -2.427449850519366e-15, -6.666901694199329e-13, -1.4114883926335278e-10,
            -2.213387630734726e-08, -2.4334061415659684e-06, -0.0001730288957513052, -0.006975723859639864,
            -0.12261118082265715, -0.3531559607765449, 1.5253002273389478,
        ),
        "B": (
            -5.756744483665017e-18, 1.7940508731475592e-17, -5.689462558442859e-17, 1.838093544366639e-16,
            -6.057047248373319e-16, 2.038703165624334e-15, -7.019837090418314e-15, 2.4771544244813043e-14,
            -8.976705182324994e-14, 3.3484196660784293e-13, -1.2891739609510289e-12, 5.13963967348173e-12,
            -2.1299678384275683e-11, 9.218315187605006e-11, -4.1903547593418965e-10, 2.015049755197033e-09,
            -1.0345762465678097e-08, 5.7410841254500495e-08, -3.5019606030878126e-07, 2.406484947837217e-06,
            -1.936197974166083e-05, 0.00019521551847135162, -0.002857816859622779, 0.10392373657681724,
            2.7206261904844427,
        ),
    },
}


def _horner(coeffs: tuple, z: jnp.ndarray) -> jnp.ndarray:
    acc = jnp.zeros_like(z)
    for c in coeffs:
        acc = acc * z + c
    return acc


def _chbevl(coeffs: tuple, z: jnp.ndarray) -> jnp.ndarray:
    """Clenshaw's sum of a Chebyshev series, as PyTorch's loops write it: ``0.5 * (b0 - b2)``."""
    p = jnp.zeros_like(z)
    q = jnp.zeros_like(z)
    a = jnp.full_like(z, coeffs[0])
    for c in coeffs[1:]:
        p, q = q, a
        a = z * q - p + c
    return 0.5 * (a - p)


def _bessel_far(t: dict, x: jnp.ndarray, phase: float, y: bool, five_over: bool) -> jnp.ndarray:
    """The large-argument form of j0/j1/y0/y1 (``x > 5``)."""
    z = 25.0 / (x * x) if not five_over else 5.0 / x * (5.0 / x)
    pp, pq, qp, qq = (_horner(t[k], z) for k in ("PP", "PQ", "QP", "QQ"))
    s, c = jnp.sin(x - phase), jnp.cos(x - phase)
    if y:
        out = pp / pq * s + 5.0 / x * (qp / qq) * c
    else:
        out = pp / pq * c - 5.0 / x * (qp / qq) * s
    return out * 0.797884560802865355879892119868763737 / jnp.sqrt(x)


def bessel_j0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.bessel_j0``."""
    t = _CEPHES["bessel_j0"]
    x = jnp.abs(x)
    near = jnp.minimum(x, 5.0)
    x2 = near * near
    small = (x2 - 5.78318596294678452118e+00) * (x2 - 3.04712623436620863991e+01) * _horner(t["RP"], x2) \
        / _horner(t["RQ"], x2)
    small = jnp.where(near < 0.00001, 1.0 - near * near / 4.0, small)
    far = _bessel_far(t, jnp.maximum(x, 5.0), 0.785398163397448309615660845819875721, False, False)
    return jnp.where(x <= 5.0, small, jnp.where(jnp.isnan(x), x, far))


def bessel_j1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.bessel_j1`` (odd)."""
    t = _CEPHES["bessel_j1"]
    a = jnp.abs(x)
    near = jnp.minimum(a, 5.0)
    x2 = near * near
    small = _horner(t["RP"], x2) / _horner(t["RQ"], x2) * near * (x2 - 1.46819706421238932572e+01) \
        * (x2 - 4.92184563216946036703e+01)
    far = _bessel_far(t, jnp.maximum(a, 5.0), 2.356194490192344928846982537459627163, False, True)
    out = jnp.where(a <= 5.0, small, jnp.where(jnp.isnan(a), a, far))
    return jnp.where(x < 0, -out, out)


def bessel_y0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.bessel_y0``: ``-inf`` at 0, NaN below."""
    t = _CEPHES["bessel_y0"]
    near = jnp.clip(x, 1e-30, 5.0)
    x2 = near * near
    small = _horner(t["YP"], x2) / _horner(t["YQ"], x2) + 0.636619772367581343075535053490057448 * jnp.log(near) \
        * bessel_j0(near)
    small = jnp.where(x == 0, -jnp.inf, jnp.where(x < 0, jnp.nan, small))
    far = _bessel_far(t, jnp.maximum(x, 5.0), 0.785398163397448309615660845819875721, True, False)
    return jnp.where(x <= 5.0, small, jnp.where(jnp.isnan(x), x, far)).astype(x.dtype)


def bessel_y1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.bessel_y1``: ``-inf`` at 0, NaN below."""
    t = _CEPHES["bessel_y1"]
    near = jnp.clip(x, 1e-30, 5.0)
    x2 = near * near
    small = near * (_horner(t["YP"], x2) / _horner(t["YQ"], x2)) + 0.636619772367581343075535053490057448 * (
        bessel_j1(near) * jnp.log(near) - 1.0 / near)
    small = jnp.where(x == 0, -jnp.inf, jnp.where(x < 0, jnp.nan, small))
    far = _bessel_far(t, jnp.maximum(x, 5.0), 2.356194490192344928846982537459627163, True, True)
    return jnp.where(x <= 5.0, small, jnp.where(jnp.isnan(x), x, far)).astype(x.dtype)


def _bessel_k(x: jnp.ndarray, order: int, scaled: bool) -> jnp.ndarray:
    """``modified_bessel_k0/k1`` and their ``exp(x)``-scaled forms: ``inf`` at 0, NaN below."""
    import jax.scipy.special as jss
    t = _CEPHES["modified_bessel_k0" if order == 0 else "modified_bessel_k1"]
    near = jnp.clip(x, 1e-30, 2.0)
    a = _chbevl(t["A"], near * near - 2.0)
    if order == 0:
        small = a - jnp.log(0.5 * near) * jss.i0(near)
    else:
        small = jnp.log(0.5 * near) * jss.i1(near) + a / near
    if scaled:
        small = small * jnp.exp(near)
    far_x = jnp.maximum(x, 2.0)
    far = _chbevl(t["B"], 8.0 / far_x - 2.0) / jnp.sqrt(far_x)
    if not scaled:
        far = jnp.exp(-far_x) * far
    out = jnp.where(x <= 2.0, small, jnp.where(jnp.isnan(x), x, far))
    return jnp.where(x == 0, jnp.inf, jnp.where(x < 0, jnp.nan, out)).astype(x.dtype)


def modified_bessel_k0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.modified_bessel_k0``."""
    return _bessel_k(x, 0, False)


def modified_bessel_k1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.modified_bessel_k1``."""
    return _bessel_k(x, 1, False)


def scaled_modified_bessel_k0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.scaled_modified_bessel_k0``: ``exp(x) k0(x)``."""
    return _bessel_k(x, 0, True)


def scaled_modified_bessel_k1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.scaled_modified_bessel_k1``: ``exp(x) k1(x)``."""
    return _bessel_k(x, 1, True)


def spherical_bessel_j0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.spherical_bessel_j0``: ``sin(x) / x``, its series below 0.5, 0 at infinity."""
    x2 = x * x
    series = 1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (
        1.0 / 362880.0 + x2 * (-1.0 / 39916800.0 + x2 * (1.0 / 6227020800.0))))))
    safe = jnp.where(jnp.abs(x) < 0.5, jnp.ones((), x.dtype), x)
    out = jnp.where(jnp.abs(x) < 0.5, series, jnp.sin(safe) / safe)
    return jnp.where(jnp.isinf(x), jnp.zeros((), x.dtype), out).astype(x.dtype)


def airy_ai(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.airy_ai``: NaN at both infinities, 0 above 103.892."""
    t = _CEPHES["airy_ai"]
    dt = x.dtype
    eps = float(jnp.finfo(dt).eps)
    # x < -2.09: the oscillating asymptotic form
    xn = jnp.minimum(x, -2.09)
    z = 1.0 / (-2.0 * xn * jnp.sqrt(-xn) / 3.0)
    z2 = z * z
    th = -2.0 * xn * jnp.sqrt(-xn) / 3.0 + 0.25 * 3.141592653589793
    neg = 5.64189583547756286948e-01 / jnp.sqrt(jnp.sqrt(-xn)) * (
        jnp.sin(th) * (1.0 + z2 * _horner(t["AFN"], z2) / _horner(t["AFD"], z2))
        - jnp.cos(th) * (z * _horner(t["AGN"], z2) / _horner(t["AGD"], z2)))
    # x >= 2.09: the decaying asymptotic form
    xp = jnp.clip(x, 2.09, 103.892)
    zeta = 2.0 * xp * jnp.sqrt(xp) / 3.0
    pos = 5.64189583547756286948e-01 * (_horner(t["AN"], 1.0 / zeta) / _horner(t["AD"], 1.0 / zeta)) / (
        2.0 * jnp.sqrt(jnp.sqrt(xp)) * jnp.exp(zeta))
    # in between: the Maclaurin series, summed until its terms fall below eps (as PyTorch's loop)
    xs = jnp.clip(x, -2.09, 2.09)
    z3 = xs * xs * xs

    def body(_: int, s: tuple) -> tuple:
        f, g, k, m, n, tt = s
        on = tt > eps
        m1 = m * z3
        k1 = k + 1.0
        m1 = m1 / k1
        n1 = n * z3
        k1 = k1 + 1.0
        n1 = n1 / k1
        m1 = m1 / k1
        f1 = f + m1
        k1 = k1 + 1.0
        n1 = n1 / k1
        g1 = g + n1
        t1 = jnp.abs(m1 / f1)
        pick = lambda a, b: jnp.where(on, a, b)  # noqa: E731
        return pick(f1, f), pick(g1, g), pick(k1, k), pick(m1, m), pick(n1, n), pick(t1, tt)

    one = jnp.ones_like(xs)
    f, g, *_ = lax.fori_loop(0, 60, body, (one, xs, one, one, xs, one))
    mid = 0.355028053887817239260 * f - 0.258819403792806798405 * g
    out = jnp.where(x < -2.09, neg, jnp.where(x >= 2.09, pos, mid))
    out = jnp.where(x > 103.892, jnp.zeros((), dt), out)
    return jnp.where(jnp.isinf(x), jnp.asarray(jnp.nan, dt), out).astype(dt)


def modified_bessel_i0(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.modified_bessel_i0`` (i0's values; no derivative)."""
    import jax.scipy.special as jss
    return jss.i0(x)


def modified_bessel_i1(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.modified_bessel_i1`` (i1's values; no derivative)."""
    import jax.scipy.special as jss
    return jss.i1(x)


# Orthogonal polynomials: PyTorch's recurrences and closed forms (ATen/native/Math.h), the degree truncated
# to an integer (NaN and infinite degrees count as negative, giving 0). The recurrence runs to the largest
# degree among the elements that use it, each element stopping at its own.


def _degree(n: jnp.ndarray) -> jnp.ndarray:
    return jnp.where(jnp.isfinite(n), jnp.trunc(jnp.where(jnp.isfinite(n), n, -1)), -1).astype(jnp.int64)


def _recur(x: jnp.ndarray, n: jnp.ndarray, used: jnp.ndarray, q1: jnp.ndarray, step: callable) -> jnp.ndarray:
    """``q_n`` of ``q_0 = 1, q_1 = q1, q_j = step(j, q_{j-1}, q_{j-2})`` for ``j = 2 .. n``."""
    top = jnp.max(jnp.where(used, n, 0), initial=0)

    def body(j: jnp.ndarray, s: tuple) -> tuple:
        p, q = s
        r = step(j.astype(x.dtype), q, p)
        on = j <= n
        return jnp.where(on, q, p), jnp.where(on, r, q)

    _, q = lax.fori_loop(jnp.asarray(2, jnp.int64), top + 1, body, (jnp.ones_like(q1), q1))
    return q


def _parity(n: jnp.ndarray, even: jnp.ndarray, odd: jnp.ndarray) -> jnp.ndarray:
    return jnp.where(n % 2 == 0, even, odd)


def _cheb(x: jnp.ndarray, nf: jnp.ndarray, kind: str, shifted: bool) -> jnp.ndarray:
    x, nf = jnp.broadcast_arrays(*_common(x, nf))
    n = _degree(nf)
    dt = x.dtype
    one = jnp.ones((), dt)
    nn = n.astype(dt)
    y = x + x - 1.0 if shifted else x
    q1 = {"t": y, "u": y + y, "v": y + y - 1.0, "w": y + y + 1.0}[kind]
    cut = (4 if kind == "w" else 6) if shifted else (6 if kind == "t" else 8)
    trig = (n > cut) & (jnp.abs(y) < 1)
    used = ~trig & (n >= 2)
    rec = _recur(y, n, used, q1, lambda j, q, p: (y + y) * q - p)
    a = jnp.arccos(jnp.clip(y, -1, 1))
    if kind == "t":
        closed = jnp.cos(nn * a)
    elif kind == "u":
        s = jnp.sin(a)
        closed = jnp.where(s != 0, jnp.sin((nn + 1) * a) / jnp.where(s != 0, s, one),
                           (nn + 1) * jnp.cos((nn + 1) * a) / y)
    elif kind == "v":
        closed = jnp.where(jnp.sin(a / 2) != 1, jnp.cos((nn + 0.5) * a) / jnp.cos(a / 2),
                           _parity(n, nn + nn + 1, -(nn + nn + 1)))
    else:
        c = jnp.sin(a / 2)
        odd_end = (jnp.where(y > 0, nn + nn + 1, _parity(n, one, -one)) if not shifted else _parity(n, one, -one))
        closed = jnp.where(jnp.cos(a / 2) != 1, jnp.sin((nn + 0.5) * a) / jnp.where(c != 0, c, one), odd_end)
    out = jnp.where(trig, closed, jnp.where(n == 0, one, jnp.where(n == 1, q1, rec)))
    # the ends of the interval
    if not shifted:
        end = {"t": jnp.where((x > 0) | (n % 2 == 0), one, -one),
               "u": jnp.where((x > 0) | (n % 2 == 0), nn + 1, -(nn + 1)),
               "v": jnp.where(x > 0, one, _parity(n, nn + nn + 1, -(nn + nn + 1))),
               "w": jnp.where(x > 0, nn + nn + 1, _parity(n, one, -one))}[kind]
        out = jnp.where(jnp.abs(x) == 1, end, out)
    else:
        at1 = {"t": one, "u": nn + 1, "v": one, "w": nn + nn + 1}[kind]
        at0 = {"t": _parity(n, one, -one), "u": _parity(n, nn + 1, -(nn + 1)),
               "v": _parity(n, nn + nn + 1, -(nn + nn + 1)), "w": _parity(n, one, -one)}[kind]
        out = jnp.where(x == 1, at1, jnp.where(x == 0, at0, out))
    return jnp.where(n < 0, jnp.zeros((), dt), out)


def chebyshev_polynomial_t(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.chebyshev_polynomial_t``."""
    return _cheb(x, n, "t", False)


def chebyshev_polynomial_u(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.chebyshev_polynomial_u``."""
    return _cheb(x, n, "u", False)


def chebyshev_polynomial_v(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.chebyshev_polynomial_v``."""
    return _cheb(x, n, "v", False)


def chebyshev_polynomial_w(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.chebyshev_polynomial_w``."""
    return _cheb(x, n, "w", False)


def shifted_chebyshev_polynomial_t(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.shifted_chebyshev_polynomial_t``."""
    return _cheb(x, n, "t", True)


def shifted_chebyshev_polynomial_u(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.shifted_chebyshev_polynomial_u``."""
    return _cheb(x, n, "u", True)


def shifted_chebyshev_polynomial_v(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.shifted_chebyshev_polynomial_v``."""
    return _cheb(x, n, "v", True)


def shifted_chebyshev_polynomial_w(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.shifted_chebyshev_polynomial_w``."""
    return _cheb(x, n, "w", True)


def _hermite(x: jnp.ndarray, nf: jnp.ndarray, physicists: bool) -> jnp.ndarray:
    x, nf = jnp.broadcast_arrays(*_common(x, nf))
    n = _degree(nf)
    dt = x.dtype
    limit = 128 if dt == jnp.float32 else 512
    q1 = x + x if physicists else x
    used = (n >= 2) & (n <= limit)
    if physicists:
        rec = _recur(x, n, used, q1, lambda j, q, p: (x + x) * q - (j + j - 2) * p)
    else:
        rec = _recur(x, n, used, q1, lambda j, q, p: x * q - (j - 1) * p)
    out = jnp.where(n > limit, jnp.asarray(jnp.nan, dt), jnp.where(n == 1, q1, rec))
    return jnp.where(n < 0, jnp.zeros((), dt), jnp.where(n == 0, jnp.ones((), dt), out))


def hermite_polynomial_h(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.hermite_polynomial_h`` (physicists'; NaN above degree 128 in float32, 512 in float64)."""
    return _hermite(x, n, True)


def hermite_polynomial_he(x: jnp.ndarray, n: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.hermite_polynomial_he`` (probabilists')."""
    return _hermite(x, n, False)


def laguerre_polynomial_l(x: jnp.ndarray, nf: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.laguerre_polynomial_l``."""
    x, nf = jnp.broadcast_arrays(*_common(x, nf))
    n = _degree(nf)
    dt = x.dtype
    q1 = 1.0 - x
    rec = _recur(x, n, (n >= 2) & (x != 0), q1, lambda j, q, p: (((j + j - 2) + (1.0 - x)) * q - (j - 1) * p) / j)
    out = jnp.where(n == 1, q1, rec)
    out = jnp.where((x == 0) | (n == 0), jnp.ones((), dt), out)
    return jnp.where(n < 0, jnp.zeros((), dt), out)


def legendre_polynomial_p(x: jnp.ndarray, nf: jnp.ndarray) -> jnp.ndarray:
    """``torch.special.legendre_polynomial_p``."""
    x, nf = jnp.broadcast_arrays(*_common(x, nf))
    n = _degree(nf)
    dt = x.dtype
    one = jnp.ones((), dt)
    rec = _recur(x, n, (n >= 2) & (jnp.abs(x) != 1), x, lambda j, q, p: ((j + j - 1) * x * q - (j - 1) * p) / j)
    out = jnp.where(n == 0, one, jnp.where(n == 1, x, rec))
    out = jnp.where(jnp.abs(x) == 1, jnp.where((x > 0) | (n % 2 == 0), one, -one), out)
    return jnp.where(n < 0, jnp.zeros((), dt), out)


def arange(start: float, end: float, step: float, dtype: jnp.dtype) -> jnp.ndarray:
    """``torch.arange``, value for value as PyTorch computes it on the CPU: a float32 or
    float64 range of up to 2**16 values is computed here, while the program is traced, and
    becomes a constant of it (``arange(-1, 1, 0.2)`` then has PyTorch's ``5.5511e-17``
    where a plain ``start + i * step`` has 0); a longer one is ``start + i * step`` in float64."""
    if not jnp.issubdtype(dtype, jnp.floating):
        return jnp.arange(start, end, step, dtype)
    n = max(0, math.ceil((end - start) / step))
    lanes = {jnp.dtype(jnp.float32): 8, jnp.dtype(jnp.float64): 4}.get(jnp.dtype(dtype))
    if lanes is None or n > 1 << 16:
        return (start + jnp.arange(n, dtype=jnp.float64) * step).astype(dtype)
    return jnp.asarray(_pytorch_arange(float(start), float(step), n, np.dtype(dtype), lanes))


def _pytorch_arange(start: float, step: float, n: int, dtype: np.dtype, lanes: int) -> np.ndarray:
    """PyTorch's CPU kernel: SIMD vectors of ``lanes`` values, two a loop step; each vector's
    first value ``start + step * i`` (rounded to ``dtype``), the others that value plus ``step *
    j``; the last ``n % (2 * lanes)`` values ``start + step * i``; products and sums fused
    (FMA) in float64."""
    i = np.arange(n, dtype=np.float64)
    vectorised = n - n % (2 * lanes)
    first = i[:vectorised] - i[:vectorised] % lanes  # each value's vector's first index
    base = _fma_int(step, first, start).astype(dtype).astype(np.float64)
    out = np.empty(n, dtype)
    out[:vectorised] = _fma_int(step, i[:vectorised] - first, base).astype(dtype)
    out[vectorised:] = _fma_int(step, i[vectorised:], start).astype(dtype)
    return out


def _fma_int(a: float, k: np.ndarray, c: np.ndarray | float) -> np.ndarray:
    """``a * k + c`` rounded once (a fused multiply-add) for integer-valued ``k`` below 2**26:
    the product split exactly into two doubles (Veltkamp/Dekker), then added exactly (TwoSum)."""
    t = a * 134217729.0  # 2**27 + 1: splits a into halves of 26 and 27 bits
    a_hi = t - (t - a)
    a_lo = a - a_hi
    p = a * k
    p_err = (a_hi * k - p) + a_lo * k  # a * k == p + p_err exactly
    s = p + c
    b = s - p
    s_err = (p - (s - b)) + (c - b)  # p + c == s + s_err exactly
    return s + (s_err + p_err)


def linspace(start: float, end: float, steps: int, dtype: jnp.dtype) -> jnp.ndarray:
    """``torch.linspace``: PyTorch's formula, symmetric about the middle (the first half counts up
    from ``start``, the second down from ``end``, by a step computed in ``dtype``), which
    ``jnp.linspace`` is not: ``linspace(-pi, pi, 2000)`` then has PyTorch's values exactly."""
    if steps <= 1 or not jnp.issubdtype(dtype, jnp.floating):
        return jnp.linspace(start, end, steps, dtype=dtype)
    a, b = jnp.asarray(start, dtype), jnp.asarray(end, dtype)
    step = (b - a) / jnp.asarray(steps - 1, dtype)
    i = jnp.arange(steps)
    return jnp.where(i < steps // 2, a + step * i.astype(dtype), b - step * (steps - 1 - i).astype(dtype))
