"""Smoke tests of demos/*.py: each runs as a script with a temporary output directory, exits 0 in
under a minute, writes the files it is expected to write and prints their paths."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"

EXPECTED = {   # demo -> files it must write (alternatives separated by "|": e.g. a .dot without renderer)
    "neuron_graph.py": ["neuron.svg|neuron.dot", "neuron.png|neuron.dot", "backward_walkthrough.html|neuron.dot"],
    "scalar_mlp.py": ["loss.csv", "scalar_mlp.png"],
    "garch_autodiff.py": ["garch_summary.txt", "garch_3day_graph.svg|garch_3day_graph.dot", "garch_volatility.png"],
    "vol_forecaster.py": ["metrics.json", "forecasts.csv", "report.md", "forecast_vs_realized.png",
                          "cum_qlike_vs_har.png", "equity_curves.png"],
}
TIME_LIMIT = 60.0


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["MPLBACKEND"] = "Agg"
    return env


def _run(script, args, cwd):
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(DEMOS / script), *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=10 * TIME_LIMIT)
    return proc, time.perf_counter() - t


def test_every_demo_is_tested():
    assert sorted(p.name for p in DEMOS.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_demo_runs(script, tmp_path):
    out = tmp_path / "out"
    proc, secs = _run(script, [str(out)], tmp_path)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    for spec in EXPECTED[script]:
        found = [name for name in spec.split("|") if (out / name).is_file() and (out / name).stat().st_size > 0]
        assert found, f"{script} did not write {spec} in {out} (wrote {sorted(os.listdir(out))})"
    printed = re.findall(r"^wrote (.+)$", proc.stdout, flags=re.M)
    assert printed, f"{script} printed no 'wrote PATH' line:\n{proc.stdout}"
    for p in printed:
        assert (tmp_path / p).is_file() or Path(p).is_file(), f"{script} printed a missing path {p}"
    assert secs < TIME_LIMIT, f"{script} took {secs:.0f} s (limit {TIME_LIMIT:.0f} s)"
    if script == "vol_forecaster.py" and re.search(r"^models: .*\bmlp\b", proc.stdout, flags=re.M):
        assert (out / "training_loss.png").is_file(), "the nets ran but no training_loss.png was written"
    if script == "scalar_mlp.py":   # it learns: the loss falls and the training points end up separated
        losses = [float(x) for x in re.findall(r"loss ([0-9.]+)", proc.stdout)]
        accuracy = [int(x) for x in re.findall(r"accuracy (\d+)%", proc.stdout)]
        assert losses[-1] < 0.25 * losses[0] and accuracy[-1] >= 95, proc.stdout


def test_demo_default_output_dir(tmp_path):
    proc, _ = _run("neuron_graph.py", [], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "neuron_graph_out").is_dir()
    assert any((tmp_path / "neuron_graph_out").iterdir())
