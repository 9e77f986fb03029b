"""The nets' training loop: full-batch epochs of Adam on the ensemble, early stopping per member, and the record
of each epoch (losses and every parameter's gradient norm, for the report's gradient-flow plot).

Kept apart from the forecasters (:mod:`.neural`) so that what happens in one epoch reads in one place.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from ...graph import no_grad
from ...optim import NonFiniteError, check_finite

__all__ = ["train"]


def train(model, inp_tr, y_tr, inp_va, y_va, epochs, patience) -> dict:
    """Train ``model`` (an MLP or GRU forecaster with ``params`` and ``optimizers`` set) for up to ``epochs``
    epochs on the training inputs, stopping each member after ``patience`` epochs without a better validation
    loss and restoring its best weights; the fit's history dict."""
    P = model.params.as_dict()
    names = list(P)
    K = model.members
    with no_grad():
        best = model._member_losses(model._forward(P, inp_va).data, y_va)
    best_state = {n: P[n].data.copy() for n in names}
    best_epoch = np.zeros(K, dtype=int)
    wait = np.zeros(K, dtype=int)
    # grad_norm[name][e]: the L2 norm of each member's gradient of parameter `name` at epoch e + 1 (the
    # gradient of the training loss as optimized, the members' mean: 1/K of each member's own loss), so
    # that a report can show where the gradient stops flowing
    hist = {"train": [], "val": [], "val0": float(best.mean()), "best_epoch": None, "stopped": "epochs",
            "grad_norm": {n: [] for n in names}}
    bar = None
    if model.progress is not False and epochs:
        from tqdm.auto import tqdm
        # progress=None: tqdm's own rule, a bar only when stderr is a terminal
        bar = tqdm(total=epochs, desc=f"{model.name} fit {model.n_fits + 1}", unit="epoch", leave=False,
                   file=sys.stderr, disable=None if model.progress is None else False)
    opts = model.optimizers
    try:
        for epoch in range(1, epochs + 1):
            for opt in opts:
                opt.zero_grad()
            loss = model._loss(model._forward(P, inp_tr), y_tr)
            loss.backward()
            try:
                check_finite(loss, model.params.named_parameters())
            except NonFiniteError as exc:
                if model.on_nonfinite == "raise":
                    raise
                hist["stopped"] = f"non-finite at epoch {epoch}"
                warnings.warn(f"{model.name}: {exc}; keeping the best weights so far", RuntimeWarning,
                              stacklevel=4)
                break
            norms = {n: np.sqrt(np.square(P[n].grad, dtype=np.float64).reshape(K, -1).sum(axis=1))
                     for n in names if P[n].grad is not None}
            for opt in opts:
                opt.step()
            with no_grad():
                v = model._member_losses(model._forward(P, inp_va).data, y_va)
            if not np.all(np.isfinite(v)):
                v = np.where(np.isfinite(v), v, np.inf)
            hist["train"].append(float(loss.item()))
            hist["val"].append(float(v.mean()))
            for n in names:
                hist["grad_norm"][n].append([float(x) for x in norms[n]] if n in norms else [0.0] * K)
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
