"""Neural volatility forecasters (MLP and GRU) on HAR-type features, trained on QLIKE with Adam.

Both predict the log-variance ``s_t`` of ``ds.target[t]`` from data of days ``<= t-1`` and forecast
``f_t = mean_k exp(s_t^(k))`` over an ensemble of ``K`` nets (averaged in variance space).

Inputs (row ``t``, every column computed from days ``<= t-1``; :func:`har_inputs`)::

    ln PK_w    log of the Parkinson variance averaged over w = 1, 5, 22 days (floored at 1e-4 %^2)
    ln R2_w    log(mean of r^2 over w days + 0.1 %^2)   (the offset tames days with r ~ 0)
    neg_w      mean of min(r, 0) over w days            (the leverage term, %)

standardised with a :class:`~tinygrad_trade.vol.features.StandardScaler` fitted on the training rows
only. The GRU also reads the last ``L`` days one by one (``ln PK_d``, ``ln(r_d^2 + 0.1)``,
``min(r_d, 0)`` of days ``t-L .. t-1``; :func:`daily_inputs`).

Model (``skip="har"``, the default)::

    s(x) = a + b * ln f_HAR(x) + c . x + g(x)      g = MLP(x)  or  head(GRU(last L days))

``f_HAR`` is the HAR-PK forecast (OLS of the target on Parkinson variance averaged over 1/5/22 days,
floored at 1e-3, exactly :class:`~tinygrad_trade.vol.models.har.HAR`) fitted on the same rows as the
net. ``(a, b, c)`` start at ``(0, 1, 0)`` and ``g``'s last layer at zero, so **at initialisation the
forecast is the HAR-PK forecast** and QLIKE training only moves it where the training data say so.
``skip="linear"`` drops the HAR term (``a`` starts at the log of the mean target, ``c`` at 0);
``skip=None`` is a plain net ``s = a + g(x)`` (standard init of every layer).

Training (``fit(ds, end, begin)``): the rows ``begin <= t < ds.last_known(end)`` with complete
inputs; the last ``val_frac`` (20%) of them, after a gap of ``horizon - 1`` rows, are a chronological
validation slice. Full-batch Adam on QLIKE (``loss="qlike"``: ``mean(y e^-s + s)``) or on the squared
error of the log-variance (``loss="mse_log"``: ``mean((s - ln max(y, 1e-4))^2)``, whose forecasts
are then rescaled by the QLIKE-optimal constant ``mean(y e^-s)`` of the training rows, since
``E ln y`` is far below ``ln E y`` for a squared return). Early stopping per ensemble member on the
validation loss (patience ``patience`` epochs; the best weights, the starting point included, are
restored). The ``K`` members are trained together as one batched net: every parameter has a
leading member axis and the loss is the mean of the members' losses, so (Adam being elementwise)
each member follows exactly its own Adam trajectory. Member ``k`` is initialised from
``numpy.random.default_rng(seed + k)``; nothing else is random, so a fit is reproducible.

Warm start (``warm_start=True``): the first fit trains up to ``epochs`` epochs, later fits continue
from the previous weights (and Adam state) for up to ``refit_epochs``. When the scaler is refitted on
the new rows, the first affine layer (``c``, ``a`` and the MLP's / GRU's input weights) is rewritten so
that the net computes exactly the same function as before the refit. The walk-forward runs such a
model's blocks in order on one instance (``warm_start`` is the attribute it reads).

Numerics: training runs in float32 (``dtype``; numpy's float32 transcendental functions are several
times faster); forecasts are computed in float64 from the trained weights. The GRU's recurrence is
one fused :class:`~tinygrad_trade.tensor.CustomOp` (:class:`GRUSequence`, PyTorch's GRU equations,
backpropagation through time in numpy) because ~200 small graph nodes per epoch would dominate the
run time; its gradients are checked against finite differences and against ``nn.GRU`` in the tests.

Defaults. MLP: ReLU, 16 hidden units, 5 members, weight decay 1.0 (decoupled, on the residual net
only: the skip path is never decayed), Adam lr 0.01, 300 epochs (patience 30) then 30 per warm
refit (patience 10). GRU: lookback 15 days, 8 hidden units, 3 members, weight decay 1.0, lr 0.01,
200 epochs (patience 20) then 10 per warm refit (patience 8). ``quick=True``: 2 members and few
epochs (tests).

MEASUREMENTS (S&P 500 of ``vol.data.load_sp500``, target r^2, refit every 21 days, expanding window)

Hyper-parameters were chosen on data before 2008 only: a pseudo-out-of-sample walk-forward that
forecasts 2004-01-02..2007-12-31 (1,006 days, fits from 1999 on), where HAR-PK scores QLIKE 0.3679.
Gains over HAR-PK there (two or three seeds each):

- MLP, skip="har": tanh residual 0..+13% (without weight decay it over-fits: in the first fit the
  training loss falls 1.55 -> 1.21 while the validation loss rises 0.97 -> 1.65, and the walk-forward
  only matches HAR, -0.3%); ReLU residual +13..+17% for every hidden (8, 16) x weight decay
  (0.3, 1, 3) x lr (0.003, 0.01) tried: ReLU, the middle of that plateau, 5 members (+15.6%, +16.0%).
  skip="linear" +12..+14%, skip=None +7..+12%, loss="mse_log" +10..+13%, the skip path alone
  (hidden=0) +8.7%, refitting from scratch instead of warm starts +14% at 8x the time.
- GRU: weight decay 1 beat 0 on average at every lookback; lookback 15 (+12..+16%) beat 10 (+9..+11%); 22 was
  about as good as 15 (+14%, +16%) at twice the cost (over the time budget); 10 epochs per warm refit
  were as good as 20.

Walk-forward 2008-01-02..2018-12-31 (2,769 days, 132 fits, seed 0), run once with those defaults::

    model   QLIKE    vs HAR-PK   MSE     MZ R^2   DM t (QLIKE, vs HAR)
    har     0.8211      --       24.42   0.267
    mlp     0.8380    -2.07%     35.28   0.344    +0.67
    gru     0.8312    -1.24%     20.50   0.417    +0.46

The goal (QLIKE 2% below HAR-PK) is NOT met: both nets are slightly worse than HAR-PK (not
significantly). By year the MLP is better in 2009-2012, 2014, 2015 and 2017 and worse in 2008, 2013,
2016 and 2018 (the GRU likewise, but also worse in 2014). Diagnosis (after the fact; nothing was changed because of it): the loss comes from a few
shocks after calm spells. On the 18 days with ``y > 10 f_HAR`` (2016-06-24, 2018-02-05, 2018-12-04,
2015-08-24, ...) the MLP's summed QLIKE loss exceeds HAR's by 78; on the other 2,751 days it is 31
lower (-0.011 a day, about 1.4% of HAR's QLIKE). A QLIKE-trained log-linear forecast sits lower than
the level HAR (whose intercept acts as a floor) in calm regimes (2017: smallest MLP forecast 0.078,
HAR 0.122), and QLIKE punishes under-prediction before a shock hard. The skip path alone
(hidden=0) shows the same (-0.9%), so it is not the hidden layer. The 2004-2007 selection window
had too few such shocks to show it.

The 2008 pitfall (fit on data to 2007-12-31, forecast 2008-07-01..2008-12-31 without refitting;
mean target 11.47; seeds 0 and 1; test ``test_2008_a_saturating_net_without_linear_path_under_predicts``):

    (a) tanh net, no skip             QLIKE 3.419, 3.448   mean forecast 4.85   largest 14.2 (saturated)
    (b) skip="har" (the default)      QLIKE 3.202, 3.220   mean forecast 20.8   largest 157
        tanh net with skip="har"      QLIKE 3.155, 3.151   mean forecast 14.6   largest 84
        HAR-PK                        QLIKE 3.177          mean forecast 8.52   largest 28.2

With refits every 21 days through 2008 the picture holds: 2008 H2 QLIKE 3.340 for (a) (mean forecast
5.43, largest 18.0) against 3.196 for (b) and 3.173 for HAR-PK.

Run time of the full walk-forward (132 fits, one process, 2-core machine otherwise idle): mlp 3.3 s
(2,272 epochs in all, the first fit 139), gru 19.9 s (1,371 epochs, the first fit 167); the whole
``tinygrad-trade demo`` (ewma, garch, gjr, har, mlp, gru; 2 workers) 26 s.
"""
from __future__ import annotations

