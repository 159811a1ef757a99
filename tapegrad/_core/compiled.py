"""``compile(fn)``: a function traced once per input signature and replayed (see ``capture``)."""
from __future__ import annotations

import functools
import sys
import threading
import types
import warnings
from typing import Any, Callable

import numpy

from . import mode
from ..backend import numba_kernels
from .array import Array
from .capture import MISS, Branch, Capturing, Program, Recorder
from .tree import flatten, unflatten

__all__ = ["Compiled", "compile"]

_ARR = numpy.ndarray
_PLAIN = (int, float, bool, complex, str, bytes, type(None))
#: Traces one signature may collect (values of its guards) before it runs eagerly for good.
MAX_TRACES = 16


class _Entry:
    """What one input signature compiled to."""

    __slots__ = ("root", "program", "eager", "traces", "replays", "misses", "fallbacks", "ends")

    def __init__(self) -> None:
        self.root: Branch | None = None
        self.program: Program | None = None
        self.eager: str | None = None  # why this signature runs eagerly (None: it replays)
        self.traces = 0
        self.replays = 0
        self.misses = 0
        self.fallbacks = 0


class Compiled:
    """A function that runs eagerly once per new input signature while its work (forward, backward,
    in-place updates) is recorded, and afterwards replays that work on raw buffers.

    The signature: the structure of the arguments; each array's class, shape, dtype, device and
    whether it is a variable (``attach_grad``/``requires_grad``) or on the tape; every other argument
    by value (by identity when it cannot be hashed); the recording, training and grad modes; and the
    identity of the arrays (and modules) the function reads from its closure and globals. Wherever
    Python read an array's value, the replay checks that value (a guard) and, when it differs from
    every trace, runs the call eagerly and records that path too. Python side effects (``print``,
    appending to a list) happen while tracing only.
    """

    def __init__(self, fn: Callable, *, roots: Callable[[], Any] | None = None, verbose: bool = False,
                 fuse: bool | None = None) -> None:
        self.fn = fn
        self._roots = roots
        self.verbose = verbose
        self.fuse = _fuse_setting(fuse)
        self._entries: dict[Any, _Entry] = {}
        self._warned = False
        self._lock = threading.Lock()  # one replay at a time: its kept buffers are shared
        self._watch = _Watch(fn, roots)
        functools.update_wrapper(self, fn)

    # -- calling --------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, tree = flatten((args, kwargs))
        key = self._key(leaves, tree)
        e = self._entries.get(key)
        if e is None:
            e = self._entries[key] = _Entry()
        elif e.eager is not None:
            e.fallbacks += 1
            return self.fn(*args, **kwargs)
        elif e.program is not None:
            if not self._lock.acquire(blocking=False):  # another thread replays: its buffers are in use
                e.fallbacks += 1
                return self.fn(*args, **kwargs)
            try:
                res = self._replay(e, leaves)
            finally:
                self._lock.release()
            if res is not MISS:
                e.replays += 1
                return res
            e.misses += 1
        out = self._trace(e, args, kwargs, leaves)
        if self.verbose:  # what this trace changed, as explain() says it
            print(self.explain(), file=sys.stderr)
        return out

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else types.MethodType(self, obj)

    def _replay(self, e: _Entry, leaves: list) -> Any:
        prog = e.program
        assert prog is not None
        saved = None
        if prog.undo_writes or prog.undo_effects:
            saved = _snapshot(prog, leaves)
        with mode.StateScope(raw=True):  # rules run on raw buffers, as in an eager backward
            res = prog.run(leaves)
        if res is MISS:
            if saved is not None:
                _restore(saved)
            return MISS
        (tree, kinds), values = res
        out = []
        for kind, v in zip(kinds, values):
            if kind is None:
                out.append(v)
            elif type(kind) is tuple:
                out.append(leaves[kind[1]] if kind[0] == "arg" else kind[1])
            else:
                out.append(kind._make(v))
        return unflatten(tree, out)

    def _trace(self, e: _Entry, args: tuple, kwargs: dict, leaves: list) -> Any:
        rec = Recorder(leaves, fine=self.fuse)
        why = _refuse_args(leaves)
        with Capturing(rec):
            out = self.fn(*args, **kwargs)
        e.traces += 1
        if why is not None:
            e.eager = why
            return out
        refs, kinds = _output_refs(rec, out)
        rec.finish()
        if rec.printed and not self._warned:
            self._warned = True
            warnings.warn(f"{_name(self.fn)} printed while it was traced (at {rec.printed[0]}): under "
                          "tapegrad.compile, Python side effects such as print happen when a call is traced, "
                          "not when it is replayed", UserWarning, stacklevel=3)
        otree = flatten(out)[1]
        if not rec.refused:
            self._watch.walk()
            known = self._watch.arrays(leaves)
            for st in rec.steps:
                if st.kind == "input" and st.params[0] in ("ext", "attr"):
                    how = st.params if st.params[0] == "ext" else st.params[1]
                    if how[0] == "ext" and id(how[1]) not in known:
                        rec.refused.append(
                            f"an array read by identity (first at {st.where or 'an op'}) is neither an argument nor "
                            "found in the function's globals, closure or objects: pass it as an argument")
                        break
        if rec.refused:
            e.eager = rec.refused[0]
            return out
        end = (refs, (otree, tuple(kinds)))
        steps = rec.steps
        if e.root is None or not e.root.merge(steps, end):
            e.root = Branch.of(steps, end)
        if e.traces > MAX_TRACES:
            e.eager = (f"more than {MAX_TRACES} traces for one signature: {_busiest_guard(e.root)} takes a new value "
                       "on most calls (a number returned from the step, such as float(loss), is such a guard: "
                       "return the array and read it after the call)")
            e.program = None
            return out
        try:
            prog = Program(e.root, fuse=self.fuse)
        except RecursionError:
            e.eager = "too many data-dependent branches in one call"
            return out
        if prog.refused is not None:
            e.eager = prog.refused
            return out
        e.program = prog
        return out

    # -- the signature ----------------------------------------------------------------------------
    def _key(self, leaves: list, tree: Any) -> tuple:
        parts: list = [tree, mode.RECORDING.get(), mode.TRAINING.get(), mode.GRAD_ENABLED.get()]
        for x in leaves:
            if isinstance(x, Array):
                d = x._data
                parts.append((type(x), d.shape, d.dtype, type(d), *_grad_state(x)))
            elif type(x) is _ARR or isinstance(x, numpy.generic):  # (a NumPy number: read at each replay)
                parts.append((type(x), x.shape, x.dtype))
            elif isinstance(x, _PLAIN):
                parts.append((type(x), x))
            else:  # an object passed in: its own numbers and arrays count, as for the globals it reads
                parts.append((type(x), _token(x)))
        parts.append(self._watch.key())
        return tuple(parts)

    # -- the report --------------------------------------------------------------------------------
    def explain(self) -> str:
        """How many signatures and traces exist, their guards and where in the code they come from,
        what runs eagerly and why, and what the replays do."""
        lines = [f"tapegrad.compile({_name(self.fn)}): {len(self._entries)} signature(s)"]
        for n, e in enumerate(self._entries.values(), 1):
            lines.append(f"  signature {n}: {e.traces} trace(s), {e.replays} replay(s), {e.misses} guard miss(es)"
                         + (f", {e.fallbacks} eager call(s)" if e.fallbacks else ""))
            if e.eager is not None:
                lines.append(f"    runs eagerly: {e.eager}")
                continue
            if e.program is None or e.root is None:
                continue
            p = e.program
            c = p.counts
            lines.append(f"    replay: {c['op']} op(s), {c['ufunc_out']} of them into {_kib(p.prealloc_bytes)} of "
                         f"buffers kept between calls; {c['write']} in-place write(s), {c['effect']} attribute "
                         f"set(s), {c['source']} random draw(s); {e.root.paths()} path(s)"
                         + (f"; {c['folded']} gradient rule(s) on constants run once, when compiled" if c["folded"] else ""))
            guards = _guards(e.root)
            if guards:
                lines.append(f"    guards, where Python reads array values ({len(guards)} place(s) in the code):")
                for g in guards:
                    lines.append(f"      {g}")
            lines.append("    " + _fused_line(p, self.fuse))
        return "\n".join(lines)

    @property
    def traces(self) -> int:
        """The number of traces recorded, over all signatures."""
        return sum(e.traces for e in self._entries.values())

    @property
    def replays(self) -> int:
        """The number of calls answered by a replay."""
        return sum(e.replays for e in self._entries.values())


