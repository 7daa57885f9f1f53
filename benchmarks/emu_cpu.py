"""CPU emulator throughput: LUT GEMM/conv (numba, parallel), bit-linear GEMM/conv (torch fp32),
torch._int_mm and fp32 matmul/conv2d baselines, at small ViT-S / ResNet-50 shapes; prints a
Markdown table (TMAC/s). Usage: .venv/bin/python benchmarks/emu_cpu.py [--reps 3]
"""

import argparse
import os
import platform

import numba
import torch
from emu_bench import conv_rows, gemm_rows, print_table, vit_forward_row

GEMMS = [("ViT-S qkv  197x384x1152 x1", 197, 384, 1152),
         ("ViT-S fc2  197x1536x384 x1", 197, 1536, 384)]
CONVS = [("R50 conv2_x 3x3 64->64 56x56 x1", 1, 64, 56, 56, 64, 3, 1, 1),
         ("R50 conv4_x 1x1 1024->256 14x14 x1", 1, 1024, 14, 14, 256, 1, 1, 0)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--vit-batch", type=int, default=1, help="0 skips the end-to-end ViT-S row")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="torch and numba threads (1 gives steadier numbers on a loaded machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, load {os.getloadavg()[0]:.1f}")
    print_table("axhw.emu on CPU",
                gemm_rows(GEMMS, "cpu", args.reps) + conv_rows(CONVS, "cpu", args.reps))
    if args.vit_batch:  # printed separately: the kernel table above survives a failure here
        print_table("end-to-end", vit_forward_row(args.vit_batch, "cpu", 1))


if __name__ == "__main__":
    main()
