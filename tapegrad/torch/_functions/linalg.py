"""PyTorch's linear algebra: ``matmul`` (with the checks of the product it dispatches to), ``mm``,
``bmm``, ``dot``, ``einsum``, ``diagonal`` (a view), ``tril``..."""
from __future__ import annotations

import builtins
from typing import Any

import numpy

from ..._core.capture import derived
from ..._core.array import OPS, Array
from ...ops.linalg import einsum as _einsum
from ..tensor import Tensor
from ._util import _ctype, _kind, _scalar_or, _t
from .elementwise import _scaled
from .shape import _viewing

__all__ = ["matmul", "mm", "mv", "bmm", "dot", "vdot", "inner", "outer", "ger", "addmm", "tensordot", "einsum",
           "trace", "diag", "diagonal", "tril", "triu"]


def _same_dtype(a: Tensor, b: Tensor) -> None:
    """mm's dtype check (also matmul's where it takes mm's path)."""
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_ctype(a)} != {_ctype(b)}")


def _mm_check(sa: tuple, sb: tuple, a: Tensor, b: Tensor) -> None:
    """mm's checks on the matrices of shapes ``sa`` and ``sb`` (matmul passes folded shapes)."""
    if sa[1] != sb[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa[0]}x{sa[1]} and {sb[0]}x{sb[1]})")
    _same_dtype(a, b)


def _mv_check(sa: tuple, a: Tensor, v: Tensor) -> None:
    """mv's checks on a matrix of shape ``sa`` and vector ``v`` (matmul passes a folded shape)."""
    if sa[1] != v.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({sa[0]}), mat ({sa[0]}x{sa[1]}), vec ({v.shape[0]})")
    if a._data.dtype != v._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {_kind(v)}, {_kind(a)}, "
                           f"and {_kind(v)}")


def _bmm_check(batch: int, k: int, b_first_two: tuple, a: Tensor, b: Tensor) -> None:
    """bmm's checks: ``batch`` and ``k`` (the inner size) of the first operand against the second's
    first two sizes (matmul passes flattened batch sizes)."""
    if tuple(b_first_two) != (batch, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {k}] but got: "
                           f"[{b_first_two[0]}, {b_first_two[1]}].")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_kind(a)} but found {_kind(b)}")


