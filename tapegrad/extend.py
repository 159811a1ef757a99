"""``tapegrad.extend``: HIPS autograd's extension API, over the engine's ops.

``@primitive`` makes a user's function on NumPy values one op of the engine (an ``Op``, like the
registry's): called on plain values it is the function itself and returns what it returns; called
with tapegrad arrays among its arguments (inside ``tapegrad.grad`` and the other transforms) it runs
on their values and is recorded, so reverse mode, forward mode, higher orders and
``tapegrad.testing.check_grads`` see it like any other op. Its rules are given as in HIPS autograd::

    @primitive
    def logsumexp(x):
        m = np.max(x)
        return m + np.log(np.sum(np.exp(x - m)))

    defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))

A vjpmaker ``(ans, *args, **kwargs) -> (g -> cotangent)`` (None: no gradient for that argument)
receives NumPy values in an ordinary backward and tapegrad arrays when the gradient is itself
differentiated (or seen by forward mode): written with ``tapegrad.numpy``, it works in both, and
higher derivatives come free. As in HIPS, a cotangent must have its argument's shape (sum over the
axes a broadcast added); an argument that is a tuple, list or dict of arrays gets a cotangent of
the same structure. Keyword arguments are never differentiated.
"""
from __future__ import annotations

import functools
import itertools
import types
import weakref
from typing import Any, Callable, Iterable

import numpy

from ._core.array import Array
from ._core.forward import CAPTURE, TRACES, Activation
from ._core.functional import _make_vjp
from ._core.mode import RAW, StateScope
from ._core.node import _seq as node_seq
from ._core.tree import LEAF, describe, flatten, flatten_like, size, unflatten
from .backend import is_device_buffer, zeros_like
from .ops.registry import Op

__all__ = ["primitive", "notrace_primitive", "defvjp", "defvjp_argnum", "defvjp_argnums", "defjvp",
           "defjvp_argnum", "defjvp_argnums", "def_linear", "Primitive", "PRIMITIVES"]

#: The ops of the users' primitives, by their unique names (kept while their primitive lives). They
#: are not in the op registry (``tapegrad.ops.registry.REGISTRY``), whose ops are tapegrad's own.
PRIMITIVES: "weakref.WeakValueDictionary[str, Op]" = weakref.WeakValueDictionary()

_CONTAINERS = (tuple, list, dict)
_NUMERIC = (numpy.ndarray, numpy.generic, int, float, complex, bool)


class _Call:
    """The static part of one primitive call: every positional argument with its tapegrad arrays
    taken out (the op's inputs), the keyword arguments, and the forward's result until the op
    takes it. Held in the node's parameters, so the rules can put the call back together."""

    __slots__ = ("leaves", "trees", "index", "kwargs", "result")

    def __init__(self, leaves: list, trees: list, index: list, kwargs: dict, result: Any) -> None:
        self.leaves = leaves  # per positional argument: its leaves, None where an op input goes
        self.trees = trees  # per positional argument: its structure (LEAF for a plain value)
        self.index = index  # per op input: (argument number, leaf number)
        self.kwargs = kwargs
        self.result = result  # the forward's leaves, computed by the caller; taken once

    def args(self, values: Iterable) -> tuple:
        """The positional arguments with ``values`` (one per op input) in the arrays' places."""
        leaves = [list(ls) for ls in self.leaves]
        for (i, k), v in zip(self.index, values):
            leaves[i][k] = v
        return tuple(ls[0] if t is LEAF else unflatten(t, ls) for t, ls in zip(self.trees, leaves))

    def argnums(self, flags: Iterable) -> list:
        """The argument numbers holding an op input whose flag is set (sorted, once each)."""
        return sorted({self.index[j][0] for j, f in enumerate(flags) if f})

    def __repr__(self) -> str:
        return f"<call with {len(self.index)} traced array(s)>"


