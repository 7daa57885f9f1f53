"""Product LUTs: the design's RTL simulated on every input pair.

``design_lut(design)`` returns an int64 array ``[a_raw, b_raw]`` (raw bit patterns index it, as in
:mod:`axhw.design.golden`) holding the **product-scale** value of each pair: the output port read as two's
complement when ``out_signed``, shifted left by ``design.out_shift`` (fixed-width designs hold the
product's high bits). It comes from the gate-level evaluator :mod:`axhw.sim.netsim` (or cocotb on
Icarus/Verilator, ``sim=``), is checked against the golden model for axhw designs (a mismatch is
an error) and cached by the content hash of the Verilog under ``<cache>/lut``.

``write_lut(design, lut, fmt, path)`` writes one of FORMATS atomically; see docs/lut-metrics.md.
"""

from __future__ import annotations

import io
import json

import numpy as np

from ..design.kinds import kind_of
from ..design.record import Design
from ..infra.errors import AxhwError, VerificationFailed
from ..infra.fileio import (atomic_path, cache_root, format_from_suffix, sha256_text, write_bytes,
                            write_text)
from ..design.golden import all_pairs, golden_lut, port_value, to_raw

__all__ = ["MAX_LUT_BITS", "SOURCES", "FORMATS", "design_lut", "multiplier_lut", "format_for",
           "write_lut"]

MAX_LUT_BITS = 16           # bits_a + bits_b: 65536 entries
SOURCES = ("netsim", "icarus", "verilator")
FORMATS = ("npy", "tfapprox", "transaxx", "csv")
SUFFIX_FORMAT = {".npy": "npy", ".bin": "tfapprox", ".h": "transaxx", ".csv": "csv"}
LUT_CACHE_VERSION = "1"     # bump when the cached array's meaning changes


def check_lut_size(design: Design) -> None:
    if design.bits_a + design.bits_b > MAX_LUT_BITS:
        raise AxhwError(f"{design.top}: a LUT covers at most {MAX_LUT_BITS} input bits "
                        f"({design.bits_a}+{design.bits_b} given)")


def design_lut(design: Design, sim: str = "netsim", use_cache: bool = True) -> np.ndarray:
    """Product-scale LUT ``[a_raw, b_raw]`` (int64) of the design's RTL (see module doc), by the
    hook of the design's kind (:mod:`axhw.design.kinds`)."""
    return kind_of(design).call("lut", design, sim, use_cache)


def multiplier_lut(design: Design, sim: str, use_cache: bool) -> np.ndarray:
    """The `lut` hook of a multiplier: every pair simulated, checked against the golden model."""
    check_lut_size(design)
    if sim not in SOURCES:
        raise AxhwError(f"unknown LUT source {sim!r}: choose one of {', '.join(SOURCES)}")
    path = cache_root() / "lut" / f"{_cache_key(design, sim)}.npy"
    if use_cache and path.is_file():
        return np.load(path)
    raw = simulate_all_pairs(design, sim)
    ports = port_value(raw, design.out_bits, design.out_signed)
    if design.spec is not None:
        check_against_golden(design, ports)
    lut = (ports << design.out_shift).reshape(1 << design.bits_a, 1 << design.bits_b)
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, lut)
    return lut


def _cache_key(design: Design, sim: str) -> str:
    fields = [LUT_CACHE_VERSION, sim, design.verilog_path.read_text(errors="replace"), design.top,
              ",".join(design.ports), design.bits_a, design.bits_b, design.out_bits,
              design.out_signed, design.out_shift]
    if design.spec is not None:  # the golden check depends on the parameters too
        fields.append(json.dumps(design.params, sort_keys=True) + design.family)
    return sha256_text("\0".join(map(str, fields)))[:32]


def simulate_all_pairs(design: Design, sim: str = "netsim") -> np.ndarray:
    """Raw output words for every pair index ``a_raw << bits_b | b_raw`` (int64)."""
    index = np.arange(1 << (design.bits_a + design.bits_b), dtype=np.int64)
    if sim == "netsim":
        from ..sim.netsim import simulate_pairs  # noqa: PLC0415 - Yosys only when needed

        return simulate_pairs(design.verilog_path, design.top, design.ports, design.bits_a,
                              design.bits_b, design.out_bits, index)
    from ..sim.cocotb_run import run_pairs  # noqa: PLC0415

    result = run_pairs(sim, design.top, design.verilog_path, design.ports, design.bits_a,
                       design.bits_b, design.out_bits, index)
    if result.get("unknown_outputs"):
        raise AxhwError(f"{design.top}: {sim} produced {result['unknown_outputs']} X/Z outputs")
    return np.asarray(result["outputs"], dtype=np.int64)


