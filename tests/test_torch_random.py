"""tapegrad.torch._random: PyTorch's CPU generator (mt19937 + ATen's CPU sampling kernels) over NumPy.

The literal expectations below were printed by PyTorch 2.13.0 (x86-64 CPU build, AVX2 kernels) after the
stated ``torch.manual_seed``; float32 values are compared bit for bit.
"""
from fractions import Fraction

import numpy as onp
import pytest

from tapegrad.torch import _random as R
from tapegrad.torch._random import Generator


def f32(values):
    return onp.array(values, dtype=onp.float32)


# --------------------------------------------------------------------------------------------------
# values printed by PyTorch
# --------------------------------------------------------------------------------------------------

def test_scalar_normal_path_matches_torch_to_four_decimals():
    g = R.manual_seed(0)
    assert g is R.default_generator
    a = g.normal((3,))
    b = g.normal((2, 2))
    assert a.shape == (3,) and b.shape == (2, 2) and a.dtype == onp.float32
    onp.testing.assert_array_equal(onp.round(a, 4), f32([1.5410, -0.2934, -2.1788]))
    onp.testing.assert_array_equal(onp.round(b, 4), f32([[0.5684, -1.0845], [-1.3986, 0.4033]]))
    # and bit for bit
    onp.testing.assert_array_equal(a, f32([1.5409960746765137, -0.293428897857666, -2.1787893772125244]))
    onp.testing.assert_array_equal(b, f32([[0.5684312582015991, -1.0845223665237427],
                                          [-1.3985954523086548, 0.40334683656692505]]))


def test_stream_after_seed_zero_matches_torch():
    """randn(4, 5) (the 16-element kernel plus a redrawn tail), then rand, randint, randperm, float64."""
    g = Generator(0)
    onp.testing.assert_array_equal(g.normal((4, 5)), f32([
        [-1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0.5988394618034363],
        [-1.5550950765609741, -0.3413603901863098, 1.85300612449646, 0.46809640526771545, -0.1577124446630478],
        [1.4436601400375366, 0.26604941487312317, 1.3893661499023438, 1.586334228515625, 0.946298360824585],
        [-0.843676745891571, 0.9318265914916992, 1.2590092420578003, 2.0049805641174316, 0.05373690277338028]]))
    onp.testing.assert_array_equal(g.uniform((5,)), f32([0.20812976360321045, 0.9297990202903748,
                                                        0.7231091856956482, 0.7423362731933594,
                                                        0.5262957811355591]))
    onp.testing.assert_array_equal(g.randint(0, 10, (8,)), [3, 6, 9, 1, 7, 3, 5, 2])
    onp.testing.assert_array_equal(g.randperm(10), [1, 5, 3, 6, 0, 2, 4, 9, 8, 7])
    d = g.normal((17,), dtype=onp.float64)
    assert d.dtype == onp.float64
    onp.testing.assert_array_equal(d[:3], [-0.7135753396468577, 0.36904473680395194, -0.1872021932975887])


def test_stream_after_seed_42_matches_torch():
    g = Generator(42)
    onp.testing.assert_array_equal(g.normal((33,), -1.5, 0.01)[[0, 1, 15, 16, 32]],
                                   f32([-1.4807308912277222, -1.4851272106170654, -1.4923754930496216,
                                        -1.483576774597168, -1.5141805410385132]))
    onp.testing.assert_array_equal(g.uniform((6,), -2.3, 5.9), f32([
        -0.6989707350730896, -2.25862455368042, 0.21592183411121368, -1.344793677330017, 5.164209365844727,
        2.980928421020508]))
    onp.testing.assert_array_equal(g.bernoulli(0.3, (10,)), f32([0, 0, 1, 1, 0, 1, 0, 0, 0, 0]))
    probs = f32([0.1, 0.2, 0.3, 0.4])
    onp.testing.assert_array_equal(g.multinomial(probs, 2), [3, 2])
    onp.testing.assert_array_equal(g.multinomial(probs, 6, replacement=True), [2, 0, 3, 1, 3, 3])
    onp.testing.assert_array_equal(g.randint(0, 2 ** 28, (3,)), [200619113, 257072949, 137802430])
    assert int(g.random_((), onp.int64)) == 6314039607091469017
    # F.dropout(ones(2, 8), 0.5) = ones * bernoulli_(1 - 0.5) / (1 - 0.5)
    mask = g.bernoulli(0.5, (2, 8)) / onp.float32(0.5)
    onp.testing.assert_array_equal(mask, f32([[2, 2, 0, 2, 0, 2, 0, 2], [0, 0, 2, 0, 0, 2, 2, 0]]))


