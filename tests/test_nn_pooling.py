"""Pooling (srcgrad/pooling.py): max/avg/adaptive-avg pooling values, indices and gradients against NumPy
references written here, float64 finite differences, jax.grad of a jax.numpy reference, second
derivatives, PyTorch's errors and reprs, and PyTorch itself where it is installed."""

from __future__ import annotations

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad import pooling as P
from srcgrad.autograd import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------
# NumPy references, written from PyTorch's CPU kernels (one window at a time)


def out_size(n, k, s, p, d, ceil):
    """PyTorch's pooling_output_shape."""
    num = n + 2 * p - d * (k - 1) - 1
    o = (-(-num // s) if ceil else num // s) + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def np_max_pool2d(x, k, s, p, d, ceil, gy=None):
    """Values, flat per-plane indices (first maximum of each window, row-major scan, padding skipped)
    and, given gy, the input gradient."""
    n, c, h, w = x.shape
    oh, ow = (out_size(a, k[i], s[i], p[i], d[i], ceil) for i, a in enumerate((h, w)))
    y = np.zeros((n, c, oh, ow))
    idx = np.zeros((n, c, oh, ow), np.int64)
    gx = np.zeros_like(x)
    for i, j in itertools.product(range(oh), range(ow)):
        pos = [(a, b) for a in range(i * s[0] - p[0], i * s[0] - p[0] + d[0] * (k[0] - 1) + 1, d[0])
               for b in range(j * s[1] - p[1], j * s[1] - p[1] + d[1] * (k[1] - 1) + 1, d[1])
               if 0 <= a < h and 0 <= b < w]
        vals = np.stack([x[:, :, a, b] for a, b in pos], axis=-1)  # (n, c, window)
        first = vals.argmax(-1)  # NumPy's argmax picks the first maximum
        y[:, :, i, j] = vals.max(-1)
        for q, (a, b) in enumerate(pos):
            hit = first == q
            idx[:, :, i, j][hit] = a * w + b
            if gy is not None:
                gx[:, :, a, b] += np.where(hit, gy[:, :, i, j], 0.0)
    return y, idx, gx


def np_avg_pool2d(x, k, s, p, ceil, count_include_pad, divisor_override, gy=None):
    n, c, h, w = x.shape
    oh, ow = (out_size(a, k[i], s[i], p[i], 1, ceil) for i, a in enumerate((h, w)))
    y = np.zeros((n, c, oh, ow))
    gx = np.zeros_like(x)
    for i, j in itertools.product(range(oh), range(ow)):
        hs, ws = i * s[0] - p[0], j * s[1] - p[1]
        he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
        pool_size = (he - hs) * (we - ws)
        hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
        div = divisor_override or (pool_size if count_include_pad else (he - hs) * (we - ws))
        y[:, :, i, j] = x[:, :, hs:he, ws:we].sum((2, 3)) / div
        if gy is not None:
            gx[:, :, hs:he, ws:we] += gy[:, :, i, j][:, :, None, None] / div
    return y, gx


def np_adaptive_avg_pool2d(x, oh, ow, gy=None):
    n, c, h, w = x.shape
    y = np.zeros((n, c, oh, ow))
    gx = np.zeros_like(x)
    for i, j in itertools.product(range(oh), range(ow)):
        hs, he = (i * h) // oh, -(-((i + 1) * h) // oh)
        ws, we = (j * w) // ow, -(-((j + 1) * w) // ow)
        y[:, :, i, j] = x[:, :, hs:he, ws:we].mean((2, 3))
        if gy is not None:
            gx[:, :, hs:he, ws:we] += gy[:, :, i, j][:, :, None, None] / ((he - hs) * (we - ws))
    return y, gx


def _pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


MAX_CASES = [
    # shape, kernel, stride, padding, dilation, ceil_mode
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 2, 7, 9), 3, 2, 1, 1, False),
    ((2, 2, 7, 9), 3, 2, 1, 1, True),
    ((1, 2, 6, 7), (2, 3), (1, 2), (1, 0), 1, True),
    ((1, 3, 9, 8), 3, 1, 1, 2, False),  # dilation, overlapping windows
    ((2, 1, 5, 6), 2, 2, 1, (1, 2), True),
    ((3, 7, 5), 2, 1, 0, 1, False),  # unbatched
]


