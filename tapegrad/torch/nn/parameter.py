"""``torch.nn.Parameter``: a leaf Tensor that a Module registers as one of its parameters."""
from __future__ import annotations

from typing import Any, SupportsIndex

import numpy

from ..._core.array import Array
from ...backend import to_host
from .._dtypes import default_float
from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that requires grad by default and that ``Module.__setattr__`` registers.

    It shares its data's buffer (``Parameter(t)`` is a fresh leaf over ``t``'s storage). Results of
    operations on parameters are plain Tensors, and so are their gradients, as in PyTorch.
    """

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            buf = numpy.empty((0,), dtype=default_float())
        elif isinstance(data, Array):
            buf = data._data
        else:
            raise TypeError(f"Parameter(data) expects a Tensor, but got {type(data).__name__}")
        p = Array._make.__func__(cls, buf)  # type: ignore[attr-defined]  # (a Parameter: not Parameter._make)
        if requires_grad:
            p.requires_grad_(True)
        return p

    @classmethod
    def _make(cls, data: Any, node: Any = None, idx: int | None = None) -> Any:
        # ops whose inputs include a Parameter return plain Tensors (the registry builds results
        # with the most derived input class)
        return Tensor._make(data, node, idx)

    def __repr__(self, *, tensor_contents: Any = None) -> str:  # type: ignore[override]
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple:
        return (_rebuild_parameter, (numpy.array(to_host(self._data)), self.requires_grad))

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._make(numpy.array(to_host(self._data))), self.requires_grad)
        g = self.grad
        if g is not None:
            p.grad = Tensor._make(numpy.array(to_host(g._data)))
        memo[id(self)] = p
        return p


def _rebuild_parameter(data: numpy.ndarray, requires_grad: bool) -> Parameter:
    return Parameter(Tensor._make(data), requires_grad)
