"""PyTorch's indexing functions: ``gather``, ``index_select``, ``masked_fill``, ``scatter``, ``where``,
``nonzero``, ``meshgrid``..."""
from __future__ import annotations

import warnings
from typing import Any

import numpy

from ..._core.array import OPS, Array
from ...backend import to_host
from ..tensor import Tensor
from ._util import _I64, _bool, _cast, _ctype, _float, _int, _kind, _norm_dim, _scalar_or, _t

__all__ = ["gather", "take_along_dim", "index_select", "masked_fill", "masked_select", "scatter", "where", "nonzero",
           "argwhere", "meshgrid"]


def _index_tensor(index: Any, fname: str) -> Any:
    if not isinstance(index, Array):
        raise TypeError(f"{fname}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != _I64:
        raise RuntimeError(f"{fname}(): Expected dtype int64 for index")
    return index


def _check_bounds(idx: numpy.ndarray, n: int, d: int) -> None:
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise RuntimeError(f"index {bad} is out of bounds for dimension {d} with size {n}")


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` (``dim=0``): values picked along ``dim``; differentiable."""
    x = _t(input, "gather")
    idx = _index_tensor(index, "gather")
    if idx.ndim != x.ndim and not (x.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if x.ndim == 0:
        return OPS.reshape(x, tuple(idx.shape))
    d = _norm_dim(dim, x.ndim)
    for k in range(x.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(x.shape)} apart from dimension {d}")
    _check_bounds(to_host(idx._data), x.shape[d], d)
    return OPS.gather(x, idx, axis=d)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """NumPy's ``take_along_axis`` (``dim=None``: of the flattened tensor)."""
    x = _t(input, "take_along_dim")
    idx = _index_tensor(indices, "take_along_dim")
    return OPS.take_along_axis(x, idx, axis=None if dim is None else _norm_dim(dim, x.ndim))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries ``index`` (a 1-D or 0-d int tensor) along ``dim``."""
    x = _t(input, "index_select")
    if not isinstance(index, Array) or index._data.dtype.kind not in "iu":
        raise RuntimeError("index_select(): Expected dtype int32 or int64 for index")
    if index.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    _check_bounds(to_host(index._data).reshape(-1), n, d)
    if x.ndim == 0:
        return OPS.reshape(x, (1,) * index.ndim) if index.ndim else x
    return OPS.index_select(x, index, axis=d)


def _check_mask(mask: Any, fname: str) -> Any:
    if not isinstance(mask, Array) or mask._data.dtype.kind != "b":
        got = _ctype(mask) if isinstance(mask, Array) else type(mask).__name__
        raise RuntimeError(f"{fname} only supports boolean masks, but got mask with dtype {got}")
    return mask


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True (a 0-d tensor ``value`` is differentiable too)."""
    x = _t(input, "masked_fill")
    _check_mask(mask, "masked_fill_")
    if isinstance(value, Array):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
    elif isinstance(value, numpy.generic):
        value = value.item()
    return OPS.masked_fill(x, mask, value)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements where ``mask`` is True, as a 1-D tensor."""
    x = _t(input, "masked_select")
    _check_mask(mask, "masked_select:")
    shape = numpy.broadcast_shapes(tuple(x.shape), tuple(mask.shape))
    if tuple(x.shape) != shape:
        x = OPS.broadcast_to(x, shape)
    m = numpy.broadcast_to(to_host(mask._data), shape)
    return OPS.getitem(x, m)


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor or a number) written at ``index`` along ``dim``."""
    x = _t(input, "scatter")
    idx = _index_tensor(index, "scatter")
    if reduce is not None:
        raise NotImplementedError("tapegrad.torch: scatter(reduce=...) is not supported; use scatter_add")
    s = value if src is None else src
    if s is None:
        raise TypeError("scatter() missing the 'src' or 'value' argument")
    if idx.ndim != x.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    d = _norm_dim(dim, x.ndim)
    _check_bounds(to_host(idx._data), x.shape[d], d)
    return OPS.scatter(x, idx, _scalar_or(s) if not isinstance(s, (_int, _float, _bool)) else s, axis=d)


def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` holds, ``other`` elsewhere; ``where(condition)`` is ``nonzero(as_tuple=True)``."""
    if not isinstance(condition, Array):
        raise TypeError(f"where(): argument 'condition' (position 1) must be Tensor, not {type(condition).__name__}")
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if condition._data.dtype.kind != "b":
        if condition._data.dtype == numpy.uint8:
            condition = _cast(condition, numpy.dtype(numpy.bool_))
        else:
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                               f"{_kind(condition)}")
    return OPS.where(condition, _scalar_or(input), _scalar_or(other))


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or one 1-D tensor per dimension."""
    a = to_host(_t(input, "nonzero")._data)
    if as_tuple:
        if a.ndim == 0:
            return (Tensor._make(numpy.zeros(_int(a != 0), dtype=_I64)),)
        return tuple(Tensor._make(i.astype(_I64)) for i in numpy.nonzero(a))
    return Tensor._make(numpy.argwhere(a).astype(_I64))


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors; ``indexing='ij'`` (the default, with PyTorch's warning) or ``'xy'``."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    if not tensors:
        raise RuntimeError("torch.meshgrid expects a non-empty TensorList")
    for t_ in tensors:
        if _t(t_, "meshgrid", argname="tensors").ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t_!r}")
    n = len(tensors)
    swap = indexing == "xy" and n >= 2
    sizes = [_int(t_._data.size) for t_ in tensors]
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    out = []
    for i, t_ in enumerate(tensors):
        pos = (1 - i) if swap and i < 2 else i
        s = [1] * n
        s[pos] = -1
        out.append(OPS.broadcast_to(OPS.reshape(t_, tuple(s)), tuple(sizes)))
    return tuple(out)
