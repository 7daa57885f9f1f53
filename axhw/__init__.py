"""axhw: approximate multipliers, from idea to verified RTL, silicon numbers and DNN emulation."""

__version__ = "0.1.0"
