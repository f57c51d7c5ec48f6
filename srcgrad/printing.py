"""PyTorch-compatible string formatting of tensors.

This module reproduces, using NumPy only, the output of PyTorch's
``str(tensor)`` / ``repr(tensor)`` (the logic of ``torch/_tensor_str.py``):

* the element formatter with its *int mode* (``1.``), *scientific mode*
  (``1.0000e+05``) and fixed-point mode (``1.2345``), chosen from the
  magnitudes of the non-zero finite elements;
* right-aligned padding of every element to a common width;
* wrapping of long rows at ``linewidth`` characters;
* summarisation with ``...`` of tensors with more than ``threshold``
  elements, keeping ``edgeitems`` items at each end of each dimension;
* nested bracket indentation, empty tensors (``tensor([], size=(0, 3))``),
  0-d tensors (``tensor(27.)``), bool, integer and complex tensors;
* the ``device=``, ``size=``, ``dtype=``, ``grad_fn=`` and ``requires_grad=``
  suffixes, including PyTorch's rule for moving suffixes to a new line.

The global print options are managed with :func:`set_printoptions`,
:func:`get_printoptions` and the :func:`printoptions` context manager, which
mirror their ``torch`` counterparts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = [
    "format_tensor",
    "get_printoptions",
    "printoptions",
    "set_printoptions",
]


@dataclasses.dataclass
class _PrintOptions:
    """Global print options (same fields and defaults as PyTorch)."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()