def test_large_normal_matches_torch():
    g = Generator(3)
    a = g.normal((1000,))
    b = g.normal((1000,))
    onp.testing.assert_array_equal(a[:4], f32([-0.07664429396390915, 0.35988152027130127, -0.7820168137550354,
                                               0.07152773439884186]))
    onp.testing.assert_array_equal(b[-3:], f32([0.9769896864891052, 1.0658904314041138, -0.6765598058700562]))


# --------------------------------------------------------------------------------------------------
# seeding, state and stream bookkeeping
# --------------------------------------------------------------------------------------------------

def test_default_generator_and_seeds():
    assert R.DEFAULT_SEED == 67280421310721
    assert Generator().initial_seed() == 67280421310721
    g = Generator(5)
    assert g.initial_seed() == 5
    assert Generator(-1).initial_seed() == 2 ** 64 - 1           # two's complement, as torch
    # only the low 32 bits reach the engine
    onp.testing.assert_array_equal(Generator(2 ** 32 + 7).normal((20,)), Generator(7).normal((20,)))
    with pytest.raises(RuntimeError):
        Generator(2 ** 64)
    s = g.seed()
    assert 0 <= s < 2 ** 64 and g.initial_seed() == s
    R.manual_seed(11)
    assert R.initial_seed() == 11
    x = R.default_generator.normal((4,))
    R.manual_seed(11)
    onp.testing.assert_array_equal(R.default_generator.normal((4,)), x)


def test_reseeding_reproduces_every_draw():
    def draws(g):
        return [g.normal((5,)), g.normal((40,)), g.uniform((7,)), g.randint(-3, 3, (9,)), g.randperm(12),
                g.bernoulli(0.4, (6,)), g.multinomial(f32([1, 2, 3]), 2), g.exponential((3,)),
                g.normal((3,), dtype=onp.float64), g.random_((2,))]
    g = Generator(123)
    first = draws(g)
    g.manual_seed(123)
    for a, b in zip(first, draws(g)):
        onp.testing.assert_array_equal(a, b)


def test_manual_seed_clears_the_cached_normal():
    g = Generator(0)
    g.normal((1,))                   # leaves r*sin(theta) cached
    g.manual_seed(0)
    onp.testing.assert_array_equal(g.normal((1,)), f32([1.5409960746765137]))


def test_stream_continues_across_calls():
    g = Generator(9)
    whole = g.normal((6,))
    g.manual_seed(9)
    parts = onp.concatenate([g.normal((1,)), g.normal((2,)), g.normal((3,))])
    onp.testing.assert_array_equal(whole, parts)  # the Box-Muller cache carries the odd value over
    # uniform draws consume one word each, so they split anywhere
    g.manual_seed(9)
    u = g.uniform((10,))
    g.manual_seed(9)
    onp.testing.assert_array_equal(u, onp.concatenate([g.uniform((4,)), g.uniform((6,))]))


def test_word_consumption():
    """How many 32-bit words each kernel takes, checked through the next uniform."""
    def after(fn):
        g = Generator(1)
        fn(g)
        return g.uniform((1,))[0]

    ref = Generator(1)
    words = (ref._words(200) & onp.uint64(0xFFFFFF)).astype(onp.float32) * onp.float32(2.0 ** -24)
    assert after(lambda g: g.normal((17,))) == words[17 + 16]          # n + 16 for a ragged tail
    assert after(lambda g: g.normal((32,))) == words[32]
    assert after(lambda g: g.normal((40,), dtype=onp.float16)) == words[32 + 16]  # per-block buffer
    assert after(lambda g: g.normal((3,))) == words[8]                 # two Box-Muller pairs
    assert after(lambda g: g.normal((5,), dtype=onp.float64)) == words[12]
    assert after(lambda g: g.uniform((5,), dtype=onp.float64)) == words[10]
    assert after(lambda g: g.randint(0, 2 ** 28 - 1, (6,))) == words[6]
    assert after(lambda g: g.randint(0, 2 ** 28, (3,))) == words[6]
    assert after(lambda g: g.randperm(20)) == words[19]
    assert after(lambda g: g.bernoulli(0.5, (4,))) == words[8]
    assert after(lambda g: g.bernoulli(f32([0.5] * 4))) == words[4]
    assert after(lambda g: g.multinomial(f32([1, 1, 1]), 1)) == words[6]


