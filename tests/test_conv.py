"""Convolution and pooling (npx.convolution, npx.pooling, torch.nn.functional.conv2d/max_pool2d/avg_pool2d):
values worked out by hand, gradients against central differences to order 2 in both modes, the PyTorch
dialect's arguments and errors, and the modules. The generated sweep (tests/test_ops.py) checks every
sample against naive loops as well."""
from __future__ import annotations

import numpy
import pytest

import tapegrad.torch as torch
import tapegrad.torch.nn as nn
import tapegrad.torch.nn.functional as F
from tapegrad import autograd, np, npx
from tapegrad.ops.conv import _np_conv, _np_pooling
from tapegrad.testing import check_grads


def a64(x):
    return np.array(numpy.asarray(x, dtype=numpy.float64))


def t64(x, requires_grad=False):
    return torch.tensor(numpy.asarray(x, dtype=numpy.float64), dtype=torch.float64, requires_grad=requires_grad)


def grads(f, *arrays):
    """Reverse-mode gradients of the scalar ``f(*arrays)`` with respect to every array."""
    xs = [a64(a) for a in arrays]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        y = f(*xs)
    y.backward()
    return [x.grad.asnumpy() for x in xs]


X33 = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
X44 = numpy.arange(16.0).reshape(1, 1, 4, 4)


# --- convolution: values by hand ---------------------------------------------------------------


def test_convolution_sums_each_window():
    out = npx.convolution(a64(X44), a64(numpy.ones((1, 1, 2, 2))), a64([1.0]), kernel=(2, 2), num_filter=1)
    # window sum x[i,j] + x[i,j+1] + x[i+1,j] + x[i+1,j+1] = 16 i + 4 j + 10, plus the bias
    numpy.testing.assert_array_equal(out.asnumpy(), [[[[11, 15, 19], [27, 31, 35], [43, 47, 51]]]])


def test_convolution_is_a_cross_correlation_with_stride_and_padding():
    x = a64([[X33]])
    w = a64([[[[1.0, 2.0], [3.0, 4.0]]]])
    out = npx.convolution(x, w, kernel=(2, 2), stride=(2, 2), pad=(1, 1), num_filter=1, no_bias=True)
    # windows start at rows/cols -1 and 1: 1*4 | 2*3+3*4 / 4*2+7*4 | 5*1+6*2+8*3+9*4
    numpy.testing.assert_array_equal(out.asnumpy(), [[[[4, 18], [36, 77]]]])


def test_convolution_dilation_channels_and_filters():
    x = numpy.stack([numpy.arange(25.0).reshape(5, 5), numpy.ones((5, 5))])[None]  # (1, 2, 5, 5)
    w = numpy.zeros((2, 2, 2, 2))
    w[0, 0] = 1.0   # filter 0: the dilated 2x2 corners of channel 0
    w[1, 1] = 0.5   # filter 1: half the corners of channel 1 (all ones)
    out = npx.convolution(a64(x), a64(w), kernel=(2, 2), dilate=(2, 2), num_filter=2).asnumpy()
    i, j = numpy.indices((3, 3))
    # x[i,j] + x[i,j+2] + x[i+2,j] + x[i+2,j+2] with x[i,j] = 5 i + j
    numpy.testing.assert_array_equal(out[0, 0], 20 * i + 4 * j + 24)
    numpy.testing.assert_array_equal(out[0, 1], numpy.full((3, 3), 2.0))


def test_convolution_groups_keep_channels_apart():
    x = numpy.stack([numpy.ones((3, 3)), 10 * numpy.ones((3, 3))])[None]
    w = numpy.ones((2, 1, 3, 3))
    out = npx.convolution(a64(x), a64(w), kernel=(3, 3), num_filter=2, num_group=2).asnumpy()
    numpy.testing.assert_array_equal(out.reshape(-1), [9.0, 90.0])