class Primitive:
    """A user's function made one op of the engine (see the module's documentation). ``fun`` is
    the function itself; ``op(structure)`` the op for one structure of its result."""

    __name__: str  # (set from ``fun``, with its __doc__, __qualname__ and __module__)

    def __init__(self, fun: Callable) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = f"{getattr(fun, '__module__', None) or '?'}.{getattr(fun, '__qualname__', repr(fun))}"
        self.vjp_argnums: Callable | None = None  # (argnums, ans, args, kwargs) -> (g -> cotangents)
        self.jvp_argnums: Callable | None = None  # (argnums, gs, ans, args, kwargs) -> tangent
        self.linear = False
        self._ops: dict = {}

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        return self if obj is None else types.MethodType(self, obj)  # a method, as a function would be

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, trees, index, arrays = [], [], [], []
        for i, a in enumerate(args):
            if isinstance(a, Array):
                ls, t = [None], LEAF
                index.append((i, 0))
                arrays.append(a)
            elif isinstance(a, _CONTAINERS) and any(isinstance(v, Array) for v in flatten(a)[0]):
                ls, t = flatten(a)  # a container with arrays: each array is an input of the op
                for k, v in enumerate(ls):
                    if isinstance(v, Array):
                        ls[k] = None
                        index.append((i, k))
                        arrays.append(v)
            else:
                ls, t = [a], LEAF
            leaves.append(ls)
            trees.append(t)
        if kwargs and any(isinstance(x, Array) for x in flatten(kwargs)[0]):
            kwargs = {k: _kwarg(self, k, v) for k, v in kwargs.items()}
        if not arrays:  # plain values: the function itself, as in HIPS
            return self.fun(*args, **kwargs)
        call = _Call(leaves, trees, index, kwargs, None)
        outs, tree = self._run(call, [a._data for a in arrays])
        call.result = outs
        out = self.op(tree)(*arrays, call=call)
        return out if tree is LEAF else unflatten(tree, out)

    def op(self, tree: Any) -> Op:
        """The op of this primitive for results of structure ``tree`` (made on first use)."""
        op = self._ops.get(tree)
        if op is None:
            op = self._ops[tree] = _make_op(self, tree)
        return op

    def _run(self, call: _Call, values: list) -> tuple:
        """``(leaves, structure)`` of the function's result on ``values`` (the op's inputs' buffers),
        run as user code on plain values: nothing recorded (a transform inside it is its own, and
        returns NumPy values), and refused where it reads a value being differentiated that is not
        among its arguments (its gradient would be lost)."""
        calls: list = []
        start = next(node_seq)
        traces = TRACES.get()
        with StateScope(recording=False, grad_enabled=False, raw=False), Activation(CAPTURE, calls):
            res = self.fun(*call.args(values), **call.kwargs)
        for _, op_args, _ in calls:
            for a in flatten(list(op_args))[0]:
                if isinstance(a, Array) and ((a._node is not None and a._node.seq < start)
                                             or any(t.get(a) is not None for t in traces)):
                    raise TypeError(f"primitive {self.name} reads a value that is being differentiated but is not "
                                    "one of its arguments (a closure over it), and its rules can give no gradient "
                                    "for it: pass that value as an argument")
        outs, tree = flatten(res)
        for k, o in enumerate(outs):
            if isinstance(o, Array):  # (from a transform run inside: its values)
                outs[k] = o = o._data
            if not isinstance(o, _NUMERIC) or (isinstance(o, numpy.ndarray) and o.dtype.kind not in "biufc"):
                raise TypeError(f"primitive {self.name} returned {type(o).__name__} {o!r:.60} in "
                                f"{describe(tree)}; a primitive traced by tapegrad returns arrays or numbers "
                                "(in tuples, lists and dicts)")
        return outs, tree

    # -- the rules, as the engine calls them ----------------------------------------------------
    def _pullback(self, tree: Any, g: Any, out: Any, arrays: tuple, call: _Call, needs: tuple) -> tuple:
        """The op's VJP: the user's vjpmakers, on NumPy values in a backward that builds no graph
        (raw mode, left while user code runs), on arrays otherwise."""
        make = self.vjp_argnums or (self._linear_vjp if self.linear else None)
        if make is None:
            raise NotImplementedError(f"the VJP of primitive {self.name} is not defined: give one with "
                                      f"tapegrad.extend.defvjp({self.__name__}, ...) (or defjvp for forward mode)")
        raw = RAW.get()
        argnums = call.argnums(needs)
        if tree is LEAF:
            ans, gs = out, (_zero(out, raw) if g is None else g)
        else:
            ans = unflatten(tree, list(out))
            gs = unflatten(tree, [_zero(o, raw) if x is None else x for x, o in zip(g, out)])
        with StateScope(raw=False):  # user code: its ops (and any transform inside) run as usual
            cots = list(make(argnums, ans, call.args(arrays), call.kwargs)(gs))
        if len(cots) != len(argnums):
            raise ValueError(f"the VJP of primitive {self.name} gave {len(cots)} cotangents for the arguments "
                             f"{argnums}: give one per differentiated argument")
        res: list = [None] * len(arrays)
        cls = None if raw else type(arrays[0])
        for i, c in zip(argnums, cots):
            if c is None:
                continue
            parts = flatten_like(call.trees[i], c, f"the cotangent of argument {i} of primitive {self.name}")
            for j, (n, k) in enumerate(call.index):
                if n == i and parts[k] is not None and needs[j]:
                    res[j] = _cotangent(self, i, parts[k], arrays[j], cls)
        return tuple(res)

    def _tangent(self, tree: Any, ts: list, arrays: tuple, out: Any, call: _Call) -> Any:
        """The op's JVP: the user's jvp functions on the arguments and their tangents (arrays)."""
        argnums = call.argnums(t is not None for t in ts)
        gs = []
        for i in argnums:
            tl = [_zero_like(v) for v in call.leaves[i]]
            for j, (n, k) in enumerate(call.index):
                if n == i:
                    tl[k] = ts[j] if ts[j] is not None else type(arrays[j])._make(zeros_like(arrays[j]._data))
            gs.append(tl[0] if call.trees[i] is LEAF else unflatten(call.trees[i], tl))
        ans = out if tree is LEAF else unflatten(tree, list(out))
        assert self.jvp_argnums is not None  # (the op has a JVP only once defjvp gave one)
        t = self.jvp_argnums(argnums, gs, ans, call.args(arrays), call.kwargs)
        cls = type(arrays[0])
        if tree is LEAF:
            return _as(cls, t)
        parts = flatten_like(tree, t, f"the tangent from primitive {self.name}'s JVP")
        return tuple(_as(cls, p) for p in parts)

    def _linear_vjp(self, argnums: list, ans: Any, args: tuple, kwargs: dict) -> Callable:
        """def_linear's VJP: the function itself run on traced values (it must be written with
        tapegrad.numpy) and differentiated."""
        def vjp(g: Any) -> list:
            res = []
            for i in argnums:
                fn = (lambda x, i=i: self.fun(*_subval(args, i, x), **kwargs))
                made = _make_vjp(fn, 0, [args[i]], {}, f"the VJP of linear primitive {self.name}")
                pull, y = made[0], made[1]  # (the pullback and the result as computed: traced or not)
                if not any(isinstance(v, Array) and v._node is not None for v in flatten(y)[0]):
                    raise NotImplementedError(
                        f"def_linear({self.__name__}) derives the VJP by running {self.__name__} on traced values, "
                        "but it computed its result outside tapegrad (with NumPy's own functions?): write it "
                        f"with tapegrad.numpy, or give its VJP with tapegrad.extend.defvjp({self.__name__}, ...)")
                res.append(pull(g))
            return res
        return vjp


