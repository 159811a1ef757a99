"""The W2 MLP (benchmarks/w2_mlp.py, float64) trained 20 SGD steps in the MXNet dialect data-parallel
(each rank half the batch, ``average_gradients``) equals the same training on the whole batch in one
process (which every rank also runs, here, without collectives). Rank 1 starts from perturbed
parameters, which ``broadcast_parameters`` replaces with rank 0's. Prints ``train ok``."""
import sys

import numpy

from benchmarks.w2_mlp import inputs
from tapegrad import autograd, np, npx
from tapegrad import distributed as dist

STEPS, LR = 20, 0.1
SIZES, BATCH = (784, 512, 512, 10), 128  # W2 itself
bucket = int(sys.argv[1]) if len(sys.argv) > 1 else 25 * 2**20

dist.init()
r, n = dist.rank(), dist.world_size()
params, X, y = inputs(SIZES, BATCH)
params = [p.astype(numpy.float64) for p in params]
X = X.astype(numpy.float64)


def train(params, X, y, parallel):
    ps = [np.array(p + (0.5 * r if parallel else 0.0)) for p in params]
    for p in ps:
        p.attach_grad()
    if parallel:
        dist.broadcast_parameters(ps)
        per = len(X) // n
        X, y = X[r * per:(r + 1) * per], y[r * per:(r + 1) * per]
    Xt, yt = np.array(X), np.array(y)
    for _ in range(STEPS):
        with autograd.record():
            W1, b1, W2, b2, W3, b3 = ps
            h = npx.relu(np.dot(Xt, W1) + b1)
            h = npx.relu(np.dot(h, W2) + b2)
            loss = -npx.pick(npx.log_softmax(np.dot(h, W3) + b3), yt).mean()
        loss.backward()
        if parallel:
            dist.average_gradients(ps, bucket_bytes=bucket)
        for p in ps:
            p -= LR * p.grad
    return [p.asnumpy() for p in ps]


single = train(params, X, y, parallel=False)
many = train(params, X, y, parallel=True)
for k, (a, b) in enumerate(zip(many, single)):
    assert not numpy.allclose(a, params[k]) or k % 2, f"parameter {k} did not move"
    numpy.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, err_msg=f"parameter {k}")
print(f"train ok {r}/{n} bucket {bucket}", flush=True)
