"""Misuses that used to pass quietly or fail with the wrong error (issue 12, items 6 and 2): MXNet's
higher-order behaviour on piecewise-linear functions, variables the heads do not use, products of
mismatched shapes or mixed dtypes."""
from __future__ import annotations

import numpy
import pytest

import tapegrad as tg
import tapegrad.torch as torch
from tapegrad import AutogradError, autograd, np, npx

X0 = [0.5, -1.0, 2.0]
V0 = [1.0, 2.0, 3.0]

# piecewise-linear functions (second derivative zero) and one that is not, with its HVP
PIECEWISE = {
    "relu": npx.relu,
    "minimum": lambda x: np.minimum(x, 0.3),
    "maximum": lambda x: np.maximum(0.3, x),
    "clip": lambda x: np.clip(x, -0.5, 1.0),
    "min": lambda x: np.min(x),
    "max_method": lambda x: x.max(),
    "indexing": lambda x: x[1],
    "fancy_indexing": lambda x: x[numpy.array([0, 2, 2])],
    "abs": np.abs,
    "linear": lambda x: 2 * x + 1,
}


def _hvp_by_backward(fn, grad_req="write"):
    x = np.array(X0)
    x.attach_grad(grad_req)
    v = np.array(V0)
    with autograd.record():
        y = fn(x)
        g = autograd.grad(y, [x], create_graph=True)[0]
        s = (g * v).sum()
    s.backward()
    return x.grad.asnumpy(), g.asnumpy()


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_hvp_of_a_piecewise_linear_function_is_zero(name):
    """MXNet records every op whose input is in a graph, so the gradient is in the graph and the
    second backward gives zeros; it used to raise "not in a computational graph"."""
    fn = PIECEWISE[name]
    hv, g = _hvp_by_backward(fn)
    numpy.testing.assert_array_equal(hv, numpy.zeros(3))
    numpy.testing.assert_allclose(g, tg.elementwise_grad(lambda x: np.sum(fn(x)))(numpy.array(X0)), rtol=1e-6)


def test_hvp_through_grad_is_zero_too_and_add_accumulates():
    x = np.array(X0)
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(npx.relu(x), [x], create_graph=True)[0]
        s = (g * np.array(V0)).sum()
    numpy.testing.assert_array_equal(autograd.grad(s, [x])[0].asnumpy(), numpy.zeros(3))
    hv, _ = _hvp_by_backward(lambda x: np.sin(x) + npx.relu(x), grad_req="add")
    numpy.testing.assert_allclose(hv, -numpy.sin(X0) * numpy.array(V0), rtol=1e-6)


def test_hvp_of_a_smooth_function_is_unchanged():
    hv, g = _hvp_by_backward(lambda x: np.sin(x) * x)
    x, v = numpy.array(X0), numpy.array(V0)
    numpy.testing.assert_allclose(hv, (2 * numpy.cos(x) - x * numpy.sin(x)) * v, rtol=1e-5)


def test_create_graph_outside_record_gives_a_differentiable_gradient():
    """Measured in MXNet (probes): grad(create_graph=True) outside record, then dx.backward()."""
    x = np.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = npx.relu(x)
    autograd.grad(y, [x], create_graph=True)[0].backward()
    numpy.testing.assert_array_equal(x.grad.asnumpy(), numpy.zeros(3))
    with autograd.record():
        y = np.sin(x)
    autograd.grad(y, [x], create_graph=True)[0].backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), -numpy.sin([1.0, 2.0, 3.0]), rtol=1e-6)


def test_grad_without_create_graph_stays_a_constant():
    x = np.array(X0)
    x.attach_grad()
    with autograd.record():
        g = autograd.grad(npx.relu(x), [x])[0]
    assert g._node is None


@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_grad_refuses_a_variable_the_heads_do_not_use(order):
    x, w = np.array(X0), np.array(V0)
    x.attach_grad()
    w.attach_grad()
    with autograd.record():
        y = (x * 2).sum()
    variables = [[x, w][i] for i in order]
    with pytest.raises(AutogradError, match=f"the {order.index(1) + 1}-th variable because the heads do not "
                                            "depend on it"):
        autograd.grad(y, variables)
    with autograd.record():
        y = (x * 2).sum()
    numpy.testing.assert_array_equal(autograd.grad(y, [x])[0].asnumpy(), [2.0, 2.0, 2.0])


# --- products of mismatched shapes or mixed dtypes (issue 12, items 2 and 6) ----------------------

