"""The shape functions added for the NumPy surface: the composites (diff, gradient, atleast_*d,
row_stack, r_, c_) against NumPy and central differences in both modes, and behaviour of the new
registered ops (kron, cross, partition, roll, ...) that the generated sweep does not cover."""
from __future__ import annotations

import warnings

import numpy
import pytest

from tapegrad import autograd
from tapegrad import np as tnp
from tapegrad.ndarray import ndarray
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.shape import (COMPOSITES, _np_cross, atleast_1d, atleast_2d, atleast_3d, c_, diff, gradient, r_,
                                row_stack)
from tapegrad.testing import check_grads

MODES = ("fwd", "rev")


def _arr(x):
    return ndarray._make(numpy.asarray(x, dtype=numpy.float64))


def _x(shape, seed=0):
    return numpy.random.default_rng(seed).uniform(-2, 2, size=shape)


def _same(got, expected):
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected)
        for g, e in zip(got, expected):
            _same(g, e)
        return
    assert isinstance(got, ndarray)
    e = numpy.asarray(expected)
    assert got.shape == e.shape, f"shape {got.shape} != NumPy's {e.shape}"
    assert got.dtype == e.dtype, f"dtype {got.dtype} != NumPy's {e.dtype}"
    numpy.testing.assert_allclose(got.asnumpy(), e, rtol=1e-12, atol=1e-12)


def _tuple(y):
    return tuple(y) if isinstance(y, (tuple, list)) else y


# -- registry bookkeeping ----------------------------------------------------------------------

NEW_OPS = ("kron", "cross", "column_stack", "dstack", "fliplr", "flipud", "roll", "rollaxis", "rot90",
           "partition", "append", "_diff")
NEW_COMPOSITES = ("diff", "gradient", "atleast_1d", "atleast_2d", "atleast_3d", "row_stack", "r_", "c_")


def test_new_ops_are_registered_with_rules_and_samples():
    for name in NEW_OPS:
        op = REGISTRY[name]
        assert op.vjp_fn is not None and op.samples is not None
        assert op.linear or op.jvp_fn is not None, f"{name} is neither linear nor has a JVP"
    assert REGISTRY["_diff"].public is None


def test_new_composites_are_exposed_in_tapegrad_np():
    assert set(COMPOSITES) >= set(NEW_COMPOSITES)
    assert not set(COMPOSITES) & set(REGISTRY)
    for name in NEW_COMPOSITES:
        assert getattr(tnp, name) is COMPOSITES[name]
        assert name in tnp.COMPOSITE_NAMES
    for name in NEW_OPS[:-1]:
        assert getattr(tnp, name) is REGISTRY[name]


# -- diff ----------------------------------------------------------------------------------------

DIFFS = [
    ((5,), {}),
    ((2, 5, 4), dict(n=2, axis=1)),
    ((3, 4, 5), dict(n=3, axis=-1)),
    ((4, 3), dict(axis=-2)),
    ((3, 2), dict(n=0)),
    ((2, 3), dict(n=4)),  # past the axis length: empty
    ((2, 3, 4), dict(axis=1, prepend=1.5)),
    ((2, 3, 4), dict(n=2, axis=-1, append=-0.5, prepend=2.0)),
]


@pytest.mark.parametrize("shape,params", DIFFS)
def test_diff_values(shape, params):
    x = _x(shape)
    _same(diff(_arr(x), **params), numpy.diff(x, **params))


@pytest.mark.parametrize("shape,params", DIFFS)
def test_diff_gradients(shape, params):
    check_grads(lambda a: diff(a, **params), [_x(shape)], order=2, modes=MODES)


def test_diff_array_prepend_and_append_get_gradients():
    x, p, q = _x((2, 3, 4)), _x((2, 1, 4), 1), _x((2, 2, 4), 2)
    _same(diff(_arr(x), 2, 1, _arr(p), _arr(q)), numpy.diff(x, 2, 1, p, q))
    check_grads(lambda a, b, c: diff(a, 2, 1, prepend=b, append=c), [x, p, q], order=2, modes=MODES)
    # a 0-d array is broadcast along the axis, as NumPy does with scalars
    s = numpy.array(0.7)
    _same(diff(_arr(x), axis=0, prepend=_arr(s)), numpy.diff(x, axis=0, prepend=s))
    check_grads(lambda a, b: diff(a, axis=0, prepend=b), [x, s], order=2, modes=MODES)


