"""PyTorch's size and shape functions: ``size``/``stride``, ``reshape``/``view``, ``permute``, ``expand``,
``flip``, ``cat``/``stack``, ``split``/``chunk``... The functions that return views share their input's
version counter where they share its memory, as PyTorch's views do (``_viewing``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..._core.capture import derived
from ..._core.array import OPS, Array
from ...backend import to_host
from .._dtypes import Size, dtype as _TorchDtype, to_numpy_dtype
from ..tensor import Tensor, _link_views
from ._util import _I64, _any, _bool, _dim, _float, _int, _max, _min, _norm_dim, _shape_args, _sum, _t

__all__ = ["numel", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes", "swapdims",
           "t", "permute", "movedim", "moveaxis", "broadcast_to", "broadcast_tensors", "tile", "repeat_interleave",
           "flip", "fliplr", "flipud", "roll", "clone", "cat", "concat", "concatenate", "stack", "hstack", "vstack",
           "split", "tensor_split", "chunk", "unbind", "narrow", "select"]


def _size(self: Tensor, dim: int | None = None) -> Any:
    """``torch.Size`` of the tensor, or the length of one dimension."""
    shape = self._data.shape
    if dim is None:
        return Size(shape)
    if not shape:
        raise IndexError(f"dimension specified as {dim} but tensor has no dimensions")
    return shape[_norm_dim(_int(dim), len(shape))]


def numel(input: Tensor) -> int:
    """The number of elements."""
    return _int(_t(input, "numel")._data.size)


def _dim_method(self: Tensor) -> int:
    return self._data.ndim


def _element_size(self: Tensor) -> int:
    return self._data.dtype.itemsize


def _stride(self: Tensor, dim: int | None = None) -> Any:
    st = tuple(s // self._data.dtype.itemsize for s in self._data.strides)
    return st if dim is None else st[_norm_dim(dim, self._data.ndim)]


def _check_numel(x: Tensor, shape: tuple) -> tuple:
    """``shape`` with its -1 resolved, or PyTorch's error."""
    n = x._data.size
    known = 1
    free = [i for i, s in enumerate(shape) if s == -1]
    if len(free) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if free:
        if known == 0 or n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif known != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return shape


def reshape(input: Tensor, *shape: Any) -> Tensor:
    """The elements in a new shape (one dimension may be -1)."""
    x = _t(input, "reshape")
    shp = _check_numel(x, _shape_args(shape))
    return OPS.reshape(x, shp)


def _view(self: Tensor, *shape: Any) -> Tensor:
    """``reshape`` (tensors here are always laid out so that a view is possible); ``view(dtype)`` reinterprets."""
    if len(shape) == 1 and (isinstance(shape[0], _TorchDtype) or shape[0] in (_float, _int, _bool)):
        dt = to_numpy_dtype(shape[0])
        return Tensor._make(numpy.ascontiguousarray(self._data).view(dt))
    return reshape(self, *shape)


def _view_as(self: Tensor, other: Tensor) -> Tensor:
    return reshape(self, tuple(other.shape))


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dimensions ``start_dim..end_dim`` merged into one."""
    x = _t(input, "flatten")
    if x.ndim == 0:
        return OPS.reshape(x, (1,))
    s, e = _norm_dim(start_dim, x.ndim), _norm_dim(end_dim, x.ndim)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    shp = x.shape
    return OPS.reshape(x, tuple(shp[:s]) + (-1 if 0 not in shp[s:e + 1] else 0,) + tuple(shp[e + 1:]))


def unflatten(input: Tensor, dim: int, sizes: Any) -> Tensor:
    """Dimension ``dim`` split into ``sizes``."""
    x = _t(input, "unflatten")
    d = _norm_dim(dim, x.ndim)
    return reshape(x, tuple(x.shape[:d]) + tuple(sizes) + tuple(x.shape[d + 1:]))


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    """Size-1 dimensions removed (only ``dim`` when given; a ``dim`` of another size is kept)."""
    x = _t(input, "squeeze")
    if dim is None:
        return OPS.squeeze(x)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    keep = tuple(d for d in (_norm_dim(_int(a), x.ndim) for a in dims) if x.ndim and x.shape[d] == 1)
    return OPS.squeeze(x, axis=keep)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dimension inserted at ``dim``."""
    x = _t(input, "unsqueeze")
    n = x.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return OPS.expand_dims(x, dim % n)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Dimensions ``dim0`` and ``dim1`` swapped."""
    x = _t(input, "transpose")
    if x.ndim == 0:
        return x
    return OPS.swapaxes(x, _norm_dim(dim0, x.ndim), _norm_dim(dim1, x.ndim))


swapaxes = swapdims = transpose


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (a tensor of at most 2 dimensions)."""
    x = _t(input, "t")
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return OPS.t(x)


def _mT(self: Tensor) -> Tensor:
    if self.ndim < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor.")
    return OPS.swapaxes(self, -2, -1)


