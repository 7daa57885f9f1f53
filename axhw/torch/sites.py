"""Multiplication sites: every product a model computes, seen where torch computes it.

A ``TorchFunctionMode`` watches the forward pass: ``F.linear`` / ``F.conv1d`` / ``F.conv2d`` /
``F.conv_transpose2d`` (a *weight site*, named after the module that owns the weight, or the
module making the call when the weight is computed, as timm's StdConv2d does), products of two
tensors (``torch.matmul`` / ``bmm`` / ``mm`` / ``@`` / two-operand ``einsum``) and
``F.scaled_dot_product_attention`` (two products). A product is named after the module whose
forward makes it: its first two are ``<module>.qk`` and ``<module>.av`` (Q·Kᵀ and attention·V in
attention blocks; an SDPA call is both), further ones ``<module>.matmul2``, ... Functions without a
LUT kernel (conv3d, baddbmm, ...) are sites too, reported as left exact.

The same mode, installed on an approximated model, sends each call to the site's ApproxLayer, so a
module's own forward (masks, relative position bias, "same" padding, weight standardisation,
functional use of a module's weights) is kept as it is. The kinds are a registry: :data:`CALLS`
(torch function -> handler) and :data:`SWAPS` (module types replaced by an Approx module).
"""

from __future__ import annotations

import math
import string
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from ..infra.errors import AxhwError
from .modules import (SITE_CHILD, ApproxCall, ApproxConv2d, ApproxLayer, ApproxLinear, ApproxMatmul,
                      MultiheadAttention)

__all__ = ["CALLS", "COMPOSITES", "CONV", "DEFAULTS", "ExactSitesWarning", "HOOKED",
           "PRODUCT_KINDS", "PRODUCT_NAMES", "Router", "SDPA_PARAMS", "STATIC_CALLS", "SWAPS",
           "Site", "SwapKind", "UNSUPPORTED", "WEIGHT_CALLS", "WeightCall", "attention", "bind",
           "einsum_as_matmul", "einsum_macs", "prepare", "static_sites", "swap_kind", "trace"]

PRODUCT_NAMES = ("qk", "av")
HOOKED = "_axhw_router"  # module attribute: the Router following it


class ExactSitesWarning(UserWarning):
    """Some multiplications of the model cannot be emulated and stay exact float."""
PRODUCT_KINDS = ("matmul", "attention", "einsum")


@dataclass
class Site:
    """One multiplication site. `macs` per sample; `owner`/`child`: where its ApproxLayer goes
    (the module itself when `swap` names a module kind); `channels`: (filters, inputs per group)."""

    name: str
    kind: str
    macs: float = 0.0
    emulated: bool = True
    reason: str = ""
    owner: str = ""
    child: str = ""
    swap: str | None = None
    channels: tuple[int | None, int | None] = (None, None)

    def row(self) -> dict:
        return {"name": self.name, "kind": self.kind, "macs": int(round(self.macs)),
                "emulated": self.emulated, "reason": self.reason}


# -- module kinds replaced by an Approx module (their forward is exactly the base class's) --
@dataclass(frozen=True)
class SwapKind:
    base: type[nn.Module]
    layer: type[ApproxLayer]
    channels: Callable[[nn.Module], tuple[int, int | None]]
    plain: Callable[[nn.Module], bool] = lambda m: True


SWAPS: dict[str, SwapKind] = {
    "linear": SwapKind(nn.Linear, ApproxLinear, lambda m: (m.out_features, None)),
    "conv2d": SwapKind(nn.Conv2d, ApproxConv2d, lambda m: (m.out_channels, m.in_channels // m.groups),
                       lambda m: m.padding_mode == "zeros"
                       and type(m)._conv_forward is nn.Conv2d._conv_forward),
}


def swap_kind(module: nn.Module) -> str | None:
    """The SWAPS kind `module` is an instance of with the base class's own forward, or None: a
    subclass that computes something else (weight standardisation, "same" padding, LoRA) is never
    swapped as its base class; its own F.* calls are its sites."""
    for kind, s in SWAPS.items():
        if isinstance(module, s.base) and type(module).forward is s.base.forward and s.plain(module):
            return kind
    return None


# -- torch functions: arguments, MACs, emulation --
CONV = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1, "output_padding": 0,
            "attn_mask": None, "dropout_p": 0.0, "is_causal": False, "scale": None, "enable_gqa": False}


