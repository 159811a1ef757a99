"""Gaussian-process regression whose kernel hyperparameters are fitted by maximising the log
marginal likelihood (``scipy.stats.multivariate_normal.logpdf``) with SciPy's L-BFGS-B, as in HIPS
autograd's ``gaussian_process`` example."""
from __future__ import annotations

import numpy
from scipy.optimize import minimize

import tapegrad
import tapegrad.numpy as np
from tapegrad.scipy.stats import multivariate_normal as mvn


def rbf(x: np.ndarray, xp: np.ndarray, log_amp: float, log_len: float) -> np.ndarray:
    d = (x[:, None] - xp[None, :]) / np.exp(log_len)
    return np.exp(2 * log_amp) * np.exp(-0.5 * d ** 2)


def neg_log_marginal(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """-log p(y | x, theta) for theta = (mean, log amplitude, log length, log noise)."""
    mean, log_amp, log_len, log_noise = theta[0], theta[1], theta[2], theta[3]
    K = rbf(x, x, log_amp, log_len) + (np.exp(2 * log_noise) + 1e-8) * np.eye(len(x))
    return -mvn.logpdf(y, mean * np.ones(len(x)), K)


def main(small: bool = False) -> dict:
    rng = numpy.random.default_rng(3)
    n = 25 if small else 80
    x = numpy.sort(rng.uniform(-4, 4, n))
    noise = 0.1
    y = numpy.cos(1.5 * x) + 0.5 + noise * rng.standard_normal(n)
    theta0 = numpy.array([0.0, 0.0, 0.0, -1.0])
    start = float(neg_log_marginal(theta0, x, y))
    res = minimize(tapegrad.value_and_grad(neg_log_marginal), theta0, args=(x, y), jac=True, method="L-BFGS-B")
    mean, amp, length, fitted_noise = res.x[0], *numpy.exp(res.x[1:])
    print(f"GP: -log p(y) {start:.2f} -> {res.fun:.2f}; mean {mean:.2f}, amplitude {amp:.2f}, "
          f"length {length:.2f}, noise {fitted_noise:.3f} (true noise {noise})")
    return {"start": start, "end": float(res.fun), "noise": float(fitted_noise), "true_noise": noise,
            "success": bool(res.success)}


if __name__ == "__main__":
    main()
