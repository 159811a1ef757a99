"""``tapegrad.scipy.linalg``: sqrtm, expm, solve_triangular, cho_factor/cho_solve and solve_sylvester.
Values against SciPy, gradients against central differences to order 2 (real and complex, both
modes), closed forms and identities that tie them to other ops, and the door (SciPy's own functions
on plain values). The ops' declared samples also run in the registry sweeps (tests/test_ops.py, and
against HIPS autograd in test_differential_hips.py)."""
from __future__ import annotations

import inspect
import pickle

import numpy
import pytest

scipy_linalg = pytest.importorskip("scipy.linalg")

import tapegrad  # noqa: E402
import tapegrad.numpy as tnp  # noqa: E402
from tapegrad.ndarray import ndarray  # noqa: E402
from tapegrad.ops.registry import REGISTRY  # noqa: E402
from tapegrad.scipy import linalg as tsl  # noqa: E402
from tapegrad.testing import check_grads  # noqa: E402

RNG = numpy.random.default_rng(5)
#: SciPy 1.16 and later take stacks of matrices in every linalg function (expm always did)
BATCHES = tuple(int(v) for v in pytest.importorskip("scipy").__version__.split(".")[:2]) >= (1, 16)
NAMES = ("sqrtm", "expm", "solve_triangular", "cho_factor", "cho_solve", "solve_sylvester")


def _a(x):
    return ndarray._make(numpy.asarray(x))


