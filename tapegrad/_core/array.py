"""Array: a backend buffer plus its place on the tape. Dialect policy lives in subclasses."""
from __future__ import annotations

import types
from typing import Any, Callable, TypeVar
import weakref

import numpy

from . import mode
from .events import detached as _detached
from .errors import NOT_IN_GRAPH, AutogradError
from .node import WRITES, Node
from ..backend import dlpack, is_device_buffer, to_host, zeros_like

#: Filled by ``tapegrad.ops`` as ops are declared: ``OPS.add(x, y)`` and so on.
OPS = types.SimpleNamespace()

#: The ops the engine and the Array class call through ``OPS`` (cotangent sums and shapes, dtype
#: fixes, the operators, indexing, packing): ``check_engine_ops`` refuses an op library without them.
ENGINE_OPS = frozenset({
    "add", "sum_to", "real", "astype", "where", "equal", "logical_and", "logical_not", "isfinite",  # backward
    "broadcast_to", "multiply", "sum", "positive", "stack", "reshape", "pack",  # forward mode, transforms
    "subtract", "divide", "floor_divide", "mod", "power", "matmul", "negative", "abs", "not_equal", "less",
    "less_equal", "greater", "greater_equal", "invert", "bitwise_and", "bitwise_or", "bitwise_xor",  # operators
    "transpose", "getitem", "setitem",
})


def check_engine_ops() -> None:
    """Raise ImportError unless every op in ``ENGINE_OPS`` has been declared."""
    missing = sorted(n for n in ENGINE_OPS if not hasattr(OPS, n))
    if missing:
        raise ImportError(f"the op library declares no {', '.join(missing)}, which the engine calls; declare them "
                          "with defop (tapegrad/ops)")


#: NumPy namespaces by submodule ("", "linalg", "fft") whose functions stand in for NumPy's on
#: tapegrad arrays (``__array_function__``); the door that offers NumPy's API registers them.
NUMPY_NAMESPACES: dict = {}

_GRAD_REQS = ("write", "add", "null")
_A = TypeVar("_A", bound="Array")

#: Array and every subclass of it (the dialects' classes), for quick type tests on the hot path.
ARRAY_CLASSES: set = set()


def write_buffer(v: "Array", g: Any) -> None:
    """Variable ``v``'s gradient buffer given the raw gradient ``g`` (None: zero), as its
    ``grad_req`` says: overwritten ('write'), added to ('add') or left alone ('null')."""
    req = v._grad_req
    buf = v._grad
    if req == "null" or buf is None:
        return
    rec = mode.RECORDER.get()
    if rec is not None and g is not buf:  # (a rule that wrote into the buffer itself replays so)
        rec.write("set" if req == "write" else "iadd", rec.attr_ref(v, grad_buffer), 0 if g is None else g)
    if req == "write":
        if g is None:
            buf[...] = 0
        elif g is not buf:  # (a rule may have written it there: see engine._offers)
            buf[...] = g
    elif g is not None:
        buf += g


def grad_buffer(v: "Array") -> Any:
    """Variable ``v``'s gradient buffer (how a compiled replay finds it, see ``capture``)."""
    return v._grad


def _view1(buf: Any) -> tuple:
    return (buf.view(),)


def view_of(buf: Any) -> Any:
    """A view of the whole buffer ``buf`` (a detached array's memory), told to a compiled call's
    recorder as a step of its own, so that a replay makes it again from the replayed buffer."""
    out = buf.view()
    rec = mode.RECORDER.get()
    if rec is not None:
        rec.call(_view1, (buf,), (out,))
    return out


def _value_read(kind: str, buf: Any, value: Any) -> None:
    """Tell a compiled function's recorder that Python read an array's value (see ``capture.guard``)."""
    rec = mode.RECORDER.get()
    if rec is not None:
        rec.guard(kind, buf, value)


