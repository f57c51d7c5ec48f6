"""PyTorch parity of ``nn.Module`` machinery: old-checkpoint loading of the norm layers, full backward
hooks on modules returning tuples, ``Module.to``, the global module hooks, ``set_submodule``,
``nn.utils.skip_init`` and ``nn.utils.fusion``, channel dropout of 3-D input and a few messages.

Each test checks literal expectations (taken from PyTorch 2.13), and compares with PyTorch itself
where it is installed."""

from __future__ import annotations

import re
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import srcgrad as sg
from srcgrad import nn
from srcgrad.nn import functional as F

try:
    import torch
except ImportError:  # the literal expectations below still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def _describe(g: object) -> object:
    """A gradient tuple as hooks see it: None, or (shape, dtype name, rounded sum)."""
    if g is None:
        return None
    if isinstance(g, tuple):
        return tuple(_describe(x) for x in g)
    return tuple(g.shape), str(g.dtype).replace("torch.", ""), round(float(g.sum()), 4)


# -- 1. old checkpoints of the norm layers ------------------------------------------------------


@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (4, 3)), ("BatchNorm2d", (4, 3, 2, 2)),
                                        ("BatchNorm3d", (4, 3, 2, 2, 2))])
def test_batchnorm_loads_a_checkpoint_without_num_batches_tracked(cls, shape):
    m = getattr(nn, cls)(3)
    sd = m.state_dict()
    del sd["num_batches_tracked"]
    assert m.load_state_dict(OrderedDict(sd)).missing_keys == []  # no metadata: version None
    assert m.num_batches_tracked.item() == 0 and m.num_batches_tracked.dtype == sg.int64
    sd._metadata[""]["version"] = 1
    assert repr(m.load_state_dict(sd)) == "<All keys matched successfully>"
    m(sg.ones(*shape))  # still a working layer
    assert m.num_batches_tracked.item() == 1


def test_batchnorm_old_checkpoint_nested_in_sequential_keeps_the_counter():
    s = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    with sg.no_grad():
        s[1].num_batches_tracked.add_(5)
    sd = s.state_dict()
    del sd["1.num_batches_tracked"]
    # an old checkpoint: the module keeps its own counter (PyTorch fills in the current buffer)
    assert s.load_state_dict(OrderedDict(sd)).missing_keys == []
    assert s[1].num_batches_tracked.item() == 5
    # a current (version 2) checkpoint without the key is incomplete
    with pytest.raises(RuntimeError, match=re.escape('Missing key(s) in state_dict: "1.num_batches_tracked".')):
        s.load_state_dict(sd)
    # the caller's dict is left alone
    assert "1.num_batches_tracked" not in sd


def test_instance_norm_and_lazy_batchnorm_old_checkpoints():
    i = nn.InstanceNorm1d(3, track_running_stats=True)
    assert i.state_dict()._metadata[""]["version"] == 2
    i.load_state_dict(OrderedDict(running_mean=sg.zeros(3), running_var=sg.ones(3)))
    assert i.num_batches_tracked.item() == 0
    lazy = nn.LazyBatchNorm1d()
    lazy.load_state_dict(OrderedDict(weight=sg.ones(3), bias=sg.zeros(3), running_mean=sg.zeros(3),
                                     running_var=sg.ones(3)))
    assert lazy.num_batches_tracked.item() == 0 and tuple(lazy.running_mean.shape) == (3,)
    # without running statistics there is nothing to fill in
    nn.BatchNorm1d(3, track_running_stats=False).load_state_dict(OrderedDict(weight=sg.ones(3), bias=sg.zeros(3)))


_INSTANCE_NORM_MESSAGE = (
    'Unexpected running stats buffer(s) "running_mean" and "running_var" for InstanceNorm1d with '
    "track_running_stats=False. If state_dict is a checkpoint saved before 0.4.0, this may be expected because "
    "InstanceNorm1d does not track running stats by default since 0.4.0. Please remove these keys from state_dict. "
    "If the running stats are actually needed, instead set track_running_stats=True in InstanceNorm1d to enable "
    "them. See the documentation of InstanceNorm1d for details.")


