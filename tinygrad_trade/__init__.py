"""tinygrad_trade: a reverse-mode autodiff engine you can see and trust, built for trading models.

    from tinygrad_trade import Value, Tensor, grad, no_grad, detect_anomaly

The package face also plugs the picture layer into the core's display slot, so a Value or Tensor
shows its graph in Jupyter; :mod:`.viz` (graphviz) is imported only when a notebook asks.
"""
from .anomaly import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import Value
from .graph import enable_grad, grad, is_grad_enabled, no_grad, set_display_hook
from .tensor import CustomOp, Tensor


def _notebook_display(node, include=None, exclude=None):
    from .viz.notebook import mimebundle  # on first display only: the engine itself stays numpy-only
    return mimebundle(node, include, exclude)


set_display_hook(_notebook_display)

__all__ = ["Value", "Tensor", "CustomOp", "grad", "no_grad", "enable_grad", "is_grad_enabled",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "AnomalyError"]
__version__ = "0.1.0"
