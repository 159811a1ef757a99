"""Elementwise fusion for ``tapegrad.compile`` (CPU, through Numba: the extra ``tapegrad[jit]``).

A trace recorded for fusion holds the elementwise ops' gradient rules op by op (``Recorder.fine``), so
forward and backward are one list of steps. ``plan`` rewrites a branch's steps: a run of elementwise
steps of one result shape (declared ufuncs on host buffers, ops declared with a ``scalar`` form, the
engine's repair of singular cotangents, and, as a run's last step, an in-place update such as
``p -= lr * g``) becomes one ``fused`` step, a Numba kernel that loops once over the elements and
keeps every intermediate value in a local; only the values some later step reads are written out.
Steps that are neither elementwise nor side effects (reductions, reshapes, constants) move before
the run when they read nothing of it, after it when they do, so a reduction between forward and
backward does not cut the run. Values agree with the unfused replay within rounding: Numba's math
library is not NumPy's (arithmetic, comparisons and maximum/minimum agree bit for bit).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..backend import numba_kernels

#: Ufuncs that Numba compiles on scalars (real and boolean dtypes).
FUSABLE = frozenset("""
add subtract multiply true_divide divide negative positive power absolute fabs sign square sqrt cbrt reciprocal
exp exp2 expm1 log log2 log10 log1p logaddexp logaddexp2 sin cos tan arcsin arccos arctan arctan2 hypot sinh cosh
tanh arcsinh arccosh arctanh deg2rad rad2deg degrees radians floor ceil trunc rint maximum minimum
greater greater_equal less less_equal equal not_equal logical_and logical_or logical_xor logical_not isfinite
isinf isnan signbit copysign
""".split())

#: ``maximum``/``minimum`` written out: on a tie NumPy returns the second operand (``maximum(-0.0, 0.0)``
#: is +0.0), Numba's the first; NaN in either operand gives NaN. (``fmax``/``fmin`` are left out: NumPy's
#: own answer on a tie of zeros changes with the array's length.)
_WRITTEN = {"maximum": "({a} if ({a} > {b} or {a} != {a}) else {b})",
            "minimum": "({a} if ({a} < {b} or {a} != {a}) else {b})"}


def _apply(uf: Any, args: list, name_of: Callable[[Any], str]) -> str:
    """Code applying ufunc ``uf`` to the operands' code ``args`` (``name_of(uf)``: its name in the kernel)."""
    form = _WRITTEN.get(uf.__name__)
    if form is not None:
        return form.format(a=args[0], b=args[1])
    return f"{name_of(uf)}({', '.join(args)})"


#: The ufuncs a kernel may run on integer loops: where Numba's integer arithmetic is NumPy's (wrapping
#: add, subtract, multiply; comparisons). ``sign`` and ``reciprocal`` of unsigned integers, integer
#: ``power`` (NumPy refuses negative exponents) and the rest stay library calls there.
INT_OK = frozenset("""
add subtract multiply square maximum minimum greater greater_equal less less_equal equal not_equal
logical_and logical_or logical_xor logical_not
""".split())

#: The most steps one kernel takes (a longer run is cut into several): Numba's compile time grows
#: faster than a kernel's length (2-core AMD EPYC: 1.3 s for 282 steps, 3.5 s for 565, 13 s for 1132,
#: 147 s for 2750), so the cut bounds each kernel's time, though a backward cut from its forward then
#: takes the values it needs as arguments (W1 with 400 ops: 12.8 s for 600 + 532 steps).
MAX_RUN = 600

_KINDS = "fiub"
_PURE = ("op", "coerce", "const", "call", "input")


class Kernel:
    """A fused run: ``fn(*inputs, *outputs, *targets)`` over arrays of the run's shape."""

    __slots__ = ("fn", "shape", "ins", "outs", "targets", "n_ops", "names")

    def __init__(self, fn: Any, shape: tuple, ins: list, outs: list, targets: list, n_ops: int, names: list) -> None:
        self.fn = fn
        self.shape = shape
        self.ins = ins  # (reference, whether it must be broadcast to ``shape``)
        self.outs = outs  # (slot, dtype): new results
        self.targets = targets  # slots written in place (after ``outs`` among the arguments)
        self.n_ops = n_ops
        self.names = names


