"""One design, one emulator: the bit-linear GEMM path when the design JSON says ``bit_linear``
(and the fit reproduces its whole LUT), the LUT kernels otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..infra.errors import AxhwError
from .bitlinear import BitLinearForm, bitlinear_conv2d, bitlinear_matmul, fit_bit_linear
from .conv import lut_conv2d
from .gemm import lut_matmul
from .luts import LutStack, prepare_luts

__all__ = ["Emulator", "emulator_for"]


@dataclass(frozen=True, eq=False)
class Emulator:
    """``matmul``/``conv2d`` with one design's products; ``form`` is None on the LUT path."""

    luts: LutStack
    form: BitLinearForm | None = None
    name: str = ""

    @property
    def path(self) -> str:
        return "bit-linear" if self.form is not None else "lut"

    def matmul(self, a, b, *, backend: str | None = None, engine: str | None = None):
        """C = Σ_k P(a[..., k], b[k, n]); backend forces the LUT kernels ("cpu"/"cuda")."""
        if self.form is not None and backend is None:
            return bitlinear_matmul(a, b, self.form, engine=engine)
        return lut_matmul(a, b, self.luts, backend=backend)

    def conv2d(self, x, w, stride=1, padding=0, dilation=1, groups: int = 1, *, pad_code: int = 0,
               backend: str | None = None, engine: str | None = None):
        if self.form is not None and backend is None:
            return bitlinear_conv2d(x, w, self.form, stride, padding, dilation, groups,
                                    pad_code=pad_code, engine=engine)
        return lut_conv2d(x, w, self.luts, stride, padding, dilation, groups, pad_code=pad_code,
                          backend=backend)


def emulator_for(design, lut=None, fast_path: bool | None = None) -> Emulator:
    """Emulator for a design JSON path, a loaded ``Design`` or a family instance.

    lut defaults to the design's golden LUT at product scale (axhw.design.golden.product_lut). If the design is flagged
    ``bit_linear`` the bit-linear form is fitted and verified against the whole LUT; a LUT it does
    not reproduce raises AxhwError (a wrong flag never yields a wrong answer). fast_path=True
    tries the fit whatever the flag says (e.g. Booth perforation is bilinear in the bits too),
    False forces the LUT kernels.
    """
    from ..design.record import Design, load_design
    from ..design.golden import product_lut

    if isinstance(design, (str, Path)):
        design = load_design(design)
    if isinstance(design, Design):
        spec, name = design.spec, design.top
        flag = bool((design.meta or {}).get("bit_linear", spec is not None and spec.bit_linear))
    else:
        spec, name, flag = design, getattr(design, "top", ""), bool(design.bit_linear)
    if lut is None:
        if spec is None:
            raise AxhwError(f"design {name}: no golden model, pass its LUT explicitly")
        lut = product_lut(spec)
    luts = prepare_luts(lut)
    use_fit = flag if fast_path is None else fast_path
    return Emulator(luts=luts, form=fit_bit_linear(luts) if use_fit else None, name=name)
