"""srcgrad/top_level.py: PyTorch's top-level names for functions srcgrad has elsewhere (ATen's signatures),
the signal windows, in-place and ``*_copy`` forms, and the real-tensor answers of the complex API."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import srcgrad as sg
from srcgrad.nn import functional as F

RNG = np.random.default_rng(0)


def _t(*shape):
    return sg.tensor(RNG.standard_normal(shape).astype(np.float32))


def test_functions_under_atens_names_match_functional():
    x, w = _t(1, 2, 5, 5), _t(3, 2, 3, 3)
    np.testing.assert_array_equal(sg.conv2d(x, w, None, 1, 1).numpy(), F.conv2d(x, w, None, 1, 1).numpy())
    a, b = _t(3, 4), _t(3, 4)
    np.testing.assert_array_equal(sg.cosine_similarity(a, b).numpy(), F.cosine_similarity(a, b).numpy())
    x3 = _t(2, 3, 6)
    values, indices = sg.adaptive_max_pool1d(x3, 4)  # (ATen's form: always with the indices)
    np.testing.assert_array_equal(values.numpy(), F.adaptive_max_pool1d(x3, 4).numpy())
    assert indices.dtype == sg.int64 and sg.max_pool1d_with_indices(x3, 2)[1].shape == (2, 3, 3)
    # argument orders: embedding's weight first, batch_norm's weight and bias before the running stats
    weight, idx = _t(5, 3), sg.tensor([1, 4, 0])
    np.testing.assert_array_equal(sg.embedding(weight, idx).numpy(), weight.numpy()[[1, 4, 0]])
    mean, var = sg.zeros(3), sg.ones(3)
    np.testing.assert_array_equal(sg.batch_norm(x3, None, None, mean, var, False, 0.1, 1e-5, False).numpy(),
                                  F.batch_norm(x3, mean, var, training=False).numpy())
    assert sg.layer_norm(x3, (6,)).shape == x3.shape and sg.group_norm(_t(2, 4, 3), 2).shape == (2, 4, 3)
    assert sg.constant_pad_nd(sg.ones(2, 2), [1, 1], 3.0).tolist() == [[3.0, 1.0, 1.0, 3.0]] * 2


def test_losses_take_the_reduction_as_an_int_and_default_to_none():
    x, y = sg.rand(4), sg.rand(4)
    target = sg.tensor([1.0, -1.0, 1.0, -1.0])
    assert sg.kl_div(x.log(), y).shape == (4,)  # (PyTorch's torch.<loss> defaults to reduction 0, "none")
    assert sg.hinge_embedding_loss(x, target).shape == (4,)
    np.testing.assert_allclose(sg.margin_ranking_loss(x, y, target, 0.1, 1).item(),
                               F.margin_ranking_loss(x, y, target, 0.1).item(), rtol=1e-6)
    np.testing.assert_allclose(sg.binary_cross_entropy_with_logits(x, y, None, None, 2).item(),
                               F.binary_cross_entropy_with_logits(x, y, reduction="sum").item(), rtol=1e-6)


def _window_reference(kind, n, periodic, beta=12.0):
    """numpy.*'s windows (symmetric; a periodic one is the symmetric one of length n + 1, cut; PyTorch's
    window of length 1 is [1])."""
    if n <= 1:
        return np.ones(n)
    m = n + 1 if periodic else n
    w = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman, "bartlett": np.bartlett,
         "kaiser": lambda k: np.kaiser(k, beta)}[kind](m)
    return w[:n]


@pytest.mark.parametrize("kind", ["hann", "hamming", "blackman", "bartlett", "kaiser"])
def test_windows_match_numpys(kind):
    fn = getattr(sg, f"{kind}_window")
    for n in (0, 1, 2, 5, 8):
        for periodic in (True, False):
            w = fn(n, periodic, dtype=sg.float64)
            np.testing.assert_allclose(w.numpy(), _window_reference(kind, n, periodic), atol=1e-12, err_msg=str(n))
    assert fn(4).dtype == sg.float32 and not fn(4).requires_grad and fn(4, requires_grad=True).is_leaf
    with pytest.raises(RuntimeError, match=f"{kind}_window expects floating point dtypes, got: "
                                           r"TensorOptions\(dtype=long int"):
        fn(4, dtype=sg.int64)
    with pytest.raises(RuntimeError, match="requires non-negative window_length, got window_length=-1"):
        fn(-1)
    np.testing.assert_allclose(sg.kaiser_window(7, False, 5.0, dtype=sg.float64).numpy(), np.kaiser(7, 5.0),
                               atol=1e-12)


def test_in_place_and_copy_forms():
    x = sg.tensor([0.5, 0.25])
    assert sg.acos_(x) is x and x.tolist() == pytest.approx([math.acos(0.5), math.acos(0.25)])
    z = sg.ones(2)
    assert sg.zero_(z) is z and z.tolist() == [0.0, 0.0] and sg.fill_(z, 3).tolist() == [3.0, 3.0]
    assert sg.fill(z, 2.0).tolist() == [2.0, 2.0] and z.tolist() == [3.0, 3.0]
    base = sg.zeros(2, 3)
    t = sg.t_copy(base)
    t.add_(1)  # (a copy: the base does not see it)
    assert t.shape == (3, 2) and base.sum().item() == 0.0
    assert sg.slice_copy(sg.arange(5.0), 0, 1, 4, 2).tolist() == [1.0, 3.0]
    assert [p.tolist() for p in sg.unbind_copy(sg.eye(2))] == [[1.0, 0.0], [0.0, 1.0]]


def test_real_tensors_under_the_complex_api():
    x = _t(3, 4)
    assert sg.conj(x) is x and x.conj() is x and sg.real(x) is x and x.real is x
    assert not sg.is_conj(x) and not x.is_neg() and sg.resolve_conj(x) is x and sg.resolve_neg(x) is x
    for get in (lambda: sg.imag(x), lambda: x.imag):
        with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
            get()


def test_other_small_ones():
    x = _t(3, 4)
    assert x.cov().shape == (3, 3) and x.corrcoef().shape == (3, 3) and x.share_memory_() is x and not x.is_shared()
    assert sg.typename(x) == "torch.FloatTensor" and sg.typename(sg.ones(2, dtype=sg.int64)) == "torch.LongTensor"
    assert sg.typename(3) == "int" and not sg.is_storage(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fro = sg.frobenius_norm(x, (0, 1))
        nuc = sg.nuclear_norm(x)
    assert [str(w.message).split(" is deprecated")[0] for w in caught] == ["at::frobenius_norm", "at::nuclear_norm"]
    assert all(w.filename == __file__ for w in caught)  # (at the user's line)
    np.testing.assert_allclose(fro.item(), np.linalg.norm(x.numpy()), rtol=1e-6)
    np.testing.assert_allclose(nuc.item(), np.linalg.norm(x.numpy(), "nuc"), rtol=1e-5)
    sg.set_warn_always(True)
    assert sg.is_warn_always_enabled()
    sg.set_warn_always(False)


def test_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in [(2, 3, 6), (4, 3), (4, 3), (4, 3)]]
    cases = [
        lambda lib, a: lib.triplet_margin_loss(lib.tensor(a[1]), lib.tensor(a[2]), lib.tensor(a[3])),
        lambda lib, a: lib.cosine_embedding_loss(lib.tensor(a[1]), lib.tensor(a[2]), lib.tensor([1.0, -1, 1, -1])),
        lambda lib, a: lib.instance_norm(lib.tensor(a[0]), None, None, None, None, True, 0.1, 1e-5, False),
        lambda lib, a: lib.pdist(lib.tensor(a[1])),
        lambda lib, a: lib.rrelu(lib.tensor(a[1])),
        lambda lib, a: lib.celu(lib.tensor(a[1]), 0.5),
        lambda lib, a: lib.threshold(lib.tensor(a[1]), 0.1, 20.0),
        lambda lib, a: lib.blackman_window(7),
        lambda lib, a: lib.kaiser_window(6),
        lambda lib, a: lib.bartlett_window(6),
    ]
    for k, case in enumerate(cases):
        np.testing.assert_allclose(case(sg, arrays).numpy(), case(torch, arrays).numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=str(k))
