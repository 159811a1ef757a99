"""The process group: one MPI communicator, the collective timeout, the call check and ``Work``.

Every blocking wait goes through ``wait``: non-blocking requests polled until done or until the
timeout, so a rank that stopped or called another collective ends in a ``DistributedError``
instead of a hang. ``check_call`` exchanges one fixed-size signature per collective.
"""
from __future__ import annotations

import math
import os
import sys
import time
import traceback
from typing import Any, Callable, Sequence

import numpy

__all__ = ["DistributedError", "Work", "init", "is_initialized", "finalize", "rank", "world_size", "barrier"]

#: seconds every collective may wait, unless ``init(timeout=...)`` or this variable says otherwise
TIMEOUT_ENV = "TAPEGRAD_DIST_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
#: spin on ``Test`` this long before sleeping between tests: MPI progresses only inside MPI calls
SPIN_S = 0.01
MAX_NAP_S = 1e-3


class DistributedError(RuntimeError):
    """A collective failed across processes: a timeout, ranks that called different collectives
    (or the same one on arrays of different shapes or dtypes), or a use before ``init()``."""


DistributedError.__module__ = "tapegrad.distributed"


class _State:
    """The process group of ``init``; class defaults stand for "not initialized"."""

    __slots__ = ()
    comm: Any = None
    mpi: Any = None
    rank = 0
    size = 1
    timeout = DEFAULT_TIMEOUT
    check = True
    calls = 0  # collectives this rank started: part of the call check's signature
    old_hook: Any = None
    nccl: Any = None  # the NCCL communicator, made on the first CuPy collective


STATE = _State
_DEFAULTS = {k: v for k, v in vars(_State).items() if not k.startswith("__")}


def _mpi() -> Any:
    try:
        from mpi4py import MPI  # noqa: PLC0415 - optional dependency
    except ImportError as e:
        raise ImportError("tapegrad.distributed runs on MPI through mpi4py: pip install 'tapegrad[dist]' "
                          "(mpi4py and an MPI such as the mpich wheel)") from e
    return MPI


def _env_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds; set it to e.g. 300") from None


def init(comm: Any = None, *, timeout: float | None = None, check: bool = True) -> None:
    """Join the process group: ``comm`` (an mpi4py communicator; ``MPI.COMM_WORLD`` by default).

    ``timeout`` bounds every blocking collective in seconds (default: the environment variable
    ``TAPEGRAD_DIST_TIMEOUT``, else 300). ``check`` compares each collective's name, shape, dtype and
    op across ranks before running it, so that a mismatch is an error instead of a hang or garbage.
    Installs a ``sys.excepthook`` that prints an uncaught exception prefixed with this rank and
    aborts the whole job. A second call is a no-op (with the same or no communicator)."""
    MPI = _mpi()
    if STATE.comm is not None:
        if comm is not None and comm is not STATE.comm:
            raise DistributedError("tapegrad.distributed is already initialized with another communicator; "
                                   "call finalize() first to switch")
        return
    if timeout is None:
        timeout = _env_timeout()
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    comm = MPI.COMM_WORLD if comm is None else comm
    STATE.comm, STATE.mpi = comm, MPI
    STATE.rank, STATE.size = comm.Get_rank(), comm.Get_size()
    STATE.timeout, STATE.check, STATE.calls = float(timeout), bool(check), 0
    STATE.old_hook = sys.excepthook
    sys.excepthook = _excepthook


def _excepthook(kind: type, value: BaseException, tb: Any) -> None:
    """Print the failing rank's traceback, each line prefixed with its rank, then abort every rank."""
    comm, r = STATE.comm, STATE.rank
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write("".join(f"[rank {r}] {line}\n" for line in text.rstrip("\n").split("\n")))
    sys.stderr.flush()
    if comm is None:  # (finalized meanwhile)
        return
    sys.stdout.flush()
    comm.Abort(1)


