"""Linear algebra beyond the generated sweep: the public einsum (subscript forms, ellipsis,
implicit output, sublists), norm conventions at 0 and at ties, and NumPy 2's solve shapes."""
from __future__ import annotations

import numpy
import pytest

from tapegrad import autograd
from tapegrad.ndarray import ndarray
from tapegrad.ops.linalg import COMPOSITES, einsum, normalize_subscripts
from tapegrad.ops.registry import REGISTRY
from tapegrad.testing import check_grads

EINSUM_FORMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),  # batch dims broadcast (1 vs 5)
    ("...ij,...jk", [(3, 4), (2, 4, 2)]),  # implicit output with an ellipsis
    ("i,i", [(4,)] * 2),
    ("ij->", [(2, 3)]),
    ("ij", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("Ba,aC", [(2, 3), (3, 4)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij,ij->ij", [(2, 3), (2, 1)]),  # an explicit label broadcast from size 1
    ("...i,...i->...", [(1, 3), (4, 3)]),
    ("ii...->i...", [(3, 3, 2)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bii->b", [(2, 3, 3)]),
    ("i,ij->j", [(3,), (3, 2)]),
]


def _arrays(rng, shapes):
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("spec,shapes", EINSUM_FORMS, ids=[s for s, _ in EINSUM_FORMS])
def test_einsum_forward_matches_numpy(spec, shapes):
    xs = _arrays(numpy.random.default_rng(0), shapes)
    got = einsum(spec, *[ndarray._make(x) for x in xs])
    want = numpy.einsum(spec, *xs)
    assert got.shape == want.shape
    numpy.testing.assert_allclose(got.asnumpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec,shapes", EINSUM_FORMS, ids=[s for s, _ in EINSUM_FORMS])
def test_einsum_gradients(spec, shapes):
    xs = _arrays(numpy.random.default_rng(1), shapes)
    check_grads(lambda *ops: einsum(spec, *ops), xs, order=2)


def test_einsum_gradient_of_a_trace_is_the_identity():
    x = ndarray._make(numpy.arange(9.0).reshape(3, 3))
    x.attach_grad()
    with autograd.record():
        y = einsum("ii", x)
    y.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), numpy.eye(3))


def test_einsum_same_operand_twice():
    x = numpy.random.default_rng(2).standard_normal((3, 3))
    check_grads(lambda a: einsum("ij,ji->", a, a), [x], order=3)


def test_einsum_sublist_form():
    rng = numpy.random.default_rng(3)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    got = einsum(ndarray._make(a), [0, 1], ndarray._make(b), [1, 2], [0, 2])
    numpy.testing.assert_allclose(got.asnumpy(), a @ b)
    check_grads(lambda x, y: einsum(x, [0, Ellipsis], y, [Ellipsis, 1]), [a, b])


def test_einsum_normalized_subscripts():
    assert normalize_subscripts("ij,jk", [2, 2]) == "ij,jk->ik"
    assert normalize_subscripts("ii", [2]) == "ii->"
    out = normalize_subscripts("...ij,...jk->...ik", [3, 4])
    lhs, rhs = out.split("->")
    t0, t1 = lhs.split(",")
    assert len(t0) == 3 and len(t1) == 4 and t0[0] == t1[1] and rhs[:2] == t1[:2]


@pytest.mark.parametrize("spec,shapes", [("ij,jk->ik", [(2, 3)]), ("ijk", [(2, 3)]), ("...ii->i", [(2, 3, 3)]),
                                         ("i$", [(2, 2)])])
def test_einsum_bad_subscripts(spec, shapes):
    with pytest.raises(ValueError):
        einsum(spec, *[ndarray._make(numpy.ones(s)) for s in shapes])


def test_composites_table():
    assert COMPOSITES == {"einsum": einsum}


def _grad(f, x):
    x = ndarray._make(numpy.asarray(x, dtype=numpy.float64))
    x.attach_grad()
    with autograd.record():
        y = f(x)
    y.backward()
    return x.grad.asnumpy()


@pytest.mark.parametrize("kw", [dict(), dict(ord=2), dict(ord=1), dict(ord=numpy.inf), dict(ord=3),
                                dict(ord=0.5), dict(axis=1), dict(ord="fro"), dict(ord="nuc", axis=(0, 1)),
                                dict(ord=2, axis=(0, 1)), dict(ord=numpy.inf, axis=(0, 1)),
                                dict(ord=-1, axis=(1, 0))])
def test_norm_gradient_at_zero_is_zero(kw):
    norm = REGISTRY["norm"]
    shape = (4,) if "ord" in kw and kw.get("axis") is None and kw["ord"] not in ("fro",) else (2, 3)
    g = _grad(lambda x: norm(x, **kw).sum(), numpy.zeros(shape))
    assert not numpy.isnan(g).any()
    numpy.testing.assert_array_equal(g, 0)


def test_norm_zero_rows_get_zero_gradient_others_unaffected():
    norm = REGISTRY["norm"]
    x = numpy.array([[0.0, 0.0], [3.0, 4.0]])
    numpy.testing.assert_allclose(_grad(lambda a: norm(a, axis=1).sum(), x), [[0, 0], [0.6, 0.8]])


def test_norm_inf_ties_share_the_gradient():
    norm = REGISTRY["norm"]
    g = _grad(lambda a: norm(a, ord=numpy.inf), [3.0, -3.0, 1.0])
    numpy.testing.assert_allclose(g, [0.5, -0.5, 0.0])


def test_norm_ord0_counts_and_has_zero_gradient():
    norm = REGISTRY["norm"]
    x = numpy.array([1.0, 0.0, -2.0])
    assert float(norm(ndarray._make(x), ord=0)) == 2.0
    numpy.testing.assert_array_equal(_grad(lambda a: norm(a, ord=0), x), 0)


def test_norm_matrix_2_is_the_largest_singular_value():
    norm = REGISTRY["norm"]
    x = numpy.random.default_rng(4).standard_normal((3, 5))
    u, s, vh = numpy.linalg.svd(x)
    assert abs(float(norm(ndarray._make(x), ord=2)) - s[0]) < 1e-12
    numpy.testing.assert_allclose(_grad(lambda a: norm(a, ord=2), x), numpy.outer(u[:, 0], vh[0]), atol=1e-12)


def test_matmul_operator_and_batched_broadcast_gradient():
    rng = numpy.random.default_rng(5)
    a, b = rng.standard_normal((3, 1, 2, 4)), rng.standard_normal((5, 4, 2))
    got = ndarray._make(a) @ ndarray._make(b)
    numpy.testing.assert_allclose(got.asnumpy(), a @ b)
    check_grads(lambda x, y: x @ y, [a, b], order=2)


def test_solve_follows_numpy2_vector_rule():
    solve = REGISTRY["solve"]
    rng = numpy.random.default_rng(6)
    a = rng.standard_normal((2, 3, 3)) + 3 * numpy.eye(3)
    b = rng.standard_normal(3)
    got = solve(ndarray._make(a), ndarray._make(b))
    assert got.shape == (2, 3)
    numpy.testing.assert_allclose(got.asnumpy(), numpy.linalg.solve(a, b))
    check_grads(lambda x, y: solve(x, y), [a, b], order=3)


def test_det_and_inv_third_order():
    rng = numpy.random.default_rng(7)
    a = rng.standard_normal((2, 3, 3)) + 3 * numpy.eye(3)
    check_grads(lambda x: REGISTRY["det"](x), [a], order=3)
    check_grads(lambda x: REGISTRY["inv"](x), [a], order=3)


def test_public_namespaces():
    from tapegrad import np
    for name in ("norm", "inv", "det", "solve"):
        assert getattr(np.linalg, name) is REGISTRY[name]
    for name in ("dot", "matmul", "vdot", "inner", "outer", "trace", "tensordot"):
        assert getattr(np, name) is REGISTRY[name]
