import os
import tempfile

# Keep the suite hermetic: its disk cache lives in a temporary folder.
os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-test-cache-"))

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


@pytest.fixture(autouse=True, scope="module")
def _fresh_program_cache():
    """Each test module leaves an empty program cache behind. Every compiled XLA CPU program holds
    about six memory mappings; a worker that kept all its programs of a full run (over 10,000)
    reached the kernel's limit of 65,530 mappings (vm.max_map_count) and died with a segmentation
    fault inside XLA, compiling or serialising one more."""
    yield
    srcgrad.clear_cache()
