"""Zero-copy exchange: DLPack (``__dlpack__``, ``from_dlpack``) in every door, against NumPy, real PyTorch
and, where installed, CuPy and JAX; ``Tensor.numpy()``, ``torch.from_numpy`` and ``torch.as_tensor``
sharing memory as PyTorch's do."""
from __future__ import annotations

import gc
import sys
import warnings

import numpy
import pytest

import tapegrad
import tapegrad.torch as tt
from tapegrad import autograd, np, npx
from tapegrad.backend import num_gpus

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32", "float64", "complex64",
          "complex128"]
RNG = numpy.random.default_rng(14)


def _values(dtype, shape=(3, 4)):
    return (RNG.standard_normal(shape) * 5).astype(dtype)


def _shares(a, b):
    return numpy.shares_memory(numpy.asarray(a), numpy.asarray(b))


def _layouts(base):
    """Contiguous, transposed, strided and reversed views of ``base``, a 0-d and an empty array."""
    return {"contiguous": base, "transposed": base.T, "strided": base[::2, 1::2], "reversed": base[:, ::-1],
            "0-d": base[1, 2, ...], "empty": base[:0]}


# -- export: NumPy (and any consumer) reads tapegrad arrays without a copy ---------------------------
@pytest.mark.parametrize("door", ["np", "torch"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_reads_tapegrad_arrays_in_place(door, dtype):
    for name, raw in _layouts(_values(dtype)).items():
        raw = raw.copy() if name == "contiguous" else raw
        x = np.ndarray._make(raw) if door == "np" else tt.Tensor._make(raw)
        n = numpy.from_dlpack(x)
        assert n.dtype == raw.dtype and n.shape == raw.shape, name
        numpy.testing.assert_array_equal(n, raw)
        assert raw.size == 0 or _shares(n, raw), name
    assert x.__dlpack_device__() == (1, 0)


def test_writes_through_numpy_are_seen_by_the_tapegrad_array_and_back():
    for x in (np.array([1.0, 2.0, 3.0]), tt.tensor([1.0, 2.0, 3.0])):
        n = numpy.from_dlpack(x)
        n[0] = 10.0
        assert float(x[0]) == 10.0
        x[1] = 20.0  # an in-place write through tapegrad
        x += 1  # and an augmented one
        numpy.testing.assert_array_equal(n, [11.0, 21.0, 4.0])


def test_the_protocols_arguments_go_to_the_buffer():
    x = np.array([1.0, 2.0])
    copied = numpy.from_dlpack(x, copy=True)
    copied[0] = 5.0
    assert float(x[0]) == 1.0 and not _shares(copied, x)
    assert _shares(numpy.from_dlpack(x, copy=False), x)
    assert "dltensor_versioned" in repr(x.__dlpack__(max_version=(1, 0)))
    assert '"dltensor"' in repr(x.__dlpack__())  # no max_version: the legacy capsule every consumer reads
    with pytest.raises(BufferError):
        x.__dlpack__(dl_device=(2, 0))  # NumPy's buffer cannot move to a GPU: its own error


def test_an_array_being_differentiated_exports_its_values():
    x = np.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = x * x
        numpy.testing.assert_array_equal(numpy.from_dlpack(y), [1.0, 4.0, 9.0])
        numpy.testing.assert_array_equal(numpy.from_dlpack(x), [1.0, 2.0, 3.0])
        z = y.sum()
    z.backward()  # the export took nothing from the graph
    numpy.testing.assert_array_equal(x.grad.asnumpy(), [2.0, 4.0, 6.0])
    seen = []
    tapegrad.grad(lambda v: (seen.append(numpy.from_dlpack(v * 2).copy()), (v * v).sum())[1])(numpy.array([1.0, 3.0]))
    numpy.testing.assert_array_equal(seen[0], [2.0, 6.0])


def test_a_tensor_that_requires_grad_is_refused_as_pytorch_refuses_it():
    torch = pytest.importorskip("torch")
    ours, theirs = tt.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for f in (lambda t: t.__dlpack__(), numpy.from_dlpack):
        with pytest.raises(BufferError) as mine:
            f(ours)
        with pytest.raises(BufferError) as ref:
            f(theirs)
        assert str(mine.value) == str(ref.value) == "Can't export tensors that require gradient, use tensor.detach()"
    assert _shares(numpy.from_dlpack(ours.detach()), ours.detach().numpy())
    # the legacy to_dlpack exports it all the same, in both
    numpy.testing.assert_array_equal(tt.utils.dlpack.from_dlpack(tt.utils.dlpack.to_dlpack(ours)), [1.0, 1.0])
    torch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(theirs))


# -- import: from_dlpack in every door ------------------------------------------------------------
def _from_dlpack_doors():
    return {"np.from_dlpack": (np.from_dlpack, np.ndarray), "npx.from_dlpack": (npx.from_dlpack, np.ndarray),
            "torch.from_dlpack": (tt.from_dlpack, tt.Tensor),
            "torch.utils.dlpack.from_dlpack": (tt.utils.dlpack.from_dlpack, tt.Tensor)}


@pytest.mark.parametrize("door", list(_from_dlpack_doors()))
@pytest.mark.parametrize("dtype", DTYPES)
def test_from_dlpack_shares_numpy_memory(door, dtype):
    from_dlpack, cls = _from_dlpack_doors()[door]
    for name, raw in _layouts(_values(dtype)).items():
        x = from_dlpack(raw)
        assert type(x) is cls and x.dtype == raw.dtype and x.shape == raw.shape, name
        numpy.testing.assert_array_equal(numpy.asarray(x), raw)
        assert raw.size == 0 or _shares(x, raw), name
        assert x._node is None  # a constant: no gradient buffer, no history


@pytest.mark.parametrize("door", list(_from_dlpack_doors()))
def test_writes_are_seen_both_ways_with_numpy(door):
    from_dlpack, _ = _from_dlpack_doors()[door]
    a = numpy.arange(6.0).reshape(2, 3)
    x = from_dlpack(a)
    a[0, 0] = -1.0
    assert float(x[0, 0]) == -1.0
    x[1] = 7.0
    x *= 2
    numpy.testing.assert_array_equal(a, [[-2.0, 2.0, 4.0], [14.0, 14.0, 14.0]])


@pytest.mark.parametrize("door", list(_from_dlpack_doors()))
def test_writes_are_seen_both_ways_with_pytorch(door):
    torch = pytest.importorskip("torch")
    from_dlpack, _ = _from_dlpack_doors()[door]
    for make in (lambda t: t, torch.utils.dlpack.to_dlpack):  # the protocol, and a legacy capsule
        t = torch.arange(6.0).reshape(2, 3).t()  # (a non-contiguous one)
        x = from_dlpack(make(t))
        assert x.shape == (3, 2)
        t[0, 1] = -1.0
        assert float(x[0, 1]) == -1.0
        x[2] = 9.0
        x += 1
        assert t.tolist() == [[1.0, 0.0], [2.0, 5.0], [10.0, 10.0]]


def test_pytorch_reads_tapegrad_arrays_in_place():
    torch = pytest.importorskip("torch")
    for x in (np.array([[1.0, 2.0], [3.0, 4.0]]).T, tt.tensor([[1.0, 2.0], [3.0, 4.0]]).T):
        t = torch.from_dlpack(x)
        assert t.tolist() == [[1.0, 3.0], [2.0, 4.0]]
        t[0, 0] = 5.0
        assert float(x[0, 0]) == 5.0
        x[1] = 0.0
        assert t.tolist() == [[5.0, 3.0], [0.0, 0.0]]
    t = torch.utils.dlpack.from_dlpack(tt.utils.dlpack.to_dlpack(tt.tensor([1, 2], dtype=tt.int32)))
    assert t.dtype == torch.int32 and t.tolist() == [1, 2]


def test_doors_exchange_with_each_other():
    m = np.array([1.0, 2.0])
    t = tt.from_dlpack(m)
    m2 = np.from_dlpack(t)
    m2 += 1
    assert t.tolist() == [2.0, 3.0] and m.asnumpy().tolist() == [2.0, 3.0]


def test_mxnet_capsules_for_read_and_write():
    x = np.ones((2, 3))
    u = npx.from_dlpack(npx.to_dlpack_for_write(x))  # MXNet 1.9's documented example
    u += 1
    numpy.testing.assert_array_equal(x.asnumpy(), numpy.full((2, 3), 2.0))
    z = npx.from_dlpack(npx.to_dlpack_for_read(x))
    numpy.testing.assert_array_equal(z.asnumpy(), x.asnumpy())
    with pytest.raises(TypeError, match="tapegrad array"):
        npx.to_dlpack_for_write(numpy.ones(2))


def test_a_capsule_is_used_once_with_each_doors_error():
    c = npx.to_dlpack_for_read(np.ones(2))
    npx.from_dlpack(c)
    with pytest.raises(ValueError, match="Invalid DLPack Tensor. DLTensor capsules can be consumed only once."):
        npx.from_dlpack(c)
    c = tt.utils.dlpack.to_dlpack(tt.ones(2))
    tt.from_dlpack(c)
    with pytest.raises(RuntimeError) as mine:
        tt.from_dlpack(c)
    torch = pytest.importorskip("torch")
    c = torch.utils.dlpack.to_dlpack(torch.ones(2))
    torch.from_dlpack(c)
    with pytest.raises(RuntimeError) as ref:
        torch.from_dlpack(c)
    assert str(mine.value) == str(ref.value)


def test_what_is_not_dlpack_is_refused_with_the_fix():
    for f in (np.from_dlpack, npx.from_dlpack, tt.from_dlpack):
        with pytest.raises(TypeError, match="DLPack protocol.*not list.*array\\(\\)/tensor\\(\\)"):
            f([1.0, 2.0])
    with pytest.raises(TypeError, match="not a DLPack tensor"):
        tt.from_dlpack(_other_capsule())


def _other_capsule():
    import ctypes  # noqa: PLC0415
    new = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)(
        ("PyCapsule_New", ctypes.pythonapi))
    return new(ctypes.addressof(_KEEP), b"not_a_tensor", None)


