"""PyTorch's in-place updates: the in-place methods (``add_``, ``zero_``, ``normal_``...), augmented
assignment (``+=``...) and ``__setitem__``.

Each refuses what PyTorch refuses, in PyTorch's order (a leaf that requires grad, or a view of one, while
grad mode is on; then the op's own dtype checks), and hands the update to the core's one in-place path,
``Array._update``, which both dialects share. This module supplies the dialect's hooks for it (``HOOKS``,
bound onto Tensor with the methods; ``Tensor._records_update`` is in tensor.py): PyTorch's casting rule
(``_fit``: a result type that does not cast to the tensor's dtype is refused), the recorded update
(``_adopt``) and the error for a write into memory that several elements share (``_check_writable``).
The result is written into the same memory, and the version counter that the tensor shares with its views
and detached copies moves, so a backward that needs the old values raises PyTorch's "modified by an
inplace operation" error. An in-place op on a tensor that is on the tape while grad mode is on is also
recorded: the tensor's history (and its base's and views') ends in it.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy

from ..._core.array import INTO, OPS, Array, write_item
from ...backend import device_of, to_device, to_host
from .. import _random
from ..tensor import Tensor, _grad_reset
from . import elementwise
from ._util import (_I64, _cast, _ctype, _default_float, _float, _int, _kind, _max, _norm_dim, _result_type,
                    _scalar_or)
from .conversion import _move
from .elementwise import (_FLOATING, _FLOATING_UNARY, _UNARY_FUNCS, _check_kernel, _check_sub, add, clamp, div,
                          floor_divide, pow, round, sub)
from .indexing import masked_fill, scatter

_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")


# -- PyTorch's casting rule (c10's canCast) -------------------------------------------------------------

def _can_cast(frm: numpy.dtype, to: numpy.dtype) -> bool:
    """PyTorch's ``canCast``: no complex to real, no floating to integer or bool, nothing but bool to bool."""
    k, t = frm.kind, to.kind
    return not ((k == "c" and t != "c") or (k == "f" and t in "biu") or (k != "b" and t == "b"))


def _check_cast(self: Tensor, rt: Any, ctype: bool = False) -> None:
    if not _can_cast(rt, self._data.dtype):
        raise RuntimeError(f"result type {_kind(rt)} can't be cast to the desired output type "
                           f"{_ctype(self) if ctype else _kind(self)}")


# -- the dialect's side of the one in-place path (Array._update) ----------------------------------------

def _inplace(self: Tensor, fn: Callable, *inputs: Any, check: bool = True, saves_result: bool = False) -> Tensor:
    """Replace ``self``'s values by ``fn(self)`` (computed with registry ops) in place; returns ``self``.

    ``inputs``: what ``fn`` reads besides ``self`` (the update is recorded when one is on the tape).
    ``check``: the result's dtype must cast to ``self``'s by PyTorch's rule (an integer tensor takes no
    float result); callers that checked PyTorch's result type of the update beforehand, or whose op
    casts silently (``fill_``, ``copy_``...), pass False. ``saves_result``: PyTorch's rule for the update
    reads its result (``exp_``), so a later write to ``self`` fails its backward.
    """
    self._check_inplace()
    return self._update("", fn, (), inputs=inputs, check=check, saves_result=saves_result)


def _adopt(self: Tensor, name: str, fn: Callable, args: tuple, check: bool, saves_result: bool) -> None:
    """The recorded update ``fn(self, *args)``: computed from a copy (the recorded update may keep the old
    values, which the write replaces), written into the same memory, so views and detached copies see it;
    ``self``'s history ends in it, and the histories of the tensor it is a view of and of that tensor's
    other views are recomputed to match (what PyTorch's CopySlices does)."""
    buf = self._data
    base = self._base_t
    old = Tensor._make(buf.copy(), self._node, self._idx)
    res = self._fit(fn(old, *args), name, check)
    self._check_writable(buf)
    if base is None:
        buf[...] = res._data
        self._set_history(res._node, res._idx)
        _replay_views(self)
    else:
        new_base = _scatter_view(base, self, res)
        buf[...] = res._data
        base._set_history(new_base._node, new_base._idx)
        _replay_views(base)
    self._bump()
    if saves_result:
        _watch_result(res, self)


