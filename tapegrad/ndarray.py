"""The MXNet dialect's array type, ``tapegrad.np.ndarray``."""
from __future__ import annotations

import functools
import re
import weakref
from typing import TYPE_CHECKING, Any

import numpy

from ._core import engine
from ._core import events as _events
from ._core import mode as _mode
from ._core.array import OPS, Array, grad_buffer
from ._core.errors import INPLACE_IN_GRAPH
from ._core.explain import explain as _explain
from .backend import Device, device_of, to_device, to_host

if TYPE_CHECKING:
    from .viz import Picture

__all__ = ["ndarray"]

_DTYPE_SUFFIX = re.compile(r",\s*dtype=[^)]*\)$")


#: id of a variable's gradient buffer -> (weak reference to the buffer, to the variable's leaf node):
#: how a write through ``x.grad[...] = ...`` (a fresh view of the buffer) is noted for ``explain``.
_GRAD_OWNERS: dict[int, tuple] = {}


def _forget_owner(key: int, _ref: Any) -> None:
    _GRAD_OWNERS.pop(key, None)


class ndarray(Array):  # noqa: N801 - MXNet's name
    """An n-d array with MXNet's autograd policy: record only inside ``autograd.record()``,
    gradients written into buffers that ``attach_grad`` allocates once."""

    __slots__ = ()
    _list_dtype = numpy.float32  # MXNet: Python data becomes float32
    _float_indices = True  # ... so float32 index arrays must work (D2L's data_iter)
    _same_dtype_products = True  # np.dot(float64, float32) is refused, as in MXNet

    # -- autograd ------------------------------------------------------------------------------
    def attach_grad(self, grad_req: str = "write") -> None:
        """Make this array a variable with a zero gradient buffer (``'write'``, ``'add'`` or ``'null'``).

        Unlike MXNet, integer and boolean arrays are refused: their gradient would be silently
        truncated to integers."""
        if self.dtype.kind not in "fc":
            raise TypeError(f"attach_grad() needs a floating-point array, but this one has dtype {self.dtype}; "
                            "cast it first, e.g. x = x.astype('float32')")
        self._attach(grad_req)
        buf = self._grad
        _GRAD_OWNERS[id(buf)] = (weakref.ref(buf, functools.partial(_forget_owner, id(buf))), weakref.ref(self._node))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        owner = _GRAD_OWNERS.get(id(self._data)) if _GRAD_OWNERS else None
        if owner is not None and owner[0]() is self._data:  # a write into a variable's gradient buffer
            node = owner[1]()
            if node is not None:
                _events.zeroed(node, "x.grad[...] = ...")

    @property
    def grad(self) -> "ndarray | None":
        """The gradient buffer (same memory across backward passes), or None before ``attach_grad``."""
        if self._grad is None:
            return None
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.attr_ref(self, grad_buffer)
        return ndarray._make(self._grad)

    def backward(self, out_grad: Any = None, retain_graph: bool = False, train_mode: bool = True) -> None:
        """Gradients of this head (of its sum, for a non-scalar head) into the variables' buffers."""
        engine.backward([self], None if out_grad is None else [out_grad], retain_graph=retain_graph,
                        train_mode=train_mode)

    def draw(self, *, collapse: bool = False, depth: int | None = None, highlight: Any = None,
             constants: bool = True, max_values: int = 10, engine: str | None = None) -> "Picture":
        """A picture of the graph that computed this array (``tapegrad.viz.draw``)."""
        from .viz import draw  # noqa: PLC0415 - only when a picture is asked for
        return draw(self, collapse=collapse, depth=depth, highlight=highlight, constants=constants,
                    max_values=max_values, engine=engine)

    @classmethod
    def _err_inplace(cls) -> str:
        return INPLACE_IN_GRAPH

    #: ``explain``'s words in this dialect (see ``_core/explain.TERMS``).
    _explain_terms = {
        "mark": "call x.attach_grad() before the forward, and run the forward inside autograd.record()",
        "paused": "while not recording (outside autograd.record(), or inside autograd.pause())",
        "record": "compute it inside `with autograd.record():`",
        "retain": "pass retain_graph=True to the first backward (y.backward(retain_graph=True)), or run the "
                  "forward again inside autograd.record()",
        "not_leaf": "gradients are kept for variables only: call attach_grad() on the array it was computed "
                    "from, or use autograd.grad(head, [x]) for an intermediate array",
        "zeroed": "read or use the gradient before resetting it",
        "add": "call x.attach_grad(grad_req='add') to sum the gradients of several backwards, or read the "
               "gradient between them",
        "returned": "autograd.grad returns the gradients and leaves x.grad alone: use what it returned, or "
                    "call y.backward() to write them into x.grad",
        "reattach": "call x.attach_grad() once, before the forward inside autograd.record(); attach_grad() "
                    "after it starts a new variable the recorded graph does not lead to",
    }

    def explain(self, head: Any = None) -> Any:
        """Why this array's gradient is None or zero after the last backward (or ``head``'s graph), naming
        the lines responsible; see ``tapegrad.explain``."""
        return _explain(self, head=head)

    # -- conversion and devices --------------------------------------------------------------
    def asnumpy(self) -> numpy.ndarray:
        """A host NumPy copy."""
        a = numpy.array(to_host(self._data))
        rec = _mode.RECORDER.get()
        if rec is not None:
            rec.guard("array", self, a.copy())
        return a

    def copy(self) -> "ndarray":
        """A copy with no gradient buffer and no history."""
        return ndarray._make(self._data.copy())

    def astype(self, dtype: Any, copy: bool = True) -> "ndarray":
        """The array cast to ``dtype`` (differentiable between float types)."""
        dtype = numpy.dtype(dtype)
        if not copy and dtype == self.dtype:
            return self
        return OPS.astype(self, dtype)

    @property
    def ctx(self) -> Device:
        """The device that holds the array."""
        return device_of(self._data)

    context = ctx
    device = ctx

    def as_in_ctx(self, ctx: Device) -> "ndarray":
        """The array on ``ctx`` (itself when already there)."""
        src = self.ctx
        if ctx == src:
            return self
        return OPS.device_copy(self, ctx=ctx, src=src)

    as_in_context = as_in_ctx
    to_device = as_in_ctx

    def copyto(self, other: Any) -> "ndarray":
        """Copy into another array (in place) or onto a device (a new array)."""
        if isinstance(other, Device):
            return OPS.device_copy(self, ctx=other, src=self.ctx)
        rec = _mode.RECORDER.get()
        if rec is not None:
            if device_of(other._data) != device_of(self._data):
                rec.refuse("copyto between devices")
            rec.write("set", other, self)
        other._data[...] = to_device(self._data, other.ctx)
        return other

    def wait_to_read(self) -> None:
        """Computation is eager: nothing to wait for."""

    def __repr__(self) -> str:
        host = to_host(self._data)
        s = _DTYPE_SUFFIX.sub(")", numpy.array_repr(host))
        if host.dtype not in (numpy.float32, numpy.bool_):
            s = s[:-1] + f", dtype={host.dtype.name})"
        if self.ctx.device_type != "cpu":
            s = s[:-1] + f", ctx={self.ctx})"
        return s

    # -- methods that mirror np functions --------------------------------------------------------
    def reshape(self, *shape: Any, order: str = "C") -> "ndarray":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return OPS.reshape(self, shape)

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return _reduce("sum", self, axis, keepdims, dtype)

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return _reduce("mean", self, axis, keepdims, dtype)

    def prod(self, axis=None, dtype=None, out=None, keepdims=False):
        return _reduce("prod", self, axis, keepdims, dtype)

    def max(self, axis=None, out=None, keepdims=False):
        return OPS.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, out=None, keepdims=False):
        return OPS.min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None, out=None):
        return OPS.argmax(self, axis=axis)

    def argmin(self, axis=None, out=None):
        return OPS.argmin(self, axis=axis)

    def var(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return OPS.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
        return OPS.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None, dtype=None, out=None):
        return OPS.cumsum(self, axis=axis)

    def cumprod(self, axis=None, dtype=None, out=None):
        return OPS.cumprod(self, axis=axis)

    def all(self, axis=None, out=None, keepdims=False):
        return OPS.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, out=None, keepdims=False):
        return OPS.any(self, axis=axis, keepdims=keepdims)

    def transpose(self, *axes: Any) -> "ndarray":
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = tuple(axes[0] or ())
        return OPS.transpose(self, tuple(axes) if axes else None)

    def swapaxes(self, axis1: int, axis2: int) -> "ndarray":
        return OPS.swapaxes(self, axis1, axis2)

    def flatten(self, order: str = "C") -> "ndarray":
        return OPS.flatten(self, order)

    def ravel(self, order: str = "C") -> "ndarray":
        return OPS.ravel(self, order)

    def squeeze(self, axis=None) -> "ndarray":
        return OPS.squeeze(self, axis)

    def dot(self, b: Any) -> "ndarray":
        return OPS.dot(self, b)

    def clip(self, a_min=None, a_max=None) -> "ndarray":
        return OPS.clip(self, a_min, a_max)

    def round(self, decimals: int = 0) -> "ndarray":
        return OPS.round(self, decimals)

    def repeat(self, repeats: Any, axis=None) -> "ndarray":
        return OPS.repeat(self, repeats, axis)

    def sort(self, axis: int = -1) -> None:
        """Sort in place (outside recording), as NumPy's method does."""
        self._check_inplace()
        self._update("sort", OPS.sort, (axis,), _sort_into)

    def tostype(self, stype: str) -> "ndarray":
        if stype != "default":
            raise ValueError("tapegrad has dense storage only; use stype='default'")
        return self


def _sort_into(buf: Any, axis: int) -> None:
    buf.sort(axis=axis)


def _reduce(name: str, a: ndarray, axis: Any, keepdims: bool, dtype: Any) -> ndarray:
    return getattr(OPS, name)(a, axis=axis, dtype=dtype, keepdims=keepdims)