class Array:
    """An n-dimensional array that can take part in automatic differentiation.

    ``_data`` is the raw NumPy (or CuPy) buffer; ``_node`` links a recorded result or a variable to
    the tape (None for constants); ``_idx`` picks one output of a multi-output node; ``_grad`` is the
    gradient buffer of a variable and ``_grad_req`` how backward fills it.
    """

    # No instance dict: assigning an attribute the class does not have (``x.requires_grad = True`` in
    # the MXNet dialect) is an AttributeError, not a silent no-op.
    __slots__ = ("_data", "_node", "_idx", "_grad", "_grad_req", "_version", "__weakref__")
    _data: Any
    _node: Node | None
    _idx: int | None
    _grad: Any
    _grad_req: str | None
    _version: int

    #: Which flag turns taping on for arrays of this class.
    _recording_flag = mode.RECORDING
    #: Whether reaching any freed node is an error (MXNet) or only one whose saved values are needed.
    _strict_free = True
    #: Whether a backward checks that saved arrays were not modified in place since (PyTorch).
    _track_versions = False
    #: Optional ``f(out, inputs, params) -> out`` applying a dialect's dtype promotion to op results
    #: (the fast route of ufunc ops skips it when the result and the array inputs share one dtype).
    _promote: Callable | None = None
    #: Whether float arrays may index (MXNet makes index arrays float32 by default).
    _float_indices = False
    #: Whether matrix products refuse two different floating dtypes (MXNet) instead of promoting.
    _same_dtype_products = False
    #: Whether the class gives way when mixed with another array class in one op (the result takes the other's).
    _weak = False
    __array_priority__ = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        ARRAY_CLASSES.add(cls)

    # -- error texts (a dialect overrides them with its framework's words) ------------------------
    @classmethod
    def _node_name(cls, node: Node) -> str:
        """The name a node goes by in this dialect (errors, pictures): the op's, or "variable"."""
        return "variable" if node.op is None else node.op.name

    @classmethod
    def _err_no_graph(cls, i: int) -> str:
        return NOT_IN_GRAPH

    @classmethod
    def _err_head_shape(cls, i: int, gshape: tuple, hshape: tuple) -> str:
        return (f"head gradient has shape {tuple(gshape)} but its head has shape {tuple(hshape)}; "
                "pass a head gradient of the head's shape")

    @classmethod
    def _err_head_dtype(cls, i: int, gdtype: Any, hdtype: Any) -> str:
        return (f"head gradient has dtype {gdtype} but its head has dtype {hdtype}; a real head needs a real "
                "head gradient and a complex one a complex head gradient: cast it with .astype")

    @classmethod
    def _err_custom_shape(cls, node: Node, i: int, got: tuple, want: tuple) -> str:
        return (f"the backward of custom function {node.op.name!r} returned a gradient of shape {tuple(got)} "
                f"for input {i} of shape {tuple(want)}; return one gradient of each input's shape (or None)")

    @classmethod
    def _err_modified(cls, a: "Array", what: str, node: Node, version: int) -> str:
        return (f"an array saved for the gradient of {node.op.name} ({what}) was modified in place after it "
                f"was used (version {a._version}, expected {version}); compute a new array instead")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def _make(cls: type[_A], data: Any, node: Node | None = None, idx: int | None = None) -> _A:
        a = object.__new__(cls)
        a._data = data
        a._node = node
        a._idx = idx
        a._grad = None
        a._grad_req = None
        a._version = 0
        return a

    #: dtype that nested Python sequences become when used as operands (None: NumPy's choice).
    _list_dtype: Any = None

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        """Raw buffer for a non-Array operand (lists become arrays; scalars stay weak scalars)."""
        if isinstance(value, (int, float, complex, numpy.ndarray, numpy.generic)):
            return value
        if is_device_buffer(value):  # a raw device buffer (inside a gradient rule)
            return value
        if value is None:
            raise TypeError("expected an array or a number, got None")
        refuse_traced(value)
        return numpy.asarray(value, dtype=sequence_dtype(value, cls._list_dtype))

    # -- basic properties ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def T(self) -> "Array":
        return OPS.transpose(self)

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of unsized object")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for i in range(self._data.shape[0]):
            yield self[i]

    __hash__ = None  # type: ignore[assignment]  # arrays compare elementwise, so they cannot be dict keys

    # -- tape membership ----------------------------------------------------------------------
    def _attach(self, grad_req: str = "write", buffer: Any = None) -> None:
        rec = mode.RECORDER.get()
        if rec is not None:
            rec.refuse("a new variable (attach_grad / requires_grad) inside the compiled function: mark it "
                       "before the first call")
        if grad_req not in _GRAD_REQS:
            raise ValueError(f"grad_req must be one of {', '.join(map(repr, _GRAD_REQS))}; got {grad_req!r}")
        old = self._node
        if old is not None and old.op is None:
            old.var = None  # the earlier leaf no longer feeds this array
        self._grad = zeros_like(self._data) if buffer is None else buffer
        self._grad_req = grad_req
        self._node = Node.leaf(self)
        if old is not None and old.op is None:  # (``explain`` finds a graph computed from an earlier one)
            self._node.replaced = (weakref.ref(old), *(r for r in old.replaced if r() is not None))

    def _write_grad(self, g: Any, create_graph: bool, owned: bool = False) -> None:
        """Put a backward's gradient into this variable's buffer, in place, as ``grad_req`` says
        (``owned``: ``g`` holds a buffer nothing else refers to, which a dialect may keep)."""
        write_buffer(self, None if g is None else g._data)

    def _grad_value(self) -> Any:
        """The raw buffer of this variable's gradient as ``.grad`` shows it, or None (``explain``)."""
        return self._grad

    def _as_variable(self) -> "Array":
        """Make this array a leaf of the tape with no gradient buffer (for transforms that return
        gradients instead of storing them); returns self."""
        self._node = Node.leaf(self)
        return self

    def detach(self) -> "Array":
        """The same memory with no history: a constant for autograd (and for forward mode)."""
        if self._node is not None:
            _detached(self._node)
        return type(self)._make(view_of(self._data))

    # -- conversion ---------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None) -> numpy.ndarray:
        a = to_host(self._data)
        if mode.RECORDER.get() is not None:
            _value_read("array", self, a.copy())
        return a if dtype is None else a.astype(dtype, copy=False)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = getattr(OPS, ufunc.__name__, None)
        if method == "__call__" and op is not None and not kwargs:
            return op(*inputs)
        if "out" in kwargs and _any_traced(inputs):
            raise TypeError(f"writing a traced array into a NumPy array (numpy.{ufunc.__name__} with out=, or "
                            "acc += x where acc is a NumPy array) would lose its gradient: write acc = acc + x")
        args = [numpy.asarray(x) if isinstance(x, Array) else x for x in inputs]
        return getattr(ufunc, method)(*args, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """NumPy functions on tapegrad arrays run tapegrad's version (so they are recorded); one that
        tapegrad lacks runs on plain NumPy copies, and refuses to hand back a float result that would
        silently drop the gradient of a differentiated argument."""
        impl = _numpy_counterpart(func)
        if impl is not None:
            return impl(*args, **kwargs)
        res = func(*_to_numpy(args), **dict(zip(kwargs, _to_numpy(list(kwargs.values())))))
        floating = getattr(getattr(res, "dtype", None), "kind", "") in "fc" and hasattr(res, "shape")
        if floating and (_any_traced(args) or _any_traced(kwargs.values())):
            raise TypeError(f"{func.__module__}.{func.__name__} has no differentiable version in tapegrad; "
                            "compute it from tapegrad.np functions, or detach() the input if it needs no gradient")
        return res

    # -- DLPack (zero-copy exchange with NumPy, PyTorch, CuPy, JAX...) ----------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule of the values, sharing this array's memory (made by its NumPy or CuPy
        buffer, which reads the arguments as the DLPack protocol says). An array being differentiated
        exports its current values: the consumer's array is a constant, and writes through it are
        not seen by autograd."""
        return dlpack.export(self._data, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple[int, int]:
        """``(device type, device id)`` of the memory, as DLPack numbers them (1: CPU, 2: CUDA)."""
        return dlpack.device(self._data)

    def _scalar(self) -> Any:
        if self._data.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        v = to_host(self._data).reshape(()).item()
        if mode.RECORDER.get() is not None:
            _value_read("scalar", self, v)
        return v

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def __index__(self) -> int:
        """A 0-d integer array as a Python int (``range(n)``, ``lst[i]``, slices), as NumPy allows;
        floats, booleans and arrays with dimensions refuse with NumPy's message."""
        d = self._data
        if d.ndim != 0 or d.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._scalar())

    def __bool__(self) -> bool:
        d = self._data
        n = d.size
        if n > 1:
            raise ValueError("The truth value of an ndarray with multiple elements is ambiguous.")
        if type(d) is numpy.ndarray:
            v = bool(d) if n else False
        else:
            v = bool(to_host(d).any())
        if mode.RECORDER.get() is not None:
            _value_read("bool", self, v)
        return v

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def item(self, *args: Any) -> Any:
        """The element as a Python scalar (``item()`` needs a size-1 array; ``item(i)`` indexes flat)."""
        return numpy.asarray(self).item(*args)  # (a compiled function's recorder sees the whole array read)

    def tolist(self) -> Any:
        return numpy.asarray(self).tolist()

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"Cannot format {type(self).__module__}.{type(self).__name__} with format_spec")
        return str(self)

    def __str__(self) -> str:
        rec = mode.RECORDER.get()
        if rec is not None:
            rec.print_seen()
        return str(to_host(self._data))

    # -- in-place updates ---------------------------------------------------------------------
    # Both dialects write in place through one template, ``_update``: the entry points (``+=``,
    # ``x[k] = v``, the PyTorch dialect's ``add_``-style methods) refuse what their dialect refuses,
    # then hand the update to it; a dialect decides the rest through the hooks after it.
    @classmethod
    def _err_inplace(cls) -> str:
        return "In-place write to an array that is part of a recorded graph. " + _INPLACE_HINT

    def _check_inplace(self) -> None:
        """Refuse an in-place write that would corrupt a recorded graph (each entry point calls it first)."""
        if self._node is not None and self._recording_flag.get():
            raise AutogradError(self._err_inplace())

    def _update(self: _A, name: str, fn: Callable, args: tuple = (), direct: Callable | None = None,
                inputs: tuple | None = None, check: bool = True, saves_result: bool = False) -> _A:
        """Replace this array's values by ``fn(self, *args)`` in place (the one in-place path of both
        dialects); returns self.

        Recorded when this class's recording flag is on and ``_records_update`` says the update reads
        something on the tape (this array, or one of ``inputs``, by default ``args``): ``_adopt`` then
        makes the recorded result this array's values and history. Otherwise the values are written
        into the buffer, by ``direct(buf, *args)`` where given (an op writing into it, an indexed
        assignment), else as ``fn``'s result after the dialect's casting rule (``_fit``); then the
        version moves on. ``name`` names the update in errors; ``check`` (whether the casting rule
        checks the result's dtype) and ``saves_result`` (the update's rule reads its result) are for the
        hooks. A write that fails on read-only memory raises the dialect's error (``_check_writable``).
        """
        if self._recording_flag.get() and self._records_update(args if inputs is None else inputs):
            self._adopt(name, fn, args, check, saves_result)
            return self
        buf = self._data
        if direct is None:
            values = self._fit(fn(self, *args), name, check)._data
        rec = mode.RECORDER.get()
        if rec is not None:
            _record_update(rec, self, direct, args, None if direct is not None else values)
        try:
            if direct is None:
                buf[...] = values
            else:
                direct(buf, *args)
        except ValueError:
            self._check_writable(buf)
            raise
        self._bump()
        return self

    def _records_update(self, inputs: tuple) -> bool:
        """Whether an update of this array that reads ``inputs`` is recorded, the recording flag being
        on: this array or one of them is on the tape."""
        return self._node is not None or _any_traced(inputs)

    def _fit(self, res: "Array", name: str, check: bool) -> "Array":
        """The dialect's casting rule for an update's result ``res``: its shape must be this array's, and
        its dtype becomes this array's silently (MXNet's rule, as ``forward_into`` casts: a direct write
        needs no hook). A dialect that refuses some casts checks them where ``check`` is true."""
        if res.shape != self.shape:
            raise ValueError(f"in-place {name} would change the shape from {self.shape} to {res.shape}")
        if res._data.dtype != self._data.dtype:
            res = type(res)._make(res._data.astype(self._data.dtype), res._node, res._idx)
        return res

    def _adopt(self, name: str, fn: Callable, args: tuple, check: bool, saves_result: bool) -> None:
        """Make the recorded update ``fn(self, *args)`` this array's values and history (here: the array
        takes the place of the result, ``_rebind``)."""
        self._rebind(self._fit(fn(self, *args), name, check))

    def _check_writable(self, buf: Any) -> None:
        """Raise the dialect's error for a write into read-only memory ``buf`` (called when the write
        failed; here the backend's own error stands)."""

    def _inplace(self: _A, name: str, other: Any) -> _A:
        """``self <name>= other`` for binary op ``name`` (the augmented assignments)."""
        self._check_inplace()
        return self._update(name, getattr(OPS, name), (packed(other),), INTO[name])

    @classmethod
    def _saved_alias(cls, node: Node, what: str) -> "Array | None":
        """For a saved array that no longer exists: an array that reads the version of its memory (None:
        this class's arrays share no version counter, so nothing else can have moved it)."""
        return None

    def _bump(self) -> None:
        """Count one in-place write (a dialect whose arrays share memory counts it in all of them)."""
        self._version += 1
        WRITES[0] += 1

    def _version_at_save(self) -> int:
        """The version a node that saves this array checks it against later (a dialect whose arrays
        share memory first joins this one to the counter of its memory)."""
        return self._version

    def _rebind(self, res: "Array") -> None:
        """Become the recorded result ``res`` of an update of this array (same Python object)."""
        rec = mode.RECORDER.get()
        if rec is not None:
            rec.refuse("a recorded in-place update (the array takes the update's result and history)")
        self._data, self._node, self._idx = res._data, res._node, res._idx
        self._bump()
        node = res._node
        if node is not None and node.vcheck is not None:
            # the update's own node saved our previous buffer, which nothing can write to any more
            node.vcheck = [e for e in node.vcheck if e[0]() is not self] or None

    def __iadd__(self: _A, o: Any) -> _A: return self._inplace("add", o)
    def __isub__(self: _A, o: Any) -> _A: return self._inplace("subtract", o)
    def __imul__(self: _A, o: Any) -> _A: return self._inplace("multiply", o)
    def __itruediv__(self: _A, o: Any) -> _A: return self._inplace("divide", o)
    def __ipow__(self: _A, o: Any) -> _A: return self._inplace("power", o)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace()
        value = packed(value)
        self._update("setitem", OPS.setitem, (value, key), write_item, (value,))

    def __getitem__(self: _A, key: Any) -> _A:
        return OPS.getitem(self, key)

    # -- arithmetic ---------------------------------------------------------------------------
    def __add__(self: _A, o: Any) -> _A: return _OP.add(self, o)
    def __radd__(self: _A, o: Any) -> _A: return OPS.add(o, self)
    def __sub__(self: _A, o: Any) -> _A: return _OP.subtract(self, o)
    def __rsub__(self: _A, o: Any) -> _A: return OPS.subtract(o, self)
    def __mul__(self: _A, o: Any) -> _A: return _OP.multiply(self, o)
    def __rmul__(self: _A, o: Any) -> _A: return OPS.multiply(o, self)
    def __truediv__(self: _A, o: Any) -> _A: return _OP.divide(self, o)
    def __rtruediv__(self: _A, o: Any) -> _A: return OPS.divide(o, self)
    def __floordiv__(self: _A, o: Any) -> _A: return _OP.floor_divide(self, o)
    def __rfloordiv__(self: _A, o: Any) -> _A: return OPS.floor_divide(o, self)
    def __mod__(self: _A, o: Any) -> _A: return _OP.mod(self, o)
    def __rmod__(self: _A, o: Any) -> _A: return OPS.mod(o, self)
    def __pow__(self: _A, o: Any) -> _A: return _OP.power(self, o)
    def __rpow__(self: _A, o: Any) -> _A: return OPS.power(o, self)
    def __matmul__(self: _A, o: Any) -> _A: return _OP.matmul(self, o)
    def __rmatmul__(self: _A, o: Any) -> _A: return OPS.matmul(o, self)
    def __neg__(self: _A) -> _A: return OPS.negative(self)
    def __pos__(self: _A) -> _A: return OPS.positive(self)
    def __abs__(self: _A) -> _A: return OPS.abs(self)
    def __eq__(self: _A, o: Any) -> _A: return _OP.equal(self, o)  # type: ignore[override]
    def __ne__(self: _A, o: Any) -> _A: return _OP.not_equal(self, o)  # type: ignore[override]
    def __lt__(self: _A, o: Any) -> _A: return _OP.less(self, o)
    def __le__(self: _A, o: Any) -> _A: return _OP.less_equal(self, o)
    def __gt__(self: _A, o: Any) -> _A: return _OP.greater(self, o)
    def __ge__(self: _A, o: Any) -> _A: return _OP.greater_equal(self, o)
    def __invert__(self: _A) -> _A: return OPS.invert(self)
    def __and__(self: _A, o: Any) -> _A: return _OP.bitwise_and(self, o)
    def __rand__(self: _A, o: Any) -> _A: return OPS.bitwise_and(o, self)
    def __or__(self: _A, o: Any) -> _A: return _OP.bitwise_or(self, o)
    def __ror__(self: _A, o: Any) -> _A: return OPS.bitwise_or(o, self)
    def __xor__(self: _A, o: Any) -> _A: return _OP.bitwise_xor(self, o)
    def __rxor__(self: _A, o: Any) -> _A: return OPS.bitwise_xor(o, self)


