"""report.html: the report as one self-contained web page, built from report.md beside it.

The Markdown is converted with the ``markdown`` package (tables, fenced code). Every picture the
report shows is put inside the page: PNG/JPEG plots as ``data:`` URIs, SVG pictures (the backprop
graph) inline as SVG markup, so the file can be mailed or archived alone and opens offline. A
picture the report names but that is missing is replaced by a one-line note (and a warning on
the ``tinygrad_trade`` logger) rather than a broken image.
"""
from __future__ import annotations

import base64
import html
import logging
import os
import re
from typing import Optional

import markdown

from ...log import say

__all__ = ["markdown_to_html", "write_report_html"]

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".webp": "image/webp"}
_IMG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\b(src|alt)="([^"]*)"')

_STYLE = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; max-width: 70em; margin: 2em auto; padding: 0 1em;
       color: #111827; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 1.8em; border-bottom: 1px solid #e5e7eb; }
table { border-collapse: collapse; margin: .8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d1d5db; padding: .25em .6em; }
td { text-align: right; } td:first-child { text-align: left; }
th { background: #f3f4f6; }
pre { background: #f9fafb; border: 1px solid #e5e7eb; padding: .8em; overflow-x: auto; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: .92em; }
blockquote { border-left: 4px solid #fbbf24; margin: .6em 0; padding: .2em .8em; background: #fffbeb; }
img { max-width: 100%; height: auto; }
figure { margin: 1em 0; overflow-x: auto; } figure svg { max-width: none; }  /* graphs keep their size */
figcaption { color: #4b5563; font-size: .9em; }
.missing { color: #b91c1c; }
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
</body>
</html>
"""


def _inline_svg(text: str, alt: str) -> str:
    """SVG markup for an HTML page: no XML declaration, doctype or comments; labelled for readers."""
    start = text.find("<svg")
    if start < 0:
        raise ValueError("not an SVG file")
    svg = re.sub(r"<!--.*?-->", "", text[start:], flags=re.S).strip()
    svg = svg.replace("<svg", f'<svg role="img" aria-label="{html.escape(alt, quote=True)}"', 1)
    return f"<figure>{svg}<figcaption>{html.escape(alt)}</figcaption></figure>"


def _embed(tag: str, folder: str) -> str:
    attrs = dict(_ATTR.findall(tag))
    src, alt = html.unescape(attrs.get("src", "")), html.unescape(attrs.get("alt", ""))
    if not src or re.match(r"^[a-z][a-z0-9+.-]*:", src, re.I):  # data: (or any URL) is left alone
        return tag
    path = os.path.join(folder, src)
    ext = os.path.splitext(src)[1].lower()
    try:
        if ext == ".svg":
            with open(path, encoding="utf-8") as fh:
                return _inline_svg(fh.read(), alt)
        if ext in _MIME:
            with open(path, "rb") as fh:
                data = base64.b64encode(fh.read()).decode("ascii")
            return f'<img src="data:{_MIME[ext]};base64,{data}" alt="{html.escape(alt, quote=True)}">'
    except (OSError, ValueError, UnicodeDecodeError) as e:
        say(f"report.html: picture {src} not embedded ({e})", logging.WARNING, echo=False)
        return f'<span class="missing">[picture not available: {html.escape(src)}]</span>'
    say(f"report.html: picture {src} has an unknown type; not embedded", logging.WARNING, echo=False)
    return f'<span class="missing">[picture not embedded: {html.escape(src)}]</span>'


_LIST_AFTER_TEXT = re.compile(r"^([^\s|>#-][^\n]*)\n([-*+] |\d+\. )", re.M)


def _lists_need_no_blank_line(text: str) -> str:
    """A list right under a paragraph line is a list (as on GitHub), not part of the paragraph as
    Python-Markdown reads it: put the blank line in, outside fenced code."""
    parts = re.split(r"(^```.*?^```[ \t]*$)", text, flags=re.M | re.S)
    return "".join(p if p.startswith("```") else _LIST_AFTER_TEXT.sub(r"\1\n\n\2", p) for p in parts)


def markdown_to_html(text: str, folder: str = ".", title: Optional[str] = None) -> str:
    """A complete HTML page from report Markdown, its pictures (relative to ``folder``) embedded."""
    text = _lists_need_no_blank_line(text)
    body = markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
    body = _IMG.sub(lambda m: _embed(m.group(0), folder), body)
    body = re.sub(r"<p>\s*(<figure>.*?</figure>)\s*</p>", r"\1", body, flags=re.S)  # no figure inside <p>
    if title is None:
        m = re.search(r"^#\s+(.+)$", text, re.M)
        title = m.group(1).strip() if m else "Report"
    return _PAGE.format(title=html.escape(title), style=_STYLE.strip(), body=body)


def write_report_html(report_md, out: Optional[str] = None) -> str:
    """Write ``report.html`` beside ``report_md`` (or to ``out``) and return its path."""
    report_md = os.fspath(report_md)
    with open(report_md, encoding="utf-8") as fh:
        text = fh.read()
    out = out or os.path.join(os.path.dirname(report_md), "report.html")
    page = markdown_to_html(text, os.path.dirname(report_md) or ".")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(page)
    return out
