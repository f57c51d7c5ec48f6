import os
import tempfile

# Keep the suite hermetic: its disk cache lives in a temporary folder.
os.environ.setdefault("SRCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="srcgrad-test-cache-"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import srcgrad  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    srcgrad.manual_seed(0)
    np.random.seed(0)
    yield