def bind(params: tuple[str, ...], args, kwargs) -> dict:
    call = {p: DEFAULTS[p] for p in params if p in DEFAULTS}
    call.update(zip(params, args))
    call.update(kwargs)
    return call


@dataclass(frozen=True)
class WeightCall:
    """F.linear / F.conv*: activation x weight; the site is the weight's module."""

    kind: str
    params: tuple[str, ...]
    macs: Callable[[dict, torch.Tensor], int]

    def channels(self, call: dict) -> tuple[int, int]:
        w, g = call["weight"], call.get("groups", 1)
        if self.kind == "conv_transpose2d":  # weight (in, out / groups, kh, kw)
            return w.shape[1] * g, w.shape[0] // g
        return w.shape[0], (w.shape[1] if w.dim() > 2 else None)


def _einsum_plan(equation: str, a: torch.Tensor, b: torch.Tensor):
    """(a letters, b letters, out letters) with '...' spelt out, or a reason it is not a product
    of two tensors the emulator runs (repeated letters: traces and diagonals)."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    parts = lhs.split(",")
    if len(parts) != 2:
        return None, f"einsum over {len(parts)} operands"
    spare = [c for c in string.ascii_letters if c not in eq]
    ells = [t.dim() - (len(p) - 3) if "..." in p else 0 for p, t in zip(parts, (a, b))]
    n = max(ells)
    ell = "".join(spare[:n])
    ia, ib = (p.replace("...", ell[n - k:]) for p, k in zip(parts, ells))
    if not arrow:
        once = sorted(c for c in set(ia + ib) if (ia + ib).count(c) == 1 and c not in ell)
        out = ell + "".join(once)
    out = out.replace("...", ell)
    if len(set(ia)) < len(ia) or len(set(ib)) < len(ib) or len(set(out)) < len(out):
        return None, f"einsum {equation!r} repeats an index (trace or diagonal)"
    return (ia, ib, out), ""


def _einsum_sizes(ia, ib, a, b) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for letters, t in ((ia, a), (ib, b)):
        for c, s in zip(letters, t.shape):
            sizes[c] = max(sizes.get(c, 1), s)
    return sizes


def einsum_macs(plan, a, b) -> int:
    ia, ib, out = plan
    sizes = _einsum_sizes(ia, ib, a, b)
    letters = [c for c in sizes if (c in ia and c in ib) or c in out]  # one-sided sums are adds
    return math.prod(sizes[c] for c in letters)


def einsum_as_matmul(plan, a: torch.Tensor, b: torch.Tensor, matmul) -> torch.Tensor:
    """A two-operand einsum as one batched product (B, M, K) @ (B, K, N) through `matmul`."""
    ia, ib, out = plan
    a = a.sum([i for i, c in enumerate(ia) if c not in ib and c not in out]) if any(
        c not in ib and c not in out for c in ia) else a
    b = b.sum([i for i, c in enumerate(ib) if c not in ia and c not in out]) if any(
        c not in ia and c not in out for c in ib) else b
    ia = "".join(c for c in ia if c in ib or c in out)
    ib = "".join(c for c in ib if c in ia or c in out)
    sizes = _einsum_sizes(ia, ib, a, b)
    batch = [c for c in out if c in ia and c in ib]
    contr = [c for c in ia if c in ib and c not in out]
    fa = [c for c in ia if c not in ib]
    fb = [c for c in ib if c not in ia]

    def arrange(t, letters, order):
        t = t.permute([letters.index(c) for c in order])
        return t.expand([sizes[c] for c in order])

    size = lambda cs: math.prod(sizes[c] for c in cs)  # noqa: E731
    a3 = arrange(a, ia, batch + fa + contr).reshape(size(batch), size(fa), size(contr))
    b3 = arrange(b, ib, batch + contr + fb).reshape(size(batch), size(contr), size(fb))
    y = matmul(a3, b3).reshape([sizes[c] for c in batch + fa + fb])
    return y.permute([(batch + fa + fb).index(c) for c in out])


def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False, *, qk=torch.matmul, av=torch.matmul, training=False):
    """F.scaled_dot_product_attention as its two products (torch's reference math): scale after
    Q·Kᵀ, boolean masks keep True, float masks add, causal keeps the lower triangle."""
    L, S = q.shape[-2], k.shape[-2]
    if enable_gqa and k.shape[-3] != q.shape[-3]:
        rep = q.shape[-3] // k.shape[-3]
        k, v = k.repeat_interleave(rep, -3), v.repeat_interleave(rep, -3)
    attn = qk(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        attn = attn.masked_fill(~torch.ones(L, S, dtype=torch.bool, device=q.device).tril(), float("-inf"))
    if attn_mask is not None:
        attn = attn.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
            else attn + attn_mask
    attn = attn.softmax(dim=-1)
    if dropout_p > 0:
        attn = F.dropout(attn, dropout_p, training=True)
    return av(attn, v)


_MATMULS = {torch.matmul: False, torch.Tensor.matmul: False, torch.Tensor.__matmul__: False,
            torch.Tensor.__rmatmul__: True, torch.bmm: False, torch.Tensor.bmm: False,
            torch.mm: False, torch.Tensor.mm: False}  # function -> operands swapped
WEIGHT_CALLS = {
    F.linear: WeightCall("linear", ("input", "weight", "bias"),
                         lambda c, out: c["input"].numel() * c["weight"].shape[0]),
    F.conv1d: WeightCall("conv1d", CONV, lambda c, out: out.numel() * c["weight"][0].numel()),
    F.conv2d: WeightCall("conv2d", CONV, lambda c, out: out.numel() * c["weight"][0].numel()),
    F.conv_transpose2d: WeightCall(
        "conv_transpose2d", ("input", "weight", "bias", "stride", "padding", "output_padding",
                             "groups", "dilation"),
        lambda c, out: c["input"].numel() * c["weight"][0].numel()),
}
SDPA_PARAMS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
# products with no LUT kernel: reported as exact sites, with their MACs ((args, out) -> MACs)
_after_weight = lambda a, out: out.numel() * a[1][0].numel()  # noqa: E731
_per_input = lambda a, out: a[0].numel() * a[1][0].numel()  # noqa: E731
_UNSUPPORTED = (
    (F.conv3d, "conv3d", _after_weight), (F.conv_transpose1d, "conv_transpose1d", _per_input),
    (F.conv_transpose3d, "conv_transpose3d", _per_input),
    (F.bilinear, "bilinear", lambda a, out: out.numel() * a[2][0].numel()),
    (torch.baddbmm, "baddbmm", lambda a, out: out.numel() * a[1].shape[-1]),
    (torch.Tensor.baddbmm, "baddbmm", lambda a, out: out.numel() * a[1].shape[-1]),
    (torch.addbmm, "addbmm", lambda a, out: a[1].shape[0] * out.numel() * a[1].shape[-1]),
    (torch.addmm, "addmm", lambda a, out: out.numel() * a[1].shape[-1]),
    (torch.Tensor.addmm, "addmm", lambda a, out: out.numel() * a[1].shape[-1]),
    (torch.addmv, "addmv", lambda a, out: a[1].numel()), (torch.mv, "mv", lambda a, out: a[0].numel()),
    (torch.Tensor.mv, "mv", lambda a, out: a[0].numel()), (torch.dot, "dot", lambda a, out: a[0].numel()),
    (torch.inner, "inner", lambda a, out: out.numel() * a[0].shape[-1]),
    (torch.outer, "outer", lambda a, out: out.numel()),
    (torch.tensordot, "tensordot",
     lambda a, out: round(math.sqrt(a[0].numel() * a[1].numel() * out.numel()))),
)
UNSUPPORTED = {f: (name, macs) for f, name, macs in _UNSUPPORTED}
COMPOSITES = {F.multi_head_attention_forward}  # followed inside while tracing


def _product_child(module: nn.Module, k: int) -> str:
    """Name of the k-th product of a module's forward: qk, av, then matmul2, ... (matmulK where the
    module already has another attribute of that name)."""
    name = PRODUCT_NAMES[k] if k < len(PRODUCT_NAMES) else f"matmul{k}"
    other = getattr(module, name, None)
    return name if other is None or isinstance(other, ApproxMatmul) else f"matmul{k}"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Mode(TorchFunctionMode):
    def __init__(self, router: Router):
        super().__init__()
        self.router = router

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        try:
            handler = CALLS.get(func)
        except TypeError:  # an unhashable callable
            handler = None
        if handler is None:
            return func(*args, **kwargs)
        return handler(self, func, args, kwargs)


class Router:
    """Follows a forward pass of `root` (hooks on its modules): the module stack, whose parameter
    a weight is, how many products each module call made so far. While tracing it records
    :class:`Site` rows; on an approximated model it sends each site's call to its ApproxLayer."""

    def __init__(self, root: nn.Module, known: set[str] | None = None):
        self.root = root
        self.known = known  # the sites found when the model was approximated
        self.names: dict[int, str] = {}
        self.owners: dict[int, tuple[str, str]] = {}
        self.layers: dict[str, ApproxLayer] = {}
        self.stack: list[list] = []  # [module name, module, products so far]
        self.tracing: dict[str, Site] | None = None
        self.opaque = ""  # while tracing inside a call that runs exact as a whole: why
        self.mode: _Mode | None = None
        self.handles: list = []

    def install(self) -> Router:
        for m in self.root.modules():
            self._hook(m)
        return self

    def _hook(self, m: nn.Module) -> None:
        """Follow module `m` (once; modules put into the model later are hooked on its next
        forward, so what they compute is named after them, not after their parent)."""
        if isinstance(m, ApproxLayer) or m.__dict__.get(HOOKED) is self:
            return
        m.__dict__[HOOKED] = self
        self.handles.append((m, m.register_forward_pre_hook(self._enter)))
        self.handles.append((m, m.register_forward_hook(self._exit, always_call=True)))

    def remove(self) -> None:
        for m, h in self.handles:
            h.remove()
            m.__dict__.pop(HOOKED, None)
        self.handles = []

    def _enter(self, module, args) -> None:
        if not self.stack:
            self._refresh()
            self.mode = _Mode(self)
            self.mode.__enter__()
        self.stack.append([self.names.get(id(module), ""), module, 0])

    def _refresh(self) -> None:
        """Names, parameter owners and layers of the model as it is now, in one walk over its
        modules (this runs once per forward: four walks were 1.3 ms of a 2 ms resnet20 batch)."""
        self.names, self.owners, self.layers = {}, {}, {}
        for n, m in self.root.named_modules():
            self._hook(m)
            self.names[id(m)] = n
            seen = set()  # = named_parameters(recurse=False) (first name of a tied one), faster
            for pn, p in m._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    self.owners[id(p)] = (n, pn)
            if isinstance(m, ApproxLayer):
                self.layers[n] = m

    def _exit(self, module, args, out) -> None:
        self.stack.pop()
        if not self.stack and self.mode is not None:
            mode, self.mode = self.mode, None
            mode.__exit__(None, None, None)

    # -- naming --
    def weight_site(self, w: torch.Tensor) -> tuple[str, str, str]:
        """(site name, owner module, child for a functional layer) of a weight argument."""
        t = w
        while t is not None:
            hit = self.owners.get(id(t))
            if hit is not None:
                owner, param = hit
                if param == "weight":
                    return owner, owner, SITE_CHILD
                return _join(owner, param), owner, f"{SITE_CHILD}_{param}"
            t = t._base  # a view of a parameter (a slice of a packed weight)
        owner = self.stack[-1][0]
        return owner, owner, SITE_CHILD

    def product_site(self) -> tuple[str, str, str]:
        frame = self.stack[-1]
        child = _product_child(frame[1], frame[2])
        frame[2] += 1
        return _join(frame[0], child), frame[0], child

    def record(self, name, kind, macs, owner, child, *, emulated=True, reason="", swap=None,
               channels=(None, None)) -> None:
        if self.opaque:
            emulated, reason = False, self.opaque
        site = self.tracing.get(name)
        if site is None:
            site = self.tracing[name] = Site(name, kind, 0.0, emulated, reason, owner, child, swap,
                                             channels)
        site.macs += macs
        if not emulated and site.emulated:
            site.emulated, site.reason = False, reason

    def layer_for(self, name: str) -> ApproxLayer | None:
        layer = self.layers.get(name)
        if layer is None and name:  # a functional site's layer is a child of its module
            owner, _, param = name.rpartition(".")
            layer = self.layers.get(_join(name, SITE_CHILD)) or self.layers.get(
                _join(owner, f"{SITE_CHILD}_{param}"))
        if layer is None and self.known is not None and name not in self.known:
            self.known.add(name)  # warn once
            warnings.warn(f"axhw: multiplication site {name} was not reached by the calibration "
                          "data when the model was approximated: it computes in float",
                          ExactSitesWarning, stacklevel=2)
        return layer