MISMATCHED = {
    "dot": (lambda a, b: np.dot(a, b), (2, 3), (4, 5), "last axis (3) must equal the second's axis 0 (4)"),
    "dot_1d": (lambda a, b: np.dot(a, b), (3,), (4,), "last axis (3) must equal the second's axis 0 (4)"),
    "dot_nd": (lambda a, b: np.dot(a, b), (2, 3, 4), (5, 3, 2), "last axis (4) must equal the second's axis 1 (3)"),
    "dot_method": (lambda a, b: a.dot(b), (2, 3), (2, 3), "last axis (3) must equal the second's axis 0 (2)"),
    "matmul": (lambda a, b: np.matmul(a, b), (2, 3), (4, 5), "second's second-to-last axis (4)"),
    "at": (lambda a, b: a @ b, (2, 3), (4, 5), "second's second-to-last axis (4)"),
    "at_1d": (lambda a, b: a @ b, (3,), (4,), "last axis (3) must equal the second's length (4)"),
    "at_batch": (lambda a, b: a @ b, (2, 2, 3), (3, 3, 5), "batch axes (2,) and (3,) do not broadcast"),
    "vdot": (lambda a, b: np.vdot(a, b), (2, 3), (4,), "sizes (6 and 4) must be equal"),
    "inner": (lambda a, b: np.inner(a, b), (2, 3), (4,), "last axis (3) must equal the second's last axis (4)"),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=1), (2, 3), (4, 5), "1 (3) with 0 (4)"),
}


@pytest.mark.parametrize("name", sorted(MISMATCHED))
def test_a_shape_mismatch_names_both_shapes_and_the_fix(name):
    fn, sa, sb, detail = MISMATCHED[name]
    with pytest.raises(ValueError) as info:
        fn(np.ones(sa), np.ones(sb))
    msg = str(info.value)
    assert f"{sa} and {sb}" in msg and detail in msg, msg
    assert "core dimension" not in msg and "gufunc" not in msg and "not aligned" not in msg
    assert "transpose" in msg or "check" in msg or "reshape" in msg


def test_a_shape_mismatch_reads_the_same_in_the_functional_api():
    w = np.ones((4, 5), dtype="float64")
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not match"):
        tg.grad(lambda x: np.sum(x @ w))(numpy.ones((2, 3)))


def test_matching_products_are_unchanged():
    a, b = numpy.arange(6.0).reshape(2, 3), numpy.arange(12.0).reshape(3, 4)
    numpy.testing.assert_allclose(np.dot(np.array(a), np.array(b)).asnumpy(), a @ b)
    numpy.testing.assert_allclose((np.array(a) @ np.array(b)).asnumpy(), a @ b)
    numpy.testing.assert_allclose(np.tensordot(np.array(a), np.array(b), axes=1).asnumpy(), a @ b)


@pytest.mark.parametrize("product", [
    lambda a, b: np.dot(a, b), lambda a, b: np.matmul(a, b), lambda a, b: a @ b, lambda a, b: a.dot(b),
])
def test_the_mxnet_door_refuses_products_of_float64_with_float32(product):
    a64, b32 = np.ones((2, 3), dtype="float64"), np.ones((3, 4))
    for a, b, da, db in ((a64, b32, "float64", "float32"), (b32.T, a64.T, "float32", "float64")):
        with pytest.raises(TypeError, match=rf"operands of dtypes {da} and {db}; products need one dtype "
                                            rf"\(as in MXNet\): cast one operand first, e.g. "
                                            rf"\.astype\('{da}'\) on the {db} one"):
            product(a, b)
    # one dtype, or an integer or complex operand, keeps NumPy's promotion
    assert product(a64, b32.astype("float64")).dtype == numpy.float64
    assert product(np.ones((2, 3), dtype="int32"), b32).dtype == numpy.float64
    assert product(a64, np.ones((3, 4), dtype="complex64")).dtype == numpy.complex128


def test_the_functional_api_on_tapegrad_np_refuses_them_too():
    # tapegrad.np is MXNet's NumPy in every door until the NumPy door (issue 14) promotes as NumPy
    w32 = np.array([[1.0], [2.0], [3.0]])
    with pytest.raises(TypeError, match="operands of dtypes float64 and float32"):
        tg.grad(lambda x: np.sum(np.dot(x, w32)))(numpy.ones((2, 3)))
    g = tg.grad(lambda x: np.sum(np.dot(x, w32.astype("float64"))))(numpy.ones((2, 3)))
    numpy.testing.assert_allclose(g, numpy.tile([1.0, 2.0, 3.0], (2, 1)))
    # a raw NumPy operand is not a tapegrad.np array: NumPy's promotion
    assert tg.grad(lambda x: np.sum(np.dot(x, numpy.ones((3, 1), "float32"))))(numpy.ones((2, 3))).dtype == numpy.float64


def _torch_case(spec):
    """Tensors from ``(shape, dtype)`` pairs, for a module (tapegrad.torch or the real torch)."""
    def make(mod):
        return [mod.ones(*shape, dtype=getattr(mod, dt)) for shape, dt in spec]
    return make


