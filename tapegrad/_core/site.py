"""Where the user's code made a call: the innermost frame outside tapegrad, kept as (code, offset).

A node of the tape keeps the code object and instruction offset of the user's line that created it
(``Node.code``, ``Node.lasti``), never the frame: the frame would keep the caller's locals alive.
The line number, file and source text are worked out only when something asks (an error, a picture,
``explain``). ``ON[0]`` switches the capture off and on (``tapegrad.set_source_lines``).
"""
from __future__ import annotations

import linecache
import os
import sys
import threading
from typing import Any, NamedTuple

import numpy

#: What a new node takes as its site: None, the user's frame (the default); False, nothing (the switch
#: ``tapegrad.set_source_lines(False)``); True, this thread's ``FORWARD.site`` when set, else the user's
#: frame (True while some thread's backward runs gradient rules that build a graph: ``rules_begin``).
SITE: list = [None]

#: The switch (``set_source_lines``), and how many backwards (of any thread) are between ``rules_begin``
#: and ``rules_end``: ``SITE[0]`` follows from both.
ON: list = [True]
_RULES = [0]
_LOCK = threading.Lock()

#: Per thread: ``site``, the (code, offset) of the forward whose gradient rule runs now in this thread
#: with ``create_graph`` (the engine sets it, so the gradient's nodes cite their forward's line), or None.
FORWARD = threading.local()

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_NUMPY = os.path.dirname(os.path.abspath(str(numpy.__file__))) + os.sep
_GENERATED = ("<VJP of", "<raw VJP of", "<tapegrad")  # the file names of the code tapegrad generates
_USER_IN_PKG = (os.sep + "tour.py", os.sep + "tests" + os.sep, os.sep + "examples" + os.sep)

#: file name -> whether it is tapegrad's own (or NumPy's, which dispatches to tapegrad) code; a plain
#: dict, so the lookup in ``Node.__init__`` is the interpreter's fastest (see ``internal`` for misses).
INTERNAL: dict[str, bool] = {}

#: The code object of the user's frame that the last node or breadcrumb found (``Node.__init__``,
#: ``events.unrecorded1``): a frame running it is the user's without a look at its file name (a fifth of
#: a node's walk), and a user's ops mostly come from one function in a row.
USER: list = [None]


def set_source_lines(on: bool) -> bool:
    """Switch on or off whether new tape nodes, and ``explain``'s breadcrumbs, note the user's line that
    made them (on by default; errors, pictures and ``explain`` cite those lines). Returns the previous
    setting."""
    with _LOCK:
        prev = ON[0]
        ON[0] = bool(on)
        _sync()
    return prev


def _sync() -> None:
    SITE[0] = False if not ON[0] else True if _RULES[0] else None


def rules_begin() -> Any:
    """Before a backward runs gradient rules that may record nodes: new nodes look up this thread's
    ``FORWARD.site``. Returns what ``rules_end`` restores (a nested backward keeps the outer's site)."""
    with _LOCK:
        _RULES[0] += 1
        _sync()
    return getattr(FORWARD, "site", None)


def rules_end(prev: Any) -> None:
    """After ``rules_begin``: this thread's ``FORWARD.site`` back to ``prev``."""
    FORWARD.site = prev
    with _LOCK:
        _RULES[0] -= 1
        _sync()


def internal(filename: str) -> bool:
    """Whether frames of ``filename`` are tapegrad's (or NumPy's) rather than the user's."""
    r = INTERNAL.get(filename)
    if r is None:
        if filename.startswith(_GENERATED):
            r = True
        else:
            a = os.path.abspath(filename)
            r = ((a.startswith(_PKG) and not any(u in a[len(_PKG) - 1:] for u in _USER_IN_PKG))
                 or a.startswith(_NUMPY))
        INTERNAL[filename] = r
    return r


def here(depth: int = 1) -> tuple[Any, int] | None:
    """(code, offset) of the innermost user frame at or above the caller's ``depth``-th caller."""
    try:
        f: Any = sys._getframe(depth + 1)
    except ValueError:
        return None
    known = INTERNAL.get
    while f is not None:
        code = f.f_code
        r = known(code.co_filename)
        if r is None:
            r = internal(code.co_filename)
        if not r:
            return code, f.f_lasti
        f = f.f_back
    return None


class Site(NamedTuple):
    """A place in the user's code: file, line, function and the line's source text."""

    filename: str
    lineno: int
    function: str
    source: str

    def __str__(self) -> str:
        where = f'File "{self.filename}", line {self.lineno}, in {self.function}'
        return f"{where}\n    {self.source}" if self.source else where

    @property
    def short(self) -> str:
        """``file.py:12``."""
        return f"{os.path.basename(self.filename)}:{self.lineno}"


def line_of(code: Any, lasti: int) -> int:
    """The source line of instruction offset ``lasti`` in ``code``."""
    best = code.co_firstlineno
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line if line is not None else best
        if line is not None and start <= lasti:
            best = line
    return best


def resolve(code: Any, lasti: int) -> Site:
    """The ``Site`` of a (code, offset) pair."""
    line = line_of(code, lasti)
    text = linecache.getline(code.co_filename, line).strip()
    return Site(code.co_filename, line, code.co_name, text)


def site_of(node: Any) -> Site | None:
    """Where ``node`` (a tape node) was created in the user's code, or None when not noted."""
    code = getattr(node, "code", None)
    if code is None:
        return None
    return resolve(code, node.lasti)


def cite(exc: BaseException, node: Any) -> BaseException:
    """``exc`` with notes naming the user's line that created ``node`` and, when a backward freed it,
    the line of that backward (once per exception: an error crossing nested backwards is cited once)."""
    if getattr(exc, "_tapegrad_cited", False) or node is None:
        return exc
    try:
        exc._tapegrad_cited = True  # type: ignore[attr-defined]
    except AttributeError:
        return exc
    name = node.cls._node_name(node) if node.cls is not None else "variable"
    made = site_of(node)
    if made is not None:
        add_note(exc, f"{name!r} was created at:\n  {made}")
    by = node.freed
    if by is not True and by is not False and by is not None:
        add_note(exc, f"Its saved values were freed by the backward at:\n  {resolve(*by)}")
    return exc


def add_note(exc: BaseException, text: str) -> BaseException:
    """``exc`` with ``text`` as a note (shown after the message in tracebacks; ``str(exc)`` unchanged)."""
    if text:
        if hasattr(exc, "add_note"):
            exc.add_note(text)
        else:  # Python 3.10: kept where 3.11's traceback would look (not shown by 3.10's)
            notes = getattr(exc, "__notes__", None)
            if notes is None:
                notes = []
                exc.__notes__ = notes  # type: ignore[attr-defined]
            notes.append(text)
    return exc