def _load_error(lib: object, sd: dict, strict: bool = True) -> str:
    try:
        lib.nn.InstanceNorm1d(3).load_state_dict(sd, strict=strict)
    except RuntimeError as e:
        return str(e)
    return ""


def test_instance_norm_refuses_running_stats_of_a_pre_0_4_checkpoint():
    sd = OrderedDict(running_mean=sg.zeros(3), running_var=sg.ones(3))
    want = "Error(s) in loading state_dict for InstanceNorm1d:\n\t" + _INSTANCE_NORM_MESSAGE
    assert _load_error(sg, sd) == want
    assert _load_error(sg, sd, strict=False) == want  # reported even when not strict, as PyTorch does
    sd._metadata = {"": {"version": 2}}  # a versioned checkpoint: a plain unexpected key
    assert _load_error(sg, sd).endswith('Unexpected key(s) in state_dict: "running_mean", "running_var". ')
    if torch is not None:
        tsd = OrderedDict(running_mean=torch.zeros(3), running_var=torch.ones(3))
        assert _load_error(torch, tsd) == want


# -- 2. full backward hooks -------------------------------------------------------------------


def _hooked_run(lib: object, case: str) -> list:
    """Run one scenario with both backward hooks; return what they saw (and an input's gradient)."""
    nn_ = lib.nn
    seen: list = []
    lib.manual_seed(0)

    def fill(m):  # the same weights in both libraries
        with lib.no_grad():
            for p in m.parameters():
                p.copy_(lib.tensor(np.linspace(-0.5, 0.5, p.numel(), dtype=np.float32).reshape(tuple(p.shape))))

    def attach(m):
        m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", _describe(go))))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", _describe(gi), _describe(go))))

    class Two(nn_.Module):
        def forward(self, x, y=None, k=3):
            return x * 2, x * 3

    class Mixed(nn_.Module):
        def forward(self, x, idx, k):
            return x[idx] * k, idx + 1

    x = lib.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 1, 3), requires_grad=True)
    if case == "lstm":
        m = nn_.LSTM(3, 4)
        fill(m)
        attach(m)
        out, (h, c) = m(x)
        out.sum().backward()
    elif case == "gru_both":
        m = nn_.GRU(3, 4)
        fill(m)
        attach(m)
        out, h = m(x)
        (out.sum() + h.sum()).backward()
    elif case == "mha":
        m = nn_.MultiheadAttention(3, 1)
        fill(m)
        attach(m)
        out, w = m(x, x, x, need_weights=False)
        seen.append(("weights", w))
        out.sum().backward()
    elif case in ("first", "second"):
        m = Two()
        attach(m)
        a, b = m(x)
        (a if case == "first" else b).sum().backward()
    elif case == "mixed":
        m = Mixed()
        attach(m)
        a, b = m(x, lib.tensor([1, 0]), 5)
        seen.append(("b.requires_grad", b.requires_grad))
        a.sum().backward()
    elif case == "forward_hook":
        m = nn_.Linear(3, 2)
        fill(m)
        attach(m)
        m.register_forward_hook(lambda mod, args, out: out * 10)
        m(x).sum().backward()
    elif case == "pre_hook_fills_none":
        m = Two()
        m.register_full_backward_pre_hook(lambda mod, go: (go[0], lib.ones(2, 1, 3)))
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", _describe(gi), _describe(go))))
        a, b = m(x)
        a.sum().backward()
    seen.append(("x.grad", _describe(x.grad)))
    return seen