def _watch_result(res: Array, self: Tensor) -> None:
    """The recorded update's rule reads its result ``res``, which ``self`` now holds: its version check
    watches that memory (through a detached copy the node keeps, so also once ``self`` is gone), and a
    later write to it is refused as in PyTorch. (The node reads its own copy, so this only mirrors
    PyTorch's refusal; it does not guard a value.)"""
    node = res._node
    if node is not None and node.vcheck is not None:
        watcher = self.detach()
        node.vcheck = [((lambda w=watcher: w), self._version, w) if w[0] == "o" and r() is res else (r, v, w)
                       for r, v, w in node.vcheck]


def _check_writable(self: Tensor, buf: Any) -> None:
    """PyTorch's error for a write into memory that several elements share (an expanded tensor); for
    other read-only memory (a read-only NumPy array given to ``from_numpy``, ``as_tensor`` or
    ``from_dlpack``, which PyTorch would write into all the same) an error that says so."""
    if not getattr(buf.flags, "writeable", True):
        if 0 in buf.strides and buf.size > 1:
            raise RuntimeError(_OVERLAP) from None
        raise RuntimeError("the written-to tensor's memory is read-only (it is shared with a NumPy array that is "
                           "not writable, e.g. by torch.from_numpy or torch.from_dlpack); clone() the tensor before "
                           "writing to it, or make the array writable first") from None


def _replay_views(base: Tensor) -> None:
    """After a recorded in-place update of ``base``: each live view of it takes the history of its view
    function applied to ``base`` now (its values, in the same memory, are already right)."""
    g = base._storage
    if g is None or base._node is None:
        return
    for v in g.live():
        if v._base_t is base:
            new = v._view_fn(base)
            v._set_history(new._node, new._idx)
            if new._node is not None:
                new._node.torch_name = "AsStridedBackward0"  # PyTorch's name for a recomputed view


def _scatter_view(base: Tensor, view: Tensor, res: Array) -> Tensor:
    """``base`` with the elements that ``view`` shows replaced by ``res``, recorded (PyTorch's CopySlices):
    the positions come from the view function applied to the positions of ``base`` (any view op, one rule)."""
    if view._data.dtype != base._data.dtype:
        raise RuntimeError("tapegrad cannot record an in-place operation on a view of another dtype (.real, .imag, "
                           "view(dtype)) of a tensor that requires grad; compute a new tensor instead (torch.complex, "
                           "torch.where)")
    view_fn: Any = view._view_fn  # (a view has its view function)
    pos = view_fn(Tensor._make(numpy.arange(base._data.size).reshape(base._data.shape)))
    key = tuple(numpy.unravel_index(numpy.asarray(to_host(pos._data)).reshape(-1), base._data.shape))
    dev = device_of(base._data)
    if dev.device_type == "gpu":
        key = tuple(to_device(k, dev) for k in key)
    old = Tensor._make(base._data.copy(), base._node, base._idx)
    return OPS.setitem(old, OPS.reshape(res, (-1,)), key)  # PyTorch's CopySlices


def _fit(self: Tensor, res: Any, name: str, check: bool) -> Tensor:
    """PyTorch's casting rule: the result of an in-place op checked against ``self`` (its shape broadcasts
    to ``self``'s; its dtype castable by ``canCast``, when ``check``) and cast to ``self``'s dtype."""
    if not isinstance(res, Array):
        res = Tensor._make(numpy.asarray(res, dtype=self._data.dtype))
    if res._data.shape != self._data.shape:
        try:
            shape = numpy.broadcast_shapes(res._data.shape, self._data.shape)
        except ValueError:
            shape = res._data.shape
        if shape == self._data.shape:
            res = OPS.broadcast_to(res, shape)
        else:
            raise RuntimeError(f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                               f"{list(shape)}")
    rd, sd = res._data.dtype, self._data.dtype
    if rd != sd:
        if check:
            _check_cast(self, rd)
        res = _cast(res, sd)
    return res


