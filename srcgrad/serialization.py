"""``save(obj, f)`` / ``load(f)``: checkpoints that never execute code when loaded.

A checkpoint is a ZIP archive (NumPy's ``.npz`` layout) holding

* ``srcgrad_manifest.json``: the object's structure as tagged JSON (dicts
  with their key types, lists, tuples, ``OrderedDict``, numbers, strings,
  bools, ``None``, dtypes, devices, and references to tensors), and
* ``tensors/<k>.npy``: one NumPy array per distinct tensor, written and read
  with ``allow_pickle=False``.

Loading parses JSON and reads plain numeric arrays, nothing else: pickles
(``torch.save`` files, ``pickle.dump`` output), object arrays, unknown tags
and malformed archives are refused with an error that says why.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import OrderedDict
from typing import IO, Any

import numpy as np

from . import compiler
from . import dtypes as D
from .device import device as Device
from .tensor import Tensor, tensor

FORMAT = "srcgrad-checkpoint"
VERSION = 1
MANIFEST = "srcgrad_manifest.json"
_MAX_DEPTH = 200
_NUMERIC_KINDS = "biuf"


class UnpicklingError(RuntimeError):
    """Raised when a file is not a srcgrad checkpoint or does not pass validation."""


# ---------------------------------------------------------------------------
# save


class _Writer:
    def __init__(self) -> None:
        self.tensors: list[Tensor] = []
        self.seen: dict[int, int] = {}

    def arrays(self) -> list[np.ndarray]:
        """The tensors' values; pending ones (e.g. the last optimizer update) are computed in one program."""
        pending = [t._node for t in self.tensors if t._node.value is None]
        if pending:
            compiler.realize(pending)
        return [np.asarray(t._value()) for t in self.tensors]

    def encode(self, obj: Any, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise ValueError(f"srcgrad.save: object nested deeper than {_MAX_DEPTH} levels")
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, bool):
            return {"t": "bool", "v": obj}
        if isinstance(obj, int):
            return {"t": "int", "v": str(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": repr(obj)}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, D.dtype):
            return {"t": "dtype", "v": obj.name}
        if isinstance(obj, Device):
            return {"t": "device", "v": str(obj)}
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.encode(obj.item(), depth)
        if isinstance(obj, dict):
            kind = "odict" if isinstance(obj, OrderedDict) else "dict"
            return {"t": kind, "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                         for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            if isinstance(obj, tuple) and type(obj) is not tuple:  # namedtuple, torch.Size ...
                obj = tuple(obj)
            return {"t": "list" if isinstance(obj, list) else "tuple",
                    "items": [self.encode(v, depth + 1) for v in obj]}
        raise TypeError(f"srcgrad.save cannot store an object of type {type(obj).__name__}: checkpoints hold "
                        "tensors, numbers, strings, bools, None, dtypes, devices and dicts/lists/tuples of them")

    def tensor(self, t: Tensor) -> dict:
        from .nn.parameter import Parameter
        key = self.seen.get(id(t))
        if key is None:
            key = self.seen[id(t)] = len(self.tensors)
            self.tensors.append(t)
        return {"t": "tensor", "key": key, "dtype": t.dtype.name, "shape": list(t.shape),
                "requires_grad": bool(t.requires_grad), "parameter": isinstance(t, Parameter),
                "device": str(t.device)}


def save(obj: Any, f: str | os.PathLike | IO[bytes], pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` (tensors, state dicts, nested containers of plain values) to a path or binary file."""
    if pickle_module is not None:
        raise ValueError("srcgrad.save does not use pickle; pickle_module is not supported")
    writer = _Writer()
    manifest = {"format": FORMAT, "version": VERSION, "root": writer.encode(obj), "tensors": len(writer.tensors)}
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
            v = self._typed(node, str)
            try:
                return float(v)
            except ValueError:
                raise _refuse(f"bad float {v[:40]!r} in manifest") from None
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
        if t in ("dict", "odict"):
            out_d: dict = OrderedDict() if t == "odict" else {}
            for pair in self._items(node):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _refuse("malformed dict entry in manifest")
                k = self.decode(pair[0], depth + 1)
                try:
                    hash(k)
                except TypeError:
                    raise _refuse("unhashable dict key in manifest") from None
                out_d[k] = self.decode(pair[1], depth + 1)
            return out_d
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
        declared = (dt.name, shape, node.get("device", "cpu"), node.get("parameter") is True,
                    node.get("requires_grad") is True)
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
        if callable(self.map_location):
            mapped = self.map_location(out, saved_device)
            out = mapped if isinstance(mapped, Tensor) else out
        self.cache[key] = (declared, out)
        return out


def _describe(declared: tuple) -> str:
    dtype, shape, device, parameter, requires_grad = declared
    text = f"{dtype}{shape} on {str(device)[:40]}"
    if parameter:
        text += ", a Parameter"
    if requires_grad:
        text += ", requires_grad"
    return text


def load(f: str | os.PathLike | IO[bytes], map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **pickle_load_args: Any) -> Any:
    """Read an object written by ``save``. ``map_location`` (a device, a string, or a dict from saved to
    wanted device names) places every tensor. Never unpickles and never runs code from the file."""
    if pickle_module is not None:
        raise ValueError("srcgrad.load does not use pickle; pickle_module is not supported")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    _sniff(data[:8])
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as e:
        raise _refuse(f"not a srcgrad checkpoint (broken ZIP archive: {e})") from None
    with z:
        names = set(z.namelist())
        if MANIFEST not in names:
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _cuda_available() -> bool:
    from .device import cuda
    return cuda.is_available()