_PROFILES: dict[str, dict[str, float]] = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set the global options used when formatting tensors.

    Behaves like :func:`torch.set_printoptions`.

    Args:
        precision: Number of digits after the decimal point for floating
            point output (default 4).
        threshold: Total number of elements above which the output is
            summarised with ``...`` (default 1000).
        edgeitems: Number of items kept at the beginning and at the end of
            each dimension when summarising (default 3).
        linewidth: Number of characters per line used to wrap long rows
            (default 80).
        profile: Preset to start from: ``"default"``, ``"short"`` or
            ``"full"``; explicitly given options override it. Unknown names
            are ignored, as in PyTorch.
        sci_mode: ``True`` forces scientific notation, ``False`` disables it
            and ``None`` (the default) lets the formatter choose. As in
            PyTorch, this option is always assigned, so calling this
            function without ``sci_mode`` resets it to automatic.
    """
    if profile is not None and profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dictionary.

    The result can be passed back as ``**kwargs`` to
    :func:`set_printoptions` to restore the options.
    """
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change the print options inside a ``with`` block.

    Accepts the same keyword arguments as :func:`set_printoptions`.
    """
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


# ---------------------------------------------------------------------------
# Element formatting
# ---------------------------------------------------------------------------

_DTYPE_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "cfloat": "complex64",
    "cdouble": "complex128",
    "chalf": "complex32",
}


def _canonical_dtype_name(name: str) -> str:
    """Strip a ``torch.`` prefix and resolve PyTorch dtype aliases."""
    name = name.removeprefix("torch.")
    return _DTYPE_ALIASES.get(name, name)


def _value_kind(dtype: np.dtype) -> str:
    """Classify a NumPy dtype as ``"bool"``, ``"int"``, ``"complex"`` or ``"float"``.

    Anything that is not bool, integer or complex (``float16/32/64`` and
    extension float types such as ``ml_dtypes.bfloat16`` or float8) is
    treated as floating point.
    """
    kind = dtype.kind
    if kind == "b":
        return "bool"
    if kind in "iu":
        return "int"
    if kind == "c":
        return "complex"
    return "float"


def _widen(values: np.ndarray, kind: str) -> np.ndarray:
    """Convert float values to float64 and complex values to complex128.

    float64 represents float16/bfloat16/float32 values exactly, so formatting
    the widened values matches PyTorch, whose ``item()``/``tolist()`` return
    Python floats (doubles). Bool and integer arrays are returned unchanged.
    """
    target = {"float": np.float64, "complex": np.complex128}.get(kind)
    if target is None:
        return values
    try:
        return np.asarray(values).astype(target)
    except (TypeError, ValueError) as exc:
        msg = f"cannot format array of dtype {values.dtype}"
        raise TypeError(msg) from exc


class _Formatter:
    """Port of PyTorch's ``_Formatter``: decides the mode and the width.

    ``values`` holds the (possibly summarised) elements that will be
    printed; ``floating`` tells whether they come from a floating point
    tensor (float64 array) or from an integer/bool tensor.
    """

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = values.reshape(-1)
        if flat.size == 0:
            return

        if not floating:
            # The width of ``str(int)`` is monotonic in the magnitude for a
            # given sign, so the extremes are enough.
            for value in (flat.min(), flat.max()):
                self.max_width = max(self.max_width, len(f"{value.item()}"))
            return

        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            # No valid number: keep int mode, no sci mode, width 1.
            return

        magnitudes = np.abs(nonzero_finite)
        abs_min = float(magnitudes.min())
        abs_max = float(magnitudes.max())

        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))

        if PRINT_OPTS.sci_mode is None:
            with np.errstate(over="ignore"):
                ratio = float(np.float64(abs_max) / np.float64(abs_min))
            self.sci_mode = ratio > 1000.0 or abs_max > 1.0e8 or abs_min < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode

        # For a given sign, the length of the formatted value is monotonic
        # in the magnitude (fixed point) or depends only on the exponent,
        # which is extremal at the smallest or largest magnitude (scientific).
        # Checking the extreme positive and negative values therefore gives
        # the same maximum width as formatting every element.
        candidates: list[float] = []
        for part in (
            nonzero_finite[nonzero_finite > 0],
            nonzero_finite[nonzero_finite < 0],
        ):
            if part.size:
                candidates.extend((float(part.min()), float(part.max())))

        precision = PRINT_OPTS.precision
        for value in candidates:
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                # A trailing "." is appended to mark the values as floats.
                width = len(f"{value:.0f}") + 1
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def width(self) -> int:
        """Width that every formatted element is padded to."""
        return self.max_width

    def format(self, value: Any) -> str:
        """Format one Python scalar (float, int or bool), right-aligned."""
        if self.floating:
            precision = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{precision}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _complex_str(value: complex, real_fmt: _Formatter, imag_fmt: _Formatter) -> str:
    """Format a complex number as PyTorch does (``1.+2.j``)."""
    real_str = real_fmt.format(value.real)
    imag_str = (imag_fmt.format(value.imag) + "j").lstrip()
    # Handles negative numbers, +0.0 and -0.0.
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------


def _summarized_data(array: np.ndarray) -> np.ndarray:
    """Elements that remain visible after summarisation (any layout).

    Equivalent to PyTorch's ``get_summarized_data``: along every dimension
    longer than ``2 * edgeitems`` only the first and last ``edgeitems``
    entries are kept.
    """
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array
    if not edge:
        # PyTorch keeps the whole vector for 1-d (``t[:0]`` + ``t[-0:]``)
        # and returns an empty tensor for higher dimensions.
        if array.ndim == 1:
            return array
        return array[tuple(slice(0, 0) for _ in range(array.ndim))]
    for axis, size in enumerate(array.shape):
        if size > 2 * edge:
            index = np.r_[0:edge, size - edge : size]
            array = np.take(array, index, axis=axis)
    return array


def _vector_str(
    array: np.ndarray,
    indent: int,
    summarize: bool,
    formatter1: _Formatter,
    formatter2: _Formatter | None,
) -> str:
    """Format a 1-d array, wrapping at ``linewidth``."""
    # Length includes the comma and space between elements.
    element_length = formatter1.width() + 2
    if formatter2 is not None:
        # Width of the imaginary part plus the trailing "j".
        element_length += formatter2.width() + 1

    elements_per_line = max(
        1, math.floor((PRINT_OPTS.linewidth - indent) / element_length)
    )

    def fmt(values: np.ndarray) -> list[str]:
        if formatter2 is not None:
            items = _widen(values, "complex").tolist()
            return [_complex_str(v, formatter1, formatter2) for v in items]
        items = _widen(values, "float" if formatter1.floating else "int").tolist()
        return [formatter1.format(v) for v in items]

    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        data = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        data = [*fmt(array[:edge]), " ...", *fmt(array[-edge:])]
    else:
        data = fmt(array)

    lines = [
        ", ".join(data[i : i + elements_per_line])
        for i in range(0, len(data), elements_per_line)
    ]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(
    array: np.ndarray,
    indent: int,
    summarize: bool,
    formatter1: _Formatter,
    formatter2: _Formatter | None = None,
) -> str:
    """Recursively format ``array`` with nested, indented brackets."""
    dim = array.ndim
    if dim == 0:
        kind = "complex" if formatter2 is not None else "float"
        value = (_widen(array, kind) if formatter1.floating else array).item()
        if formatter2 is not None:
            return _complex_str(value, formatter1, formatter2)
        return formatter1.format(value)

    if dim == 1:
        return _vector_str(array, indent, summarize, formatter1, formatter2)

    edge = PRINT_OPTS.edgeitems
    size = array.shape[0]
    if summarize and size > 2 * edge:
        rows = [*range(edge), -1, *range(size - edge, size)]
    else:
        rows = list(range(size))
    slices = [
        "..."
        if i < 0
        else _tensor_str_with_formatter(
            array[i], indent + 1, summarize, formatter1, formatter2
        )
        for i in rows
    ]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(array: np.ndarray, indent: int) -> str:
    """Format the contents (the bracketed part) of a tensor."""
    if array.size == 0:
        return "[]"

    summarize = array.size > PRINT_OPTS.threshold
    kind = _value_kind(array.dtype)
    # Only the elements that remain visible decide the format, and only those
    # are widened (the full array may be large).
    visible = _widen(_summarized_data(array) if summarize else array, kind)

    if kind == "complex":
        real_formatter = _Formatter(visible.real, floating=True)
        imag_formatter = _Formatter(visible.imag, floating=True)
        return _tensor_str_with_formatter(
            array, indent, summarize, real_formatter, imag_formatter
        )
    formatter = _Formatter(visible, floating=kind == "float")
    return _tensor_str_with_formatter(array, indent, summarize, formatter)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    """Append ``, suffix`` items and the closing parenthesis.

    A suffix goes to a new line (indented by ``indent``) when it would make
    the current line longer than ``linewidth``. The line-length arithmetic
    (including its ``+ 1`` quirk) is PyTorch's.
    """
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        suffix_len = len(suffix)
        if last_line_len + suffix_len + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + suffix_len
        else:
            parts.append(", " + suffix)
            last_line_len += suffix_len + 2
    parts.append(")")
    return "".join(parts)


def format_tensor(
    array: np.ndarray,
    *,
    dtype_name: str,
    default_dtype_name: str = "float32",
    device: str | None = None,
    requires_grad: bool = False,
    grad_fn_name: str | None = None,
    prefix: str = "tensor(",
    tangent: str | None = None,
) -> str:
    r"""Format ``array`` exactly like PyTorch's ``repr(tensor)``.

    Args:
        array: The tensor's values, of any NumPy numeric or bool dtype
            (extension float types such as ``ml_dtypes.bfloat16`` are
            treated as floating point).
        dtype_name: The tensor's dtype name without ``torch.``, e.g.
            ``"float32"``, ``"int32"`` or ``"bool"``.
        default_dtype_name: The current default floating point dtype. No
            ``dtype=`` suffix is shown for it, for its complex counterpart,
            for ``int64`` or for ``bool`` (for empty tensors only the
            default dtype itself omits the suffix, as in PyTorch).
        device: Device string such as ``"cuda:0"``; a ``device='...'``
            suffix is added unless it is ``None`` or ``"cpu"``.
        requires_grad: Add ``requires_grad=True`` (ignored when
            ``grad_fn_name`` is given, as for non-leaf tensors in PyTorch).
        grad_fn_name: Name of the gradient function, shown as
            ``grad_fn=<Name>``.
        tangent: The forward-mode tangent, formatted (``tangent=...``, last).
        prefix: Text before the opening bracket. Nested rows are indented by
            the length of its last line, so
            ``"Parameter containing:\ntensor("`` yields PyTorch's
            ``Parameter`` representation.

    Returns:
        The string representation, e.g. ``"tensor([1., 2.])"``.
    """
    array = np.asarray(array)
    dtype_name = _canonical_dtype_name(dtype_name)
    default_dtype_name = _canonical_dtype_name(default_dtype_name)

    header, newline, prefix = prefix.rpartition("\n")
    indent = len(prefix)

    suffixes: list[str] = []
    if device is not None and str(device) != "cpu":
        suffixes.append(f"device='{device}'")

    default_complex = "complex128" if default_dtype_name == "float64" else "complex64"
    has_default_dtype = dtype_name in (
        default_dtype_name,
        default_complex,
        "int64",
        "bool",
    )

    if array.size == 0:
        # Print the shape when it is not (0,), like NumPy.
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        # No element hints at the dtype, so anything but the default is shown.
        if dtype_name != default_dtype_name:
            suffixes.append(f"dtype=torch.{dtype_name}")
        tensor_str = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if not has_default_dtype:
            suffixes.append(f"dtype=torch.{dtype_name}")
        tensor_str = _tensor_str(array, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")
    if tangent is not None:
        suffixes.append(f"tangent={tangent}")

    return header + newline + _add_suffixes(prefix + tensor_str, suffixes, indent)
