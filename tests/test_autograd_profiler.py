"""torch.autograd.profiler: what a profile collects, how its table prints, and that it leaves
recording as it found it."""

import json
import warnings

import numpy as np
import pytest

import srcgrad
from srcgrad import compiler, ir
from srcgrad.autograd import profiler
from srcgrad.autograd.profiler_util import EventList, FunctionEvent

TENSOR = __import__("sys").modules["srcgrad.tensor"]


def _rows(prof, **kw):
    return {e.key: e for e in prof.key_averages(**kw)}


def test_intro_tutorial_profile_runs_and_counts_each_op():
    # PyTorch's "Introduction to PyTorch" autograd video, as written
    device = srcgrad.device("cpu")
    run_on_gpu = False
    if srcgrad.cuda.is_available():
        device = srcgrad.device("cuda")
        run_on_gpu = True
    x = srcgrad.randn(2, 3, requires_grad=True)
    y = srcgrad.rand(2, 3, requires_grad=True)
    z = srcgrad.ones(2, 3, requires_grad=True)
    with srcgrad.autograd.profiler.profile(use_cuda=run_on_gpu) as prf:
        for _ in range(1000):
            z = (z / x) * y
    table = prf.key_averages().table(sort_by="self_cpu_time_total")
    lines = table.splitlines()
    assert lines[1].split() == ["Name", "Self", "CPU", "%", "Self", "CPU", "CPU", "total", "%", "CPU", "total",
                                "CPU", "time", "avg", "#", "of", "Calls"]
    assert set(lines[0]) == set(lines[2]) == {"-", " "}
    rows = _rows(prf)
    assert rows["div"].count == rows["mul"].count == 1000
    assert lines[-1].startswith("Self CPU time total: ")
    assert device.type == "cpu"
    np.testing.assert_allclose(z.detach().numpy().shape, (2, 3))


def test_table_columns_line_up_as_pytorch_lays_them_out():
    events = EventList([FunctionEvent(0, "aten::mul", 1, 0.0, 2.5), FunctionEvent(1, "aten::div", 1, 3.0, 4.0)])
    table = events.key_averages().table(sort_by="cpu_time_total")
    # PyTorch 2.x's table of the same two events
    assert table == (
        "-------------  ------------  ------------  ------------  ------------  ------------  ------------  \n"
        "         Name    Self CPU %      Self CPU   CPU total %     CPU total  CPU time avg    # of Calls  \n"
        "-------------  ------------  ------------  ------------  ------------  ------------  ------------  \n"
        "    aten::mul        71.43%       2.500us        71.43%       2.500us       2.500us             1  \n"
        "    aten::div        28.57%       1.000us        28.57%       1.000us       1.000us             1  \n"
        "-------------  ------------  ------------  ------------  ------------  ------------  ------------  \n"
        "Self CPU time total: 3.500us\n")


def test_record_function_nests_ops_and_self_time_excludes_children():
    a = srcgrad.randn(4, 4)
    with profiler.profile() as prof:
        with profiler.record_function("outer"):
            b = a * 2
            with profiler.record_function("inner"):
                c = b + 1
    del c
    events = prof.function_events
    outer = next(e for e in events if e.name == "outer")
    inner = next(e for e in events if e.name == "inner")
    mul = next(e for e in events if e.name == "mul")
    add = next(e for e in events if e.name == "add")
    assert mul.cpu_parent is outer and inner.cpu_parent is outer and add.cpu_parent is inner
    assert outer.is_user_annotation and not mul.is_user_annotation
    assert outer.self_cpu_time_total == pytest.approx(outer.cpu_time_total - mul.cpu_time_total - inner.cpu_time_total)
    assert outer.start_us <= mul.start_us <= mul.end_us <= inner.start_us <= add.start_us <= inner.end_us <= outer.end_us


def test_record_shapes_and_grouping_by_input_shape():
    m = srcgrad.nn.Linear(10, 5)
    with profiler.profile(record_shapes=True) as prof:
        m(srcgrad.randn(4, 10))
        m(srcgrad.randn(3, 10))
    rows = _rows(prof)
    assert rows["linear"].count == 2 and rows["linear"].input_shapes == []
    by_shape = [e for e in prof.key_averages(group_by_input_shape=True) if e.key == "linear"]
    assert sorted(str(e.input_shapes) for e in by_shape) == ["[[3, 10], [5, 10], [5]]", "[[4, 10], [5, 10], [5]]"]
    assert "Input Shapes" in prof.key_averages(group_by_input_shape=True).table()


def test_stages_show_codegen_compile_and_run_with_their_memory():
    x = srcgrad.randn(3, 7, 11, requires_grad=True)  # (a shape no other test compiles)
    with profiler.profile(profile_memory=True) as prof:
        loss = (x.tanh() * 3).sum()
        loss.backward()
    rows = _rows(prof)
    for stage in ("srcgrad::backward", "srcgrad::transform", "srcgrad::realize", "srcgrad::run", "srcgrad::codegen",
                  "TanhBackward0", "MulBackward0", "SumBackward0"):
        assert stage in rows, stage
    run = next(e for e in prof.function_events if e.name == "srcgrad::run")
    assert run.cpu_parent.name == "srcgrad::realize" and run.cpu_parent.cpu_parent.name == "srcgrad::backward"
    assert run.cpu_memory_usage >= x.grad.numel() * 4  # (its results: the gradient at least)
    assert run.cpu_parent.cpu_memory_usage == run.cpu_memory_usage  # (a range counts what its children allocate)
    assert "CPU Mem" in prof.key_averages().table()
    # a later step of the same shape compiles nothing (the first program also computed randn)
    for _ in range(2):
        x.grad = None
        with profiler.profile() as again:
            (x.tanh() * 3).sum().backward()
    names = {e.name for e in again.function_events}
    assert "srcgrad::run" in names and "srcgrad::codegen" not in names and "srcgrad::xla_compile" not in names


