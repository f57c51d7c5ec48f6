"""Every seed tutorial runs with ``import srcgrad as torch`` and prints what PyTorch prints.

The golden outputs under tests/golden/ were produced by running the same
scripts with PyTorch 2.13 (tests/seed_runner.py, same fixed random draws).
"""

from __future__ import annotations

import pathlib

import pytest
from seed_runner import run_seed

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "examples" / "seeds").glob("seed*.py"))


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_seed_prints_what_pytorch_prints(path):
    expected = (ROOT / "tests" / "golden" / f"{path.stem}.out").read_text()
    assert run_seed(str(path), "srcgrad") == expected


def test_all_four_seeds_present():
    assert len(SEEDS) == 4


def test_seed_loop_reuses_one_program():
    import srcgrad as torch

    x = torch.randn(3, requires_grad=True)
    y = x * 2
    y.data.norm().item()
    before = torch.cache_info()["misses"]
    while y.data.norm() < 1e6:
        y = y * 2
    assert torch.cache_info()["misses"] - before <= 2
