"""The PyTorch dialect: ``import tapegrad.torch as torch``.

A thin policy layer on tapegrad's engine: tensors record whenever grad mode is on and an input
requires grad, ``.grad`` accumulates, reprs and errors are PyTorch's. No gradient is computed here.
"""
from __future__ import annotations

import builtins as _builtins

from . import autograd  # noqa: F401
from . import cuda, distributions, nn, optim  # noqa: F401
from ._creation import *  # noqa: F401,F403
from ._dtypes import (Size, bool, cdouble, cfloat, complex64, complex128, double, dtype,  # noqa: F401,A004
                      float, float16, float32, float64, get_default_dtype, half, int, int8, int16, int32, int64,
                      long, set_default_dtype, short, uint8)
from ._format import set_printoptions  # noqa: F401
from ._functions import *  # noqa: F401,F403
from ._functions import METHODS as _METHODS, PROPERTIES as _PROPERTIES
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .tensor import Tensor

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)
for _name, _getter in _PROPERTIES.items():
    setattr(Tensor, _name, property(_getter))


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


def is_tensor(obj: object) -> "bool":
    """Whether ``obj`` is a tapegrad.torch Tensor."""
    return isinstance(obj, Tensor)

