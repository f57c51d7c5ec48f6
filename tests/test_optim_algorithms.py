"""Adamax, NAdam, RAdam, Adadelta, ASGD, Rprop, LBFGS and optim.swa_utils: trajectories against
NumPy implementations of PyTorch's documented update rules (and against PyTorch where installed),
state dicts through srcgrad.save/load, argument errors, compiled steps that neither sync nor
recompile, L-BFGS on a Rosenbrock function, weight averaging, SWALR and update_bn."""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad.optim import lr_scheduler, swa_utils

# ---------------------------------------------------------------------------
# a smooth objective whose gradient NumPy can also compute, over three parameters of different shapes:
#   f(p) = sum(0.5 * a * p**2 + b * p + 0.1 * p**3)      grad = a * p + b + 0.3 * p**2

RNG = np.random.default_rng(11)
SHAPES = [(3, 2), (4,), (2, 1, 3)]
P0 = [RNG.standard_normal(s) for s in SHAPES]
A = [RNG.random(s) + 0.5 for s in SHAPES]
B = [RNG.standard_normal(s) for s in SHAPES]
STEPS = 5


def np_grad(i, p):
    return A[i] * p + B[i] + 0.3 * p * p


def _loss(params):
    return sum((0.5 * sg.tensor(a) * p * p + sg.tensor(b) * p + 0.1 * p ** 3).sum() for p, a, b in zip(params, A, B))


def run_ours(cls, steps=STEPS, dtype="float64", **kw):
    params = [nn.Parameter(sg.tensor(p.astype(dtype))) for p in P0]
    opt = cls(params, **kw)
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(params).backward()
        opt.step()
        traj.append([p.detach().numpy().copy() for p in params])
    return traj, opt, params


def run_ref(update, steps=STEPS, **kw):
    params = [p.copy() for p in P0]
    states = [{} for _ in params]
    traj = []
    for _ in range(steps):
        for i in range(len(params)):
            params[i] = update(params[i], np_grad(i, params[i]), states[i], **kw)
        traj.append([p.copy() for p in params])
    return traj


def _dir(p, g, maximize, weight_decay):
    g = -g if maximize else g
    return g + weight_decay * p if weight_decay else g


def ref_adamax(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    b1, b2 = betas
    s["t"] = s.get("t", 0) + 1
    g = _dir(p, g, maximize, weight_decay)
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
    return p - lr / (1 - b1 ** s["t"]) * s["m"] / s["u"]


def ref_nadam(p, g, s, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False):
    b1, b2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = -g if maximize else g
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # PyTorch keeps the product of the mu's as a float32 tensor
    s["mu_product"] = np.float32(s.get("mu_product", np.float32(1.0)) * np.float32(mu))
    mp = float(s["mu_product"])
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    denom = np.sqrt(s["v"] / (1 - b2 ** t)) + eps
    return p - lr * (1 - mu) / (1 - mp) * g / denom - lr * mu_next / (1 - mp * mu_next) * s["m"] / denom


def ref_radam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
              maximize=False):
    b1, b2 = betas
    t = s["t"] = s.get("t", 0) + 1
    g = -g if maximize else g
    if weight_decay:
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
    m_hat = s["m"] / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho_t > 5:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - lr * m_hat * rect * math.sqrt(1 - b2 ** t) / (np.sqrt(s["v"]) + eps)
    return p - lr * m_hat


def ref_adadelta(p, g, s, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    g = _dir(p, g, maximize, weight_decay)
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g * g
    delta = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0.0) + (1 - rho) * delta * delta
    return p - lr * delta


