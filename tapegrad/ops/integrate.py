"""SciPy's ``integrate.odeint`` (``tapegrad.scipy.integrate``), differentiable in the initial state, the
times and the extra arguments of the right-hand side.

The op holds the user's ``func(y, t, *args)`` as a static parameter; its array inputs are ``y0``, ``t``
and the leaves of ``args`` (``tree`` rebuilds ``args`` from them). SciPy's LSODA computes the values.

Reverse mode is the adjoint method (Froehlich, Loos & Hasenauer 2017, sec. 2.4.2, as HIPS autograd's
``odeint``): between consecutive output times the state, its cotangent ``a``, and the cotangents of
the times and the arguments are integrated backwards together, ``da/dt = -a J_y``, ``dp/dt = -a J_p``,
the products ``a J`` being ``func``'s own VJP by ``tapegrad.make_vjp``. Forward mode carries the
tangent ``u`` with the state, ``du/dt = J_y u + J_p dp`` (``func``'s JVP by ``tapegrad.jvp``). Both rules
are written in tapegrad ops and call ``odeint`` again on the augmented system, so derivatives of
any order follow, as accurate as the solver's tolerances (``rtol``, ``atol``) allow.
"""
from __future__ import annotations

import importlib
import importlib.util
from contextlib import contextmanager
from contextvars import Token
from typing import Any, Callable, Iterator

import numpy

from .._core.array import OPS as T, Array, holds_array, pack_sequence
from .._core.functional import jvp, make_vjp
from .._core.mode import ACTIVE, CAPTURE, RAW, RECORDING, TRACES
from .._core.tree import unflatten
from ..backend import backend_for, to_host, xp_of
from .registry import buffer, constant, defop
from .samples import Case, draw

__all__ = ["ADJOINT_OPTIONS"]

#: odeint's options the augmented (adjoint and tangent) solves keep; ``h0`` and ``tcrit`` describe
#: the forward solve's own time axis.
ADJOINT_OPTIONS = ("rtol", "atol", "hmax", "hmin", "mxstep", "mxhnil", "mxordn", "mxords", "ixpr", "printmessg")


@contextmanager
def _plain(recording: bool | None) -> Iterator[None]:
    """The state a function SciPy calls runs in: ops on Arrays (not raw buffers), none of the
    surrounding forward traces or op captures, and recording off when ``recording`` is False."""
    tokens: list[Token[Any]] = [RAW.set(False), TRACES.set(()), CAPTURE.set(None), ACTIVE.set(0)]
    if recording is not None:
        tokens.append(RECORDING.set(recording))
    try:
        yield
    finally:
        for tok in reversed(tokens):
            tok.var.reset(tok)


def _vector(r: Any) -> Any:
    """A right-hand side's value as one array (SciPy also takes a list of numbers)."""
    if isinstance(r, (list, tuple)):
        return pack_sequence(r) if holds_array(r) else numpy.asarray(r, dtype=numpy.float64)
    return r


def _user(func: Callable, tree: Any, tfirst: bool) -> Callable:
    """``f(y, t, *leaves)``: the user's ``func`` with its arguments rebuilt from the leaves, as a vector."""
    def f(y: Any, t: Any, *leaves: Any) -> Any:
        args = leaves if tree is None else unflatten(tree, leaves)
        return _vector(func(t, y, *args) if tfirst else func(y, t, *args))
    return f


def _host(fn: Callable) -> Callable:
    """The user's ``fn`` as SciPy calls it: host arrays in, a host array out, on plain values (no raw
    mode, forward trace or op capture of the call around it). Recording stays as it is, so that a result
    computed from a value being differentiated that is not among odeint's inputs (read from a closure)
    comes back traced, and is refused instead of losing its gradient."""
    def call(y: Any, t: Any, *leaves: Any) -> Any:
        with _plain(None):
            r = fn(y, t, *leaves)
        if isinstance(r, Array):
            if r._node is not None:
                raise TypeError("odeint: func returned a value that depends on an array being differentiated which "
                                "is not among odeint's inputs (read from a closure, so its gradient would be lost); "
                                "pass it through args=(...) and take it as func's argument")
            r = to_host(r._data)
        return r
    return call


