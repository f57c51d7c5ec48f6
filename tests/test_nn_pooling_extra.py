"""3-d pooling, adaptive max pooling and EmbeddingBag (srcgrad/pooling.py, F.embedding_bag): values, indices and
gradients against NumPy references written here from PyTorch's CPU kernels, float64 finite differences and
second derivatives, PyTorch's error messages, one ``@srcgrad.compile`` training step, and PyTorch itself where
it is installed."""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad import pooling as P
from srcgrad.autograd import gradcheck, gradgradcheck
from srcgrad.nn import functional as F

NAN, INF = math.nan, math.inf

# ---------------------------------------------------------------------------
# NumPy references (one window at a time, as PyTorch's CPU kernels scan)


def out_size(n, k, s, p, d, ceil):
    """PyTorch's pooling_output_shape."""
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def _scan(xf, positions):
    """PyTorch's scan of one window of each row of xf (rows, plane): from the first position, a later element
    is taken when larger or NaN (``val > maxval || isnan(val)``). Returns (values, flat positions)."""
    cur = xf[:, positions[0]].copy()
    best = np.full(xf.shape[0], positions[0])
    for q in positions[1:]:
        v = xf[:, q]
        take = (v > cur) | np.isnan(v)
        cur, best = np.where(take, v, cur), np.where(take, q, best)
    return cur, best


def np_max_pool(x, k, s, p, d, ceil, gy=None):
    """Max pooling of the trailing len(k) dims: values, flat per-plane indices and, given gy, the input's
    gradient (padding is never picked)."""
    n = len(k)
    lead, spatial = x.shape[:-n], x.shape[-n:]
    out = tuple(out_size(spatial[i], k[i], s[i], p[i], d[i], ceil) for i in range(n))
    xf = x.reshape(-1, int(np.prod(spatial)))
    y = np.zeros((xf.shape[0],) + out)
    idx = np.zeros((xf.shape[0],) + out, np.int64)
    gx = np.zeros_like(xf)
    g = None if gy is None else gy.reshape((xf.shape[0],) + out)
    rows = np.arange(xf.shape[0])
    for w in itertools.product(*[range(o) for o in out]):
        axes = [[w[i] * s[i] - p[i] + j * d[i] for j in range(k[i]) if 0 <= w[i] * s[i] - p[i] + j * d[i] < spatial[i]]
                for i in range(n)]
        positions = [int(np.ravel_multi_index(q, spatial)) for q in itertools.product(*axes)]
        y[(slice(None),) + w], idx[(slice(None),) + w] = _scan(xf, positions)
        if g is not None:
            gx[rows, idx[(slice(None),) + w]] += g[(slice(None),) + w]
    return y.reshape(lead + out), idx.reshape(lead + out), gx.reshape(x.shape)


def np_avg_pool(x, k, s, p, ceil, count_include_pad, divisor_override, gy=None):
    n = len(k)
    lead, spatial = x.shape[:-n], x.shape[-n:]
    out = tuple(out_size(spatial[i], k[i], s[i], p[i], 1, ceil) for i in range(n))
    y = np.zeros(lead + out)
    gx = np.zeros_like(x)
    for w in itertools.product(*[range(o) for o in out]):
        box, pool_size, count = [], 1, 1
        for i in range(n):
            start = w[i] * s[i] - p[i]
            end = min(start + k[i], spatial[i] + p[i])
            pool_size *= end - start
            start, end = max(start, 0), min(end, spatial[i])
            count *= end - start
            box.append(slice(start, end))
        div = divisor_override or (pool_size if count_include_pad else count)
        sl = (Ellipsis,) + tuple(box)
        y[(Ellipsis,) + w] = x[sl].sum(tuple(range(-n, 0))) / div
        if gy is not None:
            gx[sl] += gy[(Ellipsis,) + w].reshape(lead + (1,) * n) / div
    return y, gx


def _bins(size, out):
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def np_adaptive(x, out, kind, gy=None):
    """Adaptive max ('max': values, indices, gradient) or average ('avg': values, gradient) pooling of the
    trailing len(out) dims over PyTorch's bins [floor(i * n / o), ceil((i + 1) * n / o))."""
    n = len(out)
    lead, spatial = x.shape[:-n], x.shape[-n:]
    bins = [_bins(spatial[i], out[i]) for i in range(n)]
    xf = x.reshape(-1, int(np.prod(spatial)))
    y = np.zeros((xf.shape[0],) + out)
    idx = np.zeros((xf.shape[0],) + out, np.int64)
    gx = np.zeros_like(xf)
    g = None if gy is None else gy.reshape((xf.shape[0],) + out)
    rows = np.arange(xf.shape[0])
    for w in itertools.product(*[range(o) for o in out]):
        axes = [range(bins[i][0][w[i]], bins[i][1][w[i]]) for i in range(n)]
        positions = [int(np.ravel_multi_index(q, spatial)) for q in itertools.product(*axes)]
        at = (slice(None),) + w
        if kind == "max":
            y[at], idx[at] = _scan(xf, positions)
            if g is not None:
                gx[rows, idx[at]] += g[at]
        else:
            y[at] = xf[:, positions].mean(1)
            if g is not None:
                gx[:, positions] += g[at][:, None] / len(positions)
    y, idx, gx = y.reshape(lead + out), idx.reshape(lead + out), gx.reshape(x.shape)
    return (y, idx, gx) if kind == "max" else (y, gx)


def np_embedding_bag(bags, weight, mode, psw=None, padding_idx=None, gy=None):
    """bags: a list of lists of indices (psw: the same shape). Returns (out, weight's gradient, psw's
    gradient); max: from each bag's first entry, a later one is taken when strictly larger (NaN never)."""
    rows, dim = weight.shape
    out = np.zeros((len(bags), dim))
    gw = np.zeros_like(weight)
    gp = [[0.0] * len(bag) for bag in bags]
    for b, bag in enumerate(bags):
        entries = [(j, i) for j, i in enumerate(bag) if i != padding_idx]
        if not entries:
            continue
        if mode == "max":
            for c in range(dim):
                best = entries[0][1]
                for _, i in entries[1:]:
                    if weight[i, c] > weight[best, c]:
                        best = i
                out[b, c] = weight[best, c]
                if gy is not None:
                    gw[best, c] += gy[b, c]
            continue
        scale = 1.0 / len(entries) if mode == "mean" else 1.0
        for j, i in entries:
            a = 1.0 if psw is None else psw[b][j]
            out[b] += a * scale * weight[i]
            if gy is not None:
                gw[i] += a * scale * gy[b]
                gp[b][j] = float(gy[b] @ weight[i])
    return out, gw, gp


