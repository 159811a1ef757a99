"""The NumPy door's machinery: the traced array class and the wrappers that make NumPy's functions
differentiable.

A function of the door runs NumPy's own function when none of its arguments is a tapegrad array, so
values outside a differentiated function are exactly NumPy's (dtypes, scalars, every keyword); when
one is, it runs the registry's op, which records it. Inside ``tapegrad.grad`` and the other
transforms the differentiated values are ``ArrayBox`` arrays: NumPy's result types, and value
semantics (``x += y`` makes a new array, as in HIPS autograd and JAX).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy

from .._core.array import OPS, Array, _any_traced, holds_array, pack_sequence
from ..backend import to_host

_SEQS = (list, tuple)


def _method(name: str) -> Callable:
    """NumPy's ndarray method ``name``: the op of that name with the array first."""
    def m(self: Array, *args: Any, **kwargs: Any) -> Any:
        return getattr(OPS, name)(self, *args, **kwargs)
    m.__name__ = m.__qualname__ = name
    m.__doc__ = f"``numpy.ndarray.{name}`` (differentiable where the op is)."
    return m


class ArrayBox(Array):
    """A tapegrad array inside a function that ``tapegrad.grad`` (or another transform) differentiates,
    with NumPy's semantics: NumPy's result types, and values that are never written in place."""

    __slots__ = ()
    #: Mixed with an array of a dialect (``tapegrad.np`` or ``tapegrad.torch``), the dialect's class wins.
    _weak = True

    def __repr__(self) -> str:
        return f"ArrayBox({numpy.asarray(self)!r})"

    def _inplace(self, name: str, other: Any) -> Any:
        # value semantics: ``x += y`` rebinds x to a new array (the old one may be saved for backward)
        return getattr(OPS, name)(self, other)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("an array being differentiated cannot be written in place (x[k] = v): build the new "
                        "value instead, e.g. np.where(mask, v, x), np.concatenate([x[:k], v, x[k + 1:]]) or "
                        "np.stack of a list of rows")

    # NumPy's ndarray methods that are ops with the array first (the functions' parameters)
    sum, mean, prod, max, min, var, std = map(_method, ("sum", "mean", "prod", "max", "min", "var", "std"))
    cumsum, cumprod, all, any = map(_method, ("cumsum", "cumprod", "all", "any"))
    argmax, argmin, clip, round, repeat = map(_method, ("argmax", "argmin", "clip", "round", "repeat"))
    squeeze, swapaxes, ravel, flatten = map(_method, ("squeeze", "swapaxes", "ravel", "flatten"))
    dot, trace, diagonal, conj, conjugate, astype = map(_method, ("dot", "trace", "diagonal", "conj", "conjugate",
                                                                  "astype"))

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        """``numpy.ndarray.reshape``: the shape as a tuple or as separate integers."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if order != "C":
            raise ValueError(f"reshape(order={order!r}) of an array being differentiated: only order='C' is "
                             "supported; transpose first, e.g. x.T.reshape(...).T for Fortran order")
        return OPS.reshape(self, shape)

    def transpose(self, *axes: Any) -> Any:
        """``numpy.ndarray.transpose``: the axes as a tuple or as separate integers (none: reversed)."""
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            return OPS.transpose(self, None if axes[0] is None else tuple(axes[0]))
        return OPS.transpose(self, tuple(axes) if axes else None)

    def copy(self) -> Any:
        """A new array of the same values (values are never written in place)."""
        return OPS.positive(self)

    @property
    def real(self) -> Any:
        return OPS.real(self)

    @property
    def imag(self) -> Any:
        return OPS.imag(self)


def _holds(x: Any) -> bool:
    """Whether ``x`` is a tapegrad array, or a list or tuple with one inside."""
    return isinstance(x, Array) or (type(x) in _SEQS and holds_array(x))


def has_array(args: tuple, kwargs: dict) -> bool:
    """Whether a tapegrad array is among the arguments (or inside a list or tuple among them)."""
    for a in args:
        if _holds(a):
            return True
    for a in kwargs.values():
        if _holds(a):
            return True
    return False


def differentiable(fn: Callable, ref: Callable, name: str) -> Callable:
    """``ref`` (NumPy's or SciPy's function) on plain values, ``fn`` (the registry's op or a
    composite of ops) when a tapegrad array is among the arguments."""
    def f(*args: Any, **kwargs: Any) -> Any:
        if has_array(args, kwargs):
            return fn(*args, **kwargs)
        return ref(*args, **kwargs)
    functools.update_wrapper(f, ref)
    f.__name__ = f.__qualname__ = name
    f.__module__ = __name__.rsplit(".", 1)[0]
    f.op = fn  # type: ignore[attr-defined]  # the op (or composite) behind it, for introspection
    return f


#: Non-differentiable functions whose floating result does not depend on the values of their
#: arguments (shapes and dtypes only), so a traced argument loses no gradient through them.
CONSTANT_RESULTS = frozenset({"zeros_like", "ones_like", "empty_like", "full_like", "shape", "size", "ndim",
                              "result_type", "broadcast_shapes", "indices", "meshgrid", "finfo", "iinfo"})


def _plain(x: Any) -> Any:
    if isinstance(x, Array):
        return to_host(x._data)
    if type(x) in _SEQS and holds_array(x):
        return type(x)(_plain(v) for v in x)
    return x


def passthrough(ref: Callable, name: str, where: str) -> Callable:
    """NumPy's non-differentiable function ``ref``, run on the values of any tapegrad arrays among its
    arguments; refused when it would return a floating result computed from a traced array (its
    gradient would be lost without a word)."""
    def f(*args: Any, **kwargs: Any) -> Any:
        if not has_array(args, kwargs):
            return ref(*args, **kwargs)
        res = ref(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        floating = getattr(getattr(res, "dtype", None), "kind", "") in "fc" and hasattr(res, "shape")
        if floating and name not in CONSTANT_RESULTS and (_any_traced(args) or _any_traced(kwargs.values())):
            raise TypeError(f"{where}.{name} is not differentiable in tapegrad, and its argument is being "
                            f"differentiated: compute it from differentiable functions, or pass a constant "
                            f"(e.g. {where}.{name}(x._data) if it needs no gradient) ")
        return res
    functools.update_wrapper(f, ref)
    f.__name__ = f.__qualname__ = name  # (a ufunc has no __qualname__ to copy)
    f.__module__ = __name__.rsplit(".", 1)[0]
    return f


def array(obj: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    """NumPy's ``array``; a list or tuple holding tapegrad arrays becomes one differentiable array."""
    if isinstance(obj, Array):
        return obj if dtype is None or obj.dtype == dtype else OPS.astype(obj, dtype)
    if type(obj) in _SEQS and holds_array(obj):
        return pack_sequence(obj, dtype)
    return numpy.array(obj, dtype, *args, **kwargs)


