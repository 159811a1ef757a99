"""``torch.linalg`` in the PyTorch dialect: values, named tuples, gradients and errors against real
PyTorch 2.13, and gradients against central finite differences in float64 (batched and non-contiguous
inputs included)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapegrad.torch as ttorch
from tapegrad.testing import check_grads

torch = pytest.importorskip("torch")

rng = np.random.default_rng(14)
INF = math.inf


# -- helpers ----------------------------------------------------------------------------------------


def ours(a, grad=True, dtype=ttorch.float64):
    return ttorch.tensor(np.asarray(a), dtype=dtype, requires_grad=grad and np.asarray(a).dtype.kind == "f")


def theirs(a, grad=True, dtype=torch.float64):
    return torch.tensor(np.asarray(a), dtype=dtype, requires_grad=grad and np.asarray(a).dtype.kind == "f")


def noncontig(t, lib):
    """``t``'s values in a non-contiguous tensor (the transpose of a contiguous one), a view on the graph."""
    base = lib.tensor(np.ascontiguousarray(np.swapaxes(t.detach().numpy(), -1, -2)), dtype=t.dtype,
                      requires_grad=True)
    return base, base.mT


def N(t):
    return np.asarray(t.detach().numpy())


def close(a, b, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(N(a), N(b), rtol=rtol, atol=atol)


def same_meta(a, b):
    assert tuple(a.shape) == tuple(b.shape)
    assert str(a.dtype) == str(b.dtype)


def wellcond(*shape):
    return rng.uniform(-1, 1, shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    a = rng.uniform(-1, 1, shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def sym_spectrum(*shape):
    """Symmetric matrices with well-separated eigenvalues (smooth eigenvectors)."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.normal(size=shape))
    w = np.arange(1, n + 1) * 1.5 + rng.uniform(-0.2, 0.2, shape[:-1])
    return (q * w[..., None, :]) @ np.swapaxes(q, -1, -2)


def sv_matrix(*shape):
    """Matrices with well-separated nonzero singular values."""
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (m, k)))
    v, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (n, k)))
    s = np.arange(k, 0, -1) * 1.3 + 0.5
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


def grads_agree(f_ours, f_theirs, *arrays, rtol=1e-6, atol=1e-8):
    """Gradients of a scalar loss through ``f`` (given tensors, returning one tensor) in both libraries."""
    xs, ys = [ours(a) for a in arrays], [theirs(a) for a in arrays]
    lo, lt = f_ours(*xs), f_theirs(*ys)
    np.testing.assert_allclose(float(lo), float(lt), rtol=1e-7, atol=1e-9)
    lo.backward()
    lt.backward()
    for x, y in zip(xs, ys):
        np.testing.assert_allclose(N(x.grad), N(y.grad), rtol=rtol, atol=atol)


def weights(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def wsum(lib, t, seed=0):
    """A fixed random weighting of ``t``'s entries: a scalar loss that reaches every entry."""
    return (t * lib.tensor(weights(tuple(t.shape), seed), dtype=t.dtype)).sum()


# -- norms ----------------------------------------------------------------------------------------------

VEC_ORDS = (2, 1, INF, -INF, 0, 3, 0.5, -1, 1.5)


@pytest.mark.parametrize("ord", VEC_ORDS)
@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2), (2, 0, 1), ()])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm_values_and_gradients(ord, dim, keepdim):
    x = rng.uniform(0.3, 1.5, (2, 3, 4)) * rng.choice([-1, 1], (2, 3, 4))
    a, b = ours(x), theirs(x)
    ra, rb = ttorch.linalg.vector_norm(a, ord, dim, keepdim), torch.linalg.vector_norm(b, ord, dim, keepdim)
    same_meta(ra, rb)
    close(ra, rb)
    if ord == 0:
        return
    grads_agree(lambda t: wsum(ttorch, ttorch.linalg.vector_norm(t, ord, dim, keepdim)),
                lambda t: wsum(torch, torch.linalg.vector_norm(t, ord, dim, keepdim)), x)


@pytest.mark.parametrize("ord", VEC_ORDS)
def test_vector_norm_finite_differences(ord):
    x = rng.uniform(0.3, 1.5, (2, 3)) * rng.choice([-1, 1], (2, 3))
    if ord == 0:
        return
    check_grads(lambda t: ttorch.linalg.vector_norm(t, ord, dim=(0, 1)), [ours(x)], order=2)
    check_grads(lambda t: ttorch.linalg.vector_norm(t, ord, dim=1, keepdim=True), [ours(x)], order=1)


