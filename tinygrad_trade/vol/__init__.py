"""Volatility forecasting and risk on daily market data, in layers that import only downwards::

    data -> features -> models -> evaluation -> runs -> report -> jobs

``data`` reads and checks files; ``features`` turns prices into proxies and a :class:`Dataset`; ``models`` are
the forecasters; ``evaluation`` scores forecasts and risk figures; ``runs`` walks forward over assets and models
(here, a process pool or Dask) and saves models; ``report`` writes the outputs; ``jobs`` are the commands
(forecast, predict, demo). docs/architecture.md draws the layers and states the rule.

Nothing heavy is loaded here. The module paths of earlier rounds (``vol.walkforward``, ``vol.pipeline``, ...)
still import: :mod:`._moved` maps each to its new home.
"""
from . import _moved

_moved.install()
