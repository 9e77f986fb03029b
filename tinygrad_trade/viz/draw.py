"""`draw_dot`: the computation graph of a `Value` or `Tensor` as a `graphviz.Digraph`.

Each graph node is a record ``{ label | data 2.000 | grad -1.500 }`` (4 significant digits);
each operation is a small node of its own (``+``, ``*``, ``tanh``, ...) between its inputs and
its result. Tensor records show the shape, the dtype and min/mean/max of data and grad.
"""
from __future__ import annotations

import math
from collections import deque

import graphviz
import numpy as np

__all__ = ["draw_dot", "example_neuron", "DEFAULT_MAX_NODES", "Graph"]

DEFAULT_MAX_NODES = 100  # records drawn before the picture is cut with a "… N more nodes" marker

FONT = "DejaVu Sans"  # Graphviz knows its metrics (also the in-process renderer); resvg gets it from matplotlib
LEAF_FILL = "#dbeafe"    # inputs and parameters
OUTPUT_FILL = "#fde68a"  # the root
OP_FILL = "#f1f5f9"
MISSING = "·"            # a gradient that is not there (None, or not reached yet)
COMMUTATIVE = {"+", "*", "maximum", "minimum"}  # other ops with 2+ inputs number their edges


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that shows itself in Jupyter without the Graphviz program: its SVG
    (and PNG) come from :func:`tinygrad_trade.viz.to_svg`, i.e. the system ``dot`` when there is
    one, else the bundled in-process renderer. Everything else is the plain Digraph."""

    def _repr_image_svg_xml(self) -> str:
        from .rendering import to_svg
        return to_svg(self)

    def _repr_image_png(self) -> bytes:
        from .rendering import to_png
        return to_png(self)

    def _repr_svg_(self) -> str:
        return self._repr_image_svg_xml()


def fmt(x) -> str:
    """A number to 4 significant digits, keeping trailing zeros: 2.000, -1.500, 0.7071, 1.234e-05."""
    x = float(x)
    if x == 0.0:
        return "0.000"  # also -0.0
    if not math.isfinite(x):
        return str(x)
    s = f"{x:#.4g}"
    return s[:-1] if s.endswith(".") else s  # 1234. -> 1234


def is_tensor(node) -> bool:
    return isinstance(node.data, np.ndarray)


def fields(node, grad) -> list:
    """The record fields of ``node`` showing gradient ``grad`` (None: not there).

    A field is a string or a list of fields (a nested group, drawn across the parent).
    """
    head = [node.label] if node.label else []
    d = node.data
    if not is_tensor(node):
        return head + [f"data {fmt(d)}", f"grad {MISSING if grad is None else fmt(grad)}"]
    head.append(f"{tuple(d.shape)} {d.dtype}")
    g = None if grad is None else np.asarray(grad)
    if d.size == 1:
        return head + [f"data {fmt(d.reshape(()))}", f"grad {MISSING if g is None else fmt(g.reshape(-1)[0])}"]
    if d.size == 0:
        return head + ["empty"]
    cols = [[" ", "data", "grad"]]
    for name, f in (("min", np.min), ("mean", np.mean), ("max", np.max)):
        cols.append([name, fmt(f(d)), MISSING if g is None else fmt(f(g))])
    return head + cols


def flat(fs) -> list[str]:
    """The field strings in drawing order (the order Graphviz writes their SVG <text>)."""
    out = []
    for f in fs:
        out.extend(flat(f) if isinstance(f, list) else [f])
    return out


def _escape(s: str) -> str:
    out = s.replace("\\", "\\\\")
    for c in '{}|<>"':
        out = out.replace(c, "\\" + c)
    return out


def record_label(fs, rankdir="LR") -> str:
    """Record label for nested fields; with LR/RL the outer group is wrapped in {} so the
    fields run left to right (Graphviz flips record orientation with the rank direction)."""
    def group(items):
        return " | ".join("{ " + group(f) + " }" if isinstance(f, list) else _escape(f) for f in items)
    body = group(fs)
    return "{ " + body + " }" if rankdir in ("LR", "RL") else body


def nodes_of(root) -> list:
    """All nodes reachable from ``root``, inputs before outputs (iterative; touches no node)."""
    order, seen, stack = [], {id(root)}, [(root, iter(root._prev))]
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append((p, iter(p._prev)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def nearest(root, limit) -> set:
    """ids of the ``limit`` nodes closest to ``root`` (breadth first through the inputs)."""
    kept, queue = {id(root)}, deque([root])
    while queue and len(kept) < limit:
        for p in queue.popleft()._prev:
            if id(p) not in kept and len(kept) < limit:
                kept.add(id(p))
                queue.append(p)
    return kept


def build(root, rankdir="LR", format="svg", max_nodes=DEFAULT_MAX_NODES, grads=None):
    """The Digraph and the drawn nodes (topological order). ``grads`` maps id(node) to the
    gradient to show (default: each node's ``.grad``)."""
    order = nodes_of(root)
    total = len(order)
    limit = None if max_nodes is None else max(int(max_nodes), 1)
    if limit is not None and total > limit:
        kept = nearest(root, limit)
        order = [n for n in order if id(n) in kept]
    index = {id(n): i for i, n in enumerate(order)}

    dot = Graph(
        format=format,
        graph_attr={"rankdir": rankdir, "bgcolor": "white", "nodesep": "0.25", "ranksep": "0.35"},
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"color": "#4b5563", "arrowsize": "0.7", "fontname": FONT, "labelfontname": FONT})
    frontier = []  # ops with an input that was cut
    for i, n in enumerate(order):
        grad = n.grad if grads is None else grads.get(id(n))
        fill = OUTPUT_FILL if n is root else (LEAF_FILL if not n._prev else "white")
        dot.node(f"v{i}", graphviz.nohtml(record_label(fields(n, grad), rankdir)), id=f"v{i}",
                 shape="record", style="filled", fillcolor=fill, penwidth="2" if n is root else "1")
        if not n._prev:
            continue
        name = n.op or "?"
        dot.node(f"o{i}", graphviz.escape(name), id=f"o{i}", shape="circle" if len(name) <= 3 else "ellipse",
                 style="filled", fillcolor=OP_FILL, fontsize="11", margin="0.02", width="0.3", height="0.3")
        numbered = len(n._prev) > 1 and name not in COMMUTATIVE
        for k, p in enumerate(n._prev):
            if id(p) not in index:
                continue
            extra = {"headlabel": str(k + 1), "labelfontsize": "9", "labelfontcolor": "#6b7280"} if numbered else {}
            dot.edge(f"v{index[id(p)]}", f"o{i}", id=f"e{i}_{k}", **extra)
        dot.edge(f"o{i}", f"v{i}", id=f"e{i}")
        if any(id(p) not in index for p in n._prev):
            frontier.append(i)
    if len(order) < total:
        dot.node("more", f"… {total - len(order)} more nodes", id="more", shape="note",
                 style="dashed,filled", fillcolor="#f9fafb", fontcolor="#6b7280", color="#9ca3af")
        for i in frontier:
            dot.edge("more", f"o{i}", style="dashed", color="#9ca3af")
    return dot, order


