"""srcgrad.jit: torch.jit's calls on srcgrad.compile, results identical to eager calls."""

import copy
import warnings

import numpy as np
import pytest

import srcgrad
from srcgrad import jit, nn
from srcgrad.compiled import CompiledFunction, CompileWarning

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _mlp():
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2))


def scale_tanh(x, y):
    return (x * y).sum(1).tanh()


def test_script_function_replays_with_identical_results():
    f = jit.script(scale_tanh)
    assert isinstance(f, jit.ScriptFunction) and isinstance(f, CompiledFunction)
    assert f.name == "scale_tanh"
    assert "not traced yet" in f.code
    for _ in range(3):
        x, y = srcgrad.randn(4, 3), srcgrad.randn(4, 3)
        assert srcgrad.equal(f(x, y), scale_tanh(x, y))
    assert f.cache_info()["compiles"] == 1 and f.cache_info()["hits"] == 2
    assert f.code.startswith("def scale_tanh(") and f.graph == f.code == srcgrad.show(f)
    assert jit.script(f) is f


def test_script_function_with_value_dependent_branch():
    def pick(x):
        if x.sum() > 0:
            return x * 2
        return -x

    f = jit.script(pick)
    with pytest.warns(CompileWarning, match="define-by-run"):
        assert srcgrad.equal(f(srcgrad.ones(3)), srcgrad.ones(3) * 2)
    assert srcgrad.equal(f(-srcgrad.ones(3)), srcgrad.ones(3))


def test_script_module_shares_parameters_not_training_flags():
    m = _mlp()
    s = jit.script(m)
    assert isinstance(s, nn.Sequential) and isinstance(s, jit.ScriptModule)
    assert isinstance(s, jit.RecursiveScriptModule) and s.original_name == "Sequential"
    assert s[0].weight is m[0].weight and s[3].bias is m[3].bias
    assert list(s.state_dict()) == list(m.state_dict())
    assert [p is q for p, q in zip(s.parameters(), m.parameters())] == [True] * 4
    s.eval()
    assert not s.training and not s[2].training
    assert m.training and m[2].training
    s[0].register_forward_hook(lambda mod, args, out: out * 0)
    assert not m[0]._forward_hooks
    assert jit.script(s) is s


def test_script_module_inference_is_compiled_and_exact():
    m = _mlp().eval()
    s = jit.script(m)
    with srcgrad.no_grad():
        for _ in range(3):
            x = srcgrad.randn(5, 3)
            assert srcgrad.equal(s(x), m(x))
    info = s.forward.cache_info()
    assert info["compiles"] == 1 and info["hits"] == 2
    assert "def Sequential.forward(" not in s.code and "self__modules_0__parameters_weight" in s.code


def test_script_module_follows_parameter_updates_and_trains():
    m = nn.Linear(3, 2)
    s = jit.script(m)
    x = srcgrad.randn(4, 3)
    with srcgrad.no_grad():
        before = s(x)
        m.weight.add_(1.0)  # an update through the original is seen by the script module
        assert srcgrad.equal(s(x), m(x)) and not srcgrad.equal(s(x), before)
    opt = srcgrad.optim.SGD(s.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)  # (a forward whose result needs a graph runs eagerly)
        loss = s(x).pow(2).sum()
    loss.backward()
    w = m.weight.detach().clone()
    opt.step()
    assert m.weight.grad is not None and not srcgrad.equal(m.weight, w)


def test_script_module_switches_with_training_mode():
    m = _mlp()
    s = jit.script(m)
    x = srcgrad.randn(6, 3)
    with srcgrad.no_grad():
        s.eval()
        m.eval()
        assert srcgrad.equal(s(x), m(x))
        s.train()
        srcgrad.manual_seed(1)
        a = s(x)
        srcgrad.manual_seed(1)
        assert srcgrad.equal(a, m.train()(x))  # dropout draws the same numbers


def test_deepcopy_of_script_module():
    s = jit.script(nn.Linear(2, 2))
    d = copy.deepcopy(s)
    assert isinstance(d, jit.ScriptModule) and d.weight is not s.weight
    with srcgrad.no_grad():
        x = srcgrad.ones(1, 2)
        assert srcgrad.equal(d(x), s(x))
        d.weight.zero_()
        assert not srcgrad.equal(d(x), s(x))


def test_script_other_objects():
    class Point:
        pass

    assert jit.script(Point) is Point
    with pytest.raises(RuntimeError, match="cannot be compiled since it inherits from nn.Module, pass an instance"):
        jit.script(nn.Linear)
    with pytest.raises(TypeError):
        jit.script(3)


