"""Per-sample gradients with srcgrad.func, as in PyTorch's torch.func tutorial, used for
differentially-private SGD: each example's gradient is clipped to norm 1 before the
average, so no single example moves the model far.

    python examples/per_sample_gradients.py

The whole step, vmap(grad) included, runs under @srcgrad.compile: traced once, then
replayed as one XLA program. The generated per-example function is printed at the end.
"""

import srcgrad as torch
from srcgrad.func import functional_call, grad, vmap

torch.manual_seed(0)

# two interleaved half-moons, 256 points
n = 256
t = torch.rand(n) * 3.14159
upper = torch.stack([t.cos(), t.sin()], 1)
lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
labels = (torch.arange(n) % 2).float()
points = torch.where(labels[:, None] > 0, lower, upper) + 0.1 * torch.randn(n, 2)

model = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)


def example_loss(params, x, y):
    """One example's loss: the model sees a batch of one."""
    logit = functional_call(model, params, (x.unsqueeze(0),)).squeeze()
    return torch.nn.functional.binary_cross_entropy_with_logits(logit, y)


per_sample_grads = vmap(grad(example_loss), in_dims=(None, 0, 0))


@torch.compile
def dp_step(x, y, max_norm=1.0):
    params = {k: v.detach() for k, v in model.named_parameters()}
    grads = per_sample_grads(params, x, y)  # each entry: (batch, *parameter shape)
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for name, p in model.named_parameters():
        g = grads[name]
        p.grad = (g * scale.reshape(-1, *[1] * (g.dim() - 1))).mean(0)
    optimizer.step()
    return norms.mean()


for epoch in range(60):
    mean_norm = dp_step(points, labels)
    if epoch % 10 == 0 or epoch == 59:
        with torch.no_grad():
            accuracy = ((model(points).squeeze(1) > 0).float() == labels).float().mean()
        print(f"epoch {epoch:2d}  mean per-sample gradient norm {mean_norm.item():.3f}  "
              f"accuracy {accuracy.item():.3f}")

info = dp_step.cache_info()
print(f"traced {info['compiles']} time(s), replayed {info['hits']} times")
program = dp_step.source
start = program.index("    def per_example")
print(program[start:program.index("\n\n", start)])