def _make_op(prim: Primitive, tree: Any) -> Op:
    """A new op running ``prim`` for results of structure ``tree``, under a unique name."""
    nout = None if tree is LEAF else size(tree)
    single = tree is LEAF

    def forward(xp: Any, *arrays: Any, call: _Call) -> Any:
        outs, call.result = call.result, None
        if outs is None:  # the op applied again (forward mode, check_grads' op-by-op check)
            outs, got = prim._run(call, list(arrays))
            if got != tree:
                raise TypeError(f"primitive {prim.name} returned {describe(got)} where {describe(tree)} was "
                                "returned before for the same call")
        return outs[0] if single else tuple(outs)

    name = prim.name if tree is LEAF else f"{prim.name}->{describe(tree)}"
    if name in PRIMITIVES:
        name = next(f"{name}#{k}" for k in itertools.count(2) if f"{name}#{k}" not in PRIMITIVES)
    op = Op(forward, name, broadcast=False, samples=None, nout=nout, nin=None, diff=True, elementwise=False,
            linear=False, public=None, doc=prim.__doc__)
    op.__module__ = getattr(prim.fun, "__module__", None) or __name__

    def vjp(g: Any, out: Any, arrays: tuple, call: _Call, needs: tuple) -> tuple:
        return prim._pullback(tree, g, out, arrays, call, needs)
    op.vjp(vjp)
    if prim.jvp_argnums is not None:
        _set_jvp(prim, op, tree)
    PRIMITIVES[name] = op
    return op