def _shape_of(s: Any) -> tuple | None:
    """The result shape of an elementwise step ``s``, or None when it cannot be fused."""
    if s.kind == "op":
        ex = s.extra
        if ex[4] is None or ex[3] is not None:
            return None
        how, loop, ins, shape, dtype, params = ex[4]
        if how == "ufunc":
            if s.fn.ufunc.__name__ not in FUSABLE or not _loop_ok(s.fn.ufunc.__name__, loop, s.ins):
                return None
        dts = list(loop or ()) + [m[1] for m in ins if m is not None] + [dtype]
        if any(not _numba_dtype(d) for d in dts):
            return None
        if how == "scalar":  # (its form, tried on the operands' dtypes: one that refuses stays out of a run)
            stub = _Namespace(lambda v: "c", lambda d: "f", lambda u: "u")
            try:
                v = s.fn.scalar(stub, *(r[1] if r[0] == "c" else _Sym("x", m[1]) for r, m in zip(s.ins, ins)), **params)
            except (AttributeError, TypeError, ValueError, OverflowError):
                return None
            if isinstance(v, _Sym) and _float_to_int(v.dtype, dtype):
                return None
        return shape
    if s.kind == "write" and s.params is not None and s.ins[0][0] == "s":  # ``t -= v`` and the like, in place
        (tshape, tdt, _), vm = s.params
        uf = _inplace_ufunc(s)
        if uf is None or uf.__name__ not in FUSABLE or not _numba_dtype(tdt) or (vm is not None and not _numba_dtype(vm[1])):
            return None
        try:
            loop = uf.resolve_dtypes((tdt, vm[1] if vm is not None else type(s.ins[1][1]), None))
        except (TypeError, ValueError):
            return None
        if not _loop_ok(uf.__name__, loop, s.ins) or not all(_numba_dtype(d) for d in loop) or _float_to_int(loop[-1], tdt):
            return None
        return tshape
    if s.kind == "call" and getattr(s.fn, "fusion", None) == "repair" and s.extra is not None:
        metas = [m for m in s.extra if m is not None]
        shape = metas[0][0]
        if all(m[0] == shape and m[1].kind in _KINDS for m in metas) and all(m[1].kind == "f" for m in metas[1:]):
            return shape
    return None


def _float_to_int(src: Any, dst: Any) -> bool:
    """Whether a value of dtype ``src`` is converted to the integer dtype ``dst``: out of range, that
    conversion is undefined in C, and Numba's answer (the CPU's) is not NumPy's (``uint32 += -3e9``)."""
    return numpy.dtype(src).kind in "fc" and numpy.dtype(dst).kind in "iub"


def _inplace_ufunc(s: Any) -> Any:
    """The ufunc an in-place write step applies (``t = f(t, v)``), or None."""
    if s.fn == "iadd":
        return numpy.add
    if s.fn == "into":
        return getattr(s.extra, "_inplace_ufunc", None)
    return None


def _loop_ok(name: str, loop: Any, refs: tuple) -> bool:
    """Whether ufunc ``name`` on loop dtypes ``loop`` fuses: integer loops only for ``INT_OK``, and each
    Python number among the operands ``refs`` exactly representable in its loop dtype (NumPy compares
    ``int8_array > 1000`` exactly; a kernel would have to convert 1000 to int8)."""
    if any(numpy.dtype(d).kind in "iu" for d in loop[:-1]) and name not in INT_OK:
        return False
    for r, d in zip(refs, loop):
        d = numpy.dtype(d)
        if r[0] == "c" and type(r[1]) is int and d.kind in "iu":
            info = numpy.iinfo(d)
            if not info.min <= r[1] <= info.max:
                return False
    return True


