"""The walk-forward of a book: DCC and CCC covariances and the univariate models of the book's own returns.

    from tinygrad_trade.vol.runs.book import book_walk_forward
    walk = book_walk_forward(returns, weights, first=900, refit_every=21, vol="gjr",
                             models=("ewma", "gjr"), executor=None)
    walk.forecasts["dcc"], walk.forecasts["ccc"], walk.forecasts["ewma"]   # variances of the book's days
    walk.dcc_path.correlations                                               # (days, N, N), out of sample

Why here: the book is a run, like a universe. Its multivariate step follows
:func:`tinygrad_trade.vol.models.dcc.walk_forward` (blocks ``[end, end + refit_every)``, fit on rows
``[0, end)`` warm-started from the previous block, the fitted model filtered over the block), but step
one of the two-step fit (each asset's GARCH/GJR marginal) runs as parallel :class:`~.tasks.Job` s, one
chain of warm-started refits per asset, on any executor (this process, a process pool, Dask). Each
marginal fit is the computation :class:`~tinygrad_trade.vol.models.dcc.DCC` would do itself, so the
results are bit-identical in-process, in processes and on Dask. DCC and CCC share the marginals (CCC
is the same step one with ``R_t = Qbar``).

The univariate models (``ewma``, ``garch``, ``gjr``, ``har_r2``: those that need returns only) are fitted
to the book's own return series ``r_b = sum_i w_i r_i`` (% log returns of the common days) with the
project's walk-forward (:func:`~.walkforward.walk_forward` on
:func:`~tinygrad_trade.vol.features.dataset.dataset_from_returns`), on the same forecast days.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from ..features.dataset import dataset_from_returns
from ..models.dcc import CCC, DCC
from ..models.dcc import walk_forward as dcc_walk_forward
from ..models.dcc_result import DCCPath, DCCResult
from ..models.garch import fit_garch
from .tasks import Job, one_blas_thread, run_jobs
from .walkforward import walk_forward

__all__ = ["BOOK_MODELS", "BookWalk", "book_walk_forward", "marginal_chain", "dcc_walk", "fit_marginals",
           "save_book_fit", "load_book_fit", "BOOK_STATE"]

BOOK_MODELS = ("ewma", "garch", "gjr", "har_r2")   # univariate models fitted to the book's returns


@dataclass
class BookWalk:
    """The book's out-of-sample forecasts: ``forecasts[model][k]`` is the variance of ``dates[k]``'s
    book return ``returns[k]`` from data before that day."""

    names: list
    weights: np.ndarray
    dates: pd.DatetimeIndex
    returns: np.ndarray
    forecasts: dict
    dcc_path: DCCPath
    ccc_path: DCCPath
    dcc_fits: list
    ccc_fits: list
    vol: str
    notes: list = field(default_factory=list)
    frame: Optional[pd.DataFrame] = None     # book.csv, once scored (jobs.book)
    metrics: Optional[dict] = None           # the "book" block of metrics.json, once scored


def marginal_chain(x: np.ndarray, i: int, ends: tuple, vol: str, window) -> list:
    """Asset ``i``'s marginal refits, one per block end, each warm-started from the one before
    (what :meth:`DCC.fit` does with ``start=`` the previous block's result). ``x`` is the (T, N)
    table: the column is read as the strided view DCC reads, so the sums (and the fits) are the same
    to the last bit."""
    x = np.ascontiguousarray(x, dtype=float)
    fits, prev = [], None
    for end in ends:
        begin = 0 if window is None else max(0, end - window)
        prev = fit_garch(x[begin:end, i], vol=vol, mean="constant", start=None if prev is None else prev.params,
                         hessian="sensitivity", dist="normal")
        fits.append(prev)
    return fits


def _ends(T: int, first: int, refit_every: int) -> tuple:
    return tuple(range(first, T, refit_every))


def dcc_walk(returns: pd.DataFrame, model, first: int, refit_every: int, window=None, marginals=None):
    """``(path, fits)`` of :func:`tinygrad_trade.vol.models.dcc.walk_forward`, with the marginals of
    every block given (``marginals[i][k]``: asset i, block k) or fitted inside ``model.fit``."""
    return dcc_walk_forward(returns, model, first, refit_every, window, marginals)


def fit_marginals(returns: pd.DataFrame, ends: tuple, vol: str, window=None, executor=None,
                  progress: bool = False) -> list:
    """Every asset's chain of marginal refits as parallel jobs (results in asset order)."""
    x = returns.to_numpy(dtype=float)
    jobs = [Job(marginal_chain, (x, i, ends, vol, window), cost=float(len(ends)),
                about=f"{name}: {vol} marginal") for i, name in enumerate(returns.columns)]
    return run_jobs(jobs, executor=executor, progress=progress, desc="book marginals")


def book_walk_forward(returns: pd.DataFrame, weights, first: int, refit_every: int = 21, vol: str = "gjr",
                      models=(), window=None, seed: int = 0, executor=None, progress: bool = False) -> BookWalk:
    """Walk the book forward from row ``first`` of ``returns`` (common-day % returns, one column per asset).

    ``weights``: one per column. ``models``: univariate models (of :data:`BOOK_MODELS`) fitted to the
    book's return series. Returns a :class:`BookWalk` over rows ``first .. T-1``."""
    w = np.asarray(weights, dtype=float)
    T = len(returns)
    ends = _ends(T, first, refit_every)
    marg = fit_marginals(returns, ends, vol, window, executor, progress)
    with one_blas_thread():    # as the tasks: the same bits whatever BLAS's thread count
        dcc_path, dcc_fits = dcc_walk(returns, DCC(vol=vol), first, refit_every, window, marg)
        ccc_path, ccc_fits = dcc_walk(returns, CCC(vol=vol), first, refit_every, window, marg)
    rb = pd.Series(returns.to_numpy(dtype=float) @ w, index=returns.index, name="book")
    forecasts = {"dcc": dcc_path.book_variance(w).to_numpy(), "ccc": ccc_path.book_variance(w).to_numpy()}
    uni = [m for m in models if m in BOOK_MODELS]
    if uni:
        ds = dataset_from_returns(rb)      # row k of returns is day k + 1 of the Dataset
        wf = walk_forward(ds, uni, start=first + 1, stop=T + 1, refit_every=refit_every, window=window,
                          seed=seed, executor=executor)
        for m in uni:
            forecasts[m] = np.asarray(wf.forecasts[m], dtype=float)
    return BookWalk(list(returns.columns), w, returns.index[first:], rb.to_numpy()[first:], forecasts,
                    dcc_path, ccc_path, dcc_fits, ccc_fits, vol)


# --------------------------------------------------------------------------- saved fits (predict --save/--load)
BOOK_STATE = "book_dcc"      # <folder>/book_dcc.npz + book_dcc.json, beside the per-asset models


def save_book_fit(folder, fit) -> list:
    """Write a DCC fit (``get_state``) into a saved-models folder as its own entry; the paths written."""
    arrays, meta = fit.get_state()
    npz, js = os.path.join(folder, BOOK_STATE + ".npz"), os.path.join(folder, BOOK_STATE + ".json")
    np.savez(npz, **arrays)
    with open(npz, "rb") as fh:
        meta = {**meta, "sha256": hashlib.sha256(fh.read()).hexdigest()}
    with open(js, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
    return [npz, js]


def load_book_fit(folder):
    """The DCC fit saved by :func:`save_book_fit` in ``folder``, or ``None`` when there is none."""
    npz, js = os.path.join(folder, BOOK_STATE + ".npz"), os.path.join(folder, BOOK_STATE + ".json")
    if not (os.path.exists(npz) and os.path.exists(js)):
        return None
    try:
        with open(js, encoding="utf-8") as fh:
            meta = json.load(fh)
        with open(npz, "rb") as fh:
            if hashlib.sha256(fh.read()).hexdigest() != meta.get("sha256"):
                raise ValueError("contents differ from the SHA-256 of book_dcc.json (truncated or edited)")
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return DCCResult.from_state(arrays, meta)
    except (KeyError, ValueError, OSError) as e:
        raise ValueError(f"--load {folder}: the saved book ({BOOK_STATE}.npz) cannot be read: {e}") from None
