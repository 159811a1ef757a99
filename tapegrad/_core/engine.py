"""The backward engine: one iterative reverse sweep over the tape."""
from __future__ import annotations

import operator
from weakref import ref as _weakref
from typing import Any, Sequence, overload

import numpy

from . import mode
from . import site as _site
from .anomaly import STATE as _ANOMALY, check as _check_anomaly
from .site import FORWARD, SITE, cite
from .array import OPS, Array, _value_read, write_buffer
from .errors import NO_INPUTS, NOT_IN_GRAPH, NOT_VARIABLE, AutogradError, GradShapeError
from .node import BACKWARDS, EAGER_LEAVES, WRITES, Node
from ..backend import ones_like

_ARR = numpy.ndarray
_WRITE_GRAD = Array._write_grad

_SECOND_BACKWARD = (
    "Trying to backward through the graph a second time (or directly access saved tensors after they "
    "have already been freed). Saved intermediate values of the graph are freed when you call .backward() "
    "or autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second "
    "time or if you need to access saved tensors after calling backward."
)


#: The last backward pass: (serial, the user's (code, offset) that called it or None, weak references to
#: its heads' nodes, whether it returned the gradients rather than writing them: ``autograd.grad``);
#: ``BACKWARDS`` (from ``node``) counts them. ``explain`` reads them.
LAST: list = [None]


def add_or_none(a: Any, b: Any) -> Any:
    """``a + b``, None being zero (raw buffers in a raw backward: ``add`` then runs raw). Also the
    op rules' helper for sums of tangents (``ops._util``)."""
    if a is None:
        return b
    if b is None:
        return a
    return OPS.add(a, b)


def _deposit(grads: dict, node: Node, idx: int | None, g: Any, rec: Any = None) -> None:
    """Add cotangent ``g`` for output ``idx`` of ``node`` (``rec``: a compiled call's recorder, in a raw
    backward: the sums are reported to it)."""
    if idx is None:
        prev = grads.get(node)
        grads[node] = g if prev is None else _raw_op(rec, OPS.add, prev, g) if rec is not None else add_or_none(prev, g)
    else:
        slot = grads.get(node)
        if slot is None:
            slot = grads[node] = [None] * node.nout
        prev = slot[idx]
        slot[idx] = g if prev is None else _raw_op(rec, OPS.add, prev, g) if rec is not None else add_or_none(prev, g)


def _raw_op(rec: Any, op: Any, *args: Any, **params: Any) -> Any:
    """``op(*args, **params)`` on raw buffers, reported to a compiled call's recorder."""
    out = op(*args, **params)
    rec.raw_op(op, args, params, out)
    return out


def _collect(heads: Sequence[Node], strict: bool, is_target, leaves_only: bool = False) -> list[Node]:
    """The nodes on a path from the heads to a target, latest first. Iterative: deep graphs are fine.

    A node leads to a target when it is one or a parent of it does; parents are older (smaller seq),
    so one pass in creation order settles it. Only those nodes are visited by backward, and only
    they must still hold their saved values (``strict``: must not have been freed at all).
    ``leaves_only``: only variables can be targets (``is_target`` is not asked about op nodes)."""
    seen = set(heads)
    stack = list(heads)
    while stack:
        n = stack.pop()
        for p in n.parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    useful: set = set()
    order = []
    for n in sorted(seen, key=_SEQ):
        hit = (n.op is None or not leaves_only) and is_target(n)
        if not hit:
            for p in n.parents:  # None (a constant) is never in useful
                if p in useful:
                    hit = True
                    break
        if hit:
            useful.add(n)
            order.append(n)
            if strict and n.freed:
                raise cite(AutogradError(NOT_IN_GRAPH), n)
    order.reverse()
    return order


_SEQ = operator.attrgetter("seq")


@overload
def backward(heads: Sequence[Array], head_grads: Sequence[Any] | None = None, *, retain_graph: bool = False,
             create_graph: bool = False, variables: None = None, train_mode: bool | None = None,
             implicit_ones: bool = True, inputs: Sequence[Array] | None = None,
             unreached: list | None = None) -> None: ...
