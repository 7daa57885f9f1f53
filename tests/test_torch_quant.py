"""axhw.torch: bit-exactness against a pure integer reference, LUT selection, gradients, errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import axhw.torch as at  # noqa: E402
from axhw.infra.errors import AxhwError  # noqa: E402
from axhw.gen.families import make  # noqa: E402
from axhw.design.golden import golden_lut, to_value  # noqa: E402
from axhw.torch.quant import AbsObserver, QuantConfig  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1), nn.ReLU(),
        nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=3, bias=False), nn.Tanh(),
        nn.Flatten(), nn.Linear(6 * 4 * 4, 5))


# -- pure integer reference of the documented scheme (numpy int64, independent of axhw.torch) --
def ref_scale(amax, bits, signed):
    qmax = (1 << (bits - 1)) - 1 if signed else (1 << bits) - 1
    amax = np.float32(amax)
    return np.where(amax > 0, amax / np.float32(qmax), np.float32(1)).astype(np.float32), qmax


def ref_quant(x, scale, qmax):
    return np.clip(np.round(x / scale), -qmax, qmax).astype(np.int64)


def ref_product(table, signed, bits, qa, qb):
    """Products of integer operand values through the table, sign-magnitude when unsigned."""
    if signed:
        m = (1 << bits) - 1
        return table[qa & m, qb & m]
    return np.sign(qa) * np.sign(qb) * table[np.abs(qa), np.abs(qb)]


def ref_dequant(c, scale, dtype=np.float32):
    return (c.astype(np.float64) * scale.astype(np.float64)).astype(dtype)


def ref_linear(x, layer, table, signed, bits):
    w = layer.weight.detach().numpy()
    sx, qmax = ref_scale(float(layer.act_amax[0]), bits, signed)
    sw, _ = ref_scale(np.abs(w).max(1), bits, signed)
    qx, qw = ref_quant(x, sx, qmax), ref_quant(w, sw[:, None], qmax)
    c = ref_product(table, signed, bits, qx[:, :, None], qw.T[None]).sum(1)
    y = ref_dequant(c, sx * sw)
    return y if layer.bias is None else y + layer.bias.detach().numpy()


def ref_conv(x, layer, table, signed, bits):
    (sh, sw_), (ph, pw), _, groups = layer.geometry
    w = layer.weight.detach().numpy()
    sx, qmax = ref_scale(float(layer.act_amax[0]), bits, signed)
    sw, _ = ref_scale(np.abs(w).reshape(len(w), -1).max(1), bits, signed)
    qx = np.pad(ref_quant(x, sx, qmax), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    qw = ref_quant(w, sw[:, None, None, None], qmax)
    B, C, H, W = qx.shape
    O, Cg, KH, KW = qw.shape
    OH, OW = (H - KH) // sh + 1, (W - KW) // sw_ + 1
    c = np.zeros((B, O, OH, OW), dtype=np.int64)
    for o in range(O):
        g = o // (O // groups)
        for ci in range(Cg):
            for ky in range(KH):
                for kx in range(KW):
                    patch = qx[:, g * Cg + ci, ky:ky + sh * OH:sh, kx:kx + sw_ * OW:sw_]
                    c[:, o] += ref_product(table, signed, bits, patch, qw[o, ci, ky, kx])
    y = ref_dequant(c, sx * sw[None, :, None, None])
    return y if layer.bias is None else y + layer.bias.detach().numpy()[None, :, None, None]


def ref_model(x, q, table, signed, bits):
    h = ref_conv(x, q[0], table, signed, bits)
    h = torch.relu(torch.from_numpy(h)).numpy()
    h = ref_conv(h, q[2], table, signed, bits)
    h = torch.tanh(torch.from_numpy(h)).numpy().reshape(len(h), -1)
    return ref_linear(h, q[5], table, signed, bits)


@pytest.mark.parametrize("bits,signed", [(8, False), (8, True), (4, True), (2, False)])
def test_exact_lut_equals_integer_reference_bit_for_bit(bits, signed):
    model = small_cnn()
    x = torch.randn(6, 2, 8, 8)
    q = at.approximate(model, {"*": make("exact", bits, signed=signed)}, [x[:3], x[3:]], bits=bits)
    got = q(x).detach().numpy()
    want = ref_model(x.numpy(), q, golden_lut(make("exact", bits, signed=signed)), signed, bits)
    assert got.dtype == want.dtype == np.float32
    assert np.array_equal(got, want)
    if bits == 8:  # and the quantized model stays close to the float one
        assert np.abs(got - model(x).detach().numpy()).max() < 0.05


def test_approximate_lut_and_per_filter_selection_match_reference():
    model = small_cnn()
    x = torch.randn(4, 2, 8, 8)
    perf = make("perforated", 8, start=0, count=3)
    table = golden_lut(perf)
    per_filter = [perf if o % 2 else "exact" for o in range(6)]
    q = at.approximate(model, {"0": per_filter, "*": perf}, x, calibration="minmax")
    assert q[0].op.index.tolist() == [0, 1, 0, 1, 0, 1]  # tables in order of first use
    h = q[0](x).detach().numpy()
    want_perf = ref_conv(x.numpy(), q[0], table, False, 8)
    want_exact = ref_conv(x.numpy(), q[0], golden_lut(make("exact", 8)), False, 8)
    assert np.array_equal(h[:, 1::2], want_perf[:, 1::2])
    assert np.array_equal(h[:, 0::2], want_exact[:, 0::2])
    assert not np.array_equal(want_perf, want_exact)
    got = q(x).detach().numpy()
    assert np.array_equal(q[5](torch.tanh(q[2](torch.relu(q[0](x)))).flatten(1)).detach().numpy(),
                          got)


def test_per_kernel_assignment():
    torch.manual_seed(1)
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False))
    x = torch.rand(2, 3, 6, 6)
    perf = make("perforated", 8, start=0, count=4)
    grid = [[perf if (o + c) % 2 else "exact" for c in range(3)] for o in range(4)]
    q = at.approximate(conv, {"0": grid}, x, calibration="minmax")
    assert q[0].op.index.shape == (4, 3)
    got = q(x).detach().numpy()
    # reference: sum over input channels of single-channel convolutions, each with its table
    layer = q[0]
    sx, qmax = ref_scale(float(layer.act_amax[0]), 8, False)
    w = layer.weight.detach().numpy()
    sw, _ = ref_scale(np.abs(w).reshape(4, -1).max(1), 8, False)
    qx, qw = ref_quant(x.numpy(), sx, qmax), ref_quant(w, sw[:, None, None, None], qmax)
    tables = {0: golden_lut(make("exact", 8)), 1: golden_lut(perf)}
    c = np.zeros((2, 4, 4, 4), dtype=np.int64)
    for o in range(4):
        for ci in range(3):
            t = tables[(o + ci) % 2]
            for ky in range(3):
                for kx in range(3):
                    c[:, o] += ref_product(t, False, 8, qx[:, ci, ky:ky + 4, kx:kx + 4], qw[o, ci, ky, kx])
    assert np.array_equal(got, ref_dequant(c, sx * sw[None, :, None, None]))


def test_observers_minmax_and_percentile():
    x = torch.cat([torch.linspace(-1, 1, 100_000), torch.tensor([50.0])])
    mm = AbsObserver(QuantConfig(calibration="minmax"))
    pc = AbsObserver(QuantConfig(calibration="percentile", percentile=99.9))
    for part in (x[:50_000], x[50_000:]):  # second batch extends the histogram range
        mm.observe(part)
        pc.observe(part)
    assert mm.amax() == 50.0
    assert abs(pc.amax() - 0.999) < 0.03  # the 99.9th percentile of |x|, not the outlier


# -- gradients --------------------------------------------------------------------------------
def authors_gradients(lut, h):
    """A loop transcription of Meng et al.'s gen_bp_lut.py rules (clipped-window mean, interior
    central difference, edge (max - min) / N with the grad_a row quirk)."""
    n = lut.shape[0]
    sa, sb = np.zeros((n, n)), np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            sb[a, b] = lut[a, max(0, b - h):min(n, b + h + 1)].mean()
            sa[a, b] = lut[max(0, a - h):min(n, a + h + 1), b].mean()
    ga, gb = np.zeros((n, n)), np.zeros((n, n))
    for a in range(n):
        for b in range(n):
            gb[a, b] = (sb[a, b + 1] - sb[a, b - 1]) / 2 if h + 1 <= b <= n - 2 - h \
                else (lut[a].max() - lut[a].min()) / n
            ga[a, b] = (sa[a + 1, b] - sa[a - 1, b]) / 2 if h + 1 <= a <= n - 2 - h \
                else (lut[b].max() - lut[b].min()) / n
    return ga, gb


def test_lut_difference_gradient_matches_authors_rules_and_quirk():
    rng = np.random.default_rng(0)
    exact = golden_lut(make("exact", 5))
    asym = exact + rng.integers(-40, 40, size=exact.shape) * (np.arange(32)[:, None] > 3)
    for h in (1, 2, 4):
        ga, gb = authors_gradients(asym, h)
        qa, qb = at.lut_difference_gradients(asym, False, h, code_quirk=True)
        assert np.allclose(qa, ga) and np.allclose(qb, gb)
        pa, _ = at.lut_difference_gradients(asym, False, h)  # paper rule: column b at the edges
        edge = np.r_[0:h + 1, 32 - 1 - h:32]
        want = (asym.max(0) - asym.min(0)) / 32
        assert np.allclose(pa[edge], np.broadcast_to(want, (len(edge), 32)))
        assert not np.allclose(pa, qa)
    # exact multiplier: the smoothed difference is the exact derivative inside the window
    ga, gb = at.lut_difference_gradients(exact, False, 3)
    b = np.arange(32)
    assert np.allclose(ga[4:27], np.broadcast_to(b, (23, 32)))
    assert np.allclose(gb[:, 4:27], np.broadcast_to(b[:, None], (32, 23)))


def test_signed_lut_gradient_in_value_order():
    spec = make("exact", 4, signed=True)
    ga, _ = at.lut_difference_gradients(golden_lut(spec), True, 1)
    vals = to_value(np.arange(16), 4, True)
    inner = (vals > -7) & (vals < 6)  # H < rank < N-1-H in value order
    assert np.allclose(ga[inner], np.broadcast_to(vals, (inner.sum(), 16)))
    edge = ga[~inner]
    assert np.allclose(edge, np.broadcast_to(vals * 15 / 16, edge.shape))


@pytest.mark.parametrize("signed", [False, True])
def test_ste_gradient_is_fake_quant_gradient(signed):
    torch.manual_seed(2)
    lin = nn.Sequential(nn.Linear(7, 3))
    x = torch.randn(5, 7)
    q = at.approximate(lin, {"*": make("exact", 8, signed=signed)}, x, calibration="minmax")
    layer = q[0]
    xr = x.clone().requires_grad_(True)
    q(xr).square().sum().backward()
    # the same forward as fake quantization with straight-through rounding in plain torch
    from axhw.torch.quant import quantize
    xs, ws = layer.act_scale(), layer.weight_scale(layer.weight)
    x2 = x.clone().requires_grad_(True)
    w2 = layer.weight.detach().clone().requires_grad_(True)
    fx = x2 + (quantize(x2, xs, 8, signed) * xs - x2).detach()
    fw = w2 + (quantize(w2, ws[:, None], 8, signed) * ws[:, None] - w2).detach()
    (fx @ fw.T + layer.bias.detach()).square().sum().backward()
    assert torch.allclose(xr.grad, x2.grad, rtol=1e-4, atol=1e-5)
    assert torch.allclose(layer.weight.grad, w2.grad, rtol=1e-4, atol=1e-5)


def test_lut_gradient_backward_matches_table_contraction():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 16, 2))
    x = torch.rand(2, 2, 4, 4)
    perf = make("perforated", 6, start=0, count=2)
    q = at.approximate(model, {"*": perf}, x, bits=6, calibration="minmax", gradient="lut",
                       half_window=2)
    xr = x.clone().requires_grad_(True)
    q(xr).sum().backward()
    lin = q[3]
    h = torch.relu(q[0](x)).flatten(1).detach()
    _, gb = at.lut_difference_gradients(golden_lut(perf), False, 2)
    sx, qmax = ref_scale(float(lin.act_amax[0]), 6, False)
    w = lin.weight.detach().numpy()
    sw, _ = ref_scale(np.abs(w).max(1), 6, False)
    qx, qw = ref_quant(h.numpy(), sx, qmax), ref_quant(w, sw[:, None], qmax)
    # sign-magnitude product P = sign(a) sign(b) L(|a|,|b|), so dP/db = sign(a) dL/d|b|, and
    # d(sum y)/dw[n,k] = sx sw[n] Σ_m dP/db / sw[n] (row 0 of this table is 0, so sign(0) is moot)
    contrib = np.sign(qx)[:, None, :] * gb[np.abs(qx)[:, None, :], np.abs(qw)[None]]
    want = sx * contrib.sum(0)
    assert np.allclose(lin.weight.grad.numpy(), want, rtol=1e-5, atol=1e-6)


# -- errors -----------------------------------------------------------------------------------
def test_unknown_glob_lists_layers():
    with pytest.raises(AxhwError, match=r"'conv\*' matches no layer; layers: 0, 2, 5"):
        at.approximate(small_cnn(), {"conv*": "exact"}, torch.randn(2, 2, 8, 8))


@pytest.mark.parametrize("assign,kw,msg", [
    ({"*": make("exact", 4)}, {}, "has 4-bit operands but the layers are quantized to 8 bits"),
    ({"*": np.zeros((16, 16), dtype=np.int64)}, {"bits": 6}, "4-bit operands .* quantized to 6"),
    ({"*": "exact"}, {"bits": 9}, r"bits=9 is out of range: valid is 2..8"),
    ({"0": ["exact"] * 5}, {}, "per-filter assignment has 5 entries, the layer has 6"),
    ({"0": ["exact", "exact:signed=1"] * 3}, {}, "mixes signed and unsigned"),
    ({"*": "nosuch"}, {}, "unknown type 'nosuch'"),
    ({"*": "perforated:start"}, {}, "expected KEY=VALUE"),
    ({"*": np.zeros((5, 5))}, {}, r"square 2\^n x 2\^n table"),
    ({"*": "exact"}, {"calibration": "mse"}, "calibration='mse' is not valid"),
    ({"*": "exact"}, {"gradient": "fd"}, "gradient='fd' is not valid"),
    ({"*": "/nonexistent/d.json"}, {}, "design file not found"),
])
def test_bad_input_is_one_line_axhw_error(assign, kw, msg):
    with pytest.raises(AxhwError, match=msg) as err:
        at.approximate(small_cnn(), assign, torch.randn(2, 2, 8, 8), **kw)
    assert "\n" not in str(err.value)


def test_bad_calibration_data():
    with pytest.raises(AxhwError, match="yielded no batch"):
        at.approximate(small_cnn(), {"*": "exact"}, [])
    with pytest.raises(AxhwError, match="not a tensor"):
        at.approximate(small_cnn(), {"*": "exact"}, [{"x": 1}])


@pytest.mark.parametrize("bits,signed", [(8, False), (8, True), (4, True)])
def test_no_grad_path_equals_reference_and_follows_weight_updates(bits, signed):
    """Without a graph the layers take the fused quantizer, cached weight codes and the float32
    dequantization: still the integer reference bit for bit, and in-place weight updates are
    seen, also through ``.data`` (which does not move the version counter)."""
    model = small_cnn()
    x = torch.randn(6, 2, 8, 8)
    design = make("exact", bits, signed=signed)
    table = golden_lut(design)
    q = at.approximate(model, {"*": design}, x, bits=bits)
    with torch.no_grad():
        got = q(x).numpy()
        assert np.array_equal(got, ref_model(x.numpy(), q, table, signed, bits))
        assert np.array_equal(q(x).numpy(), got)
        q[0].weight.mul_(-0.5)
        moved = q(x).numpy()
    assert not np.array_equal(moved, got)
    assert np.array_equal(moved, ref_model(x.numpy(), q, table, signed, bits))
    assert np.array_equal(q(x).detach().numpy(), moved)  # the autograd path gives the same bits
    q[5].weight.data[0].mul_(3)
    with torch.no_grad():
        again = q(x).numpy()
    assert not np.array_equal(again, moved)
    assert np.array_equal(again, ref_model(x.numpy(), q, table, signed, bits))


@pytest.mark.parametrize("bits,signed", [(8, True), (8, False), (3, True)])
def test_fused_quantizer_equals_quantize_then_codes(bits, signed):
    from axhw.torch.kernels import quantize_codes
    from axhw.torch.quant import codes, quantize

    s = torch.tensor(0.0123456)
    steps = torch.arange(-600, 600, dtype=torch.float32)
    x = torch.cat([torch.randn(20000) * 2, (steps + 0.5) * s, steps * s])  # ties round to even
    out = torch.empty(x.shape, dtype=torch.int32)
    quantize_codes(x.numpy(), np.float32(s.item()), bits, signed, out.numpy())
    assert torch.equal(out, codes(quantize(x, s, bits, signed), bits, signed))


def test_float32_dequantize_equals_float64_rounding():
    from axhw.torch.functional import FP32_EXACT, _dequant

    g = torch.Generator().manual_seed(0)
    n = 200000
    c = torch.randint(-FP32_EXACT + 1, FP32_EXACT, (n,), dtype=torch.int32, generator=g)
    s = torch.rand(n, generator=g) * 10.0 ** torch.randint(-30, 4, (n,), generator=g)
    fast = _dequant(c, s, torch.float32, FP32_EXACT - 1)
    assert torch.equal(fast, _dequant(c, s, torch.float32, FP32_EXACT))  # the float64 route
    assert not torch.equal(fast, (c.double() * s.double() * (1 + 2**-20)).float())
