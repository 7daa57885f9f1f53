"""Real torchvision / timm models through axhw.torch (random weights, CPU, batch 1, 224x224).

Not part of CI (torchvision and timm do not install beside the project's torch): run it in a
separate environment with `pip install torch==2.14.1 torchvision==0.29.1 timm` and axhw, as
`python scripts/real_models_coverage.py [MODEL ...]`. Prints one Markdown row per model: sites,
MMACs per image, % of MACs emulated, float routing vs the model (max abs diff / max |out|),
exact 8-bit emulation == the integer reference of tests/test_torch_coverage.py, relative error of
that output vs float, seconds of one emulated forward, total seconds, warnings.
"""
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import timm  # noqa: E402
import torchvision.models as tvm  # noqa: E402
from test_torch_coverage import reference  # noqa: E402

import axhw.torch as at  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(2)
MODELS = {
    "tv resnet18": lambda: tvm.resnet18(),
    "tv mobilenet_v2": lambda: tvm.mobilenet_v2(),
    "tv swin_t": lambda: tvm.swin_t(),
    "tv vit_b_16": lambda: tvm.vit_b_16(),
    "timm vit_tiny_patch16_224": lambda: timm.create_model("vit_tiny_patch16_224"),
    "timm deit_tiny_patch16_224": lambda: timm.create_model("deit_tiny_patch16_224"),
    "timm swin_tiny_patch4_window7_224": lambda: timm.create_model("swin_tiny_patch4_window7_224"),
    "timm resnetv2_50x1_bit": lambda: timm.create_model("resnetv2_50x1_bit"),
    "timm tf_efficientnet_b0": lambda: timm.create_model("tf_efficientnet_b0"),
    "timm levit_128s": lambda: timm.create_model("levit_128s"),
}
only = sys.argv[1:] or list(MODELS)
for name in only:
    t0 = time.time()
    model = MODELS[name]().eval()
    x = torch.randn(1, 3, 224, 224)
    cal = torch.randn(2, 3, 224, 224)
    cov = at.coverage(model, x)
    total = cov["macs"].sum()
    exact = cov.loc[~cov["emulated"], "macs"].sum()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        q = at.approximate(model, {"*": "exact:signed=1"}, cal)
    layers = at.approx_layers(q)
    with torch.no_grad():
        ref = model(x)
        for layer in layers.values():
            layer.calibrating = True
        routed = q(x)
        for layer in layers.values():
            layer.calibrating = False
        t1 = time.time()
        got = q(x)
        t_emu = time.time() - t1
        calls = set()
        for layer in layers.values():
            reference(layer, calls)
        want = q(x)
    fl = float((routed - ref).abs().max() / ref.abs().max())
    err = float((got - ref).norm() / ref.norm())
    print(f"| {name} | {len(cov)} | {total/1e6:.1f} | {100*(1-exact/total):.2f} | {fl:.1e} | "
          f"{torch.equal(got, want)} ({len(calls)}/{len(layers)} sites) | {err:.3f} | {t_emu:.1f} | "
          f"{time.time()-t0:.0f} | {'; '.join(str(m.message)[:120] for m in w) or '-'} |", flush=True)
    if exact:
        print("   exact:", cov.loc[~cov["emulated"], ["name", "kind", "reason"]].head(3).to_dict("records"), flush=True)
