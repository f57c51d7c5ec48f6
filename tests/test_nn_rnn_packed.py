"""Packed sequences (srcgrad/nn/utils/rnn.py) and the recurrent layers on them (srcgrad/nn/modules/rnn.py):
packing and unpacking against PyTorch's documented examples and PyTorch itself where it is installed,
gradients through packing, the layers against a NumPy reference that runs each sequence on its own (what
a packed batch means), against PyTorch (outputs, final states, input, state and weight gradients),
gradcheck, PyTorch's error messages and a compiled training step.

The graphs are kept tiny (a few time steps, one or two layers): each distinct one is compiled by XLA."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import compiler
from srcgrad.autograd import gradcheck
from srcgrad.nn import GRU, LSTM, RNN
from srcgrad.nn.utils import rnn as R
from srcgrad.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

RNG = np.random.default_rng(11)
I = 3  # input size


def arr(t):
    return t.detach().numpy()


def values(*tensors):
    """The values of ``tensors``, computed by one program."""
    compiler.realize([t._node for t in tensors])
    return [arr(t) for t in tensors]


def raises(exc, msg, f):
    with pytest.raises(exc) as info:
        f()
    assert str(info.value) == msg


# ---------------------------------------------------------------------------
# packing and unpacking


def test_pytorchs_documented_examples():
    # pad_packed_sequence's docstring example
    seq = sg.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    packed = pack_padded_sequence(seq, [2, 1, 3], batch_first=True, enforce_sorted=False)
    assert isinstance(packed, PackedSequence) and isinstance(packed, tuple)
    assert packed.data.tolist() == [4, 1, 3, 5, 2, 6]
    assert packed.batch_sizes.tolist() == [3, 2, 1] and packed.batch_sizes.dtype == sg.int64
    assert packed.sorted_indices.tolist() == [2, 0, 1] and packed.unsorted_indices.tolist() == [1, 2, 0]
    unpacked, lens = pad_packed_sequence(packed, batch_first=True)
    assert unpacked.tolist() == [[1, 2, 0], [3, 0, 0], [4, 5, 6]] and lens.tolist() == [2, 1, 3]
    assert lens.dtype == sg.int64 and lens.device.type == "cpu"
    # pack_sequence's and unpack_sequence's
    a, b, c = sg.tensor([1, 2, 3]), sg.tensor([4, 5]), sg.tensor([6])
    p = pack_sequence([a, b, c])
    assert repr(p) == ("PackedSequence(data=tensor([1, 4, 6, 2, 5, 3]), batch_sizes=tensor([3, 2, 1]), "
                       "sorted_indices=None, unsorted_indices=None)")
    assert [s.tolist() for s in unpack_sequence(p)] == [[1, 2, 3], [4, 5], [6]]
    # unsorted, time-major, with a trailing dim, a padding value and a total length
    q = pack_sequence([sg.tensor([[1.0, -1.0]]), sg.tensor([[2.0, -2.0], [3.0, -3.0]])], enforce_sorted=False)
    assert q.data.tolist() == [[2, -2], [1, -1], [3, -3]] and q.batch_sizes.tolist() == [2, 1]
    padded, lens = pad_packed_sequence(q, padding_value=9.0, total_length=3)
    assert padded.tolist() == [[[1, -1], [2, -2]], [[9, 9], [3, -3]], [[9, 9], [9, 9]]] and lens.tolist() == [1, 2]
    assert [s.tolist() for s in unpack_sequence(q)] == [[[1, -1]], [[2, -2], [3, -3]]]


def test_unpad_sequence_and_invert_permutation():
    seqs = [sg.tensor([1.0, 2.0, 3.0]), sg.tensor([4.0]), sg.tensor([5.0, 6.0])]
    padded = pad_sequence(seqs, batch_first=True)
    out = unpad_sequence(padded, sg.tensor([3, 1, 2]), batch_first=True)
    assert [s.tolist() for s in out] == [[1, 2, 3], [4], [5, 6]]
    time_major = pad_sequence(seqs)
    assert time_major.shape == (3, 3)
    out = unpad_sequence(time_major, sg.tensor([3, 1, 2]))
    assert [s.tolist() for s in out] == [[1, 2, 3], [4], [5, 6]]
    assert time_major.tolist() == padded.tolist()  # (PyTorch transposes it in place, and so does srcgrad)
    assert invert_permutation(None) is None
    assert invert_permutation(sg.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    p = sg.tensor([3, 0, 2, 1]) + 0  # (a computed permutation: inverted with a scatter)
    assert invert_permutation(p).tolist() == [1, 3, 2, 0]


@pytest.mark.parametrize("batch_first", [False, True])
def test_packing_matches_pytorch(batch_first):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as TR
    for lengths, sort, trailing in (([4, 2, 2, 1], True, (2,)), ([2, 4, 1, 3, 3], False, ()),
                                    ([3], True, (1, 2)), ([2, 2], False, (2,))):
        T, B = max(lengths) + 1, len(lengths)
        x = RNG.standard_normal(((B, T) if batch_first else (T, B)) + trailing).astype(np.float32)
        for lens in (lengths, torch.tensor(lengths)):
            tp = TR.pack_padded_sequence(torch.tensor(x), lens, batch_first=batch_first, enforce_sorted=sort)
            sl = sg.tensor(lens.numpy()) if isinstance(lens, torch.Tensor) else lens
            sp = pack_padded_sequence(sg.tensor(x), sl, batch_first=batch_first, enforce_sorted=sort)
            np.testing.assert_array_equal(arr(sp.data), tp.data.numpy())
            assert sp.batch_sizes.tolist() == tp.batch_sizes.tolist()
            for s, t in ((sp.sorted_indices, tp.sorted_indices), (sp.unsorted_indices, tp.unsorted_indices)):
                assert (s is None and t is None) or s.tolist() == t.tolist()
        for bf in (False, True):
            for total in (None, T + 1):
                ta, tl = TR.pad_packed_sequence(tp, batch_first=bf, padding_value=-2.5, total_length=total)
                sa, sl = pad_packed_sequence(sp, batch_first=bf, padding_value=-2.5, total_length=total)
                np.testing.assert_array_equal(arr(sa), ta.numpy())
                assert sl.tolist() == tl.tolist()
        for s, t in zip(unpack_sequence(sp), TR.unpack_sequence(tp)):
            np.testing.assert_array_equal(arr(s), t.numpy())
        seqs = [x[:n, b] if not batch_first else x[b, :n] for b, n in enumerate(lengths)]
        tq = TR.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=sort)
        sq = pack_sequence([sg.tensor(s) for s in seqs], enforce_sorted=sort)
        np.testing.assert_array_equal(arr(sq.data), tq.data.numpy())


def test_gradients_flow_through_packing_and_unpacking():
    x = sg.tensor(RNG.standard_normal((3, 4, 2)), requires_grad=True)  # (B, T, 2)
    w = RNG.standard_normal((4, 3, 2))  # weights of the time-major padded result
    lengths = [2, 4, 1]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    padded, _ = pad_packed_sequence(packed, total_length=4)
    (padded * sg.tensor(w)).sum().backward()
    mask = (np.arange(4)[None, :] < np.array(lengths)[:, None])[..., None]  # (B, T, 1)
    np.testing.assert_array_equal(arr(x.grad), np.where(mask, w.transpose(1, 0, 2), 0))
    np.testing.assert_array_equal(arr(padded), np.where(mask, arr(x), 0).transpose(1, 0, 2))
    # through .data directly
    y = sg.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    (pack_padded_sequence(y, [3, 2]).data * sg.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    np.testing.assert_array_equal(arr(y.grad), [[1, 2], [3, 4], [5, 0]])


def test_packed_sequence_methods():
    q = pack_sequence([sg.tensor([1.0]), sg.tensor([2.0, 3.0])], enforce_sorted=False)
    assert q._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    data, batch_sizes, sorted_indices, unsorted_indices = q
    assert data is q.data and q[1] is batch_sizes and len(q) == 4
    assert q.to(sg.float32) is q and q.float() is q and q.cpu() is q and q.pin_memory() is q
    assert not q.is_cuda and not q.is_pinned()
    for conv, dtype in ((q.double, sg.float64), (q.half, sg.float16), (q.long, sg.int64), (q.int, sg.int32),
                        (q.short, sg.int16), (q.char, sg.int8), (q.byte, sg.uint8)):
        r = conv()
        assert type(r) is PackedSequence and r.data.dtype == dtype
        assert r.batch_sizes is q.batch_sizes and r.sorted_indices.dtype == sg.int64
        assert r.sorted_indices.tolist() == [1, 0] and r.unsorted_indices.tolist() == [1, 0]
    assert q.to(dtype=sg.float64).data.tolist() == [2, 1, 3]
    # PyTorch's constructor forms: (data, batch_sizes[, sorted_indices]) and ((data, batch_sizes),)
    p = PackedSequence(q.data, q.batch_sizes, q.sorted_indices)
    assert p.unsorted_indices.tolist() == [1, 0]
    p = PackedSequence((q.data, q.batch_sizes))
    assert p.batch_sizes is q.batch_sizes and p.sorted_indices is None and p.unsorted_indices is None
    raises(AssertionError, "Expected data to be a list or tuple of length 2", lambda: PackedSequence(q.data))


# ---------------------------------------------------------------------------
# errors


UNSORTED = ("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
            "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if "
            "you do not need ONNX exportability.")
NONPOSITIVE = "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"

PACKING_ERRORS = [  # (lambda of (torch-or-srcgrad, its nn.utils.rnn), exception, message)
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3, 2), [2, 3, 1]), RuntimeError, UNSORTED),
    (lambda t, r: r.pack_sequence([t.zeros(1), t.zeros(2)]), RuntimeError, UNSORTED),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3, 2), [3, 2, 0]), RuntimeError, NONPOSITIVE),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3), [0, 2, 3], enforce_sorted=False), RuntimeError,
     NONPOSITIVE),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3), [3, 2, -1]), RuntimeError, NONPOSITIVE),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3, 2), [3, 2]), RuntimeError,
     "Expected `len(lengths)` to be equal to batch_size, but got 2 (batch_size=3)"),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3, 2), [3, 2, 1], batch_first=True), RuntimeError,
     "Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=4)"),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3), t.tensor([[3, 2, 1]])), RuntimeError,
     "'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu Long tensor"),
    (lambda t, r: r.pack_padded_sequence(t.zeros(4, 3), 3), RuntimeError,
     "'lengths' argument should be a 1D CPU int64 tensor, but got 0D cpu Long tensor"),
    (lambda t, r: r.pack_padded_sequence(t.zeros(0, 3, 2), [3, 2, 1]), RuntimeError, "Cannot pack empty tensors."),
    (lambda t, r: r.pack_sequence([]), RuntimeError, "received an empty list of sequences"),
    (lambda t, r: r.pad_packed_sequence(r.pack_padded_sequence(t.zeros(3, 2), [3, 1]), total_length=2), ValueError,
     "Expected total_length to be at least the length of the longest sequence in input, but got total_length=2 "
     "and max sequence length being 3"),
    (lambda t, r: r.PackedSequence(t.zeros(3)), AssertionError, "Expected data to be a list or tuple of length 2"),
    (lambda t, r: r.unpad_sequence(t.zeros(3, 2, 1), t.tensor([3, 1, 1])), ValueError,
     "zip() argument 2 is longer than argument 1"),
]


@pytest.mark.parametrize("case", range(len(PACKING_ERRORS)))
def test_packing_errors_are_pytorchs(case):
    f, exc, msg = PACKING_ERRORS[case]
    raises(exc, msg, lambda: f(sg, R))
    try:
        import torch
        from torch.nn.utils import rnn as TR
    except ImportError:
        return
    raises(exc, msg, lambda: f(torch, TR))


def test_lengths_past_the_end_of_the_input_are_an_error():
    # (PyTorch reads past the end of its input here: srcgrad refuses)
    raises(RuntimeError, "Expected every length to be at most the padded length 4 of the input, but got a length of 5",
           lambda: pack_padded_sequence(sg.zeros(4, 3, 2), [5, 2, 1]))
    raises(RuntimeError, "Expected every length to be at most the padded length 2 of the input, but got a length of 3",
           lambda: pack_padded_sequence(sg.zeros(2, 2), [1, 3], batch_first=True, enforce_sorted=False))


def test_malformed_packed_sequences_are_errors():
    # (PyTorch fails on these with messages about broadcasting, or not at all)
    raises(RuntimeError, "Expected batch_sizes to be positive and non-increasing, as packing makes them, but got "
           "[1, 2]", lambda: pad_packed_sequence(PackedSequence(sg.zeros(3), sg.tensor([1, 2]))))
    raises(RuntimeError, "The packed data has 4 rows but its batch_sizes add up to 3",
           lambda: GRU(1, 2)(PackedSequence(sg.zeros(4, 1), sg.tensor([2, 1]))))
    # a sorting permutation made by hand: the batch comes back in its order all the same
    padded, lengths = pad_packed_sequence(PackedSequence(sg.tensor([1.0, 2.0, 3.0]), sg.tensor([2, 1]),
                                                         sg.tensor([1, 0])))
    assert padded.tolist() == [[2, 1], [0, 3]] and lengths.tolist() == [1, 2]


RNN_ERRORS = [  # (lambda of (torch-or-srcgrad, its nn.utils.rnn), exception, message)
    (lambda t, r: t.nn.GRU(2, 5)(r.pack_padded_sequence(t.zeros(4, 3, 2), [4, 2, 1]), t.zeros(1, 2, 5)),
     RuntimeError, "Expected hidden size (1, 3, 5), got [1, 2, 5]"),
    (lambda t, r: t.nn.RNN(2, 5, 2)(r.pack_padded_sequence(t.zeros(4, 3, 2), [4, 2, 1]), t.zeros(2, 4, 5)),
     RuntimeError, "Expected hidden size (2, 3, 5), got [2, 4, 5]"),
    (lambda t, r: t.nn.GRU(2, 5)(r.pack_padded_sequence(t.zeros(4, 3, 2, dtype=t.float64), [4, 2, 1])), ValueError,
     "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert input: "
     "input.to(torch.float32), or convert model: model.to(torch.float64)"),
    (lambda t, r: t.nn.RNN(3, 5)(r.pack_padded_sequence(t.zeros(4, 3, 2), [4, 2, 1])), RuntimeError,
     "input.size(-1) must be equal to input_size. Expected 3, got 2"),
    (lambda t, r: t.nn.GRU(2, 5)(r.PackedSequence(t.zeros(4, 1, 2), t.tensor([2, 1, 1]))), RuntimeError,
     "input must have 2 dimensions, got 3"),
]


@pytest.mark.parametrize("case", range(len(RNN_ERRORS)))
def test_packed_layer_errors_are_pytorchs(case):
    f, exc, msg = RNN_ERRORS[case]
    raises(exc, msg, lambda: f(sg, R))
    try:
        import torch
        from torch.nn.utils import rnn as TR
    except ImportError:
        return
    raises(exc, msg, lambda: f(torch, TR))


def test_packed_lstm_state_errors():
    # (PyTorch's packed LSTM leaves these to its kernels, whose messages say little: srcgrad checks the
    # states as its unpacked LSTM does)
    lstm = LSTM(2, 5)
    p = pack_padded_sequence(sg.zeros(4, 3, 2), [3, 4, 1], enforce_sorted=False)
    raises(RuntimeError, "Expected hidden[0] size (1, 3, 5), got [1, 2, 5]", lambda: lstm(p, (sg.zeros(1, 2, 5),
                                                                                               sg.zeros(1, 3, 5))))
    raises(RuntimeError, "Expected hidden[1] size (1, 3, 5), got [1, 3, 4]", lambda: lstm(p, (sg.zeros(1, 3, 5),
                                                                                               sg.zeros(1, 3, 4))))
    raises(RuntimeError, "input.size(-1) must be equal to input_size. Expected 3, got 2", lambda: LSTM(3, 5)(p))


# ---------------------------------------------------------------------------
# the layers against a NumPy reference: each sequence run on its own


def sig(x):
    return 1 / (1 + np.exp(-x))


def np_step(mode, p, x, h, c):
    gi = x @ p["w_ih"].T + p.get("b_ih", 0)
    gh = h @ p["w_hh"].T + p.get("b_hh", 0)
    if mode in ("RNN_TANH", "RNN_RELU"):
        return (np.tanh(gi + gh) if mode == "RNN_TANH" else np.maximum(gi + gh, 0)), None
    if mode == "GRU":
        (ir, iz, inn), (hr, hz, hn) = np.split(gi, 3, -1), np.split(gh, 3, -1)
        r, z = sig(ir + hr), sig(iz + hz)
        n = np.tanh(inn + r * hn)
        return (1 - z) * n + z * h, None
    i, f, g, o = np.split(gi + gh, 4, -1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    h = sig(o) * np.tanh(c)
    return (h @ p["w_hr"].T if "w_hr" in p else h), c


def np_sequence(mode, params, x, h0, c0):
    """One sequence ``x`` (L, I) through ``params[layer][direction]`` from states ``h0``/``c0`` (layers * dirs, H);
    returns (output (L, dirs * H), h_n, c_n)."""
    dirs = len(params[0])
    hs, cs = [], []
    for layer, row in enumerate(params):
        outs = []
        for d, p in enumerate(row):
            h, c = h0[layer * dirs + d], (c0[layer * dirs + d] if c0 is not None else None)
            seq = [None] * len(x)
            for t in (reversed(range(len(x))) if d else range(len(x))):
                h, c = np_step(mode, p, x[t], h, c)
                seq[t] = h
            outs.append(np.stack(seq))
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, -1)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


def module_params(m):
    names = {"weight_ih": "w_ih", "weight_hh": "w_hh", "bias_ih": "b_ih", "bias_hh": "b_hh", "weight_hr": "w_hr"}
    dirs = 2 if m.bidirectional else 1
    return [[{names[n.split("_l")[0]]: arr(getattr(m, n)) for n in m._all_weights[layer * dirs + d]}
             for d in range(dirs)] for layer in range(m.num_layers)]


REFERENCE_CONFIGS = [  # (mode, constructor arguments, lengths, enforce_sorted, with initial state)
    ("RNN_TANH", dict(), [3, 1, 2], False, True),
    ("LSTM", dict(proj_size=2, bidirectional=True, batch_first=True), [3, 3, 1], True, True),
    ("GRU", dict(num_layers=2, bidirectional=True), [1, 3, 2, 3], False, False),
]


@pytest.mark.parametrize("mode,kw,lengths,enforce_sorted,with_state", REFERENCE_CONFIGS,
                         ids=[c[0] for c in REFERENCE_CONFIGS])
def test_packed_layers_match_each_sequence_run_alone(mode, kw, lengths, enforce_sorted, with_state):
    H = 4
    cls = {"RNN_TANH": RNN, "LSTM": LSTM, "GRU": GRU}[mode]
    m = cls(I, H, dtype=sg.float64, **kw)
    dirs, B, T = 2 if m.bidirectional else 1, len(lengths), max(lengths)
    hsz = m.proj_size or H
    seqs = [RNG.standard_normal((n, I)) for n in lengths]
    h0 = RNG.standard_normal((m.num_layers * dirs, B, hsz)) if with_state else np.zeros((m.num_layers * dirs, B, hsz))
    c0 = RNG.standard_normal((m.num_layers * dirs, B, H)) if with_state else np.zeros((m.num_layers * dirs, B, H))
    padded = pad_sequence([sg.tensor(s) for s in seqs], batch_first=m.batch_first)
    packed = pack_padded_sequence(padded, sg.tensor(lengths), batch_first=m.batch_first,
                                  enforce_sorted=enforce_sorted)
    state = None
    if with_state:
        state = (sg.tensor(h0), sg.tensor(c0)) if mode == "LSTM" else sg.tensor(h0)
    out, hn = m(packed, state)
    assert isinstance(out, PackedSequence) and out.batch_sizes is packed.batch_sizes
    assert out.sorted_indices is packed.sorted_indices and out.unsorted_indices is packed.unsorted_indices
    assert out.data.shape == (sum(lengths), dirs * hsz)
    got, got_lengths = pad_packed_sequence(out, batch_first=True)
    assert got_lengths.tolist() == lengths and got.shape == (B, T, dirs * hsz)
    got, *hn = values(got, *(hn if mode == "LSTM" else [hn]))
    params = module_params(m)
    for b, s in enumerate(seqs):
        ref_out, ref_h, ref_c = np_sequence(mode, params, s, h0[:, b], c0[:, b] if mode == "LSTM" else None)
        np.testing.assert_allclose(got[b, :lengths[b]], ref_out, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(got[b, lengths[b]:], 0)
        np.testing.assert_allclose(hn[0][:, b], ref_h, rtol=1e-10, atol=1e-12)
        if mode == "LSTM":
            np.testing.assert_allclose(hn[1][:, b], ref_c, rtol=1e-10, atol=1e-12)


def test_gradcheck_packed_bidirectional_gru_float64():
    m = GRU(1, 2, bidirectional=True, dtype=sg.float64)
    x = sg.tensor(RNG.standard_normal((2, 2, 1)), requires_grad=True)  # (T, B, I); lengths 1 and 2, unsorted
    h0 = sg.tensor(RNG.standard_normal((2, 2, 2)), requires_grad=True)
    w = sg.tensor(RNG.standard_normal((2, 2, 4)))

    def f(x, h0):  # (outputs summed over features with random weights: fewer backward passes to check)
        out, h = m(pack_padded_sequence(x, [1, 2], enforce_sorted=False), h0)
        return (pad_packed_sequence(out)[0] * w).sum(-1), h
    assert gradcheck(f, (x, h0))


# ---------------------------------------------------------------------------
# against PyTorch


TORCH_CONFIGS = [  # (name, constructor arguments, lengths, enforce_sorted, with initial state)
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True, batch_first=True), [2, 3, 1], False, True),
    ("LSTM", dict(bidirectional=True, proj_size=3), [3, 1, 3], False, True),
    ("GRU", dict(bias=False), [3, 2, 2], True, False),
]


@pytest.mark.parametrize("name,kw,lengths,enforce_sorted,with_state", TORCH_CONFIGS,
                         ids=[c[0] for c in TORCH_CONFIGS])
def test_packed_layers_match_pytorch(name, kw, lengths, enforce_sorted, with_state):
    torch = pytest.importorskip("torch")
    from torch.nn.utils import rnn as TR
    H = 5
    tm = getattr(torch.nn, name)(I, H, **kw)
    sm = getattr(sg.nn, name)(I, H, **kw)
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    bf = kw.get("batch_first", False)
    dirs, B, T = 2 if tm.bidirectional else 1, len(lengths), max(lengths)
    hsz = kw.get("proj_size") or H
    x = RNG.standard_normal((B, T, I) if bf else (T, B, I)).astype(np.float32)
    h0 = RNG.standard_normal((tm.num_layers * dirs, B, hsz)).astype(np.float32)
    c0 = RNG.standard_normal((tm.num_layers * dirs, B, H)).astype(np.float32)
    tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
    th0, sh0 = torch.tensor(h0, requires_grad=True), sg.tensor(h0, requires_grad=True)
    if not with_state:
        ts = ss = None
    elif name == "LSTM":
        ts, ss = (th0, torch.tensor(c0)), (sh0, sg.tensor(c0))
    else:
        ts, ss = th0, sh0
    tp = TR.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=bf, enforce_sorted=enforce_sorted)
    sp = pack_padded_sequence(sx, lengths, batch_first=bf, enforce_sorted=enforce_sorted)
    to, th = tm(tp, ts)
    so, sh = sm(sp, ss)
    th, sh = (th if name == "LSTM" else (th,)), (sh if name == "LSTM" else (sh,))
    tpad, _ = TR.pad_packed_sequence(to, batch_first=bf)
    spad, _ = pad_packed_sequence(so, batch_first=bf)
    w = RNG.standard_normal(tpad.shape).astype(np.float32)
    ((tpad * torch.tensor(w)).sum() + sum(t.pow(2).sum() for t in th)).backward()
    ((spad * sg.tensor(w)).sum() + sum(t.pow(2).sum() for t in sh)).backward()  # (before any value is read:
    # the forward and the backward are then one program)
    assert so.batch_sizes.tolist() == to.batch_sizes.tolist()
    for s, t in ((so.sorted_indices, to.sorted_indices), (so.unsorted_indices, to.unsorted_indices)):
        assert (s is None and t is None) or s.tolist() == t.tolist()
    np.testing.assert_allclose(arr(so.data), to.data.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(spad), tpad.detach().numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(sh, th):
        np.testing.assert_allclose(arr(a), b.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(sx.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    if with_state:
        np.testing.assert_allclose(arr(sh0.grad), th0.grad.numpy(), rtol=1e-4, atol=1e-5)
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(arr(sm.get_parameter(n).grad), p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


# ---------------------------------------------------------------------------
# compiled


def test_compiled_packed_training_step_matches_define_by_run():
    x = sg.tensor(RNG.standard_normal((3, 3, I)).astype(np.float32))  # (T, B, I)
    y = sg.tensor(RNG.standard_normal((3, 1)).astype(np.float32))
    sg.manual_seed(5)
    model = sg.nn.ModuleList([LSTM(I, 4), sg.nn.Linear(4, 1)])

    def make_step():
        lstm, head = copy.deepcopy(model)
        params = list(lstm.parameters()) + list(head.parameters())
        compiler.realize([p._node for p in params])  # (so that the first eager step is the program of the next)
        opt = sg.optim.SGD(params, lr=0.2)

        def step(inp, target, lengths):
            opt.zero_grad()
            out, (h, c) = lstm(pack_padded_sequence(inp, lengths, enforce_sorted=False))
            padded, lens = pad_packed_sequence(out, batch_first=True)
            loss = ((head(h[-1]) - target) ** 2).mean() + 0.1 * padded.pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        return step, params

    lengths = [2, 3, 1]
    eager, params = make_step()
    compiled = sg.compile(make_step()[0])
    losses_e = []
    for _ in range(3):
        losses_e.append(eager(x, y, lengths).item())
        compiler.realize([p._node for p in params])  # (so that each eager step is the same program)
    losses_c = [compiled(x, y, lengths).item() for _ in range(3)]
    np.testing.assert_allclose(losses_c, losses_e, rtol=1e-5)
    assert losses_e[2] < losses_e[0]  # it trains
    assert compiled.dynamic_at is None  # it stayed compiled: the lengths are a host value it is keyed on


def test_pad_and_pack_show_pytorchs_grad_fns():
    rnn = R
    a, b = sg.arange(3.0, requires_grad=True), sg.arange(2.0, requires_grad=True)
    p = rnn.pad_sequence([a, b], padding_value=-1.0, padding_side="left")
    assert p.tolist() == [[0.0, -1.0], [1.0, 0.0], [2.0, 1.0]]
    assert p.grad_fn.name() == "torch::autograd::CopySlices"  # (each sequence copied into its slice)
    assert [type(f).__name__ for f, _ in p.grad_fn.next_functions] == ["CopySlices", "AccumulateGrad"]
    p.sum().backward()
    assert a.grad.tolist() == [1.0, 1.0, 1.0] and b.grad.tolist() == [1.0, 1.0]
    # the first sequence's dtype, as PyTorch's copy into new_full
    assert rnn.pad_sequence([sg.ones(2, dtype=sg.int64), sg.ones(1)], padding_value=0.5).tolist() \
        == [[1, 1], [1, 0]]
    x = sg.arange(24.0, requires_grad=True).reshape(3, 2, 4)
    data = rnn.pack_padded_sequence(x, [3, 2]).data
    assert data.grad_fn.name() == "PackPaddedSequenceBackward0"
    assert [type(f).__name__ for f, _ in data.grad_fn.next_functions] == ["ViewBackward0"]
