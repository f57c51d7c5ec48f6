"""srcgrad.nn.functional and the activation, dropout, normalisation, loss, embedding and convolution
layers against PyTorch: in-place activations, argument names, legacy loss arguments, grad_fn names,
errors and warnings.

Each check runs without PyTorch (expected values and messages written out), and again against
PyTorch itself where it is installed (``pytest.importorskip("torch")``): the same lambda, given
the module (``srcgrad`` or ``torch``), runs on both.
"""

from __future__ import annotations

import inspect
import math
import warnings

import numpy as np
import pytest

import srcgrad as sg
import srcgrad.nn as nn
import srcgrad.nn.functional as F


def _torch():
    return pytest.importorskip("torch")


def _outcome(fn, m):
    """``(exception type name, message)`` of ``fn(m)``, or ``(None, result)``."""
    try:
        return None, fn(m)
    except Exception as e:  # noqa: BLE001 - the outcome is what is compared
        return type(e).__name__, str(e)


# ---------------------------------------------------------------------------
# 1. inplace=True


INPLACE = {
    "relu": lambda m, t: m.nn.functional.relu(t, inplace=True),
    "leaky_relu": lambda m, t: m.nn.functional.leaky_relu(t, 0.1, True),
    "elu": lambda m, t: m.nn.functional.elu(t, 1.5, True),
    "silu": lambda m, t: m.nn.functional.silu(t, True),
    "dropout_p1": lambda m, t: m.nn.functional.dropout(t, 1.0, True, True),
    "ReLU": lambda m, t: m.nn.ReLU(inplace=True)(t),
    "LeakyReLU": lambda m, t: m.nn.LeakyReLU(0.2, inplace=True)(t),
    "ELU": lambda m, t: m.nn.ELU(inplace=True)(t),
    "SiLU": lambda m, t: m.nn.SiLU(inplace=True)(t),
    "Dropout_p1": lambda m, t: m.nn.Dropout(1.0, inplace=True)(t),
}
# the values each gives for [-1, 2, 3, -4], and PyTorch's grad_fn name on a non-leaf
INPLACE_EXPECTED = {
    "relu": ([0, 2, 3, 0], "ReluBackward0"),
    "leaky_relu": ([-0.1, 2, 3, -0.4], "LeakyReluBackward1"),
    "elu": ([1.5 * math.expm1(-1), 2, 3, 1.5 * math.expm1(-4)], "EluBackward1"),
    "silu": ([-1 / (1 + math.e), 2 / (1 + math.exp(-2)), 3 / (1 + math.exp(-3)), -4 / (1 + math.exp(4))],
             "SiluBackward0"),
    "dropout_p1": ([0, 0, 0, 0], "MulBackward0"),
    "ReLU": ([0, 2, 3, 0], "ReluBackward0"),
    "LeakyReLU": ([-0.2, 2, 3, -0.8], "LeakyReluBackward1"),
    "ELU": ([math.expm1(-1), 2, 3, math.expm1(-4)], "EluBackward1"),
    "SiLU": ([-1 / (1 + math.e), 2 / (1 + math.exp(-2)), 3 / (1 + math.exp(-3)), -4 / (1 + math.exp(4))],
             "SiluBackward0"),
    "Dropout_p1": ([0, 0, 0, 0], "MulBackward0"),
}


def _inplace_facts(m, name):
    f = INPLACE[name]
    t = m.tensor([-1.0, 2.0, 3.0, -4.0])
    v0 = t._version
    out = f(m, t)
    facts = {"same": out is t, "bumped": t._version - v0, "values": t.tolist()}
    leaf = m.tensor([-1.0, 2.0], requires_grad=True)
    facts["leaf"] = _outcome(lambda _: f(m, leaf), m)
    a = m.tensor([-1.0, 2.0, 3.0, -4.0], requires_grad=True)
    b = a * 1
    out = f(m, b)
    facts["grad_fn"] = type(out.grad_fn).__name__ if m.__name__ == "torch" else out.grad_fn.name()
    facts["same_nonleaf"] = out is b
    out.sum().backward()
    facts["grad"] = a.grad.tolist()
    with m.no_grad():  # a leaf may change in place where autograd does not record
        leaf2 = m.tensor([-1.0, 2.0], requires_grad=True)
        facts["nograd_same"] = f(m, leaf2) is leaf2
    return facts


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activations_change_their_input(name):
    facts = _inplace_facts(sg, name)
    values, grad_fn = INPLACE_EXPECTED[name]
    assert facts["same"] and facts["bumped"] == 1 and facts["same_nonleaf"] and facts["nograd_same"]
    np.testing.assert_allclose(facts["values"], values, rtol=1e-6, atol=1e-7)
    assert facts["leaf"] == ("RuntimeError", "a leaf Variable that requires grad is being used in an in-place "
                                             "operation.")
    assert facts["grad_fn"] == grad_fn


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_activations_as_torch(name):
    torch = _torch()
    ours, theirs = _inplace_facts(sg, name), _inplace_facts(torch, name)
    for k in ("same", "bumped", "same_nonleaf", "nograd_same", "leaf", "grad_fn"):
        assert ours[k] == theirs[k], k
    np.testing.assert_allclose(ours["values"], theirs["values"], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ours["grad"], theirs["grad"], rtol=1e-6, atol=1e-7)


def test_inplace_dropout_multiplies_the_input_by_its_mask():
    t = sg.ones(1000)
    sg.manual_seed(0)
    assert F.dropout(t, 0.25, True, inplace=True) is t and t._version == 1
    vals = set(np.unique(t.numpy()).tolist())
    assert vals <= {0.0, np.float32(1 / 0.75).item()} and len(vals) == 2
    a = sg.ones(50, requires_grad=True)
    b = a * 1
    out = nn.Dropout(0.5, inplace=True)(b)
    assert out is b and out.grad_fn.name() == "MulBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), out.detach().numpy())
    # eval mode, p=0 and empty input return the input untouched (no version bump)
    for call in (lambda x: F.dropout(x, 0.5, False, True), lambda x: F.dropout(x, 0.0, True, True),
                 lambda x: nn.Dropout(inplace=True).eval()(x)):
        x = sg.tensor([1.0, 2.0], requires_grad=True)
        assert call(x) is x and x._version == 0
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        F.dropout(sg.tensor([1, 2]), 0.5)
    assert repr(nn.SiLU(inplace=True)) == "SiLU(inplace=True)"
    assert repr(nn.Dropout(inplace=True)) == "Dropout(p=0.5, inplace=True)"


def test_inplace_after_an_op_that_saved_its_output_fails_at_backward():
    # sigmoid saves its result; overwriting it in place breaks its backward, as in PyTorch
    a = sg.tensor([-1.0, 2.0], requires_grad=True)
    s = a.sigmoid()
    F.relu(s, inplace=True)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        s.sum().backward()
    # ... while an op that saved its input does not mind (mul keeps the other factor)
    b = a * 2
    F.leaky_relu(b, 0.1, inplace=True)
    b.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.2, 2.0], rtol=1e-6)


def test_inplace_negative_slope_backward_refused_as_torch():
    a = sg.tensor([-1.0, 2.0], requires_grad=True)
    msgs = []
    for f in (lambda t: F.leaky_relu(t, -0.1, inplace=True), lambda t: F.elu(t, -0.5, inplace=True)):
        b = a * 1
        f(b)
        with pytest.raises(RuntimeError) as info:
            b.sum().backward()
        msgs.append(str(info.value))
    assert msgs[0].startswith("In-place leakyReLu backward calculation is triggered with a negative slope")
    assert msgs[1] == ("In-place elu backward calculation is triggered with a negative slope which is not supported. "
                       "This is caused by calling in-place forward function with a negative slope, please call "
                       "out-of-place version instead.")
    with sg.no_grad():  # nothing recorded, nothing refused
        np.testing.assert_allclose(F.leaky_relu(sg.tensor([-1.0, 2.0]), -0.1, inplace=True).numpy(), [0.1, 2.0])


def test_inplace_negative_slope_messages_are_torchs():
    torch = _torch()
    for f in (lambda m, t: m.nn.functional.leaky_relu(t, -0.1, inplace=True),
              lambda m, t: m.nn.functional.elu(t, -0.5, inplace=True)):
        outcomes = []
        for m in (sg, torch):
            a = m.tensor([-1.0, 2.0], requires_grad=True)
            b = a * 1
            f(m, b)
            outcomes.append(_outcome(lambda _: b.sum().backward(), m))
        assert outcomes[0] == outcomes[1]


