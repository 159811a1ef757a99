"""``explain``: why a variable's gradient is None or zero after a backward, naming the user's lines.

The answer is read from what the tape already holds: the variable's node (``wrote``/``wrote_before``:
which backward passes wrote its gradient, see ``engine._write_leaf``; ``events``: where its history
was cut or its gradient reset, see ``events``), the graph of the heads (parents, ``freed``, ops whose
gradient is zero everywhere: ``Op.flat``) and the last backward (``engine.LAST``). Nothing is recorded
for it beyond those breadcrumbs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import os
from typing import Any, Callable

import numpy

from . import engine
from .array import Array
from .events import Event, events_of, noted
from .functional import _variable
from .mode import StateScope
from .node import Node
from .site import Site, resolve, site_of
from ..backend import to_host

#: What each dialect's words say (an array class overrides ``_explain_terms``): how to mark a variable,
#: what "not recording" is, how to keep a graph, how to sum several backwards.
TERMS = {
    "mark": "differentiate with respect to it (tapegrad.grad(f, argnum=...))",
    "paused": "while not recording",
    "record": "compute it while recording",
    "retain": "pass retain_graph=True to the first backward, or run the forward again",
    "not_leaf": "it is not a variable: differentiate with respect to the variable it was computed from",
    "zeroed": "read or use the gradient before resetting it",
    "add": "read the gradient between the backwards, or make it a variable that sums them",
    "returned": "use the gradients it returned, or call backward() to have them written",
    "reattach": "mark it once, before the forward",
}


@dataclass(frozen=True)
class Step:
    """One op on the path from the variable to the head: its dialect's name and where it was created."""

    name: str
    site: Site | None

    def __str__(self) -> str:
        return f"{self.name} at {_where(self.site)}"


@dataclass(frozen=True)
class Explanation:
    """Why a variable's gradient is None or zero (or, when it is not, which path carries it).

    ``reason``: "not_marked", "not_leaf", "detached", "paused", "nondifferentiable", "unrelated",
    "freed", "overwritten", "zeroed", "reattached" (made a variable again after the head was computed
    from it), "zero" (it reached the variable as zeros), "returned" (the last
    backward was ``autograd.grad``, which returns gradients instead of writing them), "no_backward" or "ok".
    ``line``: the user's line the reason points at (None when there is none). ``text``: the sentence
    ``str()`` gives. ``path``: the ops from the variable to the head (for "ok" and "zero"). ``candidates``:
    every line that may have cut the history, when more than one may have.
    """

    reason: str
    line: Site | None
    text: str
    path: list[Step] = field(default_factory=list)
    candidates: list[Site] = field(default_factory=list)

    @property
    def lineno(self) -> int | None:
        """The line number of ``line``, or None."""
        return None if self.line is None else self.line.lineno

    def __str__(self) -> str:
        return self.text


def explain(x: Any, *args: Any, head: Any = None, argnum: int = 0) -> Explanation:
    """Why ``x``'s gradient is None or zero after a backward, naming the user's lines.

    ``explain(x)``: about the last backward (or ``head``'s graph: ``explain(x, y)``). ``explain(f, *args,
    argnum=0)``, ``f`` callable: runs ``f`` as ``tapegrad.grad`` would and explains the gradient with
    respect to argument ``argnum``. ``str()`` of the result is the explanation; its fields say the same
    for programs (``reason``, ``line``, ``path``)."""
    if callable(x) and not isinstance(x, Array):
        return _explain_function(x, args, argnum)
    if len(args) > 1:
        raise TypeError("explain(x, head=None) takes one array and at most one head; to explain a function, "
                        "pass the function first: explain(f, *args, argnum=0)")
    if args:
        head = args[0]
    if not isinstance(x, Array):
        raise TypeError(f"explain() needs a tapegrad array (or a function first), got {type(x).__name__}")
    if head is not None and not isinstance(head, Array):
        raise TypeError(f"explain()'s head must be a tapegrad array, got {type(head).__name__}")
    g = x._grad_value()
    if head is not None:
        return _analyze(x, g, [head._node] if head._node is not None else [], None, None, type(x))
    last = engine.LAST[0]
    if last is None:
        return _analyze(x, g, None, None, None, type(x))
    serial, bsite, refs, returned = last
    roots = [r() for r in refs]
    if any(r is None for r in roots):  # its heads are gone: their graph cannot be read
        return _analyze(x, g, None, serial, bsite, type(x), returned=returned)
    return _analyze(x, g, roots, serial, bsite, type(x), returned=returned)


