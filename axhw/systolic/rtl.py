"""Verilog of a systolic array: the multiplier modules, one PE module per distinct multiplier, and
the unrolled array top (skew chains, R×C PEs, de-skew chains, valid pipeline with global stall).

The stall enable is ``~out_valid | out_ready``. Driven by one gate it would reach every data
register (hundreds of loads; the synthesis flow inserts no buffer trees), so every register group
(each PE, each skew and de-skew register) computes its own copy of it from its own copy of
``out_valid``: a flop that loads ``valid_q[L-2]`` under that same enable and is reset with
``valid_q``, hence equal to ``out_valid`` on every cycle. Behaviour is unchanged; each enable
drives one group.

The file is self-contained: synthesis and simulation read only ``<top>.v``.
"""

from __future__ import annotations

from .array import SystolicArray

__all__ = ["port_list", "array_verilog"]


def port_list(arr: SystolicArray) -> list[dict]:
    """Ports of the array top, in declaration order (the JSON sidecar records this list)."""
    R, C = arr.rows, arr.cols
    return [
        {"name": "clk", "dir": "input", "width": 1, "role": "clock, rising edge"},
        {"name": "rst", "dir": "input", "width": 1, "role": "synchronous reset, active high"},
        {"name": "w_en", "dir": "input", "width": 1, "role": "write weight row w_row this cycle"},
        {"name": "w_row", "dir": "input", "width": row_bits(arr), "role": "weight row index 0..rows-1"},
        {"name": "w_data", "dir": "input", "width": C * arr.bits_b,
         "role": f"weights of row w_row; column j at bits [j*{arr.bits_b} +: {arr.bits_b}]"},
        {"name": "in_valid", "dir": "input", "width": 1, "role": "in_data holds an activation vector"},
        *([{"name": "in_ready", "dir": "output", "width": 1,
            "role": "the array takes in_data this cycle"}] if arr.backpressure else []),
        {"name": "in_data", "dir": "input", "width": R * arr.bits_a,
         "role": f"activations; row i at bits [i*{arr.bits_a} +: {arr.bits_a}]"},
        {"name": "out_valid", "dir": "output", "width": 1, "role": "out_data holds a result vector"},
        *([{"name": "out_ready", "dir": "input", "width": 1,
            "role": "the consumer takes out_data this cycle"}] if arr.backpressure else []),
        {"name": "out_data", "dir": "output", "width": C * arr.acc_width,
         "role": f"results; column j at bits [j*{arr.acc_width} +: {arr.acc_width}]"
                 + (" (two's complement)" if arr.acc_signed else "")},
    ]


def row_bits(arr: SystolicArray) -> int:
    return max(1, (arr.rows - 1).bit_length())


def _extend(acc: int, pb: int, shift: int, signed: bool) -> str:
    """Product port p (pb bits, product scale = p << shift) as an acc-bit word: shifted, then
    sign/zero extended or truncated (mod 2^acc)."""
    zeros = [f"{shift}'b0"] if shift else []
    if acc <= pb + shift:
        hi = acc - shift - 1
        return "{" + ", ".join([f"p[{hi}:0]"] + zeros) + "}" if zeros or hi < pb - 1 else "p"
    fill = f"p[{pb - 1}]" if signed else "1'b0"
    return "{" + ", ".join([f"{{{acc - pb - shift}{{{fill}}}}}", "p"] + zeros) + "}"


def _enabled(statements: list[str], backpressure: int) -> list[str]:
    """Register updates of one always block, under the stall enable when there is one."""
    if not backpressure:
        return [f"    {s}" for s in statements]
    return ["    if (en) begin", *(f"      {s}" for s in statements), "    end"]


def _stall_copy(group: str, latency: int) -> list[str]:
    """A group's private out_valid copy and the stall enable ``en_<group>`` it drives (see top)."""
    v, en = f"vq_{group}", f"en_{group}"
    return [f"  reg {v};",
            f"  wire {en} = ~{v} | out_ready;",
            f"  always @(posedge clk) if (rst) {v} <= 1'b0; else if ({en}) {v} <= valid_q[{latency - 2}];"]


def pe_module(arr: SystolicArray, name: str, mul) -> str:
    acc, ba, bb, pb = arr.acc_width, arr.bits_a, arr.bits_b, mul.out_bits
    term = "p_q" if arr.pipeline else "p_ext"
    # Data registers have no reset (only the valid pipeline does): a reset net reaching every
    # flip-flop would be the design's critical path in an unbuffered synthesis flow.
    lines = [
        f"// PE: activation register, stationary weight, {mul.top} multiplier, "
        + ("product register, " if arr.pipeline else "") + "partial-sum register",
        f"module {name}(",
        "  input clk," + (" input en," if arr.backpressure else "") + " input w_we,",
        f"  input [{bb - 1}:0] w_in, input [{ba - 1}:0] a_in, input [{acc - 1}:0] s_in,",
        f"  output reg [{ba - 1}:0] a_out, output reg [{acc - 1}:0] s_out",
        ");",
        f"  reg [{bb - 1}:0] w;",
        f"  wire [{pb - 1}:0] p;",
        f"  {mul.top} mul (.a(a_out), .b(w), .p(p));",
        f"  wire [{acc - 1}:0] p_ext = {_extend(acc, pb, mul.out_shift, mul.out_signed)};",
    ]
    if arr.pipeline:
        lines.append(f"  reg [{acc - 1}:0] p_q;")
    lines += [
        "  always @(posedge clk) begin",
        "    if (w_we) w <= w_in;",
        *(_enabled(["a_out <= a_in;", *(["p_q <= p_ext;"] if arr.pipeline else []),
                    f"s_out <= s_in + {term};"], arr.backpressure)),
        "  end",
        "endmodule",
    ]
    return "\n".join(lines) + "\n"