# ---------------------------------------------------------------------------
# 2. cosine_similarity


COSINE = [
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[1e-5, 0.0, 0.0]]), m.tensor([[1e-5, 0.0, 0.0]])),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[0.0, 0.0, 0.0]]), m.tensor([[1.0, 0.0, 0.0]])),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[1.0, 2.0, 3.0], [4.0, -5.0, 6.0]]),
                                                m.tensor([1.0, 0.5, -2.0])),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[1.0, 2.0], [3.0, 4.0]]), m.tensor([[2.0], [1.0]]), dim=1),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([3.0, 4.0]), m.tensor([4.0, 3.0]), dim=0),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[1, 2]]), m.tensor([[1.0, 2.0]])),
    lambda m: m.nn.functional.cosine_similarity(m.tensor([[1e30, 1e30]]), m.tensor([[1e30, -1e30 + 1e25]])),
]
COSINE_EXPECTED = [[1.0], [0.0], [-0.4665694, -0.5222330], [3 / math.sqrt(10), 7 / math.sqrt(50)], 0.96, [1.0], [0.0]]


def test_cosine_similarity_clamps_each_norm():
    for f, want in zip(COSINE, COSINE_EXPECTED):
        np.testing.assert_allclose(np.asarray(f(sg).tolist()), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is Long"):
        F.cosine_similarity(sg.tensor([[1, 2]]), sg.tensor([[1, 2]]))
    x = sg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    y = F.cosine_similarity(x, x * 2)
    assert y.grad_fn.name() == "SumBackward1"


def test_cosine_similarity_as_torch():
    torch = _torch()
    for f in COSINE:
        np.testing.assert_allclose(np.asarray(f(sg).tolist()), np.asarray(f(torch).tolist()), rtol=1e-5, atol=1e-6)
    # gradients, also where a norm is below eps (clamped in place, unseen by autograd, in PyTorch)
    for a, b, eps in (([[1.0, 2.0, 3.0]], [[0.5, -2.0, 1.0]], 1e-8), ([[1e-5, 0.0, 0.0]], [[1e-5, 2e-9, 0.0]], 1e-4)):
        grads = []
        for m in (sg, torch):
            x, y = m.tensor(a, dtype=m.float64, requires_grad=True), m.tensor(b, dtype=m.float64, requires_grad=True)
            m.nn.functional.cosine_similarity(x, y, eps=eps).sum().backward()
            grads.append((x.grad.tolist(), y.grad.tolist()))
        np.testing.assert_allclose(np.asarray(grads[0][0]), np.asarray(grads[1][0]), rtol=1e-9)
        np.testing.assert_allclose(np.asarray(grads[0][1]), np.asarray(grads[1][1]), rtol=1e-9)


# ---------------------------------------------------------------------------
# 3. layer_norm (and errors of item 7), as (lambda m: ..., exception type, message)


ERRORS = [
    # layer_norm
    (lambda m: m.nn.functional.layer_norm(m.arange(12.0).reshape(3, 4), (5,)), "RuntimeError",
     "Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[3, 4]"),
    (lambda m: m.nn.LayerNorm(5)(m.arange(12.0).reshape(3, 4)), "RuntimeError",
     "Given normalized_shape=[5], expected input with shape [*, 5], but got input of size[3, 4]"),
    (lambda m: m.nn.functional.layer_norm(m.arange(4.0), (1, 4)), "RuntimeError",
     "Given normalized_shape=[1, 4], expected input with shape [*, 1, 4], but got input of size[4]"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), (4,), m.ones(3)), "RuntimeError",
     "Expected weight to be of same shape as normalized_shape, but got weight of shape [3] and "
     "normalized_shape = [4]"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), (4,), None, m.ones(1, 4)), "RuntimeError",
     "Expected bias to be of same shape as normalized_shape, but got bias of shape [1, 4] and normalized_shape = [4]"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), 4), "TypeError",
     "layer_norm(): argument 'normalized_shape' (position 2) must be tuple of ints, not int"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), ()), "RuntimeError",
     "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got "
     "normalized_shape = []"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4).double(), (4,), m.ones(4)), "RuntimeError",
     "mixed dtype (CPU): all inputs must share same datatype."),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4).double(), (4,), m.ones(3)), "RuntimeError",
     "mixed dtype (CPU): all inputs must share same datatype."),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), (4,), m.ones(4).double()), "RuntimeError",
     "mixed dtype (CPU): expect parameter to have scalar type of Float"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4).half(), (4,), m.ones(4), m.ones(4).half()), "RuntimeError",
     "mixed dtype (CPU): expect parameter to have scalar type of Float"),
    (lambda m: m.nn.functional.layer_norm(m.randn(2, 4), (4,), m.ones(4), m.ones(4).double()), "RuntimeError",
     "expected scalar type Float but found Double"),
    (lambda m: m.nn.functional.layer_norm(m.arange(8).reshape(2, 4), (4,)), "NotImplementedError",
     "\"LayerNormKernelImpl\" not implemented for 'Long'"),
    # one_hot
    (lambda m: m.nn.functional.one_hot(m.tensor([1.0]), 3), "RuntimeError",
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda m: m.nn.functional.one_hot(m.tensor([1], dtype=m.int32)), "RuntimeError",
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda m: m.nn.functional.one_hot(m.tensor([], dtype=m.int64)), "RuntimeError",
     "Can not infer total number of classes from empty tensor."),
    (lambda m: m.nn.functional.one_hot(m.tensor([-1]), 3), "RuntimeError", "Class values must be non-negative."),
    (lambda m: m.nn.functional.one_hot(m.tensor([3]), 3), "RuntimeError",
     "Class values must be smaller than num_classes."),
    # embedding
    (lambda m: m.nn.Embedding(5, 3)(m.tensor([1], dtype=m.uint8)), "RuntimeError",
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     "torch.ByteTensor instead (while checking arguments for embedding)"),
    (lambda m: m.nn.Embedding(5, 3)(m.tensor([1.0])), "RuntimeError",
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     "torch.FloatTensor instead (while checking arguments for embedding)"),
    (lambda m: m.nn.Embedding(5, 3)(m.tensor([True])), "RuntimeError",
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int; but got "
     "CPUBoolType instead (while checking arguments for embedding)"),
    (lambda m: m.nn.functional.embedding(m.tensor([1]), m.ones(5)), "RuntimeError", "'weight' must be 2-D"),
    (lambda m: m.nn.functional.embedding(m.tensor([1.0]), m.ones(5)), "RuntimeError", "'weight' must be 2-D"),
    (lambda m: m.nn.functional.embedding(m.tensor([1]), m.ones(5, 2), padding_idx=7), "AssertionError",
     "Padding_idx must be within num_embeddings"),
    (lambda m: m.nn.functional.embedding(m.tensor([1]), m.ones(5, 2), padding_idx=-6), "AssertionError",
     "Padding_idx must be within num_embeddings"),
    # binary cross-entropy
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.2, 0.7]), m.tensor([0, 1])), "RuntimeError",
     "Found dtype Long but expected Float"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.2, 0.7]), m.tensor([0.0, 1.0]).double()),
     "RuntimeError", "Found dtype Double but expected Float"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0, 1]), m.tensor([0, 1])), "NotImplementedError",
     "\"binary_cross_entropy\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.2, 0.7]), m.tensor([0.0, 2.0])), "RuntimeError",
     "all elements of target should be between 0 and 1"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.2, 1.7]), m.tensor([0.0, 1.0])), "RuntimeError",
     "all elements of input should be between 0 and 1"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.rand(3), m.rand(3), m.rand(2, 3)), "RuntimeError",
     "output with shape [3] doesn't match the broadcast shape [2, 3]"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.rand(3), m.rand(3), m.rand(3, requires_grad=True)),
     "RuntimeError", "The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. "
     "This input cannot have requires_grad True."),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.tensor([0.2, 0.7]), m.tensor([0, 1])),
     "RuntimeError", "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.tensor([0.2, 0.7]), m.tensor([False, True])),
     "RuntimeError", "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
     "`logical_xor()` operator instead."),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.tensor([1, 2]), m.rand(2)), "NotImplementedError",
     "\"log_sigmoid_cpu\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.rand(3), m.rand(3), None, pos_weight=m.rand(2, 3)),
     "RuntimeError", "output with shape [3] doesn't match the broadcast shape [2, 3]"),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.rand(3), m.rand(3), m.rand(3, requires_grad=True)),
     "RuntimeError", "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument "
     "'weight'. This input cannot have requires_grad True."),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.rand(3), m.rand(3),
                                                                pos_weight=m.rand(3, requires_grad=True)),
     "RuntimeError", "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument "
     "'pos_weight'. This input cannot have requires_grad True."),
    # softmax of integers
    (lambda m: m.nn.functional.softmax(m.tensor([1, 2, 3]), 0), "NotImplementedError",
     "\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.log_softmax(m.tensor([1, 2, 3]), 0), "NotImplementedError",
     "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.softmax(m.ones(2, 3, dtype=m.int32), 0), "NotImplementedError",
     "\"softmax_kernel_impl\" not implemented for 'Int'"),
    # convolution arguments
    (lambda m: m.nn.functional.conv2d(m.randn(1, 2, 5, 5), m.randn(3, 2, 3, 3), padding=-1), "RuntimeError",
     "negative padding is not supported"),
    (lambda m: m.nn.functional.conv2d(m.randn(1, 2, 5, 5), m.randn(3, 2, 3, 3), padding=(1, -1), stride=0),
     "RuntimeError", "negative padding is not supported"),
    (lambda m: m.nn.functional.conv2d(m.randn(1, 2, 5, 5), m.randn(3, 2, 3, 3), stride=0), "RuntimeError",
     "non-positive stride is not supported"),
    (lambda m: m.nn.functional.conv1d(m.randn(1, 2, 5), m.randn(3, 2, 3), stride=-1), "RuntimeError",
     "non-positive stride is not supported"),
    (lambda m: m.nn.functional.conv2d(m.randn(1, 3, 5, 5), m.randn(3, 2, 3, 3), stride=0), "RuntimeError",
     "non-positive stride is not supported"),
    (lambda m: m.nn.Conv2d(2, 3, 3, padding=-1)(m.randn(1, 2, 5, 5)), "RuntimeError",
     "negative padding is not supported"),
    (lambda m: m.nn.Conv2d(2, 3, 3, stride=0)(m.randn(1, 2, 5, 5)), "RuntimeError",
     "non-positive stride is not supported"),
    (lambda m: m.nn.functional.conv2d(m.randn(1, 2, 5, 5), m.randn(3, 2, 3, 3), dilation=0), "RuntimeError",
     "dilation should be greater than zero, but got [0, 0]"),
    (lambda m: m.nn.functional.conv1d(m.randn(1, 2, 5), m.randn(3, 2, 3), dilation=0), "RuntimeError",
     "dilation should be greater than zero, but got [1, 0]"),
    # label smoothing above 1 (0 or below smooths nothing)
    (lambda m: m.nn.functional.cross_entropy(m.randn(3, 4), m.tensor([0, 1, 3]), label_smoothing=1.5),
     "RuntimeError", "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    (lambda m: m.nn.CrossEntropyLoss(label_smoothing=1.5)(m.randn(3, 4), m.tensor([0, 1, 3])), "RuntimeError",
     "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    # linear
    (lambda m: m.nn.functional.linear(m.tensor(1.0), m.randn(2, 3)), "RuntimeError",
     "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
    (lambda m: m.nn.functional.linear(m.randn(2, 3), m.tensor(1.0)), "RuntimeError",
     "both arguments to linear need to be at least 1D, but they are 2D and 0D"),
    (lambda m: m.nn.functional.linear(m.randn(2, 3), m.randn(3), m.tensor(1.0)), "RuntimeError",
     "mat2 must be a matrix, got 1-D tensor"),
    (lambda m: m.nn.functional.linear(m.randn(4, 2, 3), m.randn(4)), "RuntimeError",
     "size mismatch, got input (8), mat (8x3), vec (4)"),
    (lambda m: m.nn.functional.linear(m.randn(2, 3), m.randn(3).double()), "RuntimeError",
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (lambda m: m.nn.functional.linear(m.randn(3), m.randn(3).double()), "RuntimeError",
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda m: m.nn.functional.linear(m.randn(2, 3), m.randn(2, 2, 3)), "RuntimeError",
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    # activations PyTorch computes for floating types only
    (lambda m: m.nn.functional.elu(m.tensor([-1, 2])), "NotImplementedError", "\"elu_cpu\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.leaky_relu(m.tensor([-1, 2]), inplace=True), "NotImplementedError",
     "\"leaky_relu_cpu\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.silu(m.tensor([-1, 2])), "NotImplementedError",
     "\"silu_cpu\" not implemented for 'Long'"),
    (lambda m: m.nn.functional.logsigmoid(m.tensor([-1, 2])), "NotImplementedError",
     "\"log_sigmoid_cpu\" not implemented for 'Long'"),
    # losses: mse/l1 weights
    (lambda m: m.nn.functional.mse_loss(m.ones(3), m.zeros(3), weight=m.tensor([1.0, 2.0])), "ValueError",
     "Weights and input must have the same size."),
    (lambda m: m.nn.functional.mse_loss(m.ones(3), m.zeros(3), reduction="foo"), "ValueError",
     "foo is not a valid value for reduction"),
    (lambda m: m.nn.functional.l1_loss(m.ones(3), m.zeros(3), reduction="foo", weight=m.ones(3)), "ValueError",
     "Invalid reduction mode: foo. Expected one of 'none', 'mean', 'sum'."),
    (lambda m: m.nn.functional.dropout(m.tensor([1, 2]), 0.5), "RuntimeError",
     "result type Float can't be cast to the desired output type Long"),
]


def _id(case):
    return case[2][:60]


@pytest.mark.parametrize("case", ERRORS, ids=[f"{k}-{_id(c)}" for k, c in enumerate(ERRORS)])
def test_bad_arguments_refused_as_torch(case):
    call, exc, msg = case
    assert _outcome(call, sg) == (exc, msg)


@pytest.mark.parametrize("case", ERRORS, ids=[f"{k}-{_id(c)}" for k, c in enumerate(ERRORS)])
def test_bad_arguments_messages_are_torchs(case):
    torch = _torch()
    call, exc, msg = case
    assert _outcome(call, torch) == (exc, msg)


def test_layer_norm_is_one_op_with_torchs_dtypes():
    x = sg.randn(2, 4, requires_grad=True)
    w = sg.ones(4, requires_grad=True)
    b = sg.zeros(4, requires_grad=True)
    y = F.layer_norm(x, (4,), w, b)
    assert y.grad_fn.name() == "NativeLayerNormBackward0"
    assert nn.LayerNorm(4)(x).grad_fn.name() == "NativeLayerNormBackward0"
    assert F.layer_norm(x, [4]).grad_fn.name() == "NativeLayerNormBackward0"
    assert F.layer_norm(x, sg.Size([4])).shape == (2, 4)
    # float16 input with float32 (or float16) parameters: a float16 result, computed in float32
    xh = sg.tensor([[1.0, 2.0, 3.0, 4.0]]).half().requires_grad_()
    out = F.layer_norm(xh, (4,), w, b)
    assert out.dtype is sg.float16
    assert F.layer_norm(xh, (4,), sg.ones(4).half(), sg.zeros(4).half()).dtype is sg.float16
    assert F.layer_norm(xh, (4,), None, sg.zeros(4)).dtype is sg.float16
    assert nn.LayerNorm(4)(xh).dtype is sg.float16
    ref = (np.arange(1.0, 5.0) - 2.5) / np.sqrt(1.25 + 1e-5)
    np.testing.assert_allclose(out.detach().float().numpy()[0], ref, rtol=1e-3)
    out.float().sum().backward()
    assert xh.grad.dtype is sg.float16 and w.grad.dtype is sg.float32
    # constant rows: 0, not NaN
    np.testing.assert_array_equal(F.layer_norm(sg.tensor([[1.0, 1.0]]), (2,)).numpy(), [[0.0, 0.0]])


def test_layer_norm_values_and_gradients_as_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    x, w, b, g = (rng.standard_normal(s) for s in ((2, 3, 4, 5), (4, 5), (4, 5), (2, 3, 4, 5)))
    for affine in ("both", "weight", "bias", "none"):
        res = []
        for m in (sg, torch):
            tx = m.tensor(x, requires_grad=True)
            tw = m.tensor(w, requires_grad=True) if affine in ("both", "weight") else None
            tb = m.tensor(b, requires_grad=True) if affine in ("both", "bias") else None
            y = m.nn.functional.layer_norm(tx, (4, 5), tw, tb, eps=1e-3)
            y.backward(m.tensor(g))
            res.append([y.detach().numpy(), tx.grad.numpy()] + [t.grad.numpy() for t in (tw, tb) if t is not None])
        for a, e in zip(*res):
            np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)
    # float16 input, float32 parameters
    xs = [m.tensor(x[0, 0]).half().requires_grad_() for m in (sg, torch)]
    ws = [m.tensor(w[0], dtype=m.float32, requires_grad=True) for m in (sg, torch)]
    outs = [m.nn.functional.layer_norm(xx, (5,), ww) for m, xx, ww in zip((sg, torch), xs, ws)]
    assert str(outs[0].dtype) == str(outs[1].dtype) == "torch.float16"
    np.testing.assert_allclose(outs[0].detach().float().numpy(), outs[1].detach().float().numpy(), rtol=2e-3,
                               atol=2e-3)
    for o in outs:
        o.float().sum().backward()
    np.testing.assert_allclose(ws[0].grad.numpy(), ws[1].grad.numpy(), rtol=2e-3, atol=2e-3)
    assert str(xs[0].grad.dtype) == str(xs[1].grad.dtype) == "torch.float16"
    # bfloat16 too is computed in float32 on the CPU: the same rounded values as PyTorch's
    xb = (rng.standard_normal((8, 32)) * 3 + 1).astype(np.float32)
    wb, bb = (rng.standard_normal(32).astype(np.float32) for _ in range(2))
    res = []
    for m in (sg, torch):
        tx = m.tensor(xb).bfloat16().requires_grad_()
        tw, tb = (m.tensor(v).bfloat16().requires_grad_() for v in (wb, bb))
        y = m.nn.functional.layer_norm(tx, (32,), tw, tb)
        y.float().sum().backward()
        res.append([str(y.dtype), str(tx.grad.dtype), y.detach().float().numpy(), tx.grad.float().numpy(),
                    tw.grad.float().numpy()])
    assert res[0][:2] == res[1][:2] == ["torch.bfloat16", "torch.bfloat16"]
    np.testing.assert_array_equal(res[0][2], res[1][2])
    for a, e in zip(res[0][3:], res[1][3:]):  # (a gradient may round the other way in its last bit)
        np.testing.assert_allclose(a, e, rtol=2e-2, atol=2e-2)


# ---------------------------------------------------------------------------
# 4. argument names and legacy loss arguments


# PyTorch's parameter names (inspect.signature where PyTorch has one, its docstring where it is a builtin)
SIGNATURES = {
    "relu": "input inplace", "sigmoid": "input", "tanh": "input", "softplus": "input beta threshold",
    "hardtanh": "input min_val max_val inplace", "hardtanh_": "input min_val max_val", "gelu": "input approximate",
    "silu": "input inplace", "leaky_relu": "input negative_slope inplace", "elu": "input alpha inplace",
    "logsigmoid": "input", "softmax": "input dim _stacklevel dtype", "log_softmax": "input dim _stacklevel dtype",
    "mse_loss": "input target size_average reduce reduction weight",
    "l1_loss": "input target size_average reduce reduction weight",
    "smooth_l1_loss": "input target size_average reduce reduction beta",
    "huber_loss": "input target reduction delta weight",
    "nll_loss": "input target weight size_average ignore_index reduce reduction",
    "cross_entropy": "input target weight size_average ignore_index reduce reduction label_smoothing",
    "binary_cross_entropy": "input target weight size_average reduce reduction",
    "binary_cross_entropy_with_logits": "input target weight size_average reduce reduction pos_weight",
    "linear": "input weight bias", "dropout": "input p training inplace", "one_hot": "input num_classes",
    "normalize": "input p dim eps out", "layer_norm": "input normalized_shape weight bias eps",
    "embedding": "input weight padding_idx max_norm norm_type scale_grad_by_freq sparse",
    "cosine_similarity": "x1 x2 dim eps",
    "scaled_dot_product_attention": "query key value attn_mask dropout_p is_causal scale enable_gqa",
    "conv1d": "input weight bias stride padding dilation groups",
    "conv2d": "input weight bias stride padding dilation groups",
    "conv3d": "input weight bias stride padding dilation groups",
    # activations, channel dropout, norms, KL divergence, transposed convolutions, resampling, attention
    "celu": "input alpha inplace",
    "conv_transpose1d": "input weight bias stride padding output_padding groups dilation",
    "conv_transpose2d": "input weight bias stride padding output_padding groups dilation",
    "conv_transpose3d": "input weight bias stride padding output_padding groups dilation",
    "dropout1d": "input p training inplace",
    "dropout2d": "input p training inplace",
    "dropout3d": "input p training inplace",
    "glu": "input dim",
    "group_norm": "input num_groups weight bias eps",
    "hardshrink": "input lambd",
    "hardsigmoid": "input inplace",
    "hardswish": "input inplace",
    "instance_norm": "input running_mean running_var weight bias use_input_stats momentum eps",
    "interpolate": "input size scale_factor mode align_corners recompute_scale_factor antialias",
    "kl_div": "input target size_average reduce reduction log_target",
    "mish": "input inplace",
    "multi_head_attention_forward": "query key value embed_dim_to_check num_heads in_proj_weight in_proj_bias bias_k bias_v add_zero_attn dropout_p out_proj_weight out_proj_bias training key_padding_mask need_weights attn_mask use_separate_proj_weight q_proj_weight k_proj_weight v_proj_weight static_k static_v average_attn_weights is_causal",
    "prelu": "input weight",
    "relu6": "input inplace",
    "rms_norm": "input normalized_shape weight eps",
    "rrelu": "input lower upper training inplace",
    "selu": "input inplace",
    "softmin": "input dim _stacklevel dtype",
    "softshrink": "input lambd",
    "softsign": "input",
    "tanhshrink": "input",
    "threshold": "input threshold value inplace",
    "upsample": "input size scale_factor mode align_corners",
    "upsample_bilinear": "input size scale_factor",
    "upsample_nearest": "input size scale_factor",
    # 3-d and adaptive max pooling, bags of embeddings (tests/test_nn_pooling_extra.py)
    **{f"max_pool{n}d_with_indices": "input kernel_size stride padding dilation ceil_mode return_indices"
       for n in (1, 2, 3)},
    "max_pool3d": "input kernel_size stride padding dilation ceil_mode return_indices",
    "avg_pool3d": "input kernel_size stride padding ceil_mode count_include_pad divisor_override",
    "adaptive_avg_pool3d": "input output_size",
    **{f"adaptive_max_pool{n}d{w}": "input output_size return_indices" for n in (1, 2, 3)
       for w in ("", "_with_indices")},
    "embedding_bag": "input weight offsets max_norm norm_type scale_grad_by_freq mode sparse per_sample_weights "
                     "include_last_offset padding_idx",
    # spatial transformers (tests/test_nn_grid_sample.py)
    "affine_grid": "theta size align_corners",
    "grid_sample": "input grid mode padding_mode align_corners",
    # losses, distances, shuffles, fold/unfold, unpooling, fractional pooling, in-place activations
    # (tests/test_nn_extra_layers.py)
    "relu_": "input", "elu_": "input alpha", "celu_": "input alpha", "leaky_relu_": "input negative_slope",
    "selu_": "input", "threshold_": "input threshold value", "rrelu_": "input lower upper training",
    "alpha_dropout": "input p training inplace", "feature_alpha_dropout": "input p training inplace",
    "bilinear": "input1 input2 weight bias", "channel_shuffle": "input groups",
    "native_channel_shuffle": "input groups", "pixel_shuffle": "input upscale_factor",
    "pixel_unshuffle": "input downscale_factor", "pairwise_distance": "x1 x2 p eps keepdim", "pdist": "input p",
    "cosine_embedding_loss": "input1 input2 target margin size_average reduce reduction",
    "hinge_embedding_loss": "input target margin size_average reduce reduction",
    "margin_ranking_loss": "input1 input2 target margin size_average reduce reduction",
    "soft_margin_loss": "input target size_average reduce reduction",
    "multilabel_soft_margin_loss": "input target weight size_average reduce reduction",
    "multi_margin_loss": "input target p margin weight size_average reduce reduction",
    "multilabel_margin_loss": "input target size_average reduce reduction",
    "poisson_nll_loss": "input target log_input full size_average eps reduce reduction",
    "gaussian_nll_loss": "input target var full eps reduction",
    "triplet_margin_loss": "anchor positive negative margin p eps swap size_average reduce reduction",
    "triplet_margin_with_distance_loss": "anchor positive negative distance_function margin swap reduction",
    "ctc_loss": "log_probs targets input_lengths target_lengths blank reduction zero_infinity",
    "local_response_norm": "input size alpha beta k",
    **{f"lp_pool{n}d": "input norm_type kernel_size stride ceil_mode" for n in (1, 2, 3)},
    **{f"max_unpool{n}d": "input indices kernel_size stride padding output_size" for n in (1, 2, 3)},
    "unfold": "input kernel_size dilation padding stride", "fold": "input output_size kernel_size dilation padding stride",
    "gumbel_softmax": "logits tau hard eps dim",
    **{f"fractional_max_pool{n}d_with_indices": "input kernel_size output_size output_ratio return_indices "
       "_random_samples" for n in (2, 3)},
    # (PyTorch's boolean dispatch: its signature is (*args, **kwargs))
    "fractional_max_pool2d": "args kwargs", "fractional_max_pool3d": "args kwargs",
}


def _public_functions():
    return sorted(n for n, f in vars(F).items() if inspect.isfunction(f) and f.__module__ == F.__name__
                  and not n.startswith("_") and n != "conv_padding")


def test_functional_argument_names_are_torchs():
    missing = [n for n in _public_functions() if n not in SIGNATURES]
    assert not missing, f"add the PyTorch signatures of {missing}"
    for name, params in SIGNATURES.items():
        assert list(inspect.signature(getattr(F, name)).parameters) == params.split(), name
    # keywords PyTorch accepts
    t = sg.tensor([[-1.0, 2.0, 0.5]])
    np.testing.assert_array_equal(F.relu(input=t).numpy(), [[0.0, 2.0, 0.5]])
    np.testing.assert_allclose(F.softmax(input=t, dim=1).numpy().sum(), 1.0, rtol=1e-6)
    assert F.one_hot(input=sg.tensor([1]), num_classes=3).tolist() == [[0, 1, 0]]
    assert F.linear(input=t, weight=sg.ones(2, 3)).shape == (1, 2)
    np.testing.assert_allclose(F.normalize(input=sg.tensor([[3.0, 4.0]])).numpy(), [[0.6, 0.8]], rtol=1e-6)
    out = sg.empty(1, 2)
    assert F.normalize(sg.tensor([[3.0, 4.0]]), out=out) is out
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8]], rtol=1e-6)
    # softmax's dtype is its fourth positional argument (after _stacklevel), as PyTorch's
    assert F.softmax(sg.tensor([1, 2]), 0, 3, sg.float64).dtype is sg.float64


