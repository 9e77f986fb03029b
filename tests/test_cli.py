"""`tinygrad-trade forecast` and `tinygrad-trade demo`: files, one-line errors, determinism."""
import gzip
import json
import re
from importlib import resources

import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.pipeline import available_models
from tinygrad_trade.vol.report import PLOT_FILES

SMALL = ["--start", "2017-01-01", "--refit-every", "63", "--models", "ewma,garch,har", "--quiet"]


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _embedded_csv(tmp_path, name):
    raw = resources.files("tinygrad_trade.datasets").joinpath(name + ".gz").read_bytes()
    path = tmp_path / name
    path.write_bytes(gzip.decompress(raw))
    return path


# ---------------------------------------------------------------------------------- demo
def test_demo_quick_writes_every_file(tmp_path, capsys):
    from tinygrad_trade.vol.report_universe import UNIVERSE_PLOT_FILES

    out = tmp_path / "demo"
    rc, stdout, err = _run(capsys, "demo", "--quick", "--out", str(out), "--quiet")
    assert rc == 0, err
    assert err == ""   # --quiet: nothing on stderr
    for name in ("metrics.json", "forecasts.csv", "report.md", UNIVERSE_PLOT_FILES["qlike_gain_heatmap"],
                 UNIVERSE_PLOT_FILES["cum_qlike_by_asset"], UNIVERSE_PLOT_FILES["equity_by_asset"],
                 "backprop_graph.svg"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "backprop_graph.svg").read_text().lstrip().startswith("<?xml")
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) == {"assets", "summary"} and list(m["assets"]) == ["SP500", "AAPL", "GOOG", "IBM"]
    from tinygrad_trade.vol.demo import demo_config
    models = demo_config(quick=True)[0].models          # the defaults, plus the pooled model
    assert set(available_models()) <= set(models)
    nets = [k for k in models if k in ("mlp", "gru")]
    sp = m["assets"]["SP500"]
    assert set(sp) >= {"models", "dm_vs_har", "backtest", "risk", "config"}
    assert list(sp["models"]) == list(models) and {"ewma", "garch", "gjr", "har"} <= set(models)
    assert sp["config"]["first_forecast"] == "2012-07-02" and sp["config"]["refit_every"] == 126
    assert m["assets"]["IBM"]["config"]["last_forecast"] == "2013-03-01"
    assert not set(nets) & set(m["assets"]["IBM"]["models"])      # the nets run on the index only
    if nets:
        assert (out / UNIVERSE_PLOT_FILES["training_loss"]).exists()
    header = (out / "forecasts.csv").read_text().splitlines()[0]
    assert header == ",".join(["asset", "date", "target", *models])
    report = (out / "report.md").read_text()
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out / link).exists(), link
    assert "backprop_graph.svg" in report and "GARCH(1,1)" in report and "### AAPL" in report
    # stdout: the GARCH summary, the results tables and the report's path
    assert "log-likelihood" in stdout and "omega" in stdout
    assert "QLIKE" in stdout and "buy_and_hold" in stdout and "AAPL" in stdout
    assert stdout.rstrip().splitlines()[-1] == f"report: {out / 'report.md'}"


def test_demo_progress_goes_to_stderr(tmp_path, capsys):
    rc, stdout, err = _run(capsys, "demo", "--quick", "--out", str(tmp_path))
    assert rc == 0
    assert "walk-forward" in err and "walk-forward" not in stdout


# ---------------------------------------------------------------------------------- forecast
def test_forecast_csv_and_options(tmp_path, capsys):
    csv = _embedded_csv(tmp_path, "sp500_daily_1999_2018.csv")
    out = tmp_path / "fc"
    rc, stdout, err = _run(capsys, "forecast", "--csv", str(csv), "--out", str(out), *SMALL,
                           "--horizon", "5", "--window", "1000", "--target-vol", "12", "--cost-bps", "0,5",
                           "--return-accounting", "log")
    assert rc == 0, err
    m = json.loads((out / "metrics.json").read_text())
    c = m["config"]
    assert c["csv"] == str(csv) and c["horizon"] == 5 and c["window"] == 1000 and c["target_vol"] == 12
    assert c["costs_bps"] == [0.0, 5.0] and c["return_accounting"] == "log"
    assert c["data"]["file"] == csv.name and c["data"]["first_date"] == "1999-01-04"
    assert c["last_forecast"] == "2018-12-24"   # the 5-day target of the last 4 days is not known
    assert set(m["backtest"]["har"]) == {"0", "5"}
    assert "report: " in stdout