def _max_args(case):
    shape, k, s, p, d, ceil = case
    return shape, _pair(k), _pair(k if s is None else s), _pair(p), _pair(d), ceil


@pytest.mark.parametrize("case", MAX_CASES, ids=[f"max-{i}" for i in range(len(MAX_CASES))])
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool2d_values_indices_and_gradients_match_numpy(case, ties):
    shape, k, s, p, d, ceil = _max_args(case)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    if ties:  # many equal values: the gradient goes to the first maximum of each window
        x = np.round(x)
    x4 = x if x.ndim == 4 else x[None]
    ref_y, ref_i, _ = np_max_pool2d(x4, k, s, p, d, ceil)
    gy = rng.standard_normal(ref_y.shape)
    _, _, ref_gx = np_max_pool2d(x4, k, s, p, d, ceil, gy)
    if x.ndim == 3:
        ref_y, ref_i, ref_gx, gy = ref_y[0], ref_i[0], ref_gx[0], gy[0]

    tx = sg.tensor(x, requires_grad=True)
    y, idx = P.max_pool2d(tx, case[1], case[2], case[3], case[4], case[5], return_indices=True)
    assert y.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert idx.dtype == sg.int64 and not idx.requires_grad
    np.testing.assert_array_equal(y.detach().numpy(), ref_y)
    np.testing.assert_array_equal(idx.numpy(), ref_i)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)


def test_max_pool_ties_go_to_the_first_maximum_and_overlapping_windows_add_up():
    x = sg.ones(1, 1, 3, 4, requires_grad=True)
    P.max_pool2d(x, 2, stride=1).sum().backward()  # 2 x 3 windows, each picks its top-left element
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 1, 0], [1, 1, 1, 0], [0, 0, 0, 0]])
    x = sg.tensor([[[0.0, 5.0, 5.0, 1.0, 5.0]]], requires_grad=True)
    y, i = P.max_pool1d(x, 3, stride=1, return_indices=True)
    assert i.tolist() == [[[1, 1, 2]]]
    y.sum().backward()
    assert x.grad.tolist() == [[[0.0, 2.0, 1.0, 0.0, 0.0]]]


def test_max_pool_of_minus_infinity_picks_an_element_inside_the_input():
    x = sg.full((1, 1, 3, 3), -math.inf, dtype=sg.float64, requires_grad=True)
    y, idx = P.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    assert idx.tolist() == [[[[0, 1], [3, 4]]]]  # PyTorch: the first element inside each window
    y.backward(sg.ones_like(y))
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


# NaN: PyTorch's scan takes a later element of a window when it is larger *or NaN* (`val > maxval ||
# isnan(val)`), so the last NaN of a window wins, while equal finite maxima go to the first
# (`_first_max` in srcgrad/lowering_helpers.py).
NAN, INF = math.nan, math.inf
# (values, kernel, stride, padding, dilation, PyTorch's indices, PyTorch's gradient of the sum)
NAN_CASES_1D = [
    ([NAN, 1.0, NAN], 3, None, 0, 1, [2], [0, 0, 1]),
    ([1.0, NAN, NAN], 3, None, 0, 1, [2], [0, 0, 1]),
    ([NAN, NAN, 1.0], 3, None, 0, 1, [1], [0, 1, 0]),
    ([INF, NAN, INF, NAN], 4, None, 0, 1, [3], [0, 0, 0, 1]),
    ([-INF, NAN, -INF, NAN], 3, 1, 1, 1, [1, 1, 3, 3], [0, 2, 0, 2]),
    ([NAN, 3.0, NAN, 3.0, NAN, 1.0], 3, 1, 0, 2, [4, 1], [0, 1, 0, 0, 1, 0]),
]


@pytest.mark.parametrize("case", NAN_CASES_1D, ids=[f"nan-{i}" for i in range(len(NAN_CASES_1D))])
def test_max_pool1d_nan_goes_to_the_last_nan_of_its_window(case):
    vals, k, s, p, d, idx, grad = case
    for dtype in (sg.float32, sg.float64, sg.float16):
        x = sg.tensor([[vals]], dtype=dtype, requires_grad=True)
        y, i = P.max_pool1d(x, k, s, p, d, return_indices=True)
        assert i.tolist() == [[idx]]
        np.testing.assert_array_equal(y.detach().numpy()[0, 0], np.array(vals)[idx])
        y.backward(sg.ones_like(y))
        assert x.grad.tolist() == [[grad]]