_KEEP = __import__("ctypes").c_int(0)


def test_copy_and_device_arguments():
    a = numpy.arange(3.0)
    for f in (np.from_dlpack, tt.from_dlpack):
        c = f(a, copy=True)
        c += 1
        assert a.tolist() == [0.0, 1.0, 2.0]
        assert _shares(f(a, copy=False), a)
    assert _shares(tt.from_dlpack(a, device="cpu"), a)
    assert _shares(np.from_dlpack(a, device=npx.cpu()), a)


def test_read_only_memory_stays_read_only():
    a = numpy.arange(3.0)
    a.flags.writeable = False
    x = np.from_dlpack(a)
    numpy.testing.assert_array_equal(x.asnumpy(), a)
    with pytest.raises(ValueError):
        x[0] = 1.0
    t = tt.from_dlpack(a)
    with pytest.raises(RuntimeError, match="read-only.*clone\\(\\)"):
        t.add_(1)


def test_a_consumed_legacy_capsule_is_released_with_the_last_array():
    a = numpy.arange(4.0)
    before = sys.getrefcount(a)
    x = tt.from_dlpack(a.__dlpack__())  # NumPy's legacy capsule holds a reference to ``a``
    assert sys.getrefcount(a) == before + 1
    y = x[1:]  # a view keeps the memory alive
    del x
    gc.collect()
    assert y.tolist() == [1.0, 2.0, 3.0] and sys.getrefcount(a) == before + 1
    del y
    gc.collect()
    assert sys.getrefcount(a) == before


