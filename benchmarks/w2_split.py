"""W2's compiled step against hand-written NumPy, timed two ways: each step on its own (best of
repeats), and alternating the two (the suite's method, median of per-round ratios); with the time
of the eight matrix products both steps make, measured alone.

    python -m benchmarks.w2_split [rounds]
"""
from __future__ import annotations

import statistics
import sys
import time
import timeit

import numpy

from . import w2_mlp


def main(rounds: int = 20) -> None:
    import tapegrad
    params, X, y = w2_mlp.inputs()
    W1, b1, W2, b2, W3, b3 = params
    z1 = X @ W1 + b1
    h1 = numpy.maximum(z1, 0)
    z2 = h1 @ W2 + b2
    h2 = numpy.maximum(z2, 0)
    o = h2 @ W3 + b3
    go, gz2, gz1 = numpy.ones_like(o), numpy.ones_like(z2), numpy.ones_like(z1)
    products = [lambda: X @ W1, lambda: h1 @ W2, lambda: h2 @ W3, lambda: h2.T @ go, lambda: go @ W3.T,
                lambda: h1.T @ gz2, lambda: gz2 @ W2.T, lambda: X.T @ gz1]
    mm = sum(min(timeit.repeat(f, number=50, repeat=7)) / 50 for f in products)
    steps = {"compiled": w2_mlp.compiled_step(params, X, y), "numpy": w2_mlp.numpy_step(params, X, y)}
    for f in steps.values():
        f()
        f()
    alone = {k: min(timeit.repeat(f, number=50, repeat=7)) / 50 for k, f in steps.items()}
    times: dict = {k: [] for k in steps}
    for _ in range(rounds):
        for k, f in steps.items():
            t, n = time.perf_counter(), 0
            while time.perf_counter() - t < 0.1:
                f()
                n += 1
            times[k].append((time.perf_counter() - t) / n)
    ratio = statistics.median(a / b for a, b in zip(times["compiled"], times["numpy"]))
    print(f"tapegrad {tapegrad.__version__}, NumPy {numpy.__version__}; ms per step")
    print(f"the 8 matrix products alone: {mm * 1e3:.3f}")
    print(f"each alone (best of 7 x 50): compiled {alone['compiled'] * 1e3:.3f}, NumPy by hand "
          f"{alone['numpy'] * 1e3:.3f}, ratio {alone['compiled'] / alone['numpy']:.3f}")
    print(f"alternating ({rounds} rounds, medians): compiled {statistics.median(times['compiled']) * 1e3:.3f}, "
          f"NumPy by hand {statistics.median(times['numpy']) * 1e3:.3f}, ratio {ratio:.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
