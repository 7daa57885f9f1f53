"""`nsga2` (MAx-DNN / ALWANN): to be filled."""