def test_vector_norm_float32_complex_dtype_and_zero_dim():
    x = rng.normal(size=(3, 4))
    for dt, tdt in ((ttorch.float32, torch.float32), (ttorch.float64, torch.float64)):
        r = ttorch.linalg.vector_norm(ttorch.tensor(x, dtype=dt), 3)
        t = torch.linalg.vector_norm(torch.tensor(x, dtype=tdt), 3)
        same_meta(r, t)
        close(r, t, rtol=1e-5)
    z = x + 1j * rng.normal(size=(3, 4))
    r, t = ttorch.linalg.vector_norm(ttorch.tensor(z), 1, dim=1), torch.linalg.vector_norm(torch.tensor(z), 1, dim=1)
    same_meta(r, t)
    close(r, t)
    r = ttorch.linalg.vector_norm(ttorch.tensor(x, dtype=ttorch.float32), dtype=ttorch.float64)
    t = torch.linalg.vector_norm(torch.tensor(x, dtype=torch.float32), dtype=torch.float64)
    same_meta(r, t)
    close(r, t, rtol=1e-6)
    for ord in (1, 0, INF):
        close(ttorch.linalg.vector_norm(ttorch.tensor(-3.0), ord), torch.linalg.vector_norm(torch.tensor(-3.0), ord))


MAT_ORDS = ("fro", "nuc", INF, -INF, 1, -1, 2, -2)


@pytest.mark.parametrize("ord", MAT_ORDS)
@pytest.mark.parametrize("dim,keepdim", [((-2, -1), False), ((0, 2), True), ((2, 1), False)])
def test_matrix_norm_values_and_gradients(ord, dim, keepdim):
    x = sv_matrix(2, 3, 4)
    x = x + 0.05 * rng.uniform(-1, 1, x.shape)  # (distinct column / row sums for the 1 and inf norms)
    a, b = ours(x), theirs(x)
    ra, rb = ttorch.linalg.matrix_norm(a, ord, dim, keepdim), torch.linalg.matrix_norm(b, ord, dim, keepdim)
    same_meta(ra, rb)
    close(ra, rb)
    grads_agree(lambda t: wsum(ttorch, ttorch.linalg.matrix_norm(t, ord, dim, keepdim)),
                lambda t: wsum(torch, torch.linalg.matrix_norm(t, ord, dim, keepdim)), x, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("ord", MAT_ORDS)
def test_matrix_norm_finite_differences_batched_noncontiguous(ord):
    x = sv_matrix(2, 3, 3) + 0.05 * rng.uniform(-1, 1, (2, 3, 3))
    base, view = noncontig(ours(x), ttorch)
    assert not view._data.flags["C_CONTIGUOUS"]
    close(ttorch.linalg.matrix_norm(view, ord), torch.linalg.matrix_norm(torch.tensor(x), ord))
    check_grads(lambda t: ttorch.linalg.matrix_norm(t.mT, ord), [base], order=1)


@pytest.mark.parametrize("args", [(None, None), (None, 1), (None, (0, 1)), (2, None), (1, None), ("fro", None),
                                  ("nuc", None), (INF, 0), (3, -1), (-2, (1, 0)), ("fro", (0, 1))])
@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_norm_dispatch_like_pytorch(args, shape):
    ord, dim = args
    x = rng.uniform(-2, 2, shape)
    try:
        t = torch.linalg.norm(torch.tensor(x), ord, dim)
    except (RuntimeError, IndexError) as e:
        with pytest.raises(type(e)) as info:
            ttorch.linalg.norm(ttorch.tensor(x), ord, dim)
        assert str(info.value) == str(e)
        return
    r = ttorch.linalg.norm(ttorch.tensor(x), ord, dim)
    same_meta(r, t)
    close(r, t)


def test_norm_errors_match_pytorch():
    x3 = rng.normal(size=(2, 3, 4))
    cases = [lambda L, t: L.linalg.norm(t, 2),
             lambda L, t: L.linalg.norm(t, 3, dim=(0, 1, 2)),
             lambda L, t: L.linalg.norm(t, "fro", dim=(0, 1, 2)),
             lambda L, t: L.linalg.matrix_norm(t, 3),
             lambda L, t: L.linalg.matrix_norm(t, "foo"),
             lambda L, t: L.linalg.matrix_norm(t, dim=(0,)),
             lambda L, t: L.linalg.matrix_norm(t, dim=(1, -2)),
             lambda L, t: L.linalg.matrix_norm(t[0, 0]),
             lambda L, t: L.linalg.vector_norm(t, 2, dim=(0, 0)),
             lambda L, t: L.linalg.vector_norm(t.long()),
             lambda L, t: L.linalg.vector_norm(t, dtype=L.int64),
             lambda L, t: L.linalg.vector_norm(t, dtype=L.complex128),
             lambda L, t: L.linalg.vector_norm(t, dtype=L.float32),
             lambda L, t: L.linalg.vector_norm(t[:, :0], INF, dim=1),
             lambda L, t: L.linalg.vector_norm(t, "fro")]
    for case in cases:
        with pytest.raises(Exception) as ref:
            case(torch, torch.tensor(x3))
        with pytest.raises(type(ref.value)) as got:
            case(ttorch, ttorch.tensor(x3))
        assert str(got.value) == str(ref.value)


# -- inverses, determinants, solves ------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3), (2, 1, 2, 2), (1, 1)])
def test_inv_det_slogdet_values_and_gradients(shape):
    x = wellcond(*shape)
    x[..., 0, :] *= -1  # negative determinants too
    for name in ("inv", "det"):
        fo, ft = getattr(ttorch.linalg, name), getattr(torch.linalg, name)
        r, t = fo(ours(x)), ft(theirs(x))
        same_meta(r, t)
        close(r, t)
        assert r.grad_fn.name() == type(t.grad_fn).__name__
        grads_agree(lambda a: wsum(ttorch, fo(a)), lambda a: wsum(torch, ft(a)), x)
        check_grads(fo, [ours(x)], order=2)
    r, t = ttorch.linalg.slogdet(ours(x)), torch.linalg.slogdet(theirs(x))
    close(r.sign, t.sign)
    close(r.logabsdet, t.logabsdet)
    assert r[0] is r.sign and r[1] is r.logabsdet
    assert "torch.return_types.linalg_slogdet(" in repr(r)
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.slogdet(a).logabsdet),
                lambda a: wsum(torch, torch.linalg.slogdet(a).logabsdet), x)
    check_grads(lambda a: ttorch.linalg.slogdet(a)[1], [ours(x)], order=2)


