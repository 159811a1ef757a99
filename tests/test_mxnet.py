"""The MXNet dialect: dtypes, reprs, state flags and array protocol as measured on MXNet 1.9.1."""
from __future__ import annotations

import numpy as onp
import pytest

from tapegrad import AutogradError, autograd, np, npx


@pytest.mark.parametrize("expr,dtype,text", [
    ("np.arange(4.0)", "float32", "array([0., 1., 2., 3.])"),
    ("np.arange(4)", "float32", "array([0., 1., 2., 3.])"),
    ("np.array([1, 2])", "float32", "array([1., 2.])"),
    ("np.array(True)", "float32", "array(1.)"),
    ("np.array(onp.array([1, 2]))", "int64", "array([1, 2], dtype=int64)"),
    ("np.zeros(3)", "float32", "array([0., 0., 0.])"),
    ("np.dot(np.arange(4.0), np.arange(4.0))", "float32", "array(14.)"),
    ("np.arange(4.0).sum()", "float32", "array(6.)"),
    # MXNet prints 3.7416573, one float32 ulp below the correctly rounded sqrt(14) that NumPy gives
    ("np.linalg.norm(np.arange(4.0))", "float32", "array(3.7416575)"),
    ("np.arange(4.0) == 1", "bool", "array([False,  True, False, False])"),
    ("np.linalg.norm(np.arange(4.0)) < 1000", "bool", "array(True)"),
    ("np.array([1, 2], dtype='int32') / 2", "float32", "array([0.5, 1. ])"),
    ("np.arange(4.0).astype('float64') + np.arange(4.0)", "float64", "array([0., 2., 4., 6.], dtype=float64)"),
    ("np.arange(4.0)[1]", "float32", "array(1.)"),
])
def test_dtypes_and_reprs(expr, dtype, text):
    v = eval(expr)
    assert str(v.dtype) == dtype
    if text is not None:
        assert repr(v) == text


def test_seeded_normal_draws_mxnets_numbers():
    npx.random.seed(0)
    assert repr(np.random.normal()) == "array(2.2122064)"
    assert repr(np.random.normal(size=(2,))) == "array([0.7740038, 0.4838046])"


def test_item_str_and_format():
    x = np.arange(4.0)
    assert x.item(2) == 2.0 and isinstance(x.item(2), float)
    assert str(x) == "[0. 1. 2. 3.]"
    assert str(np.array(28.0)) == "28.0"
    assert format(np.array(3.14159), ".3f") == "3.142"
    assert f"{x}" == str(x)
    with pytest.raises(TypeError, match="format_spec"):
        format(x, ".2f")


def test_scalar_conversions_and_iteration():
    x = np.array([2.5])
    assert float(x) == 2.5 and int(x) == 2 and bool(x)
    assert len(np.zeros((3, 2))) == 3
    rows = list(np.arange(6.0).reshape(3, 2))
    assert [r.shape for r in rows] == [(2,)] * 3
    assert np.arange(3.0).tolist() == [0.0, 1.0, 2.0]
    assert onp.asarray(np.arange(3.0)).dtype == onp.float32


def test_reflected_operators_with_python_scalars():
    x = np.arange(1.0, 4.0)
    onp.testing.assert_allclose((2 - x).asnumpy(), [1, 0, -1])
    onp.testing.assert_allclose((6 / x).asnumpy(), [6, 3, 2])
    onp.testing.assert_allclose((2 ** x).asnumpy(), [2, 4, 8])
    onp.testing.assert_allclose((1 + x).asnumpy(), [2, 3, 4])
    onp.testing.assert_allclose((onp.ones(3) * x).asnumpy(), [1, 2, 3])
    assert isinstance(onp.ones(3) * x, np.ndarray)


@pytest.mark.parametrize("where,rec,train", [
    ("top", False, False), ("record", True, True), ("record/pause", False, False),
    ("record/pause(True)", False, True), ("record/predict", True, False),
    ("record(False)", True, False), ("record(False)/train", True, True), ("train", False, True),
])
def test_state_table(where, rec, train):
    scopes = {"top": [], "record": [autograd.record()], "record/pause": [autograd.record(), autograd.pause()],
              "record/pause(True)": [autograd.record(), autograd.pause(train_mode=True)],
              "record/predict": [autograd.record(), autograd.predict_mode()],
              "record(False)": [autograd.record(train_mode=False)],
              "record(False)/train": [autograd.record(False), autograd.train_mode()],
              "train": [autograd.train_mode()]}[where]
    for s in scopes:
        s.__enter__()
    try:
        assert (autograd.is_recording(), autograd.is_training()) == (rec, train)
    finally:
        for s in reversed(scopes):
            s.__exit__(None, None, None)
    assert (autograd.is_recording(), autograd.is_training()) == (False, False)


