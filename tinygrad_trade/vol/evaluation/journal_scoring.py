"""Live scoring of a forecast journal: each stored prediction against what the market then did, and drift alarms.

    from tinygrad_trade.vol.evaluation.journal_scoring import score
    res = score(journal, {"SPX": load_prices("spx.csv")}, walkforward=metrics)   # metrics.json of `forecast`
    res.to_json()      # {"models": {name: {"n", "qlike", "mse", "var", "drift", ...}}, "flags": [...], ...}
    res.flags          # one line per alarm

Why: a backtest says how a model would have done; the journal says how the forecasts a desk acted on did.

The realised target (the conventions of :mod:`~tinygrad_trade.vol.dataset`): ``r_t = 100 ln(C_t / C_{t-1})``
on the price file's Adj Close (Close without it). A prediction of horizon ``h`` made on ``D`` (its ``made_on``,
which must be a date of the file) is scored on the first ``h`` trading days of the file after ``D``:
``y = mean(r_{i}^2 .. r_{i+h-1}^2)`` with ``i`` the first row after ``D`` (for ``h = 1``: ``r_i^2``). Losses are
:func:`~tinygrad_trade.vol.evaluation.qlike_loss` and :func:`~tinygrad_trade.vol.evaluation.mse_loss`.
A prediction is left unscored, and counted, when its asset has no price data, when ``D`` is not a date of the
file (before its first row, after its last, or a gap in it: ``"not covered"``), or when fewer than ``h`` days
follow ``D`` (``"pending"``: not matured yet).

Per asset and model, for every horizon: ``n``, QLIKE and MSE over the live days. The headline figures are those
of horizon 1 (the smallest horizon when 1 is not journaled). The 1-day VaR (``var_1``, ``var_5`` of each night;
the same on every horizon's row) is backtested on the next day's return with
:func:`~tinygrad_trade.vol.risk.kupiec` and :func:`~tinygrad_trade.vol.risk.christoffersen`, and the 99% VaR
gets its Basel traffic-light zone over the last 250 days: with ``x`` exceptions and
``P = BinomialCDF(x; 250, 0.01)``, green when ``P < 0.95``, yellow when ``P < 0.9999``, red otherwise (the Basel
table: green 0-4, yellow 5-9, red 10+). A record shorter than 250 days uses the same levels on the tail
probability ``P(X >= x)`` (yellow at 5%, red at 0.01%), so that a few days without exceptions stay green
(:func:`basel_zone`).

Drift (headline horizon): with the walk-forward QLIKE ``q_wf`` of the same model (``walkforward=``: a
metrics.json of ``forecast``, or one per asset), the live losses ``L`` of the last ``drift_window`` (60) scored
days are tested one-sided, H0 ``E[L] <= q_ref`` against H1 ``E[L] > q_ref``:
``t = (mean(L) - q_ref) / sqrt(NW(L) / n)``, ``NW`` the Newey-West long-run variance
(:func:`~tinygrad_trade.vol.evaluation.newey_west_variance`, Bartlett, ``lags`` = max(5, h)), p-value from the
normal (``0.5 erfc(t / sqrt 2)``). The walk-forward mean is taken as known: its thousands of days make its own
error small beside 60 live days. QLIKE is not scale-free: scaling the variance by ``c`` adds ``ln c`` to it, so
a perfect forecaster scores worse in a stormy quarter than in a calm walk-forward period. By default
(``adjust_level``) the reference is therefore ``q_ref = q_wf + ln(ybar_live / ybar_wf)``: ``ybar_live`` the mean
realised target of the tested days, ``ybar_wf`` the mean ``r^2`` of the price file over the walk-forward's
forecast days (metrics.json's ``first_forecast`` .. ``last_forecast``); without those days in the file, or with
``adjust_level=False``, ``q_ref = q_wf`` (the result's ``note`` says so). A model is flagged when
``p < drift_alpha`` (0.05), or when its 99% VaR is out of the green zone. Fewer than ``min_drift_days`` (20)
scored days: no test (said in the result).
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Mapping, Optional

import numpy as np
import pandas as pd
from scipy import stats

from ..data.loading import load_prices
from ..features.proxies import log_returns
from .losses import mse_loss, newey_west_variance, qlike_loss
from .risk import christoffersen, kupiec

__all__ = ["score", "realised_returns", "basel_zone", "drift_test", "HorizonScore", "VarScore", "DriftResult",
           "ModelScore", "JournalScore", "DRIFT_WINDOW", "BASEL_DAYS"]

DRIFT_WINDOW = 60
BASEL_DAYS = 250
VAR_LEVELS = {"1": 0.01, "5": 0.05}
UNSCORED = ("no price data for the asset", "made_on before the price file's first date",
            "made_on after the price file's last date", "made_on not a date of the price file", "pending")


# ------------------------------------------------------------------------------------ records
@dataclass
class HorizonScore:
    """Live figures of one model at one horizon (QLIKE/MSE None when nothing is scored yet)."""

    horizon: int
    n: int
    qlike: Optional[float]
    mse: Optional[float]
    pending: int                 # made, not matured in the price file
    not_covered: int             # the price file does not cover made_on (or no prices for the asset)
    first_made_on: Optional[str] = None
    last_made_on: Optional[str] = None


@dataclass
class VarScore:
    """Backtest of one VaR level on the next day's return (None figures with fewer than 2 days)."""

    level: float
    n: int
    hits: int
    hit_rate: Optional[float]
    kupiec_lr: Optional[float] = None
    kupiec_pvalue: Optional[float] = None
    ind_lr: Optional[float] = None
    ind_pvalue: Optional[float] = None
    cc_lr: Optional[float] = None
    cc_pvalue: Optional[float] = None
    zone: Optional[str] = None           # Basel zone (99% VaR only)
    zone_days: Optional[int] = None
    zone_hits: Optional[int] = None


