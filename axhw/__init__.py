"""axhw: approximate multipliers, from idea to verified RTL, silicon numbers and DNN emulation."""

__version__ = "0.1.0"
__all__ = ["pareto"]


def pareto(df, objectives, maximize=()):
    """Non-dominated rows of a sweep table (see :mod:`axhw.tables.pareto`; a module named like this
    function would replace it as ``axhw.pareto`` once imported)."""
    from .tables.pareto import pareto as _pareto

    return _pareto(df, objectives, maximize)
