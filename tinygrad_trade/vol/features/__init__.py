"""The features layer: variance proxies, leak-free inputs, the :class:`Dataset` and the forecast calendar.

``proxies`` (r^2, Parkinson, Garman-Klass, ... and HAR-type inputs), ``dataset`` (a price or realized-variance
frame as aligned daily arrays), ``calendar`` (the business days after the data). Imports only the data layer.
"""
from .proxies import *  # noqa: F401,F403
from .proxies import __all__ as _proxies
from .dataset import *  # noqa: F401,F403
from .dataset import __all__ as _dataset
from .calendar import business_days, extend_one_day

__all__ = [*_proxies, *_dataset, "business_days", "extend_one_day"]