def test_max_pool2d_nan_goes_to_the_last_nan_of_its_window_and_second_derivatives_agree():
    x0 = np.array([[[[NAN, 1.0, 2.0], [3.0, NAN, 4.0], [NAN, 0.0, 1.0]]]])
    x = sg.tensor(x0, requires_grad=True)
    y, i = P.max_pool2d(x, 2, stride=1, return_indices=True)
    assert i.tolist() == [[[[4, 4], [6, 4]]]]  # (row-major scan: (2, 0) is the last NaN of the window at (1, 0))
    gy = sg.tensor(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), requires_grad=True)
    (g,) = sg.autograd.grad(y, x, gy, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy()[0, 0], [[0, 0, 0], [0, 7, 0], [3, 0, 0]])
    v = sg.tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    (h,) = sg.autograd.grad((g * v).sum(), gy)  # max_pool_select: v read where the gradient went
    np.testing.assert_array_equal(h.numpy()[0, 0], [[4, 4], [6, 4]])
    assert P.max_pool2d(sg.tensor([[[[1.0, NAN], [NAN, 1.0]]]]), 2, return_indices=True)[1].item() == 2


def test_max_pool_ties_of_equal_finite_values_and_infinities_go_to_the_first():
    for vals, idx in (([2.0, 2.0, 1.0], 0), ([1.0, 2.0, 2.0], 1), ([INF, 1.0, INF], 0), ([-INF] * 3, 0),
                      ([0.0, -0.0, 0.0], 0), ([-0.0, 0.0, 5.0, 5.0], 2)):
        x = sg.tensor([[vals]], requires_grad=True)
        y, i = P.max_pool1d(x, len(vals), return_indices=True)
        assert i.item() == idx
        y.sum().backward()
        assert x.grad.tolist() == [[[float(j == idx) for j in range(len(vals))]]]


@pytest.mark.parametrize("args", [(3, 1, 0, 1, False), (2, None, 0, 1, False), (3, 2, 1, 2, True), (4, 3, 2, 1, True)])
def test_max_pool1d_values_indices_and_gradients(args):
    k, s, p, d, ceil = args
    rng = np.random.default_rng(1)
    x = np.round(rng.standard_normal((2, 3, 11)) * 2)
    ref_y, ref_i, _ = np_max_pool2d(x[:, :, None], (1, k), (1, k if s is None else s), (0, p), (1, d), ceil)
    gy = rng.standard_normal(ref_y.shape)
    _, _, ref_gx = np_max_pool2d(x[:, :, None], (1, k), (1, k if s is None else s), (0, p), (1, d), ceil, gy)
    tx = sg.tensor(x, requires_grad=True)
    y, idx = P.max_pool1d(tx, k, s, p, d, ceil, return_indices=True)
    assert y.grad_fn.name() == "SqueezeBackward1"  # PyTorch pools 1-d input as a height-1 image too
    np.testing.assert_array_equal(y.detach().numpy(), ref_y[:, :, 0])
    np.testing.assert_array_equal(idx.numpy(), ref_i[:, :, 0])
    y.backward(sg.tensor(gy[:, :, 0]))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx[:, :, 0], rtol=1e-12, atol=1e-12)
    assert P.max_pool1d(sg.tensor(x[0]), k, s, p, d, ceil).shape == ref_y.shape[1:2] + ref_y.shape[3:]


AVG_CASES = [
    # shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((2, 3, 8, 8), 2, None, 0, False, True, None),
    ((2, 2, 7, 9), 3, 2, 1, False, True, None),
    ((2, 2, 7, 9), 3, 2, 1, True, True, None),
    ((2, 2, 7, 9), 3, 2, 1, True, False, None),
    ((1, 2, 5, 6), (2, 3), (1, 2), (1, 1), True, False, None),
    ((1, 2, 5, 6), 3, 2, 1, True, True, 5),
    ((3, 6, 5), 2, 1, 1, False, False, None),  # unbatched
]


