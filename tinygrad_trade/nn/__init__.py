"""Neural networks.

    from tinygrad_trade.nn import Module, Linear, MLP, Sequential, GRU, Dropout   # on Tensor
    from tinygrad_trade.nn import losses                # mse, mae, huber, qlike, gaussian_nll
    from tinygrad_trade.nn.scalar import Neuron, Layer, MLP                        # on Value
"""
from . import losses, scalar
from .modules import (GRU, MLP, CheckpointError, Dropout, Linear, Module, ReLU, Sequential, Sigmoid,
                      Tanh)

__all__ = ["Module", "Linear", "MLP", "Sequential", "GRU", "Dropout", "ReLU", "Tanh", "Sigmoid",
           "CheckpointError", "losses", "scalar"]
