import os

# No disk cache for the tests in this process: the tests of the cache run it in child
# processes with folders of their own (tests/test_compiled.py, tests/test_inspect.py). Twice
# this session a worker that had compiled thousands of programs died with a segmentation
# fault inside jax.experimental.serialize_executable while storing one more executable
# (XLA's serialisation, not srcgrad code); the tests do not need that path in-process.
os.environ.setdefault("SRCGRAD_CACHE_DIR", "off")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import srcgrad  # noqa: E402


def _bind_lapack_before_torch() -> None:
    """Bind JAX's CPU LAPACK kernels before any test imports PyTorch: a helper saw a process
    crash when they were bound lazily (at the first linear-algebra program) after PyTorch had
    been loaded. Done here, not in srcgrad's import, where it would cost every user 0.15 s."""
    try:
        from jax._src.lib import lapack
        lapack._lapack.initialize()
    except (ImportError, AttributeError):  # (another jaxlib: nothing to do, or nothing we can do)
        pass


_bind_lapack_before_torch()


@pytest.fixture(autouse=True)
def _seeded():
    srcgrad.manual_seed(0)
    np.random.seed(0)
    yield

