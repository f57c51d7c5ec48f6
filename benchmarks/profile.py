"""cProfile of srcgrad's hot paths, for whoever works on them.

    python -m benchmarks.profile [SCENARIO ...] [--top N] [--sort tottime|cumtime]

Scenarios (default: all): ``mlp`` (define-by-run 32/64/3 step), ``mlp-compiled``
(its ``@srcgrad.compile`` replay), ``realize`` (realising a cached 10-op chain
with ``.item()``), ``hvp`` (define-by-run Hessian-vector product),
``classifier-compiled`` (decorated nn + Adam step), ``codegen`` (code generation
of a 10,000-op chain), ``record`` (recording a 3,000-step recurrent cell with and
without the cyclic garbage collector). Each prints the wall time per call
without the profiler, then the profile's top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("SRCGRAD_CACHE_DIR", "off")


def _wall(fn: Callable[[], Any], n: int) -> float:
    for _ in range(max(3, n // 10)):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _profile(name: str, fn: Callable[[], Any], n: int, top: int, sort: str) -> None:
    wall = _wall(fn, n)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(n):
        fn()
    pr.disable()
    buf = io.StringIO()
    st = pstats.Stats(pr, stream=buf)
    st.sort_stats(sort).print_stats(top)
    text = buf.getvalue()
    text = text[text.index("   ncalls"):] if "   ncalls" in text else text
    print(f"\n=== {name}: {wall * 1e6:.1f} µs per call without the profiler (median of {n}); profile of {n} calls, "
          f"top {top} by {sort} ===")
    print(text.rstrip())


def _ctx() -> Any:
    from .common import Ctx
    return Ctx(verbose=False)


def scen_mlp(top: int, sort: str) -> None:
    from . import models as M
    _profile("mlp: define-by-run step 32/64/3", M.sg_mlp(_ctx(), M.mlp_data(32, 64, 3), False), 2000, top, sort)


def scen_mlp_compiled(top: int, sort: str) -> None:
    from . import models as M
    _profile("mlp-compiled: @srcgrad.compile step 32/64/3", M.sg_mlp(_ctx(), M.mlp_data(32, 64, 3), True), 3000, top,
             sort)


def scen_realize(top: int, sort: str) -> None:
    import srcgrad as sg

    from .common import f32, rng
    g = rng(2)
    x = sg.tensor(f32(g.standard_normal((8, 32))))
    t = sg.tensor(f32(g.standard_normal((8, 32))))

    def build() -> Any:
        y = x
        for _ in range(3):
            y = sg.sin(y)
            y = y * t
            y = sg.tanh(y)
        return (y + t).sum()

    graphs = []

    def run() -> None:
        graphs.pop().item()

    n = 3000
    for _ in range(2 * n + n // 10 + 3):  # _wall and the profile each use n (+ warm-up)
        graphs.append(build())
    _profile("realize: .item() of a recorded 10-op chain whose program is cached (recording not included)", run, n,
             top, sort)


def scen_hvp(top: int, sort: str) -> None:
    from . import case_hvp
    fn = case_hvp._sg(_ctx(), case_hvp._data(), decorated=False)
    _profile("hvp: define-by-run Hessian-vector product (create_graph=True twice)", fn, 500, top, sort)


def scen_classifier_compiled(top: int, sort: str) -> None:
    import srcgrad as sg

    from . import case_classifier as C
    x, y = C.spirals(64)
    epoch = C._sg(_ctx(), C._batches(x, y, 64), C._weights(), decorated=True)
    del sg
    _profile("classifier-compiled: one epoch (3 steps) of the decorated nn + Adam step", epoch, 500, top, sort)


def scen_codegen(top: int, sort: str) -> None:
    import srcgrad as sg

    from .case_scaling import Inputs, _sg_build
    from .sgprobe import Probe
    build = _sg_build(sg, "chain", Inputs(10000), "cpu")

    def run() -> None:
        with Probe(execute=False):
            leaf, loss = build()
            loss.backward()

    _profile("codegen: record + backward + code generation of a 10,000-op chain (no XLA)", run, 3, top, sort)


def scen_record(top: int, sort: str) -> None:
    import srcgrad as sg

    from .case_scaling import Inputs
    inp = Inputs(3000)
    xs = [sg.tensor(a) for a in inp.xs]

    def run() -> None:
        w = sg.tensor(inp.w, requires_grad=True)
        h = sg.zeros(8, 32)
        for xt in xs:
            h = sg.tanh(h @ w + xt)

    for label, enabled in (("gc on", True), ("gc off", False)):
        (gc.enable if enabled else gc.disable)()
        print(f"\nrecord a 3,000-step recurrent cell (9,000 ops), {label}: {_wall(run, 5) * 1e3:.1f} ms")
    gc.enable()
    _profile("record: forward of a 3,000-step recurrent cell", run, 5, top, sort)


SCENARIOS = {"mlp": scen_mlp, "mlp-compiled": scen_mlp_compiled, "realize": scen_realize, "hvp": scen_hvp,
             "classifier-compiled": scen_classifier_compiled, "codegen": scen_codegen, "record": scen_record}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], default=[])
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--sort", choices=["tottime", "cumtime"], default="tottime")
    args = p.parse_args(argv)
    import jax
    jax.config.update("jax_default_matmul_precision", "highest")
    for name in args.scenarios or list(SCENARIOS):
        SCENARIOS[name](args.top, args.sort)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
