"""Dispatch: an op applied to Arrays, numbers and array-likes, its result put on the tape.

``apply`` is the general route of an op call: it binds NumPy-style positional parameters, scans
the inputs (``_scan``: the result's array class, whether any input is taped, the raw buffers and
their array module), runs the forward, applies the dialect's dtype policy (``cls._promote``),
records the application (``record``) and, when forward traces are active, propagates tangents.
The fast route of declared-ufunc ops (``op.py``) builds the same nodes with ``node1``/``node2``.
"""
from __future__ import annotations

from weakref import ref as _weakref
from typing import Any

import numpy

from . import forward as _forward
from .events import unrecorded as _unrecorded
from .array import ARRAY_CLASSES, Array, holds_array, pack_sequence
from .mode import ACTIVE as _ACTIVE, CAPTURE as _CAPTURE, RECORDER as _RECORDER, TRACES as _TRACES
from .node import WRITES, Node, new_node
from .errors import DeviceError
from .site import add_note, site_of
from ..backend import device_of, is_device_buffer, xp_of

_ARR = numpy.ndarray
_SCALARS = (int, float, bool, complex)
_SEQS = (list, tuple)

#: The array class an op returns when none of its inputs is an Array (a door sets it: see ``set_default_class``).
_DEFAULT_CLS: list[type[Array]] = [Array]


def set_default_class(cls: type[Array]) -> None:
    """The array class an op returns when none of its inputs is an array of tapegrad's (the door
    that owns NumPy-style calls on plain values sets it: the MXNet dialect's ndarray)."""
    _DEFAULT_CLS[0] = cls


def default_class() -> type[Array]:
    """The array class an op returns when none of its inputs is an Array."""
    return _DEFAULT_CLS[0]


def apply(op: Any, args: tuple, params: dict) -> Any:
    """Run ``op`` on Arrays or raw values; tape it when recording and an input is on the tape."""
    if len(args) != op.nin and not op.variadic:
        args, params = bind(op, args, params)
    # The inputs scanned: the common shapes first (one host Array, or one with a Python number or a
    # host Array of its class), inline; any other call in ``_scan``.
    a: Any = args[0] if args else None
    cls: Any = type(a)
    n = len(args)
    if n <= 2 and cls in ARRAY_CLASSES and type(a._data) is _ARR:
        if n == 1:
            datas = [a._data]
            taped = a._node is not None
        else:
            b = args[1]
            tb = type(b)
            if tb is cls and type(b._data) is _ARR:
                datas = [a._data, b._data]
                taped = a._node is not None or b._node is not None
            elif tb in _SCALARS:
                datas = [a._data, b]
                taped = a._node is not None
            else:
                cls = None
    else:
        cls = None
    if cls is None:
        cls, taped, datas, xp, args = _scan(op, args)
    else:
        xp = numpy
    out = op._forward(xp, *datas, **params)
    promote = cls._promote
    if op.nout is None:
        if type(out) is not _ARR:
            out = as_array(xp, out)
        if promote is not None:
            out = promote(out, datas, params)
    else:
        out = tuple(o if type(o) is _ARR else as_array(xp, o) for o in out)
        if promote is not None:
            out = tuple(promote(o, datas, params) for o in out)
    if taped and op.diff and cls._recording_flag.get():
        res = record(op, cls, args, datas, params, out, 3)  # (above record: apply, Op.__call__, then maybe the user)
    else:
        res = cls._make(out) if op.nout is None else tuple(cls._make(o) for o in out)
        if taped:  # a taped input's history ends here: noted for ``explain``
            _unrecorded(op, cls, args)
    if _ACTIVE.get():  # forward traces, an op capture or a compiled call's recorder: rare, so one check
        recorder = _RECORDER.get()
        if recorder is not None:  # (first: the tangents' ops below read this op's result)
            recorder.op(op, cls, args, datas, params, res)
        if _TRACES.get() and op.diff:
            _forward.propagate(op, args, params, res)
        capture = _CAPTURE.get()
        if capture is not None:
            capture.append((op, args, params))
    return res


