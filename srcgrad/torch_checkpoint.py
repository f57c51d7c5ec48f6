"""Read PyTorch checkpoints (``torch.save`` files) without running code from them.

The format
----------
Since PyTorch 1.6, ``torch.save(obj, f)`` writes a ZIP archive (stored, not compressed) whose entries all
lie under one top-level folder, ``<archive>/`` (the file's base name, or ``archive`` for a stream):

* ``<archive>/data.pkl``: ``obj`` pickled (protocol 2 by default). Tensors are pickled as calls of
  ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks)``
  (``_rebuild_tensor_v3(..., dtype)`` for dtypes without a typed storage class), Parameters as
  ``torch._utils._rebuild_parameter(tensor, requires_grad, hooks)``, and each storage as a *persistent
  id* ``('storage', torch.FloatStorage, key, location, numel)``: the storage's bytes are not in the
  pickle but in
* ``<archive>/data/<key>``: the raw bytes of storage ``key`` (``numel`` elements, in the byte order that
  ``<archive>/byteorder`` names, ``little`` when that entry is missing). ``location`` is the device the
  storage was on when saved (``cpu``, ``cuda:0``).
* ``<archive>/version`` (or ``<archive>/.data/version``), ``.data/serialization_id``,
  ``.format_version``, ``.storage_alignment``: bookkeeping, not needed to read the data.

The safety rule
---------------
Unpickling runs whatever callables the pickle names, so a ``torch.save`` file can run arbitrary code in
``torch.load(..., weights_only=False)`` or ``pickle.load``. This module reads ``data.pkl`` the way
PyTorch's ``weights_only=True`` unpickler does, and stricter: its ``find_class`` resolves only the
globals of an explicit allow-list (``collections.OrderedDict`` and ``Counter``, the tensor and
Parameter rebuild functions, the typed storage classes, dtypes, ``torch.Size``, ``torch.device``, and
the built-ins ``set``, ``frozenset``, ``complex``, ``slice``, ``bytes``/``bytearray`` as protocol 2
pickles them), each mapped to a small stand-in defined here; PyTorch itself is never imported. Any other
global raises ``pickle.UnpicklingError`` naming it (``Unsupported global: GLOBAL os.system``), before it
is looked up, so nothing from the file is imported or called. The ``BUILD`` opcode (which sets an
object's attributes) is allowed on ``OrderedDict`` only, as PyTorch allows it (a state dict's
``_metadata``). Storage reads are checked against the sizes the pickle declares, and a tensor's offset,
size and stride against its storage, before any memory is touched.

Tensors are rebuilt as srcgrad tensors (``nn.Parameter`` for Parameters) with their own copy of the
values; views that shared a storage in the file do not share memory once loaded (as with
``srcgrad.load``), but a non-contiguous tensor keeps its strides (``stride()``, ``is_contiguous()``).
Only the ZIP format is read: the legacy format (``_use_new_zipfile_serialization=False`` and PyTorch
before 1.6) and TorchScript archives (``torch.jit.save``) are refused with an error that says so.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import zipfile
from collections import Counter, OrderedDict
from typing import IO, Any

import numpy as np

from . import dtypes as D
from .device import device as Device
from .serialization import UnpicklingError, _restore_strides
from .tensor import Size, Tensor, _dense_strides, _tensor

__all__ = ["is_torch_checkpoint", "load_torch_checkpoint"]

Source = str | os.PathLike | IO[bytes] | bytes | bytearray | zipfile.ZipFile

# torch's dtype names (as ``torch.<name>`` globals) for the dtypes srcgrad has.
_DTYPES: dict[str, D.dtype] = {
    "float32": D.float32, "float": D.float32, "float64": D.float64, "double": D.float64,
    "float16": D.float16, "half": D.float16, "bfloat16": D.bfloat16, "int64": D.int64, "long": D.int64,
    "int32": D.int32, "int": D.int32, "int16": D.int16, "short": D.int16, "int8": D.int8, "uint8": D.uint8,
    "bool": D.bool_}
# torch's typed storage classes (``torch.<Name>Storage``) for those dtypes.
_STORAGES: dict[str, D.dtype] = {
    "FloatStorage": D.float32, "DoubleStorage": D.float64, "HalfStorage": D.float16,
    "BFloat16Storage": D.bfloat16, "LongStorage": D.int64, "IntStorage": D.int32, "ShortStorage": D.int16,
    "CharStorage": D.int8, "ByteStorage": D.uint8, "BoolStorage": D.bool_}
# torch dtypes and storages srcgrad has no dtype for: refused by name, with the reason.
_FOREIGN_DTYPES = ("complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint16", "uint32",
                   "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
                   "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2", "quint2x4")
_FOREIGN_STORAGES = ("ComplexFloatStorage", "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage",
                     "QInt32Storage", "QUInt4x2Storage", "QUInt2x4Storage")
_BUILTIN_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}  # protocol-2 names of Python 2


# ---------------------------------------------------------------------------
# stand-ins for the allowed globals


class _StorageType:
    """Stands in for ``torch.FloatStorage`` and the like (``dtype``), or ``torch.UntypedStorage`` (bytes)."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: D.dtype | None) -> None:
        self.name = name
        self.dtype = dtype  # None: untyped, ``numel`` counts bytes

    def __repr__(self) -> str:
        return f"torch.{self.name}"


