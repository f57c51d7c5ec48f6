"""srcgrad.optim.lr_scheduler: every scheduler's sequence (hand-computed, and against PyTorch where
installed) over many steps, momentum cycling, ``step(epoch)`` closed forms, resuming, state dicts,
argument checks, PyTorch's warnings, and a schedule under ``srcgrad.compile`` compiling once."""

from __future__ import annotations

import copy
import math
import re
import warnings

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad.optim import lr_scheduler

STEPS = 40


def _params(lib):
    if lib is sg:
        return [nn.Parameter(sg.ones(1)), nn.Parameter(sg.ones(1))]
    return [lib.nn.Parameter(lib.ones(1)), lib.nn.Parameter(lib.ones(1))]


def make_opt(lib, kind="sgd", groups=2):
    """Two param groups with different learning rates (one where ``groups == 1``)."""
    p = _params(lib)
    spec = [{"params": [p[0]], "lr": 0.1}, {"params": [p[1]], "lr": 0.03}][:groups]
    if kind == "sgd":
        return lib.optim.SGD(spec, lr=0.1, momentum=0.9)
    if kind == "plain":
        return lib.optim.SGD(spec, lr=0.1)
    return lib.optim.Adam(spec, lr=0.1)


def run(sched, steps=STEPS):
    """(lrs, momentum or beta1 of every group, last_epoch) before each of ``steps`` steps."""
    opt = sched.optimizer
    out = []
    for _ in range(steps):
        groups = opt.param_groups
        out.append((list(sched.get_last_lr()), [g.get("momentum", g.get("betas", (None,))[0]) for g in groups],
                    getattr(sched, "last_epoch", None)))
        opt.step()
        sched.step()
    return out


def lrs(sched, steps):
    return [lr for lr, _, _ in run(sched, steps)]


def first(seq):
    return [lr[0] for lr in seq]


# every scheduler, with a few argument sets: `make(optimizer, module)`
CASES = {
    "LambdaLR": lambda o, M: M.LambdaLR(o, lambda e: 0.9 ** e),
    "LambdaLR-list": lambda o, M: M.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.95 ** e]),
    "MultiplicativeLR": lambda o, M: M.MultiplicativeLR(o, lambda e: 0.95),
    "StepLR": lambda o, M: M.StepLR(o, 3, 0.5),
    "MultiStepLR": lambda o, M: M.MultiStepLR(o, [2, 5, 5, 9], 0.3),
    "ConstantLR": lambda o, M: M.ConstantLR(o, 0.25, 4),
    "ConstantLR-default": lambda o, M: M.ConstantLR(o),
    "LinearLR": lambda o, M: M.LinearLR(o, 0.1, 0.9, 7),
    "LinearLR-decay": lambda o, M: M.LinearLR(o, 1.0, 0.05, 30),
    "ExponentialLR": lambda o, M: M.ExponentialLR(o, 0.93),
    "PolynomialLR": lambda o, M: M.PolynomialLR(o, 10, 2.0),
    "PolynomialLR-default": lambda o, M: M.PolynomialLR(o),
    "CosineAnnealingLR": lambda o, M: M.CosineAnnealingLR(o, 6, 0.001),
    "CosineAnnealingWarmRestarts": lambda o, M: M.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "CosineAnnealingWarmRestarts-1": lambda o, M: M.CosineAnnealingWarmRestarts(o, 7),
    "CyclicLR": lambda o, M: M.CyclicLR(o, 0.01, [0.1, 0.2], 4, 3, "triangular2"),
    "CyclicLR-exp": lambda o, M: M.CyclicLR(o, 0.01, 0.1, 5, mode="exp_range", gamma=0.9),
    "CyclicLR-tri": lambda o, M: M.CyclicLR(o, [0.01, 0.02], 0.1, 6, base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-fn": lambda o, M: M.CyclicLR(o, 0.01, 0.1, 3, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
                                           cycle_momentum=False),
    "OneCycleLR": lambda o, M: M.OneCycleLR(o, [1.0, 0.5], total_steps=STEPS),
    "OneCycleLR-3": lambda o, M: M.OneCycleLR(o, 0.3, epochs=5, steps_per_epoch=8, pct_start=0.25,
                                              anneal_strategy="linear", three_phase=True),
    "OneCycleLR-nomom": lambda o, M: M.OneCycleLR(o, 0.2, total_steps=50, cycle_momentum=False, div_factor=10.0,
                                                  final_div_factor=100.0),
    "SequentialLR": lambda o, M: M.SequentialLR(
        o, [M.LinearLR(o, 0.2, total_iters=4), M.ExponentialLR(o, 0.9), M.StepLR(o, 2)], [5, 12]),
    "SequentialLR-cos": lambda o, M: M.SequentialLR(
        o, [M.ConstantLR(o, 0.1, 3), M.CosineAnnealingLR(o, 10)], [4]),
    "ChainedScheduler": lambda o, M: M.ChainedScheduler([M.ConstantLR(o, 0.5, 6), M.ExponentialLR(o, 0.9)]),
    "ChainedScheduler-opt": lambda o, M: M.ChainedScheduler(
        [M.LinearLR(o, 0.5, total_iters=10), M.MultiStepLR(o, [3, 20], 0.5)], optimizer=o),
}
MOMENTUM_CASES = [k for k in CASES if k.startswith(("CyclicLR", "OneCycleLR"))]


