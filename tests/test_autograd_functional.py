"""``autograd.functional`` against PyTorch 2.13: grad mode (no_grad / inference_mode around the
call) and argument validation with PyTorch's messages.

``SRCGRAD_TEST_BACKEND=torch`` runs the file against PyTorch itself.
"""

from __future__ import annotations

import importlib
import os

import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))
AF = importlib.import_module(torch.__name__ + ".autograd.functional")


def _cube_sum(x):
    return (x ** 3).sum()


IS_SRCGRAD = torch.__name__ == "srcgrad"


# PyTorch 2.13 itself returns zeros inside inference_mode (its enable_grad does not record
# there, review item #20); srcgrad's enable_grad does record inside inference_mode, so the
# functional API gives the true derivatives there too.
@pytest.mark.parametrize("mode", ["no_grad", "decorator",
                                  pytest.param("inference_mode", marks=pytest.mark.skipif(
                                      not IS_SRCGRAD, reason="PyTorch gives zeros inside inference_mode"))])
def test_functional_api_works_with_grad_disabled(mode):
    x = torch.tensor([1., 2.])
    v = torch.tensor([1., 1.])

    def run():
        return (AF.jacobian(lambda t: t ** 2, x), AF.hessian(_cube_sum, x), AF.vjp(lambda t: t ** 2, x, v)[1],
                AF.jvp(lambda t: t ** 2, x, v)[1], AF.hvp(_cube_sum, x, v)[1], AF.vhp(_cube_sum, x, v)[1])

    if mode == "no_grad":
        with torch.no_grad():
            res = run()
    elif mode == "inference_mode":
        with torch.inference_mode():
            res = run()
    else:
        res = torch.no_grad()(run)()
    j, h, vj, jv, hv, vh = res
    assert j.tolist() == [[2., 0.], [0., 4.]]
    assert h.tolist() == [[6., 0.], [0., 12.]]
    assert vj.tolist() == [2., 4.]
    assert jv.tolist() == [2., 4.]
    assert hv.tolist() == [6., 12.]
    assert vh.tolist() == [6., 12.]
    assert not any(t.requires_grad for t in res)
    assert torch.is_grad_enabled() is True


def test_create_graph_under_no_grad_still_connects():
    x = torch.tensor([1., 2.], requires_grad=True)
    with torch.no_grad():
        j = AF.jacobian(lambda t: t ** 3, x, create_graph=True)
    assert j.requires_grad
    j.sum().backward()
    assert x.grad.tolist() == [6., 12.]


def test_list_inputs_raise_type_error():
    with pytest.raises(TypeError, match=r"The inputs given to jacobian must be either a Tensor or a tuple of Tensors "
                                        r"but the given inputs has type <class 'list'>\."):
        AF.jacobian(lambda a, b: a * b, [torch.ones(2), torch.ones(2)])
    with pytest.raises(TypeError, match=r"but the value at index 1 has type <class 'float'>\."):
        AF.vjp(lambda a, b: a * b, (torch.ones(2), 2.0), torch.ones(2))


def test_non_tensor_output_raises_type_error():
    with pytest.raises(TypeError, match=r"The outputs of the user-provided function given to jacobian must be either "
                                        r"a Tensor or a tuple of Tensors but the given outputs of the user-provided "
                                        r"function has type <class 'float'>\."):
        AF.jacobian(lambda x: 1.0, torch.ones(2))


NONE_INPUT = ("The vector v can only be None if the input to the user-provided function is a single Tensor with a "
              "single element.")


@pytest.mark.parametrize("fn", ["jvp", "hvp", "vhp"])
def test_v_none_needs_a_single_element_input(fn):
    with pytest.raises(RuntimeError, match=NONE_INPUT):
        getattr(AF, fn)(_cube_sum, torch.ones(2))


def test_v_none_allowed_for_single_element_input_and_output():
    _, g = AF.vjp(lambda x: x ** 2, torch.tensor([3.]))
    assert g.tolist() == [6.]
    _, jv = AF.jvp(lambda x: x ** 2, torch.tensor([3.]))
    assert jv.tolist() == [6.]
    _, hv = AF.hvp(_cube_sum, torch.tensor([3.]))
    assert hv.tolist() == [18.]


def test_vjp_v_none_needs_a_single_element_output():
    with pytest.raises(RuntimeError, match="The vector v can only be None if the user-provided function returns a "
                                           "single Tensor with a single element."):
        AF.vjp(lambda x: x ** 2, torch.ones(2))


