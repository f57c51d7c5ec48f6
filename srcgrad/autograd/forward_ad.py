"""``torch.autograd.forward_ad``: present so that imports work; srcgrad differentiates in
reverse mode only, so every entry point raises ``NotImplementedError``."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual", "dual_level"]

_MESSAGE = ("srcgrad implements reverse mode only; use srcgrad.func.jvp / jacfwd or autograd.functional.jvp "
            "(Jacobian-vector products by the double-vjp trick) instead of torch.autograd.forward_ad")


def _unsupported() -> NotImplementedError:
    return NotImplementedError(_MESSAGE)


class UnpackedDualTensor(NamedTuple):
    """``(primal, tangent)``, as returned by PyTorch's ``unpack_dual``."""

    primal: Any
    tangent: Any


def enter_dual_level() -> int:
    raise _unsupported()


def exit_dual_level(*, level: int | None = None) -> None:
    raise _unsupported()


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    raise _unsupported()


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    raise _unsupported()


class dual_level:  # noqa: N801
    """``with forward_ad.dual_level():`` raises NotImplementedError on entry."""

    def __enter__(self) -> int:
        raise _unsupported()

    def __exit__(self, *exc: object) -> None:
        pass
