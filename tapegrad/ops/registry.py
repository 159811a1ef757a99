"""defop: declare an op once — forward on raw buffers, VJP in tapegrad ops, optional JVP, samples.

The engine (``Op``, dispatch, recording, rule calling) lives in ``tapegrad._core``; this module
keeps the declaration and the registry table, and re-exports what op files use.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from .._core.array import OPS, holds_array, pack_sequence
from .._core.dispatch import apply, buffer, constant, default_class
from .._core.op import Op, op_class

__all__ = ["defop", "Op", "REGISTRY", "NONDIFF", "apply", "buffer", "constant", "default_class", "holds_array",
           "pack_sequence"]

#: name -> Op, in declaration order.
REGISTRY: dict[str, Op] = {}
#: Public NumPy names that are deliberately not differentiable (creation, comparisons, integer ops...).
NONDIFF: set[str] = set()


def _doc_from_numpy(name: str, public: str | None) -> str:
    """A docstring for an op whose forward has none: the summary of NumPy's function of that name."""
    ns = {"np": numpy, "np.linalg": numpy.linalg, "np.fft": numpy.fft}.get(public or "")
    ref = getattr(ns, name, None) if ns is not None else None
    paras = [p.strip() for p in (getattr(ref, "__doc__", None) or "").split("\n\n")]
    summary = next((p for p in paras if p and not p.startswith(f"{name}(")), "")
    where = f"tapegrad.{public}.{name}" if public else f"The op {name!r}"
    if ref is None:
        return f"{where}: differentiable (declared in the op registry)."
    return f"{summary}\n\n{where} is differentiable; numpy.{(public or '')[3:] + '.' if public != 'np' else ''}{name} " \
           "documents the arguments."


def defop(fn: Callable | None = None, *, name: str | None = None, broadcast: bool = False,
          samples: Any = None, nout: int | None = None, nin: int | None = None, diff: bool = True,
          elementwise: bool = False, linear: bool = False, public: str | None = "np", seq: bool = False,
          singular: bool = False, product: bool = False, ufunc: numpy.ufunc | None = None,
          scalar: Callable | None = None, flat: bool | Callable = False) -> Any:
    """Declare an op from its forward ``f(xp, *arrays, **params)`` on raw buffers.

    ``broadcast``: cotangents are summed back to the input shapes by the engine.
    ``diff=False``: never recorded (comparisons, argmax...). ``nout``: the op returns a tuple.
    ``samples``: a callable returning test cases for the generated sweep (see ``ops/samples.py``).
    ``public``: the namespace that exposes the op ("np", "np.linalg", "npx"; None = internal).
    ``seq``: a variadic op called NumPy-style with one sequence of arrays (``concatenate([a, b])``).
    ``singular``: an elementwise op whose partials can be infinite or NaN; the engine keeps a zero
    cotangent zero through it (so ``where(x > 0, sqrt(x), 0)`` has gradient 0, not NaN, at 0).
    ``product``: a matrix product, whose first two arrays must share a floating dtype in a dialect
    that says so (``Array._same_dtype_products``: MXNet refuses float64 with float32).
    ``ufunc``: the forward is exactly this NumPy ufunc on the inputs (``return xp.sin(x)``), so calls
    on host arrays may call it directly (the fast route, see ``_core/op.py``); the sweep checks it.
    ``scalar``: for an elementwise op that is not one ufunc, its forward on one element written with
    ufuncs and ``m.where(c, a, b)`` on the namespace ``m`` (``lambda m, x: m.maximum(x, 0)``), which
    ``tapegrad.compile`` writes into a fused kernel; the fusion tests check it against the forward.
    ``flat``: recorded, but the gradient is zero everywhere (piecewise constant: floor, round...); or a
    function ``f(dtypes, params) -> bool`` of a call's input dtypes and parameters saying so (sign of a
    real input, a cast to an integer dtype). ``tapegrad.explain`` names such ops as where a gradient stopped.
    """
    def wrap(f: Callable) -> Op:
        opname = name or f.__name__.rstrip("_")
        op = op_class(ufunc)(f, opname, broadcast=broadcast, samples=samples, nout=nout, nin=nin, diff=diff,
                             elementwise=elementwise, linear=linear, public=public, seq=seq, singular=singular,
                             ufunc=ufunc, product=product, doc=_doc_from_numpy(opname, public), scalar=scalar,
                             flat=flat)
        if op.name in REGISTRY:
            raise ValueError(f"op {op.name!r} is declared twice")
        REGISTRY[op.name] = op
        setattr(OPS, op.name, op)
        return op
    return wrap(fn) if fn is not None else wrap
