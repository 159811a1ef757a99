"""DLPack exchange on raw buffers: export a NumPy or CuPy buffer, import any DLPack producer (an object
with ``__dlpack__``, or a bare capsule as the legacy ``to_dlpack`` functions make) as a buffer that
shares its memory. The doors wrap these in their own ``from_dlpack``; ``Array.__dlpack__`` calls
``export``. Which array module imports a producer follows from the device it names: NumPy for host
memory, CuPy (imported only then) for GPU memory."""
from __future__ import annotations

import ctypes
import enum
from typing import Any

import numpy

__all__ = ["DLDeviceType", "CapsuleUsedError", "export", "device", "import_buffer", "is_capsule"]


class DLDeviceType(enum.IntEnum):
    """The device types of the DLPack specification (``dlpack.h``)."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


#: Device types whose memory the host reads directly (NumPy imports them).
_HOST = (DLDeviceType.kDLCPU, DLDeviceType.kDLCUDAHost)
#: Device types CuPy imports.
_CUDA = (DLDeviceType.kDLCUDA, DLDeviceType.kDLCUDAManaged)


class CapsuleUsedError(ValueError):
    """A DLPack capsule that was already consumed (a capsule gives its memory away once)."""


def _host_buffer(data: Any) -> Any:
    """``data`` as an exportable buffer (a NumPy scalar, which has no ``__dlpack__``, as a 0-d array)."""
    return numpy.asarray(data) if isinstance(data, numpy.generic) else data


def export(data: Any, stream: Any = None, max_version: tuple[int, int] | None = None,
           dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
    """A DLPack capsule of raw buffer ``data``, made by its own array module (so it shares the memory
    unless ``copy`` asks otherwise). A module that predates the versioned protocol gets only ``stream``
    when nothing else was asked of it, and returns an unversioned capsule, which every consumer reads."""
    data = _host_buffer(data)
    kwargs = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
              if v is not None}
    try:
        return data.__dlpack__(stream=stream, **kwargs)
    except TypeError:
        if set(kwargs) - {"max_version"}:
            raise
        return data.__dlpack__(stream=stream)


def device(data: Any) -> tuple[int, int]:
    """``(device type, device id)`` of raw buffer ``data``, as DLPack numbers them."""
    return tuple(_host_buffer(data).__dlpack_device__())


# -- capsules --------------------------------------------------------------------------------------
# A capsule holds a C struct (dlpack.h) that names the tensor's device, and for a legacy, unversioned
# capsule ("dltensor") all of the tensor: NumPy reads such a capsule as read-only memory (the legacy
# struct cannot say whether the memory may be written), so tapegrad reads it itself, writable, as
# MXNet's and PyTorch's from_dlpack do. Prototypes of our own, so that ctypes.pythonapi's shared function
# objects (which other libraries configure) are left as they are.
_F = ctypes.PYFUNCTYPE
_get_name = _F(ctypes.c_char_p, ctypes.py_object)(("PyCapsule_GetName", ctypes.pythonapi))
_get_pointer = _F(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_GetPointer", ctypes.pythonapi))
_set_name = _F(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_SetName", ctypes.pythonapi))
_set_destructor = _F(ctypes.c_int, ctypes.py_object, ctypes.c_void_p)(("PyCapsule_SetDestructor", ctypes.pythonapi))
_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
#: The name a consumed legacy capsule takes (PyCapsule_SetName keeps the pointer: this object lives on).
_USED = b"used_dltensor"


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


class _DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p), ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


#: NumPy's dtype kind for each DLPack type code (int, uint, float, complex, bool).
_KINDS = {0: "i", 1: "u", 2: "f", 5: "c", 6: "b"}


def is_capsule(obj: Any) -> bool:
    """Whether ``obj`` is a bare PyCapsule (what ``to_dlpack`` functions return)."""
    return type(obj).__name__ == "PyCapsule" and type(obj).__module__ == "builtins"


def _capsule_name(capsule: Any) -> bytes:
    name = _get_name(capsule)
    if name in (b"used_dltensor", b"used_dltensor_versioned"):
        raise CapsuleUsedError("this DLPack capsule was already consumed (a capsule gives its memory away "
                               "once); export the array again (x.__dlpack__() or to_dlpack(x))")
    if name not in (b"dltensor", b"dltensor_versioned"):
        raise TypeError(f"a PyCapsule named {name!r} is not a DLPack tensor; pass an array with __dlpack__ "
                        "or a capsule from a to_dlpack function")
    return name


def _capsule_device(capsule: Any) -> tuple[int, int]:
    name = _capsule_name(capsule)
    struct = _DLManagedTensor if name == b"dltensor" else _DLManagedTensorVersioned
    dev = struct.from_address(_get_pointer(capsule, name)).dl_tensor.device
    return int(dev.device_type), int(dev.device_id)


class _CapsuleProducer:
    """A bare capsule dressed as a DLPack producer, so that the consumers of the current protocol
    (``numpy.from_dlpack``, ``cupy.from_dlpack``) take it."""

    __slots__ = ("capsule", "dev")

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule
        self.dev = _capsule_device(capsule)

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.dev


class _LegacyTensor:
    """Owns a consumed legacy capsule's tensor: NumPy reads it through ``__array_interface__``, and the
    producer's deleter runs when the last array over the memory is gone."""

    __slots__ = ("__array_interface__", "ptr", "deleter")

    def __init__(self, interface: dict, ptr: int, deleter: int | None) -> None:
        self.__array_interface__ = interface
        self.ptr = ptr
        self.deleter = deleter

    def __del__(self) -> None:
        if self.deleter:
            _DELETER(self.deleter)(self.ptr)