# ---------------------------------------------------------------------------
# hand-computed sequences (no PyTorch needed)


def test_multiplicative_constant_linear_polynomial_by_hand():
    assert first(lrs(lr_scheduler.MultiplicativeLR(make_opt(sg), lambda e: 0.9), 6)) == pytest.approx(
        [0.1 * 0.9 ** e for e in range(6)], rel=1e-12)
    assert first(lrs(lr_scheduler.ConstantLR(make_opt(sg), 0.5, 3), 6)) == pytest.approx(
        [0.05, 0.05, 0.05, 0.1, 0.1, 0.1], rel=1e-12)
    assert first(lrs(lr_scheduler.LinearLR(make_opt(sg), 0.5, 1.0, 4), 7)) == pytest.approx(
        [0.1 * (0.5 + 0.5 * min(e, 4) / 4) for e in range(7)], rel=1e-12)
    assert first(lrs(lr_scheduler.PolynomialLR(make_opt(sg), 4, 2.0), 7)) == pytest.approx(
        [0.1 * (1 - min(e, 4) / 4) ** 2 for e in range(7)], rel=1e-12, abs=1e-15)


def test_cosine_annealing_warm_restarts_by_hand():
    got = first(lrs(lr_scheduler.CosineAnnealingWarmRestarts(make_opt(sg), T_0=2, T_mult=2, eta_min=0.01), 14))
    t_cur, t_i, want = 0, 2, []
    for _ in range(14):
        want.append(0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t_cur / t_i)) / 2)
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * 2
    assert got == pytest.approx(want, rel=1e-12)
    assert got[0] == got[2] == got[6] == pytest.approx(0.1)  # restarts after 2, then 4, then 8 epochs


def test_cyclic_lr_triangle_and_momentum_by_hand():
    opt = make_opt(sg)
    seq = run(lr_scheduler.CyclicLR(opt, base_lr=0.01, max_lr=0.05, step_size_up=2), 9)
    assert [lr[0] for lr, _, _ in seq] == pytest.approx([0.01, 0.03, 0.05, 0.03, 0.01, 0.03, 0.05, 0.03, 0.01])
    assert [m[0] for _, m, _ in seq] == pytest.approx([0.9, 0.85, 0.8, 0.85, 0.9, 0.85, 0.8, 0.85, 0.9])
    assert opt.param_groups[1]["base_momentum"] == 0.8 and opt.param_groups[1]["max_momentum"] == 0.9
    # triangular2 halves the amplitude every cycle
    got = first(lrs(lr_scheduler.CyclicLR(make_opt(sg), 0.0, 1.0, 1, cycle_momentum=False), 7))
    assert got == pytest.approx([0, 1, 0, 1, 0, 1, 0])
    got = first(lrs(lr_scheduler.CyclicLR(make_opt(sg), 0.0, 1.0, 1, mode="triangular2", cycle_momentum=False), 7))
    assert got == pytest.approx([0, 1, 0, 0.5, 0, 0.25, 0])


