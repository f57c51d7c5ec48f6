"""srcgrad.optim: every optimiser's trajectory against NumPy implementations of PyTorch's documented
update rules (and against PyTorch where installed), param groups, state dicts, schedulers, and the
performance contract: one cached program per training step, no recompiles when the learning rate moves."""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad.optim import lr_scheduler

# ---------------------------------------------------------------------------
# a smooth objective with a gradient we can also write in NumPy:
#   f(p) = sum(0.5 * a * p**2 + b * p + 0.1 * p**3)      grad = a * p + b + 0.3 * p**2

RNG = np.random.default_rng(7)
P0 = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]
A = [RNG.random((3, 2)) + 0.5, RNG.random(4) + 0.5]
B = [RNG.standard_normal((3, 2)), RNG.standard_normal(4)]


def np_grad(i, p):
    return A[i] * p + B[i] + 0.3 * p * p


def run_ours(cls, steps=6, groups=None, **kw):
    params = [nn.Parameter(sg.tensor(p.copy())) for p in P0]
    if groups is not None:
        opt = cls([dict(params=[params[0]], **groups[0]), dict(params=[params[1]], **groups[1])], **kw)
    else:
        opt = cls(params, **kw)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss = sum((0.5 * sg.tensor(a) * p * p + sg.tensor(b) * p + 0.1 * p ** 3).sum()
                   for p, a, b in zip(params, A, B))
        loss.backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj


def run_ref(update, steps=6, groups=None, **kw):
    params = [p.copy() for p in P0]
    states = [{} for _ in params]
    traj = []
    for _ in range(steps):
        for i in range(len(params)):
            hyper = dict(kw, **(groups[i] if groups else {}))
            params[i] = update(params[i], np_grad(i, params[i]), states[i], **hyper)
        traj.append([p.copy() for p in params])
    return traj


def ref_sgd(p, g, s, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        s["buf"] = g.copy() if "buf" not in s else momentum * s["buf"] + (1 - dampening) * g
        g = g + momentum * s["buf"] if nesterov else s["buf"]
    return p - lr * g


def ref_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    s.setdefault("m", np.zeros_like(p))
    s.setdefault("v", np.zeros_like(p))
    s.setdefault("vmax", np.zeros_like(p))
    s["t"] = s.get("t", 0) + 1
    g = -g if maximize else g
    if weight_decay:
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    mhat = s["m"] / (1 - b1 ** s["t"])
    v = s["v"]
    if amsgrad:
        s["vmax"] = np.maximum(s["vmax"], s["v"])
        v = s["vmax"]
    return p - lr * mhat / (np.sqrt(v / (1 - b2 ** s["t"])) + eps)


def ref_adamw(p, g, s, weight_decay=1e-2, **kw):
    return ref_adam(p, g, s, weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g * g
    if centered:
        s["gavg"] = alpha * s.get("gavg", 0.0) + (1 - alpha) * g
        avg = np.sqrt(s["v"] - s["gavg"] ** 2) + eps
    else:
        avg = np.sqrt(s["v"]) + eps
    if momentum > 0:
        s["buf"] = momentum * s.get("buf", 0.0) + g / avg
        return p - lr * s["buf"]
    return p - lr * g / avg


def ref_adagrad(p, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                maximize=False):
    s["t"] = s.get("t", 0) + 1
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (s["t"] - 1) * lr_decay)
    s["sum"] = s.get("sum", initial_accumulator_value) + g * g
    return p - clr * g / (np.sqrt(s["sum"]) + eps)


CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    (optim.SGD, ref_sgd, dict(lr=0.02, momentum=0.5, maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.05, amsgrad=True, maximize=True)),
    (optim.AdamW, ref_adamw, dict(lr=0.1)),
    (optim.AdamW, ref_adamw, dict(lr=0.05, weight_decay=0.3, amsgrad=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.9, momentum=0.7, centered=True, weight_decay=0.05)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, momentum=0.5, maximize=True)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5)),
]


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_trajectory_matches_numpy_rule(cls, ref, kw):
    ours = run_ours(cls, **kw)
    theirs = run_ref(ref, **kw)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=1e-9, atol=1e-10, err_msg=f"step {step}")