@dataclass
class DriftResult:
    """The drift check of one model: ``flagged`` and why (``reasons``), with the QLIKE test's figures."""

    flagged: bool
    reasons: list
    test: str
    n: int = 0
    live_qlike: Optional[float] = None
    walkforward_qlike: Optional[float] = None
    reference: Optional[float] = None     # what the live mean is tested against: walk-forward QLIKE + level_shift
    level_shift: Optional[float] = None   # ln(live_level / walkforward_level); 0 when not adjusted
    live_level: Optional[float] = None    # mean realised target of the tested live days
    walkforward_level: Optional[float] = None   # mean r^2 of the price file over the walk-forward's forecast days
    stat: Optional[float] = None
    pvalue: Optional[float] = None
    note: Optional[str] = None            # why the QLIKE test was not run


@dataclass
class ModelScore:
    """One asset and model: headline figures (``horizon``), every horizon, VaR backtests, walk-forward, drift."""

    asset: str
    model: str
    horizon: int
    n: int
    qlike: Optional[float]
    mse: Optional[float]
    horizons: dict                        # horizon -> HorizonScore
    var: dict                             # "1", "5" -> VarScore
    walkforward: Optional[dict]
    drift: DriftResult

    def to_dict(self) -> dict:
        out = {"n": self.n, "qlike": self.qlike, "mse": self.mse, "horizon": self.horizon,
               "horizons": {str(h): asdict(s) for h, s in sorted(self.horizons.items())},
               "var": {k: asdict(v) for k, v in self.var.items()},
               "walkforward": self.walkforward, "drift": asdict(self.drift)}
        return out


@dataclass
class JournalScore:
    """Everything :func:`score` found. ``scored``: one row per prediction with its realised target and losses."""

    models: list                          # [ModelScore]
    scored: pd.DataFrame
    unscored: dict                        # reason -> count
    since: Optional[str] = None
    notes: list = field(default_factory=list)
    nights: Optional[pd.DataFrame] = None  # one row per asset, model and made_on: r_next, var_1, var_5 (VaR tests)

    @property
    def assets(self) -> list:
        return list(dict.fromkeys(m.asset for m in self.models))

    @property
    def flags(self) -> list:
        return [f"{m.asset} {m.model}: {reason}" for m in self.models for reason in m.drift.reasons]

    def model(self, asset: str, model: str) -> ModelScore:
        for m in self.models:
            if m.asset == asset and m.model == model:
                return m
        raise KeyError(f"no scores for asset {asset!r} and model {model!r}")

    def to_json(self) -> dict:
        """``{"models": {name: {...}}}`` for one asset; with several, ``{"assets": {asset: {"models": ...}}}``
        and ``"models"`` holding each model's live QLIKE/MSE pooled over the assets (per horizon)."""
        per_asset = {a: {"models": {m.model: m.to_dict() for m in self.models if m.asset == a}}
                     for a in self.assets}
        out: dict = {}
        if len(per_asset) <= 1:
            out["models"] = next(iter(per_asset.values()))["models"] if per_asset else {}
        else:
            out["assets"] = per_asset
            out["models"] = _pooled(self.scored)
        out.update({"flags": self.flags, "unscored": dict(self.unscored), "since": self.since,
                    "n_scored": int(len(self.scored)), "notes": list(self.notes)})
        return _clean(out)


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _pooled(scored: pd.DataFrame) -> dict:
    out: dict = {}
    for (model, h), g in scored.groupby(["model", "horizon"], sort=True):
        entry = out.setdefault(model, {"horizons": {}})
        entry["horizons"][str(int(h))] = {"n": int(len(g)), "qlike": float(g["qlike_loss"].mean()),
                                          "mse": float(g["mse_loss"].mean()), "assets": int(g["asset"].nunique())}
    for entry in out.values():
        head = entry["horizons"][min(entry["horizons"], key=int)]
        entry.update({"horizon": int(min(entry["horizons"], key=int)), "n": head["n"], "qlike": head["qlike"],
                      "mse": head["mse"]})
    return out


