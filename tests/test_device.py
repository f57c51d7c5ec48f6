"""Devices (srcgrad/device.py): names, the meta device (shapes and dtypes without data, as
PyTorch's: printed, moved to, computed on lazily, never read) and the errors reading one gives."""

import copy

import pytest

import srcgrad as torch


def test_device_names():
    assert str(torch.device("meta")) == "meta" and repr(torch.device("meta")) == "device(type='meta')"
    assert torch.device("meta") == torch.device("meta") and torch.device("cpu") != torch.device("meta")
    # PyTorch 2.x: a device never equals a string (compare `.type`)
    assert torch.device("cpu") != "cpu" and not (torch.device("cpu") == "cpu") and torch.device("cpu").type == "cpu"
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda, meta device type at start of device "
                                           "string: tpu"):
        torch.device("tpu")


def test_meta_tensors_print_and_compute_shapes_only():
    m = torch.empty(2, 3, device="meta")
    assert m.is_meta and m.device.type == "meta" and not torch.ones(1).is_meta
    assert repr(m) == "tensor(..., device='meta', size=(2, 3))"
    assert repr(torch.zeros(2, 2, device="meta", dtype=torch.float64)) == \
        "tensor(..., device='meta', size=(2, 2), dtype=torch.float64)"
    assert repr(torch.tensor([1, 2], device="meta")) == "tensor(..., device='meta', size=(2,), dtype=torch.int64)"
    y = (m * 2).sum(0)
    assert y.is_meta and y.shape == (3,)
    assert repr(torch.ones(2, device="meta", requires_grad=True)) == \
        "tensor(..., device='meta', size=(2,), requires_grad=True)"


def test_reading_a_meta_tensor_raises_pytorchs_errors():
    m = torch.empty(2, 3, device="meta")
    with pytest.raises(RuntimeError, match="a Tensor with 6 elements cannot be converted to Scalar"):
        m.item()
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        m[0, 0].item()
    with pytest.raises(TypeError, match="can't convert meta device type tensor to numpy"):
        m.numpy()
    with pytest.raises(RuntimeError, match="Tensor.item\\(\\) cannot be called on meta tensors"):
        bool(m[0, 0])
    for read in (m.tolist, m.cpu, lambda: m.sum().tolist()):
        with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
            read()
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device.*meta and cpu"):
        m + torch.ones(2, 3)


def test_to_meta_keeps_autograd_and_backward_gives_meta_gradients():
    x = torch.ones(2, requires_grad=True)
    y = x.to("meta")
    assert y.is_meta and y.grad_fn is not None
    w = torch.ones(3, device="meta", requires_grad=True)
    (w * 2).sum().backward()
    assert w.grad.is_meta and repr(w.grad) == "tensor(..., device='meta', size=(3,))"


def test_a_module_on_the_meta_device():
    lin = torch.nn.Linear(2, 3).to("meta")
    assert repr(lin.weight) == "Parameter containing:\ntensor(..., device='meta', size=(3, 2), requires_grad=True)"
    out = lin(torch.empty(4, 2, device="meta"))
    assert out.is_meta and out.shape == (4, 3) and type(out.grad_fn).__name__ == "AddmmBackward0"
    assert copy.deepcopy(lin).weight.is_meta
    lin.to_empty(device="cpu")
    assert lin.weight.device.type == "cpu" and lin.weight.shape == (3, 2)


def test_ensembling_with_a_meta_base_model_as_the_pytorch_tutorial_does():
    from srcgrad.func import functional_call, stack_module_state, vmap

    torch.manual_seed(0)
    models = [torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)) for _ in range(3)]
    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0]).to("meta")

    def fmodel(p, b, x):
        return functional_call(base, (p, b), (x,))

    x = torch.randn(5, 4)
    out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    expected = torch.stack([m(x) for m in models])
    assert torch.allclose(out, expected, atol=1e-6)


def test_meta_printing_matches_pytorch():
    pt = pytest.importorskip("torch")
    for lib in (torch, pt):
        lib.manual_seed(0)
    cases = [lambda lib: lib.empty(2, 3, device="meta"), lambda lib: lib.zeros(2, device="meta", dtype=lib.float64),
             lambda lib: lib.ones(2, device="meta", requires_grad=True) * 2,
             lambda lib: lib.tensor([1, 2], device="meta")]
    for case in cases:
        assert repr(case(torch)) == repr(case(pt))


def test_a_cpu_scalar_joins_an_op_on_another_device_as_in_pytorch():
    # (a derivative rule's `y ** 2` of a Python number is such a scalar: x / 3 on a GPU needs this)
    x = torch.ones(3, device="meta", requires_grad=True)
    for f in (lambda t: t / 3, lambda t: t ** 2, lambda t: t.var().reshape(1)):
        x.grad = None
        f(x).sum().backward()
        assert x.grad.is_meta and x.grad.shape == (3,)
    assert (x + torch.tensor(2.0)).is_meta and (x * (torch.tensor(2.0) * 3)).is_meta
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but found at least two "
                                           "devices, meta and cpu"):
        x + torch.ones(3)


def test_accelerator_as_the_tutorials_pick_their_device():
    dev = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
    assert dev == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch.accelerator.device_count() == torch.cuda.device_count()
    if not torch.accelerator.is_available():
        assert torch.accelerator.current_accelerator() is None
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
            torch.accelerator.current_device_index()


def test_copy_between_meta_and_cpu_as_pytorch():
    m = torch.empty(3, device="meta")
    assert m.copy_(torch.ones(3)).is_meta
    c = torch.ones(3)
    with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor; no data!"):
        c.copy_(torch.empty(3, device="meta"))
    assert c.tolist() == [1.0, 1.0, 1.0]


def test_torch_functional_and_the_no_gpu_error_as_pytorch():
    import srcgrad.functional as F

    assert F.einsum("ij->j", torch.ones(2, 3)).tolist() == [2.0, 2.0, 2.0]
    assert torch.autograd.graph.Node.__name__ == "Node"
    if not torch.cuda.is_available():
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            torch.rand(2, 2, device="cuda")
        cuda = torch.device("cuda")  # (naming a GPU is allowed, as in PyTorch: placing a tensor there is not)
        assert repr(cuda) == "device(type='cuda')" and repr(torch.device("cuda", 1)) == "device(type='cuda', index=1)"
        with pytest.raises(RuntimeError):  # (also a RuntimeError, as srcgrad raised before)
            torch.ones(2).to(cuda)
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            torch.zeros(3, device=cuda)
