"""red17 probes of tapegrad.distributed's collectives on real MPI ranks.

    mpiexec -n 2 python tests/mpi/red17_coll.py MODE [MODE ...]
"""
import numpy
from tapegrad import np as mnp
from tapegrad import distributed as dist
from _modes import run_modes  # noqa: E402 - (tests/mpi is the script's folder)

dist.init()
r, n = dist.rank(), dist.world_size()


def dtypes():
    for dt in ("float16", "float32", "float64", "complex64", "complex128", "int8", "int32", "int64", "uint8"):
        x = (numpy.arange(6).reshape(2, 3) + r).astype(dt)
        want = sum((numpy.arange(6).reshape(2, 3) + k).astype(dt) for k in range(n))
        dist.all_reduce_(x)
        assert x.dtype == dt
        numpy.testing.assert_array_equal(x, want, err_msg=dt)
        y = dist.all_reduce(numpy.full(3, r, dt))
        numpy.testing.assert_array_equal(y, numpy.full(3, sum(range(n)), dt), err_msg=dt)
        if numpy.dtype(dt).kind != "c":
            z = numpy.full(2, r, dt)
            dist.all_reduce_(z, "max")
            numpy.testing.assert_array_equal(z, numpy.full(2, n - 1, dt), err_msg=dt)
        g = dist.all_gather(numpy.full(2, r, dt))
        assert g.dtype == dt and g.shape == (n, 2), (dt, g)
        b = numpy.full(2, r, dt)
        dist.broadcast_(b, 1)
        numpy.testing.assert_array_equal(b, numpy.full(2, 1, dt), err_msg=dt)


def booleans():
    # as PyTorch: a sum or max of booleans is their "or", a min their "and"
    for op, want in (("sum", [True, False, True]), ("max", [True, False, True]), ("min", [n == 1, False, True])):
        x = numpy.array([r == 0, False, True])
        dist.all_reduce_(x, op)
        numpy.testing.assert_array_equal(x, want, err_msg=op)
        numpy.testing.assert_array_equal(dist.all_reduce(numpy.array([r == 0, False, True]), op), want, err_msg=op)
    out = numpy.empty(1, bool)
    dist.reduce_scatter_into(out, numpy.array([k == r for k in range(n)]))
    assert out[0], out
    x = numpy.array([r == 0, False, True])
    dist.broadcast_(x, 1)
    numpy.testing.assert_array_equal(x, [False, False, True])
    g = dist.all_gather(numpy.array([r == 0]))
    numpy.testing.assert_array_equal(g, [[k == 0] for k in range(n)])


def shapes():
    z = numpy.array(float(r))  # 0-d
    dist.all_reduce_(z)
    assert z.shape == () and float(z) == sum(range(n)), z
    z = dist.all_reduce(numpy.array(float(r)), "mean")
    assert z.shape == () and float(z) == sum(range(n)) / n
    e = numpy.zeros((0, 3))
    dist.all_reduce_(e)
    assert dist.all_gather(e).shape == (n, 0, 3)
    out = numpy.zeros((0, 3))
    dist.reduce_scatter_into(out, numpy.zeros((0, 3)))
    base = numpy.arange(12.0).reshape(3, 4) + r
    v = base[:, ::2]  # non-contiguous
    dist.all_reduce_(v)
    numpy.testing.assert_array_equal(base[:, ::2], sum(numpy.arange(12.0).reshape(3, 4)[:, ::2] + k for k in range(n)))
    numpy.testing.assert_array_equal(base[:, 1::2], numpy.arange(12.0).reshape(3, 4)[:, 1::2] + r)
    ro = numpy.ones(3)
    ro.flags.writeable = False
    try:
        dist.all_reduce_(ro)
    except ValueError as e:
        assert "read-only" in str(e)
    else:
        raise AssertionError("read-only all_reduce_")
    y = dist.all_reduce(ro)  # functional: fine
    numpy.testing.assert_array_equal(y, numpy.full(3, n))
    bc = numpy.broadcast_to(numpy.float64(r), (4,))
    numpy.testing.assert_array_equal(dist.all_reduce(bc), numpy.full(4, sum(range(n))))
    t = numpy.arange(2 * n * 3.0).reshape(2 * n, 3).T.copy().T  # fortran order
    dist.all_reduce_(t, "mean")
    numpy.testing.assert_array_equal(t, numpy.arange(2 * n * 3.0).reshape(2 * n, 3))
    o = numpy.empty((2, 3))
    dist.reduce_scatter_into(o, numpy.arange(2 * n * 3.0).reshape(2 * n, 3).T.copy().T)
    numpy.testing.assert_array_equal(o, n * numpy.arange(2 * n * 3.0).reshape(2 * n, 3)[2 * r:2 * r + 2])
    oo = numpy.empty((3, 4))[:, ::2]  # non-contiguous out
    dist.reduce_scatter_into(oo, numpy.ones((3 * n, 2)))
    numpy.testing.assert_array_equal(oo, numpy.full((3, 2), n))


