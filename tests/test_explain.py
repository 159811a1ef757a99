"""tapegrad.explain: why a gradient is None or zero, with the reason and the user's line, in the MXNet
dialect, the PyTorch dialect and the functional API (NumPy door). Each test finds the expected line with
``here()`` on the line concerned, so the assertion cannot pass by accident."""
from __future__ import annotations

import inspect

import pytest

import tapegrad
import tapegrad.numpy as tnp
import tapegrad.torch as torch
from tapegrad import AutogradError, autograd, np


def here() -> int:
    """The caller's line number."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


def check(e: tapegrad.Explanation, reason: str, line: int | None) -> None:
    assert e.reason == reason, str(e)
    assert e.lineno == line, str(e)
    assert str(e) == e.text and e.text
    if line is not None:
        assert e.line is not None and e.line.filename == __file__
        assert f"test_explain.py:{line}" in e.text


def var(*values: float) -> np.ndarray:
    x = np.array(list(values))
    x.attach_grad()
    return x


# -- MXNet dialect ----------------------------------------------------------------------------------

def test_mx_ok_names_the_path():
    x = var(1.0, -2.0)
    with autograd.record():
        h = x * 3; line_h = here()  # noqa: E702
        y = np.tanh(h).sum(); line_y = here()  # noqa: E702
    y.backward()
    e = tapegrad.explain(x)
    check(e, "ok", None)
    assert [s.name for s in e.path] == ["variable", "multiply", "tanh", "sum"]
    assert [s.site.lineno for s in e.path[1:]] == [line_h, line_y, line_y]
    assert "multiply at test_explain.py" in str(e)


def test_mx_not_marked():
    x = np.array([1.0, 2.0])
    w = var(1.0, 1.0)
    with autograd.record():
        y = (x * w).sum()
    y.backward()
    e = x.explain()
    check(e, "not_marked", None)
    assert "attach_grad()" in str(e)


def test_mx_detached():
    x, w = var(1.0, 2.0), var(3.0, 4.0)
    with autograd.record():
        y = (x.detach() * w).sum(); line = here()  # noqa: E702
    y.backward()
    check(x.explain(), "detached", line)


def test_mx_paused():
    x, w = var(1.0, 2.0), var(3.0, 4.0)
    with autograd.record():
        with autograd.pause():
            h = x * 2; line = here()  # noqa: E702
        y = (h * w).sum()
    y.backward()
    check(x.explain(), "paused", line)
    assert "autograd.record()" in str(x.explain())


def test_mx_outside_record_backward_fails_then_explain_names_the_line():
    x = var(1.0, 2.0)
    y = (x * x).sum(); line = here()  # noqa: E702
    with pytest.raises(AutogradError):
        y.backward()
    check(x.explain(), "paused", line)
    check(tapegrad.explain(x, y), "paused", line)


def test_mx_nondifferentiable_floor_and_comparison():
    x, w = var(1.5, 2.5), var(3.0, 4.0)
    with autograd.record():
        y = (np.floor(x) * w).sum(); line = here()  # noqa: E702
    y.backward()
    check(x.explain(), "nondifferentiable", line)
    assert "floor" in str(x.explain())
    with autograd.record():
        y = ((x > 2) * w).sum(); line = here()  # noqa: E702
    y.backward()
    e = x.explain()
    check(e, "nondifferentiable", line)
    assert "greater" in str(e)


def test_mx_unrelated():
    x, w = var(1.0, 2.0), var(3.0, 4.0)
    with autograd.record():
        y = (w * w).sum(); line = here()  # noqa: E702
    y.backward()
    check(x.explain(), "unrelated", line)


def test_mx_freed():
    x = var(1.0, 2.0)
    with autograd.record():
        h = x * 2
        l1 = h.sum()
        l2 = (h * h).sum()
    l1.backward(); line = here()  # noqa: E702
    with pytest.raises(AutogradError):
        l2.backward()
    e = x.explain()
    check(e, "freed", line)
    assert "retain_graph=True" in str(e)


def test_mx_overwritten_by_a_later_backward():
    x = var(1.0, 2.0)
    with autograd.record():
        y = (x * x).sum()
    y.backward(); first = here()  # noqa: E702
    with autograd.record():
        z = np.floor(x).sum()
    z.backward(); line = here()  # noqa: E702
    e = x.explain()
    check(e, "overwritten", line)
    assert f"test_explain.py:{first}" in str(e) and "grad_req='add'" in str(e)


def test_mx_zeroed_through_the_gradient_buffer():
    x = np.array([1.0, 2.0])
    x.attach_grad(grad_req="add")
    with autograd.record():
        y = (x * x).sum()
    y.backward(); wrote = here()  # noqa: E702
    x.grad[:] = 0; line = here()  # noqa: E702
    e = x.explain()
    check(e, "zeroed", line)
    assert f"test_explain.py:{wrote}" in str(e)
    x.grad[:] = 0  # a plain array's writes are not noted: only a variable's buffer
    other = np.zeros(2)
    other[:] = 1
    assert x.explain().reason == "zeroed"


def test_mx_explain_of_head_without_graph_is_unrelated_when_nothing_was_cut():
    x = var(1.0, 2.0)
    y = np.ones(2).sum()
    check(tapegrad.explain(x, y), "unrelated", None)


# -- PyTorch dialect --------------------------------------------------------------------------------

def tvar(*values: float) -> torch.Tensor:
    return torch.tensor(list(values), requires_grad=True)


def test_torch_ok_names_the_path():
    x = tvar(1.0, 2.0)
    loss = (x * x).sum(); line = here()  # noqa: E702
    loss.backward()
    e = torch.autograd.explain(x)
    check(e, "ok", None)
    assert [s.name for s in e.path] == ["AccumulateGrad", "MulBackward0", "SumBackward0"]
    assert e.path[-1].site.lineno == line


def test_torch_not_marked():
    x, w = torch.tensor([1.0, 2.0]), tvar(1.0, 1.0)
    (x * w).sum().backward()
    e = x.explain()
    check(e, "not_marked", None)
    assert "requires_grad=True" in str(e)


def test_torch_not_leaf():
    x = tvar(1.0, 2.0)
    h = x * 2; line = here()  # noqa: E702
    (h * h).sum().backward()
    e = h.explain()
    check(e, "not_leaf", line)
    assert "retain_grad()" in str(e)


def test_torch_detached():
    x, w = tvar(1.0, 2.0), tvar(3.0, 4.0)
    h = x * 2
    loss = (h.detach() * w).sum(); line = here()  # noqa: E702
    loss.backward()
    e = x.explain()
    check(e, "detached", line)
    assert "MulBackward0" in str(e)  # the detached array was a result computed from x


def test_torch_no_grad():
    x, w = tvar(1.0, 2.0), tvar(3.0, 4.0)
    with torch.no_grad():
        h = x * 2; line = here()  # noqa: E702
    (h * w).sum().backward()
    e = x.explain()
    check(e, "paused", line)
    assert "torch.no_grad()" in str(e)


def test_torch_nondifferentiable_sign_argmax_and_integer_cast():
    x, w = tvar(1.5, -2.5), tvar(3.0, 4.0)
    loss = (x.sign() * w).sum(); line = here()  # noqa: E702
    loss.backward()
    check(x.explain(), "nondifferentiable", line)
    loss = (torch.argmax(x) * w).sum(); line = here()  # noqa: E702
    loss.backward()
    check(x.explain(), "nondifferentiable", line)
    loss = (x.long() * w).sum(); line = here()  # noqa: E702
    loss.backward()
    check(x.explain(), "nondifferentiable", line)
    assert "int64" in str(x.explain())


def test_torch_unrelated():
    x, w = tvar(1.0, 2.0), tvar(3.0, 4.0)
    loss = (w * w).sum(); line = here()  # noqa: E702
    loss.backward()
    check(x.explain(), "unrelated", line)


def test_torch_freed():
    x = tvar(1.0, 2.0)
    h = x * 2
    l1, l2 = h.sum(), (h * h).sum()
    l1.backward(); line = here()  # noqa: E702
    x.grad = None
    with pytest.raises(AutogradError):
        l2.backward()
    check(x.explain(), "freed", line)


@pytest.mark.parametrize("how", ["none", "zero_", "optimizer", "optimizer_zeros", "setitem"])
def test_torch_zeroed(how):
    x = tvar(1.0, 2.0)
    opt = torch.optim.SGD([x], lr=0.1)
    (x * x).sum().backward(); wrote = here()  # noqa: E702
    if how == "none":
        x.grad = None; line = here()  # noqa: E702
    elif how == "zero_":
        x.grad.zero_(); line = here()  # noqa: E702
    elif how == "optimizer":
        opt.zero_grad(); line = here()  # noqa: E702
    elif how == "optimizer_zeros":
        opt.zero_grad(set_to_none=False); line = here()  # noqa: E702
    else:
        x.grad[:] = 0; line = here()  # noqa: E702
    e = x.explain()
    check(e, "zeroed", line)
    assert f"test_explain.py:{wrote}" in str(e)


def test_torch_zeroed_before_backward_is_not_the_reason():
    x, w = tvar(1.0, 2.0), tvar(3.0, 4.0)
    opt = torch.optim.SGD([x, w], lr=0.1)
    opt.zero_grad()
    loss = (w * w).sum(); line = here()  # noqa: E702
    loss.backward()
    check(x.explain(), "unrelated", line)


# -- functional API (NumPy door) --------------------------------------------------------------------

def test_functional_floor():
    e = tapegrad.explain(lambda x: tnp.floor(x).sum(), tnp.array([1.5, 2.5])); line = here()  # noqa: E702
    check(e, "nondifferentiable", line)


def test_functional_comparison():
    def f(x):
        return (x > 0).sum() * 1.0
    line = f.__code__.co_firstlineno + 1
    e = tapegrad.explain(f, tnp.array([1.5, -2.5]))
    check(e, "nondifferentiable", line)
    assert "greater" in str(e)


def test_functional_detached():
    def f(x, y):
        return tnp.sum(x.detach() * y) + tnp.sum(y)
    line = f.__code__.co_firstlineno + 1
    check(tapegrad.explain(f, tnp.array([1.5]), tnp.array([2.0]), argnum=0), "detached", line)


def test_functional_unrelated_and_ok():
    e = tapegrad.explain(lambda x, y: tnp.sum(y * y), tnp.array([1.0]), tnp.array([2.0]))
    check(e, "unrelated", None)
    e = tapegrad.explain(lambda x: tnp.sum(tnp.sin(x) * x), tnp.array([1.0])); line = here()  # noqa: E702
    check(e, "ok", None)
    assert [s.name for s in e.path][1:] == ["sin", "multiply", "sum"] and e.path[-1].site.lineno == line


def test_torch_heads_gone_says_so():
    x, w = tvar(1.5, -2.5), tvar(3.0, 4.0)
    (x.sign() * w).sum().backward()  # the head is not kept: its graph cannot be read
    e = x.explain()
    check(e, "zero", None)
    assert "explain(x, loss)" in str(e)


def test_functional_explain_does_not_replace_the_last_backward():
    x, w = var(1.0, 2.0), var(3.0, 4.0)
    with autograd.record():
        y = (w * w).sum(); line = here()  # noqa: E702
    y.backward()
    tapegrad.explain(lambda a: tnp.sum(a * a), tnp.array([1.0]))
    check(x.explain(), "unrelated", line)


def test_explain_refuses_what_it_cannot_read():
    with pytest.raises(TypeError, match="tapegrad array"):
        tapegrad.explain([1.0, 2.0])
    with pytest.raises(TypeError, match="head"):
        tapegrad.explain(var(1.0), "y")


def test_with_source_lines_off_a_cut_is_explained_without_its_line():
    prev = tapegrad.set_source_lines(False)
    try:
        x, w = var(1.5, 2.5), var(3.0, 4.0)
        with autograd.record():
            y = ((x > 2) * w).sum()
        y.backward()
        e = x.explain()
    finally:
        tapegrad.set_source_lines(prev)
    assert e.reason == "nondifferentiable" and e.line is None
    assert "greater" in e.text and "an unknown line" in e.text


def test_noting_a_cut_keeps_no_node_alive_and_explain_finds_the_live_ones():
    import weakref
    from tapegrad._core.events import events_of, noted
    x = var(1.5, 2.5)
    dead = []
    for _ in range(50):
        with autograd.record():
            y = x * 2
            y < 1000  # a cut noted on each product, which dies at once
        dead.append(weakref.ref(y._node))
        del y
    assert all(r() is None for r in dead)
    with autograd.record():
        kept = x * 3
        kept < 0
    live = list(noted())
    assert kept._node in live and all(events_of(n) for n in live)
    assert events_of(kept._node)["nondiff"].what == "less"