@pytest.mark.parametrize("case", AVG_CASES, ids=[f"avg-{i}" for i in range(len(AVG_CASES))])
def test_avg_pool2d_values_and_gradients_match_numpy(case):
    shape, k, s, p, ceil, cip, div = case
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape)
    x4 = x if x.ndim == 4 else x[None]
    args = (_pair(k), _pair(k if s is None else s), _pair(p), ceil, cip, div)
    ref_y, _ = np_avg_pool2d(x4, *args)
    gy = rng.standard_normal(ref_y.shape)
    _, ref_gx = np_avg_pool2d(x4, *args, gy=gy)
    if x.ndim == 3:
        ref_y, ref_gx, gy = ref_y[0], ref_gx[0], gy[0]
    tx = sg.tensor(x, requires_grad=True)
    y = P.avg_pool2d(tx, k, s, p, ceil, cip, div)
    assert y.grad_fn.name() == "AvgPool2DBackward0"
    np.testing.assert_allclose(y.detach().numpy(), ref_y, rtol=1e-12, atol=1e-12)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)


def test_avg_pool1d_matches_the_2d_reference():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 10))
    for k, s, p, ceil, cip in [(3, 2, 1, True, False), (2, None, 0, False, True), (4, 3, 2, True, True)]:
        ref, _ = np_avg_pool2d(x[:, :, None], (1, k), (1, k if s is None else s), (0, p), ceil, cip, None)
        y = P.avg_pool1d(sg.tensor(x), k, s, p, ceil, cip)
        assert y.shape == ref[:, :, 0].shape
        np.testing.assert_allclose(y.numpy(), ref[:, :, 0], rtol=1e-12)


@pytest.mark.parametrize("out", [1, 2, 3, (2, 5), (None, 3), (7, 4), (4, None), (0, 2)])
def test_adaptive_avg_pool2d_uses_pytorch_bins(out):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 8))
    oh, ow = (out, out) if isinstance(out, int) else out
    oh, ow = 7 if oh is None else oh, 8 if ow is None else ow
    ref_y, _ = np_adaptive_avg_pool2d(x, oh, ow)
    gy = rng.standard_normal(ref_y.shape)
    _, ref_gx = np_adaptive_avg_pool2d(x, oh, ow, gy)
    tx = sg.tensor(x, requires_grad=True)
    y = P.adaptive_avg_pool2d(tx, out)
    assert y.shape == (2, 3, oh, ow)
    np.testing.assert_allclose(y.detach().numpy(), ref_y, rtol=1e-12, atol=1e-12)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-12, atol=1e-12)
    if (oh, ow) == (1, 1):
        assert y.grad_fn.name() == "MeanBackward1"  # as PyTorch
    elif oh * ow:
        assert y.grad_fn.name() == "AdaptiveAvgPool2DBackward0"


def test_adaptive_avg_pool1d_and_unbatched():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 10))
    for out in (1, 2, 3, 4, 10, 6):
        ref, _ = np_adaptive_avg_pool2d(x[None, :, None], 1, out)
        y = P.adaptive_avg_pool1d(sg.tensor(x), out)
        assert y.grad_fn is None and y.shape == (3, out)
        np.testing.assert_allclose(y.numpy(), ref[0, :, 0], rtol=1e-12)
    x3 = rng.standard_normal((4, 9, 6))
    np.testing.assert_allclose(P.adaptive_avg_pool2d(sg.tensor(x3), (2, 4)).numpy(),
                               np_adaptive_avg_pool2d(x3[None], 2, 4)[0][0], rtol=1e-12)


ACC = "torch::autograd::AccumulateGrad"


@pytest.mark.parametrize("out", [(3, 4), (7, 3), (2, 8), (7, 4), (1, 2)])
def test_adaptive_avg_pool_grad_fn_has_one_edge_the_input(out):
    """Unequal bins are products with bin-averaging matrices, shown as PyTorch's one function of the input
    (P.as_function), whose grad_fn is of the same class as the equal bins' average pool."""
    x = sg.randn(2, 3, 7, 8, dtype=sg.float64, requires_grad=True)
    kinds = set()
    for inp, first in ((x, ACC), (x * 2, "MulBackward0")):
        y = P.adaptive_avg_pool2d(inp, out)
        assert y.grad_fn.name() == "AdaptiveAvgPool2DBackward0"
        (edge,) = y.grad_fn.next_functions
        assert edge[1] == 0 and edge[0].name() == first
        kinds.add(type(y.grad_fn))
    assert kinds == {type(P.adaptive_avg_pool2d(x, (7, 4)).grad_fn)}
    y = P.adaptive_avg_pool1d(x[:, 0], out[1])  # (N, C, L): pooled as a height-1 image, as PyTorch
    assert y.grad_fn.name() == "SqueezeBackward1"
    ((pool, _),) = y.grad_fn.next_functions
    ((unsqueeze, _),) = pool.next_functions
    assert (pool.name(), unsqueeze.name()) == ("AdaptiveAvgPool2DBackward0", "UnsqueezeBackward0")


