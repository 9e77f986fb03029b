"""tinygrad_trade: a reverse-mode autodiff engine you can see and trust, built for trading models.

    from tinygrad_trade import Value, Tensor, grad, no_grad
"""
from .engine import Value
from .graph import enable_grad, grad, is_grad_enabled, no_grad
from .tensor import CustomOp, Tensor

__all__ = ["Value", "Tensor", "CustomOp", "grad", "no_grad", "enable_grad", "is_grad_enabled"]
__version__ = "0.1.0"