@overload
def backward(heads: Sequence[Array], head_grads: Sequence[Any] | None = None, *, retain_graph: bool = False,
             create_graph: bool = False, variables: Sequence[Array], train_mode: bool | None = None,
             implicit_ones: bool = True, inputs: Sequence[Array] | None = None,
             unreached: list | None = None) -> list: ...
def backward(heads: Sequence[Array], head_grads: Sequence[Any] | None = None, *, retain_graph: bool = False,
             create_graph: bool = False, variables: Sequence[Array] | None = None,
             train_mode: bool | None = None, implicit_ones: bool = True,
             inputs: Sequence[Array] | None = None, unreached: list | None = None) -> list | None:
    """Propagate cotangents from ``heads`` back through the tape.

    With ``variables`` None, gradients go into the variables' buffers (each array class decides
    how, see ``Array._write_grad``), restricted to ``inputs`` when given. Otherwise the gradients
    with respect to ``variables`` (leaves or intermediate results) are returned, None where the
    heads do not reach, and no buffer is touched; ``unreached``, when given, receives the indices
    of those variables (None in the results also stands for a zero cotangent that did reach). Error
    texts come from the heads' array class.
    """
    if head_grads is None:
        head_grads = [None] * len(heads)
    if len(head_grads) != len(heads):
        raise ValueError(f"heads and head_grads must be lists of the same length: {len(heads)} heads, "
                         f"{len(head_grads)} head gradients")
    grads: dict = {}
    given = []  # the head gradients passed in (raw), which a rule must not overwrite (see _offers)
    owned: set = set()  # leaves whose cotangent is a buffer nothing else holds (see _fresh)
    read = None
    roots = []
    strict = True
    # With no graph to build (and no forward trace watching), rules run on raw buffers: ops inside
    # them skip Arrays, the tape and dispatch. Otherwise they run on Arrays, recorded if create_graph.
    # A compiled call's recorder (see ``capture``) takes the rules of a raw backward whole, as steps.
    recorder = mode.RECORDER.get()
    raw = not create_graph and mode.ACTIVE.get() == mode.RAW.get() + (recorder is not None)  # (both count in ACTIVE)
    rec = recorder if raw else None  # (otherwise the rules' ops reach it one by one, through dispatch)
    for i, (h, hg) in enumerate(zip(heads, head_grads)):
        if not isinstance(h, Array):
            raise TypeError(f"backward heads must be arrays, got {type(h).__name__}")
        cls = type(h)
        node = h._node
        if node is None:  # (noted as a backward whose heads have no graph, for ``explain``)
            BACKWARDS[0] += 1
            LAST[0] = (BACKWARDS[0], _site.here(1) if SITE[0] is not False else None, [],
                       variables is not None)
            raise AutogradError(cls._err_no_graph(i))
        strict = strict and cls._strict_free
        d = h._data
        if hg is None:
            if not implicit_ones and d.size != 1:
                raise AutogradError("grad can be implicitly created only for scalar outputs")
            hg = numpy.ones(d.shape, d.dtype) if type(d) is _ARR else ones_like(d)
            if recorder is not None:
                recorder.constant(hg)
            if not raw:
                hg = cls._make(hg)
        else:
            if not isinstance(hg, Array):
                hg = cls._make(cls._coerce(hg))
            if hg.shape != h.shape:
                raise cite(GradShapeError(cls._err_head_shape(i, hg.shape, h.shape)), node)
            if (hg._data.dtype.kind == "c") != (d.dtype.kind == "c"):  # a complex gradient of a real head, or back
                raise cite(AutogradError(cls._err_head_dtype(i, hg._data.dtype, d.dtype)), node)
            given.append(hg._data)
            if raw:
                hg = hg._data
        _deposit(grads, node, h._idx, hg, rec)
        roots.append(node)

    lines = SITE[0] is not False  # (source lines on)
    bsite = _site.here(1) if lines else None  # the user's line of this backward
    by = bsite or True  # what the nodes it frees remember
    BACKWARDS[0] += 1
    serial = BACKWARDS[0]
    LAST[0] = (serial, bsite, [_weakref(n) for n in roots], variables is not None)
    wanted: dict | None = None
    only = None if inputs is None else {v._node for v in inputs if isinstance(v, Array)}
    if variables is not None:
        wanted = {}
        for i, v in enumerate(variables):
            if not isinstance(v, Array) or v._node is None:
                raise AutogradError(NOT_VARIABLE.format(i=i + 1))
            wanted.setdefault(v._node, []).append((i, v._idx))
        order = _collect(roots, strict, wanted.__contains__)
        if unreached is not None:
            hit = {n for n in order if n in wanted}
            unreached.extend(i for n, pairs in wanted.items() if n not in hit for i, _ in pairs)
    else:
        order = _collect(roots, strict, only.__contains__ if only is not None else _writable_leaf,
                         leaves_only=only is None)
        if not order:
            raise AutogradError(NO_INPUTS)
        if EAGER_LEAVES[0]:  # some variable waits for its gradient (a post-accumulate hook: DDP)
            order = _leaves_early(order, given)

    results: list = [None] * (len(variables) if variables is not None else 0)
    scope = mode.StateScope(recording=create_graph, grad_enabled=create_graph, training=train_mode, raw=raw)
    cite_fwd = lines and not raw  # the nodes the rules record cite their forward's line (``site.FORWARD``)
    anomaly = _ANOMALY[0] and rec is None  # (a compiled call's replay does not check)
    with scope:
        node = None
        outer = _site.rules_begin() if cite_fwd else None
        try:
            for node in order:
                if cite_fwd:  # (hooks and the variables' gradient buffers cite their own lines)
                    FORWARD.site = outer
                g = grads.pop(node, None)
                if node.hooks is not None and g is not None:
                    g = _run_hooks(node, g, raw)
                    owned.discard(node)
                if wanted is not None and node in wanted:
                    for i, idx in wanted[node]:
                        results[i] = g if idx is None else (g[idx] if g is not None else None)
                op = node.op
                if op is None:
                    if wanted is None and (only is None or node in only):
                        d = node.__dict__  # which backward wrote it, and the one before (for ``explain``)
                        d["wrote_before"] = d.get("wrote")
                        d["wrote"] = (serial, bsite) if g is not None else (serial, bsite, None)  # (None: zero written)
                        _write_leaf(node, g, create_graph, raw, node in owned)
                    continue
                if g is None or (node.nout is not None and all(x is None for x in g)):
                    if not retain_graph:
                        node.release(by)
                    continue
                if node.freed and (op.save_in or op.save_out):
                    raise AutogradError(NOT_IN_GRAPH if strict else _SECOND_BACKWARD)
                if node.vcheck is not None and node.vstamp != WRITES[0]:  # some array was written since
                    _check_versions(node)
                if not raw:
                    if cite_fwd:  # the nodes of its gradient (the rule's, the sums below) cite this node's line
                        FORWARD.site = (node.code, node.lasti) if node.code is not None else outer
                    gin = op.run_vjp(node, g)
                elif rec is not None and rec.fine and op.elementwise and op.raw_ok:
                    gin = _run_wrapped(node, g)  # (an elementwise rule's ops reach the recorder one by one, to fuse)
                elif rec is not None:  # the rule, whole, is one step of the compiled call
                    if not op.raw_ok:
                        rec.refuse(f"the custom gradient rule of {op.name!r}")
                    outs = None
                    if op.raw_ok and op.writes_into and wanted is None:  # (the offer, as below: replayed too)
                        if read is None:
                            read = _read_buffers(order, given)
                        outs = _offers(node, grads, only, read)
                    rec.mute += 1
                    try:
                        gin = op.run_raw(node, g, outs) if op.raw_ok else _run_wrapped(node, g)
                    finally:
                        rec.mute -= 1
                    rec.vjp(op, node, g, gin, outs)
                elif op.raw_ok:
                    outs = None
                    if op.writes_into and wanted is None:
                        if read is None:
                            read = _read_buffers(order, given)
                        outs = _offers(node, grads, only, read)
                    gin = op.run_raw(node, g, outs)
                else:
                    gin = _run_wrapped(node, g)
                if op.singular:
                    if rec is not None:  # the check and its repair are one step of the compiled call
                        new = _zero_stays_zero_raw(g, *gin)
                        rec.call(_zero_stays_zero_raw, (g, *gin), new)
                        gin = new
                    else:
                        gd = g if raw else g._data
                        n = gd.size  # (``_no_zero``, inline: this runs for every singular node)
                        nonzero = (bool(gd) if n == 1 else numpy.count_nonzero(gd) == n if type(gd) is _ARR and n <= 4096
                                   else bool(gd.all()))
                        if not raw and mode.ACTIVE.get():  # (a compiled call's backward that builds a graph)
                            _value_read("all", gd, nonzero)
                        if not nonzero:  # some cotangent entry is zero
                            gin = _zero_stays_zero(g, gin, raw)
                if anomaly:
                    _check_anomaly(node, g, gin)
                parents = node.parents
                if len(gin) != len(parents):
                    raise AutogradError(f"the VJP of {op.name!r} returned {len(gin)} cotangents for "
                                        f"{len(parents)} inputs; this is a bug in the op's rule")
                i = -1
                for p in parents:
                    i += 1
                    if p is None:
                        continue
                    gi = gin[i]
                    if gi is None:
                        continue
                    if raw and type(gi) is not _ARR:
                        if rec is not None:
                            new = _as_buffer(gi)
                            rec.call(_as_buffer_1, (gi,), (new,))
                            gi = new
                        else:
                            gi = _as_buffer(gi)
                    d = gi if raw else gi._data
                    shape = node.shapes[i]
                    if d.shape != shape:
                        if op.broadcast:
                            gi = OPS.sum_to(gi, shape) if rec is None else _raw_op(rec, OPS.sum_to, gi, shape)
                        elif getattr(op, "user_rule", False):  # a custom Function's backward: the user's
                            raise AutogradError(node.cls._err_custom_shape(node, i, d.shape, shape))
                        else:
                            raise AutogradError(f"the VJP of {op.name!r} returned a cotangent of shape "
                                                f"{d.shape} for input {i} of shape {shape}; this is a bug")
                        d = gi if raw else gi._data
                    dt = node.dtypes[i]
                    if dt is not None and d.dtype is not dt and d.dtype != dt and dt.kind in "fc":
                        if d.dtype.kind == "c" and dt.kind == "f":
                            gi = OPS.real(gi) if rec is None else _raw_op(rec, OPS.real, gi)  # the real part (HIPS/JAX)
                            d = gi if raw else gi._data
                        if d.dtype != dt:
                            gi = OPS.astype(gi, dt) if rec is None else _raw_op(rec, OPS.astype, gi, dt)
                    if raw and p.op is None and p.cls._write_grad is not _WRITE_GRAD:  # a leaf whose dialect
                        # may keep this buffer as the gradient (Array's own ``_write_grad`` copies it)
                        if p not in grads and _fresh(gi, g, gin, i, node):
                            owned.add(p)
                        elif p in grads:
                            owned.add(p)  # the sum made below is a new buffer
                        else:
                            owned.discard(p)
                    if node.pidx is None and rec is None:  # _deposit for a whole (single) output, inline: the hot case
                        prev = grads.get(p)
                        grads[p] = gi if prev is None else OPS.add(prev, gi)
                    else:
                        _deposit(grads, p, None if node.pidx is None else node.pidx[i], gi, rec)
                if not retain_graph:
                    node.release(by)
        except BaseException as e:  # the user's line of the node whose gradient failed, as a note
            if node is not None:
                cite(e, node)
            raise
        finally:
            if cite_fwd:
                _site.rules_end(outer)
    if raw and variables is not None:
        cls = type(heads[0])
        results = [_wrap(cls, r) for r in results]
    return results if variables is not None else None


