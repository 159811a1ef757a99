"""Decompositions in np.linalg beyond the generated sweep: NumPy's named-tuple results and argument
routing, gradients of sign/phase-invariant functions, rank-deficient pinv, the triangle NumPy reads,
non-unique parts (full SVD / complete QR of non-square input), and complex inputs (reverse and
forward mode, to order 2, with complex directions)."""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy
import pytest

import tapegrad
from tapegrad import autograd, np
from tapegrad._core.array import OPS as T, Array
from tapegrad.ndarray import ndarray
from tapegrad.ops.linalg import _H, _eig_matrix, _sym_spectrum
from tapegrad.ops.registry import REGISTRY
from tapegrad.testing import GradCheckError, check_grads

# a real input receiving a complex cotangent keeps its real part; the engine's cast warns for now
pytestmark = pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")

L = np.linalg
BOTH = ("fwd", "rev")
NEW_OPS = ("cholesky", "eigh", "eigvalsh", "eig", "eigvals", "pinv", "slogdet", "svd", "svdvals", "qr")


def _rng(seed: int = 0) -> numpy.random.Generator:
    return numpy.random.default_rng(seed)


def _c(rng, *shape) -> numpy.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _a(x) -> Array:
    return ndarray._make(numpy.asarray(x))


def _row(s):
    return T.expand_dims(s, -2)


def _mT(x):
    return T.swapaxes(x, -1, -2)


# --- a gradient checker for complex inputs (HIPS autograd's convention, as in tests/test_complex.py) ---


def _outs(y: Any) -> list:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _randn(rng, shape, dtype) -> numpy.ndarray:
    if numpy.dtype(dtype).kind == "c":
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return rng.standard_normal(shape)


