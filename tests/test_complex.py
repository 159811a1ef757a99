"""Complex numbers: the HIPS autograd / JAX convention (MXNet dialect and functional API).

Convention. A VJP pairs a cotangent ``g`` with a tangent ``u`` through the real part of the
*bilinear* product, ``<g, u> = Re(sum(g * u))`` (no conjugate). So for a holomorphic ``f`` the VJP of
``g`` is ``g * f'(z)`` (the real-variable formulas, unchanged), and the gradient of ``z * z`` at
``1 + 2j`` is ``2 + 4j``. For a real-valued ``L(z)``, the gradient is ``dL/dx - 1j dL/dy``
(``z = x + 1j y``), the conjugate of the steepest-ascent direction: ``abs`` gives ``conj(z) / |z|``,
``real`` gives 1, ``imag`` gives -1j, ``angle`` gives ``-1j / z``. A real input that receives a
complex cotangent keeps its real part.

The generated sweep (tests/test_ops.py) checks every op's complex samples (``COMPLEX_SAMPLES`` in
tapegrad/ops/elementwise.py) in both modes with tapegrad.testing.check_grads, which draws complex
directions ``u``, ``v`` for complex data and compares ``Re(sum(v * J u))`` with central differences of
``phi(t) = Re(sum(v * f(x + t u)))``, as HIPS's test_util does. This file holds the worked values.
"""
from __future__ import annotations

import warnings
import zlib

import numpy
import pytest

import tapegrad
from tapegrad import autograd, np
from tapegrad._core.array import OPS
from tapegrad.ndarray import ndarray
from tapegrad.ops import elementwise, nondiff
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.samples import Case, op_cases
from tapegrad.testing import GradCheckError, check_grads

ComplexWarning = numpy.exceptions.ComplexWarning


def _wrap(a):
    return ndarray._make(a) if isinstance(a, numpy.ndarray) else a


def _complex_cases():
    for name, make in elementwise.COMPLEX_SAMPLES.items():
        for i, case in enumerate(make(numpy.random.default_rng(0))):
            yield pytest.param(REGISTRY[name], case, id=f"{name}-{i}")


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("op,case", list(_complex_cases()))
def test_complex_gradients_keep_the_input_dtype(op, case):
    """Reverse-mode gradients have their input's dtype: complex for complex inputs, real for real ones."""
    xs = [_wrap(a) for a in case.args]
    wrt = case.wrt if case.wrt is not None else [i for i, a in enumerate(case.args)
                                                 if isinstance(a, numpy.ndarray) and a.dtype.kind in "fc"]
    for i in wrt:
        xs[i].attach_grad()
    with autograd.record():
        y = op(*xs, **case.params)
        s = (y * _wrap(numpy.ones(y.shape, dtype=y.dtype))).sum()
    s.backward()
    for i in wrt:
        assert xs[i].grad.dtype == xs[i].dtype, (i, xs[i].grad.dtype, xs[i].dtype)


def test_every_op_with_complex_samples_sweeps_them():
    for name in elementwise.COMPLEX_SAMPLES:
        cases = REGISTRY[name].samples(numpy.random.default_rng(0))
        assert any(isinstance(a, numpy.ndarray) and a.dtype.kind == "c" for c in cases for a in c.args), name


def test_the_real_sweep_covers_the_new_ops():
    for name in ("absolute", "fabs", "angle", "real", "imag", "conj", "conjugate", "real_if_close", "arccosh",
                 "arcsinh", "arctanh", "deg2rad", "rad2deg", "degrees", "radians", "exp2", "sinc", "nan_to_num",
                 "logaddexp2"):
        op = REGISTRY[name]
        assert op.diff and op.samples is not None and op.vjp_fn is not None, name
        assert op.elementwise, name
        assert getattr(np, name) is op, name


