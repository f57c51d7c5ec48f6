"""The main example and the decorated-training example run and print what they promise."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(name: str) -> str:
    r = subprocess.run([sys.executable, str(ROOT / "examples" / name)], capture_output=True, text=True,
                       timeout=600, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_tour_runs_every_seed_and_shows_the_generated_backward():
    out = _run("tour.py")
    for seed in ("seed0_variable", "seed1_what_is_autograd", "seed2_autograd", "seed3_autograd_tutorial"):
        assert f"=== {seed}" in out
    assert "tensor([[5.5000, 5.5000]," in out
    assert "def forward_backward(" in out and "# backward of: z = y * y * 3" in out


def test_train_compiled_learns_and_traces_once():
    out = _run("train_compiled.py")
    losses = [float(line.split("loss")[1]) for line in out.splitlines() if line.startswith("step")]
    assert losses[-1] < 0.02 < losses[0] * 2
    assert "traced 1 time(s), replayed 299 times" in out
    assert "def train_step(" in out


def test_per_sample_gradients_trains_with_clipped_gradients_in_one_program():
    out = _run("per_sample_gradients.py")
    accuracies = [float(line.split("accuracy")[1]) for line in out.splitlines() if line.startswith("epoch")]
    assert accuracies[-1] > 0.8 and accuracies[-1] >= accuracies[0]
    assert "replayed 58 times" in out
    assert "def per_example_example_loss(x, y, params_0_weight, params_0_bias, params_2_weight, params_2_bias):" in out