def is_initialized() -> bool:
    """Whether ``init()`` has run (and ``finalize()`` has not since)."""
    return STATE.comm is not None


def finalize() -> None:
    """Forget the process group and restore ``sys.excepthook``; MPI itself stays up (mpi4py ends it at exit)."""
    if STATE.comm is None:
        return
    if sys.excepthook is _excepthook:
        sys.excepthook = STATE.old_hook
    for name, value in _DEFAULTS.items():
        setattr(_State, name, value)

def need() -> Any:
    """The communicator; an error naming the fix before ``init()``."""
    if STATE.comm is None:
        raise DistributedError("tapegrad.distributed is not initialized: call tapegrad.distributed.init() first "
                               "(and start the processes with mpiexec -n N python ...)")
    return STATE.comm


def rank() -> int:
    """This process's rank in the group, from 0."""
    need()
    return STATE.rank


def world_size() -> int:
    """The number of processes in the group."""
    need()
    return STATE.size


# -- waiting -----------------------------------------------------------------------------------

def wait(reqs: Sequence[Any], what: "str | Waiting", timeout: float | None = None) -> None:
    """Poll requests (objects with ``Test()``) until all are done; a ``DistributedError`` after
    ``timeout`` seconds (default: init's) naming ``what`` this rank waited for."""
    limit = STATE.timeout if timeout is None else timeout
    pending = [r for r in reqs if not r.Test()]
    if not pending:
        return
    t0 = time.monotonic()
    nap = 0.0
    while True:
        pending = [r for r in pending if not r.Test()]
        if not pending:
            return
        spent = time.monotonic() - t0
        if spent > limit:
            what = str(what)
            name = what.split("(", 1)[0].split()[-1]
            raise DistributedError(f"{name} timed out after {limit:g} s on rank {STATE.rank} (waiting for {what}); "
                                   "a rank may have stopped or called a different collective")
        if spent > SPIN_S:
            time.sleep(nap)
            nap = min(nap * 2 or 1e-5, MAX_NAP_S)


