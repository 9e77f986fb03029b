"""docs/notebooks/quickstart.ipynb runs top to bottom in a real Jupyter kernel with no Graphviz program
on PATH, and shows what it promises: SVG pictures, the walkthrough inline, the result tables."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "notebooks" / "quickstart.ipynb"


def _path_without_dot() -> str:
    """PATH minus every directory holding a ``dot`` program, plus this Python's own directory."""
    keep = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "dot").exists()]
    return os.pathsep.join([str(Path(sys.executable).parent)] + keep)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no python3 Jupyter kernel (ipykernel) available")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    saved = dict(os.environ)
    os.environ["PATH"] = _path_without_dot()
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [saved.get("PYTHONPATH")] if p])
    os.environ["MPLBACKEND"] = "Agg"
    try:
        assert shutil.which("dot") is None
        client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def _outputs(nb):
    return [(k, out) for k, cell in enumerate(nb.cells) if cell.cell_type == "code" for out in cell.get("outputs", [])]


def test_runs_without_errors(executed):
    errors = [(k, out.get("ename"), out.get("evalue")) for k, out in _outputs(executed) if out.output_type == "error"]
    assert errors == []
    stderr = [out.text for _, out in _outputs(executed) if out.output_type == "stream" and out.name == "stderr"]
    assert not any("Traceback" in t or "Error" in t for t in stderr), stderr


def _display(executed, code_start: str) -> dict:
    """The rich output (mime type -> data) of the first code cell starting with ``code_start``."""
    for cell in executed.cells:
        if cell.cell_type == "code" and cell.source.startswith(code_start):
            rich = [o for o in cell.outputs if o.output_type in ("execute_result", "display_data")]
            assert rich, f"cell {code_start!r} displayed nothing"
            return rich[-1]["data"]
    raise AssertionError(f"no cell starts with {code_start!r}")


def test_pictures_are_rendered_svg(executed):
    svgs = [out["data"]["image/svg+xml"] for _, out in _outputs(executed)
            if out.output_type in ("execute_result", "display_data") and "image/svg+xml" in out.get("data", {})]
    assert len(svgs) >= 4  # the Value, draw_dot, the module, the loss Tensor
    for svg in svgs:
        assert "<svg" in svg and "</svg>" in svg and "<text" in svg
    neuron = _display(executed, "from tinygrad_trade import Value")
    assert "grad &#45;1.500" in neuron["image/svg+xml"] and neuron["text/plain"].startswith("Value(")
    assert "x1" in _display(executed, "from tinygrad_trade.viz import")["image/svg+xml"]
    net = _display(executed, "import numpy as np")
    assert "layers.0: Linear" in net["image/svg+xml"] and net["text/plain"].startswith("MLP(")
    assert "shape=(), dtype=float64" in _display(executed, "loss")["text/plain"]


def test_walkthrough_and_tables_are_html(executed):
    page = _display(executed, "walkthrough(o)")["text/html"]
    assert page.startswith("<iframe srcdoc=") and "class=&quot;step&quot;" in page
    fit = _display(executed, "from tinygrad_trade.vol.data import")["text/html"]
    assert "GARCH(1,1)" in fit and "<table" in fit and ">omega</th>" in fit
    evaluation = _display(executed, "from tinygrad_trade.vol.pipeline import")["text/html"]
    assert "<table" in evaluation and all(f"<td>{m}</td>" in evaluation for m in ("ewma", "har", "garch"))
