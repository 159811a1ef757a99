"""PyTorch's elementwise functions (``exp``, ``add``, ``div``, ``pow``, ``eq``...) and its dtype
refusals of binary ops (``_binary_checks``), which the operators and the in-place methods share."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..._core.array import _value_read
from ..._core.capture import constant as _constant
from ..._core.array import OPS, Array
from ..._core.op import Entry, UfuncOp1
from ...backend import to_host
from ..tensor import Tensor
from ._util import _bool, _cast, _default_float, _float, _int, _kind, _result_type, _scalar_or, _t


#: Unary ops whose integer and bool results are floating (PyTorch's "int to float" ops).
_FLOATING_UNARY = ("exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "asin",
                   "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh", "sigmoid", "reciprocal",
                   "exp2")


def _unary(name: str, opname: str) -> Callable:
    op = getattr(OPS, opname)

    def f(input: Tensor, _tensor: type = Tensor) -> Tensor:
        if input.__class__ is _tensor and input._data.dtype.kind in "fc":  # the common case: straight to the op
            return op(input)
        x = _t(input, name)
        if x._data.dtype.kind in "biu" and name in _FLOATING_UNARY:  # computed in the default dtype, as in
            x = _cast(x, _default_float())  # PyTorch (NumPy's reciprocal of an integer is an integer)
        return op(x)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` (the registry op ``{opname}``)."
    return f


#: torch name -> registry op
_UNARY = {
    "abs": "abs", "absolute": "abs", "exp": "exp", "expm1": "expm1", "log": "log", "log2": "log2",
    "log10": "log10", "log1p": "log1p", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "asin": "arcsin", "arcsin": "arcsin", "acos": "arccos", "arccos": "arccos", "atan": "arctan",
    "arctan": "arctan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu",
    "neg": "negative", "negative": "negative", "positive": "positive", "reciprocal": "reciprocal",
    "square": "square", "sign": "sign", "sgn": "sign", "floor": "floor", "ceil": "ceil", "trunc": "trunc",
    "fix": "trunc", "isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite", "logical_not": "logical_not",
    "bitwise_not": "invert", "signbit": "signbit", "erf": "erf",
}
_UNARY_FUNCS = {name: _unary(name, op) for name, op in _UNARY.items()}


def _entry(name: str, opname: str) -> Any:
    """``torch.<name>``: an ``Entry`` of the op where the op's fast route gives ``_unary``'s result whenever
    it keeps the input's dtype (so a call on a floating tensor reaches the op with no frame of ours), else
    ``_unary``'s function. Not an Entry: ops that are not one ufunc, and PyTorch's int-to-float functions
    whose NumPy ufunc keeps some integer dtype (``reciprocal``), which ``_unary`` must cast first."""
    op, f = getattr(OPS, opname), _UNARY_FUNCS[name]
    if not isinstance(op, UfuncOp1) or op.ufunc is None:
        return f
    ints = numpy.typecodes["AllInteger"] + "?"
    if name in _FLOATING_UNARY and any(t[0] in ints and t[0] == t[-1] for t in op.ufunc.types):
        return f
    return Entry(op, Tensor, f)


# as Tensor methods (``x.sin()``, ``bindings``) the functions of ``_UNARY_FUNCS``
globals().update({name: _entry(name, op) for name, op in _UNARY.items()})


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(input)``."""
    return OPS.reciprocal(OPS.sqrt(_t(input, "rsqrt")))


def exp2(input: Tensor) -> Tensor:
    """``2 ** input``."""
    x = _t(input, "exp2")
    return OPS.power(_base_tensor(2.0, x), x)


def frac(input: Tensor) -> Tensor:
    """The fractional part, ``input - trunc(input)``."""
    x = _t(input, "frac")
    return OPS.subtract(x, OPS.trunc(x))


def conj(input: Tensor) -> Tensor:
    """The complex conjugate; a real tensor is returned as it is, as in PyTorch.

    PyTorch returns a lazy view with a conjugate bit; here the conjugate is computed at once (eager:
    a new tensor, so writes to it do not reach ``input``). ``is_conj()`` still reports what PyTorch's bit
    would say (True for ``conj`` of a complex tensor, False again for the conjugate of that or after
    ``resolve_conj()``), so code that branches on it takes PyTorch's path. Gradients: ``ConjBackward0``."""
    x = _t(input, "conj")
    if x._data.dtype.kind != "c":
        return x
    out = OPS.conj(x)
    if "_conj_bit" not in x.__dict__:
        out._conj_bit = True
    return out