def test_diff_errors_and_inputs_like_numpy():
    with pytest.raises(ValueError, match="non-negative"):
        diff(_arr(_x((3,))), -1)
    with pytest.raises(ValueError, match="at least one dimensional"):
        diff(_arr(1.0))
    with pytest.raises(numpy.exceptions.AxisError):
        diff(_arr(_x((3,))), axis=1)
    got = diff([1.0, 4.0, 9.0])  # a list becomes an array of the class's list dtype (float32 here)
    assert isinstance(got, ndarray) and got.dtype == ndarray._list_dtype
    numpy.testing.assert_array_equal(got.asnumpy(), [3.0, 5.0])


# -- gradient ------------------------------------------------------------------------------------

GRADIENTS = [
    ((5,), (), {}),
    ((5,), (0.5,), dict(edge_order=2)),
    ((3, 4), (), {}),  # every axis: a tuple
    ((3, 4, 5), (2.0,), dict(axis=-1)),
    ((3, 4, 5), (2.0, 0.5), dict(axis=(0, -1), edge_order=2)),
    ((3, 4, 5), (1.0, 2.0, 3.0), dict(axis=None)),
    ((2, 4), (numpy.array([0.0, 1.0, 1.5, 3.5]),), dict(axis=1)),  # non-uniform coordinates
    ((4, 3), (numpy.array([0.0, 0.3, 1.0, 1.2]),), dict(axis=0, edge_order=2)),
    ((4, 3), (numpy.array([1.0, 2.0, 3.0, 4.0]), 0.5), dict(edge_order=2)),  # uniform coordinates
    ((2, 3), (), dict(axis=(1,))),  # a one-axis tuple: one array
]


@pytest.mark.parametrize("shape,spacing,params", GRADIENTS)
def test_gradient_values(shape, spacing, params):
    x = _x(shape)
    _same(gradient(_arr(x), *spacing, **params), numpy.gradient(x, *spacing, **params))


@pytest.mark.parametrize("shape,spacing,params", GRADIENTS)
def test_gradient_gradients(shape, spacing, params):
    check_grads(lambda a: _tuple(gradient(a, *spacing, **params)), [_x(shape)], order=2, modes=MODES)


def test_gradient_in_a_scalar_spacing_given_as_an_array():
    x, h = _x((6, 2)), numpy.array(0.7)
    for eo in (1, 2):
        _same(gradient(_arr(x), _arr(h), axis=0, edge_order=eo), numpy.gradient(x, h, axis=0, edge_order=eo))
        check_grads(lambda a, b: gradient(a, b, axis=0, edge_order=eo), [x, h], order=2, modes=MODES)


def test_gradient_of_integers_is_float64_and_errors_match_numpy():
    _same(gradient(ndarray._make(numpy.array([1, 4, 9, 16]))), numpy.gradient(numpy.array([1, 4, 9, 16])))
    with pytest.raises(ValueError, match="too small"):
        gradient(_arr(_x((2,))), edge_order=2)
    with pytest.raises(ValueError, match="greater than 2"):
        gradient(_arr(_x((5,))), edge_order=3)
    with pytest.raises(TypeError, match="invalid number of arguments"):
        gradient(_arr(_x((3, 4))), 1.0, 2.0, 3.0)
    with pytest.raises(ValueError, match="match the length"):
        gradient(_arr(_x((3,))), numpy.arange(4.0))


# -- atleast_*d, row_stack -----------------------------------------------------------------------

@pytest.mark.parametrize("fn", [atleast_1d, atleast_2d, atleast_3d], ids=lambda f: f.__name__)
def test_atleast_values_and_gradients(fn):
    ref = getattr(numpy, fn.__name__)
    xs = [_x(()), _x((3,), 1), _x((2, 3), 2), _x((2, 3, 4), 3)]
    for x in xs:
        _same(fn(_arr(x)), ref(x))
    _same(fn(*[_arr(x) for x in xs]), ref(*xs))  # several: a tuple, as NumPy 2 returns
    check_grads(lambda *a: fn(*a), xs, order=2, modes=MODES)
    _same(fn(2.0), ref(2.0))