def branchy(x):
    return x * 2 if jit.is_tracing() else x * 3


def test_trace_function_runs_once_and_sees_is_tracing():
    assert jit.is_tracing() is False and jit.is_scripting() is False
    f = jit.trace(branchy, srcgrad.ones(2))
    assert f.cache_info()["compiles"] == 1  # (traced on the example, as PyTorch does)
    assert srcgrad.equal(f(srcgrad.ones(2)), srcgrad.ones(2) * 2)  # the traced branch, as in a TorchScript trace
    assert jit.is_tracing() is False
    # (inputs that are values: XLA would fold a program's constant ones, with its own tanh)
    x, y = srcgrad.tensor(np.full((2, 3), 0.5, np.float32)), srcgrad.tensor(np.full((2, 3), 2.0, np.float32))
    assert srcgrad.equal(jit.trace(scale_tanh, (x, y))(x, y), scale_tanh(x, y))
    k = jit.trace(scale_tanh, example_kwarg_inputs={"x": x, "y": y})
    assert srcgrad.equal(k(x=x, y=y), scale_tanh(x, y))
    with pytest.raises(TypeError, match="example_inputs"):
        jit.trace(branchy)


def test_trace_module():
    m = _mlp().eval()
    x = srcgrad.randn(4, 3)
    with srcgrad.no_grad():
        t = jit.trace(m, x)
        assert isinstance(t, jit.TracedModule) and isinstance(t, nn.Sequential)
        assert srcgrad.equal(t(x), m(x))
        assert t.forward.cache_info()["hits"] == 1
    frozen = jit.freeze(t)
    assert frozen is t and jit.optimize_for_inference(t) is t


def test_pass_through_decorators_and_helpers():
    def fn(x):
        return x

    assert jit.ignore(fn) is fn and jit.ignore(drop=True)(fn) is fn
    assert jit.unused(fn) is fn and jit.export(fn) is fn and jit.script_if_tracing(fn) is fn
    assert jit.annotate(list, [1]) == [1]
    assert jit.wait(jit.fork(lambda a, b: a + b, 1, b=2)) == 3
    assert issubclass(jit.TracerWarning, Warning)


def test_save_and_load_point_to_state_dict():
    s = jit.script(nn.Linear(2, 2))
    for call in (lambda: jit.save(s, "m.pt"), lambda: s.save("m.pt"), lambda: jit.load("m.pt")):
        with pytest.raises(NotImplementedError, match=r"srcgrad.save\(model.state_dict\(\), f\)"):
            call()


def test_freeze_checks():
    with pytest.raises(RuntimeError, match="^Freezing expects a ScriptModule as input"):
        jit.freeze(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="^Freezing is currently only implemented for modules in eval mode"):
        jit.freeze(jit.script(nn.Linear(2, 2)))


def test_deprecation_warnings_as_pytorch_2_13():
    with pytest.warns(DeprecationWarning, match=r"^`torch.jit.script` is deprecated. Please switch to "
                                                r"`torch.compile` or `torch.export`.$"):
        jit.script(scale_tanh)
    with pytest.warns(DeprecationWarning, match=r"^`torch.jit.trace` is deprecated"):
        jit.trace(scale_tanh, (srcgrad.ones(1, 1), srcgrad.ones(1, 1)))


def test_against_torch():
    torch = pytest.importorskip("torch")

    def outcome(call):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call()
                result = "ok"
            except Exception as e:
                result = f"{type(e).__name__}: {e}"
        # (distinct messages: PyTorch's trace checks itself by tracing again, warning twice)
        return result, sorted({str(w.message) for w in caught if w.category is DeprecationWarning})

    def calls(T):
        return [lambda: T.jit.script(T.nn.Linear),
                lambda: T.jit.freeze(T.nn.Linear(2, 2)),
                lambda: T.jit.freeze(T.jit.script(T.nn.Linear(2, 2))),
                lambda: T.jit.freeze(T.jit.script(T.nn.Linear(2, 2)).eval()),
                lambda: T.jit.script(scale_tanh),
                lambda: T.jit.trace(scale_tanh, (T.ones(1, 1), T.ones(1, 1)))]

    ours = [outcome(c) for c in calls(srcgrad)]
    theirs = [outcome(c) for c in calls(torch)]
    assert [o.replace("srcgrad.nn.modules.linear", "torch.nn.modules.linear") for o, _ in ours] == \
        [o for o, _ in theirs]
    assert [w for _, w in ours] == [w for _, w in theirs]
    assert (jit.is_scripting(), jit.is_tracing()) == (torch.jit.is_scripting(), torch.jit.is_tracing())