def asyncs():
    x = numpy.full(3, float(r))
    w = dist.all_reduce_(x, "mean", async_op=True)
    assert w.wait() and w.wait() and w.is_completed()
    numpy.testing.assert_array_equal(x, numpy.full(3, sum(range(n)) / n))  # divided once
    x = numpy.full(3, float(r))
    w = dist.all_reduce_(x, async_op=True)
    while not w.is_completed():
        pass
    assert w.wait()
    numpy.testing.assert_array_equal(x, numpy.full(3, sum(range(n))))
    y = numpy.full(3, float(r))
    w2 = dist.broadcast_(y, 1, async_op=True)  # never waited: the next collective still pairs up
    z = dist.all_reduce(numpy.ones(2))
    numpy.testing.assert_array_equal(z, numpy.full(2, n))
    w2.wait()
    numpy.testing.assert_array_equal(y, numpy.full(3, 1.0))
    outs = [numpy.empty(2) for _ in range(n)]
    w3 = dist.all_gather_into(outs, numpy.full(2, float(r)), async_op=True)
    w3.wait(); w3.wait()
    for k in range(n):
        numpy.testing.assert_array_equal(outs[k], numpy.full(2, float(k)))


def refinit():
    dist.finalize()
    assert not dist.is_initialized()
    dist.finalize()
    dist.init()
    x = numpy.full(2, float(r))
    dist.all_reduce_(x)
    numpy.testing.assert_array_equal(x, numpy.full(2, sum(range(n))))
    dist.barrier()


def classes():
    a = mnp.array([1.0, 2.0]) * (r + 1)
    out = dist.all_reduce(a)
    assert type(out) is type(a), type(out)
    g = dist.all_gather(a)
    assert type(g) is type(a) and g.shape == (n, 2)
    import tapegrad.torch as torch
    t = torch.tensor([1.0, 2.0]) * (r + 1)
    for f in (dist.all_reduce, dist.all_gather, dist.broadcast):
        o = f(t)
        assert type(o) is type(t), (f, type(o))
    assert type(dist.reduce_scatter(torch.ones(2 * n, 2))) is type(t)


def create_graph():
    import tapegrad.torch as torch
    x = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    y = dist.all_reduce(x * x * (r + 1), "mean")  # mean_k (k+1) x^2 ... each rank's own x
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    # d/dx_r of sum_i mean_k (k+1) x_k^2: (r+1) * 2 x / n * n(ranks' cotangents summed, each 1)/n ...
    # the cotangent of y is ones on every rank; the VJP all-reduces it: mean of ones = 1; times 2 (r+1) x
    numpy.testing.assert_allclose(g.detach().numpy(), 2 * (r + 1) * x.detach().numpy())
    (h,) = torch.autograd.grad(g.sum(), x)
    numpy.testing.assert_allclose(h.numpy(), numpy.full(2, 2.0 * (r + 1)))
    z = dist.broadcast(x * (r + 1), 0)
    (gb,) = torch.autograd.grad((z * z).sum(), x, create_graph=True)
    # z = x_0 on every rank; L_k = z^2 summed; d/dx_0 sum_k = n * 2 x_0 ; others zero
    want = 2 * n * x.detach().numpy() if r == 0 else numpy.zeros(2)
    numpy.testing.assert_allclose(gb.detach().numpy(), want)
    (hb,) = torch.autograd.grad(gb.sum(), x)
    numpy.testing.assert_allclose(hb.numpy(), numpy.full(2, 2.0 * n) if r == 0 else numpy.zeros(2))


def aliases():
    # in place: out is this rank's part of x (MPI refused it on rank 0, "Buffers must not be aliased", and
    # ran it on the others, whose next collectives then paired with the wrong calls)
    x = numpy.arange(2 * n, dtype=float) + r
    dist.reduce_scatter_into(x[2 * r:2 * r + 2], x)
    numpy.testing.assert_array_equal(x[2 * r:2 * r + 2], sum(numpy.arange(2 * n, dtype=float) + k for k in range(n))[2 * r:2 * r + 2])
    x = numpy.arange(3.0) + r
    outs = [numpy.empty(3) for _ in range(n)]
    outs[r] = x
    dist.all_gather_into(outs, x)
    for k in range(n):
        numpy.testing.assert_array_equal(outs[k], numpy.arange(3.0) + k)


MODES = {k: v for k, v in globals().items() if callable(v) and k in
         ("dtypes", "booleans", "shapes", "asyncs", "refinit", "classes", "create_graph", "aliases")}
run_modes(MODES, r, n)
