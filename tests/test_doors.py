"""The MXNet dialect's thin wrappers around plain ops (issue 13, item 2): MXNet's keyword calling
convention (``npx.convolution``, ``npx.pooling``) and NumPy's named-tuple results and argument routes
(``np.linalg.svd``, ``qr``, ``eigh``, ``eig``, ``slogdet``). Each wrapper presents itself as its op;
the op is a plain op that returns a plain tuple. The calls NumPy routes to other ops
(``svd(compute_uv=False)``, ``svd(hermitian=True)``, ``qr(mode='r')``) are checked here, through the
door, as the op sweep checks the op's own samples: values against NumPy, derivatives to order 2 in
both modes, on real and complex inputs, and against HIPS autograd."""
from __future__ import annotations

import inspect
import pickle

import autograd
import autograd.numpy as anp
import numpy
import pytest

import tapegrad
from tapegrad import np, npx
from tapegrad.ndarray import ndarray
from tapegrad.ops.linalg import _sv_matrix, _sym_spectrum
from tapegrad.ops.registry import REGISTRY, Op
from tapegrad.ops.samples import Case
from tapegrad.testing import check_grads
from test_complex import complex_variants, phase_free  # the complex sweep's variants and comparison

WRAPPED = {"convolution": npx, "pooling": npx, "eigh": np.linalg, "eig": np.linalg, "slogdet": np.linalg,
           "svd": np.linalg, "qr": np.linalg}
BOTH = ("rev", "fwd")


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_a_door_wrapper_presents_itself_as_its_plain_op(name):
    door, op = getattr(WRAPPED[name], name), REGISTRY[name]
    assert type(op) is Op and door is not op and door.__wrapped__ is op
    assert (door.__name__, door.__qualname__, door.__module__, door.__doc__) == \
        (op.__name__, op.__qualname__, op.__module__, op.__doc__)
    assert inspect.signature(door) == inspect.signature(op)
    assert pickle.loads(pickle.dumps(door)) is door


def test_the_ops_return_plain_tuples_and_np_linalg_named_tuples():
    a = ndarray._make(_sv_matrix(numpy.random.default_rng(0), (3, 3)))
    for name in ("eigh", "eig", "slogdet", "svd", "qr"):
        plain, named = REGISTRY[name](a), getattr(np.linalg, name)(a)
        assert type(plain) is tuple and type(named) is not tuple and named._fields
        for x, y in zip(plain, named):
            numpy.testing.assert_array_equal(x.asnumpy(), y.asnumpy())


def _routed_cases():
    rng = numpy.random.default_rng(13)
    return [("svd", _sv_matrix(rng, (4, 3)), dict(compute_uv=False)),
            ("svd", _sv_matrix(rng, (2, 2, 3)), dict(full_matrices=True, compute_uv=False)),
            ("svd", _sym_spectrum(rng, (3, 3), junk_upper=True), dict(hermitian=True)),
            ("svd", _sym_spectrum(rng, (2, 3, 3)), dict(hermitian=True, compute_uv=False)),
            ("qr", _sv_matrix(rng, (4, 3)), dict(mode="r"))]


ROUTED = [pytest.param(*c, id=f"{c[0]}-{i}") for i, c in enumerate(_routed_cases())]


@pytest.mark.parametrize("name,a,params", ROUTED)
def test_a_routed_call_matches_numpy_and_finite_differences(name, a, params):
    door = getattr(np.linalg, name)
    got, want = door(ndarray._make(a), **params), getattr(numpy.linalg, name)(a, **params)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    for x, y in zip(got, want):
        numpy.testing.assert_allclose(x.asnumpy(), y, rtol=1e-10, atol=1e-10)
    check_grads(lambda x: door(x, **params), [a], order=2, modes=BOTH)


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("name,a,params", ROUTED)
def test_a_routed_call_on_complex_input_matches_finite_differences(name, a, params):
    """As tests/test_complex.py checks the op's complex variants: the phase-free outputs only."""
    (case,) = complex_variants(REGISTRY[name], [Case((a,), params)], numpy.random.default_rng(7))
    door, op = getattr(np.linalg, name), REGISTRY[name]
    check_grads(lambda x: phase_free(op, door(x, **params), True, np.abs), list(case.args), order=2, modes=BOTH)


@pytest.mark.parametrize("name,a,params", [p for p in ROUTED if not p.values[2].get("hermitian")
                                           and p.values[0] == "svd"])
def test_singular_values_agree_with_hips(name, a, params):
    w = numpy.random.default_rng(3).standard_normal(numpy.linalg.svd(a, compute_uv=False).shape)
    ours = tapegrad.grad(lambda x: np.sum(np.linalg.svd(x, **params) * np.array(w)))(a)
    hips = autograd.grad(lambda x: anp.sum(anp.linalg.svd(x, **params) * w))(a)
    numpy.testing.assert_allclose(numpy.asarray(ours), hips, rtol=1e-9, atol=1e-9)