# ---------------------------------------------------------------------------
# gradients: finite differences, jax.grad of a jax.numpy reference, second derivatives

POOLS = {
    "max2d": lambda x: P.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    "max2d-dilated": lambda x: P.max_pool2d(x, 2, 1, 1, dilation=2),
    "max1d": lambda x: P.max_pool1d(x.flatten(2), 3, 2, 1),
    "avg2d": lambda x: P.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    "avg2d-override": lambda x: P.avg_pool2d(x, 2, 1, 1, divisor_override=3),
    "avg1d": lambda x: P.avg_pool1d(x.flatten(2), 4, 3, 2, ceil_mode=True),
    "adaptive2d": lambda x: P.adaptive_avg_pool2d(x, (3, 4)),
    "adaptive2d-even": lambda x: P.adaptive_avg_pool2d(x, (5, 3)),
    "adaptive1d": lambda x: P.adaptive_avg_pool1d(x.flatten(2), 7),
}


@pytest.mark.parametrize("name", list(POOLS))
def test_gradients_and_second_derivatives_against_finite_differences(name):
    fn = POOLS[name]
    rng = np.random.default_rng(6)
    x = sg.tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    assert gradcheck(fn, (x,))
    # a nonlinearity after the pool gives the second derivative something to see
    assert gradgradcheck(lambda t: fn(t) ** 2, (x,))
    assert gradgradcheck(lambda t: fn(t * t), (x,))


def _jnp_max_pool(x, k, s, p, d):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1) + k, (1, 1) + s, ((0, 0), (0, 0)) + p,
                                 window_dilation=(1, 1) + d)


def test_gradients_match_jax_grad_of_a_jax_reference():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 9, 8))  # distinct values: the gradient of a maximum is unambiguous
    for k, s, p, d in [((2, 2), (2, 2), (0, 0), (1, 1)), ((3, 3), (2, 1), (1, 1), (1, 1))]:  # (JAX cannot differentiate a dilated one)
        y = _jnp_max_pool(jnp.asarray(x), k, s, tuple((a, a) for a in p), d)
        gy = rng.standard_normal(y.shape)
        oracle = jax.grad(lambda a: (_jnp_max_pool(a, k, s, tuple((q, q) for q in p), d) * gy).sum())(jnp.asarray(x))
        tx = sg.tensor(x, requires_grad=True)
        (P.max_pool2d(tx, k, s, p, d) * sg.tensor(gy)).sum().backward()
        np.testing.assert_allclose(tx.grad.numpy(), np.asarray(oracle), rtol=1e-12, atol=1e-12)
    # average pooling: window sums over the divisor read off the NumPy reference
    k, s, p = (3, 3), (2, 2), (1, 1)
    ones = np.ones((1, 1, 9, 8))
    sums = np.asarray(jax.lax.reduce_window(jnp.asarray(ones), 0.0, jax.lax.add, (1, 1, 3, 3), (1, 1, 2, 2),
                                            ((0, 0), (0, 0), (1, 1), (1, 1))))
    divisor = sums / np_avg_pool2d(ones, k, s, p, False, False, None)[0]

    def jnp_avg(a):
        return jax.lax.reduce_window(a, 0.0, jax.lax.add, (1, 1, 3, 3), (1, 1, 2, 2),
                                     ((0, 0), (0, 0), (1, 1), (1, 1))) / divisor

    gy = rng.standard_normal(jnp_avg(jnp.asarray(x)).shape)
    oracle = jax.grad(lambda a: (jnp_avg(a) * gy).sum())(jnp.asarray(x))
    tx = sg.tensor(x, requires_grad=True)
    (P.avg_pool2d(tx, k, s, p, count_include_pad=False) * sg.tensor(gy)).sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), np.asarray(oracle), rtol=1e-12, atol=1e-12)