#: The dialect's hooks for ``Array._update``, bound onto Tensor with its methods.
HOOKS = {"_fit": _fit, "_adopt": _adopt, "_check_writable": _check_writable}


def _replaced(t: Tensor, values: Tensor) -> Tensor:
    """An update whose result does not depend on the old values (no gradient flows to them)."""
    keep = Tensor._make(numpy.zeros(tuple(t.shape), dtype=numpy.bool_))
    return OPS.where(keep, t, values)


def _filled(t: Tensor, value: Any) -> Tensor:
    return _replaced(t, Tensor._make(numpy.asarray(value, dtype=t._data.dtype)))


def _fill_buf(buf: Any, value: Any) -> None:
    buf[...] = value


_fill_buf.capture_kind = "set"  # type: ignore[attr-defined]  # (what a compiled function's recorder sees)


def _binary_update(self: Tensor, name: str, other: Any, compute: Callable, *, alpha: Any = 1) -> Tensor:
    """The in-place form of binary op ``name`` (``+=``, ``add_``...): PyTorch's checks in PyTorch's order
    (the op's own, the result type's cast to ``self``'s dtype, the kernel's dtypes), then the update, which
    the op writes into the memory itself where nothing is recorded and nothing is reshaped or cast."""
    self._check_inplace()
    sd = self._data.dtype
    into = compute is _INTO.get(name)
    if into and _unrefused(name, sd.kind, other, self):
        direct = INTO[name]  # (an optimizer's step) none of the checks can refuse it: the op writes
    else:
        other = _scalar_or(other)
        rt = _update_type(self, name, other, alpha)
        c = other.__class__
        direct = INTO[name] if into and rt is sd and (
            c is _float or c is _int or (c is Tensor and other._data.shape == self._data.shape)) else None
    return self._update(name, compute, (other,), direct, None, False)


def _unrefused(name: str, k: str, other: Any, self: Tensor) -> bool:
    """Whether PyTorch refuses nothing in ``self <name>= other`` (``self`` of dtype kind ``k``, ``name`` one
    of ``_INTO``'s ops) and its result type is ``self``'s: a Python float to a floating tensor, a Python int
    or a tensor of ``self``'s dtype and shape (no integer true division, no bool subtraction)."""
    c = other.__class__
    if c is Tensor:
        if other._data.dtype is not self._data.dtype or other._data.shape != self._data.shape:
            return False
    elif c is not _int and (c is not _float or k not in "fc"):
        return False
    return k in "fc" or (k in "iu" and name != "divide") or (k == "b" and c is Tensor and name in ("add", "multiply"))


def _update_type(self: Tensor, name: str, other: Any, alpha: Any) -> numpy.dtype:
    """PyTorch's result type of ``self <name>= other``, after its checks in its order (the op's own, the
    cast to ``self``'s dtype, the kernel's dtypes)."""
    if name == "subtract":
        _check_sub(self, other)
    if isinstance(other, Array) and other._data.shape != self._data.shape:
        _check_broadcast(self._data.shape, other._data.shape)
    if name == "power" and self._data.dtype.kind in "biu" and type(other) is _int and other < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    sd = self._data.dtype
    if (type(other) is _float and sd.kind in "fc") or (type(other) is _int and sd.kind in "iufc") or \
            (isinstance(other, Array) and other._data.dtype == sd):
        rt = sd  # the common cases, as _result_type would find them
    else:
        rt = _result_type(self, other)
    if name in _FLOATING and rt.kind in "biu":
        rt = _default_float()
    _check_cast(self, rt)
    if name in ("add", "subtract") and isinstance(alpha, _float) and rt.kind in "biu":
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    _check_kernel(name, rt, other, self)
    return rt


