"""SciPy's linear algebra (``tapegrad.scipy.linalg``): sqrtm, expm, solve_triangular, cho_factor,
cho_solve and solve_sylvester, each differentiable to any order.

SciPy computes the values (``cupyx.scipy.linalg`` where it has the function); every rule is written in
tapegrad ops, among them these same ops, so derivatives of derivatives come free:
- ``sqrtm``: ``X X = A`` gives ``X dX + dX X = dA``, a Sylvester equation (HIPS autograd's rule);
- ``expm``: the Fréchet derivative ``L(A, E)`` is the upper-right block of ``expm([[A, E], [0, A]])``
  (Mathias 1996; Higham, *Functions of Matrices*, 3.2), and the VJP is ``L(A^T, G)``;
- ``solve_sylvester``: ``A X + X B = Q`` differentiated is another Sylvester equation, the VJP one
  in ``A^T`` and ``B^T`` (as HIPS autograd);
- ``solve_triangular``, ``cho_solve``: the rules of a linear solve, the matrix's cotangent kept on the
  triangle that is read; ``cho_factor``: the Cholesky rule (``ops/linalg.py``) on the factor's triangle,
  the identity on the other one, which holds ``a``'s own entries.
Complex values follow the functional API's convention (``ops/linalg.py``): the VJP of a holomorphic
function is the plain transpose of its Jacobian.
"""
from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import numpy

from .._core.array import OPS as T
from .._core.engine import add_or_none
from ..backend import backend_for
from .linalg import _cj, _mT, _spd, _sum_to, _wellcond
from .registry import defop
from .samples import Case, draw

__all__: list = []


def _scipy_linalg() -> Any:
    return importlib.import_module("scipy.linalg")


def _have_scipy() -> bool:
    return importlib.util.find_spec("scipy") is not None


def _batches() -> bool:
    """Whether SciPy takes stacks of matrices (1.16 and later; expm always did): the samples with
    batch axes need it."""
    major, minor = (int(v) for v in importlib.import_module("scipy").__version__.split(".")[:2])
    return (major, minor) >= (1, 16)


def _stacked(cases: list) -> list:
    """The cases, less those with batch axes where SciPy has none."""
    return cases if _batches() else [c for c in cases if all(numpy.ndim(a) <= 2 for a in c.args)]


def _square(name: str, a: Any) -> None:
    s = numpy.shape(a)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"{name}: expected a square matrix (or a stack of them in the last two axes), got shape {s}")


def _col(x: Any, vec: bool) -> Any:
    """A vector right-hand side as a one-column matrix."""
    return T.expand_dims(x, -1) if vec else x


def _uncol(x: Any, vec: bool) -> Any:
    return T.reshape(x, tuple(x.shape[:-1])) if vec else x


# --- sqrtm ----------------------------------------------------------------------------------------


def _sqrtm_matrix(rng, shape: tuple) -> numpy.ndarray:
    """Matrices with eigenvalues well inside the right half-plane: a smooth principal square root."""
    n = shape[-1]
    return 0.3 * draw(rng, shape) + 2 * numpy.eye(n)


def _sqrtm_cases(rng):
    if not _have_scipy():
        return []
    ref = lambda a: _scipy_linalg().sqrtm(a)  # noqa: E731
    return _stacked([Case((_sqrtm_matrix(rng, (3, 3)),), ref=ref), Case((_spd(rng, (4, 4)),), ref=ref),
                     Case((_sqrtm_matrix(rng, (2, 3, 3)),), ref=ref), Case((_sqrtm_matrix(rng, (1, 1)),), ref=ref)])


@defop(samples=_sqrtm_cases, public="scipy.linalg")
def sqrtm(xp, A):  # noqa: N803 - SciPy's name
    """The principal square root ``X`` of a square matrix (``X @ X = A``), as ``scipy.linalg.sqrtm``;
    complex where a real matrix has no real square root. Differentiable where ``A`` has no eigenvalue
    on the closed negative real axis."""
    _square("sqrtm", A)
    return backend_for(xp).sqrtm(xp, A)


@sqrtm.vjp
def _(g, out):
    xt = _mT(out)
    return (T.solve_sylvester(xt, xt, g),)


@sqrtm.jvp
def _(ts, out):
    return T.solve_sylvester(out, out, ts[0])