def test_v_of_wrong_size():
    with pytest.raises(RuntimeError, match=r"v has invalid size: should be torch.Size\(\[2\]\) but got "
                                           r"torch.Size\(\[3\]\)\."):
        AF.vjp(lambda x: x ** 2, torch.ones(2), torch.ones(3))
    with pytest.raises(RuntimeError, match=r"Entry 1 in v has invalid size: should be torch.Size\(\[2\]\) but got "
                                           r"torch.Size\(\[3\]\)\."):
        AF.jvp(lambda a, b: a * b, (torch.ones(2), torch.ones(2)), (torch.ones(2), torch.ones(3)))
    with pytest.raises(RuntimeError, match=r"v is a tuple of invalid length: should be 2 but got 1\."):
        AF.jvp(lambda a, b: a * b, (torch.ones(2), torch.ones(2)), (torch.ones(2),))
    with pytest.raises(RuntimeError, match=r"The given v should contain a single Tensor\."):
        AF.vjp(lambda x: x ** 2, torch.ones(2), (torch.ones(2), torch.ones(2)))


def test_hessian_and_hvp_need_a_scalar_function():
    with pytest.raises(RuntimeError, match="The Tensor returned by the function given to hessian should contain a "
                                           "single element"):
        AF.hessian(lambda x: x ** 2, torch.ones(2))
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single Tensor"):
        AF.hvp(lambda x: (x.sum(), x.sum()), torch.ones(2), torch.ones(2))
    with pytest.raises(RuntimeError, match="The Tensor returned by the function given to vhp should contain a "
                                           "single element"):
        AF.vhp(lambda x: x ** 2, torch.ones(2), torch.ones(2))


def test_jacobian_strategy_checks():
    with pytest.raises(AssertionError, match='Expected strategy to be either "forward-mode" or "reverse-mode"'):
        AF.jacobian(lambda x: x * 2, torch.ones(2), strategy="foo")
    with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
        AF.jacobian(lambda x: x * 2, torch.ones(2), strategy="forward-mode")
    with pytest.raises(NotImplementedError, match='`create_graph=True` and `strategy="forward-mode"`'):
        AF.jacobian(lambda x: x * 2, torch.ones(2), strategy="forward-mode", vectorize=True, create_graph=True)
    with pytest.raises(RuntimeError, match="`strict=True` and `vectorized=True` are not supported together"):
        AF.jacobian(lambda x: x * 2, torch.ones(2), vectorize=True, strict=True)
    with pytest.raises(AssertionError, match='Expected strategy to be either "forward-mode" or "reverse-mode".'):
        AF.hessian(_cube_sum, torch.ones(2), outer_jacobian_strategy="foo")


def test_vectorize_and_forward_mode_give_the_same_jacobian():
    x = torch.tensor([1., 2.])
    for kw in ({"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}):
        assert AF.jacobian(lambda t: t ** 2, x, **kw).tolist() == [[2., 0.], [0., 4.]]


def test_tuple_structure_of_results():
    a, b = torch.tensor([1., 2.]), torch.tensor([3.])
    j = AF.jacobian(lambda x, y: (x * y, y * 2), (a, b))
    assert isinstance(j, tuple) and len(j) == 2 and isinstance(j[0], tuple) and len(j[0]) == 2
    assert j[0][1].tolist() == [[1.], [2.]]
    assert j[1][0].tolist() == [[0., 0.]]
    h = AF.hessian(lambda x, y: (x * x).sum() * y.sum(), (a, b))
    assert h[0][1].tolist() == [[2.], [4.]]
    out, vj = AF.vjp(lambda x, y: x * y, (a, b), torch.ones(2))
    assert isinstance(vj, tuple) and vj[1].tolist() == [3.]


def test_forward_mode_jacobian_returns_lists_as_pytorch():
    jacobian = AF.jacobian
    x, y = torch.ones(2), torch.ones(3)
    two = jacobian(lambda a, b: a.sum() * b, (x, y), vectorize=True, strategy="forward-mode")
    assert isinstance(two, list) and [tuple(j.shape) for j in two] == [(3, 2), (3, 3)]
    nested = jacobian(lambda a, b: (a * 2, b.sum()), (x, y), vectorize=True, strategy="forward-mode")
    assert isinstance(nested, list) and all(isinstance(row, list) for row in nested)
    reverse = jacobian(lambda a, b: (a * 2, b.sum()), (x, y), vectorize=True)
    assert isinstance(reverse, tuple) and all(isinstance(row, tuple) for row in reverse)
