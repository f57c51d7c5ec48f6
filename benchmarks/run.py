"""The suite's entry point: ``python -m benchmarks [--quick] [--device cpu|gpu] [--cases a,b] [--out FILE]``.

Runs every case (or the ones named), prints one table per case and writes a
JSON file with every figure, the machine and library versions. ``--report
FILE`` prints the tables of an earlier JSON file as Markdown instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

from . import (
    case_classifier,
    case_dynamic,
    case_hvp,
    case_mlp,
    case_per_sample,
    case_persistent,
    case_recording,
    case_scaling,
    case_transformer,
)
from .common import JAX, ORDER, CaseResult, Ctx, Peers, machine

CASES = [case_recording, case_mlp, case_transformer, case_dynamic, case_scaling, case_hvp, case_classifier,
         case_per_sample, case_persistent]
CASE_NAMES = [c.NAME for c in CASES]
HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------
# formatting


def fmt_value(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        a = abs(v)
        if a >= 1:
            return f"{v:.2f} s"
        if a >= 1e-3:
            return f"{v * 1e3:.2f} ms"
        return f"{v * 1e6:.2f} µs"
    if unit == "bytes":
        return f"{v / 2**20:.2f} MiB"
    return f"{v:.4g} {unit}".strip()


def _systems(case: dict) -> list[str]:
    ran = [s for s in ORDER if s in case["systems"]]
    return ran + [s for s in case["systems"] if s not in ran]


def case_table(case: dict, markdown: bool = False) -> str:
    """One case's rows as a table: (config, metric) down, systems across, 'value (ratio to JAX)' cells."""
    systems = _systems(case)
    by_config: dict[str, list[str]] = {}
    cells: dict[tuple, str] = {}
    for r in case["rows"]:
        metrics = by_config.setdefault(r["config"], [])
        if r["metric"] not in metrics:
            metrics.append(r["metric"])
        cell = fmt_value(r["value"], r["unit"])
        if r.get("ratio_to_jax") is not None and r["system"] != JAX:
            cell += f" ({r['ratio_to_jax']:.2f}x)"
        cells[(r["config"], r["metric"], r["system"])] = cell
    header = ["config", "metric"] + systems
    body = [[c, m] + [cells.get((c, m, s), "") for s in systems] for c, ms in by_config.items() for m in ms]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)] if body else [len(h) for h in header]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths))
    out = [line, "-" * len(line)]
    out += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)) for row in body]
    return "\n".join(out)


def _fmt_target_value(t: dict) -> str:
    v = t["value"]
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def case_report(name: str, case: dict, markdown: bool = False) -> str:
    out = []
    title = f"{name}: {case['title']}"
    out.append(f"### {title}" if markdown else f"\n== {title} " + "=" * max(0, 76 - len(title)))
    if case.get("error"):
        out.append(f"ERROR: {case['error']}")
    if case.get("loadavg_before"):
        b, a = case["loadavg_before"], case.get("loadavg_after") or [None]
        out.append(f"(1-min load average before/after: {b[0]:.2f} / {a[0]:.2f}; {case['seconds']:.0f} s)")
    if case["rows"]:
        out.append(case_table(case, markdown))
    growth = case.get("checks", {}).get("growth")
    if growth:
        out.append("")
        out.append("growth with N (log-log slope between the two largest N; over all N in brackets):")
        for kind, systems in growth.items():
            for s, metrics in systems.items():
                for m, g in metrics.items():
                    if g["slope_last_two"] is None or m.startswith("to first result"):
                        continue
                    out.append(f"{'- ' if markdown else '  '}{kind} / {s} / {m}: {g['slope_last_two']:.2f} "
                               f"[{g['slope']:.2f}] -> {g['growth']}")
    if case["skipped"]:
        out.append("")
        out.extend(f"{'- ' if markdown else '  '}skipped {s}: {why}" for s, why in case["skipped"].items())
    if case["targets"]:
        out.append("")
        for t in case["targets"]:
            mark = "n/a" if t["met"] is None else "MET" if t["met"] else "MISSED"
            out.append(f"{'- ' if markdown else '  '}target {t['target']}: {t['goal']} -> {_fmt_target_value(t)} "
                       f"[{mark}]")
    if case["notes"]:
        out.append("")
        out.extend(f"{'- ' if markdown else '  '}note: {n}" for n in case["notes"])
    return "\n".join(out)


def report(results: dict, markdown: bool = False) -> str:
    m = results["machine"]
    head = (f"srcgrad benchmarks, {results['mode']} mode, device {results['device']}: {m['date']}\n"
            f"{m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB)"
            f"{', GPU ' + ', '.join(m['gpu']) if m['gpu'] else ''}; "
            + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + f"; Python {m['python']}")
    parts = [head, "Cells: median (ratio to the JAX figure of the same row)."]
    parts += [case_report(k, v, markdown) for k, v in results["cases"].items()]
    return "\n\n".join(parts) if markdown else "\n".join(parts)