def check_against_golden(design: Design, ports: np.ndarray) -> None:
    """RTL port values == golden model (mod 2^out_bits) on every pair, else VerificationFailed."""
    golden = port_value(to_raw(golden_lut(design.spec).ravel(), design.out_bits),
                        design.out_bits, design.out_signed)
    bad = np.flatnonzero(golden != ports)
    if len(bad):
        i = int(bad[0])
        A, B = all_pairs(design.bits_a, design.bits_b, design.signed)
        raise VerificationFailed(f"{design.top}: RTL LUT differs from the golden model on "
                                 f"{len(bad)} pairs (first: a={A[i]} b={B[i]} golden={golden[i]} "
                                 f"rtl={ports[i]})")


# -- file formats ----------------------------------------------------------------------------
def format_for(path, fmt: str | None) -> str:
    """The LUT format from --format and the suffix of `path` (see fileio.format_from_suffix)."""
    return format_from_suffix(path, fmt, FORMATS, SUFFIX_FORMAT, "LUT")


def write_lut(design: Design, lut: np.ndarray, fmt: str, path) -> None:
    """Write `lut` (from design_lut) in `fmt` to `path`, atomically."""
    if fmt == "npy":
        buf = io.BytesIO()
        np.save(buf, lut.astype(_smallest_int(lut, (np.int32, np.int64))))
        write_bytes(path, buf.getvalue())
    elif fmt == "tfapprox":
        write_bytes(path, tfapprox_bytes(design, lut))
    elif fmt == "transaxx":
        write_text(path, transaxx_header(design, lut))
    elif fmt == "csv":
        write_text(path, csv_text(design, lut))
    else:
        raise AxhwError(f"unknown LUT format {fmt!r}: choose one of {', '.join(FORMATS)}")


def _smallest_int(lut: np.ndarray, types) -> type:
    lo, hi = int(lut.min()), int(lut.max())
    for t in types:
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return types[-1]


def tfapprox_bytes(design: Design, lut: np.ndarray) -> bytes:
    """TFApprox table: 2^16 little-endian uint16, entry (a_raw << 8) | b_raw = product mod 2^16."""
    if (design.bits_a, design.bits_b) != (8, 8):
        raise AxhwError(f"{design.top}: the tfapprox format holds 8x8 multipliers only "
                        f"({design.bits_a}x{design.bits_b} given)")
    return (lut.reshape(-1) & 0xFFFF).astype("<u2").tobytes()


C_TYPES = ((np.int16, "int16_t"), (np.int32, "int32_t"), (np.int64, "int64_t"))


def transaxx_header(design: Design, lut: np.ndarray) -> str:
    """TransAxx/AdaPT-style C header: ``const __device__ <intN_t> lut[2^ba][2^bb]``, indexed by the
    operands' raw bit patterns (for signed 8-bit, row 255 is a = -1), values = products."""
    ctype = dict((t, name) for t, name in C_TYPES)[_smallest_int(lut, [t for t, _ in C_TYPES])]
    guard = "_" + "".join(c if c.isalnum() else "_" for c in design.top.upper()) + "_H"
    rows = ",\n".join("{" + ", ".join(map(str, row)) + "}" for row in lut.tolist())
    return (f"/* {design.top}: {design.bits_a}x{design.bits_b} "
            f"{'signed' if design.signed else 'unsigned'} product LUT, generated by axhw.\n"
            f"   lut[a][b]: a, b = operand raw bit patterns; value = product"
            f"{' (two' + chr(39) + 's complement operands)' if design.signed else ''}. */\n"
            f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
            "#ifndef __CUDACC__\n#define __device__\n#endif\n\n"
            f"const __device__ {ctype} lut [{lut.shape[0]}][{lut.shape[1]}] = {{\n{rows}}};\n\n"
            f"#endif /* {guard} */\n")


def csv_text(design: Design, lut: np.ndarray) -> str:
    """Rows ``a,b,p`` of operand values (two's complement when signed) and products."""
    A, B = all_pairs(design.bits_a, design.bits_b, design.signed)
    table = np.column_stack([A, B, lut.reshape(-1)])
    buf = io.StringIO()
    buf.write("a,b,p\n")
    np.savetxt(buf, table, fmt="%d", delimiter=",")
    return buf.getvalue()

