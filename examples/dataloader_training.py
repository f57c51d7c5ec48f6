"""PyTorch's "Optimizing model parameters" tutorial, with srcgrad and a dataset made here.

The tutorial trains on FashionMNIST through ``torch.utils.data.DataLoader`` with a
``train_loop`` and a ``test_loop``. The code below is the tutorial's, line for line, with
``import srcgrad as torch`` and, instead of the download, 28x28 "images" of four
synthetic classes (a bar, a cross, a frame and a blob, with noise).

    python examples/dataloader_training.py
"""

from __future__ import annotations

import numpy as np

import srcgrad as torch
from srcgrad import nn
from srcgrad.utils.data import DataLoader, TensorDataset, random_split


def make_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 28x28 images of four shapes, and their labels."""
    shapes = np.zeros((4, 28, 28), dtype=np.float32)
    shapes[0, 12:16, 4:24] = 1  # a bar
    shapes[1, 12:16, 4:24] = shapes[1, 4:24, 12:16] = 1  # a cross
    shapes[2, 4:24, 4:24] = 1
    shapes[2, 7:21, 7:21] = 0  # a frame
    yy, xx = np.mgrid[:28, :28]
    shapes[3] = ((yy - 14) ** 2 + (xx - 14) ** 2 < 40).astype(np.float32)  # a blob
    labels = rng.integers(0, 4, n)
    images = shapes[labels] + 1.2 * rng.standard_normal((n, 28, 28)).astype(np.float32)
    return images.astype(np.float32), labels.astype(np.int64)


torch.manual_seed(0)
images, labels = make_images(2400, np.random.default_rng(0))
dataset = TensorDataset(torch.tensor(images), torch.tensor(labels))
training_data, test_data = random_split(dataset, [0.8, 0.2])

batch_size = 64
train_dataloader = DataLoader(training_data, batch_size=batch_size, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=batch_size)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, 64),
            nn.ReLU(),
            nn.Linear(64, 4),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork()
learning_rate = 1e-2
epochs = 4
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)


def train_loop(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)

        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if batch % 10 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100 * correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return correct


for t in range(epochs):
    print(f"Epoch {t + 1}\n-------------------------------")
    train_loop(train_dataloader, model, loss_fn, optimizer)
    accuracy = test_loop(test_dataloader, model, loss_fn)
print("Done!")
