"""The shape compositions (split family) and behaviour the generated sweep does not cover."""
from __future__ import annotations

import numpy
import pytest

from tapegrad import autograd
from tapegrad.ndarray import ndarray
from tapegrad.ops.registry import REGISTRY
from tapegrad.ops.shape import COMPOSITES, array_split, dsplit, hsplit, split, vsplit
from tapegrad.testing import check_grads


def _arr(x):
    return ndarray._make(numpy.asarray(x, dtype=numpy.float64))


def _x(shape, seed=0):
    return numpy.random.default_rng(seed).uniform(-2, 2, size=shape)


SPLITS = [
    (split, (6,), dict(indices_or_sections=3)),
    (split, (2, 6, 3), dict(indices_or_sections=2, axis=1)),
    (split, (4, 5), dict(indices_or_sections=[1, 3], axis=-1)),
    (split, (4, 5), dict(indices_or_sections=[2, 2, 9])),  # empty and clipped pieces
    (split, (5, 3), dict(indices_or_sections=[-2])),
    (array_split, (7,), dict(indices_or_sections=3)),
    (array_split, (2, 3, 7), dict(indices_or_sections=4, axis=-1)),
    (array_split, (2, 5), dict(indices_or_sections=numpy.array([1, 4]), axis=1)),
    (array_split, (3, 2), dict(indices_or_sections=5)),  # more sections than elements
    (hsplit, (3, 4), dict(indices_or_sections=2)),
    (hsplit, (6,), dict(indices_or_sections=[2])),
    (vsplit, (4, 3), dict(indices_or_sections=[1])),
    (dsplit, (2, 2, 6), dict(indices_or_sections=3)),
]


@pytest.mark.parametrize("fn,shape,params", SPLITS, ids=[f"{f.__name__}-{i}" for i, (f, _s, _p) in enumerate(SPLITS)])
def test_split_values(fn, shape, params):
    x = _x(shape)
    got = fn(_arr(x), **params)
    expected = getattr(numpy, fn.__name__)(x, **params)
    assert isinstance(got, list) and len(got) == len(expected)
    for g, e in zip(got, expected):
        assert isinstance(g, ndarray)
        assert g.shape == e.shape
        numpy.testing.assert_array_equal(g.asnumpy(), e)


@pytest.mark.parametrize("fn,shape,params", SPLITS, ids=[f"{f.__name__}-{i}" for i, (f, _s, _p) in enumerate(SPLITS)])
@pytest.mark.parametrize("layout", ["contiguous", "noncontiguous"])
def test_split_gradients(fn, shape, params, layout):
    x = _x(shape)
    if layout == "noncontiguous":
        buf = numpy.zeros(shape[:-1] + (2 * shape[-1],))
        buf[..., ::2] = x
        x = buf[..., ::2]
    check_grads(lambda a: tuple(fn(a, **params)), [_arr(x)], order=2)


def test_split_pieces_feed_one_gradient():
    x = _arr(_x((6, 2)))
    x.attach_grad()
    with autograd.record():
        a, b, c = split(x, 3)
        y = (a * 1.0).sum() + (c * 3.0).sum()
    y.backward()
    expected = numpy.zeros((6, 2))
    expected[:2] = 1.0
    expected[4:] = 3.0
    numpy.testing.assert_array_equal(x.grad.asnumpy(), expected)


def test_split_accepts_numpy_and_lists():
    parts = split(numpy.arange(6.0), 2)
    assert all(isinstance(p, ndarray) for p in parts)
    numpy.testing.assert_array_equal(parts[1].asnumpy(), [3.0, 4.0, 5.0])
    numpy.testing.assert_array_equal(array_split([1.0, 2.0, 3.0], 2)[0].asnumpy(), [1.0, 2.0])


def test_split_errors_match_numpy():
    x = _arr(_x((5, 4)))
    with pytest.raises(ValueError, match="equal division"):
        split(x, 2)
    with pytest.raises(ValueError, match="larger than 0"):
        array_split(x, 0)
    with pytest.raises(numpy.exceptions.AxisError):
        split(x, 2, axis=2)
    with pytest.raises(ValueError):
        vsplit(_arr(_x((4,))), 2)
    with pytest.raises(ValueError):
        dsplit(x, 2)
    with pytest.raises(ValueError):
        hsplit(_arr(1.0), 1)


def test_composites_are_listed_and_are_not_registry_ops():
    assert set(COMPOSITES) >= {"split", "array_split"}
    assert all(callable(f) for f in COMPOSITES.values())
    assert not set(COMPOSITES) & set(REGISTRY)


# -- registered ops: behaviour beyond the generated sweep ----------------------------------------

def test_concatenate_with_a_constant_input_routes_gradient_to_the_variable_only():
    x = _arr(_x((2, 3)))
    x.attach_grad()
    with autograd.record():
        y = REGISTRY["concatenate"]([numpy.ones((1, 3)), x], axis=0)
        z = (y * _arr(numpy.arange(9.0).reshape(3, 3))).sum()
    z.backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), numpy.arange(3.0, 9.0).reshape(2, 3))


def test_sort_ties_follow_numpy_stable_order():
    x = _arr([2.0, 1.0, 2.0, 1.0])
    x.attach_grad()
    with autograd.record():
        y = REGISTRY["sort"](x)
        z = (y * _arr([10.0, 20.0, 30.0, 40.0])).sum()
    z.backward()
    # Stable order: sorted = [x1, x3, x0, x2].
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [30.0, 10.0, 40.0, 20.0])


@pytest.mark.parametrize("mode", ["mean", "maximum", "linear_ramp", "empty"])
def test_pad_unsupported_modes_name_the_supported_ones(mode):
    with pytest.raises(NotImplementedError, match="constant, edge, reflect, symmetric, wrap"):
        REGISTRY["pad"](_arr(_x((3,))), 1, mode)


def test_pad_odd_reflect_is_refused():
    with pytest.raises(NotImplementedError):
        REGISTRY["pad"](_arr(_x((3,))), 1, "reflect", reflect_type="odd")


def test_pad_rejects_keywords_of_other_modes_like_numpy():
    with pytest.raises(ValueError):
        REGISTRY["pad"](_arr(_x((3,))), 1, "edge", constant_values=2.0)


@pytest.mark.parametrize("name", ["ravel", "flatten"])
def test_ravel_layout_orders_are_refused(name):
    with pytest.raises(NotImplementedError, match="'C' and 'F'"):
        REGISTRY[name](_arr(_x((2, 3))), "K")


def test_diagonal_result_is_writable():
    d = REGISTRY["diagonal"](_arr(_x((3, 3))))
    assert d._data.flags.writeable


def test_positional_numpy_style_calls():
    x = _x((2, 3))
    for name, args in (("tile", ((2, 1),)), ("repeat", (2, 1)), ("pad", (1, "edge")), ("flip", (1,)),
                       ("diagonal", (0, 1, 0)), ("tril", (-1,)), ("sort", (0,)), ("ravel", ("F",))):
        got = REGISTRY[name](_arr(x), *args)
        numpy.testing.assert_array_equal(got.asnumpy(), getattr(numpy, name)(x, *args))
