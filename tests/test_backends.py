"""srcgrad.backends: PyTorch's flag names, defaults and checks; allow_tf32 is the matmul precision."""

import subprocess
import sys

import pytest

import srcgrad
from srcgrad import backends
from srcgrad.tensor import get_float32_matmul_precision, set_float32_matmul_precision


@pytest.fixture(autouse=True)
def _restore_flags():
    cudnn = backends.cudnn
    saved = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, get_float32_matmul_precision())
    matmul = backends.cuda.matmul
    reductions = (matmul.allow_fp16_reduced_precision_reduction, matmul.allow_bf16_reduced_precision_reduction,
                  matmul.allow_fp16_accumulation)
    sdp = (backends.cuda.flash_sdp_enabled(), backends.cuda.math_sdp_enabled())
    yield
    cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32 = saved[:4]
    set_float32_matmul_precision(saved[4])
    (matmul.allow_fp16_reduced_precision_reduction, matmul.allow_bf16_reduced_precision_reduction,
     matmul.allow_fp16_accumulation) = reductions
    backends.cuda.enable_flash_sdp(sdp[0])
    backends.cuda.enable_math_sdp(sdp[1])


def test_cudnn_defaults_are_pytorchs():
    c = backends.cudnn
    assert (c.enabled, c.benchmark, c.deterministic, c.allow_tf32) == (True, False, False, True)
    assert c.is_available() == srcgrad.cuda.is_available()
    if not c.is_available():
        assert c.version() is None
        assert c.benchmark_limit is None
        assert c.is_acceptable(srcgrad.ones(2)) is False


def test_import_forms():
    import srcgrad.backends.cudnn as cudnn_mod
    from srcgrad.backends import cudnn

    assert cudnn is cudnn_mod is backends.cudnn


def test_cudnn_flags_are_settable_and_checked():
    c = backends.cudnn
    c.benchmark = True
    c.deterministic = True
    assert (c.benchmark, c.deterministic) == (True, True)
    for name, setter in (("enabled", "set_enabled_cudnn"), ("benchmark", "set_benchmark_cudnn"),
                         ("deterministic", "set_deterministic_cudnn"), ("allow_tf32", "set_allow_tf32_cublas")):
        with pytest.raises(RuntimeError, match=f"^{setter} expects a bool, but got int$"):
            setattr(c, name, 1)
    assert c.benchmark is True  # (a rejected value changes nothing)


def test_cudnn_flags_context_restores():
    c = backends.cudnn
    c.benchmark = True
    with c.flags(enabled=False, deterministic=True):
        assert (c.enabled, c.benchmark, c.deterministic, c.allow_tf32) == (False, False, True, True)
    assert (c.enabled, c.benchmark, c.deterministic) == (True, True, False)


def test_allow_tf32_is_the_matmul_precision():
    m = backends.cuda.matmul
    assert m.allow_tf32 is False and get_float32_matmul_precision() == "highest"
    m.allow_tf32 = True
    assert get_float32_matmul_precision() == "high" and srcgrad.get_float32_matmul_precision() == "high"
    m.allow_tf32 = False
    assert get_float32_matmul_precision() == "highest"
    set_float32_matmul_precision("medium")
    assert m.allow_tf32 is True
    set_float32_matmul_precision("highest")
    assert m.allow_tf32 is False
    with pytest.raises(RuntimeError, match="^set_allow_tf32_cublas expects a bool, but got str$"):
        m.allow_tf32 = "yes"


def test_allow_tf32_reaches_the_generated_matmul():
    a = srcgrad.ones(3, 3)
    backends.cuda.matmul.allow_tf32 = True
    (a @ a).sum().item()
    assert "precision='highest'" not in srcgrad._CACHE.history[-1].source
    backends.cuda.matmul.allow_tf32 = False
    (a @ a).sum().item()
    assert "precision='highest'" in srcgrad._CACHE.history[-1].source


