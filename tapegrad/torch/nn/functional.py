"""``torch.nn.functional``: activations, losses, dropout, convolution and pooling as maps onto the op registry.

Nothing here differentiates anything: every differentiable step is a registry op (``relu``,
``log_softmax``, ``nll_loss``, ``mse_loss``, ``multiply``...). This module only checks arguments with
PyTorch's error texts and picks the ops.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy

from ..._core.array import OPS, Array
from ..._core.capture import source as _source
from ...backend import device_of, to_device, to_host
from .. import _random
from .._dtypes import Size, default_float, to_numpy_dtype
from .._functions.inplace import _inplace
from .._functions.shape import flatten as _flatten
from ..tensor import Tensor

__all__ = ["relu", "relu_", "sigmoid", "tanh", "softmax", "log_softmax", "linear", "dropout", "cross_entropy",
           "nll_loss", "mse_loss", "one_hot", "flatten", "conv2d", "max_pool2d", "avg_pool2d",
           "softplus", "elu", "elu_", "selu", "selu_", "celu", "celu_", "gelu", "silu", "mish", "leaky_relu",
           "leaky_relu_", "hardtanh", "hardtanh_", "relu6", "hardsigmoid", "hardswish", "logsigmoid", "softsign",
           "tanhshrink", "softshrink", "hardshrink", "threshold", "threshold_", "glu"]

_KINDS = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
          "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool", "complex64": "ComplexFloat",
          "complex128": "ComplexDouble"}
_REDUCTIONS = ("none", "mean", "sum")


def _kind(dt: Any) -> str:
    return _KINDS.get(numpy.dtype(dt).name, numpy.dtype(dt).name)


def _tensor(x: Any, fn: str, arg: str, pos: int) -> Any:
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


def _inplace_result(input: Tensor, fn: Any, saves_result: bool = False) -> Tensor:
    """Write ``fn(input)`` into ``input`` (an ``inplace=True`` activation) through the dialect's one in-place
    path: recorded when grad mode is on, seen by views and detached copies, counted in their shared version
    counter; ``saves_result``: PyTorch's rule reads the result, so a later write to ``input`` fails backward."""
    return _inplace(input, fn, saves_result=saves_result)


