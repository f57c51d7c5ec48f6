"""Recurrent layers (srcgrad/nn/modules/rnn.py): RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU and
pad_sequence, against a NumPy reference of the cell equations written here, finite differences,
PyTorch's names, shapes, reprs and errors, a compiled training step, and PyTorch itself where it is
installed (outputs and every parameter's gradient)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import srcgrad as sg
from srcgrad.autograd import gradcheck
from srcgrad.nn.modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, pad_sequence

RNG = np.random.default_rng(7)
T, B, I, H = 3, 2, 3, 4  # time steps, batch, input and hidden sizes: small, so each graph compiles fast


def arr(t):
    return t.detach().numpy()


def sig(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------
# a NumPy reference of PyTorch's equations


def np_step(mode, p, x, h, c):
    """One step of layer/direction parameters ``p`` (dict w_ih, w_hh, b_ih, b_hh, w_hr)."""
    gi = x @ p["w_ih"].T + p.get("b_ih", 0)
    gh = h @ p["w_hh"].T + p.get("b_hh", 0)
    if mode in ("RNN_TANH", "RNN_RELU"):
        pre = gi + gh
        return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0)), None
    if mode == "GRU":
        (ir, iz, inn), (hr, hz, hn) = np.split(gi, 3, 1), np.split(gh, 3, 1)
        r, z = sig(ir + hr), sig(iz + hz)
        n = np.tanh(inn + r * hn)
        return (1 - z) * n + z * h, None
    i, f, g, o = np.split(gi + gh, 4, 1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    h = sig(o) * np.tanh(c)
    if "w_hr" in p:
        h = h @ p["w_hr"].T
    return h, c


def np_rnn(mode, params, x, h0, c0, num_layers, bidirectional):
    """Time-major ``x`` (T, B, I); ``params[layer][direction]``; returns (output, h_n, c_n)."""
    dirs = 2 if bidirectional else 1
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            h, c = h0[k], (c0[k] if c0 is not None else None)
            seq = [None] * x.shape[0]
            for t in (reversed(range(x.shape[0])) if d else range(x.shape[0])):
                h, c = np_step(mode, params[layer][d], x[t], h, c)
                seq[t] = h
            outs.append(np.stack(seq))
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, 2)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


def module_params(m):
    """``params[layer][direction]`` of a srcgrad RNN module as NumPy arrays, by PyTorch's names."""
    dirs = 2 if m.bidirectional else 1
    out = []
    for layer in range(m.num_layers):
        row = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            p = {"w_ih": arr(getattr(m, "weight_ih" + sfx)), "w_hh": arr(getattr(m, "weight_hh" + sfx))}
            if m.bias:
                p["b_ih"], p["b_hh"] = arr(getattr(m, "bias_ih" + sfx)), arr(getattr(m, "bias_hh" + sfx))
            if m.proj_size:
                p["w_hr"] = arr(getattr(m, "weight_hr" + sfx))
            row.append(p)
        out.append(row)
    return out


def make(mode, **kw):
    cls = {"RNN_TANH": RNN, "RNN_RELU": RNN, "LSTM": LSTM, "GRU": GRU}[mode]
    if mode == "RNN_RELU":
        kw["nonlinearity"] = "relu"
    return cls(I, H, **kw)