# --- expm -----------------------------------------------------------------------------------------


def _frechet(a: Any, e: Any) -> Any:
    """The Fréchet derivative of ``expm`` at ``a`` in direction ``e``: the upper-right block of
    ``expm([[a, e], [0, a]])``."""
    n = a.shape[-1]
    top = T.concatenate([a, e], axis=-1)
    bottom = T.concatenate([a * 0, a], axis=-1)
    return T.expm(T.concatenate([top, bottom], axis=-2))[..., :n, n:]


def _expm_cases(rng):
    if not _have_scipy():
        return []
    ref = lambda a: _scipy_linalg().expm(a)  # noqa: E731
    return [Case((draw(rng, (3, 3)),), ref=ref), Case((draw(rng, (2, 2, 2)),), ref=ref),
            Case((draw(rng, (1, 1)),), ref=ref), Case((3 * draw(rng, (4, 4)),), ref=ref)]


@defop(samples=_expm_cases, public="scipy.linalg")
def expm(xp, A):  # noqa: N803 - SciPy's name
    """The matrix exponential of a square matrix (of each matrix of a stack), as ``scipy.linalg.expm``."""
    _square("expm", A)
    return backend_for(xp).expm(xp, A)


@expm.vjp
def _(g, A):  # noqa: N803
    return (_frechet(_mT(A), g),)


@expm.jvp
def _(ts, A):  # noqa: N803
    return _frechet(A, ts[0])


# --- solve_sylvester ------------------------------------------------------------------------------


def _sylvester_cases(rng):
    if not _have_scipy():
        return []
    ref = lambda a, b, q: _scipy_linalg().solve_sylvester(a, b, q)  # noqa: E731
    return _stacked([Case((_wellcond(rng, (3, 3)), _wellcond(rng, (2, 2)), draw(rng, (3, 2))), ref=ref),
                     Case((_wellcond(rng, (2, 2)), _wellcond(rng, (2, 2)), draw(rng, (2, 2))), ref=ref),
                     Case((_wellcond(rng, (2, 3, 3)), _wellcond(rng, (2, 2)), draw(rng, (3, 2))), ref=ref)])


@defop(samples=_sylvester_cases, public="scipy.linalg")
def solve_sylvester(xp, a, b, q):
    """``x`` with ``a @ x + x @ b = q`` (Bartels-Stewart), as ``scipy.linalg.solve_sylvester``; ``a`` and
    ``b`` must share no eigenvalue with opposite sign."""
    _square("solve_sylvester", a)
    _square("solve_sylvester", b)
    return backend_for(xp).solve_sylvester(xp, a, b, q)


@solve_sylvester.vjp
def _(g, a, b, out, shapes, needs):
    y = T.solve_sylvester(_mT(a), _mT(b), g)
    return (_sum_to(-T.matmul(y, _mT(out)), shapes[0]) if needs[0] else None,
            _sum_to(-T.matmul(_mT(out), y), shapes[1]) if needs[1] else None,
            _sum_to(y, shapes[2]) if needs[2] else None)


@solve_sylvester.jvp
def _(ts, a, b, out):
    da, db, dq = ts
    rhs = add_or_none(add_or_none(dq, None if da is None else -T.matmul(da, out)),
                      None if db is None else -T.matmul(out, db))
    if tuple(rhs.shape) != tuple(out.shape):
        rhs = T.broadcast_to(rhs, tuple(out.shape))
    return T.solve_sylvester(a, b, rhs)


# --- solve_triangular -----------------------------------------------------------------------------

_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}


def _trans(trans: Any) -> int:
    try:
        return _TRANS[trans]
    except (KeyError, TypeError):
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}") from None


def _tri(a: Any, lower: bool, unit_diagonal: bool) -> Any:
    """The triangle of ``a`` a triangular solve reads (strictly, with ``unit_diagonal``)."""
    k = (-1 if lower else 1) if unit_diagonal else 0
    return T.tril(a, k) if lower else T.triu(a, k)


def _op_of(m: Any, trans: int) -> Any:
    """``m``, ``m^T`` or ``m^H``."""
    return m if trans == 0 else _mT(m) if trans == 1 else _mT(_cj(m))