def _leaves_early(order: list, given: list) -> list:
    """``order`` with each variable that waits for its gradient (``Node.eager``: it has post-accumulate
    hooks) moved to just after the last of its consumers to run, instead of at the end (variables are
    older than the ops that use them): its gradient is written, and its hooks run, as soon as it is
    complete, while the rest of the backward goes on. A variable whose gradient buffer the graph saved
    (or a view of it) stays where it was, so no rule reads that buffer after the write."""
    first: dict = {}
    for n in order:  # (latest first: the last assignment is the consumer that runs last)
        for p in n.parents:
            if p is not None and p.op is None and p.eager:
                first[p] = n.seq
    if not first:
        return order
    read = _read_buffers(order, given)
    for p in list(first):
        v = p.var() if p.var is not None else None
        buf = v._grad_value() if v is not None else None
        if buf is not None and (id(buf) in read or (getattr(buf, "base", None) is not None and id(buf.base) in read)):
            del first[p]
    return sorted(order, key=lambda n: first[n] - 0.5 if n in first else n.seq, reverse=True)


def _offers(node: Node, grads: dict, only: set | None, read: set) -> tuple:
    """For a rule that can write into a buffer (``Op.writes_into``): per input, the variable's own
    gradient buffer where the rule's cotangent will be that variable's whole gradient, else None.

    Offered: a variable with ``grad_req='write'`` filled by Array's own ``_write_grad``, that no
    cotangent has reached yet (a later one is added to the buffer's content, out of place), whose
    buffer matches the input's shape and dtype and is not read during this backward: ``read`` holds
    the ids of the buffers the graph's nodes saved and of the head gradients (and of the memory
    they view). One buffer is offered once per node (``dot(x, x)``)."""
    outs = []
    for i, p in enumerate(node.parents):
        buf = None
        if p is not None and p.op is None and p.var is not None and p not in grads and (only is None or p in only):
            v = p.var()
            if (v is not None and v._node is p and v._grad_req == "write" and type(v)._write_grad is _WRITE_GRAD
                    and p not in node.parents[:i]):
                buf = v._grad
                if (type(buf) is not _ARR or buf.shape != node.shapes[i] or buf.dtype != node.dtypes[i]
                        or id(buf) in read):
                    buf = None
        outs.append(buf)
    return tuple(outs)