class _Storage:
    """A storage read from ``data/<key>``: a flat, read-only NumPy array, and where its tensors go.

    A ``map_location`` callable receives one (with the saved location) as PyTorch's receives a storage;
    ``cpu()``, ``cuda(i)`` and ``to(device)`` return it with another destination."""

    __slots__ = ("array", "location", "key", "target")

    def __init__(self, array: np.ndarray, location: str, key: str, target: Any = None) -> None:
        self.array = array
        self.location = location  # where it was saved
        self.key = key
        self.target = target  # the srcgrad device its tensors are placed on

    @property
    def device(self) -> Any:
        return self.target

    def nbytes(self) -> int:
        return self.array.nbytes

    def size(self) -> int:
        return self.array.size

    def to(self, device: Any) -> _Storage:
        return _Storage(self.array, self.location, self.key, Device(device))

    def cpu(self) -> _Storage:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> _Storage:
        index = device.index if isinstance(device, Device) else device
        return self.to("cuda" if index is None else f"cuda:{int(index)}")

    def __repr__(self) -> str:
        return f"<storage {self.key} of {self.array.size} x {self.array.dtype} saved on {self.location}>"


class _TensorClass:
    """Stands in for ``torch.Tensor`` / ``torch.nn.Parameter`` as ``_rebuild_from_type_v2``'s type."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_TENSOR_CLASS = _TensorClass("torch.Tensor")
_PARAMETER_CLASS = _TensorClass("torch.nn.Parameter")


def _check_layout(storage: Any, storage_offset: Any, size: Any, stride: Any) -> tuple[int, tuple, tuple]:
    if not isinstance(storage, _Storage):
        raise _refuse(f"a tensor's storage is a {type(storage).__name__}, not a storage of the archive")
    if isinstance(size, Size):
        size = tuple(size)
    if (type(storage_offset) is not int or not isinstance(size, tuple) or not isinstance(stride, tuple)
            or len(size) != len(stride) or not all(type(s) is int for s in size + stride)):
        raise _refuse(f"malformed tensor layout (offset {storage_offset!r}, size {size!r}, stride {stride!r})")
    if storage_offset < 0 or any(s < 0 for s in size + stride):
        raise _refuse(f"negative tensor offset, size or stride ({storage_offset}, {size}, {stride})")
    if all(size):
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= storage.array.size:
            raise _refuse(f"tensor of size {list(size)}, stride {list(stride)} at offset {storage_offset} reaches "
                          f"element {last} of storage data/{storage.key}, which holds {storage.array.size}")
    return storage_offset, size, stride


def _make_tensor(array: np.ndarray, storage: _Storage, storage_offset: int, size: tuple, stride: tuple,
                 requires_grad: Any) -> Tensor:
    dt = D.from_numpy_dtype(array.dtype)
    if all(size):
        item = array.itemsize
        values = np.lib.stride_tricks.as_strided(array[storage_offset:], shape=size,
                                                 strides=tuple(s * item for s in stride), writeable=False)
        values = np.array(values, order="C")  # (a copy: never a view of the file's buffer; 0-d stays 0-d)
    else:
        values = np.zeros(size, dtype=array.dtype)
    out = _tensor(values, dtype=dt, device=storage.target)
    if requires_grad is True:
        if not dt.is_floating_point:
            raise _refuse(f"a {dt.name} tensor cannot require grad")
        out.requires_grad_(True)
    _keep_strides(out, size, stride)
    return out


def _keep_strides(t: Tensor, size: tuple, stride: tuple) -> None:
    if all(size) and len(size) and stride != _dense_strides(size):
        _restore_strides(t, stride)


def _rebuild_tensor_v2(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, metadata: Any = None) -> Tensor:
    """``torch._utils._rebuild_tensor_v2``: a tensor on a typed storage."""
    storage_offset, size, stride = _check_layout(storage, storage_offset, size, stride)
    return _make_tensor(storage.array, storage, storage_offset, size, stride, requires_grad)


def _rebuild_tensor_v3(storage: Any, storage_offset: Any, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, dtype: Any, metadata: Any = None) -> Tensor:
    """``torch._utils._rebuild_tensor_v3``: a tensor of ``dtype`` on an untyped (byte) storage."""
    if not isinstance(dtype, D.dtype) or not isinstance(storage, _Storage):
        raise _refuse(f"malformed _rebuild_tensor_v3 call (dtype {dtype!r})")
    raw = storage.array
    if raw.dtype != np.uint8 or raw.size % dtype.itemsize:
        raise _refuse(f"storage data/{storage.key} ({raw.size} x {raw.dtype}) cannot be read as {dtype.name}")
    typed = _Storage(_as_dtype(raw, dtype), storage.location, storage.key, storage.target)
    storage_offset, size, stride = _check_layout(typed, storage_offset, size, stride)
    return _make_tensor(typed.array, typed, storage_offset, size, stride, requires_grad)


def _rebuild_meta_tensor_no_storage(dtype: Any, size: Any, stride: Any, requires_grad: Any) -> Tensor:
    """``torch._utils._rebuild_meta_tensor_no_storage``: a tensor on the meta device (no values)."""
    from .tensor import empty
    if not isinstance(dtype, D.dtype) or not isinstance(size, tuple) or not all(type(s) is int and s >= 0
                                                                                for s in size):
        raise _refuse(f"malformed meta tensor (dtype {dtype!r}, size {size!r})")
    out = empty(size, dtype=dtype, device="meta")
    if requires_grad is True and dtype.is_floating_point:
        out.requires_grad_(True)
    return out


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any) -> Tensor:
    """``torch._utils._rebuild_parameter``: an ``nn.Parameter`` around a rebuilt tensor."""
    from .nn.parameter import Parameter
    if not isinstance(data, Tensor):
        raise _refuse(f"a Parameter's data is a {type(data).__name__}, not a tensor")
    st = getattr(data, "_st", None)
    st = st if isinstance(st, tuple) and st and all(type(s) is int for s in st) else None
    if requires_grad is True and not data.dtype.is_floating_point:
        raise _refuse(f"a {data.dtype.name} Parameter cannot require grad")
    out = Parameter(data, requires_grad=requires_grad is True)
    if st is not None:
        _restore_strides(out, st)
    return out


def _rebuild_parameter_with_state(data: Any, requires_grad: Any, backward_hooks: Any, state: Any) -> Tensor:
    """``torch._utils._rebuild_parameter_with_state``: the Python attributes in ``state`` are dropped."""
    return _rebuild_parameter(data, requires_grad, backward_hooks)


_REBUILD_FUNCTIONS = (_rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_meta_tensor_no_storage)


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Tensor:
    """``torch._tensor._rebuild_from_type_v2``: a tensor with Python attributes (dropped) or a Parameter."""
    if func not in _REBUILD_FUNCTIONS or not isinstance(args, tuple) or new_type not in (_TENSOR_CLASS,
                                                                                        _PARAMETER_CLASS):
        raise _refuse(f"unsupported tensor subclass rebuild ({func!r}, {new_type!r})")
    out = func(*args)
    if new_type is _PARAMETER_CLASS:
        out = _rebuild_parameter(out, out.requires_grad, None)
    return out


def _torch_device(*args: Any) -> Device:
    """``torch.device(type[, index])``: the srcgrad device of that name."""
    if not 1 <= len(args) <= 2 or not isinstance(args[0], str) or len(args) == 2 and type(args[1]) is not int:
        raise _refuse(f"malformed torch.device{args!r}")
    try:
        return Device(*args)
    except RuntimeError as e:
        raise _refuse(f"the checkpoint holds torch.device{args!r}, which srcgrad cannot make here ({e})") from None


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode(text, "latin1")``: how protocol 2 pickles ``bytes``; only that use is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _refuse("_codecs.encode is allowed only as protocol 2 uses it for bytes (a str and 'latin1')")
    return text.encode("latin1")


def _bytes(*args: Any) -> bytes:
    if args and not isinstance(args[0], (bytes, bytearray, str)):  # (bytes(n) would allocate n bytes)
        raise _refuse(f"builtins.bytes is allowed only on bytes or text, not {type(args[0]).__name__}")
    return bytes(*args)


def _bytearray(*args: Any) -> bytearray:
    if args and not isinstance(args[0], (bytes, bytearray, str)):
        raise _refuse(f"builtins.bytearray is allowed only on bytes or text, not {type(args[0]).__name__}")
    return bytearray(*args)


def _allowed_globals() -> dict[str, Any]:
    allowed: dict[str, Any] = {
        "collections.OrderedDict": OrderedDict,
        "collections.Counter": Counter,
        "builtins.set": set,
        "builtins.frozenset": frozenset,
        "builtins.complex": complex,
        "builtins.slice": slice,
        "builtins.bytes": _bytes,
        "builtins.bytearray": _bytearray,
        "_codecs.encode": _codecs_encode,
        "torch.Size": Size,
        "torch.device": _torch_device,
        "torch.Tensor": _TENSOR_CLASS,
        "torch.nn.parameter.Parameter": _PARAMETER_CLASS,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": _rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter_with_state,
        "torch._utils._rebuild_meta_tensor_no_storage": _rebuild_meta_tensor_no_storage,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": _StorageType("UntypedStorage", None),
        "torch.UntypedStorage": _StorageType("UntypedStorage", None),
    }
    allowed.update({f"torch.{name}": dt for name, dt in _DTYPES.items()})
    allowed.update({f"torch.{name}": _StorageType(name, dt) for name, dt in _STORAGES.items()})
    return allowed


_ALLOWED = _allowed_globals()


# ---------------------------------------------------------------------------
# the unpickler


def _refuse(msg: str) -> UnpicklingError:
    return UnpicklingError(f"srcgrad.load: {msg}")


def _unsupported(full: str, weights_only: bool | None) -> UnpicklingError:
    name = full.rpartition(".")[2]
    if full.startswith("torch.") and name in _FOREIGN_DTYPES + _FOREIGN_STORAGES:
        return _refuse(f"Weights only load failed: this torch.save archive holds GLOBAL {full}, a dtype srcgrad "
                       f"does not have (it has {', '.join(d.name for d in D.ALL)}); convert those tensors in "
                       "PyTorch (e.g. .float()) and save again")
    msg = (f"Weights only load failed: Unsupported global: GLOBAL {full[:200]}. srcgrad reads a torch.save archive "
           "without running code: only tensors, Parameters, dtypes, devices, torch.Size, OrderedDict/Counter "
           "and plain Python values (numbers, strings, bytes, lists, tuples, dicts, sets) may appear in it, "
           "as with torch.load(..., weights_only=True)")
    if weights_only is False:
        msg += (". weights_only=False does not change this: srcgrad never unpickles arbitrary objects. If you "
                "trust the file, load it with torch.load(..., weights_only=False) in PyTorch and save a state "
                "dict of tensors")
    return _refuse(msg)


class _Unpickler(pickle._Unpickler):
    """``pickle``'s Python unpickler with an allow-list ``find_class``, storages read from the archive by
    ``persistent_load``, and ``BUILD`` restricted to ``OrderedDict`` (PyTorch's ``weights_only`` rules)."""

    def __init__(self, data: bytes, archive: _Archive, weights_only: bool | None) -> None:
        super().__init__(io.BytesIO(data), encoding="utf-8")
        self.archive = archive
        self.weights_only = weights_only

    def find_class(self, module: str, name: str) -> Any:
        module = _BUILTIN_MODULES.get(module, module)
        full = f"{module}.{name}"
        try:
            return _ALLOWED[full]
        except (KeyError, TypeError):
            raise _unsupported(full, self.weights_only) from None

    def persistent_load(self, pid: Any) -> _Storage:
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[3], str) or type(pid[4]) is not int or pid[4] < 0):
            raise _refuse(f"unsupported persistent id {str(pid)[:120]} in data.pkl (a storage is "
                          "('storage', storage_type, key, location, numel))")
        _, storage_type, key, location, numel = pid
        return self.archive.storage(key, storage_type, location, numel)

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) is not OrderedDict:
            raise _refuse(f"Weights only load failed: can only BUILD an OrderedDict, not a {type(inst).__name__}")
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]
        if not isinstance(state, dict) or not all(type(k) is str for k in state):
            raise _refuse("malformed OrderedDict state in data.pkl")
        inst.__dict__.update(state)

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.BUILD[0]] = _load_build


