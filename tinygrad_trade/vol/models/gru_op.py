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
    For large work, when a second core is free (see ``_threads``), the rows are split between two threads
    (numpy releases the GIL in its loops), and the weight gradients are computed per gate on them; every number is
    the same as on one thread (rows are independent, and each reduction is the same BLAS call as before), so
    results do not depend on the machine's core count. Measurements: docs/benchmarks.md ("GRU training").
    """

    def forward(self, X, W_ih, W_hh, b_ih, b_hh):
        from concurrent.futures import ThreadPoolExecutor

        from ...graph import is_grad_enabled
        B, L, D = X.shape
        K, H = W_hh.shape[0], W_hh.shape[1]
        Xf = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(L * B, D)     # rows: step-major
        gates = [slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)]
        self.Xf, self.shape = Xf, (B, L, D, K, H)
        self.Wh = [np.ascontiguousarray(W_hh[..., g]) for g in gates]
        # r and z are sigmoid(a) = 0.5 + 0.5 tanh(a / 2): their weights and input projections are halved up
        # front (exact in floating point), which saves halving a at every step
        half = [0.5, 0.5, 1.0]

        def tiled(b):
            # (K, 1, H) -> (K, B*H): a bias laid out along a whole (K, B, H) block. Adding it there is the
            # same arithmetic as numpy's broadcast of (K, 1, H), whose inner loop of H elements is ~5x slower
            return np.tile(b, (1, B, 1)).reshape(K, B * H)

        def project(i):
            g = gates[i]
            bias = b_ih[..., g] + (b_hh[..., g] if i < 2 else 0.0)          # b_hn stays inside r * (...)
            xg = Xf @ np.ascontiguousarray(half[i] * W_ih[..., g])          # (K, L*B, H)
            xg.reshape(K, L, B * H)[...] += tiled(half[i] * bias)[:, None, :]
            return xg.reshape(K, L, B, H)

        self.threads = threads = self._threads(B * K * H)
        ex = ThreadPoolExecutor(threads) if threads > 1 else None
        try:
            xr, xz, xn = map(project, range(3)) if ex is None else ex.map(project, range(3))
        except BaseException:
            if ex is not None:
                ex.shutdown()
            raise
        dt = xr.dtype
        b_hn = tiled(b_hh[..., gates[2]]).reshape(K, B, H).astype(dt, copy=False)
        Wr, Wz, Wn = 0.5 * self.Wh[0], 0.5 * self.Wh[1], self.Wh[2]
        # with gradient recording, every step's (h, r, z, n, h W_hn + b_hn) is kept for the backward pass;
        # without (validation, prediction), nothing is
        keep = is_grad_enabled()
        S = np.empty((5, L, K, B, H), dtype=dt) if keep else None
        out = np.empty((K, B, H), dtype=dt)

        def rows(s, e):
            """The recurrence of rows s:e (rows are independent: any split gives the same numbers)."""
            c = e - s
            if keep:                                    # each step writes its h straight into the next's slot
                h = S[0, 0, :, s:e]
                h[...] = 0.0
            else:
                h = np.zeros((K, c, H), dtype=dt)
                r, z, hn, n = (np.empty((K, c, H), dtype=dt) for _ in range(4))
            for t in range(L):
                if keep:
                    r, z, n, hn = S[1, t, :, s:e], S[2, t, :, s:e], S[3, t, :, s:e], S[4, t, :, s:e]
                if t:
                    np.matmul(h, Wr, out=r)
                    r += xr[:, t, s:e]
                    np.matmul(h, Wz, out=z)
                    z += xz[:, t, s:e]
                    np.matmul(h, Wn, out=hn)
                    hn += b_hn[:, s:e]
                else:                                   # h_0 = 0
                    np.copyto(r, xr[:, 0, s:e])
                    np.copyto(z, xz[:, 0, s:e])
                    np.copyto(hn, b_hn[:, s:e])
                for a in (r, z):                        # sigmoid: a holds half the pre-activation already
                    np.tanh(a, out=a)
                    a *= 0.5
                    a += 0.5
                np.multiply(r, hn, out=n)
                n += xn[:, t, s:e]
                np.tanh(n, out=n)
                h_new = (S[0, t + 1, :, s:e] if t + 1 < L else out[:, s:e]) if keep else h
                np.subtract(h, n, out=h_new)
                h = h_new
                h *= z
                h += n
            if not keep:
                out[:, s:e] = h

        if ex is None:
            rows(0, B)
        else:
            cuts = [B * k // threads for k in range(threads + 1)]
            with ex:
                list(ex.map(rows, cuts[:-1], cuts[1:]))
        self.saved = S
        if not keep:
            self.Xf = None
        return out

    _machine: dict = {}     # the last look at the machine's idle time (see _threads)
    MIN_THREADED = 2 ** 18  # elements a step (rows x members x units) from which a second thread may help

    @staticmethod
    def _threads(size):
        """Threads for the recurrence: 2 when a second core is free for it, else 1 (the split changes no number:
        rows are independent). Free means: over the last second or more, the machine's idle time plus this
        process's own CPU time came to at least 1.6 cores (a second thread on a busy machine only adds ~30%
        CPU time). Work under ``MIN_THREADED`` elements a step always runs on one thread (the demo's GRU, up to
        about 5,000 rows: there a second thread made its walk-forward slower even on an idle 2-core machine,
        31.2 s against 24.4 s; docs/benchmarks.md); the first call too."""
        import os
        import time
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:              # not on Linux
            cores = os.cpu_count() or 1
        if cores < 2 or size < GRUSequence.MIN_THREADED:
            return 1
        st, now = GRUSequence._machine, time.monotonic()
        if st and now - st["t"] < 1.0:
            return st["threads"]
        try:
            with open("/proc/stat") as f:
                lines = f.read().splitlines()
            ticks = [int(v) for v in lines[0].split()[1:]]
            idle, total = ticks[3] + ticks[4], sum(ticks[:8])          # idle + iowait; user .. steal
            ncpu = sum(1 for ln in lines if ln.startswith("cpu") and ln[3:4].isdigit())
        except (OSError, ValueError, IndexError):
            return 2                        # no /proc/stat: trust the core count
        cpu = time.process_time()
        threads = 1
        if st and total > st["total"]:
            wall = (total - st["total"]) / ncpu                         # elapsed ticks per CPU
            spare = (idle - st["idle"]) / wall + (cpu - st["cpu"]) / (now - st["t"])
            threads = 2 if spare >= 1.6 else 1
        st.update(t=now, idle=idle, total=total, cpu=cpu, threads=threads)
        return threads

    def backward(self, g):
        from concurrent.futures import ThreadPoolExecutor
        B, L, D, K, H = self.shape
        WT = [np.ascontiguousarray(np.swapaxes(w, -1, -2)) for w in self.Wh]   # contiguous: a faster gemm
        dt = np.result_type(g, WT[0])
        S = self.saved
        # d(pre-activation) of the gates r, z, n and d(h W_hn + b_hn), laid out (K, L, B, H) so that
        # each reshapes to (K, L*B, H) rows matching Xf: the weight and bias gradients are then matmuls
        dx = np.empty((4, K, L, B, H), dtype=dt)

        def rows(s, e):
            """Backpropagation through time for rows s:e: their share of dx."""
            c = e - s
            dh = np.array(g[:, s:e], dtype=dt)
            omz, tmp = np.empty((K, c, H), dtype=dt), np.empty((K, c, H), dtype=dt)
            for t in reversed(range(L)):
                h_prev, r, z, n, hn = (S[j, t, :, s:e] for j in range(5))
                da_r, da_z, da_n, dhn = (dx[j, :, t, s:e] for j in range(4))
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
                    dh *= z
                    dh += np.matmul(da_r, WT[0], out=tmp)
                    dh += np.matmul(da_z, WT[1], out=tmp)
                    dh += np.matmul(dhn, WT[2], out=tmp)

        flat = dx.reshape(4, K, L * B, H)
        XfT = self.Xf.T
        dWh = np.zeros((3, K, H, H), dtype=dt)
        dW_ih = [None] * 3

        def weights(i):
            """Gate i's hidden weight gradient (summed over the steps, last first) and input weight gradient."""
            d = 3 if i == 2 else i                      # the n gate's hidden weights see d(h W_hn + b_hn)
            for t in reversed(range(1, L)):
                dWh[i] += np.swapaxes(S[0, t], -1, -2) @ dx[d, :, t]
            dW_ih[i] = XfT @ flat[i]                    # ... and its input weights d(pre-activation)

        ones = np.ones(L * B, dtype=dt)
        db = [None, None]

        def biases(j):                                  # (2, K, H) each: sums over steps and rows
            db[j] = ones @ flat[2 * j:2 * j + 2]

        threads = getattr(self, "threads", 1)
        if threads == 1:
            rows(0, B)
            for i in range(3):
                weights(i)
            biases(0)
            biases(1)
        else:
            cuts = [B * k // threads for k in range(threads + 1)]
            with ThreadPoolExecutor(threads) as ex:
                list(ex.map(rows, cuts[:-1], cuts[1:]))
                jobs = [ex.submit(weights, i) for i in range(3)] + [ex.submit(biases, j) for j in range(2)]
                for j in jobs:
                    j.result()
        db = np.concatenate(db)                         # (4, K, H)
        db_ih = np.concatenate([db[0], db[1], db[2]], axis=-1)[:, None, :]
        db_hh = np.concatenate([db[0], db[1], db[3]], axis=-1)[:, None, :]
        dW_ih = np.concatenate(dW_ih, axis=-1)
        dW_hh = np.concatenate([dWh[0], dWh[1], dWh[2]], axis=-1)
        self.saved = self.Xf = None
        return None, dW_ih, dW_hh, db_ih, db_hh
