"""srcgrad.utils.benchmark: Timer runs (and computes) what it times; Measurement and Compare
print as PyTorch's do for the same times."""

import re

import numpy as np
import pytest

import srcgrad
from srcgrad import compiler
from srcgrad.utils.benchmark import CallgrindNotSupportedError, Compare, Measurement, Timer
from srcgrad.utils.benchmark.utils import common


def _program_runs() -> int:
    return compiler.CACHE.hits + compiler.CACHE.misses


def _torch_benchmark():
    pytest.importorskip("torch")
    import torch.utils.benchmark as tb
    return tb


# -- Timer ---------------------------------------------------------------------


def test_timeit_computes_each_run_of_an_expression():
    x = srcgrad.randn(8, 8)
    before = _program_runs()
    m = Timer("x @ x + 1", globals={"x": x}, label="mm").timeit(number=5)
    assert _program_runs() - before >= 5 + 2  # every timed run and warmup ran a program
    assert isinstance(m, Measurement)
    assert m.number_per_run == 5 and len(m.raw_times) == 1 and m.raw_times[0] > 0
    assert m.stmt == "x @ x + 1" and m.label == "mm" and m.title == "mm"
    assert m.times == [m.raw_times[0] / 5]


def test_assigned_and_inplace_results_are_computed():
    x = srcgrad.zeros(3)
    calls = []
    t = Timer("""
        y = x * 2
        x.add_(1)
        calls.append(1)
    """, globals={"x": x, "calls": calls})
    before = _program_runs()
    t.timeit(number=4)
    assert _program_runs() - before >= 4
    assert x._node.value is not None  # computed by the Timer, not by a read
    assert x.tolist() == [float(len(calls))] * 3
    assert len(calls) >= 4 + 2


def test_setup_runs_and_torch_is_srcgrad():
    m = Timer("b = a.sum()", setup="a = torch.ones(4)\nb = None").timeit(number=3)
    assert m.setup == "a = torch.ones(4)\nb = None"
    assert Timer()._globals["torch"] is srcgrad


def test_plain_python_is_timed_without_srcgrad():
    calls = []
    t = Timer("calls.append(1)", globals={"calls": calls})
    m = t.timeit(number=50)
    assert t._synced is False
    assert len(calls) >= 50 + 2 and m.number_per_run == 50
    m = Timer("sum(range(10))").blocked_autorange(min_run_time=0.01)
    assert m.number_per_run >= 1 and len(m.raw_times) >= 1 and m.median > 0


def test_blocked_and_adaptive_autorange_on_srcgrad():
    x = srcgrad.randn(16)
    seen = []
    m = Timer("(x * x).sum()", globals={"x": x}).blocked_autorange(
        callback=lambda number, t: seen.append(number), min_run_time=0.02)
    assert len(m.raw_times) == len(seen) >= 1 and set(seen) == {m.number_per_run}
    m = Timer("x.exp()", globals={"x": x}).adaptive_autorange(threshold=0.5, min_run_time=0.001, max_run_time=0.05)
    assert len(m.raw_times) >= 1 and m.median > 0 and m.iqr >= 0


def test_num_threads_is_set_while_timing():
    seen = []
    prior = srcgrad.get_num_threads()
    Timer("seen.append(torch.get_num_threads())", globals={"seen": seen}, num_threads=3).timeit(number=2)
    assert set(seen) == {3} and srcgrad.get_num_threads() == prior


def test_timer_errors():
    with pytest.raises(ValueError, match="only a `str` stmt"):
        Timer(lambda: None)
    with pytest.raises(ValueError, match="global_setup is C\\+\\+ only"):
        Timer("pass", global_setup="#include <x>")
    with pytest.raises(NotImplementedError, match="C\\+\\+ timing"):
        Timer("pass", language="cpp")
    with pytest.raises(ValueError, match="Invalid language"):
        Timer("pass", language="rust")
    with pytest.raises(SyntaxError):
        Timer("x = ")
    t = Timer("pass")
    for call in (t.repeat, t.autorange):
        with pytest.raises(NotImplementedError, match="See `Timer.blocked_autorange.`"):
            call()
    with pytest.raises(OSError, match="Valgrind is not supported"):
        t.collect_callgrind()
    with pytest.raises(NotImplementedError):
        t.collect_callgrind(number=10)
    assert issubclass(CallgrindNotSupportedError, OSError)
    with pytest.raises(ValueError, match="repeats"):
        t.collect_callgrind(repeats=0)
    with pytest.raises(ZeroDivisionError):
        Timer("1 / 0").timeit(number=1)


