"""Exact fast path for bit-linear LUTs: a few dense GEMMs instead of table look-ups.

A bit-linear multiplier's product is a fixed sum of kept partial-product bits plus a constant
(exact, perforated AND, truncated, BAM, masked arrays; Baugh-Wooley complements add terms linear
in single bits). With a_j, b_i the raw operand bits:

    P(a, b) = Σ_ji W[j, i] a_j b_i + Σ_j u_j a_j + Σ_i v_i b_i + c

The coefficients are read off the LUT at single-bit operands, columns of W that are multiples of
each other are merged (exact/perforated: one term), and the resulting low-rank form

    P(a, b) = Σ_r A_r[a] · B_r[b] + U[a] + V[b] + c        (per-code integer tables)

is checked against EVERY LUT entry; a LUT it does not reproduce is rejected. So no per-family code
exists here and a wrong ``bit_linear`` flag can never give a wrong answer.

At run time the R terms become one GEMM over K*R (operands A_r[a], B_r[b] gathered per code and
centred so they are as small as possible), then U/V row/column sums and K*c are added in int64.
Engines: ``int8`` (torch._int_mm, int32 accumulation, tensor cores on CUDA), ``fp16`` (CUDA, fp32
accumulation), ``fp32``, ``fp64``. Float engines are exact because every operand is an integer
the format represents exactly and K is split so no partial sum reaches 2^24 (fp32) / 2^53.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import AxhwError
from . import arrays
from .luts import INT32_MAX, prepare_luts

ENGINES = ("int8", "fp16", "fp32", "fp64")
_EXACT_LIMIT = {"fp16": 2**24, "fp32": 2**24, "fp64": 2**53}  # partial sums below this are exact
_OPERAND_LIMIT = {"fp16": 2048, "fp32": 2**24, "fp64": 2**53}


@dataclass(frozen=True, eq=False)
class BitLinearForm:
    """``lut[a, b] == amat[a] @ bmat[b] + ua[a] + vb[b] + const`` for every code pair (verified)."""

    amat: np.ndarray  # (2^bits_a, R) int64, centred per column
    bmat: np.ndarray  # (2^bits_b, R) int64, centred per column
    ua: np.ndarray  # (2^bits_a,) int64
    vb: np.ndarray  # (2^bits_b,) int64
    const: int
    maxabs: int  # max |lut|: fixes the result dtype exactly like lut_matmul

    @property
    def rank(self) -> int:
        return self.amat.shape[1]

    @property
    def operand_max(self) -> tuple[int, int]:
        return int(np.abs(self.amat).max(initial=0)), int(np.abs(self.bmat).max(initial=0))

    @property
    def fits_int8(self) -> bool:
        return all(m.size == 0 or (m.min() >= -128 and m.max() <= 127)
                   for m in (self.amat, self.bmat))

    def table(self) -> np.ndarray:
        return self.amat @ self.bmat.T + self.ua[:, None] + self.vb[None, :] + self.const


def _bit_table(bits: int) -> np.ndarray:
    codes = np.arange(1 << bits, dtype=np.int64)
    return (codes[:, None] >> np.arange(bits)) & 1  # (2^bits, bits)


def _merge_columns(W: np.ndarray):
    """Group columns of W that are integer multiples of one primitive vector.

    Returns (directions (R, rows), factors (R, cols)) with W == directions.T @ factors.
    """
    groups: dict[tuple[int, ...], np.ndarray] = {}
    for i in range(W.shape[1]):
        col = W[:, i]
        nz = np.flatnonzero(col)
        if nz.size == 0:
            continue
        g = math.gcd(*(int(v) for v in np.abs(col[nz])))
        g = g if col[nz[0]] > 0 else -g
        key = tuple(int(v) for v in col // g)
        groups.setdefault(key, np.zeros(W.shape[1], dtype=np.int64))[i] = g
    if not groups:
        return np.zeros((0, W.shape[0]), np.int64), np.zeros((0, W.shape[1]), np.int64)
    return np.array(list(groups), dtype=np.int64), np.stack(list(groups.values()))


def _balance(amat: np.ndarray, bmat: np.ndarray):
    """Move powers of two between A_r and B_r (A_r B_r unchanged) so both spans are small:
    operand truncation gives A in 0..63 and B in 0..1008 unbalanced, 0..252 each balanced."""
    amat, bmat = amat.copy(), bmat.copy()
    for r in range(amat.shape[1]):
        for x, y in ((amat, bmat), (bmat, amat)):  # move from x to y while it helps
            while True:
                gx = math.gcd(*(int(v) for v in x[:, r]))
                span_x, span_y = np.ptp(x[:, r]), np.ptp(y[:, r])
                if gx % 2 or gx == 0 or span_y * 2 > span_x // 2 or span_y == 0:
                    break
                x[:, r] //= 2
                y[:, r] *= 2
    return amat, bmat


def fit_bit_linear(lut) -> BitLinearForm:
    """Fit the bit-linear form to a single LUT and verify it on the whole table (AxhwError if the
    LUT is not bit-linear)."""
    luts = prepare_luts(lut)
    if luts.count != 1:
        raise AxhwError("fit_bit_linear: needs a single LUT, not a stack")
    ba, bb = luts.bits_a, luts.bits_b
    L = luts.table.astype(np.int64).reshape(1 << ba, 1 << bb)
    pa, pb = 1 << np.arange(ba), 1 << np.arange(bb)
    c = int(L[0, 0])
    u = L[pa, 0] - c
    v = L[0, pb] - c
    W = L[pa[:, None], pb[None, :]] - L[pa, 0][:, None] - L[0, pb][None, :] + c  # (ba, bb)
    # Merge along whichever side gives fewer GEMM terms.
    dir_a, fac_b = _merge_columns(W)  # W = dir_a.T @ fac_b
    dir_b, fac_a = _merge_columns(W.T)  # W.T = dir_b.T @ fac_a
    if dir_b.shape[0] < dir_a.shape[0]:
        dir_a, fac_b = fac_a, dir_b
    abits, bbits = _bit_table(ba), _bit_table(bb)
    amat, bmat = abits @ dir_a.T, bbits @ fac_b.T  # (2^ba, R), (2^bb, R)
    amat, bmat = _balance(amat, bmat)
    ua, vb = abits @ u, bbits @ v
    # Centre each term: (A + za)(B + zb) = AB + zb A + za B + za zb, so int8 fits 0..255 ranges.
    za = -((-(amat.min(0) + amat.max(0))) // 2) if amat.size else np.zeros(0, np.int64)
    zb = -((-(bmat.min(0) + bmat.max(0))) // 2) if bmat.size else np.zeros(0, np.int64)
    amat, bmat = amat - za, bmat - zb
    ua = ua + amat @ zb
    vb = vb + bmat @ za
    const = c + int(za @ zb)
    form = BitLinearForm(amat=amat, bmat=bmat, ua=ua, vb=vb, const=const, maxabs=luts.maxabs)
    bad = np.argwhere(form.table() != L)
    if bad.size:
        a_raw, b_raw = (int(x) for x in bad[0])
        raise AxhwError(f"LUT is not bit-linear: the fitted form misses {len(bad)} entries, "
                        f"first at a={a_raw}, b={b_raw}")
    return form


def choose_engine(form: BitLinearForm, cuda: bool, engine: str | None) -> str:
    """Fastest exact engine for this form: int8 on tensor cores where operands fit, else floats."""
    amax, bmax = form.operand_max
    if engine is not None:
        if engine not in ENGINES:
            raise AxhwError(f"engine={engine!r} is not valid: choose one of {', '.join(ENGINES)}")
        if engine == "fp16" and not cuda:
            raise AxhwError("engine 'fp16' needs CUDA tensors (CPU fp16 GEMM accumulation is not "
                            "guaranteed fp32)")
        if not _fits(form, engine):
            raise AxhwError(f"engine {engine!r} cannot hold this design's GEMM operands exactly "
                            f"(|A| <= {amax}, |B| <= {bmax})")
        return engine
    order = ("int8", "fp16", "fp32", "fp64") if cuda else ("fp32", "fp64")
    for e in order:
        if _fits(form, e):
            return e
    raise AxhwError(f"bit-linear operands too large for exact GEMM (|A| <= {amax}, |B| <= {bmax})")


def _fits(form: BitLinearForm, engine: str) -> bool:
    """Operands representable exactly (int8: -128..127) and one product below the exact limit."""
    amax, bmax = form.operand_max
    if engine == "int8":
        return form.fits_int8
    return max(amax, bmax) <= _OPERAND_LIMIT[engine] and amax * bmax < _EXACT_LIMIT[engine]


def _gemm_exact(A, B, engine: str, amax: int, bmax: int):
    """Exact int64 ``A @ B`` for 2-D integer-valued tensors, chunking K to stay exact."""
    import torch

    K = A.shape[1]
    if engine == "int8":
        chunk = max(1, INT32_MAX // max(1, amax * bmax))
    else:
        chunk = max(1, (_EXACT_LIMIT[engine] - 1) // max(1, amax * bmax))
    out = torch.zeros((A.shape[0], B.shape[1]), dtype=torch.int64, device=A.device)
    for s in range(0, K, chunk):
        a, b = A[:, s:s + chunk], B[s:s + chunk]
        if engine == "int8":
            out += _int8_mm(a, b).to(torch.int64)
        elif engine == "fp16":
            out += torch.mm(a.to(torch.float16), b.to(torch.float16),
                            out_dtype=torch.float32).to(torch.int64)
        else:
            dt = torch.float32 if engine == "fp32" else torch.float64
            out += torch.mm(a.to(dt), b.to(dt)).to(torch.int64)
    return out


def _int8_mm(a, b):
    """torch._int_mm with the CUDA shape rules met by zero padding (M > 16, K and N % 8 == 0)."""
    import torch

    M, K = a.shape
    N = b.shape[1]
    if a.device.type == "cuda":
        pm, pk, pn = max(0, 17 - M), (-K) % 8, (-N) % 8
        a = torch.nn.functional.pad(a, (0, pk, 0, pm))
        b = torch.nn.functional.pad(b, (0, pn, 0, pk))
        return torch._int_mm(a.to(torch.int8).contiguous(), b.to(torch.int8).contiguous())[:M, :N]
    return torch._int_mm(a.to(torch.int8).contiguous(), b.to(torch.int8).contiguous())


class _Tables:
    """The form's per-code tables as torch tensors on one device (cached per form and device)."""

    _cache: dict = {}

    @classmethod
    def get(cls, form: BitLinearForm, device):
        import torch

        key = (id(form), str(device))
        hit = cls._cache.get(key)
        if hit is None or hit[0] is not form:
            t = {n: torch.as_tensor(getattr(form, n), device=device)
                 for n in ("amat", "bmat", "ua", "vb")}
            hit = cls._cache[key] = (form, t)
        return hit[1]