def _output_refs(rec: Recorder, out: Any) -> tuple:
    """(references, kinds) of a traced call's output leaves: an array of the program (kind: its class),
    an argument returned as it is (kind ("arg", i)), a NumPy value of the program (kind None), or any
    other value, kept (kind None)."""
    outs = flatten(out)[0]
    refs: list = []
    kinds: list = []
    for o in outs:
        if isinstance(o, Array):
            i = rec._arg_arrays.get(id(o))
            if i is not None:
                refs.append(("c", None))
                kinds.append(("arg", i))
                continue
            r = rec.ref(o)
            how = rec.input_how(r[1])
            if how is not None and how[0] == "ext" and how[1]() is o:  # a parameter returned: itself
                refs.append(("c", None))
                kinds.append(("same", o))
                continue
            n = o._node
            if n is not None and n.op is not None and not n.freed:
                rec.refused.append("the result is on the tape (a backward after the call would need its graph, "
                                   "which a replay does not build): compile the whole step, backward included")
            refs.append(rec.ref(o))
            kinds.append(type(o))
        elif type(o) is _ARR or isinstance(o, numpy.generic):  # NumPy values (the functional API's results)
            slot = rec.slot_of.get(id(o))
            if slot is not None:
                refs.append(("s", slot))
                kinds.append(None)
            elif id(o) in rec._arg_bufs:
                refs.append(("c", None))
                kinds.append(("arg", rec._arg_bufs[id(o)]))
            else:
                rec.refused.append("the function returns a NumPy value made by code the compiler did not see")
                refs.append(("c", None))
                kinds.append(None)
        else:
            refs.append(("c", o))
            kinds.append(None)
    return refs, kinds


