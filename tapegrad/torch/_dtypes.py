"""PyTorch's dtype objects and ``torch.Size``, mapped onto NumPy dtypes."""
from __future__ import annotations

from typing import Any

import builtins as _builtins

import numpy

__all__ = ["dtype", "Size", "to_numpy_dtype", "from_numpy_dtype", "DTYPES", "get_default_dtype", "set_default_dtype",
           "default_float", "default_complex", "promote_types", "result_type", "result_type_of"]


class dtype:  # noqa: N801 - PyTorch's name
    """A tensor element type (``torch.float32``); NumPy accepts it wherever a dtype is expected."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, np_dtype: Any) -> None:
        self.name = name
        self.dtype = numpy.dtype(np_dtype)  # lets numpy.dtype(torch.float32) work

    @property
    def is_floating_point(self) -> _builtins.bool:
        return self.dtype.kind == "f"

    @property
    def is_complex(self) -> _builtins.bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> _builtins.bool:
        return self.dtype.kind in "fic"

    @property
    def itemsize(self) -> _builtins.int:
        return self.dtype.itemsize

    @property
    def kind(self) -> str:
        return self.dtype.kind

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    __str__ = __repr__

    def __eq__(self, other: Any) -> _builtins.bool:
        if isinstance(other, dtype):
            return other.dtype == self.dtype
        try:
            return numpy.dtype(other) == self.dtype
        except TypeError:
            return False

    def __hash__(self) -> _builtins.int:
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


def _is_dtype(d: Any) -> _builtins.bool:
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


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < integer < floating < complex
_BOOL, _I64 = numpy.dtype(numpy.bool_), numpy.dtype(numpy.int64)


def complex_of(d: numpy.dtype) -> numpy.dtype:
    """The complex dtype of a floating dtype's precision (complex64 below float64)."""
    return numpy.dtype(numpy.complex128 if d.itemsize >= 8 else numpy.complex64)


def promote_types(a: numpy.dtype | None, b: numpy.dtype | None) -> numpy.dtype | None:
    """PyTorch's promotion of two dtypes: the higher category wins (an integer meeting a float gives the
    float, where NumPy widens), within a category the wider; complex meeting float64 gives complex128."""
    if a is None or b is None:
        return a if b is None else b
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca == cb or ca + cb == 5:  # one category, or float with complex
        return numpy.promote_types(a, b)
    return a if ca > cb else b


def _combine(higher: numpy.dtype | None, lower: numpy.dtype | None) -> numpy.dtype | None:
    """c10's ``combine_categories``: a lower-priority group only counts when of a higher category."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    ch, cl = _CATEGORY[higher.kind], _CATEGORY[lower.kind]
    if ch == 3:
        return higher
    if cl == 3:
        return complex_of(higher) if ch == 2 else lower
    if ch == 2:
        return higher
    if ch == 0 or cl == 2:
        return promote_types(higher, lower)
    return higher


def result_type(entries: Any) -> numpy.dtype | None:
    """PyTorch's result dtype of an elementwise op from its operands' ``(dtype, group)`` pairs, group 0 for
    tensors of one or more dimensions, 1 for 0-d tensors, 2 for Python numbers (as their ``type``):
    a group counts only where it is of a higher category than the groups above it; a Python float is
    the default dtype and a Python complex its complex counterpart."""
    groups: list = [None, None, None]
    for d, g in entries:
        if g == 2:
            d = _BOOL if d is _builtins.bool else _I64 if d is _builtins.int else \
                _DEFAULT[0].dtype if d is _builtins.float else default_complex()
        groups[g] = promote_types(groups[g], d)
    return _combine(groups[0], _combine(groups[1], groups[2]))


def result_type_of(*operands: Any) -> numpy.dtype | None:
    """``result_type`` of operands given as tensors, raw buffers, NumPy scalars or Python numbers (other
    values are skipped)."""
    entries = []
    for v in operands:
        v = getattr(v, "_data", v)  # a tensor: its buffer
        if isinstance(v, numpy.generic):
            v = v.item()
        if isinstance(v, (_builtins.int, _builtins.float, _builtins.complex)):  # bool is an int
            t = next(t for t in (_builtins.bool, _builtins.int, _builtins.float, _builtins.complex) if isinstance(v, t))
            entries.append((t, 2))
        elif hasattr(v, "dtype") and hasattr(v, "ndim"):
            entries.append((v.dtype, 0 if v.ndim else 1))
    return result_type(entries)


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

    def numel(self) -> _builtins.int:
        n = 1
        for s in self:
            n *= s
        return n
