"""Automatic mixed precision: autocast (dtypes per PyTorch's op lists, values, nesting, compile
signature), GradScaler (against torch.amp.GradScaler("cpu")) and set_default_device."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import srcgrad
import srcgrad.nn.functional as F
from srcgrad.amp import autocast_mode
from srcgrad.compiled import CompileWarning

# -- the API -----------------------------------------------------------------------------------


def test_defaults_and_state():
    assert srcgrad.get_autocast_dtype("cpu") is srcgrad.bfloat16
    assert srcgrad.get_autocast_dtype("cuda") is srcgrad.float16
    assert not srcgrad.is_autocast_enabled("cpu") and not srcgrad.is_autocast_enabled()
    with srcgrad.autocast("cpu"):
        assert srcgrad.is_autocast_enabled("cpu")
        assert not srcgrad.is_autocast_enabled()  # (no argument: CUDA's state, as PyTorch)
        with srcgrad.autocast("cpu", dtype=srcgrad.float16):
            assert srcgrad.get_autocast_dtype("cpu") is srcgrad.float16
        assert srcgrad.get_autocast_dtype("cpu") is srcgrad.bfloat16
        with srcgrad.autocast("cpu", enabled=False):
            assert not srcgrad.is_autocast_enabled("cpu")
        assert srcgrad.is_autocast_enabled("cpu")
    assert not srcgrad.is_autocast_enabled("cpu")
    assert srcgrad.amp.autocast is srcgrad.autocast
    assert srcgrad.is_autocast_available("cpu") and not srcgrad.is_autocast_available("mps")


def test_set_autocast_enabled_and_deprecated_getters():
    srcgrad.set_autocast_enabled("cpu", True)
    try:
        assert srcgrad.is_autocast_enabled("cpu")
        assert (srcgrad.ones(2, 2) @ srcgrad.ones(2, 2)).dtype is srcgrad.bfloat16
    finally:
        srcgrad.set_autocast_enabled("cpu", False)
    assert (srcgrad.ones(2, 2) @ srcgrad.ones(2, 2)).dtype is srcgrad.float32
    with pytest.warns(DeprecationWarning, match=r"get_autocast_dtype\('cuda'\)"):
        assert srcgrad.get_autocast_gpu_dtype() is srcgrad.float16
    with pytest.warns(DeprecationWarning, match=r"get_autocast_dtype\('cpu'\)"):
        assert srcgrad.get_autocast_cpu_dtype() is srcgrad.bfloat16


def test_decorator_and_errors():
    @srcgrad.autocast("cpu")
    def f(a, b):
        return a @ b

    assert f(srcgrad.ones(2, 2), srcgrad.ones(2, 2)).dtype is srcgrad.bfloat16
    assert not srcgrad.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match=r"requires a callable, but got int"):
        srcgrad.autocast("cpu")(3)
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        srcgrad.autocast(0)
    with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):
        srcgrad.autocast("xyz")
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'mps'"):
        srcgrad.autocast("mps")
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of torch.bfloat16, torch.float16"):
        ac = srcgrad.autocast("cpu", dtype=srcgrad.float32)
    with ac:
        assert not srcgrad.is_autocast_enabled("cpu")


@pytest.mark.skipif(srcgrad.cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_without_gpu_disables_with_warnings():
    with pytest.warns(UserWarning, match="CUDA is not available or torch_xla is imported. Disabling autocast."):
        ac = srcgrad.autocast("cuda")
    with ac:
        assert not srcgrad.is_autocast_enabled("cuda")
    with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.autocast\(args...\)` is deprecated. Please use "
                                           r"`torch.amp.autocast\('cuda', args...\)` instead."), \
            pytest.warns(UserWarning, match="CUDA is not available"):
        srcgrad.cuda.amp.autocast()
    with pytest.warns(UserWarning, match="torch.cuda.amp.GradScaler is enabled, but CUDA is not available."):
        scaler = srcgrad.amp.GradScaler()
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    with pytest.warns(FutureWarning, match=r"`torch.cuda.amp.GradScaler\(args...\)` is deprecated"), \
            pytest.warns(UserWarning, match="CUDA is not available"):
        srcgrad.cuda.amp.GradScaler()


def test_cpu_amp_spelling():
    with pytest.warns(FutureWarning, match=r"`torch.cpu.amp.autocast\(args...\)` is deprecated. Please use "
                                           r"`torch.amp.autocast\('cpu', args...\)` instead."):
        ac = srcgrad.cpu.amp.autocast()
    with ac:
        assert srcgrad.is_autocast_enabled("cpu")
        assert srcgrad.get_autocast_dtype("cpu") is srcgrad.bfloat16
    assert isinstance(ac, srcgrad.autocast)


# -- dtypes of outputs, against torch's CPU autocast -------------------------------------------

A, V = (4, 4), (4,)


def _long(tm):
    return tm.zeros(4, dtype=tm.long)


# (name, fn(torch module, functional module, *inputs), input shapes): every case here gives
# srcgrad the dtypes torch's CPU autocast gives, for float32 and for bfloat16 inputs.
CASES = [
    # lower precision
    ("matmul", lambda tm, f, a, b: tm.matmul(a, b), A, A),
    ("mm", lambda tm, f, a, b: tm.mm(a, b), A, A),
    ("@ matrix-vector", lambda tm, f, a, b: a @ b, A, V),
    ("bmm", lambda tm, f, a, b: tm.bmm(a, b), (2, 4, 4), (2, 4, 4)),
    ("matmul nd", lambda tm, f, a, b: tm.matmul(a, b), (2, 3, 4, 4), A),
    ("addmm", lambda tm, f, a, b: tm.addmm(a, a, b), A, A),
    ("einsum", lambda tm, f, a, b: tm.einsum("ij,jk->ik", a, b), A, A),
    ("tensordot", lambda tm, f, a, b: tm.tensordot(a, b, 1), A, A),
    ("linear", lambda tm, f, a, b: f.linear(a, b, b[0]), A, A),
    ("linear no bias", lambda tm, f, a, b: f.linear(a, b), A, A),
    ("nn.Linear", lambda tm, f, a: tm.nn.Linear(4, 3).to(a.dtype)(a), A),
    ("conv1d", lambda tm, f, a, b: f.conv1d(a, b), (1, 2, 5), (3, 2, 3)),
    ("conv2d", lambda tm, f, a, b: f.conv2d(a, b), (1, 2, 5, 5), (3, 2, 3, 3)),
    ("conv_transpose2d", lambda tm, f, a, b: f.conv_transpose2d(a, b), (1, 2, 5, 5), (2, 3, 3, 3)),
    ("multi_dot", lambda tm, f, a, b: tm.linalg.multi_dot([a, b]), A, A),
    ("sdpa", lambda tm, f, a, b: f.scaled_dot_product_attention(a, b, b), (1, 4, 4), (1, 4, 4)),
    ("MultiheadAttention", lambda tm, f, q: tm.nn.MultiheadAttention(4, 1).to(q.dtype)(q, q, q)[0], (3, 1, 4)),
    # float32
    ("cdist", lambda tm, f, a, b: tm.cdist(a, b), A, A),
    ("prod", lambda tm, f, a: tm.prod(a), A),
    ("prod dim", lambda tm, f, a: a.prod(0), A),
    ("trace", lambda tm, f, a: tm.trace(a), A),
    ("inverse", lambda tm, f, a: tm.inverse(a + 4 * tm.eye(4, dtype=a.dtype)), A),
    ("linalg.solve", lambda tm, f, a, b: tm.linalg.solve(a + 4 * tm.eye(4, dtype=a.dtype), b), A, A),
    ("linalg.qr", lambda tm, f, a: tm.linalg.qr(a)[0], A),
    ("linalg.svd", lambda tm, f, a: tm.linalg.svd(a)[1], A),
    ("linalg.eigh", lambda tm, f, a: tm.linalg.eigh(a + a.T)[0], A),
    ("cholesky", lambda tm, f, a: tm.linalg.cholesky(a @ a.T + tm.eye(4, dtype=a.dtype)), A),
    ("mse_loss", lambda tm, f, a, b: f.mse_loss(a, b), A, A),
    ("mse_loss none", lambda tm, f, a, b: f.mse_loss(a, b, reduction="none"), A, A),
    ("smooth_l1_loss", lambda tm, f, a, b: f.smooth_l1_loss(a, b), A, A),
    ("huber_loss", lambda tm, f, a, b: f.huber_loss(a, b), A, A),
    ("binary_cross_entropy", lambda tm, f, a, b: f.binary_cross_entropy(a / 2, b / 2), A, A),
    ("bce_with_logits", lambda tm, f, a, b: f.binary_cross_entropy_with_logits(a, b / 2), A, A),
    ("cross_entropy", lambda tm, f, a: f.cross_entropy(a, _long(tm)), A),
    ("nll_loss", lambda tm, f, a: f.nll_loss(a, _long(tm)), A),
    ("max_pool3d", lambda tm, f, a: f.max_pool3d(a, 2), (1, 1, 4, 4, 4)),
    ("avg_pool3d", lambda tm, f, a: f.avg_pool3d(a, 2), (1, 1, 4, 4, 4)),
    ("adaptive_avg_pool3d", lambda tm, f, a: f.adaptive_avg_pool3d(a, 2), (1, 1, 4, 4, 4)),
    ("adaptive_max_pool3d", lambda tm, f, a: f.adaptive_max_pool3d(a, 2), (1, 1, 4, 4, 4)),
    ("reflection pad 1d", lambda tm, f, a: f.pad(a, (1, 1), mode="reflect"), (1, 2, 4)),
    ("replication pad 2d", lambda tm, f, a: f.pad(a, (1, 1, 1, 1), mode="replicate"), (1, 1, 4, 4)),
    ("grid_sample", lambda tm, f, a, g: f.grid_sample(a, g * 2 - 1, align_corners=False), (1, 1, 4, 4),
     (1, 2, 2, 2)),
    # promote
    ("cat", lambda tm, f, a, b: tm.cat([a, b.float()]), A, A),
    ("cat same", lambda tm, f, a, b: tm.cat([a, b]), A, A),
    ("stack", lambda tm, f, a, b: tm.stack([a, b.float()]), A, A),
    ("index_copy", lambda tm, f, a, b: a.index_copy(0, tm.tensor([0, 1]), b[:2].to(tm.bfloat16)), A, A),
    # in the input dtype: not on the CPU lists
    ("softmax", lambda tm, f, a: a.softmax(-1), A),
    ("log_softmax", lambda tm, f, a: f.log_softmax(a, -1), A),
    ("sum", lambda tm, f, a: a.sum(), A),
    ("cumsum", lambda tm, f, a: a.cumsum(0), A),
    ("exp", lambda tm, f, a: a.exp(), A),
    ("pow", lambda tm, f, a: a ** 2, A),
    ("layer_norm", lambda tm, f, a: f.layer_norm(a, (4,)), A),
    ("group_norm", lambda tm, f, a: f.group_norm(a, 2), (2, 4, 3)),
    ("batch_norm", lambda tm, f, a: f.batch_norm(a, None, None, training=True), A),
    ("relu", lambda tm, f, a: f.relu(a), A),
    ("gelu", lambda tm, f, a: f.gelu(a), A),
    ("add", lambda tm, f, a, b: a + b, A, A),
    ("mean", lambda tm, f, a: a.mean(), A),
    ("norm", lambda tm, f, a: tm.linalg.vector_norm(a), A),
    ("logsumexp", lambda tm, f, a: a.logsumexp(0), A),
    ("avg_pool2d", lambda tm, f, a: f.avg_pool2d(a, 2), (1, 1, 4, 4)),
    ("max_pool2d", lambda tm, f, a: f.max_pool2d(a, 2), (1, 1, 4, 4)),
    ("adaptive_avg_pool2d", lambda tm, f, a: f.adaptive_avg_pool2d(a, 3), (1, 1, 4, 4)),
    ("reflection pad 3d", lambda tm, f, a: f.pad(a, (1, 1, 1, 1, 1, 1), mode="reflect"), (1, 1, 4, 4, 4)),
    ("interpolate", lambda tm, f, a: f.interpolate(a, scale_factor=2, mode="bilinear"), (1, 1, 4, 4)),
    ("embedding", lambda tm, f, w: f.embedding(_long(tm), w), A),
    ("cosine_similarity", lambda tm, f, a, b: f.cosine_similarity(a, b), A, A),
    ("addcmul", lambda tm, f, a, b: tm.addcmul(a, a, b), A, A),
    ("atan2", lambda tm, f, a, b: tm.atan2(a, b), A, A),
    ("outer", lambda tm, f, a, b: tm.outer(a, b), V, V),
    ("var", lambda tm, f, a: a.var(), A),
    ("where", lambda tm, f, a, b: tm.where(a > 1, a, b), A, A),
    ("dist", lambda tm, f, a, b: tm.dist(a, b), A, A),
    ("matrix_exp", lambda tm, f, a: tm.linalg.matrix_exp(a), A),
]


def _run_case(tm, fn, shapes, dt, seed=0):
    tm.manual_seed(seed)
    rng = np.random.default_rng(seed)
    args = [tm.tensor(rng.random(s).astype("f4") + 0.5).to(dt) for s in shapes]
    with tm.autocast("cpu"):
        tm.manual_seed(seed)
        out = fn(tm, tm.nn.functional, *args)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_output_dtype_matches_torch_cpu_autocast(case):
    torch = pytest.importorskip("torch")
    name, fn, *shapes = case
    for s_dt, t_dt in ((srcgrad.float32, torch.float32), (srcgrad.bfloat16, torch.bfloat16)):
        got = _run_case(srcgrad, fn, shapes, s_dt)
        want = _run_case(torch, fn, shapes, t_dt)
        assert str(got.dtype) == str(want.dtype), f"{name} ({s_dt} inputs): {got.dtype} vs torch {want.dtype}"


def test_float64_and_integers_are_not_cast():
    a = srcgrad.ones(3, 3, dtype=srcgrad.float64)
    i = srcgrad.ones(3, 3, dtype=srcgrad.int64)
    with srcgrad.autocast("cpu"):
        assert (a @ a).dtype is srcgrad.float64
        assert (i @ i).dtype is srcgrad.int64
        assert F.mse_loss(a, a).dtype is srcgrad.float64


def test_cuda_tables():
    """The CUDA lists are PyTorch's (ATen/autocast_mode.h), checked as tables: no GPU here."""
    p = autocast_mode.policy
    for op in ("matmul", "bmm", "addmm", "linear", "linear_mm", "convolution", "einsum", "mv"):
        assert p("cuda", op) == "lower" and p("cpu", op) == "lower"
    for op in ("softmax", "log_softmax", "sum", "sum_all", "cumsum", "exp", "log", "pow", "layer_norm", "norm",
               "nll_loss", "mse_loss_mean", "binary_cross_entropy_with_logits", "logsumexp", "rsqrt"):
        assert p("cuda", op) == "fp32", op
    for op in ("softmax", "sum", "exp", "layer_norm", "pow"):
        assert p("cpu", op) is None, op  # (not on the CPU lists)
    for op in ("prod", "cdist", "trace", "mse_loss", "nll_loss", "max_pool3d", "linalg_inv", "replication_pad2d"):
        assert p("cpu", op) == "fp32", op
    for op in ("addcmul", "addcdiv", "atan2", "index_put", "scatter_add", "cat", "stack"):
        assert p("cuda", op) == "promote", op
    assert [op for op in ("cat", "stack", "index_copy", "addcmul") if p("cpu", op) == "promote"] == \
        ["cat", "stack", "index_copy"]
    assert p("cuda", "binary_cross_entropy") == "banned" and p("cpu", "binary_cross_entropy") == "fp32"
    for op in ("relu", "add", "mul", "where", "gelu", "to_copy"):
        assert p("cpu", op) is None and p("cuda", op) is None


