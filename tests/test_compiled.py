"""@srcgrad.compile: trace once, replay one program; guards, fallbacks, cache bounds, disk cache."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import srcgrad as torch
from srcgrad.compiled import CompileWarning


def _mlp_params(seed=0):
    torch.manual_seed(seed)
    return [torch.randn(4, 8, requires_grad=True), torch.randn(8, 1, requires_grad=True)]


def _sgd_step(params, x, y, lr):
    w1, w2 = params
    loss = (((x @ w1).tanh() @ w2 - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for w in params:
            w -= lr * w.grad
            w.grad = None
    return loss


def test_traces_once_then_replays_without_running_python():
    runs = itertools.count()  # not state the function's program reads

    @torch.compile
    def f(x):
        next(runs)
        return (x * 2).sum()

    x = torch.ones(3)
    assert f(x).item() == 6.0
    assert f(torch.full((3,), 2.0)).item() == 12.0
    assert f(torch.full((3,), 3.0)).item() == 18.0
    assert next(runs) == 1  # the body ran once
    assert f.cache_info()["hits"] == 2


def test_training_steps_match_the_undecorated_function():
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    eager, compiled = _mlp_params(), _mlp_params()
    step = torch.compile(_sgd_step)
    for i in range(6):
        le = _sgd_step(eager, x, y, 0.1 / (i + 1))
        lc = step(compiled, x, y, 0.1 / (i + 1))
        np.testing.assert_allclose(lc.item(), le.item(), rtol=1e-5)
    for a, b in zip(eager, compiled):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert b.is_leaf and b.requires_grad and b.grad is None
    assert step.compiles == 1  # a changing learning rate (a Python float) does not recompile


def test_closures_and_module_like_objects():
    class Model:
        def __init__(self):
            self.w = torch.ones(3, requires_grad=True)
            self.scale = 2.0

    model = Model()

    @torch.compile
    def step():
        loss = (model.w * model.scale).sum()
        loss.backward()
        with torch.no_grad():
            model.w -= 0.5 * model.w.grad
            model.w.grad = None
        return loss

    assert step().item() == 6.0          # w = 1 - 0.5 * 2 = 0
    assert step().item() == 0.0          # w = 0 - 1 = -1
    assert step().item() == -6.0
    assert step.compiles == 1
    model.scale = 3.0                    # a captured Python number changed: guarded, not silently baked
    assert step().item() == -18.0        # w = -2 now: loss = 3 * 3 * -2; then w = -2 - 0.5 * 3
    np.testing.assert_allclose(model.w.detach().numpy(), np.full(3, -3.5))


def test_value_dependent_control_flow_falls_back_with_a_warning_naming_the_line():
    def f(x):
        if x.sum() > 0:
            return x * 2
        return x * -1

    g = torch.compile(f)
    with pytest.warns(CompileWarning, match=r"test_compiled.py:\d+.*if x.sum\(\) > 0"):
        a = g(torch.ones(2))
    b = g(-torch.ones(2))
    np.testing.assert_array_equal(a.numpy(), [2, 2])
    np.testing.assert_array_equal(b.numpy(), [1, 1])
    assert g.dynamic_at is not None


def test_item_inside_is_not_baked_in():
    @torch.compile
    def f(x):
        return x.sum().item() * 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        assert f(torch.ones(2)) == 4.0
        assert f(torch.full((2,), 3.0)) == 12.0


def test_cache_is_bounded_least_recently_used():
    @torch.compile(cache_size=2, recompile_warning=100)
    def f(x):
        return x + 1

    for n in (1, 2, 3):
        f(torch.ones(n))
    f(torch.ones(3))
    keys = [k[0][0][1] for k in f.entries]
    assert keys == [(2,), (3,)]
    assert sum(len(v) for v in f.entries.values()) == 2


def test_recompile_warning_says_what_changed():
    @torch.compile(recompile_warning=2)
    def f(x):
        return x * 2

    f(torch.ones(32, 10))
    f(torch.ones(31, 10))
    with pytest.warns(CompileWarning, match=r"argument 'x': shape \(31, 10\) -> \(30, 10\)"):
        f(torch.ones(30, 10))
    reasons = [e["reason"] for e in f.cache_info()["entries"]]
    assert reasons[0] == "first call" and "shape (32, 10) -> (31, 10)" in reasons[1]


def test_random_ops_draw_fresh_numbers_each_call_like_eager():
    def f(x):
        return x * torch.rand(3)

    g = torch.compile(f)
    torch.manual_seed(5)
    eager = [f(torch.ones(3)).numpy() for _ in range(3)]
    torch.manual_seed(5)
    compiled = [g(torch.ones(3)).numpy() for _ in range(3)]
    np.testing.assert_allclose(np.array(compiled), np.array(eager), rtol=1e-6)
    assert not np.allclose(compiled[0], compiled[1])


def test_structure_of_arguments_and_results():
    @torch.compile
    def f(d, pair, n):
        return {"sum": d["a"] + pair[0] * n, "items": [pair[1] * 2, "text"]}

    out = f({"a": torch.ones(2)}, (torch.ones(2), torch.full((2,), 3.0)), 4)
    assert out["items"][1] == "text"
    np.testing.assert_array_equal(out["sum"].numpy(), [5, 5])
    out = f({"a": torch.ones(2)}, (torch.ones(2), torch.full((2,), 3.0)), 5)  # int args are keyed by value
    np.testing.assert_array_equal(out["sum"].numpy(), [6, 6])
    np.testing.assert_array_equal(out["items"][0].numpy(), [6, 6])
    assert f.compiles == 2


def test_unhashable_argument_is_a_clear_error():
    @torch.compile
    def f(x, opts):
        return x

    with pytest.raises(TypeError, match="argument 'opts' of f: a set is neither a tensor nor hashable"):
        f(torch.ones(1), {1, 2})


def test_unhashable_static_argument_is_a_clear_error():
    @torch.compile(static_argnums=(1,))
    def f(x, opts):
        return x * len(opts)

    assert f(torch.ones(1), (1, 2)).item() == 2.0
    with pytest.raises(TypeError, match="static argument 'opts' of f is not hashable"):
        f(torch.ones(1), [1, 2])


def test_source_is_readable_and_shown():
    step = torch.compile(_sgd_step)
    params = _mlp_params()
    step(params, torch.randn(5, 4), torch.randn(5, 1), 0.1)
    src = torch.show(step)
    header = src.splitlines()[0]
    assert header.startswith("def _sgd_step(")
    for name in ("params_0", "params_1", "x", "y", "lr"):  # inputs are named after the arguments
        assert name in header
    assert "# backward of: loss = (((x @ w1).tanh() @ w2 - y) ** 2).mean()" in src
    assert "g_loss" in src and "jnp.matmul" in src


def test_grad_of_grad_gives_known_second_derivatives():
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    d2 = torch.grad(torch.grad(lambda t: (t ** 3).sum()))
    # grad of a non-scalar: sum first
    d2 = torch.grad(lambda t: torch.grad(lambda u: (u ** 3).sum())(t).sum())
    np.testing.assert_allclose(d2(x).numpy(), 6 * x.numpy())
    d2sin = torch.grad(lambda t: torch.grad(lambda u: u.sin().sum())(t).sum())
    np.testing.assert_allclose(d2sin(x).numpy(), -np.sin(x.numpy()))
    v, g = torch.value_and_grad(lambda a, b: (a * b).sum(), argnums=(0, 1))(x, x * 2)
    np.testing.assert_allclose(v.item(), (x.numpy() * 2 * x.numpy()).sum())
    np.testing.assert_allclose(g[0].numpy(), 2 * x.numpy())
    np.testing.assert_allclose(g[1].numpy(), x.numpy())


def test_grad_with_aux_and_under_compile():
    def loss(w, x):
        out = (w * x).sum()
        return out, out * 10

    gfn = torch.grad(loss, has_aux=True)
    g, aux = gfn(torch.ones(3), torch.arange(3.0))
    np.testing.assert_array_equal(g.numpy(), [0, 1, 2])
    assert aux.item() == 30.0
    cg = torch.compile(torch.grad(lambda w, x: ((w * x) ** 2).sum()))
    for k in (1.0, 2.0):
        np.testing.assert_allclose(cg(torch.full((3,), k), torch.arange(3.0)).numpy(), 2 * k * np.arange(3.0) ** 2)
    assert cg.compiles == 1


def _run(code, cache_dir):
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(cache_dir))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=300)


PERSIST = """
import srcgrad as torch
@torch.compile
def f(x):
    return ((x @ x.T).tanh() * 3).sum()