import ctypes
import math
import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
from threadpoolctl import threadpool_limits

from ...graph import no_grad
from ...nn.modules import Module
from ...optim import Adam, AdamW, NonFiniteError, check_finite
from ...tensor import CustomOp, Tensor
from ..base import Dataset, Forecaster
from ..features import StandardScaler, chronological_split, har_features
from .har import FLOOR, fit_har, har_design

__all__ = ["MLPForecaster", "GRUForecaster", "GRUSequence", "har_inputs", "daily_inputs",
           "SKIPS", "LOSSES", "R2_OFFSET"]

SKIPS = ("har", "linear", None)
LOSSES = ("qlike", "mse_log")
SKIP_PARAMS = ("a", "b", "c")
WINDOWS = (1, 5, 22)
R2_OFFSET = 0.1          # %^2 added to squared returns before the log (a 0.3% daily move)
LOG_FLOOR = 1e-4         # %^2, floor of other proxies before the log (as vol.features.har_features)
S_CLIP = 50.0            # log-variances are clipped to [-50, 50] (as nn.losses.qlike)


# ------------------------------------------------------------------------------------ runtime
# Small-matrix training is dominated by two process-level effects (measured on 2 busy cores):
# multi-threaded OpenBLAS spinning on matrices of a few thousand rows (one GRU backward: 1.3 s
# instead of 10 ms; one MLP step 25 ms instead of 4.6 ms) and glibc returning freed heap memory
# to the system after every step, so that the next step page-faults it back (4.6 ms -> 1.2 ms per
# MLP step without it). ``lean_runtime`` fixes both: OpenBLAS runs one thread while a model fits or
# predicts (restored afterwards), and, once per process, glibc keeps up to 256 MB of freed memory
# (M_TRIM_THRESHOLD) and serves blocks up to 32 MB from the heap (M_MMAP_THRESHOLD). Neither
# changes any result. Pass ``lean=False`` to a forecaster to leave the process alone.
_MALLOC_TUNED = False


def _tune_malloc() -> None:
    global _MALLOC_TUNED
    if _MALLOC_TUNED or not sys.platform.startswith("linux"):
        return
    _MALLOC_TUNED = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 << 20)      # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 << 20)     # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


@contextmanager
def lean_runtime(enabled: bool = True):
    """Single-threaded BLAS inside the block (restored after, via threadpoolctl) and, once, glibc heap tuning.

    Inside a walk-forward task (``walkforward.one_blas_thread``) BLAS is pinned already: nothing more is done
    (threadpoolctl scans the process's libraries on every call, ~2 ms, more than many a forecast costs)."""
    if not enabled:
        yield
        return
    _tune_malloc()
    from ..walkforward import blas_pinned
    if blas_pinned():
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ------------------------------------------------------------------------------------ inputs
def _lag(a: np.ndarray) -> np.ndarray:
    out = np.full(a.shape, np.nan)
    out[1:] = a[:-1]
    return out