def test_inplace_ops_are_not_autocast(monkeypatch):
    # (the CPU lists have no in-place op srcgrad spells in place; the mechanism, with the CUDA table)
    monkeypatch.setitem(autocast_mode.TABLES, "cpu", autocast_mode.TABLES["cuda"])
    x = srcgrad.rand(3).to(srcgrad.bfloat16)
    with srcgrad.autocast("cpu"):
        assert x.exp().dtype is srcgrad.float32
        y = x.clone()
        y.exp_()
        assert y.dtype is srcgrad.bfloat16
        assert y.grad_fn is None or "ToCopy" not in type(y.grad_fn).__name__
        z = x.clone()
        z.cumsum_(0)
        assert z.dtype is srcgrad.bfloat16
    np.testing.assert_array_equal(y.float().numpy(), x.exp().float().numpy())


def test_nested_disable_and_no_autocast_in_backward():
    w = srcgrad.randn(4, 4, requires_grad=True)
    x = srcgrad.randn(2, 4)
    with srcgrad.autocast("cpu"):
        h = x @ w
        with srcgrad.autocast("cpu", enabled=False):
            assert (x @ w).dtype is srcgrad.float32
            assert (h @ w.to(srcgrad.bfloat16)).dtype is srcgrad.bfloat16
        out = (h @ w).float().sum()
        out.backward()  # (inside the region: the backward still runs in the forward's dtypes)
    assert h.dtype is srcgrad.bfloat16 and w.grad.dtype is srcgrad.float32
    w2 = w.detach().clone().requires_grad_(True)
    wb = w2.to(srcgrad.bfloat16)  # (one cast of the parameter for the region, as autocast's cache)
    hb = x.to(srcgrad.bfloat16) @ wb
    (hb @ wb).float().sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), w2.grad.numpy())


