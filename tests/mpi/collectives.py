"""Every collective (in place, async, functional) against NumPy on data every rank can recompute.

Run as ``mpiexec -n N python collectives.py`` (N = 2 or 3); prints ``collectives ok`` on each rank."""
import numpy

import tapegrad.torch as torch
from tapegrad import distributed as dist
from tapegrad import np

dist.init()
dist.init()  # (idempotent)
r, n = dist.rank(), dist.world_size()
assert dist.is_initialized()


def data(k, shape=(2, 3), dtype=numpy.float64):
    """Rank k's values: different on every rank, known to all."""
    return (numpy.arange(numpy.prod(shape)).reshape(shape) * (k + 1) + 10 * k).astype(dtype)


every = numpy.stack([data(k) for k in range(n)])
want = {"sum": every.sum(0), "mean": every.mean(0), "max": every.max(0), "min": every.min(0)}
close = numpy.testing.assert_allclose

# in place, on NumPy arrays and on both dialects' arrays, synchronously and not
for op, w in want.items():
    x = data(r)
    assert dist.all_reduce_(x, op) is None
    close(x, w)
    for make in (np.array, torch.tensor):
        a = make(data(r))
        work = dist.all_reduce_(a, op, async_op=True)
        assert isinstance(work, dist.Work) and work.wait() is True and work.is_completed()
        close(a.asnumpy() if hasattr(a, "asnumpy") else a.numpy(), w)
x = data(r, (3, 4)).T  # not contiguous: copied and copied back
dist.all_reduce_(x)
close(x, sum(data(k, (3, 4)) for k in range(n)).T)
x = numpy.array(data(r, ())); dist.all_reduce_(x); close(x, sum(data(k, ()) for k in range(n)))  # 0-d
xi = numpy.arange(4) + r; dist.all_reduce_(xi, "max"); assert (xi == numpy.arange(4) + n - 1).all()

for root in range(n):
    x = data(r)
    dist.broadcast_(x, root)
    close(x, data(root))
    t = torch.tensor(data(r))
    dist.broadcast_(t, root, async_op=True).wait()
    close(t.numpy(), data(root))

outs = [numpy.empty((2, 3)) for _ in range(n)]
dist.all_gather_into(outs, data(r))
for k in range(n):
    close(outs[k], data(k))

big = numpy.stack([data(k, (n * 2, 3)) for k in range(n)])
for op in ("sum", "mean", "max"):
    out = numpy.empty((2, 3))
    dist.reduce_scatter_into(out, data(r, (n * 2, 3)), op)
    ref = {"sum": big.sum(0), "mean": big.mean(0), "max": big.max(0)}[op]
    close(out, ref[2 * r:2 * r + 2])

# functional: results of the input's class
for make, cls in ((np.array, type(np.ones(1))), (torch.tensor, torch.Tensor), (numpy.asarray, numpy.ndarray)):
    a = make(data(r))
    for op, w in want.items():
        y = dist.all_reduce(a, op)
        assert type(y) is cls, (type(y), cls)
        close(numpy.asarray(y), w)
    close(numpy.asarray(a), data(r))  # (the input is left alone)
    g = dist.all_gather(a)
    assert type(g) is cls and g.shape == (n, 2, 3)
    close(numpy.asarray(g), every)
    close(numpy.asarray(dist.broadcast(a, n - 1)), data(n - 1))
    rs = dist.reduce_scatter(make(data(r, (n * 2, 3))))
    assert type(rs) is cls
    close(numpy.asarray(rs), big.sum(0)[2 * r:2 * r + 2])
close(numpy.asarray(dist.all_reduce([1.0, 2.0])), [n, 2.0 * n])  # array-likes

# errors that name the fix (the same on every rank, so no rank is left waiting)
def raises(exc, text, f, *args, **kw):
    try:
        f(*args, **kw)
    except exc as e:
        assert text in str(e), (text, str(e))
    else:
        raise AssertionError(f"no {exc.__name__} from {f.__name__}")


if n > 1:  # (uneven splits)
    raises(ValueError, "pad axis 0 to a multiple", dist.reduce_scatter, numpy.ones((n * 2 + 1, 2)))
    raises(ValueError, "one per rank", dist.reduce_scatter_into, numpy.ones(1), numpy.ones((n + 1,)))
raises(ValueError, "op must be one of", dist.all_reduce, numpy.ones(2), "prod")
raises(TypeError, "use op='sum' and divide", dist.all_reduce_, numpy.ones(2, int), "mean")
raises(ValueError, "is not a rank", dist.broadcast_, numpy.ones(2), n)
raises(ValueError, "read-only", dist.all_reduce_, numpy.broadcast_to(numpy.ones(1), (3,)))
raises(TypeError, "works in place on an array", dist.all_reduce_, [1.0])
raises(ValueError, f"list of {n} arrays", dist.all_gather_into, [numpy.empty(2)] * (n + 1), numpy.ones(2))
dist.barrier()
dist.finalize()
assert not dist.is_initialized()
raises(dist.DistributedError, "call tapegrad.distributed.init() first", dist.rank)
print(f"collectives ok {r}/{n}", flush=True)