def test_functional_argument_names_match_torch_signatures():
    torch = _torch()
    tf = torch.nn.functional
    for name in _public_functions():
        try:
            theirs = list(inspect.signature(getattr(tf, name)).parameters)
        except (ValueError, TypeError):  # a builtin: the docstring's first line names its parameters
            head = getattr(tf, name).__doc__.strip().split("(", 1)[1].split(")", 1)[0]
            theirs = [p.split("=")[0].strip() for p in head.replace("*,", "").split(",") if p.strip()]
            if name == "one_hot":  # (its docstring says `tensor`; the binding takes `input`)
                theirs[0] = "input"
            if name == "scaled_dot_product_attention":
                theirs = SIGNATURES[name].split()
                assert tf.scaled_dot_product_attention(query=torch.ones(1, 2, 2), key=torch.ones(1, 2, 2),
                                                       value=torch.ones(1, 2, 2), enable_gqa=False).shape == (1, 2, 2)
        assert list(inspect.signature(getattr(F, name)).parameters) == theirs, name


LEGACY = [
    (lambda m: m.nn.functional.mse_loss(m.ones(3), m.zeros(3), size_average=False), 3.0, "sum"),
    (lambda m: m.nn.functional.l1_loss(m.ones(3), m.zeros(3), None, False).shape, (3,), "none"),
    (lambda m: m.nn.functional.nll_loss(m.tensor([[-1.0, -2.0], [-3.0, -4.0]]), m.tensor([0, 1]), None, False),
     5.0, "sum"),
    (lambda m: m.nn.functional.cross_entropy(m.zeros(2, 4), m.tensor([0, 1]), None, None, -100, False).shape, (2,),
     "none"),
    (lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.5]), m.tensor([1.0]), None, True, True),
     math.log(2), "mean"),
    (lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.zeros(2), m.ones(2), None, False),
     2 * math.log(2), "sum"),
    (lambda m: m.nn.MSELoss(size_average=False).reduction, "sum", "sum"),
    (lambda m: m.nn.CrossEntropyLoss(reduce=False).reduction, "none", "none"),
]