def _triple(v):
    return tuple(v) if isinstance(v, tuple) else (v, v, v)


# ---------------------------------------------------------------------------
# adaptive max pooling


ADAPTIVE_MAX = [
    # input shape, output_size (None: the input's size), the srcgrad/PyTorch function
    ((3, 7), 9, "1d"),  # more bins than elements: every bin overlaps the next
    ((2, 2, 5, 6), (7, 4), "2d"),  # overlapping bins in H, unequal bins in W
    ((3, 6, 6), (None, 2), "2d"),  # unbatched, equal bins
    ((2, 2, 4, 5, 6), (3, 2, 4), "3d"),
    ((2, 3, 5, 4), (2, None, 5), "3d"),  # unbatched, overlapping bins
]


def _amp(kind):
    return {"1d": P.adaptive_max_pool1d, "2d": P.adaptive_max_pool2d, "3d": P.adaptive_max_pool3d}[kind]


def _full_out(shape, out, kind):
    n = int(kind[0])
    out = out if isinstance(out, tuple) else (out,) * n
    return tuple(s if o is None else o for s, o in zip(shape[-n:], out))


@pytest.mark.parametrize("case", ADAPTIVE_MAX, ids=[f"{c[2]}-{i}" for i, c in enumerate(ADAPTIVE_MAX)])
def test_adaptive_max_pool_values_indices_and_gradients_match_numpy(case):
    shape, out, kind = case
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal(shape))  # many ties: each bin's first maximum is taken
    full = _full_out(shape, out, kind)
    ref_y, ref_i, _ = np_adaptive(x, full, "max")
    gy = rng.standard_normal(ref_y.shape)
    _, _, ref_gx = np_adaptive(x, full, "max", gy)
    tx = sg.tensor(x, requires_grad=True)
    y, idx = _amp(kind)(tx, out, return_indices=True)
    assert y.shape == ref_y.shape and idx.dtype == sg.int64 and not idx.requires_grad
    np.testing.assert_array_equal(y.detach().numpy(), ref_y)
    np.testing.assert_array_equal(idx.numpy(), ref_i)
    y.backward(sg.tensor(gy))  # overlapping bins add up at a shared maximum
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)
    name = "SqueezeBackward1" if kind == "1d" else f"AdaptiveMaxPool{kind.upper()}Backward0"
    assert y.grad_fn.name() == name
    np.testing.assert_array_equal(_amp(kind)(tx, out).detach().numpy(), ref_y)  # return_indices=False


def test_adaptive_max_pool_nans_and_infinities_as_pytorchs_scan():
    # the last NaN of a bin wins; equal values go to the first; a bin of -inf picks its first element
    x = sg.tensor([[[NAN, 1.0, NAN, 3.0, NAN, 2.0]]], requires_grad=True)
    assert P.adaptive_max_pool1d(x, 3, True)[1].tolist() == [[[0, 2, 4]]]
    y, i = P.adaptive_max_pool1d(x, 4, True)
    assert i.tolist() == [[[0, 2, 4, 4]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[1.0, 0.0, 1.0, 0.0, 2.0, 0.0]]]
    assert P.adaptive_max_pool3d(sg.tensor([[[[[2.0, 2.0, 1.0, 2.0]]]]]), 1, True)[1].item() == 0
    x = sg.full((1, 1, 2, 2), -INF, requires_grad=True)
    y, i = P.adaptive_max_pool2d(x, 1, True)
    assert i.item() == 0
    y.sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]
    for vals, idx in (([2.0, 2.0, 1.0], 0), ([1.0, 3.0, 3.0], 1), ([INF, 1.0, INF], 0), ([-0.0, 0.0, 0.0], 0)):
        assert P.adaptive_max_pool1d(sg.tensor([vals]), 1, True)[1].item() == idx


def test_adaptive_max_pool_empty_batch_zero_output_and_half_precision():
    x = sg.randn(0, 3, 4, 5, requires_grad=True)
    y = P.adaptive_max_pool2d(x, 2)
    assert y.shape == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == x.shape
    x = sg.randn(2, 3, 4, 5)
    y, i = P.adaptive_max_pool2d(x, (0, 2), True)
    assert y.shape == i.shape == (2, 3, 0, 2)
    h = np.random.default_rng(1).standard_normal((2, 7, 5)).astype(np.float16)
    y = P.adaptive_max_pool1d(sg.tensor(h), 3)
    assert y.dtype == sg.float16
    np.testing.assert_array_equal(y.numpy(), np_adaptive(h.astype(np.float64), (3,), "max")[0].astype(np.float16))


# ---------------------------------------------------------------------------
# 3-d max and average pooling, 3-d adaptive average pooling


MAX3D = [
    # shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 2, 4, 5, 6), 2, None, 0, 1, False),
    ((1, 2, 7, 6, 5), 3, 2, 1, 1, True),
    ((2, 5, 6, 7), (2, 3, 2), (1, 2, 1), (1, 0, 1), (1, 2, 1), True),  # unbatched, overlapping dilated windows
]


@pytest.mark.parametrize("case", MAX3D, ids=[f"max3d-{i}" for i in range(len(MAX3D))])
def test_max_pool3d_values_indices_and_gradients_match_numpy(case):
    shape, k, s, p, d, ceil = case
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal(shape))
    args = (_triple(k), _triple(k if s is None else s), _triple(p), _triple(d), ceil)
    ref_y, ref_i, _ = np_max_pool(x, *args)
    gy = rng.standard_normal(ref_y.shape)
    _, _, ref_gx = np_max_pool(x, *args, gy)
    tx = sg.tensor(x, requires_grad=True)
    y, idx = P.max_pool3d(tx, k, s, p, d, ceil, return_indices=True)
    assert y.grad_fn.name() == "MaxPool3DWithIndicesBackward0"
    np.testing.assert_array_equal(y.detach().numpy(), ref_y)
    np.testing.assert_array_equal(idx.numpy(), ref_i)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)
    assert F.max_pool3d_with_indices(tx, k, s, p, d, ceil)[1].tolist() == idx.tolist()


