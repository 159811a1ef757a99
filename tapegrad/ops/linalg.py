"""Linear algebra: products, einsum, trace, norms, inverses, determinants, solves and the
decompositions (cholesky, eigh/eigvalsh, eig/eigvals, pinv, slogdet, svd/svdvals, qr).

Every VJP here is written in tapegrad ops, so derivatives of any order work. The only values a
VJP builds from raw buffers are piecewise-constant ones (signs, arg-max masks, identity and
ones matrices), whose derivative is zero wherever it exists.
"""
from __future__ import annotations

import string
from typing import Any, NamedTuple

import numpy

from .._core.array import OPS as T, Array
from ..backend import backend_for, xp_of
from ._util import add_or_none, bilinear_tangent
from .registry import constant, defop
from .samples import Case, draw

__all__ = ["einsum", "COMPOSITES"]

_INF = float("inf")


# --- helpers -----------------------------------------------------------------------------------


def _raw(a: Any) -> Any:
    return a._data if isinstance(a, Array) else a


def _const(like: Array, buf: Any) -> Array:
    """A constant (no history) of ``like``'s array class (raw when ``like`` is raw)."""
    return constant(like, buf)


def _xp(like: Any) -> Any:
    return xp_of((_raw(like),))


def _mT(a: Any) -> Any:
    """Swap the last two axes."""
    return T.swapaxes(a, -1, -2)


def _sum_to(x: Any, shape: tuple) -> Any:
    return x if tuple(x.shape) == tuple(shape) else T.sum_to(x, tuple(shape))


def _wellcond(rng, shape: tuple) -> numpy.ndarray:
    """A (stack of) square matrices ``draw + 3 I``: comfortably invertible."""
    n = shape[-1]
    return draw(rng, shape) + 3 * numpy.eye(n)


# --- dot, vdot, inner, outer, matmul --------------------------------------------------------------


def _shape(a: Any) -> tuple:
    return tuple(getattr(a, "shape", ()))


def _mismatch(name: str, a: Any, b: Any, a_ax: Any, b_ax: Any, hint: str) -> ValueError:
    """A product's operands that do not line up, in words: both shapes, the axes that must agree and
    how to fix it (instead of NumPy's gufunc-signature text)."""
    sa, sb = _shape(a), _shape(b)
    return ValueError(f"{name}: shapes {sa} and {sb} do not match: the first operand's {a_ax} must equal the "
                      f"second's {b_ax}; {hint}")


def _dot_error(a: Any, b: Any) -> ValueError:
    sa, sb = _shape(a), _shape(b)
    j = max(len(sb) - 2, 0)
    return _mismatch("dot", a, b, f"last axis ({sa[-1]})", f"axis {j} ({sb[j]})",
                     "transpose an operand (a.T) or check the shapes")


def _matmul_error(a: Any, b: Any) -> ValueError:
    sa, sb = _shape(a), _shape(b)
    if not sa or not sb:
        return ValueError(f"matmul: shapes {sa} and {sb}: a 0-d operand has no axis to multiply over; "
                          "use * (multiply) for a scalar")
    ka, kb = sa[-1], sb[-2] if len(sb) >= 2 else sb[-1]
    if ka != kb:
        b_ax = f"second-to-last axis ({kb})" if len(sb) >= 2 else f"length ({kb})"
        return _mismatch("matmul", a, b, f"last axis ({ka})", b_ax,
                         "transpose an operand (a.T, or swapaxes(-1, -2) for a stack) or check the shapes")
    ba, bb = sa[:-2], sb[:-2]
    return ValueError(f"matmul: shapes {sa} and {sb} do not match: their batch axes {ba} and {bb} do not "
                      "broadcast (each pair of sizes must be equal or 1); reshape or expand one of them")


def _scaled_vjp(g, a, b, needs):
    """VJP of a product in which one side is 0-d (dot and inner then just scale)."""
    ga = gb = None
    if needs[0]:
        ga = T.sum(g * b) if _ndim(a) == 0 else g * b
    if needs[1]:
        gb = T.sum(g * a) if _ndim(b) == 0 else g * a
    return (ga, gb)


def _dot_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((), (3,)), ((2, 3), ()),
              ((), ()), ((2, 3, 4), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (5, 4, 2)), ((2, 3), (4, 3, 2))]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_dot_cases, product=True)
def dot(xp, a, b):
    try:
        if _ndim(a) == 2 and _ndim(b) == 2:
            # the same product; matmul hands a transposed operand (a VJP's x.T) to BLAS as a
            # transposed matrix, where dot copies it first (~30% slower for 128x784 by 128x512 float32)
            return xp.matmul(a, b)
        return xp.dot(a, b)
    except ValueError:
        if _ndim(a) and _ndim(b):
            raise _dot_error(a, b) from None
        raise


def _product_into(x, y, out):
    """``dot(x, y)`` of matrices; written into ``out`` when the engine offers a variable's gradient
    buffer (raw buffers then: see ``Op.vjp``'s ``outs``)."""
    if out is None:
        return T.dot(x, y)
    return xp_of((out,)).matmul(x, y, out=out)


@dot.vjp
def _(g, a, b, needs, outs):
    if _ndim(a) == 0 or _ndim(b) == 0:  # also a Python number
        return _scaled_vjp(g, a, b, needs)
    ga = gb = None
    if a.ndim == 2 and b.ndim == 2:  # the common case, as two plain matrix products
        return (_product_into(g, T.transpose(b), outs[0]) if needs[0] else None,
                _product_into(T.transpose(a), g, outs[1]) if needs[1] else None)
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


@dot.jvp
def _(ts, a, b):
    return bilinear_tangent(T.dot, ts, a, b)


def _vdot_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (6,)), ((1,), (1,))]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_vdot_cases)
def vdot(xp, a, b):
    """``sum(conj(a).ravel() * b.ravel())``."""
    if _shape(a) and _shape(b) and a.size != b.size:
        raise ValueError(f"vdot: shapes {_shape(a)} and {_shape(b)} do not match: vdot flattens both operands, "
                         f"so their sizes ({a.size} and {b.size}) must be equal; check the shapes")
    return xp.vdot(a, b)


@vdot.vjp
def _(g, a, b, shapes, needs):
    # vdot is antilinear in a: its cotangent is the conjugate of the bilinear one (HIPS/JAX convention)
    ga = _cj(g * T.reshape(b, shapes[0])) if needs[0] else None
    gb = g * T.reshape(_cj(a), shapes[1]) if needs[1] else None
    return (ga, gb)


@vdot.jvp
def _(ts, a, b):
    return bilinear_tangent(T.vdot, ts, a, b)


def _inner_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (4, 3)), ((2, 3, 4), (5, 4)),
              ((), (2, 3)), ((2, 3), ())]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_inner_cases)