# ---------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run: smaller sizes, fewer repetitions (< 5 min)")
    p.add_argument("--smoke", action="store_true", help="quick mode on the smallest sizes only (the test suite's)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--cases", default="", help=f"comma-separated subset of: {','.join(CASE_NAMES)}")
    p.add_argument("--out", default=None, help="JSON output file (default benchmarks/results/<device>[-quick].json)")
    p.add_argument("--report", metavar="JSON", help="print the tables of an earlier run as Markdown and exit")
    p.add_argument("--in-process", action="store_true",
                   help="run every case in this process (default: one fresh child process per case)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines, only the tables")
    p.add_argument("--child", metavar="CASE", help=argparse.SUPPRESS)
    p.add_argument("--child-out", metavar="JSON", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def setup(args: argparse.Namespace) -> Ctx:
    """Configure the process that runs cases: environment, JAX, srcgrad, the peers."""
    # Before srcgrad, JAX or PyTorch is imported:
    # - srcgrad's disk cache off, so every first call in this process compiles for real
    #   (case "persistent" measures the disk cache in child processes of its own);
    # - OpenMP threads that sleep instead of spinning when idle: PyTorch's OpenMP pool
    #   spinning beside XLA's thread pool made PyTorch several times slower on 2 cores.
    os.environ["SRCGRAD_CACHE_DIR"] = "off"
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import jax
    jax.config.update("jax_default_matmul_precision", "highest")
    import srcgrad  # noqa: F401 - before the peers, so its JAX settings are in place

    ctx = Ctx(quick=args.quick or args.smoke, smoke=args.smoke, device=args.device, verbose=not args.quiet)
    ctx.peers = Peers.detect()
    if ctx.peers.torch is not None and args.device == "gpu" and ctx.peers.torch.cuda.is_available():
        ctx.peers.torch.backends.cuda.matmul.allow_tf32 = False
        ctx.peers.torch.backends.cudnn.allow_tf32 = False
    # Warm JAX's own one-time start-up so the first system measured does not pay for it.
    jax.jit(lambda a: a + 1)(jax.numpy.ones(2, jax.numpy.float32)).block_until_ready()
    return ctx


def run_case(ctx: Ctx, mod: Any) -> dict:
    res = CaseResult(mod.NAME, mod.TITLE, mod.SYSTEMS)
    ctx.log(f"\n[{mod.NAME}] {mod.TITLE}")
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    t0 = time.perf_counter()
    try:
        mod.run(ctx, res)
    except Exception as e:  # noqa: BLE001 - one broken case must not lose the others' figures
        res.error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    res.seconds = time.perf_counter() - t0
    res.finish()
    out = res.to_json()
    out["loadavg_before"] = load0
    out["loadavg_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    out["peers_missing"] = dict(ctx.peers.missing)
    ctx.log(f"[{mod.NAME}] done in {res.seconds:.1f} s")
    return out


def _spawn(args: argparse.Namespace, name: str, timeout: float) -> dict:
    """Run one case in a fresh child process (own allocator, JAX and srcgrad caches) and read its JSON."""
    fd, tmp = tempfile.mkstemp(prefix=f"srcgrad-bench-{name}-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, "-m", "benchmarks", "--child", name, "--child-out", tmp, "--device", args.device]
    cmd += ["--smoke"] if args.smoke else ["--quick"] if args.quick else []
    cmd += ["--quiet"] if args.quiet else []
    root = os.path.dirname(HERE)
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        p = subprocess.run(cmd, cwd=root, env=env, timeout=timeout)
        with open(tmp) as f:
            text = f.read()
        if p.returncode != 0 or not text:
            raise RuntimeError(f"child process exited with {p.returncode}")
        return json.loads(text)
    except Exception as e:  # noqa: BLE001 - a crashed or hung case is reported, the others still run
        mod = next(c for c in CASES if c.NAME == name)
        res = CaseResult(mod.NAME, mod.TITLE, mod.SYSTEMS)
        res.error = f"{type(e).__name__}: {e}"
        res.finish()
        return res.to_json()
    finally:
        os.unlink(tmp)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report:
        with open(args.report) as f:
            print(report(json.load(f), markdown=True))
        return 0
    if args.child:
        ctx = setup(args)
        out = run_case(ctx, next(c for c in CASES if c.NAME == args.child))
        with open(args.child_out, "w") as f:
            json.dump(out, f, default=str)
        return 0
    names = [c.strip() for c in args.cases.split(",") if c.strip()] or CASE_NAMES
    bad = [n for n in names if n not in CASE_NAMES]
    if bad:
        print(f"unknown case(s): {', '.join(bad)}; choose from {', '.join(CASE_NAMES)}", file=sys.stderr)
        return 2
    if args.device == "gpu":
        import jax
        try:
            jax.devices("gpu")
        except RuntimeError:
            print("--device gpu: JAX sees no GPU on this machine", file=sys.stderr)
            return 2

    quick = args.quick or args.smoke
    mode = "smoke" if args.smoke else "quick" if quick else "full"
    ctx = setup(args) if args.in_process else Ctx(quick=quick, smoke=args.smoke, device=args.device,
                                                  verbose=not args.quiet)
    results: dict = {"mode": mode, "device": args.device, "machine": machine(ctx), "cases": {},
                     "isolation": "in-process" if args.in_process else "one child process per case",
                     "argv": sys.argv[1:] if argv is None else argv}
    t_all = time.perf_counter()
    for name in CASE_NAMES:
        if name not in names:
            continue
        if args.in_process:
            results["cases"][name] = run_case(ctx, next(c for c in CASES if c.NAME == name))
        else:
            results["cases"][name] = _spawn(args, name, timeout=900 if quick else 3600)
    results["seconds"] = time.perf_counter() - t_all
    results["peers_missing"] = {}
    for c in results["cases"].values():
        results["peers_missing"].update(c.get("peers_missing") or {})
    for s, why in results["peers_missing"].items():
        ctx.log(f"note: {s} skipped: {why}")

    print("\n" + report(results))
    out = args.out or os.path.join(HERE, "results", f"{args.device}{'' if mode == 'full' else '-' + mode}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print(f"\nwrote {out} ({results['seconds']:.0f} s)")
    return 1 if any(c["error"] for c in results["cases"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