def _set_jvp(prim: Primitive, op: Op, tree: Any) -> None:
    def jvp(ts: list, arrays: tuple, out: Any, call: _Call) -> Any:
        return prim._tangent(tree, ts, arrays, out, call)
    op.jvp(jvp)


def _kwarg(prim: Primitive, key: str, v: Any) -> Any:
    """A keyword argument's value with any tapegrad array in it replaced by its values; refused where
    one is being differentiated (keyword arguments are never differentiated, as in HIPS)."""
    leaves, tree = flatten(v)
    if any(isinstance(x, Array) and x._node is not None for x in leaves):
        raise TypeError(f"primitive {prim.name} got a traced array in its keyword argument {key!r}; keyword "
                        "arguments are never differentiated (as in HIPS autograd): pass it positionally")
    return unflatten(tree, [x._data if isinstance(x, Array) else x for x in leaves])


def _zero(out: Any, raw: bool) -> Any:
    """The cotangent of an output none reached: zeros like it (raw, or an array of its class)."""
    if raw:
        return zeros_like(out)
    return type(out)._make(zeros_like(out._data))


def _zero_like(v: Any) -> Any:
    """The tangent of a constant leaf inside a differentiated container argument."""
    return numpy.zeros_like(v) if isinstance(v, _NUMERIC) else None


def _as(cls: Any, t: Any) -> Any:
    """``t`` (a value a user's rule returned) as an array of ``cls``."""
    if t is None or isinstance(t, Array):
        return t
    d = cls._coerce(t)
    return cls._make(numpy.asarray(d) if isinstance(d, (numpy.generic, int, float, complex)) else d)


def _cotangent(prim: Primitive, i: int, c: Any, like: Any, cls: Any) -> Any:
    """A cotangent the user's VJP returned for one input: a raw buffer in a raw backward (``cls``
    None), else an array of ``cls``; its shape must be the input's, as in HIPS."""
    if cls is None:
        if isinstance(c, Array):
            c = c._data
        elif not (isinstance(c, numpy.ndarray) or is_device_buffer(c)):
            c = numpy.asarray(c)
    else:
        c = _as(cls, c)
    shape = tuple(c.shape)
    if shape != tuple(like.shape):
        raise ValueError(f"the VJP of primitive {prim.name} returned a cotangent of shape {shape} for argument {i}, "
                         f"of shape {tuple(like.shape)}: a cotangent has its argument's shape; where the argument "
                         "was broadcast, sum over the broadcast axes (as HIPS autograd's unbroadcast does), e.g. "
                         "np.sum(g, axis=0)")
    return c


