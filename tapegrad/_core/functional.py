"""The functional API (as in JAX and HIPS autograd): transforms of functions written with tapegrad.np.

Reverse mode runs the function on the tape with its differentiated arguments as variables; when an
argument is already traced (a transform inside a transform) the variable is a recorded identity of
it, so the outer transform sees through. Forward mode pushes a ForwardTrace. Arguments, outputs,
cotangents and tangents may be containers (tuples, lists, dicts: see tree.py), laid out as leaves.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy

from . import engine, forward
from .array import OPS, Array
from .custom import record_custom
from .dispatch import default_class
from .mode import RECORDER, RECORDING, StateScope
from .node import _seq as node_seq
from .tree import flatten, flatten_like, size, unflatten
from ..backend import device_of, ones_like, to_device, to_host, zeros_like

__all__ = ["grad", "value_and_grad", "elementwise_grad", "make_vjp", "vjp", "make_jvp", "jvp", "jacobian",
           "hessian", "hvp", "hessian_vector_product", "checkpoint", "custom_vjp", "custom_jvp"]


#: The array class of differentiated plain values (NumPy arrays, numbers): the NumPy door's ``ArrayBox``
#: once ``tapegrad.numpy`` is imported (``tapegrad`` imports it), else the ops' default class.
_PLAIN_CLS: list = [None]


def set_plain_class(cls: type) -> None:
    """The array class the transforms give plain arguments (the NumPy door registers its own)."""
    _PLAIN_CLS[0] = cls


def plain_class() -> type[Array]:
    """The array class the transforms give plain arguments."""
    return _PLAIN_CLS[0] or default_class()


def _outermost() -> bool:
    """Whether no other transform is running (whose trace a transform's results would carry)."""
    return not RECORDING.get() and not forward.TRACES.get()


def _is_plain(values: Any) -> bool:
    """Whether a transform called on ``values`` returns NumPy values (as HIPS autograd does): no leaf
    of them is a tapegrad array, and no other transform is running."""
    return _outermost() and not any(isinstance(v, Array) for v in flatten(values)[0])


def _to_numpy(tree: Any, scalars: bool = True) -> Any:
    """``tree`` with every tapegrad array replaced by its NumPy value (a 0-d one by a NumPy scalar
    where ``scalars``)."""
    leaves, t = flatten(tree)
    out = []
    rec = RECORDER.get()
    for v in leaves:
        if isinstance(v, Array):
            v = to_host(v._data)
            if scalars and v.ndim == 0:
                s = v[()]
                if rec is not None:
                    rec.call(_scalar_of, (v,), (s,))
                v = s
        out.append(v)
    return unflatten(t, out)


def _scalar_of(v: Any) -> tuple:
    return (v[()],)


def _leaf_array(v: Any) -> tuple:
    """``_to_array``'s buffer for a NumPy value ``v`` (as a compiled replay makes it)."""
    a = numpy.asarray(v)
    return (a.astype(numpy.float64) if a.dtype.kind in "iub" else a,)


def _to_array(x: Any) -> Array:
    """A tapegrad array for a differentiated leaf (Python numbers and integer or bool arrays become float64)."""
    if isinstance(x, Array):
        return x
    a = numpy.asarray(x)
    if a.dtype.kind in "iub":
        a = a.astype(numpy.float64)
    elif a.dtype.kind not in "fc":
        raise TypeError(f"cannot differentiate with respect to {type(x).__name__} {x!r:.60}: arguments, "
                        "tangents and cotangents hold arrays and numbers, in tuples, lists and dicts")
    rec = RECORDER.get()
    if rec is not None and a is not x:  # a compiled call: an array or NumPy number is read at each replay;
        if isinstance(x, (numpy.ndarray, numpy.generic)):  # a Python number or list is in the signature
            rec.call(_leaf_array, (x,), (a,))
        else:
            rec.constant(a)
    return plain_class()._make(a)  # plain values: the NumPy door's class (see set_plain_class)


def _like(buf: Any, host: numpy.ndarray) -> Any:
    """Host values ``host`` on the device of the buffer ``buf``."""
    return host if type(buf) is numpy.ndarray else to_device(host, device_of(buf))


def _variable(x: Any) -> Array:
    """A variable standing for ``x``: a recorded identity when ``x`` is traced, else a fresh leaf."""
    a = _to_array(x)
    if a._node is not None:
        with StateScope(recording=True, grad_enabled=True):
            return OPS.positive(a)
    if forward.TRACES.get() != ():
        return type(a)._make(a._data)._as_variable()
    v = a._data.view()
    rec = RECORDER.get()
    if rec is not None:
        rec.call(forward.view1, (a._data,), (v,))
    return type(a)._make(v)._as_variable()


def _argnums(argnum: Any, n: int, what: str) -> tuple:
    """The positions ``argnum`` (an int or a sequence of ints) picks among ``n`` positional arguments."""
    nums = (argnum,) if isinstance(argnum, int) else tuple(argnum)
    for i in nums:
        if not isinstance(i, int) or not -n <= i < n:
            raise ValueError(f"{what}: argnum={argnum!r} is out of range for a call with {n} positional "
                             f"argument{'' if n == 1 else 's'}; argnum counts positional arguments from 0")
    return tuple(i % n for i in nums)


def _partial(fun: Callable, args: Sequence, kwargs: dict, nums: tuple) -> Callable:
    """``fun`` as a function of its arguments at positions ``nums`` only."""
    def f(*xs: Any) -> Any:
        a = list(args)
        for i, x in zip(nums, xs):
            a[i] = x
        return fun(*a, **kwargs)
    return f


def _is_traced(x: Any) -> bool:
    return isinstance(x, Array) and x._node is not None


def _zeros(y: Any) -> Array:
    """Zeros shaped like the array or number ``y`` (the gradient or tangent where none flows)."""
    z = zeros_like(y._data) if isinstance(y, Array) else numpy.zeros(numpy.shape(y))
    rec = RECORDER.get()
    if rec is not None:
        rec.constant(z)
    return type(y)._make(z) if isinstance(y, Array) else _to_array(z)


def make_vjp(fun: Callable, argnum: Any = 0) -> Callable:
    """``make_vjp(f, argnum)(*args) -> (vjp_fn, value)``; ``vjp_fn(g)`` is g's pullback to the argument(s).

    Arguments and outputs may be (nested) tuples, lists and dicts of arrays and numbers: ``g`` has the
    output's structure (None for a zero part) and the gradients have the arguments' structure."""
    def maker(*args: Any, **kwargs: Any) -> tuple:
        vjp_fn, ans, plain = _make_vjp(fun, argnum, args, kwargs, "make_vjp")
        return vjp_fn, (_to_numpy(ans) if plain else ans)
    return maker


def _make_vjp(fun: Callable, argnum: Any, args: Sequence, kwargs: dict, what: str, numpy_out: bool = True) -> tuple:
    """make_vjp's ``(vjp_fn, value, plain)`` for one call; ``what`` names the transform in errors.
    ``plain``: the differentiated arguments were plain values, so ``vjp_fn`` returns NumPy values
    (where ``numpy_out``) and the caller should hand back ``value`` as NumPy's too."""
    args = list(args)
    plain = _outermost()  # (and, below, no argument leaf is a tapegrad array)
    # inside another reverse pass (recording on), the function may close over that pass's variables
    # (``grad(lambda y: grad(lambda x: x * y)(1.3))``): the backward must then build a graph for it
    trees, flat, nested = [], [], RECORDING.get()
    for i in _argnums(argnum, len(args), what):
        leaves, tree = flatten(args[i])
        plain = plain and not any(isinstance(v, Array) for v in leaves)
        nested = nested or any(_is_traced(v) for v in leaves)
        vs = [_variable(v) for v in leaves]
        trees.append(tree)
        flat += vs
        args[i] = unflatten(tree, vs)
    with StateScope(recording=True, grad_enabled=True):
        ans = fun(*args, **kwargs)
    outs, out_tree = flatten(ans)

    def vjp_fn(g: Any) -> Any:
        heads, hgs = [], []
        for y, gy in zip(outs, flatten_like(out_tree, g, "the cotangent")):
            if _is_traced(y) and gy is not None:
                heads.append(y)
                hgs.append(gy if isinstance(gy, Array) else
                           type(y)._make(_like(y._data, numpy.asarray(gy, dtype=y._data.dtype))))
        grads: list = [None] * len(flat)
        if heads:
            # forward traces see the backward's ops whether or not they are recorded: record them
            # only when a reverse pass outside this one will differentiate the result
            create = nested or any(_is_traced(gy) for gy in hgs)
            with StateScope(recording=True, grad_enabled=True):
                grads = engine.backward(heads, hgs, retain_graph=True, create_graph=create, variables=flat)
        grads = [_zeros(v) if gr is None else gr for v, gr in zip(flat, grads)]
        out, k = [], 0
        for tree in trees:
            out.append(unflatten(tree, grads[k:k + size(tree)]))
            k += size(tree)
        res = out[0] if isinstance(argnum, int) else tuple(out)
        # NumPy values for plain arguments, unless the cotangent is traced: the pullback is then a
        # function of it that an outer transform differentiates (fixed_point's adjoint iteration)
        plain_g = not (any(_is_traced(gy) for gy in hgs) or forward.TRACES.get())
        return _to_numpy(res) if plain and numpy_out and plain_g else res
    return vjp_fn, ans, plain


def _check_scalar(ans: Any, what: str) -> None:
    fix = ("use elementwise_grad for the gradient of the sum of the outputs, jacobian for every derivative, "
           "or make_vjp (or vjp) for the VJP of a given cotangent")
    if isinstance(ans, (tuple, list, dict)):
        raise TypeError(f"{what} needs a function with one real scalar output; this one returns a "
                        f"{type(ans).__name__}: {fix}")
    if not isinstance(ans, Array):
        raise TypeError(f"{what} needs the function to return a tapegrad array; it returned the "
                        f"{type(ans).__name__} {ans!s:.40}, which carries no derivative: compute the result "
                        "from the arguments with tapegrad.np (e.g. np.sum(...)), not with Python's or NumPy's "
                        "functions")
    if ans._data.size != 1 or ans._data.dtype.kind != "f":
        raise TypeError(f"{what} needs a function with a real scalar output; this one returns shape "
                        f"{tuple(ans.shape)}, dtype {ans._data.dtype}: {fix}")


def _ones(ans: Any) -> Any:
    """Ones in the structure of ``ans`` (None for its leaves that are not arrays)."""
    leaves, tree = flatten(ans)
    rec = RECORDER.get()
    out: list = []
    for y in leaves:
        if isinstance(y, Array):
            one = ones_like(y._data)
            if rec is not None:
                rec.constant(one)
            out.append(type(y)._make(one))
        else:
            out.append(None)
    return unflatten(tree, out)


def grad(fun: Callable, argnum: Any = 0) -> Callable:
    """The gradient of a real scalar function with respect to argument ``argnum`` (int or tuple), in
    the argument's structure (a dict argument gets a dict of gradients)."""
    @functools.wraps(fun)
    def gradfun(*args: Any, **kwargs: Any) -> Any:
        vjp_fn, ans, _ = _make_vjp(fun, argnum, args, kwargs, "grad")
        _check_scalar(ans, "grad")
        return vjp_fn(_ones(ans))
    return gradfun


def value_and_grad(fun: Callable, argnum: Any = 0) -> Callable:
    """``(f(x), grad(f)(x))`` in one pass."""
    @functools.wraps(fun)
    def vg(*args: Any, **kwargs: Any) -> tuple:
        vjp_fn, ans, plain = _make_vjp(fun, argnum, args, kwargs, "value_and_grad")
        _check_scalar(ans, "value_and_grad")
        return (_to_numpy(ans) if plain else ans), vjp_fn(_ones(ans))
    return vg


def elementwise_grad(fun: Callable, argnum: Any = 0) -> Callable:
    """The gradient of the sum of ``f(x)``'s elements (of all its outputs): the elementwise derivative
    for elementwise functions."""
    @functools.wraps(fun)
    def eg(*args: Any, **kwargs: Any) -> Any:
        vjp_fn, ans, _ = _make_vjp(fun, argnum, args, kwargs, "elementwise_grad")
        return vjp_fn(_ones(ans))
    return eg


def vjp(fun: Callable, *primals: Any) -> tuple:
    """``(fun(*primals), vjp_fn)`` where ``vjp_fn(ct)`` returns one cotangent per primal (JAX style)."""
    vjp_fn, ans = make_vjp(fun, tuple(range(len(primals))))(*primals)
    return ans, vjp_fn


def jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``(fun(*primals), J·tangents)`` by forward mode; each tangent has its primal's structure (None
    for zero) and the output tangent has the output's."""
    ans, t = _jvp(fun, primals, tangents)
    return (_to_numpy(ans), _to_numpy(t)) if _is_plain(primals) else (ans, t)


