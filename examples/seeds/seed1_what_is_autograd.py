"""Seed tutorial 1: "What is autograd?" (Variable, grad_fn, a polynomial's gradient of 5.5)."""
import srcgrad as torch
from srcgrad.autograd import Variable

x = Variable(torch.ones(2, 2), requires_grad=True)
print(x)

y = x + 2
print(y)
print(y.grad_fn)

z = 3 * y * y + 4 * y
out = z.mean()
print(z, out)

out.backward()
print(x.grad)
