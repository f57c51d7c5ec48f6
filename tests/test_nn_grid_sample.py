"""F.affine_grid and F.grid_sample: values and gradients (input, grid, theta) against a NumPy reference written
here from PyTorch's CPU kernels (GridSampler.h, GridSamplerKernel.cpp, AffineGridGenerator.cpp) for every mode x
padding_mode x align_corners, float64 finite differences, exact borders, PyTorch's warnings and error messages,
an ``@srcgrad.compile`` spatial-transformer training step, and PyTorch itself where it is installed."""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest

import srcgrad as sg
import srcgrad.ir
from srcgrad import nn
from srcgrad.autograd import gradcheck
from srcgrad.nn import functional as F


def _torch():
    """PyTorch where it is installed (an oracle only: every check below also runs without it), else None;
    imported by the tests that use it, not when the file is collected."""
    try:
        import torch
    except ImportError:  # pragma: no cover - PyTorch is optional
        return None
    return torch


PADDINGS = ("zeros", "border", "reflection")
ALIGNS = (False, True)
COMBOS = list(itertools.product(PADDINGS, ALIGNS))
A = -0.75  # PyTorch's cubic convolution constant

# ---------------------------------------------------------------------------
# NumPy reference: one output point at a time, in float64, as PyTorch's scalar kernels (GridSampler.h) compute
# positions and their gradient multipliers


def _unnormalize(g, size, align):
    if align:
        return (g + 1) / 2 * (size - 1), (size - 1) / 2
    return ((g + 1) * size - 1) / 2, size / 2


def _clip(x, size):
    """clip_coordinates_set_grad: the borders count as outside (gradient 0)."""
    if x <= 0:
        return 0.0, 0.0
    if x >= size - 1:
        return float(size - 1), 0.0
    return x, 1.0


def _reflect(x, twice_low, twice_high):
    """reflect_coordinates_set_grad."""
    if twice_low == twice_high:
        return 0.0, 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    x = x - low
    mult = -1.0 if x < 0 else 1.0
    x = abs(x)
    extra, flips = math.fmod(x, span), math.floor(x / span)
    if flips % 2 == 0:
        return extra + low, mult
    return span - extra + low, -mult


def _pad(x, size, padding, align):
    """compute_coordinates with the gradient multiplier of the padding."""
    if padding == "border":
        return _clip(x, size)
    if padding == "reflection":
        x, d1 = _reflect(x, 0, 2 * (size - 1)) if align else _reflect(x, -1, 2 * size - 1)
        x, d2 = _clip(x, size)
        return x, d1 * d2
    return x, 1.0


def _index(i, size, padding, align):
    """A tap's index in bounds, or None (zeros padding): get_value_bounded for bicubic, the in-bound test else."""
    if padding != "zeros":
        i = int(_pad(float(i), size, padding, align)[0])
    return int(i) if 0 <= i < size else None


def _cubic(t):
    """The four weights of the taps at -1, 0, 1, 2 and their derivatives with respect to t."""
    def c1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def c2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    def d1(x):
        return 3 * (A + 2) * x * x - 2 * (A + 3) * x

    def d2(x):
        return 3 * A * x * x - 10 * A * x + 8 * A

    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)], [d2(t + 1), d1(t), -d1(1 - t), -d2(2 - t)]


def _axis_taps(g, size, mode, padding, align):
    """[(index or None, weight, d weight / d grid coordinate)] along one axis."""
    if mode == "bicubic":
        x, mult = _unnormalize(g, size, align)
        x0 = math.floor(x)
        w, dw = _cubic(x - x0)
        return [(_index(x0 - 1 + k, size, padding, align), w[k], dw[k] * mult) for k in range(4)]
    x, mult = _unnormalize(g, size, align)
    x, d = _pad(x, size, padding, align)
    mult *= d
    if mode == "nearest":
        return [(_index(int(np.rint(x)), size, "zeros", align), 1.0, 0.0)]
    x0 = math.floor(x)
    t = x - x0
    return [(_index(x0, size, "zeros", align), 1 - t, -mult), (_index(x0 + 1, size, "zeros", align), t, mult)]


