"""The tables that make the functions PyTorch's API: ``METHODS`` and ``PROPERTIES``, bound onto Tensor by
``bind``, and ``__all__``, the functions exported as ``torch.*`` (each function module's ``__all__``)."""
from __future__ import annotations

import numpy

from .._dtypes import Size, from_numpy_dtype
from . import conversion, elementwise, indexing, linalg, reduce, shape
from .conversion import (_caster, _cpu, _cuda, _new_empty, _new_full, _new_ones, _new_tensor, _new_zeros, _to, _type,
                         _type_as, is_complex, is_floating_point, is_nonzero)
from .elementwise import (_COMPARE_FUNCS, _UNARY_FUNCS, add, allclose, atan2, clamp, clamp_max, clamp_min, conj, div,
                          equal,
                          exp2, float_power, floor_divide, fmax, fmin, fmod, frac, hypot, isclose, lerp, logaddexp,
                          is_conj, maximum, minimum, mul, pow, remainder, resolve_conj, round, rsqrt, sub)
from .indexing import (argwhere, gather, index_select, masked_fill, masked_select, nonzero, scatter, take_along_dim,
                       where)
from .inplace import (HOOKS, _INPLACE_UNARY, _UNARY_REFUSED, _add_, _augmented, _bernoulli_, _binary_inplace, _bitwise_,
                      _clamp_, _clamp_max_, _clamp_min_, _copy_, _div_, _fill_, _floor_divide_, _index_fill_,
                      _masked_fill_, _mul_, _normal_, _pow_, _round_, _scatter_, _setitem, _sub_, _unary_inplace,
                      _uniform_, _zero_)
from .linalg import (_matmul_method, addmm, bmm, diag, diagonal, dot, inner, matmul, mm, mv, outer, trace, tril, triu,
                     vdot)
from .operators import _OPERATORS, _operator, _rsub_operator, _sub_operator, _unary_operator
from .reduce import (all, amax, amin, any, argmax, argmin, argsort, count_nonzero, cumprod, cumsum, dist, kthvalue,
                     log_softmax, logsumexp, max, mean, median, min, nansum, norm, prod, softmax, sort, std, sum, topk,
                     var)
from .shape import (_contiguous, _dim_method, _element_size, _expand, _expand_as, _is_contiguous, _mT, _repeat, _size,
                    _stride, _view, _view_as, broadcast_to, chunk, clone, flatten, flip, fliplr, flipud, movedim,
                    narrow, numel, permute, repeat_interleave, reshape, roll, select, split, squeeze, t, tensor_split,
                    tile, transpose, unbind, unflatten, unsqueeze)