def asarray(obj: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    """NumPy's ``asarray``; a tapegrad array stays itself (a traced value keeps its gradient)."""
    if _holds(obj):
        return array(obj, dtype)
    return numpy.asarray(obj, dtype, *args, **kwargs)


def full(shape: Any, fill_value: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    """NumPy's ``full``; differentiable in a traced ``fill_value`` (as HIPS autograd's is)."""
    if _holds(fill_value):
        fill = array(fill_value, dtype)
        return OPS.clone(OPS.broadcast_to(fill, (shape,) if isinstance(shape, int) else tuple(shape)))
    return numpy.full(shape, fill_value, dtype, *args, **kwargs)


def full_like(a: Any, fill_value: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    """NumPy's ``full_like``; differentiable in a traced ``fill_value``."""
    if _holds(fill_value):
        return full(numpy.shape(a), fill_value, dtype if dtype is not None else numpy.result_type(_plain(a)))
    return numpy.full_like(_plain(a), fill_value, dtype, *args, **kwargs)


class Namespace:
    """A door module's table: NumPy's (or SciPy's) module ``ref`` with the registry's ops of
    namespace ``public`` made differentiable; ``where`` names the module in messages."""

    def __init__(self, ref: Any, public: str, where: str, ops: dict, extra: dict | None = None) -> None:
        self.ref, self.where = ref, where
        self.table: dict[str, Any] = {}
        for name, op in ops.items():
            r = getattr(ref, name, None)
            if r is not None and callable(r) and getattr(op, "diff", True):
                self.table[name] = differentiable(op, r, name)
            # (an op without a gradient, a comparison or argmax, is NumPy's own function: every keyword)
        self.table.update(extra or {})

    def get(self, name: str) -> Any:
        if name in self.table:
            return self.table[name]
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            r = getattr(self.ref, name)
        except AttributeError:
            raise AttributeError(f"module {self.where!r} has no attribute {name!r} ({self.ref.__name__} has none "
                                 "either)") from None
        if callable(r) and not isinstance(r, type) and not hasattr(r, "__array_interface__"):
            r = passthrough(r, name, self.where)
        self.table[name] = r
        return r

    def names(self) -> list:
        return sorted(set(self.table) | {n for n in dir(self.ref) if not n.startswith("_")})

    def install(self, module_globals: dict) -> tuple:
        """Fill a door module with the table; returns its ``(__getattr__, __dir__)``, which look up
        (and keep) the rest of ``ref``'s names on first use."""
        module_globals.update(self.table)

        def __getattr__(name: str) -> Any:
            value = self.get(name)
            module_globals[name] = value
            return value
        return __getattr__, self.names

