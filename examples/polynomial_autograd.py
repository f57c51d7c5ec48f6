"""Fit y = sin(x) with a cubic polynomial using only tensors and autograd.

PyTorch's "Tensors and autograd" tutorial, unchanged but for the import:
the forward pass is ordinary tensor code, ``loss.backward()`` fills ``.grad``,
and the weights are updated by hand under ``no_grad``. srcgrad records the
whole step (forward, backward and the update) and runs it as one cached
compiled program.

Run: python examples/polynomial_autograd.py
"""

import math

import srcgrad as torch

dtype = torch.float
torch.manual_seed(0)

# Input and output data
x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
y = torch.sin(x)

# Random weights that require gradients
a = torch.randn((), dtype=dtype, requires_grad=True)
b = torch.randn((), dtype=dtype, requires_grad=True)
c = torch.randn((), dtype=dtype, requires_grad=True)
d = torch.randn((), dtype=dtype, requires_grad=True)

learning_rate = 1e-6
for t in range(2000):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    if t % 200 == 199:
        print(f"step {t + 1:4d}  loss {loss.item():10.4f}")

    loss.backward()

    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None

print(f"final loss {loss.item():.4f}")
print(f"Result: y = {a.item():.4f} + {b.item():.4f} x + {c.item():.4f} x^2 + {d.item():.4f} x^3")
print(f"compiled programs: {torch.cache_info()['programs']}")