def test_second_derivative_of_max_pool_reads_the_same_maxima():
    """d/dg of max_pool_backward(g, x) is max_pool_select: a Hessian-vector product through
    max_pool(x) ** 2 equals 2 * v at each window's maximum, scattered back."""
    rng = np.random.default_rng(8)
    x0 = rng.standard_normal((1, 2, 6, 6))
    v = rng.standard_normal(x0.shape)
    x = sg.tensor(x0, requires_grad=True)
    (g,) = sg.autograd.grad((P.max_pool2d(x, 3, 1, 1) ** 2).sum(), x, create_graph=True)
    (hv,) = sg.autograd.grad((g * sg.tensor(v)).sum(), x)
    _, idx, _ = np_max_pool2d(x0, (3, 3), (1, 1), (1, 1), (1, 1), False)
    flat_v = v.reshape(1, 2, -1)
    picked = np.take_along_axis(flat_v, idx.reshape(1, 2, -1), -1)  # v at each window's maximum
    expect = np.zeros_like(flat_v)
    for c in range(2):
        np.add.at(expect[0, c], idx[0, c].reshape(-1), 2 * picked[0, c])
    np.testing.assert_allclose(hv.numpy(), expect.reshape(x0.shape), rtol=1e-12)


def test_generated_code_calls_the_pooling_helpers():
    sg.clear_cache()
    x = sg.randn(2, 3, 8, 8, requires_grad=True)
    (P.max_pool2d(x, 2) + 0).sum().backward()
    (P.avg_pool2d(x, 3, 2, 1)).sum().backward()
    src = "\n".join(p.source for p in sg._CACHE.history)
    for call in ("sg.max_pool(", "sg.max_pool_backward(", "sg.avg_pool(", "sg.avg_pool_backward("):
        assert call in src


def test_float32_and_integer_input():
    x = np.random.default_rng(9).standard_normal((2, 3, 6, 6)).astype(np.float32)
    y = P.max_pool2d(sg.tensor(x), 2)
    assert y.dtype == sg.float32
    np.testing.assert_array_equal(y.numpy(), np_max_pool2d(x.astype(np.float64), (2, 2), (2, 2), (0, 0), (1, 1),
                                                           False)[0].astype(np.float32))
    a = sg.arange(25).reshape(1, 1, 5, 5)
    assert P.max_pool2d(a, 2, padding=1).tolist() == [[[[0, 2, 4], [10, 12, 14], [20, 22, 24]]]]


def test_empty_batch():
    x = sg.randn(0, 3, 4, 4, requires_grad=True)
    for fn in (lambda t: P.max_pool2d(t, 2), lambda t: P.avg_pool2d(t, 3, 1, 1), lambda t: P.adaptive_avg_pool2d(t, 3)):
        y = fn(x)
        assert y.shape[:2] == (0, 3)
        y.sum().backward()
        assert x.grad.shape == x.shape
        x.grad = None


# ---------------------------------------------------------------------------
# errors and modules


