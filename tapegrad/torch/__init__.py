"""The PyTorch dialect: ``import tapegrad.torch as torch``.

A thin policy layer on tapegrad's engine: tensors record whenever grad mode is on and an input
requires grad, ``.grad`` accumulates, reprs and errors are PyTorch's. No gradient is computed here.
"""
from __future__ import annotations

import builtins as _builtins
from typing import TYPE_CHECKING, Any

from . import autograd  # noqa: F401
from . import cuda, distributed, distributions, linalg, nn, optim, utils, viz  # noqa: F401
from ._creation import *  # noqa: F401,F403
from ._device import device, get_default_device, set_default_device  # noqa: F401
from ._dtypes import (Size, bool, cdouble, cfloat, complex64, complex128, double, dtype,  # noqa: F401,A004
                      float, float16, float32, float64, get_default_dtype, half, int, int8, int16, int32, int64,
                      long, set_default_dtype, short, uint8)
from ._format import set_printoptions  # noqa: F401
from . import _legacy, _saved
from ._legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,  # noqa: F401
                      IntTensor, LongTensor, ShortTensor)
from ._random import Generator, default_generator  # noqa: F401
from ._functions import *  # noqa: F401,F403
from ._functions import bind as _bind
from .serialization import load, save  # noqa: F401
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401
from .autograd import is_anomaly_check_nan_enabled, is_anomaly_enabled  # noqa: F401
from .tensor import Tensor
from . import utils  # noqa: F401
from .utils.dlpack import from_dlpack  # noqa: F401

_bind(Tensor)
_legacy.bind(Tensor)  # torch.Tensor(data), torch.Tensor(2, 3)
_saved.bind()  # grad_fn._saved_self, _saved_result...


def is_tensor(obj: object) -> _builtins.bool:
    """Whether ``obj`` is a tapegrad.torch Tensor."""
    return isinstance(obj, Tensor)


if TYPE_CHECKING:  # for type checkers only
    # Most of PyTorch's functions here are made from tables (``_functions``: exp, sin, eq...) and
    # exported through a computed ``__all__``, which a type checker cannot follow: to it, each is Any.
    def __getattr__(name: str) -> Any: ...



def compile(model: Any = None, *, fullgraph: "_builtins.bool" = False, dynamic: Any = None, backend: Any = "inductor",
            mode: Any = None, options: Any = None, disable: "_builtins.bool" = False) -> Any:  # noqa: A001
    """``torch.compile``: a function or an ``nn.Module`` traced once per input signature and then
    replayed without dispatch (``tapegrad.compile``; a module's parameters and buffers are part of the
    signature, so replacing one retraces). ``backend``, ``mode``, ``dynamic`` and ``options`` are
    accepted and ignored; ``disable=True`` returns ``model`` itself."""
    from .._core.compiled import Compiled  # noqa: PLC0415
    if model is None:
        return lambda m: compile(m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                 options=options, disable=disable)
    if disable:
        return model
    if isinstance(model, nn.Module):
        mod = model
        return Compiled(mod, roots=lambda: [*mod.parameters(), *mod.buffers()])
    return Compiled(model)
