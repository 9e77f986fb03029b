"""Scalar engine: one forward + backward pass of a 22-16-16-1 MLP per sample, and a 1,000,000-node chain.

Runs micrograd 0.1.0's MLP side by side when micrograd is installed (`pip install micrograd==0.1.0`).
Goals: at least 3x faster than micrograd per sample; the chain back-propagates in under 2 s.
"""
from __future__ import annotations

import random
import sys
import time

from common import best_of, peer_version, table

from tinygrad_trade import Value
from tinygrad_trade.nn.scalar import MLP

N_SAMPLES = 50


def _samples(seed=0):
    rnd = random.Random(seed)
    return [([rnd.uniform(-1, 1) for _ in range(22)], rnd.uniform(-1, 1)) for _ in range(N_SAMPLES)]


def per_sample_ours(data):
    net = MLP(22, [16, 16, 1], activation="tanh", rng=0)

    def run():
        for x, y in data:
            loss = (net(x) - y) ** 2
            loss.backward()
    return best_of(run, repeat=5) / len(data)


def per_sample_micrograd(data):
    from micrograd.nn import MLP as MicroMLP
    random.seed(0)
    net = MicroMLP(22, [16, 16, 1])

    def run():
        for x, y in data:
            loss = (net(x) - y) ** 2
            loss.backward()
    return best_of(run, repeat=5) / len(data)


def chain(n=1_000_000):
    x = Value(0.5)
    y = x
    for i in range(n):
        y = y * 1.0000001 if i % 2 else y + 0.1
    t = time.perf_counter()
    y.backward()
    return time.perf_counter() - t, sys.getrecursionlimit()


def run() -> str:
    data = _samples()
    ours = per_sample_ours(data)
    mg_version = peer_version("micrograd")
    rows = [["tinygrad_trade Value", f"{ours * 1e3:.2f} ms", ""]]
    if mg_version:
        mg = per_sample_micrograd(data)
        rows.append([f"micrograd {mg_version}", f"{mg * 1e3:.2f} ms", ""])
        rows[0][2] = f"{mg / ours:.1f}x faster than micrograd"
    else:
        rows.append(["micrograd", "not installed: skipped", ""])
    secs, limit = chain()
    out = ["### Scalar engine: 22-16-16-1 tanh MLP, forward + backward per sample", "",
           table(["engine", "time per sample", "ratio"], rows), "",
           "### 1,000,000-node chain (alternating `* c` and `+ c`)", "",
           table(["backward time", "recursion limit"], [[f"{secs:.2f} s", limit]])]
    return "\n".join(out)


if __name__ == "__main__":
    print(run())