def inner(xp, a, b):
    try:
        return xp.inner(a, b)
    except ValueError:
        if _ndim(a) and _ndim(b):
            raise _mismatch("inner", a, b, f"last axis ({_shape(a)[-1]})", f"last axis ({_shape(b)[-1]})",
                            "inner contracts the last axes; transpose an operand or check the shapes") from None
        raise


@inner.vjp
def _(g, a, b, needs):
    if _ndim(a) == 0 or _ndim(b) == 0:  # also a Python number
        return _scaled_vjp(g, a, b, needs)
    ga = gb = None
    # inner(a, b)[i..., j...] = sum_k a[i..., k] b[j..., k]
    na, nb = a.ndim - 1, b.ndim - 1
    if needs[0]:
        ga = T.tensordot(g, b, (list(range(na, na + nb)), list(range(nb))))
    if needs[1]:
        gb = T.tensordot(g, a, (list(range(na)), list(range(na))))
    return (ga, gb)


@inner.jvp
def _(ts, a, b):
    return bilinear_tangent(T.inner, ts, a, b)


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


@outer.jvp
def _(ts, a, b):
    return bilinear_tangent(T.outer, ts, a, b)


def _matmul_cases(rng):
    shapes = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (4, 5)),
              ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((2, 1, 3, 4), (5, 4, 2)), ((1, 3, 4), (2, 4, 5)),
              ((2, 3, 4), (2, 4, 2))]
    return [Case((draw(rng, a), draw(rng, b)), order=3 if len(a) + len(b) <= 5 else 2) for a, b in shapes]


@defop(samples=_matmul_cases, product=True, ufunc=numpy.matmul)  # (its own text for a mismatch)
def matmul(xp, x1, x2):
    """Matrix product with NumPy's rules: 1-D operands are promoted to a row (first) or column
    (second) and the promoted axis is dropped; leading batch axes broadcast."""
    try:
        return xp.matmul(x1, x2)
    except ValueError:
        raise _matmul_error(x1, x2) from None


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


@matmul.jvp
def _(ts, x1, x2):
    return bilinear_tangent(T.matmul, ts, x1, x2)


# --- linear: x @ weight.T, PyTorch's F.linear without the bias ---------------------------------------


def _linear_cases(rng):
    shapes = [((4, 3), (2, 3)), ((3,), (2, 3)), ((2, 4, 3), (5, 3)), ((1, 3), (1, 3))]
    return [Case((draw(rng, x), draw(rng, w)), ref=lambda x, w: numpy.matmul(x, numpy.swapaxes(w, -1, -2)))
            for x, w in shapes]


@defop(samples=_linear_cases, public=None, product=True)
def linear(xp, x, weight):
    """``x @ weight.T`` for ``x`` of shape (..., in) and a 2-D ``weight`` (out, in): one op, so that the
    weight's gradient comes out in the weight's own layout, ``g.T @ x`` (PyTorch keeps that buffer)."""
    if weight.ndim != 2:
        raise ValueError(f"linear takes a 2-D weight (out_features, in_features), not one of shape {weight.shape}")
    try:
        return xp.matmul(x, weight.T)
    except ValueError:
        raise _matmul_error(x, weight.T) from None


@linear.vjp
def _(g, x, weight, needs):
    gx = T.matmul(g, weight) if needs[0] else None
    gw = None
    if needs[1]:
        if x.ndim == 1:
            gw = T.outer(g, x)
        else:
            n_out, n_in = weight.shape
            gw = T.matmul(T.transpose(T.reshape(g, (-1, n_out))), T.reshape(x, (-1, n_in)))
    return (gx, gw)


@linear.jvp
def _(ts, x, weight):
    return bilinear_tangent(T.linear, ts, x, weight)


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
    try:
        return backend_for(xp).tensordot(xp, a, b, axes)
    except (ValueError, IndexError):
        raw = ((range(-axes, 0), range(axes)) if isinstance(axes, int) else
               [[x] if isinstance(x, int) else list(x) for x in axes])
        for ax, x, which in zip(raw, (a, b), ("first", "second")):
            bad = [i for i in ax if not -x.ndim <= i < x.ndim]
            if bad:  # out of range: not a size mismatch (the axes below are taken modulo ndim)
                what = (f"contracts {axes} axes of each operand" if isinstance(axes, int) else
                        f"names axis {bad[0]} of the {which} operand")
                raise ValueError(f"tensordot: axes={axes!r} {what}, but the {which} has shape {x.shape} "
                                 f"({x.ndim} axes); check axes=") from None
        a_ax, b_ax = _td_axes(axes, max(a.ndim, 1), max(b.ndim, 1))
        if len(a_ax) != len(b_ax):
            raise ValueError(f"tensordot: axes {axes!r} name {len(a_ax)} axes of the first operand and {len(b_ax)} "
                             "of the second; give as many of each") from None
        pairs = ", ".join(f"{i} ({a.shape[i]}) with {j} ({b.shape[j]})" for i, j in zip(a_ax, b_ax)
                          if i < a.ndim and j < b.ndim)
        raise ValueError(f"tensordot: shapes {a.shape} and {b.shape} do not match along the contracted axes "
                         f"(first operand's axis with second's: {pairs}); each pair must have one size: "
                         "check axes= or the shapes") from None


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


@tensordot.jvp
def _(ts, a, b, axes):
    return bilinear_tangent(lambda x, y: T.tensordot(x, y, axes), ts, a, b)


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


@_einsum.jvp
def _(ts, operands, subscripts, optimize):
    out = None
    for i, t in enumerate(ts):
        if t is not None:
            ops = list(operands)
            ops[i] = t
            out = add_or_none(out, T._einsum(*ops, subscripts=subscripts, optimize=optimize))
    return out


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


@trace.jvp
def _(ts, offset, axis1, axis2):
    return T.trace(ts[0], offset=offset, axis1=axis1, axis2=axis2)


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
    m, n = shapes[0][-2:]
    return (_svd_rule(*out, *gs, m, n),)  # shared with svd (below)


@_svd.jvp
def _(ts, out, shapes):
    m, n = shapes[0][-2:]
    u, s, vh = out
    return _svd_tangent(u, s, vh, _tangent(ts, u), m, n)


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
    if ord is None and axis is None and not keepdims and x.dtype.kind == "f":
        x = x.ravel(order="K")  # the 2-norm of everything, as numpy.linalg.norm computes it
        return xp.sqrt(x.dot(x))
    if isinstance(axis, list):
        axis = tuple(axis)
    return xp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)


def _unit(x: Any, xp: Any, xd: Any) -> Any:
    """``sign(x)``, 0 at 0: a constant for real ``x`` (locally constant), ``x / |x|`` for complex ``x``
    (it varies with ``x``, so it stays differentiable for second order)."""
    if not _iscplx(x):
        return _const(x, xp.sign(xd))
    at0 = _const(x, xd == 0)
    return T.where(at0, 0.0, x / T.abs(T.where(at0, 1.0, x)))