def _check_codes(name, x, size: int) -> None:
    if x.numel():
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi >= size:
            raise AxhwError(f"{name} holds raw codes outside 0..{size - 1} (found {lo}..{hi})")


def _as_torch(x, name: str):
    import torch

    arrays.require_int(name, x)
    if arrays.is_torch(x):
        return x.to(torch.int64)
    if arrays.on_gpu(x):
        return torch.as_tensor(x, device="cuda").to(torch.int64)
    return torch.from_numpy(np.asarray(x).astype(np.int64))


def _matmul_codes(a, b, form: BitLinearForm, engine: str):
    """a (M, K) codes, b (K, N) codes (int64 torch) -> exact int64 (M, N)."""
    t = _Tables.get(form, a.device)
    M, K = a.shape
    N = b.shape[1]
    R = form.rank
    out = t["ua"][a].sum(1, keepdim=True) + t["vb"][b].sum(0, keepdim=True) + K * form.const
    if R:
        A = t["amat"][a].reshape(M, K * R)  # column k*R + r = A_r[a[m, k]]
        B = t["bmat"][b].permute(0, 2, 1).reshape(K * R, N)  # row k*R + r = B_r[b[k, n]]
        amax, bmax = form.operand_max
        out = out + _gemm_exact(A, B, engine, amax, bmax)
    return out