AVG3D = [
    # shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((2, 2, 4, 5, 6), 2, None, 0, False, True, None),
    ((1, 2, 7, 6, 5), 3, 2, 1, True, True, None),
    ((1, 2, 7, 6, 5), 3, 2, 1, True, False, None),
    ((2, 5, 6, 7), (2, 3, 2), (1, 2, 1), (1, 0, 1), False, False, 4),  # unbatched, divisor_override
]


@pytest.mark.parametrize("case", AVG3D, ids=[f"avg3d-{i}" for i in range(len(AVG3D))])
def test_avg_pool3d_values_and_gradients_match_numpy(case):
    shape, k, s, p, ceil, cip, div = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    args = (_triple(k), _triple(k if s is None else s), _triple(p), ceil, cip, div)
    ref_y, _ = np_avg_pool(x, *args)
    gy = rng.standard_normal(ref_y.shape)
    _, ref_gx = np_avg_pool(x, *args, gy=gy)
    tx = sg.tensor(x, requires_grad=True)
    y = P.avg_pool3d(tx, k, s, p, ceil, cip, div)
    assert y.grad_fn.name() == "AvgPool3DBackward0"
    np.testing.assert_allclose(y.detach().numpy(), ref_y, rtol=1e-12, atol=1e-12)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("out", [(3, 4, 5), (None, 2, 3), (7, 1, 6), (2, 0, 3), 1])
def test_adaptive_avg_pool3d_uses_pytorch_bins(out):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2, 4, 6, 6))
    full = _full_out(x.shape, out, "3d")
    ref_y, _ = np_adaptive(x, full, "avg")
    gy = rng.standard_normal(ref_y.shape)
    _, ref_gx = np_adaptive(x, full, "avg", gy)
    tx = sg.tensor(x, requires_grad=True)
    y = P.adaptive_avg_pool3d(tx, out)
    assert y.shape == ref_y.shape
    np.testing.assert_allclose(y.detach().numpy(), ref_y, rtol=1e-12, atol=1e-12)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)
    assert y.grad_fn.name() == ("MeanBackward1" if full == (1, 1, 1) else "AdaptiveAvgPool3DBackward0")
    if full != (1, 1, 1):
        (edge,) = y.grad_fn.next_functions  # one function of the input, as PyTorch shows it
        assert edge[0].name() == "torch::autograd::AccumulateGrad"
    np.testing.assert_allclose(P.adaptive_avg_pool3d(sg.tensor(x[0]), out).numpy(), ref_y[0], rtol=1e-12,
                               atol=1e-12)


# ---------------------------------------------------------------------------
# gradients: float64 finite differences and second derivatives

POOLS = {
    "adaptive-max2d": lambda x: P.adaptive_max_pool2d(x.flatten(1, 2), (7, 3)),  # overlapping bins
    "adaptive-max3d": lambda x: P.adaptive_max_pool3d(x, (2, 3, 3)),
    "max3d": lambda x: P.max_pool3d(x, 2, 1, 1, ceil_mode=True),
    "avg3d": lambda x: P.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "adaptive-avg3d": lambda x: P.adaptive_avg_pool3d(x, (2, 3, 3)),
}


@pytest.mark.parametrize("name", list(POOLS))
def test_gradients_and_second_derivatives_against_finite_differences(name):
    fn = POOLS[name]
    x = sg.tensor(np.random.default_rng(5).standard_normal((1, 1, 3, 4, 5)), requires_grad=True)  # distinct values
    assert gradcheck(fn, (x,))
    assert gradgradcheck(lambda t: fn(t) ** 2, (x,))


def test_embedding_bag_gradients_against_finite_differences():
    rng = np.random.default_rng(6)
    w = sg.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    psw = sg.tensor(rng.standard_normal(7), requires_grad=True)
    idx, off = sg.tensor([1, 4, 4, 0, 3, 2, 4]), sg.tensor([0, 3, 3, 5])
    assert gradcheck(lambda t: F.embedding_bag(idx, t, off, mode="mean", padding_idx=2), (w,))
    assert gradgradcheck(lambda t: F.embedding_bag(idx, t, off, mode="max", padding_idx=2) ** 2, (w,))
    assert gradgradcheck(lambda t, p: F.embedding_bag(idx, t, off, mode="sum", per_sample_weights=p) ** 2, (w, psw))


# ---------------------------------------------------------------------------
# EmbeddingBag against the NumPy reference


def _bags(idx, off, include_last_offset):
    """The bags of a 1-D input: with include_last_offset the offsets have one more entry, the end of the
    last bag, which should be len(idx); where it is short of it, the last bag still runs to the end (as
    PyTorch's general CPU kernel, the one that also runs for float64 weights or a padding_idx)."""
    starts = off[:-1] if include_last_offset else off
    return [list(idx[a:b]) for a, b in zip(starts, list(starts[1:]) + [len(idx)])]