# ---------------------------------------------------------------------------
# the archive


def _as_dtype(raw: np.ndarray, dt: D.dtype) -> np.ndarray:
    """A flat uint8 array's bytes as elements of ``dt``."""
    if dt is D.bool_:
        return raw != 0  # (any nonzero byte is True, as in PyTorch)
    return raw.view(dt.np)


class _PassThrough(Exception):  # noqa: N818 (a carrier, not an error of its own)
    """Carries an exception out of the unpickler unchanged (``load_torch_checkpoint`` re-raises it)."""


class _Archive:
    def __init__(self, z: zipfile.ZipFile, prefix: str, map_location: Any) -> None:
        if not (map_location is None or callable(map_location) or isinstance(map_location, (str, Device, dict))):
            raise TypeError(f"map_location must be None, a str, a device, a dict or a callable, not "
                            f"{type(map_location).__name__}")
        self.z = z
        self.prefix = prefix
        self.map_location = map_location
        self.storages: dict[str, _Storage] = {}
        order = self._read(f"{prefix}/byteorder", 16) if f"{prefix}/byteorder" in z.NameToInfo else b"little"
        if order not in (b"little", b"big"):
            raise _refuse(f"unknown byte order {order[:16]!r} in {prefix}/byteorder")
        self.swap = order.decode() != sys.byteorder

    def _read(self, name: str, size: int) -> bytes:
        info = self.z.NameToInfo.get(name)
        if info is None:
            raise _refuse(f"{name} is missing from the archive")
        if info.file_size != size and not name.endswith("/byteorder"):
            raise _refuse(f"{name} holds {info.file_size} bytes but data.pkl declares {size}")
        try:
            data = self.z.read(info)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
            raise _refuse(f"cannot read {name} ({type(e).__name__}: {e})") from None
        if len(data) != info.file_size:
            raise _refuse(f"{name} is truncated")
        return data.strip() if name.endswith("/byteorder") else data

    def storage(self, key: str, storage_type: _StorageType, location: str, numel: int) -> _Storage:
        cached = self.storages.get(key)
        dt = storage_type.dtype or D.uint8
        if cached is not None:
            if cached.array.dtype != dt.np or cached.array.size != numel:
                raise _refuse(f"storage data/{key} is declared twice with different types or sizes")
            return cached
        raw = np.frombuffer(self._read(f"{self.prefix}/data/{key}", numel * dt.itemsize), dtype=np.uint8)
        if self.swap and dt.itemsize > 1:
            raw = raw.reshape(-1, dt.itemsize)[:, ::-1].reshape(-1)
        out = _Storage(_as_dtype(raw, dt), location, key)
        try:
            out.target = self._place(out)
        except Exception as e:  # (map_location's own errors, raised as they are, not as malformed data)
            raise _PassThrough(e) from e
        self.storages[key] = out
        return out

    def _place(self, storage: _Storage) -> Device:
        """The srcgrad device a storage saved at ``storage.location`` goes to, as ``map_location`` says."""
        loc = self.map_location
        saved = storage.location
        if loc is None:
            want: Any = saved
        elif callable(loc):
            got = loc(storage, saved)
            if isinstance(got, _Storage):  # (the storage itself, as PyTorch's callables return it: kept where
                got = got.target             # it was saved unless moved with .cpu() / .cuda() / .to())
            want = saved if got is None else got
        elif isinstance(loc, dict):
            want = loc.get(saved, saved)
        else:
            want = loc
        if isinstance(want, Device):
            return want
        if not isinstance(want, str):
            raise TypeError(f"map_location gave {want!r} for location {saved!r}: expected a device or a str")
        if want.startswith("cuda") and not _cuda_available():
            raise RuntimeError("Attempting to deserialize object on a CUDA device but srcgrad.cuda.is_available() "
                               "is False. If you are running on a CPU-only machine, please use srcgrad.load with "
                               "map_location='cpu' to map your storages to the CPU.")
        try:
            return Device(want)
        except RuntimeError as e:
            raise RuntimeError(f"cannot place a storage saved on {saved!r} on {want!r} ({e}); pass "
                               "map_location='cpu' to load it on the CPU") from None


