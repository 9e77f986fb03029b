"""Issue 21 in the product: --dist and --risk-levels in forecast, predict and garch, the registry's law variants,
risk.csv in long form, every backtest under metrics.json's risk[model]["backtests"], and bad input (one line,
exit 2; a non-converged walk-forward refit warns and keeps the previous fit)."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from tinygrad_trade.cli import main
from tinygrad_trade.vol.data import loading as data
from tinygrad_trade.vol.evaluation.var_walk import check_levels, day_law, default_method, walk_simulator
from tinygrad_trade.vol.jobs.forecast import _kept_fits
from tinygrad_trade.vol.models import garch as garch_module
from tinygrad_trade.vol.models.registry import get_model

RISK_COLUMNS = ["date", "asset", "model", "return", "var_1", "es_1", "var_2.5", "es_2.5", "var_5", "es_5"]
LEVEL_KEYS = {"level", "n", "hits", "hit_rate", "kupiec_pvalue", "ind_pvalue", "cc_pvalue", "dq_stat", "dq_pvalue",
              "z1", "z2", "z1_pvalue", "z2_pvalue", "n_sims", "mf_mean", "mf_pvalue"}


@pytest.fixture(scope="module")
def sp500():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return data.load_sp500()


@pytest.fixture(scope="module")
def one_asset(tmp_path_factory):
    out = tmp_path_factory.mktemp("risk_one")
    assert main(["forecast", "--models", "ewma,gjr_skewt", "--start", "2017-06-01", "--refit-every", "126",
                 "--out", str(out), "--quiet"]) == 0
    return out


# ------------------------------------------------------------------------------------ registry
def test_registry_takes_a_law_only_for_the_garch_family():
    assert get_model("gjr", dist="skewt").name == "gjr_skewt"
    m = get_model("egarch_t")
    assert (m.vol, m.dist, m.on_failure) == ("egarch", "t", "keep")
    assert get_model("egarch").vol == "egarch"
    with pytest.raises(ValueError, match="cannot take an error law"):
        get_model("har", dist="t")


def test_default_methods_and_levels():
    assert default_method("gjr") == default_method("gjr_skewt") == "parametric"
    assert default_method("har") == default_method("ewma") == "fhs"
    assert check_levels(["0.05", 0.01]) == (0.01, 0.05)
    for bad in ([0.5], [0.0], ["x"], [], [0.01, 0.01]):
        with pytest.raises(ValueError, match="--risk-levels"):
            check_levels(bad)


def test_day_law_takes_the_fit_in_force_and_fhs_draws_only_earlier_residuals():
    hist = [{"day": 10, "mu": 0.1, "shape": [5.0], "dist": "t"}, {"day": 13, "mu": 0.2, "shape": [7.0], "dist": "t"}]
    dist, shape, mu = day_law(np.arange(10, 16), hist)
    assert dist == "t" and shape[:, 0].tolist() == [5, 5, 5, 7, 7, 7] and mu.tolist() == [0.1] * 3 + [0.2] * 3
    r = np.array([1.0, -2.0, 3.0, -4.0, 5.0])
    sim = walk_simulator(r, np.ones(5), "fhs")(np.random.default_rng(0), 400)
    assert np.all(sim[:, 0] == 0)                                  # nothing before the first day
    assert set(np.unique(sim[:, 1])) == {1.0} and set(np.unique(sim[:, 3])) == {1.0, -2.0, 3.0}


# ------------------------------------------------------------------------------------ forecast outputs
def test_metrics_hold_every_backtest(one_asset):
    m = json.loads((one_asset / "metrics.json").read_text())
    assert m["config"]["risk_levels"] == [0.01, 0.025, 0.05] and m["config"]["dist"] is None
    for name, method in (("ewma", "fhs"), ("gjr_skewt", "parametric")):
        e = m["risk"][name]
        assert set(e["levels"]) == {"1", "2.5", "5"} and e["method"] == "fhs"   # round 2's figures, plus 2.5%
        bt = e["backtests"]
        assert bt["method"] == method and set(bt["levels"]) == {"1", "2.5", "5"}
        for b in bt["levels"].values():
            assert set(b) == LEVEL_KEYS and b["n_sims"] == 200
            for p in ("kupiec_pvalue", "cc_pvalue", "dq_pvalue", "z2_pvalue"):
                assert 0.0 <= b[p] <= 1.0
    assert "traffic_light" not in m["risk"]["ewma"]["backtests"]     # FHS: 250 of its ~400 days are burn-in
    bt = m["risk"]["gjr_skewt"]["backtests"]
    assert bt["dist"] == "skewt" and bt["n_days"] >= 250
    tl = bt["traffic_light"]
    assert tl["share_green"] + tl["share_yellow"] + tl["share_red"] == pytest.approx(1.0)
    assert bt["frtb"]["limit_975"] == 30 and bt["frtb"]["limit_99"] == 12


def test_risk_csv_long_form_and_hits_agree(one_asset):
    m = json.loads((one_asset / "metrics.json").read_text())
    df = pd.read_csv(one_asset / "risk.csv")
    assert list(df.columns) == RISK_COLUMNS and list(df["model"].unique()) == ["ewma", "gjr_skewt"]
    g = df[df["model"] == "gjr_skewt"]
    assert g["var_1"].notna().all() and (g["es_2.5"] > g["var_2.5"]).all() and (g["var_1"] > g["var_5"]).all()
    for k in ("1", "2.5", "5"):
        assert (g["return"] < -g[f"var_{k}"]).sum() == m["risk"]["gjr_skewt"]["backtests"]["levels"][k]["hits"]
    text = (one_asset / "report.md").read_text()
    assert text.count("Basel traffic light: exceptions") == 1 and "traffic_light.png" in text


def test_universe_risk_csv_has_every_asset(tmp_path):
    out = tmp_path / "u"
    assert main(["forecast", "--universe", "embedded", "--models", "ewma", "--start", "2012-01-01",
                 "--refit-every", "126", "--risk-levels", "0.01,0.025", "--out", str(out), "--quiet"]) == 0
    df = pd.read_csv(out / "risk.csv")
    assert list(df.columns) == ["date", "asset", "model", "return", "var_1", "es_1", "var_2.5", "es_2.5"]
    assert set(df["asset"]) == {"SP500", "AAPL", "GOOG", "IBM"}
    text = (out / "report.md").read_text()
    assert text.count("Basel traffic light: exceptions") == 1 and text.count("Z2 (p)") == 4


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("argv, words", [
    (["forecast", "--dist", "t", "--models", "har"], "none of the models takes an error law"),
    (["forecast", "--dist", "t", "--models", "gjr,har"], "--models har,gjr_t"),
    (["forecast", "--models", "ewma", "--risk-levels", "0.5"], "(0, 0.5)"),
    (["forecast", "--models", "ewma", "--risk-levels", "0.01,abc"], "--risk-levels must be a number"),
    (["predict", "--dist", "ged", "--models", "ewma"], "none of the models takes an error law"),
])
def test_bad_options_are_one_line_and_exit_2(argv, words, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unknown_law_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:      # argparse's choices: the parser exits
        main(["garch", "--dist", "cauchy"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "invalid choice: 'cauchy'" in err and len(err.splitlines()) == 1


def test_garch_that_does_not_converge_is_one_line(sp500, tmp_path, capsys):
    path = tmp_path / "short.csv"
    sp500.iloc[:31].to_csv(path)
    assert main(["garch", "--csv", str(path), "--vol", "gjr", "--dist", "skewt"]) == 2
    err = capsys.readouterr().err.strip()
    assert "did not converge" in err and "short.csv" in err and len(err.splitlines()) == 1


def test_garch_json_gives_the_law_under_arch_names(capsys):
    assert main(["garch", "--vol", "gjr", "--dist", "skewt", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dist"] == "skewt" and set(out["dist_params"]) == {"eta", "lambda"}
    assert out["dist_params"]["eta"] == out["eta"] and -1 < out["lambda"] < 0 and out["at_bound"] == ["alpha"]
    assert main(["garch", "--vol", "gjr", "--dist", "skewt"]) == 0
    assert "* at a bound (alpha)" in capsys.readouterr().out


def test_a_refit_that_does_not_converge_keeps_the_last_fit(sp500, monkeypatch):
    from tinygrad_trade.vol.features.dataset import build_dataset
    ds = build_dataset(sp500.iloc[:700], target="r2", horizon=1)
    model = get_model("gjr_t")
    model.fit(ds, 500)
    first = model.result.params.copy()
    real = garch_module.fit_garch

    def failing(*a, **k):
        res = real(*a, **k)
        res.converged = False
        return res
    monkeypatch.setattr(garch_module, "fit_garch", failing)
    with pytest.warns(garch_module.ConvergenceWarning, match="previous parameters are kept"):
        model.fit(ds, 521)
    assert model.result.params.equals(first) and model.history[-1]["kept"] and not model.history[0]["kept"]

    class Walk:   # what the forecast job reads from a walk-forward
        index = np.arange(500, 542)
        dates = ds.dates[500:542]
        histories = {"gjr_t": model.history}
    (line,) = _kept_fits({"SPX": Walk()})
    assert line.startswith("SPX: gjr_t refit for ") and str(ds.dates[521]) in line and "previous parameters" in line


# ------------------------------------------------------------------------------------ predict
def test_predict_gives_every_level_by_each_models_method(sp500, tmp_path, capsys):
    path = tmp_path / "spx.csv"
    sp500.iloc[:700].to_csv(path, float_format="%.10g")
    assert main(["predict", "--csv", str(path), "--models", "ewma,gjr_skewt", "--horizon", "1",
                 "--out", str(tmp_path / "p"), "--quiet"]) == 0
    capsys.readouterr()
    t = pd.read_csv(tmp_path / "p" / "predictions.csv").set_index("model")
    assert list(t.index) == ["ewma", "gjr_skewt"]
    for c in ("var_5", "es_5", "var_1", "es_1", "var_2.5", "es_2.5"):
        assert c in t.columns
    assert t.loc["ewma", "risk_method"] == "fhs" and t.loc["gjr_skewt", "risk_method"] == "parametric"
    assert (t["var_1"] > t["var_2.5"]).all() and (t["var_2.5"] > t["var_5"]).all() and (t["es_1"] > t["var_1"]).all()