#: The updates ``_update`` may write straight into the tensor's memory (``+=``, ``-=``, ``*=``, ``/=``).
_INTO = {name: getattr(OPS, name) for name in ("add", "subtract", "multiply", "divide")}


def _check_broadcast(a: tuple, b: tuple) -> None:
    """PyTorch's errors where shape ``b`` does not broadcast to ``a``, the shape of an in-place output:
    shapes that do not broadcast at all (``infer_size``), or whose broadcast is not ``a``."""
    n = _max(len(a), len(b))
    out: list = []
    for i in range(n - 1, -1, -1):
        off = n - 1 - i
        sa = a[len(a) - 1 - off] if off < len(a) else 1
        sb = b[len(b) - 1 - off] if off < len(b) else 1
        if sa != sb and sa != 1 and sb != 1:
            raise RuntimeError(f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at non-singleton "
                               f"dimension {i}")
        out.insert(0, sb if sa == 1 else sa)
    if tuple(out) != tuple(a):
        raise RuntimeError(f"output with shape {list(a)} doesn't match the broadcast shape {out}")


def _add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self += alpha * other`` in place; returns ``self``."""
    return _binary_update(self, "add", other, OPS.add if _unit(alpha) else lambda t, o: add(t, o, alpha=alpha),
                          alpha=alpha)


def _sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """``self -= alpha * other`` in place; returns ``self``."""
    return _binary_update(self, "subtract", other,
                          OPS.subtract if _unit(alpha) else lambda t, o: sub(t, o, alpha=alpha), alpha=alpha)


def _mul_(self: Tensor, other: Any) -> Tensor:
    return _binary_update(self, "multiply", other, OPS.multiply)


def _unit(alpha: Any) -> bool:
    """Whether ``alpha`` is the default 1 (the update is then the op itself: see ``_INTO``)."""
    return alpha.__class__ is _int and alpha == 1


def _div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    name = {None: "divide", "floor": "floor_divide", "trunc": "trunc_divide"}.get(rounding_mode, "divide")
    return _binary_update(self, name, other, OPS.divide if rounding_mode is None else
                          lambda t, o: div(t, o, rounding_mode=rounding_mode))


def _floor_divide_(self: Tensor, other: Any) -> Tensor:
    return _binary_update(self, "floor_divide", other, floor_divide)


def _pow_(self: Tensor, exponent: Any) -> Tensor:
    return _binary_update(self, "power", exponent, pow)


def _bitwise_(name: str) -> Callable:
    op = getattr(OPS, name)

    def method(self: Tensor, other: Any) -> Tensor:
        return _binary_update(self, name, other, op)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method


def _augmented(name: str, method: Callable) -> Callable:
    """``method`` as an augmented assignment operator: an operand that is neither a tensor nor a number is
    NotImplemented (Python then tries the plain operator, as with PyTorch's tensors)."""
    def op(self: Tensor, other: Any) -> Any:
        if not isinstance(other, (Array, _int, _float, complex, numpy.generic)):
            return NotImplemented
        return method(self, other)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = method.__doc__
    return op


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    """``self[key] = value``: written in place and counted in the shared version counter; recorded (as
    the one in-place path records) when ``self`` or ``value`` is on the tape."""
    self._check_inplace()
    _grad_reset(self, "x.grad[...] = ...")
    value = _scalar_or(value)
    self._update("setitem", _set_cast, (value, key), write_item, (value,), check=False)


def _set_cast(t: Tensor, value: Any, key: Any) -> Tensor:
    """``t`` with ``value``, cast to ``t``'s dtype, written at ``key`` (recorded)."""
    if isinstance(value, Array) and value._data.dtype != t._data.dtype:
        value = _cast(value, t._data.dtype)
    return OPS.setitem(t, value, key)


def _clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    self._check_inplace()
    if self._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    rt = _result_type(self, min, max)
    _check_cast(self, rt, ctype=not (isinstance(min, Array) or isinstance(max, Array)))
    return _inplace(self, lambda t: clamp(t, min, max), min, max, check=False)


def _clamp_min_(self: Tensor, min: Any) -> Tensor:  # noqa: A002
    return _clamp_(self, min=min)


def _clamp_max_(self: Tensor, max: Any) -> Tensor:  # noqa: A002
    return _clamp_(self, max=max)


def _masked_fill_(self: Tensor, mask: Tensor, value: Any) -> Tensor:
    return _inplace(self, lambda t: masked_fill(t, mask, value), value, check=False)


def _index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    d = _norm_dim(dim, self.ndim)
    m = numpy.zeros(tuple(self.shape), dtype=numpy.bool_)
    m[(slice(None),) * d + (to_host(index._data),)] = True
    return _masked_fill_(self, Tensor._make(m), value)


def _scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
              reduce: str | None = None) -> Tensor:
    return _inplace(self, lambda t: scatter(t, dim, index, src, value=value, reduce=reduce), src, value,
                    check=False)


