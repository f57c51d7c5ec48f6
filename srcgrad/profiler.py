"""``torch.profiler``: ``profile`` with activities, a step ``schedule`` and trace handlers.

The collection is ``srcgrad.autograd.profiler``'s (what the rows mean is explained there and in
``docs/autograd.md``); this module adds PyTorch's newer interface around it: ``prof.step()``
driving a ``schedule(wait=, warmup=, active=, repeat=)``, ``on_trace_ready`` called at the end of
each active cycle, and ``tensorboard_trace_handler`` writing Chrome traces TensorBoard reads.
"""

from __future__ import annotations

import enum
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from .autograd.profiler import _start_session, _stop_session, record_function
from .autograd.profiler_util import EventList, FunctionEventAvg

__all__ = ["profile", "record_function", "schedule", "tensorboard_trace_handler", "ProfilerActivity",
           "ProfilerAction", "supported_activities"]


class ProfilerActivity(enum.Enum):
    CPU = 0
    XPU = 1
    MTIA = 2
    CUDA = 3
    HPU = 4
    PrivateUse1 = 5


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def supported_activities() -> set[ProfilerActivity]:
    """srcgrad times host-side work only (a program's run is timed until its results are ready)."""
    return {ProfilerActivity.CPU}


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """PyTorch's step schedule: skip ``skip_first`` steps, then cycles of ``wait`` idle steps,
    ``warmup`` steps collected and thrown away, and ``active`` steps collected; ``repeat``
    cycles (0: until the profile ends)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
                             f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
                             f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        cycle = wait + warmup + active
        if repeat > 0 and step / cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if k < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def _always_record(step: int) -> ProfilerAction:
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable[[profile], None]:
    """An ``on_trace_ready`` that writes each cycle's trace to ``dir_name`` as
    ``<worker>.<ns>.pt.trace.json`` (gzipped with ``use_gzip``)."""
    def handler(prof: profile) -> None:
        nonlocal worker_name
        try:
            os.makedirs(dir_name, exist_ok=True)
        except OSError as e:
            raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        path = os.path.join(dir_name, f"{worker_name}.{time.time_ns()}.pt.trace.json")
        prof.export_chrome_trace(path + ".gz" if use_gzip else path)
    return handler


class profile:  # noqa: N801
    """``torch.profiler.profile``: times srcgrad's work inside the block, or, with a
    ``schedule``, in the steps it marks active (call ``prof.step()`` at the end of each step).

    The summary is ``prof.key_averages().table(sort_by="cpu_time_total", row_limit=10)``;
    ``record_shapes`` adds input shapes, ``profile_memory`` the bytes each program's results
    take, ``with_stack`` the user's source lines. ``activities`` may name CUDA: srcgrad times no
    device kernels; a program's ``srcgrad::run`` row lasts until its results are ready."""

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable[[profile], Any] | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: bool | None = None, **kwargs: Any) -> None:
        self.activities = set(activities) if activities is not None else supported_activities()
        if use_cuda:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead", FutureWarning, stacklevel=2)
        self.schedule = schedule if schedule is not None else _always_record
        self.record_steps = schedule is not None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._session: Any = None
        self._events: EventList | None = None
        self._step_range: record_function | None = None

    # -- collecting ------------------------------------------------------------------------

    def _start_trace(self) -> None:
        self._session = _start_session(self.record_shapes, self.profile_memory, self.with_stack)

    def _stop_trace(self, keep: bool = True) -> None:
        if self._session is not None:
            _stop_session(self._session)
            if keep:
                self._events = self._session.events()
            self._session = None

    def _trace_ready(self) -> None:
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)

    def _transit(self, prev: ProfilerAction | None, new: ProfilerAction | None) -> None:
        """Act on a change of schedule action (PyTorch's table of transitions; WARMUP collects
        nothing that is kept)."""
        collecting = (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE)
        if prev == ProfilerAction.RECORD_AND_SAVE or (prev in collecting and new not in collecting):
            if prev == ProfilerAction.RECORD and new is not None:
                warnings.warn(f"Incorrect schedule: RECORD followed by {new.name}", stacklevel=3)
            self._stop_trace()
            if prev == ProfilerAction.RECORD_AND_SAVE or new is None:
                self._trace_ready()
        if prev == ProfilerAction.WARMUP and new not in collecting and new is not None:
            warnings.warn("Incorrect schedule: WARMUP followed by NONE", stacklevel=3)
        if new in collecting and self._session is None:
            self._start_trace()

    def start(self) -> None:
        self._transit(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def stop(self) -> None:
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None
        self._transit(self.current_action, None)

    def step(self) -> None:
        """The current step is over: move the schedule on."""
        if self._step_range is not None:
            self._step_range.__exit__(None, None, None)
            self._step_range = None
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        self._transit(prev, self.current_action)
        if self.record_steps:
            self._step_range = record_function(f"ProfilerStep#{self.step_num}")
            self._step_range.__enter__()

    def __enter__(self) -> profile:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- results -----------------------------------------------------------------------------

    def events(self) -> EventList:
        if self._session is not None:  # (inside the block: what is collected so far)
            return self._session.events()
        if self._events is None:
            raise RuntimeError("the profiler has collected no events yet (the schedule made no step active)")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def total_average(self) -> FunctionEventAvg:
        return self.events().total_average()

    def export_chrome_trace(self, path: str) -> None:
        if path.endswith(".gz"):
            import gzip
            import tempfile
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
                name = tmp.name
            try:
                self.events().export_chrome_trace(name)
                with open(name, "rb") as src, gzip.open(path, "wb") as dst:
                    dst.write(src.read())
            finally:
                os.unlink(name)
        else:
            self.events().export_chrome_trace(path)
