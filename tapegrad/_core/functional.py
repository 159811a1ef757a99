"""The functional API (as in JAX and HIPS autograd): transforms of functions written with tapegrad.np.

Reverse mode runs the function on the tape with its differentiated arguments as variables; when an
argument is already traced (a transform inside a transform) the variable is a recorded identity of
it, so the outer transform sees through. Forward mode pushes a ForwardTrace.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from . import engine, forward
from .array import OPS, Array
from .custom import record_custom
from .mode import StateScope
from ..backend import device_of, ones_like, to_device, zeros_like

__all__ = ["grad", "value_and_grad", "elementwise_grad", "make_vjp", "vjp", "make_jvp", "jvp", "jacobian",
           "hessian", "hvp", "checkpoint", "custom_vjp", "custom_jvp"]


def _cls() -> type:
    from ..ndarray import ndarray  # noqa: PLC0415
    return ndarray


def _to_array(x: Any) -> Array:
    """A tapegrad array for a differentiated argument (floats and lists become float64 arrays)."""
    if isinstance(x, Array):
        return x
    a = numpy.asarray(x)
    if a.dtype.kind in "iub":
        a = a.astype(numpy.float64)
    return _cls()._make(a)


def _like(buf: Any, host: numpy.ndarray) -> Any:
    """Host values ``host`` on the device of the buffer ``buf``."""
    return host if type(buf) is numpy.ndarray else to_device(host, device_of(buf))


def _variable(x: Any) -> Array:
    """A variable standing for ``x``: a recorded identity when ``x`` is traced, else a fresh leaf."""
    a = _to_array(x)
    if a._node is not None:
        with StateScope(recording=True, grad_enabled=True):
            return OPS.positive(a)
    return type(a)._make(a._data.view() if forward.TRACES.get() == () else a._data)._as_variable()


def _argnums(argnum: Any) -> tuple:
    return (argnum,) if isinstance(argnum, int) else tuple(argnum)


def _flatten(x: Any) -> tuple:
    """(leaves, rebuild) for an argument that is one array or a tuple of arrays."""
    if isinstance(x, tuple):
        parts = [_flatten(v) for v in x]
        leaves = [leaf for p in parts for leaf in p[0]]

        def rebuild(vals: list) -> tuple:
            out, i = [], 0
            for p in parts:
                n = len(p[0])
                out.append(p[1](vals[i:i + n]))
                i += n
            return tuple(out)
        return leaves, rebuild
    return [x], lambda vals: vals[0]


def _is_traced(x: Any) -> bool:
    return isinstance(x, Array) and x._node is not None


def make_vjp(fun: Callable, argnum: Any = 0) -> Callable:
    """``make_vjp(f, argnum)(*args) -> (vjp_fn, value)``; ``vjp_fn(g)`` is g's pullback to the argument(s)."""
    def maker(*args: Any, **kwargs: Any) -> tuple:
        args = list(args)
        nums = _argnums(argnum)
        specs = []
        nested = False
        for i in nums:
            leaves, rebuild = _flatten(args[i])
            nested = nested or any(_is_traced(v) for v in leaves)
            vs = [_variable(v) for v in leaves]
            specs.append((vs, rebuild))
            args[i] = rebuild(vs)
        with StateScope(recording=True, grad_enabled=True):
            ans = fun(*args, **kwargs)
        flat_vars = [v for vs, _ in specs for v in vs]

        def vjp_fn(g: Any) -> Any:
            if not isinstance(g, Array):
                g = type(ans)._make(_like(ans._data, numpy.asarray(g, dtype=ans._data.dtype)))
            # forward traces see the backward's ops whether or not they are recorded: record them only
            # when a reverse pass outside this one will differentiate the result
            create = nested or _is_traced(g)
            if ans._node is None:
                grads = [None] * len(flat_vars)
            else:
                with StateScope(recording=True, grad_enabled=True):
                    grads = engine.backward([ans], [g], retain_graph=True, create_graph=create,
                                            variables=flat_vars)
            grads = [type(v)._make(zeros_like(v._data)) if gr is None else gr
                     for v, gr in zip(flat_vars, grads)]
            out, k = [], 0
            for vs, rebuild in specs:
                out.append(rebuild(grads[k:k + len(vs)]))
                k += len(vs)
            return out[0] if isinstance(argnum, int) else tuple(out)
        return vjp_fn, ans
    return maker


def _check_scalar(ans: Any, what: str) -> None:
    if not isinstance(ans, Array):
        raise TypeError(f"{what} needs the function to return a tapegrad array, got {type(ans).__name__}")
    kind = ans._data.dtype.kind
    if ans._data.size != 1 or kind not in "f":
        raise TypeError(f"{what} only applies to functions with a real scalar output (this one returns shape "
                        f"{tuple(ans.shape)}, dtype {ans._data.dtype}). Use elementwise_grad for a sum of "
                        "elementwise derivatives, or jacobian for every derivative.")