#: Tensor methods: name -> function taking the tensor first.
METHODS: dict = {
    # size and type information
    "size": _size, "dim": _dim_method, "ndimension": _dim_method, "numel": numel, "nelement": numel,
    "element_size": _element_size, "stride": _stride, "is_floating_point": is_floating_point,
    "is_complex": is_complex, "is_nonzero": is_nonzero, "is_contiguous": _is_contiguous,
    # conversion
    "type": _type, "to": _to, "type_as": _type_as, "cpu": _cpu, "cuda": _cuda,
    "float": _caster(numpy.float32, "float"), "double": _caster(numpy.float64, "double"),
    "half": _caster(numpy.float16, "half"), "long": _caster(numpy.int64, "long"),
    "int": _caster(numpy.int32, "int"), "short": _caster(numpy.int16, "short"),
    "char": _caster(numpy.int8, "char"), "byte": _caster(numpy.uint8, "byte"), "bool": _caster(numpy.bool_, "bool"),
    "new_zeros": _new_zeros, "new_ones": _new_ones, "new_empty": _new_empty, "new_full": _new_full,
    "new_tensor": _new_tensor,
    # shape
    "reshape": reshape, "view": _view, "view_as": _view_as, "reshape_as": _view_as, "flatten": flatten,
    "unflatten": unflatten, "squeeze": squeeze, "unsqueeze": unsqueeze, "transpose": transpose,
    "swapaxes": transpose, "swapdims": transpose, "t": t, "permute": permute, "movedim": movedim,
    "moveaxis": movedim, "expand": _expand, "expand_as": _expand_as, "broadcast_to": broadcast_to,
    "repeat": _repeat, "tile": tile, "repeat_interleave": repeat_interleave, "flip": flip, "fliplr": fliplr,
    "flipud": flipud, "roll": roll, "contiguous": _contiguous, "clone": clone, "split": split,
    "tensor_split": tensor_split, "chunk": chunk, "unbind": unbind, "narrow": narrow, "select": select,
    # indexing
    "gather": gather, "take_along_dim": take_along_dim, "index_select": index_select, "masked_fill": masked_fill,
    "masked_select": masked_select, "scatter": scatter, "where": lambda self, condition, other: where(
        condition, self, other), "nonzero": nonzero, "argwhere": argwhere,
    # reductions
    "sum": sum, "nansum": nansum, "mean": mean, "prod": prod, "std": std, "var": var, "norm": norm, "dist": dist,
    "max": max, "min": min, "amax": amax, "amin": amin, "argmax": argmax, "argmin": argmin, "all": all, "any": any,
    "count_nonzero": count_nonzero, "logsumexp": logsumexp, "cumsum": cumsum, "cumprod": cumprod,
    "softmax": softmax, "log_softmax": log_softmax, "argsort": argsort, "sort": sort, "topk": topk,
    "median": median, "kthvalue": kthvalue,
    # elementwise
    **_UNARY_FUNCS, "rsqrt": rsqrt, "exp2": exp2, "frac": frac, "round": round, "clamp": clamp, "clip": clamp,
    "clamp_min": clamp_min, "clamp_max": clamp_max, "add": add, "sub": sub, "subtract": sub, "mul": mul,
    "multiply": mul, "div": div, "divide": div, "true_divide": div, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod, "pow": pow, "float_power": float_power, "atan2": atan2, "arctan2": atan2,
    "maximum": maximum, "minimum": minimum, "fmax": fmax, "fmin": fmin, "hypot": hypot, "logaddexp": logaddexp,
    "lerp": lerp, **_COMPARE_FUNCS, "equal": equal, "isclose": isclose, "allclose": allclose, "conj": conj,
    "is_conj": is_conj, "resolve_conj": resolve_conj,
    # linear algebra
    "matmul": matmul, "__matmul__": _matmul_method, "mm": mm, "mv": mv, "bmm": bmm, "dot": dot, "vdot": vdot, "inner": inner, "outer": outer,
    "ger": outer, "addmm": addmm, "trace": trace, "diag": diag, "diagonal": diagonal, "tril": tril, "triu": triu,
    # in place
    "add_": _add_, "sub_": _sub_, "subtract_": _sub_, "mul_": _mul_, "multiply_": _mul_, "div_": _div_,
    "divide_": _div_, "true_divide_": _div_, "pow_": _pow_, "clamp_": _clamp_, "clip_": _clamp_,
    "clamp_min_": _clamp_min_, "clamp_max_": _clamp_max_, "masked_fill_": _masked_fill_,
    "index_fill_": _index_fill_, "scatter_": _scatter_, "copy_": _copy_, "zero_": _zero_, "fill_": _fill_,
    "normal_": _normal_, "uniform_": _uniform_, "bernoulli_": _bernoulli_, "round_": _round_,
    **{n + "_": _unary_inplace(n) for n in _INPLACE_UNARY},
    **{n + "_": _binary_inplace(globals()[n], n) for n in ("remainder", "fmod", "atan2", "maximum", "minimum")},
    "floor_divide_": _floor_divide_, "arctan2_": _binary_inplace(atan2, "atan2"),
    **{f"bitwise_{n}_": _bitwise_(f"bitwise_{n}") for n in ("and", "or", "xor")},
    "bitwise_left_shift_": _bitwise_("left_shift"), "bitwise_right_shift_": _bitwise_("right_shift"),
    # augmented assignment: the same in-place path (``@=`` is not in place in PyTorch: it rebinds)
    **{f"__i{n}__": _augmented(f"__i{n}__", m) for n, m in (
        ("add", _add_), ("sub", _sub_), ("mul", _mul_), ("truediv", _div_), ("floordiv", _floor_divide_),
        ("mod", _binary_inplace(remainder, "remainder")), ("pow", _pow_), ("and", _bitwise_("bitwise_and")),
        ("or", _bitwise_("bitwise_or")), ("xor", _bitwise_("bitwise_xor")), ("lshift", _bitwise_("left_shift")),
        ("rshift", _bitwise_("right_shift")))},
    "__setitem__": _setitem,
    # out-of-place operators that PyTorch refuses for some dtypes
    "__sub__": _sub_operator, "__rsub__": _rsub_operator,
    **{f"__{n}__": _operator(op) for op, n in _OPERATORS.items()},
    **{f"__r{n}__": _operator(op, True) for op, n in _OPERATORS.items() if not op.startswith(("less", "greater"))},
    "__neg__": _unary_operator("negative", _UNARY_REFUSED["neg"]),
    "__pos__": _unary_operator("positive", {"b": (RuntimeError, "The `+` operator, on a bool tensor is not "
                                                                "supported.")}),
    "__abs__": _unary_operator("abs", {"b": _UNARY_REFUSED["abs"]["b"]}),
    "__invert__": _unary_operator("invert", {"fc": (TypeError, "~ (operator.invert) is only implemented on integer and "
                                                                "Boolean-type tensors")}),
}

#: Tensor properties: name -> getter.
PROPERTIES = {
    "shape": lambda self: Size(self._data.shape),
    "dtype": lambda self: from_numpy_dtype(self._data.dtype),
    "mT": _mT,
    "itemsize": lambda self: self._data.dtype.itemsize,
    "nbytes": lambda self: self._data.nbytes,
}

#: The functions exported as ``torch.*``.
__all__ = sorted({*conversion.__all__, *elementwise.__all__, *reduce.__all__, *linalg.__all__, *shape.__all__,
                  *indexing.__all__})


def bind(cls: type) -> None:
    """Bind ``METHODS``, ``PROPERTIES`` and the dialect's hooks for the core's one in-place path (``HOOKS``)
    onto the tensor class ``cls``."""
    for name, fn in (*METHODS.items(), *HOOKS.items()):
        setattr(cls, name, fn)
    for name, getter in PROPERTIES.items():
        setattr(cls, name, property(getter))