def test_errors_read_like_pytorch():
    x = sg.randn(2, 3, 8, 8)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size, but got pad=2, "
                                           "kernel_size=3 and dilation=1"):
        P.max_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        P.avg_pool2d(x, 3, padding=2)
    with pytest.raises(RuntimeError, match=r"Given input size: \(3x8x8\)\. Calculated output size: \(3x0x0\)\. "
                                           r"Output size is too small"):
        P.max_pool2d(x, 9)
    with pytest.raises(RuntimeError, match="stride should not be zero"):
        P.max_pool2d(x, 2, stride=0)
    with pytest.raises(RuntimeError, match=r"non-empty 3D or 4D \(batch mode\) tensor expected for input"):
        P.max_pool2d(sg.randn(8, 8), 2)
    with pytest.raises(RuntimeError, match="max_pool2d: kernel_size must either be a single int, or a tuple of two"):
        P.max_pool2d(x, (2, 2, 2))
    with pytest.raises(RuntimeError, match=r"max_pool1d: Expected 2D or 3D \(batch mode\) tensor with optional 0 dim "
                                           r"batch size for input, but got:\[8\]"):
        P.max_pool1d(sg.randn(8), 2)
    with pytest.raises(RuntimeError, match="max_pool1d\\(\\) padding should be at most half of kernel size, but got "
                                           "padding=2 and kernel_size=2"):
        P.max_pool1d(sg.randn(2, 3, 5), 2, padding=2)
    with pytest.raises(RuntimeError, match=r"max_pool1d\(\) Invalid computed output size: 0"):
        P.max_pool1d(sg.randn(2, 3, 1), 2)
    with pytest.raises(RuntimeError, match="Expected 2 to 3 dimensions, but got 1-dimensional tensor for argument #1 "
                                           "'self' \\(while checking arguments for avg_pool1d\\)"):
        P.avg_pool1d(sg.randn(8), 2)
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        P.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(RuntimeError, match=r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[8, 8\]"):
        P.adaptive_avg_pool2d(sg.randn(8, 8), 2)
    with pytest.raises(RuntimeError, match="adaptive_avg_pool2d: output_size must be 2"):
        P.adaptive_avg_pool2d(x, (3,))
    with pytest.raises(RuntimeError, match="Expected input to have non-zero size for non-batch dimensions"):
        P.adaptive_avg_pool2d(sg.randn(2, 3, 0, 5), 1)


def test_modules_forward_and_repr_like_pytorch():
    x = sg.randn(2, 3, 8, 8)
    cases = [
        (nn.MaxPool2d(2), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
         P.max_pool2d(x, 2)),
        (nn.MaxPool1d(3, 2, 1, 2, False, True), "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, "
         "ceil_mode=True)", P.max_pool1d(x.flatten(2), 3, 2, 1, 2, True)),
        (nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False, divisor_override=2),
         "AvgPool2d(kernel_size=3, stride=2, padding=1)", P.avg_pool2d(x, 3, 2, 1, True, False, 2)),
        (nn.AvgPool1d(3, padding=1), "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(1,))",
         P.avg_pool1d(x.flatten(2), 3, padding=1)),
        (nn.AdaptiveAvgPool2d((2, None)), "AdaptiveAvgPool2d(output_size=(2, None))", P.adaptive_avg_pool2d(x, (2, 8))),
        (nn.AdaptiveAvgPool1d(5), "AdaptiveAvgPool1d(output_size=5)", P.adaptive_avg_pool1d(x.flatten(2), 5)),
    ]
    for module, text, expect in cases:
        assert repr(module) == text
        inp = x.flatten(2) if "1d" in text else x
        np.testing.assert_array_equal(module(inp).numpy(), expect.numpy())
    y, idx = nn.MaxPool2d(2, return_indices=True)(x)
    assert idx.shape == y.shape == (2, 3, 4, 4)


# ---------------------------------------------------------------------------
# PyTorch


