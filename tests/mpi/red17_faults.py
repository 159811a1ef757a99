"""red17: misuse of DDP across ranks ends in an error (or the job's abort), never a hang.

    mpiexec -n 2 python tests/mpi/red17_faults.py MODE
"""
import datetime
import os
import sys
import tapegrad.torch as torch
import tapegrad.torch.distributed as dist

# The ranks may start seconds apart on a loaded machine: meet under a generous timeout first, then
# join again under the one the test asks for (TAPEGRAD_DIST_TIMEOUT), so only the fault can time out.
short = float(os.environ.pop("TAPEGRAD_DIST_TIMEOUT", "300"))
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=120))
dist.barrier()
dist.destroy_process_group()
dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=short))
r, n = dist.get_rank(), dist.get_world_size()
nn = torch.nn
DDP = nn.parallel.DistributedDataParallel


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x, use_b=True):
        h = self.a(x)
        return self.b(h) if use_b else h


mode = sys.argv[1]
if mode == "unused_on_one_rank":  # data-dependent: rank 1 skips b; uncaught, the job aborts
    m = DDP(Two())
    m(torch.ones(1, 2), use_b=(r == 0)).sum().backward()
    m(torch.ones(1, 2)).sum().backward()
elif mode == "no_sync_disagree":
    m = DDP(Two())
    ctx = m.no_sync() if r == 0 else __import__("contextlib").nullcontext()
    with ctx:
        m(torch.ones(1, 2)).sum().backward()
    dist.destroy_process_group()
    print("no_sync_disagree done", flush=True)
print(mode, "end", r, flush=True)