def ref_grid_sample(x, grid, mode, padding, align, gout=None):
    """(output, grad_input, grad_grid) of grid_sample (the gradients for output gradient ``gout``)."""
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    nsp = len(spatial)
    out_sp = grid.shape[1:-1]
    out = np.zeros((n, c) + out_sp)
    gout = np.zeros_like(out) if gout is None else gout
    gx, gg = np.zeros_like(x), np.zeros_like(grid)
    for b in range(n):
        for pos in itertools.product(*(range(s) for s in out_sp)):
            # axis a of the input (D, H, W) reads grid coordinate nsp - 1 - a (z, y, x)
            taps = [_axis_taps(grid[(b,) + pos + (nsp - 1 - a,)], spatial[a], mode, padding, align)
                    for a in range(nsp)]
            go = gout[(b, slice(None)) + pos]
            for combo in itertools.product(*taps):
                if any(i is None for i, _, _ in combo):
                    continue
                idx = (b, slice(None)) + tuple(i for i, _, _ in combo)
                w = math.prod(t[1] for t in combo)
                out[(b, slice(None)) + pos] += x[idx] * w
                gx[idx] += go * w
                for a in range(nsp):
                    dw = combo[a][2] * math.prod(t[1] for k, t in enumerate(combo) if k != a)
                    gg[(b,) + pos + (nsp - 1 - a,)] += float((x[idx] * go).sum()) * dw
    return out, gx, gg


def ref_affine_base(size, align):
    """(*spatial, nsp + 1): the normalised output coordinates (x, y[, z], 1)."""
    def lin(s):
        if s <= 1:
            return np.zeros(1)
        r = np.linspace(-1, 1, s)
        return r if align else r * (s - 1) / s

    coords = np.meshgrid(*(lin(s) for s in size[2:]), indexing="ij")
    return np.stack([*coords[::-1], np.ones_like(coords[0])], -1)


def ref_affine_grid(theta, size, align):
    base = ref_affine_base(size, align)
    return np.einsum("...k,njk->n...j", base, theta)


TOL = dict(rtol=1e-10, atol=1e-12)  # (float64)


def _realize(*tensors):
    """Compute pending tensors in one program (each is on the way to their concatenation)."""
    sg.cat([t.reshape(-1) for t in tensors]).numpy()


# Grid coordinates that land exactly on something (dyadic, so exact in float64, for input sizes 2, 4 and 8):
# -1 and 1 (the corner pixels' centres with align_corners, their outer edges without: the reflection lines),
# -1 + 1/size and 1 - 1/size (the corner pixels' centres without align_corners: the clipping borders),
# half-pixel ties for nearest, pixel centres, and +-3, +-5 (reflected more than once, some exactly onto a border)
SPECIAL = np.array([-5.0, -3.0, -1.5, -1.0, -0.875, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 0.875, 1.0, 1.5,
                    3.0, 5.0])


