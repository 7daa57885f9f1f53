"""Error metrics of an approximate multiplier against the exact product (spec §3).

EvoApprox-compatible definitions, as fractions (never percent), over the uniform set of all input
pairs or weighted by an operand distribution: ``e = approx - exact``;
``er`` = P(e != 0); ``mae`` = E|e|; ``bias`` = ``mean_error`` = E[e]; ``mse`` = E[e^2];
``rmse`` = sqrt(mse); ``wce`` = max |e|; ``mre`` = ``mred`` = E[|e|/|exact| | exact != 0] (pairs
with exact product 0 excluded, as EvoApproxLib); ``wcre`` = max over exact != 0 of |e|/|exact|;
``nmed`` = mae / D with D chosen by ``nmed_norm`` (NMED_NORMS) and recorded in the result.

API: ``compute_metrics(approx, exact, weights=None, ...)`` on flat arrays (LUTs);
``design_metrics(design, ...)`` for a Design, exhaustive over every pair: from its LUT up to 16
input bits, else streamed in chunks from the golden model (axhw designs) or from the gate-level
evaluator (external Verilog). A numba kernel sums each chunk; chunks run on one thread per core.
Past 32 input bits (wider than 16x16) the pairs cannot all be visited: the metrics are estimated
from uniformly drawn pairs, each mean with its 95 % confidence interval (``ci95``), and the
worst cases are the worst seen in the sample (lower bounds).
"""

from __future__ import annotations

import functools
import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from ..design.record import Design
from ..infra.errors import AxhwError
from ..design.golden import (MAX_EXHAUSTIVE_BITS, pair_values, port_value, random_pair_index,
                             to_raw, to_value)

__all__ = ["NMED_NORMS", "DEFAULT_NMED_NORM", "DEFAULT_SAMPLES", "nmed_denominator",
           "compute_metrics", "Distribution", "load_distribution", "design_metrics"]

NMED_NORMS = ("2^2n-1", "maxprod", "2^2n")
DEFAULT_NMED_NORM = "2^2n-1"
STREAM_CHUNK = 1 << 20      # pairs per chunk when streaming wide designs (8 MiB per int64 array)
DEFAULT_SAMPLES = 1_000_000  # random pairs beyond that
MAX_SAMPLES = 10_000_000  # ~200 bytes a pair as Python integers: about 2 GB
Z95 = 1.959963984540054     # two-sided 95 % normal quantile for the sampled metrics' intervals


def nmed_denominator(norm: str, bits_a: int, bits_b: int, signed: bool) -> int:
    """2^2n-1: TRAM/DATE'25; maxprod: largest |exact product| (Zervakis/Jiang); 2^2n: EvoApprox %."""
    n2 = bits_a + bits_b
    if norm == "2^2n-1":
        return (1 << n2) - 1
    if norm == "2^2n":
        return 1 << n2
    if norm == "maxprod":
        return 1 << (n2 - 2) if signed else ((1 << bits_a) - 1) * ((1 << bits_b) - 1)
    raise AxhwError(f"unknown NMED normalisation {norm!r}: choose one of {', '.join(NMED_NORMS)}")


# -- accumulation ----------------------------------------------------------------------------
# Per block: integer sums (exact for the uniform case) and float sums (weighted, squares, ratios).
_I_ERR, _I_ABS, _I_E, _I_MAX, _I_NZ, _I_N = range(6)
_F_SQ, _F_REL, _F_MAXREL, _F_WERR, _F_WABS, _F_WE, _F_WNZ, _F_W = range(8)