# -- handlers: (mode, func, args, kwargs) -> result --
def _weight_handler(spec: WeightCall):
    def handle(mode: _Mode, func, args, kwargs):
        r = mode.router
        call = bind(spec.params, args, kwargs)
        name, owner, child = r.weight_site(call["weight"])
        if r.tracing is not None:
            out = func(*args, **kwargs)
            module = r.root.get_submodule(owner) if owner else r.root
            swap = swap_kind(module) if name == owner and r.stack[-1][1] is module else None
            r.record(name, spec.kind, spec.macs(call, out), owner, child, swap=swap,
                     channels=spec.channels(call))
            return out
        layer = r.layer_for(name)
        if layer is None:
            return func(*args, **kwargs)
        if spec.kind == "linear" and call["weight"] is getattr(layer, "weight", None) \
                and call["bias"] is layer.bias:  # a swapped Linear's weights used functionally
            return layer(call["input"])  # through its forward, so its hooks see the call
        fn = layer if isinstance(layer, ApproxCall) else getattr(layer, spec.kind)
        return fn(*(call[p] for p in spec.params))
    return handle


def _matmul_handler(swapped: bool):
    def handle(mode: _Mode, func, args, kwargs):
        r = mode.router
        a, b = (args[1], args[0]) if swapped else (args[0], args[1])
        name, owner, child = r.product_site()
        if r.tracing is not None:
            out = func(*args, **kwargs)
            r.record(name, "matmul", out.numel() * a.shape[-1], owner, child)
            return out
        layer = r.layer_for(name)
        return func(*args, **kwargs) if layer is None else layer(a, b)
    return handle


