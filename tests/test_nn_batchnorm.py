"""BatchNorm1d/2d/3d and F.batch_norm (srcgrad/pooling.py): values against a NumPy reference, gradients
against jax.grad of a jax.numpy reference and finite differences, running statistics (momentum, the
cumulative average, num_batches_tracked), train/eval, state dicts and reprs, PyTorch's errors, the
in-place buffer updates replayed by @srcgrad.compile, a small CNN trained define-by-run and compiled,
and PyTorch itself where it is installed."""

from __future__ import annotations

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad import pooling as P
from srcgrad.autograd import gradcheck, gradgradcheck
from srcgrad.compiled import CompileWarning
from srcgrad.nn import functional as F


def np_batch_norm(x, mean, var, w, b, eps, lib=np):
    """(x - mean) / sqrt(var + eps) * w + b with per-channel (dim 1) statistics and affine terms."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / lib.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


def batch_stats(x, lib=np):
    dims = (0,) + tuple(range(2, x.ndim))
    return x.mean(dims), x.var(dims)  # the biased variance


def _affine(m, rng):
    """Random weight and bias (instead of ones and zeros), returned as NumPy arrays."""
    w = rng.standard_normal(m.num_features)
    b = rng.standard_normal(m.num_features)
    with sg.no_grad():
        m.weight.copy_(sg.tensor(w, dtype=m.weight.dtype))
        m.bias.copy_(sg.tensor(b, dtype=m.bias.dtype))
    return w, b


@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                       (nn.BatchNorm2d, (4, 3, 5, 2)), (nn.BatchNorm3d, (2, 3, 2, 3, 2))])
def test_training_values_gradients_and_running_stats(cls, shape):
    rng = np.random.default_rng(0)
    m = cls(3, momentum=0.3).double()
    w, b = _affine(m, rng)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        tx = sg.tensor(x, requires_grad=True)
        y = m(tx)
        assert y.grad_fn.name() == "NativeBatchNormBackward0"
        mean, var = batch_stats(x)
        np.testing.assert_allclose(y.detach().numpy(), np_batch_norm(x, mean, var, w, b, 1e-5), rtol=1e-10, atol=1e-12)
        gy = rng.standard_normal(shape)
        y.backward(sg.tensor(gy))

        def loss(a, w_, b_):
            mu, v = batch_stats(a, jnp)
            return (np_batch_norm(a, mu, v, w_, b_, 1e-5, jnp) * gy).sum()

        gx, gw, gb = jax.grad(loss, argnums=(0, 1, 2))(jnp.asarray(x), jnp.asarray(w), jnp.asarray(b))
        np.testing.assert_allclose(tx.grad.numpy(), np.asarray(gx), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.weight.grad.numpy(), np.asarray(gw), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.bias.grad.numpy(), np.asarray(gb), rtol=1e-9, atol=1e-12)
        m.zero_grad()
        n = x.size // 3
        running_mean = 0.7 * running_mean + 0.3 * mean
        running_var = 0.7 * running_var + 0.3 * var * n / (n - 1)  # the unbiased variance
        np.testing.assert_allclose(m.running_mean.numpy(), running_mean, rtol=1e-12)
        np.testing.assert_allclose(m.running_var.numpy(), running_var, rtol=1e-12)
        assert m.num_batches_tracked.item() == step + 1 and m.num_batches_tracked.dtype == sg.int64
        assert not m.running_mean.requires_grad and m.running_mean.grad_fn is None
    m.eval()  # the running statistics now
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(m(sg.tensor(x)).detach().numpy(),
                               np_batch_norm(x, running_mean, running_var, w, b, 1e-5), rtol=1e-10)
    assert m.num_batches_tracked.item() == 3


def test_momentum_none_is_the_cumulative_average():
    rng = np.random.default_rng(1)
    m = nn.BatchNorm2d(2, momentum=None).double()
    xs = [rng.standard_normal((3, 2, 2, 2)) * (i + 1) for i in range(4)]
    for x in xs:
        m(sg.tensor(x))
    means = [batch_stats(x)[0] for x in xs]
    variances = [batch_stats(x)[1] * 12 / 11 for x in xs]
    np.testing.assert_allclose(m.running_mean.numpy(), np.mean(means, 0), rtol=1e-12)
    # (the first batch has weight 1/1: the initial statistics drop out)
    np.testing.assert_allclose(m.running_var.numpy(), np.mean(variances, 0), rtol=1e-12)
    assert m.num_batches_tracked.item() == 4


def test_affine_false_and_no_running_stats():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 4, 3))
    m = nn.BatchNorm1d(4, affine=False, track_running_stats=False).double()
    assert m.weight is None and m.bias is None and m.running_mean is None and m.num_batches_tracked is None
    assert list(m.state_dict()) == [] and list(m.parameters()) == []
    mean, var = batch_stats(x)
    ref = np_batch_norm(x, mean, var, None, None, 1e-5)
    np.testing.assert_allclose(m(sg.tensor(x)).numpy(), ref, rtol=1e-10)
    m.eval()  # no running statistics: batch statistics in eval too, as PyTorch
    np.testing.assert_allclose(m(sg.tensor(x)).numpy(), ref, rtol=1e-10)
    m = nn.BatchNorm1d(4, bias=False, eps=1e-3).double()
    assert m.bias is None
    assert m(sg.tensor(x, requires_grad=True)).grad_fn.name() == "NativeBatchNormBackward0"


def test_state_dict_keys_dtypes_load_and_repr():
    m = nn.BatchNorm2d(3)
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert sd["num_batches_tracked"].dtype == sg.int64 and sd["num_batches_tracked"].shape == ()
    assert [name for name, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    m(sg.randn(4, 3, 2, 2))
    other = nn.BatchNorm2d(3)
    other.load_state_dict(m.state_dict())
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), m.state_dict()[k].numpy())
    assert other.num_batches_tracked.item() == 1
    other.reset_running_stats()
    assert other.running_mean.tolist() == [0.0] * 3 and other.running_var.tolist() == [1.0] * 3
    assert other.num_batches_tracked.item() == 0
    assert repr(m) == "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False, track_running_stats=False)) == \
        "BatchNorm1d(4, eps=0.001, momentum=None, affine=False, bias=False, track_running_stats=False)"


def test_errors_read_like_pytorch():
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"torch\.Size\(\[1, 3\]\)"):
        nn.BatchNorm1d(3)(sg.randn(1, 3))
    with pytest.raises(ValueError, match=r"got input size torch\.Size\(\[1, 3, 1\]\)"):
        nn.BatchNorm1d(3)(sg.randn(1, 3, 1))
    m = nn.BatchNorm1d(3).eval()
    assert m(sg.randn(1, 3)).shape == (1, 3)  # eval normalises a single sample
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3)(sg.randn(3, 4, 4))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(sg.randn(2, 3, 4, 4))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm1d(3)(sg.randn(2, 4))
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        P.batch_norm(sg.randn(4, 3), None, None, training=False)


def test_functional_batch_norm_updates_given_buffers_and_has_second_derivatives():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 3, 4))
    rm, rv = sg.zeros(3, dtype=sg.float64), sg.ones(3, dtype=sg.float64)
    P.batch_norm(sg.tensor(x), rm, rv, training=True, momentum=0.5)
    mean, var = batch_stats(x)
    np.testing.assert_allclose(rm.numpy(), 0.5 * mean, rtol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.5 + 0.5 * var * 20 / 19, rtol=1e-12)
    w = sg.tensor(rng.standard_normal(3), requires_grad=True)
    b = sg.tensor(rng.standard_normal(3), requires_grad=True)
    tx = sg.tensor(x[:3, :, :2], requires_grad=True)

    def train(t, w_, b_):
        return P.batch_norm(t, None, None, w_, b_, training=True) ** 2

    def evaluate(t, w_, b_):
        return P.batch_norm(t, rm, rv, w_, b_, training=False) ** 2

    for fn in (train, evaluate):
        assert gradcheck(fn, (tx, w, b))
        assert gradgradcheck(fn, (tx, w, b))


def test_compiled_train_step_replays_running_stat_updates():
    """Buffers updated in place by the traced body are outputs of the compiled step: the trajectory, the
    running statistics and num_batches_tracked equal the undecorated run's, and the step compiles once."""
    rng = np.random.default_rng(4)
    xs = [sg.tensor(rng.standard_normal((8, 3, 4, 4)).astype(np.float32)) for _ in range(5)]
    ys = [sg.tensor(rng.standard_normal((8, 3, 4, 4)).astype(np.float32)) for _ in range(5)]

    def run(compiled, momentum):
        sg.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3, momentum=momentum))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()  # (every call starts with .grad None: one trace)
            return loss

        fn = sg.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("error", CompileWarning)
            losses = [fn(xs[0], ys[0]).item()]
            misses = sg.cache_info()["misses"]
            losses += [fn(x, y).item() for x, y in zip(xs[1:], ys[1:])]
        if compiled:  # one trace, then replays of its program: nothing more compiled
            assert fn.cache_info()["compiles"] == 1 and fn.cache_info()["hits"] == 4
            assert sg.cache_info()["misses"] == misses
        return losses, model, fn

    for momentum in (0.1, None):
        eager_losses, eager, _ = run(False, momentum)
        losses, model, fn = run(True, momentum)
        np.testing.assert_allclose(losses, eager_losses, rtol=1e-6)
        np.testing.assert_allclose(_state(model), _state(eager), rtol=1e-5, atol=1e-6)
        assert model[1].num_batches_tracked.item() == 5