def ref_asgd(p, g, s, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    # eta and mu are float32 tensors in PyTorch's state
    eta = float(s.get("eta", np.float32(lr)))
    mu = float(s.get("mu", np.float32(1.0)))
    t = s["t"] = s.get("t", 0) + 1
    g = _dir(p, g, maximize, weight_decay)
    p = p * (1 - lambd * eta) - eta * g
    s["ax"] = p.copy() if mu == 1 else s["ax"] + (p - s["ax"]) * mu
    s["eta"] = np.float32(lr / (1 + lambd * lr * t) ** alpha)
    s["mu"] = np.float32(1 / max(1, t - t0))
    return p


def ref_rprop(p, g, s, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    g = -g if maximize else g
    prev = s.get("prev", np.zeros_like(p))
    size = s.get("step_size", np.full_like(p, lr))
    sign = np.sign(g * prev)
    size = np.clip(size * np.where(sign > 0, etas[1], np.where(sign < 0, etas[0], 1.0)), *step_sizes)
    g = np.where(sign < 0, 0.0, g)
    s["prev"], s["step_size"] = g, size
    return p - np.sign(g) * size


def _lerp(a, b, w):
    """PyTorch's lerp: exact at both ends."""
    return a + w * (b - a) if w < 0.5 else b - (b - a) * (1 - w)


def ref_adafactor(p, g, s, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False):
    g = -g if maximize else g
    t = s["step"] = s.get("step", 0) + 1
    eps1 = np.finfo(p.dtype).eps if eps[0] is None else eps[0]
    beta2_t = t ** beta2_decay
    alpha = max(eps[1], np.sqrt(np.mean(p * p))) * min(lr, 1 / math.sqrt(t))
    p = p * (1 - lr * weight_decay)
    if g.ndim > 1:  # the factored second moment, over the last two dimensions
        s["row"] = _lerp(s.get("row", 0.0), np.mean(g * g, axis=-1, keepdims=True), beta2_t)
        s["col"] = _lerp(s.get("col", 0.0), np.mean(g * g, axis=-2, keepdims=True), beta2_t)
        v = s["row"] @ s["col"] / np.maximum(s["row"].mean(axis=-2, keepdims=True), eps1)
    else:
        v = s["v"] = _lerp(s.get("v", 0.0), g * g, beta2_t)
    u = g / np.sqrt(np.maximum(v, eps1 * eps1))
    return p - alpha / max(1.0, np.sqrt(np.mean(u * u)) / d) * u


def _steps(cls):
    """RAdam's rectification starts at rho_t > 5, on the 6th step with beta2 = 0.9: run past it."""
    return 7 if cls is optim.RAdam else STEPS


CASES = [
    (optim.Adamax, ref_adamax, dict()),
    (optim.Adamax, ref_adamax, dict(lr=0.1, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, maximize=True)),
    (optim.NAdam, ref_nadam, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01)),
    (optim.NAdam, ref_nadam, dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    # with betas[1] = 0.9, rho_t crosses 5 at t = 6 (RAdam runs 7 steps): both branches are taken
    (optim.RAdam, ref_radam, dict(lr=0.1, betas=(0.9, 0.9), weight_decay=0.1)),
    (optim.RAdam, ref_radam, dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.2, decoupled_weight_decay=True,
                                  maximize=True)),
    (optim.Adadelta, ref_adadelta, dict()),
    (optim.Adadelta, ref_adadelta, dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1, maximize=True)),
    (optim.ASGD, ref_asgd, dict(lr=0.05)),
    (optim.ASGD, ref_asgd, dict(lr=0.05, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
    (optim.Rprop, ref_rprop, dict()),
    (optim.Rprop, ref_rprop, dict(lr=0.3, etas=(0.3, 1.5), step_sizes=(0.01, 0.5), maximize=True)),
    (optim.Adafactor, ref_adafactor, dict()),
    (optim.Adafactor, ref_adafactor, dict(lr=0.5, beta2_decay=-0.5, eps=(1e-5, 1e-2), d=1.5, weight_decay=0.1,
                                          maximize=True)),
]


@pytest.mark.parametrize("cls,ref,kw", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_trajectory_matches_numpy_rule(cls, ref, kw):
    steps = _steps(cls)
    ours, _, _ = run_ours(cls, steps, **kw)
    theirs = run_ref(ref, steps, **kw)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            np.testing.assert_allclose(pa, pb, rtol=1e-9, atol=1e-12, err_msg=f"step {step}")
    # the options changed the trajectory (the tests above can tell the options apart)
    if kw:
        plain = run_ref(ref, steps)
        assert not np.allclose(plain[-1][0], theirs[-1][0])


def test_radam_takes_both_branches_in_one_program_without_syncing():
    # rho_t <= 5 for t < 6 with betas[1] = 0.9: the switch happens inside the program
    realized = []
    orig = sg.compiler.realize

    def counting(*a, **k):
        realized.append(1)
        return orig(*a, **k)

    params = [nn.Parameter(sg.tensor(p.copy())) for p in P0]
    opt = optim.RAdam(params, lr=0.1, betas=(0.9, 0.9))
    programs = []
    for _ in range(8):
        opt.zero_grad()
        _loss(params).backward()
        programs.append(sg.cache_info()["programs"])
        sg.compiler.realize = counting
        try:
            opt.step()
        finally:
            sg.compiler.realize = orig
    assert realized == []  # step() read nothing back
    assert programs[3] == programs[-1], programs  # and crossing rho_t = 5 compiled nothing new
    ours = [p.detach().numpy() for p in params]
    theirs = run_ref(ref_radam, 8, lr=0.1, betas=(0.9, 0.9))[-1]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-9)


@pytest.mark.parametrize("cls,kw", [(optim.Adamax, {}), (optim.NAdam, {}), (optim.RAdam, {}), (optim.Adadelta, {}),
                                    (optim.ASGD, {}), (optim.Rprop, {}), (optim.Adafactor, dict(weight_decay=0.1))])
def test_step_never_reads_a_value_back(cls, kw, monkeypatch):
    params = [nn.Parameter(sg.tensor(p.copy())) for p in P0]
    opt = cls(params, **kw)
    for _ in range(3):
        opt.zero_grad()
        _loss(params).backward()
        calls = []
        monkeypatch.setattr(sg.compiler, "realize", lambda *a, **k: calls.append(a))
        opt.step()
        monkeypatch.undo()
        assert calls == []
    assert float(opt.state[params[0]]["step"]) == 3.0


# ---------------------------------------------------------------------------
# state dicts


STATE_KEYS = {
    "Adamax": {"step", "exp_avg", "exp_inf"},
    "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
    "RAdam": {"step", "exp_avg", "exp_avg_sq"},
    "Adadelta": {"step", "square_avg", "acc_delta"},
    "ASGD": {"step", "eta", "mu", "ax"},
    "Rprop": {"step", "prev", "step_size"},
    "Adafactor": {"step", "row_var", "col_var"},  # (of a matrix; a vector's is "variance")
}

ROUND_TRIP = [(optim.Adamax, dict(lr=0.05, weight_decay=0.1)), (optim.NAdam, dict(lr=0.05)),
              (optim.RAdam, dict(lr=0.05, betas=(0.9, 0.9))), (optim.Adadelta, dict(lr=0.5)),
              (optim.ASGD, dict(lr=0.05, t0=2)), (optim.Rprop, dict(lr=0.05)), (optim.Adafactor, dict(lr=0.05))]


def _model_and_data():
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    return model, sg.randn(8, 3), sg.randn(8, 2)


def _train(model, opt, x, y, steps):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("cls,kw", ROUND_TRIP, ids=[c.__name__ for c, _ in ROUND_TRIP])
def test_state_dict_round_trip_through_save_and_load_resumes_exactly(cls, kw, tmp_path):
    model, x, y = _model_and_data()
    opt = cls(model.parameters(), **kw)
    _train(model, opt, x, y, 3)
    sd = opt.state_dict()
    assert set(sd["state"][0]) == STATE_KEYS[cls.__name__]
    assert sd["state"][0]["step"].dtype == sg.float32 and sd["state"][0]["step"].item() == 3.0
    sg.save({"model": model.state_dict(), "opt": sd}, tmp_path / "ckpt.pt")
    expected = _train(model, opt, x, y, 3)

    model2, _, _ = _model_and_data()
    ckpt = sg.load(tmp_path / "ckpt.pt")
    model2.load_state_dict(ckpt["model"])
    opt2 = cls(model2.parameters(), **kw)
    opt2.load_state_dict(ckpt["opt"])
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    np.testing.assert_allclose(_train(model2, opt2, x, y, 3), expected, rtol=1e-6, atol=1e-7)
    for a, b in zip(model.parameters(), model2.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_param_groups_format_and_repr_are_pytorchs():
    p = nn.Parameter(sg.zeros(2))
    assert list(optim.NAdam([p]).state_dict()["param_groups"][0]) == [
        "lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize", "foreach",
        "capturable", "differentiable", "params"]
    assert list(optim.ASGD([p]).state_dict()["param_groups"][0]) == [
        "lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable", "capturable", "params"]
    text = repr(optim.Adadelta([p]))
    assert text.startswith("Adadelta (\nParameter Group 0\n    capturable: False\n    differentiable: False\n")
    assert "    lr: 1.0\n" in text and "    rho: 0.9\n" in text and "    eps: 1e-06\n" in text
    assert optim.Rprop([p]).defaults["step_sizes"] == (1e-6, 50)
    assert optim.Adamax([p]).defaults["lr"] == 2e-3 and optim.RAdam([p]).defaults["lr"] == 1e-3


# ---------------------------------------------------------------------------
# argument errors (PyTorch's messages)


def _p():
    return [nn.Parameter(sg.zeros(2))]


ERRORS = [
    (lambda: optim.Adamax(_p(), lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda: optim.Adamax(_p(), eps=-1), ValueError, "Invalid epsilon value: -1"),
    (lambda: optim.Adamax(_p(), betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    (lambda: optim.Adamax(_p(), weight_decay=-0.5), ValueError, "Invalid weight_decay value: -0.5"),
    (lambda: optim.Adamax(_p(), lr=sg.tensor([0.1, 0.2])), ValueError, "Tensor lr must be 1-element"),
    (lambda: optim.NAdam(_p(), betas=(0.9, -0.1)), ValueError, r"Invalid beta parameter at index 1: -0\.1"),
    (lambda: optim.NAdam(_p(), momentum_decay=-1), ValueError, "Invalid momentum_decay value: -1"),
    (lambda: optim.RAdam(_p(), lr=-0.1), ValueError, r"Invalid learning rate: -0\.1"),
    (lambda: optim.RAdam(_p(), weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda: optim.Adadelta(_p(), rho=1.5), ValueError, r"Invalid rho value: 1\.5"),
    (lambda: optim.Adadelta(_p(), eps=-1e-6), ValueError, "Invalid epsilon value: -1e-06"),
    (lambda: optim.ASGD(_p(), weight_decay=-1), ValueError, "Invalid weight_decay value: -1"),
    (lambda: optim.Rprop(_p(), etas=(1.5, 1.2)), ValueError, r"Invalid eta values: 1\.5, 1\.2"),
    (lambda: optim.Rprop(_p(), differentiable=True), NotImplementedError, "differentiable=True"),
    (lambda: optim.Adafactor(_p(), lr=-1), ValueError, "Learning rate should be >= 0 but is: -1"),
    (lambda: optim.Adafactor(_p(), beta2_decay=0.5), ValueError, r"beta2_decay should be <= 0 but is: 0\.5"),
    (lambda: optim.Adafactor(_p(), eps=(-1.0, 1e-3)), ValueError, r"epsilon1 should be >= 0 but is: -1\.0"),
    (lambda: optim.Adafactor(_p(), eps=(None, -1.0)), ValueError, r"epsilon2 should be >= 0 but is: -1\.0"),
    (lambda: optim.Adafactor(_p(), d=0.5), ValueError, r"Clipping threshold d should be >= 1 but is: 0\.5"),
    (lambda: optim.Adafactor(_p(), weight_decay=-1), ValueError, "weight_decay should be >= 0 but is: -1"),
    (lambda: optim.LBFGS(_p(), lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda: optim.LBFGS([{"params": _p()}, {"params": _p()}]), ValueError,
     r"LBFGS doesn't support per-parameter options \(parameter groups\)"),
    (lambda: swa_utils.get_ema_multi_avg_fn(1.5), ValueError, r"Invalid decay value 1\.5 provided"),
    (lambda: swa_utils.AveragedModel(nn.Linear(1, 1), avg_fn=swa_utils.get_swa_avg_fn(),
                                     multi_avg_fn=swa_utils.get_swa_multi_avg_fn()), AssertionError,
     "Only one of avg_fn and multi_avg_fn should be provided"),
    (lambda: swa_utils.SWALR(optim.SGD(_p(), lr=0.1), swa_lr=0.05, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda: swa_utils.SWALR(optim.SGD(_p(), lr=0.1), swa_lr=0.05, anneal_epochs=-1), ValueError,
     "anneal_epochs must be equal or greater than 0, got -1"),
    (lambda: swa_utils.SWALR(optim.SGD(_p(), lr=0.1), swa_lr=[0.05, 0.01]), ValueError,
     "swa_lr must have the same length as optimizer.param_groups"),
]


@pytest.mark.parametrize("call,error,message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_argument_errors_read_like_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_options_are_accepted_and_lbfgs_line_search_name_is_checked():
    for cls in (optim.Adamax, optim.NAdam, optim.RAdam, optim.Adadelta, optim.ASGD, optim.Rprop):
        cls(_p(), foreach=True, capturable=True)
    p = nn.Parameter(sg.tensor([1.0, 2.0]))
    opt = optim.LBFGS([p], line_search_fn="armijo")

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)


# ---------------------------------------------------------------------------
# @srcgrad.compile: the same losses as define-by-run, and a learning rate that moves compiles nothing


COMPILED = [(optim.Adamax, dict(lr=0.05, weight_decay=0.1)),
            (optim.NAdam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
            (optim.RAdam, dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1)),
            (optim.Adadelta, dict(lr=0.5, weight_decay=0.1)),
            (optim.ASGD, dict(lr=0.05, t0=1, weight_decay=0.1)),
            (optim.Rprop, dict(lr=0.05, maximize=False)),
            (optim.Adafactor, dict(lr=0.05, weight_decay=0.1))]


@pytest.mark.parametrize("cls,kw", COMPILED, ids=[c.__name__ for c, _ in COMPILED])
def test_compiled_step_matches_define_by_run_and_a_new_lr_does_not_recompile(cls, kw):
    results = []
    for decorated in (False, True):
        model, x, y = _model_and_data()
        opt = cls(model.parameters(), **kw)

        def train_step(x, y):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = sg.compile(train_step) if decorated else train_step
        losses = [step(x, y).item() for _ in range(3)]
        compiles = []
        for k in range(4):  # then a new learning rate every step, as a scheduler writes it
            opt.param_groups[0]["lr"] = kw["lr"] * 0.8 ** (k + 1)
            losses.append(step(x, y).item())
            if decorated:
                compiles.append(step.cache_info()["compiles"])
        if decorated:
            info = step.cache_info()
            assert info["dynamic_at"] is None and info["hits"] >= 4, info
            # (as with Adam, the first change of a float the trace had only seen constant may
            # trace once more; from then on it is a program input)
            assert compiles[-1] == compiles[1] and compiles[-1] <= 2, compiles
        results.append(losses)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-7)
    if cls is not optim.Rprop:  # (Rprop reads lr only for its initial step sizes)
        assert results[0][3:] != run_with_lr_fixed(cls, kw)[3:]


def run_with_lr_fixed(cls, kw):
    model, x, y = _model_and_data()
    return _train(model, cls(model.parameters(), **kw), x, y, 7)


def test_a_scheduled_lr_in_a_define_by_run_loop_compiles_nothing_new():
    model, x, y = _model_and_data()
    opt = optim.NAdam(model.parameters(), lr=0.05)
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.8)
    programs = []
    for _ in range(8):
        _train(model, opt, x, y, 1)
        sched.step()
        programs.append(sg.cache_info()["programs"])
    assert programs[3] == programs[-1], programs


# ---------------------------------------------------------------------------
# against PyTorch


TORCH_CASES = [
    ("Adamax", dict(lr=0.1, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, maximize=True)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.2, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.1, betas=(0.8, 0.95), weight_decay=0.1)),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.9), weight_decay=0.2, decoupled_weight_decay=True)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.1, t0=2, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, maximize=True)),
    ("Rprop", dict(lr=0.1)),
    ("Rprop", dict(lr=0.3, etas=(0.3, 1.5), step_sizes=(0.01, 0.5), maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.5, beta2_decay=-0.5, eps=(1e-5, 1e-2), d=1.5, weight_decay=0.1, maximize=True)),
]


# every case in float64 (to the last bits), the first of each optimiser in float32 too
TORCH_RUNS = [(n, kw, "float64") for n, kw in TORCH_CASES] + [(n, kw, "float32") for n, kw in TORCH_CASES[::2]]


@pytest.mark.parametrize("name,kw,dtype", TORCH_RUNS, ids=[f"{n}-{i}-{d}" for i, (n, _, d) in enumerate(TORCH_RUNS)])
def test_trajectory_and_state_match_torch(name, kw, dtype):
    torch = pytest.importorskip("torch")
    steps = _steps(getattr(optim, name))
    ours, opt, params = run_ours(getattr(optim, name), steps, dtype=dtype, **kw)
    tparams = [torch.nn.Parameter(torch.tensor(p.astype(dtype))) for p in P0]
    topt = getattr(torch.optim, name)(tparams, **kw)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=2e-6, atol=2e-7)
    for step in range(steps):
        topt.zero_grad()
        sum((0.5 * torch.tensor(a) * p * p + torch.tensor(b) * p + 0.1 * p ** 3).sum()
            for p, a, b in zip(tparams, A, B)).backward()
        topt.step()
        for a, b in zip(ours[step], tparams):
            np.testing.assert_allclose(a, b.detach().numpy(), err_msg=f"step {step}", **tol)
    for p, tp in zip(params, tparams):
        ours_state, theirs = opt.state[p], topt.state[tp]
        assert set(ours_state) == set(theirs)
        for k, v in theirs.items():
            assert ours_state[k].dtype.name == str(v.dtype).removeprefix("torch."), k
            np.testing.assert_allclose(ours_state[k].numpy(), v.numpy(), err_msg=k, **tol)


def _rosenbrock(lib, x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _run_lbfgs(lib, cls, line_search_fn, steps=4):
    x = lib.tensor([-1.2, 1.0, -1.2, 1.0], dtype=lib.float64, requires_grad=True)
    opt = cls([x], lr=1, max_iter=25, history_size=6, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(lib, x)
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return x.detach().numpy(), losses, opt


def test_lbfgs_strong_wolfe_minimises_rosenbrock():
    x, losses, opt = _run_lbfgs(sg, optim.LBFGS, "strong_wolfe")
    np.testing.assert_allclose(x, np.ones(4), atol=1e-5)
    assert losses[-1] < 1e-9 < losses[0]
    state = opt.state_dict()["state"][0]
    assert {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad",
            "prev_loss"} <= set(state)
    assert len(state["old_dirs"]) <= 6


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_matches_torch_on_rosenbrock(line_search_fn):
    torch = pytest.importorskip("torch")
    ours = _run_lbfgs(sg, optim.LBFGS, line_search_fn)
    theirs = _run_lbfgs(torch, torch.optim.LBFGS, line_search_fn)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)
    for k in ("func_evals", "n_iter"):
        assert ours[2].state_dict()["state"][0][k] == theirs[2].state_dict()["state"][0][k]


def test_lbfgs_in_a_compiled_step_runs_define_by_run():
    x = nn.Parameter(sg.tensor([-1.2, 1.0], dtype=sg.float64))
    opt = optim.LBFGS([x], max_iter=5, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(sg, x)
        loss.backward()
        return loss

    step = sg.compile(lambda: opt.step(closure))
    with pytest.warns(Warning, match="define-by-run"):
        first = step().item()
    for _ in range(8):
        step()
    assert step.cache_info()["dynamic_at"] is not None  # the host reads make the step define-by-run
    assert _rosenbrock(sg, x).item() < 1e-3 < first


# ---------------------------------------------------------------------------
# swa_utils


def _models(n):
    out = []
    for i in range(n):
        sg.manual_seed(i)
        out.append(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1)))
    return out


def _flat(model, buffers=False):
    ts = list(model.parameters()) + (list(model.buffers()) if buffers else [])
    return [t.detach().numpy().copy() for t in ts]


def test_averaged_model_default_is_the_running_mean_and_copies_buffers():
    models = _models(3)
    for m in models:  # distinct BatchNorm statistics per model
        m.train()
        m(sg.randn(6, 3))
    swa = swa_utils.AveragedModel(models[0])
    for m in models:
        swa.update_parameters(m)
    assert swa.n_averaged.item() == 3 and swa.n_averaged.dtype == sg.int64
    mean = [np.mean(ps, axis=0) for ps in zip(*[_flat(m) for m in models])]
    for a, b in zip(_flat(swa.module), mean):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # buffers are the last model's (use_buffers=False)
    for a, b in zip(swa.module.buffers(), models[-1].buffers()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = sg.randn(5, 3)
    swa.eval()
    np.testing.assert_allclose(swa(x).detach().numpy(), swa.module(x).detach().numpy())
    assert "n_averaged" in swa.state_dict() and "module.0.weight" in swa.state_dict()


@pytest.mark.parametrize("make", ["multi", "avg"])
def test_averaged_model_ema(make):
    decay = 0.9
    fn = dict(multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay)) if make == "multi" else \
        dict(avg_fn=swa_utils.get_ema_avg_fn(decay))
    models = _models(3)
    ema = swa_utils.AveragedModel(models[0], use_buffers=True, **fn)
    for m in models:
        ema.update_parameters(m)
    flats = [_flat(m, buffers=True) for m in models]
    expected = flats[0]
    for f in flats[1:]:
        expected = [decay * e + (1 - decay) * c for e, c in zip(expected, f)]
    got = _flat(ema.module, buffers=True)
    for a, b in zip(got[:6], expected[:6]):  # parameters, running mean and variance
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_swa_multi_avg_fn_and_custom_avg_fn():
    models = _models(3)
    swa = swa_utils.AveragedModel(models[0], multi_avg_fn=swa_utils.get_swa_multi_avg_fn())
    last = swa_utils.AveragedModel(models[0], avg_fn=lambda avg, cur, n: cur * 2)
    for m in models:
        swa.update_parameters(m)
        last.update_parameters(m)
    mean = [np.mean(ps, axis=0) for ps in zip(*[_flat(m) for m in models])]
    for a, b in zip(_flat(swa.module), mean):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(_flat(last.module), _flat(models[-1])):
        np.testing.assert_allclose(a, 2 * b, rtol=1e-6)


def _swalr_lrs(mod, strategy, anneal_epochs, epochs=8):
    p = mod.nn.Parameter(mod.zeros(2))
    opt = mod.optim.SGD([p], lr=1.0)
    sched = mod.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs, sched


@pytest.mark.parametrize("strategy,anneal_epochs", [("cos", 4), ("linear", 4), ("cos", 0), ("linear", 1)])
def test_swalr_anneals_to_swa_lr(strategy, anneal_epochs):
    lrs, sched = _swalr_lrs(sg, strategy, anneal_epochs)
    f = (lambda t: t) if strategy == "linear" else (lambda t: (1 - math.cos(math.pi * t)) / 2)
    # closed form: lr_k = swa_lr * alpha_k + lr_0 * (1 - alpha_k), alpha_k = f(min(1, k / anneal_epochs))
    expected = [0.1 * f(min(1, max(k, 1 if anneal_epochs == 0 else 0) / max(1, anneal_epochs)))
                + 1.0 * (1 - f(min(1, max(k, 1 if anneal_epochs == 0 else 0) / max(1, anneal_epochs))))
                for k in range(len(lrs))]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] == pytest.approx(0.1)
    state = sched.state_dict()
    assert "anneal_func" not in state and state["_anneal_strategy"] == strategy
    sched.load_state_dict(state)
    assert sched.anneal_func(1.0) == 1.0


