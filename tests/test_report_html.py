"""report.html from report.md: Markdown tables and code become HTML, PNG plots become data URIs, SVG
pictures go inline, a missing picture is a visible note (never a broken image)."""
import base64
import logging

from tinygrad_trade.viz import example_neuron, render
from tinygrad_trade.vol.report_html import markdown_to_html, write_report_html

PNG_1x1 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


def test_tables_code_and_embedded_pictures(tmp_path):
    (tmp_path / "plot.png").write_bytes(PNG_1x1)
    render(example_neuron(), tmp_path / "graph.svg")
    md = tmp_path / "report.md"
    md.write_text("# My report\n\n| model | QLIKE |\n|---|---|\n| har | 0.8211 |\n\n```\nsummary <here>\n```\n\n"
                  "![a plot](plot.png)\n\n![backprop graph](graph.svg)\n", encoding="utf-8")
    out = write_report_html(md)
    assert out == str(tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<title>My report</title>" in page
    assert "<td>har</td>" in page and "<td>0.8211</td>" in page
    assert "summary &lt;here&gt;" in page
    assert f'src="data:image/png;base64,{base64.b64encode(PNG_1x1).decode()}" alt="a plot"' in page
    assert '<svg role="img" aria-label="backprop graph"' in page and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert 'src="plot.png"' not in page and 'src="graph.svg"' not in page
    assert "<p><figure>" not in page


def test_missing_picture_is_a_note_and_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="tinygrad_trade"):
        page = markdown_to_html("# R\n\n![plot](nope.png)\n\n![remote](https://example.com/x.png)\n", str(tmp_path))
    assert '<span class="missing">[picture not available: nope.png]</span>' in page
    assert 'src="https://example.com/x.png"' in page  # a URL is the author's choice, left as written
    assert any("nope.png" in r.getMessage() for r in caplog.records)


def test_a_list_right_under_a_paragraph_is_a_list(tmp_path):
    page = markdown_to_html("Goal for the models:\n- `mlp`: not met\n- `gru`: met\n\n```\nx\n- not a list\n```\n",
                            str(tmp_path))
    assert "<ul>\n<li><code>mlp</code>: not met</li>\n<li><code>gru</code>: met</li>\n</ul>" in page
    assert "<code>x\n- not a list\n</code>" in page
