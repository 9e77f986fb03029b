"""Tensor engine: one training step (forward, MSE, backward, Adam) of a 22-H-H-1 ReLU MLP in float64.

Side by side: a hand-written numpy forward/backward/Adam of the same net (the floor for a numpy engine),
and PyTorch CPU (1 thread, float64) when torch is installed. PyTorch is a peer for comparison only; it is
never a dependency of tinygrad_trade.
Goals: <= 0.5x PyTorch at batch 32 / hidden 16 (and within 2x of the hand-written numpy), <= 1.0x at
batch 256 / hidden 64, <= 1.2x at batch 4096 / hidden 256.
"""
from __future__ import annotations

import numpy as np
from common import best_of, peer_version, table

from tinygrad_trade import Tensor
from tinygrad_trade.optim import Adam

CONFIGS = [(32, 16, 2000), (256, 64, 500), (4096, 256, 20)]   # batch, hidden, steps per timing round
SHAPES = lambda h: [(22, h), (h,), (h, h), (h,), (h, 1), (1,)]  # noqa: E731


def _init(batch, hidden, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, 22))
    Y = rng.standard_normal((batch, 1))
    W = [rng.standard_normal(s) * 0.1 for s in SHAPES(hidden)]
    return X, Y, W


def step_ours(X, Y, W):
    ps = [Tensor(w, requires_grad=True) for w in W]
    opt = Adam(ps, lr=1e-3)
    Xt, Yt = Tensor(X), Tensor(Y)

    def step():
        W1, b1, W2, b2, W3, b3 = ps
        h = (Xt @ W1 + b1).relu()
        h = (h @ W2 + b2).relu()
        d = h @ W3 + b3 - Yt
        loss = (d * d).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def step_numpy(X, Y, W):
    W = [w.copy() for w in W]
    m = [np.zeros_like(w) for w in W]
    v = [np.zeros_like(w) for w in W]
    t = [0]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8

    def step():
        W1, c1, W2, c2, W3, c3 = W
        z1 = X @ W1 + c1
        h1 = np.maximum(z1, 0)
        z2 = h1 @ W2 + c2
        h2 = np.maximum(z2, 0)
        d = h2 @ W3 + c3 - Y
        go = 2 * d / d.size
        gz2 = (go @ W3.T) * (z2 > 0)
        gz1 = (gz2 @ W2.T) * (z1 > 0)
        grads = [X.T @ gz1, gz1.sum(0), h1.T @ gz2, gz2.sum(0), h2.T @ go, go.sum(0)]
        t[0] += 1
        bc1, bc2 = 1 - b1 ** t[0], 1 - b2 ** t[0]
        for p, g, mi, vi in zip(W, grads, m, v):
            mi *= b1
            mi += (1 - b1) * g
            vi *= b2
            vi += (1 - b2) * g * g
            p -= (lr / bc1) * mi / (np.sqrt(vi) / np.sqrt(bc2) + eps)
    return step


def step_torch(X, Y, W):
    import torch
    torch.set_num_threads(1)
    ps = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W]
    opt = torch.optim.Adam(ps, lr=1e-3)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def step():
        W1, b1, W2, b2, W3, b3 = ps
        h = (Xt @ W1 + b1).relu()
        h = (h @ W2 + b2).relu()
        loss = ((h @ W3 + b3 - Yt) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def run() -> str:
    torch_version = peer_version("torch")
    rows = []
    for batch, hidden, n in CONFIGS:
        X, Y, W = _init(batch, hidden)
        ours = best_of(step_ours(X, Y, W), repeat=5, number=n)
        hand = best_of(step_numpy(X, Y, W), repeat=5, number=n)
        row = [f"{batch} / {hidden}", f"{ours * 1e6:.0f} us", f"{hand * 1e6:.0f} us", f"{ours / hand:.2f}x"]
        if torch_version:
            tor = best_of(step_torch(X, Y, W), repeat=5, number=n)
            row += [f"{tor * 1e6:.0f} us", f"{ours / tor:.2f}x"]
        else:
            row += ["not installed", "-"]
        rows.append(row)
    peer = f"PyTorch {torch_version} CPU, 1 thread" if torch_version else "PyTorch (not installed: skipped)"
    return "\n".join([
        "### Tensor engine: 22-H-H-1 ReLU MLP training step (forward, MSE, backward, Adam), float64", "",
        table(["batch / hidden", "tinygrad_trade", "hand-written numpy", "ours / numpy", peer, "ours / PyTorch"],
              rows)])


if __name__ == "__main__":
    print(run())
