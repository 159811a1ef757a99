"""The seed chapter, "Automatic Differentiation" (D2L), end to end on tapegrad.

Run ``python -m tapegrad.tour``: each cell of the MXNet tab, then of the PyTorch tab, is shown with
its code and, as a notebook would, the value of its last expression. Then the exercises: a second derivative, backward twice (and the
error), control flow on vectors, and sin(x) with the derivative computed by autograd, plotted to
a PNG when matplotlib is installed. Then the control-flow step under ``tapegrad.compile``. Last, the
picture of the chapter's first graph (``tapegrad.viz``), saved as an SVG next to the plot.
"""
from __future__ import annotations

import ast
import contextlib
import os
import sys
from typing import Any

CHAPTER = [
    ("Import the MXNet dialect (only this line differs from the book).",
     "from tapegrad import autograd, np, npx\nnpx.set_np()"),
    ("A simple function: y = 2 x^T x, with x a column vector.", "x = np.arange(4.0)\nx"),
    ("Attach a gradient buffer to x.", "x.attach_grad()\n# After we calculate a gradient taken with respect to `x`, we will be able to\n"
     "# access it via the `grad` attribute, whose values are initialized with 0s\nx.grad"),
    ("Record the computation.", "# Record computation within this scope\nwith autograd.record():\n    y = 2 * np.dot(x, x)\ny"),
    ("Backpropagate.", "y.backward()"),
    ("The gradient of 2 x^T x is 4x.", "x.grad"),
    ("Check it.", "x.grad == 4 * x"),
    ("Another function of x: the gradient buffer is overwritten.",
     "with autograd.record():\n    y = x.sum()\ny.backward()\nx.grad  # Overwritten by the newly calculated gradient"),
    ("Backward for non-scalar variables: a vector head means the gradient of its sum.",
     "# When we invoke `backward` on a vector-valued variable `y` (function of `x`),\n"
     "# a new scalar variable is created by summing the elements in `y`. Then the\n"
     "# gradient of that scalar variable with respect to `x` is computed\n"
     "with autograd.record():\n    y = x * x  # `y` is a vector\ny.backward()\n\n"
     "u = x.copy()\nu.attach_grad()\nwith autograd.record():\n    v = (u * u).sum()  # `v` is a scalar\nv.backward()\n\n"
     "x.grad == u.grad"),
    ("Detaching computation: u is a constant for z = u * x.",
     "with autograd.record():\n    y = x * x\n    u = y.detach()\n    z = u * x\nz.backward()\nx.grad == u"),
    ("y's own graph is still there.", "y.backward()\nx.grad == 2 * x"),
    ("Gradients of Python control flow.",
     "def f(a):\n    b = a * 2\n    while np.linalg.norm(b) < 1000:\n        b = b * 2\n    if b.sum() > 0:\n"
     "        c = b\n    else:\n        c = 100 * b\n    return c"),
    ("A random scalar through the loop.",
     "npx.random.seed(0)\na = np.random.normal()\na.attach_grad()\nwith autograd.record():\n    d = f(a)\nd.backward()"),
    ("f is piecewise linear in a, so its derivative is d / a.", "a.grad == d / a"),
    ("Training mode is on inside record() and off outside.",
     "print(autograd.is_training())\nwith autograd.record():\n    print(autograd.is_training())"),
]

TORCH_TAB = [
    ("The same chapter in the PyTorch dialect (again only the import differs from the book).",
     "import tapegrad.torch as torch\ntorch.manual_seed(0)\nx = torch.arange(4.0, requires_grad=True)\nx"),
    ("The gradient is None until the first backward.", "x.grad"),
    ("Record (always on) and backpropagate.", "y = 2 * torch.dot(x, x)\ny"),
    ("", "y.backward()\nx.grad"),
    ("", "x.grad == 4 * x"),
    ("PyTorch accumulates gradients: zero them first.", "x.grad.zero_()  # Reset the gradient\ny = x.sum()\n"
     "y.backward()\nx.grad"),
    ("Detaching computation.", "x.grad.zero_()\ny = x * x\nu = y.detach()\nz = u * x\n\nz.sum().backward()\n"
     "x.grad == u"),
    ("", "x.grad.zero_()\ny.sum().backward()\nx.grad == 2 * x"),
    ("Control flow, with .item() for the Python conditions.",
     "def f(a):\n    b = a * 2\n    while b.norm().item() < 1000:\n        b = b * 2\n    if b.sum().item() > 0:\n"
     "        c = b\n    else:\n        c = 100 * b\n    return c\n\n"
     "a = torch.randn(size=(1,), requires_grad=True)\nd = f(a)\nd.backward()\na.grad == d / a"),
]

