"""A custom ``autograd.Function``: the Legendre polynomial P3 with a hand-written backward.

PyTorch's "Defining new autograd functions" tutorial: y = a + b * P3(c + d x)
fits sin(x). ``LegendrePolynomial3.backward`` is ordinary tensor code, so
srcgrad records it into the generated backward program like any built-in
derivative. ``gradcheck`` compares it with finite differences first.

Run: python examples/custom_function.py
"""

import math

import srcgrad as torch


class LegendrePolynomial3(torch.autograd.Function):
    """P3(x) = (5 x^3 - 3 x) / 2, with dP3/dx = 1.5 (5 x^2 - 1)."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


check_input = torch.randn(6, dtype=torch.double, requires_grad=True)
print("gradcheck:", torch.autograd.gradcheck(LegendrePolynomial3.apply, (check_input,)))

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# Weights chosen near the solution so that training converges (as in the tutorial)
a = torch.full((), 0.0, requires_grad=True)
b = torch.full((), -1.0, requires_grad=True)
c = torch.full((), 0.0, requires_grad=True)
d = torch.full((), 0.3, requires_grad=True)

learning_rate = 5e-6
P3 = LegendrePolynomial3.apply
for t in range(2000):
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 200 == 199:
        print(f"step {t + 1:4d}  loss {loss.item():10.4f}")
    loss.backward()
    with torch.no_grad():
        for w in (a, b, c, d):
            w -= learning_rate * w.grad
            w.grad = None

print(f"final loss {loss.item():.4f}")
print(f"Result: y = {a.item():.4f} + {b.item():.4f} * P3({c.item():.4f} + {d.item():.4f} x)")
