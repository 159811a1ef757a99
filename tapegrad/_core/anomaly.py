"""Anomaly detection: stop at the first gradient rule that makes NaN or inf out of finite values.

While it is on (``tapegrad.detect_anomaly()``, ``torch.autograd.detect_anomaly()``), the engine
checks every rule's result in a backward that computes values (not in a compiled replay): when a
cotangent it returned holds NaN or inf although the cotangent it received and the values the node
saved are finite, the backward raises, naming the op (the dialect's name), the user's line of the
forward that created the node and a summary of the node's saved inputs.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy

from .errors import AutogradError
from .site import add_note, cite
from ..backend import to_host

#: [on, check_nan]: whether the engine checks rules, and whether a NaN/inf result raises (PyTorch's
#: ``check_nan``; off, only the forward lines are kept, which tapegrad always keeps).
STATE = [False, True]


class detect_anomaly:  # noqa: N801 - PyTorch's name and use (a context manager)
    """Context manager: within it, a backward raises at the first rule that turns finite values into
    NaN or inf, naming the op, the user's forward line and the inputs."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._prev: list = []

    def __enter__(self) -> None:
        self._prev.append(list(STATE))
        STATE[:] = [True, self.check_nan]

    def __exit__(self, *exc: object) -> None:
        STATE[:] = self._prev.pop()


class set_detect_anomaly(detect_anomaly):  # noqa: N801
    """Switch anomaly detection on or off now (``mode``); as a context manager, restore it on exit."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        super().__init__(check_nan)
        self._before = list(STATE)
        STATE[:] = [bool(mode), check_nan]

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:  # (as PyTorch: each exit restores the setting before the call)
        STATE[:] = self._before


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on."""
    return STATE[0]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether anomaly detection raises on NaN/inf results (PyTorch's ``check_nan``)."""
    return STATE[0] and STATE[1]


def _raw(x: Any) -> Any:
    return getattr(x, "_data", x)


def _flat(x: Any) -> Iterator[Any]:
    if isinstance(x, (list, tuple)):
        for y in x:
            yield from _flat(y)
    elif x is not None:
        yield _raw(x)


def _finite(d: Any) -> bool:
    """Whether a buffer (or number) holds no NaN and no inf (integer and boolean ones always)."""
    dt = getattr(d, "dtype", None)
    if dt is None:
        return not isinstance(d, (float, complex)) or bool(numpy.isfinite(d))
    if dt.kind not in "fc":
        return True
    return bool(d.size == 0 or numpy.isfinite(d).all())


def summary(d: Any) -> str:
    """A short description of a buffer's values: shape, dtype, range and what is special in it."""
    if not hasattr(d, "dtype"):
        return repr(d)
    d = to_host(d)
    head = f"shape {tuple(d.shape)}, {d.dtype}"
    if d.size == 0 or d.dtype.kind not in "biufc":
        return head
    if d.dtype.kind == "c":
        return f"{head}, max |x| {numpy.abs(d).max():.6g}"
    parts = [f"min {d.min():.6g}", f"max {d.max():.6g}"]
    zeros = int(numpy.count_nonzero(d == 0))
    if zeros:
        parts.append(f"{zeros} zero{'s' if zeros != 1 else ''}")
    neg = int(numpy.count_nonzero(d < 0))
    if neg and d.dtype.kind == "f":
        parts.append(f"{neg} negative")
    bad = int(d.size - numpy.count_nonzero(numpy.isfinite(d))) if d.dtype.kind == "f" else 0
    if bad:
        parts.append(f"{bad} not finite")
    return f"{head}: " + ", ".join(parts)


def check(node: Any, g: Any, gin: tuple) -> None:
    """Raise when ``node``'s rule returned NaN or inf in ``gin`` from a finite cotangent ``g`` and
    finite saved values (called by the engine while anomaly detection is on)."""
    if not STATE[1]:
        return
    bad = None
    for k, gi in enumerate(gin):
        d = _raw(gi)
        if d is not None and not _finite(d):
            bad = (k, d)
            break
    if bad is None:
        return
    saved = [_raw(s) for s in (node.saved or ())]
    outs = list(_flat(node.out))
    if not all(_finite(x) for x in (*_flat(g), *saved, *outs)):
        return  # the NaN or inf came in: an earlier op is to blame, or the forward already had it
    k, d = bad
    what = "nan" if numpy.isnan(to_host(d)).any() else "inf"
    name = node.cls._node_name(node)
    err = AutogradError(f"Function {name!r} returned {what} values in its {k}th output.")
    cite(err, node)
    lines = []
    saved = node.saved or [None] * len(node.parents)
    for i, (s, p) in enumerate(zip(saved, node.parents)):
        if s is None and p is not None and p.op is None and p.var is not None:  # a variable: read it
            v = p.var()
            s = None if v is None else v._data
        if s is not None:
            lines.append(f"  input {i}{' (this gradient)' if i == k else ''}: {summary(_raw(s))}")
    if node.nout is None:
        if node.out is not None:
            lines.append(f"  output: {summary(_raw(node.out))}")
        lines.append(f"  incoming gradient: {', '.join(summary(x) for x in _flat(g))}")
    else:  # a multi-output op (svd, eigh, split): per output, what it saved and the cotangent it got
        outs = node.out if node.out is not None else [None] * node.nout
        for j, (o, gj) in enumerate(zip(outs, g)):
            if o is not None:
                lines.append(f"  output {j}: {summary(_raw(o))}")
            lines.append(f"  incoming gradient {j}: {'none (zero)' if gj is None else summary(_raw(gj))}")
    add_note(err, "The values the rule read:\n" + "\n".join(lines))
    raise err
