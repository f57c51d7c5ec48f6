"""srcgrad.nn: Module machinery, layers and losses against NumPy formulas written here (and against
PyTorch where it is installed), nn.init and nn.utils."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad.nn import functional as F

RNG = np.random.default_rng(1234)


def t64(a, requires_grad=False):
    return sg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def close(a, b, tol=1e-10):
    a = a.detach().numpy() if isinstance(a, sg.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def num_grad(f, x, eps=1e-6):
    """Central differences of a NumPy function ``f`` (returning a scalar) at ``x`` (float64)."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


# ---------------------------------------------------------------------------
# Parameter


def test_parameter_is_a_leaf_tensor_and_prints_like_pytorch():
    p = nn.Parameter(sg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert isinstance(p, nn.Parameter) and isinstance(p, sg.Tensor)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert repr(p) == "Parameter containing:\ntensor([[1., 2.],\n        [3., 4.]], requires_grad=True)"
    assert repr(nn.Parameter(sg.tensor(1.0))) == "Parameter containing:\ntensor(1., requires_grad=True)"
    assert repr(nn.Parameter(sg.ones(2), requires_grad=False)) == "Parameter containing:\ntensor([1., 1.])"
    assert repr(nn.Parameter(sg.ones(2, dtype=sg.float64))) == \
        "Parameter containing:\ntensor([1., 1.], dtype=torch.float64, requires_grad=True)"


def test_parameter_in_place_updates_keep_identity_and_grad_flows():
    p = nn.Parameter(sg.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    close(p.grad, [2.0, 4.0])
    with sg.no_grad():
        p.sub_(0.5 * p.grad)
    assert isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf
    close(p, [0.0, 0.0])
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q is not p
    assert q.grad is None and p.grad is not None  # (PyTorch's Parameter.__deepcopy__ leaves .grad behind)
    close(q, [0.0, 0.0])


# ---------------------------------------------------------------------------
# Module machinery


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(sg.ones(1))
        self.register_buffer("running", sg.zeros(2))
        self.register_buffer("scratch", sg.zeros(1), persistent=False)
        self.not_state = 7

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale + self.running


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children())[0] is net.fc1 and len(list(net.modules())) == 4
    assert len(list(net.parameters())) == 4 and len(list(net.parameters(recurse=False))) == 1
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert net.not_state == 7 and "not_state" not in net._parameters
    # shared modules and parameters are listed once
    seq = nn.Sequential(net.fc1, net.fc1)
    assert len(list(seq.parameters())) == 2 and len(list(seq.modules())) == 2
    # re-assignment, deletion, type checks
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'scale' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        net.scale = sg.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    del net.fc2
    assert not hasattr(net, "fc2") and "fc2" not in dict(net.named_children())
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        net.nope  # noqa: B018
    with pytest.raises(KeyError, match="attribute 'not_state' already exists"):
        net.register_buffer("not_state", sg.zeros(1))
    assert net.get_submodule("fc1") is net.fc1 and net.get_parameter("fc1.bias") is net.fc1.bias


def test_forward_via_call_and_hooks():
    net = Net()
    x = sg.randn(5, 3)
    assert net(x).shape == (5, 2)
    expected = net(x * 0).detach().numpy()
    seen = []
    h = net.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    net.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    out = net(x)
    assert seen == [(5, 2)]
    close(out, expected)
    h.remove()
    net(x)
    assert len(seen) == 1
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required "forward" function'):
        nn.Module()(x)


def test_train_eval_apply_zero_grad_requires_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout()))
    assert all(m.training for m in net.modules())
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "Dropout", "Dropout", "Sequential", "Sequential"]
    net(sg.randn(3, 2)).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad(set_to_none=False)
    close(net[0].weight.grad, np.zeros((2, 2)))
    net.zero_grad()
    assert net[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_dtype_keeps_parameter_identity():
    m = nn.Linear(2, 3)
    w = m.weight
    assert m.to(sg.float64) is m
    assert m.weight is w and w.dtype == sg.float64 and w.requires_grad and w.is_leaf
    m(sg.randn(4, 2, dtype=sg.float64)).sum().backward()
    assert w.grad.dtype == sg.float64
    m.float()
    assert m.weight.dtype == sg.float32 and m.weight.grad.dtype == sg.float32
    emb = nn.Embedding(3, 2).to("cpu")
    assert emb.weight.device.type == "cpu"


def test_state_dict_and_load_state_dict():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["scale", "running", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert not any(v.requires_grad for v in sd.values())
    assert all(isinstance(v, nn.Parameter) for k, v in net.state_dict(keep_vars=True).items() if k != "running")
    other = Net()
    result = other.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    for k, v in other.state_dict().items():
        close(v, sd[k].numpy())
    assert isinstance(other.fc1.weight, nn.Parameter) and other.fc1.weight.requires_grad


def test_load_state_dict_errors_match_pytorch_text():
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict({"weight": sg.zeros(3, 2), "foo": sg.zeros(1)})
    assert str(e.value) == ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". '
                            '\n\tUnexpected key(s) in state_dict: "foo". ')
    with pytest.raises(RuntimeError) as e:
        m.load_state_dict({"weight": sg.zeros(2, 2), "bias": sg.zeros(3)})
    assert str(e.value) == ("Error(s) in loading state_dict for Linear:\n\tsize mismatch for weight: copying a "
                            "param with shape torch.Size([2, 2]) from checkpoint, the shape in current model is "
                            "torch.Size([3, 2]).")
    res = m.load_state_dict({"weight": sg.ones(3, 2), "foo": sg.zeros(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["foo"]
    assert repr(res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['foo'])"
    close(m.weight, np.ones((3, 2)))
    seq = nn.Sequential(nn.Linear(1, 1))
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "1.weight", "0.extra"'):
        seq.load_state_dict({**seq.state_dict(), "1.weight": sg.zeros(1), "0.extra": sg.zeros(1)})


def test_repr_matches_pytorch():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.Tanh()), nn.Dropout(0.1),
                          nn.Embedding(10, 3, padding_idx=0), nn.LayerNorm(4), nn.GELU(), nn.Softmax(dim=1),
                          nn.LogSoftmax(1), nn.Flatten(), nn.Identity(), nn.CrossEntropyLoss(),
                          nn.ModuleList([nn.Linear(1, 1) for _ in range(3)]), nn.ModuleDict({"a": nn.ReLU()}),
                          nn.Sigmoid(), nn.ReLU(inplace=True))
    assert repr(model) == """Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
  (2): Sequential(
    (0): Linear(in_features=3, out_features=3, bias=True)
    (1): Tanh()
  )
  (3): Dropout(p=0.1, inplace=False)
  (4): Embedding(10, 3, padding_idx=0)
  (5): LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)
  (6): GELU(approximate='none')
  (7): Softmax(dim=1)
  (8): LogSoftmax(dim=1)
  (9): Flatten(start_dim=1, end_dim=-1)
  (10): Identity()
  (11): CrossEntropyLoss()
  (12): ModuleList(
    (0-2): 3 x Linear(in_features=1, out_features=1, bias=True)
  )
  (13): ModuleDict(
    (a): ReLU()
  )
  (14): Sigmoid()
  (15): ReLU(inplace=True)
)"""
    assert repr(nn.ModuleList([nn.Linear(1, 1), nn.Linear(1, 1), nn.ReLU()])) == \
        "ModuleList(\n  (0-1): 2 x Linear(in_features=1, out_features=1, bias=True)\n  (2): ReLU()\n)"
    assert repr(nn.Linear(4, 1, bias=False)) == "Linear(in_features=4, out_features=1, bias=False)"
    assert repr(nn.MSELoss()) == "MSELoss()" and repr(nn.ModuleList()) == "ModuleList()"


def test_containers():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    assert isinstance(seq[1:], nn.Sequential) and list(seq[1:]) == layers[1:]
    x = sg.randn(4, 2)
    close(seq(x), layers[2](layers[1](layers[0](x))).detach().numpy())
    named = nn.Sequential(OrderedDict([("enc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_children()] == ["enc", "act"] and named.enc is named[0]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [k for k, _ in seq.named_children()] == ["0", "1", "2", "3"]
    del seq[1]
    assert [k for k, _ in seq.named_children()] == ["0", "1", "2"] and seq[1] is layers[2]
    with pytest.raises(IndexError, match="index 5 is out of range"):
        seq[5]  # noqa: B018

    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(2)])
    ml.append(nn.Linear(1, 1))
    ml.extend([nn.ReLU()])
    ml.insert(0, nn.Tanh())
    assert len(ml) == 5 and isinstance(ml[0], nn.Tanh) and isinstance(ml[-1], nn.ReLU)
    assert len(list(ml.parameters())) == 6 and isinstance(ml[1:3], nn.ModuleList)

    md = nn.ModuleDict({"a": nn.Linear(1, 2), "b": nn.ReLU()})
    md["c"] = nn.Tanh()
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [k for k, _ in md.items()] == list(md.keys())
    assert md.pop("b").__class__ is nn.ReLU and len(md) == 2
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]

    pl = nn.ParameterList([nn.Parameter(sg.ones(2)), sg.zeros(3)])
    assert len(pl) == 2 and isinstance(pl[1], nn.Parameter)
    holder = nn.Module()
    holder.params = pl
    assert [n for n, _ in holder.named_parameters()] == ["params.0", "params.1"]
    pd = nn.ParameterDict({"w": sg.ones(2)})
    assert isinstance(pd["w"], nn.Parameter) and list(pd) == ["w"]


# ---------------------------------------------------------------------------
# layers against NumPy


def test_linear_matches_numpy():
    m = nn.Linear(3, 4).double()
    x = RNG.standard_normal((5, 3))
    gy = RNG.standard_normal((5, 4))
    tx = t64(x, True)
    y = m(tx)
    W, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    close(y, x @ W.T + b)
    assert y.grad_fn is not None
    y.backward(t64(gy))
    close(m.weight.grad, gy.T @ x)
    close(m.bias.grad, gy.sum(0))
    close(tx.grad, gy @ W)
    # batched leading dims and no bias
    m2 = nn.Linear(3, 2, bias=False).double()
    x3 = RNG.standard_normal((2, 5, 3))
    close(m2(t64(x3)), x3 @ m2.weight.detach().numpy().T)


def _erf(x):
    return np.vectorize(math.erf)(x)


ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(float)),
    (nn.Tanh(), np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    (nn.GELU(), lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
     lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))), None),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x), lambda x: np.where(x > 0, 1.0, 0.2)),
    (nn.ELU(), lambda x: np.where(x > 0, x, np.expm1(x)), lambda x: np.where(x > 0, 1.0, np.exp(x))),
    (nn.SiLU(), lambda x: x / (1 + np.exp(-x)), None),
    (nn.Softplus(), lambda x: np.log1p(np.exp(x)), lambda x: 1 / (1 + np.exp(-x))),
]


