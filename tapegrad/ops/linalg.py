"""Linear algebra: products, einsum, trace, norms, inverses, determinants and solves.

Every VJP here is written in tapegrad ops, so derivatives of any order work. The only values a
VJP builds from raw buffers are piecewise-constant ones (signs, arg-max masks, identity and
ones matrices), whose derivative is zero wherever it exists.
"""
from __future__ import annotations

import string
from typing import Any

import numpy

from .._core.array import OPS as T, Array
from ..backend import xp_of
from .registry import defop
from .samples import Case, draw

__all__ = ["einsum", "COMPOSITES"]

_INF = float("inf")


# --- helpers -----------------------------------------------------------------------------------


def _raw(a: Any) -> Any:
    return a._data if isinstance(a, Array) else a


def _const(like: Array, buf: Any) -> Array:
    """A constant (no history) of ``like``'s array class."""
    return type(like)._make(buf)


def _xp(like: Any) -> Any:
    return xp_of((_raw(like),))


def _mT(a: Any) -> Any:
    """Swap the last two axes."""
    return T.swapaxes(a, -1, -2)


def _sum_to(x: Any, shape: tuple) -> Any:
    return x if tuple(x.shape) == tuple(shape) else T.sum_to(x, tuple(shape))


def _add(a: Any, b: Any) -> Any:
    return b if a is None else a + b


def _wellcond(rng, shape: tuple) -> numpy.ndarray:
    """A (stack of) square matrices ``draw + 3 I``: comfortably invertible."""
    n = shape[-1]
    return draw(rng, shape) + 3 * numpy.eye(n)


# --- dot, vdot, inner, outer, matmul --------------------------------------------------------------


def _scaled_vjp(g, a, b, needs):
    """VJP of a product in which one side is 0-d (dot and inner then just scale)."""
    ga = gb = None
    if needs[0]:
        ga = T.sum(g * b) if a.ndim == 0 else g * b
    if needs[1]:
        gb = T.sum(g * a) if b.ndim == 0 else g * a
    return (ga, gb)


def _dot_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((), (3,)), ((2, 3), ()),
              ((), ()), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (5, 4, 2)), ((2, 3), (4, 3, 2))]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_dot_cases)
def dot(xp, a, b):
    return xp.dot(a, b)


@dot.vjp
def _(g, a, b, needs):
    if a.ndim == 0 or b.ndim == 0:
        return _scaled_vjp(g, a, b, needs)
    ga = gb = None
    if a.ndim == 2 and b.ndim == 2:  # the common case, as two plain matrix products
        return (T.dot(g, T.transpose(b)) if needs[0] else None, T.dot(T.transpose(a), g) if needs[1] else None)
    # dot(a, b) contracts a's last axis with b's second-to-last (its only axis when 1-D);
    # the result's axes are a's free axes, then b's free axes.
    if needs[0]:
        gb_axes = [i for i in range(b.ndim) if i != max(b.ndim - 2, 0)]
        g_axes = list(range(a.ndim - 1, g.ndim))
        ga = T.tensordot(g, b, (g_axes, gb_axes))
    if needs[1]:
        lead = list(range(a.ndim - 1))
        gb = T.tensordot(a, g, (lead, lead))  # shape (a[-1],) + b-without-axis(-2)
        if b.ndim > 1:
            gb = T.moveaxis(gb, 0, b.ndim - 2)
    return (ga, gb)


def _vdot_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (6,)), ((1,), (1,))]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_vdot_cases)
def vdot(xp, a, b):
    """``sum(conj(a).ravel() * b.ravel())``; gradients are for real inputs."""
    return xp.vdot(a, b)


@vdot.vjp
def _(g, a, b, shapes, needs):
    ga = g * T.reshape(b, shapes[0]) if needs[0] else None
    gb = g * T.reshape(a, shapes[1]) if needs[1] else None
    return (ga, gb)


def _inner_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (4, 3)), ((2, 3, 4), (5, 4)),
              ((), (2, 3)), ((2, 3), ())]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_inner_cases)
def inner(xp, a, b):
    return xp.inner(a, b)


