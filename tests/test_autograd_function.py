"""Custom ``autograd.Function`` against PyTorch 2.13: setup_context binding, trailing None
gradients, freeing saved tensors, save_for_backward checks, mark_non_differentiable on an
input, legacy instantiation and the legacy classes.

``SRCGRAD_TEST_BACKEND=torch`` runs the file against PyTorch itself.
"""

from __future__ import annotations

import importlib
import os
import warnings

import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))
IS_SRCGRAD = torch.__name__ == "srcgrad"
function_mod = importlib.import_module(torch.__name__ + ".autograd.function")
Function = torch.autograd.Function

BACKWARD_TWICE = "Trying to backward through the graph a second time"
class Scale(Function):
    @staticmethod
    def forward(x, k=2.0):
        return x * k

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, k = inputs
        ctx.k = k
        ctx.seen = (len(inputs), ctx.needs_input_grad)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.k, None


def test_setup_context_receives_forward_defaults():
    a = torch.tensor([1., 3.], requires_grad=True)
    y = Scale.apply(a)
    y.sum().backward()
    assert a.grad.tolist() == [2., 2.]


def test_setup_context_binds_keywords_positionally():
    a = torch.tensor([1., 3.], requires_grad=True)
    Scale.apply(a, k=3.0).sum().backward()
    assert a.grad.tolist() == [3., 3.]


def test_setup_context_needs_input_grad_covers_defaults():
    seen = []

    class G(Function):
        @staticmethod
        def forward(x, y=None, k=2.0):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            seen.append((len(inputs), ctx.needs_input_grad))

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    a = torch.tensor([1., 3.], requires_grad=True)
    G.apply(a).sum().backward()
    assert seen == [(3, (True, False, False))]


def test_backward_may_return_extra_trailing_nones():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    a = torch.tensor([1., 2.], requires_grad=True)
    F.apply(a).sum().backward()
    assert a.grad.tolist() == [2., 2.]


def test_backward_surplus_non_none_gradient_raises():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    a = torch.tensor([1., 2.], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"returned an incorrect number of gradients \(expected 1, got 2\)"):
        F.apply(a).sum().backward()


class Saves(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


def test_second_backward_through_saved_tensors_raises():
    a = torch.tensor([1., 2.], requires_grad=True)
    c = Saves.apply(a)
    c.sum().backward()
    with pytest.raises(RuntimeError, match=BACKWARD_TWICE):
        c.sum().backward()


def test_retain_graph_keeps_saved_tensors():
    a = torch.tensor([1., 2.], requires_grad=True)
    c = Saves.apply(a)
    c.sum().backward(retain_graph=True)
    c.sum().backward()
    assert a.grad.tolist() == [2., 4.]


@pytest.mark.skipif(not IS_SRCGRAD, reason="srcgrad's ctx.free()")
def test_freed_ctx_saved_tensors_raises():
    ctx = function_mod.FunctionCtx()
    ctx.save_for_backward(torch.ones(2))
    assert len(ctx.saved_tensors) == 1
    ctx.free()
    with pytest.raises(RuntimeError, match=BACKWARD_TWICE):
        _ = ctx.saved_tensors


def test_save_for_backward_rejects_non_tensors():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, None, 3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but argument 2 is of type int"):
        F.apply(torch.ones(2, requires_grad=True))


def test_save_for_backward_accepts_none():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, None)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            x, n = ctx.saved_tensors
            assert n is None
            return g * x

    a = torch.tensor([1., 2.], requires_grad=True)
    F.apply(a).sum().backward()
    assert a.grad.tolist() == [1., 2.]


