"""Gate-level results: synthesis (synth), timing (sta), switching activity (activity, glitch),
cell libraries (pdk, pdks/), the PPA flow (characterize) and gate-level exports (export)."""