def test_param_groups_have_their_own_hyperparameters():
    groups = [dict(lr=0.1), dict(lr=0.01, momentum=0.0)]
    ours = run_ours(optim.SGD, groups=groups, lr=0.5, momentum=0.9)
    theirs = run_ref(ref_sgd, groups=groups, momentum=0.9)
    for a, b in zip(ours, theirs):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=1e-9)


def test_float32_parameters_stay_float32():
    p = nn.Parameter(sg.randn(5))
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.dtype == sg.float32 and opt.state[p]["exp_avg"].dtype == sg.float32
    assert isinstance(p, nn.Parameter) and p.is_leaf and p.requires_grad


def test_params_without_grad_are_skipped_and_closure():
    a = nn.Parameter(sg.tensor([1.0, 2.0]))
    b = nn.Parameter(sg.tensor([3.0]))
    opt = optim.SGD([a, b], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(a.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(b.detach().numpy(), [3.0])
    assert b not in opt.state or not opt.state[b]


def test_zero_grad_and_add_param_group():
    a = nn.Parameter(sg.ones(2))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    (a * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None
    b = nn.Parameter(sg.ones(1))
    opt.add_param_group({"params": b, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_argument_errors_read_like_pytorch():
    p = [nn.Parameter(sg.ones(1))]
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.SGD(p, lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)
    with pytest.raises(TypeError, match="ordering of tensors in sets will change"):
        optim.SGD([{"params": {p[0]}}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.SGD(p[0], lr=0.1)


def test_repr_matches_pytorch():
    opt = optim.SGD([nn.Parameter(sg.ones(1))], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
                         "    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0.9\n    nesterov: False\n"
                         "    weight_decay: 0\n)")


# ---------------------------------------------------------------------------
# state dicts


def _model_and_data():
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x = sg.randn(8, 3, dtype=sg.float64)
    y = sg.randn(8, 2, dtype=sg.float64)
    return model, x, y


def _snapshot(obj):
    if isinstance(obj, sg.Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_snapshot(v) for v in obj]
    return obj


def _train(model, opt, x, y, steps):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()


def test_state_dict_format_is_pytorchs():
    model, x, y = _model_and_data()
    opt = optim.Adam([{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.01}], lr=0.1,
                     amsgrad=True)
    _train(model, opt, x, y, 2)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert isinstance(sd["state"][0]["step"], sg.Tensor) and sd["state"][0]["step"].item() == 2.0
    assert sd["state"][0]["step"].dtype == sg.float32
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["param_groups"][1]["lr"] == 0.01 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(sd["param_groups"][0]) == ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "foreach",
                                           "capturable", "differentiable", "fused", "decoupled_weight_decay",
                                           "params"]
    # each parameter's entry is the optimiser's own state, as PyTorch's (editing it edits the optimiser)
    first = model[0].weight
    assert sd["state"][0] is opt.state[first]


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9)), (optim.Adam, dict(lr=0.05)),
                                    (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)),
                                    (optim.Adagrad, dict(lr=0.1))])
def test_state_dict_round_trip_resumes_exactly(cls, kw):
    model, x, y = _model_and_data()
    opt = cls(model.parameters(), **kw)
    _train(model, opt, x, y, 3)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    # as in PyTorch, state_dict() refers to the live state tensors, which later steps update in place
    saved_opt = _snapshot(opt.state_dict())
    _train(model, opt, x, y, 3)
    expected = {k: v.numpy() for k, v in model.state_dict().items()}

    model2, _, _ = _model_and_data()
    model2.load_state_dict(saved_model)
    opt2 = cls(model2.parameters(), **kw)
    opt2.load_state_dict(saved_opt)
    _train(model2, opt2, x, y, 3)
    for k, v in model2.state_dict().items():
        np.testing.assert_allclose(v.numpy(), expected[k], rtol=1e-12, atol=1e-12)


def test_load_state_dict_errors():
    a, b = nn.Parameter(sg.ones(1)), nn.Parameter(sg.ones(1))
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="loaded state dict has a different number of parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)


# ---------------------------------------------------------------------------
# schedulers


def _opt(lr=0.1):
    return optim.SGD([nn.Parameter(sg.ones(1))], lr=lr)


def _lrs(sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr()[0])
        sched.optimizer.step()
        sched.step()
    return out


def test_step_multistep_exponential_lambda():
    assert np.allclose(_lrs(lr_scheduler.StepLR(_opt(), step_size=3, gamma=0.5), 10),
                       [0.1 * 0.5 ** (e // 3) for e in range(10)], rtol=1e-14)
    assert np.allclose(_lrs(lr_scheduler.MultiStepLR(_opt(), milestones=[2, 5, 5], gamma=0.1), 8),
                       [0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4, 1e-4], rtol=1e-12)
    assert np.allclose(_lrs(lr_scheduler.ExponentialLR(_opt(), gamma=0.9), 6), [0.1 * 0.9 ** e for e in range(6)],
                       rtol=1e-12)
    assert np.allclose(_lrs(lr_scheduler.LambdaLR(_opt(), lambda e: 1 / (e + 1)), 5),
                       [0.1 / (e + 1) for e in range(5)], rtol=1e-14)


def test_cosine_annealing_follows_closed_form():
    t_max, eta_min = 7, 0.01
    got = _lrs(lr_scheduler.CosineAnnealingLR(_opt(0.2), T_max=t_max, eta_min=eta_min), 3 * t_max)
    want = [eta_min + (0.2 - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2 for e in range(3 * t_max)]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_scheduler_writes_param_groups_and_state_dict_round_trip():
    opt = _opt()
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    assert opt.param_groups[0]["initial_lr"] == 0.1
    _lrs(sched, 3)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01) and sched.last_epoch == 3
    state = sched.state_dict()
    assert "optimizer" not in state and state["base_lrs"] == [0.1] and state["last_epoch"] == 3
    opt2 = _opt()
    sched2 = lr_scheduler.StepLR(opt2, step_size=2, gamma=0.1)
    sched2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = sched2.get_last_lr()[0]
    assert _lrs(sched2, 4) == pytest.approx(_lrs(sched, 4))
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], 1)


# ---------------------------------------------------------------------------
# performance contract: one cached program per step, no recompiles for a moving learning rate


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
                                    (optim.Adam, dict(lr=0.01, amsgrad=True)),
                                    (optim.AdamW, dict(lr=0.01))])
