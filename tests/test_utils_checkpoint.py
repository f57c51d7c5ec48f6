"""``torch.utils.checkpoint`` against PyTorch 2.13: gradients equal to the computation without
checkpointing (functions, parameters, nn.Sequential through checkpoint_sequential, dropout with
the RNG state preserved), the use_reentrant warning and argument errors.

``SRCGRAD_TEST_BACKEND=torch`` runs the file against PyTorch itself.
"""

from __future__ import annotations

import importlib
import os
import warnings

import numpy as np
import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))
cp = importlib.import_module(torch.__name__ + ".utils.checkpoint")
nn = torch.nn

WARN = ("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting in PyTorch 2.9, "
        "calling checkpoint without use_reentrant will raise an exception.")


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _f(x):
    return (x.exp() * x).sin()


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_function_gradient(use_reentrant):
    a = torch.tensor([0.1, 0.2], requires_grad=True)
    y = cp.checkpoint(_f, a, use_reentrant=use_reentrant)
    assert y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.2083, 1.4222], atol=1e-4)
    b = torch.tensor([0.1, 0.2], requires_grad=True)
    _f(b).sum().backward()
    _close(a.grad, b.grad)


def test_missing_use_reentrant_warns_and_defaults_to_reentrant():
    a = torch.tensor([0.1, 0.2], requires_grad=True)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = cp.checkpoint(_f, a)
    assert any(WARN in str(x.message) for x in w)
    y.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.2083, 1.4222], atol=1e-4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cp.checkpoint_sequential([_f], 1, a)
    assert any("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be passed "
               "explicitly." in str(x.message) for x in w)


def _model(dropout: bool = False):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.3) if dropout else nn.Identity(),
                         nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))


def _grads(model, x, run):
    for p in model.parameters():
        p.grad = None
    x.grad = None
    torch.manual_seed(1)
    out = run()
    out.pow(2).sum().backward()
    return out, [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("segments", [1, 2, 3])
@pytest.mark.parametrize("dropout", [False, True])
def test_checkpoint_sequential_matches_plain_model(use_reentrant, segments, dropout):
    model = _model(dropout)
    x = torch.randn(5, 4, requires_grad=True)
    ref_out, ref = _grads(model, x, lambda: model(x))
    out, got = _grads(model, x, lambda: cp.checkpoint_sequential(model, segments, x, use_reentrant=use_reentrant))
    _close(out, ref_out)
    for g, r in zip(got, ref):
        _close(g, r, 1e-5)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_checkpoint_module_parameters_get_gradients(use_reentrant):
    model = _model()
    x = torch.randn(5, 4, requires_grad=True)
    _, ref = _grads(model, x, lambda: model(x))
    _, got = _grads(model, x, lambda: cp.checkpoint(model, x, use_reentrant=use_reentrant))
    for g, r in zip(got, ref):
        _close(g, r, 1e-5)


def test_non_reentrant_reaches_captured_parameters_through_autograd_grad():
    model = _model()
    x = torch.randn(5, 4)  # the input itself does not require grad
    ref = torch.autograd.grad(model(x).sum(), list(model.parameters()))
    got = torch.autograd.grad(cp.checkpoint(model, x, use_reentrant=False).sum(), list(model.parameters()))
    for g, r in zip(got, ref):
        _close(g, r, 1e-5)


def test_non_reentrant_keyword_arguments_and_create_graph():
    w = torch.tensor([0.5, -0.3], requires_grad=True)
    x = torch.tensor([0.2, 0.7])

    def f(t, scale=None):
        return ((t * w).sin() * scale).sum()

    s = torch.tensor(2.0, requires_grad=True)
    g_ref = torch.autograd.grad(f(x, scale=s), (w, s), create_graph=True)
    g = torch.autograd.grad(cp.checkpoint(f, x, scale=s, use_reentrant=False), (w, s), create_graph=True)
    for a, b in zip(g, g_ref):
        _close(a, b)
    _close(torch.autograd.grad(g[0].sum(), w)[0], torch.autograd.grad(g_ref[0].sum(), w)[0])


def test_reentrant_rejects_keyword_arguments():
    with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
        cp.checkpoint(lambda t, scale=1: t * scale, torch.ones(2, requires_grad=True), scale=2, use_reentrant=True)


def test_reentrant_without_inputs_requiring_grad_warns():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = cp.checkpoint(_f, torch.ones(2), use_reentrant=True)
    assert any("None of the inputs have requires_grad=True. Gradients will be None" in str(x.message) for x in w)
    assert not y.requires_grad


def test_multiple_outputs():
    a = torch.tensor([0.1, 0.2], requires_grad=True)
    for use_reentrant in (True, False):
        a.grad = None
        p, q = cp.checkpoint(lambda t: (t * 2, t.exp()), a, use_reentrant=use_reentrant)
        (p * q).sum().backward()
        _close(a.grad, (2 * a.exp() + 2 * a * a.exp()))
