"""``torch.cuda``: what D2L-style code asks about GPUs (CuPy provides them; absent CuPy, none)."""
from __future__ import annotations

from ..backend import gpu_name, num_gpus, synchronize_gpu

__all__ = ["is_available", "device_count", "current_device", "synchronize", "get_device_name"]


def is_available() -> bool:
    """Whether a GPU can hold tensors (CuPy installed and at least one NVIDIA GPU visible)."""
    return num_gpus() > 0


def device_count() -> int:
    """Number of visible NVIDIA GPUs."""
    return num_gpus()


def current_device() -> int:
    """The index tensors go to with ``device='cuda'``: always 0 here."""
    return 0


def synchronize(device: object = None) -> None:
    """Wait for the GPU's queued work (a no-op without one)."""
    synchronize_gpu()


def get_device_name(device: object = None) -> str:
    """The GPU's name, as the CUDA runtime reports it."""
    return gpu_name(device if isinstance(device, int) else getattr(device, "index", None) or 0)