def _triangular_cases(rng):
    if not _have_scipy():
        return []

    def ref(a, b, trans=0, lower=False, unit_diagonal=False):
        return _scipy_linalg().solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    out = []
    for sa, sb, params in [((3, 3), (3,), {}), ((3, 3), (3, 2), dict(lower=True)),
                           ((4, 4), (4, 2), dict(trans="T")), ((3, 3), (3,), dict(trans=1, lower=True)),
                           ((3, 3), (3, 2), dict(trans="C", unit_diagonal=True)),
                           ((3, 3), (3,), dict(lower=True, unit_diagonal=True)),
                           ((2, 3, 3), (3, 2), dict(lower=True)), ((3, 3), (2, 3, 1), dict(trans=2))]:
        out.append(Case((_wellcond(rng, sa), draw(rng, sb)), params, ref=ref))
    return _stacked(out)


@defop(samples=_triangular_cases, public="scipy.linalg")
def solve_triangular(xp, a, b, trans=0, lower=False, unit_diagonal=False):
    """``x`` with ``op(a) @ x = b`` for a triangular ``a``, as ``scipy.linalg.solve_triangular``: ``op`` is
    the identity, the transpose or the conjugate transpose (``trans`` 0/'N', 1/'T', 2/'C'); only the lower
    (``lower=True``) or upper triangle of ``a`` is read, and not its diagonal with ``unit_diagonal``
    (taken as ones). ``b`` is a vector when 1-D; batch axes broadcast. The gradient lives on the
    triangle read."""
    _square("solve_triangular", a)
    return backend_for(xp).solve_triangular(xp, a, b, _trans(trans), bool(lower), bool(unit_diagonal))


@solve_triangular.vjp
def _(g, a, out, trans, lower, unit_diagonal, shapes, needs):
    tr = _trans(trans)
    vec = len(shapes[1]) == 1
    # op(A)^-T g: solve with the transpose of op (for 'C', conj(A)^-1 g = conj(A^-1 conj(g)))
    if tr == 2:
        gb = _cj(T.solve_triangular(a, _cj(g), trans=0, lower=lower, unit_diagonal=unit_diagonal))
    else:
        gb = T.solve_triangular(a, g, trans=1 - tr, lower=lower, unit_diagonal=unit_diagonal)
    ga = None
    if needs[0]:
        gm = -T.matmul(_col(gb, vec), _mT(_col(out, vec)))  # the cotangent of op(A)
        gm = gm if tr == 0 else _mT(gm) if tr == 1 else _cj(_mT(gm))
        ga = _sum_to(_tri(gm, lower, unit_diagonal), shapes[0])
    return (ga, _sum_to(gb, shapes[1]) if needs[1] else None)


@solve_triangular.jvp
def _(ts, a, b, out, trans, lower, unit_diagonal):
    da, db = ts
    vec = numpy.ndim(b) == 1
    rhs = None if db is None else _col(db, vec)
    if da is not None:
        rhs = add_or_none(rhs, -T.matmul(_op_of(_tri(da, lower, unit_diagonal), _trans(trans)), _col(out, vec)))
    x_shape = tuple(_col(out, vec).shape)
    if tuple(rhs.shape) != x_shape:
        rhs = T.broadcast_to(rhs, x_shape)
    return _uncol(T.solve_triangular(a, rhs, trans=trans, lower=lower, unit_diagonal=unit_diagonal), vec)


# --- cho_factor, cho_solve ------------------------------------------------------------------------


def _factor(c: Any, lower: bool) -> Any:
    """The Cholesky factor held in ``c``'s triangle."""
    return T.tril(c) if lower else T.triu(c)


def _junk(x: Any, lower: bool) -> Any:
    """The strict triangle ``cho_factor`` leaves as it was (the one it does not read)."""
    return T.triu(x, 1) if lower else T.tril(x, -1)


def _spd_junk(rng, shape: tuple) -> numpy.ndarray:
    """A positive-definite matrix with unrelated values in one strict triangle (which cho_factor and
    cho_solve do not read)."""
    a = _spd(rng, shape)
    return a + numpy.triu(draw(rng, shape), 1)


def _cho_factor_cases(rng):
    if not _have_scipy():
        return []
    ref = lambda a, lower=False: _scipy_linalg().cho_factor(a, lower=lower)[0]  # noqa: E731
    return _stacked([Case((_spd(rng, (3, 3)),), ref=ref), Case((_spd(rng, (3, 3)),), dict(lower=True), ref=ref),
                     Case((_spd_junk(rng, (4, 4)),), dict(lower=True), ref=ref),
                     Case((numpy.swapaxes(_spd_junk(rng, (2, 3, 3)), -1, -2),), ref=ref)])


