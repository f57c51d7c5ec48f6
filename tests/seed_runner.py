"""Run a seed tutorial with srcgrad or (to make the golden output) with PyTorch.

Random numbers are the one thing the two libraries cannot share, so both runs
replace ``randn`` with the same fixed NumPy draws; every other line runs as
written. Object addresses are masked.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import warnings

import numpy as np


def fixed_randn(lib):
    rng = np.random.RandomState(1234)

    def randn(*size, requires_grad=False, dtype=None, **_):
        shape = size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
        vals = rng.standard_normal(shape).astype(np.float32)
        t = lib.tensor(vals)
        return t.requires_grad_(True) if requires_grad else t
    return randn


def run_seed(path: str, lib_name: str) -> str:
    text = open(path).read()
    if lib_name == "torch":
        # modern PyTorch calls the legacy `.creator` `.grad_fn`
        text = text.replace("srcgrad", "torch").replace(".creator", ".grad_fn")
    lib = __import__(lib_name)
    saved = lib.randn
    lib.randn = fixed_randn(lib)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(text, path, "exec"), {"__name__": "__main__"})
    finally:
        lib.randn = saved
    return re.sub(r"0x[0-9a-fA-F]+", "0x...", out.getvalue())


if __name__ == "__main__":
    sys.stdout.write(run_seed(sys.argv[1], sys.argv[2]))
