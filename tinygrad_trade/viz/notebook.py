"""How Values, Tensors and modules show themselves in Jupyter: their repr plus an SVG picture.

``Value._repr_mimebundle_``, ``Tensor._repr_mimebundle_`` and ``Module._repr_mimebundle_`` call
:func:`mimebundle` (imported only when a notebook asks, so the engine stays numpy-only). A Value
or Tensor is drawn as the graph that produced it (:func:`~tinygrad_trade.viz.draw_dot`), a module
as the tree of its submodules and parameters (:func:`draw_module`). The SVG comes from
:func:`~tinygrad_trade.viz.to_svg`: the system ``dot`` or the bundled in-process renderer, so no
Graphviz install is needed. When no renderer is there, the text alone is shown and the
``tinygrad_trade`` logger says why, once.
"""
from __future__ import annotations

import graphviz
import numpy as np

from ..log import get_logger
from .draw import FONT, OP_FILL, Graph, draw_dot, record_label
from .rendering import RendererUnavailable, to_svg

__all__ = ["mimebundle", "draw_module"]

_warned = []


def draw_module(module, rankdir: str = "TB") -> Graph:
    """A module as a tree: one record per submodule (its name, class and parameter shapes),
    an edge from each module to its children."""
    dot = Graph(graph_attr={"rankdir": rankdir, "bgcolor": "white", "nodesep": "0.25", "ranksep": "0.35"},
                node_attr={"fontname": FONT, "fontsize": "11", "shape": "record", "style": "filled"},
                edge_attr={"color": "#4b5563", "arrowsize": "0.7"})
    ids = {}

    def visit(name, mod, parent):
        k = f"m{len(ids)}"
        ids[id(mod)] = k
        own = _own_parameters(mod)
        fields = [f"{name}: {type(mod).__name__}" if name else type(mod).__name__]
        fields += [f"{n} {tuple(np.shape(p.data))} {np.asarray(p.data).dtype}" for n, p in own]
        fill = "#dbeafe" if own else OP_FILL
        dot.node(k, graphviz.nohtml(record_label(fields, "TB" if rankdir in ("LR", "RL") else "LR")), fillcolor=fill)
        if parent is not None:
            dot.edge(parent, k)
        for child_name, child in _children(mod):
            visit(child_name, child, k)

    visit("", module, None)
    return dot


def _children(mod):
    named = getattr(mod, "named_children", None)
    return list(named()) if callable(named) else []


def _own_parameters(mod):
    """Parameters held by ``mod`` itself, not by its children."""
    named = getattr(mod, "named_parameters", None)
    if not callable(named):
        return []
    children = [n + "." for n, _ in _children(mod)]
    return [(n, p) for n, p in named() if not any(n.startswith(c) for c in children)]


def _picture(obj) -> Graph:
    if hasattr(obj, "_prev"):
        return draw_dot(obj)
    return draw_module(obj)


def mimebundle(obj, include=None, exclude=None) -> dict:
    """``{"text/plain": repr, "image/svg+xml": picture}`` for Jupyter (``include``/``exclude``
    filter the MIME types as IPython asks)."""
    want = set(include) if include else {"text/plain", "image/svg+xml"}
    want -= set(exclude or ())
    out = {"text/plain": repr(obj)} if "text/plain" in want else {}
    if "image/svg+xml" in want:
        try:
            out["image/svg+xml"] = to_svg(_picture(obj))
        except RendererUnavailable as e:
            if not _warned:
                _warned.append(True)
                get_logger().warning("showing text only: %s", e)
    return out
