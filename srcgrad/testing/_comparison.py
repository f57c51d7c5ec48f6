"""``assert_close``: PyTorch's ``torch/testing/_comparison.py`` for srcgrad's tensors.

The structure is PyTorch's (inputs are paired up through nested sequences and mappings, each
pair by the first of ``NonePair``, ``BooleanPair``, ``NumberPair``, ``TensorLikePair`` that takes
it) so that what passes, what fails and every message are the same. Values are compared in
NumPy, in the tensors' own dtype, with ``torch.isclose``'s arithmetic, so the differences a
message reports are the numbers PyTorch prints. (PyTorch is BSD-3-Clause licensed; this module
follows its structure and messages, written for srcgrad's tensors.)
"""

from __future__ import annotations

import cmath
import collections.abc
import contextlib
from collections.abc import Callable, Collection, Sequence
from typing import Any, NoReturn

import ml_dtypes
import numpy as np
from typing_extensions import deprecated

from ..dtypes import dtype as _dtype
from ..dtypes import promote
from ..tensor import Tensor, as_tensor, tensor

_ISSUE = ("If you are a user and see this message during normal operation please file an issue at "
          "https://github.com/pytorch/pytorch/issues. If you are a developer and working on the comparison "
          "functions, please except the previous error and raise an expressive `ErrorMeta` instead.")


class ErrorMeta(Exception):  # noqa: N818 - PyTorch's name
    """A comparison failure: the exception type and message to raise, and where it happened."""

    def __init__(self, type: type[Exception], msg: str, *, id: tuple[Any, ...] = ()) -> None:
        super().__init__(msg)
        self.type = type
        self.msg = msg
        self.id = id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated = self.msg
            if self.id:
                generated += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.id)}"
            msg = msg(generated) if callable(msg) else generated
        return self.type(msg)


# PyTorch's default (rtol, atol) per dtype; every other dtype compares exactly.
_DTYPE_PRECISIONS = {
    "float16": (0.001, 1e-5),
    "bfloat16": (0.016, 1e-5),
    "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7),
    "complex32": (0.001, 1e-5),
    "complex64": (1.3e-6, 1e-5),
    "complex128": (1e-7, 1e-7),
}


def _dtype_name(x: Any) -> str:
    if isinstance(x, Tensor):
        return x.dtype.name
    if isinstance(x, _dtype):
        return x.name
    if isinstance(x, str):  # (a Python number's dtype, by name)
        return x
    raise TypeError(f"Expected a torch.Tensor or a torch.dtype, but got {type(x)} instead.")


def default_tolerances(*inputs: Any, dtype_precisions: dict | None = None) -> tuple[float, float]:
    """The loosest default (rtol, atol) of the inputs' dtypes."""
    precisions = dtype_precisions or _DTYPE_PRECISIONS
    rtols, atols = zip(*[precisions.get(_dtype_name(x), (0.0, 0.0)) for x in inputs])
    return max(rtols), max(atols)