def _broadcast_batch(ba: tuple, bb: tuple) -> tuple:
    """PyTorch's broadcast of two batch shapes (its error names the last dimension that clashes)."""
    n = builtins.max(len(ba), len(bb))
    ba, bb = (1,) * (n - len(ba)) + tuple(ba), (1,) * (n - len(bb)) + tuple(bb)
    for i in range(n - 1, -1, -1):
        if ba[i] != bb[i] and ba[i] != 1 and bb[i] != 1:
            raise RuntimeError(f"The size of tensor a ({ba[i]}) must match the size of tensor b ({bb[i]}) at "
                               f"non-singleton dimension {i}")
    return tuple(builtins.max(x, y) for x, y in zip(ba, bb))


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules (1-D operands, broadcast batches); shapes and dtypes are
    checked as PyTorch does, by the product it dispatches to (dot, mv, mm, or bmm on folded shapes)."""
    if input.__class__ is Tensor and other.__class__ is Tensor:  # two matrices that fit: nothing to check
        sa, sb = input._data.shape, other._data.shape
        if len(sa) == 2 and len(sb) == 2 and sa[1] == sb[0] and input._data.dtype is other._data.dtype:
            return OPS.matmul(input, other)
    a, b = _t(input, "matmul"), _t(other, "matmul", 2, "other")
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        return dot(a, b)
    if da >= 2 and db == 1:  # mv, with a's leading axes folded into its rows
        _mv_check((int(numpy.prod(a.shape[:-1])), a.shape[-1]), a, b)
    elif da == 1 and db == 2:
        _mm_check((1, a.shape[0]), b.shape, a, b)
    elif db == 2:  # mm, with a's leading axes folded into its rows
        _mm_check((int(numpy.prod(a.shape[:-1])), a.shape[-1]), b.shape, a, b)
    else:  # bmm over the broadcast batch axes
        sa = a.shape if da >= 2 else (1,) + a.shape
        batch = _broadcast_batch(sa[:-2], b.shape[:-2])
        n = int(numpy.prod(batch))
        _bmm_check(n, sa[-1], (n, b.shape[-2]), a, b)
    return OPS.matmul(a, b)


def _matmul_method(self: Tensor, other: Any) -> Tensor:
    """``a @ b``: torch.matmul, with its checks, for two tensors."""
    return matmul(self, other) if isinstance(other, Tensor) else OPS.matmul(self, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (2-D only)."""
    a, b = _t(input, "mm"), _t(mat2, "mm", 2, "mat2")
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _mm_check(a.shape, b.shape, a, b)
    return OPS.matmul(a, b)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Product of a matrix and a vector."""
    a, v = _t(input, "mv"), _t(vec, "mv", 2, "vec")
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    _mv_check(a.shape, a, v)
    return OPS.matmul(a, v)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of two 3-D tensors with the same batch size."""
    a, b = _t(input, "bmm"), _t(mat2, "bmm", 2, "mat2")
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    _bmm_check(a.shape[0], a.shape[2], b.shape[:2], a, b)
    return OPS.matmul(a, b)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of one dtype."""
    a, b = _t(input, "dot"), _t(other, "dot", 2, "tensor")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found {_kind(a)} and {_kind(b)}")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to have "
                           f"the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements respectively")
    return OPS.dot(a, b)


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``dot`` with the first argument conjugated."""
    dot(input, other)  # PyTorch's checks
    return OPS.vdot(input, other)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum product over the last dimensions."""
    return OPS.inner(_t(input, "inner"), _t(other, "inner", 2, "other"))


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two vectors."""
    a, b = _t(input, "outer"), _t(vec2, "outer", 2, "vec2")
    for name, v in (("self", a), ("vec2", b)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return OPS.outer(a, b)


ger = outer


def addmm(input: Any, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``."""
    prod_ = _scaled(mm(mat1, mat2), alpha)
    return OPS.add(_scaled(_scalar_or(input), beta), prod_)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """Contraction over ``dims`` (an int, or two lists of dimensions)."""
    if isinstance(dims, Array):
        dims = dims.tolist()
    if isinstance(dims, (list, tuple)):
        dims = tuple(tuple(d) if isinstance(d, (list, tuple)) else d for d in dims)
    return OPS.tensordot(_t(a, "tensordot"), _t(b, "tensordot", 2, "b"), axes=dims)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation: ``einsum('ij,jk->ik', a, b)`` or ``einsum('ij,jk->ik', [a, b])``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _einsum(equation, *operands)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix."""
    x = _t(input, "trace")
    if x.ndim != 2:
        raise RuntimeError("trace: expected a matrix, but got tensor with dim " + str(x.ndim))
    return OPS.trace(x)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A matrix with ``input`` on a diagonal (1-D), or a diagonal of a matrix (2-D)."""
    return OPS.diag(_t(input, "diag"), diagonal)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal: a view of ``input``, as in PyTorch (an in-place write through it reaches ``input``)."""
    x = _t(input, "diagonal")
    res = OPS.diagonal(x, offset, dim1, dim2)
    view = x._data.diagonal(offset, dim1, dim2)  # the same values, in ``input``'s memory
    if hasattr(view.flags, "writeable"):  # NumPy hands its diagonal out read-only
        view.flags.writeable = x._data.flags.writeable
    res._data = derived(_diagonal_view, x._data, view, offset, dim1, dim2)  # (the node keeps no output buffer)
    return res


def _diagonal_view(d: Any, offset: int, dim1: int, dim2: int) -> Any:
    view = d.diagonal(offset, dim1, dim2)
    if hasattr(view.flags, "writeable"):
        view.flags.writeable = d.flags.writeable
    return view


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return OPS.tril(_t(input, "tril"), diagonal)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return OPS.triu(_t(input, "triu"), diagonal)


diagonal = _viewing(diagonal)  # a view: it shares input's version counter