def array_verilog(arr: SystolicArray) -> str:
    R, C, ba, bb, acc, L = arr.rows, arr.cols, arr.bits_a, arr.bits_b, arr.acc_width, arr.latency
    distinct = arr.distinct_multipliers
    pe_name = {m.top: f"{arr.top}_pe{k}" for k, m in enumerate(distinct)}
    header = [
        f"// {arr.top}: {R}x{C} weight-stationary systolic MAC array, generated by axhw; do not edit",
        f"// activations {ba}-bit, weights {bb}-bit, {'signed' if arr.signed else 'unsigned'}; "
        f"accumulator {acc}-bit {'two' + chr(39) + 's complement' if arr.acc_signed else 'unsigned'}"
        f"; pipeline={arr.pipeline}; latency {L} clock enables",
        "// columns: " + ", ".join(m.top for m in arr.multipliers),
        "// contract: out_data[j] == sum_i LUT_j[x[i], W[i][j]] mod 2^acc (LUT_j = column j's "
        "multiplier), for the vector accepted latency enabled cycles earlier",
        ("// handshake: in_ready = out_ready | ~out_valid; every register except the weights "
         "advances only when in_ready (global stall; each register group has its own copy of "
         "out_valid and of the enable)" if arr.backpressure else
         "// handshake: valid only (no back-pressure): every register advances on every edge"),
        "// reset: synchronous, clears the valid pipeline only (weights and data are not reset)",
        "",
    ]
    parts = ["\n".join(header)]
    parts += [m.verilog() for m in distinct]
    parts += [pe_module(arr, pe_name[m.top], m) for m in distinct]

    decl = ",\n".join(
        f"  {p['dir']} {'[' + str(p['width'] - 1) + ':0] ' if p['width'] > 1 else ''}{p['name']}"
        for p in port_list(arr))
    body = [f"module {arr.top}(", decl, ");",
            *(["  wire en = ~out_valid | out_ready;  // stall while a result waits (valid_q's copy)",
               "  assign in_ready = en;"] if arr.backpressure else []),
            f"  reg [{L - 1}:0] valid_q;",
            f"  assign out_valid = valid_q[{L - 1}];"]
    regs = []  # (name, width, source) shifted on every enabled edge
    for i in range(1, R):
        for k in range(i):
            src = f"in_data[{i * ba} +: {ba}]" if k == 0 else f"skew_r{i}_{k - 1}"
            regs.append((f"skew_r{i}_{k}", ba, src))
    for j in range(C):
        for k in range(C - 1 - j):
            src = f"s_r{R - 1}_c{j}" if k == 0 else f"deskew_c{j}_{k - 1}"
            regs.append((f"deskew_c{j}_{k}", acc, src))
    for name, width, _ in regs:
        body.append(f"  reg [{width - 1}:0] {name};")
    for i in range(R):
        for j in range(C):
            if j < C - 1:  # the last column's activations leave the array unused
                body.append(f"  wire [{ba - 1}:0] a_r{i}_c{j};")
            body.append(f"  wire [{acc - 1}:0] s_r{i}_c{j};")
    enable = " if (en)" if arr.backpressure else ""
    body.append("  always @(posedge clk)")
    body.append("    if (rst) valid_q <= 0;")
    body.append(f"    else{enable} valid_q <= {{valid_q[{L - 2}:0], in_valid}};")
    for name, _, src in regs:
        if arr.backpressure:
            body += _stall_copy(name, L)
        body.append(f"  always @(posedge clk){' if (en_' + name + ')' if arr.backpressure else ''} "
                    f"{name} <= {src};")
    rb = row_bits(arr)
    for i in range(R):
        row_in = f"in_data[0 +: {ba}]" if i == 0 else f"skew_r{i}_{i - 1}"
        for j in range(C):
            m = arr.multipliers[j]
            a_in = row_in if j == 0 else f"a_r{i}_c{j - 1}"
            s_in = f"{acc}'d0" if i == 0 else f"s_r{i - 1}_c{j}"
            a_out = f"a_r{i}_c{j}" if j < C - 1 else ""
            if arr.backpressure:
                body += _stall_copy(f"r{i}_c{j}", L)
            en = f".en(en_r{i}_c{j}), " if arr.backpressure else ""
            body.append(
                f"  {pe_name[m.top]} pe_r{i}_c{j} (.clk(clk), {en}"
                f".w_we(w_en & (w_row == {rb}'d{i})), .w_in(w_data[{j * bb} +: {bb}]), "
                f".a_in({a_in}), .s_in({s_in}), .a_out({a_out}), .s_out(s_r{i}_c{j}));")
    for j in range(C):
        last = f"s_r{R - 1}_c{j}" if j == C - 1 else f"deskew_c{j}_{C - 2 - j}"
        body.append(f"  assign out_data[{j * acc} +: {acc}] = {last};")
    body.append("endmodule")
    parts.append("\n".join(body) + "\n")
    return "\n".join(parts)
