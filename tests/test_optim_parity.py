"""PyTorch parity of the optimiser step hooks' arguments and of the dtype of scalar optimiser state
(``step``, NAdam's ``mu_product``, ASGD's ``eta``/``mu``) under ``set_default_dtype(float64)``.

Literal expectations are PyTorch 2.13's; where PyTorch is installed the same code runs against it."""

from __future__ import annotations

import pytest

import srcgrad as sg
from srcgrad import nn, optim
from srcgrad.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

try:
    import torch
except ImportError:
    torch = None

LIBS = [sg] if torch is None else [sg, torch]


def _global_step_hooks(lib: object) -> tuple:
    if lib is sg:
        return register_optimizer_step_pre_hook, register_optimizer_step_post_hook
    from torch.optim.optimizer import register_optimizer_step_post_hook as post
    from torch.optim.optimizer import register_optimizer_step_pre_hook as pre
    return pre, post


@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.__name__)
def test_step_hooks_get_the_optimizer_first_in_args(lib):
    w = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([w], lr=0.5)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append(("pre", o is opt, len(args), args[0] is opt,
                                                                     sorted(kwargs))))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append(("post", len(args), args[0] is opt)))
    gpre, gpost = _global_step_hooks(lib)
    handles = [gpre(lambda o, args, kwargs: calls.append(("global pre", len(args), args[0] is o))),
               gpost(lambda o, args, kwargs: calls.append(("global post", len(args))))]
    try:
        w.grad = lib.ones(2)
        opt.step()
        assert opt.step(lambda: 3.0) == 3.0
        assert opt.step(closure=lambda: 4.0) == 4.0
    finally:
        for h in handles:
            h.remove()
    assert calls == [("global pre", 1, True), ("pre", True, 1, True, []), ("post", 1, True), ("global post", 1),
                     ("global pre", 2, True), ("pre", True, 2, True, []), ("post", 2, True), ("global post", 2),
                     ("global pre", 1, True), ("pre", True, 1, True, ["closure"]), ("post", 1, True),
                     ("global post", 1)]


@pytest.mark.parametrize("lib", LIBS, ids=lambda lib: lib.__name__)
def test_a_step_pre_hook_replaces_args_in_the_same_layout(lib):
    w = lib.nn.Parameter(lib.ones(2))
    opt = lib.optim.SGD([w], lr=0.5)
    w.grad = lib.ones(2)
    seen = []
    h = opt.register_step_pre_hook(lambda o, args, kwargs: ((o, lambda: 8.0), {}))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(len(args)))
    assert opt.step() == 8.0 and seen == [2]  # the post-hook sees the replaced arguments
    h.remove()
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: 7.0}))
    assert opt.step() == 7.0


_SCALAR_STATE = {"Adam": ["step"], "AdamW": ["step"], "RMSprop": ["step"], "Adagrad": ["step"], "Adamax": ["step"],
                 "NAdam": ["step", "mu_product"], "RAdam": ["step"], "Adadelta": ["step"],
                 "ASGD": ["step", "eta", "mu"], "Rprop": ["step"]}


def _dtypes_after_a_step(lib: object, name: str, default: object) -> tuple:
    previous = lib.get_default_dtype()
    lib.set_default_dtype(default)
    try:
        p = lib.nn.Parameter(lib.ones(2, dtype=lib.float32))
        opt = getattr(lib.optim, name)([p], lr=0.1)
        p.grad = lib.ones(2, dtype=lib.float32)
        opt.step()
        created = {k: str(opt.state[p][k].dtype) for k in _SCALAR_STATE[name]}
        opt.load_state_dict(opt.state_dict())
        loaded = {k: str(opt.state[p][k].dtype) for k in _SCALAR_STATE[name]}
    finally:
        lib.set_default_dtype(previous)
    return created, loaded


@pytest.mark.parametrize("name", sorted(_SCALAR_STATE))
def test_scalar_state_follows_a_float64_default_dtype_as_pytorch(name):
    created, loaded = _dtypes_after_a_step(sg, name, sg.float64)
    assert created == dict.fromkeys(_SCALAR_STATE[name], "torch.float64")
    # load_state_dict keeps step as saved (pytorch/pytorch#74424); other state follows the parameter
    assert loaded == {k: "torch.float64" if k == "step" else "torch.float32" for k in _SCALAR_STATE[name]}
    assert _dtypes_after_a_step(sg, name, sg.float32)[0] == dict.fromkeys(_SCALAR_STATE[name], "torch.float32")
    if torch is not None:
        assert _dtypes_after_a_step(torch, name, torch.float64) == (created, loaded)


def test_float64_step_trains_as_a_float32_one():
    sg.set_default_dtype(sg.float64)
    try:
        p64 = nn.Parameter(sg.tensor([1.0, -2.0], dtype=sg.float32))
        opt = optim.Adam([p64], lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            (p64 * p64).sum().backward()
            opt.step()
        assert opt.state[p64]["step"].dtype == sg.float64 and opt.state[p64]["step"].item() == 3.0
    finally:
        sg.set_default_dtype(sg.float32)
    p32 = nn.Parameter(sg.tensor([1.0, -2.0]))
    opt = optim.Adam([p32], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (p32 * p32).sum().backward()
        opt.step()
    assert p64.tolist() == p32.tolist()


def test_fused_steps_are_float32_and_numbers_load_as_scalar_state():
    sg.set_default_dtype(sg.float64)
    try:
        p = nn.Parameter(sg.ones(2, dtype=sg.float32))
        opt = optim.Adam([p], fused=True)
        p.grad = sg.ones(2, dtype=sg.float32)
        opt.step()
        assert opt.state[p]["step"].dtype == sg.float32
        sd = opt.state_dict()
        sd["state"][0]["step"] = sg.tensor(1.0, dtype=sg.float64)
        opt.load_state_dict(sd)  # fused: a loaded step becomes float32, as in PyTorch
        assert opt.state[p]["step"].dtype == sg.float32
        opt = optim.Adam([p])
        sd["param_groups"][0]["fused"] = None
        sd["state"][0]["step"] = 4  # a plain number (old checkpoints)
        opt.load_state_dict(sd)
        assert opt.state[p]["step"].dtype == sg.float64 and opt.state[p]["step"].item() == 4.0
    finally:
        sg.set_default_dtype(sg.float32)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam"])
def test_a_state_dict_of_another_model_raises_at_step_and_leaves_the_parameter(name):
    w, v = sg.nn.Parameter(sg.ones(2, 3)), sg.nn.Parameter(sg.ones(4))
    kw = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    other = getattr(sg.optim, name)([v], lr=0.1, **kw)
    v.grad = sg.ones(4)
    other.step()
    opt = getattr(sg.optim, name)([w], lr=0.1, **kw)
    opt.load_state_dict(other.state_dict())
    (w * 2).sum().backward()
    with pytest.raises(RuntimeError, match="was the optimizer's state_dict loaded from another model"):
        opt.step()
    assert w.detach().tolist() == [[1.0] * 3] * 2
    assert (w * 2).sum().item() == 12.0  # (still usable)
