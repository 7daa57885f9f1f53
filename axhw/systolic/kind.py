"""The systolic array as a kind of design (:mod:`axhw.design.kinds`): its design JSONs carry
``family: systolic``; it is verified by its cocotb array test and characterized with a clocked
flow, and has no LUT or gate-level export of its own (its multipliers have)."""

from __future__ import annotations

from ..design.kinds import DesignKind, register_kind
from ..design.record import Design
from ..infra.errors import AxhwError

__all__ = ["SYSTOLIC", "no_export", "no_lut"]


def no_lut(design: Design, sim: str, use_cache: bool):
    raise AxhwError(f"{design.top} is a systolic array, not a multiplier: use the designs in "
                    "multipliers/ next to its JSON")


def no_export(design: Design, fmt: str, pdk: str | None, pdk_root: str | None,
              name: str | None = None, ppa: dict | None = None) -> str:
    raise AxhwError(f"{design.top} is a systolic array: export its multipliers instead")


SYSTOLIC = register_kind(DesignKind("systolic", ("systolic",), {
    "load": "axhw.systolic.design:load_array_design",
    "verify": "axhw.systolic.verify:verify_hook",
    "lut": "axhw.systolic.kind:no_lut",
    "characterize": "axhw.systolic.characterize:characterize_array",
    "export": "axhw.systolic.kind:no_export",
    "gen": "axhw.systolic.gen:gen",
    "params_help": "axhw.systolic.gen:params_help",
    "format_characterization": "axhw.systolic.characterize:format_array",
}))
