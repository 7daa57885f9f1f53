"""Array design files: ``<top>.v`` (self-contained) + ``<top>.json`` sidecar, and the multipliers'
own designs under ``multipliers/`` (so each can be verified/characterized alone).

Sidecar keys: the multiplier design keys that make sense for an array (top, verilog, family,
params, bits_a, bits_b, signed, out_bits = accumulator width, out_signed, verilog_sha256,
axhw_version) plus clock, reset, ports (list), protocol, latency, multipliers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import __version__
from ..design.record import (Design, check_names, check_verilog_hash, design_dict, spec_from_dict,
                             verilog_of, write_design)
from ..infra.errors import AxhwError
from ..infra.fileio import ensure_dir, sha256_text, write_json, write_text
from .array import SystolicArray
from .rtl import array_verilog, port_list

__all__ = ["protocol", "write_array", "array_from_dict", "load_array_design"]

MULTIPLIER_DIR = "multipliers"


def protocol(arr: SystolicArray) -> dict[str, Any]:
    flow = ({
        "handshake": "valid/ready on input and output; a transfer happens on a rising edge where "
                     "valid and ready are both high; none happens while rst is high",
        "stall": "in_ready = out_ready | ~out_valid: while a result waits (out_valid & ~out_ready) "
                 "every activation, partial-sum and valid register holds",
    } if arr.backpressure else {
        "handshake": "valid only (backpressure=0): every edge takes in_data (a vector when "
                     "in_valid); out_data holds a result in the cycles where out_valid is high and "
                     "the consumer must take it then",
    })
    return {
        **flow,
        "latency": f"a vector accepted at edge t appears on out_data after {arr.latency} "
                   "advancing edges (rows + cols + pipeline)",
        "throughput": "one vector per clock when out_ready stays high",
        "weights": "w_en writes row w_row of the stationary weights on the next edge, stall or "
                   "not; load a tile while no vector is in flight (results then use that tile)",
        "reset": "synchronous, active high: clears the valid pipeline, so vectors in flight are "
                 "dropped; weights and data registers are not reset (weights survive a reset; load "
                 "every row before the first vector)",
        "bubbles": "an edge with in_ready & ~in_valid inserts a bubble; vectors never mix",
    }


def array_dict(arr: SystolicArray, verilog_name: str, verilog_text: str,
               mul_jsons: dict[str, str]) -> dict[str, Any]:
    return {
        "top": arr.top,
        "verilog": verilog_name,
        "family": arr.family,
        "params": arr.params(),
        "bits_a": arr.bits_a,
        "bits_b": arr.bits_b,
        "signed": arr.signed,
        "out_bits": arr.acc_width,
        "out_signed": arr.acc_signed,
        "clock": {"port": "clk", "edge": "rising"},
        "reset": {"port": "rst", "kind": "synchronous", "active": "high"},
        "ports": port_list(arr),
        "protocol": protocol(arr),
        "latency": arr.latency,
        "multipliers": [
            {"json": mul_jsons[m.top],
             "columns": [j for j, c in enumerate(arr.multipliers) if c.top == m.top],
             "design": design_dict(m, f"{MULTIPLIER_DIR}/{m.top}.v", m.verilog())}
            for m in arr.distinct_multipliers],
        "verilog_sha256": sha256_text(verilog_text),
        "axhw_version": __version__,
    }


def write_array(arr: SystolicArray, outdir: Path) -> Path:
    """Write the multipliers' designs, ``<top>.v`` and finally ``<top>.json``; return the JSON path."""
    outdir = ensure_dir(Path(outdir))
    mul_jsons = {}
    for m in arr.distinct_multipliers:
        path = write_design(m, outdir / MULTIPLIER_DIR)
        mul_jsons[m.top] = str(path.relative_to(outdir))
    text = array_verilog(arr)
    vname = f"{arr.top}.v"
    write_text(outdir / vname, text)
    json_path = outdir / f"{arr.top}.json"
    write_json(json_path, array_dict(arr, vname, text, mul_jsons))
    return json_path


def array_from_dict(d: dict[str, Any], where: str = "design") -> SystolicArray:
    """Rebuild the array (and its multipliers' golden models) from a sidecar."""
    try:
        params = d["params"]
        by_top = {}
        for entry in d["multipliers"]:
            spec = spec_from_dict(entry["design"])
            for j in entry["columns"]:
                by_top[j] = spec
        muls = tuple(by_top[j] for j in range(int(params["cols"])))
        arr = SystolicArray(rows=int(params["rows"]), cols=int(params["cols"]), multipliers=muls,
                            bits_a=int(d["bits_a"]), bits_b=int(d["bits_b"]),
                            signed=bool(d["signed"]), acc_bits=int(params["acc_bits"]),
                            pipeline=int(params.get("pipeline", 0)),
                            backpressure=int(params.get("backpressure", 1)))
    except (KeyError, TypeError, ValueError) as exc:
        raise AxhwError(f"{where}: malformed systolic array JSON ({type(exc).__name__}: {exc})") from None
    if arr.top != d.get("top"):
        raise AxhwError(f"{where}: parameters describe {arr.top}, but top is {d.get('top')}")
    return arr


def load_array_design(path: Path, d: dict[str, Any], allow_edited: bool = False) -> Design:
    """The generic Design view of an array sidecar (the `load` hook of the systolic kind)."""
    arr = array_from_dict(d, str(path))
    check_names(path, arr.top, [m.top for m in arr.distinct_multipliers],
                "multiplier module")
    vpath = verilog_of(path, d)
    if not allow_edited:
        check_verilog_hash(path, d, vpath)
    return Design(json_path=path, top=arr.top, verilog_path=vpath, family=arr.family,
                  params=d["params"], bits_a=arr.bits_a, bits_b=arr.bits_b, signed=arr.signed,
                  out_bits=arr.acc_width, out_signed=arr.acc_signed, spec=None,
                  ports=("in_data", "w_data", "out_data"), meta=d)
