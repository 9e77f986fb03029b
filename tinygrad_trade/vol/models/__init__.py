"""The models layer: the forecaster contract (``base``), arch-shaped results (``results``), the registry by name
(``registry``), the lean runtime, and one file per model (``ewma``, ``garch``, ``har``, ``pooled``, ``neural``).

``get_model(name, **opts)`` builds a model; see :mod:`.registry`. Imports only the features and data layers.
"""
from .registry import *  # noqa: F401,F403
from .registry import __all__ as __all__  # noqa: F401
