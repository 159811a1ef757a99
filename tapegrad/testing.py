"""Gradient checking for users' own functions and ops.

``check_grads(f, args, order=2)`` compares reverse-mode derivatives with central finite differences
in float64 along random directions, then does the same for the derivative itself, up to ``order``.
Float32 (and complex64) arguments are checked as float64 (complex128) copies, and a function that
computes in a lower precision inside is checked with a step and tolerances scaled to it, so rounding
is never reported as a wrong rule. An op is named only when its own rule, checked alone in float64,
disagrees.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy

from ._core import engine, forward
from ._core.array import OPS, Array
from ._core.functional import plain_class
from ._core.mode import StateScope
from .backend import CPU, device_of, to_device, to_host

__all__ = ["check_grads", "GradCheckError"]


class GradCheckError(AssertionError):
    """An analytic derivative disagrees with finite differences."""


GradCheckError.__module__ = "tapegrad.testing"


def _outputs(y: Any) -> list:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _as_array(x: Any, cls: type[Array], dev: Any) -> Any:
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


def _upcast(x: Any) -> Any:
    """A float64 (complex128) copy of a lower-precision float (complex) array; anything else as is."""
    if isinstance(x, Array):
        dt = x._data.dtype
        if dt.kind == "f" and dt.itemsize < 8:
            return type(x)._make(x._data.astype(numpy.float64))
        if dt.kind == "c" and dt.itemsize < 16:
            return type(x)._make(x._data.astype(numpy.complex128))
    return x


def _lowest_precision(f: Callable, args: list) -> Any:
    """The least precise float dtype among ``f``'s outputs and the arrays its ops take (None: all
    float64 or complex128): rounding at that precision bounds how well finite differences can agree."""
    calls: list = []
    with forward.Activation(forward.CAPTURE, calls):
        outs = _outputs(f(*[_fresh(a) for a in args]))
    seen = [o for o in outs if isinstance(o, Array)]
    for _, op_args, _ in calls:
        seen.extend(a for a in op_args if isinstance(a, Array))
    low = None
    for a in seen:
        dt = a._data.dtype
        if dt.kind in "fc":
            real = numpy.finfo(dt)
            if real.eps > numpy.finfo(numpy.float64).eps and (low is None or real.eps > numpy.finfo(low).eps):
                low = dt
    return low


def check_grads(f: Callable, args: Sequence[Any] | int | None = None, order: int = 2, *,
                modes: Sequence[str] = ("rev",), wrt: Sequence[int] | None = None, eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> Any:
    """Raise GradCheckError unless ``f``'s derivatives up to ``order`` match central differences.

    HIPS autograd's curried form works too: ``check_grads(f, modes=["rev"], order=2)(*args)``, and
    ``check_grads(f, argnum)(*args)`` checks one argument.

    ``f`` takes tapegrad arrays and returns an array or a tuple of arrays. ``wrt`` picks the positional
    arguments to differentiate (default: every float array); ``modes`` is any of "rev" (VJPs) and
    "fwd" (JVPs). Each order is checked along one random input direction ``u`` and output direction
    ``v``: ``<v, J u>`` against ``(phi(eps) - phi(-eps)) / (2 eps)``, ``phi(t) = <v, f(x + t u)>``; the
    next order checks that directional derivative itself.

    The check runs in float64: float32 and complex64 arguments are upcast. When ``f`` itself computes
    in a lower precision (a cast or a float32 constant inside), ``eps`` grows to the cube root and
    ``rtol``/``atol`` to the square root of that precision's machine epsilon. When a check fails,
    every op ``f`` applies is checked on its own in float64, and the error names the first one whose
    rule disagrees; when none does, it says the function as a whole disagrees and gives the numbers.
    """
    if args is None or isinstance(args, int):  # HIPS's form: the arguments come in the next call
        nums = None if args is None else [args]
        return lambda *a: check_grads(f, a, order, modes=modes, wrt=wrt if nums is None else nums, eps=eps,
                                      rtol=rtol, atol=atol, seed=seed)
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"modes must be drawn from 'fwd' and 'rev', got {sorted(bad)}")
    first = next((a for a in args if isinstance(a, Array)), None)
    # NumPy arguments become arrays of the first array argument's class, else of the class the
    # functional API gives plain values (the NumPy door's): the checker names no dialect
    cls = type(first) if first is not None else plain_class()
    dev = device_of(first._data) if first is not None else CPU
    args = [_upcast(_as_array(a, cls, dev)) for a in args]
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, Array) and a._data.dtype.kind in "fc"]
    wrt = list(wrt)
    if not wrt:
        raise ValueError("check_grads needs at least one float array argument to differentiate")
    modes = tuple(modes)
    alone = (eps, rtol, atol)  # each op alone is checked in float64 with the tolerances asked for
    low = _lowest_precision(f, args)
    if low is not None:
        tiny = float(numpy.finfo(low).eps)
        eps, rtol, atol = max(eps, tiny ** (1 / 3)), max(rtol, tiny ** 0.5), max(atol, tiny ** 0.5)
    try:
        _check(f, args, wrt, order, eps, rtol, atol, numpy.random.default_rng(seed), cls, modes)
    except GradCheckError as e:
        culprit = _localize(f, args, order, modes, *alone)
        if culprit:
            raise GradCheckError(f"{e}; {culprit}") from None
        note = (f" (it computes in {low} inside, so the check used eps={eps:.3g}, rtol={rtol:.3g}, atol={atol:.3g})"
                if low is not None else "")
        raise GradCheckError(f"the function as a whole disagrees with finite differences{note}: {e}; every op "
                             "it applies passes the same check on its own in float64, so look at how the "
                             "function combines them (a custom rule, a non-differentiable step, a "
                             "discontinuity within eps of the point)") from None


def _localize(f, args, order, modes, eps, rtol, atol) -> str:
    """Re-run ``f`` recording every op it applies, then check each op's rule on its own inputs (as
    float64 copies), up to ``order``: the first op that fails is named."""
    calls: list = []
    with forward.Activation(forward.CAPTURE, calls):
        f(*[_fresh(a) for a in args])
    for k, (op, op_args, params) in enumerate(calls):
        op_args = [_upcast(a) for a in op_args]
        idx = [i for i, a in enumerate(op_args) if isinstance(a, Array) and a._data.dtype.kind in "fc"]
        if not idx or not getattr(op, "diff", True):
            continue
        name = getattr(op, "name", repr(op))
        call = (lambda *xs, op=op, params=params: op(list(xs), **params)) if getattr(op, "seq", False) \
            else (lambda *xs, op=op, params=params: op(*xs, **params))
        fresh = [_fresh(a) for a in op_args]
        try:
            low = _lowest_precision(call, fresh)
            if low is not None:  # the op itself computes in low precision (a cast): not checkable in float64
                continue
            _check(call, fresh, idx, order, eps, rtol, atol, numpy.random.default_rng(k),
                   type(op_args[idx[0]]), modes)
        except GradCheckError as e:
            return (f"the rule of {name!r} (op #{k + 1} of {len(calls)} applied by the function) disagrees "
                    f"when checked alone in float64: {e}")
        except Exception:  # noqa: BLE001 - an op that cannot be checked alone is skipped
            continue
    return ""


def _check(f, args, wrt, order, eps, rtol, atol, rng, cls, modes=("rev",), level=1) -> None:
    """Check derivative ``level`` of ``f`` (directional), then the next ones up to ``level + order - 1``."""
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

    def directional(*args: Any) -> Any:
        """<v, J u> computed by reverse mode, itself differentiable."""
        xs = list(args)
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
            grads: list = [None] * len(wrt)
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
            raise GradCheckError(f"order-{level} check failed: reverse mode gives {analytic!r}, central "
                                 f"differences give {numeric!r} (difference {analytic - numeric:.3g})")
    if "fwd" in modes:
        analytic = forward_mode()
        if not abs(analytic - numeric) <= atol + rtol * abs(numeric):
            raise GradCheckError(f"order-{level} check failed: forward mode gives {analytic!r}, central "
                                 f"differences give {numeric!r} (difference {analytic - numeric:.3g})")
    if order > 1:
        _check(directional, args, wrt, order - 1, eps, rtol, atol, rng, cls, modes, level + 1)


def _fresh(a: Any) -> Any:
    """A constant with the same buffer (no history), so each evaluation starts a fresh graph."""
    return type(a)._make(a._data) if isinstance(a, Array) else a
