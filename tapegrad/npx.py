"""MXNet's ``npx`` helpers: ``from tapegrad import npx``."""
from __future__ import annotations

from types import SimpleNamespace

from typing import Any

from ._core.array import Array as _Array
from .backend import cpu, gpu, num_gpus
from .backend import dlpack as _dlpack
from .ndarray import ndarray as _ndarray
from .np import random as _random
from .np._wrap import keyword_arrays as _keyword_arrays
from .ops.registry import REGISTRY as _REGISTRY

__all__ = ["set_np", "reset_np", "is_np_array", "cpu", "gpu", "num_gpus", "random", "from_dlpack",
           "to_dlpack_for_read", "to_dlpack_for_write"]

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


def from_dlpack(dlpack: Any) -> _ndarray:
    """An array backed by a DLPack tensor: a capsule (from ``to_dlpack_for_read``/``_for_write`` or any
    library's ``to_dlpack``; each capsule can be used once), or an array with ``__dlpack__``. Writes
    through either side are seen by the other."""
    try:
        return _ndarray._make(_dlpack.import_buffer(dlpack))
    except _dlpack.CapsuleUsedError:
        raise ValueError("Invalid DLPack Tensor. DLTensor capsules can be consumed only once.") from None


def to_dlpack_for_read(data: _ndarray) -> Any:
    """A DLPack capsule sharing ``data``'s memory (tapegrad has no asynchronous engine to wait for, so
    this is ``to_dlpack_for_write``)."""
    return to_dlpack_for_write(data)


def to_dlpack_for_write(data: _ndarray) -> Any:
    """A DLPack capsule sharing ``data``'s memory, for a consumer that writes to it."""
    if not isinstance(data, _Array):
        raise TypeError(f"expected a tapegrad array, got {type(data).__name__}; make one with np.array(...)")
    return _dlpack.export(data._data)
