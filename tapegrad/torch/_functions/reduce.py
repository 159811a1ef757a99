"""PyTorch's reductions (``sum``, ``mean``, ``var``, ``norm``, ``max``...), scans (``cumsum``), softmax
and sorting (``sort``, ``topk``, ``median``), with ``torch.return_types`` for their (values, indices).

Reductions take PyTorch's ``dim``/``keepdim`` and NumPy's ``axis``/``keepdims`` spellings alike; ``dim``
may be an int, a tuple or a list."""
from __future__ import annotations

import collections
import types
from typing import Any

import numpy

from ..._core.array import OPS, Array
from ...backend import to_host
from .._dtypes import to_numpy_dtype
from ..tensor import Tensor
from ._util import _I64, _bool, _cast, _dim, _int, _is_float, _kd, _kind, _norm_dim, _t
from .shape import movedim, reshape

__all__ = ["return_types", "sum", "nansum", "mean", "prod", "var", "std", "var_mean", "std_mean", "norm", "dist",
           "max", "min", "amax", "amin", "argmax", "argmin", "all", "any", "count_nonzero", "logsumexp", "cumsum",
           "cumprod", "softmax", "log_softmax", "argsort", "sort", "topk", "median", "kthvalue"]

# -- named tuples of values and indices: torch.return_types.max and friends ----------------------

return_types = types.ModuleType("torch.return_types", "Named tuples returned by max(dim), sort, topk...")


def _return_type(name: str, fields: tuple = ("values", "indices")) -> type:
    base = collections.namedtuple(name, fields)  # type: ignore[misc]  # (a name given at run time)

    def __repr__(self: Any) -> str:
        body = ",\n".join(f"{f}={getattr(self, f)!r}" for f in fields)
        return f"torch.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__str__": __repr__,
                               "__module__": "torch.return_types"})
    setattr(return_types, name, cls)
    return cls


_MAX, _MIN, _SORT, _TOPK, _MEDIAN, _KTH, _MODE = (_return_type(n) for n in
                                                  ("max", "min", "sort", "topk", "median", "kthvalue", "mode"))


