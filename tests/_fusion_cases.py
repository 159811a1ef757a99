"""Helpers shared by the fusion tests: a compiled function's kernels, results brought to the host,
and a fused compiled function run beside the eager one."""
from __future__ import annotations

import numpy

import tapegrad


def _kernels(c):
    return [k for e in c._entries.values() if e.program is not None for k in e.program.kernels]


def _names(c):
    return [n for k in _kernels(c) for n in k.names]


def _host(v):
    if v is None:
        return None
    if isinstance(v, (tuple, list)):
        return [_host(x) for x in v]
    if hasattr(v, "asnumpy"):
        return v.asnumpy().copy()
    if hasattr(v, "detach"):
        return v.detach().numpy().copy()
    return numpy.array(v).copy()


def _assert_same(got, want, rtol):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want):
            _assert_same(g, w, rtol)
        return
    if want is None:
        assert got is None
        return
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    if want.dtype.kind in "fc":
        numpy.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-3, equal_nan=True)
        if want.dtype.kind == "f":
            keep = ~numpy.isnan(want)
            numpy.testing.assert_array_equal(numpy.signbit(got)[keep], numpy.signbit(want)[keep],
                                             err_msg="signed zeros differ")
    else:
        numpy.testing.assert_array_equal(got, want)


def _versus_eager(fn, make, calls=3, rtol=1e-10, state=None):
    """``fn(*make(i))`` eagerly and through ``compile(fn, fuse=True)``, on separate identical inputs
    from ``make``; outputs (and ``state(args)`` after each call) must agree. Returns the compiled function."""
    c = tapegrad.compile(fn, fuse=True)
    for i in range(calls):
        ae, ac = make(i), make(i)
        with numpy.errstate(all="ignore"):
            want = _host(fn(*ae))
            got = _host(c(*ac))
        _assert_same(got, want, rtol)
        if state is not None:
            _assert_same(_host(state(ac)), _host(state(ae)), rtol)
    return c
