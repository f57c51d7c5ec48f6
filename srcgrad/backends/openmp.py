"""``torch.backends.openmp``: False. XLA's CPU backend runs on its own (Eigen) thread pool,
not OpenMP; see ``srcgrad.threads``."""


def is_available() -> bool:
    return False
