"""Product LUTs: RTL == golden model for several families, file formats round-trip, cache,
golden-mismatch detection, cocotb cross-check."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from axhw.design.record import load_design, write_design
from axhw.infra.errors import AxhwError, VerificationFailed
from axhw.gen.families import make
from axhw.infra.fileio import cache_root
from axhw.design.golden import all_pairs, golden_lut
from axhw.measure.lut import _cache_key, design_lut, write_lut
from conftest import requires_icarus

FAMILIES = [
    ("exact", 8, False, {}),
    ("perforated", 8, True, {"start": 1, "count": 2}),
    ("perforated", 8, False, {"start": 1, "count": 2, "encoding": "booth"}),  # wide signed port
    ("truncated", 8, False, {"mode": "column", "cut": 5}),
    ("truncated", 8, False, {"mode": "cct", "out_bits": 8, "guard": 3}),      # fixed width
    ("bam", 8, False, {"h": 2, "v": 6}),
    ("exact", 6, True, {"encoding": "booth"}),
    ("rounded", 8, False, {"mode": "roba"}),
    ("roup", 8, True, {"perforate": 1, "round": 4}),
    ("masked", 6, False, {"drop_columns": (0, 1), "compensation": "constant"}),
]


def design(tmp_path, family, bits=8, signed=False, bits_b=None, **params):
    return load_design(write_design(make(family, bits, bits_b, signed=signed, **params), tmp_path))


@pytest.mark.parametrize("family,bits,signed,params", FAMILIES)
def test_lut_equals_golden(tmp_path, family, bits, signed, params):
    d = design(tmp_path, family, bits, signed, **params)
    lut = design_lut(d, use_cache=False)
    assert lut.shape == (1 << bits, 1 << bits) and lut.dtype == np.int64
    np.testing.assert_array_equal(lut, golden_lut(d.spec) << d.out_shift)
    np.testing.assert_array_equal(design_lut(d), lut)  # from the cache now


def test_asymmetric_widths(tmp_path):
    d = design(tmp_path, "perforated", 7, True, bits_b=5, start=0, count=2)
    lut = design_lut(d, use_cache=False)
    A, B = all_pairs(7, 5, True)
    assert lut.shape == (128, 32)
    np.testing.assert_array_equal(lut.ravel(), A * (B - (B & 3)))


def test_golden_mismatch_is_an_error(tmp_path):
    """Break one gate of the generated RTL: the LUT check must catch it."""
    d = design(tmp_path, "perforated", 6, start=1, count=2)
    text = d.verilog_path.read_text()
    broken = text.replace("wire pp_r0_a2 = a[2] & b[0];", "wire pp_r0_a2 = a[2] | b[0];")
    assert broken != text
    d.verilog_path.write_text(broken)
    with pytest.raises(VerificationFailed, match="differs from the golden model"):
        design_lut(d)


def test_too_wide_for_a_lut(tmp_path):
    with pytest.raises(AxhwError, match="at most 16 input bits"):
        design_lut(design(tmp_path, "exact", 9))


@requires_icarus
def test_cocotb_source_agrees_with_netsim(tmp_path):
    d = design(tmp_path, "perforated", 4, True, start=0, count=2)
    np.testing.assert_array_equal(design_lut(d, sim="icarus", use_cache=False),
                                  design_lut(d, sim="netsim", use_cache=False))


@pytest.fixture(scope="module")
def signed8(tmp_path_factory):
    d = design(tmp_path_factory.mktemp("s8"), "perforated", 8, True, start=0, count=1,
               encoding="booth")
    return d, design_lut(d)


def test_npy_round_trip(tmp_path, signed8):
    d, lut = signed8
    write_lut(d, lut, "npy", tmp_path / "l.npy")
    back = np.load(tmp_path / "l.npy")
    assert back.dtype == np.int32 and back.shape == (256, 256)
    np.testing.assert_array_equal(back, lut)
    assert back[0xFF, 0xFE] == d.golden(np.array([-1]), np.array([-2]))[0]


def test_tfapprox_round_trip(tmp_path):
    d = design(tmp_path, "bam", 8, h=2, v=6)
    lut = design_lut(d)
    write_lut(d, lut, "tfapprox", tmp_path / "l.bin")
    raw = (tmp_path / "l.bin").read_bytes()
    assert len(raw) == 2 * 65536
    table = np.frombuffer(raw, dtype="<u2")
    a, b = 0x85, 0x7F
    assert table[(a << 8) | b] == int(lut[a, b])
    np.testing.assert_array_equal(table.astype(np.int64), lut.ravel())


def parse_header(text: str) -> tuple[str, np.ndarray]:
    m = re.search(r"const __device__ (\w+) lut \[(\d+)\]\[(\d+)\] = \{(.*)\};", text, re.S)
    rows, cols = int(m.group(2)), int(m.group(3))
    values = np.array([int(x) for x in re.findall(r"-?\d+", m.group(4))], dtype=np.int64)
    return m.group(1), values.reshape(rows, cols)


def test_transaxx_round_trip(tmp_path, signed8):
    d, lut = signed8
    write_lut(d, lut, "transaxx", tmp_path / "mul.h")
    ctype, back = parse_header((tmp_path / "mul.h").read_text())
    assert ctype == "int16_t"
    np.testing.assert_array_equal(back, lut)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
def test_transaxx_header_compiles_in_c(tmp_path, signed8):
    d, lut = signed8
    write_lut(d, lut, "transaxx", tmp_path / "mul.h")
    (tmp_path / "t.c").write_text('#include <stdio.h>\n#include "mul.h"\nint main(void){\n'
                                  'long s = 0; for (int a = 0; a < 256; a++) for (int b = 0; b < 256; b++)'
                                  ' s += (long)(a + 3 * b) * lut[a][b];\n'
                                  'printf("%ld %d\\n", s, lut[255][254]); return 0; }\n')
    subprocess.run(["cc", "-O1", "-o", str(tmp_path / "t"), str(tmp_path / "t.c")], check=True)
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, text=True, check=True).stdout
    idx = np.add.outer(np.arange(256), 3 * np.arange(256))
    assert out.split() == [str(int((idx * lut).sum())), str(int(lut[255, 254]))]


def test_csv_round_trip(tmp_path, signed8):
    d, lut = signed8
    write_lut(d, lut, "csv", tmp_path / "l.csv")
    df = pd.read_csv(tmp_path / "l.csv")
    assert list(df.columns) == ["a", "b", "p"] and len(df) == 65536
    A, B = all_pairs(8, 8, True)
    np.testing.assert_array_equal(df["a"], A)
    np.testing.assert_array_equal(df["b"], B)
    np.testing.assert_array_equal(df["p"], lut.ravel())
    np.testing.assert_array_equal(df["p"], d.golden(A, B))


def test_unsigned_header_uses_wider_type(tmp_path):
    d = design(tmp_path, "perforated", 8, start=1, count=1)
    write_lut(d, design_lut(d), "transaxx", tmp_path / "u.h", allow_unsigned=True)
    ctype, back = parse_header((tmp_path / "u.h").read_text())
    assert ctype == "int32_t" and back[255, 255] == 255 * (255 - 2)


def test_cache_file_is_used(tmp_path):
    d = design(tmp_path, "perforated", 6, start=2, count=2)
    first = design_lut(d, use_cache=False)
    cached = cache_root() / "lut" / f"{_cache_key(d, 'netsim')}.npy"
    np.testing.assert_array_equal(np.load(cached), first)
    np.save(cached, np.zeros_like(first))  # a planted cache entry is what design_lut returns
    assert not design_lut(d).any()
    np.testing.assert_array_equal(design_lut(d, use_cache=False), first)
