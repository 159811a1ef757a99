"""Logistic regression fitted by SciPy's L-BFGS-B, driven by ``tapegrad.value_and_grad``.

The loss is written with ``tapegrad.numpy`` as with NumPy; ``value_and_grad`` hands SciPy a float
and a NumPy gradient, so ``scipy.optimize.minimize(..., jac=True)`` takes it as it is.
"""
from __future__ import annotations

import numpy
from scipy.optimize import minimize

import tapegrad
import tapegrad.numpy as np


def loss(w: np.ndarray, X: np.ndarray, y: np.ndarray, l2: float) -> float:
    """Mean logistic loss of labels ``y`` in {0, 1} plus an L2 penalty."""
    z = np.dot(X, w[:-1]) + w[-1]
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.sum(w[:-1] ** 2)


def main(small: bool = False) -> dict:
    rng = numpy.random.default_rng(0)
    n, d = (200, 5) if small else (5000, 20)
    true_w = 2.0 * rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + numpy.exp(-(X @ true_w + 0.5)))).astype(float)
    res = minimize(tapegrad.value_and_grad(loss), numpy.zeros(d + 1), args=(X, y, 1e-3), jac=True,
                   method="L-BFGS-B")
    grad_norm = float(numpy.linalg.norm(tapegrad.grad(loss)(res.x, X, y, 1e-3)))
    accuracy = float(numpy.mean((X @ res.x[:-1] + res.x[-1] > 0) == (y > 0.5)))
    print(f"L-BFGS-B: {res.nit} iterations, loss {res.fun:.5f}, |grad| {grad_norm:.2e}, accuracy {accuracy:.3f}")
    return {"success": bool(res.success), "loss": float(res.fun), "grad_norm": grad_norm, "accuracy": accuracy,
            "w": res.x}


if __name__ == "__main__":
    main()