def _own(body: Callable, *values: Any) -> Any:
    """Run an augmented system's ``body``: as it is when a rule calls it on tapegrad arrays (its ops are
    then recorded and traced with the rule's), on plain values when SciPy (or a rule in a backward that
    builds no graph) calls it on host buffers, its transforms then giving NumPy values."""
    if any(isinstance(v, Array) for v in values):
        return body()
    with _plain(False):
        return body()


def _call_odeint(xp, fn, y0, t, args, options):
    return backend_for(xp).odeint(xp, fn, y0, t, tuple(args), False, dict(options or {}))


def _decay(y, t, k):
    return -k * y


def _forced(y, t, a, b):
    """A linear system with a time-dependent forcing: ``a @ y + b * t``."""
    return a @ y + b * t


def _listed(y, t, w):
    return [y[1], -w * w * y[0]]


_TIGHT = {"rtol": 1e-12, "atol": 1e-12}


def _scipy_odeint(y0, t, *args, func, tree=None, tfirst=False, options=None):
    f = _user(func, tree, tfirst)
    return importlib.import_module("scipy.integrate").odeint(f, y0, t, args=args, **(options or {}))


def _odeint_cases(rng):
    if importlib.util.find_spec("scipy") is None:
        return []
    t = numpy.array([0.0, 0.4, 1.1])
    a = draw(rng, (2, 2)) * 0.5 - numpy.eye(2)
    return [Case((draw(rng, (3,)), t, numpy.array(0.7)), dict(func=_decay, options=_TIGHT), ref=_scipy_odeint),
            Case((draw(rng, (2,)), numpy.array([0.0, 0.5]), a, draw(rng, (2,))), dict(func=_forced, options=_TIGHT),
                 ref=_scipy_odeint, order=1),
            Case((draw(rng, (2,)), numpy.array([0.1, 0.3, 0.6]), 1.3), dict(func=_listed, options=_TIGHT),
                 ref=_scipy_odeint, order=1)]


@defop(samples=_odeint_cases, public="scipy.integrate")
def odeint(xp, y0, t, *args, func, tree=None, tfirst=False, options=None):
    """The solution of ``dy/dt = func(y, t, *args)``, ``y(t[0]) = y0``, at the times ``t`` (one row each),
    by SciPy's ``integrate.odeint`` (LSODA); ``tfirst=True`` for ``func(t, y, ...)``; ``options``:
    odeint's keyword arguments (``rtol``, ``atol``, ``mxstep``, ...). Differentiable in ``y0``, ``t`` and
    ``args`` (which ``tree``, a ``tapegrad._core.tree`` structure, rebuilds from the leaves given)."""
    return _call_odeint(xp, _host(_user(func, tree, tfirst)), y0, t, args, options)


def _adjoint_options(options: Any) -> dict:
    return {k: v for k, v in (options or {}).items() if k in ADJOINT_OPTIONS}


def _zeros(like: Any, shape: tuple) -> Any:
    """Float64 zeros of ``like``'s array class and device (raw when ``like`` is raw)."""
    return constant(like, xp_of((buffer(like),)).zeros(shape, dtype=numpy.float64))


def _concat(parts: list) -> Any:
    """The 1-D parts joined: an op when one is a tapegrad array, else NumPy."""
    if any(isinstance(p, Array) for p in parts):
        return T.concatenate([T.reshape(p, (-1,)) for p in parts])
    return numpy.concatenate([numpy.reshape(p, (-1,)) for p in parts])


def _augmented_adjoint(f: Callable, d: int) -> Callable:
    """The adjoint system: state ``[y, a, a_t, a_p]`` (a_p the arguments' cotangents, flattened), run
    backwards in time; ``dy = f``, and ``a``, ``a_t``, ``a_p`` grow by ``-a`` times ``f``'s Jacobians."""
    def aug(state: Any, t: Any, *leaves: Any) -> Any:
        def body() -> Any:
            back, dy = make_vjp(f, tuple(range(2 + len(leaves))))(state[:d], t, *leaves)
            return _concat([dy, *back(-state[d:2 * d])])
        return _own(body, state, t, *leaves)
    return aug


