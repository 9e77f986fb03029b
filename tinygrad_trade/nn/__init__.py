"""Neural networks.

    from tinygrad_trade.nn import Module, Linear, MLP, Sequential, GRU, Dropout   # on Tensor
    from tinygrad_trade.nn import LayerNorm, RMSNorm, BatchNorm1d, GroupNorm      # normalization.py
    from tinygrad_trade.nn import LSTMCell, LSTM                                  # recurrent.py
    from tinygrad_trade.nn import Embedding, Conv1d                               # sequence.py
    from tinygrad_trade.nn import MultiheadAttention                              # attention.py
    from tinygrad_trade.nn import losses                # mse, mae, huber, qlike, gaussian_nll
    from tinygrad_trade.nn.scalar import Neuron, Layer, MLP                        # on Value
"""
from . import losses, scalar
from .attention import MultiheadAttention
from .modules import (GRU, MLP, CheckpointError, Dropout, Linear, Module, ReLU, Sequential, Sigmoid,
                      Tanh)
from .normalization import BatchNorm1d, GroupNorm, LayerNorm, RMSNorm
from .recurrent import LSTM, LSTMCell
from .sequence import Conv1d, Embedding

__all__ = ["Module", "Linear", "MLP", "Sequential", "GRU", "Dropout", "ReLU", "Tanh", "Sigmoid",
           "LayerNorm", "RMSNorm", "BatchNorm1d", "GroupNorm", "LSTMCell", "LSTM", "Embedding", "Conv1d",
           "MultiheadAttention", "CheckpointError", "losses", "scalar"]