def _legacy_outcome(m, call):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = call(m)
    got = tuple(got) if isinstance(got, tuple) or type(got).__name__ == "Size" else got
    return (got.item() if hasattr(got, "item") else got), [(x.category.__name__, str(x.message)) for x in w]


@pytest.mark.parametrize("k", range(len(LEGACY)))
def test_legacy_size_average_and_reduce(k):
    call, want, reduction = LEGACY[k]
    got, warned = _legacy_outcome(sg, call)
    assert got == pytest.approx(want)
    assert warned == [("UserWarning", f"size_average and reduce args will be deprecated, please use "
                                      f"reduction='{reduction}' instead.")]


@pytest.mark.parametrize("k", range(len(LEGACY)))
def test_legacy_size_average_and_reduce_as_torch(k):
    torch = _torch()
    call = LEGACY[k][0]
    ours, theirs = _legacy_outcome(sg, call), _legacy_outcome(torch, call)
    assert ours[1] == theirs[1]
    assert ours[0] == pytest.approx(theirs[0])


def test_loss_positional_arguments_in_torchs_order():
    x = sg.tensor([[-1.0, -2.0, -0.5], [-3.0, -0.1, -4.0]])
    t = sg.tensor([0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no legacy warning when both are None)
        assert F.nll_loss(x, t, None, None, -100, None, "sum").item() == pytest.approx(5.0)
        assert F.nll_loss(x, t, None, None, 2, None, "sum").item() == pytest.approx(1.0)
        assert F.cross_entropy(x, t, None, None, -100, None, "none").shape == (2,)
    # mse/l1 with a per-element weight: the mean divides by the weights' sum (DivBackward0)
    a = sg.ones(3, requires_grad=True)
    w = sg.tensor([1.0, 2.0, 3.0])
    out = F.mse_loss(a, sg.zeros(3), weight=w)
    assert out.item() == pytest.approx(1.0) and out.grad_fn.name() == "DivBackward0"
    assert F.l1_loss(a, sg.zeros(3), reduction="sum", weight=w).item() == pytest.approx(6.0)
    assert F.mse_loss(a, sg.zeros(3), reduction="none", weight=w).tolist() == [1.0, 2.0, 3.0]
    with pytest.warns(UserWarning, match="reduction='elementwise_mean' is deprecated"):
        assert F.mse_loss(a, sg.zeros(3), reduction="elementwise_mean").item() == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# 5. relu's gradient at NaN


def test_relu_gradient_is_one_at_nan():
    x = sg.tensor([-1.0, 0.0, float("nan"), 2.0], requires_grad=True)
    F.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, 1.0])
    x.grad = None
    y = x * 1
    F.relu(y, inplace=True).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0, 1.0])
    # twice differentiable (the second derivative is zero)
    z = sg.tensor([-1.0, 2.0], requires_grad=True)
    (gz,) = sg.autograd.grad(F.relu(z).pow(2).sum(), z, create_graph=True)
    np.testing.assert_array_equal(gz.detach().numpy(), [0.0, 4.0])
    (ggz,) = sg.autograd.grad(gz.sum(), z)
    np.testing.assert_array_equal(ggz.numpy(), [0.0, 2.0])


