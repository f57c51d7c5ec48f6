"""The inspection tool: ``python -m srcgrad inspect`` on the example scripts, and ``srcgrad.inspect``."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import srcgrad
import srcgrad as torch
from srcgrad import compiler
from srcgrad import inspect as si

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "inspect_demo"


def line_of(path: pathlib.Path, text: str, after: str = "") -> int:
    """The line number of ``text`` in ``path`` (after the line ``after``), so tests survive edits."""
    started = not after
    for k, line in enumerate(path.read_text().splitlines(), 1):
        started = started or line.strip() == after
        if started and line.strip() == text:
            return k
    raise AssertionError(f"{text!r} not in {path}")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = dict(os.environ)
    e["SRCGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("srcgrad-cache"))
    e.pop("SRCGRAD_NO_JIT", None)
    e.pop("NO_COLOR", None)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def run_cli(env, *args, extra_env=None, check=True):
    e = dict(env, **(extra_env or {}))
    res = subprocess.run([sys.executable, "-m", "srcgrad", "inspect", *map(str, args)], capture_output=True,
                         text=True, env=e, cwd=ROOT, timeout=120)
    if check:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


@pytest.fixture(scope="module")
def tutorial_all(env, tmp_path_factory):
    dump = tmp_path_factory.mktemp("dump-tutorial")
    res = run_cli(env, "--all", "--graph", "--dump", dump, DEMO / "tutorial.py")
    return res, dump


@pytest.fixture(scope="module")
def train_dump(env, tmp_path_factory):
    dump = tmp_path_factory.mktemp("dump-train")
    res = run_cli(env, "--cache", "--source", "--dump", dump, DEMO / "train.py", "--steps", "12")
    return res, dump


# ---------------------------------------------------------------------------
# the command line


def test_cli_runs_script_and_reports_backward_with_user_lines(tutorial_all):
    res, _ = tutorial_all
    out = res.stdout
    path = DEMO / "tutorial.py"
    zl, ol = line_of(path, "z = y * y * 3"), line_of(path, "out = z.mean()")
    # the script ran unchanged: its own output comes first
    assert out.index("[4.5000, 4.5000]") < out.index("srcgrad inspect tutorial.py")
    assert "3 programs compiled" in out
    # the generated backward names the user's lines, file:line and text
    assert "def forward_backward(" in out
    assert f"# backward of: z = y * y * 3  (tutorial.py:{zl})" in out
    assert f"# backward of: out = z.mean()  (tutorial.py:{ol})" in out
    # the forward statements carry the user's line too
    assert re.search(rf"z = t\d+ \* c\d+|# tutorial.py:{zl}  z = y \* y \* 3", out)
    # the IR: typed lines, one per op, with file:line and text
    assert re.search(rf"t\d+: f32\[2,2\] = mul t\d+ t\d+ +# tutorial.py:{zl}  z = y \* y \* 3", out)
    assert re.search(rf"t\d+: f32\[2,2\] = mul t\d+ c\d+ +# backward of tutorial.py:{zl}  z = y \* y \* 3", out)


def test_cli_all_views(tutorial_all):
    out = tutorial_all[0].stdout
    for head in ("--- ir ---", "--- source ---", "--- jaxpr ---", "--- hlo ---", "=== cache ==="):
        assert head in out
    assert "{ lambda ;" in out and "# forward_backward:" in out  # jaxpr lines point at generated lines
    assert "HloModule jit_forward_backward" in out
    assert re.search(r"after XLA's fusion: \d+ kernels? \(\d+ fusions?", out)
    assert "compiled: first sight of this graph" in out
    assert "\x1b[" not in out  # not a terminal: no colour


def test_cli_graph(tutorial_all):
    out = tutorial_all[0].stdout
    assert "=== graph of out" in out
    dot = out[out.index("digraph {"):]
    for name in ("MeanBackward0", "MulBackward0", "AddBackward0", "AccumulateGrad"):
        assert f"label={name}" in dot
    assert '"x\\n (2, 2)" fillcolor=lightblue' in dot
    assert '"out\\n ()" fillcolor=darkolivegreen1' in dot


def test_cli_dump_is_importable_and_gives_srcgrad_numbers(tutorial_all):
    res, dump = tutorial_all
    files = sorted(dump.glob("p_*.py"))
    assert len(files) == 3
    assert (dump / "index.txt").exists() and (dump / "graph_out.dot").exists()
    for f in files:
        text = f.read_text()
        assert "import jax, jax.numpy as jnp\nfrom jax import lax\nimport srcgrad.lowering_helpers as sg\n" in text
        stem = str(f)[:-3]
        for ext in (".ir.txt", ".jaxpr.txt", ".hlo.txt", ".example.npz"):
            assert os.path.getsize(stem + ext) > 0
        assert "fusion" in open(stem + ".hlo.txt").read()
    # the backward program: called with plain arrays it gives what srcgrad gives for x.grad
    bw = [f for f in files if "def forward_backward(" in f.read_text()]
    assert len(bw) == 1
    mod = load(bw[0])
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    z.mean().backward()
    args = {"y": np.full((2, 2), 3.0, np.float32), "c1": 3}
    (g,) = mod.forward_backward(*[args[n] for n in mod.ARG_NAMES])
    np.testing.assert_allclose(np.asarray(g), x.grad.numpy())
    np.testing.assert_allclose(np.asarray(g), 4.5)


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cli_dump_of_compiled_training_step(train_dump, env):
    res, dump = train_dump
    out = res.stdout
    assert "step   0  loss" in out and "step  10  loss" in out and "step  20" not in out  # script args passed on
    assert "def step(" in out
    assert re.search(r"\[2\] step .*\n.*\n.*first sight.*\n.*@srcgrad.compile step: first call\n"
                     r"    hits: 11   calls: 12", out)
    assert f"# train.py:{line_of(DEMO / 'train.py', 'p -= lr * p.grad')}  p -= lr * p.grad" in out
    files = sorted(dump.glob("p_*.py"))
    assert len(files) == 2
    for f in files:
        mod = load(f)
        got = mod.FUNCTION(*mod.example_args())
        want = mod.example_outputs()  # what srcgrad's compiled program returned in the script
        assert len(got) == len(want)
        for a, b in zip(got, want):
            np.testing.assert_allclose(np.asarray(a), b, rtol=1e-6, atol=1e-7)
    # and on its own, in a fresh interpreter
    step = next(f for f in files if "def step(" in f.read_text())
    res = subprocess.run([sys.executable, step.name], capture_output=True, text=True, env=env, cwd=dump, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("same as srcgrad") == 3


def test_cli_cache_names_changed_shape(env):
    out = run_cli(env, "--cache", DEMO / "reshape.py").stdout
    xl = line_of(DEMO / "reshape.py", "x = torch.tensor(rng.standard_normal((n, 3)).astype(np.float32))")
    assert f"input #0 (x, reshape.py:{xl}) changed shape: (4, 3) -> (8, 3)" in out
    assert "@srcgrad.compile predict: argument 'x': shape (4, 3) -> (8, 3)" in out
    assert "inputs: x f32[8,3], w f32[3,2]" in out  # the key in words
    assert re.search(r"hits: 1 +calls: 2 +compile: [\d.]+ ms", out)
    assert re.search(r"\d+ programs compiled, \d+ cache hits", out)


def test_cli_color_and_errors(env, tmp_path):
    colored = run_cli(env, "--color", "--source", "--ir", DEMO / "tutorial.py").stdout
    assert "\x1b[" in colored
    plain = run_cli(env, "--no-color", "--source", DEMO / "tutorial.py", extra_env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[" not in plain
    bad = tmp_path / "bad.py"
    bad.write_text("import srcgrad as torch\nprint(torch.ones(3).sum().item())\nraise ValueError('boom')\n")
    res = run_cli(env, "--cache", bad, check=False)
    assert res.returncode == 1
    assert "ValueError: boom" in res.stderr
    assert "1 program compiled" in res.stdout  # the report still comes
    assert run_cli(env, tmp_path / "missing.py", check=False).returncode == 2


# ---------------------------------------------------------------------------
# the debug switch: generated programs without jax.jit


def test_no_jit_gives_same_results_and_generated_tracebacks(env, tmp_path):
    script = DEMO / "train.py"
    jit = subprocess.run([sys.executable, str(script), "--steps", "12"], capture_output=True, text=True, env=env,
                         timeout=120)
    nojit = subprocess.run([sys.executable, str(script), "--steps", "12"], capture_output=True, text=True,
                           env=dict(env, SRCGRAD_NO_JIT="1"), timeout=120)
    assert jit.returncode == nojit.returncode == 0
    assert jit.stdout == nojit.stdout
    # an error raised inside a generated program points at the generated file and line
    nan = tmp_path / "nan.py"
    nan.write_text("import srcgrad as torch\nx = torch.tensor([1.0, -1.0])\ny = x * 2\nz = y.log()\n"
                   "print(z.sum())\n")
    res = subprocess.run([sys.executable, str(nan)], capture_output=True, text=True, timeout=120,
                         env=dict(env, SRCGRAD_NO_JIT="1", JAX_DEBUG_NANS="True"))
    assert res.returncode != 0
    assert "FloatingPointError" in res.stderr
    m = re.search(r'File "([^"]+)", line (\d+), in forward\n\s*(.*)', res.stderr)
    assert m, res.stderr
    assert "programs" in m.group(1) and m.group(3).startswith("z = jnp.log(y)")
    assert "# nan.py:4  z = y.log()" in m.group(3)
    generated = pathlib.Path(m.group(1)).read_text().splitlines()
    assert generated[int(m.group(2)) - 1].strip() == m.group(3).strip()


# ---------------------------------------------------------------------------
# the library


def test_ir_of_pending_tensor():
    x = torch.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    text = si.ir(out)
    me = pathlib.Path(__file__)
    zl = line_of(me, "z = y * y * 3", after="def test_ir_of_pending_tensor():")
    assert text.startswith("# IR of tensor out: 4 ops, 1 input; pending (not computed yet)")
    assert re.search(rf"^x: f32\[2,2\] = leaf requires_grad +# test_inspect.py:{zl - 2}  x = torch.ones", text, re.M)
    assert re.search(rf"^(t\d+): f32\[2,2\] = mul (t\d+) 3 +# test_inspect.py:{zl}  z = y \* y \* 3$", text, re.M)
    assert re.search(r"^t\d+: f32\[\] = mean_all\[dims=\(0, 1\) keepdim=False\] t\d+ ", text, re.M)
    assert text.rstrip().endswith("outputs: t3")


def test_views_of_pending_tensor_do_not_run_or_cache_it():
    x = torch.tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    h = (x * x).tanh()
    loss = h.sum()
    n_progs, n_hist = len(compiler.CACHE.programs), len(compiler.CACHE.history)
    src = si.source(loss)
    assert src.startswith("# pending: the program that would be compiled now")
    assert "def forward(x):" in src and "jnp.tanh(" in src and "h = (x * x).tanh()" in src
    jx = si.jaxpr(loss)
    assert "{ lambda ; a:f32[2,3]. let" in jx and "tanh" in jx and "inputs a=x" in jx
    hl = si.hlo(loss)
    assert "HloModule jit_forward" in hl and re.search(r"\d+ kernels? \(\d+ fusions?", hl)
    assert "program that would be compiled" in si.cache(loss)
    assert loss._node.value is None  # still pending
    assert (len(compiler.CACHE.programs), len(compiler.CACHE.history)) == (n_progs, n_hist)
    assert loss.item() == pytest.approx(float(np.tanh(np.arange(6.0) ** 2).sum()), rel=1e-6)


def test_views_of_computed_tensor():
    x = torch.ones(3, requires_grad=True)
    y = (x * 4).exp()
    y.sum().backward()
    src = si.source(y)  # the program that computed it (nodes remember their program)
    assert "the program that computed this tensor" in src and "jnp.exp(" in src
    assert "exp" in si.ir(y)
    assert "# backward of: y = (x * 4).exp()" in si.source(x.grad)


def test_programs_of_functions_and_ints():
    x = torch.tensor([0.5, 1.0, 2.0])

    def f(t):
        return (t * t).sin().sum()

    df = srcgrad.grad(f)
    df(x)
    progs = si.programs(df)
    assert progs and "def forward_backward(" in progs[-1].source
    assert "jnp.cos(" in si.source(df)
    assert si.trace(df, x) == [progs[-1]]  # a cache hit the second time

    @srcgrad.compile
    def g(t):
        return (t * 2).exp().sum()

    g(x)
    g(x)
    assert "def g(" in si.source(g)
    cache_text = si.cache(g)
    assert "@srcgrad.compile g: first call" in cache_text and "hits: 1" in cache_text
    assert si.programs(1) == [compiler.CACHE.history[-1]]
    assert "def g(" in si.show(1, "source")
    assert si.programs(compiler.CACHE.history[-1]) == [compiler.CACHE.history[-1]]
    with pytest.raises(TypeError):
        si.programs("nope")
    with pytest.raises(ValueError):
        si.show(1, "nope")


def test_watch_records_user_lines_and_examples(tmp_path):
    original = compiler.compile_program
    si.watch(examples=True)
    try:
        w = torch.tensor(np.full((3, 2), 0.5, np.float32), requires_grad=True)
        xin = torch.tensor(np.arange(12, dtype=np.float32).reshape(4, 3) / 10)
        loss = ((xin @ w).tanh() ** 2).mean()
        loss.backward()
        prog = compiler.CACHE.history[-1]
    finally:
        si.unwatch()
    assert compiler.compile_program is original  # unwatch() put the core's function back
    text = si.ir(prog)
    assert "# backward of test_inspect.py:" in text and "loss = ((xin @ w).tanh() ** 2).mean()" in text
    (path,) = si.dump(prog, str(tmp_path))
    mod = load(pathlib.Path(path))
    outs = list(mod.FUNCTION(*mod.example_args()))  # the gradient, then the loss (computed with it)
    np.testing.assert_allclose(np.asarray(outs[0]), w.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(outs[-1]), loss.item(), rtol=1e-6)


def test_cache_words_and_show_all():
    x = torch.tensor(np.ones((2, 5), np.float32), requires_grad=True)
    (x.sin() * 2).sum().backward()
    prog = compiler.CACHE.history[-1]
    words = si.describe_key(prog)
    assert "inputs: x f32[2,5]" in words and "outputs: f32[2,5]" in words and "cos" in words
    everything = si.show(prog, "all")
    for part in ("=== ir ===", "=== source ===", "=== jaxpr ===", "=== hlo ===", "=== cache ==="):
        assert part in everything
    whole = si.cache()
    assert whole.startswith("# srcgrad cache: ") and si.program_id(prog) in whole


def test_to_dot_and_svg(monkeypatch):
    a = torch.ones(3, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    c = (a * b).sum()
    dot = si.to_dot(c)
    assert dot.startswith("digraph {") and dot.rstrip().endswith("}")
    assert dot.count("label=AccumulateGrad") == 2 and "label=SumBackward0" in dot and "label=MulBackward0" in dot
    assert '"a\\n (3)" fillcolor=lightblue' in dot
    assert si.show(c, "graph") == dot
    leaf = si.to_dot(a)
    assert "fillcolor=lightblue" in leaf and "->" not in leaf
    monkeypatch.setattr(si.shutil, "which", lambda name: None)
    assert si.to_svg(c) is None


def test_hlo_stats_and_colour():
    text = ("HloModule m\n\n%fused_computation (p: f32[2]) -> f32[2] {\n  ROOT %a = f32[2] add(%p, %p)\n}\n\n"
            "ENTRY %main (p: f32[2], q: f32[2,2]) -> (f32[2], f32[2]) {\n  %p = f32[2] parameter(0)\n"
            "  %q = f32[2,2] parameter(1)\n  %f = f32[2]{0} fusion(%p), kind=kLoop, calls=%fused_computation\n"
            "  %d = f32[2]{0} dot(%q, %p), lhs_contracting_dims={1}\n"
            "  ROOT %t = (f32[2]{0}, f32[2]{0}) tuple(%f, %d)\n}\n")
    st = si.hlo_stats(text)
    assert st["fusions"] == 1 and st["other"] == {"dot": 1} and st["kernels"] == 2
    assert st["fused_computations"] == 1
    src = "def f(x):\n    y = x + 1  # a.py:1  y = x + 1\n    return (y,)\n"
    assert "\x1b[" in si.colorize(src, "python")
    assert "\x1b[" in si.colorize("t0: f32[2] = add x 1   # a.py:1", "ir")
    assert si.show(1, "source", color=False).count("\x1b[") == 0
