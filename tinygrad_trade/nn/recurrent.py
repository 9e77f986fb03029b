"""LSTM layers with PyTorch's equations, batch-first like :class:`~tinygrad_trade.nn.GRU`::

    i = sigmoid(x W_ii + b_ii + h W_hi + b_hi)      f = sigmoid(x W_if + b_if + h W_hf + b_hf)
    g = tanh(x W_ig + b_ig + h W_hg + b_hg)         o = sigmoid(x W_io + b_io + h W_ho + b_ho)
    c' = f * c + i * g                              h' = o * tanh(c')

Parameters (columns ordered ``[i | f | g | o]``, transposed relative to PyTorch, as in ``Linear``):
``weight_ih`` ``(input_size, 4*hidden)``, ``weight_hh`` ``(hidden, 4*hidden)``, ``bias_ih`` and
``bias_hh`` ``(4*hidden,)``, drawn from ``U(-1/sqrt(hidden), 1/sqrt(hidden))`` (PyTorch's init) in
that order from ``rng``.

:class:`LSTM` runs the whole sequence as one fused op (:class:`LSTMSequence`: the forward and the
backpropagation through time written out in numpy, as ``GRUSequence`` in the volatility models), which
is much faster than a graph of per-step Tensor ops. Its backward is numpy-only, so second derivatives
through it need ``fused=False``, which runs :class:`LSTMCell` step by step (same numbers).
"""
from __future__ import annotations

import numpy as np

from ..tensor import CustomOp, Tensor
from .init import as_rng
from .modules import Module, _as_tensor

__all__ = ["LSTMCell", "LSTM", "LSTMSequence"]


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)  # stable for any x


class _LSTMParams(Module):
    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None):
        if int(input_size) < 1 or int(hidden_size) < 1:
            raise ValueError(f"{type(self).__name__}: sizes must be positive, got {input_size}, {hidden_size}")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        rng = as_rng(rng)
        k = 1.0 / np.sqrt(self.hidden_size)
        H4 = 4 * self.hidden_size

        def u(*shape):
            return Tensor(rng.uniform(-k, k, size=shape), requires_grad=True, dtype=dtype)
        self.weight_ih = u(self.input_size, H4)
        self.weight_hh = u(self.hidden_size, H4)
        self.bias_ih = u(H4)
        self.bias_hh = u(H4)

    def _state(self, state, B):
        H, dt = self.hidden_size, self.weight_hh.dtype
        if state is None:
            z = Tensor(np.zeros((B, H), dtype=dt))
            return z, z
        h, c = (_as_tensor(s) for s in state)
        for name, s in (("h", h), ("c", c)):
            if s.shape != (B, H):
                raise ValueError(f"{type(self).__name__}: initial {name} must have shape ({B}, {H}), got {s.shape}")
        return h, c

    def _step(self, xp, h, c):
        """One step from the input projection ``xp = x W_ih + b_ih``: returns (h', c')."""
        H = self.hidden_size
        a = xp + h @ self.weight_hh + self.bias_hh
        i, f = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid()
        g, o = a[:, 2 * H:3 * H].tanh(), a[:, 3 * H:].sigmoid()
        c = f * c + i * g
        return o * c.tanh(), c

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class LSTMCell(_LSTMParams):
    """One LSTM step: ``cell(x, (h, c)) -> (h', c')`` with ``x`` ``(batch, input_size)``; the state
    defaults to zeros. Composed from Tensor ops, so it is twice differentiable."""

    def forward(self, x, state=None):
        x = _as_tensor(x)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"LSTMCell expects x of shape (batch, {self.input_size}), got {x.shape}")
        h, c = self._state(state, x.shape[0])
        return self._step(x @ self.weight_ih + self.bias_ih, h, c)