class Work:
    """A collective started with ``async_op=True``: ``wait()`` for it, or poll ``is_completed()``.

    The array it works on must not be read or written until it has completed."""

    __slots__ = ("_reqs", "_what", "_finish", "_done")

    def __init__(self, reqs: Sequence[Any], what: "str | Waiting", finish: Callable[[], None] | None = None) -> None:
        self._reqs = list(reqs)
        self._what = what
        self._finish = finish  # what runs once the requests are done (a mean's division, a copy back)
        self._done = False

    def _complete(self) -> None:
        self._done = True
        self._reqs = []
        if self._finish is not None:
            f, self._finish = self._finish, None
            f()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (at most ``timeout`` seconds, default init's, then ``DistributedError``); True."""
        if not self._done:
            wait(self._reqs, self._what, timeout)
            self._complete()
        return True

    def is_completed(self) -> bool:
        """Whether it is done (polls once, without blocking)."""
        if not self._done and all(r.Test() for r in self._reqs):
            self._complete()
        return self._done

    def __repr__(self) -> str:
        return f"<Work {self._what} {'completed' if self._done else 'pending'}>"


# -- the call check ----------------------------------------------------------------------------

NAMES = ("?", "all_reduce", "broadcast", "all_gather", "reduce_scatter", "reduce", "barrier", "average_gradients")
OPS = ("", "sum", "mean", "max", "min")
_DIMS = 8
_LEN = 8 + _DIMS  # counter, name, op, root, dtype, ndim, size, spare, dims


class Waiting:
    """What a rank waits for, written out only when an error needs it (formatting costs on every call)."""

    __slots__ = ("args", "prefix", "suffix")

    def __init__(self, args: tuple, prefix: str = "the other ranks' ", suffix: str = "") -> None:
        self.args, self.prefix, self.suffix = args, prefix, suffix

    def __str__(self) -> str:
        return self.prefix + describe(*self.args) + self.suffix


def describe(name: str, shape: tuple | None = None, dtype: Any = None, op: str = "", root: int = -1) -> str:
    """One call as the errors write it: ``all_reduce(shape (3,), float32, op 'sum')``."""
    parts = []
    if name == "average_gradients" and shape is not None:
        parts.append(f"{shape[0]} gradients, {shape[1]} values")
    elif shape is not None:
        parts.append(f"shape {tuple(shape)}")
    if dtype is not None:
        parts.append(numpy.dtype(dtype).name)
    if op:
        parts.append(f"op {op!r}")
    if root >= 0:
        parts.append(f"root {root}")
    return f"{name}({', '.join(parts)})"


def _dtype_code(dtype: Any) -> int:
    return 0 if dtype is None else int.from_bytes(numpy.dtype(dtype).str.encode().ljust(8, b"\0"), "little")


def _dtype_of(code: int) -> Any:
    return None if code == 0 else numpy.dtype(int(code).to_bytes(8, "little").rstrip(b"\0").decode())


_SIGNATURES: dict = {}  # (name, shape, dtype, op, root) -> its signature without the counter (the per-call cost)


def _signature(name: str, shape: tuple | None, dtype: Any, op: str, root: int) -> numpy.ndarray:
    key = (name, shape, dtype, op, root)
    sig = _SIGNATURES.get(key)
    if sig is None:
        if len(_SIGNATURES) > 4096:
            _SIGNATURES.clear()
        sig = numpy.zeros(_LEN, numpy.int64)
        dims = () if shape is None else tuple(shape)
        sig[1:7] = (NAMES.index(name), OPS.index(op), root, _dtype_code(dtype), len(dims), math.prod(dims))
        sig[8:8 + min(len(dims), _DIMS)] = dims[:_DIMS]
        _SIGNATURES[key] = sig
    sig = sig.copy()
    sig[0] = STATE.calls
    return sig


def _decode(sig: numpy.ndarray) -> str:
    ndim = int(sig[5])
    shape = tuple(int(d) for d in sig[8:8 + min(ndim, _DIMS)]) + (("...",) if ndim > _DIMS else ())
    name = NAMES[int(sig[1])]
    return describe(name, None if name == "barrier" else shape, _dtype_of(int(sig[4])), OPS[int(sig[2])],
                    int(sig[3]))


def check_call(name: str, shape: tuple | None = None, dtype: Any = None, op: str = "", root: int = -1,
               force: bool = False, context: str = "") -> Waiting:
    """Count this collective and, with ``init(check=True)`` (or ``force``), compare it with the other
    ranks' calls (one allgather of a fixed-size signature); a ``DistributedError`` on every rank when
    they differ. Returns the call's description for timeout messages."""
    comm = need()
    STATE.calls += 1
    args = (name, shape, dtype, op, root)
    if not (STATE.check or force) or STATE.size == 1:
        return Waiting(args)
    mine = _signature(name, shape, dtype, op, root)
    everyone = numpy.empty((STATE.size, _LEN), numpy.int64)
    wait([comm.Iallgather(mine, everyone)], Waiting(args, "the other ranks to reach ", " (the call check)"))
    if everyone.tobytes() == mine.tobytes() * STATE.size:
        return Waiting(args)
    counts = {int(s[0]) for s in everyone}
    calls = ", ".join(f"rank {r} called {_decode(s)}" + (f" (collective #{int(s[0])})" if len(counts) > 1 else "")
                      for r, s in enumerate(everyone))
    raise DistributedError(f"{context}{': ' if context else ''}ranks called different collectives: {calls}; every "
                           "rank must call the same collectives in the same order, on arrays of the same shape "
                           "and dtype")


def barrier() -> None:
    """Wait until every rank has reached this call (bounded by the timeout)."""
    comm = need()
    what = check_call("barrier")
    wait([comm.Ibarrier()], what)