_HOOK_EXPECTED = {
    # (from PyTorch 2.13: only the tensors at the top level of the output tuple get gradients)
    "lstm": [("pre", (((2, 1, 4), "float32", 8.0), None))],
    "mha": [("weights", None), ("pre", (((2, 1, 3), "float32", 6.0), None))],
    "first": [("pre", (((2, 1, 3), "float32", 6.0), None)),
              ("full", (((2, 1, 3), "float32", 12.0),), (((2, 1, 3), "float32", 6.0), None)),
              ("x.grad", ((2, 1, 3), "float32", 12.0))],
    "second": [("pre", (None, ((2, 1, 3), "float32", 6.0))),
               ("full", (((2, 1, 3), "float32", 18.0),), (None, ((2, 1, 3), "float32", 6.0))),
               ("x.grad", ((2, 1, 3), "float32", 18.0))],
    # a tensor input that needs no gradient gets zeros of its dtype; a non-tensor, None
    "mixed": [("b.requires_grad", False), ("pre", (((2, 1, 3), "float32", 6.0), None)),
              ("full", (((2, 1, 3), "float32", 30.0), ((2,), "int64", 0.0), None),
               (((2, 1, 3), "float32", 6.0), None)),
              ("x.grad", ((2, 1, 3), "float32", 30.0))],
    # the hooks see the gradient of what the forward hooks returned
    "forward_hook": [("pre", (((2, 1, 2), "float32", 4.0),))],
    "pre_hook_fills_none": [("full", (((2, 1, 3), "float32", 30.0),),
                             (((2, 1, 3), "float32", 6.0), ((2, 1, 3), "float32", 6.0))),
                            ("x.grad", ((2, 1, 3), "float32", 30.0))],
}


@pytest.mark.parametrize("case", ["lstm", "gru_both", "mha", "first", "second", "mixed", "forward_hook",
                                  "pre_hook_fills_none"])
def test_full_backward_hooks_see_what_pytorchs_see(case):
    got = _hooked_run(sg, case)
    want = _HOOK_EXPECTED.get(case)
    if want is not None:
        assert [s for s in got if s in want] == want
    assert any(s[0] == "full" for s in got)  # the full hook ran too
    if case == "lstm":
        full = next(s for s in got if s[0] == "full")
        assert full[2] == (((2, 1, 4), "float32", 8.0), None) and full[1][0][0] == (2, 1, 3)
    if torch is not None:
        theirs = _hooked_run(torch, case)
        assert len(got) == len(theirs)
        for a, b in zip(got, theirs):
            assert a[0] == b[0]
            if a[0] in ("weights", "b.requires_grad"):
                assert a == b
                continue
            np.testing.assert_allclose(np.array(_flat(a[1:]), dtype=float), np.array(_flat(b[1:]), dtype=float),
                                       rtol=1e-4, atol=1e-4)


def _flat(x: object) -> list:
    if x is None:
        return [np.nan]
    if isinstance(x, tuple):
        return [v for e in x for v in _flat(e)]
    if isinstance(x, str):
        return [hash(x) % 1000]
    return [x]


def test_backward_hook_errors_and_warnings_as_pytorch():
    m = nn.Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match=re.escape("Backward pre hook returned an invalid number of grad_output, "
                                                     "got 2, but expected 1")):
        m(sg.ones(1, 2, requires_grad=True)).sum().backward()
    m = nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (sg.zeros(1, 2),))
    with pytest.warns(UserWarning, match="Full backward hook is firing"), \
            pytest.raises(RuntimeError, match="Backward hook for Modules where no input requires gradient should "
                                              "always return None or None for all gradients."):
        m(sg.ones(1, 2)).sum().backward()

    class ListOut(nn.Module):
        def forward(self, x):
            return [x * 2]
    m = ListOut()
    fired = []
    m.register_full_backward_hook(lambda *a: fired.append(a))
    with pytest.warns(UserWarning, match=re.escape("For backward hooks to be called, module output should be a "
                                                   "Tensor or a tuple of Tensors but received <class 'list'>")):
        out = m(sg.ones(2, requires_grad=True))
    out[0].sum().backward()
    assert fired == []  # as in PyTorch, the hooks never fire


def test_backward_hooks_are_those_registered_at_the_call():
    m = nn.Linear(2, 2)
    seen = []
    h = m.register_full_backward_hook(lambda *a: seen.append("old"))
    y = m(sg.ones(1, 2, requires_grad=True))
    h.remove()
    m.register_full_backward_hook(lambda *a: seen.append("new"))
    y.sum().backward()
    assert seen == ["old"]


# -- 3. Module.to --------------------------------------------------------------------------------


