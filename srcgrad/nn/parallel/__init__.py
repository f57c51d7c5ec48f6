"""``torch.nn.parallel``: ``DataParallel`` (srcgrad runs a program on one device; see its docstring)."""

from .data_parallel import DataParallel

__all__ = ["DataParallel"]