def test_forecast_rv_file(tmp_path, capsys):
    rv = _embedded_csv(tmp_path, "sp500_rv5min_1997_2013.csv")
    rc, stdout, err = _run(capsys, "forecast", "--rv", str(rv), "--out", str(tmp_path / "rv"), "--models", "har",
                           "--quiet")
    assert rc == 0, err
    m = json.loads((tmp_path / "rv" / "metrics.json").read_text())
    assert m["config"]["target"] == "rv" and m["backtest"] == {} and m["models"]["har"]["n"] > 1000


def test_same_seed_identical_metrics_and_workers(tmp_path, capsys):
    runs = {}
    for key, extra in (("a", []), ("b", []), ("w", ["--workers", "2"])):
        rc, _, err = _run(capsys, "forecast", "--out", str(tmp_path / "x"), *SMALL, "--seed", "5", *extra)
        assert rc == 0, err
        runs[key] = ((tmp_path / "x" / "metrics.json").read_bytes(), (tmp_path / "x" / "forecasts.csv").read_bytes())
    assert runs["a"] == runs["b"]
    a, w = json.loads(runs["a"][0]), json.loads(runs["w"][0])
    assert w["config"].pop("workers") == 2 and a["config"].pop("workers") == 1
    assert a == w and runs["a"][1] == runs["w"][1]


# ---------------------------------------------------------------------------------- bad input
def _bad_inputs(tmp_path):
    short = tmp_path / "short.csv"
    short.write_text("Date,Open,High,Low,Close\n" + "".join(
        f"2020-01-{d:02d},10,11,9,10.5\n" for d in range(1, 29)))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02garbage")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    return [
        (["forecast", "--models", "ewma,bogus"], "unknown model 'bogus'"),
        (["forecast", "--start", "2008-02-31"], "--start"),
        (["forecast", "--start", "yesterday"], "--start"),
        (["forecast", "--start", "2019-06-01"], "after the data's last day"),
        (["forecast", "--csv", str(short)], "rows"),
        (["forecast", "--csv", str(tmp_path / "missing.csv")], "cannot read"),
        (["forecast", "--csv", str(binary)], "binary"),
        (["forecast", "--out", str(a_file)], "not a directory"),
        (["forecast", "--out", str(a_file / "sub")], "--out"),
        (["forecast", "--refit-every", "ten"], "--refit-every"),
        (["forecast", "--horizon", "0"], "--horizon"),
        (["forecast", "--window", "10"], "--window must be at least"),
        (["forecast", "--workers", "0"], "--workers"),
        (["forecast", "--cost-bps", "2,x"], "--cost-bps"),
        (["forecast", "--target", "rv"], "realized-variance"),
        (["forecast", "--rv", str(short), "--models", "garch"], "needs daily returns"),
        (["forecast", "--csv", str(short), "--rv", str(short)], "not allowed with"),
        (["forecast", "--return-accounting", "arith"], "invalid choice"),
        (["demo", "--out", str(a_file)], "not a directory"),
        (["demo", "--seed", "-1"], "--seed"),
    ]


def test_bad_input_one_line_exit_2(tmp_path, capsys):
    for argv, match in _bad_inputs(tmp_path):
        try:
            rc = main(argv + ["--quiet"])
        except SystemExit as exc:   # argparse errors of the subcommand
            rc = exc.code
        out, err = capsys.readouterr()
        assert rc == 2, (argv, err)
        assert err.count("\n") == 1 and err.endswith("\n"), (argv, err)
        assert "Traceback" not in err and match in err, (argv, err)
        assert err.startswith("tinygrad-trade "), (argv, err)
        assert out == "", (argv, out)
