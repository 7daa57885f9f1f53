"""Generation: multiplier families (golden model + structure) and the HDL builder that emits their
Verilog (netlist, bit matrix, reduction trees, adders, Booth)."""
