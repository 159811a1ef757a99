"""Every public name of tapegrad.np is either a registered op with a gradient rule or listed as
deliberately non-differentiable."""
import inspect
import types

import tapegrad
from tapegrad import np, npx
from tapegrad.ops.registry import REGISTRY, Op


def _public(ns):
    for name in dir(ns):
        if name.startswith("_"):
            continue
        obj = getattr(ns, name)
        if isinstance(obj, types.ModuleType) or not callable(obj) or isinstance(obj, type):
            continue
        yield name, obj


def test_np_names_are_differentiable_or_listed():
    unaccounted = []
    for ns, label in ((np, "np"), (np.linalg, "np.linalg"), (npx, "npx")):
        for name, obj in _public(ns):
            obj = inspect.unwrap(obj)  # a door's thin wrapper of an op (npx.convolution, np.linalg.svd): the op
            if isinstance(obj, Op):
                if obj.diff and obj.vjp_fn is None:
                    unaccounted.append(f"{label}.{name} (no VJP)")
                continue
            if label == "np" and name in np.COMPOSITE_NAMES:
                continue
            if name not in np.NONDIFF_NAMES and f"{label}.{name}" not in np.NONDIFF_NAMES:
                unaccounted.append(f"{label}.{name}")
    assert not unaccounted, ("public names with neither a gradient rule nor a place on "
                             f"np.NONDIFF_NAMES: {unaccounted}")


def test_registry_detects_an_unlisted_name(monkeypatch):
    monkeypatch.setattr(np, "mystery", lambda x: x, raising=False)
    try:
        test_np_names_are_differentiable_or_listed()
    except AssertionError as e:
        assert "np.mystery" in str(e)
    else:
        raise AssertionError("an unlisted public name went unnoticed")


def test_ops_are_declared_once():
    assert len(REGISTRY) == len(set(REGISTRY))
    assert tapegrad.np.sum is REGISTRY["sum"]


def test_plain_ufunc_forwards_take_the_inline_call_and_agree_with_the_general_one():
    """An op whose forward is only ``xp.<ufunc>(inputs)`` is called inline (``Op.fast``); its values,
    dtypes, tape and gradients must be those of the general dispatch (``registry.apply``)."""
    import numpy
    from tapegrad import autograd
    from tapegrad.ops.registry import apply
    fast = {name for name, op in REGISTRY.items() if op.ufunc is not None and op.diff}
    assert {"add", "multiply", "sin", "exp", "tanh", "square"} <= fast
    assert "divide" not in fast and "clip" not in fast  # forwards that do more than the ufunc
    rng = numpy.random.default_rng(0)
    for name in sorted(fast):
        op = REGISTRY[name]
        # inside every op's domain: (0.2, 0.7) suits all but arccosh, which needs values above 1
        lo, hi = (1.2, 1.8) if name == "arccosh" else (0.2, 0.7)
        xs = [np.array(rng.uniform(lo, hi, (2, 3))) for _ in range(op.nin)]
        calls = [tuple(xs)] + ([(xs[0], 0.5)] if op.nin == 2 and name != "matmul" else [])
        if name == "matmul":
            calls = [(xs[0], np.array(rng.uniform(lo, hi, (3, 2))))]
        const = None
        if op.nin == 2:  # the second input a constant array: only the first needs a gradient
            const = np.array(calls[0][1].asnumpy())
            calls.append((xs[0], const))
        for args in calls:
            grads = []
            variables = [a for a in args if isinstance(a, np.ndarray) and a is not const]
            for call in (lambda: op(*args), lambda: apply(op, args, {})):
                for a in variables:
                    a.attach_grad()
                with autograd.record():
                    y = call()
                assert y._node is not None and y._node.op is op, name
                y.backward()
                grads.append((y, [a.grad.asnumpy() for a in variables]))
            (y1, g1), (y2, g2) = grads
            assert type(y1) is type(y2) and y1.dtype == y2.dtype, name
            numpy.testing.assert_array_equal(y1.asnumpy(), y2.asnumpy(), err_msg=name)
            for a, b in zip(g1, g2):
                numpy.testing.assert_array_equal(a, b, err_msg=name)


def test_comparisons_take_the_inline_call_and_agree_with_the_general_one():
    import numpy
    from tapegrad import autograd
    from tapegrad.ops.registry import apply
    nondiff = {name for name, op in REGISTRY.items() if op.ufunc is not None and not op.diff}
    assert {"less", "greater_equal", "equal", "isfinite", "logical_not"} <= nondiff
    rng = numpy.random.default_rng(1)
    for name in sorted(nondiff):
        op = REGISTRY[name]
        for dtype in ("float32", "int64"):
            x = np.array(rng.integers(-3, 4, (2, 3)).astype(dtype))
            if dtype == "float32":
                x.attach_grad()  # a taped input: comparisons still record nothing
            calls = [(x,)] if op.nin == 1 else [(x, x[::-1]), (x, 2)]
            for args in calls:
                outs = []
                for call in (lambda: op(*args), lambda: apply(op, args, {})):
                    try:
                        with autograd.record():
                            outs.append(call())
                    except TypeError as e:  # a float input to a bitwise op: the same error both ways
                        outs.append(type(e))
                a, b = outs
                if isinstance(a, type):
                    assert a is b, name
                    continue
                assert type(a) is type(b) and a.dtype == b.dtype, name
                assert a._node is None and b._node is None, name
                numpy.testing.assert_array_equal(a.asnumpy(), b.asnumpy(), err_msg=name)