def test_module_to_a_tensor_takes_its_dtype_for_floating_point_tensors_only():
    m = nn.BatchNorm1d(2)
    assert m.to(sg.ones(1, dtype=sg.float64)) is m
    assert m.weight.dtype == m.running_mean.dtype == sg.float64 and m.num_batches_tracked.dtype == sg.int64
    m.to(tensor=sg.ones(1))
    assert m.weight.dtype == sg.float32 and m.num_batches_tracked.dtype == sg.int64
    m.to("cpu", sg.float64, True)
    assert m.weight.dtype == sg.float64
    m.to(dtype=sg.float32, non_blocking=True)
    assert m.weight.dtype == sg.float32
    assert m.to(device="meta").weight.device.type == "meta"


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((sg.ones(1, dtype=sg.int64),), {}, TypeError,
     "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int64"),
    ((sg.int32,), {}, TypeError,
     "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int32"),
    (("cpu", sg.int32), {}, TypeError,
     "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype=torch.int32"),
    ((1, 2, 3), {}, TypeError, "to() received an invalid combination of arguments - got (int, int, int), but "
                               "expected one of:\n * (torch.device device = None, torch.dtype dtype = None, bool "
                               "non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)"),
    ((), {"foo": 1}, TypeError, "to() received an invalid combination of arguments - got (foo=int, ), but"),
    ((1,), {"foo": 1}, TypeError, "to() received an invalid combination of arguments - got (int, foo=int), but"),
    (("cpu",), {"dtype": sg.float16, "copy": True}, RuntimeError, ".to() does not accept copy argument"),
])
def test_module_to_errors_as_pytorch(args, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        nn.Linear(1, 1).to(*args, **kwargs)
    if torch is not None:
        targs = tuple(getattr(torch, str(a).replace("torch.", "")) if isinstance(a, sg.dtype) else
                      torch.ones(1, dtype=torch.int64) if isinstance(a, sg.Tensor) else a for a in args)
        tkwargs = {k: getattr(torch, str(v).replace("torch.", "")) if isinstance(v, sg.dtype) else v
                   for k, v in kwargs.items()}
        with pytest.raises(error, match=re.escape(message)):
            torch.nn.Linear(1, 1).to(*targs, **tkwargs)


# -- 4. channel dropout of 3-D input ------------------------------------------------------------------


_DROPOUT2D_3D = ("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                 "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                 "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                 "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                 "dropout1d instead.")


def test_dropout2d_on_3d_input_drops_whole_rows_with_pytorchs_warning():
    sg.manual_seed(0)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        y = nn.Dropout2d()(sg.ones(40, 30, 50)).numpy()
    assert [str(x.message) for x in w] == [_DROPOUT2D_3D]
    zero = y == 0
    assert (zero.all(-1) | (~zero).all(-1)).all()  # (N, C) rows, each dropped whole
    assert 0.4 < zero.all(-1).mean() < 0.6 and set(np.unique(y)) == {0.0, 2.0}
    if torch is not None:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            torch.nn.Dropout2d()(torch.ones(4, 3, 5))
        assert [str(x.message) for x in w] == [_DROPOUT2D_3D]


@pytest.mark.parametrize("fn, shape, message", [
    ("dropout2d", (4, 6), "dropout2d: Received a 2-D input to dropout2d, which is deprecated and will result in an "
                          "error in a future release. To retain the behavior and silence this warning, please use "
                          "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs "
                          "with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D "
                          "or 4D inputs)."),
    ("dropout2d", (2, 2, 3, 4, 5), "dropout2d: Received a 5-D input to dropout2d, which is deprecated"),
    ("dropout3d", (3, 4, 5), "dropout3d: Received a 3-D input to dropout3d, which is deprecated and will result in "
                             "an error in a future release. To retain the behavior and silence this warning, please "
                             "use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                             "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                             "(i.e. 4D or 5D inputs)."),
    ("dropout3d", (2,), "dropout3d: Received a 1-D input to dropout3d"),
])
def test_channel_dropout_of_other_dims_warns_as_pytorch(fn, shape, message):
    for lib in (sg, torch) if torch is not None else (sg,):
        with pytest.warns(UserWarning, match=re.escape(message)):
            out = getattr(lib.nn.functional, fn)(lib.ones(*shape), 0.5, True)
        assert tuple(out.shape) == shape


def test_channel_dropout_masks_and_errors():
    sg.manual_seed(1)
    y = F.dropout3d(sg.ones(6, 3, 4, 5)).numpy().reshape(6, -1)  # unbatched: one draw per channel
    assert ((y == 0).all(-1) | (y == 2).all(-1)).all()
    with pytest.warns(UserWarning):
        y = F.dropout3d(sg.ones(6, 3, 4)).numpy().reshape(6, -1)  # taken as unbatched too
    assert ((y == 0).all(-1) | (y == 2).all(-1)).all()
    x = sg.ones(3, 5)
    assert F.dropout1d(x, 0.5, True, inplace=True) is x
    with pytest.warns(UserWarning), pytest.raises(RuntimeError,
                                                  match="Feature dropout requires at least 2 dimensions in the input"):
        F.dropout2d(sg.ones(5), 0.5, True)
    with pytest.warns(UserWarning):  # p == 1 multiplies by zero before looking at the dims, as ATen
        assert F.dropout2d(sg.ones(5), 1.0, True).tolist() == [0.0] * 5
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 2"):
        F.dropout2d(sg.ones(2, 3, 4), 2)


# -- 7. global module hooks, set_submodule, skip_init, fusion ---------------------------------------


def test_global_module_hooks_run_before_each_modules_own():
    from srcgrad.nn.modules.module import (
        register_module_forward_hook,
        register_module_forward_pre_hook,
        register_module_full_backward_hook,
        register_module_full_backward_pre_hook,
    )
    order = []
    m = nn.Linear(2, 2)
    m.register_forward_pre_hook(lambda mod, args: order.append("pre"))
    m.register_forward_hook(lambda mod, args, out: order.append("hook"))
    m.register_full_backward_pre_hook(lambda mod, go: order.append("bw pre"))
    m.register_full_backward_hook(lambda mod, gi, go: order.append("bw"))
    handles = [
        register_module_forward_pre_hook(lambda mod, args: order.append(("global pre", type(mod).__name__))),
        register_module_forward_hook(lambda mod, args, kwargs, out: order.append(("global hook", kwargs)),
                                     with_kwargs=True),
        register_module_full_backward_pre_hook(lambda mod, go: order.append("global bw pre")),
        register_module_full_backward_hook(lambda mod, gi, go: order.append("global bw")),
    ]
    try:
        m(sg.ones(1, 2, requires_grad=True)).sum().backward()
        assert order == [("global pre", "Linear"), "pre", ("global hook", {}), "hook", "global bw pre", "bw pre",
                         "global bw", "bw"]
        order.clear()
        nn.ReLU()(sg.ones(1))  # every module, hooks of its own or not
        assert order == [("global pre", "ReLU"), ("global hook", {})]
        # a global forward hook may replace the output, a global pre-hook the arguments
        handles.append(register_module_forward_pre_hook(lambda mod, args: (args[0] * 0,)))
        assert nn.Identity()(sg.ones(2)).tolist() == [0.0, 0.0]
    finally:
        for h in handles:
            h.remove()
    order.clear()
    nn.ReLU()(sg.ones(1))
    assert order == []


def test_forward_hooks_with_always_call_run_when_forward_raises():
    from srcgrad.nn.modules.module import register_module_forward_hook

    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")
    seen = []
    m = Boom()
    m.register_forward_hook(lambda mod, args, out: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("not"))
    h = register_module_forward_hook(lambda mod, args, out: seen.append("global always"), always_call=True)
    try:
        with pytest.raises(ValueError, match="boom"):
            m(sg.ones(1))
    finally:
        h.remove()
    assert seen == ["global always", "always"]


def test_set_submodule_and_get_submodule_as_pytorch():
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    m.set_submodule("1.0", nn.Tanh())
    m.set_submodule("1.extra", nn.ReLU())
    assert type(m[1][0]) is nn.Tanh and type(m.get_submodule("1.extra")) is nn.ReLU
    for target, module, kwargs, error, message in [
            ("", nn.ReLU(), {}, ValueError, "Cannot set the submodule without a target name!"),
            ("0", 3, {}, ValueError, "`module` is not an nn.Module, found <class 'int'>"),
            ("1.new", nn.ReLU(), {"strict": True}, AttributeError, "Sequential has no attribute `new`"),
            ("2.x", nn.ReLU(), {}, AttributeError, "Sequential has no attribute `2`"),
            ("0.weight", nn.ReLU(), {}, AttributeError, "`weight` is not an nn.Module")]:
        with pytest.raises(error, match=re.escape(message)):
            m.set_submodule(target, module, **kwargs)
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        m.get_submodule("0.weight")


def test_skip_init_builds_on_meta_then_moves():
    m = nn.utils.skip_init(nn.Linear, 5, 1)
    assert type(m) is nn.Linear and tuple(m.weight.shape) == (1, 5) and m.weight.device.type == "cpu"
    assert m.weight.requires_grad and isinstance(m.weight, nn.Parameter)
    bn = nn.utils.skip_init(nn.BatchNorm1d, num_features=3)
    assert bn.num_batches_tracked.dtype == sg.int64 and tuple(bn.running_mean.shape) == (3,)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        nn.utils.skip_init(nn.Sequential)
    with pytest.raises(RuntimeError, match="Expected a Module; got <class 'int'>"):
        nn.utils.skip_init(int)


def _filled(lib: object) -> tuple:
    rng = np.random.default_rng(0)

    def t(*s):
        return lib.tensor(rng.standard_normal(s).astype(np.float32))
    conv, bn = lib.nn.Conv2d(3, 4, 3), lib.nn.BatchNorm2d(4)
    with lib.no_grad():
        conv.weight.copy_(t(4, 3, 3, 3))
        conv.bias.copy_(t(4))
        bn.weight.copy_(t(4))
        bn.bias.copy_(t(4))
        bn.running_mean.copy_(t(4))
        bn.running_var.copy_(t(4).abs() + 0.5)
    return conv.eval(), bn.eval(), t(2, 3, 5, 5)


def test_fuse_conv_bn_eval_matches_the_pair():
    conv, bn, x = _filled(sg)
    fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    assert fused is not conv and type(fused) is nn.Conv2d and isinstance(fused.weight, nn.Parameter)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), atol=1e-4)
    # (PyTorch 2.13's values for these weights)
    np.testing.assert_allclose(fused.bias.detach().numpy(), [1.7096, 0.644, 0.5147, -0.1727], atol=1e-4)
    ct = nn.ConvTranspose2d(3, 4, 3, bias=False).eval()
    fused_t = nn.utils.fuse_conv_bn_eval(ct, bn, transpose=True)
    np.testing.assert_allclose(fused_t(x).detach().numpy(), bn(ct(x)).detach().numpy(), atol=1e-4)
    if torch is not None:
        tconv, tbn, _ = _filled(torch)
        tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn)
        np.testing.assert_allclose(fused.weight.detach().numpy(), tfused.weight.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(fused.bias.detach().numpy(), tfused.bias.detach().numpy(), rtol=1e-6)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        nn.utils.fuse_conv_bn_eval(conv.train(), bn)
    with pytest.raises(AssertionError, match="bn.running_mean and bn.running_var must not be None"):
        nn.utils.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4, track_running_stats=False).eval())


