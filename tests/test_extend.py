"""``tapegrad.extend``: HIPS autograd's extension API. Each user program below is written once and
run twice, with ``autograd.numpy``/``autograd.extend`` and with ``tapegrad.numpy``/``tapegrad.extend``:
values, gradients, JVPs and second derivatives agree to 1e-12."""
from __future__ import annotations

import re

import numpy
import pytest

import tapegrad
import tapegrad.extend as te
import tapegrad.numpy as tnp
from tapegrad.numpy import ArrayBox
from tapegrad.ops.registry import REGISTRY, Op
from tapegrad.testing import GradCheckError, check_grads

autograd = pytest.importorskip("autograd")
import autograd.extend as ae  # noqa: E402
import autograd.numpy as anp  # noqa: E402

TOL = dict(rtol=1e-12, atol=1e-12)
X = numpy.array([0.3, -1.2, 2.0, 0.7])
Y = numpy.array([1.5, 0.5, -0.7, 0.2])


def both(build):
    """The same program built over HIPS (``hips``) and over tapegrad (``tg``)."""
    return build(anp, ae), build(tnp, te)


def close(got, want):
    if isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want)
        for g, w in zip(got, want):
            close(g, w)
    elif isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            close(got[k], want[k])
    else:
        assert not isinstance(got, tapegrad.numpy.ArrayBox), "the functional API returns NumPy values"
        numpy.testing.assert_allclose(got, want, **TOL)


# -- HIPS's tutorial primitive -------------------------------------------------------------------
def logsumexp_program(np, ext):
    @ext.primitive
    def logsumexp(x):
        """Numerically stable log(sum(exp(x)))."""
        max_x = np.max(x)
        return max_x + np.log(np.sum(np.exp(x - max_x)))

    def logsumexp_vjp(ans, x):
        x_shape = x.shape
        # (HIPS's tutorial writes np.full(x_shape, g) * np.exp(x - np.full(x_shape, ans)))
        return lambda g: g * np.ones(x_shape) * np.exp(x - ans)

    ext.defvjp(logsumexp, logsumexp_vjp)

    def example(x):
        return logsumexp(np.sin(x) * 2.0) * np.cos(x[0])
    return logsumexp, example


def test_tutorial_logsumexp_values_and_gradients_match_hips():
    (lse_a, ex_a), (lse_t, ex_t) = both(logsumexp_program)
    # on plain values the primitive is the function itself: NumPy's result, NumPy's type
    got, want = lse_t(X), lse_a(X)
    assert type(got) is type(want) is numpy.float64 and got == want
    assert type(lse_t(X.reshape(2, 2))) is numpy.float64
    assert lse_t.fun(X) == want and lse_t.__name__ == "logsumexp" and "stable" in lse_t.__doc__
    close(tapegrad.grad(ex_t)(X), autograd.grad(ex_a)(X))
    close(tapegrad.value_and_grad(ex_t)(X), autograd.value_and_grad(ex_a)(X))
    close(tapegrad.grad(lse_t)(X), autograd.grad(lse_a)(X))


def test_second_derivatives_through_a_primitive_whose_vjp_uses_tapegrad_numpy():
    (_, ex_a), (_, ex_t) = both(logsumexp_program)
    close(tapegrad.hessian(ex_t)(X), autograd.hessian(ex_a)(X))
    close(tapegrad.grad(lambda x: tapegrad.grad(ex_t)(x)[1] ** 2)(X),
          autograd.grad(lambda x: autograd.grad(ex_a)(x)[1] ** 2)(X))
    # forward over reverse: the VJP's ops carry tangents (the primitive has no JVP: derived from its VJP)
    hvp = tapegrad.hvp(ex_t)(X, Y)
    close(hvp, autograd.hessian_vector_product(ex_a)(X, Y))