def test_an_imported_tensor_is_a_leaf_that_can_require_grad():
    a = numpy.array([1.0, 2.0, 3.0])
    x = tt.from_dlpack(a).requires_grad_()
    (x * x).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), 2 * a)


def test_the_numpy_door_passes_tapegrad_arrays_to_numpys_from_dlpack():
    tnp = pytest.importorskip("tapegrad.numpy")
    for x in (np.array([1.0, 2.0]), tt.tensor([1.0, 2.0])):
        n = tnp.from_dlpack(x)
        assert isinstance(n, numpy.ndarray) and n.tolist() == [1.0, 2.0]
        assert _shares(n, x)


def test_device_type_enum_is_pytorchs():
    torch = pytest.importorskip("torch")
    assert dict(tt.utils.dlpack.DLDeviceType.__members__) .keys() == dict(
        torch.utils.dlpack.DLDeviceType.__members__).keys()
    assert [int(v) for v in tt.utils.dlpack.DLDeviceType] == [int(v) for v in torch.utils.dlpack.DLDeviceType]


# -- CuPy and JAX, where installed ------------------------------------------------------------------
def test_cupy_exchange_on_the_gpu():
    cupy = pytest.importorskip("cupy")
    if num_gpus() == 0:
        pytest.skip("needs an NVIDIA GPU")
    c = cupy.arange(6.0).reshape(2, 3)
    for f in (np.from_dlpack, npx.from_dlpack, tt.from_dlpack):
        x = f(c)
        assert x.__dlpack_device__()[0] == 2
        x[0, 0] = -1.0
        assert float(c[0, 0]) == -1.0
        c[0, 0] = 0.0
    x = tt.tensor([1.0, 2.0], device="cuda")
    back = cupy.from_dlpack(x)
    back[0] = 5.0
    assert x.tolist() == [5.0, 2.0]
    host = tt.from_dlpack(c, device="cpu")
    assert isinstance(host._data, numpy.ndarray) and host.tolist() == c.get().tolist()


