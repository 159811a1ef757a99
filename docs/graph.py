"""Draws docs/graph.svg, the README's picture: the seed's y = 2 x^T x after its backward.

Run from the repository root: ``python docs/graph.py docs/graph.svg``. The built-in renderer draws it,
so the file is the same on every machine (Graphviz's output varies with its version).
"""
import sys

from tapegrad import autograd, np, viz

x = np.arange(4.0)
x.attach_grad()
with autograd.record():
    y = 2 * np.dot(x, x)
y.backward()
print(viz.draw(y, engine="builtin").save(sys.argv[1] if len(sys.argv) > 1 else "docs/graph.svg"))
