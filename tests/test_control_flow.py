"""srcgrad/control_flow.py: torch.cond and torch.while_loop, run eagerly, differentiated through
the branch taken, and under @srcgrad.compile equal to the undecorated function (which runs
define-by-run once a tensor predicate is read)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcgrad
from srcgrad.compiled import CompileWarning


def _f(x):
    return srcgrad.cond(x.sum() > 0, lambda a: a.sin() * 2, lambda a: a.cos(), (x,))


@pytest.mark.parametrize("values", [[0.5, -0.2, 1.0], [-0.5, -0.2, 0.1]])
def test_cond_takes_one_branch_and_differentiates_it(values):
    x = srcgrad.tensor(values, dtype=srcgrad.float64, requires_grad=True)
    y = _f(x)
    y.sum().backward()
    v = np.array(values)
    positive = v.sum() > 0
    np.testing.assert_allclose(y.detach().numpy(), 2 * np.sin(v) if positive else np.cos(v))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos(v) if positive else -np.sin(v))


def test_cond_with_python_predicates_and_operand_lists():
    a, b = srcgrad.ones(2), srcgrad.full((2,), 3.0)
    assert srcgrad.cond(False, lambda p, q: p + q, lambda p, q: p - q, [a, b]).tolist() == [-2.0, -2.0]
    assert srcgrad.cond(1, lambda: srcgrad.zeros(1), lambda: srcgrad.ones(1)).tolist() == [0.0]


def test_cond_errors_as_pytorchs():
    x = srcgrad.ones(2)
    with pytest.raises(RuntimeError, match=r"Expected pred to be bool or single-element tensor, but got tensor"):
        srcgrad.cond(srcgrad.tensor([True, False]), lambda a: a, lambda a: a, (x,))
    with pytest.raises(RuntimeError, match="Expect both branches to be callable"):
        srcgrad.cond(True, None, lambda a: a, (x,))


def test_while_loop():
    i, s = srcgrad.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 2), (srcgrad.tensor(0), srcgrad.tensor(1.0)))
    assert i.item() == 5 and s.item() == 32.0
    x = srcgrad.tensor(1.5, requires_grad=True)
    (y,) = srcgrad.while_loop(lambda y: y < 10, lambda y: (y * y,), [x])
    y.backward()  # y = x ** 8 after three squarings
    assert y.item() == pytest.approx(1.5 ** 8) and x.grad.item() == pytest.approx(8 * 1.5 ** 7)
    with pytest.raises(RuntimeError, match="same number of elements as carried_inputs"):
        srcgrad.while_loop(lambda a, b: a < 1, lambda a, b: (a + 1,), (srcgrad.tensor(0), srcgrad.tensor(0)))
    with pytest.raises(RuntimeError, match="Expect carried_inputs to be a tuple or a list"):
        srcgrad.while_loop(lambda a: a < 1, lambda a: a + 1, srcgrad.tensor(0))


def test_cond_under_compile_follows_each_call():
    compiled = srcgrad.compile(_f)
    with pytest.warns(CompileWarning, match="runs define-by-run from now on"):
        compiled(srcgrad.ones(3))
    for values in ([0.5, -0.2, 1.0], [-0.5, -0.2, 0.1], [0.5, 0.2, 1.0], [-1.0, 0.0, 0.0]):
        x = srcgrad.tensor(values)
        np.testing.assert_allclose(compiled(x).numpy(), _f(x).numpy(), rtol=1e-6)


def test_cond_with_a_python_predicate_compiles_once():
    @srcgrad.compile
    def g(x, training):
        return srcgrad.cond(training, lambda a: a * 2, lambda a: a - 1, (x,))

    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for k in range(3):
            assert g(srcgrad.full((2,), float(k)), True).tolist() == [2.0 * k] * 2
        assert g(srcgrad.ones(2), False).tolist() == [0.0, 0.0]
    assert g.compiles == 2  # (one per value of the Python argument)


def test_pred_error_as_pytorchs():
    torch = pytest.importorskip("torch")
    got = []
    for lib in (torch, srcgrad):
        with pytest.raises(RuntimeError) as info:
            lib.cond(lib.tensor([True, False]), lambda a: a, lambda a: a, (lib.ones(1),))
        got.append(str(info.value))
    assert got[1] == got[0]