def test_atleast_returns_the_array_itself_when_it_has_enough_dimensions():
    x = _arr(_x((2, 3)))
    assert atleast_1d(x) is x and atleast_2d(x) is x


def test_row_stack_is_vstack_with_numpy_deprecation_warning():
    xs = [_x((3,)), _x((2, 3), 1)]
    with pytest.warns(DeprecationWarning, match="row_stack"):
        got = row_stack([_arr(x) for x in xs])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        _same(got, numpy.vstack(xs))  # NumPy 2.5 dropped row_stack
        check_grads(lambda a, b: row_stack([a, b]), xs, order=2, modes=MODES)


# -- r_ and c_ -----------------------------------------------------------------------------------

def _ra(x):
    return _arr(x) if isinstance(x, numpy.ndarray) else x


A, B, C = _x((3,)), _x((2,), 1), _x((2, 3), 2)
R_KEYS = [
    (A, B),
    (A, 0.5, slice(1, 3), B),
    (A, slice(-1, 1, 5j)),
    ("0,2", A, C),
    ("-1,2,0", A, A),
    ("1,3,0", C, C),
    ("0", C, C),
    (C, A[None]),
    (A,),
]
C_KEYS = [(A, A), (C.T, A), (A[None], 1, 2, A[None]), (C, C)]


@pytest.mark.parametrize("key", R_KEYS, ids=[str(i) for i in range(len(R_KEYS))])
def test_r_values_and_gradients(key):
    _same(r_[tuple(_ra(k) for k in key)], numpy.r_[key])
    arrays = [k for k in key if isinstance(k, numpy.ndarray)]

    def f(*xs):
        it = iter(xs)
        return r_[tuple(next(it) if isinstance(k, numpy.ndarray) else k for k in key)]
    check_grads(f, arrays, order=2, modes=MODES)


@pytest.mark.parametrize("key", C_KEYS, ids=[str(i) for i in range(len(C_KEYS))])
def test_c_values_and_gradients(key):
    _same(c_[tuple(_ra(k) for k in key)], numpy.c_[key])
    arrays = [k for k in key if isinstance(k, numpy.ndarray)]

    def f(*xs):
        it = iter(xs)
        return c_[tuple(next(it) if isinstance(k, numpy.ndarray) else k for k in key)]
    check_grads(f, arrays, order=2, modes=MODES)


def test_r_gradient_reaches_each_array():
    x, y = _arr(A), _arr(B)
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        z = (r_[x, 0.0, y, 1:3] * _arr(numpy.arange(8.0))).sum()
    z.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [0.0, 1.0, 2.0])
    numpy.testing.assert_array_equal(y.grad.asnumpy(), [4.0, 5.0])


def test_r_keeps_float32_with_python_scalars_and_refuses_matrices():
    x = ndarray._make(numpy.ones(2, dtype=numpy.float32))
    assert r_[x, 1.5].dtype == numpy.float32
    assert r_[1:4].dtype == numpy.r_[1:4].dtype
    with pytest.raises(NotImplementedError):
        r_["r", x, x]
    with pytest.raises(NotImplementedError):
        r_["1, 2; 3, 4"]
    with pytest.raises(ValueError, match="first entry"):
        r_[x, "0"]
    with pytest.raises(TypeError, match="indexed, not called"):
        c_(x, x)
    assert len(r_) == 0 and len(c_) == 0


# -- registered ops: behaviour beyond the generated sweep ----------------------------------------

def test_partition_values_are_numpy_s_exactly():
    x = _x((4, 9))
    for kth in (0, 4, (2, 6), -1):
        got = REGISTRY["partition"](_arr(x), kth)
        numpy.testing.assert_array_equal(got.asnumpy(), numpy.partition(x, kth))


