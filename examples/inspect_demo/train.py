"""A training loop whose step (forward, backward, SGD update) is one ``@srcgrad.compile``d program.

    python -m srcgrad inspect --cache examples/inspect_demo/train.py --steps 20
"""
import argparse

import numpy as np

import srcgrad as torch

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=30)
parser.add_argument("--lr", type=float, default=0.1)
opts = parser.parse_args()

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 3)).astype(np.float32))
true_w = torch.tensor([[1.5], [-2.0], [0.5]])
Y = X @ true_w + 0.3

w = torch.zeros(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
params = [w, b]


@torch.compile
def step(x, y, lr):
    pred = x @ w + b
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss


for i in range(opts.steps):
    loss = step(X, Y, opts.lr)
    if i % 10 == 0:
        print(f"step {i:3d}  loss {loss.item():.5f}")
print("w", w.detach().numpy().ravel().round(3), "b", b.detach().numpy().round(3))