def _state(model):
    """Every parameter and buffer, flattened into one array (read back as one program)."""
    return sg.cat([v.reshape(-1).double() for v in model.state_dict().values()]).numpy()


def _small_cnn():
    sg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(4),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_small_cnn_trains_define_by_run_and_compiled_with_identical_losses():
    rng = np.random.default_rng(5)
    x = sg.tensor(rng.standard_normal((16, 1, 8, 8)).astype(np.float32))
    y = sg.tensor(rng.integers(0, 3, 16))

    def train(compiled):
        model = _small_cnn()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(inp, target):
            loss = F.cross_entropy(model(inp), target)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss

        fn = sg.compile(step) if compiled else step
        return [fn(x, y).item() for _ in range(6)], model, fn

    eager_losses, eager, _ = train(False)
    losses, model, fn = train(True)
    assert eager_losses[-1] < eager_losses[0]
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    assert fn.cache_info()["compiles"] == 1
    np.testing.assert_allclose(_state(model), _state(eager), rtol=1e-4, atol=1e-5)
    model.eval()
    assert model(x).shape == (16, 3)


def test_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    for shape, kw in [((4, 3, 5, 5), {}), ((6, 3), {"momentum": None}), ((4, 3, 7), {"affine": False}),
                      ((4, 3, 2, 2), {"track_running_stats": False}), ((5, 3, 2, 3), {"bias": False, "momentum": 0.3})]:
        cls = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d"}[len(shape)]
        theirs = getattr(torch.nn, cls)(3, **kw).double()
        mine = getattr(nn, cls)(3, **kw).double()
        assert repr(mine) == repr(theirs)
        if theirs.weight is not None:
            w = rng.standard_normal(3)
            theirs.weight.data = torch.tensor(w)
            mine.weight.data = sg.tensor(w)
        for step in range(4):
            if step == 3:
                theirs.eval()
                mine.eval()
            x = rng.standard_normal(shape) * 3 + 1
            tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
            ty, sy = theirs(tx), mine(sx)
            assert sy.grad_fn.name() == ty.grad_fn.name()
            np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
            gy = rng.standard_normal(shape)
            ty.backward(torch.tensor(gy))
            sy.backward(sg.tensor(gy))
            np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
            for p1, p2 in zip(theirs.parameters(), mine.parameters()):
                np.testing.assert_allclose(p2.grad.numpy(), p1.grad.numpy(), rtol=1e-9, atol=1e-10)
            theirs.zero_grad()
            mine.zero_grad()
            sd1, sd2 = theirs.state_dict(), mine.state_dict()
            assert list(sd1) == list(sd2)
            for k in sd1:
                np.testing.assert_allclose(sd2[k].numpy(), sd1[k].numpy(), rtol=1e-12, err_msg=k)


