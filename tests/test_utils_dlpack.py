"""srcgrad.utils.dlpack / srcgrad.from_dlpack / Tensor.__dlpack__: exchanging tensors with
JAX, NumPy and PyTorch, with PyTorch's refusals."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import srcgrad
from srcgrad.utils import dlpack


@pytest.mark.parametrize("source", [np.arange(6.0).reshape(2, 3), np.arange(4, dtype=np.int32),
                                    np.array([True, False]), jnp.ones((2, 2), jnp.bfloat16),
                                    jnp.linspace(0, 1, 5, dtype=jnp.float32)])
def test_from_dlpack_of_arrays(source):
    t = srcgrad.from_dlpack(source)
    assert isinstance(t, srcgrad.Tensor) and tuple(t.shape) == source.shape
    assert str(t.dtype) == f"torch.{np.dtype(source.dtype).name}"
    np.testing.assert_array_equal(np.asarray(t.float() if t.dtype == srcgrad.bfloat16 else t),
                                  np.asarray(source, dtype=np.float32 if source.dtype == jnp.bfloat16 else None))
    assert t.is_leaf and not t.requires_grad


def test_round_trips_and_capsules():
    t = srcgrad.arange(3.0) * 2
    cap = dlpack.to_dlpack(t)
    assert type(cap).__name__ == "PyCapsule"
    assert srcgrad.from_dlpack(cap).tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(RuntimeError, match="from_dlpack received an invalid capsule"):
        srcgrad.from_dlpack(cap)  # (a capsule is consumed once)
    assert t.__dlpack_device__()[1] == 0
    np.testing.assert_array_equal(np.from_dlpack(t), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(jnp.from_dlpack(t)), [0.0, 2.0, 4.0])
    assert srcgrad.from_dlpack(t).data_ptr() == t.data_ptr()  # (the same storage, as PyTorch's)
    with pytest.raises(RuntimeError, match="invalid capsule"):
        srcgrad.from_dlpack([1, 2])


def test_tensors_that_require_grad_are_refused():
    w = srcgrad.ones(2, requires_grad=True)
    for export in (lambda: np.from_dlpack(w), w.__dlpack__, lambda: srcgrad.from_dlpack(w),
                   lambda: dlpack.to_dlpack(w)):
        with pytest.raises(BufferError, match=r"Can't export tensors that require gradient, use tensor.detach\(\)"):
            export()
    np.testing.assert_array_equal(np.from_dlpack(w.detach()), [1.0, 1.0])


def test_exchange_with_pytorch():
    torch = pytest.importorskip("torch")
    a = torch.arange(4.0).reshape(2, 2)
    assert srcgrad.from_dlpack(a).tolist() == a.tolist()
    assert srcgrad.from_dlpack(torch.utils.dlpack.to_dlpack(a)).tolist() == a.tolist()
    b = srcgrad.arange(4.0).reshape(2, 2).t()
    assert torch.from_dlpack(b).tolist() == b.tolist()
