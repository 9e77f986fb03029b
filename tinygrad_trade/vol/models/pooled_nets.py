"""The nets trained across a universe: ``pooled_mlp`` and ``pooled_gru``, one set of weights for every asset.

Why: the per-asset nets (``mlp``, ``gru``, :mod:`.neural`) see one asset's few thousand rows and lose to HAR on
daily returns; the ``pooled`` model shows that scale-free inputs let every asset's rows train one model. These
nets sit on the pooled model (:class:`~.pooled.PooledForecaster`: the same scale-free inputs ``z_t``, the same
per-asset level ``L`` and GJR fits, the same horizon settings) and learn what its linear part misses::

    ln(f_t / L) = a + b . z_t + g(.)        g = MLP(z_t)                                      (pooled_mlp)
                                            g = w . GRU(last `lookback` days of d_u)         (pooled_gru)

with ``d_u = (ln max(PK_u / L, eps), ln(r_u^2 / L + delta), r_u / sqrt(L))`` of the days ``u = t-lookback ..
t-1``: scale-free daily inputs, so the GRU's weights, too, serve every asset. ``(a, b)`` is the pooled model's
Newton solution at each refit (held fixed while the net trains); ``g``'s last layer starts at zero, so a net
starts as the pooled model, and it is trained on QLIKE (every asset's rows together, rows weighted as the
pooled model weighs them) with AdamW (decoupled weight decay) from one ``numpy.random.default_rng(seed)``.

Early stopping guards the pooled model's skill: the last ``val_frac`` of each asset's training rows (after a gap of
h - 1 rows, so no validation target overlaps a training one) are held out; training stops after ``patience``
epochs without a lower validation loss and the best weights are kept, the zero net (= the pooled model) included.
Warm start: later refits continue from the previous weights for ``refit_epochs``. ``pooled = True`` and
``fit_panel`` / ``predict_asset`` / ``fit_asset_chain`` come from the pooled model, so a universe run trains them
across assets (:mod:`~tinygrad_trade.vol.runs.universe`) with the per-asset GJR chains split off.

Hyper-parameters: the defaults below (not tuned; docs/model-card.md reports them with their results).
"""
from __future__ import annotations

import math

import numpy as np

from ...graph import no_grad
from ...optim import AdamW
from ...tensor import Tensor
from ..features.dataset import Dataset
from .base import StateError, state_array
from .gru_op import GRUSequence
from .pooled import EPS, PooledForecaster

__all__ = ["PooledMLP", "PooledGRU", "daily_scaled"]