def test_training_loop_compiles_a_bounded_number_of_programs(cls, kw):
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
    opt = cls(model.parameters(), **kw)
    sched = lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)
    x = sg.randn(32, 4)
    y = sg.randint(0, 3, (32,))
    loss_fn = nn.CrossEntropyLoss()
    sg.clear_cache()
    programs, lrs = [], []
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        calls = sg.cache_info()["hits"] + sg.cache_info()["misses"]
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        opt.step()
        # clipping and step() only record: nothing is dispatched, nothing is read back
        assert sg.cache_info()["hits"] + sg.cache_info()["misses"] == calls
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        programs.append(sg.cache_info()["programs"])
    assert len(set(lrs)) == 6  # the learning rate really moved
    assert programs[2] == programs[-1] <= 4, programs  # no growth after the first steps
    # the next step's forward+backward and this step's update of every parameter run as one program call
    calls = sg.cache_info()["hits"] + sg.cache_info()["misses"]
    misses = sg.cache_info()["misses"]
    opt.zero_grad()
    loss_fn(model(x), y).backward()
    assert sg.cache_info()["hits"] + sg.cache_info()["misses"] == calls + 1
    assert sg.cache_info()["misses"] == misses
    assert all(p._node.value is not None for p in model.parameters())  # all updates landed in that call
    for state in opt.state.values():
        assert all(v._node.value is not None for v in state.values() if isinstance(v, sg.Tensor))
    # the learning rate is an argument of the steady-state program, not a constant baked into it
    prog = sg._CACHE.history[-1]
    assert "0.0003125" not in prog.source and str(lrs[-1]) not in prog.source


