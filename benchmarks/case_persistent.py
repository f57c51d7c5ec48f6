"""Case 8: the persistent cache — a fresh process with a warm disk cache.

A child process (``python -m benchmarks.case_persistent --child``) imports
srcgrad, builds the transformer block of case 3 (the 32/64/3 MLP in the smoke
mode) and calls its ``@srcgrad.compile``'d training step once. It runs first
with ``SRCGRAD_CACHE_DIR`` pointing at an empty temporary folder (cold: trace,
generate, XLA compile, write the cache), then again with the same folder
(warm: the generated source and the XLA executable come from disk). Reported:
the first call alone and the time from the child's start (before importing
srcgrad and JAX) to its first result.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .common import SGC, CaseResult, Ctx

NAME = "persistent"
TITLE = "Persistent cache: first result in a fresh process, cold vs warm disk cache"
SYSTEMS = [SGC]


def _child(model: str) -> None:
    t_start = time.perf_counter()
    import jax
    jax.config.update("jax_default_matmul_precision", "highest")
    import srcgrad  # noqa: F401

    from . import models as M
    from .common import Ctx
    t_import = time.perf_counter()
    ctx = Ctx(verbose=False)
    if model == "mlp":
        step = M.sg_mlp(ctx, M.mlp_data(32, 64, 3), decorated=True)
    else:
        step = M.sg_block(ctx, M.block_data(), decorated=True)
    t0 = time.perf_counter()
    loss = step()
    t1 = time.perf_counter()
    step()
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t_import - t_start, "first_call_s": t1 - t0, "to_first_result_s": t1 - t_start,
                      "second_call_s": t2 - t1, "loss": loss}))


def _spawn(model: str, cache: str) -> dict:
    env = dict(os.environ, SRCGRAD_CACHE_DIR=cache)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "benchmarks.case_persistent", "--child", model], env=env, cwd=root,
                       capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}): {p.stderr.strip().splitlines()[-1:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


def run(ctx: Ctx, res: CaseResult) -> None:
    model = "mlp" if ctx.smoke else "block"
    cfg = "MLP 32/64/3 step" if model == "mlp" else "transformer block step (case 3)"
    tmp = tempfile.mkdtemp(prefix="srcgrad-bench-cache-")
    try:
        cold = _spawn(model, tmp)
        warms = [_spawn(model, tmp) for _ in range(1 if ctx.quick else 3)]
    except Exception as e:  # noqa: BLE001
        res.skip(SGC, f"failed: {type(e).__name__}: {e}")
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for label, runs in (("cold", [cold]), ("warm", warms)):
        for key, metric in (("first_call_s", "first call"), ("to_first_result_s", "process start to first result"),
                            ("import_s", "import srcgrad+jax"), ("process_wall_s", "process wall time")):
            vals = [r[key] for r in runs]
            res.add(f"{cfg}, {label} disk cache", SGC, metric, statistics.median(vals), "s", runs=vals)
        ctx.log(f"  {label}: first call {statistics.median(r['first_call_s'] for r in runs) * 1e3:8.1f} ms, "
                f"start to first result {statistics.median(r['to_first_result_s'] for r in runs):6.2f} s")
    res.checks["same loss cold and warm"] = all(abs(w["loss"] - cold["loss"]) <= 1e-6 * max(1, abs(cold["loss"]))
                                                for w in warms)
    wc = statistics.median(r["first_call_s"] for r in warms)
    res.target("warm first call vs cold first call", "<= 1/3 (0.333)", wc / cold["first_call_s"],
               wc <= cold["first_call_s"] / 3)
    ws = statistics.median(r["to_first_result_s"] for r in warms)
    res.target("warm process start-to-first-result vs cold (includes importing JAX)", "<= 1/3 (0.333)",
               ws / cold["to_first_result_s"], ws <= cold["to_first_result_s"] / 3)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        _child(sys.argv[2])
