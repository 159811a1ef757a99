"""A hidden Markov model fitted by expectation-maximisation, where the E-step is a gradient.

The log-likelihood of the observations is computed by the forward algorithm in log space (with
``logsumexp``); its gradient with respect to the log-parameters is the expected counts of starts,
transitions and emissions, and the M-step normalises them (HIPS autograd's ``hmm_em`` example).
"""
from __future__ import annotations

import numpy

import tapegrad
import tapegrad.numpy as np
from tapegrad.scipy.special import logsumexp


def log_likelihood(log_params: tuple, obs: np.ndarray) -> float:
    """log p(obs) of one sequence of symbol indices under (log pi, log A, log B)."""
    log_pi, log_A, log_B = log_params
    alpha = log_pi + log_B[:, obs[0]]
    for o in obs[1:]:
        alpha = logsumexp(alpha[:, None] + log_A, axis=0) + log_B[:, o]
    return logsumexp(alpha)


def em_step(params: tuple, seqs: list) -> tuple:
    """One EM step: expected counts as the gradient of the total log-likelihood, then normalised."""
    total = lambda lp: sum(log_likelihood(lp, s) for s in seqs)
    ll, counts = tapegrad.value_and_grad(total)(tuple(numpy.log(p) for p in params))
    # d ll / d log(theta) = expected count of theta
    pi, A, B = (c / c.sum(axis=-1, keepdims=True) for c in counts)
    return (pi, A, B), ll


def sample(params: tuple, length: int, rng: numpy.random.Generator) -> numpy.ndarray:
    pi, A, B = params
    z = rng.choice(len(pi), p=pi)
    obs = []
    for _ in range(length):
        obs.append(rng.choice(B.shape[1], p=B[z]))
        z = rng.choice(len(pi), p=A[z])
    return numpy.array(obs)


def main(small: bool = False) -> dict:
    rng = numpy.random.default_rng(2)
    true = (numpy.array([0.8, 0.2]), numpy.array([[0.9, 0.1], [0.2, 0.8]]),
            numpy.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]]))
    n_seq, length, iters = (10, 40, 15) if small else (40, 100, 40)
    seqs = [sample(true, length, rng) for _ in range(n_seq)]
    params = (numpy.array([0.5, 0.5]), numpy.array([[0.6, 0.4], [0.4, 0.6]]),
              numpy.array([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]]))
    lls = []
    for _ in range(iters):
        params, ll = em_step(params, seqs)
        lls.append(float(ll))
    print(f"HMM EM: log-likelihood {lls[0]:.2f} -> {lls[-1]:.2f}; A = {numpy.round(params[1], 2).tolist()}")
    return {"log_likelihoods": lls, "params": params, "true": true}


if __name__ == "__main__":
    main()
