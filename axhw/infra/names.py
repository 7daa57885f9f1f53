"""Names and paths that reach generated Verilog, Yosys scripts, TCL or a shell.

``check_name(name, what)``: a plain Verilog identifier (``[A-Za-z_][A-Za-z0-9_$]*``, not a
Verilog/SystemVerilog keyword, at most 1024 characters), else a one-line AxhwError. Every module
and port name axhw writes into a testbench, a Yosys script or a TCL script passes through it when
it is read (design JSON, ``--top``/``--ports``, the names Yosys finds in external Verilog).

``check_plain_path(path, what)``: a path of letters, digits and ``_ . / + -`` only. Yosys's ABC
pass hands Liberty paths to ``sh -c`` and ABC splits its commands at ``;``, so the folders where
axhw runs its tools (and stages the user's files under names it chooses, see
:func:`axhw.infra.tools.stage`) must be plain.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

from .errors import AxhwError

__all__ = ["C_KEYWORDS", "KEYWORDS", "check_function_name", "check_name", "check_plain_path"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,1023}")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_./+-]+")

# IEEE 1364-2005 and 1800-2017 reserved words (designs are read with `read_verilog -sv`).
KEYWORDS = frozenset("""
accept_on alias always always_comb always_ff always_latch and assert assign assume automatic before
begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle checker class
clocking cmos config const constraint context continue cover covergroup coverpoint cross deassign
default defparam design disable dist do edge else end endcase endchecker endclass endclocking
endconfig endfunction endgenerate endgroup endinterface endmodule endpackage endprimitive
endprogram endproperty endspecify endsequence endtable endtask enum event eventually expect export
extends extern final first_match for force foreach forever fork forkjoin function generate genvar
global highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir include
initial inout input inside instance int integer interconnect interface intersect join join_any
join_none large let liblist library local localparam logic longint macromodule matches medium
modport module nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or
output package packed parameter pmos posedge primitive priority program property protected pull0
pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence
rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint shortreal
showcancelled signed small soft solve specify specparam static string strong strong0 strong1 struct
super supply0 supply1 sync_accept_on sync_reject_on table tagged task this throughout time
timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1 triand trior trireg type typedef union
unique unique0 unsigned until until_with untyped use uwire var vectored virtual void wait wait_order
wand weak weak0 weak1 while wildcard wire with within wor xnor xor
""".split())


def check_name(name, what: str = "module") -> str:
    """`name` if it is a plain Verilog identifier (see the module doc), else a one-line error."""
    if isinstance(name, str) and len(name) > 1024 and _IDENT.fullmatch(name[:1024]):
        raise AxhwError(f"{what} name {_shown(name)} is longer than 1024 characters")
    if not isinstance(name, str) or not _IDENT.fullmatch(name):
        raise AxhwError(f"{what} name {_shown(name)} is not a plain Verilog identifier "
                        "([A-Za-z_][A-Za-z0-9_$]*)")
    if name in KEYWORDS:
        raise AxhwError(f"{what} name {name!r} is a Verilog keyword")
    return name


# C99 keywords: an exported C function may not be named after one (Python's come from `keyword`).
C_KEYWORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if inline
int long register restrict return short signed sizeof static struct switch typedef union unsigned
void volatile while _Bool _Complex _Imaginary
""".split())
_FUNCTION = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,1023}")


def check_function_name(name, what: str = "--name") -> str:
    """`name` if it can name both a C and a Python function, else a one-line error."""
    if (not isinstance(name, str) or not _FUNCTION.fullmatch(name) or name in C_KEYWORDS
            or keyword.iskeyword(name)):
        raise AxhwError(f"{what} {_shown(name)} is not a C/Python identifier")
    return name


def check_plain_path(path: Path | str, what: str) -> Path:
    """`path` if it holds only letters, digits and ``_ . / + -`` (see the module doc)."""
    if not _PLAIN_PATH.fullmatch(str(path)):
        raise AxhwError(f"{what} {_shown(str(path))} holds characters a tool may misread "
                        "(Yosys, ABC's shell, make): use only letters, digits and _ . / + -")
    return Path(path)


def _shown(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