def _copy_(self: Tensor, src: Any, non_blocking: bool = False) -> Tensor:
    """The values of ``src`` (broadcast to this shape, cast to this dtype) written into this tensor."""
    if isinstance(src, Array) and src._data is self._data:
        self._check_inplace()
        self._bump()
        return self
    s = _scalar_or(src)
    if isinstance(s, Array) and (device_of(s._data).device_type == "gpu") != self.is_cuda:
        s = _move(s, "cuda" if self.is_cuda else "cpu", None)
    if isinstance(s, Array) and s._data.dtype != self._data.dtype:
        s = _cast(s, self._data.dtype)
    return _inplace(self, lambda t: _replaced(t, s), s, check=False)


def _zero_(self: Tensor) -> Tensor:
    """Zeros written in place; returns the same tensor."""
    _grad_reset(self, "x.grad.zero_()")
    return _fill_(self, 0)


def _fill_(self: Tensor, value: Any) -> Tensor:
    """``value`` (a number or a 0-d tensor) written everywhere in place; returns the same tensor."""
    if isinstance(value, Array):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        if value._data.dtype != self._data.dtype:
            value = _cast(value, self._data.dtype)
        return _inplace(self, lambda t: _replaced(t, value), value, check=False)
    if isinstance(value, numpy.generic):
        value = value.item()
    self._check_inplace()
    _grad_reset(self, "x.grad.fill_()")
    return self._update("fill_", _filled, (value,), _fill_buf, (), False)


def _random_fill(self: Tensor, name: str, draw: Callable) -> Tensor:
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"{name} expects floating point tensors, got {_kind(self)}")
    self._check_inplace()
    values = draw(tuple(self.shape), self._data.dtype)
    if self.is_cuda:
        values = to_device(values, device_of(self._data))
    return _inplace(self, lambda t: _replaced(t, Tensor._make(values)))


def _normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    """Normal samples written in place (PyTorch's CPU stream for the seed)."""
    gen = generator or _random.default_generator
    return _random_fill(self, "normal_", lambda shape, dt: gen.normal(shape, mean, std, dt))


def _uniform_(self: Tensor, *args: Any, generator: Any = None, **kwargs: Any) -> Tensor:
    """Uniform samples in ``[from, to)`` written in place: ``uniform_(a, b)``, or ``from``/``to`` as keywords
    (``uniform_(**{'from': a, 'to': b})``)."""
    low = kwargs.pop("from", args[0] if len(args) > 0 else 0.0)
    high = kwargs.pop("to", args[1] if len(args) > 1 else 1.0)
    if kwargs:
        raise TypeError(f"uniform_() got an unexpected keyword argument '{next(iter(kwargs))}'")
    gen = generator or _random.default_generator
    return _random_fill(self, "uniform_", lambda shape, dt: gen.uniform(shape, low, high, dt))


