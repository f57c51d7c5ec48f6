"""``save(obj, f)`` / ``load(f)``: checkpoints that never execute code when loaded.

A checkpoint is a ZIP archive (NumPy's ``.npz`` layout) holding

* ``srcgrad_manifest.json``: the object's structure as tagged JSON (dicts
  with their key types, ``OrderedDict``, ``Counter``, ``defaultdict`` with a
  built-in default factory, lists, tuples, ``Size``, sets, frozensets,
  numbers (``complex`` and NumPy scalars included), strings, bytes, bools,
  ``None``, dtypes, devices, and references to tensors), and
* ``tensors/<k>.npy``: one NumPy array per distinct tensor, written and read
  with ``allow_pickle=False``. NumPy has no bfloat16, so a bfloat16 tensor is
  stored as the ``uint16`` array of its raw 16-bit patterns; the manifest's
  ``"dtype": "bfloat16"`` says how to read them back (format version 3).

Loading parses JSON and reads plain numeric arrays, nothing else: pickles
(``torch.save`` files, ``pickle.dump`` output), object arrays, unknown tags
and malformed archives are refused with an error that says why.

A tensor that is a view with strides other than the contiguous ones of its
shape (``x.t()``, ``x[::2]``, ``x.expand(...)``) is stored densely, with its
strides in the manifest; it loads with those strides (``stride()``,
``is_contiguous()`` and ``view`` answer as for the saved tensor), as its own
storage: views that shared storage when saved do not share it when loaded.

``load`` reads the archive that starts at a stream's current position and
leaves the stream just after it, so checkpoints saved one after the other into
one stream (or appended to one file) load one after the other.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import pickle
import struct
import zipfile
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from . import compiler
from . import dtypes as D
from .device import device as Device
from .tensor import Size, Tensor, tensor

FORMAT = "srcgrad-checkpoint"
VERSION = 3  # 2: Counter, defaultdict, Size, sets, bytes, complex, NumPy scalars; 3: bfloat16 (tensors as uint16
#              bit patterns, the dtype); older files still load, and a file is written with the oldest version that
#              reads it, so a version-2 reader refuses a bfloat16 checkpoint by its version, not by its arrays
MANIFEST = "srcgrad_manifest.json"
_MAX_DEPTH = 200
_NUMERIC_KINDS = "biuf"


class UnpicklingError(pickle.UnpicklingError, RuntimeError):
    """Raised when a file is not a srcgrad checkpoint or does not pass validation. A
    ``pickle.UnpicklingError``, as ``torch.load``'s refusals are, and a ``RuntimeError``."""


# The default factories a saved defaultdict may have: looked up by name when loading, never imported.
_FACTORIES: dict[str, Callable[[], Any]] = {
    f.__name__: f for f in (int, float, complex, bool, str, bytes, bytearray, list, tuple, dict, set, frozenset,
                            OrderedDict, Counter, defaultdict)}
# NumPy scalar types a checkpoint stores exactly (as text), by dtype name.
_NP_SCALARS = {np.dtype(t).name: np.dtype(t).type for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128)}
# Tags that version-1 readers do not know: a manifest that uses one is written as version 2.
_V2_TAGS = frozenset({"counter", "defaultdict", "size", "set", "frozenset", "bytes", "bytearray", "complex", "np"})


# ---------------------------------------------------------------------------
# save


