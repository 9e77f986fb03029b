"""The report layer: metrics.json, forecasts.csv, plots, report.md and report.html of a run.

``writer`` (one asset), ``universe`` (many assets), ``risk`` (the VaR/ES section), ``html`` (the one-page HTML).
"""
from .writer import *  # noqa: F401,F403
from .writer import __all__ as __all__  # noqa: F401