@pytest.mark.parametrize("layer,f,df", ACTIVATIONS, ids=[type(a[0]).__name__ + str(i) for i, a in
                                                        enumerate(ACTIVATIONS)])
def test_elementwise_activations_match_numpy(layer, f, df):
    x = RNG.standard_normal((4, 5)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep away from kinks
    tx = t64(x, True)
    y = layer(tx)
    close(y, f(x), tol=1e-9)
    y.sum().backward()
    ref = df(x) if df is not None else num_grad(lambda v: f(v).sum(), x)
    close(tx.grad, ref, tol=1e-7 if df is None else 1e-9)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dim", [1, 0, -1])
def test_softmax_and_log_softmax_match_numpy(dim):
    x = RNG.standard_normal((3, 4))
    g = RNG.standard_normal((3, 4))
    s = _np_softmax(x, dim)
    tx = t64(x, True)
    y = nn.Softmax(dim=dim)(tx)
    close(y, s)
    y.backward(t64(g))
    close(tx.grad, s * (g - (g * s).sum(axis=dim, keepdims=True)))
    tx2 = t64(x, True)
    ly = nn.LogSoftmax(dim=dim)(tx2)
    close(ly, np.log(s))
    ly.backward(t64(g))
    close(tx2.grad, g - s * g.sum(axis=dim, keepdims=True))


def test_dropout_train_eval_and_seed():
    d = nn.Dropout(0.25)
    x = sg.ones(4000)
    sg.manual_seed(7)
    a = d(x).numpy()
    sg.manual_seed(7)
    b = d(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a).tolist()) <= {0.0, np.float32(1 / 0.75).item()}
    assert abs((a == 0).mean() - 0.25) < 0.03
    c = d(x).numpy()
    assert not np.array_equal(a, c)
    d.eval()
    assert d(x) is x
    d.train()
    tx = sg.ones(50, requires_grad=True)
    sg.manual_seed(3)
    out = d(tx)
    out.sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), out.detach().numpy())  # d(out)/dx = mask / (1 - p)
    assert nn.Dropout(0.0)(x) is x
    close(F.dropout(x, 1.0), np.zeros(4000))
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_embedding_matches_numpy_and_padding_idx_gets_no_gradient():
    sg.manual_seed(0)
    emb = nn.Embedding(6, 3, padding_idx=2).double()
    W = emb.weight.detach().numpy()
    np.testing.assert_array_equal(W[2], np.zeros(3))
    idx = np.array([[0, 2, 5], [2, 2, 1]])
    out = emb(sg.tensor(idx))
    close(out, W[idx])
    g = RNG.standard_normal((2, 3, 3))
    out.backward(t64(g))
    ref = np.zeros_like(W)
    np.add.at(ref, idx, g)
    ref[2] = 0
    close(emb.weight.grad, ref)
    # default init is N(0, 1)
    big = nn.Embedding(200, 50).weight.detach().numpy()
    assert abs(big.mean()) < 0.03 and abs(big.std() - 1) < 0.03
    pre = nn.Embedding.from_pretrained(sg.eye(3))
    assert not pre.weight.requires_grad
    close(pre(sg.tensor([1])), [[0.0, 1.0, 0.0]])
    with pytest.raises(RuntimeError, match="indices"):
        emb(sg.tensor([0.5]))


def test_layer_norm_matches_numpy():
    ln = nn.LayerNorm(5).double()
    close(ln.weight, np.ones(5))
    close(ln.bias, np.zeros(5))
    with sg.no_grad():
        ln.weight.copy_(t64(RNG.standard_normal(5)))
        ln.bias.copy_(t64(RNG.standard_normal(5)))
    w, b = ln.weight.detach().numpy(), ln.bias.detach().numpy()
    x = RNG.standard_normal((3, 4, 5))
    g = RNG.standard_normal((3, 4, 5))
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    inv = 1 / np.sqrt(var + 1e-5)
    xhat = (x - mu) * inv
    tx = t64(x, True)
    y = ln(tx)
    close(y, xhat * w + b)
    y.backward(t64(g))
    gh = g * w
    ref_gx = inv * (gh - gh.mean(-1, keepdims=True) - xhat * (gh * xhat).mean(-1, keepdims=True))
    close(tx.grad, ref_gx, tol=1e-9)
    close(ln.weight.grad, (g * xhat).sum((0, 1)))
    close(ln.bias.grad, g.sum((0, 1)))
    # normalising over two trailing dims, no affine
    ln2 = nn.LayerNorm((4, 5), elementwise_affine=False)
    assert list(ln2.parameters()) == []
    m2 = x.mean((1, 2), keepdims=True)
    close(ln2(t64(x)), (x - m2) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[5\]"):
        ln(t64(np.zeros((2, 3))))


def test_flatten_and_identity():
    x = sg.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (2, 6))(sg.randn(3, 12)).shape == (3, 2, 6)
    assert nn.Identity(54, unused=True)(x) is x


# ---------------------------------------------------------------------------
# losses against NumPy


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_l1_losses(reduction):
    x, y = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    for cls, f in ((nn.MSELoss, lambda a: (a - y) ** 2), (nn.L1Loss, lambda a: np.abs(a - y))):
        tx = t64(x, True)
        out = cls(reduction=reduction)(tx, t64(y))
        close(out, _reduce(f(x), reduction))
        out.sum().backward()
        close(tx.grad, num_grad(lambda a, f=f: _reduce(f(a), reduction).sum(), x), tol=1e-6)


def np_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's documented formula, class dim 1, class-index targets."""
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    picked = np.take_along_axis(logp, safe[:, None], 1)[:, 0]
    wy = w[safe] * valid
    nll = -picked * wy
    smooth = -(logp * w).sum(1) * valid
    if reduction == "mean":
        nll, smooth = nll.sum() / wy.sum(), smooth.sum() / wy.sum()
    elif reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    return (1 - label_smoothing) * nll + label_smoothing / c * smooth


CE_CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=1),
    dict(label_smoothing=0.1),
    dict(weight=np.array([0.2, 1.0, 3.0, 0.5])),
    dict(weight=np.array([0.2, 1.0, 3.0, 0.5]), label_smoothing=0.2, ignore_index=0),
    dict(weight=np.array([0.2, 1.0, 3.0, 0.5]), label_smoothing=0.3, reduction="none"),
]


@pytest.mark.parametrize("kw", CE_CASES, ids=[str(sorted(k)) + k.get("reduction", "") for k in CE_CASES])
def test_cross_entropy_class_indices(kw):
    x = RNG.standard_normal((6, 4))
    target = np.array([0, 1, 3, 1, 2, 0])
    ref = np_cross_entropy(x, target, **kw)
    args = dict(kw)
    if "weight" in args:
        args["weight"] = t64(args["weight"])
    tx = t64(x, True)
    out = nn.CrossEntropyLoss(**args)(tx, sg.tensor(target))
    close(out, ref)
    out.sum().backward()
    close(tx.grad, num_grad(lambda a: np.sum(np_cross_entropy(a, target, **kw)), x), tol=1e-6)


