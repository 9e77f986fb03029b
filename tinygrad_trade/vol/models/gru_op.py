"""The GRU recurrence over a whole sequence as one fused op (PyTorch's GRU equations, backpropagation
through time in numpy).

Why fused: a step-by-step GRU makes about 200 small graph nodes per epoch, which would dominate the
run time of the GRU forecaster (:mod:`.neural`). Why laid out as it is: the work is a few thousand rows
of 8 units, so every step is a handful of small matrix products and elementwise passes, and their count
and shape set the speed (docs/benchmarks.md, "GRU training"). Its gradients are checked against finite
differences and against ``nn.GRU`` in the tests.
"""
from __future__ import annotations

import numpy as np

from ...tensor import CustomOp

__all__ = ["GRUSequence"]


class GRUSequence(CustomOp):
    """Last hidden state of a batched ensemble of one-layer GRUs run over windows of days, in one op.

    Two ways to give the windows:

    - ``GRUSequence.apply(X, W_ih, W_hh, b_ih, b_hh)`` with ``X`` ``(B, L, D)``: window ``b`` is ``X[b]``;
    - ``GRUSequence.apply(days, W_ih, W_hh, b_ih, b_hh, lookback=L, starts=s)`` with ``days`` ``(n, D)``:
      window ``b`` is ``days[s[b] : s[b] + L]`` (``s`` increasing; by default every start, ``B = n - L + 1``).
      Overlapping windows share their days, so each day's input projection is computed once (the
      forecasters' rows are consecutive days: 1.5-1.7x faster than the same windows as ``X``).

    ``W_ih`` ``(K, D, 3H)``, ``W_hh`` ``(K, H, 3H)``, ``b_ih`` and ``b_hh`` ``(K, 1, 3H)`` (columns
    ``[r | z | n]``); the windows are constants (no gradient); ``h_0 = 0``; returns ``h_L`` ``(K, B, H)``.
    PyTorch's equations (as :class:`tinygrad_trade.nn.GRU`)::

        r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)     z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn))  h' = (1 - z) * n + z * h

    Layout: feature-major, a column per window, so that all three gates of a step come from one matrix
    product ``(3H, H) @ (H, B)`` and each gate is a contiguous block of rows; the states of every step
    are kept step-major for the backward pass (each step one contiguous block). ``sigmoid(a)`` is
    computed as ``0.5 + 0.5 tanh(a / 2)`` with the halving folded into the weights (numpy's float32
    ``tanh`` is fast). The backward pass is backpropagation through time, written out in numpy; the
    weight gradients are summed step by step while each step's numbers are still in cache.
    """

    def __init__(self, lookback=None, starts=None):
        self.lookback, self.starts = lookback, starts

    def _days(self, X):
        """``(days, stride, L, B, cols)``: the day rows to project, the column offset from one step to the
        next, the window length, the number of computed windows, and the output's columns among them
        (``None``: all)."""
        if self.lookback is None:
            if X.ndim != 3:
                raise ValueError(f"GRUSequence: windows must be (B, L, D), got shape {X.shape}; "
                                 f"for a (days, D) array give lookback=")
            B, L, D = X.shape
            return X.transpose(1, 0, 2).reshape(L * B, D), B, L, B, None     # step-major rows
        L = int(self.lookback)
        if X.ndim != 2 or L < 1 or X.shape[0] < L:
            raise ValueError(f"GRUSequence: days must be (n, D) with n >= lookback = {L}, got shape {X.shape}")
        if self.starts is None:
            return X, 1, L, X.shape[0] - L + 1, None
        s = np.asarray(self.starts)
        if s.ndim != 1 or s.size == 0 or not np.issubdtype(s.dtype, np.integer) or np.any(np.diff(s) <= 0) \
                or s[0] < 0 or s[-1] > X.shape[0] - L:
            raise ValueError(f"GRUSequence: starts must be increasing integers in 0 .. {X.shape[0] - L}")
        lo, hi = int(s[0]), int(s[-1]) + 1                  # every window from lo to hi - 1 is computed
        cols = None if hi - lo == s.size else s - lo
        Xd = X[lo:hi + L - 1]
        if cols is not None and not np.isfinite(Xd).all():
            # a day in no wanted window must not reach the gradients through the windows computed in
            # between (their gradient is zero, but 0 * nan is nan): such days are zeroed
            inside = np.zeros(Xd.shape[0] + 1, dtype=int)
            np.add.at(inside, cols, 1)
            np.add.at(inside, cols + L, -1)
            outside = np.cumsum(inside[:-1]) == 0
            Xd = Xd.copy()
            Xd[outside[:, None] & ~np.isfinite(Xd)] = 0.0
        return Xd, 1, L, hi - lo, cols

    def forward(self, X, W_ih, W_hh, b_ih, b_hh):
        from ...graph import is_grad_enabled
        Xd, stride, L, B, cols = self._days(X)
        n_days, D = Xd.shape
        K, H = W_hh.shape[0], W_hh.shape[1]
        dt = np.result_type(X, W_ih, W_hh, b_ih, b_hh)
        # Rows are ordered [hn | r | z | n] everywhere (hn: h W_hn + b_hn, inside n's r * (...)).
        # Each day's inputs are projected once, P = Wi @ [x; 1]: rows b_hn (no input), x W_ir + b_ir + b_hr and
        # x W_iz + b_iz + b_hz (both halved: sigmoid(a) = 0.5 + 0.5 tanh(a / 2)), x W_in + b_in
        X1 = np.empty((D + 1, n_days), dtype=dt)
        X1[:D] = Xd.T
        X1[D] = 1.0
        Wi = np.zeros((K, 4 * H, D + 1), dtype=dt)
        Wi[:, H:, :D] = np.swapaxes(W_ih, -1, -2)
        Wi[:, :H, D] = b_hh[:, 0, 2 * H:]
        Wi[:, H:3 * H, D] = b_ih[:, 0, :2 * H] + b_hh[:, 0, :2 * H]
        Wi[:, 3 * H:, D] = b_ih[:, 0, 2 * H:]
        Wi[:, H:3 * H] *= 0.5
        P = np.matmul(Wi, X1)                                                     # (K, 4H, n_days)
        Wh = np.concatenate([W_hh[..., 2 * H:], W_hh[..., :2 * H]], axis=-1)      # (K, H, 3H) columns n, r, z
        Wf = np.swapaxes(Wh, -1, -2).astype(dt)                                   # (K, 3H, H), a copy
        Wf[:, H:] *= 0.5
        # with gradient recording, every step's (hn, r, z), n and h_prev are kept; without (validation,
        # prediction), one step's
        keep = is_grad_enabled()
        A = np.empty((L if keep else 1, K, 3 * H, B), dtype=dt)
        N = np.empty((L if keep else 1, K, H, B), dtype=dt)
        Hs = np.empty((L if keep else 2, K, H, B), dtype=dt)
        hW = np.empty((K, 3 * H, B), dtype=dt)
        # views by gate, made once (a step then indexes one of them: numpy's per-call cost shows at this size)
        A_hn, A_r, A_z, A_rz = A[:, :, :H], A[:, :, H:2 * H], A[:, :, 2 * H:], A[:, :, H:]
        P_a, P_n = P[:, :3 * H], P[:, 3 * H:]
        h_new = None
        for t in range(L):
            j = t if keep else 0
            a, n, rz = A[j], N[j], A_rz[j]
            h = Hs[t if keep else t % 2]
            o = t * stride
            if t:                                           # the product lands in a small buffer still in cache
                np.matmul(Wf, h, out=hW)
                np.add(hW, P_a[:, :, o:o + B], out=a)
            else:                                           # h_0 = 0
                a[...] = P_a[:, :, o:o + B]
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            np.multiply(A_r[j], A_hn[j], out=n)
            n += P_n[:, :, o:o + B]
            np.tanh(n, out=n)
            h_new = Hs[t + 1 if keep else (t + 1) % 2] if t + 1 < L else np.empty((K, H, B), dtype=dt)
            z = A_z[j]
            if t:                                           # h' = n + z (h - n)
                np.subtract(h, n, out=h_new)
                h_new *= z
                h_new += n
            else:                                           # h_1 = n - z n
                np.multiply(z, n, out=h_new)
                np.subtract(n, h_new, out=h_new)
        self.saved = (X1, A, N, Hs, Wh.astype(dt), stride, cols) if keep else None
        self.shape = (B, L, D, K, H)
        out = h_new if cols is None else h_new[:, :, cols]
        return np.ascontiguousarray(np.swapaxes(out, -1, -2))

    def backward(self, g):
        B, L, D, K, H = self.shape
        X1, A, N, Hs, Wh, stride, cols = self.saved
        self.saved = None
        dt = A.dtype
        dh = np.zeros((K, H, B), dtype=dt)
        if cols is None:
            dh[...] = np.swapaxes(g, -1, -2)
        else:
            dh[:, :, cols] = np.swapaxes(g, -1, -2)
        # DA: the gradients of the rows [hn | a_r | a_z | a_n] (a: the full pre-activations); rows 0:3H meet the
        # hidden weights, and all four each day's projection (the hn rows: b_hn's gradient)
        DA = np.empty((K, 4 * H, B), dtype=dt)
        Dd = np.zeros((K, 4 * H, X1.shape[1]), dtype=dt)
        dWf = np.zeros((K, 3 * H, H), dtype=dt)            # the hidden weights' gradient, transposed
        dWt = np.empty((K, 3 * H, H), dtype=dt)
        sig = np.empty((K, 2 * H, B), dtype=dt)
        m = np.empty((K, H, B), dtype=dt)
        dhn, dr, dz, da_n = DA[:, :H], DA[:, H:2 * H], DA[:, 2 * H:3 * H], DA[:, 3 * H:]
        drz, DA_h = DA[:, H:3 * H], DA[:, :3 * H]
        omz = sig[:, H:]
        A_hn, A_r, A_z, A_rz = A[:, :, :H], A[:, :, H:2 * H], A[:, :, 2 * H:], A[:, :, H:]
        HsT = Hs.swapaxes(-1, -2)
        for t in range(L - 1, -1, -1):
            n, rz = N[t], A_rz[t]
            np.subtract(1.0, rz, out=sig)                   # 1 - r, 1 - z
            np.multiply(n, n, out=da_n)
            np.subtract(1.0, da_n, out=da_n)
            da_n *= dh
            da_n *= omz                                     # h = (1 - z) n + z h_prev; n = tanh(a_n)
            np.multiply(da_n, A_r[t], out=dhn)              # a_n = x W_in + b_in + r * hn
            np.multiply(da_n, A_hn[t], out=dr)              # d r
            if t:
                np.subtract(Hs[t], n, out=dz)
                dz *= dh                                    # d z
            else:                                           # h_prev = 0
                np.multiply(n, dh, out=dz)
                np.negative(dz, out=dz)
            sig *= rz
            drz *= sig                                      # through r = sigmoid(a_r), z = sigmoid(a_z)
            o = t * stride
            Dd[:, :, o:o + B] += DA
            if t:
                np.matmul(DA_h, HsT[t], out=dWt)
                dWf += dWt
                dh *= A_z[t]
                np.matmul(Wh, DA_h, out=m)
                dh += m
        dWi = np.matmul(Dd, X1.T)                                                 # (K, 4H, D + 1)
        dW_ih = np.ascontiguousarray(np.swapaxes(dWi[:, H:, :D], -1, -2))
        db_ih = np.ascontiguousarray(dWi[:, None, H:, D])
        dW_hh = np.concatenate([dWf[:, H:], dWf[:, :H]], axis=1).swapaxes(-1, -2).copy()
        db_hh = np.concatenate([dWi[:, H:3 * H, D], dWi[:, :H, D]], axis=-1)[:, None, :]
        return None, dW_ih, dW_hh, db_ih, db_hh
