"""Red-team probes of the debugging aids (source lines on nodes, errors citing lines, anomaly detection,
explain, graph pictures): each test pins a bug found and fixed, or a behaviour checked to hold."""
from __future__ import annotations

import inspect
import sys
import threading

import tapegrad
import tapegrad.torch as torch
from tapegrad._core.site import SITE, site_of


def line() -> int:
    """The line number of the caller's current line."""
    return inspect.currentframe().f_back.f_lineno


def _nodes_after(root, seq):
    seen, stack, out = set(), [root], []
    while stack:
        n = stack.pop()
        if n is None or n in seen:
            continue
        seen.add(n)
        stack.extend(n.parents)
        if n.op is not None and n.seq > seq:
            out.append(n)
    return out


def test_create_graph_hook_nodes_cite_the_hook_not_the_previous_rules_forward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    a = x.exp()
    b = a * a
    a.register_hook(lambda g: g * 3); hook = line()  # noqa: E702
    last = b._node.seq
    g, = torch.autograd.grad(b.sum(), x, create_graph=True)
    lines = sorted(site_of(n).lineno for n in _nodes_after(g._node, last) if n.op.name == "multiply")
    assert hook in lines  # the hook's g * 3 (it used to cite ``b = a * a``, the rule run just before)


def test_create_graph_in_threads_leaves_other_threads_lines_alone():
    def worker():
        for _ in range(100):
            y = torch.tensor([1.0, 2.0], requires_grad=True)
            torch.autograd.grad((y.sin() * y).sum(), y, create_graph=True)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        ts = [threading.Thread(target=worker) for _ in range(3)]
        for t in ts:
            t.start()
        wrong = 0
        for _ in range(300):
            q = torch.ones(2, requires_grad=True) * 2; here = line()  # noqa: E702
            wrong += site_of(q._node).lineno != here
        for t in ts:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert wrong == 0  # (another thread's create_graph rules used to lend their forward lines to this one)
    assert SITE[0] is None  # (and two of them could leave a stale forward line for every later node)
    q = torch.ones(2, requires_grad=True) * 2; here = line()  # noqa: E702
    assert site_of(q._node).lineno == here


def test_explain_after_autograd_grad_says_it_returned_the_gradients_torch():
    t = torch.ones(4, requires_grad=True)
    y = (t * 2).sum()
    torch.autograd.grad(y, t); at = line()  # noqa: E702
    e = tapegrad.explain(t)
    # (it used to say the graph "was freed by the backward at" that very line, "so the backward ... could not run")
    assert e.reason == "returned" and e.lineno == at, str(e)
    assert "torch.autograd.grad returns the gradients" in str(e) and "freed" not in str(e)
    u = torch.ones(4, requires_grad=True)
    assert tapegrad.explain(u).reason == "unrelated"  # (the head is alive: u is not in its graph)


def test_explain_after_autograd_grad_mxnet():
    from tapegrad import autograd, np
    x = np.ones(3)
    x.attach_grad()
    with autograd.record():
        y = (x * 2).sum()
    autograd.grad(y, [x]); at = line()  # noqa: E702
    e = x.explain()
    assert e.reason == "returned" and e.lineno == at and "autograd.grad returns" in str(e), str(e)


def test_explain_with_a_head_before_any_backward_is_not_a_zero_gradient():
    t = torch.ones(3, requires_grad=True)
    y = t.sum(); made = line()  # noqa: E702
    e = tapegrad.explain(t, y)
    assert e.reason == "no_backward", str(e)  # (it used to say "the gradient that arrived is zero")
    assert [s.site.lineno for s in e.path][-1] == made
    y.backward()
    assert tapegrad.explain(t, y).reason == "ok"


def test_anomaly_note_of_a_multi_output_op_shows_its_outputs_and_each_cotangent():
    import pytest
    t = torch.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
    w, v = torch.linalg.eigh(t); made = line()  # noqa: E702
    with pytest.raises(RuntimeError) as e, torch.autograd.detect_anomaly():
        v.sum().backward()
    assert str(e.value) == "Function 'LinalgEighBackward0' returned nan values in its 0th output."
    text = "\n".join(e.value.__notes__)
    assert f"line {made}" in text
    # (the note used to list the incoming gradient alone: not the eigenvalues and vectors the rule read)
    assert "output 0: shape (2,), float32" in text and "output 1: shape (2, 2), float32" in text
    assert "incoming gradient 0: none (zero)" in text and "incoming gradient 1: shape (2, 2)" in text


def test_explain_attach_grad_again_after_the_forward_mxnet():
    from tapegrad import autograd, np
    x = np.ones(3)
    x.attach_grad(); first = line()  # noqa: E702
    with autograd.record():
        y = x * 2
    y.backward()
    x.attach_grad(); again = line()  # noqa: E702
    e = tapegrad.explain(x)
    # (it used to say the head "does not depend on the variable: no op on the tape leads from the variable to it")
    assert e.reason == "reattached" and e.lineno == again, str(e)
    assert f"test_red16.py:{first}" in str(e) and "attach_grad() once, before the forward" in str(e)
    assert tapegrad.explain(x, y).reason == "reattached"
    x.attach_grad()  # a third time: the graph still leads to the first
    assert tapegrad.explain(x, y).reason == "reattached"


def test_set_detect_anomaly_object_used_twice_as_a_context_manager():
    from tapegrad._core.anomaly import STATE
    s = torch.autograd.set_detect_anomaly(True)
    with s:
        assert STATE == [True, True]
    assert STATE == [False, True]
    with s:  # (PyTorch allows it; it raised IndexError: pop from empty list)
        pass
    assert STATE == [False, True]


def test_builtin_picture_of_a_variable_used_at_every_step_stays_linear():
    import xml.etree.ElementTree as ET
    import tapegrad.viz as viz
    t = torch.ones(3, requires_grad=True)
    y = t
    for _ in range(250):  # (an unrolled loop reading one weight: 250 edges skipping up to 500 rows)
        y = y * 1.0001 + t
    svg = viz.draw(y, engine="builtin").svg
    ET.fromstring(svg)
    # each edge used to be routed through slots of its own in every row it crossed: 4.3 MB here, 67 MB and
    # 10 s at 1,000 steps; the edges of one source now share their slots (a bundle)
    assert len(svg) < 1_000_000