def test_cross_entropy_probabilities_unbatched_and_spatial():
    x = RNG.standard_normal((5, 3))
    p = _np_softmax(RNG.standard_normal((5, 3)), 1)
    logp = np.log(_np_softmax(x, 1))
    w = np.array([1.0, 2.0, 0.5])
    close(F.cross_entropy(t64(x), t64(p)), -(p * logp).sum() / 5)
    close(F.cross_entropy(t64(x), t64(p), weight=t64(w), reduction="none"), -(p * logp * w).sum(1))
    ps = p * 0.8 + 0.2 / 3
    close(F.cross_entropy(t64(x), t64(p), label_smoothing=0.2), -(ps * logp).sum() / 5)
    # unbatched: (C,) logits and a 0-d class index
    close(F.cross_entropy(t64(x[0]), sg.tensor(2)), -logp[0, 2])
    # (N, C, d) input with (N, d) targets
    xs = RNG.standard_normal((2, 3, 4))
    ts = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    flat = xs.transpose(0, 2, 1).reshape(-1, 3)
    close(F.cross_entropy(t64(xs), sg.tensor(ts)), np_cross_entropy(flat, ts.reshape(-1)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    logp = np.log(_np_softmax(RNG.standard_normal((5, 3)), 1))
    target = np.array([2, 0, 1, 1, 0])
    w = np.array([0.5, 2.0, 1.0])
    picked = -logp[np.arange(5), target] * w[target]
    ref = picked.sum() / w[target].sum() if reduction == "mean" else _reduce(picked, reduction)
    tl = t64(logp, True)
    out = nn.NLLLoss(weight=t64(w), reduction=reduction)(tl, sg.tensor(target))
    close(out, ref)
    out.sum().backward()
    close(tl.grad, num_grad(lambda a: np.sum(-a[np.arange(5), target] * w[target] /
                                             (w[target].sum() if reduction == "mean" else 1)), logp), tol=1e-6)
    with pytest.raises(ValueError, match=r"Expected input batch_size \(5\) to match target batch_size \(2\)"):
        F.nll_loss(t64(logp), sg.tensor([0, 1]))


@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2), (3, 4, 2, 2), (2, 4, 2, 1, 2), (4,)])
def test_cross_entropy_with_class_indices_as_pytorch(shape):
    """Values, input gradients and grad_fn names (NllLossBackward0 / NllLoss2DBackward0 / views) of the
    one-op nll_loss, for every reduction, with and without weights and ignore_index."""
    torch = pytest.importorskip("torch")
    target = RNG.integers(0, 4, shape[:1] + shape[2:]) if len(shape) > 1 else np.array(2)
    for reduction in ("mean", "sum", "none"):
        for ignore_index in (-100, 1):
            for w in (None, RNG.random(4) + 0.5):
                x = RNG.standard_normal(shape)
                a = t64(x, True)
                b = torch.tensor(x, requires_grad=True)
                kw = dict(reduction=reduction, ignore_index=ignore_index)
                out = F.cross_entropy(a, sg.tensor(target), weight=None if w is None else t64(w), **kw)
                ref = torch.nn.functional.cross_entropy(b, torch.tensor(target),
                                                        weight=None if w is None else torch.tensor(w), **kw)
                assert out.grad_fn.name() == ref.grad_fn.name()
                close(out, ref.detach().numpy())
                g = RNG.standard_normal(tuple(ref.shape))
                out.backward(t64(g))
                ref.backward(torch.tensor(g))
                close(a.grad, b.grad.numpy())


def test_nll_loss_edge_cases_as_pytorch():
    # every target ignored: the mean is 0/0 (nan) and the gradient 0, as in PyTorch
    x = t64(RNG.standard_normal((3, 4)), True)
    out = F.nll_loss(x, sg.tensor([-100, -100, -100]))
    assert math.isnan(out.item())
    out.backward()
    close(x.grad, np.zeros((3, 4)))
    # the weight is not differentiable: PyTorch refuses it at the call
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        F.nll_loss(x, sg.tensor([0, 1, 2]), weight=sg.ones(4, requires_grad=True))
    with sg.no_grad():
        F.nll_loss(x, sg.tensor([0, 1, 2]), weight=sg.ones(4, dtype=sg.float64, requires_grad=True))
    # second derivatives through the one-op loss and its one-op gradient
    x = t64(RNG.standard_normal((3, 4)), True)
    assert sg.autograd.gradgradcheck(lambda x: F.cross_entropy(x, sg.tensor([0, 3, 1]), label_smoothing=0.1), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(reduction):
    x = RNG.standard_normal((4, 3)) * 3
    y = (RNG.random((4, 3)) > 0.5).astype(float)
    w = RNG.random(3) + 0.5
    pw = RNG.random(3) + 0.5

    def ref(a):
        log_sig = -np.log1p(np.exp(-a))
        log_one_minus = -np.log1p(np.exp(a))
        return _reduce(-w * (pw * y * log_sig + (1 - y) * log_one_minus), reduction)

    tx = t64(x, True)
    out = nn.BCEWithLogitsLoss(weight=t64(w), reduction=reduction, pos_weight=t64(pw))(tx, t64(y))
    close(out, ref(x))
    out.sum().backward()
    close(tx.grad, num_grad(lambda a: np.sum(ref(a)), x), tol=1e-6)
    # stable for huge logits
    big = F.binary_cross_entropy_with_logits(t64([1000.0, -1000.0]), t64([0.0, 1.0]), reduction="none")
    close(big, [1000.0, 1000.0])
    loss = nn.BCEWithLogitsLoss()
    assert [n for n, _ in loss.named_buffers()] == []  # None buffers are skipped


def test_loss_argument_checks():
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        nn.MSELoss(reduction="bogus")
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, please use "
                                         "reduction='sum' instead."):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="reduction='none' instead"):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.raises(UserWarning, match="Using a target size"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            F.mse_loss(sg.zeros(3, 1), sg.zeros(3))


# ---------------------------------------------------------------------------
# nn.init and default initialisation


def test_calculate_gain_and_fans():
    assert nn.init.calculate_gain("linear") == 1 and nn.init.calculate_gain("conv2d") == 1
    assert nn.init.calculate_gain("sigmoid") == 1
    assert nn.init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert nn.init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert nn.init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert nn.init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        nn.init.calculate_gain("foo")
    assert nn.init._calculate_fan_in_and_fan_out(sg.empty(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(sg.empty(5))


def _stats(t):
    a = t.detach().numpy()
    return a.min(), a.max(), a.mean(), a.std()


def test_init_functions_have_pytorch_distributions():
    sg.manual_seed(0)
    w = nn.Parameter(sg.empty(400, 300))
    assert nn.init.uniform_(w, -2, 3) is w
    lo, hi, mean, _ = _stats(w)
    assert -2 <= lo and hi <= 3 and abs(mean - 0.5) < 0.02
    nn.init.normal_(w, 1.0, 2.0)
    _, _, mean, std = _stats(w)
    assert abs(mean - 1) < 0.02 and abs(std - 2) < 0.02
    nn.init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 700)
    lo, hi, _, std = _stats(w)
    assert -bound <= lo and hi <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    nn.init.xavier_normal_(w)
    assert abs(_stats(w)[3] - math.sqrt(2 / 700)) < 0.02 * math.sqrt(2 / 700)
    nn.init.kaiming_uniform_(w, a=0, mode="fan_in", nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 300)
    lo, hi, _, _ = _stats(w)
    assert -bound <= lo and hi <= bound and hi > 0.95 * bound
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert abs(_stats(w)[3] - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    nn.init.constant_(w, 0.3)
    close(w, np.full((400, 300), 0.3), tol=1e-7)
    nn.init.zeros_(w)
    assert not w.detach().numpy().any()
    nn.init.ones_(w)
    assert (w.detach().numpy() == 1).all()
    nn.init.eye_(w)
    close(w[:3, :3], np.eye(3))
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_linear_default_init_bounds_and_seed():
    sg.manual_seed(1)
    a = nn.Linear(50, 40)
    sg.manual_seed(1)
    b = nn.Linear(50, 40)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    bound = 1 / math.sqrt(50)  # kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    w = a.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(a.bias.detach().numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound


# ---------------------------------------------------------------------------
# nn.utils


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_clip_grad_norm(norm_type):
    p1 = nn.Parameter(t64(RNG.standard_normal((3, 4))))
    p2 = nn.Parameter(t64(RNG.standard_normal(5)))
    g1, g2 = RNG.standard_normal((3, 4)) * 3, RNG.standard_normal(5) * 3
    p1.grad, p2.grad = t64(g1), t64(g2)
    flat = np.concatenate([g1.ravel(), g2.ravel()])
    total = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    out = nn.utils.clip_grad_norm_([p1, p2], max_norm=1.5, norm_type=norm_type)
    close(out, total)
    coef = min(1.0, 1.5 / (total + 1e-6))
    close(p1.grad, g1 * coef)
    close(p2.grad, g2 * coef)
    # below the threshold nothing changes
    nn.utils.clip_grad_norm_(p2, max_norm=1e6, norm_type=norm_type)
    close(p2.grad, g2 * coef)


def test_clip_grad_value_and_vector_conversion():
    p = nn.Parameter(t64([1.0, 2.0, 3.0]))
    p.grad = t64([-5.0, 0.5, 5.0])
    nn.utils.clip_grad_value_([p], 1.0)
    close(p.grad, [-1.0, 0.5, 1.0])
    m = nn.Linear(2, 2)
    v = nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (6,)
    nn.utils.vector_to_parameters(sg.arange(6.0), m.parameters())
    close(m.weight, [[0.0, 1.0], [2.0, 3.0]])
    close(m.bias, [4.0, 5.0])


# ---------------------------------------------------------------------------
# against PyTorch (skipped where torch is not installed)


def test_layers_and_losses_match_torch():
    torch = pytest.importorskip("torch")
    sg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 4)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.LayerNorm(8), torch.nn.GELU(),
                                 torch.nn.Linear(8, 4)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = RNG.standard_normal((5, 6))
    y = np.array([0, 3, 1, 2, 3])
    lo = F.cross_entropy(ours(t64(x)), sg.tensor(y), label_smoothing=0.1)
    lt = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y), label_smoothing=0.1)
    lo.backward()
    lt.backward()
    close(lo, lt.item())
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, tp[name].grad.numpy(), tol=1e-9)
    emb_t = torch.nn.Embedding(5, 2, padding_idx=1).double()
    emb_o = nn.Embedding(5, 2, padding_idx=1).double()
    emb_o.load_state_dict({"weight": sg.tensor(emb_t.weight.detach().numpy())})
    idx = np.array([1, 3, 1, 0])
    emb_t(torch.tensor(idx)).pow(2).sum().backward()
    (emb_o(sg.tensor(idx)) ** 2).sum().backward()
    close(emb_o.weight.grad, emb_t.weight.grad.numpy())
    xb = RNG.standard_normal((3, 4))
    yb = (RNG.random((3, 4)) > 0.5).astype(float)
    pw = RNG.random(4) + 0.5
    close(F.binary_cross_entropy_with_logits(t64(xb), t64(yb), pos_weight=t64(pw)),
          torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(xb), torch.tensor(yb),
                                                               pos_weight=torch.tensor(pw)).item())
    assert repr(ours) == repr(theirs)


