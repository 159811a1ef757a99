"""Op objects behave like NumPy's functions (issue 12, item 7): ``__name__``, ``__qualname__``,
``__module__``, ``__doc__``, ``inspect.signature``, ``functools.wraps`` and pickling by reference,
for every op of the registry (plain and specialised); and NumPy's scalar types exist in tapegrad.np."""
from __future__ import annotations

import copy
import functools
import importlib
import inspect
import pickle

import numpy
import pytest

from tapegrad import np
from tapegrad.ops.registry import REGISTRY, Op

NAMES = list(REGISTRY)


def _home(op):
    return importlib.import_module(op.__module__)


@pytest.mark.parametrize("name", NAMES)
def test_name_module_and_doc(name):
    op = REGISTRY[name]
    assert op.__name__ == op.__qualname__ == name
    if op.public is not None:
        assert op.__module__ == f"tapegrad.{op.public}"
    else:
        assert op.__module__ == op.forward.__module__
    # found where it says it lives: the op, or a door's thin wrapper of it (npx.convolution, np.linalg.svd),
    # or the NumPy-side door's function that runs it on tapegrad arrays (tapegrad.scipy.special.gammaln)
    home = getattr(_home(op), op.__qualname__)
    assert inspect.unwrap(home) is op or getattr(home, "op", None) is op
    assert isinstance(op.__doc__, str) and op.__doc__.strip()
    if op.public in ("np", "np.linalg", "np.fft"):
        assert f"tapegrad.{op.public}.{name}" in op.__doc__ or op.forward.__doc__ == op.__doc__


@pytest.mark.parametrize("name", NAMES)
def test_signature_is_the_forwards_after_xp_and_binds_every_sample(name):
    op = REGISTRY[name]
    sig = inspect.signature(op)
    forward = list(inspect.signature(op.forward).parameters)[1:]
    assert list(sig.parameters) == forward
    cases = op.samples(numpy.random.default_rng(0)) if op.samples is not None else []
    for case in cases:
        args = (list(case.args),) if op.seq else case.args
        sig.bind(*args, **case.params)  # the signature describes how the op is called


@pytest.mark.parametrize("name", NAMES)
def test_pickle_and_copy_give_the_same_object(name):
    op = REGISTRY[name]
    door = getattr(_home(op), name)  # the op, or a door's thin wrapper of it
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        assert pickle.loads(pickle.dumps(door, protocol)) is door
        assert pickle.loads(pickle.dumps(op, protocol)) is op  # also an op a door wraps
    assert copy.copy(op) is op and copy.deepcopy(op) is op


@pytest.mark.parametrize("name", NAMES)
def test_functools_wraps_copies_what_numpy_functions_have(name):
    op = REGISTRY[name]

    @functools.wraps(op)
    def wrapper(*args, **kwargs):
        return op(*args, **kwargs)
    assert (wrapper.__name__, wrapper.__qualname__, wrapper.__module__, wrapper.__doc__) == \
        (op.__name__, op.__qualname__, op.__module__, op.__doc__)
    assert inspect.signature(wrapper) == inspect.signature(op)


def test_plain_and_ufunc_ops_are_both_covered_and_a_replaced_forward_keeps_the_attributes():
    kinds = {op.ufunc is not None for op in REGISTRY.values()}
    assert kinds == {True, False}  # the sweeps above cover both kinds of op

    def sin(xp, x):
        return xp.sin(x)
    flags = dict(broadcast=False, samples=None, nout=None, nin=None, diff=True, elementwise=True,
                 linear=False, public="np", seq=False)
    op = Op.__new__(type(REGISTRY["sin"]))
    op.__init__(sin, "sin", ufunc=numpy.sin, **flags)
    plain = Op(sin, "sin", **flags)
    before = (op.__name__, op.__module__, op.__doc__, inspect.signature(op))
    assert before == (plain.__name__, plain.__module__, plain.__doc__, inspect.signature(plain))
    op.forward = lambda xp, x: xp.sin(x)  # no longer the declared ufunc: the fast route steps aside
    assert op.ufunc is None
    assert (op.__name__, op.__module__, op.__doc__, inspect.signature(op)) == before
    op.forward = sin
    assert op.ufunc is numpy.sin


def test_numpy_style_examples():
    assert np.sin.__name__ == "sin" and np.sin.__module__ == "tapegrad.np"
    assert np.linalg.norm.__module__ == "tapegrad.np.linalg"
    assert str(inspect.signature(np.sin)) == "(x, /)"
    assert str(inspect.signature(np.concatenate)).startswith("(arrays, /, axis=0")
    assert "sine" in np.sin.__doc__.lower()
    assert pickle.loads(pickle.dumps([np.sin, np.linalg.det])) == [np.sin, np.linalg.det]


SCALAR_TYPES = sorted(n for n in dir(numpy) if not n.startswith("_") and isinstance(getattr(numpy, n), type)
                      and issubclass(getattr(numpy, n), numpy.generic))


@pytest.mark.parametrize("name", SCALAR_TYPES)
def test_every_numpy_scalar_type_is_there(name):
    assert getattr(np, name) is getattr(numpy, name)


def test_the_named_scalar_types_and_a_missing_platform_type():
    for name in ("longdouble", "complex64", "complex128", "uint16", "uint32", "uint64", "intp", "bool", "generic",
                 "number", "floating", "integer", "clongdouble"):
        assert getattr(np, name) is getattr(numpy, name)
    assert np.array([1, 2], dtype=np.longdouble).dtype == numpy.longdouble
    missing = [n for n in ("float96", "float128", "complex192", "complex256") if not hasattr(numpy, n)]
    assert missing  # a platform has one long double width, so NumPy lacks the other
    for name in missing:
        with pytest.raises(AttributeError, match=f"no '{name}' because NumPy has none on this platform"):
            getattr(np, name)
