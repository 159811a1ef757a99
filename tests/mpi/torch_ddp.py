"""The PyTorch dialect's torch.distributed and DistributedDataParallel on real MPI processes.

    mpiexec -n N python tests/mpi/torch_ddp.py MODE [MODE ...]

MODE ``api``: the process group and its collectives against NumPy on every rank's data; ``train``: the
W2 MLP (float64) trained 20 SGD steps under DDP, each rank half the batch, equals the same training on
the whole batch in one process (every rank also runs that, without collectives); ``no_sync``: two
backwards under ``no_sync()`` and one after it average the ranks' summed gradients; ``shapes``: ranks
whose models differ refuse to wrap them; ``unused``: a parameter that gets no gradient is named at
the next forward. Prints ``MODE ok`` on each rank.
"""
import sys

import numpy

import tapegrad.torch as torch
import tapegrad.torch.distributed as dist
from benchmarks.w2_mlp import inputs

dist.init_process_group("mpi")
r, n = dist.get_rank(), dist.get_world_size()
nn, F = torch.nn, torch.nn.functional


def expect(kind, text, fn):
    try:
        fn()
    except kind as e:
        assert text in str(e), f"{text!r} not in {str(e)!r}"
    else:
        raise AssertionError(f"no {kind.__name__} ({text})")


def mlp(sizes, seed):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b).double(), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def api():
    assert dist.is_available() and dist.is_initialized() and dist.get_backend() == "mpi"
    expect(ValueError, "trying to initialize the default process group twice!", lambda: dist.init_process_group("mpi"))
    everyone = [numpy.arange(6.0).reshape(2, 3) * (k + 1) - k for k in range(n)]
    for op, ref in ((dist.ReduceOp.SUM, sum(everyone)), (dist.ReduceOp.AVG, sum(everyone) / n),
                    (dist.ReduceOp.MAX, numpy.max(everyone, axis=0)), (dist.ReduceOp.MIN, numpy.min(everyone, axis=0))):
        t = torch.tensor(everyone[r])
        assert dist.all_reduce(t, op=op) is None
        numpy.testing.assert_allclose(t.numpy(), ref, err_msg=str(op))
    t = torch.tensor(everyone[r])
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    numpy.testing.assert_allclose(t.numpy(), sum(everyone))
    t = torch.tensor(everyone[r])
    dist.broadcast(t, src=n - 1)
    numpy.testing.assert_allclose(t.numpy(), everyone[n - 1])
    out = [torch.zeros(2, 3, dtype=torch.float64) for _ in range(n)]
    dist.all_gather(out, torch.tensor(everyone[r]))
    for k in range(n):
        numpy.testing.assert_allclose(out[k].numpy(), everyone[k])
    expect(ValueError, f"tensor_list has 1 tensors for {n} ranks", lambda: dist.all_gather(out[:1], t))
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    expect(ValueError, "Default process group has not been initialized", dist.get_rank)
    expect(ValueError, "backend 'gloo' is not supported", lambda: dist.init_process_group("gloo"))
    expect(ValueError, f"world_size={n + 1} does not match the MPI job", lambda: dist.init_process_group(world_size=n + 1))
    dist.init_process_group("mpi", world_size=n, rank=r)
    assert dist.get_world_size() == n


def train():
    STEPS, LR = 20, 0.1
    sizes, batch = (784, 512, 512, 10), 128
    _, X, y = inputs(sizes, batch)
    X = X.astype(numpy.float64)

    def train(parallel):
        model = mlp(sizes, seed=r if parallel else 0)  # the ranks start apart: DDP broadcasts rank 0's
        if parallel:
            model = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.1)  # several buckets
            per = batch // n
            Xs, ys = X[r * per:(r + 1) * per], y[r * per:(r + 1) * per]
        else:
            Xs, ys = X, y
        opt = torch.optim.SGD(model.parameters(), lr=LR)
        Xt, yt = torch.tensor(Xs), torch.tensor(ys)
        for _ in range(STEPS):
            opt.zero_grad()
            F.cross_entropy(model(Xt), yt).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()]
    single, many = train(False), train(True)
    assert len(single) == len(many) == 6
    for k, (a, b) in enumerate(zip(many, single)):
        numpy.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, err_msg=f"parameter {k}")


def no_sync():
    sizes = (5, 4, 3)
    rng = numpy.random.default_rng(0)
    data = [(rng.normal(size=(6, 5)), rng.integers(0, 3, 6)) for _ in range(2 * n)]  # two micro-batches per rank
    ref_model = mlp(sizes, seed=0)
    for X, y in data:  # the reference: the sum of every micro-batch's gradient, over the ranks' count
        F.cross_entropy(ref_model(torch.tensor(X)), torch.tensor(y)).backward()
    ref = [p.grad.numpy() / n for p in ref_model.parameters()]
    model = nn.parallel.DistributedDataParallel(mlp(sizes, seed=0))
    (X1, y1), (X2, y2) = data[2 * r], data[2 * r + 1]
    with model.no_sync():
        F.cross_entropy(model(torch.tensor(X1)), torch.tensor(y1)).backward()
    local = [p.grad.numpy().copy() for p in model.parameters()]
    F.cross_entropy(model(torch.tensor(X2)), torch.tensor(y2)).backward()
    for k, (p, want) in enumerate(zip(model.parameters(), ref)):
        numpy.testing.assert_allclose(p.grad.numpy(), want, rtol=1e-10, err_msg=f"parameter {k}")
    assert not all(numpy.allclose(a, p.grad.numpy()) for a, p in zip(local, model.parameters()))
    sd = model.state_dict()
    assert list(sd)[0] == "module.0.weight", list(sd)


def shapes():
    m = nn.Linear(3 if r == 0 else 4, 2)
    expect(RuntimeError, "params[0] in this process with sizes", lambda: nn.parallel.DistributedDataParallel(m))
    extra = [nn.Linear(2, 2)] if r == 0 else []
    m2 = nn.Sequential(nn.Linear(2, 2), *extra)
    expect(RuntimeError, "DDP expects same model across all ranks", lambda: nn.parallel.DistributedDataParallel(m2))


def unused():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.a(x)
    model = nn.parallel.DistributedDataParallel(TwoHeads())
    model(torch.ones(1, 2)).sum().backward()
    expect(RuntimeError, "Parameters that got no gradient: b.weight, b.bias", lambda: model(torch.ones(1, 2)))
    expect(NotImplementedError, "find_unused_parameters=True is not supported",
           lambda: nn.parallel.DistributedDataParallel(TwoHeads(), find_unused_parameters=True))


MODES = {"api": api, "train": train, "no_sync": no_sync, "shapes": shapes, "unused": unused}
for mode in sys.argv[1:]:
    MODES[mode]()
    print(f"{mode} ok {r}/{n}", flush=True)