def test_relu_gradient_at_nan_as_torch():
    torch = _torch()
    grads = []
    for m in (sg, torch):
        x = m.tensor([-1.0, 0.0, float("nan"), 2.0], requires_grad=True)
        m.nn.functional.relu(x).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1]


# ---------------------------------------------------------------------------
# 6. grad_fn names (and the losses' printed form)


def _p(m):
    return m.tensor([[0.2, 0.7, 0.5], [0.9, 0.1, 0.4]], requires_grad=True)


def _t(m):
    return m.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


GRAD_FNS = [
    ("LeakyReluBackward0", lambda m: m.nn.LeakyReLU()(_p(m))),
    ("EluBackward0", lambda m: m.nn.ELU()(_p(m))),
    ("SiluBackward0", lambda m: m.nn.SiLU()(_p(m))),
    ("LogSigmoidBackward0", lambda m: m.nn.functional.logsigmoid(_p(m))),
    ("ReluBackward0", lambda m: m.nn.ReLU()(_p(m))),
    ("MulBackward0", lambda m: m.nn.Dropout(0.3)(_p(m))),
    ("MulBackward0", lambda m: m.nn.functional.dropout(_p(m), 1.0)),
    ("NativeLayerNormBackward0", lambda m: m.nn.LayerNorm(3)(_p(m))),
    ("NativeLayerNormBackward0", lambda m: m.nn.LayerNorm(3, elementwise_affine=False)(_p(m))),
    ("BinaryCrossEntropyBackward0", lambda m: m.nn.BCELoss()(_p(m), _t(m))),
    ("BinaryCrossEntropyBackward0", lambda m: m.nn.BCELoss(reduction="sum")(_p(m), _t(m))),
    ("BinaryCrossEntropyBackward0", lambda m: m.nn.BCELoss(weight=m.tensor([1.0, 2.0, 0.5]), reduction="none")(
        _p(m), _t(m))),
    ("BinaryCrossEntropyWithLogitsBackward0", lambda m: m.nn.BCEWithLogitsLoss()(_p(m), _t(m))),
    ("BinaryCrossEntropyWithLogitsBackward0", lambda m: m.nn.BCEWithLogitsLoss(
        pos_weight=m.tensor([2.0, 1.0, 0.5]), reduction="none")(_p(m), _t(m))),
    ("EmbeddingBackward0", lambda m: m.nn.Embedding(4, 3)(m.tensor([1, 3]))),
    ("EmbeddingBackward0", lambda m: m.nn.Embedding(4, 3, padding_idx=0)(m.tensor([[0, 3]]))),
    ("DivBackward1", lambda m: m.nn.functional.cross_entropy(_p(m), _t(m))),
    ("DivBackward1", lambda m: m.nn.functional.cross_entropy(_p(m), _t(m), label_smoothing=0.1)),
    ("NegBackward0", lambda m: m.nn.functional.cross_entropy(_p(m), _t(m), reduction="sum")),
    ("NegBackward0", lambda m: m.nn.functional.cross_entropy(_p(m), _t(m), reduction="none")),
    ("MseLossBackward0", lambda m: m.nn.MSELoss()(_p(m), _t(m))),
    ("SumBackward1", lambda m: m.nn.functional.cosine_similarity(_p(m), _t(m))),
    ("MvBackward0", lambda m: m.nn.functional.linear(_p(m), m.ones(3))),
]