# ------------------------------------------------------------------------------------ pieces
def realised_returns(prices) -> tuple[np.ndarray, np.ndarray]:
    """``(dates, r)`` of a price frame (``vol.data.load_prices``: Adj Close, else Close) or a price Series:
    ``r_t = 100 ln(C_t / C_{t-1})`` (NaN on the first row), dates as ``datetime64[D]``."""
    if isinstance(prices, (str, os.PathLike)):
        prices = load_prices(prices)
    r = log_returns(prices).to_numpy(dtype=float)
    dates = pd.DatetimeIndex(prices.index).values.astype("datetime64[D]")
    if dates.size and np.any(np.diff(dates.astype(np.int64)) <= 0):
        raise ValueError("journal scoring: the price dates must be strictly increasing")
    return dates, r


def basel_zone(hits: int, n: int, level: float = 0.01) -> str:
    """Traffic light of ``hits`` exceptions of a ``level`` VaR in ``n`` days.

    ``n >= 250``: the Basel rule, ``P = BinomialCDF(hits; n, level)``: green below 95%, yellow below 99.99%, red
    (for ``n = 250``: green 0-4, yellow 5-9, red 10+). Shorter records: the same levels on the tail probability
    ``P(X >= hits)`` (yellow at or below 5%, red at or below 0.01%), since the CDF rule would call zero exceptions
    in a few days yellow (``P(X <= 0) = 0.99^n`` is above 95% for ``n < 6``)."""
    hits, n = int(hits), int(n)
    if n >= BASEL_DAYS:
        p = float(stats.binom.cdf(hits, n, level))
        return "green" if p < 0.95 else ("yellow" if p < 0.9999 else "red")
    tail = float(stats.binom.sf(hits - 1, n, level))
    return "green" if tail > 0.05 else ("yellow" if tail > 0.0001 else "red")


def drift_test(losses, reference: float, lags: int = 5) -> tuple[float, float]:
    """One-sided test that the mean of ``losses`` exceeds ``reference``: ``(t, p)``, Newey-West variance."""
    loss = np.asarray(losses, dtype=float)
    n = loss.size
    diff = float(loss.mean()) - float(reference)
    lrv = newey_west_variance(loss, lags)
    if lrv > 0:
        t = diff / math.sqrt(lrv / n)
    else:
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return float(t), float(0.5 * math.erfc(t / math.sqrt(2.0)))


def _var_score(r_next: np.ndarray, var: np.ndarray, key: str) -> VarScore:
    level = VAR_LEVELS[key]
    ok = np.isfinite(r_next) & np.isfinite(var)
    hit = r_next[ok] < -var[ok]
    n, x = int(hit.size), int(hit.sum())
    out = VarScore(level=level, n=n, hits=x, hit_rate=x / n if n else None)
    if n >= 2:
        uc, ind = kupiec(hit, level), christoffersen(hit, level)
        out.kupiec_lr, out.kupiec_pvalue = uc["lr"], uc["pvalue"]
        out.ind_lr, out.ind_pvalue, out.cc_lr, out.cc_pvalue = (ind["lr_ind"], ind["pvalue_ind"], ind["lr_cc"],
                                                                 ind["pvalue_cc"])
    if key == "1" and n >= 1:
        last = hit[-BASEL_DAYS:]
        out.zone, out.zone_days, out.zone_hits = basel_zone(int(last.sum()), last.size, level), int(last.size), \
            int(last.sum())
    return out


