"""What every case shares: the run context, timing, peers, results and the machine description."""

from __future__ import annotations

import datetime
import gc
import importlib
import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# System names, in the order tables show them.
SG = "srcgrad"  # define-by-run: every step recorded, realised from the cache
SGC = "srcgrad.compile"  # the whole step decorated with @srcgrad.compile
JAX = "jax"  # jax.jit(jax.value_and_grad(...)) plus the same update: the floor
TORCH = "torch"  # PyTorch eager
TORCHC = "torch.compile"
HIPS = "autograd"  # HIPS autograd (NumPy)
ORDER = [SG, SGC, JAX, TORCH, TORCHC, HIPS]


# ---------------------------------------------------------------------------
# peers


@dataclass
class Peers:
    """Which optional systems can run here, and why not when they cannot."""

    torch: Any = None
    autograd: Any = None
    missing: dict = field(default_factory=dict)
    torch_compile_ok: bool | None = None  # None: not tried yet
    torch_compile_why: str = ""

    @classmethod
    def detect(cls) -> Peers:
        p = cls()
        try:
            p.torch = importlib.import_module("torch")
        except Exception as e:  # noqa: BLE001 - any import failure means "not available"
            p.missing[TORCH] = f"PyTorch is not installed ({type(e).__name__}); pip install 'srcgrad[bench]'"
            p.missing[TORCHC] = p.missing[TORCH]
        try:
            p.autograd = importlib.import_module("autograd")
            importlib.import_module("autograd.numpy")
        except Exception as e:  # noqa: BLE001
            p.missing[HIPS] = f"HIPS autograd is not installed ({type(e).__name__}); pip install autograd"
        return p


# ---------------------------------------------------------------------------
# the run context


@dataclass
class Ctx:
    quick: bool = False
    smoke: bool = False  # quick, smallest sizes only, fewest repetitions (the test suite's mode)
    device: str = "cpu"  # "cpu" or "gpu"
    peers: Peers = field(default_factory=Peers)
    verbose: bool = True

    @property
    def mode(self) -> str:
        return "smoke" if self.smoke else "quick" if self.quick else "full"

    # srcgrad / JAX / torch device handles
    @property
    def sg_device(self) -> str:
        return "cuda" if self.device == "gpu" else "cpu"

    @property
    def jax_device(self) -> Any:
        import jax
        return jax.devices("gpu")[0] if self.device == "gpu" else jax.devices("cpu")[0]

    @property
    def torch_device(self) -> str:
        return "cuda" if self.device == "gpu" else "cpu"

    def reps(self, step_s_hint: float = 1e-3) -> dict:
        """Warm-up and repetition counts for a step expected to take about ``step_s_hint`` seconds."""
        if self.smoke:
            return {"warmup": 2, "reps": 5, "budget_s": 0.3, "min_reps": 3}
        if self.quick:
            return {"warmup": 3, "reps": 50, "budget_s": 0.8, "min_reps": 5}
        if step_s_hint > 0.5:
            return {"warmup": 1, "reps": 10, "budget_s": 40.0, "min_reps": 8}
        return {"warmup": 10, "reps": 2000, "budget_s": 4.0, "min_reps": 10}

    def log(self, msg: str) -> None:
        if self.verbose:
            print(msg, flush=True)


# ---------------------------------------------------------------------------
# timing


@dataclass
class Timing:
    """Per-call times of one measured function (seconds)."""

    times: list

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.times)

    def quantile(self, q: float) -> float:
        s = sorted(self.times)
        return s[min(len(s) - 1, int(q * len(s)))]

    def summary(self) -> dict:
        return {"median_s": self.median, "mean_s": self.mean, "p10_s": self.quantile(0.1),
                "p90_s": self.quantile(0.9), "n": len(self.times)}