def test_state_round_trip():
    g = Generator(4)
    g.normal((1,))
    state = g.get_state()
    a = [g.normal((3,)), g.randperm(5)]
    g.set_state(state)
    b = [g.normal((3,)), g.randperm(5)]
    for x, y in zip(a, b):
        onp.testing.assert_array_equal(x, y)
    R.manual_seed(2)
    st = R.get_rng_state()
    x = R.default_generator.uniform((3,))
    R.set_rng_state(st)
    onp.testing.assert_array_equal(R.default_generator.uniform((3,)), x)


# --------------------------------------------------------------------------------------------------
# shapes, dtypes, statistics, bounds
# --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(), (0,), (1,), (15,), (16,), (17,), (3, 5, 7), (64, 64)])
@pytest.mark.parametrize("dtype", [onp.float32, onp.float64, onp.float16])
def test_shapes_and_dtypes(shape, dtype):
    g = Generator(0)
    for out in (g.normal(shape, dtype=dtype), g.uniform(shape, dtype=dtype), g.exponential(shape, dtype=dtype)):
        assert out.shape == shape and out.dtype == dtype
    assert g.randint(0, 5, shape).dtype == onp.int64 and g.randint(0, 5, shape).shape == shape
    assert g.randint(0, 5, shape, dtype=onp.int32).dtype == onp.int32
    assert g.bernoulli(0.5, shape).dtype == onp.float32 and g.bernoulli(0.5, shape).shape == shape


@pytest.mark.parametrize("dtype", [onp.float32, onp.float64])
@pytest.mark.parametrize("simd", ["avx2", "scalar"])
def test_vectorised_normal_statistics(dtype, simd):
    g = Generator(2024)
    z = g.normal((300_001,), 2.0, 3.0, dtype=dtype, simd=simd)
    assert z.dtype == dtype and onp.isfinite(z).all()
    assert abs(float(z.mean()) - 2.0) < 0.03 and abs(float(z.std()) - 3.0) < 0.03
    # the pairs (j, j+8) are cos/sin of one angle: uncorrelated
    blocks = z[: (len(z) // 16) * 16].reshape(-1, 16).astype(onp.float64)
    assert abs(onp.corrcoef(blocks[:, 0], blocks[:, 8])[0, 1]) < 0.02


def test_avx2_kernel_agrees_with_libm_and_without_fma():
    u = Generator(5).uniform((20_000,)).reshape(-1, 16)
    fused = R._normal_fill_16_avx2(u, 0.0, 1.0, True)
    plain = R._normal_fill_16_avx2(u, 0.0, 1.0, False)
    libm = R._normal_fill_16_scalar(u, 0.0, 1.0)
    assert onp.max(onp.abs(fused - libm)) < 1e-5
    assert onp.max(onp.abs(fused - plain)) < 1e-5
    assert (fused != plain).any()  # contraction is visible in the last bit
    x = onp.linspace(0.01, 1.0, 1000, dtype=onp.float32)
    onp.testing.assert_allclose(R._log256_ps(x), onp.log(x), rtol=3e-7, atol=3e-7)
    t = onp.linspace(0.0, 6.3, 1000, dtype=onp.float32)
    s, c = R._sincos256_ps(t)
    onp.testing.assert_allclose(s, onp.sin(t), atol=3e-7)
    onp.testing.assert_allclose(c, onp.cos(t), atol=3e-7)


def test_fma32_is_correctly_rounded_including_double_rounding_ties():
    a = f32([1 + 2 ** -18] * 4 + [-(1 + 2 ** -18)] * 4)
    b = f32([2 ** -24 * (1 - 2 ** -18)] * 8)
    c = f32([1 + 2 ** -23, 1.0, 1 + 3 * 2 ** -23, -(1 + 2 ** -23)] * 2)
    got = R._fma32(a, b, c)
    for ai, bi, ci, ri in zip(a, b, c, got):
        exact = Fraction(float(ai)) * Fraction(float(bi)) + Fraction(float(ci))
        lo = onp.nextafter(ri, onp.float32(-onp.inf))
        hi = onp.nextafter(ri, onp.float32(onp.inf))
        assert abs(Fraction(float(ri)) - exact) <= min(abs(Fraction(float(lo)) - exact),
                                                      abs(Fraction(float(hi)) - exact))
    # a case where rounding a*b+c in double first and then to float gives the wrong neighbour
    assert R._fma32(a[:1], b[:1], c[:1])[0] != onp.float32(float(a[0]) * float(b[0]) + float(c[0]))


def test_uniform_bounds_and_statistics():
    g = Generator(8)
    u = g.uniform((200_000,), -2.0, 3.0)
    assert u.min() >= -2.0 and u.max() < 3.0
    assert abs(float(u.mean()) - 0.5) < 0.02
    h = g.uniform((10_000,), dtype=onp.float16)
    assert h.min() >= 0 and h.max() < 1
    with pytest.raises(RuntimeError):
        g.uniform((2,), 1.0, 0.0)


def test_randint_bounds():
    g = Generator(0)
    r = g.randint(3, 7, (10_000,))
    assert r.dtype == onp.int64 and set(onp.unique(r).tolist()) == {3, 4, 5, 6}
    r = g.randint(-(2 ** 40), 2 ** 40, (1000,))
    assert r.min() >= -(2 ** 40) and r.max() < 2 ** 40 and r.min() < 0 < r.max()
    assert set(onp.unique(g.randint(5, shape=(1000,))).tolist()) == {0, 1, 2, 3, 4}
    b = g.randint(0, 2, (100,), dtype=bool)
    assert b.dtype == bool and b.any() and not b.all()
    f = g.randint(0, 2 ** 33, (100,), dtype=onp.float32)   # to moves down to a float32-representable bound
    assert f.dtype == onp.float32 and f.max() < 2 ** 33
    with pytest.raises(RuntimeError):
        g.randint(5, 5, (1,))
    with pytest.raises(RuntimeError):
        g.randint(0, 300, (1,), dtype=onp.int8)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1000, 60_000])
