"""The seed papers' architectures, sized for 32x32 inputs (MNIST padded, CIFAR-10) and for training
on a CPU: CIFAR-style ResNet-8/20 (He et al. 2016, widths 16/32/64, 1x1-conv shortcuts), the AxMoE
ResNet-20 variants (its last stage as 4 experts, hard / soft / cluster routing), VGG11-bn, a
depthwise-separable MobileNet (v1) and a ViT (patch embedding, class token, pre-norm blocks,
timm-style attention whose Q·Kᵀ and A·V axhw.torch approximates). ``width`` scales every channel
count (tests use small widths); the default sizes are those of docs/dse.md "Built-in tasks"."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..infra.errors import AxhwError

__all__ = ["MOE_ROUTINGS", "Attention", "Block", "ViT", "BasicBlock", "Stage", "StageMoE", "ResNet",
           "vgg11_bn", "mobilenet", "fit_clusters", "pool_image"]

MOE_ROUTINGS = ("hard", "soft", "cluster")
CLUSTER_POOL = 4  # cluster routing compares images average-pooled to 4x4


def _ch(c: int, width: float) -> int:
    return max(1, round(c * width))


def pool_image(image: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(image, CLUSTER_POOL).flatten(1)


class Attention(nn.Module):
    """timm-style attention (qkv, num_heads, scale, proj): axhw.torch exposes its Q·Kᵀ and A·V."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class Block(nn.Module):
    """Pre-norm transformer block (ViT): x + attn(norm(x)), x + mlp(norm(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """ViT: patch embedding (a strided conv), class token, learned positions, `depth` blocks."""

    def __init__(self, image: int = 32, patch: int = 4, dim: int = 384, depth: int = 4, heads: int = 6,
                 mlp_ratio: float = 4.0, in_channels: int = 1, classes: int = 10):
        super().__init__()
        if image % patch or dim % heads:
            raise AxhwError(f"ViT: patch {patch} must divide image {image} and heads {heads} dim {dim}")
        self.patch = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*(Block(dim, heads, mlp_ratio) for _ in range(depth)))
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, classes)

    def forward(self, x):
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1) + self.pos
        return self.head(self.norm(self.blocks(t))[:, 0])


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def _stage(cin: int, cout: int, blocks: int, stride: int) -> nn.Sequential:
    return nn.Sequential(*(BasicBlock(cin if i == 0 else cout, cout, stride if i == 0 else 1)
                           for i in range(blocks)))


class Stage(nn.Module):
    """A ResNet stage followed by global average pooling: one AxMoE expert."""

    def __init__(self, cin: int, cout: int, blocks: int):
        super().__init__()
        self.body = _stage(cin, cout, blocks, 2)

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.body(x), 1).flatten(1)


class StageMoE(nn.Module):
    """AxMoE mixture over whole-image experts (``experts``, an nn.ModuleList, so ``--granularity
    expert`` and expert globs find them). The router sees the globally pooled input.
    hard: each image runs only its top-1 expert, scaled by the router's probability (Switch, with
    its load-balancing loss in training); soft: every expert runs, mixed by the router's softmax;
    cluster: each image goes to the expert whose centroid is nearest to the image itself, average
    pooled to 4x4 (``centroids``: k-means centres of the training images set by :func:`fit_clusters`
    before training; no learned router, so an image's expert never changes).
    ``load``: images each expert received in the last forward."""

    def __init__(self, experts: list[nn.Module], dim: int, routing: str, in_channels: int = 1,
                 balance: float = 0.25):
        super().__init__()
        if routing not in MOE_ROUTINGS:
            raise AxhwError(f"routing={routing!r}: choose one of {', '.join(MOE_ROUTINGS)}")
        self.routing, self.balance = routing, balance
        self.experts = nn.ModuleList(experts)
        if routing == "cluster":
            self.register_buffer("centroids", torch.zeros(len(experts), in_channels * CLUSTER_POOL ** 2))
        else:
            self.router = nn.Linear(dim, len(experts))
        self.register_buffer("load", torch.zeros(len(experts), dtype=torch.int64), persistent=False)

    def assign(self, image: torch.Tensor) -> torch.Tensor:
        """Cluster routing: the index of the centroid nearest to each pooled image."""
        return torch.cdist(pool_image(image), self.centroids).argmin(-1)

    def forward(self, x, image):
        if self.routing == "cluster":
            idx, gates = self.assign(image), None
        else:
            probs = self.router(F.adaptive_avg_pool2d(x, 1).flatten(1)).softmax(-1)
            if self.routing == "soft":
                self.load.fill_(len(x))
                return sum(probs[:, e:e + 1] * expert(x) for e, expert in enumerate(self.experts))
            idx = probs.argmax(-1)
            gates = probs.gather(-1, idx[:, None])
        out = None
        for e, expert in enumerate(self.experts):
            rows = (idx == e).nonzero(as_tuple=True)[0]
            self.load[e] = rows.numel()
            if rows.numel():
                y = expert(x[rows])
                y = y if gates is None else gates[rows] * y
                out = (x.new_zeros(len(x), y.shape[1]) if out is None else out).index_copy(0, rows, y)
        if self.routing == "hard" and self.training and self.balance > 0:
            from .moe import WithAuxLoss  # noqa: PLC0415 - the Switch balance of axhw.dse.moe

            share = self.load.to(probs.dtype) / len(x)
            out = WithAuxLoss.apply(out, len(self.experts) * (share * probs.mean(0)).sum(), self.balance)
        return out


class ResNet(nn.Module):
    """CIFAR ResNet of depth 6n+2 (n basic blocks per stage, widths 16/32/64 x width).
    ``moe``: the last stage as 4 experts behind a StageMoE of that routing (AxMoE)."""

    def __init__(self, depth: int = 20, width: float = 1.0, in_channels: int = 1, classes: int = 10,
                 moe: str | None = None, experts: int = 4):
        super().__init__()
        if (depth - 2) % 6:
            raise AxhwError(f"ResNet depth {depth}: must be 6n+2")
        n, (c1, c2, c3) = (depth - 2) // 6, (_ch(16, width), _ch(32, width), _ch(64, width))
        self.conv1 = nn.Conv2d(in_channels, c1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.layer1, self.layer2 = _stage(c1, c1, n, 1), _stage(c1, c2, n, 2)
        self.layer3 = (Stage(c2, c3, n) if moe is None
                       else StageMoE([Stage(c2, c3, n) for _ in range(experts)], c2, moe, in_channels))
        self.fc = nn.Linear(c3, classes)

    def forward(self, image):
        x = self.layer2(self.layer1(F.relu(self.bn1(self.conv1(image)))))
        return self.fc(self.layer3(x) if isinstance(self.layer3, Stage) else self.layer3(x, image))


VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def vgg11_bn(width: float = 0.25, in_channels: int = 1, classes: int = 10) -> nn.Sequential:
    """VGG11 with batch norm for 32x32 inputs (five poolings down to 1x1, one linear classifier)."""
    layers, c = [], in_channels
    for v in VGG11:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(c, _ch(v, width), 3, padding=1, bias=False), nn.BatchNorm2d(_ch(v, width)),
                       nn.ReLU()]
            c = _ch(v, width)
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c, classes))


MOBILENET = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (1024, 2))


def mobilenet(width: float = 0.25, in_channels: int = 1, classes: int = 10) -> nn.Sequential:
    """MobileNet (v1) for 32x32 inputs: a 3x3 stem, then depthwise 3x3 + pointwise 1x1 pairs."""
    c = _ch(32, width)
    layers = [nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
    for cout, stride in MOBILENET:
        cout = _ch(cout, width)
        layers += [nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                   nn.Conv2d(c, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        c = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, classes))


def fit_clusters(model: nn.Module, images: torch.Tensor, seed: int = 0) -> None:
    """Set every cluster-routed StageMoE's centroids: k-means (scikit-learn) of the pooled
    training `images`."""
    from sklearn.cluster import KMeans  # noqa: PLC0415

    for m in model.modules():
        if isinstance(m, StageMoE) and m.routing == "cluster":
            km = KMeans(len(m.experts), n_init=4, random_state=seed).fit(pool_image(images).numpy())
            m.centroids.copy_(torch.tensor(km.cluster_centers_, dtype=torch.float32))