def test_one_cycle_linear_by_hand_and_betas():
    opt = make_opt(sg, "adam", groups=1)
    seq = run(lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="linear"), 10)
    initial, low = 1.0 / 25, 1.0 / 25 / 1e4
    # warm-up over steps 0..2 (pct_start 0.3), then down to min_lr at step 9
    want = [initial + (1.0 - initial) * s / 2 for s in range(3)] + [1.0 + (low - 1.0) * (s - 2) / 7
                                                                     for s in range(3, 10)]
    assert [lr[0] for lr, _, _ in seq] == pytest.approx(want, rel=1e-12)
    beta1 = [m[0] for _, m, _ in seq]
    assert beta1[0] == pytest.approx(0.95) and beta1[2] == pytest.approx(0.85) and beta1[9] == pytest.approx(0.95)
    assert opt.param_groups[0]["betas"][1] == 0.999
    g = opt.param_groups[0]
    assert (g["initial_lr"], g["max_lr"], g["min_lr"]) == pytest.approx((initial, 1.0, low))
    sched = lr_scheduler.OneCycleLR(make_opt(sg), max_lr=1.0, total_steps=10)
    for _ in range(10):
        sched.optimizer.step()
        sched.step()
    with pytest.raises(ValueError) as info:
        sched.step()
    assert info.value.args[0] == "Tried to step 11 times. The specified number of total steps is 10"


def test_sequential_and_chained_by_hand():
    opt = make_opt(sg)
    sched = lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(opt, 0.1, 2), lr_scheduler.ExponentialLR(opt, 0.5)],
                                      milestones=[3])
    assert first(lrs(sched, 7)) == pytest.approx([0.01, 0.01, 0.1, 0.1, 0.05, 0.025, 0.0125], rel=1e-12)
    assert sched.last_epoch == 7
    opt = make_opt(sg)
    sched = lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt, 0.5, 2), lr_scheduler.ExponentialLR(opt, 0.9)])
    assert first(lrs(sched, 6)) == pytest.approx([0.1 * 0.9 ** e * (0.5 if e < 2 else 1) for e in range(6)],
                                                 rel=1e-12)


def test_reduce_lr_on_plateau_by_hand():
    opt = make_opt(sg)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=[0.02, 0.0])
    got = []
    for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.5, 0.6]:
        sched.step(loss)
        got.append(sched.get_last_lr())
    assert [g[0] for g in got] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025])
    assert got[-1][1] == pytest.approx(0.03 / 4) and sched.best == 0.5 and sched.last_epoch == 10
    for _ in range(10):
        sched.step(1.0)
    assert sched.get_last_lr()[0] == 0.02  # min_lr
    # max mode, absolute threshold; a tensor metric is read as a float
    opt = make_opt(sg)
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", threshold=0.1, threshold_mode="abs", patience=0)
    sched.step(sg.tensor(1.0))
    sched.step(1.05)  # not better by 0.1
    assert sched.best == 1.0 and sched.get_last_lr()[0] == pytest.approx(0.01)
    # eps: a reduction smaller than eps is skipped (0.03 -> 0.003), a larger one is not
    opt = make_opt(sg)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, eps=0.08)
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr()[0] == pytest.approx(0.01) and sched.get_last_lr()[1] == 0.03  # 0.027 < eps


# ---------------------------------------------------------------------------
# against PyTorch: the same schedule, exactly (every lr, momentum, beta1, group entry, state dict)


