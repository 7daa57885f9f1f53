"""Tables of results: Pareto fronts (pareto) and the sweep report (report)."""
