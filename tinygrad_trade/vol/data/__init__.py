"""The data layer: reading price and realized-variance files, their checks, and universes of assets.

``loading`` reads and validates one file (and the embedded data), ``checks`` flags data that parses but cannot be
right, ``assets`` makes a universe from several files (or one long file, or the embedded universe). Nothing here
imports from the layers above (features, models, evaluation, runs, report, jobs).
"""
from .loading import *  # noqa: F401,F403
from .loading import __all__ as _loading
from .assets import load_embedded_universe, load_universe
from .frames import normalize_prices

__all__ = [*_loading, "load_universe", "load_embedded_universe", "normalize_prices"]