def test_convolution_1d_and_3d():
    x = numpy.arange(6.0).reshape(1, 1, 6)
    out = npx.convolution(a64(x), a64([[[1.0, -1.0]]]), kernel=(2,), stride=(2,), num_filter=1).asnumpy()
    numpy.testing.assert_array_equal(out, [[[-1.0, -1.0, -1.0]]])
    x3 = numpy.ones((1, 1, 2, 3, 4))
    out3 = npx.convolution(a64(x3), a64(numpy.ones((1, 1, 2, 2, 2))), kernel=(2, 2, 2), pad=(0, 1, 0)).asnumpy()
    assert out3.shape == (1, 1, 1, 4, 3)
    numpy.testing.assert_array_equal(out3[0, 0, 0, :, 0], [4.0, 8.0, 8.0, 4.0])


def test_convolution_takes_mxnet_keywords():
    rng = numpy.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    expected = _np_conv(x, w, b, stride=(2, 2), pad=(1, 1))
    got = npx.convolution(data=a64(x), weight=a64(w), bias=a64(b), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                          num_filter=4)
    numpy.testing.assert_allclose(got.asnumpy(), expected, rtol=1e-12)
    no_bias = npx.convolution(a64(x), a64(w), a64(b), kernel=(3, 3), num_filter=4, no_bias=True)
    numpy.testing.assert_allclose(no_bias.asnumpy(), _np_conv(x, w), rtol=1e-12)
    none_bias = npx.convolution(a64(x), a64(w), None, kernel=(3, 3), num_filter=4)
    numpy.testing.assert_allclose(none_bias.asnumpy(), _np_conv(x, w), rtol=1e-12)


def test_convolution_float32_stays_float32_and_matches_float64():
    rng = numpy.random.default_rng(1)
    x, w, b = rng.standard_normal((4, 3, 9, 9)), rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)
    x32, w32, b32 = (np.array(a.astype(numpy.float32)) for a in (x, w, b))
    for p in (x32, w32, b32):
        p.attach_grad()
    with autograd.record():
        y = npx.convolution(x32, w32, b32, kernel=(3, 3), pad=(1, 1), num_filter=5)
        loss = (y * y).sum()
    loss.backward()
    assert y.dtype == numpy.float32 and x32.grad.dtype == numpy.float32 and w32.grad.dtype == numpy.float32
    numpy.testing.assert_allclose(y.asnumpy(), _np_conv(x, w, b, pad=(1, 1)), rtol=1e-4, atol=1e-4)
    gx, gw, gb = grads(lambda x, w, b: (npx.convolution(x, w, b, kernel=(3, 3), pad=(1, 1)) ** 2).sum(), x, w, b)
    numpy.testing.assert_allclose(x32.grad.asnumpy(), gx, rtol=1e-4, atol=1e-3)
    numpy.testing.assert_allclose(w32.grad.asnumpy(), gw, rtol=1e-4, atol=1e-3)
    numpy.testing.assert_allclose(b32.grad.asnumpy(), gb, rtol=1e-4, atol=1e-3)


def test_convolution_gradients_by_hand():
    # y = sum(conv(x, w)) with a 2x2 kernel on 3x3: dy/dw[a, b] = sum of the 2x2 block of x at (a, b),
    # dy/dx[i, j] = sum of the weights that touch (i, j)
    x = [[X33]]
    w = [[[[1.0, 2.0], [3.0, 4.0]]]]
    gx, gw = grads(lambda x, w: npx.convolution(x, w, kernel=(2, 2)).sum(), x, w)
    numpy.testing.assert_array_equal(gw[0, 0], [[12.0, 16.0], [24.0, 28.0]])
    numpy.testing.assert_array_equal(gx[0, 0], [[1.0, 3.0, 2.0], [4.0, 10.0, 6.0], [3.0, 7.0, 4.0]])