def _split(flat: Any, shapes: tuple) -> list:
    """``flat`` cut into arrays of these shapes."""
    out, k = [], 0
    for s in shapes:
        n = int(numpy.prod(s, dtype=numpy.int64))
        out.append(T.reshape(flat[k:k + n], tuple(s)))
        k += n
    return out


@odeint.vjp
def _(g, out, args, func, tree, tfirst, options, shapes, needs):
    t, leaves = args[1], args[2:]
    leaf_shapes = shapes[2:]
    f = _user(func, tree, tfirst)
    n, d = out.shape
    aug = _augmented_adjoint(f, d)
    opts = _adjoint_options(options)
    p = sum(int(numpy.prod(s, dtype=numpy.int64)) for s in leaf_shapes)
    a_y, a_t0, a_p = g[n - 1], None, _zeros(g, (p,))
    a_times = []
    for i in range(n - 1, 0, -1):
        cur = T.sum(f(out[i], t[i], *leaves) * g[i])  # moving t[i] moves y(t[i]) by f there
        a_times.append(cur)
        a_t0 = -cur if a_t0 is None else a_t0 - cur
        state = _concat([out[i], a_y, a_t0, a_p])
        row = T.odeint(state, T.stack([t[i], t[i - 1]]), *leaves, func=aug, options=opts)[1]
        a_y = row[d:2 * d] + g[i - 1]
        a_t0, a_p = row[2 * d], row[2 * d + 1:]
    a_times.append(_zeros(g, ()) if a_t0 is None else a_t0)
    gy0 = T.reshape(a_y, tuple(shapes[0])) if needs[0] else None
    gt = T.stack(a_times[::-1]) if needs[1] else None
    gl = _split(a_p, leaf_shapes) if any(needs[2:]) else [None] * len(leaves)
    return (gy0, gt, *[x if need else None for x, need in zip(gl, needs[2:])])


def _augmented_tangent(f: Callable, d: int, nleaves: int, moving: list) -> Callable:
    """The tangent system: state ``[y, u]``, ``du = J_y u + sum J_p dp`` over the arguments ``moving``
    (whose tangents follow the leaves)."""
    def aug(state: Any, t: Any, *rest: Any) -> Any:
        leaves, dls = list(rest[:nleaves]), rest[nleaves:]

        def fm(y: Any, *sel: Any) -> Any:
            full = list(leaves)
            for k, v in zip(moving, sel):
                full[k] = v
            return f(y, t, *full)

        def body() -> Any:
            return _concat(list(jvp(fm, (state[:d], *[leaves[k] for k in moving]), (state[d:], *dls))))
        return _own(body, state, t, *rest)
    return aug


@odeint.jvp
def _(ts, out, args, func, tree, tfirst, options):
    t, leaves = args[1], args[2:]
    dy0, dt, dls = ts[0], ts[1], ts[2:]
    f = _user(func, tree, tfirst)
    n, d = out.shape
    u0 = T.reshape(dy0, (d,)) if dy0 is not None else _zeros(out, (d,))
    if dt is not None:  # a later start moves the whole solution back along f
        u0 = u0 - f(out[0], t[0], *leaves) * dt[0]
    moving = [k for k, dl in enumerate(dls) if dl is not None]
    aug = _augmented_tangent(f, d, len(leaves), moving)
    z = T.odeint(_concat([out[0], u0]), t, *leaves, *[dls[k] for k in moving], func=aug,
                 options=_adjoint_options(options))
    u = z[:, d:]
    if dt is not None:  # and each output time moves its own row along f
        u = u + T.stack([f(out[i], t[i], *leaves) for i in range(n)]) * T.expand_dims(dt, -1)
    return u