def _cuda_available() -> bool:
    from .device import cuda
    return cuda.is_available()


def _archive_prefix(z: zipfile.ZipFile) -> str | None:
    """The top-level folder of a ``torch.save`` archive: the one holding ``data.pkl`` and ``version``."""
    names = z.NameToInfo
    tops = [n[:-len("/data.pkl")] for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(tops) != 1:
        return None
    top = tops[0]
    if f"{top}/version" not in names and f"{top}/.data/version" not in names:
        return None
    return top


def _open(source: Source) -> tuple[zipfile.ZipFile, bool]:
    """A ZipFile on the source and whether this module opened it (and must close it)."""
    if isinstance(source, zipfile.ZipFile):
        return source, False
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            data = fh.read()
    else:
        data = source.read()
        data = b"" if data is None else bytes(data)
    if not data:
        raise EOFError("Ran out of input")
    if not data.startswith(b"PK"):
        if data[:1] == b"\x80" or data[:1] in (b"(", b"]", b"}", b"c"):
            raise _refuse("this is a pickle, e.g. a torch.save file in the legacy format "
                          "(_use_new_zipfile_serialization=False, or PyTorch before 1.6). Only the ZIP format of "
                          "PyTorch >= 1.6 is supported: re-save it with a recent torch.save")
        if len(data) > 262 and data[257:262] == b"ustar":
            raise _refuse("this is a tar archive (torch.save's format before PyTorch 0.4); only the ZIP format "
                          "of PyTorch >= 1.6 is supported")
        raise _refuse("not a PyTorch checkpoint (not a ZIP archive)")
    try:
        return zipfile.ZipFile(io.BytesIO(data)), True
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as e:
        raise _refuse(f"not a PyTorch checkpoint (broken ZIP archive: {e})") from None


def is_torch_checkpoint(path_or_file: Source) -> bool:
    """Whether ``path_or_file`` (a path, a binary file, bytes or an open ``ZipFile``) is a ``torch.save``
    ZIP archive: ``data.pkl`` and ``version`` in one top-level folder. A file object is read from its
    current position and left there."""
    start = None
    if hasattr(path_or_file, "read") and not isinstance(path_or_file, zipfile.ZipFile):
        try:
            start = path_or_file.tell()
        except (AttributeError, OSError, ValueError):
            start = None
    try:
        z, own = _open(path_or_file)
    except (UnpicklingError, EOFError, OSError):
        return False
    finally:
        if start is not None:
            path_or_file.seek(start)
    try:
        return _archive_prefix(z) is not None
    finally:
        if own:
            z.close()


def load_torch_checkpoint(path_or_file: Source, map_location: Any = None, *,
                          weights_only: bool | None = None) -> Any:
    """Load the object in a ``torch.save`` ZIP archive without running code from it (see the module
    docstring): tensors become srcgrad tensors, Parameters ``srcgrad.nn.Parameter``.

    ``map_location`` places the tensors as in ``torch.load``: None (where they were saved: a ``cuda``
    location needs a GPU that JAX sees), a device or device name (all of them there), a dict from saved
    locations (``"cuda:0"``) to devices or names, or a callable ``f(storage, location)`` returning None
    (keep the saved location), a device or name, or the storage moved with ``storage.cpu()`` /
    ``storage.cuda(i)``. ``weights_only`` changes nothing but the wording of a refusal: a global outside
    the allow-list is refused either way."""
    z, own = _open(path_or_file)
    try:
        prefix = _archive_prefix(z)
        if prefix is None:
            names = z.namelist()
            if any(n.endswith("constants.pkl") for n in names) or any("/code/" in n for n in names):
                raise _refuse("this is a TorchScript archive (torch.jit.save), which holds code; srcgrad reads "
                              "torch.save checkpoints only. Save the module's state_dict() with torch.save")
            raise _refuse("not a PyTorch checkpoint (a ZIP archive without <archive>/data.pkl and "
                          "<archive>/version)")
        archive = _Archive(z, prefix, map_location)
        info = z.NameToInfo[f"{prefix}/data.pkl"]
        data = archive._read(info.filename, info.file_size)
        try:
            return _Unpickler(data, archive, weights_only).load()
        except _PassThrough as e:
            raise e.args[0] from None
        except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError,
                RecursionError, MemoryError, UnicodeDecodeError) as e:
            raise _refuse(f"malformed data.pkl ({type(e).__name__}: {str(e)[:200]})") from None
        except pickle.UnpicklingError as e:
            if isinstance(e, UnpicklingError):
                raise
            raise _refuse(f"malformed data.pkl ({e})") from None
    finally:
        if own:
            z.close()