def _log_proxy(x: np.ndarray, name: str) -> np.ndarray:
    return np.log(x + R2_OFFSET) if name == "r2" else np.log(np.maximum(x, LOG_FLOOR))


def _choose_proxies(ds: Dataset, proxies):
    if proxies is None:
        proxies = tuple(p for p in ("parkinson", "r2") if p in ds.proxies) or (ds.target_name,)
    missing = [p for p in proxies if p not in ds.proxies]
    if missing:
        raise ValueError(f"the dataset has no proxy {missing[0]!r} (has {', '.join(ds.proxies)})")
    return tuple(proxies)


def _choose_leverage(ds: Dataset, leverage) -> bool:
    if leverage is None:
        return bool(np.isfinite(ds.returns).sum() > 1)
    if leverage and not np.isfinite(ds.returns).sum() > 1:
        raise ValueError("leverage=True needs daily returns, and the dataset has none")
    return bool(leverage)


def har_inputs(ds: Dataset, proxies=None, leverage=None, windows=WINDOWS):
    """``(names, X)``: HAR-type inputs, ``X[t]`` from days ``<= t-1`` (NaN until the windows are full).

    For each proxy (default ``"parkinson"`` and ``"r2"``) the log of its mean over each window
    (``ln(mean + 0.1)`` for ``"r2"``, ``ln max(mean, 1e-4)`` otherwise), then with ``leverage`` (default:
    when the dataset has returns) the mean of ``min(r, 0)`` over each window.
    """
    proxies = _choose_proxies(ds, proxies)
    cols, names = [], []
    for p in proxies:
        m = har_features(np.asarray(ds.proxies[p], dtype=float), windows=windows).to_numpy()
        cols.append(_log_proxy(m, p))
        names += [f"ln_{p}_{w}" for w in windows]
    if _choose_leverage(ds, leverage):
        cols.append(har_features(np.minimum(np.asarray(ds.returns, dtype=float), 0.0), windows=windows).to_numpy())
        names += [f"neg_{w}" for w in windows]
    return names, _lag(np.concatenate(cols, axis=1))


def daily_inputs(ds: Dataset, proxies=None, leverage=None):
    """``(names, D)``: per-day inputs of the GRU, ``D[d]`` of day ``d`` itself (not lagged; the window
    of row ``t`` is ``D[t-L:t]``): the log of each proxy and ``min(r_d, 0)``."""
    proxies = _choose_proxies(ds, proxies)
    cols = [_log_proxy(np.asarray(ds.proxies[p], dtype=float), p) for p in proxies]
    names = [f"ln_{p}" for p in proxies]
    if _choose_leverage(ds, leverage):
        cols.append(np.minimum(np.asarray(ds.returns, dtype=float), 0.0))
        names.append("neg")
    return names, np.column_stack(cols)


