"""Verification of a design's RTL against its golden model: method dispatch and result (dispatch),
exhaustive simulation (harness), formal proofs (formal, algebraic)."""
