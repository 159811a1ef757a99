"""PyTorch's device specs: the ``torch.device`` class and the parsing of ``'cpu'``, ``'cuda:1'``, a
``torch.device`` or an int (a CUDA index) into a backend device; and the default device of factory
functions (``set_default_device``).

A leaf of the dialect: it imports nothing from ``tapegrad.torch``, so every module of the dialect (the
tensor, creation, the functions, ``nn``) can read device specs without importing another in a circle.
"""
from __future__ import annotations

import builtins as _builtins
from typing import Any

from ..backend import CPU, gpu, num_gpus

_bool, _int = _builtins.bool, _builtins.int

__all__ = ["device", "set_default_device", "get_default_device"]


class device:  # noqa: N801 - PyTorch's name
    """A device: ``torch.device('cpu')`` or ``torch.device('cuda', 0)``."""

    def __init__(self, type: str, index: "int | None" = None) -> None:  # noqa: A002
        if ":" in type:
            type, idx = type.split(":")  # noqa: A001
            index = _builtins.int(idx)
        self.type, self.index = type, index

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else \
            f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> "bool":
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> "int":
        return hash((self.type, self.index))


def _parse_device(d: Any) -> tuple:
    """('cpu' or 'cuda', index or None) from a string, a torch.device or an int (a CUDA index)."""
    if isinstance(d, _int) and not isinstance(d, _bool):
        return "cuda", d
    if isinstance(d, str):
        kind, _, idx = d.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {d}")
        return kind, (_int(idx) if idx else None)
    dtype = getattr(d, "type", None)
    if dtype in ("cpu", "cuda"):
        return dtype, getattr(d, "index", None)
    raise TypeError(f"to() received an invalid combination of arguments: got {d!r}")


def _backend_device(d: Any) -> Any:
    """The backend device of a PyTorch device spec (see ``_parse_device``); 'cuda' is GPU 0."""
    kind, index = _parse_device(d)
    return CPU if kind == "cpu" else gpu(index or 0)


#: The device that factory functions (``zeros``, ``rand``, ``tensor``...) place new tensors on when they are
#: given none (``set_default_device``); None for the CPU, which needs no move.
_DEFAULT: list = [None]


def set_default_device(device: Any) -> None:  # noqa: F811 - the argument shadows the class, as in PyTorch
    """Make ``device`` ('cpu', 'cuda', 'cuda:1', a ``torch.device``, an int for a CUDA index; None for the
    CPU) where factory functions put new tensors when no ``device=`` is given. Unlike PyTorch, which fails
    only at the first tensor created, a CUDA device without a GPU is refused here, at once."""
    if device is None:
        _DEFAULT[0] = None
        return
    kind, index = _parse_device(device)
    if kind == "cuda" and num_gpus() <= (index or 0):
        n = num_gpus()
        why = (f"only {n} GPU{'s' if n != 1 else ''} visible" if n else
               "torch.cuda.is_available() is False: tapegrad needs CuPy and an NVIDIA GPU, "
               "e.g. pip install cupy-cuda12x")
        raise RuntimeError(f"set_default_device({str(device)!r}): no CUDA GPU {index or 0} is available here "
                           f"({why}); keep the default device 'cpu', or call torch.set_default_device('cpu')")
    _DEFAULT[0] = None if (kind, index) == ("cpu", None) else _torch_device(kind, index)


def get_default_device() -> "device":
    """The device factory functions use when given none: ``device(type='cpu')`` unless
    ``set_default_device`` changed it."""
    d = _DEFAULT[0]
    return _torch_device("cpu") if d is None else d


def default_device() -> Any:
    """The default device as a factory's ``device=`` argument: None for the CPU."""
    return _DEFAULT[0]


_torch_device = device