# ---------------------------------------------------------------------------
# losses and containers: PyTorch's values, gradients, checks and reprs


def test_bce_at_exact_zero_and_one_has_torch_values_and_finite_gradients():
    # expected values from PyTorch 2: log terms clamped at -100; gradient (x - y) / max(x (1 - x), 1e-12)
    x = sg.tensor([0.0, 1.0, 0.5], requires_grad=True)
    F.binary_cross_entropy(x, sg.tensor([0.0, 1.0, 1.0])).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, -2 / 3], rtol=1e-6)
    xs = [0.0, 1.0, 0.0, 1.0, 1e-13, 1e-30, 0.3]
    ys = [1.0, 0.0, 0.5, 0.3, 0.0, 1.0, 0.2]
    w = np.linspace(0.5, 2.0, 7)
    for dtype in (np.float32, np.float64):
        tx = sg.tensor(np.array(xs, dtype), requires_grad=True)
        loss = nn.BCELoss(weight=sg.tensor(w.astype(dtype)), reduction="none")(tx, sg.tensor(np.array(ys, dtype)))
        loss.sum().backward()
        g = tx.grad.numpy()
        assert np.isfinite(g).all()
        np.testing.assert_allclose(loss.detach().numpy(),
                                   w * [100.0, 100.0, 50.0, 70.0, 1e-13, -np.log(1e-30), -0.2 * np.log(0.3)
                                        - 0.8 * np.log(0.7)], rtol=1e-5)
        np.testing.assert_allclose(g[:6], w[:6] * [-1e12, 1e12, -5e11, 7e11, 0.1, -1e12], rtol=1e-5)
        np.testing.assert_allclose(g[6], w[6] * 0.1 / 0.21, rtol=1e-5)
    with sg.no_grad():  # the values without the gradient machinery
        close(F.binary_cross_entropy(t64([0.0, 1.0, 0.25]), t64([1.0, 1.0, 0.0]), reduction="sum"),
              100 - np.log(0.75))


def test_bce_matches_torch_side_by_side():
    torch = pytest.importorskip("torch")
    xs = np.array([0.0, 1.0, 0.0, 1.0, 1e-13, 1e-30, 1 - 6e-8, 0.3, 0.999, 1e-5], np.float32)
    ys = np.array([1.0, 0.0, 0.5, 0.3, 0.0, 1.0, 0.0, 0.2, 1.0, 0.0], np.float32)
    for reduction in ("mean", "sum", "none"):
        ox, tx = sg.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
        lo = F.binary_cross_entropy(ox, sg.tensor(ys), reduction=reduction)
        lt = torch.nn.functional.binary_cross_entropy(tx, torch.tensor(ys), reduction=reduction)
        lo.sum().backward()
        lt.sum().backward()
        np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-5)


@pytest.mark.parametrize("fn,logits", [(F.binary_cross_entropy, False), (nn.BCELoss(), False),
                                       (F.binary_cross_entropy_with_logits, True), (nn.BCEWithLogitsLoss(), True)])