@norm.vjp
def _(g, x, out, ord, axis, keepdims, shapes):  # noqa: A002
    # Each branch forms the steepest-ascent direction dN/dx + i dN/dy (the real formula); for
    # complex x the convention (README, "Complex numbers") is its conjugate, taken at the end.
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
        sign = _unit(x, xp, xd)
        if ord == 2:
            res = gk * x / safe
        elif ord == 1:
            res = gk * sign
        elif ord in (_INF, -_INF):
            res = gk * sign * _const(x, _pick_mask(xp, xp.abs(xd), axes, ord > 0))
        else:  # |x|^(p-1) sign(x) / n^(p-1); entries at 0 get 0 (sign), with no inf/nan on the way
            ax = T.abs(T.where(_const(x, xd == 0), 1.0, x))
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
            res = gk * _unit(x, xp, xd) * mask
        else:
            raise ValueError(f"Invalid norm order {ord!r} for matrices.")
    res = T.where(zero, 0.0, _cj(res))
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


@inv.jvp
def _(ts, out):
    return -T.matmul(T.matmul(out, ts[0]), out)


@defop(samples=_square_cases, public="np.linalg")
def det(xp, a):
    return xp.linalg.det(a)


@det.vjp
def _(g, a, out):
    c = T.expand_dims(T.expand_dims(g * out, -1), -1)
    return (c * _mT(T.inv(a)),)


@det.jvp
def _(ts, a, out):
    return out * T.sum(_mT(T.inv(a)) * ts[0], axis=(-2, -1))  # det(a) trace(a^-1 da)


def _solve_cases(rng):
    shapes = [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (3,)), ((2, 3, 3), (2, 3, 2)),
              ((3, 3), (2, 3, 2)), ((2, 1, 3, 3), (4, 3, 1)), ((2, 3, 3), (3, 1))]
    return [Case((_wellcond(rng, a), draw(rng, b))) for a, b in shapes]


@defop(samples=_solve_cases, public="np.linalg")
def solve(xp, a, b):
    """``x`` with ``a @ x = b``. As in NumPy 2, ``b`` is a vector only when it is 1-D; otherwise
    it is a (stack of) matrices; batch axes broadcast."""
    return backend_for(xp).solve(xp, a, b)


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


@solve.jvp
def _(ts, a, out, shapes):
    ta, tb = ts
    vec = len(shapes[1]) == 1
    rhs = None
    if tb is not None:
        rhs = T.expand_dims(tb, -1) if vec else tb
    if ta is not None:
        rhs = add_or_none(rhs, -T.matmul(ta, T.expand_dims(out, -1) if vec else out))
    dx = T.solve(a, rhs)
    if vec:
        dx = T.reshape(dx, tuple(dx.shape[:-1]))
    return dx if tuple(dx.shape) == tuple(out.shape) else T.broadcast_to(dx, tuple(out.shape))


# --- decompositions: cholesky, eigh, eig, pinv, slogdet, svd, qr ----------------------------------
#
# Conventions.  Complex numbers follow HIPS autograd and JAX: a cotangent ``gy`` of ``y`` pairs with a
# tangent ``dy`` as ``Re sum(gy * dy)`` (no conjugation), so the VJP of a holomorphic op is the
# plain transpose of its Jacobian and a real input receives the real part. Ops that NumPy computes
# from one triangle only (cholesky, eigh, eigvalsh, pinv/svd with hermitian=True) are differentiated
# as the functions NumPy actually computes: the other triangle gets zero gradient, and the imaginary
# part of a complex diagonal (which LAPACK ignores) too. Eigenvectors and singular vectors are
# differentiated in NumPy's own gauge where it is smooth (real sign conventions, eig's "unit norm,
# largest component real"); for complex eigh/svd/qr only phase-invariant functions are meaningful.
#
# Sources of the formulas: cholesky -- I. Murray, "Differentiation of the Cholesky decomposition"
# (arXiv:1602.07527), as in JAX and HIPS autograd; eigh, svd -- M. Giles, "An extended collection
# of matrix derivative results" (2008), J. Townsend's SVD note and Wan & Zhang (arXiv:1909.02659),
# as in HIPS autograd and JAX; eig -- Boeddeker et al. (arXiv:1701.00392, eq. 4.77) as in HIPS
# autograd, plus LAPACK's phase convention; pinv -- Golub & Pereyra (1973), valid where the rank is
# locally constant, as in HIPS autograd and JAX; qr -- Walter, Lehmann & Lamour (2012) and J. Townsend's
# QR note, as in JAX, extended to wide matrices by splitting ``A = [X | Y]``.


@defop(samples=lambda rng: [Case((draw(rng, (2, 3)),), ref=numpy.real)], public=None)
def _la_real(xp, x):
    """Real part (a copy), for the rules below; its VJP hands the real cotangent back as is."""
    return xp.array(xp.real(x))


@_la_real.vjp
def _(g):
    return (g,)


@_la_real.jvp
def _(ts):
    return T._la_real(ts[0])


@defop(samples=lambda rng: [Case((draw(rng, (2, 3)),), ref=numpy.conj)], public=None)
def _la_conj(xp, x):
    """Complex conjugate, for the rules below (the VJP of conj is conj)."""
    return xp.conj(x)


@_la_conj.vjp
def _(g):
    return (T._la_conj(g),)


@_la_conj.jvp
def _(ts):
    return T._la_conj(ts[0])


def _real_dtype(dt: Any) -> Any:
    return numpy.empty(0, dtype=dt).real.dtype


def _iscplx(x: Any) -> bool:
    return numpy.iscomplexobj(_raw(x))


def _cconst(like: Any, buf: Any) -> Array:
    """A real constant in ``like``'s precision (``like`` may be complex)."""
    return _const(like, _xp(like).asarray(buf, dtype=_real_dtype(_raw(like).dtype)))


def _eye(like: Any, n: int) -> Array:
    return _cconst(like, numpy.eye(n))


def _mask(like: Any, n: int, k: int, lower: bool) -> Array:
    """1 on and below diagonal ``k`` (``lower``) or on and above it, else 0."""
    m = numpy.tril(numpy.ones((n, n)), k) if lower else numpy.triu(numpy.ones((n, n)), k)
    return _cconst(like, m)


def _re(x: Any) -> Any:
    return T._la_real(x) if _iscplx(x) else x


def _cj(x: Any) -> Any:
    return T._la_conj(x) if _iscplx(x) else x


def _H(x: Any) -> Any:
    """Conjugate transpose of the last two axes."""
    return _mT(_cj(x))


def _diag_of(x: Any) -> Any:
    return T.diagonal(x, 0, -2, -1)


