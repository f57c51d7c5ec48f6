"""MultiheadAttention (srcgrad/nn/modules/attention.py) and the transformer layers
(srcgrad/nn/modules/transformer.py) against NumPy references written here, finite differences,
PyTorch's names, reprs and errors, and PyTorch itself where it is installed (outputs and every
parameter's gradient)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import srcgrad as sg
from srcgrad.autograd import gradcheck
from srcgrad.nn import functional as F
from srcgrad.nn.modules.attention import MultiheadAttention
from srcgrad.nn.modules.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

RNG = np.random.default_rng(5)
E, NH, L, S, N = 8, 2, 3, 4, 2  # embed dim, heads, target and source lengths, batch


def arr(t):
    return t.detach().numpy()


# ---------------------------------------------------------------------------
# NumPy references


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_mha(q, k, v, wq, wk, wv, bq, bk, bv, wo, bo, heads, mask=None):
    """Sequence-first (L, N, E) attention; ``mask`` additive, broadcastable to (N, heads, L, S)."""
    lq, n, e = q.shape
    d = e // heads
    qp = (q @ wq.T + bq).reshape(lq, n, heads, d).transpose(1, 2, 0, 3)
    kp = (k @ wk.T + bk).reshape(k.shape[0], n, heads, d).transpose(1, 2, 0, 3)
    vp = (v @ wv.T + bv).reshape(v.shape[0], n, heads, d).transpose(1, 2, 0, 3)
    scores = qp @ kp.transpose(0, 1, 3, 2) / np.sqrt(d)
    if mask is not None:
        scores = scores + mask
    w = np_softmax(scores)
    out = (w @ vp).transpose(2, 0, 1, 3).reshape(lq, n, e)
    return out @ wo.T + bo, w


def mha_weights(m):
    if m._qkv_same_embed_dim:
        wq, wk, wv = np.split(arr(m.in_proj_weight), 3)
    else:
        wq, wk, wv = arr(m.q_proj_weight), arr(m.k_proj_weight), arr(m.v_proj_weight)
    b = arr(m.in_proj_bias) if m.in_proj_bias is not None else np.zeros(3 * m.embed_dim)
    bo = arr(m.out_proj.bias) if m.out_proj.bias is not None else 0
    return (wq, wk, wv, *np.split(b, 3), arr(m.out_proj.weight), bo)


def np_layer_norm(x, w, b, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def randn(*shape):
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------------------
# MultiheadAttention


def test_self_attention_matches_the_reference_with_bool_and_float_masks():
    m = MultiheadAttention(E, NH, dtype=sg.float64)
    with sg.no_grad():  # non-zero biases, so that they are tested
        m.in_proj_bias.copy_(sg.tensor(randn(3 * E)))
        m.out_proj.bias.copy_(sg.tensor(randn(E)))
    x = randn(L, N, E)
    causal = np.triu(np.ones((L, L), bool), 1)
    pad = np.array([[False, False, True], [False, False, False]])
    X = sg.tensor(x)
    out, w = m(X, X, X, attn_mask=sg.tensor(causal), key_padding_mask=sg.tensor(pad), average_attn_weights=False)
    add = np.where(causal, -np.inf, 0)[None, None] + np.where(pad, -np.inf, 0)[:, None, None, :]
    ref, ref_w = np_mha(x, x, x, *mha_weights(m), NH, add)
    np.testing.assert_allclose(arr(out), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(w), ref_w, rtol=1e-10, atol=1e-12)
    assert w.shape == (N, NH, L, L)
    # averaged weights; a float mask; need_weights=False (scaled_dot_product_attention's path)
    fm = randn(L, L)
    out2, w2 = m(X, X, X, attn_mask=sg.tensor(fm))
    ref2, ref_w2 = np_mha(x, x, x, *mha_weights(m), NH, fm)
    np.testing.assert_allclose(arr(out2), ref2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(w2), ref_w2.mean(1), rtol=1e-10, atol=1e-12)
    out3, w3 = m(X, X, X, attn_mask=sg.tensor(fm), need_weights=False)
    assert w3 is None
    np.testing.assert_allclose(arr(out3), ref2, rtol=1e-10, atol=1e-12)
    # is_causal with its mask: the causal mask
    out4, _ = m(X, X, X, attn_mask=sg.tensor(causal), need_weights=False, is_causal=True)
    ref4, _ = np_mha(x, x, x, *mha_weights(m), NH, np.where(causal, -np.inf, 0))
    np.testing.assert_allclose(arr(out4), ref4, rtol=1e-10, atol=1e-12)


def test_cross_attention_with_kdim_vdim_batch_first_and_unbatched():
    m = MultiheadAttention(E, NH, kdim=3, vdim=5, batch_first=True, dtype=sg.float64)
    assert m.in_proj_weight is None and tuple(m.k_proj_weight.shape) == (E, 3)
    q, k, v = randn(N, L, E), randn(N, S, 3), randn(N, S, 5)
    out, w = m(sg.tensor(q), sg.tensor(k), sg.tensor(v))
    ref, ref_w = np_mha(q.transpose(1, 0, 2), k.transpose(1, 0, 2), v.transpose(1, 0, 2), *mha_weights(m), NH)
    np.testing.assert_allclose(arr(out), ref.transpose(1, 0, 2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(arr(w), ref_w.mean(1), rtol=1e-10, atol=1e-12)
    one, w1 = m(sg.tensor(q[0]), sg.tensor(k[0]), sg.tensor(v[0]))  # unbatched: (L, E)
    assert one.shape == (L, E) and w1.shape == (L, S)
    np.testing.assert_allclose(arr(one), ref[:, 0], rtol=1e-10, atol=1e-12)


def test_bias_kv_and_zero_attn_add_key_positions():
    m = MultiheadAttention(E, NH, add_bias_kv=True, add_zero_attn=True, dtype=sg.float64)
    assert tuple(m.bias_k.shape) == (1, 1, E)
    q, k = randn(L, N, E), randn(S, N, E)
    out, w = m(sg.tensor(q), sg.tensor(k), sg.tensor(k), key_padding_mask=sg.tensor(np.zeros((N, S), bool)))
    assert w.shape == (N, L, S + 2)
    wq, wk, wv, bq, bk, bv, wo, bo = mha_weights(m)
    kk = np.concatenate([k @ wk.T + bk, np.repeat(arr(m.bias_k), N, 1)])
    vv = np.concatenate([k @ wv.T + bv, np.repeat(arr(m.bias_v), N, 1)])
    eye = np.eye(E)  # (the projections applied above; zero attention is a zero key and value)
    kk = np.concatenate([kk, np.zeros((1, N, E))])
    vv = np.concatenate([vv, np.zeros((1, N, E))])
    ref, _ = np_mha(q, kk, vv, wq, eye, eye, bq, 0, 0, wo, bo, NH)
    np.testing.assert_allclose(arr(out), ref, rtol=1e-10, atol=1e-12)


def test_attention_gradcheck_float64():
    m = MultiheadAttention(4, 2, kdim=3, vdim=2, dtype=sg.float64)
    q = sg.tensor(randn(2, 1, 4), requires_grad=True)
    k = sg.tensor(randn(3, 1, 3), requires_grad=True)
    v = sg.tensor(randn(3, 1, 2), requires_grad=True)
    mask = sg.tensor(randn(2, 3))
    assert gradcheck(lambda q, k, v: m(q, k, v, attn_mask=mask), (q, k, v))


def test_attention_shapes_for_option_combinations():
    for bf, batched, weights, average, kv in itertools.product([False, True], [False, True], [False, True],
                                                                [False, True], [False, True]):
        m = MultiheadAttention(E, NH, batch_first=bf, kdim=3 if kv else None, vdim=5 if kv else None)
        kd, vd = (3, 5) if kv else (E, E)

        def shape(n, d):
            return ((N, n, d) if bf else (n, N, d)) if batched else (n, d)
        out, w = m(sg.zeros(*shape(L, E)), sg.zeros(*shape(S, kd)), sg.zeros(*shape(S, vd)), need_weights=weights,
                   average_attn_weights=average)
        assert out.shape == shape(L, E)
        if not weights:
            assert w is None
        else:
            lead = (N,) if batched else ()
            assert w.shape == lead + (() if average else (NH,)) + (L, S)


def test_attention_names_repr_init_and_errors():
    m = MultiheadAttention(E, NH)
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert repr(m) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=8, "
                       "out_features=8, bias=True)\n)")
    m2 = MultiheadAttention(E, NH, kdim=3, vdim=5, add_bias_kv=True, bias=False)
    assert list(m2.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v",
                                     "out_proj.weight"]
    vals = arr(sg.cat([m.in_proj_weight.reshape(-1), m.in_proj_bias, m.out_proj.bias]))
    bound = np.sqrt(6 / (E + 3 * E))  # xavier-uniform of the (3E, E) matrix
    assert np.abs(vals[:3 * E * E]).max() <= bound and np.abs(vals[:3 * E * E]).max() > 0.8 * bound
    assert (vals[3 * E * E:] == 0).all()
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0, got embed_dim=0 and "
                       "num_heads=2 instead"):
        MultiheadAttention(0, 2)
    x = sg.zeros(L, N, E)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is torch.Size\(\[2, 2\]\), but should be \(3, 3\)\."):
        m(x, x, x, attn_mask=sg.zeros(2, 2))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="For batched \\(3-D\\) `query`, expected `key` and `value` to be 3-D "
                       "but found 2-D and 3-D tensors respectively"):
        m(x, sg.zeros(L, E), x)
    with pytest.raises(AssertionError, match="only bool and floating types of key_padding_mask are supported"):
        m(x, x, x, key_padding_mask=sg.zeros(N, L, dtype=sg.int64))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 4"):
        m(sg.zeros(L, N, 4), x, x)


def test_dropout_on_attention_weights_in_training_only():
    m = MultiheadAttention(E, NH, dropout=0.5)
    x = sg.randn(L, N, E)
    m.eval()
    a, _ = m(x, x, x)
    b, _ = m(x, x, x)
    np.testing.assert_array_equal(arr(a), arr(b))
    m.train()
    c, _ = m(x, x, x)
    assert not np.allclose(arr(c), arr(a))


# ---------------------------------------------------------------------------
# transformer layers


def np_encoder_layer(layer, x, mask, norm_first, act):
    """Sequence-first reference of ``TransformerEncoderLayer`` without dropout."""
    n1, n2 = (arr(layer.norm1.weight), arr(layer.norm1.bias)), (arr(layer.norm2.weight), arr(layer.norm2.bias))

    def sa(y):
        return np_mha(y, y, y, *mha_weights(layer.self_attn), layer.self_attn.num_heads, mask)[0]

    def ff(y):
        h = y @ arr(layer.linear1.weight).T + arr(layer.linear1.bias)
        return act(h) @ arr(layer.linear2.weight).T + arr(layer.linear2.bias)
    if norm_first:
        x = x + sa(np_layer_norm(x, *n1))
        return x + ff(np_layer_norm(x, *n2))
    x = np_layer_norm(x + sa(x), *n1)
    return np_layer_norm(x + ff(x), *n2)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_matches_the_reference(norm_first):
    layer = TransformerEncoderLayer(E, NH, 16, dropout=0.0, norm_first=norm_first, dtype=sg.float64)
    enc = TransformerEncoder(layer, 2, norm=sg.nn.LayerNorm(E, dtype=sg.float64))
    # deep copies: distinct parameters with the layer's values
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert enc.layers[0].linear1.weight is not layer.linear1.weight
    with sg.no_grad():
        enc.layers[1].linear1.weight.mul_(2.0)
        enc.layers[1].norm2.bias.add_(0.5)
    x = randn(L, N, E)
    causal = np.triu(np.full((L, L), -np.inf), 1)
    out = enc(sg.tensor(x), mask=sg.tensor(causal))
    ref = x
    for lay in enc.layers:
        ref = np_encoder_layer(lay, ref, causal, norm_first, lambda h: np.maximum(h, 0))
    ref = np_layer_norm(ref, arr(enc.norm.weight), arr(enc.norm.bias))
    np.testing.assert_allclose(arr(out), ref, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(arr(layer.linear1.weight) * 2, arr(enc.layers[1].linear1.weight))


def test_encoder_layer_gelu_and_callable_activation_and_gradcheck():
    layer = TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", batch_first=True, dtype=sg.float64)
    assert layer.activation is F.gelu and layer.activation_relu_or_gelu == 2
    x = randn(1, 2, 4)
    out = layer(sg.tensor(x))
    gelu = np.vectorize(lambda h: 0.5 * h * (1 + math.erf(h / math.sqrt(2))))
    ref = np_encoder_layer(layer, x.transpose(1, 0, 2), None, False, gelu).transpose(1, 0, 2)
    np.testing.assert_allclose(arr(out), ref, rtol=1e-9, atol=1e-10)
    custom = TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=lambda h: h.tanh(), dtype=sg.float64)
    assert custom.activation_relu_or_gelu == 0
    xt = sg.tensor(randn(2, 1, 4), requires_grad=True)
    assert gradcheck(lambda x: custom(x, src_key_padding_mask=sg.tensor([[False, True]])), (xt,))


def test_decoder_and_transformer_shapes_masks_and_state_dict():
    dec_layer = TransformerDecoderLayer(E, NH, 16, batch_first=True)
    dec = TransformerDecoder(dec_layer, 2)
    tgt, mem = sg.randn(N, L, E), sg.randn(N, S, E)
    mask = Transformer.generate_square_subsequent_mask(L)
    np.testing.assert_array_equal(arr(mask), np.triu(np.full((L, L), -np.inf), 1))
    assert dec(tgt, mem, tgt_mask=mask, tgt_is_causal=True).shape == (N, L, E)
    model = Transformer(E, NH, 1, 1, 16)
    assert model(sg.zeros(S, N, E), sg.zeros(L, N, E)).shape == (L, N, E)
    assert model(sg.zeros(S, E), sg.zeros(L, E)).shape == (L, E)
    keys = list(model.state_dict())
    assert keys[:4] == ["encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.self_attn.in_proj_bias",
                        "encoder.layers.0.self_attn.out_proj.weight", "encoder.layers.0.self_attn.out_proj.bias"]
    assert "decoder.layers.0.multihead_attn.in_proj_weight" in keys and "decoder.norm.weight" in keys
    assert len(keys) == 12 + 18 + 4
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        model(sg.zeros(S, N, 4), sg.zeros(L, N, E))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        TransformerEncoderLayer(E, NH, activation="tanh")


def test_encoder_layer_repr_is_pytorchs():
    assert repr(TransformerEncoderLayer(8, 2, 16, bias=False)) == """TransformerEncoderLayer(
  (self_attn): MultiheadAttention(
    (out_proj): NonDynamicallyQuantizableLinear(in_features=8, out_features=8, bias=False)
  )
  (linear1): Linear(in_features=8, out_features=16, bias=False)
  (dropout): Dropout(p=0.1, inplace=False)
  (linear2): Linear(in_features=16, out_features=8, bias=False)
  (norm1): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=False)
  (norm2): LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=False)
  (dropout1): Dropout(p=0.1, inplace=False)
  (dropout2): Dropout(p=0.1, inplace=False)
)"""
    enc = TransformerEncoder(TransformerEncoderLayer(8, 2, 16), 2)
    assert repr(enc).startswith("TransformerEncoder(\n  (layers): ModuleList(\n    (0-1): 2 x TransformerEncoderLayer(")


# ---------------------------------------------------------------------------
# against PyTorch


def load(tm, sm):
    assert list(sm.state_dict()) == list(tm.state_dict())
    sm.load_state_dict({k: sg.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})


def check_grads(tm, sm):
    for n, p in tm.named_parameters():
        np.testing.assert_allclose(arr(sm.get_parameter(n).grad), p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


MHA_CASES = [
    (dict(), dict(need_weights=True), "self"),
    (dict(batch_first=True, add_bias_kv=True), dict(need_weights=False), "kv"),
    (dict(kdim=3, vdim=5, bias=False), dict(average_attn_weights=False), "kdim"),
    (dict(add_zero_attn=True), dict(need_weights=False, is_causal=True), "self"),
]


@pytest.mark.parametrize("ctor,call,inputs", MHA_CASES, ids=[f"{c[2]}-{'-'.join(c[0])}" for c in MHA_CASES])
def test_attention_matches_pytorch(ctor, call, inputs):
    torch = pytest.importorskip("torch")
    tm, sm = torch.nn.MultiheadAttention(E, NH, **ctor), MultiheadAttention(E, NH, **ctor)
    load(tm, sm)
    bf = ctor.get("batch_first", False)
    kd, vd = ctor.get("kdim", E), ctor.get("vdim", E)

    def shape(n, d):
        return (N, n, d) if bf else (n, N, d)
    q = randn(*shape(L, E)).astype(np.float32)
    if inputs == "self":
        k = v = q
        src = L
    else:
        k, v, src = randn(*shape(S, kd)).astype(np.float32), randn(*shape(S, vd)).astype(np.float32), S
    kpm = np.zeros((N, src), bool)
    kpm[1, -1] = True
    am = np.triu(np.ones((L, src), bool), 1)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    sq, sk, sv = (sg.tensor(a, requires_grad=True) for a in (q, k, v))
    if inputs == "self":  # (the same tensor three times: PyTorch's packed projection)
        tk = tv = tq
        sk = sv = sq
    kw_t = dict(attn_mask=torch.tensor(am), **call)
    kw_s = dict(attn_mask=sg.tensor(am), **call)
    if not call.get("is_causal"):
        kw_t["key_padding_mask"], kw_s["key_padding_mask"] = torch.tensor(kpm), sg.tensor(kpm)
    to, tw = tm(tq, tk, tv, **kw_t)
    so, sw = sm(sq, sk, sv, **kw_s)
    np.testing.assert_allclose(arr(so), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert (tw is None) == (sw is None)
    loss_w = randn(*to.shape).astype(np.float32)
    lt = (to * torch.tensor(loss_w)).sum()
    ls = (so * sg.tensor(loss_w)).sum()
    if tw is not None:
        np.testing.assert_allclose(arr(sw), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
        lt, ls = lt + tw.pow(2).sum(), ls + sw.pow(2).sum()
    lt.backward()
    ls.backward()
    check_grads(tm, sm)
    np.testing.assert_allclose(arr(sq.grad), tq.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(norm_first=True, activation="gelu", batch_first=True, bias=False)])
def test_encoder_matches_pytorch(kw):
    torch = pytest.importorskip("torch")
    tl, sl = torch.nn.TransformerEncoderLayer(E, NH, 16, dropout=0.0, **kw), \
        TransformerEncoderLayer(E, NH, 16, dropout=0.0, **kw)
    te = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    se = TransformerEncoder(sl, 2, norm=sg.nn.LayerNorm(E))
    load(te, se)
    bf = kw.get("batch_first", False)
    x = randn(*((N, L, E) if bf else (L, N, E))).astype(np.float32)
    mask = np.triu(np.ones((L, L), bool), 1)  # (bool, as the padding mask: mixing types is deprecated)
    kpm = np.array([[False, False, True], [False, False, False]])
    to = te(torch.tensor(x), mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(kpm))
    so = se(sg.tensor(x), mask=sg.tensor(mask), src_key_padding_mask=sg.tensor(kpm))
    np.testing.assert_allclose(arr(so), to.detach().numpy(), rtol=1e-5, atol=1e-5)
    to.pow(2).sum().backward()
    so.pow(2).sum().backward()
    check_grads(te, se)


def test_transformer_matches_pytorch():
    torch = pytest.importorskip("torch")
    tt, st = torch.nn.Transformer(E, NH, 1, 1, 16, dropout=0.0), Transformer(E, NH, 1, 1, 16, dropout=0.0)
    load(tt, st)
    src, tgt = randn(S, N, E).astype(np.float32), randn(L, N, E).astype(np.float32)
    to = tt(torch.tensor(src), torch.tensor(tgt), tgt_mask=tt.generate_square_subsequent_mask(L))
    so = st(sg.tensor(src), sg.tensor(tgt), tgt_mask=st.generate_square_subsequent_mask(L))
    np.testing.assert_allclose(arr(so), to.detach().numpy(), rtol=1e-5, atol=1e-5)
    to.pow(2).sum().backward()
    so.pow(2).sum().backward()
    check_grads(tt, st)


def test_encoder_nested_tensor_attributes_and_warning_as_pytorch():
    nn = sg.nn
    with pytest.warns(UserWarning, match=r"enable_nested_tensor is True, but self.use_nested_tensor is False because "
                                         r"encoder_layer.self_attn.batch_first was not True\(use batch_first for "
                                         r"better inference performance\)") as record:
        enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 1)
    assert record[0].filename == __file__ and not enc.use_nested_tensor and enc.enable_nested_tensor
    with pytest.warns(UserWarning, match="encoder_layer.norm_first was True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, batch_first=True, norm_first=True), 1)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, batch_first=True), 1).use_nested_tensor
        assert not nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 1), 1,
                                         enable_nested_tensor=False).use_nested_tensor