def test_convolution_errors():
    x, w = a64(numpy.ones((1, 2, 5, 5))), a64(numpy.ones((3, 2, 3, 3)))
    with pytest.raises(ValueError, match="num_filter"):
        npx.convolution(x, w, kernel=(3, 3), num_filter=4)
    with pytest.raises(ValueError, match="does not match"):
        npx.convolution(x, w, kernel=(2, 2))
    with pytest.raises(ValueError, match="channels"):
        npx.convolution(a64(numpy.ones((1, 3, 5, 5))), w, kernel=(3, 3))
    with pytest.raises(ValueError, match="larger than"):
        npx.convolution(a64(numpy.ones((1, 2, 2, 2))), w, kernel=(3, 3))
    with pytest.raises(NotImplementedError, match="NCHW"):
        npx.convolution(x, w, kernel=(3, 3), layout="NHWC")
    with pytest.raises(ValueError, match="3, 4 or 5 dimensions"):
        npx.convolution(a64(numpy.ones((2, 5))), a64(numpy.ones((1, 2))), kernel=(2,))


# --- pooling: values by hand -------------------------------------------------------------------


def test_max_and_average_pooling_by_hand():
    x = a64(X44)
    numpy.testing.assert_array_equal(npx.pooling(x, kernel=(2, 2), stride=(2, 2)).asnumpy(), [[[[5, 7], [13, 15]]]])
    numpy.testing.assert_array_equal(npx.pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg").asnumpy(),
                                     [[[[2.5, 4.5], [10.5, 12.5]]]])
    numpy.testing.assert_array_equal(npx.pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="sum").asnumpy(),
                                     [[[[10, 18], [42, 50]]]])
    numpy.testing.assert_array_equal(npx.pooling(a64([[X33]]), kernel=(2, 2)).asnumpy(), [[[[5, 6], [8, 9]]]])
    numpy.testing.assert_array_equal(npx.pooling(x, global_pool=True).asnumpy(), [[[[15.0]]]])
    numpy.testing.assert_array_equal(npx.pooling(x, global_pool=True, pool_type="avg").asnumpy(), [[[[7.5]]]])


def test_pooling_padding():
    x = a64([[[[1.0, 2.0], [3.0, 4.0]]]])
    # every 3x3 window of the 1-padded 2x2 input covers all four values
    inc = npx.pooling(x, kernel=(3, 3), pad=(1, 1), pool_type="avg").asnumpy()
    numpy.testing.assert_allclose(inc, numpy.full((1, 1, 2, 2), 10 / 9))
    exc = npx.pooling(x, kernel=(3, 3), pad=(1, 1), pool_type="avg", count_include_pad=False).asnumpy()
    numpy.testing.assert_allclose(exc, numpy.full((1, 1, 2, 2), 2.5))
    # max pooling pads with -inf: negative inputs are not replaced by a padding zero
    neg = npx.pooling(-x, kernel=(2, 2), pad=(1, 1), stride=(2, 2)).asnumpy()
    numpy.testing.assert_array_equal(neg, [[[[-1.0, -2.0], [-3.0, -4.0]]]])


def test_max_pool_gradient_goes_to_the_first_maximum():
    (g,) = grads(lambda x: npx.pooling(x, kernel=(2, 2), stride=(2, 2)).sum(), [[[[1.0, 3.0], [3.0, 2.0]]]])
    numpy.testing.assert_array_equal(g, [[[[0.0, 1.0], [0.0, 0.0]]]])
    (g,) = grads(lambda x: npx.pooling(x, kernel=(2, 2), stride=(2, 2)).sum(), numpy.zeros((1, 1, 2, 2)))
    numpy.testing.assert_array_equal(g, [[[[1.0, 0.0], [0.0, 0.0]]]])
    # overlapping windows add up at a shared maximum
    (g,) = grads(lambda x: npx.pooling(x, kernel=(2, 2)).sum(), [[X33]])
    numpy.testing.assert_array_equal(g, [[[[0, 0, 0], [0, 1, 1], [0, 1, 1]]]])
    (g,) = grads(lambda x: npx.pooling(x, kernel=(3, 3), pad=(1, 1)).sum(), [[X33]])
    numpy.testing.assert_array_equal(g, [[[[0, 0, 0], [0, 1, 2], [0, 2, 4]]]])
    (g,) = grads(lambda x: npx.pooling(x, global_pool=True).sum(), [[[[1.0, 4.0], [4.0, 2.0]]]])
    numpy.testing.assert_array_equal(g, [[[[0.0, 1.0], [0.0, 0.0]]]])


