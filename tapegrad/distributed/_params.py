"""Data-parallel helpers on parameter lists (either dialect): average the gradients, share the start."""
from __future__ import annotations

from typing import Any, Iterable

import numpy

from ..backend import xp_of
from ._collectives import _check_root, _writable, raw, seam
from ._runtime import STATE, check_call, need, wait

__all__ = ["average_gradients", "broadcast_parameters"]


def _grads(params: Iterable[Any]) -> list:
    """The raw gradient buffers of the parameters that have one (``p.grad`` not None)."""
    out = []
    for p in params:
        g = getattr(p, "grad", None)  # (both dialects' arrays have .grad: None until there is one)
        if g is not None:
            out.append(raw(g, "average_gradients", inplace=True))
    return out


class _Bucket:
    """Several gradients flattened into one buffer, all-reduced as one."""

    __slots__ = ("grads", "nbytes", "flat", "req")

    def __init__(self) -> None:
        self.grads: list = []
        self.nbytes = 0
        self.flat: Any = None
        self.req: Any = None

    def start(self) -> None:
        g0 = self.grads[0]
        if len(self.grads) == 1 and g0.flags.c_contiguous:
            self.flat = g0  # one gradient: reduced where it is
        else:
            xp = xp_of([g0])
            self.flat = xp.empty(sum(g.size for g in self.grads), g0.dtype)
            o = 0
            for g in self.grads:
                self.flat[o:o + g.size].reshape(g.shape)[...] = g
                o += g.size
        self.req = seam(self.flat).allreduce(self.flat, "sum")

    def finish(self) -> None:
        if self.flat is self.grads[0]:
            self.flat /= STATE.size
            return
        o = 0
        for g in self.grads:
            xp_of([g]).divide(self.flat[o:o + g.size].reshape(g.shape), STATE.size, out=g)
            o += g.size


def average_gradients(params: Iterable[Any], *, bucket_bytes: int = 25 * 2**20) -> None:
    """Replace each parameter's ``.grad`` with its mean over all ranks, in place (call it after
    ``backward()``, before the update). Parameters without a gradient are skipped (on every rank alike).

    Small gradients are packed into buckets of about ``bucket_bytes``; each bucket's all-reduce starts
    as soon as it is full, and all are waited for at the end."""
    need()
    grads = _grads(params)
    if not grads:
        return
    what = check_call("average_gradients", (len(grads), sum(g.size for g in grads)), grads[0].dtype)
    if STATE.size == 1:
        return
    open_: dict = {}  # (dtype, device) -> the bucket being filled
    started = []
    for g in grads:
        if not numpy.dtype(g.dtype).kind in "fc":
            raise TypeError(f"average_gradients: a gradient of dtype {g.dtype} cannot be averaged; parameters "
                            "must be floating point")
        key = (g.dtype, type(g))
        b = open_.setdefault(key, _Bucket())
        b.grads.append(g)
        b.nbytes += g.nbytes
        if b.nbytes >= bucket_bytes:
            b.start()
            started.append(b)
            del open_[key]
    for b in open_.values():
        b.start()
        started.append(b)
    wait([b.req for b in started], what)
    for b in started:
        b.finish()


def broadcast_parameters(params: Iterable[Any], root: int = 0) -> None:
    """Overwrite each parameter's data, in place, with its value on ``root`` (every rank starts alike).

    The parameters' shapes and dtypes are compared across ranks first: a mismatch is an error naming
    both (whatever ``init(check=...)`` says)."""
    need()
    _check_root(root)
    ps = list(params)
    check_call("broadcast", (len(ps),), None, root=root, force=True,
               context="broadcast_parameters: the ranks hold different numbers of parameters")
    bufs = [raw(p, "broadcast_parameters", inplace=True) for p in ps]
    what: Any = "the other ranks' broadcast_parameters"
    for i, buf in enumerate(bufs):  # every shape checked before any broadcast starts
        what = check_call("broadcast", buf.shape, buf.dtype, root=root, force=True,
                          context=f"broadcast_parameters: parameter {i}")
    reqs, backs = [], []
    for p, buf in zip(ps, bufs):
        work, back = _writable(p, buf, "broadcast_parameters")
        reqs.append(seam(work).bcast(work, root))
        backs.append(back)
    wait(reqs, what)
    for back in backs:
        if back is not None:
            back()
