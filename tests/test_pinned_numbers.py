"""The numbers of a forecasting run are pinned: metrics.json and forecasts.csv equal those written by the code
before the round-3 redesign of vol/ (commit f9e11c5), byte for byte (the config echo aside).

The expected files in tests/pinned/ were written by f9e11c5 with the same command. A later change that moves a
number on purpose regenerates them (run the command below with --out tests/pinned/NAME and keep the old files'
git history as the record) and says so in its commit.
"""
import json
import os

import pytest

from tinygrad_trade.cli import main

HERE = os.path.join(os.path.dirname(__file__), "pinned")
RUNS = {
    # one asset (the embedded S&P 500), every kind of model including a net (few epochs)
    "single": ["--models", "ewma,garch,gjr,har,har_r2,pooled,mlp", "--epochs", "3", "--start", "2016-01-01",
               "--refit-every", "126"],
    # a universe: the embedded index and three stocks, the pooled model trained across them
    "universe": ["--universe", "embedded", "--models", "ewma,garch,gjr,har,pooled", "--start", "2012-07-01",
                 "--refit-every", "126"],
}
ECHO = ("out",)   # where the files went: not a number


def _without_echo(metrics: dict) -> dict:
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ECHO}
        return obj
    return strip(metrics)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_forecast_numbers_are_those_of_round_two(name, tmp_path, capsys):
    out = tmp_path / name
    assert main(["forecast", *RUNS[name], "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    with open(os.path.join(HERE, name, "forecasts.csv"), "rb") as fh:
        expected_csv = fh.read()
    assert (out / "forecasts.csv").read_bytes() == expected_csv
    with open(os.path.join(HERE, name, "metrics.json")) as fh:
        expected = json.load(fh)
    got = json.loads((out / "metrics.json").read_text())
    assert _without_echo(got) == _without_echo(expected)