def _grad_fn_name(m, out):
    return out.grad_fn.name() if m is sg else type(out.grad_fn).__name__


@pytest.mark.parametrize("k", range(len(GRAD_FNS)))
def test_grad_fn_names(k):
    name, call = GRAD_FNS[k]
    assert _grad_fn_name(sg, call(sg)) == name


@pytest.mark.parametrize("k", range(len(GRAD_FNS)))
def test_grad_fn_names_are_torchs(k):
    torch = _torch()
    name, call = GRAD_FNS[k]
    assert _grad_fn_name(torch, call(torch)) == name


def test_losses_print_as_torch_prints_them():
    p = sg.tensor([0.5, 0.5], requires_grad=True)
    assert repr(nn.BCELoss()(p, sg.tensor([1.0, 0.0]))) == \
        "tensor(0.6931, grad_fn=<BinaryCrossEntropyBackward0>)"
    assert repr(F.binary_cross_entropy_with_logits(sg.zeros(2, requires_grad=True), sg.ones(2))) == \
        "tensor(0.6931, grad_fn=<BinaryCrossEntropyWithLogitsBackward0>)"


def test_losses_and_activations_values_and_gradients_as_torch():
    torch = _torch()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4))
    p = 1 / (1 + np.exp(-rng.standard_normal((3, 4))))
    q = 1 / (1 + np.exp(-rng.standard_normal((3, 4))))
    w, pw = rng.random(4) + 0.5, rng.random(4) + 0.5
    q_edges = np.array([[0.0, 1.0, 0.3, 1.0]] * 3)
    p_edges = np.array([[0.0, 1.0, 1.0, 0.0], [1e-13, 1 - 1e-13, 0.5, 0.5], [0.2, 0.8, 0.5, 0.5]])
    calls = [
        lambda m, a, b: m.nn.functional.leaky_relu(a, 0.3),
        lambda m, a, b: m.nn.functional.elu(a, 0.7),
        lambda m, a, b: m.nn.functional.silu(a),
        lambda m, a, b: m.nn.functional.logsigmoid(a * 30),
        lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b),
        lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, m.tensor(w), reduction="none"),
        lambda m, a, b: m.nn.functional.binary_cross_entropy(a, b, reduction="sum"),
        lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(a * 40 - 20, b, m.tensor(w),
                                                                         pos_weight=m.tensor(pw)),
        lambda m, a, b: m.nn.functional.binary_cross_entropy_with_logits(a, b, reduction="none"),
        lambda m, a, b: m.nn.functional.cross_entropy(a, b.softmax(1)),
        lambda m, a, b: m.nn.functional.cross_entropy(a, b.softmax(1), label_smoothing=-0.5),
        lambda m, a, b: m.nn.functional.cross_entropy(a, m.tensor([0, 3, 1]), label_smoothing=-0.5,
                                                      reduction="none"),
        lambda m, a, b: m.nn.functional.cross_entropy(a, b.softmax(1), weight=m.tensor(w), reduction="sum"),
        lambda m, a, b: m.nn.functional.linear(a, b[0]),
    ]
    for k, call in enumerate(calls):
        for aa, bb in ((p, q), (p_edges, q_edges)) if 4 <= k <= 6 else ((x if k not in (3, 7) else p, q),):
            res = []
            for m in (sg, torch):
                ta, tb = m.tensor(aa, requires_grad=True), m.tensor(bb, requires_grad=True)
                out = call(m, ta, tb)
                out.backward(m.tensor(np.linspace(0.5, 2.0, out.numel()).reshape(tuple(out.shape))))
                res.append([out.detach().numpy(), ta.grad.numpy(), tb.grad.numpy() if tb.grad is not None else None])
            for a_, e_ in zip(*res):
                if e_ is None:
                    assert a_ is None or not np.any(a_), k
                else:
                    np.testing.assert_allclose(a_, e_, rtol=1e-9, atol=1e-12, err_msg=str(k))


def test_embedding_padding_idx_and_int32_indices():
    w = sg.tensor(np.arange(10.0).reshape(5, 2), requires_grad=True)
    idx = sg.tensor([[1, 2, 1], [4, 1, 0]], dtype=sg.int32)
    out = F.embedding(idx, w, padding_idx=-4)  # row 1
    np.testing.assert_array_equal(out.detach().numpy(), np.arange(10.0).reshape(5, 2)[idx.numpy()])
    out.backward(sg.ones(2, 3, 2))
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [1, 1], [0, 0], [1, 1]])
    # the weight may change in place before backward: only the indices are saved
    w2 = sg.tensor(np.ones((3, 2)), requires_grad=True)
    h = w2 * 1
    out = F.embedding(sg.tensor([2, 2]), h)
    with sg.no_grad():
        h.mul_(3)
    out.sum().backward()
    np.testing.assert_array_equal(w2.grad.numpy(), [[0, 0], [0, 0], [2, 2]])