def test_randperm_is_a_permutation(n):
    p = Generator(n).randperm(n)
    assert p.dtype == onp.int64 and p.shape == (n,)
    onp.testing.assert_array_equal(onp.sort(p), onp.arange(n))


def test_randperm_is_uniform_over_small_permutations():
    g = Generator(1)
    counts = {}
    for _ in range(6000):
        key = tuple(g.randperm(3).tolist())
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 6 and min(counts.values()) > 850


def test_bernoulli_scalar_and_tensor_probabilities():
    g = Generator(6)
    m = g.bernoulli(0.25, (100_000,))
    assert set(onp.unique(m).tolist()) <= {0.0, 1.0} and abs(float(m.mean()) - 0.25) < 0.01
    p = onp.linspace(0, 1, 11).astype(onp.float32)
    out = g.bernoulli(onp.tile(p, (5000, 1)))
    assert out.dtype == onp.float32 and out.shape == (5000, 11)
    onp.testing.assert_allclose(out.mean(axis=0), p, atol=0.03)
    assert out[:, 0].sum() == 0 and out[:, -1].all()
    assert g.bernoulli(p, (4, 11)).shape == (4, 11)           # broadcast p
    assert g.bernoulli(p.astype(onp.float64)).dtype == onp.float64
    with pytest.raises(RuntimeError):
        g.bernoulli(1.5, (2,))


def test_multinomial():
    g = Generator(10)
    probs = f32([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    one = g.multinomial(probs, 1)
    assert one.shape == (2, 1) and one.dtype == onp.int64 and one[0, 0] == 1 and one[1, 0] in (0, 2)
    no_rep = g.multinomial(f32([1, 2, 3, 4, 5]), 5)
    assert sorted(no_rep.tolist()) == [0, 1, 2, 3, 4]
    rep = g.multinomial(f32([1.0, 3.0]), 40_000, replacement=True)
    assert abs(float(rep.mean()) - 0.75) < 0.01
    rows = g.multinomial(onp.ones((3, 4), dtype=onp.float64), 2)
    assert rows.shape == (3, 2) and all(len(set(r)) == 2 for r in rows.tolist())
    with pytest.raises(RuntimeError):
        g.multinomial(f32([1, 2]), 3)
    with pytest.raises(RuntimeError):
        g.multinomial(f32([0, 0]), 1)
    with pytest.raises(RuntimeError):
        g.multinomial(f32([-1, 2]), 1)


def test_exponential_statistics():
    q = Generator(12).exponential((200_000,), 2.0)
    assert q.min() >= 0 and abs(float(q.mean()) - 0.5) < 0.01
