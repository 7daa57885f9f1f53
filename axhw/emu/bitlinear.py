"""Exact fast path for bit-linear LUTs: a few dense GEMMs instead of table look-ups.

The form ``P(a, b) = Σ_r A_r[a] · B_r[b] + U[a] + V[b] + c`` (axhw.emu.forms, verified on every
LUT entry) turns a GEMM into one GEMM over K*R (operands A_r[a], B_r[b] gathered per code and
centred so they are as small as possible), then U/V row/column sums and K*c are added in int64.
Engines: ``int8`` (torch._int_mm, int32 accumulation, tensor cores on CUDA), ``fp16`` (CUDA, fp32
accumulation), ``fp32``, ``fp64``. Float engines are exact because every operand is an integer
the format represents exactly and K is split so no partial sum reaches 2^24 (fp32) / 2^53.
On the CPU the engine is picked per shape by measured time among those exact for the form
(axhw.emu.tuning): int8 ``torch._int_mm`` is fast only where the CPU has VNNI/AMX.
"""

from __future__ import annotations

import numpy as np

from ..infra.errors import AxhwError
from . import arrays
from .forms import BitLinearForm, fit_table
from .geometry import conv_geometry
from .luts import INT32_MAX, check_index, prepare_luts
from .tuning import fastest

__all__ = ["ENGINES", "BitLinearForm", "bitlinear_conv2d", "bitlinear_matmul", "choose_engine",
           "exact_engines", "fit_bit_linear", "stack_conv2d", "stack_matmul"]

ENGINES = ("int8", "fp16", "fp32", "fp64")
_EXACT_LIMIT = {"fp16": 2**24, "fp32": 2**24, "fp64": 2**53}  # partial sums below this are exact
_OPERAND_LIMIT = {"fp16": 2048, "fp32": 2**24, "fp64": 2**53}


def fit_bit_linear(lut) -> BitLinearForm:
    """Fit the bit-linear form to a single LUT and verify it on the whole table (AxhwError if the
    LUT is not bit-linear)."""
    luts = prepare_luts(lut)
    if luts.count != 1:
        raise AxhwError("fit_bit_linear: needs a single LUT, not a stack")
    return fit_table(luts.table.astype(np.int64).reshape(luts.size_a, luts.size_b), luts.maxabs)


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
    return exact_engines(form, cuda)[0]


def exact_engines(form: BitLinearForm, cuda: bool) -> list[str]:
    """Engines that hold this form's operands exactly, in default preference order."""
    order = ("int8", "fp16", "fp32", "fp64") if cuda else ("int8", "fp32", "fp64")
    fit = [e for e in order if _fits(form, e)]
    if not fit:
        amax, bmax = form.operand_max
        raise AxhwError(f"bit-linear operands too large for exact GEMM (|A| <= {amax}, "
                        f"|B| <= {bmax})")
    return fit


def _by_engine(form: BitLinearForm, cuda: bool, engine: str | None, key, macs: int, run):
    """run(engine) with the engine given, the first exact one on CUDA, or on the CPU the exact one
    measured fastest for this shape (axhw.emu.tuning)."""
    if engine is not None or cuda:
        return run(choose_engine(form, cuda, engine))
    return fastest(key + form.operand_max + (form.rank,),
                   {e: (lambda e=e: run(e)) for e in exact_engines(form, False)}, macs)


def _fits(form: BitLinearForm, engine: str) -> bool:
    """Operands representable exactly (int8: -128..127) and one product below the exact limit."""
    amax, bmax = form.operand_max
    if engine == "int8":
        return form.fits_int8
    return max(amax, bmax) <= _OPERAND_LIMIT[engine] and amax * bmax < _EXACT_LIMIT[engine]