def check_c(f: Callable, args: Sequence[Any], order: int = 2, modes: Sequence[str] = BOTH, seed: int = 0,
            eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """``Re(sum(v * J u))`` with complex directions ``u``, ``v`` in both modes, to ``order``
    (tapegrad.testing.check_grads draws complex directions for complex data and checks that every
    gradient keeps its input's dtype)."""
    args = [_a(a) if isinstance(a, numpy.ndarray) else a for a in args]
    check_grads(f, args, order=order, modes=tuple(modes), seed=seed, eps=eps, rtol=rtol, atol=atol,
                wrt=[i for i, a in enumerate(args) if isinstance(a, Array)])


def test_every_new_op_is_public_with_both_rules():
    for name in NEW_OPS:
        op = REGISTRY[name]
        assert inspect.unwrap(getattr(L, name)) is op, name  # the op, or np.linalg's thin wrapper of it
        assert op.vjp_fn is not None and op.jvp_fn is not None and op.samples is not None, name


@pytest.mark.parametrize("name,fields,arg", [
    ("eigh", ("eigenvalues", "eigenvectors"), "sym"), ("eig", ("eigenvalues", "eigenvectors"), "gen"),
    ("slogdet", ("sign", "logabsdet"), "gen"), ("svd", ("U", "S", "Vh"), "gen"), ("qr", ("Q", "R"), "gen")])
def test_named_tuple_results_like_numpy(name, fields, arg):
    a = _sym_spectrum(_rng(), (3, 3)) if arg == "sym" else _rng().standard_normal((3, 3)) + 3 * numpy.eye(3)
    got = getattr(L, name)(_a(a))
    want = getattr(numpy.linalg, name)(a)
    assert isinstance(got, tuple) and got._fields == want._fields == fields
    for f in fields:
        numpy.testing.assert_allclose(getattr(got, f).asnumpy(), getattr(want, f), rtol=1e-12, atol=1e-12)
    first, *_rest = got  # plain unpacking still works
    assert first is got[0]


def test_svd_arguments_route_like_numpy():
    a = _rng(1).standard_normal((2, 4, 3))
    s = L.svd(_a(a), compute_uv=False)
    assert isinstance(s, Array) and s.shape == (2, 3)
    numpy.testing.assert_allclose(s.asnumpy(), numpy.linalg.svd(a, compute_uv=False))
    u, s2, vh = L.svd(_a(a), False)  # full_matrices positionally
    assert u.shape == (2, 4, 3) and vh.shape == (2, 3, 3)
    numpy.testing.assert_allclose(L.svd(_a(a), True, False).asnumpy(), s.asnumpy())
    assert [x.shape for x in L.svd(_a(a))] == [(2, 4, 4), (2, 3), (2, 3, 3)]
    numpy.testing.assert_allclose(L.svdvals(_a(a)).asnumpy(), numpy.linalg.svdvals(a))


def test_svd_hermitian_matches_numpy():
    a = _sym_spectrum(_rng(2), (2, 3, 3)) - 0.3 * numpy.eye(3)  # mixed signs
    u, s, vh = L.svd(_a(a), hermitian=True)
    nu, ns, nvh = numpy.linalg.svd(a, hermitian=True)
    for x, y in ((u, nu), (s, ns), (vh, nvh)):
        numpy.testing.assert_allclose(x.asnumpy(), y, atol=1e-12)
    numpy.testing.assert_allclose(L.svd(_a(a), compute_uv=False, hermitian=True).asnumpy(), ns, atol=1e-12)


def test_qr_modes():
    a = _rng(3).standard_normal((4, 3))
    r = L.qr(_a(a), mode="r")
    numpy.testing.assert_allclose(r.asnumpy(), numpy.linalg.qr(a, mode="r"))
    h, tau = L.qr(_a(a), mode="raw")
    nh, ntau = numpy.linalg.qr(a, mode="raw")
    numpy.testing.assert_allclose(h.asnumpy(), nh)
    numpy.testing.assert_allclose(tau.asnumpy(), ntau)
    q, r = L.qr(_a(a), mode="complete")
    assert q.shape == (4, 4) and r.shape == (4, 3)
    x = _a(a)
    x.attach_grad()
    with autograd.record():
        with pytest.raises(NotImplementedError, match="raw"):
            L.qr(x, mode="raw")
    with pytest.raises(ValueError):
        L.qr(_a(a), mode="bogus")
    check_grads(lambda x: L.qr(x, mode="r"), [a], modes=BOTH)


def test_eigh_rejects_a_bad_uplo():
    with pytest.raises(ValueError):
        L.eigh(_a(numpy.eye(2)), UPLO="X")


# --- sign- and phase-invariant functions (real) ------------------------------------------------------


def test_eigh_invariant_functions():
    a = _sym_spectrum(_rng(4), (2, 4, 4))

    def f(x):
        w, v = L.eigh(x)
        return T.matmul(v * _row(w) ** 3, _mT(v)), T.sum(v * v * _row(w), axis=-1)

    check_grads(f, [a], modes=BOTH)
    check_grads(lambda x: L.eigh(x + _mT(x), UPLO="U")[0], [a], modes=BOTH)


def test_eigvalsh_gradient_at_a_repeated_eigenvalue():
    # the sum of the eigenvalues is the trace: gradient I (on the lower triangle read), though w repeats
    x = _a(numpy.eye(3))
    x.attach_grad()
    with autograd.record():
        y = T.sum(L.eigvalsh(x))
    y.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), numpy.eye(3), atol=1e-12)


def test_eig_invariant_functions():
    rng = _rng(5)
    a = rng.standard_normal((3, 3)) * 0.5 + numpy.diag([1.0, 2.5, -1.5])

    def rebuild(x):
        w, v = L.eig(x)
        return T.matmul(v * _row(w) ** 2, T.inv(v))  # x @ x

    check_grads(rebuild, [a], modes=BOTH)
    check_c(rebuild, [a])


def test_svd_invariant_functions():
    rng = _rng(6)
    for shape in ((3, 3), (4, 2), (2, 5), (2, 3, 4)):
        a = rng.standard_normal(shape)

        def f(x):
            u, s, vh = L.svd(x, full_matrices=False)
            return T.matmul(u * _row(s), vh), T.matmul(u * _row(s) ** 2, _mT(u)), T.matmul(_mT(vh) * _row(s), vh)

        check_grads(f, [a], modes=BOTH)


def test_qr_invariant_functions():
    rng = _rng(7)
    for shape in ((3, 3), (5, 3), (3, 5), (2, 4, 2)):
        a = rng.standard_normal(shape)

        def f(x):
            q, r = L.qr(x)
            return T.matmul(q, r), T.matmul(q, _mT(q)), T.matmul(_mT(r), r)

        check_grads(f, [a], modes=BOTH)


# --- pinv, also rank-deficient ---------------------------------------------------------------------


