"""``torch.nn.functional``: activations, losses and dropout as maps onto the op registry.

Nothing here differentiates anything: every differentiable step is a registry op (``relu``,
``log_softmax``, ``nll_loss``, ``mse_loss``, ``multiply``...). This module only checks arguments with
PyTorch's error texts and picks the ops.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy

from ..._core.array import OPS, Array
from ...backend import device_of, to_device, to_host
from .. import _random
from .._dtypes import Size, to_numpy_dtype
from ..tensor import Tensor

__all__ = ["relu", "relu_", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "dropout", "cross_entropy",
           "nll_loss", "mse_loss", "one_hot", "flatten"]

_KINDS = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
          "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
          "complex128": "ComplexDouble"}
_REDUCTIONS = ("none", "mean", "sum")


def _kind(dt: Any) -> str:
    return _KINDS.get(numpy.dtype(dt).name, numpy.dtype(dt).name)


def _tensor(x: Any, fn: str, arg: str, pos: int) -> Tensor:
    if not isinstance(x, Array):
        raise TypeError(f"{fn}(): argument '{arg}' (position {pos}) must be Tensor, not {type(x).__name__}")
    return x


def _host(t: Array) -> numpy.ndarray:
    return numpy.asarray(to_host(t._data))


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's ``_Reduction``: the deprecated ``size_average``/``reduce`` pair wins when given."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{_legacy(size_average, reduce)}' instead.", UserWarning, stacklevel=3)
        return _legacy(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _legacy(size_average: Any, reduce: Any) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "mean" if size_average and reduce else "sum" if reduce else "none"


def _inplace_result(input: Tensor, res: Tensor) -> Tensor:
    """Make ``input`` hold ``res`` (an in-place op such as ``relu_``), recorded when grad mode is on."""
    input._check_inplace()
    if res._node is not None:
        input._data, input._node, input._idx = res._data, res._node, res._idx
    else:
        input._data[...] = res._data
    input._version += 1
    return input


# --- activations ------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` elementwise."""
    res = OPS.relu(_tensor(input, "relu", "input", 1))
    return _inplace_result(input, res) if inplace else res


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return relu(input, inplace=True)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))`` elementwise."""
    return OPS.sigmoid(_tensor(input, "sigmoid", "input", 1))


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    return OPS.tanh(_tensor(input, "tanh", "input", 1))


def _softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _check_dim(dim: int, ndim: int) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim


def _as_float(input: Tensor, dtype: Any, name: str, dim: int) -> Tensor:
    if dtype is not None:
        input = OPS.astype(input, to_numpy_dtype(dtype))
    if input._data.dtype.kind not in "fc":
        kernel = f"{name}_lastdim_kernel_impl" if dim in (-1, input.ndim - 1) else f"{name}_kernel_impl"
        raise RuntimeError(f'"{kernel}" not implemented for \'{_kind(input._data.dtype)}\'')
    return input


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably)."""
    _tensor(input, "softmax", "input", 1)
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim, _stacklevel)
    _check_dim(dim, input.ndim)
    return OPS.softmax(_as_float(input, dtype, "softmax", dim), axis=dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed without forming the softmax."""
    _tensor(input, "log_softmax", "input", 1)
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim, _stacklevel)
    _check_dim(dim, input.ndim)
    return OPS.log_softmax(_as_float(input, dtype, "log_softmax", dim), axis=dim)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``."""
    if input.shape[-1:] != weight.shape[-1:]:
        rows = 1 if input.ndim < 2 else int(numpy.prod(input.shape[:-1]))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1] if input.ndim else 1} "
                           f"and {weight.shape[-1]}x{weight.shape[0]})")
    out = OPS.matmul(input, OPS.transpose(weight) if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``input`` with dimensions ``start_dim..end_dim`` merged into one."""
    shape = tuple(input.shape)
    if not shape:
        return OPS.reshape(input, (1,))
    s, e = _check_dim(start_dim, len(shape)) % len(shape), _check_dim(end_dim, len(shape)) % len(shape)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return input
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return OPS.reshape(input, shape[:s] + (n,) + shape[e + 1:])


# --- dropout ----------------------------------------------------------------------------------


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` when training;
    ``input`` itself otherwise. The mask comes from the default generator as PyTorch's CPU kernel
    draws it (``bernoulli_(1 - p)`` on a tensor like ``input``), then ``input * mask`` is recorded."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    _tensor(input, "dropout", "input", 1)
    if not training or p == 0 or input._data.size == 0:
        return input
    dt = input._data.dtype
    if p == 1:
        noise = numpy.zeros((), dtype=dt)
    else:
        noise = _random.default_generator.bernoulli(1 - p, tuple(input.shape), dtype=dt)
        noise = noise / dt.type(1 - p)
    res = OPS.multiply(input, Tensor._make(to_device(noise, device_of(input._data))))
    return _inplace_result(input, res) if inplace else res


# --- losses -----------------------------------------------------------------------------------


def _check_targets(input: Tensor, target: Tensor, weight: Any, ignore_index: int) -> None:
    """PyTorch's ``nll_loss_nd`` checks, in its order, with its texts."""
    ndim = input.ndim
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    tshape = tuple(target.shape)
    if ndim != 1 and (not tshape or input.shape[0] != tshape[0]):
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                         f"({tshape[0] if tshape else 0}).")
    if ndim <= 2:
        if len(tshape) > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if not (ndim == 1 and not tshape) and input.shape[0] != (tshape[0] if tshape else 0):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: {list(tshape)})")
    elif ndim == 4:
        if len(tshape) != 3:
            raise RuntimeError(f"only batches of spatial targets supported (3D tensors) but got targets of "
                               f"dimension: {len(tshape)}")
        if tshape[1:] != tuple(input.shape[2:]):
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: {list(tshape)})")
    elif tshape[1:] != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got {list(tshape)}")
    n_classes = input.shape[1] if ndim > 1 else input.shape[0]
    if weight is not None and (weight.ndim != 1 or weight._data.size != n_classes):
        raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes but "
                           f"got weight tensor of shape: {list(weight.shape)}")
    tdt = target._data.dtype
    if tdt not in (numpy.dtype(numpy.int64), numpy.dtype(numpy.uint8)):
        raise RuntimeError(f"expected scalar type Long but found {_kind(tdt)}")
    t = _host(target)
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].reshape(-1)[0])} is out of bounds.")


