"""`tinygrad-trade graph`: the backprop picture of a neuron or an expression.
"""
from __future__ import annotations

import logging
import os
import shutil

from ..log import say
from .options import (UsageError)


# --- graph (issue: visualisation) -------------------------------------------------------------
def _graph_parser(sub):
    p = sub.add_parser("graph", help="draw the backprop graph of a neuron or an expression",
                       description="Draw the computation graph, after backward(), of micrograd's tanh neuron "
                                   "o = tanh(x1*w1 + x2*w2 + b) or of an expression (--expr). SVG and PNG need "
                                   "no Graphviz program; prints the path(s) written.")
    p.add_argument("--out", metavar="FILE", help="picture to write: .svg, .png or .dot "
                   "(default graph.svg, or none when only --walkthrough is given)")
    p.add_argument("--format", choices=("svg", "png", "dot"), help="picture format (default: from the --out suffix)")
    p.add_argument("--expr", metavar="EXPR", help='an expression over named inputs, e.g. "tanh(x*w+b)": '
                   "numbers, names, + - * / **, parentheses, exp log tanh sigmoid relu softplus sqrt abs")
    p.add_argument("--set", dest="bindings", action="append", default=[], metavar="NAME=NUMBER,...",
                   help="values of the expression's names, e.g. x=2,w=-3,b=6.88 (repeatable)")
    p.add_argument("--walkthrough", metavar="FILE.html", help="also write an HTML step-through of the backward pass")
    p.add_argument("--rankdir", choices=("LR", "TB", "RL", "BT"), default="LR", help="layout direction (default LR)")
    p.add_argument("--max-nodes", type=int, default=None, metavar="N",
                   help="draw at most N nodes, cutting the rest with a marker (default 100, at most 2000; "
                        "a picture gets 60 s and 2 GB to render)")
    p.set_defaults(func=_cmd_graph)
    return p


def _cmd_graph(args):
    from ..expr import ExprError, parse, parse_bindings
    from ..viz import DEFAULT_MAX_NODES, RendererUnavailable, example_neuron, non_finite_note, render, walkthrough
    from ..viz.limits import MAX_DRAW_NODES, RenderLimitError, bounded

    if args.bindings and args.expr is None:
        raise UsageError("--set gives values to the names of --expr; there is no --expr")
    if args.max_nodes is not None and not 1 <= args.max_nodes <= MAX_DRAW_NODES:
        raise UsageError(f"--max-nodes must be between 1 and {MAX_DRAW_NODES}, got {args.max_nodes} "
                         f"(larger pictures take Graphviz far too long to lay out)")
    fmt = (args.format or os.path.splitext(args.out or "")[1].lstrip(".") or "svg").lower()
    if fmt not in ("svg", "png", "dot", "gv") and shutil.which("dot") is None:
        raise UsageError(f"--out {args.out or 'graph.' + fmt}: {fmt} needs the Graphviz program dot, which is "
                         f"not installed; write .svg, .png or .dot instead")
    if args.expr is None:
        root = example_neuron()
    else:
        try:
            expr = parse(args.expr)
        except ExprError as e:
            raise UsageError(f"--expr: {e}") from None
        values = {}
        for text in args.bindings:
            try:
                pairs = parse_bindings(text)
            except ExprError as e:
                raise UsageError(f"--set: {e}") from None
            for name, x in pairs.items():
                if name in values:
                    raise UsageError(f"--set: {name} is given twice")
                values[name] = x
        unused = [n for n in values if n not in expr.names]
        if unused:
            raise UsageError(f"--set: {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by "
                             f"--expr {args.expr!r} (a misspelt name?)")
        missing = [n for n in expr.names if n not in values]
        if missing:
            raise UsageError(f"--expr uses {', '.join(missing)} with no value: add --set "
                             + ",".join(f"{n}=..." for n in missing))
        try:
            root = expr.evaluate(values)
        except ExprError as e:
            raise UsageError(f"--expr: {e}") from None
    try:
        root.backward()
    except (OverflowError, FloatingPointError):
        raise UsageError("--expr: a gradient is too large for a float (overflow); "
                         "try values of smaller magnitude") from None
    note = non_finite_note(root)
    if note is not None:
        say(note, logging.WARNING)
    written = []
    if args.out is not None or args.format is not None or args.walkthrough is None:
        out = args.out or "graph.svg"
        try:
            written.append(bounded(render, root, out, args.format, rankdir=args.rankdir,
                                   max_nodes=args.max_nodes or DEFAULT_MAX_NODES, what=f"--out {out}"))
        except RenderLimitError as e:
            raise UsageError(str(e)) from None
    if args.walkthrough is not None:
        try:
            written.append(bounded(walkthrough, root, args.walkthrough, rankdir=args.rankdir,
                                   what=f"--walkthrough {args.walkthrough}"))
        except (RendererUnavailable, RenderLimitError) as e:
            raise UsageError(f"--walkthrough: {e}" if isinstance(e, RendererUnavailable) else str(e)) from None
    for path in written:
        print(path)
    return 0