def test_inv_noncontiguous_and_complex():
    x = wellcond(2, 3, 3)
    base, view = noncontig(ours(x), ttorch)
    close(ttorch.linalg.inv(view), torch.linalg.inv(torch.tensor(x)))
    check_grads(lambda b: ttorch.linalg.inv(b.mT), [base], order=2)
    z = x + 0.3j * rng.normal(size=x.shape)
    close(ttorch.linalg.det(ttorch.tensor(z)), torch.linalg.det(torch.tensor(z)))
    a, b = ttorch.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    ttorch.linalg.inv(a).abs().sum().backward()
    torch.linalg.inv(b).abs().sum().backward()
    close(a.grad, b.grad)


SOLVE_CASES = [((3, 3), (3,), True), ((3, 3), (3, 2), True), ((2, 3, 3), (2, 3), True),
               ((2, 3, 3), (3, 2), True), ((2, 3, 3), (3,), True), ((1, 3, 3), (4, 3, 2), True),
               ((2, 3, 3), (2, 4, 3), False), ((3, 3), (2, 3), False)]


@pytest.mark.parametrize("sa,sb,left", SOLVE_CASES)
def test_solve_values_and_gradients(sa, sb, left):
    a, b = wellcond(*sa), rng.uniform(-1, 1, sb)
    r = ttorch.linalg.solve(ours(a), ours(b), left=left)
    t = torch.linalg.solve(theirs(a), theirs(b), left=left)
    same_meta(r, t)
    close(r, t)
    grads_agree(lambda x, y: wsum(ttorch, ttorch.linalg.solve(x, y, left=left)),
                lambda x, y: wsum(torch, torch.linalg.solve(x, y, left=left)), a, b)
    check_grads(lambda x, y: ttorch.linalg.solve(x, y, left=left), [ours(a), ours(b)], order=2)


def test_solve_errors_match_pytorch():
    cases = [(rng.normal(size=(3, 4)), rng.normal(size=(3,))), (rng.normal(size=(3, 3)), rng.normal(size=(4,))),
             (rng.normal(size=(3,)), rng.normal(size=(3,))), (rng.normal(size=(3, 3)), rng.normal(size=(4, 3)))]
    for a, b in cases:
        with pytest.raises(RuntimeError) as ref:
            torch.linalg.solve(torch.tensor(a), torch.tensor(b))
        with pytest.raises(RuntimeError) as got:
            ttorch.linalg.solve(ttorch.tensor(a), ttorch.tensor(b))
        assert str(got.value) == str(ref.value)
    with pytest.raises(RuntimeError, match="same dtype"):
        ttorch.linalg.solve(ttorch.eye(3), ttorch.ones(3, dtype=ttorch.float64))


def test_singular_matrices_raise_linalg_errors():
    sing = np.ones((3, 3))
    batch = np.stack([np.eye(3), np.zeros((3, 3))])
    with pytest.raises(ttorch.linalg.LinAlgError, match="singular"):
        ttorch.linalg.inv(ttorch.tensor(sing))
    with pytest.raises(RuntimeError, match=r"linalg.inv: \(Batch element 1\): .*singular"):
        ttorch.linalg.inv(ttorch.tensor(batch))
    with pytest.raises(ttorch.linalg.LinAlgError) as got:
        ttorch.linalg.solve(ttorch.tensor(batch), ttorch.ones(2, 3, dtype=ttorch.float64))
    with pytest.raises(torch.linalg.LinAlgError) as ref:
        torch.linalg.solve(torch.tensor(batch), torch.ones(2, 3, dtype=torch.float64))
    assert str(got.value) == str(ref.value)
    for x in (-np.eye(3), np.stack([np.eye(3), -np.eye(3)]), np.diag([1.0, 2.0, -1.0]), np.ones((3, 3))):
        with pytest.raises(torch.linalg.LinAlgError) as ref:
            torch.linalg.cholesky(torch.tensor(x))
        with pytest.raises(ttorch.linalg.LinAlgError) as got:
            ttorch.linalg.cholesky(ttorch.tensor(x))
        assert str(got.value) == str(ref.value)
    # no error where PyTorch gives a value
    close(ttorch.linalg.det(ttorch.tensor(sing)), torch.linalg.det(torch.tensor(sing)))
    r, t = ttorch.linalg.slogdet(ttorch.tensor(sing)), torch.linalg.slogdet(torch.tensor(sing))
    close(r.sign, t.sign)
    assert float(r.logabsdet) == float(t.logabsdet) == -INF