def _read_buffers(order: list, given: list) -> set:
    """The ids of the buffers a backward over ``order`` may read besides its cotangents: what the
    nodes saved, and the head gradients ``given``; for a view, also the memory it views."""
    bufs = list(given)
    for n in order:
        if n.op is not None:
            bufs.extend(n.saved or ())
            bufs.extend(n.out if n.nout is not None else (n.out,))
    ids: set = set()
    for b in bufs:
        if type(b) is _ARR:
            ids.add(id(b))
            if b.base is not None:
                ids.add(id(b.base))
    return ids


def _wrap(cls: type[Array], g: Any) -> Any:
    """Arrays of ``cls`` for a raw cotangent (or a list of them, for a multi-output node)."""
    if g is None:
        return None
    if isinstance(g, list):
        return [_wrap(cls, x) for x in g]
    return cls._make(g)


def _unwrap(g: Any) -> Any:
    """The raw buffers of an Array (or of a list of them); anything else as it is."""
    if isinstance(g, list):
        return [_unwrap(x) for x in g]
    return g._data if isinstance(g, Array) else g


def _as_buffer(gi: Any) -> Any:
    """A rule's raw result as a backend array (NumPy turns 0-d results into scalars)."""
    if isinstance(gi, Array):
        return gi._data
    if isinstance(gi, numpy.generic) or type(gi) in (int, float, complex, bool):
        return numpy.asarray(gi)
    return gi  # a CuPy array


