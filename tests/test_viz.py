"""Graph pictures (tapegrad.viz): the seed's graphs drawn in both dialects, by the built-in layout always
and by Graphviz where it is installed; collapse, depth, highlight, freed nodes, gradients, DOT and PNG."""
from __future__ import annotations

import re
import shutil
import sys
import xml.etree.ElementTree as ET

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np, viz

HAVE_GRAPHVIZ = viz.graphviz_available()
ENGINES = ["builtin", pytest.param("graphviz", marks=pytest.mark.skipif(
    not HAVE_GRAPHVIZ, reason="needs the graphviz package and Graphviz's dot (pip install 'tapegrad[viz]')"))]


def _line() -> int:
    return sys._getframe(1).f_lineno


def texts(svg: str) -> list[str]:
    """The text of every <text> element of an SVG document, whitespace collapsed."""
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    return [" ".join("".join(e.itertext()).split()) for e in root.iter() if e.tag.endswith("}text") or e.tag == "text"]


def boxes(svg: str, cls: str) -> list[list[str]]:
    """The lines of each box of class ``cls`` in a built-in SVG."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    return [[" ".join("".join(t.itertext()).split()) for t in g.iter(ns + "text")]
            for g in root.iter(ns + "g") if cls in g.get("class", "").split()]


def grad_values(lines: list[str]) -> list[float]:
    g = [t for t in lines if t.startswith("grad:")]
    assert len(g) == 1, lines
    return [float(v) for v in re.findall(r"-?\d+\.?\d*", g[0])]


def mxnet_seed():
    x = np.arange(4.0)
    x.attach_grad()
    with autograd.record():
        y = 2 * np.dot(x, x); made = _line()  # noqa: E702
    return x, y, made


def torch_seed():
    x = torch.arange(4.0, requires_grad=True)
    y = 2 * torch.dot(x, x); made = _line()  # noqa: E702
    return x, y, made


@pytest.mark.parametrize("engine", ENGINES)
def test_the_seed_graph_in_the_mxnet_dialect(engine):
    x, y, made = mxnet_seed()
    y.backward(retain_graph=True)
    pic = viz.draw(y, engine=engine)
    assert pic.engine == engine
    t = texts(pic.svg)
    assert "dot" in t and "multiply" in t and "variable" in t and "constant" in t
    assert t.count("() float32") == 2 and "(4,) float32" in t and "() python scalar" in t
    assert grad_values(t) == [0, 4, 8, 12]
    assert t.count(f"test_viz.py:{made}") == 2  # both ops were made on that line
    assert not any("freed" in s for s in t)  # retain_graph kept them
    assert pic._repr_svg_() == pic.svg


@pytest.mark.parametrize("engine", ENGINES)
def test_the_seed_graph_in_the_pytorch_dialect_names_grad_fns(engine):
    x, y, made = torch_seed()
    before = texts(torch.viz.draw(y, engine=engine).svg)
    assert "grad: None" in before  # PyTorch: no gradient until the first backward
    y.backward()
    t = texts(torch.viz.draw(y, engine=engine).svg)
    assert "DotBackward0" in t and "MulBackward0" in t and "AccumulateGrad (variable)" in t
    assert "dot" not in t and "multiply" not in t
    assert "(4,) float32" in t and t.count("() float32") == 2
    assert grad_values(t) == [0, 4, 8, 12]
    assert t.count(f"test_viz.py:{made}") == 2


def test_the_doors_are_one_function():
    assert torch.viz.draw is viz.draw and tapegrad.viz is viz
    x, y, _ = mxnet_seed()
    pic = y.draw(engine="builtin", constants=False)
    assert isinstance(pic, viz.Picture) and boxes(pic.svg, "constant") == []
    assert [b[0] for b in boxes(pic.svg, "op")] == ["multiply", "dot"]
    assert "2 op box(es), 1 variable(s)" in repr(pic)


def test_a_backward_marks_the_nodes_it_freed_with_its_line():
    x, y, made = mxnet_seed()
    y.backward(); freed_at = _line()  # noqa: E702
    svg = viz.draw(y, engine="builtin").svg
    freed = boxes(svg, "freed")
    assert sorted(b[0] for b in freed) == ["dot", "multiply"]
    for b in freed:
        assert b[-1] == f"freed by the backward at test_viz.py:{freed_at}" and f"test_viz.py:{made}" in b
    assert boxes(svg, "variable")[0][0] == "variable" and "freed" not in " ".join(boxes(svg, "variable")[0])
    # the picture is a snapshot: drawn before the backward, it shows nothing freed
    x, y, _ = mxnet_seed()
    pic = viz.draw(y, engine="builtin")
    y.backward()
    assert boxes(pic.svg, "freed") == []


def test_collapse_merges_a_run_of_one_op():
    x = torch.ones(3, requires_grad=True)
    h = x
    for _ in range(10):
        h = torch.tanh(h)
    y = (h * 3).sum()
    plain = viz.draw(y, engine="builtin")
    assert [b[0] for b in boxes(plain.svg, "op")].count("TanhBackward0") == 10
    merged = viz.draw(y, collapse=True, engine="builtin")
    ops = [b[0] for b in boxes(merged.svg, "op")]
    assert ops == ["SumBackward0", "MulBackward0", "TanhBackward0 \u00d710"]
    assert "TanhBackward0 \u00d710" in merged.dot


def test_collapse_keeps_a_branch_point_apart():
    x = np.ones(3)
    x.attach_grad()
    with autograd.record():
        a = np.tanh(np.tanh(x))
        y = np.tanh(np.tanh(a)) + a  # a feeds two ops: the runs stop there
    ops = sorted(b[0] for b in boxes(viz.draw(y, collapse=True, engine="builtin").svg, "op"))
    assert ops == ["add", "tanh \u00d72", "tanh \u00d72"]


def test_depth_limits_the_steps_from_the_head():
    x = np.ones(3)
    x.attach_grad()
    with autograd.record():
        h = x
        for _ in range(6):
            h = np.sin(h)
        y = h.sum()
    svg = viz.draw(y, depth=3, engine="builtin").svg
    assert [b[0] for b in boxes(svg, "op")] == ["sum", "sin", "sin", "sin"]
    assert boxes(svg, "variable") == [] and [b[0] for b in boxes(svg, "more")] == ["... more inputs"]
    only = viz.draw(y, depth=0, engine="builtin").svg
    assert [b[0] for b in boxes(only, "op")] == ["sum"]
    assert len(boxes(viz.draw(y, depth=7, engine="builtin").svg, "variable")) == 1
    with pytest.raises(ValueError, match="depth"):
        viz.draw(y, depth=-1)


def test_highlight_marks_the_path_from_a_variable_to_the_head():
    x = np.ones(3)
    w = np.ones(3)
    x.attach_grad()
    w.attach_grad()
    with autograd.record():
        y = np.exp(x).sum() + (w * w).sum()
    pic = viz.draw(y, highlight=x, engine="builtin")
    hot = sorted(b[0] for b in boxes(pic.svg, "highlight"))
    assert hot == ["add", "exp", "sum", "variable"]
    assert sorted(b[0] for b in boxes(pic.svg, "node")) == ["add", "exp", "multiply", "sum", "sum", "variable",
                                                           "variable"]
    assert pic.dot.count('color="#d62728"') == 4 + 3  # four boxes, three edges
    both = viz.draw(y, highlight=[x, w], engine="builtin")
    assert len(boxes(both.svg, "highlight")) == 7  # every box
    with pytest.raises(ValueError, match="not in the drawn graph"):
        viz.draw(y, highlight=np.ones(3))


def test_a_large_gradient_shows_as_shape_and_norm():
    x = np.ones(1000)
    x.attach_grad()
    small = np.ones(3)
    small.attach_grad()
    with autograd.record():
        y = (3 * x).sum() + (small * 5).sum()
    y.backward()
    t = texts(viz.draw(y, engine="builtin").svg)
    norm = 3 * numpy.sqrt(1000)
    assert f"grad: shape (1000,), norm {norm:.4g}" in t
    assert "grad: [5. 5. 5.]" in t
    assert any(s.startswith("grad: shape (1000,)") for s in texts(viz.draw(y, max_values=2000, engine="builtin").svg)) is False


def test_multi_output_ops_list_each_output():
    x = np.arange(6.0).reshape(2, 3)
    x.attach_grad()
    with autograd.record():
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        y = (u * 2).sum() + s.sum()
    t = texts(viz.draw(y, engine="builtin").svg)
    assert "out 0: (2, 2) float32" in t and "out 1: (2,) float32" in t and "svd" in t


def test_heads_that_are_not_recorded_or_are_variables():
    t = texts(viz.draw(np.ones((2, 2)), engine="builtin").svg)
    assert t == ["constant (not recorded)", "(2, 2) float32"]
    x = torch.ones(2, requires_grad=True)
    assert texts(viz.draw(x, engine="builtin").svg)[:2] == ["AccumulateGrad (variable)", "(2,) float32"]
    with pytest.raises(TypeError, match="tapegrad array"):
        viz.draw(numpy.ones(2))


def test_dot_output(tmp_path):
    x, y, made = mxnet_seed()
    y.backward()
    pic = viz.draw(y, engine="builtin")
    d = pic.dot
    assert d.startswith("digraph tapegrad {") and d.rstrip().endswith("}")
    assert d.count("->") == 4 and '"dot\\n() float32\\n' in d and f"test_viz.py:{made}" in d
    assert re.search(r'n\d+ \[label="variable\\n\(4,\) float32\\ngrad: \[ 0\.  4\.  8\. 12\.\]', d)
    path = pic.save(tmp_path / "g.dot")
    assert open(path).read() == d
    assert pic.save(tmp_path / "g.svg").endswith("g.svg") and ET.parse(tmp_path / "g.svg").getroot().tag.endswith("svg")
    with pytest.raises(ValueError, match=".svg, .png or .dot"):
        pic.save(tmp_path / "g.jpg")


def test_png_and_graphviz_without_dot_say_what_to_install(tmp_path, monkeypatch):
    x, y, _ = mxnet_seed()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    pic = viz.draw(y)
    assert pic.engine == "builtin"  # auto: the built-in layout when dot is missing
    with pytest.raises(RuntimeError, match=r"dot.*pip install 'tapegrad\[viz\]'") as e:
        pic.save(tmp_path / "g.png")
    assert "Graphviz system package" in str(e.value) and not (tmp_path / "g.png").exists()
    with pytest.raises(RuntimeError, match=r"engine='graphviz' needs .*tapegrad\[viz\]"):
        viz.draw(y, engine="graphviz")
    with pytest.raises(ValueError, match="engine must be"):
        viz.draw(y, engine="cairo")


@pytest.mark.skipif(not HAVE_GRAPHVIZ, reason="needs the graphviz package and Graphviz's dot")
def test_png_with_graphviz(tmp_path):
    x, y, _ = mxnet_seed()
    assert viz.draw(y).engine == "graphviz"
    path = viz.draw(y, engine="builtin").save(tmp_path / "g.png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_the_tour_saves_the_seed_graph_next_to_the_plot(tmp_path, monkeypatch):
    from tapegrad import tour
    monkeypatch.setenv("TAPEGRAD_TOUR_PNG", str(tmp_path / "sin.png"))
    monkeypatch.delenv("TAPEGRAD_TOUR_SVG", raising=False)
    x, y, _ = mxnet_seed()
    y.backward()
    msg = tour.save_graph(y)
    assert str(tmp_path / "graph.svg") in msg
    t = texts((tmp_path / "graph.svg").read_text())
    assert "dot" in t and grad_values(t) == [0, 4, 8, 12]