@pytest.mark.parametrize("name", ["inv", "det", "slogdet", "cholesky", "eigh", "eigvalsh"])
def test_square_dimension_and_dtype_errors_match_pytorch(name):
    for make in (lambda L: L.randn(3, 4), lambda L: L.randn(3), lambda L: L.ones(3, 3, dtype=L.int64),
                 lambda L: L.ones(3, 3, dtype=L.float16)):
        with pytest.raises(Exception) as ref:
            getattr(torch.linalg, name)(make(torch))
        if isinstance(ref.value, NotImplementedError):  # (PyTorch has no kernel: ours refuses the dtype by name)
            with pytest.raises(RuntimeError, match="floating point|Low precision"):
                getattr(ttorch.linalg, name)(make(ttorch))
            continue
        with pytest.raises(type(ref.value)) as got:
            getattr(ttorch.linalg, name)(make(ttorch))
        assert str(got.value) == str(ref.value)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        getattr(ttorch.linalg, name)([[1.0, 0.0], [0.0, 1.0]])


# -- decompositions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    x = spd(*shape)
    r, t = ttorch.linalg.cholesky(ours(x), upper=upper), torch.linalg.cholesky(theirs(x), upper=upper)
    close(r, t)
    assert r.grad_fn.name() == type(t.grad_fn).__name__
    assert r.grad_fn._saved_upper is t.grad_fn._saved_upper
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.cholesky(a, upper=upper)),
                lambda a: wsum(torch, torch.linalg.cholesky(a, upper=upper)), x)
    # PyTorch's gradient is Hermitian (both triangles share it), the derivative along Hermitian directions:
    # finite differences check it through a symmetric parametrization, and the gradient is symmetric
    check_grads(lambda a: ttorch.linalg.cholesky(a + a.mT, upper=upper), [ours(x / 2)], order=2)
    a = ours(x)
    wsum(ttorch, ttorch.linalg.cholesky(a, upper=upper)).backward()
    close(a.grad, a.grad.mT)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 4, 3), (2, 3, 5)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr(shape, mode):
    x = sv_matrix(*shape)
    r, t = ttorch.linalg.qr(ours(x), mode=mode), torch.linalg.qr(theirs(x), mode=mode)
    assert type(r).__name__ == "linalg_qr" and r.Q is r[0] and r.R is r[1]
    for a, b in ((r.Q, t.Q), (r.R, t.R)):
        same_meta(a, b)
        close(a, b)  # Householder QR: LAPACK's sign convention in both
    m, n = shape[-2:]
    if mode == "complete" and m > n:  # the extra columns of Q are not unique: PyTorch refuses any gradient,
        with pytest.raises(RuntimeError, match="not differentiable"):  # ours refuses only a cotangent on them
            wsum(torch, torch.linalg.qr(theirs(x), mode=mode).R).backward()
        check_grads(lambda a: ttorch.linalg.qr(a, mode=mode).R, [ours(x)], order=1)
        leaf = ours(x)
        with pytest.raises(NotImplementedError, match="not unique"):
            wsum(ttorch, ttorch.linalg.qr(leaf, mode=mode).Q).backward()
        return
    if mode == "r":  # PyTorch has no gradient for mode='r'; ours goes through the reduced factorization
        check_grads(lambda a: ttorch.linalg.qr(a, mode="r").R, [ours(x)], order=1)
        return
    def loss(lib, a):
        q, r = lib.linalg.qr(a, mode=mode)
        return wsum(lib, q, 1) + wsum(lib, r, 2)
    grads_agree(lambda a: loss(ttorch, a), lambda a: loss(torch, a), x)
    check_grads(lambda a: ttorch.linalg.qr(a, mode=mode), [ours(x)], order=1)