def test_partition_ties_go_to_tied_elements_in_input_order():
    x = _arr([2.0, 1.0, 2.0, 1.0, 3.0])
    x.attach_grad()
    weights = numpy.array([10.0, 20.0, 30.0, 40.0, 50.0])
    with autograd.record():
        y = REGISTRY["partition"](x, 2)
        z = (y * _arr(weights)).sum()
    z.backward()
    out = y.asnumpy()
    # the k-th slot holding a value receives the k-th input element holding it
    expected = numpy.zeros(5)
    for v in (1.0, 2.0, 3.0):
        expected[numpy.flatnonzero(x.asnumpy() == v)] = weights[numpy.flatnonzero(out == v)]
    numpy.testing.assert_array_equal(x.grad.asnumpy(), expected)
    check_grads(lambda a: REGISTRY["partition"](a, 2), [numpy.array([2.0, 1.0, 2.5, 1.5, 3.0])], order=2,
                modes=MODES)


def test_sort_forward_mode():
    x = numpy.random.default_rng(3).permutation(24).reshape(2, 3, 4) * 0.5
    for axis in (-1, 0, None):
        check_grads(lambda a: REGISTRY["sort"](a, axis), [x], order=2, modes=("fwd",))


def test_cross_2_vectors_warn_like_numpy_and_mixed_sizes_work():
    a, b = _x((4, 2)), _x((4, 3), 1)
    with pytest.warns(DeprecationWarning):
        got = REGISTRY["cross"](_arr(a), _arr(b))
    _same(got, _np_cross(a, b))  # NumPy's cross with the 2-vector padded (NumPy 2.5 refuses 2-vectors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        check_grads(lambda x, y: REGISTRY["cross"](x, y), [a, b], order=2, modes=MODES)


def test_cross_broadcasts_and_takes_axis_arguments():
    a, b = _x((3, 1, 4)), _x((5, 1, 3), 1)
    kw = dict(axisa=0, axisb=-1, axisc=0)
    _same(REGISTRY["cross"](_arr(a), _arr(b), **kw), numpy.cross(a, b, **kw))
    check_grads(lambda x, y: REGISTRY["cross"](x, y, **kw), [a, b], order=2, modes=MODES)


def test_kron_with_numbers_and_constants():
    x = _x((2, 3))
    check_grads(lambda a: REGISTRY["kron"](a, 2.5), [x], order=2, modes=MODES)
    check_grads(lambda a: REGISTRY["kron"](numpy.eye(2), a), [x], order=2, modes=MODES)
    _same(REGISTRY["kron"](_arr(x), 2.5), numpy.kron(x, 2.5))


@pytest.mark.parametrize("name,fn", [
    ("append", lambda a: REGISTRY["append"](a, 2.0)),
    ("append", lambda a: REGISTRY["append"](numpy.ones((1, 3)), a, axis=0)),
    ("concatenate", lambda a: REGISTRY["concatenate"]([numpy.ones((1, 3)), a])),
    ("stack", lambda a: REGISTRY["stack"]([a, numpy.ones((2, 3))], axis=-1)),
    ("vstack", lambda a: REGISTRY["vstack"]([a, [1.0, 2.0, 3.0]])),
    ("hstack", lambda a: REGISTRY["hstack"]([numpy.ones((2, 1)), a])),
    ("column_stack", lambda a: REGISTRY["column_stack"]([[1.0, 2.0], a])),
    ("dstack", lambda a: REGISTRY["dstack"]([a, numpy.zeros((2, 3))])),
    ("pad", lambda a: REGISTRY["pad"](a, 1, constant_values=3.0)),
])
def test_constant_operands_have_zero_tangents(name, fn):
    check_grads(fn, [_x((2, 3))], order=2, modes=MODES)


def test_errors_match_numpy():
    with pytest.raises(ValueError):
        REGISTRY["fliplr"](_arr(_x((3,))))
    with pytest.raises(ValueError):
        REGISTRY["flipud"](_arr(1.0))
    with pytest.raises(numpy.exceptions.AxisError):
        REGISTRY["rollaxis"](_arr(_x((2, 3))), 0, 4)
    with pytest.raises(ValueError):
        REGISTRY["rot90"](_arr(_x((2, 3))), 1, (0, 0))


