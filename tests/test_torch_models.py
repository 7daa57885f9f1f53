"""axhw.torch on real model shapes (plain-torch ResNet-style CNN and ViT, random weights, CPU):
every conv/linear/attention matmul swapped, outputs close to float with an exact multiplier,
attention wrappers equal to the modules they replace."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import axhw.torch as at  # noqa: E402
from axhw.gen.families import make  # noqa: E402
from axhw.torch.modules import ApproxConv2d, ApproxLinear, ApproxMatmul, MultiheadAttention  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


def resnet(width=8, classes=10):
    return nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                         Block(width, width, 1), Block(width, 2 * width, 2),
                         Block(2 * width, 4 * width, 2), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4 * width, classes))


class Attention(nn.Module):
    """timm's ViT Attention layout (qkv Linear, num_heads, scale, proj)."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class ViTBlock(nn.Module):
    def __init__(self, dim, heads, mha):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mha = mha
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True) if mha else Attention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + (self.attn(h, h, h, need_weights=False)[0] if self.mha else self.attn(h))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, image=16, patch=4, dim=32, heads=4, classes=10):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(ViTBlock(dim, heads, False), ViTBlock(dim, heads, True))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], 1) + self.pos
        return self.head(self.norm(self.blocks(x))[:, 0])


def rel_err(a, b):
    return float((a - b).norm() / b.norm())


def test_resnet_style_cnn_all_layers():
    torch.manual_seed(0)
    model = resnet().eval()
    x = torch.randn(4, 3, 16, 16)
    names = at.candidate_layers(model)
    assert sum(k == "conv2d" for k in names.values()) == 9 and list(names.values()).count("linear") == 1
    q = at.approximate(model, {"*": make("exact", 8)}, [x[:2], x[2:]])
    layers = at.approx_layers(q)
    assert len(layers) == 10 and all(isinstance(m, (ApproxConv2d, ApproxLinear)) for m in layers.values())
    with torch.no_grad():
        assert rel_err(q(x), model(x)) < 0.05
    # approximate multiplier (per filter on the stem) runs and changes the result, gradients flow
    perf = make("perforated", 8, start=0, count=4)
    qa = at.approximate(model, {"0": [perf, "exact"] * 4, "*": perf}, x, gradient="lut")
    with torch.no_grad():
        assert 0 < rel_err(qa(x), q(x)) < 0.5
    qa.train()
    qa(x).sum().backward()
    assert qa[0].weight.grad is not None and qa[8].weight.grad.abs().sum() > 0


def test_vit_with_timm_and_torch_attention():
    torch.manual_seed(0)
    model = ViT().eval()
    x = torch.randn(2, 3, 16, 16)
    names = at.candidate_layers(model, x)  # the timm-style block's products need a forward pass
    assert "blocks.0.attn.qk" not in at.candidate_layers(model)
    for n in ("blocks.0.attn.qk", "blocks.0.attn.av", "blocks.1.attn.qk", "blocks.1.attn.av",
              "blocks.1.attn.q_proj", "blocks.1.attn.out_proj", "blocks.0.attn.qkv", "patch"):
        assert n in names
    assert "blocks.1.attn.out_proj" in names and names["blocks.0.attn.qk"] == "matmul"
    with torch.no_grad():
        ref = model(x)
    q = at.approximate(model, {"*": "exact:signed=1"}, x)
    assert isinstance(q.blocks[0].attn, Attention) and isinstance(q.blocks[1].attn, MultiheadAttention)
    assert isinstance(q.blocks[0].attn.qk, ApproxMatmul) and isinstance(q.blocks[1].attn.av, ApproxMatmul)
    # timm block: qkv, proj, qk, av, 2 mlp; MHA block: q/k/v/out_proj, qk, av, 2 mlp; patch, head
    assert len(at.approx_layers(q)) == 6 + 8 + 2
    with torch.no_grad():
        assert rel_err(q(x), ref) < 0.05
    # only the attention matmuls, with an approximate signed multiplier
    qm = at.approximate(model, {"*.qk": "perforated:start=0,count=3,signed=1",
                                "*.av": "roup:perforate=1,round=4,signed=1"}, x)
    assert set(at.approx_layers(qm)) == {"blocks.0.attn.qk", "blocks.0.attn.av",
                                         "blocks.1.attn.qk", "blocks.1.attn.av"}
    with torch.no_grad():
        assert 0 < rel_err(qm(x), ref) < 0.5


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_wrapper_matches_torch(batch_first):
    torch.manual_seed(1)
    mha = nn.MultiheadAttention(16, 4, batch_first=batch_first).eval()
    wrapped = MultiheadAttention(mha, "mha").eval()
    q, kv = torch.randn(3, 5, 16), torch.randn(3, 7, 16)
    if not batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    kpm = torch.zeros(3, 7, dtype=torch.bool)
    kpm[0, -2:] = True
    mask = torch.zeros(5, 7, dtype=torch.bool)
    mask[:, 0] = True
    with torch.no_grad():
        for kw in ({}, {"key_padding_mask": kpm, "attn_mask": mask},
                   {"average_attn_weights": False}):
            want = mha(q, kv, kv, **kw)
            got = wrapped(q, kv, kv, **kw)
            assert torch.allclose(got[0], want[0], atol=1e-5)
            assert torch.allclose(got[1], want[1], atol=1e-6)


@pytest.mark.parametrize("design", ["perforated:start=0,count=3,signed=1",
                                    "roup:perforate=1,round=4,signed=1"])
@pytest.mark.parametrize("gradient", ["ste", "lut"])
def test_batched_attention_matmul_equals_one_lut_matmul_per_slice(design, gradient):
    """ApproxMatmul runs a (B, M, K) @ (B, K, N) product as one grouped LUT call; forward values
    and both gradients equal one LutMatmul per slice (bit-linear and LUT-only designs)."""
    from axhw.torch.functional import LutMatmul

    torch.manual_seed(3)
    model = ViT().eval()
    q = at.approximate(model, {"*.qk": design}, torch.randn(2, 3, 16, 16), gradient=gradient)
    layer = q.blocks[0].attn.qk
    a = torch.randn(2, 3, 5, 4, requires_grad=True)
    b = torch.randn(2, 3, 4, 6, requires_grad=True)
    got = layer(a, b)
    got.sum().backward()
    a2, b2 = a.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    sa, sb = layer.act_scale(0), layer.act_scale(1)
    want = torch.stack([LutMatmul.apply(x, y, sa, sb, layer.op)
                        for x, y in zip(a2.reshape(6, 5, 4), b2.reshape(6, 4, 6))]).reshape(2, 3, 5, 6)
    want.sum().backward()
    assert torch.equal(got, want)
    assert torch.allclose(a.grad, a2.grad, atol=1e-6) and torch.allclose(b.grad, b2.grad, atol=1e-6)
    assert a.grad.abs().sum() > 0