def _bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Bernoulli(p) draws (0 or 1) written in place."""
    gen = generator or _random.default_generator
    self._check_inplace()
    pp = to_host(p._data) if isinstance(p, Array) else p
    values = numpy.asarray(gen.bernoulli(pp, tuple(self.shape))).astype(self._data.dtype)
    return _inplace(self, lambda t: _replaced(t, Tensor._make(values)))


#: Unary ops whose PyTorch rule reads their result (derivatives.yaml), not their input.
_SAVES_RESULT = ("exp", "exp2", "expm1", "sqrt", "rsqrt", "tanh", "sigmoid", "reciprocal", "relu")
_VML = "\"{}_vml_cpu\" not implemented for '{}'"
#: PyTorch's refusals of an in-place unary op by dtype kind: op -> {kinds: (error type, text)}.
_UNARY_REFUSED: dict = {
    "abs": {"b": (NotImplementedError, "\"abs_cpu\" not implemented for '{}'"),
            "c": (RuntimeError, "In-place abs is not supported for complex tensors.")},
    "neg": {"b": (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
                                "invert a mask, use the `~` or `logical_not()` operator instead.")},
    "floor": {"b": (NotImplementedError, _VML.format("floor", "{}")),
              "c": (NotImplementedError, "floor is not supported for complex inputs")},
    "ceil": {"b": (NotImplementedError, _VML.format("ceil", "{}")),
             "c": (NotImplementedError, "ceil is not supported for complex inputs")},
    "trunc": {"b": (NotImplementedError, _VML.format("trunc", "{}")),
              "c": (NotImplementedError, "trunc is not supported for complex inputs")},
    "round": {"bc": (NotImplementedError, _VML.format("round", "{}"))},
    "frac": {"biuc": (NotImplementedError, "\"frac_cpu\" not implemented for '{}'")},
    "relu": {"b": (RuntimeError, "Boolean inputs not supported for relu"),
             "c": (NotImplementedError, "clamp is not supported for complex types")},
    "sign": {"c": (NotImplementedError, "Unlike NumPy, torch.sign is not intended to support complex numbers. Please "
                                        "use torch.sgn instead.")},
}
for _a, _b in (("absolute", "abs"), ("negative", "neg"), ("fix", "trunc")):
    _UNARY_REFUSED[_a] = _UNARY_REFUSED[_b]


def _unary_update(self: Tensor, name: str, compute: Callable) -> Tensor:
    """The in-place form of unary op ``name``: PyTorch's dtype refusals and casting rule, then ``_inplace``."""
    self._check_inplace()
    sd = self._data.dtype
    for kinds, (err, text) in _UNARY_REFUSED.get(name, {}).items():
        if sd.kind in kinds:
            raise err(text.format(_kind(sd)))
    rt = sd
    if name in _FLOATING_UNARY and sd.kind in "biu":
        rt = _default_float()
    elif name == "square" and sd.kind == "b":
        rt = _I64
    _check_cast(self, rt)
    if name in ("sign", "sgn") and sd.kind == "b":
        return _inplace(self, lambda t: t, check=False)  # the sign of a bool is itself
    return _inplace(self, compute, check=False, saves_result=name in _SAVES_RESULT)


def _unary_inplace(name: str) -> Callable:
    f = _UNARY_FUNCS.get(name) or getattr(elementwise, name)

    def method(self: Tensor) -> Tensor:
        return _unary_update(self, name, f)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method


_INPLACE_UNARY = ("abs", "absolute", "exp", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "sin", "cos",
                  "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh", "sigmoid",
                  "relu", "neg", "negative", "reciprocal", "square", "sign", "sgn", "floor", "ceil", "trunc", "fix",
                  "frac", "exp2")


def _round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    return _unary_update(self, "round", lambda t: round(t, decimals=decimals))


def _binary_inplace(f: Callable, name: str) -> Callable:
    op = {"maximum": "maximum", "minimum": "minimum"}.get(name, name)

    def method(self: Tensor, other: Any) -> Tensor:
        return _binary_update(self, op, other, f)
    method.__name__ = method.__qualname__ = name + "_"
    method.__doc__ = f"In-place ``{name}``; returns the same tensor."
    return method
