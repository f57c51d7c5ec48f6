"""Classify two interleaved spirals with a small MLP: nn, optim, a scheduler and minibatches.

The data set is generated here (two noisy spirals, 800 points). Each epoch
shuffles the training set and takes minibatch steps with ``AdamW``; every
minibatch has the same shapes and its indices are program data, so after the
first couple of steps each step reuses one cached program. Accuracy is measured in ``eval()`` mode under
``no_grad``.

Run: python examples/spiral_classifier.py
"""

import math

import numpy as np

import srcgrad as torch
from srcgrad import nn, optim


def make_spirals(n_per_class: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two spirals (1.5 turns each), class 0 and class 1, with Gaussian noise."""
    t = np.sqrt(rng.random(n_per_class)) * 3 * math.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * math.pi)
    xs = np.concatenate([arm, -arm]) + rng.normal(0, noise, (2 * n_per_class, 2))
    ys = np.concatenate([np.zeros(n_per_class), np.ones(n_per_class)])
    return xs.astype(np.float32), ys.astype(np.int64)


rng = np.random.default_rng(0)
torch.manual_seed(0)
x_np, y_np = make_spirals(400, 0.02, rng)
perm = rng.permutation(len(x_np))
train_idx, test_idx = perm[:640], perm[640:]
x_train, y_train = torch.from_numpy(x_np[train_idx]), torch.from_numpy(y_np[train_idx])
x_test, y_test = torch.from_numpy(x_np[test_idx]), torch.from_numpy(y_np[test_idx])

model = nn.Sequential(
    nn.Linear(2, 64), nn.Tanh(),
    nn.Linear(64, 64), nn.Tanh(),
    nn.Linear(64, 2),
)
print(model)
epochs, batch_size = 30, 64
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def accuracy(x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(dim=1) == y).sum().item()
    model.train()
    return 100.0 * correct / len(y)


for epoch in range(epochs):
    total = 0.0
    # Shuffled minibatch indices enter the program as data, so every step has the same graph.
    for idx in np.split(rng.permutation(len(x_train)), len(x_train) // batch_size):
        idx = torch.from_numpy(idx)
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        total += loss  # summed on the device: one read-back per epoch instead of one per step
    scheduler.step()
    mean_loss = total.item() / (len(x_train) // batch_size)
    print(f"epoch {epoch + 1:2d}/{epochs}  loss {mean_loss:.4f}  train acc {accuracy(x_train, y_train):5.1f}%  "
          f"lr {scheduler.get_last_lr()[0]:.4f}")

print(f"final test accuracy: {accuracy(x_test, y_test):.1f}%")
print(f"compiled programs: {torch.cache_info()['programs']}")
