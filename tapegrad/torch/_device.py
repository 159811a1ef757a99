"""PyTorch's device specs: the ``torch.device`` class and the parsing of ``'cpu'``, ``'cuda:1'``, a
``torch.device`` or an int (a CUDA index) into a backend device.

A leaf of the dialect: it imports nothing from ``tapegrad.torch``, so every module of the dialect (the
tensor, creation, the functions, ``nn``) can read device specs without importing another in a circle.
"""
from __future__ import annotations

import builtins as _builtins
from typing import Any

from ..backend import CPU, gpu

_bool, _int = _builtins.bool, _builtins.int


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