def test_fuse_linear_bn_eval_and_the_weight_functions():
    lin, bn = nn.Linear(3, 4).eval(), nn.BatchNorm1d(4)
    with sg.no_grad():
        bn.running_mean.copy_(sg.tensor([0.5, -1.0, 2.0, 0.0]))
        bn.running_var.copy_(sg.tensor([1.0, 2.0, 0.5, 4.0]))
        bn.weight.copy_(sg.tensor([1.0, -2.0, 0.5, 3.0]))
    bn.eval()
    x = sg.tensor(np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32))
    fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(lin(x)).detach().numpy(), atol=1e-5)
    with pytest.raises(AssertionError, match=re.escape("To fuse, linear.out_features == bn.num_features or "
                                                       "bn.num_features == 1, got linear.out_features=4 and "
                                                       "bn.num_features=3")):
        nn.utils.fuse_linear_bn_eval(lin, nn.BatchNorm1d(3).eval())
    w, b = nn.utils.fuse_conv_bn_weights(sg.ones(2, 1, 1), None, sg.tensor([1.0, 2.0]), sg.tensor([3.0, 0.0]), 1.0,
                                         None, None)
    assert w.detach().numpy().ravel().tolist() == [0.5, 1.0] and b.tolist() == [-0.5, -2.0]
    w, b = nn.utils.fuse_linear_bn_weights(sg.ones(2, 3), sg.zeros(2), sg.zeros(2), sg.tensor([3.0, 0.0]), 1.0,
                                           sg.tensor([2.0, 4.0]), sg.tensor([1.0, 1.0]))
    assert w.tolist() == [[1.0] * 3, [4.0] * 3] and b.tolist() == [1.0, 1.0]


