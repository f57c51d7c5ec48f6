"""Train a small MLP with a decorated training step: forward, backward and the
parameter update run as one compiled program per step.

Run: python examples/train_compiled.py
"""
import math
import time

import srcgrad as torch

torch.manual_seed(0)

# Data: y = sin(3x) + noise, 256 points
x = torch.linspace(-1, 1, 256).unsqueeze(1)
y = (3 * x).sin() + 0.05 * torch.randn(256, 1)

# Parameters of a 1-32-32-1 tanh network
sizes = [1, 32, 32, 1]
params = []
for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
    bound = 1 / math.sqrt(fan_in)
    params.append((torch.rand(fan_in, fan_out) * 2 - 1).mul_(bound).requires_grad_())
    params.append((torch.rand(fan_out) * 2 - 1).mul_(bound).requires_grad_())
velocity = [torch.zeros_like(p) for p in params]


def model(inp):
    h = inp
    for i in range(0, len(params) - 2, 2):
        h = (h @ params[i] + params[i + 1]).tanh()
    return h @ params[-2] + params[-1]


@torch.compile
def train_step(inp, target, lr):
    loss = ((model(inp) - target) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p, v in zip(params, velocity):
            v.mul_(0.9).add_(p.grad)      # SGD with momentum, written by hand
            p -= lr * v
            p.grad = None
    return loss


start = time.perf_counter()
for step in range(1, 301):
    lr = 0.05 * 0.5 * (1 + math.cos(math.pi * step / 300))  # cosine schedule: a Python float, no recompiles
    loss = train_step(x, y, lr)
    if step % 50 == 0:
        print(f"step {step:3d}  loss {loss.item():.4f}")
elapsed = time.perf_counter() - start
info = train_step.cache_info()
print(f"300 steps in {elapsed:.2f} s; traced {info['compiles']} time(s), replayed {info['hits']} times")
print("the compiled training step:")
print(torch.show(train_step))