def get_tolerances(*inputs: Any, rtol: float | None, atol: float | None,
                   id: tuple[Any, ...] = ()) -> tuple[float, float]:
    if (rtol is None) ^ (atol is None):
        # (both or neither: atol=0 alone would still pass through rtol, a surprise)
        raise ErrorMeta(ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.", id=id)
    if rtol is not None and atol is not None:
        return rtol, atol
    return default_tolerances(*inputs)


def _make_mismatch_msg(*, default_identifier: str, identifier: str | Callable[[str], str] | None = None,
                       extra: str | None = None, abs_diff: float, abs_diff_idx: Any = None, atol: float,
                       rel_diff: float, rel_diff_idx: Any = None, rtol: float) -> str:
    equality = rtol == 0 and atol == 0

    def diff_msg(kind: str, diff: float, idx: Any, tol: float) -> str:
        msg = f"{kind.title()} difference: {diff}" if idx is None else \
            f"Greatest {kind} difference: {diff} at index {idx}"
        if not equality:
            msg += f" (up to {tol} allowed)"
        return msg + "\n"

    if identifier is None:
        identifier = default_identifier
    elif callable(identifier):
        identifier = identifier(default_identifier)
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += diff_msg("absolute", abs_diff, abs_diff_idx, atol)
    msg += diff_msg("relative", rel_diff, rel_diff_idx, rtol)
    return msg.strip()


def make_scalar_mismatch_msg(actual: Any, expected: Any, *, rtol: float, atol: float,
                             identifier: str | Callable[[str], str] | None = None) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg(default_identifier="Scalars", identifier=identifier,
                              extra=f"Expected {expected} but got {actual}.", abs_diff=abs_diff, atol=atol,
                              rel_diff=rel_diff, rtol=rtol)


def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind in "fc" or a.dtype == ml_dtypes.bfloat16


def _item(x: Any) -> Any:
    """A NumPy scalar as the Python number ``Tensor.item()`` gives."""
    kind = np.asarray(x).dtype
    if kind == ml_dtypes.bfloat16 or kind.kind == "f":
        return float(x)
    if kind.kind == "c":
        return complex(x)
    if kind.kind == "b":
        return bool(x)
    return int(x)


def _unravel(flat: int, shape: tuple) -> tuple[int, ...]:
    out = []
    for size in shape[::-1]:
        flat, mod = divmod(flat, size)
        out.append(mod)
    return tuple(out[::-1])


def make_tensor_mismatch_msg(actual: np.ndarray, expected: np.ndarray, matches: np.ndarray, *, rtol: float,
                             atol: float, identifier: str | Callable[[str], str] | None = None) -> str:
    n = matches.size
    mismatches = n - int(matches.sum())
    extra = f"Mismatched elements: {mismatches} / {n} ({mismatches / n:.1%})"
    a, e, m = actual.reshape(-1), expected.reshape(-1), matches.reshape(-1)
    if not _is_float(a):
        a, e = a.astype(np.int64), e.astype(np.int64)  # (PyTorch's upcast, overflow and all)
    with np.errstate(all="ignore"):
        abs_diff = np.abs(a - e)
        abs_diff[m] = 0
        abs_idx = int(np.argmax(abs_diff))
        if _is_float(a):
            rel_diff = abs_diff / np.abs(e)
        else:  # an integer division is a float32 one in PyTorch (the default dtype)
            rel_diff = abs_diff.astype(np.float32) / np.abs(e).astype(np.float32)
        rel_diff[m] = 0
        rel_idx = int(np.argmax(rel_diff))
    return _make_mismatch_msg(default_identifier="Tensor-likes", identifier=identifier, extra=extra,
                              abs_diff=_item(abs_diff[abs_idx]), abs_diff_idx=_unravel(abs_idx, matches.shape),
                              atol=atol, rel_diff=_item(rel_diff[rel_idx]),
                              rel_diff_idx=_unravel(rel_idx, matches.shape), rtol=rtol)


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    """``torch.isclose``, step by step (its dtypes included)."""
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    close = a == e
    if equal_nan and _is_float(a):
        close |= np.isnan(a) & np.isnan(e)
    if rtol == 0 and atol == 0:
        return close
    with np.errstate(all="ignore"):
        if _is_float(a):
            allowed = atol + np.abs(rtol * e)
            error = np.abs(a - e)
        else:  # rtol * an integer tensor is a float32 tensor in PyTorch
            allowed = np.float32(atol) + np.abs(np.float32(rtol) * e.astype(np.float32))
            error = np.abs(a.astype(np.int64) - e.astype(np.int64)).astype(np.float32)
        return close | (np.isfinite(error) & (error <= allowed))


class UnsupportedInputs(Exception):  # noqa: N818 - PyTorch's name
    """Raised by a pair that does not take the inputs: the next pair type is tried."""


class Pair:
    """Two inputs to compare; ``compare`` raises an ``ErrorMeta`` when they do not match."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...] = (),
                 **unknown_parameters: Any) -> None:
        self.actual = actual
        self.expected = expected
        self.id = id
        self._unknown_parameters = unknown_parameters

    @staticmethod
    def _inputs_not_supported() -> NoReturn:
        raise UnsupportedInputs

    @staticmethod
    def _check_inputs_isinstance(*inputs: Any, cls: type | tuple[type, ...]) -> None:
        if not all(isinstance(x, cls) for x in inputs):
            Pair._inputs_not_supported()

    def _fail(self, type: type[Exception], msg: str, *, id: tuple[Any, ...] = ()) -> NoReturn:
        raise ErrorMeta(type, msg, id=self.id if not id and hasattr(self, "id") else id)

    def compare(self) -> None:
        raise NotImplementedError

    def extra_repr(self) -> Sequence[str]:
        return []

    def __repr__(self) -> str:
        body = [f"    {name}={value!s}," for name, value in
                [("id", self.id), ("actual", self.actual), ("expected", self.expected),
                 *[(extra, getattr(self, extra)) for extra in self.extra_repr()]]]
        return "\n".join((f"{type(self).__name__}(", *body, ")"))


class NonePair(Pair):
    def __init__(self, actual: Any, expected: Any, **other_parameters: Any) -> None:
        if not (actual is None or expected is None):
            self._inputs_not_supported()
        super().__init__(actual, expected, **other_parameters)

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            self._fail(AssertionError, f"None mismatch: {self.actual} is not {self.expected}")


class BooleanPair(Pair):
    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...], **other_parameters: Any) -> None:
        self._check_inputs_isinstance(actual, expected, cls=(bool, np.bool_))
        actual, expected = (bool(x) for x in (actual, expected))
        super().__init__(actual, expected, **other_parameters)

    def compare(self) -> None:
        if self.actual is not self.expected:
            self._fail(AssertionError, f"Booleans mismatch: {self.actual} is not {self.expected}")


class NumberPair(Pair):
    """Python (and NumPy) numbers: int as int64, float as float64, complex as complex128."""

    _TYPE_TO_DTYPE = {int: "int64", float: "float64", complex: "complex128"}
    _NUMBER_TYPES = tuple(_TYPE_TO_DTYPE)

    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...] = (),
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_dtype: bool = False, **other_parameters: Any) -> None:
        self._check_inputs_isinstance(actual, expected, cls=(*self._NUMBER_TYPES, np.number))
        actual, expected = (x.item() if isinstance(x, np.number) else x for x in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        # (a bool is an int but not one of these types: a KeyError, reported as PyTorch does)
        self.rtol, self.atol = get_tolerances(*[self._TYPE_TO_DTYPE[type(x)] for x in (actual, expected)],
                                              rtol=rtol, atol=atol, id=id)
        self.equal_nan = equal_nan
        self.check_dtype = check_dtype

    def compare(self) -> None:
        if self.check_dtype and type(self.actual) is not type(self.expected):
            self._fail(AssertionError,
                       f"The (d)types do not match: {type(self.actual)} != {type(self.expected)}.")
        if self.actual == self.expected:
            return
        if self.equal_nan and cmath.isnan(self.actual) and cmath.isnan(self.expected):
            return
        abs_diff = abs(self.actual - self.expected)
        tolerance = self.atol + self.rtol * abs(self.expected)
        if cmath.isfinite(abs_diff) and abs_diff <= tolerance:
            return
        self._fail(AssertionError, make_scalar_mismatch_msg(self.actual, self.expected, rtol=self.rtol,
                                                            atol=self.atol))

    def extra_repr(self) -> Sequence[str]:
        return ("rtol", "atol", "equal_nan", "check_dtype")


def _numpy(t: Tensor) -> np.ndarray:
    """A tensor's values in its own dtype (bfloat16 through float32: exact)."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.dtype.name == "bfloat16":
        return np.asarray(t.float().numpy()).astype(ml_dtypes.bfloat16)
    return np.asarray(t.numpy())


class TensorLikePair(Pair):
    """srcgrad tensors, and inputs of one type that ``as_tensor`` takes (NumPy arrays)."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple[Any, ...] = (),
                 allow_subclasses: bool = True, rtol: float | None = None, atol: float | None = None,
                 equal_nan: bool = False, check_device: bool = True, check_dtype: bool = True,
                 check_layout: bool = True, check_stride: bool = False, **other_parameters: Any) -> None:
        if not (isinstance(actual, type(expected)) or isinstance(expected, type(actual))):
            self._inputs_not_supported()
        if not allow_subclasses and type(actual) is not type(expected):
            self._inputs_not_supported()
        actual, expected = (self._to_tensor(x) for x in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        self.rtol, self.atol = get_tolerances(actual, expected, rtol=rtol, atol=atol, id=self.id)
        self.equal_nan = equal_nan
        self.check_device = check_device
        self.check_dtype = check_dtype
        self.check_layout = check_layout
        self.check_stride = check_stride

    def _to_tensor(self, tensor_like: Any) -> Tensor:
        if isinstance(tensor_like, Tensor):
            return tensor_like
        try:
            return as_tensor(tensor_like)
        except Exception:
            self._inputs_not_supported()

    def compare(self) -> None:
        actual, expected = self.actual, self.expected
        self._compare_attributes(actual, expected)
        if actual.dtype != expected.dtype:  # (check_dtype=False) compare in the common dtype
            common = promote(actual.dtype, expected.dtype)
            actual, expected = actual.to(common), expected.to(common)
        self._compare_values(_numpy(actual), _numpy(expected))

    def _compare_attributes(self, actual: Tensor, expected: Tensor) -> None:
        def mismatch(name: str, a: Any, e: Any) -> NoReturn:
            self._fail(AssertionError, f"The values for attribute '{name}' do not match: {a} != {e}.")

        if actual.shape != expected.shape:
            mismatch("shape", actual.shape, expected.shape)
        # srcgrad's tensors are all strided: layouts always match
        if self.check_stride and actual.stride() != expected.stride():
            mismatch("stride()", actual.stride(), expected.stride())
        if self.check_device and actual.device != expected.device:
            mismatch("device", actual.device, expected.device)
        if self.check_dtype and actual.dtype != expected.dtype:
            mismatch("dtype", actual.dtype, expected.dtype)

    def _compare_values(self, actual: np.ndarray, expected: np.ndarray) -> None:
        matches = _isclose(actual, expected, self.rtol, self.atol, self.equal_nan)
        if matches.all():
            return
        if actual.shape == ():
            msg = make_scalar_mismatch_msg(_item(actual), _item(expected), rtol=self.rtol, atol=self.atol)
        else:
            msg = make_tensor_mismatch_msg(actual, expected, matches, rtol=self.rtol, atol=self.atol)
        self._fail(AssertionError, msg)

    def extra_repr(self) -> Sequence[str]:
        return ("rtol", "atol", "equal_nan", "check_device", "check_dtype", "check_layout", "check_stride")


def originate_pairs(actual: Any, expected: Any, *, pair_types: Sequence[type[Pair]],
                    id: tuple[Any, ...] = (), **options: Any) -> list[Pair]:
    """Pair up the inputs, through nested sequences (not strings) and mappings."""
    seq, mapping = collections.abc.Sequence, collections.abc.Mapping
    if isinstance(actual, seq) and not isinstance(actual, str) and isinstance(expected, seq) \
            and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise ErrorMeta(AssertionError,
                            f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", id=id)
        pairs = []
        for i in range(len(actual)):
            pairs.extend(originate_pairs(actual[i], expected[i], pair_types=pair_types, id=(*id, i), **options))
        return pairs
    if isinstance(actual, mapping) and isinstance(expected, mapping):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            raise ErrorMeta(AssertionError,
                            f"The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {sorted(expected_keys - actual_keys)}\n"
                            f"Additional keys in the actual mapping: {sorted(actual_keys - expected_keys)}", id=id)
        keys: Collection = actual_keys
        with contextlib.suppress(Exception):  # (sorted when sortable: the first failure is deterministic)
            keys = sorted(keys)
        pairs = []
        for key in keys:
            pairs.extend(originate_pairs(actual[key], expected[key], pair_types=pair_types, id=(*id, key),
                                         **options))
        return pairs
    for pair_type in pair_types:
        try:
            return [pair_type(actual, expected, id=id, **options)]
        except UnsupportedInputs:
            continue
        except ErrorMeta:
            raise
        except Exception as error:
            raise RuntimeError(
                f"Originating a {pair_type.__name__}() at item {''.join(str([item]) for item in id)} with\n\n"
                f"{type(actual).__name__}(): {actual}\n\nand\n\n{type(expected).__name__}(): {expected}\n\n"
                f"resulted in the unexpected exception above. {_ISSUE}") from error
    raise ErrorMeta(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} and "
                               f"{type(expected)}.", id=id)


def not_close_error_metas(actual: Any, expected: Any, *, pair_types: Sequence[type[Pair]],
                          **options: Any) -> list[ErrorMeta]:
    __tracebackhide__ = True
    try:
        pairs = originate_pairs(actual, expected, pair_types=pair_types, **options)
    except ErrorMeta as error_meta:
        raise error_meta.to_error() from None
    error_metas: list[ErrorMeta] = []
    for pair in pairs:
        try:
            pair.compare()
        except ErrorMeta as error_meta:
            error_metas.append(error_meta)
        except Exception as error:
            raise RuntimeError(f"Comparing\n\n{pair}\n\nresulted in the unexpected exception above. "
                               f"{_ISSUE}") from error
    return error_metas


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    """Assert that ``actual`` and ``expected`` are close: ``|actual - expected| <= atol + rtol * |expected|``
    elementwise, with PyTorch's default tolerances for the dtype (float32: rtol 1.3e-6, atol 1e-5;
    float64: 1e-7, 1e-7; float16: 1e-3, 1e-5; bfloat16: 1.6e-2, 1e-5; exact otherwise). Tensors, NumPy
    arrays, Python numbers and ``None``, and lists, tuples and dicts of them, compare pairwise; the
    ``AssertionError`` says what differs, as PyTorch's does. ``msg`` replaces the message (a string)
    or edits it (a callable)."""
    __tracebackhide__ = True
    error_metas = not_close_error_metas(
        actual, expected, pair_types=(NonePair, BooleanPair, NumberPair, TensorLikePair),
        allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
        check_dtype=check_dtype, check_layout=check_layout, check_stride=check_stride, msg=msg)
    if error_metas:
        raise error_metas[0].to_error(msg)


@deprecated(
    "`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future release. "
    "Please use `torch.testing.assert_close()` instead. "
    "You can find detailed upgrade instructions in https://github.com/pytorch/pytorch/issues/61844.",
    category=FutureWarning,
)
def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated in PyTorch since 1.12 (a ``FutureWarning``): use ``assert_close``. Its own looser
    tolerances, ``equal_nan=True`` and no dtype check."""
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = default_tolerances(actual, expected, dtype_precisions={
            "float16": (1e-3, 1e-3), "float32": (1e-4, 1e-5), "float64": (1e-5, 1e-8)})
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)

