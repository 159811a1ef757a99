"""np.random: MXNet's seeded streams for normal/uniform, NumPy-backed draws for the rest."""
import numpy as onp
import pytest

from tapegrad import np, npx


def test_seed_makes_draws_repeat():
    for fn in (lambda: np.random.normal(size=(5,)), lambda: np.random.uniform(size=(5,)),
               lambda: np.random.randn(2, 3), lambda: np.random.rand(4), lambda: np.random.randint(0, 10, size=(6,)),
               lambda: np.random.choice(5, size=3), lambda: np.random.permutation(6),
               lambda: np.random.multinomial(10, [0.2, 0.3, 0.5])):
        np.random.seed(3)
        a = fn().asnumpy()
        np.random.seed(3)
        onp.testing.assert_array_equal(a, fn().asnumpy())


def test_mxnet_stream_continues_across_calls():
    npx.random.seed(0)
    a = np.random.normal(size=(3,))
    b = np.random.normal(size=(4,))
    onp.testing.assert_allclose(a.asnumpy(), [2.2122064, 1.1630787, 0.7740038], rtol=1e-6)
    onp.testing.assert_allclose(b.asnumpy(), [1.0434405, 0.29956347, 1.1839255, 0.15302546], rtol=1e-6)


def test_normal_statistics_and_dtypes():
    np.random.seed(1)
    z = np.random.normal(2.0, 3.0, size=(200_000,))
    assert z.dtype == onp.float32
    assert abs(float(z.mean()) - 2.0) < 0.03 and abs(float(z.std()) - 3.0) < 0.03
    u = np.random.uniform(-1, 1, size=(100_000,), dtype="float64")
    assert u.dtype == onp.float64 and -1 <= float(u.min()) and float(u.max()) < 1
    assert np.random.normal().shape == ()


def test_integer_and_permutation_draws():
    np.random.seed(0)
    r = np.random.randint(3, 7, size=(1000,))
    assert r.dtype == onp.int64 and set(onp.unique(r.asnumpy())) <= {3, 4, 5, 6}
    p = np.random.permutation(10).asnumpy()
    assert sorted(p.tolist()) == list(range(10))
    x = np.arange(10.0)
    buf = x._data
    np.random.shuffle(x)
    assert x._data is buf and sorted(x.asnumpy().tolist()) == list(range(10))
    m = np.random.multinomial(100, [0.5, 0.5], size=4)
    assert m.shape == (4, 2) and (m.asnumpy().sum(axis=1) == 100).all()
    c = np.random.choice(onp.array([1.0, 2.0]), size=(3,), p=[0.0, 1.0])
    onp.testing.assert_array_equal(c.asnumpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("n", [1, 2, 3, 64, 1001])
def test_normal_sizes(n):
    np.random.seed(5)
    assert np.random.normal(size=n).shape == (n,)
