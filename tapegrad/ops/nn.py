"""Neural-network primitives (npx): relu, sigmoid, softmax, log_softmax, pick, one_hot; logsumexp.

softmax, log_softmax and logsumexp are single primitives that shift by the maximum along the axis
before exponentiating, so they stay finite for inputs like 1000 or -1000; their VJPs reuse ``out``.
"""
from __future__ import annotations

import numpy

from .._core.array import OPS as T, Array
from ..backend import xp_of
from ._util import kept_shape, norm_axes
from .registry import defop
from .samples import AXIS_SHAPE, Case, draw, unary


def _with_ref(factory, ref):
    """The cases of ``factory`` with the NumPy reference ``ref`` attached."""
    def make(rng):
        out = factory(rng)
        for c in out:
            c.ref = ref
        return out
    return make


def _axis_cases(shapes_axes, **params):
    """One case per (shape, axis) pair, inputs drawn in [-2, 2]."""
    def make(rng):
        return [Case((draw(rng, s),), dict(axis=ax, **params)) for s, ax in shapes_axes]
    return make


def _max_shift(xp, x, axis):
    """``x - max(x, axis)``, with an infinite maximum (all -inf, or +inf) replaced by 0 so that
    the shift never produces ``inf - inf``."""
    if x.size == 0:
        return x
    m = x.max(axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    return x - m


def _ax(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# --- activations ------------------------------------------------------------------------------


def _np_relu(x):
    return numpy.maximum(x, 0)


@defop(elementwise=True, public="npx", samples=_with_ref(unary(avoid=(0.0,)), _np_relu))
def relu(xp, data):
    return xp.maximum(data, 0)


@relu.vjp
def _(g, out):
    """Convention: relu'(0) = 0 (like ``maximum(x, 0)`` and ``where(x > 0, x, 0)``)."""
    return (T.masked_grad(g, out > 0),)


def _masked_grad_cases(rng):
    g = draw(rng, (3, 4))
    return [Case((g, rng.random((3, 4)) > 0.5), ref=_np_masked_grad, wrt=(0,)),
            Case((draw(rng, (5,)), numpy.array([True, False, True, True, False])), ref=_np_masked_grad, wrt=(0,))]


def _np_masked_grad(g, mask):
    return numpy.where(mask, g, 0)


@defop(nin=2, linear=True, public=None, samples=_masked_grad_cases)
def masked_grad(xp, g, mask):
    """``g`` where ``mask`` holds, else 0 (a zero even where ``g`` is inf or NaN). A multiply by the
    mask when ``g`` is finite, which is several times faster than ``where`` on irregular masks.
    (A finite sum proves every entry finite: one inf or NaN makes it inf or NaN.)"""
    if xp.isfinite(g.sum()):
        return g * mask
    return xp.where(mask, g, 0)


@masked_grad.vjp
def _(g, mask):
    return (T.masked_grad(g, mask), None)


def _np_sigmoid(x):
    return 1 / (1 + numpy.exp(-x))


@defop(elementwise=True, public="npx",
       samples=_with_ref(unary(domain=(-4.0, 4.0)), _np_sigmoid))
def sigmoid(xp, data):
    """``1 / (1 + exp(-x))`` computed from ``exp(-|x|)``: no overflow for large ``|x|``."""
    e = xp.exp(-xp.abs(data))
    one = xp.ones_like(e)
    return xp.where(data >= 0, one, e) / (1 + e)


@sigmoid.vjp
def _(g, out):
    return (g * out * (1 - out),)


# --- softmax family ---------------------------------------------------------------------------

_SOFTMAX_AXES = (((3,), -1), ((2, 3), -1), ((2, 3), 0), ((2, 3, 4), 1), ((2, 3, 4), -1), ((), -1))


def _np_softmax(data, axis=-1):
    e = numpy.exp(data - numpy.max(data, axis=axis, keepdims=True))
    return e / numpy.sum(e, axis=axis, keepdims=True)


def _np_log_softmax(data, axis=-1):
    return numpy.log(_np_softmax(data, axis))


@defop(nin=1, public="npx", samples=_with_ref(_axis_cases(_SOFTMAX_AXES), _np_softmax))
def softmax(xp, data, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``: stable for large inputs."""
    axis = _ax(axis) if data.ndim else None  # a 0-d input is one element (CuPy refuses an axis)
    e = xp.exp(_max_shift(xp, data, axis))
    return e / xp.sum(e, axis=axis, keepdims=True)


@softmax.vjp
def _(g, out, axis):
    return (out * (g - T.sum(g * out, axis=axis if out.ndim else None, keepdims=True)),)


@defop(nin=1, public="npx", samples=_with_ref(_axis_cases(_SOFTMAX_AXES), _np_log_softmax))
def log_softmax(xp, data, axis=-1):
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis``: stable for large inputs."""
    axis = _ax(axis) if data.ndim else None  # a 0-d input is one element (CuPy refuses an axis)
    s = _max_shift(xp, data, axis)
    return s - xp.log(xp.sum(xp.exp(s), axis=axis, keepdims=True))


@log_softmax.vjp
def _(g, out, axis):
    return (g - T.exp(out) * T.sum(g, axis=axis if out.ndim else None, keepdims=True),)


def _np_logsumexp(a, axis=None, keepdims=False):
    return numpy.log(numpy.sum(numpy.exp(a), axis=_ax(axis), keepdims=keepdims))


def _logsumexp_cases(rng):
    cases = []
    for ax in (None, 0, 1, -1, (0, 2), (0, 1, 2)):
        for kd in (False, True):
            cases.append(Case((draw(rng, AXIS_SHAPE),), dict(axis=ax, keepdims=kd), ref=_np_logsumexp))
    cases.append(Case((draw(rng, (3,)),), ref=_np_logsumexp))
    cases.append(Case((draw(rng, ()),), dict(axis=None, keepdims=True), ref=_np_logsumexp))
    return cases


@defop(nin=1, public=None, samples=_logsumexp_cases)
def logsumexp(xp, a, axis=None, keepdims=False):
    """``log(sum(exp(a), axis))`` computed as ``m + log(sum(exp(a - m)))``, m the maximum."""
    ax = _ax(axis)
    if a.size == 0:
        return xp.log(xp.sum(xp.exp(a), axis=ax, keepdims=keepdims))
    m = xp.max(a, axis=ax, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    out = xp.log(xp.sum(xp.exp(a - m), axis=ax, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=norm_axes(axis, a.ndim))


@logsumexp.vjp
def _(g, a, out, shapes, axis, keepdims):
    """d logsumexp = softmax(a) = exp(a - out): the weights are <= 1, so no overflow."""
    if not keepdims:
        kept = kept_shape(shapes[0], axis)
        g, out = T.reshape(g, kept), T.reshape(out, kept)
    return (g * T.exp(a - out),)


# --- picking and one-hot ----------------------------------------------------------------------


def _raw(v):
    return v._data if isinstance(v, Array) else v


def _pick_index(xp, index, n, mode):
    """``index`` as integers in [0, n): clipped (MXNet's default mode) or wrapped."""
    idx = xp.asarray(index)
    if idx.dtype.kind != "i" and idx.dtype.kind != "u":
        idx = idx.astype(xp.int64)  # MXNet accepts float labels; they are truncated
    if mode == "clip":
        if xp is numpy and (idx.size == 0 or (idx.min() >= 0 and idx.max() < n)):
            return idx  # already in range: clip would only copy it (and costs more than the check)
        return xp.clip(idx, 0, max(n - 1, 0))
    if mode == "wrap":
        return xp.mod(idx, n)
    raise ValueError(f"pick: mode must be 'clip' or 'wrap', got {mode!r}")


def _pick_kept(xp, data_ndim, idx, ax):
    """The index with the picked axis present (size 1), as ``take_along_axis`` wants it."""
    return idx if idx.ndim == data_ndim else xp.expand_dims(idx, ax)


def _np_pick(data, index, axis=-1, keepdims=False, mode="clip"):
    """Reference: an explicit loop over the index's positions."""
    if axis is None:
        flat = data.reshape(-1)
        idx = _pick_index(numpy, index, flat.size, mode)
        return numpy.array([flat[i] for i in idx.reshape(-1)]).reshape(idx.shape)
    ax = axis % data.ndim
    idx = _pick_index(numpy, index, data.shape[ax], mode)
    if idx.ndim == data.ndim:
        idx = numpy.squeeze(idx, ax)
    moved = numpy.moveaxis(data, ax, -1)
    out = numpy.empty(idx.shape, dtype=data.dtype)
    for pos in numpy.ndindex(idx.shape):
        out[pos] = moved[pos + (idx[pos],)]
    return numpy.expand_dims(out, ax) if keepdims else out


def _pick_cases(rng):
    x = draw(rng, AXIS_SHAPE)
    cases = []
    for ax in (-1, 0, 1):
        for kd in (False, True):
            shape = tuple(n for i, n in enumerate(AXIS_SHAPE) if i != ax % 3)
            idx = rng.integers(0, AXIS_SHAPE[ax], size=shape)
            cases.append(Case((x, idx), dict(axis=ax, keepdims=kd), ref=_np_pick, wrt=(0,)))
    y = draw(rng, (4, 3))
    # float labels (MXNet style), an index with the axis kept, out-of-range indices, the flat mode
    cases.append(Case((y, numpy.array([2.0, 0.0, 1.0, 2.0])), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([[1], [0], [2], [2]])), dict(keepdims=True), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([5, -1, 1, 3])), dict(mode="clip"), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([5, -1, 1, 3])), dict(mode="wrap"), ref=_np_pick, wrt=(0,)))
    cases.append(Case((y, numpy.array([[0, 11], [4, 4]])), dict(axis=None), ref=_np_pick, wrt=(0,)))
    return cases


@defop(broadcast=True, public="npx", samples=_pick_cases)
def pick(xp, data, index, axis=-1, keepdims=False, mode="clip"):
    """``data`` picked at ``index`` along ``axis`` (MXNet's ``npx.pick``).

    ``index`` has the shape of ``data`` without ``axis`` (or with it as size 1); float labels are
    truncated; out-of-range indices are clipped (``mode='clip'``) or wrapped (``mode='wrap'``).
    ``axis=None`` picks from the flattened ``data``. ``index`` gets no gradient.
    """
    if axis is None:
        flat = data.reshape(-1)
        return flat[_pick_index(xp, index, flat.size, mode)]
    ax = axis % data.ndim
    idx = _pick_index(xp, index, data.shape[ax], mode)
    if data.ndim == 2 and ax == 1 and idx.ndim == 1:  # a batch of class scores and its labels
        out = data[xp.arange(data.shape[0]), idx]
        return out[:, None] if keepdims else out
    idx = _pick_kept(xp, data.ndim, idx, ax)
    out = xp.take_along_axis(data, idx, axis=ax)
    return out if keepdims else xp.squeeze(out, axis=ax)


@pick.vjp
def _(g, index, shapes, axis, keepdims, mode):
    shape = shapes[0]
    raw = _raw(index)
    xp = xp_of((raw,))
    if axis is None:
        size = 1
        for n in shape:
            size *= n
        key = _pick_index(xp, raw, size, mode)
        return (T.reshape(T.scatter_add(g, (size,), key), shape), None)
    ax = axis % len(shape)
    idx = _pick_index(xp, raw, shape[ax], mode)
    if not isinstance(g, Array) and len(shape) == 2 and ax == 1 and idx.ndim == 1:
        # raw buffers (a backward that builds no graph): g written into zeros at the picked places
        out = xp.zeros(shape, dtype=g.dtype)
        out[xp.arange(shape[0]), idx] = g[:, 0] if keepdims else g
        return (out, None)
    idx = _pick_kept(xp, len(shape), idx, ax)
    iota = xp.arange(shape[ax]).reshape((-1,) + (1,) * (len(shape) - ax - 1))
    mask = iota == idx  # True at the picked position along the axis
    gk = g if keepdims else T.expand_dims(g, ax)
    return (T.where(mask, gk, 0), None)


def _np_one_hot(indices, depth, dtype="float32", on_value=1.0, off_value=0.0):
    idx = numpy.asarray(indices).astype(numpy.int64)
    out = numpy.full(idx.shape + (depth,), off_value, dtype=dtype)
    for pos in numpy.ndindex(idx.shape):
        if 0 <= idx[pos] < depth:
            out[pos + (idx[pos],)] = on_value
    return out


def _one_hot_cases(rng):
    return [Case((numpy.array([0, 2, 1, 3]),), dict(depth=4), ref=_np_one_hot),
            Case((numpy.array([[1, 0], [4, -1]]),), dict(depth=3, dtype="float64"), ref=_np_one_hot),
            Case((numpy.array([1.0, 2.0]),), dict(depth=3, dtype="int32", on_value=5, off_value=-1),
                 ref=_np_one_hot),
            Case((numpy.array(2),), dict(depth=3), ref=_np_one_hot)]


@defop(nin=1, diff=False, public="npx", samples=_one_hot_cases)
def one_hot(xp, indices, depth, dtype="float32", on_value=1.0, off_value=0.0):
    """``indices`` one-hot encoded along a new last axis of length ``depth`` (MXNet's default dtype
    is float32). Indices outside [0, depth) give rows of ``off_value``. Not differentiable."""
    idx = xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        idx = idx.astype(xp.int64)
    hit = idx[..., None] == xp.arange(depth)
    return xp.where(hit, on_value, off_value).astype(dtype)


# --- losses (PyTorch's fused nll_loss and mse_loss) ---------------------------------------------


def _nll_parts(xp, target, shape, dtype, weight, ignore_index):
    """Class axis, clean integer targets, and each position's weight (0 where ignored)."""
    ax = 1 if len(shape) > 1 else 0
    t = xp.asarray(target)
    if t.dtype.kind not in "iu":
        t = t.astype(xp.int64)
    keep = t != ignore_index
    safe = xp.where(keep, t, 0)
    if weight is None:
        w = keep.astype(dtype)
    else:
        w = xp.where(keep, xp.asarray(weight)[safe], 0).astype(dtype)
    return ax, safe, w


def _np_nll_loss(data, target, weight=None, reduction="mean", ignore_index=-100):
    """Reference: an explicit loop over positions."""
    ax = 1 if data.ndim > 1 else 0
    moved = numpy.moveaxis(data, ax, -1)
    loss = numpy.zeros(numpy.shape(target), dtype=data.dtype)
    wsum = 0.0
    for pos in numpy.ndindex(loss.shape):
        c = int(numpy.asarray(target)[pos])
        if c == ignore_index:
            continue
        wc = 1.0 if weight is None else float(weight[c])
        loss[pos] = -moved[pos + (c,)] * wc
        wsum += wc
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wsum


def _nll_cases(rng):
    cases = []
    x = draw(rng, (4, 3))
    t = numpy.array([2, 0, 1, 2])
    for red in ("mean", "sum", "none"):
        cases.append(Case((x, t), dict(reduction=red), ref=_np_nll_loss, wrt=(0,)))
    w = numpy.array([0.5, 2.0, 1.5])
    cases.append(Case((x, t), dict(weight=w), ref=_np_nll_loss, wrt=(0,)))
    cases.append(Case((x, numpy.array([2, -100, 1, 0])), dict(weight=w, reduction="sum"), ref=_np_nll_loss,
                      wrt=(0,)))
    cases.append(Case((x, numpy.array([2, 5, 1, 5])), dict(ignore_index=5), ref=_np_nll_loss, wrt=(0,)))
    y = draw(rng, (2, 3, 4))  # (N, C, d): one class index per (n, d)
    cases.append(Case((y, numpy.array([[0, 2, 1, 1], [2, 2, 0, 1]])), dict(reduction="none"), ref=_np_nll_loss,
                      wrt=(0,)))
    cases.append(Case((y, numpy.array([[0, 2, 1, 1], [2, 2, 0, 1]])), ref=_np_nll_loss, wrt=(0,)))
    cases.append(Case((draw(rng, (3,)), numpy.array(1)), ref=_np_nll_loss, wrt=(0,)))  # no batch axis
    return cases


@defop(nin=2, public=None, samples=_nll_cases)
def nll_loss(xp, data, target, weight=None, reduction="mean", ignore_index=-100):
    """PyTorch's ``nll_loss``: ``-data[n, target[n]]`` (times the class weight), for log-probabilities
    ``data`` of shape (N, C, d...) or (C,) and integer ``target`` of shape (N, d...) or ().

    Positions whose target is ``ignore_index`` count zero; ``reduction='mean'`` divides by the summed
    weight of the other positions. ``weight`` (a raw array of C class weights) and ``target`` get no
    gradient. The caller checks shapes and ranges (``torch.nn.functional.nll_loss`` does).
    """
    ax, safe, w = _nll_parts(xp, target, data.shape, data.dtype, weight, ignore_index)
    picked = xp.squeeze(xp.take_along_axis(data, xp.expand_dims(safe, ax), axis=ax), axis=ax)
    loss = -picked * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    return xp.sum(loss) / xp.sum(w)


@nll_loss.vjp
def _(g, target, shapes, dtypes, weight, reduction, ignore_index):
    """The gradient is ``-w * g`` at each target position and zero elsewhere (nll is linear in data)."""
    shape = shapes[0]
    raw = _raw(target)
    xp = xp_of((raw,))
    ax, safe, w = _nll_parts(xp, raw, shape, dtypes[0], weight, ignore_index)
    scale = -w / xp.sum(w) if reduction == "mean" else -w
    iota = xp.arange(shape[ax]).reshape((-1,) + (1,) * (len(shape) - ax - 1))
    mask = iota == xp.expand_dims(safe, ax)
    if reduction == "none":
        gk = T.expand_dims(g * scale, ax)
    else:
        gk = g * xp.expand_dims(scale, ax)
    return (T.where(mask, gk, 0), None)


def _np_mse_loss(a, b, reduction="mean"):
    sq = (a - b) ** 2
    return sq if reduction == "none" else sq.sum() if reduction == "sum" else sq.mean()


def _mse_cases(rng):
    cases = []
    for red in ("mean", "sum", "none"):
        for sa, sb in (((3,), (3,)), ((2, 3), (2, 3)), ((2, 1), (1, 3)), ((), ())):
            cases.append(Case((draw(rng, sa), draw(rng, sb)), dict(reduction=red), ref=_np_mse_loss))
    return cases


@defop(broadcast=True, public=None, samples=_mse_cases)
def mse_loss(xp, data, target, reduction="mean"):
    """PyTorch's ``mse_loss``: ``(data - target) ** 2``, summed, averaged or kept (``reduction``)."""
    d = data - target
    sq = d * d
    if reduction == "none":
        return sq
    return xp.sum(sq) if reduction == "sum" else xp.mean(sq)


@mse_loss.vjp
def _(g, data, target, shapes, reduction):
    d = data - target
    if reduction == "mean":
        n = 1
        for s in numpy.broadcast_shapes(*shapes):
            n *= s
        gd = g * d * (2.0 / n if n else 0.0)
    else:
        gd = g * d * 2.0
    return (gd, -gd)