def daily_scaled(ds: Dataset, L: float, delta: float) -> np.ndarray:
    """``(n, 3)`` scale-free daily inputs of each day u (its own values, not lagged; nan where missing)."""
    pk = np.asarray(ds.proxies["parkinson"], dtype=float)
    r = np.asarray(ds.returns, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.column_stack([np.log(np.maximum(pk / L, EPS)), np.log(r * r / L + delta), r / math.sqrt(L)])


def _uniform(rng, bound, shape):
    return rng.uniform(-bound, bound, size=shape)


class _PooledNet(PooledForecaster):
    """The training loop and state of the pooled nets; subclasses give ``_init`` and ``_g``."""

    seed_free = False
    relative_cost = 40.0
    _defaults: dict = {}

    def __init__(self, width=None, epochs=None, refit_epochs=None, patience=None, lr=None, weight_decay=None,
                 val_frac: float = 0.2, seed: int = 0, progress: bool = False, quick: bool = False, **pooled):
        pooled.pop("hidden", None)
        super().__init__(**pooled)
        d = dict(self._defaults)
        if quick:
            d.update(epochs=20, refit_epochs=3)
        given = dict(width=width, epochs=epochs, refit_epochs=refit_epochs, patience=patience, lr=lr,
                     weight_decay=weight_decay)
        d.update({k: v for k, v in given.items() if v is not None})
        self.width, self.epochs, self.refit_epochs = int(d["width"]), int(d["epochs"]), int(d["refit_epochs"])
        self.patience, self.lr, self.weight_decay = int(d["patience"]), float(d["lr"]), float(d["weight_decay"])
        if self.width < 1 or self.epochs < 0 or self.refit_epochs < 0 or self.patience < 1 or not 0 < val_frac < 1:
            raise ValueError(f"{self.name}: need width >= 1, epochs >= 0, refit_epochs >= 0, patience >= 1, "
                             "0 < val_frac < 1")
        self.val_frac, self.seed = float(val_frac), int(seed)
        self.params = None          # name -> Tensor
        self.opt = None

    # -- what a subclass provides
    def _init(self, d: int, rng) -> dict:
        raise NotImplementedError

    def _inputs(self, Z, rows_of) -> object:
        """The net's input for rows: ``Z`` (design) and ``rows_of`` = [(ds, L, day indices)] in row order."""
        return Tensor(Z[:, 1:])

    def _g(self, P: dict, x) -> Tensor:
        raise NotImplementedError

    # -- training
    def _fit_extra(self, Z, y, w, rows) -> dict:
        rows_of = [(ds, self.assets[a].L, idx) for a, ds, idx in rows]
        h = int(getattr(rows[0][1], "horizon", 1)) if rows else 1
        tr, va, start = [], [], 0
        for _, _, idx in rows_of:        # the last val_frac of each asset's rows, after a gap of h - 1 rows
            n = idx.size
            n_va = int(round(self.val_frac * n))
            cut = n - n_va
            tr.append(np.arange(start, start + max(cut - (h - 1), 0)))
            va.append(np.arange(start + cut, start + n))
            start += n
        tr, va = np.concatenate(tr), np.concatenate(va)
        if tr.size < 10 or va.size < 10:
            return {"net_epochs": 0}
        base = Z @ self.theta_
        x_all = self._inputs(Z, rows_of)
        first = self.params is None
        if first:
            rng = np.random.default_rng(self.seed)
            self.params = {k: Tensor(v, requires_grad=True) for k, v in self._init(Z.shape[1] - 1, rng).items()}
            self.opt = AdamW(list(self.params.values()), lr=self.lr, weight_decay=self.weight_decay)
        epochs = self.epochs if first else self.refit_epochs
        x_tr, x_va = self._take(x_all, tr), self._take(x_all, va)
        b_tr, b_va, y_tr, y_va, w_tr, w_va = base[tr], base[va], y[tr], y[va], w[tr], w[va]

        def val_loss():
            with no_grad():
                s = b_va + self._g(self.params, x_va).data.reshape(-1)
            return float(np.mean(w_va * (y_va * np.exp(-s) + s)))

        best, best_state, since, done = val_loss(), self._snapshot(), 0, 0
        for done in range(1, epochs + 1):
            s = Tensor(b_tr) + self._g(self.params, x_tr).reshape(-1)
            loss = (w_tr * (y_tr * (-s).exp() + s)).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            v = val_loss()
            if v < best:
                best, best_state, since = v, self._snapshot(), 0
            else:
                since += 1
                if since >= self.patience:
                    break
        self._restore(best_state)
        return {"net_epochs": int(done), "net_val_loss": best}

    @staticmethod
    def _take(x, idx):
        return Tensor(x.data[idx])

    def _snapshot(self) -> dict:
        return {k: p.data.copy() for k, p in self.params.items()}

    def _restore(self, state: dict) -> None:
        for k, p in self.params.items():
            p.data[...] = state[k]

    def _extra_log(self, asset, ds, Z, start: int, stop: int):
        if self.params is None:
            return 0.0
        x = self._inputs(Z, [(ds, self.assets[asset].L, np.arange(start, stop))])
        with no_grad():
            return self._g(self.params, x).data.reshape(-1)

    # -- persistence: the pooled model's state plus the net's weights
    def get_state(self):
        arrays, meta = super().get_state()
        if self.params is not None:
            arrays.update({f"pnet__{k}": p.data.copy() for k, p in self.params.items()})
        meta["net"] = self.name
        return arrays, meta

    def set_state(self, arrays: dict, meta: dict) -> "_PooledNet":
        if meta.get("net") != self.name:
            raise StateError(f"{self.name}: the saved state is of model {meta.get('net') or meta.get('model')!r}")
        super().set_state({k: v for k, v in arrays.items() if not k.startswith("pnet__")}, meta)
        shapes = {k: v.shape for k, v in self._init(self.theta_.size - 1, np.random.default_rng(self.seed)).items()}
        self.params = {k: Tensor(state_array(arrays, f"pnet__{k}", shp, self.name).astype(float), requires_grad=True)
                       for k, shp in shapes.items()}
        self.opt = AdamW(list(self.params.values()), lr=self.lr, weight_decay=self.weight_decay)
        return self


class PooledMLP(_PooledNet):
    """``pooled_mlp``: the pooled model plus an MLP (ReLU, ``width`` units) of its scale-free inputs."""

    name = "pooled_mlp"
    _defaults = {"width": 16, "epochs": 200, "refit_epochs": 20, "patience": 20, "lr": 1e-2, "weight_decay": 1.0}

    def _init(self, d, rng):
        H = self.width
        return {"W1": _uniform(rng, math.sqrt(6.0 / d), (d, H)), "b1": np.zeros((1, H)), "W2": np.zeros((H, 1))}

    def _g(self, P, x):
        return (x @ P["W1"] + P["b1"]).relu() @ P["W2"]


class PooledGRU(_PooledNet):
    """``pooled_gru``: the pooled model plus a GRU (``width`` units) over the last ``lookback`` days' scale-free
    daily inputs (:func:`daily_scaled`)."""

    name = "pooled_gru"
    relative_cost = 120.0
    _defaults = {"width": 8, "epochs": 100, "refit_epochs": 10, "patience": 15, "lr": 1e-2, "weight_decay": 1.0}

    def __init__(self, lookback: int = 15, **opts):
        super().__init__(**opts)
        if int(lookback) < 1:
            raise ValueError(f"pooled_gru: lookback must be a positive integer, got {lookback}")
        self.lookback = int(lookback)

    def _init(self, d, rng):
        H, k = self.width, 1.0 / math.sqrt(self.width)
        return {"W_ih": _uniform(rng, k, (1, 3, 3 * H)), "W_hh": _uniform(rng, k, (1, H, 3 * H)),
                "b_ih": _uniform(rng, k, (1, 1, 3 * H)), "b_hh": _uniform(rng, k, (1, 1, 3 * H)),
                "w_out": np.zeros((H, 1))}

    def _inputs(self, Z, rows_of):
        # each asset's days (missing values 0, and `lookback` days of zeros before its first), and for each row
        # its asset and the first day of its window there (day t-lookback of the asset is row t of its block)
        blocks, asset, start = [], [], []
        for a, (ds, L, idx) in enumerate(rows_of):
            daily = np.nan_to_num(daily_scaled(ds, L, self.delta), nan=0.0, posinf=0.0, neginf=0.0)
            blocks.append(np.concatenate([np.zeros((self.lookback, daily.shape[1])), daily]))
            asset.append(np.full(len(idx), a))
            start.append(np.asarray(idx, dtype=int))
        return _DayWindows(blocks, np.concatenate(asset), np.concatenate(start), self.lookback)

    def _take(self, x, idx):
        return x.take(idx)

    def _g(self, P, x):
        if x.starts.size == 0:
            return Tensor(np.zeros((0, 1)))
        h = GRUSequence.apply(x.days, P["W_ih"], P["W_hh"], P["b_ih"], P["b_hh"], lookback=x.lookback,
                              starts=x.starts)   # (1, B, H)
        return h.reshape(h.shape[1], h.shape[2]) @ P["w_out"]


class _DayWindows:
    """The pooled GRU's windows as the fused op takes them: the days that rows' windows use, each once (each
    asset's run of days in turn), and where each row's window starts among them."""

    def __init__(self, blocks, asset, start, lookback, rows=None):
        self.blocks, self.asset, self.start, self.lookback = blocks, asset, start, lookback
        rows = np.arange(len(asset)) if rows is None else np.asarray(rows)
        if np.any(np.diff(asset[rows]) < 0):
            raise ValueError("pooled_gru: rows must come asset by asset")
        parts, starts, offset = [], [], 0
        for a in np.unique(asset[rows]):                 # rows come asset by asset, in day order
            s = start[rows[asset[rows] == a]]
            parts.append(blocks[a][s[0]:s[-1] + lookback])
            starts.append(s - s[0] + offset)
            offset += parts[-1].shape[0]
        self.days = Tensor(np.concatenate(parts) if parts else np.zeros((lookback, blocks[0].shape[1])))
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=int)

    def take(self, rows) -> "_DayWindows":
        return _DayWindows(self.blocks, self.asset, self.start, self.lookback, rows)