def _compare(ours, theirs, steps=STEPS):
    a, b = ours.optimizer, theirs.optimizer
    for i in range(steps):
        assert ours.get_last_lr() == theirs.get_last_lr(), i
        assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None), i
        for ga, gb in zip(a.param_groups, b.param_groups):
            assert {k: v for k, v in ga.items() if k in gb and k != "params"} == \
                {k: v for k, v in gb.items() if k != "params"}, i
        sa, sb = ours.state_dict(), theirs.state_dict()
        assert list(sa) == list(sb) and sa == sb, i
        a.step()
        b.step()
        ours.step()
        theirs.step()


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(CASES))
def test_schedule_matches_torch(name, kind):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning on either side in the documented order
        ours = CASES[name](make_opt(sg, kind), lr_scheduler)
        theirs = CASES[name](make_opt(torch, kind), torch.optim.lr_scheduler)
        _compare(ours, theirs)


CLOSED_FORM = ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
               "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "CyclicLR"]


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_step_with_epoch_matches_torch(name):
    torch = pytest.importorskip("torch")
    ours = CASES[name](make_opt(sg), lr_scheduler)
    theirs = CASES[name](make_opt(torch), torch.optim.lr_scheduler)
    epochs = [3, 7, 1, 12, 0, 5.5 if name == "CosineAnnealingWarmRestarts" else 5, 30]
    for e in epochs:
        with warnings.catch_warnings(record=True) as ws_ours:
            warnings.simplefilter("always")
            ours.step(e)
        with warnings.catch_warnings(record=True) as ws_theirs:
            warnings.simplefilter("always")
            theirs.step(e)
        assert [str(w.message) for w in ws_ours] == [str(w.message) for w in ws_theirs]
        assert ours.get_last_lr() == theirs.get_last_lr() and ours.last_epoch == theirs.last_epoch, e
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == theirs.get_last_lr(), e
    if name != "CosineAnnealingWarmRestarts":
        assert any(lr_scheduler.EPOCH_DEPRECATION_WARNING == str(w.message) for w in ws_ours)


@pytest.mark.parametrize("make", [lambda o, M: M.StepLR(o, 3, 0.5, last_epoch=4),
                                  lambda o, M: M.CosineAnnealingLR(o, 6, 0.001, last_epoch=4),
                                  lambda o, M: M.CosineAnnealingWarmRestarts(o, 3, 2, 0.001, last_epoch=4),
                                  lambda o, M: M.LinearLR(o, last_epoch=2),
                                  lambda o, M: M.PolynomialLR(o, 8, last_epoch=3),
                                  lambda o, M: M.ExponentialLR(o, 0.8, last_epoch=5)])
def test_resuming_with_last_epoch_matches_torch(make):
    torch = pytest.importorskip("torch")
    a, b = make_opt(sg), make_opt(torch)
    for g in a.param_groups + b.param_groups:
        g["initial_lr"] = g["lr"] * 2
    _compare(make(a, lr_scheduler), make(b, torch.optim.lr_scheduler), 20)


@pytest.mark.parametrize("mode", ["min", "max"])
@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("kw", [{}, dict(patience=2, cooldown=3, factor=0.5, min_lr=[0.001, 0.02], threshold=0.05),
                                dict(patience=0, eps=0.01, min_lr=0.004, factor=0.3)])
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode, kw):
    torch = pytest.importorskip("torch")
    ours = lr_scheduler.ReduceLROnPlateau(make_opt(sg), mode, threshold_mode=threshold_mode, **kw)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(make_opt(torch), mode, threshold_mode=threshold_mode, **kw)
    rng = np.random.default_rng(0)
    metric = 1.0
    for i in range(60):
        metric += rng.uniform(-0.1, 0.1) * (1 if i % 10 < 5 else 0.01)
        ours.step(metric)
        theirs.step(metric)
        assert ours.get_last_lr() == theirs.get_last_lr(), i
        assert ours.state_dict() == theirs.state_dict(), i
    assert ours.get_last_lr() != [0.1, 0.03]  # it did reduce