def _numba_dtype(d: Any) -> bool:
    d = numpy.dtype(d)
    return d.kind in _KINDS and not (d.kind == "f" and d.itemsize == 2)  # (Numba has no float16 arithmetic)


class _Sym:
    """A value inside a kernel while an op's ``scalar`` form is written: its code and dtype."""

    __slots__ = ("code", "dtype")

    def __init__(self, code: str, dtype: Any) -> None:
        self.code = code
        self.dtype = numpy.dtype(dtype)


class _Namespace:
    """The ``m`` an op's ``scalar`` form calls: each ufunc by name (its loop chosen by NumPy's rules
    for the operands' dtypes, Python numbers weak), and ``where(c, a, b)``."""

    def __init__(self, const: Callable[[Any], str], cast: Callable[[Any], str], fn: Callable[[Any], str]) -> None:
        self._const, self._cast, self._fn = const, cast, fn

    def _arg(self, v: Any, dt: Any) -> str:
        if isinstance(v, _Sym):
            return v.code if v.dtype == numpy.dtype(dt) else f"{self._cast(dt)}({v.code})"
        return self._const(numpy.dtype(dt).type(v))

    def where(self, c: Any, a: Any, b: Any) -> _Sym:
        dt = numpy.result_type(*(x.dtype if isinstance(x, _Sym) else x for x in (a, b)))
        cond = c.code if isinstance(c, _Sym) else repr(bool(c))
        return _Sym(f"({self._arg(a, dt)} if {cond} else {self._arg(b, dt)})", dt)

    def __getattr__(self, name: str) -> Callable:
        uf = getattr(numpy, name, None)
        if not isinstance(uf, numpy.ufunc) or name not in FUSABLE:
            raise AttributeError(f"{name} is not a ufunc a fused kernel can call")

        def call(*args: Any) -> _Sym:
            dts = uf.resolve_dtypes(tuple(a.dtype if isinstance(a, _Sym) else type(a) for a in args) + (None,))
            if not _loop_ok(name, dts, tuple(("s", None) if isinstance(a, _Sym) else ("c", a) for a in args)):
                raise ValueError(f"{name} on {dts} does not fuse")
            return _Sym(f"{self._cast(dts[-1])}({_apply(uf, [self._arg(a, d) for a, d in zip(args, dts)], self._fn)})",
                        dts[-1])
        return call


def plan(steps: list, later: set, reads: Callable[[Any], list], step: Callable[..., Any],
         unfused: list) -> tuple[list, list]:
    """``steps`` with each fusable run replaced by a ``fused`` step made by ``step`` (the ``Step``
    class; ``reads(s)``: the slots step ``s`` reads; ``later``: the slots read after these steps),
    and the kernels made; why a run got no kernel is appended to ``unfused``."""
    out: list = []
    kernels: list = []
    run: list = []
    shape: Any = None
    made: set = set()  # slots the run makes
    deferred: list = []  # steps that read the run: after it
    deferred_made: set = set()
    run_start = 0

    def flush() -> None:
        nonlocal run, deferred, deferred_made, made
        if len(run) >= 2:
            read_after: set = set(later)
            members = {id(s) for s in run}
            for s in steps[run_start:]:
                if id(s) not in members:
                    read_after.update(reads(s))
            k = _kernel(run, shape, made & read_after)
            if isinstance(k, str):
                if k:
                    unfused.append(f"{len(run)} step(s) on shape {shape} from {run[0].where or 'the backward'}: {k}")
                out.extend(run)
            else:
                kernels.append(k)
                out.append(step("fused", k, tuple(r for r, _ in k.ins) + tuple(("s", t) for t in k.targets), None,
                                tuple(o for o, _ in k.outs), k, run[0].where))
        else:
            out.extend(run)
        out.extend(deferred)
        run, deferred, deferred_made, made = [], [], set(), set()

    for i, s in enumerate(steps):
        sh = _shape_of(s)
        got = set(reads(s))
        if run:
            if sh is not None and sh == shape and s.kind == "write":
                # an in-place write ends the run it joins: every member reads the target's old values (the
                # kernel loads an element before it writes it; an input that may share the target's memory
                # is copied first, see Program), and no step waits to run after it (one could read the
                # target, or a view of it, before the write)
                t = s.ins[0][1]
                if len(run) < MAX_RUN and not deferred and t not in made:
                    run.append(s)
                    flush()
                    continue
                flush()
                out.append(s)
                continue
            if sh is not None and sh == shape:
                if len(run) < MAX_RUN and not (got & deferred_made):
                    run.append(s)
                    made.update(o for o in s.outs if o is not None)
                    continue
                flush()  # (the run is full, or this step reads a step that must follow the run: a new run)
            elif s.kind in _PURE or (s.kind == "vjp" and not s.fn.writes_into):
                if got & (made | deferred_made):
                    deferred.append(s)
                    deferred_made.update(o for o in s.outs if o is not None)
                else:
                    out.append(s)  # (it reads nothing the run makes: it runs before the run)
                continue
            else:
                flush()
        if sh is not None and s.kind != "write":
            run, shape, run_start = [s], sh, i
            made = {o for o in s.outs if o is not None}
        else:
            out.append(s)
    flush()
    return out, kernels