def as_array(xp: Any, o: Any) -> Any:
    """A forward's result as an array (NumPy returns scalars for 0-d results); a device buffer as it
    is, also when its module is not ``xp`` (a copy between devices)."""
    if isinstance(o, numpy.generic) or not is_device_buffer(o):
        return xp.asarray(o)
    return o


def _scan(op: Any, args: tuple) -> tuple:
    """(result class, any input taped, raw inputs, array module, inputs) for a call of any shape. A
    list or tuple holding Arrays is an input like any array-like: it is packed into one Array by a
    recorded op (``pack_sequence``), never read as a constant."""
    cls = None
    taped = False
    plain = True  # every input is an Array on the host, or a Python scalar
    datas = []
    for a in args:
        t = type(a)
        if t in _SCALARS:
            datas.append(a)
        elif t in ARRAY_CLASSES:
            if t is not cls:
                cls = t if cls is None else _join(op, cls, t)
            if a._node is not None:
                taped = True
            d = a._data
            if type(d) is not _ARR:
                plain = False
            datas.append(d)
        elif isinstance(a, _SEQS) and holds_array(a):  # an array-like with arrays inside: packed
            return _scan(op, tuple(pack_sequence(x) if isinstance(x, _SEQS) and holds_array(x) else x
                                   for x in args))
        else:
            plain = False
            datas.append(a)
    if cls is None:
        cls = _DEFAULT_CLS[0]
    if plain:
        return cls, taped, datas, numpy, args
    datas = [d if isinstance(a, Array) else cls._coerce(d) for a, d in zip(args, datas)]
    try:
        xp = xp_of(datas)
    except DeviceError as e:  # the user's lines that made the inputs, as notes
        for i, a in enumerate(args):
            node = a._node if isinstance(a, Array) else None
            s = site_of(node) if node is not None else None
            if s is not None:
                add_note(e, f"input {i} of {op.name!r} ({device_of(datas[i])}) was created at:\n  {s}")
        raise
    return cls, taped, datas, xp, args


def bind(op: Any, args: tuple, params: dict) -> tuple:
    """Split positional arguments into array inputs and static parameters (NumPy-style calls)."""
    if len(args) < op.nin:
        missing = op.input_names[len(args):op.nin]
        raise TypeError(f"{op.name}() missing array argument(s): {', '.join(missing)}")
    extra = args[op.nin:]
    if len(extra) > len(op.param_names):
        raise TypeError(f"{op.name}() takes at most {op.nin + len(op.param_names)} positional arguments "
                        f"({len(args)} given)")
    for k in params:
        if k in op.param_names[:len(extra)]:
            raise TypeError(f"{op.name}() got multiple values for argument {k!r}")
    return args[:op.nin], {**dict(zip(op.param_names, extra)), **params}


def _join(op: Any, cls: type[Array] | None, t: type[Array]) -> type[Array]:
    """The result class for inputs of classes ``cls`` and ``t``: the more derived one, or the one that
    is not weak (a class that gives way to a dialect's: the NumPy door's ``ArrayBox``)."""
    if cls is None or issubclass(t, cls) or cls._weak:
        return t
    if issubclass(cls, t) or t._weak:
        return cls
    raise TypeError(f"{op.name}: cannot mix {cls.__module__}.{cls.__name__} and {t.__module__}.{t.__name__} "
                    "arrays; convert one side first")


def record(op: Any, cls: type[Array], args: tuple, datas: list, params: dict, out: Any, up: int = 1) -> Any:
    """Put one application on the tape and return its output(s) linked to the new node. ``up``: the
    first frame above this call that may be the user's (1: the caller; 3 from ``apply``), where the
    node starts looking for the user's line."""
    n = len(args)
    a = args[0]
    nout = op.nout
    node = None
    if nout is None and not op.variadic and type(a) is cls and a._idx is None:  # see node1, node2
        if n == 1:
            node = node1(op, cls, params, out, datas[0], a._node, 2 + up)
        elif n == 2:
            b = args[1]
            tb = type(b)
            if tb in _SCALARS:
                node = node2(op, cls, params, out, datas[0], a._node, b, None, 2 + up)
            elif tb is cls and b._idx is None:
                node = node2(op, cls, params, out, datas[0], a._node, datas[1], b._node, 2 + up)
    if node is None:
        parents, pidx, shapes, dtypes = _describe(args, datas)
        saved = None
        if op.save_in:
            if op.saves_all:
                saved = datas
            else:
                keep = op.save_mask(tuple([p is not None for p in parents]))
                saved = [d if k else None for d, k in zip(datas, keep)]
        node = new_node(op, parents, pidx, saved, out if op.save_out else None, params, shapes, dtypes, cls, nout,
                        1 + up)
    res = cls._make(out, node) if nout is None else tuple(cls._make(o, node, i) for i, o in enumerate(out))
    if cls._track_versions and (op.save_in or op.save_out):
        watch_versions(node, op, args, res)
    return res


