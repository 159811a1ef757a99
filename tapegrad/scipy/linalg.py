"""``tapegrad.scipy.linalg``: ``scipy.linalg`` with sqrtm, expm, solve_triangular, cho_factor, cho_solve
and solve_sylvester differentiable (to any order). On plain values every function is SciPy's own."""
from __future__ import annotations

from typing import Any

from .. import ops as _ops
from ._door import install, scipy_module

_ref = scipy_module("linalg")

_la = _ops.scipy_linalg
_NOT_GIVEN = object()


def _sqrtm(A: Any, disp: Any = _NOT_GIVEN, blocksize: Any = _NOT_GIVEN) -> Any:  # noqa: N803 - SciPy's name
    if disp is False:
        raise ValueError("tapegrad.scipy.linalg.sqrtm: disp=False (which also returns an error estimate) is not "
                         "supported on arrays being differentiated; leave disp out")
    return _la.sqrtm(A)


def _expm(A: Any) -> Any:  # noqa: N803
    return _la.expm(A)


def _solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False, unit_diagonal: bool = False,
                      overwrite_b: bool = False, check_finite: bool = True) -> Any:
    return _la.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> tuple:
    return _la.cho_factor(a, lower=bool(lower)), bool(lower)


def _cho_solve(c_and_lower: Any, b: Any, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    if not (isinstance(c_and_lower, (tuple, list)) and len(c_and_lower) == 2):
        raise ValueError("cho_solve takes (c, lower) first, as cho_factor returns it: cho_solve(cho_factor(a), b)")
    c, lower = c_and_lower
    return _la.cho_solve(c, b, lower=bool(lower))


def _solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    return _la.solve_sylvester(a, b, q)


_FUNCTIONS = {"sqrtm": _sqrtm, "expm": _expm, "solve_triangular": _solve_triangular, "cho_factor": _cho_factor,
              "cho_solve": _cho_solve, "solve_sylvester": _solve_sylvester}
__getattr__, __dir__ = install(_ref, "tapegrad.scipy.linalg", _FUNCTIONS, globals())
for _name in _FUNCTIONS:
    globals()[_name].op = getattr(_la, _name)  # the op each runs on tapegrad arrays
