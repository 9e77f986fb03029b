"""The evaluation layer: losses and forecast tests (``losses``), comparisons across models and assets
(``comparison``), VaR/ES and their backtests (``risk``), and the volatility-targeting backtest (``backtest``).

Arrays in, numbers out: nothing here knows about files, models or runs.
"""
from .losses import *  # noqa: F401,F403
from .losses import __all__ as __all__  # noqa: F401
