"""Gradient-based optimizers with HIPS autograd's signatures (``autograd.misc.optimizers``).

Each takes ``grad(x, i)`` (the gradient at ``x`` on iteration ``i``), a starting point ``x0`` that
may be any nesting of tuples, lists and dicts of arrays (flattened with ``tapegrad.misc.flatten``),
and calls ``callback(x, i, g)`` (when given) before each step; it returns the final point in
``x0``'s structure. Plain NumPy arithmetic: the steps themselves are not differentiated, though a
traced ``x0`` is carried through.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from .. import numpy as np
from .flatten import flatten

__all__ = ["unflatten_optimizer", "sgd", "rmsprop", "adam"]


def unflatten_optimizer(optimize: Callable) -> Callable:
    """An optimizer of flat 1-d arrays made one of containers: ``x0``, ``grad``'s argument and
    result and ``callback``'s arguments keep the structure of ``x0``."""
    @functools.wraps(optimize)
    def _optimize(grad: Callable, x0: Any, callback: Callable | None = None, *args: Any, **kwargs: Any) -> Any:
        _x0, unflatten = flatten(x0)

        def _grad(x: Any, i: int) -> Any:
            return flatten(grad(unflatten(x), i))[0]
        _callback = None
        if callback:
            def _callback(x: Any, i: int, g: Any) -> Any:
                return callback(unflatten(x), i, unflatten(g))
        return unflatten(optimize(_grad, _x0, _callback, *args, **kwargs))
    return _optimize


@unflatten_optimizer
def sgd(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 200, step_size: float = 0.1,
        mass: float = 0.9) -> Any:
    """Stochastic gradient descent with momentum: ``grad(x, i)`` at iteration ``i``."""
    velocity = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        velocity = mass * velocity - (1.0 - mass) * g
        x = x + step_size * velocity
    return x


@unflatten_optimizer
def rmsprop(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 100, step_size: float = 0.1,
            gamma: float = 0.9, eps: float = 10**-8) -> Any:
    """Root-mean-square propagation: steps scaled by a running average of squared gradients."""
    avg_sq_grad = np.ones(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        avg_sq_grad = avg_sq_grad * gamma + g**2 * (1 - gamma)
        x = x - step_size * g / (np.sqrt(avg_sq_grad) + eps)
    return x


@unflatten_optimizer
def adam(grad: Callable, x: Any, callback: Callable | None = None, num_iters: int = 100, step_size: float = 0.001,
         b1: float = 0.9, b2: float = 0.999, eps: float = 10**-8) -> Any:
    """Adam (Kingma and Ba, arXiv:1412.6980): moment estimates with bias correction."""
    m = np.zeros(len(x))
    v = np.zeros(len(x))
    for i in range(num_iters):
        g = grad(x, i)
        if callback:
            callback(x, i, g)
        m = (1 - b1) * g + b1 * m  # first moment estimate
        v = (1 - b2) * (g**2) + b2 * v  # second moment estimate
        mhat = m / (1 - b1 ** (i + 1))  # bias corrections
        vhat = v / (1 - b2 ** (i + 1))
        x = x - step_size * mhat / (np.sqrt(vhat) + eps)
    return x
