"""GPU emulator throughput (TMAC/s): LUT GEMM and LUT conv (numba-cuda kernels), the bit-linear
tensor-core path, and in the same run torch._int_mm int8 and fp16 matmul/conv2d, at ViT-S shapes
(197x384x1152 and 197x1536x384, batch 64) and ResNet-50 conv shapes (batch 32), plus one
end-to-end ViT-S forward through axhw.torch.

Targets on an H100: LUT GEMM >= 5 TMAC/s, bit-linear >= 40 TMAC/s.

Environment: numba-cuda (``pip install 'axhw[cuda]'``) and a CUDA build of torch. Keep numpy<2.5:
numba-cuda 0.30.4 does not work with numpy 2.5 (``pip install 'numpy<2.5'`` if the image has 2.5).
Usage: python benchmarks/emu_gpu.py [--reps 5] [--vit-batch 64]
Exits non-zero with a one-line message when no GPU is usable.
"""

import argparse
import sys

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--vit-batch", type=int, default=64, help="0 skips the end-to-end ViT-S row")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("emu_gpu.py: no CUDA GPU visible to torch (run benchmarks/emu_cpu.py instead)")
    try:
        from numba import config, cuda
    except ImportError as exc:
        sys.exit(f"emu_gpu.py: numba-cuda is not importable ({exc}); pip install 'axhw[cuda]'")
    if config.ENABLE_CUDASIM or not cuda.is_available():
        sys.exit("emu_gpu.py: numba-cuda sees no GPU (or NUMBA_ENABLE_CUDASIM is set)")
    from emu_bench import (RESNET_CONVS, VIT_GEMMS, conv_rows, gemm_rows, print_table,
                           vit_forward_row)

    dev = torch.cuda.get_device_name()
    print(f"device: {dev}, torch {torch.__version__}, numba-cuda {_numba_cuda_version()}")
    rows = gemm_rows(VIT_GEMMS, "cuda", args.reps) + conv_rows(RESNET_CONVS, "cuda", args.reps)
    print_table(f"axhw.emu on {dev}", rows)
    if args.vit_batch:  # printed separately: the kernel table above survives a failure here
        print_table("end-to-end", vit_forward_row(args.vit_batch, "cuda", args.reps))


def _numba_cuda_version() -> str:
    try:
        from importlib.metadata import version

        return version("numba-cuda")
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
