"""srcgrad.testing: assert_close's tolerances, nesting and exact messages; make_tensor."""

import math
import warnings

import numpy as np
import pytest

import srcgrad
from srcgrad.testing import assert_allclose, assert_close, make_tensor

t = srcgrad.tensor


def _message(actual, expected, **kwargs):
    with pytest.raises(Exception) as e:
        assert_close(actual, expected, **kwargs)
    return f"{type(e.value).__name__}: {e.value}"


def test_close_tensors_and_default_tolerances():
    assert_close(t([1.0, 2.0]), t([1.0, 2.0 + 2e-6]))  # float32: rtol 1.3e-6, atol 1e-5
    assert_close(t([1.0, 2.0], dtype=srcgrad.float16), t([1.0, 2.001], dtype=srcgrad.float16))
    assert_close(t([1.0, 2.0], dtype=srcgrad.bfloat16), t([1.0, 2.01], dtype=srcgrad.bfloat16))
    assert_close(t([1.0, math.inf]), t([1.0, math.inf]))
    assert_close(t([1.0, 2.0], requires_grad=True), t([1.0, 2.0]))
    assert_close(srcgrad.zeros(0), srcgrad.zeros(0))
    assert_close(1.0, 1.0 + 1e-8)
    assert_close((1.0, 2.0), [1.0, 2.0])
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    assert_close(None, None)
    assert_close(t(math.nan), t(math.nan), equal_nan=True)


def test_float_mismatch_message():
    assert _message(t([1.0, 2.0, 3.0]), t([1.0, 2.0, 3.1])) == (
        "AssertionError: Tensor-likes are not close!\n\n"
        "Mismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 0.09999990463256836 at index (2,) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.032258033752441406 at index (2,) (up to 1.3e-06 allowed)")
    assert _message(t([[1.0, 2.0], [3.0, 4.0]]), t([[1.0, 2.0], [3.0, 5.0]])) == (
        "AssertionError: Tensor-likes are not close!\n\n"
        "Mismatched elements: 1 / 4 (25.0%)\n"
        "Greatest absolute difference: 1.0 at index (1, 1) (up to 1e-05 allowed)\n"
        "Greatest relative difference: 0.20000000298023224 at index (1, 1) (up to 1.3e-06 allowed)")


def test_attribute_and_type_messages():
    assert _message(t([1.0, 2.0, 3.0]), t([1.0, 2.0, 3.0], dtype=srcgrad.float64)) == \
        "AssertionError: The values for attribute 'dtype' do not match: torch.float32 != torch.float64."
    assert _message(t([1.0, 2.0, 3.0]), t([1.0, 2.0])) == \
        "AssertionError: The values for attribute 'shape' do not match: torch.Size([3]) != torch.Size([2])."
    assert _message(t(1.0), 1.0) == ("TypeError: No comparison pair was able to handle inputs of type "
                                     "<class 'srcgrad.Tensor'> and <class 'float'>.")
    assert _message(1, 1.0) == "AssertionError: The (d)types do not match: <class 'int'> != <class 'float'>."
    assert_close(1, 1.0, check_dtype=False)
    assert _message(srcgrad.ones(2, 3).t(), srcgrad.ones(3, 2), check_stride=True) == \
        "AssertionError: The values for attribute 'stride()' do not match: (1, 3) != (2, 1)."
    assert _message(None, 1) == "AssertionError: None mismatch: None is not 1"
    assert _message("a", "a").startswith("TypeError: No comparison pair was able to handle inputs of type <class 'str'>")


