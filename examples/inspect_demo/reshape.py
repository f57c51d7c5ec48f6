"""Batches of a new size: the same graph with a new input shape compiles a new program.

    python -m srcgrad inspect --cache examples/inspect_demo/reshape.py
"""
import numpy as np

import srcgrad as torch

rng = np.random.default_rng(0)
w = torch.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)


def loss_fn(w, x):
    h = (x @ w).tanh()
    return (h * h).sum()


@torch.compile
def predict(x):
    with torch.no_grad():  # inference: a result that required grad would run define-by-run
        return (x @ w).tanh()


for n in (4, 8, 8):
    x = torch.tensor(rng.standard_normal((n, 3)).astype(np.float32))
    loss = loss_fn(w, x)
    loss.backward()
    print(n, round(loss.item(), 4), predict(x).shape)
    w.grad = None
