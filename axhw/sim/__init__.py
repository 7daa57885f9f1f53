"""Simulation: the cocotb harness and the simulator wrappers (Icarus, Verilator)."""
