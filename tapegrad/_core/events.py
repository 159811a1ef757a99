"""Breadcrumbs for ``explain``: where a taped array's history was cut, or a variable's gradient reset.

Each is noted on the tape node of the array concerned, as the fields of an ``Event`` in a plain tuple
(``events_of`` reads them as Events): an unrecorded use in ``Node.cut`` (with its kind), the others in
``Node.events`` (kind -> fields):

- ``"detached"``: ``detach()`` of a taped array (the copy is a constant);
- ``"paused"``: a taped array used by an op while not recording (``autograd.pause()``, outside
  ``autograd.record()``, ``torch.no_grad()``): the result is a constant;
- ``"nondiff"``: a taped array used by an op that has no gradient (a comparison, ``argmax``...);
- ``"zeroed"``: a variable's gradient set to None or zeroed (``x.grad = None``, ``zero_grad()``).

A node keeps the first ``"detached"`` event, and the first unrecorded use (``"paused"`` or
``"nondiff"``), since the last backward pass, so a loop walks the frames once per node and backward;
``"zeroed"`` keeps the latest, noted once per backward. Noting is on the hot path (every comparison of
a taped array notes one) and ``explain`` is rare, so no registry is kept: ``explain`` finds the op
nodes holding events among the objects the garbage collector tracks (``noted``). With source lines
off (``tapegrad.set_source_lines(False)``) an event is noted without its line (``code`` None), and no
frame is walked.
"""
from __future__ import annotations

import gc
import sys
from typing import Any, Iterator, NamedTuple

from .node import _seq, BACKWARDS, Node
from .site import INTERNAL, SITE, USER, here, internal

_getframe = sys._getframe


class Event(NamedTuple):
    """One breadcrumb: the user's (code, offset) (None and -1 with source lines off), the node counter
    when it happened (``seq``, the clock of node creation), the backward serial then, and what happened
    (an op's name, a statement)."""

    code: Any
    lasti: int
    seq: int
    serial: int
    what: str


_NO_LINE = (None, -1)
_SERIAL = 3  # (Event's field ``serial``, read from the plain tuples on the hot path)
_KIND = 5  # (in ``Node.cut``, after an Event's fields: "paused" or "nondiff")


def noted() -> Iterator[Node]:
    """The op nodes alive that hold events (the descendants of variables whose history was cut), found
    among the objects the garbage collector tracks (a scan of the whole heap: for ``explain`` only)."""
    return (o for o in gc.get_objects()
            if type(o) is Node and o.op is not None and (o.events or o.cut is not None))


def events_of(node: Any) -> dict[str, Event]:
    """The events noted on ``node``, by kind."""
    ev = {k: Event._make(t) for k, t in (node.events or {}).items()}
    c = node.cut
    if c is not None:  # (beside a later event of its kind noted in ``events``, such as a cast's: the later)
        e = Event._make(c[:_KIND])
        old = ev.get(c[_KIND])
        if old is None or old.seq < e.seq:
            ev[c[_KIND]] = e
    return ev


def note(node: Any, kind: str, what: str, depth: int = 2) -> None:
    """Note an event of ``kind`` on ``node`` at the user's line above the caller's ``depth``-th caller
    (replacing an earlier one of that kind: callers check first where only the first counts)."""
    if SITE[0] is False:  # source lines off (``set_source_lines``): the event without its line
        s: Any = _NO_LINE
    else:
        s = here(depth)
        if s is None:
            return
    ev = node.events
    if ev is None:
        ev = node.events = {}
    ev[kind] = (s[0], s[1], next(_seq), BACKWARDS[0], what)  # (a plain tuple: noting is on the hot path)


def unrecorded(op: Any, cls: Any, args: tuple) -> None:
    """Note that taped inputs among ``args`` were used by ``op`` without being recorded (not
    recording, or ``op`` has no gradient): the first such use per input node since the last backward."""
    for a in args:
        n = getattr(a, "_node", None)
        if n is not None and (n.cut is None or n.cut[_SERIAL] != BACKWARDS[0]):
            unrecorded1(op, cls, n)


def unrecorded1(op: Any, cls: Any, node: Any, depth: int = 3) -> None:
    """``unrecorded`` for one taped input node (the fast route checks ``node.cut`` first; ``depth``: where
    the user's line is looked for, as in ``note``, counted from the caller's caller). ``note``, inline:
    every comparison of a taped array comes here."""
    if SITE[0] is False:  # source lines off
        code: Any = None
        lasti = -1
    else:
        # the walk of ``node.new_node``, kept inline in both (a shared helper cost W1 and W6 2 %): frames
        # 1 .. depth - 2 are tapegrad's, known without looking
        try:
            f: Any = _getframe(depth - 1)
            code = f.f_code
            if code is not USER[0]:
                while INTERNAL[code.co_filename]:
                    f = f.f_back
                    code = f.f_code
                USER[0] = code
            lasti = f.f_lasti
        except (KeyError, AttributeError, ValueError):  # a file not seen before, no user frame, a short stack
            s = here(depth - 1)
            if s is None:
                return
            code, lasti = s
    node.cut = (code, lasti, next(_seq), BACKWARDS[0], op.name, "nondiff" if cls._recording_flag.get() else "paused")


def first(node: Any, kind: str, what: str) -> None:
    """Note an event of ``kind`` on ``node`` unless one is noted since the last backward."""
    ev = node.events
    e = None if ev is None else ev.get(kind)
    if e is None or e[_SERIAL] != BACKWARDS[0]:
        note(node, kind, what, 3)


def detached(node: Any) -> None:
    """Note a ``detach()`` of an array whose node is ``node`` (the first one), called by the user's code
    (tapegrad's own calls, which make constants on purpose, are not the user's cut)."""
    ev = node.events
    e = None if ev is None else ev.get("detached")
    if (e is None or e[_SERIAL] != BACKWARDS[0]) and not internal(sys._getframe(2).f_code.co_filename):
        note(node, "detached", "detach()", 3)


def zeroed(node: Any, what: str) -> None:
    """Note that variable ``node``'s gradient was reset (``what``: how, in the user's words); the
    latest reset counts, noted once per backward pass."""
    ev = node.events
    if ev is not None:
        old = ev.get("zeroed")
        if old is not None and old[_SERIAL] == BACKWARDS[0]:
            return
    note(node, "zeroed", what, 3)