def _explain_function(f: Callable, args: tuple, argnum: int) -> Explanation:
    """``explain(f, *args, argnum=...)``: the gradient of ``f``'s output (summed) with respect to one argument."""
    if not -len(args) <= argnum < len(args):
        raise ValueError(f"explain: argnum={argnum} is out of range for a call with {len(args)} positional "
                         "argument(s)")
    args_l = list(args)
    x = _variable(args_l[argnum])
    args_l[argnum] = x
    with StateScope(recording=True, grad_enabled=True):
        out = f(*args_l)
    if not isinstance(out, Array) or out._node is None:
        return _analyze(x, None, [], None, None, type(x), function=True)
    saved = engine.LAST[0]
    try:
        with StateScope(recording=True, grad_enabled=True):
            (g,) = engine.backward([out], retain_graph=True, variables=[x])
    finally:
        engine.LAST[0] = saved  # (the user's last backward stays the one ``explain(x)`` reads)
    return _analyze(x, None if g is None else g._data, [out._node], None, None, type(x), function=True)


# -- the analysis ---------------------------------------------------------------------------------

def _analyze(x: Array, g: Any, heads: list | None, serial: int | None, bsite: Any, cls: Any,
             function: bool = False, returned: bool = False) -> Explanation:
    """The explanation for variable ``x`` with gradient buffer ``g`` (None: none) and ``heads`` (their
    nodes; [] for heads without a graph, None when unknown); ``serial``, ``bsite``: the last backward's;
    ``returned``: it returned its gradients (``autograd.grad``) instead of writing them."""
    terms = {**TERMS, **getattr(cls, "_explain_terms", {})}
    name = "the argument" if function else "the variable"
    n = x._node
    if n is None:
        return Explanation("not_marked", None, f"{name} is not a variable, so no gradient is kept for it: "
                           f"{terms['mark']}.")
    nonzero = g is not None and bool(numpy.any(to_host(g)))
    if n.op is not None and g is None:
        made = site_of(n)
        return Explanation("not_leaf", made, "this array is not a variable but the result of "
                           f"{cls._node_name(n)} at {_where(made)}, and its gradient is not kept: {terms['not_leaf']}.")
    d = n.__dict__
    wrote = d.get("wrote")
    before = d.get("wrote_before")
    ev = events_of(n)
    useful = _useful(heads, n) if heads else set()
    reached_last = serial is None or (wrote is not None and wrote[0] == serial)
    if returned and not reached_last and (heads is None or n in useful):  # autograd.grad: it writes no gradient
        bs = _site(bsite)
        held = f" ({name}'s gradient holds what an earlier backward wrote)" if nonzero else ""
        return Explanation("returned", bs, f"the last backward, at {_where(bs)}, returned its gradients instead of "
                           f"writing them into the variables' gradients{held}: {terms['returned']}.")
    if heads and n in useful and not reached_last:  # the last backward reached x's graph but did not write
        freed = [m for m in useful if m.freed and m.op is not None]
        earlier = [m for m in freed if m.freed != bsite]  # (not those the failed backward freed itself)
        freed = earlier or freed
        if freed:
            m = max(freed, key=_seq)
            by = m.freed
            fsite = resolve(*by) if isinstance(by, tuple) else None
            held = f" ({name}'s gradient still holds what an earlier backward wrote)" if nonzero else ""
            return Explanation("freed", fsite, f"the graph between {name} and the head was freed by the backward "
                               f"at {_where(fsite)}, so the backward at {_where(_site(bsite))} could not run through "
                               f"{cls._node_name(m)} (created at {_where(site_of(m))}){held}: {terms['retain']}.")
    if nonzero:
        path = _path(heads, n, cls) if heads else []
        if path:
            chain = "\n".join(f"  {s}" for s in path)
            return Explanation("ok", None, f"{name}'s gradient is nonzero; it flows from the head through:\n{chain}",
                               path)
        return Explanation("ok", None, f"{name}'s gradient is nonzero.")
    z = ev.get("zeroed")
    if z is not None and wrote is not None and len(wrote) == 2 and z.serial >= wrote[0] \
            and (serial is None or z.serial >= serial):
        zs = _esite(z)
        return Explanation("zeroed", zs, f"{name}'s gradient was reset at {_where(zs)} after the backward at "
                           f"{_where(_site(wrote[1]))} wrote it: {terms['zeroed']}.")
    if (x._grad_req == "write" and wrote is not None and before is not None and len(before) == 2
            and wrote[0] > before[0] and (z is None or z.serial < wrote[0])):
        ms = _site(wrote[1])
        why = ""
        if heads and serial == wrote[0]:
            inner = _why_not(n, heads, useful, cls, name, terms, None)
            if inner is not None and inner.reason != "zero":
                why = f" ({inner.text.rstrip('.')})"
        return Explanation("overwritten", ms, f"the backward at {_where(ms)} wrote zero over {name}'s gradient "
                           f"from the backward at {_where(_site(before[1]))}, as grad_req='write' does{why}: "
                           f"{terms['add']}.")
    if heads is None:
        cand = _cut_explanation(n, None, None, cls, name, terms)
        if cand is not None:
            return cand
        if wrote is None:
            return Explanation("no_backward", None, f"no backward has written {name}'s gradient yet.")
        return Explanation("zero", None, f"the backward at {_where(_site(wrote[1]))} wrote a zero gradient for "
                           f"{name}; its head is gone, so the graph cannot be read: keep the head (loss = ...; "
                           "loss.backward()) and pass it, explain(x, loss), to see why.")
    if wrote is None and not function and n in useful:  # (``explain(x, head)`` before any backward)
        path = _path(heads, n, cls)
        if path:
            chain = "\n".join(f"  {s}" for s in path)
            return Explanation("no_backward", None, f"no backward has written {name}'s gradient yet; the head "
                               f"depends on it through:\n{chain}", path)
    res = _why_not(n, heads, useful, cls, name, terms, bsite)
    assert res is not None
    return res