def test_the_checker_catches_a_wrong_complex_rule(monkeypatch):
    """A rule right for real numbers but wrong for complex ones (the conjugated formula g * 2 conj(z)
    for square) passes with real inputs and fails with complex ones, in both modes."""
    op = REGISTRY["square"]
    monkeypatch.setattr(op, "vjp_fn", lambda g, x: (g * (2 * OPS.conj(x)),))
    check_grads(op, [numpy.array([0.5, -1.5])], order=1, modes=("rev", "fwd"))
    z = numpy.array([1 + 2j, -0.5 + 0.3j])
    with pytest.raises(GradCheckError):
        check_grads(op, [z], order=1, modes=("rev",))
    with pytest.raises(GradCheckError):
        check_grads(op, [z], order=1, modes=("fwd",))  # the JVP is derived from the (wrong) VJP


# --- the worked example and the convention --------------------------------------------------------


def test_worked_example_mxnet_dialect():
    """f(z) = z**2 at z = 1 + 2j: the gradient is f'(z) = 2z = 2 + 4j (no conjugate)."""
    z = np.array(1 + 2j, dtype="complex128")
    z.attach_grad()
    with autograd.record():
        y = z * z
    (g,) = autograd.grad(y, [z])
    assert g.dtype == numpy.complex128
    assert complex(g) == 2 + 4j
    with autograd.record():
        y = z * z
    y.backward()
    assert complex(z.grad) == 2 + 4j


def test_worked_example_functional_api():
    vjp_fn, ans = tapegrad.make_vjp(lambda z: z * z)(numpy.array(1 + 2j))
    assert complex(numpy.asarray(ans)) == -3 + 4j
    assert complex(numpy.asarray(vjp_fn(numpy.array(1 + 0j)))) == 2 + 4j
    # a real-valued function of z: |z|**2 = x**2 + y**2 has gradient 2x - 2j y = 2 conj(z)
    g = tapegrad.grad(lambda z: np.abs(z) ** 2)(numpy.array(1 + 2j))
    assert numpy.allclose(numpy.asarray(g), 2 - 4j)


def test_worked_example_forward_mode():
    """jvp: holomorphic f pushes t to f'(z) t; abs pushes t to Re(conj(z) t) / |z|."""
    z = numpy.array(1 + 2j)
    _, t = tapegrad.jvp(lambda a: a * a, (z,), (numpy.array(1j),))
    assert numpy.allclose(numpy.asarray(t), 2 * z * 1j)
    _, t = tapegrad.jvp(np.abs, (numpy.array(3 + 4j),), (numpy.array(1 + 1j),))
    assert numpy.allclose(numpy.asarray(t), ((3 - 4j) * (1 + 1j)).real / 5)


def _grad(f, z):
    z = np.array(z, dtype="complex128")
    z.attach_grad()
    with autograd.record():
        y = f(z)
    y.backward()
    return complex(z.grad)


@pytest.mark.parametrize("f,z,expected", [
    (lambda z: np.exp(z), 0.3 + 0.4j, numpy.exp(0.3 + 0.4j)),                 # holomorphic: f'(z)
    (lambda z: np.log(z), 1 + 1j, 1 / (1 + 1j)),
    (lambda z: np.sqrt(z), 3 + 4j, 1 / (2 * (2 + 1j))),
    (lambda z: np.power(z, 3), 1 - 1j, 3 * (1 - 1j) ** 2),
    (lambda z: 1 / z, 1 + 1j, -1 / (1 + 1j) ** 2),
    (lambda z: np.abs(z), 3 + 4j, (3 - 4j) / 5),                               # conj(z) / |z|
    (lambda z: np.absolute(z), 3 + 4j, (3 - 4j) / 5),
    (lambda z: np.abs(z), 0j, 0j),                                             # abs'(0) = 0
    (lambda z: np.real(z), 1 + 2j, 1 + 0j),
    (lambda z: np.imag(z), 1 + 2j, -1j),
    (lambda z: np.real(np.conj(z) * 1j), 1 + 2j, -1j),                         # Re(i conj z) = y
    (lambda z: np.angle(z), 1 + 1j, -1j / (1 + 1j)),                           # d angle = Im(dz / z)
    (lambda z: np.angle(z, deg=True), 1 + 1j, -1j / (1 + 1j) * 180 / numpy.pi),
    (lambda z: np.abs(z) ** 2, 1 + 2j, 2 - 4j),                                # 2 conj(z)
])
def test_convention_worked_values(f, z, expected):
    assert numpy.allclose(_grad(f, z), expected)