def is_conj(input: Tensor) -> bool:
    """Whether PyTorch would have the conjugate bit set (see ``conj``: the values are conjugated already)."""
    return "_conj_bit" in _t(input, "is_conj").__dict__


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself, or a copy (``CloneBackward0``) of a ``conj()`` result, whose conjugate bit is then
    clear; the values are the same either way (``conj`` is eager)."""
    x = _t(input, "resolve_conj")
    return OPS.clone(x) if "_conj_bit" in x.__dict__ else x


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even (to ``decimals`` places)."""
    return OPS.round(_t(input, "round"), decimals)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """Values limited to ``[min, max]`` (either may be None; tensors broadcast)."""
    x = _t(input, "clamp")
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Array) or isinstance(max, Array):
        out = x if min is None else OPS.maximum(x, min)
        return out if max is None else OPS.minimum(out, max)
    return OPS.clip(x, min, max)


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:  # noqa: A002
    return clamp(input, max=max)


def _scaled(other: Any, alpha: Any) -> Any:
    if alpha == 1:
        return other
    return OPS.multiply(other, alpha) if isinstance(other, Array) else other * alpha


def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input + alpha * other``."""
    return OPS.add(_scalar_or(input), _scaled(_scalar_or(other), alpha))


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``input - alpha * other``."""
    a, b = _scalar_or(input), _scalar_or(other)
    _check_sub(a, b)
    return OPS.subtract(a, _scaled(b, alpha))


subtract = sub


def rsub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    """``other - alpha * input``."""
    a, b = _scalar_or(other), _scalar_or(input)
    _check_sub(a, b)
    return OPS.subtract(a, _scaled(b, alpha))


def mul(input: Any, other: Any) -> Tensor:
    """``input * other``."""
    return OPS.multiply(_scalar_or(input), _scalar_or(other))


multiply = mul


def _is_int(v: Any) -> bool:
    return v._data.dtype.kind in "iub" if isinstance(v, Array) else isinstance(v, _int)


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """True division; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient."""
    a, b = _scalar_or(input), _scalar_or(other)
    if rounding_mode is None:
        return OPS.divide(a, b)
    if rounding_mode in ("floor", "trunc"):
        _binary_checks(rounding_mode + "_divide", a, b)
    ints = _is_int(a) and _is_int(b)
    if rounding_mode == "floor":
        return OPS.floor_divide(a, b) if ints else OPS.floor(OPS.divide(a, b))
    if rounding_mode == "trunc":
        q = OPS.trunc(OPS.divide(a, b))
        return _cast(q, numpy.result_type(*(v._data.dtype for v in (a, b) if isinstance(v, Array)))) if ints else q
    raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                       f"'{rounding_mode}'")


divide = true_divide = div


def floor_divide(input: Any, other: Any) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input: Any, other: Any) -> Tensor:
    """Python's ``%`` (the result has the divisor's sign)."""
    a, b = _scalar_or(input), _scalar_or(other)
    _binary_checks("remainder", a, b)
    return OPS.remainder(a, b)


def fmod(input: Any, other: Any) -> Tensor:
    """C's ``fmod`` (the result has the dividend's sign)."""
    a, b = _scalar_or(input), _scalar_or(other)
    _binary_checks("fmod", a, b)
    return OPS.fmod(a, b)


@_constant(like=True)
def _base_tensor(base: Any, exponent: Any) -> Any:
    """A Python-number base as a 0-d tensor of the result's dtype (power's VJP needs an array base)."""
    if isinstance(base, Array) or not isinstance(exponent, Array):
        return base
    return Tensor._make(numpy.asarray(base, dtype=_result_type(base, exponent)))


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001 - PyTorch's name
    """``input ** exponent`` (either may be a Python number)."""
    a, e = _scalar_or(input), _scalar_or(exponent)
    rt = _binary_checks("power", a, e) if isinstance(a, Tensor) or isinstance(e, Tensor) else None
    return _bool_power(OPS.power(_base_tensor(a, e), e), rt)


