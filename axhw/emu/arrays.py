"""Array interop for the emulator: numpy, torch (CPU or CUDA) and CUDA-array-interface objects.

Inputs are inspected, never copied when avoidable: torch CPU tensors are viewed as numpy arrays,
GPU tensors/arrays are handed to numba-cuda through ``__cuda_array_interface__`` (zero copy).
Results come back in the caller's kind: numpy -> numpy, torch -> torch on the same device,
other GPU arrays -> numba device arrays (cupy reads them with ``cupy.asarray``).
"""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError

__all__ = ["dtype_of", "from_host", "is_torch", "kind_of", "on_gpu", "require_int", "shape_of",
           "to_host", "wrap_device"]


def is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def on_gpu(x) -> bool:
    """True for torch CUDA tensors and any object exposing ``__cuda_array_interface__``."""
    if is_torch(x):
        return x.device.type == "cuda"
    return hasattr(x, "__cuda_array_interface__")


def kind_of(*xs) -> str:
    """'torch' if any input is a torch tensor, else 'device' for other GPU arrays, else 'numpy'."""
    if any(is_torch(x) for x in xs):
        return "torch"
    if any(on_gpu(x) for x in xs):
        return "device"
    return "numpy"


def dtype_of(x) -> np.dtype:
    if is_torch(x):
        import torch

        if x.dtype == torch.bool:
            return np.dtype(bool)
        if x.is_complex() or x.is_floating_point():
            return np.dtype("float64") if x.is_floating_point() else np.dtype("complex128")
        return np.dtype(str(x.dtype).removeprefix("torch."))
    if hasattr(x, "dtype"):
        return np.dtype(x.dtype)
    return np.asarray(x).dtype


def shape_of(x) -> tuple[int, ...]:
    return tuple(int(s) for s in (x.shape if hasattr(x, "shape") else np.shape(x)))


def require_int(name: str, x) -> None:
    dt = dtype_of(x)
    if dt.kind not in "iu":
        raise AxhwError(f"{name} must hold integer raw codes (got dtype {dt})")


def to_host(x) -> np.ndarray:
    """A numpy view (torch CPU, numpy, lists) or a host copy (GPU arrays)."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    if hasattr(x, "copy_to_host"):
        return x.copy_to_host()
    if hasattr(x, "get") and on_gpu(x):  # cupy
        return x.get()
    return np.asarray(x)


def from_host(result: np.ndarray, like_kind: str, like=None):
    """Return a host result in the caller's array kind."""
    if like_kind == "torch":
        import torch

        out = torch.from_numpy(np.ascontiguousarray(result))
        return out.to(like.device) if like is not None and like.device.type != "cpu" else out
    if like_kind == "device":
        from numba import cuda

        return cuda.to_device(result)
    return result


def wrap_device(out, like_kind: str, like=None):
    """Return a numba device result in the caller's kind (torch: zero-copy view on the GPU)."""
    if like_kind == "torch":
        import torch

        if like.device.type == "cuda":
            return torch.as_tensor(out, device=like.device)
        return torch.from_numpy(out.copy_to_host())
    if like_kind == "device":
        return out
    return out.copy_to_host()
