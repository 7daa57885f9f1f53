"""Product LUTs: the design's RTL simulated on every input pair.

``design_lut(design)`` returns an int64 array ``[a_raw, b_raw]`` (raw bit patterns index it, as in
:mod:`axhw.design.golden`) holding the **product-scale** value of each pair: the output port read as two's
complement when ``out_signed``, shifted left by ``design.out_shift`` (fixed-width designs hold the
product's high bits). It comes from the gate-level evaluator :mod:`axhw.sim.netsim` (or cocotb on
Icarus/Verilator, ``sim=``), is checked against the golden model for axhw designs (a mismatch is
an error) and cached by the content hash of the Verilog under ``<cache>/lut``.

``write_lut(design, lut, fmt, path, order="a,b", allow_unsigned=False)`` writes one of FORMATS
atomically, first index the operand `order` names, and refuses (one line) a design the format
cannot hold; see docs/lut-metrics.md for each peer tool's index expression.
"""

from __future__ import annotations

import io
import json

import numpy as np

from ..design.record import Design
from ..infra.errors import AxhwError, VerificationFailed
from ..infra.cache import Cache
from ..infra.fileio import atomic_path, format_from_suffix, write_bytes, write_text
from ..design.golden import all_pairs, golden_lut, port_value, to_raw, to_value
from ..design.kinds import kind_of

__all__ = ["MAX_LUT_BITS", "SOURCES", "FORMATS", "design_lut", "multiplier_lut", "format_for",
           "write_lut", "ORDERS"]

MAX_LUT_BITS = 16           # bits_a + bits_b: 65536 entries
SOURCES = ("netsim", "icarus", "verilator")
FORMATS = ("npy", "tfapprox", "transaxx", "torchapprox", "csv")
SUFFIX_FORMAT = {".npy": "npy", ".bin": "tfapprox", ".h": "transaxx", ".csv": "csv"}
LUTS = Cache("lut")


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
    path = LUTS.path(_cache_key(design, sim), ".npy")
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
    fields = [sim, design.verilog_path.read_text(errors="replace"), design.top,
              ",".join(design.ports), design.bits_a, design.bits_b, design.out_bits,
              design.out_signed, design.out_shift]
    if design.spec is not None:  # the golden check depends on the parameters too
        fields.append(json.dumps(design.params, sort_keys=True) + design.family)
    return LUTS.key(*fields)


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
# Each peer tool's index expression and the --order that feeds it (docs/lut-metrics.md): axhw's
# operand a is the activation, b the weight (its emulator indexes lut[x, w]).
ORDERS = ("a,b", "b,a")
PEER_256_FORMATS = ("tfapprox", "transaxx", "torchapprox")  # tools that index 256x256 tables only


def format_for(path, fmt: str | None) -> str:
    """The LUT format from --format and the suffix of `path` (see fileio.format_from_suffix);
    torchapprox tables are .npy files too."""
    suffixes = {**SUFFIX_FORMAT, ".npy": "torchapprox"} if fmt == "torchapprox" else SUFFIX_FORMAT
    return format_from_suffix(path, fmt, FORMATS, suffixes, "LUT")


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise AxhwError(f"--order {order!r}: expected one of {', '.join(ORDERS)}")
    return order


def lut_file_content(design: Design, lut: np.ndarray, fmt: str, order: str = "a,b",
                     allow_unsigned: bool = False) -> bytes | str:
    """The file `fmt` holds for `lut` (from design_lut), first index the operand `order` names;
    a design the format cannot hold is refused (AxhwError) before anything is written."""
    order = check_order(order)
    if fmt not in FORMATS:
        raise AxhwError(f"unknown LUT format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if allow_unsigned and fmt != "transaxx":
        raise AxhwError(f"--allow-unsigned applies to the transaxx format only, not {fmt}")
    if fmt in PEER_256_FORMATS:
        check_peer_fit(design, lut, fmt, allow_unsigned)
    if fmt == "torchapprox":
        lut = torchapprox_table(design, lut)
    table = lut if order == "a,b" else lut.T
    if fmt in ("npy", "torchapprox"):  # TorchApprox's kernels read an int32 table
        dtype = np.int32 if fmt == "torchapprox" else _smallest_int(table, (np.int32, np.int64))
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(table, dtype=dtype))
        return buf.getvalue()
    if fmt == "tfapprox":
        return np.ascontiguousarray(table, dtype="<u2").tobytes()
    if fmt == "transaxx":
        return transaxx_header(design, table, order)
    return csv_text(design, lut, order)