def test_reading_the_loss_each_step_still_compiles_nothing_new():
    sg.manual_seed(1)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    x, y = sg.randn(16, 3), sg.randn(16, 1)
    misses = []
    for _ in range(10):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        assert math.isfinite(loss.item())
        misses.append(sg.cache_info()["misses"])
    assert misses[3] == misses[-1]


# ---------------------------------------------------------------------------
# against PyTorch (skipped where torch is not installed)

TORCH_CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
               ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, maximize=True)),
               ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
               ("AdamW", dict(lr=0.05, betas=(0.8, 0.95))),
               ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)),
               ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1))]


@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(TORCH_CASES)])
def test_trajectory_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours = run_ours(getattr(optim, name), steps=5, **kw)
    params = [torch.nn.Parameter(torch.tensor(p.copy())) for p in P0]
    opt = getattr(torch.optim, name)(params, **kw)
    for step in range(5):
        opt.zero_grad()
        sum((0.5 * torch.tensor(a) * p * p + torch.tensor(b) * p + 0.1 * p ** 3).sum()
            for p, a, b in zip(params, A, B)).backward()
        opt.step()
        for pa, pt in zip(ours[step], params):
            np.testing.assert_allclose(pa, pt.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    for make in (lambda o, m: m.StepLR(o, 3, 0.3), lambda o, m: m.CosineAnnealingLR(o, 5, 0.001),
                 lambda o, m: m.ExponentialLR(o, 0.8), lambda o, m: m.MultiStepLR(o, [1, 4], 0.5)):
        ours = make(_opt(0.3), lr_scheduler)
        topt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.3)
        theirs = make(topt, torch.optim.lr_scheduler)
        for _ in range(12):
            assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-12)
            ours.optimizer.step()
            topt.step()
            ours.step()
            theirs.step()


# ---------------------------------------------------------------------------
# the fused updates (srcgrad/optim/_fused.py): PyTorch's rule on fixed gradients, in float32 and
# float64, every state tensor compared; a few recorded ops a parameter; schedules that compile nothing

FUSED_CASES = [("Adam", dict(lr=0.01)),
               ("Adam", dict(lr=0.01, amsgrad=True, maximize=True, weight_decay=0.1)),
               ("Adam", dict(lr=0.02, betas=(0.3, 0.6), eps=1e-3)),  # lerp's formula for weights above 0.5
               ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
               ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
               ("AdamW", dict(lr="tensor", betas=(0.8, 0.95))),
               ("Adam", dict(lr="tensor", amsgrad=True, weight_decay=0.05)),
               ("SGD", dict(lr=0.1)),
               ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01, maximize=True)),
               ("SGD", dict(lr="tensor", momentum=0.9, nesterov=True, weight_decay=0.01)),
               ("RMSprop", dict(lr=0.01)),
               ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
               ("RMSprop", dict(lr="tensor", alpha=0.3, centered=True)),
               ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
               ("Adagrad", dict(lr="tensor", maximize=True))]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", FUSED_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FUSED_CASES)])
def test_fused_updates_match_torch_state_by_state(name, kw, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    shapes = [(5, 3), (7,), ()]
    p0 = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(6)]
    ours = [nn.Parameter(sg.tensor(p.copy())) for p in p0]
    theirs = [torch.nn.Parameter(torch.tensor(p.copy())) for p in p0]
    lr_tensor = kw.get("lr") == "tensor"
    opt = getattr(optim, name)(ours, **dict(kw, lr=sg.tensor(0.02) if lr_tensor else kw["lr"]))
    topt = getattr(torch.optim, name)(theirs, **dict(kw, lr=torch.tensor(0.02) if lr_tensor else kw["lr"]))
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    for step in range(6):
        for p, q, g in zip(ours, theirs, grads[step]):
            p.grad, q.grad = sg.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        for p, q in zip(ours, theirs):
            assert p.dtype.name == dtype
            np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **tol, err_msg=f"step {step}")
            assert set(opt.state[p]) == set(topt.state[q])
            for key, v in topt.state[q].items():
                mine = opt.state[p][key]
                assert mine.dtype.name == str(v.dtype).replace("torch.", ""), key
                np.testing.assert_allclose(mine.numpy(), v.numpy(), **tol, err_msg=f"{key} at step {step}")