# --- activations ------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` elementwise."""
    _tensor(input, "relu", "input", 1)
    return _inplace_result(input, OPS.relu, saves_result=True) if inplace else OPS.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``."""
    return relu(input, inplace=True)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-input))`` elementwise."""
    return OPS.sigmoid(_tensor(input, "sigmoid", "input", 1))


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise."""
    return OPS.tanh(_tensor(input, "tanh", "input", 1))


def _act(input: Tensor, name: str, op: Any, kernel: str | None, inplace: bool = False, **params: Any) -> Tensor:
    """The activation op ``op`` on ``input`` (PyTorch's error for an integer input when ``kernel``
    names its floating-only kernel), written back into ``input`` when ``inplace``."""
    _tensor(input, name, "input", 1)
    if kernel is not None and input._data.dtype.kind not in "fc":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_kind(input._data.dtype)}\'')
    if not inplace:
        return op(input, **params)
    return _inplace_result(input, lambda t: op(t, **params))


def _floating(input: Tensor, name: str) -> Tensor:
    """``input`` as a floating tensor (an integer one in the default dtype), for activations that
    PyTorch composes from other functions."""
    _tensor(input, name, "input", 1)
    return input if input._data.dtype.kind in "fc" else OPS.astype(input, default_float())


def _bound(v: Any, input: Tensor) -> Any:
    """A scalar parameter as PyTorch casts it to an integer input's dtype."""
    return int(v) if input._data.dtype.kind in "iub" and isinstance(v, float) else v


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta * x)) / beta``, and ``x`` where ``beta * x > threshold``."""
    return _act(input, "softplus", OPS.softplus, "softplus_cpu", beta=beta, threshold=threshold)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, else ``alpha * (exp(x) - 1)``."""
    return _act(input, "elu", OPS.elu, "elu_cpu", inplace, alpha=alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with SELU's fixed ``alpha`` and ``scale``."""
    return _act(input, "selu", OPS.elu, "elu_cpu", inplace, alpha=_SELU_ALPHA, scale=_SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return _act(input, "celu", OPS.celu, "elu_cpu", inplace, alpha=alpha)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Phi the standard normal CDF), or its tanh approximation (``approximate='tanh'``)."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return _act(input, "gelu", OPS.gelu, "GeluKernelImpl", approximate=approximate)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    return _act(input, "silu", OPS.silu, "silu_cpu", inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _act(input, "mish", OPS.mish, "mish_cpu", inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, else ``negative_slope * x``."""
    return _act(input, "leaky_relu", OPS.leaky_relu, "leaky_relu_cpu", inplace, negative_slope=negative_slope)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]`` (integer tensors too)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    _tensor(input, "hardtanh", "input", 1)
    return _act(input, "hardtanh", OPS.hardtanh, None, inplace, min_val=_bound(min_val, input),
                max_val=_bound(max_val, input))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x + 3, 0), 6) / 6``."""
    return _act(input, "hardsigmoid", OPS.hardsigmoid, "hardsigmoid_cpu", inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * min(max(x + 3, 0), 6) / 6``."""
    return _act(input, "hardswish", OPS.hardswish, "hardswish_cpu", inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed without overflow."""
    return _act(input, "logsigmoid", OPS.log_sigmoid, "log_sigmoid_cpu")


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return OPS.softsign(_floating(input, "softsign"))


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``."""
    return OPS.tanhshrink(_floating(input, "tanhshrink"))


def _check_lambd(input: Tensor, lambd: float) -> None:
    dt = input._data.dtype
    if dt.kind not in "fc":
        raise NotImplementedError(f'"softshrink_check" not implemented for \'{_kind(dt)}\'')
    if not 0 <= lambd <= float(numpy.finfo(dt).max):
        raise RuntimeError(f"lambda must be in range [0, {float(numpy.finfo(dt).max):g}] for input dtype "
                           f"{_kind(dt)}, but found {lambd:g}")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0."""
    _tensor(input, "softshrink", "input", 1)
    _check_lambd(input, lambd)
    return OPS.softshrink(input, lambd=lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` outside ``[-lambd, lambd]``, else 0."""
    return _act(input, "hardshrink", OPS.hardshrink, "hardshrink_cpu", lambd=lambd)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value`` (integer tensors too)."""
    _tensor(input, "threshold", "input", 1)
    return _act(input, "threshold", OPS.threshold, None, inplace, threshold=_bound(threshold, input),
                value=_bound(value, input))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """``a * sigmoid(b)``, ``a`` and ``b`` the halves of ``input`` along ``dim``."""
    _tensor(input, "glu", "input", 1)
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    _check_dim(dim, input.ndim)
    if input.shape[dim] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} is size "
                           f"{input.shape[dim]}")
    return _act(input, "glu", OPS.glu, "glu_cpu", dim=dim)


def _inplace_variant(fn: Any) -> Any:
    def variant(input: Tensor, *args: Any, **kw: Any) -> Tensor:
        return fn(input, *args, **kw, inplace=True)
    variant.__name__ = variant.__qualname__ = fn.__name__ + "_"
    variant.__doc__ = f"In-place ``{fn.__name__}``."
    return variant


elu_, selu_, celu_, leaky_relu_, hardtanh_, threshold_ = (
    _inplace_variant(f) for f in (elu, selu, celu, leaky_relu, hardtanh, threshold))


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
    # one op for a 2-D weight: it saves weight itself (a write to it before the backward is caught), and
    # its gradient comes out in weight's layout, which the weight keeps as its .grad without a copy
    out = OPS.linear(input, weight) if weight.ndim == 2 else OPS.matmul(input, weight)
    return out if bias is None else out + bias


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """``torch.flatten``: dimensions ``start_dim..end_dim`` merged into one, a view that shares ``input``'s
    version counter (so that a later write to ``input`` is seen by a backward that saved the view)."""
    return _flatten(input, start_dim, end_dim)


# --- convolution and pooling ------------------------------------------------------------------


def _pair(v: Any, name: str) -> tuple:
    """An int or a 1- or 2-sequence as two ints (PyTorch's ``_pair``)."""
    if isinstance(v, (int, numpy.integer)):
        return (int(v), int(v))
    t = tuple(int(i) for i in v)
    if len(t) == 1:
        return t * 2
    if len(t) != 2:
        raise RuntimeError(f"{name} must be an int or a tuple of two ints, got {tuple(v)}")
    return t


def _batched(input: Tensor, fn: str) -> tuple:
    """(N, C, H, W) ``input``, and whether it came without the batch axis (C, H, W)."""
    if input.ndim == 3:
        return OPS.expand_dims(input, 0), True
    if input.ndim != 4:
        raise RuntimeError(f"{fn}: Expected 3D (unbatched) or 4D (batched) input, but got input of size: "
                           f"{list(input.shape)}")
    return input, False


def _unbatch(out: Tensor, squeeze: bool) -> Tensor:
    return OPS.squeeze(out, axis=0) if squeeze else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight`` (F, C // groups, kH, kW),
    plus ``bias`` (F,); ``padding`` is zeros on both sides, an int, a pair, 'valid' or 'same' (stride 1)."""
    _tensor(input, "conv2d", "input", 1)
    _tensor(weight, "conv2d", "weight", 2)
    if weight.ndim != 4:
        raise RuntimeError(f"weight should have at least three dimensions, got weight of size {list(weight.shape)}"
                           if weight.ndim < 3 else f"Expected 4-dimensional weight for 4-dimensional input, but got "
                           f"{weight.ndim}-dimensional weight of size {list(weight.shape)}")
    x, squeeze = _batched(input, "conv2d")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    kernel = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            if any(t % 2 for t in total):
                raise NotImplementedError("conv2d: padding='same' with an even (dilated) kernel needs asymmetric "
                                          "padding, which is not supported")
            padding = tuple(t // 2 for t in total)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of {{'valid', 'same'}}")
    padding = _pair(padding, "padding")
    if groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
                           "channels instead")
    if weight.shape[0] % groups:
        raise RuntimeError("Given groups=%d, expected weight to be divisible by %d at dimension 0, but got weight "
                           "of size %s instead" % (groups, groups, list(weight.shape)))
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{weight.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    for n, k, p, d in zip(x.shape[2:], kernel, padding, dilation):
        if n + 2 * p < d * (k - 1) + 1:
            raise RuntimeError(f"Calculated padded input size per channel: ({x.shape[2] + 2 * padding[0]} x "
                               f"{x.shape[3] + 2 * padding[1]}). Kernel size: ({dilation[0] * (kernel[0] - 1) + 1} x "
                               f"{dilation[1] * (kernel[1] - 1) + 1}). Kernel size can't be greater than actual "
                               "input size")
    args = (x, weight) if bias is None else (x, weight, bias)
    out = OPS.convolution(*args, kernel=kernel, stride=stride, pad=padding, dilate=dilation, num_group=groups)
    return _unbatch(out, squeeze)


def _pool_args(fn: str, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool) -> tuple:
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _pair(stride, "stride")
    padding = _pair(padding, "padding")
    if ceil_mode:
        raise NotImplementedError(f"{fn}: ceil_mode=True is not supported")
    if min(kernel) < 1 or min(stride) < 1:
        raise RuntimeError(f"{fn}: kernel_size and stride must be greater than zero")
    for k, p in zip(kernel, padding):
        if p < 0 or p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation=1" if fn == "max_pool2d" else
                               "pad should be smaller than or equal to half of kernel size, but got "
                               f"padW = {padding[1]}, padH = {padding[0]}, kW = {kernel[1]}, kH = {kernel[0]}")
    return kernel, stride, padding


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each ``kernel_size`` window (stride defaults to the kernel; ``padding`` is -inf).
    The gradient goes to the first maximum of each window when there are ties."""
    _tensor(input, "max_pool2d", "input", 1)
    if _pair(dilation, "dilation") != (1, 1):
        raise NotImplementedError("max_pool2d: dilation > 1 is not supported")
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    kernel, stride, padding = _pool_args("max_pool2d", kernel_size, stride, padding, ceil_mode)
    x, squeeze = _batched(input, "max_pool2d")
    return _unbatch(OPS.pooling(x, kernel=kernel, stride=stride, pad=padding, pool_type="max"), squeeze)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each ``kernel_size`` window (stride defaults to the kernel; zero ``padding`` counts
    in the mean unless ``count_include_pad=False``; ``divisor_override`` replaces the divisor)."""
    _tensor(input, "avg_pool2d", "input", 1)
    kernel, stride, padding = _pool_args("avg_pool2d", kernel_size, stride, padding, ceil_mode)
    x, squeeze = _batched(input, "avg_pool2d")
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        out = OPS.pooling(x, kernel=kernel, stride=stride, pad=padding, pool_type="sum")
        out = out / out._data.dtype.type(divisor_override)
    else:
        out = OPS.pooling(x, kernel=kernel, stride=stride, pad=padding, pool_type="avg",
                          count_include_pad=bool(count_include_pad))
    return _unbatch(out, squeeze)


# --- dropout ----------------------------------------------------------------------------------


@_source
def _dropout_mask(p: float, shape: tuple, dt: Any, device: Any) -> Tensor:
    """Dropout's scaled mask for ``p`` (a random draw: drawn again at each replay of a compiled step)."""
    if p == 1:
        noise = numpy.zeros((), dtype=dt)
    else:
        noise = _random.default_generator.bernoulli(1 - p, shape, dtype=dt)
        noise = noise / dt.type(1 - p)
    return Tensor._make(to_device(noise, device))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` when training;
    ``input`` itself otherwise. The mask comes from the default generator as PyTorch's CPU kernel
    draws it (``bernoulli_(1 - p)`` on a tensor like ``input``), then ``input * mask`` is recorded."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    _tensor(input, "dropout", "input", 1)
    if not training or p == 0 or input._data.size == 0:
        return input
    mask = _dropout_mask(p, tuple(input.shape), input._data.dtype, device_of(input._data))
    return _inplace_result(input, lambda t: OPS.multiply(t, mask)) if inplace else OPS.multiply(input, mask)


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

