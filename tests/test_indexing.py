"""Indexing against PyTorch semantics: which index makes a view and which a copy, the
grad_fn of each, and the errors of assignments into leaves that require grad.

Expected values and messages are literals taken from PyTorch 2.13 (CPU), so these
tests do not need torch. Setting ``SRCGRAD_TEST_BACKEND=torch`` runs the same file
against real PyTorch, to check the literals themselves (tests of srcgrad internals
are skipped then).
"""

from __future__ import annotations

import importlib
import os

import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))
IS_SRCGRAD = torch.__name__ == "srcgrad"
srcgrad_only = pytest.mark.skipif(not IS_SRCGRAD, reason="srcgrad internals")

VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
LEAF = "a leaf Variable that requires grad is being used in an in-place operation."


# PyTorch copies into a view of the tensor where some index makes one (ints, 0-dim integer
# tensors, slices that do not cover their dim, None), else into the tensor itself (slices over
# whole dims, `...`, and index tensors or masks alone: index_put_).
@pytest.mark.parametrize("index, message", [
    (lambda w: 0, VIEW_OF_LEAF),
    (lambda w: -1, VIEW_OF_LEAF),
    (lambda w: slice(1, None), VIEW_OF_LEAF),
    (lambda w: slice(-3, None), VIEW_OF_LEAF),  # (the whole dim, but PyTorch skips only slices from 0)
    (lambda w: None, VIEW_OF_LEAF),
    (lambda w: torch.tensor(0), VIEW_OF_LEAF),
    (lambda w: torch.tensor(0, dtype=torch.int32), VIEW_OF_LEAF),
    (lambda w: slice(None), LEAF),
    (lambda w: slice(0, 3), LEAF),
    (lambda w: slice(0, 5), LEAF),
    (lambda w: Ellipsis, LEAF),
    (lambda w: torch.tensor([0]), LEAF),
    (lambda w: torch.tensor([0, 1]), LEAF),
    (lambda w: [0, 1], LEAF),
    (lambda w: w > 0, LEAF),
    (lambda w: torch.tensor([True, False, True]), LEAF),
])
def test_assignment_into_a_leaf_names_a_view_where_pytorch_makes_one(index, message):
    w = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        w[index(w)] = 5
    assert str(info.value) == message
    assert w.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("index, message", [
    ((0, 1), VIEW_OF_LEAF),
    ((slice(None), torch.tensor(0)), VIEW_OF_LEAF),
    ((torch.tensor(0), torch.tensor(1)), VIEW_OF_LEAF),
    ((torch.tensor(0), torch.tensor([1])), VIEW_OF_LEAF),   # selects a row first
    ((0, torch.tensor([0, 1])), VIEW_OF_LEAF),
    ((slice(1, None), torch.tensor([0])), VIEW_OF_LEAF),
    ((None, torch.tensor([0])), VIEW_OF_LEAF),
    ((slice(None), torch.tensor([0, 1])), LEAF),
    ((slice(0, 2), torch.tensor([0])), LEAF),
    ((Ellipsis, torch.tensor([0])), LEAF),
    ((torch.tensor([1]), torch.tensor([0])), LEAF),
    ((slice(None), slice(None)), LEAF),
])
def test_assignment_into_a_leaf_mixing_basic_and_advanced_indices(index, message):
    w = torch.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        w[index] = 5
    assert str(info.value) == message


@pytest.mark.parametrize("index, message", [
    (0, VIEW_OF_LEAF), (slice(1, None), VIEW_OF_LEAF), (lambda: torch.tensor(0), VIEW_OF_LEAF),
    (lambda: torch.tensor([0, 1]), LEAF), ("mask", LEAF),
])
def test_augmented_assignment_through_an_index_of_a_leaf(index, message):
    w = torch.ones(3, requires_grad=True)
    i = w > 0 if index == "mask" else index() if callable(index) else index
    with pytest.raises(RuntimeError) as info:
        w[i] += 1
    assert str(info.value) == message


def test_in_place_ops_on_views_of_a_leaf_name_the_view():
    w = torch.ones(3, requires_grad=True)
    for view in (lambda: w[torch.tensor(0)], lambda: w[...], lambda: w[:], lambda: w.expand(3), lambda: w.t(),
                 lambda: w.reshape(3), lambda: w.view(3)):
        with pytest.raises(RuntimeError) as info:
            view().add_(1)
        assert str(info.value) == VIEW_OF_LEAF
    with pytest.raises(RuntimeError) as info:
        w[torch.tensor(0)].fill_(1)
    assert str(info.value) == VIEW_OF_LEAF
    w[torch.tensor([0])].fill_(1)  # advanced indexing copies: nothing to guard
    assert w.tolist() == [1.0, 1.0, 1.0]