def test_update_bn_recomputes_the_running_statistics():
    sg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=0.3))
    batches = [sg.randn(5, 3) for _ in range(3)]
    loader = [(b, sg.zeros(5)) for b in batches]  # (input, target) pairs: the input is used
    model.eval()
    swa_utils.update_bn(loader, model)
    assert not model.training and model[1].momentum == 0.3
    hidden = [model[0](b).detach().numpy() for b in batches]
    np.testing.assert_allclose(model[1].running_mean.numpy(), np.mean([h.mean(0) for h in hidden], 0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model[1].running_var.numpy(), np.mean([h.var(0, ddof=1) for h in hidden], 0),
                               rtol=1e-5, atol=1e-6)
    assert model[1].num_batches_tracked.item() == 3
    swa_utils.update_bn(loader, nn.Linear(3, 1))  # no BatchNorm: nothing to do


def test_swa_utils_match_torch():
    torch = pytest.importorskip("torch")
    for strategy, epochs in (("cos", 3), ("linear", 5), ("cos", 0)):
        ours, _ = _swalr_lrs(sg, strategy, epochs)
        theirs, _ = _swalr_lrs(torch, strategy, epochs)
        np.testing.assert_allclose(ours, theirs, rtol=1e-13)
    # AveragedModel with the default average, and update_bn, on the same weights and batches
    ours_models, their_models = _models(3), []
    for m in ours_models:
        t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
        t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
        their_models.append(t)
    batches = [np.random.default_rng(i).standard_normal((6, 3)).astype("float32") for i in range(3)]
    results = []
    for lib, models in ((sg, ours_models), (torch, their_models)):
        avg = lib.optim.swa_utils.AveragedModel(models[0])
        ema = lib.optim.swa_utils.AveragedModel(models[0], multi_avg_fn=lib.optim.swa_utils.get_ema_multi_avg_fn(0.7))
        for m in models:
            avg.update_parameters(m)
            ema.update_parameters(m)
        lib.optim.swa_utils.update_bn([lib.tensor(b) for b in batches], avg)
        results.append([{k: v.detach().numpy() for k, v in a.state_dict().items()} for a in (avg, ema)])
    for ours, theirs in zip(*results):
        assert list(ours) == list(theirs)
        for k in ours:
            np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-5, atol=1e-6, err_msg=k)
