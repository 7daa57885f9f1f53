"""External tools, each wrapped once: Yosys (pyosys) here, OpenSTA in opensta.py."""