def permute(input: Tensor, *dims: Any) -> Tensor:
    """Dimensions reordered: ``x.permute(2, 0, 1)``."""
    x = _t(input, "permute")
    d = _shape_args(dims)
    if len(d) != x.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           f"length of the desired ordering of dimensions i.e. input.dim() = {x.ndim} is not equal "
                           f"to len(dims) = {len(d)}")
    norm = tuple(_norm_dim(a, x.ndim) for a in d)
    if len(set(norm)) != len(norm):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return OPS.transpose(x, norm)


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    return OPS.moveaxis(_t(input, "movedim"), source, destination)


moveaxis = movedim


def _expand(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor broadcast to ``sizes`` (-1 keeps a dimension; new dimensions go in front), no copy."""
    target = _shape_args(sizes)
    shp = tuple(self.shape)
    if len(target) < len(shp):
        raise RuntimeError(f"expand({self.type()}{{{list(shp)}}}, size={list(target)}): the number of sizes "
                           f"provided ({len(target)}) must be greater or equal to the number of dimensions in the "
                           f"tensor ({len(shp)})")
    lead = len(target) - len(shp)
    out = []
    for i, s in enumerate(target):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   "non-existing dimension 0")
            out.append(s)
            continue
        cur = shp[i - lead]
        if s == -1:
            s = cur
        elif cur != s and cur != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                               f"non-singleton dimension {i}.  Target sizes: {list(target)}.  Tensor sizes: "
                               f"{list(shp)}")
        out.append(s)
    return OPS.broadcast_to(self, tuple(out))


def _expand_as(self: Tensor, other: Tensor) -> Tensor:
    return _expand(self, tuple(other.shape))


def broadcast_to(input: Tensor, size: Any) -> Tensor:
    return _expand(_t(input, "broadcast_to"), tuple(size))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    shape = numpy.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(_expand(t, shape) for t in tensors)


def _repeat(self: Tensor, *sizes: Any) -> Tensor:
    """The tensor tiled ``sizes`` times along each dimension (PyTorch's ``repeat`` is NumPy's ``tile``)."""
    reps = _shape_args(sizes)
    if len(reps) < self.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of "
                           "tensor")
    return OPS.tile(self, reps)


def tile(input: Tensor, dims: Any) -> Tensor:
    x = _t(input, "tile")
    reps = tuple(dims)
    return OPS.tile(x, (1,) * (x.ndim - len(reps)) + reps)


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times (along ``dim``, or of the flattened tensor)."""
    x = _t(input, "repeat_interleave")
    if repeats is None:  # repeat_interleave(counts): the indices 0, 0, 1, 2, 2, 2...
        counts = to_host(x._data)
        return Tensor._make(numpy.repeat(numpy.arange(counts.size, dtype=_I64), counts))
    reps = to_host(repeats._data) if isinstance(repeats, Array) else repeats
    if dim is None:
        return OPS.repeat(OPS.reshape(x, (-1,)), reps, axis=0)
    return OPS.repeat(x, reps, axis=_norm_dim(dim, x.ndim))


def flip(input: Tensor, dims: Any) -> Tensor:
    """The elements in reverse order along ``dims``: a copy, as in PyTorch (NumPy's flip is a view)."""
    x = _t(input, "flip")
    d = (dims,) if isinstance(dims, _int) else tuple(dims)
    res = OPS.flip(x, axis=d)
    res._data = derived(_copy, res._data)  # (the op is linear: its node keeps no buffer of its output)
    return res


def _copy(d: Any) -> Any:
    return d.copy()


def fliplr(input: Tensor) -> Tensor:
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    return flip(input, (0,))


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Elements shifted cyclically along ``dims`` (of the flattened tensor without ``dims``)."""
    x = _t(input, "roll")
    if dims is None:
        flat = OPS.reshape(x, (-1,))
        n = flat.shape[0]
        idx = (numpy.arange(n) - _int(shifts)) % _max(n, 1)
        return OPS.reshape(OPS.getitem(flat, idx), tuple(x.shape))
    shifts = (shifts,) if isinstance(shifts, _int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, _int) else tuple(dims)
    out = x
    for s, d in zip(shifts, dims):
        d = _norm_dim(d, x.ndim)
        n = x.shape[d]
        idx = (numpy.arange(n) - s) % _max(n, 1)
        out = OPS.getitem(out, (slice(None),) * d + (idx,))
    return out


def _contiguous(self: Tensor, memory_format: Any = None) -> Tensor:
    return self


def _is_contiguous(self: Tensor, memory_format: Any = None) -> bool:
    return _bool(getattr(self._data.flags, "c_contiguous", True))


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy in new memory that stays on the graph (gradients flow back to ``input``)."""
    return OPS.clone(_t(input, "clone"))


def _seq_of_tensors(tensors: Any, fname: str) -> list:
    if isinstance(tensors, Array) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fname}() received an invalid combination of arguments - got ({type(tensors).__name__}), "
                        "but expected (tuple of Tensors tensors, int dim)")
    if not tensors:
        raise RuntimeError(f"{fname}() expects a non-empty TensorList")
    for i, t in enumerate(tensors):  # PyTorch takes no numbers or lists here (nor reads them as constants)
        if not isinstance(t, Array):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return list(tensors)