@inner.vjp
def _(g, a, b, needs):
    if a.ndim == 0 or b.ndim == 0:
        return _scaled_vjp(g, a, b, needs)
    ga = gb = None
    # inner(a, b)[i..., j...] = sum_k a[i..., k] b[j..., k]
    na, nb = a.ndim - 1, b.ndim - 1
    if needs[0]:
        ga = T.tensordot(g, b, (list(range(na, na + nb)), list(range(nb))))
    if needs[1]:
        gb = T.tensordot(g, a, (list(range(na)), list(range(na))))
    return (ga, gb)


def _outer_cases(rng):
    shapes = [((3,), (4,)), ((2, 3), (2,)), ((), (3,)), ((2, 2), (3, 1))]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_outer_cases)
def outer(xp, a, b):
    return xp.outer(a, b)


@outer.vjp
def _(g, a, b, shapes, needs):
    ga = gb = None
    if needs[0]:
        ga = T.reshape(T.tensordot(g, T.reshape(b, (-1,)), 1), shapes[0])
    if needs[1]:
        gb = T.reshape(T.tensordot(T.reshape(a, (-1,)), g, 1), shapes[1])
    return (ga, gb)


def _matmul_cases(rng):
    shapes = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (4, 5)),
              ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 5)),
              ((2, 3, 4), (2, 4, 2))]
    return [Case((draw(rng, a), draw(rng, b)), order=3 if len(a) + len(b) <= 5 else 2) for a, b in shapes]


@defop(samples=_matmul_cases)
def matmul(xp, x1, x2):
    """Matrix product with NumPy's rules: 1-D operands are promoted to a row (first) or column
    (second) and the promoted axis is dropped; leading batch axes broadcast."""
    return xp.matmul(x1, x2)


@matmul.vjp
def _(g, x1, x2, shapes, needs):
    s1, s2 = shapes
    a = x1 if len(s1) >= 2 else T.reshape(x1, (1,) + tuple(s1))
    b = x2 if len(s2) >= 2 else T.reshape(x2, tuple(s2) + (1,))
    # g with the promoted axes put back: batch + (m, k)
    g2 = g
    if len(s1) < 2:
        g2 = T.expand_dims(g2, -2 if len(s2) >= 2 else 0)
    if len(s2) < 2:
        g2 = T.expand_dims(g2, -1)
    ga = gb = None
    if needs[0]:
        ga = _sum_to(T.matmul(g2, _mT(b)), a.shape)
        if len(s1) < 2:
            ga = T.reshape(ga, s1)
    if needs[1]:
        gb = _sum_to(T.matmul(_mT(a), g2), b.shape)
        if len(s2) < 2:
            gb = T.reshape(gb, s2)
    return (ga, gb)


# --- tensordot ------------------------------------------------------------------------------------


def _td_axes(axes, na: int, nb: int) -> tuple:
    if isinstance(axes, int):
        return list(range(na - axes, na)), list(range(axes))
    a_ax, b_ax = axes
    a_ax = [a_ax] if isinstance(a_ax, int) else list(a_ax)
    b_ax = [b_ax] if isinstance(b_ax, int) else list(b_ax)
    return [i % na for i in a_ax], [i % nb for i in b_ax]


def _tensordot_cases(rng):
    return [Case((draw(rng, (2, 3, 4)), draw(rng, (3, 4, 5))), dict(axes=2), order=3),
            Case((draw(rng, (2, 3)), draw(rng, (3, 2))), dict(axes=([0, 1], [1, 0])), order=3),
            Case((draw(rng, (3,)), draw(rng, (2,))), dict(axes=0), order=3),
            Case((draw(rng, (2, 3, 4)), draw(rng, (4, 2))), dict(axes=([2, 0], [0, 1])), order=3)]


@defop(samples=_tensordot_cases)
def tensordot(xp, a, b, axes=2):
    return xp.tensordot(a, b, axes)