def test_check_grads_sees_a_user_primitive_and_names_a_wrong_rule():
    (_, _), (lse, example) = both(logsumexp_program)
    check_grads(example, [ArrayBox._make(X)], order=2, modes=("rev", "fwd"))
    check_grads(example, [X], order=2)  # a plain argument: the checker's own class

    @te.primitive
    def bad(x):
        return numpy.sin(x)
    te.defvjp(bad, lambda ans, x: lambda g: g * tnp.cos(x) * 1.01)
    with pytest.raises(GradCheckError, match=r"test_extend.*bad"):
        check_grads(lambda x: tnp.sum(bad(x) ** 2), [ArrayBox._make(X)], order=1)


def test_a_primitive_is_an_engine_op_outside_the_registry():
    (_, _), (lse, _) = both(logsumexp_program)
    (_, _), (lse2, _) = both(logsumexp_program)  # the same qualified name again
    tapegrad.grad(lse)(X)
    tapegrad.grad(lse2)(X)
    op, op2 = lse.op(None), lse2.op(None)
    assert isinstance(op, Op) and isinstance(op2, Op)
    assert op.name != op2.name and re.fullmatch(r"test_extend\.logsumexp_program\.<locals>\.logsumexp(#\d+)?", op.name)
    assert te.PRIMITIVES[op.name] is op and te.PRIMITIVES[op2.name] is op2
    assert op.name not in REGISTRY and not hasattr(tnp, "logsumexp_program")
    seen = []

    def f(x):
        out = lse(x)
        seen.append(out)
        return out
    tapegrad.grad(f)(X)
    assert isinstance(seen[0], ArrayBox) and seen[0]._node.op is op  # recorded as one node of that op


# -- defjvp, def_linear -------------------------------------------------------------------------
def cube_program(np, ext):
    @ext.primitive
    def cube(x):
        return x ** 3
    ext.defjvp(cube, lambda g, ans, x: 3 * x ** 2 * g)

    @ext.primitive
    def mul(x, y):
        return x * y
    ext.defjvp(mul, "same", "same")  # linear in each argument
    return cube, lambda x: np.sum(np.sin(cube(x)) * mul(x, np.cos(x)))


def test_defjvp_gives_forward_mode_as_in_hips():
    (_, f_a), (cube, f_t) = both(cube_program)
    want = autograd.make_jvp(f_a)(X)(Y)
    close(tapegrad.jvp(f_t, (X,), (Y,)), tuple(want))
    close(tapegrad.make_jvp(f_t)(X)(Y), tuple(want))
    close(tapegrad.jacobian(cube, mode="fwd")(X), autograd.jacobian(lambda x: x ** 3)(X))
    with pytest.raises(NotImplementedError, match="VJP of primitive .*cube"):  # HIPS: NotImplementedError too
        tapegrad.grad(lambda x: tnp.sum(cube(x)))(X)
    check_grads(f_t, [ArrayBox._make(X)], order=1, modes=("fwd",))


def linear_program(np, ext):
    @ext.primitive
    def matmul(a, b):
        return np.dot(a, b)
    ext.def_linear(matmul)
    ext.defvjp(matmul, lambda ans, a, b: lambda g: np.dot(g, b.T), lambda ans, a, b: lambda g: np.dot(a.T, g))
    return matmul, lambda a, b: np.sum(np.tanh(matmul(a, b)) * matmul(a, b))


def test_def_linear_jvp_and_the_given_vjp_match_hips():
    A, B = X.reshape(2, 2), Y.reshape(2, 2) + 1
    (_, f_a), (_, f_t) = both(linear_program)
    for argnum in (0, 1, (0, 1)):
        close(tapegrad.grad(f_t, argnum)(A, B), autograd.grad(f_a, argnum)(A, B))
    close(tapegrad.jvp(lambda a: f_t(a, B), (A,), (B,)), tuple(autograd.make_jvp(lambda a: f_a(a, B))(A)(B)))
    close(tapegrad.hessian(f_t)(A, B), autograd.hessian(f_a)(A, B))