def _weight(weight: Any) -> numpy.ndarray | None:
    return None if weight is None else _host(weight)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of integer class ``target`` under log-probabilities ``input``
    of shape (N, C), (C,) or (N, C, d1, ...)."""
    _tensor(input, "nll_loss", "input", 1)
    _tensor(target, "nll_loss", "target", 2)
    reduction = _reduction(size_average, reduce, reduction)
    _check_targets(input, target, weight, ignore_index)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"nll_loss_out_frame" not implemented for \'{_kind(input._data.dtype)}\'')
    return OPS.nll_loss(input, target, weight=_weight(weight), reduction=reduction, ignore_index=ignore_index)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """``nll_loss(log_softmax(input, 1), target)`` for integer class targets; for a floating ``target``
    of ``input``'s shape (class probabilities), ``-sum(target * log_softmax(input, 1), 1)``."""
    _tensor(input, "cross_entropy", "input", 1)
    _tensor(target, "cross_entropy", "target", 2)
    reduction = _reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    if tuple(input.shape) == tuple(target.shape):
        if target._data.dtype.kind != "f":
            raise RuntimeError(f"Expected floating point type for target with class probabilities, got "
                               f"{_kind(target._data.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim)
    _check_targets(input, target, weight, ignore_index)
    logp = log_softmax(input, class_dim)
    w = _weight(weight)
    nll = OPS.nll_loss(logp, target, weight=w, reduction=reduction, ignore_index=ignore_index)
    if label_smoothing <= 0.0:
        return nll
    # PyTorch's cross_entropy_loss_label_smoothing: mix in the loss against the uniform distribution
    n_classes = input.shape[class_dim]
    if w is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        smooth = -OPS.sum(logp * w.reshape(shape).astype(logp._data.dtype), axis=class_dim)
    else:
        smooth = -OPS.sum(logp, axis=class_dim)
    t = _host(target)
    ignored = t == ignore_index
    smooth = OPS.where(ignored, 0, smooth)
    if reduction == "mean":
        denom = (~ignored).sum() if w is None else w[numpy.where(ignored, 0, t)][~ignored].sum()
        ret = OPS.sum(smooth) / smooth._data.dtype.type(denom)
    elif reduction == "sum":
        ret = OPS.sum(smooth)
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / n_classes)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Any, reduction: str, label_smoothing: float,
                         class_dim: int) -> Tensor:
    n_classes = input.shape[class_dim]
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = log_softmax(input, class_dim) * target
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_dim] = n_classes
        prod = prod * Tensor._make(_host(weight).reshape(shape))
    if reduction == "none":
        return -OPS.sum(prod, axis=class_dim)
    total = -OPS.sum(prod)
    if reduction == "sum":
        return total
    return total / (input._data.size // n_classes if n_classes else 0)


def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """The squared difference ``(input - target) ** 2``, averaged (default), summed or kept."""
    _tensor(input, "mse_loss", "input", 1)
    _tensor(target, "mse_loss", "target", 2)
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({Size(target.shape)}) that is different to the input size "
                      f"({Size(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", UserWarning, stacklevel=2)
    reduction = _reduction(size_average, reduce, reduction)
    return OPS.mse_loss(input, target, reduction=reduction)


# --- encodings --------------------------------------------------------------------------------


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer ``tensor`` as int64 one-hot rows along a new last dimension (not differentiable)."""
    if tensor._data.dtype != numpy.dtype(numpy.int64):
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    t = _host(tensor)
    if t.size and t.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        if not t.size:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(t.max()) + 1
    elif t.size and t.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._make((t[..., None] == numpy.arange(num_classes)).astype(numpy.int64))

