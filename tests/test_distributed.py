"""tapegrad.distributed on real MPI processes: each test launches a script of tests/mpi under
``mpiexec`` (several checks per launch: a launch costs about a second) and reads its exit status and
output. Skips without mpi4py or an ``mpiexec`` (``pip install 'tapegrad[dist]'``)."""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest

from conftest import script_env

HERE = Path(__file__).resolve().parent
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                                reason="needs mpi4py and mpiexec: pip install 'tapegrad[dist]'")


def launch(script: str, n: int | None, *args: str, timeout: float = 60, **env: str) -> tuple[int, str, float]:
    """(exit status, stdout + stderr, seconds) of tests/mpi/``script`` on ``n`` processes (None: no mpiexec)."""
    cmd = [sys.executable, str(HERE / "mpi" / script), *args]
    if n is not None:
        cmd = [str(MPIEXEC), "-n", str(n), *cmd]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**script_env(), **env})
    return p.returncode, p.stdout + p.stderr, time.monotonic() - t0


@pytest.mark.parametrize("n", [None, 2, 3], ids=["one process", "2 ranks", "3 ranks"])
def test_every_collective_matches_numpy(n):
    code, out, _ = launch("collectives.py", n)
    assert code == 0, out
    assert out.count("collectives ok") == (n or 1), out


@pytest.mark.parametrize("n", [2, 3])
def test_gradients_through_collectives_in_three_doors(n):
    code, out, _ = launch("gradients.py", n)
    assert code == 0, out
    assert out.count("gradients ok") == n, out


def test_data_parallel_training_equals_training_on_the_whole_batch():
    # buckets of 100 kB: the largest gradient is reduced where it is, the others packed in two buckets
    code, out, _ = launch("train.py", 2, "100000")
    assert code == 0, out
    assert out.count("train ok") == 2, out


def test_a_rank_that_raises_ends_the_job_with_its_traceback():
    code, out, seconds = launch("faults.py", 2, "raise")
    assert code != 0
    assert "[rank 1] Traceback (most recent call last)" in out and "[rank 1] ValueError: rank one fails" in out, out
    assert seconds < 30


def test_mismatched_collectives_and_shapes_raise_on_every_rank():
    code, out, _ = launch("faults.py", 2, "mismatch")
    assert code == 0, out
    for r in (0, 1):
        line = {ln.split(":", 1)[0]: ln for ln in out.splitlines() if ln.endswith("shape and dtype")
                and f"on rank {r}:" in ln}
        assert ("rank 0 called all_reduce(shape (3,), float32, op 'sum'), rank 1 called broadcast(shape (4,), "
                "float32, root 0)") in line[f"names on rank {r}"], out
        assert ("rank 0 called all_reduce(shape (2, 3), float32, op 'sum'), rank 1 called all_reduce(shape (2, 4), "
                "float32, op 'sum')") in line[f"shapes on rank {r}"], out
        assert ("broadcast_parameters: parameter 1: ranks called different collectives: rank 0 called "
                "broadcast(shape (4, 5), float32, root 0), rank 1 called broadcast(shape (5, 4), float32, root 0)"
                ) in line[f"parameters on rank {r}"], out
    assert "mismatch done" in out, out


def test_a_rank_that_skips_a_collective_times_the_others_out():
    code, out, seconds = launch("faults.py", 2, "timeout", TAPEGRAD_DIST_TIMEOUT="2")
    assert code != 0
    assert ("[rank 0] tapegrad.distributed.DistributedError: all_reduce timed out after 2 s on rank 0 (waiting for "
            "the other ranks to reach all_reduce(shape (3,), float64, op 'sum')") in out, out
    assert "a rank may have stopped or called a different collective" in out
    assert seconds < 30


def test_use_before_init_names_the_fix():
    from tapegrad import distributed as dist
    assert not dist.is_initialized()
    with pytest.raises(dist.DistributedError, match=r"call tapegrad\.distributed\.init\(\) first"):
        dist.world_size()
    with pytest.raises(dist.DistributedError, match="init"):
        dist.all_reduce_(__import__("numpy").ones(2))


