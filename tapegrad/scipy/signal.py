"""``tapegrad.scipy.signal``: ``scipy.signal`` with ``convolve`` differentiable (n-D; 'full', 'valid',
'same'; in both inputs, to any order). On plain values every function is SciPy's own."""
from __future__ import annotations

from typing import Any

from .. import ops as _ops
from ._door import install, scipy_module

_ref = scipy_module("signal")


def _convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto", **kwargs: Any) -> Any:
    if kwargs:
        raise TypeError(f"tapegrad.scipy.signal.convolve takes SciPy's arguments (in1, in2, mode, method), not "
                        f"{sorted(kwargs)}: HIPS autograd's axes/dot_axes are not supported; convolve each slice "
                        "(np.stack of a loop) or use npx.convolution for batched multi-channel convolutions")
    return _ops.signal.convolve(in1, in2, mode=mode, method=method)


__getattr__, __dir__ = install(_ref, "tapegrad.scipy.signal", {"convolve": _convolve}, globals())
globals()["convolve"].op = _ops.signal.convolve  # the op it runs on tapegrad arrays