def _why_not(n: Node, heads: list, useful: set, cls: Any, name: str, terms: dict, bsite: Any) -> Explanation | None:
    """Why the heads' graph gives variable node ``n`` no gradient (``useful``: the nodes on paths from
    ``n`` to the heads)."""
    if n in useful:
        live = _useful(heads, n, through_flat=False)
        if not any(h in live for h in heads):
            cuts = sorted((m for m in useful if m.op is not None and _flat(m)
                           and any(p in useful for p in m.parents)), key=_seq)
            m = cuts[0]
            s = site_of(m)
            more = "".join(f", {cls._node_name(c)} at {_where(site_of(c))}" for c in cuts[1:])
            return Explanation("nondifferentiable", s, f"{name} reaches the head only through ops whose gradient is "
                               f"zero everywhere: {cls._node_name(m)} at {_where(s)}{more}.",
                               candidates=[c for c in (site_of(k) for k in cuts[1:]) if c is not None])
        path = _path(heads, n, cls)
        chain = "\n".join(f"  {s}" for s in path)
        return Explanation("zero", None, f"{name} reaches the head, but the gradient that arrived is zero "
                           f"(the math, not the tape: e.g. a product with zero or an inactive relu), through:\n{chain}",
                           path)
    seen = _graph(heads) if n.replaced and heads else set()
    old = next((m for m in (r() for r in n.replaced) if m is not None and m in seen), None)  # (latest first)
    if old is not None:  # the heads were computed from an earlier attachment of this same array
        s, was = site_of(n), site_of(old)
        return Explanation("reattached", s, f"{name} was made a new variable at {_where(s)}, after the head was "
                           f"computed from the variable it was made at {_where(was)}: the head's graph leads to that "
                           f"one, not to the new one: {terms['reattach']}.")
    cut = _cut_explanation(n, heads, bsite, cls, name, terms)
    if cut is not None:
        return cut
    if not heads:
        return Explanation("unrelated", _site(bsite), f"the head has no graph at all: it was computed from "
                           f"constants or {terms['paused']}, not from {name}.")
    hs = site_of(max(heads, key=_seq))
    return Explanation("unrelated", hs, f"the head (made at {_where(hs)}) does not depend on {name}: "
                       f"no op on the tape leads from {name} to it.")


_WORDS = {"detached": "its history was cut by detach()", "paused": None,
          "nondiff": "it went only through {what}, which has no gradient"}