def test_bce_refuses_a_target_of_another_shape(fn, logits):
    x, y = sg.full((3, 1), 0.5, requires_grad=True), sg.zeros(3)
    msg = (r"Target size \(torch.Size\(\[3\]\)\) must be the same as input size \(torch.Size\(\[3, 1\]\)\)"
           if logits else r"Using a target size \(torch.Size\(\[3\]\)\) that is different to the input size "
           r"\(torch.Size\(\[3, 1\]\)\) is deprecated. Please ensure they have the same size.")
    with pytest.raises(ValueError, match=msg):
        fn(x, y)
    if not logits:
        with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
            fn(sg.tensor([0.5, 2.0]), sg.zeros(2))


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.tensor([0, 1]), weight=sg.ones(4)), RuntimeError,
     "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: [4]"),
    (lambda: F.nll_loss(sg.randn(2, 3), sg.tensor([0, 1]), weight=sg.ones(2, 3)), RuntimeError,
     "weight tensor should be defined either for all 3 classes or no classes but got weight tensor of shape: "
     "[2, 3]"),
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.rand(2, 3), weight=sg.ones(4)), RuntimeError,
     "cross_entropy: weight tensor should be defined either for all 3 classes or no classes but got weight "
     "tensor of shape: [4]"),
    (lambda: F.nll_loss(sg.randn(2, 3, 4), sg.zeros(2, 4, dtype=sg.int64), weight=sg.ones(2)), RuntimeError,
     "weight tensor should be defined either for all or no classes"),
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.tensor([0, 1], dtype=sg.int32)), RuntimeError,
     "expected target dtype to be Long or Byte, but got Int"),
    (lambda: nn.NLLLoss()(sg.randn(2, 3), sg.tensor([0.0, 1.0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.randint(0, 3, (2, 3))), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    (lambda: nn.CrossEntropyLoss(ignore_index=1)(sg.randn(2, 3), sg.rand(2, 3)), RuntimeError,
     "ignore_index is not supported for floating point target"),
    (lambda: F.cross_entropy(sg.randn(2, 3, 4), sg.zeros(2, 5, dtype=sg.int64)), RuntimeError,
     "Expected target size [2, 4], got [2, 5]"),
    (lambda: F.nll_loss(sg.randn(2, 3, 4), sg.zeros(2, 4, 1, dtype=sg.int64)), RuntimeError,
     "Expected target size [2, 4], got [2, 4, 1]"),
    (lambda: F.cross_entropy(sg.randn(2, 3, 4), sg.rand(2, 3, 5)), RuntimeError,
     "Expected target size [2, 4], got [2, 3, 5]"),
    (lambda: F.nll_loss(sg.randn(2, 3, 4, 5), sg.zeros(2, 4, dtype=sg.int64)), RuntimeError,
     "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2"),
    (lambda: F.nll_loss(sg.randn(2, 3, 4, 5), sg.zeros(2, 4, 6, dtype=sg.int64)), RuntimeError,
     "size mismatch (got input: [2, 3, 4, 5] , target: [2, 4, 6]"),
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.rand(2, 4)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (lambda: F.nll_loss(sg.randn(3), sg.tensor([0, 1])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    (lambda: F.nll_loss(sg.randn(()), sg.tensor(1)), ValueError, "Expected 1 or more dimensions (got 0)"),
    (lambda: F.cross_entropy(sg.tensor([[1.0, 2.0, 3.0]]), sg.tensor([3])), IndexError, "Target 3 is out of bounds."),
    (lambda: F.nll_loss(sg.tensor([[1.0, 2.0, 3.0]]), sg.tensor([-1])), IndexError, "Target -1 is out of bounds."),
    (lambda: F.cross_entropy(sg.randn(2, 3, 4), sg.tensor([[0, 1, 2, 3], [0, 1, 2, -5]])), IndexError,
     "Target 3 is out of bounds."),
    (lambda: F.cross_entropy(sg.randn(2, 3), sg.tensor([0, 7]), label_smoothing=0.1), IndexError,
     "Target 7 is out of bounds."),
    (lambda: nn.Embedding(3, 2)(sg.tensor([0, -1])), IndexError, "index out of range in self"),
    (lambda: F.embedding(sg.tensor([[3]]), sg.randn(3, 2)), IndexError, "index out of range in self"),
])
def test_class_index_losses_refuse_bad_arguments_as_torch(call, exc, msg):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == msg


def test_class_index_losses_accept_what_torch_accepts():
    x = RNG.standard_normal((2, 3))
    logp = np.log(_np_softmax(x, 1))
    # ignore_index values (in range or not), uint8 targets, negative ignore_index with probabilities
    close(F.cross_entropy(t64(x), sg.tensor([5, 0]), ignore_index=5), -logp[1, 0])
    close(F.nll_loss(t64(logp), sg.tensor([0, 2], dtype=sg.uint8), ignore_index=2, reduction="none"),
          [-logp[0, 0], 0.0])
    p = _np_softmax(RNG.standard_normal((2, 3)), 1)
    close(F.cross_entropy(t64(x), t64(p), ignore_index=-1), -(p * logp).sum() / 2)
    # a 1-D input takes a 0-d target or a 1-D target of one element; either gives a 0-d loss
    for target in (sg.tensor(2), sg.tensor([2])):
        out = F.cross_entropy(t64(x[0]), target, reduction="none")
        assert out.shape == ()
        close(out, -logp[0, 2])
    # a pending target (not computed yet) is not read back for the bounds check
    assert F.cross_entropy(t64(x), sg.tensor([0, 1]) + 0).shape == ()


def test_class_index_loss_errors_match_torch():
    torch = pytest.importorskip("torch")
    cases = [
        ((2, 3), np.array([0, 1], np.int32), {}), ((2, 3), np.array([0, 1]), {"weight": np.ones(4)}),
        ((2, 3, 4), np.zeros((2, 5), np.int64), {}), ((2, 3, 4, 5), np.zeros((2, 4, 6), np.int64), {}),
        ((2, 3), np.random.rand(2, 3), {"ignore_index": 1}), ((2, 3), np.array([[0, 1, 2], [0, 1, 2]]), {}),
        ((1, 3), np.array([3]), {}), ((1, 3), np.array([-1]), {}), ((3,), np.array([0, 1]), {}),
    ]
    for shape, target, kw in cases:
        x = np.random.randn(*shape).astype(np.float32)
        tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        okw = {k: sg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        target = target.astype(np.float32) if target.dtype == np.float64 else target
        with pytest.raises(Exception) as theirs:
            torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(target), **tkw)
        with pytest.raises(Exception) as ours:
            F.cross_entropy(sg.tensor(x), sg.tensor(target), **okw)
        assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


def test_parameter_list_and_dict_reprs_match_torch():
    assert repr(nn.ParameterList([nn.Parameter(sg.ones(2))])) == \
        "ParameterList(  (0): Parameter containing: [torch.float32 of size 2])"
    assert repr(nn.ParameterList([sg.ones(2, 3), sg.ones((), dtype=sg.float64)])) == (
        "ParameterList(\n"
        "    (0): Parameter containing: [torch.float32 of size 2x3]\n"
        "    (1): Parameter containing: [torch.float64 of size ]\n"
        ")")
    assert repr(nn.ParameterDict({"x": nn.Parameter(sg.ones(2))})) == \
        "ParameterDict(  (x): Parameter containing: [torch.FloatTensor of size 2])"
    # a plain dict's entries are added in sorted key order (an OrderedDict's in its own order), as PyTorch
    pd = nn.ParameterDict({"x": sg.ones(2, 3), "b": sg.ones(()), "c": sg.ones(2, dtype=sg.float64)})
    assert list(pd) == ["b", "c", "x"]
    assert repr(pd) == (
        "ParameterDict(\n"
        "    (b): Parameter containing: [torch.FloatTensor of size ]\n"
        "    (c): Parameter containing: [torch.DoubleTensor of size 2]\n"
        "    (x): Parameter containing: [torch.FloatTensor of size 2x3]\n"
        ")")
    assert list(nn.ParameterDict(OrderedDict([("x", sg.ones(1)), ("b", sg.ones(1))]))) == ["x", "b"]
    assert repr(nn.ParameterDict()) == "ParameterDict()" and repr(nn.ParameterList()) == "ParameterList()"
    with pytest.raises(ValueError, match="ParameterDict update sequence element #0 has length 1; 2 is required"):
        nn.ParameterDict([("a",)])


def test_parameter_containers_repr_side_by_side_with_torch():
    torch = pytest.importorskip("torch")

    def build(lib):
        m = lib.nn.Module()
        m.pl = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2)), lib.ones(2, 3)])
        m.pd = lib.nn.ParameterDict({"z": lib.nn.Parameter(lib.ones(2)), "a": lib.ones(2, dtype=lib.float64)})
        m.l = lib.nn.Linear(1, 1)
        return m

    assert repr(build(sg)) == repr(build(torch))


def test_zero_grad_keeps_the_grad_tensor_and_zeros_it_in_place():
    m = nn.Linear(2, 1)
    m(sg.ones(3, 2)).sum().backward()
    g, gb = m.weight.grad, m.bias.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is g and m.bias.grad is gb
    np.testing.assert_array_equal(g.numpy(), [[0.0, 0.0]])
    np.testing.assert_array_equal(gb.numpy(), [0.0])
    m(sg.ones(3, 2)).sum().backward()  # accumulates onto the zeros
    np.testing.assert_array_equal(m.weight.grad.numpy(), [[3.0, 3.0]])
    # a grad that is itself part of a graph (create_graph=True) is detached, as PyTorch does
    x = nn.Parameter(sg.tensor([1.0, 2.0]))
    (x ** 3).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.grad_fn is not None
    holder = nn.Module()
    holder.x = x
    holder.zero_grad(set_to_none=False)
    assert x.grad is gx and gx.grad_fn is None and not gx.requires_grad
    np.testing.assert_array_equal(gx.numpy(), [0.0, 0.0])


def test_state_dict_holds_detached_aliases_not_copies():
    m = nn.Linear(2, 1)
    sd = m.state_dict()
    assert sd["weight"] is not m.weight and not sd["weight"].requires_grad and sd["weight"].grad_fn is None
    np.testing.assert_array_equal(sd["weight"].numpy(), m.weight.detach().numpy())
    assert m.state_dict(keep_vars=True)["weight"] is m.weight


def test_hardtanh_as_pytorch():
    x = sg.tensor([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], requires_grad=True)
    y = F.hardtanh(x)
    assert y.grad_fn.name() == "HardtanhBackward0"
    np.testing.assert_array_equal(y.detach().numpy(), [-1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0])
    y.sum().backward()
    # zero at the bounds themselves (PyTorch's hardtanh_backward), unlike clamp
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(F.hardtanh(sg.tensor([1, 5, -3]), -2, 2).numpy(), [1, 2, -2])
    np.testing.assert_allclose(F.hardtanh(sg.tensor([0.3, 7.0]), 0.0, 6.0).numpy(), [0.3, 6.0], rtol=1e-6)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    t = sg.tensor([-3.0, 0.25])
    assert F.hardtanh(t, inplace=True) is t and t.tolist() == [-1.0, 0.25]


def test_hardtanh_and_relu6_modules():
    x = sg.tensor([-8.0, -1.5, -0.5, 0.5, 3.0, 7.0], requires_grad=True)
    m = nn.Hardtanh(-1.0, 2.0)
    assert repr(m) == "Hardtanh(min_val=-1.0, max_val=2.0)"
    assert repr(nn.ReLU6()) == "ReLU6()" and repr(nn.Hardtanh(inplace=True)) == \
        "Hardtanh(min_val=-1.0, max_val=1.0, inplace=True)"
    out = m(x)
    np.testing.assert_array_equal(out.detach().numpy(), [-1, -1, -0.5, 0.5, 2, 2])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(nn.ReLU6()(x).detach().numpy(), [0, 0, 0, 0.5, 3, 6])
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        nn.Hardtanh(2.0, 1.0)