CONFIGS = [  # (mode, constructor arguments)
    ("RNN_TANH", dict(num_layers=2, bidirectional=True)),
    ("RNN_RELU", dict(batch_first=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("LSTM", dict(proj_size=2, bias=False)),
    ("GRU", dict(bidirectional=True)),
]


@pytest.mark.parametrize("mode,kw", CONFIGS, ids=[f"{m}-{'-'.join(k)}" for m, k in CONFIGS])
def test_layers_match_a_numpy_reference_of_the_cell_equations(mode, kw):
    m = make(mode, dtype=sg.float64, **kw)
    dirs = 2 if m.bidirectional else 1
    out_h = m.proj_size or H
    x = RNG.standard_normal((T, B, I))
    h0 = RNG.standard_normal((m.num_layers * dirs, B, out_h))
    c0 = RNG.standard_normal((m.num_layers * dirs, B, H))
    xin = x.transpose(1, 0, 2).copy() if m.batch_first else x
    state = (sg.tensor(h0), sg.tensor(c0)) if mode == "LSTM" else sg.tensor(h0)
    out, hn = m(sg.tensor(xin), state)
    ref_out, ref_h, ref_c = np_rnn(mode, module_params(m), x, h0, c0 if mode == "LSTM" else None, m.num_layers,
                                   m.bidirectional)
    if m.batch_first:
        ref_out = ref_out.transpose(1, 0, 2)
    np.testing.assert_allclose(arr(out), ref_out, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(arr(hn[0]), ref_h, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(arr(hn[1]), ref_c, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(arr(hn), ref_h, rtol=1e-10, atol=1e-12)


def test_cells_match_the_reference_batched_and_unbatched():
    x, h, c = RNG.standard_normal((B, I)), RNG.standard_normal((B, H)), RNG.standard_normal((B, H))
    for cls, mode in ((RNNCell, "RNN_TANH"), (GRUCell, "GRU"), (LSTMCell, "LSTM")):
        cell = cls(I, H, dtype=sg.float64)
        p = {"w_ih": arr(cell.weight_ih), "w_hh": arr(cell.weight_hh), "b_ih": arr(cell.bias_ih),
             "b_hh": arr(cell.bias_hh)}
        ref_h, ref_c = np_step(mode, p, x, h, c)
        if mode == "LSTM":
            got = cell(sg.tensor(x), (sg.tensor(h), sg.tensor(c)))
            np.testing.assert_allclose(arr(got[0]), ref_h, rtol=1e-12)
            np.testing.assert_allclose(arr(got[1]), ref_c, rtol=1e-12)
            one = cell(sg.tensor(x[0]), (sg.tensor(h[0]), sg.tensor(c[0])))  # unbatched: 1-D in, 1-D out
            assert one[0].shape == (H,) and one[1].shape == (H,)
            np.testing.assert_allclose(arr(one[0]), ref_h[0], rtol=1e-12)
            zero = cell(sg.tensor(x))[0]  # no state: zeros
            np.testing.assert_allclose(arr(zero), np_step(mode, p, x, 0 * h, 0 * c)[0], rtol=1e-12)
        else:
            np.testing.assert_allclose(arr(cell(sg.tensor(x), sg.tensor(h))), ref_h, rtol=1e-12)
            one = cell(sg.tensor(x[1]), sg.tensor(h[1]))
            assert one.shape == (H,)
            np.testing.assert_allclose(arr(one), ref_h[1], rtol=1e-12)
            np.testing.assert_allclose(arr(cell(sg.tensor(x))), np_step(mode, p, x, 0 * h, None)[0], rtol=1e-12)
    relu = RNNCell(I, H, nonlinearity="relu", bias=False, dtype=sg.float64)
    ref = np.maximum(x @ arr(relu.weight_ih).T + h @ arr(relu.weight_hh).T, 0)
    np.testing.assert_allclose(arr(relu(sg.tensor(x), sg.tensor(h))), ref, rtol=1e-12)


# ---------------------------------------------------------------------------
# gradients


@pytest.mark.parametrize("mode", ["RNN_TANH", "LSTM", "GRU"])
def test_gradcheck_input_and_initial_state_float64(mode):
    m = make(mode, bidirectional=mode == "GRU", dtype=sg.float64)
    dirs = 2 if m.bidirectional else 1
    x = sg.tensor(RNG.standard_normal((2, 1, I)), requires_grad=True)
    h0 = sg.tensor(RNG.standard_normal((dirs, 1, H)), requires_grad=True)
    if mode == "LSTM":
        c0 = sg.tensor(RNG.standard_normal((dirs, 1, H)), requires_grad=True)

        def f(x, h0, c0):
            out, (h, c) = m(x, (h0, c0))
            return out, h, c
        assert gradcheck(f, (x, h0, c0))
    else:
        assert gradcheck(lambda x, h0: m(x, h0), (x, h0))


def num_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


@pytest.mark.parametrize("mode,kw", [("LSTM", dict(proj_size=2)), ("GRU", dict(num_layers=2))])
def test_parameter_gradients_match_finite_differences_of_the_reference(mode, kw):
    m = make(mode, dtype=sg.float64, **kw)
    x = RNG.standard_normal((2, 1, I))
    w = RNG.standard_normal((2, 1, m.proj_size or H))  # the loss: a weighted sum of the output
    out = m(sg.tensor(x))[0]
    (out * sg.tensor(w)).sum().backward()
    params = module_params(m)
    zeros = {k: np.zeros((m.num_layers, 1, m.proj_size or H)) for k in "hc"}
    for layer, row in enumerate(params):
        for key in row[0]:
            def loss(v, layer=layer, key=key):
                ps = [[dict(p) for p in r] for r in params]
                ps[layer][0][key] = v
                ref = np_rnn(mode, ps, x, zeros["h"], np.zeros((m.num_layers, 1, H)) if mode == "LSTM" else None,
                             m.num_layers, False)[0]
                return (ref * w).sum()
            name = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh",
                    "w_hr": "weight_hr"}[key] + f"_l{layer}"
            np.testing.assert_allclose(arr(m.get_parameter(name).grad), num_grad(loss, row[0][key]), rtol=1e-6,
                                       atol=1e-8, err_msg=name)


# ---------------------------------------------------------------------------
# shapes, names, reprs, initialisation, errors


def test_output_shapes_for_every_option_combination():
    # (shapes are known when an op is recorded: nothing here is computed or compiled)
    for mode, layers, bidir, bf, batched, given, proj in itertools.product(
            ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"], [1, 2], [False, True], [False, True], [False, True],
            [False, True], [0, 2]):
        if proj and mode != "LSTM":
            continue
        m = make(mode, num_layers=layers, bidirectional=bidir, batch_first=bf, proj_size=proj) if proj else \
            make(mode, num_layers=layers, bidirectional=bidir, batch_first=bf)
        dirs = 2 if bidir else 1
        hout = proj or H
        x = sg.zeros((B, T, I) if bf else (T, B, I)) if batched else sg.zeros(T, I)
        hshape = (layers * dirs, B, hout) if batched else (layers * dirs, hout)
        cshape = (layers * dirs, B, H) if batched else (layers * dirs, H)
        state = None
        if given:
            state = (sg.zeros(*hshape), sg.zeros(*cshape)) if mode == "LSTM" else sg.zeros(*hshape)
        out, hn = m(x, state)
        expect = ((B, T, dirs * hout) if bf else (T, B, dirs * hout)) if batched else (T, dirs * hout)
        assert out.shape == expect, (mode, layers, bidir, bf, batched, given, proj)
        if mode == "LSTM":
            assert hn[0].shape == hshape and hn[1].shape == cshape
        else:
            assert hn.shape == hshape


def test_parameter_names_shapes_and_state_dict_keys_are_pytorchs():
    m = LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    names = [f"{w}_l{k}{s}" for k in range(2) for s in ("", "_reverse")
             for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
    assert list(m.state_dict().keys()) == names
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 2)
    assert shapes["weight_ih_l1_reverse"] == (20, 4) and shapes["weight_hr_l1"] == (2, 5)
    assert shapes["bias_ih_l0"] == (20,)
    assert [n for n, _ in GRU(3, 4, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    g = GRU(3, 4, num_layers=2)
    assert tuple(g.weight_ih_l1.shape) == (12, 4) and tuple(g.weight_hh_l0.shape) == (12, 4)
    assert [[tuple(p.shape) for p in ws] for ws in RNN(3, 4).all_weights] == [[(4, 3), (4, 4), (4,), (4,)]]
    assert list(LSTMCell(3, 4).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert tuple(LSTMCell(3, 4).weight_ih.shape) == (16, 3) and tuple(GRUCell(3, 4).weight_hh.shape) == (12, 4)
    assert RNNCell(3, 4, bias=False).bias_ih is None
    # a state dict round-trips into a fresh module, which then computes the same
    m2 = LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    assert repr(m2.load_state_dict(m.state_dict())) == "<All keys matched successfully>"
    x = sg.randn(1, 1, 3)
    np.testing.assert_array_equal(arr(m2(x)[0]), arr(m(x)[0]))


def test_reprs_are_pytorchs():
    assert repr(RNN(3, 4, 2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5, bidirectional=True)) \
        == "RNN(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"
    assert repr(LSTM(3, 4, proj_size=2)) == "LSTM(3, 4, proj_size=2)"
    assert repr(GRU(3, 4)) == "GRU(3, 4)"
    assert repr(RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"


def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_hidden_and_seeded():
    sg.manual_seed(3)
    a = LSTM(3, 16)
    sg.manual_seed(3)
    b = LSTM(3, 16)
    bound = 1 / math.sqrt(16)
    # (one program reads every parameter of both modules)
    both = arr(sg.cat([p.reshape(-1) for p in [*a.parameters(), *b.parameters()]]))
    vals, again = np.split(both, 2)
    assert vals.min() >= -bound and vals.max() <= bound
    assert vals.min() < -0.9 * bound and vals.max() > 0.9 * bound and abs(vals.mean()) < 0.02
    np.testing.assert_array_equal(vals, again)
    assert np.abs(arr(sg.cat([p.reshape(-1) for p in GRUCell(2, 9).parameters()]))).max() <= 1 / 3


def raises(exc, msg, f):
    with pytest.raises(exc) as info:
        f()
    assert str(info.value) == msg


def test_constructor_errors_are_pytorchs():
    raises(ValueError, "proj_size argument is only supported for LSTM, not RNN or GRU", lambda: RNN(3, 4, proj_size=2))
    raises(ValueError, "proj_size argument is only supported for LSTM, not RNN or GRU", lambda: GRU(3, 4, proj_size=2))
    raises(ValueError, "proj_size has to be smaller than hidden_size", lambda: LSTM(3, 4, proj_size=4))
    raises(ValueError, "Unknown nonlinearity 'x'. Select from 'tanh' or 'relu'.", lambda: RNN(3, 4, nonlinearity="x"))
    raises(ValueError, "dropout should be a number in range [0, 1] representing the probability of an element "
           "being zeroed", lambda: RNN(3, 4, dropout=2))
    raises(ValueError, "hidden_size must be greater than zero", lambda: GRU(3, 0))
    raises(ValueError, "num_layers must be greater than zero", lambda: GRU(3, 4, 0))
    raises(TypeError, "input_size should be of type int, got: float", lambda: GRU(3.0, 4))
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, but got dropout=0.5 "
                      "and num_layers=1"):
        LSTM(3, 4, dropout=0.5)


def test_forward_errors_are_pytorchs():
    lstm = LSTM(3, 4, 2)
    raises(RuntimeError, "input.size(-1) must be equal to input_size. Expected 3, got 6",
           lambda: lstm(sg.zeros(5, 2, 6)))
    raises(ValueError, "LSTM: Expected input to be 2D or 3D, got 4D instead", lambda: lstm(sg.zeros(5, 2, 3, 1)))
    raises(RuntimeError, "Expected hidden[0] size (2, 2, 4), got [2, 3, 4]",
           lambda: lstm(sg.zeros(5, 2, 3), (sg.zeros(2, 3, 4), sg.zeros(2, 2, 4))))
    raises(RuntimeError, "Expected hidden[1] size (2, 2, 4), got [2, 3, 4]",
           lambda: lstm(sg.zeros(5, 2, 3), (sg.zeros(2, 2, 4), sg.zeros(2, 3, 4))))
    raises(RuntimeError, "For batched 3-D input, hx and cx should also be 3-D but got (2-D, 3-D) tensors",
           lambda: lstm(sg.zeros(5, 2, 3), (sg.zeros(2, 4), sg.zeros(2, 2, 4))))
    raises(ValueError, "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert input: "
           "input.to(torch.float32), or convert model: model.to(torch.float64)",
           lambda: lstm(sg.zeros(5, 2, 3, dtype=sg.float64)))
    raises(RuntimeError, "Expected hidden size (1, 2, 4), got [1, 3, 4]", lambda: GRU(3, 4)(sg.zeros(5, 2, 3),
                                                                                           sg.zeros(1, 3, 4)))
    raises(RuntimeError, "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor",
           lambda: GRU(3, 4)(sg.zeros(5, 3), sg.zeros(1, 2, 4)))
    raises(ValueError, "RNN: Expected input to be 2D or 3D, got 4D tensor instead", lambda: RNN(3, 4)(sg.zeros(1, 1, 1, 3)))
    raises(RuntimeError, "input has inconsistent input_size: got 5 expected 3", lambda: RNNCell(3, 4)(sg.zeros(2, 5)))
    raises(RuntimeError, "Input batch size 2 doesn't match hidden0 batch size 3",
           lambda: RNNCell(3, 4)(sg.zeros(2, 3), sg.zeros(3, 4)))
    raises(RuntimeError, "hidden0 has inconsistent hidden_size: got 5, expected 4",
           lambda: GRUCell(3, 4)(sg.zeros(2, 3), sg.zeros(2, 5)))
    raises(RuntimeError, "Input batch size 2 doesn't match hidden1 batch size 3",
           lambda: LSTMCell(3, 4)(sg.zeros(2, 3), (sg.zeros(2, 4), sg.zeros(3, 4))))
    raises(ValueError, "RNNCell: Expected input to be 1D or 2D, got 3D instead", lambda: RNNCell(3, 4)(sg.zeros(2, 2, 3)))
    raises(ValueError, "LSTMCell: Expected hx[1] to be 1D or 2D, got 3D instead",
           lambda: LSTMCell(3, 4)(sg.zeros(2, 3), (sg.zeros(2, 4), sg.zeros(1, 2, 4))))
    raises(RuntimeError, "Unknown nonlinearity: sig", lambda: RNNCell(3, 4, nonlinearity="sig")(sg.zeros(2, 3)))


# ---------------------------------------------------------------------------
# dropout, compile, pad_sequence


def test_dropout_applies_between_layers_in_training_only():
    m = GRU(I, H, num_layers=2, dropout=0.5)
    x = sg.randn(2, B, I)
    m.eval()
    ev = arr(m(x)[0])
    no_dropout = GRU(I, H, num_layers=2)
    no_dropout.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(ev, arr(no_dropout(x)[0]))
    m.train()
    tr = arr(m(x)[0])
    assert not np.allclose(tr, ev)
    # the first layer itself is not dropped out: its final state is that of a one-layer GRU
    one = GRU(I, H)
    one.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("l0")})
    np.testing.assert_allclose(arr(m(x)[1][0]), arr(one(x)[1][0]), rtol=1e-6)


def test_compiled_lstm_training_step_matches_define_by_run():
    x = sg.randn(2, B, I)
    y = sg.randn(B, 1)

    def setup():
        sg.manual_seed(11)
        lstm, head = LSTM(I, H), sg.nn.Linear(H, 1)
        params = list(lstm.parameters()) + list(head.parameters())
        return lstm, head, sg.optim.SGD(params, lr=0.1, momentum=0.9)

    def make_step(lstm, head, opt):
        def step(inp, target):
            opt.zero_grad()
            out, (h, c) = lstm(inp)
            loss = ((head(out[-1]) - target) ** 2).mean() + 0.1 * c.pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        return step

    eager = make_step(*setup())
    model_c = setup()
    compiled = sg.compile(make_step(*model_c))
    losses_e = [eager(x, y).item() for _ in range(3)]
    losses_c = [compiled(x, y).item() for _ in range(3)]
    np.testing.assert_allclose(losses_c, losses_e, rtol=1e-5)
    assert losses_e[2] < losses_e[0]  # it trains
    assert compiled.dynamic_at is None  # it stayed compiled


def test_pad_sequence():
    a, b, c = sg.tensor([[1.0, 2.0]]), sg.tensor([[3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]), sg.tensor([[9.0, 0.5]] * 2)
    out = pad_sequence([a, b, c])
    assert out.shape == (3, 3, 2)
    np.testing.assert_array_equal(arr(out[:, 0]), [[1, 2], [0, 0], [0, 0]])
    np.testing.assert_array_equal(arr(out[:, 1]), arr(b))
    left = pad_sequence([a, b, c], batch_first=True, padding_value=-1.0, padding_side="left")
    assert left.shape == (3, 3, 2)
    np.testing.assert_array_equal(arr(left[0]), [[-1, -1], [-1, -1], [1, 2]])
    np.testing.assert_array_equal(arr(left[2]), [[-1, -1], [9, 0.5], [9, 0.5]])
    v = sg.tensor([1.0, 2.0], requires_grad=True)
    (pad_sequence([v, sg.ones(3)]) * sg.tensor([[1.0, 0.0]] * 3)).sum().backward()
    np.testing.assert_array_equal(arr(v.grad), [1, 1])


# ---------------------------------------------------------------------------
# against PyTorch


TORCH_CONFIGS = [
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True, batch_first=True), True, True),
    ("LSTM", dict(bidirectional=True, proj_size=3), True, True),
    ("LSTM", dict(bias=False, batch_first=True), False, False),
    ("GRU", dict(bidirectional=True), True, True),
    ("GRU", dict(), False, True),
]


@pytest.mark.parametrize("name,kw,batched,with_state", TORCH_CONFIGS,
                         ids=[f"{c[0]}-{'-'.join(c[1])}-{c[2]}-{c[3]}" for c in TORCH_CONFIGS])
def test_outputs_and_parameter_gradients_match_pytorch(name, kw, batched, with_state):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, name)(I, 5, **kw)
    sm = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[name](I, 5, **kw)
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    dirs = 2 if tm.bidirectional else 1
    hsz = kw.get("proj_size") or 5
    x = RNG.standard_normal(((B, T, I) if kw.get("batch_first") else (T, B, I)) if batched else (T, I))
    x = x.astype(np.float32)
    lead = (tm.num_layers * dirs, B) if batched else (tm.num_layers * dirs,)
    h0, c0 = RNG.standard_normal((*lead, hsz)).astype(np.float32), RNG.standard_normal((*lead, 5)).astype(np.float32)
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    if not with_state:
        ts, ss = None, None
    elif name == "LSTM":
        ts, ss = (torch.tensor(h0), torch.tensor(c0)), (sg.tensor(h0), sg.tensor(c0))
    else:
        ts, ss = torch.tensor(h0), sg.tensor(h0)
    to, th = tm(tx, ts)
    so, sh = sm(sx, ss)
    th, sh = (th if name == "LSTM" else (th,)), (sh if name == "LSTM" else (sh,))
    np.testing.assert_allclose(arr(so), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(sh, th):
        np.testing.assert_allclose(arr(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = RNG.standard_normal(to.shape).astype(np.float32)
    ((to * torch.tensor(w)).sum() + sum(t.pow(2).sum() for t in th)).backward()
    ((so * sg.tensor(w)).sum() + sum(t.pow(2).sum() for t in sh)).backward()
    np.testing.assert_allclose(arr(sx.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(arr(sm.get_parameter(n).grad), p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


def test_cells_match_pytorch():
    torch = pytest.importorskip("torch")
    x, h, c = (RNG.standard_normal((B, n)).astype(np.float32) for n in (I, 5, 5))
    for name, kw in (("RNNCell", dict(nonlinearity="relu")), ("LSTMCell", {}), ("GRUCell", dict(bias=False))):
        tc = getattr(torch.nn, name)(I, 5, **kw)
        sc = {"RNNCell": RNNCell, "LSTMCell": LSTMCell, "GRUCell": GRUCell}[name](I, 5, **kw)
        sc.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tc.state_dict().items()})
        if name == "LSTMCell":
            to = tc(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
            so = sc(sg.tensor(x), (sg.tensor(h), sg.tensor(c)))
            (to[0].sum() + to[1].pow(2).sum()).backward()
            (so[0].sum() + so[1].pow(2).sum()).backward()
            to, so = to[0], so[0]
        else:
            to, so = tc(torch.tensor(x), torch.tensor(h)), sc(sg.tensor(x), sg.tensor(h))
            to.pow(2).sum().backward()
            so.pow(2).sum().backward()
        np.testing.assert_allclose(arr(so), to.detach().numpy(), rtol=1e-5, atol=1e-6)
        for n, p in tc.named_parameters():
            np.testing.assert_allclose(arr(sc.get_parameter(n).grad), p.grad.numpy(), rtol=1e-4, atol=1e-5)
