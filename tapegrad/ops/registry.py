"""defop: declare an op once — forward on raw buffers, VJP in tapegrad ops, optional JVP, samples."""
from __future__ import annotations

import inspect
from weakref import ref as _weakref
from typing import Any, Callable

import numpy

from .._core import forward as _forward
from .._core import node as _node_mod
from .._core.mode import RAW as _RAW
from .._core.array import ARRAY_CLASSES, OPS, Array
from ..backend import is_device_buffer, xp_of

__all__ = ["defop", "Op", "REGISTRY", "NONDIFF", "apply", "buffer", "constant", "holds_array", "pack_sequence"]

#: name -> Op, in declaration order.
REGISTRY: dict[str, "Op"] = {}
#: Public NumPy names that are deliberately not differentiable (creation, comparisons, integer ops...).
NONDIFF: set[str] = set()

#: The array class an op returns when none of its inputs is an Array (set by the np namespace).
DEFAULT_CLS: list[type] = [Array]

_Node = _node_mod.Node
_ACTIVE = _forward.ACTIVE
_ARR = numpy.ndarray
_SCALARS = (int, float, bool, complex)
_SEQS = (list, tuple)

# VJP argument kinds
_G, _IN, _VARIN, _OUT, _PARAM, _NEEDS, _SHAPES, _DTYPES, _OUTS = range(9)