def _c(shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


def _spd(n, cplx=False):
    b = _c((n, n)) if cplx else RNG.standard_normal((n, n))
    return b @ b.conj().T + n * numpy.eye(n)


def _check(f, *args, order=2):
    check_grads(f, [_a(x) for x in args], order=order, modes=("rev", "fwd"))


# --- values: the door runs SciPy's function on plain values, the op on traced ones -----------------------


def _traced_value(fn, *args):
    """``fn``'s value computed on traced arrays (inside tapegrad.grad): the op's forward."""
    seen = []

    def loss(*xs):
        y = fn(*xs)
        seen.append(numpy.asarray(y[0] if isinstance(y, tuple) else y))
        return tnp.sum(tnp.real(y[0] if isinstance(y, tuple) else y))
    tapegrad.grad(loss, tuple(range(len(args))))(*args)
    return seen[0]


@pytest.mark.parametrize("cplx", [False, True])
def test_values_match_scipy_plain_and_traced(cplx):
    m = (lambda s: _c(s)) if cplx else (lambda s: RNG.standard_normal(s))
    a = 0.3 * m((3, 3)) + 2 * numpy.eye(3)
    s = _spd(3, cplx)
    b = m((3, 2))
    calls = [(tsl.sqrtm, scipy_linalg.sqrtm, (a,)), (tsl.expm, scipy_linalg.expm, (a,)),
             (lambda x, y: tsl.solve_triangular(x, y, trans=1, lower=True),
              lambda x, y: scipy_linalg.solve_triangular(x, y, trans=1, lower=True), (a, b)),
             (lambda x: tsl.cho_factor(x, lower=True)[0], lambda x: scipy_linalg.cho_factor(x, lower=True)[0], (s,)),
             (lambda x, y: tsl.cho_solve((x, False), y), lambda x, y: scipy_linalg.cho_solve((x, False), y),
              (scipy_linalg.cho_factor(s)[0], b)),
             (tsl.solve_sylvester, scipy_linalg.solve_sylvester, (a, a.T + 1, a @ a))]
    for ours, ref, args in calls:
        want = ref(*args)
        plain = ours(*args)
        assert type(plain) is numpy.ndarray and numpy.array_equal(plain, want)
        numpy.testing.assert_allclose(_traced_value(ours, *args), want, rtol=1e-10, atol=1e-12)


def test_cho_factor_returns_c_and_lower_as_scipy():
    s = _spd(4)
    c, lower = tsl.cho_factor(s, lower=True)
    assert lower is True and numpy.array_equal(c, scipy_linalg.cho_factor(s, lower=True)[0])

    def f(x):
        c, low = tsl.cho_factor(x)
        assert low is False and isinstance(c, tnp.ArrayBox)
        return tnp.sum(c)
    tapegrad.grad(f)(s)


# --- gradients ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("cplx", [False, True])
def test_sqrtm_expm_and_sylvester_gradients_to_order_two(cplx):
    m = _c if cplx else RNG.standard_normal
    a = 0.3 * m((3, 3)) + 2 * numpy.eye(3)
    _check(REGISTRY["sqrtm"], a)
    _check(REGISTRY["expm"], 0.7 * m((3, 3)))
    _check(REGISTRY["expm"], m((2, 2, 2)))  # a stack
    _check(REGISTRY["solve_sylvester"], m((3, 3)) + 3 * numpy.eye(3), m((2, 2)) + 3 * numpy.eye(2), m((3, 2)))


def test_sqrtm_of_a_matrix_with_no_real_root_is_complex_and_differentiable():
    a = numpy.array([[1.0, 2.0], [0.5, -1.5]])  # a negative eigenvalue
    x = tsl.sqrtm(a)
    assert x.dtype.kind == "c"
    numpy.testing.assert_allclose(x @ x, a, atol=1e-12)
    check_grads(lambda m: REGISTRY["real"](REGISTRY["sqrtm"](m)), [_a(a)], order=2)
    check_grads(lambda m: REGISTRY["imag"](REGISTRY["sqrtm"](m)), [_a(a)], order=2)


@pytest.mark.parametrize("trans", [0, 1, 2, "N", "T", "C"])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("unit_diagonal", [False, True])
def test_solve_triangular_every_variant_to_order_two(trans, lower, unit_diagonal):
    op = REGISTRY["solve_triangular"]
    pairs = [(RNG.standard_normal((3, 3)) + 3 * numpy.eye(3), RNG.standard_normal((3, 2))),
             (_c((3, 3)) + 3 * numpy.eye(3), _c((3,)))]
    if BATCHES:
        pairs.append((RNG.standard_normal((2, 3, 3)) + 3 * numpy.eye(3), RNG.standard_normal((3, 1))))
    for a, b in pairs:
        _check(lambda x, y: op(x, y, trans=trans, lower=lower, unit_diagonal=unit_diagonal), a, b)


def test_solve_triangular_gradient_lives_on_the_triangle_read():
    a = RNG.standard_normal((4, 4)) + 3 * numpy.eye(4)
    b = RNG.standard_normal(4)
    for lower in (False, True):
        for unit in (False, True):
            g = tapegrad.grad(lambda x: tnp.sum(tsl.solve_triangular(x, b, lower=lower, unit_diagonal=unit) ** 2))(a)
            k = (-1 if lower else 1) if unit else 0
            read = numpy.tril(numpy.ones((4, 4)), k) if lower else numpy.triu(numpy.ones((4, 4)), k)
            assert numpy.all(g[read == 0] == 0) and numpy.all(g[read == 1] != 0)
            # the same as numpy.linalg.solve of the matrix read
            eff = a * read + (numpy.eye(4) if unit else 0)
            ref = tapegrad.grad(lambda x: tnp.sum(tnp.linalg.solve(x, b) ** 2))(eff)
            numpy.testing.assert_allclose(g, ref * read, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cplx", [False, True])
@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_and_cho_solve_to_order_two(cplx, lower):
    s = _spd(3, cplx)
    c = scipy_linalg.cho_factor(s, lower=lower)[0]
    b = _c((3, 2)) if cplx else RNG.standard_normal((3, 2))
    _check(lambda x: REGISTRY["cho_factor"](x, lower=lower), s)
    _check(lambda x, y: REGISTRY["cho_solve"](x, y, lower=lower), c, b)
    _check(lambda x, y: REGISTRY["cho_solve"](x, y, lower=lower), c, b[:, 0])


@pytest.mark.parametrize("lower", [False, True])
def test_cho_solve_of_cho_factor_is_solve_on_the_triangle_read(lower):
    """Through both ops, the gradient is numpy.linalg.solve's for the symmetric matrix the factor
    reads, carried to that triangle (a different route through other ops)."""
    a = _spd(4) + numpy.triu(RNG.standard_normal((4, 4)), 1) * (not lower)  # unread values below, if upper
    b = RNG.standard_normal((4, 2))
    w = RNG.standard_normal((4, 2))
    g = tapegrad.grad(lambda x: tnp.sum(w * tsl.cho_solve(tsl.cho_factor(x, lower=lower), b)))(a)

    def completed(x):
        tri = tnp.tril(x, -1) if lower else tnp.triu(x, 1)
        return tri + tri.T + tnp.diag(tnp.diagonal(x))
    ref = tapegrad.grad(lambda x: tnp.sum(w * tnp.linalg.solve(completed(x), b)))(a)
    numpy.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-12)
    h = tapegrad.hessian(lambda x: tnp.sum(w * tsl.cho_solve(tsl.cho_factor(x, lower=lower), b)))(a)
    h_ref = tapegrad.hessian(lambda x: tnp.sum(w * tnp.linalg.solve(completed(x), b)))(a)
    numpy.testing.assert_allclose(h, h_ref, rtol=1e-8, atol=1e-10)


def test_expm_gradient_of_the_trace_is_the_transposed_exponential():
    a = RNG.standard_normal((3, 3))
    g = tapegrad.grad(lambda x: tnp.trace(tsl.expm(x)))(a)
    numpy.testing.assert_allclose(g, scipy_linalg.expm(a).T, rtol=1e-12)
    # the Fréchet derivative in a direction e: SciPy's own expm_frechet
    e = RNG.standard_normal((3, 3))
    _, jt = tapegrad.jvp(tsl.expm, (a,), (e,))
    numpy.testing.assert_allclose(jt, scipy_linalg.expm_frechet(a, e, compute_expm=False), rtol=1e-10)


def test_sqrtm_vjp_solves_the_sylvester_equation():
    a = _spd(3)
    x = scipy_linalg.sqrtm(a)
    g = RNG.standard_normal((3, 3))
    ga = tapegrad.grad(lambda m: tnp.sum(g * tsl.sqrtm(m)))(a)
    numpy.testing.assert_allclose(x.T @ ga + ga @ x.T, g, rtol=1e-10, atol=1e-12)


def test_solve_sylvester_gradients_are_another_sylvester_solve():
    a, b = RNG.standard_normal((3, 3)) + 3 * numpy.eye(3), RNG.standard_normal((2, 2)) + 3 * numpy.eye(2)
    q, w = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    ga, gb, gq = tapegrad.grad(lambda *m: tnp.sum(w * tsl.solve_sylvester(*m)), (0, 1, 2))(a, b, q)
    x = scipy_linalg.solve_sylvester(a, b, q)
    y = scipy_linalg.solve_sylvester(a.T, b.T, w)
    for got, want in ((gq, y), (ga, -y @ x.T), (gb, -x.T @ y)):
        numpy.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# --- the door -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_function_is_scipys_on_plain_values_and_the_op_on_traced_ones(name):
    fn, op = getattr(tsl, name), REGISTRY[name]
    assert fn.op is op and op.public == "scipy.linalg"
    assert inspect.signature(fn) == inspect.signature(getattr(scipy_linalg, name))
    assert pickle.loads(pickle.dumps(fn)) is fn
    assert fn.__doc__ == getattr(scipy_linalg, name).__doc__


def test_bad_calls_name_the_problem():
    with pytest.raises(ValueError, match="square matrix"):
        tapegrad.grad(lambda x: tnp.sum(tsl.expm(x)))(numpy.ones((2, 3)))
    with pytest.raises(ValueError, match="trans must be 0, 1, 2, 'N', 'T' or 'C'"):
        tapegrad.grad(lambda x: tnp.sum(tsl.solve_triangular(x, numpy.ones(2), trans="X")))(numpy.eye(2))
    with pytest.raises(ValueError, match=r"cho_solve takes \(c, lower\) first"):
        tapegrad.grad(lambda x: tnp.sum(tsl.cho_solve(x, numpy.ones(2))))(numpy.eye(2))
    with pytest.raises(ValueError, match="disp=False"):
        tapegrad.grad(lambda x: tnp.sum(tsl.sqrtm(x, disp=False)))(numpy.eye(2))
    # a function without a gradient refuses an array being differentiated
    with pytest.raises(TypeError, match="logm is not differentiable"):
        tapegrad.grad(lambda x: tnp.sum(tsl.logm(x)))(numpy.eye(2) * 2)
    assert numpy.allclose(tsl.logm(numpy.eye(2) * 2), scipy_linalg.logm(numpy.eye(2) * 2))


def test_without_scipy_the_doors_and_the_ops_say_how_to_install_it():
    import subprocess
    import sys

    from conftest import script_env
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import numpy, tapegrad\n"
            "from tapegrad.ops.registry import REGISTRY\n"
            "from tapegrad.ops.samples import op_cases\n"
            "for mod in ('tapegrad.scipy.signal', 'tapegrad.scipy.linalg', 'tapegrad.scipy.integrate'):\n"
            "    try:\n"
            "        __import__(mod)\n"
            "    except ImportError as e:\n"
            "        print(e)\n"
            "for name in ('convolve', 'expm', 'odeint'):\n"
            "    assert op_cases(REGISTRY[name]) == []  # nothing to compare with: the sweeps skip them\n"
            "try:\n"
            "    REGISTRY['expm'](tapegrad.np.ones((2, 2)))\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=script_env())
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 4 and all("pip install 'tapegrad[scipy]'" in line for line in lines), (out.stdout, out.stderr)
