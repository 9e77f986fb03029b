"""The t and skew-t GARCH/GJR estimates on a stock the project never saw (Microsoft, from the bokeh-sampledata
package) against arch 8: PYTHONPATH=. /work/peers/.venv/bin/python benchmarks/crosscheck_arch_msft.py
(differences relative to max(|arch|, 0.1), and in log-likelihood)."""
import numpy as np, pandas as pd, bokeh_sampledata, pathlib, warnings
from arch import arch_model
from tinygrad_trade.vol.models.garch import fit_garch
m = pd.read_csv(pathlib.Path(bokeh_sampledata.__file__).parent / "_data" / "stocks.csv.gz")
m = m[m.Ticker == "MSFT"]
r = 100 * np.diff(np.log(m["Adj Close"].to_numpy()))
names = {"mu": "mu", "omega": "omega", "alpha": "alpha[1]", "gamma": "gamma[1]", "beta": "beta[1]", "nu": "nu", "eta": "eta", "lambda": "lambda"}
for vol in ("garch", "gjr"):
    for dist, adist in (("t", "t"), ("skewt", "skewt")):
        ours = fit_garch(r, vol=vol, dist=dist)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = arch_model(r, vol="GARCH", p=1, o=1 if vol == "gjr" else 0, q=1, dist=adist).fit(disp="off")
        worst = max(abs(ours.params[k] - ref.params[names[k]]) / max(abs(ref.params[names[k]]), 1e-1) for k in ours.params.index)
        print(f"MSFT {vol:5s} {dist:5s} max rel diff {worst:.1e}  loglik diff {ours.loglik - ref.loglikelihood:+.4f}")