class _Writer:
    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.seen: dict[int, int] = {}
        self.version = 1  # the oldest format version that reads the manifest written so far

    def arrays(self) -> list[np.ndarray]:
        """The tensors' values; pending ones (e.g. the last optimizer update) are computed in one program."""
        pending = [t._node for t in self.tensors if t._node.value is None]
        if pending:
            compiler.realize(pending)
        return [_stored_array(t) for t in self.tensors]

    def encode(self, obj: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"srcgrad.save: object nested deeper than {_MAX_DEPTH} levels")
        out = self._encode(obj, depth)
        if out["t"] in _V2_TAGS:
            self.version = max(self.version, 2)
        if out["t"] == "tensor" and out["dtype"] == "bfloat16" or out["t"] == "dtype" and out["v"] == "bfloat16":
            self.version = 3
        return out

    def _encode(self, obj: Any, depth: int) -> dict:
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, np.generic) and not isinstance(obj, (np.str_, np.bytes_)):
            return self.np_scalar(obj)  # (before float and complex: np.float64 is a float)
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": str(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(obj)}
        if isinstance(obj, complex):
            return {"t": "complex", "v": [repr(obj.real), repr(obj.imag)]}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, (bytes, bytearray)):
            return {"t": "bytearray" if isinstance(obj, bytearray) else "bytes",
                    "v": base64.b64encode(bytes(obj)).decode("ascii")}
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, D.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, Device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, dict):
            return self.mapping(obj, depth)
        if isinstance(obj, Size):
            return {"t": "size", "v": [int(s) for s in obj]}
        if isinstance(obj, (list, tuple)):
            # (other tuple subclasses, namedtuples included, are stored as tuples)
            return {"t": "list" if isinstance(obj, list) else "tuple",
                    "items": [self.encode(v, depth + 1) for v in obj]}
        if isinstance(obj, (set, frozenset)):
            return {"t": "frozenset" if isinstance(obj, frozenset) else "set",
                    "items": [self.encode(v, depth + 1) for v in obj]}
        raise TypeError(f"srcgrad.save cannot store an object of type {type(obj).__name__}: checkpoints hold "
                        "tensors, numbers (complex and NumPy scalars included), strings, bytes, bools, None, "
                        "dtypes, devices, Size, and dicts (OrderedDict, Counter, defaultdict), lists, tuples, "
                        f"sets and frozensets of them; nothing that would run code when loaded{_state_dict_hint(obj)}")

    def mapping(self, obj: dict, depth: int) -> dict:
        items = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]
        if isinstance(obj, Counter):
            return {"t": "counter", "items": items}
        if isinstance(obj, defaultdict):
            factory = obj.default_factory
            if factory is not None and not any(factory is f for f in _FACTORIES.values()):
                raise TypeError(f"srcgrad.save cannot store a defaultdict whose default_factory is {factory!r}: a "
                                "checkpoint would have to run it when loaded. Allowed factories: None, "
                                f"{', '.join(_FACTORIES)}; or save dict(d) instead")
            return {"t": "defaultdict", "factory": None if factory is None else factory.__name__, "items": items}
        # (other dict subclasses are stored as dicts)
        node = {"t": "odict" if isinstance(obj, OrderedDict) else "dict", "items": items}
        metadata = getattr(obj, "_metadata", None)
        if isinstance(metadata, dict):  # a module state dict's per-module versions (as pickle keeps them)
            node["metadata"] = self.encode(metadata, depth + 1)
        return node

    @staticmethod
    def np_scalar(obj: np.generic) -> dict:
        name = obj.dtype.name
        if name not in _NP_SCALARS:  # (np.longlong loads as np.int64: the same dtype)
            raise TypeError(f"srcgrad.save cannot store a NumPy scalar of type {type(obj).__name__}: checkpoints "
                            f"hold NumPy scalars of types {', '.join(_NP_SCALARS)}")
        kind = obj.dtype.kind
        v: Any = (bool(obj) if kind == "b" else str(int(obj)) if kind in "iu" else
                  repr(float(obj)) if kind == "f" else [repr(float(obj.real)), repr(float(obj.imag))])
        return {"t": "np", "dtype": name, "v": v}

    def tensor(self, t: Tensor) -> dict:
        from .nn.parameter import Parameter
        key = self.seen.get(id(t))
        if key is None:
            key = self.seen[id(t)] = len(self.tensors)
            self.tensors.append(t)
        out = {"t": "tensor", "key": key, "dtype": t.dtype.name, "shape": list(t.shape),
               "requires_grad": bool(t.requires_grad), "parameter": isinstance(t, Parameter),
               "device": str(t.device)}
        strides = [int(s) for s in t.stride()]
        if strides != _dense_strides(list(t.shape)):  # a view (x.t(), x[::2], x.expand(...)): keep its strides
            out["stride"] = strides
        return out