def _aligned(u_ours, u_ref, axis):
    """``u_ours`` with each singular / eigen vector's sign flipped to agree with ``u_ref``'s."""
    dots = (N(u_ours) * N(u_ref)).sum(axis=axis, keepdims=True)
    return N(u_ours) * np.where(dots < 0, -1.0, 1.0)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3), (2, 3, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_svd(shape, full):
    x = sv_matrix(*shape)
    r, t = ttorch.linalg.svd(ours(x), full_matrices=full), torch.linalg.svd(theirs(x), full_matrices=full)
    assert type(r).__name__ == "linalg_svd" and r.U is r[0] and r.S is r[1] and r.Vh is r[2]
    for a, b in zip(r, t):
        same_meta(a, b)
    close(r.S, t.S)
    k = min(shape[-2:])
    np.testing.assert_allclose(_aligned(r.U[..., :k], t.U[..., :k], -2), N(t.U[..., :k]), atol=1e-9)
    np.testing.assert_allclose(_aligned(r.Vh[..., :k, :], t.Vh[..., :k, :], -1), N(t.Vh[..., :k, :]), atol=1e-9)
    close(ttorch.linalg.svdvals(ours(x)), torch.linalg.svdvals(theirs(x)))

    def invariant(L, a):  # a function of the factors that does not depend on the vectors' signs
        u, s, vh = L.linalg.svd(a, full_matrices=full)
        return wsum(L, u[..., :k] ** 2, 1) + wsum(L, s, 2) + wsum(L, vh[..., :k, :] ** 2, 3)
    grads_agree(lambda a: invariant(ttorch, a), lambda a: invariant(torch, a), x)
    check_grads(lambda a: invariant(ttorch, a), [ours(x)], order=1)
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.svdvals(a)), lambda a: wsum(torch, torch.linalg.svdvals(a)), x)
    check_grads(ttorch.linalg.svdvals, [ours(x)], order=2)


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (1, 1)])
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_eigvalsh(shape, uplo):
    x = sym_spectrum(*shape)
    junk = np.triu(rng.normal(size=shape), 1) if uplo == "L" else np.tril(rng.normal(size=shape), -1)
    x = x + junk  # the triangle not read: its gradient is 0 in both libraries
    r, t = ttorch.linalg.eigh(ours(x), UPLO=uplo), torch.linalg.eigh(theirs(x), UPLO=uplo)
    assert r.eigenvalues is r[0] and r.eigenvectors is r[1]
    close(r.eigenvalues, t.eigenvalues)
    np.testing.assert_allclose(_aligned(r.eigenvectors, t.eigenvectors, -2), N(t.eigenvectors), atol=1e-9)
    close(ttorch.linalg.eigvalsh(ours(x), UPLO=uplo), torch.linalg.eigvalsh(theirs(x), UPLO=uplo))

    def invariant(L, a):
        w, v = L.linalg.eigh(a, UPLO=uplo)
        return wsum(L, w, 1) + wsum(L, v ** 2, 2)
    grads_agree(lambda a: invariant(ttorch, a), lambda a: invariant(torch, a), x)
    check_grads(lambda a: invariant(ttorch, a + a.mT), [ours(x / 2)], order=1)  # (Hermitian directions)
    check_grads(lambda a: ttorch.linalg.eigvalsh(a + a.mT, UPLO=uplo), [ours(x / 2)], order=2)
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.eigvalsh(a, UPLO=uplo)),
                lambda a: wsum(torch, torch.linalg.eigvalsh(a, UPLO=uplo)), x)
    with pytest.raises(RuntimeError, match="Expected UPLO argument to be 'L' or 'U', but got X"):
        ttorch.linalg.eigh(ours(x), UPLO="X")


def test_decomposition_grad_fn_names_and_saved_values():
    x = sv_matrix(3, 3)
    s = spd(3, 3)
    v = rng.uniform(-1, 1, 4)
    pairs = [(lambda L, a: L.linalg.qr(a).Q, x), (lambda L, a: L.linalg.svd(a).S, x),
             (lambda L, a: L.linalg.eigh(a).eigenvalues, s), (lambda L, a: L.linalg.pinv(a), x),
             (lambda L, a: L.linalg.cross(a, a * 2), x), (lambda L, a: L.linalg.solve(a, a), x),
             (lambda L, a: L.linalg.slogdet(a).logabsdet, x), (lambda L, a: L.linalg.vector_norm(a, 3), v),
             (lambda L, a: L.linalg.vector_norm(a, 1, dim=-1), x), (lambda L, a: L.linalg.cholesky(a), s),
             (lambda L, a: L.linalg.inv(a), x), (lambda L, a: L.linalg.det(a), x),
             (lambda L, a: L.linalg.matrix_norm(a), x), (lambda L, a: L.linalg.qr(a, mode="complete").R, x)]
    for f, a in pairs:
        r, t = f(ttorch, ours(a)), f(torch, theirs(a))
        assert r.grad_fn.name() == type(t.grad_fn).__name__
        for attr in (n for n in dir(t.grad_fn) if n.startswith("_saved_") and n not in ("_saved_LU", "_saved_pivots")):
            got, want = getattr(r.grad_fn, attr), getattr(t.grad_fn, attr)
            if isinstance(want, torch.Tensor):
                close(got, want)
            else:
                assert got == want, attr


# -- pinv, lstsq, matrix_rank ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (3, 3), (2, 4, 3)])
def test_pinv(shape):
    x = sv_matrix(*shape)
    r, t = ttorch.linalg.pinv(ours(x)), torch.linalg.pinv(theirs(x))
    close(r, t)
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.pinv(a)), lambda a: wsum(torch, torch.linalg.pinv(a)), x)
    check_grads(ttorch.linalg.pinv, [ours(x)], order=2)


