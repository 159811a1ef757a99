"""Graph pictures: ``tapegrad.viz.draw(y)`` shows the tape behind ``y``.

The picture names each op as its dialect does (``multiply``, or ``MulBackward0`` in the PyTorch
dialect) with its output's shape and dtype and the user's line that created it; variables with their
gradients (the values of small ones, the shape and norm of large ones); constants; and the nodes a
backward has already freed. It shows inline in Jupyter and saves as SVG, PNG or DOT.

Two renderers: Graphviz (``pip install 'tapegrad[viz]'`` and the Graphviz system package, which
provides ``dot``) when present, else a built-in layered layout written in pure Python, so a picture
can always be drawn. PNG needs ``dot``. This module names no dialect: it reads the tape through the
array class of the nodes.
"""
from __future__ import annotations

import html
import os
import shutil
import subprocess
from typing import Any, Iterable, Sequence, Union

import numpy

from ._core.array import Array
from ._core.node import Node
from ._core.site import Site, resolve, site_of
from .backend import to_host

__all__ = ["draw", "Picture", "graphviz_available"]

#: What ``draw`` takes as heads: one array or several.
Heads = Union[Array, Sequence[Array]]

_INSTALL = ("install the Graphviz system package (it provides the 'dot' program: apt-get install graphviz, "
            "brew install graphviz, conda install graphviz, or https://graphviz.org/download/) and "
            "pip install 'tapegrad[viz]'")


class _Box:
    """One box of the picture: an op (or a run of them), a variable, a constant or a cut-off mark."""

    __slots__ = ("id", "kind", "lines", "freed", "hot", "head", "rank")

    def __init__(self, id: str, kind: str, lines: list[str]) -> None:
        self.id = id
        self.kind = kind  # "op", "variable", "constant", "more"
        self.lines = lines
        self.freed = False
        self.hot = False  # on the highlighted path
        self.head = False
        self.rank = 0  # longest path to a head (heads: 0)


class _Edge:
    __slots__ = ("src", "dst", "label", "hot")

    def __init__(self, src: str, dst: str, label: str = "", hot: bool = False) -> None:
        self.src = src
        self.dst = dst
        self.label = label
        self.hot = hot


# -- reading the tape ---------------------------------------------------------------------------
def _shape_text(shape: Any) -> str:
    return str(tuple(shape))


def _meta_text(shape: Any, dtype: Any) -> str:
    if shape is None:
        return "shape unknown"
    return f"{_shape_text(shape)} {'python scalar' if dtype is None else numpy.dtype(dtype).name}"


def _grad_lines(node: Node, max_values: int) -> list[str]:
    ref = node.var
    arr = ref() if ref is not None else None
    if arr is None:
        return ["(array no longer alive)"]
    g = getattr(arr, "grad", None)
    if g is None:
        return ["grad: None"]
    data = to_host(g._data if isinstance(g, Array) else g)
    if data.size <= max_values:
        text = numpy.array2string(data, precision=4, suppress_small=True, separator=" ", max_line_width=48)
        rows = text.splitlines()
        return ["grad: " + rows[0]] + ["      " + r for r in rows[1:]]
    return [f"grad: shape {_shape_text(data.shape)}, norm {float(numpy.linalg.norm(data.ravel())):.4g}"]


def _site_text(sites: list[Site | None]) -> str | None:
    known = [s for s in sites if s is not None]
    if not known:
        return None
    first, last = known[-1], known[0]  # members run from the head-most to the earliest
    if len({(s.filename, s.lineno) for s in known}) == 1:
        return first.short
    if first.filename == last.filename:
        lo, hi = sorted((first.lineno, last.lineno))
        return f"{os.path.basename(first.filename)}:{lo}-{hi}"
    return f"{first.short} ... {last.short}"


def _freed_text(freed: Any) -> str:
    if isinstance(freed, tuple):
        try:
            return f"freed by the backward at {resolve(*freed).short}"
        except Exception:  # noqa: BLE001 - a picture never fails over a line it cannot find
            pass
    return "freed by a backward"


def _node_of(a: Any, what: str) -> Node | None:
    if not isinstance(a, Array):
        raise TypeError(f"{what} must be a tapegrad array (ndarray or Tensor), not {type(a).__name__}")
    return a._node