def _jvp(fun: Callable, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple:
    """``jvp`` with tapegrad arrays out, also for plain primals."""
    for what, v in (("primals", primals), ("tangents", tangents)):
        if not isinstance(v, (tuple, list)):
            raise TypeError(f"jvp(fun, primals, tangents) takes a tuple or list of {what}, one per argument of fun; "
                            f"got the {type(v).__name__} {v!s:.40}: write jvp(fun, (x,), (t,))")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp needs one tangent per primal: got {len(primals)} primals, {len(tangents)} tangents")
    leaves, tree = flatten(primals)
    trace = forward.ForwardTrace()
    xs = []
    for p, t in zip(leaves, flatten_like(tree, tangents, "the tangent")):
        x = _to_array(p)
        with StateScope(recording=True, grad_enabled=True):
            x = OPS.positive(x)  # a buffer of its own (outer traces and the tape see through it)
        t = _zeros(x) if t is None else _to_array(t)
        if tuple(t.shape) != tuple(x.shape):
            raise ValueError(f"tangent of shape {tuple(t.shape)} for a primal of shape {tuple(x.shape)}")
        trace.set(x, t if t._data.dtype == x._data.dtype else OPS.astype(t, x._data.dtype))
        xs.append(x)
    with forward.Activation(forward.TRACES, forward.TRACES.get() + (trace,)):
        ans = fun(*unflatten(tree, xs))
    outs, out_tree = flatten(ans)
    return ans, unflatten(out_tree, [_zeros(y) if trace.get(y) is None else trace.get(y) for y in outs])


def make_jvp(fun: Callable, argnum: Any = 0) -> Callable:
    """``make_jvp(f, argnum)(*args)(t) -> (f(args), J·t)`` (HIPS style)."""
    def maker(*args: Any, **kwargs: Any) -> Callable:
        nums = _argnums(argnum, len(args), "make_jvp")

        def jvp_fn(t: Any) -> tuple:
            ts = (t,) if isinstance(argnum, int) else tuple(t)
            return jvp(_partial(fun, args, kwargs, nums), [args[i] for i in nums], ts)
        return jvp_fn
    return maker


def jacobian(fun: Callable, argnum: Any = 0, mode: str | None = None) -> Callable:
    """The Jacobian, of shape ``out.shape + in.shape``: by forward mode when the input is smaller than
    the output, else by reverse mode (one pass per input or output element). For containers (as in
    JAX): the output's structure holding, for each output leaf, the input's structure of blocks."""
    if mode not in (None, "fwd", "rev"):
        raise ValueError(f"jacobian's mode is 'fwd', 'rev' or None (the cheaper one), not {mode!r}")

    @functools.wraps(fun)
    def jac(*args: Any, **kwargs: Any) -> Any:
        nums = _argnums(argnum, len(args), "jacobian")
        single = isinstance(argnum, int)
        f = _partial(fun, args, kwargs, nums)
        primals = tuple(args[i] for i in nums)
        leaves, in_tree = flatten(primals[0] if single else primals)
        xs = [_to_array(v) for v in leaves]
        plain = _is_plain(primals)
        vjp_fn, ans, _ = _make_vjp(f, 0 if single else tuple(range(len(nums))), primals, {}, "jacobian", False)
        ys, out_tree = flatten(ans)
        ys = [y if isinstance(y, Array) else _to_array(y) for y in ys]
        blocks: list = [[[] for _ in xs] for _ in ys]
        # a real input's cotangent keeps only the real part of a complex output's derivative: the
        # Jacobian of a real-to-complex function needs forward mode
        to_complex = any(y._data.dtype.kind == "c" for y in ys) and any(x._data.dtype.kind != "c" for x in xs)
        if mode == "rev" and to_complex:
            raise TypeError("jacobian(mode='rev') of a function with a complex output and a real input would "
                            "keep only the real part of the derivative: use mode='fwd' (or None)")
        auto = "fwd" if to_complex or sum(x._data.size for x in xs) < sum(y._data.size for y in ys) else "rev"
        if (mode or auto) == "rev":
            for j, y in enumerate(ys):
                for e in _basis(y):
                    ct = [None] * len(ys)
                    ct[j] = e
                    for k, g in enumerate(flatten(vjp_fn(unflatten(out_tree, ct)))[0]):
                        blocks[j][k].append(g)
            axis = 0
        else:
            for k, x in enumerate(xs):
                for e in _basis(x):
                    ts = [None] * len(xs)
                    ts[k] = e
                    t = unflatten(in_tree, ts)
                    for j, g in enumerate(flatten(_jvp(f, primals, (t,) if single else t)[1])[0]):
                        blocks[j][k].append(g)
            axis = -1
        J = [[OPS.reshape(OPS.stack(b, axis=axis), tuple(y.shape) + tuple(x.shape)) if b else
              type(x)._make(_like(x._data, numpy.zeros(tuple(y.shape) + tuple(x.shape), x._data.dtype)))
              for x, b in zip(xs, row)] for y, row in zip(ys, blocks)]
        res = unflatten(out_tree, [unflatten(in_tree, row) for row in J])
        return _to_numpy(res, scalars=False) if plain else res
    return jac


def _basis(x: Array) -> Any:
    """The one-hot arrays shaped like ``x``, one per element, one at a time."""
    rec = RECORDER.get()
    for i in range(x._data.size):
        e = numpy.zeros(x._data.size, dtype=x._data.dtype)
        e[i] = 1
        buf = _like(x._data, e.reshape(x.shape))
        if rec is not None:  # (a compiled call's constant: the same at every replay)
            rec.constant(buf)
        yield type(x)._make(buf)


def hessian(fun: Callable, argnum: int = 0) -> Callable:
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    return jacobian(jacobian(fun, argnum), argnum)


def hvp(fun: Callable, argnum: Any = 0) -> Callable:
    """``hvp(f)(*args, v)``: the Hessian-vector product by forward-over-reverse, without building H.

    ``v`` has the structure of the chosen argument. With a tuple ``argnum``, ``v`` is a tuple of one
    vector per chosen argument and the result is the tuple of the blocks' sums: for
    ``argnum=(0, 1)``, ``(H00 v0 + H01 v1, H10 v0 + H11 v1)``."""
    multi = not isinstance(argnum, int)

    @functools.wraps(fun)
    def h(*args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError("hvp(f) takes f's arguments and then the vector v")
        *primal, v = args
        nums = _argnums(argnum, len(primal), "hvp")
        vs = tuple(v) if multi else (v,)
        if len(vs) != len(nums):
            raise ValueError(f"hvp with argnum={argnum!r} needs one vector per chosen argument, got {len(vs)}")
        g = grad(_partial(fun, primal, kwargs, nums), tuple(range(len(nums))) if multi else 0)
        return jvp(g, tuple(primal[i] for i in nums), vs)[1]
    return h


#: HIPS autograd's name for ``hvp`` (the same call: ``hessian_vector_product(f)(*args, v)``).
hessian_vector_product = hvp


def _record(name: str, args: Any, out: Any, backward: Callable) -> Any:
    """Put one call with inputs ``args`` and result ``out`` (containers) on the tape as one custom op:
    ``backward(gs)`` maps a list with one cotangent (or None) per leaf of ``out`` to a list with one
    gradient (or None) per leaf of ``args``. Returns ``out`` linked to it."""
    outs, tree = flatten(out)
    pos = [i for i, o in enumerate(outs) if isinstance(o, Array)]
    if not pos:
        return out

    n = len(outs)  # not ``outs`` itself: it ends up holding the results, which must not be kept alive here

    def bw(*gs: Any) -> list:
        full = [None] * n
        for i, g in zip(pos, gs):
            full[i] = g
        return backward(full)
    res = record_custom(name, flatten(args)[0], [outs[i] for i in pos], bw, len(pos) == 1)
    for i, r in zip(pos, res):
        outs[i] = r
    return unflatten(tree, outs)


def checkpoint(fun: Callable) -> Callable:
    """``fun`` whose intermediates are not kept for backward: they are recomputed when needed. A
    ``fun`` that reads traced values it is not given (a closure over the differentiated variable)
    is differentiated as an ordinary function (its intermediates are then kept)."""
    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        leaves, tree = flatten(args)
        start = next(node_seq)
        # recorded as usual on identities of the arguments, to see whether it reads anything else
        # traced (the argument itself through a closure too); this tape is dropped below
        xs = [OPS.positive(a) if _is_traced(a) else a for a in leaves]
        out = fun(*unflatten(tree, xs), **kwargs)
        own = {x._node for x in xs if _is_traced(x)}
        if not own or _reads_other(flatten(out)[0], own, start):
            return out

        def backward(gs: list) -> list:
            # a backward that builds a graph (grad of grad) recomputes from the inputs themselves, so
            # that the gradients it returns stay functions of them; otherwise from detached copies
            create = RECORDING.get()
            xs = [_variable(a if create else type(a)._make(a._data)) if isinstance(a, Array) else a for a in leaves]
            with StateScope(recording=True, grad_enabled=True):
                ys = flatten(fun(*unflatten(tree, xs), **kwargs))[0]
            heads = [(y, g) for y, g in zip(ys, gs) if g is not None and _is_traced(y)]
            want = [x for x, a in zip(xs, leaves) if _is_traced(a)]
            res = iter(engine.backward([y for y, _ in heads], [g for _, g in heads], variables=want,
                                       retain_graph=create, create_graph=create) if heads else [None] * len(want))
            return [next(res) if _is_traced(a) else None for a in leaves]
        return _record(f"checkpoint({getattr(fun, '__name__', 'fun')})", args, out, backward)
    return wrapped


def _reads_other(outs: list, own: set, start: int) -> bool:
    """Whether the tape of ``outs`` reaches a node older than node number ``start`` (recorded before
    the call) other than the nodes ``own`` of the call's arguments: a traced value it closes over."""
    stack = [o._node for o in outs if _is_traced(o)]
    seen: set = set()
    while stack:
        n = stack.pop()
        if n in own or n in seen:
            continue
        if n.seq < start:
            return True
        seen.add(n)
        stack.extend(p for p in n.parents if p is not None)
    return False


class custom_vjp:  # noqa: N801 - JAX's name
    """A function with a hand-written VJP: ``f = custom_vjp(fun); f.defvjp(fwd, bwd)`` where
    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, g) -> one cotangent per argument``. ``g``
    has the structure of ``out``; each cotangent has its argument's (None for zero)."""

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
        leaves, tree = flatten(args)
        # fwd is recorded on identities of the arguments: residuals computed from them stay
        # differentiable (grad of grad through bwd), and a closure over a traced value is seen
        start = next(node_seq)
        token = forward.CAPTURE.set(None)  # check_grads sees this call, not the ops inside
        try:
            xs = [OPS.positive(a) if _is_traced(a) else a for a in leaves]
            out, res = self.fwd(*unflatten(tree, xs))
        finally:
            forward.CAPTURE.reset(token)
        own = {x._node for x in xs if _is_traced(x)}
        if _reads_other(flatten(out)[0] + flatten(res)[0], own, start):
            raise TypeError(f"custom_vjp: {self.name}'s fwd reads a value that is being differentiated but is not "
                            "one of its arguments (a closure over it), and bwd can return no gradient for it: "
                            "pass that value as an argument")
        if not any(_is_traced(a) for a in leaves):
            return out
        out_tree = flatten(out)[1]

        bwd: Callable = self.bwd  # type: ignore[assignment]  # (set with fwd, which is set)

        def backward(gs: list) -> list:
            r = bwd(res, unflatten(out_tree, gs))
            if len(args) == 1 and not (isinstance(r, (tuple, list)) and len(r) == 1):
                r = (r,)
            return flatten_like(tree, tuple(r), f"the result of {self.name}'s bwd (one cotangent per argument)")
        return _record(self.name, args, out, backward)

    @property
    def name(self) -> str:
        return getattr(self.fun, "__name__", "custom_vjp")


class custom_jvp:  # noqa: N801 - JAX's name
    """A function with a hand-written JVP for forward mode: ``f.defjvp(rule)`` with
    ``rule(primals, tangents) -> (out, tangent_out)``. Reverse mode differentiates ``fun`` itself."""

    __name__: str  # (fun's, with its other attributes: functools.update_wrapper)

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
        leaves, tree = flatten(args)
        k = max((i for i, tr in enumerate(traces) if any(tr.get(a) is not None for a in leaves)), default=None)
        if k is None:
            return self.fun(*args)
        trace = traces[k]
        tangents = unflatten(tree, [trace.get(a) if trace.get(a) is not None else
                                    (_zeros(a) if isinstance(a, Array) else 0.0) for a in leaves])
        token = forward.TRACES.set(traces[:k] + traces[k + 1:])
        try:
            out, tout = self.rule(tuple(args), tangents)
        finally:
            forward.TRACES.reset(token)
        outs, out_tree = flatten(out)
        for o, t in zip(outs, flatten_like(out_tree, tout, f"the tangent from {self.__name__}'s rule")):
            if isinstance(o, Array) and t is not None:
                trace.set(o, t)
        return out
