"""``torch.backends``: the flags training scripts set at their top (``cudnn.benchmark``,
``cuda.matmul.allow_tf32``...) and the availability checks they branch on.

srcgrad runs every program through XLA, so most of these flags are recorded and reported,
not acted on; ``cuda.matmul.allow_tf32`` is the exception: it is PyTorch's older spelling
of ``set_float32_matmul_precision`` and reads and writes that setting. See docs/compat.md.
"""

from . import cuda, cudnn, mkl, mkldnn, mps, openmp

__all__ = ["cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp"]
