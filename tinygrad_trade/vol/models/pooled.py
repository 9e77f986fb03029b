"""Pooled log-linear volatility model: scale-free HAR-type inputs, fitted by QLIKE on many assets at once.

Why: a level HAR is fitted per asset and can go negative on a stock; a GARCH uses only returns. A
model of ``ln(f / L)`` on inputs that are ratios to the asset's own level ``L`` is positive by
construction and means the same thing on every asset, so the rows of all the assets of a run can
train one set of coefficients (more data per coefficient, the same model for a new asset).

Per asset, ``L`` is the mean of ``ds.target`` over its training rows. Row ``t`` of the inputs
``z_t`` (every column from data up to the close of day ``t - 1``; :func:`raw_inputs`, :func:`scaled`)::

    pk_w    ln(max(mean Parkinson over the w days ending t-1, eps L) / L)      w = 1, 5, 22
    r2_w    ln(mean r^2 over those w days / L + delta)                          (delta tames r ~ 0)
    neg_w   mean of min(r, 0) over those w days / sqrt(L)                       (downside returns)
    gk_w    as pk_w on Garman-Klass (``ds.proxies["gk"]``, Parkinson on stale-open days; the
            columns are left out when the dataset has no "gk" proxy)
    gjr     ln(s_t / L), s_t the GJR-GARCH(1,1,1) variance of :class:`~.garch.GARCH` fitted on the
            asset's returns at the same refit (warm-started from its previous fit, as ``gjr``)
    r_last  r_{t-1} / sqrt(L)

Model: ``ln(f_t / L) = a + b . z_t (+ g(z_t))`` and loss QLIKE, which in ``s = ln(f / L)`` reads
``mean(y/L e^-s + s)`` (+ ``ln L``, a constant). With ``hidden=0`` (the default) it is linear in
``theta = (a, b)`` and convex: :func:`newton_fit` minimises ``QLIKE + ridge |b|^2`` by damped Newton
steps whose gradient and exact Hessian come from the engine (``grad`` with ``create_graph=True``,
then ``grad`` again; :func:`loss_derivatives` gets the whole Hessian in one second sweep).
``hidden > 0`` adds a residual MLP ``g`` (ReLU, last layer starting at zero, so training starts
from the Newton solution) trained on the same loss with AdamW (decoupled weight decay), the linear
part held fixed.

Pooling (``pooled = True``): :meth:`PooledForecaster.fit_panel` takes ``[(asset, ds, end, begin),
...]`` and fits on each asset's rows ``begin <= t < ds.last_known(end)`` (complete inputs and target)
all together, each row weighing the same; :meth:`~PooledForecaster.predict_asset` forecasts one
asset. ``fit``/``predict`` are the one-asset panel, so the model also runs in ``walk_forward``.
Refits continue from the previous ``theta`` (a convex problem solved to a tight tolerance, so the
optimum does not depend on the start) and warm-start each asset's GJR (``warm_start = True``: the
walk-forward runs the blocks in order on one instance). Those per-asset GJR fits are most of the cost, so a
universe run splits them off (:meth:`~PooledForecaster.fit_asset_chain`, one chain per asset, in parallel) and
hands them to the sequential panel fits (``fit_panel(panel, asset_fits=...)``), with identical results.

Hyper-parameters and measurements: docs/model-card.md.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ...graph import grad, no_grad
from ...nn import MLP
from ...optim import AdamW
from ...tensor import Tensor
from ..features.dataset import Dataset
from .base import Forecaster, StateError, state_array
from .garch import GARCH, GarchResult
from .runtime import lean_runtime

__all__ = ["WINDOWS", "LONG_WINDOWS", "HORIZON_SETTINGS", "horizon_settings", "raw_inputs", "scaled", "input_names", "qlike_loss", "loss_derivatives",
           "newton_fit", "PooledForecaster"]

WINDOWS = (1, 5, 22)
LONG_WINDOWS = (66, 126)    # the longer averages a horizon's settings may add (3 and 6 months)
# Settings per horizon h (the target: mean variance of days t..t+h-1), chosen on forecasts of 2004-2007 only
# (benchmarks/select_pooled_horizons.py; docs/model-card.md) and frozen; h = 1 is the original selection.
# ``long``: the LONG_WINDOWS whose Parkinson and r^2 means join the inputs. A horizon not listed takes the
# settings of the largest listed horizon below it.
HORIZON_SETTINGS = {
    1: {"ridge": 3e-3, "delta": 0.01, "long": ()},
    5: {"ridge": 1e-2, "delta": 0.01, "long": (66,)},
    10: {"ridge": 1e-2, "delta": 0.01, "long": (66,)},
    22: {"ridge": 3e-2, "delta": 0.01, "long": (66, 126)},
}
EPS = 1e-3          # floor of a range-variance ratio before its log (High == Low days)
MIN_ROWS = 60       # an asset with fewer known training targets sits out of a fit


# ------------------------------------------------------------------------------------ inputs
def _lagged_mean(x: np.ndarray, w: int) -> np.ndarray:
    """``out[t] = mean(x[t-w .. t-1])`` (nan until w values are there or when one is nan)."""
    m = pd.Series(x).rolling(w, min_periods=w).mean().to_numpy()
    out = np.full(x.size, np.nan)
    out[1:] = m[:-1]
    return out


def raw_inputs(ds: Dataset) -> dict:
    """Level (not yet scale-free) inputs of every day, each from data < t: name -> array."""
    if "parkinson" not in ds.proxies:
        raise ValueError("pooled: the dataset has no 'parkinson' proxy (the model needs High and Low)")
    r = np.asarray(ds.returns, dtype=float)
    neg = np.minimum(r, 0.0)
    neg[np.isnan(r)] = np.nan
    out = {}
    for w in WINDOWS:
        out[f"pk{w}"] = _lagged_mean(ds.proxies["parkinson"], w)
        out[f"r2_{w}"] = _lagged_mean(r ** 2, w)
        out[f"neg{w}"] = _lagged_mean(neg, w)
        if "gk" in ds.proxies:
            out[f"gk{w}"] = _lagged_mean(ds.proxies["gk"], w)
    for w in LONG_WINDOWS:
        out[f"pk{w}"] = _lagged_mean(ds.proxies["parkinson"], w)
        out[f"r2_{w}"] = _lagged_mean(r ** 2, w)
    out["r_last"] = _lagged_mean(r, 1)
    return out


def horizon_settings(h: int) -> dict:
    """The frozen settings of horizon ``h`` (:data:`HORIZON_SETTINGS`; the largest listed horizon <= h)."""
    return dict(HORIZON_SETTINGS[max(k for k in HORIZON_SETTINGS if k <= max(int(h), 1))])


def input_names(has_gk: bool, long=()) -> list:
    names = [f"{p}{w}" for p in ("pk", "r2_", "neg") for w in WINDOWS]
    if has_gk:
        names += [f"gk{w}" for w in WINDOWS]
    names += [f"pk{w}" for w in long] + [f"r2_{w}" for w in long]
    return names + ["gjr", "r_last"]


def scaled(raw: dict, gjr: np.ndarray, L: float, delta: float, rows, long=()) -> np.ndarray:
    """The scale-free design ``[1, z_t]`` of ``rows`` (see the module docstring); nan where incomplete."""
    names = input_names("gk1" in raw, long)
    cols = [np.ones(len(rows))]
    sd = np.sqrt(L)
    for name in names[:-2]:
        v = raw[name][rows]
        if name.startswith("r2_"):
            cols.append(np.log(v / L + delta))
        elif name.startswith("neg"):
            cols.append(v / sd)
        else:
            cols.append(np.log(np.maximum(v / L, EPS)))
    cols.append(np.log(gjr / L))
    cols.append(raw["r_last"][rows] / sd)
    return np.column_stack(cols)


# ------------------------------------------------------------------------------------ loss and Newton
def qlike_loss(theta: Tensor, Z, y, ridge: float = 0.0, w=None) -> Tensor:
    """``mean(w (y e^-s + s)) + ridge |theta[1:]|^2`` with ``s = Z @ theta`` (y already divided by L;
    row weights ``w`` default to 1).

    ``theta`` may be ``(k,)`` or a stack ``(c, k)`` of ``c`` parameter vectors (then one loss per row).
    """
    Z = Z if isinstance(Z, Tensor) else Tensor(np.asarray(Z, dtype=float))
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    if len(theta.shape) == 1:
        s = Z @ theta
        return (w * (y * (-s).exp() + s)).mean() + ridge * (theta[1:] ** 2).sum()
    S = Z @ theta.transpose()                                    # (n, c)
    return (w[:, None] * (y[:, None] * (-S).exp() + S)).mean(axis=0) + ridge * (theta[:, 1:] ** 2).sum(axis=1)


def loss_derivatives(theta, Z, y, ridge: float = 0.0, w=None):
    """``(loss, gradient, Hessian)`` of :func:`qlike_loss` at ``theta``, all from the engine.

    The Hessian takes one extra backward sweep: ``k`` copies of ``theta`` are stacked into a
    ``(k, k)`` leaf ``Th`` and each row gets its own loss; ``G = grad(sum of losses, Th,
    create_graph=True)`` has row ``i`` = the gradient at copy ``i``, and ``grad(trace(G), Th)`` has
    row ``i`` = ``d G[i, i] / d Th[i]`` = row ``i`` of the Hessian.
    """
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    Th = Tensor(np.tile(theta, (k, 1)), requires_grad=True)
    losses = qlike_loss(Th, Z, y, ridge, w)
    G = grad(losses.sum(), Th, create_graph=True)
    H = grad((G * np.eye(k)).sum(), Th)
    return float(losses.data[0]), np.asarray(G.data[0], dtype=float), np.asarray(H, dtype=float)


def newton_fit(Z, y, ridge: float = 0.0, theta0=None, tol: float = 1e-10, max_iter: int = 50, w=None):
    """Minimise :func:`qlike_loss` by damped Newton steps (Armijo backtracking).

    Stops when the Newton decrement ``g' H^-1 g / 2`` falls below ``tol``. Returns
    ``(theta, info)`` with ``info = {"iterations", "loss", "decrement"}``.
    """
    Z = np.asarray(Z, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    Zt = Tensor(Z)
    if theta0 is None:
        theta = np.zeros(Z.shape[1])
        theta[0] = np.log(np.mean(w * y) / np.mean(w))
    else:
        theta = np.asarray(theta0, dtype=float).copy()

    def value(th):
        with np.errstate(over="ignore"):
            s = Z @ th
            v = np.mean(w * (y * np.exp(-s) + s)) + ridge * np.sum(th[1:] ** 2)
        return v if np.isfinite(v) else np.inf

    dec, it = np.inf, 0
    loss = value(theta)
    for it in range(1, max_iter + 1):
        loss, g, H = loss_derivatives(theta, Zt, y, ridge, w)
        try:
            step = -np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, g, rcond=None)[0]
        dec = float(-(g @ step) / 2)
        if not dec > tol:
            break
        t = 1.0
        while t > 1e-10 and value(theta + t * step) > loss - 0.25 * t * 2 * dec:
            t *= 0.5
        theta = theta + t * step
    return theta, {"iterations": it, "loss": float(value(theta)), "decrement": dec}


# ------------------------------------------------------------------------------------ the forecaster
def _level(ds: Dataset, end: int, begin: int):
    """The asset's level ``L`` (mean known target of its rows ``begin <= t < ds.last_known(end)``), or None
    when it sits out of the fit (fewer than ``MIN_ROWS`` known targets, or a non-positive mean)."""
    y = np.asarray(ds.target[begin:ds.last_known(end)], dtype=float)
    known = y[np.isfinite(y)]
    if known.size < MIN_ROWS or not np.mean(known) > 0:
        return None
    return float(np.mean(known))


class _Asset:
    """What the model keeps per asset: its level, fit window and warm-started GJR."""

    def __init__(self):
        self.L = np.nan
        self.begin = self.end = 0
        self.gjr = GARCH(vol="gjr")


class PooledForecaster(Forecaster):
    """The ``pooled`` model (see the module docstring).

    Options: ``ridge`` (penalty on ``b``), ``delta`` (offset of the squared-return ratios), ``long`` (the
    :data:`LONG_WINDOWS` among the inputs); ``None`` (the default) takes the frozen setting of the dataset's
    horizon (:data:`HORIZON_SETTINGS`; h = 1: ridge 3e-3, delta 0.01, no long windows),
    ``weights`` (``"rows"``: every training row counts the same; ``"assets"``: every asset does),
    ``hidden`` (0: linear; else the residual MLP's width), ``weight_decay``, ``epochs`` and ``lr``
    (the residual's AdamW), ``seed`` (its initialisation), ``tol``/``max_iter`` (Newton).
    """

    name = "pooled"
    pooled = True
    warm_start = True

    def __init__(self, ridge=None, delta=None, weights: str = "rows", hidden: int = 0,
                 weight_decay: float = 1.0, epochs: int = 200, lr: float = 1e-2, seed: int = 0, tol: float = 1e-10,
                 max_iter: int = 50, long=None):
        if ((ridge is not None and ridge < 0) or (delta is not None and delta <= 0) or hidden < 0
                or weight_decay < 0 or epochs < 0 or lr <= 0):
            raise ValueError("pooled: need ridge >= 0, delta > 0, hidden >= 0, weight_decay >= 0, "
                             "epochs >= 0, lr > 0")
        if long is not None and any(w not in LONG_WINDOWS for w in long):
            raise ValueError(f"pooled: long windows must be among {LONG_WINDOWS}, got {tuple(long)!r}")
        self.options = {"ridge": ridge, "delta": delta, "long": None if long is None else tuple(int(w) for w in long)}
        if weights not in ("rows", "assets"):
            raise ValueError(f"pooled: weights must be 'rows' or 'assets', got {weights!r}")
        self.weights = weights
        self._settle(1)   # the options, or h = 1's settings until a fit shows the horizon
        self.hidden = int(hidden)
        self.weight_decay, self.epochs, self.lr, self.seed = float(weight_decay), int(epochs), float(lr), int(seed)
        self.tol, self.max_iter = float(tol), int(max_iter)
        self.theta_ = None
        self.has_gk = None
        self.net = None
        self.assets: dict = {}
        self.history: list = []
        self._cache: dict = {}

    def _settle(self, h: int) -> None:
        """``ridge``, ``delta`` and ``long`` for horizon ``h``: the options given, else its frozen settings."""
        chosen = horizon_settings(h)
        self.ridge = float(chosen["ridge"] if self.options["ridge"] is None else self.options["ridge"])
        self.delta = float(chosen["delta"] if self.options["delta"] is None else self.options["delta"])
        self.long = tuple(chosen["long"] if self.options["long"] is None else self.options["long"])

    @property
    def coef_(self):
        """The fitted ``(a, b)`` as a Series named by input (None before the first fit)."""
        if self.theta_ is None:
            return None
        return pd.Series(self.theta_, index=["const"] + input_names(self.has_gk, self.long), name=self.name)

    # -- inputs
    def _raw(self, asset, ds) -> dict:
        key = self._cache.get(asset)
        if key is None or key[0] is not ds.returns:
            key = (ds.returns, raw_inputs(ds))
            self._cache[asset] = key
        return key[1]

    def _design(self, asset, ds, start, stop) -> np.ndarray:
        st = self.assets[asset]
        raw = self._raw(asset, ds)
        if ("gk1" in raw) != self.has_gk:
            raise ValueError(f"pooled: asset {asset!r} {'has' if 'gk1' in raw else 'lacks'} the 'gk' proxy, "
                             "unlike the assets the model was fitted on")
        first = st.begin + 1
        lo = max(start, first)
        gjr = np.full(stop - start, np.nan)
        if lo < stop:
            gjr[lo - start:] = st.gjr.predict(ds, lo, stop)
        return scaled(raw, gjr, st.L, self.delta, np.arange(start, stop), self.long)

    # -- fit
    def fit_panel(self, panel, asset_fits=None) -> "PooledForecaster":
        """Fit on every asset's rows ``begin <= t < ds.last_known(end)``, all assets together.

        ``asset_fits``: ``{asset: fit}`` from :meth:`fit_asset_chain` for this refit (phase 2 of a split run):
        each asset's GJR takes that fit instead of fitting here; the result is the same to the bit.
        """
        with lean_runtime():
            return self._fit_panel(panel, asset_fits)

    def fit_asset_chain(self, ds: Dataset, windows) -> list:
        """Phase 1 of a split run: the GJR fits that :meth:`fit_panel` would make for one asset at each of its
        refits ``windows = [(end, begin), ...]`` (in order, warm-started, on a fresh GJR as a new model does).

        Returns one entry per window: ``None`` where the asset sits out of the fit, else a small picklable
        fit ``(params, backcast, converged)`` for ``fit_panel(..., asset_fits={asset: fit})``. The assets'
        GJR chains are independent of each other and of the pooled coefficients, so they can run in parallel
        while the pooled refits (cheap Newton steps) stay one sequential chain.
        """
        gjr, out = GARCH(vol="gjr"), []
        with lean_runtime():
            for end, begin in windows:
                if _level(ds, end, begin) is None:
                    out.append(None)
                    continue
                res = gjr.fit(ds, end, begin).result
                out.append((res.params.to_numpy().copy(), float(res.backcast), bool(res.converged)))
        return out

    @staticmethod
    def _take_gjr(gjr: GARCH, fit, ds: Dataset, end: int, begin: int) -> None:
        """Give ``gjr`` the state its own ``fit(ds, end, begin)`` would have reached (see fit_asset_chain)."""
        params, bc, converged = fit
        r = np.asarray(ds.returns[begin + 1:end], dtype=float)
        gjr.result = GarchResult(np.asarray(params, dtype=float), r, bc, gjr.vol, gjr.mean)
        gjr.result.converged = bool(converged)
        gjr.begin = begin

    def _fit_panel(self, panel, asset_fits=None) -> "PooledForecaster":
        if panel:
            self._settle(int(getattr(panel[0][1], "horizon", 1)))
        Zs, ys, rows = [], [], []
        gk = None
        for asset, ds, end, begin in panel:
            stop = ds.last_known(end)
            y = np.asarray(ds.target[begin:stop], dtype=float)
            level = _level(ds, end, begin)
            if level is None:
                continue                      # no usable rows for this asset yet
            st = self.assets.setdefault(asset, _Asset())
            st.L, st.begin, st.end = level, int(begin), int(end)
            if asset_fits is None:
                st.gjr.fit(ds, end, begin)
            elif asset_fits.get(asset) is None:
                raise ValueError(f"pooled: no GJR fit given for asset {asset!r} at end {end}")
            else:
                self._take_gjr(st.gjr, asset_fits[asset], ds, end, begin)
            raw = self._raw(asset, ds)
            if gk is None:
                gk = "gk1" in raw
            elif gk != ("gk1" in raw):
                raise ValueError("pooled: some assets have the 'gk' proxy and others not")
            self.has_gk = gk
            Z = self._design(asset, ds, begin, stop)
            ok = np.isfinite(Z).all(axis=1) & np.isfinite(y)
            Zs.append(Z[ok])
            ys.append(y[ok] / st.L)
            rows.append((asset, ds, np.arange(begin, stop)[ok]))
        n = sum(len(y) for y in ys)
        if n <= 2 * (Zs[0].shape[1] if Zs else 1):
            raise ValueError(f"pooled: too few complete training rows ({n}) in the panel")
        Z, y = np.concatenate(Zs), np.concatenate(ys)
        w = None
        if self.weights == "assets":
            w = np.concatenate([np.full(len(v), n / (len(ys) * len(v))) for v in ys])
        theta0 = self.theta_ if self.theta_ is not None and self.theta_.size == Z.shape[1] else None
        self.theta_, info = newton_fit(Z, y, self.ridge, theta0, self.tol, self.max_iter, w)
        info["rows"] = int(n)
        info.update(self._fit_extra(Z, y, np.ones_like(y) if w is None else w, rows))
        self.history.append(info)
        return self

    def _fit_extra(self, Z, y, w, rows) -> dict:
        """After the linear fit: the residual net, if any (``rows``: ``[(asset, ds, day indices)]``, one entry
        per asset in the order of the rows of ``Z``). Subclasses (:mod:`.pooled_nets`) put their nets here."""
        if self.hidden > 0:
            return {"residual_loss": self._fit_residual(Z, y, w)}
        return {}

    def _extra_log(self, asset, ds, Z, start: int, stop: int):
        """What the nets add to ``ln(f / L)`` on days ``start..stop-1`` (0 without a net)."""
        if self.net is None:
            return 0.0
        with no_grad():
            return self.net(Tensor(Z[:, 1:])).data.reshape(-1)

    def _fit_residual(self, Z, y, w) -> float:
        if self.net is None:
            self.net = MLP([Z.shape[1] - 1, self.hidden, 1], rng=np.random.default_rng(self.seed))
            last = self.net.layers[-1]
            last.weight.data[...] = 0.0
        opt = AdamW(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        base = Tensor(Z @ self.theta_)
        X = Tensor(Z[:, 1:])
        loss = None
        for _ in range(self.epochs):
            s = base + self.net(X).reshape(-1)
            loss = (w * (y * (-s).exp() + s)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return float(loss.data) if loss is not None else float("nan")

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "PooledForecaster":
        return self.fit_panel([("asset", ds, end, begin)])

    # -- learning from each day (predict --update)
    def update_panel(self, panel, epochs: int = 10) -> "PooledForecaster":
        """Learn from the new days without a refit: Newton steps from the saved coefficients on each asset's
        longer window ``st.begin <= t < ds.last_known(end)`` (``panel = [(asset, ds, end), ...]``), the levels
        ``L`` and the per-asset GJR parameters held (the GJR filters the new days). The problem is convex, so the
        steps reach the optimum of the longer window from the saved ``theta`` in a few iterations. With
        ``hidden > 0`` the residual net then takes ``epochs`` AdamW epochs on the same rows."""
        if self.theta_ is None:
            raise RuntimeError("pooled: call fit or fit_panel before update_panel")
        with lean_runtime():
            Zs, ys = [], []
            for asset, ds, end in panel:
                if asset not in self.assets:
                    raise ValueError(f"pooled: cannot update asset {asset!r}: it had no training rows "
                                     f"(fitted: {', '.join(self.assets)})")
                st = self.assets[asset]
                stop = ds.last_known(end)
                st.end = max(st.end, int(end))
                y = np.asarray(ds.target[st.begin:stop], dtype=float)
                Z = self._design(asset, ds, st.begin, stop)
                ok = np.isfinite(Z).all(axis=1) & np.isfinite(y)
                Zs.append(Z[ok])
                ys.append(y[ok] / st.L)
            n = sum(len(y) for y in ys)
            Z, y = np.concatenate(Zs), np.concatenate(ys)
            w = None
            if self.weights == "assets":
                w = np.concatenate([np.full(len(v), n / (len(ys) * len(v))) for v in ys])
            self.theta_, info = newton_fit(Z, y, self.ridge, self.theta_, self.tol, self.max_iter, w)
            info.update({"rows": int(n), "update": True})
            if self.hidden > 0 and self.net is not None:
                keep = self.epochs
                self.epochs = int(epochs)
                try:
                    info["residual_loss"] = self._fit_residual(Z, y, np.ones_like(y) if w is None else w)
                finally:
                    self.epochs = keep
            self.history.append(info)
        return self

    def update(self, ds: Dataset, end: int) -> "PooledForecaster":
        """:meth:`update_panel` of the one-asset panel."""
        return self.update_panel([("asset", ds, end)])

    # -- predict
    def predict_asset(self, asset, ds: Dataset, start: int, stop: int) -> np.ndarray:
        """Forecasts (%^2) of ``ds.target[start:stop]`` for ``asset``, each from data < t."""
        if self.theta_ is None:
            raise RuntimeError("pooled: call fit or fit_panel first")
        with lean_runtime():
            return self._predict_asset(asset, ds, start, stop)

    def _predict_asset(self, asset, ds, start, stop) -> np.ndarray:
        if asset not in self.assets:
            raise ValueError(f"pooled: asset {asset!r} had no training rows (fitted: {', '.join(self.assets)})")
        st = self.assets[asset]
        if not st.begin + 1 <= start <= stop <= len(ds):
            raise ValueError(f"pooled: need {st.begin + 1} <= start <= stop <= {len(ds)}, got {start}, {stop}")
        Z = self._design(asset, ds, start, stop)
        bad = ~np.isfinite(Z).all(axis=1)
        if bad.any():
            raise ValueError(f"pooled: day {start + int(np.flatnonzero(bad)[0])} of {asset!r} has no full "
                             f"{max(WINDOWS + self.long)}-day history")
        s = Z @ self.theta_ + self._extra_log(asset, ds, Z, start, stop)
        return st.L * np.exp(s)

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        return self.predict_asset("asset", ds, start, stop)

    # -- persistence
    def get_state(self):
        """``(arrays, meta)``: numeric arrays and a JSON-ready dict; a model built with the same options
        and given them by :meth:`set_state` forecasts exactly as this one (options are not part of the state)."""
        if self.theta_ is None:
            raise RuntimeError("pooled: nothing to save before the first fit")
        names = list(self.assets)
        arrays = {"theta": self.theta_.copy(),
                  "gjr_params": np.array([self.assets[a].gjr.result.params.to_numpy() for a in names]),
                  "levels": np.array([[self.assets[a].L, self.assets[a].gjr.result.backcast] for a in names]),
                  "windows": np.array([[self.assets[a].begin, self.assets[a].end] for a in names], dtype=np.int64)}
        if self.net is not None:
            arrays.update({f"net__{k}": v.copy() for k, v in self.net.state_dict().items()})
        meta = {"model": self.name, "has_gk": bool(self.has_gk), "assets": [str(a) for a in names],
                "hidden": self.hidden, "delta": self.delta, "long": list(self.long)}
        return arrays, meta

    def set_state(self, arrays: dict, meta: dict) -> "PooledForecaster":
        """Restore :meth:`get_state`'s output (:class:`~..base.StateError` naming what does not fit)."""
        if meta.get("model") != self.name:
            raise StateError(f"pooled: the saved state is of model {meta.get('model')!r}")
        if int(meta.get("hidden", 0)) != self.hidden:
            raise StateError(f"pooled: the saved state has hidden={meta.get('hidden')}, this model {self.hidden}")
        has_gk, names = bool(meta.get("has_gk")), list(meta.get("assets", []))
        if "delta" in meta:       # the settings the saved model was fitted with (its horizon's)
            self.delta, self.long = float(meta["delta"]), tuple(int(w) for w in meta.get("long", []))
        k = 1 + len(input_names(has_gk, self.long))
        theta = state_array(arrays, "theta", (k,), self.name).astype(float)
        params = state_array(arrays, "gjr_params", (len(names), 5), self.name).astype(float)
        levels = state_array(arrays, "levels", (len(names), 2), self.name).astype(float)
        windows = state_array(arrays, "windows", (len(names), 2), self.name)
        self.theta_, self.has_gk, self.assets = theta.copy(), has_gk, {}
        for i, asset in enumerate(names):
            st = self.assets[asset] = _Asset()
            st.L, (st.begin, st.end) = float(levels[i, 0]), (int(windows[i, 0]), int(windows[i, 1]))
            st.gjr.begin = st.begin
            st.gjr.result = GarchResult(params[i].astype(float), np.zeros(1), float(levels[i, 1]), "gjr", "constant")
        net = {k[5:]: v for k, v in arrays.items() if k.startswith("net__")}
        self.net = None
        if self.hidden > 0:
            self.net = MLP([theta.size - 1, self.hidden, 1], rng=np.random.default_rng(self.seed))
            self.net.load_state_dict(net)
        return self

    def fitted_params(self) -> pd.Series:
        coef = self.coef_
        return pd.Series(dtype=float, name="params") if coef is None else coef.copy()