def test_positional_numpy_style_calls():
    x = _x((2, 3, 4))
    for name, args in (("roll", (1, 2)), ("rollaxis", (2, 1)), ("rot90", (2, (1, 2))), ("partition", (1, 0)),
                       ("append", (x, 0)), ("cross", (_x((2, 3, 4), 1), 1, 1, 1))):
        got = REGISTRY[name](_arr(x), *[_arr(a) if isinstance(a, numpy.ndarray) else a for a in args])
        numpy.testing.assert_array_equal(got.asnumpy(), getattr(numpy, name)(x, *args))


def test_composites_on_the_pytorch_class():
    from tapegrad.torch import Tensor
    x, y = Tensor._make(_x((2, 3))), Tensor._make(_x((3,), 1))
    assert type(r_[x[0], y, 1:3]) is Tensor
    assert type(diff(x, prepend=0.0)) is Tensor
    check_grads(lambda a, b: r_[a[0], b, 0.0], [x, y], order=2)
    check_grads(lambda a: gradient(a, 0.5), [x], order=2)


# -- complex inputs (the HIPS/JAX convention: bilinear pairing, no conjugate) ----------------------

def _z(rng, *shape):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


COMPLEX = [
    ("kron", lambda a, b: REGISTRY["kron"](a, b), ((2, 3), (3, 2))),
    ("cross", lambda a, b: REGISTRY["cross"](a, b), ((4, 3), (4, 3))),
    ("roll", lambda a: REGISTRY["roll"](a, 1, 0), ((3, 2),)),
    ("rot90", lambda a: REGISTRY["rot90"](a, 1, (1, 2)), ((3, 2, 2),)),
    ("append", lambda a, b: REGISTRY["append"](a, b), ((3, 2), (2,))),
    ("partition", lambda a: REGISTRY["partition"](a, 2), ((5,),)),
    ("column_stack", lambda a, b: REGISTRY["column_stack"]([a, b]), ((3,), (3, 2))),
    ("dstack", lambda a, b: REGISTRY["dstack"]([a, b]), ((3,), (3,))),
    ("rollaxis", lambda a: REGISTRY["rollaxis"](a, 2), ((3, 2, 4),)),
    ("diff", lambda a: diff(a, 2, prepend=1j), ((3, 4),)),
    ("gradient", lambda a: gradient(a, 0.5, edge_order=2), ((5,),)),
    ("r_", lambda a, b: r_[a, 2.0, b], ((3,), (2,))),
    ("atleast_3d", lambda a: atleast_3d(a), ((3,),)),
]


@pytest.mark.parametrize("name,fn,shapes", COMPLEX, ids=[c[0] for c in COMPLEX])
def test_complex_inputs(name, fn, shapes):
    try:
        from test_complex import check_grads_complex  # the complex checker of tests/test_complex.py
    except ImportError:  # pragma: no cover
        pytest.skip("tests/test_complex.py's checker is not available")
    rng = numpy.random.default_rng(7)
    args = [_z(rng, *s) for s in shapes]
    ref = {"diff": lambda a: numpy.diff(a, 2, prepend=1j), "r_": lambda a, b: numpy.r_[a, 2.0, b],
           "gradient": lambda a: numpy.gradient(a, 0.5, edge_order=2)}.get(name)
    if ref is not None:
        _same(fn(*[ndarray._make(a) for a in args]), ref(*args))
    check_grads_complex(fn, args, order=2, modes=MODES)


@pytest.mark.parametrize("dtype", [numpy.float32, numpy.float64])
def test_gradients_keep_the_input_dtype(dtype):
    x = ndarray._make(_x((2, 3)).astype(dtype))
    y = ndarray._make(_x((2, 3), 1).astype(dtype))
    x.attach_grad()
    y.attach_grad()
    with autograd.record():
        parts = [REGISTRY["kron"](x, y), REGISTRY["cross"](x, y, axis=-1, axisa=0, axisb=0),
                 REGISTRY["partition"](x, 1), diff(x, prepend=0.5), gradient(x, 0.5, axis=1),
                 r_[x[0], y[1]], REGISTRY["append"](x, y), REGISTRY["roll"](y, 1)]
        z = sum((p * p).sum() for p in parts)
    z.backward()
    assert x.grad.dtype == dtype and y.grad.dtype == dtype
