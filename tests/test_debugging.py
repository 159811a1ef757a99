"""Errors that cite the user's line, the source-lines switch and anomaly detection (issue 16, items
3 and 4). Each engine error keeps the framework's sentence as its message (``str(e)``, which the
seed's expected outputs pin) and names the user's lines in exception notes (``e.__notes__``)."""
from __future__ import annotations

import inspect

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np
from tapegrad._core import dispatch
from tapegrad._core.errors import NOT_IN_GRAPH, DeviceError
from tapegrad._core.site import site_of

HERE = __file__


def line() -> int:
    """The line number of the caller's current line."""
    return inspect.currentframe().f_back.f_lineno


def notes(e: pytest.ExceptionInfo) -> str:
    return "\n".join(getattr(e.value, "__notes__", []))


def cites(text: str, lineno: int) -> bool:
    return f'File "{HERE}", line {lineno}, in ' in text


TORCH_TWICE = ("Trying to backward through the graph a second time (or directly access saved tensors after they "
               "have already been freed). Saved intermediate values of the graph are freed when you call "
               ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
               "graph a second time or if you need to access saved tensors after calling backward.")


def test_backward_twice_names_the_forward_line_and_the_backward_that_freed_it_torch():
    x = torch.arange(4.0, requires_grad=True)
    y = 2 * torch.dot(x, x); made = line()  # noqa: E702
    y.backward(); freed = line()  # noqa: E702
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert str(e.value) == TORCH_TWICE  # the framework's sentence, unchanged
    text = notes(e)
    assert "'MulBackward0' was created at:" in text and cites(text, made)
    assert "y = 2 * torch.dot(x, x)" in text
    assert "freed by the backward at:" in text and cites(text, freed) and "y.backward(); freed" in text


def test_backward_twice_names_lines_mxnet():
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = 2 * np.dot(x, x); made = line()  # noqa: E702
    y.backward(); freed = line()  # noqa: E702
    with pytest.raises(tapegrad.AutogradError) as e:
        y.backward()
    assert str(e.value) == NOT_IN_GRAPH  # MXNet's sentence, unchanged
    text = notes(e)
    assert "'dot' was created at:" in text and cites(text, made) and cites(text, freed)


def test_notes_show_in_the_traceback_after_the_message():
    import traceback
    x = torch.ones(2, requires_grad=True)
    y = (x * 3).sum()
    y.backward()
    try:
        y.backward()
    except RuntimeError as err:
        shown = "".join(traceback.format_exception(err))
    assert shown.index(TORCH_TWICE) < shown.index("was created at:") < shown.index("freed by the backward")