BAG_CASES = [
    # input (1-D with offsets, or 2-D), offsets, include_last_offset, padding_idx
    ([1, 4, 4, 0, 6, 2, 4, 3], [0, 3, 3, 5], False, 4),  # an empty bag, a bag of padding only
    ([5, 2, 2, 0, 1, 6, 3], [0, 2, 6], True, 2),  # an offset short of the end: the last bag runs to it
    ([[1, 4, 4], [0, 6, 2], [5, 5, 5]], None, False, 5),
    ([], [0, 0], False, None),
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("case", BAG_CASES, ids=[f"bags-{i}" for i in range(len(BAG_CASES))])
def test_embedding_bag_matches_numpy(case, mode):
    idx, off, ilo, pad = case
    rng = np.random.default_rng(7)
    weight = np.round(rng.standard_normal((7, 4)) * 2)  # ties for max
    two_d = off is None
    bags = [list(r) for r in idx] if two_d else _bags(idx, off, ilo)
    flat_n = sum(len(r) for r in idx) if two_d else len(idx)
    psw_flat = rng.standard_normal(flat_n)
    psw = None
    if mode == "sum":
        psw = (psw_flat.reshape(np.shape(idx)) if two_d else psw_flat)
        psw_bags = [list(r) for r in psw] if two_d else _bags(list(psw_flat), off, ilo)
    ref, _, _ = np_embedding_bag(bags, weight, mode, psw_bags if psw is not None else None, pad)
    gy = rng.standard_normal(ref.shape)
    ref, ref_gw, ref_gp = np_embedding_bag(bags, weight, mode, psw_bags if psw is not None else None, pad, gy)
    tw = sg.tensor(weight, requires_grad=True)
    tp = None if psw is None else sg.tensor(psw, requires_grad=True)
    ti = sg.tensor(idx, dtype=sg.int64)
    y = F.embedding_bag(ti, tw, None if two_d else sg.tensor(off), mode=mode, per_sample_weights=tp,
                        include_last_offset=ilo, padding_idx=pad)
    assert y.shape == ref.shape and y.grad_fn.name() == "EmbeddingBagBackward0"
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tw.grad.numpy(), ref_gw, rtol=1e-12, atol=1e-12)
    if tp is not None:
        got = tp.grad.numpy()
        want = np.array(ref_gp) if two_d else np.concatenate(
            [np.array(g) for g in ref_gp] + [np.zeros(flat_n - sum(len(g) for g in ref_gp))])
        np.testing.assert_allclose(got.reshape(-1), want.reshape(-1), rtol=1e-12, atol=1e-12)


def test_embedding_bag_max_skips_nans_after_the_first_and_takes_the_first_maximum():
    w = sg.tensor([[1.0, 5.0], [3.0, 5.0], [3.0, NAN], [NAN, 2.0], [-INF, -INF], [0.0, 0.0]], requires_grad=True)
    cases = [([0, 1, 2], [0], [[3.0, 5.0]], [[0, 1], [1, 0]]),  # (the gradient's nonzero rows, per feature)
             ([1, 0, 1], [0], [[3.0, 5.0]], [[1, 0], [1, 1]]),
             ([3, 2, 1, 0], [0], [[NAN, 5.0]], [[3, 0], [1, 1]]),
             ([4, 4], [0], [[-INF, -INF]], [[4, 0], [4, 1]])]
    for idx, off, value, hits in cases:
        y = F.embedding_bag(sg.tensor(idx), w, sg.tensor(off), mode="max")
        np.testing.assert_array_equal(y.detach().numpy(), value)
        (g,) = sg.autograd.grad(y.sum(), w)
        expect = np.zeros((6, 2))
        for r, c in hits:
            expect[r, c] = 1.0
        np.testing.assert_array_equal(g.numpy(), expect)
    y = F.embedding_bag(sg.tensor([0, 5, 1]), w, sg.tensor([0]), mode="max", padding_idx=0)
    assert y.tolist() == [[3.0, 5.0]]  # padding entries are left out, not read as zeros


def test_embedding_bag_scale_grad_by_freq_divides_by_each_index_count_in_the_batch():
    """The documented rule (as F.embedding's): each row's gradient divided by how often its index occurs
    in the input; the value is unchanged."""
    rng = np.random.default_rng(8)
    weight = rng.standard_normal((5, 3))
    idx, off = [0, 0, 1, 0, 2, 2], [0, 3]
    counts = np.bincount(idx, minlength=5)
    for mode in ("sum", "mean"):
        tw = sg.tensor(weight, requires_grad=True)
        y = F.embedding_bag(sg.tensor(idx), tw, sg.tensor(off), mode=mode, scale_grad_by_freq=True)
        np.testing.assert_allclose(y.detach().numpy(), np_embedding_bag(_bags(idx, off, False), weight, mode)[0],
                                   rtol=1e-12)
        gy = rng.standard_normal(y.shape)
        y.backward(sg.tensor(gy))
        _, gw, _ = np_embedding_bag(_bags(idx, off, False), weight, mode, gy=gy)
        np.testing.assert_allclose(tw.grad.numpy(), gw / np.maximum(counts, 1)[:, None], rtol=1e-12, atol=1e-12)


def test_embedding_bag_max_norm_renormalises_the_rows_looked_up():
    w = sg.tensor([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0], [1.0, 0.0]])
    y = F.embedding_bag(sg.tensor([0, 1, 2]), w, sg.tensor([0, 1]), max_norm=1.0, padding_idx=2)
    np.testing.assert_allclose(y.numpy(), [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(w.numpy(), [[0.6, 0.8], [0.3, 0.4], [0.6, 0.8], [1.0, 0.0]], rtol=1e-6)


def test_embedding_bag_module_from_pretrained_and_repr():
    sg.manual_seed(0)
    bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2)
    assert repr(bag) == "EmbeddingBag(10, 3, mode='sum', padding_idx=2)"
    assert bag.weight.shape == (10, 3) and bag.weight.requires_grad
    assert bag.weight[2].tolist() == [0.0, 0.0, 0.0]
    idx, off = sg.tensor([1, 2, 4, 5, 4, 3, 2, 9]), sg.tensor([0, 4])
    np.testing.assert_array_equal(bag(idx, off).detach().numpy(),
                                  F.embedding_bag(idx, bag.weight, off, mode="sum", padding_idx=2).detach().numpy())
    assert nn.EmbeddingBag(5, 3, padding_idx=-1).padding_idx == 4
    assert repr(nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="max")) == \
        "EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode='max')"
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(5, 3, padding_idx=5)
    w = sg.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]])
    pre = nn.EmbeddingBag.from_pretrained(w)
    assert not pre.weight.requires_grad and pre.mode == "mean"
    np.testing.assert_allclose(pre(sg.tensor([[1, 0]])).numpy(), [[2.5, 3.7, 4.65]], rtol=1e-6)
    assert nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="max").weight.requires_grad
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.EmbeddingBag.from_pretrained(sg.ones(3))