def test_hooks_are_removed_after_the_profile_even_on_error():
    plain = (TENSOR._before_record, ir.new_node, compiler.realize, compiler.call_program, ir.set_block)
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        with profiler.profile():
            with profiler.record_function("bad"):
                srcgrad.nn.functional.linear(srcgrad.randn(2, 3), srcgrad.randn(4, 5))
    assert (TENSOR._before_record, ir.new_node, compiler.realize, compiler.call_program, ir.set_block) == plain
    assert TENSOR._before_record is None and ir.new_node is ir._plain_new_node


def test_autocast_inside_a_profile_keeps_both_hooks():
    a = srcgrad.randn(4, 4)
    with profiler.profile() as prof:
        with srcgrad.autocast("cpu", dtype=srcgrad.bfloat16):
            assert (a @ a).dtype is srcgrad.bfloat16
            assert TENSOR._before_record is not None
        assert (a @ a).dtype is srcgrad.float32
    assert _rows(prof)["matmul"].count == 2
    assert TENSOR._before_record is None
    with srcgrad.autocast("cpu", dtype=srcgrad.bfloat16):
        with profiler.profile() as prof2:
            assert (a @ a).dtype is srcgrad.bfloat16
        assert (a @ a).dtype is srcgrad.bfloat16  # (the profile's end leaves autocast's hook)
    assert "matmul" in _rows(prof2)


def test_with_stack_names_the_users_line():
    a = srcgrad.randn(3)
    with profiler.profile(with_stack=True) as prof:
        a.exp()
    exp = next(e for e in prof.function_events if e.name == "exp")
    assert exp.stack and "test_autograd_profiler.py" in exp.stack[0]
    assert "Source Location" in prof.key_averages(group_by_stack_n=1).table()


def test_chrome_trace_and_results_inside_the_block(tmp_path):
    a = srcgrad.randn(3)
    with profiler.profile() as prof:
        a.sin()
        assert [e.name for e in prof.function_events] == ["sin"]  # (what is collected so far)
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    trace = json.loads(path.read_text())
    assert [e["name"] for e in trace["traceEvents"]] == ["sin"]
    assert trace["traceEvents"][0]["ph"] == "X" and trace["traceEvents"][0]["dur"] >= 0
    assert str(prof) == prof.function_events.table()


def test_use_cuda_without_a_gpu_warns_as_pytorch():
    if srcgrad.cuda.is_available():
        pytest.skip("a GPU is present")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with profiler.profile(use_cuda=True):
            pass
    assert [type(w.message) for w in caught] == [FutureWarning, UserWarning]
    assert "CUDA is not available, disabling CUDA profiling" in str(caught[1].message)


def test_disabled_profile_collects_nothing_and_record_function_is_free_outside():
    with profiler.record_function("nothing"):
        pass
    with profiler.profile(enabled=False) as prof:
        srcgrad.randn(2).exp()
    assert TENSOR._before_record is None
    with pytest.raises(RuntimeError, match="Profiler didn't finish running"):
        prof.function_events  # noqa: B018


def test_totals_and_sorting():
    events = EventList([FunctionEvent(0, "a", 1, 0.0, 1.0), FunctionEvent(1, "b", 1, 2.0, 5.0),
                        FunctionEvent(2, "a", 1, 6.0, 8.0)])
    avg = events.key_averages()
    assert [(e.key, e.count, e.cpu_time_total) for e in avg] == [("a", 2, 3.0), ("b", 1, 3.0)]
    assert avg[0].cpu_time == 1.5 and avg[0].cpu_time_str == "1.500us"
    total = events.total_average()
    assert (total.key, total.count, total.cpu_time_total) == ("Total", 3, 6.0)
    table = events.table(sort_by="cpu_time_total", row_limit=1)
    assert " b " in table and " a " not in table


def test_a_compiled_functions_calls_are_ranges_around_their_replay():
    w = srcgrad.randn(4, 4, requires_grad=True)

    @srcgrad.compile
    def step(x):
        loss = (x @ w).tanh().sum()
        loss.backward()
        with srcgrad.no_grad():
            w.sub_(0.1 * w.grad)
        w.grad = None
        return loss

    x = srcgrad.randn(2, 4)
    for _ in range(3):
        step(x)
    plain_call = srcgrad.compiled.CompiledFunction.__call__
    with profiler.profile() as prof:
        for _ in range(2):
            step(x).item()
    rows = _rows(prof)
    assert rows["srcgrad.compile: step"].count == 2 and rows["srcgrad::run"].count == 2
    run = next(e for e in prof.function_events if e.name == "srcgrad::run")
    assert run.cpu_parent.name == "srcgrad.compile: step"
    assert srcgrad.compiled.CompiledFunction.__call__ is plain_call