def _subval(args: tuple, i: int, v: Any) -> tuple:
    return args[:i] + (v,) + args[i + 1:]


def _primitive_of(fun: Any, what: str) -> Primitive:
    if isinstance(fun, Primitive):
        return fun
    raise TypeError(f"{what} takes a primitive, got {fun!r:.60}: decorate the function with "
                    "@tapegrad.extend.primitive first")


# -- the public API, with HIPS autograd's signatures ----------------------------------------------
def primitive(fun: Callable) -> Primitive:
    """Make ``fun`` (a function on NumPy values) one op of the engine, whose rules are given with
    ``defvjp`` / ``defjvp``: called on plain values it is ``fun`` itself; with tapegrad arrays among
    its positional arguments it runs on their values and is recorded."""
    if isinstance(fun, Primitive):
        return fun
    if not callable(fun):
        raise TypeError(f"primitive takes a function, got {fun!r:.60}")
    return Primitive(fun)


def notrace_primitive(fun: Callable) -> Callable:
    """``fun`` run on the values of its arguments (tapegrad arrays replaced by their values); its
    result is never traced (for functions whose result carries no derivative: shapes, indices, ...)."""
    @functools.wraps(fun)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return fun(*[a._data if isinstance(a, Array) else a for a in args], **kwargs)
    wrapped._is_primitive = True  # type: ignore[attr-defined]
    return wrapped


def defvjp_argnums(fun: Primitive, vjpmaker: Callable) -> None:
    """The VJP of every argument at once: ``vjpmaker(argnums, ans, args, kwargs)`` returns
    ``g -> one cotangent per argument number in argnums``."""
    _primitive_of(fun, "defvjp_argnums").vjp_argnums = vjpmaker


def defvjp_argnum(fun: Primitive, vjpmaker: Callable) -> None:
    """The VJP of each argument from one maker: ``vjpmaker(argnum, ans, args, kwargs) -> (g -> cotangent)``."""
    def vjp_argnums(argnums: list, ans: Any, args: tuple, kwargs: dict) -> Callable:
        vjps = [vjpmaker(i, ans, args, kwargs) for i in argnums]
        return lambda g: [v(g) for v in vjps]
    defvjp_argnums(fun, vjp_argnums)


def defvjp(fun: Primitive, *vjpmakers: Callable | None, argnums: Iterable[int] | None = None) -> None:
    """The VJPs of ``fun``'s arguments (``argnums``, default 0, 1, ...): each vjpmaker is
    ``(ans, *args, **kwargs) -> (g -> cotangent)``, or None for an argument with no gradient.
    Replaces the VJPs given before, as in HIPS."""
    prim = _primitive_of(fun, "defvjp")
    table = dict(zip(itertools.count() if argnums is None else argnums, vjpmakers))
    for i, m in table.items():
        if m is not None and not callable(m):
            raise TypeError(f"defvjp({prim.__name__}): the vjpmaker of argument {i} is {m!r:.60}; give a "
                            "function (ans, *args, **kwargs) -> (g -> cotangent), or None")

    def vjp_argnums(nums: list, ans: Any, args: tuple, kwargs: dict) -> Callable:
        missing = [i for i in nums if i not in table]
        if missing:
            raise NotImplementedError(f"the VJP of primitive {prim.name} with respect to argument(s) {missing} is not "
                                      f"defined: give it with defvjp({prim.__name__}, ..., argnums=...)")
        vjps = [None if (m := table[i]) is None else m(ans, *args, **kwargs) for i in nums]
        return lambda g: [None if v is None else v(g) for v in vjps]
    prim.vjp_argnums = vjp_argnums