EXERCISES = [
    ("Exercise 1: the second derivative. d^2/dx^2 sum(x^3) = 6x, through autograd.grad(create_graph=True).",
     "x = np.array([1.0, 2.0, 3.0])\nx.attach_grad()\nwith autograd.record():\n    y = (x ** 3).sum()\n"
     "    dy, = autograd.grad(y, [x], create_graph=True)\ndy.backward()\nx.grad  # 6x"),
    ("Exercise 2: backward twice. Without retain_graph the graph is gone after the first pass.",
     "from tapegrad import AutogradError\nx = np.arange(4.0)\nx.attach_grad()\nwith autograd.record():\n"
     "    y = 2 * np.dot(x, x)\ny.backward()\ntry:\n    y.backward()\nexcept AutogradError as e:\n"
     "    print(type(e).__name__ + ':', e)\nx.grad  # unchanged by the failed call"),
    ("... and with retain_graph=True it works (grad_req='add' accumulates).",
     "x.attach_grad(grad_req='add')\nwith autograd.record():\n    y = 2 * np.dot(x, x)\n"
     "y.backward(retain_graph=True)\ny.backward()\nx.grad"),
    ("Exercise 3: f(a) with a vector a. f is k*a for one k, so a.grad == d / a everywhere.",
     "a = np.random.normal(size=(3,))\na.attach_grad()\nwith autograd.record():\n    d = f(a)\n"
     "d.backward()  # a vector head: the gradient of d.sum()\na.grad == d / a"),
    ("Exercise 5: f(x) = sin(x) and its derivative, computed by autograd (not by cos).",
     "x = np.linspace(-2 * np.pi, 2 * np.pi, 200)\nx.attach_grad()\nwith autograd.record():\n    y = np.sin(x)\n"
     "y.backward()\nplot_sin_and_derivative(x, y, x.grad)"),
]


def plot_sin_and_derivative(x: Any, y: Any, dy: Any, path: str | None = None) -> str:
    """Save sin(x) and its autograd derivative to a PNG; returns what was done, in words."""
    path = path or os.environ.get("TAPEGRAD_TOUR_PNG", "sin_and_derivative.png")
    from . import np  # noqa: PLC0415
    check = f"max |dy/dx - cos(x)| = {float(np.abs(dy - np.cos(x)).max()):.1e}"
    try:
        import matplotlib  # noqa: PLC0415
    except ImportError:
        return ("matplotlib is not installed, so no plot was drawn (pip install 'tapegrad[plot]' "
                f"to get {path}); {check}")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(x, y, label="f(x) = sin(x)")
    ax.plot(x, dy, "--", label="df/dx by autograd")
    ax.set_xlabel("x")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"saved the plot to {os.path.abspath(path)}; {check}"

def save_graph(y: Any, path: str | None = None) -> str:
    """Save the picture of ``y``'s graph as an SVG (next to the sin plot); returns what was done, in words."""
    png = os.environ.get("TAPEGRAD_TOUR_PNG", "sin_and_derivative.png")
    path = path or os.environ.get("TAPEGRAD_TOUR_SVG") or os.path.join(os.path.dirname(png), "graph.svg")
    from . import viz  # noqa: PLC0415
    pic = viz.draw(y)
    return f"saved the picture of the graph to {pic.save(path)} (drawn by the {pic.engine} renderer)"


COMPILED = [
    ("Beyond the chapter: the record-and-backward step of f, compiled. The first call runs eagerly and is "
     "traced; later calls replay the traced ops (forward and backward) on raw buffers. The loop and the "
     "branch read array values: those reads are guards, and an input that goes another way is traced too.",
     "import tapegrad\n\n@tapegrad.compile\ndef step(a):\n    with autograd.record():\n        d = f(a)\n"
     "    d.backward()\n    return d\n\nfor v in (0.7, -0.2, 3.0, 0.7, -0.2):\n    a = np.array(v)\n"
     "    a.attach_grad()\n    d = step(a)\n    print(v, d, a.grad == d / a)\nprint(step.explain())"),
]


GRAPH = [
    ("Beyond the chapter: the picture of y = 2 x^T x, after its backward (so x shows its gradient and the "
     "ops show that the backward freed them). In a notebook, y.draw() shows it inline.",
     "x = np.arange(4.0)\nx.attach_grad()\nwith autograd.record():\n    y = 2 * np.dot(x, x)\ny.backward()\n"
     "save_graph(y)"),
]


def _run_cell(src: str, ns: dict) -> Any:
    """Execute a cell; return the value of its last expression (None if it ends in a statement)."""
    tree = ast.parse(src)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body.pop()
    exec(compile(tree, "<tour>", "exec"), ns)  # noqa: S102 - the tour's own cells
    if last is not None:
        return eval(compile(ast.Expression(last.value), "<tour>", "eval"), ns)  # noqa: S307
    return None


def main(out=None) -> int:
    """Print the chapter and the exercises, cell by cell."""
    out = out or sys.stdout
    mxnet_ns: dict = {"plot_sin_and_derivative": plot_sin_and_derivative, "save_graph": save_graph}
    n = 0
    for title, cells, ns in (("Automatic Differentiation (D2L 2.5), MXNet dialect on tapegrad", CHAPTER, mxnet_ns),
                             ("The PyTorch tab", TORCH_TAB, {}),
                             ("Exercises (MXNet dialect)", EXERCISES, mxnet_ns),
                             ("Compiled (tapegrad.compile)", COMPILED, mxnet_ns),
                             ("Seeing the graph (tapegrad.viz)", GRAPH, mxnet_ns)):
        print(f"\n{'=' * 78}\n{title}\n{'=' * 78}", file=out)
        for text, src in cells:
            n += 1
            if text:
                print(f"\n# {text}", file=out)
            else:
                print(file=out)
            for i, line in enumerate(src.splitlines()):
                print(f"{'In [%d]: ' % n if i == 0 else ' ' * len('In [%d]: ' % n)}{line}", file=out)
            out.flush()
            with contextlib.redirect_stdout(out):
                value = _run_cell(src, ns)
            if value is not None:
                text_value = value if isinstance(value, str) else repr(value)
                print(f"Out[{n}]: {text_value}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