def compile(fn: Callable | None = None, *, verbose: bool = False, fuse: bool | None = None) -> Any:  # noqa: A001
    """``tapegrad.compile(fn)``: ``fn`` traced once per input signature, then replayed without dispatch
    (see ``Compiled``). Usable as a decorator, with or without arguments; ``verbose=True`` prints
    ``explain()`` to stderr after each trace. ``fuse``: runs of elementwise ops on the CPU become one
    Numba kernel each (the extra ``tapegrad[jit]``); None (the default) fuses when Numba is installed
    and ``FUSE`` allows it, True requires Numba, False replays op by op (results then equal eager's
    bit for bit; fused ones agree within rounding)."""
    if fn is None:
        return lambda f: compile(f, verbose=verbose, fuse=fuse)
    return Compiled(fn, verbose=verbose, fuse=fuse)


#: Whether ``compile(fn)`` with ``fuse=None`` fuses (when Numba is installed): a switch for a whole
#: program (the test suite turns it off to compare replays with eager runs bit for bit).
FUSE = True


def _fuse_setting(fuse: bool | None) -> bool:
    if fuse is None:
        return FUSE and numba_kernels.available()
    if fuse and not numba_kernels.available():
        raise ImportError("tapegrad.compile(fuse=True) needs Numba: pip install 'tapegrad[jit]' "
                          "(or leave fuse=None to fuse only where Numba is installed)")
    return bool(fuse)


def _fused_line(p: Program, fuse: bool) -> str:
    """What ``explain`` says about fusion."""
    if not fuse:
        why = ("off (fuse=False)" if numba_kernels.available() else
               "off: Numba is not installed (pip install 'tapegrad[jit]')")
        return f"fused: nothing, fusion is {why}; each op is one library call"
    left = "".join(f"; not fused: {u}" for u in p.unfused[:4])
    if not p.kernels:
        return "fused: nothing (no run of two or more elementwise ops of one shape on the CPU)" + left
    n = sum(k.n_ops for k in p.kernels)
    return (f"fused: {n} elementwise step(s) into {len(p.kernels)} Numba kernel(s): "
            + "; ".join(f"{k.n_ops} on shape {k.shape} ({_ops_summary(k.names)})" for k in p.kernels[:8])
            + ("; ..." if len(p.kernels) > 8 else "") + left)


def _ops_summary(names: list) -> str:
    counts: dict = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return ", ".join(f"{n}×{c}" if c > 1 else n for n, c in list(counts.items())[:6]) + (", ..." if len(counts) > 6 else "")


def _name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _kib(n: int) -> str:
    return f"{n / 1024:.1f} KiB"