def test_the_benchmark_runs_quickly_at_small_sizes():
    p = subprocess.run([sys.executable, "-m", "benchmarks.distributed", "--quick"], capture_output=True, text=True,
                       timeout=120, env=script_env(), cwd=HERE.parent)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "| all-reduce 0.0625 MB float32 | 2 |" in p.stdout and "| W2 step (batch 8, 4 per rank) | 2 |" in p.stdout


def test_the_readme_example_trains_on_two_ranks():
    p = subprocess.run([str(MPIEXEC), "-n", "2", sys.executable, "-c",
                        "from examples.data_parallel_mlp import main; r = main(small=True); "
                        "assert r['end'] < 0.8 * r['start'], r; print('example ok')"],
                       capture_output=True, text=True, timeout=60, env={**script_env(), "OMP_NUM_THREADS": "1"},
                       cwd=HERE.parent)
    assert p.returncode == 0 and p.stdout.count("example ok") == 2, p.stdout + p.stderr


# -- the PyTorch dialect: torch.distributed and DistributedDataParallel --------------------------------

@pytest.mark.parametrize("n", [2, 3])
def test_torch_process_group_collectives_ddp_training_no_sync_and_refusals(n):
    modes = ["api", "no_sync", "shapes", "unused"] + (["train"] if n == 2 else [])
    code, out, _ = launch("torch_ddp.py", n, *modes)
    assert code == 0, out
    for m in modes:
        assert out.count(f"{m} ok") == n, out


def test_ddp_starts_each_bucket_during_the_backward(monkeypatch):
    # one process, no mpiexec: the hooks start bucket reductions as the gradients come, in reverse
    # parameter order, and the last one finishes them all (then .grad holds the averages: here, itself)
    import tapegrad.torch as torch
    from tapegrad import distributed as core
    started = []
    real = core.all_reduce_

    def spy(x, op="sum", *, async_op=False):
        started.append((x.size, op, async_op))
        return real(x, op, async_op=async_op)
    torch.distributed.init_process_group("mpi")
    try:
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
        ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=16 * 8 / 2**20)  # 16 float64s a bucket
        monkeypatch.setattr(core, "all_reduce_", spy)
        x = torch.ones(5, 3, dtype=torch.float64)
        ddp(x).sum().backward()
        want = [p.grad.numpy().copy() for p in model.parameters()]
        assert started == [(2 + 8 + 4, "mean", True), (12, "mean", True)]  # (the 2nd layer and the 1st bias; the 1st weight)
        for p in model.parameters():
            p.grad = None
        model(x).sum().backward()
        for p, w in zip(model.parameters(), want):
            numpy.testing.assert_array_equal(p.grad.numpy(), w)
    finally:
        torch.distributed.destroy_process_group()


def test_ddp_reduces_the_last_layer_while_the_backward_goes_on(monkeypatch):
    # with post-accumulate hooks registered, the engine writes each parameter's gradient as soon as its
    # last consumer's rule has run: the second layer's buckets start before the hidden layer's gradient
    import tapegrad.torch as torch
    from tapegrad import distributed as core
    events = []
    real = core.all_reduce_

    def spy(x, op="sum", *, async_op=False):
        events.append(x.size)
        return real(x, op, async_op=async_op)
    torch.distributed.init_process_group("mpi")
    try:
        model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
        def watch(module, inputs, out):
            out.register_hook(lambda g: events.append("hidden"))
        model[1].register_forward_hook(watch)
        ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=1e-9)  # a bucket per parameter
        monkeypatch.setattr(core, "all_reduce_", spy)
        ddp(torch.ones(5, 3, dtype=torch.float64)).sum().backward()
        assert events == [2, 8, "hidden", 4, 12], events  # b2, W2 | the hidden layer | b1, W1
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.parametrize("n", [2, 3])
def test_kvstore_dist_sync_sums_pushes_over_ranks(n):
    code, out, _ = launch("kvstore.py", n)
    assert code == 0, out
    assert out.count("kvstore ok") == n, out