def test_scalar_and_exact_messages():
    assert _message(1.0, 1.0001) == (
        "AssertionError: Scalars are not close!\n\nExpected 1.0001 but got 1.0.\n"
        "Absolute difference: 9.999999999998899e-05 (up to 1e-07 allowed)\n"
        "Relative difference: 9.9990000999889e-05 (up to 1e-07 allowed)")
    assert _message(1, 2) == ("AssertionError: Scalars are not equal!\n\nExpected 2 but got 1.\n"
                              "Absolute difference: 1\nRelative difference: 0.5")
    assert _message(t([1, 2, 3]), t([1, 2, 4])) == (
        "AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 3 (33.3%)\n"
        "Greatest absolute difference: 1 at index (2,)\nGreatest relative difference: 0.25 at index (2,)")
    assert _message(t([True, False]), t([True, True])) == (
        "AssertionError: Tensor-likes are not equal!\n\nMismatched elements: 1 / 2 (50.0%)\n"
        "Greatest absolute difference: 1 at index (1,)\nGreatest relative difference: 1.0 at index (1,)")
    assert _message(t(math.nan), t(math.nan)) == (
        "AssertionError: Scalars are not close!\n\nExpected nan but got nan.\n"
        "Absolute difference: nan (up to 1e-05 allowed)\nRelative difference: nan (up to 1.3e-06 allowed)")


def test_containers_name_the_item():
    assert _message([t(1.0), t(2.0)], [t(1.0), t(3.0)]).endswith("\n\nThe failure occurred for item [1]")
    assert _message({"a": t(1.0), "b": t(2.0)}, {"a": t(1.0), "b": t(3.0)}).endswith(
        "The failure occurred for item ['b']")
    assert _message({"a": [t([1.0]), (3, t(4.0))]}, {"a": [t([1.0]), (3, t(4.5))]}).endswith(
        "The failure occurred for item ['a'][1][1]")
    assert _message([1, 2], [1, 2, 3]) == "AssertionError: The length of the sequences mismatch: 2 != 3"
    assert _message({"a": 1}, {"b": 1}) == ("AssertionError: The keys of the mappings do not match:\n"
                                            "Missing keys in the actual mapping: ['b']\n"
                                            "Additional keys in the actual mapping: ['a']")


def test_msg_and_tolerance_arguments():
    assert _message(t([1.0, 2.0]), t([1.0, 2.2]), msg="custom") == "AssertionError: custom"
    assert _message(t([1.0, 2.0]), t([1.0, 2.2]), msg=lambda m: "Header\n" + m).startswith(
        "AssertionError: Header\nTensor-likes are not close!")
    assert _message(t([1.0, 2.0]), t([1.0, 2.2]), rtol=0.1) == \
        "ValueError: Both 'rtol' and 'atol' must be either specified or omitted, but got no atol."
    assert_close(t([1.0, 2.0]), t([1.0, 2.2]), rtol=0.2, atol=0.0)
    assert _message(t([1.0, 2.0]), t([1.0, 2.5]), rtol=0.0, atol=0.0).startswith(
        "AssertionError: Tensor-likes are not equal!")


def test_assert_allclose_is_deprecated_and_looser():
    with pytest.warns(FutureWarning, match=r"`torch.testing.assert_allclose\(\)` is deprecated since 1.12"):
        assert_allclose(t([1.0, 2.0]), [1.0, 2.0001])  # float32: rtol 1e-4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert_allclose(t([1.0, math.nan]), t([1.0, math.nan]))  # equal_nan=True
        with pytest.raises(AssertionError, match="Tensor-likes are not close"):
            assert_allclose(t([1.0, 2.0]), [1.0, 2.1])