def test_parameter_cast_is_cached_per_region():
    lin = srcgrad.nn.Linear(4, 4)
    x = srcgrad.randn(2, 4)
    with srcgrad.autocast("cpu"):
        a, b = lin(x), lin(x)
        assert a._node.inputs[1] is b._node.inputs[1]  # one bfloat16 copy of the weight
    with srcgrad.autocast("cpu", cache_enabled=False):
        a, b = lin(x), lin(x)
        assert a._node.inputs[1] is not b._node.inputs[1]
    assert autocast_mode._state.cache == {}


# -- values against torch ----------------------------------------------------------------------


def _mlp_forward_backward(tm, w):
    x = tm.tensor(w["x"])
    y = tm.tensor(w["y"], dtype=tm.long)
    l1, l2 = tm.nn.Linear(8, 16), tm.nn.Linear(16, 4)
    with tm.no_grad():
        for p, k in ((l1.weight, "w1"), (l1.bias, "b1"), (l2.weight, "w2"), (l2.bias, "b2")):
            p.copy_(tm.tensor(w[k]))
    with tm.autocast("cpu"):
        h = tm.relu(l1(x))
        out = l2(h)
        loss = tm.nn.functional.cross_entropy(out, y)
    loss.backward()
    ts = (h, out, loss, l1.weight.grad, l1.bias.grad, l2.weight.grad, l2.bias.grad)
    return [str(t.dtype) for t in ts], [t.detach().float().numpy() for t in ts]