@pytest.mark.parametrize("cls,kw,per_param", [(optim.Adam, dict(lr=0.01), 4),
                                              (optim.Adam, dict(lr=0.01, amsgrad=True, maximize=True,
                                                                weight_decay=0.1), 5),
                                              (optim.AdamW, dict(lr=0.01), 4),
                                              (optim.SGD, dict(lr=0.01, momentum=0.9, nesterov=True,
                                                               weight_decay=1e-4), 2),
                                              (optim.RMSprop, dict(lr=0.01, momentum=0.9, centered=True), 5),
                                              (optim.Adagrad, dict(lr=0.01), 3)])
def test_a_step_records_one_op_per_tensor_it_writes(cls, kw, per_param, monkeypatch):
    from srcgrad import ir
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = cls(model.parameters(), **kw)
    x, y = sg.randn(8, 2), sg.randint(0, 3, (8,))
    for _ in range(2):  # the first step creates the state
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    recorded = []
    new_node = ir.new_node
    monkeypatch.setattr(ir, "new_node", lambda op, *a, **k: recorded.append(op) or new_node(op, *a, **k))
    opt.step()
    assert len(recorded) == per_param * 4, recorded


@pytest.mark.parametrize("cls,kw", [(optim.Adam, dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
                                    (optim.AdamW, dict(lr=0.05, weight_decay=0.3)),
                                    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                                    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
                                    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01))])
def test_compiled_step_under_a_schedule_matches_define_by_run_and_compiles_once(cls, kw):
    # every hyperparameter, and everything derived from it (AdamW's 1 - lr * weight_decay, the
    # bias corrections), is computed in the program: a replay reads the scheduled lr from param_groups
    compiled = []
    hook = lambda prog, *_: compiled.append(prog)  # noqa: E731
    finals, counts = [], []
    for decorated in (False, True):
        sg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = cls(model.parameters(), **kw)
        sched = lr_scheduler.ExponentialLR(opt, gamma=0.7)
        x, y = sg.randn(16, 3), sg.randn(16, 2)

        def train_step(x, y):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = sg.compile(train_step) if decorated else train_step
        compiled.clear()
        sg.compiler.ON_COMPILE.append(hook)
        try:
            seen = []
            for _ in range(8):
                step(x, y).item()
                sched.step()
                seen.append(len(compiled))
        finally:
            sg.compiler.ON_COMPILE.remove(hook)
        counts.append(seen)
        finals.append([p.detach().numpy() for p in model.parameters()])
        if decorated:
            assert step.compiles <= 2 and step.dynamic_at is None
    for seen in counts:
        assert seen[3] == seen[-1], seen  # nothing compiled once the state exists, though lr moved each step
    for a, b in zip(*finals):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_optimizer_zero_grad_set_to_none_false_zeros_in_place():
    a = nn.Parameter(sg.ones(2))
    opt = optim.Adam([a], lr=0.1)
    (a * 3).sum().backward()
    g = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is g
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])
    (a * 2).sum().backward()
    opt.step()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9], rtol=1e-6)