def test_init_samplers_and_deprecated_names():
    import warnings
    sg.manual_seed(0)
    w = sg.empty(200, 300)
    assert nn.init.trunc_normal_(w, mean=0.1, std=0.5, a=-0.6, b=0.9) is w
    a = w.numpy()
    assert a.min() >= -0.6 and a.max() <= 0.9 and abs(a.mean() - 0.12) < 0.02  # the truncated N(0.1, 0.25)'s mean
    q = nn.init.orthogonal_(sg.empty(4, 6), gain=2).numpy()
    np.testing.assert_allclose(q @ q.T, 4 * np.eye(4), atol=1e-5)
    q = nn.init.orthogonal_(sg.empty(6, 3, 2)).numpy().reshape(6, 6)
    np.testing.assert_allclose(q.T @ q, np.eye(6), atol=1e-5)
    c = nn.init.dirac_(sg.empty(4, 2, 3, 3), groups=2).numpy()
    np.testing.assert_array_equal(c[:, :, 1, 1], [[1, 0], [0, 1], [1, 0], [0, 1]])
    assert c.sum() == 4
    s = nn.init.sparse_(sg.empty(5, 4), 0.4).numpy()
    np.testing.assert_array_equal((s == 0).sum(0), [2, 2, 2, 2])
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        nn.init.orthogonal_(sg.empty(3))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        np.testing.assert_array_equal(nn.init.eye(sg.empty(2, 2)).numpy(), np.eye(2))
        nn.init.normal(sg.empty(2))
        nn.Linear(0, 3)
    assert [str(w.message) for w in seen] == ["`nn.init.eye` is now deprecated in favor of `nn.init.eye_`.",
                                               "`nn.init.normal` is now deprecated in favor of `nn.init.normal_`.",
                                               "Initializing zero-element tensors is a no-op"]
    assert seen[0].category is FutureWarning


def test_forward_hooks_with_kwargs_and_prepend():
    m = nn.Linear(2, 2)
    calls = []
    h = m.register_forward_pre_hook(lambda mod, args, kwargs: ((args[0] * 0,), kwargs), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: calls.append(("kw", kwargs)), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: calls.append("first"), prepend=True)
    out = m(sg.ones(1, 2))
    close(out, m.bias.detach().numpy()[None])  # the pre-hook zeroed the input
    assert calls == ["first", ("kw", {})]
    h.remove()
    assert m._forward_hooks_with_kwargs == {next(k for k in m._forward_hooks if k in m._forward_hooks_with_kwargs)}
    m.register_forward_pre_hook(lambda mod, args, kwargs: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\)"):
        m(sg.ones(1, 2))
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes, but got "
                                        "desired dtype=torch.int64"):
        nn.Linear(2, 2).to(sg.int64)


def test_container_operations_as_pytorch():
    pd = nn.ParameterDict({"a": nn.Parameter(sg.ones(1))})
    with pytest.raises(AttributeError, match="'ParameterDict' object has no attribute 'zz'"):
        pd["zz"]
    assert pd.get("zz") is None and pd.get("a") is pd["a"]
    assert pd.setdefault("b", sg.zeros(2)) is pd["b"] and list(pd.copy().keys()) == ["a", "b"]
    assert isinstance(pd.pop("a"), nn.Parameter) and list(pd) == ["b"]
    pl = nn.ParameterList([sg.ones(1), sg.zeros(2)])
    part = pl[0:1]
    assert isinstance(part, nn.ParameterList) and len(part) == 1 and part[0] is pl[0]
    same = pl
    pl += [sg.ones(3)]
    assert pl is same and len(pl) == 3
    s = nn.Sequential(nn.ReLU(), nn.Tanh())
    twice = s * 2
    assert isinstance(twice, nn.Sequential) and len(twice) == 4 and twice[0] is twice[2] and len(2 * s) == 4
    with pytest.raises(ValueError, match="Non-positive multiplication factor 0"):
        s * 0
    same = s
    s += nn.Sequential(nn.Sigmoid())
    assert s is same and len(s) == 3
    with pytest.raises(AssertionError, match="module should be of type"):
        s.insert(0, 3)
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable of key/value pairs, "
                                        "but got int"):
        nn.ModuleDict().update(3)
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 3)


def test_clip_grads_with_norm_and_mixed_dtype_total_norm():
    a = sg.ones(2, requires_grad=True)
    b = sg.ones(2, dtype=sg.float64, requires_grad=True)
    (a.sum() + b.sum()).backward()
    total = nn.utils.clip_grad_norm_([a, b], 1.0)
    assert total.dtype == sg.float64  # stack promotes, as PyTorch's
    close(total, 2.0, tol=1e-6)
    close(a.grad, [0.5, 0.5], tol=1e-6)
    close(b.grad, [0.5, 0.5], tol=1e-6)
    a.grad = sg.tensor([3.0, 4.0])
    nn.utils.clip_grads_with_norm_([a], 1.0, nn.utils.get_total_norm([a.grad]))
    close(a.grad, [0.6, 0.8], tol=1e-5)


def test_full_backward_hooks_as_pytorch():
    m = nn.Linear(3, 2)
    seen = []
    h = m.register_full_backward_hook(lambda mod, gi, go: seen.append((mod, gi, go)))
    x = sg.tensor(RNG.standard_normal((4, 3)), dtype=sg.float32, requires_grad=True)
    m(x).sum().backward()
    (mod, grad_input, grad_output), = seen
    assert mod is m and isinstance(grad_input, tuple) and len(grad_input) == 1 and len(grad_output) == 1
    close(grad_output[0], np.ones((4, 2)))
    close(grad_input[0], x.grad.numpy())
    close(x.grad, np.ones((4, 2)) @ m.weight.detach().numpy(), tol=1e-6)
    h.remove()
    # a hook may replace grad_input; a pre-hook grad_output
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0,))
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 10,))
    x.grad = None
    m.zero_grad()
    y = m(x)
    assert y.grad_fn.name() == "BackwardHookFunctionBackward"
    y.sum().backward()
    close(x.grad, np.zeros((4, 3)))
    close(m.bias.grad, [40.0, 40.0])  # 4 rows of 10
    # no input needs a gradient: the hook fires with the output gradients, grad_input (None,)
    m2 = nn.Linear(3, 2)
    got = []
    m2.register_full_backward_hook(lambda mod, gi, go: got.append(gi))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with respect to "
                                         "module outputs"):
        m2(sg.ones(1, 3)).sum().backward()
    assert got == [(None,)]


@pytest.mark.parametrize("call, error, message", [
    (lambda m: nn.Module(foo=1), TypeError, "Module.__init__() got an unexpected keyword argument 'foo'"),
    (lambda m: nn.Module(1), TypeError, "Module.__init__() takes 1 positional argument but 2 were given"),
    (lambda m: m.add_module("a.b", nn.ReLU()), KeyError, 't contain ".", got: a.b'),  # (KeyError quotes)
    (lambda m: m.register_buffer("a.b", None), KeyError, 't contain "."'),
    (lambda m: m.get_parameter("zz"), AttributeError, "Linear has no attribute `zz`"),
    (lambda m: m.get_buffer("zz"), AttributeError, "Linear has no attribute `zz`"),
    (lambda m: m.get_buffer("weight"), AttributeError, "`weight` is not a buffer"),
])
def test_module_errors_as_pytorch(call, error, message):
    import re
    with pytest.raises(error, match=re.escape(message)):
        call(nn.Linear(2, 2))


def test_a_parameter_shares_its_sources_storage():
    a = sg.zeros(3)
    p = nn.Parameter(a)
    a.add_(1)
    close(p, [1.0, 1.0, 1.0])
    assert p._version == a._version == 1 and p.requires_grad and p.is_leaf
    with sg.no_grad():
        p.sub_(0.5)
    close(a, [0.5, 0.5, 0.5])
    w = sg.zeros(2, 2)
    e = nn.Embedding.from_pretrained(w)
    w.add_(1)
    close(e.weight, np.ones((2, 2)))


# -- state-dict protocol: PyTorch's _load_from_state_dict signature, metadata, extra state, hooks


def test_state_dict_metadata_versions_survive_save_and_load(tmp_path):
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    sd = m.state_dict()
    assert dict(sd._metadata) == {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2}}
    sg.save(sd, tmp_path / "m.pt")
    assert dict(sg.load(tmp_path / "m.pt")._metadata) == dict(sd._metadata)


def test_load_from_state_dict_override_with_pytorchs_signature_migrates_old_versions():
    seen = []

    class Versioned(nn.Linear):
        _version = 2

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs):
            version = local_metadata.get("version")
            seen.append(version)
            if version is None or version < 2:  # old checkpoints named the weight "w"
                if prefix + "w" in state_dict:
                    state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                          unexpected_keys, error_msgs)

    model = nn.Sequential(Versioned(2, 2))
    model.load_state_dict(model.state_dict())
    old = {"0.w": sg.ones(2, 2), "0.bias": sg.zeros(2)}  # no metadata: version None
    model.load_state_dict(old)
    assert seen == [2, None] and model[0].weight.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    # called directly with PyTorch's arguments, it reports what is missing
    missing, unexpected, errors = [], [], []
    nn.Linear(2, 2)._load_from_state_dict({"weight": sg.zeros(2, 2)}, "", {}, True, missing, unexpected, errors)
    assert missing == ["bias"] and unexpected == [] and errors == []