class Op:
    """One primitive: its forward, its VJP (written in tapegrad ops) and what the tests feed it."""

    def __init__(self, forward: Callable, name: str, *, broadcast: bool, samples: Any, nout: int | None,
                 nin: int | None, diff: bool, elementwise: bool, linear: bool, public: str | None,
                 seq: bool = False, singular: bool = False) -> None:
        self.forward = forward
        # partials can be inf/nan (sqrt at 0, log at 0...): a zero cotangent must still give zero
        self.singular = singular
        self.seq = seq  # called NumPy-style with one sequence of arrays: concatenate([a, b], axis)
        self.public = public  # namespace that exposes it: "np", "np.linalg", "npx" or None (internal)
        self.name = name
        self.broadcast = broadcast
        self.samples = samples
        self.nout = nout  # None: one output; k: a tuple of k outputs
        self.diff = diff  # False: never taped (comparisons, argmax, ...)
        self.elementwise = elementwise
        self.linear = linear
        self.ufunc = getattr(numpy, name, None) if isinstance(getattr(numpy, name, None), numpy.ufunc) else None
        sig = inspect.signature(forward)
        ps = list(sig.parameters.values())[1:]  # after xp
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in ps)
        pos = [p for p in ps if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if nin is None:
            nin = sum(1 for p in pos if p.default is p.empty)
        self.nin = nin
        self.input_names = [p.name for p in pos[:nin]] + [p.name for p in ps if p.kind is p.VAR_POSITIONAL]
        self.param_names = [p.name for p in pos[nin:]] + [p.name for p in ps if p.kind is p.KEYWORD_ONLY]
        self.defaults = {p.name: p.default for p in ps
                         if p.name in self.param_names and p.default is not p.empty}
        self.vjp_fn: Callable | None = None
        self.vjp_spec: list = []
        self.save_in: tuple = ()
        self.save_out = False
        self.save_when: dict = {}  # input index -> inputs whose gradients read it
        self.jvp_fn: Callable | None = None
        self.jvp_spec: list = []
        # What a NumPy function has, so that an op reads like one: help(), inspect.signature,
        # functools.wraps, pickling by reference (see __reduce__)
        self.__name__ = self.__qualname__ = name
        self.__module__ = f"tapegrad.{public}" if public else forward.__module__
        self.__doc__ = forward.__doc__ or _doc_from_numpy(name, public)
        self.__signature__ = _call_signature(ps, nin, seq)
        # The NumPy ufunc when the forward is nothing but that ufunc on the inputs (``xp.sin(x)``):
        # calls of the common shapes then take an inline call made for the op (see ``_specialize``).
        self.fast = self.ufunc if nout is None and _is_plain_ufunc_call(forward, name, nin) else None
        self._masks: dict = {}  # needs -> which inputs to save (see save_mask)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def __reduce__(self) -> str:
        """Pickled by reference, as NumPy's functions are: by its name in its module."""
        return self.__qualname__

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name == "forward" and "fast" in self.__dict__:  # a replaced forward: is it still the ufunc?
            plain = self.nout is None and _is_plain_ufunc_call(value, self.name, self.nin)
            self.fast = self.ufunc if plain else None
        elif name == "fast":
            _specialize(self)

    def __call__(self, *args: Any, **params: Any) -> Any:
        """The op on Arrays (recorded when they are on the tape) or, in raw mode, on raw buffers.
        (An op with an inline call takes it first: see ``_specialize``.)"""
        if _RAW.get():
            return self.raw_call(args, params)
        if self.seq:
            args, params = self._unpack_sequence(args, params)
        return apply(self, args, params)

    def raw_call(self, args: tuple, params: dict) -> Any:
        """The forward on raw buffers, nothing recorded: how ops run inside a gradient rule during a
        backward that builds no graph (the rule then sees raw buffers, and Arrays are unwrapped)."""
        if self.seq:
            args, params = self._unpack_sequence(args, params)
        if len(args) != self.nin and not self.variadic:
            args, params = _bind(self, args, params)
        xp = numpy
        for a in args:
            t = type(a)
            if t is not _ARR and t not in _SCALARS:  # rare: a device buffer, an Array, a NumPy scalar...
                args = [a._data if isinstance(a, Array) else a for a in args]
                xp = xp_of(args)
                break
        out = self.forward(xp, *args, **params)
        if self.nout is None:
            return out if type(out) is _ARR else _asarray(xp, out)
        return tuple(o if type(o) is _ARR else _asarray(xp, o) for o in out)

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
        if self.ufunc is not None and type(buf) is _ARR:
            self.ufunc(buf, other, out=buf, casting="unsafe")
        else:
            buf[...] = self.forward(xp_of((buf, other)), buf, other)

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
        spec = self._spec(fn, tangents=False)
        self.vjp_fn = fn
        self.vjp_spec = spec
        self.save_in = tuple(key if kind == _IN else -1 for kind, key in spec if kind in (_IN, _VARIN))
        self.save_out = any(kind == _OUT for kind, _ in spec)
        self.save_when = {self.input_names.index(k): tuple(v) for k, v in (needed_for or {}).items()}
        self.writes_into = any(kind == _OUTS for kind, _ in spec)
        self._masks = {}
        self.run_vjp = self._compile(raw=False)
        self.run_raw = self._compile(raw=True)
        return fn

    def _compile(self, raw: bool) -> Callable:
        """``run_vjp(node, g)`` (``raw``: ``run_raw``): the VJP called for one recorded application,
        its arguments fetched from the node by code generated once from the rule's parameter names.
        ``run_vjp`` gives the rule Arrays of the node's class; ``run_raw`` the raw saved buffers (for
        a backward that builds no graph: ops must then be in raw mode, see ``mode.RAW``). Both return
        one cotangent (or None) per input."""
        env = {"op": self, "defaults": self.defaults, "wrap_in": _wrap_input, "wrap_out": _wrap_output}
        parts = []
        for kind, key in self.vjp_spec:
            if kind == _G:
                parts.append("g")
            elif kind == _IN:
                parts.append(f"node.saved[{key}]" if raw else f"wrap_in(node, {key})")
            elif kind == _VARIN:
                parts.append("tuple(node.saved)" if raw else
                             "tuple([wrap_in(node, i) for i in range(len(node.parents))])")
            elif kind == _OUT:
                parts.append("node.out" if raw else "wrap_out(node)")
            elif kind == _PARAM:
                parts.append(f"node.params.get({key!r}, defaults.get({key!r}))")
            elif kind == _NEEDS:
                parts.append("node.needs" if self.variadic else
                             "(" + "".join(f"node.parents[{i}] is not None, " for i in range(self.nin)) + ")")
            elif kind == _SHAPES:
                parts.append("node.shapes")
            elif kind == _OUTS:
                parts.append("outs if outs is not None else (None,) * len(node.parents)")
            else:
                parts.append("node.dtypes")
        src = (f"def run(node, g, outs=None):\n"
               f"    res = op.vjp_fn({', '.join(parts)})\n"  # looked up per call: vjp_fn may be replaced
               f"    return res if isinstance(res, (tuple, list)) else (res,)\n")
        exec(compile(src, f"<{'raw ' if raw else ''}VJP of {self.name}>", "exec"), env)  # noqa: S102 - our template
        return env["run"]

    def _spec(self, fn: Callable, tangents: bool) -> list:
        """How to build a rule's arguments, from its parameter names (checked now, not at run time)."""
        spec = []
        incoming = ("ts",) if tangents else ("g", "gs")
        for pname in inspect.signature(fn).parameters:
            if pname in incoming:
                spec.append((_G, None))
            elif pname == "out":
                spec.append((_OUT, None))
            elif pname == "needs":
                spec.append((_NEEDS, None))
            elif pname == "shapes":
                spec.append((_SHAPES, None))
            elif pname == "dtypes":
                spec.append((_DTYPES, None))
            elif pname == "outs" and not tangents:
                spec.append((_OUTS, None))
            elif pname in self.input_names:
                i = self.input_names.index(pname)
                if self.variadic and i == len(self.input_names) - 1 and i >= self.nin:
                    spec.append((_VARIN, None))
                else:
                    spec.append((_IN, i))
            elif pname in self.param_names:
                spec.append((_PARAM, pname))
            else:
                names = f"{' / '.join(incoming)}, out, needs, shapes, dtypes{'' if tangents else ', outs'}"
                raise TypeError(f"{'JVP' if tangents else 'VJP'} of {self.name!r} names {pname!r}, which is neither "
                                f"{names} nor a parameter of the forward "
                                f"({self.input_names + self.param_names})")
        return spec

    def jvp(self, fn: Callable) -> Callable:
        """Declare the JVP (forward mode): ``fn(ts, <names>)`` gets ``ts``, one tangent per array input
        (None = zero), and may name inputs, ``out``, static parameters, ``shapes`` and ``dtypes`` like a
        VJP; it returns the output's tangent (a tuple for multi-output ops), in tapegrad ops."""
        self.jvp_fn = fn
        self.jvp_spec = self._spec(fn, tangents=True)
        return fn

    # -- backward support ----------------------------------------------------------------------
    #: The rule may run on raw buffers (``run_raw``, in raw mode); custom ops say False.
    raw_ok = True
    #: The rule names ``outs`` (see ``vjp``): the engine may offer it gradient buffers to write into.
    writes_into = False
    #: Set by ``vjp()`` (see ``_compile``); an op without a VJP is never recorded.
    run_vjp: Callable
    run_raw: Callable


def _doc_from_numpy(name: str, public: str | None) -> str:
    """A docstring for an op whose forward has none: the summary of NumPy's function of that name."""
    ns = {"np": numpy, "np.linalg": numpy.linalg, "np.fft": numpy.fft}.get(public or "")
    ref = getattr(ns, name, None) if ns is not None else None
    paras = [p.strip() for p in (getattr(ref, "__doc__", None) or "").split("\n\n")]
    summary = next((p for p in paras if p and not p.startswith(f"{name}(")), "")
    where = f"tapegrad.{public}.{name}" if public else f"The op {name!r}"
    if ref is None:
        return f"{where}: differentiable (declared in the op registry)."
    return f"{summary}\n\n{where} is differentiable; numpy.{public[3:] + '.' if public != 'np' else ''}{name} " \
           "documents the arguments."


def _call_signature(ps: list, nin: int, seq: bool) -> inspect.Signature:
    """How an op is called, from its forward's parameters after ``xp``: array inputs positional
    only (a seq op takes them as one sequence), then the static parameters, which may also be
    given by position (see ``_bind``)."""
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


class _Product(Op):
    """A matrix product (``defop(product=True)``): where the first two arrays' dialect refuses mixed
    floating dtypes in products, a call with two of them says so before any work is done. A product
    that is a NumPy ufunc (matmul) keeps the inline call of plain ufunc ops (see ``_specialize``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.ufunc is not None and self.nin == 2 and self.nout is None:
            inline, general = _inline_binary(self, self.ufunc), Op.__call__

            def call(a: Any = _MISSING, b: Any = _MISSING, /, *rest: Any, **params: Any) -> Any:
                if type(a) in ARRAY_CLASSES and type(b) in ARRAY_CLASSES and a._data.dtype is not b._data.dtype:
                    self._refuse_mixed(a, b)
                try:
                    return inline(a, b, *rest, **params)
                except ValueError:  # NumPy's text: the general call's forward says what does not match
                    return general(self, *(x for x in (a, b) if x is not _MISSING), *rest, **params)
            object.__setattr__(self, "__class__", type(f"Op_{self.name}", (_Product,),
                                                       {"__call__": staticmethod(call), "__doc__": self.__doc__}))

    def _refuse_mixed(self, a: Array, b: Array) -> None:
        da, db = a._data.dtype, b._data.dtype
        if da != db and (a._same_dtype_products or b._same_dtype_products) and da.kind == db.kind == "f":
            raise TypeError(f"{self.name}: operands of dtypes {da} and {db}; products need one dtype (as in "
                            f"MXNet): cast one operand first, e.g. .astype('{da}') on the {db} one")

    def __call__(self, *args: Any, **params: Any) -> Any:
        if len(args) >= 2 and isinstance(args[0], Array) and isinstance(args[1], Array):
            self._refuse_mixed(args[0], args[1])
        return Op.__call__(self, *args, **params)


class _Inline:
    """Marks the classes ``_specialize`` makes, so that it may replace them (but no other subclass)."""


def _specialize(op: Op) -> None:
    """Give an op whose forward is a plain ufunc on one or two inputs (``fast``) a class of its own
    whose ``__call__`` is an inline call made for it (Python looks ``__call__`` up on the type; a
    function with the op's constants in its closure skips much of the general call's overhead for
    the common shapes); other ops are plain ``Op``. Ops that have a class of their own keep it."""
    base = type(op)
    if base is not Op and base.__bases__ != (_Inline, Op):
        return
    fast = op.__dict__.get("fast")
    if fast is None or op.nin not in (1, 2):
        object.__setattr__(op, "__class__", Op)
        return
    call = (_inline_unary if op.nin == 1 else _inline_binary)(op, fast)
    cls = type(f"Op_{op.name}", (_Inline, Op), {"__call__": staticmethod(call), "__doc__": op.__doc__})
    object.__setattr__(op, "__class__", cls)


_MISSING = object()
_new = object.__new__


def _inline_unary(op: Op, fast: Any) -> Callable:
    """The inline call of a one-input ufunc op: a raw buffer in raw mode, or a host Array with no
    forward trace active; any other call goes to ``Op.__call__``."""
    general = Op.__call__
    diff = op.diff

    def call(a: Any = _MISSING, /, *rest: Any, **params: Any) -> Any:
        if not rest and not params:
            t = type(a)
            if t is _ARR:
                if _RAW.get():
                    out = fast(a)
                    return out if type(out) is _ARR else numpy.asarray(out)
            elif t in ARRAY_CLASSES and type(a._data) is _ARR and not _RAW.get() and not _ACTIVE.get():
                d = a._data
                out = fast(d)
                if type(out) is not _ARR:
                    out = numpy.asarray(out)
                if t._promote is not None:  # the dialect's dtype policy (PyTorch's float32 default)
                    out = t._promote(out, (d,), params)
                pa = a._node
                if pa is None or not diff or not t._recording_flag.get():
                    r = _new(t)  # Array._make inline: the call would cost a tenth of the op
                    r._data = out
                    r._node = r._idx = r._grad = r._grad_req = None
                    r._version = 0
                    return r
                if a._idx is not None or t._track_versions:  # an output of a multi-output op; PyTorch
                    return _record(op, t, (a,), (d,), params, out)
                return t._make(out, _node1(op, t, params, out, d, pa))
        return general(op, *(() if a is _MISSING else (a,)), *rest, **params)
    return call


def _inline_binary(op: Op, fast: Any) -> Callable:
    """The inline call of a two-input ufunc op: raw buffers or Python numbers in raw mode, or a
    host Array with a Python number or a host Array of its class, with no forward trace active;
    any other call goes to ``Op.__call__``."""
    general = Op.__call__
    diff = op.diff

    def call(a: Any = _MISSING, b: Any = _MISSING, /, *rest: Any, **params: Any) -> Any:
        if not rest and not params:
            t = type(a)
            tb = type(b)
            if t is _ARR or t in _SCALARS:
                if (tb is _ARR or tb in _SCALARS) and _RAW.get():
                    out = fast(a, b)
                    return out if type(out) is _ARR else numpy.asarray(out)
            elif (t in ARRAY_CLASSES and type(a._data) is _ARR and not _RAW.get() and not _ACTIVE.get()
                  and (tb in _SCALARS or (tb is t and type(b._data) is _ARR and b._idx is None))):
                d = a._data
                if tb is t:
                    e = b._data
                    pb = b._node
                else:
                    e = b
                    pb = None
                out = fast(d, e)
                if type(out) is not _ARR:
                    out = numpy.asarray(out)
                if t._promote is not None:
                    out = t._promote(out, (d, e), params)
                pa = a._node
                if (pa is None and pb is None) or not diff or not t._recording_flag.get():
                    r = _new(t)  # Array._make inline
                    r._data = out
                    r._node = r._idx = r._grad = r._grad_req = None
                    r._version = 0
                    return r
                if a._idx is not None or t._track_versions:
                    return _record(op, t, (a, b), (d, e), params, out)
                return t._make(out, _node2(op, t, params, out, d, pa, e, pb))
        args = tuple(x for x in (a, b) if x is not _MISSING)
        return general(op, *args, *rest, **params)
    return call


def _plain_ufunc_1(xp, x):
    return xp.sin(x)


def _plain_ufunc_2(xp, x, y):
    return xp.add(x, y)


def _is_plain_ufunc_call(forward: Callable, name: str, nin: int | None) -> bool:
    """Whether ``forward`` is exactly ``return xp.<name>(<its inputs>)`` (same bytecode as a template)."""
    template = {1: _plain_ufunc_1, 2: _plain_ufunc_2}.get(nin)
    if template is None or not isinstance(getattr(numpy, name, None), numpy.ufunc):
        return False
    c, t = forward.__code__, template.__code__
    return (c.co_code == t.co_code and c.co_names == (name,) and c.co_argcount == t.co_argcount
            and c.co_kwonlyargcount == 0 and not (c.co_flags & 0x0C)  # no *args / **kwargs
            and forward.__defaults__ is None and forward.__kwdefaults__ is None)


def call_jvp(op: Op, args: tuple, params: dict, res: Any, ts: list) -> Any:
    """Call ``op``'s declared JVP on primal values ``args`` (with output ``res``) and tangents ``ts``."""
    needs = tuple(t is not None for t in ts)
    return op.jvp_fn(*_direct_args(op, op.jvp_spec, tuple(ts), args, params, res, needs))


def call_vjp_direct(op: Op, args: tuple, params: dict, res: Any, g: Any, needs: tuple) -> tuple:
    """Call ``op``'s VJP on primal values given directly (used to derive elementwise JVPs)."""
    r = op.vjp_fn(*_direct_args(op, op.vjp_spec, g, args, params, res, needs))
    return r if isinstance(r, (tuple, list)) else (r,)


def _direct_args(op: Op, spec: list, incoming: Any, args: tuple, params: dict, res: Any, needs: tuple) -> list:
    """A rule's arguments from live values (``run_vjp`` builds them from a tape node instead)."""
    vals = []
    for kind, key in spec:
        if kind == _G:
            vals.append(incoming)
        elif kind == _IN:
            vals.append(args[key])
        elif kind == _VARIN:
            vals.append(tuple(args))
        elif kind == _OUT:
            vals.append(res)
        elif kind == _PARAM:
            vals.append(params[key] if key in params else op.defaults.get(key))
        elif kind == _NEEDS:
            vals.append(needs)
        elif kind == _SHAPES:
            vals.append(tuple(getattr(a, "shape", ()) for a in args))
        elif kind == _OUTS:
            vals.append((None,) * len(args))
        else:
            vals.append(tuple(getattr(getattr(a, "_data", a), "dtype", None) for a in args))
    return vals


def buffer(x: Any) -> Any:
    """The raw buffer of an Array; anything else (a raw buffer inside a raw-mode rule, a number) as is."""
    return x._data if isinstance(x, Array) else x


def constant(like: Any, buf: Any) -> Any:
    """``buf`` as a constant of ``like``'s array class, or raw when ``like`` is raw (a rule in raw mode)."""
    return type(like)._make(buf) if isinstance(like, Array) else buf


def _wrap_input(node: _Node, i: int) -> Any:
    """Saved input ``i`` of a node as an Array of the node's class, linked to its parent."""
    d = node.saved[i]
    if d is None or type(d) in _SCALARS:  # not kept (see needed_for), or a weakly typed Python number
        return d
    pidx = node.pidx[i] if node.pidx is not None else None
    a = node.cls._make(d, node.parents[i], pidx)
    return a if node.vcheck is None else _saved_version(node, f"input {i}", a)


def _wrap_output(node: _Node) -> Any:
    """A node's saved output(s) as Arrays of its class, linked to the node."""
    cls = node.cls
    if node.nout is None:
        a = cls._make(node.out, node)
        return a if node.vcheck is None else _saved_version(node, "output 0", a)
    outs = tuple(cls._make(o, node, i) for i, o in enumerate(node.out))
    return outs if node.vcheck is None else tuple(_saved_version(node, f"output {i}", a) for i, a in enumerate(outs))


def _saved_version(node: _Node, what: str, a: Any) -> Any:
    """``a``, wrapping a saved buffer, with the version the buffer had when saved (a dialect that checks
    versions compares it with the version of that memory when a higher-order backward reads it)."""
    for _, version, w in node.vcheck:
        if w == what:
            a._version = version
    return a


def defop(fn: Callable | None = None, *, name: str | None = None, broadcast: bool = False,
          samples: Any = None, nout: int | None = None, nin: int | None = None, diff: bool = True,
          elementwise: bool = False, linear: bool = False, public: str | None = "np", seq: bool = False,
          singular: bool = False, product: bool = False) -> Any:
    """Declare an op from its forward ``f(xp, *arrays, **params)`` on raw buffers.

    ``broadcast``: cotangents are summed back to the input shapes by the engine.
    ``diff=False``: never recorded (comparisons, argmax...). ``nout``: the op returns a tuple.
    ``samples``: a callable returning test cases for the generated sweep (see ``ops/samples.py``).
    ``public``: the namespace that exposes the op ("np", "np.linalg", "npx"; None = internal).
    ``seq``: a variadic op called NumPy-style with one sequence of arrays (``concatenate([a, b])``).
    ``singular``: an elementwise op whose partials can be infinite or NaN; the engine keeps a zero
    cotangent zero through it (so ``where(x > 0, sqrt(x), 0)`` has gradient 0, not NaN, at 0).
    ``product``: a matrix product, whose first two arrays must share a floating dtype in a dialect
    that says so (``Array._same_dtype_products``: MXNet refuses float64 with float32).
    """
    def wrap(f: Callable) -> Op:
        op = (_Product if product else Op)(f, name or f.__name__.rstrip("_"), broadcast=broadcast, samples=samples, nout=nout,
                nin=nin, diff=diff, elementwise=elementwise, linear=linear, public=public, seq=seq, singular=singular)
        if op.name in REGISTRY:
            raise ValueError(f"op {op.name!r} is declared twice")
        REGISTRY[op.name] = op
        setattr(OPS, op.name, op)
        return op
    return wrap(fn) if fn is not None else wrap


def apply(op: Op, args: tuple, params: dict) -> Any:
    """Run ``op`` on Arrays or raw values; tape it when recording and an input is on the tape."""
    if len(args) != op.nin and not op.variadic:
        args, params = _bind(op, args, params)
    # The common shapes of a call first: one Array, or an Array with an Array or a Python number,
    # all of one class and on the host; anything else takes the general scan below.
    a = args[0] if args else None
    cls = type(a)
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
    out = op.forward(xp, *datas, **params)
    single = op.nout is None
    if single:
        if type(out) is not _ARR:
            out = _asarray(xp, out)
        if cls._promote is not None:
            out = cls._promote(out, datas, params)
    else:
        out = tuple(o if type(o) is _ARR else _asarray(xp, o) for o in out)
        if cls._promote is not None:
            out = tuple(cls._promote(o, datas, params) for o in out)
    if taped and op.diff and cls._recording_flag.get():
        res = _record(op, cls, args, datas, params, out)
    else:
        res = cls._make(out) if single else tuple(cls._make(o) for o in out)
    if _ACTIVE.get():  # forward traces or an op capture: rare, so one check for both
        if _forward.TRACES.get() and op.diff:
            _forward.propagate(op, args, params, res)
        if _forward.CAPTURE.get() is not None:
            _forward.CAPTURE.get().append((op, args, params))
    return res


def _asarray(xp: Any, o: Any) -> Any:
    """A forward's result as an array (NumPy returns scalars for 0-d results); a device buffer as it
    is, also when its module is not ``xp`` (a copy between devices)."""
    if isinstance(o, numpy.generic) or not is_device_buffer(o):
        return xp.asarray(o)
    return o


def _scan(op: Op, args: tuple) -> tuple:
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
        elif isinstance(a, Array):
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
        cls = DEFAULT_CLS[0]
    if plain:
        return cls, taped, datas, numpy, args
    datas = [d if isinstance(a, Array) else cls._coerce(d) for a, d in zip(args, datas)]
    return cls, taped, datas, xp_of(datas), args


def holds_array(seq: list | tuple) -> bool:
    """Whether a (nested) list or tuple has an Array anywhere inside."""
    return any(isinstance(x, Array) or (isinstance(x, _SEQS) and holds_array(x)) for x in seq)


def pack_sequence(seq: list | tuple, dtype: Any = None) -> Array:
    """A nested list or tuple of Arrays, NumPy arrays and numbers as one Array, made by one
    differentiable op (``pack``): every element that is traced keeps its gradient. Without
    ``dtype``, the result type of the elements, Python numbers weak (then the door's promotion)."""
    leaves: list = []

    def walk(s: Any) -> Any:
        if isinstance(s, _SEQS):
            return tuple([walk(x) for x in s])
        leaves.append(s)
        return len(leaves) - 1
    tree = walk(seq)
    return OPS.pack(*leaves, tree=tree, dtype=dtype)


def _bind(op: Op, args: tuple, params: dict) -> tuple:
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


def _join(op: Op, cls: type | None, t: type) -> type:
    """The result class for inputs of classes ``cls`` and ``t`` (the more derived one)."""
    if cls is None or issubclass(t, cls):
        return t
    if issubclass(cls, t):
        return cls
    raise TypeError(f"{op.name}: cannot mix {cls.__module__}.{cls.__name__} and {t.__module__}.{t.__name__} "
                    "arrays; convert one side first")


def _record(op: Op, cls: type, args: tuple, datas: list, params: dict, out: Any) -> Any:
    """Put one application on the tape and return its output(s) linked to the new node."""
    n = len(args)
    a = args[0]
    nout = op.nout
    node = None
    if nout is None and not op.variadic and type(a) is cls and a._idx is None:  # see _node1, _node2
        if n == 1:
            node = _node1(op, cls, params, out, datas[0], a._node)
        elif n == 2:
            b = args[1]
            tb = type(b)
            if tb in _SCALARS:
                node = _node2(op, cls, params, out, datas[0], a._node, b, None)
            elif tb is cls and b._idx is None:
                node = _node2(op, cls, params, out, datas[0], a._node, datas[1], b._node)
    if node is None:
        parents, pidx, shapes, dtypes = _describe(args, datas)
        saved = None
        if op.save_in:
            if op.variadic or op.save_in[0] == -1:
                saved = datas
            else:
                keep = op.save_mask(tuple([p is not None for p in parents]))
                saved = [d if k else None for d, k in zip(datas, keep)]
        node = _Node(op, parents, pidx, saved, out if op.save_out else None, params, shapes, dtypes, cls, nout)
    res = cls._make(out, node) if nout is None else tuple(cls._make(o, node, i) for i, o in enumerate(out))
    if cls._track_versions and (op.save_in or op.save_out):
        node.vcheck = _versions(op, args, res, node.saved)
    return res


def _node1(op: Op, cls: type, params: dict, out: Any, d: Any, pa: Any) -> _Node:
    """The node of a single-output op applied to one Array (buffer ``d``, node ``pa``, not None:
    it is taped, so ``needs`` is (True,) and the input is kept whenever the rule names it)."""
    return _Node(op, (pa,), None, [d] if op.save_in else None, out if op.save_out else None, params,
                 (d.shape,), (d.dtype,), cls)


def _node2(op: Op, cls: type, params: dict, out: Any, d: Any, pa: Any, e: Any, pb: Any) -> _Node:
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
    return _Node(op, (pa, pb), None, saved, out if op.save_out else None, params, shapes, dtypes, cls)


def _describe(args: tuple, datas: list) -> tuple:
    """The tape's view of a call's inputs: (parent nodes, output indices or None, shapes, dtypes)."""
    parents = []
    pidx = None
    shapes = []
    dtypes = []
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


def _versions(op: Op, args: tuple, res: Any, saved: list | None) -> list:
    """(weakref, version, description) of every Array whose buffer the VJP will read."""
    idx = range(len(args)) if op.variadic or op.save_in[:1] == (-1,) else op.save_in
    out = []
    for i in idx:
        a = args[i]
        if isinstance(a, Array) and saved is not None and saved[i] is not None:
            out.append((_weakref(a), a._version_at_save(), f"input {i}"))
    if op.save_out:
        for k, r in enumerate(res if isinstance(res, tuple) else (res,)):
            out.append((_weakref(r), r._version_at_save(), f"output {k}"))
    return out
