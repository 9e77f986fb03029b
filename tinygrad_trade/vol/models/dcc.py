"""A book of assets: DCC(1,1) and CCC correlations fitted in two steps by quasi-maximum likelihood.

    from tinygrad_trade.vol.models.dcc import DCC, CCC, align_prices
    returns = align_prices(frames)                     # {asset: price frame} -> % log returns, common days
    res = DCC(vol="gjr", dist="normal").fit(returns)   # a DCCResult (see dcc_result.py)
    res.params, res.std_err, res.loglikelihood, res.summary()
    res.conditional_correlations, res.conditional_covariances, res.forecast(10)

Why two steps (Engle 2002): the joint log-likelihood splits into the marginals' part, which depends
only on each asset's GARCH parameters, and a correlation part. Step one fits each asset's
GARCH(1,1) or GJR-GARCH(1,1,1) with a constant mean by Gaussian QML (the project's
:func:`~tinygrad_trade.vol.models.garch.fit_garch`, arch's conventions); step two fits the DCC(1,1)
correlation recursion with correlation targeting (``Qbar = cov2cor(z'z/T)`` of the standardised
residuals ``z``, as rmgarch and pymgarch) by maximum likelihood of ``z``: Gaussian, or the
multivariate Student t with unit variances and nu estimated (``dist="t"``; the marginals stay Gaussian
QML, which is consistent for their variance parameters under any error distribution).

Step two maximises the likelihood with SLSQP (``a, b >= 0``, ``a + b <= 1 - 1e-6``) using the
engine's gradient: the likelihood is the custom op
:class:`~tinygrad_trade.vol.models.dcc_kernels.DCCLogLik` (a fused recursion with its reverse pass
written beside it), differentiated by :func:`tinygrad_trade.graph.grad`.

Large books: ``method="auto"`` (the default) uses the full N-dimensional likelihood up to
``FULL_MAX_ASSETS`` assets and above that the composite likelihood over pairs of Engle, Shephard and
Sheppard (2008) (``method="composite"``; ``pairs="contiguous"``, the default, (1,2), (2,3), ... as they
recommend, or ``"all"``). A composite fit still
reports the full model's joint log-likelihood at its estimate.

Bad input raises a :class:`DCCInputError` (a ValueError) with one line: fewer than ``min_days``
(500) common days, a non-numeric or non-finite value, a non-positive-definite correlation target
(two identical series), fewer than two assets.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import minimize, minimize_scalar

from ...graph import grad
from ...tensor import Tensor
from .dcc_kernels import (DISTS, ConstantKernel, DCCLogLik, FullKernel, PairKernel, correlation_target,
                          pair_list)
from .dcc_result import DCCPath, DCCResult, standardised
from .garch import fit_garch

__all__ = ["DCC", "CCC", "align_prices", "check_returns", "walk_forward", "simulate_dcc", "DCCInputError",
           "TooFewDaysError", "NonNumericError", "NotPositiveDefiniteError", "MIN_DAYS", "FULL_MAX_ASSETS", "METHODS"]

MARGINAL_VOLS = ("garch", "gjr")   # the marginals DCC filters (EGARCH's log-variance recursion is not one of them)

MIN_DAYS = 500
FULL_MAX_ASSETS = 20       # method="auto": the full likelihood up to this many assets, composite above
METHODS = ("auto", "full", "composite")
_A_B_MAX = 1.0 - 1e-6
_STARTS = ((0.01, 0.97), (0.02, 0.95), (0.03, 0.95), (0.05, 0.90), (0.10, 0.80))


class DCCInputError(ValueError):
    """Input a DCC/CCC fit cannot use; the message is one line naming the problem and the fix."""


class TooFewDaysError(DCCInputError):
    """Fewer common days of returns than ``min_days``."""


class NonNumericError(DCCInputError):
    """A value that is not a finite number."""


class NotPositiveDefiniteError(DCCInputError):
    """The correlation target is singular, e.g. two identical series."""


# --------------------------------------------------------------------------- data

def _price_series(name, obj) -> pd.Series:
    if isinstance(obj, pd.Series):
        s = obj
    elif isinstance(obj, pd.DataFrame):
        cols = {str(c).lower().replace(" ", "_"): c for c in obj.columns}
        key = next((cols[k] for k in ("adj_close", "adjclose", "close") if k in cols), None)
        if key is None:
            raise DCCInputError(f"asset {name!r}: no close or adj_close column in its price frame")
        s = obj[key]
    else:
        raise DCCInputError(f"asset {name!r}: expected a price DataFrame or Series, got {type(obj).__name__}")
    values = pd.to_numeric(s, errors="coerce")
    bad = values.isna() & s.notna()
    if bad.any():
        raise NonNumericError(f"asset {name!r}: price {s[bad].iloc[0]!r} on {s.index[bad][0]} is not a number")
    values = values.dropna()
    if (values <= 0).any():
        raise NonNumericError(f"asset {name!r}: non-positive price on {values.index[values <= 0][0]}")
    if not values.index.is_unique:
        raise DCCInputError(f"asset {name!r}: date {values.index[values.index.duplicated()][0]} appears twice")
    return values.astype(float)


def align_prices(frames) -> pd.DataFrame:
    """% log returns of several assets on the dates every asset has.

    ``frames``: ``{asset: price frame or Series}`` (a frame's ``adj_close``, else ``close``) or a wide
    DataFrame of prices (NaN where an asset has no price). Prices are aligned on the common dates first
    and returns computed from the aligned prices, ``100 ln(P_t / P_prev)``, so a return spans the days
    since the previous common date. One column per asset, the first common date dropped.
    """
    if isinstance(frames, pd.DataFrame):
        frames = {c: frames[c] for c in frames.columns}
    if not isinstance(frames, Mapping) or not frames:
        raise DCCInputError("align_prices needs a non-empty {asset: prices} mapping or a price DataFrame")
    prices = {str(k): _price_series(k, v) for k, v in frames.items()}
    px = pd.concat(prices, axis=1, join="inner").sort_index()
    if len(px) < 2:
        raise TooFewDaysError(f"the assets {', '.join(prices)} have {len(px)} date(s) in common; "
                              "need overlapping histories")
    r = 100.0 * np.log(px).diff().iloc[1:]
    r.columns = list(prices)
    return r


def check_returns(returns, min_days: int = MIN_DAYS) -> tuple[np.ndarray, list, pd.Index]:
    """``(array (T, N), names, index)`` from a returns frame or array, or a :class:`DCCInputError`."""
    if isinstance(returns, pd.DataFrame):
        frame = returns
    else:
        arr = np.asarray(returns)
        if arr.ndim != 2:
            raise DCCInputError(f"returns must be a (days x assets) table, got {arr.ndim} dimension(s)")
        frame = pd.DataFrame(arr, columns=[f"y{i}" for i in range(arr.shape[1])])
    names = [str(c) for c in frame.columns]
    if len(names) < 2:
        raise DCCInputError(f"a book needs at least two assets, got {len(names)}")
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise DCCInputError(f"asset {dup!r} appears twice in the returns; rename one column")
    cols = []
    for name, col in zip(names, frame.columns):
        s = frame[col]
        v = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_numeric_dtype(s) else s
        v = np.asarray(v, dtype=float)
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NonNumericError(f"asset {name!r}: return {s.iloc[i]!r} on {frame.index[i]} is not a finite number;"
                                  " align the assets on common days first (align_prices)")
        cols.append(v)
    x = np.column_stack(cols)
    T = x.shape[0]
    if T < min_days:
        raise TooFewDaysError(f"only {T} common days of returns for {', '.join(names)}; a DCC fit needs at least "
                              f"{min_days} (give longer histories, or lower min_days)")
    sd = x.std(axis=0)
    if np.any(sd == 0):
        raise DCCInputError(f"asset {names[int(np.argmin(sd))]!r} has constant returns: nothing to fit")
    _check_pd(np.corrcoef(x.T), names, "returns")
    return x, names, frame.index


def _check_pd(C: np.ndarray, names, what: str) -> None:
    if np.linalg.eigvalsh(C)[0] > 1e-10:
        return
    off = np.abs(C - np.eye(len(names)))
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    raise NotPositiveDefiniteError(
        f"the correlation target is not positive definite: assets {names[i]!r} and {names[j]!r} have "
        f"{what} correlated at {C[i, j]:.6f} (duplicate series?); drop one of them")


# --------------------------------------------------------------------------- fitting

def _fit_marginals(x, vol, names, start) -> list:
    kw = {}
    if "dist" in inspect.signature(fit_garch).parameters:
        kw["dist"] = "normal"          # two-step QML: Gaussian marginals whatever the joint density
    fits = []
    for i, name in enumerate(names):
        st = None
        if start is not None and name in start.names:
            st = start.marginals[start.names.index(name)].params
        fits.append(fit_garch(x[:, i], vol=vol, mean="constant", start=st, hessian="sensitivity", **kw))
    return fits


def _given_marginals(marginals, x, names, vol) -> list:
    fits = list(marginals)
    if len(fits) != len(names):
        raise DCCInputError(f"{len(fits)} fitted marginals for {len(names)} assets; give one per column")
    for i, (m, name) in enumerate(zip(fits, names)):
        r = getattr(m, "returns", None)
        if r is None or getattr(m, "vol", None) != vol or getattr(m, "mean", None) != "constant":
            raise DCCInputError(f"marginal of {name!r}: expected a constant-mean {vol} fit_garch result")
        if r.shape != x[:, i].shape or not np.array_equal(r, x[:, i]):
            raise DCCInputError(f"marginal of {name!r} was fitted on other returns than its column")
    return fits


def _kernel(z, qbar, dist, method, pairs):
    if method == "full":
        return FullKernel(z, qbar, dist)
    return PairKernel(z, qbar, dist, pair_list(z.shape[1], pairs))


def _neg_loglik(x, kernel, scale):
    theta = Tensor(np.asarray(x, dtype=float), requires_grad=True)
    L = DCCLogLik.apply(theta, kernel.z, kernel=kernel)
    val = L.item()
    if not np.isfinite(val):
        return 1e300, np.zeros_like(x)
    return -val * scale, -np.asarray(grad(L, theta), dtype=float) * scale


def _fit_stage2(kernel, x0, options):
    k = kernel.k
    scale = 1.0 / kernel.T
    if x0 is None:
        cands = [np.array([a, b] + ([8.0] if k == 3 else [])) for a, b in _STARTS]
        x0 = max(cands, key=lambda c: kernel.evaluate(c).total)
    bounds = [(0.0, 0.999), (0.0, 0.999)] + ([(2.05, 300.0)] if k == 3 else [])
    row = np.array([1.0, 1.0] + [0.0] * (k - 2))
    cons = [{"type": "ineq", "fun": lambda x: _A_B_MAX - row @ x, "jac": lambda x: -row}]
    opts = {"ftol": 1e-13, "maxiter": 300}
    opts.update(options or {})
    opt = minimize(_neg_loglik, x0, args=(kernel, scale), jac=True, method="SLSQP", bounds=bounds,
                   constraints=cons, options=opts)
    x = np.asarray(opt.x, dtype=float)
    for i, (lo, hi) in enumerate(bounds):
        x[i] = min(max(x[i], lo), hi)
    if x[0] + x[1] > _A_B_MAX:
        x[:2] *= _A_B_MAX / (x[0] + x[1])
    return x, opt


def _valid_start(start, k, names):
    if start is None or getattr(start, "model", None) != "DCC" or list(start.names) != list(names):
        return None
    x = np.asarray(start.psi, dtype=float)
    if x.size != k or not np.all(np.isfinite(x)) or x[0] < 0 or x[1] < 0 or x[0] + x[1] >= _A_B_MAX:
        return None
    return x


class DCC:
    """Engle's (2002) scalar DCC(1,1) with correlation targeting, fitted in two steps.

    ``vol``: the marginals, ``"garch"`` (GARCH(1,1)) or ``"gjr"`` (GJR-GARCH(1,1,1)), constant mean.
    ``dist``: the joint density of the standardised residuals, ``"normal"`` or ``"t"`` (nu estimated).
    ``method``: ``"auto"`` (full up to ``FULL_MAX_ASSETS`` assets, composite above), ``"full"`` or
    ``"composite"``; ``pairs``: the composite likelihood's pairs, ``"contiguous"`` (default) or ``"all"``.
    ``min_days``: the fewest common days accepted. ``options`` go to SLSQP.
    """

    model = "DCC"

    def __init__(self, vol: str = "garch", dist: str = "normal", method: str = "auto", pairs: str = "contiguous",
                 min_days: int = MIN_DAYS, options: dict | None = None):
        if vol not in MARGINAL_VOLS:
            raise DCCInputError(f"vol must be one of {', '.join(MARGINAL_VOLS)}, got {vol!r}")
        if dist not in DISTS:
            raise DCCInputError(f"dist must be one of {', '.join(DISTS)}, got {dist!r}")
        if method not in METHODS:
            raise DCCInputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
        if pairs not in ("all", "contiguous"):
            raise DCCInputError(f"pairs must be 'all' or 'contiguous', got {pairs!r}")
        self.vol, self.dist, self.method, self.pairs = vol, dist, method, pairs
        self.min_days, self.options = int(min_days), options

    def _method(self, n: int) -> str:
        if self.method == "auto":
            return "full" if n <= FULL_MAX_ASSETS else "composite"
        return self.method

    def _marginals(self, returns, start, marginals=None):
        x, names, index = check_returns(returns, self.min_days)
        if marginals is None:
            fits = _fit_marginals(x, self.vol, names, start)
        else:
            fits = _given_marginals(marginals, x, names, self.vol)
        z = standardised(fits)
        qbar = correlation_target(z)
        _check_pd(qbar, names, "standardised residuals")
        return x, names, index, fits, z, qbar

    def fit(self, returns, start: DCCResult | None = None, marginals=None) -> DCCResult:
        """Fit on a (days x assets) frame of % returns on common days (see :func:`align_prices`).

        ``start``: a previous :class:`DCCResult` on the same assets; its parameters start the
        optimisers (a walk-forward refit is then a few iterations). ``marginals``: step one done
        elsewhere (e.g. as parallel tasks), one ``fit_garch(returns[c], vol=..., mean="constant")``
        result per column, in column order; they must be fits of exactly these returns.
        """
        x, names, index, fits, z, qbar = self._marginals(returns, start, marginals)
        method = self._method(len(names))
        kernel = _kernel(z, qbar, self.dist, method, self.pairs)
        psi, opt = _fit_stage2(kernel, _valid_start(start, kernel.k, names), self.options)
        return DCCResult("DCC", names, index, self.vol, self.dist, fits, psi, qbar, kernel, opt,
                         pairs=self.pairs if method == "composite" else None)


class CCC(DCC):
    """Bollerslev's (1990) constant conditional correlation, the same two steps with ``R_t = Qbar``.

    With ``dist="t"`` nu is fitted by one-dimensional maximum likelihood at the fixed correlation.
    """

    model = "CCC"

    def __init__(self, vol: str = "garch", dist: str = "normal", min_days: int = MIN_DAYS,
                 options: dict | None = None):
        super().__init__(vol=vol, dist=dist, min_days=min_days, options=options)

    def fit(self, returns, start: DCCResult | None = None, marginals=None) -> DCCResult:
        x, names, index, fits, z, qbar = self._marginals(returns, start, marginals)
        kernel = ConstantKernel(z, qbar, self.dist)
        psi, opt = np.zeros(0), None
        if self.dist == "t":
            opt = minimize_scalar(lambda v: -kernel.evaluate([v]).total, bounds=(2.05, 300.0), method="bounded",
                                  options={"xatol": 1e-8})
            psi = np.array([float(opt.x)])
        return DCCResult("CCC", names, index, self.vol, self.dist, fits, psi, qbar, kernel, opt)


# --------------------------------------------------------------------------- walk-forward

def walk_forward(returns: pd.DataFrame, model: DCC | None = None, first: int = 1000, refit_every: int = 21,
                 window: int | None = None, marginals=None) -> tuple[DCCPath, list]:
    """Out-of-sample one-day-ahead covariances of a book, refitting every ``refit_every`` days.

    For each block ``[end, stop)`` (``end = first, first + refit_every, ...``) the model is fitted on
    rows ``[begin, end)`` (``begin = 0``, or ``end - window`` for a rolling window), warm-started from
    the previous fit, and run with those parameters fixed over rows ``[begin, stop)``
    (:meth:`DCCResult.filter`); the rows ``[end, stop)`` are kept, so day t's covariance uses returns
    before t only. Returns ``(path, fits)``: a :class:`DCCPath` over rows ``first..T-1`` (its
    ``next_*`` is tomorrow's forecast from the last fit) and the list of fits, one per block.
    ``marginals[i][k]``: asset i's GARCH fit of block k, given (a book's marginals fitted once for DCC and
    CCC), else fitted inside ``model.fit``.
    """
    model = DCC() if model is None else model
    if not isinstance(returns, pd.DataFrame):
        raise DCCInputError("walk_forward needs a DataFrame of returns (see align_prices)")
    T = len(returns)
    if refit_every < 1:
        raise DCCInputError(f"refit_every must be a positive number of days, got {refit_every}")
    if not model.min_days <= first < T:
        raise DCCInputError(f"first must be between min_days ({model.min_days}) and the number of days - 1 "
                            f"({T - 1}), got {first}")
    parts, fits, prev = [], [], None
    for k, end in enumerate(range(first, T, refit_every)):
        stop = min(end + refit_every, T)
        begin = 0 if window is None else max(0, end - window)
        given = None if marginals is None else [m[k] for m in marginals]
        prev = model.fit(returns.iloc[begin:end], start=prev, marginals=given)
        fits.append(prev)
        parts.append((prev.filter(returns.iloc[begin:stop]), end - begin))

    def cat(attr):
        return np.concatenate([getattr(p, attr)[k:] for p, k in parts])
    last = parts[-1][0]
    return DCCPath(returns.index[first:], list(last.names), cat("variances"), cat("correlations"),
                   cat("covariances"), cat("std_resid"), last.next_variances, last.next_correlation,
                   last.next_covariance), fits


# --------------------------------------------------------------------------- simulation

def simulate_dcc(rng: np.random.Generator, nobs: int, a: float, b: float, corr, marginals, dist: str = "normal",
                 nu: float | None = None, burn: int = 500, names=None) -> dict:
    """Simulate % returns from a DCC(1,1) with GJR/GARCH marginals (constant mean).

    ``corr``: the target ``Qbar`` (N, N); ``marginals``: one dict per asset with ``mu``, ``omega``,
    ``alpha``, ``beta`` and optionally ``gamma``. The shocks are ``z_t = chol(R_t) e_t``, ``e_t`` iid
    standard normal, or Student t scaled to unit variance (``dist="t"``, ``nu > 2``). Returns
    ``{"returns": DataFrame (nobs, N), "correlations": (nobs, N, N), "variances": (nobs, N)}``.
    """
    qbar = np.asarray(corr, dtype=float)
    N = qbar.shape[0]
    if len(marginals) != N:
        raise ValueError(f"{len(marginals)} marginals for a {N} x {N} correlation target")
    if dist == "t" and (nu is None or nu <= 2):
        raise ValueError("dist='t' needs nu > 2")
    mu = np.array([m.get("mu", 0.0) for m in marginals])
    om = np.array([m["omega"] for m in marginals])
    al = np.array([m["alpha"] for m in marginals])
    ga = np.array([m.get("gamma", 0.0) for m in marginals])
    be = np.array([m["beta"] for m in marginals])
    total = nobs + burn
    s = om / (1.0 - al - 0.5 * ga - be)
    Q = qbar.copy()
    e_prev = np.zeros(N)
    z_prev = None
    out_r, out_R, out_s = np.empty((total, N)), np.empty((total, N, N)), np.empty((total, N))
    for t in range(total):
        if z_prev is not None:
            Q = (1.0 - a - b) * qbar + a * np.outer(z_prev, z_prev) + b * Q
            s = om + (al + ga * (e_prev < 0)) * e_prev ** 2 + be * s
        d = 1.0 / np.sqrt(np.diag(Q))
        R = Q * np.outer(d, d)
        eps = rng.standard_normal(N)
        if dist == "t":
            eps *= np.sqrt((nu - 2.0) / rng.chisquare(nu))
        z = np.linalg.cholesky(R) @ eps
        e_prev = np.sqrt(s) * z
        z_prev = z
        out_r[t], out_R[t], out_s[t] = mu + e_prev, R, s
    names = list(names) if names is not None else [f"y{i}" for i in range(N)]
    index = pd.bdate_range("2000-01-03", periods=nobs)
    return {"returns": pd.DataFrame(out_r[burn:], index=index, columns=names),
            "correlations": out_R[burn:], "variances": out_s[burn:]}