# -- Measurement ---------------------------------------------------------------


def test_measurement_statistics_match_numpy():
    raw = [1.2e-3, 1.0e-3, 1.1e-3, 1.6e-3, 0.9e-3, 1.05e-3, 1.3e-3]
    m = Measurement(number_per_run=10, raw_times=raw, task_spec=common.TaskSpec("f(x)", "pass"))
    times = np.asarray(raw) / 10
    assert m.times == pytest.approx(list(times))
    assert m.median == pytest.approx(np.median(times))
    assert m.mean == pytest.approx(times.mean())
    assert m.iqr == pytest.approx(np.percentile(times, 75) - np.percentile(times, 25))
    rel = m.iqr / m.median
    assert m.meets_confidence(rel + 0.01) and not m.meets_confidence(rel - 0.01)
    assert m.has_warnings == (rel >= 0.1)
    assert 1 <= m.significant_figures <= 4
    assert m.num_threads == 1 and m.env is None and m.as_row_name == "f(x)"


def test_measurement_merge():
    spec = common.TaskSpec("f(x)", "pass", label="L")
    other = common.TaskSpec("g(x)", "pass", label="L")
    merged = Measurement.merge([Measurement(2, [4.0, 6.0], spec), Measurement(1, [1.0], other),
                                Measurement(4, [4.0], spec, metadata={"a": 1})])
    assert [m.task_spec for m in merged] == [spec, other]
    assert merged[0].number_per_run == 1 and merged[0].raw_times == [2.0, 3.0, 1.0]
    assert merged[0].metadata is None


def _cases():
    rng = np.random.default_rng(0)
    spread = lambda n, center, rel: list(center * (1 + rel * rng.standard_normal(n)))
    return [
        (dict(stmt="f(x)", setup="pass"), 100, [1.234e-4]),
        (dict(stmt="f(x)", setup="x = 1"), 1, spread(3, 2.5e-3, 0.01)),
        (dict(stmt="a\nb", setup="x = 1\ny = 2", label=None, sub_label="sub", description="d"), 7,
         spread(40, 3.3e-5, 0.3)),
        (dict(stmt="y = x + 1", setup="pass", label="add", sub_label="float", description="n=4",
              num_threads=4), 1000, spread(25, 5.1e-3, 0.15)),
        (dict(stmt="z", setup="pass", label="tiny", num_threads=2), 10000, spread(9, 4.2e-6, 0.02)),
        (dict(stmt="slow()", setup="pass", label="slow"), 1, spread(5, 2.7, 0.05)),
    ]


def _mask(text: str) -> str:
    return re.sub(r"0x[0-9a-fA-F]+", "0x?", text).replace("torch.utils.benchmark", "srcgrad.utils.benchmark")


@pytest.mark.parametrize("case", range(len(_cases())))
def test_measurement_repr_matches_pytorch(case):
    tb = _torch_benchmark()
    spec, number, raw = _cases()[case]
    ours = Measurement(number, list(raw), common.TaskSpec(**spec))
    theirs = tb.Measurement(number, list(raw), tb.TaskSpec(**spec))
    assert _mask(repr(ours)) == _mask(repr(theirs))
    assert repr(ours).startswith("<srcgrad.utils.benchmark.utils.common.Measurement object at 0x")
    assert ours.significant_figures == theirs.significant_figures
    assert ours.has_warnings == theirs.has_warnings
    for name in ("median", "mean", "iqr"):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, name), rel=1e-12)