F, D = "float32", "float64"
# PyTorch 2.13's own texts, measured (each case is also run against real torch where it is installed)
TORCH_PRODUCTS = {
    "mm": ("mm", [((2, 3), F), ((4, 5), F)], "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    "matmul": ("matmul", [((2, 3), F), ((4, 5), F)], "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    "at": ("@", [((2, 3), F), ((4, 5), F)], "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    "dot": ("dot", [((3,), F), ((4,), F)], "inconsistent tensor size, expected tensor [3] and src [4] to have the "
            "same number of elements, but got 3 and 4 elements respectively"),
    "mv": ("mv", [((2, 3), F), ((4,), F)], "size mismatch, got input (2), mat (2x3), vec (4)"),
    "bmm": ("bmm", [((2, 2, 3), F), ((2, 4, 5), F)],
            "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4]."),
    "matmul_1d_2d": ("matmul", [((4,), F), ((2, 3), F)], "mat1 and mat2 shapes cannot be multiplied (1x4 and 2x3)"),
    "matmul_2d_1d": ("matmul", [((2, 3), F), ((4,), F)], "size mismatch, got input (2), mat (2x3), vec (4)"),
    "matmul_3d_2d": ("matmul", [((2, 2, 3), F), ((4, 5), F)],
                     "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)"),
    "matmul_4d_1d": ("matmul", [((2, 2, 2, 3), F), ((4,), F)], "size mismatch, got input (8), mat (8x3), vec (4)"),
    "matmul_1d_3d": ("matmul", [((4,), F), ((2, 3, 5), F)],
                     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 3]."),
    "matmul_4d_3d": ("@", [((2, 1, 2, 3), F), ((3, 4, 5), F)],
                     "Expected size for first two dimensions of batch2 tensor to be: [6, 3] but got: [6, 4]."),
    "matmul_batch": ("matmul", [((2, 3, 2, 3), F), ((4, 3, 5), F)],
                     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 1"),
    "mm_dtype": ("mm", [((2, 3), D), ((3, 2), F)], "expected m1 and m2 to have the same dtype, but got: double != float"),
    "mm_dtype_rev": ("mm", [((2, 3), F), ((3, 2), D)],
                     "expected m1 and m2 to have the same dtype, but got: float != double"),
    "matmul_dtype": ("matmul", [((2, 3), D), ((3, 2), F)],
                     "expected m1 and m2 to have the same dtype, but got: double != float"),
    "at_dtype": ("@", [((2, 3), D), ((3, 2), F)], "expected m1 and m2 to have the same dtype, but got: double != float"),
    "at_dtype_1d": ("@", [((3,), D), ((3,), F)], "dot : expected both vectors to have same dtype, but found Double "
                    "and Float"),
    "dot_dtype": ("dot", [((3,), F), ((3,), D)], "dot : expected both vectors to have same dtype, but found Float "
                  "and Double"),
    "mv_dtype": ("mv", [((2, 3), D), ((3,), F)],
                 "addmv input tensors must have the same dtype, but got Float, Double, and Float"),
    "matmul_dtype_2d_1d": ("matmul", [((2, 3), F), ((3,), D)],
                           "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    "bmm_dtype": ("bmm", [((2, 2, 3), D), ((2, 3, 5), F)], "expected scalar type Double but found Float"),
    "bmm_dtype_rev": ("bmm", [((2, 2, 3), F), ((2, 3, 5), D)], "expected scalar type Float but found Double"),
    "matmul_dtype_3d": ("matmul", [((2, 2, 3), D), ((2, 3, 5), F)], "expected scalar type Double but found Float"),
    "matmul_shape_before_dtype": ("mm", [((2, 3), D), ((4, 5), F)],
                                  "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
}


def _call(mod, how, args):
    if how == "@":
        return args[0] @ args[1]
    return getattr(mod, how)(*args)


@pytest.mark.parametrize("name", sorted(TORCH_PRODUCTS))
def test_torch_products_raise_pytorchs_errors(name):
    how, spec, text = TORCH_PRODUCTS[name]
    with pytest.raises(RuntimeError) as info:
        _call(torch, how, _torch_case(spec)(torch))
    assert str(info.value) == text


@pytest.mark.parametrize("name", sorted(TORCH_PRODUCTS))
def test_torch_product_texts_match_real_pytorch(name):
    real = pytest.importorskip("torch")
    how, spec, text = TORCH_PRODUCTS[name]
    with pytest.raises(RuntimeError) as info:
        _call(real, how, _torch_case(spec)(real))
    assert str(info.value) == text


def test_torch_products_of_matching_tensors_still_work():
    a = torch.ones(2, 1, 2, 3)
    assert tuple((a @ torch.ones(4, 3, 5)).shape) == (2, 4, 2, 5)
    assert tuple(torch.matmul(torch.ones(3), torch.ones(2, 3, 5)).shape) == (2, 5)
    assert tuple(torch.matmul(torch.ones(2, 2, 3), torch.ones(3)).shape) == (2, 2)
    x = torch.tensor([[1.0, 2.0]], requires_grad=True)
    (x @ torch.tensor([[3.0], [4.0]])).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), [[3.0, 4.0]])