def test_make_tensor():
    x = make_tensor(2, 3, dtype=srcgrad.float32, device="cpu")
    assert x.shape == (2, 3) and x.dtype == srcgrad.float32 and not x.requires_grad
    assert -9 <= float(x.min()) and float(x.max()) < 9
    i = make_tensor((50,), dtype=srcgrad.int64, device="cpu", low=0, high=3)
    assert set(i.tolist()) <= {0, 1, 2}
    b = make_tensor([4], dtype=srcgrad.bool, device="cpu")
    assert b.dtype == srcgrad.bool
    g = make_tensor(3, dtype=srcgrad.float64, device="cpu", requires_grad=True)
    assert g.requires_grad and g.is_leaf
    n = make_tensor(2, 4, dtype=srcgrad.float32, device="cpu", noncontiguous=True)
    assert n.shape == (2, 4) and not n.is_contiguous()
    z = make_tensor(20, dtype=srcgrad.int32, device="cpu", low=0, high=2, exclude_zero=True)
    assert (z != 0).all()
    big = make_tensor(100, dtype=srcgrad.float64, device="cpu", low=-1e308, high=1e308)
    assert bool(big.isfinite().all())
    with pytest.raises(ValueError, match=r"^`requires_grad=True` is not supported for boolean and integral dtypes, "
                                         r"but got dtype=torch.int64$"):
        make_tensor(2, dtype=srcgrad.int64, device="cpu", requires_grad=True)
    with pytest.raises(ValueError, match=r"^`low` must be less than `high`, but got 5 >= 1$"):
        make_tensor(2, dtype=srcgrad.float32, device="cpu", low=5, high=1)
    with pytest.raises(ValueError, match=r"^The value interval specified by `low` and `high` is \[-10, -5\), but "
                                         r"torch.uint8 only supports \[0, 256\)$"):
        make_tensor(2, dtype=srcgrad.uint8, device="cpu", low=-10, high=-5)


# Every case runs through torch.testing and srcgrad.testing; the outcomes must be the same.
def _cases(T, tc):
    nan, inf = math.nan, math.inf
    tt = T.tensor
    return [
        lambda: tc(tt([1.0, 2.0, 3.0]), tt([1.0, 2.0, 3.1])),
        lambda: tc(tt([1.0, 2.0, 3.0]), tt([1.0, 2.0, 3.0], dtype=T.float64)),
        lambda: tc(tt([1.0, 2.0, 3.0]), tt([1.0, 2.0])),
        lambda: tc(tt(1.0), 1.0),
        lambda: tc(1.0, 1.0001),
        lambda: tc(1, 2),
        lambda: tc(tt([1, 2, 3]), tt([1, 2, 9])),
        lambda: tc({"a": [tt([1.0, 2.0]), (3, tt(4.0))]}, {"a": [tt([1.0, 2.0]), (3, tt(4.5))]}),
        lambda: tc([1, 2], [1, 2, 3]),
        lambda: tc({"a": 1}, {"b": 1}),
        lambda: tc(np.array([1.0, 2.0]), tt([1.0, 2.0])),
        lambda: tc(np.array([1.0, 2.0]), np.array([1.0, 2.5])),
        lambda: tc(np.array([1.0, 2.0], dtype=np.float32), np.array([1.0, 2.5], dtype=np.float32)),
        lambda: tc(np.array([1, 2]), np.array([1, 3])),
        lambda: tc(np.float32(1.0), np.float32(1.5)),
        lambda: tc(tt([1.0, 2.0]), tt([1.0, 2.2]), msg=lambda m: m + "!!"),
        lambda: tc([tt([1.0, 2.0])], [tt([1.0, 2.2])], msg=lambda m: "H\n" + m),
        lambda: tc([1], [1, 2], msg="custom"),
        lambda: tc(tt([1.0, nan]), tt([1.0, 2.0])),
        lambda: tc(tt([1.0, nan]), tt([1.0, nan])),
        lambda: tc(tt([1.0, 2.0]), tt([1.0, 2.2]), atol=0.1),
        lambda: tc(tt([1.0, 2.0]), tt([1.0, 2.5]), rtol=0.1, atol=0.01),
        lambda: tc(True, False),
        lambda: tc(np.bool_(True), True),
        lambda: tc(1, None),
        lambda: tc(tt([1.0, 2.0]), [1.0, 2.0]),
        lambda: tc(tt([1.0, 2.0]), tt([1, 2]), check_dtype=False),
        lambda: tc(tt([1.0, 2.5]), tt([1, 2]), check_dtype=False),
        lambda: tc(tt([1.0, 2.0]), tt([1.0, 2.00001], dtype=T.float64), check_dtype=False),
        lambda: tc(tt([1.0, inf]), tt([1.0, -inf])),
        lambda: tc(tt([0.0, 1.0]), tt([1e-9, 1.0])),
        lambda: tc(tt([1.0, 1.0]), tt([0.0, 1.0])),
        lambda: tc(tt([1.0, 2.0], requires_grad=True), tt([1.0, 3.0])),
        lambda: tc(tt([1.0, 2.0], dtype=T.float16), tt([1.0, 2.01], dtype=T.float16)),
        lambda: tc(tt([1.0, 2.0], dtype=T.bfloat16), tt([1.0, 2.2], dtype=T.bfloat16)),
        lambda: tc(tt(1.0, dtype=T.bfloat16), tt(1.2, dtype=T.bfloat16)),
        lambda: tc(tt([1.0, 2.0], dtype=T.float64), tt([1.0, 2.000001], dtype=T.float64)),
        lambda: tc(True, 1),
        lambda: tc(1 + 0j, 1 + 1e-3j),
        lambda: tc(tt(1.5), tt(1.0)),
        lambda: tc(tt(3), tt(2)),
        lambda: tc(tt([1, 200], dtype=T.uint8), tt([1, 10], dtype=T.uint8)),
        lambda: tc(tt([1, 5], dtype=T.int8), tt([1, 0], dtype=T.int8)),
        lambda: tc(tt([10, 20]), tt([10, 21]), rtol=0.01, atol=0.0),
        lambda: tc(tt([10, 200]), tt([10, 201]), rtol=0.01, atol=0.0),
        lambda: tc(tt([1.0, 2.0]), tt([1.0, 2.5]), rtol=-1.0, atol=0.0),
        lambda: tc(T.arange(24.0).reshape(2, 3, 4), T.arange(24.0).reshape(2, 3, 4) * 1.5),
        lambda: tc(tt([1.0, 2.0, 3.0, 4.0]), tt([2.0, 3.0, 4.0, 5.0])),
        lambda: tc(tt([1.0]), tt([1.0]), allow_subclasses=False),
        lambda: tc({1, 2}, {1, 2}),
        lambda: tc([1, 2.5], (1, 2.0)),
    ]