def _chunk(form: BitLinearForm, engine: str) -> int:
    """GEMM depth (rows of K*R) whose every partial sum stays exact in the engine."""
    amax, bmax = form.operand_max
    limit = INT32_MAX if engine == "int8" else _EXACT_LIMIT[engine] - 1
    return max(1, limit // max(1, amax * bmax))


def _acc_dtype(form: BitLinearForm, k: int):
    """int32 when no intermediate (GEMM part, row/column sums, constant) can overflow it."""
    import torch

    amax, bmax = form.operand_max
    bound = k * (form.rank * amax * bmax + int(np.abs(form.ua).max(initial=0))
                 + int(np.abs(form.vb).max(initial=0)) + abs(form.const))
    return torch.int32 if bound <= INT32_MAX else torch.int64


def _mm(a, b, engine: str):
    import torch

    if engine == "int8":
        return _int8_mm(a, b)
    if engine == "fp16":
        try:
            return torch.mm(a, b, out_dtype=torch.float32)  # fp32 accumulation and output
        except (RuntimeError, TypeError, NotImplementedError):
            # torch without mm(out_dtype=): fp32 inputs are just as exact (same 2^24 chunks).
            return torch.mm(a.float(), b.float())
    if engine == "fp32" and (torch.get_float32_matmul_precision() != "highest"
                             or (a.is_cuda and torch.backends.cuda.matmul.allow_tf32)):
        # TF32/bf16 fp32 matmuls round operands above 2^11: use fp64 to stay exact.
        return torch.mm(a.double(), b.double())
    return torch.mm(a, b)


def _int8_mm(a, b):
    """torch._int_mm, exact int32 results. On CUDA the shapes are zero-padded to multiples of 16
    (M > 16): cuBLASLt's int8 kernels refuse others (seen with CUDA 13 on an H200 for
    197x64x197 attention products even after padding to multiples of 8); should cuBLASLt still
    refuse, a float64 product (exact for these magnitudes) takes over."""
    import torch

    M, K = a.shape
    N = b.shape[1]
    if a.device.type != "cuda":
        return torch._int_mm(a.contiguous(), b.contiguous())
    if M <= 16 or M % 16 or K % 16 or N % 16:
        a = torch.nn.functional.pad(a, (0, (-K) % 16, 0, max(32, M + (-M) % 16) - M))
        b = torch.nn.functional.pad(b, (0, (-N) % 16, 0, (-K) % 16))
    try:
        return torch._int_mm(a.contiguous(), b.contiguous())[:M, :N]
    except RuntimeError:
        return torch.mm(a[:M, :K].double(), b[:K, :N].double()).to(torch.int32)


_TORCH_DTYPE = {"int8": "int8", "fp16": "float16", "fp32": "float32", "fp64": "float64"}


class _Tables:
    """The form's per-code tables as torch tensors, cached per form, device and engine: one 1-D
    table per term (1-D index_select is an order of magnitude faster than gathering rows), the
    operands already in the engine's dtype so a gather yields GEMM-ready operands, plus float32
    copies of the A side (conv unfolds in float32)."""

    _cache: dict = {}

    @classmethod
    def get(cls, form: BitLinearForm, device, engine: str):
        import torch

        key = (id(form), str(device), engine)
        hit = cls._cache.get(key)
        if hit is None or hit[0] is not form:
            dt = getattr(torch, _TORCH_DTYPE[engine])

            def columns(m, dtype):
                return [torch.as_tensor(np.ascontiguousarray(c), dtype=dtype, device=device)
                        for c in m.T]

            t = {"A": columns(form.amat, dt), "B": columns(form.bmat, dt),
                 "Af": columns(form.amat, torch.float32),
                 "Bf": columns(form.bmat, torch.float32),
                 "ua": torch.as_tensor(form.ua, device=device) if form.ua.any() else None,
                 "vb": torch.as_tensor(form.vb, device=device) if form.vb.any() else None}
            hit = cls._cache[key] = (form, t)
        return hit[1]


def _codes(x, name: str, size: int):
    """Integer codes as an int32/int64 torch tensor (index_select indices), range-checked."""
    import torch

    arrays.require_int(name, x)
    if arrays.is_torch(x):
        t = x.detach()
    elif arrays.on_gpu(x):
        t = torch.as_tensor(x, device="cuda")
    else:
        t = torch.from_numpy(np.ascontiguousarray(x))
    if t.numel():
        lo, hi = (int(v) for v in torch.aminmax(t))
        if lo < 0 or hi >= size:
            raise AxhwError(f"{name} holds raw codes outside 0..{size - 1} (found {lo}..{hi})")
    return t if t.dtype in (torch.int32, torch.int64) else t.to(torch.int32)


def _matmul_codes(a, b, form: BitLinearForm, engine: str):
    """a (M, K), b (K, N) int32 codes -> exact (M, N), int32 where _acc_dtype allows."""
    import torch

    t = _Tables.get(form, a.device, engine)
    M, K = a.shape
    N = b.shape[1]
    R = form.rank
    acc = _acc_dtype(form, K)
    out = torch.zeros((M, N), dtype=acc, device=a.device) if R == 0 else None
    if R:
        # GEMM depth r*K + k: A (M, R*K) = [A_0[a] | A_1[a] | ...], B (R*K, N) stacked alike.
        af, bf = a.reshape(-1), b.reshape(-1)
        A = torch.cat([c.index_select(0, af).reshape(M, K) for c in t["A"]], dim=1)
        B = torch.cat([c.index_select(0, bf).reshape(K, N) for c in t["B"]], dim=0)
        chunk = _chunk(form, engine)
        for s in range(0, K * R, chunk):
            part = _mm(A[:, s:s + chunk], B[s:s + chunk], engine).to(acc)
            out = part if out is None else out.add_(part)
    if t["ua"] is not None:
        out.add_(t["ua"].index_select(0, a.reshape(-1)).reshape(M, K).sum(1, dtype=acc)[:, None])
    col = K * form.const
    if t["vb"] is not None:
        col = t["vb"].index_select(0, b.reshape(-1)).reshape(K, N).sum(0, dtype=acc) + col
    return out.add_(col) if isinstance(col, torch.Tensor) or col else out


def _direct_exact(form: BitLinearForm, cg: int, taps: int, groups: int, pad_code: int) -> bool:
    """torch's fp32 conv2d sums the form's terms exactly: fp32 arithmetic (no TF32/bf16), every
    partial sum of a channel chunk below 2^24, and whole groups in one chunk when grouped."""
    import torch

    mkldnn_conv = getattr(torch.backends.mkldnn, "conv", None)
    if (torch.get_float32_matmul_precision() != "highest"
            or getattr(mkldnn_conv, "fp32_precision", "none") not in ("none", "ieee")):
        return False
    per_channel = taps * max(*_shifted_bounds(form, pad_code), 1)
    return per_channel < _EXACT_LIMIT["fp32"] and (groups == 1 or cg * per_channel < 2**24)


def _chunks(cg: int, groups: int, per_channel: int):
    """Input-channel ranges whose sums stay below 2^24 (grouped: one range, checked before)."""
    step = cg if groups > 1 else max(1, (_EXACT_LIMIT["fp32"] - 1) // max(per_channel, 1))
    return [(c0, min(c0 + step, cg)) for c0 in range(0, cg, step)]


def _shifted_bounds(form: BitLinearForm, pad_code: int) -> tuple[int, int]:
    """Bounds on one tap's |Σ_r (A_r[x] - A_r[pad]) B_r[w]| and |U[x] - U[pad]|: what the maps
    of _conv_direct hold (the pad code's operand subtracted; for plain codes it is 0, so the
    bound is not doubled and fewer channel chunks are needed)."""
    a = np.abs(form.amat - form.amat[pad_code]).max(axis=0, initial=0)
    b = np.abs(form.bmat).max(axis=0, initial=0)
    return int(a @ b), int(np.abs(form.ua - form.ua[pad_code]).max(initial=0))


def _conv_direct(tx, tw, form: BitLinearForm, t, geometry, out_hw, acc):
    """The R terms as R channels per input channel, convolved by torch in fp32 (no im2col),
    input channels split so that each chunk's sums stay below 2^24; U[x] window sums by a
    ones-kernel conv, V[w] and the constant per filter. Exact, see _direct_exact.

    Padding never touches the codes: the maps hold A_r[x] - A_r[pad_code] (0 where conv2d pads
    with zeros) and the per-filter constant A_r[pad_code] * Σ B_r[w] restores the sum; U alike.
    """
    import torch
    import torch.nn.functional as F

    s, p, d, groups, pad_code = geometry
    N, C = tx.shape[:2]
    O, Cg, KH, KW = tw.shape
    R, xf, wf = form.rank, tx.reshape(-1), tw.reshape(-1)
    taps, K = KH * KW, Cg * KH * KW
    term, ubound = _shifted_bounds(form, pad_code)
    if K * (term + ubound) > INT32_MAX:  # shifted partial sums may not fit
        acc = torch.int64
    col = torch.full((O,), K * form.const, dtype=acc, device=tx.device)
    out = None

    def conv(maps, weights):
        return F.conv2d(maps, weights, stride=s, padding=p, dilation=d, groups=groups)

    if R:
        shift = [int(c[pad_code]) for c in t["Af"]]
        maps = [(c - sh if sh else c).index_select(0, xf).reshape(tx.shape)
                for c, sh in zip(t["Af"], shift)]
        maps = maps[0].unsqueeze(2) if R == 1 else torch.stack(maps, 2)  # no copy for R = 1
        maps = maps.reshape(N, C * R, *tx.shape[2:])  # channels (c, r), like the weights below
        wB = torch.stack([c.index_select(0, wf).reshape(tw.shape) for c in t["Bf"]], 2)
        for r, sh in enumerate(shift):
            if sh:
                col += sh * wB[:, :, r].reshape(O, -1).sum(1, dtype=torch.float64).to(acc)
        wB = wB.reshape(O, Cg * R, KH, KW)
        for c0, c1 in _chunks(Cg, groups, taps * term):
            part = conv(maps[:, c0 * R:c1 * R] if groups == 1 else maps,
                        wB[:, c0 * R:c1 * R]).to(acc)
            out = part if out is None else out.add_(part)
    if t["ua"] is not None:
        ushift = int(t["ua"][pad_code])
        umap = (t["ua"] - ushift).index_select(0, xf).reshape(tx.shape).to(torch.float32)
        col += K * ushift
        for c0, c1 in _chunks(Cg, groups, taps * ubound):
            ones = torch.ones((groups, c1 - c0, KH, KW), device=tx.device)
            rows = conv(umap[:, c0:c1] if groups == 1 else umap, ones).to(acc)  # (N, g, OH, OW)
            rows = rows.repeat_interleave(O // groups, dim=1)
            out = rows if out is None else out.add_(rows)
    if t["vb"] is not None:
        col += t["vb"].index_select(0, wf).reshape(O, -1).sum(1, dtype=acc)
    if out is None:
        out = torch.zeros((N, O, *out_hw), dtype=acc, device=tx.device)
    return out.add_(col[None, :, None, None]) if col.any() else out


def _result(out, form: BitLinearForm, k: int, kind: str):
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
    ta, tb = _codes(a, "a", form.amat.shape[0]), _codes(b, "b", form.bmat.shape[0])
    if ta.device != tb.device:
        raise AxhwError(f"bitlinear_matmul: a is on {ta.device}, b on {tb.device}")
    K, N = bshape
    M = ta.numel() // max(K, 1)

    def run(eng):
        out = _matmul_codes(ta.reshape(-1, K), tb, form, eng).reshape(ashape[:-1] + (N,))
        return _result(out, form, K, kind)

    return _by_engine(form, ta.device.type == "cuda", engine, ("mm", M, K, N), M * K * N, run)


def bitlinear_conv2d(x, w, form: BitLinearForm, stride=1, padding=0, dilation=1, groups: int = 1,
                     *, pad_code: int = 0, engine: str | None = None):
    """Same result as ``lut_conv2d`` (bit-for-bit): the codes are padded with pad_code and mapped
    to their R GEMM operands first (R channels per input channel), then unfolded and multiplied
    with the weights' operands as one (O/g x C/g*R*kh*kw) @ (C/g*R*kh*kw x N*L) GEMM per group."""
    xshape, wshape = arrays.shape_of(x), arrays.shape_of(w)
    s, p, d, OH, OW = conv_geometry(xshape, wshape, stride, padding, dilation, groups)
    kind = arrays.kind_of(x, w)
    size_a = form.amat.shape[0]
    tx, tw = _codes(x, "x", size_a), _codes(w, "w", form.bmat.shape[0])
    if tx.device != tw.device:
        raise AxhwError(f"bitlinear_conv2d: x is on {tx.device}, w on {tw.device}")
    if not isinstance(pad_code, (int, np.integer)) or not 0 <= pad_code < size_a:
        raise AxhwError(f"bitlinear_conv2d: pad_code={pad_code!r} is not a valid raw code")
    N, O = xshape[0], wshape[0]
    K = wshape[1] * wshape[2] * wshape[3]

    def run(eng):
        out = _conv_codes(tx, tw, form, eng, s, p, d, int(groups), pad_code, (OH, OW))
        return _result(out, form, K, kind)

    key = ("conv", xshape, wshape, s, p, d, groups)
    return _by_engine(form, tx.device.type == "cuda", engine, key, N * O * OH * OW * K, run)


def _conv_codes(tx, tw, form: BitLinearForm, eng: str, s, p, d, groups: int, pad_code: int,
                out_hw):
    """x (N, C, H, W), w (O, C/g, kh, kw) int32 codes -> exact (N, O, OH, OW) by unfold + GEMM."""
    import torch
    import torch.nn.functional as F

    N, O = tx.shape[0], tw.shape[0]
    _, Cg, KH, KW = tw.shape
    (OH, OW), R, Og = out_hw, form.rank, O // groups
    K, L = Cg * KH * KW, OH * OW
    t = _Tables.get(form, tx.device, eng)
    acc = _acc_dtype(form, K)
    if eng == "fp32" and tx.device.type == "cpu" and _direct_exact(form, Cg, KH * KW, groups,
                                                                        pad_code):
        return _conv_direct(tx, tw, form, t, (s, p, d, groups, pad_code), out_hw, acc)
    xp = F.pad(tx, (p[1], p[1], p[0], p[0]), value=pad_code)  # codes, so padding maps like data

    def unfold(tables, dtype):
        """tables[r][xp] as channels (c, r), unfolded: (N, C*R'*KH*KW, L) in dtype."""
        xf = xp.reshape(-1)
        v = torch.stack([c.index_select(0, xf).reshape(xp.shape).to(dtype) for c in tables], 2)
        return F.unfold(v.reshape(N, -1, xp.shape[2], xp.shape[3]), (KH, KW), dilation=d,
                        stride=s)

    out = torch.zeros((O, N * L), dtype=acc, device=tx.device)
    if R:
        # float32 carries the operands exactly through unfold (|A| < 2^24); no integer unfold.
        cols = unfold(t["Af"], torch.float32)
        colsT = torch.empty((cols.shape[1], N * L), dtype=t["A"][0].dtype, device=tx.device)
        colsT.view(cols.shape[1], N, L).copy_(cols.permute(1, 0, 2))  # cast + transpose, 1 pass
        wf = tw.reshape(-1)
        wB = torch.stack([c.index_select(0, wf).reshape(O, Cg, KH, KW) for c in t["B"]], 2)
        wB = wB.reshape(O, Cg * R * KH * KW)  # (o, c, r, ky, kx) like the unfolded rows
        kg, chunk = Cg * R * KH * KW, _chunk(form, eng)
        if groups > 1:  # one batched float64 product (exact: |partial sums| < 2^53) for all
            # groups, not one GEMM per group: a batched attention product has hundreds of them
            bchunk = _chunk(form, "fp64")
            wg, cg = wB.view(groups, Og, kg), colsT.view(groups, kg, N * L)
            for c0 in range(0, kg, bchunk):
                c1 = min(c0 + bchunk, kg)
                out.view(groups, Og, N * L).add_(
                    torch.bmm(wg[:, :, c0:c1].double(), cg[:, c0:c1].double()).to(acc))
        else:
            for c0 in range(0, kg, chunk):
                c1 = min(c0 + chunk, kg)
                out += _mm(wB[:, c0:c1].contiguous(), colsT[c0:c1], eng).to(acc)
    out = out.reshape(O, N, L).permute(1, 0, 2).contiguous()  # (N, O, L)
    if t["ua"] is not None:  # Σ over each window of U[x]: float64 is exact here (< 2^53)
        rows = unfold([t["ua"]], torch.float64).reshape(N, groups, K, L).sum(2)
        out += rows.to(acc).repeat_interleave(Og, dim=1)
    col = torch.full((O,), K * form.const, dtype=acc, device=tx.device)
    if t["vb"] is not None:
        col += t["vb"].index_select(0, tw.reshape(-1)).reshape(O, K).sum(1, dtype=acc)
    out += col[None, :, None]
    return out.reshape(N, O, OH, OW)


def stack_matmul(a, b, luts, lut_index):
    """lut_matmul for a LutStack carrying bit-linear forms: one GEMM per LUT over its columns."""
    if lut_index is None:
        return bitlinear_matmul(a, b, luts.forms[0])
    return _per_filter(lambda form, cols: bitlinear_matmul(a, _take(b, cols, 1), form),
                       luts, lut_index, axis=-1)


def stack_conv2d(x, w, luts, lut_index, stride, padding, dilation, groups, pad_code):
    """lut_conv2d for a LutStack carrying bit-linear forms: one conv per LUT (per-filter
    selection only with groups=1, as the caller checks)."""
    def conv(form, filters):
        return bitlinear_conv2d(x, filters, form, stride, padding, dilation, groups,
                                pad_code=pad_code)

    if lut_index is None:
        return conv(luts.forms[0], w)
    return _per_filter(lambda form, cols: conv(form, _take(w, cols, 0)), luts, lut_index, axis=1)


def _per_filter(run, luts, lut_index, axis: int):
    """Run each LUT's form on the filters selecting it; scatter the parts along `axis`."""
    sel = np.asarray(arrays.to_host(lut_index))
    check_index("lut_index", sel, luts.count)
    out = None
    for lut in np.unique(sel):
        cols = np.flatnonzero(sel == lut)
        part = run(luts.forms[int(lut)], cols)
        where = [slice(None)] * part.ndim
        where[axis] = cols
        if arrays.is_torch(part):
            import torch

            where[axis] = torch.as_tensor(cols, device=part.device)
        if out is None:
            shape = list(part.shape)
            shape[axis] = len(sel)
            out = (torch.empty(shape, dtype=part.dtype, device=part.device)
                   if arrays.is_torch(part) else np.empty(shape, dtype=part.dtype))
        out[tuple(where)] = part
    return out


def _take(x, cols: np.ndarray, axis: int):
    if arrays.is_torch(x):
        import torch

        return x.index_select(axis, torch.as_tensor(cols, device=x.device))
    return np.take(np.asarray(x), cols, axis=axis)