def _diag_mat(v: Any) -> Any:
    """A (stack of) diagonal matrices with ``v`` on the diagonal."""
    n = v.shape[-1]
    return _eye(v, n) * T.expand_dims(v, -1)


def _herm_complete(t: Any, lower: bool) -> Any:
    """The Hermitian matrix LAPACK reads from one triangle of ``t``: the strict triangle, its
    conjugate mirror, and the real part of the diagonal."""
    n = t.shape[-1]
    tri = t * _mask(t, n, -1 if lower else 1, lower)
    return tri + _H(tri) + _eye(t, n) * _re(t)


def _herm_project(p: Any, lower: bool) -> Any:
    """Transpose of ``_herm_complete``: a cotangent ``p`` of the completed matrix, returned on the
    triangle that was read."""
    n = p.shape[-1]
    return (p + _H(p)) * _mask(p, n, -1 if lower else 1, lower) + _eye(p, n) * _re(p)


def _real_if(x: Any, dtype: Any) -> Any:
    """``x``, or its real part when the input it is the cotangent of is real."""
    return _re(x) if dtype is not None and numpy.dtype(dtype).kind != "c" else x


def _gap_inverse(w: Any) -> Any:
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it (distinct ``w`` assumed)."""
    n = w.shape[-1]
    eye = _eye(w, n)
    return (1 - eye) / (T.expand_dims(w, -2) - T.expand_dims(w, -1) + eye)


def _zeros_like(x: Any) -> Array:
    return _const(x, _xp(x).zeros_like(_raw(x)))


def _tangent(ts: tuple, like: Any) -> Any:
    t = ts[0]
    return _zeros_like(like) if t is None else t


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


def _spd(rng, shape: tuple) -> numpy.ndarray:
    """Symmetric positive definite ``B B^T + n I``."""
    b = draw(rng, shape)
    n = shape[-1]
    return b @ numpy.swapaxes(b, -1, -2) + n * numpy.eye(n)


def _orth(rng, n: int) -> numpy.ndarray:
    q, r = numpy.linalg.qr(rng.standard_normal((n, n)))
    return q * numpy.sign(numpy.diag(r))


def _sym_spectrum(rng, shape: tuple, junk_upper: bool = False, lower: bool = True) -> numpy.ndarray:
    """Symmetric matrices with well-separated eigenvalues; with ``junk_upper`` the triangle NumPy
    does not read holds unrelated values."""
    n = shape[-1]
    out = numpy.empty(shape)
    for idx in numpy.ndindex(*shape[:-2]):
        w = numpy.arange(n) * 1.1 - 0.4 * n + rng.uniform(-0.2, 0.2, n)
        q = _orth(rng, n)
        out[idx] = (q * w) @ q.T
    if junk_upper:
        junk = draw(rng, shape)
        keep = numpy.tril(numpy.ones((n, n))) if lower else numpy.triu(numpy.ones((n, n)))
        out = out * keep + junk * (1 - keep)
    return out


def _sv_matrix(rng, shape: tuple) -> numpy.ndarray:
    """Matrices with well-separated singular values (about 3, 2, 1, ...)."""
    m, n = shape[-2:]
    k = min(m, n)
    out = numpy.empty(shape)
    for idx in numpy.ndindex(*shape[:-2]):
        s = numpy.arange(k, 0, -1) * 0.9 + 0.6 + rng.uniform(-0.15, 0.15, k)
        out[idx] = (_orth(rng, m)[:, :k] * s) @ _orth(rng, n)[:, :k].T
    return out


# --- cholesky -------------------------------------------------------------------------------------


def _cholesky_cases(rng):
    return [Case((_spd(rng, (3, 3)),)), Case((_spd(rng, (2, 3, 3)),)), Case((_spd(rng, (1, 1)),)),
            Case((numpy.tril(_spd(rng, (3, 3))) + numpy.triu(draw(rng, (3, 3)), 1),)),
            Case((_spd(rng, (3, 3)),), dict(upper=True)), Case((_spd(rng, (2, 2, 2)),), dict(upper=True))]


@defop(samples=_cholesky_cases, public="np.linalg")
def cholesky(xp, a, *, upper=False):
    """Cholesky factor ``L`` (``a = L L^H``), or ``U = L^H`` with ``upper=True``. NumPy reads one
    triangle of ``a`` (the lower one, the upper one with ``upper=True``), and the gradient lives on
    that triangle."""
    return backend_for(xp).cholesky(xp, a, upper)


def _phi(x: Any) -> Any:
    """Lower triangle with the diagonal halved."""
    n = x.shape[-1]
    return x * (_mask(x, n, 0, True) - 0.5 * _eye(x, n))


@cholesky.vjp
def _(g, out, upper):
    lo = _H(out) if upper else out
    gl = _H(g) if upper else g
    li = T.inv(lo)
    p = T.matmul(T.matmul(_mT(li), _phi(T.matmul(_mT(lo), gl))), _cj(li))
    return (_herm_project(p, not upper),)


@cholesky.jvp
def _(ts, out, upper):
    lo = _H(out) if upper else out
    da = _herm_complete(_tangent(ts, out), not upper)
    li = T.inv(lo)
    dl = T.matmul(lo, _phi(T.matmul(T.matmul(li, da), _H(li))))
    return _H(dl) if upper else dl


# --- eigh, eigvalsh -------------------------------------------------------------------------------


def _lower(uplo: str) -> bool:
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return uplo in ("L", "l")


def _eigh_cases(rng):
    return [Case((_sym_spectrum(rng, (3, 3)),)), Case((_sym_spectrum(rng, (2, 3, 3)),)),
            Case((_sym_spectrum(rng, (4, 4), junk_upper=True),)),
            Case((_sym_spectrum(rng, (3, 3), junk_upper=True, lower=False),), dict(UPLO="U")),
            Case((_sym_spectrum(rng, (1, 1)),))]


@defop(nout=2, samples=_eigh_cases, public="np.linalg")
def eigh(xp, a, UPLO="L"):  # noqa: N803 - NumPy's name
    """Eigenvalues (ascending) and orthonormal eigenvectors of a Hermitian matrix, read from its
    lower (``UPLO='L'``) or upper triangle. Gradients need distinct eigenvalues (for the vectors)."""
    w, v = xp.linalg.eigh(a, UPLO=UPLO)
    return w, v


def _eigh_rule(w: Any, v: Any, gw: Any, gv: Any, lower: bool) -> Any:
    k = None if gw is None else _diag_mat(gw)
    if gv is not None:
        k = add_or_none(k, _gap_inverse(w) * T.matmul(_mT(v), gv))
    if k is None:
        return None
    return _herm_project(T.matmul(T.matmul(_cj(v), k), _mT(v)), lower)


@eigh.vjp
def _(gs, out, UPLO):  # noqa: N803
    w, v = out
    return (_eigh_rule(w, v, gs[0], gs[1], _lower(UPLO)),)


@eigh.jvp
def _(ts, out, UPLO):  # noqa: N803
    w, v = out
    da = _herm_complete(_tangent(ts, v), _lower(UPLO))
    m = T.matmul(T.matmul(_H(v), da), v)
    return _re(_diag_of(m)), T.matmul(v, _gap_inverse(w) * m)


def _eigvalsh_cases(rng):
    return [Case((_sym_spectrum(rng, (3, 3)),)), Case((_sym_spectrum(rng, (2, 3, 3), junk_upper=True,
                                                                       lower=False),), dict(UPLO="U"))]


@defop(samples=_eigvalsh_cases, public="np.linalg")
def eigvalsh(xp, a, UPLO="L"):  # noqa: N803
    """Eigenvalues of a Hermitian matrix (see ``eigh``); the gradient needs no distinct eigenvalues."""
    return xp.linalg.eigvalsh(a, UPLO=UPLO)


@eigvalsh.vjp
def _(g, a, UPLO):  # noqa: N803
    _w, v = T.eigh(a, UPLO=UPLO)
    return (_eigh_rule(None, v, g, None, _lower(UPLO)),)


@eigvalsh.jvp
def _(ts, a, UPLO):  # noqa: N803
    _w, v = T.eigh(a, UPLO=UPLO)
    da = _herm_complete(_tangent(ts, a), _lower(UPLO))
    return _re(_diag_of(T.matmul(T.matmul(_H(v), da), v)))


# --- eig, eigvals ---------------------------------------------------------------------------------


def _eig_matrix(rng, n: int, complex_pair: bool) -> numpy.ndarray:
    """``S diag(w) S^-1`` with well-separated eigenvalues (one conjugate pair if asked) and a
    well-conditioned ``S``."""
    while True:
        s = rng.standard_normal((n, n)) * 0.3 + numpy.eye(n)
        w = numpy.arange(n) * 1.2 - 0.5 * n + rng.uniform(-0.2, 0.2, n)
        d = numpy.diag(w)
        if complex_pair:  # a 2x2 rotation-scaling block: eigenvalues w0 +- 0.9i
            d[:2, :2] = [[w[0], 0.9], [-0.9, w[0]]]
        a = s @ d @ numpy.linalg.inv(s)
        if _eig_smooth(a, rng):
            return a


def _eig_smooth(a: numpy.ndarray, rng) -> bool:
    """Whether NumPy's eigenvectors of ``a`` vary smoothly nearby. LAPACK makes each eigenvector's
    largest component real, and for a complex pair of a real matrix the sign it gives that
    component can flip under round-off-sized changes for some matrices (a few percent of random
    ones); finite differences are meaningless there, so samples avoid them."""
    v0 = numpy.linalg.eig(a)[1]
    mod = numpy.sort(numpy.abs(v0), axis=0)
    if a.shape[-1] > 1 and not numpy.all(mod[-1] > 1.25 * mod[-2]):  # a clear largest component
        return False
    for _ in range(8):
        u = rng.standard_normal(a.shape)
        for t in (1e-7, -1e-7, 1e-6, -1e-6, 3e-6, -3e-6, 1e-5, -1e-5, 3e-5, -3e-5):
            if numpy.abs(numpy.linalg.eig(a + t * u)[1] - v0).max() > 1e-2:
                return False
    return True


def _eig_cases(rng):
    return [Case((_eig_matrix(rng, 3, False),)), Case((_eig_matrix(rng, 3, True),)),
            Case((numpy.stack([_eig_matrix(rng, 3, False), _eig_matrix(rng, 3, True)]),)),
            Case((_eig_matrix(rng, 4, True),)), Case((draw(rng, (1, 1)),))]


@defop(nout=2, samples=_eig_cases, public="np.linalg")
def eig(xp, a):
    """Eigenvalues and right eigenvectors of a general square matrix. As in NumPy the results are
    real when every eigenvalue is, complex otherwise; each eigenvector has unit norm and (LAPACK's
    convention, which the gradient follows) its largest component real. Needs distinct eigenvalues.
    For a complex pair of a real matrix, LAPACK's sign of that real component can flip under
    round-off-sized changes of some matrices, where the eigenvectors are not differentiable at all;
    functions invariant to the eigenvectors' phases (and eigenvalues) are always safe."""
    w, v = xp.linalg.eig(a)
    return w, v