def _stored_array(t: Tensor) -> np.ndarray:
    """A tensor's values as the array its checkpoint holds: bfloat16 as the uint16 array of its bit patterns
    (a .npy file of ml_dtypes' bfloat16 would be an opaque void type that loading must refuse)."""
    arr = np.asarray(t._value())
    return arr.view(np.uint16) if t.dtype is D.bfloat16 else arr


def _dense_strides(shape: list) -> list:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return out[::-1]


def save(obj: Any, f: str | os.PathLike | IO[bytes], pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` (tensors, state dicts, nested containers of plain values) to a path or binary file.
    A file object is written from its current position, so several checkpoints can follow each other."""
    if pickle_module is not None:
        raise ValueError("srcgrad.save does not use pickle; pickle_module is not supported")
    if isinstance(f, (str, os.PathLike)):
        parent = os.path.dirname(os.fsdecode(f))
        if parent and not os.path.isdir(parent):
            raise RuntimeError(f"Parent directory {parent} does not exist.")
    writer = _Writer()
    root = writer.encode(obj)
    manifest = {"format": FORMAT, "version": writer.version, "root": root, "tensors": len(writer.tensors)}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(MANIFEST, json.dumps(manifest, allow_nan=False))
        for k, arr in enumerate(writer.arrays()):
            with z.open(f"tensors/{k}.npy", "w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)
    data = buffer.getvalue()
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            fh.write(data)
    else:
        f.write(data)


# ---------------------------------------------------------------------------
# load


def _refuse(msg: str) -> UnpicklingError:
    return UnpicklingError(f"srcgrad.load: {msg}")


def _sniff(head: bytes) -> None:
    """Name the kind of file when it is not a ZIP archive."""
    if head.startswith(b"PK"):
        return
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}", b"c"):
        raise _refuse("this looks like a pickle file (e.g. written by torch.save's legacy format or "
                      "pickle.dump). srcgrad refuses pickles because loading one can run arbitrary code; "
                      "convert it to a state dict of tensors and save it with srcgrad.save")
    if head.startswith(b"\x93NUMPY"):
        raise _refuse("this is a bare .npy array, not a srcgrad checkpoint; read it with "
                      "numpy.load(path, allow_pickle=False) and srcgrad.from_numpy")
    raise _refuse("not a srcgrad checkpoint (not a ZIP archive)")


class _Reader:
    def __init__(self, z: zipfile.ZipFile, n_tensors: int, map_location: Any) -> None:
        self.z = z
        self.n = n_tensors
        self.map_location = map_location
        self.cache: dict[int, tuple[tuple, Tensor]] = {}  # key -> (declared description, tensor)

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise _refuse(f"manifest nested deeper than {_MAX_DEPTH} levels")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise _refuse(f"malformed manifest entry: {str(node)[:80]!r}")
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return self._typed(node, bool)
        if t == "int":
            v = self._typed(node, str)
            try:
                return int(v)
            except ValueError:
                raise _refuse(f"bad integer {v[:40]!r} in manifest") from None
        if t == "float":
            return self._float(self._typed(node, str))
        if t == "str":
            return self._typed(node, str)
        if t == "dtype":
            return self._dtype(self._typed(node, str))
        if t == "device":
            return Device(self._typed(node, str))
        if t in ("list", "tuple"):
            items = self._items(node)
            out = [self.decode(v, depth + 1) for v in items]
            return out if t == "list" else tuple(out)
        if t in ("set", "frozenset"):
            members = [self._hashable(self.decode(v, depth + 1), "set member") for v in self._items(node)]
            return set(members) if t == "set" else frozenset(members)
        if t in ("dict", "odict", "counter", "defaultdict"):
            out_d: dict
            if t == "defaultdict":
                name = node.get("factory")
                if name is not None and (type(name) is not str or name not in _FACTORIES):
                    raise _refuse(f"defaultdict with unknown default factory {str(name)[:40]!r} in manifest")
                out_d = defaultdict(None if name is None else _FACTORIES[name])
            else:
                out_d = {"dict": dict, "odict": OrderedDict, "counter": Counter}[t]()
            for pair in self._items(node):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _refuse("malformed dict entry in manifest")
                k = self._hashable(self.decode(pair[0], depth + 1), "dict key")
                out_d[k] = self.decode(pair[1], depth + 1)
            if "metadata" in node and t == "odict":
                metadata = self.decode(node["metadata"], depth + 1)
                if not isinstance(metadata, dict):
                    raise _refuse("malformed state-dict metadata in manifest")
                out_d._metadata = metadata  # type: ignore[attr-defined]
            return out_d
        if t == "size":
            v = node.get("v")
            if not isinstance(v, list) or not all(type(s) is int for s in v):
                raise _refuse("malformed size entry in manifest")
            return Size(v)
        if t == "complex":
            v = node.get("v")
            if not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, str) for x in v):
                raise _refuse("malformed complex entry in manifest")
            return complex(self._float(v[0]), self._float(v[1]))
        if t in ("bytes", "bytearray"):
            try:
                raw = base64.b64decode(self._typed(node, str), validate=True)
            except (binascii.Error, ValueError):
                raise _refuse(f"malformed {t} entry in manifest (not base64)") from None
            return raw if t == "bytes" else bytearray(raw)
        if t == "np":
            return self._np_scalar(node)
        if t == "tensor":
            return self._tensor(node)
        raise _refuse(f"unknown entry type {t[:40]!r} in manifest (a newer or foreign format?)")

    @staticmethod
    def _typed(node: dict, kind: type) -> Any:
        v = node.get("v")
        if type(v) is not kind:
            raise _refuse(f"malformed {node.get('t')} entry in manifest")
        return v

    @staticmethod
    def _float(v: str) -> float:
        try:
            return float(v)
        except ValueError:
            raise _refuse(f"bad float {v[:40]!r} in manifest") from None

    @staticmethod
    def _hashable(v: Any, what: str) -> Any:
        try:
            hash(v)
        except TypeError:
            raise _refuse(f"unhashable {what} in manifest") from None
        return v

    def _np_scalar(self, node: dict) -> Any:
        name, v = node.get("dtype"), node.get("v")
        kind_of = _NP_SCALARS.get(name) if isinstance(name, str) else None
        if kind_of is None:
            raise _refuse(f"unknown NumPy scalar type {str(name)[:40]!r} in manifest")
        kind = np.dtype(kind_of).kind
        ok = (type(v) is bool if kind == "b" else isinstance(v, str) if kind in "iuf" else
              isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v))
        if not ok:
            raise _refuse(f"malformed NumPy {name} entry in manifest")
        if kind == "b":
            return kind_of(v)
        if kind == "f":
            return kind_of(self._float(v))
        if kind == "c":
            return kind_of(complex(self._float(v[0]), self._float(v[1])))
        try:
            i = int(v)
        except ValueError:
            raise _refuse(f"bad integer {v[:40]!r} in manifest") from None
        info = np.iinfo(kind_of)
        if not info.min <= i <= info.max:
            raise _refuse(f"integer {v[:40]} out of range for NumPy {name} in manifest")
        return kind_of(i)

    @staticmethod
    def _items(node: dict) -> list:
        items = node.get("items")
        if not isinstance(items, list):
            raise _refuse(f"malformed {node.get('t')} entry in manifest")
        return items

    @staticmethod
    def _dtype(name: str) -> D.dtype:
        for d in D.ALL:
            if d.name == name:
                return d
        raise _refuse(f"unknown dtype {name[:40]!r}")

    def _device(self, saved: str) -> Any:
        loc = self.map_location
        if loc is None or callable(loc):
            want = saved
        elif isinstance(loc, dict):
            want = loc.get(saved, saved)
        elif isinstance(loc, (str, Device)):
            want = loc
        else:
            raise TypeError(f"map_location must be None, a str, a device, a dict or a callable, not "
                            f"{type(loc).__name__}")
        if isinstance(want, str) and want.startswith("cuda") and not _cuda_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but srcgrad.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use srcgrad.load with "
                               "map_location='cpu' to map your storages to the CPU.")
        try:
            return Device(want)
        except RuntimeError as e:
            raise _refuse(f"bad device {str(want)[:40]!r} ({e})") from None

    def _tensor(self, node: dict) -> Tensor:
        key = node.get("key")
        if type(key) is not int or not 0 <= key < self.n:
            raise _refuse("tensor entry refers to a missing array")
        dt = self._dtype(node.get("dtype") if isinstance(node.get("dtype"), str) else "?")
        shape = node.get("shape")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise _refuse("malformed tensor shape in manifest")
        strides = node.get("stride")
        if strides is not None and (not isinstance(strides, list) or len(strides) != len(shape)
                                    or not all(type(s) is int and s >= 0 for s in strides)):
            raise _refuse("malformed tensor stride in manifest")
        declared = (dt.name, shape, node.get("device", "cpu"), node.get("parameter") is True,
                    node.get("requires_grad") is True, strides)
        cached = self.cache.get(key)
        if cached is not None:
            first, out = cached
            if declared != first:
                raise _refuse(f"two tensor entries share array tensors/{key}.npy but declare different tensors "
                              f"({_describe(first)} and {_describe(declared)}): a shared tensor is stored once "
                              "with one description, so the manifest does not check out")
            return out
        try:
            with self.z.open(f"tensors/{key}.npy") as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
        except KeyError:
            raise _refuse(f"array tensors/{key}.npy is missing from the archive") from None
        except ValueError as e:
            raise _refuse(f"array tensors/{key}.npy is not a plain numeric array ({e})") from None
        if arr.dtype.kind not in _NUMERIC_KINDS or arr.dtype.hasobject:
            raise _refuse(f"array tensors/{key}.npy has dtype {arr.dtype}, not a tensor dtype")
        if dt is D.bfloat16:  # stored as its 16-bit patterns
            if arr.dtype != np.uint16:
                raise _refuse(f"array tensors/{key}.npy is {arr.dtype}{list(arr.shape)} but a bfloat16 tensor is "
                              "stored as uint16 bit patterns")
            arr = arr.view(D.bfloat16.np)
        if arr.dtype != dt.np or list(arr.shape) != shape:
            raise _refuse(f"array tensors/{key}.npy is {arr.dtype}{list(arr.shape)} but the manifest says "
                          f"{dt.name}{shape}")
        saved_device = node.get("device", "cpu")
        if not isinstance(saved_device, str):
            raise _refuse("malformed device in manifest")
        dev = self._device(saved_device)
        out = tensor(arr, dtype=dt, device=dev)
        if node.get("parameter") is True:
            from .nn.parameter import Parameter
            out = Parameter(out, requires_grad=node.get("requires_grad") is True)
        elif node.get("requires_grad") is True and dt.is_floating_point:
            out.requires_grad_(True)
        if strides is not None:
            _restore_strides(out, tuple(strides))
        if callable(self.map_location):
            mapped = self.map_location(out, saved_device)
            out = mapped if isinstance(mapped, Tensor) else out
        self.cache[key] = (declared, out)
        return out


def _restore_strides(t: Tensor, strides: tuple) -> None:
    """Give a loaded tensor the strides it was saved with (those of a view: ``x.t()``, ``x[::2]``), so that
    ``stride()``, ``is_contiguous()`` and ``view`` answer as for the saved tensor. The values are stored
    densely either way; a srcgrad whose tensors keep no strides of their own loads them contiguous."""
    try:
        t._st = strides  # tensor.py: a tuple of ints in ``_st`` is the tensor's strides
    except AttributeError:
        pass


def _describe(declared: tuple) -> str:
    dtype, shape, device, parameter, requires_grad, strides = declared
    text = f"{dtype}{shape} on {str(device)[:40]}"
    if strides is not None:
        text += f" with strides {strides}"
    if parameter:
        text += ", a Parameter"
    if requires_grad:
        text += ", requires_grad"
    return text


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read an object written by ``save``. ``map_location`` (a device, a string, or a dict from saved to
    wanted device names) places every tensor. Never unpickles and never runs code from the file.

    A file object is read from its current position: the checkpoint that starts there is loaded and the
    file is left just after it, so checkpoints saved one after another into one stream load in turn (a
    path loads the first checkpoint in the file). An empty stream, or one at its end, raises ``EOFError``
    as ``torch.load`` does."""
    if pickle_module is not None:
        raise ValueError("srcgrad.load does not use pickle; pickle_module is not supported")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
        return _load_bytes(data, map_location, weights_only)[0]
    start = _tell(f)
    data = f.read()
    data = b"" if data is None else bytes(data)  # (None: a non-blocking stream with nothing to read)
    try:
        obj, end = _load_bytes(data, map_location, weights_only)
    except BaseException:
        if start is not None:
            f.seek(start)  # (a refused file is left as it was found)
        raise
    if start is not None:
        f.seek(start + end)
    return obj


def _tell(f: Any) -> int | None:
    """The position of a seekable file object, None for a stream that cannot seek back."""
    try:
        seekable = getattr(f, "seekable", None)
        if seekable is None or seekable():
            return f.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _load_bytes(data: bytes, map_location: Any, weights_only: bool | None) -> tuple[Any, int]:
    """The object in the checkpoint at the start of ``data``, and where that checkpoint ends."""
    if not data:  # torch.load's EOFError (its message depends on the unpickler it would have used)
        raise EOFError("Ran out of input" if weights_only is False else "")
    _sniff(data[:8])
    end = _archive_end(data)
    try:
        z = zipfile.ZipFile(io.BytesIO(data if end is None else data[:end]))
    except zipfile.BadZipFile as e:
        raise _refuse(f"not a srcgrad checkpoint (broken ZIP archive: {e})") from None
    with z:
        if end is None:
            # The archive could not be walked record by record (sizes in data descriptors, say), so zipfile
            # found it from the last end-of-central-directory record. Accept it only if it starts where
            # the data does: never load a later archive in place of the first.
            infos = z.infolist()
            if infos and min(i.header_offset for i in infos) > 0:
                raise _refuse("the data holds more than one ZIP archive and the first one cannot be "
                              "delimited; srcgrad will not load a later archive in its place")
            end = len(data)
        return _read_archive(z, map_location, weights_only), end


def _read_archive(z: zipfile.ZipFile, map_location: Any, weights_only: bool | None = None) -> Any:
    names = set(z.namelist())
    if MANIFEST not in names:
        from . import torch_checkpoint
        if torch_checkpoint.is_torch_checkpoint(z):
            # A torch.save archive: read by an allow-list unpickler that never runs code from the file,
            # whatever weights_only says (weights_only=False only adds to a refusal that it changes nothing).
            return torch_checkpoint.load_torch_checkpoint(z, map_location, weights_only=weights_only)
        hint = " (it looks like a torch.save archive, which holds a pickle)" \
            if any(n.endswith("data.pkl") for n in names) else ""
        raise _refuse(f"not a srcgrad checkpoint: no {MANIFEST} in the archive{hint}")
    try:
        manifest = json.loads(z.read(MANIFEST).decode("utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise _refuse("manifest nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise _refuse(f"unreadable manifest ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("not a srcgrad checkpoint (wrong format tag in the manifest)")
    version = manifest.get("version")
    if type(version) is not int or version > VERSION:
        raise _refuse(f"checkpoint format version {version!r} is newer than this srcgrad reads ({VERSION})")
    n = manifest.get("tensors")
    if type(n) is not int or n < 0:
        raise _refuse("malformed manifest (tensor count)")
    reader = _Reader(z, n, map_location)
    try:
        return reader.decode(manifest.get("root"))
    except RecursionError:
        raise _refuse("manifest nested too deeply") from None


_LOCAL_HEADER, _CENTRAL_HEADER = b"PK\x03\x04", b"PK\x01\x02"
_END64_RECORD, _END64_LOCATOR, _END_RECORD = b"PK\x06\x06", b"PK\x06\x07", b"PK\x05\x06"


def _archive_end(data: bytes) -> int | None:
    """Where the ZIP archive that starts at ``data[0]`` ends, found by walking its records in order (local
    file headers and their data, the central directory, the end records), so that a stream holding several
    archives one after another is read one archive at a time. None when the records cannot be walked."""
    pos, n = 0, len(data)
    try:
        while data.startswith(_LOCAL_HEADER, pos):
            flags, = struct.unpack_from("<H", data, pos + 6)
            csize, usize, name_len, extra_len = struct.unpack_from("<IIHH", data, pos + 18)
            if flags & 0x08:  # sizes in a data descriptor after the data
                return None
            if csize == 0xFFFFFFFF:
                extra = data[pos + 30 + name_len:pos + 30 + name_len + extra_len]
                csize = _zip64_compressed_size(extra, usize == 0xFFFFFFFF)
                if csize is None:
                    return None
            pos += 30 + name_len + extra_len + csize
        while data.startswith(_CENTRAL_HEADER, pos):
            name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, pos + 28)
            pos += 46 + name_len + extra_len + comment_len
        if data.startswith(_END64_RECORD, pos):
            size, = struct.unpack_from("<Q", data, pos + 4)
            pos += 12 + size
        if data.startswith(_END64_LOCATOR, pos):
            pos += 20
        if not data.startswith(_END_RECORD, pos):
            return None
        comment_len, = struct.unpack_from("<H", data, pos + 20)
    except struct.error:
        return None
    end = pos + 22 + comment_len
    return end if end <= n else None


def _zip64_compressed_size(extra: bytes, has_size: bool) -> int | None:
    """The compressed size in a local header's ZIP64 extra field (after the size when that is there too)."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            at = i + 4 + (8 if has_size else 0)
            return struct.unpack_from("<Q", extra, at)[0] if at + 8 <= i + 4 + size else None
        i += 4 + size
    return None


# ---------------------------------------------------------------------------
# torch.serialization's allow-list of globals for weights_only unpickling


SafeGlobal = Callable[..., Any] | tuple[Callable[..., Any], str]
_safe_globals: set[SafeGlobal] = set()


def add_safe_globals(safe_globals: list[SafeGlobal]) -> None:
    """Records globals as safe for ``weights_only`` loading, as ``torch.serialization.add_safe_globals``.
    srcgrad never unpickles (a checkpoint is JSON and plain arrays), so nothing ever looks at this list:
    it is kept so that code written for PyTorch runs, and ``get_safe_globals`` returns it."""
    global _safe_globals
    _safe_globals = _safe_globals.union(set(safe_globals))


def get_safe_globals() -> list[SafeGlobal]:
    """The globals recorded by ``add_safe_globals`` (unused by srcgrad, which never unpickles)."""
    return list(_safe_globals)


def clear_safe_globals() -> None:
    """Empties the list that ``add_safe_globals`` records to."""
    global _safe_globals
    _safe_globals = set()


class safe_globals:  # noqa: N801 (torch's name)
    """Context manager that records globals as safe while it is active, as
    ``torch.serialization.safe_globals``; like ``add_safe_globals``, a record only."""

    def __init__(self, safe_globals: list[SafeGlobal]) -> None:
        self.safe_globals = safe_globals

    def __enter__(self) -> None:
        add_safe_globals(self.safe_globals)

    def __exit__(self, *exc: object) -> None:
        global _safe_globals
        _safe_globals = _safe_globals - set(self.safe_globals)


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _cuda_available() -> bool:
    from .device import cuda
    return cuda.is_available()


def _state_dict_hint(obj: Any) -> str:
    """What to save instead of a whole model or optimizer: its state dict."""
    if callable(getattr(obj, "state_dict", None)):
        return (f". Save its state instead: srcgrad.save(obj.state_dict(), path), then "
                f"obj.load_state_dict(srcgrad.load(path)) into a new {type(obj).__name__}")
    return ""