@defop(samples=_cho_factor_cases, public="scipy.linalg")
def cho_factor(xp, a, lower=False):
    """The matrix ``c`` of ``scipy.linalg.cho_factor(a, lower)``: the Cholesky factor of ``a`` (read from
    its upper triangle, or its lower one with ``lower=True``) in that triangle of ``c``, ``a``'s own
    entries in the other. (``tapegrad.scipy.linalg.cho_factor`` returns ``(c, lower)`` as SciPy.)"""
    _square("cho_factor", a)
    return backend_for(xp).cho_factor(xp, a, bool(lower))


@cho_factor.vjp
def _(g, out, lower):
    (gf,) = T.cholesky.vjp_fn(_factor(g, lower), _factor(out, lower), not lower)
    return (gf + _junk(g, lower),)


@cho_factor.jvp
def _(ts, out, lower):
    df = T.cholesky.jvp_fn(ts, _factor(out, lower), not lower)
    return df + _junk(ts[0], lower)


def _cho_solve_cases(rng):
    if not _have_scipy():
        return []

    def ref(c, b, lower=False):
        return _scipy_linalg().cho_solve((c, lower), b)

    def factor(shape, lower):
        a = _spd(rng, shape)
        return _scipy_linalg().cho_factor(a, lower=lower)[0] + (numpy.triu if lower else numpy.tril)(
            draw(rng, shape), 1 if lower else -1)
    return _stacked([Case((factor((3, 3), False), draw(rng, (3,))), ref=ref),
                     Case((factor((3, 3), True), draw(rng, (3, 2))), dict(lower=True), ref=ref),
                     Case((factor((2, 3, 3), True), draw(rng, (3, 2))), dict(lower=True), ref=ref),
                     Case((factor((3, 3), False), draw(rng, (2, 3, 1))), ref=ref)])


@defop(samples=_cho_solve_cases, public="scipy.linalg")
def cho_solve(xp, c, b, lower=False):
    """``x`` with ``a @ x = b``, given ``a``'s Cholesky factor in the lower (``lower=True``) or upper
    triangle of ``c``, as ``scipy.linalg.cho_solve((c, lower), b)`` (the other triangle is not read and
    gets no gradient). ``b`` is a vector when 1-D; batch axes broadcast."""
    _square("cho_solve", c)
    return backend_for(xp).cho_solve(xp, c, b, bool(lower))


def _gram(f: Any, df: Any, lower: bool) -> Any:
    """The tangent of ``a = F F^H`` (``lower``) or ``a = F^H F`` for a tangent ``df`` of ``F``."""
    h = _mT(_cj(f))
    dh = _mT(_cj(df))
    return T.matmul(df, h) + T.matmul(f, dh) if lower else T.matmul(dh, f) + T.matmul(h, df)


@cho_solve.vjp
def _(g, c, out, lower, shapes, needs):
    vec = len(shapes[1]) == 1
    gb = _cj(T.cho_solve(c, _cj(g), lower=lower))  # a^-T g, as a^T = conj(a)
    gc = None
    if needs[0]:
        ga = -T.matmul(_col(gb, vec), _mT(_col(out, vec)))  # the cotangent of a
        s = ga + _mT(_cj(ga))
        f = _cj(_factor(c, lower))
        gc = _sum_to(_factor(T.matmul(s, f) if lower else T.matmul(f, s), lower), shapes[0])
    return (gc, _sum_to(gb, shapes[1]) if needs[1] else None)


@cho_solve.jvp
def _(ts, c, b, out, lower):
    dc, db = ts
    vec = numpy.ndim(b) == 1
    rhs = None if db is None else _col(db, vec)
    if dc is not None:
        da = _gram(_factor(c, lower), _factor(dc, lower), lower)
        rhs = add_or_none(rhs, -T.matmul(da, _col(out, vec)))
    x_shape = tuple(_col(out, vec).shape)
    if tuple(rhs.shape) != x_shape:
        rhs = T.broadcast_to(rhs, x_shape)
    return _uncol(T.cho_solve(c, rhs, lower=lower), vec)
