"""Red-team tests, third round, for fused in-place updates in ``tapegrad.compile(fn, fuse=True)``
(a run of elementwise steps ending in ``t -= v``/``+=``/``*=``/``/=``/``**=``, ``sub_``/``mul_``/``div_``).

Targets: views written in place (slices, strides, transposes, reshapes) with other views of the same
base among the run's inputs, at trace time and only at replay; a target read after the write directly
or through a view made before; writes into arguments, closure arrays and ``.grad``; broadcast values
(rows, 0-d arrays, numbers); integer, unsigned, boolean and float32 targets with float64 values; two
writes in a row; a write before a guard, a random draw, inside a branch; training steps in both dialects.

The first group are bugs (failing when written, fixed since: a float result written into an integer
target stays out of kernels, ``fusion._float_to_int``; each docstring says what went wrong). The second
group are attacks that held up, kept as regressions. Each case compares the fused compiled function,
over several calls (the first traces), with the eager function on separate identical inputs: the
outputs and the arrays written in place after every call."""
from __future__ import annotations

import warnings

import numpy
import pytest

import tapegrad
import tapegrad.torch as torch
from tapegrad import autograd, np

numba = pytest.importorskip("numba")


from _fusion_cases import _assert_same, _host, _kernels


def _targeted(c):
    return [k.names for k in _kernels(c) if k.targets]


def _same_objects_versus_eager(fn, make, calls=3, rtol=1e-12, state=None, between=None):
    """``fn`` eagerly and through ``compile(fn, fuse=True)`` on separate identical inputs from ``make()``
    (the same objects at every call; ``between(args, i)`` changes their values from outside first):
    the outputs and ``state(args)`` (default: the arguments) agree after each call."""
    c = tapegrad.compile(fn, fuse=True)
    ae, ac = make(), make()
    state = state or (lambda a: list(a))
    for i in range(calls):
        if between is not None:
            between(ae, i)
            between(ac, i)
        with numpy.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = _host(fn(*ae))
            got = _host(c(*ac))
        _assert_same(got, want, rtol)
        _assert_same(_host(state(ac)), _host(state(ae)), rtol)
    return c


def _mx(*vals, dtypes=None):
    return lambda: tuple(np.array(numpy.array(v, dtype=None if dtypes is None else dtypes[j]))
                         for j, v in enumerate(vals))


def _tt(*vals):
    return lambda: tuple(torch.tensor(numpy.array(v)) for v in vals)


RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((4, 6))
Y = RNG.standard_normal((4, 6))


# == bugs ==========================================================================================

@pytest.mark.parametrize("dtype", ["uint32", "uint64"])
def test_bug_unsigned_target_with_a_negative_float_result(dtype):
    """``u += g * 1.0`` on an unsigned target whose float result is negative (5 - 3e9): NumPy's unsafe
    cast (``forward_into``: ``add(u, v, out=u, casting="unsafe")``) gives 2147483648 (uint32) /
    2**64 - 3e9 + 5 (uint64, wrapped through int64); the fused kernel's ``uint32(...)``/``uint64(...)``
    (Numba's fptoui) gives 4294967295 / 2**64 - 1 on this x86 CPU. The trace (call 1) agrees, every
    replay differs. (Cause: ``fusion._shape_of`` lets a write whose loop is floating point into an
    unsigned target join a run, and ``fusion._kernel`` casts with ``cast(tdt)`` -- Numba's conversion,
    not NumPy's, for values out of the target's range.)"""
    x0 = numpy.array([5, 5, 5, 5], dtype)
    v0 = numpy.array([-1.0, -3e9, -5e9, -1e10])
    c = _same_objects_versus_eager(lambda x, g: x.__iadd__(g * 1.0), lambda: (np.array(x0), np.array(v0)),
                      between=lambda a, i: a[0].__setitem__(Ellipsis, np.array(x0)))
    assert c.replays == 2 and not _targeted(c)


# == attacks that held up ==========================================================================

