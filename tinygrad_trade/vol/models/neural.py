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

Hyper-parameters, how they were chosen (before 2008 only), the results and the run times:
docs/model-card.md ("The neural nets: measurements").
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from ...graph import no_grad
from ...nn.modules import Module
from ...optim import Adam, AdamW
from ...tensor import Tensor
from ..features.dataset import Dataset
from .base import Forecaster
from ..features.proxies import StandardScaler, chronological_split
from .gru_op import GRUSequence
from .har import FLOOR, fit_har, har_design
from .neural_training import train
from .neural_inputs import LOG_FLOOR, R2_OFFSET, _choose_proxies, daily_inputs, har_inputs
from .runtime import lean_runtime

__all__ = ["MLPForecaster", "GRUForecaster", "GRUSequence", "har_inputs", "daily_inputs",
           "SKIPS", "LOSSES", "R2_OFFSET"]

SKIPS = ("har", "linear", None)
LOSSES = ("qlike", "mse_log")
SKIP_PARAMS = ("a", "b", "c")
S_CLIP = 50.0            # log-variances are clipped to [-50, 50] (as nn.losses.qlike)


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

    # -- learning from each day (predict --update) ------------------------------------------
    def update(self, ds: Dataset, end: int, begin: int = 0, epochs=None) -> "_NeuralForecaster":
        """Learn from the new days without a refit (see :func:`.neural_update.update`)."""
        from .neural_update import UPDATE_EPOCHS, update
        return update(self, ds, end, begin, UPDATE_EPOCHS if epochs is None else epochs, S_CLIP)

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
        return train(self, inp_tr, y_tr, inp_va, y_va, epochs, patience)

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


    def first_predictable(self, ds: Dataset) -> int:
        ok = self._prepared(ds)["ok"]
        return int(np.flatnonzero(ok)[0]) if ok.any() else len(ds)

    def fitted_params(self) -> pd.Series:
        """The HAR path's coefficients, the mean of each skip weight, and the number of weights."""
        arrays, _ = self.get_state()
        out = {f"har_{n}": float(c) for n, c in zip(("const", "h1", "h5", "h22"), self.har_coef_)}
        out.update({f"{k}_mean": float(np.mean(arrays[f"p.{k}"])) for k in ("a", "b") if f"p.{k}" in arrays})
        out["weights"] = float(sum(a.size for k, a in arrays.items() if k.startswith("p.")))
        return pd.Series(out, name="params")


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
        used = np.zeros(int(train_rows.max()) + 1 if train_rows.size else 0, dtype=bool)
        for k in range(1, self.lookback + 1):
            used[train_rows - k] = True
        days = np.flatnonzero(used)
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
        lo, hi = (int(rows[0]) - L, int(rows[-1])) if len(rows) else (0, 0)   # row t: days t-L .. t-1
        if len(rows) and np.all(np.diff(rows) > 0) and hi - lo - L + 1 <= 1.5 * len(rows):
            # the rows' days, each once: the fused op projects each day once and slides the windows along
            out["seq"] = Tensor(self.day_scaler_.transform(prep["daily"][lo:hi]), dtype=dtype)
            out["starts"] = rows - L - lo
        else:                                                        # scattered rows: the windows apart
            idx = rows[:, None] + np.arange(-L, 0)[None, :]
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
        days = {"lookback": self.lookback, "starts": inp["starts"]} if "starts" in inp else {}
        h = GRUSequence.apply(inp["seq"], P["W_ih"], P["W_hh"], P["b_ih"], P["b_hh"], **days)   # (K, B, H)
        out = h @ P["w_out"]
        return out.reshape(out.shape[0], out.shape[1])