def test_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    rng = np.random.default_rng(10)
    cases = [
        (lambda f, x: f.max_pool2d(x, 3, 2, 1, 1, True, True), (2, 3, 7, 9), True),
        (lambda f, x: f.max_pool2d(x, (2, 3), (1, 2), (1, 1), 2, False, True), (2, 2, 8, 9), True),
        (lambda f, x: f.max_pool1d(x, 3, 2, 1, 1, True, True), (2, 3, 10), True),
        (lambda f, x: f.avg_pool2d(x, 3, 2, 1, True, False), (2, 3, 7, 9), False),
        (lambda f, x: f.avg_pool2d(x, 2, 1, 1, False, True, 3), (3, 6, 5), False),
        (lambda f, x: f.avg_pool1d(x, 4, 3, 2, True, True), (2, 3, 10), False),
        (lambda f, x: f.adaptive_avg_pool2d(x, (3, 5)), (2, 3, 7, 9), False),
        (lambda f, x: f.adaptive_avg_pool2d(x, 1), (2, 3, 7, 9), False),
        (lambda f, x: f.adaptive_avg_pool1d(x, 4), (2, 3, 10), False),
    ]
    for fn, shape, ties in cases:
        x = rng.standard_normal(shape)
        if ties:
            x = np.round(x)
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        ty, sy = fn(tF, tx), fn(P, sx)
        if isinstance(ty, tuple):
            np.testing.assert_array_equal(sy[1].numpy(), ty[1].numpy())
            ty, sy = ty[0], sy[0]
        assert sy.grad_fn.name() == ty.grad_fn.name()
        np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        gy = rng.standard_normal(tuple(ty.shape))
        v = rng.standard_normal(shape)
        # the gradient of <y**2, gy>, and the gradient of <that gradient, v> (a Hessian-vector product)
        (tg,) = torch.autograd.grad((ty * ty * torch.tensor(gy)).sum(), tx, create_graph=True)
        (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
        (sgx,) = sg.autograd.grad((sy * sy * sg.tensor(gy)).sum(), sx, create_graph=True)
        (sh,) = sg.autograd.grad((sgx * sg.tensor(v)).sum(), sx)
        np.testing.assert_allclose(sgx.detach().numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sh.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)
    for theirs, mine in [(torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
                         (torch.nn.MaxPool1d(2), nn.MaxPool1d(2)), (torch.nn.AvgPool1d(3, padding=1),
                                                                     nn.AvgPool1d(3, padding=1)),
                         (torch.nn.AvgPool2d((2, 3), ceil_mode=True), nn.AvgPool2d((2, 3), ceil_mode=True)),
                         (torch.nn.AdaptiveAvgPool2d((2, None)), nn.AdaptiveAvgPool2d((2, None))),
                         (torch.nn.AdaptiveAvgPool1d(3), nn.AdaptiveAvgPool1d(3))]:
        assert repr(mine) == repr(theirs)


def _random_with_nans(rng, shape, nan=0.2, inf=0.1):
    """Rounded values (many ties), some NaN and some -inf."""
    x = np.round(rng.standard_normal(shape))
    u = rng.random(shape)
    x[u < nan] = np.nan
    x[(u >= nan) & (u < nan + inf)] = -np.inf
    return x


MAX_POOLS_TORCH = [
    (lambda f, x: f.max_pool2d(x, 3, 2, 1, 1, True, True), (2, 3, 7, 9)),
    (lambda f, x: f.max_pool2d(x, (2, 3), (1, 2), (1, 1), 2, False, True), (2, 2, 8, 9)),
    (lambda f, x: f.max_pool2d(x, 2, 1, 0, 1, False, True), (3, 6, 5)),
    (lambda f, x: f.max_pool1d(x, 3, 2, 1, 1, True, True), (2, 3, 10)),
    (lambda f, x: f.max_pool1d(x, 4, 1, 2, 2, False, True), (2, 3, 12)),
]


def _max_pool_against_torch(torch, x):
    """Values, indices, the gradient and d(gradient)/d(gy) of each pool in MAX_POOLS_TORCH on x (a
    function of the input's shape) in srcgrad and PyTorch."""
    rng = np.random.default_rng(11)
    for fn, shape in MAX_POOLS_TORCH:
        xs = x(shape)
        tx, sx = torch.tensor(xs, requires_grad=True), sg.tensor(xs, requires_grad=True)
        (ty, ti), (sy, si) = fn(torch.nn.functional, tx), fn(P, sx)
        np.testing.assert_array_equal(si.numpy(), ti.numpy())
        np.testing.assert_array_equal(sy.detach().numpy(), ty.detach().numpy())
        gy, v = rng.standard_normal(tuple(ty.shape)), rng.standard_normal(shape)
        tgy, sgy = torch.tensor(gy, requires_grad=True), sg.tensor(gy, requires_grad=True)
        (tg,) = torch.autograd.grad(ty, tx, tgy, create_graph=True)
        (sgx,) = sg.autograd.grad(sy, sx, sgy, create_graph=True)
        np.testing.assert_allclose(sgx.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-12)
        (th,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tgy)
        (sh,) = sg.autograd.grad((sgx * sg.tensor(v)).sum(), sgy)
        np.testing.assert_allclose(sh.numpy(), th.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool_ties_and_infinities_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    _max_pool_against_torch(torch, lambda shape: _random_with_nans(rng, shape, nan=0.0, inf=0.3))


def test_max_pool_nans_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    _max_pool_against_torch(torch, lambda shape: _random_with_nans(rng, shape))


def test_adaptive_avg_pool_grad_fn_edges_match_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional

    def tree(fn):
        return None if fn is None else (fn.name(), [tree(f) for f, _ in fn.next_functions])

    x = np.random.default_rng(14).standard_normal((2, 3, 7, 8))
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    for out in [(3, 4), (7, 3), (2, 8), (7, 4), (1, 2), 1, (None, 5)]:
        assert tree(P.adaptive_avg_pool2d(sx, out).grad_fn) == tree(tF.adaptive_avg_pool2d(tx, out).grad_fn)
        assert tree(P.adaptive_avg_pool2d(sx[0] * 2, out).grad_fn) == tree(tF.adaptive_avg_pool2d(tx[0] * 2, out).grad_fn)
    for out in (3, 4, 8):
        assert tree(P.adaptive_avg_pool1d(sx[:, 0], out).grad_fn) == tree(tF.adaptive_avg_pool1d(tx[:, 0], out).grad_fn)