def defjvp_argnums(fun: Primitive, jvpmaker: Callable) -> None:
    """The JVP of all arguments at once: ``jvpmaker(argnums, gs, ans, args, kwargs)`` returns the
    output's tangent for tangents ``gs`` of the arguments ``argnums``."""
    prim = _primitive_of(fun, "defjvp_argnums")
    prim.jvp_argnums = jvpmaker
    for tree, op in prim._ops.items():
        _set_jvp(prim, op, tree)


def defjvp_argnum(fun: Primitive, jvpmaker: Callable) -> None:
    """The JVP from one function of each argument: ``jvpmaker(argnum, g, ans, args, kwargs)``; the
    output's tangent is the sum over the arguments with a tangent."""
    def jvp_argnums(argnums: list, gs: list, ans: Any, args: tuple, kwargs: dict) -> Any:
        return _sum(jvpmaker(i, g, ans, args, kwargs) for i, g in zip(argnums, gs))
    defjvp_argnums(fun, jvp_argnums)


def defjvp(fun: Primitive, *jvpfuns: Callable | str | None, argnums: Iterable[int] | None = None) -> None:
    """The JVPs of ``fun``'s arguments (``argnums``, default 0, 1, ...): each is
    ``(g, ans, *args, **kwargs) -> tangent of the output``, None (no contribution) or "same" (``fun``
    is linear in that argument: ``fun`` applied with ``g`` in its place). Summed over the arguments."""
    prim = _primitive_of(fun, "defjvp")
    table = dict(zip(itertools.count() if argnums is None else argnums, jvpfuns))
    for i, f in table.items():
        if f is not None and f != "same" and not callable(f):
            raise TypeError(f"defjvp({prim.__name__}): the JVP of argument {i} is {f!r:.60}; give a function "
                            "(g, ans, *args, **kwargs) -> tangent, 'same' or None")

    def jvp_argnums(nums: list, gs: list, ans: Any, args: tuple, kwargs: dict) -> Any:
        missing = [i for i in nums if i not in table]
        if missing:
            raise NotImplementedError(f"the JVP of primitive {prim.name} with respect to argument(s) {missing} is not "
                                      f"defined: give it with defjvp({prim.__name__}, ..., argnums=...)")
        parts = []
        for i, g in zip(nums, gs):
            f = table[i]
            if f == "same":
                parts.append(prim(*_subval(args, i, g), **kwargs))
            elif callable(f):
                parts.append(f(g, ans, *args, **kwargs))
        return _sum(parts)
    defjvp_argnums(prim, jvp_argnums)


def def_linear(fun: Primitive) -> None:
    """Declare ``fun`` linear in each of its arguments: its JVP is ``fun`` applied to the tangent in
    that argument's place (as in HIPS), and, unless ``defvjp`` gives one, its VJP is derived by
    differentiating ``fun`` itself on traced values (so ``fun`` must then be written with
    ``tapegrad.numpy``)."""
    prim = _primitive_of(fun, "def_linear")
    prim.linear = True
    defjvp_argnum(prim, lambda argnum, g, ans, args, kwargs: prim(*_subval(args, argnum, g), **kwargs))


def _sum(parts: Iterable) -> Any:
    total = None
    for p in parts:
        if p is not None:
            total = p if total is None else total + p
    return total


def __getattr__(name: str) -> Any:
    if name in ("Box", "VSpace", "vspace", "SparseObject", "VJPNode", "JVPNode", "register_notrace"):
        raise AttributeError(f"tapegrad.extend has no {name}: tapegrad traces arrays themselves (a traced value "
                             "inside tapegrad.grad is a tapegrad.numpy.ArrayBox, an array with NumPy's methods), so "
                             "there are no boxes or vector spaces to register; primitive, defvjp and defjvp cover "
                             "new functions")
    raise AttributeError(f"module 'tapegrad.extend' has no attribute {name!r}")
