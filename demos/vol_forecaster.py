"""Volatility forecasters on the embedded S&P 500: a quick walk-forward, scores, backtest and plots.

    python demos/vol_forecaster.py [OUT_DIR]      # default: ./vol_forecaster_out

Every default model the registry offers (EWMA, GARCH, GJR-GARCH, HAR and the neural
MLP and GRU) forecasts each day's squared return from data up to the previous close, refitted
every 63 days on an expanding window, for the days 2016-2018 (the full evaluation, 2008-2018 and
refits every 21 days, is ``tinygrad-trade forecast``). The nets train briefly here (their
``quick`` option: fewer epochs and ensemble members), as in ``tinygrad-trade demo --quick``.
Writes metrics.json, forecasts.csv, report.md and the PNG plots, and prints the results table and
the Diebold-Mariano p-values against HAR.
"""
from __future__ import annotations

import sys
from pathlib import Path

from tinygrad_trade.vol.pipeline import NEURAL_MODELS, ForecastConfig, available_models, run_forecast
from tinygrad_trade.vol.report import results_table

QUICK = dict(start="2016-01-01", refit_every=63)


def main(out: Path) -> list:
    models = available_models()                  # the default models this version provides
    nets = [m for m in models if m in NEURAL_MODELS]
    config = ForecastConfig(out=str(out), models=models, quiet=True, **QUICK,
                            model_options={m: {"quick": True} for m in nets})   # brief training
    print(f"models: {', '.join(models)}" + ("" if nets else "  (the neural models are not available yet)"))
    res = run_forecast(config)
    print(results_table(res.metrics))
    print("\nDiebold-Mariano test of equal QLIKE against HAR (negative stat: the model is better):")
    for name, d in res.metrics["dm_vs_har"].items():
        print(f"  {name:<8} stat {d['qlike']['stat']:+6.2f}   p-value {d['qlike']['pvalue']:.3f}")
    print(f"walk-forward: {res.timings['walk_forward']:.1f} s for {res.metrics['config']['n_forecasts']} "
          f"forecast days and {res.metrics['config']['n_refits']} refits per model")
    return [Path(p) for p in res.paths.values()]


if __name__ == "__main__":
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("vol_forecaster_out")
    for path in main(out_dir):
        print(f"wrote {path}")