# -- 8. messages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda lib: lib.nn.GroupNorm(4, 6), ValueError, "num_channels (6) must be divisible by num_groups (4)"),
    (lambda lib: lib.nn.GroupNorm(4, 8)(lib.ones(2, 6, 3)), RuntimeError,
     "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 3] and "
     "num_groups=4"),
    (lambda lib: lib.nn.functional.group_norm(lib.ones(2, 8, 3), 4, lib.ones(2, 4)), RuntimeError,
     "Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape "
     "[2, 4] and input of shape [2, 8, 3]"),
    # (PyTorch's message about the bias shows the weight's shape)
    (lambda lib: lib.nn.functional.group_norm(lib.ones(2, 8, 3), 4, None, lib.ones(6)), RuntimeError,
     "Expected bias to be a vector of size equal to the number of channels in input, but got bias of shape [0] and "
     "input of shape [2, 8, 3]"),
    (lambda lib: lib.nn.functional.group_norm(lib.ones(1, 4, 1), 4), ValueError,
     "Expected more than 1 value per channel when training, got input size [1, 4, 1]"),
])
def test_group_norm_messages_as_pytorch(call, error, message):
    for lib in (sg, torch) if torch is not None else (sg,):
        with pytest.raises(error, match=re.escape(message)):
            call(lib)