# ---------------------------------------------------------------------------
# modules


def test_pooling_modules_forward_and_repr_like_pytorch():
    x = sg.randn(2, 3, 4, 6, 6)
    cases = [
        (nn.MaxPool3d(2), "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
         P.max_pool3d(x, 2)),
        (nn.AvgPool3d((1, 2, 3), 2, (0, 1, 1), True, False, 3),
         "AvgPool3d(kernel_size=(1, 2, 3), stride=2, padding=(0, 1, 1))", P.avg_pool3d(x, (1, 2, 3), 2, (0, 1, 1), True,
                                                                                     False, 3)),
        (nn.AdaptiveAvgPool3d((2, None, 3)), "AdaptiveAvgPool3d(output_size=(2, None, 3))",
         P.adaptive_avg_pool3d(x, (2, 6, 3))),
        (nn.AdaptiveMaxPool3d(2), "AdaptiveMaxPool3d(output_size=2)", P.adaptive_max_pool3d(x, 2)),
        (nn.AdaptiveMaxPool2d((2, None)), "AdaptiveMaxPool2d(output_size=(2, None))",
         P.adaptive_max_pool2d(x[0], (2, 6))),
        (nn.AdaptiveMaxPool1d(5), "AdaptiveMaxPool1d(output_size=5)", P.adaptive_max_pool1d(x[0, 0], 5)),
    ]
    for module, text, expect in cases:
        assert repr(module) == text
        inp = x[0, 0] if "1d" in text else x[0] if "2d" in text else x
        got = module(inp)
        assert got.shape == expect.shape
        if "Max" in text:  # (the same function: one value check each for the max pools)
            np.testing.assert_array_equal(got.numpy(), expect.numpy())
    y, idx = nn.AdaptiveMaxPool2d(3, return_indices=True)(x[0, 0])
    assert y.shape == idx.shape == (4, 3, 3) and nn.AdaptiveMaxPool2d(3, True).return_indices
    y, idx = nn.MaxPool3d(2, return_indices=True)(x)
    assert idx.shape == y.shape == (2, 3, 2, 3, 3)


# ---------------------------------------------------------------------------
# errors: PyTorch's types and messages (checked against PyTorch too where it is installed)


def _x5(m):
    return m.zeros(2, 3, 4, 5, 6)


ERRORS = [
    (lambda m: m.nn.functional.max_pool3d(m.zeros(3, 4, 5), 2), RuntimeError,
     "non-empty 4D or 5D (batch mode) tensor expected for input"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), (2, 2, 2, 2)), RuntimeError,
     "max_pool3d: kernel_size must either be a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, (2, 2, 2, 2)), RuntimeError,
     "max_pool3d: stride must either be omitted, a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 2, (0, 0, 0, 0)), RuntimeError,
     "max_pool3d: padding must either be a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 2, 0, (1, 1, 1, 1)), RuntimeError,
     "max_pool3d: dilation must be either a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 0), RuntimeError, "stride should not be zero"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 1, -1), RuntimeError, "pad must be non-negative, but got pad: -1"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 1, 2), RuntimeError,
     "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1"),
    (lambda m: m.nn.functional.max_pool3d(m.zeros(1, 1, 7, 7, 7), 3, 1, 2, 2), RuntimeError,
     "pad should be smaller than or equal to half of kernel size, but got kT: 3 kW: 3 kH: 3 padT: 2 padW: 2 padH: 2"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), (0, 2, 2), 1), RuntimeError,
     "kernel size should be greater than zero, but got kT: 0 kH: 2 kW: 2"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, -1), RuntimeError,
     "stride should be greater than zero, but got dT: -1 dH: -1 dW: -1"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 2, 1, 0, 0), RuntimeError,
     "dilation should be greater than zero, but got dilationT: 0 dilationH: 0 dilationW: 0"),
    (lambda m: m.nn.functional.max_pool3d(_x5(m), 5), RuntimeError,
     "Given input size: (3x4x5x6). Calculated output size: (3x0x1x1). Output size is too small"),
    (lambda m: m.nn.functional.max_pool3d(m.zeros(2, 3, 0, 4, 4), 2), RuntimeError,
     "max_pool3d_with_indices_out_cpu_template(): Expected input's non-batch dimensions to have positive length, "
     "but input has a shape of [2, 3, 0, 4, 4] and non-batch dimension 0 has length zero!"),
    (lambda m: m.nn.functional.avg_pool3d(m.zeros(3, 4, 5), 2), RuntimeError,
     "non-empty 4D or 5D (batch mode) tensor expected for input"),
    (lambda m: m.nn.functional.avg_pool3d(_x5(m), (2, 2, 2, 2)), RuntimeError,
     "avg_pool3d: kernel_size must be a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.avg_pool3d(_x5(m), 2, (2, 2, 2, 2)), RuntimeError,
     "avg_pool3d: stride must be omitted, a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.avg_pool3d(_x5(m), 2, 2, (0, 0, 0, 0)), RuntimeError,
     "avg_pool3d: padding must be a single int, or a tuple of three ints"),
    (lambda m: m.nn.functional.avg_pool3d(_x5(m), 2, 0, divisor_override=0), RuntimeError, "divisor must be not zero"),
    (lambda m: m.nn.functional.avg_pool3d(_x5(m), 5, padding=2), RuntimeError,
     "input image (T: 4 H: 5 W: 6) smaller than kernel size (kT: 5 kH: 5 kW: 5)"),
    (lambda m: m.nn.functional.avg_pool3d(m.zeros(0, 3, 4, 4), 2), RuntimeError,
     "avg_pool3d(): Expected input's non-batch dimensions to have positive length, but input has a shape of "
     "[0, 3, 4, 4] and non-batch dimension 0 has length zero!"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.zeros(5), 2), RuntimeError,
     "Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 'self' (while checking arguments for "
     "adaptive_max_pool1d)"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.zeros(2, 5), (2, 2)), RuntimeError,
     "adaptive_max_pool1d() argument 'output_size' should contain one int (got 2)"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.zeros(2, 5), None), TypeError,
     "adaptive_max_pool1d(): argument 'output_size' (position 2) must be tuple of ints, not NoneType"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.zeros(2, 0), 2), RuntimeError,
     "adaptive_max_pool1d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     "[2, 0] with dimension 1 being empty"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.zeros(2, 5), -1), RuntimeError,
     "Trying to create tensor with negative dimension -1: [2, 1, -1]"),
    (lambda m: m.nn.functional.adaptive_max_pool1d(m.arange(4).reshape(1, 4), 2), NotImplementedError,
     "\"adaptive_max_pool2d\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(5, 5), 2), RuntimeError,
     "adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: [5, 5]"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(2, 3, 5, 6), (2, 2, 2)), RuntimeError,
     "adaptive_max_pool2d(): internal error: output_size.size() must be 2"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(4, 4), (2, 2, 2)), ValueError,
     "Input dimension should be at least 4"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(2, 0, 3, 4), 2), RuntimeError,
     "adaptive_max_pool2d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     "[2, 0, 3, 4] with dimension 1 being empty"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(2, 3, 5, 6), (-1, 2)), RuntimeError,
     "Trying to create tensor with negative dimension -1: [2, 3, -1, 2]"),
    (lambda m: m.nn.functional.adaptive_max_pool2d(m.zeros(1, 4, 4, dtype=m.bool), 2), NotImplementedError,
     "\"adaptive_max_pool2d\" not implemented for 'Bool'"),
    (lambda m: m.nn.functional.adaptive_max_pool3d(m.zeros(3, 4, 5), 2), RuntimeError,
     "adaptive_max_pool3d(): Expected 4D or 5D tensor, but got: [3, 4, 5]"),
    (lambda m: m.nn.functional.adaptive_max_pool3d(_x5(m), (2, 2)), RuntimeError,
     "adaptive_max_pool3d(): internal error: output_size.size() must be 3"),
    (lambda m: m.nn.functional.adaptive_max_pool3d(m.ones(1, 1, 4, 4, dtype=m.int32), 2), NotImplementedError,
     "\"adaptive_max_pool3d_cpu\" not implemented for 'Int'"),
    (lambda m: m.nn.functional.adaptive_avg_pool3d(m.zeros(3, 4, 5), 2), RuntimeError,
     "adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got [3, 4, 5]"),
    (lambda m: m.nn.functional.adaptive_avg_pool3d(_x5(m), (2, 2)), RuntimeError,
     "adaptive_avg_pool3d: output_size must be 3"),
    (lambda m: m.nn.functional.adaptive_avg_pool3d(_x5(m), (-1, 2, 2)), RuntimeError,
     "adaptive_avg_pool3d: elements of output_size must be greater than or equal to 0 but received {-1, 2,2}"),
    (lambda m: m.nn.functional.adaptive_avg_pool3d(m.zeros(2, 3, 0, 4, 4), 2), RuntimeError,
     "adaptive_avg_pool3d(): Expected input to have non-zero size for non-batch dimensions, but input has sizes "
     "[2, 3, 0, 4, 4] with dimension 2 being empty"),
    (lambda m: m.nn.functional.adaptive_avg_pool3d(m.arange(24).reshape(1, 2, 3, 4), 2), NotImplementedError,
     "\"adaptive_avg_pool3d_cpu\" not implemented for 'Long'"),
]