@numba.njit(nogil=True, cache=True)
def _chunk_sums(approx, exact, va, vb, b_bits, weights, wrap_bits, wrap_signed,
                shift):  # pragma: no cover
    """Sums over one chunk (runs without the GIL: chunks go to a thread pool). Exact products
    from `exact`, or when it is empty from operand values: pair i = (row r, column c) with
    r = i >> b_bits, c = i & (2^b_bits - 1), exact = va[r] * vb[c]."""
    ints = np.zeros(6, dtype=np.int64)
    flts = np.zeros(8, dtype=np.float64)
    weighted = weights.size > 0
    given = exact.size > 0
    cmask = (np.int64(1) << b_bits) - 1
    mask = (np.int64(1) << wrap_bits) - 1 if wrap_bits > 0 else np.int64(-1)
    n_err = 0
    s_abs = 0
    s_e = 0
    m_abs = 0
    n_nz = 0
    cnt = 0
    s_sq = 0.0
    s_rel = 0.0
    m_rel = 0.0
    w_err = 0.0
    w_abs = 0.0
    w_e = 0.0
    w_nz = 0.0
    w_tot = 0.0
    for i in range(approx.size):
        w = 1.0
        if weighted:
            w = weights[i]
            if w == 0.0:
                continue
        p = approx[i]
        if wrap_bits > 0:  # read the raw port word as the contract defines it
            p = p & mask
            if wrap_signed and (p >> (wrap_bits - 1)) & 1:
                p -= np.int64(1) << wrap_bits
        p = p * (np.int64(1) << shift)
        y = exact[i] if given else va[i >> b_bits] * vb[i & cmask]
        e = p - y
        ae = abs(e)
        cnt += 1
        w_tot += w
        if ae > m_abs:
            m_abs = ae
        s_sq += w * float(e) * float(e)
        if e != 0:
            n_err += 1
            s_abs += ae
            s_e += e
            w_err += w
            w_abs += w * ae
            w_e += w * e
        if y != 0:
            n_nz += 1
            w_nz += w
            r = ae / abs(y)
            s_rel += w * r
            if r > m_rel:
                m_rel = r
    ints[_I_ERR] = n_err
    ints[_I_ABS] = s_abs
    ints[_I_E] = s_e
    ints[_I_MAX] = m_abs
    ints[_I_NZ] = n_nz
    ints[_I_N] = cnt
    flts[_F_SQ] = s_sq
    flts[_F_REL] = s_rel
    flts[_F_MAXREL] = m_rel
    flts[_F_WERR] = w_err
    flts[_F_WABS] = w_abs
    flts[_F_WE] = w_e
    flts[_F_WNZ] = w_nz
    flts[_F_W] = w_tot
    return ints, flts


def chunk_sums(approx: np.ndarray, exact: np.ndarray | None = None,
               weights: np.ndarray | None = None, wrap_bits: int = 0, wrap_signed: bool = False,
               shift: int = 0, va: np.ndarray | None = None, vb: np.ndarray | None = None):
    """(int sums, float sums) of one chunk. Exact products: `exact` (same size as `approx`), or
    the outer product of operand values `va` (rows) x `vb` (2^k columns) in row-major order.
    With wrap_bits > 0, `approx` holds raw port words (read as wrap_signed two's complement) to be
    shifted left by `shift` (product scale)."""
    approx = np.ascontiguousarray(approx, dtype=np.int64).reshape(-1)
    empty = np.zeros(0, dtype=np.int64)
    if exact is not None:
        exact = np.ascontiguousarray(exact, dtype=np.int64).reshape(-1)
        va = vb = empty
        b_bits = 0
        size = exact.size
    else:
        va = np.ascontiguousarray(va, dtype=np.int64)
        vb = np.ascontiguousarray(vb, dtype=np.int64)
        b_bits = len(vb).bit_length() - 1
        if len(vb) != 1 << b_bits:
            raise AxhwError("metrics: the column operand count must be a power of two")
        exact = empty
        size = len(va) * len(vb)
    if approx.size != size:
        raise AxhwError(f"metrics: {approx.size} approximate values vs {size} exact")
    w = np.zeros(0) if weights is None else np.ascontiguousarray(weights, np.float64).reshape(-1)
    if w.size and w.size != approx.size:
        raise AxhwError(f"metrics: {w.size} weights for {approx.size} pairs")
    return _chunk_sums(approx, exact, va, vb, b_bits, w, int(wrap_bits), bool(wrap_signed),
                       int(shift))


