"""Every multiplication of a real model is emulated, or reported (issue 17 §1).

Architectures written here mirror torchvision's ResNet-18 / MobileNetV2 / ViT-B encoder block and
timm's ViT block (fused SDPA and non-fused attention), a Swin window attention with relative
position bias and the shifted-window mask (q/k/v through F.linear on the module's weights, as
torchvision does), timm's StdConv2d (weight standardisation) and Conv2dSame, plus Conv1d /
ConvTranspose2d / einsum. Each: coverage 100 % of MACs, float routing equal to the model, and the
exact 8-bit emulation equal bit for bit to an integer re-implementation of the quantization
written here in plain torch.
"""

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import axhw.torch as at  # noqa: E402
from axhw.infra.errors import AxhwError  # noqa: E402
from axhw.torch.modules import ApproxCall, ApproxConv2d, ApproxMatmul  # noqa: E402
from axhw.torch.sites import attention  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------- mirrored architectures
class BasicBlock(nn.Module):  # torchvision.models.resnet.BasicBlock
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet18(nn.Module):  # torchvision layout, one block per stage, width 8
    def __init__(self, w=8, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 7, 2, 3, bias=False)
        self.bn1, self.relu, self.maxpool = nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        self.layer1, self.layer2 = BasicBlock(w, w), BasicBlock(w, 2 * w, 2)
        self.layer3, self.layer4 = BasicBlock(2 * w, 4 * w, 2), BasicBlock(4 * w, 8 * w, 2)
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(8 * w, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def conv_bn_relu6(cin, cout, k=3, stride=1, groups=1):  # torchvision Conv2dNormActivation
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = [conv_bn_relu6(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),  # depthwise
                   nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(conv_bn_relu6(3, 8, stride=2), InvertedResidual(8, 8, 1, 1),
                                      InvertedResidual(8, 12, 2, 6), InvertedResidual(12, 12, 1, 6),
                                      conv_bn_relu6(12, 32, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class EncoderBlock(nn.Module):  # torchvision.models.vision_transformer.EncoderBlock
    def __init__(self, dim, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.mlp(self.ln_2(x))


class TimmAttention(nn.Module):  # timm.models.vision_transformer.Attention (current keywords)
    def __init__(self, dim, heads, fused, causal=False):
        super().__init__()
        self.num_heads, self.head_dim = heads, dim // heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn, self.causal = fused, causal
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm, self.k_norm = nn.Identity(), nn.Identity()
        self.attn_drop, self.proj, self.proj_drop = nn.Dropout(0.1), nn.Linear(dim, dim), nn.Dropout(0.0)

    def forward(self, x, attn_mask=None):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=self.causal,
                                               dropout_p=self.attn_drop.p if self.training else 0.0)
        else:
            attn = (q * self.scale) @ k.transpose(-2, -1)
            attn = self.attn_drop(attn.softmax(dim=-1))
            x = attn @ v
        return self.proj_drop(self.proj(x.transpose(1, 2).reshape(B, N, C)))


class TimmBlock(nn.Module):
    def __init__(self, dim, heads, fused, causal=False):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = TimmAttention(dim, heads, fused, causal)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x, attn_mask=None):
        x = x + self.attn(self.norm1(x), attn_mask=attn_mask)
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Patch conv + class token + blocks + head; `kind`: torchvision (MHA), timm fused / non-fused."""

    def __init__(self, kind, image=8, patch=2, dim=16, heads=2, classes=5):
        super().__init__()
        self.conv_proj = nn.Conv2d(3, dim, patch, patch)
        self.class_token = nn.Parameter(torch.randn(1, 1, dim) * 0.5)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.5)
        make = {"torchvision": lambda: EncoderBlock(dim, heads),
                "timm-fused": lambda: TimmBlock(dim, heads, True),
                "timm": lambda: TimmBlock(dim, heads, False),
                "timm-causal": lambda: TimmBlock(dim, heads, True, causal=True)}[kind]
        self.blocks = nn.Sequential(make(), make())
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        x = self.conv_proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(len(x), -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def window_partition(x, w):
    B, H, W, C = x.shape
    return x.view(B, H // w, w, W // w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, w, w, C)


def window_reverse(windows, w, H, W):
    C = windows.shape[-1]
    return windows.view(-1, H // w, W // w, w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, H, W, C)


class WindowAttention(nn.Module):
    """Swin window attention: relative position bias, shifted-window mask, and q/k/v through
    F.linear on the module's own weights (torchvision's shifted_window_attention)."""

    def __init__(self, dim, heads, window):
        super().__init__()
        self.num_heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads))
        c = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("relative_position_index", rel[..., 0] * (2 * window - 1) + rel[..., 1])

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias)
        q, k, v = qkv.reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        attn = attn + bias.view(N, N, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = (attn.view(-1, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0))
            attn = attn.view(-1, self.num_heads, N, N)
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, C)
        return F.linear(x, self.proj.weight, self.proj.bias)


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, res, window, shift):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        mask = None
        if shift:
            img = torch.zeros(1, res, res, 1)
            cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
            for i, (h, w) in enumerate((h, w) for h in cuts for w in cuts):
                img[:, h, w, :] = i
            mw = window_partition(img, window).view(-1, window * window)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer("attn_mask", mask)

    def forward(self, x):
        B, H, W, C = x.shape
        y = self.norm1(x)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        y = self.attn(window_partition(y, self.window).view(-1, self.window ** 2, C), mask=self.attn_mask)
        y = window_reverse(y.view(-1, self.window, self.window, C), self.window, H, W)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class Swin(nn.Module):
    def __init__(self, dim=16, heads=2, classes=5):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 2, 2)
        self.blocks = nn.Sequential(SwinBlock(dim, heads, 4, 2, 0), SwinBlock(dim, heads, 4, 2, 1))
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.blocks(self.patch(x).permute(0, 2, 3, 1))
        return self.head(x.mean((1, 2)))


class StdConv2d(nn.Conv2d):  # timm.layers.std_conv.StdConv2d
    def forward(self, x):
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True,
                         momentum=0.0, eps=1e-6).reshape_as(self.weight)
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv2dSame(nn.Conv2d):  # timm.layers.conv2d_same.Conv2dSame: TF "same" padding
    def forward(self, x):
        ih, iw = x.shape[-2:]
        pads = []
        for i, s, k, d in zip((ih, iw), self.stride, self.kernel_size, self.dilation):
            pads.append(max((math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0))
        x = F.pad(x, [pads[1] // 2, pads[1] - pads[1] // 2, pads[0] // 2, pads[0] - pads[0] // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


class LoRALinear(nn.Linear):  # a LoRA-style wrapper: its own forward, extra low-rank path
    def __init__(self, cin, cout, rank=2):
        super().__init__(cin, cout)
        self.lora_a, self.lora_b = nn.Linear(cin, rank, bias=False), nn.Linear(rank, cout, bias=False)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias) + 0.5 * self.lora_b(self.lora_a(x))


class Subclasses(nn.Module):
    def __init__(self):
        super().__init__()
        self.std = StdConv2d(3, 6, 3, padding=1)
        self.same = Conv2dSame(6, 6, 3, stride=2)
        self.lora = LoRALinear(6, 4)

    def forward(self, x):
        return self.lora(self.same(torch.relu(self.std(x))).mean((2, 3)))


class Misc(nn.Module):
    """Conv1d, ConvTranspose2d (stride, groups, output_padding), a reflect-padded and a
    padding='same' Conv2d (odd total), an einsum and a bmm over two activations."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1, groups=1)
        self.upg = nn.ConvTranspose2d(4, 4, 2, stride=2, groups=2)
        self.reflect = nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")
        self.same = nn.Conv2d(4, 4, 4, padding="same", dilation=1)
        self.seq = nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=1)

    def forward(self, x):
        x = self.same(self.reflect(self.upg(torch.relu(self.up(x)))))
        s = self.seq(x.flatten(2))  # (B, 6, L)
        return (torch.einsum("bcl,bdl->bcd", s, s) + torch.bmm(s, s.transpose(1, 2))).flatten(1)


# ---------------------------------------------------------------- integer reference
def _scale(amax, signed):
    m = 127 if signed else 255
    amax = amax.detach().to(torch.float32)
    return torch.where(amax > 0, amax / m, torch.ones_like(amax)), m


def _q(x, scale, m):
    return torch.clamp(torch.round(x / scale), -m, m).to(torch.int64)


def _wq(w, signed):
    s, m = _scale(w.detach().abs().flatten(1).amax(1), signed)
    return _q(w, s.view((-1,) + (1,) * (w.dim() - 1)), m), s


def _deq(c, scale):
    return (c.to(torch.float64) * scale.to(torch.float64)).to(torch.float32)


def _pads(padding, w, dilation, n):
    """F.pad widths of 'same'/'valid' (extra on the right), or None for integer padding."""
    if not isinstance(padding, str):
        return None
    d = dilation if isinstance(dilation, (tuple, list)) else (dilation,) * n
    widths = []
    for k, dd in reversed(list(zip(w.shape[2:], d))):
        t = dd * (k - 1) if padding == "same" else 0
        widths += [t // 2, t - t // 2]
    return widths


def reference(layer, calls):
    """Integer re-implementation of the documented scheme for one site, installed on `layer`."""
    signed = layer.op.signed

    def act(x, i=0):
        s, m = _scale(layer.act_amax[i], signed)
        return _q(x, s, m), s

    def linear(x, w, b):
        calls.add(id(layer))
        (qx, sx), (qw, sw) = act(x), _wq(w, signed)
        y = _deq(qx @ qw.T, sx * sw)
        return y if b is None else y + b

    def conv(fn, n):
        def run(x, w, b, stride=1, padding=0, dilation=1, groups=1):
            calls.add(id(layer))
            (qx, sx), (qw, sw) = act(x), _wq(w, signed)
            pads = _pads(padding, w, dilation, n)
            if pads is not None:
                qx, padding = F.pad(qx, pads), 0
            c = fn(qx.double(), qw.double(), None, stride, padding, dilation, groups).to(torch.int64)
            y = _deq(c, sx * sw.view((1, -1) + (1,) * n))
            return y if b is None else y + b.view((1, -1) + (1,) * n)
        return run

    def conv_transpose2d(x, w, b, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        calls.add(id(layer))
        qx, sx = act(x)
        cin_g, cout_g = w.shape[0] // groups, w.shape[1]
        per_out = w.reshape(groups, cin_g, cout_g, -1).transpose(1, 2).reshape(groups * cout_g, -1)
        s, m = _scale(per_out.detach().abs().amax(1), signed)
        qw = _q(w, s.view(groups, 1, cout_g, 1, 1).expand(groups, cin_g, cout_g, 1, 1)
                .reshape(-1, cout_g, 1, 1), m)
        c = F.conv_transpose2d(qx.double(), qw.double(), None, stride, padding, output_padding,
                               groups, dilation).to(torch.int64)
        y = _deq(c, sx * s.view(1, -1, 1, 1))
        return y if b is None else y + b.view(1, -1, 1, 1)

    def matmul(a, b):
        calls.add(id(layer))
        (qa, sa), (qb, sb) = act(a, 0), act(b, 1)
        return _deq(torch.matmul(qa, qb), sa * sb)

    if isinstance(layer, ApproxMatmul):
        layer.forward = matmul
    else:
        layer.linear, layer.conv_transpose2d = linear, conv_transpose2d
        layer.conv2d, layer.conv1d = conv(F.conv2d, 2), conv(F.conv1d, 1)


def check_bit_exact(model, x, design, **kw):
    """Coverage 100 %, float routing equal to the model, exact emulation == integer reference."""
    model.eval()
    cov = at.coverage(model, x)
    assert cov["emulated"].all(), cov[~cov["emulated"]]
    assert (cov["macs"] > 0).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no site left exact, no calibration fallback
        warnings.filterwarnings("ignore", message="Using padding='same'")
        q = at.approximate(model, {"*": design}, x, **kw)
    layers = at.approx_layers(q)
    assert set(layers) == set(cov["name"])
    with torch.no_grad():
        want_float = model(x)
        for layer in layers.values():  # every site in float: the routed model is the model
            layer.calibrating = True
        assert torch.allclose(q(x), want_float, atol=1e-5, rtol=1e-4)
        for layer in layers.values():
            layer.calibrating = False
        got = q(x)
        calls: set[int] = set()
        for layer in layers.values():
            reference(layer, calls)
        want = q(x)
    assert calls == {id(layer) for layer in layers.values()}  # every site ran the reference
    assert got.dtype == want.dtype == torch.float32
    assert torch.equal(got, want)
    assert not torch.equal(got, want_float)  # the quantization happened
    return cov, q


@pytest.mark.parametrize("make,design", [
    (ResNet18, "exact"),
    (MobileNetV2, "exact"),
    (lambda: ViT("torchvision"), "exact:signed=1"),
    (lambda: ViT("timm-fused"), "exact:signed=1"),
    (lambda: ViT("timm"), "exact"),
    (lambda: ViT("timm-causal"), "exact:signed=1"),
    (Swin, "exact:signed=1"),
    (Subclasses, "exact"),
    (Misc, "exact:signed=1"),
], ids=["resnet18", "mobilenetv2", "vit-torchvision", "vit-timm-fused", "vit-timm", "vit-timm-causal",
        "swin", "subclasses", "misc"])
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on the even kernel
def test_mirrored_architecture_fully_covered_and_bit_exact(make, design):
    torch.manual_seed(0)
    model = make()
    x = torch.randn(2, 3, 32, 32) if isinstance(model, (ResNet18, MobileNetV2)) else torch.randn(2, 3, 8, 8)
    check_bit_exact(model, x, design)


def test_site_names_kinds_and_macs():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    cov = at.coverage(ViT("timm-fused"), x).set_index("name")
    N, dim = 17, 16  # tokens, width
    for b in (0, 1):  # SDPA = two products, named like the non-fused ones
        assert cov.loc[f"blocks.{b}.attn.qk", "kind"] == "attention"
        assert cov.loc[f"blocks.{b}.attn.qk", "macs"] == cov.loc[f"blocks.{b}.attn.av", "macs"] == N * N * dim
    assert cov.loc["blocks.0.attn.qkv", "macs"] == N * dim * 3 * dim
    mha = at.coverage(ViT("torchvision"), x).set_index("name")
    assert mha.loc["blocks.0.self_attention.out_proj", "macs"] == N * dim * dim  # called functionally by torch
    assert {"blocks.0.self_attention.q_proj", "blocks.0.self_attention.qk"} <= set(mha.index)
    swin = at.coverage(Swin(), x).set_index("name")
    assert swin.loc["blocks.1.attn.qkv", "kind"] == "linear"  # F.linear on the module's weights
    assert swin.loc["blocks.1.attn.qkv", "macs"] == 16 * 16 * 48 and swin.loc["blocks.1.attn.qk", "macs"] == 4 * 4 * 4 * 16
    sub = at.coverage(Subclasses(), x).set_index("name")
    assert sub.loc["std", "macs"] == 64 * 6 * 27 and sub.loc["same", "macs"] == 16 * 6 * 54
    q = at.approximate(Subclasses(), {"*": "exact"}, x)
    assert isinstance(q.std, StdConv2d) and isinstance(q.std.axhw, ApproxCall)  # never swapped as a Conv2d
    assert not isinstance(q.same, ApproxConv2d) and isinstance(q.lora, LoRALinear)
    assert set(at.approx_layers(q)) == {"std", "same", "lora", "lora.lora_a", "lora.lora_b"}


def test_approximate_multiplier_changes_every_kind_of_site():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    model = Swin().eval()
    exact = at.approximate(model, {"*": "exact:signed=1"}, x)
    with torch.no_grad():
        base = exact(x)
        for glob in ("*.qkv", "*.qk", "*.av", "patch"):
            q = at.approximate(model, {glob: "perforated:start=0,count=4,signed=1", "*": "exact:signed=1"}, x)
            assert not torch.equal(q(x), base), glob


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_attention_decomposition_equals_sdpa(mask):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 7, 4), torch.randn(2, 3, 7, 6)
    kw = {"none": {}, "bool": {"attn_mask": torch.rand(5, 7) > 0.3},
          "float": {"attn_mask": torch.randn(2, 1, 5, 7)}, "causal": {"is_causal": True}}[mask]
    if mask == "bool":
        kw["attn_mask"][:, 0] = True
    if mask == "causal":
        k, v = k[..., :5, :], v[..., :5, :]
    for scale in (None, 0.3):
        want = F.scaled_dot_product_attention(q, k, v, scale=scale, **kw)
        assert torch.allclose(attention(q, k, v, scale=scale, **kw), want, atol=1e-6)


def test_unemulated_product_is_reported_and_warned():
    class WithConv3d(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)
            self.c3 = nn.Conv3d(1, 2, 1)

        def forward(self, x):
            return self.c3(self.fc(x).reshape(-1, 1, 2, 2, 2)).flatten(1)

    model, x = WithConv3d(), torch.randn(3, 8)
    cov = at.coverage(model, x).set_index("name")
    assert cov.loc["c3", "kind"] == "conv3d" and not cov.loc["c3", "emulated"]
    assert "no LUT emulation" in cov.loc["c3", "reason"] and cov.loc["fc", "emulated"]
    share = 100 * 16 / (64 + 16)
    with pytest.warns(UserWarning, match=rf"{share:.2f} % of the MACs .*c3"):
        q = at.approximate(model, {"*": "exact"}, x)
    assert set(at.approx_layers(q)) == {"fc"}
    with pytest.raises(AxhwError, match="cannot be emulated"):
        at.approximate(model, {"c3": "exact"}, x)


def test_expert_without_calibration_token_takes_sibling_clip_and_nan_is_named():
    class Experts(nn.Module):
        def __init__(self):
            super().__init__()
            self.experts = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
            self.lonely = nn.Linear(4, 4)

        def forward(self, x):  # expert 2 never gets a token, `lonely` is never called
            return self.experts[0](x) + self.experts[1](2 * x)

    model, x = Experts(), torch.randn(5, 4)
    with pytest.warns(UserWarning) as seen:
        q = at.approximate(model, {"*": "exact"}, x, calibration="minmax")
    messages = " | ".join(str(w.message) for w in seen)
    assert "experts.2 got no input during calibration; its clip values are the largest of its 2" in messages
    assert "lonely got no input during calibration and has no sibling" in messages
    assert "lonely" not in at.approx_layers(q) and type(q.lonely) is nn.Linear  # stays float
    amax = {n: float(m.act_amax[0]) for n, m in at.approx_layers(q).items()}
    assert amax["experts.2"] == amax["experts.1"] == pytest.approx(2 * x.abs().max().item())
    with pytest.warns(UserWarning, match="experts.0 saw only zeros"):
        at.approximate(model, {"*.0": "exact"}, torch.zeros(2, 4))
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(AxhwError, match="NaN or infinite"):
        at.approximate(model, {"*": "exact"}, bad)


def test_site_calibration_never_reached_warns_at_run_time():
    class SquareOnBigBatches(nn.Module):  # the product only runs on inputs calibration never had
        def forward(self, y):
            return y @ y.transpose(-2, -1) if y.shape[0] > 3 else y.sum(-1, keepdim=True)

    q = at.approximate(nn.Sequential(nn.Linear(4, 4), SquareOnBigBatches()), {"*": "exact"},
                       torch.randn(2, 4))
    assert set(at.approx_layers(q)) == {"0"}
    with pytest.warns(at.api.ExactSitesWarning, match="1.qk was not reached"):
        q(torch.randn(5, 4))