def test_a_real_input_gets_the_real_part_of_a_complex_cotangent():
    x = np.array([0.5, -1.5], dtype="float64")
    z = numpy.array([2 - 3j, 1 + 1j])
    x.attach_grad()
    with autograd.record():
        y = np.imag(x * z)  # = x * Im(z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ComplexWarning)
        y.backward()
    assert x.grad.dtype == numpy.float64
    numpy.testing.assert_allclose(x.grad.asnumpy(), z.imag)


def test_the_complex_to_real_cotangent_cast_does_not_warn():
    x = np.array([0.5, -1.5], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = np.abs(x * numpy.array([2 - 3j, 1 + 1j]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ComplexWarning)
        y.backward()


def test_real_if_close_drops_tiny_imaginary_parts_and_passes_the_gradient():
    z = np.array([1 + 1e-18j, 2 - 1e-18j], dtype="complex128")
    z.attach_grad()
    with autograd.record():
        r = np.real_if_close(z)
        y = (r * r).sum()
    assert r.dtype == numpy.float64
    y.backward()
    assert z.grad.dtype == numpy.complex128
    numpy.testing.assert_allclose(z.grad.asnumpy(), [2, 4])
    assert np.real_if_close(np.array([1 + 1e-3j], dtype="complex128")).dtype == numpy.complex128


def test_results_do_not_alias_their_inputs():
    x = np.array([1.0, 2.0], dtype="float64")
    for f in (np.real, np.imag, np.real_if_close, np.conj, np.nan_to_num):
        y = f(x)
        assert not numpy.shares_memory(y._data, x._data), f.name
    z = np.array([1 + 2j], dtype="complex128")
    assert not numpy.shares_memory(np.real(z)._data, z._data)


# --- conventions of the new real ops ----------------------------------------------------------------


def _rgrad(f, x):
    x = np.array(x, dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = f(x)
    y.backward()
    return x.grad.asnumpy()


def test_sinc_at_zero():
    assert _rgrad(np.sinc, [0.0])[0] == 0.0
    numpy.testing.assert_allclose(_rgrad(np.sinc, [0.5]), [(numpy.cos(numpy.pi / 2) - numpy.sinc(0.5)) / 0.5])


def test_nan_to_num_gradient_is_one_where_finite_and_zero_where_replaced():
    g = _rgrad(lambda x: np.nan_to_num(x, posinf=3.0), [numpy.nan, 1.0, numpy.inf, -numpy.inf, -2.0])
    numpy.testing.assert_array_equal(g, [0, 1, 0, 0, 1])


def test_fabs_matches_abs_and_refuses_complex():
    numpy.testing.assert_array_equal(_rgrad(np.fabs, [-2.0, 0.0, 3.0]), [-1, 0, 1])
    with pytest.raises(TypeError):
        np.fabs(np.array([1j], dtype="complex128"))


def test_iscomplex_isreal_and_the_plain_functions():
    z = np.array([1 + 0j, 2j], dtype="complex128")
    assert np.iscomplex(z).tolist() == [False, True]
    assert np.isreal(z).tolist() == [True, False]
    assert not REGISTRY["iscomplex"].diff and not REGISTRY["isreal"].diff
    F = nondiff.FUNCTIONS
    assert set(F) == {"iscomplexobj", "isrealobj", "allclose"}
    assert F["iscomplexobj"](z) is True and F["isrealobj"](z) is False
    assert F["iscomplexobj"](np.array([1.0])) is False and F["isrealobj"](3.0) is True
    assert F["iscomplexobj"](1j) is True
    assert F["allclose"](np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9]) is True
    assert F["allclose"](np.array([1.0, numpy.nan]), np.array([1.0, numpy.nan])) is False
    assert F["allclose"](np.array([1.0, numpy.nan]), np.array([1.0, numpy.nan]), equal_nan=True) is True


# --- select -----------------------------------------------------------------------------------------


def test_select_values_match_numpy():
    select = elementwise.COMPOSITES["select"]
    x = numpy.arange(-3.0, 4.0)
    conds = [x < -1, x > 1, x == 0]
    choices = [x * 2, x ** 2, numpy.full_like(x, 7.0)]
    got = select([np.array(c) for c in conds], [np.array(c) for c in choices], default=-1.0)
    numpy.testing.assert_array_equal(got.asnumpy(), numpy.select(conds, choices, default=-1.0))
    # broadcasting, first true condition wins, list conditions
    a = numpy.array([[1.0], [2.0]])
    got = select([[True, False, True], [True, True, False]], [a, np.array([5.0, 6.0, 7.0])])
    numpy.testing.assert_array_equal(got.asnumpy(),
                                     numpy.select([[True, False, True], [True, True, False]], [a, [5.0, 6.0, 7.0]]))
    with pytest.raises(ValueError):
        select([x > 0], [])
    with pytest.raises(TypeError):
        select([numpy.array([1, 0])], [x[:2]])


def test_select_is_differentiable_in_choices_and_default():
    select = elementwise.COMPOSITES["select"]
    rng = numpy.random.default_rng(0)
    conds = [rng.random((2, 3)) > 0.6, rng.random((3,)) > 0.3]

    def f(a, b, d):
        return select(conds, [a, b], default=d)

    check_grads(f, [rng.standard_normal((2, 3)), rng.standard_normal((3,)), rng.standard_normal((2, 1))],
                order=2, modes=("rev", "fwd"))
    z = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    check_grads(lambda a, b: select(conds, [a * a, b], default=0), [z, rng.standard_normal((3,))],
                modes=("rev", "fwd"))


# --- complex variants of the registry's real samples ------------------------------------------------

#: Ops whose real samples get a complex variant (every float input given an imaginary part): the
#: reductions, shape and linear-algebra ops NumPy defines on complex numbers. (Elementwise ops and
#: the fft family declare complex samples themselves.) Checked here against finite differences in
#: the convention above, and in tests/test_differential_hips.py against HIPS.
COMPLEX_VARIANT_OPS = (
    "sum", "mean", "prod", "var", "std", "cumsum", "cumprod",
    "reshape", "transpose", "broadcast_to", "moveaxis", "swapaxes", "expand_dims", "squeeze", "concatenate",
    "stack", "vstack", "hstack", "column_stack", "dstack", "append", "flip", "fliplr", "flipud", "tile",
    "repeat", "ravel", "flatten", "pad", "diag", "diagonal", "tril", "triu", "roll", "rollaxis", "rot90",
    "kron", "cross", "getitem", "take_along_axis", "clone", "t", "_diff",
    "dot", "vdot", "inner", "outer", "matmul", "tensordot", "_einsum", "trace",
    "norm", "inv", "det", "solve", "cholesky", "eigh", "eigvalsh", "eig", "eigvals", "slogdet", "pinv", "svd",
    "svdvals", "qr",
)


def _imaginary_part(rng, a: numpy.ndarray) -> numpy.ndarray:
    """A random imaginary part for ``a``: antisymmetric (so ``a + 1j * part`` stays Hermitian) and
    small (so it stays positive definite) when ``a`` is a stack of symmetric matrices."""
    r = rng.standard_normal(a.shape)
    if a.ndim >= 2 and a.shape[-1] == a.shape[-2] and numpy.allclose(a, numpy.swapaxes(a, -1, -2)):
        return 0.1 * (r - numpy.swapaxes(r, -1, -2))
    return 0.5 * r


def real_and_complex_cases(op) -> list:
    """An op's own samples followed by their complex variants, the same in every run (the differential
    tests' inputs)."""
    cases = op_cases(op)
    return cases + complex_variants(op, cases, numpy.random.default_rng(zlib.crc32(op.name.encode()) + 1))


def complex_variants(op, cases, rng) -> list:
    """For an op of ``COMPLEX_VARIANT_OPS``, each real case again with complex inputs (its
    differentiated float arrays given an imaginary part); for any other op, nothing."""
    if op.name not in COMPLEX_VARIANT_OPS:
        return []
    out = []
    for case in cases:
        wrt = case.wrt if case.wrt is not None else [i for i, a in enumerate(case.args)
                                                     if isinstance(a, numpy.ndarray) and a.dtype.kind == "f"]
        if not wrt or any(isinstance(a, numpy.ndarray) and a.dtype.kind == "c" for a in case.args):
            continue
        args = list(case.args)
        for i in wrt:
            args[i] = numpy.asarray(args[i] + 1j * _imaginary_part(rng, args[i]))
        out.append(Case(tuple(args), dict(case.params), ref=case.ref, wrt=case.wrt, order=case.order,
                        check_value=case.check_value))
    return out


#: The outputs of these ops that hold singular vectors or eigenvectors, whose phases a complex input
#: leaves free (LAPACK picks one): only phase-invariant functions of them have derivatives, so the
#: sweeps take their squared moduli.
PHASE_FREE = {"eigh": (1,), "svd": (0, 2), "eig": (1,)}


def phase_free(op, y, cplx: bool, abs_):
    """``y`` with the phase-free outputs of a complex case (any case of eig, whose eigenvectors can
    be complex for a real input) replaced by their squared moduli."""
    seq = isinstance(y, tuple) or type(y).__name__ == "SequenceBox"  # HIPS traces a tuple as a SequenceBox
    if not (cplx or op.name == "eig") or op.name not in PHASE_FREE or not seq:
        return y
    return tuple(abs_(y[k]) ** 2 if k in PHASE_FREE[op.name] else y[k] for k in range(len(y)))


def _variant_cases():
    for name in COMPLEX_VARIANT_OPS:
        op = REGISTRY[name]
        rng = numpy.random.default_rng(len(name))
        variants = complex_variants(op, list(op.samples(rng)), rng)
        step = max(1, len(variants) // 4)  # a spread of at most ~4 per op keeps the sweep fast
        for i, case in enumerate(variants[::step]):
            yield pytest.param(op, case, id=f"{name}-{i}")


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("op,case", list(_variant_cases()))
def test_complex_variants_match_finite_differences(op, case):
    """Every reduction, shape and linear-algebra rule on complex inputs, in both modes, to order 2."""
    def f(*xs):
        return phase_free(op, op(list(xs), **case.params) if op.seq else op(*xs, **case.params), True, np.abs)
    check_grads(f, [_wrap(a) for a in case.args], order=min(case.order, 2), wrt=case.wrt, modes=("rev", "fwd"))


def test_the_issues_norm_and_var_examples_follow_the_functional_convention():
    """Issue 12: grad of norm(z) was z/|z|, the conjugate of the convention; HIPS gives conj(z)/|z|."""
    z = numpy.array([1 + 2j, 3 - 1j])
    n = numpy.linalg.norm(z)
    numpy.testing.assert_allclose(numpy.asarray(tapegrad.grad(lambda z: np.linalg.norm(z))(z)), numpy.conj(z) / n)
    c = z - z.mean()
    numpy.testing.assert_allclose(numpy.asarray(tapegrad.grad(lambda z: np.var(z))(z)), numpy.conj(c))
    numpy.testing.assert_allclose(numpy.asarray(tapegrad.grad(lambda z: np.std(z))(z)),
                                  numpy.conj(c) / (2 * numpy.std(z)))
    # vdot(a, b) = sum(conj(a) b) is antilinear in a: the VJP of g for a is conj(g b)
    a, b = numpy.array([1 + 1j, 2 - 1j]), numpy.array([0.5 - 2j, 1 + 3j])
    back, _ = tapegrad.make_vjp(lambda a, b: np.vdot(a, b), (0, 1))(a, b)
    ga, gb = back(numpy.array(1j))
    numpy.testing.assert_allclose(numpy.asarray(ga), numpy.conj(1j * b))
    numpy.testing.assert_allclose(numpy.asarray(gb), 1j * numpy.conj(a))