def test_def_linear_alone_derives_the_vjp_from_the_function():
    A, B = X.reshape(2, 2), Y.reshape(2, 2) + 1

    @te.primitive
    def matmul(a, b):
        return tnp.dot(a, b)
    te.def_linear(matmul)
    f_t = lambda a, b: tnp.sum(tnp.tanh(matmul(a, b)) * matmul(b, a))  # noqa: E731
    f_a = lambda a, b: anp.sum(anp.tanh(anp.dot(a, b)) * anp.dot(b, a))  # noqa: E731
    close(tapegrad.grad(f_t, (0, 1))(A, B), autograd.grad(f_a, (0, 1))(A, B))
    close(tapegrad.hessian(f_t)(A, B), autograd.hessian(f_a)(A, B))
    check_grads(f_t, [ArrayBox._make(A), ArrayBox._make(B)], order=2, modes=("rev", "fwd"))

    @te.primitive
    def opaque(a):
        return numpy.asarray(a.tolist()) * 2.0  # leaves tapegrad: nothing to differentiate
    te.def_linear(opaque)
    with pytest.raises(NotImplementedError, match="outside tapegrad.*defvjp"):
        tapegrad.grad(lambda a: tnp.sum(opaque(a)))(A)


# -- arguments: non-differentiable, keyword, containers; several outputs --------------------------
def args_program(np, ext):
    @ext.primitive
    def scaled_power(x, k, mode="pow"):
        return x ** k if mode == "pow" else x * k
    ext.defvjp(scaled_power, lambda ans, x, k, mode="pow": lambda g: g * (k * x ** (k - 1) if mode == "pow" else k),
               None)

    @ext.primitive
    def polar(x, y):
        return np.sqrt(x ** 2 + y ** 2), np.arctan2(y, x)

    def polar_vjp(argnum):
        def maker(ans, x, y):
            r, _ = ans
            if argnum == 0:
                return lambda g: g[0] * x / r - g[1] * y / r ** 2
            return lambda g: g[0] * y / r + g[1] * x / r ** 2
        return maker
    ext.defvjp(polar, polar_vjp(0), polar_vjp(1))

    @ext.primitive
    def affine(params, x):
        return params["w"] * x + params["b"]
    ext.defvjp(affine, lambda ans, p, x: lambda g: {"w": np.sum(g * x), "b": g},
               lambda ans, p, x: lambda g: g * p["w"])
    return scaled_power, polar, affine


def test_a_none_vjpmaker_marks_a_non_differentiable_argument():
    (sp_a, _, _), (sp_t, _, _) = both(args_program)
    for mode in ("pow", "mul"):
        f_a = lambda x, k: anp.sum(sp_a(x, k, mode=mode))  # noqa: E731
        f_t = lambda x, k: tnp.sum(sp_t(x, k, mode=mode))  # noqa: E731
        close(tapegrad.grad(f_t)(X, 3.0), autograd.grad(f_a)(X, 3.0))
        close(tapegrad.grad(f_t, 1)(X, 3.0), autograd.grad(f_a, 1)(X, 3.0))  # zero, as HIPS's None
        close(tapegrad.hessian(f_t)(X, 3.0), autograd.hessian(f_a)(X, 3.0))
    assert sp_t(2.0, 3) == 8.0 and type(sp_t(X, 2)) is numpy.ndarray


