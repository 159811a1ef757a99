"""MXNet's dist_sync KVStore over MPI: init takes rank 0's value, push sums over ranks (and a rank's
list), pull copies into arrays of either dialect. ``mpiexec -n N python kvstore.py``; prints ``kvstore ok``."""
import numpy

import tapegrad.torch as torch
from tapegrad import distributed as dist
from tapegrad import np

dist.init()
r, n = dist.rank(), dist.world_size()
kv = dist.kvstore("dist_sync")
assert (kv.type, kv.rank, kv.num_workers) == ("dist_sync", r, n)
kv.init(3, np.ones((2, 3)) * (r + 1))  # rank 0's value wins
out = np.zeros((2, 3))
kv.pull(3, out=out)
numpy.testing.assert_array_equal(out.asnumpy(), numpy.ones((2, 3)))
kv.push(3, [np.ones((2, 3)) * (r + 1), np.ones((2, 3))])  # a rank's list is summed first
outs = [np.zeros((2, 3)), torch.zeros(2, 3, dtype=torch.float64)]
kv.pull(3, out=outs)
want = sum(k + 2 for k in range(n)) * numpy.ones((2, 3))
for o in outs:
    numpy.testing.assert_array_equal(o.asnumpy() if hasattr(o, "asnumpy") else o.numpy(), want)
kv.init(["a", "b"], [numpy.zeros(2), numpy.zeros(1)])
kv.push(["a", "b"], [numpy.full(2, r), numpy.full(1, 2.0)])
a, b = numpy.empty(2), numpy.empty(1)
kv.pull(["a", "b"], out=[a, b])
assert a.tolist() == [sum(range(n))] * 2 and b.tolist() == [2.0 * n]
for call, text in ((lambda: kv.init(3, np.ones((2, 3))), "already initialized"),
                   (lambda: kv.push("c", numpy.ones(2)), "has not been initialized"),
                   (lambda: kv.push("a", numpy.ones(3)), "holds shape (2,), got shape (3,)"),
                   (lambda: dist.kvstore("dist_async"), "no parameter server")):
    try:
        call()
    except (ValueError, KeyError) as e:
        assert text in str(e), str(e)
    else:
        raise AssertionError(text)
print(f"kvstore ok {r}/{n}", flush=True)
