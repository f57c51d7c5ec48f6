"""The modules behind ``srcgrad.utils.benchmark`` (PyTorch's ``torch.utils.benchmark.utils`` layout)."""
