"""Hooks for saved tensors (srcgrad/autograd/saved_hooks.py): which tensors are packed and
unpacked and when, what the backward reads, the errors PyTorch gives, save_on_cpu,
disable_saved_tensors_hooks, grad_fn._raw_saved_*, custom Functions, and the replay fast
path stepping aside. PyTorch itself is the oracle where it is installed."""

import os
import uuid

import numpy as np
import pytest

import srcgrad as torch
from srcgrad.autograd.graph import disable_saved_tensors_hooks, save_on_cpu, saved_tensors_hooks


def _leaf(*v):
    return torch.tensor(list(v), requires_grad=True)


class _Log:
    """pack/unpack hooks that record (event, shape, requires_grad, has grad_fn) and pass through."""

    def __init__(self):
        self.events = []

    def pack(self, x):
        self.events.append(("pack", tuple(x.shape), x.requires_grad, x.grad_fn is not None))
        return x

    def unpack(self, x):
        self.events.append(("unpack", tuple(x.shape)))
        return x


# One op each: what it saves, as PyTorch packs it (the Python number 2 is not a tensor).
CASES = {
    "mul": lambda a, b, c: a * b,
    "mul_number": lambda a, b, c: a * 2,
    "mul_no_grad_factor": lambda a, b, c: a * b.detach(),
    "pow_number": lambda a, b, c: a ** 2,
    "div": lambda a, b, c: a / b,
    "exp": lambda a, b, c: a.exp(),
    "sin": lambda a, b, c: a.sin(),
    "log": lambda a, b, c: a.log(),
    "relu": lambda a, b, c: a.relu(),
    "tanh": lambda a, b, c: a.tanh(),
    "sigmoid": lambda a, b, c: a.sigmoid(),
    "add": lambda a, b, c: a + b,
    "sum": lambda a, b, c: a.sum(),
    "mean": lambda a, b, c: a.mean(),
    "mm": lambda a, b, c: c.t().mm(c),
}


def _events(lib, name):
    a = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = lib.tensor([4.0, 5.0, 6.0], requires_grad=True)
    c = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    log = _Log()
    with lib.autograd.graph.saved_tensors_hooks(log.pack, log.unpack):
        y = CASES[name](a, b, c)
    packed = list(log.events)
    log.events.clear()
    y.sum().backward()
    grads = [None if t.grad is None else np.round(t.grad.numpy(), 5).tolist() for t in (a, b, c)]
    return packed, log.events, grads


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_op_packs_and_unpacks_what_pytorch_does(name):
    pt = pytest.importorskip("torch")
    assert _events(torch, name) == _events(pt, name)


def test_pack_runs_when_the_op_is_recorded_and_unpack_when_backward_needs_it():
    log = _Log()
    a, b = _leaf(1.0, 2.0), _leaf(3.0, 4.0)
    with saved_tensors_hooks(log.pack, log.unpack):
        y = (a * b).exp()
        assert [e[0] for e in log.events] == ["pack", "pack", "pack"]
    z = y.sum()
    assert len(log.events) == 3  # (nothing saved outside the context)
    z.backward()
    assert [e[0] for e in log.events] == ["pack"] * 3 + ["unpack"] * 3
    np.testing.assert_allclose(a.grad.numpy(), np.exp([3.0, 8.0]) * [3.0, 4.0], rtol=1e-5)


def test_the_backward_reads_what_unpack_returns():
    a, b = _leaf(1.0, 2.0, 3.0), _leaf(4.0, 5.0, 6.0)
    with saved_tensors_hooks(lambda x: x, lambda x: x * 0 + 10):
        y = a * b
    y.sum().backward()
    assert a.grad.tolist() == [10.0, 10.0, 10.0] and b.grad.tolist() == [10.0, 10.0, 10.0]


def test_hooks_may_pack_anything_and_rebuild_the_tensor():
    # the tutorial's pattern: keep the values elsewhere (here a dict) and hand back a key
    store = {}

    def pack(x):
        key = len(store)
        store[key] = x.detach().numpy().copy()
        return key

    def unpack(key):
        return torch.tensor(store.pop(key))

    x = _leaf(0.5, 1.0, 2.0)
    with saved_tensors_hooks(pack, unpack):
        y = x.pow(3).sin()
    assert len(store) == 2
    y.sum().backward()
    assert store == {}
    xs = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), np.cos(xs ** 3) * 3 * xs ** 2, rtol=1e-5)


def test_pack_to_disk_as_the_pytorch_tutorial_does(tmp_path):
    class SelfDeletingTempFile:
        def __init__(self):
            self.name = os.path.join(tmp_path, str(uuid.uuid4()))

        def __del__(self):
            os.remove(self.name)

    def pack_hook(tensor):
        temp_file = SelfDeletingTempFile()
        torch.save(tensor, temp_file.name)
        return temp_file

    def unpack_hook(temp_file):
        return torch.load(temp_file.name)

    x = torch.randn(5, requires_grad=True)
    with saved_tensors_hooks(pack_hook, unpack_hook):
        y = x.pow(2)
    assert len(os.listdir(tmp_path)) == 1
    y.sum().backward()
    assert torch.allclose(x.grad, 2 * x)
    del y
    assert os.listdir(tmp_path) == []  # freed with the graph after backward