@pytest.mark.parametrize("bs,cs", [((4, 2), (2, 3)), ((3, 1), (1, 3)), ((2, 4, 2), (2, 2, 3))])
def test_pinv_of_rank_deficient_matrices(bs, cs):
    rng = _rng(8)
    b, c = rng.standard_normal(bs), rng.standard_normal(cs)
    assert numpy.linalg.matrix_rank(b @ c).max() == bs[-1] < min(bs[-2], cs[-1])
    check_grads(lambda x, y: L.pinv(T.matmul(x, y)), [b, c], modes=BOTH)


def test_pinv_hermitian_of_a_rank_deficient_matrix():
    b = _rng(9).standard_normal((4, 2))
    check_grads(lambda x: L.pinv(T.matmul(x, _mT(x)), hermitian=True), [b], modes=BOTH)


def test_pinv_gradient_matches_inverse_for_square_matrices():
    a = _rng(10).standard_normal((3, 3)) + 3 * numpy.eye(3)
    g = _rng(11).standard_normal((3, 3))
    grads = []
    for fn in (L.pinv, L.inv):
        x = _a(a)
        x.attach_grad()
        with autograd.record():
            y = T.sum(fn(x) * _a(g))
        y.backward()
        grads.append(x.grad.asnumpy())
    numpy.testing.assert_allclose(grads[0], grads[1], rtol=1e-10, atol=1e-12)


# --- slogdet, cholesky: values of the gradient ------------------------------------------------------


def test_slogdet_gradient_is_the_inverse_transpose():
    a = _rng(12).standard_normal((2, 3, 3)) + 3 * numpy.eye(3)
    a[0, 0] *= -1
    x = _a(a)
    x.attach_grad()
    with autograd.record():
        sign, logabs = L.slogdet(x)
        y = T.sum(logabs) + T.sum(sign)  # sign: zero gradient
    y.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), numpy.swapaxes(numpy.linalg.inv(a), -1, -2), rtol=1e-12)


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_gradient_lives_on_the_triangle_numpy_reads(upper):
    b = _rng(13).standard_normal((3, 3))
    a = b @ b.T + 3 * numpy.eye(3)
    x = _a(a)
    x.attach_grad()
    with autograd.record():
        y = T.sum(L.cholesky(x, upper=upper) ** 2)
    y.backward()
    g = x.grad.asnumpy()
    unread = numpy.tril(g, -1) if upper else numpy.triu(g, 1)
    assert numpy.all(unread == 0) and numpy.any(g != 0)
    check_grads(lambda z: L.cholesky(z + _mT(z), upper=upper), [a], modes=BOTH)


# --- non-unique parts: full SVD and complete QR of non-square matrices ----------------------------------


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_full_svd_gradients_through_the_reduced_parts(shape):
    a = _rng(14).standard_normal(shape)
    k = min(shape)

    def f(x):
        u, s, vh = L.svd(x)  # full_matrices=True by default
        return s, T.matmul(u[:, :k] * _row(s), vh[:k])

    check_grads(f, [a], modes=("rev",))
    x = _a(a)
    x.attach_grad()
    with autograd.record():
        u, s, vh = L.svd(x)
        y = T.sum(u) + T.sum(vh)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        y.backward()


def test_full_svd_forward_mode_marks_the_extra_columns_undefined():
    a = _rng(15).standard_normal((4, 2))
    t = _rng(16).standard_normal((4, 2))
    (u, s, vh), (du, ds, dvh) = tapegrad.jvp(lambda x: tuple(L.svd(x)), (_a(a),), (_a(t),))
    du = du.asnumpy()
    assert numpy.all(numpy.isnan(du[:, 2:])) and numpy.all(numpy.isfinite(du[:, :2]))
    assert numpy.all(numpy.isfinite(ds.asnumpy())) and numpy.all(numpy.isfinite(dvh.asnumpy()))
    eps = 1e-6
    num = (numpy.linalg.svd(a + eps * t)[1] - numpy.linalg.svd(a - eps * t)[1]) / (2 * eps)
    numpy.testing.assert_allclose(ds.asnumpy(), num, rtol=1e-6)


