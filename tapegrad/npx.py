"""MXNet's ``npx`` helpers: ``from tapegrad import npx``."""
from __future__ import annotations

from types import SimpleNamespace

from .backend import cpu, gpu, num_gpus
from .np import random as _random
from .np._wrap import keyword_arrays as _keyword_arrays
from .ops.registry import REGISTRY as _REGISTRY

__all__ = ["set_np", "reset_np", "is_np_array", "cpu", "gpu", "num_gpus", "random"]

for _name, _op in _REGISTRY.items():
    if _op.public == "npx":
        globals()[_name] = _op
        __all__.append(_name)
for _name in ("convolution", "pooling"):  # MXNet's calling convention: arrays also by keyword
    globals()[_name] = _keyword_arrays(_REGISTRY[_name])

random = SimpleNamespace(seed=_random.seed)


def set_np(shape: bool = True, array: bool = True, dtype: bool = False) -> None:
    """Accepted for compatibility: tapegrad always has NumPy semantics."""
    if dtype:
        raise NotImplementedError("npx.set_np(dtype=True) (float64 default) is not supported; pass dtype= "
                                  "when creating arrays instead")


def reset_np() -> None:
    """Accepted for compatibility: tapegrad always has NumPy semantics."""


def is_np_array() -> bool:
    """Always True: every tapegrad array has NumPy semantics."""
    return True


def current_context():
    """The default device (the CPU)."""
    return cpu()