# ------------------------------------------------------------------------------------ the GRU op
def _sigmoid_(a):
    """In place: ``a = sigmoid(a) = 0.5 (1 + tanh(a / 2))`` (stable; numpy's float32 tanh is fast)."""
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class GRUSequence(CustomOp):
    """Last hidden state of a batched ensemble of one-layer GRUs run over a window, in one op.

    ``GRUSequence.apply(X, W_ih, W_hh, b_ih, b_hh)`` with ``X`` ``(B, L, D)`` (a constant: no gradient),
    ``W_ih`` ``(K, D, 3H)``, ``W_hh`` ``(K, H, 3H)``, ``b_ih`` and ``b_hh`` ``(K, 1, 3H)`` (columns
    ``[r | z | n]``), ``h_0 = 0``, returns ``h_L`` ``(K, B, H)``. PyTorch's equations (as
    :class:`tinygrad_trade.nn.GRU`)::

        r = sigmoid(x W_ir + b_ir + h W_hr + b_hr)     z = sigmoid(x W_iz + b_iz + h W_hz + b_hz)
        n = tanh(x W_in + b_in + r * (h W_hn + b_hn))  h' = (1 - z) * n + z * h

    The backward pass is backpropagation through time, written out in numpy. Every gate is kept in
    its own contiguous ``(K, B, H)`` array (elementwise work on a strided third of a ``(K, B, 3H)``
    array is several times slower), and the input projections of all steps are one matmul per gate.
    """

    def forward(self, X, W_ih, W_hh, b_ih, b_hh):
        B, L, D = X.shape
        K, H = W_hh.shape[0], W_hh.shape[1]
        Xf = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(L * B, D)     # rows: step-major
        gates = [slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)]
        self.Xf, self.shape = Xf, (B, L, D, K, H)
        self.Wh = [np.ascontiguousarray(W_hh[..., g]) for g in gates]
        xs = []
        for i, g in enumerate(gates):
            bias = b_ih[..., g] + (b_hh[..., g] if i < 2 else 0.0)          # b_hn stays inside r * (...)
            xg = (Xf @ np.ascontiguousarray(W_ih[..., g])).reshape(K, L, B, H)
            xg += bias[:, None]
            xs.append(xg)                                                   # (K, L, B, H)
        xr, xz, xn = xs
        b_hn = b_hh[..., gates[2]]
        Wr, Wz, Wn = self.Wh
        dt = xr.dtype
        h = np.zeros((K, B, H), dtype=dt)
        self.saved = []
        for t in range(L):
            if t:
                r = _sigmoid_(h @ Wr + xr[:, t])
                z = _sigmoid_(h @ Wz + xz[:, t])
                hn = h @ Wn + b_hn
            else:                                   # h_0 = 0
                r, z = _sigmoid_(xr[:, 0].copy()), _sigmoid_(xz[:, 0].copy())
                hn = np.broadcast_to(b_hn, (K, B, H)).astype(dt)
            n = r * hn
            n += xn[:, t]
            np.tanh(n, out=n)
            self.saved.append((h, r, z, n, hn))
            h = h - n
            h *= z
            h += n
        return h

    def backward(self, g):
        B, L, D, K, H = self.shape
        Wr, Wz, Wn = self.Wh
        dt = np.result_type(g, Wr)
        # d(pre-activation) of the gates r, z, n and d(h W_hn + b_hn), laid out (K, L, B, H) so that
        # each reshapes to (K, L*B, H) rows matching Xf: the weight and bias gradients are then matmuls
        dx = np.empty((4, K, L, B, H), dtype=dt)
        dWh = np.zeros((3, K, H, H), dtype=dt)
        dh = np.asarray(g, dtype=dt)
        for t in reversed(range(L)):
            h_prev, r, z, n, hn = self.saved[t]
            omz = 1.0 - z
            da_z = h_prev - n                       # h = n + z (h_prev - n)
            da_z *= dh
            da_z *= z
            da_z *= omz                             # through z = sigmoid(a_z)
            da_n = n * n
            np.subtract(1.0, da_n, out=da_n)
            da_n *= dh
            da_n *= omz                             # through n = tanh(a_n)
            dhn = da_n * r                          # a_n = x_n + r * hn
            da_r = da_n * hn
            da_r *= r
            da_r *= 1.0 - r                         # through r = sigmoid(a_r)
            dx[0, :, t], dx[1, :, t], dx[2, :, t], dx[3, :, t] = da_r, da_z, da_n, dhn
            if t:
                hT = np.swapaxes(h_prev, -1, -2)
                dWh[0] += hT @ da_r
                dWh[1] += hT @ da_z
                dWh[2] += hT @ dhn
                dh = dh * z
                dh += da_r @ np.swapaxes(Wr, -1, -2)
                dh += da_z @ np.swapaxes(Wz, -1, -2)
                dh += dhn @ np.swapaxes(Wn, -1, -2)
        flat = dx.reshape(4, K, L * B, H)
        XfT = self.Xf.T
        dW_ih = np.concatenate([XfT @ flat[i] for i in range(3)], axis=-1)
        db = np.ones(L * B, dtype=dt) @ flat                               # (4, K, H): sums over steps and rows
        db_ih = np.concatenate([db[0], db[1], db[2]], axis=-1)[:, None, :]
        db_hh = np.concatenate([db[0], db[1], db[3]], axis=-1)[:, None, :]
        dW_hh = np.concatenate([dWh[0], dWh[1], dWh[2]], axis=-1)
        self.saved = self.Xf = None
        return None, dW_ih, dW_hh, db_ih, db_hh


# ------------------------------------------------------------------------------------ the nets
class _Params(Module):
    """A bag of batched parameters (leading axis: ensemble member), as named Tensors."""

    def __init__(self, arrays: dict, dtype):
        for name, a in arrays.items():
            setattr(self, name, Tensor(np.asarray(a, dtype=dtype), requires_grad=True, dtype=dtype))

    def as_dict(self, dtype=None) -> dict:
        """``{name: Tensor}``: the parameters themselves, or (``dtype`` given) constant copies."""
        if dtype is None:
            return dict(self.named_parameters())
        return {n: Tensor(p.data.astype(dtype)) for n, p in self.named_parameters()}


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape)