def _run_wrapped(node: Node, g: Any) -> tuple:
    """A custom op's rule (user code taking the dialect's arrays) inside a raw backward."""
    with mode.StateScope(raw=False):
        gin = node.op.run_vjp(node, _wrap(node.cls, g))
    return tuple(_unwrap(x) for x in gin)


def _no_zero(d: Any) -> bool:
    """Whether buffer ``d`` has no zero entry (``count_nonzero`` is the quickest test on small host
    arrays, ``all`` on large ones)."""
    n = d.size
    if n == 1:
        return bool(d)
    if type(d) is _ARR and n <= 4096:
        return numpy.count_nonzero(d) == n
    return bool(d.all())


def _zero_stays_zero_raw(g: Any, *gin: Any) -> tuple:
    """A singular op's cotangents on raw buffers: ``_zero_stays_zero`` where some entry of ``g`` is
    zero (one step of a compiled call, which decides again at every replay)."""
    if _no_zero(g):
        return gin
    return _zero_stays_zero(g, gin, True)


_zero_stays_zero_raw.fusion = "repair"  # type: ignore[attr-defined]  # (compile's fusion writes it inline)


def _as_buffer_1(gi: Any) -> tuple:
    return (_as_buffer(gi),)


def _zero_stays_zero(g: Any, gin: Sequence[Any], raw: bool = False) -> tuple:
    """Where the cotangent is zero, an input cotangent that came out inf or NaN (0 * inf) is zero.

    Only non-finite entries are masked: finite ones stay as the rule computed them, so derivatives
    of the rule with respect to ``g`` itself (higher orders) are untouched. With ``raw``, ``g`` and
    ``gin`` are raw buffers (and so are the ops' results)."""
    zero = OPS.equal(g, 0)
    out = []
    for gi in gin:
        if gi is not None and (gi if raw else gi._data).shape == zero.shape:
            bad = OPS.logical_and(zero, OPS.logical_not(OPS.isfinite(gi)))
            any_bad = bool((bad if raw else bad._data).any())
            if not raw and mode.ACTIVE.get():
                _value_read("any", bad._data, any_bad)
            if any_bad:
                gi = OPS.where(bad, 0.0, gi)
        out.append(gi)
    return tuple(out)