def _w(m):
    return m.ones(6, 2)


def _bag(m, *args, **kwargs):
    return m.nn.functional.embedding_bag(*args, **kwargs)


BAG_ERRORS = [
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([1])), RuntimeError,
     "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. However, "
     "got 1\n[ torch.LongTensor{} ]"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([0, 3])), RuntimeError,
     "offsets[-1] can not be greater than input's length 2 but got offsets[-1] of 3"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([], dtype=m.int64), include_last_offset=True),
     RuntimeError, "include_last_offset: number of offset should be at least 1"),
    (lambda m: _bag(m, m.tensor([0, 1, 2]), _w(m), m.tensor([0, -1])), IndexError, "index out of range in self"),
    (lambda m: _bag(m, m.tensor([0, 6]), _w(m), m.tensor([0]), mode="max"), RuntimeError,
     "embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be 6"),
    (lambda m: _bag(m, m.tensor([0, -1]), _w(m).double(), m.tensor([0])), RuntimeError,
     "embedding_bag: Expected idx >= 0 && idx < num_embeddings but found idx to be -1"),
    (lambda m: _bag(m, m.tensor([0.0, 1.0]), _w(m), m.tensor([0])), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     "torch.FloatTensor instead (while checking arguments for embedding_bag)"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m).long(), m.tensor([0])), RuntimeError,
     "Expected tensor for argument #1 'weight' to have one of the following scalar types: Half, BFloat16, Float, "
     "Double; but got torch.LongTensor instead (while checking arguments for embedding_bag)"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([0]), mode="sum",
                    per_sample_weights=m.ones(2, dtype=m.float64)), RuntimeError,
     "Expected tensor for argument #1 'weight' to have the same type as tensor for argument #1 'per_sample_weights'; "
     "but type torch.FloatTensor does not equal torch.DoubleTensor (while checking arguments for embedding_bag)"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([0]), mode="sum", per_sample_weights=m.ones(3)), ValueError,
     "embedding_bag: If per_sample_weights (torch.Size([3])) is not None, then it must have the same shape as the "
     "input (torch.Size([2]))"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([0]), mode="mean", per_sample_weights=m.ones(2)),
     NotImplementedError, "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for "
     "mode='sum' (got mode='mean'). Please open a feature request on GitHub."),
    (lambda m: _bag(m, m.tensor([[0, 1]]), _w(m), m.tensor([0])), ValueError,
     "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length sequences. "
     "However, found offsets of type"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m)), ValueError, "offsets has to be a 1D Tensor but got None"),
    (lambda m: _bag(m, m.tensor([0, 1]), _w(m), m.tensor([[0]])), ValueError, "offsets has to be a 1D Tensor"),
    (lambda m: _bag(m, m.zeros(1, 1, 2, dtype=m.int64), _w(m)), ValueError,
     "input has to be 1D or 2D Tensor, but got Tensor of dimension 3"),
    (lambda m: _bag(m, m.tensor([0]), m.ones(3), m.tensor([0])), ValueError,
     "weight has to be a 2D Tensor, but got Tensor of dimension 1"),
    (lambda m: _bag(m, m.tensor([0]), _w(m), m.tensor([0]), mode="min"), ValueError,
     "mode has to be one of sum, mean or max"),
    (lambda m: _bag(m, m.tensor([0]), _w(m), m.tensor([0]), mode="max", scale_grad_by_freq=True), ValueError,
     "max mode does not support scaling the gradient by the frequency"),
    (lambda m: _bag(m, m.tensor([0]), _w(m), m.tensor([0]), mode="max", sparse=True), ValueError,
     "max mode does not support sparse weights"),
    (lambda m: _bag(m, m.tensor([0]), _w(m), m.tensor([0]), padding_idx=6), RuntimeError,
     "padding_idx must be within the number of embeddings, -6 through 5, but got 6"),
    (lambda m: _bag(m, m.zeros(2, 0, dtype=m.int64), _w(m)), RuntimeError, "step must be nonzero"),
]


