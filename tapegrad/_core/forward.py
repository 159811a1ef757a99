"""Forward mode: tangents carried alongside the primal computation.

A ``ForwardTrace`` maps primal buffers to tangents. While traces are active, every op application
asks each trace for its inputs' tangents and, if any, computes the output's tangent: with the op's
JVP rule; derived from its VJP for elementwise ops (the Jacobian is diagonal); by applying the op to
the tangents for linear ops; else by a local double-VJP. A trace's rule runs with only the traces
outside it active, so nested ``jvp`` calls (and forward-over-reverse) keep their levels apart.
"""
from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import Any

from . import engine, rules
from .array import ARRAY_CLASSES, OPS, Array
from .mode import ACTIVE, CAPTURE, RECORDER, TRACES, StateScope

__all__ = ["ACTIVE", "CAPTURE", "TRACES", "Activation", "ForwardTrace", "propagate", "tangent_of"]


class Activation:
    """Set a ContextVar (TRACES or CAPTURE) and count it in ACTIVE, for a ``with`` block."""

    __slots__ = ("_var", "_value", "_tokens")

    def __init__(self, var: ContextVar, value: Any) -> None:
        self._var, self._value = var, value

    def __enter__(self) -> None:
        self._tokens = (self._var.set(self._value), ACTIVE.set(ACTIVE.get() + 1))

    def __exit__(self, *exc: object) -> None:
        self._var.reset(self._tokens[0])
        ACTIVE.reset(self._tokens[1])


class ForwardTrace:
    """Tangents of the primal buffers seen by one ``jvp``."""

    __slots__ = ("_tangents",)

    def __init__(self) -> None:
        self._tangents: dict = {}

    def get(self, a: Any) -> Any:
        if type(a) not in ARRAY_CLASSES:
            return None
        entry = self._tangents.get(id(a._data))
        if entry is None or entry[0]() is not a._data:
            return None
        return entry[1]

    def set(self, a: Array, t: Any) -> None:
        key = id(a._data)
        tangents = self._tangents

        def forget(_r: weakref.ref, k: int = key) -> None:
            tangents.pop(k, None)
        tangents[key] = (weakref.ref(a._data, forget), t)


def propagate(op: Any, args: tuple, params: dict, res: Any) -> None:
    """Give ``res`` its tangent in every active trace where an input has one."""
    traces = TRACES.get()
    for k, trace in enumerate(traces):
        ts = []
        some = False
        for a in args:
            t = trace.get(a)
            if t is not None:
                some = True
            ts.append(t)
        if not some:
            continue
        # the rule runs with only the outer traces active, and counted as such (with none, its
        # ops may take the fast route: see op.py)
        token = TRACES.set(traces[:k])
        hidden = ACTIVE.set(ACTIVE.get() - (len(traces) - k))
        try:
            tout = tangent_of(op, args, params, res, ts)
        finally:
            ACTIVE.reset(hidden)
            TRACES.reset(token)
        if isinstance(res, tuple):
            for r, t in zip(res, tout):
                if t is not None:
                    trace.set(r, t)
        elif tout is not None:
            trace.set(res, tout)


def tangent_of(op: Any, args: tuple, params: dict, res: Any, ts: list) -> Any:
    """The output tangent of one op application, by the best rule the op has."""
    if op.jvp_fn is not None:
        return rules.call_jvp(op, args, params, res, ts)
    if op.elementwise and op.nout is None:
        total = None
        for i, t in enumerate(ts):
            if t is None:
                continue
            g = t if t.shape == res.shape else OPS.broadcast_to(t, res.shape)
            needs = tuple(j == i for j in range(len(args)))
            part = rules.call_vjp_direct(op, args, params, res, g, needs)[i]
            if part is not None:
                total = part if total is None else total + part
        return total
    if op.linear and op.nout is None:
        # linear in its float inputs, constants included (their tangent is zero); integer inputs
        # (indices) are structure and stay as they are
        filled = [t if t is not None else _zero_tangent(a) for a, t in zip(args, ts)]
        return op(list(filled), **params) if op.seq else op(*filled, **params)
    return _double_vjp(op, args, params, res, ts)


def _zero_tangent(a: Any) -> Any:
    """The tangent of a constant operand of a linear op: zero for floats, the value itself for integers."""
    if isinstance(a, Array):
        return OPS.multiply(a, 0) if a._data.dtype.kind in "fc" else a
    if isinstance(a, float):
        return 0.0
    if isinstance(a, complex):
        return 0j
    kind = getattr(getattr(a, "dtype", None), "kind", "i")
    return a * 0 if kind in "fc" else a


def view1(d: Any) -> tuple:
    """``(d.view(),)``: a new array object on ``d``'s memory, as a compiled replay makes it."""
    return (d.view(),)


def _zero1(d: Any) -> tuple:
    return (d * 0,)


def _double_vjp(op: Any, args: tuple, params: dict, res: Any, ts: list) -> Any:
    """J t through the VJP: u -> J^T u is linear, so its own VJP at any u, applied to t, is J t."""
    if isinstance(res, tuple):
        raise NotImplementedError(f"forward mode through {op.name!r} needs a JVP rule (it has several outputs)")
    with StateScope(recording=True, grad_enabled=True):
        rec = RECORDER.get()  # (a compiled call's recorder: the buffers made here are steps too)
        xs = []
        for a in args:
            if isinstance(a, Array):
                v = a._data.view()
                if rec is not None:
                    rec.call(view1, (a._data,), (v,))
                a = type(a)._make(v)._as_variable()
            xs.append(a)
        y = op(list(xs), **params) if op.seq else op(*xs, **params)
        z = y._data * 0
        if rec is not None:
            rec.call(_zero1, (y._data,), (z,))
        u = type(y)._make(z)._as_variable()
        wrt = [x for x, t in zip(xs, ts) if t is not None]
        grads = engine.backward([y], [u], retain_graph=True, create_graph=True, variables=wrt)
        s = None
        for g, t in zip(grads, [t for t in ts if t is not None]):
            if g is not None:
                term = OPS.sum(g * t)
                s = term if s is None else s + term
        if s is None:
            return None
        (jt,) = engine.backward([s], None, variables=[u])
    return jt
