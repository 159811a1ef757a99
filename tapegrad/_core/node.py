"""Node: one recorded op application (or one variable) on the tape."""
from __future__ import annotations

import itertools
import sys
from typing import Any, Callable
import weakref

from .site import FORWARD, INTERNAL, SITE, USER, here as _here

_getframe = sys._getframe

_seq = itertools.count()

#: How many in-place writes to arrays have happened in this process (``count_write``): a node whose
#: saved arrays are version-checked notes it when recorded, and a backward checks the versions only
#: when it has moved since.
WRITES = [0]

#: How many backward passes have run in this process (the engine counts them; ``explain`` orders a
#: variable's events against them).
BACKWARDS = [0]


#: How many variables have post-accumulate hooks (``Tensor.register_post_accumulate_grad_hook``):
#: while any do, a backward writes each variable's gradient as soon as it is complete.
EAGER_LEAVES = [0]


def count_write() -> None:
    """Count one in-place write (every write that moves an array's version must call it)."""
    WRITES[0] += 1


class Node:
    """A tape entry.

    An op node keeps the op, its parents (the nodes of its inputs, None for constants), the raw
    buffers its VJP asked for (dropped after use unless the graph is retained) and the inputs'
    shapes and dtypes. A leaf node (``op is None``) stands for a variable; it refers to its array
    weakly, so the tape never keeps a variable alive.
    """

    __slots__ = ("op", "parents", "pidx", "saved", "out", "params", "seq", "shapes", "dtypes",
                 "cls", "freed", "nout", "vcheck", "vstamp", "code", "lasti", "cut", "__dict__", "__weakref__")

    # The slots, as ``new_node`` fills them
    op: Any  # the Op, None for a variable
    parents: Any  # one node or None per input
    pidx: Any  # None, or one output index (or None) per input: which output of a multi-output parent
    saved: Any
    out: Any
    params: Any
    seq: int
    shapes: tuple
    dtypes: tuple
    cls: Any  # the array class of its outputs
    freed: Any  # False, or what freed it (``release``)
    nout: Any  # None: one output; else how many
    vcheck: Any
    vstamp: int
    code: Any
    lasti: int
    cut: tuple | None

    # Rarely set, so defaults on the class (an instance gets a dict only when one is set).
    var: Callable[[], Any] | None = None  # leaf: weak reference to its array
    hooks: list | None = None  # [(output index or None, fn)]: tensor hooks and retain_grad
    events: dict | None = None  # kind -> where the history was cut or the gradient reset (``events``)
    eager: bool = False  # leaf: its gradient is written as soon as it is complete (post-accumulate hooks)
    replaced: tuple = ()  # leaf: weakly, the earlier leaves of its array that ``attach_grad`` replaced (live ones)

    @staticmethod
    def leaf(array: Any) -> "Node":
        n = new_node(None, (), None, None, None, None, (array._data.shape,), (array._data.dtype,), type(array))
        n.var = weakref.ref(array)
        return n

    @property
    def needs(self) -> tuple:
        return tuple(p is not None for p in self.parents)

    def release(self, by: Any = True) -> None:
        """Drop the saved buffers: a later backward through this node must fail. ``by``: the (code,
        offset) of the user's line whose backward freed it, when known."""
        self.saved = None
        self.out = None
        self.freed = by

    def __repr__(self) -> str:
        name = "variable" if self.op is None else self.op.name
        return f"<Node {name} #{self.seq}{' freed' if self.freed else ''}>"


_new = object.__new__


def new_node(op: Any, parents: Any, pidx: Any, saved: Any, out: Any, params: Any, shapes: tuple, dtypes: tuple,
             cls: type, nout: int | None = None, depth: int = 3) -> Node:
    """A new tape entry: the one way to make a node (``Node(...)`` is refused). ``depth``: where the walk to
    the user's line starts (frames 1 .. depth - 1 are tapegrad's own: this function's callers).

    A function rather than ``__init__``: a class call enters Python from C, and that entry was 2 % of the W1
    step (callgrind instructions, MXNet dialect)."""
    self = _new(Node)
    self.op = op
    self.parents = parents
    self.pidx = pidx
    self.saved = saved
    self.out = out
    self.params = params
    self.shapes = shapes
    self.dtypes = dtypes
    self.cls = cls
    self.nout = nout
    self.freed = False
    self.seq = next(_seq)
    self.vcheck = None  # [(weakref to array, version, description)], a list or a tuple, for in-place checks
    self.vstamp = 0  # WRITES when vcheck was taken
    # Its first unrecorded use since the last backward, for ``explain`` (``events.unrecorded1``): the
    # fields of an ``Event`` and its kind, as a plain tuple (a slot: noting one is on the hot path), or None.
    self.cut = None
    # Where the user's code created it (``site.site_of``): the innermost frame outside tapegrad (``events.unrecorded1``
    # walks the same way; change both).
    o = SITE[0]
    if o is True:  # some thread's backward runs rules that record: this thread's forward line, if any
        o = getattr(FORWARD, "site", None)
    if o is None:
        try:
            # frames 1 .. depth - 1 are tapegrad's own, known without looking (looking would make Python
            # build a frame object for each): node1/node2/record/leaf and their callers
            f: Any = _getframe(depth)
            c = f.f_code
            if c is not USER[0]:
                while INTERNAL[c.co_filename]:
                    f = f.f_back
                    c = f.f_code
                USER[0] = c
            self.code = c
            self.lasti = f.f_lasti
        except (KeyError, AttributeError, ValueError):  # a file not seen before, no user frame, a short stack
            s = _here(depth)
            if s is None:
                self.code = None
            else:
                self.code, self.lasti = s
    elif o is False:  # off (``tapegrad.set_source_lines(False)``)
        self.code = None
    else:  # a node a gradient rule made with create_graph: where its forward was created
        self.code, self.lasti = o
    return self