def _cut_explanation(n: Node, heads: list | None, bsite: Any, cls: Any, name: str, terms: dict) -> Explanation | None:
    """The events on ``n`` or its descendants that cut the history before the heads were made."""
    found: list[tuple[str, Event, Node]] = []
    for k, e in events_of(n).items():
        if k != "zeroed":
            found.append((k, e, n))
    for m in list(noted()):
        if m is not n and _descends(m, n):
            for k, e in events_of(m).items():
                if k != "zeroed":
                    found.append((k, e, m))
    if heads:
        last = max(h.seq for h in heads)
        found = [f for f in found if f[1].seq < last]
    if not found:
        return None
    latest = max(f[1].serial for f in found)  # (events since the latest backward before them: this forward's)
    found = [f for f in found if f[1].serial == latest]
    found.sort(key=lambda f: f[1].seq)
    kind, e, m = found[-1]
    s = _esite(e)
    reason = {"detached": "detached", "paused": "paused", "nondiff": "nondifferentiable"}[kind]
    sites = list(dict.fromkeys(_esite(f[1]) for f in found))
    of = name if m is n else f"a result computed from {name} ({cls._node_name(m)} at {_where(site_of(m))})"
    if kind == "detached":
        what = f"{of} was detached (detach()): the copy is a constant; use {name} itself where the gradient should flow"
    elif kind == "paused":
        what = f"{of} was used by {e.what} {terms['paused']}, so that result is a constant: {terms['record']}"
    else:
        what = (f"{of} went through {e.what}, which has no gradient (a comparison, an index or an integer result), "
                "so that result is a constant")
    if len(sites) == 1:
        return Explanation(reason, s, f"{name} does not reach the head: at {_where(s)} {what}.")
    others = "; ".join(f"{_where(t)} ({f[0]})" for t, f in zip(sites, found) if t != s)
    return Explanation(reason, s, f"{name} does not reach the head; the history may have been cut at {_where(s)}, "
                       f"where {what}; other candidates: {others}.",
                       candidates=[t for t in sites if t is not None])


# -- graph helpers --------------------------------------------------------------------------------

def _seq(n: Node) -> int:
    return n.seq


def _flat(m: Node) -> bool:
    return bool(m.op.is_flat(m.dtypes, m.params))


def _graph(heads: list) -> set:
    """Every node reachable from the heads through parents."""
    seen = set(heads)
    stack = list(heads)
    while stack:
        for p in stack.pop().parents:
            if p is not None and p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _useful(heads: list, n: Node, through_flat: bool = True) -> set:
    """The nodes reachable from the heads that lead to ``n`` (``through_flat`` False: not through an op
    whose gradient is zero everywhere)."""
    useful: set = set()
    for m in sorted(_graph(heads), key=_seq):
        if m is n:
            useful.add(m)
            continue
        if not through_flat and m.op is not None and _flat(m):
            continue
        if any(p in useful for p in m.parents):
            useful.add(m)
    return useful


def _descends(m: Node, n: Node) -> bool:
    """Whether node ``n`` is an ancestor of node ``m``."""
    seen = {m}
    stack = [m]
    while stack:
        for p in stack.pop().parents:
            if p is n:
                return True
            if p is not None and p not in seen and p.seq > n.seq:
                seen.add(p)
                stack.append(p)
    return False


def _path(heads: list, n: Node, cls: Any) -> list[Step]:
    """The ops from ``n`` to a head along one path that carries a gradient, as ``Step``s."""
    live = _useful(heads, n, through_flat=False)
    m = next((h for h in heads if h in live), None)
    out = []
    while m is not None:
        out.append(Step(cls._node_name(m), site_of(m)))
        if m is n:
            break
        m = next((p for p in m.parents if p in live), None)
    out.reverse()
    return out


def _site(pair: Any) -> Site | None:
    return resolve(*pair) if isinstance(pair, tuple) else None


def _esite(e: Event) -> Site | None:
    return None if e.code is None else resolve(e.code, e.lasti)


def _where(s: Site | None) -> str:
    if s is None:
        return "an unknown line"
    return f"{os.path.basename(s.filename)}:{s.lineno} ({s.source})" if s.source else s.short


__all__ = ["explain", "Explanation", "Step"]
