"""Op: one primitive — its forward on raw buffers, its gradient rules, and how a call reaches them.

An op call takes one of three routes:

1. raw mode (``mode.RAW``, a backward that builds no graph): ``Op.raw_call``, the forward on raw
   buffers, nothing recorded;
2. the fast route, for an op declared ``ufunc=`` (its forward is that NumPy ufunc on its inputs) and
   called on one or two host Arrays of one class (or an Array and a Python number) with no forward
   trace active: ``UfuncOp1.__call__`` / ``UfuncOp2.__call__``, which call the ufunc and build the
   node (``dispatch.node1`` / ``node2``) inline;
3. every other call: ``dispatch.apply``.

A dialect function that is an ``Entry`` of a one-input ufunc op (``torch.sin``) takes route 2 itself,
with the op's declaration, for its dialect's arrays; its other calls go to the dialect's own function,
which calls the op. An Array operator (``x * y``) calls its op's ``Operator`` view, which is route 2
too, with the node's search for the user's line starting one frame further out.

The dialect's policy is data on its array class, read once per call on every route: ``_promote``
(result dtypes), ``_recording_flag``, ``_track_versions`` and ``_same_dtype_products``.
"""
from __future__ import annotations

import inspect
import sys
from types import MethodType
from weakref import ref as _weakref
from typing import Any, Callable

import numpy

from . import rules
from .array import ARRAY_CLASSES, OPS, Array
from .events import unrecorded1 as _unrecorded1
from .dispatch import as_array, apply, bind, node1, node2, record, watch_versions
from .mode import ACTIVE as _ACTIVE, RAW as _RAW
from .node import BACKWARDS, WRITES
from ..backend import xp_of

_ARR = numpy.ndarray
_SCALARS = (int, float, bool, complex)
_MISSING = object()
_new = object.__new__