def test_mlp_forward_backward_matches_torch_bf16():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w = dict(x=rng.standard_normal((6, 8)).astype("f4"), y=rng.integers(0, 4, 6),
             w1=(rng.standard_normal((16, 8)) * 0.3).astype("f4"), b1=(rng.standard_normal(16) * 0.1).astype("f4"),
             w2=(rng.standard_normal((4, 16)) * 0.3).astype("f4"), b2=(rng.standard_normal(4) * 0.1).astype("f4"))
    t_dtypes, t_vals = _mlp_forward_backward(torch, w)
    s_dtypes, s_vals = _mlp_forward_backward(srcgrad, w)
    assert s_dtypes == t_dtypes == ["torch.bfloat16", "torch.bfloat16", "torch.float32"] + ["torch.float32"] * 4
    for s, t in zip(s_vals, t_vals):
        np.testing.assert_allclose(s, t, rtol=2e-2, atol=2e-2)


# -- @srcgrad.compile --------------------------------------------------------------------------


def test_compile_keys_on_autocast_state():
    lin = srcgrad.nn.Linear(3, 2)
    x = srcgrad.randn(4, 3)

    @srcgrad.compile
    def f(x):
        return lin(x)

    with srcgrad.no_grad():
        with srcgrad.autocast("cpu"):
            a = f(x)
            a2 = f(x)
        b = f(x)
        b2 = f(x)
        with srcgrad.autocast("cpu", dtype=srcgrad.float16):
            c = f(x)
    assert (a.dtype, a2.dtype, b.dtype, b2.dtype, c.dtype) == (srcgrad.bfloat16, srcgrad.bfloat16, srcgrad.float32,
                                                               srcgrad.float32, srcgrad.float16)
    assert f.compiles == 3 and f.hits == 2
    reasons = [e["reason"] for e in f.cache_info()["entries"]]
    assert "autocast changed: cpu bfloat16 -> off" in reasons
    assert "autocast changed: off -> cpu float16" in reasons
    with srcgrad.no_grad():
        np.testing.assert_allclose(b.numpy(), lin(x).numpy(), rtol=1e-6)


