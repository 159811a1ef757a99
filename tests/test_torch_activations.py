"""``torch.nn.functional``'s activations and their ``nn`` modules in the PyTorch dialect.

Always: gradients (orders 1 and 2) against central differences in float64 through the dialect,
near every kink, with each keyword; errors, reprs, grad_fn names. Where PyTorch 2.13 is installed:
values and first and second derivatives against it in float64 and float32, at the kinks too.
"""
from __future__ import annotations

import numpy
import pytest

import tapegrad.torch as tt
from tapegrad.testing import check_grads

F = tt.nn.functional

#: (name, keyword arguments, the points where the function has a kink or switches branch)
CALLS = [
    ("softplus", {}, ()), ("softplus", dict(beta=2.0, threshold=3.0), (1.5,)),
    ("softplus", dict(beta=0.5, threshold=10), (20.0,)),
    ("elu", {}, (0.0,)), ("elu", dict(alpha=2.0), (0.0,)), ("selu", {}, (0.0,)),
    ("celu", {}, (0.0,)), ("celu", dict(alpha=2.5), (0.0,)),
    ("gelu", {}, ()), ("gelu", dict(approximate="tanh"), ()),
    ("silu", {}, ()), ("mish", {}, ()),
    ("leaky_relu", {}, (0.0,)), ("leaky_relu", dict(negative_slope=0.2), (0.0,)),
    ("hardtanh", {}, (-1.0, 1.0)), ("hardtanh", dict(min_val=-2.0, max_val=0.5), (-2.0, 0.5)),
    ("relu6", {}, (0.0, 6.0)), ("hardsigmoid", {}, (-3.0, 3.0)), ("hardswish", {}, (-3.0, 3.0)),
    ("logsigmoid", {}, ()), ("softsign", {}, (0.0,)), ("tanhshrink", {}, ()),
    ("softshrink", {}, (-0.5, 0.5)), ("softshrink", dict(lambd=1.0), (-1.0, 1.0)),
    ("hardshrink", {}, (-0.5, 0.5)), ("hardshrink", dict(lambd=1.0), (-1.0, 1.0)),
    ("threshold", dict(threshold=1.0, value=-5.0), (1.0,)), ("threshold", dict(threshold=-0.5, value=2.0), (-0.5,)),
    ("glu", {}, ()), ("glu", dict(dim=0), ()),
]
IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(CALLS)]

#: PyTorch 2.13's backward node for each function (measured)
GRAD_FN = {"softplus": "SoftplusBackward0", "elu": "EluBackward0", "selu": "EluBackward0", "celu": "CeluBackward0",
           "gelu": "GeluBackward0", "silu": "SiluBackward0", "mish": "MishBackward0",
           "leaky_relu": "LeakyReluBackward0", "hardtanh": "HardtanhBackward0", "relu6": "HardtanhBackward0",
           "hardsigmoid": "HardsigmoidBackward0", "hardswish": "HardswishBackward0",
           "logsigmoid": "LogSigmoidBackward0", "softsign": "DivBackward0", "tanhshrink": "SubBackward0",
           "softshrink": "SoftshrinkBackward0", "hardshrink": "HardshrinkBackward0",
           "threshold": "ThresholdBackward0", "glu": "GluBackward0"}


def _points(kinks, rng, n=12):
    """Smooth points near and between the kinks (0.05 away), for central differences."""
    pts = [k + d for k in kinks for d in (-0.3, -0.05, 0.05, 0.3)]
    pts += list(rng.uniform(-4, 4, n))
    x = numpy.array(pts, dtype=numpy.float64)
    for k in kinks:
        x = numpy.where(numpy.abs(x - k) < 0.05, k + 0.05, x)
    return x


def _shaped(name, x):
    return x[: len(x) // 2 * 2].reshape(2, -1) if name == "glu" else x


@pytest.mark.parametrize("name,kw,kinks", CALLS, ids=IDS)
def test_gradients_match_finite_differences_to_order_two(name, kw, kinks):
    x = _shaped(name, _points(kinks, numpy.random.default_rng(len(IDS))))
    fn = getattr(F, name)
    check_grads(lambda t: fn(t, **kw), [tt.tensor(x, dtype=tt.float64)], order=2)


def _torch_pair(name, kw, x, dtype):
    """Value, gradient and the gradient of sum(gradient) from one framework (``torch`` or tapegrad)."""
    return lambda torch: _derivatives(torch, getattr(torch.nn.functional, name), kw, x, dtype)


def _derivatives(torch, fn, kw, x, dtype):
    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y = fn(t, **kw)
    w = torch.tensor(numpy.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)), dtype=getattr(torch, dtype))
    (g,) = torch.autograd.grad((y * w).sum(), t, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), t, allow_unused=True) if g.requires_grad else (None,)
    host = (lambda a: a.detach().numpy()) if torch is not tt else (lambda a: numpy.asarray(a.detach()._data))
    return host(y), host(g), None if gg is None else host(gg), y.grad_fn.name()