def test_pinv_tolerances_and_hermitian():
    x = sv_matrix(4, 4)  # singular values 4.4, 3.1, 1.8, 0.5
    for kw in ({"atol": 1.0}, {"rtol": 0.3}, {"atol": 1.0, "rtol": 0.5}, {"atol": 0.1, "rtol": 0.0}):
        close(ttorch.linalg.pinv(ours(x), **kw), torch.linalg.pinv(theirs(x), **kw))
    close(ttorch.linalg.pinv(ours(x), 0.3), torch.linalg.pinv(theirs(x), 0.3))  # rcond, positionally
    batch = np.stack([sv_matrix(3, 3), 10 * sv_matrix(3, 3)])
    close(ttorch.linalg.pinv(ours(batch), atol=2.0), torch.linalg.pinv(theirs(batch), atol=2.0))
    s = sym_spectrum(3, 3) - 3.5 * np.eye(3)  # indefinite
    close(ttorch.linalg.pinv(ours(s), hermitian=True), torch.linalg.pinv(theirs(s), hermitian=True))
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.pinv(a, hermitian=True)),
                lambda a: wsum(torch, torch.linalg.pinv(a, hermitian=True)), s)
    low = sv_matrix(4, 2) @ sv_matrix(2, 4)  # rank 2: the gradient of a rank-preserving perturbation
    close(ttorch.linalg.pinv(ours(low)), torch.linalg.pinv(theirs(low)))
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.pinv(a)), lambda a: wsum(torch, torch.linalg.pinv(a)), low,
                rtol=1e-5, atol=1e-7)


LSTSQ_CASES = [((5, 3), (5, 2)), ((5, 3), (5,)), ((3, 5), (3, 2)), ((4, 4), (4, 1)), ((2, 5, 3), (2, 5, 2)),
               ((2, 5, 3), (2, 5)), ((1, 5, 3), (4, 5, 2)), ((2, 3, 5), (2, 3)), ((2, 3, 5), (1, 3, 2))]


@pytest.mark.parametrize("sa,sb", LSTSQ_CASES)
@pytest.mark.parametrize("driver", [None, "gelsy", "gelsd", "gelss", "gels"])
def test_lstsq_fields_like_pytorch(sa, sb, driver):
    if driver == "gels" and sa[-2] < sa[-1]:
        return  # gels assumes full column rank... of a wide matrix: LAPACK's minimum-norm answer differs
    a, b = sv_matrix(*sa), rng.uniform(-1, 1, sb)
    r = ttorch.linalg.lstsq(ours(a), ours(b), driver=driver)
    t = torch.linalg.lstsq(theirs(a), theirs(b), driver=driver)
    assert type(r).__name__ == "linalg_lstsq"
    for field in ("solution", "residuals", "rank", "singular_values"):
        got, want = getattr(r, field), getattr(t, field)
        same_meta(got, want)
        close(got, want, rtol=1e-6, atol=1e-8)
    assert r.rank.requires_grad is False and r.singular_values.requires_grad is False
    grads_agree(lambda x, y: wsum(ttorch, ttorch.linalg.lstsq(x, y, driver=driver).solution),
                lambda x, y: wsum(torch, torch.linalg.lstsq(x, y, driver=driver).solution), a, b)
    check_grads(lambda x, y: ttorch.linalg.lstsq(x, y, driver=driver).solution, [ours(a), ours(b)], order=1)
    if r.residuals.numel():
        assert r.residuals.requires_grad
        check_grads(lambda x, y: ttorch.linalg.lstsq(x, y, driver=driver).residuals, [ours(a), ours(b)], order=1)


def test_lstsq_rank_deficient_and_errors():
    a = sv_matrix(5, 2) @ sv_matrix(2, 3)  # rank 2
    b = rng.uniform(-1, 1, (5, 2))
    for driver in ("gelsy", "gelsd"):
        r = ttorch.linalg.lstsq(ours(a), ours(b), driver=driver)
        t = torch.linalg.lstsq(theirs(a), theirs(b), driver=driver)
        close(r.solution, t.solution, rtol=1e-6, atol=1e-8)
        assert int(r.rank) == int(t.rank) == 2
        same_meta(r.residuals, t.residuals)  # empty: not of full rank
    for lib in (torch, ttorch):  # gels needs full rank: a zero column
        z = lib.tensor(np.where(np.arange(3) == 1, 0.0, a))
        with pytest.raises(lib.linalg.LinAlgError, match=r"does not have full rank \(error code: 2\)"):
            lib.linalg.lstsq(z, lib.tensor(b), driver="gels")
    bad = [lambda L: L.linalg.lstsq(L.randn(5), L.randn(5)),
           lambda L: L.linalg.lstsq(L.randn(2, 3, 5), L.randn(3, 2)),
           lambda L: L.linalg.lstsq(L.randn(2, 5, 3), L.randn(5)),
           lambda L: L.linalg.lstsq(L.randn(5, 3), L.randn(4, 2)),
           lambda L: L.linalg.lstsq(L.randn(5, 3), L.randn(5, 2), driver="foo"),
           lambda L: L.linalg.lstsq(L.randn(5, 3), L.randn(5, 2, dtype=L.float64)),
           lambda L: L.linalg.lstsq(L.randn(2, 5, 3), L.randn(5, 2)),
           lambda L: L.linalg.lstsq(L.ones(5, 3, dtype=L.int64), L.ones(5, dtype=L.int64))]
    for case in bad:
        with pytest.raises(RuntimeError) as ref:
            case(torch)
        with pytest.raises(RuntimeError) as got:
            case(ttorch)
        assert str(got.value) == str(ref.value)