def _result(out, form: BitLinearForm, k: int, kind: str, like):
    """Same dtype rule and array kind as lut_matmul."""
    import torch

    out = out.to(torch.int32 if k * form.maxabs <= INT32_MAX else torch.int64)
    if kind == "torch":
        return out
    if kind == "device":
        from numba import cuda

        return cuda.as_cuda_array(out)
    return out.numpy()


def bitlinear_matmul(a, b, form: BitLinearForm, *, engine: str | None = None):
    """Same result as ``lut_matmul(a, b, lut)`` (bit-for-bit) for the LUT ``form`` was fitted to.

    a: (..., K) codes, b: (K, N) codes; numpy or torch (CPU/CUDA). engine: see module doc.
    """
    ashape, bshape = arrays.shape_of(a), arrays.shape_of(b)
    if len(ashape) < 1 or len(bshape) != 2 or ashape[-1] != bshape[0]:
        raise AxhwError(f"bitlinear_matmul: need a (..., K) and b (K, N) with equal K; "
                        f"got {ashape} and {bshape}")
    kind = arrays.kind_of(a, b)
    ta, tb = _as_torch(a, "a"), _as_torch(b, "b")
    if ta.device != tb.device:
        raise AxhwError(f"bitlinear_matmul: a is on {ta.device}, b on {tb.device}")
    _check_codes("a", ta, form.amat.shape[0])
    _check_codes("b", tb, form.bmat.shape[0])
    K = bshape[0]
    eng = choose_engine(form, ta.device.type == "cuda", engine)
    out = _matmul_codes(ta.reshape(-1, K), tb, form, eng).reshape(ashape[:-1] + (bshape[1],))
    return _result(out, form, K, kind, a)


