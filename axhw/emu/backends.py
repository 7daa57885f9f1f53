"""Backend choice: "cpu" (numba) or "cuda" (numba-cuda, optional), and the CUDA module loader."""

from __future__ import annotations

import functools

from ..infra.errors import AxhwError
from . import arrays

__all__ = ["BACKENDS", "choose_backend", "cuda_module", "gpu_present"]

BACKENDS = ("cpu", "cuda")


def cuda_module():
    """The CUDA kernels module, or a one-line AxhwError saying why it cannot be used."""
    try:
        from . import cuda_kernels
    except ImportError as exc:
        raise AxhwError(f"backend 'cuda' needs numba-cuda (pip install 'axhw[cuda]'): "
                        f"{exc}") from None
    if not cuda_kernels.cuda.is_available():
        raise AxhwError("backend 'cuda' requested but no CUDA GPU is available "
                        "(set NUMBA_ENABLE_CUDASIM=1 to run the kernels in the simulator)")
    return cuda_kernels


def choose_backend(backend: str | None, *xs) -> str:
    """Explicit choice wins; else CUDA when an input lives on the GPU or a real GPU is present."""
    if backend is not None:
        if backend not in BACKENDS:
            raise AxhwError(f"backend={backend!r} is not valid: choose one of "
                            f"{', '.join(BACKENDS)}")
        return backend
    if any(arrays.on_gpu(x) for x in xs):
        return "cuda"
    return "cuda" if gpu_present() else "cpu"


@functools.cache
def gpu_present() -> bool:
    """A real GPU (never the simulator, which is for tests only)."""
    try:
        from numba import config
        from . import cuda_kernels
    except ImportError:
        return False
    return not config.ENABLE_CUDASIM and cuda_kernels.cuda.is_available()
