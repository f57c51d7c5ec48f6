"""``srcgrad.nn``: layers and losses (modules land with the nn/optim work)."""

from . import functional

__all__ = ["functional"]
