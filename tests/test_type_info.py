"""finfo/iinfo, result_type/promote_types/can_cast, layouts and the legacy tensor types, against
what PyTorch prints and returns (literal expectations, taken from PyTorch 2.13)."""

import pickle

import pytest

import srcgrad as torch


@pytest.mark.parametrize("dtype, text", [
    (torch.float32, "finfo(resolution=1e-06, min=-3.40282e+38, max=3.40282e+38, eps=1.19209e-07, "
                    "smallest_normal=1.17549e-38, tiny=1.17549e-38, dtype=float32)"),
    (torch.float64, "finfo(resolution=1e-15, min=-1.79769e+308, max=1.79769e+308, eps=2.22045e-16, "
                    "smallest_normal=2.22507e-308, tiny=2.22507e-308, dtype=float64)"),
    (torch.float16, "finfo(resolution=0.001, min=-65504, max=65504, eps=0.000976562, smallest_normal=6.10352e-05, "
                    "tiny=6.10352e-05, dtype=float16)"),
    (torch.bfloat16, "finfo(resolution=0.01, min=-3.38953e+38, max=3.38953e+38, eps=0.0078125, "
                     "smallest_normal=1.17549e-38, tiny=1.17549e-38, dtype=bfloat16)"),
])
def test_finfo_as_pytorch(dtype, text):
    f = torch.finfo(dtype)
    assert repr(f) == text
    assert f.bits == dtype.itemsize * 8 and f.min == -f.max and f.tiny == f.smallest_normal


def test_finfo_values_and_default():
    f = torch.finfo(torch.float32)
    assert (f.eps, f.max, f.tiny) == (1.1920928955078125e-07, 3.4028234663852886e+38, 1.1754943508222875e-38)
    assert torch.finfo().dtype == "float32"
    with pytest.raises(TypeError, match="requires a floating point input type"):
        torch.finfo(torch.int32)


def test_iinfo_as_pytorch():
    assert repr(torch.iinfo(torch.int32)) == "iinfo(min=-2.14748e+09, max=2.14748e+09, dtype=int32)"
    i = torch.iinfo(torch.int64)
    assert (i.bits, i.max, i.min) == (64, 2 ** 63 - 1, -2 ** 63)
    assert (torch.iinfo(torch.uint8).min, torch.iinfo(torch.uint8).max) == (0, 255)
    with pytest.raises(TypeError, match="torch.bool is not supported by torch.iinfo"):
        torch.iinfo(torch.bool)


def test_promotion_queries():
    assert torch.result_type(torch.ones(2, dtype=torch.int32), 2.5) is torch.float32
    assert torch.result_type(2, 3.0) is torch.float32 and torch.result_type(True, 2) is torch.int64
    assert torch.result_type(torch.tensor(1, dtype=torch.int32), torch.tensor([1], dtype=torch.uint8)) is torch.uint8
    assert torch.promote_types(torch.int32, torch.float16) is torch.float16
    assert torch.promote_types(torch.bfloat16, torch.float16) is torch.float32
    kinds = [torch.float32, torch.int32, torch.bool, torch.uint8]
    assert [[torch.can_cast(a, b) for b in kinds] for a in kinds] == [
        [True, False, False, False], [True, True, False, True], [True, True, True, True], [True, True, False, True]]


def test_dtype_flags_and_layout():
    assert torch.float32.is_signed and torch.int8.is_signed and not torch.uint8.is_signed
    assert not torch.bool.is_signed and not torch.float32.is_complex
    assert repr(torch.strided) == "torch.strided" and isinstance(torch.strided, torch.layout)
    assert torch.ones(2).layout is torch.strided
    assert pickle.loads(pickle.dumps(torch.strided)) is torch.strided


def test_legacy_tensor_types():
    x = torch.ones(2)
    assert isinstance(x, torch.FloatTensor) and not isinstance(x, torch.DoubleTensor)
    assert isinstance(x.long(), torch.LongTensor) and isinstance(x.double(), torch.DoubleTensor)
    assert repr(torch.FloatTensor) == "<class 'torch.FloatTensor'>"
    made = [torch.ByteTensor([1, 2]), torch.HalfTensor([1]), torch.CharTensor([1]), torch.ShortTensor([1]),
            torch.BFloat16Tensor([1]), torch.BoolTensor([1])]
    assert [t.dtype for t in made] == [torch.uint8, torch.float16, torch.int8, torch.int16, torch.bfloat16,
                                      torch.bool]
    assert torch.FloatTensor(2, 3).shape == (2, 3) and torch.LongTensor().shape == (0,)
    assert x.type() == "torch.FloatTensor" and x.double().type() == "torch.DoubleTensor"
    assert x.type("torch.DoubleTensor").dtype is torch.float64 and x.type(torch.IntTensor).dtype is torch.int32
    assert x.type(torch.float16).dtype is torch.float16
    with pytest.raises(ValueError, match="invalid type: 'torch.NoTensor'"):
        x.type("torch.NoTensor")
