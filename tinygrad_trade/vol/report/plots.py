"""The plots every report shares: cumulative QLIKE against the benchmark, equity curves of the
volatility-targeting backtest, training losses of the nets, and forecasts against the realized target.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..evaluation.backtest import buy_and_hold, vol_target_backtest
from ..evaluation.losses import qlike_loss
from .common import PERIODS, _axes, _dates, _finish, _figure, _ranked, readable_log_axis

__all__ = ["plot_forecasts", "plot_cum_qlike", "plot_equity", "plot_losses", "plot_gradient_flow"]


def plot_forecasts(walk, metrics: dict, path=None, best: int = 3, ax=None):
    """Annualised forecast vol of the ``best`` models (by QLIKE) against the realized target; the Figure."""
    names = _ranked(metrics)[:best]
    x = _dates(walk)
    fig, ax = _axes(ax)
    ann = lambda v: np.sqrt(PERIODS * np.maximum(v, 0.0))
    y = np.asarray(walk.target, dtype=float)
    ax.plot(x, ann(y), color="0.75", lw=0.5, label="realized (target)")
    k = min(22, max(1, len(y) // 10))
    smooth = np.convolve(y, np.ones(k) / k, mode="same")
    ax.plot(x, ann(smooth), color="0.35", lw=1.0, label=f"realized, {k}-day mean")
    for name in names:
        ax.plot(x, ann(walk.forecasts[name]), lw=1.1, label=f"{name} (QLIKE {metrics['models'][name]['qlike']:.4f})")
    ax.set_yscale("log")
    ax.set_ylabel("annualised volatility, %")
    readable_log_axis(ax)
    ax.set_title("Forecast against realized volatility (best models by QLIKE)")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_cum_qlike(walk, path=None, benchmark: str = "har", ax=None, title: Optional[str] = None):
    """Cumulative QLIKE loss difference (model - benchmark): falling lines beat the benchmark; the Figure
    (None without the benchmark or another model)."""
    if benchmark not in walk.forecasts or len(walk.forecasts) < 2:
        return None
    y = walk.target
    base = qlike_loss(y, walk.forecasts[benchmark])
    x = _dates(walk)
    fig, ax = _axes(ax)
    for name, f in walk.forecasts.items():
        if name != benchmark:
            ax.plot(x, np.cumsum(qlike_loss(y, f) - base), lw=1.1, label=name)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_ylabel(f"cumulative QLIKE(model) - QLIKE({benchmark})")
    ax.set_title(title or f"Cumulative QLIKE difference against {benchmark} (below 0: better than {benchmark})")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path)


def plot_equity(walk, config, path=None, ax=None):
    """Equity curves of vol targeting (every model, at the middle cost level) and buy-and-hold, on a log axis
    labelled at plain wealth levels; the Figure (None without daily returns)."""
    if not np.all(np.isfinite(walk.returns)):
        return None
    costs = sorted(float(c) for c in config.costs_bps)
    cost = costs[len(costs) // 2]
    x = np.concatenate(([walk.dates[0] - np.timedelta64(1, "D")], walk.dates)).astype("datetime64[D]").astype("O")
    fig, ax = _axes(ax)
    bh = buy_and_hold(walk.returns, return_kind=config.return_accounting)
    ax.plot(x, bh.equity, color="k", lw=1.2, label=f"buy and hold (Sharpe {bh.sharpe:.2f})")
    for name, f in walk.forecasts.items():
        bt = vol_target_backtest(walk.returns, f, target_vol=config.target_vol, max_leverage=config.max_leverage,
                                 cost_bps=cost, return_kind=config.return_accounting)
        ax.plot(x, bt.equity, lw=1.0, label=f"{name} (Sharpe {bt.sharpe:.2f})")
    ax.set_yscale("log")
    readable_log_axis(ax)
    ax.set_ylabel("wealth (start = 1, log scale)")
    ax.set_title(f"Volatility targeting {config.target_vol:g}% (cap {config.max_leverage:g}x, "
                 f"{cost:g} bp per unit turnover, {config.return_accounting} returns)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3, which="major")
    return _finish(fig, path)


def _curves(hist) -> tuple:
    if not isinstance(hist, dict):
        return [], []
    tr = [float(v) for v in hist.get("train", []) or []]
    va = [float(v) for v in hist.get("val", []) or []]
    return tr, va


def plot_losses(histories: dict, path=None, ax=None):
    """Training curves of the nets: per net, the first fit's train/validation loss per epoch (left) and,
    over the refits, each fit's last training loss and best validation loss (right); the Figure (None when no
    model has a training history). ``ax``: an array of (nets, 2) axes to draw on."""
    nets = {k: v for k, v in histories.items() if v and any(_curves(h)[0] for h in v)}
    if not nets:
        return None
    if ax is not None:
        axes = np.asarray(ax, dtype=object).reshape(len(nets), 2)
        fig = axes[0, 0].figure
    else:
        fig, axes = _figure(len(nets), 2, figsize=(11, 3.6 * len(nets)), squeeze=False)
    for (ax0, ax1), (name, hists) in zip(axes, nets.items()):
        tr, va = _curves(hists[0])
        ax0.plot(np.arange(1, len(tr) + 1), tr, color="tab:blue", lw=1.2, label="train")
        if va:
            ax0.plot(np.arange(1, len(va) + 1), va, color="tab:orange", lw=1.2, label="validation")
        ax0.set_title(f"{name}: first fit, loss per epoch")
        ax0.set_xlabel("epoch")
        ax0.set_ylabel("loss")
        ax0.grid(alpha=0.3)
        ax0.legend(fontsize=8)
        last_tr = [(_curves(h)[0] or [np.nan])[-1] for h in hists]
        best_va = [min(_curves(h)[1]) if _curves(h)[1] else np.nan for h in hists]
        epochs = [len(_curves(h)[0]) for h in hists]
        k = np.arange(1, len(hists) + 1)
        ax1.plot(k, last_tr, "o-", ms=2.5, lw=0.8, color="tab:blue", label="train (last epoch)")
        if np.isfinite(best_va).any():
            ax1.plot(k, best_va, "o-", ms=2.5, lw=0.8, color="tab:orange", label="validation (best)")
        ax1.set_title(f"{name}: {len(hists)} fit(s), {int(np.sum(epochs))} epochs in all")
        ax1.set_xlabel("fit (refit number)")
        ax1.set_ylabel("loss")
        ax1.grid(alpha=0.3)
        ax1.legend(fontsize=8)
    return _finish(fig, path)


def _flow(hists) -> dict:
    """``{parameter: [norm per epoch]}`` over every fit of a net, in order (members averaged)."""
    out = {}
    for h in hists:
        for name, per_epoch in (h.get("grad_norm") or {}).items() if isinstance(h, dict) else ():
            try:      # one mean per row: the same sums as np.mean of each epoch's list
                means = np.asarray(per_epoch, dtype=float).mean(axis=1).tolist() if len(per_epoch) else []
            except ValueError:        # ragged or flat lists (numpy's AxisError is a ValueError)
                means = [float(np.mean(m)) for m in per_epoch]
            out.setdefault(name, []).extend(means)
    return out


def plot_gradient_flow(histories: dict, path=None):
    """Gradient flow of the nets: per net, the norm of each parameter's gradient per epoch over all its fits
    (log scale; members averaged). Where a layer stops learning its line falls to the floor. The Figure, or None
    when no net recorded gradient norms."""
    nets = {k: _flow(v) for k, v in histories.items() if v}
    nets = {k: f for k, f in nets.items() if f}
    if not nets:
        return None
    fig, axes = _figure(len(nets), 1, figsize=(11, 3.4 * len(nets)), squeeze=False)
    for ax, (name, flow) in zip(axes[:, 0], nets.items()):
        for param, norms in flow.items():
            y = np.asarray(norms, dtype=float)
            ax.plot(np.arange(1, y.size + 1), np.where(y > 0, y, np.nan), lw=0.9, label=param)
        ax.set_yscale("log")
        ax.set_title(f"{name}: gradient norm per parameter, every epoch of every fit")
        ax.set_xlabel("epoch (fits one after another)")
        ax.set_ylabel("||gradient||")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=4)
    return _finish(fig, path)