@dataclass
class ErrorSums:
    """Running sums over (possibly many) chunks of pairs; Python ints stay exact."""

    weighted: bool = False
    ints: list[int] = field(default_factory=lambda: [0] * 6)
    flts: list[list[float]] = field(default_factory=lambda: [[] for _ in range(8)])
    max_rel: float = 0.0

    def add(self, sums) -> None:
        """Merge the result of :func:`chunk_sums`."""
        ints, flts = sums
        for k in (_I_ERR, _I_ABS, _I_E, _I_NZ, _I_N):
            self.ints[k] += int(ints[k])
        self.ints[_I_MAX] = max(self.ints[_I_MAX], int(ints[_I_MAX]))
        for k in range(8):
            if k != _F_MAXREL:
                self.flts[k].append(float(flts[k]))
        self.max_rel = max(self.max_rel, float(flts[_F_MAXREL]))

    def result(self, bits_a: int, bits_b: int, signed: bool,
               nmed_norm: str = DEFAULT_NMED_NORM) -> dict:
        f = [math.fsum(v) for v in self.flts]
        i = self.ints
        if self.weighted:
            total, nz = f[_F_W], f[_F_WNZ]
            err, s_abs, s_e = f[_F_WERR], f[_F_WABS], f[_F_WE]
        else:
            total, nz = i[_I_N], i[_I_NZ]
            err, s_abs, s_e = i[_I_ERR], i[_I_ABS], i[_I_E]
        if total <= 0:
            raise AxhwError("metrics: no pairs with non-zero weight")
        denom = nmed_denominator(nmed_norm, bits_a, bits_b, signed)
        mae = s_abs / total
        mse = f[_F_SQ] / total
        mre = f[_F_REL] / nz if nz > 0 else None
        return {
            "er": err / total, "mae": mae, "wce": i[_I_MAX], "mse": mse, "rmse": math.sqrt(mse),
            "mre": mre, "mred": mre, "wcre": self.max_rel if nz > 0 else None,
            "nmed": mae / denom, "bias": s_e / total, "mean_error": s_e / total,
            "pairs": i[_I_N], "weighted": self.weighted,
            "mre_pairs": i[_I_NZ], "mre_weight": (nz / total),
            "nmed_norm": nmed_norm, "nmed_denominator": denom,
            "bits_a": bits_a, "bits_b": bits_b, "signed": signed,
        }


def compute_metrics(approx, exact, weights=None, nmed_norm: str = DEFAULT_NMED_NORM,
                    bits_a: int = 8, bits_b: int | None = None, signed: bool = False) -> dict:
    """Metrics of product-scale `approx` vs `exact` (same shape, e.g. LUTs ``[a_raw, b_raw]``).

    `weights`: probabilities (or any non-negative weights) of the pairs, same shape; None =
    uniform. bits/signed only set the NMED denominator."""
    nmed_denominator(nmed_norm, bits_a, bits_b or bits_a, signed)  # validate before the work
    sums = ErrorSums(weighted=weights is not None)
    sums.add(chunk_sums(approx, exact,
                        None if weights is None else validate_weights(weights, np.size(exact))))
    return sums.result(bits_a, bits_b or bits_a, signed, nmed_norm)


