"""Grad-mode switches against PyTorch 2.13: decorators on generator functions, ``clone()``,
the names under ``torch.autograd`` and the ``torch.autograd.grad_mode`` module path.

``SRCGRAD_TEST_BACKEND=torch`` runs the file against PyTorch itself.
"""

from __future__ import annotations

import importlib
import os
import warnings

import pytest

torch = importlib.import_module(os.environ.get("SRCGRAD_TEST_BACKEND", "srcgrad"))


@pytest.mark.parametrize("make", [lambda: torch.no_grad(), lambda: torch.set_grad_enabled(False),
                                  lambda: torch.inference_mode(), lambda: torch.autograd.no_grad()])
def test_disabling_decorator_applies_inside_each_step_of_a_generator(make):
    @make()
    def gen(x):
        for _ in range(2):
            yield (x * 2).requires_grad, torch.is_grad_enabled()

    x = torch.tensor([1., 2.], requires_grad=True)
    g = gen(x)
    assert torch.is_grad_enabled()
    assert next(g) == (False, False)
    assert torch.is_grad_enabled()  # restored between steps
    assert (x * 2).requires_grad
    assert list(g) == [(False, False)]
    assert torch.is_grad_enabled()


def test_bare_no_grad_decorator_on_generator():
    @torch.no_grad
    def gen(x):
        yield (x * 2).requires_grad

    x = torch.tensor([1., 2.], requires_grad=True)
    assert list(gen(x)) == [False]


def test_enable_grad_decorator_on_generator_inside_no_grad():
    @torch.enable_grad()
    def gen(x):
        while True:
            got = yield (x * 2).requires_grad
            if got == "stop":
                return

    x = torch.tensor([1., 2.], requires_grad=True)
    with torch.no_grad():
        g = gen(x)
        assert next(g) is True
        assert not torch.is_grad_enabled()
        assert g.send("again") is True
        with pytest.raises(StopIteration):
            g.send("stop")
        assert not torch.is_grad_enabled()


def test_generator_throw_and_close_run_inside_the_mode():
    seen = []

    @torch.no_grad()
    def gen():
        try:
            yield 1
        except ValueError:
            seen.append(("throw", torch.is_grad_enabled()))
            yield 2
        finally:
            seen.append(("close", torch.is_grad_enabled()))

    g = gen()
    assert next(g) == 1
    assert g.throw(ValueError) == 2
    g.close()
    assert seen == [("throw", False), ("close", False)]
    assert torch.is_grad_enabled()


def test_generator_return_value_is_kept():
    @torch.no_grad()
    def gen():
        yield 1
        return "done"

    def outer():
        result = yield from gen()
        yield result

    assert list(outer()) == [1, "done"]


def test_clone_gives_a_fresh_context_with_the_same_setting():
    c = torch.no_grad().clone()
    assert type(c) is torch.no_grad
    with c:
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    s = torch.set_grad_enabled(True).clone()
    with s:
        assert torch.is_grad_enabled()
    i = torch.inference_mode().clone()
    with i:
        assert torch.is_inference_mode_enabled()
    assert not torch.is_inference_mode_enabled()
    with torch.no_grad():
        e = torch.enable_grad().clone()
        with e:
            assert torch.is_grad_enabled()
        assert not torch.is_grad_enabled()


def test_grad_mode_names_under_autograd():
    assert torch.autograd.no_grad is torch.no_grad
    assert torch.autograd.enable_grad is torch.enable_grad
    assert torch.autograd.set_grad_enabled is torch.set_grad_enabled
    assert torch.autograd.inference_mode is torch.inference_mode
    gm = importlib.import_module(torch.__name__ + ".autograd.grad_mode")
    assert gm.no_grad is torch.no_grad
    assert gm.set_multithreading_enabled is not None

    @torch.autograd.no_grad()
    def f(x):
        return (x * 2).requires_grad

    assert f(torch.ones(2, requires_grad=True)) is False


def test_set_multithreading_enabled_restores():
    gm = importlib.import_module(torch.__name__ + ".autograd.grad_mode")
    with gm.set_multithreading_enabled(False):
        pass
    gm.set_multithreading_enabled(True)


def test_decorating_a_class_warns():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")

        @torch.no_grad()
        class A:
            def __init__(self, x):
                self.rg = (x * 2).requires_grad

    assert any(issubclass(x.category, FutureWarning) and "Decorating classes is deprecated" in str(x.message)
               for x in w)
    assert A(torch.ones(2, requires_grad=True)).rg is False
