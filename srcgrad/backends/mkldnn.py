"""``torch.backends.mkldnn``: False. XLA's CPU backend does not run PyTorch's oneDNN
kernels, so code guarded by this check (``to_mkldnn()``) would not work here either."""


def is_available() -> bool:
    return False