def draw_dot(root, rankdir: str = "LR", format: str = "svg",
             max_nodes: int | None = DEFAULT_MAX_NODES) -> Graph:
    """The computation graph that produced ``root`` (a `Value` or a `Tensor`).

    - one record per node ``{ label | data … | grad … }`` (4 significant digits); a Tensor shows
      its shape, dtype and min/mean/max of data and grad (``·`` when it has no grad);
    - one small node per operation, fed by its inputs (numbered 1, 2, … when the order matters:
      ``-``, ``/``, ``**``, ``@`` …) and feeding its result; shared nodes appear once;
    - inputs (leaves) in blue, the output in amber, ranks left to right (``rankdir``);
    - past ``max_nodes`` records (None: no limit) only the ``max_nodes`` nodes nearest the
      output are drawn, and a "… N more nodes" marker feeds the operations whose inputs were cut.

    The result is a :class:`Graph` (a ``graphviz.Digraph``) that displays inline in Jupyter with
    no Graphviz install. ``format`` is only stored on it. To get a file, use
    :func:`tinygrad_trade.viz.render`, which works without the Graphviz program;
    ``Digraph.render``/``.pipe`` need the system ``dot``.
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    return build(root, rankdir, format, max_nodes)[0]


def example_neuron():
    """micrograd's classic tanh neuron ``o = tanh(x1*w1 + x2*w2 + b)``, forward pass only."""
    from ..engine import Value

    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1+x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o