def _data(nsp, seed=0):
    """A small input (sizes 2, 4 and 8) and a grid: random points in [-1.7, 1.7] (some outside [-1, 1]), then
    each special coordinate on one axis at a time (the others random) and on all axes at once."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2, 4, 8) if nsp == 2 else (2, 2, 2, 4, 8))
    points = [rng.uniform(-1.7, 1.7, (16, nsp))]
    for axis in range(nsp):
        p = rng.uniform(-1.2, 1.2, (len(SPECIAL), nsp))
        p[:, axis] = SPECIAL
        points.append(p)
    points.append(np.repeat(SPECIAL[:, None], nsp, 1))
    points = np.concatenate(points)
    points = np.concatenate([points, rng.uniform(-1.7, 1.7, (-len(points) % 8, nsp))])
    grid = np.stack([points, points[::-1]])  # (the two batch elements)
    return x, grid.reshape((2, -1, 4, nsp) if nsp == 2 else (2, -1, 2, 2, nsp))


# ---------------------------------------------------------------------------
# every mode x padding_mode x align_corners: values, input and grid gradients (also exactly at the borders)


CASES = [(2, "bilinear"), (2, "nearest"), (2, "bicubic"), (3, "bilinear"), (3, "nearest")]


@pytest.mark.parametrize("nsp, mode", CASES, ids=[f"{n}d-{m}" for n, m in CASES])
def test_values_and_gradients_match_the_reference_and_torch(nsp, mode):
    torch = _torch()
    x, grid = _data(nsp)
    rng = np.random.default_rng(1)
    runs = []
    loss = 0
    for padding, align in COMBOS:  # (the six in one program: a pair of leaves each)
        sx, sgr = sg.tensor(x, requires_grad=True), sg.tensor(grid, requires_grad=True)
        out = F.grid_sample(sx, sgr, mode, padding, align)
        gout = rng.standard_normal(out.shape)
        loss = loss + (out * sg.tensor(gout)).sum()
        runs.append((padding, align, sx, sgr, out, gout))
    loss.backward()
    for padding, align, sx, sgr, out, gout in runs:
        what = f"{mode} {padding} align_corners={align}"
        assert type(out.grad_fn).__name__ == f"GridSampler{nsp}DBackward0"
        want, want_gx, want_gg = ref_grid_sample(x, grid, mode, padding, align, gout)
        np.testing.assert_allclose(out.detach().numpy(), want, **TOL, err_msg=what)
        np.testing.assert_allclose(sx.grad.numpy(), want_gx, **TOL, err_msg=what)
        np.testing.assert_allclose(sgr.grad.numpy(), want_gg, rtol=1e-9, atol=1e-10, err_msg=what)
        if mode == "nearest":
            assert not sgr.grad.numpy().any()
        if torch is not None:
            tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(grid, requires_grad=True)
            to = torch.nn.functional.grid_sample(tx, tg, mode, padding, align)
            to.backward(torch.tensor(gout))
            np.testing.assert_allclose(out.detach().numpy(), to.detach().numpy(), **TOL, err_msg=what)
            np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), **TOL, err_msg=what)
            np.testing.assert_allclose(sgr.grad.numpy(), tg.grad.numpy(), rtol=1e-9, atol=1e-10, err_msg=what)


def test_border_gradient_is_zero_at_and_beyond_the_border():
    """The clipped coordinate's gradient is 0 on the border itself (PyTorch's convention), 1 just inside."""
    x = sg.tensor([[[[0.0, 1.0, 3.0, 6.0]]]], dtype=sg.float64)
    g = sg.tensor([[[[-1.0, 0.0], [-0.5, 0.0], [1.0, 0.0], [1.25, 0.0], [0.5, 0.0]]]], dtype=sg.float64,
                  requires_grad=True)
    F.grid_sample(x, g, "bilinear", "border", align_corners=True).sum().backward()
    # x = 1.5 * (g + 1): 0 and 3 are borders, 3.375 beyond; 0.75 and 2.25 inside (slopes 1 and 3, times 1.5)
    np.testing.assert_array_equal(g.grad.numpy()[0, 0, :, 0], [0.0, 1.5, 0.0, 0.0, 4.5])


def test_float32_matches_torch_in_its_own_arithmetic():
    """float32 on both sides (the 2-d kernel's and the 3-d kernel's unnormalisation, reflection and weights)."""
    t = pytest.importorskip("torch")
    runs = []
    loss = 0
    for nsp, mode, padding, align in [(2, "bilinear", "reflection", False), (3, "bilinear", "reflection", True)]:
        x, grid = (a.astype(np.float32) for a in _data(nsp, seed=3))
        sx, sgr = sg.tensor(x, requires_grad=True), sg.tensor(grid, requires_grad=True)
        out = F.grid_sample(sx, sgr, mode, padding, align)
        assert out.dtype is sg.float32
        loss = loss + out.square().sum()
        tx, tg = t.tensor(x, requires_grad=True), t.tensor(grid, requires_grad=True)
        to = t.nn.functional.grid_sample(tx, tg, mode, padding, align)
        to.square().sum().backward()
        runs.append(((out, to), (sx, tx), (sgr, tg)))
    loss.backward()
    for (out, to), (sx, tx), (sgr, tg) in runs:
        np.testing.assert_allclose(out.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(sgr.grad.numpy(), tg.grad.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------
# finite differences


def test_gradcheck_grid_sample():
    rng = np.random.default_rng(4)
    shapes = [(1, 1, 2, 3), (1, 1, 3, 2), (1, 1, 2, 2, 2), (1, 1, 1, 2, 3)]  # input and grid, 2-d then 3-d
    flat = np.concatenate([rng.standard_normal(8), rng.uniform(-1.8, 1.8, 6), rng.standard_normal(8),
                           rng.uniform(-1.8, 1.8, 6)])
    flat = np.delete(flat, [6, 7])  # (the 2-d input has 6 elements)

    def sample(v):  # (one input and one output: few programs)
        ends = np.cumsum([math.prod(s) for s in shapes])
        x2, g2, x3, g3 = (v[e - math.prod(s):e].reshape(s) for s, e in zip(shapes, ends))
        return sg.cat([F.grid_sample(x2, g2, "bilinear", "reflection", False).flatten(),
                       F.grid_sample(x2, g2, "bicubic", "border", True).flatten(),
                       F.grid_sample(x3, g3, "bilinear", "reflection", True).flatten()])

    assert gradcheck(sample, (sg.tensor(flat, requires_grad=True),))


# ---------------------------------------------------------------------------
# affine_grid


def test_affine_grid_values_and_theta_gradient():
    torch = _torch()
    rng = np.random.default_rng(5)
    runs = []
    loss = 0
    for size, align in itertools.product([(2, 3, 4, 5), (2, 1, 1, 3), (2, 1, 3, 4, 2), (2, 2, 2, 1, 3)], ALIGNS):
        nsp = len(size) - 2
        theta = rng.standard_normal((2, nsp, nsp + 1))
        st = sg.tensor(theta, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (unit sizes with align_corners=True warn)
            got = F.affine_grid(st, size, align_corners=align)
        assert got.shape == (2, *size[2:], nsp) and type(got.grad_fn).__name__ == "AffineGridGeneratorBackward0"
        w = rng.standard_normal(got.shape)
        loss = loss + (got * sg.tensor(w)).sum()
        runs.append((size, align, theta, st, got, w))
    loss.backward()
    for size, align, theta, st, got, w in runs:
        nsp = len(size) - 2
        base = ref_affine_base(size, align).reshape(-1, nsp + 1)
        np.testing.assert_allclose(got.detach().numpy(), ref_affine_grid(theta, size, align), rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(st.grad.numpy(), np.swapaxes(w.reshape(2, -1, nsp), 1, 2) @ base, rtol=1e-12,
                                   atol=1e-12)
        if torch is not None:
            tt = torch.tensor(theta, requires_grad=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                to = torch.nn.functional.affine_grid(tt, size, align_corners=align)
            to.backward(torch.tensor(w))
            np.testing.assert_allclose(got.detach().numpy(), to.detach().numpy(), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(st.grad.numpy(), tt.grad.numpy(), rtol=1e-12, atol=1e-12)
    theta = sg.tensor(rng.standard_normal((1, 3, 4)), requires_grad=True)
    assert gradcheck(lambda t: F.affine_grid(t, (1, 1, 2, 2, 3), align_corners=False), (theta,))


def test_affine_grid_float32_matches_torch_linspace():
    t = pytest.importorskip("torch")
    theta = np.random.default_rng(6).standard_normal((3, 2, 3)).astype(np.float32)
    for size, align in itertools.product([(3, 1, 7, 9), (3, 2, 12, 5)], ALIGNS):
        got = F.affine_grid(sg.tensor(theta), size, align_corners=align).numpy()
        want = t.nn.functional.affine_grid(t.tensor(theta), size, align_corners=align).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_identity_affine_grid_samples_the_input_back():
    x = sg.tensor(np.random.default_rng(7).standard_normal((2, 3, 5, 6)), dtype=sg.float64)
    outs = []
    for align in ALIGNS:
        grid = F.affine_grid(sg.eye(2, 3, dtype=sg.float64).expand(2, 2, 3), x.shape, align_corners=align)
        outs += [F.grid_sample(x, grid, mode, align_corners=align) for mode in ("bilinear", "nearest", "bicubic")]
    _realize(*outs)
    for out in outs:
        np.testing.assert_allclose(out.numpy(), x.numpy(), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------
# gradients: only the grid, only the input, nearest; grad_fn; empty shapes; NaN


def test_nearest_gives_the_grid_a_zero_gradient():
    x = sg.arange(12.0).reshape(1, 1, 3, 4)
    g = sg.tensor([[[[0.3, -0.2], [1.5, 0.9]]]], requires_grad=True)
    out = F.grid_sample(x, g, mode="nearest", align_corners=False)  # (only the grid requires grad)
    assert out.requires_grad and type(out.grad_fn).__name__ == "GridSampler2DBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(g.grad.numpy(), np.zeros((1, 1, 2, 2)))
    # the input only: the grid's gradient is left alone
    xi = sg.arange(12.0).reshape(1, 1, 3, 4).requires_grad_()
    gi = sg.tensor([[[[0.3, -0.2], [1.5, 0.9]]]])
    F.grid_sample(xi, gi, mode="bilinear", align_corners=True).sum().backward()
    assert gi.grad is None and xi.grad.shape == (1, 1, 3, 4)
    np.testing.assert_allclose(xi.grad.numpy().sum(), 1.25, rtol=1e-6)  # (the second point: 3/4 of it outside)


def test_next_functions_are_input_and_grid():
    x = sg.ones(1, 1, 2, 2, requires_grad=True)
    g = sg.zeros(1, 1, 1, 2, requires_grad=True)
    out = F.grid_sample(x, g, align_corners=False)
    assert [type(f).__name__ for f, _ in out.grad_fn.next_functions] == ["AccumulateGrad", "AccumulateGrad"]
    out = F.grid_sample(x.detach(), g, align_corners=False)
    assert [None if f is None else type(f).__name__ for f, _ in out.grad_fn.next_functions] == [None,
                                                                                              "AccumulateGrad"]
    theta = sg.zeros(1, 2, 3, requires_grad=True)
    grid = F.affine_grid(theta, (1, 1, 2, 2), align_corners=False)
    assert [type(f).__name__ for f, _ in grid.grad_fn.next_functions] == ["AccumulateGrad"]


def test_empty_batch_channels_and_outputs():
    outs = []
    for xs, gs in [((0, 2, 3, 3), (0, 4, 5, 2)), ((2, 0, 3, 3), (2, 4, 5, 2)), ((2, 3, 3, 3), (2, 0, 5, 2)),
                   ((1, 2, 2, 2, 2), (1, 2, 0, 1, 3))]:
        out = F.grid_sample(sg.zeros(*xs), sg.zeros(*gs), align_corners=False)
        assert out.shape == (xs[0], xs[1], *gs[1:-1])
        outs.append(out)
    _realize(sg.zeros(1), *outs)
    assert all(o.numpy().size == 0 for o in outs)


def test_nan_grid_points_as_torch():
    """NaN coordinates: the 2-d kernel clips them to the first pixel, the 3-d one to the last; with zeros
    padding, bilinear gives NaN in 2-d (0 * NaN) and 0 in 3-d (the tap is skipped)."""
    t = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    runs = []
    for nsp in (2, 3):
        x = rng.standard_normal((1, 2) + (3,) * nsp)
        grid = rng.uniform(-1, 1, (1, 1, 3, nsp) if nsp == 2 else (1, 1, 1, 3, nsp))
        grid.reshape(-1, nsp)[0, 0] = np.nan
        grid.reshape(-1, nsp)[1, :] = np.nan
        cases = [("bilinear", p, nsp == 3) for p in PADDINGS] + [("nearest", p, nsp == 2) for p in PADDINGS]
        for mode, padding, align in cases + ([("bicubic", "border", False)] if nsp == 2 else []):
            got = F.grid_sample(sg.tensor(x), sg.tensor(grid), mode, padding, align)
            want = t.nn.functional.grid_sample(t.tensor(x), t.tensor(grid), mode, padding, align).numpy()
            runs.append((f"{nsp} {mode} {padding} {align}", got, want))
    _realize(*(got for _, got, _ in runs))
    for what, got, want in runs:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12, err_msg=what)


# ---------------------------------------------------------------------------
# warnings and errors (PyTorch's words; nothing is recorded before they are raised)

ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                 "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                 "grid_sample for details.")
UNIT_WARNING = ("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when align_corners=True. "
                "This is not an intended use case of affine_grid. See the documentation of affine_grid for details.")


def _modules():
    torch = _torch()
    return [sg] + ([torch] if torch is not None else [])


def test_align_corners_none_warns_and_defaults_to_false():
    for m in _modules():
        x = m.tensor(np.arange(12.0).reshape(1, 1, 3, 4))
        g = m.tensor([[[[0.2, -0.4], [0.9, 0.1]]]], dtype=x.dtype)
        theta = m.tensor([[[0.5, 0.1, 0.2], [0.0, 1.0, -0.3]]], dtype=x.dtype)
        for fn, explicit in [(lambda: m.nn.functional.grid_sample(x, g),
                              lambda: m.nn.functional.grid_sample(x, g, align_corners=False)),
                             (lambda: m.nn.functional.affine_grid(theta, (1, 1, 3, 4)),
                              lambda: m.nn.functional.affine_grid(theta, (1, 1, 3, 4), align_corners=False))]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                got = fn()
            assert [str(w.message) for w in caught] == [ALIGN_WARNING]
            assert caught[0].category is UserWarning and caught[0].filename == __file__
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                want = explicit()
            np.testing.assert_array_equal(np.asarray(got.tolist()), np.asarray(want.tolist()))
        with pytest.warns(UserWarning, match=re.escape(UNIT_WARNING)):
            m.nn.functional.affine_grid(theta, (1, 1, 1, 4), align_corners=True)


def _z(m, *shape, dtype="float32"):
    return m.zeros(*shape, dtype=getattr(m, dtype))


# (function, operands made from the module, exception, PyTorch's message)
ERRORS = [
    ("grid_sample", lambda m: ((_z(m, 1, 1, 2, 2), _z(m, 1, 2, 2, 2)), dict(mode="area", align_corners=False)),
     ValueError, "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: "
                 "'area'"),
    ("grid_sample", lambda m: ((_z(m, 1, 1, 2, 2), _z(m, 1, 2, 2, 2)), dict(padding_mode="wrap")),
     ValueError, "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', but "
                 "got: 'wrap'"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5), _z(m, 3, 6, 7, 2)), dict(align_corners=False)),
     RuntimeError, "grid_sampler(): expected grid and input to have same batch size, but got input with sizes "
                   "[2, 3, 4, 5] and grid with sizes [3, 6, 7, 2]"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5), _z(m, 2, 6, 7, 3)), dict(align_corners=False)),
     RuntimeError, "grid_sampler(): expected grid to have size 2 in last dimension, but got grid with sizes "
                   "[2, 6, 7, 3]"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5), _z(m, 2, 6, 2)), dict(align_corners=True)),
     RuntimeError, "grid_sampler(): expected 4D input and grid with same number of dimensions, but got input with "
                   "sizes [2, 3, 4, 5] and grid with sizes [2, 6, 2]"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4), _z(m, 2, 6, 7, 1)), dict(align_corners=False)),
     RuntimeError, "grid_sampler(): expected 5D input and grid with same number of dimensions, but got input with "
                   "sizes [2, 3, 4] and grid with sizes [2, 6, 7, 1]"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5, 6), _z(m, 2, 6, 7, 3)), dict(align_corners=False)),
     RuntimeError, "grid_sampler(): expected 5D input and grid with same number of dimensions, but got input with "
                   "sizes [2, 3, 4, 5, 6] and grid with sizes [2, 6, 7, 3]"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5, 6), _z(m, 2, 6, 7, 8, 3)), dict(mode="bicubic",
                                                                                 align_corners=False)),
     RuntimeError, "grid_sampler(): bicubic interpolation only supports 4D input"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 0, 5), _z(m, 2, 6, 7, 2)), dict(align_corners=False)),
     RuntimeError, "grid_sampler(): expected input to have non-empty spatial dimensions, but input has sizes "
                   "[2, 3, 0, 5] with dimension 2 being empty"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5), _z(m, 2, 6, 7, 2, dtype="float64")), dict(align_corners=False)),
     RuntimeError, "expected scalar type Float but found Double"),
    ("grid_sample", lambda m: ((_z(m, 2, 3, 4, 5, dtype="int64"), _z(m, 2, 6, 7, 2)), dict(align_corners=False)),
     NotImplementedError, "\"grid_sampler_2d_cpu_kernel_impl\" not implemented for 'Long'"),
    ("grid_sample", lambda m: ((_z(m, 1, 1, 2, 2, 2, dtype="int64"), _z(m, 1, 1, 1, 1, 3)),
                               dict(align_corners=False)),
     NotImplementedError, "\"grid_sampler3d_cpu\" not implemented for 'Long'"),
    ("grid_sample", lambda m: ((_z(m, 1, 1, 2, 2), _z(m, 1, 2, 2, 2)), dict(align_corners=1)),
     TypeError, "grid_sampler(): argument 'align_corners' (position 5) must be bool, not int"),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3), (2, 3, 4, 5, 6)), dict(align_corners=False)),
     ValueError, "Expected a batch of 3D affine matrices of shape Nx3x4 for size (2, 3, 4, 5, 6). Got "
                 "torch.Size([2, 2, 3])."),
    ("affine_grid", lambda m: ((_z(m, 2, 3, 4), [2, 3, 4, 5]), dict(align_corners=False)),
     ValueError, "Expected a batch of 2D affine matrices of shape Nx2x3 for size [2, 3, 4, 5]. Got "
                 "torch.Size([2, 3, 4])."),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3), m.Size([2, 3, 4, 5, 6])), dict(align_corners=False)),
     ValueError, "Expected a batch of 3D affine matrices of shape Nx3x4 for size torch.Size([2, 3, 4, 5, 6]). Got "
                 "torch.Size([2, 2, 3])."),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3), (2, 3, 4)), dict(align_corners=False)),
     NotImplementedError, "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                          "respectively. Got size (2, 3, 4)."),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3, dtype="int64"), (2, 3, 4, 5)), dict(align_corners=False)),
     ValueError, "Expected theta to have floating point type, but got torch.int64"),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3), (2, 3, 0, 5)), dict(align_corners=False)),
     ValueError, "Expected non-zero, positive output size. Got (2, 3, 0, 5)"),
    ("affine_grid", lambda m: ((_z(m, 2, 3, 4), (3, 1, 2, 2, 2)), dict(align_corners=False)),
     RuntimeError, "Expected size for first two dimensions of batch2 tensor to be: [3, 4] but got: [2, 4]."),
    ("affine_grid", lambda m: ((_z(m, 2, 2, 3), (2, 3, 4, 5)), dict(align_corners=1)),
     TypeError, "affine_grid_generator(): argument 'align_corners' (position 3) must be bool, not int"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)), ids=lambda k: f"{ERRORS[k][0]}-{k}")
def test_errors_are_torchs_and_record_nothing(k):
    name, operands, exc, message = ERRORS[k]
    for m in _modules():
        args, kwargs = operands(m)
        before = srcgrad.ir._next_id()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(exc, match=f"^{re.escape(message)}$"):
                getattr(m.nn.functional, name)(*args, **kwargs)
        if m is sg:
            assert srcgrad.ir._next_id() == before + 1, "a failing call recorded a node"


# ---------------------------------------------------------------------------
# @srcgrad.compile: a spatial-transformer training step


class STN(nn.Module):
    """theta = identity + Linear(flattened input), then affine_grid, grid_sample and a linear head."""

    def __init__(self):
        super().__init__()
        self.loc = nn.Linear(2 * 6 * 6, 6)
        self.head = nn.Linear(2 * 5 * 5, 3)
        with sg.no_grad():
            self.loc.weight.mul_(0.1)
            self.loc.bias.copy_(sg.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))

    def forward(self, x):
        theta = self.loc(x.flatten(1)).reshape(-1, 2, 3)
        grid = F.affine_grid(theta, (x.shape[0], 2, 5, 5), align_corners=False)
        y = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return self.head(y.flatten(1))


def test_compiled_spatial_transformer_step_matches_define_by_run():
    torch = _torch()
    def make():
        sg.manual_seed(0)
        return STN()

    def step(model, x, target, lr):
        loss = F.cross_entropy(model(x), target)
        loss.backward()
        with sg.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
                p.grad = None
        return loss

    eager, traced = make(), make()
    compiled = sg.compile(step)
    rng = np.random.default_rng(9)
    losses = []
    for i in range(4):
        x = sg.tensor(rng.standard_normal((4, 2, 6, 6)).astype(np.float32))
        target = sg.tensor(rng.integers(0, 3, 4))
        want = step(eager, x, target, 0.5 / (i + 1)).item()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (no fallback to define-by-run)
            got = compiled(traced, x, target, 0.5 / (i + 1)).item()
        np.testing.assert_allclose(got, want, rtol=1e-5)
        losses.append((x, target, want))
    assert compiled.compiles == 1
    for a, b in zip(eager.parameters(), traced.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    if torch is not None:  # the same steps in PyTorch, from the same initial parameters
        ref = make()
        tl = torch.nn.Linear(72, 6)
        th = torch.nn.Linear(50, 3)
        with torch.no_grad():
            for tm, sm in ((tl, ref.loc), (th, ref.head)):
                tm.weight.copy_(torch.tensor(sm.weight.detach().numpy()))
                tm.bias.copy_(torch.tensor(sm.bias.detach().numpy()))
        tf = torch.nn.functional
        for i, (x, target, want) in enumerate(losses):
            tx = torch.tensor(x.numpy())
            theta = tl(tx.flatten(1)).reshape(-1, 2, 3)
            y = tf.grid_sample(tx, tf.affine_grid(theta, (4, 2, 5, 5), align_corners=False), "bilinear", "border",
                               align_corners=False)
            loss = tf.cross_entropy(th(y.flatten(1)), torch.tensor(target.numpy()))
            loss.backward()
            with torch.no_grad():
                for p in (*tl.parameters(), *th.parameters()):
                    p -= 0.5 / (i + 1) * p.grad
                    p.grad = None
            np.testing.assert_allclose(loss.item(), want, rtol=1e-4)
