"""The W2 MLP (784-512-512-10, ReLU, mean cross-entropy) trained data-parallel in the MXNet dialect:
each process takes its share of every batch, ``average_gradients`` makes every rank's gradients the
whole batch's, and all ranks take the same SGD step. Run it on N processes::

    mpiexec -n 2 python examples/data_parallel_mlp.py

(or as one process, ``python examples/data_parallel_mlp.py``). Needs ``pip install 'tapegrad[dist]'``.
"""
from __future__ import annotations

import numpy

from tapegrad import autograd, np, npx
from tapegrad import distributed as dist


def main(small: bool = False) -> dict:
    dist.init()
    rank, size = dist.rank(), dist.world_size()
    sizes, batch, steps, lr = ((20, 16, 16, 5), 16, 20, 0.1) if small else ((784, 512, 512, 10), 128, 100, 0.05)
    rng = numpy.random.default_rng(rank)  # different on every rank: broadcast_parameters aligns them
    params = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        params.append(np.array(rng.standard_normal((fan_in, fan_out)) * numpy.sqrt(2.0 / fan_in), dtype="float32"))
        params.append(np.zeros(fan_out))
    for p in params:
        p.attach_grad()
    dist.broadcast_parameters(params)

    data = numpy.random.default_rng(0)  # the same data stream on every rank; each takes its slice
    teacher = data.standard_normal((sizes[0], sizes[-1]))
    per = batch // size
    losses = []
    for step in range(steps):
        X = data.standard_normal((batch, sizes[0])).astype(numpy.float32)
        y = (X @ teacher).argmax(axis=1)
        Xr, yr = np.array(X[rank * per:(rank + 1) * per]), np.array(y[rank * per:(rank + 1) * per])
        with autograd.record():
            W1, b1, W2, b2, W3, b3 = params
            h = npx.relu(np.dot(Xr, W1) + b1)
            h = npx.relu(np.dot(h, W2) + b2)
            loss = -npx.pick(npx.log_softmax(np.dot(h, W3) + b3), yr).mean()
        loss.backward()
        dist.average_gradients(params)  # every rank now holds the whole batch's gradients
        for p in params:
            p -= lr * p.grad
        losses.append(float(dist.all_reduce(loss, "mean")))  # (the whole batch's loss, for the log)
        if rank == 0 and (step % 20 == 0 or step == steps - 1):
            print(f"step {step:3d}  loss {losses[-1]:.4f}  ({size} process{'es' if size > 1 else ''})")
    return {"start": losses[0], "end": losses[-1]}


if __name__ == "__main__":
    main()
