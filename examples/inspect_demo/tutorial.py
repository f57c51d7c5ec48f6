"""The first autograd tutorial, as srcgrad runs it.

    python -m srcgrad inspect --all examples/inspect_demo/tutorial.py
"""
import srcgrad as torch

x = torch.ones(2, 2, requires_grad=True)
y = x + 2
z = y * y * 3
out = z.mean()
print(z, out)

out.backward()
print(x.grad)