def _eig_pivot(v: Any) -> Array:
    """One-hot (along rows) at each column's largest-modulus component: the one LAPACK keeps real."""
    xp = _xp(v)
    vd = _raw(v)
    n = vd.shape[-2]
    j = xp.argmax(xp.abs(vd), axis=-2)
    return _cconst(v, (xp.arange(n)[:, None] == j[..., None, :]).astype(_real_dtype(vd.dtype)))


@eig.vjp
def _(gs, out, dtypes):
    w, v = out
    gw, gv = gs
    k = None if gw is None else _diag_mat(gw)
    if gv is not None:
        # the gauge (unit norm, pivot component real) adds v * c to dv; its transpose:
        d = T.sum(v * gv, axis=-2, keepdims=True)  # d_k = sum_j v_jk gv_jk
        gz = gv - _re(d) * _cj(v)
        if _iscplx(v) or _iscplx(gv):
            e = _eig_pivot(v)
            r = T.sum(e * v, axis=-2, keepdims=True)  # real in value (LAPACK's convention)
            gz = gz - (d - _re(d)) * e / r  # -i Im(d) e / r
        k = add_or_none(k, _gap_inverse(w) * T.matmul(_mT(v), gz))
    if k is None:
        return (None,)
    ga = T.matmul(T.solve(_mT(v), k), _mT(v))  # v^-T k v^T
    return (_real_if(ga, dtypes[0]),)


@eig.jvp
def _(ts, out):
    w, v = out
    da = _tangent(ts, v)
    m = T.matmul(T.solve(v, da), v)  # v^-1 da v
    dw = _diag_of(m)
    z = T.matmul(v, _gap_inverse(w) * m)
    c = -_re(T.sum(_cj(v) * z, axis=-2, keepdims=True))
    if _iscplx(v) or _iscplx(z):
        e = _eig_pivot(v)
        r = T.sum(e * v, axis=-2, keepdims=True)  # real in value (LAPACK's convention)
        zp = T.sum(e * z, axis=-2, keepdims=True)
        c = c - (zp - _re(zp)) / r  # - i Im(z_pivot) / r
    return dw, z + v * c


def _eigvals_cases(rng):
    return [Case((_eig_matrix(rng, 3, False),)), Case((_eig_matrix(rng, 3, True),)),
            Case((numpy.stack([_eig_matrix(rng, 3, True), _eig_matrix(rng, 3, True)]),))]


