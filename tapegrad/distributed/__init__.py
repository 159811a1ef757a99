"""Data-parallel training across processes on MPI (through mpi4py), for both dialects.

Start the processes with ``mpiexec -n N python train.py``; each calls ``init()``, then uses the
collectives on its arrays (tapegrad arrays of either dialect, NumPy arrays; CuPy arrays go through
NCCL) and the helpers ``broadcast_parameters`` / ``average_gradients`` around its training step::

    from tapegrad import distributed as dist
    dist.init()
    dist.broadcast_parameters(params)          # every rank starts from rank 0's parameters
    ...  # forward and backward on this rank's part of the batch
    dist.average_gradients(params)             # each .grad becomes the mean over ranks

Every collective is bounded by a timeout and, by default, checked across ranks (name, shape, dtype,
op): a rank that stops, skips or calls a different collective gives a ``DistributedError`` instead
of a hang. An uncaught exception on one rank prints its traceback (prefixed with the rank) and
aborts the whole job. Needs ``pip install 'tapegrad[dist]'``.
"""
from __future__ import annotations

from ._collectives import (all_gather, all_gather_into, all_reduce, all_reduce_, broadcast, broadcast_,
                           reduce_scatter, reduce_scatter_into)
from ._kvstore import KVStore, kvstore
from ._params import average_gradients, broadcast_parameters
from ._runtime import DistributedError, Work, barrier, finalize, init, is_initialized, rank, world_size

__all__ = ["init", "is_initialized", "finalize", "rank", "world_size", "barrier", "DistributedError", "Work",
           "all_reduce_", "broadcast_", "all_gather_into", "reduce_scatter_into", "all_reduce", "all_gather",
           "broadcast", "reduce_scatter", "average_gradients", "broadcast_parameters", "kvstore", "KVStore"]
