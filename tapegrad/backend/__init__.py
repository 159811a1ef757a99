"""Devices, array-module lookup and the backend seam. Every NumPy/CuPy difference lives in this
package: ``backend_for(xp)`` gives ``numpy_backend`` or ``cupy_backend``, two modules with the same
functions (scatter-add, n-D FFT, pad, sort, erf...), so op files never test which module they run on."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy

from . import cupy_backend, numpy_backend

__all__ = ["Device", "DeviceError", "cpu", "gpu", "num_gpus", "xp_of", "device_of", "to_device", "to_host",
           "is_device_buffer", "backend_for"]


class DeviceError(ValueError):
    """Inputs of one op live on different devices."""


DeviceError.__module__ = "tapegrad"


def backend_for(xp: object) -> ModuleType:
    """The seam module for array module ``xp``: ``numpy_backend`` for NumPy, else ``cupy_backend``."""
    return numpy_backend if xp is numpy else cupy_backend


class Device:
    """A place where arrays live: ``cpu(0)`` or ``gpu(i)``."""

    __slots__ = ("device_type", "device_id")

    def __init__(self, device_type: str = "cpu", device_id: int = 0) -> None:
        if device_type not in ("cpu", "gpu"):
            raise ValueError(f"unknown device type {device_type!r}; use 'cpu' or 'gpu'")
        self.device_type = device_type
        self.device_id = int(device_id)

    def __repr__(self) -> str:
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Device) and other.device_type == self.device_type
                and other.device_id == self.device_id)

    def __hash__(self) -> int:
        return hash((self.device_type, self.device_id))


CPU = Device("cpu", 0)


def cpu(device_id: int = 0) -> Device:
    """The host CPU."""
    return Device("cpu", device_id)


def gpu(device_id: int = 0) -> Device:
    """The NVIDIA GPU with this index (CuPy is needed to put arrays there)."""
    return Device("gpu", device_id)


def _cupy():
    try:
        import cupy  # noqa: PLC0415 - optional, imported only when a GPU is used
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise DeviceError("GPU arrays need CuPy: pip install cupy-cuda12x (or the build for your CUDA)") from e
    return cupy


def num_gpus() -> int:
    """Number of visible NVIDIA GPUs (0 when CuPy or a GPU is missing)."""
    try:
        import cupy  # noqa: PLC0415
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def synchronize_gpu() -> None:
    """Wait for the current GPU's queued work (nothing to wait for without one)."""
    if num_gpus() > 0:
        _cupy().cuda.Device().synchronize()


def gpu_name(index: int = 0) -> str:
    """The name of GPU ``index``, as the CUDA runtime reports it."""
    name = _cupy().cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else name


def is_device_buffer(d: object) -> bool:
    """Whether ``d`` is a raw GPU buffer (a CuPy array)."""
    return type(d).__module__.split(".", 1)[0] == "cupy"


def _is_host(d: object) -> bool:
    return not is_device_buffer(d)


def xp_of(datas: Any) -> Any:
    """The array module (numpy or cupy) for these raw buffers; they must share a device."""
    gpu_id = None
    host = False
    for d in datas:
        t = type(d)
        if t is numpy.ndarray:
            host = True
            continue
        if t in (int, float, bool, complex) or _is_host(d):
            continue
        dev = d.device.id
        if gpu_id is None:
            gpu_id = dev
        elif dev != gpu_id:
            raise DeviceError(f"inputs live on gpu({gpu_id}) and gpu({dev}); move them to one device "
                              "with .as_in_ctx(ctx) (or .to(device)) before combining them")
    if gpu_id is None:
        return numpy
    if host:
        raise DeviceError(f"inputs live on cpu(0) and gpu({gpu_id}); move them to one device with "
                          ".as_in_ctx(ctx) (or .to(device)) before combining them")
    return _cupy()


def device_of(data: Any) -> Device:
    """The device that holds a raw buffer."""
    if _is_host(data):
        return CPU
    return Device("gpu", data.device.id)


def to_device(data: Any, device: Device) -> Any:
    """A copy (or the same buffer when already there) of a raw buffer on ``device``."""
    if device.device_type == "cpu":
        return to_host(data)
    cupy = _cupy()
    n = num_gpus()
    if device.device_id >= n:
        raise DeviceError(f"{device} is not available: {n} GPU(s) visible; use cpu() or gpu(i) with i < {n}"
                          if n else f"{device} is not available: CuPy sees no GPU on this machine; use cpu()")
    with cupy.cuda.Device(device.device_id):
        return cupy.asarray(data)


def to_host(data: Any) -> numpy.ndarray:
    """The buffer as a host NumPy array."""
    if _is_host(data):
        return numpy.asarray(data)
    return data.get()


def zeros_like(data: Any) -> Any:
    """A zero buffer like ``data`` on its device (always an array, also for 0-d)."""
    return xp_of((data,)).zeros_like(data)


def ones_like(data: Any) -> Any:
    """A buffer of ones like ``data`` on its device."""
    return xp_of((data,)).ones_like(data)
