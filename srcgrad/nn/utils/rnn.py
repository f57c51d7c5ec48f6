"""``nn.utils.rnn``: ``PackedSequence``, ``pack_padded_sequence``, ``pad_packed_sequence``,
``pack_sequence``, ``unpack_sequence``, ``pad_sequence``, ``unpad_sequence`` and
``invert_permutation``, with PyTorch's layout, checks and error messages.

A packed sequence is PyTorch's: ``data`` holds the time steps of a batch sorted by decreasing length
one after the other (step ``t`` contributes the ``batch_sizes[t]`` sequences still running), and
``batch_sizes`` is a CPU int64 tensor. The lengths are host values, as PyTorch requires: packing and
unpacking are each one gather with an index computed on the host, so gradients flow through them
like through any other op. srcgrad remembers the host values of the index tensors
it makes here (``batch_sizes``, ``sorted_indices``, ``unsorted_indices``, the lengths
``pad_packed_sequence`` returns), so reading them back (in the recurrent layers, in
``pad_packed_sequence``) never computes anything, and a ``@srcgrad.compile`` step that packs its
batch inside stays compiled, with the lengths baked in like any host value it is keyed on. A lengths
tensor passed in from outside is read with ``.tolist()`` (which, while a step is being traced, makes
that step run define-by-run, since its values would otherwise be baked in unguarded).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import dtypes as D
from ... import tracing
from ...pooling import as_function as _as_function
from ...tensor import Tensor, _tensor, cat, full, record

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


# ---------------------------------------------------------------------------
# host values of the integer tensors made here

# id(tensor) -> (weak reference to it, its _version when made, its values as a tuple of ints)
_HOST_INTS: dict[int, tuple[Any, int, tuple[int, ...]]] = {}


def _forget(key: int, ref: Any) -> None:
    entry = _HOST_INTS.get(key)
    if entry is not None and entry[0] is ref:
        del _HOST_INTS[key]


def _host_tensor(values: Sequence[int] | np.ndarray, device: Any = None) -> Tensor:
    """An int64 tensor of ``values`` whose values srcgrad remembers on the host."""
    vals = tuple(int(v) for v in values)
    t = _tensor(np.asarray(vals, dtype=np.int64).reshape(len(vals)), D.int64, device)
    key = id(t)
    ref = weakref.ref(t, lambda r, key=key: _forget(key, r))
    _HOST_INTS[key] = (ref, t._version, vals)
    return t


def _known_ints(t: Tensor | None) -> list[int] | None:
    """The values of a 1-D int tensor made here, without computing anything, or None when unknown.

    Unknown too when the tensor was made before the ``@srcgrad.compile`` trace now running: it is then
    something the traced function reads, whose values a replay may not assume."""
    if t is None:
        return None
    entry = _HOST_INTS.get(id(t))
    if entry is None or entry[0]() is not t or entry[1] != t._version:
        return None
    if tracing.ACTIVE is not None and t._node.id < tracing.ACTIVE.start_id:
        return None
    return list(entry[2])


def _host_ints(t: Tensor) -> list[int]:
    """The values of a 1-D int tensor as Python ints: remembered ones, or read (``.tolist()``)."""
    known = _known_ints(t)
    if known is not None:
        return known
    return [int(v) for v in np.asarray(t.detach().tolist()).reshape(-1)]


def _take(x: Tensor, dim: int, index: np.ndarray | Tensor) -> Tensor:
    """``x.index_select(dim, index)`` for an index known to be in bounds (one computed here), as a gather
    with the index broadcast over the other dims: ``index_select`` reads its index's values to check
    them, which would make a ``@srcgrad.compile`` step that packs its batch run define-by-run."""
    if not isinstance(index, Tensor):
        index = _tensor(np.asarray(index, dtype=np.int64), D.int64, x.device)
    shape = [1] * x.dim()
    shape[dim] = index.shape[0]
    out_shape = list(x.shape)
    out_shape[dim] = index.shape[0]
    index = index.reshape(shape)
    return x.gather(dim, index if tuple(shape) == tuple(out_shape) else index.expand(*out_shape))


def _permute(x: Tensor, dim: int, permutation: Tensor) -> Tensor:
    """``x.index_select(dim, permutation)``: a gather when srcgrad made ``permutation`` (so knows its
    values, here checked), else ``index_select`` itself (which reads and checks them)."""
    known = _known_ints(permutation)
    if known is not None and all(0 <= i < x.shape[dim] for i in known):
        return _take(x, dim, permutation)
    return x.index_select(dim, permutation)


def _lengths_from_batch_sizes(batch_sizes: Sequence[int], rows: int) -> list[int]:
    """The length of each sequence, in the packed (sorted) order, from the batch size of each step,
    checking that those describe a packed batch of ``rows`` rows."""
    bs = np.asarray(batch_sizes, dtype=np.int64)
    if bs.size == 0 or bs.min() <= 0 or (np.diff(bs) > 0).any():
        raise RuntimeError(f"Expected batch_sizes to be positive and non-increasing, as packing makes them, but "
                           f"got {bs.tolist()}")
    if int(bs.sum()) != rows:
        raise RuntimeError(f"The packed data has {rows} rows but its batch_sizes add up to {int(bs.sum())}")
    return [int(n) for n in (bs[None, :] > np.arange(int(bs[0]))[:, None]).sum(1)]


def _packed_rows(lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, batch)``: for each row of the packed data, its time step and its sorted batch position."""
    lens = np.asarray(lengths, dtype=np.int64)
    steps = np.arange(int(lens.max()) if lens.size else 0)
    valid = steps[:, None] < lens[None, :]  # (T, B), time-major: the packed order
    t, b = np.nonzero(valid)
    return t, b