# -- GradScaler against torch.amp.GradScaler("cpu") -------------------------------------------


def _scaler_run(tm, inf_steps, n=7):
    w = tm.nn.Parameter(tm.tensor([[1.0, 2.0], [3.0, 4.0]]))
    opt = tm.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = tm.amp.GradScaler("cpu", init_scale=4.0, growth_factor=2.0, backoff_factor=0.25, growth_interval=2)
    log = []
    for i in range(n):
        opt.zero_grad()
        x = tm.tensor([[1.0, float("inf") if i in inf_steps else (float("nan") if i == 5 else 1.0)]])
        scaled = scaler.scale((x @ w).sum())
        log.append(float(scaled.item()))
        scaled.backward()
        if i == 3:
            scaler.unscale_(opt)
            log.append(w.grad.numpy().tolist())
            with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this optimizer "
                                                   "since the last update\\(\\)."):
                scaler.unscale_(opt)
        scaler.step(opt)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last update\\(\\)."):
            scaler.step(opt)
        with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)."):
            scaler.unscale_(opt)
        scaler.update()
        log.append((scaler.get_scale(), scaler._get_growth_tracker(), w.detach().numpy().tolist()))
    log.append(scaler.state_dict())
    return log


def test_grad_scaler_matches_torch():
    torch = pytest.importorskip("torch")
    want = _scaler_run(torch, {1, 4})
    got = _scaler_run(srcgrad, {1, 4})
    assert str(got) == str(want)  # (as text: a NaN loss is logged)
    # skipped steps (1, 4, 5: inf, inf, nan) left the parameters alone and backed off the scale
    assert got[-1] == {"scale": 0.125, "growth_factor": 2.0, "backoff_factor": 0.25, "growth_interval": 2,
                       "_growth_tracker": 1}