def bitlinear_conv2d(x, w, form: BitLinearForm, stride=1, padding=0, dilation=1, groups: int = 1,
                     *, pad_code: int = 0, engine: str | None = None):
    """Same result as ``lut_conv2d`` (bit-for-bit): pad with pad_code, unfold, grouped GEMM."""
    import torch
    import torch.nn.functional as F

    from .conv import conv_geometry

    xshape, wshape = arrays.shape_of(x), arrays.shape_of(w)
    s, p, d, OH, OW = conv_geometry(xshape, wshape, stride, padding, dilation, groups)
    kind = arrays.kind_of(x, w)
    tx, tw = _as_torch(x, "x"), _as_torch(w, "w")
    if tx.device != tw.device:
        raise AxhwError(f"bitlinear_conv2d: x is on {tx.device}, w on {tw.device}")
    size_a = form.amat.shape[0]
    _check_codes("x", tx, size_a)
    _check_codes("w", tw, form.bmat.shape[0])
    if not isinstance(pad_code, (int, np.integer)) or not 0 <= pad_code < size_a:
        raise AxhwError(f"bitlinear_conv2d: pad_code={pad_code!r} is not a valid raw code")
    N, C, H, W = xshape
    O, Cg, KH, KW = wshape
    K = Cg * KH * KW
    eng = choose_engine(form, tx.device.type == "cuda", engine)
    # Codes < 2^16 are exact in float32; unfold has no integer kernel.
    xf = F.pad(tx.to(torch.float32), (p[1], p[1], p[0], p[0]), value=float(pad_code))
    cols = F.unfold(xf, (KH, KW), dilation=d, stride=s).to(torch.int64)  # (N, C*KH*KW, L)
    cols = cols.reshape(N, groups, K, OH * OW).permute(1, 0, 3, 2)  # (g, N, L, K)
    wg = tw.reshape(groups, O // groups, K).permute(0, 2, 1)  # (g, K, O/g)
    outs = [_matmul_codes(cols[g].reshape(-1, K), wg[g], form, eng).reshape(N, OH * OW, -1)
            for g in range(groups)]
    out = torch.cat(outs, dim=2).permute(0, 2, 1).reshape(N, O, OH, OW)
    return _result(out, form, K, kind, x)