def test_mark_non_differentiable_input_returned_unchanged_is_a_new_alias():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_non_differentiable(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 1
    y = F.apply(b)
    assert y is not b
    assert not y.requires_grad
    assert y.is_leaf
    y.add_(1)  # shares b's storage
    assert b.tolist() == [2., 3.]


def test_mark_non_differentiable_input_among_several_outputs():
    class F(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_non_differentiable(x)
            return x, x * 2

        @staticmethod
        def backward(ctx, g, h):
            return h * 2

    a = torch.tensor([1., 2.], requires_grad=True)
    b = a * 1
    y, z = F.apply(b)
    assert y is not b and not y.requires_grad and z.requires_grad
    z.sum().backward()
    assert a.grad.tolist() == [2., 2.]


def test_instantiating_a_function_warns_and_calling_it_raises():
    class Legacy(Function):
        def forward(self, x):
            return x

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        f = Legacy()
    assert any(issubclass(x.category, DeprecationWarning) and "should not be instantiated" in str(x.message)
               for x in w)
    with pytest.raises(RuntimeError, match="Legacy autograd function with non-static forward method is deprecated"):
        f(torch.ones(2))


def test_legacy_classes_exist():
    assert issubclass(function_mod.InplaceFunction, Function)
    assert issubclass(function_mod.NestedIOFunction, Function)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert function_mod.InplaceFunction(inplace=True).inplace is True
    assert hasattr(function_mod.BackwardCFunction, "apply")
    assert hasattr(Function, "jvp") and hasattr(Function, "vmap")


def test_ctx_is_a_backward_c_function():
    seen = []

    class F(Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(isinstance(ctx, function_mod.BackwardCFunction))
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    F.apply(torch.ones(2, requires_grad=True))
    assert seen == [True]


def test_a_custom_functions_grad_fn_is_named_as_pytorch_names_it():
    class LinearFunction(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = LinearFunction.apply(torch.ones(2, requires_grad=True))
    assert repr(y.grad_fn).startswith(f"<{torch.__name__}.autograd.function.LinearFunctionBackward object at 0x")
    assert y.grad_fn.name() == "LinearFunctionBackward"
    assert repr(y).endswith("grad_fn=<LinearFunctionBackward>)")
    assert repr((y * 2).grad_fn).startswith("<MulBackward0 object at 0x")


# -- from the "Extending torch.autograd" docs: save_for_forward, vjp, once_differentiable --------


class _SquareFwd(Function):
    """Saves different tensors for backward and for forward mode (PyTorch's docstring example)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x * 2)
        return x * x

    @staticmethod
    def vjp(ctx, g):  # (PyTorch's other name for backward)
        (x,) = ctx.saved_tensors
        return 2 * x * g

    @staticmethod
    def jvp(ctx, t):
        (two_x,) = ctx.saved_tensors  # save_for_forward's, inside jvp
        return two_x * t


def test_vjp_is_another_name_for_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    _SquareFwd.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]

    class Both(_SquareFwd):
        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="Implementing both 'backward' and 'vjp'"):
        Both.apply(x).sum().backward()


def test_save_for_forward_is_what_jvp_reads_and_has_no_tangent():
    fwAD = torch.autograd.forward_ad
    with fwAD.dual_level():
        x = fwAD.make_dual(torch.tensor(4.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
        tangent = fwAD.unpack_dual(_SquareFwd.apply(x)).tangent
        assert tangent.item() == 8.0
        # what forward computed (x * 2) ran without forward AD: the tangent is a plain tensor
        assert fwAD.unpack_dual(tangent).tangent is None
    with pytest.raises(AssertionError, match="save_for_forward expects all arguments to be tensors"):
        class Bad(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_forward(3)
                return x * 1

            @staticmethod
            def backward(ctx, g):
                return g
        Bad.apply(torch.ones(1, requires_grad=True))


class _OnceSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @function_mod.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


def test_once_differentiable_results_raise_when_differentiated_again():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    go = torch.ones(2, requires_grad=True)
    (g,) = torch.autograd.grad(_OnceSquare.apply(x), x, grad_outputs=go, create_graph=True)
    assert g.requires_grad and type(g.grad_fn).__name__ == "Error"
    assert g.grad_fn.name() == "torch::autograd::Error"
    assert repr(g) == "tensor([2., 4.], grad_fn=<Error>)"
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                           "@once_differentiable"):
        g.sum().backward()
    # gradients that do not require grad: a plain result, as before
    (g2,) = torch.autograd.grad(_OnceSquare.apply(x).sum(), x, create_graph=True)
    assert not g2.requires_grad and g2.grad_fn is None and g2.tolist() == [2.0, 4.0]


def test_mark_dirty_is_an_inplace_change_in_the_saved_value_error():
    class AddOne(Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    a = torch.tensor([1.0, 2.0], requires_grad=True).clone()
    b = a * a
    AddOne.apply(a)
    assert a._version == 2
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of AddOne, is at "
                                           r"version 2; expected version 0 instead"):
        b.sum().backward()
