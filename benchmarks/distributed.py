"""tapegrad.distributed: ``python -m benchmarks.distributed [--quick]``.

Re-launches itself under ``mpiexec`` on 1 and 2 ranks and prints a Markdown table:

- all-reduce of float32 arrays (1, 16, 64 MB): ``tapegrad.distributed.all_reduce_`` (with its call
  check, and with ``init(check=False)``) against mpi4py's blocking ``Allreduce`` on the same NumPy
  buffer, alternated; medians of several runs, each the slowest rank's time after a barrier.
  Target: at least 0.9× the raw bandwidth.
- the W2 step (benchmarks/w2_mlp.py, float32, batch 128, MXNet dialect): on 2 ranks each takes half
  the batch and calls ``average_gradients``; against one process on the whole batch.

``--quick``: small sizes and few runs (the smoke test). Needs mpi4py and mpiexec (``pip install
'tapegrad[dist]'``); BLAS is pinned to one thread per rank.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._harness import cpu_model

ROOT = Path(__file__).resolve().parents[1]
SIZES_MB = (1, 16, 64)
RUNS = {1: 21, 16: 11, 64: 7}
W2_STEPS = 20
TARGET = 0.9


# -- inside mpiexec ------------------------------------------------------------------------------

def _timed(comm: Any, fns: dict, runs: int) -> dict:
    """Median seconds per call of each function, alternated, each sample the slowest rank's time."""
    from mpi4py import MPI
    samples: dict = {k: [] for k in fns}
    for _ in range(runs):
        for k, f in fns.items():
            comm.Barrier()
            t0 = time.perf_counter()
            f()
            t = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
            samples[k].append(t)
    return {k: statistics.median(v) for k, v in samples.items()}


def child(quick: bool) -> None:
    import numpy
    from mpi4py import MPI

    from tapegrad import distributed as dist
    comm = MPI.COMM_WORLD
    dist.init()
    r, n = dist.rank(), dist.world_size()
    rows = []
    for mb in ((0.0625,) if quick else SIZES_MB):
        x = numpy.ones(int(mb * 2**20) // 4, numpy.float32)

        def unchecked() -> None:
            dist._runtime.STATE.check = False
            try:
                dist.all_reduce_(x)
            finally:
                dist._runtime.STATE.check = True
        fns = {"mpi4py Allreduce": lambda: comm.Allreduce(MPI.IN_PLACE, x),
               "all_reduce_": lambda: dist.all_reduce_(x), "all_reduce_ (check=False)": unchecked}
        for _ in range(2):  # warm-up
            for f in fns.values():
                f()
        t = _timed(comm, fns, 3 if quick else RUNS.get(mb, 7))
        rows.append({"what": f"all-reduce {mb:g} MB float32", "ranks": n, "ms": {k: v * 1e3 for k, v in t.items()},
                     "GBps": {k: x.nbytes / v / 1e9 for k, v in t.items()}})
    rows.append(_w2(comm, r, n, quick))
    rows.append(_w2_ddp(comm, r, n, quick))
    if r == 0:
        print("RESULT " + json.dumps(rows), flush=True)


def _w2(comm: Any, r: int, n: int, quick: bool) -> dict:
    from benchmarks import w2_mlp
    from tapegrad import autograd
    from tapegrad import distributed as dist
    sizes, batch = ((w2_mlp.TINY["sizes"], 8) if quick else (w2_mlp.SIZES, w2_mlp.BATCH))
    params, X, y = w2_mlp.inputs(sizes, batch)
    per = batch // n
    ps, loss_fn = w2_mlp.tapegrad_forward_fn(params, X[r * per:(r + 1) * per], y[r * per:(r + 1) * per])
    dist.broadcast_parameters(ps)

    def step() -> None:
        with autograd.record():
            loss = loss_fn()
        loss.backward()
        if n > 1:
            dist.average_gradients(ps)
        for p in ps:
            p -= w2_mlp.LR * p.grad
    step()
    t = _timed(comm, {"step": step}, 2 if quick else W2_STEPS)
    return {"what": f"W2 step (batch {batch}, {per} per rank)", "ranks": n, "ms": {"step": t["step"] * 1e3}}


def _w2_ddp(comm: Any, r: int, n: int, quick: bool) -> dict:
    """The W2 step in the PyTorch dialect under DistributedDataParallel (and, on one rank, without it)."""
    from benchmarks import w2_mlp
    import tapegrad.torch as torch
    sizes, batch = ((w2_mlp.TINY["sizes"], 8) if quick else (w2_mlp.SIZES, w2_mlp.BATCH))
    params, X, y = w2_mlp.inputs(sizes, batch)
    per = batch // n
    Xt, yt = torch.tensor(X[r * per:(r + 1) * per]), torch.tensor(y[r * per:(r + 1) * per])
    torch.distributed.init_process_group("mpi")
    try:
        def model_() -> Any:
            torch.manual_seed(0)
            layers: list = []
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            return torch.nn.Sequential(*layers[:-1])
        steps = {}
        for name, model in (("ddp", torch.nn.parallel.DistributedDataParallel(model_())),
                            *((("plain", model_()),) if n == 1 else ())):
            opt = torch.optim.SGD(model.parameters(), lr=w2_mlp.LR)

            def step(model: Any = model, opt: Any = opt) -> None:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(Xt), yt).backward()
                opt.step()
            step()
            steps[name] = step
        t = _timed(comm, steps, 2 if quick else W2_STEPS)
    finally:
        torch.distributed.destroy_process_group()
    return {"what": f"W2 step, PyTorch dialect (batch {batch}, {per} per rank)", "ranks": n,
            "ms": {k: v * 1e3 for k, v in t.items()}}