ARRAY_CLASSES.add(Array)


class _Operators:
    """The ops as the operator methods above call them (``Op.operator``: for a two-input ufunc op, a view
    that knows the operator method's frame is tapegrad's), each made on first use."""

    def __getattr__(self, name: str) -> Any:
        v = getattr(OPS, name).operator()
        setattr(self, name, v)
        return v


_OP = _Operators()


def _numpy_counterpart(func: Any) -> Any:
    """tapegrad's function of the same name and NumPy submodule, if it has one."""
    mod = getattr(func, "__module__", "") or ""
    ns = NUMPY_NAMESPACES.get("")
    for sub in ("linalg", "fft"):
        if mod.startswith(f"numpy.{sub}") or mod.startswith(f"numpy._{sub}"):
            ns = NUMPY_NAMESPACES.get(sub)
    impl = ns.__dict__.get(func.__name__) if ns is not None else None
    return None if impl is func or isinstance(impl, type) else impl


def _any_traced(values: Any) -> bool:
    for v in values:
        if isinstance(v, Array):  # (first: the common case, and a cheap test for an Array)
            if v._node is not None:
                return True
        elif isinstance(v, (list, tuple)) and _any_traced(v):
            return True
    return False


def packed(value: Any) -> Any:
    """A list or tuple holding traced Arrays as one Array, made by a recorded op (so that no
    element's gradient is lost); anything else as it is."""
    if isinstance(value, (list, tuple)) and _any_traced(value):
        return pack_sequence(value)
    return value


