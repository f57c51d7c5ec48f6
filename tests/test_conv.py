"""The convolution primitive (srcgrad/conv.py) and Conv1d/2d/3d: values and gradients against a NumPy
reference written here (shifted slices, one einsum per kernel offset), second derivatives against
finite differences, and PyTorch where it is installed."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad.nn import functional as F

# ---------------------------------------------------------------------------
# NumPy reference: y[n, o, p] = sum_{c, k} x_pad[n, g(o)*cg + c, p*s + k*d] * w[o, c, k] + b[o]


def _slab(xp, k, stride, dil, out):
    return xp[(slice(None), slice(None)) + tuple(
        slice(k[i] * dil[i], k[i] * dil[i] + stride[i] * (out[i] - 1) + 1, stride[i]) for i in range(len(k)))]


def np_conv(x, w, b, stride, pads, dil, groups, gy=None):
    """Forward (and, given the output gradient ``gy``, the input/weight/bias gradients)."""
    nsp = x.ndim - 2
    kernel = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    out = [(xp.shape[2 + i] - dil[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(nsp)]
    n, c = x.shape[:2]
    o = w.shape[0]
    cg, og = c // groups, o // groups
    y = np.zeros((n, o, *out))
    gxp = np.zeros_like(xp)
    gw = np.zeros_like(w)
    for k in itertools.product(*[range(s) for s in kernel]):
        slab = _slab(xp, k, stride, dil, out)
        for g in range(groups):
            xs = slab[:, g * cg:(g + 1) * cg]
            wk = w[(slice(g * og, (g + 1) * og), slice(None)) + k]
            y[:, g * og:(g + 1) * og] += np.einsum("nc...,oc->no...", xs, wk)
            if gy is not None:
                gyg = gy[:, g * og:(g + 1) * og]
                gw[(slice(g * og, (g + 1) * og), slice(None)) + k] += np.einsum("ncp,nop->oc", xs.reshape(n, cg, -1),
                                                                                     gyg.reshape(n, og, -1))
                view = _slab(gxp, k, stride, dil, out)[:, g * cg:(g + 1) * cg]
                view += np.einsum("no...,oc->nc...", gyg, wk)
    if b is not None:
        y += b.reshape((1, -1) + (1,) * nsp)
    if gy is None:
        return y
    inner = (slice(None), slice(None)) + tuple(slice(p[0], xp.shape[2 + i] - p[1]) for i, p in enumerate(pads))
    gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim))) if b is not None else None
    return y, gxp[inner], gw, gb


def _pads(padding, kernel, dil):
    if padding == "same":
        return [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dil)]
    if padding == "valid":
        return [(0, 0)] * len(kernel)
    if isinstance(padding, tuple):
        return [(p, p) for p in padding]
    return [(padding, padding)] * len(kernel)


FN = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}

CASES = [
    # x shape, w shape, stride, padding, dilation, groups, bias
    ((2, 3, 9), (4, 3, 3), 1, 0, 1, 1, True),
    ((2, 4, 11), (6, 2, 3), 2, 1, 2, 2, True),
    ((1, 2, 8), (3, 2, 4), 1, "same", 1, 1, False),
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 1, 1, 1, True),
    ((2, 4, 9, 8), (6, 2, 3, 3), (2, 3), 2, (2, 1), 2, True),
    ((1, 4, 8, 7), (4, 1, 3, 3), 3, 1, 1, 4, False),  # depthwise, stride not dividing the input
    ((2, 2, 6, 6), (3, 2, 2, 4), 1, "same", (2, 1), 1, True),  # even kernels: asymmetric 'same' padding
    ((1, 2, 5, 5), (3, 2, 3, 3), 1, "valid", 1, 1, True),
    ((1, 2, 5, 4, 4), (2, 2, 2, 3, 2), (1, 2, 1), (1, 0, 1), 1, 1, True),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{len(c[0]) - 2}d-{i}" for i, c in enumerate(CASES)])
def test_conv_values_and_gradients_match_numpy(case):
    xs, ws, stride, padding, dil, groups, bias = case
    nsp = len(xs) - 2
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0]) if bias else None
    st = (stride,) * nsp if isinstance(stride, int) else stride
    dl = (dil,) * nsp if isinstance(dil, int) else dil
    pads = _pads(padding, ws[2:], dl)
    ref_y = np_conv(x, w, b, st, pads, dl, groups)
    gy = rng.standard_normal(ref_y.shape)
    _, ref_gx, ref_gw, ref_gb = np_conv(x, w, b, st, pads, dl, groups, gy)

    tx = sg.tensor(x, requires_grad=True)
    tw = sg.tensor(w, requires_grad=True)
    tb = sg.tensor(b, requires_grad=True) if bias else None
    y = FN[nsp](tx, tw, tb, stride=stride, padding=padding, dilation=dil, groups=groups)
    assert y.grad_fn.name() == "ConvolutionBackward0"
    np.testing.assert_allclose(y.detach().numpy(), ref_y, rtol=1e-10, atol=1e-10)
    y.backward(sg.tensor(gy))
    np.testing.assert_allclose(tx.grad.numpy(), ref_gx, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(tw.grad.numpy(), ref_gw, rtol=1e-10, atol=1e-10)
    if bias:
        np.testing.assert_allclose(tb.grad.numpy(), ref_gb, rtol=1e-10, atol=1e-10)


def test_conv_float32_and_unbatched_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    y = F.conv2d(sg.tensor(x), sg.tensor(w), padding=1)
    assert y.shape == (2, 8, 8) and y.dtype == sg.float32
    ref = np_conv(x[None].astype(np.float64), w.astype(np.float64), None, (1, 1), [(1, 1)] * 2, (1, 1), 1)[0]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-5, atol=1e-5)


def _second_order(fn, x0, w0, rng):
    """Directional second derivative of <d(fn)/d(x, w), v> against central differences (float64)."""
    gy = rng.standard_normal(fn(sg.tensor(x0), sg.tensor(w0)).shape)
    vx, vw = rng.standard_normal(x0.shape), rng.standard_normal(w0.shape)
    dx, dw = rng.standard_normal(x0.shape), rng.standard_normal(w0.shape)

    def first(xv, wv, create_graph):
        x = sg.tensor(xv, requires_grad=True)
        w = sg.tensor(wv, requires_grad=True)
        gx, gw = sg.autograd.grad(fn(x, w), (x, w), sg.tensor(gy), create_graph=create_graph)
        return x, w, gx, gw

    x, w, gx, gw = first(x0, w0, True)
    s = (gx * sg.tensor(vx)).sum() + (gw * sg.tensor(vw)).sum()
    hx, hw = sg.autograd.grad(s, (x, w))

    def s_at(xv, wv):
        _, _, gx, gw = first(xv, wv, False)
        return float((gx.numpy() * vx).sum() + (gw.numpy() * vw).sum())

    eps = 1e-5
    numeric = (s_at(x0 + eps * dx, w0 + eps * dw) - s_at(x0 - eps * dx, w0 - eps * dw)) / (2 * eps)
    analytic = float((hx.numpy() * dx).sum() + (hw.numpy() * dw).sum())
    return numeric, analytic


@pytest.mark.parametrize("groups", [1, 2])
def test_conv_second_derivatives(groups):
    """The gradient rule records convolutions again, so gradients of gradients work."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((2, 4, 7))
    w0 = rng.standard_normal((4, 4 // groups, 3))
    num, ana = _second_order(lambda x, w: F.conv1d(x, w, stride=2, padding=1, dilation=2, groups=groups), x0, w0,
                             rng)
    assert math.isclose(num, ana, rel_tol=1e-6, abs_tol=1e-8)


def test_conv_gradient_to_input_only():
    x = sg.randn(1, 2, 5, 5, requires_grad=True)
    w = sg.randn(3, 2, 3, 3)
    F.conv2d(x, w).sum().backward()
    assert x.grad.shape == (1, 2, 5, 5) and w.grad is None


def test_conv_generated_source_uses_lax_conv():
    sg.clear_cache()
    x = sg.randn(1, 2, 6, requires_grad=True)
    w = sg.randn(3, 2, 3, requires_grad=True)
    F.conv1d(x, w, stride=2).sum().backward()
    src = "\n".join(p.source for p in sg._CACHE.history)
    assert "lax.conv_general_dilated(" in src
    assert "lax.rev(" in src  # the input gradient convolves with the reversed kernel


def test_conv_errors_read_like_pytorch():
    x = sg.randn(1, 2, 5, 5)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[4, 3, 3, 3\], expected "
                                           r"input\[1, 2, 5, 5\] to have 3 channels, but got 2 channels instead"):
        F.conv2d(x, sg.randn(4, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        F.conv2d(sg.randn(5, 5), sg.randn(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: \(2 x 2\)\. Kernel size: "
                                           r"\(3 x 3\)\. Kernel size can't be greater than actual input size"):
        F.conv2d(sg.randn(1, 1, 2, 2), sg.randn(1, 1, 3, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        F.conv1d(sg.randn(1, 1, 5), sg.randn(1, 1, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="should be the same"):
        F.conv1d(sg.randn(1, 1, 5, dtype=sg.float64), sg.randn(1, 1, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


@pytest.mark.parametrize("cls,shape", [(nn.Conv1d, (2, 4, 10)), (nn.Conv2d, (2, 4, 9, 7)), (nn.Conv3d, (1, 4, 5, 4, 4))])
def test_conv_modules_forward_backward_and_init(cls, shape):
    sg.manual_seed(0)
    m = cls(4, 6, 3, stride=1, padding=1, groups=2)
    nsp = len(shape) - 2
    assert m.weight.shape == (6, 2) + (3,) * nsp and m.bias.shape == (6,)
    fan_in = 2 * 3 ** nsp
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform(a=sqrt(5)) gives the same bound as the bias
    wv, bv = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(wv).max() <= bound and np.abs(bv).max() <= bound
    assert np.abs(wv).max() > 0.5 * bound
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    y = m(sg.tensor(x))
    ref = np_conv(x.astype(np.float64), wv.astype(np.float64), bv.astype(np.float64), (1,) * nsp,
                  [(1, 1)] * nsp, (1,) * nsp, 2)
    np.testing.assert_allclose(y.detach().numpy(), ref, rtol=1e-4, atol=1e-4)
    y.sum().backward()
    assert m.weight.grad.shape == m.weight.shape and m.bias.grad.shape == m.bias.shape
    np.testing.assert_allclose(m.bias.grad.numpy(), np.full(6, y.shape[0] * math.prod(y.shape[2:])), rtol=1e-6)


def test_conv_module_repr():
    assert repr(nn.Conv2d(1, 2, 3, padding="same", bias=False)) == \
        "Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=same, bias=False)"
    assert repr(nn.Conv1d(2, 4, 3, stride=2, groups=2, dilation=2)) == \
        "Conv1d(2, 4, kernel_size=(3,), stride=(2,), dilation=(2,), groups=2)"
    assert repr(nn.Conv2d(3, 8, (3, 5), padding=(1, 2))) == \
        "Conv2d(3, 8, kernel_size=(3, 5), stride=(1, 1), padding=(1, 2))"


def test_conv_training_loop_compiles_once():
    """A small CNN: the steady-state step reuses one cached program."""
    sg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 3))
    from srcgrad import optim
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = sg.randn(8, 1, 8, 8)
    y = sg.randint(0, 3, (8,))
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    before = sg.cache_info()["misses"]
    for _ in range(2):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert sg.cache_info()["misses"] == before


def test_conv_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    for xs, ws, stride, padding, dil, groups in [((2, 4, 9, 8), (6, 2, 3, 3), 2, 1, 2, 2),
                                                 ((2, 3, 10), (4, 3, 4), 1, "same", 2, 1)]:
        x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
        fn = torch.nn.functional.conv2d if len(xs) == 4 else torch.nn.functional.conv1d
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ty = fn(tx, tw, tb, stride, padding, dil, groups)
        gy = rng.standard_normal(tuple(ty.shape))
        ty.backward(torch.tensor(gy))
        sx, sw, sb = (sg.tensor(a, requires_grad=True) for a in (x, w, b))
        sy = FN[len(xs) - 2](sx, sw, sb, stride, padding, dil, groups)
        sy.backward(sg.tensor(gy))
        np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        for s, t in ((sx, tx), (sw, tw), (sb, tb)):
            np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("mode, np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
@pytest.mark.parametrize("dims, padding", [(1, 2), (2, (1, 2)), (2, "same")])
def test_conv_padding_modes_match_numpy(mode, np_mode, dims, padding):
    rng = np.random.default_rng(3)
    conv = getattr(nn, f"Conv{dims}d")(2, 3, 3, padding=padding, padding_mode=mode).double()
    x = rng.standard_normal((2, 2) + (7,) * dims)
    pads = [(1, 1)] * dims if padding == "same" else [(p, p) for p in ((padding,) * dims if isinstance(padding, int)
                                                                         else padding)]
    xp = np.pad(x, [(0, 0), (0, 0)] + pads, mode=np_mode)
    want = np_conv(xp, conv.weight.detach().numpy(), conv.bias.detach().numpy(), (1,) * dims,
                   [(0, 0)] * dims, (1,) * dims, 1)
    np.testing.assert_allclose(conv(sg.tensor(x)).detach().numpy(), want, rtol=1e-10)
    assert sg.autograd.gradcheck(lambda t: conv(t), (sg.tensor(x[:1, :, :4, ...], requires_grad=True),))
    assert repr(conv).endswith(f"padding_mode={mode})")


def test_conv_padding_mode_must_be_known():
    with pytest.raises(ValueError, match="padding_mode must be one of .* but got padding_mode='foo'"):
        nn.Conv1d(1, 1, 3, padding_mode="foo")


_TRANSPOSED = [  # (spatial dims, in, out, kernel, stride, padding, output_padding, groups, dilation)
    (1, 3, 4, 3, 1, 0, 0, 1, 1),
    (1, 4, 6, 3, 2, 1, 1, 2, 1),
    (2, 2, 3, 2, 3, 0, 2, 1, 1),
    (2, 4, 4, 3, 2, 2, 0, 4, 2),
    (1, 2, 2, 2, 3, 2, 0, 1, 1),  # more padding than the kernel covers: a cropped output
]


@pytest.mark.parametrize("case", _TRANSPOSED)
def test_conv_transpose_is_the_input_gradient_of_a_convolution(case):
    nsp, cin, cout, k, stride, pad, out_pad, groups, dil = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, cin) + (4,) * nsp)
    w = rng.standard_normal((cin, cout // groups) + (k,) * nsp)
    b = rng.standard_normal(cout)
    fn = getattr(F, f"conv_transpose{nsp}d")
    out = fn(sg.tensor(x), sg.tensor(w), sg.tensor(b), stride, pad, out_pad, groups, dil).numpy()
    # the reference: the input gradient of a convolution with this kernel, at output gradient x
    size = [(4 - 1) * stride - 2 * pad + dil * (k - 1) + 1 + out_pad] * nsp
    z = np.zeros((2, cout) + tuple(size))
    _, gz, _, _ = np_conv(z, w, None, (stride,) * nsp, [(pad, pad)] * nsp, (dil,) * nsp, groups, gy=x)
    np.testing.assert_allclose(out, gz + b.reshape((1, -1) + (1,) * nsp), rtol=1e-10, atol=1e-12)
    small = (sg.tensor(x[:1, :, :2], requires_grad=True), sg.tensor(w, requires_grad=True),
             sg.tensor(b, requires_grad=True))
    assert sg.autograd.gradcheck(lambda a, ww, bb: fn(a, ww, bb, stride, pad, out_pad, groups, dil), small)


def test_conv_transpose_modules():
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (6,)
    assert repr(m) == ("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), "
                       "output_padding=(1, 1), groups=2)")
    assert m(sg.ones(2, 4, 5, 5)).shape == (2, 6, 10, 10)
    assert m(sg.ones(4, 5, 5)).shape == (6, 10, 10)  # unbatched
    up = nn.ConvTranspose1d(2, 3, 3, stride=2)
    assert up(sg.ones(1, 2, 3), output_size=[8]).shape == (1, 3, 8)
    with pytest.raises(ValueError, match=r"requested an output size of \[9\], but valid sizes range from \[7\] "
                                         r"to \[8\]"):
        up(sg.ones(1, 2, 3), output_size=[9])
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose1d(sg.ones(1, 2, 3), sg.ones(2, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match=r"Given transposed=1, weight of size \[2, 3, 3\], expected input"
                                           r"\[1, 4, 3\] to have 2 channels, but got 4 channels instead"):
        F.conv_transpose1d(sg.ones(1, 4, 3), sg.ones(2, 3, 3))
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")


def test_conv_transpose_matches_torch():
    torch = pytest.importorskip("torch")
    for nsp, cin, cout, k, stride, pad, out_pad, groups, dil in _TRANSPOSED + [(3, 2, 4, 2, 2, 0, 1, 2, 1)]:
        tm = getattr(torch.nn, f"ConvTranspose{nsp}d")(cin, cout, k, stride, pad, out_pad, groups, True, dil).double()
        sm = getattr(nn, f"ConvTranspose{nsp}d")(cin, cout, k, stride, pad, out_pad, groups, True, dil).double()
        sm.load_state_dict({key: sg.tensor(v.detach().numpy()) for key, v in tm.state_dict().items()})
        x = np.random.default_rng(6).standard_normal((2, cin) + (4,) * nsp)
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        to, so = tm(tx), sm(sx)
        np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-10)
        to.pow(2).sum().backward()
        so.pow(2).sum().backward()
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(sm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
        assert repr(sm) == repr(tm)
