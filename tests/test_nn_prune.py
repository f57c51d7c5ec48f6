"""srcgrad.nn.utils.prune: PyTorch's pruning tutorial, with its masks, reparametrisation, hooks,
containers, global pruning, removal and errors (expectations from PyTorch 2.13 on the same weights)."""

from __future__ import annotations

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad.nn.utils import prune


def _set_weights(model):
    """Deterministic weights of distinct magnitudes (PyTorch's random initialisation is not ours)."""
    with sg.no_grad():
        for p in model.parameters():
            n = p.numel()
            values = np.linspace(-1, 1, n) ** 3 * (np.arange(n) % 7 + 1)
            p.copy_(sg.tensor(values.reshape(tuple(p.shape)).astype(np.float32)))
    return model


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.fc1 = nn.Conv2d(1, 6, 3), nn.Conv2d(6, 16, 3), nn.Linear(16 * 5 * 5, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
        return self.fc1(x.view(-1, 16 * 5 * 5))


def test_the_tutorials_steps():
    model = _set_weights(LeNet())
    conv = model.conv1
    prune.l1_unstructured(conv, name="weight", amount=0.3)
    assert [n for n, _ in conv.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in conv.named_buffers()] == ["weight_mask"]
    assert [type(h).__name__ for h in conv._forward_pre_hooks.values()] == ["L1Unstructured"]
    assert int(conv.weight_mask.sum()) == 38 and float(conv.weight.detach().abs().sum()) == pytest.approx(51.69969)
    prune.l1_unstructured(conv, name="bias", amount=3)
    assert conv.bias_mask.tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    prune.ln_structured(conv, name="weight", amount=0.5, n=2, dim=0)  # (iterative: a PruningContainer)
    assert conv.weight_mask.sum((1, 2, 3)).tolist() == [9.0, 9.0, 0.0, 0.0, 0.0, 9.0]
    (container,) = [h for h in conv._forward_pre_hooks.values() if h._tensor_name == "weight"]
    assert isinstance(container, prune.PruningContainer)
    assert [type(m).__name__ for m in container] == ["L1Unstructured", "LnStructured"]
    assert prune.is_pruned(model)
    prune.remove(conv, "weight")
    assert [n for n, _ in conv.named_parameters()] == ["bias_orig", "weight"]
    assert [n for n, _ in conv.named_buffers()] == ["bias_mask"]
    assert float(conv.weight.detach().abs().sum()) == pytest.approx(46.71485)


def test_global_pruning_and_gradients_through_the_mask():
    model = _set_weights(LeNet())
    params = ((model.conv1, "weight"), (model.conv2, "weight"), (model.fc1, "weight"))
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.2)
    assert [int((getattr(m, n) == 0).sum()) for m, n in params] == [11, 172, 801]
    model(sg.ones(1, 1, 28, 28)).sum().backward()
    grad, mask = model.fc1.weight_orig.grad, model.fc1.weight_mask
    assert grad.abs().sum().item() > 0 and grad[mask == 0].abs().sum().item() == 0.0
    t = sg.tensor([1.0, -3.0, 2.0, 0.5])
    assert prune.L1Unstructured(amount=0.5).prune(t).tolist() == [0.0, -3.0, 2.0, 0.0]
    assert float(prune.random_unstructured(nn.Linear(4, 5), "weight", amount=7).weight_mask.sum()) == 13.0
    kept = prune.random_structured(nn.Linear(4, 6), "weight", amount=2, dim=0).weight_mask.sum(1)
    assert sorted(kept.tolist()) == [0.0, 0.0, 4.0, 4.0, 4.0, 4.0]
    custom = prune.custom_from_mask(nn.Linear(2, 1), "bias", mask=sg.tensor([0.0]))
    assert custom.bias.tolist() == [0.0] and not prune.is_pruned(nn.Linear(1, 1))
    identity = prune.identity(nn.Linear(2, 2), "weight")
    assert identity.weight_mask.tolist() == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("call,error,message", [
    (lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=1.5), ValueError,
     r"amount=1.5 should either be a float in the range \[0, 1\] or a non-negative integer"),
    (lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount=5), ValueError,
     "amount=5 should be smaller than the number of parameters to prune=4"),
    (lambda: prune.ln_structured(nn.Linear(2, 2), "bias", amount=1, n=2, dim=0), ValueError,
     "Structured pruning can only be applied to multidimensional tensors"),
    (lambda: prune.remove(nn.Linear(2, 2), "weight"), ValueError,
     "Parameter 'weight' of module .* has to be pruned before pruning can be removed"),
    (lambda: prune.l1_unstructured(nn.Linear(2, 2), "weight", amount="a"), TypeError,
     "Invalid type for amount: a. Must be int or float."),
    (lambda: prune.global_unstructured([(nn.Linear(2, 2), "weight")], prune.RandomStructured, amount=1),
     TypeError, 'Only "unstructured" PRUNING_TYPE supported'),
])
def test_errors_read_like_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_failed_pruning_leaves_the_parameter_as_it_was():
    lin = nn.Linear(2, 2)
    with pytest.raises(ValueError):
        prune.l1_unstructured(lin, "weight", amount=9)
    assert [n for n, _ in lin.named_parameters()] == ["bias", "weight"] and not prune.is_pruned(lin)  # (as PyTorch)