@tensordot.vjp
def _(g, a, b, axes, needs):
    a_ax, b_ax = _td_axes(axes, a.ndim, b.ndim)
    a_free = [i for i in range(a.ndim) if i not in a_ax]
    b_free = [i for i in range(b.ndim) if i not in b_ax]
    nfa = len(a_free)
    ga = gb = None
    if needs[0]:
        # result axes: a_free, then b's contracted axes in b's order, i.e. their partners in a
        r = T.tensordot(g, b, (list(range(nfa, g.ndim)), b_free))
        order = a_free + [a_ax[b_ax.index(j)] for j in sorted(b_ax)]
        ga = T.transpose(r, tuple(int(i) for i in numpy.argsort(order)))
    if needs[1]:
        r = T.tensordot(a, g, (a_free, list(range(nfa))))
        order = [b_ax[a_ax.index(j)] for j in sorted(a_ax)] + b_free
        gb = T.transpose(r, tuple(int(i) for i in numpy.argsort(order)))
    return (ga, gb)


# --- einsum ---------------------------------------------------------------------------------------

_LETTERS = string.ascii_letters  # the labels NumPy's einsum accepts


def _sublist_to_str(sub: Any) -> str:
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
        else:
            s = int(s)
            if not 0 <= s < 52:
                raise ValueError(f"einsum: subscript {s} is not in range [0, 52)")
            out.append(_LETTERS[s])
    return "".join(out)