def validate_weights(weights, size: int) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != size:
        raise AxhwError(f"distribution has {w.size} entries, expected {size}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise AxhwError("distribution must be finite, non-negative and not all zero")
    return w / w.sum()


# -- operand distributions -------------------------------------------------------------------
@dataclass
class Distribution:
    """Pair weights: a joint table ``[a_raw, b_raw]`` or independent marginals pa, pb."""

    joint: np.ndarray | None = None
    pa: np.ndarray | None = None
    pb: np.ndarray | None = None
    source: str = ""

    def rows(self, a_lo: int, a_hi: int) -> np.ndarray:
        """Weights of the pairs with a_raw in [a_lo, a_hi), flat in pair order."""
        if self.joint is not None:
            return self.joint[a_lo:a_hi].reshape(-1)
        return np.multiply.outer(self.pa[a_lo:a_hi], self.pb).reshape(-1)


def load_distribution(spec: str, bits_a: int, bits_b: int) -> Distribution:
    """``FILE.npy`` (joint 2-D histogram, shape (2^ba, 2^bb), indexed by raw bits),
    ``FILE.npz`` (arrays ``a`` and ``b``: marginal histograms, or ``joint``), or
    ``A.npy,B.npy`` (two marginals). Histograms are normalised to probabilities."""
    na, nb = 1 << bits_a, 1 << bits_b
    parts = spec.split(",")
    if len(parts) == 2:
        pa, pb = (_load_array(Path(p.strip())) for p in parts)
        return _marginals(pa, pb, na, nb, spec)
    path = Path(spec)
    arr = _load_array(path)
    if isinstance(arr, np.lib.npyio.NpzFile):
        keys = set(arr.files)
        if "joint" in keys:
            return _joint(arr["joint"], na, nb, spec)
        if {"a", "b"} <= keys:
            return _marginals(arr["a"], arr["b"], na, nb, spec)
        raise AxhwError(f"{spec}: an .npz distribution needs arrays 'a' and 'b' (marginals) or "
                        f"'joint' (has: {', '.join(sorted(keys)) or 'none'})")
    return _joint(arr, na, nb, spec)


def _load_array(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise AxhwError(f"distribution file not found: {path}") from None
    except OSError as exc:
        raise AxhwError(f"cannot read distribution {path}: {exc.strerror or exc}") from None
    except (ValueError, EOFError):  # numpy's advice about allow_pickle helps nobody here
        raise AxhwError(f"{path}: not a distribution file (expected a histogram .npy or an .npz "
                        "of histograms)") from None


def _check_hist(h: np.ndarray, shape: tuple, spec: str, what: str) -> np.ndarray:
    h = np.asarray(h)
    if h.shape != shape:
        raise AxhwError(f"{spec}: {what} has shape {h.shape}, expected {shape} (indexed by raw bits)")
    if not np.issubdtype(h.dtype, np.number) or np.iscomplexobj(h):
        raise AxhwError(f"{spec}: {what} must be numeric")
    h = h.astype(np.float64)
    if not np.all(np.isfinite(h)) or np.any(h < 0) or h.sum() <= 0:
        raise AxhwError(f"{spec}: {what} must be finite, non-negative and not all zero")
    return h / h.sum()


def _joint(h, na, nb, spec) -> Distribution:
    return Distribution(joint=_check_hist(h, (na, nb), spec, "joint histogram"), source=spec)


def _marginals(pa, pb, na, nb, spec) -> Distribution:
    return Distribution(pa=_check_hist(pa, (na,), spec, "marginal of a"),
                        pb=_check_hist(pb, (nb,), spec, "marginal of b"), source=spec)


# -- designs ---------------------------------------------------------------------------------
def design_metrics(design: Design, dist: Distribution | None = None,
                   nmed_norm: str = DEFAULT_NMED_NORM, sim: str = "netsim",
                   chunk: int = STREAM_CHUNK, samples: int = DEFAULT_SAMPLES,
                   seed: int = 1) -> dict:
    """Exhaustive metrics of a design over every input pair (weighted by `dist` if given).

    Up to 16 input bits the approximate values come from the RTL LUT (``axhw.measure.lut.design_lut``,
    checked against the golden model for axhw designs). Wider designs stream: axhw designs from
    their golden model (the RTL == golden contract is checked by ``axhw verify``), external
    Verilog from the gate-level evaluator. Past MAX_EXHAUSTIVE_BITS input bits: `samples`
    uniform pairs (drawn with `seed`) from the golden model, see :func:`sampled_metrics`."""
    from .lut import MAX_LUT_BITS, design_lut  # noqa: PLC0415 - lut imports this module's deps

    nmed_denominator(nmed_norm, design.bits_a, design.bits_b, design.signed)
    if design.bits_a + design.bits_b > MAX_EXHAUSTIVE_BITS:
        if dist is not None:
            raise AxhwError(f"{design.top}: operand distributions are tables over every pair; "
                            f"past {MAX_EXHAUSTIVE_BITS} input bits only uniform is supported")
        if design.spec is None:
            raise AxhwError(f"{design.top}: no golden model to sample")
        return sampled_metrics(design, samples, seed, nmed_norm)
    sums = ErrorSums(weighted=dist is not None)
    na, nb = 1 << design.bits_a, 1 << design.bits_b
    va = to_value(np.arange(na), design.bits_a, design.signed)
    vb = to_value(np.arange(nb), design.bits_b, design.signed)
    if design.bits_a + design.bits_b <= MAX_LUT_BITS:
        source = f"rtl ({sim})"
        lut = design_lut(design, sim=sim)
        sums.add(chunk_sums(lut, weights=None if dist is None else dist.rows(0, na),
                            va=va, vb=vb))
    elif design.spec is not None:
        source = "golden model"
        _stream_golden(design, va, vb, dist, sums, chunk)
    else:
        source = "rtl (netsim, streamed)"
        _stream_netsim(design, va, vb, dist, sums, chunk)
    out = sums.result(design.bits_a, design.bits_b, design.signed, nmed_norm)
    out.update({"design": design.top, "family": design.family, "source": source,
                "out_bits": design.out_bits, "out_signed": design.out_signed,
                "out_shift": design.out_shift,
                "distribution": dist.source if dist is not None else "uniform"})
    if design.out_shift:
        out["note"] = (f"port {design.ports[2]} holds product bits {design.out_shift} and up: "
                       f"compared at product scale (value << {design.out_shift})")
    return out


def _row_chunks(na: int, nb: int, chunk: int):
    rows = max(1, chunk // nb)
    for lo in range(0, na, rows):
        yield lo, min(na, lo + rows)


def _merge_parallel(tasks, sums: ErrorSums) -> None:
    """Run chunk tasks (callables returning chunk_sums results) on one thread per core (numpy
    and the numba kernel release the GIL); merge in order, a bounded number in flight."""
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.submit(task))
            if len(pending) >= 2 * workers:
                sums.add(pending.popleft().result())
        while pending:
            sums.add(pending.popleft().result())


def _golden_broadcasts(spec, va: np.ndarray, vb: np.ndarray) -> bool:
    """Whether the golden model gives the same values on broadcast operands ``A[:, None],
    B[None, :]`` (one full-size operation instead of two materialized operand arrays)."""
    rows = va[np.unique(np.array([0, 1, 2, 3, len(va) // 2, len(va) // 2 + 1, len(va) - 1]))]
    flat = spec.golden(np.repeat(rows, len(vb)), np.tile(vb, len(rows)))
    try:
        wide = np.asarray(spec.golden(rows[:, None], vb[None, :]))
    except (ValueError, TypeError, IndexError):
        return False
    return wide.shape == (len(rows), len(vb)) and np.array_equal(wide.reshape(-1), flat)


def _stream_golden(design, va, vb, dist, sums, chunk) -> None:
    spec = design.spec
    broadcast = _golden_broadcasts(spec, va, vb)

    def task(lo, hi):
        A = va[lo:hi]
        approx = (spec.golden(A[:, None], vb[None, :]) if broadcast
                  else spec.golden(np.repeat(A, len(vb)), np.tile(vb, len(A))))
        return chunk_sums(approx, weights=None if dist is None else dist.rows(lo, hi),
                          wrap_bits=design.out_bits, wrap_signed=design.out_signed,
                          shift=design.out_shift, va=A, vb=vb)

    _merge_parallel((functools.partial(task, lo, hi)
                     for lo, hi in _row_chunks(len(va), len(vb), chunk)), sums)


def _stream_netsim(design, va, vb, dist, sums, chunk) -> None:
    from ..sim.netsim import generic_netlist, sweep_pairs  # noqa: PLC0415

    netlist = generic_netlist(design.verilog_path, design.top)
    nb = len(vb)
    step = max(64, (chunk // nb) * nb)

    def task(lo, raw):
        a_lo, a_hi = lo // nb, (lo + len(raw)) // nb
        return chunk_sums(raw, weights=None if dist is None else dist.rows(a_lo, a_hi),
                          wrap_bits=design.out_bits, wrap_signed=design.out_signed,
                          shift=design.out_shift, va=va[a_lo:a_hi], vb=vb)

    _merge_parallel((functools.partial(task, lo, raw) for lo, raw in
                     sweep_pairs(netlist, design.ports, design.bits_a, design.bits_b,
                                 design.out_bits, 0, len(va) * nb, chunk=step)), sums)


def sampled_metrics(design: Design, samples: int = DEFAULT_SAMPLES, seed: int = 1,
                    nmed_norm: str = DEFAULT_NMED_NORM) -> dict:
    """The metrics of design_metrics estimated from `samples` uniform random pairs of the golden
    model. Errors are exact (Python integers: a 32x32 product needs 64 bits and its error
    more); every mean gets ``ci95[key] = [low, high]``, mean ± 1.96·s/√n (normal
    approximation; for ER, a proportion, the same with s² = p(1-p))."""
    if not 2 <= samples <= MAX_SAMPLES:
        raise AxhwError(f"metrics: --samples {samples}: give 2 .. {MAX_SAMPLES:,} (the pairs and "
                        "their exact errors are held in memory)")
    spec = design.spec
    index = random_pair_index(design.bits_a, design.bits_b, samples, seed)
    A, B = pair_values(index, design.bits_a, design.bits_b, design.signed)
    port = port_value(to_raw(spec.golden(A, B), design.out_bits), design.out_bits,
                      design.out_signed)
    exact = A.astype(object) * B.astype(object)
    err = (port.astype(object) << design.out_shift) - exact
    abs_err = np.abs(err).astype(np.float64)
    nz = exact != 0
    rel = abs_err[nz] / np.abs(exact[nz]).astype(np.float64)
    denom = nmed_denominator(nmed_norm, design.bits_a, design.bits_b, design.signed)
    series = {"er": (err != 0).astype(np.float64), "mae": abs_err,
              "mse": abs_err ** 2, "mre": rel, "bias": err.astype(np.float64)}
    ci = {}
    for key, x in series.items():
        if len(x) < 2:
            continue
        half = Z95 * float(np.std(x, ddof=1)) / math.sqrt(len(x))
        ci[key] = [float(np.mean(x)) - half, float(np.mean(x)) + half]
    ci["nmed"] = [v / denom for v in ci["mae"]]
    ci["mred"], ci["mean_error"] = ci.get("mre"), ci["bias"]
    ci["rmse"] = [math.sqrt(max(v, 0.0)) for v in ci["mse"]]
    mae, mse = float(abs_err.mean()), float(series["mse"].mean())
    mre = float(rel.mean()) if len(rel) else None
    out = {
        "er": float(series["er"].mean()), "mae": mae, "wce": int(np.max(np.abs(err))),
        "mse": mse, "rmse": math.sqrt(mse), "mre": mre, "mred": mre,
        "wcre": float(rel.max()) if len(rel) else None, "nmed": mae / denom,
        "bias": float(series["bias"].mean()), "mean_error": float(series["bias"].mean()),
        "pairs": len(index), "weighted": False, "mre_pairs": int(nz.sum()),
        "mre_weight": float(nz.mean()), "nmed_norm": nmed_norm, "nmed_denominator": denom,
        "bits_a": design.bits_a, "bits_b": design.bits_b, "signed": design.signed,
        "design": design.top, "family": design.family,
        "source": f"golden model, {len(index):,} uniform random pairs (seed {seed})",
        "out_bits": design.out_bits, "out_signed": design.out_signed,
        "out_shift": design.out_shift, "distribution": "uniform",
        "sampled": True, "samples": len(index), "seed": seed, "confidence": 0.95, "ci95": ci,
        "note": "sampled: WCE and WCRE are the worst seen in the sample (lower bounds)",
    }
    return out
