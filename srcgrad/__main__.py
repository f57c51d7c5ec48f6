"""``python -m srcgrad inspect [OPTIONS] SCRIPT.py [ARGS...]`` (also the ``srcgrad`` command).

Runs the script unchanged (as ``__main__``, with ``sys.argv = [SCRIPT.py, ARGS...]``),
then reports every program srcgrad compiled while it ran: the recorded IR, the
generated source, the jaxpr, the optimised HLO and the cache entries with why
each was compiled. ``--dump DIR`` writes each program as an importable ``.py``
file named by its content hash, beside its IR, jaxpr and HLO text. Options go
before the script's name; everything after it belongs to the script.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
import traceback
from typing import Any

VIEW_FLAGS = ("ir", "source", "jaxpr", "hlo", "cache")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srcgrad", description="srcgrad's inspection tool: see what srcgrad generates and compiles.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "inspect", help="run a script and show every program srcgrad compiled for it",
        description="Run SCRIPT.py unchanged, then show every program srcgrad compiled while it ran. "
                    "Without a view option: --source and --cache.",
        epilog="Set SRCGRAD_NO_JIT=1 (or pass --no-jit) to run generated programs as plain Python "
               "without jax.jit, so pdb and tracebacks step through the generated lines.")
    p.add_argument("--ir", action="store_true", help="the recorded IR, one typed line per op, with your lines")
    p.add_argument("--source", action="store_true", help="the generated Python source (forward and backward)")
    p.add_argument("--jaxpr", action="store_true", help="the jaxpr JAX traces from the generated source")
    p.add_argument("--hlo", action="store_true", help="the optimised HLO after XLA's fusion, kernels counted")
    p.add_argument("--cache", action="store_true", help="cache entries: key in words, hits, compile time, why")
    p.add_argument("--all", action="store_true", help="all of the views above")
    p.add_argument("--graph", action="store_true",
                   help="the autograd graph (Graphviz DOT; SVG too with --dump when `dot` is installed) of the "
                        "script's final tensors that have a grad_fn")
    p.add_argument("--var", action="append", default=[], metavar="NAME",
                   help="with --graph: draw this global tensor variable (repeatable)")
    p.add_argument("--dump", metavar="DIR", help="write each program as DIR/p_<hash>.py with .ir/.jaxpr/.hlo text")
    p.add_argument("--no-color", action="store_true", help="plain text even on a terminal")
    p.add_argument("--color", action="store_true", help="colour even when the output is not a terminal")
    p.add_argument("--no-jit", action="store_true",
                   help="run generated programs without jax.jit (like SRCGRAD_NO_JIT=1)")
    p.add_argument("script", metavar="SCRIPT.py", help="the script to run")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the script")
    return parser


def _run_script(path: str, args: list[str]) -> tuple[dict, int]:
    """Run the script as ``__main__``; its globals (when it finished) and its exit status."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    status = 0
    globs: dict = {}
    try:
        globs = runpy.run_path(path, run_name="__main__")
    except SystemExit as e:
        if isinstance(e.code, int):
            status = e.code
        elif e.code is not None:
            print(e.code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001 - report the script's error, then what it compiled
        traceback.print_exc()
        status = 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
        sys.stdout.flush()
    return globs, status


def _graph_roots(globs: dict, names: list[str]) -> list[tuple[str, Any]]:
    """Tensors named by ``names``, else the global tensors with a grad_fn that no other one depends on."""
    from srcgrad.tensor import Tensor
    if names:
        return [(n, globs[n]) for n in names if isinstance(globs.get(n), Tensor)]
    cands = [(k, v) for k, v in globs.items() if not k.startswith("_") and isinstance(v, Tensor)
             and v.grad_fn is not None]
    inner: set[int] = set()
    for _, t in cands:
        stack = list(t._node.inputs)
        while stack:
            n = stack.pop()
            if id(n) in inner:
                continue
            inner.add(id(n))
            if not n.leaf:
                stack.extend(n.inputs)
    return [(k, v) for k, v in cands if id(v._node) not in inner]


def _inspect(opts: argparse.Namespace) -> int:
    from srcgrad import compiler
    from srcgrad import inspect as si
    from srcgrad.compiled import CompiledFunction

    out = sys.stdout
    color = opts.color or (not opts.no_color and si.use_color(out))

    def emit(text: str, kind: str = "text") -> None:
        out.write(si.colorize(text, kind) if color else text)

    def banner(text: str) -> None:
        line = f"{'=' * 3} {text} " + "=" * max(3, 76 - len(text))
        out.write((f"\x1b[1m{line}\x1b[0m" if color else line) + "\n")

    views = [v for v in VIEW_FLAGS if opts.all or getattr(opts, v)]
    if not views and not opts.graph and not opts.dump:
        views = ["source", "cache"]
    if opts.no_jit:
        compiler.DEBUG_NO_JIT = True
    if not os.path.exists(opts.script):
        print(f"srcgrad inspect: no such script: {opts.script}", file=sys.stderr)
        return 2

    start = compiler.CACHE.compiled
    si.watch(examples=bool(opts.dump))
    try:
        globs, status = _run_script(opts.script, opts.args)
    finally:
        si.unwatch()
    progs = compiler.CACHE.since(start)
    fns = list({id(v): v for v in globs.values() if isinstance(v, CompiledFunction)}.values())

    name = os.path.basename(opts.script)
    c = compiler.CACHE
    out.write("\n")
    banner(f"srcgrad inspect {name}: {len(progs)} program{'s' * (len(progs) != 1)} compiled, "
           f"{c.hits} cache hits")
    per_program = [v for v in views if v != "cache"]
    for k, prog in enumerate(progs, 1):
        if not per_program:
            break
        span = si._span(prog)
        banner(f"[{k}/{len(progs)}] {si._fn_name(prog)}  {si.program_id(prog)}" + (f"  ({span})" if span else ""))
        emit(f"# compiled because: {prog.reason}\n", "text")
        for v in per_program:
            out.write(f"\n--- {v} ---\n")
            try:
                if v == "ir":
                    emit(si.ir(prog), "ir")
                elif v == "source":
                    emit(prog.source, "python")
                elif v == "jaxpr":
                    emit(si.jaxpr(prog), "jaxpr")
                elif v == "hlo":
                    emit(si.hlo(prog), "hlo")
            except Exception as e:  # noqa: BLE001 - one failed view must not hide the others
                emit(f"# could not produce the {v} view: {type(e).__name__}: {e}\n")
        out.write("\n")
    if "cache" in views:
        banner("cache")
        emit(si.cache(list(progs), compiled=fns) if progs else "# nothing was compiled\n")
    if opts.graph:
        roots = _graph_roots(globs, opts.var)
        if not roots:
            banner("graph")
            emit("# no tensor with a grad_fn is left in the script's globals (name one with --var)\n")
        for var, t in roots:
            banner(f"graph of {var}")
            dot = si.to_dot(t, var)
            if opts.dump:
                os.makedirs(opts.dump, exist_ok=True)
                path = os.path.join(opts.dump, f"graph_{var}.dot")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(dot)
                svg = si.to_svg(t, var)
                if svg is not None:
                    with open(path[:-4] + ".svg", "w", encoding="utf-8") as f:
                        f.write(svg)
                emit(f"# wrote {path}" + (" and .svg" if svg is not None else " (install Graphviz for SVG)") + "\n")
            emit(dot, "dot")
    if opts.dump:
        paths = si.dump(list(progs), opts.dump) if progs else []
        with open(os.path.join(opts.dump, "index.txt"), "w", encoding="utf-8") as f:
            f.write(f"# programs compiled by {name}, in order\n")
            for k, (prog, path) in enumerate(zip(progs, paths), 1):
                f.write(f"[{k}] {os.path.basename(path)}  {si._fn_name(prog)}: {prog.reason}\n"
                        f"    {si.describe_key(prog)}\n")
        banner("dump")
        emit(f"# wrote {len(paths)} program{'s' * (len(paths) != 1)} to {opts.dump} "
             "(p_<hash>.py, .ir.txt, .jaxpr.txt, .hlo.txt, .example.npz; index.txt)\n")
        for path in paths:
            emit(f"{path}\n")
    out.flush()
    return status


def main(argv: list[str] | None = None) -> int:
    """The ``srcgrad`` command line; returns the exit status."""
    opts = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if opts.command == "inspect":
        return _inspect(opts)
    return 2


if __name__ == "__main__":
    sys.exit(main())
