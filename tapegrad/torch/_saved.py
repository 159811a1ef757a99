"""``grad_fn._saved_*``: the values a backward node keeps, under PyTorch 2.13's names (``_saved_self``,
``_saved_other``, ``_saved_result``, ``_saved_exponent``, ``_saved_dim``...).

A node of the engine keeps the raw buffers its op's rule asked for (``node.saved``, ``node.out``), the op's
static parameters and the inputs' shapes; this table says, for each PyTorch node name, which of them each
attribute reads. Only attributes whose value the node really holds are listed: any other name is an
AttributeError, as in PyTorch for a name the node does not have. A saved tensor reads as PyTorch unpacks
it: the very input tensor where it is a leaf still alive, else a tensor over the saved buffer with its
history (``_saved_result.grad_fn`` is the node itself); after a backward freed the node, reading it raises
PyTorch's "backward through the graph a second time" error. PyTorch's quirks are kept: a Python number saved
as a tensor operand is a 0-d tensor of its Python type (``x * 2.0`` saves ``tensor(2., dtype=float64)``),
and a negative dimension reads as its unsigned 64-bit wrap (``softmax(x, -1)._saved_dim`` is
18446744073709551615).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from .._core.array import Array
from .._core.engine import _SECOND_BACKWARD
from ..ops.linalg import _norm_plan
from .tensor import GradFn, Tensor

_U64 = 1 << 64
_NUMBERS = (bool, int, float, complex, numpy.generic)


class _Freed(Exception):
    pass


def _dim(d: Any) -> Any:
    """A dimension as PyTorch reads it back (a negative one as its unsigned 64-bit wrap)."""
    if d is None:
        return None
    if isinstance(d, (tuple, list)) and len(d) == 1:  # (an op that takes several, given one)
        d = d[0]
    d = int(d)
    return d + _U64 if d < 0 else d


def _dims(d: Any) -> Any:
    if d is None:
        return None
    return tuple(_dim(a) for a in (d if isinstance(d, (tuple, list)) else (d,)))


def _tensor_in(node: Any, i: int) -> Any:
    """Saved input ``i`` as PyTorch unpacks it (None where it was not saved)."""
    if node.freed:
        raise _Freed
    saved = node.saved
    buf = saved[i] if saved is not None and i < len(saved) else None
    if buf is None:
        return None
    if isinstance(buf, _NUMBERS):  # a Python number operand: PyTorch wraps it as a 0-d tensor of its type
        v = buf.item() if isinstance(buf, numpy.generic) else buf
        dt = numpy.bool_ if isinstance(v, bool) else numpy.int64 if isinstance(v, int) else \
            numpy.float64 if isinstance(v, float) else numpy.complex128
        return Tensor._make(numpy.asarray(v, dtype=dt))
    parent = node.parents[i]
    idx = node.pidx[i] if node.pidx is not None else None
    if parent is not None and parent.op is None and parent.var is not None:
        t = parent.var()
        if t is not None and t._data is buf:
            return t  # PyTorch hands back the leaf itself
    return Tensor._make(buf, parent, idx)


def _number_in(node: Any, i: int) -> Any:
    """Saved input ``i`` that PyTorch keeps as a Python number (``x ** 2``'s exponent)."""
    saved = node.saved
    v = saved[i] if saved is not None and i < len(saved) else None
    return v.item() if isinstance(v, numpy.generic) else v


def _tensor_out(node: Any, k: int) -> Any:
    if node.freed:
        raise _Freed
    out = node.out
    if out is None:
        return None
    buf = out if node.nout is None else out[k]
    if buf is None:
        return None
    return Tensor._make(buf, node, None if node.nout is None else k)


def _strides(node: Any, i: int) -> tuple:
    """Input ``i``'s strides in elements (of the saved buffer; of a contiguous layout where none is kept)."""
    saved = node.saved
    buf = saved[i] if saved is not None and i < len(saved) else None
    if isinstance(buf, Array):
        buf = buf._data
    if buf is not None and hasattr(buf, "strides") and hasattr(buf, "itemsize"):
        return tuple(s // buf.itemsize for s in buf.strides)
    shape = tuple(node.shapes[i])
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


# -- attribute makers: each takes the node and returns the value ----------------------------------


def IN(i: int) -> Callable:  # noqa: N802
    return lambda n: _tensor_in(n, i)


def NUM(i: int) -> Callable:  # noqa: N802
    return lambda n: _number_in(n, i)


def OUT(k: int = 0) -> Callable:  # noqa: N802
    return lambda n: _tensor_out(n, k)


def SIZE(i: int = 0) -> Callable:  # noqa: N802
    return lambda n: tuple(int(s) for s in n.shapes[i])


def NUMEL(i: int = 0) -> Callable:  # noqa: N802
    return lambda n: int(numpy.prod(n.shapes[i], dtype=numpy.int64))


def PARAM(key: str, fn: Callable = lambda v: v, default: Any = None) -> Callable:  # noqa: N802
    return lambda n: fn((n.params or {}).get(key, default))


def CONST(v: Any) -> Callable:  # noqa: N802
    return lambda n: v


_RESULT = {"result": OUT()}
_SELF = {"self": IN(0)}
_SELF_OTHER = {"self": IN(0), "other": IN(1)}
_REDUCE = {"dim": PARAM("axis", _dims), "keepdim": PARAM("keepdims", bool, False)}


def _vector_ord(v: Any) -> Any:
    return 2 if v is None or v == "fro" else v


#: PyTorch node name -> {attribute (without ``_saved_``): maker}. Where an entry depends on the op behind
#: the name (several ops share one PyTorch name), ``_BY_OP`` refines it.
SAVED: dict = {
    **{f"{n}Backward0": _RESULT for n in ("Exp", "Tanh", "Sigmoid", "Sqrt", "Relu", "Tan", "Expm1", "Reciprocal")},
    **{f"{n}Backward0": _SELF for n in ("Log", "Log2", "Log10", "Sin", "Cos", "Abs", "Log1P", "Sinh", "Cosh",
                                        "Atan", "Asin", "Acos", "Erf")},
    "MulBackward0": _SELF_OTHER, "DivBackward0": _SELF_OTHER,
    "MaximumBackward0": _SELF_OTHER, "MinimumBackward0": _SELF_OTHER, "Atan2Backward0": _SELF_OTHER,
    "LogaddexpBackward0": _SELF_OTHER, "HypotBackward0": {**_SELF_OTHER, **_RESULT},
    "AddBackward0": {"alpha": CONST(1)}, "SubBackward0": {"alpha": CONST(1)},
    "PowBackward0": {"self": IN(0), "exponent": NUM(1)},
    "PowBackward1": {"self": IN(0), "exponent": IN(1), "result": OUT()},
    "PowBackward2": {"self": NUM(0), "exponent": IN(1), "result": OUT()},
    "MmBackward0": {"self": IN(0), "mat2": IN(1), "self_sym_sizes": SIZE(0), "mat2_sym_sizes": SIZE(1),
                    "self_sym_strides": lambda n: _strides(n, 0), "mat2_sym_strides": lambda n: _strides(n, 1)},
    "MvBackward0": {"self": IN(0), "vec": IN(1)},
    "DotBackward0": {"self": IN(0), "tensor": IN(1)},
    "SumBackward0": {"self_sym_sizes": SIZE()},
    "SumBackward1": {**_REDUCE, "self_sym_sizes": SIZE()},
    "MeanBackward0": {"self_sym_numel": NUMEL(), "self_sym_sizes": SIZE()},
    "MeanBackward1": {**_REDUCE, "self_sym_numel": NUMEL(), "self_sym_sizes": SIZE()},
    "ViewBackward0": {"self_sym_sizes": SIZE()},
    "ExpandBackward0": {"self_sym_sizes": SIZE()},
    "UnsqueezeBackward0": {"dim": PARAM("axis", _dim)},
    "SqueezeBackward0": {"self_sym_sizes": SIZE()},
    "SqueezeBackward1": {"dim": PARAM("axis", _dim), "self_sym_sizes": SIZE()},
    "TransposeBackward0": {"dim0": PARAM("axis1", _dim), "dim1": PARAM("axis2", _dim)},
    "CatBackward0": {"dim": PARAM("axis", _dim)}, "StackBackward0": {"dim": PARAM("axis", _dim)},
    "SoftmaxBackward0": {"dim": PARAM("axis", _dim), **_RESULT},
    "LogSoftmaxBackward0": {"dim": PARAM("axis", _dim), **_RESULT},
    "ClampBackward1": {"min": PARAM("a_min"), "max": PARAM("a_max"), **_SELF},
    "LogsumexpBackward0": {**_REDUCE, **_RESULT, **_SELF},
    "WhereBackward0": {"condition": IN(0)},
    "CumsumBackward0": {"dim": PARAM("axis", _dim)},
    "FlipBackward0": {"dims": PARAM("axis", _dims)},
    "TrilBackward0": {"diagonal": PARAM("k", int, 0)}, "TriuBackward0": {"diagonal": PARAM("k", int, 0)},
    "DiagonalBackward0": {"dim1": PARAM("axis1", _dim, 0), "dim2": PARAM("axis2", _dim, 1),
                          "offset": PARAM("offset", int, 0), "self_sym_sizes": SIZE()},
    "TraceBackward0": {"self_sym_sizes": SIZE()},
    "LinalgInvExBackward0": {"inverse": OUT()},
    "LinalgDetBackward0": {"A": IN(0), **_RESULT},
    "LinalgSolveExBackward0": {"A": IN(0), "left": CONST(True), **_RESULT},
    "LinalgSlogdetBackward0": {"A": IN(0), "sign": OUT(0)},
    "LinalgCholeskyExBackward0": {"L": OUT(), "upper": PARAM("upper", bool, False)},
    "LinalgQrBackward0": {"Q": OUT(0), "R": OUT(1), "mode": PARAM("mode", str, "reduced")},
    "LinalgPinvBackward0": {**_SELF, **_RESULT},
    "LinalgCrossBackward0": {"dim": PARAM("axis", _dim, -1), **_SELF_OTHER},
}

#: (PyTorch name, op name) -> entries that replace the name's own: several ops behind one name.
_BY_OP: dict = {
    ("MulBackward0", "outer"): None,  # PyTorch's outer multiplies a (n, 1) view by the vector
    ("PowBackward0", "square"): {"self": IN(0), "exponent": CONST(2)},
    ("MmBackward0", "linear"): None,  # F.linear saves weight.t(), which the node does not hold
    ("LinalgVectorNormBackward0", "norm"): {"dim": PARAM("axis", _dims), "keepdim": PARAM("keepdims", bool, False),
                                            "ord": PARAM("ord", _vector_ord), **_RESULT, **_SELF},
    ("LinalgEighBackward0", "eigh"): {"eigenvalues": OUT(0), "eigenvectors": OUT(1)},
    ("LinalgSvdBackward0", "svd"): {"U": OUT(0), "S": OUT(1), "Vh": OUT(2),
                                    "full_matrices": PARAM("full_matrices", bool, True),
                                    "S_sym_argsize_minus_1": lambda n: int(min(n.shapes[0][-2:]))},
    ("SumBackward0", "sum_to"): None, ("ViewBackward0", "ravel"): {"self_sym_sizes": SIZE()},
    ("PermuteBackward0", "transpose"): {"dims": PARAM("axes", lambda v: None if v is None else _dims(v))},
}


def _entries(fn: Any) -> dict:
    """The saved attributes of backward node ``fn`` (a ``GradFn``): name -> maker."""
    node = fn._node
    if node.op is None or "torch_name" in node.__dict__:
        return {}
    name, op = fn.name(), node.op.name
    if (name, op) in _BY_OP:
        if op == "norm" and _norm_plan(len(node.shapes[0]), (node.params or {}).get("ord"),
                                       (node.params or {}).get("axis"))[0] == "mat":
            return {}  # a matrix norm: PyTorch computes it from other nodes (amax of svdvals...)
        return _BY_OP[(name, op)] or {}
    if name in _BY_OP_ONLY:
        return {}  # only the ops listed in _BY_OP keep what PyTorch's node of that name keeps
    if name == "MulBackward0" and node.dtypes is not None and node.dtypes[0] is None:
        return {"self": IN(1), "other": IN(0)}  # 2.0 * x is x.mul(2.0) in PyTorch (None: a Python number)
    return SAVED.get(name, {})


_BY_OP_ONLY = {"LinalgVectorNormBackward0", "LinalgEighBackward0", "LinalgSvdBackward0", "PermuteBackward0"}


def names(fn: Any) -> list:
    """``_saved_*`` attribute names of ``fn``."""
    return [f"_saved_{k}" for k in _entries(fn)]


def read(fn: Any, attr: str) -> Any:
    """The value of ``fn._saved_<attr>``; AttributeError where PyTorch's node has no such attribute (or this
    one does not hold it)."""
    maker = _entries(fn).get(attr)
    if maker is None:
        raise AttributeError(f"'{fn.name()}' object has no attribute '_saved_{attr}'")
    try:
        return maker(fn._node)
    except _Freed:
        raise RuntimeError(_SECOND_BACKWARD) from None


def bind(cls: "type[GradFn]" = GradFn) -> None:
    """Make ``cls`` (the dialect's ``GradFn``) read its ``_saved_*`` attributes from this table."""
    cls._reader = (read, names)