def test_several_outputs_and_container_arguments():
    (_, polar_a, aff_a), (_, polar_t, aff_t) = both(args_program)
    assert isinstance(polar_t(X, Y), tuple)

    def use(polar, np):
        def f(x, y):
            r, t = polar(x, y)
            return np.sum(r * np.sin(t))
        return f
    close(tapegrad.grad(use(polar_t, tnp), (0, 1))(X, Y), autograd.grad(use(polar_a, anp), (0, 1))(X, Y))
    # one output unused: its cotangent is zeros, as in HIPS
    close(tapegrad.grad(lambda x: tnp.sum(polar_t(x, Y)[1]))(X), autograd.grad(lambda x: anp.sum(polar_a(x, Y)[1]))(X))
    close(tapegrad.hessian(use(polar_t, tnp))(X, Y), autograd.hessian(use(polar_a, anp))(X, Y))
    p = {"w": 0.7, "b": numpy.array([1.0, -2.0, 0.5, 3.0])}
    f_t = lambda p, x: tnp.sum(aff_t(p, x) ** 2)  # noqa: E731
    f_a = lambda p, x: anp.sum(aff_a(p, x) ** 2)  # noqa: E731
    close(tapegrad.grad(f_t)(p, X), autograd.grad(f_a)(p, X))
    close(tapegrad.grad(f_t, 1)(p, X), autograd.grad(f_a, 1)(p, X))
    # a container argument only partly traced: only its arrays are differentiated
    close(tapegrad.grad(lambda w: f_t({"w": w, "b": p["b"]}, X))(0.7),
          autograd.grad(lambda w: f_a({"w": w, "b": p["b"]}, X))(0.7))


def test_defvjp_argnum_defvjp_argnums_defjvp_argnum():
    def program(np, ext):
        @ext.primitive
        def prod3(x, y, z):
            return x * y * z
        return prod3
    (pa, pt) = both(program)
    others = {0: lambda a: a[1] * a[2], 1: lambda a: a[0] * a[2], 2: lambda a: a[0] * a[1]}
    for ext, p in ((ae, pa), (te, pt)):
        ext.defvjp_argnum(p, lambda i, ans, args, kwargs: lambda g: g * others[i](args))
        ext.defjvp_argnum(p, lambda i, g, ans, args, kwargs: g * others[i](args))
    Z = X + 3
    f_t = lambda x, y, z: tnp.sum(tnp.sin(pt(x, y, z)))  # noqa: E731
    f_a = lambda x, y, z: anp.sum(anp.sin(pa(x, y, z)))  # noqa: E731
    close(tapegrad.grad(f_t, (0, 1, 2))(X, Y, Z), autograd.grad(f_a, (0, 1, 2))(X, Y, Z))
    close(tapegrad.grad(f_t, 2)(X, Y, Z), autograd.grad(f_a, 2)(X, Y, Z))
    close(tapegrad.jvp(lambda y: f_t(X, y, Z), (Y,), (X,)), tuple(autograd.make_jvp(lambda y: f_a(X, y, Z))(Y)(X)))
    for ext, p in ((ae, pa), (te, pt)):
        ext.defvjp_argnums(p, lambda nums, ans, args, kwargs: lambda g: [g * others[i](args) * 2 for i in nums])
    close(tapegrad.grad(f_t, (0, 2))(X, Y, Z), autograd.grad(f_a, (0, 2))(X, Y, Z))


def test_notrace_primitive_runs_on_values():
    seen = []

    def build(np, ext):
        @ext.notrace_primitive
        def peek(x, scale=1.0):
            seen.append(type(x))
            return float(np.max(x)) * scale
        return lambda x: np.sum(x ** 2) * peek(x, scale=2.0)
    f_a, f_t = both(build)
    close(tapegrad.grad(f_t)(X), autograd.grad(f_a)(X))
    assert seen == [numpy.ndarray, numpy.ndarray]