class Op:
    """One primitive: its forward, its VJP (written in tapegrad ops) and what the tests feed it."""

    def __init__(self, forward: Callable, name: str, *, broadcast: bool, samples: Any, nout: int | None,
                 nin: int | None, diff: bool, elementwise: bool, linear: bool, public: str | None,
                 seq: bool = False, singular: bool = False, ufunc: numpy.ufunc | None = None,
                 product: bool = False, doc: str | None = None, scalar: Callable | None = None,
                 flat: bool | Callable = False) -> None:
        self._forward = forward
        # partials can be inf/nan (sqrt at 0, log at 0...): a zero cotangent must still give zero
        self.singular = singular
        self.seq = seq  # called NumPy-style with one sequence of arrays: concatenate([a, b], axis)
        self.public = public  # namespace that exposes it: "np", "np.linalg", "npx" or None (internal)
        self.name = name
        self.broadcast = broadcast
        self.samples = samples
        self.nout = nout  # None: one output; k: a tuple of k outputs
        self.diff = diff  # False: never taped (comparisons, argmax, ...)
        # recorded, but its gradient is zero everywhere (floor, round...): True, or ``f(dtypes, params)``
        # saying so per call (sign of a real input, a cast to an integer dtype); ``explain`` reads it
        self.flat = flat
        self.elementwise = elementwise
        self.linear = linear
        # the forward is exactly this NumPy ufunc on the inputs (declared; None once the forward is replaced)
        self.ufunc = ufunc
        # the forward on one element, written with ufuncs (``scalar(m, x) = m.maximum(x, 0)``): what
        # ``tapegrad.compile``'s fusion writes into a kernel for an elementwise op that is not one ufunc
        self.scalar = scalar
        self._declared = (forward, ufunc, scalar)
        # a matrix product: refuses two floating dtypes where the dialect says so (_same_dtype_products)
        self.product = product
        own = getattr(numpy, name, None)
        self._inplace_ufunc = own if isinstance(own, numpy.ufunc) else None  # for ``forward_into``
        sig = inspect.signature(forward)
        ps = list(sig.parameters.values())[1:]  # after xp
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in ps)
        pos = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if nin is None:
            nin = sum(1 for p in pos if p.default is p.empty)
        self.nin = nin
        if ufunc is not None and (nout is not None or nin != ufunc.nin or self.variadic):
            raise TypeError(f"op {name!r} is declared as the ufunc {ufunc.__name__} but takes {nin} arrays "
                            f"and returns {nout or 1} (the ufunc: {ufunc.nin} and {ufunc.nout})")
        self.input_names = [p.name for p in pos[:nin]] + [p.name for p in ps if p.kind is p.VAR_POSITIONAL]
        self.param_names = [p.name for p in pos[nin:]] + [p.name for p in ps if p.kind is p.KEYWORD_ONLY]
        self.defaults = {p.name: p.default for p in ps
                         if p.name in self.param_names and p.default is not p.empty}
        self.vjp_fn: Callable | None = None
        self.vjp_spec: list = []
        self.save_in: tuple = ()
        self.save_out = False
        self.saves_all = False
        self.save_when: dict = {}  # input index -> inputs whose gradients read it
        self.jvp_fn: Callable | None = None
        self.jvp_spec: list = []
        # What a NumPy function has, so that an op reads like one: help(), inspect.signature,
        # functools.wraps, pickling by reference (see __reduce__)
        self.__name__ = self.__qualname__ = name
        self.__module__ = f"tapegrad.{public}" if public else forward.__module__
        self.__doc__ = forward.__doc__ or doc or f"The op {name!r}: differentiable."
        self.__signature__ = _call_signature(ps, nin, seq)
        self._masks: dict = {}  # needs -> which inputs to save (see save_mask)
        # the fast route of a declared ufunc (``UfuncOp1``) reads its declaration from ``_op`` and takes calls
        # on arrays of ``_classes``; an ``Entry`` names its op and narrows the classes to its dialect's
        self._op = self
        self._classes = ARRAY_CLASSES
        self._depth = 3  # where the node's walk to the user's line starts (see ``new_node``; an ``Operator``: 4)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def operator(self) -> Any:
        """The op as an Array operator method calls it (``Operator`` for a two-input ufunc op)."""
        return self

    def __reduce__(self) -> str | tuple:
        """Pickled by reference, as NumPy's functions are: by its name in its module (or, where the
        door there holds a wrapper of it, by its name in the op table)."""
        mod = sys.modules.get(self.__module__)
        if mod is not None and getattr(mod, self.__qualname__, None) is self:
            return self.__qualname__
        return (op_named, (self.name,))

    @property
    def forward(self) -> Callable:
        """The forward ``f(xp, *arrays, **params)`` on raw buffers."""
        return self._forward

    @forward.setter
    def forward(self, fn: Callable) -> None:
        # a replaced forward is no longer the declared ufunc: the fast route steps aside until it is restored
        self._forward = fn
        self.ufunc = self._declared[1] if fn is self._declared[0] else None
        self.scalar = self._declared[2] if fn is self._declared[0] else None

    def __call__(self, *args: Any, **params: Any) -> Any:
        """The op on Arrays (recorded when they are on the tape) or, in raw mode, on raw buffers."""
        if _RAW.get():
            return self.raw_call(args, params)
        if self.seq:
            args, params = self._unpack_sequence(args, params)
        elif self.product and len(args) >= 2:
            _refuse_mixed(self, args[0], args[1])
        return apply(self, args, params)

    def raw_call(self, args: tuple, params: dict) -> Any:
        """The forward on raw buffers, nothing recorded: how ops run inside a gradient rule during a
        backward that builds no graph (the rule then sees raw buffers, and Arrays are unwrapped)."""
        if self.seq:
            args, params = self._unpack_sequence(args, params)
        if len(args) != self.nin and not self.variadic:
            args, params = bind(self, args, params)
        xp = numpy
        for a in args:
            t = type(a)
            if t is not _ARR and t not in _SCALARS:  # rare: a device buffer, an Array, a NumPy scalar...
                args = tuple([a._data if isinstance(a, Array) else a for a in args])
                xp = xp_of(args)
                break
        out = self._forward(xp, *args, **params)
        if self.nout is None:
            return out if type(out) is _ARR else as_array(xp, out)
        return tuple(o if type(o) is _ARR else as_array(xp, o) for o in out)

    def is_flat(self, dtypes: tuple, params: dict | None) -> bool:
        """Whether an application to inputs of ``dtypes`` with ``params`` has a zero gradient everywhere."""
        f = self.flat
        return f if isinstance(f, bool) else bool(f(dtypes, params or {}))

    def save_mask(self, needs: tuple) -> tuple:
        """Which inputs a recorded application keeps for the VJP, given which inputs need a
        gradient (``needs``): those the rule names, less those ``needed_for`` says are read only
        for inputs that need none. Cached per ``needs``."""
        keep = self._masks.get(needs)
        if keep is None:
            keep = []
            for i in range(len(needs)):
                when = self.save_when.get(i)
                keep.append(i in self.save_in and (when is None or any(needs[j] for j in when)))
            keep = self._masks[needs] = tuple(keep)
        return keep

    def _unpack_sequence(self, args: tuple, params: dict) -> tuple:
        if not args or not isinstance(args[0], (list, tuple, Array, _ARR)):
            raise TypeError(f"{self.name}() takes a sequence of arrays first, e.g. np.{self.name}([a, b])")
        arrays = tuple(args[0])
        if not arrays:
            raise ValueError(f"{self.name}() needs at least one array")
        if len(args) > 1:
            params = {**dict(zip(self.param_names, args[1:])), **params}
        return arrays, params

    def forward_into(self, buf: Any, other: Any) -> None:
        """In-place ``buf = op(buf, other)`` on raw buffers (the ``+=`` family)."""
        if self._inplace_ufunc is not None and type(buf) is _ARR:
            self._inplace_ufunc(buf, other, out=buf, casting="unsafe")
        else:
            buf[...] = self._forward(xp_of((buf, other)), buf, other)

    # -- rule declaration ----------------------------------------------------------------------
    def vjp(self, fn: Callable | None = None, *, needed_for: dict | None = None) -> Callable:
        """Declare the VJP. Its parameters name what it needs: ``g`` (or ``gs``), ``out``, inputs,
        static parameters, ``needs``, ``shapes``, ``dtypes``. Only the named buffers are saved.

        ``needed_for={"x": (1,)}`` says input ``x`` is read only for input 1's gradient, so it is not
        saved when input 1 needs none (``x * 2.8`` keeps nothing); the rule then receives None for it.

        ``outs``: one raw buffer or None per input. In a backward that builds no graph, the engine
        offers a variable's own gradient buffer (``grad_req='write'``) where this rule's cotangent for
        that input is the whole gradient; a rule that writes its result there and returns that buffer
        spares the copy (MXNet's kWriteTo). Elsewhere every entry is None.
        """
        if fn is None:
            return lambda f: self.vjp(f, needed_for=needed_for)
        spec = rules.spec(self, fn, tangents=False)
        self.vjp_fn = fn
        self.vjp_spec = spec
        self.save_in = tuple(key if kind == rules.IN else -1 for kind, key in spec if kind in (rules.IN, rules.VARIN))
        self.save_out = any(kind == rules.OUT for kind, _ in spec)
        # every input is kept (a variadic rule's, or one naming the variadic inputs) rather than those in save_in
        self.saves_all = self.variadic or self.save_in[:1] == (-1,)
        self.save_when = {self.input_names.index(k): tuple(v) for k, v in (needed_for or {}).items()}
        self.writes_into = any(kind == rules.OUTS for kind, _ in spec)
        self._masks = {}
        self.run_vjp = rules.compile_vjp(self, raw=False)
        self.run_raw = rules.compile_vjp(self, raw=True)
        return fn

    def jvp(self, fn: Callable) -> Callable:
        """Declare the JVP (forward mode): ``fn(ts, <names>)`` gets ``ts``, one tangent per array input
        (None = zero), and may name inputs, ``out``, static parameters, ``shapes`` and ``dtypes`` like a
        VJP; it returns the output's tangent (a tuple for multi-output ops), in tapegrad ops."""
        self.jvp_fn = fn
        self.jvp_spec = rules.spec(self, fn, tangents=True)
        return fn

    # -- backward support ----------------------------------------------------------------------
    #: The rule may run on raw buffers (``run_raw``, in raw mode); custom ops say False.
    raw_ok = True
    #: The rule names ``outs`` (see ``vjp``): the engine may offer it gradient buffers to write into.
    writes_into = False
    #: Set by ``vjp()`` (see ``rules.compile_vjp``); an op without a VJP is never recorded.
    run_vjp: Callable
    run_raw: Callable