def _kernel(run: list, shape: tuple, outputs: set) -> Kernel | str:
    """The Numba kernel of a run, or why there is none (the run then replays op by op)."""
    env: dict[str, Any] = {}
    names: dict[Any, str] = {}

    def const(v: Any) -> str:
        n = f"C{len(env)}"
        env[n] = v
        return n

    loads: dict[int, str] = {}  # external slot -> its argument name
    ins: list = []
    in_types: list = []
    local: dict[int, Any] = {}  # slot made in the run -> its dtype
    ln: dict[int, str] = {}  # slot -> its name in the kernel (numbered in order: equal runs, equal sources)

    def lname(slot: int, prefix: str) -> str:
        if slot not in ln:
            ln[slot] = f"{prefix}{len(ln)}"
        return ln[slot]

    ext_dtype: dict[int, Any] = {}
    body: list[str] = []
    kshape = shape if shape != () else (1,)
    idx = ", ".join(f"i{d}" for d in range(len(kshape)))

    def operand(r: tuple, dt: Any, meta: Any) -> str:
        """Code for one operand converted to dtype ``dt`` (the loop's)."""
        if r[0] == "c":
            return const(numpy.dtype(dt).type(r[1]))
        slot = r[1]
        if slot in local:
            have = local[slot]
            code = ln[slot]
        else:
            if slot not in loads:
                name = f"a{len(ins)}"
                loads[slot] = name
                mshape, mdtype, contig = meta
                bcast = mshape != kshape
                ins.append((r, bcast))
                in_types.append((mdtype, len(kshape), contig and not bcast))
                ext_dtype[slot] = mdtype
                lname(slot, "x")
            have = ext_dtype[slot]
            code = ln[slot]
        if numpy.dtype(have) != numpy.dtype(dt):
            code = f"{cast(dt)}({code})"
        return code

    def ufunc(uf: Any) -> str:
        key = ("u", uf.__name__)
        if key not in names:
            names[key] = const(uf)
        return names[key]

    def cast(dt: Any) -> str:
        key = ("cast", numpy.dtype(dt).str)
        if key not in names:
            names[key] = const(numpy.dtype(dt).type)
        return names[key]

    n_ops = 0
    opnames: list = []
    targets: list = []
    # a target written in place is read from its own argument, not passed twice: Numba cannot vectorize a
    # loop whose input and output may be the same memory (3x slower on a 784x512 SGD update)
    for j, s in enumerate(x for x in run if x.kind == "write"):  # (one: a write ends its run)
        slot = s.ins[0][1]
        loads[slot] = f"w{j}"
        ext_dtype[slot] = s.params[0][1]
        lname(slot, "x")
    for s in run:
        if s.kind == "op":
            how, dts, metas, _, dt, params = s.extra[4]
            o = s.outs[0]
            if how == "ufunc":
                uf = s.fn.ufunc
                args = [operand(r, dts[j], metas[j]) for j, r in enumerate(s.ins)]
                body.append(f"{lname(o, 't')} = {cast(dt)}({_apply(uf, args, ufunc)})")
            else:  # the op's declared scalar form, written with the operands as they are
                syms = [r[1] if r[0] == "c" else _Sym(operand(r, metas[j][1], metas[j]), metas[j][1])
                        for j, r in enumerate(s.ins)]
                try:
                    v = s.fn.scalar(_Namespace(const, cast, ufunc), *syms, **params)
                except (AttributeError, TypeError, ValueError, OverflowError) as e:
                    return f"the scalar form of {s.fn.name} does not apply ({e})"
                body.append(f"{lname(o, 't')} = {cast(dt)}({v.code if isinstance(v, _Sym) else const(v)})")
            local[o] = dt
            opnames.append(s.fn.name)
        elif s.kind == "write":  # t = f(t, v), into t's own memory
            (tshape, tdt, tc), vm = s.params
            uf = _inplace_ufunc(s)
            loop = uf.resolve_dtypes((tdt, vm[1] if vm is not None else type(s.ins[1][1]), None))
            tcode = operand(s.ins[0], loop[0], (tshape, tdt, tc))
            vcode = operand(s.ins[1], loop[1], vm)
            name = f"w{len(targets)}"
            body.append(f"{name}v = {cast(tdt)}({_apply(uf, [tcode, vcode], ufunc)})")
            targets.append((s.ins[0][1], tdt, tc))
            opnames.append(f"{uf.__name__} in place")
        else:  # the repair of a singular op's cotangents: zero where g is zero and the cotangent is not finite
            g = operand(s.ins[0], s.extra[0][1], (s.extra[0][0], s.extra[0][1], False))
            fin = ufunc(numpy.isfinite)
            nin = len(s.ins) - 1
            for j in range(nin):
                r, o = s.ins[1 + j], s.outs[j]
                if o is None:
                    continue
                m = s.extra[1 + j]
                dt = m[1]
                v = operand(r, dt, (m[0], dt, False))
                zero = const(numpy.dtype(dt).type(0))
                body.append(f"{lname(o, 't')} = {v} if ({g} != 0 or {fin}({v})) else {zero}")
                local[o] = dt
            opnames.append("repair")
        n_ops += 1
    outs = [(o, local[o]) for o in sorted(outputs) if o in local]
    if not outs and not targets:
        return ""  # (nothing it makes is read: no kernel, and nothing to say)
    params = [f"a{j}" for j in range(len(ins))] + [f"o{j}" for j in range(len(outs))] + \
        [f"w{j}" for j in range(len(targets))]
    lines = [f"def fused({', '.join(params)}):"]
    pad = "    "
    first = params[len(ins)]  # (an output, or a target: its shape is the loop's)
    for d in range(len(kshape)):
        lines.append(f"{pad}for i{d} in range({first}.shape[{d}]):")
        pad += "    "
    for slot, name in loads.items():
        lines.append(f"{pad}{ln[slot]} = {name}[{idx}]")
    lines.extend(pad + b for b in body)
    for j, (o, _) in enumerate(outs):
        lines.append(f"{pad}o{j}[{idx}] = {ln[o]}")
    for j in range(len(targets)):
        lines.append(f"{pad}w{j}[{idx}] = w{j}v")
    src = "\n".join(lines) + "\n"
    types = in_types + [(dt, len(kshape), True) for _, dt in outs] + [(dt, len(kshape), c) for _, dt, c in targets]
    try:
        fn = numba_kernels.compile_kernel(src, "fused", env, types)
    except Exception as e:  # a ufunc or dtype Numba does not compile: this run replays op by op
        return f"Numba did not compile it ({type(e).__name__}: {str(e).strip().splitlines()[0][:120]})"
    return Kernel(fn, shape, ins, outs, [t for t, _, _ in targets], n_ops, opnames)
