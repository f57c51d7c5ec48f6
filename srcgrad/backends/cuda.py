"""``torch.backends.cuda``: ``matmul.allow_tf32`` (wired to srcgrad's float32 matmul precision,
as PyTorch does), the reduced-precision reduction flags, ``is_built()`` and the
scaled-dot-product-attention switches.

``matmul.allow_tf32 = True`` is ``set_float32_matmul_precision("high")`` and ``False`` is
``"highest"``; reading it is ``get_float32_matmul_precision() != "highest"``. The other flags are
recorded: XLA chooses its own GEMM accumulation, and srcgrad's attention is always the math
formulation.
"""

from __future__ import annotations

from typing import Any

from ..tensor import get_float32_matmul_precision, set_float32_matmul_precision
from ._flags import check_bool, cuda_versions, has_cuda_gpu


def is_built() -> bool:
    """True where the installed jaxlib has a CUDA plugin (PyTorch: "built with CUDA")."""
    return cuda_versions() is not None or has_cuda_gpu()


class cuBLASModule:  # noqa: N801 - PyTorch's name
    """``torch.backends.cuda.matmul``: attribute access checked as PyTorch checks it."""

    _reduction: dict[str, list[bool]] = {"fp16": [True, True], "bf16": [True, True]}  # [allowed, split_k]
    _fp16_accumulation = [False]

    @staticmethod
    def _parse_reduction_setting(value: Any, attr_name: str) -> tuple[bool, bool]:
        def ensure_bool(obj: Any, which: str) -> bool:
            if isinstance(obj, bool):
                return obj
            raise TypeError(f"{attr_name} expects a bool for {which}, but got {type(obj)!r}")

        if isinstance(value, bool):
            return value, True
        if isinstance(value, (list, tuple)):
            if not value:
                raise TypeError(f"{attr_name} expects at least one boolean argument")
            if len(value) > 2:
                raise TypeError(f"{attr_name} expects at most two boolean arguments")
            allowed = ensure_bool(value[0], "allow_reduced_precision")
            if len(value) == 1:
                return allowed, True
            return allowed, ensure_bool(value[1], "allow_splitk")
        raise TypeError(f"{attr_name} expects a bool or a tuple/list of bools, but got {type(value)!r}")

    def __getattr__(self, name: str) -> Any:
        if name == "allow_tf32":
            return get_float32_matmul_precision() != "highest"
        for kind in ("fp16", "bf16"):
            if name == f"allow_{kind}_reduced_precision_reduction":
                return self._reduction[kind][0]
            if name == f"allow_{kind}_reduced_precision_reduction_split_k":
                return self._reduction[kind][1]
        if name == "allow_fp16_accumulation":
            return self._fp16_accumulation[0]
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "allow_tf32":
            # PyTorch's legacy flag and the precision setting are one state
            set_float32_matmul_precision("high" if check_bool(value, "set_allow_tf32_cublas") else "highest")
            return
        for kind in ("fp16", "bf16"):
            if name == f"allow_{kind}_reduced_precision_reduction":
                allowed, split_k = self._parse_reduction_setting(value, name)
                if allowed and not split_k:
                    raise RuntimeError("allow_splitk=False is not supported when reduced precision reductions "
                                       "are enabled")
                self._reduction[kind][:] = [allowed, split_k]
                return
        if name == "allow_fp16_accumulation":
            self._fp16_accumulation[0] = check_bool(value, "set_allow_fp16_accumulation_cublas")
            return
        raise AttributeError("Unknown attribute " + name)


matmul = cuBLASModule()

# Scaled-dot-product-attention kernels: PyTorch's switches, all on by default. srcgrad's
# attention is one formulation (the math one) whatever they say.
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _enable(kind: str, enabled: bool) -> None:
    _SDP[kind] = check_bool(enabled, f"set_sdp_use_{kind}")


def enable_flash_sdp(enabled: bool) -> None:
    _enable("flash", enabled)


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _enable("mem_efficient", enabled)


def enable_math_sdp(enabled: bool) -> None:
    _enable("math", enabled)


def enable_cudnn_sdp(enabled: bool) -> None:
    _enable("cudnn", enabled)


def flash_sdp_enabled() -> bool:
    return _SDP["flash"]


def mem_efficient_sdp_enabled() -> bool:
    return _SDP["mem_efficient"]


def math_sdp_enabled() -> bool:
    return _SDP["math"]


def cudnn_sdp_enabled() -> bool:
    return _SDP["cudnn"]


def is_flash_attention_available() -> bool:
    """False: srcgrad has no fused flash-attention kernel (as a PyTorch CPU build)."""
    return False
