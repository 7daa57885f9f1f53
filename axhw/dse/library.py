"""The multiplier library of a search: the rows of an `axhw sweep` table (Parquet or CSV) on one PDK.

Each usable row (status ok, square n x n with 2 <= n <= 8, power and clock known) becomes a
:class:`LibraryDesign`; energy per multiplication = power x clock period. The library must hold the
exact multiplier of the reference width (`bits`): energies are reported relative to it.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..infra.errors import AxhwError
from ..infra.fileio import read_input
from ..torch import Lut

__all__ = ["Library", "LibraryDesign", "MAX_BITS", "MAX_LUT_BYTES", "MIN_BITS", "load_library",
           "read_lut_file", "read_table"]

MIN_BITS, MAX_BITS = 2, 8  # what axhw.torch quantizes to
MAX_LUT_BYTES = 8 * 2**20  # a 256 x 256 int64 table is 512 KiB


@dataclass(frozen=True)
class LibraryDesign:
    """One multiplier of the library. `energy_pj` is the energy of one multiplication."""

    name: str
    bits: int
    signed: bool
    energy_pj: float
    family: str
    design_path: Path | None = None  # its design JSON (None: only a LUT is known)
    lut_path: Path | None = None

    def __post_init__(self):
        if not MIN_BITS <= self.bits <= MAX_BITS:
            raise AxhwError(f"design {self.name}: {self.bits}-bit operands; the emulator takes "
                            f"{MIN_BITS}..{MAX_BITS}")
        if not (math.isfinite(self.energy_pj) and self.energy_pj >= 0):
            raise AxhwError(f"design {self.name}: energy per multiply {self.energy_pj} is not valid")
        if self.design_path is None and self.lut_path is None:
            raise AxhwError(f"design {self.name}: needs a design JSON or a LUT file")

    def load_lut(self) -> Lut:
        if self.lut_path is not None and Path(self.lut_path).is_file():
            table = read_lut_file(self.lut_path)
        else:
            from ..design.record import load_design  # noqa: PLC0415
            from ..measure.lut import design_lut  # noqa: PLC0415

            table = design_lut(load_design(self.design_path))
        lut = Lut(table, self.signed, self.name)
        if lut.bits != self.bits:
            raise AxhwError(f"design {self.name}: its LUT has {lut.bits}-bit operands, the table says {self.bits}")
        return lut


def read_lut_file(path: Path) -> np.ndarray:
    """A product table [a_raw][b_raw] from a .npy file: square, 2^n x 2^n (n = 2..8), integer."""
    try:
        table = np.load(io.BytesIO(read_input(path, "LUT file", MAX_LUT_BYTES)), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise AxhwError(f"cannot read LUT {path}: not a .npy array ({str(exc).splitlines()[0][:80]})") from None
    n = table.shape[0] if table.ndim == 2 else 0
    if not (table.ndim == 2 and table.shape == (n, n) and n & (n - 1) == 0
            and MIN_BITS <= n.bit_length() - 1 <= MAX_BITS and np.issubdtype(table.dtype, np.integer)):
        raise AxhwError(f"LUT {path}: expected an integer 2^n x 2^n table (n = {MIN_BITS}..{MAX_BITS}), "
                        f"got {table.dtype} {table.shape}")
    return table


@dataclass
class Library:
    """Designs by name, the reference width and its exact design (`reference`)."""

    designs: dict[str, LibraryDesign]
    bits: int
    pdk: str = ""
    source: str = ""
    luts: dict[str, Lut] = field(default_factory=dict, repr=False)  # filled on first use
    reference: str | None = field(init=False)  # the exact design of width `bits`

    def __post_init__(self):
        exact = [d for d in self.designs.values() if d.family == "exact" and d.bits == self.bits]
        # unsigned (sign-magnitude) first, then the cheapest: the most favourable reference
        self.reference = min(exact, key=lambda d: (d.signed, d.energy_pj)).name if exact else None

    def require_reference(self) -> str:
        if self.reference is None:
            raise AxhwError(f"library {self.source} has no exact {self.bits}-bit multiplier, the "
                            f"reference of --bits {self.bits}: add one to the sweep (type: exact)")
        return self.reference

    def restrict(self, widths) -> "Library":
        """The same library with only the designs of the given widths (the reference stays)."""
        keep = {n: d for n, d in self.designs.items() if d.bits in set(widths) or n == self.reference}
        return Library(keep, self.bits, self.pdk, self.source, dict(self.luts))

    def __getitem__(self, name: str) -> LibraryDesign:
        try:
            return self.designs[name]
        except KeyError:
            raise AxhwError(f"unknown design {name!r}: the library has {', '.join(self.designs)}") from None

    def lut(self, name: str) -> Lut:
        if name not in self.luts:
            self.luts[name] = self[name].load_lut()
        return self.luts[name]

    def add(self, design: LibraryDesign, lut: Lut | None = None) -> None:
        """Add a design (and optionally its table, e.g. one that is not a file)."""
        self.designs[design.name] = design
        if lut is not None:
            self.luts[design.name] = lut

    def energy(self, name: str) -> float:
        return self[name].energy_pj

    @property
    def reference_energy(self) -> float:
        return self.energy(self.require_reference())

    def names(self, bits: int | None = None, signed: bool | None = None) -> list[str]:
        """Design names, cheapest first, optionally of one width / signedness."""
        ds = [d for d in self.designs.values() if (bits is None or d.bits == bits)
              and (signed is None or d.signed == signed)]
        return [d.name for d in sorted(ds, key=lambda d: (d.energy_pj, d.name))]

    def exact_of(self, bits: int, signed: bool) -> Lut:
        """The exact product table of a width and signedness (the quantized baseline)."""
        from ..gen.families import make  # noqa: PLC0415
        from ..design.golden import product_lut  # noqa: PLC0415

        key = f"__exact{bits}{'s' if signed else 'u'}"
        if key not in self.luts:
            self.luts[key] = Lut(product_lut(make("exact", bits, signed=signed)), signed, key)
        return self.luts[key]


def read_table(path: str | Path):
    import pandas as pd  # noqa: PLC0415

    path = Path(path)
    if path.is_dir():  # an `axhw sweep` OUTDIR: its parquet table, else its CSV (docs/dse.md)
        tables = [path / name for name in ("results.parquet", "results.csv")]
        found = [t for t in tables if t.is_file()]
        if not found:
            raise AxhwError(f"--library {path}: the folder holds neither results.parquet nor "
                            "results.csv (give an `axhw sweep` OUTDIR or results table)")
        path = found[0]
    if not path.is_file():
        raise AxhwError(f"--library {path}: " + ("not a regular file" if path.exists() else
                        "no such file") + " (give an `axhw sweep` results table)")
    data = io.BytesIO(read_input(path, "library table"))
    try:
        df = pd.read_parquet(data) if path.suffix == ".parquet" else pd.read_csv(data)
    except Exception as exc:  # noqa: BLE001 - pyarrow/pandas raise many types
        raise AxhwError(f"cannot read library table {path}: {str(exc).splitlines()[0]}") from None
    return df, path


def load_library(table: str | Path, pdk: str | None = None, bits: int = 8) -> Library:
    """Library of the usable rows of a sweep table on `pdk` (may be omitted when there is one)."""
    if not (isinstance(bits, int) and MIN_BITS <= bits <= MAX_BITS):
        raise AxhwError(f"--bits {bits}: valid is {MIN_BITS}..{MAX_BITS}")
    df, path = read_table(table)
    need = {"top", "family", "bits_a", "bits_b", "signed", "power_mw", "clock_ns"}
    missing = sorted(need - set(df.columns))
    if missing:
        raise AxhwError(f"library {path}: not an `axhw sweep` table (no column {missing[0]})")
    if "status" in df:
        df = df[df["status"] == "ok"]
    df = _checked_rows(df, path)
    pdks = sorted(df["pdk"].dropna().unique()) if "pdk" in df else []
    if pdk is None:
        if len(pdks) > 1:
            raise AxhwError(f"library {path} covers PDKs {', '.join(pdks)}: choose one with --pdk")
        pdk = pdks[0] if pdks else ""
    elif pdk not in pdks:
        raise AxhwError(f"library {path} has no rows for PDK {pdk!r} (it has {', '.join(pdks) or 'none'})")
    else:
        df = df[df["pdk"] == pdk]
    duplicated = df["top"].duplicated()
    if duplicated.any():
        i = duplicated.idxmax()
        raise AxhwError(f"library {path}: {_row(i, df)} repeats design {df['top'][i]!r}"
                        + (f" on PDK {pdk}" if pdk else "") + ": which row holds its power is "
                        "ambiguous; keep one")
    designs: dict[str, LibraryDesign] = {}
    row_of: dict[str, str] = {}
    root = path.parent
    for i, r in zip(df.index, df.itertuples(index=False)):
        if r.bits_a != r.bits_b or not MIN_BITS <= int(r.bits_a) <= MAX_BITS:
            continue
        energy = float(r.power_mw) * float(r.clock_ns)
        if not math.isfinite(energy):
            continue
        design = root / "designs" / f"{r.top}.json"
        lut = getattr(r, "lut_path", None)
        lut = root / lut if isinstance(lut, str) and lut else None
        if not design.is_file() and lut is not None and not lut.is_file():
            raise AxhwError(f"library {path}: {_row(i, df)}: LUT {lut} not found (and no "
                            f"designs/{r.top}.json)")
        designs[str(r.top)] = LibraryDesign(
            str(r.top), int(r.bits_a), bool(r.signed), energy, str(r.family),
            design if design.is_file() else None, lut)
        row_of[str(r.top)] = _row(i, df)
    if not designs:
        raise AxhwError(f"library {path}: no usable row (status ok, 2..8-bit square, power known)")
    library = Library(designs, bits, pdk, str(path))
    reference = library.require_reference()
    if not library.reference_energy > 0:
        raise AxhwError(f"library {path}: {row_of[reference]}: the exact reference has energy "
                        f"{library.reference_energy} pJ (power_mw x clock_ns); energies are "
                        "relative to it, so it must be positive")
    return library


def _row(i, df) -> str:
    """How an error names a table row: its data row number (1 = first under the header)."""
    return f"row {i + 1} ({df['top'][i]})"


def _checked_rows(df, path: Path):
    """The table with its numeric and boolean columns parsed, or a one-line error naming the
    first row that holds something else (text in power_mw would otherwise be skipped or read
    wrongly)."""
    import pandas as pd  # noqa: PLC0415

    for col in ("bits_a", "bits_b", "power_mw", "clock_ns"):
        numbers = pd.to_numeric(df[col], errors="coerce")
        bad = numbers.isna() & df[col].notna() & (df[col].astype(str).str.strip() != "")
        if bad.any():
            i = bad.idxmax()
            raise AxhwError(f"library {path}: {_row(i, df)}: {col} {str(df[col][i])[:40]!r} is "
                            "not a number")
        df[col] = numbers
    for col in ("bits_a", "bits_b"):
        whole = df[col].isna() | (df[col] == df[col].round())
        if not whole.all():
            i = (~whole).idxmax()
            raise AxhwError(f"library {path}: {_row(i, df)}: {col} {df[col][i]} is not an integer")
    df["signed"] = [_flag(v, i, df, path) for i, v in zip(df.index, df["signed"])]
    if "pdk" in df:
        for i, v in zip(df.index, df["pdk"]):
            if not (isinstance(v, str) or pd.isna(v)):
                raise AxhwError(f"library {path}: {_row(i, df)}: pdk {v!r} is not a PDK name")
    return df.dropna(subset=["bits_a", "bits_b"])


def _flag(v, i, df, path: Path) -> bool:
    if isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, np.integer)) and v in (0, 1)):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise AxhwError(f"library {path}: {_row(i, df)}: signed {str(v)[:40]!r} is not true or false")