def _walkforward_for(walkforward, asset: str, model: str, horizon: int) -> Optional[dict]:
    """The walk-forward figures of (asset, model) at ``horizon`` from a metrics.json (or {asset: metrics})."""
    if not walkforward:
        return None
    metrics = walkforward if "models" in walkforward else walkforward.get(asset)
    if not metrics:
        return None
    entry = metrics["models"].get(model)
    wf_h = int((metrics.get("config") or {}).get("horizon", 1) or 1)
    if entry is None or wf_h != horizon or entry.get("qlike") is None:
        return None
    cfg = metrics.get("config") or {}
    return {k: entry[k] for k in ("n", "qlike", "mse", "mae") if k in entry} | {
        "horizon": wf_h, "first_forecast": cfg.get("first_forecast"), "last_forecast": cfg.get("last_forecast")}


def _level(series, wf: dict) -> Optional[float]:
    """Mean r^2 of the price file over the walk-forward's forecast days (None when the file does not cover them)."""
    first, last = wf.get("first_forecast"), wf.get("last_forecast")
    if series is None or not first or not last:
        return None
    dates, r = series
    a, b = np.datetime64(first, "D"), np.datetime64(last, "D")
    if dates.size == 0 or dates[0] > a or dates[-1] < b:
        return None
    sel = (dates >= a) & (dates <= b) & np.isfinite(r)
    return float(np.mean(r[sel] ** 2)) if sel.any() else None


def _drift(losses: np.ndarray, targets: np.ndarray, var1: VarScore, wf: Optional[dict], wf_level: Optional[float],
           horizon: int, window: int, alpha: float, min_days: int, adjust_level: bool) -> DriftResult:
    lags = max(5, int(horizon))
    level = " + ln(live / walk-forward mean realised variance)" if adjust_level else ""
    test = (f"one-sided Newey-West t test (lags {lags}) of the mean live QLIKE of the last {window} scored days "
            f"against the walk-forward QLIKE{level}, alpha {alpha:g}; or 99% VaR out of the Basel green zone")
    out = DriftResult(flagged=False, reasons=[], test=test)
    tail = losses[-window:]
    out.n = int(tail.size)
    out.live_qlike = float(tail.mean()) if tail.size else None
    if wf is None:
        out.note = "no walk-forward figures for this model and horizon"
    elif tail.size < min_days:
        out.note = f"only {tail.size} scored day(s); the test needs {min_days}"
    else:
        out.walkforward_qlike = float(wf["qlike"])
        out.level_shift = 0.0
        if adjust_level:
            live = targets[-window:]
            out.live_level, out.walkforward_level = float(np.mean(live)), wf_level
            if wf_level is None or not wf_level > 0 or not out.live_level > 0:
                out.note = "not level-adjusted: the price file does not cover the walk-forward's days"
            else:
                out.level_shift = math.log(out.live_level / wf_level)
        out.reference = out.walkforward_qlike + out.level_shift
        out.stat, out.pvalue = drift_test(tail, out.reference, lags)
        if out.pvalue < alpha:
            adj = (f" + {out.level_shift:.4f} for the variance level (mean realised {out.live_level:.3g} live, "
                   f"{out.walkforward_level:.3g} walk-forward)") if out.level_shift else ""
            out.reasons.append(f"live QLIKE {out.live_qlike:.4f} over the last {tail.size} scored days is worse "
                               f"than the walk-forward {out.walkforward_qlike:.4f}{adj} (t = {out.stat:.2f}, "
                               f"one-sided p = {out.pvalue:.3g})")
    if var1.zone not in (None, "green"):
        out.reasons.append(f"99% VaR in the Basel {var1.zone} zone ({var1.zone_hits} exceptions in the last "
                           f"{var1.zone_days} days)")
    out.flagged = bool(out.reasons)
    return out


# ------------------------------------------------------------------------------------ scoring
def _realise(rows: pd.DataFrame, series: Mapping) -> pd.DataFrame:
    """``rows`` plus target, r_next, losses and the scoring status of each prediction
    (``series[asset]``: the :func:`realised_returns` of its prices)."""
    rows = rows.copy()
    n_rows = len(rows)
    target = np.full(n_rows, np.nan)
    r_next = np.full(n_rows, np.nan)
    status = np.array(["scored"] * n_rows, dtype=object)
    score_last = np.array([None] * n_rows, dtype=object)
    made = rows["made_on"].to_numpy().astype("datetime64[D]")
    horizon = rows["horizon"].to_numpy(dtype=int)
    for k, asset in enumerate(rows["asset"].to_numpy()):
        if asset not in series:
            status[k] = UNSCORED[0]
            continue
        dates, r = series[asset]
        i = int(np.searchsorted(dates, made[k], side="right"))
        if i == 0:
            status[k] = UNSCORED[1]
        elif dates[i - 1] != made[k]:
            status[k] = UNSCORED[2] if i == dates.size else UNSCORED[3]
        else:
            if i < dates.size:
                r_next[k] = r[i]
            h = horizon[k]
            if i + h > dates.size:
                status[k] = UNSCORED[4]
            else:
                target[k] = float(np.mean(r[i:i + h] ** 2))
                score_last[k] = str(dates[i + h - 1])
    rows["target"] = target
    rows["r_next"] = r_next
    rows["status"] = status
    rows["scored_through"] = score_last
    ok = status == "scored"
    rows["qlike_loss"] = np.nan
    rows["mse_loss"] = np.nan
    if ok.any():
        rows.loc[ok, "qlike_loss"] = qlike_loss(target[ok], rows["variance"].to_numpy()[ok])
        rows.loc[ok, "mse_loss"] = mse_loss(target[ok], rows["variance"].to_numpy()[ok])
    return rows


