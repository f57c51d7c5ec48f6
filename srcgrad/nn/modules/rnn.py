"""Recurrent layers: ``RNNCell``, ``LSTMCell``, ``GRUCell``, ``RNN``, ``LSTM``, ``GRU`` and
``pad_sequence`` (re-exported from ``nn.utils.rnn``), with PyTorch's parameter names, shapes, gate order,
initialisation and errors.

The layers are written with srcgrad tensor ops and a Python loop over time steps: a call records
the unrolled graph, which srcgrad differentiates with its own rules and compiles like any other
graph (under ``@srcgrad.compile`` the whole unrolled step is one program). The input-to-hidden
products of a layer are computed for all time steps at once, as PyTorch's CPU kernels do; only the
hidden-to-hidden products run step by step.

A ``PackedSequence`` input runs over the padded batch (in the packed, sorted order) with a mask per time
step: where a sequence has not started (reverse direction) or has ended (forward direction), the step
keeps the previous state (``where``), so each sequence's final state is the state of its own last step
and every step stays a few fused ops. The output is packed again with one gather.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import dtypes as D
from ...tensor import Tensor, _tensor, cat, empty, stack, where, zeros
from .. import functional as F
from .. import init
from ..parameter import Parameter
from ..utils.rnn import (
    PackedSequence,
    _host_ints,
    _lengths_from_batch_sizes,
    _packed_rows,
    _permute,
    _take,
    pad_sequence,
)
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "pad_sequence"]


# ---------------------------------------------------------------------------
# the cell equations, shared by the cells and the multi-layer modules
# (``xw`` is the input's contribution ``x @ W_ih^T + b_ih``, computed beforehand)


def _rnn_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    """``act(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    pre = xw + F.linear(h, w_hh, b_hh)
    return pre.relu() if relu else pre.tanh()


def _lstm_step(xw: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """PyTorch's LSTM cell, gates in the order i, f, g, o; ``w_hr`` projects the new hidden state."""
    gates = xw + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, 1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h_new = o.sigmoid() * c_new.tanh()
    if w_hr is not None:
        h_new = F.linear(h_new, w_hr)
    return h_new, c_new


def _gru_step(xw: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """PyTorch's GRU cell, gates r, z, n, with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``."""
    gh = F.linear(h, w_hh, b_hh)
    i_r, i_z, i_n = xw.chunk(3, 1)
    h_r, h_z, h_n = gh.chunk(3, 1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)  # == (1 - z) * n + z * h, written as PyTorch's kernel computes it


# ---------------------------------------------------------------------------
# cells


class RNNCellBase(Module):
    """What the three cells share: ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of
    ``num_chunks * hidden_size`` rows, initialised U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self) -> None:
        """Every parameter U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _check(self, name: str, input: Tensor, hx: Sequence[Tensor | None], hx_names: Sequence[str]) -> None:
        """PyTorch's checks of a cell's arguments (its C++ ``check_rnn_cell_forward_*`` errors)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for h, hname in zip(hx, hx_names):
            if h is not None and h.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {hname} to be 1D or 2D, got {h.dim()}D instead")

    def _check_sizes(self, input: Tensor, hx: Sequence[Tensor]) -> None:
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        for k, h in enumerate(hx):
            if h.dim() != 2 or input.shape[0] != h.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{k} batch size "
                                   f"{h.shape[0] if h.dim() else 1}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected "
                                   f"{self.hidden_size}")

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ``relu``), one time step."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check("RNNCell", input, [hx], ["hidden"])
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        hx = self._zeros(input) if hx is None else (hx if batched else hx.unsqueeze(0))
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_sizes(input, [hx])
        h = _rnn_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh,
                      self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: ``(h', c') = cell(x, (h, c))``, gates i, f, g, o stacked in that order."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        hs = list(hx) if hx is not None else []
        self._check("LSTMCell", input, hs, [f"hx[{k}]" for k in range(len(hs))])
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = self._zeros(input)
            h, c = z, z
        else:
            h, c = (hx[0], hx[1]) if batched else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        self._check_sizes(input, [h, c])
        h, c = _lstm_step(F.linear(input, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step, gates r, z, n stacked in that order (PyTorch's formulation of ``n``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check("GRUCell", input, [hx], ["hidden"])
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)
        hx = self._zeros(input) if hx is None else (hx if batched else hx.unsqueeze(0))
        self._check_sizes(input, [hx])
        h = _gru_step(F.linear(input, self.weight_ih, self.bias_ih), hx, self.weight_hh, self.bias_hh)
        return h if batched else h.squeeze(0)


# ---------------------------------------------------------------------------
# multi-layer, optionally bidirectional modules


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: PyTorch's per-layer, per-direction parameters
    (``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    ``weight_hr_l{k}`` for a projected LSTM), their checks, ``extra_repr`` and the time loop."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        # PyTorch's argument checks, in PyTorch's order
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
        if not isinstance(input_size, int):
            raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
        if input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        if not isinstance(hidden_size, int):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        gate_size = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gate_size is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        gate_size *= hidden_size

        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        real_hidden_size = proj_size if proj_size > 0 else hidden_size
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input_size = input_size if layer == 0 else real_hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = {"weight_ih": (gate_size, layer_input_size), "weight_hh": (gate_size, real_hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for base, shape in shapes.items():
                    name = f"{base}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self) -> list[Parameter | None]:
        """The parameters in PyTorch's flat order (looked up each time, so ``load_state_dict(assign=True)``
        and re-assigned attributes are seen)."""
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters of each layer and direction, as PyTorch's ``all_weights``."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """A no-op, as PyTorch's is off cuDNN: srcgrad never needs a flat weight buffer."""

    def reset_parameters(self) -> None:
        """Every parameter U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- checks ---------------------------------------------------------------

    def check_input(self, input: Tensor, batch_sizes: Tensor | None = None) -> None:
        w = self._flat_weights[0]
        if w is not None and input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({w.dtype}). "
                             f"Convert input: input.to({w.dtype}), or convert model: model.to({input.dtype})")
        expected_input_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_input_dim:
            raise RuntimeError(f"input must have {expected_input_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.size(-1)}")

    def get_expected_hidden_size(self, input: Tensor, batch_sizes: Tensor | None = None) -> tuple[int, int, int]:
        mini_batch = self._mini_batch(input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * num_directions, mini_batch, size)

    def _mini_batch(self, input: Tensor, batch_sizes: Tensor | None) -> int:
        if batch_sizes is not None:  # a packed input: the batch size of its first step
            return _host_ints(batch_sizes)[0]
        return input.size(0) if self.batch_first else input.size(1)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple[int, int, int],
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.shape) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.shape)))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Tensor | None = None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    # -- the computation ----------------------------------------------------------

    def _forward_one_state(self, input: Tensor, hx: Tensor | None, name: str, suffix: str) -> tuple:
        """``forward`` of the layers with one state tensor (RNN, GRU): check or make ``hx``, run."""
        input, batched, batch_dim = self._prepare(input, name, suffix)
        if hx is not None:
            if not batched and hx.dim() != 2:
                raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor")
            if batched and hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor")
            hx = hx if batched else hx.unsqueeze(1)
        else:
            hx = self._zero_state(input, self.hidden_size)
        self.check_forward_args(input, hx)
        output, h_n, _ = self._run(input, hx, None)
        if not batched:
            return output.squeeze(batch_dim), h_n.squeeze(1)
        return output, h_n

    def _prepare(self, input: Any, name: str, tensor_word: str) -> tuple[Tensor, bool, int]:
        """Reject inputs that are not 2-D or 3-D tensors; add the batch dim of an unbatched input."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor or a PackedSequence as input, got {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tensor_word} instead")
        batched = input.dim() == 3
        batch_dim = 0 if self.batch_first else 1
        return (input if batched else input.unsqueeze(batch_dim)), batched, batch_dim

    def _run(self, input: Tensor, h0: Tensor, c0: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
        """All layers and directions over the whole sequence; returns ``(output, h_n, c_n)``."""
        x = input.transpose(0, 1) if self.batch_first else input  # time-major from here on
        x, h_n, c_n = self._layers(x, h0, c0, None)
        output = x.transpose(0, 1) if self.batch_first else x
        return output, h_n, c_n

    def _layers(self, x: Tensor, h0: Tensor, c0: Tensor | None,
                active: list[Tensor | None] | None) -> tuple[Tensor, Tensor, Tensor | None]:
        """All layers and directions over time-major ``x``; returns ``(output, h_n, c_n)``.

        ``active[t]``, where given, is a ``(batch, 1)`` mask of the sequences running at step ``t`` (None
        where all are): elsewhere a step keeps the state it is given, so that the forward direction
        ends each sequence with the state of its last step and the reverse one starts it from ``h0``."""
        num_directions = 2 if self.bidirectional else 1
        seq_len = x.shape[0]
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        h0s = h0.unbind(0)
        c0s = c0.unbind(0) if c0 is not None else None
        for layer in range(self.num_layers):
            outs = []
            for direction in range(num_directions):
                idx = layer * num_directions + direction
                p = dict(zip(("w_ih", "w_hh", "b_ih", "b_hh") if self.bias else ("w_ih", "w_hh"),
                             (getattr(self, n) for n in self._all_weights[idx])))
                w_hr = getattr(self, self._all_weights[idx][-1]) if self.proj_size > 0 else None
                # the input-to-hidden products of every time step in one matrix product
                xw = F.linear(x, p["w_ih"], p.get("b_ih")).unbind(0)
                h = h0s[idx]
                c = c0s[idx] if c0s is not None else None
                steps: list[Tensor | None] = [None] * seq_len
                for t in (range(seq_len - 1, -1, -1) if direction == 1 else range(seq_len)):
                    h_prev, c_prev = h, c
                    if self.mode == "LSTM":
                        h, c = _lstm_step(xw[t], h, c, p["w_hh"], p.get("b_hh"), w_hr)
                    elif self.mode == "GRU":
                        h = _gru_step(xw[t], h, p["w_hh"], p.get("b_hh"))
                    else:
                        h = _rnn_step(xw[t], h, p["w_hh"], p.get("b_hh"), self.mode == "RNN_RELU")
                    mask = active[t] if active is not None else None
                    if mask is not None:
                        h = where(mask, h, h_prev)
                        if c is not None:
                            c = where(mask, c, c_prev)
                    steps[t] = h
                outs.append(stack(steps, 0))
                h_n.append(h)
                if c is not None:
                    c_n.append(c)
            x = outs[0] if num_directions == 1 else cat(outs, 2)
            # dropout on the outputs of every layer but the last, in training only (as PyTorch)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, stack(h_n, 0), (stack(c_n, 0) if c_n else None)

    # -- packed sequences ---------------------------------------------------------

    def _forward_packed(self, packed: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        """``forward`` of a ``PackedSequence``: PyTorch's steps (states permuted into the packed order
        and back), the recurrence run over the padded batch with a mask per step."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        num_directions = 2 if self.bidirectional else 1
        bs = _host_ints(batch_sizes)
        max_batch_size = bs[0]
        lstm = self.mode == "LSTM"
        if hx is None:
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            h = zeros(self.num_layers * num_directions, max_batch_size, real_hidden if lstm else self.hidden_size,
                      dtype=data.dtype, device=data.device)
            c = zeros(self.num_layers * num_directions, max_batch_size, self.hidden_size, dtype=data.dtype,
                      device=data.device) if lstm else None
        else:
            h, c = (hx[0], hx[1]) if lstm else (hx, None)
        # (checked before the states are permuted: PyTorch checks after, where a state of the wrong batch
        # size fails in index_select or, larger, is cut to size)
        if lstm:
            self.check_forward_args(data, (h, c), batch_sizes)
        else:
            self.check_forward_args(data, h, batch_sizes)
        if hx is not None and sorted_indices is not None:
            # each state's batch position is the one the user passes its sequence at: into the packed order
            h = _permute(h, 1, sorted_indices)
            c = _permute(c, 1, sorted_indices) if c is not None else None
        out, h_n, c_n = self._run_packed(data, bs, h, c)
        if unsorted_indices is not None:
            h_n = _permute(h_n, 1, unsorted_indices)
            c_n = _permute(c_n, 1, unsorted_indices) if c_n is not None else None
        output = PackedSequence(out, batch_sizes, sorted_indices, unsorted_indices)
        return output, ((h_n, c_n) if lstm else h_n)

    def _run_packed(self, data: Tensor, batch_sizes: list[int], h0: Tensor,
                    c0: Tensor | None) -> tuple[Tensor, Tensor, Tensor | None]:
        """The layers over packed ``data``: padded to ``(T, B, input_size)`` with one gather, run with
        the masks of the running sequences, and the output packed again with one gather."""
        n = data.shape[0]
        lengths = _lengths_from_batch_sizes(batch_sizes, n)
        steps, batch = len(batch_sizes), len(lengths)
        t, j = _packed_rows(lengths)
        rows = t * batch + j  # where each packed row sits in the (T * B) padded rows
        src = np.full(steps * batch, n, dtype=np.int64)  # (the row after the data: zeros)
        src[rows] = np.arange(n)
        padding = zeros(1, data.shape[1], dtype=data.dtype, device=data.device)
        x = _take(cat([data, padding], 0), 0, src)
        x = x.reshape(steps, batch, data.shape[1])
        # every sequence runs at the first step; later steps are masked (also where all run, so the
        # program depends only on the padded shape and the packed size, not on the lengths)
        mask = np.arange(batch)[None, :, None] < np.asarray(batch_sizes)[:, None, None]  # (T, B, 1)
        masks = _tensor(mask[1:], D.bool_, data.device).unbind(0) if steps > 1 else ()
        active: list[Tensor | None] = [None, *masks]
        out, h_n, c_n = self._layers(x, h0, c0, active)
        out = _take(out.reshape(steps * batch, out.shape[2]), 0, rows)
        return out, h_n, c_n

    def _zero_state(self, input: Tensor, size: int) -> Tensor:
        num_directions = 2 if self.bidirectional else 1
        batch = input.size(0) if self.batch_first else input.size(1)
        return zeros(self.num_layers * num_directions, batch, size, dtype=input.dtype, device=input.device)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ``relu``), stacked
    ``num_layers`` deep, optionally bidirectional. ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward_one_state(input, hx, "RNN", " tensor")


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o; ``proj_size > 0`` projects each hidden state with
    ``weight_hr_l{k}``. ``forward(input, (h0, c0)=None) -> (output, (h_n, c_n))``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes: Tensor | None = None) -> tuple[int, int, int]:
        mini_batch = self._mini_batch(input, batch_sizes)
        num_directions = 2 if self.bidirectional else 1
        return (self.num_layers * num_directions, mini_batch, self.hidden_size)

    def check_forward_args(self, input: Tensor, hidden: tuple[Tensor, Tensor],  # type: ignore[override]
                           batch_sizes: Tensor | None = None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def forward(self, input: Tensor | PackedSequence,  # type: ignore[override]
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Any, tuple[Tensor, Tensor]]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        input, batched, batch_dim = self._prepare(input, "LSTM", "")
        if hx is None:
            real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (self._zero_state(input, real_hidden), self._zero_state(input, self.hidden_size))
        elif batched:
            if hx[0].dim() != 3 or hx[1].dim() != 3:
                raise RuntimeError("For batched 3-D input, hx and cx should also be 3-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
        else:
            if hx[0].dim() != 2 or hx[1].dim() != 2:
                raise RuntimeError("For unbatched 2-D input, hx and cx should also be 2-D but got "
                                   f"({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx)
        output, h_n, c_n = self._run(input, hx[0], hx[1])
        assert c_n is not None
        if not batched:
            return output.squeeze(batch_dim), (h_n.squeeze(1), c_n.squeeze(1))
        return output, (h_n, c_n)


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
    ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None) -> tuple[Any, Tensor]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward_one_state(input, hx, "GRU", "")