def test_embedding_padding_idx_as_torch():
    torch = _torch()
    weights = np.random.default_rng(2).standard_normal((5, 3))
    grads = []
    for m in (sg, torch):
        w = m.tensor(weights, requires_grad=True)
        out = m.nn.functional.embedding(m.tensor([[1, 2, 1], [4, 1, 0]]), w, padding_idx=1)
        (out * m.tensor(np.arange(18.0).reshape(2, 3, 3))).sum().backward()
        grads.append((out.detach().numpy(), w.grad.numpy()))
    np.testing.assert_array_equal(grads[0][0], grads[1][0])
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_second_derivatives_of_new_ops():
    x = sg.tensor([[-1.5, 0.3, 2.0, -0.2]], dtype=sg.float64, requires_grad=True)
    w = sg.tensor([0.5, 1.0, 2.0, -1.0], dtype=sg.float64, requires_grad=True)
    assert sg.autograd.gradgradcheck(lambda a: F.silu(a), (x,))
    assert sg.autograd.gradgradcheck(lambda a: F.elu(a, 0.8), (x,))
    assert sg.autograd.gradgradcheck(lambda a: F.logsigmoid(a), (x,))
    assert sg.autograd.gradgradcheck(lambda a, b: F.layer_norm(a, (4,), b), (x, w))
    t = sg.tensor([[0.0, 1.0, 0.5, 0.2]], dtype=sg.float64)
    assert sg.autograd.gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, t, pos_weight=w.detach()), (x,))
    assert sg.autograd.gradgradcheck(lambda a: F.binary_cross_entropy(a.sigmoid(), t), (x,))


# ---------------------------------------------------------------------------
# 7. label smoothing below zero, linear with a vector weight


def test_negative_label_smoothing_smooths_nothing():
    x = sg.tensor([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    probs = sg.tensor([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])
    t = sg.tensor([1, 2])
    for target in (t, probs):
        np.testing.assert_allclose(F.cross_entropy(x, target, label_smoothing=-0.5).numpy(),
                                   F.cross_entropy(x, target).numpy(), rtol=1e-7)
    assert nn.CrossEntropyLoss(label_smoothing=-0.5).label_smoothing == -0.5
    # an empty input with probabilities: NaN (0 / 0), as PyTorch
    assert math.isnan(F.cross_entropy(sg.zeros(0, 4), sg.zeros(0, 4)).item())


def test_linear_with_a_vector_weight():
    x = sg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = sg.tensor([1.0, 0.0, -1.0], requires_grad=True)
    out = F.linear(x, v)
    assert out.tolist() == [-2.0, -2.0] and out.grad_fn.name() == "MvBackward0"
    assert F.linear(x[0], v).grad_fn.name() == "DotBackward0"
    assert F.linear(sg.ones(4, 2, 3), v).shape == (4, 2)
    out.sum().backward()
    assert v.grad.tolist() == [5.0, 7.0, 9.0]


# ---------------------------------------------------------------------------
# 8. warnings


IMPLICIT = [
    ("softmax", lambda m: m.nn.functional.softmax(m.randn(2, 3))),
    ("log_softmax", lambda m: m.nn.functional.log_softmax(m.randn(2, 3))),
    ("softmax", lambda m: m.nn.Softmax()(m.randn(2, 3))),
    ("log_softmax", lambda m: m.nn.LogSoftmax()(m.randn(2, 3))),
]


def _warned(m, call):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = call(m)
    return tuple(out.shape), [(x.category.__name__, str(x.message)) for x in w]


@pytest.mark.parametrize("k", range(len(IMPLICIT)))
def test_implicit_softmax_dim_warns(k):
    name, call = IMPLICIT[k]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = call(sg)
    assert [(x.category, str(x.message)) for x in w] == [
        (UserWarning, f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                      "as an argument.")]
    if k == 0:
        assert w[0].filename == __file__  # (it points at the caller, as PyTorch's)
        np.testing.assert_allclose(out.numpy().sum(1), [1.0, 1.0], rtol=1e-6)  # dim 1 for 2-D input
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(sg.randn(2, 3), dim=1)
        nn.Softmax(dim=0)(sg.randn(2, 3))


@pytest.mark.parametrize("k", range(len(IMPLICIT)))
def test_implicit_softmax_dim_warns_as_torch(k):
    torch = _torch()
    call = IMPLICIT[k][1]
    assert _warned(sg, call) == _warned(torch, call)


def test_attention_of_a_fully_masked_query_is_zero_with_finite_gradients():
    # PyTorch's safe softmax: a query that may attend to no key gets 0, not NaN
    q = sg.tensor(np.random.default_rng(0).standard_normal((1, 2, 4)), dtype=sg.float32, requires_grad=True)
    k = sg.tensor(np.random.default_rng(1).standard_normal((1, 3, 4)), dtype=sg.float32)
    v = sg.tensor(np.random.default_rng(2).standard_normal((1, 3, 4)), dtype=sg.float32)
    bool_mask = sg.tensor([[True, True, False], [False, False, False]])
    float_mask = sg.zeros(2, 3)
    float_mask[1] = -math.inf
    for mask in (bool_mask, float_mask):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        assert np.isfinite(out.detach().numpy()).all() and out[0, 1].abs().sum().item() == 0
        q.grad = None
        out.sum().backward()
        assert np.isfinite(q.grad.numpy()).all() and q.grad[0, 1].abs().sum().item() == 0
    # the live row is the ordinary masked attention
    scores = (q.detach() @ k.transpose(-2, -1) / 2.0)[0, 0, :2]
    np.testing.assert_allclose(F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask)[0, 0].detach().numpy(),
                               (scores.softmax(-1) @ v[0, :2]).numpy(), rtol=1e-5)


def test_softmax_of_a_0d_tensor():
    assert F.softmax(sg.tensor(3.0), 0).item() == 1.0 and F.log_softmax(sg.tensor(3.0), -1).item() == 0.0
    assert sg.nn.Softmax(0)(sg.tensor(2.0)).shape == ()
    with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\], but got 1"):
        F.softmax(sg.tensor(3.0), 1)


def _bilinear_reference(x, out_h, out_w, align_corners):
    """Each output pixel from its four neighbours, written out (PyTorch's source-index rule)."""
    n, c, h, w = x.shape
    y = np.zeros((n, c, out_h, out_w))

    def src(i, o, s):
        if align_corners:
            return i * (s - 1) / (o - 1) if o > 1 else 0.0
        return max((i + 0.5) * s / o - 0.5, 0.0)

    for i in range(out_h):
        for j in range(out_w):
            sy, sx = src(i, out_h, h), src(j, out_w, w)
            y0, x0 = min(int(sy), h - 1), min(int(sx), w - 1)
            y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
            dy, dx = sy - y0, sx - x0
            y[:, :, i, j] = (x[:, :, y0, x0] * (1 - dy) * (1 - dx) + x[:, :, y0, x1] * (1 - dy) * dx
                             + x[:, :, y1, x0] * dy * (1 - dx) + x[:, :, y1, x1] * dy * dx)
    return y


@pytest.mark.parametrize("align_corners", [False, True])
def test_interpolate_bilinear_matches_a_direct_reference(align_corners):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    got = F.interpolate(sg.tensor(x), size=(7, 3), mode="bilinear", align_corners=align_corners).numpy()
    np.testing.assert_allclose(got, _bilinear_reference(x, 7, 3, align_corners), rtol=1e-10, atol=1e-12)
    assert sg.autograd.gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode="bilinear",
                                                         align_corners=align_corners),
                                 (sg.tensor(x[:1, :1], requires_grad=True),))