def test_helpers_match_pytorch():
    tb = _torch_benchmark()
    from torch.utils.benchmark.utils import common as tcommon
    for t in (3e-10, 1e-9, 4.5e-8, 1e-7, 1e-6, 1e-5, 7.7e-4, 1e-3, 0.5, 1.0, 42.0):
        assert common.select_unit(t) == tcommon.select_unit(t)
    for x, n in ((3.14159, 2), (123.456, 1), (0.0123456, 3), (98765.4, 4), (1.5, 1), (2.5, 1)):
        assert common.trim_sigfig(x, n) == tcommon.trim_sigfig(x, n)
    assert common.unit_to_english("us") == "microsecond"
    assert common.ordered_unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert tb is not None


# -- Compare -------------------------------------------------------------------


def _compare_measurements(mod):
    rng = np.random.default_rng(1)
    out = []
    for threads in (1, 4):
        for sub, base in (("float", 1.0), ("int", 1.7), ("double", 6.0)):
            for desc, size in (("n=1", 1.0), ("n=64", 9.0), ("n=4096", 480.0)):
                for _rep in range(2):
                    rel = 0.4 if (sub == "int" and desc == "n=64") else 0.03
                    raw = list(base * size * 1e-6 / threads * 100 * (1 + rel * rng.standard_normal(12)))
                    spec = mod.TaskSpec(stmt="torch.add(x, y)", setup="pass", label="add", sub_label=sub,
                                        description=desc, num_threads=threads)
                    out.append(mod.Measurement(100, raw, spec))
    for env in ("A", "B"):
        spec = mod.TaskSpec(stmt="f()", setup="pass", label="envs", description="only", env=env)
        out.append(mod.Measurement(1, list(2e-3 * (1 + 0.02 * rng.standard_normal(6))), spec))
    spec = mod.TaskSpec(stmt="torch.add(x, y)", setup="pass", label="add", sub_label="half", description="n=64")
    out.append(mod.Measurement(100, list(3e-4 * (1 + 0.02 * rng.standard_normal(8))), spec))  # (empty cells)
    return out


@pytest.mark.parametrize("style", ["plain", "trim", "color", "rowcolor", "warnings", "all"])
def test_compare_matches_pytorch(style, capsys):
    tb = _torch_benchmark()
    ours, theirs = Compare(_compare_measurements(common)), tb.Compare(_compare_measurements(tb))
    for c in (ours, theirs):
        if style in ("trim", "all"):
            c.trim_significant_figures()
        if style in ("color", "all"):
            c.colorize()
        if style == "rowcolor":
            c.colorize(rowwise=True)
        if style in ("warnings", "all"):
            c.highlight_warnings()
    assert str(ours) == str(theirs)
    ours.print()
    assert capsys.readouterr().out == str(theirs) + "\n"


def test_compare_of_timer_results_and_errors():
    x = srcgrad.randn(4)
    results = [Timer(stmt, globals={"x": x}, label="ops", sub_label=stmt, description="4").timeit(number=3)
               for stmt in ("x + 1", "x * 2")]
    text = str(Compare(results))
    assert text.startswith("[") and "x + 1" in text and "x * 2" in text and "Times are in" in text
    with pytest.raises(ValueError, match="Expected an instance of `Measurement`"):
        Compare([1.0])


def test_package_layout():
    import srcgrad.utils.benchmark as benchmark
    from srcgrad.utils.benchmark.utils.common import Measurement as M
    from srcgrad.utils.benchmark.utils.compare import Compare as C
    from srcgrad.utils.benchmark.utils.timer import Timer as T
    assert (benchmark.Measurement, benchmark.Compare, benchmark.Timer) == (M, C, T)
    assert benchmark.TaskSpec is common.TaskSpec and benchmark.Language.PYTHON.value == 0


def test_timers_in_two_threads_leave_srcgrad_as_they_found_it():
    import threading

    import srcgrad
    from srcgrad import ir

    original = ir.new_node
    x = srcgrad.ones(8)
    results = []

    def run() -> None:
        results.append(Timer("(x * 2).sum()", globals={"x": x}).timeit(20).median)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 2 and ir.new_node is original