def grad(fun: Callable, argnum: Any = 0) -> Callable:
    """The gradient of a real scalar function with respect to argument ``argnum`` (int or tuple)."""
    @functools.wraps(fun)
    def gradfun(*args: Any, **kwargs: Any) -> Any:
        vjp_fn, ans = make_vjp(fun, argnum)(*args, **kwargs)
        _check_scalar(ans, "grad")
        return vjp_fn(type(ans)._make(ones_like(ans._data)))
    return gradfun


def value_and_grad(fun: Callable, argnum: Any = 0) -> Callable:
    """``(f(x), grad(f)(x))`` in one pass."""
    @functools.wraps(fun)
    def vg(*args: Any, **kwargs: Any) -> tuple:
        vjp_fn, ans = make_vjp(fun, argnum)(*args, **kwargs)
        _check_scalar(ans, "value_and_grad")
        return ans, vjp_fn(type(ans)._make(ones_like(ans._data)))
    return vg


def elementwise_grad(fun: Callable, argnum: Any = 0) -> Callable:
    """The gradient of ``sum(f(x))``: the elementwise derivative for elementwise functions."""
    @functools.wraps(fun)
    def eg(*args: Any, **kwargs: Any) -> Any:
        vjp_fn, ans = make_vjp(fun, argnum)(*args, **kwargs)
        return vjp_fn(type(ans)._make(ones_like(ans._data)))
    return eg