def _int_result(x: Tensor, dtype: Any) -> Any:
    """The dtype to accumulate in: the requested one, or int64 for bool and integer tensors."""
    if dtype is not None:
        return to_numpy_dtype(dtype)
    return _I64 if x._data.dtype.kind in "biu" else None


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, out: Any = None) -> Tensor:
    """Sum over ``dim`` (all elements by default); bool and integer tensors sum to int64."""
    x = _t(input, "sum")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.sum(x, axis=_dim(dim, axis), dtype=dt, keepdims=_kd(keepdim, keepdims))


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Sum treating NaN as zero."""
    x = _t(input, "nansum")
    return sum(OPS.where(OPS.isnan(x), 0.0, x), dim, keepdim, dtype=dtype, axis=axis, keepdims=keepdims)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
         keepdims: bool | None = None, out: Any = None) -> Tensor:
    """Mean over ``dim`` (all elements by default); floating and complex tensors only."""
    x = _t(input, "mean")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    if not _is_float(x):
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_kind(x)}")
    return OPS.mean(x, axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def prod(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """Product over ``dim`` (all elements by default); bool and integer tensors give int64."""
    x = _t(input, "prod")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.prod(x, axis=_dim(dim, axis), dtype=dt, keepdims=_kd(keepdim, keepdims))


def _correction(unbiased: Any, correction: Any, ddof: Any) -> Any:
    if correction is not None:
        return correction
    if ddof is not None:
        return ddof
    return 0 if unbiased is False else 1


def _var_like(name: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, axis: Any,
              keepdims: Any, ddof: Any) -> Tensor:
    x = _t(input, name)
    if isinstance(dim, _bool):  # the legacy form std(unbiased)
        dim, unbiased = None, dim
    if not _is_float(x):
        raise RuntimeError("std and var only support floating point and complex dtypes")
    op = OPS.std if name == "std" else OPS.var
    return op(x, axis=_dim(dim, axis), ddof=_correction(unbiased, correction, ddof), keepdims=_kd(keepdim, keepdims))


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        axis: Any = None, keepdims: bool | None = None, ddof: Any = None) -> Tensor:
    """Variance over ``dim``; unbiased (``correction=1``) by default, as in PyTorch."""
    return _var_like("var", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        axis: Any = None, keepdims: bool | None = None, ddof: Any = None) -> Tensor:
    """Standard deviation over ``dim``; unbiased (``correction=1``) by default, as in PyTorch."""
    return _var_like("std", input, dim, unbiased, keepdim, correction, axis, keepdims, ddof)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return (var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None) -> tuple:
    return (std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim))


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """The vector ``p``-norm of all elements (or over ``dim``); ``'fro'`` and ``'nuc'`` over two dims."""
    x = _t(input, "norm")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_kind(x)}")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d, kd = _dim(dim, axis), _kd(keepdim, keepdims)
    if p == "nuc" or (p == "fro" and isinstance(d, tuple) and len(d) == 2):
        return OPS.norm(x, p, d, kd)
    ordp = None if p in ("fro", 2, 2.0, None) else p
    if d is None and x.ndim == 1:  # a vector's norm, with no dim (as PyTorch's node records it)
        return OPS.norm(x, ordp, None, kd)
    if d is None:
        d = tuple(range(x.ndim))
    if isinstance(d, tuple) and len(d) == 1:
        d = d[0]
    if isinstance(d, tuple):  # a vector norm over several dimensions: merge them into one
        nd = x.ndim
        d = tuple(sorted(_norm_dim(a, nd) for a in d))
        if not d:
            return OPS.abs(x)
        # views linked to x (movedim, reshape), so that the norm's saved input watches x's version counter
        moved = movedim(x, d, tuple(range(nd - len(d), nd)))
        flat = reshape(moved, tuple(moved.shape[:nd - len(d)]) + (-1,))
        res = OPS.norm(flat, ordp, -1, False)
        if kd:
            res = OPS.reshape(res, tuple(1 if i in d else n for i, n in enumerate(x.shape)))
        return res
    if x.ndim == 0:
        return OPS.abs(x)
    return OPS.norm(x, ordp, d, kd)


def dist(input: Tensor, other: Tensor, p: Any = 2) -> Tensor:
    """``norm(input - other, p)``."""
    return norm(OPS.subtract(_t(input, "dist"), other), p)


def _extremum(name: str, input: Tensor, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Any:
    x = _t(input, name)
    if isinstance(dim, Array):  # torch.max(x, y): the elementwise form
        return (OPS.maximum if name == "max" else OPS.minimum)(x, dim)
    d = _dim(dim, axis)
    if d is None:
        if x._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               "the reduction dim with the 'dim' argument.")
        return (OPS.max if name == "max" else OPS.min)(x)
    if isinstance(d, tuple):
        raise TypeError(f"{name}() received an invalid combination of arguments: dim must be an int, got {dim!r}")
    d = _norm_dim(d, x.ndim)
    kd = _kd(keepdim, keepdims)
    if x.ndim == 0:
        return (_MAX if name == "max" else _MIN)(x, Tensor._make(numpy.array(0, dtype=_I64)))
    values = (OPS.max if name == "max" else OPS.min)(x, axis=d, keepdims=kd)
    indices = _cast((OPS.argmax if name == "max" else OPS.argmin)(x, axis=d, keepdims=kd), _I64)
    return (_MAX if name == "max" else _MIN)(values, indices)


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The largest element; ``max(dim)`` returns ``(values, indices)``; ``max(x, y)`` is elementwise."""
    return _extremum("max", input, other if other is not None else dim, keepdim, axis, keepdims)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None, other: Any = None) -> Any:
    """The smallest element; ``min(dim)`` returns ``(values, indices)``; ``min(x, y)`` is elementwise."""
    return _extremum("min", input, other if other is not None else dim, keepdim, axis, keepdims)


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The maximum over ``dim`` (all dims when empty); ties share the gradient."""
    d = _dim(None if dim == () else dim, axis)
    return OPS.amax(_t(input, "amax"), axis=None if d == () else d, keepdims=_kd(keepdim, keepdims))


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
         keepdims: bool | None = None) -> Tensor:
    """The minimum over ``dim`` (all dims when empty); ties share the gradient."""
    d = _dim(None if dim == () else dim, axis)
    return OPS.amin(_t(input, "amin"), axis=None if d == () else d, keepdims=_kd(keepdim, keepdims))


def _arg(name: str, input: Tensor, dim: Any, keepdim: bool, axis: Any, keepdims: Any) -> Tensor:
    x = _t(input, name)
    d = _dim(dim, axis)
    if d is None and x._data.size == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
    kd = _kd(keepdim, keepdims)
    op = OPS.argmax if name == "argmax" else OPS.argmin
    if d is None and kd:  # PyTorch keeps every dimension as size 1
        return _cast(OPS.reshape(op(x), (1,) * x.ndim), _I64)
    return _cast(op(x, axis=d, keepdims=kd), _I64)


def argmax(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the largest element (flat without ``dim``), int64."""
    return _arg("argmax", input, dim, keepdim, axis, keepdims)


def argmin(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
           keepdims: bool | None = None) -> Tensor:
    """Index of the smallest element (flat without ``dim``), int64."""
    return _arg("argmin", input, dim, keepdim, axis, keepdims)


