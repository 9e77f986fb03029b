"""The GRU recurrence over a whole sequence as one fused op (PyTorch's GRU equations, backpropagation
through time in numpy).

Why fused: a step-by-step GRU makes about 200 small graph nodes per epoch, which would dominate the
run time of the GRU forecaster (:mod:`.neural`). Its gradients are checked against finite differences
and against ``nn.GRU`` in the tests.
"""
from __future__ import annotations

import numpy as np

from ...tensor import CustomOp

__all__ = ["GRUSequence"]


def _sigmoid_(a):
    """In place: ``a = sigmoid(a) = 0.5 (1 + tanh(a / 2))`` (stable; numpy's float32 tanh is fast)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class GRUSequence(CustomOp):
    """Last hidden state of a batched ensemble of one-layer GRUs run over a window, in one op.

    ``GRUSequence.apply(X, W_ih, W_hh, b_ih, b_hh)`` with ``X`` ``(B, L, D)`` (a constant: no gradient),
    ``W_ih`` ``(K, D, 3H)``, ``W_hh`` ``(K, H, 3H)``, ``b_ih`` and ``b_hh`` ``(K, 1, 3H)`` (columns
    ``[r | z | n]``), ``h_0 = 0``, returns ``h_L`` ``(K, B, H)``. PyTorch's equations (as
    :class:`tinygrad_trade.nn.GRU`)::

        r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)     z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn))  h' = (1 - z) * n + z * h

    The backward pass is backpropagation through time, written out in numpy. Every gate is kept in
    its own contiguous ``(K, B, H)`` array (elementwise work on a strided third of a ``(K, B, 3H)``
    array is several times slower), and the input projections of all steps are one matmul per gate.
    """

    def forward(self, X, W_ih, W_hh, b_ih, b_hh):
        from ...graph import is_grad_enabled
        B, L, D = X.shape
        K, H = W_hh.shape[0], W_hh.shape[1]
        Xf = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(L * B, D)     # rows: step-major
        gates = [slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)]
        self.Xf, self.shape = Xf, (B, L, D, K, H)
        self.Wh = [np.ascontiguousarray(W_hh[..., g]) for g in gates]

        def tiled(b):
            # (K, 1, H) -> (K, B*H): a bias laid out along a whole (K, B, H) block. Adding it there is the
            # same arithmetic as numpy's broadcast of (K, 1, H), whose inner loop of H elements is ~5x slower
            return np.tile(b, (1, B, 1)).reshape(K, B * H)
        xs = []
        for i, g in enumerate(gates):
            bias = b_ih[..., g] + (b_hh[..., g] if i < 2 else 0.0)          # b_hn stays inside r * (...)
            xg = Xf @ np.ascontiguousarray(W_ih[..., g])                    # (K, L*B, H)
            xg.reshape(K, L, B * H)[...] += tiled(bias)[:, None, :]
            xs.append(xg.reshape(K, L, B, H))
        xr, xz, xn = xs
        dt = xr.dtype
        b_hn = tiled(b_hh[..., gates[2]]).reshape(K, B, H).astype(dt, copy=False)
        Wr, Wz, Wn = self.Wh
        # without gradient recording (validation, prediction) no step is kept: the buffers are reused
        keep = is_grad_enabled()
        self.saved = []
        h = np.zeros((K, B, H), dtype=dt)
        new = lambda: np.empty((K, B, H), dtype=dt)          # noqa: E731
        r, z, hn, n = new(), new(), new(), new()
        for t in range(L):
            if keep and t:
                r, z, hn, n = new(), new(), new(), new()
            if t:
                r = np.matmul(h, Wr, out=r)
                r += xr[:, t]
                z = np.matmul(h, Wz, out=z)
                z += xz[:, t]
                hn = np.matmul(h, Wn, out=hn)
                hn += b_hn
            else:                                   # h_0 = 0
                np.copyto(r, xr[:, 0])
                np.copyto(z, xz[:, 0])
                np.copyto(hn, b_hn)
            _sigmoid_(r)
            _sigmoid_(z)
            np.multiply(r, hn, out=n)
            n += xn[:, t]
            np.tanh(n, out=n)
            if keep:
                self.saved.append((h, r, z, n, hn))
                h = h - n
            else:
                np.subtract(h, n, out=h)
            h *= z
            h += n
        if not keep:
            self.saved = self.Xf = None
        return h

    def backward(self, g):
        B, L, D, K, H = self.shape
        WT = [np.ascontiguousarray(np.swapaxes(w, -1, -2)) for w in self.Wh]   # contiguous: a faster gemm
        dt = np.result_type(g, WT[0])
        # d(pre-activation) of the gates r, z, n and d(h W_hn + b_hn), laid out (K, L, B, H) so that
        # each reshapes to (K, L*B, H) rows matching Xf: the weight and bias gradients are then matmuls
        dx = np.empty((4, K, L, B, H), dtype=dt)
        dWh = np.zeros((3, K, H, H), dtype=dt)
        dh = np.array(g, dtype=dt)
        omz, tmp = np.empty((K, B, H), dtype=dt), np.empty((K, B, H), dtype=dt)
        for t in reversed(range(L)):
            h_prev, r, z, n, hn = self.saved[t]
            self.saved[t] = None
            da_r, da_z, da_n, dhn = dx[0, :, t], dx[1, :, t], dx[2, :, t], dx[3, :, t]
            np.subtract(1.0, z, out=omz)
            np.subtract(h_prev, n, out=da_z)        # h = n + z (h_prev - n)
            da_z *= dh
            da_z *= z
            da_z *= omz                             # through z = sigmoid(a_z)
            np.multiply(n, n, out=da_n)
            np.subtract(1.0, da_n, out=da_n)
            da_n *= dh
            da_n *= omz                             # through n = tanh(a_n)
            np.multiply(da_n, r, out=dhn)           # a_n = x_n + r * hn
            np.multiply(da_n, hn, out=da_r)
            da_r *= r
            np.subtract(1.0, r, out=tmp)
            da_r *= tmp                             # through r = sigmoid(a_r)
            if t:
                hT = np.swapaxes(h_prev, -1, -2)
                dWh[0] += hT @ da_r
                dWh[1] += hT @ da_z
                dWh[2] += hT @ dhn
                dh *= z
                dh += np.matmul(da_r, WT[0], out=tmp)
                dh += np.matmul(da_z, WT[1], out=tmp)
                dh += np.matmul(dhn, WT[2], out=tmp)
        flat = dx.reshape(4, K, L * B, H)
        XfT = self.Xf.T
        dW_ih = np.concatenate([XfT @ flat[i] for i in range(3)], axis=-1)
        db = np.ones(L * B, dtype=dt) @ flat                               # (4, K, H): sums over steps and rows
        db_ih = np.concatenate([db[0], db[1], db[2]], axis=-1)[:, None, :]
        db_hh = np.concatenate([db[0], db[1], db[3]], axis=-1)[:, None, :]
        dW_hh = np.concatenate([dWh[0], dWh[1], dWh[2]], axis=-1)
        self.saved = self.Xf = None
        return None, dW_ih, dW_hh, db_ih, db_hh
