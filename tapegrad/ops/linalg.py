"""Linear algebra: products, norms, inverses and solves."""
from __future__ import annotations

from .._core.array import OPS as T
from .registry import defop
from .samples import Case, draw


def _dot_cases(rng):
    shapes = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((), (3,)), ((2, 3), ())]
    return [Case((draw(rng, a), draw(rng, b)), order=3) for a, b in shapes]


@defop(samples=_dot_cases)
def dot(xp, a, b):
    return xp.dot(a, b)


@dot.vjp
def _(g, a, b, needs):
    ga = gb = None
    if a.ndim == 0 or b.ndim == 0:
        if needs[0]:
            ga = T.sum(g * b) if a.ndim == 0 else g * b
        if needs[1]:
            gb = T.sum(g * a) if b.ndim == 0 else g * a
        return (ga, gb)
    # dot(a, b) contracts a's last axis with b's second-to-last (its only axis when 1-D)
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
    import numpy
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


def _norm_cases(rng):
    return [Case((draw(rng, (4,)),)), Case((draw(rng, (2, 3)),)), Case((draw(rng, (2, 3)),), dict(axis=1)),
            Case((draw(rng, (2, 3)),), dict(axis=0, keepdims=True)), Case((draw(rng, ()),))]


@defop(samples=_norm_cases, public="np.linalg")
def norm(xp, x, ord=None, axis=None, keepdims=False):  # noqa: A002 - NumPy's name
    if ord is not None:
        raise NotImplementedError(f"linalg.norm(ord={ord!r}) is not supported yet; use ord=None")
    if axis is not None and not isinstance(axis, int) and len(axis) == 2:
        pass
    return xp.sqrt(xp.sum(x * x, axis=axis, keepdims=keepdims))


@norm.vjp
def _(g, x, out, axis, keepdims, shapes):
    from .reduce import _expand
    gx = _expand(g, shapes[0], axis, keepdims)
    o = _expand(out, shapes[0], axis, keepdims)
    safe = T.where(o == 0, 1, o)
    return (T.where(o == 0, 0, gx * x / safe),)