# -- mistakes ------------------------------------------------------------------------------------
def test_mistakes_are_refused_with_the_fix():
    @te.primitive
    def summed(x):
        return numpy.sum(x, axis=0)
    te.defvjp(summed, lambda ans, x: lambda g: g)  # forgets to broadcast back
    with pytest.raises(ValueError, match=r"shape \(3,\) for argument 0, of shape \(2, 3\).*broadcast"):
        tapegrad.grad(lambda x: tnp.sum(summed(x)))(numpy.ones((2, 3)))

    @te.primitive
    def two(x, y):
        return x * y
    te.defvjp(two, lambda ans, x, y: lambda g: g * y)  # argument 1 has none
    with pytest.raises(NotImplementedError, match=r"argument\(s\) \[1\] is not defined.*argnums"):
        tapegrad.grad(lambda y: tnp.sum(two(X, y)))(Y)
    assert tapegrad.grad(lambda x: tnp.sum(two(x, Y)))(X).tolist() == Y.tolist()
    with pytest.raises(TypeError, match="keyword arguments are never differentiated.*positionally"):
        tapegrad.grad(lambda y: tnp.sum(two(X, y=y)))(Y)
    with pytest.raises(TypeError, match="closure over it.*pass that value as an argument"):
        tapegrad.grad(lambda y: tnp.sum(te.primitive(lambda x: x * y)(y * 2.0)))(Y)
    # on plain arguments a primitive is the function itself: a closure computes as ordinary code (as in HIPS)
    close(tapegrad.grad(lambda y: tnp.sum(te.primitive(lambda x: x * y)(X)))(Y), X)
    with pytest.raises(TypeError, match="decorate the function with @tapegrad.extend.primitive"):
        te.defvjp(lambda x: x, None)
    with pytest.raises(TypeError, match="vjpmaker of argument 0"):
        te.defvjp(two, "grad")
    with pytest.raises(AttributeError, match="no Box.*ArrayBox"):
        te.Box  # noqa: B018


def test_primitive_as_a_method_and_with_other_array_classes():
    class Layer:
        def __init__(self, w):
            self.w = w

        @te.primitive
        def apply(self, x):
            return numpy.tanh(self.w * x)
    te.defvjp(Layer.apply, None, lambda ans, self, x: lambda g: g * (1 - ans ** 2) * self.w)
    layer = Layer(0.5)
    want = autograd.grad(lambda x: anp.sum(anp.tanh(0.5 * x)))(X)
    close(tapegrad.grad(lambda x: tnp.sum(layer.apply(x)))(X), want)
    # the MXNet dialect's arrays go through the same op
    from tapegrad import autograd as mx_autograd, np as mnp
    x = mnp.array(X, dtype="float64")
    x.attach_grad()
    with mx_autograd.record():
        y = layer.apply(x).sum()
    y.backward()
    numpy.testing.assert_allclose(x.grad.asnumpy(), want, **TOL)


def test_a_closure_in_forward_mode_is_refused_too():
    with pytest.raises(TypeError, match="closure over it"):
        tapegrad.jvp(lambda y: te.primitive(lambda x: x * y)(y * 2.0), (Y,), (X,))


def test_a_forward_that_runs_a_transform_gets_numpy_values():
    """User code inside a primitive runs on plain values, also under a transform: a transform it runs
    itself (a solver driven by tapegrad.value_and_grad, as SciPy's optimizers are) returns NumPy values."""
    kinds = []

    @te.primitive
    def argmin_quadratic(a):
        # minimise sum((x - a)^2 + x^4 / 4) by gradient descent, computing gradients with tapegrad
        x = numpy.zeros_like(a)
        obj = lambda x: tnp.sum((x - a) ** 2 + x ** 4 / 4)  # noqa: E731
        for _ in range(200):
            v, g = tapegrad.value_and_grad(obj)(x)
            kinds.append((type(v), type(g)))
            x = x - 0.1 * g
        return x
    # implicit function: 2 (x - a) + x^3 = 0  ->  dx/da = 2 / (2 + 3 x^2)
    te.defvjp(argmin_quadratic, lambda ans, a: lambda g: g * 2 / (2 + 3 * ans ** 2))
    a = numpy.array([0.5, -1.0, 2.0])
    x = argmin_quadratic(a)
    numpy.testing.assert_allclose(2 * (x - a) + x ** 3, 0, atol=1e-10)
    g = tapegrad.grad(lambda a: tnp.sum(argmin_quadratic(a) ** 2))(a)
    eps = 1e-6
    fd = [(numpy.sum(argmin_quadratic(a + eps * e) ** 2) - numpy.sum(argmin_quadratic(a - eps * e) ** 2)) / (2 * eps)
          for e in numpy.eye(3)]
    numpy.testing.assert_allclose(g, fd, rtol=1e-6)
    assert set(kinds) == {(numpy.float64, numpy.ndarray)}