class UfuncOp1(Op):
    """An op declared as a one-input NumPy ufunc: its calls on one host Array take the fast route."""

    #: Where every call off the fast route goes: the general route (an ``Entry``: its dialect's function).
    _general = Op.__call__

    def __call__(self, a: Any = _MISSING, /, *rest: Any, **params: Any) -> Any:
        op = self._op  # the op itself, or the op a dialect's ``Entry`` enters
        fast = op.ufunc
        if fast is not None and not rest and not params:
            t = type(a)
            if t is _ARR:
                if _RAW.get():
                    out = fast(a)
                    return out if type(out) is _ARR else numpy.asarray(out)
            elif t in self._classes and type(a._data) is _ARR and not _ACTIVE.get():
                d = a._data
                out = fast(d)
                if type(out) is not _ARR:
                    out = numpy.asarray(out)
                if t._promote is not None and out.dtype is not d.dtype:  # the dialect's dtype policy
                    if self is not op:  # an Entry: a result of another dtype is for its dialect's function
                        return self._general(a)
                    out = t._promote(out, (d,), params)
                pa = a._node
                if pa is None or not op.diff or not t._recording_flag.get():
                    r = _new(t)  # Array._make inline: the call would cost a tenth of the op
                    r._data = out
                    r._node = r._idx = r._grad = r._grad_req = None
                    r._version = 0
                    # a taped input's history ends here (``explain``): noted once per node and backward
                    # (``cut[3]``: the backward serial when noted)
                    if pa is not None and (pa.cut is None or pa.cut[3] != BACKWARDS[0]):
                        _unrecorded1(op, t, pa, self._depth)
                    return r
                if a._idx is not None:  # one output of a multi-output op: the node names which
                    return record(op, t, (a,), [d], params, out, self._depth - 1)
                node = node1(op, t, params, out, d, pa, self._depth)
                r = t._make(out, node)
                if t._track_versions and (op.save_in or op.save_out):  # watch_versions, inline
                    # (a ufunc's result is new memory: version 0, shared with nothing)
                    if not op.save_out:
                        node.vcheck = ((_weakref(a), a._version_at_save(), "input 0"),)
                    elif op.save_in:
                        node.vcheck = ((_weakref(a), a._version_at_save(), "input 0"), (_weakref(r), 0, "output 0"))
                    else:
                        node.vcheck = ((_weakref(r), 0, "output 0"),)
                    node.vstamp = WRITES[0]
                return r
        return self._general(*(() if a is _MISSING else (a,)), *rest, **params)


