"""torch.profiler: activities, record_function, the step schedule, trace handlers."""

import gzip
import json
import os
import warnings

import pytest

import srcgrad
from srcgrad.profiler import (
    ProfilerAction,
    ProfilerActivity,
    profile,
    record_function,
    schedule,
    supported_activities,
    tensorboard_trace_handler,
)

A = ProfilerAction


def test_profiling_tutorial_runs():
    # PyTorch's "Profiling your PyTorch Module" recipe, on a small model
    model = srcgrad.nn.Sequential(srcgrad.nn.Linear(16, 32), srcgrad.nn.ReLU(), srcgrad.nn.Linear(32, 4))
    inputs = srcgrad.randn(5, 16)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            model(inputs).sum().item()
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)
    rows = [line.split()[0] for line in table.splitlines()[3:-3]]
    assert rows[0] == "model_inference" and "linear" in rows and len(rows) <= 10
    shaped = prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_time_total", row_limit=10)
    assert "[[5, 16], [32, 16], [32]]" in shaped
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True) as mem:
        model(inputs).sum().item()
    assert "Self CPU Mem" in mem.key_averages().table(sort_by="self_cpu_memory_usage", row_limit=10)
    assert supported_activities() == {ProfilerActivity.CPU}


@pytest.mark.parametrize("args", [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=1, active=3, repeat=2),
                                  dict(wait=2, warmup=1, active=1, repeat=1, skip_first=3),
                                  dict(wait=5, warmup=1, active=2, skip_first=2, skip_first_wait=1)])
def test_schedule_matches_pytorch(args):
    ours = schedule(**args)
    expected = _pytorch_schedule(**args)
    assert [ours(k).name for k in range(24)] == [expected(k) for k in range(24)]


def _pytorch_schedule(wait, warmup, active, repeat=0, skip_first=0, skip_first_wait=0):
    """torch.profiler.schedule's actions where PyTorch is installed; else the rule it documents."""
    try:
        import torch.profiler
        fn = torch.profiler.schedule(wait=wait, warmup=warmup, active=active, repeat=repeat, skip_first=skip_first,
                                     skip_first_wait=skip_first_wait)
        return lambda k: fn(k).name
    except ImportError:
        def fn(k):
            if k < skip_first:
                return "NONE"
            k = k - skip_first + (wait if skip_first_wait else 0)
            n = wait + warmup + active
            if repeat and k // n >= repeat:
                return "NONE"
            m = k % n
            return "NONE" if m < wait else "WARMUP" if m < wait + warmup else \
                "RECORD" if m < n - 1 else "RECORD_AND_SAVE"
        return fn


def test_schedule_argument_errors_and_warning():
    with pytest.raises(AssertionError, match=r"active=0 \(need > 0\)"):
        schedule(wait=1, warmup=1, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        schedule(wait=1, warmup=0, active=1)


def test_scheduled_profile_collects_only_active_steps():
    a = srcgrad.randn(8)
    traces = []

    def ready(prof):
        traces.append(sorted({e.name for e in prof.events() if e.name.startswith("ProfilerStep#")}))
        assert {e.key for e in prof.key_averages()} >= {"exp"}

    with profile(schedule=schedule(wait=1, warmup=1, active=2, repeat=2), on_trace_ready=ready) as prof:
        for _ in range(10):
            a.exp()
            prof.step()
    assert traces == [["ProfilerStep#2", "ProfilerStep#3"], ["ProfilerStep#6", "ProfilerStep#7"]]
    assert prof.step_num == 10


def test_profile_without_schedule_reports_once_at_the_end():
    calls = []
    with profile(on_trace_ready=lambda p: calls.append(len(p.events()))):
        srcgrad.randn(3).exp()
    assert calls == [1]


def test_tensorboard_trace_handler_writes_chrome_traces(tmp_path):
    a = srcgrad.randn(4)
    with profile(schedule=schedule(wait=0, warmup=1, active=1, repeat=1),
                 on_trace_ready=tensorboard_trace_handler(str(tmp_path / "log"), worker_name="w0")) as prof:
        for _ in range(3):
            a.cos()
            prof.step()
    files = os.listdir(tmp_path / "log")
    assert len(files) == 1 and files[0].startswith("w0.") and files[0].endswith(".pt.trace.json")
    trace = json.loads((tmp_path / "log" / files[0]).read_text())
    assert {"cos", "ProfilerStep#1"} <= {e["name"] for e in trace["traceEvents"]}
    with profile(on_trace_ready=tensorboard_trace_handler(str(tmp_path / "gz"), use_gzip=True)):
        a.cos()
    (name,) = os.listdir(tmp_path / "gz")
    assert name.endswith(".pt.trace.json.gz")
    with gzip.open(tmp_path / "gz" / name) as f:
        assert json.load(f)["traceEvents"][0]["name"] == "cos"


def test_record_function_as_decorator_and_incorrect_schedules_warn():
    @record_function("my_fn")
    def f(x):
        return x * 2

    with profile() as prof:
        f(srcgrad.ones(2))
    names = [e.name for e in prof.events()]
    assert names == ["my_fn", "mul"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with profile(schedule=lambda k: [A.RECORD, A.NONE, A.NONE][min(k, 2)]) as p:
            p.step()
    assert any("Incorrect schedule: RECORD followed by NONE" in str(w.message) for w in caught)


def test_events_before_any_active_step_raise_a_clear_error():
    with profile(schedule=schedule(wait=5, warmup=1, active=1)) as prof:
        prof.step()
    with pytest.raises(RuntimeError, match="collected no events yet"):
        prof.key_averages()