def test_in_place_modification_names_the_node_that_saved_it():
    x = torch.arange(4.0, requires_grad=True)
    y = torch.exp(x); made = line()  # noqa: E702
    z = (y * 2).sum()
    with torch.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as e:
        z.backward()
    assert "'ExpBackward0' was created at:" in notes(e) and cites(notes(e), made)


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_head_gradient_of_the_wrong_shape_names_the_head_line(dialect):
    if dialect == "torch":
        x = torch.ones(3, requires_grad=True)
        y = x * 2; made = line()  # noqa: E702
        with pytest.raises(RuntimeError, match="Mismatch in shape|shape") as e:
            y.backward(torch.ones(2))
        name = "MulBackward0"
    else:
        x = np.ones(3)
        x.attach_grad()
        with autograd.record():
            y = x * 2; made = line()  # noqa: E702
        with pytest.raises(ValueError, match="shape") as e:
            y.backward(np.ones(2))
        name = "multiply"
    assert f"{name!r} was created at:" in notes(e) and cites(notes(e), made)


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_a_custom_rule_returning_the_wrong_shape_names_the_call_line(dialect):
    if dialect == "torch":
        class Twice(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return torch.ones(3)
        x = torch.ones(2, requires_grad=True)
        y = Twice.apply(x); made = line()  # noqa: E702
        with pytest.raises(RuntimeError) as e:
            y.sum().backward()
        # PyTorch's own text (measured on 2.13.0), and its name for the node
        assert str(e.value) == ("Function TwiceBackward returned an invalid gradient at index 0 - got [3] but "
                                "expected shape compatible with [2]")
        assert y.grad_fn.name() == "TwiceBackward"
        name = "TwiceBackward"
    else:
        class Twice(autograd.Function):
            def forward(self, x):
                return x * 2

            def backward(self, g):
                return np.ones(3)
        x = np.ones(2)
        x.attach_grad()
        with autograd.record():
            y = Twice()(x); made = line()  # noqa: E702
        with pytest.raises(tapegrad.AutogradError, match="returned a gradient of shape \\(3,\\) for input 0 of "
                           "shape \\(2,\\); return one gradient of each input's shape") as e:
            y.backward()
        name = "Twice"
    assert f"{name!r} was created at:" in notes(e) and cites(notes(e), made)


def test_an_error_raised_inside_a_rule_names_the_node_it_came_from():
    class Broken(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x + 1

        @staticmethod
        def backward(ctx, g):
            raise ZeroDivisionError("inside the user's backward")
    x = torch.ones(2, requires_grad=True)
    y = Broken.apply(x) * 3; made = line()  # noqa: E702
    with pytest.raises(ZeroDivisionError) as e:
        y.sum().backward()
    assert "'BrokenBackward' was created at:" in notes(e) and cites(notes(e), made)


def test_device_mismatch_names_the_lines_of_the_inputs(monkeypatch):
    x = torch.ones(2, requires_grad=True)
    y = x * 2; made = line()  # noqa: E702

    def refuse(datas):
        raise DeviceError("inputs live on cpu(0) and gpu(0); move them to one device")
    monkeypatch.setattr(dispatch, "xp_of", refuse)
    with pytest.raises(DeviceError, match="move them to one device") as e:
        y * [1.0, 2.0]  # (a list: the general route, which asks for the inputs' device)
    assert "input 0 of 'multiply' (cpu(0)) was created at:" in notes(e) and cites(notes(e), made)


def test_the_gradient_graph_cites_the_forward_lines():
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    y = torch.sin(x); made = line()  # noqa: E702
    z = y.sum()
    (dx,) = torch.autograd.grad(z, x, create_graph=True)
    names = {}
    stack = [dx._node]
    while stack:
        n = stack.pop()
        if n is not None and n.op is not None:
            names[n.op.name] = site_of(n)
            stack.extend(n.parents)
    s = names["cos"]  # the rule of sin: g * cos(x)
    assert s is not None and s.filename == HERE and s.lineno == made and "torch.sin(x)" in s.source
    assert names["multiply"].lineno == made


def test_sites_of_both_dialects_and_the_numpy_door():
    import tapegrad.numpy as tnp
    a = torch.ones(2, requires_grad=True)
    b = a.exp(); lb = line()  # noqa: E702
    assert (site_of(b._node).lineno, site_of(b._node).function) == (lb, "test_sites_of_both_dialects_and_the_numpy_door")
    seen = []

    def f(v):
        w = tnp.tanh(v); seen.append((w, line()))  # noqa: E702
        return w.sum()
    tapegrad.grad(f)(numpy.ones(3))
    w, lw = seen[0]
    assert site_of(w._node).lineno == lw and site_of(w._node).function == "f"


def test_source_lines_can_be_switched_off():
    prev = tapegrad.set_source_lines(False)
    try:
        assert prev is True
        x = torch.ones(2, requires_grad=True)
        y = (x * 2).sum()
        assert site_of(y._node) is None
        y.backward()
        with pytest.raises(RuntimeError) as e:
            y.backward()
        assert str(e.value) == TORCH_TWICE and not getattr(e.value, "__notes__", None)
    finally:
        tapegrad.set_source_lines(True)
    z = (torch.ones(2, requires_grad=True) * 2).sum()
    assert site_of(z._node) is not None


# -- anomaly detection ---------------------------------------------------------------------------

def test_anomaly_names_the_op_the_forward_line_and_the_input_torch():
    x = torch.tensor([0.0, 1.0, 4.0], requires_grad=True)
    y = torch.sqrt(x); made = line()  # noqa: E702
    z = (y * 2).sum()
    with torch.autograd.detect_anomaly():
        assert torch.is_anomaly_enabled()
        with pytest.raises(RuntimeError) as e:
            z.backward()
    assert not torch.is_anomaly_enabled()
    assert str(e.value) == "Function 'SqrtBackward0' returned inf values in its 0th output."
    text = notes(e)
    assert cites(text, made) and "y = torch.sqrt(x)" in text
    assert "input 0 (this gradient): shape (3,), float32: min 0, max 4, 1 zero" in text


def test_anomaly_blames_the_first_rule_not_the_ones_after_it_mxnet():
    x = np.array([-1.0, 1.0])
    x.attach_grad()
    with autograd.record():
        y = np.log(x * 1.0); made = line()  # noqa: E702  (log of -1: NaN in the forward already)
        z = np.sqrt(np.abs(x) - 1.0); made2 = line()  # noqa: E702  (sqrt at 0: inf in the backward)
        s = (z * 3).sum() + 0 * np.nan_to_num(y).sum()
    with tapegrad.detect_anomaly():
        with pytest.raises(tapegrad.AutogradError, match="Function 'sqrt' returned inf values in its 0th output") as e:
            s.backward()
    assert cites(notes(e), made2) and not cites(notes(e), made)


def test_anomaly_nan_from_zero_times_inf_and_the_functional_api():
    import tapegrad.numpy as tnp

    def f(v):
        return (tnp.arcsin(v) * tnp.array([1.0, 1.0])).sum()  # arcsin' is inf at 1
    with tapegrad.detect_anomaly():
        with pytest.raises(tapegrad.AutogradError, match="Function 'arcsin' returned inf values") as e:
            tapegrad.grad(f)(numpy.array([0.5, 1.0]))
    assert "input 0 (this gradient): shape (2,), float64: min 0.5, max 1" in notes(e)
    # the same gradient without detection: inf, no error (as PyTorch and NumPy give)
    assert numpy.isinf(tapegrad.grad(f)(numpy.array([0.5, 1.0]))[1])


def test_anomaly_stays_quiet_when_all_is_finite_and_when_the_nan_came_in():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.autograd.detect_anomaly():
        (torch.exp(x) * torch.log(x)).sum().backward()
    numpy.testing.assert_allclose(x.grad.numpy(), numpy.exp([1.0, 2.0]) * (numpy.log([1.0, 2.0]) + 1 / numpy.array([1.0, 2.0])),
                                  rtol=1e-6)
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    with torch.autograd.detect_anomaly():  # a NaN head gradient is the caller's: no rule made it
        (w * 2).backward(torch.tensor([float("nan"), 1.0]))
    assert numpy.isnan(w.grad.numpy()[0])


def test_set_detect_anomaly_switches_and_restores():
    assert not tapegrad.is_anomaly_enabled()
    tapegrad.set_detect_anomaly(True)
    try:
        assert tapegrad.is_anomaly_enabled() and torch.is_anomaly_check_nan_enabled()
        with torch.autograd.set_detect_anomaly(False):
            assert not tapegrad.is_anomaly_enabled()
        assert tapegrad.is_anomaly_enabled()
    finally:
        tapegrad.set_detect_anomaly(False)
    assert not tapegrad.is_anomaly_enabled()
    with torch.autograd.detect_anomaly(check_nan=False):
        assert torch.is_anomaly_enabled() and not torch.is_anomaly_check_nan_enabled()
        x = torch.tensor([0.0], requires_grad=True)
        torch.sqrt(x).sum().backward()  # no check: inf, as PyTorch with check_nan=False
        assert numpy.isinf(x.grad.numpy()[0])


@pytest.mark.parametrize("dialect", ["mxnet", "torch"])
def test_a_complex_head_gradient_of_a_real_head_is_refused_naming_the_head_line(dialect):
    if dialect == "torch":
        x = torch.ones(3, requires_grad=True)
        y = x * 2; made = line()  # noqa: E702
        with pytest.raises(RuntimeError) as e:
            y.backward(torch.ones(3, dtype=torch.complex64))
        # PyTorch's text (measured on 2.13.0); a float64 head gradient of a float32 head is cast, as there
        assert str(e.value) == ("For complex Tensors, both grad_output and output are required to have the same "
                                "dtype. Mismatch in dtype: grad_output[0] has a dtype of torch.complex64 and "
                                "output[0] has a dtype of torch.float32.")
        name = "MulBackward0"
        y.backward(torch.ones(3, dtype=torch.float64))
        assert x.grad.dtype == torch.float32
    else:
        x = np.ones(3)
        x.attach_grad()
        with autograd.record():
            y = x * 2; made = line()  # noqa: E702
        with pytest.raises(tapegrad.AutogradError, match="head gradient has dtype complex64 but its head has "
                           "dtype float32; .* cast it with .astype") as e:
            y.backward(np.ones(3, dtype="complex64"))
        name = "multiply"
    assert f"{name!r} was created at:" in notes(e) and cites(notes(e), made)
