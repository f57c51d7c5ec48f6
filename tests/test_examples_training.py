"""Run every training example as a user would (a fresh interpreter each) and check what it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ["polynomial_autograd.py", "polynomial_nn.py", "custom_function.py", "spiral_classifier.py",
            "dataloader_training.py"]


@pytest.fixture(scope="module")
def runs():
    """Start all examples at once (they are independent) and collect their output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = {name: subprocess.Popen([sys.executable, str(ROOT / "examples" / name)], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in EXAMPLES}
    out = {}
    for name, proc in procs.items():
        try:
            stdout, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        out[name] = (proc.returncode, stdout, stderr)
    return out


def _check(runs, name):
    code, stdout, stderr = runs[name]
    assert code == 0, f"{name} exited with {code}\n{stdout}\n{stderr}"
    return stdout


def _final_loss(stdout):
    return float(re.search(r"final loss ([0-9.]+)", stdout).group(1))


def test_polynomial_autograd(runs):
    out = _check(runs, "polynomial_autograd.py")
    assert "Result: y = " in out and " x^3" in out
    assert out.count("loss") >= 10 and _final_loss(out) < 50


def test_polynomial_nn(runs):
    out = _check(runs, "polynomial_nn.py")
    assert "Result: y = " in out and _final_loss(out) < 20
    assert int(re.search(r"compiled programs: (\d+)", out).group(1)) < 20  # no recompiles per lr change


def test_custom_function(runs):
    out = _check(runs, "custom_function.py")
    assert "gradcheck: True" in out
    assert "* P3(" in out and _final_loss(out) < 20


def test_spiral_classifier(runs):
    out = _check(runs, "spiral_classifier.py")
    assert out.count("epoch ") == 30 and "Sequential(" in out
    acc = float(re.search(r"final test accuracy: ([0-9.]+)%", out).group(1))
    assert acc > 90.0


def test_dataloader_training(runs):
    # PyTorch's "Optimizing model parameters" tutorial through srcgrad.utils.data.DataLoader
    out = _check(runs, "dataloader_training.py")
    assert out.count("Epoch ") == 4 and out.rstrip().endswith("Done!")
    assert re.search(r"loss: \d\.\d{6}  \[   64/ 1920\]", out)
    accuracies = [float(a) for a in re.findall(r"Accuracy: ([0-9.]+)%", out)]
    assert len(accuracies) == 4 and accuracies[-1] > 95.0