def _ndim(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else numpy.ndim(x)


def normalize_subscripts(subscripts: str, ndims: list) -> str:
    """``subscripts`` in explicit form ``'ab,bc->ac'``: ellipses replaced by letters of their own
    (right-aligned, so broadcasting works as in NumPy) and the implicit output (the ellipsis
    dimensions, then the labels that appear once, in alphabetical order) spelled out."""
    s = subscripts.replace(" ", "")
    for ch in s:
        if ch not in _LETTERS and ch not in ".,->":
            raise ValueError(f"einsum: invalid subscript {ch!r} in {subscripts!r}")
    if "->" in s:
        lhs, rhs = s.split("->", 1)
        if "->" in rhs or "-" in rhs.replace("->", "") or ">" in rhs:
            raise ValueError(f"einsum: subscripts {subscripts!r} have more than one '->'")
    else:
        lhs, rhs = s, None
    if "-" in lhs or ">" in lhs:
        raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(f"einsum: {len(terms)} operand subscript(s) in {subscripts!r} for "
                         f"{len(ndims)} operand(s)")
    used = set(ch for ch in s if ch in _LETTERS)
    fresh = (ch for ch in _LETTERS if ch not in used)
    n_ell = []
    for term, nd in zip(terms, ndims):
        if "..." in term:
            if term.count("...") > 1 or "." in term.replace("...", "", 1):
                raise ValueError(f"einsum: invalid ellipsis in {term!r}")
            k = nd - (len(term) - 3)
            if k < 0:
                raise ValueError(f"einsum: operand has more subscripts ({term!r}) than dimensions ({nd})")
            n_ell.append(k)
        else:
            if "." in term:
                raise ValueError(f"einsum: invalid ellipsis in {term!r}")
            if len(term) != nd:
                raise ValueError(f"einsum: operand has {nd} dimension(s) but subscripts {term!r} "
                                 f"name {len(term)}")
            n_ell.append(0)
    n = max(n_ell, default=0)
    try:
        ell = "".join(next(fresh) for _ in range(n))
    except StopIteration:
        raise ValueError("einsum: too many distinct subscripts (NumPy allows 52)") from None
    new_terms = [t.replace("...", ell[n - k:]) for t, k in zip(terms, n_ell)]
    if rhs is None:
        counts: dict = {}
        for t in terms:
            for ch in t.replace("...", ""):
                counts[ch] = counts.get(ch, 0) + 1
        out = ell + "".join(sorted(ch for ch, c in counts.items() if c == 1))
    else:
        if "..." in rhs:
            if rhs.count("...") > 1 or "." in rhs.replace("...", "", 1):
                raise ValueError(f"einsum: invalid ellipsis in output {rhs!r}")
            out = rhs.replace("...", ell)
        else:
            if "." in rhs:
                raise ValueError(f"einsum: invalid ellipsis in output {rhs!r}")
            if n > 0:
                raise ValueError("output has more dimensions than subscripts given in einstein sum, but no "
                                 "'...' ellipsis provided to broadcast the extra dimensions.")
            out = rhs
    return ",".join(new_terms) + "->" + out


def _einsum_cases(rng):
    specs = [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii->", [(3, 3)]),
             ("abij,bjk->abik", [(2, 3, 2, 4), (3, 4, 2)]), ("i,i->", [(3,)] * 2), ("ij->", [(2, 3)]),
             ("ij,j->", [(2, 3), (3,)]), ("i,j->ij", [(2,), (3,)]), ("ij,ij->ij", [(2, 3), (2, 1)]),
             ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
             ("ji->ij", [(2, 3)]), ("aij,ij->aj", [(1, 2, 3), (2, 3)]), ("iii->i", [(2, 2, 2)]),
             ("i,->i", [(3,), ()])]
    return [Case(tuple(draw(rng, s) for s in shapes), dict(subscripts=spec), ref=_np_einsum)
            for spec, shapes in specs]


def _np_einsum(*operands, subscripts, optimize=False):
    return numpy.einsum(subscripts, *operands, optimize=optimize)


@defop(samples=_einsum_cases, public=None)
def _einsum(xp, *operands, subscripts, optimize=False):
    """Einstein summation with explicit, ellipsis-free ``subscripts`` (see ``einsum``)."""
    return xp.einsum(subscripts, *operands, optimize=optimize)


@_einsum.vjp
def _(g, operands, subscripts, optimize, shapes, needs):
    lhs, out = subscripts.split("->")
    terms = lhs.split(",")
    sizes: dict = {}
    for term, shape in zip(terms, shapes):
        for ch, n in zip(term, shape):
            sizes[ch] = n if sizes.get(ch, 1) == 1 else sizes[ch]
    xp = _xp(g)
    used = set(subscripts)
    grads = []
    for i, term in enumerate(terms):
        if not needs[i]:
            grads.append(None)
            continue
        shape = tuple(shapes[i])
        fresh = (ch for ch in _LETTERS if ch not in used)
        # labels that operand i broadcasts (size 1 here, larger elsewhere): summed, then re-inserted
        bcast = {ch for ch, n in zip(term, shape) if n == 1 and sizes[ch] != 1}
        in_terms = [out] + [t for j, t in enumerate(terms) if j != i]
        in_ops = [g] + [o for j, o in enumerate(operands) if j != i]
        target, kept_sizes, seen = [], [], set()
        for ch, n in zip(term, shape):
            if ch in bcast:
                continue
            if ch in seen:  # repeated label (a diagonal): a fresh label tied to ch by an identity
                d = next(fresh)
                in_terms.append(ch + d)
                in_ops.append(_const(g, xp.eye(n, dtype=g.dtype)))
                target.append(d)
            else:
                seen.add(ch)
                target.append(ch)
            kept_sizes.append(n)
        present = set("".join(in_terms))
        for ch, n in zip(target, kept_sizes):
            if ch not in present:  # summed over in operand i only: the cotangent is constant along it
                in_terms.append(ch)
                in_ops.append(_const(g, xp.ones(n, dtype=g.dtype)))
                present.add(ch)
        gi = T._einsum(*in_ops, subscripts=",".join(in_terms) + "->" + "".join(target), optimize=optimize)
        if tuple(gi.shape) != tuple(kept_sizes):
            gi = T.broadcast_to(gi, tuple(kept_sizes))
        if tuple(gi.shape) != shape:
            gi = T.reshape(gi, shape)
        grads.append(gi)
    return tuple(grads)


def einsum(subscripts: Any, *operands: Any, optimize: Any = False) -> Any:
    """``numpy.einsum``, differentiable in every operand (to any order).

    Accepts ``einsum('ij,jk->ik', a, b)``, implicit outputs (``'ij,jk'``), ellipses
    (``'...ij,...jk->...ik'``, with broadcasting), repeated labels (``'ii->i'``, ``'ii'``) and the
    sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. ``optimize`` is passed to the backend.
    """
    if not isinstance(subscripts, str):
        args = (subscripts,) + operands
        ops, subs = list(args[0::2]), [_sublist_to_str(s) for s in args[1::2]]
        out = None
        if len(subs) > len(ops):
            raise ValueError("einsum: sublist form needs an operand before each sublist")
        if len(ops) > len(subs):  # trailing output sublist
            out = _sublist_to_str(ops.pop())
        subscripts = ",".join(subs) + ("" if out is None else "->" + out)
        operands = tuple(ops)
    norm = normalize_subscripts(subscripts, [_ndim(o) for o in operands])
    return T._einsum(*operands, subscripts=norm, optimize=optimize)


#: Public functions that are compositions of ops rather than ops (exposed as ``np.<name>``).
COMPOSITES = {"einsum": einsum}


# --- trace ----------------------------------------------------------------------------------------


def _trace_cases(rng):
    return [Case((draw(rng, (3, 3)),)), Case((draw(rng, (3, 4)),), dict(offset=1)),
            Case((draw(rng, (4, 3)),), dict(offset=-2)),
            Case((draw(rng, (2, 3, 4)),), dict(axis1=2, axis2=0)),
            Case((draw(rng, (2, 3, 3)),), dict(offset=-1, axis1=-1, axis2=1))]


@defop(samples=_trace_cases)
def trace(xp, a, offset=0, axis1=0, axis2=1):
    return xp.trace(a, offset=offset, axis1=axis1, axis2=axis2)


@trace.vjp
def _(g, offset, axis1, axis2, shapes):
    shape = shapes[0]
    nd = len(shape)
    ax1, ax2 = axis1 % nd, axis2 % nd
    n1, n2 = shape[ax1], shape[ax2]
    mask = _const(g, _xp(g).eye(n1, n2, k=offset, dtype=g.dtype))  # 1 where j - i == offset
    ga = T.reshape(g, tuple(g.shape) + (1, 1)) * mask
    return (T.moveaxis(ga, (nd - 2, nd - 1), (ax1, ax2)),)


# --- SVD (internal: matrix 2-norm and nuclear norm) -----------------------------------------------


def _svd_cases(rng):
    return [Case((draw(rng, s),), ref=_np_svd) for s in ((3, 3), (4, 2), (2, 4), (2, 3, 4))]


def _np_svd(a):
    return tuple(numpy.linalg.svd(a, full_matrices=False))


@defop(nout=3, samples=_svd_cases, public=None)
def _svd(xp, a):
    """Thin SVD ``(u, s, vh)`` of a (stack of) matrices. Gradients assume distinct, nonzero
    singular values; they are right for any smooth choice of the singular vectors' signs."""
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    return u, s, vh


@_svd.vjp
def _(gs, out, shapes):
    gu, gsv, gvh = gs
    u, s, vh = out
    m, n = shapes[0][-2:]
    k = min(m, n)
    eye_k = _const(u, _xp(u).eye(k, dtype=u.dtype))
    s_row = T.expand_dims(s, -2)  # s_j along columns
    s_col = T.expand_dims(s, -1)  # s_i along rows
    f = 1.0 / (s_row * s_row - s_col * s_col + eye_k)  # 1 / (s_j^2 - s_i^2) off the diagonal
    t = None
    utgu = vtgv = None
    if gsv is not None:
        t = eye_k * T.expand_dims(gsv, -1)
    if gu is not None:
        utgu = T.matmul(_mT(u), gu)
        t = _add(t, f * (utgu - _mT(utgu)) * s_row)
    if gvh is not None:
        vtgv = T.matmul(vh, _mT(gvh))
        t = _add(t, s_col * (f * (vtgv - _mT(vtgv))))
    if t is None:
        return (None,)
    ga = T.matmul(T.matmul(u, t), vh)
    if m > k and gu is not None:  # the part of gu outside span(u)
        ga = ga + T.matmul(gu - T.matmul(u, utgu), vh / s_col)
    if n > k and gvh is not None:  # the part of gv outside span(v)
        ga = ga + T.matmul(u / s_row, gvh - T.matmul(_mT(vtgv), vh))
    return (ga,)


# --- norm -----------------------------------------------------------------------------------------


def _norm_cases(rng):
    v = lambda s: draw(rng, s, avoid=(0.0,))  # noqa: E731 - keep |x| away from the kink at 0
    cases = [Case((draw(rng, (4,)),)), Case((draw(rng, (2, 3)),)), Case((draw(rng, (2, 3)),), dict(axis=1)),
             Case((draw(rng, (2, 3)),), dict(axis=0, keepdims=True)), Case((draw(rng, ()),)),
             Case((draw(rng, (2, 3, 4)),), dict(keepdims=True))]
    for o in (2, 1, _INF, -_INF, 0, 3, 0.5, -1, 1.5):
        cases.append(Case((v((5,)),), dict(ord=o)))
    cases.append(Case((v((2, 5)),), dict(ord=3, axis=-1, keepdims=True)))
    cases.append(Case((v((3, 2, 4)),), dict(ord=_INF, axis=(2,))))
    for o in (None, "fro", "nuc", _INF, -_INF, 1, -1, 2, -2):
        cases.append(Case((v((3, 4)),), dict(ord=o)))
    cases += [Case((v((2, 3, 4)),), dict(ord="fro", axis=(0, 2))),
              Case((v((2, 3, 4)),), dict(ord=2, axis=(2, 0), keepdims=True)),
              Case((v((2, 4, 3)),), dict(ord="nuc", axis=(1, 2))),
              Case((v((2, 3, 4)),), dict(ord=1, axis=(-1, -2))),
              Case((v((3, 2, 4)),), dict(ord=-_INF, axis=(0, 2), keepdims=True)),
              Case((v((4, 2, 3)),), dict(ord=-2, axis=(0, 2)))]
    return cases


def _norm_plan(ndim: int, ord: Any, axis: Any) -> tuple:  # noqa: A002
    """('vec', axes) for a vector norm over ``axes`` or ('mat', (row, col)) for a matrix norm."""
    if axis is None:
        if ord is None or (ndim == 2 and ord in ("fro", "f")) or (ndim == 1 and ord == 2):
            return "fro", tuple(range(ndim))
        if ndim == 1:
            return "vec", (0,)
        if ndim == 2:
            return "mat", (0, 1)
        raise ValueError("Improper number of dimensions to norm.")
    if not isinstance(axis, (tuple, list)):
        axis = (int(axis),)
    axes = tuple(int(a) % ndim for a in axis)
    if len(axes) == 1:
        return ("fro" if ord is None else "vec"), axes
    if len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError("Duplicate axes given.")
        return ("fro" if ord in (None, "fro", "f") else "mat"), axes
    raise ValueError("Improper number of dimensions to norm.")


def _pick_mask(xp, vals: Any, axes: Any, largest: bool) -> Any:
    """1/count where ``vals`` attains its max (min) over ``axes``, else 0: ties share equally."""
    target = (xp.max if largest else xp.min)(vals, axis=axes, keepdims=True)
    m = (vals == target).astype(vals.dtype)
    return m / xp.sum(m, axis=axes, keepdims=True)


@defop(samples=_norm_cases, public="np.linalg")
def norm(xp, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    """``numpy.linalg.norm``: vector norms (``ord`` None/2, any ``p > 0``, negative ``p``, 0, inf,
    -inf) over an int ``axis``, matrix norms (None/'fro', 'nuc', inf, -inf, 1, -1, 2, -2) over a
    2-tuple ``axis``; ``axis=None`` means the whole array as a vector (``ord=None``) or as the 1-D
    or 2-D array it is.

    Gradient conventions: where the norm is 0 its gradient is defined as 0 (every ``ord``); at a
    tie of a max/min (``ord`` inf, -inf, and matrix 1, -1) the gradient is shared equally by the
    tied entries; ``|x|`` has slope ``sign(x)`` (0 at 0), so an entry at 0 gets gradient 0 for every
    vector ``ord`` (also ``p < 1``, where it is really unbounded); ``ord=0`` (a count) has zero gradient.
    Matrix 2, -2 and 'nuc' need distinct nonzero singular values for their derivatives.
    """
    if isinstance(axis, list):
        axis = tuple(axis)
    return xp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


@norm.vjp
def _(g, x, out, ord, axis, keepdims, shapes):  # noqa: A002
    shape = tuple(shapes[0])
    nd = len(shape)
    kind, axes = _norm_plan(nd, ord, axis)
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    gk = g if tuple(g.shape) == kept else T.reshape(g, kept)
    nk = out if tuple(out.shape) == kept else T.reshape(out, kept)
    zero = nk == 0
    safe = T.where(zero, 1.0, nk)
    xp = _xp(x)
    xd = _raw(x)
    if kind == "fro":
        res = gk * x / safe
    elif kind == "vec":
        if ord == 0:
            return (T.broadcast_to(gk * 0, shape),)
        sign = _const(x, xp.sign(xd))
        if ord == 2:
            res = gk * x / safe
        elif ord == 1:
            res = gk * sign
        elif ord in (_INF, -_INF):
            res = gk * sign * _const(x, _pick_mask(xp, xp.abs(xd), axes, ord > 0))
        else:  # |x|^(p-1) sign(x) / n^(p-1); entries at 0 get 0 (sign), with no inf/nan on the way
            ax = T.where(_const(x, xd == 0), 1.0, x * sign)
            res = gk * sign * T.power(ax / safe, ord - 1)
    else:
        r, c = axes
        if ord in ("nuc", 2, -2):
            u, _s, vh = T._svd(T.moveaxis(x, (r, c), (nd - 2, nd - 1)))
            if ord == "nuc":
                gm = T.matmul(u, vh)
            else:
                sl = slice(0, 1) if ord == 2 else slice(-1, None)
                gm = T.matmul(T.getitem(u, (Ellipsis, slice(None), sl)), T.getitem(vh, (Ellipsis, sl, slice(None))))
            res = gk * T.moveaxis(gm, (nd - 2, nd - 1), (r, c))
        elif ord in (_INF, -_INF, 1, -1):
            sum_ax, pick_ax = (c, r) if ord in (_INF, -_INF) else (r, c)
            sums = xp.sum(xp.abs(xd), axis=sum_ax, keepdims=True)
            mask = _const(x, _pick_mask(xp, sums, pick_ax, ord > 0))
            res = gk * _const(x, xp.sign(xd)) * mask
        else:
            raise ValueError(f"Invalid norm order {ord!r} for matrices.")
    res = T.where(zero, 0.0, res)
    if tuple(res.shape) != shape:
        res = T.broadcast_to(res, shape)
    return (res,)


# --- inv, det, solve -------------------------------------------------------------------------------


def _square_cases(rng):
    return [Case((_wellcond(rng, s),)) for s in ((3, 3), (2, 3, 3), (1, 1), (2, 1, 2, 2))]


@defop(samples=_square_cases, public="np.linalg")
def inv(xp, a):
    return xp.linalg.inv(a)


@inv.vjp
def _(g, out):
    oT = _mT(out)
    return (-T.matmul(T.matmul(oT, g), oT),)


@defop(samples=_square_cases, public="np.linalg")
def det(xp, a):
    return xp.linalg.det(a)


@det.vjp
def _(g, a, out):
    c = T.expand_dims(T.expand_dims(g * out, -1), -1)
    return (c * _mT(T.inv(a)),)


def _solve_cases(rng):
    shapes = [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 2)),
              ((3, 3), (2, 3, 2)), ((2, 1, 3, 3), (4, 3, 1)), ((2, 3, 3), (3, 1))]
    return [Case((_wellcond(rng, a), draw(rng, b))) for a, b in shapes]


@defop(samples=_solve_cases, public="np.linalg")
def solve(xp, a, b):
    """``x`` with ``a @ x = b``. As in NumPy 2, ``b`` is a vector only when it is 1-D; otherwise
    it is a (stack of) matrices; batch axes broadcast."""
    return xp.linalg.solve(a, b)


@solve.vjp
def _(g, a, out, shapes, needs):
    sa, sb = shapes
    vec = len(sb) == 1
    g2 = T.expand_dims(g, -1) if vec else g
    x2 = T.expand_dims(out, -1) if vec else out
    gb2 = T.solve(_mT(a), g2)  # a^-T g
    ga = gb = None
    if needs[0]:
        ga = _sum_to(-T.matmul(gb2, _mT(x2)), sa)
    if needs[1]:
        gb = _sum_to(T.reshape(gb2, tuple(gb2.shape[:-1])) if vec else gb2, sb)
    return (ga, gb)
