"""A recurrent network written as HIPS autograd users write it: a loop that accumulates with ``+=``.

It learns to output ``y_t = sin(x_1 + ... + x_t)`` for a random input
sequence; the loss is the mean squared error over all steps, minimised by ``tapegrad.misc``'s Adam.
"""
from __future__ import annotations

import numpy

import tapegrad
import tapegrad.numpy as np
from tapegrad.misc.optimizers import adam


def init_params(hidden: int, rng: numpy.random.Generator) -> dict:
    return {"Wx": 0.5 * rng.standard_normal((1, hidden)), "Wh": 0.3 * rng.standard_normal((hidden, hidden)),
            "b": numpy.zeros(hidden), "Wo": 0.5 * rng.standard_normal((hidden, 1)), "bo": numpy.zeros(1)}


def loss(params: dict, xs: np.ndarray, ys: np.ndarray) -> float:
    """Mean squared error of the network's outputs over a batch of sequences (batch, time)."""
    h = np.zeros((xs.shape[0], params["Wh"].shape[0]))
    total = 0.0
    for t in range(xs.shape[1]):
        h = np.tanh(np.dot(xs[:, t:t + 1], params["Wx"]) + np.dot(h, params["Wh"]) + params["b"])
        out = np.dot(h, params["Wo"]) + params["bo"]
        total += np.sum((out[:, 0] - ys[:, t]) ** 2)  # value semantics: rebinds, as in HIPS
    return total / ys.size


def main(small: bool = False) -> dict:
    rng = numpy.random.default_rng(1)
    batch, steps, hidden, iters = (32, 6, 8, 300) if small else (64, 12, 16, 1500)
    xs = rng.uniform(-0.5, 0.5, (batch, steps))
    ys = numpy.sin(numpy.cumsum(xs, axis=1))
    params = init_params(hidden, rng)
    start = loss(params, xs, ys)
    params = adam(tapegrad.grad(lambda p, i: loss(p, xs, ys)), params, step_size=0.02, num_iters=iters)
    end = loss(params, xs, ys)
    print(f"RNN: mean squared error {start:.4f} -> {end:.5f} after {iters} Adam steps")
    return {"start": float(start), "end": float(end)}


if __name__ == "__main__":
    main()