def _outcomes(T, tc):
    out = []
    for case in _cases(T, tc):
        try:
            case()
            out.append("PASS")
        except Exception as e:
            text = f"{type(e).__name__}: {e}"
            out.append(text.replace("srcgrad.Tensor", "torch.Tensor"))
    return out


def test_against_torch():
    torch = pytest.importorskip("torch")
    from torch.testing import assert_close as torch_assert_close

    assert _outcomes(srcgrad, assert_close) == _outcomes(torch, torch_assert_close)


def test_make_tensor_errors_against_torch():
    torch = pytest.importorskip("torch")
    torch_make_tensor = pytest.importorskip("torch.testing").make_tensor

    def calls(T, mk):
        return [
            lambda: mk(2, dtype=T.int64, device="cpu", requires_grad=True),
            lambda: mk(2, dtype=T.float32, device="cpu", low=5, high=1),
            lambda: mk(2, dtype=T.float32, device="cpu", low=math.nan),
            lambda: mk(2, dtype=T.uint8, device="cpu", low=-10, high=-5),
            lambda: mk(2, 2, dtype=T.float32, device="cpu", noncontiguous=True, memory_format=T.contiguous_format),
            lambda: mk(2, 4, dtype=T.float32, device="cpu", noncontiguous=True),
            lambda: mk(3, dtype=T.float16, device="cpu", low=-1, high=1, requires_grad=True),
            lambda: mk(dtype=T.int8, device="cpu"),
        ]

    def outcomes(T, mk):
        out = []
        for c in calls(T, mk):
            try:
                r = c()
                out.append((tuple(r.shape), str(r.dtype), r.requires_grad, r.stride(), r.is_contiguous()))
            except Exception as e:
                out.append(f"{type(e).__name__}: {e}")
        return out

    assert outcomes(srcgrad, make_tensor) == outcomes(torch, torch_make_tensor)