def test_jax_exchange():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    j = jnp.arange(6.0, dtype=jnp.float32).reshape(2, 3)
    for f in (np.from_dlpack, tt.from_dlpack):
        x = f(j)
        numpy.testing.assert_array_equal(numpy.asarray(x), numpy.asarray(j))
    back = jax.dlpack.from_dlpack(np.array([[1.0, 2.0]], dtype="float32"))
    numpy.testing.assert_array_equal(numpy.asarray(back), [[1.0, 2.0]])
    back = jnp.from_dlpack(tt.tensor([3.0, 4.0]))
    numpy.testing.assert_array_equal(numpy.asarray(back), [3.0, 4.0])


# -- Tensor.numpy(), from_numpy, as_tensor ---------------------------------------------------------
def test_tensor_numpy_shares_memory_both_ways():
    t = tt.arange(4.0)
    n = t.numpy()
    n[0] = 9.0
    t.add_(1)
    assert n.tolist() == [10.0, 2.0, 3.0, 4.0] and t.tolist() == n.tolist()
    n.shape = (2, 2)  # the array's own shape is its own
    assert t.shape == (4,)
    d = tt.ones(2, requires_grad=True).detach()
    assert _shares(d.numpy(), d)


def test_tensor_numpy_refuses_a_tensor_that_requires_grad_with_pytorchs_words():
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError) as mine:
        tt.ones(2, requires_grad=True).numpy()
    with pytest.raises(RuntimeError) as ref:
        torch.ones(2, requires_grad=True).numpy()
    assert str(mine.value) == str(ref.value)
    x = tt.ones(2, requires_grad=True)
    assert _shares(x.numpy(force=True), x.detach().numpy())


def test_from_numpy_shares_memory_and_moves_the_version_counter_as_pytorch_does():
    torch = pytest.importorskip("torch")
    a, b = numpy.arange(3.0), numpy.arange(3.0)
    ours, theirs = tt.from_numpy(a), torch.from_numpy(b)
    for t, arr in ((ours, a), (theirs, b)):
        arr[0] = 5.0  # a write through the array: seen, not counted
        assert float(t[0]) == 5.0 and t._version == 0
        t.add_(1)  # a write through the tensor: seen and counted
        t[1] = 0.0
        assert arr.tolist() == [6.0, 0.0, 3.0] and t._version == 2


def test_a_from_numpy_tensor_written_after_being_saved_fails_the_backward():
    w = tt.ones(3, requires_grad=True)
    x = tt.from_numpy(numpy.arange(3.0))
    y = (w * x).sum()  # saves x for w's gradient
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_from_numpy_refuses_what_pytorch_refuses_with_its_words():
    torch = pytest.importorskip("torch")
    bad = [[1.0], numpy.float64(2.0), numpy.zeros(2, ">f8"), numpy.zeros(2, numpy.longdouble)]
    for a in bad:
        with pytest.raises((TypeError, ValueError)) as mine:
            tt.from_numpy(a)
        with pytest.raises((TypeError, ValueError)) as ref:
            torch.from_numpy(a)
        # (the list of dtypes is the dialect's: it has no uint16, uint32, uint64)
        assert type(mine.value) is type(ref.value), a
        assert str(mine.value).split(" of type")[0] == str(ref.value).split(" of type")[0], a
        assert str(mine.value).split(" The only")[0].replace("float128", "longdouble") == \
            str(ref.value).split(" The only")[0], a


def test_from_numpy_of_a_read_only_array_warns_as_pytorch_does():
    torch = pytest.importorskip("torch")
    a = numpy.arange(3.0)
    a.flags.writeable = False
    with warnings.catch_warnings(record=True) as mine:
        warnings.simplefilter("always")
        t = tt.from_numpy(a)
    with warnings.catch_warnings(record=True) as ref:
        warnings.simplefilter("always")
        torch.from_numpy(a)
    assert [str(w.message).split(" (Triggered")[0] for w in mine] == [
        str(w.message).split(" (Triggered")[0] for w in ref]
    assert mine[0].filename == __file__  # pointing at the caller
    assert t.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("case", ["same dtype", "dtype given, same", "dtype given, other", "device cpu",
                                  "a tensor", "a list"])
def test_as_tensor_copies_exactly_where_pytorch_copies(case):
    torch = pytest.importorskip("torch")

    def run(lib):
        a = numpy.arange(3.0)
        src = {"a tensor": lib.tensor([1.0, 2.0]), "a list": [1.0, 2.0]}.get(case, a)
        kw = {"dtype given, same": {"dtype": lib.float64}, "dtype given, other": {"dtype": lib.float32},
              "device cpu": {"device": "cpu"}}.get(case, {})
        out = lib.as_tensor(src, **kw)
        if case == "a tensor":
            return out is src
        if case == "a list":
            return False
        return _shares(out.numpy(), a)
    assert run(tt) == run(torch)
