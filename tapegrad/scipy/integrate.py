"""``tapegrad.scipy.integrate``: ``scipy.integrate`` with ``odeint`` differentiable in ``y0``, ``t`` and
``args`` (the adjoint method, as ``autograd.scipy.integrate.odeint``). On plain values every function is
SciPy's own.

``func(y, t, *args)`` is written with ``tapegrad.numpy``; what it differentiates must come in through
``y0``, ``t`` or ``args`` (a value read from a closure while being differentiated is refused)."""
from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as _onp

from .. import ops as _ops
from .._core.array import Array as _Array, holds_array as _holds_array
from .._core.mode import RECORDING as _RECORDING
from .._core.tree import flatten as _flatten
from ._door import install, scipy_module

_ref = scipy_module("integrate")

#: odeint's keyword arguments that only steer the solver (passed to SciPy on every solve)
_OPTIONS = ("rtol", "atol", "tcrit", "h0", "hmax", "hmin", "ixpr", "mxstep", "mxhnil", "mxordn", "mxords",
            "printmessg")


_SIGNATURE = inspect.signature(_ref.odeint)


def odeint(*args: Any, **kwargs: Any) -> Any:
    """``scipy.integrate.odeint``; differentiable in ``y0``, ``t`` and ``args`` when a tapegrad array is among
    them."""
    bound = _SIGNATURE.bind(*args, **kwargs)
    p = bound.arguments
    extra = p.get("args", ())
    extra = extra if isinstance(extra, tuple) else (extra,)  # as SciPy
    leaves, tree = _flatten(extra)
    if not any(isinstance(v, _Array) for v in _flatten([p["y0"], p["t"]])[0] + leaves):
        if _RECORDING.get():  # inside a transform: func must not read what it differentiates from a closure
            bound.arguments["func"] = _checked(p["func"])
            return _ref.odeint(*bound.args, **bound.kwargs)
        return _ref.odeint(*args, **kwargs)
    bound.apply_defaults()
    p = bound.arguments
    if p["full_output"] or p["Dfun"] is not None or p["col_deriv"] or p["ml"] is not None or p["mu"] is not None:
        raise ValueError("odeint: full_output, Dfun, col_deriv, ml and mu are not supported on arrays being "
                         "differentiated; leave them out (the gradient runs its own solves)")
    for leaf in leaves:
        if not isinstance(leaf, (_Array, _onp.ndarray, _onp.generic, int, float)):
            raise TypeError(f"odeint: args holds a {type(leaf).__name__}, and on arrays being differentiated args "
                            "may hold only arrays and numbers (in tuples, lists and dicts); reach other values from "
                            "func through a closure")
    opts = {k: p[k] for k in _OPTIONS if p[k] is not None and not _same(p[k], _SIGNATURE.parameters[k].default)}
    return _ops.integrate.odeint(p["y0"], p["t"], *leaves, func=p["func"], tree=tree, tfirst=bool(p["tfirst"]),
                                 options=opts)


def _checked(func: Any) -> Any:
    def f(*a: Any) -> Any:
        r = func(*a)
        if isinstance(r, _Array) or (isinstance(r, (list, tuple)) and _holds_array(r)):
            raise TypeError("odeint: func returned a tapegrad array computed from a value read from a closure, not "
                            "from y0, t or args; its gradient would be lost: pass the value through args=(...) and "
                            "take it as func's argument")
        return r
    return f


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # an array option (rtol per component, tcrit)
        return False


functools.update_wrapper(odeint, _ref.odeint)  # SciPy's name, documentation and signature
odeint.op = _ops.integrate.odeint  # type: ignore[attr-defined]  # the op it runs on tapegrad arrays

__getattr__, __dir__ = install(_ref, "tapegrad.scipy.integrate", {}, globals())
odeint.__module__ = "tapegrad.scipy.integrate"