class Entry:
    """A one-input ufunc op as a dialect's function (``torch.sin``): a call on an array of the dialect's
    class whose result keeps the input's dtype takes the op's fast route, with no frame of the dialect's
    own on the way; every other call (another class or dtype, a keyword, a number) goes to ``general``,
    the dialect's function, which converts, casts or refuses. So ``general`` must do what the op does
    wherever the op keeps the dtype, and the class must have a dtype policy (``_promote``)."""

    def __init__(self, op: Op, cls: type, general: Callable) -> None:
        if not isinstance(op, UfuncOp1):
            raise TypeError(f"an Entry enters a one-input ufunc op; {op.name!r} is not one")
        if getattr(cls, "_promote", None) is None:
            raise TypeError(f"an Entry needs a class with a dtype policy (_promote); {cls.__name__} has none")
        self._op = op
        self._classes = frozenset((cls,))
        self._general = general
        self._depth = 3
        self.__name__ = self.__qualname__ = general.__name__
        self.__doc__ = general.__doc__
        self.__module__ = general.__module__
        self.__wrapped__ = general  # (inspect.signature reads the dialect's function)

    __call__ = UfuncOp1.__call__

    def __repr__(self) -> str:
        return f"<function {self.__module__}.{self.__name__}>"

    def __reduce__(self) -> str:
        return self.__qualname__