# ---------------------------------------------------------------------------
# state dicts


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_mid_schedule(name, kind, tmp_path):
    opt = make_opt(sg, kind)
    sched = CASES[name](opt, lr_scheduler)
    run(sched, 13)
    opt_state = copy.deepcopy(opt.state_dict())
    state = copy.deepcopy(sched.state_dict())
    assert state.get("last_epoch", 13) == 13  # (ChainedScheduler has none)
    assert "optimizer" not in state
    rest = run(sched, 25)
    # a fresh optimizer and scheduler (built as before, then loaded; the state dict through a file)
    sg.save({"optimizer": opt_state, "scheduler": state}, tmp_path / "ckpt.pt")
    ckpt = sg.load(tmp_path / "ckpt.pt")
    opt2 = make_opt(sg, kind)
    sched2 = CASES[name](opt2, lr_scheduler)
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    assert sched2.get_last_lr() == state["_last_lr"]
    assert run(sched2, 25) == rest


def test_state_dict_has_torch_keys():
    sched = lr_scheduler.StepLR(make_opt(sg), 2)
    assert list(sched.state_dict()) == ["step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_is_initial",
                                        "_get_lr_called_within_step", "_last_lr"]
    assert sched.state_dict()["_get_lr_called_within_step"] is False
    # plain functions are not saved, callable objects' attributes are
    class Scale:
        def __init__(self):
            self.k = 0.5

        def __call__(self, e):
            return self.k ** e

    fn = Scale()
    sched = lr_scheduler.LambdaLR(make_opt(sg), [lambda e: 1.0, fn])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [None, {"k": 0.5}]
    fn2 = Scale()
    fn2.k = 0.1
    sched2 = lr_scheduler.LambdaLR(make_opt(sg), [lambda e: 1.0, fn2])
    sched2.load_state_dict(state)
    assert fn2.k == 0.5 and "lr_lambdas" in state
    cyc = lr_scheduler.CyclicLR(make_opt(sg), 0.01, 0.1).state_dict()
    assert "_scale_fn_ref" not in cyc and cyc["_scale_fn_custom"] is None


def test_state_dicts_match_torch_for_reduce_and_composite():
    torch = pytest.importorskip("torch")
    for make in (lambda o, M: M.ReduceLROnPlateau(o, "max", 0.5, 3, min_lr=[0.0, 0.01]),
                 lambda o, M: M.SequentialLR(o, [M.ConstantLR(o), M.ExponentialLR(o, 0.9)], [3]),
                 lambda o, M: M.ChainedScheduler([M.ConstantLR(o), M.ExponentialLR(o, 0.9)]),
                 lambda o, M: M.CosineAnnealingWarmRestarts(o, 3)):
        ours, theirs = make(make_opt(sg), lr_scheduler), make(make_opt(torch), torch.optim.lr_scheduler)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert ours.state_dict() == theirs.state_dict()


# ---------------------------------------------------------------------------
# argument checks: PyTorch's error types and messages