print(f(torch.ones(20, 20)).item())
"""


def test_disk_cache_is_shared_across_processes_and_survives_damage(tmp_path):
    cold = _run(PERSIST, tmp_path)
    assert cold.returncode == 0, cold.stderr
    files = [os.path.join(r, f) for r, _, fs in os.walk(tmp_path) for f in fs]
    sources = [f for f in files if f.endswith(".py")]
    executables = [f for f in files if os.sep + "executables" + os.sep in f]
    assert sources and executables
    warm = _run(PERSIST, tmp_path)
    assert warm.returncode == 0 and warm.stdout == cold.stdout
    for f in sources + executables:  # damage every file: truncated, or garbage
        with open(f, "r+b") as fh:
            fh.truncate(7)
    damaged = _run(PERSIST, tmp_path)
    assert damaged.returncode == 0, damaged.stderr
    assert damaged.stdout == cold.stdout
    with open(sources[0]) as fh:  # the source file was detected as damaged and rewritten
        assert fh.read().startswith("def ")


LAPACK = """
import numpy as np
import srcgrad as torch
k = torch.tensor(np.array([[2.18, -0.1], [-0.1, 2.04]]))
print(torch.linalg.cholesky(k).tolist(), torch.linalg.eigvalsh(k).tolist())
"""


def test_a_warm_process_runs_stored_programs_that_call_lapack(tmp_path):
    # (JAX sets up its LAPACK kernels only when it lowers a program that calls them: a program
    # loaded from the disk cache without lowering crashed the process)
    cold = _run(LAPACK, tmp_path)
    assert cold.returncode == 0, cold.stderr
    for _ in range(2):
        warm = _run(LAPACK, tmp_path)
        assert warm.returncode == 0, warm.stderr
        assert warm.stdout == cold.stdout


LOADS = """
import srcgrad as torch
from srcgrad import persistent
loaded = []
_load = persistent.load_executable
persistent.load_executable = lambda *a: (lambda x: (loaded.append(x is not None), x)[1])(_load(*a))
@torch.compile
def step(w, x):
    loss = ((x @ w).tanh() ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        w.grad = None
    return loss
w = torch.ones(64, 512, requires_grad=True)
x = torch.full((8, 64), 0.01)
print(step(w, x).item(), step(w, x).item(), loaded)
"""


def test_a_warm_process_loads_executables_instead_of_compiling(tmp_path):
    cold = _run(LOADS, tmp_path)
    assert cold.returncode == 0, cold.stderr
    losses, loaded = cold.stdout.split("[")
    n = loaded.count("False")  # the creation programs and the step: compiled
    assert n >= 2 and "True" not in loaded and len(os.listdir(tmp_path / "executables")) == n
    warm = _run(LOADS, tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.strip().endswith("[" + ", ".join(["True"] * n) + "]")
    assert warm.stdout.split("[")[0] == cold.stdout.split("[")[0]  # the same losses
    for f in (tmp_path / "executables").iterdir():
        f.write_bytes(b"garbage")
    damaged = _run(LOADS, tmp_path)
    assert damaged.returncode == 0, damaged.stderr
    assert damaged.stdout == cold.stdout  # not loadable: compiled again (and stored again)
    assert _run(LOADS, tmp_path).stdout == warm.stdout


def test_two_processes_share_one_cache_dir(tmp_path):
    env = dict(os.environ, SRCGRAD_CACHE_DIR=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", PERSIST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert outs[0][0] == outs[1][0]


def test_cache_can_be_turned_off(tmp_path):
    r = _run(PERSIST.replace("import srcgrad as torch", "import srcgrad as torch\n"
                             "from srcgrad import persistent\nassert persistent.cache_dir() is None"), "off")
    assert r.returncode == 0, r.stderr


def test_numbers_baked_into_constants_are_guarded():
    @torch.compile
    def f(x, factors):
        return x * torch.tensor(factors)

    np.testing.assert_allclose(f(torch.ones(2), [0.5, 1.5]).numpy(), [0.5, 1.5])
    np.testing.assert_allclose(f(torch.ones(2), [2.5, 3.5]).numpy(), [2.5, 3.5])
    np.testing.assert_allclose(f(torch.ones(2), [2.5, 3.5]).numpy(), [2.5, 3.5])
    assert f.compiles == 2 and f.hits == 1


def _nn_setup(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    return model, opt, sched


def test_nn_modules_and_optimizers_work_unchanged_in_a_compiled_step():
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def make_step(model, opt):
        def step(inp, target):
            opt.zero_grad()
            loss = loss_fn(model(inp), target)
            loss.backward()
            opt.step()
            return loss
        return step

    eager_model, eager_opt, eager_sched = _nn_setup(1)
    comp_model, comp_opt, comp_sched = _nn_setup(1)
    eager_step = make_step(eager_model, eager_opt)
    comp_step = torch.compile(make_step(comp_model, comp_opt))
    for _ in range(6):
        le, lc = eager_step(x, y), comp_step(x, y)
        eager_sched.step()
        comp_sched.step()
        np.testing.assert_allclose(lc.item(), le.item(), rtol=1e-5)
    for pe, pc in zip(eager_model.parameters(), comp_model.parameters()):
        np.testing.assert_allclose(pc.detach().numpy(), pe.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert comp_step.dynamic_at is None


def test_mutating_python_state_every_call_falls_back_with_a_clear_warning():
    seen = []

    @torch.compile
    def f(x):
        seen.append(x.shape[0])
        return x * len(seen)

    for _ in range(3):  # traced; the list grew: not cached (four times in a row: define-by-run)
        f(torch.ones(2))
    with pytest.warns(CompileWarning, match=r"changes Python state on every call \(seen\[3\] appeared\)"):
        f(torch.ones(2))
    np.testing.assert_array_equal(f(torch.ones(2)).numpy(), [5, 5])  # the undecorated result
    assert seen == [2, 2, 2, 2, 2]


def test_a_hook_that_only_computes_is_compiled_into_the_program():
    w = torch.randn(3, 2, requires_grad=True)

    def f(x):
        h = x @ w
        h.register_hook(lambda g: g.clamp(-0.1, 0.1))  # a new lambda every call; it changes nothing
        (h.tanh() * 5).sum().backward()
        g = w.grad
        w.grad = None
        return g

    comp = torch.compile(f)
    for _ in range(4):
        x = torch.randn(4, 3)
        np.testing.assert_allclose(comp(x).numpy(), f(x).numpy(), rtol=1e-6)
    assert comp.compiles == 1 and comp.hits == 3 and comp.dynamic_at is None


def test_a_hook_that_records_runs_on_every_call():
    # A replay runs no Python: a hook that changes Python state each call (a log, a counter)
    # sends the function to define-by-run, as the body's own state changes do.
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    norms = []
    opt.register_step_pre_hook(lambda o, args, kwargs: norms.append(model.weight.grad.norm()))

    @torch.compile
    def step(x):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()

    with pytest.warns(CompileWarning, match=r"changes Python state on every call \(norms\[3\] appeared, "
                                            r"through hook <lambda> \(test_compiled.py:\d+\)\)"):
        for _ in range(6):
            step(torch.randn(2, 3))
    assert len(norms) == 6 and step.compiles == 0
    assert all(n.item() > 0 for n in norms)


def test_a_forward_hook_that_keeps_activations_sees_every_call():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    acts = {}
    model[1].register_forward_hook(lambda m, i, o: acts.__setitem__("h", o.detach()))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    @torch.compile
    def step(x):
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()

    with pytest.warns(CompileWarning, match=r"acts\['h'\] is a different object, through hook <lambda>"):
        for _ in range(6):
            x = torch.randn(2, 3)
            w, b = model[0].weight.detach().clone(), model[0].bias.detach().clone()
            step(x)
            np.testing.assert_allclose(acts["h"].numpy(), torch.tanh(x @ w.t() + b).numpy(), rtol=1e-6)


def _entry(fn):
    return next(e for es in fn.entries.values() for e in es)


def test_updated_parameters_donate_their_buffers_and_match_eager():
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    eager, compiled = _mlp_params(), _mlp_params()
    step = torch.compile(_sgd_step)
    for _ in range(4):
        a = _sgd_step(eager, x, y, 0.1).item()
        b = step(compiled, x, y, 0.1).item()
        assert a == pytest.approx(b, rel=1e-5)
    entry = _entry(step)
    assert len(entry.donate) == 2  # both weights: updated in place, nothing else holds them
    assert entry.donate in entry.program.runners  # the donating variant ran
    for w, v in zip(compiled, eager):
        np.testing.assert_allclose(w.detach().numpy(), v.detach().numpy(), rtol=1e-5)


def test_a_step_that_donates_compiles_one_executable():
    # The first call (and first replays, whose old values are still held) run the donating
    # variant on copies of the buffers it consumes: no second, plain executable is compiled.
    torch.clear_cache()  # (a define-by-run step of the same graph shares the program)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    eager, compiled = _mlp_params(), _mlp_params()
    first = [w.detach().numpy() for w in compiled]  # views of the buffers the first call reads
    step = torch.compile(_sgd_step)
    losses = [step(compiled, x, y, 0.1).item() for _ in range(6)]
    entry = _entry(step)
    assert list(entry.program.runners) == [entry.donate]
    assert losses == pytest.approx([_sgd_step(eager, x, y, 0.1).item() for _ in range(6)], rel=1e-5)
    for old, w in zip(first, _mlp_params()):
        np.testing.assert_array_equal(old, w.detach().numpy())  # the copies were consumed, not these


@pytest.mark.parametrize("hold", ["detach", "data", "numpy"])
def test_a_buffer_something_else_holds_is_not_donated(hold):
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    params = _mlp_params()
    step = torch.compile(_sgd_step)
    step(params, x, y, 0.1)
    step(params, x, y, 0.1)
    before = params[0].detach().numpy().copy()
    held = {"detach": lambda: params[0].detach(), "data": lambda: params[0].data,
            "numpy": lambda: params[0].detach().numpy()}[hold]()
    step(params, x, y, 0.1)  # must leave the held array intact
    after = params[0].detach().numpy()
    assert not np.array_equal(after, before)
    if hold == "numpy":  # a view of the old buffer: not donated, still readable
        np.testing.assert_array_equal(np.asarray(held), before)
    else:  # an alias sharing the parameter's storage (PyTorch): it shows the update
        np.testing.assert_array_equal(held.numpy(), after)


def test_a_replayed_update_of_a_value_a_graph_saved_raises_the_version_error():
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    params = _mlp_params()
    step = torch.compile(_sgd_step)
    for _ in range(3):
        step(params, x, y, 0.1)
    outside = (params[0] ** 3).sum()  # saves params[0]'s current value (x @ params[0] would not: x needs no grad)
    step(params, x, y, 0.1)  # replay: updates params[0] in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        outside.backward()


def test_replays_keep_no_history_alive():
    import gc

    from srcgrad.ir import Node
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    params = _mlp_params()
    step = torch.compile(_sgd_step)
    for _ in range(5):
        step(params, x, y, 0.1)
    gc.collect()
    before = sum(1 for o in gc.get_objects() if type(o) is Node)
    for _ in range(50):
        step(params, x, y, 0.1)
    gc.collect()
    assert sum(1 for o in gc.get_objects() if type(o) is Node) <= before


# -- results are what the undecorated function gives (found by a review against eager runs) --


def test_value_read_of_an_argument_falls_back_instead_of_baking_the_branch():
    @torch.compile
    def f(x, s):
        if s.item() > 0:
            return x * 2
        return x * float(s)

    x = torch.ones(1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert f(x, torch.tensor(1.0)).item() == 2.0
    assert any("define-by-run" in str(w.message) for w in caught)
    assert f(x, torch.tensor(-3.0)).item() == -3.0


def test_inplace_update_and_grad_go_to_the_tensors_passed_this_call():
    @torch.compile
    def bump(x):
        x.add_(1)
        return x.sum()

    bump(torch.zeros(2))
    b = torch.zeros(2)
    assert bump(b).item() == 2.0
    np.testing.assert_array_equal(b.numpy(), [1, 1])

    @torch.compile
    def grad_of(w, x):
        (w * x).sum().backward()
        return w.grad

    w1 = torch.ones(2, requires_grad=True)
    grad_of(w1, torch.full((2,), 3.0))
    w2 = torch.ones(2, requires_grad=True)
    g2 = grad_of(w2, torch.full((2,), 5.0))
    np.testing.assert_array_equal(w2.grad.numpy(), [5, 5])
    np.testing.assert_array_equal(g2.numpy(), [5, 5])
    np.testing.assert_array_equal(w1.grad.numpy(), [3, 3])


def test_grad_accumulation_follows_whether_grad_is_none():
    w = torch.ones(2, requires_grad=True)

    @torch.compile
    def step(x):
        (w * x).sum().backward()

    for i in range(1, 4):
        step(torch.ones(2))
        np.testing.assert_array_equal(w.grad.numpy(), [i, i])
    w.grad = torch.full((2,), 100.0)  # a new .grad tensor is read, not the traced one
    step(torch.ones(2))
    np.testing.assert_array_equal(w.grad.numpy(), [101, 101])
    w.grad = None
    step(torch.ones(2))
    np.testing.assert_array_equal(w.grad.numpy(), [1, 1])


LR = 0.5
CALLS = 0


def test_global_numbers_are_inputs_or_guards():
    global LR
    w = torch.ones(2, requires_grad=True)

    @torch.compile
    def step(x):
        (w * x).sum().backward()
        with torch.no_grad():
            w.sub_(LR * w.grad)
        w.grad = None

    step(torch.ones(2))
    LR = 0.0
    try:
        step(torch.ones(2))
    finally:
        LR = 0.5
    np.testing.assert_array_equal(w.detach().numpy(), [0.5, 0.5])

    @torch.compile
    def count(x):
        global CALLS
        CALLS += 1
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        for _ in range(3):
            count(torch.ones(1))
    assert CALLS == 3


def test_closure_flag_is_guarded():
    flag = True

    @torch.compile
    def f(x):
        return x * 2 if flag else x * 3

    assert f(torch.ones(1)).item() == 2.0
    flag = False
    assert f(torch.ones(1)).item() == 3.0


def test_a_literal_equal_to_the_random_counter_stays_a_literal():
    torch.manual_seed(0)
    for _ in range(5):
        torch.randn(1)

    @torch.compile
    def g(x):
        return torch.randn(3), x * 5

    for _ in range(3):
        np.testing.assert_array_equal(g(torch.ones(3))[1].numpy(), [5, 5, 5])


def test_returned_arguments_and_floats_are_this_calls():
    @torch.compile
    def f(x, y, lr):
        return x, x * lr + y, {"lr": lr}

    f(torch.ones(2), torch.ones(2), 0.1)
    x, z, aux = f(torch.full((2,), 7.0), torch.ones(2), 0.3)
    np.testing.assert_array_equal(x.numpy(), [7, 7])
    np.testing.assert_allclose(z.numpy(), [3.1, 3.1], rtol=1e-6)
    assert aux == {"lr": 0.3}


W_HELPER = torch.ones(2)


def _loss_with_global(x):
    return (x * W_HELPER).sum()


def test_helper_functions_globals_are_read_on_each_call():
    global W_HELPER
    cg = torch.compile(torch.grad(_loss_with_global))
    np.testing.assert_array_equal(cg(torch.ones(2)).numpy(), [1, 1])
    old = W_HELPER
    W_HELPER = torch.full((2,), 3.0)
    try:
        np.testing.assert_array_equal(cg(torch.ones(2)).numpy(), [3, 3])
        del old
        np.testing.assert_array_equal(cg(torch.ones(2)).numpy(), [3, 3])
    finally:
        W_HELPER = torch.ones(2)


def test_a_container_that_grows_is_traced_again():
    params = [torch.ones(2)]

    @torch.compile
    def total(x):
        for p in params:
            x = x + p
        return x

    total(torch.zeros(2))
    params.append(torch.full((2,), 10.0))
    np.testing.assert_array_equal(total(torch.zeros(2)).numpy(), [11, 11])


def test_a_result_to_differentiate_later_keeps_its_graph():
    @torch.compile
    def cube(u):
        return (u ** 3).sum()

    x = torch.tensor([0.3, -1.2, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        for _ in range(2):
            np.testing.assert_allclose(torch.grad(cube)(x).numpy(), 3 * x.numpy() ** 2, rtol=1e-6)


def test_compiling_a_module_compiles_its_calls():
    torch.manual_seed(0)
    m = torch.nn.Linear(2, 1)
    cm = torch.compile(m)
    x = torch.ones(3, 2)
    with torch.no_grad():
        for _ in range(2):
            np.testing.assert_allclose(cm(x).numpy(), m(x).numpy(), rtol=1e-6)
    assert cm.cache_info()["compiles"] == 1


# -- second review round: the path-based wiring --


def test_pending_work_reading_an_updated_tensor_keeps_its_buffer():
    w = torch.zeros(4)

    @torch.compile
    def g():
        w.add_(1)

    g()
    s = w * 2  # pending: reads w's value before the next update
    g()
    np.testing.assert_array_equal(s.numpy(), [2, 2, 2, 2])
    np.testing.assert_array_equal(w.numpy(), [2, 2, 2, 2])


def test_attribute_names_are_not_guarded_as_globals(monkeypatch):
    monkeypatch.setitem(globals(), "step", 0)  # a global named like the attribute `opt.step`
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    @torch.compile
    def train_step(x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    x = torch.randn(3, 4)
    for i in range(10):
        globals()["step"] = i  # (guarded as a global, it would make every call trace again)
        train_step(x)
    assert train_step.hits >= 8 and train_step.compiles <= 2


def test_one_tensor_passed_twice_is_another_program():
    @torch.compile
    def f(a, b):
        a.add_(1)
        b.add_(1)
        return a + b

    f(torch.zeros(2), torch.zeros(2))
    z = torch.zeros(2)
    np.testing.assert_array_equal(f(z, z).numpy(), [4, 4])
    np.testing.assert_array_equal(z.numpy(), [2, 2])


def test_updates_of_views_and_aliases_reach_their_storage():
    @torch.compile
    def bump(v):
        v.add_(1)

    base = torch.zeros(2, 3)
    bump(base[0])
    bump(base[1])
    np.testing.assert_array_equal(base.numpy(), np.ones((2, 3)))

    w = torch.zeros(2)

    @torch.compile
    def g():
        w.add_(1)

    g()
    d = w.detach()  # taken after the trace: shares w's storage
    g()
    np.testing.assert_array_equal(d.numpy(), [2, 2])
    d.add_(10)
    g()
    np.testing.assert_array_equal(w.numpy(), [13, 13])


def test_a_step_that_skips_parameters_without_grad_is_guarded():
    a = torch.ones(2, requires_grad=True)
    b = torch.ones(2, requires_grad=True)
    opt = torch.optim.SGD([a, b], lr=0.5)

    @torch.compile
    def update():
        opt.step()
        opt.zero_grad()

    (a * 1).sum().backward()
    update()  # traced with b.grad None: b is skipped
    (a * 1 + b * 1).sum().backward()
    update()
    np.testing.assert_array_equal(b.detach().numpy(), [0.5, 0.5])


def test_batch_objects_are_keyed_by_type_and_guarded_by_content():
    from types import SimpleNamespace

    @torch.compile
    def f(batch):
        return (batch.x * batch.y).sum()

    batches = [SimpleNamespace(x=torch.full((3,), float(i)), y=torch.ones(3)) for i in range(6)]
    for _ in range(2):
        for i, b in enumerate(batches):
            assert f(b).item() == 3.0 * i
    assert f.compiles == 1


def test_two_models_with_adam_alternating_stay_compiled():
    torch.manual_seed(0)
    models = [torch.nn.Linear(3, 1) for _ in range(2)]
    opts = [torch.optim.Adam(m.parameters(), lr=0.1) for m in models]

    @torch.compile
    def train_step(model, opt, x):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        return loss

    x = torch.ones(4, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        for _ in range(4):
            for m, o in zip(models, opts):
                train_step(m, o, x)
    assert train_step.dynamic_at is None and train_step.hits > 0


def test_a_call_whose_result_requires_grad_does_not_disable_the_others():
    w = torch.ones(2, requires_grad=True)

    @torch.compile
    def h(x):
        return w * x

    x = torch.ones(2)
    with torch.no_grad():
        h(x)
        h(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompileWarning)
        r = h(x)
    assert r.requires_grad
    r.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1, 1])
    with torch.no_grad():
        h(x)  # traced again: w.grad is no longer None
        h(x)
    assert h.dynamic_at is None and h.hits == 2


def test_compiling_a_non_callable_is_a_clear_error():
    with pytest.raises(TypeError, match="srcgrad.compile expects a function, a method or a module"):
        torch.compile(5)


def test_a_generator_function_runs_define_by_run_with_a_warning():
    with pytest.warns(CompileWarning, match="gen is a generator function: it runs define-by-run"):
        @torch.compile
        def gen(x):
            for i in range(3):
                yield x * i

    assert [t.tolist() for t in gen(torch.ones(2))] == [[0, 0], [1, 1], [2, 2]]
    assert gen.compiles == 0


def test_indexing_with_an_index_tensor_argument_stays_compiled():
    # x[idx] checks idx's values (PyTorch's IndexError); in a trace that check must not make
    # the function depend on them, or every step using an index tensor would run define-by-run
    x = torch.randn(10, 3)

    def pick(x, idx):
        return x[idx].sum() + x.index_select(0, idx).sum() + x[idx, 1:].sum()

    f = torch.compile(pick)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(4):
            idx = torch.tensor([1, 2, 3 + i])
            np.testing.assert_allclose(float(f(x, idx)), float(pick(x, idx)), rtol=1e-6)
    assert f.dynamic_at is None and f.compiles == 1 and f.hits == 3
    with pytest.raises(IndexError, match="index 20 is out of bounds for dimension 0 with size 10"):
        torch.compile(pick)(x, torch.tensor([1, 20]))  # (values known when traced: checked)


# -- from an audit of decorated functions against their undecorated runs ----------------------

def _plain_and_compiled(make, calls):
    """Run ``calls(step)`` on a fresh setup undecorated, then decorated; both results."""
    out = []
    for compiled in (False, True):
        step = make()
        if compiled:
            step = torch.compile(step)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CompileWarning)
            out.append(calls(step))
    return out


def test_state_of_deeply_nested_modules_is_guarded():
    def make():
        torch.manual_seed(0)
        inner = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4))
        model = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Sequential(inner)), torch.nn.Linear(4, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.randn(8, 4)

        def step():
            opt.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            opt.step()
            return loss
        step.bn = inner[1]
        return step

    def calls(step):
        bn = step.bn if hasattr(step, "bn") else step.__wrapped__.bn
        out = [step().item() for _ in range(2)]
        bn.eval()  # (three levels down: model[0][0][0][1])
        out += [step().item() for _ in range(2)]
        return out + bn.running_mean.tolist()

    plain, compiled = _plain_and_compiled(make, calls)
    np.testing.assert_allclose(compiled, plain, rtol=1e-5)


def test_seeding_inside_the_body_runs_define_by_run():
    def make():
        def noise(x):
            torch.manual_seed(0)
            return x + torch.rand(2)
        return noise

    plain, compiled = _plain_and_compiled(make, lambda f: [f(torch.zeros(2))[0].item() for _ in range(3)])
    assert compiled == plain and len(set(plain)) == 1


def test_default_dtype_is_part_of_the_signature():
    def make():
        return lambda x: x + torch.zeros(2)

    def calls(f):
        out = []
        try:
            for d in (torch.float32, torch.float32, torch.float64, torch.float64):
                torch.set_default_dtype(d)
                out.append(f(torch.ones(2, dtype=torch.float64)[:1].float()).dtype)
        finally:
            torch.set_default_dtype(torch.float32)
        return out

    plain, compiled = _plain_and_compiled(make, calls)
    assert compiled == plain == [torch.float32, torch.float32, torch.float64, torch.float64]


def test_an_argument_with_outside_history_runs_define_by_run():
    def make():
        def head(h):
            loss = (h ** 2).sum()
            loss.backward()
            return loss
        return head

    def calls(head):
        torch.manual_seed(0)
        w = torch.randn(3, 3, requires_grad=True)
        out = []
        for _ in range(3):
            w.grad = None
            head(torch.randn(2, 3) @ w)  # (h's graph runs back to w, outside the function)
            out.append(w.grad.sum().item())
        return out

    plain, compiled = _plain_and_compiled(make, calls)
    np.testing.assert_allclose(compiled, plain, rtol=1e-6)


def test_a_hook_registered_between_calls_is_seen():
    def calls(step):
        w = step.w
        out = []
        for i in range(4):
            if i == 2:
                w.register_hook(lambda g: g * 100)
            w.grad = None
            step(torch.ones(3))
            out.append(w.grad[0].item())
        return out

    def make():
        w = torch.ones(3, requires_grad=True)

        def step(x):
            loss = (w * x).sum()
            loss.backward()
            return loss
        step.w = w
        return step

    plain, compiled = [calls(s) for s in (make(), _with_w(torch.compile, make()))]
    assert compiled == plain == [1.0, 1.0, 100.0, 100.0]


def _with_w(wrap, step):
    out = wrap(step)
    out.w = step.w
    return out


def test_a_leaf_made_in_the_body_keeps_requires_grad_on_replay():
    @torch.compile
    def init(x):
        return torch.zeros(3, requires_grad=True), x * 2

    for _ in range(3):
        w, _ = init(torch.ones(3))
        assert w.requires_grad and w.is_leaf
        (w * 3).sum().backward()
        assert w.grad.tolist() == [3.0, 3.0, 3.0]


def test_has_aux_outputs_are_detached_and_compile():
    def loss_fn(w, x):
        return ((x @ w) ** 2).mean(), (x @ w).sum()

    w, x = torch.randn(3, 2), torch.randn(4, 3)
    (_, aux), _ = torch.value_and_grad(loss_fn, has_aux=True)(w, x)
    assert not aux.requires_grad  # (as torch.func: no outer grad watches the inputs)
    f = torch.compile(torch.value_and_grad(loss_fn, has_aux=True))
    for _ in range(4):
        (v, aux), g = f(w, x)
    assert f.cache_info()["compiles"] == 1 and f.cache_info()["hits"] == 3
    np.testing.assert_allclose(aux.item(), (x @ w).sum().item(), rtol=1e-6)


def test_a_float_argument_used_in_python_arithmetic_is_keyed_by_value():
    def make():
        ema = torch.zeros(3)

        def update(p, decay):
            ema.mul_(decay).add_(p, alpha=1 - decay)  # (1 - decay: Python arithmetic on the argument)
            return ema
        return update

    def calls(update):
        return [round(update(torch.ones(3), d)[0].item(), 5) for d in (0.5, 0.9, 0.99, 0.0, 0.9)]

    plain, compiled = _plain_and_compiled(make, calls)
    assert compiled == plain == [0.5, 0.55, 0.5545, 1.0, 1.0]


def test_a_float_argument_used_only_with_tensors_never_recompiles():
    w = torch.ones(3, requires_grad=True)

    @torch.compile
    def step(x, lr):
        loss = (w * x).sum()
        loss.backward()
        with torch.no_grad():
            w.sub_(lr * w.grad)
        w.grad = None
        return loss

    for i in range(5):
        step(torch.ones(3), 0.1 * (i + 1))
    assert step.cache_info()["compiles"] == 1 and w.tolist() == pytest.approx([-0.5] * 3)


# -- values the body acts on that are not numbers or tensors (an audit of replays against the
#    undecorated function): each must make a replay trace again when it changes, never replay


def _same_as_eager(f, calls):
    """Run f undecorated and decorated after each change in ``calls``; the results must agree."""
    cf = torch.compile(f)
    for change in calls:
        change()
        want, got = f(), cf()
        assert want.dtype == got.dtype and want.tolist() == got.tolist()


def test_replays_follow_dtypes_functions_sets_and_partials_reached_from_the_body():
    import functools
    cfg = {"dtype": torch.float32, "act": torch.relu, "scale": functools.partial(torch.mul, other=1.0)}
    active = set()
    x = torch.tensor([-1.0, 0.5])

    def f():
        y = cfg["scale"](cfg["act"](x)).to(cfg["dtype"])
        return y * 2 if "double" in active else y

    _same_as_eager(f, [lambda: None, lambda: cfg.update(dtype=torch.float64), lambda: cfg.update(act=torch.tanh),
                       lambda: active.add("double"),
                       lambda: cfg.update(scale=functools.partial(torch.mul, other=3.0))])


def test_replays_follow_a_swapped_submodule_and_a_function_passed_as_an_argument():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU())
    x = -torch.ones(1, 2)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    _same_as_eager(lambda: model(x), [lambda: None, lambda: model.__setitem__(1, torch.nn.LeakyReLU())])

    cfg = {"scale": 1.0, "negate": False}

    def transform(t):
        return -t * cfg["scale"] if cfg["negate"] else t * cfg["scale"]

    def f(fn, t):
        return fn(t) + 1

    cf = torch.compile(f)
    for scale, negate in [(1.0, False), (2.0, False), (3.0, True)]:
        cfg.update(scale=scale, negate=negate)
        assert cf(transform, torch.ones(2)).tolist() == f(transform, torch.ones(2)).tolist()
    # a bound method passed along: its module's train/eval flag is followed
    drop = torch.nn.Sequential(torch.nn.Dropout(0.5))
    g = torch.compile(lambda fwd, t: fwd(t))
    drop.eval()
    assert g(drop.forward, torch.ones(4)).tolist() == [1.0] * 4


def test_a_float_read_by_the_program_that_becomes_an_int_or_none_traces_again():
    w = torch.ones(3, requires_grad=True)
    cfg = {"lr": 0.5}

    @torch.compile
    def step():
        loss = (w * w).sum()
        loss.backward()
        with torch.no_grad():
            if cfg["lr"] is not None:
                w.sub_(cfg["lr"] * w.grad)
            w.grad = None
        return loss

    for lr in (0.5, 0.25, 1, None, 0.5):
        cfg["lr"] = lr
        step()
    # (a replay fed the int to a program compiled for a float: JAX's TypeError; None: a pytree error)
    v = torch.ones(3, requires_grad=True)
    for lr in (0.5, 0.25, 1, None, 0.5):
        loss = (v * v).sum()
        loss.backward()
        with torch.no_grad():
            if lr is not None:
                v.sub_(lr * v.grad)
            v.grad = None
    assert w.tolist() == v.tolist()


def test_the_recompile_warning_names_a_changed_value_outside_the_arguments():
    cfg = {"n": 0}

    @torch.compile(recompile_warning=3)
    def f(x):
        return x * cfg["n"]

    with pytest.warns(CompileWarning, match=r"last change: cfg\['n'\]: 2 -> 3"):
        for i in range(4):
            cfg["n"] = i
            f(torch.ones(2))
    reasons = [e["reason"] for e in f.cache_info()["entries"]]
    assert "cfg['n']: 0 -> 1" in reasons


def test_a_float_a_custom_function_keeps_for_its_backward_is_followed():
    class Scale(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None  # (a constant of the generated backward)

    def step(w, k):
        loss = Scale.apply(w, k).sum()
        loss.backward()
        return loss

    cfg = {"k": 1.5}

    def step_closure(w):
        return step(w, cfg["k"])

    for f, call in ((step, lambda f, w, k: f(w, k)), (step_closure, lambda f, w, k: (cfg.update(k=k), f(w))[1])):
        cf = torch.compile(f)
        for k in (2.5, 3.5, 10.0):
            w1, w2 = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
            assert call(f, w1, k).item() == call(cf, w2, k).item()
            assert w1.grad.tolist() == w2.grad.tolist() == [k, k]


def test_slotted_objects_and_deques_are_walked():
    import collections

    class Config:
        __slots__ = ("scale", "clip")

        def __init__(self):
            self.scale, self.clip = 1.0, True

    cfg = Config()
    x = torch.ones(2)

    def f():
        y = x * cfg.scale
        return y.clamp(max=1.0) if cfg.clip else y

    _same_as_eager(f, [lambda: None, lambda: setattr(cfg, "scale", 3.0), lambda: setattr(cfg, "clip", False)])
    recent = collections.deque(maxlen=10)

    @torch.compile
    def step(t):
        recent.append(1)  # a side effect a replay would not have: the function runs define-by-run
        return t * 2

    with pytest.warns(CompileWarning, match="changes Python state on every call"):
        for _ in range(5):
            step(torch.ones(2))
    assert len(recent) == 5


def test_a_state_float_that_is_also_a_literal_of_the_body_is_guarded_by_value():
    # CPython shares equal float constants of one file: the 1.0 of the dict and of clamp(max=1.0)
    # are one object, which the program cannot tell apart
    cfg = {"scale": 1.0}
    x = torch.ones(2)

    def f():
        return (x * cfg["scale"]).clamp(max=1.0)

    _same_as_eager(f, [lambda: None, lambda: cfg.update(scale=3.0), lambda: cfg.update(scale=0.5)])


def test_what_hooks_and_inner_decorated_functions_read_is_guarded():
    cfg = {"grad_scale": 1.0, "temperature": 1.0}

    def make():
        torch.manual_seed(0)
        m = torch.nn.Linear(2, 1)
        m.weight.register_hook(lambda g: g * cfg["grad_scale"])

        def step(x):
            m.zero_grad()
            loss = m(x).sum()
            loss.backward()
            return loss
        return m, step

    (m1, eager), (m2, step) = make(), make()
    compiled = torch.compile(step)
    for s in (1.0, 2.0, 3.0):
        cfg["grad_scale"] = s
        eager(torch.ones(1, 2)), compiled(torch.ones(1, 2))
        assert m1.weight.grad.tolist() == m2.weight.grad.tolist() == [[s, s]]

    @torch.compile
    def logits(x):
        return x / cfg["temperature"]

    @torch.compile
    def outer(x):
        return logits(x) * 1

    for t in (1.0, 0.5, 4.0):
        cfg["temperature"] = t
        assert outer(torch.tensor([1.0, 2.0])).tolist() == [1.0 / t, 2.0 / t]


def test_a_tensor_returned_twice_is_one_tensor_on_replay():
    @torch.compile
    def f(x):
        y = x * 2
        return y, y

    for _ in range(3):
        a, b = f(torch.ones(2))
        assert a is b


def test_leafness_of_an_argument_is_part_of_the_key_and_data_growth_traces_again():
    def f(x):
        with torch.no_grad():
            return x * (2.0 if x.is_leaf else 3.0)

    cf = torch.compile(f)
    w = torch.ones(2, requires_grad=True)
    for x in (w, w * 1, w + 0, w):
        assert cf(x).tolist() == f(x).tolist()
    memory = torch.zeros(2)

    @torch.compile
    def push(x):
        memory.data = torch.cat([memory.data, x])  # a captured tensor given another shape
        return memory.sum()

    for i in range(3):
        assert push(torch.ones(1)).item() == i + 1 and memory.shape == (3 + i,)


# -- found by a differential audit against the undecorated function --


def test_a_tensor_the_body_makes_changes_in_place_and_returns_is_new_each_call():
    @torch.compile
    def half_square(x):
        loss = (x ** 2).sum()
        loss *= 0.5
        out = torch.zeros(3)
        out[0] = x.sum()
        return loss, [out]

    results = [half_square(torch.ones(3) * i) for i in range(4)]
    assert [r[0].item() for r in results] == [0.0, 1.5, 6.0, 13.5]  # (the first was overwritten by each replay)
    assert [r[1][0].tolist() for r in results] == [[3.0 * i, 0.0, 0.0] for i in range(4)]


def test_results_keep_their_container_types_and_python_values():
    import collections
    pair = collections.namedtuple("pair", "a b")

    class Items(list):
        pass

    @torch.compile
    def f(x):
        y = x * 2
        return (x.shape, x.size(), Items([y]), collections.OrderedDict(a=y), collections.defaultdict(int, b=y),
                pair(y, 1), x.dtype, x.device, slice(1, 2), complex(1, 2), float)

    for i in range(3):
        shape, size, items, ordered, default, p, dtype, dev, sl, c, kind = f(torch.ones(2) * i)
        assert type(shape) is torch.Size and shape == (2,) and size == (2,)
        assert type(items) is Items and items[0].tolist() == [2.0 * i] * 2
        assert type(ordered) is collections.OrderedDict and type(default) is collections.defaultdict
        assert default["missing"] == 0 and type(p) is pair and p.b == 1
        assert (dtype, dev, sl, c, kind) == (torch.float32, torch.device("cpu"), slice(1, 2), 1 + 2j, float)


def test_compiling_a_module_gives_a_module():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    cm = torch.compile(m)
    assert isinstance(cm, torch.nn.Module) and type(cm).__name__ == "OptimizedModule" and cm._orig_mod is m
    assert list(cm.state_dict()) == ["_orig_mod.0.weight", "_orig_mod.0.bias", "_orig_mod.2.weight",
                                     "_orig_mod.2.bias"]
    assert [id(p) for p in cm.parameters()] == [id(p) for p in m.parameters()]
    assert repr(cm).startswith("OptimizedModule(\n  (_orig_mod): Sequential(")
    cm.eval()
    assert not m.training and not m[0].training
    x = torch.ones(4, 2)
    with torch.no_grad():
        for _ in range(3):
            np.testing.assert_allclose(cm(x).numpy(), m(x).numpy(), rtol=1e-6)
    assert cm.cache_info()["compiles"] == 1 and cm.cache_info()["hits"] == 2 and "def " in torch.show(cm)


def test_a_compiled_bound_method_follows_its_objects_state():
    m = torch.nn.Linear(3, 1, bias=False)
    forward = torch.compile(m.forward)
    assert forward.arg_names == ["input"]
    with torch.no_grad():
        forward(torch.ones(1, 3))
        m.weight = torch.nn.Parameter(torch.zeros(1, 3))
        assert forward(torch.ones(1, 3)).tolist() == [[0.0]]


def test_a_replayed_update_of_a_parameter_with_live_views():
    for variant in ("view", "no_grad view", "transpose"):
        w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        if variant == "no_grad view":
            with torch.no_grad():
                v = w[0]
        else:
            v = w[0] if variant == "view" else w.T
        opt = torch.optim.SGD([w], lr=0.1)

        @torch.compile
        def step(x):
            opt.zero_grad()
            (x @ w).sum().backward()
            opt.step()

        for _ in range(3):
            step(torch.ones(1, 2))
        expected = [[0.7, 1.7], [2.7, 3.7]]
        np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-6)
        np.testing.assert_allclose(v.detach().numpy(), expected[0] if variant != "transpose" else
                                   np.array(expected).T, rtol=1e-6)


def test_a_float_argument_formatted_in_the_body_is_keyed_by_value():
    @torch.compile
    def f(x, lr):
        return x * float(f"{lr:.1f}"), x * float(format(lr, ".2f")), x * float(repr(lr))

    f(torch.ones(1), 0.3)
    assert [t.item() for t in f(torch.ones(1), 0.7)] == pytest.approx([0.7, 0.7, 0.7])


def test_an_instance_attribute_that_shadows_a_class_attribute_is_seen():
    class Head(torch.nn.Module):
        scale = 2.0

        def forward(self, x):
            return x * self.scale

    head = Head()
    f = torch.compile(lambda x: head(x))
    with torch.no_grad():
        assert [f(torch.ones(1)).item() for _ in range(2)] == [2.0, 2.0]
        head.scale = 5.0
        assert [f(torch.ones(1)).item() for _ in range(2)] == [5.0, 5.0]
    assert f.cache_info()["compiles"] == 2
