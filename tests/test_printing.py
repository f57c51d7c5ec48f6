"""Tests for :mod:`srcgrad.printing` (PyTorch-compatible tensor formatting).

The expected strings in ``CASES`` were produced with PyTorch 2.13.0
(``repr(torch.from_numpy(array))``, with ``requires_grad_()``, a
value-preserving op such as ``x * 1`` for ``grad_fn``, ``torch.nn.Parameter``
for the ``Parameter containing:`` prefix and ``torch.set_printoptions`` for the
print options). The ``device='cuda:0'`` expectations come from PyTorch's own
``_tensor_str`` / ``_add_suffixes`` helpers with the suffix list that
``Tensor.__repr__`` builds, since no GPU was available. The literals make
these tests independent of torch; only the randomized cross-check at the end
needs torch and is skipped without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from srcgrad.printing import format_tensor, get_printoptions, set_printoptions

DEFAULT_OPTIONS = {
    "precision": 4,
    "threshold": 1000,
    "edgeitems": 3,
    "linewidth": 80,
    "sci_mode": None,
}


@pytest.fixture(autouse=True)
def _reset_printoptions() -> Iterator[None]:
    set_printoptions(profile="default")
    yield
    set_printoptions(profile="default")


def _bfloat16(values: list[float]) -> np.ndarray:
    ml_dtypes = pytest.importorskip("ml_dtypes")
    return np.asarray(values, dtype=np.float32).astype(ml_dtypes.bfloat16)


def _case(
    case_id: str,
    make: Callable[[], np.ndarray],
    kwargs: dict[str, Any],
    expected: str,
    opts: dict[str, Any] | None = None,
) -> Any:
    return pytest.param(make, kwargs, expected, opts or {}, id=case_id)


CASES = [
    _case(
        "ones_2x2",
        lambda: np.ones((2, 2), dtype=np.float32),
        {"dtype_name": "float32"},
        ("tensor([[1., 1.],\n        [1., 1.]])"),
    ),
    _case(
        "ones_2x2_requires_grad",
        lambda: np.ones((2, 2), dtype=np.float32),
        {"dtype_name": "float32", "requires_grad": True},
        ("tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"),
    ),
    _case(
        "ones_2x2_grad_fn",
        lambda: np.ones((2, 2), dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "MulBackward0"},
        ("tensor([[1., 1.],\n        [1., 1.]], grad_fn=<MulBackward0>)"),
    ),
    _case(
        "vector_requires_grad",
        lambda: np.array([1.5, -2.25, 3.0], dtype=np.float32),
        {"dtype_name": "float32", "requires_grad": True},
        "tensor([ 1.5000, -2.2500,  3.0000], requires_grad=True)",
    ),
    _case(
        "vector_grad_fn_add",
        lambda: np.array([1.5, -2.25, 3.0], dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "AddBackward0"},
        "tensor([ 1.5000, -2.2500,  3.0000], grad_fn=<AddBackward0>)",
    ),
    _case(
        "sci_auto_ratio",
        lambda: np.array([51.2, 512.0, 0.0512], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([5.1200e+01, 5.1200e+02, 5.1200e-02])",
    ),
    _case(
        "negative_fixed",
        lambda: np.array([-785.2280, 974.2848, -274.3367], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([-785.2280,  974.2848, -274.3367])",
    ),
    _case(
        "scalar_float",
        lambda: np.array(27.0, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(27.)",
    ),
    _case(
        "scalar_float_grad_fn",
        lambda: np.array(27.0, dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "MeanBackward0"},
        "tensor(27., grad_fn=<MeanBackward0>)",
    ),
    _case(
        "scalar_float_requires_grad",
        lambda: np.array(-3.5, dtype=np.float32),
        {"dtype_name": "float32", "requires_grad": True},
        "tensor(-3.5000, requires_grad=True)",
    ),
    _case(
        "scalar_float_fraction",
        lambda: np.array(0.1, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(0.1000)",
    ),
    _case(
        "scalar_float_tiny",
        lambda: np.array(1e-7, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(1.0000e-07)",
    ),
    _case(
        "scalar_float_huge",
        lambda: np.array(3e20, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(3.0000e+20)",
    ),
    _case(
        "scalar_float64",
        lambda: np.array(2.5, dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor(2.5000, dtype=torch.float64)",
    ),
    _case(
        "scalar_float64_int",
        lambda: np.array(7.0, dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor(7., dtype=torch.float64)",
    ),
    _case(
        "scalar_int64",
        lambda: np.array(42, dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor(42)",
    ),
    _case(
        "scalar_int32",
        lambda: np.array(-42, dtype=np.int32),
        {"dtype_name": "int32"},
        "tensor(-42, dtype=torch.int32)",
    ),
    _case(
        "scalar_bool",
        lambda: np.array(True),
        {"dtype_name": "bool"},
        "tensor(True)",
    ),
    _case(
        "scalar_nan",
        lambda: np.array(np.nan, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(nan)",
    ),
    _case(
        "scalar_neg_inf",
        lambda: np.array(-np.inf, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(-inf)",
    ),
    _case(
        "scalar_neg_zero",
        lambda: np.array(-0.0, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor(-0.)",
    ),
    _case(
        "int64_vector",
        lambda: np.array([1, -20, 300], dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([  1, -20, 300])",
    ),
    _case(
        "int64_matrix",
        lambda: np.arange(-6, 6, dtype=np.int64).reshape(3, 4),
        {"dtype_name": "int64"},
        (
            "tensor([[-6, -5, -4, -3],\n"
            "        [-2, -1,  0,  1],\n"
            "        [ 2,  3,  4,  5]])"
        ),
    ),
    _case(
        "int32_vector",
        lambda: np.array([1, 2, 3], dtype=np.int32),
        {"dtype_name": "int32"},
        "tensor([1, 2, 3], dtype=torch.int32)",
    ),
    _case(
        "int32_matrix",
        lambda: np.arange(12, dtype=np.int32).reshape(3, 4),
        {"dtype_name": "int32"},
        (
            "tensor([[ 0,  1,  2,  3],\n"
            "        [ 4,  5,  6,  7],\n"
            "        [ 8,  9, 10, 11]], dtype=torch.int32)"
        ),
    ),
    _case(
        "int16_vector",
        lambda: np.array([-32768, 0, 32767], dtype=np.int16),
        {"dtype_name": "int16"},
        "tensor([-32768,      0,  32767], dtype=torch.int16)",
    ),
    _case(
        "int8_vector",
        lambda: np.array([-128, 5, 127], dtype=np.int8),
        {"dtype_name": "int8"},
        "tensor([-128,    5,  127], dtype=torch.int8)",
    ),
    _case(
        "uint8_vector",
        lambda: np.array([0, 17, 255], dtype=np.uint8),
        {"dtype_name": "uint8"},
        "tensor([  0,  17, 255], dtype=torch.uint8)",
    ),
    _case(
        "int64_extremes",
        lambda: np.array([2**63 - 1, -(2**63)], dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([ 9223372036854775807, -9223372036854775808])",
    ),
    _case(
        "bool_vector",
        lambda: np.array([True, False]),
        {"dtype_name": "bool"},
        "tensor([ True, False])",
    ),
    _case(
        "bool_all_true",
        lambda: np.array([True, True, True]),
        {"dtype_name": "bool"},
        "tensor([True, True, True])",
    ),
    _case(
        "bool_matrix",
        lambda: np.array([[True, False], [False, True]]),
        {"dtype_name": "bool"},
        ("tensor([[ True, False],\n        [False,  True]])"),
    ),
    _case(
        "float64_vector",
        lambda: np.array([1.0, 2.5, -3.25], dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([ 1.0000,  2.5000, -3.2500], dtype=torch.float64)",
    ),
    _case(
        "float64_int_values",
        lambda: np.array([1.0, 2.0], dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([1., 2.], dtype=torch.float64)",
    ),
    _case(
        "float64_grad_fn",
        lambda: np.array([1.0, 2.5, -3.25], dtype=np.float64),
        {"dtype_name": "float64", "grad_fn_name": "MulBackward0"},
        (
            "tensor([ 1.0000,  2.5000, -3.2500], dtype=torch.float64,\n"
            "       grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "float64_requires_grad",
        lambda: np.arange(6, dtype=np.float64).reshape(2, 3) / 7,
        {"dtype_name": "float64", "requires_grad": True},
        (
            "tensor([[0.0000, 0.1429, 0.2857],\n"
            "        [0.4286, 0.5714, 0.7143]], dtype=torch.float64, "
            "requires_grad=True)"
        ),
    ),
    _case(
        "float16_vector",
        lambda: np.array([0.1, 2.0, -65504.0], dtype=np.float16),
        {"dtype_name": "float16"},
        ("tensor([ 9.9976e-02,  2.0000e+00, -6.5504e+04], dtype=torch.float16)"),
    ),
    _case(
        "float16_int_values",
        lambda: np.array([1.0, 2.0, 3.0], dtype=np.float16),
        {"dtype_name": "float16"},
        "tensor([1., 2., 3.], dtype=torch.float16)",
    ),
    _case(
        "bfloat16_vector",
        lambda: _bfloat16([0.1, 2.0, -3.0]),
        {"dtype_name": "bfloat16"},
        "tensor([ 0.1001,  2.0000, -3.0000], dtype=torch.bfloat16)",
    ),
    _case(
        "bfloat16_sci",
        lambda: _bfloat16([1e-5, 3.0, -1e9]),
        {"dtype_name": "bfloat16"},
        ("tensor([ 1.0014e-05,  3.0000e+00, -9.9824e+08], dtype=torch.bfloat16)"),
    ),
    _case(
        "complex64_vector",
        lambda: np.array([1 + 2j, -0.5 - 1j, 3j], dtype=np.complex64),
        {"dtype_name": "complex64"},
        "tensor([ 1.0000+2.j, -0.5000-1.j,  0.0000+3.j])",
    ),
    _case(
        "complex128_vector",
        lambda: np.array([1 + 2j, -0.5 - 1j], dtype=np.complex128),
        {"dtype_name": "complex128"},
        "tensor([ 1.0000+2.j, -0.5000-1.j], dtype=torch.complex128)",
    ),
    _case(
        "empty_1d_float",
        lambda: np.zeros((0,), dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([])",
    ),
    _case(
        "empty_0x3_float",
        lambda: np.zeros((0, 3), dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([], size=(0, 3))",
    ),
    _case(
        "empty_2x0x4_float",
        lambda: np.zeros((2, 0, 4), dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([], size=(2, 0, 4))",
    ),
    _case(
        "empty_1d_int64",
        lambda: np.zeros((0,), dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([], dtype=torch.int64)",
    ),
    _case(
        "empty_0x3_int64",
        lambda: np.zeros((0, 3), dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([], size=(0, 3), dtype=torch.int64)",
    ),
    _case(
        "empty_1d_bool",
        lambda: np.zeros((0,), dtype=bool),
        {"dtype_name": "bool"},
        "tensor([], dtype=torch.bool)",
    ),
    _case(
        "empty_1d_float64",
        lambda: np.zeros((0,), dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([], dtype=torch.float64)",
    ),
    _case(
        "empty_1d_int32",
        lambda: np.zeros((0,), dtype=np.int32),
        {"dtype_name": "int32"},
        "tensor([], dtype=torch.int32)",
    ),
    _case(
        "empty_requires_grad",
        lambda: np.zeros((0, 3), dtype=np.float32),
        {"dtype_name": "float32", "requires_grad": True},
        "tensor([], size=(0, 3), requires_grad=True)",
    ),
    _case(
        "arange_2000_int64",
        lambda: np.arange(2000, dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])",
    ),
    _case(
        "arange_2000_float32",
        lambda: np.arange(2000, dtype=np.float32),
        {"dtype_name": "float32"},
        (
            "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, "
            "1.9980e+03,\n"
            "        1.9990e+03])"
        ),
    ),
    _case(
        "arange_1001_float32_fraction",
        lambda: np.arange(1001, dtype=np.float32) / 3,
        {"dtype_name": "float32"},
        (
            "tensor([0.0000e+00, 3.3333e-01, 6.6667e-01,  ..., 3.3267e+02, "
            "3.3300e+02,\n"
            "        3.3333e+02])"
        ),
    ),
    _case(
        "summarised_matrix",
        lambda: np.arange(40 * 50, dtype=np.float32).reshape(40, 50) / 100,
        {"dtype_name": "float32"},
        (
            "tensor([[0.0000e+00, 1.0000e-02, 2.0000e-02,  ..., 4.7000e-01, "
            "4.8000e-01,\n"
            "         4.9000e-01],\n"
            "        [5.0000e-01, 5.1000e-01, 5.2000e-01,  ..., 9.7000e-01, "
            "9.8000e-01,\n"
            "         9.9000e-01],\n"
            "        [1.0000e+00, 1.0100e+00, 1.0200e+00,  ..., 1.4700e+00, "
            "1.4800e+00,\n"
            "         1.4900e+00],\n"
            "        ...,\n"
            "        [1.8500e+01, 1.8510e+01, 1.8520e+01,  ..., 1.8970e+01, "
            "1.8980e+01,\n"
            "         1.8990e+01],\n"
            "        [1.9000e+01, 1.9010e+01, 1.9020e+01,  ..., 1.9470e+01, "
            "1.9480e+01,\n"
            "         1.9490e+01],\n"
            "        [1.9500e+01, 1.9510e+01, 1.9520e+01,  ..., 1.9970e+01, "
            "1.9980e+01,\n"
            "         1.9990e+01]])"
        ),
    ),
    _case(
        "summarised_3d",
        lambda: np.arange(12 * 12 * 12, dtype=np.int64).reshape(12, 12, 12),
        {"dtype_name": "int64"},
        (
            "tensor([[[   0,    1,    2,  ...,    9,   10,   11],\n"
            "         [  12,   13,   14,  ...,   21,   22,   23],\n"
            "         [  24,   25,   26,  ...,   33,   34,   35],\n"
            "         ...,\n"
            "         [ 108,  109,  110,  ...,  117,  118,  119],\n"
            "         [ 120,  121,  122,  ...,  129,  130,  131],\n"
            "         [ 132,  133,  134,  ...,  141,  142,  143]],\n"
            "\n"
            "        [[ 144,  145,  146,  ...,  153,  154,  155],\n"
            "         [ 156,  157,  158,  ...,  165,  166,  167],\n"
            "         [ 168,  169,  170,  ...,  177,  178,  179],\n"
            "         ...,\n"
            "         [ 252,  253,  254,  ...,  261,  262,  263],\n"
            "         [ 264,  265,  266,  ...,  273,  274,  275],\n"
            "         [ 276,  277,  278,  ...,  285,  286,  287]],\n"
            "\n"
            "        [[ 288,  289,  290,  ...,  297,  298,  299],\n"
            "         [ 300,  301,  302,  ...,  309,  310,  311],\n"
            "         [ 312,  313,  314,  ...,  321,  322,  323],\n"
            "         ...,\n"
            "         [ 396,  397,  398,  ...,  405,  406,  407],\n"
            "         [ 408,  409,  410,  ...,  417,  418,  419],\n"
            "         [ 420,  421,  422,  ...,  429,  430,  431]],\n"
            "\n"
            "        ...,\n"
            "\n"
            "        [[1296, 1297, 1298,  ..., 1305, 1306, 1307],\n"
            "         [1308, 1309, 1310,  ..., 1317, 1318, 1319],\n"
            "         [1320, 1321, 1322,  ..., 1329, 1330, 1331],\n"
            "         ...,\n"
            "         [1404, 1405, 1406,  ..., 1413, 1414, 1415],\n"
            "         [1416, 1417, 1418,  ..., 1425, 1426, 1427],\n"
            "         [1428, 1429, 1430,  ..., 1437, 1438, 1439]],\n"
            "\n"
            "        [[1440, 1441, 1442,  ..., 1449, 1450, 1451],\n"
            "         [1452, 1453, 1454,  ..., 1461, 1462, 1463],\n"
            "         [1464, 1465, 1466,  ..., 1473, 1474, 1475],\n"
            "         ...,\n"
            "         [1548, 1549, 1550,  ..., 1557, 1558, 1559],\n"
            "         [1560, 1561, 1562,  ..., 1569, 1570, 1571],\n"
            "         [1572, 1573, 1574,  ..., 1581, 1582, 1583]],\n"
            "\n"
            "        [[1584, 1585, 1586,  ..., 1593, 1594, 1595],\n"
            "         [1596, 1597, 1598,  ..., 1605, 1606, 1607],\n"
            "         [1608, 1609, 1610,  ..., 1617, 1618, 1619],\n"
            "         ...,\n"
            "         [1692, 1693, 1694,  ..., 1701, 1702, 1703],\n"
            "         [1704, 1705, 1706,  ..., 1713, 1714, 1715],\n"
            "         [1716, 1717, 1718,  ..., 1725, 1726, 1727]]])"
        ),
    ),
    _case(
        "summarised_wide_rows",
        lambda: np.arange(3 * 500, dtype=np.float32).reshape(3, 500) - 700,
        {"dtype_name": "float32"},
        (
            "tensor([[-700., -699., -698.,  ..., -203., -202., -201.],\n"
            "        [-200., -199., -198.,  ...,  297.,  298.,  299.],\n"
            "        [ 300.,  301.,  302.,  ...,  797.,  798.,  799.]])"
        ),
    ),
    _case(
        "summarised_tall",
        lambda: np.linspace(-1, 1, 2000, dtype=np.float32).reshape(1000, 2),
        {"dtype_name": "float32"},
        (
            "tensor([[-1.0000, -0.9990],\n"
            "        [-0.9980, -0.9970],\n"
            "        [-0.9960, -0.9950],\n"
            "        ...,\n"
            "        [ 0.9950,  0.9960],\n"
            "        [ 0.9970,  0.9980],\n"
            "        [ 0.9990,  1.0000]])"
        ),
    ),
    _case(
        "summarised_requires_grad",
        lambda: np.arange(2000, dtype=np.float32).reshape(40, 50),
        {"dtype_name": "float32", "requires_grad": True},
        (
            "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, "
            "4.8000e+01,\n"
            "         4.9000e+01],\n"
            "        [5.0000e+01, 5.1000e+01, 5.2000e+01,  ..., 9.7000e+01, "
            "9.8000e+01,\n"
            "         9.9000e+01],\n"
            "        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.4700e+02, "
            "1.4800e+02,\n"
            "         1.4900e+02],\n"
            "        ...,\n"
            "        [1.8500e+03, 1.8510e+03, 1.8520e+03,  ..., 1.8970e+03, "
            "1.8980e+03,\n"
            "         1.8990e+03],\n"
            "        [1.9000e+03, 1.9010e+03, 1.9020e+03,  ..., 1.9470e+03, "
            "1.9480e+03,\n"
            "         1.9490e+03],\n"
            "        [1.9500e+03, 1.9510e+03, 1.9520e+03,  ..., 1.9970e+03, "
            "1.9980e+03,\n"
            "         1.9990e+03]], requires_grad=True)"
        ),
    ),
    _case(
        "summarised_float64",
        lambda: np.arange(1500, dtype=np.float64) * 1.5,
        {"dtype_name": "float64"},
        (
            "tensor([0.0000e+00, 1.5000e+00, 3.0000e+00,  ..., 2.2455e+03, "
            "2.2470e+03,\n"
            "        2.2485e+03], dtype=torch.float64)"
        ),
    ),
    _case(
        "3d_float",
        lambda: np.arange(24, dtype=np.float32).reshape(2, 3, 4),
        {"dtype_name": "float32"},
        (
            "tensor([[[ 0.,  1.,  2.,  3.],\n"
            "         [ 4.,  5.,  6.,  7.],\n"
            "         [ 8.,  9., 10., 11.]],\n"
            "\n"
            "        [[12., 13., 14., 15.],\n"
            "         [16., 17., 18., 19.],\n"
            "         [20., 21., 22., 23.]]])"
        ),
    ),
    _case(
        "3d_float_fraction",
        lambda: (np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 12) / 7,
        {"dtype_name": "float32"},
        (
            "tensor([[[-1.7143, -1.5714, -1.4286, -1.2857],\n"
            "         [-1.1429, -1.0000, -0.8571, -0.7143],\n"
            "         [-0.5714, -0.4286, -0.2857, -0.1429]],\n"
            "\n"
            "        [[ 0.0000,  0.1429,  0.2857,  0.4286],\n"
            "         [ 0.5714,  0.7143,  0.8571,  1.0000],\n"
            "         [ 1.1429,  1.2857,  1.4286,  1.5714]]])"
        ),
    ),
    _case(
        "4d_int",
        lambda: np.arange(16, dtype=np.int64).reshape(2, 2, 2, 2),
        {"dtype_name": "int64"},
        (
            "tensor([[[[ 0,  1],\n"
            "          [ 2,  3]],\n"
            "\n"
            "         [[ 4,  5],\n"
            "          [ 6,  7]]],\n"
            "\n"
            "\n"
            "        [[[ 8,  9],\n"
            "          [10, 11]],\n"
            "\n"
            "         [[12, 13],\n"
            "          [14, 15]]]])"
        ),
    ),
    _case(
        "3d_grad_fn",
        lambda: np.arange(8, dtype=np.float32).reshape(2, 2, 2) / 4,
        {"dtype_name": "float32", "grad_fn_name": "MulBackward0"},
        (
            "tensor([[[0.0000, 0.2500],\n"
            "         [0.5000, 0.7500]],\n"
            "\n"
            "        [[1.0000, 1.2500],\n"
            "         [1.5000, 1.7500]]], grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "wide_row_wrap",
        lambda: np.arange(30, dtype=np.float32) / 7,
        {"dtype_name": "float32"},
        (
            "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, "
            "1.0000, 1.1429,\n"
            "        1.2857, 1.4286, 1.5714, 1.7143, 1.8571, 2.0000, 2.1429, "
            "2.2857, 2.4286,\n"
            "        2.5714, 2.7143, 2.8571, 3.0000, 3.1429, 3.2857, 3.4286, "
            "3.5714, 3.7143,\n"
            "        3.8571, 4.0000, 4.1429])"
        ),
    ),
    _case(
        "wide_row_wrap_int",
        lambda: np.arange(100, 150, dtype=np.int64),
        {"dtype_name": "int64"},
        (
            "tensor([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, "
            "111, 112, 113,\n"
            "        114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, "
            "125, 126, 127,\n"
            "        128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, "
            "139, 140, 141,\n"
            "        142, 143, 144, 145, 146, 147, 148, 149])"
        ),
    ),
    _case(
        "wide_matrix_wrap",
        lambda: np.arange(40, dtype=np.float32).reshape(2, 20) * 1.25,
        {"dtype_name": "float32"},
        (
            "tensor([[ 0.0000,  1.2500,  2.5000,  3.7500,  5.0000,  6.2500, "
            " 7.5000,  8.7500,\n"
            "         10.0000, 11.2500, 12.5000, 13.7500, 15.0000, 16.2500, "
            "17.5000, 18.7500,\n"
            "         20.0000, 21.2500, 22.5000, 23.7500],\n"
            "        [25.0000, 26.2500, 27.5000, 28.7500, 30.0000, 31.2500, "
            "32.5000, 33.7500,\n"
            "         35.0000, 36.2500, 37.5000, 38.7500, 40.0000, 41.2500, "
            "42.5000, 43.7500,\n"
            "         45.0000, 46.2500, 47.5000, 48.7500]])"
        ),
    ),
    _case(
        "wide_row_suffix_wraps",
        lambda: np.full(9, 1.2345, dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "MulBackward0"},
        (
            "tensor([1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, "
            "1.2345, 1.2345],\n"
            "       grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "wide_row_suffix_fits",
        lambda: np.full(5, 1.2345, dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "MulBackward0"},
        ("tensor([1.2345, 1.2345, 1.2345, 1.2345, 1.2345], grad_fn=<MulBackward0>)"),
    ),
    _case(
        "wide_row_suffix_quirk_wraps",
        lambda: np.full(6, 1.2345, dtype=np.float32),
        {"dtype_name": "float32", "grad_fn_name": "MulBackward0"},
        (
            "tensor([1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345],\n"
            "       grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "wide_row_two_suffixes_wrap",
        lambda: np.full(7, 1.2345, dtype=np.float64),
        {"dtype_name": "float64", "grad_fn_name": "MulBackward0"},
        (
            "tensor([1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345],\n"
            "       dtype=torch.float64, grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "multiline_suffix_wraps",
        lambda: np.full((2, 9), 1.2345, dtype=np.float64),
        {"dtype_name": "float64", "grad_fn_name": "MulBackward0"},
        (
            "tensor([[1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, "
            "1.2345, 1.2345],\n"
            "        [1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, 1.2345, "
            "1.2345, 1.2345]],\n"
            "       dtype=torch.float64, grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "nan_inf_mix",
        lambda: np.array([np.nan, np.inf, -np.inf, 1.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([nan, inf, -inf, 1.])",
    ),
    _case(
        "nan_inf_fraction",
        lambda: np.array([np.nan, 1.5, -np.inf, 0.25], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([   nan, 1.5000,   -inf, 0.2500])",
    ),
    _case(
        "nan_inf_sci",
        lambda: np.array([np.nan, 1e10, -np.inf, 1e-3], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([       nan, 1.0000e+10,       -inf, 1.0000e-03])",
    ),
    _case(
        "all_nan",
        lambda: np.array([np.nan, np.nan], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([nan, nan])",
    ),
    _case(
        "all_zero",
        lambda: np.zeros(3, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([0., 0., 0.])",
    ),
    _case(
        "neg_zero_mix",
        lambda: np.array([-0.0, 0.0, 1.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([-0., 0., 1.])",
    ),
    _case(
        "neg_zero_fraction",
        lambda: np.array([-0.0, 0.5], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([-0.0000, 0.5000])",
    ),
    _case(
        "tiny_values",
        lambda: np.array([1e-5, 2e-5, 3e-5], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([1.0000e-05, 2.0000e-05, 3.0000e-05])",
    ),
    _case(
        "tiny_value_denormal_f64",
        lambda: np.array([1e-310, 1.0], dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([1.0000e-310,  1.0000e+00], dtype=torch.float64)",
    ),
    _case(
        "huge_values",
        lambda: np.array([1e9, 2e9, -3e9], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([ 1.0000e+09,  2.0000e+09, -3.0000e+09])",
    ),
    _case(
        "huge_int_values_below_1e8",
        lambda: np.array([12345678.0, 1.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([1.2346e+07, 1.0000e+00])",
    ),
    _case(
        "huge_and_tiny_f64",
        lambda: np.array([1e300, 1e-300, -1e150], dtype=np.float64),
        {"dtype_name": "float64"},
        ("tensor([ 1.0000e+300,  1.0000e-300, -1.0000e+150], dtype=torch.float64)"),
    ),
    _case(
        "mixed_magnitudes",
        lambda: np.array([0.001, 1.0, 100.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([1.0000e-03, 1.0000e+00, 1.0000e+02])",
    ),
    _case(
        "ratio_just_over_1000",
        lambda: np.array([0.01, 10.5], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([1.0000e-02, 1.0500e+01])",
    ),
    _case(
        "negative_values",
        lambda: np.array([-1.0, -2.5, -1000.125], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([-1.0000e+00, -2.5000e+00, -1.0001e+03])",
    ),
    _case(
        "negative_ints_as_float",
        lambda: np.array([-1.0, -20.0, -300.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([  -1.,  -20., -300.])",
    ),
    _case(
        "rounding_width",
        lambda: np.array([9.99999, 0.5], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([10.0000,  0.5000])",
    ),
    _case(
        "random_normal",
        lambda: np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
        {"dtype_name": "float32"},
        (
            "tensor([[ 0.1257, -0.1321,  0.6404,  0.1049],\n"
            "        [-0.5357,  0.3616,  1.3040,  0.9471],\n"
            "        [-0.7037, -1.2654, -0.6233,  0.0413]])"
        ),
    ),
    _case(
        "sci_forced",
        lambda: np.array([1.0, 2.5, -3.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([ 1.0000e+00,  2.5000e+00, -3.0000e+00])",
        opts={"sci_mode": True},
    ),
    _case(
        "sci_forced_ints",
        lambda: np.arange(4, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00, 3.0000e+00])",
        opts={"sci_mode": True},
    ),
    _case(
        "sci_forced_all_zero",
        lambda: np.zeros(2, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([0., 0.])",
        opts={"sci_mode": True},
    ),
    _case(
        "sci_disabled",
        lambda: np.array([1e-8, 1e8], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([        0.0000, 100000000.0000])",
        opts={"sci_mode": False},
    ),
    _case(
        "sci_disabled_huge",
        lambda: np.array([1.5e12, 1.0], dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([1500000000000.,             1.], dtype=torch.float64)",
        opts={"sci_mode": False},
    ),
    _case(
        "precision_2",
        lambda: np.array([1.12345, -2.5], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([ 1.12, -2.50])",
        opts={"precision": 2},
    ),
    _case(
        "precision_0",
        lambda: np.array([1.5, 2.5, -0.4], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([ 2,  2, -0])",
        opts={"precision": 0},
    ),
    _case(
        "precision_8",
        lambda: np.array([1.12345678, 2.0], dtype=np.float64),
        {"dtype_name": "float64"},
        "tensor([1.12345678, 2.00000000], dtype=torch.float64)",
        opts={"precision": 8},
    ),
    _case(
        "precision_2_sci",
        lambda: np.array([1e-6, 1.0], dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([1.00e-06, 1.00e+00])",
        opts={"precision": 2},
    ),
    _case(
        "threshold_5",
        lambda: np.arange(10, dtype=np.int64),
        {"dtype_name": "int64"},
        "tensor([0, 1, 2,  ..., 7, 8, 9])",
        opts={"threshold": 5},
    ),
    _case(
        "threshold_5_edgeitems_1",
        lambda: np.arange(20, dtype=np.float32).reshape(4, 5),
        {"dtype_name": "float32"},
        ("tensor([[ 0.,  ...,  4.],\n        ...,\n        [15.,  ..., 19.]])"),
        opts={"threshold": 5, "edgeitems": 1},
    ),
    _case(
        "edgeitems_0",
        lambda: np.arange(10, dtype=np.float32).reshape(2, 5),
        {"dtype_name": "float32"},
        "tensor([...], size=(2, 5))",
        opts={"edgeitems": 0, "threshold": 3},
    ),
    _case(
        "edgeitems_0_no_summary",
        lambda: np.arange(10, dtype=np.float32),
        {"dtype_name": "float32"},
        "tensor([0., 1., 2., 3., 4., 5., 6., 7., 8., 9.], size=(10,))",
        opts={"edgeitems": 0},
    ),
    _case(
        "linewidth_40",
        lambda: np.arange(20, dtype=np.float32) / 3,
        {"dtype_name": "float32"},
        (
            "tensor([0.0000, 0.3333, 0.6667, 1.0000,\n"
            "        1.3333, 1.6667, 2.0000, 2.3333,\n"
            "        2.6667, 3.0000, 3.3333, 3.6667,\n"
            "        4.0000, 4.3333, 4.6667, 5.0000,\n"
            "        5.3333, 5.6667, 6.0000, 6.3333])"
        ),
        opts={"linewidth": 40},
    ),
    _case(
        "linewidth_120",
        lambda: np.arange(30, dtype=np.float32) / 3,
        {"dtype_name": "float32"},
        (
            "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, "
            "2.3333, 2.6667, 3.0000, 3.3333, 3.6667, 4.0000, 4.3333,\n"
            "        4.6667, 5.0000, 5.3333, 5.6667, 6.0000, 6.3333, 6.6667, "
            "7.0000, 7.3333, 7.6667, 8.0000, 8.3333, 8.6667, 9.0000,\n"
            "        9.3333, 9.6667])"
        ),
        opts={"linewidth": 120},
    ),
    _case(
        "linewidth_10_suffix",
        lambda: np.arange(3, dtype=np.float32),
        {"dtype_name": "float32", "requires_grad": True},
        ("tensor([0.,\n        1.,\n        2.],\n       requires_grad=True)"),
        opts={"linewidth": 10},
    ),
    _case(
        "profile_short",
        lambda: np.arange(2000, dtype=np.float32) / 3,
        {"dtype_name": "float32"},
        "tensor([0.00e+00, 3.33e-01,  ..., 6.66e+02, 6.66e+02])",
        opts={"profile": "short"},
    ),
    _case(
        "profile_full",
        lambda: np.arange(1200, dtype=np.int64),
        {"dtype_name": "int64"},
        (
            "tensor([   0,    1,    2,    3,    4,    5,    6,    7,    8, "
            "   9,   10,   11,\n"
            "          12,   13,   14,   15,   16,   17,   18,   19,   20, "
            "  21,   22,   23,\n"
            "          24,   25,   26,   27,   28,   29,   30,   31,   32, "
            "  33,   34,   35,\n"
            "          36,   37,   38,   39,   40,   41,   42,   43,   44, "
            "  45,   46,   47,\n"
            "          48,   49,   50,   51,   52,   53,   54,   55,   56, "
            "  57,   58,   59,\n"
            "          60,   61,   62,   63,   64,   65,   66,   67,   68, "
            "  69,   70,   71,\n"
            "          72,   73,   74,   75,   76,   77,   78,   79,   80, "
            "  81,   82,   83,\n"
            "          84,   85,   86,   87,   88,   89,   90,   91,   92, "
            "  93,   94,   95,\n"
            "          96,   97,   98,   99,  100,  101,  102,  103,  104, "
            " 105,  106,  107,\n"
            "         108,  109,  110,  111,  112,  113,  114,  115,  116, "
            " 117,  118,  119,\n"
            "         120,  121,  122,  123,  124,  125,  126,  127,  128, "
            " 129,  130,  131,\n"
            "         132,  133,  134,  135,  136,  137,  138,  139,  140, "
            " 141,  142,  143,\n"
            "         144,  145,  146,  147,  148,  149,  150,  151,  152, "
            " 153,  154,  155,\n"
            "         156,  157,  158,  159,  160,  161,  162,  163,  164, "
            " 165,  166,  167,\n"
            "         168,  169,  170,  171,  172,  173,  174,  175,  176, "
            " 177,  178,  179,\n"
            "         180,  181,  182,  183,  184,  185,  186,  187,  188, "
            " 189,  190,  191,\n"
            "         192,  193,  194,  195,  196,  197,  198,  199,  200, "
            " 201,  202,  203,\n"
            "         204,  205,  206,  207,  208,  209,  210,  211,  212, "
            " 213,  214,  215,\n"
            "         216,  217,  218,  219,  220,  221,  222,  223,  224, "
            " 225,  226,  227,\n"
            "         228,  229,  230,  231,  232,  233,  234,  235,  236, "
            " 237,  238,  239,\n"
            "         240,  241,  242,  243,  244,  245,  246,  247,  248, "
            " 249,  250,  251,\n"
            "         252,  253,  254,  255,  256,  257,  258,  259,  260, "
            " 261,  262,  263,\n"
            "         264,  265,  266,  267,  268,  269,  270,  271,  272, "
            " 273,  274,  275,\n"
            "         276,  277,  278,  279,  280,  281,  282,  283,  284, "
            " 285,  286,  287,\n"
            "         288,  289,  290,  291,  292,  293,  294,  295,  296, "
            " 297,  298,  299,\n"
            "         300,  301,  302,  303,  304,  305,  306,  307,  308, "
            " 309,  310,  311,\n"
            "         312,  313,  314,  315,  316,  317,  318,  319,  320, "
            " 321,  322,  323,\n"
            "         324,  325,  326,  327,  328,  329,  330,  331,  332, "
            " 333,  334,  335,\n"
            "         336,  337,  338,  339,  340,  341,  342,  343,  344, "
            " 345,  346,  347,\n"
            "         348,  349,  350,  351,  352,  353,  354,  355,  356, "
            " 357,  358,  359,\n"
            "         360,  361,  362,  363,  364,  365,  366,  367,  368, "
            " 369,  370,  371,\n"
            "         372,  373,  374,  375,  376,  377,  378,  379,  380, "
            " 381,  382,  383,\n"
            "         384,  385,  386,  387,  388,  389,  390,  391,  392, "
            " 393,  394,  395,\n"
            "         396,  397,  398,  399,  400,  401,  402,  403,  404, "
            " 405,  406,  407,\n"
            "         408,  409,  410,  411,  412,  413,  414,  415,  416, "
            " 417,  418,  419,\n"
            "         420,  421,  422,  423,  424,  425,  426,  427,  428, "
            " 429,  430,  431,\n"
            "         432,  433,  434,  435,  436,  437,  438,  439,  440, "
            " 441,  442,  443,\n"
            "         444,  445,  446,  447,  448,  449,  450,  451,  452, "
            " 453,  454,  455,\n"
            "         456,  457,  458,  459,  460,  461,  462,  463,  464, "
            " 465,  466,  467,\n"
            "         468,  469,  470,  471,  472,  473,  474,  475,  476, "
            " 477,  478,  479,\n"
            "         480,  481,  482,  483,  484,  485,  486,  487,  488, "
            " 489,  490,  491,\n"
            "         492,  493,  494,  495,  496,  497,  498,  499,  500, "
            " 501,  502,  503,\n"
            "         504,  505,  506,  507,  508,  509,  510,  511,  512, "
            " 513,  514,  515,\n"
            "         516,  517,  518,  519,  520,  521,  522,  523,  524, "
            " 525,  526,  527,\n"
            "         528,  529,  530,  531,  532,  533,  534,  535,  536, "
            " 537,  538,  539,\n"
            "         540,  541,  542,  543,  544,  545,  546,  547,  548, "
            " 549,  550,  551,\n"
            "         552,  553,  554,  555,  556,  557,  558,  559,  560, "
            " 561,  562,  563,\n"
            "         564,  565,  566,  567,  568,  569,  570,  571,  572, "
            " 573,  574,  575,\n"
            "         576,  577,  578,  579,  580,  581,  582,  583,  584, "
            " 585,  586,  587,\n"
            "         588,  589,  590,  591,  592,  593,  594,  595,  596, "
            " 597,  598,  599,\n"
            "         600,  601,  602,  603,  604,  605,  606,  607,  608, "
            " 609,  610,  611,\n"
            "         612,  613,  614,  615,  616,  617,  618,  619,  620, "
            " 621,  622,  623,\n"
            "         624,  625,  626,  627,  628,  629,  630,  631,  632, "
            " 633,  634,  635,\n"
            "         636,  637,  638,  639,  640,  641,  642,  643,  644, "
            " 645,  646,  647,\n"
            "         648,  649,  650,  651,  652,  653,  654,  655,  656, "
            " 657,  658,  659,\n"
            "         660,  661,  662,  663,  664,  665,  666,  667,  668, "
            " 669,  670,  671,\n"
            "         672,  673,  674,  675,  676,  677,  678,  679,  680, "
            " 681,  682,  683,\n"
            "         684,  685,  686,  687,  688,  689,  690,  691,  692, "
            " 693,  694,  695,\n"
            "         696,  697,  698,  699,  700,  701,  702,  703,  704, "
            " 705,  706,  707,\n"
            "         708,  709,  710,  711,  712,  713,  714,  715,  716, "
            " 717,  718,  719,\n"
            "         720,  721,  722,  723,  724,  725,  726,  727,  728, "
            " 729,  730,  731,\n"
            "         732,  733,  734,  735,  736,  737,  738,  739,  740, "
            " 741,  742,  743,\n"
            "         744,  745,  746,  747,  748,  749,  750,  751,  752, "
            " 753,  754,  755,\n"
            "         756,  757,  758,  759,  760,  761,  762,  763,  764, "
            " 765,  766,  767,\n"
            "         768,  769,  770,  771,  772,  773,  774,  775,  776, "
            " 777,  778,  779,\n"
            "         780,  781,  782,  783,  784,  785,  786,  787,  788, "
            " 789,  790,  791,\n"
            "         792,  793,  794,  795,  796,  797,  798,  799,  800, "
            " 801,  802,  803,\n"
            "         804,  805,  806,  807,  808,  809,  810,  811,  812, "
            " 813,  814,  815,\n"
            "         816,  817,  818,  819,  820,  821,  822,  823,  824, "
            " 825,  826,  827,\n"
            "         828,  829,  830,  831,  832,  833,  834,  835,  836, "
            " 837,  838,  839,\n"
            "         840,  841,  842,  843,  844,  845,  846,  847,  848, "
            " 849,  850,  851,\n"
            "         852,  853,  854,  855,  856,  857,  858,  859,  860, "
            " 861,  862,  863,\n"
            "         864,  865,  866,  867,  868,  869,  870,  871,  872, "
            " 873,  874,  875,\n"
            "         876,  877,  878,  879,  880,  881,  882,  883,  884, "
            " 885,  886,  887,\n"
            "         888,  889,  890,  891,  892,  893,  894,  895,  896, "
            " 897,  898,  899,\n"
            "         900,  901,  902,  903,  904,  905,  906,  907,  908, "
            " 909,  910,  911,\n"
            "         912,  913,  914,  915,  916,  917,  918,  919,  920, "
            " 921,  922,  923,\n"
            "         924,  925,  926,  927,  928,  929,  930,  931,  932, "
            " 933,  934,  935,\n"
            "         936,  937,  938,  939,  940,  941,  942,  943,  944, "
            " 945,  946,  947,\n"
            "         948,  949,  950,  951,  952,  953,  954,  955,  956, "
            " 957,  958,  959,\n"
            "         960,  961,  962,  963,  964,  965,  966,  967,  968, "
            " 969,  970,  971,\n"
            "         972,  973,  974,  975,  976,  977,  978,  979,  980, "
            " 981,  982,  983,\n"
            "         984,  985,  986,  987,  988,  989,  990,  991,  992, "
            " 993,  994,  995,\n"
            "         996,  997,  998,  999, 1000, 1001, 1002, 1003, 1004, "
            "1005, 1006, 1007,\n"
            "        1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015, 1016, "
            "1017, 1018, 1019,\n"
            "        1020, 1021, 1022, 1023, 1024, 1025, 1026, 1027, 1028, "
            "1029, 1030, 1031,\n"
            "        1032, 1033, 1034, 1035, 1036, 1037, 1038, 1039, 1040, "
            "1041, 1042, 1043,\n"
            "        1044, 1045, 1046, 1047, 1048, 1049, 1050, 1051, 1052, "
            "1053, 1054, 1055,\n"
            "        1056, 1057, 1058, 1059, 1060, 1061, 1062, 1063, 1064, "
            "1065, 1066, 1067,\n"
            "        1068, 1069, 1070, 1071, 1072, 1073, 1074, 1075, 1076, "
            "1077, 1078, 1079,\n"
            "        1080, 1081, 1082, 1083, 1084, 1085, 1086, 1087, 1088, "
            "1089, 1090, 1091,\n"
            "        1092, 1093, 1094, 1095, 1096, 1097, 1098, 1099, 1100, "
            "1101, 1102, 1103,\n"
            "        1104, 1105, 1106, 1107, 1108, 1109, 1110, 1111, 1112, "
            "1113, 1114, 1115,\n"
            "        1116, 1117, 1118, 1119, 1120, 1121, 1122, 1123, 1124, "
            "1125, 1126, 1127,\n"
            "        1128, 1129, 1130, 1131, 1132, 1133, 1134, 1135, 1136, "
            "1137, 1138, 1139,\n"
            "        1140, 1141, 1142, 1143, 1144, 1145, 1146, 1147, 1148, "
            "1149, 1150, 1151,\n"
            "        1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159, 1160, "
            "1161, 1162, 1163,\n"
            "        1164, 1165, 1166, 1167, 1168, 1169, 1170, 1171, 1172, "
            "1173, 1174, 1175,\n"
            "        1176, 1177, 1178, 1179, 1180, 1181, 1182, 1183, 1184, "
            "1185, 1186, 1187,\n"
            "        1188, 1189, 1190, 1191, 1192, 1193, 1194, 1195, 1196, "
            "1197, 1198, 1199])"
        ),
        opts={"profile": "full"},
    ),
    _case(
        "parameter",
        lambda: np.ones((2, 2), dtype=np.float32),
        {
            "dtype_name": "float32",
            "requires_grad": True,
            "prefix": "Parameter containing:\ntensor(",
        },
        (
            "Parameter containing:\n"
            "tensor([[1., 1.],\n"
            "        [1., 1.]], requires_grad=True)"
        ),
    ),
    _case(
        "parameter_vector",
        lambda: np.array([0.5, -1.25], dtype=np.float32),
        {
            "dtype_name": "float32",
            "requires_grad": True,
            "prefix": "Parameter containing:\ntensor(",
        },
        ("Parameter containing:\ntensor([ 0.5000, -1.2500], requires_grad=True)"),
    ),
    _case(
        "parameter_float64_wide",
        lambda: np.arange(20, dtype=np.float64) / 3,
        {
            "dtype_name": "float64",
            "requires_grad": True,
            "prefix": "Parameter containing:\ntensor(",
        },
        (
            "Parameter containing:\n"
            "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, "
            "2.3333, 2.6667,\n"
            "        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, "
            "5.3333, 5.6667,\n"
            "        6.0000, 6.3333], dtype=torch.float64, requires_grad=True)"
        ),
    ),
    _case(
        "device_cuda",
        lambda: np.array([1.0, 2.0], dtype=np.float32),
        {"dtype_name": "float32", "device": "cuda:0"},
        "tensor([1., 2.], device='cuda:0')",
    ),
    _case(
        "device_cuda_float64_grad",
        lambda: np.array([1.0, 2.0], dtype=np.float64),
        {"dtype_name": "float64", "device": "cuda:0", "grad_fn_name": "MulBackward0"},
        (
            "tensor([1., 2.], device='cuda:0', dtype=torch.float64, "
            "grad_fn=<MulBackward0>)"
        ),
    ),
    _case(
        "device_cuda_scalar",
        lambda: np.array(3.0, dtype=np.float32),
        {"dtype_name": "float32", "device": "cuda:0", "requires_grad": True},
        "tensor(3., device='cuda:0', requires_grad=True)",
    ),
    _case(
        "device_cuda_multiline",
        lambda: np.arange(27, dtype=np.float32).reshape(3, 9) / 3,
        {"dtype_name": "float32", "device": "cuda:0", "requires_grad": True},
        (
            "tensor([[0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, "
            "2.3333, 2.6667],\n"
            "        [3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000, "
            "5.3333, 5.6667],\n"
            "        [6.0000, 6.3333, 6.6667, 7.0000, 7.3333, 7.6667, 8.0000, "
            "8.3333, 8.6667]],\n"
            "       device='cuda:0', requires_grad=True)"
        ),
    ),
    _case(
        "default_float64_plain",
        lambda: np.array([1.0, 2.5], dtype=np.float64),
        {"dtype_name": "float64", "default_dtype_name": "float64"},
        "tensor([1.0000, 2.5000])",
    ),
    _case(
        "default_float64_float32",
        lambda: np.array([1.0, 2.5], dtype=np.float32),
        {"dtype_name": "float32", "default_dtype_name": "float64"},
        "tensor([1.0000, 2.5000], dtype=torch.float32)",
    ),
    _case(
        "default_float64_empty_float32",
        lambda: np.zeros((0,), dtype=np.float32),
        {"dtype_name": "float32", "default_dtype_name": "float64"},
        "tensor([], dtype=torch.float32)",
    ),
    _case(
        "default_float64_complex128",
        lambda: np.array([1 + 1j], dtype=np.complex128),
        {"dtype_name": "complex128", "default_dtype_name": "float64"},
        "tensor([1.+1.j])",
    ),
]


@pytest.mark.parametrize(("make", "kwargs", "expected", "opts"), CASES)
def test_format_matches_pytorch(
    make: Callable[[], np.ndarray],
    kwargs: dict[str, Any],
    expected: str,
    opts: dict[str, Any],
) -> None:
    set_printoptions(**opts)
    assert format_tensor(make(), **kwargs) == expected


def test_default_printoptions() -> None:
    assert get_printoptions() == DEFAULT_OPTIONS


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("default", DEFAULT_OPTIONS),
        ("short", {**DEFAULT_OPTIONS, "precision": 2, "edgeitems": 2}),
        ("full", {**DEFAULT_OPTIONS, "threshold": math.inf}),
    ],
)
def test_profiles(profile: str, expected: dict[str, Any]) -> None:
    set_printoptions(precision=9, edgeitems=1, linewidth=20, threshold=3)
    set_printoptions(profile=profile)
    assert get_printoptions() == expected


def test_explicit_options_override_profile() -> None:
    set_printoptions(profile="short", precision=6, linewidth=100)
    assert get_printoptions() == {
        **DEFAULT_OPTIONS,
        "precision": 6,
        "edgeitems": 2,
        "linewidth": 100,
    }


def test_sci_mode_is_reset_by_every_call() -> None:
    # Like torch.set_printoptions, sci_mode is always assigned.
    set_printoptions(sci_mode=True)
    assert get_printoptions()["sci_mode"] is True
    set_printoptions(precision=3)
    assert get_printoptions()["sci_mode"] is None


def test_get_printoptions_roundtrip() -> None:
    set_printoptions(
        precision=2, threshold=10, edgeitems=1, linewidth=50, sci_mode=False
    )
    saved = get_printoptions()
    set_printoptions(profile="default")
    set_printoptions(**saved)
    assert get_printoptions() == saved
    # Expected output from PyTorch 2.13 with the same options.
    assert format_tensor(np.arange(20.0) / 4, dtype_name="float32") == (
        "tensor([0.00,  ..., 4.75])"
    )


def test_get_printoptions_returns_a_copy() -> None:
    options = get_printoptions()
    options["precision"] = 1
    assert get_printoptions()["precision"] == 4


def test_restore_defaults_after_precision_change() -> None:
    values = np.array([1.12345], dtype=np.float32)
    set_printoptions(precision=2)
    assert format_tensor(values, dtype_name="float32") == "tensor([1.12])"
    set_printoptions(profile="default")
    assert format_tensor(values, dtype_name="float32") == "tensor([1.1235])"


def test_cpu_device_has_no_suffix() -> None:
    values = np.array([1.0, 2.0], dtype=np.float32)
    assert format_tensor(values, dtype_name="float32", device="cpu") == (
        "tensor([1., 2.])"
    )


def test_grad_fn_takes_precedence_over_requires_grad() -> None:
    values = np.array([1.0, 2.0], dtype=np.float32)
    text = format_tensor(
        values, dtype_name="float32", requires_grad=True, grad_fn_name="MulBackward0"
    )
    assert text == "tensor([1., 2.], grad_fn=<MulBackward0>)"


@pytest.mark.parametrize("name", ["float64", "torch.float64", "double"])
def test_dtype_name_spellings(name: str) -> None:
    values = np.array([1.0, 2.0])
    assert format_tensor(values, dtype_name=name) == (
        "tensor([1., 2.], dtype=torch.float64)"
    )


def test_accepts_array_like_and_leaves_input_unchanged() -> None:
    values = np.array([[0.5, -1.0]], dtype=np.float32)
    before = values.copy()
    assert format_tensor(values, dtype_name="float32") == "tensor([[ 0.5000, -1.0000]])"
    np.testing.assert_array_equal(values, before)
    assert format_tensor([1, 2], dtype_name="int64") == "tensor([1, 2])"


def test_custom_prefix_sets_indentation() -> None:
    values = np.ones((2, 2), dtype=np.float32)
    assert format_tensor(values, dtype_name="float32", prefix="Foo(") == (
        "Foo([[1., 1.],\n     [1., 1.]])"
    )


def _random_array(rng: np.random.Generator) -> np.ndarray:
    """A random array of assorted shape, dtype and magnitude."""
    ndim = int(rng.integers(0, 5))
    high = 40 if ndim <= 2 else 6
    shape = tuple(int(n) for n in rng.integers(0, high, size=ndim))
    if ndim and rng.random() < 0.1:
        shape = (*shape[:-1], int(rng.integers(900, 1500)))  # summarised
    dtype = np.dtype(
        rng.choice(
            [
                "float32",
                "float64",
                "float16",
                "int64",
                "int32",
                "int16",
                "int8",
                "uint8",
                "bool",
                "complex64",
            ]
        )
    )
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        high_value = min(int(info.max), 10 ** int(rng.integers(0, 19)))
        low_value = max(int(info.min), -high_value) if rng.random() < 0.7 else 0
        return rng.integers(low_value, high_value, size=shape, endpoint=True).astype(
            dtype
        )
    style = int(rng.integers(0, 4))
    if style == 0:
        values = rng.integers(-100, 100, size=shape).astype(np.float64)
    elif style == 1:
        values = np.exp(rng.uniform(-30, 30, size=shape)) * rng.choice([-1, 1], shape)
    else:
        values = rng.standard_normal(shape) * 10.0 ** int(rng.integers(-12, 12))
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    if values.size and rng.random() < 0.3:
        flat = values.reshape(-1)
        positions = rng.integers(0, flat.size, size=3)
        flat[positions] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], size=3)
    with np.errstate(over="ignore", invalid="ignore"):
        return values.astype(dtype)


def test_random_cross_check_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(20240613)
    option_sets: list[dict[str, Any]] = [
        {},
        {"precision": 2},
        {"sci_mode": True},
        {"sci_mode": False},
        {"linewidth": 120},
        {"edgeitems": 1, "threshold": 10},
        {"profile": "short"},
    ]
    saved_torch_options = torch._tensor_str.get_printoptions()
    try:
        for _ in range(200):
            values = np.asarray(_random_array(rng))
            opts = option_sets[int(rng.integers(0, len(option_sets)))]
            tensor = torch.from_numpy(values.copy())
            requires_grad = tensor.is_floating_point() and rng.random() < 0.3
            grad_fn_name = None
            if requires_grad:
                tensor.requires_grad_()
                if rng.random() < 0.5:
                    tensor = tensor * 1
                    grad_fn_name = "MulBackward0"
            torch.set_printoptions(profile="default")
            torch.set_printoptions(**opts)
            set_printoptions(profile="default")
            set_printoptions(**opts)
            expected = repr(tensor)
            actual = format_tensor(
                tensor.detach().numpy(),
                dtype_name=str(tensor.dtype).removeprefix("torch."),
                requires_grad=requires_grad,
                grad_fn_name=grad_fn_name,
            )
            assert actual == expected, (values.dtype, values.shape, opts)
    finally:
        torch.set_printoptions(profile="default")
        torch.set_printoptions(**saved_torch_options)