VIEWS = {
    "x[1:] -= tanh(x[:-1])": lambda x: x[1:].__isub__(np.tanh(x[:-1]) * 0.5),
    "x[:, ::2] -= tanh(x[:, 1::2])": lambda x: x[:, ::2].__isub__(np.tanh(x[:, 1::2]) * 0.5),
    "x[::-1] -= x": lambda x: x[::-1].__isub__(x * 0.5),
    "x[0] -= tanh(x[1]) * x[0, 0]": lambda x: x[0].__isub__(np.tanh(x[1]) * x[0, 0]),
    "x[:, 0] /= cosh(x[:, 0]) + 1": lambda x: x[:, 0].__itruediv__(np.cosh(x[:, 0]) + 1),
    "x.reshape *= exp(x.reshape)": lambda x: x.reshape(6, 4).__imul__(np.exp(x.reshape(6, 4) * 0.1)),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_view_targets_with_views_of_the_same_base(name):
    """A view written in place, reading other (overlapping or not) views of its base."""
    f = VIEWS[name]
    c = _same_objects_versus_eager(lambda x: (f(x), x * 1)[1], _mx(X))
    assert c.replays == 2 and _targeted(c), c.explain()


def test_transpose_target_reading_its_base():
    c = _same_objects_versus_eager(lambda x: (x.T.__iadd__(np.sin(x) * 2), x * 1)[1], _mx(X[:, :4]))
    assert c.replays == 2 and _targeted(c)


def test_overlapping_arguments_only_at_replay():
    """Traced on separate arrays; replayed with the target and the input overlapping views of one base
    (both ways) and with the same array twice: ``may_share`` copies the input first."""
    f = lambda x, g: x.__isub__(np.tanh(g) * 0.5)  # noqa: E731
    c = tapegrad.compile(f, fuse=True)
    c(np.array(X), np.array(Y))
    b0 = RNG.standard_normal((5, 6))
    be, bc = np.array(b0), np.array(b0)
    for sl in [(slice(1, None), slice(None, -1)), (slice(None, -1), slice(1, None))]:
        f(be[sl[0]], be[sl[1]])
        c(bc[sl[0]], bc[sl[1]])
        numpy.testing.assert_allclose(bc.asnumpy(), be.asnumpy(), rtol=1e-12)
    f(be, be)
    c(bc, bc)
    numpy.testing.assert_allclose(bc.asnumpy(), be.asnumpy(), rtol=1e-12)
    s = np.array(RNG.standard_normal((4, 12)))  # a strided target after a contiguous trace
    s2 = np.array(s.asnumpy())
    f(s[:, ::2], np.array(Y))
    c(s2[:, ::2], np.array(Y))
    numpy.testing.assert_allclose(s2.asnumpy(), s.asnumpy(), rtol=1e-12)
    assert c.replays >= 2 and _targeted(c)  # (aliased arguments may retrace)


def test_target_read_after_the_write_directly_and_through_an_earlier_view():
    def f(x, g):
        v = x[1:]
        y = np.sin(x) * 2
        x -= y * g
        return v * 2, x.sum(), y + x
    c = _same_objects_versus_eager(f, _mx(X, Y))
    assert c.replays == 2 and _targeted(c)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64", "bool"])
def test_integer_and_bool_targets_with_float_values(dtype):
    """Unsafe casts as NumPy's (values out of range, NaN and infinities included): a float result
    written into an integer or bool target is a library call (the conversion is the CPU's in a kernel)."""
    v = numpy.array([-1.5, -300.7, 1e10, -1e10, 1e30, numpy.inf, -numpy.inf, numpy.nan, 2.5, -0.5, 7e4, -7e4])
    c = _same_objects_versus_eager(lambda x, g: x.__isub__(g * 1.0), _mx(numpy.arange(12) * 3, v, dtypes=[dtype, None]))
    assert c.replays == 2 and not _targeted(c)


@pytest.mark.parametrize("op", ["__imul__", "__itruediv__"])
def test_int_target_multiply_divide_by_floats(op):
    c = _same_objects_versus_eager(lambda x, g: getattr(x, op)(g * 0.3 + 5), _mx(X * 10, Y, dtypes=["int64", None]))
    assert c.replays == 2 and _kernels(c) and not _targeted(c)  # (the value's run fuses; the write does not)


def test_float32_target_float64_value_and_zero_d_operands():
    c = _same_objects_versus_eager(lambda x, g, s: x.__isub__(g * s), _mx(X, Y, 1 / 3, dtypes=["float32", "float32", None]))
    assert c.replays == 2 and _targeted(c)
    c = _same_objects_versus_eager(lambda x, r: x.__isub__(np.tanh(x) * r), _mx(X, Y[0]))  # a row inside the run
    assert _targeted(c)
    c = _same_objects_versus_eager(lambda x, r: x.__isub__(np.tanh(r) * 0.5), _mx(X, Y[0]))  # a row value: no write
    assert _kernels(c) and not _targeted(c)
    c = _same_objects_versus_eager(lambda x, r: x.__isub__(np.tanh(r) * 0.5), _mx(0.3, 0.7))  # 0-d target
    assert _targeted(c)


def test_two_writes_in_a_row_same_and_different_targets():
    def f(x, g):
        x -= 0.1 * g * 2
        x -= 0.2 * np.tanh(g)
        g += np.sin(x) * 3
        return x * 1, g * 1
    c = _same_objects_versus_eager(f, _mx(X, Y))
    assert c.replays == 2 and len(_targeted(c)) == 3


def test_closure_target_changed_from_outside_between_calls():
    def make():
        w = np.array(X)

        def f(g):
            w[1:].__isub__(np.tanh(w[:-1]) * g[0, 0])
            return w.sum()
        return f, w
    (fe, we), (fc, wc) = make(), make()
    c = tapegrad.compile(fc, fuse=True)
    for i in range(4):
        we[0, 0] = wc[0, 0] = 5.0 + i
        g = np.array(Y * (i + 1))
        numpy.testing.assert_allclose(c(g).asnumpy(), fe(g).asnumpy(), rtol=1e-12)
        numpy.testing.assert_allclose(wc.asnumpy(), we.asnumpy(), rtol=1e-12)
    assert c.replays == 3 and _targeted(c)


def test_arguments_changed_from_outside_between_calls():
    def between(a, i):
        a[0][:] = i * 0.5 + 0.1
        a[1][0] = -i
    c = _same_objects_versus_eager(lambda x, g: (x.__isub__(np.tanh(g) * 0.1 * x), x.sum())[1], _mx(X, Y), calls=4,
                      between=between)
    assert c.replays == 3 and _targeted(c)


def test_write_then_guard_random_draw_and_write_in_a_branch():
    def fg(x, g):
        x -= np.tanh(g) * 0.5
        if x.sum() > 0:
            return x * 2
        return x * 3 + np.random.uniform(size=(4, 6)) * 0

    def fb(x, g, flag):
        if flag.sum() > 0:
            x -= np.tanh(g) * 0.5
        else:
            x += np.sin(g) * 0.5
        return x * 1
    flip = (lambda a, i: a[1].__imul__(-1.0))  # noqa: E731
    c = _same_objects_versus_eager(fg, _mx(X, Y), calls=4, between=flip)
    assert _targeted(c)
    c = _same_objects_versus_eager(fb, _mx(X, Y, [1.0]), calls=4, between=lambda a, i: a[2].__imul__(-1.0))
    assert len(_targeted(c)) == 2


def test_mxnet_grad_req_add_then_in_place_grad_scale_and_manual_sgd():
    def f(x):
        with autograd.record():
            y = (np.sin(x) * x).sum()
        y.backward()
        g = x.grad
        g *= np.tanh(x) * 0.5
        x -= 0.1 * x.grad
        return y

    def make():
        x = np.array(X)
        x.attach_grad(grad_req="add")
        return (x,)
    c = _same_objects_versus_eager(f, make, calls=4, rtol=1e-9, state=lambda a: [a[0], a[0].grad])
    assert c.replays == 3 and len(_targeted(c)) == 2


@pytest.mark.parametrize("kind", ["optim", "manual", "sub_"])
def test_torch_sgd_optimizer_and_manual_updates(kind):
    """``torch.optim.SGD`` (an 'update' step: no in-place kernel) and ``p -= lr * p.grad`` / ``p.sub_``
    under ``no_grad`` (fused writes) over several steps."""
    w0, b0 = RNG.standard_normal((6, 3)), RNG.standard_normal(3)
    xs, t = [RNG.standard_normal((5, 6)) for _ in range(4)], RNG.standard_normal((5, 3))

    def run(compiled):
        P = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
        opt = torch.optim.SGD(P, lr=0.1, weight_decay=0.01)

        def step(x, y):
            opt.zero_grad()
            loss = ((torch.tanh(x @ P[0] + P[1]) - y) ** 2).mean()
            loss.backward()
            if kind == "optim":
                opt.step()
            else:
                with torch.no_grad():
                    if kind == "manual":
                        P[0] -= 0.1 * P[0].grad
                        P[1] -= 0.1 * P[1].grad
                    else:
                        P[0].sub_(P[0].grad * 0.1)
                        P[1].sub_(P[1].grad * 0.1)
            return loss
        s = tapegrad.compile(step, fuse=True) if compiled else step
        return [_host([s(torch.tensor(x), torch.tensor(t)), *P]) for x in xs], s
    (want, _), (got, c) = run(False), run(True)
    _assert_same(got, want, 1e-9)
    # (call 1 finds no .grad yet: call 2 traces again)
    assert c.replays == 2 and (not _targeted(c) if kind == "optim" else _targeted(c)), c.explain()


@pytest.mark.parametrize("name", ["mul_", "div_", "sub_ view", "sub_ t()"])
def test_torch_in_place_methods(name):
    f = {"mul_": lambda x, g: x.mul_(torch.tanh(g) + 1),
         "div_": lambda x, g: x.div_(torch.cosh(g)),
         "sub_ view": lambda x, g: x[1:].sub_(torch.tanh(x[:-1]) * 0.3),
         "sub_ t()": lambda x, g: x.t().sub_(torch.tanh(x) * 0.3)}[name]
    c = _same_objects_versus_eager(lambda x, g: (f(x, g), x * 1)[1], _tt(X[:, :4], Y[:, :4]))
    assert c.replays == 2 and _targeted(c)