class _Builder:
    """Walks the tape from the heads and lays out the boxes and edges (before any rendering)."""

    def __init__(self, heads: list[Array], depth: int | None, collapse: bool, constants: bool,
                 highlight: list[Array], max_values: int) -> None:
        self.boxes: dict[str, _Box] = {}
        self.edges: list[_Edge] = []
        self.max_values = max_values
        head_nodes: list[Node] = []
        self.out_meta: dict[int, dict[int | None, tuple[Any, Any]]] = {}  # id(node) -> {output: (shape, dtype)}
        loose: list[Array] = []
        for h in heads:
            n = _node_of(h, "draw's head")
            if n is None:
                loose.append(h)
                continue
            head_nodes.append(n)
            self.out_meta.setdefault(id(n), {}).setdefault(h._idx, (tuple(h.shape), h.dtype))
        # the nodes within ``depth`` of a head (breadth first: shortest distance), and their consumers
        dist: dict[int, int] = {}
        nodes: dict[int, Node] = {}
        consumers: dict[int, list[Node]] = {}
        cut: set[int] = set()  # drawn nodes with inputs beyond the depth limit
        frontier = []
        for n in head_nodes:
            if id(n) not in dist:
                dist[id(n)] = 0
                nodes[id(n)] = n
                frontier.append(n)
        d = 0
        while frontier:
            nxt = []
            for n in frontier:
                for i, p in enumerate(n.parents or ()):
                    if p is None:
                        continue
                    if depth is not None and d + 1 > depth and id(p) not in dist:
                        cut.add(id(n))
                        continue
                    k = n.pidx[i] if n.pidx is not None else None
                    self.out_meta.setdefault(id(p), {}).setdefault(k, (n.shapes[i], n.dtypes[i]))
                    consumers.setdefault(id(p), []).append(n)
                    if id(p) not in dist:
                        dist[id(p)] = d + 1
                        nodes[id(p)] = p
                        nxt.append(p)
            frontier = nxt
            d += 1
        self.nodes = nodes
        self.consumers = consumers
        hot = self._on_paths(nodes, highlight)
        # runs of one op kind, merged (head-most member first)
        group_of: dict[int, list[Node]] = {}
        head_ids = {id(n) for n in head_nodes}
        for n in sorted(nodes.values(), key=lambda m: -m.seq):
            if id(n) in group_of:
                continue
            run = [n]
            group_of[id(n)] = run
            if collapse and n.op is not None:
                name = n.cls._node_name(n)
                cur = n
                while True:
                    ps = {id(p): p for p in (cur.parents or ()) if p is not None and id(p) in nodes}
                    if len(ps) != 1 or id(cur) in cut:
                        break
                    p = next(iter(ps.values()))
                    if (p.op is None or id(p) in group_of or id(p) in head_ids or p.cls._node_name(p) != name
                            or bool(p.freed) != bool(n.freed) or len({id(c) for c in consumers[id(p)]}) != 1):
                        break
                    run.append(p)
                    group_of[id(p)] = run
                    cur = p
        # boxes
        box_of: dict[int, str] = {}
        for run in {id(r): r for r in group_of.values()}.values():
            b = self._box(run, head_ids, constants)
            b.hot = any(id(m) in hot for m in run)
            for m in run:
                box_of[id(m)] = b.id
        for a in loose:
            b = self._add("constant", ["constant (not recorded)", _meta_text(a.shape, a.dtype)])
            b.head = True
        # edges: from each run's earliest member's inputs, and into each run's head-most member's consumers
        for run in {id(r): r for r in group_of.values()}.values():
            tail, top = run[-1], run[0]
            dst = box_of[id(top)]
            for i, p in enumerate(tail.parents or ()):
                if p is None or id(p) not in box_of:
                    continue
                k = tail.pidx[i] if tail.pidx is not None else None
                label = f"out {k}" if k is not None and p.nout is not None else ""
                self.edges.append(_Edge(box_of[id(p)], dst, label, id(p) in hot and id(tail) in hot))
            if id(tail) in cut:
                more = self._add("more", ["... more inputs"])
                self.edges.append(_Edge(more.id, dst))
        self._rank()

    @staticmethod
    def _on_paths(nodes: dict[int, Node], targets: list[Array]) -> set[int]:
        """The nodes on a path from one of ``targets`` to a head."""
        if not targets:
            return set()
        want = set()
        for t in targets:
            n = _node_of(t, "highlight")
            if n is None or id(n) not in nodes:
                raise ValueError("highlight: that array is not in the drawn graph (it is not an input of the head, "
                                 "or lies beyond the depth limit); pass a variable the head was computed from")
            want.add(id(n))
        hot: set[int] = set()
        for n in sorted(nodes.values(), key=lambda m: m.seq):  # inputs before their consumers
            if id(n) in want or any(p is not None and id(p) in hot for p in (n.parents or ())):
                hot.add(id(n))
        return hot

    def _add(self, kind: str, lines: list[str]) -> _Box:
        b = _Box(f"n{len(self.boxes)}", kind, lines)
        self.boxes[b.id] = b
        return b

    def _out_lines(self, n: Node) -> list[str]:
        metas = list(self.out_meta.get(id(n), {}).items())
        if not metas:
            return ["shape unknown"]
        if len(metas) == 1 and (metas[0][0] is None or n.nout is None):
            return [_meta_text(*metas[0][1])]
        return [f"out {k}: {_meta_text(*v)}" for k, v in sorted(metas, key=lambda kv: kv[0] or 0)]

    def _box(self, run: list[Node], head_ids: set[int], constants: bool) -> _Box:
        top = run[0]
        name = top.cls._node_name(top) if top.cls is not None else ("variable" if top.op is None else top.op.name)
        if top.op is None:
            kind = "variable"
            lines = [name if name == "variable" else f"{name} (variable)", *self._out_lines(top)]
            lines += _grad_lines(top, self.max_values)
        else:
            kind = "op"
            lines = [name if len(run) == 1 else f"{name} \u00d7{len(run)}", *self._out_lines(top)]
            k = sum(1 for m in run for p in (m.parents or ()) if p is None)
            if k and constants and len(run) > 1:  # a run's constants are counted, not drawn
                lines.append(f"+ {k} constant input{'s' * (k != 1)}")
        where = _site_text([site_of(m) for m in run])
        if where:
            lines.append(where)
        if top.freed:
            lines.append(_freed_text(top.freed))
        b = self._add(kind, lines)
        b.freed = bool(top.freed)
        b.head = id(top) in head_ids
        if kind == "op" and constants and len(run) == 1:
            for i, p in enumerate(top.parents or ()):
                if p is None:
                    c = self._add("constant", ["constant", _meta_text(top.shapes[i], top.dtypes[i])])
                    self.edges.append(_Edge(c.id, b.id))
        return b

    def _rank(self) -> None:
        """Each box's rank: the longest path from it to a head (heads and unconnected boxes: 0)."""
        outs: dict[str, list[str]] = {}
        indeg = {k: 0 for k in self.boxes}
        for e in self.edges:
            outs.setdefault(e.dst, []).append(e.src)  # walking from consumers to inputs
            indeg[e.src] += 1
        order = [k for k, v in indeg.items() if v == 0]
        i = 0
        while i < len(order):
            k = order[i]
            i += 1
            for s in outs.get(k, ()):
                self.boxes[s].rank = max(self.boxes[s].rank, self.boxes[k].rank + 1)
                indeg[s] -= 1
                if indeg[s] == 0:
                    order.append(s)