def float_power(input: Any, exponent: Any) -> Tensor:
    """``input ** exponent`` computed in double precision (the result is float64)."""
    a, e = _scalar_or(input), _scalar_or(exponent)
    a = _cast(a, numpy.dtype(numpy.float64)) if isinstance(a, Array) else _float(a)
    e = _cast(e, numpy.dtype(numpy.float64)) if isinstance(e, Array) else _float(e)
    return OPS.power(_base_tensor(a, e), e)


def atan2(input: Tensor, other: Tensor) -> Tensor:
    a, b = _t(input, "atan2"), _t(other, "atan2", 2, "other")
    _binary_checks("atan2", a, b)
    return OPS.arctan2(a, b)


arctan2 = atan2


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum (NaN propagates)."""
    a, b = _t(input, "maximum"), _t(other, "maximum", 2, "other")
    _binary_checks("maximum", a, b)
    return OPS.maximum(a, b)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum (NaN propagates)."""
    a, b = _t(input, "minimum"), _t(other, "minimum", 2, "other")
    _binary_checks("minimum", a, b)
    return OPS.minimum(a, b)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    return OPS.fmax(_t(input, "fmax"), _t(other, "fmax", 2, "other"))


def fmin(input: Tensor, other: Tensor) -> Tensor:
    return OPS.fmin(_t(input, "fmin"), _t(other, "fmin", 2, "other"))


def hypot(input: Tensor, other: Tensor) -> Tensor:
    return OPS.hypot(_t(input, "hypot"), _scalar_or(other))


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    return OPS.logaddexp(_t(input, "logaddexp"), _scalar_or(other))


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``."""
    x = _t(input, "lerp")
    return OPS.add(x, OPS.multiply(_scalar_or(weight), OPS.subtract(_scalar_or(end), x)))


def _compare(name: str, opname: str) -> Callable:
    op = getattr(OPS, opname)

    def f(input: Tensor, other: Any) -> Tensor:
        a, b = _t(input, name), _scalar_or(other)
        if opname in _NO_KERNEL:
            _binary_checks(opname, a, b)
        return op(a, b)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Elementwise ``{name}`` as a bool tensor."
    return f


_COMPARE = {"eq": "equal", "ne": "not_equal", "not_equal": "not_equal", "lt": "less", "less": "less",
            "le": "less_equal", "less_equal": "less_equal", "gt": "greater", "greater": "greater",
            "ge": "greater_equal", "greater_equal": "greater_equal", "logical_and": "logical_and",
            "logical_or": "logical_or", "logical_xor": "logical_xor", "bitwise_and": "bitwise_and",
            "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "bitwise_left_shift": "left_shift",
            "bitwise_right_shift": "right_shift"}
_COMPARE_FUNCS = {name: _compare(name, op) for name, op in _COMPARE.items()}
globals().update(_COMPARE_FUNCS)


def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and elements."""
    a, b = _t(input, "equal"), _t(other, "equal", 2, "other")
    ha, hb = to_host(a._data), to_host(b._data)
    _value_read("array", a, numpy.array(ha))  # (a compiled replay checks what Python read)
    _value_read("array", b, numpy.array(hb))
    return a.shape == b.shape and _bool(numpy.array_equal(ha, hb))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    a, b = _t(input, "isclose"), _t(other, "isclose", 2, "other")
    return Tensor._make(numpy.isclose(to_host(a._data), to_host(b._data), rtol=rtol, atol=atol,
                                      equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    return _bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


__all__ = [*_UNARY_FUNCS, "rsqrt", "exp2", "frac", "round", "clamp", "clip", "clamp_min", "clamp_max", "add", "sub",
           "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder", "fmod",
           "pow", "float_power", "atan2", "arctan2", "maximum", "minimum", "fmax", "fmin", "hypot", "logaddexp",
           "lerp", *_COMPARE_FUNCS, "equal", "isclose", "allclose", "conj", "is_conj", "resolve_conj"]


# -- PyTorch's dtype rules of elementwise ops, shared with the operators and the in-place methods ---------

#: PyTorch kernels that lack some dtype kinds of their result type: op -> (kernel, kinds it lacks).
_NO_KERNEL = {"floor_divide": ("div_floor", "bc"), "trunc_divide": ("div_trunc", "bc"),
              "remainder": ("remainder", "bc"),
              "fmod": ("fmod", "bc"), "atan2": ("atan2", "c"), "bitwise_and": ("bitwise_and", "fc"),
              "bitwise_or": ("bitwise_or", "fc"), "bitwise_xor": ("bitwise_xor", "fc"),
              "left_shift": ("lshift", "bfc"), "right_shift": ("rshift", "bfc"), "less": ("lt", "c"),
              "less_equal": ("le", "c"), "greater": ("gt", "c"), "greater_equal": ("ge", "c")}
#: Ops whose integer and bool results are floating (the default dtype).
_FLOATING = ("divide", "atan2")
_SUB_BOOL = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a "
             "mask, use the `~` or `logical_not()` operator instead.")
_SUB_BOOLS = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
              "`logical_xor()` operator instead.")


