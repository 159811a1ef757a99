"""red17: misuse and edge cases of tapegrad.distributed and the PyTorch dialect's DDP on real MPI ranks
(each test launches a script of tests/mpi under ``mpiexec``, several checks per launch)."""
from __future__ import annotations

from test_distributed import launch, pytestmark  # noqa: F401 - (the skip without mpi4py or mpiexec)


def run_modes(script: str, n: int, *modes: str, **env: str) -> str:
    code, out, _ = launch(script, n, *modes, **{"TAPEGRAD_DIST_TIMEOUT": "10", **env})
    assert code == 0, out
    for m in modes:
        assert out.count(f"{m} ok") == n, out
    return out


def test_ddp_buckets_start_in_order_when_gradients_come_in_different_orders_on_the_ranks():
    # rank 0 replaced a parameter before wrapping: its leaves were made in another order, so its gradients
    # come in another order; reductions must still pair bucket with bucket (PyTorch's reducer starts them in order)
    run_modes("red17_ddp.py", 2, "order2", "order", "tied")


def test_ddp_broadcasts_frozen_parameters_and_buffers_and_averages_mixed_dtypes():
    # a requires_grad=False parameter is rank 0's on every rank after wrapping (as in PyTorch); float32 and
    # float64 parameters in buckets of their own; buffers rebroadcast before each forward; two backwards accumulate
    run_modes("red17_ddp.py", 2, "frozen_mixed_buffers", "set_to_none_steps", "retain_double", "zero_size")


def test_ddp_the_forward_decides_whether_its_backward_averages_as_in_pytorch():
    # a forward under no_sync() whose backward runs after it stays local; a forward outside whose backward
    # runs under no_sync() is averaged (real torch DDP on gloo does both); a no_grad forward decides nothing
    run_modes("red17_ddp.py", 2, "no_sync_forward_decides")


def test_collectives_on_every_dtype_shape_layout_and_async_handle():
    # booleans reduce as PyTorch's: sum and max are "or", min is "and" (MPI has no sum of booleans: it raised
    # MPI's "Invalid MPI_Op", after the error text of max had recommended op='sum'); 0-d, empty, non-contiguous
    # and read-only arrays; handles waited twice or later; finalize() then init(); gradients under create_graph;
    # reduce_scatter_into in place (out a part of x: MPI refused the aliased buffers on one rank only)
    run_modes("red17_coll.py", 2, "dtypes", "booleans", "shapes", "asyncs", "refinit", "classes", "create_graph",
              "aliases")


def test_ddp_with_shared_frozen_or_second_order_use_and_its_module_face():
    # a weight shared by two layers, every parameter frozen, backward(create_graph=True), autograd.grad (no
    # averaging, no hang), a loss of the inner module, the same module wrapped twice; PyTorch's state_dict names
    run_modes("red17_ddp.py", 2, "shared_across_modules", "all_frozen", "create_graph_backward", "state_dict_names",
              "autograd_grad", "loss_without_ddp_output", "wrap_twice")


def test_ddp_misuse_across_ranks_ends_the_job_instead_of_hanging():
    # a parameter unused on one rank only: that rank names it at its next forward and the job aborts
    code, out, seconds = launch("red17_faults.py", 2, "unused_on_one_rank", TAPEGRAD_DIST_TIMEOUT="10")
    assert code != 0 and "[rank 1] RuntimeError: Expected to have finished reduction" in out, out
    assert "Parameters that got no gradient: b.weight, b.bias" in out and seconds < 30, (seconds, out)
    # the ranks disagree on no_sync(): the synchronising rank times out instead of waiting forever
    code, out, seconds = launch("red17_faults.py", 2, "no_sync_disagree", TAPEGRAD_DIST_TIMEOUT="2")
    assert code != 0 and "[rank 1] tapegrad.distributed.DistributedError" in out, out
    assert seconds < 30, (seconds, out)
