"""Convolution and pooling (MXNet's ``npx.convolution`` and ``npx.pooling``), channels-first.

Both work on 1-, 2- and 3-D spatial data in the NC(D)(H)W layout (``layout`` None, 'NCW', 'NCHW' or
'NCDHW'; channels-last layouts raise NotImplementedError).

Convolution is an im2col: a strided view of the (zero-padded) input holds every window without a
copy, one reshape lays the windows out as columns, and one BLAS matmul applies the filters. Its
gradients are two internal bilinear primitives, each with VJPs that are convolutions again, so every
order of derivative is available:

- ``conv_input_grad(dy, weight)``: the adjoint in ``data`` (col2im: the column gradient ``W^T dy``
  is added back into the input, one strided add per kernel offset, never a loop over pixels);
- ``conv_weight_grad(data, dy)``: the adjoint in ``weight`` (the columns times ``dy``, one matmul).

Pooling reduces one spatial axis at a time (``k`` strided passes per axis). Max pooling's gradient
goes to the arg-max of each window, found again from ``data`` by the VJP: on ties, to the first
maximal element in row-major window order (PyTorch's CPU kernel does the same; a window with NaN
may route it elsewhere). It is recorded with two internal linear primitives, ``pool_route`` (each
window's cotangent to its arg-max) and ``pool_gather`` (its adjoint), each the other's VJP. Average
pooling divides by the full window (``count_include_pad=True``, the default of MXNet and PyTorch) or
by the number of non-padding elements; its adjoint ``pool_spread`` spreads each cotangent evenly over
its window.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy

from .._core.array import OPS as T
from ..backend import backend_for
from ._util import bilinear_tangent
from .registry import buffer, defop
from .samples import Case, draw

__all__ = ["convolution", "pooling"]


# --- geometry ---------------------------------------------------------------------------------

_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _spatial(name: str, shape: tuple, layout: Any) -> int:
    """The number of spatial axes of ``shape`` (1, 2 or 3), checking the layout."""
    d = len(shape) - 2
    if d not in _LAYOUTS:
        raise ValueError(f"{name}: data must have 3, 4 or 5 dimensions (N, C and 1 to 3 spatial axes), "
                         f"got shape {tuple(shape)}")
    if layout is not None and layout != _LAYOUTS[d]:
        raise NotImplementedError(f"{name}: only the channels-first layout {_LAYOUTS[d]!r} is supported for "
                                  f"{d}-D data, got layout={layout!r}")
    return d


def _tuple(name: str, v: Any, d: int, default: int) -> tuple:
    """``v`` (None, an int or a sequence) as ``d`` ints."""
    if v is None or (isinstance(v, (tuple, list)) and len(v) == 0):
        return (default,) * d
    if isinstance(v, (int, numpy.integer)):
        return (int(v),) * d
    t = tuple(int(i) for i in v)
    if len(t) != d:
        raise ValueError(f"{name} must give one value per spatial axis ({d}), got {tuple(v)}")
    return t


def _out_len(n: int, k: int, s: int, p: int, dl: int) -> int:
    return (n + 2 * p - dl * (k - 1) - 1) // s + 1


def _pad(xp: Any, x: Any, pad: tuple, value: Any = 0) -> Any:
    """``x`` with ``pad[i]`` elements of ``value`` on both sides of spatial axis i (a fresh buffer)."""
    if not any(pad):
        return x
    shape = x.shape[:2] + tuple(n + 2 * p for n, p in zip(x.shape[2:], pad))
    out = xp.full(shape, value, dtype=x.dtype) if value != 0 else xp.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(p, p + n) for n, p in zip(x.shape[2:], pad))] = x
    return out


def _crop(x: Any, shape: tuple, pad: tuple) -> Any:
    """The inverse of ``_pad``: the interior of ``x`` (a view)."""
    if not any(pad):
        return x
    return x[(slice(None), slice(None)) + tuple(slice(p, p + n) for n, p in zip(shape[2:], pad))]


def _offset(k: tuple, dilate: tuple, stride: tuple, out: tuple) -> tuple:
    """The slice of a padded input that kernel offset ``k`` meets at each output position."""
    return (slice(None), slice(None)) + tuple(
        slice(ki * di, ki * di + si * (oi - 1) + 1, si) for ki, di, si, oi in zip(k, dilate, stride, out))


def _windows(xp: Any, xpad: Any, kernel: tuple, stride: tuple, dilate: tuple, out: tuple) -> Any:
    """A read-only strided view (N, C, *out, *kernel) of every window of the padded input."""
    st = xpad.strides
    d = len(kernel)
    strides = st[:2] + tuple(st[2 + i] * stride[i] for i in range(d)) + tuple(st[2 + i] * dilate[i] for i in range(d))
    return backend_for(xp).strided_view(xp, xpad, xpad.shape[:2] + out + kernel, strides)


def _im2col(xp: Any, x: Any, kernel: tuple, stride: tuple, pad: tuple, dilate: tuple, out: tuple,
            ones_row: bool = False) -> Any:
    """The columns (N, C * prod(kernel), prod(out)) of ``x``: one copy of the windows' values; with
    ``ones_row``, one more row of ones (so that one matmul also adds a bias)."""
    d = len(kernel)
    w = _windows(xp, _pad(xp, x, pad), kernel, stride, dilate, out)
    axes = (0, 1) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d))
    n, ck, l = x.shape[0], x.shape[1] * _prod(kernel), _prod(out)
    if not ones_row:
        return w.transpose(axes).reshape(n, ck, l)
    cols = xp.empty((n, ck + 1, l), dtype=x.dtype)
    cols[:, :ck].reshape(x.shape[:2] + kernel + out)[...] = w.transpose(axes)  # a view: one copy
    cols[:, ck] = 1
    return cols


def _prod(t: tuple) -> int:
    n = 1
    for v in t:
        n *= v
    return n


class _ConvGeom:
    """Normalised convolution parameters for data of ``shape`` and filters of ``wshape``."""

    __slots__ = ("d", "kernel", "stride", "pad", "dilate", "groups", "out")

    def __init__(self, shape: tuple, wshape: tuple, kernel: Any, stride: Any, pad: Any, dilate: Any,
                 groups: int, num_filter: Any = None, layout: Any = None) -> None:
        d = _spatial("convolution", shape, layout)
        if len(wshape) != d + 2:
            raise ValueError(f"convolution: weight must have shape (num_filter, channels // num_group, *kernel) "
                             f"with {d} kernel axes, got {tuple(wshape)}")
        self.d = d
        self.kernel = tuple(wshape[2:]) if kernel is None else _tuple("kernel", kernel, d, 1)
        if self.kernel != tuple(wshape[2:]):
            raise ValueError(f"convolution: kernel={self.kernel} does not match the weight's shape {tuple(wshape)}")
        self.stride = _tuple("stride", stride, d, 1)
        self.pad = _tuple("pad", pad, d, 0)
        self.dilate = _tuple("dilate", dilate, d, 1)
        if min(self.stride) < 1 or min(self.dilate) < 1 or min(self.pad) < 0:
            raise ValueError(f"convolution: stride and dilate must be positive and pad non-negative, got "
                             f"stride={self.stride}, dilate={self.dilate}, pad={self.pad}")
        self.groups = g = int(groups)
        f, cg = wshape[0], wshape[1]
        if num_filter is not None and int(num_filter) != f:
            raise ValueError(f"convolution: num_filter={num_filter} but the weight has {f} filters "
                             f"(shape {tuple(wshape)})")
        if g < 1 or f % g or shape[1] != cg * g:
            raise ValueError(f"convolution: data has {shape[1]} channels; with num_group={g} the weight "
                             f"{tuple(wshape)} needs {cg * g} channels and a filter count divisible by {g}")
        self.out = tuple(_out_len(n, k, s, p, dl) for n, k, s, p, dl in
                         zip(shape[2:], self.kernel, self.stride, self.pad, self.dilate))
        if min(self.out, default=1) < 1:
            raise ValueError(f"convolution: the dilated kernel {self.kernel} (dilate={self.dilate}) is larger "
                             f"than the padded input {tuple(n + 2 * p for n, p in zip(shape[2:], self.pad))}")

    def params(self) -> dict:
        return dict(stride=self.stride, pad=self.pad, dilate=self.dilate, num_group=self.groups)


# --- the raw computations ---------------------------------------------------------------------


def _conv_fwd(xp: Any, x: Any, w: Any, geo: _ConvGeom, b: Any = None) -> Any:
    n, f = x.shape[0], w.shape[0]
    g = geo.groups
    if g == 1 and b is not None:  # the bias as one more column of the filters: no pass of its own
        cols = _im2col(xp, x, geo.kernel, geo.stride, geo.pad, geo.dilate, geo.out, ones_row=True)
        dt = numpy.result_type(x.dtype, w.dtype, b.dtype)
        wb = xp.concatenate([w.reshape(f, -1).astype(dt, copy=False), b.reshape(f, 1).astype(dt, copy=False)], axis=1)
        return xp.matmul(wb, cols.astype(dt, copy=False)).reshape((n, f) + geo.out)
    cols = _im2col(xp, x, geo.kernel, geo.stride, geo.pad, geo.dilate, geo.out)
    if g == 1:
        y = xp.matmul(w.reshape(f, -1), cols)
    else:
        y = xp.matmul(w.reshape(g, f // g, -1), cols.reshape(n, g, -1, cols.shape[-1]))
    y = y.reshape((n, f) + geo.out)
    if b is not None:
        b = b.reshape((-1,) + (1,) * geo.d)
        if y.dtype == numpy.result_type(y, b):
            y += b
        else:
            y = y + b
    return y


def _conv_input(xp: Any, gy: Any, w: Any, shape: tuple, geo: _ConvGeom) -> Any:
    """col2im: the columns' gradient ``W^T g`` added back at each kernel offset."""
    n, f = gy.shape[0], w.shape[0]
    g = geo.groups
    g3 = gy.reshape(n, f, -1)
    if g == 1:
        dcols = xp.matmul(w.reshape(f, -1).T, g3)
    else:
        wg = w.reshape(g, f // g, -1).transpose(0, 2, 1)
        dcols = xp.matmul(wg, g3.reshape(n, g, f // g, -1))
    dcols = dcols.reshape((n, shape[1]) + geo.kernel + geo.out)
    padded = shape[:2] + tuple(s + 2 * p for s, p in zip(shape[2:], geo.pad))
    if _prod(geo.kernel) == 1 and geo.stride == (1,) * geo.d and not any(geo.pad):
        return dcols.reshape(shape)  # a 1x1 kernel reads each input element once
    gx = xp.zeros(padded, dtype=dcols.dtype)
    for k in itertools.product(*(range(kk) for kk in geo.kernel)):
        gx[_offset(k, geo.dilate, geo.stride, geo.out)] += dcols[(slice(None), slice(None)) + k]
    return _crop(gx, shape, geo.pad)


def _conv_weight(xp: Any, x: Any, gy: Any, wshape: tuple, geo: _ConvGeom) -> Any:
    """The columns of ``x`` times ``g``: one (batched) matmul, summed over the batch."""
    n, f = gy.shape[0], wshape[0]
    g = geo.groups
    cols = _im2col(xp, x, geo.kernel, geo.stride, geo.pad, geo.dilate, geo.out)
    g3 = gy.reshape(n, f, -1)
    if g == 1:
        gw = xp.matmul(g3, cols.transpose(0, 2, 1)).sum(axis=0)
    else:
        l = cols.shape[-1]
        gw = xp.matmul(g3.reshape(n, g, f // g, l), cols.reshape(n, g, -1, l).transpose(0, 1, 3, 2)).sum(axis=0)
    return gw.reshape(wshape)


# --- convolution ------------------------------------------------------------------------------


def _np_conv(data, weight, *bias, kernel=None, stride=None, dilate=None, pad=None, num_filter=None, num_group=1,
             workspace=1024, no_bias=False, cudnn_tune=None, cudnn_off=False, layout=None):
    """Reference: the definition, with explicit loops over every output element."""
    d = data.ndim - 2
    st, pd, dl = _tuple("", stride, d, 1), _tuple("", pad, d, 0), _tuple("", dilate, d, 1)
    ks = weight.shape[2:]
    n, c = data.shape[:2]
    f, cg = weight.shape[:2]
    fg = f // num_group
    outs = tuple(_out_len(a, k, s, p, q) for a, k, s, p, q in zip(data.shape[2:], ks, st, pd, dl))
    res = numpy.zeros((n, f) + outs, dtype=numpy.result_type(data, weight))
    for b in range(n):
        for o in range(f):
            grp = o // fg
            for pos in numpy.ndindex(outs):
                acc = 0.0
                for ci in range(cg):
                    for k in numpy.ndindex(ks):
                        idx = tuple(p * s + kk * q - pp for p, s, kk, q, pp in zip(pos, st, k, dl, pd))
                        if all(0 <= i < m for i, m in zip(idx, data.shape[2:])):
                            acc += data[(b, grp * cg + ci) + idx] * weight[(o, ci) + k]
                res[(b, o) + pos] = acc + (bias[0][o] if bias and not no_bias else 0.0)
    return res


def _conv_cases(rng):
    cases = []
    for stride in (1, 2):
        for pad in (0, 1):
            x, w, b = draw(rng, (2, 2, 5, 5)), draw(rng, (3, 2, 3, 3)), draw(rng, (3,))
            cases.append(Case((x, w, b), dict(kernel=(3, 3), stride=(stride, stride), pad=(pad, pad), num_filter=3),
                              ref=_np_conv))
    # no bias; rectangular kernel, mixed strides and pads; dilation; groups; 1-D and 3-D
    cases.append(Case((draw(rng, (2, 2, 5, 5)), draw(rng, (2, 2, 3, 3))), dict(kernel=(3, 3), no_bias=True),
                      ref=_np_conv))
    cases.append(Case((draw(rng, (1, 2, 5, 6)), draw(rng, (2, 2, 2, 3)), draw(rng, (2,))),
                      dict(kernel=(2, 3), stride=(2, 1), pad=(1, 0)), ref=_np_conv))
    cases.append(Case((draw(rng, (2, 1, 6, 6)), draw(rng, (2, 1, 2, 2))),
                      dict(kernel=(2, 2), dilate=(2, 2), pad=(1, 1)), ref=_np_conv))
    cases.append(Case((draw(rng, (2, 4, 4, 4)), draw(rng, (4, 2, 2, 2)), draw(rng, (4,))),
                      dict(kernel=(2, 2), num_filter=4, num_group=2), ref=_np_conv))
    cases.append(Case((draw(rng, (2, 2, 7)), draw(rng, (3, 2, 3)), draw(rng, (3,))),
                      dict(kernel=(3,), stride=(2,), pad=(1,)), ref=_np_conv))
    cases.append(Case((draw(rng, (1, 2, 3, 4, 3)), draw(rng, (2, 2, 2, 2, 2))), dict(kernel=(2, 2, 2), pad=(1, 0, 1)),
                      ref=_np_conv))
    return cases


@defop(public="npx", samples=_conv_cases)
def convolution(xp, data, weight, *bias, kernel=None, stride=None, dilate=None, pad=None, num_filter=None,
                num_group=1, workspace=1024, no_bias=False, cudnn_tune=None, cudnn_off=False, layout=None):
    """MXNet's ``npx.convolution``: ``out[n, f] = bias[f] + sum_c data[n, c] (*) weight[f, c]`` (a
    cross-correlation) for data (N, C, *spatial) and weight (num_filter, C // num_group, *kernel).

    ``kernel`` defaults to the weight's shape and must match it; ``stride``/``dilate`` default to 1 and
    ``pad`` (zeros on both sides) to 0; ``num_filter`` defaults to the weight's count and must match it.
    ``bias`` is optional (left out, None or ``no_bias=True``). The output has
    ``floor((n + 2 p - d (k - 1) - 1) / s) + 1`` positions per spatial axis. ``workspace``,
    ``cudnn_tune`` and ``cudnn_off`` are accepted and ignored.
    """
    geo = _ConvGeom(data.shape, weight.shape, kernel, stride, pad, dilate, num_group, num_filter, layout)
    if len(bias) > 1:
        raise TypeError(f"convolution() takes the arrays data, weight and bias, got {2 + len(bias)} arrays")
    b = None
    if bias and not no_bias:
        b = bias[0]
        if b.shape != (weight.shape[0],):
            raise ValueError(f"convolution: bias must have shape ({weight.shape[0]},), got {b.shape}")
    return _conv_fwd(xp, data, weight, geo, b)


@convolution.vjp
def _(g, data, weight, needs, shapes, kernel, stride, dilate, pad, num_group, no_bias):
    geo = _ConvGeom(shapes[0], shapes[1], kernel, stride, pad, dilate, num_group)
    p = geo.params()
    gx = T.conv_input_grad(g, weight, shape=tuple(shapes[0][2:]), **p) if needs[0] else None
    gw = T.conv_weight_grad(data, g, kernel=geo.kernel, **p) if needs[1] else None
    if len(shapes) < 3:
        return (gx, gw)
    gb = T.sum(g, axis=(0,) + tuple(range(2, 2 + geo.d))) if needs[2] and not no_bias else None
    return (gx, gw, gb)


@convolution.jvp
def _(ts, data, weight, shapes, kernel, stride, dilate, pad, num_group, no_bias):
    geo = _ConvGeom(shapes[0], shapes[1], kernel, stride, pad, dilate, num_group)
    p = dict(kernel=geo.kernel, **geo.params())
    out = bilinear_tangent(lambda x, w: T.convolution(x, w, **p), ts, data, weight)
    if len(ts) > 2 and ts[2] is not None and not no_bias:
        t = T.reshape(ts[2], (-1,) + (1,) * geo.d)
        out = T.broadcast_to(t, (shapes[0][0], shapes[1][0]) + geo.out) if out is None else out + t
    return out


# --- the adjoints of convolution --------------------------------------------------------------


def _conv_p(d, stride, pad, dilate, num_group):
    return dict(stride=_tuple("", stride, d, 1), pad=_tuple("", pad, d, 0), dilate=_tuple("", dilate, d, 1),
                num_group=num_group)


def _np_conv_input_grad(g, weight, shape, stride=None, pad=None, dilate=None, num_group=1):
    """Reference: each output's cotangent times the filter, added at the input positions it read."""
    d = len(shape)
    p = _conv_p(d, stride, pad, dilate, num_group)
    n, f = g.shape[:2]
    cg = weight.shape[1]
    fg = f // num_group
    res = numpy.zeros((n, cg * num_group) + tuple(shape), dtype=numpy.result_type(g, weight))
    for b in range(n):
        for o in range(f):
            for pos in numpy.ndindex(g.shape[2:]):
                for ci in range(cg):
                    for k in numpy.ndindex(weight.shape[2:]):
                        idx = tuple(q * s + kk * dl - pp for q, s, kk, dl, pp in
                                    zip(pos, p["stride"], k, p["dilate"], p["pad"]))
                        if all(0 <= i < m for i, m in zip(idx, shape)):
                            res[(b, (o // fg) * cg + ci) + idx] += g[(b, o) + pos] * weight[(o, ci) + k]
    return res


def _np_conv_weight_grad(data, g, kernel, stride=None, pad=None, dilate=None, num_group=1):
    d = len(kernel)
    p = _conv_p(d, stride, pad, dilate, num_group)
    n, f = g.shape[:2]
    cg = data.shape[1] // num_group
    fg = f // num_group
    res = numpy.zeros((f, cg) + tuple(kernel), dtype=numpy.result_type(g, data))
    for b in range(n):
        for o in range(f):
            for pos in numpy.ndindex(g.shape[2:]):
                for ci in range(cg):
                    for k in numpy.ndindex(tuple(kernel)):
                        idx = tuple(q * s + kk * dl - pp for q, s, kk, dl, pp in
                                    zip(pos, p["stride"], k, p["dilate"], p["pad"]))
                        if all(0 <= i < m for i, m in zip(idx, data.shape[2:])):
                            res[(o, ci) + k] += g[(b, o) + pos] * data[(b, (o // fg) * cg + ci) + idx]
    return res


# (data shape, weight shape, params) of the convolutions whose adjoints the sweep checks
_ADJ_SHAPES = (((2, 2, 5, 5), (3, 2, 3, 3), dict(stride=(1, 1), pad=(0, 0))),
               ((2, 2, 5, 5), (3, 2, 3, 3), dict(stride=(2, 2), pad=(1, 1))),
               ((2, 2, 6, 5), (2, 2, 2, 3), dict(stride=(2, 1), pad=(0, 1), dilate=(2, 1))),
               ((1, 4, 4, 4), (4, 2, 2, 2), dict(num_group=2)),
               ((2, 2, 6), (3, 2, 3), dict(stride=(2,), pad=(1,))))


def _out_shape(xs, ws, p):
    d = len(xs) - 2
    pp = _conv_p(d, p.get("stride"), p.get("pad"), p.get("dilate"), 1)
    return (xs[0], ws[0]) + tuple(_out_len(n, k, s, q, dl) for n, k, s, q, dl in
                                  zip(xs[2:], ws[2:], pp["stride"], pp["pad"], pp["dilate"]))


def _input_grad_cases(rng):
    return [Case((draw(rng, _out_shape(xs, ws, p)), draw(rng, ws)), dict(shape=xs[2:], **p), ref=_np_conv_input_grad)
            for xs, ws, p in _ADJ_SHAPES]


def _weight_grad_cases(rng):
    return [Case((draw(rng, xs), draw(rng, _out_shape(xs, ws, p))), dict(kernel=ws[2:], **p), ref=_np_conv_weight_grad)
            for xs, ws, p in _ADJ_SHAPES]


def _adj_geo(gshape, wshape, shape, stride, pad, dilate, num_group):
    full = (gshape[0], wshape[1] * num_group) + tuple(shape)
    geo = _ConvGeom(full, wshape, None, stride, pad, dilate, num_group)
    if tuple(gshape) != (full[0], wshape[0]) + geo.out:
        raise ValueError(f"conv_input_grad: g has shape {tuple(gshape)}, but the convolution of {full} by "
                         f"{tuple(wshape)} gives {(full[0], wshape[0]) + geo.out}")
    return full, geo


@defop(nin=2, public=None, samples=_input_grad_cases)
def conv_input_grad(xp, dy, weight, shape, stride=None, pad=None, dilate=None, num_group=1):
    """The adjoint of ``convolution`` in ``data`` (of spatial ``shape``) applied to the output
    cotangent ``dy``; bilinear in ``dy`` and ``weight``."""
    full, geo = _adj_geo(dy.shape, weight.shape, shape, stride, pad, dilate, num_group)
    return _conv_input(xp, dy, weight, full, geo)


@conv_input_grad.vjp
def _(g, dy, weight, needs, stride, pad, dilate, num_group):
    """<g, A(dy, W)> = <conv(g, W), dy> = <conv_weight_grad(g, dy), W>."""
    p = dict(stride=stride, pad=pad, dilate=dilate, num_group=num_group)
    gdy = T.convolution(g, weight, **p) if needs[0] else None
    gw = T.conv_weight_grad(g, dy, kernel=tuple(weight.shape[2:]), **p) if needs[1] else None
    return (gdy, gw)


@conv_input_grad.jvp
def _(ts, dy, weight, shape, stride, pad, dilate, num_group):
    p = dict(shape=shape, stride=stride, pad=pad, dilate=dilate, num_group=num_group)
    return bilinear_tangent(lambda a, b: T.conv_input_grad(a, b, **p), ts, dy, weight)


@defop(nin=2, public=None, samples=_weight_grad_cases)
def conv_weight_grad(xp, data, dy, kernel, stride=None, pad=None, dilate=None, num_group=1):
    """The adjoint of ``convolution`` in ``weight`` (of spatial ``kernel``) applied to the output
    cotangent ``dy``; bilinear in ``data`` and ``dy``."""
    f = dy.shape[1]
    d = data.ndim - 2
    wshape = (f, data.shape[1] // max(int(num_group), 1)) + _tuple("kernel", kernel, d, 1)
    geo = _ConvGeom(data.shape, wshape, None, stride, pad, dilate, num_group)
    if tuple(dy.shape) != (data.shape[0], f) + geo.out:
        raise ValueError(f"conv_weight_grad: dy has shape {tuple(dy.shape)}, but the convolution of "
                         f"{tuple(data.shape)} by {wshape} gives {(data.shape[0], f) + geo.out}")
    return _conv_weight(xp, data, dy, wshape, geo)


@conv_weight_grad.vjp
def _(g, data, dy, needs, stride, pad, dilate, num_group):
    """<g, B(x, dy)> = <conv(x, g), dy> = <conv_input_grad(dy, g), x>."""
    p = dict(stride=stride, pad=pad, dilate=dilate, num_group=num_group)
    gx = T.conv_input_grad(dy, g, shape=tuple(data.shape[2:]), **p) if needs[0] else None
    gdy = T.convolution(data, g, **p) if needs[1] else None
    return (gx, gdy)


@conv_weight_grad.jvp
def _(ts, data, dy, kernel, stride, pad, dilate, num_group):
    p = dict(kernel=kernel, stride=stride, pad=pad, dilate=dilate, num_group=num_group)
    return bilinear_tangent(lambda a, b: T.conv_weight_grad(a, b, **p), ts, data, dy)


# --- pooling ----------------------------------------------------------------------------------

_POOL_TYPES = ("max", "avg", "sum")


class _PoolGeom:
    """Normalised pooling parameters for data of ``shape``."""

    __slots__ = ("d", "kernel", "stride", "pad", "out", "whole")

    def __init__(self, shape: tuple, kernel: Any, stride: Any, pad: Any, global_pool: bool = False,
                 pooling_convention: str = "valid", layout: Any = None, pool_type: str = "max") -> None:
        d = self.d = _spatial("pooling", shape, layout)
        if pool_type not in _POOL_TYPES:
            if pool_type == "lp":
                raise NotImplementedError("pooling: pool_type='lp' is not supported (use 'max', 'avg' or 'sum')")
            raise ValueError(f"pooling: pool_type must be one of {_POOL_TYPES}, got {pool_type!r}")
        if pooling_convention != "valid":
            raise NotImplementedError(f"pooling: only pooling_convention='valid' (floor) is supported, got "
                                      f"{pooling_convention!r}")
        if global_pool:
            self.kernel, self.stride, self.pad = tuple(shape[2:]), (1,) * d, (0,) * d
        else:
            if kernel is None or (isinstance(kernel, (tuple, list)) and len(kernel) == 0):
                raise ValueError("pooling: kernel is required unless global_pool=True")
            self.kernel = _tuple("kernel", kernel, d, 1)
            self.stride = _tuple("stride", stride, d, 1)
            self.pad = _tuple("pad", pad, d, 0)
        if min(self.kernel) < 1 or min(self.stride) < 1 or min(self.pad) < 0:
            raise ValueError(f"pooling: kernel and stride must be positive and pad non-negative, got "
                             f"kernel={self.kernel}, stride={self.stride}, pad={self.pad}")
        self.out = tuple(_out_len(n, k, s, p, 1) for n, k, s, p in zip(shape[2:], self.kernel, self.stride, self.pad))
        if min(self.out) < 1:
            raise ValueError(f"pooling: the kernel {self.kernel} is larger than the padded input "
                             f"{tuple(n + 2 * p for n, p in zip(shape[2:], self.pad))}")
        # one window covers everything: a plain reduction
        self.whole = self.out == (1,) * d and self.kernel == tuple(shape[2:]) and not any(self.pad)

    def params(self) -> dict:
        return dict(kernel=self.kernel, stride=self.stride, pad=self.pad)


def _lowest(dtype: Any) -> Any:
    dtype = numpy.dtype(dtype)
    if dtype.kind in "fc":
        return -numpy.inf
    if dtype.kind == "b":
        return False
    return numpy.iinfo(dtype).min


def _strided(a: Any, axis: int, j: int, s: int, o: int) -> Any:
    idx = [slice(None)] * a.ndim
    idx[axis] = slice(j, j + s * (o - 1) + 1, s)
    return a[tuple(idx)]


def _reduce_windows(xp: Any, a: Any, geo: _PoolGeom, fn: Any) -> Any:
    """Combine the windows of padded ``a`` with ``fn`` (maximum or add), one spatial axis at a time."""
    for i in range(geo.d):
        k, s, o = geo.kernel[i], geo.stride[i], geo.out[i]
        if k == 1:
            a = _strided(a, 2 + i, 0, s, o)
            continue
        r = fn(_strided(a, 2 + i, 0, s, o), _strided(a, 2 + i, 1, s, o))
        for j in range(2, k):
            fn(r, _strided(a, 2 + i, j, s, o), out=r)
        a = r
    return a


def _divisor(xp: Any, shape: tuple, geo: _PoolGeom, count_include_pad: Any, dtype: Any) -> Any:
    """What each window's sum is divided by for average pooling: the window size, or (with
    ``count_include_pad=False``) the number of its elements inside the input."""
    if count_include_pad is None or count_include_pad or not any(geo.pad):
        return _prod(geo.kernel)
    div: Any = None
    for i in range(geo.d):
        start = numpy.arange(geo.out[i]) * geo.stride[i] - geo.pad[i]
        cnt = numpy.minimum(start + geo.kernel[i], shape[2 + i]) - numpy.maximum(start, 0)
        cnt = cnt.reshape((-1,) + (1,) * (geo.d - 1 - i))
        div = cnt if div is None else div * cnt
    return xp.asarray(div.astype(dtype))


def _pool_fwd(xp: Any, x: Any, geo: _PoolGeom, pool_type: str, count_include_pad: Any) -> Any:
    axes = tuple(range(2, 2 + geo.d))
    if pool_type == "max":
        if geo.whole:
            return xp.max(x, axis=axes, keepdims=True)
        r = _reduce_windows(xp, _pad(xp, x, geo.pad, _lowest(x.dtype)), geo, xp.maximum)
    else:
        if geo.whole:
            return xp.mean(x, axis=axes, keepdims=True) if pool_type == "avg" else xp.sum(x, axis=axes, keepdims=True)
        r = _reduce_windows(xp, _pad(xp, x, geo.pad), geo, xp.add)
        if pool_type == "avg":
            div = _divisor(xp, x.shape, geo, count_include_pad, r.dtype if r.dtype.kind in "fc" else numpy.float64)
            if r.dtype.kind in "fc" and _prod(geo.kernel) > 1:
                r /= div
            else:
                r = r / div
    if _prod(geo.kernel) == 1:  # 1-element windows: r may be a view of the input; never return one
        r = r.copy()
    return r


def _offsets(kernel: tuple) -> list:
    """Every kernel offset, in row-major order (its position in the list is its window index)."""
    return list(itertools.product(*(range(k) for k in kernel)))


def _argmax_which(xp: Any, x: Any, geo: _PoolGeom) -> Any:
    """For each window, the row-major position within the window of its first maximum.

    A running maximum over the kernel offsets, updated only where a later element is strictly
    greater (so ties keep the first); the position is kept with arithmetic on small integers
    (masked writes are several times slower in NumPy)."""
    if geo.whole:
        n, c = x.shape[:2]
        return xp.argmax(x.reshape(n, c, -1), axis=-1).reshape((n, c) + (1,) * geo.d)
    xpad = _pad(xp, x, geo.pad, _lowest(x.dtype))
    offsets = _offsets(geo.kernel)
    ones = (1,) * geo.d
    dt = numpy.uint8 if len(offsets) <= 256 else numpy.int32
    best = xpad[_offset(offsets[0], ones, geo.stride, geo.out)]
    which = xp.zeros(best.shape, dtype=dt)
    for j, k in enumerate(offsets[1:], 1):
        v = xpad[_offset(k, ones, geo.stride, geo.out)]
        upd = v > best  # strict: ties keep the first maximum
        best = xp.maximum(best, v) if j == 1 else xp.maximum(best, v, out=best)
        which += upd * (dt(j) - which)
    return which


def _np_pooling(data, kernel=None, stride=None, pad=None, pool_type="max", pooling_convention="valid",
                global_pool=False, cudnn_off=False, p_value=None, count_include_pad=None, layout=None):
    """Reference: explicit loops over every window."""
    d = data.ndim - 2
    if global_pool:
        ks, st, pd = data.shape[2:], (1,) * d, (0,) * d
    else:
        ks, st, pd = _tuple("", kernel, d, 1), _tuple("", stride, d, 1), _tuple("", pad, d, 0)
    outs = tuple(_out_len(n, k, s, p, 1) for n, k, s, p in zip(data.shape[2:], ks, st, pd))
    res = numpy.zeros(data.shape[:2] + outs, dtype=data.dtype)
    for b, ch in numpy.ndindex(data.shape[:2]):
        for pos in numpy.ndindex(outs):
            vals = []
            for k in numpy.ndindex(tuple(ks)):
                idx = tuple(q * s + kk - p for q, s, kk, p in zip(pos, st, k, pd))
                if all(0 <= i < m for i, m in zip(idx, data.shape[2:])):
                    vals.append(data[(b, ch) + idx])
            if pool_type == "max":
                res[(b, ch) + pos] = max(vals)
            elif pool_type == "sum":
                res[(b, ch) + pos] = sum(vals)
            else:
                res[(b, ch) + pos] = sum(vals) / (len(vals) if count_include_pad is False else _prod(tuple(ks)))
    return res


def _distinct(rng, shape):
    """Values 0.25 apart in random order: no window has a tie."""
    n = _prod(shape)
    return rng.permutation(numpy.arange(n, dtype=numpy.float64)).reshape(shape) * 0.25 - n / 8


def _pool_cases(rng):
    specs = [((2, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2))),
             ((2, 2, 5, 5), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1))),
             ((2, 2, 5, 5), dict(kernel=(3, 3), stride=(2, 2))),
             ((2, 2, 5, 5), dict(kernel=(2, 3), stride=(2, 1), pad=(1, 1))),
             ((2, 2, 5, 5), dict(kernel=(2, 2))),
             ((2, 2, 3, 4), dict(global_pool=True)),
             ((2, 2, 7), dict(kernel=(3,), stride=(2,), pad=(1,))),
             ((1, 2, 4, 3, 4), dict(kernel=(2, 2, 2), stride=(2, 1, 2), pad=(1, 0, 0)))]
    cases = []
    for shape, p in specs:
        cases.append(Case((_distinct(rng, shape),), dict(pool_type="max", **p), ref=_np_pooling))
        cases.append(Case((draw(rng, shape),), dict(pool_type="avg", **p), ref=_np_pooling))
    x = draw(rng, (2, 2, 5, 5))
    cases.append(Case((x,), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg", count_include_pad=False),
                      ref=_np_pooling))
    cases.append(Case((x,), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="sum"), ref=_np_pooling))
    cases.append(Case((x,), dict(global_pool=True, pool_type="sum"), ref=_np_pooling))
    cases.append(Case((_distinct(rng, (2, 2, 5, 5)),), dict(kernel=(3, 3), pad=(1, 1)), ref=_np_pooling))  # default max
    return cases


@defop(nin=1, public="npx", samples=_pool_cases)
def pooling(xp, data, kernel=None, stride=None, pad=None, pool_type="max", pooling_convention="valid",
            global_pool=False, cudnn_off=False, p_value=None, count_include_pad=None, layout=None):
    """MXNet's ``npx.pooling`` over the spatial axes of data (N, C, *spatial): the maximum, average or
    sum of each window of size ``kernel``, moved by ``stride`` (default 1) over the input padded with
    ``pad`` (default 0) elements on both sides; ``global_pool=True`` pools everything (kernel = the
    spatial shape). Each axis has ``floor((n + 2 p - k) / s) + 1`` windows
    (``pooling_convention='valid'``; 'full' and 'lp' pooling are not supported).

    Max pooling pads with -inf and sends each window's gradient to its first maximum (row-major
    order within the window) on ties. Average pooling divides by the window size
    (``count_include_pad`` None or True, as MXNet and PyTorch do by default) or by the number of
    non-padding elements (``count_include_pad=False``). ``cudnn_off`` is accepted and ignored.
    """
    geo = _PoolGeom(data.shape, kernel, stride, pad, global_pool, pooling_convention, layout, pool_type)
    return _pool_fwd(xp, data, geo, pool_type, count_include_pad)


@pooling.vjp
def _(g, data, shapes, kernel, stride, pad, pool_type, pooling_convention, global_pool, count_include_pad, layout):
    geo = _PoolGeom(shapes[0], kernel, stride, pad, global_pool, pooling_convention, layout, pool_type)
    if pool_type == "max":
        raw = buffer(data)
        which = _argmax_which(_xp(raw), raw, geo)
        return (T.pool_route(g, which=which, shape=tuple(shapes[0]), **geo.params()),)
    return (T.pool_spread(g, shape=tuple(shapes[0]), pool_type=pool_type, count_include_pad=count_include_pad,
                          **geo.params()),)


@pooling.jvp
def _(ts, data, shapes, kernel, stride, pad, pool_type, pooling_convention, global_pool, count_include_pad, layout):
    geo = _PoolGeom(shapes[0], kernel, stride, pad, global_pool, pooling_convention, layout, pool_type)
    if pool_type == "max":
        raw = buffer(data)
        return T.pool_gather(ts[0], which=_argmax_which(_xp(raw), raw, geo), **geo.params())
    return T.pooling(ts[0], pool_type=pool_type, count_include_pad=count_include_pad, **geo.params())


def _xp(raw: Any) -> Any:
    from ..backend import xp_of  # noqa: PLC0415
    return xp_of((raw,))


# --- the adjoints of pooling ------------------------------------------------------------------


def _padded_shape(shape: tuple, pad: tuple) -> tuple:
    return tuple(shape[:2]) + tuple(n + 2 * p for n, p in zip(shape[2:], pad))


def _window_cells(pos, which, kernel, stride, pad, spatial):
    """The input position window ``pos`` reads at its element ``which``, or None in the padding."""
    k = numpy.unravel_index(int(which), tuple(kernel))
    idx = tuple(q * s + kk - p for q, s, kk, p in zip(pos, stride, k, pad))
    return idx if all(0 <= i < m for i, m in zip(idx, spatial)) else None


def _np_pool_route(dy, which, shape, kernel, stride, pad):
    res = numpy.zeros(shape, dtype=dy.dtype)
    for pos in numpy.ndindex(dy.shape):
        idx = _window_cells(pos[2:], which[pos], kernel, stride, pad, shape[2:])
        if idx is not None:
            res[pos[:2] + idx] += dy[pos]
    return res


def _np_pool_gather(x, which, kernel, stride, pad):
    outs = tuple(_out_len(n, k, s, p, 1) for n, k, s, p in zip(x.shape[2:], kernel, stride, pad))
    res = numpy.zeros(x.shape[:2] + outs, dtype=x.dtype)
    for pos in numpy.ndindex(res.shape):
        idx = _window_cells(pos[2:], which[pos], kernel, stride, pad, x.shape[2:])
        res[pos] = 0.0 if idx is None else x[pos[:2] + idx]
    return res


_ROUTES = (((2, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0))),
           ((2, 2, 3, 3), dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1))),
           ((2, 2, 5, 4), dict(kernel=(2, 3), stride=(2, 1), pad=(1, 1))),
           ((2, 2, 3, 4), dict(kernel=(3, 4), stride=(1, 1), pad=(0, 0))),  # one window: global pooling
           ((2, 1, 5), dict(kernel=(2,), stride=(1,), pad=(1,))))


def _route_cases(rng):
    cases = []
    for shape, p in _ROUTES:
        geo = _PoolGeom(shape, p["kernel"], p["stride"], p["pad"])
        which = rng.integers(0, _prod(geo.kernel), size=shape[:2] + geo.out)  # some point into the padding
        cases.append(Case((draw(rng, shape[:2] + geo.out),), dict(which=which, shape=shape, **p), ref=_np_pool_route))
    return cases


def _gather_cases(rng):
    cases = []
    for shape, p in _ROUTES:
        geo = _PoolGeom(shape, p["kernel"], p["stride"], p["pad"])
        which = rng.integers(0, _prod(geo.kernel), size=shape[:2] + geo.out)
        cases.append(Case((draw(rng, shape),), dict(which=which, **p), ref=_np_pool_gather))
    return cases


@defop(nin=1, linear=True, public=None, samples=_route_cases)
def pool_route(xp, dy, which, shape, kernel, stride, pad):
    """Max pooling's adjoint: zeros of ``shape`` with each window's ``dy`` added at its element
    ``which`` (the row-major position within the window, an integer array of ``dy``'s shape);
    elements in the padding are dropped."""
    which = xp.asarray(which)  # a host array (given by hand) goes where dy is
    geo = _PoolGeom(tuple(shape), kernel, stride, pad)
    if tuple(dy.shape) != tuple(shape[:2]) + geo.out or tuple(which.shape) != tuple(dy.shape):
        raise ValueError(f"pool_route: dy {tuple(dy.shape)} and which {tuple(which.shape)} must have the pooled "
                         f"shape {tuple(shape[:2]) + geo.out}")
    if geo.whole:
        n, c = shape[:2]
        out = xp.zeros((n, c, _prod(tuple(shape[2:]))), dtype=dy.dtype)
        xp.put_along_axis(out, which.reshape(n, c, 1).astype(numpy.intp), dy.reshape(n, c, 1), axis=-1)
        return out.reshape(shape)
    padded = _padded_shape(shape, geo.pad)
    overlap = any(s < k for s, k in zip(geo.stride, geo.kernel))
    # windows that tile the input exactly (stride = kernel, no padding, no remainder) write every element
    tiled = geo.stride == geo.kernel and not any(geo.pad) and all(
        o * k == n for o, k, n in zip(geo.out, geo.kernel, shape[2:]))
    gx = xp.empty(padded, dtype=dy.dtype) if tiled else xp.zeros(padded, dtype=dy.dtype)
    ones = (1,) * geo.d
    select = _selector(xp, dy)
    for j, k in enumerate(_offsets(geo.kernel)):
        dst = gx[_offset(k, ones, geo.stride, geo.out)]
        if overlap:
            dst += select(which == j, dy)
        else:  # the windows do not overlap: each input element receives from one window at most
            select(which == j, dy, out=dst)
    return _crop(gx, tuple(shape), geo.pad)


def _selector(xp: Any, v: Any) -> Any:
    """``sel(mask, v)``: ``v`` where ``mask``, else 0. A product with the mask when ``v`` is finite
    (NumPy's ``where`` with an irregular mask is about ten times slower); ``where`` otherwise, so that
    an infinite or NaN ``v`` does not leak NaN (0 * inf) into the positions the mask drops."""
    if v.dtype.kind in "fc" and not bool(xp.isfinite(v).all()):
        def sel(mask, v, out=None):
            r = xp.where(mask, v, 0)
            if out is None:
                return r
            out[...] = r
            return out
        return sel

    def prod(mask, v, out=None):
        return xp.multiply(v, mask, out=out)
    return prod


@pool_route.vjp
def _(g, which, kernel, stride, pad):
    return (T.pool_gather(g, which=which, kernel=kernel, stride=stride, pad=pad),)


@defop(nin=1, linear=True, public=None, samples=_gather_cases)
def pool_gather(xp, x, which, kernel, stride, pad):
    """Each window's element ``which`` of ``x`` (zero-padded by ``pad``): the adjoint of ``pool_route``."""
    which = xp.asarray(which)  # a host array (given by hand) goes where x is
    geo = _PoolGeom(tuple(x.shape), kernel, stride, pad)
    if geo.whole:
        n, c = x.shape[:2]
        return xp.take_along_axis(x.reshape(n, c, -1), which.reshape(n, c, 1).astype(numpy.intp),
                                  axis=-1).reshape((n, c) + geo.out)
    xpad = _pad(xp, x, geo.pad)
    ones = (1,) * geo.d
    out = None
    select = _selector(xp, x)
    for j, k in enumerate(_offsets(geo.kernel)):
        part = select(which == j, xpad[_offset(k, ones, geo.stride, geo.out)])
        if out is None:
            out = part
        else:
            out += part
    return out


@pool_gather.vjp
def _(g, which, shapes, kernel, stride, pad):
    return (T.pool_route(g, which=which, shape=tuple(shapes[0]), kernel=kernel, stride=stride, pad=pad),)


def _np_pool_spread(dy, shape, kernel, stride, pad, pool_type="avg", count_include_pad=None):
    d = len(shape) - 2
    res = numpy.zeros(_padded_shape(shape, pad), dtype=dy.dtype)
    for b, ch in numpy.ndindex(shape[:2]):
        for pos in numpy.ndindex(dy.shape[2:]):
            cells = [tuple(q * s + kk for q, s, kk in zip(pos, stride, k)) for k in numpy.ndindex(tuple(kernel))]
            inside = [cl for cl in cells if all(p <= i < p + n for i, p, n in zip(cl, pad, shape[2:]))]
            div = 1 if pool_type == "sum" else len(inside) if count_include_pad is False else len(cells)
            for cl in cells:
                res[(b, ch) + cl] += dy[(b, ch) + pos] / div
    return res[(slice(None), slice(None)) + tuple(slice(p, p + n) for n, p in zip(shape[2:], pad))] if d else res


def _spread_cases(rng):
    out = []
    for shape, p in (((2, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2), pad=(0, 0))),
                     ((2, 2, 5, 5), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
                     ((2, 2, 3, 4), dict(kernel=(3, 4), stride=(1, 1), pad=(0, 0))),
                     ((2, 1, 5), dict(kernel=(2,), stride=(1,), pad=(1,)))):
        geo = _PoolGeom(shape, p["kernel"], p["stride"], p["pad"])
        for kind, cip in (("avg", None), ("avg", False), ("sum", None)):
            out.append(Case((draw(rng, shape[:2] + geo.out),), dict(shape=shape, pool_type=kind, count_include_pad=cip,
                                                                    **p), ref=_np_pool_spread))
    return out


@defop(nin=1, linear=True, public=None, samples=_spread_cases)
def pool_spread(xp, dy, shape, kernel, stride, pad, pool_type="avg", count_include_pad=None):
    """Each window's cotangent ``dy`` spread evenly over the window (divided as average pooling
    divides, or not for ``pool_type='sum'``), summed into zeros of ``shape``: the adjoint of
    average and sum pooling."""
    geo = _PoolGeom(tuple(shape), kernel, stride, pad, pool_type=pool_type)
    if tuple(dy.shape) != tuple(shape[:2]) + geo.out:
        raise ValueError(f"pool_spread: dy has shape {tuple(dy.shape)}, expected {tuple(shape[:2]) + geo.out}")
    dtype = dy.dtype if dy.dtype.kind in "fc" else numpy.dtype(numpy.float64)
    if pool_type == "avg":
        dy = dy / _divisor(xp, shape, geo, count_include_pad, dtype)
    if geo.whole:
        return xp.ascontiguousarray(xp.broadcast_to(dy, tuple(shape)), dtype=dtype)
    cur = dy
    padded = _padded_shape(shape, geo.pad)
    for i in range(geo.d):
        k, s, o = geo.kernel[i], geo.stride[i], geo.out[i]
        full = list(cur.shape)
        full[2 + i] = padded[2 + i]
        nxt = xp.zeros(tuple(full), dtype=dtype)
        for j in range(k):
            _strided(nxt, 2 + i, j, s, o)[...] += cur
        cur = nxt
    return _crop(cur, tuple(shape), geo.pad)


@pool_spread.vjp
def _(g, kernel, stride, pad, pool_type, count_include_pad):
    return (T.pooling(g, kernel=kernel, stride=stride, pad=pad, pool_type=pool_type,
                      count_include_pad=count_include_pad),)