def _is_bool(v: Any) -> bool:
    return v._data.dtype.kind == "b" if isinstance(v, Array) else isinstance(v, (_bool, numpy.bool_))


def _check_sub(a: Any, b: Any) -> None:
    """PyTorch refuses ``-`` with a bool operand."""
    if _is_bool(a) or _is_bool(b):
        raise RuntimeError(_SUB_BOOLS if _is_bool(a) and _is_bool(b) else _SUB_BOOL)


def _check_kernel(name: str, rt: numpy.dtype, other: Any, t: Tensor) -> None:
    """PyTorch's refusals of binary op ``name`` computing in dtype ``rt`` with ``other`` the exponent or
    divisor: no kernel for that dtype, a bool tensor exponent, an integer division by zero. (``t``, a
    tensor operand, names the device in the error.)"""
    miss = _NO_KERNEL.get(name)
    if miss is not None and rt.kind in miss[1]:
        raise NotImplementedError(f'"{miss[0]}_{"cuda" if t.is_cuda else "cpu"}" not implemented for \'{_kind(rt)}\'')
    if name == "power" and rt.kind == "b" and isinstance(other, Array):
        raise NotImplementedError("\"pow\" not implemented for 'Bool'")
    if name in ("floor_divide", "trunc_divide", "remainder", "fmod") and rt.kind in "iu":
        if isinstance(other, Array):
            if not numpy.all(to_host(other._data)):
                raise RuntimeError("ZeroDivisionError")
        elif isinstance(other, (_int, numpy.integer, numpy.bool_)) and not other:
            raise RuntimeError("ZeroDivisionError")


#: Dtype kinds of a binary op's operand for which the op may refuse or convert (see _binary_checks).
_CHECKED_KINDS = {name: kinds + "biu" * (name in ("power", "floor_divide", "trunc_divide", "remainder", "fmod"))
                  for name, (_kernel, kinds) in _NO_KERNEL.items()}
_CHECKED_KINDS.update(power="biu", maximum="c", minimum="c")


def _binary_checks(name: str, a: Any, b: Any) -> numpy.dtype | None:
    """PyTorch's refusals of out-of-place binary op ``name`` (an OPS name) on ``a`` and ``b`` (``b`` the
    exponent or divisor), shared by the operators and the functions; returns the result type where it was
    needed (None when the operands were plain: a tensor with a tensor of its dtype or a number of its
    category, nothing to refuse)."""
    t = a if isinstance(a, Tensor) else b
    d = t._data.dtype
    o = b if t is a else a
    c = o.__class__
    if d.kind not in _CHECKED_KINDS.get(name, "") and ((c is _float and d.kind in "fc") or (c is _int and d.kind != "b")
                                                       or (c is Tensor and o._data.dtype is d)):
        return None
    if name == "subtract":
        _check_sub(a, b)
    if name == "power" and type(b) is _int and b < 0 and isinstance(a, Array) and a._data.dtype.kind in "biu":
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    rt = _result_type(a, b)
    if rt is not None:
        if name in ("maximum", "minimum") and rt.kind == "c":
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        _check_kernel(name, rt, b, t)
    return rt


def _bool_power(res: Tensor, rt: numpy.dtype | None) -> Tensor:
    """A bool tensor to a Python bool power stays bool (NumPy gives int8)."""
    return OPS.astype(res, rt) if rt is not None and rt.kind == "b" and res._data.dtype.kind != "b" else res
