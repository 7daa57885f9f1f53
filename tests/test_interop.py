"""Exports the peer tools read: each peer's own index expression (a few lines each, from its
source) applied to axhw's file gives the design's product, bit for bit, for an asymmetric signed
and an asymmetric unsigned design; TFApprox's shipped tables are reproduced byte for byte from the
EvoApproxLib circuits; formats that cannot hold a design refuse it; the C header carries
EvoApproxLib's lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError
from axhw.ppa.export import evoapprox_metric_lines, export_text
from axhw.gen.families import make
from axhw.design.golden import all_pairs
from axhw.design.external import load_external
from axhw.measure.lut import design_lut, lut_file_content, write_lut
from axhw.measure.metrics import design_metrics
from conftest import ROOT, assert_one_line_error

EVOAPPROX = ROOT / "benchmarks" / "data" / "evoapprox"  # the repository's copy of the circuits


def shared_dir() -> Path | None:
    """The reference folder beside the checkout (CI: ../shared; a worktree: further up), or
    $AXHW_SHARED_DIR."""
    candidates = ([Path(os.environ["AXHW_SHARED_DIR"])] if os.environ.get("AXHW_SHARED_DIR")
                  else [parent / "shared" for parent in ROOT.parents])
    return next((c for c in candidates if (c / "interop" / "tfapprox").is_dir()), None)


# -- each peer's index expression; x = activation, w = weight (axhw's operands a and b) -------
def code(v):
    return np.asarray(v) & 0xFF  # uint8 cast of an int8 operand (the raw two's-complement code)


def adapt_conv(lut, x, w):      # AdaPT / TransAxx conv GEMM and TorchApprox ApproxConv2d
    return lut[code(w), code(x)]


def adapt_linear(lut, x, w):    # their linear layers (TorchApprox: lut[uint8(a)][uint8(b)])
    return lut[code(x), code(w)]


def tfapprox_index(table, x, w):  # TFApprox: table[(activation << 8) | weight], unsigned codes
    return table[(np.asarray(x) << 8) | np.asarray(w)]


def read_header(path: Path) -> np.ndarray:
    body = re.search(r"lut \[256\]\[256\] = \{(.*)\};", path.read_text(), re.S).group(1)
    return np.array([int(v) for v in re.findall(r"-?\d+", body)], dtype=np.int64).reshape(256, 256)


def read_tfapprox(path: Path) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype="<u2").astype(np.int64)


def read_torchapprox(path: Path) -> np.ndarray:
    table = np.load(path)
    assert table.dtype == np.int32 and table.shape == (256, 256)
    return table.astype(np.int64)


# (format, --order, reader, index expression, the operands the tool feeds: signed int8?)
PEERS = {
    "transaxx-conv": ("transaxx", "b,a", read_header, adapt_conv),
    "transaxx-linear": ("transaxx", "a,b", read_header, adapt_linear),
    "torchapprox-conv": ("torchapprox", "b,a", read_torchapprox, adapt_conv),
    "torchapprox-linear": ("torchapprox", "a,b", read_torchapprox, adapt_linear),
    "tfapprox": ("tfapprox", "a,b", read_tfapprox, tfapprox_index),
}
DESIGNS = {"mul8s_perf_j0_k2": ("perforated", True, {"start": 0, "count": 2}),
           "mul8u_bam_h2_v6": ("bam", False, {"h": 2, "v": 6})}


@pytest.fixture(scope="module", params=list(DESIGNS))
def asymmetric(request, tmp_path_factory):
    family, signed, params = DESIGNS[request.param]
    d = load_design(write_design(make(family, 8, signed=signed, **params),
                                 tmp_path_factory.mktemp("d")))
    assert d.top == request.param
    lut = design_lut(d)
    assert (lut != lut.T).sum() > 50_000  # the order matters for these designs
    return d, lut


def peer_expected(d, tool_format, x, w):
    """What the peer must compute for activation x and weight w with this design."""
    if tool_format == "torchapprox" and not d.signed:  # sign-magnitude use of an unsigned design
        return np.sign(x) * np.sign(w) * d.golden(np.abs(x), np.abs(w))
    return d.golden(x, w)


@pytest.mark.parametrize("peer", list(PEERS))
def test_peer_index_expression_reads_the_product(tmp_path, asymmetric, peer):
    d, lut = asymmetric
    fmt, order, read, index = PEERS[peer]
    if fmt == "tfapprox" and d.signed:  # TFApprox reads unsigned codes: refused, no file
        with pytest.raises(AxhwError, match="unsigned multipliers only"):
            write_lut(d, lut, fmt, tmp_path / "lut.bin")
        assert not list(tmp_path.iterdir())
        return
    int8_operands = fmt == "torchapprox" or (fmt == "transaxx" and d.signed)
    x, w = all_pairs(8, 8, int8_operands)
    path = tmp_path / f"lut.{fmt}"
    allow = fmt == "transaxx"
    write_lut(d, lut, fmt, path, order=order, allow_unsigned=allow)
    table = read(path)
    np.testing.assert_array_equal(index(table, x, w), peer_expected(d, fmt, x, w))
    other = "a,b" if order == "b,a" else "b,a"  # the other order gives wrong products
    write_lut(d, lut, fmt, path, order=other, allow_unsigned=allow)
    assert (index(read(path), x, w) != peer_expected(d, fmt, x, w)).sum() > 40_000


def test_cli_order_transposes(tmp_path, asymmetric, cli):
    d, lut = asymmetric
    out = tmp_path / "conv.npy"
    proc = cli("lut", d.json_path, "--order", "b,a", "-o", out)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out), lut.T)


def test_formats_refuse_what_they_cannot_hold(tmp_path, cli):
    designs = {
        "signed": make("perforated", 8, signed=True, start=0, count=2),
        "unsigned": make("bam", 8, h=2, v=6),
        "negative": make("perforated", 8, start=1, count=1, encoding="booth"),  # out_signed
        "six_bit": make("exact", 6, signed=True),
    }
    loaded = {k: load_design(write_design(s, tmp_path)) for k, s in designs.items()}
    cases = [("signed", "tfapprox", {}, "unsigned multipliers only"),
             ("negative", "tfapprox", {}, "do not fit the tfapprox format's uint16"),
             ("unsigned", "transaxx", {}, "--allow-unsigned"),
             ("six_bit", "transaxx", {}, "8x8 multipliers only"),
             ("six_bit", "torchapprox", {}, "8x8 multipliers only"),
             ("unsigned", "npy", {"allow_unsigned": True}, "transaxx format only")]
    for name, fmt, kwargs, message in cases:
        d = loaded[name]
        with pytest.raises(AxhwError, match=re.escape(message)):
            lut_file_content(d, design_lut(d), fmt, **kwargs)
    assert lut_file_content(loaded["unsigned"], design_lut(loaded["unsigned"]), "transaxx",
                            allow_unsigned=True)
    assert lut_file_content(loaded["unsigned"], design_lut(loaded["unsigned"]), "torchapprox")
    for name, fmt, suffix in (("signed", "tfapprox", "bin"), ("unsigned", "transaxx", "h")):
        out = tmp_path / f"refused.{suffix}"
        proc = cli("lut", loaded[name].json_path, "-f", fmt, "-o", out)
        assert_one_line_error(proc)
        assert not out.exists() and not list(tmp_path.glob(".refused*"))


# -- TFApprox's own tables ---------------------------------------------------------------------
def test_tfapprox_shipped_tables_are_reproduced(tmp_path, cli):
    shared = shared_dir()
    if shared is None:
        pytest.skip("no shared/interop/tfapprox beside the checkout (set AXHW_SHARED_DIR)")
    tables = sorted((shared / "interop" / "tfapprox").glob("*.bin"))
    circuits = {b: shared / "evoapprox" / f"{b.stem}.v" for b in tables}
    circuits = {b: v for b, v in circuits.items() if v.is_file()}
    assert len(tables) == 36 and len(circuits) == 32
    differ_with_a_first = 0
    for table, verilog in circuits.items():
        d = load_external(verilog, ports="B,A,O")  # the documented flag for these circuits
        lut = design_lut(d)
        assert lut_file_content(d, lut, "tfapprox") == table.read_bytes(), table.name
        # the same bytes from the default ports with --order b,a; a,b is wrong unless symmetric
        default = load_external(verilog)
        assert lut_file_content(default, lut.T, "tfapprox", order="b,a") == table.read_bytes()
        differ_with_a_first += lut_file_content(default, lut.T, "tfapprox") != table.read_bytes()
    assert differ_with_a_first == 29
    verilog = circuits[tables[0]]
    out = tmp_path / "t.bin"
    proc = cli("lut", "--verilog", verilog, "--ports", "B,A,O", "-o", out)
    assert proc.returncode == 0 and "note" not in proc.stderr, proc.stderr
    assert out.read_bytes() == tables[0].read_bytes()


def test_port_order_note(tmp_path, cli):
    proc = cli("lut", "--verilog", EVOAPPROX / "mul8u_2AC.v", "-o", tmp_path / "l.npy")
    assert proc.returncode == 0, proc.stderr
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and "--ports B,A,O" in notes[0]
    swapped = tmp_path / "swapped.v"
    swapped.write_text("module sw(B, A, O);\n  input [3:0] B;\n  input [3:0] A;\n"
                       "  output [7:0] O;\n  assign O = A * B;\nendmodule\n")
    proc = cli("metrics", "--verilog", swapped)
    assert proc.returncode == 0 and "first input port is B" in proc.stderr, proc.stderr
    proc = cli("metrics", "--verilog", swapped, "--ports", "A,B,O")
    assert proc.returncode == 0 and "note" not in proc.stderr, proc.stderr


# -- C export ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["mul8u_1446", "mul8u_17C8", "mul8u_KEM", "mul8u_1JFF"])
def test_c_header_lines_match_evoapprox(name):
    """axhw's metric lines of an EvoApproxLib circuit equal the ones in its own header."""
    verilog = EVOAPPROX / f"{name}.v"
    want = [ln.strip() for ln in verilog.read_text().splitlines()
            if re.match(r"// (MAE|WCE|WCRE|EP|MRE|MSE)", ln)]
    d = load_external(verilog)
    assert [ln.strip() for ln in evoapprox_metric_lines(design_metrics(d), 8, 8)] == want


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_c_export_name_and_ppa_lines(tmp_path, cli):
    d = load_design(write_design(make("bam", 4, h=1, v=3), tmp_path))
    char = tmp_path / "char.json"
    proc = cli("characterize", d.json_path, "--pdk", "nangate45", "--vectors", "500", "-o", char)
    assert proc.returncode == 0, proc.stderr
    ppa = json.loads(char.read_text())
    out = tmp_path / "m.c"
    proc = cli("export", d.json_path, "-o", out, "--name", "approx_mul", "--ppa", char)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert f"// NANGATE45_PWR = {ppa['power_mw']:.3g} mW" in text
    assert f"// NANGATE45_AREA = {ppa['area_um2']:.1f} um2" in text
    assert re.search(r"^// MAE% = [\d.e-]+ %$", text, re.M) and "approx_mul(" in text
    (tmp_path / "main.c").write_text(f'#include <stdio.h>\n{text}\nint main(void) {{\n'
                                     '  for (int a = 0; a < 16; a++) for (int b = 0; b < 16; b++)\n'
                                     '    printf("%d\\n", (int)approx_mul(a, b));\n  return 0; }\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-o", str(tmp_path / "main"),
                    str(tmp_path / "main.c")], check=True)
    got = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True,
                         check=True).stdout.split()
    np.testing.assert_array_equal(np.array(got, dtype=np.int64), design_lut(d).ravel())
    assert "NANGATE45" not in export_text(d, "c")  # the PPA lines come only from --ppa
    other = load_design(write_design(make("exact", 4), tmp_path))
    for args, message in ((["--name", "2x"], "not a C/Python identifier"),
                          (["--name", "double"], "not a C/Python identifier"),  # a C keyword
                          (["--ppa", char], "characterizes mul4u_bam_h1_v3")):
        proc = cli("export", other.json_path, "-o", tmp_path / "x.c", *args)
        assert_one_line_error(proc)
        assert message in proc.stderr and not (tmp_path / "x.c").exists()