def score(journal, prices_by_asset: Mapping, since=None, walkforward: Optional[Mapping] = None,
          drift_window: int = DRIFT_WINDOW, drift_alpha: float = 0.05, min_drift_days: int = 20,
          adjust_level: bool = True) -> JournalScore:
    """Score every matured prediction of ``journal`` (a :class:`~tinygrad_trade.vol.journal.Journal` or the
    DataFrame of its ``predictions()``) against ``prices_by_asset`` (asset -> price frame, price Series or CSV
    path); see the module docstring for the rules. ``since``: predictions made on or after that date only."""
    rows = journal.predictions(since=since) if hasattr(journal, "predictions") else journal.copy()
    if since is not None and not hasattr(journal, "predictions"):
        rows = rows[rows["made_on"] >= str(np.datetime64(pd.Timestamp(since).date(), "D"))]
    rows = rows.sort_values(["asset", "model", "horizon", "made_on"]).reset_index(drop=True)
    series = {a: realised_returns(prices_by_asset[a]) for a in rows["asset"].unique() if a in prices_by_asset}
    done = _realise(rows, series)
    unscored = {reason: int((done["status"] == reason).sum()) for reason in UNSCORED}
    unscored = {k: v for k, v in unscored.items() if v}
    notes = []
    if unscored:
        notes.append("unscored: " + ", ".join(f"{v} {k}" for k, v in unscored.items()))
    models, nights_all = [], []
    for (asset, model), g in done.groupby(["asset", "model"], sort=True):
        horizons = {}
        for h, gh in g.groupby("horizon", sort=True):
            s = gh[gh["status"] == "scored"]
            horizons[int(h)] = HorizonScore(
                horizon=int(h), n=int(len(s)),
                qlike=float(s["qlike_loss"].mean()) if len(s) else None,
                mse=float(s["mse_loss"].mean()) if len(s) else None,
                pending=int((gh["status"] == "pending").sum()),
                not_covered=int(((gh["status"] != "pending") & (gh["status"] != "scored")).sum()),
                first_made_on=str(s["made_on"].iloc[0]) if len(s) else None,
                last_made_on=str(s["made_on"].iloc[-1]) if len(s) else None)
        head = 1 if 1 in horizons else min(horizons)
        nights = g.sort_values(["made_on", "horizon"]).drop_duplicates("made_on")   # VaR: one row per night
        nights_all.append(nights[["asset", "model", "made_on", "r_next", "var_5", "var_1"]])
        var = {k: _var_score(nights["r_next"].to_numpy(float), nights[f"var_{k}"].to_numpy(float), k)
               for k in VAR_LEVELS}
        hs = g[(g["horizon"] == head) & (g["status"] == "scored")]
        wf = _walkforward_for(walkforward, asset, model, head)
        wf_level = _level(series.get(asset), wf) if wf is not None else None
        drift = _drift(hs["qlike_loss"].to_numpy(float), hs["target"].to_numpy(float), var["1"], wf, wf_level, head,
                       drift_window, drift_alpha, min_drift_days, adjust_level)
        hh = horizons[head]
        models.append(ModelScore(asset=str(asset), model=str(model), horizon=head, n=hh.n, qlike=hh.qlike,
                                 mse=hh.mse, horizons=horizons, var=var, walkforward=wf, drift=drift))
    scored = done[done["status"] == "scored"].reset_index(drop=True)
    since_text = None if since is None else str(np.datetime64(pd.Timestamp(since).date(), "D"))
    nights = pd.concat(nights_all, ignore_index=True) if nights_all else \
        pd.DataFrame(columns=["asset", "model", "made_on", "r_next", "var_5", "var_1"])
    return JournalScore(models=models, scored=scored, unscored=unscored, since=since_text, notes=notes,
                        nights=nights)
