"""The numbers of a forecasting run are pinned: metrics.json and forecasts.csv equal those written by the code
before the round-3 redesign of vol/ (commit f9e11c5), byte for byte (the config echo aside).

The expected files in tests/pinned/ were written by f9e11c5 with the same command. A later change that moves a
number on purpose regenerates them (run the command below with --out tests/pinned/NAME and keep the old files'
git history as the record) and says so in its commit.

metrics.json is compared as a superset: every pinned key must be there with its pinned value (recursively), and a
later round may add keys (issue 21 added the 2.5% risk level, ``risk[model]["backtests"]`` and the ``dist`` and
``risk_levels`` options of the config echo). No pinned number may change; forecasts.csv stays byte for byte.
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
    _assert_pinned(_without_echo(got), _without_echo(expected), "metrics.json")


def _assert_pinned(got, expected, where: str) -> None:
    """Every key of ``expected`` is in ``got`` with the same value (dicts recursively; new keys in ``got`` are fine)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{where}: expected an object"
        for k, v in expected.items():
            assert k in got, f"{where}: pinned key {k!r} is missing"
            _assert_pinned(got[k], v, f"{where}.{k}")
    else:
        assert got == expected, f"{where}: {got!r} != pinned {expected!r}"


def test_assert_pinned_fails_on_a_changed_or_missing_number():
    _assert_pinned({"a": {"b": 1.0, "new": 2}}, {"a": {"b": 1.0}}, "m")
    for got in ({"a": {"b": 1.5}}, {"a": {}}, {"a": 1.0}):
        with pytest.raises(AssertionError):
            _assert_pinned(got, {"a": {"b": 1.0}}, "m")