ERRORS = [
    (lambda o, M: M.StepLR([], 1), TypeError, "list is not an Optimizer"),
    (lambda o, M: M.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
    (lambda o, M: M.MultiplicativeLR(o, [lambda e: 1.0, 0.5]), TypeError, "lr_lambda should be a function, but got float"),
    (lambda o, M: M.ConstantLR(o, 1.5), ValueError, "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda o, M: M.LinearLR(o, 0.0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda o, M: M.LinearLR(o, 0.5, 1.5), ValueError, "Ending multiplicative factor expected to be between 0 and 1."),
    (lambda o, M: M.CosineAnnealingWarmRestarts(o, 0), ValueError, "Expected positive integer T_0, but got 0"),
    (lambda o, M: M.CosineAnnealingWarmRestarts(o, 2.0), ValueError, "Expected positive integer T_0, but got 2.0"),
    (lambda o, M: M.CosineAnnealingWarmRestarts(o, 2, 0), ValueError, "Expected integer T_mult >= 1, but got 0"),
    (lambda o, M: M.CosineAnnealingWarmRestarts(o, 2, 1, "0"), ValueError,
     "Expected float or int eta_min, but got 0 of type <class 'str'>"),
    (lambda o, M: M.CyclicLR(o, 0.01, 0.1, mode="square"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda o, M: M.CyclicLR(o, [0.01], 0.1), ValueError,
     "base_lr must have the same length as optimizer.param_groups. base_lr has 1 values, param_groups has 2."),
    (lambda o, M: M.CyclicLR(_no_momentum(o), 0.01, 0.1), ValueError,
     "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"),
    (lambda o, M: M.CyclicLR(3, 0.01, 0.1), TypeError, "int is not an Optimizer"),
    (lambda o, M: M.OneCycleLR(o, 0.1), ValueError, "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda o, M: M.OneCycleLR(o, 0.1, total_steps=0), ValueError, "Expected positive integer total_steps, but got 0"),
    (lambda o, M: M.OneCycleLR(o, 0.1, total_steps=5.0), ValueError,
     "Expected positive integer total_steps, but got 5.0"),
    (lambda o, M: M.OneCycleLR(o, 0.1, epochs=-1, steps_per_epoch=3), ValueError,
     "Expected positive integer epochs, but got -1"),
    (lambda o, M: M.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0), ValueError,
     "Expected positive integer steps_per_epoch, but got 0"),
    (lambda o, M: M.OneCycleLR(o, 0.1, 10, pct_start=1), ValueError, "Expected float between 0 and 1 pct_start, but got 1"),
    (lambda o, M: M.OneCycleLR(o, 0.1, 10, anneal_strategy="cosine"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got cosine"),
    (lambda o, M: M.OneCycleLR(o, [0.1, 0.2, 0.3], 10), ValueError,
     "max_lr must have the same length as optimizer.param_groups. max_lr has 3 values, param_groups has 2."),
    (lambda o, M: M.OneCycleLR(o, 0.1, 10, max_momentum=[0.9]), ValueError,
     "max_momentum must have the same length as optimizer.param_groups. max_momentum has 1 values, "
     "param_groups has 2."),
    (lambda o, M: M.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0."),
    (lambda o, M: M.ReduceLROnPlateau(o, mode="low"), ValueError, "mode low is unknown!"),
    (lambda o, M: M.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold mode pct is unknown!"),
    (lambda o, M: M.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
    (lambda o, M: M.ReduceLROnPlateau("opt"), TypeError, "str is not an Optimizer"),
    (lambda o, M: M.SequentialLR(o, [], []), ValueError, "SequentialLR expects at least one scheduler, but got no "
                                                         "scheduler."),
    (lambda o, M: M.SequentialLR(o, [M.ConstantLR(o), M.ExponentialLR(o, 0.9)], []), ValueError,
     "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone "
     "points, but got number of schedulers 2 and the number of milestones to be equal to 0"),
    (lambda o, M: M.SequentialLR(o, [M.ConstantLR(o), 3], [2]), TypeError,
     "SequentialLR at index 1 should have `optimizer` as its attribute."),
    (lambda o, M: M.SequentialLR(o, [M.ReduceLROnPlateau(o)], []), ValueError,
     "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be specified "
     "when calling `step`, but got one at index 0 in the given schedulers sequence."),
    (lambda o, M: M.ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
    (lambda o, M: M.ChainedScheduler([M.ConstantLR(o), M.ReduceLROnPlateau(o)]), ValueError,
     "ChainedScheduler does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be "
     "specified when calling `step`, but got one at index 1 in the given schedulers sequence."),
    (lambda o, M: M.StepLR(o, 2, last_epoch=3), KeyError,
     "param 'initial_lr' is not specified in param_groups[0] when resuming scheduler with last_epoch >= 0.\n"
     "This typically happens when:\n1. You're trying to resume training from a checkpoint but haven't properly "
     "loaded the optimizer state\n2. You're using last_epoch >= 0 for a fresh training run (not recommended)"),
]


def _no_momentum(opt):
    """An optimizer of the same library without momentum or betas (Adagrad)."""
    mod = type(opt).__module__.split(".")[0]
    lib = sg if mod == "srcgrad" else __import__(mod)
    return lib.optim.Adagrad(_params(lib), lr=0.1)


@pytest.mark.parametrize("make,exc,message", ERRORS, ids=[f"{e[1].__name__}-{i}" for i, e in enumerate(ERRORS)])
def test_argument_errors(make, exc, message):
    with pytest.raises(exc) as info:
        make(make_opt(sg), lr_scheduler)
    got = info.value.args[0]
    assert got == message


@pytest.mark.parametrize("make,exc,message", ERRORS, ids=[f"{e[1].__name__}-{i}" for i, e in enumerate(ERRORS)])
def test_argument_errors_match_torch(make, exc, message):
    torch = pytest.importorskip("torch")
    with pytest.raises(exc) as info:
        make(make_opt(torch), torch.optim.lr_scheduler)
    assert info.value.args[0] == message


def test_schedulers_of_another_optimizer_are_refused():
    for lib, mod in [(sg, lr_scheduler)] + ([] if _torch() is None else [(_torch(), _torch().optim.lr_scheduler)]):
        a, b = make_opt(lib), make_opt(lib)
        for cls, args in ((mod.SequentialLR, lambda s: (a, s, [2])), (mod.ChainedScheduler, lambda s: (s, a))):
            with pytest.raises(ValueError) as info:
                cls(*args([mod.ConstantLR(a), mod.ExponentialLR(b, 0.9)]))
            assert info.value.args[0] == (
                f"{cls.__name__} expects all schedulers to belong to the same optimizer, but got scheduler "
                f"ExponentialLR at index 1 has {b}, which is different from {type(a).__name__}.")


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def test_reduce_lr_on_plateau_with_a_new_param_group():
    opt = make_opt(sg, groups=1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0])
    opt.add_param_group({"params": [nn.Parameter(sg.ones(1))]})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match=re.escape("The number of param groups in the `optimizer` (2) differs "
                                                     "from when `ReduceLROnPlateau` was initialized (1)")):
        sched.step(2.0)
    opt = make_opt(sg, groups=1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.0)
    opt.add_param_group({"params": [nn.Parameter(sg.ones(1))], "lr": 0.5})
    sched.step(1.0)
    sched.step(2.0)
    assert sched.get_last_lr() == pytest.approx([0.01, 0.05])


# ---------------------------------------------------------------------------
# PyTorch's warnings

ORDER = ("Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and later, you should "
         "call them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`.  Failure to do this will "
         "result in PyTorch skipping the first value of the learning rate schedule. See more details at "
         "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")
OVERRIDDEN = ("Seems like `optimizer.step()` has been overridden after learning rate scheduler initialization. "
              "Please, make sure to call `optimizer.step()` before `lr_scheduler.step()`. See more details at "
              "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")
GET_LR = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in ws]


def _libs():
    torch = _torch()
    return [(sg, lr_scheduler)] + ([] if torch is None else [(torch, torch.optim.lr_scheduler)])


def test_scheduler_step_before_optimizer_step_warns():
    for lib, mod in _libs():
        sched = mod.StepLR(make_opt(lib), 2)
        assert _warnings_of(sched.step) == [(UserWarning, ORDER)], lib.__name__
        assert _warnings_of(sched.step) == []  # only once
        # the documented order: no warning, and a second scheduler does not wrap the step again
        opt = make_opt(lib)
        sched = mod.ExponentialLR(opt, 0.9)
        wrapped = opt.step
        sched2 = mod.StepLR(opt, 2)
        assert opt.step is wrapped
        assert _warnings_of(lambda: (opt.step(), sched.step(), sched2.step())) == []


def test_replaced_optimizer_step_warns():
    for lib, mod in _libs():
        opt = make_opt(lib)
        sched = mod.StepLR(opt, 2)
        step = opt.step
        opt.step = lambda closure=None: step(closure)
        opt.step()
        assert _warnings_of(sched.step) == [(UserWarning, OVERRIDDEN)], lib.__name__


def test_get_lr_outside_step_warns():
    for lib, mod in _libs():
        opt = make_opt(lib)
        sched = mod.StepLR(opt, 2)
        opt.step()
        assert _warnings_of(sched.get_lr) == [(UserWarning, GET_LR)], lib.__name__
        assert _warnings_of(sched.get_last_lr) == []
        assert _warnings_of(sched.step) == []


def test_wrapped_step_still_steps_and_keeps_the_optimizer_picklable():
    opt = make_opt(sg)
    p = opt.param_groups[0]["params"][0]
    sched = lr_scheduler.StepLR(opt, 1, 0.5)
    (p * p).sum().backward()
    assert opt.step() is None and getattr(opt, "_opt_called", False)
    sched.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.8])  # lr 0.1, grad 2
    clone = copy.deepcopy(opt)
    assert "step" not in vars(clone) and clone.param_groups[0]["lr"] == 0.05


def test_tensor_learning_rate_is_updated_in_place():
    p = nn.Parameter(sg.ones(2))
    opt = optim.SGD([p], lr=sg.tensor(0.1))
    lr = opt.param_groups[0]["lr"]
    sched = lr_scheduler.StepLR(opt, 2, 0.5)
    for _ in range(4):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(0.025)
    assert float(sched.get_last_lr()[0]) == pytest.approx(0.025) and sched.get_last_lr()[0] is not lr


# ---------------------------------------------------------------------------
# under srcgrad.compile: the schedule (lr, momentum, betas) is program input, nothing recompiles


@pytest.mark.parametrize("cls,kw,cycle", [(optim.SGD, dict(lr=0.1, momentum=0.9), True),
                                          (optim.Adam, dict(lr=0.01), True), (optim.SGD, dict(lr=0.1), False)])
def test_one_cycle_under_compile_compiles_once_and_matches_define_by_run(cls, kw, cycle):
    finals, losses, seen = [], [], []
    for decorated in (False, True):
        sg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = cls(model.parameters(), **kw)
        sched = lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=36, cycle_momentum=cycle)
        x, y = sg.randn(16, 3), sg.randn(16, 2)

        def train_step(x, y):
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = sg.compile(train_step) if decorated else train_step
        out, groups = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(36):
                out.append(step(x, y).item())
                sched.step()
                g = opt.param_groups[0]
                groups.append((g["lr"], g.get("momentum"), g.get("betas")))
        assert all(type(lr) is float for lr, _, _ in groups)
        if decorated:
            assert step.compiles == 1 and step.dynamic_at is None, (step.compiles, step.dynamic_at)
        finals.append([p.detach().numpy() for p in model.parameters()])
        losses.append(out)
        seen.append(groups)
    assert seen[0] == seen[1] and len({lr for lr, _, _ in seen[0]}) > 30
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)
    for a, b in zip(*finals):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("make", [lambda o: sg.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
                                  lambda o: sg.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3)])
@pytest.mark.parametrize("opt_cls", [sg.optim.SGD, sg.optim.Adam])
def test_a_scheduled_learning_rate_never_recompiles_a_decorated_step(make, opt_cls):
    model = sg.nn.Linear(4, 1)
    opt = opt_cls(model.parameters(), lr=0.1)
    sched = make(opt)
    x, y = sg.randn(8, 4), sg.randn(8, 1)

    @sg.compile
    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    lrs = []
    for _ in range(6):
        step(x, y)
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert len(set(lrs)) > 2 and step.cache_info()["compiles"] == 1  # (the first lr change included)
