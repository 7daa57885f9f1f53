// axhw pair-sweep testbench: applies operand pairs from a hex file, one per clock, and writes the
// product of each to an output file. cocotb waits for `done`, then checks the file against the
// Python golden model (batching keeps cocotb's per-transaction cost out of the loop).
// With AXHW_TB_CLOCK defined (Icarus) the testbench makes its own clock: a cocotb-driven clock
// costs a Python wake-up per edge, several times the simulation itself. Otherwise (Verilator,
// which has no delays without --timing) cocotb drives `clk_in`.
`timescale 1ns/1ps
module axhw_tb (
  input clk_in,
  output reg done
);
`ifdef AXHW_TB_CLOCK
  reg clk = 1'b0;
  always #1 clk = ~clk;
`else
  wire clk = clk_in;
`endif
  localparam NA = {{BITS_A}};
  localparam NB = {{BITS_B}};
  localparam NP = {{OUT_BITS}};
  localparam DEPTH = {{DEPTH}};
  reg [NA+NB-1:0] vec [0:DEPTH-1];
  reg [NA-1:0] a;
  reg [NB-1:0] b;
  wire [NP-1:0] p;
  integer idx;
  integer count;
  integer fd;
  reg [8*2048:1] vfile;
  reg [8*2048:1] ofile;

  {{TOP}} dut (.{{PORT_A}}(a), .{{PORT_B}}(b), .{{PORT_P}}(p));

  initial begin
    done = 1'b0;
    idx = 0;
    if (!$value$plusargs("count=%d", count)) count = DEPTH;
    if (!$value$plusargs("vectors=%s", vfile)) $fatal(1, "axhw_tb: +vectors=FILE missing");
    if (!$value$plusargs("out=%s", ofile)) $fatal(1, "axhw_tb: +out=FILE missing");
    $readmemh(vfile, vec, 0, count - 1);
    fd = $fopen(ofile, "w");
    {a, b} = vec[0];
  end

  always @(posedge clk) begin
    if (!done) begin
      $fwrite(fd, "%h\n", p);
      idx = idx + 1;
      if (idx >= count) begin
        $fclose(fd);
        done <= 1'b1;
      end else begin
        {a, b} = vec[idx];
      end
    end
  end
endmodule