class LSTM(_LSTMParams):
    """A one-layer LSTM over ``x`` of shape ``(batch, time, input_size)``.

    ``forward(x, state=None)`` returns ``(hs, (h, c))``: every hidden state ``(batch, time, hidden)``
    and the last hidden and cell states ``(batch, hidden)``; ``state`` (h0, c0) defaults to zeros.
    ``fused=True`` runs the sequence as one op (fast, first derivatives); ``fused=False`` as a graph
    of Tensor ops (slower, differentiable any number of times).
    """

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=None, fused: bool = True):
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        self.fused = bool(fused)

    def forward(self, x, state=None):
        x = _as_tensor(x)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"LSTM expects x of shape (batch, time, {self.input_size}), got {x.shape}")
        B, T, _ = x.shape
        if T == 0:
            raise ValueError("LSTM: the sequence is empty (time = 0)")
        h, c = self._state(state, B)
        H = self.hidden_size
        if self.fused:
            out = LSTMSequence.apply(x, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh, h, c)
            return out[:, :, :H], (out[:, -1, :H], out[:, -1, H:])
        xp = x @ self.weight_ih + self.bias_ih  # input projections of all steps at once
        hs = []
        for t in range(T):
            h, c = self._step(xp[:, t], h, c)
            hs.append(h)
        return Tensor.stack(hs, axis=1), (h, c)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}, fused={self.fused}"


class LSTMSequence(CustomOp):
    """The LSTM over a whole sequence as one op.

    ``LSTMSequence.apply(X, W_ih, W_hh, b_ih, b_hh, h0, c0)`` with ``X`` ``(B, T, D)``, ``h0``/``c0``
    ``(B, H)``, returns ``(B, T, 2H)``: each step's hidden state then cell state, ``[h_t | c_t]``.
    Gradients flow to every input. The backward pass is backpropagation through time in numpy,
    with the input projections and their weight gradients one matmul over all steps.
    """

    def forward(self, X, W_ih, W_hh, b_ih, b_hh, h0, c0):
        B, T, D = X.shape
        H = W_hh.shape[0]
        dt = np.result_type(X, W_ih)
        self.X, self.W_ih, self.W_hh = X, W_ih, W_hh
        xp = (X.reshape(B * T, D) @ W_ih + (b_ih + b_hh)).reshape(B, T, 4 * H)
        out = np.empty((B, T, 2 * H), dtype=dt)
        self.saved = []
        h, c = h0, c0
        for t in range(T):
            a = xp[:, t] + h @ W_hh
            i, f, o = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 3 * H:])
            g = np.tanh(a[:, 2 * H:3 * H])
            c_new = f * c + i * g
            tc = np.tanh(c_new)
            self.saved.append((h, c, i, f, g, o, tc))
            h, c = o * tc, c_new
            out[:, t, :H], out[:, t, H:] = h, c
        return out

    def backward(self, G):
        B, T, D = self.X.shape
        H = self.W_hh.shape[0]
        dt = np.result_type(G, self.W_hh)
        da = np.empty((B, T, 4 * H), dtype=dt)
        dW_hh = np.zeros_like(self.W_hh, dtype=dt)
        dh_next = np.zeros((B, H), dtype=dt)
        dc_next = np.zeros((B, H), dtype=dt)
        for t in reversed(range(T)):
            h_prev, c_prev, i, f, g, o, tc = self.saved[t]
            dh = G[:, t, :H] + dh_next
            dc = G[:, t, H:] + dc_next + dh * o * (1.0 - tc * tc)
            a = da[:, t]
            a[:, :H] = dc * g * i * (1.0 - i)                 # through i
            a[:, H:2 * H] = dc * c_prev * f * (1.0 - f)       # through f
            a[:, 2 * H:3 * H] = dc * i * (1.0 - g * g)        # through g
            a[:, 3 * H:] = dh * tc * o * (1.0 - o)            # through o
            dW_hh += h_prev.T @ a
            dh_next = a @ self.W_hh.T
            dc_next = dc * f
        flat = da.reshape(B * T, 4 * H)
        dX = (flat @ self.W_ih.T).reshape(B, T, D)
        dW_ih = self.X.reshape(B * T, D).T @ flat
        db = flat.sum(axis=0)
        self.saved = self.X = None
        return dX, dW_ih, dW_hh, db, db.copy(), dh_next, dc_next
