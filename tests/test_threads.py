"""srcgrad.threads and srcgrad.determinism: stored and reported with PyTorch's checks."""

import subprocess
import sys

import pytest

from srcgrad import determinism, threads


@pytest.fixture(autouse=True)
def _restore():
    saved = (threads.get_num_threads(), threads._interop[:], threads._interop_set[:],
             determinism.are_deterministic_algorithms_enabled(),
             determinism.is_deterministic_algorithms_warn_only_enabled())
    yield
    threads.set_num_threads(saved[0])
    threads._interop[:], threads._interop_set[:] = saved[1], saved[2]
    determinism.use_deterministic_algorithms(saved[3], warn_only=saved[4])


def test_num_threads_stored_and_checked():
    assert threads.get_num_threads() >= 1
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3
    for bad, message in ((0, "set_num_threads expects a positive integer"),
                         (-1, "set_num_threads expects a positive integer"),
                         (1.5, "set_num_threads expects an int, but got float"),
                         ("2", "set_num_threads expects an int, but got str"),
                         (True, "set_num_threads expects an int, but got bool")):
        with pytest.raises(RuntimeError) as e:
            threads.set_num_threads(bad)
        assert str(e.value) == message
    assert threads.get_num_threads() == 3


def test_interop_threads_only_once():
    threads._interop_set[0] = False
    assert threads.get_num_interop_threads() >= 1
    with pytest.raises(RuntimeError, match="^set_num_interop_threads expects a positive integer$"):
        threads.set_num_interop_threads(0)
    threads.set_num_interop_threads(2)
    assert threads.get_num_interop_threads() == 2
    with pytest.raises(RuntimeError, match="^Error: cannot set number of interop threads after parallel work has "
                                           "started or set_num_interop_threads called$"):
        threads.set_num_interop_threads(3)
    assert threads.get_num_interop_threads() == 2


def test_deterministic_algorithms():
    d = determinism
    assert (d.are_deterministic_algorithms_enabled(), d.is_deterministic_algorithms_warn_only_enabled()) == \
        (False, False)
    d.use_deterministic_algorithms(True)
    assert (d.are_deterministic_algorithms_enabled(), d.get_deterministic_debug_mode()) == (True, 2)
    d.use_deterministic_algorithms(True, warn_only=True)
    assert d.is_deterministic_algorithms_warn_only_enabled() and d.get_deterministic_debug_mode() == 1
    d.use_deterministic_algorithms(False)
    assert d.get_deterministic_debug_mode() == 0 and not d.is_deterministic_algorithms_warn_only_enabled()
    with pytest.raises(TypeError, match=r"^_set_deterministic_algorithms\(\): argument 'mode' \(position 1\) must "
                                        r"be bool, not int$"):
        d.use_deterministic_algorithms(1)
    with pytest.raises(TypeError, match=r"^_set_deterministic_algorithms\(\): argument 'warn_only' must be bool, "
                                        r"not int$"):
        d.use_deterministic_algorithms(True, warn_only=1)
    with pytest.raises(TypeError):
        d.use_deterministic_algorithms(True, False)  # (warn_only is keyword-only)


def test_deterministic_debug_mode():
    d = determinism
    d.set_deterministic_debug_mode("warn")
    assert (d.are_deterministic_algorithms_enabled(), d.is_deterministic_algorithms_warn_only_enabled()) == \
        (True, True)
    d.set_deterministic_debug_mode(2)
    assert d.get_deterministic_debug_mode() == 2
    d.set_deterministic_debug_mode("default")
    assert d.get_deterministic_debug_mode() == 0
    with pytest.raises(RuntimeError, match="expected one of `default`, `warn`, `error`, but got loud"):
        d.set_deterministic_debug_mode("loud")
    with pytest.raises(RuntimeError, match="expected 0, 1, or 2, but got 3"):
        d.set_deterministic_debug_mode(3)
    with pytest.raises(TypeError, match="debug_mode must be str or int, but got <class 'float'>"):
        d.set_deterministic_debug_mode(1.0)


_TORCH_PROBE = """
import torch
out = []
for f, arg in ((torch.set_num_threads, 0), (torch.set_num_threads, 1.5), (torch.set_num_threads, True),
               (torch.set_num_interop_threads, 0), (torch.use_deterministic_algorithms, 1)):
    try:
        f(arg)
    except (RuntimeError, TypeError) as e:
        out.append(type(e).__name__ + ": " + str(e))
torch.set_num_interop_threads(2)
try:
    torch.set_num_interop_threads(2)
except RuntimeError as e:
    out.append(str(e))
out.append([torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.get_deterministic_debug_mode()])
print(repr(out))
"""


def test_against_torch():
    pytest.importorskip("torch")
    # (a subprocess: torch allows one set_num_interop_threads per process)
    torch_out = eval(subprocess.run([sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True,
                                    check=True).stdout)
    threads._interop_set[0] = False
    ours = []
    for f, arg in ((threads.set_num_threads, 0), (threads.set_num_threads, 1.5), (threads.set_num_threads, True),
                   (threads.set_num_interop_threads, 0), (determinism.use_deterministic_algorithms, 1)):
        with pytest.raises((RuntimeError, TypeError)) as e:
            f(arg)
        ours.append(type(e.value).__name__ + ": " + str(e.value))
    threads.set_num_interop_threads(2)
    with pytest.raises(RuntimeError) as e:
        threads.set_num_interop_threads(2)
    ours.append(str(e.value))
    ours.append([determinism.are_deterministic_algorithms_enabled(),
                 determinism.is_deterministic_algorithms_warn_only_enabled(),
                 determinism.get_deterministic_debug_mode()])
    assert ours == torch_out