def _torch_or_none():
    try:
        import torch
    except ImportError:
        return None
    return torch


@pytest.mark.parametrize("case", ERRORS + BAG_ERRORS, ids=[f"err-{i}" for i in range(len(ERRORS + BAG_ERRORS))])
def test_errors_read_like_pytorch(case):
    fn, kind, message = case
    with pytest.raises(kind, match=re.escape(message)):
        fn(sg)
    torch = _torch_or_none()
    if torch is not None:  # the table is PyTorch's own
        with pytest.raises(kind, match=re.escape(message)):
            fn(torch)


# ---------------------------------------------------------------------------
# @srcgrad.compile: a training step through EmbeddingBag and adaptive max pooling


def test_compiled_training_step_matches_define_by_run():
    def model():
        sg.manual_seed(0)
        return nn.EmbeddingBag(30, 12, mode="mean", padding_idx=0), nn.AdaptiveMaxPool1d(5), nn.Linear(5, 3)

    def step(mods, idx, target, lr):
        bag, pool, lin = mods
        h = pool(bag(idx).unsqueeze(1)).squeeze(1)  # (B, 12) -> (B, 5): overlapping bins of 12 / 5
        loss = F.cross_entropy(lin(h), target)
        loss.backward()
        with sg.no_grad():
            for m in (bag, lin):
                for p in m.parameters():
                    p -= lr * p.grad
                    p.grad = None
        return loss

    eager, traced = model(), model()
    compiled = sg.compile(step)
    rng = np.random.default_rng(9)
    for i in range(4):
        idx = sg.tensor(rng.integers(0, 30, (8, 6)))
        target = sg.tensor(rng.integers(0, 3, 8))
        want = step(eager, idx, target, 0.5 / (i + 1)).item()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (no fallback to define-by-run)
            got = compiled(traced, idx, target, 0.5 / (i + 1)).item()
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert compiled.compiles == 1
    for a, b in zip(eager[0].parameters(), traced[0].parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# PyTorch


def _random(rng, shape, nan=0.0, inf=0.0):
    """Rounded values (many ties), some NaN and some -inf."""
    x = np.round(rng.standard_normal(shape))
    u = rng.random(shape)
    x[u < nan] = np.nan
    x[(u >= nan) & (u < nan + inf)] = -np.inf
    return x


TORCH_POOLS = [
    (lambda f, x: f.adaptive_max_pool1d(x, 13, True), (3, 10)),
    (lambda f, x: f.adaptive_max_pool2d(x, (None, 11), True), (3, 7, 9)),
    (lambda f, x: f.adaptive_max_pool3d(x, (5, 2, 4), True), (2, 2, 4, 5, 6)),
    (lambda f, x: f.max_pool3d(x, (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 1), True, True), (2, 6, 7, 5)),
]


@pytest.mark.parametrize("nans", [False, True])
def test_max_pools_match_torch_with_ties_infinities_and_nans(nans):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    for fn, shape in TORCH_POOLS:
        x = _random(rng, shape, nan=0.2 if nans else 0.0, inf=0.2)
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        (ty, ti), (sy, si) = fn(torch.nn.functional, tx), fn(F, sx)
        assert sy.grad_fn.name() == ty.grad_fn.name()
        np.testing.assert_array_equal(si.numpy(), ti.numpy())
        np.testing.assert_array_equal(sy.detach().numpy(), ty.detach().numpy())
        gy, v = rng.standard_normal(tuple(ty.shape)), rng.standard_normal(shape)
        tgy, sgy = torch.tensor(gy, requires_grad=True), sg.tensor(gy, requires_grad=True)
        (tg,) = torch.autograd.grad(ty, tx, tgy, create_graph=True)
        (sgx,) = sg.autograd.grad(sy, sx, sgy, create_graph=True)
        np.testing.assert_allclose(sgx.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-12)
        (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tgy)  # d(gradient)/d(gy): the gather again
        (sh,) = sg.autograd.grad((sgx * sg.tensor(v)).sum(), sgy)
        np.testing.assert_allclose(sh.numpy(), th.numpy(), rtol=1e-12, atol=1e-12)


def test_average_pools_match_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(11)
    cases = [
        (lambda f, x: f.avg_pool3d(x, 3, 2, 1, True, False), (2, 2, 5, 6, 7)),
        (lambda f, x: f.avg_pool3d(x, (2, 3, 2), (1, 2, 1), (1, 1, 0), False, True, 5), (2, 6, 7, 5)),
        (lambda f, x: f.adaptive_avg_pool3d(x, (3, 2, 4)), (2, 2, 5, 6, 7)),
        (lambda f, x: f.adaptive_avg_pool3d(x, (2, None, 5)), (2, 4, 7, 5)),
        (lambda f, x: f.adaptive_avg_pool3d(x, 1), (2, 2, 5, 6, 7)),
        (lambda f, x: f.adaptive_avg_pool3d(x, (2, 3, 7)), (2, 2, 4, 6, 7)),  # equal bins
    ]
    for fn, shape in cases:
        x = rng.standard_normal(shape)
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        ty, sy = fn(tF, tx), fn(F, sx)
        assert sy.grad_fn.name() == ty.grad_fn.name()
        np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        gy = rng.standard_normal(tuple(ty.shape))
        (tg,) = torch.autograd.grad((ty * ty * torch.tensor(gy)).sum(), tx)
        (sgx,) = sg.autograd.grad((sy * sy * sg.tensor(gy)).sum(), sx)
        np.testing.assert_allclose(sgx.numpy(), tg.numpy(), rtol=1e-10, atol=1e-12)
    for theirs, mine in [(torch.nn.MaxPool3d(3, 2, 1, ceil_mode=True), nn.MaxPool3d(3, 2, 1, ceil_mode=True)),
                         (torch.nn.AvgPool3d((1, 2, 3), 2, 1), nn.AvgPool3d((1, 2, 3), 2, 1)),
                         (torch.nn.AdaptiveAvgPool3d((2, None, 3)), nn.AdaptiveAvgPool3d((2, None, 3))),
                         (torch.nn.AdaptiveMaxPool1d(3, True), nn.AdaptiveMaxPool1d(3, True)),
                         (torch.nn.AdaptiveMaxPool2d((2, None)), nn.AdaptiveMaxPool2d((2, None))),
                         (torch.nn.AdaptiveMaxPool3d(2), nn.AdaptiveMaxPool3d(2)),
                         (torch.nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum",
                                                padding_idx=-1),
                          nn.EmbeddingBag(5, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True, mode="sum",
                                          padding_idx=-1))]:
        assert repr(mine) == repr(theirs)