# -- DOT ----------------------------------------------------------------------------------------
_FILL = {"op": "#ffffff", "variable": "#dbeafe", "constant": "#f1f5f9", "more": "#ffffff"}
_HOT = "#d62728"


def _dot_quote(*lines: str) -> str:
    return '"' + "\\n".join(s.replace("\\", "\\\\").replace('"', '\\"') for s in lines) + '"'


def _to_dot(boxes: dict[str, _Box], edges: list[_Edge]) -> str:
    out = ["digraph tapegrad {", '  graph [rankdir=TB, nodesep=0.3, ranksep=0.4];',
           '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=11];',
           '  edge [arrowsize=0.7];']
    for b in boxes.values():
        attrs = [f"label={_dot_quote(*b.lines)}", f'fillcolor="{_FILL[b.kind]}"']
        style = ["rounded", "filled"]
        if b.kind == "variable":
            attrs.append("shape=box")
        if b.kind in ("constant", "more") or b.freed:
            style.append("dashed")
        if b.kind == "more":
            style = ["dotted"]
        if b.freed:
            attrs.append('fontcolor="#6b7280"')
        if b.hot:
            attrs.append(f'color="{_HOT}", penwidth=2.5')
        elif b.head:
            attrs.append("penwidth=2")
        attrs.append(f'style="{",".join(style)}"')
        out.append(f"  {b.id} [{', '.join(attrs)}];")
    for e in edges:
        attrs = []
        if e.label:
            attrs.append(f"label={_dot_quote(e.label)}")
        if e.hot:
            attrs.append(f'color="{_HOT}", penwidth=2.5')
        out.append(f"  {e.src} -> {e.dst}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# -- the built-in layered SVG -------------------------------------------------------------------
_FONT = 12
_CHAR_W = 0.62 * _FONT  # monospace advance
_LINE_H = 16
_PAD = 8
_GAP_X = 24
_GAP_Y = 44
_SLOT = 10  # the width an edge takes in a row it passes through


def _to_svg(boxes: dict[str, _Box], edges: list[_Edge]) -> str:
    """A layered drawing: inputs at the top, heads at the bottom, one row per rank (longest path to a
    head). An edge that skips rows passes through a slot of its own in each row between (so it never
    crosses a box); within a row, boxes and slots are ordered by where their consumers are."""
    if not boxes:
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
                '<text x="8" y="24">(empty graph)</text></svg>\n')
    size: dict[str, tuple[float, float]] = {
        k: (max(len(s) for s in b.lines) * _CHAR_W + 2 * _PAD, float(len(b.lines) * _LINE_H + 2 * _PAD))
        for k, b in boxes.items()}
    rank = {k: b.rank for k, b in boxes.items()}
    chains: list[list[str]] = []  # per edge: its source, the slots it passes through, its target
    below: dict[str, list[str]] = {}  # item -> the items one row down that it feeds
    for e in edges:  # (the edges of one source share their slots: a bundle, so a fan-out stays linear)
        chain = [e.src]
        for r in range(rank[e.src] - 1, rank[e.dst], -1):
            v = f"v{e.src}_{r}"
            size[v] = (_SLOT, 0.0)
            rank[v] = r
            chain.append(v)
        chain.append(e.dst)
        chains.append(chain)
        for upper, lower in zip(chain, chain[1:]):
            if lower not in below.setdefault(upper, []):
                below[upper].append(lower)
    rows: dict[int, list[str]] = {}
    for k in size:
        rows.setdefault(rank[k], []).append(k)
    xc: dict[str, float] = {}
    top_rank = max(rows)
    for r in range(top_rank + 1):
        row = rows.setdefault(r, [])
        if r:  # barycentre of what each item feeds (one row down, already placed); creation order breaks ties
            pos = {k: i for i, k in enumerate(row)}

            def key(k: str, pos: dict[str, int] = pos) -> tuple[float, int]:
                xs = [xc[c] for c in below.get(k, ()) if c in xc]
                return (sum(xs) / len(xs) if xs else float("inf"), pos[k])
            row.sort(key=key)
        x = 0.0
        for k in row:
            w = size[k][0]
            xc[k] = x + w / 2
            x += w + (_GAP_X if k in boxes else _GAP_X / 2)
    widths = {r: (max(xc[k] + size[k][0] / 2 for k in row) if row else 0.0) for r, row in rows.items()}
    total_w = max(widths.values())
    for r, row in rows.items():  # centre each row
        shift = (total_w - widths[r]) / 2
        for k in row:
            xc[k] += shift
    heights = {r: max([size[k][1] for k in row if k in boxes] or [0.0]) for r, row in rows.items()}
    ytop: dict[int, float] = {}
    y = 0.0
    for r in range(top_rank, -1, -1):
        ytop[r] = y
        y += heights[r] + _GAP_Y
    total_h = y - _GAP_Y
    margin = 10.0
    marker = ('<marker id="{0}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
              'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{1}"/></marker>')
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w + 2 * margin:.0f}" '
             f'height="{total_h + 2 * margin:.0f}" viewBox="{-margin:.0f} {-margin:.0f} {total_w + 2 * margin:.0f} '
             f'{total_h + 2 * margin:.0f}" font-family="monospace" font-size="{_FONT}">',
             "<defs>" + marker.format("arrow", "#374151") + marker.format("arrow-hot", _HOT) + "</defs>"]

    def span(k: str) -> tuple[float, float]:  # top and bottom of an item (a box centred in its row; a slot: the row)
        r = rank[k]
        if k not in boxes:
            return ytop[r], ytop[r] + heights[r]
        top = ytop[r] + (heights[r] - size[k][1]) / 2
        return top, top + size[k][1]

    # spread the ends of the edges along a box's side, ordered by where the edge goes next
    outs: dict[str, list[int]] = {}
    ins: dict[str, list[int]] = {}
    for i, e in enumerate(edges):
        outs.setdefault(e.src, []).append(i)
        ins.setdefault(e.dst, []).append(i)
    start: dict[int, float] = {}
    end: dict[int, float] = {}
    for ends, table, step in ((outs, start, 1), (ins, end, -2)):
        for k, idx in ends.items():
            idx.sort(key=lambda i: xc[chains[i][step]])
            w = size[k][0] * 0.6
            for j, i in enumerate(idx):
                table[i] = xc[k] - w / 2 + w * (j + 1) / (len(idx) + 1)
    drawn: set = set()  # the slots a bundle's earlier edge already passed through
    for i, e in enumerate(edges):
        chain = chains[i]
        j = 1
        while j < len(chain) - 1 and chain[j] in drawn:  # (start where this edge leaves the drawn trunk)
            j += 1
        pts = [(start[i], span(e.src)[1])] if j == 1 else [(xc[chain[j - 1]], span(chain[j - 1])[1])]
        for v in chain[j:-1]:
            y0, y1 = span(v)
            pts += [(xc[v], y0), (xc[v], y1)]
            drawn.add(v)
        pts.append((end[i], span(e.dst)[0]))
        d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
        for j in range(0, len(pts) - 1, 2):  # a curve between rows, a straight run through a row
            (x1, y1), (x2, y2) = pts[j], pts[j + 1]
            m = (y2 - y1) / 2
            d.append(f"C{x1:.1f},{y1 + m:.1f} {x2:.1f},{y2 - m:.1f} {x2:.1f},{y2:.1f}")
            if j + 2 < len(pts):
                d.append(f"L{pts[j + 2][0]:.1f},{pts[j + 2][1]:.1f}")
        colour, mk, width = (_HOT, "arrow-hot", 2.5) if e.hot else ("#374151", "arrow", 1.2)
        parts.append(f'<g class="edge"><path d="{" ".join(d)}" fill="none" stroke="{colour}" stroke-width="{width}" '
                     f'marker-end="url(#{mk})"/>')
        if e.label:
            (x1, y1), (x2, y2) = pts[0], pts[1]
            parts.append(f'<text x="{(x1 + x2) / 2 + 4:.1f}" y="{(y1 + y2) / 2:.1f}" font-size="10" '
                         f'fill="#6b7280">{html.escape(e.label)}</text>')
        parts.append("</g>")
    for k, b in boxes.items():
        w, h = size[k]
        top, _ = span(k)
        left = xc[k] - w / 2
        stroke, sw = (_HOT, 2.5) if b.hot else ("#111827", 2.0 if b.head else 1.0)
        dash = ' stroke-dasharray="5,3"' if (b.freed or b.kind in ("constant", "more")) else ""
        text_fill = "#6b7280" if b.freed or b.kind == "more" else "#111827"
        classes = " ".join(["node", b.kind] + ["freed"] * b.freed + ["highlight"] * b.hot + ["head"] * b.head)
        parts.append(f'<g class="{classes}" id="{b.id}"><rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" '
                     f'height="{h:.1f}" rx="{10 if b.kind == "variable" else 4}" fill="{_FILL[b.kind]}" '
                     f'stroke="{stroke}" stroke-width="{sw}"{dash}/>')
        for j, line in enumerate(b.lines):
            weight = ' font-weight="bold"' if j == 0 and b.kind == "op" else ""
            parts.append(f'<text x="{xc[k]:.1f}" y="{top + _PAD + _LINE_H * (j + 1) - 4:.1f}" text-anchor="middle" '
                         f'fill="{text_fill}" xml:space="preserve"{weight}>{html.escape(line)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -- Graphviz -----------------------------------------------------------------------------------
def _graphviz_module() -> Any:
    try:
        import graphviz  # noqa: PLC0415 - optional dependency
    except ImportError:
        return None
    return graphviz


def graphviz_available() -> bool:
    """Whether the Graphviz renderer can run here: the ``graphviz`` package and the ``dot`` program."""
    return _graphviz_module() is not None and shutil.which("dot") is not None


def _run_dot(source: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(f"rendering a graph picture as {fmt.upper()} needs Graphviz's 'dot' program, which is not "
                           f"installed; {_INSTALL}. Without it, save as .svg (drawn by tapegrad itself) or .dot")
    gv = _graphviz_module()
    if gv is not None:
        return gv.Source(source).pipe(format=fmt)
    return subprocess.run([exe, f"-T{fmt}"], input=source.encode(), capture_output=True, check=True).stdout


class Picture:
    """A drawing of a graph: shown inline in Jupyter, saved with ``save`` as SVG, PNG or DOT.

    ``svg`` and ``dot`` are the drawing's text; ``engine`` is the renderer of ``svg`` ("builtin" or
    "graphviz"). The picture is a snapshot: later backwards do not change it.
    """

    def __init__(self, boxes: dict[str, _Box], edges: list[_Edge], engine: str) -> None:
        self._boxes = boxes
        self._edges = edges
        self.engine = engine
        self._svg: str | None = None
        self._dot: str | None = None

    @property
    def dot(self) -> str:
        """The graph in Graphviz's DOT language."""
        if self._dot is None:
            self._dot = _to_dot(self._boxes, self._edges)
        return self._dot

    @property
    def svg(self) -> str:
        """The drawing as an SVG document."""
        if self._svg is None:
            if self.engine == "graphviz":
                self._svg = _run_dot(self.dot, "svg").decode("utf-8")
            else:
                self._svg = _to_svg(self._boxes, self._edges)
        return self._svg

    def png(self) -> bytes:
        """The drawing as PNG bytes (laid out by Graphviz's ``dot``, which must be installed)."""
        return _run_dot(self.dot, "png")

    def save(self, path: str | os.PathLike[str], format: str | None = None) -> str:  # noqa: A002
        """Write the picture to ``path`` as ``format`` ("svg", "png" or "dot"; by default the file's
        extension); returns the absolute path."""
        p = os.fspath(path)
        fmt = (format or os.path.splitext(p)[1].lstrip(".") or "svg").lower()
        if fmt == "gv":
            fmt = "dot"
        if fmt == "svg":
            data = self.svg.encode("utf-8")
        elif fmt == "dot":
            data = self.dot.encode("utf-8")
        elif fmt == "png":
            data = self.png()
        else:
            raise ValueError(f"cannot save a graph picture as {fmt!r}; use .svg, .png or .dot")
        with open(p, "wb") as f:
            f.write(data)
        return os.path.abspath(p)

    def _repr_svg_(self) -> str:
        return self.svg

    def __repr__(self) -> str:
        n = sum(b.kind == "op" for b in self._boxes.values())
        v = sum(b.kind == "variable" for b in self._boxes.values())
        return f"<tapegrad.viz.Picture: {n} op box(es), {v} variable(s), engine={self.engine!r}>"


def draw(heads: Heads, *, collapse: bool = False, depth: int | None = None,
         highlight: Array | Iterable[Array] | None = None, constants: bool = True, max_values: int = 10,
         engine: str | None = None) -> Picture:
    """A picture of the graph that computed ``heads`` (an array, or several).

    Each op shows its name in the heads' dialect, its output's shape and dtype and the user's line that
    created it; each variable its gradient (values when it has at most ``max_values`` elements, else
    shape and norm); nodes freed by a backward are drawn dashed and say which backward freed them.
    ``collapse``: runs of one op kind become one box ("tanh ×10"). ``depth``: only nodes at most that
    many steps from a head. ``highlight``: an input (or several) whose paths to the heads are drawn in
    red. ``constants``: draw constant inputs as small boxes. ``engine``: "graphviz", "builtin" or None
    (Graphviz when installed, else the built-in layout).
    """
    hs = [heads] if isinstance(heads, Array) else list(heads)
    if not hs:
        raise ValueError("draw needs at least one head array")
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be None or at least 0, not {depth}")
    if engine is None:
        engine = "graphviz" if graphviz_available() else "builtin"
    elif engine == "graphviz":
        if _graphviz_module() is None or shutil.which("dot") is None:
            missing = "the 'graphviz' Python package" if _graphviz_module() is None else "Graphviz's 'dot' program"
            raise RuntimeError(f"engine='graphviz' needs {missing}; {_INSTALL}. engine='builtin' draws without it")
    elif engine != "builtin":
        raise ValueError(f"engine must be 'graphviz', 'builtin' or None, not {engine!r}")
    hl = [] if highlight is None else [highlight] if isinstance(highlight, Array) else list(highlight)
    g = _Builder(hs, depth, collapse, constants, hl, max_values)
    return Picture(g.boxes, g.edges, engine)