def test_grad_scaler_errors_state_dict_and_pickle():
    w = srcgrad.nn.Parameter(srcgrad.ones(2))
    opt = srcgrad.optim.SGD([w], lr=0.1)
    scaler = srcgrad.amp.GradScaler("cpu")
    assert scaler.is_enabled() and scaler.get_scale() == 2.0 ** 16
    with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
        scaler.step(opt)
    scaler.scale(w.sum())  # (no backward: no gradients)
    with pytest.raises(AssertionError, match="No inf checks were recorded for this optimizer."):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        srcgrad.amp.GradScaler("cpu").step(opt, closure=lambda: 0)
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
        srcgrad.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="The backoff factor must be < 1.0."):
        srcgrad.amp.GradScaler("cpu", backoff_factor=1.0)
    half = srcgrad.nn.Parameter(srcgrad.ones(2, dtype=srcgrad.float16))
    hopt = srcgrad.optim.SGD([half], lr=0.1)
    hs = srcgrad.amp.GradScaler("cpu")
    hs.scale(half.float().sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        hs.unscale_(hopt)

    other = srcgrad.amp.GradScaler("cpu")
    other.load_state_dict({"scale": 8.0, "growth_factor": 3.0, "backoff_factor": 0.1, "growth_interval": 5,
                           "_growth_tracker": 2})
    assert other.state_dict() == {"scale": 8.0, "growth_factor": 3.0, "backoff_factor": 0.1, "growth_interval": 5,
                                  "_growth_tracker": 2}
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        other.load_state_dict({})
    other.scale(srcgrad.ones(1))  # (makes the scale tensor, from the loaded state)
    assert other.get_scale() == 8.0
    other.update(2.0)  # (an explicit new scale)
    assert other.get_scale() == 2.0 and other._get_growth_tracker() == 2
    other.update(srcgrad.tensor(4.0))
    assert other.get_scale() == 4.0
    copy = pickle.loads(pickle.dumps(other))
    assert copy.state_dict() == other.state_dict()
    disabled = srcgrad.amp.GradScaler("cpu", enabled=False)
    loss = w.sum()
    assert disabled.scale(loss) is loss and disabled.state_dict() == {}


def test_grad_scaler_scales_lists_and_keeps_found_inf_a_tensor():
    scaler = srcgrad.amp.GradScaler("cpu", init_scale=8.0)
    a, b = srcgrad.ones(2), srcgrad.ones(3)
    out = scaler.scale([a, (b,)])
    assert isinstance(out, list) and isinstance(out[1], tuple)
    np.testing.assert_array_equal(out[1][0].numpy(), [8.0, 8.0, 8.0])
    w = srcgrad.nn.Parameter(srcgrad.ones(2))
    opt = srcgrad.optim.SGD([w], lr=0.1)
    scaler.scale(w.sum()).backward()
    scaler.unscale_(opt)
    (found,) = scaler._found_inf_per_device(opt).values()
    assert isinstance(found, srcgrad.Tensor) and found.shape == () and found.item() == 0.0
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


def _train(compiled, inf_at=(), steps=40):
    srcgrad.manual_seed(0)
    model = srcgrad.nn.Sequential(srcgrad.nn.Linear(4, 16), srcgrad.nn.ReLU(), srcgrad.nn.Linear(16, 1))
    opt = srcgrad.optim.Adam(model.parameters(), lr=0.02)
    scaler = srcgrad.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=10)
    x = srcgrad.randn(64, 4)
    y = (x * srcgrad.tensor([1.0, -2.0, 0.5, 3.0])).sum(1, keepdim=True)

    def step(x, y, bad):
        opt.zero_grad()
        with srcgrad.autocast("cpu"):
            loss = F.mse_loss(model(x * bad), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    fn = srcgrad.compile(step) if compiled else step
    losses = []
    for i in range(steps):
        losses.append(fn(x, y, srcgrad.tensor(float("inf") if i in inf_at else 1.0)).item())
    return losses, scaler, fn, [p.detach().numpy() for p in model.parameters()]


def test_training_loop_with_autocast_and_grad_scaler_trains():
    losses, scaler, _, _ = _train(False, inf_at=(3,))
    assert losses[-1] < 0.05 * losses[0]
    assert scaler.get_scale() == 1024.0 * 0.5 * 2 ** 3  # one backoff (step 3), then 36 // 10 growths


def test_grad_scaler_inside_compile_matches_eager():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # (it must not fall back to define-by-run)
        got, scaler, fn, params = _train(True, inf_at=(3, 17))
    want, want_scaler, _, want_params = _train(False, inf_at=(3, 17))
    assert fn.dynamic_at is None and fn.compiles <= 2
    assert scaler.state_dict() == want_scaler.state_dict()
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for p, q in zip(params, want_params):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)