@defop(samples=_eigvals_cases, public="np.linalg")
def eigvals(xp, a):
    """Eigenvalues of a general square matrix (see ``eig``); gradients need distinct eigenvalues."""
    return xp.linalg.eigvals(a)


@eigvals.vjp
def _(g, a, dtypes):
    _w, v = T.eig(a)
    return (_real_if(T.matmul(T.solve(_mT(v), _diag_mat(g)), _mT(v)), dtypes[0]),)


@eigvals.jvp
def _(ts, a):
    _w, v = T.eig(a)
    return _diag_of(T.matmul(T.solve(v, _tangent(ts, a)), v))


# --- slogdet --------------------------------------------------------------------------------------


def _slogdet_cases(rng):
    neg = _wellcond(rng, (3, 3))
    neg[0] *= -1
    return [Case((_wellcond(rng, (3, 3)),)), Case((neg,)), Case((_wellcond(rng, (2, 3, 3)),)),
            Case((_wellcond(rng, (1, 1)),))]


@defop(nout=2, samples=_slogdet_cases, public="np.linalg")
def slogdet(xp, a):
    """``(sign, logabsdet)`` of ``det(a)``; ``sign`` is piecewise constant for real ``a`` (zero
    gradient) and ``det / |det|`` for complex ``a``."""
    sign, logdet = xp.linalg.slogdet(a)
    return sign, logdet


@slogdet.vjp
def _(gs, a, out):
    sign, _l = out
    gsign, glog = gs
    t = glog
    if gsign is not None and _iscplx(sign):
        c = gsign * sign
        t = add_or_none(t, c - _re(c))  # i Im(gsign * sign)
    if t is None:
        return (None,)
    return (T.expand_dims(T.expand_dims(t, -1), -1) * _mT(T.inv(a)),)


@slogdet.jvp
def _(ts, a, out):
    sign, _l = out
    tr = T.sum(_mT(T.inv(a)) * _tangent(ts, a), axis=(-2, -1))  # trace(a^-1 da)
    dsign = sign * (tr - _re(tr)) if _iscplx(sign) else _zeros_like(sign)
    return dsign, _re(tr)


# --- pinv -----------------------------------------------------------------------------------------

_NOVALUE = numpy._NoValue  # NumPy's "argument not given" marker (pinv's rtol)


def _pinv_cases(rng):
    return [Case((draw(rng, (3, 2)),)), Case((draw(rng, (2, 4)),)), Case((_wellcond(rng, (3, 3)),)),
            Case((draw(rng, (2, 4, 3)),)), Case((_sym_spectrum(rng, (3, 3), junk_upper=True),), dict(hermitian=True)),
            Case((draw(rng, (3, 2)),), dict(rcond=1e-10)), Case((draw(rng, (2, 3)),), dict(rtol=None))]


@defop(samples=_pinv_cases, public="np.linalg")
def pinv(xp, a, rcond=None, hermitian=False, *, rtol=_NOVALUE):
    """Moore-Penrose pseudo-inverse. The gradient is the derivative of the pseudo-inverse along
    perturbations that keep the rank (Golub & Pereyra), so it is right for rank-deficient matrices
    too as long as the perturbations (e.g. ``pinv(b @ c)`` with thin ``b, c``) keep the rank.
    ``hermitian=True`` reads the lower triangle, as NumPy does."""
    return backend_for(xp).pinv(xp, a, rcond, hermitian, rtol)


@pinv.vjp
def _(g, a, out, hermitian, shapes):
    m, n = shapes[0][-2:]
    x = out
    ae = _herm_complete(a, True) if hermitian else a
    p = _eye(x, m) - T.matmul(ae, x)  # I - A X (m x m)
    q = _eye(x, n) - T.matmul(x, ae)  # I - X A (n x n)
    xt, xc, gh = _mT(x), _cj(x), _H(g)
    ga = (-T.matmul(T.matmul(xt, g), xt) + T.matmul(T.matmul(_cj(p), gh), T.matmul(xc, xt))
          + T.matmul(T.matmul(T.matmul(xt, xc), gh), _cj(q)))
    return (_herm_project(ga, True) if hermitian else ga,)


@pinv.jvp
def _(ts, a, out, hermitian, shapes):
    m, n = shapes[0][-2:]
    x = out
    da = _tangent(ts, a)
    ae = a
    if hermitian:
        da, ae = _herm_complete(da, True), _herm_complete(a, True)
    p = _eye(x, m) - T.matmul(ae, x)
    q = _eye(x, n) - T.matmul(x, ae)
    xh, dah = _H(x), _H(da)
    return (-T.matmul(T.matmul(x, da), x) + T.matmul(T.matmul(T.matmul(x, xh), dah), p)
            + T.matmul(T.matmul(q, dah), T.matmul(xh, x)))


# --- svd, svdvals ---------------------------------------------------------------------------------


def _svd_cases_public(rng):
    return [Case((_sv_matrix(rng, (3, 3)),)), Case((_sv_matrix(rng, (4, 2)),), dict(full_matrices=False)),
            Case((_sv_matrix(rng, (2, 4)),), dict(full_matrices=False)),
            Case((_sv_matrix(rng, (2, 3, 4)),), dict(full_matrices=False)),
            Case((_sv_matrix(rng, (2, 3, 3)),), dict(full_matrices=True))]


def _svd_rule(u: Any, s: Any, vh: Any, gu: Any, gsv: Any, gvh: Any, m: int, n: int) -> Any:
    """VJP of the thin SVD ``a = u diag(s) vh`` (complex allowed), for distinct nonzero ``s``."""
    k = min(m, n)
    eye = _eye(s, k)
    s_row = T.expand_dims(s, -2)  # s_j along columns
    s_col = T.expand_dims(s, -1)  # s_i along rows
    f = (1 - eye) / (s_row * s_row - s_col * s_col + eye)  # 1 / (s_j^2 - s_i^2) off the diagonal
    pb = None if gsv is None else _diag_mat(gsv)
    if gu is not None:
        x = T.matmul(_mT(u), gu)
        pb = add_or_none(pb, f * (x - _H(x)) * s_row)
        if _iscplx(x):  # the phase of u_k follows Im(u_k^H da v_k) / s_k
            pb = pb + eye * (x - _re(x)) / s_row
    if gvh is not None:
        gv = _H(gvh)
        y = T.matmul(_cj(vh), gv)  # v^T gv
        pb = add_or_none(pb, s_col * (f * (y - _H(y))))
    ga = None if pb is None else T.matmul(T.matmul(_cj(u), pb), _cj(vh))
    if m > k and gu is not None:  # the part of gu outside span(u)
        proj = gu - T.matmul(_cj(u), T.matmul(_mT(u), gu))
        ga = add_or_none(ga, T.matmul(proj / s_row, _cj(vh)))
    if n > k and gvh is not None:  # the part of gv outside span(v)
        proj = gvh - T.matmul(T.matmul(gvh, _mT(vh)), _cj(vh))
        ga = add_or_none(ga, T.matmul(_cj(u) / s_row, proj))
    return ga