# ---------------------------------------------------------------------------
# PackedSequence


class PackedSequence_(NamedTuple):  # noqa: N801 - PyTorch's name
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(optional: Any, fn: Any) -> Any:
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """The data and ``batch_sizes`` of a packed batch of sequences (and the permutation that sorted
    it by length), as PyTorch's: ``data`` may be on any device and of any dtype, ``batch_sizes`` is
    always a CPU int64 tensor, ``sorted_indices``/``unsorted_indices`` are int64 tensors on ``data``'s
    device. Made by ``pack_padded_sequence`` and ``pack_sequence``; the recurrent layers take it."""

    def __new__(cls, data: Any, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        return super().__new__(cls, *_packed_sequence_init_args(data, batch_sizes, sorted_indices,
                                                                unsorted_indices))

    def pin_memory(self) -> PackedSequence:
        """Itself: srcgrad's host memory needs no pinning (JAX manages transfers)."""
        return self

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(*args, **kwargs)``, the indices following it to its device (``batch_sizes`` stays on
        the CPU); ``self`` when ``data`` is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices = _bind(self.sorted_indices, lambda t: _follow(t, data.device))
        unsorted_indices = _bind(self.unsorted_indices, lambda t: _follow(t, data.device))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> PackedSequence:
        dev = "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
        return self.to(device=dev)

    def cpu(self, memory_format: Any = None) -> PackedSequence:
        return self.to(device="cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=D.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=D.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=D.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=D.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=D.int32)

    def short(self) -> PackedSequence:
        return self.to(dtype=D.int16)

    def char(self) -> PackedSequence:
        return self.to(dtype=D.int8)

    def byte(self) -> PackedSequence:
        return self.to(dtype=D.uint8)

    @property
    def is_cuda(self) -> bool:
        """Whether ``data`` is on a GPU."""
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        """False: srcgrad never pins memory."""
        return False


def _follow(t: Tensor, device: Any) -> Tensor:
    """``t.to(device)``, remembering the host values of an index tensor made here."""
    if t.device == device:
        return t
    known = _known_ints(t)
    return _host_tensor(known, device) if known is not None else t.to(device)


def _packed_sequence_init_args(data: Any, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                               unsorted_indices: Tensor | None = None) -> tuple:
    if unsorted_indices is None:
        unsorted_indices = invert_permutation(sorted_indices)
    # called as PackedSequence(data, batch_sizes, sorted_indices)
    if batch_sizes is not None:
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                             "created manually. They should be instantiated by functions like pack_sequence and "
                             "pack_padded_sequences in nn.utils.rnn. "
                             "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return data, batch_sizes, sorted_indices, unsorted_indices
    # called as PackedSequence((data, batch_sizes), *, sorted_indices)
    if not (isinstance(data, (list, tuple)) and len(data) == 2):
        raise AssertionError("Expected data to be a list or tuple of length 2")
    return data[0], data[1], sorted_indices, unsorted_indices


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a 1-D permutation tensor (None for None), as PyTorch's."""
    if permutation is None:
        return None
    known = _known_ints(permutation)
    if known is not None:
        inverse = np.empty(len(known), dtype=np.int64)
        inverse[np.asarray(known, dtype=np.int64)] = np.arange(len(known))
        return _host_tensor(inverse, permutation.device)
    from ...tensor import arange, zeros_like
    n = permutation.numel()
    return zeros_like(permutation).scatter(0, permutation, arange(0, n, device=permutation.device,
                                                                   dtype=permutation.dtype))


# ---------------------------------------------------------------------------
# packing and unpacking


def _lengths_arg(lengths: Any) -> list[int]:
    """``lengths`` (a list, a tuple, a NumPy array or a CPU tensor) as Python ints, with PyTorch's check
    of a 1-D CPU int64 tensor (other dtypes are converted, truncating, as PyTorch's ``.to(int64)``)."""
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1 or lengths.device.type != "cpu":
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device} Long tensor")
        if lengths.dtype.is_floating_point or lengths.dtype == D.bool_:
            return [int(v) for v in np.asarray(lengths.detach().tolist()).reshape(-1)]
        return _host_ints(lengths)
    a = np.asarray(lengths)
    if a.ndim != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got {a.ndim}D cpu Long tensor")
    return [int(v) for v in a.tolist()]


def pack_padded_sequence(input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of the
    given ``lengths`` (host values: a list or a CPU int64 tensor). With ``enforce_sorted`` the lengths
    must decrease; otherwise the batch is sorted by decreasing length (a stable sort: ties keep their
    order) and the permutation is kept in ``sorted_indices``. Gradients flow back to ``input``."""
    batch_dim = 0 if batch_first else 1
    time_dim = 1 - batch_dim
    batch = input.size(batch_dim)  # (PyTorch's IndexError for an input of fewer than two dims)
    steps = input.size(time_dim)
    lens = _lengths_arg(lengths)
    order: list[int] | None = None
    if not enforce_sorted:
        order = [int(i) for i in np.argsort(-np.asarray(lens, dtype=np.int64), kind="stable")]
        lens = [lens[i] for i in order]
    # the checks of PyTorch's _pack_padded_sequence, in its order
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={batch})")
    if lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                           "that is <= 0")
    if any(lens[i + 1] > lens[i] for i in range(len(lens) - 1)):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                           "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                           "sidestep this requirement if you do not need ONNX exportability.")
    if lens[0] > steps:  # (PyTorch reads past the end of the input here)
        raise RuntimeError(f"Expected every length to be at most the padded length {steps} of the input, but got "
                           f"a length of {lens[0]}")
    lens_a = np.asarray(lens, dtype=np.int64)
    batch_sizes = (lens_a[None, :] > np.arange(lens[0])[:, None]).sum(1)
    t, j = _packed_rows(lens)
    src = np.asarray(order, dtype=np.int64)[j] if order is not None else j
    # one gather from the input flattened over its first two dims (a new tensor, as PyTorch's)
    rows = src * steps + t if batch_first else t * batch + src
    flat = input.reshape(batch * steps, *input.shape[2:])
    data = _as_function(record("pack_padded_sequence", (_take(flat, 0, rows),)), (input,))
    sorted_indices = _host_tensor(order, input.device) if order is not None else None
    return PackedSequence(data, _host_tensor(batch_sizes, "cpu"), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)``, ``padded`` of shape ``(T, B, *)``
    (``(B, T, *)`` with ``batch_first``) filled with ``padding_value``, ``T`` the longest length or
    ``total_length``, the batch back in its order before packing; ``lengths`` a CPU int64 tensor."""
    batch_sizes = _host_ints(sequence.batch_sizes)
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {max_seq_length}")
        max_seq_length = total_length
    data = sequence.data
    lens = _lengths_from_batch_sizes(batch_sizes, data.shape[0] if data.dim() else 0)
    batch = len(lens)
    unsorted = sequence.unsorted_indices
    order = _known_ints(unsorted)  # the unsorting folds into the gather when it is known on the host
    if order is not None and sorted(order) != list(range(batch)):
        order = None  # (not a permutation of this batch: index_select reports it)
    pos = np.asarray(order if order is not None else range(batch), dtype=np.int64)  # sorted position of each
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)]).astype(np.int64)
    n = int(offsets[-1])
    t_grid = np.arange(max_seq_length)[:, None]  # (T, 1)
    valid = t_grid < np.asarray(lens, dtype=np.int64)[pos][None, :]  # (T, B): is (t, b) a real step
    src = np.where(valid, offsets[np.minimum(t_grid, len(batch_sizes) - 1)] + pos[None, :], n)
    if batch_first:
        src = src.T
    if not valid.all():  # the padding comes from one more row, of padding_value
        fill = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
        data = cat([data, fill], 0)
    padded = _take(data, 0, src.reshape(-1))
    padded = padded.reshape(*src.shape, *padded.shape[1:])
    if unsorted is not None and order is None:  # (an index tensor srcgrad did not make: gather lazily)
        lengths = _host_tensor(lens, "cpu")
        return padded.index_select(0 if batch_first else 1, unsorted), lengths.index_select(0, unsorted.cpu())
    return padded, _host_tensor([lens[p] for p in pos], "cpu")