def test_assignments_into_a_leaf_under_no_grad_write():
    w = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        w[torch.tensor(0)] = 5
        w[1:] += 1
        w[w > 4] = 7
    assert w.tolist() == [7.0, 2.0, 2.0] and w.is_leaf and w.requires_grad


@pytest.mark.parametrize("index, grad_fn, grad", [
    (0, "torch::autograd::CopySlices", [0.0, 1.0, 1.0]),
    (lambda: torch.tensor(0), "torch::autograd::CopySlices", [0.0, 1.0, 1.0]),
    (slice(1, None), "torch::autograd::CopySlices", [1.0, 0.0, 0.0]),
    (None, "torch::autograd::CopySlices", [0.0, 0.0, 0.0]),
    (lambda: torch.tensor([0]), "IndexPutBackward0", [0.0, 1.0, 1.0]),
    (lambda: torch.tensor([0, 1]), "IndexPutBackward0", [0.0, 0.0, 1.0]),
    ([0, 1], "IndexPutBackward0", [0.0, 0.0, 1.0]),
])
def test_assignment_grad_fn_and_gradient(index, grad_fn, grad):
    w = torch.ones(3, requires_grad=True)
    y = w * 1
    y[index() if callable(index) else index] = 5
    assert y.grad_fn.name() == grad_fn
    y.sum().backward()
    assert w.grad.tolist() == grad


def test_assignment_through_basic_and_advanced_indices_is_copy_slices():
    w = torch.arange(1.0, 7.0).reshape(2, 3).requires_grad_()
    y = w * 1
    y[1:, torch.tensor([0, 2])] = y[0, :2] * 3
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    (y * torch.arange(1.0, 7.0).reshape(2, 3)).sum().backward()
    assert w.grad.tolist() == [[13.0, 20.0, 3.0], [0.0, 5.0, 0.0]]
    y = (w * 1)
    y[:, torch.tensor([0, 2])] = 0
    assert y.grad_fn.name() == "IndexPutBackward0"


@pytest.mark.parametrize("index, grad_fn, shape", [
    (lambda: 0, "SelectBackward0", (3,)),
    (lambda: torch.tensor(1), "SelectBackward0", (3,)),
    (lambda: (slice(None), torch.tensor(2)), "SelectBackward0", (2,)),
    (lambda: (0, slice(None)), "SelectBackward0", (3,)),
    (lambda: (slice(None), 0), "SelectBackward0", (2,)),
    (lambda: (slice(1, None), 0), "SelectBackward0", (1,)),
    (lambda: (0, slice(1, None)), "SliceBackward0", (2,)),
    (lambda: (torch.tensor(0), slice(1, None)), "SliceBackward0", (2,)),
    (lambda: slice(None), "SliceBackward0", (2, 3)),
    (lambda: slice(0, 2), "SliceBackward0", (2, 3)),
    (lambda: Ellipsis, "AliasBackward0", (2, 3)),
    (lambda: (slice(None), slice(None)), "AliasBackward0", (2, 3)),
    (lambda: (slice(0, 2), slice(0, 3)), "AliasBackward0", (2, 3)),
    (lambda: (slice(0, 9), slice(None)), "AliasBackward0", (2, 3)),
    (lambda: (slice(-2, None), slice(None)), "SliceBackward0", (2, 3)),
    (lambda: (slice(None),), "AliasBackward0", (2, 3)),
    (lambda: None, "UnsqueezeBackward0", (1, 2, 3)),
    (lambda: (Ellipsis, None), "UnsqueezeBackward0", (2, 3, 1)),
    (lambda: (0, None), "UnsqueezeBackward0", (1, 3)),
    (lambda: (torch.tensor(1), None), "UnsqueezeBackward0", (1, 3)),
    (lambda: (None, slice(1, None), None, 0), "SelectBackward0", (1, 1, 1)),
    (lambda: torch.tensor([0, 1]), "IndexBackward0", (2, 3)),
    (lambda: (torch.tensor(0), torch.tensor([1])), "IndexBackward0", (1,)),
])
def test_getitem_grad_fn_is_the_last_op_pytorch_applies(index, grad_fn, shape):
    w = torch.arange(1.0, 7.0).reshape(2, 3).requires_grad_()
    out = w[index()]
    assert out.grad_fn.name() == grad_fn and tuple(out.shape) == shape and out is not w
    weights = torch.arange(1.0, 1.0 + out.numel()).reshape(out.shape)
    (out * weights).sum().backward()
    expected = torch.zeros(2, 3)
    with torch.no_grad():
        expected[index()] = weights
    assert w.grad.tolist() == expected.tolist()