def cat(tensors: Any, dim: int = 0, *, axis: Any = None, out: Any = None) -> Tensor:
    """Tensors joined along an existing dimension."""
    ts = _seq_of_tensors(tensors, "cat")
    d = _dim(dim if axis is None else axis)
    nd = ts[0].ndim
    if nd == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    for i, t in enumerate(ts):
        if t.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and {t.ndim}")
    d = _norm_dim(d, nd)
    for i, t in enumerate(ts[1:], 1):
        for k in range(nd):
            if k != d and t.shape[k] != ts[0].shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size "
                                   f"{ts[0].shape[k]} but got size {t.shape[k]} for tensor number {i} in the list.")
    return OPS.concatenate(ts, axis=d)


concat = concatenate = cat


def stack(tensors: Any, dim: int = 0, *, axis: Any = None, out: Any = None) -> Tensor:
    """Tensors of one shape joined along a new dimension."""
    ts = _seq_of_tensors(tensors, "stack")
    for i, t in enumerate(ts[1:], 1):
        if tuple(t.shape) != tuple(ts[0].shape):
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(ts[0].shape)} at entry 0 "
                               f"and {list(t.shape)} at entry {i}")
    d = _dim(dim if axis is None else axis)
    n = ts[0].ndim + 1
    if not -n <= d < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {d})")
    return OPS.stack(ts, axis=d % n)


def hstack(tensors: Any) -> Tensor:
    return OPS.hstack(_seq_of_tensors(tensors, "hstack"))


def vstack(tensors: Any) -> Tensor:
    return OPS.vstack(_seq_of_tensors(tensors, "vstack"))


def _slice_along(x: Tensor, d: int, start: int, stop: int) -> Tensor:
    return OPS.getitem(x, (slice(None),) * d + (slice(start, stop),))


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the listed sizes."""
    x = _t(tensor, "split", argname="tensor")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int(s) for s in split_size_or_sections]
        if _sum(sizes) != n or _any(s < 0 for s in sizes):
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
                               f"dimension {d}), but got split_sizes={sizes}")
    else:
        size = _int(split_size_or_sections)
        if size < 0 or (size == 0 and n != 0):
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        sizes = [size] * (n // size) + ([n % size] if n % size else []) if size else [0]
    out, start = [], 0
    for s in sizes:
        out.append(_slice_along(x, d, start, start + s))
        start += s
    return tuple(out)


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple:
    """NumPy's ``array_split``: ``n`` nearly equal pieces, or pieces cut at the given indices."""
    x = _t(input, "tensor_split")
    d = _norm_dim(dim, x.ndim)
    n = x.shape[d]
    if isinstance(indices_or_sections, _int):
        k = indices_or_sections
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        cuts = list(numpy.cumsum([0] + sizes))
    else:
        cuts = [0] + [_min(_max(_int(i), 0), n) for i in indices_or_sections] + [n]
    return tuple(_slice_along(x, d, cuts[i], _max(cuts[i], cuts[i + 1])) for i in range(len(cuts) - 1))


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of ``ceil(size / chunks)`` along ``dim``."""
    x = _t(input, "chunk")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    n = x.shape[_norm_dim(dim, x.ndim)]
    return split(x, _max(-(-n // chunks), 1) if n else 0, dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dimension removed."""
    x = _t(input, "unbind")
    d = _norm_dim(dim, x.ndim)
    return tuple(OPS.getitem(x, (slice(None),) * d + (i, ...)) for i in range(x.shape[d]))  # views, also 0-d


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    x = _t(input, "narrow")
    d = _norm_dim(dim, x.ndim)
    start = _int(start) % x.shape[d] if _int(start) < 0 else _int(start)
    if start + length > x.shape[d]:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({x.shape[d]}).")
    return _slice_along(x, d, start, start + length)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    x = _t(input, "select")
    d = _norm_dim(dim, x.ndim)
    return OPS.getitem(x, (slice(None),) * d + (_int(index), ...))  # a view, also when 0-d


def _viewing(f: Callable) -> Callable:
    """View function ``f`` whose results share their input's version counter where they share its memory
    (as PyTorch's views do; a reshape that has to copy does not)."""
    def view(input: Any, *args: Any, **kwargs: Any) -> Any:
        res = f(input, *args, **kwargs)
        if isinstance(input, Tensor):
            _link_views(input, res, lambda b, i: f(b, *args, **kwargs) if i is None else f(b, *args, **kwargs)[i])
        return res
    view.__name__, view.__qualname__, view.__doc__ = f.__name__, f.__qualname__, f.__doc__
    view.__module__ = f.__module__  # pickled by reference from f's module (linalg's diagonal is one)
    return view


for _n in ("reshape", "_view", "_view_as", "flatten", "unflatten", "squeeze", "unsqueeze", "transpose", "swapaxes",
           "swapdims", "t", "_mT", "permute", "movedim", "moveaxis", "_expand", "_expand_as", "broadcast_to", "split",
           "tensor_split", "chunk", "unbind", "narrow", "select"):
    globals()[_n] = _viewing(globals()[_n])
del _n