def test_a_recorded_product_keeps_only_the_factors_a_gradient_reads():
    """multiply declares x as read only for y's gradient and y for x's: ``x * 2.8`` keeps the number
    alone, ``c * x`` with a constant c keeps c alone, on the inline call and through apply."""
    from tapegrad import autograd
    from tapegrad.ops.registry import apply
    mul = REGISTRY["multiply"]
    x = np.array([1.0, 2.0])
    x.attach_grad()
    c = np.array([3.0, 4.0])
    for call in (mul, lambda *a: apply(mul, a, {})):
        with autograd.record():
            by_number = call(x, 2.8)
            by_constant = call(c, x)
            both = call(x, x)
        assert by_number._node.saved == [None, 2.8]
        assert by_constant._node.saved[0] is c._data and by_constant._node.saved[1] is None
        assert all(s is x._data for s in both._node.saved)


def test_the_inline_call_makes_arrays_as_make_does():
    """The inline call builds its result without ``Array._make``: every slot must be set as there."""
    import tapegrad.torch as torch
    from tapegrad._core.array import Array
    assert isinstance(np.sin, Op) and np.sin.ufunc is not None  # declared a ufunc: the fast route
    assert "sine" in np.sin.__doc__  # the op's own documentation, not its class's
    slots = [s for s in Array.__slots__ if s != "__weakref__"]
    for x in (np.array([0.5, 1.5]), torch.tensor([0.5, 1.5])):
        for y in (np.sin(x), x * 2.0, x + x):
            ref = type(x)._make(y._data)
            assert [getattr(y, s) for s in slots] == [getattr(ref, s) for s in slots]


def test_a_replaced_forward_turns_the_fast_route_off_until_restored(monkeypatch):
    op = REGISTRY["sin"]
    assert op.ufunc is not None
    monkeypatch.setattr(op, "forward", lambda xp, x: xp.sin(x) + 1)
    assert op.ufunc is None
    assert float(np.sin(np.array(0.0))) == 1.0
    monkeypatch.undo()
    assert op.ufunc is not None and float(np.sin(np.array(0.0))) == 0.0


def test_the_inline_call_keeps_the_pytorch_dialect_semantics():
    """Tensors take the inline call too: PyTorch's dtype policy, grad_fn, version checks and
    accumulated .grad must be those of the general dispatch."""
    import numpy
    import tapegrad.torch as torch
    from tapegrad.ops.registry import apply
    rng = numpy.random.default_rng(2)
    for name in sorted(n for n, op in REGISTRY.items() if op.ufunc is not None and op.diff):
        op = REGISTRY[name]
        lo, hi = (1.2, 1.8) if name == "arccosh" else (0.2, 0.7)
        xs = [rng.uniform(lo, hi, (2, 3)).astype(numpy.float32) for _ in range(op.nin)]
        if name == "matmul":
            xs[1] = xs[1].T.copy()
        results = []
        for call in (lambda *a: op(*a), lambda *a: apply(op, a, {})):
            ts = [torch.tensor(x, requires_grad=True) for x in xs]
            y = call(*ts) if op.nin == 1 or name == "matmul" else call(ts[0], 0.5) * call(*ts)
            y.sum().backward()
            results.append((y, [t.grad for t in ts]))
        (y1, g1), (y2, g2) = results
        assert y1.dtype == y2.dtype and type(y1) is type(y2), name
        assert type(y1.grad_fn).__name__ == type(y2.grad_fn).__name__, name
        numpy.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy(), err_msg=name)
        for a, b in zip(g1, g2):
            assert (a is None) == (b is None), name
            if a is not None:
                numpy.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    n = torch.tensor([1, 2, 3])
    assert (n * 2.5).dtype == apply(REGISTRY["multiply"], (n, 2.5), {}).dtype == torch.float32
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.exp(x)  # saves its output: an in-place change of it must be caught
    y.add_(1)
    try:
        y.sum().backward()
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
    else:
        raise AssertionError("an in-place change of a saved output went unnoticed")


def test_a_ufunc_declaration_must_match_the_forward():
    """The fast route builds a one-output node for one or two inputs: an op declared as a ufunc of
    another arity (modf has two outputs) is refused when declared, with both counts named."""
    import numpy
    import pytest

    def modf(xp, x):
        return xp.modf(x)
    flags = dict(broadcast=False, samples=None, nin=None, diff=True, elementwise=True, linear=False, public=None)
    with pytest.raises(TypeError, match="declared as the ufunc modf but takes 1 arrays and returns 2"):
        Op(modf, "modf", nout=2, ufunc=numpy.modf, **flags)
    assert Op(modf, "modf", nout=2, **flags).ufunc is None


def test_every_declared_ufunc_is_its_op_forward():
    """``defop(ufunc=...)`` is a promise that the forward is that ufunc on the inputs: checked on
    each op's own samples (values and dtypes), so a declaration cannot drift from its forward."""
    import numpy
    from tapegrad.ops.samples import op_cases
    checked = 0
    for name, op in REGISTRY.items():
        if op.ufunc is None:
            continue
        for case in (op_cases(op) if op.samples is not None else [])[:3]:
            xs = [numpy.asarray(x) for x in case.args]
            if case.params or len(xs) != op.nin:
                continue
            with numpy.errstate(all="ignore"):
                want = op.forward(numpy, *xs)
                got = op.ufunc(*xs)
            assert numpy.asarray(got).dtype == numpy.asarray(want).dtype, name
            numpy.testing.assert_array_equal(got, want, err_msg=name)
            checked += 1
    assert checked > 40