def test_matrix_rank():
    full = sv_matrix(4, 3)
    low = sv_matrix(4, 2) @ sv_matrix(2, 3)
    s = torch.linalg.svdvals(torch.tensor(full))
    for x, kw in ((full, {}), (low, {}), (full, {"atol": float(s[1]) - 1e-6}), (full, {"atol": float(s[1]) + 1e-6}),
                  (full, {"rtol": float(s[2] / s[0]) + 1e-6}), (np.stack([full, low]), {}),
                  (np.zeros((3, 3)), {}), (np.zeros((0, 3)), {})):
        r, t = ttorch.linalg.matrix_rank(ttorch.tensor(x), **kw), torch.linalg.matrix_rank(torch.tensor(x), **kw)
        same_meta(r, t)
        assert N(r).tolist() == t.numpy().tolist()
    h = sym_spectrum(3, 3) - 3.0 * np.eye(3)
    assert int(ttorch.linalg.matrix_rank(ttorch.tensor(h), hermitian=True)) == int(
        torch.linalg.matrix_rank(torch.tensor(h), hermitian=True))
    assert int(ttorch.linalg.matrix_rank(ttorch.tensor(full), 10.0)) == 0  # tol, positionally (atol)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        ttorch.linalg.matrix_rank(ttorch.randn(3))


# -- cross ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("sa,sb,dim", [((4, 3), (4, 3), -1), ((4, 3), (1, 3), -1), ((3, 4), (3, 4), 0),
                                       ((3, 1), (3, 4), 0), ((2, 3, 2), (2, 3, 2), 1)])
def test_cross(sa, sb, dim):
    a, b = rng.uniform(-1, 1, sa), rng.uniform(-1, 1, sb)
    r, t = ttorch.linalg.cross(ours(a), ours(b), dim=dim), torch.linalg.cross(theirs(a), theirs(b), dim=dim)
    same_meta(r, t)
    close(r, t)
    grads_agree(lambda x, y: wsum(ttorch, ttorch.linalg.cross(x, y, dim=dim)),
                lambda x, y: wsum(torch, torch.linalg.cross(x, y, dim=dim)), a, b)
    check_grads(lambda x, y: ttorch.linalg.cross(x, y, dim=dim), [ours(a), ours(b)], order=2)


def test_cross_errors_match_pytorch():
    for make in (lambda L: L.linalg.cross(L.randn(3, 4), L.randn(3, 4)),
                 lambda L: L.linalg.cross(L.randn(2, 3), L.randn(3, 3)),
                 lambda L: L.linalg.cross(L.randn(3), L.randn(2, 3)),
                 lambda L: L.linalg.cross(L.randn(3), L.randn(3, dtype=L.float64))):
        with pytest.raises(RuntimeError) as ref:
            make(torch)
        with pytest.raises(RuntimeError) as got:
            make(ttorch)
        assert str(got.value) == str(ref.value)


def test_argument_errors():
    x = ttorch.tensor(sv_matrix(4, 3))
    with pytest.raises(RuntimeError, match="unrecognized mode 'raw'"):
        ttorch.linalg.qr(x, mode="raw")
    with pytest.raises(RuntimeError, match="only supported on CUDA"):
        ttorch.linalg.svd(x, driver="gesvd")
    with pytest.raises(RuntimeError, match="linalg.svd: The input tensor A must have at least 2 dimensions."):
        ttorch.linalg.svdvals(ttorch.randn(3))
    with pytest.raises(RuntimeError, match=r"linalg.pinv\(Float\{\[2\]\}\)"):
        ttorch.linalg.pinv(ttorch.randn(2))


# -- hypothesis: shapes, batches, layouts --------------------------------------------------------------

BATCHES = st.sampled_from([(), (2,), (1, 2), (2, 1)])


