"""A scalar MLP (every weight a `Value`) learns a two-moons classification, micrograd-style.

    python demos/scalar_mlp.py [OUT_DIR]          # default: ./scalar_mlp_out

Data: 100 points of two interleaved half circles with noise, made with numpy. Model: a 2-16-16-1
tanh MLP from ``tinygrad_trade.nn.scalar``; loss: the mean hinge loss ``relu(1 - y * score)``
plus a small L2 penalty; optimiser: SGD with momentum from ``tinygrad_trade.optim``, full batch.
Prints the loss and accuracy as it trains and writes the loss curve (CSV) and the decision
boundary (PNG).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinygrad_trade.nn.scalar import MLP
from tinygrad_trade.optim import SGD

EPOCHS = 60


def make_moons(n=100, noise=0.1, seed=0):
    """Two interleaved half circles; labels -1 and +1."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.column_stack([x, y]) + noise * rng.standard_normal((n, 2))
    return X, np.where(upper, -1.0, 1.0)


def loss_and_accuracy(net, X, y, alpha=1e-4):
    scores = [net(list(map(float, xi))) for xi in X]
    hinge = [(1 - yi * s).relu() for yi, s in zip(y, scores)]
    data_loss = sum(hinge[1:], hinge[0]) * (1.0 / len(hinge))
    reg = alpha * sum((p * p for p in net.parameters()), 0.0)
    acc = float(np.mean([(s.data > 0) == (yi > 0) for yi, s in zip(y, scores)]))
    return data_loss + reg, acc


def main(out: Path) -> list:
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_moons()
    net = MLP(2, [8, 8, 1], activation="tanh", rng=0)
    opt = SGD(net.parameters(), lr=0.5, momentum=0.9)
    print(f"2-8-8-1 tanh MLP, {len(net.parameters())} parameters, {len(X)} points")
    history = []
    for epoch in range(1, EPOCHS + 1):
        loss, acc = loss_and_accuracy(net, X, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((epoch, loss.data, acc))
        if epoch == 1 or epoch % 10 == 0:
            print(f"epoch {epoch:3d}  loss {loss.data:.4f}  accuracy {acc:.0%}")

    written = [out / "loss.csv"]
    np.savetxt(written[0], np.array(history), delimiter=",", header="epoch,loss,accuracy", comments="",
               fmt=["%d", "%.6f", "%.4f"])

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = np.linspace(-1.6, 2.6, 40)
    ys = np.linspace(-1.1, 1.6, 30)
    grid = np.array([[net([float(a), float(b)]).data for a in xs] for b in ys])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.contourf(xs, ys, grid > 0, alpha=0.3, cmap="coolwarm")
    ax1.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=15, edgecolors="k", linewidths=0.3)
    ax1.set_title("decision boundary (scalar MLP)")
    h = np.array(history)
    ax2.plot(h[:, 0], h[:, 1])
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("hinge loss + L2")
    ax2.set_title(f"training loss (final accuracy {h[-1, 2]:.0%})")
    fig.tight_layout()
    written.append(out / "scalar_mlp.png")
    fig.savefig(written[-1], dpi=100)
    plt.close(fig)
    return written


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("scalar_mlp_out")
    for path in main(out_dir):
        print(f"wrote {path}")
