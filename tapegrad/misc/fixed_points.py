"""A fixed point differentiated through its implicit function (HIPS autograd's
``autograd.misc.fixed_points``)."""
from __future__ import annotations

from typing import Any, Callable

import numpy

from .._core.functional import make_vjp
from .._core.tree import flatten, unflatten
from ..extend import defvjp, primitive

__all__ = ["fixed_point"]


@primitive
def fixed_point(f: Callable, a: Any, x0: Any, distance: Callable, tol: float) -> Any:
    """The fixed point ``x = f(a)(x)`` reached by iterating ``f(a)`` from ``x0`` until
    ``distance(x, x_prev) <= tol``. Its gradient with respect to ``a`` is that of the implicit
    function ``x*(a)``: the adjoint equation is solved by the same iteration, not by
    differentiating through the steps (which are not recorded)."""
    _f = f(a)
    x, x_prev = _f(x0), x0
    while distance(x, x_prev) > tol:
        x, x_prev = _f(x), x
    return x


def _fixed_point_vjp(ans: Any, f: Callable, a: Any, x0: Any, distance: Callable, tol: float) -> Callable:
    # x* = f(a)(x*) gives a_bar = (d f(a)(x*) / d a)^T w, where w = g + (d f(a)(x) / d x at x*)^T w:
    # w is itself the fixed point of an iteration, found by fixed_point (so higher orders follow)
    def rev_iter(params: tuple) -> Callable:
        a, x_star, x_star_bar = params
        vjp_x, _ = make_vjp(f(a))(x_star)
        return lambda g: _add(vjp_x(g), x_star_bar)

    vjp_a, _ = make_vjp(lambda x, y: f(x)(y))(a, ans)
    return lambda g: vjp_a(fixed_point(rev_iter, (a, ans, g), _zeros(x0), distance, tol))


def _add(x: Any, y: Any) -> Any:
    """``x + y`` leaf by leaf (containers add as vectors, not by concatenation)."""
    xs, tree = flatten(x)
    return unflatten(tree, [u + v for u, v in zip(xs, flatten(y)[0])])


def _zeros(x: Any) -> Any:
    leaves, tree = flatten(x)
    return unflatten(tree, [numpy.zeros(numpy.shape(v)) for v in leaves])


defvjp(fixed_point, None, _fixed_point_vjp, None)