def test_average_pool_gradient_spreads_evenly():
    (g,) = grads(lambda x: npx.pooling(x, kernel=(2, 2), pool_type="avg").sum(), [[X33]])
    numpy.testing.assert_array_equal(g, [[[[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]]]])
    (g,) = grads(lambda x: npx.pooling(x, kernel=(3, 3), pad=(1, 1), pool_type="avg",
                                       count_include_pad=False).sum(), [[[[1.0, 2.0], [3.0, 4.0]]]])
    numpy.testing.assert_allclose(g, numpy.ones((1, 1, 2, 2)))  # 4 windows, each dividing by 4


def test_pooling_returns_a_new_buffer():
    x = a64(X44)
    y = npx.pooling(x, kernel=(1, 1))
    y[...] = 0
    assert float(x.asnumpy().sum()) == 120.0


def test_pooling_matches_loops_in_float32():
    rng = numpy.random.default_rng(2)
    x = rng.standard_normal((3, 4, 9, 8))
    for p in (dict(kernel=(2, 2), stride=(2, 2)), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
              dict(kernel=(3, 2), stride=(1, 2), pad=(1, 0), pool_type="avg"),
              dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", count_include_pad=False)):
        got = npx.pooling(np.array(x.astype(numpy.float32)), **p)
        assert got.dtype == numpy.float32
        numpy.testing.assert_allclose(got.asnumpy(), _np_pooling(x, **p), rtol=1e-5, atol=1e-6)


def test_pooling_errors():
    x = a64(numpy.ones((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="kernel is required"):
        npx.pooling(x)
    with pytest.raises(NotImplementedError, match="lp"):
        npx.pooling(x, kernel=(2, 2), pool_type="lp")
    with pytest.raises(NotImplementedError, match="pooling_convention"):
        npx.pooling(x, kernel=(2, 2), pooling_convention="full")
    with pytest.raises(ValueError, match="larger than"):
        npx.pooling(x, kernel=(5, 5))


# --- derivatives to order 2, forward and reverse ------------------------------------------------


def _rand(rng, *shape):
    return a64(rng.uniform(-1, 1, size=shape))


def test_conv_pool_chain_second_order():
    rng = numpy.random.default_rng(3)
    x, w, b = _rand(rng, 2, 2, 6, 6), _rand(rng, 3, 2, 3, 3), _rand(rng, 3)

    def f(x, w, b):
        h = np.tanh(npx.convolution(x, w, b, kernel=(3, 3), pad=(1, 1), num_filter=3))
        return npx.pooling(h, kernel=(2, 2), stride=(2, 2))

    check_grads(f, [x, w, b], order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("params", [dict(stride=(1, 1), pad=(0, 0)), dict(stride=(2, 2), pad=(1, 1)),
                                    dict(stride=(2, 1), pad=(1, 0), dilate=(1, 2))])
def test_conv_bilinear_second_order(params):
    """sum(conv(x, w) ** 2) has mixed second derivatives in x and w: the adjoints' own VJPs and JVPs."""
    rng = numpy.random.default_rng(4)
    x, w = _rand(rng, 2, 2, 5, 5), _rand(rng, 2, 2, 3, 3)
    check_grads(lambda x, w: (npx.convolution(x, w, kernel=(3, 3), **params) ** 2).sum(), [x, w], order=2,
                modes=("fwd", "rev"))
    check_grads(lambda x, w: npx.convolution(npx.convolution(x, w, kernel=(3, 3), **params), w[:, :2], kernel=(3, 3),
                                             pad=(1, 1)), [x, w], order=2, modes=("fwd", "rev"))


def test_conv_third_order():
    rng = numpy.random.default_rng(5)
    x, w = _rand(rng, 1, 2, 4, 4), _rand(rng, 2, 2, 2, 2)
    check_grads(lambda x, w: (npx.convolution(x, w, kernel=(2, 2), stride=(2, 2)) ** 3).sum(), [x, w], order=3,
                modes=("fwd", "rev"))


def test_pooling_second_order():
    rng = numpy.random.default_rng(6)
    x = a64(rng.permutation(72).reshape(2, 1, 6, 6) * 0.1)  # distinct values: no ties
    for p in (dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)), dict(kernel=(2, 2), stride=(2, 2))):
        check_grads(lambda x: npx.pooling(x * x, **p), [x], order=2, modes=("fwd", "rev"))
        check_grads(lambda x: npx.pooling(x * x, pool_type="avg", **p), [x], order=2, modes=("fwd", "rev"))
    check_grads(lambda x: npx.pooling(np.sin(x), global_pool=True), [x], order=2, modes=("fwd", "rev"))


# --- the PyTorch dialect ----------------------------------------------------------------------


def test_functional_conv2d_matches_the_definition():
    rng = numpy.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    out = F.conv2d(t64(x), t64(w), t64(b), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    expected = _np_conv(x, w, b, stride=(2, 1), pad=(1, 1), dilate=(1, 2), num_group=2)
    assert tuple(out.shape) == expected.shape
    numpy.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    single = F.conv2d(t64(x[0]), t64(w), stride=2, groups=2)  # unbatched (C, H, W)
    numpy.testing.assert_allclose(single.numpy(), _np_conv(x[:1], w, stride=(2, 2), num_group=2)[0], rtol=1e-12)
    same = F.conv2d(t64(x), t64(w[:, :, :, :1].repeat(3, axis=3)), padding="same", groups=2)
    assert tuple(same.shape) == (2, 6, 7, 6)
    valid = F.conv2d(t64(x), t64(w), padding="valid", groups=2)
    assert tuple(valid.shape) == (2, 6, 5, 5)


def test_functional_pools():
    x = t64(X44)
    numpy.testing.assert_array_equal(F.max_pool2d(x, 2).numpy(), [[[[5, 7], [13, 15]]]])
    numpy.testing.assert_array_equal(F.avg_pool2d(x, 2).numpy(), [[[[2.5, 4.5], [10.5, 12.5]]]])
    numpy.testing.assert_array_equal(F.max_pool2d(x, 3, stride=1).numpy(), [[[[10, 11], [14, 15]]]])
    numpy.testing.assert_array_equal(F.avg_pool2d(x, 2, divisor_override=2).numpy(), [[[[5, 9], [21, 25]]]])
    p = t64([[[[1.0, 2.0], [3.0, 4.0]]]])
    numpy.testing.assert_allclose(F.avg_pool2d(p, 3, 1, 1).numpy(), numpy.full((1, 1, 2, 2), 10 / 9))
    numpy.testing.assert_allclose(F.avg_pool2d(p, 3, 1, 1, count_include_pad=False).numpy(),
                                  numpy.full((1, 1, 2, 2), 2.5))
    assert tuple(F.max_pool2d(t64(X44[0]), 2).shape) == (1, 2, 2)  # unbatched


def test_functional_gradients_second_order():
    rng = numpy.random.default_rng(8)
    x, w, b = (t64(rng.uniform(-1, 1, s)) for s in ((2, 2, 5, 5), (3, 2, 3, 3), (3,)))

    def f(x, w, b):
        h = torch.tanh(F.conv2d(x, w, b, stride=2, padding=1))
        return F.max_pool2d(h, 2, stride=1) + F.avg_pool2d(h, 2, stride=1, padding=1)[:, :, 1:-1, 1:-1]

    check_grads(f, [x, w, b], order=2)


def test_functional_double_backward_through_conv2d():
    rng = numpy.random.default_rng(9)
    x = t64(rng.standard_normal((1, 1, 4, 4)), requires_grad=True)
    w = t64(rng.standard_normal((1, 1, 2, 2)), requires_grad=True)
    y = (F.conv2d(x, w) ** 2).sum()
    (gw,) = torch.autograd.grad(y, [w], create_graph=True)
    (hx,) = torch.autograd.grad(gw.sum(), [x])
    # the derivative in x of sum(dy/dw), against central differences of that sum
    eps = 1e-6

    def gsum(xv):
        xx = t64(xv, requires_grad=False)
        ww = t64(w.detach().numpy(), requires_grad=True)
        (g,) = torch.autograd.grad((F.conv2d(xx, ww) ** 2).sum(), [ww])
        return float(g.sum())

    base = x.detach().numpy()
    num = numpy.zeros_like(base)
    for idx in numpy.ndindex(base.shape):
        up, dn = base.copy(), base.copy()
        up[idx] += eps
        dn[idx] -= eps
        num[idx] = (gsum(up) - gsum(dn)) / (2 * eps)
    numpy.testing.assert_allclose(hx.numpy(), num, rtol=1e-5, atol=1e-6)


def test_functional_errors():
    x = torch.ones(1, 3, 5, 5)
    with pytest.raises(RuntimeError, match="expected input\\[1, 3, 5, 5\\] to have 2 channels, but got 3"):
        F.conv2d(x, torch.ones(4, 2, 3, 3))
    with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D \\(batched\\) input"):
        F.conv2d(torch.ones(5, 5), torch.ones(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(x, torch.ones(1, 3, 7, 7))
    with pytest.raises(RuntimeError, match="pad should be at most half of effective kernel size"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="pad should be smaller than or equal to half of kernel size"):
        F.avg_pool2d(x, 2, padding=2)
    with pytest.raises(NotImplementedError):
        F.max_pool2d(x, 2, ceil_mode=True)


def test_modules_train_a_tiny_cnn():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 2 * 2, 3))
    assert repr(model[0]) == "Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(model[2]) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(model[3]) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert tuple(model[0].weight.shape) == (4, 1, 3, 3) and tuple(model[0].bias.shape) == (4,)
    bound = 1 / 3  # 1 / sqrt(fan_in = 1 * 3 * 3)
    assert float(model[0].weight.abs().max()) <= bound and float(model[0].bias.abs().max()) <= bound
    x = torch.randn(8, 1, 8, 8)
    y = torch.tensor(numpy.arange(8) % 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert model[0].weight.grad.dtype == torch.float32
    assert losses[-1] < losses[0]
    nobias = nn.Conv2d(2, 4, (3, 1), stride=2, groups=2, bias=False)
    assert repr(nobias) == "Conv2d(2, 4, kernel_size=(3, 1), stride=(2, 2), groups=2, bias=False)"
    assert tuple(nobias(torch.ones(1, 2, 5, 5)).shape) == (1, 4, 2, 3)


def test_max_pool_gradient_keeps_an_infinite_cotangent_in_its_window():
    """The mask product used for speed must not turn 0 * inf into NaN at the other positions."""
    for kernel, stride, size in (((2, 2), (2, 2), 4), ((2, 2), (1, 1), 3)):
        x = a64(numpy.arange(float(size * size)).reshape(1, 1, size, size))
        x.attach_grad()
        with autograd.record():
            y = npx.pooling(x, kernel=kernel, stride=stride)
        y.backward(a64([[[[numpy.inf, 1.0], [2.0, 3.0]]]]))
        g = x.grad.asnumpy()
        assert not numpy.isnan(g).any()
        assert numpy.isinf(g).sum() == 1 and g.sum() == numpy.inf
