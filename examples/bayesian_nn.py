"""A Bayesian neural network fitted by black-box variational inference: a diagonal Gaussian over the
weights, the evidence lower bound estimated with the reparameterisation trick, maximised by
``tapegrad.misc.optimizers.adam`` (HIPS autograd's ``bayesian_neural_net`` example, shortened)."""
from __future__ import annotations

import numpy

import tapegrad
import tapegrad.numpy as np
import tapegrad.numpy.random as npr
from tapegrad.misc.optimizers import adam
from tapegrad.scipy.stats import norm

LAYERS = (1, 20, 1)


def shapes() -> list:
    return [(m * n + n) for m, n in zip(LAYERS[:-1], LAYERS[1:])]


def predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Outputs for a batch of weight samples (samples, n_weights) at inputs x (n, 1)."""
    h = np.broadcast_to(x, (weights.shape[0],) + x.shape)
    k = 0
    for i, (m, n) in enumerate(zip(LAYERS[:-1], LAYERS[1:])):
        W = np.reshape(weights[:, k:k + m * n], (weights.shape[0], m, n))
        b = np.reshape(weights[:, k + m * n:k + m * n + n], (weights.shape[0], 1, n))
        k += m * n + n
        h = np.matmul(h, W) + b
        if i < len(LAYERS) - 2:
            h = np.tanh(h)
    return h


def elbo(params: np.ndarray, x: np.ndarray, y: np.ndarray, noise: np.ndarray, sigma: float) -> float:
    """One-sample-batch estimate of the evidence lower bound for the mean and log std ``params``."""
    d = params.shape[0] // 2
    mean, log_std = params[:d], params[d:]
    w = mean + np.exp(log_std) * noise
    log_prior = np.sum(norm.logpdf(w, 0.0, 1.0), axis=1)
    log_lik = np.sum(norm.logpdf(y, predict(w, x), sigma), axis=(1, 2))
    entropy = np.sum(log_std) + 0.5 * d * (1 + np.log(2 * np.pi))
    return np.mean(log_prior + log_lik) + entropy


def main(small: bool = False) -> dict:
    npr.seed(0)
    n, samples, iters = (20, 10, 600) if small else (40, 20, 1500)
    x = numpy.concatenate([numpy.linspace(0, 2, n // 2), numpy.linspace(6, 8, n // 2)])[:, None]
    y = numpy.cos(x) + 0.1 * npr.randn(*x.shape)
    d = sum(shapes())
    params = numpy.concatenate([0.1 * npr.randn(d), -5 * numpy.ones(d)])
    noise_draws = [npr.randn(samples, d) for _ in range(iters)]
    objective = lambda p, i: -elbo(p, x, y, noise_draws[i], 0.1)
    start = -objective(params, 0)
    params = adam(tapegrad.grad(objective), params, step_size=0.05, num_iters=iters)
    end = float(numpy.mean([-objective(params, i) for i in range(min(20, iters))]))
    fit = predict(params[None, :d], x)[0]
    rmse = float(numpy.sqrt(numpy.mean((fit - numpy.cos(x)) ** 2)))
    print(f"BNN by BBVI: ELBO {start:.1f} -> {end:.1f}; RMSE of the mean network {rmse:.3f}")
    return {"start": float(start), "end": end, "rmse": rmse}


if __name__ == "__main__":
    main()
