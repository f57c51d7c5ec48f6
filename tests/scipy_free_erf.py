"""erf for NumPy arrays without SciPy (math.erf, vectorised)."""

import math

import numpy as np

erf_np = np.vectorize(math.erf, otypes=[np.float64])