def test_saved_accessors_go_through_unpack_and_are_freed_after_backward():
    log = _Log()
    a, b = _leaf(1.0, 2.0), _leaf(3.0, 4.0)
    with saved_tensors_hooks(log.pack, log.unpack):
        y = a * b
    assert y.grad_fn._saved_self.tolist() == [1.0, 2.0]
    assert log.events[-1] == ("unpack", (2,))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        _ = y.grad_fn._saved_self


def test_retain_graph_keeps_the_packed_values_for_a_second_backward():
    log = _Log()
    a = _leaf(1.0, 2.0)
    with saved_tensors_hooks(log.pack, log.unpack):
        y = a.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert [e[0] for e in log.events] == ["pack", "unpack", "unpack"]
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_a_loop_with_hooks_calls_them_every_step_and_compiles_once():
    # a graph with packed values never takes the replay fast path, which would skip unpack
    log = _Log()
    w = _leaf(0.5, -0.5)
    misses = []
    for _ in range(4):
        with saved_tensors_hooks(log.pack, log.unpack):
            loss = (w * torch.tensor([1.0, 2.0])).tanh().sum()
        loss.backward()
        misses.append(torch.cache_info()["misses"])
    assert sum(e[0] == "unpack" for e in log.events) == 8  # the constant factor and tanh's output
    assert misses[1:] == misses[:1] * 3


def test_errors_are_pytorchs():
    a = _leaf(1.0, 2.0)
    with saved_tensors_hooks(lambda x: x, lambda x: 3):
        y = a.exp()
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor but got result of type int"):
        y.sum().backward()
    b = a * 1
    with pytest.raises(RuntimeError, match="A saved tensor pack hook is modifying its input in place"):
        with saved_tensors_hooks(lambda x: x.add_(1), lambda x: x):
            b.exp()
    with pytest.raises(RuntimeError, match="no hooks here"):
        with disable_saved_tensors_hooks("no hooks here"):
            with saved_tensors_hooks(lambda x: x, lambda x: x):
                pass
    with saved_tensors_hooks(lambda x: x, lambda x: x):  # enabled again after the context
        pass


def test_nested_contexts_use_the_innermost_hooks_and_no_grad_saves_nothing():
    seen = []
    a = _leaf(1.0)
    with saved_tensors_hooks(lambda x: seen.append("outer") or x, lambda x: x):
        with saved_tensors_hooks(lambda x: seen.append("inner") or x, lambda x: x):
            a.exp()
        a.exp()
        with torch.no_grad():
            a.exp()
    assert seen == ["inner", "outer"]


def test_save_on_cpu_gives_the_same_gradients():
    x = _leaf(0.1, 0.2, 0.3)
    with save_on_cpu():
        y = (x * x).sin().exp().sum()
    y.backward()
    xs = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(x.grad.numpy(), np.exp(np.sin(xs ** 2)) * np.cos(xs ** 2) * 2 * xs, rtol=1e-5)
    assert torch.autograd.graph.save_on_cpu is save_on_cpu


def test_raw_saved_tensor_register_hooks():
    log = _Log()
    x = _leaf(1.0, 2.0)
    y = x.exp()
    raw = y.grad_fn._raw_saved_result
    assert type(raw).__name__ == "SavedTensor"
    raw.register_hooks(log.pack, log.unpack)
    assert log.events == [("pack", (2,), False, False)]
    with pytest.raises(RuntimeError, match="hooks have already been set"):
        raw.register_hooks(log.pack, log.unpack)
    y.sum().backward()
    assert log.events[-1] == ("unpack", (2,))
    freed = y.grad_fn._raw_saved_result  # (reading it after the graph was freed is fine, as in PyTorch)
    with pytest.raises(RuntimeError, match="Calling register_hooks on a saved tensor after it has been freed"):
        freed.register_hooks(log.pack, log.unpack)


def test_custom_function_save_for_backward_is_packed():
    log = _Log()

    class Double(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x

    a = _leaf(1.0, 2.0, 3.0)
    with saved_tensors_hooks(log.pack, log.unpack):
        y = Double.apply(a)
    y.sum().backward()
    assert log.events == [("pack", (3,), True, False), ("unpack", (3,))]
    assert a.grad.tolist() == [1.0, 2.0, 3.0]


def test_hooks_run_without_grad_and_belong_to_their_thread():
    import threading

    x = _leaf(0.1, 0.2)
    packed = []

    def pack(t):  # an op in a pack hook records no graph and saves nothing (no recursion)
        s = t.sin()
        packed.append(s.requires_grad)
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        x.exp()
    assert packed == [False]

    seen = {"A": [], "B": []}
    inside_a, done_b = threading.Event(), threading.Event()

    def thread_a():
        with saved_tensors_hooks(lambda t: seen["A"].append("pack") or t, lambda t: t):
            inside_a.set()
            done_b.wait(10)

    def thread_b():
        inside_a.wait(10)
        x.exp()  # thread A's hooks are A's alone
        done_b.set()

    ta, tb = threading.Thread(target=thread_a), threading.Thread(target=thread_b)
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    assert seen["A"] == []


def test_disabling_hooks_that_are_on_raises_as_pytorch():
    with saved_tensors_hooks(lambda t: t, lambda t: t):
        with pytest.raises(RuntimeError, match="not while hooks are on"):
            with disable_saved_tensors_hooks("not while hooks are on"):
                pass
