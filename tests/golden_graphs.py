"""Small graphs whose generated backward source is kept under tests/golden/.

They live in their own file so that the file:line comments in the generated
code do not move when test_compiler.py is edited.
"""

from __future__ import annotations

import numpy as np

import srcgrad as torch


def mlp():
    x = torch.tensor(np.ones((2, 3), np.float32))
    w = torch.tensor(np.full((3, 2), 0.5, np.float32), requires_grad=True)
    b = torch.tensor(np.zeros(2, np.float32), requires_grad=True)
    h = (x @ w + b).tanh()
    loss = (h * h).mean()
    loss.backward()


def tutorial():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()


def softmax():
    logits = torch.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    target = torch.tensor([2, 0])
    logp = logits.log_softmax(dim=1)
    loss = -logp[torch.arange(2), target].mean()
    loss.backward()