def test_interpolate_nearest_and_upsample_modules():
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    got = F.interpolate(sg.tensor(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(got, x.repeat(2, 2).repeat(2, 3))
    got = F.interpolate(sg.tensor(x), size=(2, 3), mode="nearest").numpy()  # floor(i * in / out)
    np.testing.assert_array_equal(got, x[:, :, [0, 1]][:, :, :, [0, 1, 2]])
    got = F.interpolate(sg.tensor(x), size=(2, 3), mode="nearest-exact").numpy()  # floor((i + 0.5) * in / out)
    np.testing.assert_array_equal(got, x[:, :, [0, 2]][:, :, :, [0, 2, 3]])
    up = sg.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True)
    assert up(sg.ones(1, 2, 3, 3)).shape == (1, 2, 6, 6) and repr(up) == "Upsample(scale_factor=2.0, mode='bilinear')"
    assert repr(sg.nn.UpsamplingNearest2d(size=5)) == "UpsamplingNearest2d(size=5, mode='nearest')"
    np.testing.assert_allclose(F.interpolate(sg.tensor(x), size=(3, 2), mode="area").numpy(),
                               x.reshape(1, 1, 3, 2, 2).mean(-1))
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(sg.tensor(x), size=2, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners option can only be set with the interpolating modes"):
        F.interpolate(sg.tensor(x), size=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 4D input, but linear mode needs 3D input"):
        F.interpolate(sg.tensor(x), size=2, mode="linear")


def test_interpolate_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for shape, mode in [((2, 3, 5), "linear"), ((2, 3, 4, 5), "bilinear"), ((2, 3, 4, 5), "nearest"),
                        ((2, 3, 4, 5), "nearest-exact"), ((1, 2, 3, 4, 5), "trilinear"), ((2, 3, 6, 6), "area")]:
        x = rng.standard_normal(shape)
        nsp = len(shape) - 2
        for kw in (dict(size=(7,) * nsp), dict(scale_factor=2), dict(scale_factor=0.6), dict(size=(3,) * nsp)):
            for ac in ((None,) if mode in ("nearest", "nearest-exact", "area") else (False, True)):
                tx, sx = torch.tensor(x, requires_grad=True), sg.tensor(x, requires_grad=True)
                to = torch.nn.functional.interpolate(tx, mode=mode, align_corners=ac, **kw)
                so = F.interpolate(sx, mode=mode, align_corners=ac, **kw)
                np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
                to.pow(2).sum().backward()
                so.pow(2).sum().backward()
                np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_interpolate_copies_a_dimension_whose_size_does_not_change():
    # (PyTorch's CPU kernels: scale_factor=1.2 of a size-3 dim keeps size 3 and copies it, in the linear
    # modes and in 2-d nearest; 1-d and 3-d nearest and bicubic sample at 1/1.2 as the scale says)
    x1, x2, x3 = (sg.arange(float(3 ** k)).reshape((1, 1) + (3,) * k) for k in (1, 2, 3))
    for mode, x in [("linear", x1), ("bilinear", x2), ("trilinear", x3), ("nearest", x2)]:
        assert F.interpolate(x, scale_factor=1.2, mode=mode).tolist() == x.tolist(), mode
    y = F.interpolate(x2, scale_factor=(1.2, 2.0), mode="bilinear")
    assert y[0, 0, :, 0].tolist() == [0.0, 3.0, 6.0]
    assert F.interpolate(x1, scale_factor=1.2, mode="nearest").tolist() == [[[0.0, 0.0, 1.0]]]
    assert F.interpolate(x2, scale_factor=1.2, mode="bicubic")[0, 0, 0, 1].item() == pytest.approx(0.5104166)


_AA_SUMS = (1.4644432092815667, 0.8927301908618863)


def test_interpolate_antialias():
    x = sg.tensor(np.random.default_rng(0).standard_normal((1, 2, 9, 7)))
    for mode in ("bilinear", "bicubic"):  # (the filters' weights sum to one: a constant stays that constant)
        np.testing.assert_allclose(F.interpolate(sg.full((1, 1, 9, 7), 2.5), size=(4, 3), mode=mode,
                                                 antialias=True).numpy(), 2.5, rtol=1e-6)  # (float32)
    # (PyTorch 2.13's values on this input)
    np.testing.assert_allclose(F.interpolate(x, size=(4, 3), mode="bilinear", antialias=True).sum().item(),
                               _AA_SUMS[0], rtol=1e-9)
    np.testing.assert_allclose(F.interpolate(x, scale_factor=0.37, mode="bicubic", antialias=True).sum().item(),
                               _AA_SUMS[1], rtol=1e-9)
    with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"):
        F.interpolate(sg.ones(1, 1, 4), size=2, mode="linear", antialias=True)
    torch = pytest.importorskip("torch")
    for mode in ("bilinear", "bicubic"):
        for kw in [dict(size=(4, 3)), dict(scale_factor=0.37), dict(size=(12, 10)), dict(size=(4, 10)),
                   dict(size=(5, 3), align_corners=True), dict(scale_factor=(0.5, 1.0))]:
            tx, sx = torch.tensor(x.numpy(), requires_grad=True), x.detach().requires_grad_(True)
            to = torch.nn.functional.interpolate(tx, mode=mode, antialias=True, **kw)
            so = F.interpolate(sx, mode=mode, antialias=True, **kw)
            np.testing.assert_allclose(so.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
            to.pow(2).sum().backward()
            so.pow(2).sum().backward()
            np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_interpolate_bicubic():
    const = sg.nn.functional.interpolate(sg.full((1, 1, 3, 4), 2.5), size=(7, 5), mode="bicubic")
    np.testing.assert_allclose(const.numpy(), 2.5, rtol=1e-6)  # (the four weights sum to 1)
    with pytest.raises(NotImplementedError, match="bicubic mode needs 4D input"):
        sg.nn.functional.interpolate(sg.ones(1, 1, 4), size=8, mode="bicubic")
    torch = pytest.importorskip("torch")
    rs = np.random.RandomState(0)
    for shape, kw in [((1, 2, 5, 7), dict(size=(9, 4))), ((2, 1, 4, 4), dict(scale_factor=2.5)),
                      ((1, 1, 6, 5), dict(size=(3, 11), align_corners=True)), ((1, 3, 8, 8), dict(scale_factor=0.5))]:
        a = rs.randn(*shape).astype(np.float32)
        t, s = torch.tensor(a, requires_grad=True), sg.tensor(a, requires_grad=True)
        yt = torch.nn.functional.interpolate(t, mode="bicubic", **kw)
        ys = sg.nn.functional.interpolate(s, mode="bicubic", **kw)
        g = rs.randn(*yt.shape).astype(np.float32)
        (yt * torch.tensor(g)).sum().backward()
        (ys * sg.tensor(g)).sum().backward()
        np.testing.assert_allclose(ys.detach().numpy(), yt.detach().numpy(), atol=1e-5)
        np.testing.assert_allclose(s.grad.numpy(), t.grad.numpy(), atol=1e-5)


def test_signed_zeros_as_pytorch():
    # one sample with a zero loss: PyTorch's sum starts at +0, so the loss prints 0., not -0.
    loss = nn.CrossEntropyLoss()(sg.tensor([[30.0, 0.0, 0.0]], requires_grad=True), sg.tensor([0]))
    assert str(loss) == "tensor(0., grad_fn=<NllLossBackward0>)"
    assert f"{F.nll_loss(sg.tensor([[0.0, -5.0]]), sg.tensor([0]), reduction='sum').item():>7f}" == "0.000000"
    # relu keeps -0. and NaN
    out = F.relu(sg.tensor([-0.0, float("nan"), -2.0, 3.0])).numpy()
    assert math.copysign(1, out[0]) == -1 and math.isnan(out[1]) and out[2:].tolist() == [0.0, 3.0]


def test_cosine_similarity_can_be_differentiated_twice():
    torch = _torch()
    a = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [1e-9, 0.0, 0.0]]
    b = [[2.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 2.0, 0.5]]
    results = []
    for lib, fn in ((sg, F.cosine_similarity), (torch, torch.nn.functional.cosine_similarity)):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(fn(x, lib.tensor(b, dtype=lib.float64)).pow(2).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-12)


def test_sdpa_kernel_accepts_pytorchs_backends():
    A = sg.nn.attention
    q = sg.ones(1, 2, 3, 4)
    with A.sdpa_kernel([A.SDPBackend.MATH, A.SDPBackend.FLASH_ATTENTION]):
        assert F.scaled_dot_product_attention(q, q, q).shape == (1, 2, 3, 4)
    assert repr(A.SDPBackend.MATH) == "<SDPBackend.MATH: 0>" and str(A.SDPBackend.MATH) == "SDPBackend.MATH"
    with pytest.raises(AssertionError, match="Backend must be an instance of SDPBackend or a list of SDPBackend "
                                             "instances, got str"):
        with A.sdpa_kernel("math"):
            pass
