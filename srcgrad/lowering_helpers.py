"""Small helpers that generated programs call as ``sg.<name>`` (kept few and obvious)."""

from __future__ import annotations

import jax.numpy as jnp


def scatter_add_along(base: jnp.ndarray, index: jnp.ndarray, src: jnp.ndarray, dim: int) -> jnp.ndarray:
    """``torch.scatter_add(base, dim, index, src)``: add ``src`` into ``base`` at ``index`` along ``dim``."""
    idx = list(jnp.indices(index.shape, sparse=True))
    idx[dim] = index
    return base.at[tuple(idx)].add(src[tuple(slice(0, s) for s in index.shape)])


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


# ---------------------------------------------------------------------------
# pooling: the JAX side of the primitives declared in srcgrad/pooling.py. The pooled dims are
# the trailing len(kernel) dims; padding is one (lo, hi) pair per pooled dim. Max pooling finds each
# window's first maximum one kernel offset at a time (the "slab" of an offset holds that element of
# every window, shape (..., *out)), then scatters to / gathers from it by its flat index.

import itertools  # noqa: E402

import numpy as np  # noqa: E402
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
    return jss.gammaln(x)


def digamma(x: jnp.ndarray) -> jnp.ndarray:
    """``torch.digamma``; ``-inf`` at 0 as PyTorch (NaN at the negative integers)."""
    import jax.scipy.special as jss
    return jnp.where(x == 0, jnp.asarray(-jnp.inf, x.dtype), jss.digamma(x))


def polygamma(n: int, x: jnp.ndarray) -> jnp.ndarray:
    """``torch.polygamma(n, x)``: the ``n``-th derivative of digamma."""
    import jax.scipy.special as jss
    if n == 0:
        return digamma(x)
    return jss.polygamma(n, x).astype(x.dtype)


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


def matrix_exp(a: jnp.ndarray) -> jnp.ndarray:
    import jax.scipy.linalg as jsl
    return jsl.expm(a)


def matrix_rank(a: jnp.ndarray, atol: float | None, rtol: float | None, hermitian: bool) -> jnp.ndarray:
    """``torch.linalg.matrix_rank``: the number of singular values above ``max(atol, rtol * s_max)``;
    ``rtol`` is ``max(m, n) * eps`` where neither is given, as PyTorch's."""
    m, n = a.shape[-2:]
    s = jnp.abs(jnp.linalg.eigvalsh(a)) if hermitian else jnp.linalg.svd(a, compute_uv=False)
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
