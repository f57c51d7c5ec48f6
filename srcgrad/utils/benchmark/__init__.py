"""``torch.utils.benchmark`` counterpart: ``Timer``, ``Measurement`` and ``Compare``.

Names, signatures and printed formats follow PyTorch (a ``Measurement`` prints and a
``Compare`` table renders as PyTorch's do for the same times). What differs:

* Timing semantics. srcgrad is lazy: ops are recorded and run as one compiled program
  when a value is read, and JAX dispatches that program asynchronously. Where PyTorch's
  Timer synchronises CUDA, this Timer makes each run of ``stmt`` compute what it left
  pending (the value of a trailing expression, and every srcgrad tensor the run recorded
  that Python still holds: assigned results, in-place updates, optimiser state) and waits
  for the computed arrays before it reads the clock. Tensors that ``setup`` leaves pending
  are computed before the clock starts. A statement that touches no srcgrad tensor (plain
  Python) is timed exactly as ``timeit`` would time it.
* ``num_threads`` is passed to ``srcgrad.set_num_threads`` during a measurement, which
  records it but cannot resize XLA's thread pool (see ``srcgrad.threads``).
* Only Python statements: ``language="cpp"`` and ``collect_callgrind`` raise
  ``NotImplementedError`` (the latter one that is also an ``OSError``, as PyTorch raises
  when Valgrind cannot be used). The op fuzzers are not provided.
"""

from srcgrad.utils.benchmark.utils.common import *  # noqa: F403
from srcgrad.utils.benchmark.utils.compare import *  # noqa: F403
from srcgrad.utils.benchmark.utils.timer import *  # noqa: F403
from srcgrad.utils.benchmark.utils.timer import CallgrindNotSupportedError
