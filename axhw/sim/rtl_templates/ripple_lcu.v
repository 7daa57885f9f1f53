// Yosys techmap rule: lower the carry unit ($lcu) of every '+' as a ripple chain instead of
// Yosys's default Brent-Kung prefix tree. Same function (CO[i] = G[i] | P[i] & CO[i-1]); full
// adders then show up for extract_fa, which algebraic rewriting needs (axhw.algebraic).
// _70_ sorts before Yosys's _90_lcu_brent_kung, so this rule wins.
(* techmap_celltype = "$lcu" *)
module _70_lcu_ripple (P, G, CI, CO);
	parameter WIDTH = 2;
	(* force_downto *)
	input [WIDTH-1:0] P, G;
	input CI;
	(* force_downto *)
	output [WIDTH-1:0] CO;
	genvar i;
	generate for (i = 0; i < WIDTH; i = i + 1) begin : ripple
		if (i == 0) assign CO[0] = G[0] | (P[0] & CI);
		else assign CO[i] = G[i] | (P[i] & CO[i-1]);
	end endgenerate
endmodule