def test_reduced_precision_flags():
    m = backends.cuda.matmul
    assert m.allow_fp16_reduced_precision_reduction is True
    assert m.allow_bf16_reduced_precision_reduction is True
    assert m.allow_fp16_accumulation is False
    m.allow_fp16_reduced_precision_reduction = (False,)
    assert (m.allow_fp16_reduced_precision_reduction, m.allow_fp16_reduced_precision_reduction_split_k) == \
        (False, True)
    m.allow_bf16_reduced_precision_reduction = (False, False)
    assert m.allow_bf16_reduced_precision_reduction_split_k is False
    name = "allow_fp16_reduced_precision_reduction"
    for value, message in (((), f"{name} expects at least one boolean argument"),
                           ((True, False, True), f"{name} expects at most two boolean arguments"),
                           ((1,), f"{name} expects a bool for allow_reduced_precision, but got <class 'int'>"),
                           ((True, 1), f"{name} expects a bool for allow_splitk, but got <class 'int'>"),
                           ("x", f"{name} expects a bool or a tuple/list of bools, but got <class 'str'>")):
        with pytest.raises(TypeError) as e:
            setattr(m, name, value)
        assert str(e.value) == message
    with pytest.raises(RuntimeError, match="allow_splitk=False is not supported"):
        m.allow_fp16_reduced_precision_reduction = (True, False)
    with pytest.raises(AttributeError, match="^Unknown attribute nope$"):
        m.nope  # noqa: B018
    with pytest.raises(AttributeError, match="^Unknown attribute nope$"):
        m.nope = 1


def test_sdp_switches():
    cuda = backends.cuda
    assert cuda.flash_sdp_enabled() and cuda.mem_efficient_sdp_enabled() and cuda.math_sdp_enabled()
    assert cuda.cudnn_sdp_enabled()
    cuda.enable_flash_sdp(False)
    assert cuda.flash_sdp_enabled() is False
    with pytest.raises(RuntimeError, match="^set_sdp_use_math expects a bool, but got str$"):
        cuda.enable_math_sdp("x")
    assert cuda.is_flash_attention_available() is False


def test_other_backends_report_absent():
    assert backends.mps.is_available() is False and backends.mps.is_built() is False
    assert backends.mkldnn.is_available() is False
    assert backends.mkl.is_available() is False
    assert backends.openmp.is_available() is False
    assert backends.cuda.is_built() in (True, False)


_TORCH_PROBE = """
import torch
c, m = torch.backends.cudnn, torch.backends.cuda.matmul
out = [c.enabled, c.benchmark, c.deterministic, c.allow_tf32, m.allow_tf32,
       m.allow_fp16_reduced_precision_reduction, m.allow_bf16_reduced_precision_reduction,
       m.allow_fp16_accumulation, torch.backends.mps.is_available(), torch.backends.mps.is_built(),
       torch.get_float32_matmul_precision()]
m.allow_tf32 = True
out.append(torch.get_float32_matmul_precision())
for obj, name in ((c, "benchmark"), (c, "enabled"), (c, "deterministic"), (c, "allow_tf32"), (m, "allow_tf32"),
                  (m, "allow_fp16_accumulation")):
    try:
        setattr(obj, name, 1)
    except RuntimeError as e:
        out.append(str(e))
print(repr(out))
"""


def test_against_torch():
    pytest.importorskip("torch")
    # (in a subprocess: flipping allow_tf32 leaves torch's precision state "mixed" for later tests)
    torch_out = eval(subprocess.run([sys.executable, "-c", _TORCH_PROBE], capture_output=True, text=True,
                                    check=True).stdout)
    c, m = backends.cudnn, backends.cuda.matmul
    ours = [c.enabled, c.benchmark, c.deterministic, c.allow_tf32, m.allow_tf32,
            m.allow_fp16_reduced_precision_reduction, m.allow_bf16_reduced_precision_reduction,
            m.allow_fp16_accumulation, backends.mps.is_available(), backends.mps.is_built(),
            get_float32_matmul_precision()]
    m.allow_tf32 = True
    ours.append(get_float32_matmul_precision())
    for obj, name in ((c, "benchmark"), (c, "enabled"), (c, "deterministic"), (c, "allow_tf32"),
                      (m, "allow_tf32"), (m, "allow_fp16_accumulation")):
        with pytest.raises(RuntimeError) as e:
            setattr(obj, name, 1)
        ours.append(str(e.value))
    assert ours == torch_out
