"""Capture and replay: a call's executed work, forward and backward, kept as a program over raw
buffers and replayed without Arrays, nodes or dispatch.

A ``Recorder`` is active (``mode.RECORDER``, counted in ``mode.ACTIVE``) while a compiled function
runs eagerly for a new signature. Every op application reaches ``dispatch.apply`` then (the fast
route steps aside while ``ACTIVE`` is set) and the backward runs its rules on Arrays, so every
computation on an array is an op the recorder sees. The engine and the dialects tell it the rest
where it happens: gradient writes (``write_buffer``, the PyTorch dialect's accumulation), in-place
updates (``Array._update``), random draws and other sources (``source``), and every place where
Python reads an array's value (``guard``: ``bool``, ``float``, ``item``...). What it cannot account
for makes the trace unsafe (``Recorder.refuse``): that call signature then runs eagerly, with the
reason kept for ``explain()``; a trace is never replayed on a guess.

Traces of one signature form a tree (``Branch``): the program up to a guard, then one branch per
value the guard took. ``Program`` generates one straight-line Python function per tree, with a
nested ``if`` per guard, ufunc ops writing into preallocated buffers reused by liveness, and a miss
(a guard value never seen) that returns ``MISS`` before any write the caller could not undo. A
gradient rule whose inputs are all constants of the trace runs once, when the program is built
(``Program._fold``).
"""
from __future__ import annotations

import functools
import linecache
import types
from weakref import ref as _weakref
from contextvars import ContextVar
from typing import Any, Callable, TypeVar, overload

import numpy

from .array import Array, grad_buffer
from . import site as _site
from . import rules
from .dispatch import as_array, bind
from ..backend import is_device_buffer, xp_of
from . import fusion
from .mode import ACTIVE, RECORDER, StateScope

__all__ = ["Recorder", "Branch", "Program", "MISS", "source", "guard", "refuse", "derived", "constant", "user_line"]

_ARR = numpy.ndarray


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: What a replay returns when a guard takes a value no trace has seen.
MISS = _Miss()


def user_line() -> str:
    """``file:line`` of the innermost frame outside tapegrad (the user's code that made the call)."""
    s = _site.here(1)
    return "<unknown>" if s is None else _site.resolve(*s).short


# -- what a step reads ------------------------------------------------------------------------
# A reference is ("s", slot) for a buffer of the program, or ("c", value) for a constant.

