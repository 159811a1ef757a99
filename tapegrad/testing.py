"""Gradient checking for users' own functions and ops.

``check_grads(f, args, order=2)`` compares reverse-mode derivatives with central finite differences
in float64 along random directions, then does the same for the derivative itself, up to ``order``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from ._core import engine, forward
from ._core.array import OPS, Array
from ._core.mode import StateScope
from .backend import CPU, device_of, to_device, to_host
from .ndarray import ndarray

__all__ = ["check_grads", "GradCheckError"]


class GradCheckError(AssertionError):
    """An analytic derivative disagrees with finite differences."""


GradCheckError.__module__ = "tapegrad.testing"


def _outputs(y: Any) -> list:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _as_array(x: Any, cls: type, dev: Any) -> Any:
    """``x`` as an array of ``cls`` on device ``dev`` (the first array argument's)."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (numpy.ndarray, numpy.generic, float, list, tuple)):
        return cls._make(to_device(numpy.asarray(x), dev))
    return x


def _float64(x: Any) -> numpy.ndarray:
    """float64 values, or complex128 ones for complex data (never dropping an imaginary part)."""
    x = to_host(x._data) if isinstance(x, Array) else numpy.asarray(x)
    return x.astype(numpy.complex128 if x.dtype.kind == "c" else numpy.float64)


def _draw(rng: Any, shape: tuple, dtype: Any) -> numpy.ndarray:
    """A random direction: complex for complex data."""
    d = rng.standard_normal(shape)
    return d + 1j * rng.standard_normal(shape) if numpy.dtype(dtype).kind == "c" else d


def _pair(v: numpy.ndarray, y: numpy.ndarray) -> float:
    """Re(sum(v * y)): the real function whose cotangent seed is v (HIPS/JAX convention)."""
    return float(numpy.real(numpy.sum(v * y)))


def check_grads(f: Callable, args: Sequence[Any], order: int = 2, *, modes: Sequence[str] = ("rev",),
                wrt: Sequence[int] | None = None, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6,
                seed: int = 0) -> None:
    """Raise GradCheckError unless ``f``'s derivatives up to ``order`` match central differences.

    ``f`` takes tapegrad arrays and returns an array or a tuple of arrays. ``wrt`` picks the positional
    arguments to differentiate (default: every float array); ``modes`` is any of "rev" (VJPs) and
    "fwd" (JVPs). Each order is checked along one random input direction ``u`` and output direction
    ``v``: ``<v, J u>`` against ``(phi(eps) - phi(-eps)) / (2 eps)``, ``phi(t) = <v, f(x + t u)>``; the
    next order checks that directional derivative itself. When a check fails, every op ``f`` applies
    is checked on its own, and the error names the first one whose rule disagrees.
    """
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"modes must be drawn from 'fwd' and 'rev', got {sorted(bad)}")
    first = next((a for a in args if isinstance(a, Array)), None)
    cls = type(first) if first is not None else ndarray
    dev = device_of(first._data) if first is not None else CPU
    args = [_as_array(a, cls, dev) for a in args]
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, Array) and a._data.dtype.kind in "fc"]
    wrt = list(wrt)
    if not wrt:
        raise ValueError("check_grads needs at least one float array argument to differentiate")
    rng = numpy.random.default_rng(seed)
    try:
        _check(f, args, wrt, order, eps, rtol, atol, rng, cls, tuple(modes))
    except GradCheckError as e:
        culprit = _localize(f, args, wrt, eps, rtol, atol, tuple(modes))
        if culprit:
            raise GradCheckError(f"{e}; {culprit}") from None
        raise


def _localize(f, args, wrt, eps, rtol, atol, modes) -> str:
    """Re-run ``f`` recording every op it applies, then check each op's rule on its own inputs."""
    calls: list = []
    with forward.Activation(forward.CAPTURE, calls):
        f(*[_fresh(a) for a in args])
    for k, (op, op_args, params) in enumerate(calls):
        idx = [i for i, a in enumerate(op_args) if isinstance(a, Array) and a._data.dtype.kind in "fc"]
        if not idx or not getattr(op, "diff", True):
            continue
        name = getattr(op, "name", repr(op))
        call = (lambda *xs, op=op, params=params: op(list(xs), **params)) if getattr(op, "seq", False) \
            else (lambda *xs, op=op, params=params: op(*xs, **params))
        try:
            _check(call, [_fresh(a) for a in op_args], idx, 1, eps, rtol, atol, numpy.random.default_rng(k),
                   type(op_args[idx[0]]), modes)
        except GradCheckError as e:
            return f"the rule of {name!r} (op #{k + 1} of {len(calls)} applied by the function) disagrees: {e}"
        except Exception:  # noqa: BLE001 - an op that cannot be checked alone is skipped
            continue
    return ""