@settings(max_examples=25, deadline=None)
@given(batch=BATCHES, m=st.integers(1, 4), n=st.integers(1, 4), transposed=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_hypothesis_decompositions_against_pytorch(batch, m, n, transposed, seed):
    global rng
    rng = np.random.default_rng(seed)
    x = sv_matrix(*batch, m, n)
    a, b = ours(x), theirs(x)
    if transposed:  # a non-contiguous input of the same values
        _base, a = noncontig(a, ttorch)
    close(ttorch.linalg.svdvals(a), torch.linalg.svdvals(b))
    close(ttorch.linalg.pinv(a), torch.linalg.pinv(b), rtol=1e-6, atol=1e-8)
    q, r = ttorch.linalg.qr(a)
    qt, rt_ = torch.linalg.qr(b)
    close(q, qt, atol=1e-8)
    close(r, rt_, atol=1e-8)
    close(ttorch.linalg.matrix_norm(a, "nuc"), torch.linalg.matrix_norm(b, "nuc"))
    assert N(ttorch.linalg.matrix_rank(a)).tolist() == torch.linalg.matrix_rank(b).tolist()
    rhs = rng.uniform(-1, 1, batch + (m, 2))
    sol, sol_t = ttorch.linalg.lstsq(a, ours(rhs)), torch.linalg.lstsq(b, theirs(rhs))
    close(sol.solution, sol_t.solution, rtol=1e-6, atol=1e-8)
    def loss(lib, t, y):
        return wsum(lib, lib.linalg.lstsq(t, y).solution) + wsum(lib, lib.linalg.svdvals(t), 1)
    grads_agree(lambda t, y: loss(ttorch, t, y), lambda t, y: loss(torch, t, y), x, rhs, rtol=1e-5, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(batch=BATCHES, n=st.integers(1, 4), seed=st.integers(0, 2 ** 16))
def test_hypothesis_square_functions_gradients(batch, n, seed):
    global rng
    rng = np.random.default_rng(seed)
    x, s = wellcond(*batch, n, n), spd(*batch, n, n)
    rhs = rng.uniform(-1, 1, batch + (n,))
    grads_agree(lambda a, y: wsum(ttorch, ttorch.linalg.inv(a)) + wsum(ttorch, ttorch.linalg.solve(a, y), 1)
                + wsum(ttorch, ttorch.linalg.det(a), 2),
                lambda a, y: wsum(torch, torch.linalg.inv(a)) + wsum(torch, torch.linalg.solve(a, y), 1)
                + wsum(torch, torch.linalg.det(a), 2), x, rhs)
    grads_agree(lambda a: wsum(ttorch, ttorch.linalg.cholesky(a)) + wsum(ttorch, ttorch.linalg.eigvalsh(a), 1),
                lambda a: wsum(torch, torch.linalg.cholesky(a)) + wsum(torch, torch.linalg.eigvalsh(a), 1), s)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), ord=st.sampled_from(VEC_ORDS[:-1] + (-2, 4)),
       keepdim=st.booleans(), data=st.data())
def test_hypothesis_vector_norm(shape, ord, keepdim, data):
    nd = len(shape)
    dims = data.draw(st.one_of(st.none(), st.lists(st.integers(-nd, nd - 1), unique_by=lambda d: d % nd,
                                                     min_size=1, max_size=nd).map(tuple)))
    x = data.draw(st.integers(0, 2 ** 16).map(lambda s: np.random.default_rng(s).uniform(0.3, 1.5, shape)
                                               * np.random.default_rng(s + 1).choice([-1, 1], shape)))
    r = ttorch.linalg.vector_norm(ours(x), ord, dims, keepdim)
    t = torch.linalg.vector_norm(theirs(x), ord, dims, keepdim)
    same_meta(r, t)
    close(r, t)
    if ord != 0:
        grads_agree(lambda a: wsum(ttorch, ttorch.linalg.vector_norm(a, ord, dims, keepdim)),
                    lambda a: wsum(torch, torch.linalg.vector_norm(a, ord, dims, keepdim)), x)


COMPLEX_FUNCS = {
    "cholesky": lambda L, a: L.linalg.cholesky(a), "eigvalsh": lambda L, a: L.linalg.eigvalsh(a),
    "eigh_vectors": lambda L, a: L.linalg.eigh(a).eigenvectors, "inv": lambda L, a: L.linalg.inv(a),
    "pinv_hermitian": lambda L, a: L.linalg.pinv(a, hermitian=True), "svdvals": lambda L, a: L.linalg.svdvals(a),
    "det": lambda L, a: L.linalg.det(a)[None], "vector_norm": lambda L, a: L.linalg.vector_norm(a, 3, dim=0),
    "nuclear_norm": lambda L, a: L.linalg.matrix_norm(a, "nuc")[None],
    "solve": lambda L, a: L.linalg.solve(a, a.conj()),
    "lstsq": lambda L, a: L.linalg.lstsq(a, a.conj()).solution, "qr_R": lambda L, a: L.linalg.qr(a).R,
    "slogdet": lambda L, a: L.linalg.slogdet(a).logabsdet[None],
}


@pytest.mark.parametrize("name", sorted(COMPLEX_FUNCS))
def test_complex_hermitian_inputs_gradients_like_pytorch(name):
    """Complex inputs: PyTorch's conjugate gradient convention, through phase-invariant losses (|out|)."""
    z = rng.normal(size=(3, 3)) + 1j * rng.normal(size=(3, 3))
    h = z @ z.conj().T + 3 * np.eye(3)
    w = rng.uniform(-1, 1, (3, 3))
    got = []
    for lib in (ttorch, torch):
        a = lib.tensor(h, requires_grad=True)
        out = COMPLEX_FUNCS[name](lib, a)
        wt = w[:out.shape[0], :out.shape[-1]] if out.ndim == 2 else w[0, :out.shape[0]]
        (out.abs() * lib.tensor(wt)).sum().backward()
        got.append((N(out.abs()), N(a.grad)))
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-7, atol=1e-10)
