"""Structural hardware description shared by all families: netlist builder, PP matrix, trees, Booth."""
