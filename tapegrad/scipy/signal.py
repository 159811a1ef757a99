"""``tapegrad.scipy.signal``: ``scipy.signal`` with ``convolve`` differentiable (n-D; 'full', 'valid',
'same'; in both inputs, to any order). On plain values every function is SciPy's own."""
from __future__ import annotations

from typing import Any

from .. import ops as _ops
from ..numpy._door import Namespace as _Namespace
from ._opdoor import present as _present, scipy_module as _scipy_module

_ref = _scipy_module("signal")


def _convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto", **kwargs: Any) -> Any:
    if kwargs:
        raise TypeError(f"tapegrad.scipy.signal.convolve takes SciPy's arguments (in1, in2, mode, method), not "
                        f"{sorted(kwargs)}: HIPS autograd's axes/dot_axes are not supported; convolve each slice "
                        "(np.stack of a loop) or use npx.convolution for batched multi-channel convolutions")
    return _ops.signal.convolve(in1, in2, mode=mode, method=method)


_NS = _Namespace(_ref, "scipy.signal", "tapegrad.scipy.signal", {"convolve": _convolve})
_present(_NS.table, __name__, _ref)
globals().update(_NS.table)


def __getattr__(name: str) -> Any:
    value = _NS.get(name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return _NS.names()
