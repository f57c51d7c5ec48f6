"""Fit y = sin(x) with a cubic polynomial using ``nn`` layers and an ``optim`` optimizer.

PyTorch's "nn" + "optim" tutorials: the features x, x^2, x^3 feed a
``Linear(3, 1)``; ``RMSprop`` updates the weights. ``optimizer.step()`` only
records the update, so each training step runs as one cached program; the
learning rate is a program input, so the ``StepLR`` schedule compiles nothing.

Run: python examples/polynomial_nn.py
"""

import math

import srcgrad as torch
from srcgrad import nn, optim

torch.manual_seed(0)
x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

# (x, x^2, x^3) as a (2000, 3) tensor
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
loss_fn = nn.MSELoss(reduction="sum")
optimizer = optim.RMSprop(model.parameters(), lr=1e-3)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=500, gamma=0.5)

for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 200 == 199:
        print(f"step {t + 1:4d}  loss {loss.item():10.4f}  lr {scheduler.get_last_lr()[0]:.2e}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()

linear = model[0]
w = linear.weight[0]
print(f"final loss {loss.item():.4f}")
print(f"Result: y = {linear.bias.item():.4f} + {w[0].item():.4f} x + {w[1].item():.4f} x^2 + "
      f"{w[2].item():.4f} x^3")
print(f"compiled programs: {torch.cache_info()['programs']}")