def test_same_padding_with_an_even_kernel_warns_once_as_pytorch(monkeypatch):
    monkeypatch.setattr(F, "_same_padding_warned", [False])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nn.Conv2d(2, 2, 3, padding="same")(sg.ones(1, 2, 5, 5))  # symmetric: no warning
        assert w == []
        y = nn.Conv2d(2, 2, 4, padding="same")(sg.ones(1, 2, 5, 5))
        F.conv1d(sg.ones(1, 2, 5), sg.ones(2, 2, 2), padding="same")  # once per process, as TORCH_WARN_ONCE
    assert tuple(y.shape) == (1, 2, 5, 5)
    assert len(w) == 1 and str(w[0].message).startswith(
        "Using padding='same' with even kernel lengths and odd dilation may require a zero-padded copy of the input "
        "be created")


def test_global_registration_hooks_see_and_may_replace_what_modules_register():
    from srcgrad.nn.modules import module as M
    seen = []
    handles = [
        M.register_module_parameter_registration_hook(lambda m, n, p: seen.append(("param", type(m).__name__, n))),
        M.register_module_buffer_registration_hook(lambda m, n, b: seen.append(("buffer", type(m).__name__, n))),
        M.register_module_module_registration_hook(lambda m, n, c: seen.append(("module", type(m).__name__, n)))]
    try:
        net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        net.extra = nn.ReLU()
        net[1].running_mean = sg.zeros(3)
        net.register_buffer("none", None)
        handles.append(M.register_module_parameter_registration_hook(lambda m, n, p: nn.Parameter(p.detach() * 2)))
        net.v = nn.Parameter(sg.ones(2))
    finally:
        for h in handles:
            h.remove()
    net.z = nn.Parameter(sg.ones(1))  # (removed: nothing more is seen)
    assert net.v.tolist() == [2.0, 2.0]
    # (PyTorch 2.13's calls, in its order)
    assert seen == [("param", "Linear", "weight"), ("param", "Linear", "bias"), ("param", "BatchNorm1d", "weight"),
                    ("param", "BatchNorm1d", "bias"), ("buffer", "BatchNorm1d", "running_mean"),
                    ("buffer", "BatchNorm1d", "running_var"), ("buffer", "BatchNorm1d", "num_batches_tracked"),
                    ("module", "Sequential", "0"), ("module", "Sequential", "1"), ("module", "Sequential", "extra"),
                    ("buffer", "BatchNorm1d", "running_mean"), ("buffer", "Sequential", "none"),
                    ("param", "Sequential", "v")]
