import numpy as np
import pytest

import srcgrad


@pytest.fixture(autouse=True)
def _seeded():
    srcgrad.manual_seed(0)
    np.random.seed(0)
    yield
