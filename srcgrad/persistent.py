"""The on-disk cache: generated sources and XLA executables survive the process.

Sources are written to ``<dir>/programs/<sha256>.py`` (atomically, named by the
hash of their text, so a damaged file is detected and rewritten) and programs
are compiled from those real files, so tracebacks and pdb show generated lines.
XLA executables go to JAX's persistent compilation cache in ``<dir>/xla``; JAX
detects a damaged entry itself and recompiles.

``SRCGRAD_CACHE_DIR`` moves the directory; ``SRCGRAD_CACHE_DIR=off`` turns the
disk cache off. The default is ``$XDG_CACHE_HOME/srcgrad`` (``~/.cache/srcgrad``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile

import jax

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
        os.makedirs(os.path.join(path, "xla"), exist_ok=True)
    except OSError:
        _state["dir"] = None  # an unwritable cache is no cache, never an error
        return
    _state["dir"] = path
    jax.config.update("jax_compilation_cache_dir", os.path.join(path, "xla"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


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