def _run_hooks(node: Node, g: Any, raw: bool = False) -> Any:
    """Apply the tensor hooks registered on this node's outputs (a hook may replace the gradient).
    Hooks are user code: in a raw backward they get the node's arrays, with ops out of raw mode."""
    if raw:
        with mode.StateScope(raw=False):
            return _unwrap(_run_hooks(node, _wrap(node.cls, g)))
    for idx, fn in list(node.hooks or ()):
        cur = g if idx is None else g[idx]
        if cur is None:
            continue
        new = fn(cur)
        if new is not None:
            if idx is None:
                g = new
            else:
                g = list(g)
                g[idx] = new
    return g


def _check_versions(node: Node) -> None:
    """Refuse to use a saved array that was modified in place after it was saved (also through an alias
    that outlived it, in a dialect whose aliases share one version counter)."""
    for ref, version, what in node.vcheck:
        a = ref()
        if a is None:
            a = node.cls._saved_alias(node, what)
        if a is not None and a._version != version:
            raise cite(AutogradError(type(a)._err_modified(a, what, node, version)), node)


def _writable_leaf(node: Node) -> bool:
    """A variable whose gradient buffer a backward fills (its grad_req is not 'null')."""
    return node.op is None and node.var is not None and _req(node) not in (None, "null")


def _req(node: Node) -> str | None:
    v = node.var() if node.var is not None else None
    return None if v is None else v._grad_req


def _write_leaf(node: Node, g: Any, create_graph: bool, raw: bool = False, owned: bool = False) -> None:
    """Give variable ``node.var`` its gradient ``g``; ``owned``: ``g`` is a buffer made in this
    backward for this variable alone, which the variable may keep instead of copying it."""
    v = node.var() if node.var is not None else None
    if v is None or v._node is not node:
        return
    if not raw:
        v._write_grad(g, create_graph)
    elif type(v)._write_grad is _WRITE_GRAD:  # Array's own: buffer work alone, no op to leave raw mode for
        write_buffer(v, g)
    else:
        with mode.StateScope(raw=False):
            v._write_grad(_wrap(node.cls, g), create_graph, owned)


def _fresh(gi: Any, g: Any, gin: tuple, i: int, node: Node) -> bool:
    """Whether the raw cotangent ``gi`` a rule returned for one input owns its memory: a NumPy array
    (or a view of one) whose memory is not that of the incoming cotangent ``g``, of a buffer the node
    saved, or of the cotangent returned for another input than ``i``. (A rule sees nothing else it could
    hand back.)"""
    if type(gi) is not _ARR:
        return False
    root = _root(gi)
    for x in (g if type(g) is list else (g,)):
        if type(x) is _ARR and _root(x) is root:
            return False
    out = node.out
    for x in (*(node.saved or ()), *(out if type(out) is tuple else (out,))):
        if type(x) is _ARR and _root(x) is root:
            return False
    for j, x in enumerate(gin):
        if j != i and type(x) is _ARR and _root(x) is root:
            return False
    return True


def _root(a: Any) -> Any:
    """The array that owns ``a``'s memory (NumPy points a view of a view at the owner)."""
    return a if a.base is None else a.base