def test_grad_fn_edges_match_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional

    def tree(fn):
        return None if fn is None else (fn.name(), [tree(f) for f, _ in fn.next_functions])

    x = np.random.default_rng(12).standard_normal((2, 3, 4, 5, 6))
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    for fn in (lambda f, t: f.adaptive_max_pool3d(t, (2, 3, 4)), lambda f, t: f.adaptive_max_pool2d(t[0] * 2, 3),
               lambda f, t: f.adaptive_max_pool1d(t[0][0], 4), lambda f, t: f.max_pool3d(t[0], 2),
               lambda f, t: f.avg_pool3d(t, 2), lambda f, t: f.adaptive_avg_pool3d(t, (3, 2, 4)),
               lambda f, t: f.adaptive_avg_pool3d(t[0], (4, 5, 3))):
        assert tree(fn(F, sx).grad_fn) == tree(fn(tF, tx).grad_fn)
    w = np.random.default_rng(13).standard_normal((6, 3))
    tw, sw = torch.tensor(w, requires_grad=True), sg.tensor(w, requires_grad=True)
    tp, sp = torch.ones(4, dtype=torch.float64, requires_grad=True), sg.ones(4, dtype=sg.float64, requires_grad=True)
    for m, weight, psw in ((tF, tw, tp), (F, sw, sp)):
        lib = torch if m is tF else sg
        idx, off = lib.tensor([1, 2, 4, 5]), lib.tensor([0, 2])
        got = (tree(m.embedding_bag(idx, weight, off).grad_fn),
               tree(m.embedding_bag(idx, weight, off, mode="sum", per_sample_weights=psw).grad_fn))
        if m is tF:
            want = got
    assert got == want


BAG_TORCH = [
    # input, offsets, kwargs
    ([1, 4, 4, 0, 6, 2, 4, 3], [0, 3, 3, 5], {}),
    ([1, 4, 4, 0, 6, 2, 4, 3], [0, 3, 3, 5], {"padding_idx": -1}),
    ([5, 2, 2, 0, 1, 6, 3], [0, 2, 7], {"include_last_offset": True}),
    ([5, 2, 2, 0, 1, 6, 3], [0, 2, 6], {"include_last_offset": True, "padding_idx": 2}),
    ([[1, 4, 4], [0, 6, 2], [5, 5, 5]], None, {"padding_idx": 5}),
    ([3, 1, 2, 0], [0], {"scale_grad_by_freq": True}),  # (each index once: PyTorch's CPU rule agrees)
]


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_matches_torch(mode):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(14)
    for idx, off, kwargs in BAG_TORCH:
        if mode == "max" and kwargs.get("scale_grad_by_freq"):
            continue
        for nans in (False, True):
            w = _random(rng, (7, 5), nan=0.15 if nans else 0.0, inf=0.1)
            if mode != "max":
                w[~np.isfinite(w)] = 0.0  # (sums of infinities and NaNs compare poorly)
            tw, sw = torch.tensor(w, requires_grad=True), sg.tensor(w, requires_grad=True)
            psw = rng.standard_normal(np.shape(idx)) if mode == "sum" else None
            tp = None if psw is None else torch.tensor(psw, requires_grad=True)
            sp = None if psw is None else sg.tensor(psw, requires_grad=True)
            t_off = None if off is None else torch.tensor(off)
            s_off = None if off is None else sg.tensor(off)
            ty = tF.embedding_bag(torch.tensor(idx, dtype=torch.int64), tw, t_off, mode=mode, per_sample_weights=tp,
                                  **kwargs)
            sy = F.embedding_bag(sg.tensor(idx, dtype=sg.int64), sw, s_off, mode=mode, per_sample_weights=sp,
                                 **kwargs)
            np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
            gy = rng.standard_normal(tuple(ty.shape))
            ty.backward(torch.tensor(gy))
            sy.backward(sg.tensor(gy))
            np.testing.assert_allclose(sw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)
            if tp is not None:
                np.testing.assert_allclose(sp.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_embedding_bag_float32_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(15)
    w = rng.standard_normal((50, 16)).astype(np.float32)
    idx = rng.integers(0, 50, 40)
    off = np.sort(rng.choice(np.arange(1, 40), 9, replace=False))
    off = np.concatenate([[0], off])
    for mode in ("sum", "mean", "max"):
        ty = torch.nn.functional.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor(off), mode=mode)
        sy = F.embedding_bag(sg.tensor(idx), sg.tensor(w), sg.tensor(off), mode=mode)
        assert sy.dtype == sg.float32
        np.testing.assert_allclose(sy.numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)
