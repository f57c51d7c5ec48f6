"""``torch.nn.modules.instancenorm``: PyTorch's home of the instance norms (srcgrad defines them beside
the other normalisations)."""

from .lazy import LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d  # noqa: F401
from .normalization import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm  # noqa: F401