def _same(a: Any, b: Any) -> bool:
    """Structural equality of two step parameters (arrays by value)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, _ARR):
        return a.shape == b.shape and a.dtype == b.dtype and bool(numpy.array_equal(a, b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an object without a usable ==: unequal
        return False


class Param:
    """An array inside an op's parameters (an index), standing for slot ``slot``; ``cls``: the array
    class it is rebuilt as (None: a raw buffer)."""

    __slots__ = ("slot", "cls")

    def __init__(self, slot: int, cls: Any) -> None:
        self.slot = slot
        self.cls = cls

    def __eq__(self, other: object) -> bool:
        return type(other) is Param and other.slot == self.slot and other.cls is self.cls

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Param(s{self.slot})"


#: Ops whose result's shape follows their inputs' values (a replay checks it: Python may read it).
DATA_SHAPED = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "compress", "extract", "trim_zeros",
                         "masked_select", "boolean_mask"})


def _bool_index(params: dict) -> bool:
    """Whether parameters hold a boolean index (a mask: the result's length is its count)."""
    stack = list(params.values())
    while stack:
        v = stack.pop()
        d = getattr(v, "_data", v)
        if getattr(getattr(d, "dtype", None), "kind", None) == "b" and getattr(d, "ndim", 0) > 0:
            return True
        if type(v) in (tuple, list):
            stack.extend(v)
    return False


def _is_buffer(v: Any) -> bool:
    """Whether ``v`` is a raw buffer: a NumPy array or a CuPy one."""
    return type(v) is _ARR or is_device_buffer(v)


def _holds_array(v: Any) -> bool:
    if isinstance(v, Array) or _is_buffer(v):
        return True
    if type(v) in (tuple, list):
        return any(_holds_array(x) for x in v)
    if type(v) is dict:
        return any(_holds_array(x) for x in v.values())
    return False


def _has_param(v: Any) -> bool:
    out: list = []
    _params_slots(v, out)
    return bool(out)


def _params_slots(v: Any, out: list) -> None:
    if type(v) is Param:
        out.append(v.slot)
    elif type(v) in (tuple, list):
        for x in v:
            _params_slots(x, out)
    elif type(v) is dict:
        for x in v.values():
            _params_slots(x, out)


class Step:
    """One unit of replayed work. ``kind``: 'op' (an op's forward), 'coerce' (a dialect turning a
    plain operand into a buffer), 'const' (a buffer made by a pure source, kept), 'source' (a
    source run again each replay: random draws), 'write' (an in-place write into a buffer),
    'effect' (a Python attribute set, e.g. a new ``.grad``), 'guard' (Python read a value)."""

    __slots__ = ("kind", "fn", "ins", "params", "outs", "extra", "where")

    def __init__(self, kind: str, fn: Any, ins: tuple, params: Any, outs: tuple, extra: Any = None,
                 where: str = "") -> None:
        self.kind = kind
        self.fn = fn
        self.ins = ins
        self.params = params
        self.outs = outs
        self.extra = extra
        self.where = where

    def same(self, other: "Step") -> bool:
        """Whether two traces did the same thing here (guards: the same read, whatever its value)."""
        if self.kind != other.kind or self.outs != other.outs:
            return False
        if self.fn is not other.fn and not _equal_fn(self.fn, other.fn):
            return False
        if self.ins != other.ins and not _same(self.ins, other.ins):
            return False
        if self.kind == "guard":
            return self.params == other.params
        if self.kind in ("const", "write"):
            return _same(self.extra, other.extra)
        if self.kind == "input":
            return _same_how(self.params, other.params) and self.extra == other.extra
        if self.kind == "effect":
            return self.params == other.params and _same_how(self.extra, other.extra)
        return _same(self.params, other.params)

    def describe(self) -> str:
        name = getattr(self.fn, "name", None) or getattr(self.fn, "__name__", None) or str(self.fn)
        return f"{self.kind} {name} {self.where}".rstrip()


class Recorder:
    """The trace of one eager call: the steps it ran, over numbered buffers (slots)."""

    def __init__(self, args: list, fine: bool = False) -> None:
        self.steps: list[Step] = []
        self.fine = fine  # the gradient rules of elementwise ops recorded op by op (for fusion), not whole
        self.slot_of: dict[int, int] = {}  # id(buffer) -> slot
        self.keep: list = []  # every buffer met, so that ids stay unique while tracing
        self.nslots = 0
        self.carriers: list = []  # (weakref to an external array, where it was first read)
        self.refused: list[str] = []
        self.printed: list[str] = []
        self.mute = 0
        self._arg_arrays = {id(a): i for i, a in enumerate(args) if isinstance(a, Array)}
        self._arg_bufs = {id(a): i for i, a in enumerate(args) if isinstance(a, (_ARR, numpy.generic))}
        self._arg_array_bufs = {id(a._data): i for i, a in enumerate(args) if isinstance(a, Array)}
        self.args = args

    # -- slots ------------------------------------------------------------------------------
    def _new_slot(self, buf: Any) -> int:
        s = self.nslots
        self.nslots += 1
        self.slot_of[id(buf)] = s
        self.keep.append(buf)
        return s

    def ref(self, a: Any) -> tuple:
        """The reference of an operand: an Array's buffer, a raw buffer, or a constant. A buffer met
        for the first time is an input of the program, read where the call starts."""
        if isinstance(a, Array):
            buf = a._data
            s = self.slot_of.get(id(buf))
            if s is None:
                s = self._arg_input(buf)
                if s is None:
                    s = self._input(buf, ("ext", _weakref(a)))
                    self.carriers.append((_weakref(a), user_line()))
            return ("s", s)
        if isinstance(a, numpy.generic):  # a NumPy scalar a step returned, an argument, or a constant
            s = self.slot_of.get(id(a))
            if s is None:
                s = self._arg_input(a)
            if s is None and self._arg_bufs:
                # NumPy may have computed it from an argument's values, out of the recorder's sight
                self.refuse("a NumPy number the compiler did not see made is used with NumPy arguments "
                            "(compute it with tapegrad.numpy, or pass it as an argument)")
            return ("c", a) if s is None else ("s", s)
        if _is_buffer(a):
            s = self.slot_of.get(id(a))
            if s is None:
                s = self._arg_input(a)
                if s is None:
                    s = self._input(a, ("obj", _weakref(a)))
            return ("s", s)
        return ("c", a)

    def _arg_input(self, buf: Any) -> int | None:
        """A new input slot for ``buf`` when it is an argument's memory: an array argument's buffer
        (read as ``args[i]._data``; also when met raw, or carried by another array), a NumPy argument
        or number (``args[i]``); None otherwise."""
        j = self._arg_array_bufs.get(id(buf))
        if j is not None:
            return self._input(buf, ("arg", j, True))
        i = self._arg_bufs.get(id(buf))
        return None if i is None else self._input(buf, ("arg", i, False))

    def _input(self, buf: Any, how: tuple) -> int:
        if how[0] == "obj":  # a plain array read by identity: it must outlive the call (see finish)
            s = self.nslots
            self.nslots += 1
            self.slot_of[id(buf)] = s
            self.carriers.append((how[1], user_line()))
            self.steps.append(Step("input", "obj", (), how, (s,), None))
            return s
        s = self._new_slot(buf)
        meta = (buf.shape, buf.dtype) if how[0] in ("ext", "attr") else None
        self.steps.append(Step("input", how[0], (), how, (s,), meta))
        return s

    def input_how(self, slot: int) -> tuple | None:
        """How the program reads slot ``slot`` when it is one of its inputs (None otherwise)."""
        for st in self.steps:
            if st.kind == "input" and st.outs[0] == slot:
                return st.params
        return None

    def owner_how(self, owner: Array) -> tuple:
        """How a replay finds the Array ``owner``: the call's argument or the same object."""
        i = self._arg_arrays.get(id(owner))
        if i is not None:
            return ("arg", i, True)
        self.carriers.append((_weakref(owner), user_line()))
        return ("ext", _weakref(owner))

    def attr_ref(self, owner: Array, getter: Callable) -> tuple:
        """The reference of buffer ``getter(owner)`` (a variable's gradient buffer), an input read
        through its owner when the program has not met it yet."""
        buf = getter(owner)
        s = self.slot_of.get(id(buf))
        if s is None:
            s = self._input(buf, ("attr", self.owner_how(owner), getter))
        return ("s", s)

    def produced(self, buf: Any) -> int:
        """A new slot for a buffer a step made (a buffer met again later is that slot)."""
        return self._new_slot(buf)

    def known(self, buf: Any) -> bool:
        return id(buf) in self.slot_of

    # -- what the engine and the dialects report ---------------------------------------------
    def refuse(self, why: str) -> None:
        """This trace cannot be replayed, for the reason given (kept for ``explain``)."""
        if not self.mute:
            self.refused.append(f"{why} (at {user_line()})")

    def op(self, op: Any, cls: Any, args: tuple, datas: list, params: dict, res: Any) -> None:
        """An op application (from ``dispatch.apply``): inputs ``args`` with raw ``datas``, result ``res``."""
        if self.mute:
            return
        ins = []
        for a, d in zip(args, datas):
            if isinstance(a, Array) or d is a:
                ins.append(self.ref(a))
            else:  # a plain operand the dialect turned into a buffer: replayed the same way
                src = self.ref(a)
                s = self.produced(d)
                self.steps.append(Step("coerce", cls._coerce, (src,), None, (s,)))
                ins.append(("s", s))
        outs_ = (res,) if op.nout is None else res
        outs = tuple(self.produced(r._data) for r in outs_)
        xp = xp_of(datas) if datas else numpy
        raw_params = params
        params = self.template(params)
        meta = None
        fuse: tuple | None = None
        numbers = not params or (op.scalar is not None and all(type(v) in (int, float, bool) for v in params.values()))
        if ((op.ufunc is not None or op.scalar is not None) and numbers and op.nout is None and xp is numpy
                and type(outs_[0]._data) is _ARR and all(type(d) is _ARR or type(d) in (int, float, bool) for d in datas)):
            out = outs_[0]._data
            # for fusion: each operand's (shape, dtype, C-contiguous) or None, the result's shape and dtype
            ins_meta = tuple((d.shape, d.dtype, d.flags.c_contiguous) if type(d) is _ARR else None for d in datas)
            if op.ufunc is not None and not params:
                try:
                    dts = op.ufunc.resolve_dtypes(tuple(d.dtype if type(d) is _ARR else type(d) for d in datas) + (None,))
                except (TypeError, ValueError, AttributeError):
                    dts = None
                if dts is not None and dts[-1] == out.dtype:
                    meta = (out.shape, out.dtype)
                    fuse = ("ufunc", dts, ins_meta, out.shape, out.dtype, None)  # (with the ufunc's loop dtypes)
            elif op.scalar is not None:  # (with its parameters: plain numbers, constants of the kernel)
                fuse = ("scalar", None, ins_meta, out.shape, out.dtype, dict(params))
        check = None
        if op.name in DATA_SHAPED or _bool_index(raw_params):  # the result's shape follows the values
            check = tuple(r._data.shape for r in outs_)
        self.steps.append(Step("op", op, tuple(ins), params, outs, (cls, xp, meta, check, fuse), user_line()))

    def raw_op(self, op: Any, args: tuple, params: dict, out: Any) -> None:
        """An op run on raw buffers by the engine itself (no dialect, so no dtype policy)."""
        if self.mute:
            return
        if len(args) != op.nin and not op.variadic:
            args, params = bind(op, args, params)
        ins = tuple(self.ref(a) for a in args)
        outs = tuple(self.produced(o) for o in ((out,) if op.nout is None else out))
        self.steps.append(Step("op", op, ins, self.template(params), outs, (None, xp_of(args), None, None, None)))

    def vjp(self, op: Any, node: Any, g: Any, gin: tuple, offered: tuple | None = None) -> None:
        """A gradient rule run whole on raw buffers (a raw backward): ``gin = rule(node's values, g)``."""
        if self.mute:
            return
        args = []
        saved = node.saved
        for kind, key in op.vjp_spec:
            if kind == rules.G:
                args.append(("list", tuple(self._ref_or_none(x) for x in g)) if type(g) is list else self.ref(g))
            elif kind == rules.IN:
                args.append(self._ref_or_none(saved[key]))
            elif kind == rules.VARIN:
                args.append(("tuple", tuple(self._ref_or_none(x) for x in saved)))
            elif kind == rules.OUT:
                out = node.out
                args.append(("tuple", tuple(self.ref(o) for o in out)) if node.nout is not None else self.ref(out))
            elif kind == rules.PARAM:
                args.append(("p", self.template(node.params.get(key, op.defaults.get(key)))))
            elif kind == rules.NEEDS:
                args.append(("c", node.needs if op.variadic else tuple(p is not None for p in node.parents)))
            elif kind == rules.SHAPES:
                args.append(("c", node.shapes))
            elif kind == rules.OUTS:  # the variables' own gradient buffers the engine offered, or None
                if offered is None:
                    args.append(("c", (None,) * len(node.parents)))
                else:
                    args.append(("tuple", tuple(("c", None) if b is None else
                                                self.attr_ref(node.parents[i].var(), grad_buffer)
                                                for i, b in enumerate(offered))))
            else:
                args.append(("c", node.dtypes))
        outs = tuple(None if x is None else self.produced(x) for x in gin)
        self.steps.append(Step("vjp", op, tuple(args), "seq" if len(gin) > 1 else None, outs, op.vjp_fn, ""))

    def update(self, fn: Callable, objects: tuple, arrays: tuple, writes: tuple) -> None:
        """``fn(*objects, *buffers of arrays)`` runs, writing into the buffers of ``arrays[i]`` for ``i`` in
        ``writes`` (an optimizer's update: replayed whole, on the same objects)."""
        if self.mute:
            return
        ins = tuple(self.ref(a) for a in arrays)
        self.steps.append(Step("update", fn, ins, objects, (), writes, user_line()))

    def call(self, fn: Callable, args: tuple, results: tuple) -> None:
        """``results = fn(*args)`` on raw buffers (engine helpers with branches of their own)."""
        if self.mute:
            return
        ins = tuple(self._ref_or_none(a) for a in args)
        outs = tuple(None if r is None else self.produced(r) for r in results)
        meta = None
        if all(a is None or type(a) is _ARR for a in (*args, *results)):  # (shapes and dtypes, for fusion)
            meta = tuple(None if a is None else (a.shape, a.dtype) for a in (*args, *results))
        self.steps.append(Step("call", fn, ins, None, outs, meta))

    def template(self, v: Any) -> Any:
        """``v`` (an op's parameters, or one of them) with every array inside replaced by a ``Param``
        naming its slot: an index array is data, read from the program at each replay."""
        if isinstance(v, Array):
            return Param(self.ref(v)[1], type(v))
        if _is_buffer(v):
            return Param(self.ref(v)[1], None)
        if type(v) is dict:
            return {k: self.template(x) for k, x in v.items()} if any(_holds_array(x) for x in v.values()) else v
        if type(v) in (tuple, list):
            return type(v)(self.template(x) for x in v) if _holds_array(v) else v
        return v

    def _ref_or_none(self, a: Any) -> tuple:
        return ("c", None) if a is None else self.ref(a)

    def constant(self, buf: Any) -> None:
        """A buffer made by a pure source (the same every call for the same signature)."""
        if not self.mute:
            s = self.produced(buf)
            self.steps.append(Step("const", None, (), None, (s,), buf.copy()))

    def source(self, fn: Callable, args: tuple, kwargs: dict, res: Any) -> None:
        """An array made by ``fn(*args, **kwargs)`` from outside the program (a random draw): run again
        at every replay."""
        if self.mute:
            return
        for v in (*args, *kwargs.values()):
            if isinstance(v, Array) and (self.known(v._data) or True):
                self.refuse(f"{getattr(fn, '__name__', fn)} with array arguments cannot be replayed")
                return
        outs = tuple(self.produced(r._data if isinstance(r, Array) else r)
                     for r in (res if isinstance(res, tuple) else (res,)))
        self.steps.append(Step("source", fn, (), (args, kwargs), outs, isinstance(res, tuple), user_line()))

    def copy(self, src: Any, new: Any) -> None:
        """``new`` is a copy of buffer ``src`` made outside an op."""
        if not self.mute:
            r = self.ref(src)
            s = self.produced(new)
            self.steps.append(Step("write", "copy", (r,), None, (s,)))

    def write(self, kind: str, target: Any, value: Any, extra: Any = None) -> None:
        """An in-place write into ``target`` (a buffer, an Array, or a reference from ``attr_ref``):
        ``kind`` 'set' (``t[...] = v``), 'iadd' (``t += v``), 'into' (``extra.forward_into(t, v)``),
        'item' (``t[extra] = v``)."""
        if self.mute:
            return
        t = target if type(target) is tuple else self.ref(target)
        v = self.ref(value)
        meta = None  # for fusion: the target's and the value's (shape, dtype, C-contiguous)
        tb = getattr(target, "_data", target)
        vb = getattr(value, "_data", value)
        if kind in ("into", "iadd") and type(tb) is _ARR and (type(vb) is _ARR or type(vb) in (int, float, bool)):
            meta = ((tb.shape, tb.dtype, tb.flags.c_contiguous),
                    (vb.shape, vb.dtype, vb.flags.c_contiguous) if type(vb) is _ARR else None)
        self.steps.append(Step("write", kind, (t, v), meta, (), extra, user_line()))

    def effect(self, obj: Any, attr: str, make: Callable, value: Any) -> None:
        """``obj.<attr> = make(buffer)`` ran (``value``: that buffer, or None for ``obj.<attr> = None``)."""
        if self.mute:
            return
        v = self.ref(value) if value is not None else ("c", None)
        how = self.owner_how(obj) if isinstance(obj, Array) else ("obj", obj)
        self.steps.append(Step("effect", make, (v,), attr, (), how, user_line()))

    def guard(self, kind: str, buf: Any, value: Any) -> None:
        """Python read the value of ``buf`` (``kind``: 'bool', 'scalar' or 'array'); a replay checks it."""
        if self.mute:
            return
        r = self.ref(buf)
        self.steps.append(Step("guard", kind, (r,), kind, (), value, user_line()))

    def print_seen(self) -> None:
        if not self.mute:
            self.printed.append(user_line())

    # -- at the end ---------------------------------------------------------------------------
    def finish(self) -> None:
        """Refuse a trace that read an array whose owner is gone: made during the call by code the
        recorder did not see, so its values would be stale at replay."""
        for ref, where in self.carriers:
            if ref() is None:
                self.refused.append(f"an array made by code the compiler cannot replay was read (first at {where})")
                return
        for st in self.steps:  # the replay keeps what it reads alive, as a closure would
            if st.kind == "input":
                st.params = _strong(st.params)
            elif st.kind == "effect":
                st.extra = _strong(st.extra)


def _strong(how: tuple) -> tuple:
    if how[0] in ("ext", "obj"):
        return (how[0], how[1]())
    if how[0] == "attr":
        return ("attr", _strong(how[1]), how[2])
    return how


_F = TypeVar("_F", bound=Callable[..., Any])


def source(fn: _F) -> _F:
    """Mark a function that makes arrays from outside the program (random draws): under capture,
    it runs again at every replay, drawing from the generator as an eager call would."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec = RECORDER.get()
        if rec is None or rec.mute:
            return fn(*args, **kwargs)
        res = _unseen(rec, fn, args, kwargs)
        rec.source(fn, args, kwargs, res)
        return res
    return wrapper  # type: ignore[return-value]


def _unseen(rec: Recorder, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """``fn(*args, **kwargs)`` with the recorder deaf to what runs inside (the caller reports the call)."""
    rec.mute += 1
    try:
        return fn(*args, **kwargs)
    finally:
        rec.mute -= 1


def derived(fn: Callable, src: Any, out: Any = None, *params: Any) -> Any:
    """``out`` (computed here as ``fn(src, *params)`` when not given), a buffer made from buffer ``src``
    outside an op (a dialect's copy or view of an op's result): under capture, one step more."""
    if out is None:
        out = fn(src, *params)
    rec = RECORDER.get()
    if rec is not None:
        rec.call(_Derived(fn, params), (src,), (out,))
    return out


class _Derived:
    """``(fn(src, *params),)``: how a replay recomputes a buffer reported by ``derived``."""

    __slots__ = ("fn", "params")

    def __init__(self, fn: Callable, params: tuple) -> None:
        self.fn = fn
        self.params = params

    def __call__(self, src: Any) -> tuple:
        return (self.fn(src, *self.params),)

    def __eq__(self, other: object) -> bool:
        return type(other) is _Derived and other.fn is self.fn and _same(other.params, self.params)

    __hash__ = None  # type: ignore[assignment]


def refuse(why: str) -> None:
    """Make the call being traced (if any) run eagerly, for the reason given."""
    rec = RECORDER.get()
    if rec is not None:
        rec.refuse(why)


@overload
def constant(fn: _F, *, like: bool = ...) -> _F: ...
@overload
def constant(fn: None = ..., *, like: bool = ...) -> Callable[[_F], _F]: ...


def constant(fn: Any = None, *, like: bool = False) -> Any:
    """Mark a function that makes arrays from Python values alone (``zeros``, ``arange``, a tensor from a
    literal list): under capture its result is a constant of the program when no argument holds an
    array (``like``: array arguments give only a shape and dtype)."""
    if fn is None:
        return lambda f: constant(f, like=like)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        rec = RECORDER.get()
        if rec is None or rec.mute:
            return fn(*args, **kwargs)
        res = _unseen(rec, fn, args, kwargs)
        if like or not _holds_values(args, kwargs):
            for r in (res if isinstance(res, (list, tuple)) else (res,)):
                if isinstance(r, Array) and not rec.known(r._data) and not any(r is a for a in args):
                    rec.constant(r._data)  # (a new array: one the program already knows stays what it is)
        elif (args and isinstance(args[0], (Array, _ARR)) and not _holds_values(args[1:], kwargs)
              and isinstance(res, Array) and res is not args[0] and not rec.known(res._data)):
            # an array made from one array's values (torch.tensor(x), np.array(x)): made again at each replay
            src = args[0]._data if isinstance(args[0], Array) else args[0]
            rec.call(_Remake(fn, type(args[0]) if isinstance(args[0], Array) else None, args[1:], kwargs),
                     (src,), (res._data,))
        return res
    return wrapper


class _Remake:
    """``(fn(src as its array class, *args, **kwargs)._data,)``: an array made from another's values,
    made again by a replay."""

    __slots__ = ("fn", "cls", "args", "kwargs")

    def __init__(self, fn: Callable, cls: Any, args: tuple, kwargs: dict) -> None:
        self.fn, self.cls, self.args, self.kwargs = fn, cls, args, kwargs

    def __call__(self, src: Any) -> tuple:
        with StateScope(raw=False):  # (the dialect's own function, on its own arrays)
            a = src if self.cls is None else self.cls._make(src)
            return (self.fn(a, *self.args, **self.kwargs)._data,)

    def __eq__(self, other: object) -> bool:
        return (type(other) is _Remake and other.fn is self.fn and other.cls is self.cls
                and _same(other.args, self.args) and _same(other.kwargs, self.kwargs))

    __hash__ = None  # type: ignore[assignment]


def _holds_values(args: tuple, kwargs: dict) -> bool:
    """Whether arguments hold an array (whose values the made array could carry)."""
    stack = [*args, *kwargs.values()]
    while stack:
        v = stack.pop()
        if isinstance(v, Array) or _is_buffer(v) or hasattr(v, "__array__"):
            return True
        if isinstance(v, (list, tuple)):
            stack.extend(v)
    return False


def guard(kind: str, buf: Any, value: Any) -> None:
    """Report that Python read ``value`` from ``buf`` (no-op outside capture)."""
    rec = RECORDER.get()
    if rec is not None:
        rec.guard(kind, buf, value)


class Capturing:
    """``with Capturing(rec):`` — the recorder active for this block (and ACTIVE counted)."""

    __slots__ = ("rec", "_tokens")

    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def __enter__(self) -> Recorder:
        self._tokens = (RECORDER.set(self.rec), ACTIVE.set(ACTIVE.get() + 1))
        return self.rec

    def __exit__(self, *exc: object) -> None:
        ACTIVE.reset(self._tokens[1])
        RECORDER.reset(self._tokens[0])


# -- the tree of traces ----------------------------------------------------------------------

class Branch:
    """Steps up to (and including) a guard, then one branch per value the guard took; a branch that
    ends the call holds the outputs."""

    __slots__ = ("steps", "children", "end")

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.children: list[tuple[Any, Branch]] = []  # (guard value, branch)
        self.end: Any = None  # (output references, output tree) where the call ends here

    @classmethod
    def of(cls, steps: list[Step], end: Any) -> "Branch":
        """A chain of branches for one trace."""
        cut = [i for i, s in enumerate(steps) if s.kind == "guard"]
        if not cut:
            b = cls(steps)
            b.end = end
            return b
        i = cut[0]
        b = cls(steps[:i + 1])
        b.children.append((steps[i].extra, cls.of(steps[i + 1:], end)))
        return b

    def merge(self, steps: list[Step], end: Any) -> bool:
        """Add a trace to this tree; False when it does not follow it (it did something else before a
        guard it shares)."""
        n = len(self.steps)
        if len(steps) < n or not all(a.same(b) for a, b in zip(self.steps, steps[:n])):
            return False
        if not self.steps or self.steps[-1].kind != "guard":
            return len(steps) == n and self.end is not None and _same_end(self.end, end)
        value = steps[n - 1].extra
        for v, child in self.children:
            if _same(v, value):
                return child.merge(steps[n:], end)
        self.children.append((value, Branch.of(steps[n:], end)))
        return True

    def paths(self) -> int:
        return 1 if not self.children else sum(c.paths() for _, c in self.children)


def _equal_fn(a: Any, b: Any) -> bool:
    """Two callables (or kinds) are the same (a bound method is made anew at each attribute read)."""
    if type(a) is not type(b) or not isinstance(a, (str, types.MethodType, _Derived, _Remake)):
        return False
    return bool(a == b)


def _same_how(a: tuple, b: tuple) -> bool:
    """Whether two inputs are read the same way (arguments by position, the rest by identity)."""
    if a[0] != b[0]:
        return False
    if a[0] == "attr":
        return _same_how(a[1], b[1]) and a[2] is b[2]
    return a[1] is b[1] or (a[0] == "arg" and a[1] == b[1])


def _same_end(a: Any, b: Any) -> bool:
    return a[1] == b[1] and len(a[0]) == len(b[0]) and all(x[0] == y[0] and (x[0] != "s" or x[1] == y[1])
                                                          for x, y in zip(a[0], b[0]))


# -- code generation --------------------------------------------------------------------------

#: A ufunc's result is written into a buffer kept between calls when it is at most this large, and
#: while the kept buffers of one program stay within ``KEEP_TOTAL``: what allocating costs is felt
#: on small arrays, what keeping costs on large ones.
KEEP_EACH = 1 << 16
KEEP_TOTAL = 1 << 24


#: The code of each kind of in-place write (``t``: the target, ``v``: the value, ``o``: a copy's
#: slot, ``x``: the op writing, or the index).
_WRITES = {"copy": "{o} = {t}.copy()", "set": "{t}[...] = {v}", "iadd": "{t} += {v}", "into": "{x}({t}, {v})",
           "item": "{t}[{x}] = {v}"}
#: The value each kind of guard reads from its array ``x``.
_GUARDS = {"bool": "bool({x})", "all": "bool({x}) if {x}.size == 1 else bool({x}.all())", "any": "bool({x}.any())",
           "scalar": "{x}.reshape(()).item()", "array": "{x}"}


def _ufunc_out(s: Step) -> bool:
    """Whether an op step replays as its declared ufunc writing into a buffer kept between calls: the
    forward is the ufunc on host buffers and numbers, and the ufunc's own result type is the traced
    one (the dialect's dtype policy changed nothing)."""
    return s.kind == "op" and s.extra[2] is not None


class Program:
    """The replay of a tree of traces, as one generated Python function ``replay(args) -> outputs``,
    or ``MISS`` when a guard (or an input's shape or dtype) took a value no trace has seen."""

    def __init__(self, root: Branch, fuse: bool = False) -> None:
        self.root = root
        self.fuse = fuse
        self.kernels: list = []
        self.unfused: list[str] = []  # why a run of elementwise steps got no kernel
        self.env: dict[str, Any] = {"MISS": MISS, "ndarray": _ARR, "array_equal": numpy.array_equal, "SEQ": (tuple, list), "asarray": numpy.asarray,
                                    "as_array": as_array, "broadcast_to": numpy.broadcast_to, "empty": numpy.empty,
                                    "may_share": numpy.may_share_memory, "count_nonzero": numpy.count_nonzero}
        self.lines: list[str] = []
        self.prealloc_bytes = 0
        self._n = 0
        self.counts = {"op": 0, "ufunc_out": 0, "fused": 0, "source": 0, "write": 0, "guard": 0, "effect": 0, "input": 0,
                       "folded": 0}
        self._escapes: set = set()
        self._pinned: set = set()
        self._noreuse: set = set()
        #: what a replay must be able to undo when it misses: buffers written (references to inputs)
        #: and attributes set, (object, name)
        self.undo_writes: list = []
        self.undo_effects: list = []
        self.refused: str | None = None
        self._input_how: dict = {}
        self._scan(root)
        self._check_undo(root)
        self._steps: dict[int, list] = {}  # id(branch) -> its steps with constant rules folded (``_fold``)
        self._fold(root, {})
        self.lines.append("def replay(args):")
        self._branch(root, 1, {})
        src = "\n".join(self.lines)
        self.source = src
        name = f"<tapegrad.compile replay {id(self):x}>"
        linecache.cache[name] = (len(src), None, [ln + "\n" for ln in self.lines], name)
        exec(compile(src, name, "exec"), self.env)
        self.run: Callable = self.env["replay"]

    def _const(self, value: Any) -> str:
        self._n += 1
        name = f"K{self._n}"
        self.env[name] = value
        return name

    def _scan(self, b: Branch) -> None:
        """Slots that leave the program (outputs, effects) or are written into, and the slots whose
        memory they may share: none of them gets a buffer kept between calls."""
        for _, c in b.children:
            self._scan(c)
        if b.end is not None:
            self._escapes.update(r[1] for r in b.end[0] if r[0] == "s")
        for s in b.steps:
            if s.kind == "input":
                self._input_how.setdefault(s.outs[0], s.params)
            if s.kind == "effect":
                self._escapes.update(r[1] for r in s.ins if r[0] == "s")
            elif s.kind == "write" and s.fn != "copy":
                self._pinned.add(s.ins[0][1])
            elif s.kind == "update":
                self._pinned.update(s.ins[i][1] for i in s.extra)
                self._escapes.update(_slots(s.ins))  # (the update may keep what it reads)
        for s in reversed(b.steps):
            # a step that is not a ufunc may return a view of its inputs: they share its fate, and
            # their buffers are never reused while it may be alive
            if s.kind in ("op", "coerce", "source", "vjp", "call") and not _ufunc_out(s):
                ins = _step_slots(s)
                self._noreuse.update(ins)
                if set(s.outs) & (self._escapes | self._pinned):
                    self._escapes.update(ins)

    def _fold(self, b: Branch, known: dict) -> None:
        """Constant folding: a gradient rule (or a helper step of the backward) whose inputs are all
        constants of the trace gives the same buffers at every replay, so it runs once, here, and its
        results become constants (in W1, the sum's rule spreading the head gradient, ones, over the
        input's shape). ``known``: the constant slots so far and their values. Not folded: a step that
        reads or makes a slot something writes into or that leaves the program, whose result is not a
        host buffer or views more than ``KEEP_EACH`` bytes, or that fails."""
        steps = []
        folded = 0
        for s in b.steps:
            if s.kind == "const" and s.outs[0] not in self._pinned:
                known[s.outs[0]] = s.extra
            elif s.kind in ("vjp", "call") and any(o is not None for o in s.outs):
                vs = self._folded(s, known)
                if vs is not None:
                    folded += 1
                    for o, v in zip(s.outs, vs):
                        if o is not None:
                            known[o] = v
                            steps.append(Step("const", None, (), None, (o,), v, s.where))
                    continue
            steps.append(s)
        self.counts["folded"] += folded
        if folded:  # constants nothing reads any more (those a folded step read) are dropped
            used = self._uses(b, steps)
            steps = [s for s in steps if s.kind != "const" or s.outs[0] in used]
            self._steps[id(b)] = steps  # (the tree keeps the traced steps: later traces are merged into it)
        for _, c in b.children:
            self._fold(c, dict(known))

    def _folded(self, s: Step, known: dict) -> list | None:
        """The results, one per output slot, of rule step ``s`` run on the constants ``known``; None when
        it is not folded."""
        slots = _slots(s.ins)
        outs = [o for o in s.outs if o is not None]
        if not all(r in known for r in slots) or any(r in self._pinned or r in self._escapes for r in (*slots, *outs)):
            return None
        try:
            args = [_value(r, known) for r in s.ins]
            with StateScope(raw=True):  # (as the replay runs it)
                r = (s.extra if s.kind == "vjp" else s.fn)(*args)
            # the results as ``_branch`` reads them
            if s.params == "seq":
                if len(r) != len(s.outs):
                    return None
                vs = list(r)
            elif s.kind == "vjp" and len(s.outs) == 1:
                vs = [r[0] if type(r) in (tuple, list) else r]
            else:
                if s.kind == "vjp" and not isinstance(r, (tuple, list)):
                    r = (r,)
                vs = [r[j] if o is not None else None for j, o in enumerate(s.outs)]
        except Exception:  # (the replay would meet the same failure: leave the step to it)
            return None
        for o, v in zip(s.outs, vs):  # (small host buffers, by the memory they view; NumPy's numbers)
            if o is not None and not (isinstance(v, numpy.generic) or (
                    type(v) is numpy.ndarray and (v if v.base is None else v.base).nbytes <= KEEP_EACH)):
                return None
        return vs

    def _check_undo(self, b: Branch) -> None:
        """Collect the writes and effects that may come before a miss (a guard, a shape check, or the
        input checks at the top of a later branch): a replay saves what they overwrite, to restore it
        when it misses; what cannot be restored makes the program refuse."""
        pending = []
        missed_after = []  # the pending steps some miss point follows
        for s in b.steps:
            if (s.kind == "write" and s.fn != "copy") or s.kind in ("update", "effect", "source"):
                pending.append(s)
            elif s.kind == "op" and s.extra[3] is not None:
                missed_after = list(pending)
        if b.children:
            missed_after = pending
        pending = missed_after
        if pending:
            for s in pending:
                if s.kind in ("write", "update"):
                    for t in ((0,) if s.kind == "write" else s.extra):
                        how = self._input_how.get(s.ins[t][1])
                        if how is not None:
                            self.undo_writes.append(how)
                        else:  # a buffer the program made, maybe a view of an input: not undoable
                            self.refused = ("an in-place write through a view comes before a branch on data; "
                                            "it cannot be undone when the branch goes another way")
                    if s.kind == "update":
                        self.refused = ("an optimizer step comes before a branch on data; its state cannot be "
                                        "restored when the branch goes another way")
                elif s.kind == "effect":
                    self.undo_effects.append((s.extra, s.params))
                else:
                    self.refused = (f"a random draw ({s.describe()}) comes before a branch on data; the compiler "
                                    "cannot undo it when the branch goes another way")
        for _, c in b.children:
            self._check_undo(c)

    def _arg(self, r: tuple) -> str:
        if r[0] == "s":
            return f"s{r[1]}"
        if r[0] in ("list", "tuple"):
            inner = ", ".join(self._arg(x) for x in r[1])
            return f"[{inner}]" if r[0] == "list" else f"({inner}{',' if len(r[1]) == 1 else ''})"
        if r[0] == "p":
            return self._pcode(r[1])
        v = r[1]
        if v is None or type(v) in (bool, int) or (type(v) is float and numpy.isfinite(v)):
            return repr(v)
        return self._const(v)

    def _pcode(self, v: Any) -> str:
        """Code that rebuilds a parameter, its arrays read from their slots."""
        if type(v) is Param:
            return f"s{v.slot}" if v.cls is None else f"{self._const(v.cls)}._make(s{v.slot})"
        if type(v) in (tuple, list) and _has_param(v):
            inner = "".join(self._pcode(x) + ", " for x in v)
            return f"({inner})" if type(v) is tuple else f"[{inner}]"
        if type(v) is dict and _has_param(v):
            return "{" + ", ".join(f"{self._const(k)}: {self._pcode(x)}" for k, x in v.items()) + "}"
        return self._arg(("c", v))

    def _how(self, how: tuple) -> str:
        """Code that reads an input where the replay starts."""
        kind = how[0]
        if kind == "arg":
            return f"args[{how[1]}]._data" if how[2] else f"args[{how[1]}]"
        if kind == "ext":
            return f"{self._const(how[1])}._data"
        if kind == "obj":
            return self._const(how[1])
        owner = how[1]
        if owner[0] == "arg":
            return f"{self._const(how[2])}(args[{owner[1]}])"
        return f"{self._const(how[2])}({self._const(owner[1])})"

    def _owner(self, how: tuple) -> str:
        """Code for the object an effect sets an attribute of: the call's argument, or the same object."""
        return f"args[{how[1]}]" if how[0] == "arg" else self._const(how[1])

    def _keep(self, slot: int, meta: tuple, pool: dict, owned: dict) -> str | None:
        """The name of a buffer kept between calls for the result ``slot`` (shape and dtype ``meta``), from
        the pool of those free at this point or new; None when the result must be new memory (it leaves
        the program, is written into, is large, or the kept buffers are full)."""
        if slot in self._escapes or slot in self._pinned:
            return None
        nbytes = int(numpy.prod(meta[0], dtype=numpy.int64)) * meta[1].itemsize
        free = pool.get(meta)
        if free:
            bname = free.pop()
        elif nbytes > KEEP_EACH or self.prealloc_bytes + nbytes > KEEP_TOTAL:
            return None
        else:
            buf = numpy.empty(meta[0], meta[1])
            self.prealloc_bytes += buf.nbytes
            bname = self._const(buf)
        if slot not in self._noreuse:
            owned[slot] = (bname, meta)
        return bname

    def _uses(self, b: Branch, steps: list | None = None) -> set:
        """The slots read in branch ``b`` (by ``steps`` in place of its own, when given) and below it."""
        used: set = set()
        for s in b.steps if steps is None else steps:
            used.update(_step_slots(s))
        if b.end is not None:
            used.update(r[1] for r in b.end[0] if r[0] == "s")
        for _, c in b.children:
            used |= self._uses(c)
        return used

    def _branch(self, b: Branch, depth: int, pool: dict) -> None:
        L = self.lines
        pad = "    " * depth
        if depth > 60:
            raise RecursionError("too many nested guards")
        later: set = set()
        for _, c in b.children:
            later |= self._uses(c)
        if b.end is not None:
            later.update(r[1] for r in b.end[0] if r[0] == "s")
        steps = self._steps.get(id(b), b.steps)
        if self.fuse:
            steps, kernels = fusion.plan(steps, later, _step_slots, Step, self.unfused)
            self.kernels.extend(kernels)
        last: dict[int, int] = {}
        for i, s in enumerate(steps):
            for r in _step_slots(s):
                last[r] = i
        pool = {k: list(v) for k, v in pool.items()}
        owned: dict[int, Any] = {}
        # the branch's inputs first, read as the call found them (and checked: shape and dtype)
        for s in steps:
            if s.kind == "input":
                self.counts["input"] += 1
                o = s.outs[0]
                L.append(f"{pad}s{o} = {self._how(s.params)}")
                if s.extra is not None:
                    shape, dtype = s.extra
                    L.append(f"{pad}if s{o} is None or s{o}.shape != {shape!r} or s{o}.dtype != {self._const(dtype)}: return MISS")
        for i, s in enumerate(steps):
            k = s.kind
            a = [self._arg(r) for r in s.ins]
            if k == "fused":
                kern = s.extra
                self.counts["fused"] += 1
                self.counts["op"] += 1
                kshape = kern.shape if kern.shape != () else (1,)
                args = [f"broadcast_to({x}, {kshape!r})" if bc else x for x, (_, bc) in zip(a, kern.ins)]  # (then the targets)
                for t in kern.targets:  # (an input that may share a target's memory is read before any write)
                    self.counts["write"] += 1
                    args = [x if r[0] != "s" else f"({x} if not may_share({x}, s{t}) else {x}.copy())"
                            for x, (r, _) in zip(args, kern.ins)]
                for o, dt in kern.outs:
                    meta = (kern.shape, dt)
                    bname = self._keep(o, meta, pool, owned)
                    L.append(f"{pad}s{o} = {bname or f'empty({kern.shape!r}, {self._const(dt)})'}")
                    args.append(f"s{o}" if kern.shape != () else f"s{o}.reshape(1)")
                args += [f"s{t}" if kern.shape != () else f"s{t}.reshape(1)" for t in kern.targets]
                L.append(f"{pad}{self._const(kern.fn)}({', '.join(args)})")
            elif k == "op":
                self.counts["op"] += 1
                op = s.fn
                outs = s.outs
                cls, xp, meta, check, _ = s.extra
                nbytes = 0 if meta is None else int(numpy.prod(meta[0], dtype=numpy.int64)) * meta[1].itemsize
                if meta is not None and meta[0] != () and (nbytes > KEEP_EACH or outs[0] in self._escapes
                                                           or outs[0] in self._pinned):
                    # a large result (or one that leaves): the ufunc itself, into new memory as eager
                    L.append(f"{pad}s{outs[0]} = {self._const(op.ufunc)}({', '.join(a)})")
                elif meta is not None and (bname := self._keep(outs[0], meta, pool, owned)) is not None:
                    L.append(f"{pad}s{outs[0]} = {self._const(op.ufunc)}({', '.join(a)}, out={bname})")
                    self.counts["ufunc_out"] += 1
                else:
                    f = self._const(op._forward)
                    x = self._const(xp)
                    kws = "".join(f", {kk}={self._pcode(vv)}" for kk, vv in s.params.items())
                    tgt = ", ".join(f"s{o}" for o in outs)
                    comma = "," if op.nout is not None and len(outs) == 1 else ""
                    L.append(f"{pad}{tgt}{comma} = {f}({x}, {', '.join(a)}{kws})")
                    for o in outs:
                        if xp is numpy:  # (NumPy gives numbers for 0-d results)
                            L.append(f"{pad}if type(s{o}) is not ndarray: s{o} = asarray(s{o})")
                        else:
                            L.append(f"{pad}if type(s{o}) is not ndarray: s{o} = as_array({x}, s{o})")
                    if cls is not None and cls._promote is not None:
                        p = self._const(cls._promote)
                        kwd = self._pcode(dict(s.params)) if _has_param(s.params) else self._const(dict(s.params))
                        for o in outs:
                            L.append(f"{pad}s{o} = {p}(s{o}, [{', '.join(a)}], {kwd})")
                if check is not None:  # a shape that follows the values: Python may have read it
                    for o, shape in zip(outs, check):
                        L.append(f"{pad}if s{o}.shape != {shape!r}: return MISS")
            elif k in ("vjp", "call"):
                self.counts["op"] += 1
                f = self._const(s.extra if k == "vjp" else s.fn)
                if s.params == "seq":  # the rule returned a tuple or list of this length when traced
                    tgt = ", ".join("_" if o is None else f"s{o}" for o in s.outs)
                    L.append(f"{pad}{tgt}{',' if len(s.outs) == 1 else ''} = {f}({', '.join(a)})")
                elif k == "vjp" and len(s.outs) == 1:  # one input: the rule returns its cotangent or a 1-tuple
                    L.append(f"{pad}r = {f}({', '.join(a)})")
                    if s.outs[0] is not None:
                        L.append(f"{pad}s{s.outs[0]} = r[0] if type(r) in SEQ else r")
                else:
                    if k == "call" and getattr(s.fn, "fusion", None) == "repair" and s.extra is not None:
                        # the singular-op check, inline: the rule's cotangents as they are where the incoming
                        # one has no zero (the common case), else the repair (``engine._zero_stays_zero_raw``)
                        L.append(f"{pad}r = ({''.join(x + ', ' for x in a[1:])}) if "
                                 f"{_no_zero_code(a[0], s.extra[0][0])} else {f}({', '.join(a)})")
                    else:
                        L.append(f"{pad}r = {f}({', '.join(a)})")
                    if k == "vjp":
                        L.append(f"{pad}if not isinstance(r, (tuple, list)): r = (r,)")
                    for j, o in enumerate(s.outs):
                        if o is not None:
                            L.append(f"{pad}s{o} = r[{j}]")
            elif k == "update":
                self.counts["write"] += 1
                objs = ", ".join(self._const(o) for o in s.params)
                L.append(f"{pad}{self._const(s.fn)}({objs}, {', '.join(a)})")
            elif k == "coerce":
                L.append(f"{pad}s{s.outs[0]} = {self._const(s.fn)}({a[0]})")
            elif k == "const":
                cn = self._const(s.extra)
                fresh = s.outs[0] in self._pinned or s.outs[0] in self._escapes  # (a caller may write into it)
                L.append(f"{pad}s{s.outs[0]} = {cn}.copy()" if fresh else f"{pad}s{s.outs[0]} = {cn}")
            elif k == "source":
                self.counts["source"] += 1
                f = self._const(s.fn)
                args, kwargs = s.params
                ca, ck = self._const(args), self._const(kwargs)
                tgt = ", ".join(f"s{o}" for o in s.outs)
                if s.extra:
                    L.append(f"{pad}{tgt}, = [getattr(r, '_data', r) for r in {f}(*{ca}, **{ck})]")
                else:
                    L.append(f"{pad}{tgt} = {f}(*{ca}, **{ck})")
                    L.append(f"{pad}{tgt} = getattr({tgt}, '_data', {tgt})")
            elif k == "write":
                self.counts["write"] += 1
                extra = s.extra.forward_into if s.fn == "into" else s.extra
                L.append(pad + _WRITES[s.fn].format(t=a[0], v=a[1] if len(a) > 1 else "", o=f"s{s.outs[0]}" if s.outs
                                                   else "", x=self._const(extra) if extra is not None else ""))
            elif k == "effect":
                self.counts["effect"] += 1
                val = "None" if a[0] == "None" else f"{self._const(s.fn)}({a[0]})"
                L.append(f"{pad}{self._owner(s.extra)}.{s.params} = {val}")
            elif k == "guard":
                self.counts["guard"] += 1
            dead = [r for r in _step_slots(s) if last.get(r) == i and r not in later]
            dead += [o for o in s.outs if o is not None and last.get(o, -1) <= i and o not in later]
            for r in dict.fromkeys(dead):  # buffers whose last reader this was: freed, as eager frees them
                if r in owned:  # (a kept buffer goes back to the pool)
                    bname, key = owned.pop(r)
                    pool.setdefault(key, []).append(bname)
                if k != "guard":  # (a guard reads its value after the loop)
                    L.append(f"{pad}del s{r}")
            if k in ("vjp", "call") and s.params != "seq":
                L.append(f"{pad}del r")  # (the rule's tuple would keep its cotangents alive)
        if steps and steps[-1].kind == "guard":
            g = steps[-1]
            x = self._arg(g.ins[0])
            L.append(f"{pad}g = {_GUARDS[g.fn].format(x=x)}")
            first = True
            for value, child in b.children:
                if g.fn == "array":
                    cond = f"array_equal(g, {self._const(value)})"
                elif type(value) in (bool, int) or value is None:
                    cond = f"g == {value!r}"
                else:
                    cond = f"g == {self._const(value)}"
                L.append(f"{pad}{'if' if first else 'elif'} {cond}:")
                first = False
                self._branch(child, depth + 1, pool)
            L.append(f"{pad}return MISS")
        else:
            refs = ", ".join(self._arg(r) for r in b.end[0])
            L.append(f"{pad}return ({self._const(b.end[1])}, ({refs}{',' if len(b.end[0]) == 1 else ''}))")


def _step_slots(s: Step) -> list:
    """The slots a step reads: its references, and for an op the arrays inside its parameters."""
    out = _slots(s.ins)
    if s.kind == "op" and type(s.params) is dict:
        _params_slots(s.params, out)
    return out


def _no_zero_code(x: str, shape: tuple) -> str:
    """Code that says whether host buffer ``x`` of ``shape`` has no zero entry (as ``engine._no_zero``)."""
    n = int(numpy.prod(shape, dtype=numpy.int64))
    if n == 1:
        return f"bool({x})"
    return f"count_nonzero({x}) == {n}" if n <= 4096 else f"bool({x}.all())"


def _value(r: tuple, known: dict) -> Any:
    """The value of a step's reference ``r`` whose slots are all in ``known`` (``Program._fold``)."""
    if r[0] == "s":
        return known[r[1]]
    if r[0] in ("list", "tuple"):
        inner = [_value(x, known) for x in r[1]]
        return inner if r[0] == "list" else tuple(inner)
    if r[0] == "p" and (type(r[1]) is Param or _has_param(r[1])):
        raise ValueError("a parameter that reads an array")  # (not folded)
    return r[1]


def _slots(refs: tuple) -> list:
    """The slots a step's references name (also inside list and tuple arguments, and the arrays
    inside parameters)."""
    out: list = []
    for r in refs:
        if r[0] == "s":
            out.append(r[1])
        elif r[0] in ("list", "tuple"):
            out.extend(_slots(r[1]))
        elif r[0] == "p":
            _params_slots(r[1], out)
    return out