def _svd_tangent(u: Any, s: Any, vh: Any, da: Any, m: int, n: int) -> tuple:
    """JVP of the thin SVD: ``(du, ds, dvh)``."""
    k = min(m, n)
    eye = _eye(s, k)
    s_row = T.expand_dims(s, -2)
    s_col = T.expand_dims(s, -1)
    f = (1 - eye) / (s_row * s_row - s_col * s_col + eye)
    v = _H(vh)
    dp = T.matmul(T.matmul(_H(u), da), v)  # u^H da v
    ds = _re(_diag_of(dp))
    dph = _H(dp)
    du = T.matmul(u, f * (dp * s_row + s_col * dph))
    dv = T.matmul(v, f * (s_col * dp + dph * s_row))
    if _iscplx(dp):
        du = du + T.matmul(u, eye * (dp - _re(dp)) / s_row)
    if m > k:
        du = du + T.matmul(da - T.matmul(u, T.matmul(_H(u), da)), v) / s_row
    if n > k:
        dah = _H(da)
        dv = dv + T.matmul(dah - T.matmul(v, T.matmul(vh, dah)), u) / s_row
    return du, ds, _H(dv)


def _svd_route(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False) -> Any:
    if hermitian:
        return _svd_hermitian(a, compute_uv)
    if not compute_uv:
        return T.svdvals(a)
    return NotImplemented  # the op itself


def _svd_hermitian(a: Any, compute_uv: bool) -> Any:
    """NumPy's ``svd(a, hermitian=True)``, composed from ``eigh``: ``|w|`` sorted descending, with
    ``vh = (u * sign(w))^H``."""
    if not compute_uv:
        w = T.eigvalsh(a)
        wd = _raw(w)
        idx = _xp(w).argsort(_xp(w).abs(wd), axis=-1)[..., ::-1]
        return T.take_along_axis(T.abs(w), _const(w, idx), -1)
    w, u = T.eigh(a)
    xp, wd = _xp(w), _raw(w)
    sgn = xp.sign(wd)
    idx = xp.argsort(xp.abs(wd), axis=-1)[..., ::-1]
    s = T.take_along_axis(T.abs(w), _const(w, idx), -1)
    u = T.take_along_axis(u, _const(w, xp.broadcast_to(idx[..., None, :], _raw(u).shape)), -1)
    sgn = xp.take_along_axis(sgn, idx, axis=-1)
    vh = _H(u * _cconst(u, sgn[..., None, :]))
    return SVDResult(u, s, vh)


@defop(nout=3, samples=_svd_cases_public, public="np.linalg")
def svd(xp, a, full_matrices=True, compute_uv=True, hermitian=False):
    """``(U, S, Vh)`` with ``a = U diag(S) Vh`` (a named tuple, as in NumPy); ``compute_uv=False``
    gives ``S`` (via ``svdvals``) and ``hermitian=True`` is composed from ``eigh``.

    Gradients need distinct nonzero singular values. With ``full_matrices=True`` and a non-square
    ``a``, the extra columns of ``U`` (or rows of ``Vh``) are not unique: gradients flow through
    ``S`` and the leading ``min(m, n)`` columns of ``U`` / rows of ``Vh``; a nonzero cotangent on the
    extra ones raises NotImplementedError in reverse mode, and their forward-mode tangent is NaN.
    For complex ``a`` only functions invariant to the singular vectors' phases are meaningful."""
    if hermitian or not compute_uv:  # routed to other ops by svd(); only reachable through apply()
        raise ValueError("svd: hermitian=True and compute_uv=False are handled by np.linalg.svd()")
    u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


@svd.vjp
def _(gs, out, shapes):
    gu, gsv, gvh = gs
    u, s, vh = out
    m, n = shapes[0][-2:]
    k = min(m, n)
    if m > k and u.shape[-1] > k:
        u, gu = _thin(u, gu, (Ellipsis, slice(None), slice(0, k)), (Ellipsis, slice(None), slice(k, None)), "U")
    if n > k and vh.shape[-2] > k:
        vh, gvh = _thin(vh, gvh, (Ellipsis, slice(0, k), slice(None)), (Ellipsis, slice(k, None), slice(None)), "Vh")
    return (_svd_rule(u, s, vh, gu, gsv, gvh, m, n),)


def _thin(x: Any, g: Any, keep: tuple, extra: tuple, name: str) -> tuple:
    """The reduced part of a full factor and of its cotangent; refuses a cotangent on the rest."""
    if g is not None:
        xp = _xp(g)
        if xp.any(_raw(g)[extra] != 0):
            raise NotImplementedError(
                f"svd: the gradient through the extra {'columns' if name == 'U' else 'rows'} of {name} "
                "from full_matrices=True on a non-square matrix is not defined (they are not unique); "
                "use full_matrices=False, or only the leading min(m, n) of them")
        g = T.getitem(g, keep)
    return T.getitem(x, keep), g


@svd.jvp
def _(ts, out, shapes):
    u, s, vh = out
    m, n = shapes[0][-2:]
    k = min(m, n)
    da = _tangent(ts, u)
    full_u = m > k and u.shape[-1] > k
    full_v = n > k and vh.shape[-2] > k
    ut = T.getitem(u, (Ellipsis, slice(None), slice(0, k))) if full_u else u
    vht = T.getitem(vh, (Ellipsis, slice(0, k), slice(None))) if full_v else vh
    du, ds, dvh = _svd_tangent(ut, s, vht, da, m, n)
    nan = float("nan")
    if full_u:  # not unique: NaN marks the tangent of the extra columns as undefined
        du = T.concatenate([du, _const(u, _xp(u).full(_raw(u).shape[:-1] + (m - k,), nan, _raw(u).dtype))], axis=-1)
    if full_v:
        dvh = T.concatenate([dvh, _const(vh, _xp(vh).full(_raw(vh).shape[:-2] + (n - k, n), nan, _raw(vh).dtype))],
                            axis=-2)
    return du, ds, dvh


def _svdvals_cases(rng):
    return [Case((_sv_matrix(rng, (3, 4)),)), Case((_sv_matrix(rng, (2, 3, 3)),)), Case((_sv_matrix(rng, (4, 2)),))]


@defop(samples=_svdvals_cases, public="np.linalg")
def svdvals(xp, x):
    """Singular values, descending (NumPy 2's ``svdvals``, and ``svd(compute_uv=False)``)."""
    return xp.linalg.svd(x, compute_uv=False)


@svdvals.vjp
def _(g, x):
    u, _s, vh = T._svd(x)
    return (T.matmul(_cj(u) * T.expand_dims(g, -2), _cj(vh)),)