def vjp(fun: Callable, *primals: Any) -> tuple:
    """``(fun(*primals), vjp_fn)`` where ``vjp_fn(ct)`` returns one cotangent per primal (JAX style)."""
    vjp_fn, ans = make_vjp(fun, tuple(range(len(primals))))(*primals)
    return ans, vjp_fn


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``(fun(*primals), J·tangents)`` by forward mode."""
    primals, tangents = list(primals), list(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp needs one tangent per primal: got {len(primals)} primals, {len(tangents)} tangents")
    trace = forward.ForwardTrace()
    xs = []
    for p, t in zip(primals, tangents):
        x = _to_array(p)
        with StateScope(recording=True, grad_enabled=True):
            x = OPS.positive(x)  # a buffer of its own (outer traces and the tape see through it)
        t = _to_array(t)
        if tuple(t.shape) != tuple(x.shape):
            raise ValueError(f"tangent of shape {tuple(t.shape)} for a primal of shape {tuple(x.shape)}")
        trace.set(x, t if t._data.dtype == x._data.dtype else OPS.astype(t, x._data.dtype))
        xs.append(x)
    with forward.Activation(forward.TRACES, forward.TRACES.get() + (trace,)):
        ans = fun(*xs)
    outs = ans if isinstance(ans, tuple) else (ans,)
    touts = []
    for y in outs:
        t = trace.get(y)
        touts.append(type(y)._make(zeros_like(y._data)) if t is None else t)
    return ans, (tuple(touts) if isinstance(ans, tuple) else touts[0])


def make_jvp(fun: Callable, argnum: int = 0) -> Callable:
    """``make_jvp(f, argnum)(*args)(t) -> (f(args), J·t)`` (HIPS style)."""
    def maker(*args: Any, **kwargs: Any) -> Callable:
        def jvp_fn(t: Any) -> tuple:
            def f(x: Any) -> Any:
                a = list(args)
                a[argnum] = x
                return fun(*a, **kwargs)
            return jvp(f, (args[argnum],), (t,))
        return jvp_fn
    return maker


def jacobian(fun: Callable, argnum: int = 0, mode: str | None = None) -> Callable:
    """The Jacobian, of shape ``out.shape + in.shape``: by forward mode when the input is smaller than
    the output, else by reverse mode (one pass per input or output element)."""
    @functools.wraps(fun)
    def jac(*args: Any, **kwargs: Any) -> Array:
        x = _to_array(args[argnum])

        def f(v: Any) -> Any:
            a = list(args)
            a[argnum] = v
            return fun(*a, **kwargs)
        vjp_fn, ans = make_vjp(f)(x)
        m = mode or ("fwd" if x._data.size < ans._data.size else "rev")
        cls = type(ans)
        if m == "rev":
            rows = []
            for i in range(ans._data.size):
                e = numpy.zeros(ans._data.size, dtype=ans._data.dtype)
                e[i] = 1
                rows.append(vjp_fn(cls._make(_like(ans._data, e.reshape(ans.shape)))))
            out = OPS.stack(rows) if rows else cls._make(_like(x._data, numpy.zeros((0,) + tuple(x.shape))))
            return OPS.reshape(out, tuple(ans.shape) + tuple(x.shape))
        cols = []
        for j in range(x._data.size):
            e = numpy.zeros(x._data.size, dtype=x._data.dtype)
            e[j] = 1
            _, t = jvp(f, (x,), (cls._make(_like(x._data, e.reshape(x.shape))),))
            cols.append(t)
        out = OPS.stack(cols, axis=-1) if cols else cls._make(_like(ans._data, numpy.zeros(tuple(ans.shape) + (0,))))
        return OPS.reshape(out, tuple(ans.shape) + tuple(x.shape))
    return jac


def hessian(fun: Callable, argnum: int = 0) -> Callable:
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    return jacobian(jacobian(fun, argnum), argnum)


def hvp(fun: Callable, argnum: Any = 0) -> Callable:
    """``hvp(f)(*args, v)``: the Hessian-vector product by forward-over-reverse, without building H.

    With a tuple ``argnum``, ``v`` is a tuple of one vector per chosen argument and the result is the
    tuple of the blocks' sums: for ``argnum=(0, 1)``, ``(H00 v0 + H01 v1, H10 v0 + H11 v1)``."""
    multi = isinstance(argnum, (tuple, list))
    nums = tuple(argnum) if multi else (argnum,)

    @functools.wraps(fun)
    def h(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("hvp(f) takes f's arguments and then the vector v")
        *primal, v = args
        vs = tuple(v) if multi else (v,)
        if len(vs) != len(nums):
            raise ValueError(f"hvp with argnum={argnum!r} needs one vector per chosen argument, got {len(vs)}")

        def chosen(*xs: Any) -> Any:
            a = list(primal)
            for i, x in zip(nums, xs):
                a[i] = x
            return fun(*a, **kwargs)
        g = grad(chosen, tuple(range(len(nums))) if multi else 0)
        return jvp(g, tuple(primal[i] for i in nums), vs)[1]
    return h


def checkpoint(fun: Callable) -> Callable:
    """``fun`` whose intermediates are not kept for backward: they are recomputed when needed."""
    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        traced = [a for a in args if _is_traced(a)]
        with StateScope(recording=False, grad_enabled=False):
            out = fun(*args)
        if not traced:
            return out
        single = not isinstance(out, tuple)
        outs = [out] if single else list(out)

        def backward(*gs: Any) -> tuple:
            xs = [_variable(type(a)._make(a._data)) if isinstance(a, Array) else a for a in args]
            with StateScope(recording=True, grad_enabled=True):
                ys = fun(*xs)
            ys = [ys] if single else list(ys)
            want = [x for x, a in zip(xs, args) if _is_traced(a)]
            res = iter(engine.backward(ys, list(gs), variables=want))
            return tuple(next(res) if _is_traced(a) else None for a in args)

        res = record_custom(f"checkpoint({getattr(fun, '__name__', 'fun')})", args, outs, backward, single)
        return res[0] if single else tuple(res)
    return wrapped


class custom_vjp:  # noqa: N801 - JAX's name
    """A function with a hand-written VJP: ``f = custom_vjp(fun); f.defvjp(fwd, bwd)`` where
    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> one cotangent per argument``."""

    def __init__(self, fun: Callable) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd: Callable | None = None
        self.bwd: Callable | None = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> "custom_vjp":
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args: Any) -> Any:
        if self.fwd is None:
            return self.fun(*args)
        cap = forward.CAPTURE.get()
        if cap is not None:
            cap.append((self, args, {}))
        traced = any(_is_traced(a) for a in args)
        with StateScope(recording=False, grad_enabled=False):
            token = forward.CAPTURE.set(None)
            try:
                out, res = self.fwd(*args)
            finally:
                forward.CAPTURE.reset(token)
        if not traced:
            return out
        single = not isinstance(out, tuple)
        outs = [out] if single else list(out)

        def backward(*gs: Any) -> tuple:
            r = self.bwd(res, gs[0] if single else tuple(gs))
            return tuple(r) if isinstance(r, (tuple, list)) else (r,)

        res_arrays = record_custom(getattr(self.fun, "__name__", "custom_vjp"), args, outs, backward, single)
        return res_arrays[0] if single else tuple(res_arrays)

    @property
    def name(self) -> str:
        return getattr(self.fun, "__name__", "custom_vjp")


class custom_jvp:  # noqa: N801 - JAX's name
    """A function with a hand-written JVP for forward mode: ``f.defjvp(rule)`` with
    ``rule(primals, tangents) -> (out, tangent_out)``. Reverse mode differentiates ``fun`` itself."""

    def __init__(self, fun: Callable) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.rule: Callable | None = None

    def defjvp(self, rule: Callable) -> Callable:
        self.rule = rule
        return rule

    def __call__(self, *args: Any) -> Any:
        traces = forward.TRACES.get()
        if self.rule is None or not traces:
            return self.fun(*args)
        k = max((i for i, tr in enumerate(traces) if any(tr.get(a) is not None for a in args)), default=None)
        if k is None:
            return self.fun(*args)
        trace = traces[k]
        tangents = tuple(trace.get(a) if trace.get(a) is not None else
                         (type(a)._make(zeros_like(a._data)) if isinstance(a, Array) else 0.0) for a in args)
        token = forward.TRACES.set(traces[:k] + traces[k + 1:])
        try:
            out, tout = self.rule(tuple(args), tangents)
        finally:
            forward.TRACES.reset(token)
        trace.set(out, tout)
        return out
