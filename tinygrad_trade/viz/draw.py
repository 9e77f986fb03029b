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

from ..anomaly import describe
from ..graph import find_anomaly
from .renderers import DEFAULT_MAX_NODES, FONT, png_data, svg_text

__all__ = ["draw_dot", "example_neuron", "DEFAULT_MAX_NODES", "Graph", "non_finite_note"]

LEAF_FILL = "#dbeafe"    # inputs and parameters
OUTPUT_FILL = "#fde68a"  # the root
OP_FILL = "#f1f5f9"
MISSING = "·"            # a gradient that is not there (None, or not reached yet)
COMMUTATIVE = {"+", "*", "maximum", "minimum"}  # other ops with 2+ inputs number their edges
CULPRIT = "#dc2626"      # highlight=: the marked node and its paths to the root
CULPRIT_FILL = "#fecaca"
PATH_EDGE = {"color": CULPRIT, "penwidth": "2"}


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that shows itself in Jupyter without the Graphviz program: its SVG
    (and PNG) come from :func:`tinygrad_trade.viz.to_svg`, i.e. the system ``dot`` when there is
    one, else the bundled in-process renderer. Everything else is the plain Digraph."""

    def _repr_image_svg_xml(self) -> str:
        return svg_text(self.source)

    def _repr_image_png(self) -> bytes:
        return png_data(self.source)

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


def node_fields(node, grad, highlight=None) -> list:
    """:func:`fields`, headed by ``⚠ file:line`` (where anomaly mode saw it made) for the highlighted node."""
    fs = fields(node, grad)
    return ["⚠ " + (getattr(node, "_where", None) or "culprit")] + fs if node is highlight else fs


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


def path_to_root(order, node) -> set:
    """ids of ``node`` and of every node in ``order`` (topological) that depends on it: the paths
    from ``node`` to the root."""
    on = {id(node)}
    for n in order:
        if any(id(p) in on for p in n._prev):
            on.add(id(n))
    return on


def build(root, rankdir="LR", format="svg", max_nodes=DEFAULT_MAX_NODES, grads=None, highlight=None):
    """The Digraph and the drawn nodes (topological order). ``grads`` maps id(node) to the
    gradient to show (default: each node's ``.grad``); ``highlight`` a node to mark, with its
    paths to the root (always drawn, also past ``max_nodes``)."""
    order = nodes_of(root)
    total = len(order)
    path = set()
    if highlight is not None:
        if not any(n is highlight for n in order):
            raise ValueError("highlight: that node is not in the graph of this root (it did not help compute it)")
        path = path_to_root(order, highlight)
    limit = None if max_nodes is None else max(int(max_nodes), 1)
    if limit is not None and total > limit:
        kept = nearest(root, limit) | path
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
        mark = _marks(n, highlight, path)
        fs = node_fields(n, grad, highlight)
        if n is highlight:
            fill = CULPRIT_FILL
        dot.node(f"v{i}", graphviz.nohtml(record_label(fs, rankdir)), id=f"v{i}",
                 **{"shape": "record", "style": "filled", "fillcolor": fill,
                    "penwidth": "2" if n is root else "1", **mark})
        if not n._prev:
            continue
        name = n.op or "?"
        dot.node(f"o{i}", graphviz.escape(name), id=f"o{i}", shape="circle" if len(name) <= 3 else "ellipse",
                 style="filled", fillcolor=CULPRIT_FILL if n is highlight else OP_FILL, fontsize="11",
                 margin="0.02", width="0.3", height="0.3", **mark)
        numbered = len(n._prev) > 1 and name not in COMMUTATIVE
        for k, p in enumerate(n._prev):
            if id(p) not in index:
                continue
            extra = {"headlabel": str(k + 1), "labelfontsize": "9", "labelfontcolor": "#6b7280"} if numbered else {}
            hot = PATH_EDGE if id(p) in path and id(n) in path else {}
            dot.edge(f"v{index[id(p)]}", f"o{i}", id=f"e{i}_{k}", **extra, **hot)
        dot.edge(f"o{i}", f"v{i}", id=f"e{i}", **(PATH_EDGE if id(n) in path else {}))
        if any(id(p) not in index for p in n._prev):
            frontier.append(i)
    if len(order) < total:
        dot.node("more", f"… {total - len(order)} more nodes", id="more", shape="note",
                 style="dashed,filled", fillcolor="#f9fafb", fontcolor="#6b7280", color="#9ca3af")
        for i in frontier:
            dot.edge("more", f"o{i}", style="dashed", color="#9ca3af")
    return dot, order


def _marks(n, highlight, path) -> dict:
    """Border attributes: the highlighted node thick red, the nodes on its paths to the root red."""
    if n is highlight:
        return {"color": CULPRIT, "penwidth": "3", "class": "culprit"}
    return {"color": CULPRIT, "penwidth": "2", "class": "culprit-path"} if id(n) in path else {}


def draw_dot(root, rankdir: str = "LR", format: str = "svg",
             max_nodes: int | None = DEFAULT_MAX_NODES, highlight=None) -> Graph:
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

    ``highlight``: a node of the graph (say ``AnomalyError.node``, the op where a NaN was born)
    drawn in red with its ``file:line`` when anomaly mode recorded one, and the paths from it to
    the root with red borders and edges (SVG class ``culprit`` / ``culprit-path``).
    """
    if rankdir not in ("LR", "RL", "TB", "BT"):
        raise ValueError(f"rankdir must be LR, RL, TB or BT, got {rankdir!r}")
    return build(root, rankdir, format, max_nodes, highlight=highlight)[0]


def non_finite_note(root) -> str | None:
    """One line saying how many nodes of ``root``'s graph hold a NaN/inf value or gradient, the
    first of them, and the op where it was born (:func:`~tinygrad_trade.graph.find_anomaly`);
    None when every value and gradient is finite."""
    def bad(x):
        return x is not None and not bool(np.isfinite(x).all())

    order = nodes_of(root)
    hit = [n for n in order if bad(n.data) or bad(n.grad)]
    if not hit:
        return None
    first = hit[0]
    who = first.label or (f"the result of {first.op}" if first._prev else "an input")
    what = "value" if bad(first.data) else "gradient"
    err = find_anomaly(root)
    born = f"; it was born in {describe(err)}" if err is not None else ""
    return (f"warning: {len(hit)} of {len(order)} nodes in the picture have a non-finite value or gradient "
            f"(first: the {what} of {who}){born}")


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