# -- the launcher --------------------------------------------------------------------------------

def mpiexec() -> str | None:
    return shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def launch(n: int, quick: bool) -> list:
    exe = mpiexec()
    if exe is None:
        raise SystemExit("benchmarks.distributed needs mpiexec and mpi4py: pip install 'tapegrad[dist]'")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    cmd = [exe, "-n", str(n), sys.executable, "-m", "benchmarks.distributed", "--child"] + (["--quick"] if quick else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise SystemExit(f"the {n}-rank run failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return json.loads(lines[-1][len("RESULT "):])


def table(results: dict) -> str:
    out = ["| measure | ranks | mpi4py Allreduce | tapegrad all_reduce_ | ratio (≥ 0.9×) | check=False | ratio |",
           "|---|---|---|---|---|---|---|"]
    def fmt(row: dict, k: str) -> str:
        ms = row["ms"][k]
        return f"{ms * 1e3:.1f} µs" if row["ranks"] == 1 else f"{ms:.3f} ms ({row['GBps'][k]:.2f} GB/s)"

    def ratio(row: dict, a: float, b: float) -> str:
        return "(1 rank: no data moves)" if row["ranks"] == 1 else f"{a / b:.2f}×"
    for n, rows in results.items():
        for row in rows:
            if "GBps" not in row:
                continue
            raw, tg, nc = (row["ms"][k] for k in ("mpi4py Allreduce", "all_reduce_", "all_reduce_ (check=False)"))
            out.append(f"| {row['what']} | {n} | {fmt(row, 'mpi4py Allreduce')} | {fmt(row, 'all_reduce_')} | "
                       f"{ratio(row, raw, tg)} | {fmt(row, 'all_reduce_ (check=False)')} | {ratio(row, raw, nc)} |")
    w2 = {n: next(row for row in rows if "step" in row["ms"]) for n, rows in results.items()}
    base = w2[1]["ms"]["step"]
    out += ["", "| W2 SGD step (MXNet dialect, float32) | ranks | ms per step | speed-up vs 1 process |", "|---|---|---|---|"]
    for n, row in w2.items():
        out.append(f"| {row['what']} | {n} | {row['ms']['step']:.2f} | {base / row['ms']['step']:.2f}× |")
    ddp = {n: next(row for row in rows if "ddp" in row["ms"]) for n, rows in results.items()}
    plain = ddp[1]["ms"]["plain"]
    out += ["", "| W2 SGD step (PyTorch dialect, float32) | ranks | ms per step | speed-up vs 1 process without DDP |",
            "|---|---|---|---|", f"| {ddp[1]['what']}, no DDP | 1 | {plain:.2f} | 1.00× |"]
    for n, row in ddp.items():
        out.append(f"| {row['what']}, DDP | {n} | {row['ms']['ddp']:.2f} | {plain / row['ms']['ddp']:.2f}× |")
    return "\n".join(out)


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    if "--child" in argv:
        child(quick)
        return
    import numpy
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical cores); Python {platform.python_version()}, NumPy "
          f"{numpy.__version__}; one BLAS thread per rank; `python -m benchmarks.distributed`"
          + (" --quick" if quick else ""))
    results = {n: launch(n, quick) for n in (1, 2)}
    print(table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
