"""Faults end quickly with the failing rank's message. ``mpiexec -n 2 python faults.py CASE``:

- ``raise``: rank 1 raises; the job ends non-zero with rank 1's traceback (prefixed ``[rank 1]``).
- ``mismatch``: the ranks call different collectives, then one on different shapes, then
  ``broadcast_parameters`` on different shapes; every rank catches each error; rank 0 prints them all.
- ``timeout``: rank 1 skips a collective and hangs; rank 0 times out (TAPEGRAD_DIST_TIMEOUT) and aborts the job.
"""
import os
import sys
import time

import numpy
from mpi4py import MPI

from tapegrad import distributed as dist
from tapegrad import np

case = sys.argv[1]
# The ranks may start seconds apart on a loaded machine: meet under a generous timeout first, then
# join again under the one the test asks for (TAPEGRAD_DIST_TIMEOUT), so only the fault can time out.
short = float(os.environ.pop("TAPEGRAD_DIST_TIMEOUT", "300"))
dist.init(timeout=120)
dist.barrier()
dist.finalize()
dist.init(timeout=short)
r = dist.rank()

if case == "raise":
    dist.all_reduce_(numpy.ones(3))
    if r == 1:
        raise ValueError("rank one fails on purpose")
    dist.all_reduce_(numpy.ones(3))  # rank 0 would wait here forever without the abort
    time.sleep(30)
elif case == "mismatch":
    seen = []
    for label, call in (
            ("names", lambda: dist.all_reduce_(numpy.ones(3, numpy.float32)) if r == 0
             else dist.broadcast_(numpy.ones(4, numpy.float32))),
            ("shapes", lambda: dist.all_reduce(np.ones((2, 3 + r)))),
            ("parameters", lambda: dist.broadcast_parameters([np.ones(2), np.ones((4, 5) if r == 0 else (5, 4))]))):
        try:
            call()
        except dist.DistributedError as e:
            seen.append(f"{label} on rank {r}: {e}")
        else:
            raise AssertionError(f"no error for {label}")
    dist.all_reduce_(numpy.ones(2))  # (the group is still usable after a caught mismatch)
    everyone = MPI.COMM_WORLD.gather(seen, root=0)  # (one printer: the ranks' lines would interleave)
    if r == 0:
        print("\n".join(line for lines in everyone for line in lines), flush=True)
        print("mismatch done", flush=True)
elif case == "timeout":
    dist.barrier()
    if r == 0:
        dist.all_reduce_(numpy.ones(3))
    time.sleep(30)
