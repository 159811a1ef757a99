"""Broadcasting binary ops over shapes and values drawn by hypothesis: gradients against finite
differences in float64, to order 2."""
import numpy
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from tapegrad import np
from tapegrad.testing import check_grads

BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "hypot", "logaddexp", "arctan2", "power"]


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(BINARY),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_broadcasting_binary_gradients(name, shapes, seed):
    rng = numpy.random.default_rng(seed)
    a, b = (rng.uniform(0.5, 2.0, s) * rng.choice([-1, 1], s) for s in shapes.input_shapes)
    if name == "power":
        a = numpy.abs(a)  # real powers need a positive base
    if name in ("maximum", "minimum"):
        b = b + 0.3 * numpy.sign(b - a + 1e-12) * (numpy.abs(b - a) < 0.3)  # keep away from ties
    f = getattr(np, name)
    got = f(np.array(a, dtype="float64"), np.array(b, dtype="float64"))
    numpy.testing.assert_allclose(got.asnumpy(), getattr(numpy, name)(a, b), rtol=1e-12)
    check_grads(f, [a, b], order=2)


@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data())
def test_sum_and_mean_over_any_axes(shape, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True, max_size=len(shape)))
    keepdims = data.draw(st.booleans())
    x = numpy.random.default_rng(len(shape)).standard_normal(shape)
    axis = tuple(axes) if axes else None
    for name in ("sum", "mean"):
        f = getattr(np, name)
        numpy.testing.assert_allclose(f(np.array(x, dtype="float64"), axis=axis, keepdims=keepdims).asnumpy(),
                                      getattr(numpy, name)(x, axis=axis, keepdims=keepdims), rtol=1e-12)
        check_grads(lambda v: f(v, axis=axis, keepdims=keepdims), [x], order=2)