def _check(f, args, wrt, order, eps, rtol, atol, rng, cls, modes=("rev",)) -> None:
    dev = device_of(args[wrt[0]]._data)  # the directions go where the arguments are (CPU or a GPU)

    def put(a: numpy.ndarray) -> Array:
        return cls._make(to_device(a, dev))

    us = [_draw(rng, args[i].shape, args[i]._data.dtype) for i in wrt]
    ys = _outputs(f(*[_fresh(a) for a in args]))
    vs = [_draw(rng, y.shape, y._data.dtype) if y._data.dtype.kind in "fc" else None for y in ys]

    def phi(t: float) -> float:
        xs = list(args)
        for i, u in zip(wrt, us):
            xs[i] = put(numpy.asarray(_float64(args[i]) + t * u).astype(args[i]._data.dtype))
        return sum(_pair(v, _float64(y)) for y, v in zip(_outputs(f(*xs)), vs) if v is not None)

    numeric = (phi(eps) - phi(-eps)) / (2 * eps)

    def directional(*xs: Any) -> Array:
        """<v, J u> computed by reverse mode, itself differentiable."""
        xs = list(xs)
        for i in wrt:
            x = xs[i]
            if not isinstance(x, Array) or x._node is None or x._node.op is not None:
                x = _fresh(x)
                x._attach("write")
                xs[i] = x
        with StateScope(recording=True, grad_enabled=True):
            outs = _outputs(f(*xs))
            s = None
            for y, v in zip(outs, vs):
                if v is None:
                    continue
                term = OPS.sum(y * put(v.astype(y._data.dtype)))
                s = term if s is None else s + term
            grads = [None] * len(wrt)
            if s is not None and s._node is not None:
                grads = engine.backward([s], None, retain_graph=True, create_graph=True,
                                        variables=[xs[i] for i in wrt])
        total = None
        for g, u, i in zip(grads, us, wrt):
            if g is None:
                g = put(numpy.zeros(xs[i].shape, dtype=xs[i]._data.dtype))
            if g._data.dtype != xs[i]._data.dtype:
                raise GradCheckError(f"the gradient of argument {i} has dtype {g._data.dtype}, but the argument "
                                     f"has dtype {xs[i]._data.dtype}: gradients must keep their input's dtype")
            term = OPS.sum(g * put(u.astype(g._data.dtype)))
            if term._data.dtype.kind == "c":  # d l = Re(sum(c * u)) for a complex input
                term = OPS.real(term)
            total = term if total is None else total + term
        return total

    def forward_mode() -> float:
        """<v, J u> by forward mode."""
        trace = forward.ForwardTrace()
        xs = list(args)
        for i, u in zip(wrt, us):
            x = _fresh(args[i])
            x = type(x)._make(x._data.copy())
            trace.set(x, put(u.astype(x._data.dtype)))
            xs[i] = x
        with forward.Activation(forward.TRACES, forward.TRACES.get() + (trace,)):
            outs = _outputs(f(*xs))
        total = 0.0
        for y, v in zip(outs, vs):
            t = trace.get(y)
            if v is not None and t is not None:
                total += _pair(v, _float64(t))
        return total

    if "rev" in modes:
        analytic = float(_float64(directional(*args)).real)
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradCheckError(f"order-{order} check failed: reverse mode gives {analytic!r}, central "
                                 f"differences give {numeric!r} (difference {analytic - numeric:.3g})")
    if "fwd" in modes:
        analytic = forward_mode()
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradCheckError(f"order-{order} check failed: forward mode gives {analytic!r}, central "
                                 f"differences give {numeric!r} (difference {analytic - numeric:.3g})")
    if order > 1:
        _check(directional, args, wrt, order - 1, eps, rtol, atol, rng, cls, modes)


def _fresh(a: Any) -> Any:
    """A constant with the same buffer (no history), so each evaluation starts a fresh graph."""
    return type(a)._make(a._data) if isinstance(a, Array) else a