def measure(fn: Callable[[], Any], warmup: int = 3, reps: int = 50, budget_s: float = 1.0,
            min_reps: int = 5) -> Timing:
    """Call ``fn`` ``warmup`` times, then time each of up to ``reps`` calls (stopping after
    ``budget_s`` once ``min_reps`` are in). ``fn`` must wait for its own results."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_reps and time.perf_counter() - start > budget_s:
            break
    return Timing(times)


def measure_interleaved(fns: dict[str, Callable[[], Any]], warmup: int = 3, reps: int = 50, budget_s: float = 1.0,
                        min_reps: int = 5, rounds: int = 5, failed: dict | None = None) -> dict[str, Timing]:
    """Time several systems in alternation: after the warm-up, ``rounds`` rounds each run every
    system for its share of the repetitions and budget, so drift in the machine's load (other
    processes, frequency) falls on every system alike. A system that raises is dropped and its
    error put in ``failed``."""
    live = dict(fns)
    times: dict[str, list] = {k: [] for k in fns}

    def call(k: str) -> bool:
        try:
            live[k]()
            return True
        except Exception as e:  # noqa: BLE001 - a failing system is reported, the others go on
            if failed is not None:
                failed[k] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
            del live[k]
            return False

    for k in list(live):
        for _ in range(warmup):
            if not call(k):
                break
    rounds = max(1, min(rounds, reps))
    per_reps = max(1, reps // rounds)
    per_min = max(1, -(-min_reps // rounds))
    per_budget = budget_s / rounds
    for _ in range(rounds):
        for k in list(live):
            start = time.perf_counter()
            for i in range(per_reps):
                t0 = time.perf_counter()
                if not call(k):
                    break
                times[k].append(time.perf_counter() - t0)
                if i + 1 >= per_min and time.perf_counter() - start > per_budget:
                    break
    return {k: Timing(v) for k, v in times.items() if v and k in live}


def measure_batched(fn: Callable[[], Any], inner: int, rounds: int = 7, warmup: int = 1) -> Timing:
    """Time ``rounds`` batches of ``inner`` calls; each entry is the mean time of one call in a batch."""
    for _ in range(warmup):
        for _ in range(inner):
            fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return Timing(times)


def once(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Time one call of ``fn``; returns (seconds, result)."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def fit_slope(ns: list, values: list) -> float | None:
    """The exponent ``k`` of ``value ~ N**k`` fitted on log-log axes (None if too few positive points)."""
    pts = [(np.log(n), np.log(v)) for n, v in zip(ns, values) if v is not None and v > 0]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def growth_word(slope: float | None) -> str:
    if slope is None:
        return "n/a"
    if slope < 0.85:
        return "sublinear (overhead-dominated)"
    if slope <= 1.2:
        return "linear"
    return f"superlinear (N^{slope:.2f})"


# ---------------------------------------------------------------------------
# inputs


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def f32(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def close(a: Any, b: Any, rtol: float = 2e-3, atol: float = 1e-5) -> bool:
    return bool(np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=atol))


# ---------------------------------------------------------------------------
# results


@dataclass
class Row:
    config: str
    system: str
    metric: str
    value: float
    unit: str
    extra: dict = field(default_factory=dict)
    ratio: float | None = None  # to JAX, filled in by finish()


class CaseResult:
    """What one case measured: rows, systems run or skipped, targets, notes."""

    def __init__(self, name: str, title: str, systems: list[str]) -> None:
        self.name = name
        self.title = title
        self.declared = list(systems)
        self.rows: list[Row] = []
        self.ran: list[str] = []
        self.skipped: dict[str, str] = {}
        self.targets: list[dict] = []
        self.notes: list[str] = []
        self.checks: dict[str, Any] = {}
        self.seconds = 0.0
        self.error: str | None = None

    def add(self, config: str, system: str, metric: str, value: float | None, unit: str = "s", **extra: Any) -> None:
        if value is None:
            return
        self.rows.append(Row(config, system, metric, float(value), unit, extra))
        if system not in self.ran:
            self.ran.append(system)

    def add_timing(self, config: str, system: str, metric: str, t: Timing, **extra: Any) -> None:
        self.add(config, system, metric, t.median, "s", **t.summary(), **extra)

    def skip(self, system: str, reason: str) -> None:
        if system not in self.ran and system not in self.skipped:
            self.skipped[system] = reason

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def target(self, name: str, goal: str, value: Any, met: bool | None) -> None:
        self.targets.append({"target": name, "goal": goal, "value": value, "met": met})

    def value(self, config: str, system: str, metric: str) -> float | None:
        for r in self.rows:
            if (r.config, r.system, r.metric) == (config, system, metric):
                return r.value
        return None

    def finish(self) -> None:
        """Fill in ratios to JAX for every (config, metric) that JAX measured."""
        jax_rows = {(r.config, r.metric): r.value for r in self.rows if r.system == JAX}
        for r in self.rows:
            base = jax_rows.get((r.config, r.metric))
            if base:
                r.ratio = r.value / base
        for s in self.declared:
            if s not in self.ran and s not in self.skipped:
                self.skipped[s] = "not measured (see notes)"

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "declared": list(self.declared),
            "systems": {s: "ran" for s in self.ran},
            "skipped": dict(self.skipped),
            "rows": [{"config": r.config, "system": r.system, "metric": r.metric, "value": r.value, "unit": r.unit,
                      "ratio_to_jax": r.ratio, **r.extra} for r in self.rows],
            "targets": self.targets,
            "notes": self.notes,
            "checks": self.checks,
            "seconds": self.seconds,
            "error": self.error,
        }


def skip_missing(ctx: Ctx, res: CaseResult, systems: list[str]) -> list[str]:
    """The systems of ``systems`` that can run; the others are skipped with the reason."""
    out = []
    for s in systems:
        if s in ctx.peers.missing:
            res.skip(s, ctx.peers.missing[s])
        elif s == TORCHC and ctx.quick:
            res.skip(s, "skipped in --quick (torch.compile takes seconds per shape); run the full suite")
        elif s == TORCHC and torch_compile_check(ctx) is False:
            res.skip(s, ctx.peers.torch_compile_why)
        elif s in (TORCH, TORCHC) and ctx.device == "gpu" and not ctx.peers.torch.cuda.is_available():
            res.skip(s, "this PyTorch build has no CUDA")
        elif s == HIPS and ctx.device == "gpu":
            res.skip(s, "HIPS autograd runs on NumPy (CPU only)")
        else:
            out.append(s)
    return out


def guarded(res: CaseResult, system: str, fn: Callable[[], Any]) -> Any:
    """Run one system's part of a case; a failure skips that system with the error, not the suite."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - a failing peer is reported, not fatal
        msg = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        res.skip(system, msg)
        res.note(f"{system}: {msg}")
        return None