def test_step_state_is_a_float32_tensor_and_a_loaded_number_becomes_one():
    a = nn.Parameter(sg.ones(2))
    opt = optim.Adam([a], lr=0.1)
    (a * 3).sum().backward()
    opt.step()
    step = opt.state[a]["step"]
    assert isinstance(step, sg.Tensor) and step.dtype == sg.float32 and step.shape == ()
    sd = opt.state_dict()
    assert sd["state"][0]["step"] is step  # the live tensor, as PyTorch
    sd["state"][0]["step"] = 1  # a plain number, as older checkpoints hold
    fresh = optim.Adam([a], lr=0.1)
    fresh.load_state_dict(sd)
    assert isinstance(fresh.state[a]["step"], sg.Tensor) and fresh.state[a]["step"].dtype == sg.float32
    (a * 3).sum().backward()
    fresh.step()
    assert float(fresh.state[a]["step"]) == 2.0


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.Adam(ps, lr=0.1),
                                  lambda ps: optim.RMSprop(ps, lr=0.1, momentum=0.5)])
def test_state_of_another_dtype_than_the_gradient_keeps_its_dtype(make):
    # model.double() leaves the optimiser's float32 state as it is (as in PyTorch); every
    # update must store its result in the state's dtype (a stored program checks exactly).
    sg.manual_seed(0)
    m = sg.nn.Linear(3, 1)
    opt = make(m.parameters())
    x = sg.ones(4, 3)

    def step(x):
        opt.zero_grad()
        m(x).sum().backward()
        opt.step()

    step(x)
    m.double()
    step(x.double())
    step(x.double())
    m.float()
    step(x)
    for t in [p for p in m.parameters()] + [v for st in opt.state.values() for v in st.values()
                                             if isinstance(v, sg.Tensor)]:
        assert np.dtype(t.detach()._value().dtype) == t.dtype.np, (t.dtype, t.detach()._value().dtype)


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps),
                                  lambda ps: optim.RMSprop(ps), lambda ps: optim.Adagrad(ps)])
def test_a_step_records_its_updates_at_the_users_line_and_a_closure_at_its_own(make):
    import inspect
    w = sg.randn(3, requires_grad=True)
    opt = make([w])

    def closure():
        opt.zero_grad()
        loss = (w * w).sum(); line = inspect.currentframe().f_lineno  # noqa: E702
        loss.backward()
        seen.append((loss._node.loc, line))
        return loss

    seen: list = []
    opt.step(closure); line = inspect.currentframe().f_lineno  # noqa: E702
    (loss_loc, loss_line), = seen
    assert loss_loc == (__file__, loss_line)  # the closure's ops: their own lines
    assert w._node.loc == (__file__, line)  # the update: the line calling step()
    assert w.requires_grad and w.is_leaf


@pytest.mark.parametrize("call, error, message", [
    (lambda w: optim.Adam([w], lr=sg.tensor([0.1, 0.2])), ValueError, "Tensor lr must be 1-element"),
    (lambda w: optim.SGD([w], lr=None), TypeError, "'<' not supported between instances of 'NoneType' and 'float'"),
    (lambda w: optim.SGD([w], lr="a"), TypeError, "'<' not supported between instances of 'str' and 'float'"),
    (lambda w: optim.SGD([w], lr=0.1, fused=True, foreach=True), RuntimeError,
     "`fused` and `foreach` cannot be `True` together."),
    (lambda w: optim.Adam([w], fused=True, foreach=True), RuntimeError, "`fused` and `foreach` cannot be `True`"),
    (lambda w: optim.Adam([w], lr=sg.tensor(0.1), foreach=True), ValueError,
     "lr as a Tensor is not supported for capturable=False and foreach=True"),
    (lambda w: optim.SGD([w]).add_param_group([w]), TypeError, "param_group must be a dict, but got <class 'list'>"),
])
def test_bad_hyperparameters_raise_as_pytorch(call, error, message):
    with pytest.raises(error, match=re_escape(message)):
        call(sg.ones(2, requires_grad=True))


def re_escape(text):
    import re
    return re.escape(text)