def _sdpa_handler(mode: _Mode, func, args, kwargs):
    r = mode.router
    call = bind(SDPA_PARAMS, args, kwargs)
    q, k, v = call.pop("query"), call.pop("key"), call.pop("value")
    (n_qk, owner, c_qk), (n_av, _, c_av) = r.product_site(), r.product_site()
    if r.tracing is not None:
        out = func(*args, **kwargs)
        S = k.shape[-2]
        r.record(n_qk, "attention", out.numel() // out.shape[-1] * S * q.shape[-1], owner, c_qk)
        r.record(n_av, "attention", out.numel() * S, owner, c_av)
        return out
    lq, la = r.layer_for(n_qk), r.layer_for(n_av)
    if lq is None and la is None:
        return func(*args, **kwargs)
    return attention(q, k, v, **call, qk=lq or torch.matmul, av=la or torch.matmul)


def _einsum_handler(mode: _Mode, func, args, kwargs):
    r = mode.router
    ops = args[1:]
    if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
        ops = tuple(ops[0])
    if not isinstance(args[0], str) or len(ops) != 2:
        plan, why = None, "einsum in sublist form or over more than two operands"
    else:
        plan, why = _einsum_plan(args[0], *ops)
    name, owner, child = r.product_site()
    if r.tracing is not None:
        out = func(*args, **kwargs)
        macs = einsum_macs(plan, *ops) if plan else 0
        r.record(name, "einsum", macs, owner, child, emulated=plan is not None, reason=why)
        return out
    layer = r.layer_for(name)
    if layer is None or plan is None:
        return func(*args, **kwargs)
    return einsum_as_matmul(plan, ops[0], ops[1], layer)


def _unsupported_handler(mode: _Mode, func, args, kwargs):
    r = mode.router
    out = func(*args, **kwargs)
    if r.tracing is not None:
        kind, macs = UNSUPPORTED[func]
        w = args[1] if len(args) > 1 else None
        weight = isinstance(w, torch.Tensor) and (isinstance(w, nn.Parameter)
                                                  or isinstance(w._base, nn.Parameter))
        name, owner, child = r.weight_site(w) if weight else r.product_site()
        r.record(name, kind, macs(args, out), owner, child, emulated=False,
                 reason=f"no LUT emulation for {kind}: computed exactly in float")
    return out


def _composite_handler(mode: _Mode, func, args, kwargs):
    """F.multi_head_attention_forward of an nn.MultiheadAttention axhw could not rebuild: exact as
    a whole; while tracing its inner products are recorded as exact sites."""
    r = mode.router
    if r.tracing is None:
        return func(*args, **kwargs)
    r.opaque = ("inside nn.MultiheadAttention with add_bias_kv / add_zero_attn, which axhw does not "
                "rebuild: computed exactly in float")
    try:
        with mode:
            return func(*args, **kwargs)
    finally:
        r.opaque = ""


CALLS: dict[Callable, Callable] = {
    **{f: _weight_handler(spec) for f, spec in WEIGHT_CALLS.items()},
    **{f: _matmul_handler(swapped) for f, swapped in _MATMULS.items()},
    F.scaled_dot_product_attention: _sdpa_handler,
    torch.einsum: _einsum_handler,
    **dict.fromkeys(UNSUPPORTED, _unsupported_handler),
    **dict.fromkeys(COMPOSITES, _composite_handler),
}


# -- preparing and tracing a float model --
def prepare(model: nn.Module) -> nn.Module:
    """In place: every nn.MultiheadAttention that can be rebuilt becomes axhw's
    :class:`MultiheadAttention` (separate q/k/v Linears, equal in float); an approximated model is
    refused."""
    for name, m in list(model.named_modules()):
        if isinstance(m, ApproxLayer):
            raise AxhwError(f"layer {name} is already approximate: pass the float model")
        if isinstance(m, nn.MultiheadAttention) and m.bias_k is None and not m.add_zero_attn:
            rebuilt = MultiheadAttention(m, name)
            rebuilt.train(m.training)
            if name:
                model.set_submodule(name, rebuilt)
            else:
                raise AxhwError("the model itself is an nn.MultiheadAttention: wrap it in a module")
    return model


STATIC_CALLS = {nn.Conv1d: "conv1d", nn.ConvTranspose2d: "conv_transpose2d"}  # F.* of their own


def static_sites(model: nn.Module) -> dict[str, Site]:
    """The sites a prepared model has by its module types alone (0 MACs): swappable modules,
    nn.Conv1d / nn.ConvTranspose2d with torch's forward, the products of a rebuilt
    MultiheadAttention. A forward pass finds the others; these also cover modules it never
    calls (an expert that gets no token)."""
    out: dict[str, Site] = {}
    for name, m in model.named_modules():
        kind = swap_kind(m)
        if kind is not None:
            out[name] = Site(name, kind, owner=name, swap=kind, channels=SWAPS[kind].channels(m))
        elif type(m) in STATIC_CALLS:
            out[name] = Site(name, STATIC_CALLS[type(m)], owner=name, child=SITE_CHILD,
                             channels=(m.out_channels, m.in_channels // m.groups))
        elif isinstance(m, MultiheadAttention):
            for child in PRODUCT_NAMES:
                out[_join(name, child)] = Site(_join(name, child), "matmul", owner=name, child=child)
    return out


def _inputs(batch):
    return batch if isinstance(batch, (tuple, list)) else (batch,)


@torch.no_grad()
def trace(model: nn.Module, batches) -> dict[str, Site]:
    """{site name: Site} of a prepared model over `batches` (each a tensor, or a tuple of the
    forward's arguments); MACs are per sample (first dimension of the first argument)."""
    router = Router(model).install()
    router.tracing = {}
    samples = 0
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            args = _inputs(batch)
            model(*args)
            samples += args[0].shape[0]
    finally:
        router.remove()
        model.train(was_training)
    if samples == 0:
        raise AxhwError("no sample to find the model's multiplications on")
    for site in router.tracing.values():
        site.macs /= samples
    for name, site in static_sites(model).items():
        router.tracing.setdefault(name, site)
    return router.tracing
