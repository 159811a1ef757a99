"""PyTorch's dtype objects and ``torch.Size``, mapped onto NumPy dtypes."""
from __future__ import annotations

from typing import Any

import builtins as _builtins

import numpy

__all__ = ["dtype", "Size", "to_numpy_dtype", "from_numpy_dtype", "DTYPES", "get_default_dtype", "set_default_dtype",
           "default_float", "default_complex"]


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type (``torch.float32``); NumPy accepts it wherever a dtype is expected."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.dtype = numpy.dtype(np_dtype)  # lets numpy.dtype(torch.float32) work

    @property
    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in "fic"

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def kind(self) -> str:
        return self.dtype.kind

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return other.dtype == self.dtype
        try:
            return numpy.dtype(other) == self.dtype
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.dtype)


float16 = half = dtype("float16", numpy.float16)
float32 = float = dtype("float32", numpy.float32)  # noqa: A001
float64 = double = dtype("float64", numpy.float64)
complex64 = cfloat = dtype("complex64", numpy.complex64)
complex128 = cdouble = dtype("complex128", numpy.complex128)
uint8 = dtype("uint8", numpy.uint8)
int8 = dtype("int8", numpy.int8)
int16 = short = dtype("int16", numpy.int16)
int32 = int = dtype("int32", numpy.int32)  # noqa: A001
int64 = long = dtype("int64", numpy.int64)
bool = dtype("bool", numpy.bool_)  # noqa: A001

DTYPES = {d.dtype: d for d in (float16, float32, float64, complex64, complex128, uint8, int8, int16, int32,
                                int64, bool)}


def from_numpy_dtype(d: Any) -> dtype:
    """The torch dtype object for a NumPy dtype."""
    d = numpy.dtype(d)
    try:
        return DTYPES[d]
    except KeyError:
        raise TypeError(f"can't convert np.ndarray of type numpy.{d.name}. The only supported types are: "
                        "float64, float32, float16, complex64, complex128, int64, int32, int16, int8, uint8, "
                        "and bool.") from None


#: The default floating dtype (``torch.set_default_dtype``): what Python floats become.
_DEFAULT = [float32]


def get_default_dtype() -> dtype:
    """The default floating dtype, ``torch.float32`` unless ``set_default_dtype`` changed it."""
    return _DEFAULT[0]


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (a floating dtype) what Python floats become in new tensors; Python complex
    numbers then become its complex counterpart (complex128 for float64, else complex64)."""
    t = d if isinstance(d, dtype) else DTYPES.get(numpy.dtype(d)) if _is_dtype(d) else None
    if t is None or t.dtype.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    _DEFAULT[0] = t


def _is_dtype(d: Any) -> bool:
    try:
        numpy.dtype(d)
    except TypeError:
        return False
    return d is not None


def default_float() -> numpy.dtype:
    """The NumPy dtype of the default floating dtype."""
    return _DEFAULT[0].dtype


def default_complex() -> numpy.dtype:
    """The complex dtype that Python complex numbers become: complex128 when the default is float64."""
    return numpy.dtype(numpy.complex128 if _DEFAULT[0].dtype.itemsize == 8 else numpy.complex64)


def to_numpy_dtype(d: Any) -> numpy.dtype:
    """The NumPy dtype for a torch dtype, a NumPy dtype, or Python's float/int/bool/complex."""
    if isinstance(d, dtype):
        return d.dtype
    if d is _builtins.float:
        return numpy.dtype(numpy.float64)  # torch.tensor(x, dtype=float) is float64, as in PyTorch
    if d is _builtins.complex:
        return numpy.dtype(numpy.complex128)
    if d is _builtins.int:
        return numpy.dtype(numpy.int64)
    return numpy.dtype(d)


class Size(tuple):
    """A tensor's shape: a tuple that prints as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n
