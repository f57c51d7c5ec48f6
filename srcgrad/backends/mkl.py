"""``torch.backends.mkl``: False (srcgrad's CPU programs are XLA's, not MKL's)."""


def is_available() -> bool:
    return False