# ---------------------------------------------------------------------------
# grad_fn and next_functions: PyTorch's NativeBatchNormBackward0 has one edge per differentiable argument,
# (input, weight, bias), in every mode. srcgrad's batch norm is a composite whose last node also reads the
# running-statistics updates; it is shown with PyTorch's edges all the same (P.as_function).

ACC = "torch::autograd::AccumulateGrad"
LAYERS = [(nn.BatchNorm1d, (3, 4)), (nn.BatchNorm1d, (3, 4, 5)), (nn.BatchNorm2d, (2, 4, 3, 3)),
          (nn.BatchNorm3d, (2, 4, 2, 2, 2))]


def _edge_names(y):
    return [None if f is None else f.name() for f, _ in y.grad_fn.next_functions]


@pytest.mark.parametrize("cls,shape", LAYERS, ids=["1d", "1d-3", "2d", "3d"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("track", [True, False], ids=["track", "batch-stats"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_grad_fn_edges_are_input_weight_and_bias(cls, shape, affine, track, training):
    m = cls(4, affine=affine, track_running_stats=track).double().train(training)
    x = sg.randn(*shape, dtype=sg.float64, requires_grad=True)
    for inp, first in ((x, ACC), (x * 2, "MulBackward0")):
        y = m(inp)
        gf = y.grad_fn
        assert type(gf).__name__ == gf.name() == "NativeBatchNormBackward0"
        nf = gf.next_functions
        assert len(nf) == 3 and [i for _, i in nf] == [0, 0, 0]
        assert nf[0][0].name() == first
        if first == ACC:
            assert nf[0][0].variable is x
        if affine:
            assert nf[1][0].variable is m.weight and nf[2][0].variable is m.bias
        else:
            assert nf[1] == nf[2] == (None, 0)
        assert y.grad_fn is gf  # (one object, as PyTorch's)
    if training and track:
        assert m.num_batches_tracked.item() == 2
    with sg.no_grad():
        assert m(x).grad_fn is None


def test_functional_batch_norm_edges_follow_its_arguments():
    x = sg.randn(5, 3, dtype=sg.float64, requires_grad=True)
    w = sg.randn(3, dtype=sg.float64, requires_grad=True)
    b = sg.randn(3, dtype=sg.float64, requires_grad=True)
    rm, rv = sg.zeros(3, dtype=sg.float64), sg.ones(3, dtype=sg.float64)
    for training in (True, False):
        assert _edge_names(P.batch_norm(x, rm, rv, w, None, training=training)) == [ACC, ACC, None]
        assert _edge_names(P.batch_norm(x, None if training else rm, None if training else rv, None, b,
                                        training=training)) == [ACC, None, ACC]
        assert _edge_names(P.batch_norm(x.detach(), rm, rv, w, b.detach(), training=training)) == [None, ACC, None]
        assert P.batch_norm(x.detach(), rm, rv, w.detach(), b.detach(), training=training).grad_fn is None
    # the view changes nothing else: gradients still reach every argument through the composite
    y = P.batch_norm(x, rm, rv, w, b, training=True)
    (y * y).sum().backward()
    assert all(t.grad is not None and t.grad.shape == t.shape for t in (x, w, b))
    assert gradgradcheck(lambda t, w_, b_: P.batch_norm(t, None, None, w_, b_, training=True) ** 2, (x, w, b))


def test_running_stat_updates_are_computed_with_the_output():
    """The updates stay inputs of the output's node (not edges of its grad_fn): whatever computes the
    output computes them in the same program, so they never pile up as pending work."""
    m = nn.BatchNorm2d(3)
    y = m(sg.randn(4, 3, 2, 2, requires_grad=True))
    assert [f is not None for f, _ in y.grad_fn.next_functions] == [True, True, True]
    assert m.running_mean._node.value is None  # pending until something computes the output
    y.sum().item()
    for buf in (m.running_mean, m.running_var, m.num_batches_tracked):
        assert buf._node.value is not None
    assert m.num_batches_tracked.item() == 1


def test_grad_fn_edges_match_torch():
    torch = pytest.importorskip("torch")

    def names(y):
        return [None if f is None else f.name() for f, _ in y.grad_fn.next_functions]

    for (cls, shape), affine, track, training in itertools.product(LAYERS, (True, False), (True, False),
                                                                   (True, False)):
        theirs = getattr(torch.nn, cls.__name__)(4, affine=affine, track_running_stats=track).double()
        mine = cls(4, affine=affine, track_running_stats=track).double()
        theirs.train(training)
        mine.train(training)
        x = np.random.default_rng(0).standard_normal(shape)
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        for ty, sy in ((theirs(tx), mine(sx)), (theirs(tx * 2), mine(sx * 2))):
            assert type(sy.grad_fn).__name__ == type(ty.grad_fn).__name__
            assert sy.grad_fn.name() == ty.grad_fn.name()
            assert names(sy) == names(ty)
            np.testing.assert_allclose(sy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
        for k, v in theirs.state_dict().items():
            np.testing.assert_allclose(mine.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)
    tF = torch.nn.functional
    x = np.random.default_rng(1).standard_normal((5, 3))
    w, b = np.ones(3), np.zeros(3)
    for training in (True, False):
        for wg, bg, xg in itertools.product((True, False), repeat=3):
            if not (wg or bg or xg):
                continue
            ty = tF.batch_norm(torch.tensor(x, requires_grad=xg), torch.zeros(3, dtype=torch.float64),
                               torch.ones(3, dtype=torch.float64), torch.tensor(w, requires_grad=wg),
                               torch.tensor(b, requires_grad=bg), training=training)
            sy = P.batch_norm(sg.tensor(x, requires_grad=xg), sg.zeros(3, dtype=sg.float64),
                              sg.ones(3, dtype=sg.float64), sg.tensor(w, requires_grad=wg),
                              sg.tensor(b, requires_grad=bg), training=training)
            assert sy.grad_fn.name() == ty.grad_fn.name() and names(sy) == names(ty)