def _derivatives_first(torch, fn, x, dtype):
    t = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
    y = fn(t)
    w = torch.tensor(numpy.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)), dtype=getattr(torch, dtype))
    (g,) = torch.autograd.grad((y * w).sum(), t)
    return y.detach().numpy(), g.numpy()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,kw,kinks", CALLS, ids=IDS)
def test_values_and_derivatives_match_pytorch(name, kw, kinks, dtype):
    torch = pytest.importorskip("torch")
    x = numpy.concatenate([numpy.array(kinks, dtype=numpy.float64),
                           _points(kinks, numpy.random.default_rng(3)), [0.0, -0.0, 25.0, -25.0]])
    x = _shaped(name, x)
    if name == "hardsigmoid":  # PyTorch has no second derivative for it: compare orders 0 and 1, ours is 0
        ry, rg = _derivatives_first(torch, torch.nn.functional.hardsigmoid, x, dtype)
        rgg, rname = numpy.zeros_like(x), "HardsigmoidBackward0"
    else:
        ry, rg, rgg, rname = _derivatives(torch, getattr(torch.nn.functional, name), kw, x, dtype)
    gy, gg_, ggg, gname = _derivatives(tt, getattr(F, name), kw, x, dtype)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=2e-6, atol=1e-6)
    assert gy.dtype == ry.dtype and gg_.dtype == rg.dtype
    numpy.testing.assert_allclose(gy, ry, **tol)
    # PyTorch's CPU hardsigmoid backward multiplies by 1/6 rounded to float32 even in float64; ours is exact
    gtol = dict(rtol=1e-7, atol=0) if name == "hardsigmoid" and dtype == "float64" else tol
    numpy.testing.assert_allclose(gg_, rg, **gtol)  # at the kinks too: PyTorch's side of each
    if rgg is None:  # PyTorch's gradient does not depend on x (piecewise linear): ours is zero or absent
        assert ggg is None or not numpy.any(ggg)
    else:
        numpy.testing.assert_allclose(numpy.zeros_like(rgg) if ggg is None else ggg, rgg, **tol)
    assert gname == rname == GRAD_FN[name]