def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    """Whether every element is nonzero (over ``dim``), as a bool tensor."""
    return OPS.all(_t(input, "all"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,  # noqa: A001
        keepdims: bool | None = None) -> Tensor:
    """Whether some element is nonzero (over ``dim``), as a bool tensor."""
    return OPS.any(_t(input, "any"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    x = _t(input, "count_nonzero")
    return Tensor._make(numpy.asarray(numpy.count_nonzero(to_host(x._data), axis=_dim(dim)), dtype=_I64))


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None,
              keepdims: bool | None = None) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, computed stably."""
    return OPS.logsumexp(_t(input, "logsumexp"), axis=_dim(dim, axis), keepdims=_kd(keepdim, keepdims))


def cumsum(input: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Running sum along ``dim``; bool and integer tensors give int64."""
    x = _t(input, "cumsum")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.cumsum(x, axis=_norm_dim(_dim(dim, axis), x.ndim), dtype=dt)


def cumprod(input: Tensor, dim: Any = None, *, dtype: Any = None, axis: Any = None) -> Tensor:
    """Running product along ``dim``; bool and integer tensors give int64."""
    x = _t(input, "cumprod")
    dt = _int_result(x, dtype)
    if dt is not None and dt.kind in "fc":
        x, dt = _cast(x, dt), None
    return OPS.cumprod(x, axis=_norm_dim(_dim(dim, axis), x.ndim), dtype=dt)


def softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``."""
    x = _t(input, "softmax")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d = _dim(dim, axis)
    return OPS.softmax(x, axis=-1 if d is None else d)


def log_softmax(input: Tensor, dim: Any = None, dtype: Any = None, *, axis: Any = None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    x = _t(input, "log_softmax")
    if dtype is not None:
        x = _cast(x, to_numpy_dtype(dtype))
    d = _dim(dim, axis)
    return OPS.log_softmax(x, axis=-1 if d is None else d)


def _sorted_indices(x: Tensor, dim: int, descending: bool) -> numpy.ndarray:
    a = to_host(x._data)
    if descending:  # stable descending order: equal elements keep their input order
        idx = numpy.flip(numpy.argsort(numpy.flip(a, dim), axis=dim, kind="stable"), dim)
        idx = a.shape[dim] - 1 - idx
    else:
        idx = numpy.argsort(a, axis=dim, kind="stable")
    return idx.astype(_I64)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (int64)."""
    x = _t(input, "argsort")
    if x.ndim == 0:
        return Tensor._make(numpy.array(0, dtype=_I64))
    return Tensor._make(_sorted_indices(x, _norm_dim(dim, x.ndim), descending))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim``; values are differentiable."""
    x = _t(input, "sort")
    if x.ndim == 0:
        return _SORT(x, Tensor._make(numpy.array(0, dtype=_I64)))
    idx = argsort(x, dim, descending)
    return _SORT(OPS.gather(x, idx, axis=_norm_dim(dim, x.ndim)), idx)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    """The ``k`` largest (or smallest) ``(values, indices)`` along ``dim``."""
    x = _t(input, "topk")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if x.ndim == 0:
        return _TOPK(x, Tensor._make(numpy.array(0, dtype=_I64)))
    idx = _sorted_indices(x, d, largest)
    top = Tensor._make(numpy.ascontiguousarray(numpy.take(idx, numpy.arange(k), axis=d)))
    return _TOPK(OPS.gather(x, top, axis=d), top)


def _nth(x: Tensor, d: int, k: int, keepdim: bool, cls: type) -> Any:
    idx = numpy.take(_sorted_indices(x, d, False), [k], axis=d)
    it = Tensor._make(idx)
    values = OPS.gather(x, it, axis=d)
    if not keepdim:
        values = OPS.squeeze(values, axis=d)
        it = Tensor._make(numpy.squeeze(idx, d))
    return cls(values, it)


def median(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:
    """The lower median of all elements, or ``(values, indices)`` along ``dim``."""
    x = _t(input, "median")
    if dim is None:
        flat = OPS.reshape(x, (-1,))
        return OPS.squeeze(_nth(flat, 0, (flat.shape[0] - 1) // 2, True, _MEDIAN).values, axis=0)
    d = _norm_dim(_int(dim), x.ndim)
    return _nth(x, d, (x.shape[d] - 1) // 2, keepdim, _MEDIAN)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False) -> Any:
    """The ``k``-th smallest ``(values, indices)`` along ``dim`` (``k`` counts from 1)."""
    x = _t(input, "kthvalue")
    d = _norm_dim(dim, x.ndim)
    return _nth(x, d, k - 1, keepdim, _KTH)