class _NeuralForecaster(Forecaster):
    """Shared machinery of :class:`MLPForecaster` and :class:`GRUForecaster` (see the module doc)."""

    name = "neural"
    _defaults: dict = {}
    _quick: dict = {}

    def __init__(self, hidden=None, members=None, skip="har", loss="qlike", activation=None,
                 lr=None, weight_decay=None, epochs=None, refit_epochs=None, patience=None,
                 refit_patience=None, val_frac=0.2, warm_start=True, seed=0, quick=False,
                 progress=None, dtype=np.float32, proxies=None, leverage=None, har_proxy=None,
                 on_nonfinite="stop", min_rows=100, lean=True, **extra):
        if extra:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {', '.join(sorted(extra))}")
        d = {**self._defaults, **(self._quick if quick else {})}

        def pick(v, key):
            return d[key] if v is None else v
        if skip not in SKIPS:
            raise ValueError(f"skip must be one of {SKIPS}, got {skip!r}")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        activation = pick(activation, "activation")
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        if on_nonfinite not in ("stop", "raise"):
            raise ValueError(f"on_nonfinite must be 'stop' or 'raise', got {on_nonfinite!r}")
        if not 0.0 < val_frac < 0.9:
            raise ValueError(f"val_frac must be in (0, 0.9), got {val_frac}")
        self.hidden = int(pick(hidden, "hidden"))
        self.members = int(pick(members, "members"))
        self.epochs = int(pick(epochs, "epochs"))
        refit = pick(refit_epochs, "refit_epochs")
        self.refit_epochs = int(min(refit, self.epochs)) if refit_epochs is None else int(refit_epochs)
        self.patience = int(pick(patience, "patience"))
        self.refit_patience = int(pick(refit_patience, "refit_patience"))
        self.lr = float(pick(lr, "lr"))
        self.weight_decay = float(pick(weight_decay, "weight_decay"))
        if self.members < 1 or self.hidden < 0:
            raise ValueError(f"members must be >= 1 and hidden >= 0, got {self.members} and {self.hidden}")
        if self.epochs < 0 or self.refit_epochs < 0 or self.patience < 1 or self.refit_patience < 1:
            raise ValueError("epochs and refit_epochs must be >= 0 (0: no training), the patiences >= 1")
        self.skip, self.loss, self.activation = skip, loss, activation
        self.val_frac, self.warm_start, self.seed = float(val_frac), bool(warm_start), int(seed)
        self.quick, self.dtype = bool(quick), np.dtype(dtype).type
        self.progress = None if progress is None else bool(progress)
        self.proxies, self.leverage, self.har_proxy = proxies, leverage, har_proxy
        self.on_nonfinite, self.min_rows, self.lean = on_nonfinite, int(min_rows), bool(lean)
        self.history = []
        self.params = None          # _Params (batched over members) after the first fit
        self.optimizers = []        # Adam for the skip path, AdamW (weight_decay) for the residual net
        self.scaler_ = None         # StandardScaler of the HAR-type inputs
        self.har_coef_ = None       # HAR-PK coefficients of the last fit
        self.shift_ = None          # (K,) log-scale correction of loss="mse_log" (0 for qlike)
        self.n_fits = 0
        self._cache = (None, None, None)

    # -- inputs ---------------------------------------------------------------------------
    def _har_proxy(self, ds):
        if self.har_proxy is not None:
            return _choose_proxies(ds, (self.har_proxy,))[0]
        return _choose_proxies(ds, self.proxies)[0]

    def _prepared(self, ds: Dataset) -> dict:
        """Inputs of every row of ``ds`` (cached per dataset: arrays are not expected to change in place)."""
        key = (id(ds.returns), tuple(id(v) for v in ds.proxies.values()), len(ds))
        if self._cache[0] is not ds or self._cache[1] != key:
            names, X = har_inputs(ds, self.proxies, self.leverage)
            prep = {"names": names, "X": X, "har": har_design(ds.proxies[self._har_proxy(ds)])}
            prep.update(self._extra_inputs(ds))
            ok = np.isfinite(X).all(axis=1) & np.isfinite(prep["har"]).all(axis=1)
            prep["ok"] = ok & self._extra_ok(prep, len(ds))
            self._cache = (ds, key, prep)      # holds ds, so that the ids above cannot be reused
        return self._cache[2]

    def _extra_inputs(self, ds) -> dict:
        return {}

    def _extra_ok(self, prep, n) -> np.ndarray:
        return np.ones(n, dtype=bool)

    def _rows_inputs(self, prep, rows, lh, dtype) -> dict:
        """Constant input Tensors for the rows ``rows`` (an index array)."""
        x = self.scaler_.transform(prep["X"][rows])
        return {"xT": Tensor(np.ascontiguousarray(x.T), dtype=dtype), "x": Tensor(x, dtype=dtype),
                "lh": Tensor(lh, dtype=dtype)}

    # -- parameters -----------------------------------------------------------------------
    def _init_arrays(self, d: int, rng_list, log_mean_y: float) -> dict:
        """``{name: (K, ...) array}``: skip path (a, b, c) then the subclass's own parameters."""
        K = self.members
        out = {"a": np.full((K, 1), 0.0 if self.skip == "har" else log_mean_y)}
        if self.skip == "har":
            out["b"] = np.ones((K, 1))
        if self.skip is not None:
            out["c"] = np.zeros((K, d))
        own = [self._init_member(d, rng) for rng in rng_list]
        for name in own[0]:
            out[name] = np.stack([o[name] for o in own])
        return out

    def _init_member(self, d, rng) -> dict:
        raise NotImplementedError

    def _residual(self, P: dict, inp: dict) -> Tensor:
        """The nonlinear part ``g`` as a ``(K, B)`` Tensor."""
        raise NotImplementedError

    def _first_layer(self) -> list:
        """``[(weight name, bias name)]`` of the affine maps applied to the standardised HAR inputs,
        weights ``(K, d, m)`` (rescaled when the scaler changes, see :meth:`_rescale`)."""
        return []

    def _forward(self, P: dict, inp: dict) -> Tensor:
        """Log-variance ``s`` of every member, ``(K, B)``."""
        g = self._residual(P, inp)
        s = P["a"] * Tensor(np.ones((1, inp["x"].shape[0]), dtype=P["a"].dtype)) if g is None else g + P["a"]
        if self.skip is not None:
            s = s + P["c"] @ inp["xT"]
        if self.skip == "har":
            s = s + P["b"] * inp["lh"]
        return s

    def _rescale(self, old: StandardScaler, new: StandardScaler):
        """Rewrite the first affine layer so that the function is unchanged when the inputs are
        standardised with ``new`` instead of ``old``: ``x_old = x_new * ratio + shift``."""
        ratio = new.scale_ / old.scale_
        shift = (new.mean_ - old.mean_) / old.scale_
        P = self.params.as_dict()
        if "c" in P:
            c = P["c"].data
            P["a"].data += (c @ shift)[:, None].astype(c.dtype)
            c *= ratio.astype(c.dtype)
        for wname, bname in self._first_layer():
            W, b = P[wname].data, P[bname].data
            b += np.einsum("d,kdm->km", shift, W)[:, None, :].astype(W.dtype)
            W *= ratio[None, :, None].astype(W.dtype)

    # -- losses ---------------------------------------------------------------------------
    def _loss(self, s: Tensor, y: Tensor) -> Tensor:
        s = s.clip(-S_CLIP, S_CLIP)
        if self.loss == "qlike":
            return (y * (-s).exp() + s).mean()
        d = s - y          # y holds ln max(target, 1e-4) for mse_log
        return (d * d).mean()

    def _member_losses(self, s: np.ndarray, y: np.ndarray) -> np.ndarray:
        s = np.clip(s, -S_CLIP, S_CLIP)
        if self.loss == "qlike":
            return np.mean(y * np.exp(-s) + s, axis=1)
        return np.mean((s - y) ** 2, axis=1)

    def _loss_target(self, y: np.ndarray) -> np.ndarray:
        return y if self.loss == "qlike" else np.log(np.maximum(y, LOG_FLOOR))

    def batch(self, ds: Dataset, rows, dtype=np.float64):
        """``(inputs, y)`` of the rows ``rows`` (day indices) as the last fit prepares them (its scalers
        and HAR coefficients): for :meth:`loss_fn` and for inspection."""
        if self.params is None:
            raise RuntimeError(f"{self.name}.batch: call fit first")
        prep = self._prepared(ds)
        rows = np.asarray(rows, dtype=int)
        lh = np.log(np.maximum(prep["har"][rows] @ self.har_coef_, FLOOR))
        return self._rows_inputs(prep, rows, lh, dtype), np.asarray(ds.target, dtype=float)[rows]

    def loss_fn(self, inputs: dict, y) -> "callable":
        """``f(*params) -> loss`` on given inputs (for gradient checks): ``params`` in the order of
        ``self.params.parameters()``."""
        names = [n for n, _ in self.params.named_parameters()]
        yt = Tensor(self._loss_target(np.asarray(y, dtype=float)))

        def f(*ps):
            return self._loss(self._forward(dict(zip(names, ps)), inputs), yt)
        return f

    # -- fit ------------------------------------------------------------------------------
    def _fit_rows(self, ds, end, begin, prep):
        stop = ds.last_known(end)
        if not 0 <= begin <= stop:
            raise ValueError(f"{self.name}.fit: need 0 <= begin <= end, got begin={begin}, end={end}")
        rows = np.arange(begin, stop)
        rows = rows[prep["ok"][rows] & np.isfinite(ds.target[rows])]
        if rows.size < self.min_rows:
            raise ValueError(f"{self.name}.fit: {rows.size} complete (inputs, target) rows before day {end}, "
                             f"need at least {self.min_rows}")
        return rows

    def fit(self, ds: Dataset, end: int, begin: int = 0) -> "_NeuralForecaster":
        """Train on the rows ``begin <= t < ds.last_known(end)`` (see the module docstring)."""
        with lean_runtime(self.lean):
            return self._fit(ds, end, begin)

    def _fit(self, ds, end, begin):
        t0 = time.perf_counter()
        prep = self._prepared(ds)
        rows = self._fit_rows(ds, end, begin, prep)
        y_all = np.asarray(ds.target, dtype=float)
        # HAR-PK on the same rows (exactly vol.models.har.HAR fitted on (ds, end, begin))
        stop = ds.last_known(end)
        coef, _, _ = fit_har(prep["har"][begin:stop], y_all[begin:stop])
        self.har_coef_ = coef
        lh = np.log(np.maximum(prep["har"][rows] @ coef, FLOOR))
        tr, va, _ = chronological_split(rows.size, self.val_frac, gap=ds.horizon - 1)
        if va.stop - va.start < 1:
            raise ValueError(f"{self.name}.fit: no validation rows among {rows.size}")
        old_scaler = self.scaler_
        self.scaler_ = StandardScaler().fit(prep["X"][rows[tr]])
        self._fit_extra_scalers(prep, rows[tr])
        warm = self.warm_start and self.params is not None
        if warm:
            if old_scaler is not None:
                self._rescale(old_scaler, self.scaler_)
            epochs, patience = self.refit_epochs, self.refit_patience
        else:
            y_tr = y_all[rows[tr]]
            rngs = [np.random.default_rng(self.seed + k) for k in range(self.members)]
            arrays = self._init_arrays(len(prep["names"]), rngs, float(np.log(max(np.mean(y_tr), LOG_FLOOR))))
            self._set_params(arrays)
            epochs, patience = self.epochs, self.patience
        dt = self.dtype
        inp_tr = self._rows_inputs(prep, rows[tr], lh[tr], dt)
        inp_va = self._rows_inputs(prep, rows[va], lh[va], dt)
        y_tr = self._loss_target(y_all[rows[tr]])
        y_va = self._loss_target(y_all[rows[va]])
        hist = self._train(inp_tr, Tensor(y_tr, dtype=dt), inp_va, y_va, epochs, patience)
        if self.loss == "mse_log":
            with no_grad():
                s = self._forward(self.params.as_dict(np.float64), self._rows_inputs(prep, rows[tr], lh[tr],
                                                                                     np.float64)).data
            self.shift_ = np.log(np.mean(y_all[rows[tr]] * np.exp(-np.clip(s, -S_CLIP, S_CLIP)), axis=1))
        else:
            self.shift_ = np.zeros(self.members)
        self.n_fits += 1
        hist.update({"end": int(end), "begin": int(begin), "rows": int(rows.size), "warm": bool(warm),
                     "seconds": time.perf_counter() - t0})
        self.history.append(hist)
        return self

    def _fit_extra_scalers(self, prep, train_rows):
        pass

    def _set_params(self, arrays: dict) -> None:
        """New parameters from ``{name: (K, ...) array}`` and fresh optimizers for them."""
        self.params = _Params(arrays, self.dtype)
        named = self.params.named_parameters()
        skip = [p for n, p in named if n in SKIP_PARAMS]
        net = [p for n, p in named if n not in SKIP_PARAMS]
        self.optimizers = [Adam(skip, lr=self.lr)]
        if net:
            self.optimizers.append(AdamW(net, lr=self.lr, weight_decay=self.weight_decay))

    def get_state(self) -> tuple[dict, dict]:
        """Weights, Adam state, scalers and HAR coefficients (see :mod:`.neural_state`)."""
        from .neural_state import get_state
        return get_state(self)

    def set_state(self, arrays: dict, meta: dict) -> "_NeuralForecaster":
        from .neural_state import set_state
        return set_state(self, arrays, meta)

    def _train(self, inp_tr, y_tr, inp_va, y_va, epochs, patience) -> dict:
        P = self.params.as_dict()
        names = list(P)
        K = self.members
        with no_grad():
            best = self._member_losses(self._forward(P, inp_va).data, y_va)
        best_state = {n: P[n].data.copy() for n in names}
        best_epoch = np.zeros(K, dtype=int)
        wait = np.zeros(K, dtype=int)
        hist = {"train": [], "val": [], "val0": float(best.mean()), "best_epoch": None, "stopped": "epochs"}
        bar = None
        if self.progress is not False and epochs:
            from tqdm.auto import tqdm
            # progress=None: tqdm's own rule, a bar only when stderr is a terminal
            bar = tqdm(total=epochs, desc=f"{self.name} fit {self.n_fits + 1}", unit="epoch", leave=False,
                       file=sys.stderr, disable=None if self.progress is None else False)
        opts = self.optimizers
        try:
            for epoch in range(1, epochs + 1):
                for opt in opts:
                    opt.zero_grad()
                loss = self._loss(self._forward(P, inp_tr), y_tr)
                loss.backward()
                try:
                    check_finite(loss, self.params)
                except NonFiniteError as exc:
                    if self.on_nonfinite == "raise":
                        raise
                    hist["stopped"] = f"non-finite at epoch {epoch}"
                    warnings.warn(f"{self.name}: {exc}; keeping the best weights so far", RuntimeWarning,
                                  stacklevel=3)
                    break
                for opt in opts:
                    opt.step()
                with no_grad():
                    v = self._member_losses(self._forward(P, inp_va).data, y_va)
                if not np.all(np.isfinite(v)):
                    v = np.where(np.isfinite(v), v, np.inf)
                hist["train"].append(float(loss.item()))
                hist["val"].append(float(v.mean()))
                better = v < best - 1e-6
                for k in np.flatnonzero(better):
                    for n in names:
                        best_state[n][k] = P[n].data[k]
                best = np.where(better, v, best)
                best_epoch = np.where(better, epoch, best_epoch)
                wait = np.where(better, 0, wait + 1)
                if bar is not None:
                    bar.update(1)
                    if epoch % 10 == 0 or epoch == epochs:
                        bar.set_postfix(train=f"{hist['train'][-1]:.4f}", val=f"{hist['val'][-1]:.4f}",
                                        refresh=False)
                if np.all(wait >= patience):
                    hist["stopped"] = f"early stop at epoch {epoch}"
                    break
        finally:
            if bar is not None:
                bar.close()
        for n in names:
            np.copyto(P[n].data, best_state[n])
        hist["best_epoch"] = [int(e) for e in best_epoch]
        hist["best_val"] = [float(b) for b in best]
        return hist

    # -- predict --------------------------------------------------------------------------
    def log_variance(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        """``(K, stop - start)`` log-variance forecasts of every member (float64)."""
        if self.params is None:
            raise RuntimeError(f"{self.name}.predict: call fit first")
        if not 0 <= start <= stop <= len(ds):
            raise ValueError(f"{self.name}.predict: need 0 <= start <= stop <= {len(ds)}, got {start}, {stop}")
        prep = self._prepared(ds)
        rows = np.arange(start, stop)
        bad = ~prep["ok"][rows]
        if bad.any():
            raise ValueError(f"{self.name}.predict: day {start + int(np.flatnonzero(bad)[0])} has no complete "
                             "input history")
        lh = np.log(np.maximum(prep["har"][rows] @ self.har_coef_, FLOOR))
        with no_grad(), lean_runtime(self.lean):
            s = self._forward(self.params.as_dict(np.float64), self._rows_inputs(prep, rows, lh, np.float64)).data
        return np.clip(s + self.shift_[:, None], -S_CLIP, S_CLIP)

    def predict(self, ds: Dataset, start: int, stop: int) -> np.ndarray:
        if stop == start:
            return np.zeros(0)
        s = self.log_variance(ds, start, stop)
        return np.maximum(np.exp(s).mean(axis=0), FLOOR)


# ------------------------------------------------------------------------------------ MLP
class MLPForecaster(_NeuralForecaster):
    """Ensemble of one-hidden-layer MLPs on the HAR-type inputs, with a linear / HAR skip path.

    ``s = a + b ln f_HAR + c . x + W2 act(W1 x + b1)`` (``skip="har"``; see the module docstring).
    Options: ``hidden`` (16), ``members`` K (3), ``activation`` ("tanh" | "relu"), ``skip``
    ("har" | "linear" | None), ``loss`` ("qlike" | "mse_log"), ``lr`` (Adam), ``weight_decay`` (L2),
    ``epochs`` (first fit) and ``refit_epochs`` (warm refits), ``patience`` / ``refit_patience``
    (early stopping), ``val_frac``, ``warm_start``, ``seed``, ``quick`` (few epochs and 2 members, for
    tests), ``progress`` (tqdm bar on stderr), ``dtype`` (training precision).
    """

    name = "mlp"
    _defaults = {"hidden": 16, "members": 5, "epochs": 300, "refit_epochs": 30, "patience": 30,
                 "refit_patience": 10, "lr": 1e-2, "weight_decay": 1.0, "activation": "relu"}
    _quick = {"members": 2, "epochs": 60, "refit_epochs": 10}

    def _init_member(self, d, rng) -> dict:
        H = self.hidden
        if H == 0:                      # no hidden layer: the skip path alone (a log-linear model)
            if self.skip is None:
                raise ValueError("hidden=0 needs a skip path (skip='har' or 'linear')")
            return {}
        if self.activation == "relu":
            W1 = _uniform(rng, math.sqrt(6.0 / d), (d, H))
        else:
            W1 = _uniform(rng, math.sqrt(6.0 / (d + H)), (d, H))
        W2 = np.zeros((H, 1)) if self.skip is not None else _uniform(rng, math.sqrt(6.0 / (H + 1)), (H, 1))
        return {"W1": W1, "b1": np.zeros((1, H)), "W2": W2}

    def _first_layer(self):
        return [("W1", "b1")] if self.hidden else []

    def _residual(self, P, inp):
        if not self.hidden:
            return None
        z = inp["x"] @ P["W1"] + P["b1"]                      # (K, B, H)
        h = z.tanh() if self.activation == "tanh" else z.relu()
        out = h @ P["W2"]                                      # (K, B, 1)
        return out.reshape(out.shape[0], out.shape[1])


# ------------------------------------------------------------------------------------ GRU
class GRUForecaster(_NeuralForecaster):
    """Ensemble of GRUs over the last ``lookback`` days, plus the same skip path as the MLP.

    ``s = a + b ln f_HAR + c . x + w . h_L`` where ``h_L`` is the GRU's last hidden state over the
    per-day inputs of days ``t-L .. t-1`` (:func:`daily_inputs`, standardised on the training rows)
    and ``w`` starts at zero. Options as :class:`MLPForecaster` (``activation`` does not apply: the
    GRU has its own sigmoid and tanh gates), plus ``lookback`` L (15); ``hidden`` defaults to 8.
    """

    name = "gru"
    _defaults = {"hidden": 8, "members": 3, "epochs": 200, "refit_epochs": 10, "patience": 20,
                 "refit_patience": 8, "lr": 1e-2, "weight_decay": 1.0, "activation": "tanh"}
    _quick = {"members": 2, "epochs": 40, "refit_epochs": 8}

    def __init__(self, lookback: int = 15, **opts):
        super().__init__(**opts)
        if int(lookback) < 1:
            raise ValueError(f"lookback must be a positive integer, got {lookback}")
        self.lookback = int(lookback)
        self.day_scaler_ = None

    def _extra_inputs(self, ds):
        names, D = daily_inputs(ds, self.proxies, self.leverage)
        return {"daily": D}

    def _extra_ok(self, prep, n):
        L = self.lookback
        fin = np.isfinite(prep["daily"]).all(axis=1).astype(float)
        run = np.concatenate([[0.0], np.cumsum(fin)])
        ok = np.zeros(n, dtype=bool)
        t = np.arange(L, n)
        ok[t] = (run[t] - run[t - L]) == L               # days t-L .. t-1 all complete
        return ok

    def _fit_extra_scalers(self, prep, train_rows):
        # the days that appear in the training windows (all before the first validation row)
        days = np.unique((train_rows[:, None] - np.arange(1, self.lookback + 1)[None, :]).ravel())
        old = self.day_scaler_
        self.day_scaler_ = StandardScaler().fit(prep["daily"][days])
        if old is not None and self.warm_start and self.params is not None:
            self._rescale_daily(old, self.day_scaler_)

    def _rescale_daily(self, old, new):
        ratio = new.scale_ / old.scale_
        shift = (new.mean_ - old.mean_) / old.scale_
        P = self.params.as_dict()
        W, b = P["W_ih"].data, P["b_ih"].data
        b += np.einsum("d,kdm->km", shift, W)[:, None, :].astype(W.dtype)
        W *= ratio[None, :, None].astype(W.dtype)

    def _rows_inputs(self, prep, rows, lh, dtype):
        out = super()._rows_inputs(prep, rows, lh, dtype)
        L = self.lookback
        idx = rows[:, None] + np.arange(-L, 0)[None, :]              # (B, L): days t-L .. t-1
        seq = self.day_scaler_.transform(prep["daily"][idx.ravel()]).reshape(len(rows), L, -1)
        out["seq"] = Tensor(np.ascontiguousarray(seq), dtype=dtype)
        return out

    def _init_member(self, d, rng):
        H = self.hidden
        k = 1.0 / math.sqrt(H)
        w_out = np.zeros((H, 1)) if self.skip is not None else _uniform(rng, math.sqrt(6.0 / (H + 1)), (H, 1))
        return {"W_ih": _uniform(rng, k, (self._n_daily, 3 * H)), "W_hh": _uniform(rng, k, (H, 3 * H)),
                "b_ih": _uniform(rng, k, (1, 3 * H)), "b_hh": _uniform(rng, k, (1, 3 * H)), "w_out": w_out}

    def _prepared(self, ds):
        prep = super()._prepared(ds)
        self._n_daily = prep["daily"].shape[1]
        return prep

    def _residual(self, P, inp):
        h = GRUSequence.apply(inp["seq"], P["W_ih"], P["W_hh"], P["b_ih"], P["b_hh"])   # (K, B, H)
        out = h @ P["w_out"]
        return out.reshape(out.shape[0], out.shape[1])