def _guards(b: Branch, out: dict | None = None) -> list:
    """One line per place in the code where a guard was read: what was read and the values seen."""
    top = out is None
    out = {} if out is None else out
    if b.steps and b.steps[-1].kind == "guard":
        g = b.steps[-1]
        seen = out.setdefault((g.where, g.fn), [])
        for v, _ in b.children:
            text = "an array" if isinstance(v, _ARR) else repr(v)
            if text not in seen:
                seen.append(text)
    for _, c in b.children:
        _guards(c, out)
    if not top:
        return []
    return [f"{where}: {kind} of an array; values seen: {', '.join(vals)}" for (where, kind), vals in out.items()]


def _busiest_guard(b: Branch) -> str:
    """Where the guard that took the most values reads it ("the guard at file:line")."""
    counts: dict = {}
    stack = [b]
    while stack:
        n = stack.pop()
        if n.steps and n.steps[-1].kind == "guard":
            where = n.steps[-1].where
            counts[where] = counts.get(where, 0) + len(n.children)
        stack.extend(c for _, c in n.children)
    if not counts:
        return "a guard"
    return f"the guard at {max(counts, key=counts.__getitem__)}"


def _refuse_args(leaves: list) -> str | None:
    for i, x in enumerate(leaves):
        if isinstance(x, Array) and x._node is not None and x._node.op is not None:
            return (f"argument {i} is the result of recorded ops outside the compiled function; a replay "
                    "cannot extend that graph: compile the whole step, or pass it detached")
    return None