def pad_sequence(sequences: Iterable[Tensor] | Tensor, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shape ``(L_i, *)`` into ``(max L, B, *)`` (``(B, max L, *)`` with ``batch_first``),
    filling with ``padding_value`` on the ``padding_side`` ('right' or 'left'), as PyTorch's."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of type: "
                           f"{type(sequences)}")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    trailing = tuple(seqs[0].shape[1:])
    max_len = max(s.shape[0] for s in seqs)
    for s in seqs:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"The size of tensor a ({trailing[0] if trailing else 0}) must match the size of "
                               f"tensor b ({s.shape[1] if s.dim() > 1 else 0}) at non-singleton dimension 1")
    # as PyTorch's: a tensor of padding_value, each sequence copied into its slice (CopySlices)
    shape = (len(seqs), max_len, *trailing) if batch_first else (max_len, len(seqs), *trailing)
    out = full(shape, padding_value, dtype=seqs[0].dtype, device=seqs[0].device)
    for i, s in enumerate(seqs):
        n = s.shape[0]
        steps = slice(0, n) if padding_side == "right" else slice(max_len - n, max_len)
        if batch_first:
            out[i, steps] = s
        else:
            out[steps, i] = s
    return out


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int],
                   batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length (a list of new tensors).

    As PyTorch's, with ``batch_first=False`` this transposes ``padded_sequences`` itself in place
    (``transpose_(0, 1)``) first; ``lengths`` may be a tensor or, unlike PyTorch, a list."""
    if not batch_first:
        padded_sequences.transpose_(0, 1)
    lens = _host_ints(lengths) if isinstance(lengths, Tensor) else [int(n) for n in lengths]
    return [seq[:n].clone() for seq, n in zip(padded_sequences.unbind(0), lens, strict=True)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """``pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)``."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences of a packed batch, in their order before packing."""
    padded_sequences, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded_sequences, lengths, batch_first=True)
