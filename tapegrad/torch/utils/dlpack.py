"""``torch.utils.dlpack``: tensors to and from DLPack, sharing memory with NumPy, real PyTorch, CuPy,
JAX and tapegrad's other doors (``torch.from_dlpack`` is this module's ``from_dlpack``)."""
from __future__ import annotations

from typing import Any

from ...backend import dlpack as _dlpack
from ...backend import to_device
from .._device import _backend_device
from ..tensor import Tensor

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]

DLDeviceType = _dlpack.DLDeviceType

_USED = ("from_dlpack received an invalid capsule. Note that DLTensor capsules can be consumed only once, so you "
         "might have already constructed a tensor from it once.")


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor sharing memory with ``ext_tensor``: an array of any library that implements the DLPack
    protocol (``__dlpack__``), or a capsule from a ``to_dlpack`` function (usable once). Writes through
    either side are seen by the other where the producer's memory is writable. The tensor has no
    history (``requires_grad=False``). ``device`` places it (a copy where it moves); ``copy=True``
    always copies."""
    try:
        buf = _dlpack.import_buffer(ext_tensor, copy=copy)
    except _dlpack.CapsuleUsedError:
        raise RuntimeError(_USED) from None
    if device is not None:
        buf = to_device(buf, _backend_device(device))
    return Tensor._make(buf)


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (the legacy interface: pass it to one
    ``from_dlpack``, once). As in PyTorch, a tensor that requires grad is exported too, as its values."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'tensor' (position 1) must be Tensor, not {type(tensor).__name__}")
    return _dlpack.export(tensor._data)
