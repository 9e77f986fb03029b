"""sweep(): the universe's tasks for every seed at once; in-process checks (the clusters: test_cluster.py)."""
import numpy as np
import pytest

from test_walkforward import _synthetic_prices
from tinygrad_trade.vol.dataset import build_dataset
from tinygrad_trade.vol.sweep import SweepResult, is_seed_free, seeded_spec, sweep
from tinygrad_trade.vol.universe import run_universe
from tinygrad_trade.vol.walkforward import ModelSpec, as_spec

MODELS = ["har", ("mlp", {"quick": True, "progress": False}), "gjr", "cluster_models:Noisy"]


@pytest.fixture(scope="module")
def datasets():
    return {f"A{s}": build_dataset(_synthetic_prices(450, seed=s)) for s in (3, 4)}


@pytest.fixture(scope="module")
def swept(datasets):
    return sweep(datasets, MODELS, seeds=(0, 5), start=300, refit_every=50)


def test_one_seed_of_a_sweep_is_run_universe(datasets, swept):
    for seed in (0, 5):
        # as the command line builds them: the nets get the run's seed as an option
        specs = [seeded_spec(as_spec(m), seed) for m in MODELS]
        want = run_universe(datasets, specs, start=300, refit_every=50, seed=seed)
        got = swept.by_asset(seed)
        assert list(got) == list(want)
        for asset in want:
            assert list(got[asset].forecasts) == ["har", "mlp", "gjr", "cluster_models:Noisy"]
            for label, f in want[asset].forecasts.items():
                np.testing.assert_array_equal(got[asset].forecasts[label], f, err_msg=f"{asset} {label} {seed}")
            assert [m["label"] for m in got[asset].config["models"]] == list(want[asset].forecasts)
    with pytest.raises(KeyError, match="seed 1 was not swept"):
        swept.by_asset(1)


def test_tidy_table_and_forecasts(datasets, swept):
    table, forecasts = swept
    assert isinstance(swept, SweepResult)
    assert len(table) == 2 * 4 * 2 and list(table.columns[:4]) == ["asset", "model", "seed", "seeded"]
    assert list(table.model.unique()) == ["har", "mlp", "gjr", "cluster_models:Noisy"]
    assert set(swept.walks) == {None, 0, 5}                       # har and gjr once, the rest per seed
    assert sorted(swept.walks[None]["A3"].forecasts) == ["gjr", "har"]
    assert table[~table.seeded].model.unique().tolist() == ["har", "gjr"]
    row = table[(table.asset == "A4") & (table.model == "mlp") & (table.seed == 5)].iloc[0]
    f = forecasts[("A4", "mlp", 5)]
    y = swept.walks[5]["A4"].target
    assert row.n == len(f) == len(y) and np.isclose(row.qlike, np.mean(y / f + np.log(f)))
    noisy = table[table.model == "cluster_models:Noisy"].set_index(["asset", "seed"]).qlike
    assert (noisy.xs(0, level="seed") != noisy.xs(5, level="seed")).all()      # the seed matters


def test_seed_rules_and_bad_input(datasets):
    assert is_seed_free(as_spec("gjr")) and not is_seed_free(as_spec("mlp"))
    assert not is_seed_free(as_spec("cluster_models:Noisy"))
    assert is_seed_free(as_spec("pooled")) and not is_seed_free(ModelSpec("pooled", {"hidden": 8}))
    assert seeded_spec(as_spec("mlp"), 3).options["seed"] == 3
    assert seeded_spec(as_spec("cluster_models:Noisy"), 3).options == {}       # no seed option: unchanged
    assert seeded_spec(ModelSpec("mlp", {"seed": 9}), 3).options["seed"] == 9
    for bad, msg in (((), "at least one seed"), ((1, 1), "distinct")):
        with pytest.raises(ValueError, match=msg):
            sweep(datasets, ["har"], seeds=bad, start=300)