class _Watch:
    """What a function reads besides its arguments: the globals its code names and its closure
    cells, followed into the functions found there (a step calling ``net`` that reads ``W``), a bound
    method's object, and the objects passed as arguments. ``key()`` gives a token per place (arrays by
    identity and gradient state, Python numbers and strings by value, anything else by identity,
    one level into lists, tuples, dicts, modules' parameters and objects' attributes), so that a
    replaced parameter or a changed global makes a new signature; ``arrays()`` gives the arrays found
    there, which a trace may read by identity (see ``Compiled._trace``)."""

    def __init__(self, fn: Callable, extra: Callable[[], Any] | None = None) -> None:
        self.fn = fn
        self.extra = extra
        self.places: list = []
        self.walk()

    def walk(self) -> None:
        places: list = []
        seen: set = set()

        def visit(f: Any, depth: int) -> None:
            if id(f) in seen or depth > 4:
                return
            seen.add(id(f))
            owner = getattr(f, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                places.append(("obj", owner))
            f = getattr(f, "__func__", f)
            if not isinstance(f, types.FunctionType):
                call = getattr(type(f), "forward", None) or getattr(type(f), "__call__", None)
                if isinstance(call, types.FunctionType) and not isinstance(f, type):
                    places.append(("obj", f))
                    visit(call, depth + 1)
                return
            code = f.__code__
            names: set = set()
            stack = [code]
            while stack:
                c = stack.pop()
                names.update(c.co_names)
                stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
            g = f.__globals__
            for n in sorted(names):
                if n in g:
                    places.append(("global", g, n))
                    v = g[n]
                    if isinstance(v, types.FunctionType) or callable(getattr(type(v), "forward", None)):
                        visit(v, depth + 1)
            for cell in f.__closure__ or ():
                places.append(("cell", cell))
                try:
                    v = cell.cell_contents
                except ValueError:
                    continue
                if isinstance(v, types.FunctionType):
                    visit(v, depth + 1)
        visit(self.fn, 0)
        self.places = places

    def _values(self) -> list:
        out = []
        for p in self.places:
            if p[0] == "global":
                out.append(p[1].get(p[2]))
            elif p[0] == "cell":
                try:
                    out.append(p[1].cell_contents)
                except ValueError:
                    out.append(None)
            else:
                out.append(p[1])
        if self.extra is not None:
            out.extend(self.extra())
        return out

    def key(self) -> tuple:
        return tuple(_token(v) for v in self._values())

    def arrays(self, leaves: list) -> set:
        """The ids of the arrays the function can reach without its array arguments."""
        found: set = set()
        for v in (*self._values(), *leaves):
            _arrays_in(v, found)
        return found


_NUMBERS = (int, float, bool, complex, str, type(None))


def _token(v: Any) -> Any:
    """What a compiled call's signature keeps of a value the function reads: arrays by identity and
    gradient state, Python numbers and strings by value, one level into lists, tuples and dicts, an
    object's own numbers and arrays (``cfg.lr``, a module's ``training``), a module's parameters and
    its submodules' training flags; functions, modules and classes by identity."""
    if isinstance(v, Array):
        return _state(v)
    if type(v) in _NUMBERS:
        return (type(v), v)
    if isinstance(v, (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)):
        return id(v)
    if isinstance(v, (list, tuple)):
        return (id(v), tuple(_leaf(x) for x in v[:64])) if len(v) <= 64 else id(v)
    if isinstance(v, dict):
        return (id(v), tuple(_leaf(x) for x in list(v.values())[:64]))
    out: list = [id(v)]
    d = getattr(v, "__dict__", None)
    if isinstance(d, dict):
        out.extend((k, _leaf(x)) for k, x in list(d.items())[:64] if type(x) in _NUMBERS or isinstance(x, Array))
    mods = getattr(v, "modules", None)
    params = getattr(v, "parameters", None)
    if callable(mods) and callable(params):  # a module: its parameters and every submodule's mode
        try:
            out.append(tuple(_state(p) for p in params()))
            out.append(tuple(getattr(m, "training", None) for m in mods()))
        except TypeError:
            pass
    return tuple(out)


def _leaf(x: Any) -> Any:
    if isinstance(x, Array):
        return _state(x)
    if type(x) in _NUMBERS:
        return (type(x), x)
    return None


def _arrays_in(v: Any, found: set) -> None:
    """The ids of the arrays in ``v``: itself, one level into containers, a module's parameters and
    buffers, or an object's attributes."""
    def add(x: Any) -> None:
        if isinstance(x, Array):
            found.add(id(x))
    if isinstance(v, Array):
        add(v)
        return
    if isinstance(v, (list, tuple)):
        for x in v:
            add(x)
        return
    if isinstance(v, dict):
        for x in list(v.values())[:256]:
            add(x)
        return
    if isinstance(v, (types.ModuleType, types.FunctionType, type)) or type(v) in _NUMBERS:
        return
    params = getattr(v, "parameters", None)
    if callable(params):
        try:
            for x in params():
                add(x)
            for x in getattr(v, "buffers", lambda: ())():
                add(x)
        except TypeError:
            pass
    groups = getattr(v, "param_groups", None)  # an optimizer
    if isinstance(groups, list):
        for grp in groups:
            for x in grp.get("params", ()):
                add(x)
    d = getattr(v, "__dict__", None)
    if isinstance(d, dict):
        for x in list(d.values())[:256]:
            add(x)
            if isinstance(x, (list, tuple)):
                for y in x[:256]:
                    add(y)


def _state(a: Array) -> tuple:
    """An array's identity and the state of its gradient that Python code may branch on."""
    return (id(a), *_grad_state(a))


def _grad_state(a: Array) -> tuple:
    """What of an array's gradient state Python code and the engine branch on: on the tape or not,
    how its gradient is written, whether it has one yet, the hooks on it."""
    n = a._node
    hooks = None if n is None or not n.hooks else tuple(id(h[1]) for h in n.hooks)
    return (None if n is None else n.op is None, a._grad_req, a._grad is None,
            getattr(a, "_gradT", None) is None, hooks)


def _snapshot(prog: Program, leaves: list) -> list:
    saved: list = []
    for how in prog.undo_writes:
        buf = _resolve(how, leaves)
        if buf is not None:
            saved.append(("buf", buf, buf.copy()))
    for how, attr in prog.undo_effects:
        obj = leaves[how[1]] if how[0] == "arg" else how[1]
        saved.append(("attr", obj, attr, getattr(obj, attr)))
    return saved


def _restore(saved: list) -> None:
    for item in saved:
        if item[0] == "buf":
            item[1][...] = item[2]
        else:
            setattr(item[1], item[2], item[3])


def _resolve(how: tuple, leaves: list) -> Any:
    kind = how[0]
    if kind == "arg":
        x = leaves[how[1]]
        return x._data if isinstance(x, Array) else x
    if kind == "ext":
        return how[1]._data
    if kind == "obj":
        return how[1]
    owner = leaves[how[1][1]] if how[1][0] == "arg" else how[1][1]
    return how[2](owner)
