"""srcgrad/storage.py: data_ptr, storage_offset, storages and as_strided against PyTorch's
memory model (where PyTorch is installed, side by side with it; else against the offsets
and strides it documents)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcgrad


def _views(lib):
    """(name, make) pairs: each make(x) is a tensor sharing x's storage, or a copy."""
    return [
        ("view", lambda x: x.view(3, 4)),
        ("row", lambda x: x[1]),
        ("column", lambda x: x[:, 2]),
        ("strided", lambda x: x[:, 1::2]),
        ("t", lambda x: x.t()),
        ("diagonal", lambda x: x.diagonal(1)),
        ("corner", lambda x: x[1:, 2:]),
        ("flat slice", lambda x: x.reshape(-1)[5:]),
        ("unsqueeze slice", lambda x: x.unsqueeze(0)[:, 1:]),
        ("expand", lambda x: x[1].expand(3, 4)),
        ("permute", lambda x: x.reshape(2, 2, 3).permute(2, 0, 1)[1]),
        ("split", lambda x: x.split(1, 1)[2]),
        ("unbind", lambda x: x.unbind(1)[3]),
        ("detach", lambda x: x.detach()),
        ("data", lambda x: x.data),
        ("detached row", lambda x: x[2].detach()),
        ("row of detached", lambda x: x.detach()[2]),
        ("narrow", lambda x: x.narrow(1, 1, 2)),
        ("clone", lambda x: x.clone()),
        ("t contiguous", lambda x: x.t().contiguous()),
        ("contiguous", lambda x: x.contiguous()),
    ]


_NAMES = [name for name, _ in _views(None)]


@pytest.mark.parametrize("name", _NAMES)
def test_offsets_and_pointers_as_pytorchs(name):
    torch = pytest.importorskip("torch")
    got = []
    for lib in (torch, srcgrad):
        x = lib.arange(12.0).reshape(3, 4)
        make = dict(_views(lib))[name]
        v = make(x)
        shared = v.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
        got.append((shared, v.storage_offset(), v.data_ptr() - x.data_ptr() if shared else None, tuple(v.stride()),
                    v.is_set_to(x), x.is_set_to(x.view(3, 4)), len(v.untyped_storage())))
    assert got[1] == got[0]


def test_offsets_without_pytorch():
    x = srcgrad.arange(12.0).reshape(3, 4)
    assert x.storage_offset() == 0 and x[1].storage_offset() == 4 and x[:, 2].storage_offset() == 2
    assert x.diagonal(1).storage_offset() == 1 and x[1:, 2:].storage_offset() == 6
    assert x[1].data_ptr() - x.data_ptr() == 4 * 4
    assert x.double()[1].data_ptr() - x.double().data_ptr() != 0
    assert x.detach().data_ptr() == x.data_ptr() and x.clone().data_ptr() != x.data_ptr()
    assert srcgrad.empty(0).data_ptr() == 0
    p = x.data_ptr()
    x.add_(1)  # (in place: same storage)
    assert x.data_ptr() == p


def test_a_storage_is_read_when_asked_and_writes_into_its_tensor():
    x = srcgrad.arange(6.0).reshape(2, 3)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        s = x[1].storage()
    assert len(s) == 6 and s.size() == 6 and s.dtype == srcgrad.float32 and s.element_size() == 4
    assert s.nbytes() == 24 and s.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and s[4] == 4.0
    assert s.data_ptr() == x.data_ptr()
    x.mul_(2)
    assert s.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    s[1] = 7.0
    assert x.tolist() == [[0.0, 7.0, 4.0], [6.0, 8.0, 10.0]]
    u = x.t().untyped_storage()
    assert len(u) == u.nbytes() == 24 and u.element_size() == 1
    assert u.tolist()[4:8] == list(np.float32(7.0).tobytes())
    assert repr(s).splitlines()[-1] == "[srcgrad.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 6]"
    assert repr(s).splitlines()[:2] == [" 0.0", " 7.0"]
    with pytest.raises(IndexError):
        s[6] = 1.0


def test_storage_reprs_as_pytorchs():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lib in (torch, srcgrad):
            x = lib.tensor([1.5, -2.0])
            y = lib.arange(2, dtype=lib.int16)
            assert repr(x.storage()).replace("srcgrad", "torch") == repr(torch.tensor([1.5, -2.0]).storage())
            assert repr(y.untyped_storage()).replace("srcgrad", "torch") == \
                repr(torch.arange(2, dtype=torch.int16).untyped_storage())


@pytest.mark.parametrize("args", [((2, 2), (1, 2), 1), ((3,), (2,), None), ((3, 2), (1, 1), None),
                                  ((2, 3), (0, 1), 2), ((0, 2), (1, 1), None)])
def test_as_strided_values_and_gradients_as_pytorchs(args):
    torch = pytest.importorskip("torch")
    out = []
    for lib in (torch, srcgrad):
        x = lib.arange(6.0, dtype=lib.float64).requires_grad_()
        y = lib.as_strided(x, *args)
        w = lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape)
        (y * w).sum().backward()
        out.append((y.detach().numpy().tolist(), x.grad.numpy().tolist(), y.grad_fn.name()))
    assert out[1] == out[0]


def test_as_strided_of_a_view_reads_the_shared_storage():
    x = srcgrad.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(x.t().as_strided((2, 2), (3, 1)).numpy(), [[0, 1], [3, 4]])
    np.testing.assert_array_equal(x[1].as_strided((2,), (1,)).numpy(), [3, 4])
    np.testing.assert_array_equal(x[1].as_strided((2,), (1,), 0).numpy(), [0, 1])
    # a sliding window, its gradient counting each element's windows
    a = srcgrad.arange(5.0, requires_grad=True)
    a.as_strided((3, 3), (1, 1)).sum().backward()
    assert a.grad.tolist() == [1.0, 2.0, 3.0, 2.0, 1.0]


def test_as_strided_errors_as_pytorchs():
    x = srcgrad.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match=r"setStorage: sizes \[3, 3\], strides \[1, 1\], storage offset 5, and "
                                           r"itemsize 4 requiring a storage size of 40 are out of bounds for "
                                           r"storage of size 24"):
        srcgrad.as_strided(x, (3, 3), (1, 1), 5)
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        x.as_strided((2,), (1, 1))
    with pytest.raises(RuntimeError, match="Negative strides are not supported"):
        x.as_strided((2,), (-1,))
    with pytest.raises(RuntimeError, match=r"Storage size calculation overflowed with sizes=\[-2\]"):
        x.as_strided((-2,), (1,))
