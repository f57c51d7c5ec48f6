"""The on-disk cache: generated sources and XLA executables survive the process.

Sources are written to ``<dir>/programs/<sha256>.py`` (atomically, named by the
hash of their text, so a damaged file is detected and rewritten) and programs
are compiled from those real files, so tracebacks and pdb show generated lines.
XLA executables are serialised to ``<dir>/executables/<sha256>.bin``, named by
the hash of everything that determines them (source, argument shapes and
dtypes, donated arguments, device, JAX version and flags, and srcgrad's own
sources, whose lowering helpers the generated code calls): a fresh process
loads them without JAX tracing or lowering the source again. A file that does
not load is ignored and overwritten. (JAX's own persistent compilation cache
stays off: an executable it loads cannot be serialised again completely.)

``SRCGRAD_CACHE_DIR`` moves the directory; ``SRCGRAD_CACHE_DIR=off`` turns the
disk cache off. The default is ``$XDG_CACHE_HOME/srcgrad`` (``~/.cache/srcgrad``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any

_state = {"dir": None, "configured": False}


def cache_dir() -> str | None:
    """The cache directory in use, or None when the disk cache is off."""
    if not _state["configured"]:
        configure()
    return _state["dir"]


def configure(path: str | None = None) -> None:
    """Choose the cache directory (default from the environment) and point JAX at it."""
    if path is None:
        path = os.environ.get("SRCGRAD_CACHE_DIR")
        if path is None:
            base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
            path = os.path.join(base, "srcgrad")
    _state["configured"] = True
    if path.lower() in ("off", "0", "none", ""):
        _state["dir"] = None
        return
    try:
        os.makedirs(os.path.join(path, "programs"), exist_ok=True)
        os.makedirs(os.path.join(path, "executables"), exist_ok=True)
    except OSError:
        _state["dir"] = None  # an unwritable cache is no cache, never an error
        return
    _state["dir"] = path


def _write_atomically(path: str, data: bytes) -> None:
    # a temporary file, then a rename: readers never see half a file
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _executable_path(digest: str) -> str | None:
    d = cache_dir()
    return None if d is None else os.path.join(d, "executables", f"x_{digest}.bin")


def forget_executable(digest: str) -> None:
    """Remove a stored executable that loaded but does not run."""
    path = _executable_path(digest)
    try:
        if path is not None:
            os.unlink(path)
    except OSError:
        pass


def load_executable(digest: str, device: Any = None) -> Any:
    """The compiled executable stored under ``digest`` loaded for ``device`` (a
    ``jax.Device``; the default backend when None), or None (missing, damaged, or not
    loadable by this JAX)."""
    path = _executable_path(digest)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            entry = pickle.load(f)  # noqa: S301 - our own cache files
        payload, in_tree, out_tree = entry[:3]
        if (len(entry) < 4 or entry[3]) and (device is None or device.platform == "cpu"):
            # JAX sets up its LAPACK kernels when it lowers a program that calls them; an executable
            # loaded without lowering would call them unset (a crash), so set them up first
            from jax._src.lax import linalg
            linalg.initialize_lapack()
        from jax.experimental import serialize_executable
        if device is None:
            return serialize_executable.deserialize_and_load(payload, in_tree, out_tree)
        return serialize_executable.deserialize_and_load(payload, in_tree, out_tree, backend=device.platform,
                                                         execution_devices=[device])
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss
        return None


def store_executable(digest: str, compiled: Any) -> None:
    """Keep ``compiled`` (a ``jax.stages.Compiled``) for later processes; failures are ignored."""
    path = _executable_path(digest)
    if path is None:
        return
    try:
        from jax.experimental import serialize_executable
        # (and whether it calls LAPACK, whose kernels a later process must set up before loading it)
        entry = (*serialize_executable.serialize(compiled), "lapack" in compiled.as_text())
        _write_atomically(path, pickle.dumps(entry))
    except Exception:  # noqa: BLE001 - a backend that cannot serialise simply is not cached
        pass


def source_file(source: str) -> str | None:
    """The path of a file holding ``source`` (written if missing or damaged)."""
    d = cache_dir()
    if d is None:
        return None
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    path = os.path.join(d, "programs", f"p_{digest}.py")
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == source:
                return path
    except (OSError, UnicodeDecodeError):
        pass
    try:  # write to a temporary file, then rename: readers never see half a file
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)
    except OSError:
        return None
    return path
