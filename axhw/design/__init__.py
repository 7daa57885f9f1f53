"""The design: the Verilog + JSON sidecar every later stage reads (record), external Verilog
(external), golden-model helpers (golden) and the registry of design kinds (kinds)."""