def test_complete_qr_of_a_tall_matrix():
    a = _rng(17).standard_normal((4, 2))
    check_grads(lambda x: (L.qr(x, mode="complete")[1], L.qr(x, mode="complete")[0][:, :2]), [a], modes=("rev",))
    x = _a(a)
    x.attach_grad()
    with autograd.record():
        q, r = L.qr(x, mode="complete")
        y = T.sum(q)
    with pytest.raises(NotImplementedError, match="complete"):
        y.backward()


# --- complex inputs (phase-invariant functions where the phase is free) -----------------------------------


def test_complex_cholesky():
    rng = _rng(20)
    check_c(lambda b: L.cholesky(T.matmul(b, _H(b)) + 3 * numpy.eye(3)), [_c(rng, 3, 3)])
    check_c(lambda b: L.cholesky(T.matmul(b, _H(b)) + 3 * numpy.eye(3), upper=True), [_c(rng, 2, 3, 3)])
    # a raw input: the strict upper triangle and the imaginary part of the diagonal are not read
    check_c(lambda a: L.cholesky(a), [numpy.tril(_c(rng, 3, 3)) + 4 * numpy.eye(3)])


def test_complex_hermitian_eigh():
    rng = _rng(21)
    check_c(lambda a: L.eigh(a)[0], [_c(rng, 3, 3)])
    check_c(lambda a: L.eigh(a, UPLO="U")[0], [_c(rng, 2, 3, 3)])
    check_c(lambda a: L.eigvalsh(a), [_c(rng, 3, 3)])

    def invariant(a):
        w, v = L.eigh(a)
        return T.matmul(v * _row(w) ** 2, _H(v)), T.sum(v * T._la_conj(v) * _row(w), axis=-1)

    check_c(invariant, [_c(rng, 3, 3)])


def test_complex_eig_with_lapacks_phase_convention():
    rng = _rng(22)
    check_c(lambda a: L.eig(a), [_c(rng, 3, 3)])  # eigenvectors: unit norm, largest component real
    check_c(lambda a: L.eig(a), [_c(rng, 2, 4, 4)])
    check_c(lambda a: L.eigvals(a), [_c(rng, 3, 3)])
    # real input, complex pairs: the imaginary parts of the results too
    a = _eig_matrix(rng, 3, True)  # a matrix where LAPACK's phase choice is smooth (see eig's docstring)
    assert numpy.iscomplexobj(numpy.linalg.eigvals(a))
    check_c(lambda x: L.eig(x), [a])
    check_grads(lambda x: L.eig(x), [_eig_matrix(rng, 4, True)], modes=BOTH)


def test_complex_svd():
    rng = _rng(23)
    for shape in ((3, 3), (3, 4), (4, 2), (2, 3, 4)):
        def f(a):
            u, s, vh = L.svd(a, full_matrices=False)
            return s, T.matmul(u * _row(s) ** 2, vh), T.matmul(u * _row(s), _H(u)), T.matmul(_H(vh) * _row(s), vh)

        check_c(f, [_c(rng, *shape)])
    check_c(lambda a: L.svd(a, compute_uv=False), [_c(rng, 3, 4)])
    check_c(lambda a: L.svdvals(a), [_c(rng, 2, 4, 3)])
    check_c(lambda a: (lambda u, s, vh: (s, T.matmul(u * _row(s), vh)))(*L.svd(a, hermitian=True)), [_c(rng, 3, 3)])


def test_complex_qr_pinv_slogdet():
    rng = _rng(24)
    for shape in ((3, 3), (4, 2), (2, 4), (2, 3, 5)):
        check_c(lambda a: L.qr(a), [_c(rng, *shape)])  # R's diagonal is real: no free phase
    for shape in ((3, 2), (2, 4), (2, 3, 3)):
        check_c(lambda a: L.pinv(a), [_c(rng, *shape)])
    check_c(lambda a: L.pinv(a, hermitian=True), [_c(rng, 3, 3)])
    check_c(lambda a: L.slogdet(a), [_c(rng, 2, 3, 3) + 3 * numpy.eye(3)])


def test_the_complex_checker_catches_a_wrong_rule(monkeypatch):
    op = REGISTRY["eig"]
    rule = op.vjp_fn
    monkeypatch.setattr(op, "vjp_fn", lambda gs, out, dtypes: tuple(g * 1.01 for g in rule(gs, out, dtypes)))
    with pytest.raises(GradCheckError):
        check_c(lambda a: L.eig(a), [_c(_rng(25), 3, 3)], order=1, modes=("rev",))