def test_a_0_dim_integer_tensor_index_is_a_view_as_an_int():
    x = torch.zeros(2, 3)
    x[torch.tensor(1)].fill_(5)
    x[0][torch.tensor(2)] += 1
    assert x.tolist() == [[0.0, 0.0, 1.0], [5.0, 5.0, 5.0]]
    w = torch.arange(1.0, 7.0).reshape(2, 3).requires_grad_()
    y = w * 1
    y[torch.tensor(1)].mul_(5)
    assert y.grad_fn.name() == "torch::autograd::CopySlices"
    (y * torch.arange(1.0, 7.0).reshape(2, 3)).sum().backward()
    assert w.grad.tolist() == [[1.0, 2.0, 3.0], [20.0, 25.0, 30.0]]


def test_index_select_with_a_0_dim_index_keeps_the_dim():
    x = torch.arange(6.0).reshape(2, 3)
    assert x.index_select(1, torch.tensor(2)).tolist() == [[2.0], [5.0]]
    assert x.index_select(0, torch.tensor([1, 0])).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]


@srcgrad_only
def test_a_0_dim_bool_index_is_refused_clearly():
    with pytest.raises(IndexError, match="srcgrad does not support indexing with a 0-dim bool tensor"):
        torch.ones(3)[torch.tensor(True)]


@srcgrad_only
def test_an_index_that_changes_nothing_is_the_tensor_itself_without_grad():
    x = torch.ones(2, 3)
    assert x[...] is x and x[:] is x and x[:, :] is x
    y = x[0:2]  # a slice op all the same: a view, whose in-place changes write through
    y[0, 0] = 7
    assert x[0, 0].item() == 7


@pytest.mark.parametrize("index, select_first, rest", [
    ((slice(None), 0, slice(None), [0, 1]), (slice(None), 0), (slice(None), slice(None), [0, 1])),
    ((0, slice(None), [2, 0]), (0,), (slice(None), [2, 0])),
    ((0, [1, 1], slice(1, 3), -1), (0, slice(None), slice(None), -1), ([1, 1], slice(1, 3))),
    ((Ellipsis, 1, [0, 3]), (Ellipsis, 1, slice(None)), (Ellipsis, [0, 3])),
    ((None, 1, slice(None), [0, 2]), (1,), (None, slice(None), [0, 2])),
])
def test_integers_mixed_with_index_tensors_select_first_as_pytorch(index, select_first, rest):
    # NumPy (and JAX) would broadcast the integer with the index tensor and, across a slice,
    # put the indexed dims first; PyTorch selects first and indexes the view.
    import numpy as np
    x = np.arange(120.0).reshape(2, 3, 4, 5)
    want = x[select_first][rest]
    t = torch.tensor(x, requires_grad=True)
    got = t[tuple(torch.tensor(i) if isinstance(i, list) else i for i in index)]
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.detach().numpy(), want)
    got.sum().backward()
    grad = np.zeros_like(x)
    np.add.at(grad[select_first], rest, 1.0)  # (a view of grad: repeated indices add up)
    np.testing.assert_array_equal(t.grad.numpy(), grad)
    # assignment writes into the view the integers select
    y = torch.tensor(x) * 1
    y[tuple(torch.tensor(i) if isinstance(i, list) else i for i in index)] = -1.0
    expect = x.copy()
    expect[select_first][rest] = -1.0
    np.testing.assert_array_equal(y.numpy(), expect)



def test_a_python_range_indexes_as_a_list_does():
    # "What is torch.nn really?": -input[range(target.shape[0]), target].mean()
    x = torch.arange(12.0).view(4, 3)
    t = torch.tensor([0, 2, 1, 0])
    assert x[range(4), t].tolist() == [0.0, 5.0, 7.0, 9.0]
    assert x[range(2)].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    y = x.clone()
    y[range(4), t] = -1.0
    assert y[range(4), t].tolist() == [-1.0] * 4 and y.sum().item() == x.sum().item() - 21.0 - 4.0