def test_grad_fn_names_are_pytorchs():
    x = tt.tensor([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    for name, node in GRAD_FN.items():
        kw = dict(threshold=0.0, value=0.0) if name == "threshold" else {}
        assert getattr(F, name)(x, **kw).grad_fn.name() == node, name


def test_inplace_activations_write_into_the_input_and_record_the_op():
    for name, kw in [("elu", {}), ("selu", {}), ("celu", {}), ("silu", {}), ("mish", {}), ("leaky_relu", {}),
                     ("hardtanh", {}), ("relu6", {}), ("hardsigmoid", {}), ("hardswish", {}),
                     ("threshold", dict(threshold=0.0, value=0.5))]:
        leaf = tt.tensor([-1.5, 0.5, 2.0], dtype=tt.float64, requires_grad=True)
        expected = getattr(F, name)(leaf, **kw)
        y = leaf * 1
        out = getattr(F, name)(y, **kw, inplace=True)
        assert out is y and numpy.array_equal(y._data, expected._data), name
        (g,) = tt.autograd.grad(y.sum(), leaf)
        (e,) = tt.autograd.grad(expected.sum(), leaf)
        assert numpy.array_equal(g._data, e._data), name
    for name in ("elu_", "selu_", "celu_", "leaky_relu_", "hardtanh_"):
        t = tt.tensor([-1.0, 2.0])
        assert getattr(F, name)(t) is t
    t = tt.tensor([-1.0, 2.0])
    assert F.threshold_(t, 0.0, 7.0) is t and t._data.tolist() == [7.0, 2.0]


def test_float32_stays_float32_and_integers_follow_pytorch():
    x = tt.tensor([-2.0, 0.5, 3.0])
    for name, kw, _ in CALLS:
        assert _shaped(name, getattr(F, name)(x if name != "glu" else tt.ones(2, 2), **kw)).dtype == tt.float32, name
    i = tt.tensor([-1, 2, 7])
    assert F.hardtanh(i)._data.tolist() == [-1, 1, 1] and F.hardtanh(i).dtype == tt.int64
    assert F.relu6(i)._data.tolist() == [0, 2, 6] and F.threshold(i, 0, 5)._data.tolist() == [5, 2, 7]
    assert F.softsign(tt.tensor([1])).dtype == tt.float32 and F.tanhshrink(tt.tensor([1])).dtype == tt.float32
    with pytest.raises(NotImplementedError, match="\"softplus_cpu\" not implemented for 'Long'"):
        F.softplus(i)
    with pytest.raises(NotImplementedError, match="\"GeluKernelImpl\" not implemented for 'Long'"):
        F.gelu(i)


def test_errors_are_pytorchs():
    x = tt.tensor([1.0, 2.0], dtype=tt.float64)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 1.79769e\+308\] for input dtype Double, "
                                           r"but found -0.5"):
        F.softshrink(x, -0.5)
    with pytest.raises(RuntimeError, match=r"for input dtype Float, but found -1"):
        F.softshrink(tt.tensor([1.0]), -1.0)
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 0 is size 3"):
        F.glu(tt.ones(3))
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(tt.ones(2, 3), 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars because halving size must be even"):
        F.glu(tt.tensor(1.0))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        F.glu(tt.ones(2, 4), 2)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(x, approximate="foo")


def test_modules_print_and_apply_as_pytorchs():
    nn = tt.nn
    reprs = {nn.Softplus(): "Softplus(beta=1.0, threshold=20.0)", nn.Softplus(2, 10): "Softplus(beta=2, threshold=10)",
             nn.ELU(): "ELU(alpha=1.0)", nn.ELU(alpha=2.0, inplace=True): "ELU(alpha=2.0, inplace=True)",
             nn.SELU(): "SELU()", nn.SELU(True): "SELU(inplace=True)", nn.CELU(2.0, True): "CELU(alpha=2.0, inplace=True)",
             nn.GELU(): "GELU(approximate='none')", nn.GELU("tanh"): "GELU(approximate='tanh')", nn.SiLU(): "SiLU()",
             nn.Mish(True): "Mish(inplace=True)", nn.LeakyReLU(): "LeakyReLU(negative_slope=0.01)",
             nn.LeakyReLU(0.2, True): "LeakyReLU(negative_slope=0.2, inplace=True)",
             nn.Hardtanh(): "Hardtanh(min_val=-1.0, max_val=1.0)",
             nn.Hardtanh(-2, 3, True): "Hardtanh(min_val=-2, max_val=3, inplace=True)", nn.ReLU6(): "ReLU6()",
             nn.ReLU6(True): "ReLU6(inplace=True)", nn.Hardsigmoid(True): "Hardsigmoid()",
             nn.Hardswish(True): "Hardswish()", nn.LogSigmoid(): "LogSigmoid()", nn.Softsign(): "Softsign()",
             nn.Tanhshrink(): "Tanhshrink()", nn.Softshrink(): "Softshrink(0.5)", nn.Hardshrink(0.3): "Hardshrink(0.3)",
             nn.Threshold(0.1, 20): "Threshold(threshold=0.1, value=20)",
             nn.Threshold(0.1, 20, True): "Threshold(threshold=0.1, value=20, inplace=True)",
             nn.GLU(): "GLU(dim=-1)", nn.GLU(0): "GLU(dim=0)"}
    for m, text in reprs.items():
        assert repr(m) == text
    x = tt.tensor([[-1.5, 0.3], [2.0, -0.2]], dtype=tt.float64)
    assert numpy.array_equal(nn.Softplus(2, 1)(x)._data, F.softplus(x, 2, 1)._data)
    assert numpy.array_equal(nn.GLU(0)(x)._data, F.glu(x, 0)._data)
    assert numpy.array_equal(nn.Threshold(0.0, 9.0)(x)._data, F.threshold(x, 0.0, 9.0)._data)
    with pytest.raises(TypeError, match="missing 2 required positional argument"):
        nn.Threshold()
    with pytest.raises(TypeError, match="unexpected keyword argument 'beta'"):
        nn.ELU(beta=1.0)