# ---------------------------------------------------------------------------
# srcgrad helpers


class torch_threads:  # noqa: N801 - used like a function: with torch_threads(torch, 1): ...
    """Run PyTorch with ``n`` intra-op threads inside the block (its default is one per core).

    On a 2-core machine PyTorch's OpenMP pool costs more than it gives at small sizes: every
    parallel region wakes a sleeping thread. The small cases therefore also report PyTorch
    with one thread, and targets compare against the better of the two."""

    def __init__(self, torch: Any, n: int) -> None:
        self.torch, self.n = torch, n

    def __enter__(self) -> None:
        self.old = self.torch.get_num_threads()
        self.torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        self.torch.set_num_threads(self.old)




def torch_one_thread(ctx: Ctx, res: CaseResult, cfg: str, fn: Callable[[], Any], metric: str, hint: float) -> None:
    """Time ``fn`` (a PyTorch system) again with one intra-op thread, as row ``metric``."""
    if ctx.device != "cpu" or ctx.peers.torch is None:
        return
    with torch_threads(ctx.peers.torch, 1):
        t = measure(fn, **ctx.reps(hint))
    res.add(cfg, TORCH, metric, t.median, "s", **t.summary())
    ctx.log(f"  {cfg:>14} {TORCH:<16} {metric}: {t.median * 1e6:12.1f} µs (n={len(t.times)})")


def best_torch(res: CaseResult, cfg: str, metrics: list[str]) -> float | None:
    """The faster of PyTorch's figures (default threads, one thread) for ``cfg``."""
    vals = [v for v in (res.value(cfg, TORCH, m) for m in metrics) if v]
    return min(vals) if vals else None


def sg_sync(t: Any) -> None:
    """Wait for a srcgrad tensor's value (realising it if it is pending)."""
    t._value().block_until_ready()


def sg_clear() -> None:
    """Forget srcgrad's compiled programs, so a first call compiles again."""
    import srcgrad
    srcgrad.clear_cache()
    gc.collect()


def torch_compile_check(ctx: Ctx) -> bool | None:
    """Try torch.compile on a tiny function once; remember (and return) whether it works."""
    p = ctx.peers
    if p.torch_compile_ok is not None or p.torch is None or ctx.quick:
        return p.torch_compile_ok
    torch = p.torch
    try:
        t0 = time.perf_counter()
        f = torch.compile(lambda a, b: torch.tanh(a @ b).sum())
        a = torch.randn(4, 4, device=ctx.torch_device)
        b = torch.randn(4, 4, device=ctx.torch_device, requires_grad=True)
        f(a, b).backward()
        dt = time.perf_counter() - t0
        if dt > 180:
            p.torch_compile_ok, p.torch_compile_why = False, f"torch.compile took {dt:.0f} s on a 4x4 function here"
        else:
            p.torch_compile_ok = True
            ctx.log(f"  torch.compile works here (first compile {dt:.1f} s)")
    except Exception as e:  # noqa: BLE001
        p.torch_compile_ok, p.torch_compile_why = False, f"torch.compile does not work here: {type(e).__name__}: {e}"
    return p.torch_compile_ok


# ---------------------------------------------------------------------------
# the machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine(ctx: Ctx) -> dict:
    import jax
    gpus = []
    try:
        gpus = [d.device_kind for d in jax.devices("gpu")]
    except RuntimeError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_gib": _mem_gib(),
        "gpu": gpus or None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {d: _version(d) for d in ("srcgrad", "jax", "jaxlib", "numpy", "torch", "autograd")},
        "jax_backend": jax.default_backend(),
        "matmul_precision": "float32 everywhere: srcgrad default ('highest'), JAX jax_default_matmul_precision="
                            "'highest', PyTorch CPU full fp32"
                            + (", torch.backends.cuda.matmul.allow_tf32=False" if ctx.device == "gpu" else ""),
        "srcgrad_disk_cache": "off where cases are measured (SRCGRAD_CACHE_DIR=off); case 'persistent' uses "
                              "temporary folders of its own",
    }