def test_flags_restored_after_an_exception_and_setters_return_previous():
    with pytest.raises(KeyError):
        with autograd.record():
            raise KeyError
    assert not autograd.is_recording() and not autograd.is_training()
    assert autograd.set_recording(True) is False
    assert autograd.set_recording(False) is True
    with autograd.record():
        with autograd.record():
            pass
        assert autograd.is_recording()


def test_inplace_forms_keep_identity_and_buffer():
    x = np.arange(4.0)
    y = np.ones(4)
    before = id(x)
    x += y
    assert id(x) == before
    z = np.zeros_like(x)
    zbuf = z._data
    z[:] = x + y
    assert z._data is zbuf
    onp.testing.assert_allclose(z.asnumpy(), [2, 3, 4, 5])
    X = np.zeros((3, 4))
    X[0:2, :] = 12
    assert X.asnumpy()[:2].min() == 12 and X.asnumpy()[2].max() == 0


def test_sgd_update_keeps_the_variable():
    p = np.array([1.0, 2.0])
    p.attach_grad()
    for _ in range(3):
        with autograd.record():
            loss = (p * p).sum()
        loss.backward()
        p[:] = p - 0.1 * p.grad
    onp.testing.assert_allclose(p.asnumpy(), onp.array([1.0, 2.0]) * 0.8 ** 3, rtol=1e-6)
    p -= 0.1 * p.grad  # also fine outside record
    assert p.grad is not None


def test_backward_of_a_leaf_gives_ones_and_out_grad_is_used():
    x = np.arange(4.0)
    x.attach_grad()
    x.backward()
    onp.testing.assert_array_equal(x.grad.asnumpy(), onp.ones(4))
    with autograd.record():
        y = x * x
    y.backward(np.array([1.0, 0.0, 0.0, 10.0]))
    onp.testing.assert_array_equal(x.grad.asnumpy(), [0, 0, 0, 60])


def test_copy_has_no_grad_and_is_independent():
    x = np.arange(3.0)
    x.attach_grad()
    c = x.copy()
    assert c.grad is None
    c[0] = 7
    assert x.asnumpy()[0] == 0


def test_context_helpers():
    x = np.arange(3.0)
    assert str(x.ctx) == "cpu(0)"
    assert x.as_in_ctx(npx.cpu()) is x
    assert npx.num_gpus() >= 0
    x.wait_to_read()
    assert x.asnumpy().dtype == onp.float32


def test_matplotlib_plots_arrays_directly(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.linspace(0, 3, 10)
    fig, ax = plt.subplots()
    (line,) = ax.plot(x, np.sin(x))
    onp.testing.assert_allclose(line.get_ydata(), onp.sin(onp.linspace(0, 3, 10, dtype=onp.float32)), rtol=1e-6)
    fig.savefig(tmp_path / "p.png")
    plt.close(fig)


def test_intermediate_attach_grad_makes_a_new_leaf():
    x = np.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        u = x * x
        z = (u * 3 * x).sum()
    u.attach_grad()
    z.backward()
    onp.testing.assert_array_equal(u.grad.asnumpy(), [0, 0])
    onp.testing.assert_allclose(x.grad.asnumpy(), 9 * x.asnumpy() ** 2)


def test_numpy_functions_on_arrays_are_recorded():
    x = np.array([0.5, 1.0])
    x.attach_grad()
    with autograd.record():
        y = onp.sin(x) * onp.array([2.0, 3.0]) + onp.ones(2)
    assert isinstance(y, np.ndarray)
    y.backward()
    onp.testing.assert_allclose(x.grad.asnumpy(), onp.cos([0.5, 1.0]) * [2.0, 3.0], rtol=1e-6)


def test_assigning_a_recorded_value_into_a_constant_is_recorded():
    x = np.array([1.0, 2.0, 3.0])
    x.attach_grad()
    Z = np.zeros((2, 3))
    with autograd.record():
        Z[1] = x * x
        s = (Z * 2).sum()
    s.backward()
    onp.testing.assert_allclose(x.grad.asnumpy(), [4.0, 8.0, 12.0])
    with pytest.raises(AutogradError):  # Z is in a graph now: MXNet forbids writing into it
        with autograd.record():
            Z[0] = x
    W = np.zeros((2, 3))
    with pytest.raises(ValueError, match="repeated indices"):
        with autograd.record():
            W[onp.array([0, 0])] = x