def holds_array(seq: list | tuple) -> bool:
    """Whether a (nested) list or tuple has an Array anywhere inside."""
    return any(isinstance(x, Array) or (isinstance(x, (list, tuple)) and holds_array(x)) for x in seq)


def pack_sequence(seq: list | tuple, dtype: Any = None) -> Any:
    """A nested list or tuple of Arrays, NumPy arrays and numbers as one Array, made by one
    differentiable op (``pack``): every element that is traced keeps its gradient. Without
    ``dtype``, the result type of the elements, Python numbers weak (then the door's promotion)."""
    leaves: list = []

    def walk(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            return tuple([walk(x) for x in s])
        leaves.append(s)
        return len(leaves) - 1
    tree = walk(seq)
    return OPS.pack(*leaves, tree=tree, dtype=dtype)


def raw_key(key: Any) -> Any:
    """An index with every Array inside it replaced by its raw buffer (float index arrays become
    integers in a dialect whose index arrays are float by default: ``_float_indices``)."""
    if isinstance(key, Array):
        d = key._data
        if d.dtype.kind == "f" and type(key)._float_indices:  # the index's dialect says floats index
            return d.astype("int64")
        return d
    if isinstance(key, tuple):
        return tuple(raw_key(k) for k in key)
    if isinstance(key, list) and any(isinstance(k, Array) for k in key):
        return [raw_key(k) for k in key]
    return key


class _Writers(dict):
    """``direct`` writers for updates by a binary op, by op name, each made on first use: the op's
    forward writes ``buf <op>= other`` into the buffer (``forward_into``; it casts as NumPy's unsafe
    casting does, so a dialect with a stricter casting rule passes it only when the result's dtype is
    the buffer's)."""

    def __missing__(self, name: str) -> Callable:
        into = getattr(OPS, name).forward_into

        def write(buf: Any, other: Any) -> None:
            into(buf, other._data if isinstance(other, Array) else other)
        write.op = getattr(OPS, name)  # type: ignore[attr-defined]
        self[name] = write
        return write


#: ``INTO["add"](buf, other)``: ``buf += other`` written by the op itself (see ``_Writers``).
INTO = _Writers()


def write_item(buf: Any, value: Any, key: Any) -> None:
    """``buf[key] = value`` on the raw buffer (the ``direct`` write of ``x[key] = value``)."""
    buf[raw_key(key)] = value._data if isinstance(value, Array) else value


def sequence_dtype(value: Any, default: Any) -> Any:
    """The dtype of the array a nested list or tuple becomes: the result type of the arrays in it
    (NumPy's or tapegrad's: a float64 array stays float64), Python numbers weak; when it holds only
    Python numbers, ``default`` (the door's: None for NumPy's choice; a float32 default makes
    complex numbers complex64)."""
    typed: list = []
    weak: list = []

    def walk(v: Any) -> None:
        if isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif hasattr(v, "dtype"):
            typed.append(v.dtype)
        else:
            weak.append(v)
    walk(value)
    if typed:
        return numpy.result_type(*typed, *weak)
    if default is not None and numpy.dtype(default) == numpy.float32 and any(isinstance(w, complex) for w in weak):
        return numpy.complex64
    return default


def refuse_traced(value: Any) -> None:
    """Raise where a list or tuple holding traced Arrays would be read as a constant."""
    if isinstance(value, (list, tuple)) and _any_traced(value):
        raise TypeError("a list or tuple holding arrays that are being differentiated cannot be read as a "
                        "constant here (their gradients would be lost); make it one array first "
                        "(np.array(...) or np.stack(...), torch.stack(...) in the PyTorch dialect)")


def _to_numpy(values: Any) -> list:
    out = []
    for v in values:
        if isinstance(v, Array):
            v = numpy.asarray(v)
        elif isinstance(v, (list, tuple)):
            v = type(v)(_to_numpy(v))
        out.append(v)
    return out


_INPLACE_HINT = ("Do the update outside the recording (e.g. under autograd.pause()), or compute a new "
                 "array instead (y = y + 1).")


def _record_update(rec: Any, a: Array, direct: Callable | None, args: tuple, values: Any) -> None:
    """Tell a compiled function's recorder about an in-place write into ``a``'s buffer."""
    if direct is None:
        if not rec.known(values):
            rec.refuse("an in-place update whose value was made outside an op")
        rec.write("set", a, values)
    elif getattr(direct, "op", None) is not None:
        rec.write("into", a, args[0], direct.op)  # type: ignore[attr-defined]
    elif getattr(direct, "capture_kind", None) == "set":  # a fill: ``direct(buf, value)``
        rec.write("set", a, args[0])
    elif direct is write_item and len(args) == 2:
        value, key = args
        if _any_traced(key if isinstance(key, tuple) else (key,)) or _holds_buffer(key):
            rec.refuse("an indexed assignment with an array index")
            return
        rec.write("item", a, value, raw_key(key))
    else:
        rec.refuse(f"an in-place write the compiler does not know ({getattr(direct, '__name__', direct)})")


def _holds_buffer(key: Any) -> bool:
    if isinstance(key, tuple):
        return any(_holds_buffer(k) for k in key)
    return isinstance(key, (Array, numpy.ndarray, list))