@pytest.mark.parametrize("make, options", [
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), ["maximize", "foreach", "differentiable", "fused", "nesterov"]),
    (lambda ps: optim.Adam(ps), ["amsgrad", "maximize", "foreach", "capturable", "differentiable",
                                 "decoupled_weight_decay", "fused"]),
    (lambda ps: optim.AdamW(ps), ["decoupled_weight_decay", "maximize"]),
    (lambda ps: optim.RMSprop(ps, momentum=0.5), ["centered", "maximize", "foreach"]),
    (lambda ps: optim.Adagrad(ps), ["maximize", "foreach", "fused"]),
])
def test_a_state_dict_from_before_an_option_existed_loads_with_its_default(make, options):
    # (PyTorch's per-class __setstate__ fills them in; older checkpoints lack them)
    def run(drop):
        w = sg.tensor([1.0, -2.0], requires_grad=True)
        opt = make([w])
        for _ in range(2):
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
        sd = opt.state_dict()
        for k in drop:
            del sd["param_groups"][0][k]
        fresh = make([w])
        fresh.load_state_dict(sd)
        for _ in range(2):
            fresh.zero_grad()
            (w * w).sum().backward()
            fresh.step()
        return w.detach().numpy(), fresh.param_groups[0]

    expect, _ = run([])
    got, group = run(options)
    np.testing.assert_allclose(got, expect, rtol=1e-6)
    assert set(options) <= set(group)
    if isinstance(group.get("decoupled_weight_decay"), bool) and "amsgrad" not in options:
        assert group["decoupled_weight_decay"] is True  # AdamW's own default


def test_step_and_state_dict_hooks_as_pytorch():
    from srcgrad.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook
    w = sg.ones(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt, args, kwargs)))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post",)))
    g1 = register_optimizer_step_pre_hook(lambda o, args, kwargs: calls.append(("global pre",)))
    g2 = register_optimizer_step_post_hook(lambda o, args, kwargs: calls.append(("global post",)))
    try:
        (w * w).sum().backward()
        opt.step()
        # as PyTorch's, args holds all of step's positional arguments, the optimizer first
        assert calls == [("global pre",), ("pre", True, (opt,), {}), ("post",), ("global post",)]
    finally:
        g1.remove()
        g2.remove()
    h1.remove()
    calls.clear()
    opt.step()
    assert calls == [("post",)]
    # a pre-hook may replace the arguments: here, a closure
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 7.0}))
    assert opt.step() == 7.0
    opt.register_step_pre_hook(lambda o, args, kwargs: 5)
    with pytest.raises(RuntimeError, match="must return None or a tuple of \\(new_args, new_kwargs\\), but got 5"):
        opt.step()
    # state dict hooks; prepend puts a hook first
    order = []
    opt.register_state_dict_pre_hook(lambda o: order.append("pre"))
    opt.register_state_dict_pre_hook(lambda o: order.append("pre first"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    assert order == ["pre first", "pre"] and sd["extra"] == 1
    loaded = []
    opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
    opt.register_load_state_dict_post_hook(lambda o: loaded.append(True))
    opt.load_state_dict(sd)
    assert loaded == [True]


def test_a_custom_optimizer_gets_step_hooks_too():
    class Halve(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {})

        @sg.no_grad()
        def step(self, closure=None):
            for g in self.param_groups:
                for p in g["params"]:
                    p.mul_(0.5)

    w = sg.ones(2, requires_grad=True)
    opt = Halve([w])
    seen = []
    opt.register_step_post_hook(lambda o, a, k: seen.append(w.tolist()))
    opt.step()
    assert seen == [[0.5, 0.5]]


def test_sgd_momentum_with_a_parameter_listed_twice_matches_pytorch() -> None:
    # PyTorch gathers the momentum buffers before updating: a duplicate parameter gets two
    # fresh buffers on the first step (the second one kept), then one buffer updated twice.
    # Reference values from PyTorch 2.13 (SGD(lr=0.1, momentum=0.9), loss (w*w).sum(), 3 steps).
    w = nn.Parameter(sg.tensor([1.0, 2.0, 3.0]))
    with pytest.warns(UserWarning, match="duplicate parameters"):
        opt = optim.SGD([w, w], lr=0.1, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [-0.7047, -1.4094, -2.1141], rtol=1e-5)