def test_extra_state_is_saved_and_restored(tmp_path):
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.steps = 0

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]

    a = nn.Sequential(Counter())
    a[0].steps = 7
    sg.save(a.state_dict(), tmp_path / "c.pt")
    b = nn.Sequential(Counter())
    assert list(a.state_dict()) == ["0._extra_state"]
    b.load_state_dict(sg.load(tmp_path / "c.pt"))
    assert b[0].steps == 7
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0._extra_state"'):
        b.load_state_dict({})
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "_extra_state"'):
        nn.Linear(1, 1).load_state_dict({**nn.Linear(1, 1).state_dict(), "_extra_state": 1})


def test_load_state_dict_accepts_any_mapping_and_keeps_the_callers_dict():
    import types
    m = nn.Linear(2, 2)
    sd = m.state_dict()
    assert repr(m.load_state_dict(types.MappingProxyType(dict(sd)))) == "<All keys matched successfully>"
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>"):
        m.load_state_dict([1])


def test_state_dict_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    lin.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: calls.append(("pre", prefix)))

    def drop_bias(mod, sd, prefix, metadata):
        del sd[prefix + "bias"]

    h = lin.register_state_dict_post_hook(drop_bias)
    model = nn.Sequential(lin)
    assert list(model.state_dict()) == ["0.weight"] and calls == [("pre", "0.")]
    lin.register_state_dict_post_hook(lambda mod, sd, prefix, md: 1)
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        lin.state_dict()
    h.remove()
    # load hooks: a pre-hook sees the module's slice; a post-hook may clear missing keys
    pre_seen = []
    lin2 = nn.Linear(2, 2)
    lin2.register_load_state_dict_pre_hook(
        lambda mod, sd, prefix, md, strict, missing, unexpected, errors: pre_seen.append((mod, prefix, sorted(sd))))
    lin2.register_load_state_dict_post_hook(lambda mod, incompatible: incompatible.missing_keys.clear())
    result = nn.Sequential(lin2).load_state_dict({"0.weight": sg.zeros(2, 2)})
    assert pre_seen == [(lin2, "0.", ["0.weight"])] and result.missing_keys == []
    lin2.register_load_state_dict_post_hook(lambda mod, incompatible: 1)
    with pytest.raises(AssertionError, match="not expected to return new values"):
        lin2.load_state_dict({"weight": sg.zeros(2, 2), "bias": sg.zeros(2)})


# -- more activations, channel dropout, group/RMS/instance norm, KL divergence ----------------------

_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805
_ACTIVATIONS = [
    (nn.Hardsigmoid(), lambda x: np.clip(x + 3, 0, 6) / 6),
    (nn.Hardswish(), lambda x: x * np.clip(x + 3, 0, 6) / 6),
    (nn.Mish(), lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    (nn.SELU(), lambda x: _SELU_S * np.where(x > 0, x, _SELU_A * (np.exp(x) - 1))),
    (nn.CELU(0.5), lambda x: np.maximum(x, 0) + np.minimum(0, 0.5 * (np.exp(x / 0.5) - 1))),
    (nn.Softsign(), lambda x: x / (1 + np.abs(x))),
    (nn.Tanhshrink(), lambda x: x - np.tanh(x)),
    (nn.Softshrink(0.5), lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0))),
    (nn.Hardshrink(0.5), lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    (nn.Threshold(0.1, 20.0), lambda x: np.where(x > 0.1, x, 20.0)),
    (nn.LogSigmoid(), lambda x: -np.log1p(np.exp(-x))),
    (nn.GLU(1), lambda x: x[:, :2] / (1 + np.exp(-x[:, 2:]))),
    (nn.Softmin(1), lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
    (nn.RReLU().eval(), lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2)),
]


@pytest.mark.parametrize("layer, f", _ACTIVATIONS, ids=[type(m).__name__ for m, _ in _ACTIVATIONS])
def test_more_activations_match_numpy_and_finite_differences(layer, f):
    x = np.random.default_rng(0).standard_normal((3, 4, 2)) * 2
    np.testing.assert_allclose(layer(sg.tensor(x)).numpy(), f(x), rtol=1e-10, atol=1e-12)
    xs = x[:, :, :1] + 0.05  # (away from the kinks, for the finite differences)
    assert sg.autograd.gradcheck(lambda t: layer(t), (sg.tensor(xs, requires_grad=True),))


def test_prelu_learns_one_slope_per_channel():
    m = nn.PReLU(3).double()
    assert m.weight.tolist() == [0.25] * 3 and repr(m) == "PReLU(num_parameters=3)"
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    out = m(sg.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), np.where(x > 0, x, 0.25 * x))
    out.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), np.where(x > 0, 0, x).sum((0, 2)))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        nn.PReLU(2)(sg.ones(2, 3))


def test_group_rms_and_instance_norm_match_numpy():
    x = np.random.default_rng(2).standard_normal((2, 4, 3, 5))
    g = x.reshape(2, 2, -1)
    want = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    gn = nn.GroupNorm(2, 4).double()
    np.testing.assert_allclose(gn(sg.tensor(x)).detach().numpy(), want, rtol=1e-10)
    rms = nn.RMSNorm([3, 5], eps=1e-6).double()
    np.testing.assert_allclose(rms(sg.tensor(x)).detach().numpy(),
                               x / np.sqrt((x ** 2).mean((2, 3), keepdims=True) + 1e-6), rtol=1e-10)
    inorm = nn.InstanceNorm2d(4)
    want = (x - x.mean((2, 3), keepdims=True)) / np.sqrt(x.var((2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(inorm(sg.tensor(x)).numpy(), want, rtol=1e-10)
    np.testing.assert_allclose(inorm(sg.tensor(x[0])).numpy(), want[0], rtol=1e-10)  # unbatched
    for m, inp in ((gn, x[:, :, :2, :2]), (nn.RMSNorm([2, 2]).double(), x[:, :, :2, :2]),
                   (nn.InstanceNorm1d(4, affine=True).double(), x[:, :, 0, :3])):
        assert sg.autograd.gradcheck(lambda t, m=m: m(t), (sg.tensor(inp, requires_grad=True),))
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(nn.RMSNorm(4)) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    assert repr(inorm) == ("InstanceNorm2d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, "
                           "track_running_stats=False)")
    with pytest.raises(ValueError, match=r"num_channels \(4\) must be divisible by num_groups \(3\)"):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        F.group_norm(sg.ones(2, 4), 3)


def test_kl_div_reductions():
    rng = np.random.default_rng(3)
    p = rng.random((3, 5))
    p[0, 0] = 0.0  # a zero target contributes nothing (not NaN)
    p /= p.sum(1, keepdims=True)
    q = np.log(rng.random((3, 5)) + 0.1)
    pointwise = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - q), 0)
    for reduction, want in (("batchmean", pointwise.sum() / 3), ("sum", pointwise.sum()), ("none", pointwise)):
        got = nn.KLDivLoss(reduction=reduction)(sg.tensor(q), sg.tensor(p)).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10)
        got = F.kl_div(sg.tensor(q), sg.tensor(np.log(np.where(p > 0, p, 1e-300))), reduction=reduction,
                       log_target=True).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(sg.tensor(q), sg.tensor(p))


def test_channel_dropout_zeroes_whole_channels():
    sg.manual_seed(0)
    out = F.dropout2d(sg.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = out.reshape(8, 16, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()  # whole channels, scaled by 1/(1-p)
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    m = nn.Dropout1d(0.5)
    assert m.eval()(sg.ones(2, 3, 4)).tolist() == sg.ones(2, 3, 4).tolist()
    assert repr(nn.Dropout2d()) == "Dropout2d(p=0.5, inplace=False)"
    # PyTorch 2.13 only warns about other dims (and draws per (dim 0, dim 1)); dropout1d raises
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d, which is deprecated"):
        F.dropout2d(sg.ones(2, 3))
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but received a 4D input"):
        F.dropout1d(sg.ones(2, 3, 4, 5))


def test_more_layers_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 4, 3, 3))
    for name, args in [("Hardswish", ()), ("Mish", ()), ("SELU", ()), ("CELU", (1.5,)), ("GLU", (1,)),
                       ("Softmin", (1,)), ("PReLU", (4,)), ("GroupNorm", (2, 4)), ("RMSNorm", ([3, 3],)),
                       ("InstanceNorm2d", (4,)), ("Softshrink", (0.3,)), ("LogSigmoid", ())]:
        tm, sm = getattr(torch.nn, name)(*args).double(), getattr(nn, name)(*args).double()
        tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
        to, so = tm(tx), sm(sx)
        np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-6, atol=1e-10, err_msg=name)
        to.pow(2).sum().backward()
        so.pow(2).sum().backward()
        np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-10, err_msg=name)
        assert repr(sm) == repr(tm)


