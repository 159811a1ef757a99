"""Misuse raises a clear exception that names the problem and the fix."""
from __future__ import annotations

import pytest

from tapegrad import AutogradError, GradShapeError, autograd, np
from tapegrad._core.errors import INPLACE_IN_GRAPH, NOT_IN_GRAPH
from tapegrad.backend import num_gpus


def _var(values):
    x = np.array(values)
    x.attach_grad()
    return x


def test_autograd_error_is_a_runtime_error_named_tapegrad():
    assert issubclass(AutogradError, RuntimeError)
    assert f"{AutogradError.__module__}.{AutogradError.__name__}" == "tapegrad.AutogradError"


def test_backward_outside_a_recording():
    x = _var([1.0, 2.0])
    y = x * 2  # not recorded
    with pytest.raises(AutogradError) as e:
        y.backward()
    assert NOT_IN_GRAPH in str(e.value)
    assert "autograd.record()" in str(e.value)


def test_backward_on_a_result_without_variables():
    with autograd.record():
        y = np.array([1.0, 2.0]) * 2
    with pytest.raises(AutogradError, match="not in a computational graph"):
        y.backward()


def test_second_backward_without_retain_graph_names_retain_graph():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x.sum()
    y.backward()
    with pytest.raises(AutogradError, match="retain_graph=True"):
        y.backward()


def test_downstream_backward_clears_upstream_nodes():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x * x
        z = y.sum()
    z.backward()
    with pytest.raises(AutogradError, match="not in a computational graph"):
        y.backward()


def test_grad_with_respect_to_a_non_variable():
    x = _var([1.0, 2.0])
    c = np.array([3.0, 4.0])
    with autograd.record():
        y = (x * c).sum()
    with pytest.raises(AutogradError, match="Cannot differentiate with respect to the 2-th variable") as e:
        autograd.grad(y, [x, c])
    assert "attach_grad()" in str(e.value)


def test_inplace_write_inside_record():
    x = _var([1.0, 2.0])
    with autograd.record():
        y = x * 2
        with pytest.raises(AutogradError) as e:
            y += 1
        assert INPLACE_IN_GRAPH in str(e.value)
        with pytest.raises(AutogradError):
            x[0] = 5


def test_head_gradient_of_the_wrong_shape_names_both_shapes():
    x = _var([1.0, 2.0, 3.0, 4.0])
    with autograd.record():
        y = x * x
    with pytest.raises(GradShapeError, match=r"\(3,\).*\(4,\)") as e:
        y.backward(np.array([1.0, 0.0, 0.0]))
    assert isinstance(e.value, ValueError)


def test_unknown_grad_req_lists_the_valid_ones():
    x = np.array([1.0])
    with pytest.raises(ValueError, match="'write', 'add', 'null'"):
        x.attach_grad("bogus")


def test_integer_arrays_cannot_ask_for_gradients():
    x = np.array([1, 2], dtype="int32")
    with pytest.raises(TypeError, match="floating-point.*astype"):
        x.attach_grad()


def test_head_and_head_grad_lists_must_match():
    x = _var([1.0])
    with autograd.record():
        y = x * 2
    with pytest.raises(ValueError, match="same length"):
        autograd.backward([y, y], [None])


def test_empty_variables_list():
    x = _var([1.0])
    with autograd.record():
        y = x * 2
    with pytest.raises(ValueError, match="empty"):
        autograd.grad(y, [])


def test_size_conversions():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="size-1"):
        float(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="unsized"):
        len(np.array(1.0))


def test_missing_numpy_name_says_so():
    with pytest.raises(AttributeError, match="tapegrad.np has no 'polyfit' yet"):
        np.polyfit  # noqa: B018


def test_mixing_devices_is_an_error_that_says_how_to_move():
    from tapegrad.backend import xp_of
    import numpy

    class FakeGpu:  # quacks like a CuPy array on gpu(1)
        __module__ = "cupy"

        class device:
            id = 1

    FakeGpu.__module__ = "cupy._core"
    from tapegrad import DeviceError
    with pytest.raises(DeviceError, match="as_in_ctx"):
        xp_of([numpy.zeros(2), FakeGpu()])


@pytest.mark.skipif(num_gpus() > 0, reason="a GPU is present")
def test_asking_for_a_gpu_without_one_says_so():
    import tapegrad.torch as torch
    from tapegrad import np, npx
    from tapegrad._core.errors import DeviceError
    for make in (lambda: torch.zeros(2, device="cuda"), lambda: np.ones(2, ctx=npx.gpu(0)),
                 lambda: torch.ones(2).cuda()):
        with pytest.raises(DeviceError, match="CuPy|GPU"):
            make()
    assert not torch.cuda.is_available() and torch.cuda.device_count() == 0