def write_lut(design: Design, lut: np.ndarray, fmt: str, path, order: str = "a,b",
              allow_unsigned: bool = False) -> None:
    """Write `lut` (from design_lut) in `fmt` to `path`, atomically (see lut_file_content)."""
    content = lut_file_content(design, lut, fmt, order, allow_unsigned)
    (write_bytes if isinstance(content, bytes) else write_text)(path, content)


def check_peer_fit(design: Design, lut: np.ndarray, fmt: str, allow_unsigned: bool) -> None:
    """Refuse what a peer tool's table cannot hold: it indexes 256x256 (8-bit codes); TFApprox
    reads unsigned operands and uint16 products; TransAxx/AdaPT quantize to signed int8."""
    if (design.bits_a, design.bits_b) != (8, 8):
        raise AxhwError(f"{design.top}: the {fmt} format holds 8x8 multipliers only "
                        f"({design.bits_a}x{design.bits_b} given): its tool indexes a 256x256 "
                        "table by 8-bit codes")
    if fmt == "tfapprox":
        if design.signed:
            raise AxhwError(f"{design.top}: the tfapprox format holds unsigned multipliers only "
                            "(TFApprox indexes unsigned 8-bit codes): use torchapprox or "
                            "transaxx for a signed design")
        lo, hi = int(lut.min()), int(lut.max())
        if lo < 0 or hi > 0xFFFF:
            raise AxhwError(f"{design.top}: products from {lo} to {hi} do not fit the tfapprox "
                            "format's uint16 entries")
    if fmt == "transaxx" and not design.signed and not allow_unsigned:
        raise AxhwError(f"{design.top} is unsigned but TransAxx and AdaPT quantize operands to "
                        "signed int8: --allow-unsigned writes its table anyway")


def torchapprox_table(design: Design, lut: np.ndarray) -> np.ndarray:
    """TorchApprox's table ``[uint8(a)][uint8(b)]`` of int8 operands: a signed design's LUT as
    is; an unsigned design in sign-magnitude, sign(a)·sign(b)·mul(|a|, |b|) (|-128| = 128)."""
    if design.signed:
        return lut
    values = to_value(np.arange(256), 8, True)
    magnitude, sign = np.abs(values), np.sign(values)
    return np.outer(sign, sign) * lut[np.ix_(magnitude, magnitude)]


def _smallest_int(lut: np.ndarray, types) -> type:
    lo, hi = int(lut.min()), int(lut.max())
    for t in types:
        if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
            return t
    return types[-1]


C_TYPES = ((np.int16, "int16_t"), (np.int32, "int32_t"), (np.int64, "int64_t"))


def transaxx_header(design: Design, table: np.ndarray, order: str = "a,b") -> str:
    """TransAxx/AdaPT-style C header: ``const __device__ <intN_t> lut[256][256]``, indexed by the
    operands' raw bit patterns in `order` (for signed 8-bit, index 255 is -1), values = products."""
    ctype = dict((t, name) for t, name in C_TYPES)[_smallest_int(table, [t for t, _ in C_TYPES])]
    guard = "_" + "".join(c if c.isalnum() else "_" for c in design.top.upper()) + "_H"
    first, second = order.split(",")
    rows = ",\n".join("{" + ", ".join(map(str, row)) + "}" for row in table.tolist())
    return (f"/* {design.top}: {design.bits_a}x{design.bits_b} "
            f"{'signed' if design.signed else 'unsigned'} product LUT, generated by axhw.\n"
            f"   lut[{first}][{second}]: a, b = operand raw bit patterns; value = product"
            f"{' (two' + chr(39) + 's complement operands)' if design.signed else ''}. */\n"
            f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
            "#ifndef __CUDACC__\n#define __device__\n#endif\n\n"
            f"const __device__ {ctype} lut [{table.shape[0]}][{table.shape[1]}] = {{\n{rows}}};\n\n"
            f"#endif /* {guard} */\n")


def csv_text(design: Design, lut: np.ndarray, order: str = "a,b") -> str:
    """Rows ``a,b,p`` (``b,a,p`` in order b,a) of operand values (two's complement when signed)
    and products, in the order's pair-index order."""
    A, B = all_pairs(design.bits_a, design.bits_b, design.signed)
    columns = {"a": A, "b": B}
    first, second = order.split(",")
    table = np.column_stack([columns[first], columns[second], lut.reshape(-1)])
    if order == "b,a":  # b-major: the same rows, sorted by (b, a) raw index
        shape = (1 << design.bits_a, 1 << design.bits_b)
        table = table.reshape(*shape, 3).transpose(1, 0, 2).reshape(-1, 3)
    buf = io.StringIO()
    buf.write(f"{first},{second},p\n")
    np.savetxt(buf, table, fmt="%d", delimiter=",")
    return buf.getvalue()