def test_mixed_dtypes_are_refused_as_pytorch_refuses_them():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match=r"mixed dtype \(CPU\): all inputs must share same datatype"):
        bn(sg.ones(2, 3, dtype=sg.float64))
    with pytest.raises(RuntimeError, match=r"mixed dtype \(CPU\): expect parameter to have scalar type of Float"):
        bn.double()(sg.ones(2, 3))
    assert bn(sg.ones(2, 3, dtype=sg.float64)).dtype == sg.float64
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.cross_entropy(sg.ones(2, 3, dtype=sg.float64), sg.tensor([0, 1]), weight=sg.ones(3))
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        F.nll_loss(sg.ones(2, 3), sg.tensor([0, 1]), weight=sg.ones(3, dtype=sg.float64))


def test_embedding_max_norm_renormalises_looked_up_rows_and_scale_grad_by_freq():
    w = np.random.default_rng(0).standard_normal((6, 4)) * 2
    idx = sg.tensor([[0, 2, 2], [5, 2, 1]])
    emb = nn.Embedding(6, 4, max_norm=1.5, _weight=sg.tensor(w))
    out = emb(idx)
    norms = np.linalg.norm(w, axis=1)
    want = w.copy()
    for r in (0, 1, 2, 5):  # looked-up rows above the norm are scaled down in place; others untouched
        if norms[r] > 1.5:
            want[r] *= 1.5 / (norms[r] + 1e-7)
    np.testing.assert_allclose(emb.weight.detach().numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(out.detach().numpy(), want[idx.numpy()], rtol=1e-6)
    weight = sg.tensor(w, requires_grad=True)
    F.embedding(idx, weight, scale_grad_by_freq=True).sum().backward()
    counts = np.bincount(idx.numpy().ravel(), minlength=6)
    np.testing.assert_allclose(weight.grad.numpy()[:, 0], np.where(counts > 0, 1.0, 0.0))  # count / count
    assert repr(emb) == "Embedding(6, 4, max_norm=1.5)"


def test_module_compile_to_empty_share_memory_and_the_old_backward_hook():
    m = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    x = sg.randn(4, 2)
    with sg.no_grad():
        ref = m(x).numpy()
        assert m.compile() is None
        for _ in range(3):
            np.testing.assert_allclose(m(x).numpy(), ref, rtol=1e-6)
    assert m.forward.cache_info()["hits"] >= 1  # (a replayed program)
    assert m.share_memory() is m
    m.to_empty(device="cpu")
    assert all(p.abs().sum().item() == 0 for p in m.parameters())
    calls = []
    lin = nn.Linear(2, 2)
    with pytest.warns(FutureWarning, match="Please use register_full_backward_hook"):
        lin.register_backward_hook(lambda mod, gi, go: calls.append(len(go)))
    lin(sg.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == [1]


# ---------------------------------------------------------------------------
# What code ported from PyTorch imports and relies on (audit of 2026-11-26)


def test_pytorch_module_paths_and_base_classes():
    from srcgrad.nn.common_types import _size_2_t
    from srcgrad.nn.modules.activation import MultiheadAttention
    from srcgrad.nn.modules.batchnorm import _LazyNormBase, _NormBase
    from srcgrad.nn.modules.dropout import _DropoutNd
    from srcgrad.nn.modules.instancenorm import InstanceNorm2d, _InstanceNorm
    from srcgrad.nn.modules.utils import (
        _pair,
        _reverse_repeat_tuple,
        _single,
        _triple,
        consume_prefix_in_state_dict_if_present,
    )

    assert _pair(3) == (3, 3) and _single([4]) == (4,) and _triple((1, 2, 3)) == (1, 2, 3) and _pair.__name__ == "_pair"
    assert _reverse_repeat_tuple((1, 2), 2) == (2, 2, 1, 1) and int in _size_2_t.__args__
    assert MultiheadAttention is nn.MultiheadAttention and InstanceNorm2d is nn.InstanceNorm2d
    # PyTorch's hierarchy: norm layers share _NormBase (weight-decay filters test it); Dropout2d is no Dropout
    assert all(isinstance(m, _NormBase) for m in (nn.BatchNorm1d(2), nn.InstanceNorm1d(2), nn.SyncBatchNorm(2)))
    assert isinstance(nn.InstanceNorm1d(2), _InstanceNorm) and isinstance(nn.LazyBatchNorm1d(), _LazyNormBase)
    assert isinstance(nn.Dropout2d(), _DropoutNd) and not isinstance(nn.Dropout2d(), nn.Dropout)
    sd = OrderedDict([("module.w", 1), ("module.b", 2), ("other", 3)])
    consume_prefix_in_state_dict_if_present(sd, "module.")
    assert list(sd) == ["other", "w", "b"]


def test_module_call_impl_and_call_super_init():
    lin = nn.Linear(2, 1)
    seen = []
    lin.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    x = sg.ones(3, 2)
    assert lin._call_impl(x).shape == (3, 1) and lin._wrapped_call_impl(x).shape == (3, 1) and len(seen) == 2

    class Mixin:
        def __init__(self, tag):
            self.tag = tag

    class Both(nn.Module, Mixin):
        call_super_init = True

    assert Both(tag="t").tag == "t" and Both(tag="t").training
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        nn.Module(3)


def test_reprs_that_show_inplace():
    assert [repr(m) for m in (nn.Mish(True), nn.SELU(True), nn.Mish(), nn.Hardswish(True))] == \
        ["Mish(inplace=True)", "SELU(inplace=True)", "Mish()", "Hardswish()"]


def test_data_parallel_and_sync_batch_norm_in_one_process():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
    x = t64(RNG.standard_normal((5, 3)))
    model.double()
    ref = model(x).detach().numpy()
    dp = nn.DataParallel(model)
    assert dp.module is model and list(dp.state_dict())[0] == "module.0.weight"
    assert repr(dp).startswith("DataParallel(\n  (module): Sequential(")
    if not sg.cuda.is_available():
        assert dp.device_ids == []  # (PyTorch's CPU path: the module as it is)
    np.testing.assert_allclose(dp(x).detach().cpu().numpy(), model(x).detach().numpy(), rtol=1e-12)

    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    bn = converted[1]
    assert type(bn) is nn.SyncBatchNorm and converted is model and bn.process_group is None
    assert repr(bn) == "SyncBatchNorm(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    w = bn.weight
    model.train()
    out = converted(x)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10)  # (the whole batch's statistics)
    out.sum().backward()
    assert bn.weight is w and w.grad is not None and int(bn.num_batches_tracked) == 4  # (4 training forwards)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        nn.SyncBatchNorm(4)(sg.ones(4))


def test_buffers_and_parameters_copy_and_pickle_as_pytorch():
    import pickle

    m = nn.Module()
    m.b = nn.Buffer(sg.ones(2), persistent=False)
    assert type(m.b) is sg.Tensor and isinstance(m.b, nn.Buffer) and "b" not in m.state_dict()
    m.register_buffer("c", sg.zeros(1))
    with pytest.raises(TypeError, match=r"cannot assign 'int' as buffer 'c' \(torch.nn.Buffer, torch.Tensor or "
                                        r"None expected\)"):
        m.c = 3
    lin = nn.Linear(2, 3)
    lin(sg.ones(1, 2)).sum().backward()
    lin.weight.no_decay = True  # (attributes on parameters and tensors, as PyTorch allows)
    c = copy.deepcopy(lin)
    # (PyTorch's Parameter.__deepcopy__ copies neither .grad nor the attributes; pickling keeps attributes)
    assert c.weight.grad is None and not hasattr(c.weight, "no_decay") and lin.weight.grad is not None
    back = pickle.loads(pickle.dumps(lin))
    assert type(back.weight) is nn.Parameter and back.weight.requires_grad and back.weight.no_decay
    assert back.weight.grad is None and sg.equal(back.weight, lin.weight) and sg.equal(back(sg.ones(1, 2)),
                                                                                      lin(sg.ones(1, 2)))
    lazy = pickle.loads(pickle.dumps(nn.UninitializedParameter()))
    assert type(lazy) is nn.UninitializedParameter


def test_regular_and_full_backward_hooks_do_not_mix():
    lin = nn.Linear(2, 1)
    with pytest.warns(FutureWarning):
        lin.register_backward_hook(lambda m, gi, go: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks on a "
                                           "single Module. Please use only one of them."):
        lin.register_full_backward_hook(lambda m, gi, go: None)
    other = nn.Linear(2, 1)
    other.register_full_backward_hook(lambda m, gi, go: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular"), pytest.warns(FutureWarning):
        other.register_backward_hook(lambda m, gi, go: None)