def node1(op: Any, cls: type, params: dict, out: Any, d: Any, pa: Any, depth: int = 3) -> Node:
    """The node of a single-output op applied to one Array (buffer ``d``, node ``pa``, not None:
    it is taped, so ``needs`` is (True,) and the input is kept whenever the rule names it). ``depth``:
    see ``new_node`` (3: this function's caller's caller may be the user's frame)."""
    return new_node(op, (pa,), None, [d] if op.save_in else None, out if op.save_out else None, params,
                    (d.shape,), (d.dtype,), cls, None, depth)


def node2(op: Any, cls: type, params: dict, out: Any, d: Any, pa: Any, e: Any, pb: Any, depth: int = 3) -> Node:
    """The node of a single-output op applied to an Array (``d``, ``pa``) and a Python number or a
    second Array of its class (``e``, ``pb``; ``pb`` None for a number or a constant)."""
    saved = None
    if op.save_in:
        keep = op.save_mask((pa is not None, pb is not None))
        saved = [d if keep[0] else None, e if keep[1] else None]
    if type(e) in _SCALARS:
        shapes, dtypes = (d.shape, ()), (d.dtype, None)
    else:
        shapes, dtypes = (d.shape, e.shape), (d.dtype, e.dtype)
    return new_node(op, (pa, pb), None, saved, out if op.save_out else None, params, shapes, dtypes, cls, None, depth)


def _describe(args: tuple, datas: list) -> tuple:
    """The tape's view of a call's inputs: (parent nodes, output indices or None, shapes, dtypes)."""
    parents: list = []
    pidx: list | None = None
    shapes: list = []
    dtypes: list = []
    for i, a in enumerate(args):
        if isinstance(a, Array):
            parents.append(a._node)
            if a._idx is not None:  # an output of a multi-output op
                if pidx is None:
                    pidx = [None] * len(args)
                pidx[i] = a._idx
        else:
            parents.append(None)
        d = datas[i]
        if type(d) in _SCALARS:
            shapes.append(())
            dtypes.append(None)
        else:
            shapes.append(d.shape)
            dtypes.append(d.dtype)
    return tuple(parents), pidx, tuple(shapes), tuple(dtypes)


def watch_versions(node: Node, op: Any, args: tuple, res: Any) -> None:
    """Note on ``node`` the (weakref, version, description) of every Array whose buffer its VJP will
    read, and the write count now (``node.WRITES``: no check is needed while it stays)."""
    saved = node.saved
    out = []
    if saved is not None:
        for i in (range(len(args)) if op.saves_all else op.save_in):
            if saved[i] is not None:
                a = args[i]
                if a.__class__ in ARRAY_CLASSES:
                    out.append((_weakref(a), a._version_at_save(), _INPUTS[i] if i < 8 else f"input {i}"))
    if op.save_out:
        if type(res) is tuple:
            for k, r in enumerate(res):
                out.append((_weakref(r), r._version_at_save(), f"output {k}"))
        else:
            out.append((_weakref(res), res._version_at_save(), "output 0"))
    if out:
        node.vcheck = out
        node.vstamp = WRITES[0]


_INPUTS = tuple(f"input {i}" for i in range(8))


def buffer(x: Any) -> Any:
    """The raw buffer of an Array; anything else (a raw buffer inside a raw-mode rule, a number) as is."""
    return x._data if isinstance(x, Array) else x


def constant(like: Any, buf: Any) -> Any:
    """``buf`` as a constant of ``like``'s array class, or raw when ``like`` is raw (a rule in raw mode)."""
    return type(like)._make(buf) if isinstance(like, Array) else buf
