"""A KVStore in MXNet's style over the ranks' collectives: ``kvstore("dist_sync")``.

``init`` gives a key rank 0's value on every rank; ``push`` sums the values pushed under a key over
all ranks (and over the list a rank pushes, as MXNet sums a key's values from several devices);
``pull`` copies the stored sum into the arrays given. There is no server: every rank holds the store,
and each push is one all-reduce, so all ranks must push the same keys in the same order (the call
check names a rank that does not).
"""
from __future__ import annotations

from typing import Any

from .._core.array import Array
from ._collectives import _refuse_readonly, all_reduce_, broadcast_, raw
from ._runtime import need, rank, world_size

__all__ = ["KVStore", "kvstore"]


def _many(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


class KVStore:
    """MXNet's ``dist_sync`` KVStore on MPI: ``init``, ``push``, ``pull``, ``rank``, ``num_workers``."""

    def __init__(self, kind: str = "dist_sync") -> None:
        if kind not in ("dist_sync", "dist_sync_device", "local", "device"):
            raise ValueError(f"kvstore type {kind!r} is not supported: use 'dist_sync' (synchronous, over MPI); "
                             "there is no parameter server, so 'dist_async' has no counterpart")
        need()
        self.type = kind
        self._store: dict = {}

    @property
    def rank(self) -> int:
        """This process's rank."""
        return rank()

    @property
    def num_workers(self) -> int:
        """How many processes share the store."""
        return world_size()

    def init(self, key: Any, value: Any) -> None:
        """Store ``value`` under ``key`` (rank 0's value, on every rank); keys and values may be lists."""
        for k, v in zip(_many(key), _many(value)) if isinstance(key, (list, tuple)) else ((key, value),):
            if k in self._store:
                raise ValueError(f"key {k!r} is already initialized; each key is initialized once")
            buf = raw(v, "kvstore.init").copy()
            broadcast_(buf, 0)
            self._store[k] = buf

    def _get(self, k: Any) -> Any:
        buf = self._store.get(k)
        if buf is None:
            raise KeyError(f"key {k!r} has not been initialized: call kv.init({k!r}, value) on every rank first")
        return buf

    def push(self, key: Any, value: Any, priority: int = 0) -> None:
        """Sum ``value`` (an array, or a list of them to add first) over all ranks into ``key``'s store."""
        pairs = zip(key, value) if isinstance(key, (list, tuple)) else ((key, value),)
        for k, v in pairs:
            buf = self._get(k)
            vals = [raw(x, "kvstore.push") for x in _many(v)]
            for x in vals:
                if x.shape != buf.shape:
                    raise ValueError(f"kvstore.push: key {k!r} holds shape {buf.shape}, got shape {x.shape}")
            buf[...] = vals[0]
            for x in vals[1:]:
                buf += x
            all_reduce_(buf, "sum")

    def pull(self, key: Any, out: Any = None, priority: int = 0, ignore_sparse: bool = True) -> None:
        """Copy ``key``'s stored value into ``out`` (an array, or a list of arrays each to fill)."""
        pairs = zip(key, out) if isinstance(key, (list, tuple)) else ((key, out),)
        for k, o in pairs:
            buf = self._get(k)
            for target in _many(o):
                dst = raw(target, "kvstore.pull", inplace=True)
                _refuse_readonly(dst, "kvstore.pull")
                if isinstance(target, Array):
                    target._version += 1  # (written in place: the PyTorch dialect's saved-array check sees it)
                dst[...] = buf


def kvstore(kind: str = "dist_sync") -> KVStore:
    """A KVStore of MXNet's ``dist_sync`` kind over the MPI job (``init()`` first)."""
    return KVStore(kind)
