"""Infrastructure every stage uses: errors, file I/O and the cache root, parallel workers,
progress lines, and the wrappers of the external tools (Yosys, OpenSTA)."""