class UfuncOp2(Op):
    """An op declared as a two-input NumPy ufunc: its calls on a host Array and a Python number, or
    two host Arrays of one class, take the fast route."""

    _general = Op.__call__

    def operator(self) -> Any:
        # (bound: calling an instance goes through C's call slot, which packs the arguments in a tuple; the
        # bound method spares that, 1 % of W6's instructions)
        return MethodType(UfuncOp2.__call__, Operator(self))

    def __call__(self, a: Any = _MISSING, b: Any = _MISSING, /, *rest: Any, **params: Any) -> Any:
        op = self._op  # the op itself, or the op an ``Operator`` view enters
        fast = op.ufunc
        if fast is not None and not rest and not params:
            t = type(a)
            tb = type(b)
            if t is _ARR or t in _SCALARS:
                if (tb is _ARR or tb in _SCALARS) and _RAW.get():
                    out = fast(a, b)
                    return out if type(out) is _ARR else numpy.asarray(out)
            elif (t in self._classes and type(a._data) is _ARR and not _ACTIVE.get()
                  and (tb in _SCALARS or (tb is t and type(b._data) is _ARR))):
                d = a._data
                if tb is t:
                    e = b._data
                    pb = b._node
                    if e.dtype is not d.dtype and op.product:
                        _refuse_mixed(op, a, b)
                else:
                    e = b
                    pb = None
                try:
                    out = fast(d, e)
                except ValueError:  # NumPy's text: the general route's forward says what does not match
                    return Op.__call__(op, a, b)
                if type(out) is not _ARR:
                    out = numpy.asarray(out)
                if t._promote is not None and (out.dtype is not d.dtype or (tb is t and e.dtype is not d.dtype)):
                    out = t._promote(out, (d, e), params)
                pa = a._node
                if (pa is None and pb is None) or not op.diff or not t._recording_flag.get():
                    r = _new(t)  # Array._make inline
                    r._data = out
                    r._node = r._idx = r._grad = r._grad_req = None
                    r._version = 0
                    # a taped input's history ends here (``explain``): noted once per node and backward
                    # (``cut[3]``: the backward serial when noted)
                    if pa is not None and (pa.cut is None or pa.cut[3] != BACKWARDS[0]):
                        _unrecorded1(op, t, pa, self._depth)
                    if pb is not None and (pb.cut is None or pb.cut[3] != BACKWARDS[0]):
                        _unrecorded1(op, t, pb, self._depth)
                    return r
                if a._idx is not None or (pb is not None and b._idx is not None):  # an output of a multi-output op
                    return record(op, t, (a, b), [d, e], params, out, self._depth - 1)
                node = node2(op, t, params, out, d, pa, e, pb, self._depth)
                r = t._make(out, node)
                if t._track_versions and (op.save_out or ((s := node.saved) is not None and (
                        s[0] is not None or (tb is t and s[1] is not None)))):  # an array's buffer is saved
                    watch_versions(node, op, (a, b), r)
                return r
        return self._general(*(x for x in (a, b) if x is not _MISSING), *rest, **params)


class Operator:
    """A two-input ufunc op as an Array operator method calls it (``x * y`` is ``Array.__mul__``): the
    op's fast route, which starts looking for the user's line one frame further out, past the operator
    method (known to be tapegrad's, so Python need not build a frame object to look at it); every
    other call goes to the op's general route."""

    def __init__(self, op: Op) -> None:
        self._op = op
        self._classes = ARRAY_CLASSES
        self._general = MethodType(Op.__call__, op)
        self._depth = 4
        self.__name__ = self.__qualname__ = op.name

    __call__ = UfuncOp2.__call__

    def __repr__(self) -> str:
        return f"<op {self._op.name} (as an operator)>"


def op_named(name: str) -> Op:
    """The declared op of that name (how an op whose door holds a wrapper is unpickled)."""
    return getattr(OPS, name)


def op_class(ufunc: numpy.ufunc | None) -> type:
    """The class of an op declared with ``ufunc`` (None: the general ``Op``)."""
    if ufunc is None:
        return Op
    return UfuncOp1 if ufunc.nin == 1 else UfuncOp2


def _refuse_mixed(op: Op, a: Any, b: Any) -> None:
    """Refuse a matrix product of two floating dtypes in a dialect that says products need one."""
    if not (isinstance(a, Array) and isinstance(b, Array)):
        return
    da, db = a._data.dtype, b._data.dtype
    if da != db and (a._same_dtype_products or b._same_dtype_products) and da.kind == db.kind == "f":
        raise TypeError(f"{op.name}: operands of dtypes {da} and {db}; products need one dtype (as in "
                        f"MXNet): cast one operand first, e.g. .astype('{da}') on the {db} one")


def _call_signature(ps: list, nin: int, seq: bool) -> inspect.Signature:
    """How an op is called, from its forward's parameters after ``xp``: array inputs positional
    only (a seq op takes them as one sequence), then the static parameters, which may also be
    given by position (see ``dispatch.bind``)."""
    P = inspect.Parameter
    var = [p for p in ps if p.kind is P.VAR_POSITIONAL]
    if var and not seq:  # every positional argument is an input: the forward's own signature
        return inspect.Signature(ps)
    if seq:
        inputs = [P(var[0].name, P.POSITIONAL_ONLY)]
        params = [p for p in ps if p.kind is not P.VAR_POSITIONAL]
    else:
        inputs = [p.replace(kind=P.POSITIONAL_ONLY) for p in ps[:nin]]
        params = ps[nin:]
    try:
        return inspect.Signature(inputs + [p.replace(kind=P.POSITIONAL_OR_KEYWORD) for p in params])
    except ValueError:  # a parameter without a default after one with: keep the forward's kinds
        return inspect.Signature(inputs + params)
