"""Measurements of a design's function: its LUT (lut) and error metrics (metrics)."""
