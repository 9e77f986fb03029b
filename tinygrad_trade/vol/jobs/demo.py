"""The demo behind ``tinygrad-trade demo``: the embedded universe, a GARCH summary and a backprop picture.

    from tinygrad_trade.vol.demo import run_demo
    res = run_demo(out="report", quick=True)       # a UniverseResults: res.metrics["assets"]["SP500"]

It is :func:`~tinygrad_trade.vol.pipeline.run_forecast` on the embedded universe (the S&P 500 and AAPL, GOOG,
IBM) with every default model, the pooled model when available and the nets on the index only, plus a
full-sample GARCH(1,1) summary and the backprop graph of a small net in the report.
"""
from __future__ import annotations

import dataclasses
import os
import time
import warnings
from typing import Optional

from ...log import messenger
from ..data import loading as vdata
from ..features.dataset import build_dataset
from ...engine import Value
from ...nn.scalar import MLP
from ...viz import render
from ..data.assets import SP500_ASSET
from ..models.garch import fit_garch
from .config import NEURAL_MODELS, ForecastConfig, available_models, prepare_out, resolve_models, validate
from .forecast import run_forecast

__all__ = ["run_demo", "demo_config", "garch_summary", "draw_backprop_graph", "GRAPH_FILE", "DEMO_QUICK",
           "DEMO_EXTRA"]

DEMO_QUICK = {"start": "2012-07-01", "refit_every": 126}
DEMO_EXTRA = ("pooled",)   # run by the demo (on every asset, trained across them) when the registry has it


def demo_config(out="tinygrad-trade-report", quick: bool = False, seed: int = 0, workers: int = 1,
                quiet: bool = False, return_accounting: str = "simple", scheduler: Optional[str] = None) -> tuple:
    """The demo's :class:`ForecastConfig` (the embedded universe: the S&P 500 and three stocks, forecasts from
    2008, refit every 21 days) and its notes.

    Every default model the registry provides runs (a missing one is noted, not an error), plus the pooled
    model when available; the nets run on the index only (they take most of the time).
    ``quick``: forecasts from mid-2012, refit every 126 and the nets' ``quick`` option (fewer epochs and members).
    """
    cfg, notes = resolve_models(ForecastConfig(out=out, seed=seed, workers=workers, quiet=quiet,
                                               return_accounting=return_accounting, universe="embedded",
                                               scheduler=scheduler))
    models = cfg.models + tuple(m for m in available_models(DEMO_EXTRA) if m not in cfg.models)
    cfg = dataclasses.replace(cfg, models=models)
    nets = [m for m in models if m in NEURAL_MODELS]
    if nets:   # the nets take most of the time: on the index only, so the demo stays short
        cfg = dataclasses.replace(cfg, model_assets={m: (SP500_ASSET,) for m in nets})
        notes.append(f"to keep the demo short, {', '.join(nets)} run on {SP500_ASSET} only; "
                     "`tinygrad-trade forecast --universe embedded` runs every model on every asset")
    if quick:
        cfg = dataclasses.replace(cfg, **DEMO_QUICK,
                                  model_options={m: {"quick": True} for m in models if m in NEURAL_MODELS})
    return cfg, notes


def garch_summary(df=None, vol: str = "garch") -> str:
    """Full-sample GARCH(1,1) fit (constant mean, normal) on the % log returns; its summary() text."""

    if df is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = vdata.load_sp500()
    ds = build_dataset(df)
    return fit_garch(ds.returns[1:], vol=vol).summary()


def draw_backprop_graph(path, seed: int = 0) -> Optional[str]:
    """SVG of the backprop graph of a 2-2-1 tanh MLP (``nn.scalar``) on one sample after backward.

    Returns the path written (a ``.dot`` file instead when no Graphviz renderer is available).
    """


    net = MLP(2, [2, 1], activation="tanh", rng=seed)
    for i, layer in enumerate(net.layers, start=1):        # name every parameter: w1[j,k], b1[j], ...
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                w.label = f"w{i}[{j},{k}]"
            neuron.b.label = f"b{i}[{j}]"
    x = [Value(0.5, label="x0"), Value(-1.5, label="x1")]
    pred = net(x)
    pred.label = "prediction"
    loss = (pred - Value(0.25, label="target")) ** 2
    loss.label = "loss"
    loss.backward()
    out = render(loss, os.fspath(path))   # without any Graphviz renderer this writes a .dot file instead
    return os.fspath(out) if isinstance(out, (str, os.PathLike)) else os.fspath(path)


def run_demo(out="tinygrad-trade-report", quick: bool = False, seed: int = 0, workers: int = 1,
             quiet: bool = False, return_accounting: str = "simple", echo=None, scheduler: Optional[str] = None,
             force: bool = False):
    """The demo: GARCH summary, backprop graph SVG, walk-forward forecasts, backtest and report.

    ``echo`` receives the GARCH summary (stdout in the CLI; with a process pool the summary and the graph are
    made on it behind the walk-forward's jobs, so the summary comes after the walk-forward). Returns the results
    of ``run_forecast`` (a ``UniverseResults``); ``res.paths`` also lists ``"graph"`` when the SVG was drawn.
    ``force``: write into a folder holding other files (see :mod:`~tinygrad_trade.vol.outdir`).
    """
    t0 = time.perf_counter()
    cfg, notes = demo_config(out, quick, seed, workers, quiet, return_accounting, scheduler)
    cfg = validate(cfg)
    with prepare_out(cfg.out, force) as out_dir:
        return _demo(cfg, notes, out_dir, quiet, seed, quick, echo, t0)


def _demo(cfg, notes, out_dir, quiet, seed, quick, echo, t0):
    log = messenger(quiet)
    extra = {"title": "tinygrad-trade demo: volatility forecasting on the S&P 500 and three stocks"
                      + (" (quick)" if quick else ""),
             "sections_before": [], "sections": []}
    drawn = []

    def extras(pool):
        """The GARCH summary and the backprop graph, made while the walk-forward runs: on the run's local process
        pool when there is one (queued behind the walk-forward's jobs), else here before it."""
        path = out_dir.path(GRAPH_FILE)
        if pool is None:
            return add(garch_summary(), draw_backprop_graph(path, seed=seed))
        jobs = pool.submit(garch_summary), pool.submit(draw_backprop_graph, path, seed)
        return lambda: add(*(j.result() for j in jobs))

    def add(summary, graph):
        log("GARCH(1,1) on all daily returns of the embedded S&P 500:")
        if echo is not None:
            echo(summary)
            echo("")
        drawn.append(graph)
        extra["sections_before"].append(("GARCH(1,1) on the full sample", "Constant mean, normal errors, fitted by "
                                         "maximum likelihood on all daily % log returns 1999-2018 "
                                         "(`vol.models.garch`):\n\n```\n" + summary + "\n```"))
        name = os.path.basename(graph)
        link = f"![backprop graph]({name})" if name.endswith(".svg") else f"Graphviz source: [{name}]({name})"
        extra["sections"].append(("Backprop graph of a small net", "A 2-2-1 tanh MLP (`nn.scalar`) on one sample, "
                                  "squared-error loss, after `backward()`: every node shows its value and "
                                  "gradient.\n\n" + link))

    res = run_forecast(cfg, log=log, report_extra=extra, notes=notes, t0=t0, out_dir=out_dir, meanwhile=extras)
    res.paths["graph"] = out_dir.final(drawn[0])
    return res


GRAPH_FILE = "backprop_graph.svg"