def _host_from_legacy(capsule: Any) -> numpy.ndarray:
    """A writable NumPy array over the host memory of a legacy capsule, which it consumes."""
    ptr = _get_pointer(capsule, b"dltensor")
    managed = _DLManagedTensor.from_address(ptr)
    t = managed.dl_tensor
    kind, bits, lanes = _KINDS.get(t.dtype.code), t.dtype.bits, t.dtype.lanes
    if kind is None or lanes != 1 or bits % 8:
        raise BufferError(f"tapegrad cannot read DLPack data of type code {t.dtype.code}, {bits} bits, {lanes} "
                          "lanes (bfloat16, opaque and vector types have no NumPy dtype); cast it first")
    dtype = numpy.dtype(f"{kind}{bits // 8}" if kind != "b" else "?")
    shape = tuple(t.shape[i] for i in range(t.ndim))
    strides = None if not t.strides else tuple(t.strides[i] * dtype.itemsize for i in range(t.ndim))
    _set_name(capsule, _USED)  # consumed: its producer's destructor now leaves the tensor to us
    _set_destructor(capsule, None)
    owner = _LegacyTensor({"shape": shape, "typestr": dtype.str, "strides": strides, "version": 3,
                           "data": ((t.data or 0) + t.byte_offset, False)}, ptr, managed.deleter)
    if 0 in shape or not t.data:  # (NumPy refuses a null pointer; an empty array reads no memory)
        return numpy.empty(shape, dtype)
    return numpy.asarray(owner)


def _host_capsule(producer: Any) -> Any:
    """A capsule from host producer ``producer``, versioned where it can make one."""
    try:
        return producer.__dlpack__(stream=None, max_version=(1, 0))
    except TypeError:  # a producer of the legacy protocol
        return producer.__dlpack__(stream=None)


def import_buffer(obj: Any, copy: bool | None = None) -> Any:
    """A raw buffer over the memory of DLPack producer ``obj`` (an object with ``__dlpack__`` and
    ``__dlpack_device__``, or a bare capsule): a NumPy array for host memory, a CuPy array for GPU
    memory, sharing it (writable, unless the producer marked it read-only) unless ``copy`` is true."""
    capsule = None
    if is_capsule(obj):
        capsule = obj
        kind = _capsule_device(obj)[0]
    elif hasattr(obj, "__dlpack__") and hasattr(obj, "__dlpack_device__"):
        kind = obj.__dlpack_device__()[0]
    else:
        raise TypeError(f"from_dlpack takes an array that implements the DLPack protocol (__dlpack__: NumPy, "
                        f"PyTorch, CuPy, JAX, tapegrad...) or a DLPack capsule, not {type(obj).__name__}; "
                        "make an array of other data with the door's array()/tensor()")
    if kind in _HOST:
        if capsule is None:
            capsule = _host_capsule(obj)
        if _capsule_name(capsule) == b"dltensor":
            buf = _host_from_legacy(capsule)
        else:
            buf = numpy.from_dlpack(_CapsuleProducer(capsule))
    elif kind in _CUDA:
        from . import _cupy  # noqa: PLC0415 - optional: only GPU memory needs CuPy
        buf = _cupy().from_dlpack(obj if capsule is None else _CapsuleProducer(capsule))
    else:
        name = DLDeviceType(kind).name if kind in set(DLDeviceType) else str(kind)
        raise BufferError(f"tapegrad cannot hold memory of DLPack device type {name}; move the array to the "
                          "CPU (or a CUDA GPU) first")
    return buf.copy() if copy else buf
