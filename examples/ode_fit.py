"""The parameters of an ordinary differential equation fitted to noisy observations of its solution,
through ``odeint``'s adjoint gradient (HIPS autograd's ``ode_net`` idea, on a known model).

A damped oscillator ``x'' = -k x - c x'`` is observed at a few times; the stiffness ``k`` and the
damping ``c`` (as logarithms, so that they stay positive) are found by SciPy's L-BFGS-B, driven by
``tapegrad.value_and_grad`` of the squared error of ``tapegrad.scipy.integrate.odeint``'s solution.
"""
from __future__ import annotations

import numpy
import scipy.optimize

import tapegrad
import tapegrad.numpy as np
from tapegrad.scipy.integrate import odeint


def oscillator(y: np.ndarray, t: float, log_k: float, log_c: float) -> np.ndarray:
    """d/dt [x, v] = [v, -k x - c v]."""
    k, c = np.exp(log_k), np.exp(log_c)
    return np.array([y[1], -k * y[0] - c * y[1]])


def main(small: bool = False) -> dict:
    rng = numpy.random.default_rng(4)
    true = numpy.log([2.0, 0.3])
    y0 = numpy.array([1.0, 0.0])
    t = numpy.linspace(0.0, 6.0, 12 if small else 40)
    data = odeint(oscillator, y0, t, args=tuple(true)) + 0.01 * rng.standard_normal((len(t), 2))

    def loss(p: np.ndarray) -> float:
        return np.mean((odeint(oscillator, y0, t, args=(p[0], p[1])) - data) ** 2)
    start = numpy.log([1.0, 0.1])
    res = scipy.optimize.minimize(tapegrad.value_and_grad(loss), start, jac=True, method="L-BFGS-B")
    k, c = numpy.exp(res.x)
    print(f"ODE fit: loss {float(loss(start)):.4f} -> {res.fun:.2e} in {res.nit} iterations; "
          f"k = {k:.3f} (true 2), c = {c:.3f} (true 0.3)")
    return {"success": bool(res.success), "start": float(loss(start)), "end": float(res.fun), "k": float(k),
            "c": float(c), "true": numpy.exp(true).tolist()}


if __name__ == "__main__":
    main()