# -- the default device ------------------------------------------------------------------------


def test_set_default_device():
    assert srcgrad.get_default_device() == srcgrad.device("cpu")
    try:
        srcgrad.set_default_device("cpu")
        assert srcgrad.get_default_device() == srcgrad.device("cpu")
        for t in (srcgrad.zeros(2), srcgrad.ones(2), srcgrad.randn(2), srcgrad.arange(3), srcgrad.tensor([1.0]),
                  srcgrad.empty(2), srcgrad.full((2,), 1.0), srcgrad.eye(2), srcgrad.linspace(0, 1, 3),
                  srcgrad.rand(2), srcgrad.randint(0, 3, (2,)), srcgrad.nn.Linear(2, 2).weight):
            assert t.device == srcgrad.device("cpu")
        srcgrad.set_default_device(srcgrad.device("cpu"))
        assert srcgrad.get_default_device() is srcgrad.device("cpu")
        if not srcgrad.cuda.is_available():
            with pytest.raises(RuntimeError, match="Torch not compiled with CUDA enabled"):
                srcgrad.set_default_device("cuda")
        with pytest.raises(RuntimeError, match="device type at start of device string: xyz"):
            srcgrad.set_default_device("xyz")
        assert srcgrad.get_default_device() == srcgrad.device("cpu")  # (a failed set changes nothing)
    finally:
        srcgrad.set_default_device(None)
    assert srcgrad.get_default_device() == srcgrad.device("cpu") and srcgrad.zeros(1).device.type == "cpu"


def test_default_device_is_what_factories_read(monkeypatch):
    import sys
    sentinel = srcgrad.device("cpu")
    srcgrad.set_default_device(sentinel)
    try:
        assert sys.modules["srcgrad.tensor"]._device_arg(None) is sentinel
        assert sys.modules["srcgrad.tensor"]._device_arg("cpu") is srcgrad.device("cpu")
    finally:
        srcgrad.set_default_device(None)