@svdvals.jvp
def _(ts, x):
    u, _s, vh = T._svd(x)
    return _re(_diag_of(T.matmul(T.matmul(_H(u), _tangent(ts, x)), _H(vh))))


# --- qr -------------------------------------------------------------------------------------------


def _qr_cases(rng):
    return [Case((_wellcond(rng, (3, 3)),)), Case((_sv_matrix(rng, (4, 2)),)), Case((_sv_matrix(rng, (2, 4)),)),
            Case((_sv_matrix(rng, (2, 4, 3)),)), Case((_sv_matrix(rng, (2, 3, 5)),)),
            Case((_sv_matrix(rng, (2, 3)),), dict(mode="complete")),
            Case((_wellcond(rng, (3, 3)),), dict(mode="complete"))]


def _qr_route(a: Any, mode: str = "reduced") -> Any:
    if mode == "r":
        return T.qr(a, mode="reduced")[1]
    if mode == "raw":
        if isinstance(a, Array) and a._node is not None:
            raise NotImplementedError("qr(mode='raw') is not differentiable; use mode='reduced'")
        h, tau = numpy.linalg.qr(_raw(a), mode="raw")
        cls = type(a) if isinstance(a, Array) else Array
        return cls._make(h), cls._make(tau)
    return NotImplemented


@defop(nout=2, samples=_qr_cases, public="np.linalg")
def qr(xp, a, mode="reduced"):
    """``(Q, R)`` (a named tuple) with ``a = Q R``; ``mode`` 'reduced', 'complete', 'r' (R only) or
    'raw' (not differentiable). Gradients need a full-rank leading square block (``R``'s diagonal
    away from 0). With ``mode='complete'`` and ``m > n`` the extra columns of ``Q`` are not unique:
    a nonzero cotangent on them raises NotImplementedError, and their tangent is NaN. For complex
    ``a`` only functions invariant to the columns' phases are meaningful."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode {mode!r} is handled by np.linalg.qr() or unknown")
    q, r = xp.linalg.qr(a, mode=mode)
    return q, r


def _qr_square_rule(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """VJP of the thin QR of a tall or square ``a`` (``r`` square, ``q`` with orthonormal columns)."""
    n = r.shape[-1]
    cb = None
    if gr is not None:
        cb = T.matmul(gr, _mT(r))
    qtgq = None
    if gq is not None:
        qtgq = T.matmul(_mT(q), gq)
        cb = add_or_none(cb, -qtgq)
    if cb is None:
        return None
    ob = -cb  # cotangent of omega = tril(C, -1) - tril(C, -1)^H + i Im diag(C)
    cb = cb + (ob - _H(ob)) * _mask(ob, n, -1, True)
    if _iscplx(ob):
        cb = cb + _eye(ob, n) * (ob - _re(ob))
    xb = T.matmul(_cj(q), cb)
    if gq is not None:
        xb = xb + gq
    return _mT(T.solve(r, _mT(xb)))  # xb r^-T


def _qr_square_tangent(q: Any, r: Any, da: Any) -> tuple:
    n = r.shape[-1]
    x = _mT(T.solve(_mT(r), _mT(da)))  # da r^-1
    c = T.matmul(_H(q), x)
    low = c * _mask(c, n, -1, True)
    om = low - _H(low)
    if _iscplx(c):
        om = om + _eye(c, n) * (c - _re(c))
    return T.matmul(q, om - c) + x, T.matmul(c - om, r)


def _cols(x: Any, a: int, b: Any) -> Any:
    return T.getitem(x, (Ellipsis, slice(None), slice(a, b)))


def _rows(x: Any, a: int, b: Any) -> Any:
    return T.getitem(x, (Ellipsis, slice(a, b), slice(None)))


@qr.vjp
def _(gs, a, out, mode, shapes):
    gq, gr = gs
    q, r = out
    m, n = shapes[0][-2:]
    k = min(m, n)
    if m > n and mode == "complete":  # Q is m x m and R has m - n zero rows
        if gq is not None and _xp(gq).any(_raw(gq)[..., :, n:] != 0):
            raise NotImplementedError("qr: the gradient through the extra columns of Q from mode='complete' on a "
                                      "tall matrix is not defined (they are not unique); use mode='reduced'")
        q = _cols(q, 0, n)
        gq = None if gq is None else _cols(gq, 0, n)
        r = _rows(r, 0, n)
        gr = None if gr is None else _rows(gr, 0, n)
    if m >= n:
        return (_qr_square_rule(q, r, gq, gr),)
    # wide: a = [x | y], x = q r1 square, r2 = q^H y
    r1 = _cols(r, 0, k)
    y = _cols(a, k, None)
    gr1 = None if gr is None else _cols(gr, 0, k)
    gy = None
    if gr is not None:
        gr2 = _cols(gr, k, None)
        gq = add_or_none(gq, T.matmul(_cj(y), _H(gr2)))
        gy = T.matmul(_cj(q), gr2)
    gx = _qr_square_rule(q, r1, gq, gr1)
    if gx is None:
        return (None,)
    if gy is None:
        gy = _const(a, _xp(a).zeros(_raw(a).shape[:-1] + (n - k,), dtype=_raw(gx).dtype))
    return (T.concatenate([gx, gy], axis=-1),)


@qr.jvp
def _(ts, a, out, mode, shapes):
    q, r = out
    m, n = shapes[0][-2:]
    k = min(m, n)
    da = _tangent(ts, a)
    tall_complete = m > n and mode == "complete"
    if tall_complete:
        q, r = _cols(q, 0, n), _rows(r, 0, n)
    if m >= n:
        dq, dr = _qr_square_tangent(q, r, da)
    else:
        dq, dr1 = _qr_square_tangent(q, _cols(r, 0, k), _cols(da, 0, k))
        dr2 = T.matmul(_H(q), _cols(da, k, None)) + T.matmul(_H(dq), T.matmul(q, _cols(r, k, None)))
        dr = T.concatenate([dr1, dr2], axis=-1)
    if tall_complete:
        qf, rf = out
        xp = _xp(qf)
        dq = T.concatenate([dq, _const(qf, xp.full(_raw(qf).shape[:-1] + (m - n,), float("nan"), _raw(qf).dtype))],
                           axis=-1)
        dr = T.concatenate([dr, _const(rf, xp.zeros(_raw(rf).shape[:-2] + (m - n, n), _raw(rf).dtype))], axis=-2)
    return dq, dr


#: NumPy's call of each decomposition, which tapegrad.np.linalg wraps the op in: the named tuple of
#: its outputs, and the function that routes the arguments NumPy answers with other ops (or None)
NUMPY_CALLS = {"eigh": (EighResult, None), "eig": (EigResult, None), "slogdet": (SlogdetResult, None),
               "svd": (SVDResult, _svd_route), "qr": (QRResult, _qr_route)}
